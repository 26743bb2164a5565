//! Router tests of the JSON API against a real SQLite store and a store that is down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

use carefront_api::{Request, handle};
use carefront_shared::config::{App, Config};
use carefront_shared::context::RequestContext;
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::store::SqlStore;
use chrono::DateTime;

/// What a real driver might say: where the database is and who connects to it.
const DRIVER_ERROR: &str = "connection to db-internal.council.local:5432 refused for user carefront_rw";

struct DownDatabase;

#[async_trait::async_trait(?Send)]
impl Database for DownDatabase {
    async fn query(&self, _: &str, _: &[Value]) -> Result<Vec<Row>, DbError> {
        Err(DbError::Unavailable(DRIVER_ERROR.into()))
    }
    async fn execute(&self, _: &str, _: &[Value]) -> Result<u64, DbError> {
        Err(DbError::Unavailable(DRIVER_ERROR.into()))
    }
    async fn batch(&self, _: &[Statement]) -> Result<(), DbError> {
        Err(DbError::Unavailable(DRIVER_ERROR.into()))
    }
}

const RECEIPT_KEYS: &str = "test1:cmVjZWlwdC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ";
/// The session key that signed receipts before they carried a key id.
const OLD_SESSION_KEY: &str = "c2Vzc2lvbi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhISE";

fn config() -> Config {
    Config::from_lookup(App::Api, config_setting).unwrap()
}

fn call(database: &dyn Database, request: Request) -> (u16, String, serde_json::Value, http::HeaderMap) {
    let config = config();
    let store = SqlStore::new(database);
    let random = SeededRandom::new(1);
    let context = RequestContext { store: &store, config: &config, now: DateTime::UNIX_EPOCH, random: &random, client: None, outbound: None };
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
    let database = NativeDatabase::for_tests().unwrap();
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
fn finding_12_health_does_not_leak_the_database_error() {
    let (status, _, body, _) = call(&DownDatabase, get("/api/v1/health"));
    assert_eq!(status, 503);
    let text = body.to_string();
    for secret in [DRIVER_ERROR, "db-internal", "5432", "carefront_rw"] {
        assert!(!text.contains(secret), "the health answer shows {secret:?}: {text}");
    }
    assert_eq!(body["detail"], "The service cannot reach its backing store. Try again later.");
}

#[test]
fn errors_are_problem_documents() {
    let database = NativeDatabase::for_tests().unwrap();
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
    let database = NativeDatabase::for_tests().unwrap();
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
    let receipt = issue(&config.receipt_keys, &controller, &grant, "Sam", "granted", "r1".into(), DateTime::UNIX_EPOCH);
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

/// A receipt as carefront issued them before receipts carried a key id: signed with the shared
/// session key over the body alone. Stored receipts keep verifying once the deployment names
/// that old key as RECEIPT_LEGACY_KEY, whatever SESSION_KEY is now.
#[test]
fn a_receipt_made_before_key_ids_verifies_with_the_legacy_key_only() {
    use base64::Engine as _;
    use carefront_shared::crypto::SigningKey;
    use carefront_shared::receipt::{ConsentReceipt, Controller, PiiController, issue};

    let database = NativeDatabase::for_tests().unwrap();
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
    let body = issue(&config.receipt_keys, &controller, &grant, "Sam", "granted", "r0".into(), DateTime::UNIX_EPOCH).body;
    let old_key = SigningKey::new(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(OLD_SESSION_KEY).unwrap()).unwrap();
    let signature = old_key.sign("consent-receipt", &serde_json::to_string(&body).unwrap());
    let legacy = serde_json::to_vec(&ConsentReceipt { body, kid: None, signature }).unwrap();
    assert!(!String::from_utf8_lossy(&legacy).contains("\"kid\""));
    let post = |body: Vec<u8>| http::Request::post("/api/v1/consent-receipts/verify").header("content-type", "application/json").body(body).unwrap();

    let (status, _, answer, _) = call(&database, post(legacy.clone()));
    assert_eq!((status, answer["valid"].as_bool()), (200, Some(true)), "{answer}");

    // Without the legacy key configured, nothing without a key id verifies.
    let without = Config::from_lookup(App::Api, |name| if name == "RECEIPT_LEGACY_KEY" { None } else { config_setting(name) }).unwrap();
    let store = SqlStore::new(&database);
    let random = SeededRandom::new(1);
    let context = RequestContext { store: &store, config: &without, now: DateTime::UNIX_EPOCH, random: &random, client: None, outbound: None };
    let response = pollster::block_on(handle(&context, post(legacy)));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(response.body()).unwrap()["valid"], false);
}

fn config_setting(name: &str) -> Option<String> {
    match name {
        "RECEIPT_KEYS" => Some(RECEIPT_KEYS.into()),
        "RECEIPT_LEGACY_KEY" => Some(OLD_SESSION_KEY.into()),
        "RP_ID" => Some("localhost".into()),
        "CREDENTIAL_KEY" => Some("Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "ORIGIN" => Some("http://localhost:8787".into()),
        _ => None,
    }
}
