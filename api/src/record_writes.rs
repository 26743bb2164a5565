//! The whole record put in by a provider's system: `PUT …/care-plan`, `PUT …/guide`,
//! `POST …/medicines`, `PUT …/medicines/{medicine}`, `POST …/medicines/{medicine}/stop`,
//! `POST …/allergies`, `POST …/allergies/{allergy}/entered-in-error`, `PUT …/contacts`,
//! `POST …/documents`, `PUT …/visit-schedule`, `POST …/visits/{visit}/status`, and the history
//! of each (`GET …/versions`).
//!
//! Each write needs a live grant allowing the caller's organisation to contribute to the part's
//! category (404 otherwise) and an `Idempotency-Key` (see [`crate::idempotency`]); its body is
//! checked field by field; it is one plan made by the shared writes
//! ([`carefront_shared::record_writes`]): the change, a new version (history is kept), the key's
//! claim and the line in the access log. A write names the version it was made from: a stale
//! one is 409 with the current version, and nothing is written.

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::CarePlan;
use carefront_shared::plan::Recorder;
use carefront_shared::problem::Problem;
use carefront_shared::record::{Contact, ContactKind, DocumentKind, GuideSection, Medicine, VisitStatus};
use carefront_shared::record_writes::{self as writes, PlannedVisit, RecordVersion, ScheduledVisit, VersionKind, VisitSchedule, WriteError, Writer};
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::access::{ask_permit, log_read};
use crate::auth::Caller;
use crate::body::{self, Member};
use crate::failure::{ApiError, InvalidParam, Stored, internal, invalid, not_found};
use crate::idempotency::{self, Applied, Idempotent};
use crate::query::{Query, bad_query, page_response};
use crate::{Request, Response, json};

/// A version as the API shows it: the part as that version made it, who and when.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionView {
    id: String,
    kind: VersionKind,
    item_id: String,
    version: i64,
    changed_by: String,
    changed_at: DateTime<Utc>,
    /// The part, with the API's camelCase names.
    snapshot: serde_json::Value,
}

impl From<RecordVersion> for VersionView {
    fn from(version: RecordVersion) -> VersionView {
        VersionView {
            id: version.id,
            kind: version.kind,
            item_id: version.item_id,
            version: version.version,
            changed_by: version.changed_by,
            changed_at: version.changed_at,
            snapshot: camel_case(version.snapshot),
        }
    }
}

/// The stored snapshot (the record types' snake_case) with the API's camelCase member names.
fn camel_case(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(members) => serde_json::Value::Object(
            members
                .into_iter()
                .map(|(name, member)| {
                    let mut renamed = String::with_capacity(name.len());
                    let mut upper = false;
                    for c in name.chars() {
                        if c == '_' {
                            upper = true;
                        } else if upper {
                            renamed.extend(c.to_uppercase());
                            upper = false;
                        } else {
                            renamed.push(c);
                        }
                    }
                    (renamed, camel_case(member))
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(camel_case).collect()),
        other => other,
    }
}

fn writer<'a>(context: &'a RequestContext<'_>, caller: &Caller, permit: &'a Permit) -> Writer<'a> {
    Writer {
        permit,
        organisation_id: caller.organisation.id.clone(),
        name: caller.organisation.name.clone(),
        described: caller.described(),
        now: context.now,
        random: context.random,
    }
}

/// A shared write's refusal as a problem: its fields named (422), or a fault of ours.
pub(crate) fn refused(context: &RequestContext<'_>, error: WriteError) -> ApiError {
    match error {
        WriteError::Invalid(problems) => {
            invalid(StatusCode::UNPROCESSABLE_ENTITY, problems.into_iter().map(|problem| InvalidParam::new(&problem.field, problem.reason)).collect())
        }
        WriteError::NotContribute(category) => internal(&format!("a contribute permit does not cover {category:?}")),
        WriteError::Store(error) => crate::store_problem(context, error).into(),
    }
}

fn conflict(current: Option<RecordVersion>) -> ApiError {
    let problem = Problem::new(StatusCode::CONFLICT).with_type("version-conflict", "It changed since you read it").with_detail(
        "Someone changed this since the version you named. Nothing was saved: see current (null if there is none), and send your change again from it.",
    );
    ApiError::from(problem).with("current", current.map(VersionView::from))
}

