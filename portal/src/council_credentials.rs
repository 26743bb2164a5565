//! System credentials, for council administrators: see every organisation's credentials, make
//! one (after confirming with a passkey again; its secret is shown once and never again) and
//! revoke one at once, with the administration log of who made and revoked what. Caseworkers and
//! everyone else get "page not found". Every change is in the administration log, written in
//! the same batch as the change.

use carefront_shared::store::prelude::*;
use std::collections::{BTreeSet, HashMap};

use carefront_shared::administration::{self, Administrator};
use carefront_shared::context::RequestContext;
use carefront_shared::credential::{self, CredentialProblem, Permission};
use carefront_shared::domain::{CouncilRole, OrganisationKind, Person};
use carefront_shared::random::new_id;
use carefront_shared::uk_time;
use chrono::{DateTime, Utc};
use http::StatusCode;
use minijinja::context;
use serde::Serialize;

use crate::enrolment::{Confirmation, confirm_identity};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Request, Response, council, page_with_status, web};

/// The signed-in person if they are an administrator of the council; the pages do not exist for
/// anyone else. Caseworkers get "page not found" on the list too, not a read-only view: they
/// have no use for it, and which systems hold which powers (and their key ids) is a map for an
/// attacker, so it is shown only to those who look after it (deny by default).
async fn council_administrator<'a>(context: &RequestContext<'_>, visit: &'a Visit) -> Result<&'a Person, PortalError> {
    let person = council::require_council_staff(context, visit).await?;
    match context.store.council_role(&person.id).await? {
        Some(CouncilRole::Administrator) => Ok(person),
        _ => Err(PortalError::NotFound),
    }
}

/// How the administration log names the administrator.
fn administrator(person: &Person) -> Administrator {
    Administrator { id: person.id.clone(), name: person.display_name.clone() }
}

fn when(time: DateTime<Utc>) -> String {
    uk_time::day_and_time(time)
}

#[derive(Serialize)]
struct PermissionView {
    name: &'static str,
    description: &'static str,
}

fn permission_views(permissions: &BTreeSet<Permission>) -> Vec<PermissionView> {
    permissions.iter().map(|permission| PermissionView { name: permission.as_str(), description: permission.describe() }).collect()
}

#[derive(Serialize)]
struct CredentialView {
    key_id: String,
    name: String,
    permissions: Vec<PermissionView>,
    created: String,
    created_by: String,
    last_used: Option<String>,
    revoked: Option<String>,
    revoked_by: Option<String>,
}

/// The name of whoever made or revoked a credential (a person, or the command-line tool).
async fn actor_name(context: &RequestContext<'_>, names: &mut HashMap<String, String>, id: &str) -> Result<String, PortalError> {
    if let Some(name) = names.get(id) {
        return Ok(name.clone());
    }
    let person = context.store.person(id).await?;
    let name = credential::maker_name(id, person.as_ref().map(|person| person.display_name.as_str()));
    names.insert(id.to_owned(), name.clone());
    Ok(name)
}

/// How many entries of the administration log the page shows, newest first.
const ADMIN_LOG_ENTRIES: i64 = 200;

/// GET /council/credentials: every organisation's credentials, live ones with "Revoke", and the
/// administration log.
pub async fn list_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    council_administrator(context, visit).await?;
    let notice = web::query_param(request, "done")
        .filter(|done| done == "revoked")
        .map(|_| "The credential is revoked. Every request signed with it is refused from now on.");
    let mut names = HashMap::new();
    let mut organisations = Vec::new();
    for organisation in context.store.all_organisations().await? {
        let mut credentials = Vec::new();
        for credential in context.store.credentials_for_organisation(&organisation.id).await? {
            let revoked_by = match &credential.revoked_by {
                Some(id) => Some(actor_name(context, &mut names, id).await?),
                None => None,
            };
            credentials.push(CredentialView {
                created_by: actor_name(context, &mut names, &credential.created_by).await?,
                revoked_by,
                key_id: credential.key_id,
                name: credential.name,
                permissions: permission_views(&credential.permissions),
                created: when(credential.created_at),
                last_used: credential.last_used_at.map(when),
                revoked: credential.revoked_at.map(when),
            });
        }
        let kind = match organisation.kind {
            OrganisationKind::Council => "Council",
            OrganisationKind::Provider => "Care provider",
        };
        organisations.push(context! { name => organisation.name, kind, credentials });
    }
    let log: Vec<minijinja::Value> =
        context.store.admin_log(ADMIN_LOG_ENTRIES).await?.into_iter().map(|entry| context! { when => when(entry.at), what => entry.detail }).collect();
    page_with_status(context, visit, StatusCode::OK, "council_credentials.html", context! { current => "credentials", organisations, notice, log })
}

/// The "make a credential" form as typed, shown again with its errors.
#[derive(Debug, Default, Serialize)]
struct CreateForm {
    organisation: String,
    name: String,
    permissions: Vec<String>,
}

