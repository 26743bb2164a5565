//! Router tests of the JSON API against a real SQLite store and a store that is down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

use carefront_api::{Request, handle};
use carefront_shared::config::Config;
use carefront_shared::context::RequestContext;
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::random::SeededRandom;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::SqlStore;
use chrono::DateTime;

struct DownDatabase;

#[async_trait::async_trait(?Send)]
impl Database for DownDatabase {
    async fn query(&self, _: &str, _: &[Value]) -> Result<Vec<Row>, DbError> {
        Err(DbError::Unavailable("down".into()))
    }
    async fn execute(&self, _: &str, _: &[Value]) -> Result<u64, DbError> {
        Err(DbError::Unavailable("down".into()))
    }
    async fn batch(&self, _: &[Statement]) -> Result<(), DbError> {
        Err(DbError::Unavailable("down".into()))
    }
}

fn config() -> Config {
    Config::from_lookup(|name| match name {
        "SESSION_KEY" => Some("c2Vzc2lvbi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhISE".into()),
        "RP_ID" => Some("localhost".into()),
        "CREDENTIAL_KEY" => Some("Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "ORIGIN" => Some("http://localhost:8787".into()),
        _ => None,
    })
    .unwrap()
}

fn call(database: &dyn Database, request: Request) -> (u16, String, serde_json::Value, http::HeaderMap) {
    let config = config();
    let store = SqlStore::new(database);
    let random = SeededRandom::new(1);
    let context = RequestContext { store: &store, config: &config, now: DateTime::UNIX_EPOCH, random: &random, client: None };
    let response = pollster::block_on(handle(&context, request));
    let content_type = response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = serde_json::from_slice(response.body()).unwrap_or(serde_json::Value::Null);
    (response.status().as_u16(), content_type, body, response.headers().clone())
}

fn get(path: &str) -> Request {
    http::Request::get(path).body(Vec::new()).unwrap()
}

#[test]
fn health_checks_the_store() {
    let database = SqliteDatabase::in_memory().unwrap();
    let (status, content_type, body, headers) = call(&database, get("/api/v1/health"));
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(body, serde_json::json!({ "status": "ok", "store": "ok" }));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");

    let (status, content_type, body, _) = call(&DownDatabase, get("/api/v1/health"));
    assert_eq!((status, content_type.as_str()), (503, "application/problem+json"));
    assert_eq!(body["status"], 503);
    assert_eq!(body["type"], "https://carefront.example/problems/store-unavailable");
}

#[test]
fn errors_are_problem_documents() {
    let database = SqliteDatabase::in_memory().unwrap();
    let (status, content_type, body, _) = call(&database, get("/api/v1/nothing-here"));
    assert_eq!((status, content_type.as_str()), (404, "application/problem+json"));
    assert_eq!(body["title"], "Not Found");

    let (status, _, body, headers) = call(&database, http::Request::post("/api/v1/health").body(b"{}".to_vec()).unwrap());
    assert_eq!(status, 405);
    assert_eq!(body["status"], 405);
    assert_eq!(headers["allow"], "GET, HEAD");

    let huge = http::Request::post("/api/v1/health").body(vec![b'x'; carefront_api::MAX_BODY_BYTES + 1]).unwrap();
    let (status, _, body, _) = call(&database, huge);
    assert_eq!((status, body["status"].as_u64()), (413, Some(413)));

    let fallback = carefront_api::unavailable("no binding");
    assert_eq!(fallback.status(), 503);
    assert_eq!(fallback.headers()["content-type"], "application/problem+json");
}

#[test]
fn consent_receipts_are_verified() {
    use carefront_shared::receipt::{Controller, PiiController, issue};
    let database = SqliteDatabase::in_memory().unwrap();
    let config = config();
    let grant = carefront_shared::consent::Grant {
        id: "g".into(),
        version: 1,
        subject_id: "p".into(),
        grantee: carefront_shared::consent::Grantee::Person("s".into()),
        categories: [carefront_shared::consent::Category::Medication].into(),
        actions: [carefront_shared::consent::Action::View].into(),
        act_for: false,
        purpose: "tablets".into(),
        starts_at: DateTime::UNIX_EPOCH,
        ends_at: None,
        basis: carefront_shared::consent::Basis::Consent,
        evidence: None,
        recorded_by: "p".into(),
        revoked_at: None,
    };
    let controller = Controller {
        details: PiiController { pii_controller: "Council".into(), contact: "DPO".into(), address: "Hall".into(), email: "e".into(), phone: "p".into() },
        policy_url: "u".into(),
    };
    let receipt = issue(&config.session_key, &controller, &grant, "Sam", "granted", "r1".into(), DateTime::UNIX_EPOCH);
    let post =
        |body: Vec<u8>, content_type: &str| http::Request::post("/api/v1/consent-receipts/verify").header("content-type", content_type).body(body).unwrap();

    let (status, _, body, _) = call(&database, post(serde_json::to_vec(&receipt).unwrap(), "application/json"));
    assert_eq!((status, body["valid"].as_bool(), body["consentReceiptID"].as_str()), (200, Some(true), Some("r1")));

    let mut tampered = serde_json::to_value(&receipt).unwrap();
    tampered["services"][0]["purposes"][0]["purposeCategory"] = serde_json::json!(["medication", "care_plan"]);
    let (status, _, body, _) = call(&database, post(serde_json::to_vec(&tampered).unwrap(), "application/json"));
    assert_eq!((status, body["valid"].as_bool()), (200, Some(false)));

    let (status, content_type, _, _) = call(&database, post(b"{not json".to_vec(), "application/json"));
    assert_eq!((status, content_type.as_str()), (400, "application/problem+json"));
    let mut extra = serde_json::to_value(&receipt).unwrap();
    extra["unsigned"] = serde_json::json!(true);
    assert_eq!(call(&database, post(serde_json::to_vec(&extra).unwrap(), "application/json")).0, 400);
    assert_eq!(call(&database, post(serde_json::to_vec(&receipt).unwrap(), "text/plain")).0, 415);
    assert_eq!(call(&database, get("/api/v1/consent-receipts/verify")).0, 405);
}
