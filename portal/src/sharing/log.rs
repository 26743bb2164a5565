//! "Who has looked at my record": the person's access log in plain language, newest first,
//! filterable by who and when; also shown to a representative granted the access log category.

use carefront_shared::store::prelude::*;
use std::collections::HashMap;

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::crypto::hash;
use carefront_shared::domain::{AuditEvent, Person};
use carefront_shared::store::AuditFilter;
use carefront_shared::store::record::check_visit_cursor;
use carefront_shared::uk_time;
use chrono::NaiveDate;
use http::StatusCode;
use minijinja::context;
use serde::Serialize;

use super::actor_of;
use super::words::{Whose, retold};
use crate::care::audit_view;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

#[derive(Serialize)]
struct LogLine {
    /// The UK time ("8:30am"), or the span of times a summary line covers.
    time: String,
    who: String,
    what: String,
    #[serde(skip)]
    date: NaiveDate,
}

/// One UK day of the log, headed by its date.
#[derive(Serialize)]
struct LogDay {
    heading: String,
    lines: Vec<LogLine>,
}

/// A problem with one of the date filter's boxes, shown beside it and in the summary.
#[derive(Debug, Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

/// A date typed into a GOV.UK date input, box by box, shown again as typed.
#[derive(Debug, Default, Serialize)]
struct DateBoxes {
    day: String,
    month: String,
    year: String,
}

impl DateBoxes {
    fn read(request: &Request, prefix: &str) -> DateBoxes {
        let part = |name: &str| web::query_param(request, &format!("{prefix}-{name}")).map(|text| text.trim().to_owned()).unwrap_or_default();
        DateBoxes { day: part("day"), month: part("month"), year: part("year") }
    }

    fn is_empty(&self) -> bool {
        self.day.is_empty() && self.month.is_empty() && self.year.is_empty()
    }

    /// The date, nothing if every box is empty, or what is wrong in words naming the field
    /// (`label`: "The date from").
    fn date(&self, label: &str) -> Result<Option<NaiveDate>, String> {
        if self.is_empty() {
            return Ok(None);
        }
        let missing: Vec<&str> = [("day", &self.day), ("month", &self.month), ("year", &self.year)]
            .into_iter()
            .filter(|(_, value)| value.is_empty())
            .map(|(name, _)| name)
            .collect();
        if !missing.is_empty() {
            return Err(format!("{label} must include a {}", missing.join(" and a ")));
        }
        let (Ok(day), Ok(month), Ok(year)) = (self.day.parse::<u32>(), self.month.parse::<u32>(), self.year.parse::<i32>()) else {
            return Err(format!("{label} must be a real date, for example 1 11 2026"));
        };
        if !(2000..=9999).contains(&year) {
            return Err(format!("{label} must have a year of 4 numbers, for example 2026"));
        }
        NaiveDate::from_ymd_opt(year, month, day).map(Some).ok_or_else(|| format!("{label} must be a real date, for example 1 11 2026"))
    }

    /// The boxes as query parameters, for the links to other pages.
    fn query(&self, prefix: &str) -> Vec<(String, String)> {
        if self.is_empty() {
            return Vec::new();
        }
        vec![(format!("{prefix}-day"), self.day.clone()), (format!("{prefix}-month"), self.month.clone()), (format!("{prefix}-year"), self.year.clone())]
    }
}

