//! The whole record put in through the API: care plan, guide, medicines, allergies, contacts,
//! documents, the visit schedule and each visit's status. Each write is idempotent (a retry
//! answers the first and writes nothing), checked field by field (a problem naming the field,
//! nothing written), needs a live grant to contribute (404 otherwise) and the permission (403),
//! keeps a version (history shown under …/versions), and a stale version is 409. A 10 MiB PDF
//! goes in and comes back whole; a file that is not what it claims is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Action, Basis, Category};
use carefront_shared::credential::Permission;
use serde_json::{Value, json};
use support::{Api, Held, OTHER_PROVIDER, PROVIDER, Reply, problem_type};

const MARGARET: &str = "/api/v1/people/person-margaret";

fn api() -> Api {
    let api = Api::new();
    api.seed_record("person-margaret", 0);
    api.seed_record("person-olive", 0);
    api.grant(
        "grant-margaret-more",
        "person-margaret",
        PROVIDER,
        &[Category::ServiceUserGuide, Category::Contacts, Category::Documents, Category::VisitsAndNotes],
        Basis::Consent,
    );
    api
}

fn writer(api: &Api) -> Held {
    api.credential(PROVIDER, &[Permission::RecordWrite, Permission::MedicationWrite, Permission::VisitsWrite, Permission::RecordRead])
}

fn care_plan(version: i64, summary: &str) -> Value {
    json!({
        "version": version,
        "summary": summary,
        "outcomes": ["To stay living at home"],
        "support": ["Help to wash and dress each morning"],
        "visitSchedule": ["Mornings, 8am to 8:45am"],
        "reviewDue": "2027-05-01",
        "writtenBy": "Sam Patel, care coordinator",
    })
}

fn names(reply: &Reply) -> Vec<String> {
    reply.body["invalid-params"].as_array().unwrap_or(&Vec::new()).iter().map(|param| param["name"].as_str().unwrap().to_owned()).collect()
}

fn versions(api: &Api) -> usize {
    api.rows("SELECT 1 FROM record_versions")
}

