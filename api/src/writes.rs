//! What a provider's system adds to a person's record: visit notes
//! (`POST /api/v1/people/{id}/visits`, contribute on visits and notes) and medication
//! administrations (`POST /api/v1/people/{id}/medication-administrations`, contribute on
//! medication). Each needs a live grant allowing the caller's organisation to contribute (404
//! otherwise), an `Idempotency-Key` (see [`crate::idempotency`]), and is logged in the person's
//! access log.

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::plan::Recorder;
use carefront_shared::record::{Administration, CareVisit, Outcome, VisitStatus};
use carefront_shared::store::{IdempotencyStore as _, RecordStore as _, Store as _};
use carefront_shared::uk_time;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::access::{ask_permit, event_id, grounded};
use crate::auth::Caller;
use crate::body::{self, Checks, is_text};
use crate::failure::{ApiError, Stored, internal};
use crate::idempotency::{self, Applied, Idempotent};
use crate::record::{AdministrationView, VisitView};
use crate::{Request, Response};

/// The most a visit note says.
const MAX_NOTE_CHARS: usize = 4000;
/// The longest a visit lasts.
const MAX_VISIT_HOURS: i64 = 24;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VisitInput {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    status: VisitStatus,
    carers: String,
    note: Option<String>,
}

impl VisitInput {
    fn members() -> Vec<body::Member> {
        vec![
            body::required::<DateTime<Utc>>("startsAt"),
            body::required::<DateTime<Utc>>("endsAt"),
            body::required::<VisitStatus>("status"),
            body::required::<String>("carers"),
            body::optional::<String>("note"),
        ]
    }

    fn check(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.require(self.ends_at > self.starts_at, "endsAt", "endsAt must be after startsAt.");
        checks.require(self.ends_at - self.starts_at <= Duration::hours(MAX_VISIT_HOURS), "endsAt", "A visit lasts at most 24 hours.");
        let happened = matches!(self.status, VisitStatus::Completed | VisitStatus::Missed);
        checks.require(!happened || self.starts_at <= now, "status", "A visit that has not started yet cannot be completed or missed.");
        checks.require(self.starts_at >= now - Duration::days(366), "startsAt", "startsAt must be within the last year.");
        checks.require(self.starts_at <= now + Duration::days(366), "startsAt", "startsAt must be within the next year.");
        checks.require(is_text(&self.carers, 200), "carers", "carers must be 1 to 200 characters: the carers' names as they sign.");
        let note = self.note.as_deref().unwrap_or_default();
        checks.require(note.trim().is_empty() || is_text(note, MAX_NOTE_CHARS), "note", "note must be at most 4,000 characters, without control characters.");
        checks.require(self.status != VisitStatus::Completed || !note.trim().is_empty(), "note", "A completed visit needs the carers' note.");
        checks.finish()
    }
}