/// The newest version of a part (0 if none).
async fn current(context: &RequestContext<'_>, permit: &Permit, kind: VersionKind, item_id: &str) -> Result<Option<RecordVersion>, ApiError> {
    Ok(context.store.record_versions(permit, kind, item_id).await.or_problem(context)?.into_iter().next())
}

/// One versioned write: the key, the permit, a replay of an earlier request with the same key,
/// the version check, then `write` records its plan, which is applied with the key's claim.
struct Versioned<'a> {
    context: &'a RequestContext<'a>,
    caller: &'a Caller,
    idempotent: Idempotent,
    permit: Permit,
    kind: VersionKind,
}

impl<'a> Versioned<'a> {
    async fn begin(
        context: &'a RequestContext<'a>,
        request: &Request,
        caller: &'a Caller,
        person_id: &str,
        body: &serde_json::Value,
        kind: VersionKind,
    ) -> Result<(Versioned<'a>, Option<Response>), ApiError> {
        let key = idempotency::key(request)?;
        let permit = ask_permit(context, caller, person_id, Action::Contribute, kind.category()).await?;
        let idempotent = Idempotent::new(key, request, body);
        let versioned = Versioned { context, caller, idempotent, permit, kind };
        if let Some(id) = versioned.idempotent.earlier(context, caller).await?
            && let Some(version) = context.store.record_version(&versioned.permit, kind, &id).await.or_problem(context)?
        {
            return Ok((versioned, Some(idempotency::replayed(&VersionView::from(version)))));
        }
        Ok((versioned, None))
    }

    /// 409 unless the part is at `from_version`.
    async fn check_version(&self, item_id: &str, from_version: i64) -> Result<(), ApiError> {
        let now = current(self.context, &self.permit, self.kind, item_id).await?;
        if now.as_ref().map_or(0, |version| version.version) != from_version && from_version >= 0 {
            return Err(conflict(now));
        }
        Ok(())
    }

    /// Applies what `recorder` holds, with the key's claim for `version`.
    async fn finish(&self, recorder: Recorder, version: RecordVersion, status: StatusCode) -> Result<Response, ApiError> {
        let context = self.context;
        recorder.store().claim_new_idempotency_key(&self.idempotent.claim(context, self.caller, Some(&version.id))).await.or_problem(context)?;
        match self.idempotent.apply(context, self.caller, &recorder.into_plan()).await? {
            Applied::Done => Ok(json(status, &VersionView::from(version))),
            Applied::Replay(id) => match context.store.record_version(&self.permit, self.kind, &id).await.or_problem(context)? {
                Some(version) => Ok(idempotency::replayed(&VersionView::from(version))),
                None => Err(internal("an idempotency key won by a record write names no version")),
            },
            // Someone else's write from the same version won: stale.
            Applied::Refused(_) => Err(conflict(current(context, &self.permit, self.kind, &version.item_id).await?)),
        }
    }
}

fn version_member() -> Member {
    body::required::<i64>("version")
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CarePlanInput {
    version: i64,
    summary: String,
    outcomes: Vec<String>,
    needs: Option<Vec<String>>,
    support: Vec<String>,
    visit_schedule: Vec<String>,
    risks: Option<Vec<String>>,
    review_due: NaiveDate,
    written_by: String,
}

/// PUT /api/v1/people/{id}/care-plan: puts in or replaces the care plan (a new version).
pub async fn put_care_plan(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: CarePlanInput = body::read(
        &body,
        &[
            version_member(),
            body::required::<String>("summary"),
            body::required::<Vec<String>>("outcomes"),
            body::optional::<Vec<String>>("needs"),
            body::required::<Vec<String>>("support"),
            body::required::<Vec<String>>("visitSchedule"),
            body::optional::<Vec<String>>("risks"),
            body::required::<NaiveDate>("reviewDue"),
            body::required::<String>("writtenBy"),
        ],
    )?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::CarePlan).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    versioned.check_version("", input.version).await?;
    let existing = context.store.care_plan(&versioned.permit).await.or_problem(context)?;
    let plan = CarePlan {
        id: existing.map_or_else(|| carefront_shared::random::new_id(context.random), |plan| plan.id),
        person_id: person_id.to_owned(),
        summary: input.summary.trim().to_owned(),
        outcomes: trimmed(input.outcomes),
        needs: trimmed(input.needs.unwrap_or_default()),
        support: trimmed(input.support),
        visit_schedule: trimmed(input.visit_schedule),
        risks: trimmed(input.risks.unwrap_or_default()),
        review_due: input.review_due,
        written_by: input.written_by.trim().to_owned(),
        updated_at: context.now,
    };
    let recorder = Recorder::new();
    let version =
        writes::put_care_plan(&writer(context, caller, &versioned.permit), &recorder, input.version, &plan).await.map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::OK).await
}

