//! Consent discussions through the API: recorded by a provider for a person it supports (404
//! otherwise), idempotently, checked field by field; read back — per person and for the whole
//! organisation, by status — with the person's answer, and only the organisation's own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::Grant;
use carefront_shared::credential::Permission;
use carefront_shared::discussion::Status;
use carefront_shared::store::{DiscussionStore, Store};
use serde_json::{Value, json};
use support::{Api, Held, OTHER_PROVIDER, PROVIDER, problem_type};

const MARGARET: &str = "/api/v1/people/person-margaret/consent-discussions";

fn writer(api: &Api) -> Held {
    api.credential(PROVIDER, &[Permission::ConsentDiscussionsWrite])
}

fn discussion() -> Value {
    json!({
        "heldOn": "2026-11-20",
        "method": "home_visit",
        "participants": [{ "role": "person", "name": "Margaret Okafor" }, { "role": "family", "name": "Sam Okafor" }, { "role": "staff", "name": "Priya Shah" }],
        "covered": ["electronic_records", "paper_records", "who_can_see", "changing_their_mind"],
        "decisions": "Records kept in carefront; a paper copy stays at home; Sam sees medicines.",
        "personsWords": "I want Sam to keep an eye on my tablets, but nothing else.",
    })
}

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_provider_records_a_discussion_and_sees_the_persons_answer() {
    let api = Api::new();
    let held = writer(&api);
    let reply = api.post(&held, MARGARET, Some("discussion-1"), &discussion());
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["status"], "awaiting");
    assert_eq!(reply.body["answeredBy"], Value::Null);
    assert_eq!(reply.body["participants"][1], json!({ "role": "family", "name": "Sam Okafor" }));
    assert_eq!(reply.body["personsWords"], "I want Sam to keep an eye on my tablets, but nothing else.");
    let id = reply.body["id"].as_str().unwrap().to_owned();

    // The person sees it in their portal (the store the portal reads) and disputes it.
    let stored = pollster::block_on(api.store().discussion("person-margaret", &id)).unwrap().unwrap();
    assert_eq!(stored.recorded_by, format!("credential:{}", held.key_id));
    pollster::block_on(api.store().answer_discussion(
        "person-margaret",
        &id,
        1,
        Status::Disputed,
        Some("Sam should not see my medicines."),
        "person-margaret",
        None,
        api.now.get(),
    ))
    .unwrap();

    let listed = api.get(&held, MARGARET);
    assert_eq!(listed.status, 200, "{:#}", listed.body);
    assert_eq!(listed.body["items"][0]["status"], "disputed");
    assert_eq!(listed.body["items"][0]["response"], "Sam should not see my medicines.");
    assert_eq!(listed.body["items"][0]["answeredBy"], "person");
    let disputed = api.get(&held, "/api/v1/consent-discussions?status=disputed");
    assert_eq!(ids(&disputed.body), [id.as_str()]);
    assert!(ids(&api.get(&held, "/api/v1/consent-discussions?status=confirmed").body).is_empty());
    let actions = api.audit_actions("person-margaret");
    for action in ["api.consent_discussion_recorded", "api.consent_discussions_read"] {
        assert!(actions.contains(&action.to_owned()), "{action}: {actions:?}");
    }
}

#[test]
fn a_retried_discussion_is_kept_once_and_a_reused_key_is_refused() {
    let api = Api::new();
    let held = writer(&api);
    let first = api.post(&held, MARGARET, Some("discussion-1"), &discussion());
    let second = api.post(&held, MARGARET, Some("discussion-1"), &discussion());
    assert_eq!((first.status, second.status), (201, 200));
    assert_eq!(first.body, second.body);
    let mut other = discussion();
    other["personsWords"] = "Something else".into();
    let reused = api.post(&held, MARGARET, Some("discussion-1"), &other);
    assert_eq!((reused.status, problem_type(&reused).as_str()), (422, "idempotency-key-reused"));
    let requests = (0..10).map(|_| api.signed_post(&held, MARGARET, Some("discussion-2"), &discussion())).collect();
    let replies = api.call_concurrently(requests);
    assert!(replies.iter().all(|reply| reply.status == 200 || reply.status == 201), "{:?}", replies.iter().map(|reply| &reply.body).collect::<Vec<_>>());
    assert_eq!(api.rows("SELECT 1 FROM consent_discussions"), 2, "one per key");
}

