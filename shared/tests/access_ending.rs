//! "Access ending in 14 days" in the store: the scheduled scan finds the live grants whose end is
//! near with one read on its index, tells both sides once per version of a grant (two scans,
//! one row each; an extension, a new row), and tells nobody of a grant ending in 15 days, one
//! already ended, one revoked, or at night.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeMap;

use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::contact::Medium;
use carefront_shared::db::Database;
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::notices::ending::{self, queue_access_ending};
use carefront_shared::outbox::{Channel, Notification, NotificationKind};
use carefront_shared::random::SeededRandom;
use carefront_shared::store::{OutboxStore, PreferenceStore, SqlStore, Store, time_text};
use chrono::{DateTime, Duration, Utc};
use pollster::block_on;

const MARGARET: &str = "person-margaret";
const SAM: &str = "person-sam";
const PRIYA: &str = "person-priya";
const PROVIDER: &str = "org-provider";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
}

/// 10am in London, winter.
fn now() -> DateTime<Utc> {
    at("2026-11-21T10:00:00Z")
}

fn origin() -> url::Url {
    url::Url::parse("https://care.example/").unwrap()
}

/// Margaret (told by text), Sam her son (by email) and Priya who acts for her (by text), and a
/// provider.
fn people(store: &SqlStore<'_>) {
    let random = SeededRandom::new(3);
    for (id, name) in [(MARGARET, "Margaret Okafor"), (SAM, "Sam Okafor"), (PRIYA, "Priya Shah")] {
        let role = if id == MARGARET { Role::ServiceUser } else { Role::Representative };
        let person = Person {
            id: id.into(),
            role,
            display_name: name.into(),
            organisation_id: None,
            webauthn_handle: carefront_shared::random::new_uuid(&random),
            created_at: now(),
        };
        block_on(store.insert_person(&person)).unwrap();
    }
    block_on(store.insert_organisation(&Organisation {
        id: PROVIDER.into(),
        kind: OrganisationKind::Provider,
        name: "Brookside Home Care".into(),
        created_at: now(),
    }))
    .unwrap();
    for (id, medium, address) in [(MARGARET, Medium::Phone, "07700 900 001"), (SAM, Medium::Email, "sam@example.org"), (PRIYA, Medium::Phone, "07700 900 003")]
    {
        block_on(store.start_contact_check(id, medium, address, "hash", now() + Duration::minutes(30), now())).unwrap();
        block_on(store.confirm_contact(id, medium, "hash", now())).unwrap();
    }
}

fn grant(id: &str, grantee: Grantee, ends_at: Option<DateTime<Utc>>, act_for: bool) -> Grant {
    Grant {
        id: id.into(),
        version: 1,
        subject_id: MARGARET.into(),
        grantee,
        categories: [Category::Medication].into_iter().collect(),
        actions: [Action::View].into_iter().collect(),
        act_for,
        purpose: "to help".into(),
        starts_at: now() - Duration::days(30),
        ends_at,
        basis: Basis::Consent,
        evidence: None,
        recorded_by: MARGARET.into(),
        revoked_at: None,
    }
}

/// Margaret's store with Priya acting for her (no end).
fn store_with_representative(db: &NativeDatabase) -> SqlStore<'_> {
    let store = SqlStore::new(db);
    people(&store);
    block_on(store.insert_grant(&grant("grant-priya", Grantee::Person(PRIYA.into()), None, true), now(), None)).unwrap();
    store
}

fn scan(store: &SqlStore<'_>, now: DateTime<Utc>) -> usize {
    block_on(queue_access_ending(store, &origin(), now, &SeededRandom::new(9))).unwrap()
}

/// Each queued row: id, person told, channel, and its personalisation.
fn rows(db: &NativeDatabase) -> Vec<(String, String, String, BTreeMap<String, String>)> {
    block_on(db.query("SELECT id, person_id, channel, personalisation, kind, subject_id FROM notifications ORDER BY id", &[]))
        .unwrap()
        .iter()
        .map(|row| {
            assert_eq!(row.text(4).unwrap(), "access_ending");
            assert_eq!(row.text(5).unwrap(), MARGARET);
            (row.text(0).unwrap(), row.text(1).unwrap(), row.text(2).unwrap(), serde_json::from_str(&row.text(3).unwrap()).unwrap())
        })
        .collect()
}

