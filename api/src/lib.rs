//! carefront's JSON API for providers' and the council's systems: `/api/v1/...`, RFC 9457
//! problem documents for every error, one router for every runtime. Every route is in
//! [`routes::ROUTES`]; all but a few public ones need a request signed with a system
//! credential ([`auth`]), and the handler gets the [`Caller`].

mod access;
mod auth;
mod body;
mod comments;
mod discussions;
mod export;
mod failure;
mod fhir;
mod idempotency;
mod monitoring;
mod needs;
mod onboarding;
mod outbox;
mod people;
mod query;
mod record;
mod record_writes;
pub mod routes;
mod writes;

use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::receipt::ConsentReceipt;
use carefront_shared::record_writes::VersionKind;
use carefront_shared::store::prelude::*;
use http::{HeaderValue, Method, StatusCode, header};
use serde::Serialize;

pub use auth::Caller;
pub use carefront_shared::body_too_large;
pub use carefront_shared::problem::{PROBLEM_JSON, Problem};

use crate::failure::ApiError;
use crate::routes::{Handler, Public, Signed};
use carefront_shared::routing::Resolution;

/// The OpenAPI 3.1 document describing every route, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// Largest request body the API reads, but for a document or a FHIR Bundle.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Largest request body the runtimes read: a FHIR Bundle carrying a 10 MiB document (the route
/// decides which limit applies).
pub const MAX_REQUEST_BYTES: usize = MAX_BUNDLE_BYTES;

/// The largest document upload: the file itself, and room for nothing else.
pub const MAX_DOCUMENT_BODY_BYTES: usize = carefront_shared::record::MAX_DOCUMENT_BYTES + 64 * 1024;

/// The largest FHIR Bundle: one document of the largest size carried inline as base64 (4 bytes
/// for every 3), and 1 MiB of everything else.
pub const MAX_BUNDLE_BYTES: usize = carefront_shared::record::MAX_DOCUMENT_BYTES.div_ceil(3) * 4 + MAX_BODY_BYTES;

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
    let mut response = route(context, &request).await;
    if request.method() == Method::HEAD {
        response.body_mut().clear();
    }
    apply_headers(&mut response);
    response
}

async fn route(context: &RequestContext<'_>, request: &Request) -> Response {
    if body_too_large(request, MAX_REQUEST_BYTES) {
        return too_large(MAX_REQUEST_BYTES);
    }
    let (route, values) = match routes::resolve(request.method(), request.uri().path()) {
        Resolution::Found(route, values) => (route, values),
        Resolution::MethodNotAllowed(_) if body_too_large(request, MAX_BODY_BYTES) => return too_large(MAX_BODY_BYTES),
        Resolution::MethodNotAllowed(allowed) => return method_not_allowed(&allowed),
        Resolution::NotFound if body_too_large(request, MAX_BODY_BYTES) => return too_large(MAX_BODY_BYTES),
        Resolution::NotFound => return Problem::new(StatusCode::NOT_FOUND).with_detail("There is no API resource at this path.").into_response(),
    };
    // Only a document is larger than an ordinary body.
    let limit = match route.handler {
        Handler::Signed(_, Signed::AddDocument) => MAX_DOCUMENT_BODY_BYTES,
        Handler::Signed(_, Signed::ImportFhir) => MAX_BUNDLE_BYTES,
        _ => MAX_BODY_BYTES,
    };
    if body_too_large(request, limit) {
        return too_large(limit);
    }
    let answer = match route.handler {
        Handler::Public(Public::NotifyCallback) => outbox::notify_callback(context, request).await,
        Handler::Public(endpoint) => public(context, request, endpoint).await.map_err(ApiError::from),
        Handler::Signed(permission, endpoint) => {
            let caller = match auth::authenticate(context, request).await {
                Ok(caller) => caller,
                Err(refusal) => return refusal,
            };
            if !caller.may(permission) {
                return Problem::new(StatusCode::FORBIDDEN)
                    .with_type("permission-required", "The credential lacks a permission")
                    .with_detail(format!("This credential does not have the {} permission. Ask the council for a credential that has it.", permission.as_str()))
                    .into_response();
            }
            signed(context, request, &caller, endpoint, &values).await
        }
    };
    answer.unwrap_or_else(ApiError::into_response)
}

