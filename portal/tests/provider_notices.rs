//! What provider staff's changes tell people, through the router: a consent discussion written
//! down tells the person (and whoever acts for them) there is a conversation to confirm; an
//! answered comment tells its author once, by the channel they chose — and nobody who has no
//! way to be told gets a row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::{BTreeMap, BTreeSet};

use carefront_shared::comments::{Comment, CommentKind, CommentStatus};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::contact::Medium;
use carefront_shared::db::Database as _;
use carefront_shared::domain::{Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::outbox::{Channel, NotificationKind};
use carefront_shared::store::{PreferenceStore, Store, VoiceStore};
use chrono::Duration;
use pollster::block_on;
use support::{Holding, ORIGIN, Portal, ResidentSoftPasskey, text};

/// Margaret (person-1), Brookside's grant to her record, Priya on Brookside's staff, and Sam who
/// acts for Margaret.
struct World {
    margaret: Portal,
    priya: Portal,
}

fn world() -> World {
    let margaret = support::margaret_with_full_record();
    let store = margaret.store();
    let now = margaret.now.get();
    block_on(store.insert_grant(
        &Grant {
            id: "g-brookside".into(),
            version: 1,
            subject_id: "person-1".into(),
            grantee: Grantee::Organisation("org-care".into()),
            categories: [Category::CarePlan, Category::Medication].into_iter().collect::<BTreeSet<_>>(),
            actions: [Action::View, Action::Contribute].into_iter().collect::<BTreeSet<_>>(),
            act_for: false,
            purpose: "care and support".into(),
            starts_at: now - Duration::days(30),
            ends_at: None,
            basis: Basis::Consent,
            evidence: None,
            recorded_by: "council".into(),
            revoked_at: None,
        },
        now,
        None,
    ))
    .unwrap();
    block_on(store.insert_person(&Person {
        id: "staff-priya".into(),
        role: Role::ProviderStaff,
        display_name: "Priya Shah".into(),
        organisation_id: Some("org-care".into()),
        webauthn_handle: uuid::Uuid::from_u128(781),
        created_at: now,
    }))
    .unwrap();
    let (invitation, code) = invitation::issue("staff-priya", None, now, DEFAULT_LIFETIME, &margaret.random);
    block_on(store.insert_invitation(&invitation)).unwrap();
    let priya = margaret.other_browser(81);
    assert_eq!(priya.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    support::representative(&margaret, "person-sam", "Sam Okafor", Holding { categories: &[Category::CarePlan], actions: &[Action::View], act_for: true }, 82);
    World { margaret, priya }
}

/// Confirms `address` as `person`'s `medium`.
fn reachable(portal: &Portal, person: &str, medium: Medium, address: &str) {
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.start_contact_check(person, medium, address, "hash", now + Duration::minutes(30), now)).unwrap();
    block_on(store.confirm_contact(person, medium, "hash", now)).unwrap();
}

fn post(browser: &Portal, path: &str, fields: &[(&str, &str)]) -> carefront_portal::Response {
    let csrf = browser.csrf_from("/home");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form(path, &all)
}

/// Each queued message of `kind`: the person told, the channel, the recipient, its placeholders.
fn told(portal: &Portal, kind: NotificationKind) -> Vec<(String, String, String, BTreeMap<String, String>)> {
    block_on(portal.db.query(
        "SELECT person_id, channel, recipient, personalisation, subject_id FROM notifications WHERE kind = ?1 ORDER BY person_id",
        &[kind.as_str().into()],
    ))
    .unwrap()
    .iter()
    .map(|row| {
        assert_eq!(row.text(4).unwrap(), "person-1", "about Margaret's record");
        (row.text(0).unwrap(), row.text(1).unwrap(), row.text(2).unwrap(), serde_json::from_str(&row.text(3).unwrap()).unwrap())
    })
    .collect()
}

fn all_rows(portal: &Portal) -> usize {
    block_on(portal.db.query("SELECT id FROM notifications", &[])).unwrap().len()
}

const DISCUSSION: &[(&str, &str)] = &[
    ("held-on-day", "21"),
    ("held-on-month", "11"),
    ("held-on-year", "2026"),
    ("method", "home_visit"),
    ("person-present", "yes"),
    ("representative-name", "Sam Okafor"),
    ("representative-role", "family"),
    ("other-name", ""),
    ("other-role", "interpreter"),
    ("covered", "electronic_records"),
    ("covered", "who_can_see"),
    ("choice", "portal"),
    ("notes", "Sam may see the care plan."),
    ("persons-words", "Sam helps me with the paperwork."),
];

#[test]
fn a_discussion_written_down_tells_margaret_and_sam_who_acts_for_her() {
    let world = world();
    reachable(&world.margaret, "person-1", Medium::Phone, "07700 900 001");
    reachable(&world.margaret, "person-sam", Medium::Email, "sam@example.org");
    let response = post(&world.priya, "/provider/people/person-1/discussions/new", DISCUSSION);
    assert_eq!(response.status(), 303, "{}", text(&response));
    let told = told(&world.margaret, NotificationKind::DiscussionToConfirm);
    let who: Vec<(&str, &str, &str)> = told.iter().map(|(person, channel, recipient, _)| (person.as_str(), channel.as_str(), recipient.as_str())).collect();
    assert_eq!(who, [("person-1", "sms", "07700 900 001"), ("person-sam", "email", "sam@example.org")]);
    let link = format!("{ORIGIN}/people/person-1/discussions");
    let expected = BTreeMap::from([("provider".to_owned(), "Brookside".to_owned()), ("link".to_owned(), link)]);
    assert!(told.iter().all(|(.., personalisation)| *personalisation == expected), "the provider's name and a link, nothing decided: {told:?}");
    // The link leads Sam to the page where he can confirm it for Margaret.
    assert_eq!(all_rows(&world.margaret), 2);
}

#[test]
fn bad_discussion_input_queues_nothing_and_nobody_reachable_gets_no_row() {
    let world = world();
    reachable(&world.margaret, "person-1", Medium::Phone, "07700 900 001");
    let bad: Vec<(&str, &str)> = DISCUSSION.iter().copied().filter(|(name, _)| *name != "persons-words").collect();
    assert_eq!(post(&world.priya, "/provider/people/person-1/discussions/new", &bad).status(), 400);
    assert_eq!(all_rows(&world.margaret), 0, "a refused form writes no message");
    // Another provider's person is not found, and nobody is told.
    assert_eq!(post(&world.priya, "/provider/people/person-2/discussions/new", DISCUSSION).status(), 404);
    assert_eq!(all_rows(&world.margaret), 0);
    // Sam has no confirmed address: the discussion is kept, and only Margaret is told.
    assert_eq!(post(&world.priya, "/provider/people/person-1/discussions/new", DISCUSSION).status(), 303);
    let told = told(&world.margaret, NotificationKind::DiscussionToConfirm);
    assert_eq!(told.iter().map(|(person, ..)| person.as_str()).collect::<Vec<_>>(), ["person-1"]);
}

fn comment_by(portal: &Portal, id: &str, author: &str, author_name: &str) {
    block_on(portal.store().insert_comment(&Comment {
        id: id.into(),
        person_id: "person-1".into(),
        category: Category::CarePlan,
        entry_id: None,
        entry_label: String::new(),
        kind: CommentKind::Correction,
        body: "I walk to the shop on my own now.".into(),
        author_id: author.into(),
        author_name: author_name.into(),
        acting_for: (author != "person-1").then(|| "person-1".into()),
        created_at: portal.now.get() - Duration::minutes(30),
        status: CommentStatus::Open,
        response: None,
        responded_by: None,
        responded_at: None,
        version: 1,
    }))
    .unwrap();
}

#[test]
fn an_answered_comment_tells_its_author_once_by_the_channel_they_chose() {
    let world = world();
    reachable(&world.margaret, "person-1", Medium::Phone, "07700 900 001");
    reachable(&world.margaret, "person-1", Medium::Email, "margaret@example.org");
    let choice = BTreeMap::from([(NotificationKind::CommentAnswered, BTreeSet::from([Channel::Email]))]);
    block_on(world.margaret.store().save_notification_choices("person-1", &choice, world.margaret.now.get())).unwrap();
    comment_by(&world.margaret, "c-plan", "person-1", "Margaret Okafor");
    let path = "/provider/people/person-1/comments/c-plan/answer";
    let answered = post(&world.priya, path, &[("version", "1"), ("status", "corrected"), ("response", "Your care plan now says so.")]);
    assert_eq!(answered.status(), 303, "{}", text(&answered));
    let told = told(&world.margaret, NotificationKind::CommentAnswered);
    assert_eq!(told.len(), 1, "{told:?}");
    let (person, channel, recipient, personalisation) = &told[0];
    assert_eq!((person.as_str(), channel.as_str(), recipient.as_str()), ("person-1", "email", "margaret@example.org"), "by email, as she chose");
    assert_eq!(personalisation.get("link").cloned(), Some(format!("{ORIGIN}/people/person-1/comments")));
    // A stale second answer is refused and tells nobody again.
    assert_eq!(post(&world.priya, path, &[("version", "1"), ("status", "declined"), ("response", "Sorry.")]).status(), 409);
    assert_eq!(all_rows(&world.margaret), 1);
}

#[test]
fn an_answered_comment_whose_author_cannot_be_told_queues_nothing() {
    let world = world();
    // Sam wrote it for Margaret; he has no confirmed email, phone or letter address.
    comment_by(&world.margaret, "c-sam", "person-sam", "Sam Okafor");
    reachable(&world.margaret, "person-1", Medium::Phone, "07700 900 001");
    let path = "/provider/people/person-1/comments/c-sam/answer";
    let answered = post(&world.priya, path, &[("version", "1"), ("status", "answered"), ("response", "Thank you, noted.")]);
    assert_eq!(answered.status(), 303, "{}", text(&answered));
    assert_eq!(all_rows(&world.margaret), 0, "Margaret did not write it; Sam cannot be reached");
    assert_eq!(block_on(world.margaret.store().comment("person-1", "c-sam")).unwrap().unwrap().status, CommentStatus::Answered);
}
