//! Council staff's invitation store against real SQLite: issuing only when none is waiting,
//! cancelling only an open invitation, a doubled reissue plan stopped by its guards, and the
//! "not enrolled yet" list.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use carefront_shared::db::DbError;
use carefront_shared::domain::{Person, Role};
use carefront_shared::invitation::{DEFAULT_LIFETIME, issue, reissue};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::plan::Recorder;
use carefront_shared::random::SeededRandom;
use carefront_shared::store::{InvitationStore, SqlStore, Store};
use chrono::{DateTime, Duration, Utc};

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

fn someone(id: &str, role: Role, seconds: i64) -> Person {
    Person {
        id: id.into(),
        role,
        display_name: id.into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(u128::from(id.len() as u64) + seconds as u128),
        created_at: at() + Duration::seconds(seconds),
    }
}

#[test]
fn a_reissue_plan_applied_twice_leaves_one_invitation_waiting() {
    pollster::block_on(async {
        let db = NativeDatabase::for_tests().unwrap();
        let store = SqlStore::new(&db);
        let random = SeededRandom::new(3);
        store.insert_person(&someone("ada", Role::ServiceUser, 0)).await.unwrap();
        let (first, _) = issue("ada", Some("staff"), at(), DEFAULT_LIFETIME, &random);
        assert!(store.insert_only_invitation(&first, at()).await.unwrap());
        let (second, _) = issue("ada", Some("staff"), at(), DEFAULT_LIFETIME, &random);
        assert!(!store.insert_only_invitation(&second, at()).await.unwrap(), "one is waiting");
        let plan = |random: &SeededRandom| {
            let (next, _) = reissue(&first, "staff", at(), DEFAULT_LIFETIME, random);
            let recorder = Recorder::new();
            pollster::block_on(async {
                recorder.store().cancel_invitation("ada", &first.id, "staff", at()).await.unwrap();
                recorder.store().insert_only_invitation(&next, at()).await.unwrap();
            });
            recorder.into_plan()
        };
        let (once, twice) = (plan(&random), plan(&random));
        store.apply(&once).await.unwrap();
        assert!(matches!(store.apply(&twice).await, Err(DbError::Constraint(_))));
        let all = store.invitations_for_person("ada").await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].replaces.as_deref(), Some(first.id.as_str()));
        assert_eq!(all[1].cancelled_by.as_deref(), Some("staff"));
        assert!(!store.cancel_invitation("ada", &first.id, "staff", at()).await.unwrap(), "already cancelled");
        assert!(!store.cancel_invitation("bob", &all[0].id, "staff", at()).await.unwrap(), "someone else's");
    });
}

#[test]
fn not_enrolled_lists_people_without_a_passkey_longest_waiting_first() {
    pollster::block_on(async {
        let db = NativeDatabase::for_tests().unwrap();
        let store = SqlStore::new(&db);
        let random = SeededRandom::new(4);
        for person in [someone("never", Role::ServiceUser, 50), someone("rep", Role::Representative, 0), someone("staff", Role::CouncilStaff, 0)] {
            store.insert_person(&person).await.unwrap();
        }
        for (person, seconds) in [("rep", 10), ("rep", 100), ("staff", 0)] {
            let (invitation, _) = issue(person, None, at() + Duration::seconds(seconds), DEFAULT_LIFETIME, &random);
            store.insert_invitation(&invitation).await.unwrap();
        }
        let listed = store.not_enrolled(100).await.unwrap();
        let names: Vec<_> = listed.iter().map(|row| (row.person.id.as_str(), row.latest.as_ref().map(|latest| latest.created_at))).collect();
        assert_eq!(names, [("never", None), ("rep", Some(at() + Duration::seconds(100)))]);
        assert_eq!(store.not_enrolled(1).await.unwrap().len(), 1);
    });
}
