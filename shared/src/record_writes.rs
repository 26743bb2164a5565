//! The whole care record put in by a provider: care plan, service user guide, medicines (start,
//! change, stop), allergies (and marking one entered in error), contacts, documents, the visit
//! schedule and each visit's live status. Every write here is checked field by field (nothing
//! is recorded if a field is wrong), records its statements into a plan — the change, a new
//! version of what it changed (history is kept: `record_versions` is append-only) and its line
//! in the person's access log, built from a permit to contribute — and is stopped inside the
//! batch if the part changed since the version it was made from (optimistic concurrency).
//!
//! The API, the FHIR import and the demo seed call these same functions, so the record is put in
//! one way whichever door it comes through. They read nothing (a plan cannot read): the caller
//! passes what it read before (the current version, the medicine as it is now).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{AuditAction, NotCovered, Permit};
use crate::consent::{Action, Category};
use crate::db::DbError;
use crate::domain::{AuditEvent, CarePlan};
use crate::plan::Recorder;
use crate::random::{Random, new_id};
use crate::record::{Allergy, CareVisit, Contact, Document, DocumentKind, DocumentProblem, GuideSection, Medicine, ServiceUserGuide, VisitStatus};
use crate::store::{RecordStore as _, Store as _, VersionStore as _};
use crate::uk_time;

/// Which part of the record a version is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKind {
    /// The care plan (one per person).
    CarePlan,
    /// The service user guide (one per person).
    Guide,
    /// One medicine.
    Medicine,
    /// One allergy.
    Allergy,
    /// The contact list (one per person).
    Contacts,
    /// One provider's visit schedule for the person.
    VisitSchedule,
    /// One visit.
    Visit,
}

impl VersionKind {
    /// Every kind.
    pub const ALL: [VersionKind; 7] = [
        VersionKind::CarePlan,
        VersionKind::Guide,
        VersionKind::Medicine,
        VersionKind::Allergy,
        VersionKind::Contacts,
        VersionKind::VisitSchedule,
        VersionKind::Visit,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::CarePlan => "care_plan",
            VersionKind::Guide => "guide",
            VersionKind::Medicine => "medicine",
            VersionKind::Allergy => "allergy",
            VersionKind::Contacts => "contacts",
            VersionKind::VisitSchedule => "visit_schedule",
            VersionKind::Visit => "visit",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<VersionKind> {
        VersionKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The category a reader needs to see its versions.
    pub fn category(self) -> Category {
        match self {
            VersionKind::CarePlan => Category::CarePlan,
            VersionKind::Guide => Category::ServiceUserGuide,
            VersionKind::Medicine | VersionKind::Allergy => Category::Medication,
            VersionKind::Contacts => Category::Contacts,
            VersionKind::VisitSchedule | VersionKind::Visit => Category::VisitsAndNotes,
        }
    }
}

/// One version of one part of a person's record, as a change made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordVersion {
    /// Stable identifier.
    pub id: String,
    /// Whose record.
    pub person_id: String,
    /// Which part.
    pub kind: VersionKind,
    /// Which item of that part ('' for the care plan, guide and contacts).
    pub item_id: String,
    /// 1 for the first, then one more for each change.
    pub version: i64,
    /// The part as this version made it (JSON of its record type).
    pub snapshot: serde_json::Value,
    /// Who made it, as the person reads it ("Brookside Home Care").
    pub changed_by: String,
    /// The organisation that made it.
    pub organisation_id: String,
    /// When.
    pub changed_at: DateTime<Utc>,
}

impl RecordVersion {
    /// The snapshot as its record type.
    pub fn read<T: serde::de::DeserializeOwned>(&self) -> Result<T, DbError> {
        serde_json::from_value(self.snapshot.clone()).map_err(|error| DbError::Decode(format!("record version {}: {error}", self.id)))
    }
}

/// A visit with its live status's actual times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledVisit {
    /// The visit (for a planned one, `carers` is the carer's first name).
    pub visit: CareVisit,
    /// When the latest status happened (as the carer's system reported it).
    pub status_at: Option<DateTime<Utc>>,
    /// When the carer arrived.
    pub checked_in_at: Option<DateTime<Utc>>,
    /// When the carer left.
    pub checked_out_at: Option<DateTime<Utc>>,
}

