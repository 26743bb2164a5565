//! Visit notes and medication administrations written through the API: only with a live grant
//! to contribute (404 otherwise), an Idempotency-Key on every write (a retry, sequential or
//! concurrent, stores one row and gets the first answer; the same key with another body is
//! 422), bodies checked field by field (400 for the schema, 422 for what cannot be recorded),
//! and nothing written by a refused request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Basis, Category};
use carefront_shared::credential::Permission;
use serde_json::{Value, json};
use support::seed::{paracetamol, stopped_medicine};
use support::{Api, COUNCIL, Held, PROVIDER, Reply, problem_type};

const VISITS: &str = "/api/v1/people/person-margaret/visits";
const ADMINISTRATIONS: &str = "/api/v1/people/person-margaret/medication-administrations";

fn api() -> Api {
    let api = Api::new();
    api.seed_record("person-margaret", 0);
    api.seed_record("person-olive", 0);
    api.grant("grant-margaret-visits", "person-margaret", PROVIDER, &[Category::VisitsAndNotes], Basis::Consent);
    api
}

fn writer(api: &Api) -> Held {
    api.credential(PROVIDER, &[Permission::VisitsWrite, Permission::MedicationWrite, Permission::RecordRead])
}

fn visit() -> Value {
    json!({
        "startsAt": "2026-11-21T08:00:00Z",
        "endsAt": "2026-11-21T08:45:00Z",
        "status": "completed",
        "carers": "Jo Bloggs",
        "note": "Margaret was in good spirits. Helped her wash and dress.",
    })
}

fn administration(outcome: &str, reason: Option<&str>) -> Value {
    let mut body = json!({
        "medicineId": paracetamol("person-margaret"),
        "dueAt": "2026-11-21T08:00:00Z",
        "outcome": outcome,
        "recordedBy": "Jo Bloggs",
    });
    if let Some(reason) = reason {
        body["reason"] = reason.into();
    }
    body
}

fn visit_rows(api: &Api) -> usize {
    api.rows("SELECT 1 FROM care_visits WHERE person_id = 'person-margaret'")
}

fn administration_rows(api: &Api) -> usize {
    api.rows("SELECT 1 FROM administrations WHERE person_id = 'person-margaret'")
}

