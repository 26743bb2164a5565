//! "Who can see my information" and "Who has looked at my record": a person's grants (in plain
//! language, changeable and revocable) and their access log, for the person themselves at
//! `/access…`, and for someone holding the act-for power for them at `/people/{id}/access…`.
//! Every request resolves its [`Subject`] through a [`Power`] first; whoever may not
//! manage the person's grants gets "not found".

mod add;
mod edit;
mod handover;
mod log;
mod words;

use carefront_shared::access::{AuditAction, Permit, Power};
use carefront_shared::consent::{Action, Actor, Basis, Category, Grant, GrantState, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::domain::{AuditEvent, Person, Role};
use carefront_shared::notices;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::receipt::{self, ConsentReceipt};
use carefront_shared::store::Store as _;
use carefront_shared::uk_time;
use chrono::{DateTime, Utc};
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;

pub use add::{add, add_page};
pub use edit::{edit, edit_page};
pub use handover::{cancel as cancel_invitation, reissue as reissue_invitation};
pub use log::access_log;
use words::{GrantView, Whose, day};

use crate::enrolment::Confirmation;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// Whose grants a request is about, who is asking, and on what footing.
pub struct Subject {
    /// The person the grants are about.
    person: Person,
    /// Their grants in any state, as read for this request.
    grants: Vec<Grant>,
    /// Who is asking: the person themselves, or someone acting for them.
    actor: Person,
    /// The actor's leave to manage the person's grants: their own, or an act-for power.
    power: Power,
    /// The request's clock, for whether grants are live.
    now: DateTime<Utc>,
}

impl Subject {
    /// Whether the actor is acting for someone else.
    fn acting(&self) -> bool {
        self.power.acting_for().is_some()
    }

    /// Who the pages talk about: "your", or the person by name.
    fn whose(&self) -> Whose<'_> {
        if self.acting() { Whose::Named(&self.person.display_name) } else { Whose::You }
    }

    /// Put before `/access`, `/receipts` and `/access-log` in links: empty for the person's own
    /// pages, `/people/{id}` for someone acting for them.
    fn prefix(&self) -> String {
        if self.acting() { format!("/people/{}", self.person.id) } else { String::new() }
    }

    /// The person acted for, if the actor is acting for someone (stored with every change).
    fn acting_for(&self) -> Option<&str> {
        self.power.acting_for()
    }

    /// The audit event for looking at or changing the person's grants, under the actor's power.
    fn event(&self, context: &RequestContext<'_>, action: AuditAction, grant_id: Option<&str>, detail: String) -> AuditEvent {
        self.power.event(new_id(context.random), action, grant_id, detail)
    }

    /// One of the person's grants; a forged id or another person's grant does not exist here.
    fn grant(&self, id: &str) -> Result<&Grant, PortalError> {
        self.grants.iter().find(|grant| grant.id == id).ok_or(PortalError::NotFound)
    }

    /// Whether the grant is to the actor themselves.
    fn is_actors_own(&self, grant: &Grant) -> bool {
        grant.grantee == Grantee::Person(self.actor.id.clone())
    }

    /// What every access template gets to say whose information this is and where links go.
    fn page_context(&self) -> minijinja::Value {
        context! { prefix => self.prefix(), own => !self.acting(), subject_name => self.person.display_name.clone() }
    }

    /// Why the actor may not change or stop this grant, in words for them; `None` if they may.
    /// `stopping` is true for revoking (allowed for more grants than changing is).
    fn refusal(&self, grant: &Grant, stopping: bool) -> Option<String> {
        let name = &self.person.display_name;
        if grant.basis == Basis::StatutoryDuty {
            return Some("The council's access for its legal duties cannot be turned off or changed.".into());
        }
        if self.acting() && grant.basis != Basis::Consent {
            return Some(format!("Access given on a legal basis, such as a lasting power of attorney, can only be changed by {name} or the council."));
        }
        // The act-for power is personal: someone acting for the person manages other people's
        // access, but not that of anyone else the person chose to act for them. They may step
        // back from (or narrow) their own.
        if self.acting() && grant.act_for && !self.is_actors_own(grant) {
            return Some(format!("Only {name} can change the access of someone else who acts for them."));
        }
        if !stopping && grant.basis != Basis::Consent {
            return Some("This access was recorded by the council on a legal basis. You can stop it here, but to change it, contact the council.".into());
        }
        None
    }

    /// Why an ended grant cannot be changed; `None` while it is live or yet to start.
    fn ended(&self, grant: &Grant) -> Option<String> {
        if matches!(grant.state(self.now), GrantState::Active | GrantState::NotStarted) {
            return None;
        }
        let whose = match self.whose() {
            Whose::You => "your".to_owned(),
            Whose::Named(name) => format!("{name}'s"),
        };
        Some(format!("This access has already ended, so it cannot be changed. To let them see {whose} information again, add them again."))
    }
}

