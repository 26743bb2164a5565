//! FHIR R4 in: a `Bundle` of the resources carefront's export writes ([`crate::export`]), read
//! and checked against R4 in the parts carefront reads, and mapped onto the same domain values
//! the JSON writes make — `CarePlan` (with its `Goal`s), `Medicine` (from `MedicationStatement`
//! or `MedicationRequest`, its schedule as wall-clock times in the home), `Allergy`,
//! `Administration`, `CareVisit` (from `Encounter`, with the carers' note from its
//! `Communication`, or from `Appointment`), `Contact` (from `Patient.contact`) and `Document`
//! with its bytes (from `DocumentReference`).
//!
//! Pure: no clock, no randomness, no I/O. Ids are derived: a name-based UUID of the person and
//! the resource's own identity (its first identifier, else its `fullUrl`), so the same Bundle
//! sent again changes the same rows, and no Bundle can name a row of anyone else's record.
//!
//! All or nothing: any problem anywhere refuses the whole Bundle, naming every place
//! (`entry[2].resource.status`). Every resource must be about the person: its subject or patient
//! must be a `Patient` entry carrying carefront's identifier for them (or carefront's own
//! reference to them); anyone else is refused. Resources the export writes that a provider's
//! system does not put in (`Consent`: grants are the person's to give; `RelatedPerson`; `Flag`:
//! needs are the person's own; the service user guide and the emergency summary, which the
//! export renders as text) are left out and said so, as is anything no longer in force.
//!
//! What is read is put in through the record's versioned writes by [`put_in`]: a Bundle adds
//! versions exactly as the JSON API's writes do.

mod care;
mod check;
mod documents;
mod medication;
mod writes;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

pub use check::{FhirProblem, ProblemKind};
pub use writes::{Current, put_in};

use crate::consent::Category;
use crate::domain::CarePlan;
use crate::export::stable_uuid;
use crate::record::{Administration, Allergy, CareVisit, Contact, Document, Medicine};
use check::{Problems, at, code, list, member, nth, object, string};

/// Whom and what a Bundle is read for: everything it holds becomes part of this person's record.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// Whose record.
    pub person_id: &'a str,
    /// The organisation putting it in (visits are its visits).
    pub organisation_id: &'a str,
    /// The deployment's origin: carefront's identifiers are `{base}/fhir/identifier/{kind}`.
    pub identifier_base: &'a str,
    /// The id of the person's care plan, if they have one (a person has one plan).
    pub care_plan_id: Option<&'a str>,
    /// Whom the record names as the author where the Bundle names nobody.
    pub author: &'a str,
    /// When it is put in: the time recorded where the Bundle gives none.
    pub now: DateTime<Utc>,
}

/// A document with its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedDocument {
    /// What it is.
    pub document: Document,
    /// The file itself.
    pub body: Vec<u8>,
}

/// What became of one entry of the Bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryOutcome {
    /// Its place: `entry[3]`.
    pub entry: String,
    /// Its resource type.
    pub resource_type: String,
    /// The id of what carefront keeps from it, when it keeps something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why nothing is kept of it, when nothing is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Whether the Bundle was a `collection` or a `transaction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleType {
    /// A set of resources, as the export writes.
    Collection,
    /// Resources to create or update together.
    Transaction,
}

/// What a Bundle puts in the person's record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Import {
    /// The care plan, replacing the one in force.
    pub care_plan: Option<CarePlan>,
    /// Medicines, added or replaced by id.
    pub medicines: Vec<Medicine>,
    /// Allergies.
    pub allergies: Vec<Allergy>,
    /// Doses recorded.
    pub administrations: Vec<Administration>,
    /// Visits, with their notes.
    pub visits: Vec<CareVisit>,
    /// Contacts from `Patient.contact`.
    pub contacts: Vec<Contact>,
    /// Documents and their contents.
    pub documents: Vec<ImportedDocument>,
    /// Every entry kept, with the id it is kept under.
    pub taken: Vec<EntryOutcome>,
    /// Every entry left out, with the reason.
    pub left_out: Vec<EntryOutcome>,
}

impl Import {
    /// The categories of the record the Bundle writes to (each needs a grant to contribute).
    pub fn categories(&self) -> BTreeSet<Category> {
        let mut categories = BTreeSet::new();
        let mut add = |present: bool, category| {
            if present {
                categories.insert(category);
            }
        };
        add(self.care_plan.is_some(), Category::CarePlan);
        add(!self.medicines.is_empty() || !self.allergies.is_empty() || !self.administrations.is_empty(), Category::Medication);
        add(!self.visits.is_empty(), Category::VisitsAndNotes);
        add(!self.contacts.is_empty(), Category::Contacts);
        add(!self.documents.is_empty(), Category::Documents);
        categories
    }

