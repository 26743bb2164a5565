//! The person, their care plan and its goals, and their visits: `Patient` (its contacts),
//! `CarePlan`, `Goal`, `Encounter` with the carers' note in a `Communication`, and `Appointment`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

use super::Reader;
use super::check::{Moment, at, code, concept_words, date_time, full_time, instant, list, member, nth, object, string};
use crate::domain::CarePlan;
use crate::export::contact_words;
use crate::record::{CareVisit, Contact, ContactKind, VisitStatus};
use crate::uk_time;

/// The longest a visit lasts (as for the JSON write).
const MAX_VISIT_HOURS: i64 = 24;

/// The headings the export writes the plan's needs and risks under, in notes.
const NEEDS_HEADING: &str = "What I need help with";
const RISKS_HEADING: &str = "Risks, and how they are kept low";

/// A note of a visit: the `Communication` entry, its text and when it was sent.
pub(crate) type Note = (usize, String, Option<DateTime<Utc>>);

fn parts(reader: &Reader<'_>, index: usize) -> (Value, String) {
    let entry = &reader.entries[index];
    (entry.resource.clone(), entry.resource_path.clone())
}

/// `Patient`: who the person is (checked before) and their contacts.
pub(crate) fn patient(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    let problems = &mut reader.problems;
    let mut contacts = Vec::new();
    for (position, contact) in list(problems, &resource, &path, "contact", 0).into_iter().enumerate() {
        let place = nth(&at(&path, "contact"), position);
        let relationship = list(problems, contact, &place, "relationship", 0)
            .first()
            .and_then(|concept| {
                let wrapper = serde_json::json!({ "relationship": concept });
                concept_words(problems, &wrapper, &place, "relationship", false)
            })
            .unwrap_or_default();
        let (kind, role) = contact_kind(&relationship);
        let name = object(problems, contact, &place, "name", false).and_then(|name| {
            let name_path = at(&place, "name");
            let text = string(problems, name, &name_path, "text", false).map(str::to_owned);
            let given: Vec<String> = list(problems, name, &name_path, "given", 0).iter().filter_map(|given| given.as_str().map(str::to_owned)).collect();
            let family = string(problems, name, &name_path, "family", false);
            text.or_else(|| {
                let joined: Vec<String> = given.into_iter().chain(family.map(str::to_owned)).collect();
                (!joined.is_empty()).then(|| joined.join(" "))
            })
        });
        let Some(name) = name else {
            problems.unrecordable(&at(&place, "name"), "A contact needs a name (name.text).");
            continue;
        };
        let (mut phone, mut email) = (String::new(), String::new());
        for (number, telecom) in list(problems, contact, &place, "telecom", 0).into_iter().enumerate() {
            let telecom_path = nth(&at(&place, "telecom"), number);
            let system = code(problems, telecom, &telecom_path, "system", &["phone", "fax", "email", "pager", "url", "sms", "other"], false);
            let value = string(problems, telecom, &telecom_path, "value", false).unwrap_or_default().trim().to_owned();
            match system {
                Some("phone" | "sms") if phone.is_empty() => phone = value,
                Some("email") if email.is_empty() => email = value,
                _ => {}
            }
        }
        let id = super::derive("contact", reader.target.person_id, &format!("Patient.contact[{position}]"));
        contacts.push(Contact {
            id,
            person_id: reader.target.person_id.to_owned(),
            kind,
            name: name.trim().to_owned(),
            role,
            phone,
            email,
            available: String::new(),
            position: i64::try_from(position).unwrap_or(i64::MAX),
        });
    }
    let ids: Vec<String> = contacts.iter().map(|contact| contact.id.clone()).collect();
    reader.import.contacts.extend(contacts);
    if ids.is_empty() {
        reader.left_out(index, "The person is already in carefront: only their contacts are taken from a Patient, and it has none.");
    }
    for id in ids {
        reader.took(index, &id);
    }
}

/// A contact's kind and role from the relationship's words ("Care team: Care coordinator").
fn contact_kind(words: &str) -> (ContactKind, String) {
    for kind in ContactKind::ALL {
        let label = contact_words(kind);
        if words == label {
            return (kind, String::new());
        }
        if let Some(role) = words.strip_prefix(label).and_then(|rest| rest.strip_prefix(": ")) {
            return (kind, role.trim().to_owned());
        }
    }
    (ContactKind::Other, words.trim().to_owned())
}

