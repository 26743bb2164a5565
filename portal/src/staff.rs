//! What the council's and the providers' staff pages share: how a member of staff is listed,
//! how a name's error reads, and inviting someone (the plan is [`staff::invitation_plan`]) with
//! the page that shows the code once.

use carefront_shared::administration::{self, AdminEvent, Administrator};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::Person;
use carefront_shared::random::new_id;
use carefront_shared::staff::{self, Invitee, Manager, NameProblem, StaffMember, StaffPosition};
use carefront_shared::store::SqlStore;
use carefront_shared::store::Store;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};
use serde::Serialize;

use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Response, page_with_status};

/// How the administration log names someone who looks after staff.
pub fn administrator(person: &Person) -> Administrator {
    Administrator { id: person.id.clone(), name: person.display_name.clone() }
}

/// One error of a form, linked from its error summary to the field.
#[derive(Debug, Serialize)]
pub struct FieldError {
    /// The id of the field it is about.
    pub field: &'static str,
    /// What to do, in plain words.
    pub message: String,
}

/// The error for a name typed into `field`; `what` says whose name it is ("the person's").
pub fn name_error(field: &'static str, what: &str, problem: NameProblem) -> FieldError {
    let message = match problem {
        NameProblem::Missing => format!("Enter {what} name"),
        NameProblem::TooLong => format!("Enter {what} name in {} characters or fewer", staff::MAX_NAME_CHARS),
        NameProblem::Control => format!("Enter {what} name on one line"),
    };
    FieldError { field, message }
}

/// A member of staff as a list shows them, with what the manager may do to their account.
pub fn staff_view(manager: &Manager<'_>, member: &StaffMember) -> Value {
    let status = match (&member.access_removed_at, member.enrolled) {
        (Some(at), _) => format!("Access removed {}", uk_time::day_and_time(*at)),
        (None, true) => "Enrolled".to_owned(),
        (None, false) => "Invited, not enrolled yet".to_owned(),
    };
    let council_role = match member.position {
        Some(StaffPosition::Council(role)) => Some(role.as_str()),
        _ => None,
    };
    context! {
        id => member.person.id.clone(),
        name => member.person.display_name.clone(),
        position => member.position.map(StaffPosition::label),
        status,
        enrolled => member.enrolled,
        removed => member.access_removed_at.is_some(),
        council_role,
        may_remove => staff::may_remove(manager, member).is_ok(),
        may_change_role => staff::may_change_council_role(manager, member).is_ok(),
    }
}

/// The administration log as a page lists it.
pub fn log_view(entries: Vec<AdminEvent>) -> Vec<Value> {
    entries.into_iter().map(|entry| context! { when => uk_time::day_and_time(entry.at), what => entry.detail }).collect()
}

/// What an invitation page shows, once.
pub struct Invited {
    /// The new person.
    pub person: Person,
    /// The code, as the person types it.
    pub code: String,
    /// When the invitation runs out.
    pub expires: String,
}

/// Adds the person (and a new provider), their role, their invitation and the log entries in
/// one plan, applied at once.
pub async fn invite(context: &RequestContext<'_>, by: &Person, invitee: Invitee<'_>) -> Result<Invited, PortalError> {
    let made = staff::invitation_plan(&administrator(by), invitee, context.now, context.random).await?;
    context.store.apply(&made.plan).await?;
    Ok(Invited { person: made.person, code: made.code.to_string(), expires: uk_time::day_and_time(made.invitation.expires_at) })
}

/// The page that shows the invitation code and link, this once.
pub fn invited_page(
    context: &RequestContext<'_>,
    visit: &Visit,
    current: &str,
    back: (&str, &str),
    invited: &Invited,
    position: StaffPosition,
    organisation: &str,
) -> Result<Response, PortalError> {
    let link = format!("{}/invitation?code={}", context.config.origin_header(), invited.code);
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "staff_invited.html",
        context! {
            current,
            back_href => back.0,
            back_text => back.1,
            name => invited.person.display_name.clone(),
            position => position.words(),
            organisation,
            code => invited.code.clone(),
            link,
            expires => invited.expires.clone(),
        },
    )
}

/// A member of staff by id, for a change; anyone else (or no one) is "not found".
pub async fn member(context: &RequestContext<'_>, person_id: &str) -> Result<StaffMember, PortalError> {
    context.store.staff_member(person_id).await?.ok_or(PortalError::NotFound)
}

/// What a refused change says (a member of staff not theirs is "not found", so no one learns
/// who works elsewhere).
pub fn refusal(refusal: staff::StaffRefusal) -> PortalError {
    match refusal {
        staff::StaffRefusal::NotTheirs => PortalError::NotFound,
        staff::StaffRefusal::Themselves => PortalError::Unusable("You cannot change or remove your own access. Ask another administrator to do it.".into()),
        staff::StaffRefusal::AlreadyRemoved => PortalError::Unusable("Their access has already been removed.".into()),
        staff::StaffRefusal::AdministratorsAreTheCouncils => {
            PortalError::Unusable("Only the council can remove a provider's administrator. Contact the council.".into())
        }
    }
}

/// Removes a member of staff's access and logs it, one batch; a change since it was read (a
/// second removal racing this one) is refused with a plain message.
pub async fn remove_access(context: &RequestContext<'_>, by: &Person, member: &StaffMember, organisation_name: &str) -> Result<(), PortalError> {
    let entry = administration::staff_access_removed(new_id(context.random), context.now, &administrator(by), &member.person, organisation_name);
    match context.store.remove_staff_access(&member.person.id, member.organisation_id(), &entry).await {
        Ok(()) => Ok(()),
        Err(carefront_shared::db::DbError::Constraint(_)) => Err(refusal(staff::StaffRefusal::AlreadyRemoved)),
        Err(error) => Err(error.into()),
    }
}

/// An organisation's name, or its id if it has gone.
pub async fn organisation_name(store: &SqlStore<'_>, id: &str) -> Result<String, PortalError> {
    Ok(store.organisation(id).await?.map_or_else(|| id.to_owned(), |organisation| organisation.name))
}
