//! The care record, one page per category: `/people/{id}/care-plan`, `guide`, `medicines`,
//! `visits`, `contacts`, `documents` (and each document's download). The person reads their own
//! record at their own id; anyone else only what a live grant gives them. Every page goes through
//! `decide` first — what the reader may not see does not exist for them (404) — and every view
//! is written to the access log.

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Category, Grant};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::Person;
use carefront_shared::live::{self, DoseState};
use carefront_shared::record::{self, Contact, ContactKind, DocumentKind, Dose, VisitStatus};
use carefront_shared::record_writes::{RecordVersion, ScheduledVisit, VersionKind};
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::{HeaderValue, StatusCode, header};
use minijinja::{Value, context};
use serde::Serialize;

use crate::care::{self, actor, ask_permit, audit_view};
use crate::category_names as names;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page};

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

/// The record pages `reader` may open for `subject_id`, in display order (for navigation).
pub async fn sections(context: &RequestContext<'_>, reader: &Person, subject_id: &str) -> Result<Vec<Value>, PortalError> {
    let grants = context.store.grants_for_subject(subject_id).await?;
    Ok(sections_under(context, reader, subject_id, &grants))
}

/// The record pages `grants` let the reader open (those [`sections`] reads, or a list's own).
pub fn sections_under(context: &RequestContext<'_>, reader: &Person, subject_id: &str, grants: &[Grant]) -> Vec<Value> {
    let own = reader.id == subject_id;
    Category::ALL
        .into_iter()
        .filter_map(|category| slug(category).map(|slug| (category, slug)))
        .filter(|(category, _)| Permit::ask(&actor(reader), subject_id, Action::View, *category, grants, context.now).is_ok())
        .map(|(category, slug)| context! { subject_id, title => names::heading(category, own), slug })
        .collect()
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
    /// The page's heading: "What care I get", "Medicines".
    heading: &'static str,
    /// The page's title: the heading on the person's own page, "Margaret Okafor's medicines" on
    /// anyone else's.
    title: String,
}

/// Decides, then names the subject. Refusal is 404 before anything about them is read.
async fn open(context: &RequestContext<'_>, reader: &Person, subject_id: &str, category: Category) -> Result<(Permit, Subject), PortalError> {
    let permit = ask_permit(context, reader, subject_id, Action::View, category).await?;
    let own = reader.id == subject_id;
    let name = if own { reader.display_name.clone() } else { context.store.person(subject_id).await?.ok_or(PortalError::NotFound)?.display_name };
    let back_label = if own { "Your care".to_owned() } else { format!("{name}'s care") };
    let needs = if own { Vec::new() } else { crate::needs::flags(context, subject_id).await? };
    let contribute = own || ask_permit(context, reader, subject_id, Action::Contribute, category).await.is_ok();
    let heading = names::heading(category, own);
    let title = names::title(category, if own { names::Whose::You } else { names::Whose::Named(&name) });
    Ok((permit, Subject { id: subject_id.to_owned(), name, own, back_label, needs, contribute, category: category.as_str(), heading, title }))
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
    audit_view(context, &permit, Category::ServiceUserGuide, &format!("looked at {}", names::the(Category::ServiceUserGuide))).await?;
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
    /// given, refused, not-given, due, missed (the CSS modifier and the test hook)
    state: DoseState,
    label: &'static str,
    /// The GOV.UK tag colour.
    tag: &'static str,
    reason: Option<String>,
    by: Option<String>,
    /// When it was recorded: "8:10am", or "9am on 21 November 2026" if on another day.
    at: Option<String>,
}

fn dose_view(dose: &Dose, now: DateTime<Utc>) -> DoseView {
    let state = live::dose_state(dose, now);
    let tag = match state {
        DoseState::Given => "govuk-tag--green",
        DoseState::Refused | DoseState::NotGiven => "govuk-tag--orange",
        DoseState::Due => "govuk-tag--blue",
        DoseState::Missed => "govuk-tag--red",
    };
    let at = dose.recorded_at.map(|at| if uk_time::date(at) == uk_time::date(dose.due_at) { uk_time::time(at) } else { time_and_day(at) });
    DoseView { time: uk_time::time(dose.due_at), state, label: state.label(), tag, reason: dose.reason.clone(), by: dose.recorded_by.clone(), at }
}

/// "Today, Monday 30 November", "Yesterday, Sunday 29 November", "Saturday 28 November".
fn day_heading(date: NaiveDate, today: NaiveDate) -> (Option<&'static str>, String) {
    let relative = match (today - date).num_days() {
        0 => Some("Today"),
        1 => Some("Yesterday"),
        -1 => Some("Tomorrow"),
        _ => None,
    };
    (relative, date.format("%A %-d %B").to_string())
}