#[test]
fn two_scans_queue_each_side_of_an_ending_grant_once() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = store_with_representative(&db);
    block_on(store.insert_grant(&grant("grant-sam", Grantee::Person(SAM.into()), Some(at("2026-12-01T23:59:59Z")), false), now(), None)).unwrap();
    assert_eq!(scan(&store, now()), 3);
    assert_eq!(scan(&store, now() + Duration::hours(1)), 0, "the second scan finds every notice already queued");
    let rows = rows(&db);
    let told: Vec<(&str, &str, &str)> = rows.iter().map(|(id, person, channel, _)| (id.as_str(), person.as_str(), channel.as_str())).collect();
    assert_eq!(
        told,
        [
            ("ending-grant-sam-1-person-margaret-sms", MARGARET, "sms"),
            ("ending-grant-sam-1-person-priya-sms", PRIYA, "sms"),
            ("ending-grant-sam-1-person-sam-email", SAM, "email"),
        ]
    );
    let words = |index: usize, key: &str| rows[index].3.get(key).cloned().unwrap_or_default();
    assert_eq!(words(0, "access"), "Sam Okafor's access to your information");
    assert_eq!(words(0, "name"), "Sam Okafor");
    assert_eq!(words(0, "ends"), "1 December 2026");
    assert_eq!(words(0, "link"), "https://care.example/access");
    assert_eq!(words(1, "access"), "Sam Okafor's access to Margaret Okafor's information");
    assert_eq!(words(1, "link"), "https://care.example/people/person-margaret/access");
    assert_eq!(words(2, "access"), "Your access to Margaret Okafor's information");
    assert_eq!(words(2, "name"), "Margaret Okafor");
    assert_eq!(words(2, "link"), "https://care.example/home");
    assert_eq!(rows[0].3.keys().collect::<Vec<_>>(), ["access", "ends", "link", "name"], "names, a date and a link: no care detail");
}

#[test]
fn a_second_insert_of_the_same_notice_id_is_ignored() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&db);
    let notice = Notification::queued("ending-g-1-p-sms".into(), NotificationKind::AccessEnding, Channel::Sms, "07700 900 001".into(), BTreeMap::new(), now());
    assert!(block_on(store.queue_notification_once(&notice)).unwrap());
    let changed = Notification { recipient: "07700 900 999".into(), ..notice.clone() };
    assert!(!block_on(store.queue_notification_once(&changed)).unwrap(), "the racing sweep's insert does nothing");
    let recipient = block_on(db.query("SELECT recipient FROM notifications", &[])).unwrap();
    assert_eq!(recipient.len(), 1);
    assert_eq!(recipient[0].text(0).unwrap(), "07700 900 001");
}

#[test]
fn an_extended_grant_nearing_its_new_end_is_told_of_again() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = store_with_representative(&db);
    let first = grant("grant-sam", Grantee::Person(SAM.into()), Some(now() + Duration::days(10)), false);
    block_on(store.insert_grant(&first, now(), None)).unwrap();
    assert_eq!(scan(&store, now()), 3);
    // Margaret extends it by a month: version 2, ending in 40 days.
    let extended = Grant { ends_at: Some(now() + Duration::days(40)), ..first };
    block_on(store.update_grant(&extended, now() + Duration::days(1), None)).unwrap();
    assert_eq!(scan(&store, now() + Duration::days(2)), 0, "the new end is weeks away");
    assert_eq!(scan(&store, now() + Duration::days(27)), 3, "near its new end, both sides hear again");
    assert_eq!(scan(&store, now() + Duration::days(28)), 0);
    let ids: Vec<String> = rows(&db).into_iter().map(|(id, ..)| id).filter(|id| id.starts_with("ending-grant-sam-2-")).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
}

