//! Consent for the API's handlers: every read and write of a person's information goes through a
//! [`Permit`] that only the consent decision makes, with the caller's system as the actor, over
//! the person's grants; what it may not see is 404. Every read and write is audited in the
//! person's own access log, by an event built from the permit.

use carefront_shared::access::{NotCovered, Permit};
use carefront_shared::consent::{Action, Category, Grant};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::AuditEvent;
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;

use crate::auth::Caller;
use crate::failure::{ApiError, Stored, internal, not_found};

/// The person's grants (all states: the decision judges them).
pub async fn grants_for(context: &RequestContext<'_>, subject_id: &str) -> Result<Vec<Grant>, ApiError> {
    context.store.grants_for_subject(subject_id).await.or_problem(context)
}

/// The caller's leave to do `action` on `category` of the person's record; 404 if it has none.
pub async fn ask_permit(context: &RequestContext<'_>, caller: &Caller, subject_id: &str, action: Action, category: Category) -> Result<Permit, ApiError> {
    let grants = grants_for(context, subject_id).await?;
    Permit::ask(&caller.actor(), subject_id, action, category, &grants, context.now).map_err(|_| not_found())
}

/// The caller's leave to see whatever it may of the person, given `grants` (the organisation
/// supports them), or `None`.
pub fn support_permit(context: &RequestContext<'_>, caller: &Caller, subject_id: &str, grants: &[Grant]) -> Option<Permit> {
    Permit::ask_each(&caller.actor(), subject_id, Action::View, &Category::ALL, grants, context.now).ok()
}

/// The caller's leave to see some part of the person's record (the organisation supports them);
/// 404 if it may see nothing of them.
pub async fn ask_support(context: &RequestContext<'_>, caller: &Caller, subject_id: &str) -> Result<Permit, ApiError> {
    let grants = grants_for(context, subject_id).await?;
    support_permit(context, caller, subject_id, &grants).ok_or_else(not_found)
}

/// A new audit event's id.
pub fn event_id(context: &RequestContext<'_>) -> String {
    new_id(context.random)
}

/// An event the permit cannot ground is a bug of ours, never the caller's fault.
pub fn grounded(event: Result<AuditEvent, NotCovered>) -> Result<AuditEvent, ApiError> {
    event.map_err(|error| internal(&error.to_string()))
}

/// Appends events to the log (before the answer leaves), in one batch.
pub async fn log(context: &RequestContext<'_>, events: &[AuditEvent]) -> Result<(), ApiError> {
    context.store.append_audits(events).await.or_problem(context)
}

/// Logs that the caller read `category` of the person's record under `permit`: `what` says
/// what, to the person ("your care plan").
pub async fn log_read(context: &RequestContext<'_>, caller: &Caller, permit: &Permit, category: Category, what: &str) -> Result<(), ApiError> {
    let detail = format!("{} read {what}.", caller.described());
    let event = grounded(permit.viewed(event_id(context), category, detail))?;
    log(context, &[event]).await
}