/// Finds out whose grants the request is about (`subject_id`: `None` for the signed-in person's
/// own) and whether the visitor may manage them: their own record, or an act-for power that
/// `decide` finds live. Anything else is "not found".
async fn resolve(context: &RequestContext<'_>, visit: &Visit, subject_id: Option<&str>, action: Action) -> Result<Subject, PortalError> {
    let actor = visit.require_person()?.clone();
    let person = match subject_id {
        Some(id) if id != actor.id => context.store.person(id).await?.ok_or(PortalError::NotFound)?,
        _ => actor.clone(),
    };
    let grants = context.store.grants_for_subject(&person.id).await?;
    let power = Power::ask(&actor_of(&actor), &person.id, action, &grants, context.now).map_err(|_| PortalError::NotFound)?;
    Ok(Subject { person, grants, actor, power, now: context.now })
}

/// Whether `person` may manage `subject_id`'s grants (the link on the person page).
pub async fn may_manage(context: &RequestContext<'_>, person: &Person, subject_id: &str) -> Result<bool, PortalError> {
    let grants = context.store.grants_for_subject(subject_id).await?;
    Ok(Power::ask(&actor_of(person), subject_id, Action::View, &grants, context.now).is_ok())
}

fn actor_of(person: &Person) -> Actor {
    Actor { person_id: person.id.clone(), role: person.role, organisation_id: person.organisation_id.clone() }
}

/// The name of whom a grant is to: a person's name, or an organisation's.
pub(crate) async fn grantee_name(context: &RequestContext<'_>, grantee: &Grantee) -> Result<String, PortalError> {
    Ok(match grantee {
        Grantee::Person(id) => context.store.person(id).await?.map_or_else(|| "Someone".to_owned(), |person| person.display_name),
        Grantee::Organisation(id) => context.store.organisation(id).await?.map_or_else(|| "An organisation".to_owned(), |organisation| organisation.name),
    })
}

/// A grant in plain words about the person by name, for council staff, as a short line and a
/// list ("Brookside Home Care can see and comment on these parts of Margaret Okafor's record:").
pub(crate) fn plain_lead_and_items(grant: &Grant, grantee_name: &str, subject_name: &str, now: DateTime<Utc>) -> (String, Vec<String>) {
    words::lead_and_items(grant, grantee_name, Whose::Named(subject_name), now)
}

/// Whether a grant is a provider's, commissioned by the council on its statutory duty (not the
/// council's own statutory access): the person is told so in different words.
async fn is_commissioned(context: &RequestContext<'_>, grant: &Grant) -> Result<bool, PortalError> {
    Ok(match &grant.grantee {
        Grantee::Organisation(id) if grant.basis == Basis::StatutoryDuty => {
            context.store.organisation(id).await?.is_some_and(|organisation| organisation.kind == carefront_shared::domain::OrganisationKind::Provider)
        }
        _ => false,
    })
}