/// One field a write cannot accept, named as the API names it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field (`times[1]`, `visits[0].endsAt`).
    pub field: String,
    /// Why, in plain words.
    pub reason: String,
}

/// Why a write was not recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// Fields are wrong; nothing was recorded.
    #[error("{} field(s) cannot be accepted", .0.len())]
    Invalid(Vec<FieldProblem>),
    /// The permit is not leave to contribute to this part (a bug in the caller).
    #[error("the permit is not leave to contribute to {0:?}")]
    NotContribute(Category),
    /// The store refused to record a statement.
    #[error(transparent)]
    Store(#[from] DbError),
}

impl From<NotCovered> for WriteError {
    fn from(error: NotCovered) -> WriteError {
        WriteError::NotContribute(error.0)
    }
}

/// Collects the field problems of one write.
#[derive(Debug, Default)]
struct Fields(Vec<FieldProblem>);

impl Fields {
    fn require(&mut self, ok: bool, field: impl Into<String>, reason: impl Into<String>) {
        if !ok {
            self.0.push(FieldProblem { field: field.into(), reason: reason.into() });
        }
    }

    fn text(&mut self, value: &str, field: &str, max: usize) {
        self.require(is_text(value, max), field, format!("{field} must be 1 to {max} characters, without control characters."));
    }

    fn optional_text(&mut self, value: &str, field: &str, max: usize) {
        self.require(value.trim().is_empty() || is_text(value, max), field, format!("{field} must be at most {max} characters, without control characters."));
    }

    fn lines(&mut self, lines: &[String], field: &str, max_lines: usize) {
        self.require(lines.len() <= max_lines, field, format!("{field} holds at most {max_lines} lines."));
        for (index, line) in lines.iter().enumerate() {
            self.text(line, &format!("{field}[{index}]"), 2000);
        }
    }

    fn finish(self) -> Result<(), WriteError> {
        if self.0.is_empty() { Ok(()) } else { Err(WriteError::Invalid(self.0)) }
    }
}

/// Whether `text` is free text of 1 to `max` characters (after trimming) without control
/// characters other than line breaks and tabs.
pub fn is_text(text: &str, max: usize) -> bool {
    let text = text.trim();
    !text.is_empty() && text.chars().count() <= max && !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Who writes, under which permit, and when: what every write here needs besides its data.
pub struct Writer<'a> {
    /// Leave to contribute to the part written (its category), from the consent decision.
    pub permit: &'a Permit,
    /// The organisation writing.
    pub organisation_id: String,
    /// How the record's history names the writer ("Brookside Home Care").
    pub name: String,
    /// How the access log names the writer ("Brookside Home Care's computer system (…)").
    pub described: String,
    /// Now.
    pub now: DateTime<Utc>,
    /// Randomness for new ids.
    pub random: &'a dyn Random,
}

impl Writer<'_> {
    /// A new id for a row this write makes.
    pub fn new_id(&self) -> String {
        new_id(self.random)
    }

    fn person_id(&self, category: Category) -> Result<String, WriteError> {
        if self.permit.action() != Action::Contribute {
            return Err(WriteError::NotContribute(category));
        }
        Ok(self.permit.subject_for(category)?.to_owned())
    }

    fn event(&self, action: AuditAction, category: Category, detail: String) -> Result<AuditEvent, WriteError> {
        Ok(self.permit.event(self.new_id(), action, category, format!("{} {detail}", self.described))?)
    }

    fn version<T: Serialize>(&self, kind: VersionKind, item_id: &str, from_version: i64, value: &T) -> Result<RecordVersion, WriteError> {
        Ok(RecordVersion {
            id: self.new_id(),
            person_id: self.permit.subject_id().to_owned(),
            kind,
            item_id: item_id.to_owned(),
            version: from_version + 1,
            snapshot: serde_json::to_value(value).map_err(|error| DbError::Decode(error.to_string()))?,
            changed_by: self.name.clone(),
            organisation_id: self.organisation_id.clone(),
            changed_at: self.now,
        })
    }

    /// Records the version guard, the new version and the audit event: the tail every write shares.
    async fn keep(&self, recorder: &Recorder, version: &RecordVersion, from_version: i64, event: &AuditEvent) -> Result<(), WriteError> {
        let store = recorder.store();
        store.record_version_is(&version.person_id, version.kind, &version.item_id, from_version).await?;
        store.insert_record_version(version).await?;
        store.append_audit(event).await?;
        Ok(())
    }
}

