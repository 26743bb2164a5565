//! The SQL store against real SQLite: grants with history and optimistic concurrency, the
//! append-only tables, and single-use ceremonies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;

use carefront_shared::consent::{Action, Basis, Category, Grant, GrantProblem, Grantee};
use carefront_shared::db::{Database, DbError};
use carefront_shared::domain::{CeremonyKind, CeremonyRecord, Person, Role};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::retry::Retrying;
use carefront_shared::sqlite::{SqliteDatabase, ThreadSleep};
use carefront_shared::store::{GrantUpdate, RecordStore, SqlStore, Store};
use chrono::{DateTime, Duration, Utc};
use pollster::block_on;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn person(id: &str, handle: u128) -> Person {
    Person {
        id: id.into(),
        role: Role::ServiceUser,
        display_name: id.into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(handle),
        created_at: now(),
    }
}

fn grant() -> Grant {
    Grant {
        id: "grant-1".into(),
        version: 1,
        subject_id: "person-1".into(),
        grantee: Grantee::Person("person-2".into()),
        categories: BTreeSet::from([Category::Medication]),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "to help with my medicines".into(),
        starts_at: now(),
        ends_at: Some(now() + Duration::days(90)),
        basis: Basis::Consent,
        evidence: None,
        recorded_by: "person-1".into(),
        revoked_at: None,
    }
}

fn seeded(db: &dyn Database) -> SqlStore<'_> {
    let store = SqlStore::new(db);
    block_on(store.insert_person(&person("person-1", 1))).unwrap();
    block_on(store.insert_person(&person("person-2", 2))).unwrap();
    store
}

