//! carefront's HTML portal for people receiving care and their family carers: one router,
//! called with a plain HTTP request by every runtime entry (Workers, Spin, native tests).

mod account;
pub mod assets;
mod care;
mod comments;
mod council;
mod council_credentials;
mod discussions;
mod emergency;
mod enrolment;
pub mod error;
mod export;
mod needs;
mod pages;
mod print;
mod record;
mod sharing;
mod visit;
mod web;

use carefront_shared::context::RequestContext;
use http::{Method, StatusCode};
use minijinja::context;

use crate::error::PortalError;
use crate::visit::Visit;

/// Largest request body the portal reads: its forms and passkey responses are small.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An HTTP request as every runtime hands it to the router.
pub type Request = http::Request<Vec<u8>>;
/// An HTTP response as the router hands it back.
pub type Response = http::Response<Vec<u8>>;

/// Answers one portal request.
pub async fn handle(context: &RequestContext<'_>, request: Request) -> Response {
    let mut response = match assets::by_path(request.uri().path()) {
        Some(asset) if request.method() == Method::GET || request.method() == Method::HEAD => web::static_file(asset.content_type, asset.body),
        _ => handle_page(context, &request).await,
    };
    web::apply_security_headers(&mut response);
    response
}

async fn handle_page(context: &RequestContext<'_>, request: &Request) -> Response {
    // The portal's configuration is read with App::Portal, which requires these keys.
    let Some(keys) = context.config.browser.clone() else { return unavailable("the portal is configured without SESSION_KEY and CSRF_KEY") };
    let mut visit = Visit::begin(context, keys, request);
    let response = match route(context, request, &mut visit).await {
        Ok(response) => response,
        Err(error) => error_response(context, request, &visit, &error),
    };
    visit.finish(response)
}

