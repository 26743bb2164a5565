//! FHIR R4 in: `POST /api/v1/people/{id}/fhir` with a `Bundle` (`collection` or `transaction`)
//! of the resources the export writes, read by [`carefront_shared::fhir_in`]. To an
//! organisation that may add to no part of the person's record, the person does not exist
//! (404). Otherwise a Bundle that is not R4 in the parts carefront reads is 400, and one that is
//! R4 but cannot be recorded (or is about anyone else) 422, each problem named by its place
//! (`entry[2].resource.status`), and nothing is written. The organisation needs a live grant to
//! contribute to every category the Bundle writes (404 otherwise, as for every write) and an
//! `Idempotency-Key`. The whole Bundle is one plan — the key's claim and every write — made by
//! the same versioned writes as the JSON API ([`carefront_shared::fhir_in::put_in`]): the care
//! plan, each medicine, allergy, the contacts and each document keep a version or are added
//! once, each with its own line in the access log; visits and doses (not versioned) one line
//! each. If a part changed between reading it here and applying the plan, the whole Bundle is
//! refused (409) and nothing is written.

use carefront_shared::store::prelude::*;
use std::collections::BTreeMap;

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::fhir_in::{self, BundleType, Current, EntryOutcome, Import, Refusal, Target};
use carefront_shared::plan::Recorder;
use carefront_shared::problem::Problem;
use carefront_shared::record_writes::{VersionKind, Writer};
use http::{StatusCode, header};
use serde::Serialize;

use crate::access::grants_for;
use crate::auth::Caller;
use crate::failure::{ApiError, InvalidParam, Stored, invalid, not_found};
use crate::idempotency::{self, Applied, Idempotent};
use crate::record_writes::refused as write_refused;
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
    /// Entries taken whose item the record holds already, left as it is (an allergy or document
    /// recorded before, a medicine unchanged). Not repeated in a replay's answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    left_alone: Vec<EntryOutcome>,
}

impl ImportView {
    fn new(person_id: &str, bundle_type: BundleType, import: &Import) -> ImportView {
        ImportView {
            person_id: person_id.to_owned(),
            bundle_type,
            categories: import.categories().into_iter().map(Category::as_str).collect(),
            taken: import.taken.clone(),
            left_out: import.left_out.clone(),
            left_alone: Vec::new(),
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
    let current = current(context, &permit, &import).await?;
    let writer = Writer {
        permit: &permit,
        organisation_id: caller.organisation.id.clone(),
        name: caller.organisation.name.clone(),
        described: format!("{}, through a FHIR Bundle,", caller.described()),
        now: context.now,
        random: context.random,
    };
    // The claim and every write (each with its version and its line in the access log): all
    // of them, or none.
    let recorder = Recorder::new();
    recorder.store().claim_new_idempotency_key(&idempotent.claim(context, caller, None)).await.or_problem(context)?;
    let left_alone = fhir_in::put_in(&writer, &recorder, &import, &current).await.map_err(|error| write_refused(context, error))?;
    match idempotent.apply(context, caller, &recorder.into_plan()).await? {
        Applied::Done => Ok(idempotency::created(&ImportView { left_alone, ..view })),
        Applied::Replay(_) => Ok(idempotency::replayed(&view)),
        // A guard stopped the plan: a part changed after it was read here (another write won).
        Applied::Refused(_) => Err(Problem::new(StatusCode::CONFLICT)
            .with_type("version-conflict", "It changed since you read it")
            .with_detail("Part of the person's record changed while this Bundle was being put in. Nothing was saved: send the Bundle again.")
            .into()),
    }
}

/// What the person's record holds now of the parts the Bundle writes: the versions the writes
/// are made from, and its medicines, allergies and documents.
async fn current(context: &RequestContext<'_>, permit: &Permit, import: &Import) -> Result<Current, ApiError> {
    let store = context.store;
    let newest = |kind: VersionKind| async move {
        let versions = store.latest_record_versions(permit, kind).await.or_problem(context)?;
        Ok::<_, ApiError>(versions.into_iter().map(|version| (version.item_id, version.version)).collect::<BTreeMap<String, i64>>())
    };
    let mut current = Current::default();
    if import.care_plan.is_some() {
        current.care_plan_version = newest(VersionKind::CarePlan).await?.into_values().next().unwrap_or_default();
    }
    if !import.medicines.is_empty() {
        let versions = newest(VersionKind::Medicine).await?;
        let medicines = store.medicines(permit).await.or_problem(context)?;
        current.medicines = medicines
            .into_iter()
            .map(|medicine| {
                let version = versions.get(&medicine.id).copied().unwrap_or_default();
                (medicine.id.clone(), (medicine, version))
            })
            .collect();
    }
    if !import.allergies.is_empty() {
        // One marked as recorded in error is off the list, but its id stays taken.
        let listed = store.allergies(permit).await.or_problem(context)?.into_iter().map(|allergy| allergy.id);
        current.allergies = newest(VersionKind::Allergy).await?.into_keys().chain(listed).collect();
    }
    if !import.contacts.is_empty() {
        current.contacts_version = newest(VersionKind::Contacts).await?.into_values().next().unwrap_or_default();
    }
    if !import.documents.is_empty() {
        current.documents = store.documents(permit).await.or_problem(context)?.into_iter().map(|document| document.id).collect();
    }
    Ok(current)
}
