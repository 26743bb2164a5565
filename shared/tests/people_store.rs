//! The people store against real SQLite: a person added with their details (directly or in a
//! plan), found by name, date of birth or NHS number, and the likely-duplicate check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use carefront_shared::db::DbError;
use carefront_shared::domain::{Person, Role};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::person::{Likeness, NewPerson, PersonInput, PersonQuery};
use carefront_shared::plan::Recorder;
use carefront_shared::store::{PeopleStore, SqlStore, Store};
use chrono::{DateTime, NaiveDate, Utc};
use pollster::block_on;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z").unwrap().with_timezone(&Utc)
}

fn person(id: &str, name: &str, role: Role, handle: u128) -> Person {
    Person { id: id.into(), role, display_name: name.into(), organisation_id: None, webauthn_handle: uuid::Uuid::from_u128(handle), created_at: now() }
}

fn details(name: &str, born: &str, nhs: &str) -> NewPerson {
    let input = PersonInput {
        display_name: name.into(),
        date_of_birth: born.into(),
        nhs_number: nhs.into(),
        address: "12 Mill Lane\nLeeds".into(),
        postcode: "LS1 4AP".into(),
        phone: "0113 496 0000".into(),
        email: String::new(),
    };
    NewPerson::validate(&input, now()).unwrap()
}

fn seeded(db: &NativeDatabase) -> SqlStore<'_> {
    let store = SqlStore::new(db);
    let margaret = details("Margaret Okafor", "3/7/1941", "943 476 5919");
    block_on(store.insert_person_with_details(&person("margaret", "Margaret Okafor", Role::ServiceUser, 1), &margaret)).unwrap();
    let arthur = details("Arthur Okafor", "3/7/1941", "");
    block_on(store.insert_person_with_details(&person("arthur", "Arthur Okafor", Role::ServiceUser, 2), &arthur)).unwrap();
    // Staff are never found by the council's people search.
    block_on(store.insert_person(&person("staff", "Margaret Staff", Role::CouncilStaff, 3))).unwrap();
    store
}

#[test]
fn a_person_added_with_details_reads_back_whole() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let margaret = block_on(store.person_details("margaret")).unwrap().unwrap();
    assert_eq!(margaret.display_name, "Margaret Okafor");
    assert_eq!(margaret.date_of_birth, NaiveDate::from_ymd_opt(1941, 7, 3));
    assert_eq!(margaret.nhs_number.as_ref().map(|number| number.spaced()), Some("943 476 5919".into()));
    assert_eq!(margaret.address.as_deref(), Some("12 Mill Lane\nLeeds"));
    assert_eq!(margaret.postcode.as_deref(), Some("LS1 4AP"));
    assert_eq!(margaret.phone.as_deref(), Some("0113 496 0000"));
    assert_eq!(margaret.email, None);
    assert!(!margaret.enrolled);
    assert_eq!(margaret.date_of_birth_text().as_deref(), Some("3 July 1941"));
    // Existing callers see the same person as before.
    assert_eq!(block_on(store.person("margaret")).unwrap().unwrap().role, Role::ServiceUser);
    // People added the old way have no details.
    let staff = block_on(store.person_details("staff")).unwrap().unwrap();
    assert_eq!((staff.date_of_birth, staff.nhs_number), (None, None));
    assert_eq!(block_on(store.person_details("nobody")).unwrap(), None);
}

#[test]
fn an_nhs_number_already_held_is_refused_by_the_database() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let again = details("Maggie Okafor", "3/7/1941", "9434765919");
    let refused = block_on(store.insert_person_with_details(&person("maggie", "Maggie Okafor", Role::ServiceUser, 9), &again));
    assert!(matches!(refused, Err(DbError::Constraint(_))), "{refused:?}");
    assert_eq!(block_on(store.person("maggie")).unwrap(), None);
}

#[test]
fn adding_a_person_can_be_one_statement_of_a_plan() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&db);
    let recorder = Recorder::new();
    let ada = details("Ada Lovelace", "10/12/1935", "401 023 2137");
    block_on(recorder.store().insert_person_with_details(&person("ada", "Ada Lovelace", Role::ServiceUser, 4), &ada)).unwrap();
    let plan = recorder.into_plan();
    assert_eq!(plan.statements().len(), 1);
    assert_eq!(block_on(store.person_details("ada")).unwrap(), None, "a recorded plan writes nothing until applied");
    block_on(store.apply(&plan)).unwrap();
    assert_eq!(block_on(store.person_details("ada")).unwrap().unwrap().nhs_number.map(String::from), Some("4010232137".into()));
}

