//! The council's export of a whole record through the API: carefront's JSON or a FHIR R4
//! Bundle, at once; only for the council's systems with a live basis covering every category
//! (404 otherwise), and one line in the person's access log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Basis, Category};
use carefront_shared::credential::Permission;
use support::{Api, COUNCIL, PROVIDER, problem_type};

#[test]
fn the_council_exports_a_whole_record_as_json_or_fhir() {
    let api = Api::new();
    api.seed_record("person-margaret", 2);
    let held = api.credential(COUNCIL, &[Permission::ExportRead]);
    let reply = api.get(&held, "/api/v1/people/person-margaret/export");
    assert_eq!((reply.status, reply.content_type.as_str()), (200, "application/json"), "{:#}", reply.body);
    assert_eq!(reply.body["format"], "carefront-record-export/1");
    assert_eq!(reply.body["person"]["id"], "person-margaret");
    assert_eq!(reply.body["medicines"].as_array().unwrap().len(), 2, "current and stopped");
    assert_eq!(reply.body["visits"].as_array().unwrap().len(), 2);
    assert!(reply.body["documents"][0]["content_base64"].is_string());
    assert_eq!(reply.headers["content-disposition"], "attachment; filename=\"carefront-record-person-margaret-2026-11-21.json\"");

    let fhir = api.get(&held, "/api/v1/people/person-margaret/export?format=fhir");
    assert_eq!((fhir.status, fhir.content_type.as_str()), (200, "application/fhir+json"));
    assert_eq!((fhir.body["resourceType"].as_str(), fhir.body["type"].as_str()), (Some("Bundle"), Some("collection")));
    let kinds: Vec<&str> = fhir.body["entry"].as_array().unwrap().iter().map(|entry| entry["resource"]["resourceType"].as_str().unwrap()).collect();
    for kind in ["Patient", "CarePlan", "MedicationAdministration", "Encounter", "Consent"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }

    let events = api.audit_events("person-margaret");
    let exported: Vec<_> = events.iter().filter(|event| event.action.as_str() == "api.record_exported").collect();
    assert_eq!(exported.len(), 2);
    assert_eq!(exported[0].basis.as_ref().map(|basis| basis.as_str()), Some("grant:grant-person-margaret-council (statutory_duty)"));
    assert!(exported[0].detail.contains("Northshire County Council's computer system") && exported[0].detail.contains("care plan"), "{}", exported[0].detail);
    assert_eq!(problem_type(&api.get(&held, "/api/v1/people/person-margaret/export?format=xml")), "bad-format");
}

#[test]
fn only_a_council_with_a_basis_for_every_category_may_export() {
    let api = Api::new();
    let held = api.credential(COUNCIL, &[Permission::ExportRead]);
    // Olive: the council has no basis; nobody: no such person. The same 404.
    let olive = api.get(&held, "/api/v1/people/person-olive/export");
    let nobody = api.get(&held, "/api/v1/people/person-nobody/export");
    assert_eq!((olive.status, &olive.body), (404, &nobody.body));
    // A basis for some categories only is not the whole record.
    api.grant("grant-olive-council", "person-olive", COUNCIL, &[Category::CarePlan, Category::Medication], Basis::StatutoryDuty);
    assert_eq!(api.get(&held, "/api/v1/people/person-olive/export").status, 404);
    assert!(api.audit_actions("person-olive").is_empty());

    let provider = api.credential(PROVIDER, &[Permission::PeopleRead, Permission::RecordRead]);
    let reply = api.get(&provider, "/api/v1/people/person-margaret/export");
    assert_eq!((reply.status, problem_type(&reply).as_str()), (403, "permission-required"));
    let council_without = api.credential(COUNCIL, &[Permission::RecordRead]);
    assert_eq!(api.get(&council_without, "/api/v1/people/person-margaret/export").status, 403);
    assert!(api.audit_actions("person-margaret").is_empty());
}
