//! Comments and correction requests through the API: listed for the people the organisation
//! supports, about the parts of the record it may see; answered with the version read (409 if
//! someone answered first), idempotently; refused answers write nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::comments::CommentStatus;
use carefront_shared::consent::Category;
use carefront_shared::credential::Permission;
use carefront_shared::store::VoiceStore;
use serde_json::{Value, json};
use support::{Api, Held, PROVIDER, problem_type};

fn api() -> Api {
    let api = Api::new();
    api.seed_comment("person-margaret", "c-plan", Category::CarePlan, 1);
    api.seed_comment("person-margaret", "c-visits", Category::VisitsAndNotes, 2);
    api.seed_comment("person-arthur", "c-medicines", Category::Medication, 3);
    api.seed_comment("person-olive", "c-olive", Category::CarePlan, 4);
    api
}

fn answerer(api: &Api) -> Held {
    api.credential(PROVIDER, &[Permission::CommentsWrite])
}

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

fn answer(version: i64, status: &str) -> Value {
    json!({ "version": version, "status": status, "response": "Thank you. We have corrected the care plan." })
}

#[test]
fn open_comments_on_what_the_organisation_may_see() {
    let api = api();
    let held = answerer(&api);
    let reply = api.get(&held, "/api/v1/comments?status=open");
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    // Not Margaret's visits comment (no grant on visits), not Olive's (another provider's).
    assert_eq!(ids(&reply.body), ["c-medicines", "c-plan"], "newest first");
    let first = &reply.body["items"][1];
    assert_eq!((first["personId"].as_str(), first["kind"].as_str(), first["version"].as_i64()), (Some("person-margaret"), Some("correction"), Some(1)));
    assert_eq!(first["answerHref"], "/api/v1/people/person-margaret/comments/c-plan/answer");
    assert!(api.audit_actions("person-margaret").contains(&"api.comments_read".to_owned()));
    assert!(api.audit_actions("person-olive").is_empty());

    let paged = api.get(&held, "/api/v1/comments?status=open&limit=1");
    assert_eq!(ids(&paged.body), ["c-medicines"]);
    let next = paged.body["next"].as_str().unwrap();
    assert!(next.starts_with("/api/v1/comments?status=open&limit=1&cursor="), "{next}");
    assert_eq!(ids(&api.get(&held, next).body), ["c-plan"]);
    assert_eq!(problem_type(&api.get(&held, "/api/v1/comments?status=closed")), "bad-status");
}

#[test]
fn a_comment_is_answered_and_the_person_sees_the_answer() {
    let api = api();
    let held = answerer(&api);
    let path = "/api/v1/people/person-margaret/comments/c-plan/answer";
    let reply = api.post(&held, path, Some("answer-1"), &answer(1, "corrected"));
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!((reply.body["status"].as_str(), reply.body["version"].as_i64()), (Some("corrected"), Some(2)));
    assert_eq!(reply.body["respondedBy"], "Brookside Home Care");
    let stored = pollster::block_on(api.store().comment("person-margaret", "c-plan")).unwrap().unwrap();
    assert_eq!((stored.status, stored.response.as_deref()), (CommentStatus::Corrected, Some("Thank you. We have corrected the care plan.")));
    assert!(api.audit_actions("person-margaret").contains(&"api.comment_answered".to_owned()));

    // The retry (the answer was lost on the way back) gets the answer again, not a conflict.
    let retry = api.post(&held, path, Some("answer-1"), &answer(1, "corrected"));
    assert_eq!((retry.status, retry.headers.get("idempotent-replayed").map(|value| value.to_str().unwrap())), (200, Some("true")));
    assert_eq!(retry.body["version"], 2);

    // An answer to the old version with a new key: someone answered first.
    let stale = api.post(&held, path, Some("answer-2"), &answer(1, "declined"));
    assert_eq!((stale.status, problem_type(&stale).as_str()), (409, "version-conflict"), "{:#}", stale.body);
    assert_eq!(stale.body["current"]["status"], "corrected");
    assert_eq!(stale.body["current"]["version"], 2);
    let fresh = api.post(&held, path, Some("answer-3"), &answer(2, "answered"));
    assert_eq!((fresh.status, fresh.body["version"].as_i64()), (200, Some(3)));
    assert!(ids(&api.get(&held, "/api/v1/comments?status=open").body) == ["c-medicines"]);
}

#[test]
fn answers_are_checked_and_only_for_comments_the_organisation_may_see() {
    let api = api();
    let held = answerer(&api);
    for path in [
        "/api/v1/people/person-margaret/comments/c-visits/answer",
        "/api/v1/people/person-olive/comments/c-olive/answer",
        "/api/v1/people/person-margaret/comments/c-nothing/answer",
        "/api/v1/people/person-margaret/comments/c-medicines/answer",
    ] {
        assert_eq!(api.post(&held, path, Some(path), &answer(1, "answered")).status, 404, "{path}");
    }
    let path = "/api/v1/people/person-margaret/comments/c-plan/answer";
    let still_open = api.post(&held, path, Some("k1"), &json!({ "version": 1, "status": "open", "response": " " }));
    assert_eq!((still_open.status, problem_type(&still_open).as_str()), (422, "invalid-fields"));
    let names: Vec<&str> = still_open.body["invalid-params"].as_array().unwrap().iter().map(|param| param["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["status", "response"]);
    let schema = api.post(&held, path, Some("k2"), &json!({ "version": "one", "status": "answered" }));
    assert_eq!((schema.status, problem_type(&schema).as_str()), (400, "invalid-body"));
    assert_eq!(api.post(&held, path, None, &answer(1, "answered")).status, 400);
    let reader = api.credential(PROVIDER, &[Permission::RecordRead]);
    assert_eq!(api.post(&reader, path, Some("k3"), &answer(1, "answered")).status, 403);
    let stored = pollster::block_on(api.store().comment("person-margaret", "c-plan")).unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (CommentStatus::Open, 1), "nothing written");
}
