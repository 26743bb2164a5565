//! FHIR R4 in through the API: a Bundle of the resources the export writes puts the record in
//! as one plan, only with a live grant to contribute to every category it writes (404
//! otherwise), idempotently, audited; every kind of invalid resource is refused by its place
//! and writes nothing; a resource about anyone else is refused; and the round trip — export,
//! import into an empty store, export again — gives the same record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeMap;

use carefront_shared::consent::{Basis, Category};
use carefront_shared::credential::Permission;
use serde_json::{Value, json};
use support::{Api, COUNCIL, Held, OTHER_PROVIDER, PROVIDER, Reply, problem_type};

const MARGARET: &str = "/api/v1/people/person-margaret/fhir";

/// The categories a whole exported record writes to.
const WRITTEN: [Category; 5] = [Category::CarePlan, Category::Medication, Category::VisitsAndNotes, Category::Contacts, Category::Documents];

/// The harness's people and grants, and the provider's grant to contribute to what a Bundle
/// writes about Margaret.
fn api() -> Api {
    let api = Api::new();
    api.grant("grant-margaret-fhir", "person-margaret", PROVIDER, &WRITTEN, Basis::Consent);
    api
}

fn writer(api: &Api) -> Held {
    api.credential(PROVIDER, &[Permission::FhirWrite, Permission::RecordRead])
}

/// The person's whole record as the council exports it, as FHIR.
fn export(api: &Api, person: &str) -> Value {
    let council = api.credential(COUNCIL, &[Permission::ExportRead]);
    let reply = api.get(&council, &format!("/api/v1/people/{person}/export?format=fhir"));
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    reply.body
}

/// Margaret's seeded record (two visits), exported.
fn margaret_bundle() -> Value {
    let source = api();
    source.seed_record("person-margaret", 2);
    export(&source, "person-margaret")
}

fn post(api: &Api, held: &Held, path: &str, key: &str, bundle: &Value) -> Reply {
    api.call(api.signed_body(held, path, Some(key), "application/fhir+json", serde_json::to_vec(bundle).unwrap()))
}

/// The place of the first entry holding a `resource_type`.
fn entry(bundle: &Value, resource_type: &str) -> usize {
    bundle["entry"].as_array().unwrap().iter().position(|entry| entry["resource"]["resourceType"] == resource_type).unwrap()
}

fn invalid_names(reply: &Reply) -> Vec<String> {
    reply.body["invalid-params"].as_array().unwrap_or(&Vec::new()).iter().map(|param| param["name"].as_str().unwrap().to_owned()).collect()
}

/// Rows of the care record about Margaret, and the import's lines in her access log.
fn written(api: &Api) -> usize {
    let tables = ["care_plans", "medicines", "allergies", "administrations", "care_visits", "contacts", "documents"];
    let rows: usize = tables.iter().map(|table| api.rows(&format!("SELECT 1 FROM {table} WHERE person_id = 'person-margaret'"))).sum();
    rows + api.audit_actions("person-margaret").iter().filter(|action| *action == "api.fhir_bundle_imported").count()
}

#[test]
fn a_valid_bundle_puts_the_record_in_as_one_audited_plan() {
    let bundle = margaret_bundle();
    let api = api();
    let held = writer(&api);
    let reply = post(&api, &held, MARGARET, "fhir-1", &bundle);
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["bundleType"], "collection");
    assert_eq!(reply.body["categories"], json!(["care_plan", "medication", "visits_and_notes", "contacts", "documents"]));
    let left_out: Vec<&str> = reply.body["leftOut"].as_array().unwrap().iter().map(|outcome| outcome["resourceType"].as_str().unwrap()).collect();
    assert!(left_out.contains(&"Consent") && left_out.contains(&"DocumentReference"), "grants and the guide are not put in: {left_out:?}");

    let reader = api.credential(PROVIDER, &[Permission::RecordRead]);
    let medicines = api.get(&reader, "/api/v1/people/person-margaret/medicines");
    assert_eq!(medicines.status, 200, "{:#}", medicines.body);
    let paracetamol = &medicines.body["medicines"].as_array().unwrap().iter().find(|medicine| medicine["name"] == "Paracetamol 500 mg").cloned().unwrap();
    assert_eq!(paracetamol["times"], json!(["08:00", "20:00"]), "schedule times are the home's wall-clock times: {paracetamol:#}");
    assert_eq!(paracetamol["dose"], "2 tablets");

    // One line per category written, each on the grant that allowed it.
    let events = api.audit_events("person-margaret");
    let imported: Vec<_> = events.iter().filter(|event| event.action.as_str() == "api.fhir_bundle_imported").collect();
    assert_eq!(imported.len(), 5);
    assert!(imported.iter().all(|event| event.basis.as_ref().map(|basis| basis.as_str()) == Some("grant:grant-margaret-fhir (consent)")));
    assert!(imported[0].detail.contains("Brookside Home Care's computer system") && imported[0].detail.contains("2 medicines"), "{}", imported[0].detail);
}

