//! The signed-in person's own pages: "Your care", their passkeys, signing out.

use carefront_shared::context::RequestContext;
use carefront_shared::passkey::MAX_NAME_CHARS;
use carefront_shared::store::PasskeyRemoval;
use http::StatusCode;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::care;
use crate::enrolment::audit;
use crate::error::PortalError;
use crate::record;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page, page_with_status};

/// GET /home: "Your care" with the care plan summary for a service user; "People you support"
/// for anyone acting with grants.
pub async fn home(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let plan = match care::read_care_plan(context, person, &person.id).await {
        Ok(plan) => plan.map(care::plan_view),
        Err(PortalError::NotFound) => None,
        Err(error) => return Err(error),
    };
    let supported = care::people_supported(context, person).await?;
    let ending = crate::sharing::ending_soon(context, person).await?;
    let sections = if person.role == carefront_shared::domain::Role::ServiceUser { record::sections(context, person, &person.id).await? } else { Vec::new() };
    let discussions = if person.role == carefront_shared::domain::Role::ServiceUser { crate::discussions::awaiting(context, &person.id).await? } else { 0 };
    let emergency = crate::emergency::home_notice(context, person, &supported).await?;
    // Only administrators are shown the link to the credentials pages (404 for caseworkers).
    let council_administrator = person.role == carefront_shared::domain::Role::CouncilStaff
        && context.store.council_role(&person.id).await? == Some(carefront_shared::domain::CouncilRole::Administrator);
    page(
        context,
        visit,
        "home.html",
        context! { current => "home", plan, supported, ending, sections, me => person.id, discussions, emergency, council_administrator },
    )
}

/// GET /people/{id}: the care information a representative or member of staff may see about
/// one person; 404 when they may see nothing (it does not exist for them).
pub async fn person_page(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    if subject_id == person.id {
        return Ok(web::redirect("/home"));
    }
    let supported = care::people_supported(context, person).await?;
    let Some(entry) = supported.into_iter().find(|entry| entry.id == subject_id) else {
        return Err(PortalError::NotFound);
    };
    let plan = match care::read_care_plan(context, person, subject_id).await {
        Ok(plan) => plan.map(care::plan_view),
        Err(PortalError::NotFound) => None,
        Err(error) => return Err(error),
    };
    let sections = record::sections(context, person, subject_id).await?;
    let flags = crate::needs::flags(context, subject_id).await?;
    let manage = crate::sharing::may_manage(context, person, subject_id).await?;
    let emergency = crate::emergency::person_notice(context, person, &entry).await?;
    page(context, visit, "person.html", context! { current => "home", subject => entry, plan, sections, flags, manage, emergency })
}

#[derive(Serialize)]
struct PasskeyView {
    id: String,
    name: String,
    created: String,
    last_used: Option<String>,
}

/// GET /passkeys: the person's passkeys.
pub async fn passkeys_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let notice = match web::query_param(request, "done").as_deref() {
        Some("renamed") => Some("Your passkey has been renamed."),
        Some("removed") => Some("Your passkey has been removed."),
        Some("ended") => Some("That device has been signed out."),
        _ => None,
    };
    passkeys_with(context, visit, StatusCode::OK, None, notice).await
}

async fn passkeys_with(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let passkeys: Vec<PasskeyView> = context
        .store
        .passkeys(&person.id)
        .await?
        .into_iter()
        .map(|record| PasskeyView {
            id: record.id,
            name: record.name,
            created: record.created_at.format("%-d %B %Y").to_string(),
            last_used: record.last_used_at.map(|at| at.format("%-d %B %Y at %H:%M").to_string()),
        })
        .collect();
    let this_session = visit.signed_in.as_ref().map(|signed_in| signed_in.session_hash.clone()).unwrap_or_default();
    let sessions: Vec<_> = context
        .store
        .sessions_for_person(&person.id)
        .await?
        .into_iter()
        .filter(|session| carefront_shared::session::check(session, context.now).is_ok())
        .map(|session| {
            context! {
                this_device => session.id_hash == this_session,
                started => session.created_at.format("%-d %B %Y at %H:%M").to_string(),
                last_seen => session.last_seen_at.format("%-d %B %Y at %H:%M").to_string(),
                id => session.id_hash,
            }
        })
        .collect();
    page_with_status(context, visit, status, "passkeys.html", context! { current => "passkeys", passkeys, sessions, error, notice })
}

#[derive(Deserialize)]
struct EndSessionForm {
    session: String,
}

/// POST /sessions/end: signs one of the person's other devices out (its row goes at once).
pub async fn end_session(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let form: EndSessionForm = web::form(request)?;
    if !context.store.delete_person_session(&person.id, &form.session).await? {
        return Err(PortalError::NotFound);
    }
    audit(context, Some(&person.id), &person.id, "session.ended_elsewhere", "Signed out another device.").await?;
    Ok(web::redirect("/passkeys?done=ended"))
}

#[derive(Deserialize)]
struct RenameForm {
    name: String,
}

/// POST /passkeys/{id}/rename.
pub async fn rename_passkey(context: &RequestContext<'_>, request: &Request, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let form: RenameForm = web::form(request)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        let message = format!("Enter a name for the passkey of up to {MAX_NAME_CHARS} characters");
        return passkeys_with(context, visit, StatusCode::BAD_REQUEST, Some(&message), None).await;
    }
    if !context.store.rename_passkey(&person.id, id, name).await? {
        return Err(PortalError::NotFound);
    }
    audit(context, Some(&person.id), &person.id, "passkey.renamed", &format!("A passkey was renamed to {name}.")).await?;
    Ok(web::redirect("/passkeys?done=renamed"))
}

/// POST /passkeys/{id}/remove: never the last one.
pub async fn remove_passkey(context: &RequestContext<'_>, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    match context.store.remove_passkey(&person.id, id).await? {
        PasskeyRemoval::Removed => {
            audit(context, Some(&person.id), &person.id, "passkey.removed", "A passkey was removed.").await?;
            Ok(web::redirect("/passkeys?done=removed"))
        }
        PasskeyRemoval::NotFound => Err(PortalError::NotFound),
        PasskeyRemoval::LastOne => {
            passkeys_with(
                context,
                visit,
                StatusCode::CONFLICT,
                Some("You cannot remove your only passkey: you would not be able to sign in. Add another passkey first."),
                None,
            )
            .await
        }
    }
}

/// POST /sign-out: deletes the session row, so a copied cookie is dead too.
pub async fn sign_out(context: &RequestContext<'_>, visit: &mut Visit) -> Result<Response, PortalError> {
    if let Some(person) = visit.signed_in.as_ref().map(|signed_in| signed_in.person.id.clone()) {
        audit(context, Some(&person), &person, "session.signed_out", "Signed out.").await?;
    }
    visit.end_session(context).await?;
    Ok(web::redirect("/signed-out"))
}