    /// What it holds, in plain words ("1 care plan, 2 medicines").
    pub fn described(&self) -> String {
        let counts = [
            (usize::from(self.care_plan.is_some()), "care plan", "care plans"),
            (self.medicines.len(), "medicine", "medicines"),
            (self.allergies.len(), "allergy", "allergies"),
            (self.administrations.len(), "dose record", "dose records"),
            (self.visits.len(), "visit", "visits"),
            (self.contacts.len(), "contact", "contacts"),
            (self.documents.len(), "document", "documents"),
        ];
        let parts: Vec<String> =
            counts.iter().filter(|(count, _, _)| *count > 0).map(|(count, one, many)| format!("{count} {}", if *count == 1 { one } else { many })).collect();
        if parts.is_empty() { "nothing".to_owned() } else { parts.join(", ") }
    }
}

/// Why a Bundle was refused: every problem, by place. Nothing of it is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Bundle was refused: {} problem(s)", problems.len())]
pub struct Refusal {
    /// The problems, in Bundle order.
    pub problems: Vec<FhirProblem>,
}

impl Refusal {
    /// Whether any problem is that the Bundle is not valid R4 (else it is R4 carefront cannot
    /// record, or about someone else).
    pub fn is_invalid_r4(&self) -> bool {
        self.problems.iter().any(|problem| problem.kind == ProblemKind::Invalid)
    }
}

/// The R4 `Bundle.type` codes.
const BUNDLE_TYPES: [&str; 9] = ["document", "message", "transaction", "transaction-response", "batch", "batch-response", "history", "searchset", "collection"];

/// The resource types carefront reads or knowingly leaves out.
const TAKEN: [&str; 11] = [
    "Patient",
    "CarePlan",
    "Goal",
    "Medication",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "AllergyIntolerance",
    "Encounter",
    "Communication",
    "Appointment",
];

/// One entry, as read in the first pass.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    /// `entry[i]`.
    pub(crate) path: String,
    /// `entry[i].resource`.
    pub(crate) resource_path: String,
    pub(crate) resource: &'a Value,
    pub(crate) resource_type: &'a str,
    pub(crate) full_url: Option<&'a str>,
}

/// The Bundle as the mappers read it: its entries, who the person is, and what has been found.
pub(crate) struct Reader<'a> {
    pub(crate) target: Target<'a>,
    pub(crate) entries: Vec<Entry<'a>>,
    pub(crate) problems: Problems,
    /// References that mean the person.
    patient_references: BTreeSet<String>,
    /// Which visit (by its place in the import) each `Encounter` entry became.
    pub(crate) visit_of_entry: BTreeMap<usize, usize>,
    /// Which medicine each `Medication` entry is the medicine of.
    pub(crate) medicine_of_entry: BTreeMap<usize, String>,
    pub(crate) import: Import,
}

impl<'a> Reader<'a> {
    /// carefront's identifier system for `kind`.
    pub(crate) fn system(&self, kind: &str) -> String {
        format!("{}/fhir/identifier/{kind}", self.target.identifier_base.trim_end_matches('/'))
    }

    /// The index of the entry `reference` points at (by `fullUrl`, or `Type/id`).
    pub(crate) fn resolve(&self, reference: &str) -> Option<usize> {
        self.entries.iter().position(|entry| {
            entry.full_url == Some(reference)
                || member(entry.resource, "id").and_then(Value::as_str).is_some_and(|id| reference == format!("{}/{id}", entry.resource_type))
        })
    }

    /// Checks that the `Reference` at `parent.name` is to the person (a problem otherwise).
    pub(crate) fn patient(&mut self, parent: &Value, path: &str, name: &str, required: bool) -> bool {
        let Some(reference) = object(&mut self.problems, parent, path, name, required) else { return false };
        let place = at(path, name);
        self.is_the_person(reference, &place)
    }

    /// Whether the `Reference` object at `place` is to the person; a problem if it is to anyone else.
    pub(crate) fn is_the_person(&mut self, reference: &Value, place: &str) -> bool {
        if let Some(text) = string(&mut self.problems, reference, place, "reference", false) {
            if self.patient_references.contains(text) {
                return true;
            }
            self.problems.other_person(&at(place, "reference"));
            return false;
        }
        if let Some(identifier) = object(&mut self.problems, reference, place, "identifier", false) {
            let path = at(place, "identifier");
            let system = string(&mut self.problems, identifier, &path, "system", false);
            let value = string(&mut self.problems, identifier, &path, "value", false);
            if system == Some(self.system("patient").as_str()) && value == Some(self.target.person_id) {
                return true;
            }
            self.problems.other_person(&path);
            return false;
        }
        self.problems.unrecordable(place, "Say who this is about: a reference to the Patient entry, or carefront's identifier for the person.");
        false
    }