fn check_version(fields: &mut Fields, from_version: i64) {
    fields.require(from_version >= 0, "version", "version must be the version you read (0 if there is none yet).");
}

/// Puts in or replaces the person's care plan, made from `from_version` (0 if there is none).
/// `plan.id` is the existing plan's id, or a new one.
pub async fn put_care_plan(writer: &Writer<'_>, recorder: &Recorder, from_version: i64, plan: &CarePlan) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::CarePlan)?;
    let mut fields = Fields::default();
    check_version(&mut fields, from_version);
    fields.text(&plan.summary, "summary", 4000);
    fields.lines(&plan.outcomes, "outcomes", 50);
    fields.lines(&plan.needs, "needs", 50);
    fields.lines(&plan.support, "support", 50);
    fields.lines(&plan.visit_schedule, "visitSchedule", 50);
    fields.lines(&plan.risks, "risks", 50);
    fields.text(&plan.written_by, "writtenBy", 200);
    fields.require(plan.review_due >= uk_time::date(writer.now), "reviewDue", "reviewDue must be today or later.");
    fields.finish()?;
    let plan = CarePlan { person_id, updated_at: writer.now, ..plan.clone() };
    let version = writer.version(VersionKind::CarePlan, "", from_version, &plan)?;
    let event = writer.event(AuditAction::CarePlanWritten, Category::CarePlan, format!("put in version {} of your care plan.", version.version))?;
    recorder.store().upsert_care_plan(&plan).await?;
    writer.keep(recorder, &version, from_version, &event).await?;
    Ok(version)
}

/// Puts in or replaces the person's service user guide, made from `from_version`.
pub async fn put_guide(
    writer: &Writer<'_>,
    recorder: &Recorder,
    from_version: i64,
    title: &str,
    sections: &[GuideSection],
) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::ServiceUserGuide)?;
    let mut fields = Fields::default();
    check_version(&mut fields, from_version);
    fields.text(title, "title", 200);
    fields.require(!sections.is_empty() && sections.len() <= 50, "sections", "sections must hold 1 to 50 sections.");
    for (index, section) in sections.iter().enumerate() {
        fields.text(&section.heading, &format!("sections[{index}].heading"), 200);
        fields.text(&section.body, &format!("sections[{index}].body"), 20_000);
    }
    fields.finish()?;
    let guide = ServiceUserGuide {
        person_id,
        organisation_id: writer.organisation_id.clone(),
        title: title.trim().to_owned(),
        sections: sections.iter().map(|section| GuideSection { heading: section.heading.trim().to_owned(), body: section.body.trim().to_owned() }).collect(),
        updated_at: writer.now,
    };
    let version = writer.version(VersionKind::Guide, "", from_version, &guide)?;
    let event =
        writer.event(AuditAction::GuideWritten, Category::ServiceUserGuide, format!("put in version {} of your service user guide.", version.version))?;
    recorder.store().upsert_guide(&guide).await?;
    writer.keep(recorder, &version, from_version, &event).await?;
    Ok(version)
}

/// Parses schedule times: UK local wall-clock "HH:MM" (8am is 8am in summer and in winter),
/// in order, each once; problems are named `times[index]`.
pub fn parse_times(times: &[String]) -> Result<Vec<NaiveTime>, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for (index, text) in times.iter().enumerate() {
        let valid = text.len() == 5 && text.as_bytes().get(2) == Some(&b':');
        match NaiveTime::parse_from_str(text, "%H:%M") {
            Ok(time) if valid => parsed.push(time),
            _ => problems.push(FieldProblem { field: format!("times[{index}]"), reason: "Each time is a UK local time of day, \"HH:MM\" (\"08:00\").".into() }),
        }
    }
    if problems.is_empty() && parsed.windows(2).any(|pair| pair[0] >= pair[1]) {
        problems.push(FieldProblem { field: "times".into(), reason: "times must be in order, each once.".into() });
    }
    if problems.is_empty() { Ok(parsed) } else { Err(problems) }
}