async fn route(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    if carefront_shared::body_too_large(request, MAX_BODY_BYTES) {
        return Err(PortalError::PayloadTooLarge);
    }
    visit.load_session(context).await?;
    let path = request.uri().path();
    let method = request.method().clone();
    if method == Method::POST {
        visit.check_csrf(context, request)?;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET | Method::HEAD, [""]) => page(context, visit, "start.html", context! {}),
        (Method::GET | Method::HEAD, ["invitation"]) => enrolment::invitation_page(context, request, visit),
        (Method::POST, ["invitation"]) => enrolment::accept_invitation(context, request, visit).await,
        (Method::GET | Method::HEAD, ["passkeys", "create"]) => enrolment::create_passkey_page(context, request, visit).await,
        (Method::POST, ["passkeys", "create", "options"]) => enrolment::registration_options(context, request, visit).await,
        (Method::POST, ["passkeys", "create", "finish"]) => enrolment::finish_registration(context, request, visit).await,
        (Method::GET | Method::HEAD, ["sign-in"]) => enrolment::sign_in_page(context, request, visit),
        (Method::POST, ["sign-in", "options"]) => enrolment::authentication_options(context, visit).await,
        (Method::POST, ["sign-in", "finish"]) => enrolment::finish_authentication(context, request, visit).await,
        (Method::POST, ["sign-out"]) => account::sign_out(context, visit).await,
        (Method::POST, ["sessions", "end"]) => account::end_session(context, request, visit).await,
        (Method::GET | Method::HEAD, ["signed-out"]) => page(context, visit, "signed_out.html", context! {}),
        (Method::GET | Method::HEAD, ["home"]) => account::home(context, visit).await,
        (Method::GET | Method::HEAD, ["passkeys"]) => account::passkeys_page(context, request, visit).await,
        (Method::POST, ["passkeys", id, "rename"]) => account::rename_passkey(context, request, visit, id).await,
        (Method::POST, ["passkeys", id, "remove"]) => account::remove_passkey(context, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id]) => account::person_page(context, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "care-plan"]) => record::care_plan(context, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "guide"]) => record::guide(context, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "medicines"]) => record::medicines(context, request, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "visits"]) => record::visits(context, request, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "contacts"]) => record::contacts(context, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "documents"]) => record::documents(context, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "documents", document]) => record::download(context, visit, id, document).await,
        (Method::GET | Method::HEAD, ["people", id, "download"]) => export::page_for(context, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "download", file]) => export::file(context, request, visit, id, file).await,
        (Method::GET | Method::HEAD, ["people", id, "needs"]) => needs::page(context, request, visit, id).await,
        (Method::POST, ["people", id, "needs"]) => needs::save(context, request, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "comments"]) => comments::list(context, request, visit, id).await,
        (Method::POST, ["people", id, "comments"]) => comments::add(context, request, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "comments", "new"]) => comments::new_page(context, request, visit, id).await,
        (Method::GET | Method::HEAD, ["people", id, "discussions"]) => discussions::list(context, request, visit, id).await,
        (Method::GET | Method::HEAD, ["council", "monitoring"]) => council::monitoring(context, visit).await,
        (Method::GET | Method::HEAD, ["people", id, "print"]) => print::paper_copy(context, visit, id).await,
        (Method::POST, ["people", id, "print"]) => print::paper_copy_with_code(context, request, visit, id).await,
        (Method::POST, ["people", id, "discussions", discussion]) => discussions::answer(context, request, visit, id, discussion).await,
        (Method::GET | Method::HEAD, ["access"]) => sharing::access_page(context, request, visit, None).await,
        (Method::GET | Method::HEAD, ["access", "add"]) => sharing::add_page(context, visit, None).await,
        (Method::POST, ["access", "add"]) => sharing::add(context, request, visit, None).await,
        (Method::GET | Method::HEAD, ["access", grant, "edit"]) => sharing::edit_page(context, request, visit, None, grant).await,
        (Method::POST, ["access", grant, "edit"]) => sharing::edit(context, request, visit, None, grant).await,
        (Method::GET | Method::HEAD, ["people", id, "access"]) => sharing::access_page(context, request, visit, Some(id)).await,
        (Method::GET | Method::HEAD, ["people", id, "access", "add"]) => sharing::add_page(context, visit, Some(id)).await,
        (Method::POST, ["people", id, "access", "add"]) => sharing::add(context, request, visit, Some(id)).await,
        (Method::GET | Method::HEAD, ["people", id, "access", grant, "edit"]) => sharing::edit_page(context, request, visit, Some(id), grant).await,
        (Method::POST, ["people", id, "access", grant, "edit"]) => sharing::edit(context, request, visit, Some(id), grant).await,
        (Method::POST, ["people", id, "access", grant, "revoke"]) => sharing::revoke(context, request, visit, Some(id), grant).await,
        (Method::GET | Method::HEAD, ["people", id, "receipts", name]) => sharing::receipt_page(context, visit, Some(id), name).await,
        (Method::GET | Method::HEAD, ["people", id, "access-log"]) => sharing::access_log(context, request, visit, Some(id)).await,
        (Method::POST, ["reauthenticate", "options"]) => enrolment::reauthentication_options(context, visit).await,
        (Method::POST, ["reauthenticate", "finish"]) => enrolment::finish_reauthentication(context, request, visit).await,
        (Method::POST, ["access", id, "revoke"]) => sharing::revoke(context, request, visit, None, id).await,
        (Method::GET | Method::HEAD, ["receipts", name]) => sharing::receipt_page(context, visit, None, name).await,
        (Method::GET | Method::HEAD, ["access-log"]) => sharing::access_log(context, request, visit, None).await,
        (Method::GET | Method::HEAD, ["emergency"]) => emergency::entry_page(context, request, visit).await,
        (Method::POST, ["emergency"]) => emergency::use_code(context, request, visit).await,
        (Method::GET | Method::HEAD, ["emergency", "record"]) => emergency::record(context, request, visit).await,
        (Method::POST, ["emergency", "leave"]) => emergency::leave(context, request, visit).await,
        (Method::GET | Method::HEAD, ["emergency-code"]) => emergency::manage(context, request, visit, None).await,
        (Method::POST, ["emergency-code"]) => emergency::change(context, request, visit, None).await,
        (Method::POST, ["emergency-code", "reauthenticate", "options"]) => emergency::reauthentication_options(context, visit, None).await,
        (Method::POST, ["emergency-code", "reauthenticate", "finish"]) => emergency::finish_reauthentication(context, request, visit, None).await,
        (Method::GET | Method::HEAD, ["people", id, "emergency-code"]) => emergency::manage(context, request, visit, Some(id)).await,
        (Method::POST, ["people", id, "emergency-code"]) => emergency::change(context, request, visit, Some(id)).await,
        (Method::POST, ["people", id, "emergency-code", "reauthenticate", "options"]) => emergency::reauthentication_options(context, visit, Some(id)).await,
        (Method::POST, ["people", id, "emergency-code", "reauthenticate", "finish"]) => {
            emergency::finish_reauthentication(context, request, visit, Some(id)).await
        }
        (Method::GET | Method::HEAD, ["council", "emergency-access"]) => emergency::council_list(context, visit).await,
        (Method::GET | Method::HEAD, ["council", "credentials"]) => council_credentials::list_page(context, request, visit).await,
        (Method::GET | Method::HEAD, ["council", "credentials", "new"]) => council_credentials::new_page(context, visit).await,
        (Method::POST, ["council", "credentials", "new"]) => council_credentials::create(context, request, visit).await,
        (Method::POST, ["council", "credentials", "reauthenticate", "finish"]) => council_credentials::finish_reauthentication(context, request, visit).await,
        (Method::POST, ["council", "credentials", key_id, "revoke"]) => council_credentials::revoke(context, visit, key_id).await,
        (_, segments) => Err(match allowed_methods(segments) {
            Some(allowed) => PortalError::MethodNotAllowed(allowed),
            None => PortalError::NotFound,
        }),
    }
}

