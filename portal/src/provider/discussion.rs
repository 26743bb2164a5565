//! `/provider/people/{id}/discussions/new`: a member of staff records the consent discussion
//! they held in the person's home — the options they explained, who was there, what was chosen
//! and the person's own words. It is checked and kept exactly as a provider's system's is
//! through the API ([`DiscussionEntry::into_discussion`], [`record_discussion`]), in one plan
//! with its line in the person's access log, and then waits for the person (or someone acting
//! for them) to confirm it at `/people/{id}/discussions`.

use carefront_shared::access::AuditAction;
use carefront_shared::context::RequestContext;
use carefront_shared::discussion::{self, DiscussionEntry, DiscussionProblem, Method, Participant, Recording, Role, Topic};
use carefront_shared::domain::{Organisation, Person};
use carefront_shared::needs::Need;
use carefront_shared::notices;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::discussion::record_discussion;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use chrono::NaiveDate;
use http::StatusCode;
use minijinja::{Value, context};

use super::{described, organisation_grants_for, person_name, staff, support_permit};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// What the person chose for their records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Portal,
    Paper,
    Both,
    NoPaper,
}

impl Choice {
    const ALL: [Choice; 4] = [Choice::Portal, Choice::Paper, Choice::Both, Choice::NoPaper];

    fn as_str(self) -> &'static str {
        match self {
            Choice::Portal => "portal",
            Choice::Paper => "paper",
            Choice::Both => "both",
            Choice::NoPaper => "no-paper",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Choice::Portal => "On carefront (the portal)",
            Choice::Paper => "A paper copy of the care plan in the home",
            Choice::Both => "Both: on carefront and a paper copy in the home",
            Choice::NoPaper => "On carefront, and expressly no paper copy in the home",
        }
    }
}

/// The formats a member of staff can tick: large print as one (its size is the person's to say
/// on their needs page), then the needs by their stored names.
const FORMATS: [&str; 8] =
    ["large-print", "easy_read", "braille", "electronic_audio", "bsl_interpreter", "information_by_email", "contact_by_letter", "contact_via_carer"];

fn format_label(format: &str) -> &'static str {
    if format == "large-print" { "Large print" } else { Need::parse(format).map_or("", Need::label) }
}

/// The most the notes may say: with the choices written before them, what was decided stays
/// within the 4,000 characters a discussion keeps.
const MAX_NOTES_CHARS: usize = 3500;

/// Who else can be there, and in what part.
const OTHER_ROLES: [Role; 3] = [Role::Family, Role::Advocate, Role::Interpreter];

fn role_value(role: Role) -> &'static str {
    match role {
        Role::Person => "person",
        Role::Family => "family",
        Role::Advocate => "advocate",
        Role::Interpreter => "interpreter",
        Role::Staff => "staff",
    }
}

fn parse_role(text: &str, allowed: &[Role]) -> Result<Role, PortalError> {
    allowed.iter().copied().find(|role| role_value(*role) == text).ok_or_else(|| PortalError::BadRequest("unknown role".into()))
}

/// The form as typed, shown again with the errors.
#[derive(Debug, Default, serde::Serialize)]
struct Form {
    day: String,
    month: String,
    year: String,
    method: String,
    person_present: bool,
    representative_name: String,
    representative_role: String,
    other_name: String,
    other_role: String,
    covered: Vec<String>,
    choice: String,
    formats: Vec<String>,
    notes: String,
    persons_words: String,
}

impl Form {
    /// Today, in the home, with the person there: what most visits record.
    fn blank(today: NaiveDate) -> Form {
        Form {
            day: today.format("%-d").to_string(),
            month: today.format("%-m").to_string(),
            year: today.format("%Y").to_string(),
            method: Method::HomeVisit.as_str().to_owned(),
            person_present: true,
            representative_role: "family".into(),
            other_role: "interpreter".into(),
            ..Form::default()
        }
    }

    /// The fields of the posted form; an unknown choice (not one the page offers) is a bad
    /// request, not a mistake to explain.
    fn parse(request: &Request) -> Result<Form, PortalError> {
        let fields: Vec<(String, String)> = web::form(request)?;
        let mut form = Form::default();
        for (key, value) in fields {
            match key.as_str() {
                "held-on-day" => form.day = value.trim().to_owned(),
                "held-on-month" => form.month = value.trim().to_owned(),
                "held-on-year" => form.year = value.trim().to_owned(),
                "method" => form.method = value,
                "person-present" => form.person_present = value == "yes",
                "representative-name" => form.representative_name = value,
                "representative-role" => form.representative_role = value,
                "other-name" => form.other_name = value,
                "other-role" => form.other_role = value,
                "covered" => {
                    Topic::parse(&value).ok_or_else(|| PortalError::BadRequest("unknown topic".into()))?;
                    form.covered.push(value);
                }
                "choice" => {
                    if !Choice::ALL.iter().any(|choice| choice.as_str() == value) {
                        return Err(PortalError::BadRequest("unknown choice".into()));
                    }
                    form.choice = value;
                }
                "formats" => {
                    if !FORMATS.contains(&value.as_str()) {
                        return Err(PortalError::BadRequest("unknown format".into()));
                    }
                    form.formats.push(value);
                }
                "notes" => form.notes = value,
                "persons-words" => form.persons_words = value,
                _ => {}
            }
        }
        Ok(form)
    }

