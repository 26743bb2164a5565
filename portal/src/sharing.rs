//! "Who can see my information" and "Who has looked at my record": the person's own view of
//! their grants (in plain language, revocable at once) and of the access log.

use std::collections::{BTreeSet, HashMap};

use carefront_shared::consent::{self, Action, Actor, Basis, Category, Decision, Grant, GrantState, Grantee, Resource};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{AuditEvent, Person, Role};
use carefront_shared::invitation;
use carefront_shared::random::new_id;
use carefront_shared::receipt;
use carefront_shared::store::GrantUpdate;
use chrono::{DateTime, NaiveDate, Utc};
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
    let receipts: Vec<_> = context
        .store
        .receipts_for_subject(&person.id)
        .await?
        .into_iter()
        .map(|receipt| {
            let issued = DateTime::from_timestamp(receipt.body.consent_timestamp, 0).map(day).unwrap_or_default();
            let what = receipt.body.services.first().map(|service| service.service.clone()).unwrap_or_default();
            context! { id => receipt.body.consent_receipt_id, issued, what, event => receipt.body.event }
        })
        .collect();
    page_with_status(context, visit, status, "access.html", context! { current => "access", live, ended, error, notice, receipts })
}

/// The sentences of the person's own grants that end within the notice period, for their home
/// page ("Sam Okafor can see your medicines until 3 December 2026.").
pub async fn ending_soon(context: &RequestContext<'_>, person: &Person) -> Result<Vec<String>, PortalError> {
    if person.role != Role::ServiceUser {
        return Ok(Vec::new());
    }
    let mut sentences = Vec::new();
    for grant in context.store.grants_for_subject(&person.id).await? {
        if grant.state(context.now) == GrantState::Active && crate::care::ends_soon(grant.ends_at, context.now) {
            sentences.push(describe(&grant, &grantee_name(context, &grant.grantee).await?, context.now).sentence);
        }
    }
    Ok(sentences)
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
        GrantUpdate::Updated(version) => {
            let name = grantee_name(context, &grant.grantee).await?;
            keep_receipt(context, person, &Grant { version, ..revoked }, &name, "revoked").await?;
            audit_grant_change(context, person, "grant.revoked", &grant.id, format!("Stopped {name}'s access.")).await?;
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

/// Issues, signs and keeps the consent receipt for a grant change; returns its id.
async fn keep_receipt(context: &RequestContext<'_>, person: &Person, grant: &Grant, grantee_name: &str, event: &str) -> Result<String, PortalError> {
    let controller = context.store.receipt_controller().await?.ok_or_else(|| PortalError::Internal("no council to name on consent receipts".into()))?;
    let receipt = receipt::issue(&context.config.session_key, &controller, grant, grantee_name, event, new_id(context.random), context.now);
    context.store.insert_receipt(&person.id, &receipt, context.now).await?;
    Ok(receipt.body.consent_receipt_id)
}

/// Appends a consent change the person made to their own record to the audit log.
async fn audit_grant_change(context: &RequestContext<'_>, person: &Person, action: &str, grant_id: &str, detail: String) -> Result<(), PortalError> {
    let event = AuditEvent {
        id: new_id(context.random),
        at: context.now,
        actor_id: Some(person.id.clone()),
        acting_for: None,
        subject_id: Some(person.id.clone()),
        action: action.to_owned(),
        category: None,
        basis: Some(format!("grant:{grant_id}")),
        detail,
    };
    Ok(context.store.append_audit(&event).await?)
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
            return page_with_status(
                context,
                visit,
                StatusCode::BAD_REQUEST,
                "access_log.html",
                context! { current => "access-log", lines => Vec::<LogLine>::new(), people => Vec::<minijinja::Value>::new(), error },
            );
        }
    };
    let lines: Vec<LogLine> = events
        .iter()
        .filter(|event| who.is_none() || event.actor_id == who)
        .filter(|event| from.is_none_or(|from| event.at.date_naive() >= from) && to.is_none_or(|to| event.at.date_naive() <= to))
        .map(|event| LogLine {
            when: event.at.format("%-d %B %Y at %H:%M").to_string(),
            who: event.actor_id.as_ref().and_then(|id| names.get(id)).cloned().unwrap_or_else(|| "carefront".to_owned()),
            what: describe_event(event),
        })
        .collect();
    let mut people: Vec<(String, String)> = names.into_iter().collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let people: Vec<_> = people.into_iter().map(|(id, name)| context! { selected => who.as_deref() == Some(id.as_str()), id, name }).collect();
    let (from, to) = (from.map(|date| date.to_string()), to.map(|date| date.to_string()));
    let filtered = who.is_some() || from.is_some() || to.is_some();
    page_with_status(context, visit, StatusCode::OK, "access_log.html", context! { current => "access-log", lines, people, filtered, from, to })
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
        "grant.created" => event.detail.replace("Gave access: ", "gave access: ").trim_end_matches('.').to_owned(),
        "session.reauthenticated" => "confirmed it was them with a passkey".into(),
        "session.ended_elsewhere" => "signed out another device".into(),
        _ => event.detail.clone(),
    }
}