fn trimmed(lines: Vec<String>) -> Vec<String> {
    lines.into_iter().map(|line| line.trim().to_owned()).collect()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GuideInput {
    version: i64,
    title: String,
    sections: Vec<GuideSection>,
}

/// PUT /api/v1/people/{id}/guide: puts in or replaces the service user guide.
pub async fn put_guide(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: GuideInput = body::read(&body, &[version_member(), body::required::<String>("title"), body::required::<Vec<GuideSection>>("sections")])?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::Guide).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    versioned.check_version("", input.version).await?;
    let recorder = Recorder::new();
    let version = writes::put_guide(&writer(context, caller, &versioned.permit), &recorder, input.version, &input.title, &input.sections)
        .await
        .map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MedicineInput {
    #[serde(default)]
    version: Option<i64>,
    name: String,
    dose: String,
    route: String,
    times: Vec<String>,
    as_needed: bool,
    instructions: Option<String>,
    prescriber: String,
    started_on: NaiveDate,
}

fn medicine_members(with_version: bool) -> Vec<Member> {
    let mut members = vec![
        body::required::<String>("name"),
        body::required::<String>("dose"),
        body::required::<String>("route"),
        body::required::<Vec<String>>("times"),
        body::required::<bool>("asNeeded"),
        body::optional::<String>("instructions"),
        body::required::<String>("prescriber"),
        body::required::<NaiveDate>("startedOn"),
    ];
    if with_version {
        members.insert(0, version_member());
    }
    members
}

impl MedicineInput {
    fn medicine(&self, id: String, person_id: &str) -> Result<Medicine, ApiError> {
        let times = writes::parse_times(&self.times).map_err(|problems| {
            invalid(StatusCode::UNPROCESSABLE_ENTITY, problems.into_iter().map(|problem| InvalidParam::new(&problem.field, problem.reason)).collect())
        })?;
        Ok(Medicine {
            id,
            person_id: person_id.to_owned(),
            name: self.name.clone(),
            dose: self.dose.clone(),
            route: self.route.clone(),
            times,
            as_needed: self.as_needed,
            instructions: self.instructions.clone().unwrap_or_default(),
            prescriber: self.prescriber.clone(),
            started_on: self.started_on,
            stopped_on: None,
        })
    }
}

/// POST /api/v1/people/{id}/medicines: starts a medicine, due at UK local times.
pub async fn start_medicine(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: MedicineInput = body::read(&body, &medicine_members(false))?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::Medicine).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    let medicine = input.medicine(carefront_shared::random::new_id(context.random), person_id)?;
    let recorder = Recorder::new();
    let version = writes::start_medicine(&writer(context, caller, &versioned.permit), &recorder, &medicine).await.map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::CREATED).await
}

async fn medicine_of(context: &RequestContext<'_>, permit: &Permit, medicine_id: &str) -> Result<Medicine, ApiError> {
    let medicines = context.store.medicines(permit).await.or_problem(context)?;
    medicines.into_iter().find(|medicine| medicine.id == medicine_id).ok_or_else(not_found)
}

/// PUT /api/v1/people/{id}/medicines/{medicine}: changes a medicine (a new version).
pub async fn change_medicine(
    context: &RequestContext<'_>,
    request: &Request,
    caller: &Caller,
    person_id: &str,
    medicine_id: &str,
) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: MedicineInput = body::read(&body, &medicine_members(true))?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::Medicine).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    let current = medicine_of(context, &versioned.permit, medicine_id).await?;
    let from_version = input.version.unwrap_or_default();
    versioned.check_version(medicine_id, from_version).await?;
    let changed = input.medicine(current.id.clone(), person_id)?;
    let recorder = Recorder::new();
    let version = writes::change_medicine(&writer(context, caller, &versioned.permit), &recorder, from_version, &current, &changed)
        .await
        .map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StopInput {
    version: i64,
    stopped_on: NaiveDate,
    reason: String,
}