fn check_medicine(fields: &mut Fields, medicine: &Medicine) {
    fields.text(&medicine.name, "name", 200);
    fields.text(&medicine.dose, "dose", 200);
    fields.text(&medicine.route, "route", 100);
    fields.optional_text(&medicine.instructions, "instructions", 1000);
    fields.text(&medicine.prescriber, "prescriber", 200);
    fields.require(medicine.as_needed || !medicine.times.is_empty(), "times", "Give the times it is due, or say it is taken as needed (asNeeded).");
    fields.require(medicine.times.len() <= 12, "times", "A medicine is due at most 12 times a day.");
    fields.require(medicine.times.windows(2).all(|pair| pair[0] < pair[1]), "times", "times must be in order, each once.");
    if let Some(stopped) = medicine.stopped_on {
        fields.require(stopped > medicine.started_on, "stoppedOn", "stoppedOn must be after startedOn.");
    }
}

fn trimmed_medicine(medicine: &Medicine, person_id: String) -> Medicine {
    Medicine {
        person_id,
        name: medicine.name.trim().to_owned(),
        dose: medicine.dose.trim().to_owned(),
        route: medicine.route.trim().to_owned(),
        instructions: medicine.instructions.trim().to_owned(),
        prescriber: medicine.prescriber.trim().to_owned(),
        ..medicine.clone()
    }
}

/// Starts a medicine (`medicine.id` new): its version 1.
pub async fn start_medicine(writer: &Writer<'_>, recorder: &Recorder, medicine: &Medicine) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::Medication)?;
    let mut fields = Fields::default();
    check_medicine(&mut fields, medicine);
    fields.require(medicine.stopped_on.is_none(), "stoppedOn", "A medicine is started without a stop date; stop it later.");
    fields.finish()?;
    let medicine = trimmed_medicine(medicine, person_id);
    let version = writer.version(VersionKind::Medicine, &medicine.id, 0, &medicine)?;
    let detail = format!("started {} ({}) from {}.", medicine.name, medicine.dose, day_of(medicine.started_on));
    let event = writer.event(AuditAction::MedicineStarted, Category::Medication, detail)?;
    recorder.store().record_item_is_theirs(&medicine.person_id, VersionKind::Medicine, &medicine.id).await?;
    recorder.store().upsert_medicine(&medicine).await?;
    writer.keep(recorder, &version, 0, &event).await?;
    Ok(version)
}

/// Changes a medicine (`current` is it as read, `changed` what it becomes; its id stays).
pub async fn change_medicine(
    writer: &Writer<'_>,
    recorder: &Recorder,
    from_version: i64,
    current: &Medicine,
    changed: &Medicine,
) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::Medication)?;
    let mut fields = Fields::default();
    check_version(&mut fields, from_version);
    check_medicine(&mut fields, changed);
    fields.require(current.stopped_on.is_none(), "(medicine)", "The medicine is stopped: start it again as a new medicine.");
    fields.finish()?;
    let medicine = trimmed_medicine(&Medicine { id: current.id.clone(), ..changed.clone() }, person_id);
    let version = writer.version(VersionKind::Medicine, &medicine.id, from_version, &medicine)?;
    let event = writer.event(AuditAction::MedicineChanged, Category::Medication, format!("changed {} ({}).", medicine.name, medicine.dose))?;
    recorder.store().upsert_medicine(&medicine).await?;
    writer.keep(recorder, &version, from_version, &event).await?;
    Ok(version)
}

/// Stops a medicine from `stopped_on` (it is not given on that day or after).
pub async fn stop_medicine(
    writer: &Writer<'_>,
    recorder: &Recorder,
    from_version: i64,
    current: &Medicine,
    stopped_on: NaiveDate,
    reason: &str,
) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::Medication)?;
    let mut fields = Fields::default();
    check_version(&mut fields, from_version);
    fields.require(current.stopped_on.is_none(), "(medicine)", "The medicine is stopped already.");
    fields.require(stopped_on > current.started_on, "stoppedOn", "stoppedOn must be after the medicine's startedOn.");
    fields.text(reason, "reason", 500);
    fields.finish()?;
    let medicine = Medicine { person_id, stopped_on: Some(stopped_on), ..current.clone() };
    let version = writer.version(VersionKind::Medicine, &medicine.id, from_version, &medicine)?;
    let detail = format!("stopped {} from {}: {}", medicine.name, day_of(stopped_on), reason.trim());
    let event = writer.event(AuditAction::MedicineStopped, Category::Medication, detail)?;
    recorder.store().upsert_medicine(&medicine).await?;
    writer.keep(recorder, &version, from_version, &event).await?;
    Ok(version)
}

