//! Pages for a provider's administrator: their own organisation's staff, enrolled or not;
//! invite a member of staff; remove one; and their consent-evidence dashboard, the same figures
//! the council's monitoring report shows for them. Another organisation's staff do not exist
//! here ("page not found"); the provider's other staff, and everyone else, get "page not found"
//! for every page (the route's guard, and again here).

use carefront_shared::context::RequestContext;
use carefront_shared::domain::{Organisation, OrganisationKind, Person, ProviderRole, Role};
use carefront_shared::monitoring;
use carefront_shared::staff::{self, Invitee, Manager, StaffPosition};
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use crate::enrolment::{Confirmation, confirm_identity};
use crate::error::PortalError;
use crate::staff::{FieldError, name_error};
use crate::visit::Visit;
use crate::{Request, Response, page_with_status, staff as pages, web};

/// The signed-in provider administrator and their provider.
pub(crate) async fn administrator<'a>(context: &RequestContext<'_>, visit: &'a Visit) -> Result<(&'a Person, Organisation), PortalError> {
    let person = visit.require_person()?;
    if person.role != Role::ProviderStaff || context.store.provider_role(&person.id).await? != Some(ProviderRole::Administrator) {
        return Err(PortalError::NotFound);
    }
    let organisation = match &person.organisation_id {
        Some(id) => context.store.organisation(id).await?,
        None => None,
    };
    match organisation {
        Some(organisation) if organisation.kind == OrganisationKind::Provider => Ok((person, organisation)),
        _ => Err(PortalError::NotFound),
    }
}

fn manager<'a>(person: &'a Person, organisation: &'a Organisation) -> Manager<'a> {
    Manager::Provider { person_id: &person.id, organisation_id: &organisation.id }
}

/// How many entries of the organisation's administration log the page shows, newest first.
const ADMIN_LOG_ENTRIES: i64 = 100;

/// GET /provider/staff: the organisation's staff, and the administration log about it.
pub async fn list_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let (person, organisation) = administrator(context, visit).await?;
    let manager = manager(person, &organisation);
    let notice = web::query_param(request, "done")
        .filter(|done| done == "removed")
        .map(|_| "Their access is removed. Their sessions have ended and their passkeys no longer work.");
    let members: Vec<Value> = context
        .store
        .staff_of(&organisation.id)
        .await?
        .iter()
        .filter(|member| manager.looks_after(member))
        .map(|member| pages::staff_view(&manager, member))
        .collect();
    let log = pages::log_view(context.store.admin_log_for_organisation(&organisation.id, ADMIN_LOG_ENTRIES).await?);
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "provider_staff.html",
        context! { current => "staff", organisation => organisation.name, members, notice, log },
    )
}

/// The invitation form as typed, shown again with its errors.
#[derive(Debug, Default, Serialize, Deserialize)]
struct InviteForm {
    #[serde(default)]
    name: String,
}

fn render_form(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    organisation: &str,
    form: &InviteForm,
    errors: Vec<FieldError>,
) -> Result<Response, PortalError> {
    page_with_status(context, visit, status, "provider_staff_invite.html", context! { current => "staff", organisation, form, errors })
}

/// GET /provider/staff/invite: the form, once the administrator has recently confirmed it is
/// them with their passkey.
pub async fn invite_page(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let (_, organisation) = administrator(context, visit).await?;
    if !visit.recently_verified() {
        let confirmation = Confirmation {
            current: "staff",
            back: ("/provider/staff", "Your staff"),
            reason: "An invitation gives someone access to carefront, so before you make one, use your passkey again: your fingerprint, face or screen lock.",
            return_to: "/provider/staff/invite",
        };
        return confirm_identity(context, visit, StatusCode::OK, &confirmation);
    }
    render_form(context, visit, StatusCode::OK, &organisation.name, &InviteForm::default(), Vec::new())
}

/// POST /provider/staff/invite: adds a member of staff to the administrator's own provider with
/// their invitation, and shows its code, this once.
pub async fn invite(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let (person, organisation) = administrator(context, visit).await?;
    let form: InviteForm = web::form(request)?;
    let name = match staff::check_name(&form.name) {
        Ok(name) => name,
        Err(problem) => {
            let errors = vec![name_error("name", "the person's full", problem)];
            return render_form(context, visit, StatusCode::BAD_REQUEST, &organisation.name, &form, errors);
        }
    };
    // Always the administrator's own organisation, as ordinary staff: nothing in the form can
    // say otherwise.
    let position = StaffPosition::Provider(ProviderRole::Staff);
    let invited = pages::invite(context, person, Invitee { name, position, organisation: &organisation, new_provider: false }).await?;
    pages::invited_page(context, visit, "staff", ("/provider/staff", "Back to your staff"), &invited, position, &organisation.name)
}

/// POST /provider/staff/{person}/remove: removes a member of the organisation's staff's access
/// at once.
pub async fn remove(context: &RequestContext<'_>, visit: &Visit, person_id: &str) -> Result<Response, PortalError> {
    let (person, organisation) = administrator(context, visit).await?;
    let member = pages::member(context, person_id).await?;
    staff::may_remove(&manager(person, &organisation), &member).map_err(pages::refusal)?;
    pages::remove_access(context, person, &member, &organisation.name).await?;
    Ok(web::redirect("/provider/staff?done=removed"))
}

/// GET /provider/consent-evidence: the organisation's own figures, computed as the council's
/// monitoring report computes them (one function, [`monitoring::provider_report`]).
pub async fn consent_evidence(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let (_, organisation) = administrator(context, visit).await?;
    let report = monitoring::provider_report(context.store, &organisation.id, context.now).await?.ok_or(PortalError::NotFound)?;
    let counted = uk_time::day_and_time(report.figured_at);
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "provider_consent_evidence.html",
        context! { current => "consent-evidence", percent => report.confirmed_percent(), report, counted },
    )
}