/// GET /access-log (the signed-in person's own) and /people/{id}/access-log (someone else's, for
/// a representative granted the access log category: acting for the person does not by itself
/// open it, as the issue says representatives see it only when granted that category).
///
/// Other people's looks come first: the reader's own are left out unless they ask for them
/// ("Show my own looks"), or choose themselves in "Show". Entries are grouped by UK day, 50 to a
/// page, and everyone is named (a system by its organisation, never by its key).
pub async fn access_log(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: Option<&str>) -> Result<Response, PortalError> {
    let viewer = visit.require_person()?;
    let subject = match subject_id {
        Some(id) if id != viewer.id => context.store.person(id).await?.ok_or(PortalError::NotFound)?,
        _ => viewer.clone(),
    };
    let grants = context.store.grants_for_subject(&subject.id).await?;
    let permit = Permit::ask(&actor_of(viewer), &subject.id, Action::View, Category::AccessLog, &grants, context.now).map_err(|_| PortalError::NotFound)?;
    let own = permit.is_own_record();
    let whose = if own { Whose::You } else { Whose::Named(&subject.display_name) };
    let prefix = if own { String::new() } else { format!("/people/{}", subject.id) };

    let mut names: HashMap<String, String> = HashMap::new();
    for id in context.store.audit_actors(&permit).await?.into_iter().flatten() {
        let name = actor_name(context, &id, viewer, &subject).await?;
        names.insert(id, name);
    }
    let mut people: Vec<(String, String)> = names.iter().map(|(id, name)| (id.clone(), name.clone())).collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let chosen = web::query_param(request, "who").filter(|who| !who.is_empty());
    // The filter's value back to whom it means; a value no one has shows nothing.
    let who = chosen.as_ref().map(|chosen| names.keys().find(|id| filter_value(id) == *chosen).cloned().unwrap_or_else(|| chosen.clone()));
    let people: Vec<_> =
        people.into_iter().map(|(id, name)| context! { selected => who.as_deref() == Some(id.as_str()), id => filter_value(&id), name }).collect();
    let mine = web::query_param(request, "mine").as_deref() == Some("yes");
    let (from_boxes, to_boxes) = (DateBoxes::read(request, "from"), DateBoxes::read(request, "to"));
    let page = |status: StatusCode, extra: minijinja::Value| {
        let base = context! {
            current => "access-log",
            own,
            prefix => prefix.clone(),
            subject_name => subject.display_name.clone(),
            people => people.clone(),
            mine,
            from => &from_boxes,
            to => &to_boxes,
        };
        page_with_status(context, visit, status, "access_log.html", minijinja::value::merge_maps([base, extra]))
    };

    let mut errors = Vec::new();
    let from = from_boxes.date("The date from").unwrap_or_else(|message| {
        errors.push(FieldError { field: "from-day", message });
        None
    });
    let to = to_boxes.date("The date to").unwrap_or_else(|message| {
        errors.push(FieldError { field: "to-day", message });
        None
    });
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        errors.push(FieldError { field: "to-day", message: "The date to must be the same as or after the date from".into() });
    }
    if !errors.is_empty() {
        return page(StatusCode::BAD_REQUEST, context! { days => Vec::<LogDay>::new(), errors, first_page => true });
    }
    let cursor = web::query_param(request, "after").filter(|cursor| !cursor.is_empty());
    if let Some(cursor) = &cursor {
        check_visit_cursor(cursor).map_err(|_| PortalError::Unusable("That page of the record does not exist. Start again from the first page.".into()))?;
    }
    // Someone who never looked (or an id made up) shows nothing, never everything.
    let known = who.as_ref().is_none_or(|who| names.contains_key(who));
    let filter = AuditFilter {
        actor_id: who.clone(),
        // The days are UK days.
        from: from.map(uk_time::start_of),
        before: to.and_then(|to| to.succ_opt()).map(uk_time::start_of),
        // Choosing themselves in "Show" is asking for their own looks.
        except_actor: (!mine && who.as_deref() != Some(viewer.id.as_str())).then(|| viewer.id.clone()),
    };
    let (events, next) = if known {
        let page_of = context.store.audit_page(&permit, &filter, cursor.as_deref(), PER_PAGE).await?;
        (page_of.items, page_of.next)
    } else {
        (Vec::new(), None)
    };
    let days = by_day(summarised(&events, &names, &viewer.id, &subject.display_name, whose), uk_time::date(context.now));
    if !own {
        // Reading someone's access log is itself a read of their care information.
        audit_view(context, &permit, Category::AccessLog, "Who has looked at the record was shown.").await?;
    }
    let filtered = who.is_some() || from.is_some() || to.is_some();
    let mut query: Vec<(String, String)> = Vec::new();
    query.extend(who.as_deref().map(|who| ("who".to_owned(), filter_value(who))));
    if mine {
        query.push(("mine".into(), "yes".into()));
    }
    query.extend(from_boxes.query("from"));
    query.extend(to_boxes.query("to"));
    let link = |query: &[(String, String)]| {
        let encoded = serde_urlencoded::to_string(query).unwrap_or_default();
        if encoded.is_empty() { format!("{prefix}/access-log") } else { format!("{prefix}/access-log?{encoded}") }
    };
    let newest = link(&query);
    let next = next.map(|next| link(&[vec![("after".to_owned(), next)], query.clone()].concat()));
    let first_page = cursor.is_none();
    page(StatusCode::OK, context! { days, filtered, chosen => who.is_some(), next, first_page, newest, errors => Vec::<FieldError>::new() })
}

