//! The council's systems adding people: one at a time (`POST /api/v1/people`) and a caseload
//! as CSV (`POST /api/v1/people/import`) — council only, checked field by field, idempotent, and
//! an import is all of its rows or none of them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::credential::Permission;
use serde_json::json;
use support::{Api, COUNCIL, PROVIDER, problem_type};

const CASELOAD: &str = "name,date_of_birth,nhs_number,address,postcode,phone,email
Ellen Price,3/7/1941,943 476 5919,\"1 High Street\nNorthtown\",NT1 4AB,01632 960001,
Joseph Evans,1938-02-01,,2 Low Road,NT2 5CD,,joseph@example.com
";

fn people_rows(api: &Api) -> usize {
    api.rows("SELECT 1 FROM people WHERE date_of_birth IS NOT NULL")
}

#[test]
fn the_council_adds_a_person_who_gets_the_councils_statutory_access() {
    let api = Api::new();
    let held = api.credential(COUNCIL, &[Permission::PeopleWrite]);
    let body = json!({ "name": "Ellen Price", "dateOfBirth": "1941-07-03", "nhsNumber": "943 476 5919", "postcode": "nt1 4ab" });
    let reply = api.post(&held, "/api/v1/people", Some("add-ellen"), &body);
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(
        (reply.body["name"].as_str(), reply.body["nhsNumber"].as_str(), reply.body["enrolled"].as_bool()),
        (Some("Ellen Price"), Some("9434765919"), Some(false))
    );
    let id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.headers["location"], format!("/api/v1/people/{id}"));
    assert_eq!(api.audit_actions(&id), ["person.added"]);
    // The same request again: the same person, nothing more written.
    let again = api.post(&held, "/api/v1/people", Some("add-ellen"), &body);
    assert_eq!((again.status, again.body["id"].as_str()), (200, Some(id.as_str())));
    assert_eq!(people_rows(&api), 1);
    // The same NHS number under a new key is the same person: refused.
    let twice =
        api.post(&held, "/api/v1/people", Some("add-ellen-again"), &json!({ "name": "E Price", "dateOfBirth": "1950-01-01", "nhsNumber": "9434765919" }));
    assert_eq!((twice.status, problem_type(&twice).as_str(), twice.body["personId"].as_str()), (409, "person-already-held", Some(id.as_str())));
    // The same name and date of birth: a likely duplicate, unless the caller says they checked.
    let close = json!({ "name": "ellen  price", "dateOfBirth": "3/7/1941" });
    let warned = api.post(&held, "/api/v1/people", Some("add-ellen-3"), &close);
    assert_eq!((warned.status, problem_type(&warned).as_str()), (409, "likely-duplicate"));
    assert_eq!(warned.body["duplicates"], json!([id]));
    let checked = json!({ "name": "ellen  price", "dateOfBirth": "3/7/1941", "notADuplicate": true });
    assert_eq!(api.post(&held, "/api/v1/people", Some("add-ellen-4"), &checked).status, 201);
}

