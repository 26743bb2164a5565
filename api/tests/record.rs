//! The record categories through the API: each read only where a live grant to the caller's
//! organisation allows its category (404 otherwise, like a person who does not exist), every
//! read in the person's access log, lists in cursor pages, and the credential's permission
//! checked first (403).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Basis, Category, Grant};
use carefront_shared::credential::Permission;
use carefront_shared::store::Store;
use support::seed::paracetamol;
use support::{Api, COUNCIL, Held, PROVIDER, problem_type};

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

fn reader(api: &Api, organisation: &str) -> Held {
    api.credential(organisation, &[Permission::RecordRead])
}

/// Follows `next` links from `path`; every page's ids in order, and how many pages.
fn all_pages(api: &Api, held: &Held, path: &str) -> (Vec<String>, usize) {
    let (mut seen, mut path, mut pages) = (Vec::new(), path.to_owned(), 0);
    loop {
        let reply = api.get(held, &path);
        assert_eq!(reply.status, 200, "{path}: {:#}", reply.body);
        seen.extend(ids(&reply.body));
        pages += 1;
        match reply.body["next"].as_str() {
            Some(next) => {
                assert_eq!(reply.headers["link"].to_str().unwrap(), format!("<{next}>; rel=\"next\""));
                path = next.to_owned();
            }
            None => return (seen, pages),
        }
    }
}

#[test]
fn the_categories_a_grant_allows_are_read_and_each_read_is_logged() {
    let api = Api::new();
    api.seed_record("person-margaret", 2);
    let held = reader(&api, PROVIDER);

    let plan = api.get(&held, "/api/v1/people/person-margaret/care-plan");
    assert_eq!(plan.status, 200, "{:#}", plan.body);
    assert_eq!(plan.body["summary"], "Support each morning.");
    assert_eq!(plan.body["visitSchedule"][0], "Every day, 8am");
    assert_eq!(plan.body["reviewDue"], "2027-03-01");

    let medicines = api.get(&held, "/api/v1/people/person-margaret/medicines");
    assert_eq!(medicines.status, 200, "{:#}", medicines.body);
    let names: Vec<&str> = medicines.body["medicines"].as_array().unwrap().iter().map(|medicine| medicine["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Paracetamol 500 mg"], "current medicines only");
    assert_eq!(medicines.body["medicines"][0]["times"], serde_json::json!(["08:00", "20:00"]));
    assert_eq!(medicines.body["allergies"][0]["substance"], "Penicillin");

    let given = api.get(&held, "/api/v1/people/person-margaret/medication-administrations");
    assert_eq!(given.status, 200, "{:#}", given.body);
    assert_eq!(ids(&given.body), ["adm-person-margaret-3", "adm-person-margaret-2", "adm-person-margaret-1"], "oldest first");
    assert_eq!(given.body["items"][0]["medicineName"], "Paracetamol 500 mg");
    assert_eq!(given.body["items"][0]["outcome"], "given");

    // The provider's grant is care plan and medication only: the rest does not exist for it.
    for part in ["guide", "visits", "contacts", "documents", "documents/doc-person-margaret-0", "needs"] {
        let credential = if part == "needs" { api.credential(PROVIDER, &[Permission::NeedsRead]) } else { held.clone() };
        let reply = api.get(&credential, &format!("/api/v1/people/person-margaret/{part}"));
        assert_eq!((reply.status, reply.content_type.as_str()), (404, "application/problem+json"), "{part}: {:#}", reply.body);
    }

    let actions = api.audit_actions("person-margaret");
    for action in ["api.care_plan_read", "api.medication_read"] {
        assert!(actions.contains(&action.to_owned()), "{action} in {actions:?}");
    }
    assert_eq!(actions.len(), 3, "one event per read, none for refusals: {actions:?}");
    let events = api.audit_events("person-margaret");
    let plan_read = events.iter().find(|event| event.action.as_str() == "api.care_plan_read").unwrap();
    assert_eq!(plan_read.actor_id.as_deref(), Some(format!("credential:{}", held.key_id).as_str()));
    assert_eq!(plan_read.category.map(|category| category.as_str()), Some("care_plan"));
    assert_eq!(plan_read.basis.as_ref().map(|basis| basis.as_str()), Some("grant:grant-person-margaret-provider (consent)"));
    assert!(plan_read.detail.contains("Brookside Home Care's computer system") && plan_read.detail.contains("care plan"), "{}", plan_read.detail);
}