/// POST /api/v1/people/{id}/visits: a visit and its note, made by the caller's organisation.
pub async fn record_visit(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let key = idempotency::key(request)?;
    let body = body::json_value(request)?;
    let input: VisitInput = body::read(&body, &VisitInput::members())?;
    let permit = ask_permit(context, caller, person_id, Action::Contribute, Category::VisitsAndNotes).await?;
    let idempotent = Idempotent::new(key, request, &body);
    let earlier = idempotent.earlier(context, caller).await?;
    if let Some(id) = &earlier
        && let Some(visit) = context.store.visit(&permit, id).await.or_problem(context)?
    {
        return Ok(idempotency::replayed(&VisitView::from(visit)));
    }
    input.check(context.now)?;
    // A claim with nothing made under it (left by a write from before writes were one batch) is
    // finished under its id; otherwise the key is claimed in the same batch as the visit.
    let claim = earlier.is_none().then(|| idempotent.claim(context, caller, None));
    let id = claim.as_ref().map(|claim| claim.resource_id.clone()).or(earlier).unwrap_or_default();
    let visit = CareVisit {
        id,
        person_id: person_id.to_owned(),
        organisation_id: caller.organisation.id.clone(),
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        status: input.status,
        carers: input.carers.trim().to_owned(),
        note: input.note.as_deref().unwrap_or_default().trim().to_owned(),
        recorded_at: context.now,
    };
    let detail = format!("{} added a note of the visit on {}.", caller.described(), uk_time::day_and_time(visit.starts_at));
    let event = grounded(permit.event(event_id(context), AuditAction::VisitRecorded, Category::VisitsAndNotes, detail))?;
    // The claim, the visit and its line in the access log: all of them, or none.
    let recorder = Recorder::new();
    if let Some(claim) = &claim {
        recorder.store().claim_new_idempotency_key(claim).await.or_problem(context)?;
    }
    recorder.store().upsert_visit(&visit).await.or_problem(context)?;
    recorder.store().append_audit(&event).await.or_problem(context)?;
    match idempotent.apply(context, caller, &recorder.into_plan()).await? {
        Applied::Done => Ok(idempotency::created(&VisitView::from(visit))),
        Applied::Replay(id) => match context.store.visit(&permit, &id).await.or_problem(context)? {
            Some(visit) => Ok(idempotency::replayed(&VisitView::from(visit))),
            None => Err(internal("an idempotency key won by a visit names no visit of this person")),
        },
        Applied::Refused(error) => Err(error).or_problem(context),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AdministrationInput {
    medicine_id: String,
    due_at: DateTime<Utc>,
    outcome: Outcome,
    reason: Option<String>,
    recorded_by: String,
}

impl AdministrationInput {
    fn members() -> Vec<body::Member> {
        vec![
            body::required::<String>("medicineId"),
            body::required::<DateTime<Utc>>("dueAt"),
            body::required::<Outcome>("outcome"),
            body::optional::<String>("reason"),
            body::required::<String>("recordedBy"),
        ]
    }
}

/// The administration with `id` answering `input`, if it is in the record.
async fn find_administration(context: &RequestContext<'_>, permit: &Permit, id: &str, due_at: DateTime<Utc>) -> Result<Option<Administration>, ApiError> {
    let around = context.store.administrations(permit, due_at, due_at + Duration::milliseconds(1)).await.or_problem(context)?;
    Ok(around.into_iter().find(|entry| entry.id == id))
}

/// POST /api/v1/people/{id}/medication-administrations: a dose given, refused or not given.
pub async fn record_administration(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let key = idempotency::key(request)?;
    let body = body::json_value(request)?;
    let input: AdministrationInput = body::read(&body, &AdministrationInput::members())?;
    let permit = ask_permit(context, caller, person_id, Action::Contribute, Category::Medication).await?;
    let medicines = context.store.medicines(&permit).await.or_problem(context)?;
    let idempotent = Idempotent::new(key, request, &body);
    let earlier = idempotent.earlier(context, caller).await?;
    if let Some(id) = &earlier
        && let Some(entry) = find_administration(context, &permit, id, input.due_at).await?
    {
        return Ok(idempotency::replayed(&AdministrationView::new(entry, &medicines)));
    }

    let mut checks = Checks::default();
    let medicine = medicines.iter().find(|medicine| medicine.id == input.medicine_id);
    checks.require(medicine.is_some(), "medicineId", "medicineId must be one of this person's medicines (see their medicines).");
    if let Some(medicine) = medicine {
        checks.require(medicine.current_on(uk_time::date(input.due_at)), "dueAt", "The medicine was not prescribed on that day (see startedOn and stoppedOn).");
    }
    checks.require(input.due_at <= context.now + Duration::hours(24), "dueAt", "dueAt must not be more than 24 hours ahead.");
    checks.require(input.due_at >= context.now - Duration::days(366), "dueAt", "dueAt must be within the last year.");
    let reason = input.reason.as_deref().map(str::trim).filter(|reason| !reason.is_empty());
    match (input.outcome, reason) {
        (Outcome::Given, None) => {}
        (_, Some(reason)) => checks.require(is_text(reason, 500), "reason", "reason must be at most 500 characters, without control characters."),
        (_, None) => checks.require(false, "reason", "Say why the dose was refused or not given."),
    }
    checks.require(is_text(&input.recorded_by, 100), "recordedBy", "recordedBy must be 1 to 100 characters: the carer's name as they sign.");
    checks.finish()?;

    // As for visits: a claim left with nothing made under it is finished under its id.
    let claim = earlier.is_none().then(|| idempotent.claim(context, caller, None));
    let id = claim.as_ref().map(|claim| claim.resource_id.clone()).or(earlier).unwrap_or_default();
    let entry = Administration {
        id,
        person_id: person_id.to_owned(),
        medicine_id: input.medicine_id.clone(),
        due_at: input.due_at,
        outcome: input.outcome,
        reason: reason.map(str::to_owned),
        recorded_by: input.recorded_by.trim().to_owned(),
        recorded_at: context.now,
    };
    let name = medicine.map_or("a medicine", |medicine| medicine.name.as_str());
    let what = match entry.outcome {
        Outcome::Given => "given",
        Outcome::Refused => "refused",
        Outcome::NotGiven => "not given",
    };
    let detail = format!("{} recorded that {name} due on {} was {what}.", caller.described(), uk_time::day_and_time(entry.due_at));
    let event = grounded(permit.event(event_id(context), AuditAction::AdministrationRecorded, Category::Medication, detail))?;
    // The claim, the entry and its line in the access log: all of them, or none.
    let recorder = Recorder::new();
    if let Some(claim) = &claim {
        recorder.store().claim_new_idempotency_key(claim).await.or_problem(context)?;
    }
    recorder.store().insert_administration(&entry).await.or_problem(context)?;
    recorder.store().append_audit(&event).await.or_problem(context)?;
    match idempotent.apply(context, caller, &recorder.into_plan()).await? {
        Applied::Done => Ok(idempotency::created(&AdministrationView::new(entry, &medicines))),
        Applied::Replay(id) => match find_administration(context, &permit, &id, entry.due_at).await? {
            Some(stored) => Ok(idempotency::replayed(&AdministrationView::new(stored, &medicines))),
            None => Err(internal("an idempotency key won by an administration names no administration of this person")),
        },
        Applied::Refused(error) => Err(error).or_problem(context),
    }
}