#[test]
fn bad_details_are_named_field_by_field_and_nothing_is_added() {
    let api = Api::new();
    let held = api.credential(COUNCIL, &[Permission::PeopleWrite]);
    let reply = api.post(
        &held,
        "/api/v1/people",
        Some("bad"),
        &json!({ "name": " ", "dateOfBirth": "31/2/1941", "nhsNumber": "943 476 5918", "email": "not-an-email" }),
    );
    assert_eq!((reply.status, problem_type(&reply).as_str()), (422, "invalid-fields"), "{:#}", reply.body);
    let names: Vec<&str> = reply.body["invalid-params"].as_array().unwrap().iter().map(|param| param["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["name", "dateOfBirth", "nhsNumber", "email"]);
    let unknown = api.post(&held, "/api/v1/people", Some("bad-2"), &json!({ "name": "A", "dateOfBirth": "1941-07-03", "shoeSize": 9 }));
    assert_eq!((unknown.status, problem_type(&unknown).as_str()), (400, "invalid-body"));
    assert_eq!(people_rows(&api), 0);
}

#[test]
fn only_the_councils_systems_add_people() {
    let api = Api::new();
    // A provider's credential is never made with a council-only permission.
    assert!(Permission::PeopleWrite.council_only());
    let provider = api.credential(PROVIDER, &[Permission::PeopleRead]);
    let reply = api.post(&provider, "/api/v1/people", Some("p"), &json!({ "name": "Ellen Price", "dateOfBirth": "1941-07-03" }));
    assert_eq!((reply.status, problem_type(&reply).as_str()), (403, "permission-required"));
    let council_reader = api.credential(COUNCIL, &[Permission::PeopleRead]);
    assert_eq!(api.post(&council_reader, "/api/v1/people", Some("p"), &json!({ "name": "Ellen Price", "dateOfBirth": "1941-07-03" })).status, 403);
    let import = api.call(api.signed_body(&provider, "/api/v1/people/import", Some("i"), "text/csv", CASELOAD.into()));
    assert_eq!(import.status, 403);
    assert_eq!(people_rows(&api), 0);
}

#[test]
fn a_caseload_is_imported_whole_and_a_retry_names_the_same_people() {
    let api = Api::new();
    let held = api.credential(COUNCIL, &[Permission::PeopleWrite]);
    let reply = api.call(api.signed_body(&held, "/api/v1/people/import", Some("caseload-1"), "text/csv; charset=utf-8", CASELOAD.into()));
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["imported"], 2);
    let lines: Vec<(u64, &str)> =
        reply.body["people"].as_array().unwrap().iter().map(|person| (person["line"].as_u64().unwrap(), person["name"].as_str().unwrap())).collect();
    assert_eq!(lines, [(2, "Ellen Price"), (4, "Joseph Evans")]);
    let again = api.call(api.signed_body(&held, "/api/v1/people/import", Some("caseload-1"), "text/csv", CASELOAD.into()));
    assert_eq!(again.status, 200, "{:#}", again.body);
    assert_eq!(again.body["people"], reply.body["people"]);
    assert_eq!(people_rows(&api), 2);
    // Under a new key the file is all people already held: nothing is added.
    let twice = api.call(api.signed_body(&held, "/api/v1/people/import", Some("caseload-2"), "text/csv", CASELOAD.into()));
    assert_eq!((twice.status, problem_type(&twice).as_str()), (422, "rows-rejected"));
    assert_eq!(people_rows(&api), 2);
}

#[test]
fn one_bad_row_rejects_the_whole_import_with_every_problem_by_line() {
    let api = Api::new();
    let held = api.credential(COUNCIL, &[Permission::PeopleWrite]);
    let file = format!("{CASELOAD}Grace Khan,31/02/1940,123,,,,\n");
    let reply = api.call(api.signed_body(&held, "/api/v1/people/import", Some("caseload-1"), "text/csv", file.into_bytes()));
    assert_eq!((reply.status, problem_type(&reply).as_str()), (422, "rows-rejected"), "{:#}", reply.body);
    let rows: Vec<(u64, &str)> =
        reply.body["rejectedRows"].as_array().unwrap().iter().map(|row| (row["line"].as_u64().unwrap(), row["field"].as_str().unwrap())).collect();
    assert_eq!(rows, [(5, "dateOfBirth"), (5, "nhsNumber")]);
    assert_eq!(people_rows(&api), 0, "nothing half-imported");
    // Not CSV, or a file with unknown columns: said plainly, nothing written.
    let json = api.call(api.signed_body(&held, "/api/v1/people/import", Some("caseload-2"), "application/json", b"{}".to_vec()));
    assert_eq!(json.status, 415);
    let columns = api.call(api.signed_body(&held, "/api/v1/people/import", Some("caseload-3"), "text/csv", b"name,shoe_size\nA,9\n".to_vec()));
    assert_eq!((columns.status, problem_type(&columns).as_str()), (400, "unreadable-file"));
    assert!(columns.body["detail"].as_str().unwrap().contains("shoe_size"));
    assert_eq!(people_rows(&api), 0);
}

#[test]
fn a_failed_import_leaves_nothing_behind() {
    let api = Api::new();
    let held = api.credential(COUNCIL, &[Permission::PeopleWrite]);
    let grants = api.rows("SELECT 1 FROM grants");
    for fail_at in 1..8 {
        let (reply, failed) =
            api.call_failing(api.signed_body(&held, "/api/v1/people/import", Some(&format!("k{fail_at}")), "text/csv", CASELOAD.into()), fail_at);
        if !failed {
            break;
        }
        assert_eq!(reply.status, 503, "{:#}", reply.body);
        assert_eq!(people_rows(&api), 0, "a failure at statement {fail_at} left people behind");
        assert_eq!(api.rows("SELECT 1 FROM grants"), grants);
    }
}