/// POST /api/v1/people/{id}/medicines/{medicine}/stop: stops a medicine from a day.
pub async fn stop_medicine(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str, medicine_id: &str) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: StopInput = body::read(&body, &[version_member(), body::required::<NaiveDate>("stoppedOn"), body::required::<String>("reason")])?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::Medicine).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    let current = medicine_of(context, &versioned.permit, medicine_id).await?;
    versioned.check_version(medicine_id, input.version).await?;
    let recorder = Recorder::new();
    let version = writes::stop_medicine(&writer(context, caller, &versioned.permit), &recorder, input.version, &current, input.stopped_on, &input.reason)
        .await
        .map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AllergyInput {
    substance: String,
    reaction: String,
}

/// POST /api/v1/people/{id}/allergies: records an allergy.
pub async fn record_allergy(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: AllergyInput = body::read(&body, &[body::required::<String>("substance"), body::required::<String>("reaction")])?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::Allergy).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    let recorder = Recorder::new();
    let (_, version) = writes::record_allergy(&writer(context, caller, &versioned.permit), &recorder, &input.substance, &input.reaction)
        .await
        .map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::CREATED).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EnteredInErrorInput {
    version: i64,
    reason: String,
}

/// POST /api/v1/people/{id}/allergies/{allergy}/entered-in-error: marks an allergy as
/// recorded in error (it leaves the person's list; its history stays).
pub async fn allergy_entered_in_error(
    context: &RequestContext<'_>,
    request: &Request,
    caller: &Caller,
    person_id: &str,
    allergy_id: &str,
) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: EnteredInErrorInput = body::read(&body, &[version_member(), body::required::<String>("reason")])?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::Allergy).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    let allergies = context.store.allergies(&versioned.permit).await.or_problem(context)?;
    let allergy = allergies.into_iter().find(|allergy| allergy.id == allergy_id).ok_or_else(not_found)?;
    versioned.check_version(allergy_id, input.version).await?;
    let recorder = Recorder::new();
    let version = writes::mark_allergy_entered_in_error(&writer(context, caller, &versioned.permit), &recorder, input.version, &allergy, &input.reason)
        .await
        .map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContactInput {
    id: Option<String>,
    kind: ContactKind,
    name: String,
    role: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    available: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContactsInput {
    version: i64,
    contacts: Vec<ContactInput>,
}

/// PUT /api/v1/people/{id}/contacts: replaces the person's contacts, in display order.
pub async fn put_contacts(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: ContactsInput = body::read(&body, &[version_member(), body::required::<Vec<ContactInput>>("contacts")])?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::Contacts).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    versioned.check_version("", input.version).await?;
    // An id in use by another person's contact cannot be taken over: the upsert would leave it.
    let contacts: Vec<Contact> = input
        .contacts
        .into_iter()
        .map(|contact| Contact {
            id: contact.id.filter(|id| !id.trim().is_empty()).unwrap_or_else(|| carefront_shared::random::new_id(context.random)),
            person_id: person_id.to_owned(),
            kind: contact.kind,
            name: contact.name,
            role: contact.role.unwrap_or_default(),
            phone: contact.phone.unwrap_or_default(),
            email: contact.email.unwrap_or_default(),
            available: contact.available.unwrap_or_default(),
            position: 0,
        })
        .collect();
    let recorder = Recorder::new();
    let version = writes::put_contacts(&writer(context, caller, &versioned.permit), &recorder, input.version, &contacts)
        .await
        .map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::OK).await
}

/// POST /api/v1/people/{id}/documents?title=…&kind=…: adds a document, the file as the body
/// (PDF or UTF-8 text up to 10 MiB, its type judged from its contents, never the declared one).
pub async fn add_document(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let key = idempotency::key(request)?;
    let query = Query::parse(request.uri().query(), &["title", "kind"])?;
    let mut problems = Vec::new();
    let title = query.get("title").unwrap_or_default().to_owned();
    if title.is_empty() {
        problems.push(InvalidParam::new("title", "title is required: the document's title, up to 200 characters."));
    }
    let kinds: Vec<&str> = DocumentKind::ALL.iter().map(|kind| kind.as_str()).collect();
    let kind = query.get("kind").and_then(DocumentKind::parse);
    if kind.is_none() {
        problems.push(InvalidParam::new("kind", format!("kind must be one of {}.", kinds.join(", "))));
    }
    if !problems.is_empty() {
        return Err(invalid(StatusCode::BAD_REQUEST, problems));
    }
    let kind = kind.unwrap_or(DocumentKind::Other);
    let permit = ask_permit(context, caller, person_id, Action::Contribute, Category::Documents).await?;
    // The body's fingerprint is its digest: a retry of the same file with the same key.
    let digest = serde_json::Value::String(carefront_shared::crypto::digest(request.body()));
    let idempotent = Idempotent::new(key, request, &digest);
    if let Some(id) = idempotent.earlier(context, caller).await? {
        return match document_view(context, &permit, person_id, &id).await? {
            Some(view) => Ok(idempotency::replayed(&view)),
            None => Err(internal("an idempotency key won by a document names no document")),
        };
    }
    let recorder = Recorder::new();
    let document =
        writes::add_document(&writer(context, caller, &permit), &recorder, &title, kind, request.body()).await.map_err(|error| refused(context, error))?;
    recorder.store().claim_new_idempotency_key(&idempotent.claim(context, caller, Some(&document.id))).await.or_problem(context)?;
    match idempotent.apply(context, caller, &recorder.into_plan()).await? {
        Applied::Done | Applied::Replay(_) => {}
        Applied::Refused(error) => return Err(error).or_problem(context),
    }
    let id = idempotent.earlier(context, caller).await?.unwrap_or(document.id);
    let view = document_view(context, &permit, person_id, &id).await?.ok_or_else(|| internal("a document just added is not there"))?;
    Ok(json(StatusCode::CREATED, &view))
}