/// Records an allergy (`allergy.id` new): its version 1.
pub async fn record_allergy(writer: &Writer<'_>, recorder: &Recorder, substance: &str, reaction: &str) -> Result<(Allergy, RecordVersion), WriteError> {
    let person_id = writer.person_id(Category::Medication)?;
    let mut fields = Fields::default();
    fields.text(substance, "substance", 200);
    fields.text(reaction, "reaction", 500);
    fields.finish()?;
    let allergy =
        Allergy { id: writer.new_id(), person_id, substance: substance.trim().to_owned(), reaction: reaction.trim().to_owned(), recorded_at: writer.now };
    let version = keep_allergy(writer, recorder, &allergy).await?;
    Ok((allergy, version))
}

/// Records an allergy under its own id and time — an import's id derived from its sender's,
/// and when its sender recorded it — as its version 1. The reaction may be unknown (R4's
/// `reaction` is optional); the caller leaves alone an allergy whose id is recorded already.
pub async fn record_allergy_as(writer: &Writer<'_>, recorder: &Recorder, allergy: &Allergy) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::Medication)?;
    let mut fields = Fields::default();
    fields.text(&allergy.substance, "substance", 200);
    fields.optional_text(&allergy.reaction, "reaction", 500);
    fields.require(!allergy.id.is_empty() && allergy.id.len() <= 100, "id", "An id is 1 to 100 characters.");
    fields.finish()?;
    let allergy = Allergy { person_id, substance: allergy.substance.trim().to_owned(), reaction: allergy.reaction.trim().to_owned(), ..allergy.clone() };
    recorder.store().record_item_is_theirs(&allergy.person_id, VersionKind::Allergy, &allergy.id).await?;
    keep_allergy(writer, recorder, &allergy).await
}

/// Records a checked allergy, its version 1 and its line in the access log.
async fn keep_allergy(writer: &Writer<'_>, recorder: &Recorder, allergy: &Allergy) -> Result<RecordVersion, WriteError> {
    let version = writer.version(VersionKind::Allergy, &allergy.id, 0, &AllergyEntry { allergy: allergy.clone(), entered_in_error: None })?;
    let event = writer.event(AuditAction::AllergyRecorded, Category::Medication, format!("recorded an allergy to {}.", allergy.substance))?;
    recorder.store().insert_allergy(allergy).await?;
    writer.keep(recorder, &version, 0, &event).await?;
    Ok(version)
}

/// An allergy as a version keeps it: with why it was marked entered in error, if it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllergyEntry {
    /// The allergy.
    pub allergy: Allergy,
    /// Why it was marked as recorded in error, if it was.
    pub entered_in_error: Option<String>,
}

/// Marks an allergy as recorded in error: it leaves the person's list; its history stays.
pub async fn mark_allergy_entered_in_error(
    writer: &Writer<'_>,
    recorder: &Recorder,
    from_version: i64,
    allergy: &Allergy,
    reason: &str,
) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::Medication)?;
    let mut fields = Fields::default();
    check_version(&mut fields, from_version);
    fields.text(reason, "reason", 500);
    fields.finish()?;
    let entry = AllergyEntry { allergy: allergy.clone(), entered_in_error: Some(reason.trim().to_owned()) };
    let version = writer.version(VersionKind::Allergy, &allergy.id, from_version, &entry)?;
    let detail = format!("marked the allergy to {} as recorded in error: {}", allergy.substance, reason.trim());
    let event = writer.event(AuditAction::AllergyEnteredInError, Category::Medication, detail)?;
    recorder.store().mark_allergy_error(&person_id, &allergy.id, reason.trim(), &writer.name, writer.now).await?;
    writer.keep(recorder, &version, from_version, &event).await?;
    Ok(version)
}