#[test]
fn a_grant_round_trips_and_every_version_is_kept() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    block_on(store.insert_grant(&grant(), now(), None)).unwrap();
    assert_eq!(block_on(store.grants_for_subject("person-1")).unwrap(), vec![grant()]);
    assert_eq!(block_on(store.grants_held_by("person-2", None)).unwrap(), vec![grant()]);
    assert!(block_on(store.grants_held_by("person-1", Some("org-x"))).unwrap().is_empty());

    let widened = Grant { categories: BTreeSet::from([Category::Medication, Category::VisitsAndNotes]), ..grant() };
    assert_eq!(block_on(store.update_grant(&widened, now() + Duration::hours(1), Some("person-1"))).unwrap(), GrantUpdate::Updated(2));
    let revoked = Grant { version: 2, revoked_at: Some(now() + Duration::hours(2)), ..widened.clone() };
    assert_eq!(block_on(store.update_grant(&revoked, now() + Duration::hours(2), None)).unwrap(), GrantUpdate::Updated(3));

    let history = block_on(store.grant_history("grant-1")).unwrap();
    assert_eq!(history.iter().map(|(version, _)| *version).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(history[0].1.contains(r#""categories":["medication"]"#), "{}", history[0].1);
    assert!(history[1].1.contains(r#""categories":["medication","visits_and_notes"]"#), "{}", history[1].1);
    assert!(history[2].1.contains(r#""revoked_at":"2026-11-21T14:00:00.000Z""#), "{}", history[2].1);
}

#[test]
fn a_stale_edit_is_a_conflict_and_writes_nothing() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    block_on(store.insert_grant(&grant(), now(), None)).unwrap();
    let first = Grant { purpose: "first".into(), ..grant() };
    let second = Grant { purpose: "second".into(), ..grant() };
    assert_eq!(block_on(store.update_grant(&first, now(), None)).unwrap(), GrantUpdate::Updated(2));
    match block_on(store.update_grant(&second, now(), None)).unwrap() {
        GrantUpdate::Conflict(Some(current)) => assert_eq!((current.version, current.purpose.as_str()), (2, "first")),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(block_on(store.grant_history("grant-1")).unwrap().len(), 2);
}

#[test]
fn concurrent_conflicting_edits_lose_no_update() {
    // Eight connections to one store: SQLite through a file, PostgreSQL through a schema.
    let first = NativeDatabase::for_tests().unwrap();
    let dir = std::env::temp_dir().join(format!("carefront-store-{}", std::process::id()));
    let path = dir.join("grants.db");
    let connect = || -> Box<dyn Database + Send> {
        match &first {
            NativeDatabase::Postgres(database) => Box::new(database.another_connection().unwrap()),
            NativeDatabase::Sqlite(_) => Box::new(SqliteDatabase::open(&path).unwrap()),
        }
    };
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(&path);
    {
        let db = connect();
        let store = seeded(db.as_ref());
        block_on(store.insert_grant(&grant(), now(), None)).unwrap();
    }
    let outcomes: Vec<GrantUpdate> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|index| {
                let db = connect();
                scope.spawn(move || {
                    // A serialization failure is retried, as every runtime's store does.
                    let random = SeededRandom::new(index);
                    let retrying = Retrying::new(db.as_ref(), &ThreadSleep, &random);
                    let store = SqlStore::new(&retrying);
                    block_on(store.update_grant(&Grant { purpose: format!("edit {index}"), ..grant() }, now(), None)).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    let winners = outcomes.iter().filter(|outcome| matches!(outcome, GrantUpdate::Updated(2))).count();
    assert_eq!(winners, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|outcome| matches!(outcome, GrantUpdate::Updated(2) | GrantUpdate::Conflict(Some(_)))));
    let db = connect();
    assert_eq!(block_on(SqlStore::new(db.as_ref()).grant_history("grant-1")).unwrap().len(), 2, "one edit, one history row");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_forged_or_foreign_grant_id_changes_nothing() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    block_on(store.insert_grant(&grant(), now(), None)).unwrap();
    let forged = Grant { id: "grant-nope".into(), ..grant() };
    assert_eq!(block_on(store.update_grant(&forged, now(), None)).unwrap(), GrantUpdate::Conflict(None));
    let foreign = Grant { subject_id: "person-2".into(), ..grant() };
    assert_eq!(block_on(store.update_grant(&foreign, now(), None)).unwrap(), GrantUpdate::Conflict(None));
    assert_eq!(block_on(store.grants_for_subject("person-1")).unwrap(), vec![grant()]);
}

#[test]
fn grants_history_and_the_audit_log_cannot_be_rewritten() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    block_on(store.insert_grant(&grant(), now(), None)).unwrap();
    block_on(db.execute("INSERT INTO audit_events (id, at, action) VALUES ('a', 't', 'x')", &[])).unwrap();
    for sql in [
        "DELETE FROM grants",
        "UPDATE grant_history SET snapshot = '{}'",
        "DELETE FROM grant_history",
        "UPDATE audit_events SET action = 'y'",
        "DELETE FROM audit_events",
    ] {
        assert!(matches!(block_on(db.execute(sql, &[])), Err(DbError::Constraint(_))), "{sql}");
    }
}

#[test]
fn the_schema_refuses_grants_that_make_no_sense() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let bad = [
        Grant { ends_at: Some(now() - Duration::days(1)), ..grant() },
        Grant { basis: Basis::LastingPowerOfAttorney, evidence: None, ..grant() },
        Grant { act_for: true, grantee: Grantee::Organisation("org-1".into()), ..grant() },
    ];
    for grant in bad {
        assert!(matches!(block_on(store.insert_grant(&grant, now(), None)), Err(DbError::Constraint(_))), "{grant:?}");
    }
    assert!(block_on(store.grants_for_subject("person-1")).unwrap().is_empty());
}

#[test]
fn grant_validation() {
    let cases = [
        (grant(), Ok(())),
        (Grant { categories: BTreeSet::new(), ..grant() }, Err(GrantProblem::NoCategories)),
        (Grant { actions: BTreeSet::new(), ..grant() }, Err(GrantProblem::NoActions)),
        (Grant { purpose: " ".into(), ..grant() }, Err(GrantProblem::NoPurpose)),
        (Grant { ends_at: Some(now()), ..grant() }, Err(GrantProblem::EndsBeforeStart)),
        (Grant { starts_at: now() - Duration::days(10), ends_at: Some(now() - Duration::days(1)), ..grant() }, Err(GrantProblem::EndsInThePast)),
        (Grant { basis: Basis::CourtAppointedDeputy, ..grant() }, Err(GrantProblem::EvidenceMissing)),
        (Grant { basis: Basis::CourtAppointedDeputy, evidence: Some("COP 12345678".into()), ..grant() }, Ok(())),
        (Grant { act_for: true, grantee: Grantee::Organisation("org".into()), ..grant() }, Err(GrantProblem::ActForOrganisation)),
    ];
    for (index, (grant, expected)) in cases.into_iter().enumerate() {
        assert_eq!(grant.validate(now()), expected, "case {index}");
    }
}

#[test]
fn a_ceremony_can_be_taken_once() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&db);
    let ceremony = CeremonyRecord {
        id_hash: "h".into(),
        kind: CeremonyKind::Authenticate,
        person_id: None,
        invitation_id: None,
        state: "{}".into(),
        created_at: now(),
        expires_at: now() + Duration::minutes(5),
    };
    block_on(store.insert_ceremony(&ceremony)).unwrap();
    assert_eq!(block_on(store.take_ceremony("h")).unwrap(), Some(ceremony.clone()));
    assert_eq!(block_on(store.take_ceremony("h")).unwrap(), None, "single use");
    block_on(store.insert_ceremony(&ceremony)).unwrap();
    block_on(store.delete_expired_ceremonies(now() + Duration::minutes(5))).unwrap();
    assert_eq!(block_on(store.ceremony("h")).unwrap(), None, "expired ceremonies are swept");
}

#[test]
fn attempts_count_per_key_and_window_and_a_right_code_gives_its_try_back() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&db);
    let window = now();
    assert_eq!(block_on(store.count_attempt("a", window)).unwrap(), 1);
    assert_eq!(block_on(store.count_attempt("a", window)).unwrap(), 2);
    assert_eq!(block_on(store.count_attempt("b", window)).unwrap(), 1, "keys count apart");
    block_on(store.forgive_attempt("a", window)).unwrap();
    assert_eq!(block_on(store.count_attempt("a", window)).unwrap(), 2, "one was given back");
    block_on(store.forgive_attempt("a", window - Duration::minutes(15))).unwrap();
    assert_eq!(block_on(store.count_attempt("a", window)).unwrap(), 3, "a past window gives nothing back");
    assert_eq!(block_on(store.count_attempt("a", window + Duration::minutes(15))).unwrap(), 1, "a new window starts again");
    for _ in 0..3 {
        block_on(store.forgive_attempt("b", window)).unwrap();
    }
    assert_eq!(block_on(store.count_attempt("b", window)).unwrap(), 1, "never below nothing");
}

#[test]
fn storing_a_ceremony_clears_expired_ceremonies_and_finished_rate_limit_windows() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&db);
    let ceremony = |id: &str, at: DateTime<Utc>| CeremonyRecord {
        id_hash: id.into(),
        kind: CeremonyKind::Authenticate,
        person_id: None,
        invitation_id: None,
        state: "{}".into(),
        created_at: at,
        expires_at: at + Duration::minutes(5),
    };
    block_on(store.insert_ceremony(&ceremony("old", now()))).unwrap();
    block_on(store.count_attempt("old window", now())).unwrap();
    let later = now() + Duration::minutes(16);
    block_on(store.count_attempt("this window", later)).unwrap();
    block_on(store.insert_ceremony(&ceremony("new", later))).unwrap();
    assert_eq!(block_on(store.ceremony("old")).unwrap(), None);
    assert!(block_on(store.ceremony("new")).unwrap().is_some());
    let keys: Vec<String> = block_on(db.query("SELECT key FROM rate_limits ORDER BY key", &[])).unwrap().iter().map(|row| row.text(0).unwrap()).collect();
    assert_eq!(keys, ["this window"]);
}

