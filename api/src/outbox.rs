//! The outbox through the API: GOV.UK Notify's delivery receipts (its callbacks, with the bearer
//! token the service was given), and a sweep a deployment's schedule calls (on Spin, a
//! Kubernetes CronJob or Fermyon Cloud job signing with an `outbox:send` credential), which
//! also does the rest of what the Workers' Cron Triggers do there: the notices time brings
//! and the monitoring figures that no longer stand.

use carefront_shared::context::RequestContext;
use carefront_shared::monitoring;
use carefront_shared::notices::ending;
use carefront_shared::notify::callback::{self, CallbackError};
use carefront_shared::notify::courier;
use carefront_shared::outbox::NotificationStatus;
use carefront_shared::problem::Problem;
use carefront_shared::store::prelude::*;
use http::{StatusCode, header};

use crate::failure::{ApiError, Stored};
use crate::{Request, Response, json};

/// POST /api/v1/notify/callbacks: Notify says where a message stands.
pub async fn notify_callback(context: &RequestContext<'_>, request: &Request) -> Result<Response, ApiError> {
    let Some(token) = context.config.notify.callback_token.as_ref() else {
        return Err(Problem::new(StatusCode::NOT_FOUND).with_detail("This deployment takes no GOV.UK Notify callbacks.").into());
    };
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    let status = callback::read(token, authorization, request.body()).map_err(|error| match error {
        CallbackError::Unauthorised => Problem::new(StatusCode::UNAUTHORIZED).with_detail("The bearer token is missing or wrong."),
        CallbackError::Malformed(why) => Problem::new(StatusCode::BAD_REQUEST).with_type("malformed-callback", "Not a delivery status").with_detail(why),
    })?;
    let ours = if status.status.failed() {
        NotificationStatus::Failed
    } else if status.status == callback::DeliveryState::Delivered {
        NotificationStatus::Delivered
    } else {
        NotificationStatus::Sent
    };
    let known = context.store.notification_status(&status.id.to_string(), ours, status.status.as_str(), context.now).await.or_problem(context)?;
    if !known {
        return Err(Problem::new(StatusCode::NOT_FOUND).with_detail("No message here has that Notify id.").into());
    }
    Ok(http::Response::builder().status(StatusCode::NO_CONTENT).body(Vec::new()).unwrap_or_default())
}

/// What a sweep did.
#[derive(serde::Serialize)]
struct SweepAnswer {
    /// "Access ending in 14 days" notices the scan queued before sending.
    queued: usize,
    /// Providers whose monitoring figures no longer stood and were counted again, so that the
    /// council's next look reads them as kept (the Workers' cron does this on Workers).
    counted: usize,
    sent: usize,
    retrying: usize,
    failed: usize,
}

/// POST /api/v1/outbox/send: queues the notices time brings (access ending in 14 days), counts
/// again the providers' monitoring figures that no longer stand, then sends what is due,
/// sweeping on while sweeps come back full (up to
/// [`courier::SCHEDULED_LIMIT`]). Only where messages are sent: elsewhere they would wait to go stale.
pub async fn send(context: &RequestContext<'_>) -> Result<Response, ApiError> {
    if context.config.notify.sender().is_none() || context.outbound.is_none() {
        return Err(not_configured());
    }
    // A failed scan is logged and the send goes on: messages already due are not held up.
    let queued = match ending::queue_access_ending(context.store, &context.config.origin, context.now, context.random).await {
        Ok(queued) => queued,
        Err(error) => {
            carefront_shared::log_error!("carefront-api: the access-ending scan failed: {error}");
            0
        }
    };
    // Likewise a failed count: the council's next look counts what this did not.
    let counted = match monitoring::count_stale_figures(context.store, context.now).await {
        Ok(counted) => counted,
        Err(error) => {
            carefront_shared::log_error!("carefront-api: counting the monitoring figures failed: {error}");
            0
        }
    };
    match courier::deliver_scheduled(context).await.or_problem(context)? {
        Some(sweep) => Ok(json(StatusCode::OK, &SweepAnswer { queued, counted, sent: sweep.sent, retrying: sweep.retrying, failed: sweep.failed })),
        None => Err(not_configured()),
    }
}

fn not_configured() -> ApiError {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE)
        .with_type("notify-not-configured", "GOV.UK Notify is not configured")
        .with_detail("Set NOTIFY_API_KEY (and the templates) for this deployment; messages wait in the outbox until then.")
        .into()
}
