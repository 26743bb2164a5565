//! FHIR R4 in: `POST /api/v1/people/{id}/fhir` with a `Bundle` (`collection` or `transaction`)
//! of the resources the export writes, read by [`carefront_shared::fhir_in`]. To an
//! organisation that may add to no part of the person's record, the person does not exist
//! (404). Otherwise a Bundle that is not R4 in the parts carefront reads is 400, and one that is
//! R4 but cannot be recorded (or is about anyone else) 422, each problem named by its place
//! (`entry[2].resource.status`), and nothing is written. The organisation needs a live grant to
//! contribute to every category the Bundle writes (404 otherwise, as for every write) and an
//! `Idempotency-Key`; the whole Bundle is one plan: every row, the key's claim and one line per
//! category in the person's access log.

use std::collections::BTreeSet;

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::fhir_in::{self, BundleType, EntryOutcome, Import, Refusal, Target};
use carefront_shared::plan::Recorder;
use carefront_shared::problem::Problem;
use carefront_shared::store::{IdempotencyStore as _, RecordStore as _, SqlStore, Store as _};
use http::{StatusCode, header};
use serde::Serialize;

use crate::access::{event_id, grants_for, grounded};
use crate::auth::Caller;
use crate::failure::{ApiError, InvalidParam, Stored, invalid, not_found};
use crate::idempotency::{self, Applied, Idempotent};
use crate::{Request, Response};

/// The answer: what was kept from each entry, and what was left out and why.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportView {
    person_id: String,
    bundle_type: BundleType,
    categories: Vec<&'static str>,
    taken: Vec<EntryOutcome>,
    left_out: Vec<EntryOutcome>,
}

impl ImportView {
    fn new(person_id: &str, bundle_type: BundleType, import: &Import) -> ImportView {
        ImportView {
            person_id: person_id.to_owned(),
            bundle_type,
            categories: import.categories().into_iter().map(Category::as_str).collect(),
            taken: import.taken.clone(),
            left_out: import.left_out.clone(),
        }
    }
}

/// The body as JSON: `application/fhir+json` (or `application/json`), well-formed.
fn bundle_json(request: &Request) -> Result<serde_json::Value, ApiError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().map(str::trim).unwrap_or_default().to_ascii_lowercase();
    if essence != "application/fhir+json" && essence != "application/json" {
        return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_type("unsupported-media-type", "The body must be FHIR JSON")
            .with_detail("Send the Bundle as application/fhir+json.")
            .into());
    }
    serde_json::from_slice(request.body())
        .map_err(|error| Problem::new(StatusCode::BAD_REQUEST).with_type("malformed-json", "The body is not valid JSON").with_detail(error.to_string()).into())
}

