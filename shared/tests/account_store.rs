//! Account safety's store against real SQLite: removing a passkey ends the sessions it made in
//! the same batch as its audit event (all or none), rotation replaces a session row, and "sign
//! out everywhere" keeps only the session asked for.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use carefront_shared::db::{Database, DbError};
use carefront_shared::domain::{AuditEvent, Person, Role, SessionRecord};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::store::{AccountStore, PasskeyRemoval, SqlStore, Store};
use chrono::{DateTime, Utc};
use pollster::block_on;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn event(id: &str, action: &str) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        at: now(),
        actor_id: Some("person-1".into()),
        acting_for: None,
        subject_id: Some("person-1".into()),
        action: carefront_shared::access::AuditAction::parse(action).unwrap(),
        category: None,
        basis: None,
        detail: "test".into(),
    }
}

fn session(id: &str, passkey: Option<&str>) -> SessionRecord {
    SessionRecord {
        id_hash: id.into(),
        person_id: "person-1".into(),
        created_at: now(),
        last_seen_at: now(),
        verified_at: now(),
        passkey_id: passkey.map(str::to_owned),
    }
}

/// Margaret with passkeys a and b, and sessions made by a, by b, and before passkeys were
/// recorded (none).
fn seeded(db: &NativeDatabase) -> SqlStore<'_> {
    let store = SqlStore::new(db);
    let person = Person {
        id: "person-1".into(),
        role: Role::ServiceUser,
        display_name: "Margaret".into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(1),
        created_at: now(),
    };
    block_on(store.insert_person(&person)).unwrap();
    for id in ["a", "b"] {
        // The stored passkey itself is never read here, so any JSON will do.
        block_on(db.execute(
            "INSERT INTO passkeys (id, person_id, credential_id, name, passkey, created_at) VALUES (?1, 'person-1', ?1, ?1, '{}', ?2)",
            &[id.into(), "2026-11-21T12:00:00.000Z".into()],
        ))
        .unwrap();
    }
    for (id, passkey) in [("by-a", Some("a")), ("by-b", Some("b")), ("older", None)] {
        block_on(store.insert_session(&session(id, passkey))).unwrap();
    }
    store
}

fn sessions(store: &SqlStore<'_>) -> Vec<String> {
    let mut ids: Vec<String> = block_on(store.sessions_for_person("person-1")).unwrap().into_iter().map(|session| session.id_hash).collect();
    ids.sort();
    ids
}

fn count(db: &NativeDatabase, sql: &str) -> i64 {
    block_on(db.query(sql, &[])).unwrap()[0].integer(0).unwrap()
}

#[test]
fn removing_a_passkey_ends_its_sessions_all_or_nothing() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    // An event whose id is taken makes the batch's audit statement fail after the sessions were
    // deleted: the whole batch is undone, nothing is left behind.
    block_on(store.append_audit(&event("taken", "session.signed_in"))).unwrap();
    let failed = block_on(store.remove_passkey("person-1", "b", &event("taken", "passkey.removed")));
    assert!(matches!(failed, Err(DbError::Constraint(_))), "{failed:?}");
    assert_eq!(sessions(&store), ["by-a", "by-b", "older"]);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM passkeys"), 2);

    assert_eq!(block_on(store.remove_passkey("person-1", "b", &event("e1", "passkey.removed"))).unwrap(), PasskeyRemoval::Removed);
    assert_eq!(sessions(&store), ["by-a", "older"], "only the sessions passkey b made ended");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_events WHERE action = 'passkey.removed'"), 1);

    // The last passkey stays, and nothing is written.
    assert_eq!(block_on(store.remove_passkey("person-1", "a", &event("e2", "passkey.removed"))).unwrap(), PasskeyRemoval::LastOne);
    assert_eq!(sessions(&store), ["by-a", "older"]);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_events WHERE action = 'passkey.removed'"), 1);
    assert_eq!(block_on(store.remove_passkey("person-1", "nope", &event("e3", "passkey.removed"))).unwrap(), PasskeyRemoval::NotFound);
}

#[test]
fn rotation_replaces_the_row_and_sign_out_everywhere_keeps_only_the_one_asked_for() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    block_on(store.rotate_session(Some("by-a"), &session("rotated", Some("a")))).unwrap();
    assert_eq!(sessions(&store), ["by-b", "older", "rotated"]);
    assert_eq!(block_on(store.session("by-a")).unwrap(), None);

    assert!(block_on(store.end_person_session("person-1", "by-b", &event("e1", "session.ended"))).unwrap());
    assert!(!block_on(store.end_person_session("person-1", "by-b", &event("e2", "session.ended"))).unwrap(), "already gone");
    block_on(store.end_person_sessions("person-1", Some("rotated"), &event("e3", "session.ended"))).unwrap();
    assert_eq!(sessions(&store), ["rotated"]);
    block_on(store.end_person_sessions("person-1", None, &event("e4", "session.ended"))).unwrap();
    assert!(sessions(&store).is_empty());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_events WHERE action = 'session.ended'"), 3);
    let since = block_on(store.audit_since("person-1", carefront_shared::access::AuditAction::SessionEnded, now())).unwrap();
    assert_eq!(since.len(), 3);
}