/// The lines under a heading for each UK day ("Today", "Yesterday", "Thursday 19 November 2026").
fn by_day(lines: Vec<LogLine>, today: NaiveDate) -> Vec<LogDay> {
    let mut days: Vec<LogDay> = Vec::new();
    let mut current: Option<NaiveDate> = None;
    for line in lines {
        if current != Some(line.date) {
            current = Some(line.date);
            let date = line.date.format("%A %-d %B %Y").to_string();
            let heading = if line.date == today {
                format!("Today, {date}")
            } else if today.pred_opt() == Some(line.date) {
                format!("Yesterday, {date}")
            } else {
                date
            };
            days.push(LogDay { heading, lines: Vec::new() });
        }
        if let Some(day) = days.last_mut() {
            day.lines.push(line);
        }
    }
    days
}

/// What the "Show" filter sends for someone: a person's id, or for a computer system a token
/// made from its key id, so the key id is never shown, not even in the address bar.
fn filter_value(id: &str) -> String {
    match id.strip_prefix("credential:") {
        Some(_) => format!("system-{}", hash(id).chars().take(16).collect::<String>()),
        None => id.to_owned(),
    }
}

/// How many entries a page of the access log shows.
const PER_PAGE: i64 = 50;

/// The name the viewer sees for whoever did something.
async fn actor_name(context: &RequestContext<'_>, id: &str, viewer: &Person, subject: &Person) -> Result<String, PortalError> {
    Ok(if id == viewer.id {
        "You".to_owned()
    } else if id == subject.id {
        subject.display_name.clone()
    } else if let Some(key_id) = id.strip_prefix("credential:") {
        // A provider's or the council's computer system, through the API.
        let organisation = match context.store.credential(key_id).await? {
            Some(credential) => context.store.organisation(&credential.organisation_id).await?.map(|organisation| organisation.name),
            None => None,
        };
        format!("{}'s computer system", organisation.unwrap_or_else(|| "An organisation".to_owned()))
    } else {
        context.store.person(id).await?.map_or_else(|| "Someone".to_owned(), |other| other.display_name)
    })
}

/// The page's lines: one per entry, except that a computer system's reads of the same thing on
/// the same day are told once, with how many there were (never dropped).
fn summarised(events: &[AuditEvent], names: &HashMap<String, String>, viewer_id: &str, subject_name: &str, whose: Whose<'_>) -> Vec<LogLine> {
    // Each line with the system, action and day it summarises (if a system's) and its count.
    type Summary = Option<(String, String, NaiveDate)>;
    let mut lines: Vec<(Summary, usize, LogLine, String)> = Vec::new();
    for event in events {
        let key = event
            .actor_id
            .as_ref()
            .filter(|id| id.starts_with("credential:"))
            .map(|id| (id.clone(), event.action.as_str().into_owned(), uk_time::date(event.at)));
        if let (Some(key), Some((Some(last), count, line, latest))) = (&key, lines.last_mut())
            && key == last
        {
            *count += 1;
            // Newest first: this entry is the earliest so far of the summary.
            line.time = format!("{} to {latest}", uk_time::time(event.at));
            line.what = format!("{} ({count} times that day)", describe_event(event, whose));
            continue;
        }
        let line = LogLine {
            time: uk_time::time(event.at),
            who: who_did_it(event, names, viewer_id, subject_name),
            what: describe_event(event, whose),
            date: uk_time::date(event.at),
        };
        lines.push((key, 1, line, uk_time::time(event.at)));
    }
    lines.into_iter().map(|(_, _, line, _)| line).collect()
}

/// "Sam Okafor", or "Sam Okafor, acting for you" when they acted for the person.
fn who_did_it(event: &AuditEvent, names: &HashMap<String, String>, viewer_id: &str, subject_name: &str) -> String {
    let nobody = if event.action.as_str().starts_with("emergency.") { "A clinician with the emergency code" } else { "carefront" };
    let actor = event.actor_id.as_ref().and_then(|id| names.get(id)).cloned().unwrap_or_else(|| nobody.to_owned());
    match &event.acting_for {
        Some(whom) if event.actor_id.as_ref() != Some(whom) => {
            let whom = if whom == viewer_id { "you" } else { subject_name };
            format!("{actor}, acting for {whom}")
        }
        _ => actor,
    }
}

