//! What a provider's system tells people through the API: a consent discussion recorded tells
//! the person (and whoever acts for them) there is a conversation to confirm — once, however
//! often the request is retried; an answered comment tells its author once, by the channel they
//! chose, and nobody who has no way to be told gets a row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::{BTreeMap, BTreeSet};

use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::contact::Medium;
use carefront_shared::credential::Permission;
use carefront_shared::db::Database;
use carefront_shared::outbox::{Channel, NotificationKind};
use carefront_shared::store::{PreferenceStore, Store};
use chrono::Duration;
use pollster::block_on;
use serde_json::json;
use support::{Api, PROVIDER};

const DISCUSSIONS: &str = "/api/v1/people/person-margaret/consent-discussions";

fn reachable(api: &Api, person: &str, medium: Medium, address: &str) {
    let now = api.now.get();
    block_on(api.store().start_contact_check(person, medium, address, "hash", now + Duration::minutes(30), now)).unwrap();
    block_on(api.store().confirm_contact(person, medium, "hash", now)).unwrap();
}

/// Priya, who acts for Margaret under a lasting power of attorney.
fn priya_acts_for_margaret(api: &Api) {
    api.person("person-priya", "Priya Shah");
    let now = api.now.get();
    let grant = Grant {
        id: "grant-priya".into(),
        version: 1,
        subject_id: "person-margaret".into(),
        grantee: Grantee::Person("person-priya".into()),
        categories: Category::ALL.into_iter().collect(),
        actions: [Action::View].into_iter().collect(),
        act_for: true,
        purpose: "to act for her".into(),
        starts_at: now - Duration::days(1),
        ends_at: None,
        basis: Basis::LastingPowerOfAttorney,
        evidence: Some("LPA registered 2025".into()),
        recorded_by: "person-margaret".into(),
        revoked_at: None,
    };
    block_on(api.store().insert_grant(&grant, now, None)).unwrap();
}

/// The queued messages of `kind`: person told, channel, placeholders.
fn told(api: &Api, kind: NotificationKind) -> Vec<(String, String, BTreeMap<String, String>)> {
    block_on(api.db.query("SELECT person_id, channel, personalisation FROM notifications WHERE kind = ?1 ORDER BY person_id", &[kind.as_str().into()]))
        .unwrap()
        .iter()
        .map(|row| (row.text(0).unwrap(), row.text(1).unwrap(), serde_json::from_str(&row.text(2).unwrap()).unwrap()))
        .collect()
}

fn discussion() -> serde_json::Value {
    json!({
        "heldOn": "2026-11-20",
        "method": "home_visit",
        "participants": [{ "role": "person", "name": "Margaret Okafor" }, { "role": "staff", "name": "Jo Adeyemi" }],
        "covered": ["electronic_records", "who_can_see"],
        "decisions": "Records kept in carefront.",
        "personsWords": "That suits me.",
    })
}

#[test]
fn a_recorded_discussion_tells_margaret_and_whoever_acts_for_her_once() {
    let api = Api::new();
    priya_acts_for_margaret(&api);
    reachable(&api, "person-margaret", Medium::Phone, "07700 900 001");
    reachable(&api, "person-priya", Medium::Email, "priya@example.org");
    let held = api.credential(PROVIDER, &[Permission::ConsentDiscussionsWrite]);
    let reply = api.post(&held, DISCUSSIONS, Some("discussion-1"), &discussion());
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    let told = told(&api, NotificationKind::DiscussionToConfirm);
    let who: Vec<(&str, &str)> = told.iter().map(|(person, channel, _)| (person.as_str(), channel.as_str())).collect();
    assert_eq!(who, [("person-margaret", "sms"), ("person-priya", "email")]);
    let expected = BTreeMap::from([
        ("provider".to_owned(), "Brookside Home Care".to_owned()),
        ("link".to_owned(), "http://localhost:8787/people/person-margaret/discussions".to_owned()),
    ]);
    assert!(told.iter().all(|(.., personalisation)| *personalisation == expected), "{told:?}");
    // The system retries (the answer was lost): the same discussion, and no second message.
    let retry = api.post(&held, DISCUSSIONS, Some("discussion-1"), &discussion());
    assert_eq!(retry.status, 200, "{:#}", retry.body);
    assert_eq!(api.rows("SELECT id FROM notifications"), 2);
}

#[test]
fn a_refused_discussion_queues_nothing_and_an_unreachable_person_gets_no_row() {
    let api = Api::new();
    reachable(&api, "person-margaret", Medium::Phone, "07700 900 001");
    let held = api.credential(PROVIDER, &[Permission::ConsentDiscussionsWrite]);
    let mut bad = discussion();
    bad["personsWords"] = json!("");
    assert_eq!(api.post(&held, DISCUSSIONS, Some("discussion-bad"), &bad).status, 422);
    assert_eq!(api.post(&held, "/api/v1/people/person-olive/consent-discussions", Some("discussion-olive"), &discussion()).status, 404);
    assert_eq!(api.rows("SELECT id FROM notifications"), 0);
    // Arthur has no confirmed address and no letter address: recorded, nobody told.
    let arthur = api.post(&held, "/api/v1/people/person-arthur/consent-discussions", Some("discussion-arthur"), &discussion());
    assert_eq!(arthur.status, 201, "{:#}", arthur.body);
    assert_eq!(api.rows("SELECT id FROM notifications"), 0);
}

fn answer(version: i64) -> serde_json::Value {
    json!({ "version": version, "status": "corrected", "response": "Thank you. We have corrected the care plan." })
}

#[test]
fn an_answered_comment_tells_its_author_once_by_the_channel_they_chose() {
    let api = Api::new();
    api.seed_comment("person-margaret", "c-plan", Category::CarePlan, 1);
    reachable(&api, "person-margaret", Medium::Phone, "07700 900 001");
    reachable(&api, "person-margaret", Medium::Email, "margaret@example.org");
    let choice = BTreeMap::from([(NotificationKind::CommentAnswered, BTreeSet::from([Channel::Sms]))]);
    block_on(api.store().save_notification_choices("person-margaret", &choice, api.now.get())).unwrap();
    let held = api.credential(PROVIDER, &[Permission::CommentsWrite]);
    let path = "/api/v1/people/person-margaret/comments/c-plan/answer";
    let reply = api.post(&held, path, Some("answer-1"), &answer(1));
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let told = told(&api, NotificationKind::CommentAnswered);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!((told[0].0.as_str(), told[0].1.as_str()), ("person-margaret", "sms"), "by text, as she chose");
    assert_eq!(told[0].2.get("link").map(String::as_str), Some("http://localhost:8787/people/person-margaret/comments"));
    // A retry of the same answer and a stale answer tell nobody again.
    assert_eq!(api.post(&held, path, Some("answer-1"), &answer(1)).status, 200);
    assert_eq!(api.post(&held, path, Some("answer-2"), &answer(1)).status, 409);
    assert_eq!(api.rows("SELECT id FROM notifications"), 1);
}

#[test]
fn an_answered_comment_whose_author_cannot_be_told_queues_nothing() {
    let api = Api::new();
    api.seed_comment("person-arthur", "c-arthur", Category::Medication, 1);
    let held = api.credential(PROVIDER, &[Permission::CommentsWrite]);
    let reply = api.post(&held, "/api/v1/people/person-arthur/comments/c-arthur/answer", Some("answer-1"), &answer(1));
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(api.rows("SELECT id FROM notifications"), 0);
}
