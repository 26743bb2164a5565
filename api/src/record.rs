//! The parts of a person's record an organisation's grant allows, read by its system:
//! `GET /api/v1/people/{id}/care-plan | guide | medicines | medication-administrations | visits
//! | contacts | documents | documents/{doc}`. Each is read under a permit the consent decision
//! makes for its own category (view), and logged from that permit in the person's access log;
//! anything not granted is 404, like a person who does not exist.

use base64::Engine as _;
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::CarePlan;
use carefront_shared::record::{
    Administration, Allergy, CareVisit, Contact, ContactKind, Document, DocumentKind, GuideSection, Medicine, Outcome, VisitStatus,
};
use carefront_shared::record_writes::{RecordVersion, VersionKind};
use carefront_shared::store::prelude::*;
use carefront_shared::store::record::check_visit_cursor;
use carefront_shared::store::time_text;
use carefront_shared::uk_time;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::access::{ask_permit, log_read};
use crate::auth::Caller;
use crate::failure::{ApiError, Stored, not_recorded};
use crate::query::{self, Order, Query, bad_query, next_link, page_of, page_response};
use crate::{Request, Response, json};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CarePlanView {
    id: String,
    person_id: String,
    summary: String,
    outcomes: Vec<String>,
    needs: Vec<String>,
    support: Vec<String>,
    visit_schedule: Vec<String>,
    risks: Vec<String>,
    review_due: NaiveDate,
    written_by: String,
    updated_at: DateTime<Utc>,
    /// The newest version (0 if none was put in through the API): what a change names.
    version: i64,
}

impl From<CarePlan> for CarePlanView {
    fn from(plan: CarePlan) -> CarePlanView {
        CarePlanView {
            id: plan.id,
            person_id: plan.person_id,
            summary: plan.summary,
            outcomes: plan.outcomes,
            needs: plan.needs,
            support: plan.support,
            visit_schedule: plan.visit_schedule,
            risks: plan.risks,
            review_due: plan.review_due,
            written_by: plan.written_by,
            updated_at: plan.updated_at,
            version: 0,
        }
    }
}

/// The newest version of a part (0 if none was put in through the API).
async fn newest(context: &RequestContext<'_>, permit: &carefront_shared::access::Permit, kind: VersionKind, item_id: &str) -> Result<i64, ApiError> {
    let versions = context.store.record_versions(permit, kind, item_id).await.or_problem(context)?;
    Ok(versions.first().map_or(0, |version| version.version))
}