#[test]
fn each_kind_of_invalid_resource_is_refused_by_its_place_and_writes_nothing() {
    let bundle = margaret_bundle();
    let statement = entry(&bundle, "MedicationStatement");
    let plan = entry(&bundle, "CarePlan");
    let allergy = entry(&bundle, "AllergyIntolerance");
    let encounter = entry(&bundle, "Encounter");
    let goal = entry(&bundle, "Goal");
    let dose = entry(&bundle, "MedicationAdministration");
    let document = entry(&bundle, "DocumentReference");
    type Change = fn(&mut Value);
    let cases: Vec<(usize, Change, u16, String)> = vec![
        (statement, |resource| resource["status"] = json!("taking"), 400, format!("entry[{statement}].resource.status")),
        (plan, |resource| drop(resource.as_object_mut().unwrap().remove("intent")), 400, format!("entry[{plan}].resource.intent")),
        (allergy, |resource| resource["recordedDate"] = json!("21/11/2026"), 400, format!("entry[{allergy}].resource.recordedDate")),
        (encounter, |resource| resource["period"]["start"] = json!("2026-11-20T09:00:00"), 400, format!("entry[{encounter}].resource.period.start")),
        (encounter, |resource| resource["status"] = json!("in-progress"), 422, format!("entry[{encounter}].resource.status")),
        (goal, |resource| drop(resource.as_object_mut().unwrap().remove("lifecycleStatus")), 400, format!("entry[{goal}].resource.lifecycleStatus")),
        (dose, |resource| resource["effectiveDateTime"] = json!("2026-11-20"), 422, format!("entry[{dose}].resource.effectiveDateTime")),
        (
            statement,
            |resource| resource["dosage"][0]["timing"]["repeat"]["timeOfDay"][0] = json!("8am"),
            400,
            format!("entry[{statement}].resource.dosage[0].timing.repeat.timeOfDay[0]"),
        ),
        (statement, |resource| resource["dosage"] = json!({ "text": "2 tablets" }), 400, format!("entry[{statement}].resource.dosage")),
        (
            document,
            |resource| resource["content"][0]["attachment"]["data"] = json!("not base64!"),
            400,
            format!("entry[{document}].resource.content[0].attachment.data"),
        ),
        (document, |resource| resource["content"][0]["attachment"]["size"] = json!(3), 400, format!("entry[{document}].resource.content[0].attachment.size")),
        (
            document,
            |resource| resource["content"][0]["attachment"]["contentType"] = json!("text/html"),
            422,
            format!("entry[{document}].resource.content[0].attachment.contentType"),
        ),
        (document, |resource| resource["resourceType"] = json!("Observation"), 422, format!("entry[{document}].resource.resourceType")),
    ];
    let api = api();
    let held = writer(&api);
    for (number, (index, change, status, place)) in cases.into_iter().enumerate() {
        let mut broken = bundle.clone();
        change(&mut broken["entry"][index]["resource"]);
        let reply = post(&api, &held, MARGARET, &format!("broken-{number}"), &broken);
        assert_eq!(reply.status, status, "{place}: {:#}", reply.body);
        assert_eq!(invalid_names(&reply), std::slice::from_ref(&place), "{:#}", reply.body);
        assert_eq!(written(&api), 0, "{place}: nothing is written");
    }

    // The Bundle itself: not a Bundle, a type carefront does not take, a transaction without requests.
    for (body, place) in [
        (json!({ "resourceType": "Patient" }), "resourceType"),
        (json!({ "resourceType": "Bundle", "type": "searchset", "entry": [] }), "type"),
        (json!({ "resourceType": "Bundle", "type": "transaction", "entry": [{ "resource": bundle["entry"][statement]["resource"] }] }), "entry[0].request"),
    ] {
        let reply = post(&api, &held, MARGARET, &format!("bundle-{place}"), &body);
        assert!(invalid_names(&reply).contains(&place.to_owned()), "{place}: {:#}", reply.body);
    }
    let reply = api.call(api.signed_body(&held, MARGARET, Some("xml"), "application/fhir+xml", b"<Bundle/>".to_vec()));
    assert_eq!(reply.status, 415);
    assert_eq!(written(&api), 0);
}

