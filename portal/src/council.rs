//! Pages for council staff: the monitoring report of every provider (consent discussions,
//! disputes, format needs, paper copies). Council staff read a person's record through the
//! council's statutory grant on the ordinary record pages, where every look is logged and shown
//! to the person.

use carefront_shared::access::{self, AuditAction};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{OrganisationKind, Person, Role};
use carefront_shared::monitoring;
use carefront_shared::random::new_id;
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};

use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Response, page_with_status};

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

/// GET /council/monitoring: one row per provider.
pub async fn monitoring(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let staff = require_council_staff(context, visit).await?;
    let mut rows: Vec<Value> = Vec::new();
    for provider in context.store.organisations(OrganisationKind::Provider).await? {
        let Some(report) = monitoring::provider_report(context.store, &provider.id, context.now).await? else { continue };
        let mut people = Vec::new();
        for id in monitoring::people_supported(context.store, &provider.id, context.now).await? {
            let name = context.store.person(&id).await?.map_or_else(|| id.clone(), |person| person.display_name);
            people.push(context! { id, name });
        }
        rows.push(context! { percent => report.confirmed_percent(), report, people });
    }
    let event = access::statutory_event(
        new_id(context.random),
        context.now,
        &staff.id,
        None,
        AuditAction::MonitoringViewed,
        None,
        "looked at the providers' monitoring report",
    );
    context.store.append_audit(&event).await?;
    let generated = uk_time::day_and_time(context.now);
    page_with_status(context, visit, StatusCode::OK, "council_monitoring.html", context! { current => "home", wide => true, rows, generated })
}