#[test]
fn people_are_found_by_name_date_of_birth_or_nhs_number() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let found = |text: &str| -> Vec<String> {
        let query = PersonQuery::parse(text).unwrap();
        block_on(store.find_people(&query, 20)).unwrap().into_iter().map(|person| person.id).collect()
    };
    assert_eq!(found("okafor"), ["arthur", "margaret"]);
    assert_eq!(found("MARGARET"), ["margaret"], "service users only, case ignored");
    assert_eq!(found("3/7/1941"), ["arthur", "margaret"]);
    assert_eq!(found("943 476 5919"), ["margaret"]);
    assert_eq!(found("9434765918"), Vec::<String>::new());
    assert_eq!(found("%"), Vec::<String>::new(), "a wildcard is a character, not everyone");
    assert_eq!(block_on(store.find_people(&PersonQuery::parse("okafor").unwrap(), 1)).unwrap().len(), 1);
}

#[test]
fn likely_duplicates_come_from_the_store() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let same_number = details("Someone Else", "1/1/1950", "943 476 5919");
    let found = block_on(store.likely_duplicates(&same_number)).unwrap();
    assert_eq!(found.iter().map(|duplicate| (duplicate.person.id.as_str(), duplicate.likeness)).collect::<Vec<_>>(), [("margaret", Likeness::SameNhsNumber)]);
    let same_birthday = details("Peter Okafor", "3/7/1941", "");
    let found = block_on(store.likely_duplicates(&same_birthday)).unwrap();
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|duplicate| duplicate.likeness == Likeness::SameBirthAndSurname));
    let stranger = details("Peter Smith", "3/7/1941", "");
    assert!(block_on(store.likely_duplicates(&stranger)).unwrap().is_empty());
}

#[test]
fn the_council_adds_a_person_with_its_statutory_access_and_a_log_line_in_one_plan() {
    use carefront_shared::consent::{Basis, Grantee};
    use carefront_shared::onboarding::{self, Commission, CommissionInput, NewRepresentative, RepresentativeInput};
    use carefront_shared::random::SeededRandom;

    let db = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&db);
    let random = SeededRandom::new(7);
    let recorder = Recorder::new();
    let ada = details("Ada Lovelace", "10/12/1935", "401 023 2137");
    let added = block_on(onboarding::add_service_user(&recorder.store(), &ada, "org-council", "daniel", now(), &random)).unwrap();
    block_on(store.apply(&recorder.into_plan())).unwrap();
    let id = added.person.id.clone();
    assert_eq!(block_on(store.person_details(&id)).unwrap().unwrap().display_name, "Ada Lovelace");
    let grants = block_on(store.grants_for_subject(&id)).unwrap();
    let council = onboarding::council_grant(&grants, "org-council", now()).unwrap();
    assert_eq!(council.id, added.council_grant.id);
    assert_eq!(onboarding::council_grant(&grants, "org-other", now()), None);

    let representative = NewRepresentative::validate(&RepresentativeInput {
        name: "Sam Okafor".into(),
        relationship: "son".into(),
        basis: "court_appointed_deputy".into(),
        evidence: "COP 1234567".into(),
    })
    .unwrap();
    let commission = Commission::validate(
        &CommissionInput {
            provider_id: "org-brookside".into(),
            categories: vec!["care_plan".into()],
            starts: "30/11/2026".into(),
            ends: String::new(),
            contract_reference: "NCC-1".into(),
        },
        now(),
    )
    .unwrap();
    let recorder = Recorder::new();
    let recorded = block_on(onboarding::record_representative(&recorder.store(), &id, &council.id, &representative, "daniel", now(), &random)).unwrap();
    let commissioned =
        block_on(onboarding::commission_provider(&recorder.store(), &id, &council.id, &commission, "Brookside", "daniel", now(), &random)).unwrap();
    block_on(store.apply(&recorder.into_plan())).unwrap();
    let grants = block_on(store.grants_for_subject(&id)).unwrap();
    let act_for = grants.iter().find(|grant| grant.id == recorded.grant.id).unwrap();
    assert!(act_for.act_for);
    assert_eq!((act_for.basis, act_for.evidence.as_deref()), (Basis::CourtAppointedDeputy, Some("COP 1234567")));
    assert_eq!(act_for.grantee, Grantee::Person(recorded.person.id.clone()));
    let provider = grants.iter().find(|grant| grant.id == commissioned.id).unwrap();
    assert_eq!((provider.basis, provider.grantee.clone()), (Basis::StatutoryDuty, Grantee::Organisation("org-brookside".into())));
    let actions: Vec<String> = block_on(db_actions(&db, &id));
    assert_eq!(actions, ["person.added", "provider.commissioned", "representative.recorded"]);
}

async fn db_actions(db: &NativeDatabase, subject: &str) -> Vec<String> {
    use carefront_shared::db::Database;
    let rows = db.query("SELECT action FROM audit_events WHERE subject_id = ?1 ORDER BY action", &[subject.into()]).await.unwrap();
    rows.iter().map(|row| row.text(0).unwrap()).collect()
}
