//! Consent for the API's handlers: every read and write of a person's information is decided by
//! `consent::decide`, with the caller's organisation as the actor, over the grants live now;
//! what it may not see is 404. Every read and write is audited in the person's own access log,
//! as the person reads it.

use std::collections::BTreeSet;

use carefront_shared::consent::{self, Action, Allowed, Category, Decision, Grant, GrantState, Resource};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::AuditEvent;
use carefront_shared::random::new_id;

use crate::auth::Caller;
use crate::failure::{ApiError, Stored, not_found};

/// How an audit event names what allowed it: `grant:<id> (<basis>)`.
pub fn basis(allowed: &Allowed) -> String {
    match allowed {
        Allowed::OwnRecord => "own_record".to_owned(),
        Allowed::Grant { grant_id, basis } => format!("grant:{grant_id} ({})", basis.as_str()),
    }
}

/// What `decide` says about the caller doing `action` on `category` of `subject_id`'s record.
pub fn decide(caller: &Caller, subject_id: &str, action: Action, category: Category, grants: &[Grant], now: chrono::DateTime<chrono::Utc>) -> Option<Allowed> {
    match consent::decide(&caller.actor(), subject_id, action, Resource::Category(category), grants, now) {
        Decision::Allow(allowed) => Some(allowed),
        Decision::Deny(_) => None,
    }
}

/// The person's grants (all states: `decide` judges them).
pub async fn grants_for(context: &RequestContext<'_>, subject_id: &str) -> Result<Vec<Grant>, ApiError> {
    context.store.grants_for_subject(subject_id).await.or_problem(context)
}

/// Whether the caller may do `action` on `category` of the person's record; 404 if not.
pub async fn authorise(context: &RequestContext<'_>, caller: &Caller, subject_id: &str, action: Action, category: Category) -> Result<Allowed, ApiError> {
    let grants = grants_for(context, subject_id).await?;
    decide(caller, subject_id, action, category, &grants, context.now).ok_or_else(not_found)
}

/// The first thing that lets the caller see anything of the person (the organisation supports
/// them), or `None`.
pub fn supports(caller: &Caller, subject_id: &str, grants: &[Grant], now: chrono::DateTime<chrono::Utc>) -> Option<Allowed> {
    Category::ALL.into_iter().find_map(|category| decide(caller, subject_id, Action::View, category, grants, now))
}

/// Whether the organisation supports the person (may see some part of their record); 404 if not.
pub async fn authorise_support(context: &RequestContext<'_>, caller: &Caller, subject_id: &str) -> Result<Allowed, ApiError> {
    let grants = grants_for(context, subject_id).await?;
    supports(caller, subject_id, &grants, context.now).ok_or_else(not_found)
}

/// The grants to the caller's organisation (all states), and the people a live one is about.
pub async fn organisation_grants(context: &RequestContext<'_>, caller: &Caller) -> Result<(Vec<Grant>, BTreeSet<String>), ApiError> {
    let grants = context.store.grants_held_by(&caller.actor().person_id, Some(&caller.organisation.id)).await.or_problem(context)?;
    let subjects = grants.iter().filter(|grant| grant.state(context.now) == GrantState::Active).map(|grant| grant.subject_id.clone()).collect();
    Ok((grants, subjects))
}

/// An audit event about `subject_id`, done by the caller's system.
pub fn event(
    context: &RequestContext<'_>,
    caller: &Caller,
    subject_id: &str,
    action: &str,
    category: Option<Category>,
    basis: String,
    detail: String,
) -> AuditEvent {
    AuditEvent {
        id: new_id(context.random),
        at: context.now,
        actor_id: Some(caller.actor().person_id),
        acting_for: None,
        subject_id: Some(subject_id.to_owned()),
        action: action.to_owned(),
        category: category.map(|category| category.as_str().to_owned()),
        basis: Some(basis),
        detail,
    }
}

/// Appends events to the log (before the answer leaves).
pub async fn log(context: &RequestContext<'_>, events: &[AuditEvent]) -> Result<(), ApiError> {
    context.store.append_audits(events).await.or_problem(context)
}

/// Logs that the caller read `category` of the person's record: `what` says what, to the person
/// ("your care plan").
pub async fn log_read(
    context: &RequestContext<'_>,
    caller: &Caller,
    subject_id: &str,
    category: Category,
    allowed: &Allowed,
    what: &str,
) -> Result<(), ApiError> {
    let detail = format!("{} read {what}.", caller.described());
    let event = event(context, caller, subject_id, &format!("api.{}_read", category.as_str()), Some(category), basis(allowed), detail);
    log(context, &[event]).await
}