#[test]
fn visits_page_newest_first_with_a_cursor_that_survives_new_entries() {
    use carefront_shared::record::{CareVisit, VisitStatus};
    use carefront_shared::store::record::check_visit_cursor;
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    block_on(store.insert_organisation(&carefront_shared::domain::Organisation {
        id: "org-1".into(),
        kind: carefront_shared::domain::OrganisationKind::Provider,
        name: "Provider".into(),
        created_at: now(),
    }))
    .unwrap();
    let visit = |day: i64, person: &str| CareVisit {
        id: format!("visit-{person}-{day}"),
        person_id: person.into(),
        organisation_id: "org-1".into(),
        starts_at: now() - Duration::days(day),
        ends_at: now() - Duration::days(day) + Duration::minutes(30),
        status: VisitStatus::Completed,
        carers: "Jo".into(),
        note: format!("day {day}"),
        recorded_at: now(),
    };
    for day in 0..25 {
        assert!(block_on(store.upsert_visit(&visit(day, "person-1"))).unwrap());
    }
    block_on(store.upsert_visit(&visit(100, "person-2"))).unwrap();
    let first = block_on(store.visits(&own_record("person-1"), None, 10)).unwrap();
    assert_eq!(first.items.iter().map(|v| v.note.as_str()).collect::<Vec<_>>()[..2], ["day 0", "day 1"]);
    let cursor = first.next.clone().unwrap();
    assert!(check_visit_cursor(&cursor).is_ok());
    // A new visit arriving between pages does not shift the next page.
    block_on(store.upsert_visit(&visit(-1, "person-1"))).unwrap();
    let second = block_on(store.visits(&own_record("person-1"), Some(&cursor), 10)).unwrap();
    assert_eq!(second.items[0].note, "day 10");
    let third = block_on(store.visits(&own_record("person-1"), second.next.as_deref(), 10)).unwrap();
    assert_eq!(third.items.len(), 5);
    assert_eq!(third.next, None);
    assert!(third.items.iter().all(|v| v.person_id == "person-1"), "never another person's visits");
    assert!(check_visit_cursor("not a cursor").is_err());
    // Another person's visit id cannot be overwritten through this person.
    let mut hijack = visit(100, "person-1");
    hijack.id = "visit-person-2-100".into();
    assert!(!block_on(store.upsert_visit(&hijack)).unwrap());
}