    /// The id carefront keeps the resource of entry `index` under, as a `kind` (derived from
    /// the person and the resource's identity); `None` with a problem if it has no identity.
    pub(crate) fn derived_id(&mut self, index: usize, kind: &str) -> Option<String> {
        let entry = &self.entries[index];
        let identifier = member(entry.resource, "identifier").and_then(Value::as_array).and_then(|identifiers| identifiers.first());
        let from_identifier = identifier.and_then(|identifier| {
            let system = identifier.get("system").and_then(Value::as_str).unwrap_or_default();
            identifier.get("value").and_then(Value::as_str).map(|value| format!("{system}|{value}"))
        });
        let from_id = member(entry.resource, "id").and_then(Value::as_str).map(|id| format!("{}/{id}", entry.resource_type));
        let Some(identity) = from_identifier.or_else(|| entry.full_url.map(str::to_owned)).or(from_id) else {
            let path = entry.path.clone();
            self.problems
                .unrecordable(&at(&path, "fullUrl"), "Give the resource an identifier or a fullUrl, so that sending it again changes the same record.");
            return None;
        };
        Some(derive(kind, self.target.person_id, &identity))
    }

    /// Notes that entry `index` is kept as `id`.
    pub(crate) fn took(&mut self, index: usize, id: &str) {
        let entry = &self.entries[index];
        self.import.taken.push(EntryOutcome {
            entry: entry.path.clone(),
            resource_type: entry.resource_type.to_owned(),
            id: Some(id.to_owned()),
            reason: None,
        });
    }

    /// Notes that entry `index` is left out, and why.
    pub(crate) fn left_out(&mut self, index: usize, reason: &str) {
        let entry = &self.entries[index];
        self.import.left_out.push(EntryOutcome {
            entry: entry.path.clone(),
            resource_type: entry.resource_type.to_owned(),
            id: None,
            reason: Some(reason.to_owned()),
        });
    }
}

/// The id of `identity` (a resource's identity in its sender's system) as a `kind` in the
/// person's record.
pub fn derive(kind: &str, person_id: &str, identity: &str) -> String {
    format!("fhir-{}", stable_uuid(kind, &format!("{person_id}|{identity}")))
}

/// Reads `bundle` for `target`: what it puts in the record, or every problem with it.
pub fn read_bundle(bundle: &Value, target: Target<'_>) -> Result<(BundleType, Import), Refusal> {
    let mut problems = Problems::default();
    let bundle_type = read_envelope(&mut problems, bundle);
    let entries = read_entries(&mut problems, bundle, bundle_type);
    let mut reader = Reader {
        target,
        entries,
        problems,
        patient_references: BTreeSet::new(),
        visit_of_entry: BTreeMap::new(),
        medicine_of_entry: BTreeMap::new(),
        import: Import::default(),
    };
    find_the_person(&mut reader);
    let mut notes = BTreeMap::new();
    // Goals and doses after everything else: they belong to a plan or a medicine that may come
    // later in the Bundle.
    let mut order: Vec<usize> = (0..reader.entries.len()).collect();
    order.sort_by_key(|index| (matches!(reader.entries[*index].resource_type, "Goal" | "MedicationAdministration"), *index));
    for index in order {
        match reader.entries[index].resource_type {
            "Patient" => care::patient(&mut reader, index),
            "CarePlan" => care::care_plan(&mut reader, index),
            "Goal" => care::goal(&mut reader, index),
            "Encounter" => care::encounter(&mut reader, index),
            "Appointment" => care::appointment(&mut reader, index),
            "Communication" => care::communication(&mut reader, index, &mut notes),
            "Medication" => medication::medication(&mut reader, index),
            "MedicationStatement" => medication::statement(&mut reader, index),
            "MedicationRequest" => medication::request(&mut reader, index),
            "MedicationAdministration" => medication::administration(&mut reader, index),
            "AllergyIntolerance" => medication::allergy(&mut reader, index),
            "DocumentReference" => documents::document_reference(&mut reader, index),
            "Consent" => reader.left_out(index, "Who can see the record is the person's to decide: grants are given in carefront, not put in by a system."),
            "RelatedPerson" => reader.left_out(index, "Representatives are recorded by the council with their legal basis, not put in by a system."),
            "Flag" => reader.left_out(index, "Format and communication needs are the person's own to record in carefront."),
            other => {
                let place = at(&reader.entries[index].resource_path, "resourceType");
                reader
                    .problems
                    .unrecordable(&place, format!("carefront does not take in {other} resources; it takes {}, and DocumentReference.", TAKEN.join(", ")));
            }
        }
    }
    care::attach_notes(&mut reader, &notes);
    let place = |outcome: &EntryOutcome| outcome.entry.trim_start_matches("entry[").trim_end_matches(']').parse::<usize>().unwrap_or(usize::MAX);
    reader.import.taken.sort_by_key(place);
    reader.import.left_out.sort_by_key(place);
    if reader.problems.found.is_empty() {
        Ok((bundle_type.unwrap_or(BundleType::Collection), reader.import))
    } else {
        Err(Refusal { problems: reader.problems.found })
    }
}