/// Every live grant about the person in plain language (for the paper copy), told to the person.
pub async fn live_sentences(context: &RequestContext<'_>, subject_id: &str) -> Result<Vec<String>, PortalError> {
    let mut sentences = Vec::new();
    for grant in context.store.grants_for_subject(subject_id).await? {
        if matches!(grant.state(context.now), GrantState::Active | GrantState::NotStarted) {
            sentences.push(words::sentence(&grant, &grantee_name(context, &grant.grantee).await?, words::Whose::You, context.now));
        }
    }
    Ok(sentences)
}

/// A 303 to a path built for this request (the shared helper takes only fixed paths).
fn see_other(location: &str) -> Response {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let value = http::HeaderValue::from_str(location).unwrap_or_else(|_| http::HeaderValue::from_static("/home"));
    response.headers_mut().insert(http::header::LOCATION, value);
    response
}

/// GET /access and /people/{id}/access: every grant about the person, live ones first.
pub async fn access_page(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: Option<&str>) -> Result<Response, PortalError> {
    let subject = resolve(context, visit, subject_id, Action::View).await?;
    let notice = match web::query_param(request, "done").as_deref() {
        Some("stopped") => Some(stopped_notice(context, &subject, web::query_param(request, "grant").as_deref()).await?),
        Some("changed") => Some("You changed their access.".to_owned()),
        Some("unchanged") => Some("Nothing was changed.".to_owned()),
        Some("invitation-cancelled") => Some(cancelled_notice(context, &subject, web::query_param(request, "person").as_deref()).await?),
        _ => None,
    };
    if subject.acting() {
        context.store.append_audit(&subject.event(context, AuditAction::GrantsViewed, None, "Looked at who can see the information.".into())).await?;
    }
    render_access(context, visit, &subject, StatusCode::OK, None, notice.as_deref()).await
}

/// "You cancelled Sam Okafor's invitation.", named only if they hold one of the person's
/// grants (never a name from the address).
async fn cancelled_notice(context: &RequestContext<'_>, subject: &Subject, person_id: Option<&str>) -> Result<String, PortalError> {
    let grantee = person_id.and_then(|id| subject.grants.iter().find(|grant| grant.grantee == Grantee::Person(id.to_owned()))).map(|grant| &grant.grantee);
    Ok(match grantee {
        Some(grantee) => format!("You cancelled {}'s invitation. Its code no longer works.", grantee_name(context, grantee).await?),
        None => "You cancelled the invitation. Its code no longer works.".to_owned(),
    })
}

/// "Sam Okafor's access has stopped.": the grant is named by id (never a name from the address,
/// which anyone could write), and only if it is one of the person's stopped grants.
async fn stopped_notice(context: &RequestContext<'_>, subject: &Subject, grant_id: Option<&str>) -> Result<String, PortalError> {
    let stopped = grant_id.and_then(|id| subject.grants.iter().find(|grant| grant.id == id && grant.revoked_at.is_some()));
    let whose = match subject.whose() {
        Whose::You => "your".to_owned(),
        Whose::Named(name) => format!("{name}'s"),
    };
    Ok(match stopped {
        Some(grant) => format!("{}'s access has stopped. They can no longer see {whose} information.", grantee_name(context, &grant.grantee).await?),
        None => format!("The access has stopped. They can no longer see {whose} information."),
    })
}

