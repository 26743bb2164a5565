//! The care record, one page per category: `/people/{id}/care-plan`, `guide`, `medicines`,
//! `visits`, `contacts`, `documents` (and each document's download). The person reads their own
//! record at their own id; anyone else only what a live grant gives them. Every page goes through
//! `decide` first — what the reader may not see does not exist for them (404) — and every view
//! is written to the access log.

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::Person;
use carefront_shared::record::{self, Contact, ContactKind, DocumentKind, Dose, Outcome, VisitStatus};
use carefront_shared::record_writes::{RecordVersion, VersionKind};
use carefront_shared::store::record::check_visit_cursor;
use carefront_shared::uk_time;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::{HeaderValue, StatusCode, header};
use minijinja::{Value, context};
use serde::Serialize;

use crate::care::{self, actor, ask_permit, audit_view};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page};

/// How many visits a page of the timeline shows.
const VISITS_PER_PAGE: i64 = 10;

/// A category's page: its path segment and its heading.
pub fn slug(category: Category) -> Option<&'static str> {
    match category {
        Category::CarePlan => Some("care-plan"),
        Category::ServiceUserGuide => Some("guide"),
        Category::Medication => Some("medicines"),
        Category::VisitsAndNotes => Some("visits"),
        Category::Contacts => Some("contacts"),
        Category::Documents => Some("documents"),
        Category::Preferences => Some("needs"),
        Category::AccessLog => None,
    }
}

fn heading(category: Category, own: bool) -> &'static str {
    match (category, own) {
        (Category::CarePlan, true) => "Your care plan",
        (Category::CarePlan, false) => "Care plan",
        (Category::ServiceUserGuide, _) => "Service user guide",
        (Category::Medication, true) => "Your medicines",
        (Category::Medication, false) => "Medicines",
        (Category::VisitsAndNotes, _) => "Visits and notes",
        (Category::Contacts, true) => "Your contacts",
        (Category::Contacts, false) => "Contacts",
        (Category::Documents, true) => "Your documents",
        (Category::Documents, false) => "Documents",
        (Category::Preferences, true) => "How you like to get information",
        (Category::Preferences, false) => "Format and communication needs",
        (Category::AccessLog, _) => "Who has looked at the record",
    }
}

/// The record pages `reader` may open for `subject_id`, in display order (for navigation).
pub async fn sections(context: &RequestContext<'_>, reader: &Person, subject_id: &str) -> Result<Vec<Value>, PortalError> {
    let grants = context.store.grants_for_subject(subject_id).await?;
    let own = reader.id == subject_id;
    Ok(Category::ALL
        .into_iter()
        .filter_map(|category| slug(category).map(|slug| (category, slug)))
        .filter(|(category, _)| Permit::ask(&actor(reader), subject_id, Action::View, *category, &grants, context.now).is_ok())
        .map(|(category, slug)| context! { subject_id, title => heading(category, own), slug })
        .collect())
}

/// Who the page is about, as the templates show it.
#[derive(Serialize)]
struct Subject {
    id: String,
    name: String,
    own: bool,
    back_label: String,
    /// Their format and communication needs, flagged for anyone else who sees them.
    needs: Vec<String>,
    /// Whether the reader may comment on this category.
    contribute: bool,
    /// The category's stored name (for comment links).
    category: &'static str,
}

/// Decides, then names the subject. Refusal is 404 before anything about them is read.
async fn open(context: &RequestContext<'_>, reader: &Person, subject_id: &str, category: Category) -> Result<(Permit, Subject), PortalError> {
    let permit = ask_permit(context, reader, subject_id, Action::View, category).await?;
    let own = reader.id == subject_id;
    let name = if own { reader.display_name.clone() } else { context.store.person(subject_id).await?.ok_or(PortalError::NotFound)?.display_name };
    let back_label = if own { "Your care".to_owned() } else { format!("{name}'s care") };
    let needs = if own { Vec::new() } else { crate::needs::flags(context, subject_id).await? };
    let contribute = own || ask_permit(context, reader, subject_id, Action::Contribute, category).await.is_ok();
    Ok((permit, Subject { id: subject_id.to_owned(), name, own, back_label, needs, contribute, category: category.as_str() }))
}

fn day(time: DateTime<Utc>) -> String {
    uk_time::day(time)
}

/// "8am on 3 July 2026", the GOV.UK way.
fn time_and_day(at: DateTime<Utc>) -> String {
    format!("{} on {}", uk_time::time(at), uk_time::day(at))
}

