//! Staff accounts, for council administrators: the council's staff and each provider's
//! administrators, enrolled or not; invite a caseworker, an administrator or a provider's
//! administrator (a new provider added by name if need be); change a member of council staff's
//! role; remove someone's access. Every change is in the administration log, in the same batch.
//! Caseworkers and everyone else get "page not found" (the route's guard, and again here).

use carefront_shared::context::RequestContext;
use carefront_shared::domain::{CouncilRole, Organisation, OrganisationKind, Person, ProviderRole};
use carefront_shared::random::new_id;
use carefront_shared::staff::{self, Invitee, Manager, StaffPosition};
use carefront_shared::store::prelude::*;
use http::StatusCode;
use minijinja::{Value, context};
use serde::Serialize;

use crate::enrolment::{Confirmation, confirm_identity};
use crate::error::PortalError;
use crate::staff::{FieldError, name_error};
use crate::visit::Visit;
use crate::{Request, Response, council, page_with_status, staff as pages, web};

/// The signed-in council administrator and their council.
async fn administrator<'a>(context: &RequestContext<'_>, visit: &'a Visit) -> Result<(&'a Person, Organisation), PortalError> {
    let person = council::require_council_staff(context, visit).await?;
    if context.store.council_role(&person.id).await? != Some(CouncilRole::Administrator) {
        return Err(PortalError::NotFound);
    }
    let council_id = person.organisation_id.as_deref().unwrap_or_default();
    let council = context.store.organisation(council_id).await?.ok_or(PortalError::NotFound)?;
    Ok((person, council))
}

fn manager<'a>(person: &'a Person, council: &'a Organisation) -> Manager<'a> {
    Manager::Council { person_id: &person.id, council_id: &council.id }
}

/// How many entries of the administration log the page shows, newest first.
const ADMIN_LOG_ENTRIES: i64 = 200;

/// GET /council/staff: the council's staff and each provider's administrators.
pub async fn list_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let (person, council) = administrator(context, visit).await?;
    let manager = manager(person, &council);
    let notice = match web::query_param(request, "done").as_deref() {
        Some("removed") => Some("Their access is removed. Their sessions have ended and their passkeys no longer work."),
        Some("role") => Some("Their role is changed."),
        _ => None,
    };
    let members: Vec<Value> = context.store.staff_of(&council.id).await?.iter().map(|member| pages::staff_view(&manager, member)).collect();
    let administrators = context.store.provider_administrators().await?;
    let mut providers: Vec<Value> = Vec::new();
    for provider in context.store.organisations(OrganisationKind::Provider).await? {
        let theirs: Vec<Value> =
            administrators.iter().filter(|member| member.organisation_id() == provider.id).map(|member| pages::staff_view(&manager, member)).collect();
        // Whether anyone there is told of emergency access: set by the provider's administrator.
        let duty_contact = carefront_shared::notices::duty::is_set(&context.store.duty_contact_points(&provider.id).await?);
        providers.push(context! { name => provider.name, administrators => theirs, duty_contact });
    }
    let log = pages::log_view(context.store.admin_log(ADMIN_LOG_ENTRIES).await?);
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "council_staff.html",
        context! { current => "staff", council => council.name, members, providers, notice, log },
    )
}

/// The invitation form as typed, shown again with its errors.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct InviteForm {
    #[serde(default)]
    name: String,
    /// caseworker, administrator or provider_administrator.
    #[serde(default)]
    role: String,
    /// A provider's id, or "new".
    #[serde(default)]
    provider: String,
    /// A new provider's name.
    #[serde(default)]
    provider_name: String,
}

async fn render_form(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    form: &InviteForm,
    errors: Vec<FieldError>,
) -> Result<Response, PortalError> {
    let providers: Vec<Value> = context
        .store
        .organisations(OrganisationKind::Provider)
        .await?
        .into_iter()
        .map(|provider| context! { id => provider.id, name => provider.name })
        .collect();
    page_with_status(context, visit, status, "council_staff_invite.html", context! { current => "staff", form, errors, providers })
}

/// GET /council/staff/invite: the form, once the administrator has recently confirmed it is
/// them with their passkey.
pub async fn invite_page(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    administrator(context, visit).await?;
    if !visit.recently_verified() {
        let confirmation = Confirmation {
            current: "staff",
            back: ("/council/staff", "Staff accounts"),
            reason: "An invitation gives someone access to carefront, so before you make one, use your passkey again: your fingerprint, face or screen lock.",
            return_to: "/council/staff/invite",
        };
        return confirm_identity(context, visit, StatusCode::OK, &confirmation);
    }
    render_form(context, visit, StatusCode::OK, &InviteForm::default(), Vec::new()).await
}

/// Where the invited person will work: the council, an existing provider, or a new one.
enum Workplace {
    Council,
    Provider(Organisation),
    NewProvider(Organisation),
}