    fn held_on(&self) -> Option<NaiveDate> {
        let number = |text: &str| text.parse::<u32>().ok();
        let year = self.year.parse::<i32>().ok()?;
        NaiveDate::from_ymd_opt(year, number(&self.month)?, number(&self.day)?)
    }

    /// "How they want their records: Both… Formats: Large print, Easy read." and the notes.
    fn decisions(&self, choice: Choice) -> String {
        let mut text = format!("How they want their records: {}.", choice.label());
        if !self.formats.is_empty() {
            let formats: Vec<&str> = self.formats.iter().map(|format| format_label(format)).collect();
            text.push_str(&format!(" Formats and communication: {}.", formats.join(", ")));
        }
        let notes = self.notes.trim();
        if !notes.is_empty() {
            text.push_str("\n\n");
            text.push_str(notes);
        }
        text
    }
}

/// One problem with the form: the field it is about (its id on the page) and what to do.
#[derive(Debug, serde::Serialize)]
struct FieldError {
    field: &'static str,
    message: &'static str,
}

fn field_error(problem: &DiscussionProblem) -> FieldError {
    let (field, text) = match problem {
        DiscussionProblem::BadDate => ("held-on-day", "The date of the conversation must be today or in the last 10 years"),
        DiscussionProblem::NoPerson => ("person-present", "Say who was there: the person, or who spoke for them"),
        DiscussionProblem::BadParticipant => ("representative-name", "Names must be 100 characters or fewer"),
        DiscussionProblem::TooManyParticipants => ("other-name", "Name at most 20 people"),
        DiscussionProblem::NothingCovered => ("covered", "Choose at least one thing you explained"),
        DiscussionProblem::BadText("decisions") => ("notes", "Notes must be 3,500 characters or fewer, in plain text"),
        DiscussionProblem::BadText(_) => ("persons-words", "Write what they said, in their own words, in up to 4,000 characters"),
    };
    FieldError { field, message: text }
}

#[allow(clippy::too_many_arguments)]
fn render(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    subject_id: &str,
    name: &str,
    form: &Form,
    errors: &[FieldError],
) -> Result<Response, PortalError> {
    let topics: Vec<Value> = Topic::ALL
        .into_iter()
        .map(|topic| context! { value => topic.as_str(), label => topic_label(topic), checked => form.covered.iter().any(|covered| covered == topic.as_str()) })
        .collect();
    let choices: Vec<Value> = Choice::ALL
        .into_iter()
        .map(|choice| context! { value => choice.as_str(), label => choice.label(), checked => form.choice == choice.as_str() })
        .collect();
    let formats: Vec<Value> = FORMATS
        .into_iter()
        .map(|format| context! { value => format, label => format_label(format), checked => form.formats.iter().any(|chosen| chosen == format) })
        .collect();
    let methods: Vec<Value> = [Method::HomeVisit, Method::Phone, Method::Video]
        .into_iter()
        .map(|method| context! { value => method.as_str(), label => method_label(method), checked => form.method == method.as_str() })
        .collect();
    let roles: Vec<Value> = OTHER_ROLES.into_iter().map(|role| context! { value => role_value(role), label => role.words() }).collect();
    let error_fields: Vec<&str> = errors.iter().map(|error| error.field).collect();
    page_with_status(
        context,
        visit,
        status,
        "provider_discussion.html",
        context! {
            current => "provider", subject => context! { id => subject_id, name }, form, topics, choices, formats, methods, roles,
            errors, error_fields,
        },
    )
}

/// The options as the member of staff explained them.
fn topic_label(topic: Topic) -> &'static str {
    match topic {
        Topic::ElectronicRecords => "Keeping their records on carefront, the portal, where they can see them",
        Topic::PaperRecords => "A paper copy of their care plan in the home, or expressly none",
        Topic::Formats => "The formats they need: large print, easy read, BSL and others",
        Topic::WhoCanSee => "Who can see which parts of their information",
        Topic::ChangingTheirMind => "How to change their mind at any time",
    }
}