/// The "add someone" form as typed, shown again with its errors.
#[derive(Debug, Default, Serialize)]
struct AddForm {
    name: String,
    categories: Vec<String>,
    contribute: bool,
    day: String,
    month: String,
    year: String,
    purpose: String,
}

impl AddForm {
    fn parse(request: &Request) -> Result<AddForm, PortalError> {
        let fields: Vec<(String, String)> = web::form(request)?;
        let mut form = AddForm::default();
        for (key, value) in fields {
            match key.as_str() {
                "name" => form.name = value.trim().to_owned(),
                "categories" => form.categories.push(value),
                "contribute" => form.contribute = value == "yes",
                "ends-day" => form.day = value.trim().to_owned(),
                "ends-month" => form.month = value.trim().to_owned(),
                "ends-year" => form.year = value.trim().to_owned(),
                "purpose" => form.purpose = value.trim().to_owned(),
                _ => {}
            }
        }
        Ok(form)
    }
}

#[derive(Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

/// The categories someone may be given, in the form's order, with their labels.
fn category_choices() -> Vec<minijinja::Value> {
    Category::ALL.into_iter().map(|category| context! { value => category.as_str(), label => category_words(category) }).collect()
}

/// GET /access/add: the form, once the person has recently proved themselves with a passkey.
pub async fn add_page(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let signed_in = visit.signed_in.as_ref().ok_or(PortalError::SignInRequired)?;
    guarded_grants(context, &signed_in.person).await?;
    if !signed_in.recently_verified {
        return page_with_status(context, visit, StatusCode::OK, "confirm_identity.html", context! { current => "access" });
    }
    let form = AddForm::default();
    page_with_status(context, visit, StatusCode::OK, "add_access.html", context! { current => "access", form, choices => category_choices() })
}

