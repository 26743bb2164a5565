//! The council's monitoring report as JSON (`GET /api/v1/monitoring`): per provider, the share
//! of the people it supports with a consent discussion they confirmed in the last 12 months,
//! discussions awaiting or disputed, open comments, needs recorded, paper-copy choices and
//! emergency accesses. Counts only, never a person; council systems only.

use carefront_shared::access::{self, AuditAction};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::OrganisationKind;
use carefront_shared::monitoring::{self, ProviderReport};
use carefront_shared::problem::Problem;
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Serialize;

use crate::auth::Caller;
use crate::failure::{ApiError, Stored};
use crate::query::Query;
use crate::{Request, Response, json};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderView {
    organisation_id: String,
    organisation_name: String,
    people: usize,
    confirmed_discussions: usize,
    confirmed_percent: usize,
    awaiting_discussions: usize,
    disputed_discussions: usize,
    open_comments: usize,
    needs_recorded: usize,
    paper_copy: usize,
    no_paper_copy: usize,
    emergency_accesses: usize,
    figured_at: DateTime<Utc>,
}

impl From<ProviderReport> for ProviderView {
    fn from(report: ProviderReport) -> ProviderView {
        ProviderView {
            confirmed_percent: report.confirmed_percent(),
            organisation_id: report.organisation_id,
            organisation_name: report.organisation_name,
            people: report.people,
            confirmed_discussions: report.confirmed_discussions,
            awaiting_discussions: report.awaiting_discussions,
            disputed_discussions: report.disputed_discussions,
            open_comments: report.open_comments,
            needs_recorded: report.needs_recorded,
            paper_copy: report.paper_copy,
            no_paper_copy: report.no_paper_copy,
            emergency_accesses: report.emergency_accesses,
            figured_at: report.figured_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    generated_at: DateTime<Utc>,
    providers: Vec<ProviderView>,
}

/// GET /api/v1/monitoring: every provider's report.
pub async fn report(context: &RequestContext<'_>, request: &Request, caller: &Caller) -> Result<Response, ApiError> {
    Query::parse(request.uri().query(), &[])?;
    // The permission is council-only already; this says so again where the data leaves.
    if caller.organisation.kind != OrganisationKind::Council {
        return Err(Problem::new(StatusCode::FORBIDDEN)
            .with_type("permission-required", "The credential lacks a permission")
            .with_detail("The monitoring report is for the council's systems only.")
            .into());
    }
    let mut providers = Vec::new();
    for provider in context.store.organisations(OrganisationKind::Provider).await.or_problem(context)? {
        if let Some(report) = monitoring::provider_report(context.store, &provider.id, context.now).await.or_problem(context)? {
            providers.push(ProviderView::from(report));
        }
    }
    let detail = format!("{} read the providers' monitoring report.", caller.described());
    let event = access::statutory_event(new_id(context.random), context.now, &caller.actor().person_id, None, AuditAction::MonitoringRead, None, detail);
    context.store.append_audit(&event).await.or_problem(context)?;
    Ok(json(StatusCode::OK, &Report { generated_at: context.now, providers }))
}
