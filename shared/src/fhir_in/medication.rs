//! Medicines and allergies: `Medication`, `MedicationStatement`, `MedicationRequest`,
//! `MedicationAdministration` and `AllergyIntolerance`. A medicine's schedule is
//! `Timing.repeat.timeOfDay`: R4 `time`s with no zone, times on the clocks in the home, which is
//! what carefront keeps (8am is 8am in summer and in winter).

use chrono::{NaiveDate, NaiveTime, Timelike};
use serde_json::Value;

use super::Reader;
use super::check::{Moment, at, code, concept_code, concept_words, date_time, decimal, full_time, list, member, nth, object, string, time_of_day};
use crate::record::{Administration, Allergy, Medicine, Outcome};

const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const ALLERGY_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";

fn parts(reader: &Reader<'_>, index: usize) -> (Value, String) {
    let entry = &reader.entries[index];
    (entry.resource.clone(), entry.resource_path.clone())
}

/// `Medication`: checked here; kept as the medicine of the statement or request naming it.
pub(crate) fn medication(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    code(&mut reader.problems, &resource, &path, "status", &["active", "inactive", "entered-in-error"], false);
    concept_words(&mut reader.problems, &resource, &path, "code", false);
    reader.left_out(index, "Kept as the medicine of the MedicationStatement or MedicationRequest that names it.");
}

/// The medicine's name: `medicationCodeableConcept`, or the `Medication` that
/// `medicationReference` names (`None` with a problem if neither).
fn medicine_name(reader: &mut Reader<'_>, resource: &Value, path: &str) -> (Option<String>, Option<usize>) {
    if member(resource, "medicationCodeableConcept").is_some() {
        return (concept_words(&mut reader.problems, resource, path, "medicationCodeableConcept", true), None);
    }
    let Some(reference) = object(&mut reader.problems, resource, path, "medicationReference", false) else {
        reader.problems.invalid(&at(path, "medication[x]"), "medication[x] is required: medicationCodeableConcept or medicationReference.");
        return (None, None);
    };
    let place = at(path, "medicationReference");
    let found = string(&mut reader.problems, reference, &place, "reference", true)
        .and_then(|text| reader.resolve(text))
        .filter(|found| reader.entries[*found].resource_type == "Medication");
    let Some(found) = found else {
        reader.problems.unrecordable(&at(&place, "reference"), "No Medication in this Bundle has this reference: send the medicine with it.");
        return (None, None);
    };
    let medication = reader.entries[found].resource;
    let words = member(medication, "code")
        .and_then(|concept| concept.get("text").and_then(Value::as_str).or_else(|| concept.pointer("/coding/0/display").and_then(Value::as_str)));
    if words.is_none() {
        reader.problems.unrecordable(&at(&reader.entries[found].resource_path, "code"), "Name the medicine in code.text (or a coding's display).");
    }
    (words.map(|words| words.trim().to_owned()), Some(found))
}

/// What a `Dosage` says: the dose, route, times on the home's clocks, when needed, instructions.
#[derive(Debug, Default)]
struct Dosage {
    dose: Option<String>,
    route: String,
    times: Vec<NaiveTime>,
    as_needed: bool,
    instructions: String,
}

fn dosage(reader: &mut Reader<'_>, dosage: &Value, place: &str) -> Dosage {
    let problems = &mut reader.problems;
    let text = string(problems, dosage, place, "text", false);
    let route = concept_words(problems, dosage, place, "route", false).unwrap_or_default();
    let instructions = string(problems, dosage, place, "patientInstruction", false).unwrap_or_default().trim().to_owned();
    let as_needed = match member(dosage, "asNeededCodeableConcept") {
        Some(_) => true,
        None => super::check::boolean(problems, dosage, place, "asNeededBoolean").unwrap_or(false),
    };
    let mut times = Vec::new();
    if let Some(timing) = object(problems, dosage, place, "timing", false)
        && let Some(repeat) = object(problems, timing, &at(place, "timing"), "repeat", false)
    {
        let repeat_path = at(&at(place, "timing"), "repeat");
        for (number, time) in list(problems, repeat, &repeat_path, "timeOfDay", 0).into_iter().enumerate() {
            let time_place = nth(&at(&repeat_path, "timeOfDay"), number);
            if let Some(time) = time_of_day(problems, time, &time_place) {
                if time.second() != 0 || time.nanosecond() != 0 {
                    problems.unrecordable(&time_place, "Schedule times are to the minute (hh:mm:00).");
                } else {
                    times.push(time);
                }
            }
        }
    }
    times.sort();
    times.dedup();
    let mut dose = None;
    if let Some(first) = list(problems, dosage, place, "doseAndRate", 0).first() {
        let rate_path = nth(&at(place, "doseAndRate"), 0);
        if let Some(quantity) = object(problems, first, &rate_path, "doseQuantity", false) {
            let quantity_path = at(&rate_path, "doseQuantity");
            let value = decimal(problems, quantity, &quantity_path, "value");
            let unit = string(problems, quantity, &quantity_path, "unit", false);
            dose = value.map(|value| match unit {
                Some(unit) => format!("{value} {}", unit.trim()),
                None => value.to_string(),
            });
        }
    }
    // Without a quantity, the dose is the dosage text's first part ("one tablet, by mouth").
    let dose = dose.or_else(|| text.and_then(|text| text.split(',').next()).map(|first| first.trim().to_owned()).filter(|dose| !dose.is_empty()));
    Dosage { dose, route: route.trim().to_owned(), times, as_needed, instructions }
}

