//! Pages for council staff: the monitoring report of every provider (consent discussions,
//! disputes, format needs, paper copies). Council staff read a person's record through the
//! council's statutory grant on the ordinary record pages, where every look is logged and shown
//! to the person.

use carefront_shared::access::{self, AuditAction};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{OrganisationKind, Person, Role};
use carefront_shared::monitoring;
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};

use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Request, Response, page_with_status, web};

/// Council staff of a council organisation; everyone else gets "not found".
pub async fn require_council_staff<'a>(context: &RequestContext<'_>, visit: &'a Visit) -> Result<&'a Person, PortalError> {
    let person = visit.require_person()?;
    if person.role != Role::CouncilStaff {
        return Err(PortalError::NotFound);
    }
    let organisation = match &person.organisation_id {
        Some(id) => context.store.organisation(id).await?,
        None => None,
    };
    match organisation {
        Some(organisation) if organisation.kind == OrganisationKind::Council => Ok(person),
        _ => Err(PortalError::NotFound),
    }
}

/// Logs a council staff member's look at the monitoring report or a provider's list: the
/// council's own statutory look, about no one person's record.
async fn log_monitoring_look(context: &RequestContext<'_>, staff: &Person, detail: impl Into<String>) -> Result<(), PortalError> {
    let event = access::statutory_event(new_id(context.random), context.now, &staff.id, None, AuditAction::MonitoringViewed, None, detail);
    context.store.append_audit(&event).await?;
    Ok(())
}

/// People one page of a provider's list shows.
const PEOPLE_PAGE: i64 = 50;

/// GET /council/monitoring: one row per provider, its figures and a link to the people it
/// supports (a list of its own, a page at a time: a county's providers support tens of
/// thousands of people between them).
pub async fn monitoring(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let staff = require_council_staff(context, visit).await?;
    let mut rows: Vec<Value> = Vec::new();
    for provider in context.store.organisations(OrganisationKind::Provider).await? {
        let Some(report) = monitoring::provider_report(context.store, &provider.id, context.now).await? else { continue };
        let counted = uk_time::day_and_time(report.figured_at);
        rows.push(context! { percent => report.confirmed_percent(), counted, report, provider_id => provider.id });
    }
    log_monitoring_look(context, staff, "looked at the providers' monitoring report").await?;
    page_with_status(context, visit, StatusCode::OK, "council_monitoring.html", context! { current => "home", wide => true, rows })
}

/// GET /council/monitoring/{provider}/people?after=: the people a provider supports today (a
/// live grant to it), [`PEOPLE_PAGE`] at a time in the order of the store's people list, each a
/// link to their record (opened with the council's statutory access). Anything but a provider
/// is not found.
pub async fn provider_people(context: &RequestContext<'_>, request: &Request, visit: &Visit, provider_id: &str) -> Result<Response, PortalError> {
    let staff = require_council_staff(context, visit).await?;
    let provider = match context.store.organisation(provider_id).await? {
        Some(provider) if provider.kind == OrganisationKind::Provider => provider,
        _ => return Err(PortalError::NotFound),
    };
    let after = web::query_param(request, "after").filter(|after| !after.is_empty());
    if after.as_ref().is_some_and(|after| after.len() > 200) {
        return Err(PortalError::BadRequest("The page of people asked for is not one this list gives.".into()));
    }
    let mut page = context.store.supported_people_page(&provider.id, context.now, after.as_deref(), PEOPLE_PAGE + 1).await?;
    let more = page.len() > PEOPLE_PAGE as usize;
    page.truncate(PEOPLE_PAGE as usize);
    let next = match page.last() {
        Some(last) if more => {
            Some(format!("/council/monitoring/{}/people?{}", provider.id, serde_urlencoded::to_string([("after", &last.person.id)]).unwrap_or_default()))
        }
        _ => None,
    };
    let people: Vec<Value> = page.iter().map(|supported| context! { id => supported.person.id, name => supported.person.display_name }).collect();
    log_monitoring_look(context, staff, format!("looked at the people {} supports", provider.name)).await?;
    let extra = context! { current => "home", provider_id => provider.id, provider_name => provider.name, people, next, first_page => after.is_none() };
    page_with_status(context, visit, StatusCode::OK, "council_provider_people.html", extra)
}
