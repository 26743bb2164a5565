//! carefront's JSON API for providers' and the council's systems: `/api/v1/...`, RFC 9457
//! problem documents for every error, one router for every runtime.

use carefront_shared::context::RequestContext;
use carefront_shared::receipt::ConsentReceipt;
use http::{HeaderValue, Method, StatusCode, header};
use serde::Serialize;

pub use carefront_shared::body_too_large;
pub use carefront_shared::problem::{PROBLEM_JSON, Problem};

/// Largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// An HTTP request as every runtime hands it to the router.
pub type Request = http::Request<Vec<u8>>;
/// An HTTP response as the router hands it back.
pub type Response = http::Response<Vec<u8>>;

#[derive(Serialize)]
struct Health {
    status: &'static str,
    store: &'static str,
}

/// Answers one API request.
pub async fn handle(context: &RequestContext<'_>, request: Request) -> Response {
    let mut response = route(context, &request).await.unwrap_or_else(Problem::into_response);
    apply_headers(&mut response);
    response
}

async fn route(context: &RequestContext<'_>, request: &Request) -> Result<Response, Problem> {
    if body_too_large(request, MAX_BODY_BYTES) {
        return Err(Problem::new(StatusCode::PAYLOAD_TOO_LARGE).with_detail(format!("Request bodies are limited to {MAX_BODY_BYTES} bytes.")));
    }
    match request.uri().path() {
        "/api/v1/health" => {
            if let Some(refusal) = refuse_method(request, &[Method::GET, Method::HEAD]) {
                return Ok(refusal);
            }
            match context.store.health().await {
                Ok(()) => Ok(json(StatusCode::OK, &Health { status: "ok", store: "ok" })),
                Err(error) => Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                    .with_type("store-unavailable", "The backing store is unavailable")
                    .with_detail(error.to_string())),
            }
        }
        "/api/v1/consent-receipts/verify" => {
            if let Some(refusal) = refuse_method(request, &[Method::POST]) {
                return Ok(refusal);
            }
            verify_receipt(context, request)
        }
        _ => Err(Problem::new(StatusCode::NOT_FOUND).with_detail("There is no API resource at this path.")),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptCheck {
    valid: bool,
    #[serde(rename = "consentReceiptID")]
    consent_receipt_id: String,
}

/// POST /api/v1/consent-receipts/verify: whether a receipt presented later is one carefront
/// issued, unchanged. Anyone may ask; the answer reveals nothing the receipt does not hold.
fn verify_receipt(context: &RequestContext<'_>, request: &Request) -> Result<Response, Problem> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some("application/json") {
        return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE).with_detail("Send the receipt as application/json."));
    }
    let receipt: ConsentReceipt = serde_json::from_slice(request.body()).map_err(|error| {
        Problem::new(StatusCode::BAD_REQUEST).with_type("malformed-receipt", "The receipt could not be read").with_detail(error.to_string())
    })?;
    let valid = carefront_shared::receipt::verify(&context.config.session_key, &receipt);
    Ok(json(StatusCode::OK, &ReceiptCheck { valid, consent_receipt_id: receipt.body.consent_receipt_id }))
}

/// The answer when the runtime cannot build a request context: a 503 problem document, with
/// the reason in the log only.
pub fn unavailable(reason: &str) -> Response {
    eprintln!("carefront-api unavailable: {reason}");
    let mut response = Problem::new(StatusCode::SERVICE_UNAVAILABLE)
        .with_type("store-unavailable", "The service is unavailable")
        .with_detail("Try again in a few minutes.")
        .into_response();
    apply_headers(&mut response);
    response
}

/// A 405 problem with an `Allow` list if the resource does not support the request's method.
fn refuse_method(request: &Request, methods: &[Method]) -> Option<Response> {
    if methods.contains(request.method()) {
        return None;
    }
    let allowed = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    let mut response = Problem::new(StatusCode::METHOD_NOT_ALLOWED).with_detail(format!("This resource allows {allowed}.")).into_response();
    if let Ok(value) = HeaderValue::from_str(&allowed) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Some(response)
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = http::Response::new(body);
            *response.status_mut() = status;
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(error) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR).with_detail(error.to_string()).into_response(),
    }
}

fn apply_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
mod workers_entry;

#[cfg(target_os = "wasi")]
mod spin_entry;