/// The day a `Moment` names.
fn day(moment: Option<Moment>) -> Option<NaiveDate> {
    moment.and_then(Moment::day)
}

/// What a statement or request says of one medicine, before it becomes one.
struct Prescribed {
    index: usize,
    status: &'static str,
    name: Option<String>,
    medication: Option<usize>,
    dosage: Dosage,
    dosage_path: String,
    prescriber: String,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    period_path: String,
    about: bool,
}

fn add_medicine(reader: &mut Reader<'_>, prescribed: Prescribed) {
    let Prescribed { index, status, name, medication, dosage, dosage_path, prescriber, start, end, period_path, about } = prescribed;
    let Some(name) = name else { return };
    let Some(started_on) = start else {
        return reader.problems.unrecordable(&at(&period_path, "start"), "Say from when the medicine is taken (the start date).");
    };
    if matches!(status, "stopped" | "completed") && end.is_none() {
        return reader.problems.unrecordable(&at(&period_path, "end"), "A medicine that has stopped needs the date it stopped.");
    }
    if end.is_some_and(|end| end < started_on) {
        return reader.problems.invalid(&period_path, "The end must not be before the start (R4 per-1).");
    }
    let Some(dose) = dosage.dose else {
        return reader.problems.unrecordable(&dosage_path, "Say the dose: doseAndRate[0].doseQuantity, or text beginning with it (\"2 tablets, by mouth\").");
    };
    if !about {
        return;
    }
    let Some(id) = reader.derived_id(index, "medicine") else { return };
    reader.took(index, &id);
    if let Some(medication) = medication {
        reader.medicine_of_entry.insert(medication, id.clone());
    }
    reader.import.medicines.push(Medicine {
        id,
        person_id: reader.target.person_id.to_owned(),
        name,
        dose,
        route: dosage.route,
        times: dosage.times,
        as_needed: dosage.as_needed,
        instructions: dosage.instructions,
        prescriber,
        started_on,
        stopped_on: end,
    });
}

/// `MedicationStatement`: a medicine the person takes, as the export writes it.
pub(crate) fn statement(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    const STATUSES: [&str; 8] = ["active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"];
    let status = code(&mut reader.problems, &resource, &path, "status", &STATUSES, true);
    let (name, medication) = medicine_name(reader, &resource, &path);
    let about = reader.patient(&resource, &path, "subject", true);
    let problems = &mut reader.problems;
    let period_path = at(&path, "effectivePeriod");
    let (start, end) = match object(problems, &resource, &path, "effectivePeriod", false) {
        Some(period) => (day(date_time(problems, period, &period_path, "start", false)), day(date_time(problems, period, &period_path, "end", false))),
        None => (day(date_time(problems, &resource, &path, "effectiveDateTime", false)), None),
    };
    let prescriber = list(problems, &resource, &path, "note", 0)
        .iter()
        .filter_map(|note| note.get("text").and_then(Value::as_str))
        .find_map(|text| text.trim().strip_prefix("Prescribed by ").map(|name| name.trim_end_matches('.').trim().to_owned()))
        .unwrap_or_default();
    let dosages = list(problems, &resource, &path, "dosage", 0);
    let dosage_path = nth(&at(&path, "dosage"), 0);
    let dosage = dosages.first().map(|first| dosage(reader, first, &dosage_path)).unwrap_or_default();
    let Some(status) = status.and_then(|status| STATUSES.into_iter().find(|known| *known == status)) else { return };
    if matches!(status, "entered-in-error" | "not-taken") {
        return reader.left_out(index, "Entered in error, or not taken: no medicine to keep.");
    }
    add_medicine(reader, Prescribed { index, status, name, medication, dosage, dosage_path, prescriber, start, end, period_path, about });
}

