//! Signed requests through the router: replay, clock skew (both ways, and the edges of the
//! window), wrong body, missing and malformed headers, wrong signature, unknown, revoked and
//! rotated credentials, missing permission (403) — and that a refused request writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::credential::{self, DIGEST_HEADER, NONCE_HEADER, Permission, TIMESTAMP_HEADER, content_digest};
use carefront_shared::store::{CredentialStore, Store};
use chrono::Duration;
use support::{Api, CREDENTIAL_KEY, Held, PROVIDER, Reply, config_with_key, problem_type};

fn provider(api: &Api) -> Held {
    api.credential(PROVIDER, &[Permission::PeopleRead])
}

fn assert_refused(reply: &Reply, status: u16, slug: &str) {
    assert_eq!((reply.status, problem_type(reply).as_str()), (status, slug), "{:#}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["status"], status);
    if status == 401 {
        assert_eq!(reply.headers["www-authenticate"], "Carefront-HMAC-SHA256");
    }
}

#[test]
fn a_signed_request_is_answered_and_its_use_recorded() {
    let api = Api::new();
    let held = provider(&api);
    let reply = api.get(&held, "/api/v1/people");
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.content_type, "application/json");
    assert_eq!(reply.headers["cache-control"], "no-store");
    let stored = pollster::block_on(api.store().credential(&held.key_id)).unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(api.now.get()));
    assert_eq!(api.nonce_rows(), 1);
}

#[test]
fn a_replayed_request_is_refused_even_with_another_path() {
    let api = Api::new();
    let held = provider(&api);
    let request = api.signed_get(&held, "/api/v1/people");
    assert_eq!(api.call(request.clone()).status, 200);
    assert_refused(&api.call(request.clone()), 401, "replayed-request");
    // Still refused at the very end of the window.
    api.advance(Duration::minutes(5));
    assert_refused(&api.call(request.clone()), 401, "replayed-request");
    // And after it, refused for its time.
    api.advance(Duration::seconds(1));
    assert_refused(&api.call(request), 401, "clock-skew");

    // The same nonce on a different request is a replay too: each (key id, nonce) is used once.
    let nonce = api.new_nonce();
    assert_eq!(api.call(api.signed_at(&held, "GET", "/api/v1/people", b"", api.now.get(), &nonce)).status, 200);
    let other = api.signed_at(&held, "GET", "/api/v1/people/person-margaret", b"", api.now.get(), &nonce);
    assert_refused(&api.call(other), 401, "replayed-request");
}

#[test]
fn clock_skew_is_refused_beyond_five_minutes_either_way() {
    let api = Api::new();
    let held = provider(&api);
    let now = api.now.get();
    for (offset, status) in [(-300, 200), (300, 200), (-301, 401), (301, 401), (-86_400, 401), (86_400, 401)] {
        let request = api.signed_at(&held, "GET", "/api/v1/people", b"", now + Duration::seconds(offset), &api.new_nonce());
        let reply = api.call(request);
        assert_eq!(reply.status, status, "offset {offset} s: {:#}", reply.body);
        if status == 401 {
            assert_refused(&reply, 401, "clock-skew");
            assert_eq!(reply.body["serverTime"], "2026-11-21T09:00:00Z");
            assert_eq!(reply.body["serverTimestamp"], now.timestamp());
        }
    }
}

#[test]
fn a_changed_body_or_a_malformed_digest_is_refused() {
    let api = Api::new();
    let held = provider(&api);
    let mut request = api.signed_at(&held, "GET", "/api/v1/people", b"", api.now.get(), &api.new_nonce());
    *request.body_mut() = b"{\"smuggled\":true}".to_vec();
    assert_refused(&api.call(request.clone()), 401, "digest-mismatch");

    // Recomputing the digest for the new body breaks the signature instead.
    request.headers_mut().insert(DIGEST_HEADER, content_digest(b"{\"smuggled\":true}").parse().unwrap());
    assert_refused(&api.call(request.clone()), 401, "invalid-credentials");

    request.headers_mut().insert(DIGEST_HEADER, "sha-256=not-a-byte-sequence".parse().unwrap());
    assert_refused(&api.call(request), 400, "malformed-digest");
    assert_eq!(api.nonce_rows(), 0, "refused requests write nothing");
}

