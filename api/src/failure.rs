//! How a handler fails: an RFC 9457 problem document, with extension members where the problem
//! has more to say (the fields that are wrong, the record as it is now after a conflict).

use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::problem::Problem;
use http::StatusCode;
use serde::Serialize;

use crate::{Response, problem_with, store_problem};

/// A failed request: the problem and any extension members (boxed: results stay small).
#[derive(Debug)]
pub struct ApiError(Box<Failure>);

#[derive(Debug)]
struct Failure {
    problem: Problem,
    extensions: serde_json::Map<String, serde_json::Value>,
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> ApiError {
        ApiError(Box::new(Failure { problem, extensions: serde_json::Map::new() }))
    }
}

impl ApiError {
    /// The same failure with the extension member `name`.
    pub fn with(mut self, name: &str, value: impl Serialize) -> ApiError {
        if let Ok(value) = serde_json::to_value(value) {
            self.0.extensions.insert(name.to_owned(), value);
        }
        self
    }

    /// The answer.
    pub fn into_response(self) -> Response {
        let Failure { problem, extensions } = *self.0;
        problem_with(problem, extensions)
    }

    /// The HTTP status (for tests of the handlers' helpers).
    #[cfg(test)]
    pub fn status(&self) -> u16 {
        self.0.problem.status
    }
}

/// One thing wrong with a request's body or query, named as the client sent it (RFC 9457's
/// `invalid-params` example).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidParam {
    /// The member or parameter (`reason`, `participants`, `from`).
    pub name: String,
    /// What is wrong with it, and what would be right.
    pub reason: String,
}

impl InvalidParam {
    /// `name` is wrong because of `reason`.
    pub fn new(name: &str, reason: impl Into<String>) -> InvalidParam {
        InvalidParam { name: name.to_owned(), reason: reason.into() }
    }
}

/// A problem naming the fields that are wrong: 400 `invalid-body` for a body that does not fit
/// the schema (a missing, unknown or mistyped member), 422 `invalid-fields` for one that fits but
/// says something that cannot be recorded.
pub fn invalid(status: StatusCode, params: Vec<InvalidParam>) -> ApiError {
    let (slug, title) = if status == StatusCode::BAD_REQUEST {
        ("invalid-body", "The body does not fit the schema")
    } else {
        ("invalid-fields", "Some fields cannot be recorded as they are")
    };
    let names: Vec<&str> = params.iter().map(|param| param.name.as_str()).collect();
    let detail = format!("Check {}: see invalid-params.", names.join(", "));
    ApiError::from(Problem::new(status).with_type(slug, title).with_detail(detail)).with("invalid-params", &params)
}

/// What an organisation may not see does not exist for it, and neither does what does not exist:
/// one answer for both, so that the answer tells nothing.
pub fn not_found() -> ApiError {
    not_found_problem().into()
}

/// The problem of [`not_found`].
pub fn not_found_problem() -> Problem {
    Problem::new(StatusCode::NOT_FOUND).with_detail("There is no such person, or nothing here your organisation may see.")
}

/// The person's record has nothing of this kind yet (only ever said to a caller allowed to see it).
pub fn not_recorded(what: &str) -> ApiError {
    Problem::new(StatusCode::NOT_FOUND)
        .with_type("not-recorded", "Nothing is recorded yet")
        .with_detail(format!("No {what} has been recorded for this person yet."))
        .into()
}

/// Store results as handler results: a failed store call becomes its problem document.
pub trait Stored<T> {
    /// The value, or the problem for the store's error.
    fn or_problem(self, context: &RequestContext<'_>) -> Result<T, ApiError>;
}

impl<T> Stored<T> for Result<T, DbError> {
    fn or_problem(self, context: &RequestContext<'_>) -> Result<T, ApiError> {
        self.map_err(|error| store_problem(context, error).into())
    }
}

/// A fault of ours: the route table and the handlers disagree, or the store gave back what it
/// was never given.
pub fn internal(detail: &str) -> ApiError {
    carefront_shared::log_error!("carefront-api internal error: {detail}");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR).with_detail("Something went wrong on our side.").into()
}