/// `MedicationRequest`: a prescription, kept as a medicine the person takes.
pub(crate) fn request(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    const STATUSES: [&str; 8] = ["active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"];
    const INTENTS: [&str; 8] = ["proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option"];
    let status = code(&mut reader.problems, &resource, &path, "status", &STATUSES, true);
    let intent = code(&mut reader.problems, &resource, &path, "intent", &INTENTS, true);
    let (name, medication) = medicine_name(reader, &resource, &path);
    let about = reader.patient(&resource, &path, "subject", true);
    let problems = &mut reader.problems;
    let authored = day(date_time(problems, &resource, &path, "authoredOn", false));
    let period_path = at(&at(&path, "dispenseRequest"), "validityPeriod");
    let validity = object(problems, &resource, &path, "dispenseRequest", false)
        .and_then(|dispense| object(problems, dispense, &at(&path, "dispenseRequest"), "validityPeriod", false));
    let (start, end) = match validity {
        Some(period) => (day(date_time(problems, period, &period_path, "start", false)), day(date_time(problems, period, &period_path, "end", false))),
        None => (None, None),
    };
    let prescriber = object(problems, &resource, &path, "requester", false)
        .and_then(|requester| string(problems, requester, &at(&path, "requester"), "display", false))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let dosages = list(problems, &resource, &path, "dosageInstruction", 0);
    let dosage_path = nth(&at(&path, "dosageInstruction"), 0);
    let dosage = dosages.first().map(|first| dosage(reader, first, &dosage_path)).unwrap_or_default();
    let (Some(status), Some(intent)) = (status.and_then(|status| STATUSES.into_iter().find(|known| *known == status)), intent) else { return };
    if matches!(status, "cancelled" | "entered-in-error" | "draft") || matches!(intent, "proposal" | "option") {
        return reader.left_out(index, "Not a prescription in force (cancelled, draft, entered in error, or only proposed).");
    }
    let start = start.or(authored);
    add_medicine(reader, Prescribed { index, status, name, medication, dosage, dosage_path, prescriber, start, end, period_path, about });
}

/// `MedicationAdministration`: a dose given, refused or not given, of a medicine in the Bundle.
pub(crate) fn administration(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    let status = code(
        &mut reader.problems,
        &resource,
        &path,
        "status",
        &["in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped", "unknown"],
        true,
    );
    let (_, medication) = medicine_name(reader, &resource, &path);
    let about = reader.patient(&resource, &path, "subject", true);
    let problems = &mut reader.problems;
    let due_at = match object(problems, &resource, &path, "effectivePeriod", false) {
        Some(period) => full_time(problems, period, &at(&path, "effectivePeriod"), "start", true),
        None => full_time(problems, &resource, &path, "effectiveDateTime", true),
    };
    let reason = list(problems, &resource, &path, "statusReason", 0).first().and_then(|concept| {
        concept.get("text").and_then(Value::as_str).or_else(|| concept.pointer("/coding/0/display").and_then(Value::as_str)).map(str::to_owned)
    });
    let performer = list(problems, &resource, &path, "performer", 0)
        .first()
        .and_then(|performer| performer.pointer("/actor/display").and_then(Value::as_str).map(str::to_owned));
    let notes = list(problems, &resource, &path, "note", 0);
    let note_path = nth(&at(&path, "note"), 0);
    let author = notes.first().and_then(|note| string(problems, note, &note_path, "authorString", false)).map(str::to_owned);
    let recorded_at = notes.first().and_then(|note| date_time(problems, note, &note_path, "time", false)).and_then(|moment| match moment {
        Moment::Time(time) => Some(time),
        _ => None,
    });
    let Some(status) = status else { return };
    let outcome = match status {
        "completed" => Outcome::Given,
        "not-done" if reason.as_deref().is_some_and(|reason| reason.starts_with("Refused")) => Outcome::Refused,
        "not-done" => Outcome::NotGiven,
        "entered-in-error" => return reader.left_out(index, "Entered in error: nothing to keep."),
        other => {
            return reader.problems.unrecordable(&at(&path, "status"), format!("carefront records doses completed or not-done, not {other}."));
        }
    };
    let reason = reason.map(|reason| {
        let reason = reason.trim();
        let stripped = ["Refused by the person: ", "Not given: "].iter().find_map(|prefix| reason.strip_prefix(prefix));
        match stripped {
            Some(rest) => rest.trim().to_owned(),
            None if matches!(reason, "Refused by the person" | "Not given") => String::new(),
            None => reason.to_owned(),
        }
    });
    let Some(recorded_by) = author.or(performer).map(|name| name.trim().to_owned()) else {
        return reader.problems.unrecordable(&at(&path, "performer"), "Say who gave the dose (performer[0].actor.display, or note[0].authorString).");
    };
    let Some(medicine_id) = medication.and_then(|found| reader.medicine_of_entry.get(&found).cloned()) else {
        if medication.is_some() {
            reader.problems.unrecordable(
                &at(&path, "medicationReference"),
                "The Medication it names is not the medicine of any MedicationStatement or MedicationRequest kept from this Bundle.",
            );
        } else if member(&resource, "medicationCodeableConcept").is_some() {
            reader.problems.unrecordable(
                &at(&path, "medicationCodeableConcept"),
                "Name the medicine by medicationReference to a Medication in this Bundle, as the export does.",
            );
        }
        return;
    };
    let (Some(due_at), true) = (due_at, about) else { return };
    let Some(id) = reader.derived_id(index, "administration") else { return };
    reader.took(index, &id);
    reader.import.administrations.push(Administration {
        id,
        person_id: reader.target.person_id.to_owned(),
        medicine_id,
        due_at,
        outcome,
        reason: reason.filter(|reason| !reason.is_empty()),
        recorded_by,
        recorded_at: recorded_at.unwrap_or(reader.target.now),
    });
}

