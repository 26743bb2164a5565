//! FHIR R4 in through the API: a Bundle of the resources the export writes puts the record in
//! as one plan, only with a live grant to contribute to every category it writes (404
//! otherwise), idempotently, audited; every kind of invalid resource is refused by its place
//! and writes nothing; a resource about anyone else is refused; and the round trip — export,
//! import into an empty store, export again — gives the same record. It writes through the
//! versioned record writes: a Bundle sent again adds versions (never a second plan), a changed
//! medicine keeps its history, and a Bundle that lost a race to a part it read is refused whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeMap;

use base64::Engine as _;

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

    // Each versioned write keeps its own line (as through the JSON API), and the doses and
    // visits, which have no versions, one line each; every line on the grant that allowed it.
    let events = api.audit_events("person-margaret");
    let count = |action: &str| events.iter().filter(|event| event.action.as_str() == action).count();
    let expected = [
        ("record.care_plan_written", 1),
        ("record.medicine_started", 2),
        ("record.medicine_stopped", 1),
        ("record.allergy_recorded", 1),
        ("record.contacts_written", 1),
        ("record.document_added", 2),
        ("api.fhir_bundle_imported", 2),
    ];
    for (action, times) in expected {
        assert_eq!(count(action), times, "{action}");
    }
    let reads = count("api.medication_read");
    assert_eq!(events.len() - reads, expected.iter().map(|(_, times)| times).sum::<usize>(), "nothing logged twice");
    assert!(events.iter().all(|event| event.basis.as_ref().map(|basis| basis.as_str()) == Some("grant:grant-margaret-fhir (consent)")));
    let doses = events.iter().find(|event| event.action.as_str() == "api.fhir_bundle_imported" && event.category == Some(Category::Medication)).unwrap();
    assert!(doses.detail.contains("Brookside Home Care's computer system") && doses.detail.contains("3 dose records"), "{}", doses.detail);
    let started = events.iter().find(|event| event.action.as_str() == "record.medicine_started").unwrap();
    assert!(started.detail.contains("through a FHIR Bundle"), "{}", started.detail);
    // Each medicine keeps its history: the stopped one was started, then stopped.
    let stopped = &reply.body["taken"].as_array().unwrap().iter().filter(|outcome| outcome["resourceType"] == "MedicationStatement").collect::<Vec<_>>();
    let versions: Vec<usize> = stopped
        .iter()
        .map(|outcome| {
            api.get(&reader, &format!("/api/v1/people/person-margaret/medicines/{}/versions", outcome["id"].as_str().unwrap())).body["items"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(versions.iter().copied().collect::<std::collections::BTreeSet<_>>(), [1, 2].into(), "{versions:?}");
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
    let patient = entry(&bundle, "Patient");
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
        // Refused by the versioned write itself (a contact needs a phone number or an email
        // address, as through PUT …/contacts), named by the contact it was read from.
        (patient, |resource| drop(resource["contact"][0].as_object_mut().unwrap().remove("telecom")), 422, format!("entry[{patient}].resource.contact[0]")),
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
    // (Since the import writes through the versioned writes, the documents, the allergy and the
    // unchanged medicines are left as they are and said so, and only the doses and visits,
    // which have no versions, add their two import lines.)
    let again = post(&api, &held, MARGARET, "another-key", &bundle);
    assert_eq!(again.status, 201, "{:#}", again.body);
    assert_eq!(again.body["taken"], first.body["taken"]);
    let left_alone: Vec<&str> = again.body["leftAlone"].as_array().unwrap().iter().map(|outcome| outcome["resourceType"].as_str().unwrap()).collect();
    assert_eq!(left_alone.iter().filter(|kind| **kind == "DocumentReference").count(), 2, "{left_alone:?}");
    assert!(left_alone.contains(&"AllergyIntolerance") && left_alone.contains(&"MedicationStatement"), "{left_alone:?}");
    assert!(first.body.get("leftAlone").is_none(), "nothing was there to leave alone the first time");
    let imported_lines = 2;
    assert_eq!(written(&api), rows + imported_lines, "no row twice; two more lines in the access log");
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

fn versions(api: &Api, held: &Held, path: &str) -> Vec<Value> {
    let reply = api.get(held, &format!("/api/v1/people/person-margaret/{path}/versions"));
    assert_eq!(reply.status, 200, "{path}: {:#}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

#[test]
fn the_same_bundle_under_a_new_key_adds_a_version_of_the_care_plan_not_a_second_plan() {
    let bundle = margaret_bundle();
    let api = api();
    let held = writer(&api);
    assert_eq!(post(&api, &held, MARGARET, "first", &bundle).status, 201);
    api.advance(chrono::Duration::hours(1));
    let second = post(&api, &held, MARGARET, "second", &bundle);
    assert_eq!(second.status, 201, "{:#}", second.body);

    assert_eq!(api.rows("SELECT 1 FROM care_plans WHERE person_id = 'person-margaret'"), 1, "one plan");
    let plan = versions(&api, &held, "care-plan");
    assert_eq!(plan.iter().map(|version| version["version"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1], "history kept, newest first");
    assert_eq!(plan[0]["snapshot"]["summary"], plan[1]["snapshot"]["summary"]);
    assert_eq!(versions(&api, &held, "contacts").len(), 2, "the contact list is put again as a version");
    assert_eq!(api.rows("SELECT 1 FROM contacts WHERE person_id = 'person-margaret'"), 3);
    // Documents and the allergy are recorded once, and the answer says so.
    assert_eq!(api.rows("SELECT 1 FROM documents WHERE person_id = 'person-margaret'"), 2);
    assert_eq!(api.rows("SELECT 1 FROM allergies WHERE person_id = 'person-margaret'"), 1);
    let left_alone = second.body["leftAlone"].as_array().unwrap();
    assert!(left_alone.iter().all(|outcome| outcome["reason"].as_str().is_some_and(|reason| !reason.is_empty())), "{left_alone:#?}");
    let documents = left_alone.iter().filter(|outcome| outcome["resourceType"] == "DocumentReference").count();
    assert_eq!(documents, 2);
}

#[test]
fn a_changed_medicine_in_a_second_bundle_shows_two_versions_and_a_stop_a_third() {
    let bundle = margaret_bundle();
    let api = api();
    let held = writer(&api);
    let first = post(&api, &held, MARGARET, "medicine-1", &bundle);
    assert_eq!(first.status, 201, "{:#}", first.body);
    let statement = (0..bundle["entry"].as_array().unwrap().len())
        .find(|index| {
            let resource = &bundle["entry"][index]["resource"];
            resource["resourceType"] == "MedicationStatement" && resource["status"] == "active"
        })
        .unwrap();
    let id = first.body["taken"].as_array().unwrap().iter().find(|outcome| outcome["entry"] == format!("entry[{statement}]")).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let history = format!("medicines/{id}");
    assert_eq!(versions(&api, &held, &history).len(), 1);

    let mut changed = bundle.clone();
    changed["entry"][statement]["resource"]["dosage"][0]["timing"]["repeat"]["timeOfDay"] = json!(["08:00:00", "13:00:00", "20:00:00"]);
    let second = post(&api, &held, MARGARET, "medicine-2", &changed);
    assert_eq!(second.status, 201, "{:#}", second.body);
    let kept = versions(&api, &held, &history);
    assert_eq!(kept.len(), 2, "{kept:#?}");
    assert_eq!((kept[0]["version"].as_i64(), &kept[0]["snapshot"]["times"]), (Some(2), &json!(["08:00:00", "13:00:00", "20:00:00"])));
    assert_eq!(kept[1]["snapshot"]["times"], json!(["08:00:00", "20:00:00"]));
    let changes = api.audit_actions("person-margaret").iter().filter(|action| *action == "record.medicine_changed").count();
    assert_eq!(changes, 1, "the unchanged medicine takes no version");

    // The export marks it stopped, with its end: a third version stops it.
    let mut stopped = changed.clone();
    stopped["entry"][statement]["resource"]["status"] = json!("completed");
    stopped["entry"][statement]["resource"]["effectivePeriod"]["end"] = json!("2026-11-25");
    let third = post(&api, &held, MARGARET, "medicine-3", &stopped);
    assert_eq!(third.status, 201, "{:#}", third.body);
    let kept = versions(&api, &held, &history);
    assert_eq!((kept.len(), &kept[0]["snapshot"]["stoppedOn"]), (3, &json!("2026-11-25")), "{kept:#?}");
}

#[test]
fn a_bundle_that_loses_a_race_to_a_part_it_read_is_refused_whole_and_writes_nothing() {
    let bundle = margaret_bundle();
    let api = api();
    let held = writer(&api);
    let plan = entry(&bundle, "CarePlan");
    let mut other = bundle.clone();
    other["entry"][plan]["resource"]["description"] = json!("Support each morning and evening.");
    other["entry"][entry(&bundle, "AllergyIntolerance")]["resource"]["code"]["text"] = json!("Latex");
    // Both read the record as it is (no care plan, no medicines) before either is applied.
    let replies = api.call_concurrently(vec![
        api.signed_body(&held, MARGARET, Some("race-a"), "application/fhir+json", serde_json::to_vec(&bundle).unwrap()),
        api.signed_body(&held, MARGARET, Some("race-b"), "application/fhir+json", serde_json::to_vec(&other).unwrap()),
    ]);
    let mut statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{:#?}", replies.iter().map(|reply| &reply.body).collect::<Vec<_>>());
    let (first_won, lost) = if replies[0].status == 201 { (true, &replies[1]) } else { (false, &replies[0]) };
    assert_eq!(problem_type(lost), "version-conflict");
    // Nothing of the loser: one version of everything, the winner's care plan and allergy.
    let plan = versions(&api, &held, "care-plan");
    assert_eq!(plan.len(), 1);
    let summary = if first_won { "Support each morning." } else { "Support each morning and evening." };
    assert_eq!(plan[0]["snapshot"]["summary"], summary);
    assert_eq!(api.rows("SELECT 1 FROM allergies WHERE person_id = 'person-margaret'"), 1);
    // The winner's versions only: its plan, its contacts, its allergy, and each medicine started
    // (the stopped one then stopped).
    assert_eq!(api.rows("SELECT 1 FROM record_versions WHERE person_id = 'person-margaret'"), 6);
    assert_eq!(api.audit_actions("person-margaret").iter().filter(|action| *action == "record.care_plan_written").count(), 1);
    assert_eq!(api.audit_actions("person-margaret").iter().filter(|action| *action == "api.fhir_bundle_imported").count(), 2);

    // Sent again, the loser is made from the versions now kept, and goes in.
    let again = api.call(api.signed_body(&held, MARGARET, Some("race-b-again"), "application/fhir+json", serde_json::to_vec(&other).unwrap()));
    assert_eq!(again.status, 201, "{:#}", again.body);
    assert_eq!(versions(&api, &held, "care-plan").len(), 2);
}

#[test]
fn a_bundle_may_carry_a_document_larger_than_other_bodies() {
    let api = api();
    let held = writer(&api);
    let mut bundle = margaret_bundle();
    let at = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .position(|entry| {
            entry["resource"]["resourceType"] == "DocumentReference" && entry["resource"]["content"][0]["attachment"]["contentType"] == "text/plain"
        })
        .unwrap();
    // 3 MiB of text: more than the 1 MiB other bodies may be, well within a document's 10 MiB.
    let text = "Discharge summary, continued.\n".repeat(3 * 1024 * 1024 / 30);
    let attachment = &mut bundle["entry"][at]["resource"]["content"][0]["attachment"];
    attachment["data"] = json!(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()));
    let attachment = attachment.as_object_mut().unwrap();
    attachment.remove("size");
    attachment.remove("hash");
    let reply = post(&api, &held, MARGARET, "large", &bundle);
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert!(
        api.rows(&format!("SELECT 1 FROM documents WHERE person_id = 'person-margaret' AND size_bytes = {}", text.len())) == 1,
        "the whole document is kept"
    );
}