#[test]
fn administrations_are_append_only_and_a_retry_is_not_a_duplicate() {
    use carefront_shared::record::{Administration, Medicine, Outcome};
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let medicine = Medicine {
        id: "med-1".into(),
        person_id: "person-1".into(),
        name: "Paracetamol".into(),
        dose: "2 tablets".into(),
        route: "By mouth".into(),
        times: vec![chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap()],
        as_needed: false,
        instructions: String::new(),
        prescriber: "Dr P".into(),
        started_on: now().date_naive(),
        stopped_on: None,
    };
    block_on(store.upsert_medicine(&medicine)).unwrap();
    assert_eq!(block_on(store.medicines(&own_record("person-1"))).unwrap(), [medicine]);
    let entry = Administration {
        id: "mar-1".into(),
        person_id: "person-1".into(),
        medicine_id: "med-1".into(),
        due_at: now(),
        outcome: Outcome::Refused,
        reason: Some("not now".into()),
        recorded_by: "Jo".into(),
        recorded_at: now(),
    };
    assert!(block_on(store.insert_administration(&entry)).unwrap());
    assert!(!block_on(store.insert_administration(&entry)).unwrap(), "the same id twice is one entry");
    let entries = block_on(store.administrations(&own_record("person-1"), now() - Duration::days(1), now() + Duration::days(1))).unwrap();
    assert_eq!(entries, std::slice::from_ref(&entry));
    let not_given_without_reason = Administration { id: "mar-2".into(), outcome: Outcome::NotGiven, reason: None, ..entry };
    assert!(block_on(store.insert_administration(&not_given_without_reason)).is_err(), "the schema wants a reason");
}