#[test]
fn a_resource_about_anyone_else_is_refused() {
    let bundle = margaret_bundle();
    let api = api();
    let held = writer(&api);
    let statement = entry(&bundle, "MedicationStatement");
    let mut other = bundle.clone();
    other["entry"][statement]["resource"]["subject"] = json!({ "reference": "Patient/someone-else" });
    let reply = post(&api, &held, MARGARET, "other-subject", &other);
    assert_eq!(reply.status, 422, "{:#}", reply.body);
    assert_eq!(invalid_names(&reply), [format!("entry[{statement}].resource.subject.reference")]);

    let patient = entry(&bundle, "Patient");
    let mut olive = bundle.clone();
    olive["entry"][patient]["resource"]["identifier"][0]["value"] = json!("person-olive");
    let reply = post(&api, &held, MARGARET, "olive", &olive);
    assert_eq!(reply.status, 422);
    assert!(invalid_names(&reply).contains(&format!("entry[{patient}].resource.identifier")), "{:#}", reply.body);

    // Margaret's Bundle sent for Arthur, whom the provider may also write for: every resource is
    // about someone else.
    api.grant("grant-arthur-fhir", "person-arthur", PROVIDER, &WRITTEN, Basis::Consent);
    let reply = post(&api, &held, "/api/v1/people/person-arthur/fhir", "arthur", &bundle);
    assert_eq!(reply.status, 422, "{:#}", reply.body);
    assert!(reply.body["invalid-params"].as_array().unwrap().len() > 10);
    assert_eq!(written(&api), 0);
    assert_eq!(api.rows("SELECT 1 FROM medicines"), 0);
}

#[test]
fn an_organisation_without_a_grant_for_every_category_is_refused() {
    let bundle = margaret_bundle();
    let api = Api::new();
    // The other provider supports nobody here: 404, as for a person who does not exist.
    let other = api.credential(OTHER_PROVIDER, &[Permission::FhirWrite]);
    let refused = post(&api, &other, MARGARET, "other", &bundle);
    let nobody = post(&api, &other, "/api/v1/people/person-nobody/fhir", "nobody", &bundle);
    assert_eq!((refused.status, &refused.body), (404, &nobody.body));
    // The provider may contribute to the care plan and medicines only, not visits or documents.
    let held = writer(&api);
    assert_eq!(post(&api, &held, MARGARET, "partial", &bundle).status, 404);
    // A grant to view only is no grant to write.
    api.grant_with("grant-margaret-view", "person-margaret", PROVIDER, &WRITTEN, &[carefront_shared::consent::Action::View], Basis::Consent);
    assert_eq!(post(&api, &held, MARGARET, "view-only", &bundle).status, 404);
    // A credential without fhir:write.
    let reader = api.credential(PROVIDER, &[Permission::RecordRead, Permission::MedicationWrite]);
    let reply = post(&api, &reader, MARGARET, "no-permission", &bundle);
    assert_eq!((reply.status, problem_type(&reply).as_str()), (403, "permission-required"));
    assert_eq!(written(&api), 0);
    assert_eq!(api.rows("SELECT 1 FROM care_plans WHERE person_id = 'person-margaret'"), 0);
}

