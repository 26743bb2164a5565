//! System credentials and request nonces in the SQL store against real SQLite: a credential is
//! stored without its key, revoked for good, never deleted or changed; each nonce is taken once
//! until it expires.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;

use carefront_shared::administration::{self, AdminAction, Administrator};
use carefront_shared::credential::{self, CredentialKey, Permission, SystemCredential};
use carefront_shared::db::{Database, DbError};
use carefront_shared::domain::{AuditEvent, CouncilRole, Organisation, OrganisationKind, Person, Role};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::store::{CredentialStore, SqlStore, Store};
use chrono::{DateTime, Duration, Utc};
use pollster::block_on;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn provider() -> Organisation {
    Organisation { id: "org-provider".into(), kind: OrganisationKind::Provider, name: "Brookside Home Care".into(), created_at: now() }
}

fn setup(database: &NativeDatabase) -> (SqlStore<'_>, SystemCredential, String) {
    let store = SqlStore::new(database);
    block_on(store.insert_organisation(&provider())).unwrap();
    let key = CredentialKey::new(&[5; 32]).unwrap();
    let issued =
        credential::issue(&key, &provider(), "Rostering", BTreeSet::from([Permission::PeopleRead]), "person-daniel", &SeededRandom::new(1), now()).unwrap();
    block_on(store.insert_credential(&issued.credential)).unwrap();
    (store, issued.credential, issued.secret)
}

#[test]
fn a_credential_is_stored_without_its_key_and_read_back() {
    let database = NativeDatabase::for_tests().unwrap();
    let (store, credential, secret) = setup(&database);
    assert_eq!(block_on(store.credential(&credential.key_id)).unwrap(), Some(credential.clone()));
    assert_eq!(block_on(store.credential("ck_unknown")).unwrap(), None);
    assert_eq!(block_on(store.credentials_for_organisation("org-provider")).unwrap(), vec![credential.clone()]);
    assert!(block_on(store.credentials_for_organisation("org-other")).unwrap().is_empty());

    let dump = database.dump_text().unwrap();
    assert!(dump.contains(&credential.fingerprint) && dump.contains("[\"people:read\"]"), "{dump}");
    assert!(!dump.contains(&secret), "the secret is stored nowhere");

    let duplicate = block_on(store.insert_credential(&credential));
    assert!(matches!(duplicate, Err(DbError::Constraint(_))), "{duplicate:?}");
    let orphan = SystemCredential { key_id: "ck_orphan".into(), organisation_id: "org-nowhere".into(), ..credential };
    assert!(matches!(block_on(store.insert_credential(&orphan)), Err(DbError::Constraint(_))), "the organisation must exist");
}

fn daniel() -> Administrator {
    Administrator { id: "person-daniel".into(), name: "Daniel Hughes".into() }
}

fn revocation(id: &str, at: DateTime<Utc>, credential: &SystemCredential) -> administration::AdminEvent {
    administration::credential_revoked(id.into(), at, &daniel(), credential, "Brookside Home Care")
}

#[test]
fn revoking_is_once_and_for_good_and_credentials_are_never_deleted_or_changed() {
    let database = NativeDatabase::for_tests().unwrap();
    let (store, credential, _) = setup(&database);
    assert!(block_on(store.revoke_credential(&credential.key_id, &revocation("e1", now(), &credential))).unwrap());
    assert!(!block_on(store.revoke_credential(&credential.key_id, &revocation("e2", now() + Duration::hours(1), &credential))).unwrap(), "already revoked");
    let unknown = SystemCredential { key_id: "ck_unknown".into(), ..credential.clone() };
    assert!(!block_on(store.revoke_credential("ck_unknown", &revocation("e3", now(), &unknown))).unwrap());
    let stored = block_on(store.credential(&credential.key_id)).unwrap().unwrap();
    assert_eq!((stored.revoked_at, stored.revoked_by.as_deref()), (Some(now()), Some("person-daniel")));
    let log = block_on(store.admin_log(10)).unwrap();
    assert_eq!(
        log.iter().map(|entry| (entry.id.as_str(), entry.action)).collect::<Vec<_>>(),
        [("e1", AdminAction::CredentialRevoked)],
        "one revocation logged"
    );

    let key_id = credential.key_id.as_str();
    for sql in [
        "UPDATE system_credentials SET revoked_at = NULL WHERE key_id = ?1",
        "UPDATE system_credentials SET permissions = '[\"export:read\"]' WHERE key_id = ?1",
        "UPDATE system_credentials SET organisation_id = 'org-provider' WHERE key_id = ?1",
        "UPDATE system_credentials SET revoked_by = 'person-someone-else' WHERE key_id = ?1",
        "DELETE FROM system_credentials WHERE key_id = ?1",
    ] {
        let result = block_on(database.execute(sql, &[key_id.into()]));
        assert!(matches!(result, Err(DbError::Constraint(_))), "{sql}: {result:?}");
    }
    // Using it is still recorded (the row's one changing column besides revocation).
    block_on(store.record_credential_use(key_id, now() + Duration::minutes(1))).unwrap();
    assert_eq!(block_on(store.credential(key_id)).unwrap().unwrap().last_used_at, Some(now() + Duration::minutes(1)));
}