#[test]
fn needs_are_ended_not_changed_and_the_feed_sees_both() {
    use carefront_shared::needs::{Need, RecordedNeed};
    use carefront_shared::store::VoiceStore;
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let recorded = |id: &str, person: &str, need| RecordedNeed {
        id: id.into(),
        person_id: person.into(),
        need,
        detail: String::new(),
        recorded_by: person.into(),
        recorded_by_name: person.into(),
        acting_for: None,
        consent_discussion_id: None,
        recorded_at: now(),
        ended_at: None,
    };
    block_on(store.change_needs(
        "person-1",
        &[],
        &[recorded("n1", "person-1", Need::LargePrint24), recorded("n2", "person-1", Need::EasyRead)],
        "person-1",
        now(),
    ))
    .unwrap();
    block_on(store.change_needs("person-2", &[], &[recorded("n3", "person-2", Need::Braille)], "person-2", now())).unwrap();
    // Ending someone else's need through person-1 does nothing.
    block_on(store.change_needs("person-1", &["n3".into(), "n2".into()], &[], "person-1", now() + Duration::hours(1))).unwrap();
    let live: Vec<_> = block_on(store.needs("person-1", false)).unwrap().into_iter().map(|need| need.id).collect();
    assert_eq!(live, ["n1"]);
    assert_eq!(block_on(store.needs("person-1", true)).unwrap().len(), 2);
    assert_eq!(block_on(store.needs("person-2", false)).unwrap().len(), 1);
    let feed = block_on(store.need_changes(&["person-1".into()], 0, 10)).unwrap();
    let changes: Vec<_> = feed.iter().map(|change| (change.need.id.as_str(), change.change.as_str())).collect();
    assert_eq!(changes, [("n1", "recorded"), ("n2", "recorded"), ("n2", "ended")]);
    let after = block_on(store.need_changes(&["person-1".into(), "person-2".into()], feed[1].seq, 10)).unwrap();
    assert_eq!(after.iter().map(|change| change.need.id.as_str()).collect::<Vec<_>>(), ["n3", "n2"]);
    // The schema refuses rewriting a need, un-ending it, or deleting it.
    for sql in [
        "UPDATE format_needs SET need = 'braille' WHERE id = 'n1'",
        "UPDATE format_needs SET ended_at = NULL WHERE id = 'n2'",
        "DELETE FROM format_needs WHERE id = 'n1'",
        "DELETE FROM format_need_changes",
    ] {
        assert!(block_on(db.execute(sql, &[])).is_err(), "{sql}");
    }
}

#[test]
fn a_comment_is_answered_once_per_version() {
    use carefront_shared::comments::{Comment, CommentKind, CommentStatus};
    use carefront_shared::store::VoiceStore;
    use carefront_shared::store::voice::{Answer, CommentAnswer};
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let comment = Comment {
        id: "c1".into(),
        person_id: "person-1".into(),
        category: Category::Medication,
        entry_id: Some("med-1".into()),
        entry_label: "Paracetamol".into(),
        kind: CommentKind::Correction,
        body: "I stopped taking this in October.".into(),
        author_id: "person-1".into(),
        author_name: "Margaret".into(),
        acting_for: None,
        created_at: now(),
        status: CommentStatus::Open,
        response: None,
        responded_by: None,
        responded_at: None,
        version: 1,
    };
    block_on(store.insert_comment(&comment)).unwrap();
    assert_eq!(block_on(store.comments("person-1")).unwrap(), std::slice::from_ref(&comment));
    assert_eq!(block_on(store.comment("person-2", "c1")).unwrap(), None, "only through its own person");
    let first = block_on(store.answer_comment(
        "person-1",
        "c1",
        1,
        &Answer { status: CommentStatus::Corrected, response: "Removed from the list.", responded_by: "Brookside" },
        now(),
    ))
    .unwrap();
    assert_eq!(first, CommentAnswer::Saved(2));
    let stale = block_on(store.answer_comment("person-1", "c1", 1, &Answer { status: CommentStatus::Declined, response: "No.", responded_by: "Other" }, now()))
        .unwrap();
    let CommentAnswer::Conflict(Some(current)) = stale else { panic!("a stale answer must conflict") };
    assert_eq!((current.status, current.response.as_deref()), (CommentStatus::Corrected, Some("Removed from the list.")));
    assert!(block_on(store.answer_comment("person-1", "c1", 2, &Answer { status: CommentStatus::Open, response: "x", responded_by: "y" }, now())).is_err());
    assert!(block_on(db.execute("DELETE FROM comments", &[])).is_err());
}

#[path = "support/permit.rs"]
mod permit;

fn own_record(person_id: &str) -> carefront_shared::access::Permit {
    permit::own_record(person_id, now())
}