#[test]
fn a_replay_with_the_same_key_gives_the_same_answer_and_writes_nothing() {
    let bundle = margaret_bundle();
    let api = api();
    let held = writer(&api);
    let first = post(&api, &held, MARGARET, "replay-key", &bundle);
    assert_eq!(first.status, 201, "{:#}", first.body);
    let rows = written(&api);
    api.advance(chrono::Duration::minutes(5));
    let second = post(&api, &held, MARGARET, "replay-key", &bundle);
    assert_eq!(second.status, 200, "{:#}", second.body);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(second.body, first.body);
    assert_eq!(written(&api), rows);

    // The same key with another Bundle: refused.
    let mut changed = bundle.clone();
    changed["entry"][entry(&bundle, "AllergyIntolerance")]["resource"]["code"]["text"] = json!("Latex");
    let reused = post(&api, &held, MARGARET, "replay-key", &changed);
    assert_eq!((reused.status, problem_type(&reused).as_str()), (422, "idempotency-key-reused"));

    // The same Bundle under a new key changes the same rows: ids come from the resources.
    let again = post(&api, &held, MARGARET, "another-key", &bundle);
    assert_eq!(again.status, 201, "{:#}", again.body);
    assert_eq!(again.body["taken"], first.body["taken"]);
    let imported_lines = 5;
    assert_eq!(written(&api), rows + imported_lines, "no row twice; five more lines in the access log");
}

/// The resources of a Bundle with carefront's ids taken out: each `fullUrl`, and every
/// reference to one, becomes `Type#n` (the n-th resource of its type); `id` and `identifier`
/// go. Entries in `leave_out` (by resource type and type text) are dropped.
fn comparable(bundle: &Value) -> Vec<Value> {
    let entries = bundle["entry"].as_array().unwrap();
    let mut names = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for entry in entries {
        let kind = entry["resource"]["resourceType"].as_str().unwrap().to_owned();
        let count = counts.entry(kind.clone()).or_default();
        names.insert(entry["fullUrl"].as_str().unwrap().to_owned(), format!("{kind}#{count}"));
        *count += 1;
    }
    fn rename(value: &mut Value, names: &BTreeMap<String, String>) {
        match value {
            Value::Object(members) => {
                members.remove("id");
                members.remove("identifier");
                if let Some(Value::String(reference)) = members.get_mut("reference")
                    && let Some(name) = names.get(reference.as_str())
                {
                    *reference = name.clone();
                }
                members.values_mut().for_each(|member| rename(member, names));
            }
            Value::Array(items) => items.iter_mut().for_each(|item| rename(item, names)),
            _ => {}
        }
    }
    entries
        .iter()
        .filter(|entry| {
            let words = entry["resource"]["type"]["text"].as_str().unwrap_or_default();
            !(entry["resource"]["resourceType"] == "DocumentReference" && ["Service user guide", "Emergency summary"].contains(&words))
        })
        .map(|entry| {
            let mut resource = entry["resource"].clone();
            rename(&mut resource, &names);
            resource
        })
        .collect()
}

/// The round trip: the demo record exported as FHIR, imported into an empty store for the same
/// person, exported again, gives the same resources. What must differ, and is left out of the
/// comparison: carefront's ids (each `fullUrl`, `id`, `identifier` and the references between
/// resources) — the import derives its own ids from the person and each resource's identity, so
/// that no Bundle can name a row of anyone else's record — and the service user guide's
/// `DocumentReference`, which the export renders as text from the guide's own fields and the
/// import leaves out (the emergency summary would be too; the test record has none). Everything
/// else — the care plan and its goals, medicines with their schedule times, allergies, every dose,
/// visits with their notes, contacts, documents and their bytes, the person's consents — is
/// compared as it is.
#[test]
fn the_round_trip_export_import_export_gives_the_same_record() {
    let source = api();
    source.seed_record("person-margaret", 2);
    let before = export(&source, "person-margaret");

    let target = api();
    let reply = post(&target, &writer(&target), MARGARET, "round-trip", &before);
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    let after = export(&target, "person-margaret");

    assert_eq!((after["type"].as_str(), after["timestamp"].as_str()), (before["type"].as_str(), before["timestamp"].as_str()));
    let (before, after) = (comparable(&before), comparable(&after));
    let kinds = |resources: &[Value]| resources.iter().map(|resource| resource["resourceType"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(kinds(&after), kinds(&before));
    for (was, is) in before.iter().zip(&after) {
        assert_eq!(is, was, "{} changed on the way round", was["resourceType"]);
    }
}
