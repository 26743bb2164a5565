//! A Bundle, once read, put in through the record's own versioned writes
//! ([`crate::record_writes`]), so that it changes the record exactly as the JSON API does: the
//! care plan as a new version; each medicine started, changed (only if it differs) or stopped
//! (when the Bundle gives its end); each allergy recorded once; the contact list as a new
//! version; each document added once. Every one of those writes keeps its own line in the
//! person's access log. Visits and doses are not versioned: they are written as they are, with
//! one line for each of the two saying so.
//!
//! Pure, like the writes: it only records into the caller's plan, so the caller reads first
//! what the record holds now ([`Current`]) and applies the plan with everything else the
//! request writes. A problem a write finds is named by the Bundle entry it came from.

use std::collections::{BTreeMap, BTreeSet};

use super::{EntryOutcome, Import};
use crate::access::AuditAction;
use crate::consent::Category;
use crate::plan::Recorder;
use crate::record::Medicine;
use crate::record_writes::{self as writes, FieldProblem, VersionKind, WriteError, Writer};
use crate::store::{RecordStore as _, Store as _, VersionStore as _};

/// What the person's record holds now, as read just before the Bundle is put in (a plan cannot
/// read). A write made from a version that has moved on by the time the plan is applied stops
/// the whole plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    /// The care plan's newest version (0 if it has none).
    pub care_plan_version: i64,
    /// Each of the person's medicines by id, as it is now, with its newest version (0 if none).
    pub medicines: BTreeMap<String, (Medicine, i64)>,
    /// The contact list's newest version (0 if it has none).
    pub contacts_version: i64,
    /// The ids of allergies recorded already (those marked as recorded in error too).
    pub allergies: BTreeSet<String>,
    /// The ids of documents kept already.
    pub documents: BTreeSet<String>,
}

/// Why an entry's item was left as the record holds it (an allergy or document recorded
/// already, a medicine unchanged).
const ALREADY_KEPT: &str =
    "Already kept under this id: left as it is (documents and allergies are recorded once; send a change to an allergy through the API).";
const UNCHANGED: &str = "The medicine is kept already exactly as this says: no new version.";

/// Records everything `import` puts in for the person into `recorder`, through the versioned
/// writes, made from what `current` holds. Returns the entries left as the record holds them.
pub async fn put_in(writer: &Writer<'_>, recorder: &Recorder, import: &Import, current: &Current) -> Result<Vec<EntryOutcome>, WriteError> {
    let entries = Entries::of(import);
    let mut left_alone = Vec::new();
    if let Some(plan) = &import.care_plan {
        writes::put_care_plan(writer, recorder, current.care_plan_version, plan).await.map_err(|error| entries.named(&plan.id, error))?;
    }
    for medicine in &import.medicines {
        match current.medicines.get(&medicine.id) {
            Some((now, _)) if same_medicine(now, medicine) => left_alone.extend(entries.outcome(&medicine.id, UNCHANGED)),
            known => put_medicine(writer, recorder, medicine, known).await.map_err(|error| entries.named(&medicine.id, error))?,
        }
    }
    for allergy in &import.allergies {
        if current.allergies.contains(&allergy.id) {
            left_alone.extend(entries.outcome(&allergy.id, ALREADY_KEPT));
        } else {
            writes::record_allergy_as(writer, recorder, allergy).await.map_err(|error| entries.named(&allergy.id, error))?;
        }
    }
    let store = recorder.store();
    for entry in &import.administrations {
        store.insert_administration(entry).await?;
    }
    for visit in &import.visits {
        store.record_item_is_theirs(&visit.person_id, VersionKind::Visit, &visit.id).await?;
        store.upsert_visit(visit).await?;
    }
    if !import.contacts.is_empty() {
        writes::put_contacts(writer, recorder, current.contacts_version, &import.contacts).await.map_err(|error| entries.contacts_named(import, error))?;
    }
    for document in &import.documents {
        if current.documents.contains(&document.document.id) {
            left_alone.extend(entries.outcome(&document.document.id, ALREADY_KEPT));
        } else {
            writes::add_document_as(writer, recorder, &document.document, &document.body).await.map_err(|error| entries.named(&document.document.id, error))?;
        }
    }
    // Doses and visits have no versions and no write of their own that logs: one line each.
    let unlogged = [
        (import.administrations.len(), "dose record", "dose records", Category::Medication),
        (import.visits.len(), "visit", "visits", Category::VisitsAndNotes),
    ];
    for (count, one, many, category) in unlogged.into_iter().filter(|(count, ..)| *count > 0) {
        let detail = format!("{} put in {count} {} from a FHIR record.", writer.described, if count == 1 { one } else { many });
        store.append_audit(&writer.permit.event(writer.new_id(), AuditAction::FhirBundleImported, category, detail)?).await?;
    }
    Ok(left_alone)
}