#[test]
fn another_organisations_person_and_no_person_are_the_same_404() {
    let api = Api::new();
    api.seed_record("person-olive", 2);
    let held = reader(&api, PROVIDER);
    for part in ["care-plan", "medicines", "medication-administrations", "visits", "documents/doc-person-olive-0"] {
        let olive = api.get(&held, &format!("/api/v1/people/person-olive/{part}"));
        let nobody = api.get(&held, &format!("/api/v1/people/person-nobody/{part}"));
        assert_eq!(olive.status, 404, "{part}");
        assert_eq!(olive.body, nobody.body, "{part}: no oracle");
    }
    assert!(api.audit_actions("person-olive").is_empty());
}

#[test]
fn the_council_reads_every_category_including_the_files() {
    let api = Api::new();
    api.seed_record("person-arthur", 2);
    let held = reader(&api, COUNCIL);
    let guide = api.get(&held, "/api/v1/people/person-arthur/guide");
    assert_eq!((guide.status, guide.body["sections"][0]["heading"].as_str()), (200, Some("Who we are")));
    let contacts = api.get(&held, "/api/v1/people/person-arthur/contacts");
    assert_eq!(ids(&contacts.body), ["contact-person-arthur-0", "contact-person-arthur-1", "contact-person-arthur-2"]);
    assert_eq!(contacts.body["items"][1]["kind"], "gp");

    let documents = api.get(&held, "/api/v1/people/person-arthur/documents");
    assert_eq!(ids(&documents.body), ["doc-person-arthur-0", "doc-person-arthur-1"], "newest first");
    let listed = &documents.body["items"][0];
    assert_eq!((listed["contentType"].as_str(), listed["sizeBytes"].as_i64()), (Some("text/plain"), Some(37)));
    let file = api.get(&held, listed["href"].as_str().unwrap());
    assert_eq!(file.status, 200);
    assert_eq!(file.content_type, "text/plain; charset=utf-8");
    assert_eq!(file.bytes, b"Discharge summary for person-arthur.\n");
    assert_eq!(file.headers["content-disposition"], "attachment; filename=\"doc-person-arthur-0.txt\"");
    assert!(file.headers["repr-digest"].to_str().unwrap().starts_with("sha-256=:"));
    assert_eq!(file.headers["x-content-type-options"], "nosniff");
    let missing = api.get(&held, "/api/v1/people/person-arthur/documents/doc-nothing");
    assert_eq!(missing.status, 404);
    assert!(api.audit_actions("person-arthur").contains(&"api.documents_read".to_owned()));
}

#[test]
fn a_missing_permission_is_403_before_anything_is_looked_up() {
    let api = Api::new();
    api.seed_record("person-margaret", 1);
    let people_only = api.credential(PROVIDER, &[Permission::PeopleRead, Permission::NeedsRead]);
    for path in ["/api/v1/people/person-margaret/care-plan", "/api/v1/people/person-olive/care-plan", "/api/v1/people/person-margaret/visits"] {
        let reply = api.get(&people_only, path);
        assert_eq!((reply.status, problem_type(&reply).as_str()), (403, "permission-required"), "{path}");
        assert!(reply.body["detail"].as_str().unwrap().contains("record:read"));
    }
    assert!(api.audit_actions("person-margaret").is_empty());
}

#[test]
fn nothing_recorded_yet_is_a_404_of_its_own_kind_for_a_caller_who_may_see_it() {
    let api = Api::new();
    let held = reader(&api, PROVIDER);
    let reply = api.get(&held, "/api/v1/people/person-arthur/care-plan");
    assert_eq!((reply.status, problem_type(&reply).as_str()), (404, "not-recorded"));
    let empty = api.get(&held, "/api/v1/people/person-arthur/medication-administrations");
    assert_eq!((empty.status, ids(&empty.body).len()), (200, 0));
}