#[test]
fn a_nonce_is_taken_once_until_it_expires() {
    let database = NativeDatabase::for_tests().unwrap();
    let (store, credential, _) = setup(&database);
    let key_id = credential.key_id.as_str();
    let expires = now() + Duration::minutes(5);
    assert!(block_on(store.take_nonce(key_id, "nonce-aaaaaaaaaaaaaaaa", expires, now())).unwrap());
    assert!(!block_on(store.take_nonce(key_id, "nonce-aaaaaaaaaaaaaaaa", expires, now())).unwrap(), "a replay");
    assert!(!block_on(store.take_nonce(key_id, "nonce-aaaaaaaaaaaaaaaa", expires, expires)).unwrap(), "still remembered at the edge of the window");
    assert!(block_on(store.take_nonce("ck_other", "nonce-aaaaaaaaaaaaaaaa", expires, now())).unwrap(), "nonces are per credential");
    assert!(block_on(store.take_nonce(key_id, "nonce-bbbbbbbbbbbbbbbb", expires, now())).unwrap());

    // Once expired it is free again (its old request is refused for its timestamp anyway).
    let later = expires + Duration::seconds(1);
    assert!(block_on(store.take_nonce(key_id, "nonce-aaaaaaaaaaaaaaaa", later + Duration::minutes(5), later)).unwrap());
    assert!(!block_on(store.take_nonce(key_id, "nonce-aaaaaaaaaaaaaaaa", later + Duration::minutes(5), later)).unwrap());
}

#[test]
fn expired_nonces_are_purged() {
    let database = NativeDatabase::for_tests().unwrap();
    let (store, credential, _) = setup(&database);
    let key_id = credential.key_id.as_str();
    block_on(store.take_nonce(key_id, "nonce-old-aaaaaaaaaaaaa", now(), now() - Duration::minutes(5))).unwrap();
    block_on(store.take_nonce(key_id, "nonce-new-aaaaaaaaaaaaa", now() + Duration::minutes(5), now())).unwrap();
    assert_eq!(block_on(store.purge_expired_nonces(now())).unwrap(), 0, "a nonce expiring now is kept");
    assert_eq!(block_on(store.purge_expired_nonces(now() + Duration::seconds(1))).unwrap(), 1);
    let left = block_on(database.query("SELECT nonce FROM api_nonces", &[])).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].text(0).unwrap(), "nonce-new-aaaaaaaaaaaaa");
}

#[test]
fn organisations_are_listed_by_name_and_audit_events_appended_together() {
    let database = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&database);
    block_on(store.insert_organisation(&provider())).unwrap();
    block_on(store.insert_organisation(&Organisation {
        id: "org-council".into(),
        kind: OrganisationKind::Council,
        name: "Aardley Council".into(),
        created_at: now(),
    }))
    .unwrap();
    let names: Vec<String> = block_on(store.all_organisations()).unwrap().into_iter().map(|organisation| organisation.name).collect();
    assert_eq!(names, ["Aardley Council", "Brookside Home Care"]);

    let event = |id: &str, subject: &str| AuditEvent {
        id: id.into(),
        at: now(),
        actor_id: Some("credential:ck_a".into()),
        acting_for: None,
        subject_id: Some(subject.into()),
        action: carefront_shared::access::AuditAction::PersonListed,
        category: None,
        basis: Some((&carefront_shared::access::Ground::Grant { grant_id: "g".into(), basis: carefront_shared::consent::Basis::Consent }).into()),
        detail: "listed".into(),
    };
    block_on(store.append_audits(&[])).unwrap();
    block_on(store.append_audits(&[event("a1", "person-1"), event("a2", "person-2")])).unwrap();
    assert_eq!(block_on(store.audit_for_subject(&own_record("person-2"), 10)).unwrap(), vec![event("a2", "person-2")]);
    // All or none: a clash in the batch writes nothing.
    assert!(block_on(store.append_audits(&[event("a3", "person-3"), event("a1", "person-1")])).is_err());
    assert!(block_on(store.audit_for_subject(&own_record("person-3"), 10)).unwrap().is_empty());
}

