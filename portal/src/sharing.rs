//! "Who can see my information" and "Who has looked at my record": the person's own view of
//! their grants (in plain language, revocable at once) and of the access log.

use std::collections::HashMap;

use carefront_shared::consent::{self, Action, Actor, Basis, Category, Decision, Grant, GrantState, Grantee, Resource};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{AuditEvent, Person};
use carefront_shared::random::new_id;
use carefront_shared::store::GrantUpdate;
use chrono::{DateTime, Utc};
use http::StatusCode;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// How the person is told about a category.
fn category_words(category: Category) -> &'static str {
    match category {
        Category::CarePlan => "your care plan",
        Category::ServiceUserGuide => "your service user guide",
        Category::Medication => "your medicines",
        Category::VisitsAndNotes => "your visits and notes",
        Category::Contacts => "your contacts",
        Category::Documents => "your documents",
        Category::Preferences => "how you like to get information",
        Category::AccessLog => "who has looked at your record",
    }
}

/// "a, b and c".
fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn day(time: DateTime<Utc>) -> String {
    time.format("%-d %B %Y").to_string()
}

#[derive(Serialize)]
struct GrantView {
    id: String,
    version: i64,
    sentence: String,
    detail: String,
    revocable: bool,
}

/// Says a grant in plain language: "Sam Okafor can see your medicines until 1 March 2027."
fn describe(grant: &Grant, grantee_name: &str, now: DateTime<Utc>) -> GrantView {
    let categories: Vec<&str> = grant.categories.iter().map(|category| category_words(*category)).collect();
    let verb = if grant.actions.contains(&Action::Contribute) { "can see and comment on" } else { "can see" };
    let period = match (grant.state(now), grant.ends_at) {
        (GrantState::NotStarted, Some(ends)) => format!(" from {} until {}", day(grant.starts_at), day(ends)),
        (GrantState::NotStarted, None) => format!(" from {}", day(grant.starts_at)),
        (GrantState::Active, Some(ends)) => format!(" until {}", day(ends)),
        (GrantState::Expired, Some(ends)) => format!(" (ended {})", day(ends)),
        (GrantState::Revoked, _) => grant.revoked_at.map(|at| format!(" (you stopped this on {})", day(at))).unwrap_or_default(),
        _ => String::new(),
    };
    let verb = match grant.state(now) {
        GrantState::Active | GrantState::NotStarted => verb.to_owned(),
        _ => verb.replacen("can", "could", 1),
    };
    let sentence = format!("{grantee_name} {verb} {}{period}.", list(&categories));
    let mut detail = format!("Why: {}.", grant.purpose.trim_end_matches('.'));
    if grant.act_for {
        detail.push_str(" They can also act for you: change who can see your information, and your preferences.");
    }
    match grant.basis {
        Basis::StatutoryDuty => detail.push_str(
            " This is the council's legal duty under the Care Act 2014, to review your care and keep you safe. You cannot turn it off, but every look is recorded and shown to you below.",
        ),
        Basis::LastingPowerOfAttorney => detail.push_str(" This is because they hold a lasting power of attorney for your health and welfare."),
        Basis::CourtAppointedDeputy => detail.push_str(" This is because a court appointed them as your deputy."),
        Basis::BestInterests => detail.push_str(" This was decided in your best interests."),
        Basis::Consent => {}
    }
    let live = matches!(grant.state(now), GrantState::Active | GrantState::NotStarted);
    GrantView { id: grant.id.clone(), version: grant.version, sentence, detail, revocable: live && grant.basis != Basis::StatutoryDuty }
}

async fn grantee_name(context: &RequestContext<'_>, grantee: &Grantee) -> Result<String, PortalError> {
    Ok(match grantee {
        Grantee::Person(id) => context.store.person(id).await?.map_or_else(|| "Someone".to_owned(), |person| person.display_name),
        Grantee::Organisation(id) => context.store.organisation(id).await?.map_or_else(|| "An organisation".to_owned(), |organisation| organisation.name),
    })
}

fn actor(person: &Person) -> Actor {
    Actor { person_id: person.id.clone(), role: person.role, organisation_id: person.organisation_id.clone() }
}

/// GET /access: every grant about the signed-in person, live ones first.
pub async fn access_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let notice =
        web::query_param(request, "done").filter(|done| done == "stopped").map(|_| "Their access has stopped. They can no longer see your information.");
    render_access(context, visit, StatusCode::OK, None, notice).await
}

async fn render_access(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    error: Option<String>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let grants = guarded_grants(context, person).await?;
    let (mut live, mut ended) = (Vec::new(), Vec::new());
    for grant in &grants {
        let view = describe(grant, &grantee_name(context, &grant.grantee).await?, context.now);
        if matches!(grant.state(context.now), GrantState::Active | GrantState::NotStarted) { live.push(view) } else { ended.push(view) }
    }
    page_with_status(context, visit, status, "access.html", context! { current => "access", live, ended, error, notice })
}