/// "Updated 8am on 3 July 2026 by Brookside Home Care", and where its earlier versions are:
/// `/people/{id}/{section}[/{item}]/history`.
fn updated(version: &RecordVersion, section: &str, item: Option<&str>) -> Value {
    context! { when => time_and_day(version.changed_at), by => version.changed_by, version => version.version, section, item }
}

/// The newest version of a part, if it was put in through carefront's writes.
async fn newest(context: &RequestContext<'_>, permit: &Permit, kind: VersionKind, item_id: &str) -> Result<Option<RecordVersion>, PortalError> {
    Ok(context.store.record_versions(permit, kind, item_id).await?.into_iter().next())
}

/// GET /people/{id}/care-plan: the whole care plan.
pub async fn care_plan(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let (permit, subject) = open(context, reader, subject_id, Category::CarePlan).await?;
    let plan = context.store.care_plan(&permit).await?;
    let updated = newest(context, &permit, VersionKind::CarePlan, "").await?.map(|version| updated(&version, "care-plan", None));
    audit_view(context, &permit, Category::CarePlan, "looked at the care plan").await?;
    page(context, visit, "record_care_plan.html", context! { current => "home", subject, updated, plan => plan.map(care::plan_view) })
}

/// GET /people/{id}/guide: the provider's service user guide.
pub async fn guide(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let (permit, subject) = open(context, reader, subject_id, Category::ServiceUserGuide).await?;
    let guide = context.store.guide(&permit).await?;
    let updated = newest(context, &permit, VersionKind::Guide, "").await?.map(|version| updated(&version, "guide", None));
    audit_view(context, &permit, Category::ServiceUserGuide, "looked at the service user guide").await?;
    let guide = guide.map(|guide| {
        let sections: Vec<Value> = guide
            .sections
            .iter()
            .map(|section| {
                let paragraphs: Vec<&str> = section.body.split("\n\n").map(str::trim).filter(|text| !text.is_empty()).collect();
                context! { heading => section.heading, paragraphs }
            })
            .collect();
        context! { title => guide.title, sections, updated => day(guide.updated_at) }
    });
    page(context, visit, "record_guide.html", context! { current => "home", subject, guide, updated })
}

#[derive(Serialize)]
struct DoseView {
    time: String,
    /// given, refused, not-given, missing, due
    state: &'static str,
    label: String,
    reason: Option<String>,
    by: Option<String>,
}

fn dose_view(dose: &Dose) -> DoseView {
    let time = uk_time::time(dose.due_at);
    let (state, label) = match (dose.outcome, dose.past) {
        (Some(Outcome::Given), _) => ("given", "Given"),
        (Some(Outcome::Refused), _) => ("refused", "Refused"),
        (Some(Outcome::NotGiven), _) => ("not-given", "Not given"),
        (None, true) => ("missing", "No record"),
        (None, false) => ("due", "Due"),
    };
    DoseView { time, state, label: label.to_owned(), reason: dose.reason.clone(), by: dose.recorded_by.clone() }
}

/// The first day of the week shown: `?from=YYYY-MM-DD`, else the 7 days ending today.
fn week_start(request: &Request, today: NaiveDate) -> Result<NaiveDate, PortalError> {
    let latest = today - Duration::days(6);
    match web::query_param(request, "from").filter(|text| !text.trim().is_empty()) {
        None => Ok(latest),
        Some(text) => {
            let from =
                NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| PortalError::Unusable("The week must be a date like 2026-11-16.".into()))?;
            if from > latest {
                return Ok(latest);
            }
            // Ten years back is as far as any record goes; anything earlier is a typing slip.
            if from < today - Duration::days(3660) {
                return Err(PortalError::Unusable("That week is too long ago.".into()));
            }
            Ok(from)
        }
    }
}