async fn render_access(
    context: &RequestContext<'_>,
    visit: &Visit,
    subject: &Subject,
    status: StatusCode,
    error: Option<String>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let (mut live, mut ended) = (Vec::new(), Vec::new());
    for grant in &subject.grants {
        let view = view_of(context, subject, grant).await?;
        if matches!(grant.state(context.now), GrantState::Active | GrantState::NotStarted) { live.push(view) } else { ended.push(view) }
    }
    let receipts: Vec<_> = context
        .store
        .receipts_for_subject(&subject.person.id)
        .await?
        .into_iter()
        .map(|receipt| {
            let issued = DateTime::from_timestamp(receipt.body.consent_timestamp, 0).map(day).unwrap_or_default();
            let what = receipt.body.services.first().map(|service| service.service.clone()).unwrap_or_default();
            context! { id => receipt.body.consent_receipt_id, issued, what, event => receipt.body.event }
        })
        .collect();
    // Every button and link on the page is named by whom it is about; someone who holds two
    // grants is told apart by number, so no two controls share a name.
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for view in &mut live {
        let count = seen.entry(view.name.clone()).or_default();
        *count += 1;
        if *count > 1 {
            view.name = format!("{} ({})", view.name, count);
        }
    }
    let log_allowed = Permit::ask(&actor_of(&subject.actor), &subject.person.id, Action::View, Category::AccessLog, &subject.grants, context.now).is_ok();
    let invitations = handover::rows(context, subject).await?;
    let extra = context! { current => "access", live, ended, error, notice, receipts, log_allowed, invitations };
    page_with_status(context, visit, status, "access.html", minijinja::value::merge_maps([subject.page_context(), extra]))
}

async fn view_of(context: &RequestContext<'_>, subject: &Subject, grant: &Grant) -> Result<GrantView, PortalError> {
    let name = grantee_name(context, &grant.grantee).await?;
    let live = matches!(grant.state(context.now), GrantState::Active | GrantState::NotStarted);
    let (lead, items) = words::lead_and_items(grant, &name, subject.whose(), context.now);
    Ok(GrantView {
        lead,
        items,
        name: name.clone(),
        id: grant.id.clone(),
        version: grant.version,
        sentence: words::sentence(grant, &name, subject.whose(), context.now),
        detail: if is_commissioned(context, grant).await? { words::commissioned_detail(grant, subject.whose()) } else { words::detail(grant, subject.whose()) },
        revocable: live && subject.refusal(grant, true).is_none(),
        editable: live && subject.refusal(grant, false).is_none(),
    })
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
            sentences.push(words::sentence(&grant, &grantee_name(context, &grant.grantee).await?, Whose::You, context.now));
        }
    }
    Ok(sentences)
}

#[derive(Deserialize)]
struct RevokeForm {
    version: i64,
}

/// GET /access/{id}/revoke and /people/{id}/access/{grant}/revoke: asks before stopping a grant,
/// naming whom and what they will lose (for a provider, what stops working for the care it
/// gives). Nothing is written but, for someone acting for the person, the line in the log.
pub async fn stop_page(context: &RequestContext<'_>, visit: &Visit, subject_id: Option<&str>, grant_id: &str) -> Result<Response, PortalError> {
    let subject = resolve(context, visit, subject_id, Action::Contribute).await?;
    let grant = subject.grant(grant_id)?;
    if let Some(refusal) = subject.refusal(grant, true) {
        return render_access(context, visit, &subject, StatusCode::BAD_REQUEST, Some(refusal), None).await;
    }
    if !matches!(grant.state(context.now), GrantState::Active | GrantState::NotStarted) {
        return Ok(see_other(&format!("{}/access", subject.prefix())));
    }
    let name = grantee_name(context, &grant.grantee).await?;
    let provider = is_provider(context, grant).await?;
    if subject.acting() {
        let event = subject.event(context, AuditAction::GrantsViewed, Some(&grant.id), format!("Looked at stopping {name}'s access."));
        context.store.append_audit(&event).await?;
    }
    let sentence = words::sentence(grant, &name, subject.whose(), context.now);
    let losses = words::losses(grant, &name, provider, subject.whose());
    let extra = context! { current => "access", grant_id => grant.id.clone(), version => grant.version, name, provider, sentence, losses };
    page_with_status(context, visit, StatusCode::OK, "stop_access.html", minijinja::value::merge_maps([subject.page_context(), extra]))
}

/// Whether a grant is to a care provider (whatever its basis): stopping it affects the care
/// the person gets, and the confirmation says so.
async fn is_provider(context: &RequestContext<'_>, grant: &Grant) -> Result<bool, PortalError> {
    Ok(match &grant.grantee {
        Grantee::Organisation(id) => {
            context.store.organisation(id).await?.is_some_and(|organisation| organisation.kind == carefront_shared::domain::OrganisationKind::Provider)
        }
        Grantee::Person(_) => false,
    })
}