async fn public(context: &RequestContext<'_>, request: &Request, endpoint: Public) -> Result<Response, Problem> {
    match endpoint {
        Public::Health => match context.store.health().await {
            Ok(()) => Ok(json(StatusCode::OK, &Health { status: "ok", store: "ok" })),
            Err(error) => {
                // The database's own words (its host, file or driver) are for the log only.
                carefront_shared::log_error!("carefront-api health: the store is unavailable: {error}");
                Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                    .with_type("store-unavailable", "The backing store is unavailable")
                    .with_detail("The service cannot reach its backing store. Try again later."))
            }
        },
        Public::OpenApi => {
            let mut response = http::Response::new(OPENAPI.as_bytes().to_vec());
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(response)
        }
        Public::VerifyReceipt => verify_receipt(context, request),
        Public::NotifyCallback => Err(Problem::new(StatusCode::NOT_FOUND)),
    }
}

async fn signed(context: &RequestContext<'_>, request: &Request, caller: &Caller, endpoint: Signed, values: &[&str]) -> Result<Response, ApiError> {
    match (endpoint, values) {
        (Signed::ListPeople, []) => Ok(people::list(context, request, caller).await?),
        (Signed::SendOutbox, []) => outbox::send(context).await,
        (Signed::AddPerson, []) => onboarding::add(context, request, caller).await,
        (Signed::ImportPeople, []) => onboarding::import(context, request, caller).await,
        (Signed::ShowPerson, [id]) => Ok(people::show(context, caller, id).await?),
        (Signed::CarePlan, [id]) => record::care_plan(context, request, caller, id).await,
        (Signed::Guide, [id]) => record::guide(context, request, caller, id).await,
        (Signed::Medicines, [id]) => record::medicines(context, request, caller, id).await,
        (Signed::ListAdministrations, [id]) => record::administrations(context, request, caller, id).await,
        (Signed::RecordAdministration, [id]) => writes::record_administration(context, request, caller, id).await,
        (Signed::ListVisits, [id]) => record::visits(context, request, caller, id).await,
        (Signed::RecordVisit, [id]) => writes::record_visit(context, request, caller, id).await,
        (Signed::Contacts, [id]) => record::contacts(context, request, caller, id).await,
        (Signed::Documents, [id]) => record::documents(context, request, caller, id).await,
        (Signed::Document, [id, document]) => record::document(context, request, caller, id, document).await,
        (Signed::PersonNeeds, [id]) => needs::for_person(context, request, caller, id).await,
        (Signed::NeedChanges, []) => needs::changes(context, request, caller).await,
        (Signed::PersonDiscussions, [id]) => discussions::for_person(context, request, caller, id).await,
        (Signed::RecordDiscussion, [id]) => discussions::record(context, request, caller, id).await,
        (Signed::OrganisationDiscussions, []) => discussions::for_organisation(context, request, caller).await,
        (Signed::Comments, []) => comments::list(context, request, caller).await,
        (Signed::AnswerComment, [id, comment]) => comments::answer(context, request, caller, id, comment).await,
        (Signed::Monitoring, []) => monitoring::report(context, request, caller).await,
        (Signed::Export, [id]) => export::record(context, request, caller, id).await,
        (Signed::ImportFhir, [id]) => fhir::import(context, request, caller, id).await,
        (Signed::PutCarePlan, [id]) => record_writes::put_care_plan(context, request, caller, id).await,
        (Signed::PutGuide, [id]) => record_writes::put_guide(context, request, caller, id).await,
        (Signed::StartMedicine, [id]) => record_writes::start_medicine(context, request, caller, id).await,
        (Signed::ChangeMedicine, [id, medicine]) => record_writes::change_medicine(context, request, caller, id, medicine).await,
        (Signed::StopMedicine, [id, medicine]) => record_writes::stop_medicine(context, request, caller, id, medicine).await,
        (Signed::RecordAllergy, [id]) => record_writes::record_allergy(context, request, caller, id).await,
        (Signed::AllergyEnteredInError, [id, allergy]) => record_writes::allergy_entered_in_error(context, request, caller, id, allergy).await,
        (Signed::PutContacts, [id]) => record_writes::put_contacts(context, request, caller, id).await,
        (Signed::AddDocument, [id]) => record_writes::add_document(context, request, caller, id).await,
        (Signed::VisitSchedule, [id]) => record_writes::visit_schedule(context, request, caller, id).await,
        (Signed::PutVisitSchedule, [id]) => record_writes::put_visit_schedule(context, request, caller, id).await,
        (Signed::VisitStatus, [id, visit]) => record_writes::visit_status(context, request, caller, id, visit).await,
        (Signed::CarePlanVersions, [id]) => record_writes::versions(context, request, caller, id, VersionKind::CarePlan, "").await,
        (Signed::GuideVersions, [id]) => record_writes::versions(context, request, caller, id, VersionKind::Guide, "").await,
        (Signed::MedicineVersions, [id, medicine]) => record_writes::versions(context, request, caller, id, VersionKind::Medicine, medicine).await,
        (Signed::ContactsVersions, [id]) => record_writes::versions(context, request, caller, id, VersionKind::Contacts, "").await,
        (Signed::VisitScheduleVersions, [id]) => {
            record_writes::versions(context, request, caller, id, VersionKind::VisitSchedule, &caller.organisation.id).await
        }
        _ => Err(failure::internal("the route table and its handlers disagree")),
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
    let valid = carefront_shared::receipt::verify(&context.config.receipt_keys, &receipt);
    Ok(json(StatusCode::OK, &ReceiptCheck { valid, consent_receipt_id: receipt.body.consent_receipt_id }))
}

fn too_large(limit: usize) -> Response {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE).with_detail(format!("Request bodies here are limited to {limit} bytes.")).into_response()
}