/// GET /people/{id}/medicines: allergies, current medicines and a week of the administration
/// record, as a grid and as a list.
pub async fn medicines(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let (permit, subject) = open(context, reader, subject_id, Category::Medication).await?;
    let today = uk_time::date(context.now);
    let from = week_start(request, today)?;
    let medicines = context.store.medicines(&permit).await?;
    let allergies = context.store.allergies(&permit).await?;
    let versions = context.store.latest_record_versions(&permit, VersionKind::Medicine).await?;
    // The week's seven UK days (one of them may be 23 or 25 hours long).
    let entries = context.store.administrations(&permit, uk_time::start_of(from), uk_time::start_of(from + Duration::days(7))).await?;
    audit_view(context, &permit, Category::Medication, &format!("looked at the medicines and the record of doses from {}", from.format("%-d %B %Y"))).await?;

    let current: Vec<Value> = medicines
        .iter()
        .filter(|medicine| medicine.current_on(today))
        .map(|medicine| {
            let times: Vec<String> = medicine.times.iter().map(|time| uk_time::clock(*time)).collect();
            let updated = versions.iter().find(|version| version.item_id == medicine.id).map(|version| updated(version, "medicines", Some(&medicine.id)));
            context! {
                id => medicine.id, name => medicine.name, dose => medicine.dose, route => medicine.route, times, as_needed => medicine.as_needed,
                instructions => medicine.instructions, prescriber => medicine.prescriber, since => medicine.started_on.format("%-d %B %Y").to_string(),
                updated,
            }
        })
        .collect();
    let grid = record::week_grid(&medicines, &entries, from, context.now);
    let days: Vec<Value> = (0..7)
        .map(|offset| {
            let date = from + Duration::days(offset);
            context! { short => date.format("%a %-d").to_string(), long => date.format("%A %-d %B").to_string() }
        })
        .collect();
    let rows: Vec<Value> = grid
        .iter()
        .map(|row| {
            let cells: Vec<Vec<DoseView>> = row.days.iter().map(|doses| doses.iter().map(dose_view).collect()).collect();
            context! { name => row.medicine.name, dose => row.medicine.dose, cells }
        })
        .collect();
    // The same week as a list, day by day, for screen readers and small screens.
    let list: Vec<Value> = (0..7)
        .map(|offset| {
            let date = from + Duration::days(offset);
            let mut doses: Vec<(DateTime<Utc>, String, DoseView)> = grid
                .iter()
                .flat_map(|row| {
                    let index = usize::try_from(offset).unwrap_or_default();
                    row.days.get(index).into_iter().flatten().map(|dose| (dose.due_at, row.medicine.name.clone(), dose_view(dose)))
                })
                .collect();
            doses.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            let doses: Vec<Value> = doses.into_iter().map(|(_, name, dose)| context! { name, dose }).collect();
            context! { date => date.format("%A %-d %B").to_string(), doses }
        })
        .collect();
    let earlier = (from - Duration::days(7)).format("%Y-%m-%d").to_string();
    let later = (from + Duration::days(7) <= today - Duration::days(6)).then(|| (from + Duration::days(7)).format("%Y-%m-%d").to_string());
    let latest = from + Duration::days(6) >= today;
    let allergies: Vec<Value> = allergies.iter().map(|allergy| context! { substance => allergy.substance, reaction => allergy.reaction }).collect();
    let week = format!("{} to {}", from.format("%-d %B"), (from + Duration::days(6)).format("%-d %B %Y"));
    page(
        context,
        visit,
        "record_medicines.html",
        context! { current => "home", wide => true, subject, allergies, medicines => current, days, rows, list, week, earlier, later, latest },
    )
}

/// GET /people/{id}/visits: the visits and carers' notes, newest first, a page at a time.
pub async fn visits(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let (permit, subject) = open(context, reader, subject_id, Category::VisitsAndNotes).await?;
    let cursor = web::query_param(request, "after").filter(|cursor| !cursor.is_empty());
    if let Some(cursor) = &cursor {
        check_visit_cursor(cursor).map_err(|_| PortalError::Unusable("That page of visits does not exist. Start again from the first page.".into()))?;
    }
    let page_of = context.store.visits(&permit, cursor.as_deref(), VISITS_PER_PAGE).await?;
    // The live times of the page's visits, in one read.
    let live = match (page_of.items.last(), page_of.items.first()) {
        (Some(oldest), Some(newest)) => context.store.scheduled_visits(&permit, oldest.starts_at, newest.starts_at + Duration::milliseconds(1)).await?,
        _ => Vec::new(),
    };
    audit_view(context, &permit, Category::VisitsAndNotes, "looked at the visits and carers' notes").await?;
    let items: Vec<Value> = page_of
        .items
        .iter()
        .map(|entry| {
            let (status, tag) = match entry.status {
                VisitStatus::Planned => ("Planned", "govuk-tag--blue"),
                VisitStatus::CheckedIn => ("Carer arrived", "govuk-tag--turquoise"),
                VisitStatus::CheckedOut => ("Carer left", "govuk-tag--green"),
                VisitStatus::Late => ("Running late", "govuk-tag--orange"),
                VisitStatus::Completed => ("Visited", "govuk-tag--green"),
                VisitStatus::Missed => ("Missed", "govuk-tag--red"),
                VisitStatus::Cancelled => ("Cancelled", "govuk-tag--grey"),
            };
            let paragraphs: Vec<&str> = entry.note.split("\n\n").map(str::trim).filter(|text| !text.is_empty()).collect();
            let times = live.iter().find(|scheduled| scheduled.visit.id == entry.id);
            let arrived = times.and_then(|times| times.checked_in_at).map(uk_time::time);
            let left = times.and_then(|times| times.checked_out_at).map(uk_time::time);
            let reported =
                times.filter(|_| matches!(entry.status, VisitStatus::Late | VisitStatus::Missed)).and_then(|times| times.status_at).map(uk_time::time);
            let planned = matches!(entry.status, VisitStatus::Planned | VisitStatus::Late | VisitStatus::CheckedIn | VisitStatus::CheckedOut);
            context! {
                when => uk_time::local(entry.starts_at).format("%A %-d %B %Y").to_string(),
                time => format!("{} to {}", uk_time::time(entry.starts_at), uk_time::time(entry.ends_at)),
                id => entry.id, status, tag, carers => entry.carers, paragraphs, planned, arrived, left, reported,
            }
        })
        .collect();
    let first_page = cursor.is_none();
    page(context, visit, "record_visits.html", context! { current => "home", subject, items, next => page_of.next, first_page })
}