#[test]
fn a_care_plan_change_is_a_new_version_history_is_kept_and_a_stale_one_is_409() {
    let api = api();
    let held = writer(&api);
    let path = format!("{MARGARET}/care-plan");
    assert_eq!(api.get(&held, &path).body["version"], 0, "the seeded plan has no versions yet");

    let first = api.put(&held, &path, Some("plan-1"), &care_plan(0, "Margaret wants to stay at home."));
    assert_eq!((first.status, first.body["version"].as_i64()), (200, Some(1)), "{:#}", first.body);
    assert_eq!(first.body["changedBy"], "Brookside Home Care");
    assert_eq!(first.body["snapshot"]["summary"], "Margaret wants to stay at home.");

    // A retry with the same key and body: the first answer, nothing written.
    let retry = api.put(&held, &path, Some("plan-1"), &care_plan(0, "Margaret wants to stay at home."));
    assert_eq!((retry.status, retry.headers["idempotent-replayed"].to_str().unwrap()), (200, "true"));
    assert_eq!(retry.body["id"], first.body["id"]);
    assert_eq!(versions(&api), 1);

    let second = api.put(&held, &path, Some("plan-2"), &care_plan(1, "Margaret is home from hospital."));
    assert_eq!(second.body["version"], 2);
    let read = api.get(&held, &path);
    assert_eq!((read.body["summary"].as_str(), read.body["version"].as_i64()), (Some("Margaret is home from hospital."), Some(2)));

    // Made from version 1, which someone has since changed: 409 with what is there now.
    let stale = api.put(&held, &path, Some("plan-3"), &care_plan(1, "Stale"));
    assert_eq!((stale.status, problem_type(&stale).as_str()), (409, "version-conflict"));
    assert_eq!(stale.body["current"]["version"], 2);
    assert_eq!(api.get(&held, &path).body["summary"], "Margaret is home from hospital.");

    let history = api.get(&held, &format!("{path}/versions"));
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.iter().map(|item| item["version"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(items[1]["snapshot"]["summary"], "Margaret wants to stay at home.");
    assert_eq!(api.audit_actions("person-margaret").iter().filter(|action| *action == "record.care_plan_written").count(), 2);
}

#[test]
fn each_field_is_checked_and_a_wrong_one_writes_nothing() {
    let api = api();
    let held = writer(&api);
    let before = (versions(&api), api.rows("SELECT 1 FROM audit_events"));

    let mut plan = care_plan(0, " ");
    plan["reviewDue"] = "2020-01-01".into();
    let reply = api.put(&held, &format!("{MARGARET}/care-plan"), Some("bad-1"), &plan);
    assert_eq!((reply.status, names(&reply)), (422, vec!["summary".to_owned(), "reviewDue".to_owned()]));

    let reply = api.put(&held, &format!("{MARGARET}/care-plan"), Some("bad-2"), &json!({ "version": 0, "summary": 5, "colour": "red" }));
    assert_eq!(reply.status, 400);
    assert!(names(&reply).contains(&"colour".to_owned()) && names(&reply).contains(&"summary".to_owned()) && names(&reply).contains(&"outcomes".to_owned()));

    let medicine = json!({
        "name": "Paracetamol 500 mg", "dose": "2 tablets", "route": "By mouth", "times": ["08:00", "8pm"],
        "asNeeded": false, "prescriber": "Dr Patel", "startedOn": "2026-11-20",
    });
    let reply = api.post(&held, &format!("{MARGARET}/medicines"), Some("bad-3"), &medicine);
    assert_eq!((reply.status, names(&reply)), (422, vec!["times[1]".to_owned()]));

    let contacts = json!({ "version": 0, "contacts": [{ "kind": "gp", "name": "The Surgery", "email": "not-an-address" }] });
    let reply = api.put(&held, &format!("{MARGARET}/contacts"), Some("bad-4"), &contacts);
    assert_eq!((reply.status, names(&reply)), (422, vec!["contacts[0].email".to_owned()]));

    let schedule = json!({ "version": 0, "from": "2026-11-23", "to": "2026-11-29", "visits": [
        { "startsAt": "2026-11-23T08:00:00Z", "endsAt": "2026-11-23T07:00:00Z", "carerFirstName": "Jo Bloggs" },
    ]});
    let reply = api.put(&held, &format!("{MARGARET}/visit-schedule"), Some("bad-5"), &schedule);
    assert_eq!((reply.status, names(&reply)), (422, vec!["visits[0].endsAt".to_owned(), "visits[0].carerFirstName".to_owned()]));

    let reply = api.put(&held, &format!("{MARGARET}/guide"), Some("bad-6"), &json!({ "version": 0, "title": "Our guide", "sections": [] }));
    assert_eq!((reply.status, names(&reply)), (422, vec!["sections".to_owned()]));

    assert_eq!((versions(&api), api.rows("SELECT 1 FROM audit_events")), before, "nothing written, nothing logged");
    assert_eq!(api.rows("SELECT 1 FROM api_idempotency_keys"), 0, "no key claimed");
}

#[test]
fn another_organisation_a_view_only_grant_or_a_missing_permission_is_refused() {
    let api = api();
    let held = writer(&api);
    // Olive is another provider's; nobody is nobody's; Arthur's contacts are not granted.
    for path in ["/api/v1/people/person-olive/care-plan", "/api/v1/people/person-nobody/care-plan"] {
        assert_eq!(api.put(&held, path, Some("k1"), &care_plan(0, "x")).status, 404, "{path}");
    }
    assert_eq!(api.put(&held, "/api/v1/people/person-arthur/contacts", Some("k2"), &json!({ "version": 0, "contacts": [] })).status, 404);

    // A view-only grant is not leave to write.
    api.grant_with("grant-olive-view", "person-olive", PROVIDER, &[Category::CarePlan], &[Action::View], Basis::Consent);
    assert_eq!(api.put(&held, "/api/v1/people/person-olive/care-plan", Some("k3"), &care_plan(0, "x")).status, 404);

    let reader = api.credential(PROVIDER, &[Permission::RecordRead]);
    let reply = api.put(&reader, &format!("{MARGARET}/care-plan"), Some("k4"), &care_plan(0, "x"));
    assert_eq!((reply.status, problem_type(&reply).as_str()), (403, "permission-required"));
    // The other provider cannot write to Margaret, nor see her versions.
    let other = api.credential(OTHER_PROVIDER, &[Permission::RecordWrite, Permission::RecordRead]);
    assert_eq!(api.put(&other, &format!("{MARGARET}/care-plan"), Some("k5"), &care_plan(0, "x")).status, 404);
    assert_eq!(api.get(&other, &format!("{MARGARET}/care-plan/versions")).status, 404);
    assert_eq!(versions(&api), 0);
}

#[test]
fn a_ten_mib_pdf_goes_in_and_comes_back_whole_and_a_fake_one_is_refused() {
    let api = api();
    let held = writer(&api);
    let path = format!("{MARGARET}/documents?title=Discharge%20summary&kind=discharge_summary");
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..10 * 1024 * 1024 - 9).map(|index| (index % 251) as u8));
    let reply = api.call(api.signed_send(&held, "POST", &path, Some("doc-1"), "application/pdf", pdf.clone()));
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!((reply.body["contentType"].as_str(), reply.body["sizeBytes"].as_i64()), (Some("application/pdf"), Some(10 * 1024 * 1024)));
    let id = reply.body["id"].as_str().unwrap();
    assert_eq!(api.rows(&format!("SELECT 1 FROM document_chunks WHERE document_id = '{id}'")), 10, "1 MiB chunks");
    let file = api.get(&held, reply.body["href"].as_str().unwrap());
    assert_eq!((file.status, file.bytes == pdf), (200, true));

    let retry = api.call(api.signed_send(&held, "POST", &path, Some("doc-1"), "application/pdf", pdf.clone()));
    assert_eq!((retry.status, retry.body["id"].clone()), (200, reply.body["id"].clone()));
    assert_eq!(api.rows(&format!("SELECT 1 FROM documents WHERE id = '{id}'")), 1, "one document");

    // Declared a PDF, but it is not one (nor text): refused, whatever the declared type.
    let fake = b"\x89PNG\r\n\x1a\n\x00\x00".to_vec();
    let reply = api.call(api.signed_send(&held, "POST", &path, Some("doc-2"), "application/pdf", fake));
    assert_eq!((reply.status, names(&reply)), (422, vec!["(body)".to_owned()]));
    // Declared a PDF, but it is text: kept as the text it is.
    let reply = api.call(api.signed_send(&held, "POST", &path, Some("doc-3"), "application/pdf", b"A letter.".to_vec()));
    assert_eq!(reply.body["contentType"], "text/plain");
    let reply = api.call(api.signed_send(&held, "POST", &format!("{MARGARET}/documents?kind=letter"), Some("doc-4"), "text/plain", b"A letter.".to_vec()));
    assert_eq!((reply.status, names(&reply)), (400, vec!["title".to_owned()]));
    let mut huge = pdf;
    huge.extend_from_slice(b"more");
    let reply = api.call(api.signed_send(&held, "POST", &path, Some("doc-5"), "application/pdf", huge));
    assert_eq!(reply.status, 422, "{:#}", reply.body);
    // Only a document may be that large.
    let reply = api.call(api.signed_send(&held, "PUT", &format!("{MARGARET}/care-plan"), Some("big"), "application/json", vec![b' '; 2 * 1024 * 1024]));
    assert_eq!(reply.status, 413);
}