async fn document_view(context: &RequestContext<'_>, permit: &Permit, person_id: &str, id: &str) -> Result<Option<serde_json::Value>, ApiError> {
    let documents = context.store.documents(permit).await.or_problem(context)?;
    Ok(documents.into_iter().find(|document| document.id == id).map(|document| {
        serde_json::json!({
            "id": document.id,
            "title": document.title,
            "kind": document.kind,
            "contentType": document.content_type,
            "sizeBytes": document.size_bytes,
            "sha256": document.sha256,
            "addedBy": document.added_by,
            "addedAt": document.added_at,
            "href": format!("/api/v1/people/{person_id}/documents/{}", document.id),
        })
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlannedVisitInput {
    id: Option<String>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    carer_first_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScheduleInput {
    version: i64,
    from: NaiveDate,
    to: NaiveDate,
    visits: Vec<PlannedVisitInput>,
}

/// PUT /api/v1/people/{id}/visit-schedule: the caller's planned visits of a period (UK days
/// `from` to `to`) replace its planned visits of that period.
pub async fn put_visit_schedule(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: ScheduleInput = body::read(
        &body,
        &[version_member(), body::required::<NaiveDate>("from"), body::required::<NaiveDate>("to"), body::required::<Vec<PlannedVisitInput>>("visits")],
    )?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::VisitSchedule).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    versioned.check_version(&caller.organisation.id, input.version).await?;
    let (start, end) = (uk_time::start_of(input.from), uk_time::start_of(input.to.succ_opt().unwrap_or(input.to)));
    // Ids of this person's visits that the schedule does not replace: not to be reused.
    let around = context.store.scheduled_visits(&versioned.permit, start - Duration::days(400), end + Duration::days(400)).await.or_problem(context)?;
    let replaced = |visit: &ScheduledVisit| {
        visit.visit.organisation_id == caller.organisation.id
            && visit.visit.status == VisitStatus::Planned
            && visit.visit.starts_at >= start
            && visit.visit.starts_at < end
    };
    let taken: Vec<String> = around.iter().filter(|visit| !replaced(visit)).map(|visit| visit.visit.id.clone()).collect();
    let schedule = VisitSchedule {
        from: input.from,
        to: input.to,
        visits: input
            .visits
            .into_iter()
            .map(|visit| PlannedVisit {
                id: visit.id.filter(|id| !id.trim().is_empty()).unwrap_or_else(|| carefront_shared::random::new_id(context.random)),
                starts_at: visit.starts_at,
                ends_at: visit.ends_at,
                carer_first_name: visit.carer_first_name,
            })
            .collect(),
    };
    let recorder = Recorder::new();
    let version = writes::put_visit_schedule(&writer(context, caller, &versioned.permit), &recorder, input.version, &schedule, &taken)
        .await
        .map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::OK).await
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduledVisitView {
    id: String,
    organisation_id: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    status: VisitStatus,
    carers: String,
    status_at: Option<DateTime<Utc>>,
    checked_in_at: Option<DateTime<Utc>>,
    checked_out_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleView {
    from: NaiveDate,
    to: NaiveDate,
    /// The caller's schedule's version (0 if it has put none in).
    version: i64,
    visits: Vec<ScheduledVisitView>,
}

fn day_parameter(query: &Query, name: &str, default: NaiveDate) -> Result<NaiveDate, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| bad_query("bad-date", "A date is not valid", format!("{name} must be a date (2026-07-03)")).into()),
    }
}

/// GET /api/v1/people/{id}/visit-schedule?from=&to=: the visits of a period (UK days; default
/// this week from today), with their window, carer and live status.
pub async fn visit_schedule(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["from", "to"])?;
    let today = uk_time::date(context.now);
    let from = day_parameter(&query, "from", today)?;
    let to = day_parameter(&query, "to", from + Duration::days(6))?;
    if to < from || (to - from).num_days() >= writes::MAX_SCHEDULE_DAYS {
        return Err(bad_query(
            "bad-period",
            "The period is not valid",
            format!("from must not be after to, and the period at most {} days.", writes::MAX_SCHEDULE_DAYS),
        )
        .into());
    }
    let permit = ask_permit(context, caller, person_id, Action::View, Category::VisitsAndNotes).await?;
    let visits = context.store.scheduled_visits(&permit, uk_time::start_of(from), uk_time::start_of(to.succ_opt().unwrap_or(to))).await.or_problem(context)?;
    let version = current(context, &permit, VersionKind::VisitSchedule, &caller.organisation.id).await?.map_or(0, |version| version.version);
    log_read(context, caller, &permit, Category::VisitsAndNotes, "your planned visits").await?;
    let visits = visits
        .into_iter()
        .map(|entry| ScheduledVisitView {
            id: entry.visit.id,
            organisation_id: entry.visit.organisation_id,
            starts_at: entry.visit.starts_at,
            ends_at: entry.visit.ends_at,
            status: entry.visit.status,
            carers: entry.visit.carers,
            status_at: entry.status_at,
            checked_in_at: entry.checked_in_at,
            checked_out_at: entry.checked_out_at,
        })
        .collect();
    Ok(json(StatusCode::OK, &ScheduleView { from, to, version, visits }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusInput {
    version: i64,
    status: VisitStatus,
    at: DateTime<Utc>,
}

/// POST /api/v1/people/{id}/visits/{visit}/status: the visit's live status (checked in,
/// checked out, late, missed) with the actual time.
pub async fn visit_status(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str, visit_id: &str) -> Result<Response, ApiError> {
    let body = body::json_value(request)?;
    let input: StatusInput = body::read(&body, &[version_member(), body::required::<VisitStatus>("status"), body::required::<DateTime<Utc>>("at")])?;
    let (versioned, replay) = Versioned::begin(context, request, caller, person_id, &body, VersionKind::Visit).await?;
    if let Some(replay) = replay {
        return Ok(replay);
    }
    let visit = context.store.scheduled_visit(&versioned.permit, visit_id).await.or_problem(context)?.ok_or_else(not_found)?;
    versioned.check_version(visit_id, input.version).await?;
    let recorder = Recorder::new();
    let version = writes::record_visit_status(&writer(context, caller, &versioned.permit), &recorder, input.version, &visit, input.status, input.at)
        .await
        .map_err(|error| refused(context, error))?;
    versioned.finish(recorder, version, StatusCode::OK).await
}

/// GET …/versions: every version of a part, newest first (history is never removed).
pub async fn versions(
    context: &RequestContext<'_>,
    request: &Request,
    caller: &Caller,
    person_id: &str,
    kind: VersionKind,
    item_id: &str,
) -> Result<Response, ApiError> {
    Query::parse(request.uri().query(), &[])?;
    let permit = ask_permit(context, caller, person_id, Action::View, kind.category()).await?;
    let versions = context.store.record_versions(&permit, kind, item_id).await.or_problem(context)?;
    if versions.is_empty() && kind == VersionKind::Medicine {
        medicine_of(context, &permit, item_id).await?;
    }
    let what = match kind {
        VersionKind::CarePlan => "the history of your care plan",
        VersionKind::Guide => "the history of your service user guide",
        VersionKind::Medicine => "the history of one of your medicines",
        VersionKind::Allergy => "the history of one of your allergies",
        VersionKind::Contacts => "the history of your contacts",
        VersionKind::VisitSchedule => "the history of your visit schedule",
        VersionKind::Visit => "the history of one of your visits",
    };
    log_read(context, caller, &permit, kind.category(), what).await?;
    Ok(page_response(versions.into_iter().map(VersionView::from).collect(), None))
}