/// What happened, in words for whoever reads the log (audit details are written to the person).
fn describe_event(event: &AuditEvent, whose: Whose<'_>) -> String {
    let said = match event.action.as_str().as_ref() {
        "care_plan.viewed" => "looked at the care plan".into(),
        "access_log.viewed" => "looked at who has looked at your record".into(),
        "grants.viewed" => "looked at who can see your information".into(),
        "receipt.viewed" => "looked at a consent receipt".into(),
        "invitation.accepted" => "used an invitation code to start creating a passkey".into(),
        "invitation.issued" => "sent an invitation to set up carefront".into(),
        "invitation.reissued" => "sent a new invitation to set up carefront (the old one no longer works)".into(),
        "invitation.cancelled" => "cancelled an invitation to set up carefront".into(),
        "passkey.registered" => "created a passkey".into(),
        "passkey.renamed" => "renamed a passkey".into(),
        "passkey.removed" => "removed a passkey".into(),
        "session.signed_in" => "signed in".into(),
        "session.signed_out" => "signed out".into(),
        "grant.revoked" => event.detail.trim_end_matches('.').replace("Stopped", "stopped"),
        "grant.created" => event.detail.replace("Gave access: ", "gave access: ").trim_end_matches('.').to_owned(),
        "grant.changed" => event.detail.replace("Changed ", "changed ").trim_end_matches('.').to_owned(),
        "session.reauthenticated" => "confirmed it was them with a passkey".into(),
        "session.ended_elsewhere" => "signed out another device".into(),
        "passkey.added" => "added a passkey".into(),
        "session.ended" => lowercase_first(event.detail.trim_end_matches('.')),
        // How the person is told, and the email addresses and mobile numbers they confirm.
        "notifications.choices_changed" | "contact.check_sent" | "contact.verified" | "contact.check_locked" => {
            lowercase_first(event.detail.trim_end_matches('.'))
        }
        // The council's own acts about the person, written as "The council …" in the log.
        "person.added" => "added you to carefront, with your date of birth, NHS number and contact details".into(),
        "person.details_viewed" => "looked at your details and who supports you, for the council".into(),
        "representative.recorded" | "provider.commissioned" => {
            event.detail.trim_end_matches('.').replacen("The council recorded", "recorded", 1).replacen("The council arranged", "arranged", 1)
        }
        _ => event.detail.clone(),
    };
    retold(&said, whose)
}

/// "Signed out everywhere" as it reads after a name: "signed out everywhere".
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use carefront_shared::access::AuditAction;

    use super::*;

    fn event(action: &str, detail: &str, acting_for: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: "e".into(),
            at: DateTime::UNIX_EPOCH,
            actor_id: Some("sam".into()),
            acting_for: acting_for.map(str::to_owned),
            subject_id: Some("margaret".into()),
            action: AuditAction::parse(action).unwrap_or(AuditAction::GrantChanged),
            category: None,
            basis: None,
            detail: detail.into(),
        }
    }

    #[test]
    fn every_consent_action_reads_in_plain_language_to_both_people() {
        let names = HashMap::from([("sam".to_owned(), "Sam Okafor".to_owned())]);
        let changed = event("grant.changed", "Changed Ada's access: they can no longer see your visits and notes.", Some("margaret"));
        assert_eq!(who_did_it(&changed, &names, "margaret", "Margaret Okafor"), "Sam Okafor, acting for you");
        assert_eq!(describe_event(&changed, Whose::You), "changed Ada's access: they can no longer see your visits and notes");
        let to_sam = HashMap::from([("sam".to_owned(), "You".to_owned())]);
        assert_eq!(who_did_it(&changed, &to_sam, "sam", "Margaret Okafor"), "You, acting for Margaret Okafor");
        assert_eq!(
            describe_event(&changed, Whose::Named("Margaret Okafor")),
            // Stored in an earlier version's words, retold in today's.
            "changed Ada's access: they can no longer see Margaret Okafor's visits and carers' notes"
        );
        for (action, expected) in [
            ("grants.viewed", "looked at who can see your information"),
            ("receipt.viewed", "looked at a consent receipt"),
            ("access_log.viewed", "looked at who has looked at your record"),
        ] {
            assert_eq!(describe_event(&event(action, "internal detail", Some("margaret")), Whose::You), expected);
        }
        let created = event("grant.created", "Gave access: Ada can see your medicines until 1 March 2027. They can also act for you.", None);
        assert_eq!(
            describe_event(&created, Whose::Named("Margaret")),
            "gave access: Ada can see Margaret's medicines until 1 March 2027. They can also act for Margaret"
        );
        assert_eq!(who_did_it(&created, &names, "margaret", "Margaret Okafor"), "Sam Okafor");
    }
}
