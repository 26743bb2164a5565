//! Reading a JSON request body: `application/json` only (415 otherwise), well-formed JSON (400
//! `malformed-json`), an object whose members are exactly the schema's — a missing, unknown or
//! mistyped member is named in a 400 `invalid-body` problem, all of them at once.

use carefront_shared::problem::Problem;
use http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::Request;
use crate::failure::{ApiError, InvalidParam, invalid};

/// One member of a body's schema.
#[derive(Clone, Copy)]
pub struct Member {
    name: &'static str,
    required: bool,
    check: fn(&serde_json::Value) -> Result<(), String>,
}

fn check_as<T: DeserializeOwned>(value: &serde_json::Value) -> Result<(), String> {
    T::deserialize(value).map(|_| ()).map_err(|error| error.to_string())
}

/// A member that must be given (not null), of type `T`.
pub fn required<T: DeserializeOwned>(name: &'static str) -> Member {
    Member { name, required: true, check: check_as::<T> }
}

/// A member that may be left out or null, of type `T` otherwise.
pub fn optional<T: DeserializeOwned>(name: &'static str) -> Member {
    Member { name, required: false, check: check_as::<T> }
}

/// The body as a JSON value, after checking its content type and syntax.
pub fn json_value(request: &Request) -> Result<serde_json::Value, ApiError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !content_type.split(';').next().map(str::trim).is_some_and(|essence| essence.eq_ignore_ascii_case("application/json")) {
        return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_type("unsupported-media-type", "The body must be JSON")
            .with_detail("Send the body as application/json.")
            .into());
    }
    serde_json::from_slice(request.body())
        .map_err(|error| Problem::new(StatusCode::BAD_REQUEST).with_type("malformed-json", "The body is not valid JSON").with_detail(error.to_string()).into())
}

/// Reads `body` as `T`, whose members are `members`: every problem with a member is reported at
/// once, by name.
pub fn read<T: DeserializeOwned>(body: &serde_json::Value, members: &[Member]) -> Result<T, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(invalid(StatusCode::BAD_REQUEST, vec![InvalidParam::new("(body)", "The body must be a JSON object.")]));
    };
    let mut problems = Vec::new();
    for name in object.keys() {
        if !members.iter().any(|member| member.name == name) {
            let known: Vec<&str> = members.iter().map(|member| member.name).collect();
            problems.push(InvalidParam::new(name, format!("{name} is not a field here (the fields are {}).", known.join(", "))));
        }
    }
    for member in members {
        match object.get(member.name) {
            None | Some(serde_json::Value::Null) if member.required => problems.push(InvalidParam::new(member.name, format!("{} is required.", member.name))),
            None | Some(serde_json::Value::Null) => {}
            Some(value) => {
                if let Err(reason) = (member.check)(value) {
                    problems.push(InvalidParam::new(member.name, reason));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(invalid(StatusCode::BAD_REQUEST, problems));
    }
    T::deserialize(body).map_err(|error| invalid(StatusCode::BAD_REQUEST, vec![InvalidParam::new("(body)", error.to_string())]))
}

/// Semantic checks of a body that fits its schema; 422 `invalid-fields` naming each field wrong.
#[derive(Debug, Default)]
pub struct Checks {
    problems: Vec<InvalidParam>,
}

impl Checks {
    /// Records that `name` is wrong, unless `ok`.
    pub fn require(&mut self, ok: bool, name: &str, reason: &str) {
        if !ok {
            self.problems.push(InvalidParam::new(name, reason));
        }
    }

    /// Ok if nothing is wrong.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() { Ok(()) } else { Err(invalid(StatusCode::UNPROCESSABLE_ENTITY, self.problems)) }
    }
}

/// Whether `text` is free text of 1 to `max` characters (after trimming) without control
/// characters other than line breaks and tabs.
pub fn is_text(text: &str, max: usize) -> bool {
    let text = text.trim();
    !text.is_empty() && text.chars().count() <= max && !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Sample {
        #[allow(dead_code)]
        starts_at: chrono::DateTime<chrono::Utc>,
        #[allow(dead_code)]
        note: Option<String>,
    }

    fn members() -> Vec<Member> {
        vec![required::<chrono::DateTime<chrono::Utc>>("startsAt"), optional::<String>("note")]
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let body = serde_json::json!({ "note": 5, "colour": "red" });
        let error = read::<Sample>(&body, &members()).unwrap_err();
        assert_eq!(error.status(), 400);
        let response = error.into_response();
        let problem: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        let names: Vec<&str> = problem["invalid-params"].as_array().unwrap().iter().map(|param| param["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["colour", "startsAt", "note"]);
        assert!(read::<Sample>(&serde_json::json!({ "startsAt": "2026-11-21T09:00:00Z", "note": null }), &members()).is_ok());
        assert!(read::<Sample>(&serde_json::json!([]), &members()).is_err());
    }
}