fn contact_group(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::CareTeam => "Your care team",
        ContactKind::ProviderOffice => "Care provider office",
        ContactKind::OutOfHours => "Out of hours",
        ContactKind::SocialWorker => "Council social worker",
        ContactKind::Gp => "GP",
        ContactKind::Family => "Family and friends",
        ContactKind::Other => "Other contacts",
    }
}

/// A telephone number as a `tel:` URI (digits and a leading +), if it has digits.
fn tel(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
    (digits.chars().filter(char::is_ascii_digit).count() >= 3).then(|| format!("tel:{digits}"))
}

/// GET /people/{id}/contacts: the care team, provider office, social worker, out-of-hours.
pub async fn contacts(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let (permit, subject) = open(context, reader, subject_id, Category::Contacts).await?;
    let contacts = context.store.contacts(&permit).await?;
    audit_view(context, &permit, Category::Contacts, "looked at the contacts").await?;
    let groups: Vec<Value> = ContactKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let members: Vec<Value> = contacts
                .iter()
                .filter(|contact| contact.kind == kind)
                .map(|contact: &Contact| {
                    context! { name => contact.name, role => contact.role, phone => contact.phone, tel => tel(&contact.phone), email => contact.email, available => contact.available }
                })
                .collect();
            (!members.is_empty()).then(|| context! { title => contact_group(kind), members })
        })
        .collect();
    page(context, visit, "record_contacts.html", context! { current => "home", subject, groups })
}

fn document_kind(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::DischargeSummary => "Hospital discharge summary",
        DocumentKind::Report => "Report",
        DocumentKind::Letter => "Letter",
        DocumentKind::Other => "Document",
    }
}

fn size(bytes: i64) -> String {
    const MIB: i64 = 1024 * 1024;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if bytes < MIB {
        format!("{} KB", (bytes + 1023) / 1024)
    } else {
        format!("{}.{} MB", bytes / MIB, (bytes % MIB) * 10 / MIB)
    }
}

/// GET /people/{id}/documents: letters, reports and discharge summaries.
pub async fn documents(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let (permit, subject) = open(context, reader, subject_id, Category::Documents).await?;
    let documents = context.store.documents(&permit).await?;
    audit_view(context, &permit, Category::Documents, "looked at the list of documents").await?;
    let items: Vec<Value> = documents
        .iter()
        .map(|document| {
            let format = if document.content_type == "application/pdf" { "PDF" } else { "Text" };
            context! {
                id => document.id, title => document.title,
                kind => document_kind(document.kind), added => day(document.added_at), added_by => document.added_by,
                format, size => size(document.size_bytes),
            }
        })
        .collect();
    page(context, visit, "record_documents.html", context! { current => "home", subject, items })
}