#[test]
fn missing_and_malformed_headers_are_refused() {
    let api = Api::new();
    let held = provider(&api);
    let without = |name: &str| {
        let mut request = api.signed_get(&held, "/api/v1/people");
        request.headers_mut().remove(name);
        api.call(request)
    };
    assert_refused(&without("authorization"), 401, "unauthenticated");
    assert_refused(&without(TIMESTAMP_HEADER), 401, "missing-signature-header");
    assert_refused(&without(NONCE_HEADER), 401, "missing-signature-header");
    assert_refused(&without(DIGEST_HEADER), 401, "missing-signature-header");

    let with = |name: &'static str, value: &str| {
        let mut request = api.signed_get(&held, "/api/v1/people");
        request.headers_mut().insert(name, value.parse().unwrap());
        api.call(request)
    };
    assert_refused(&with("authorization", "Bearer abc"), 401, "malformed-authorization");
    assert_refused(&with("authorization", "Carefront-HMAC-SHA256 Credential=ck_x"), 401, "malformed-authorization");
    assert_refused(&with(TIMESTAMP_HEADER, "yesterday"), 401, "malformed-signature-header");
    assert_refused(&with(NONCE_HEADER, "short"), 401, "malformed-signature-header");

    let unsigned = api.call(http::Request::get("/api/v1/people").body(Vec::new()).unwrap());
    assert_refused(&unsigned, 401, "unauthenticated");
    assert_eq!(api.nonce_rows(), 0);
}

#[test]
fn a_wrong_signature_an_unknown_and_a_revoked_credential_get_the_same_answer() {
    let api = Api::new();
    let held = provider(&api);
    let other = provider(&api);

    let wrong_secret = Held { key_id: held.key_id.clone(), secret: other.secret.clone() };
    let wrong = api.get(&wrong_secret, "/api/v1/people");
    assert_refused(&wrong, 401, "invalid-credentials");

    // A key id that was never issued, signed with the key it would have had: the signature is
    // right, but there is no such credential.
    let derived = api.config.credential_key.derive("ck_neverissued0000");
    let unknown = api.get(&Held { key_id: "ck_neverissued0000".into(), secret: derived.secret() }, "/api/v1/people");
    assert_refused(&unknown, 401, "invalid-credentials");

    assert_eq!(api.get(&held, "/api/v1/people").status, 200);
    assert!(api.revoke(&held));
    let revoked = api.get(&held, "/api/v1/people");
    assert_refused(&revoked, 401, "invalid-credentials");

    assert_eq!(wrong.body, unknown.body, "no oracle");
    assert_eq!(unknown.body, revoked.body, "no oracle");
    assert_eq!(api.get(&other, "/api/v1/people").status, 200, "other credentials go on working");
}

#[test]
fn rotating_the_credential_key_invalidates_every_credential() {
    let api = Api::new();
    let held = provider(&api);
    assert_eq!(api.get(&held, "/api/v1/people").status, 200);
    let rotated = config_with_key("cm90YXRlZC1jcmVkZW50aWFsLWtleS1mb3ItdGVzdHMtMzItYnl0ZXMh");
    assert_ne!(CREDENTIAL_KEY, "cm90YXRlZC1jcmVkZW50aWFsLWtleS1mb3ItdGVzdHMtMzItYnl0ZXMh");
    let reply = api.call_with(&rotated, api.signed_get(&held, "/api/v1/people"));
    assert_refused(&reply, 401, "invalid-credentials");
}

#[test]
fn a_missing_permission_is_403_after_authentication() {
    let api = Api::new();
    let needs_only = api.credential(PROVIDER, &[Permission::NeedsRead]);
    let reply = api.get(&needs_only, "/api/v1/people");
    assert_refused(&reply, 403, "permission-required");
    assert!(reply.body["detail"].as_str().unwrap().contains("people:read"));
    assert!(api.audit_actions("person-margaret").is_empty(), "nothing was read");

    // Authentication comes first: a bad signature is 401 whatever the permissions.
    let forged = Held { key_id: needs_only.key_id.clone(), secret: provider(&api).secret };
    assert_refused(&api.get(&forged, "/api/v1/people"), 401, "invalid-credentials");
}

