//! The caseload import against a real SQLite store: all the rows or none of them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use carefront_shared::domain::{Organisation, OrganisationKind};
use carefront_shared::import::{self, ImportOutcome};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::store::{PeopleStore as _, SqlStore, Store as _};
use chrono::{DateTime, TimeZone, Utc};

const COUNCIL: &str = "org-northshire-council";
const BY: import::ImportBy<'static> = import::ImportBy { council_id: COUNCIL, actor_id: "carefront-admin", limit: 100 };

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).single().unwrap()
}

async fn council(store: &SqlStore<'_>) {
    let council = Organisation { id: COUNCIL.into(), kind: OrganisationKind::Council, name: "Northshire County Council".into(), created_at: now() };
    store.insert_organisation(&council).await.unwrap();
}

async fn people(store: &SqlStore<'_>) -> i64 {
    // An empty part of a name matches every service user.
    store.find_people(&carefront_shared::person::PersonQuery::Name(String::new()), 200).await.unwrap().len() as i64
}

const GOOD: &str = "name,date_of_birth,nhs_number,address,postcode,phone,email
Margaret Okafor,3/7/1941,943 476 5919,\"1 High Street\nNorthtown\",NT1 4AB,01632 960001,
Arthur Jenkins,1938-02-01,,2 Low Road,NT2 5CD,,arthur@example.com
";

#[test]
fn every_row_is_added_with_the_councils_access_and_a_line_in_their_log() {
    pollster::block_on(async {
        let database = NativeDatabase::for_tests().unwrap();
        let store = SqlStore::new(&database);
        council(&store).await;
        let outcome = import::import(&store, GOOD, &BY, now(), &SeededRandom::new(7)).await.unwrap();
        let ImportOutcome::Imported(added) = outcome else { panic!("{outcome:?}") };
        assert_eq!(added.iter().map(|person| (person.line, person.display_name.as_str())).collect::<Vec<_>>(), [(2, "Margaret Okafor"), (4, "Arthur Jenkins")]);
        let margaret = store.person_details(&added[0].id).await.unwrap().unwrap();
        assert_eq!(margaret.nhs_number.map(|number| number.as_str().to_owned()).as_deref(), Some("9434765919"));
        assert_eq!(margaret.address.as_deref(), Some("1 High Street\nNorthtown"));
        let grants = store.grants_for_subject(&added[0].id).await.unwrap();
        assert!(carefront_shared::onboarding::council_grant(&grants, COUNCIL, now()).is_some(), "the council can review her care");
        // Importing the same file again adds no one: they are all held already.
        let again = import::import(&store, GOOD, &BY, now(), &SeededRandom::new(8)).await.unwrap();
        let ImportOutcome::Rejected(rejected) = again else { panic!("{again:?}") };
        assert_eq!(rejected.iter().map(|row| row.line).collect::<Vec<_>>(), [2, 4]);
    });
}

#[test]
fn one_bad_row_means_nothing_is_added() {
    pollster::block_on(async {
        let database = NativeDatabase::for_tests().unwrap();
        let store = SqlStore::new(&database);
        council(&store).await;
        let file = format!("{GOOD}Ellen Price,31/02/1940,,,,,\n");
        let outcome = import::import(&store, &file, &BY, now(), &SeededRandom::new(7)).await.unwrap();
        let ImportOutcome::Rejected(rejected) = outcome else { panic!("{outcome:?}") };
        assert_eq!((rejected[0].line, rejected[0].field), (5, "date_of_birth"));
        assert_eq!(people(&store).await, 0, "nothing half-imported");
    });
}

#[test]
fn a_file_that_cannot_be_read_adds_nothing_and_says_why() {
    pollster::block_on(async {
        let database = NativeDatabase::for_tests().unwrap();
        let store = SqlStore::new(&database);
        council(&store).await;
        let error = import::import(&store, "name;dob\n", &BY, now(), &SeededRandom::new(7)).await.unwrap_err();
        assert!(error.to_string().contains("name;dob"), "{error}");
        assert_eq!(people(&store).await, 0);
    });
}