/// Whether `imported` says what `now` holds (whoever's id the medicine was read under).
fn same_medicine(now: &Medicine, imported: &Medicine) -> bool {
    *now == Medicine { person_id: now.person_id.clone(), ..imported.clone() }
}

/// Starts, changes and stops one medicine, as the Bundle has it against what the record holds.
async fn put_medicine(writer: &Writer<'_>, recorder: &Recorder, medicine: &Medicine, known: Option<&(Medicine, i64)>) -> Result<(), WriteError> {
    // The medicine as the Bundle has it before any stop: what is started or changed.
    let in_force = Medicine { stopped_on: None, ..medicine.clone() };
    let (current, version) = match known {
        None => (in_force.clone(), writes::start_medicine(writer, recorder, &in_force).await?.version),
        Some((now, version)) if now.stopped_on.is_none() && same_medicine(now, &in_force) => (now.clone(), *version),
        // A change to a stopped medicine is refused by the write, as through the API.
        Some((now, version)) => (in_force.clone(), writes::change_medicine(writer, recorder, *version, now, &in_force).await?.version),
    };
    if let Some(stopped_on) = medicine.stopped_on {
        writes::stop_medicine(writer, recorder, version, &current, stopped_on, "the FHIR record sent gives this end date").await?;
    }
    Ok(())
}

/// The entry each kept item came from, to name a write's problem by its place in the Bundle.
struct Entries<'a> {
    by_id: BTreeMap<&'a str, &'a EntryOutcome>,
}

impl<'a> Entries<'a> {
    fn of(import: &'a Import) -> Entries<'a> {
        Entries { by_id: import.taken.iter().filter_map(|outcome| outcome.id.as_deref().map(|id| (id, outcome))).collect() }
    }

    /// The entry of `id`, as one left alone for `reason`.
    fn outcome(&self, id: &str, reason: &str) -> Option<EntryOutcome> {
        self.by_id.get(id).map(|outcome| EntryOutcome { id: Some(id.to_owned()), reason: Some(reason.to_owned()), ..(*outcome).clone() })
    }

    /// The place of the resource `id` was read from.
    fn place(&self, id: &str) -> String {
        self.by_id.get(id).map_or_else(|| "entry".to_owned(), |outcome| format!("{}.resource", outcome.entry))
    }

    /// A write's problems with the item `id`, named by the resource it was read from.
    fn named(&self, id: &str, error: WriteError) -> WriteError {
        let place = self.place(id);
        renamed(error, |_| place.clone())
    }

    /// `put_contacts`' problems (`contacts[2].phone`), named by the `Patient.contact` each was
    /// read from.
    fn contacts_named(&self, import: &Import, error: WriteError) -> WriteError {
        renamed(error, |field| {
            let contact = field.strip_prefix("contacts[").and_then(|rest| rest.split(']').next()).and_then(|index| index.parse::<usize>().ok());
            match contact.and_then(|index| import.contacts.get(index)) {
                Some(contact) => format!("{}.contact[{}]", self.place(&contact.id), contact.position),
                None => import.contacts.first().map_or_else(|| "entry".to_owned(), |contact| self.place(&contact.id)),
            }
        })
    }
}

/// `error` with each field problem named by `place` (the write's own field name kept in its
/// reason); other errors as they are.
fn renamed(error: WriteError, place: impl Fn(&str) -> String) -> WriteError {
    match error {
        WriteError::Invalid(problems) => WriteError::Invalid(
            problems
                .into_iter()
                .map(|problem| {
                    let field = problem.field.rsplit('.').next().unwrap_or_default().trim_matches(|c| c == '(' || c == ')').to_owned();
                    let reason = if problem.reason.starts_with(&field) { problem.reason } else { format!("{field}: {}", problem.reason) };
                    FieldProblem { field: place(&problem.field), reason }
                })
                .collect(),
        ),
        other => other,
    }
}
