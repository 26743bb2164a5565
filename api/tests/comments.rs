//! Comments and correction requests through the API: listed for the people the organisation
//! supports, about the parts of the record it may see; answered with the version read (409 if
//! someone answered first), idempotently; refused answers write nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::comments::CommentStatus;
use carefront_shared::consent::{Action, Basis, Category};
use carefront_shared::credential::Permission;
use carefront_shared::store::VoiceStore;
use serde_json::{Value, json};
use support::{Api, COUNCIL, Held, OTHER_PROVIDER, PROVIDER, problem_type};

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

/// Finding 7 of issue 9: the council, holding only a statutory view of Olive's record, closed the
/// correction request Olive's provider was to answer. Seeing a comment is not leave to answer it.
#[test]
fn finding_7_a_view_only_organisation_cannot_answer_a_comment() {
    let api = api();
    // The council reviews Olive's care under its statutory duty (view only); Brookside may see
    // her care plan (view only); Riverside keeps it (view and contribute).
    api.grant_with("grant-olive-council", "person-olive", COUNCIL, &Category::ALL, &[Action::View], Basis::StatutoryDuty);
    api.grant_with("grant-olive-brookside", "person-olive", PROVIDER, &[Category::CarePlan], &[Action::View], Basis::Consent);
    let council = api.credential(COUNCIL, &[Permission::CommentsWrite]);
    let brookside = answerer(&api);
    let riverside = api.credential(OTHER_PROVIDER, &[Permission::CommentsWrite]);
    let path = "/api/v1/people/person-olive/comments/c-olive/answer";

    // Both may see the request…
    for held in [&council, &brookside] {
        assert!(ids(&api.get(held, "/api/v1/comments?status=open").body).contains(&"c-olive".to_owned()));
    }
    // …neither may answer it: 404, as for every write the caller may not make, and nothing is
    // written (no answer, no key, no log line).
    for (held, key) in [(&council, "council-closes"), (&brookside, "brookside-closes")] {
        let refused = api.post(held, path, Some(key), &answer(1, "declined"));
        assert_eq!(refused.status, 404, "{:#}", refused.body);
    }
    let stored = pollster::block_on(api.store().comment("person-olive", "c-olive")).unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (CommentStatus::Open, 1));
    assert_eq!(api.rows("SELECT 1 FROM api_idempotency_keys"), 0);
    assert!(!api.audit_actions("person-olive").contains(&"api.comment_answered".to_owned()));

    // The provider that keeps the care plan answers it.
    let answered = api.post(&riverside, path, Some("riverside-answers"), &answer(1, "corrected"));
    assert_eq!((answered.status, answered.body["respondedBy"].as_str()), (200, Some("Riverside Care")), "{:#}", answered.body);

    // The council answers under its statutory duty where its statutory grant lets it contribute
    // (the harness gives it view and contribute on Margaret's record).
    let plan = api.post(&council, "/api/v1/people/person-margaret/comments/c-plan/answer", Some("council-answers"), &answer(1, "answered"));
    assert_eq!((plan.status, plan.body["respondedBy"].as_str()), (200, Some("Northshire County Council")), "{:#}", plan.body);
}

/// Finding 7 of issue 9: the next answer overwrote the first, with no history. Every answer is
/// kept, oldest first, in the API's comment and in the store (which refuses to change one).
#[test]
fn finding_7_every_answer_is_kept_as_history() {
    let api = api();
    let brookside = answerer(&api);
    let council = api.credential(COUNCIL, &[Permission::CommentsWrite]);
    let path = "/api/v1/people/person-margaret/comments/c-plan/answer";
    let first = json!({ "version": 1, "status": "declined", "response": "The care plan is right as it is." });
    assert_eq!(api.post(&brookside, path, Some("first"), &first).status, 200);
    api.advance(chrono::Duration::hours(2));
    let second = json!({ "version": 2, "status": "corrected", "response": "After the review, we corrected it." });
    let reply = api.post(&council, path, Some("second"), &second);
    assert_eq!(reply.status, 200, "{:#}", reply.body);

    let answers = reply.body["answers"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str, i64)> = answers
        .iter()
        .map(|answer| {
            (
                answer["status"].as_str().unwrap(),
                answer["response"].as_str().unwrap(),
                answer["respondedBy"].as_str().unwrap(),
                answer["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("declined", "The care plan is right as it is.", "Brookside Home Care", 2),
            ("corrected", "After the review, we corrected it.", "Northshire County Council", 3)
        ]
    );
    assert_eq!(answers[0]["respondedAt"], "2026-11-21T09:00:00Z");
    assert_eq!(answers[1]["respondedAt"], "2026-11-21T11:00:00Z");
    // The latest is the comment's status; the list shows the history too.
    assert_eq!((reply.body["status"].as_str(), reply.body["respondedBy"].as_str()), (Some("corrected"), Some("Northshire County Council")));
    let listed = api.get(&brookside, "/api/v1/comments?status=corrected");
    assert_eq!(listed.body["items"][0]["answers"].as_array().map(Vec::len), Some(2), "{:#}", listed.body);

    // A stale answer adds nothing to the history.
    let stale = api.post(&brookside, path, Some("third"), &answer(1, "answered"));
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["current"]["answers"].as_array().map(Vec::len), Some(2));

    let kept = pollster::block_on(api.store().comment_answers("person-margaret")).unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!((kept[0].status, kept[1].status), (CommentStatus::Declined, CommentStatus::Corrected));
    // Append-only: an answer once kept cannot be changed or removed.
    assert!(pollster::block_on(carefront_shared::db::Database::execute(&api.db, "UPDATE comment_answers SET response = 'x'", &[])).is_err());
    assert!(pollster::block_on(carefront_shared::db::Database::execute(&api.db, "DELETE FROM comment_answers", &[])).is_err());
}
