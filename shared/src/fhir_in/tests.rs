//! The reader on Bundles a provider's own system might send (the round trip of carefront's own
//! export is tested through the API): a transaction of a prescription, an appointment and a
//! discharge summary; what is left out; ids that belong to one person.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::record::{DocumentKind, VisitStatus};

const BASE: &str = "https://care.example.gov.uk";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-07-14T09:00:00Z").map(|time| time.with_timezone(&Utc)).unwrap_or_default()
}

fn target(person_id: &str) -> Target<'_> {
    Target { person_id, organisation_id: "org-brookside", identifier_base: BASE, care_plan_id: None, author: "Brookside Home Care", now: now() }
}

fn patient_entry(person: &str) -> Value {
    json!({
        "fullUrl": "urn:uuid:5b0a0b2e-0000-4000-8000-000000000001",
        "request": { "method": "PUT", "url": "Patient/p1" },
        "resource": { "resourceType": "Patient", "identifier": [{ "system": format!("{BASE}/fhir/identifier/patient"), "value": person }] },
    })
}

/// A provider's transaction: a prescription taken at 8am and 6pm on the home's clocks, an
/// appointment with a carer, and a discharge summary coded in LOINC.
fn transaction() -> Value {
    let subject = json!({ "reference": "urn:uuid:5b0a0b2e-0000-4000-8000-000000000001" });
    let body = b"Discharged home on 10 July 2026.\n";
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            patient_entry("person-margaret"),
            {
                "fullUrl": "urn:uuid:5b0a0b2e-0000-4000-8000-000000000002",
                "request": { "method": "POST", "url": "MedicationRequest" },
                "resource": {
                    "resourceType": "MedicationRequest",
                    "identifier": [{ "system": "https://brookside.example/rx", "value": "rx-77" }],
                    "status": "active",
                    "intent": "order",
                    "medicationCodeableConcept": { "coding": [{ "system": "http://snomed.info/sct", "code": "322236009", "display": "Paracetamol 500 mg tablets" }] },
                    "subject": subject,
                    "authoredOn": "2026-07-10",
                    "requester": { "display": "Dr Patel" },
                    "dosageInstruction": [{
                        "text": "1 tablet, by mouth",
                        "route": { "text": "By mouth" },
                        "timing": { "repeat": { "timeOfDay": ["18:00:00", "08:00:00"] } },
                        "doseAndRate": [{ "doseQuantity": { "value": 1, "unit": "tablet" } }],
                    }],
                },
            },
            {
                "fullUrl": "urn:uuid:5b0a0b2e-0000-4000-8000-000000000003",
                "request": { "method": "POST", "url": "Appointment" },
                "resource": {
                    "resourceType": "Appointment",
                    "status": "booked",
                    "start": "2026-07-15T08:00:00+01:00",
                    "end": "2026-07-15T08:45:00+01:00",
                    "participant": [
                        { "actor": subject, "status": "accepted" },
                        { "actor": { "display": "Jo" }, "status": "accepted" },
                    ],
                },
            },
            {
                "fullUrl": "urn:uuid:5b0a0b2e-0000-4000-8000-000000000004",
                "request": { "method": "POST", "url": "DocumentReference" },
                "resource": {
                    "resourceType": "DocumentReference",
                    "status": "current",
                    "type": { "coding": [{ "system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary" }] },
                    "subject": subject,
                    "date": "2026-07-10T15:00:00Z",
                    "description": "Discharge summary, St Mary's",
                    "content": [{ "attachment": { "contentType": "text/plain", "data": STANDARD.encode(body), "size": body.len() } }],
                },
            },
            {
                "fullUrl": "urn:uuid:5b0a0b2e-0000-4000-8000-000000000005",
                "request": { "method": "POST", "url": "Flag" },
                "resource": { "resourceType": "Flag", "status": "active", "code": { "text": "Large print" }, "subject": subject },
            },
        ],
    })
}

#[test]
fn a_providers_transaction_becomes_a_medicine_a_planned_visit_and_a_document() {
    let (kind, import) = read_bundle(&transaction(), target("person-margaret")).unwrap_or_else(|refusal| panic!("{refusal:#?}"));
    assert_eq!(kind, BundleType::Transaction);
    let medicine = &import.medicines[0];
    assert_eq!((medicine.name.as_str(), medicine.dose.as_str(), medicine.prescriber.as_str()), ("Paracetamol 500 mg tablets", "1 tablet", "Dr Patel"));
    let times: Vec<NaiveTime> = [8, 18].iter().filter_map(|hour| NaiveTime::from_hms_opt(*hour, 0, 0)).collect();
    assert_eq!(medicine.times, times, "times on the home's clocks, in order");
    assert_eq!(medicine.started_on, NaiveDate::from_ymd_opt(2026, 7, 10).unwrap_or_default());
    let visit = &import.visits[0];
    assert_eq!((visit.status, visit.carers.as_str(), visit.organisation_id.as_str()), (VisitStatus::Planned, "Jo", "org-brookside"));
    assert_eq!(visit.starts_at.to_rfc3339(), "2026-07-15T07:00:00+00:00", "8am BST is 07:00 UTC");
    let document = &import.documents[0];
    assert_eq!((document.document.kind, document.document.added_by.as_str()), (DocumentKind::DischargeSummary, "Brookside Home Care"));
    assert_eq!(import.left_out.iter().map(|outcome| outcome.resource_type.as_str()).collect::<Vec<_>>(), ["Patient", "Flag"]);
    assert_eq!(import.categories().len(), 3);
}

#[test]
fn ids_are_the_same_for_the_same_resource_and_never_anyone_elses() {
    let bundle = transaction();
    let ids = |person: &'static str| {
        let mut bundle = bundle.clone();
        bundle["entry"][0] = patient_entry(person);
        read_bundle(&bundle, target(person)).map(|(_, import)| import.medicines[0].id.clone()).unwrap_or_default()
    };
    assert_eq!(ids("person-margaret"), ids("person-margaret"));
    assert_ne!(ids("person-margaret"), ids("person-arthur"));
    assert!(ids("person-margaret").starts_with("fhir-"));
}

#[test]
fn problems_name_their_place_and_say_what_kind_they_are() {
    let mut bundle = transaction();
    bundle["entry"][1]["resource"]["intent"] = json!("wish");
    bundle["entry"][2]["request"]["method"] = json!("DELETE");
    bundle["entry"][3]["resource"]["subject"] = json!({ "identifier": { "system": format!("{BASE}/fhir/identifier/patient"), "value": "person-olive" } });
    let refusal = read_bundle(&bundle, target("person-margaret")).err().unwrap_or_else(|| panic!("refused"));
    let found: Vec<(&str, ProblemKind)> = refusal.problems.iter().map(|problem| (problem.path.as_str(), problem.kind)).collect();
    assert_eq!(
        found,
        [
            ("entry[2].request.method", ProblemKind::Unrecordable),
            ("entry[1].resource.intent", ProblemKind::Invalid),
            ("entry[3].resource.subject.identifier", ProblemKind::OtherPerson),
        ]
    );
    assert!(refusal.is_invalid_r4());
}