/// The day a `Moment` names, as a moment (the start of a UK day for a date).
fn moment_time(moment: Moment) -> Option<DateTime<Utc>> {
    match moment {
        Moment::Time(time) => Some(time),
        Moment::Date(day) => Some(uk_time::start_of(day)),
        Moment::Partial => None,
    }
}

/// `CarePlan`: the plan in force, with its goals as outcomes, its activities as support and
/// visit times, and the needs, risks and review date from its notes.
pub(crate) fn care_plan(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    let problems = &mut reader.problems;
    let status = code(problems, &resource, &path, "status", &["draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"], true);
    let intent = code(problems, &resource, &path, "intent", &["proposal", "plan", "order", "option"], true);
    let about = reader.patient(&resource, &path, "subject", true);
    let problems = &mut reader.problems;
    let summary = string(problems, &resource, &path, "description", false).or_else(|| string(problems, &resource, &path, "title", false)).map(str::to_owned);
    let period = object(problems, &resource, &path, "period", false);
    let period_path = at(&path, "period");
    let start = period.and_then(|period| date_time(problems, period, &period_path, "start", false)).and_then(moment_time);
    let end = period.and_then(|period| date_time(problems, period, &period_path, "end", false)).and_then(Moment::day);
    let written_by = object(problems, &resource, &path, "author", false)
        .and_then(|author| string(problems, author, &at(&path, "author"), "display", false))
        .map(str::to_owned);
    let mut needs = Vec::new();
    let mut risks = Vec::new();
    let mut review_due: Option<NaiveDate> = None;
    for (number, note) in list(problems, &resource, &path, "note", 0).into_iter().enumerate() {
        let Some(text) = string(problems, note, &nth(&at(&path, "note"), number), "text", true) else { continue };
        if let Some(day) = text.trim().strip_prefix("Review due on ").map(|rest| rest.trim_end_matches('.')) {
            review_due = NaiveDate::parse_from_str(day, "%d %B %Y").ok().or(review_due);
        } else if let Some(items) = listed(text, NEEDS_HEADING) {
            needs.extend(items);
        } else if let Some(items) = listed(text, RISKS_HEADING) {
            risks.extend(items);
        }
    }
    let mut support = Vec::new();
    let mut visit_schedule = Vec::new();
    for (number, activity) in list(problems, &resource, &path, "activity", 0).into_iter().enumerate() {
        let activity_path = nth(&at(&path, "activity"), number);
        let Some(detail) = object(problems, activity, &activity_path, "detail", false) else { continue };
        let detail_path = at(&activity_path, "detail");
        let status = code(
            problems,
            detail,
            &detail_path,
            "status",
            &["not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped", "unknown", "entered-in-error"],
            true,
        );
        let description = string(problems, detail, &detail_path, "description", false);
        let scheduled = string(problems, detail, &detail_path, "scheduledString", false);
        if matches!(status, Some("completed" | "cancelled" | "stopped" | "entered-in-error")) {
            continue;
        }
        match (scheduled, description) {
            (Some(when), _) => visit_schedule.push(when.trim().to_owned()),
            (None, Some(description)) => support.push(description.trim().to_owned()),
            (None, None) => {}
        }
    }
    let outcomes = goals_of(reader, &resource, &path);
    let problems = &mut reader.problems;
    let (Some(status), Some(intent)) = (status, intent) else { return };
    if !matches!(status, "active" | "on-hold") || !matches!(intent, "plan" | "order") {
        reader.left_out(index, "Only a care plan in force (status active or on-hold, intent plan or order) is kept.");
        return;
    }
    if reader.import.care_plan.is_some() {
        problems.unrecordable(&path, "A person has one care plan: send one CarePlan in force.");
        return;
    }
    let Some(summary) = summary else {
        problems.unrecordable(&at(&path, "description"), "Give the plan's summary in plain words (description).");
        return;
    };
    let Some(review_due) = review_due.or(end) else {
        problems.unrecordable(&at(&path, "period.end"), "Say when the plan is next reviewed: period.end, or a note \"Review due on 1 March 2027.\"");
        return;
    };
    if !about {
        return;
    }
    let id = match reader.target.care_plan_id {
        Some(id) => id.to_owned(),
        None => match reader.derived_id(index, "care-plan") {
            Some(id) => id,
            None => return,
        },
    };
    reader.took(index, &id);
    reader.import.care_plan = Some(CarePlan {
        id,
        person_id: reader.target.person_id.to_owned(),
        summary: summary.trim().to_owned(),
        outcomes,
        needs,
        support,
        visit_schedule,
        risks,
        review_due,
        written_by: written_by.as_deref().unwrap_or(reader.target.author).trim().to_owned(),
        updated_at: start.unwrap_or(reader.target.now),
    });
}