/// `AllergyIntolerance`: something the person must not be given, while it is active.
pub(crate) fn allergy(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    let problems = &mut reader.problems;
    let clinical = concept_code(problems, &resource, &path, "clinicalStatus", ALLERGY_CLINICAL, &["active", "inactive", "resolved"]);
    let verification =
        concept_code(problems, &resource, &path, "verificationStatus", ALLERGY_VERIFICATION, &["unconfirmed", "confirmed", "refuted", "entered-in-error"]);
    let in_error = verification.as_deref() == Some("entered-in-error");
    if member(&resource, "clinicalStatus").is_none() && !in_error {
        problems.invalid(&at(&path, "clinicalStatus"), "clinicalStatus is required unless verificationStatus is entered-in-error (R4 ait-1).");
    }
    if member(&resource, "clinicalStatus").is_some() && in_error {
        problems.invalid(&at(&path, "clinicalStatus"), "clinicalStatus must be left out when verificationStatus is entered-in-error (R4 ait-2).");
    }
    code(problems, &resource, &path, "type", &["allergy", "intolerance"], false);
    code(problems, &resource, &path, "criticality", &["low", "high", "unable-to-assess"], false);
    for (number, category) in list(problems, &resource, &path, "category", 0).into_iter().enumerate() {
        if !category.as_str().is_some_and(|category| ["food", "medication", "environment", "biologic"].contains(&category)) {
            problems.invalid(&nth(&at(&path, "category"), number), "category is one of food, medication, environment, biologic.");
        }
    }
    let substance = concept_words(problems, &resource, &path, "code", true);
    let mut reaction = String::new();
    if let Some(first) = list(problems, &resource, &path, "reaction", 0).first() {
        let reaction_path = nth(&at(&path, "reaction"), 0);
        let manifestations = list(problems, first, &reaction_path, "manifestation", 1);
        let words = manifestations
            .first()
            .and_then(|concept| concept.get("text").and_then(Value::as_str).or_else(|| concept.pointer("/coding/0/display").and_then(Value::as_str)));
        reaction = words.or_else(|| first.get("description").and_then(Value::as_str)).unwrap_or_default().trim().to_owned();
    }
    let recorded_at = date_time(problems, &resource, &path, "recordedDate", false).and_then(|moment| match moment {
        Moment::Time(time) => Some(time),
        Moment::Date(day) => Some(crate::uk_time::start_of(day)),
        Moment::Partial => None,
    });
    let about = reader.patient(&resource, &path, "patient", true);
    if matches!(clinical.as_deref(), Some("inactive" | "resolved")) || matches!(verification.as_deref(), Some("refuted" | "entered-in-error")) {
        return reader.left_out(index, "Not an active allergy: carefront lists the allergies to avoid now.");
    }
    let (Some(substance), true) = (substance, about) else { return };
    let Some(id) = reader.derived_id(index, "allergy") else { return };
    reader.took(index, &id);
    reader.import.allergies.push(Allergy {
        id,
        person_id: reader.target.person_id.to_owned(),
        substance,
        reaction,
        recorded_at: recorded_at.unwrap_or(reader.target.now),
    });
}
