//! Idempotent writes. Every POST that writes carries an `Idempotency-Key` (1 to 255 visible
//! ASCII characters, optionally as a quoted structured-field string). The first request with a
//! key claims it in `api_idempotency_keys`, naming the id of what it makes, in the same plan
//! (one batch) as the write and its audit event: the claim, the write and the log line are all
//! kept, or none. A retry with the same key and the same request (method, path, body as
//! canonical JSON) gets what the first made, with 200 and `Idempotent-Replayed: true`, and
//! writes nothing; the same key with a different request is a 422 problem. A retry racing the
//! first request loses on the claim's primary key, its whole plan is refused, and it answers
//! with what the winner made: one row, one log line.

use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::plan::Plan;
use carefront_shared::problem::Problem;
use carefront_shared::random::new_id;
use carefront_shared::store::idempotency::{IdempotencyRecord, request_fingerprint};
use carefront_shared::store::prelude::*;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use crate::auth::Caller;
use crate::failure::{ApiError, Stored};
use crate::{Request, Response, json};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The response header on a repeated request's answer.
pub const REPLAYED: &str = "idempotent-replayed";

/// A checked idempotency key and the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotent {
    key: String,
    fingerprint: String,
    request: String,
}

fn key_problem(slug: &str, title: &str, detail: &str) -> ApiError {
    Problem::new(StatusCode::BAD_REQUEST).with_type(slug, title).with_detail(detail).into()
}

/// The request's key; 400 if it is missing or malformed.
pub fn key(request: &Request) -> Result<String, ApiError> {
    let mut values = request.headers().get_all(HEADER).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(key_problem(
            "idempotency-key-required",
            "An Idempotency-Key is required",
            "Send an Idempotency-Key header (for example a new UUID) with every write, and the same one when you retry it.",
        ));
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')).unwrap_or(text);
    let visible = |c: char| c.is_ascii_graphic() && c != '"' && c != '\\';
    if text.is_empty() || text.len() > 255 || !text.chars().all(visible) {
        return Err(key_problem(
            "malformed-idempotency-key",
            "The Idempotency-Key is malformed",
            "An Idempotency-Key is 1 to 255 visible ASCII characters, without quotes or backslashes inside.",
        ));
    }
    Ok(text.to_owned())
}

impl Idempotent {
    /// The key for `request`, whose body is `body`.
    pub fn new(key: String, request: &Request, body: &serde_json::Value) -> Idempotent {
        let path = request.uri().path_and_query().map_or_else(|| request.uri().path().to_owned(), |path| path.as_str().to_owned());
        let method = request.method().as_str();
        Idempotent { fingerprint: request_fingerprint(method, &path, body), request: format!("{method} {path}"), key }
    }

    /// The key as sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn reused(&self, earlier: &IdempotencyRecord) -> ApiError {
        ApiError::from(
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY)
                .with_type("idempotency-key-reused", "The Idempotency-Key was used for a different request")
                .with_detail(format!(
                    "The key {} was first used on {} for {} with a different body. Use a new key for a new request.",
                    self.key,
                    earlier.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    earlier.request
                )),
        )
    }

    /// The id of what an earlier request with this key made, if there was one and it was this
    /// same request; 422 if it was a different one.
    pub async fn earlier(&self, context: &RequestContext<'_>, caller: &Caller) -> Result<Option<String>, ApiError> {
        match context.store.idempotency_key(&caller.organisation.id, &self.key).await.or_problem(context)? {
            None => Ok(None),
            Some(record) if record.request_hash == self.fingerprint => Ok(Some(record.resource_id)),
            Some(record) => Err(self.reused(&record)),
        }
    }

    /// The claim of this key for `resource_id` (a new id when `None`, for writes that make
    /// something), to write in the same plan as the write itself with
    /// `claim_new_idempotency_key`: if another request claimed the key first, the whole plan
    /// fails with a constraint error, and [`Idempotent::earlier`] then reads the claim that won.
    pub fn claim(&self, context: &RequestContext<'_>, caller: &Caller, resource_id: Option<&str>) -> IdempotencyRecord {
        IdempotencyRecord {
            organisation_id: caller.organisation.id.clone(),
            key: self.key.clone(),
            request: self.request.clone(),
            request_hash: self.fingerprint.clone(),
            resource_id: resource_id.map_or_else(|| new_id(context.random), str::to_owned),
            credential_id: caller.credential_id.clone(),
            created_at: context.now,
        }
    }
}

/// What became of a write's plan, applied with its key's claim.
#[derive(Debug)]
pub enum Applied {
    /// Everything was written.
    Done,
    /// Nothing was written: another request with this key and this same request claimed it
    /// first (a retry racing the first); answer what the claim stands for, by its id.
    Replay(String),
    /// Nothing was written: a constraint stopped the plan, and the key is still free (a plan
    /// guard found what the write was made from had changed).
    Refused(DbError),
}

impl Idempotent {
    /// Applies `plan`, which claims this key: all of it or nothing; 422 if the key turns out to
    /// have been claimed by a different request.
    pub async fn apply(&self, context: &RequestContext<'_>, caller: &Caller, plan: &Plan) -> Result<Applied, ApiError> {
        match context.store.apply(plan).await {
            Ok(()) => Ok(Applied::Done),
            Err(DbError::Constraint(message)) => Ok(match self.earlier(context, caller).await? {
                Some(id) => Applied::Replay(id),
                None => Applied::Refused(DbError::Constraint(message)),
            }),
            Err(error) => Err(error).or_problem(context),
        }
    }
}

/// 201 with what was made.
pub fn created<T: Serialize>(value: &T) -> Response {
    json(StatusCode::CREATED, value)
}

/// 200 with what an earlier request with the same key made, marked as a replay.
pub fn replayed<T: Serialize>(value: &T) -> Response {
    let mut response = json(StatusCode::OK, value);
    response.headers_mut().insert(HeaderName::from_static(REPLAYED), HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_key(value: &str) -> Request {
        http::Request::post("/x").header(HEADER, value).body(Vec::new()).unwrap()
    }

    #[test]
    fn keys_are_visible_ascii_and_may_be_quoted() {
        assert_eq!(key(&with_key("8e03978e-40d5-43e8-bc93-6894a57f9324")).unwrap(), "8e03978e-40d5-43e8-bc93-6894a57f9324");
        assert_eq!(key(&with_key("\"visit-2026-11-21-0800\"")).unwrap(), "visit-2026-11-21-0800");
        for bad in ["", "\"\"", "has space", "quote\"inside", &"k".repeat(256)] {
            assert_eq!(key(&with_key(bad)).unwrap_err().status(), 400, "{bad:?}");
        }
        assert_eq!(key(&http::Request::post("/x").body(Vec::new()).unwrap()).unwrap_err().status(), 400);
        let twice = http::Request::post("/x").header(HEADER, "a").header(HEADER, "b").body(Vec::new()).unwrap();
        assert_eq!(key(&twice).unwrap_err().status(), 400);
    }
}