/// Every problem of a refused Bundle, by place: 400 if any is not R4, else 422.
fn refused(refusal: Refusal) -> ApiError {
    let status = if refusal.is_invalid_r4() { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
    let params = refusal.problems.iter().map(|problem| InvalidParam::new(&problem.path, problem.reason.clone())).collect();
    invalid(status, params)
}

/// Reads the Bundle for the person, with their care plan's id when they have one.
fn read(
    body: &serde_json::Value,
    context: &RequestContext<'_>,
    caller: &Caller,
    person_id: &str,
    care_plan_id: Option<&str>,
) -> Result<(BundleType, Import), ApiError> {
    let origin = context.config.origin_header();
    let target = Target {
        person_id,
        organisation_id: &caller.organisation.id,
        identifier_base: &origin,
        care_plan_id,
        author: &caller.organisation.name,
        now: context.now,
    };
    fhir_in::read_bundle(body, target).map_err(refused)
}

/// POST /api/v1/people/{id}/fhir.
pub async fn import(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let key = idempotency::key(request)?;
    let body = bundle_json(request)?;
    // Only an organisation that may add to some part of the person's record hears anything
    // about this Bundle: to anyone else the person does not exist.
    let grants = grants_for(context, person_id).await?;
    let permit = Permit::ask_each(&caller.actor(), person_id, Action::Contribute, &Category::ALL, &grants, context.now).map_err(|_| not_found())?;
    let (_, first) = read(&body, context, caller, person_id, None)?;
    let categories: Vec<Category> = first.categories().into_iter().collect();
    if categories.is_empty() {
        return Err(invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![InvalidParam::new("entry", "The Bundle holds nothing carefront keeps: see the resources it takes in the API document.")],
        ));
    }
    // A grant to contribute to every category the Bundle writes: all of them, or a 404 as for
    // any write.
    if !categories.iter().all(|category| permit.covers(*category)) {
        return Err(not_found());
    }
    // A person has one care plan: a Bundle's plan replaces it, under its id.
    let existing_plan = if permit.covers(Category::CarePlan) { context.store.care_plan(&permit).await.or_problem(context)? } else { None };
    let (bundle_type, import) = read(&body, context, caller, person_id, existing_plan.as_ref().map(|plan| plan.id.as_str()))?;
    let view = ImportView::new(person_id, bundle_type, &import);

    let idempotent = Idempotent::new(key, request, &body);
    if idempotent.earlier(context, caller).await?.is_some() {
        // The same Bundle reads the same way: the answer is made again, nothing is written.
        return Ok(idempotency::replayed(&view));
    }
    let kept: BTreeSet<String> = if permit.covers(Category::Documents) {
        context.store.documents(&permit).await.or_problem(context)?.into_iter().map(|document| document.id).collect()
    } else {
        BTreeSet::new()
    };
    let import = import.without_documents(&kept);
    let mut events = Vec::new();
    for category in &categories {
        let detail = format!("{} put in {} from a FHIR record ({}).", caller.described(), import.described(), category_words(*category));
        events.push(grounded(permit.event(event_id(context), AuditAction::FhirBundleImported, *category, detail))?);
    }
    let claim = idempotent.claim(context, caller, None);
    // The claim, every row and the lines in the access log: all of them, or none.
    let recorder = Recorder::new();
    let store = recorder.store();
    store.claim_new_idempotency_key(&claim).await.or_problem(context)?;
    write_import_with_store_writes(&store, &import).await.or_problem(context)?;
    for event in &events {
        store.append_audit(event).await.or_problem(context)?;
    }
    match idempotent.apply(context, caller, &recorder.into_plan()).await? {
        Applied::Done => Ok(idempotency::created(&view)),
        Applied::Replay(_) => Ok(idempotency::replayed(&view)),
        Applied::Refused(error) => Err(error).or_problem(context),
    }
}

fn category_words(category: Category) -> &'static str {
    match category {
        Category::CarePlan => "care plan",
        Category::ServiceUserGuide => "service user guide",
        Category::Medication => "medicines",
        Category::VisitsAndNotes => "visits and notes",
        Category::Contacts => "contacts",
        Category::Documents => "documents",
        Category::Preferences => "format and communication needs",
        Category::AccessLog => "access log",
    }
}

/// Records what the Bundle puts in with the store's own writes, into a plan. The one place the
/// FHIR import writes: when the versioned JSON writes (care plan, medicines, documents, visit
/// schedule) are merged, this switches to their shared functions, so a FHIR Bundle adds a
/// version exactly as a JSON write does.
pub async fn write_import_with_store_writes(store: &SqlStore<'_>, import: &Import) -> Result<(), carefront_shared::db::DbError> {
    if let Some(plan) = &import.care_plan {
        store.upsert_care_plan(plan).await?;
    }
    for medicine in &import.medicines {
        store.upsert_medicine(medicine).await?;
    }
    for allergy in &import.allergies {
        store.insert_allergy(allergy).await?;
    }
    for entry in &import.administrations {
        store.insert_administration(entry).await?;
    }
    for visit in &import.visits {
        store.upsert_visit(visit).await?;
    }
    for contact in &import.contacts {
        store.upsert_contact(contact).await?;
    }
    for document in &import.documents {
        store.insert_document(&document.document, &document.body).await?;
    }
    Ok(())
}
