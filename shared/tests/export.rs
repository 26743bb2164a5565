//! "Download everything": gathering a whole record from a real SQLite store, carefront's own
//! JSON round trip, and the FHIR R4 bundle's shape — every resource type, references that
//! resolve inside the bundle, and each status mapping. (That the bundle is valid FHIR R4 is
//! checked against HL7's definitions in `e2e/unit/fhir-export.test.mjs`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

#[path = "support/export_fixture.rs"]
mod fixture;

use std::collections::{BTreeMap, BTreeSet};

use carefront_shared::consent::GrantState;
use carefront_shared::export::{self, FORMAT, RecordExport, consent_status, encounter_status, fhir_bundle, medication_statement_status, stable_uuid};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::record::VisitStatus;
use carefront_shared::store::SqlStore;
use fixture::{PERSON, VISITS, day, medicine, now};
use pollster::block_on;
use serde_json::{Value, json};

fn record() -> RecordExport {
    let db = NativeDatabase::for_tests().unwrap();
    let store = SqlStore::new(&db);
    block_on(fixture::seed(&store)).unwrap();
    block_on(export::gather(&store, &fixture::everything(), true, now())).unwrap().unwrap()
}

fn resources<'a>(bundle: &'a Value, resource_type: &str) -> Vec<&'a Value> {
    bundle["entry"].as_array().unwrap().iter().map(|entry| &entry["resource"]).filter(|resource| resource["resourceType"] == resource_type).collect()
}

fn by_id(bundle: &Value, resource_type: &str, kind: &str, id: &str) -> Value {
    let uuid = stable_uuid(kind, id).to_string();
    resources(bundle, resource_type).into_iter().find(|resource| resource["id"] == uuid.as_str()).cloned().unwrap_or_else(|| panic!("{resource_type} {id}"))
}

fn full_url(kind: &str, id: &str) -> String {
    format!("urn:uuid:{}", stable_uuid(kind, id))
}

fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("reference", Value::String(reference)) => found.push(reference.clone()),
                    _ => references(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[test]
fn gathering_takes_every_section_and_follows_every_page() {
    let export = record();
    assert_eq!(export.format, FORMAT);
    assert!(export.care_plan.is_some() && export.guide.is_some() && export.emergency_summary.is_some());
    assert_eq!(export.medicines.len(), 3);
    assert_eq!(export.administrations.len(), 3);
    assert_eq!(export.visits.len(), usize::try_from(VISITS).unwrap(), "every page of visits");
    assert_eq!(export.documents[0].content_base64, "YWJj");
    assert_eq!(export.grants.len(), 4);
    let sam = export.grants.iter().find(|exported| exported.grant.id == "grant-sam").unwrap();
    assert_eq!(sam.state, GrantState::Revoked);
    assert_eq!(sam.history.iter().map(|version| version.version).collect::<Vec<_>>(), [1, 2], "both versions kept");
    assert!(sam.history[0].snapshot.is_object(), "history snapshots are JSON, not strings of JSON");
    assert_eq!(export.consent_receipts.len(), 1);
    assert_eq!(export.access_log.len(), 1);
    let names: BTreeMap<&str, &str> = export.parties.iter().map(|party| (party.id.as_str(), party.name.as_str())).collect();
    assert_eq!(names["org-council"], "Northshire Council");
    assert_eq!(names["person-dan"], "Daniel Hughes");
    assert_eq!(names["org-care"], "Brookside");
    assert_eq!(export.format_needs.len(), 3, "ended needs too");
    assert_eq!(export.comments.len(), 1);
    assert_eq!(export.consent_discussions.len(), 1);
    assert_eq!(export.emergency_accesses.len(), 1);
    assert_eq!(export.emergency_accesses[0].clinician_role, "Paramedic");
    assert_eq!(export.sections().len(), 15, "{:?}", export.sections());
    assert_eq!(export.categories().len(), 8, "every category has something");
    let empty = NativeDatabase::for_tests().unwrap();
    let nobody = carefront_shared::consent::Actor { person_id: "nobody".into(), role: carefront_shared::domain::Role::ServiceUser, organisation_id: None };
    let permit = carefront_shared::access::Permit::ask_each(
        &nobody,
        "nobody",
        carefront_shared::consent::Action::View,
        &carefront_shared::consent::Category::ALL,
        &[],
        now(),
    )
    .unwrap();
    assert!(block_on(export::gather(&SqlStore::new(&empty), &permit, true, now())).unwrap().is_none());
}

#[test]
fn the_json_export_round_trips() {
    let export = record();
    let bytes = export.to_json().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\"format\": \"carefront-record-export/1\""), "{}", &text[..200]);
    assert!(!text.contains("webauthn_handle"), "passkey material stays out");
    assert!(!text.contains("secret-token-hash") && !text.contains("not-a-real-hash"), "so do the emergency code's secrets");
    let back: RecordExport = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, export);
}

