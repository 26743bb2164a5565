//! Emergency codes and accesses against real SQLite: one live code per person, a new code ends
//! the old one (and what was opened with it), wrong attempts count only against live codes,
//! access needs a live code, and both tables are logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use carefront_shared::db::{Database, DbError};
use carefront_shared::domain::{Person, Role};
use carefront_shared::emergency::{self, AccessState, Clinician, CodeEnd, EmergencyAccess, EmergencyCodeRecord};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::store::{EmergencyStore, SqlStore, Store};
use chrono::{DateTime, Duration, Utc};
use pollster::block_on;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn seeded(db: &NativeDatabase) -> SqlStore<'_> {
    let store = SqlStore::new(db);
    for (index, id) in ["person-1", "person-2"].into_iter().enumerate() {
        let person = Person {
            id: id.into(),
            role: Role::ServiceUser,
            display_name: id.into(),
            organisation_id: None,
            webauthn_handle: uuid::Uuid::from_u128(index as u128 + 1),
            created_at: now(),
        };
        block_on(store.insert_person(&person)).unwrap();
    }
    store
}

fn clinician() -> Clinician {
    Clinician { name: "Alex Smith".into(), role: "Paramedic".into(), organisation: "North West Ambulance Service".into() }
}

fn issue(store: &SqlStore<'_>, person_id: &str, at: DateTime<Utc>, random: &SeededRandom) -> EmergencyCodeRecord {
    let (record, _) = emergency::issue(person_id, person_id, "own_record", at, random);
    block_on(store.replace_emergency_code(&record)).unwrap();
    record
}

fn open(store: &SqlStore<'_>, code: &EmergencyCodeRecord, at: DateTime<Utc>, random: &SeededRandom) -> EmergencyAccess {
    let access = EmergencyAccess::start(code, clinician(), carefront_shared::random::token(random, 32), at, random);
    block_on(store.insert_emergency_access(&access)).unwrap();
    access
}

#[test]
fn a_new_code_replaces_the_old_one_and_ends_what_it_opened() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let random = SeededRandom::new(1);
    let first = issue(&store, "person-1", now(), &random);
    assert_eq!(block_on(store.live_emergency_code("person-1")).unwrap(), Some(first.clone()));
    let access = open(&store, &first, now() + Duration::minutes(1), &random);

    let later = now() + Duration::minutes(10);
    let second = issue(&store, "person-1", later, &random);
    assert_eq!(block_on(store.live_emergency_code("person-1")).unwrap().map(|code| code.id), Some(second.id.clone()));
    let old = block_on(store.emergency_codes_by_selector(&first.selector)).unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!((old[0].ended_at, old[0].end_reason, old[0].ended_by.as_deref()), (Some(later), Some(CodeEnd::Replaced), Some("person-1")));
    let ended = block_on(store.emergency_access_by_token(&access.token_hash)).unwrap().unwrap();
    assert_eq!(ended.ended_at, Some(later));
    assert_eq!(ended.state(later), AccessState::Ended);

    // Someone else's code is untouched.
    let other = issue(&store, "person-2", later, &random);
    assert!(block_on(store.live_emergency_code("person-2")).unwrap().is_some_and(|code| code.id == other.id));
    assert!(block_on(store.live_emergency_code("person-1")).unwrap().is_some_and(|code| code.id == second.id));
}

#[test]
fn the_database_holds_one_live_code_per_person() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let random = SeededRandom::new(2);
    let first = issue(&store, "person-1", now(), &random);
    let (second, _) = emergency::issue("person-1", "person-1", "own_record", now(), &random);
    let insert = "INSERT INTO emergency_codes (id, person_id, selector, verifier_hash, issued_by, basis, issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    let params = [
        second.id.as_str().into(),
        "person-1".into(),
        second.selector.as_str().into(),
        second.verifier_hash.as_str().into(),
        "person-1".into(),
        "own_record".into(),
        "2026-11-21T12:00:00.000Z".into(),
    ];
    assert!(matches!(block_on(db.execute(insert, &params)), Err(DbError::Constraint(_))));
    assert_eq!(block_on(store.live_emergency_code("person-1")).unwrap().map(|code| code.id), Some(first.id));
}

#[test]
fn turning_off_ends_the_code_and_its_open_access() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let random = SeededRandom::new(3);
    assert!(!block_on(store.turn_off_emergency_code("person-1", "person-1", now())).unwrap(), "nothing to turn off");
    let code = issue(&store, "person-1", now(), &random);
    let access = open(&store, &code, now(), &random);
    let at = now() + Duration::hours(1);
    assert!(block_on(store.turn_off_emergency_code("person-1", "person-council", at)).unwrap());
    assert_eq!(block_on(store.live_emergency_code("person-1")).unwrap(), None);
    let stored = &block_on(store.emergency_codes_by_selector(&code.selector)).unwrap()[0];
    assert_eq!((stored.end_reason, stored.ended_by.as_deref()), (Some(CodeEnd::TurnedOff), Some("person-council")));
    assert_eq!(block_on(store.emergency_access_by_token(&access.token_hash)).unwrap().unwrap().ended_at, Some(at));
    assert!(!block_on(store.turn_off_emergency_code("person-1", "person-1", at)).unwrap(), "only once");
}

