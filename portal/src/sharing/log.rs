//! "Who has looked at my record": the person's access log in plain language, newest first,
//! filterable by who and when; also shown to a representative granted the access log category.

use std::collections::{BTreeSet, HashMap};

use carefront_shared::consent::{self, Action, Allowed, Category, Decision, Resource};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::AuditEvent;
use chrono::NaiveDate;
use http::StatusCode;
use minijinja::context;
use serde::Serialize;

use super::actor_of;
use super::words::{Whose, retold};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

#[derive(Serialize)]
struct LogLine {
    when: String,
    who: String,
    what: String,
}

/// GET /access-log (the signed-in person's own) and /people/{id}/access-log (someone else's, for
/// a representative granted the access log category: acting for the person does not by itself
/// open it, as the issue says representatives see it only when granted that category).
pub async fn access_log(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: Option<&str>) -> Result<Response, PortalError> {
    let viewer = visit.require_person()?;
    let subject = match subject_id {
        Some(id) if id != viewer.id => context.store.person(id).await?.ok_or(PortalError::NotFound)?,
        _ => viewer.clone(),
    };
    let grants = context.store.grants_for_subject(&subject.id).await?;
    let allowed = match consent::decide(&actor_of(viewer), &subject.id, Action::View, Resource::Category(Category::AccessLog), &grants, context.now) {
        Decision::Allow(allowed) => allowed,
        Decision::Deny(_) => return Err(PortalError::NotFound),
    };
    let own = allowed == Allowed::OwnRecord;
    let whose = if own { Whose::You } else { Whose::Named(&subject.display_name) };
    let prefix = if own { String::new() } else { format!("/people/{}", subject.id) };
    let page = |status: StatusCode, extra: minijinja::Value| {
        let base = context! { current => "access-log", own, prefix => prefix.clone(), subject_name => subject.display_name.clone() };
        page_with_status(context, visit, status, "access_log.html", minijinja::value::merge_maps([base, extra]))
    };

    let events = context.store.audit_for_subject(&subject.id, 500).await?;
    let actor_ids: BTreeSet<&String> = events.iter().filter_map(|event| event.actor_id.as_ref()).collect();
    let mut names: HashMap<String, String> = HashMap::new();
    for id in actor_ids {
        let name = if *id == viewer.id {
            "You".to_owned()
        } else if *id == subject.id {
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
        };
        names.insert(id.clone(), name);
    }
    let who = web::query_param(request, "who").filter(|who| names.contains_key(who));
    let date = |name: &str| -> Result<Option<NaiveDate>, ()> {
        match web::query_param(request, name).filter(|text| !text.trim().is_empty()) {
            None => Ok(None),
            Some(text) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map(Some).map_err(|_| ()),
        }
    };
    let (from, to) = match (date("from"), date("to")) {
        (Ok(from), Ok(to)) => (from, to),
        _ => {
            let error = "Enter dates like 2026-11-21";
            return page(StatusCode::BAD_REQUEST, context! { lines => Vec::<LogLine>::new(), people => Vec::<minijinja::Value>::new(), error });
        }
    };
    let lines: Vec<LogLine> = events
        .iter()
        .filter(|event| who.is_none() || event.actor_id == who)
        .filter(|event| from.is_none_or(|from| event.at.date_naive() >= from) && to.is_none_or(|to| event.at.date_naive() <= to))
        .map(|event| LogLine {
            when: event.at.format("%-d %B %Y at %H:%M").to_string(),
            who: who_did_it(event, &names, &viewer.id, &subject.display_name),
            what: describe_event(event, whose),
        })
        .collect();
    if !own {
        // Reading someone's access log is itself a read of their care information.
        crate::care::audit_read(context, viewer, &subject.id, Category::AccessLog, &allowed, "Who has looked at the record was shown.").await?;
    }
    let mut people: Vec<(String, String)> = names.into_iter().collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let people: Vec<_> = people.into_iter().map(|(id, name)| context! { selected => who.as_deref() == Some(id.as_str()), id, name }).collect();
    let (from, to) = (from.map(|date| date.to_string()), to.map(|date| date.to_string()));
    let filtered = who.is_some() || from.is_some() || to.is_some();
    page(StatusCode::OK, context! { lines, people, filtered, from, to })
}

/// "Sam Okafor", or "Sam Okafor, acting for you" when they acted for the person.
fn who_did_it(event: &AuditEvent, names: &HashMap<String, String>, viewer_id: &str, subject_name: &str) -> String {
    let nobody = if event.action.starts_with("emergency.") { "A clinician with the emergency code" } else { "carefront" };
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
    let said = match event.action.as_str() {
        "care_plan.viewed" => "looked at the care plan".into(),
        "access_log.viewed" => "looked at who has looked at your record".into(),
        "grants.viewed" => "looked at who can see your information".into(),
        "receipt.viewed" => "looked at a consent receipt".into(),
        "invitation.accepted" => "used an invitation code to start creating a passkey".into(),
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

    use super::*;

    fn event(action: &str, detail: &str, acting_for: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: "e".into(),
            at: DateTime::UNIX_EPOCH,
            actor_id: Some("sam".into()),
            acting_for: acting_for.map(str::to_owned),
            subject_id: Some("margaret".into()),
            action: action.into(),
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
            "changed Ada's access: they can no longer see Margaret Okafor's visits and notes"
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