#[test]
fn a_discussion_must_include_the_person_a_topic_and_their_words() {
    let api = Api::new();
    let held = writer(&api);
    let mut wrong = discussion();
    wrong["heldOn"] = "2026-12-25".into();
    let reply = api.post(&held, MARGARET, Some("k1"), &wrong);
    assert_eq!((reply.status, problem_type(&reply).as_str()), (422, "invalid-fields"));
    assert_eq!(reply.body["invalid-params"][0]["name"], "heldOn");
    let mut staff_only = discussion();
    staff_only["participants"] = json!([{ "role": "staff", "name": "Priya" }]);
    assert_eq!(api.post(&held, MARGARET, Some("k2"), &staff_only).body["invalid-params"][0]["name"], "participants");
    let mut silent = discussion();
    silent["personsWords"] = " ".into();
    assert_eq!(api.post(&held, MARGARET, Some("k3"), &silent).body["invalid-params"][0]["name"], "personsWords");
    let mut schema = discussion();
    schema["method"] = "carrier_pigeon".into();
    schema["participants"] = json!([{ "role": "person", "name": "M", "age": 80 }]);
    schema["held_on"] = "2026-11-20".into();
    let reply = api.post(&held, MARGARET, Some("k4"), &schema);
    assert_eq!((reply.status, problem_type(&reply).as_str()), (400, "invalid-body"), "{:#}", reply.body);
    let names: Vec<&str> = reply.body["invalid-params"].as_array().unwrap().iter().map(|param| param["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["held_on", "method", "participants"]);
    assert_eq!(api.rows("SELECT 1 FROM consent_discussions"), 0);
}

#[test]
fn only_people_the_organisation_supports_and_only_its_own_discussions() {
    let api = Api::new();
    let held = writer(&api);
    for person in ["person-olive", "person-nobody"] {
        let reply = api.post(&held, &format!("/api/v1/people/{person}/consent-discussions"), Some(person), &discussion());
        assert_eq!(reply.status, 404, "{person}");
        assert_eq!(api.get(&held, &format!("/api/v1/people/{person}/consent-discussions")).status, 404);
    }
    api.seed_discussion("person-olive", OTHER_PROVIDER, "d-olive", 3);
    api.seed_discussion("person-margaret", OTHER_PROVIDER, "d-other-margaret", 3);
    api.seed_discussion("person-margaret", PROVIDER, "d-ours-old", 30);
    api.seed_discussion("person-arthur", PROVIDER, "d-ours-arthur", 2);
    assert_eq!(ids(&api.get(&held, MARGARET).body), ["d-ours-old"], "not another provider's discussion with the same person");
    assert_eq!(ids(&api.get(&held, "/api/v1/consent-discussions").body), ["d-ours-arthur", "d-ours-old"]);
    assert_eq!(ids(&api.get(&held, "/api/v1/consent-discussions?since=2026-11-01").body), ["d-ours-arthur"]);

    // When Arthur's grant ends, his discussions leave the organisation's list.
    let mut grants = pollster::block_on(api.store().grants_for_subject("person-arthur")).unwrap();
    let ours = grants.iter_mut().find(|grant| grant.id == "grant-person-arthur-provider").unwrap();
    let revoked = Grant { revoked_at: Some(api.now.get()), ..ours.clone() };
    pollster::block_on(api.store().update_grant(&revoked, api.now.get(), None)).unwrap();
    assert_eq!(ids(&api.get(&held, "/api/v1/consent-discussions").body), ["d-ours-old"]);

    for (query, slug) in [("status=happy", "bad-status"), ("since=last-week", "bad-date"), ("limit=500", "bad-limit")] {
        let reply = api.get(&held, &format!("/api/v1/consent-discussions?{query}"));
        assert_eq!((reply.status, problem_type(&reply).as_str()), (400, slug), "{query}");
    }
    let no_permission = api.credential(PROVIDER, &[Permission::PeopleRead]);
    assert_eq!(api.get(&no_permission, "/api/v1/consent-discussions").status, 403);
}

#[test]
fn the_organisations_discussions_come_in_pages() {
    let api = Api::new();
    let held = writer(&api);
    for day in 0..5 {
        api.seed_discussion("person-margaret", PROVIDER, &format!("d-{day}"), day);
    }
    let first = api.get(&held, "/api/v1/consent-discussions?status=awaiting&limit=2");
    assert_eq!(ids(&first.body), ["d-0", "d-1"]);
    let next = first.body["next"].as_str().unwrap();
    assert!(next.starts_with("/api/v1/consent-discussions?status=awaiting&since="), "{next}");
    let second = api.get(&held, next);
    assert_eq!(ids(&second.body), ["d-2", "d-3"]);
    let third = api.get(&held, second.body["next"].as_str().unwrap());
    assert_eq!((ids(&third.body), &third.body["next"]), (vec!["d-4".to_owned()], &Value::Null));
}