/// The methods a known path allows, for 405 answers; `None` for unknown paths.
fn allowed_methods(segments: &[&str]) -> Option<&'static str> {
    match segments {
        [""]
        | ["passkeys", "create"]
        | ["sign-in"]
        | ["signed-out"]
        | ["home"]
        | ["passkeys"]
        | ["access"]
        | ["access-log"]
        | ["people", _]
        | ["people", _, "care-plan" | "guide" | "medicines" | "visits" | "contacts" | "documents"]
        | ["people", _, "documents", _]
        | ["people", _, "download"]
        | ["people", _, "download", _]
        | ["people", _, "comments", "new"]
        | ["people", _, "discussions"]
        | ["council", "monitoring"]
        | ["receipts", _]
        | ["people", _, "access" | "access-log"]
        | ["people", _, "receipts", _]
        | ["council", "credentials"] => Some("GET, HEAD"),
        ["invitation"]
        | ["access", "add"]
        | ["people", _, "needs" | "comments" | "print"]
        | ["access", _, "edit"]
        | ["people", _, "access", "add"]
        | ["people", _, "access", _, "edit"]
        | ["council", "credentials", "new"] => Some("GET, HEAD, POST"),
        ["passkeys", "create", "options" | "finish"]
        | ["sign-in", "options" | "finish"]
        | ["sign-out"]
        | ["sessions", "end"]
        | ["passkeys", _, "rename" | "remove"]
        | ["access", _, "revoke"]
        | ["people", _, "discussions", _]
        | ["people", _, "access", _, "revoke"]
        | ["reauthenticate", "options" | "finish"]
        | ["council", "credentials", "reauthenticate", "finish"]
        | ["council", "credentials", _, "revoke"] => Some("POST"),
        // Emergency access (emergency.rs).
        ["emergency", "record"] | ["council", "emergency-access"] => Some("GET, HEAD"),
        ["emergency"] | ["emergency-code"] | ["people", _, "emergency-code"] => Some("GET, HEAD, POST"),
        ["emergency", "leave"]
        | ["emergency-code", "reauthenticate", "options" | "finish"]
        | ["people", _, "emergency-code", "reauthenticate", "options" | "finish"] => Some("POST"),
        _ => None,
    }
}

/// Renders a page for this visit (adds the CSRF token, who is signed in, and their preferences).
fn page(context: &RequestContext<'_>, visit: &Visit, template: &str, extra: minijinja::Value) -> Result<Response, PortalError> {
    page_with_status(context, visit, StatusCode::OK, template, extra)
}

/// Renders a page with a status other than 200 (a form shown again with an error).
fn page_with_status(context: &RequestContext<'_>, visit: &Visit, status: StatusCode, template: &str, extra: minijinja::Value) -> Result<Response, PortalError> {
    Ok(web::html(status, pages::render(template, visit.page_context(context, extra))?))
}

fn error_response(context: &RequestContext<'_>, request: &Request, visit: &Visit, error: &PortalError) -> Response {
    let reference = error.needs_reference().then(|| carefront_shared::random::token(context.random, 6));
    if let Some(reference) = &reference {
        // The only record of a server-side failure: the runtime's log, keyed by the reference
        // the person sees. No care information is in the message.
        eprintln!("carefront-portal error {reference}: {} {}: {error}", request.method(), request.uri().path());
    }
    if matches!(error, PortalError::SignInRequired) && !wants_json(request) {
        return web::redirect("/sign-in");
    }
    let mut response = if wants_json(request) {
        error.problem(reference.as_deref()).into_response()
    } else {
        let (title, lines) = error.explain();
        let body = pages::render("error.html", visit.page_context(context, context! { title, lines, reference }))
            .unwrap_or_else(|_| format!("<!DOCTYPE html><title>{title}</title><h1>{title}</h1>"));
        web::html(error.status(), body)
    };
    *response.status_mut() = error.status();
    if let PortalError::MethodNotAllowed(allowed) = error {
        response.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static(allowed));
    }
    response
}

/// The answer when the runtime cannot build a request context (no database binding, no
/// configuration, no entropy): a 503 page, with the reason in the log only.
pub fn unavailable(reason: &str) -> Response {
    eprintln!("carefront-portal unavailable: {reason}");
    let error = PortalError::Store(carefront_shared::db::DbError::Unavailable(reason.to_owned()));
    let (title, lines) = error.explain();
    let body = pages::render("error.html", context! { title, lines, signed_in => false })
        .unwrap_or_else(|_| format!("<!DOCTYPE html><title>{title}</title><h1>{title}</h1>"));
    let mut response = web::html(StatusCode::SERVICE_UNAVAILABLE, body);
    web::apply_security_headers(&mut response);
    response
}

/// Script-facing endpoints (the passkey ceremonies) answer in JSON, pages in HTML.
fn wants_json(request: &Request) -> bool {
    let path = request.uri().path();
    path.ends_with("/options") || path.ends_with("/finish")
}

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
mod workers_entry;

#[cfg(target_os = "wasi")]
mod spin_entry;
