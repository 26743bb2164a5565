//! Stopping an emergency access from the link in a notification, without signing in: the person,
//! whoever acts for them, family who asked to be told and the provider's duty contact each get
//! a signed link ([`StopLink`]) when someone uses the emergency code. Opening it asks first
//! (a link can be opened by a phone's preview, so a GET never changes anything); the button
//! ends the access at once, the clinician's next page is refused, and the person's log says who
//! stopped it. A link works until the access ends, and once: after that it has nothing to stop.

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::Category;
use carefront_shared::context::RequestContext;
use carefront_shared::emergency::{AccessState, EmergencyAccess, StopLink, StopLinkRefusal, StopRecipient};
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::{EmergencyStore as _, Store as _};
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::context;

use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Response, page_with_status};

/// What a stop link leads to.
enum Found {
    /// A live access the link may stop.
    Live(StopLink, EmergencyAccess),
    /// The access has ended already (stopped, left, expired, or the code changed).
    Ended(EmergencyAccess),
    /// The link is not one carefront made, or its time is over.
    Refused(StopLinkRefusal),
}

async fn find(context: &RequestContext<'_>, visit: &Visit, token: &str) -> Result<Found, PortalError> {
    let link = match StopLink::check(token, &visit.keys().session, context.now) {
        Ok(link) => link,
        Err(refusal) => return Ok(Found::Refused(refusal)),
    };
    let Some(access) = context.store.emergency_access(&link.access_id).await? else {
        return Ok(Found::Refused(StopLinkRefusal::Invalid));
    };
    Ok(if access.state(context.now) == AccessState::Live { Found::Live(link, access) } else { Found::Ended(access) })
}

/// Who the link was sent to, in words that start a sentence of the person's log.
async fn sent_to_words(context: &RequestContext<'_>, link: &StopLink) -> Result<String, PortalError> {
    Ok(match link.recipient() {
        StopRecipient::DutyContact(organisation) => match context.store.organisation(organisation).await? {
            Some(organisation) => format!("The duty manager of {}", organisation.name),
            None => "A care provider's duty manager".to_owned(),
        },
        StopRecipient::Person(person_id) => {
            context.store.person(person_id).await?.map_or_else(|| "Someone who was told".to_owned(), |person| person.display_name)
        }
    })
}

async fn subject_name(context: &RequestContext<'_>, access: &EmergencyAccess) -> Result<String, PortalError> {
    Ok(context.store.person(&access.person_id).await?.map_or_else(|| "the person".to_owned(), |person| person.display_name))
}

fn refused_page(context: &RequestContext<'_>, visit: &Visit, refusal: StopLinkRefusal) -> Result<Response, PortalError> {
    let expired = refusal == StopLinkRefusal::Expired;
    page_with_status(
        context,
        visit,
        if expired { StatusCode::GONE } else { StatusCode::NOT_FOUND },
        "emergency_stop.html",
        context! { refused => true, expired },
    )
}

/// The page for a link whose access has ended already: nothing left to stop.
async fn ended_page(context: &RequestContext<'_>, visit: &Visit, access: &EmergencyAccess) -> Result<Response, PortalError> {
    let subject = subject_name(context, access).await?;
    page_with_status(context, visit, StatusCode::OK, "emergency_stop.html", context! { ended => true, subject, until => uk_time::day_and_time(access.until()) })
}

/// GET /emergency/stop/{token}: who is looking at whose medicines, until when, and the button.
pub async fn page(context: &RequestContext<'_>, visit: &Visit, token: &str) -> Result<Response, PortalError> {
    match find(context, visit, token).await? {
        Found::Refused(refusal) => refused_page(context, visit, refusal),
        Found::Ended(access) => ended_page(context, visit, &access).await,
        Found::Live(_, access) => {
            let subject = subject_name(context, &access).await?;
            page_with_status(
                context,
                visit,
                StatusCode::OK,
                "emergency_stop.html",
                context! {
                    live => true,
                    subject,
                    token,
                    clinician => access.clinician.describe(),
                    since => uk_time::day_and_time(access.started_at),
                    until => uk_time::day_and_time(access.expires_at),
                },
            )
        }
    }
}

/// POST /emergency/stop/{token}: ends the access and writes who stopped it in the person's log,
/// in one plan.
pub async fn stop(context: &RequestContext<'_>, visit: &Visit, token: &str) -> Result<Response, PortalError> {
    let (link, access) = match find(context, visit, token).await? {
        Found::Live(link, access) => (link, access),
        Found::Ended(access) => return ended_page(context, visit, &access).await,
        Found::Refused(refusal) => return refused_page(context, visit, refusal),
    };
    let who = sent_to_words(context, &link).await?;
    let permit = Permit::emergency(&access, context.now).map_err(|_| PortalError::NotFound)?;
    let detail = format!("{who} stopped the emergency access of {} with the link they were sent.", access.clinician.describe());
    let event = permit
        .event(new_id(context.random), AuditAction::EmergencyStopped, Category::Medication, detail)
        .map_err(|error| PortalError::Internal(error.to_string()))?;
    let recorder = Recorder::new();
    recorder.store().end_emergency_access(&access.id, context.now).await?;
    recorder.store().append_audit(&event).await?;
    context.store.apply(&recorder.into_plan()).await?;
    let subject = subject_name(context, &access).await?;
    page_with_status(context, visit, StatusCode::OK, "emergency_stop.html", context! { stopped => true, subject, clinician => access.clinician.describe() })
}