#[test]
fn the_bundle_has_every_resource_type_and_its_references_resolve() {
    let export = record();
    let bundle = fhir_bundle(&export, "https://care.example.gov.uk/");
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    assert_eq!(bundle["timestamp"], "2026-11-21T09:00:00Z");
    let entries = bundle["entry"].as_array().unwrap();
    let types: BTreeSet<&str> = entries.iter().filter_map(|entry| entry["resource"]["resourceType"].as_str()).collect();
    let expected = [
        "AllergyIntolerance",
        "CarePlan",
        "Communication",
        "Consent",
        "DocumentReference",
        "Encounter",
        "Flag",
        "Goal",
        "Medication",
        "MedicationAdministration",
        "MedicationStatement",
        "Patient",
        "RelatedPerson",
    ];
    assert_eq!(types, BTreeSet::from(expected));
    let full_urls: BTreeSet<&str> = entries.iter().filter_map(|entry| entry["fullUrl"].as_str()).collect();
    assert_eq!(full_urls.len(), entries.len(), "every fullUrl is unique");
    for entry in entries {
        assert_eq!(entry["fullUrl"].as_str().unwrap(), format!("urn:uuid:{}", entry["resource"]["id"].as_str().unwrap()), "the id is the fullUrl's uuid");
    }
    let mut found = Vec::new();
    references(&bundle, &mut found);
    assert!(found.len() > entries.len(), "entries refer to each other");
    for reference in found {
        assert!(full_urls.contains(reference.as_str()), "{reference} resolves within the bundle");
    }
    assert_eq!(resources(&bundle, "Patient")[0]["identifier"][0], json!({ "system": "https://care.example.gov.uk/fhir/identifier/patient", "value": PERSON }));
    assert_eq!(resources(&bundle, "Encounter").len(), export.visits.len());
    assert_eq!(resources(&bundle, "Communication").len(), export.visits.len() - 1, "the missed visit has no note");
    assert_eq!(resources(&bundle, "DocumentReference").len(), 3, "the document, the guide and the emergency summary");
    assert_eq!(resources(&bundle, "RelatedPerson").len(), 2, "Sam and Ada, not the council");
    assert_eq!(fhir_bundle(&export, "https://care.example.gov.uk"), bundle, "the same record gives the same bundle");
}

#[test]
fn medicines_and_doses_map_to_fhir_statuses() {
    let bundle = fhir_bundle(&record(), "https://care.example.gov.uk");
    let statement = |id| by_id(&bundle, "MedicationStatement", "medication-statement", id);
    assert_eq!(statement("current")["status"], "active");
    assert_eq!(statement("stopped")["status"], "stopped");
    assert_eq!(statement("stopped")["effectivePeriod"], json!({ "start": "2026-09-01", "end": "2026-10-01" }));
    let current = statement("current");
    assert_eq!(current["medicationReference"]["reference"], full_url("medication", "current"));
    assert_eq!(current["dosage"][0]["timing"]["repeat"]["timeOfDay"], json!(["08:00:00", "19:00:00"]));
    assert_eq!(current["dosage"][0]["asNeededBoolean"], false);
    assert_eq!(current["dosage"][0]["text"], "2 tablets, by mouth, at 8am and 7pm");
    assert_eq!(current["dosage"][0]["doseAndRate"][0]["doseQuantity"], json!({ "value": 2.0, "unit": "tablets" }));
    let cream = statement("cream");
    assert_eq!(cream["dosage"][0]["asNeededBoolean"], true);
    assert!(cream["dosage"][0].get("timing").is_none() && cream["dosage"][0].get("doseAndRate").is_none());
    assert_eq!(medication_statement_status(&medicine("later", "2026-12-01", None), day("2026-11-21")), "intended");
    assert_eq!(medication_statement_status(&medicine("ends", "2026-01-01", Some("2026-11-22")), day("2026-11-21")), "active", "stops tomorrow");

    let dose = |id| by_id(&bundle, "MedicationAdministration", "medication-administration", id);
    let given = dose("a-given");
    assert_eq!((given["status"].as_str(), given.get("statusReason")), (Some("completed"), None));
    assert_eq!(given["effectiveDateTime"], "2026-11-20T08:00:00Z");
    assert_eq!(given["performer"][0]["actor"]["display"], "Jo Adeyemi");
    assert_eq!(given["medicationReference"]["reference"], full_url("medication", "current"));
    assert_eq!(dose("a-refused")["status"], "not-done");
    assert_eq!(dose("a-refused")["statusReason"][0]["text"], "Refused by the person: Felt sick");
    assert_eq!(dose("a-not")["status"], "not-done");
    assert_eq!(dose("a-not")["statusReason"][0]["text"], "Not given: Asleep");

    let allergy = by_id(&bundle, "AllergyIntolerance", "allergy", "allergy-1");
    assert_eq!(allergy["clinicalStatus"]["coding"][0]["code"], "active");
    assert_eq!(allergy["reaction"][0]["manifestation"][0]["text"], "Rash");
}