/// GET /api/v1/people/{id}/care-plan.
pub async fn care_plan(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    Query::parse(request.uri().query(), &[])?;
    let permit = ask_permit(context, caller, person_id, Action::View, Category::CarePlan).await?;
    let plan = context.store.care_plan(&permit).await.or_problem(context)?.ok_or_else(|| not_recorded("care plan"))?;
    let version = newest(context, &permit, VersionKind::CarePlan, "").await?;
    log_read(context, caller, &permit, Category::CarePlan, "your care plan").await?;
    Ok(json(StatusCode::OK, &CarePlanView { version, ..CarePlanView::from(plan) }))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GuideView {
    person_id: String,
    organisation_id: String,
    title: String,
    sections: Vec<GuideSection>,
    updated_at: DateTime<Utc>,
    version: i64,
}

/// GET /api/v1/people/{id}/guide: the service user guide.
pub async fn guide(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    Query::parse(request.uri().query(), &[])?;
    let permit = ask_permit(context, caller, person_id, Action::View, Category::ServiceUserGuide).await?;
    let guide = context.store.guide(&permit).await.or_problem(context)?.ok_or_else(|| not_recorded("service user guide"))?;
    let version = newest(context, &permit, VersionKind::Guide, "").await?;
    log_read(context, caller, &permit, Category::ServiceUserGuide, "your service user guide").await?;
    Ok(json(
        StatusCode::OK,
        &GuideView {
            person_id: guide.person_id,
            organisation_id: guide.organisation_id,
            title: guide.title,
            sections: guide.sections,
            updated_at: guide.updated_at,
            version,
        },
    ))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MedicineView {
    id: String,
    name: String,
    dose: String,
    route: String,
    /// Times of day, "HH:MM".
    times: Vec<String>,
    as_needed: bool,
    instructions: String,
    prescriber: String,
    started_on: NaiveDate,
    stopped_on: Option<NaiveDate>,
    version: i64,
}

impl From<Medicine> for MedicineView {
    fn from(medicine: Medicine) -> MedicineView {
        MedicineView {
            id: medicine.id,
            name: medicine.name,
            dose: medicine.dose,
            route: medicine.route,
            times: medicine.times.iter().map(|time: &NaiveTime| time.format("%H:%M").to_string()).collect(),
            as_needed: medicine.as_needed,
            instructions: medicine.instructions,
            prescriber: medicine.prescriber,
            started_on: medicine.started_on,
            stopped_on: medicine.stopped_on,
            version: 0,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AllergyView {
    id: String,
    substance: String,
    reaction: String,
    recorded_at: DateTime<Utc>,
    version: i64,
}

impl From<Allergy> for AllergyView {
    fn from(allergy: Allergy) -> AllergyView {
        AllergyView { id: allergy.id, substance: allergy.substance, reaction: allergy.reaction, recorded_at: allergy.recorded_at, version: 0 }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MedicinesView {
    /// The day "current" was judged on (UTC).
    on: NaiveDate,
    medicines: Vec<MedicineView>,
    allergies: Vec<AllergyView>,
}

/// GET /api/v1/people/{id}/medicines: the medicines current today, and every allergy.
pub async fn medicines(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    Query::parse(request.uri().query(), &[])?;
    let permit = ask_permit(context, caller, person_id, Action::View, Category::Medication).await?;
    let today = uk_time::date(context.now);
    let medicines = context.store.medicines(&permit).await.or_problem(context)?;
    let allergies = context.store.allergies(&permit).await.or_problem(context)?;
    let medicine_versions = context.store.latest_record_versions(&permit, VersionKind::Medicine).await.or_problem(context)?;
    let allergy_versions = context.store.latest_record_versions(&permit, VersionKind::Allergy).await.or_problem(context)?;
    let version_of = |versions: &[RecordVersion], id: &str| versions.iter().find(|version| version.item_id == id).map_or(0, |version| version.version);
    log_read(context, caller, &permit, Category::Medication, "your current medicines and allergies").await?;
    Ok(json(
        StatusCode::OK,
        &MedicinesView {
            on: today,
            medicines: medicines
                .into_iter()
                .filter(|medicine| medicine.current_on(today))
                .map(|medicine| MedicineView { version: version_of(&medicine_versions, &medicine.id), ..MedicineView::from(medicine) })
                .collect(),
            allergies: allergies
                .into_iter()
                .map(|allergy| AllergyView { version: version_of(&allergy_versions, &allergy.id), ..AllergyView::from(allergy) })
                .collect(),
        },
    ))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdministrationView {
    id: String,
    medicine_id: String,
    /// The medicine's name, when it is still in the record.
    medicine_name: Option<String>,
    due_at: DateTime<Utc>,
    outcome: Outcome,
    reason: Option<String>,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
}

impl AdministrationView {
    pub(crate) fn new(entry: Administration, medicines: &[Medicine]) -> AdministrationView {
        let medicine_name = medicines.iter().find(|medicine| medicine.id == entry.medicine_id).map(|medicine| medicine.name.clone());
        AdministrationView {
            id: entry.id,
            medicine_id: entry.medicine_id,
            medicine_name,
            due_at: entry.due_at,
            outcome: entry.outcome,
            reason: entry.reason,
            recorded_by: entry.recorded_by,
            recorded_at: entry.recorded_at,
        }
    }
}

/// The longest period one administrations request covers.
const MAX_ADMINISTRATION_DAYS: i64 = 93;

/// `from` or `to`: an RFC 3339 time, or a date (midnight UTC).
fn instant(query: &Query, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = query.get(name) else { return Ok(None) };
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(time.with_timezone(&Utc)));
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => Ok(Some(day.and_time(NaiveTime::MIN).and_utc())),
        Err(_) => {
            Err(bad_query("bad-time", "A time is not valid", format!("{name} must be an RFC 3339 time (2026-11-21T08:00:00Z) or a date (2026-11-21).")).into())
        }
    }
}

/// GET /api/v1/people/{id}/medication-administrations?from=&to=: the administration record due
/// in `[from, to)` (default: the last seven days and the next day), oldest first, in pages.
pub async fn administrations(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["from", "to", "limit", "cursor"])?;
    let (limit, after) = (query.limit()?, query.cursor("administrations")?);
    let to = instant(&query, "to")?.unwrap_or(context.now + Duration::days(1));
    let from = instant(&query, "from")?.unwrap_or(to - Duration::days(8));
    if from >= to || to - from > Duration::days(MAX_ADMINISTRATION_DAYS) {
        return Err(bad_query(
            "bad-period",
            "The period is not valid",
            format!("from must be before to, and the period at most {MAX_ADMINISTRATION_DAYS} days."),
        )
        .into());
    }
    let permit = ask_permit(context, caller, person_id, Action::View, Category::Medication).await?;
    let entries = context.store.administrations(&permit, from, to).await.or_problem(context)?;
    let medicines = context.store.medicines(&permit).await.or_problem(context)?;
    let key = |entry: &Administration| format!("{}|{}|{}", time_text(entry.due_at), time_text(entry.recorded_at), entry.id);
    let (page, next) = page_of(entries, key, Order::Ascending, after.as_deref(), limit);
    log_read(context, caller, &permit, Category::Medication, "your medication administration record").await?;
    let params = [("from", time_text(from)), ("to", time_text(to))];
    let next = next.map(|key| {
        next_link(&format!("/api/v1/people/{person_id}/medication-administrations"), &params, limit, &query::encode_cursor("administrations", &key))
    });
    Ok(page_response(page.into_iter().map(|entry| AdministrationView::new(entry, &medicines)).collect(), next))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VisitView {
    id: String,
    organisation_id: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    status: VisitStatus,
    carers: String,
    note: String,
    recorded_at: DateTime<Utc>,
}

impl From<CareVisit> for VisitView {
    fn from(visit: CareVisit) -> VisitView {
        VisitView {
            id: visit.id,
            organisation_id: visit.organisation_id,
            starts_at: visit.starts_at,
            ends_at: visit.ends_at,
            status: visit.status,
            carers: visit.carers,
            note: visit.note,
            recorded_at: visit.recorded_at,
        }
    }
}

/// GET /api/v1/people/{id}/visits: visits and their notes, newest first, in pages.
pub async fn visits(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["limit", "cursor"])?;
    let limit = query.limit()?;
    let cursor = query.get("cursor");
    if cursor.is_some_and(|cursor| check_visit_cursor(cursor).is_err()) {
        return Err(bad_query("bad-cursor", "The cursor is not valid", "Use the next link of the previous page as it is.").into());
    }
    let permit = ask_permit(context, caller, person_id, Action::View, Category::VisitsAndNotes).await?;
    let page = context.store.visits(&permit, cursor, i64::try_from(limit).unwrap_or(1)).await.or_problem(context)?;
    log_read(context, caller, &permit, Category::VisitsAndNotes, "your visits and carers' notes").await?;
    let next = page.next.map(|cursor| next_link(&format!("/api/v1/people/{person_id}/visits"), &[], limit, &cursor));
    Ok(page_response(page.items.into_iter().map(VisitView::from).collect::<Vec<_>>(), next))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ContactView {
    id: String,
    kind: ContactKind,
    name: String,
    role: String,
    phone: String,
    email: String,
    available: String,
}

/// A sortable key of a signed integer: 20 digits after shifting to unsigned.
fn ordinal(value: i64) -> String {
    format!("{:020}", value.wrapping_sub(i64::MIN) as u64)
}

/// GET /api/v1/people/{id}/contacts: the care team and other contacts, in display order, in pages.
pub async fn contacts(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["limit", "cursor"])?;
    let (limit, after) = (query.limit()?, query.cursor("contacts")?);
    let permit = ask_permit(context, caller, person_id, Action::View, Category::Contacts).await?;
    let contacts = context.store.contacts(&permit).await.or_problem(context)?;
    let (page, next) =
        page_of(contacts, |contact: &Contact| format!("{}|{}", ordinal(contact.position), contact.id), Order::Ascending, after.as_deref(), limit);
    log_read(context, caller, &permit, Category::Contacts, "your contacts").await?;
    let next = next.map(|key| next_link(&format!("/api/v1/people/{person_id}/contacts"), &[], limit, &query::encode_cursor("contacts", &key)));
    let items: Vec<ContactView> = page
        .into_iter()
        .map(|contact| ContactView {
            id: contact.id,
            kind: contact.kind,
            name: contact.name,
            role: contact.role,
            phone: contact.phone,
            email: contact.email,
            available: contact.available,
        })
        .collect();
    Ok(page_response(items, next))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DocumentView {
    id: String,
    title: String,
    kind: DocumentKind,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    added_by: String,
    added_at: DateTime<Utc>,
    /// Where the file is.
    href: String,
}

/// GET /api/v1/people/{id}/documents: what each document is (not its contents), newest first.
pub async fn documents(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["limit", "cursor"])?;
    let (limit, after) = (query.limit()?, query.cursor("documents")?);
    let permit = ask_permit(context, caller, person_id, Action::View, Category::Documents).await?;
    let documents = context.store.documents(&permit).await.or_problem(context)?;
    let (page, next) =
        page_of(documents, |document: &Document| format!("{}|{}", time_text(document.added_at), document.id), Order::Descending, after.as_deref(), limit);
    log_read(context, caller, &permit, Category::Documents, "the list of your documents").await?;
    let next = next.map(|key| next_link(&format!("/api/v1/people/{person_id}/documents"), &[], limit, &query::encode_cursor("documents", &key)));
    let items: Vec<DocumentView> = page
        .into_iter()
        .map(|document| DocumentView {
            href: format!("/api/v1/people/{person_id}/documents/{}", document.id),
            id: document.id,
            title: document.title,
            kind: document.kind,
            content_type: document.content_type,
            size_bytes: document.size_bytes,
            sha256: document.sha256,
            added_by: document.added_by,
            added_at: document.added_at,
        })
        .collect();
    Ok(page_response(items, next))
}

/// GET /api/v1/people/{id}/documents/{doc}: the file itself, as it was added.
pub async fn document(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str, document_id: &str) -> Result<Response, ApiError> {
    Query::parse(request.uri().query(), &[])?;
    let permit = ask_permit(context, caller, person_id, Action::View, Category::Documents).await?;
    let (document, body) = context.store.document(&permit, document_id).await.or_problem(context)?.ok_or_else(crate::failure::not_found)?;
    log_read(context, caller, &permit, Category::Documents, &format!("your document \u{201c}{}\u{201d}", document.title)).await?;
    let (content_type, extension) = if document.content_type == "application/pdf" { ("application/pdf", "pdf") } else { ("text/plain; charset=utf-8", "txt") };
    let digest = base64::engine::general_purpose::STANDARD.encode(hex_bytes(&document.sha256));
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}.{extension}\"", document.id)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("sha-256=:{digest}:")) {
        headers.insert(http::HeaderName::from_static("repr-digest"), value);
    }
    Ok(response)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).filter_map(|index| hex.get(index * 2..index * 2 + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}