/// POST /access/add: records the grant and a new representative, and shows the one-time
/// invitation the person gives them.
pub async fn add(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let signed_in = visit.signed_in.as_ref().ok_or(PortalError::SignInRequired)?;
    let person = &signed_in.person;
    guarded_grants(context, person).await?;
    if !signed_in.recently_verified {
        return Ok(web::redirect("/access/add"));
    }
    let form = AddForm::parse(request)?;
    let mut errors = Vec::new();
    if form.name.is_empty() || form.name.chars().count() > 80 || form.name.chars().any(char::is_control) {
        errors.push(FieldError { field: "name", message: "Enter their name, up to 80 characters".into() });
    }
    let categories: Option<BTreeSet<Category>> = form.categories.iter().map(|name| Category::parse(name)).collect();
    let categories = match categories {
        Some(categories) if !categories.is_empty() => categories,
        Some(_) => {
            errors.push(FieldError { field: "categories", message: "Choose at least one kind of information".into() });
            BTreeSet::new()
        }
        None => return Err(PortalError::BadRequest("unknown category".into())),
    };
    let ends = match (form.day.parse::<u32>(), form.month.parse::<u32>(), form.year.parse::<i32>()) {
        (Ok(day), Ok(month), Ok(year)) => NaiveDate::from_ymd_opt(year, month, day).and_then(|date| date.and_hms_opt(23, 59, 59)).map(|time| time.and_utc()),
        _ => None,
    };
    match ends {
        None => errors.push(FieldError { field: "ends-day", message: "Enter the date their access ends, for example 1 3 2027".into() }),
        Some(ends) if ends <= context.now => errors.push(FieldError { field: "ends-day", message: "The date their access ends must be in the future".into() }),
        Some(_) => {}
    }
    if form.purpose.is_empty() || form.purpose.chars().count() > 200 {
        errors.push(FieldError { field: "purpose", message: "Say why they need to see it, up to 200 characters".into() });
    }
    if !errors.is_empty() {
        return page_with_status(
            context,
            visit,
            StatusCode::BAD_REQUEST,
            "add_access.html",
            context! { current => "access", form, errors, choices => category_choices() },
        );
    }
    let representative = Person {
        id: new_id(context.random),
        role: Role::Representative,
        display_name: form.name.clone(),
        organisation_id: None,
        webauthn_handle: carefront_shared::random::new_uuid(context.random),
        created_at: context.now,
    };
    let mut actions = BTreeSet::from([Action::View]);
    if form.contribute {
        actions.insert(Action::Contribute);
    }
    let grant = Grant {
        id: new_id(context.random),
        version: 1,
        subject_id: person.id.clone(),
        grantee: Grantee::Person(representative.id.clone()),
        categories,
        actions,
        act_for: false,
        purpose: form.purpose.clone(),
        starts_at: context.now,
        ends_at: ends,
        basis: Basis::Consent,
        evidence: None,
        recorded_by: person.id.clone(),
        revoked_at: None,
    };
    grant.validate(context.now).map_err(|problem| PortalError::BadRequest(problem.to_string()))?;
    context.store.insert_person(&representative).await?;
    context.store.insert_grant(&grant, context.now, None).await?;
    let (invitation, code) = invitation::issue(&representative.id, Some(&person.id), context.now, invitation::DEFAULT_LIFETIME, context.random);
    context.store.insert_invitation(&invitation).await?;
    let sentence = describe(&grant, &representative.display_name, context.now).sentence;
    audit_grant_change(context, person, "grant.created", &grant.id, format!("Gave access: {sentence}")).await?;
    let receipt_id = keep_receipt(context, person, &grant, &representative.display_name, "granted").await?;
    let link = format!("{}invitation?code={code}", context.config.origin);
    let expires = day(invitation.expires_at);
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "access_added.html",
        context! { current => "access", sentence, code => code.to_string(), link, expires, name => form.name, receipt_id },
    )
}

/// GET /receipts/{id} (a page to print) and /receipts/{id}.json (the signed receipt to keep).
pub async fn receipt_page(context: &RequestContext<'_>, visit: &Visit, name: &str) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    guarded_grants(context, person).await?;
    let (id, as_json) = match name.strip_suffix(".json") {
        Some(id) => (id, true),
        None => (name, false),
    };
    let receipt = context.store.receipt(&person.id, id).await?.ok_or(PortalError::NotFound)?;
    if as_json {
        let mut response = web::json(StatusCode::OK, &receipt)?;
        if let Ok(value) = http::HeaderValue::from_str(&format!("attachment; filename=\"carefront-consent-receipt-{id}.json\"")) {
            response.headers_mut().insert(http::header::CONTENT_DISPOSITION, value);
        }
        return Ok(response);
    }
    let issued = DateTime::from_timestamp(receipt.body.consent_timestamp, 0).map(|at| at.format("%-d %B %Y at %H:%M UTC").to_string()).unwrap_or_default();
    page_with_status(context, visit, StatusCode::OK, "receipt.html", context! { current => "access", receipt, issued, id })
}