/// GET /people/{id}/documents/{document}: the file itself, as an attachment.
pub async fn download(context: &RequestContext<'_>, visit: &Visit, subject_id: &str, document_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let permit = ask_permit(context, reader, subject_id, Action::View, Category::Documents).await?;
    let (document, body) = context.store.document(&permit, document_id).await?.ok_or(PortalError::NotFound)?;
    audit_view(context, &permit, Category::Documents, &format!("opened the document \u{201c}{}\u{201d}", document.title)).await?;
    let extension = if document.content_type == "application/pdf" { "pdf" } else { "txt" };
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    let content_type = if document.content_type == "application/pdf" { "application/pdf" } else { "text/plain; charset=utf-8" };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The file name is ours (the id), never the uploader's: nothing to escape.
    let disposition = format!("attachment; filename=\"carefront-{}.{extension}\"", document.id.chars().filter(char::is_ascii_alphanumeric).collect::<String>());
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// GET /people/{id}/care-plan/history, …/guide/history, …/medicines/{medicine}/history: every
/// version, newest first, as it was put in.
pub async fn history(context: &RequestContext<'_>, visit: &Visit, subject_id: &str, kind: VersionKind, item_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let category = kind.category();
    let (permit, subject) = open(context, reader, subject_id, category).await?;
    let versions = context.store.record_versions(&permit, kind, item_id).await?;
    if versions.is_empty() {
        return Err(PortalError::NotFound);
    }
    let (what, back) = match kind {
        VersionKind::Guide => ("the service user guide", "guide"),
        VersionKind::Medicine => ("a medicine", "medicines"),
        _ => ("the care plan", "care-plan"),
    };
    audit_view(context, &permit, category, &format!("looked at the earlier versions of {what}")).await?;
    let items: Vec<Value> = versions
        .iter()
        .map(|version| context! { version => version.version, when => time_and_day(version.changed_at), by => version.changed_by, rows => snapshot_rows(&version.snapshot) })
        .collect();
    let title = match kind {
        VersionKind::Guide => "Earlier versions of the service user guide".to_owned(),
        VersionKind::Medicine => {
            format!("Earlier versions of {}", versions.first().and_then(|version| version.snapshot["name"].as_str()).unwrap_or("the medicine"))
        }
        _ => "Earlier versions of the care plan".to_owned(),
    };
    page(context, visit, "record_history.html", context! { current => "home", subject, title, items, back })
}

/// A version's contents as rows of a summary list: each field in words, its lines.
fn snapshot_rows(snapshot: &serde_json::Value) -> Vec<Value> {
    let Some(members) = snapshot.as_object() else { return Vec::new() };
    let hidden = ["id", "person_id", "organisation_id", "updated_at"];
    members
        .iter()
        .filter(|(name, _)| !hidden.contains(&name.as_str()))
        .map(|(name, value)| {
            let mut label = name.replace('_', " ");
            if let Some(first) = label.get(0..1) {
                label = first.to_uppercase() + label.get(1..).unwrap_or_default();
            }
            context! { label, lines => snapshot_lines(value) }
        })
        .collect()
}

/// Dates, times of day and moments as the rest of the record writes them ("1 May 2027", "8am").
fn snapshot_text(text: &str) -> String {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.format("%-d %B %Y").to_string();
    }
    if text.len() == 5
        && let Ok(time) = chrono::NaiveTime::parse_from_str(text, "%H:%M")
    {
        return uk_time::clock(time);
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => time_and_day(at.with_timezone(&Utc)),
        Err(_) => text.to_owned(),
    }
}

fn snapshot_lines(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Null => vec!["None".to_owned()],
        serde_json::Value::Bool(yes) => vec![if *yes { "Yes" } else { "No" }.to_owned()],
        serde_json::Value::String(text) => vec![snapshot_text(text)],
        serde_json::Value::Number(number) => vec![number.to_string()],
        serde_json::Value::Array(items) if items.is_empty() => vec!["None".to_owned()],
        serde_json::Value::Array(items) => items.iter().flat_map(snapshot_lines).collect(),
        serde_json::Value::Object(members) => vec![members.values().flat_map(snapshot_lines).collect::<Vec<_>>().join(": ")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telephone_links_keep_only_digits() {
        assert_eq!(tel("01632 960 100").as_deref(), Some("tel:01632960100"));
        assert_eq!(tel("+44 (0)1632 960100").as_deref(), Some("tel:+4401632960100"));
        assert_eq!(tel("ask at reception"), None);
    }

    #[test]
    fn every_record_page_has_a_path() {
        let paths: Vec<_> = Category::ALL.into_iter().filter_map(slug).collect();
        assert_eq!(paths, ["care-plan", "guide", "medicines", "visits", "contacts", "documents", "needs"]);
    }
}