/// One UK day's doses of every medicine, in time order: a day card (and the list screen readers
/// and phones read instead of the grid).
fn day_card(grid: &[record::GridRow], from: NaiveDate, offset: i64, today: NaiveDate, now: DateTime<Utc>) -> Value {
    let date = from + Duration::days(offset);
    let index = usize::try_from(offset).unwrap_or_default();
    let mut doses: Vec<(DateTime<Utc>, &str, &str, DoseView)> = grid
        .iter()
        .flat_map(|row| {
            row.days.get(index).into_iter().flatten().map(|dose| (dose.due_at, row.medicine.name.as_str(), row.medicine.dose.as_str(), dose_view(dose, now)))
        })
        .collect();
    doses.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let doses: Vec<Value> = doses.into_iter().map(|(_, name, amount, dose)| context! { name, amount, dose }).collect();
    let (relative, date_words) = day_heading(date, today);
    context! { relative, date => date_words, id => date.format("day-%Y-%m-%d").to_string(), doses }
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

/// GET /people/{id}/medicines: allergies, then today's doses as a card (first, so it is on the
/// first screen of a phone, in large print too), the earlier days' cards newest first, the
/// current medicines, and the week as a grid (for wide screens, and for earlier weeks).
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
            context! { short => date.format("%a %-d").to_string(), long => date.format("%A %-d %B").to_string(), today => date == today }
        })
        .collect();
    let rows: Vec<Value> = grid
        .iter()
        .map(|row| {
            let cells: Vec<Vec<DoseView>> = row.days.iter().map(|doses| doses.iter().map(|dose| dose_view(dose, context.now)).collect()).collect();
            context! { name => row.medicine.name, dose => row.medicine.dose, cells }
        })
        .collect();
    let latest = from + Duration::days(6) >= today;
    // Today's card on its own; the other days newest first (what happened last is asked first).
    let today_offset = (today - from).num_days();
    let today_card = (0..7).contains(&today_offset).then(|| day_card(&grid, from, today_offset, today, context.now));
    let cards: Vec<Value> = (0..7).rev().filter(|offset| *offset != today_offset).map(|offset| day_card(&grid, from, offset, today, context.now)).collect();
    let earlier = (from - Duration::days(7)).format("%Y-%m-%d").to_string();
    let later = (from + Duration::days(7) <= today - Duration::days(6)).then(|| (from + Duration::days(7)).format("%Y-%m-%d").to_string());
    let allergies: Vec<Value> = allergies.iter().map(|allergy| context! { substance => allergy.substance, reaction => allergy.reaction }).collect();
    let week = format!("{} to {}", from.format("%-d %B"), (from + Duration::days(6)).format("%-d %B %Y"));
    page(
        context,
        visit,
        "record_medicines.html",
        context! {
            current => "home", wide => true, subject, allergies, medicines => current, days, rows, week, earlier, later, latest,
            today => today_card, cards,
        },
    )
}

/// The visits shown: a week from Monday when `?week=` (or the date boxes) names one, else the
/// last 7 days and the next 7 around today.
struct VisitWindow {
    from: NaiveDate,
    /// The day after the last day shown.
    until: NaiveDate,
    /// The Monday of the week named, if one was.
    week: Option<NaiveDate>,
}

/// Reads `?week=YYYY-MM-DD` or the date boxes `week-day`, `week-month`, `week-year` (the form).
/// An error is the message for the error summary (it links to `week-day`).
fn visit_window(request: &Request, today: NaiveDate) -> Result<VisitWindow, (String, [String; 3])> {
    let boxes = ["week-day", "week-month", "week-year"].map(|name| web::query_param(request, name).unwrap_or_default().trim().to_owned());
    let typed = web::query_param(request, "week").map(|text| text.trim().to_owned()).filter(|text| !text.is_empty());
    let date = match typed {
        Some(text) => {
            Some(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| ("Enter a real date for the week, like 30 11 2026".to_owned(), boxes.clone()))?)
        }
        None if boxes.iter().all(String::is_empty) => None,
        None => {
            let number = |text: &str| text.parse::<u32>().ok();
            let date = match (number(&boxes[0]), number(&boxes[1]), boxes[2].parse::<i32>().ok()) {
                (Some(day), Some(month), Some(year)) => NaiveDate::from_ymd_opt(year, month, day),
                _ => None,
            };
            Some(date.ok_or_else(|| ("Enter a real date for the week, like 30 11 2026".to_owned(), boxes.clone()))?)
        }
    };
    let Some(date) = date else {
        return Ok(VisitWindow { from: today - Duration::days(7), until: today + Duration::days(8), week: None });
    };
    // Ten years back is as far as any record goes; a schedule is put in weeks, not years, ahead.
    if date < today - Duration::days(3660) || date > today + Duration::days(366) {
        return Err(("Enter a date in the last 10 years or the next year".to_owned(), boxes));
    }
    let monday = live::monday_of(date);
    Ok(VisitWindow { from: monday, until: monday + Duration::days(7), week: Some(monday) })
}