/// The items of a note written as "Heading:\n\n- one\n- two".
fn listed(text: &str, heading: &str) -> Option<Vec<String>> {
    let rest = text.trim().strip_prefix(heading)?.strip_prefix(':')?;
    Some(rest.lines().filter_map(|line| line.trim().strip_prefix("- ")).map(|item| item.trim().to_owned()).filter(|item| !item.is_empty()).collect())
}

/// The outcomes of a plan: the descriptions of the goals it names, in order, while they are
/// live.
fn goals_of(reader: &mut Reader<'_>, plan: &Value, path: &str) -> Vec<String> {
    let mut outcomes = Vec::new();
    for (number, goal) in list(&mut reader.problems, plan, path, "goal", 0).into_iter().enumerate() {
        let place = nth(&at(path, "goal"), number);
        let Some(reference) = string(&mut reader.problems, goal, &place, "reference", true) else { continue };
        let Some(found) = reader.resolve(reference).filter(|found| reader.entries[*found].resource_type == "Goal") else {
            reader.problems.unrecordable(&at(&place, "reference"), "No Goal in this Bundle has this reference: send each goal the plan names.");
            continue;
        };
        let goal = reader.entries[found].resource;
        let live = member(goal, "lifecycleStatus")
            .and_then(Value::as_str)
            .is_some_and(|status| matches!(status, "proposed" | "planned" | "accepted" | "active" | "on-hold"));
        let words = member(goal, "description").and_then(|description| {
            description.get("text").and_then(Value::as_str).or_else(|| description.pointer("/coding/0/display").and_then(Value::as_str))
        });
        if let (true, Some(words)) = (live, words) {
            outcomes.push(words.trim().to_owned());
        }
    }
    outcomes
}

/// `Goal`: checked here, kept as an outcome of the plan that names it.
pub(crate) fn goal(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    let problems = &mut reader.problems;
    code(
        problems,
        &resource,
        &path,
        "lifecycleStatus",
        &["proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled", "entered-in-error", "rejected"],
        true,
    );
    concept_words(problems, &resource, &path, "description", true);
    reader.patient(&resource, &path, "subject", true);
    let full_url = reader.entries[index].full_url;
    let own_id = member(&resource, "id").and_then(Value::as_str).map(|id| format!("Goal/{id}"));
    let named = reader.entries.iter().filter(|entry| entry.resource_type == "CarePlan").any(|plan| {
        member(plan.resource, "goal").and_then(Value::as_array).is_some_and(|goals| {
            goals
                .iter()
                .filter_map(|goal| goal.get("reference").and_then(Value::as_str))
                .any(|reference| Some(reference) == full_url || Some(reference.to_owned()) == own_id)
        })
    });
    match (named, reader.import.care_plan.as_ref().map(|plan| plan.id.clone())) {
        (true, Some(plan)) => reader.took(index, &plan),
        (true, None) => reader.left_out(index, "Kept as an outcome of the care plan that names it."),
        (false, _) => reader.left_out(index, "A goal is kept as an outcome of the care plan that names it, and no CarePlan here names this one."),
    }
}

/// Checks a visit's times, as the JSON write does.
fn check_times(reader: &mut Reader<'_>, place: &str, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> bool {
    if ends_at <= starts_at {
        reader.problems.invalid(place, "The end must be after the start (R4 per-1).");
        return false;
    }
    if ends_at - starts_at > Duration::hours(MAX_VISIT_HOURS) {
        reader.problems.unrecordable(place, "A visit lasts at most 24 hours.");
        return false;
    }
    true
}

