//! The council's export of a person's whole record, at once, for a statutory review:
//! `GET /api/v1/people/{id}/export?format=json|fhir` — carefront's own JSON
//! (`carefront-record-export/1`) or a FHIR R4 `Bundle`, as `shared::export` renders them (the same
//! files the person downloads in the portal). The whole record only for a caller allowed the
//! whole record: the council's systems (`export:read` is council-only), with a live grant or
//! statutory basis covering every category; anyone else gets 404. Each export is one entry in
//! the person's access log, naming what it held.

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::OrganisationKind;
use carefront_shared::export;
use carefront_shared::problem::Problem;
use http::{HeaderValue, StatusCode, header};

use crate::access::{event_id, grants_for, log};
use crate::auth::Caller;
use crate::failure::{ApiError, Stored, internal, not_found};
use crate::query::{Query, bad_query};
use crate::{Request, Response};

/// GET /api/v1/people/{id}/export.
pub async fn record(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["format"])?;
    let fhir = match query.get("format") {
        None | Some("json") => false,
        Some("fhir") => true,
        Some(_) => return Err(bad_query("bad-format", "The format is not valid", "format must be json (carefront's own) or fhir (a FHIR R4 Bundle).").into()),
    };
    // The permission is council-only already; this says so again where the record leaves.
    if caller.organisation.kind != OrganisationKind::Council {
        return Err(Problem::new(StatusCode::FORBIDDEN)
            .with_type("permission-required", "The credential lacks a permission")
            .with_detail("Exporting a whole record is for the council's systems only.")
            .into());
    }
    let grants = grants_for(context, person_id).await?;
    let permit = Permit::ask_each(&caller.actor(), person_id, Action::View, &Category::ALL, &grants, context.now).map_err(|_| not_found())?;
    // The whole record or nothing: a permit for only some categories is no export.
    if !Category::ALL.into_iter().all(|category| permit.covers(category)) {
        return Err(not_found());
    }
    // The council's statutory review reads the person's consent too: their grants, receipts and
    // consent discussions.
    let record = export::gather(context.store, &permit, true, context.now).await.or_problem(context)?.ok_or_else(not_found)?;
    let body = if fhir { serde_json::to_vec(&export::fhir_bundle(&record, &context.config.origin_header())) } else { record.to_json() }
        .map_err(|_| internal("rendering the export"))?;
    let sections = record.sections();
    let held = if sections.is_empty() { "nothing is recorded yet".to_owned() } else { sections.join(", ") };
    let what = if fhir { "a FHIR R4 file" } else { "a JSON file" };
    let detail = format!("{} exported your whole record as {what} for the council's statutory duties, with: {held}.", caller.described());
    log(context, &[permit.overall_event(event_id(context), AuditAction::RecordExportedBySystem, detail)]).await?;

    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(if fhir { "application/fhir+json" } else { "application/json" }));
    // The file name is made of the id (only its safe characters) and the date.
    let safe_id: String = person_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
    let extension = if fhir { "fhir.json" } else { "json" };
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"carefront-record-{safe_id}-{}.{extension}\"", context.now.format("%Y-%m-%d"))) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