/// Checks the form: every field's error at once, or what to do.
async fn check(context: &RequestContext<'_>, form: &InviteForm) -> Result<Result<(String, StaffPosition, Workplace), Vec<FieldError>>, PortalError> {
    let mut errors = Vec::new();
    let name = staff::check_name(&form.name).map_err(|problem| errors.push(name_error("name", "the person's full", problem))).ok();
    let position = match form.role.as_str() {
        "caseworker" => Some(StaffPosition::Council(CouncilRole::Caseworker)),
        "administrator" => Some(StaffPosition::Council(CouncilRole::Administrator)),
        "provider_administrator" => Some(StaffPosition::Provider(ProviderRole::Administrator)),
        _ => {
            errors.push(FieldError { field: "role", message: "Choose what they will do".into() });
            None
        }
    };
    let workplace = match position {
        Some(StaffPosition::Provider(_)) => provider(context, form, &mut errors).await?,
        _ => Some(Workplace::Council),
    };
    Ok(match (name, position, workplace) {
        (Some(name), Some(position), Some(workplace)) if errors.is_empty() => Ok((name, position, workplace)),
        _ => Err(errors),
    })
}

/// The provider chosen from the list, or a new one named in the form.
async fn provider(context: &RequestContext<'_>, form: &InviteForm, errors: &mut Vec<FieldError>) -> Result<Option<Workplace>, PortalError> {
    let providers = context.store.organisations(OrganisationKind::Provider).await?;
    if form.provider != "new" {
        let chosen = providers.into_iter().find(|provider| !form.provider.is_empty() && provider.id == form.provider);
        if chosen.is_none() {
            errors.push(FieldError { field: "provider", message: "Choose the care provider, or add a new one".into() });
        }
        return Ok(chosen.map(Workplace::Provider));
    }
    let name = match staff::check_name(&form.provider_name) {
        Ok(name) => name,
        Err(problem) => {
            errors.push(name_error("provider-name", "the care provider's", problem));
            return Ok(None);
        }
    };
    if let Some(existing) = providers.iter().find(|provider| provider.name.to_lowercase() == name.to_lowercase()) {
        errors.push(FieldError { field: "provider-name", message: format!("{} is already listed: choose it from the list", existing.name) });
        return Ok(None);
    }
    let organisation = Organisation { id: new_id(context.random), kind: OrganisationKind::Provider, name, created_at: context.now };
    Ok(Some(Workplace::NewProvider(organisation)))
}

/// POST /council/staff/invite: adds the person (and a new provider) with their invitation, and
/// shows its code, this once.
pub async fn invite(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let (person, council) = administrator(context, visit).await?;
    let form: InviteForm = web::form(request)?;
    let (name, position, workplace) = match check(context, &form).await? {
        Ok(checked) => checked,
        Err(errors) => return render_form(context, visit, StatusCode::BAD_REQUEST, &form, errors).await,
    };
    let (organisation, new_provider) = match &workplace {
        Workplace::Council => (&council, false),
        Workplace::Provider(organisation) => (organisation, false),
        Workplace::NewProvider(organisation) => (organisation, true),
    };
    let invited = pages::invite(context, person, Invitee { name, position, organisation, new_provider }).await?;
    pages::invited_page(context, visit, "staff", ("/council/staff", "Back to staff accounts"), &invited, position, &organisation.name)
}

#[derive(serde::Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

/// POST /council/staff/{person}/role: makes a member of council staff a caseworker or an
/// administrator.
pub async fn change_role(context: &RequestContext<'_>, request: &Request, visit: &Visit, person_id: &str) -> Result<Response, PortalError> {
    let (person, council) = administrator(context, visit).await?;
    let member = pages::member(context, person_id).await?;
    let current = staff::may_change_council_role(&manager(person, &council), &member).map_err(pages::refusal)?;
    let form: RoleForm = web::form(request)?;
    let Some(role) = CouncilRole::parse(&form.role) else {
        return Err(PortalError::Unusable("Choose caseworker or administrator for their role.".into()));
    };
    if role == current {
        return Ok(web::redirect("/council/staff"));
    }
    let entry = carefront_shared::administration::council_role_changed(
        new_id(context.random),
        context.now,
        &pages::administrator(person),
        &member.person,
        current,
        role,
    );
    match context.store.change_council_role(&member.person.id, &council.id, current, role, &entry).await {
        Ok(()) => Ok(web::redirect("/council/staff?done=role")),
        Err(carefront_shared::db::DbError::Constraint(_)) => {
            Err(PortalError::Unusable("Their account changed while you were looking at it. Go back to staff accounts and try again.".into()))
        }
        Err(error) => Err(error.into()),
    }
}

/// POST /council/staff/{person}/remove: removes a member of council staff's or a provider's
/// administrator's access at once.
pub async fn remove(context: &RequestContext<'_>, visit: &Visit, person_id: &str) -> Result<Response, PortalError> {
    let (person, council) = administrator(context, visit).await?;
    let member = pages::member(context, person_id).await?;
    staff::may_remove(&manager(person, &council), &member).map_err(pages::refusal)?;
    let organisation = pages::organisation_name(context.store, member.organisation_id()).await?;
    pages::remove_access(context, person, &member, &organisation).await?;
    Ok(web::redirect("/council/staff?done=removed"))
}