#[test]
fn nobody_is_told_of_a_grant_ending_in_15_days_already_ended_or_revoked() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = store_with_representative(&db);
    let later = grant("grant-later", Grantee::Person(SAM.into()), Some(now() + Duration::days(15)), false);
    let ended = Grant { id: "grant-ended".into(), starts_at: now() - Duration::days(60), ends_at: Some(now() - Duration::days(1)), ..later.clone() };
    let revoked = Grant { id: "grant-revoked".into(), ends_at: Some(now() + Duration::days(5)), ..later.clone() };
    for grant in [&later, &ended, &revoked] {
        block_on(store.insert_grant(grant, now() - Duration::days(40), None)).unwrap();
    }
    block_on(store.update_grant(&Grant { revoked_at: Some(now() - Duration::hours(1)), ..revoked }, now() - Duration::hours(1), None)).unwrap();
    assert_eq!(scan(&store, now()), 0);
    assert!(rows(&db).is_empty());
    // A day later the first is 14 days from its end.
    assert_eq!(scan(&store, now() + Duration::days(1)), 3);
}

#[test]
fn an_organisations_ending_grant_tells_the_person_and_whoever_acts_for_them_only() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = store_with_representative(&db);
    block_on(store.insert_grant(&grant("grant-provider", Grantee::Organisation(PROVIDER.into()), Some(now() + Duration::days(3)), false), now(), None))
        .unwrap();
    assert_eq!(scan(&store, now()), 2);
    let rows = rows(&db);
    assert_eq!(rows.iter().map(|(_, person, ..)| person.as_str()).collect::<Vec<_>>(), [MARGARET, PRIYA]);
    assert_eq!(rows[0].3.get("access").map(String::as_str), Some("Brookside Home Care's access to your information"));
}

#[test]
fn someone_acting_for_the_person_whose_own_grant_ends_is_told_once_with_the_page_to_extend_it() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = store_with_representative(&db);
    block_on(store.insert_grant(&grant("grant-sam", Grantee::Person(SAM.into()), Some(now() + Duration::days(3)), true), now(), None)).unwrap();
    assert_eq!(scan(&store, now()), 3);
    let rows = rows(&db);
    let sam: Vec<_> = rows.iter().filter(|(_, person, ..)| person == SAM).collect();
    assert_eq!(sam.len(), 1);
    assert_eq!(sam[0].3.get("link").map(String::as_str), Some("https://care.example/people/person-margaret/access"));
    assert_eq!(sam[0].3.get("access").map(String::as_str), Some("Your access to Margaret Okafor's information"));
}

#[test]
fn the_scan_waits_for_the_morning() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = store_with_representative(&db);
    block_on(store.insert_grant(&grant("grant-sam", Grantee::Person(SAM.into()), Some(now() + Duration::days(3)), false), now(), None)).unwrap();
    assert_eq!(scan(&store, at("2026-11-21T23:30:00Z")), 0, "half past eleven at night");
    assert_eq!(scan(&store, at("2026-11-22T07:59:00Z")), 0, "a minute to eight");
    // 8am in London in summer is 7am UTC.
    assert!(ending::in_waking_hours(at("2026-07-01T07:00:00Z")));
    assert!(!ending::in_waking_hours(at("2026-07-01T20:00:00Z")), "9pm in London");
    assert_eq!(scan(&store, at("2026-11-22T08:00:00Z")), 3);
}

#[test]
fn the_scan_reads_the_grants_ending_soon_through_their_index() {
    // SQLite's plan; PostgreSQL's plans are checked at a county's scale by bench/scale.
    let db = carefront_shared::sqlite::SqliteDatabase::in_memory().unwrap();
    let plan = block_on(db.query(
        "EXPLAIN QUERY PLAN SELECT id FROM grants WHERE revoked_at IS NULL AND ends_at > ?1 AND ends_at <= ?2 ORDER BY ends_at, id",
        &[time_text(now()).into(), time_text(now() + Duration::days(14)).into()],
    ))
    .unwrap();
    let detail: Vec<String> = plan.iter().map(|row| row.text(3).unwrap()).collect();
    assert!(detail.iter().any(|step| step.contains("USING INDEX grants_ending")), "{detail:?}");
    assert!(!detail.iter().any(|step| step.starts_with("SCAN grants")), "{detail:?}");
}