/// Replaces the person's contacts with `contacts` (in display order; ids kept or new).
pub async fn put_contacts(writer: &Writer<'_>, recorder: &Recorder, from_version: i64, contacts: &[Contact]) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::Contacts)?;
    let mut fields = Fields::default();
    check_version(&mut fields, from_version);
    fields.require(contacts.len() <= 50, "contacts", "contacts holds at most 50 contacts.");
    for (index, contact) in contacts.iter().enumerate() {
        let at = |name: &str| format!("contacts[{index}].{name}");
        fields.text(&contact.name, &at("name"), 200);
        fields.optional_text(&contact.role, &at("role"), 200);
        fields.optional_text(&contact.phone, &at("phone"), 40);
        fields.require(
            contact.phone.chars().all(|c| c.is_ascii_digit() || " +()-".contains(c)),
            at("phone"),
            "A phone number holds digits, spaces, +, ( ) and - only.",
        );
        fields.optional_text(&contact.email, &at("email"), 254);
        fields.require(contact.email.trim().is_empty() || contact.email.contains('@'), at("email"), "An email address has an @ in it.");
        fields.optional_text(&contact.available, &at("available"), 200);
        fields.require(!contact.phone.trim().is_empty() || !contact.email.trim().is_empty(), at("phone"), "Give a phone number or an email address.");
    }
    let mut ids: Vec<&str> = contacts.iter().map(|contact| contact.id.as_str()).collect();
    ids.sort_unstable();
    fields.require(ids.windows(2).all(|pair| pair[0] != pair[1]), "contacts", "Each contact's id is different.");
    fields.finish()?;
    let contacts: Vec<Contact> = contacts
        .iter()
        .zip(0_i64..)
        .map(|(contact, position)| Contact {
            person_id: person_id.clone(),
            name: contact.name.trim().to_owned(),
            role: contact.role.trim().to_owned(),
            phone: contact.phone.trim().to_owned(),
            email: contact.email.trim().to_owned(),
            available: contact.available.trim().to_owned(),
            position,
            ..contact.clone()
        })
        .collect();
    let version = writer.version(VersionKind::Contacts, "", from_version, &contacts)?;
    let event = writer.event(AuditAction::ContactsWritten, Category::Contacts, format!("put in version {} of your contacts.", version.version))?;
    let store = recorder.store();
    store.delete_contacts(&person_id).await?;
    for contact in &contacts {
        store.record_item_is_theirs(&person_id, VersionKind::Contacts, &contact.id).await?;
        store.upsert_contact(contact).await?;
    }
    writer.keep(recorder, &version, from_version, &event).await?;
    Ok(version)
}

/// Adds a document (PDF or plain text up to 10 MiB, its type judged from its contents).
pub async fn add_document(writer: &Writer<'_>, recorder: &Recorder, title: &str, kind: DocumentKind, body: &[u8]) -> Result<Document, WriteError> {
    let person_id = writer.person_id(Category::Documents)?;
    let document =
        Document::from_content(writer.new_id(), person_id, title, kind, body, writer.name.clone(), writer.now).map_err(|problem| document_refused(&problem))?;
    keep_document(writer, recorder, &document, body).await?;
    Ok(document)
}

/// Adds a document under its own id, author and date — an import's id derived from its
/// sender's, and who added it when, as its sender recorded it — its contents checked again
/// against its type (PDF or plain text up to 10 MiB). The caller leaves alone a document whose
/// id is kept already (documents are never replaced).
pub async fn add_document_as(writer: &Writer<'_>, recorder: &Recorder, document: &Document, body: &[u8]) -> Result<Document, WriteError> {
    let person_id = writer.person_id(Category::Documents)?;
    let mut fields = Fields::default();
    fields.require(!document.id.is_empty() && document.id.len() <= 100, "id", "An id is 1 to 100 characters.");
    fields.text(&document.added_by, "addedBy", 200);
    fields.finish()?;
    let document = Document::check(
        document.id.clone(),
        person_id,
        &document.title,
        document.kind,
        &document.content_type,
        body,
        document.added_by.trim().to_owned(),
        document.added_at,
    )
    .map_err(|problem| document_refused(&problem))?;
    keep_document(writer, recorder, &document, body).await?;
    Ok(document)
}