fn invalid_names(reply: &Reply) -> Vec<String> {
    reply.body["invalid-params"].as_array().unwrap_or(&Vec::new()).iter().map(|param| param["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_visit_note_is_recorded_shown_in_the_record_and_logged() {
    let api = api();
    let held = writer(&api);
    let reply = api.post(&held, VISITS, Some("visit-key-1"), &visit());
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["organisationId"], PROVIDER);
    assert_eq!(reply.body["carers"], "Jo Bloggs");
    assert_eq!(reply.body["recordedAt"], "2026-11-21T09:00:00Z");
    assert!(reply.headers.get("idempotent-replayed").is_none());
    let id = reply.body["id"].as_str().unwrap().to_owned();

    let listed = api.get(&held, VISITS);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    let actions = api.audit_actions("person-margaret");
    assert!(actions.contains(&"api.visit_recorded".to_owned()), "{actions:?}");
    let events = api.audit_events("person-margaret");
    let recorded = events.iter().find(|event| event.action.as_str() == "api.visit_recorded").unwrap();
    assert_eq!(recorded.category.map(|category| category.as_str()), Some("visits_and_notes"));
    assert_eq!(recorded.basis.as_ref().map(|basis| basis.as_str()), Some("grant:grant-margaret-visits (consent)"));
}

#[test]
fn the_same_visit_sent_twice_is_stored_once_and_answered_alike() {
    let api = api();
    let held = writer(&api);
    let first = api.post(&held, VISITS, Some("visit-key-1"), &visit());
    assert_eq!(first.status, 201);
    api.advance(chrono::Duration::minutes(3));
    // Members in another order and other spacing: the same request.
    let reordered: Value = serde_json::from_str(&serde_json::to_string_pretty(&visit()).unwrap()).unwrap();
    let second = api.post(&held, VISITS, Some("\"visit-key-1\""), &reordered);
    assert_eq!(second.status, 200, "{:#}", second.body);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(second.body, first.body, "the original visit, recorded time and all");
    assert_eq!(visit_rows(&api), 1);
    assert_eq!(api.audit_actions("person-margaret").iter().filter(|action| *action == "api.visit_recorded").count(), 1);

    // Another body with the same key: refused, nothing written.
    let mut changed = visit();
    changed["note"] = "Something else".into();
    let reused = api.post(&held, VISITS, Some("visit-key-1"), &changed);
    assert_eq!((reused.status, problem_type(&reused).as_str()), (422, "idempotency-key-reused"), "{:#}", reused.body);
    // The same body for another person with the same key is another request too.
    api.grant("grant-arthur-visits", "person-arthur", PROVIDER, &[Category::VisitsAndNotes], Basis::Consent);
    let elsewhere = api.post(&held, "/api/v1/people/person-arthur/visits", Some("visit-key-1"), &visit());
    assert_eq!(elsewhere.status, 422);
    assert_eq!(visit_rows(&api), 1);
    assert_eq!(api.rows("SELECT 1 FROM care_visits"), 1);

    // A new key is a new visit.
    assert_eq!(api.post(&held, VISITS, Some("visit-key-2"), &visit()).status, 201);
    assert_eq!(visit_rows(&api), 2);
}

#[test]
fn keys_belong_to_one_organisation() {
    let api = api();
    api.grant("grant-margaret-visits-other", "person-margaret", "org-other-provider", &[Category::VisitsAndNotes], Basis::Consent);
    let ours = api.post(&writer(&api), VISITS, Some("shared-key"), &visit());
    let theirs = api.post(&api.credential("org-other-provider", &[Permission::VisitsWrite]), VISITS, Some("shared-key"), &visit());
    assert_eq!((ours.status, theirs.status), (201, 201));
    assert_ne!(ours.body["id"], theirs.body["id"]);
    assert_eq!(theirs.body["organisationId"], "org-other-provider");
}

#[test]
fn ten_concurrent_copies_of_a_write_store_one_row() {
    let api = api();
    let held = writer(&api);
    let requests = (0..10).map(|_| api.signed_post(&held, VISITS, Some("concurrent-visit"), &visit())).collect();
    let replies = api.call_concurrently(requests);
    assert_eq!(visit_rows(&api), 1, "{:#?}", replies.iter().map(|reply| (reply.status, &reply.body)).collect::<Vec<_>>());
    let ids: std::collections::BTreeSet<&str> = replies.iter().map(|reply| reply.body["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "every copy is answered with the one visit");
    assert!(replies.iter().all(|reply| reply.status == 201 || reply.status == 200));

    let requests = (0..10).map(|_| api.signed_post(&held, ADMINISTRATIONS, Some("concurrent-dose"), &administration("given", None))).collect();
    let replies = api.call_concurrently(requests);
    assert_eq!(administration_rows(&api), 4, "three seeded and one new: {:#?}", replies.iter().map(|reply| (reply.status, &reply.body)).collect::<Vec<_>>());
    assert_eq!(replies.iter().map(|reply| reply.body["id"].as_str().unwrap()).collect::<std::collections::BTreeSet<_>>().len(), 1);

    let requests = (0..10)
        .map(|index| {
            let mut body = visit();
            body["note"] = format!("Copy {index}").into();
            api.signed_post(&held, VISITS, Some("concurrent-different"), &body)
        })
        .collect();
    let replies = api.call_concurrently(requests);
    assert_eq!(visit_rows(&api), 2, "one of ten different bodies wins the key");
    assert_eq!(replies.iter().filter(|reply| reply.status == 201).count(), 1);
    assert!(replies.iter().filter(|reply| reply.status != 201).all(|reply| reply.status == 422));
}

#[test]
fn a_retry_after_a_first_attempt_that_stopped_half_way_makes_the_row_once() {
    // The key is claimed but the visit was never written (the first request died in between).
    let api = api();
    let held = writer(&api);
    let store = api.store();
    let body = visit();
    let fingerprint = carefront_shared::store::idempotency::request_fingerprint("POST", VISITS, &body);
    let claim = carefront_shared::store::idempotency::IdempotencyRecord {
        organisation_id: PROVIDER.into(),
        key: "half-way".into(),
        request: format!("POST {VISITS}"),
        request_hash: fingerprint,
        resource_id: "visit-claimed".into(),
        credential_id: held.key_id.clone(),
        created_at: api.now.get(),
    };
    pollster::block_on(carefront_shared::store::IdempotencyStore::claim_idempotency_key(&store, &claim)).unwrap();
    let reply = api.post(&held, VISITS, Some("half-way"), &body);
    assert_eq!((reply.status, reply.body["id"].as_str()), (201, Some("visit-claimed")), "{:#}", reply.body);
    assert_eq!(api.post(&held, VISITS, Some("half-way"), &body).status, 200);
    assert_eq!(visit_rows(&api), 1);
}

#[test]
fn writes_need_a_key_json_and_a_body_that_fits() {
    let api = api();
    let held = writer(&api);
    let missing = api.post(&held, VISITS, None, &visit());
    assert_eq!((missing.status, problem_type(&missing).as_str()), (400, "idempotency-key-required"));
    let malformed = api.post(&held, VISITS, Some("has space"), &visit());
    assert_eq!((malformed.status, problem_type(&malformed).as_str()), (400, "malformed-idempotency-key"));

    let form = api.signed_body(&held, VISITS, Some("k1"), "application/x-www-form-urlencoded", serde_json::to_vec(&visit()).unwrap());
    let reply = api.call(form);
    assert_eq!((reply.status, problem_type(&reply).as_str()), (415, "unsupported-media-type"));

    let not_json = api.signed_body(&held, VISITS, Some("k2"), "application/json", b"{\"startsAt\": ".to_vec());
    let reply = api.call(not_json);
    assert_eq!((reply.status, problem_type(&reply).as_str()), (400, "malformed-json"));

    let reply = api.post(&held, VISITS, Some("k3"), &json!({ "startsAt": "yesterday", "status": "done", "colour": "red", "note": 5 }));
    assert_eq!((reply.status, problem_type(&reply).as_str()), (400, "invalid-body"), "{:#}", reply.body);
    assert_eq!(invalid_names(&reply), ["colour", "startsAt", "endsAt", "status", "carers", "note"]);

    let reply = api.post(&held, VISITS, Some("k4"), &json!([]));
    assert_eq!(reply.status, 400);

    let oversize = api.post(&held, VISITS, Some("k5"), &json!({ "note": "x".repeat(1024 * 1024) }));
    assert_eq!(oversize.status, 413);

    assert_eq!(visit_rows(&api), 0, "nothing written");
    assert_eq!(api.rows("SELECT 1 FROM api_idempotency_keys"), 0, "no key claimed by a refused request");
    assert!(api.audit_actions("person-margaret").is_empty());
}

#[test]
fn what_cannot_be_recorded_is_422_naming_the_fields() {
    let api = api();
    let held = writer(&api);
    let mut wrong = visit();
    wrong["endsAt"] = "2026-11-21T07:00:00Z".into();
    wrong["carers"] = " ".into();
    wrong["note"] = "".into();
    let reply = api.post(&held, VISITS, Some("k1"), &wrong);
    assert_eq!((reply.status, problem_type(&reply).as_str()), (422, "invalid-fields"), "{:#}", reply.body);
    assert_eq!(invalid_names(&reply), ["endsAt", "carers", "note"]);

    let mut future = visit();
    future["startsAt"] = "2026-11-22T08:00:00Z".into();
    future["endsAt"] = "2026-11-22T09:00:00Z".into();
    assert_eq!(invalid_names(&api.post(&held, VISITS, Some("k2"), &future)), ["status"], "a future visit cannot be completed");
    future["status"] = "planned".into();
    future["note"] = Value::Null;
    assert_eq!(api.post(&held, VISITS, Some("k3"), &future).status, 201, "but can be planned, without a note");

    // Administrations: a reason unless given; the person's own medicine, current that day.
    let refused = api.post(&held, ADMINISTRATIONS, Some("a1"), &administration("refused", None));
    assert_eq!((refused.status, invalid_names(&refused)), (422, vec!["reason".to_owned()]));
    let mut not_hers = administration("given", None);
    not_hers["medicineId"] = paracetamol("person-olive").into();
    assert_eq!(invalid_names(&api.post(&held, ADMINISTRATIONS, Some("a2"), &not_hers)), ["medicineId"]);
    let mut stopped = administration("given", None);
    stopped["medicineId"] = stopped_medicine("person-margaret").into();
    assert_eq!(invalid_names(&api.post(&held, ADMINISTRATIONS, Some("a3"), &stopped)), ["dueAt"]);
    let unknown_outcome = api.post(&held, ADMINISTRATIONS, Some("a4"), &administration("forgotten", None));
    assert_eq!((unknown_outcome.status, invalid_names(&unknown_outcome)), (400, vec!["outcome".to_owned()]));
    assert_eq!(administration_rows(&api), 3, "only the seeded ones");

    let recorded = api.post(&held, ADMINISTRATIONS, Some("a5"), &administration("not_given", Some("Margaret was asleep; will offer at 9am.")));
    assert_eq!(recorded.status, 201, "{:#}", recorded.body);
    assert_eq!((recorded.body["outcome"].as_str(), recorded.body["reason"].as_str()), (Some("not_given"), Some("Margaret was asleep; will offer at 9am.")));
    assert_eq!(recorded.body["medicineName"], "Paracetamol 500 mg");
    let given = api.post(&held, ADMINISTRATIONS, Some("a6"), &administration("given", None));
    assert_eq!(given.status, 201);
    assert_eq!(administration_rows(&api), 5);
    let listed = api.get(&held, ADMINISTRATIONS);
    assert!(listed.body["items"].as_array().unwrap().iter().any(|item| item["id"] == recorded.body["id"]));
    assert!(api.audit_actions("person-margaret").contains(&"api.administration_recorded".to_owned()));
}

#[test]
fn without_a_live_grant_to_contribute_it_is_404_and_without_the_permission_403() {
    let api = api();
    let held = writer(&api);
    // Olive is another provider's; nobody is nobody's.
    for person in ["person-olive", "person-nobody"] {
        let reply = api.post(&held, &format!("/api/v1/people/{person}/visits"), Some(&format!("k-{person}")), &visit());
        assert_eq!(reply.status, 404, "{person}");
    }
    // Arthur: the provider may contribute to his medication but not his visits.
    assert_eq!(api.post(&held, "/api/v1/people/person-arthur/visits", Some("k-arthur"), &visit()).status, 404);

    // A view-only grant is not enough to write.
    let api = Api::new();
    api.seed_record("person-margaret", 0);
    let mut view_only = api.grant("grant-view", "person-margaret", "org-other-provider", &[Category::VisitsAndNotes], Basis::Consent);
    view_only.actions = std::collections::BTreeSet::from([carefront_shared::consent::Action::View]);
    pollster::block_on(carefront_shared::store::Store::update_grant(&api.store(), &view_only, api.now.get(), None)).unwrap();
    let other = api.credential("org-other-provider", &[Permission::VisitsWrite]);
    assert_eq!(api.post(&other, VISITS, Some("k"), &visit()).status, 404);

    let reader = api.credential(PROVIDER, &[Permission::RecordRead]);
    let reply = api.post(&reader, ADMINISTRATIONS, Some("k"), &administration("given", None));
    assert_eq!((reply.status, problem_type(&reply).as_str()), (403, "permission-required"));
    assert!(reply.body["detail"].as_str().unwrap().contains("medication:write"));
    let council = api.credential(COUNCIL, &[Permission::VisitsWrite]);
    assert_eq!(api.post(&council, VISITS, Some("k"), &visit()).status, 201, "the test council's grant allows contributing");
    assert_eq!(api.rows("SELECT 1 FROM care_visits"), 1);
}

#[test]
fn a_replayed_signed_write_is_refused_before_idempotency_and_writes_nothing() {
    let api = api();
    let held = writer(&api);
    let request = api.signed_post(&held, VISITS, Some("replayed"), &visit());
    let copy = http::Request::builder()
        .method("POST")
        .uri(VISITS)
        .header("host", support::HOST)
        .header("authorization", request.headers()["authorization"].clone())
        .header("carefront-timestamp", request.headers()["carefront-timestamp"].clone())
        .header("carefront-nonce", request.headers()["carefront-nonce"].clone())
        .header("content-digest", request.headers()["content-digest"].clone())
        .header("content-type", "application/json")
        .header("idempotency-key", "replayed")
        .body(request.body().clone())
        .unwrap();
    assert_eq!(api.call(request).status, 201);
    // The same signed bytes again: a replay (401), not a retry — a retry is signed afresh.
    let replayed = api.call(copy);
    assert_eq!((replayed.status, problem_type(&replayed).as_str()), (401, "replayed-request"));

    // A body changed under its signature, and a revoked credential: refused, nothing written.
    let mut tampered = api.signed_post(&held, VISITS, Some("tampered"), &visit());
    *tampered.body_mut() = serde_json::to_vec(&json!({ "note": "changed" })).unwrap();
    assert_eq!(problem_type(&api.call(tampered)), "digest-mismatch");
    assert!(api.revoke(&held));
    let revoked = api.post(&held, VISITS, Some("after-revocation"), &visit());
    assert_eq!((revoked.status, problem_type(&revoked).as_str()), (401, "invalid-credentials"));
    assert_eq!(visit_rows(&api), 1);
    assert_eq!(api.rows("SELECT 1 FROM api_idempotency_keys"), 1);
}

/// Finding 8 of issue 9: an API write was several statements (the key's claim, the write, its
/// audit event), so a failure half way left a claim with nothing made, or a visit nobody's log
/// shows. Now each is one plan: failing each statement of the request in turn leaves no visit
/// or administration, no claim and no log line, and a retry with the same key then succeeds.
#[test]
fn finding_8_a_failed_api_write_leaves_nothing_behind() {
    type Rows = fn(&Api) -> usize;
    let writes: [(&str, Value, Rows, &str); 2] = [
        (VISITS, visit(), visit_rows, "api.visit_recorded"),
        (ADMINISTRATIONS, administration("given", None), administration_rows, "api.administration_recorded"),
    ];
    for (path, body, made, action) in writes {
        let mut fail_at = 1;
        loop {
            let api = api();
            let held = writer(&api);
            let (before, logged) = (made(&api), api.rows("SELECT 1 FROM audit_events"));
            let (reply, failed) = api.call_failing(api.signed_post(&held, path, Some("the-key"), &body), fail_at);
            if !failed {
                assert_eq!(reply.status, 201, "{path}: every statement ran: {:#}", reply.body);
                break;
            }
            assert_eq!((reply.status, problem_type(&reply).as_str()), (503, "store-unavailable"), "{path}, statement {fail_at}: {:#}", reply.body);
            assert_eq!(made(&api), before, "{path}, statement {fail_at}: nothing made");
            assert_eq!(api.rows("SELECT 1 FROM api_idempotency_keys"), 0, "{path}, statement {fail_at}: no claim");
            assert_eq!(api.rows("SELECT 1 FROM audit_events"), logged, "{path}, statement {fail_at}: no log line");

            let retry = api.post(&held, path, Some("the-key"), &body);
            assert_eq!(retry.status, 201, "{path}, statement {fail_at}: the retry is the first write: {:#}", retry.body);
            assert_eq!((made(&api), api.rows("SELECT 1 FROM api_idempotency_keys")), (before + 1, 1));
            assert_eq!(api.audit_actions("person-margaret").iter().filter(|logged| *logged == action).count(), 1);
            fail_at += 1;
        }
        // The nonce, then the claim, the write and the audit event in one batch.
        assert!(fail_at > 4, "{path}: the write's statements were each failed ({fail_at})");
    }
}
