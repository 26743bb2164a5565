//! The portal's side of `carefront_shared::limits`: a try at a code is counted against this
//! request's source and that code before the code is checked, and given back if the code was
//! right; ceremony starts without a session are counted per source.

use carefront_shared::context::RequestContext;
use carefront_shared::limits::{self, CEREMONY_STARTS, CODE_FAILURES, CodeKind, StartKind};
use carefront_shared::store::prelude::*;
use chrono::{DateTime, Utc};
use http::{HeaderValue, header};

use crate::Response;
use crate::error::PortalError;

/// A try at a code, counted as a failure until [`CodeTry::was_right`] gives it back.
#[must_use = "a right code must give its try back"]
pub struct CodeTry {
    key: String,
    window_start: DateTime<Utc>,
}

/// What became of counting a try at a code.
pub enum Counted {
    /// The code may be checked.
    Check(CodeTry),
    /// This source has failed at this code too often in this window: the code must not even be
    /// checked, right or wrong. Seconds until it may try again.
    Slowed(i64),
}

/// Counts a try from this request's source at the code with `selector`.
pub async fn count_code_try(context: &RequestContext<'_>, kind: CodeKind, selector: &str) -> Result<Counted, PortalError> {
    let key = limits::failure_key(kind, context.client.as_deref(), selector);
    let window_start = CODE_FAILURES.window_start(context.now);
    let tries = context.store.count_attempt(&key, window_start).await?;
    Ok(if CODE_FAILURES.exceeded(tries) { Counted::Slowed(CODE_FAILURES.retry_after(context.now)) } else { Counted::Check(CodeTry { key, window_start }) })
}

impl CodeTry {
    /// The code was right: the try was no failure, so it no longer counts.
    pub async fn was_right(self, context: &RequestContext<'_>) -> Result<(), PortalError> {
        Ok(context.store.forgive_attempt(&self.key, self.window_start).await?)
    }
}

/// Counts a ceremony start of `kind` from this request's source; too many in the window is
/// [`PortalError::TooManyRequests`].
pub async fn count_start(context: &RequestContext<'_>, kind: StartKind) -> Result<(), PortalError> {
    let key = limits::start_key(kind, context.client.as_deref());
    let starts = context.store.count_attempt(&key, CEREMONY_STARTS.window_start(context.now)).await?;
    if CEREMONY_STARTS.exceeded(starts) {
        return Err(PortalError::TooManyRequests { retry_after: CEREMONY_STARTS.retry_after(context.now) });
    }
    Ok(())
}

/// "15 minutes", "1 minute": how long to wait, for a person, rounded up.
pub fn wait_words(seconds: i64) -> String {
    let minutes = (seconds.max(1) + 59) / 60;
    if minutes == 1 { "1 minute".to_owned() } else { format!("{minutes} minutes") }
}

/// Adds `Retry-After` to a 429 answer.
pub fn with_retry_after(mut response: Response, seconds: i64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}