/// A document's problem, named as the API names its fields.
fn document_refused(problem: &DocumentProblem) -> WriteError {
    let field = match problem {
        DocumentProblem::BadTitle => "title",
        _ => "(body)",
    };
    let reason = match problem {
        DocumentProblem::UnsupportedType => "The file must be a PDF (starting %PDF-) or UTF-8 plain text without control characters.".to_owned(),
        other => format!("{}.", capitalised(&other.to_string())),
    };
    WriteError::Invalid(vec![FieldProblem { field: field.into(), reason }])
}

/// Records a checked document and its line in the access log.
async fn keep_document(writer: &Writer<'_>, recorder: &Recorder, document: &Document, body: &[u8]) -> Result<(), WriteError> {
    let event = writer.event(AuditAction::DocumentAdded, Category::Documents, format!("added the document \u{201c}{}\u{201d}.", document.title))?;
    let store = recorder.store();
    store.insert_document(document, body).await?;
    store.append_audit(&event).await?;
    Ok(())
}

/// A UK day the GOV.UK way ("21 November 2026").
fn day_of(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// One planned visit of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedVisit {
    /// Its id (kept when a schedule is put in again), or a new one.
    pub id: String,
    /// The window's start.
    pub starts_at: DateTime<Utc>,
    /// The window's end.
    pub ends_at: DateTime<Utc>,
    /// The carer's first name.
    pub carer_first_name: String,
}

/// A provider's planned visits of a period, as a version keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitSchedule {
    /// The first UK day of the period.
    pub from: NaiveDate,
    /// The last UK day of the period.
    pub to: NaiveDate,
    /// The visits, in time order.
    pub visits: Vec<PlannedVisit>,
}

/// The longest period one schedule covers.
pub const MAX_SCHEDULE_DAYS: i64 = 62;

/// Puts in a provider's planned visits of a period: its planned visits (still `planned`) in
/// that period are replaced by `schedule.visits`. `taken` are the ids of visits of this person
/// that are not this provider's planned visits of the period (they cannot be reused).
pub async fn put_visit_schedule(
    writer: &Writer<'_>,
    recorder: &Recorder,
    from_version: i64,
    schedule: &VisitSchedule,
    taken: &[String],
) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::VisitsAndNotes)?;
    let mut fields = Fields::default();
    check_version(&mut fields, from_version);
    let days = (schedule.to - schedule.from).num_days();
    fields.require((0..MAX_SCHEDULE_DAYS).contains(&days), "to", format!("to must be on or after from, and the period at most {MAX_SCHEDULE_DAYS} days."));
    fields.require(schedule.visits.len() <= 500, "visits", "A schedule holds at most 500 visits.");
    let (start, end) = (uk_time::start_of(schedule.from), uk_time::start_of(schedule.to + chrono::Duration::days(1)));
    for (index, visit) in schedule.visits.iter().enumerate() {
        let at = |name: &str| format!("visits[{index}].{name}");
        fields.require(visit.starts_at >= start && visit.starts_at < end, at("startsAt"), "startsAt must be within the period (from and to, UK days).");
        fields.require(visit.ends_at > visit.starts_at, at("endsAt"), "endsAt must be after startsAt.");
        fields.require(visit.ends_at - visit.starts_at <= chrono::Duration::hours(12), at("endsAt"), "A visit's window is at most 12 hours.");
        fields.text(&visit.carer_first_name, &at("carerFirstName"), 50);
        fields.require(!visit.carer_first_name.trim().contains(' '), at("carerFirstName"), "Give the carer's first name only.");
        fields.require(!taken.contains(&visit.id), at("id"), "That id is another visit's.");
        fields.require(visit.id.len() <= 100 && !visit.id.is_empty(), at("id"), "An id is 1 to 100 characters.");
    }
    let mut ids: Vec<&str> = schedule.visits.iter().map(|visit| visit.id.as_str()).collect();
    ids.sort_unstable();
    fields.require(ids.windows(2).all(|pair| pair[0] != pair[1]), "visits", "Each visit's id is different.");
    fields.finish()?;
    let mut visits = schedule.visits.clone();
    visits.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
    for visit in &mut visits {
        visit.carer_first_name = visit.carer_first_name.trim().to_owned();
    }
    let schedule = VisitSchedule { visits, ..schedule.clone() };
    let version = writer.version(VersionKind::VisitSchedule, &writer.organisation_id, from_version, &schedule)?;
    let detail = format!("put in {} planned visits from {} to {}.", schedule.visits.len(), day_of(schedule.from), day_of(schedule.to));
    let event = writer.event(AuditAction::VisitScheduleWritten, Category::VisitsAndNotes, detail)?;
    let store = recorder.store();
    store.delete_planned_visits(&person_id, &writer.organisation_id, start, end).await?;
    for planned in &schedule.visits {
        store.record_item_is_theirs(&person_id, VersionKind::Visit, &planned.id).await?;
        let visit = CareVisit {
            id: planned.id.clone(),
            person_id: person_id.clone(),
            organisation_id: writer.organisation_id.clone(),
            starts_at: planned.starts_at,
            ends_at: planned.ends_at,
            status: VisitStatus::Planned,
            carers: planned.carer_first_name.clone(),
            note: String::new(),
            recorded_at: writer.now,
        };
        store.upsert_visit(&visit).await?;
    }
    writer.keep(recorder, &version, from_version, &event).await?;
    Ok(version)
}

