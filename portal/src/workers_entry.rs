//! The Cloudflare Workers entry: a thin adapter onto [`crate::handle`].

use worker::{Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent, event};

#[event(fetch)]
async fn fetch(request: Request, env: Env, context: Context) -> Result<Response> {
    carefront_workers::serve(request, &env, carefront_shared::config::App::Portal, crate::MAX_BODY_BYTES, crate::handle, crate::unavailable, &context).await
}

/// The Cron Triggers (wrangler.toml `[triggers]`): every minute, sends what is due in the
/// outbox, retries included, so no message waits on someone making a change; once a day
/// ([`carefront_workers::NOTICES_CRON`]), first queues the "access ending in 14 days" notices.
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _context: ScheduleContext) {
    carefront_workers::scheduled(env, carefront_shared::config::App::Portal, &event.cron()).await;
}