fn method_label(method: Method) -> &'static str {
    match method {
        Method::HomeVisit => "At their home",
        Method::Phone => "By phone",
        Method::Video => "By video call",
    }
}

/// The person, and the organisation's leave to see them (404 without a live grant to it).
async fn open(
    context: &RequestContext<'_>,
    visit: &Visit,
    subject_id: &str,
) -> Result<(Person, Organisation, carefront_shared::access::Permit, String), PortalError> {
    let (reader, organisation) = staff(context, visit).await?;
    let grants = organisation_grants_for(context, &organisation, subject_id).await?;
    let permit = support_permit(context, reader, subject_id, &grants)?;
    let name = person_name(context, subject_id).await?;
    Ok((reader.clone(), organisation, permit, name))
}

/// GET /provider/people/{id}/discussions/new.
pub async fn new_page(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let (_, _, _, name) = open(context, visit, subject_id).await?;
    render(context, visit, StatusCode::OK, subject_id, &name, &Form::blank(uk_time::date(context.now)), &[])
}

/// POST /provider/people/{id}/discussions/new: checks the form as the API checks a system's
/// discussion, and keeps it with its line in the access log; or shows the form again naming
/// every field to put right, having written nothing.
pub async fn record(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let (reader, organisation, permit, name) = open(context, visit, subject_id).await?;
    let form = Form::parse(request)?;
    let method = Method::parse(&form.method).ok_or_else(|| PortalError::BadRequest("unknown method".into()))?;
    let mut errors = Vec::new();
    let held_on = form.held_on();
    if held_on.is_none() {
        errors.push(FieldError { field: "held-on-day", message: "Enter the date of the conversation as numbers, for example 21 11 2026" });
    }
    if form.notes.trim().chars().count() > MAX_NOTES_CHARS {
        errors.push(FieldError { field: "notes", message: "Notes must be 3,500 characters or fewer" });
    }
    let choice = Choice::ALL.into_iter().find(|choice| choice.as_str() == form.choice);
    if choice.is_none() {
        errors.push(FieldError { field: "choice", message: "Choose how they want their records" });
    }
    let mut participants = Vec::new();
    if form.person_present {
        participants.push(Participant { role: Role::Person, name: name.clone() });
    }
    if !form.representative_name.trim().is_empty() {
        participants
            .push(Participant { role: parse_role(&form.representative_role, &[Role::Family, Role::Advocate])?, name: form.representative_name.clone() });
    }
    if !form.other_name.trim().is_empty() {
        participants.push(Participant { role: parse_role(&form.other_role, &OTHER_ROLES)?, name: form.other_name.clone() });
    }
    participants.push(Participant { role: Role::Staff, name: reader.display_name.clone() });
    let entry = DiscussionEntry {
        // A date that is not one is reported above; the rest of the form is still checked.
        held_on: held_on.unwrap_or_else(|| uk_time::date(context.now)),
        method,
        participants,
        covered: form.covered.iter().filter_map(|topic| Topic::parse(topic)).collect(),
        decisions: form.decisions(choice.unwrap_or(Choice::Portal)),
        persons_words: form.persons_words.clone(),
    };
    let id = new_id(context.random);
    let recording = Recording { id: &id, person_id: subject_id, organisation_id: &organisation.id, recorded_by: &reader.id, now: context.now };
    let checked = entry.into_discussion(recording);
    if let Err(problem) = &checked {
        let mut error = field_error(problem);
        // The shared check does not say whose name is wrong: the other person's, if theirs is.
        if *problem == DiscussionProblem::BadParticipant && form.representative_name.trim().chars().count() <= 100 {
            error.field = "other-name";
        }
        if !errors.iter().any(|earlier| earlier.field == error.field) {
            errors.push(error);
        }
    }
    let discussion = match checked {
        Ok(discussion) if errors.is_empty() => discussion,
        _ => return render(context, visit, StatusCode::BAD_REQUEST, subject_id, &name, &form, &errors),
    };
    let detail = discussion::recorded_detail(&described(&reader, &organisation), discussion.held_on);
    let event = permit.overall_event(new_id(context.random), AuditAction::DiscussionRecordedByStaff, detail);
    let told = notices::discussion::discussion_to_confirm(context.store, &discussion, &context.config.origin, context.now, context.random).await?;
    // The discussion, its line in the access log and the messages that it waits to be
    // confirmed: all, or none.
    let recorder = Recorder::new();
    record_discussion(&recorder, &discussion, None, &event).await?;
    notices::queue(&recorder, &told).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect("/provider?done=discussion"))
}
