//! The council's monitoring report through the API: every provider's figures (consent
//! discussions, disputes, open comments, needs, paper copies, emergency accesses) for council
//! systems only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::Category;
use carefront_shared::credential::Permission;
use carefront_shared::db::Database;
use carefront_shared::discussion::Status;
use carefront_shared::emergency::{self, Clinician, EmergencyAccess};
use carefront_shared::needs::Need;
use carefront_shared::store::{DiscussionStore, EmergencyStore};
use chrono::Duration;
use support::{Api, COUNCIL, OTHER_PROVIDER, PROVIDER, problem_type};

fn emergency_access(api: &Api, person: &str, days_ago: i64) {
    let store = api.store();
    let at = api.now.get() - Duration::days(days_ago);
    let (code, _) = emergency::issue(person, person, "own_record", at, &api.random);
    pollster::block_on(store.replace_emergency_code(&code)).unwrap();
    let clinician = Clinician::parse("Alex Smith", "Paramedic", "Ambulance Service").unwrap();
    let access = EmergencyAccess::start(&code, clinician, api.token(), at, &api.random);
    pollster::block_on(store.insert_emergency_access(&access)).unwrap();
}

#[test]
fn the_council_reads_every_providers_figures() {
    let api = Api::new();
    api.seed_discussion("person-margaret", PROVIDER, "d1", 10);
    pollster::block_on(api.store().answer_discussion("person-margaret", "d1", 1, Status::Confirmed, None, "person-margaret", None, api.now.get())).unwrap();
    api.seed_discussion("person-arthur", PROVIDER, "d2", 5);
    pollster::block_on(api.store().answer_discussion(
        "person-arthur",
        "d2",
        1,
        Status::Disputed,
        Some("Not what I said."),
        "person-arthur",
        None,
        api.now.get(),
    ))
    .unwrap();
    api.seed_needs("person-arthur", &[Need::LargePrint20, Need::NoPaperCopies], 1);
    api.seed_comment("person-margaret", "c1", Category::CarePlan, 1);
    emergency_access(&api, "person-margaret", 400);
    emergency_access(&api, "person-margaret", 3);

    let held = api.credential(COUNCIL, &[Permission::MonitoringRead]);
    let reply = api.get(&held, "/api/v1/monitoring");
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let providers = reply.body["providers"].as_array().unwrap();
    let ours = providers.iter().find(|provider| provider["organisationId"] == PROVIDER).unwrap();
    assert_eq!(
        ours,
        &serde_json::json!({
            "organisationId": PROVIDER,
            "organisationName": "Brookside Home Care",
            "people": 2,
            "confirmedDiscussions": 1,
            "confirmedPercent": 50,
            "awaitingDiscussions": 0,
            "disputedDiscussions": 1,
            "openComments": 1,
            "needsRecorded": 1,
            "paperCopy": 1,
            "noPaperCopy": 1,
            "emergencyAccesses": 1,
            "figuredAt": "2026-11-21T09:00:00Z",
        })
    );
    let other = providers.iter().find(|provider| provider["organisationId"] == OTHER_PROVIDER).unwrap();
    assert_eq!((other["people"].as_i64(), other["emergencyAccesses"].as_i64()), (Some(1), Some(0)));
    assert_eq!(reply.body["generatedAt"], "2026-11-21T09:00:00Z");
    assert_eq!(api.rows("SELECT 1 FROM audit_events WHERE action = 'api.monitoring_read'"), 1);
}

#[test]
fn providers_never_read_the_report() {
    let api = Api::new();
    let provider = api.credential(PROVIDER, &[Permission::PeopleRead, Permission::NeedsRead, Permission::CommentsWrite]);
    let reply = api.get(&provider, "/api/v1/monitoring");
    assert_eq!((reply.status, problem_type(&reply).as_str()), (403, "permission-required"));
    // Even a provider's credential whose stored row claims the permission (never issued so,
    // and the schema refuses the change: the trigger is dropped to forge it).
    let unguard = match &api.db {
        carefront_shared::native_store::NativeDatabase::Sqlite(_) => "DROP TRIGGER system_credentials_fixed",
        carefront_shared::native_store::NativeDatabase::Postgres(_) => "ALTER TABLE system_credentials DISABLE TRIGGER USER",
    };
    pollster::block_on(api.db.execute(unguard, &[])).unwrap();
    pollster::block_on(
        api.db.execute("UPDATE system_credentials SET permissions = '[\"monitoring:read\"]' WHERE key_id = ?1", &[provider.key_id.as_str().into()]),
    )
    .unwrap();
    assert_eq!(api.get(&provider, "/api/v1/monitoring").status, 403);
    let council_without = api.credential(COUNCIL, &[Permission::PeopleRead]);
    assert_eq!(api.get(&council_without, "/api/v1/monitoring").status, 403);
}

#[test]
fn a_discussion_recorded_through_the_api_and_confirmed_by_the_person_counts_in_the_report() {
    let api = Api::new();
    let provider = api.credential(PROVIDER, &[Permission::ConsentDiscussionsWrite]);
    let body = serde_json::json!({
        "heldOn": "2026-11-20",
        "method": "phone",
        "participants": [{ "role": "person", "name": "Arthur Jenkins" }],
        "covered": ["electronic_records", "who_can_see"],
        "decisions": "Records in carefront; only the care team sees them.",
        "personsWords": "That suits me.",
    });
    let recorded = api.post(&provider, "/api/v1/people/person-arthur/consent-discussions", Some("journey"), &body);
    assert_eq!(recorded.status, 201, "{:#}", recorded.body);
    let id = recorded.body["id"].as_str().unwrap();
    let council = api.credential(COUNCIL, &[Permission::MonitoringRead]);
    let ours =
        |reply: &support::Reply| reply.body["providers"].as_array().unwrap().iter().find(|provider| provider["organisationId"] == PROVIDER).unwrap().clone();
    let before = ours(&api.get(&council, "/api/v1/monitoring"));
    assert_eq!((before["confirmedDiscussions"].as_i64(), before["awaitingDiscussions"].as_i64()), (Some(0), Some(1)));

    // Arthur confirms it in the portal (the store call the portal's answer page makes).
    pollster::block_on(api.store().answer_discussion("person-arthur", id, 1, Status::Confirmed, None, "person-arthur", None, api.now.get())).unwrap();
    let after = ours(&api.get(&council, "/api/v1/monitoring"));
    assert_eq!(
        (after["confirmedDiscussions"].as_i64(), after["awaitingDiscussions"].as_i64(), after["confirmedPercent"].as_i64()),
        (Some(1), Some(0), Some(50))
    );
    // And the provider sees his answer.
    let listed = api.get(&provider, "/api/v1/consent-discussions?status=confirmed");
    assert_eq!(listed.body["items"][0]["id"], id);
    assert_eq!(listed.body["items"][0]["answeredBy"], "person");
}