/// A visit as the visits page shows it.
fn visit_item(scheduled: &ScheduledVisit, now: DateTime<Utc>) -> Value {
    let entry = &scheduled.visit;
    let standing = live::visit_standing(entry, now);
    let paragraphs: Vec<&str> = entry.note.split("\n\n").map(str::trim).filter(|text| !text.is_empty()).collect();
    let reported = scheduled.status_at.filter(|_| matches!(entry.status, VisitStatus::Late | VisitStatus::Missed)).map(uk_time::time);
    let when = uk_time::local(entry.starts_at).format("%A %-d %B %Y").to_string();
    let time = format!("{} to {}", uk_time::time(entry.starts_at), uk_time::time(entry.ends_at));
    context! {
        id => entry.id, when, time, status => standing.label(), tag => standing.tag(), standing,
        carer => live::first_names(&entry.carers), paragraphs, reported,
        arrived => scheduled.checked_in_at.map(uk_time::time), left => scheduled.checked_out_at.map(uk_time::time),
    }
}

/// Visits grouped by UK day, in the order given, each day headed ("Today, Monday 30 November").
fn visit_days<'a>(visits: impl Iterator<Item = &'a ScheduledVisit>, today: NaiveDate, now: DateTime<Utc>) -> Vec<Value> {
    let mut days: Vec<(NaiveDate, Vec<Value>)> = Vec::new();
    for scheduled in visits {
        let date = uk_time::date(scheduled.visit.starts_at);
        let item = visit_item(scheduled, now);
        match days.last_mut() {
            Some((last, items)) if *last == date => items.push(item),
            _ => days.push((date, vec![item])),
        }
    }
    days.into_iter()
        .map(|(date, visits)| {
            let (relative, words) = day_heading(date, today);
            context! { relative, date => words, today => date == today, visits }
        })
        .collect()
}

/// GET /people/{id}/visits: "Coming up" (soonest first) and "Earlier" (newest first), each day
/// headed, today's called "Today"; each visit with its carer's first name, planned window,
/// actual times and live status. `?week=` (or the date boxes) shows a week from Monday.
pub async fn visits(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let (permit, subject) = open(context, reader, subject_id, Category::VisitsAndNotes).await?;
    let today = uk_time::date(context.now);
    let this_week = live::monday_of(today);
    let boxes_of =
        |date: NaiveDate| context! { day => date.format("%-d").to_string(), month => date.format("%-m").to_string(), year => date.format("%Y").to_string() };
    let window = match visit_window(request, today) {
        Ok(window) => window,
        Err((message, [day, month, year])) => {
            // Nothing is read: the form again, its error named and linked.
            let errors = [context! { field => "week-day", message }];
            let extra = context! {
                current => "home", subject, errors, error => true, coming_up => Vec::<Value>::new(), earlier => Vec::<Value>::new(),
                boxes => context! { day, month, year }, this_week => true,
            };
            return crate::page_with_status(context, visit, StatusCode::BAD_REQUEST, "record_visits.html", extra);
        }
    };
    let visits = context.store.scheduled_visits(&permit, uk_time::start_of(window.from), uk_time::start_of(window.until)).await?;
    let last_day = window.until - Duration::days(1);
    let range = format!("{} to {}", window.from.format("%A %-d %B"), last_day.format("%A %-d %B %Y"));
    audit_view(context, &permit, Category::VisitsAndNotes, &format!("looked at the visits and carers' notes from {range}")).await?;
    let (coming_up, earlier): (Vec<&ScheduledVisit>, Vec<&ScheduledVisit>) =
        visits.iter().partition(|scheduled| live::is_coming_up(&scheduled.visit, context.now));
    let coming_up = visit_days(coming_up.into_iter(), today, context.now);
    let earlier = visit_days(earlier.into_iter().rev(), today, context.now);
    let shown_week = window.week.unwrap_or(this_week);
    let week_link = |monday: NaiveDate| monday.format("%Y-%m-%d").to_string();
    page(
        context,
        visit,
        "record_visits.html",
        context! {
            current => "home", subject, coming_up, earlier, range, errors => Vec::<Value>::new(),
            this_week => window.week.is_none_or(|monday| monday == this_week), week_chosen => window.week.is_some(),
            previous => week_link(shown_week - Duration::days(7)), next => week_link(shown_week + Duration::days(7)),
            boxes => boxes_of(shown_week),
        },
    )
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
    audit_view(context, &permit, Category::Documents, &format!("looked at {}", names::the(Category::Documents))).await?;
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
        VersionKind::Guide => (names::the(Category::ServiceUserGuide), "guide"),
        VersionKind::Medicine => ("a medicine", "medicines"),
        _ => ("the care plan", "care-plan"),
    };
    audit_view(context, &permit, category, &format!("looked at the earlier versions of {what}")).await?;
    let items: Vec<Value> = versions
        .iter()
        .map(|version| context! { version => version.version, when => time_and_day(version.changed_at), by => version.changed_by, rows => snapshot_rows(&version.snapshot) })
        .collect();
    let title = match kind {
        VersionKind::Guide => format!("Earlier versions of \u{2018}{}\u{2019}", subject.heading),
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