/// The live statuses a provider's system reports for a visit.
pub const LIVE_STATUSES: [VisitStatus; 4] = [VisitStatus::CheckedIn, VisitStatus::CheckedOut, VisitStatus::Late, VisitStatus::Missed];

/// Records a visit's live status at the actual time `at` (`visit` as read, with its times).
pub async fn record_visit_status(
    writer: &Writer<'_>,
    recorder: &Recorder,
    from_version: i64,
    visit: &ScheduledVisit,
    status: VisitStatus,
    at: DateTime<Utc>,
) -> Result<RecordVersion, WriteError> {
    let person_id = writer.person_id(Category::VisitsAndNotes)?;
    let mut fields = Fields::default();
    check_version(&mut fields, from_version);
    fields.require(LIVE_STATUSES.contains(&status), "status", "status must be checked_in, checked_out, late or missed.");
    fields.require(visit.visit.organisation_id == writer.organisation_id, "(visit)", "Only the provider that planned the visit reports its status.");
    fields.require(at <= writer.now + chrono::Duration::minutes(5), "at", "at must not be in the future.");
    fields.require(at >= visit.visit.starts_at - chrono::Duration::hours(12), "at", "at must be near the visit's window.");
    let allowed = match status {
        VisitStatus::CheckedIn => matches!(visit.visit.status, VisitStatus::Planned | VisitStatus::Late),
        VisitStatus::CheckedOut => visit.visit.status == VisitStatus::CheckedIn,
        VisitStatus::Late | VisitStatus::Missed => matches!(visit.visit.status, VisitStatus::Planned | VisitStatus::Late),
        _ => false,
    };
    fields.require(allowed, "status", format!("A visit that is {} cannot become {}.", visit.visit.status.as_str(), status.as_str()));
    if status == VisitStatus::CheckedOut {
        fields.require(visit.checked_in_at.is_none_or(|arrived| at >= arrived), "at", "at must be after the carer checked in.");
    }
    fields.finish()?;
    let mut next = visit.clone();
    next.visit.status = status;
    next.status_at = Some(at);
    match status {
        VisitStatus::CheckedIn => next.checked_in_at = Some(at),
        VisitStatus::CheckedOut => next.checked_out_at = Some(at),
        _ => {}
    }
    let version = writer.version(VersionKind::Visit, &visit.visit.id, from_version, &next)?;
    let words = match status {
        VisitStatus::CheckedIn => "the carer arrived",
        VisitStatus::CheckedOut => "the carer left",
        VisitStatus::Late => "the carer is running late",
        _ => "the visit was missed",
    };
    let detail = format!("recorded that {words} at {} (the visit planned for {}).", uk_time::time(at), uk_time::day_and_time(visit.visit.starts_at));
    let event = writer.event(AuditAction::VisitStatusRecorded, Category::VisitsAndNotes, detail)?;
    recorder.store().set_visit_status(&person_id, &visit.visit.id, status, at).await?;
    writer.keep(recorder, &version, from_version, &event).await?;
    Ok(version)
}