/// The answer when the runtime cannot build a request context: a 503 problem document, with
/// the reason in the log only.
pub fn unavailable(reason: &str) -> Response {
    carefront_shared::log_error!("carefront-api unavailable: {reason}");
    let mut response = Problem::new(StatusCode::SERVICE_UNAVAILABLE)
        .with_type("store-unavailable", "The service is unavailable")
        .with_detail("Try again in a few minutes.")
        .into_response();
    apply_headers(&mut response);
    response
}

/// A 405 problem with the `Allow` list of the resource.
fn method_not_allowed(allowed: &str) -> Response {
    let mut response = Problem::new(StatusCode::METHOD_NOT_ALLOWED).with_detail(format!("This resource allows {allowed}.")).into_response();
    if let Ok(value) = HeaderValue::from_str(allowed) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// A problem document with extension members (RFC 9457 section 3.2) beside the standard ones.
fn problem_with(problem: Problem, extensions: serde_json::Map<String, serde_json::Value>) -> Response {
    let mut response = problem.clone().into_response();
    if extensions.is_empty() {
        return response;
    }
    if let Ok(serde_json::Value::Object(mut members)) = serde_json::to_value(&problem) {
        members.extend(extensions);
        if let Ok(body) = serde_json::to_vec(&members) {
            *response.body_mut() = body;
        }
    }
    response
}

/// The problem for a failed store call: 503 if the store is unavailable (it was retried inside
/// the request already; the response says when to try again), else 500. Either way the error is
/// logged with a reference that the problem's `instance` quotes.
fn store_problem(context: &RequestContext<'_>, error: DbError) -> Problem {
    let reference = carefront_shared::random::token(context.random, 6);
    carefront_shared::log_error!("carefront-api error {reference}: {error}");
    let problem = if error.is_unavailable() {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE)
            .with_type("store-unavailable", "The backing store is unavailable")
            .with_detail("Try again in a moment. Quote the instance reference if you report it.")
    } else {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR).with_detail("Something went wrong on our side. Quote the instance reference if you report it.")
    };
    problem.with_instance(format!("urn:carefront:error:{reference}"))
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