#[test]
fn visits_come_newest_first_in_pages() {
    let api = Api::new();
    api.seed_record("person-arthur", 7);
    let held = reader(&api, COUNCIL);
    let (seen, pages) = all_pages(&api, &held, "/api/v1/people/person-arthur/visits?limit=3");
    let expected: Vec<String> = (0..7).rev().map(|index| format!("visit-person-arthur-{index:02}")).collect();
    assert_eq!((seen, pages), (expected, 3));
    let first = api.get(&held, "/api/v1/people/person-arthur/visits?limit=1");
    assert_eq!(first.body["items"][0]["note"], "Visit 6");
    assert_eq!(first.body["items"][0]["status"], "completed");
    for (query, slug) in [("cursor=bm90LW91cnM", "bad-cursor"), ("limit=0", "bad-limit"), ("sort=x", "unknown-parameter")] {
        let reply = api.get(&held, &format!("/api/v1/people/person-arthur/visits?{query}"));
        assert_eq!((reply.status, problem_type(&reply).as_str()), (400, slug), "{query}");
    }
}

#[test]
fn administrations_cover_a_period_in_pages() {
    let api = Api::new();
    api.seed_record("person-margaret", 0);
    let held = reader(&api, PROVIDER);
    let (seen, pages) = all_pages(&api, &held, "/api/v1/people/person-margaret/medication-administrations?limit=2");
    assert_eq!((seen.len(), pages), (3, 2));
    // 2026-11-19 08:00 and 2026-11-20 08:00 only.
    let period = api.get(&held, "/api/v1/people/person-margaret/medication-administrations?from=2026-11-19&to=2026-11-20T08:00:01Z");
    assert_eq!(ids(&period.body), ["adm-person-margaret-2", "adm-person-margaret-1"]);
    for (query, slug) in [
        ("from=yesterday", "bad-time"),
        ("from=2026-11-20&to=2026-11-19", "bad-period"),
        ("from=2026-01-01&to=2026-11-20", "bad-period"),
        ("cursor=abc", "bad-cursor"),
    ] {
        let reply = api.get(&held, &format!("/api/v1/people/person-margaret/medication-administrations?{query}"));
        assert_eq!((reply.status, problem_type(&reply).as_str()), (400, slug), "{query}");
    }
    let cursor_of_another_list = api.get(&api.credential(COUNCIL, &[Permission::RecordRead]), "/api/v1/people/person-margaret/contacts?limit=1");
    assert_eq!(cursor_of_another_list.status, 200);
}

#[test]
fn contacts_and_documents_page_and_refuse_each_others_cursors() {
    let api = Api::new();
    api.seed_record("person-arthur", 0);
    let held = reader(&api, COUNCIL);
    let (contacts, pages) = all_pages(&api, &held, "/api/v1/people/person-arthur/contacts?limit=2");
    assert_eq!((contacts.len(), pages), (3, 2));
    let (documents, pages) = all_pages(&api, &held, "/api/v1/people/person-arthur/documents?limit=1");
    assert_eq!((documents.len(), pages), (2, 2));
    let page = api.get(&held, "/api/v1/people/person-arthur/contacts?limit=1");
    let contacts_next = page.body["next"].as_str().unwrap();
    let cursor = contacts_next.split("cursor=").nth(1).unwrap();
    let reply = api.get(&held, &format!("/api/v1/people/person-arthur/documents?cursor={cursor}"));
    assert_eq!((reply.status, problem_type(&reply).as_str()), (400, "bad-cursor"));
}

#[test]
fn a_grant_given_opens_its_category_and_revoking_it_closes_it_at_once() {
    let api = Api::new();
    api.seed_record("person-margaret", 2);
    let held = reader(&api, PROVIDER);
    assert_eq!(api.get(&held, "/api/v1/people/person-margaret/visits").status, 404);
    let grant = api.grant("grant-visits", "person-margaret", PROVIDER, &[Category::VisitsAndNotes], Basis::Consent);
    assert_eq!(api.get(&held, "/api/v1/people/person-margaret/visits").status, 200);
    let revoked = Grant { revoked_at: Some(api.now.get()), ..grant };
    pollster::block_on(api.store().update_grant(&revoked, api.now.get(), None)).unwrap();
    assert_eq!(api.get(&held, "/api/v1/people/person-margaret/visits").status, 404);
    assert_eq!(api.get(&held, "/api/v1/people/person-margaret/medicines").status, 200, "the other grant still stands");
    assert_eq!(api.get(&held, &format!("/api/v1/people/person-margaret/medicines?x={}", paracetamol("x"))).status, 400);
}