#[test]
fn a_credential_and_its_log_entry_are_made_together_and_a_revocation_names_who_revoked() {
    let database = NativeDatabase::for_tests().unwrap();
    let (store, credential, _) = setup(&database);
    let issued = credential::issue(
        &CredentialKey::new(&[5; 32]).unwrap(),
        &provider(),
        "eMAR",
        BTreeSet::from([Permission::MedicationWrite]),
        "person-daniel",
        &SeededRandom::new(2),
        now(),
    )
    .unwrap();
    let made = administration::credential_created("e1".into(), &daniel(), &issued.credential, "Brookside Home Care");
    block_on(store.make_credential(&issued.credential, &made)).unwrap();
    assert_eq!(block_on(store.admin_log(10)).unwrap(), vec![made.clone()]);
    // A failing insert leaves no log entry behind (the same key id again).
    let again = administration::credential_created("e2".into(), &daniel(), &issued.credential, "Brookside Home Care");
    assert!(block_on(store.make_credential(&issued.credential, &again)).is_err());
    assert_eq!(block_on(store.admin_log(10)).unwrap().len(), 1, "both or neither");

    // Revoking without saying who is refused by the schema.
    let result =
        block_on(database.execute(
            "UPDATE system_credentials SET revoked_at = ?2 WHERE key_id = ?1",
            &[credential.key_id.as_str().into(), "2026-11-21T12:00:00.000Z".into()],
        ));
    assert!(matches!(result, Err(DbError::Constraint(_))), "{result:?}");
    // Nor can a live credential be given a revoker.
    let result =
        block_on(database.execute("UPDATE system_credentials SET revoked_by = 'person-daniel' WHERE key_id = ?1", &[credential.key_id.as_str().into()]));
    assert!(matches!(result, Err(DbError::Constraint(_))), "{result:?}");

    for sql in ["UPDATE admin_events SET detail = 'nothing happened'", "DELETE FROM admin_events"] {
        let result = block_on(database.execute(sql, &[]));
        assert!(matches!(result, Err(DbError::Constraint(_))), "the administration log is append-only: {sql}: {result:?}");
    }
}

#[test]
fn council_staff_are_caseworkers_unless_made_administrators_and_only_they_have_a_council_role() {
    let database = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&database);
    block_on(store.insert_organisation(&Organisation {
        id: "org-council".into(),
        kind: OrganisationKind::Council,
        name: "Northshire".into(),
        created_at: now(),
    }))
    .unwrap();
    let person = |id: &str, role: Role, n: u128| Person {
        id: id.into(),
        role,
        display_name: id.into(),
        organisation_id: (role == Role::CouncilStaff).then(|| "org-council".into()),
        webauthn_handle: uuid::Uuid::from_u128(n),
        created_at: now(),
    };
    block_on(store.insert_person(&person("person-cath", Role::CouncilStaff, 1))).unwrap();
    block_on(store.insert_person(&person("person-ann", Role::CouncilStaff, 2))).unwrap();
    block_on(store.insert_person(&person("person-margaret", Role::ServiceUser, 3))).unwrap();
    assert_eq!(block_on(store.council_role("person-cath")).unwrap(), Some(CouncilRole::Caseworker));
    assert!(block_on(store.set_council_role("person-ann", CouncilRole::Administrator)).unwrap());
    assert_eq!(block_on(store.council_role("person-ann")).unwrap(), Some(CouncilRole::Administrator));
    assert!(!block_on(store.set_council_role("person-margaret", CouncilRole::Administrator)).unwrap());
    assert_eq!(block_on(store.council_role("person-margaret")).unwrap(), None);
    assert_eq!(block_on(store.council_role("person-nobody")).unwrap(), None);
    let result = block_on(database.execute("UPDATE people SET council_role = 'administrator' WHERE id = 'person-margaret'", &[]));
    assert!(matches!(result, Err(DbError::Constraint(_))), "only council staff have a council role: {result:?}");
    let stored = block_on(database.query("SELECT council_role FROM people WHERE id = 'person-cath'", &[])).unwrap();
    assert_eq!(stored[0].text(0).unwrap(), "caseworker", "written down, not only assumed");
}

#[test]
fn a_credential_in_use_comes_with_its_organisation_and_its_makers_name() {
    let database = NativeDatabase::for_tests().unwrap();
    let (store, credential, _) = setup(&database);
    let loaded = block_on(store.credential_in_use(&credential.key_id)).unwrap().unwrap();
    assert_eq!((loaded.credential, loaded.organisation, loaded.maker.as_str()), (credential.clone(), provider(), "someone no longer on carefront"));
    block_on(store.insert_organisation(&Organisation {
        id: "org-council".into(),
        kind: OrganisationKind::Council,
        name: "Northshire".into(),
        created_at: now(),
    }))
    .unwrap();
    let daniel = Person {
        id: "person-daniel".into(),
        role: Role::CouncilStaff,
        display_name: "Daniel Hughes".into(),
        organisation_id: Some("org-council".into()),
        webauthn_handle: uuid::Uuid::from_u128(9),
        created_at: now(),
    };
    block_on(store.insert_person(&daniel)).unwrap();
    assert_eq!(block_on(store.credential_in_use(&credential.key_id)).unwrap().unwrap().maker, "Daniel Hughes");
    assert_eq!(block_on(store.credential_in_use("ck_unknown")).unwrap(), None);
}

#[path = "support/permit.rs"]
mod permit;

fn own_record(person_id: &str) -> carefront_shared::access::Permit {
    permit::own_record(person_id, now())
}