#[test]
fn wrong_attempts_count_only_against_live_codes() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let random = SeededRandom::new(4);
    let code = issue(&store, "person-1", now(), &random);
    for expected in 1..=carefront_shared::emergency::MAX_FAILED_ATTEMPTS {
        assert_eq!(block_on(store.record_failed_emergency_attempt(&code.id)).unwrap(), Some(expected));
    }
    assert!(block_on(store.live_emergency_code("person-1")).unwrap().unwrap().is_locked());
    issue(&store, "person-1", now(), &random);
    assert_eq!(block_on(store.record_failed_emergency_attempt(&code.id)).unwrap(), None, "a replaced code counts nothing");
    assert_eq!(block_on(store.record_failed_emergency_attempt("no-such-code")).unwrap(), None);
    assert!(!block_on(store.live_emergency_code("person-1")).unwrap().unwrap().is_locked(), "the new code starts unlocked");
}

#[test]
fn access_needs_the_live_code_of_the_same_person() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let random = SeededRandom::new(5);
    let first = issue(&store, "person-1", now(), &random);
    let _second = issue(&store, "person-1", now(), &random);
    let stale = EmergencyAccess::start(&first, clinician(), "token-a".into(), now(), &random);
    assert!(matches!(block_on(store.insert_emergency_access(&stale)), Err(DbError::Constraint(_))), "the replaced code opens nothing");
    let live = block_on(store.live_emergency_code("person-1")).unwrap().unwrap();
    let forged = EmergencyAccess { person_id: "person-2".into(), ..EmergencyAccess::start(&live, clinician(), "token-b".into(), now(), &random) };
    assert!(matches!(block_on(store.insert_emergency_access(&forged)), Err(DbError::Constraint(_))), "only to the code's own person");
    assert!(block_on(store.emergency_accesses_for_person("person-1", now() - Duration::days(1))).unwrap().is_empty());
    assert!(block_on(store.emergency_accesses_for_person("person-2", now() - Duration::days(1))).unwrap().is_empty());
}

#[test]
fn accesses_are_listed_newest_first_within_the_period() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let random = SeededRandom::new(6);
    let code = issue(&store, "person-1", now(), &random);
    let old = open(&store, &code, now(), &random);
    let new = open(&store, &code, now() + Duration::days(31), &random);
    let other = open(&store, &issue(&store, "person-2", now(), &random), now() + Duration::days(32), &random);
    let since = now() + Duration::days(1);
    let listed: Vec<String> = block_on(store.emergency_accesses_for_person("person-1", since)).unwrap().into_iter().map(|access| access.id).collect();
    assert_eq!(listed, std::slice::from_ref(&new.id));
    let all: Vec<String> = block_on(store.emergency_accesses_for_person("person-1", now())).unwrap().into_iter().map(|access| access.id).collect();
    assert_eq!(all, [new.id.clone(), old.id.clone()]);
    let recent: Vec<String> = block_on(store.recent_emergency_accesses(2)).unwrap().into_iter().map(|access| access.id).collect();
    assert_eq!(recent, [other.id, new.id]);
    let stored = block_on(store.emergency_access_by_token(&old.token_hash)).unwrap().unwrap();
    assert_eq!(stored, old, "round trip");
}

#[test]
fn leaving_ends_an_access_once() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let random = SeededRandom::new(7);
    let access = open(&store, &issue(&store, "person-1", now(), &random), now(), &random);
    assert!(block_on(store.end_emergency_access(&access.id, now() + Duration::minutes(5))).unwrap());
    assert!(!block_on(store.end_emergency_access(&access.id, now() + Duration::minutes(6))).unwrap());
    assert_eq!(block_on(store.emergency_access_by_token(&access.token_hash)).unwrap().unwrap().ended_at, Some(now() + Duration::minutes(5)));
}

#[test]
fn codes_and_accesses_are_logs_the_database_will_not_rewrite() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let random = SeededRandom::new(8);
    let code = issue(&store, "person-1", now(), &random);
    let access = open(&store, &code, now(), &random);
    block_on(store.end_emergency_access(&access.id, now())).unwrap();
    let refused = [
        "DELETE FROM emergency_codes",
        "DELETE FROM emergency_accesses",
        "UPDATE emergency_codes SET verifier_hash = 'x'",
        "UPDATE emergency_codes SET person_id = 'person-2'",
        "UPDATE emergency_accesses SET clinician_name = 'Someone else'",
        "UPDATE emergency_accesses SET expires_at = '2099-01-01T00:00:00.000Z'",
        "UPDATE emergency_accesses SET ended_at = NULL",
    ];
    for sql in refused {
        let result = block_on(db.execute(sql, &[]));
        assert!(matches!(result, Err(DbError::Constraint(_))), "{sql}: {result:?}");
    }
    block_on(store.record_failed_emergency_attempt(&code.id)).unwrap();
    assert!(matches!(block_on(db.execute("UPDATE emergency_codes SET failed_attempts = 0", &[])), Err(DbError::Constraint(_))), "no resetting the count");
    block_on(store.turn_off_emergency_code("person-1", "person-1", now())).unwrap();
    assert!(matches!(block_on(db.execute("UPDATE emergency_codes SET ended_at = NULL, end_reason = NULL", &[])), Err(DbError::Constraint(_))));
    assert_eq!(block_on(store.emergency_codes_by_selector(&code.selector)).unwrap()[0].end_reason, Some(CodeEnd::TurnedOff));
}