#[test]
fn grants_map_to_consents_and_representatives_to_related_people() {
    let bundle = fhir_bundle(&record(), "https://care.example.gov.uk");
    let consent = |id| by_id(&bundle, "Consent", "consent", id);
    let sam = consent("grant-sam");
    assert_eq!(sam["status"], "inactive", "revoked");
    assert_eq!(sam["provision"]["period"], json!({ "start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z" }), "it stopped when revoked");
    assert_eq!(sam["provision"]["actor"][0]["reference"]["reference"], full_url("related-person", "person-sam"));
    assert_eq!(sam["performer"][0]["reference"], full_url("patient", PERSON), "Margaret gave it");
    assert!(sam["text"]["div"].as_str().unwrap().contains("Sam &lt;Okafor&gt; may see Margaret Okafor's care plan, medicines"), "{}", sam["text"]["div"]);
    assert_eq!(consent("grant-ended")["status"], "inactive", "expired");

    let council = consent("grant-council");
    assert_eq!(council["status"], "active");
    assert_eq!(council["scope"]["coding"][0]["code"], "patient-privacy");
    assert_eq!(council["policyRule"]["text"], "A statutory duty of the council under the Care Act 2014: Care Act 2014, section 27");
    assert_eq!(council["sourceAttachment"]["title"], "Care Act 2014, section 27");
    assert_eq!(council["provision"]["actor"][0]["reference"]["display"], "Northshire Council");
    assert_eq!(council["provision"]["purpose"][0]["code"], "GOV");
    assert!(council["provision"]["period"].get("end").is_none(), "no end");
    assert_eq!(council["performer"][0]["display"], "Daniel Hughes");

    let ada = consent("grant-ada");
    assert_eq!(ada["provision"]["purpose"][0]["code"], "PWATRNY");
    assert_eq!(ada["provision"]["action"].as_array().unwrap().len(), 2, "access and correct");
    assert!(ada["text"]["div"].as_str().unwrap().contains("act for the person"));
    let ada = by_id(&bundle, "RelatedPerson", "related-person", "person-ada");
    assert_eq!(ada["active"], true);
    assert_eq!(ada["patient"]["reference"], full_url("patient", PERSON));
    assert_eq!(ada["relationship"][1]["coding"][0]["code"], "HPOWATT");
    assert_eq!(by_id(&bundle, "RelatedPerson", "related-person", "person-sam")["active"], false, "Sam's only grant was revoked");

    assert_eq!(consent_status(GrantState::NotStarted), "active");
}

#[test]
fn visits_are_encounters_and_their_notes_communications() {
    let bundle = fhir_bundle(&record(), "https://care.example.gov.uk");
    let missed = by_id(&bundle, "Encounter", "encounter", "visit-003");
    assert_eq!(missed["status"], "cancelled");
    assert_eq!(missed["class"]["code"], "HH");
    let visited = by_id(&bundle, "Encounter", "encounter", "visit-000");
    assert_eq!(visited["status"], "finished");
    assert_eq!(visited["serviceProvider"]["display"], "Brookside");
    let note = by_id(&bundle, "Communication", "communication", "visit-000");
    assert_eq!(note["encounter"]["reference"], full_url("encounter", "visit-000"));
    assert_eq!(note["payload"][0]["contentString"], "Note 0");
    assert_eq!(note["status"], "completed");
    assert_eq!(encounter_status(VisitStatus::Planned), "planned");
}

#[test]
fn format_needs_are_flags_with_their_snomed_codes() {
    let bundle = fhir_bundle(&record(), "https://care.example.gov.uk");
    let large_print = by_id(&bundle, "Flag", "format-need", "need-24");
    assert_eq!(large_print["status"], "active");
    assert_eq!(
        large_print["code"]["coding"][0],
        json!({ "system": "http://snomed.info/sct", "code": "957351000000102", "display": "Requires written information in at least 24 point sans serif font" })
    );
    let letter = by_id(&bundle, "Flag", "format-need", "need-letter");
    assert_eq!(letter["status"], "inactive");
    assert_eq!(letter["period"]["end"], "2026-11-01T10:00:00Z");
    let other = by_id(&bundle, "Flag", "format-need", "need-other");
    assert_eq!(other["code"], json!({ "text": "Other needs: Please ring before visiting" }), "free text has no SNOMED code");
}

#[test]
fn documents_carry_their_contents_size_and_sha1() {
    let bundle = fhir_bundle(&record(), "https://care.example.gov.uk");
    let document = by_id(&bundle, "DocumentReference", "document", "doc-1");
    let attachment = &document["content"][0]["attachment"];
    assert_eq!(attachment["contentType"], "text/plain");
    assert_eq!(attachment["data"], "YWJj");
    assert_eq!(attachment["size"], 3);
    // SHA-1("abc") from FIPS 180-2, in base64.
    assert_eq!(attachment["hash"], "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    assert_eq!(document["status"], "current");
    assert_eq!(document["type"]["text"], "Hospital discharge summary");
    let guide = by_id(&bundle, "DocumentReference", "guide", PERSON);
    assert_eq!(guide["author"][0]["display"], "Brookside");
    assert!(guide["content"][0]["attachment"]["contentType"].as_str().unwrap().starts_with("text/plain"));
}
