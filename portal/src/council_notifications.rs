//! The council's view of messages that could not be sent (GOV.UK Notify refused them, or every
//! retry failed): what, to whom (masked), why, and "Send again" — so nobody is left untold
//! without the council knowing. For council administrators.

use carefront_shared::administration::{self, Administrator};
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::domain::CouncilRole;
use carefront_shared::outbox::masked_recipient;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};

use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Request, Response, council, page_with_status, web};

/// How many failed messages the page lists.
const LIMIT: i64 = 200;

async fn administrator(context: &RequestContext<'_>, visit: &Visit) -> Result<Administrator, PortalError> {
    let person = council::require_council_staff(context, visit).await?;
    match context.store.council_role(&person.id).await? {
        Some(CouncilRole::Administrator) => Ok(Administrator { id: person.id.clone(), name: person.display_name.clone() }),
        _ => Err(PortalError::NotFound),
    }
}

/// GET /council/notifications: the failed messages, newest first.
pub async fn page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    administrator(context, visit).await?;
    let mut rows: Vec<Value> = Vec::new();
    for notification in context.store.failed_notifications(LIMIT).await? {
        let to = match &notification.person_id {
            Some(id) => context.store.person(id).await?.map(|person| person.display_name),
            None => None,
        };
        let about = match &notification.subject_id {
            Some(id) if notification.subject_id != notification.person_id => context.store.person(id).await?.map(|person| person.display_name),
            _ => None,
        };
        rows.push(context! {
            id => notification.id,
            what => notification.kind.words(),
            how => carefront_shared::preferences::channel_label(notification.channel),
            to,
            about,
            address => masked_recipient(notification.channel, &notification.recipient),
            why => notification.last_error.unwrap_or_else(|| "No reason was given.".to_owned()),
            tries => notification.attempts,
            when => uk_time::day_and_time(notification.updated_at),
        });
    }
    let done = web::query_param(request, "done").filter(|done| done == "queued");
    page_with_status(context, visit, StatusCode::OK, "council_notifications.html", context! { rows, done })
}

/// POST /council/notifications/{id}/retry: puts a failed message back in the queue, with its
/// line in the administration log, in one plan.
pub async fn retry(context: &RequestContext<'_>, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let by = administrator(context, visit).await?;
    let notification = context.store.failed_notifications(LIMIT).await?.into_iter().find(|notification| notification.id == id).ok_or(PortalError::NotFound)?;
    let entry = administration::notification_retried(new_id(context.random), context.now, &by, &notification);
    let recorder = Recorder::new();
    recorder.store().retry_failed_notification(&notification.id, context.now).await?;
    recorder.store().append_admin_event(&entry).await?;
    match context.store.apply(&recorder.into_plan()).await {
        // Sent again already (a double click): nothing more to do.
        Ok(()) | Err(DbError::Constraint(_)) => Ok(web::redirect("/council/notifications?done=queued")),
        Err(error) => Err(error.into()),
    }
}