fn read_envelope(problems: &mut Problems, bundle: &Value) -> Option<BundleType> {
    if !bundle.is_object() {
        problems.invalid("Bundle", "The body must be a FHIR R4 Bundle: a JSON object with resourceType \"Bundle\".");
        return None;
    }
    if member(bundle, "resourceType").and_then(Value::as_str) != Some("Bundle") {
        problems.invalid("resourceType", "resourceType must be \"Bundle\".");
    }
    match code(problems, bundle, "", "type", &BUNDLE_TYPES, true)? {
        "collection" => Some(BundleType::Collection),
        "transaction" => Some(BundleType::Transaction),
        other => {
            problems.unrecordable("type", format!("A Bundle of type {other} cannot be put in: send a collection or a transaction."));
            None
        }
    }
}

fn read_entries<'a>(problems: &mut Problems, bundle: &'a Value, bundle_type: Option<BundleType>) -> Vec<Entry<'a>> {
    let mut entries = Vec::new();
    if !bundle.is_object() {
        return entries;
    }
    let mut full_urls = BTreeSet::new();
    for (index, entry) in list(problems, bundle, "", "entry", 0).into_iter().enumerate() {
        let path = nth("entry", index);
        if !entry.is_object() {
            problems.invalid(&path, "Each entry must be a JSON object.");
            continue;
        }
        let full_url = string(problems, entry, &path, "fullUrl", false);
        if let Some(url) = full_url
            && !full_urls.insert(url)
        {
            // bdl-7: fullUrl is unique (without versions) within a Bundle.
            problems.invalid(&at(&path, "fullUrl"), "Two entries have this fullUrl: each must be different (R4 bdl-7).");
        }
        if bundle_type == Some(BundleType::Transaction) {
            // bdl-3: each entry of a transaction has a request; carefront creates or updates.
            if let Some(request) = object(problems, entry, &path, "request", true) {
                let request_path = at(&path, "request");
                let method = code(problems, request, &request_path, "method", &["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"], true);
                string(problems, request, &request_path, "url", true);
                if let Some(method) = method.filter(|method| !matches!(*method, "POST" | "PUT")) {
                    problems
                        .unrecordable(&at(&request_path, "method"), format!("carefront only creates or updates from a Bundle (POST or PUT), not {method}."));
                }
            }
        }
        let resource_path = at(&path, "resource");
        let Some(resource) = object(problems, entry, &path, "resource", true) else { continue };
        let Some(resource_type) = string(problems, resource, &resource_path, "resourceType", true) else { continue };
        entries.push(Entry { path, resource_path, resource, resource_type, full_url });
    }
    entries
}

/// Finds who the person is: carefront's own references to them, and each `Patient` entry, which
/// must carry carefront's identifier for them.
fn find_the_person(reader: &mut Reader<'_>) {
    let uuid = stable_uuid("patient", reader.target.person_id);
    reader.patient_references.insert(format!("urn:uuid:{uuid}"));
    reader.patient_references.insert(format!("Patient/{uuid}"));
    let system = reader.system("patient");
    for index in 0..reader.entries.len() {
        let entry = &reader.entries[index];
        if entry.resource_type != "Patient" {
            continue;
        }
        let identifiers = member(entry.resource, "identifier").and_then(Value::as_array).cloned().unwrap_or_default();
        let ours: Vec<&str> = identifiers
            .iter()
            .filter(|identifier| identifier.get("system").and_then(Value::as_str) == Some(system.as_str()))
            .filter_map(|identifier| identifier.get("value").and_then(Value::as_str))
            .collect();
        let place = at(&entry.resource_path, "identifier");
        if ours.is_empty() {
            reader.problems.unrecordable(&place, format!("Identify the patient with carefront's identifier for the person (system {system})."));
        } else if ours.iter().any(|value| *value != reader.target.person_id) {
            reader.problems.other_person(&place);
        } else {
            let references: Vec<String> = entry
                .full_url
                .map(str::to_owned)
                .into_iter()
                .chain(member(entry.resource, "id").and_then(Value::as_str).map(|id| format!("Patient/{id}")))
                .collect();
            reader.patient_references.extend(references);
        }
    }
}

#[cfg(test)]
mod tests;