#[test]
fn medicines_start_change_and_stop_with_their_history() {
    let api = api();
    let held = writer(&api);
    let medicine = json!({
        "name": "Amlodipine 5 mg", "dose": "1 tablet", "route": "By mouth", "times": ["08:00"],
        "asNeeded": false, "prescriber": "Dr Patel", "startedOn": "2026-11-20",
    });
    let started = api.post(&held, &format!("{MARGARET}/medicines"), Some("m1"), &medicine);
    assert_eq!(started.status, 201, "{:#}", started.body);
    let id = started.body["itemId"].as_str().unwrap().to_owned();
    let listed = api.get(&held, &format!("{MARGARET}/medicines"));
    let entry = listed.body["medicines"].as_array().unwrap().iter().find(|entry| entry["id"] == id.as_str()).unwrap().clone();
    assert_eq!((entry["times"].clone(), entry["version"].as_i64()), (json!(["08:00"]), Some(1)));

    let mut changed = medicine.clone();
    changed["version"] = 1.into();
    changed["times"] = json!(["08:00", "20:00"]);
    assert_eq!(api.put(&held, &format!("{MARGARET}/medicines/{id}"), Some("m2"), &changed).body["version"], 2);
    let stale =
        api.post(&held, &format!("{MARGARET}/medicines/{id}/stop"), Some("m3"), &json!({ "version": 1, "stoppedOn": "2026-11-22", "reason": "Stopped by GP" }));
    assert_eq!(stale.status, 409);
    let stopped =
        api.post(&held, &format!("{MARGARET}/medicines/{id}/stop"), Some("m4"), &json!({ "version": 2, "stoppedOn": "2026-11-22", "reason": "Stopped by GP" }));
    assert_eq!(stopped.body["snapshot"]["stoppedOn"], "2026-11-22");
    let history = api.get(&held, &format!("{MARGARET}/medicines/{id}/versions"));
    assert_eq!(history.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(api.get(&held, &format!("{MARGARET}/medicines/no-such/versions")).status, 404);

    let allergy = api.post(&held, &format!("{MARGARET}/allergies"), Some("a1"), &json!({ "substance": "Latex", "reaction": "Rash" }));
    assert_eq!(allergy.status, 201);
    let allergy_id = allergy.body["itemId"].as_str().unwrap().to_owned();
    let error = api.post(&held, &format!("{MARGARET}/allergies/{allergy_id}/entered-in-error"), Some("a2"), &json!({ "version": 1, "reason": "Wrong person" }));
    assert_eq!(error.status, 200, "{:#}", error.body);
    let listed = api.get(&held, &format!("{MARGARET}/medicines"));
    assert!(listed.body["allergies"].as_array().unwrap().iter().all(|entry| entry["id"] != allergy_id.as_str()));
}

#[test]
fn a_visit_schedule_is_put_in_and_each_visit_reports_its_live_status() {
    let api = api();
    let held = writer(&api);
    let schedule = json!({ "version": 0, "from": "2026-11-21", "to": "2026-11-22", "visits": [
        { "id": "v-sat-am", "startsAt": "2026-11-21T08:00:00Z", "endsAt": "2026-11-21T08:45:00Z", "carerFirstName": "Jo" },
        { "startsAt": "2026-11-22T08:00:00Z", "endsAt": "2026-11-22T08:45:00Z", "carerFirstName": "Sam" },
    ]});
    let reply = api.put(&held, &format!("{MARGARET}/visit-schedule"), Some("s1"), &schedule);
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let read = api.get(&held, &format!("{MARGARET}/visit-schedule?from=2026-11-21&to=2026-11-22"));
    assert_eq!((read.body["version"].as_i64(), read.body["visits"].as_array().unwrap().len()), (Some(1), 2));
    assert_eq!((read.body["visits"][0]["carers"].as_str(), read.body["visits"][0]["status"].as_str()), (Some("Jo"), Some("planned")));

    let status = format!("{MARGARET}/visits/v-sat-am/status");
    let arrived = api.post(&held, &status, Some("st1"), &json!({ "version": 0, "status": "checked_in", "at": "2026-11-21T08:05:00Z" }));
    assert_eq!(arrived.status, 200, "{:#}", arrived.body);
    let wrong = api.post(&held, &status, Some("st2"), &json!({ "version": 1, "status": "missed", "at": "2026-11-21T08:50:00Z" }));
    assert_eq!((wrong.status, names(&wrong)), (422, vec!["status".to_owned()]));
    let left = api.post(&held, &status, Some("st3"), &json!({ "version": 1, "status": "checked_out", "at": "2026-11-21T08:50:00Z" }));
    assert_eq!(left.status, 200);
    let read = api.get(&held, &format!("{MARGARET}/visit-schedule?from=2026-11-21&to=2026-11-21"));
    let visit = &read.body["visits"][0];
    assert_eq!((visit["status"].as_str(), visit["checkedInAt"].as_str()), (Some("checked_out"), Some("2026-11-21T08:05:00Z")));

    // Put in again: the visit under way is kept; the planned one is replaced.
    let again = json!({ "version": 1, "from": "2026-11-21", "to": "2026-11-22", "visits": [
        { "startsAt": "2026-11-22T09:00:00Z", "endsAt": "2026-11-22T09:30:00Z", "carerFirstName": "Ali" },
    ]});
    assert_eq!(api.put(&held, &format!("{MARGARET}/visit-schedule"), Some("s2"), &again).status, 200);
    let read = api.get(&held, &format!("{MARGARET}/visit-schedule?from=2026-11-21&to=2026-11-22"));
    let carers: Vec<&str> = read.body["visits"].as_array().unwrap().iter().map(|visit| visit["carers"].as_str().unwrap()).collect();
    assert_eq!(carers, ["Jo", "Ali"]);
    assert_eq!(api.get(&held, &format!("{MARGARET}/visit-schedule/versions")).body["items"].as_array().unwrap().len(), 2);
}

#[test]
fn contacts_and_guide_are_replaced_as_new_versions() {
    let api = api();
    let held = writer(&api);
    let contacts = json!({ "version": 0, "contacts": [
        { "kind": "gp", "name": "Elm Surgery", "phone": "01632 960000" },
        { "kind": "family", "name": "Grace Okafor", "role": "Daughter", "email": "grace@example.test" },
    ]});
    assert_eq!(api.put(&held, &format!("{MARGARET}/contacts"), Some("c1"), &contacts).status, 200);
    let listed = api.get(&held, &format!("{MARGARET}/contacts"));
    let names: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|contact| contact["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Elm Surgery", "Grace Okafor"]);
    let guide = json!({ "version": 0, "title": "Your guide to Brookside", "sections": [{ "heading": "Who we are", "body": "A home care agency." }] });
    let reply = api.put(&held, &format!("{MARGARET}/guide"), Some("g1"), &guide);
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(api.get(&held, &format!("{MARGARET}/guide")).body["version"], 1);
}

#[test]
fn a_write_that_fails_part_way_leaves_nothing_behind() {
    let mut fail_at = 1;
    loop {
        let api = api();
        let held = writer(&api);
        let before = (versions(&api), api.rows("SELECT 1 FROM audit_events"));
        let request = api.signed_send(
            &held,
            "PUT",
            &format!("{MARGARET}/care-plan"),
            Some("the-key"),
            "application/json",
            serde_json::to_vec(&care_plan(0, "New")).unwrap(),
        );
        let (reply, failed) = api.call_failing(request, fail_at);
        if !failed {
            assert_eq!(reply.status, 200, "every statement ran: {:#}", reply.body);
            break;
        }
        assert_eq!(reply.status, 503, "statement {fail_at}: {:#}", reply.body);
        assert_eq!((versions(&api), api.rows("SELECT 1 FROM audit_events")), before, "statement {fail_at}: nothing written");
        assert_eq!(api.rows("SELECT 1 FROM api_idempotency_keys"), 0);
        assert_ne!(api.get(&held, &format!("{MARGARET}/care-plan")).body["summary"], "New");
        fail_at += 1;
    }
    assert!(fail_at > 3, "the plan has several statements");
}