/// POST /access/{id}/revoke and /people/{id}/access/{grant}/revoke: stops a grant at once; the
/// grantee's next request is refused.
pub async fn revoke(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: Option<&str>, grant_id: &str) -> Result<Response, PortalError> {
    let subject = resolve(context, visit, subject_id, Action::Contribute).await?;
    let form: RevokeForm = web::form(request)?;
    let grant = subject.grant(grant_id)?;
    if let Some(refusal) = subject.refusal(grant, true) {
        return render_access(context, visit, &subject, StatusCode::BAD_REQUEST, Some(refusal), None).await;
    }
    let done = format!("{}/access?done=stopped&grant={}", subject.prefix(), grant.id);
    if grant.revoked_at.is_some() || grant.state(context.now) == GrantState::Expired {
        return Ok(see_other(&done));
    }
    let revoked = Grant { version: form.version, revoked_at: Some(context.now), recorded_by: subject.actor.id.clone(), ..grant.clone() };
    let name = grantee_name(context, &grant.grantee).await?;
    let saved = Grant { version: form.version + 1, ..revoked.clone() };
    let receipt = receipt(context, &subject, &saved, &name, "revoked", false).await?;
    let event = subject.event(context, AuditAction::GrantRevoked, Some(&grant.id), format!("Stopped {name}'s access."));
    // The change, its receipt and its line in the access log: all, or none.
    let told = notices::access_stopped(context.store, grant, &subject.person.display_name, &context.config.origin, context.now, context.random).await?;
    let recorder = Recorder::new();
    recorder.store().update_grant(&revoked, context.now, subject.acting_for()).await?;
    recorder.store().insert_receipt(&subject.person.id, &receipt, context.now).await?;
    recorder.store().append_audit(&event).await?;
    notices::queue(&recorder, &told).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => {
            // Someone who stopped their own act-for power can no longer see these pages.
            if subject.acting() && !may_manage(context, &subject.actor, &subject.person.id).await? {
                return Ok(web::redirect("/home"));
            }
            Ok(see_other(&done))
        }
        Err(DbError::Constraint(_)) => {
            let current = context.store.grants_for_subject(&subject.person.id).await?.into_iter().find(|current| current.id == grant.id);
            let now_reads = match current {
                Some(current) => words::sentence(&current, &grantee_name(context, &current.grantee).await?, subject.whose(), context.now),
                None => "This access no longer exists.".to_owned(),
            };
            let message =
                format!("This access was changed after you opened the page, so nothing was changed. It now reads: {now_reads} Check it below and try again.");
            let subject = resolve(context, visit, subject_id, Action::View).await?;
            render_access(context, visit, &subject, StatusCode::CONFLICT, Some(message), None).await
        }
        Err(error) => Err(error.into()),
    }
}

/// How a change was made, for its consent receipt.
fn collection_method(subject: &Subject, confirmed: bool) -> String {
    let how = if confirmed { "after confirming it was them with their passkey" } else { "signed in with their passkey" };
    match subject.power.act_for_grant() {
        None => format!("In the carefront portal, by the person, {how}"),
        Some(power) => {
            let footing = match power.basis {
                Basis::Consent => "with the power the person gave them to act for them",
                Basis::LastingPowerOfAttorney => "as their attorney under a lasting power of attorney for health and welfare",
                Basis::CourtAppointedDeputy => "as their court-appointed deputy",
                Basis::BestInterests => "under a best-interests decision",
                Basis::StatutoryDuty => "under a statutory duty",
            };
            format!("In the carefront portal, by {} acting for the person, {footing}, {how}", subject.actor.display_name)
        }
    }
}