#[test]
fn the_public_routes_need_no_signature_and_everything_else_does() {
    let api = Api::new();
    let plain = |path: &str| api.call(http::Request::get(path).body(Vec::new()).unwrap());
    assert_eq!(plain("/api/v1/health").status, 200);
    assert_eq!(plain("/api/v1/openapi.json").status, 200);
    let verify = http::Request::post("/api/v1/consent-receipts/verify").header("content-type", "application/json").body(b"{}".to_vec()).unwrap();
    assert_eq!(api.call(verify).status, 400, "reached the handler: the receipt is malformed");
    for route in carefront_api::routes::ROUTES {
        if let carefront_api::routes::Handler::Signed(..) = route.handler {
            let path = route.path.replace("{id}", "person-margaret").replace("{doc}", "doc-1").replace("{comment}", "comment-1");
            let request =
                http::Request::builder().method(route.method.clone()).uri(&path).header("content-type", "application/json").body(b"{}".to_vec()).unwrap();
            assert_refused(&api.call(request), 401, "unauthenticated");
        }
    }
}

#[test]
fn finding_3_the_access_log_names_the_credentials_maker() {
    let api = Api::new();
    let held = provider(&api);
    assert_eq!(api.get(&held, "/api/v1/people/person-margaret").status, 200);
    let from_the_tool = api.credential_made_by(PROVIDER, &[Permission::PeopleRead], &credential::tool_actor(Some("Jo Bloggs")));
    assert_eq!(api.get(&from_the_tool, "/api/v1/people/person-margaret").status, 200);

    let log =
        pollster::block_on(api.store().audit_for_subject(&api.own_permit("person-margaret", carefront_shared::consent::Category::AccessLog), 10)).unwrap();
    let detail_of =
        |key_id: &str| log.iter().find(|event| event.detail.contains(key_id)).map(|event| event.detail.clone()).unwrap_or_else(|| panic!("{log:#?}"));
    let by_ann = detail_of(&held.key_id);
    assert!(
        by_ann.starts_with(&format!("Brookside Home Care's computer system (credential {}, made by Ann Council on 21 November 2026)", held.key_id)),
        "{by_ann}"
    );
    let by_tool = detail_of(&from_the_tool.key_id);
    assert!(
        by_tool.contains(&format!("(credential {}, made by Jo Bloggs with the carefront-admin tool on 21 November 2026)", from_the_tool.key_id)),
        "{by_tool}"
    );
}

#[test]
fn finding_11_a_request_signed_for_another_host_is_refused() {
    let api = Api::new();
    let held = provider(&api);
    // Signed for the staging deployment, which shares the credential key, then sent here.
    let staging = http::Request::get("/api/v1/people").header("host", "api.staging.care.example.test").body(Vec::new()).unwrap();
    let mut replayed_here = api.sign(&held, staging, api.now.get(), &api.new_nonce());
    replayed_here.headers_mut().insert("host", support::HOST.parse().unwrap());
    assert_refused(&api.call(replayed_here), 401, "invalid-credentials");
    assert_eq!(api.get(&held, "/api/v1/people").status, 200, "signed for this host");
}

#[test]
fn finding_11_content_type_and_idempotency_key_changed_after_signing_are_refused() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::VisitsWrite]);
    let path = "/api/v1/people/person-margaret/visits";
    let body =
        serde_json::json!({ "startsAt": "2026-11-21T08:00:00Z", "endsAt": "2026-11-21T08:30:00Z", "status": "completed", "carers": "Jo", "note": "Well." });
    for (name, value) in [("idempotency-key", "another-key"), ("content-type", "text/plain")] {
        let mut request = api.signed_post(&held, path, Some("visit-1"), &body);
        request.headers_mut().insert(name, value.parse().unwrap());
        assert_refused(&api.call(request), 401, "invalid-credentials");
    }
    let mut without_key = api.signed_post(&held, path, Some("visit-1"), &body);
    without_key.headers_mut().remove("idempotency-key");
    assert_refused(&api.call(without_key), 401, "invalid-credentials");
    let untouched = api.post(&held, path, Some("visit-1"), &body);
    assert_ne!(untouched.status, 401, "as signed, it is authenticated: {:#}", untouched.body);
}