impl CreateForm {
    fn parse(request: &Request) -> Result<CreateForm, PortalError> {
        let fields: Vec<(String, String)> = web::form(request)?;
        let mut form = CreateForm::default();
        for (key, value) in fields {
            match key.as_str() {
                "organisation" => form.organisation = value.trim().to_owned(),
                "name" => form.name = value.trim().to_owned(),
                "permissions" => form.permissions.push(value),
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

async fn render_form(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    form: &CreateForm,
    errors: Vec<FieldError>,
) -> Result<Response, PortalError> {
    let organisations: Vec<minijinja::Value> = context
        .store
        .all_organisations()
        .await?
        .into_iter()
        .map(|organisation| {
            let council = organisation.kind == OrganisationKind::Council;
            context! { id => organisation.id, name => organisation.name, council }
        })
        .collect();
    let choices: Vec<minijinja::Value> = Permission::ALL
        .into_iter()
        .map(|permission| context! { value => permission.as_str(), label => permission.describe(), council_only => permission.council_only() })
        .collect();
    page_with_status(context, visit, status, "council_credentials_new.html", context! { current => "credentials", form, errors, organisations, choices })
}

/// GET /council/credentials/new: the form, once the staff member has recently confirmed it is
/// them with their passkey.
pub async fn new_page(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    council_administrator(context, visit).await?;
    if !visit.recently_verified() {
        let confirmation = Confirmation {
            current: "credentials",
            back: ("/council/credentials", "System credentials"),
            reason: "A credential opens care records to a computer system, so before you make one, use your passkey again: your fingerprint, face or screen lock.",
            return_to: "/council/credentials/new",
        };
        return confirm_identity(context, visit, StatusCode::OK, &confirmation);
    }
    render_form(context, visit, StatusCode::OK, &CreateForm::default(), Vec::new()).await
}

/// POST /council/credentials/new: makes the credential and shows its secret, this once.
pub async fn create(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let person = council_administrator(context, visit).await?;
    if !visit.recently_verified() {
        return Ok(web::redirect("/council/credentials/new"));
    }
    let form = CreateForm::parse(request)?;
    let permissions: BTreeSet<Permission> = form
        .permissions
        .iter()
        .map(|name| Permission::parse(name))
        .collect::<Option<_>>()
        .ok_or_else(|| PortalError::BadRequest("unknown permission".into()))?;
    let organisation = match form.organisation.as_str() {
        "" => None,
        id => context.store.organisation(id).await?,
    };
    let Some(organisation) = organisation else {
        let error = FieldError { field: "organisation", message: "Choose the organisation whose system will use it".into() };
        return render_form(context, visit, StatusCode::BAD_REQUEST, &form, vec![error]).await;
    };
    let issued = match credential::issue(&context.config.credential_key, &organisation, &form.name, permissions, &person.id, context.random, context.now) {
        Ok(issued) => issued,
        Err(problem) => {
            let error = match problem {
                CredentialProblem::BadName => FieldError { field: "name", message: "Say which system will use it, in up to 80 characters".into() },
                CredentialProblem::NoPermissions => FieldError { field: "permissions", message: "Choose at least one thing the system may do".into() },
                CredentialProblem::CouncilOnly(permission) => FieldError {
                    field: "permissions",
                    message: format!("Only the council's own systems can have \u{201c}{}\u{201d}: untick it, or choose the council", permission.describe()),
                },
            };
            return render_form(context, visit, StatusCode::BAD_REQUEST, &form, vec![error]).await;
        }
    };
    let credential = &issued.credential;
    let entry = administration::credential_created(new_id(context.random), &administrator(person), credential, &organisation.name);
    context.store.make_credential(credential, &entry).await?;
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "council_credentials_created.html",
        context! {
            current => "credentials",
            organisation => organisation.name,
            name => credential.name.clone(),
            key_id => credential.key_id.clone(),
            secret => issued.secret.clone(),
            permissions => permission_views(&credential.permissions),
        },
    )
}

/// POST /council/credentials/{key id}/revoke: revokes it at once; its next request is refused.
pub async fn revoke(context: &RequestContext<'_>, visit: &Visit, key_id: &str) -> Result<Response, PortalError> {
    let person = council_administrator(context, visit).await?;
    let credential = context.store.credential(key_id).await?.ok_or(PortalError::NotFound)?;
    let organisation = context.store.organisation(&credential.organisation_id).await?;
    let organisation_name = organisation.map_or_else(|| credential.organisation_id.clone(), |organisation| organisation.name);
    let entry = administration::credential_revoked(new_id(context.random), context.now, &administrator(person), &credential, &organisation_name);
    // Revoking twice changes nothing and logs nothing: the store revokes only a live credential.
    context.store.revoke_credential(&credential.key_id, &entry).await?;
    Ok(web::redirect("/council/credentials?done=revoked"))
}