/// Issues and signs the consent receipt for a grant change (always the person's, whoever made
/// the change), for the change's plan to keep. `confirmed`: the change was made after a fresh
/// passkey check.
async fn receipt(
    context: &RequestContext<'_>,
    subject: &Subject,
    grant: &Grant,
    grantee_name: &str,
    event: &str,
    confirmed: bool,
) -> Result<ConsentReceipt, PortalError> {
    let controller = context.store.receipt_controller().await?.ok_or_else(|| PortalError::Internal("no council to name on consent receipts".into()))?;
    let issued = receipt::issue(&context.config.receipt_keys, &controller, grant, grantee_name, event, new_id(context.random), context.now);
    let mut body = issued.body;
    body.collection_method = collection_method(subject, confirmed);
    Ok(receipt::seal(&context.config.receipt_keys, body))
}

/// The re-authentication page: the visitor proves it is them with their passkey, then comes back
/// to `next` (a path on these pages).
fn confirm_identity(context: &RequestContext<'_>, visit: &Visit, subject: &Subject, reason: String, next: &str) -> Result<Response, PortalError> {
    let back_text = match subject.whose() {
        Whose::You => "Who can see your information".to_owned(),
        Whose::Named(name) => format!("Who can see {name}'s information"),
    };
    let back = format!("{}/access", subject.prefix());
    let confirmation = Confirmation { current: "access", back: (&back, &back_text), reason: &reason, return_to: next };
    crate::enrolment::confirm_identity(context, visit, StatusCode::OK, &confirmation)
}

/// GET /receipts/{id} and /people/{id}/receipts/{id} (a page to print), and the same with
/// `.json` (the signed receipt to keep).
pub async fn receipt_page(context: &RequestContext<'_>, visit: &Visit, subject_id: Option<&str>, name: &str) -> Result<Response, PortalError> {
    let subject = resolve(context, visit, subject_id, Action::View).await?;
    let (id, as_json) = match name.strip_suffix(".json") {
        Some(id) => (id, true),
        None => (name, false),
    };
    let receipt = context.store.receipt(&subject.person.id, id).await?.ok_or(PortalError::NotFound)?;
    if subject.acting() {
        context
            .store
            .append_audit(&subject.event(context, AuditAction::ReceiptViewed, Some(&receipt.body.grant_id), "Looked at a consent receipt.".into()))
            .await?;
    }
    if as_json {
        let mut response = web::json(StatusCode::OK, &receipt)?;
        if let Ok(value) = http::HeaderValue::from_str(&format!("attachment; filename=\"carefront-consent-receipt-{id}.json\"")) {
            response.headers_mut().insert(http::header::CONTENT_DISPOSITION, value);
        }
        return Ok(response);
    }
    let issued = DateTime::from_timestamp(receipt.body.consent_timestamp, 0).map(uk_time::day_and_time).unwrap_or_default();
    // The signed receipt keeps its machine words; the page says them as people do.
    let services: Vec<minijinja::Value> = receipt
        .body
        .services
        .iter()
        .map(|service| {
            let purposes: Vec<minijinja::Value> = service
                .purposes
                .iter()
                .map(|purpose| {
                    context! {
                        why => purpose.purpose.clone(),
                        information => words::receipt_categories(&purpose.purpose_category, subject.whose()),
                        until => words::receipt_until(&purpose.termination, subject.whose()),
                    }
                })
                .collect();
            context! { what => service.service.clone(), purposes }
        })
        .collect();
    let holder: Vec<String> = receipt
        .body
        .pii_controllers
        .iter()
        .map(|controller| {
            let parts = [&controller.pii_controller, &controller.address, &controller.email, &controller.phone];
            parts.into_iter().map(|part| part.trim()).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(", ")
        })
        .collect();
    let happened = match receipt.body.event.as_str() {
        "granted" => "Access given",
        "changed" => "Access changed",
        "revoked" => "Access stopped",
        _ => "Changed",
    };
    let extra = context! { current => "access", receipt, issued, id, services, holder, happened };
    page_with_status(context, visit, StatusCode::OK, "receipt.html", minijinja::value::merge_maps([subject.page_context(), extra]))
}