/// `Encounter`: a home care visit.
pub(crate) fn encounter(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    let problems = &mut reader.problems;
    let status = code(
        problems,
        &resource,
        &path,
        "status",
        &["planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"],
        true,
    );
    object(problems, &resource, &path, "class", true);
    let kind = list(problems, &resource, &path, "type", 0)
        .first()
        .and_then(|concept| concept.get("text").and_then(Value::as_str).or_else(|| concept.pointer("/coding/0/display").and_then(Value::as_str)))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let period_path = at(&path, "period");
    let period = object(problems, &resource, &path, "period", false);
    let starts_at = period.and_then(|period| full_time(problems, period, &period_path, "start", false));
    let ends_at = period.and_then(|period| full_time(problems, period, &period_path, "end", false));
    let mut carers = Vec::new();
    for (number, participant) in list(problems, &resource, &path, "participant", 0).into_iter().enumerate() {
        let place = nth(&at(&path, "participant"), number);
        if let Some(individual) = object(problems, participant, &place, "individual", false)
            && let Some(name) = string(problems, individual, &at(&place, "individual"), "display", false)
        {
            carers.push(name.trim().to_owned());
        }
    }
    own_organisation(reader, &resource, &path);
    let about = reader.patient(&resource, &path, "subject", true);
    let Some(status) = status else { return };
    let status = match status {
        "planned" => VisitStatus::Planned,
        "finished" => VisitStatus::Completed,
        "cancelled" if kind.contains("missed") => VisitStatus::Missed,
        "cancelled" => VisitStatus::Cancelled,
        "entered-in-error" => return reader.left_out(index, "Entered in error: nothing to keep."),
        other => {
            let reason = format!("carefront records visits planned, finished or cancelled (missed), not {other}.");
            return reader.problems.unrecordable(&at(&path, "status"), reason);
        }
    };
    let (Some(starts_at), Some(ends_at)) = (starts_at, ends_at) else {
        return reader.problems.unrecordable(&period_path, "A visit needs period.start and period.end, to the second with a zone.");
    };
    if !check_times(reader, &period_path, starts_at, ends_at) || !about {
        return;
    }
    let Some(id) = reader.derived_id(index, "visit") else { return };
    add_visit(reader, index, id, starts_at, ends_at, status, carers.join(", "), String::new());
}

/// A visit is the caller's own organisation's: one naming another provider is refused.
fn own_organisation(reader: &mut Reader<'_>, resource: &Value, path: &str) {
    let system = reader.system("organisation");
    if let Some(identifier) = resource.pointer("/serviceProvider/identifier")
        && identifier.get("system").and_then(Value::as_str) == Some(system.as_str())
        && identifier.get("value").and_then(Value::as_str) != Some(reader.target.organisation_id)
    {
        reader.problems.unrecordable(&at(path, "serviceProvider"), "A system puts in its own organisation's visits only.");
    }
}

#[allow(clippy::too_many_arguments)]
fn add_visit(
    reader: &mut Reader<'_>,
    index: usize,
    id: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    status: VisitStatus,
    carers: String,
    note: String,
) {
    reader.took(index, &id);
    reader.visit_of_entry.insert(index, reader.import.visits.len());
    reader.import.visits.push(CareVisit {
        id,
        person_id: reader.target.person_id.to_owned(),
        organisation_id: reader.target.organisation_id.to_owned(),
        starts_at,
        ends_at,
        status,
        carers,
        note,
        recorded_at: reader.target.now,
    });
}

