//! The Cloudflare Workers entry: a thin adapter onto [`crate::handle`].

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(request: Request, env: Env, context: Context) -> Result<Response> {
    carefront_workers::serve(request, &env, carefront_shared::config::App::Api, crate::MAX_REQUEST_BYTES, crate::handle, crate::unavailable, &context).await
}