/// The person's grants, if `decide` lets the visitor manage them (their own, or with act-for).
async fn guarded_grants(context: &RequestContext<'_>, person: &Person) -> Result<Vec<Grant>, PortalError> {
    let grants = context.store.grants_for_subject(&person.id).await?;
    match consent::decide(&actor(person), &person.id, Action::View, Resource::Grants, &grants, context.now) {
        Decision::Allow(_) => Ok(grants),
        Decision::Deny(_) => Err(PortalError::NotFound),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    version: i64,
}

/// POST /access/{id}/revoke: stops a grant at once; the grantee's next request is refused.
pub async fn revoke(context: &RequestContext<'_>, request: &Request, visit: &Visit, grant_id: &str) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let form: RevokeForm = web::form(request)?;
    let grants = guarded_grants(context, person).await?;
    let grant = grants.iter().find(|grant| grant.id == grant_id).ok_or(PortalError::NotFound)?;
    if grant.basis == Basis::StatutoryDuty {
        return render_access(context, visit, StatusCode::BAD_REQUEST, Some("The council's access for its legal duties cannot be turned off.".into()), None)
            .await;
    }
    if grant.revoked_at.is_some() {
        return Ok(web::redirect("/access?done=stopped"));
    }
    let revoked = Grant { version: form.version, revoked_at: Some(context.now), recorded_by: person.id.clone(), ..grant.clone() };
    match context.store.update_grant(&revoked, context.now, None).await? {
        GrantUpdate::Updated(_) => {
            let name = grantee_name(context, &grant.grantee).await?;
            context
                .store
                .append_audit(&AuditEvent {
                    id: new_id(context.random),
                    at: context.now,
                    actor_id: Some(person.id.clone()),
                    acting_for: None,
                    subject_id: Some(person.id.clone()),
                    action: "grant.revoked".into(),
                    category: None,
                    basis: Some(format!("grant:{}", grant.id)),
                    detail: format!("Stopped {name}'s access."),
                })
                .await?;
            Ok(web::redirect("/access?done=stopped"))
        }
        GrantUpdate::Conflict(current) => {
            let now_reads = match current {
                Some(current) => describe(&current, &grantee_name(context, &current.grantee).await?, context.now).sentence,
                None => "This access no longer exists.".to_owned(),
            };
            let message =
                format!("This access was changed after you opened the page, so nothing was changed. It now reads: {now_reads} Check it below and try again.");
            render_access(context, visit, StatusCode::CONFLICT, Some(message), None).await
        }
    }
}

#[derive(Serialize)]
struct LogLine {
    when: String,
    who: String,
    what: String,
}

/// GET /access-log: "Who has looked at my record", newest first, filterable by who.
pub async fn access_log(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let grants = context.store.grants_for_subject(&person.id).await?;
    if !consent::decide(&actor(person), &person.id, Action::View, Resource::Category(Category::AccessLog), &grants, context.now).is_allowed() {
        return Err(PortalError::NotFound);
    }
    let events = context.store.audit_for_subject(&person.id, 500).await?;
    let actor_ids: std::collections::BTreeSet<&String> = events.iter().filter_map(|event| event.actor_id.as_ref()).collect();
    let mut names: HashMap<String, String> = HashMap::new();
    for id in actor_ids {
        let name =
            if *id == person.id { "You".to_owned() } else { context.store.person(id).await?.map_or_else(|| "Someone".to_owned(), |other| other.display_name) };
        names.insert(id.clone(), name);
    }
    let who = web::query_param(request, "who").filter(|who| names.contains_key(who));
    let lines: Vec<LogLine> = events
        .iter()
        .filter(|event| who.is_none() || event.actor_id == who)
        .map(|event| LogLine {
            when: event.at.format("%-d %B %Y at %H:%M").to_string(),
            who: event.actor_id.as_ref().and_then(|id| names.get(id)).cloned().unwrap_or_else(|| "carefront".to_owned()),
            what: describe_event(event),
        })
        .collect();
    let mut people: Vec<(String, String)> = names.into_iter().collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let people: Vec<_> = people.into_iter().map(|(id, name)| context! { selected => who.as_deref() == Some(id.as_str()), id, name }).collect();
    page_with_status(context, visit, StatusCode::OK, "access_log.html", context! { current => "access-log", lines, people, filtered => who.is_some() })
}

fn describe_event(event: &AuditEvent) -> String {
    match event.action.as_str() {
        "care_plan.viewed" => "looked at the care plan".into(),
        "invitation.accepted" => "used an invitation code to start creating a passkey".into(),
        "passkey.registered" => "created a passkey".into(),
        "passkey.renamed" => "renamed a passkey".into(),
        "passkey.removed" => "removed a passkey".into(),
        "session.signed_in" => "signed in".into(),
        "session.signed_out" => "signed out".into(),
        "grant.revoked" => event.detail.trim_end_matches('.').replace("Stopped", "stopped"),
        _ => event.detail.clone(),
    }
}