/// `Appointment`: a planned visit (or one that happened, was missed or called off).
pub(crate) fn appointment(reader: &mut Reader<'_>, index: usize) {
    let (resource, path) = parts(reader, index);
    let problems = &mut reader.problems;
    let status = code(
        problems,
        &resource,
        &path,
        "status",
        &["proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist"],
        true,
    );
    let starts_at = instant(problems, &resource, &path, "start", false);
    let ends_at = instant(problems, &resource, &path, "end", false);
    let created = date_time(problems, &resource, &path, "created", false).and_then(moment_time);
    let comment = string(problems, &resource, &path, "comment", false).unwrap_or_default().trim().to_owned();
    let mut carers = Vec::new();
    let mut about = false;
    for (number, participant) in list(&mut reader.problems, &resource, &path, "participant", 1).into_iter().enumerate() {
        let place = nth(&at(&path, "participant"), number);
        code(&mut reader.problems, participant, &place, "status", &["accepted", "declined", "tentative", "needs-action"], true);
        let Some(actor) = object(&mut reader.problems, participant, &place, "actor", false) else { continue };
        let actor_path = at(&place, "actor");
        let reference = actor.get("reference").and_then(Value::as_str);
        let is_patient = reference.is_some_and(|reference| {
            reference.starts_with("Patient/") || reader.resolve(reference).is_some_and(|found| reader.entries[found].resource_type == "Patient")
        }) || actor.get("type").and_then(Value::as_str) == Some("Patient")
            || reference.is_some_and(|reference| reference.ends_with(&crate::export::stable_uuid("patient", reader.target.person_id).to_string()));
        if is_patient {
            about |= reader.is_the_person(actor, &actor_path);
        } else if let Some(name) = string(&mut reader.problems, actor, &actor_path, "display", false) {
            carers.push(name.trim().to_owned());
        }
    }
    if !about && reader.problems.found.iter().all(|problem| !problem.path.starts_with(&path)) {
        reader.problems.unrecordable(&at(&path, "participant"), "Name the person as a participant (actor: a reference to their Patient entry).");
    }
    let Some(status) = status else { return };
    let status = match status {
        "proposed" | "pending" | "booked" | "arrived" | "checked-in" => VisitStatus::Planned,
        "fulfilled" => VisitStatus::Completed,
        "cancelled" => VisitStatus::Cancelled,
        "noshow" => VisitStatus::Missed,
        _ => return reader.left_out(index, "Entered in error or on a waiting list: not a visit to keep."),
    };
    let (Some(starts_at), Some(ends_at)) = (starts_at, ends_at) else {
        return reader.problems.unrecordable(&at(&path, "start"), "A visit needs start and end, to the second with a zone.");
    };
    if !check_times(reader, &at(&path, "end"), starts_at, ends_at) || !about {
        return;
    }
    let Some(id) = reader.derived_id(index, "visit") else { return };
    add_visit(reader, index, id, starts_at, ends_at, status, carers.join(", "), comment);
    if let (Some(created), Some(visit)) = (created, reader.import.visits.last_mut()) {
        visit.recorded_at = created;
    }
}

/// `Communication`: the carers' note of the visit its `encounter` names.
pub(crate) fn communication(reader: &mut Reader<'_>, index: usize, notes: &mut BTreeMap<usize, Note>) {
    let (resource, path) = parts(reader, index);
    let problems = &mut reader.problems;
    code(
        problems,
        &resource,
        &path,
        "status",
        &["preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"],
        true,
    );
    let sent = date_time(problems, &resource, &path, "sent", false).and_then(moment_time);
    let mut text = Vec::new();
    for (number, payload) in list(problems, &resource, &path, "payload", 0).into_iter().enumerate() {
        if let Some(words) = string(problems, payload, &nth(&at(&path, "payload"), number), "contentString", false) {
            text.push(words.trim().to_owned());
        }
    }
    let about = reader.patient(&resource, &path, "subject", true);
    let Some(encounter) = object(&mut reader.problems, &resource, &path, "encounter", false) else {
        return reader.left_out(index, "Only a carers' note of a visit is kept: give Communication.encounter.");
    };
    let place = at(&at(&path, "encounter"), "reference");
    let found = encounter.get("reference").and_then(Value::as_str).and_then(|reference| reader.resolve(reference));
    match found.filter(|found| reader.entries[*found].resource_type == "Encounter") {
        Some(found) if about => {
            notes.insert(found, (index, text.join("\n\n"), sent));
        }
        Some(_) => {}
        None => reader.problems.unrecordable(&place, "No Encounter in this Bundle has this reference: send the visit with its note."),
    }
}

/// Puts each note with its visit.
pub(crate) fn attach_notes(reader: &mut Reader<'_>, notes: &BTreeMap<usize, Note>) {
    for (encounter, (communication, text, sent)) in notes {
        let Some(visit) = reader.visit_of_entry.get(encounter).and_then(|position| reader.import.visits.get_mut(*position)) else {
            reader.left_out(*communication, "The visit it is a note of is not kept.");
            continue;
        };
        visit.note = text.clone();
        if let Some(sent) = sent {
            visit.recorded_at = *sent;
        }
        let id = visit.id.clone();
        reader.took(*communication, &id);
    }
}
