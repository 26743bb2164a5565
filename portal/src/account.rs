//! The signed-in person's own pages: "Your care", their passkeys, signing out.

use carefront_shared::context::RequestContext;
use carefront_shared::domain::AuditEvent;
use carefront_shared::passkey::MAX_NAME_CHARS;
use carefront_shared::random::new_id;
use carefront_shared::store::PasskeyRemoval;
use http::StatusCode;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::enrolment::audit;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page, page_with_status};

/// GET /home: "Your care", with the care plan summary. Reading it is audited.
pub async fn home(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let plan = context.store.care_plan(&person.id).await?;
    if let Some(plan) = &plan {
        context
            .store
            .append_audit(&AuditEvent {
                id: new_id(context.random),
                at: context.now,
                actor_id: Some(person.id.clone()),
                acting_for: None,
                subject_id: Some(plan.person_id.clone()),
                action: "care_plan.viewed".into(),
                category: Some("care_plan".into()),
                basis: Some("own_record".into()),
                detail: "The care plan summary was shown on the home page.".into(),
            })
            .await?;
    }
    let plan = plan.map(|plan| {
        context! {
            summary => plan.summary,
            outcomes => plan.outcomes,
            support => plan.support,
            visit_schedule => plan.visit_schedule,
            review_due => plan.review_due.format("%-d %B %Y").to_string(),
            written_by => plan.written_by,
            updated_at => plan.updated_at.format("%-d %B %Y").to_string(),
        }
    });
    page(context, visit, "home.html", context! { current => "home", plan })
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
    page_with_status(context, visit, status, "passkeys.html", context! { current => "passkeys", passkeys, error, notice })
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
