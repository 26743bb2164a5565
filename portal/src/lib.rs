//! carefront's HTML portal for people receiving care and their family carers: one router,
//! called with a plain HTTP request by every runtime entry (Workers, Spin, native tests).

mod account;
pub mod assets;
mod care;
mod category_names;
mod comments;
mod council;
mod council_credentials;
mod council_notifications;
mod council_people;
mod council_staff;
mod discussions;
mod emergency;
mod emergency_stop;
mod enrolment;
pub mod error;
mod export;
mod help;
mod invitations;
mod limits;
mod needs;
mod notifications;
mod pages;
mod print;
mod provider;
mod provider_duty;
mod provider_staff;
mod qr;
mod record;
mod routes;
mod sharing;
mod staff;
mod today;
mod visit;
mod web;

use carefront_shared::context::RequestContext;
use carefront_shared::domain::{CouncilRole, ProviderRole, Role};
use carefront_shared::record_writes::VersionKind;
use carefront_shared::routing::{Resolution, resolve};
use carefront_shared::store::prelude::*;
use http::{Method, StatusCode};
use minijinja::context;

use crate::error::PortalError;
use crate::routes::{Endpoint, Fresh, Guard, ROUTES};
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
    // HEAD is GET without the body, for every route the table answers GET on.
    if request.method() == Method::HEAD {
        response.body_mut().clear();
    }
    web::apply_security_headers(&mut response);
    response
}

async fn handle_page(context: &RequestContext<'_>, request: &Request) -> Response {
    // The portal's configuration is read with App::Portal, which requires these keys.
    let Some(keys) = context.config.browser.clone() else { return unavailable("the portal is configured without SESSION_KEY and CSRF_KEY") };
    let mut visit = Visit::begin(context, keys, request);
    let response = match route(context, request, &mut visit).await {
        Ok(response) => response,
        Err(error) => {
            // Every error page says whom to call: the council's contact settings, when the
            // store answers (a page about the store being down says what to do instead).
            let store_down = matches!(&error, PortalError::Store(error) if error.is_unavailable());
            let page = !wants_json(request) && !store_down && !matches!(error, PortalError::SignInRequired);
            let council = if page { help::council_contact(context).await.ok() } else { None };
            error_response(context, request, &visit, &error, council.as_ref())
        }
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
    let (route, values) = match resolve(ROUTES, &method, path) {
        Resolution::Found(route, values) => (route, values),
        Resolution::MethodNotAllowed(allowed) => return Err(PortalError::MethodNotAllowed(allowed)),
        Resolution::NotFound => return Err(PortalError::NotFound),
    };
    match route.guard {
        Guard::Anyone => {}
        Guard::SignedIn => {
            visit.require_person()?;
        }
        Guard::Role(role) => {
            if visit.require_person()?.role != role {
                return Err(PortalError::NotFound);
            }
        }
        Guard::CouncilAdministrator => {
            let person = visit.require_person()?;
            if person.role != Role::CouncilStaff || context.store.council_role(&person.id).await? != Some(CouncilRole::Administrator) {
                return Err(PortalError::NotFound);
            }
        }
        Guard::ProviderAdministrator => {
            let person = visit.require_person()?;
            if person.role != Role::ProviderStaff || context.store.provider_role(&person.id).await? != Some(ProviderRole::Administrator) {
                return Err(PortalError::NotFound);
            }
        }
    }
    // A change that needs a fresh passkey check is refused without one, on a page that asks for
    // it and then goes back to the page the change was made from.
    let back = match route.fresh {
        Fresh::No => None,
        Fresh::SamePage => Some(path),
        Fresh::Up => Some(path.rsplit_once('/').map_or(path, |(up, _)| up)),
        Fresh::Page(page) => Some(page),
    };
    if let Some(back) = back
        && !visit.recently_verified()
    {
        let confirmation = enrolment::Confirmation {
            current: "home",
            back: (back, "Back"),
            reason: "Before this change is made, use your passkey again: your fingerprint, face or screen lock. This stops anyone else who picks up your phone from making it.",
            return_to: back,
        };
        return enrolment::confirm_identity(context, visit, StatusCode::FORBIDDEN, &confirmation);
    }
    dispatch(context, request, visit, route.endpoint, &values).await
}

/// Calls the page's handler with the values of its path's `{…}` segments.
async fn dispatch(context: &RequestContext<'_>, request: &Request, visit: &mut Visit, endpoint: Endpoint, values: &[&str]) -> Result<Response, PortalError> {
    // The person the page is about: `/people/{id}/…`; the signed-in person's own at `/access…`.
    let subject = values.first().copied();
    match (endpoint, values) {
        (Endpoint::Start, []) => page(context, visit, "start.html", context! {}),
        (Endpoint::InvitationPage, []) => enrolment::invitation_page(context, request, visit),
        (Endpoint::AcceptInvitation, []) => enrolment::accept_invitation(context, request, visit).await,
        (Endpoint::CreatePasskeyPage, []) => enrolment::create_passkey_page(context, request, visit).await,
        (Endpoint::RegistrationOptions, []) => enrolment::registration_options(context, request, visit).await,
        (Endpoint::FinishRegistration, []) => enrolment::finish_registration(context, request, visit).await,
        (Endpoint::SignInPage, []) => enrolment::sign_in_page(context, request, visit),
        (Endpoint::SignInHelp, []) => help::sign_in_help(context, visit).await,
        (Endpoint::Help, []) => help::help(context, visit).await,
        (Endpoint::Accessibility, []) => help::accessibility(context, visit).await,
        (Endpoint::Privacy, []) => help::privacy(context, visit).await,
        (Endpoint::AuthenticationOptions, []) => enrolment::authentication_options(context, visit).await,
        (Endpoint::FinishAuthentication, []) => enrolment::finish_authentication(context, request, visit).await,
        (Endpoint::SignOut, []) => account::sign_out(context, visit).await,
        (Endpoint::EndSession, []) => account::end_session(context, request, visit).await,
        (Endpoint::EndAllSessions, []) => account::end_all_sessions(context, request, visit).await,
        (Endpoint::SignedOut, []) => page(context, visit, "signed_out.html", context! {}),
        (Endpoint::Home, []) => account::home(context, visit).await,
        (Endpoint::Passkeys, []) => account::passkeys_page(context, request, visit).await,
        (Endpoint::RenamePasskey, [id]) => account::rename_passkey(context, request, visit, id).await,
        (Endpoint::RemovePasskey, [id]) => account::remove_passkey(context, visit, id).await,
        (Endpoint::NotificationSettings, []) => notifications::settings_page(context, request, visit, None).await,
        (Endpoint::SaveNotificationChoices, []) => notifications::save_choices(context, request, visit, None).await,
        (Endpoint::ChangeContact, [medium]) => notifications::change_contact(context, request, visit, None, medium).await,
        (Endpoint::ContactCheckPage, [medium]) => notifications::check_page(context, visit, None, medium).await,
        (Endpoint::CheckContactCode, [medium]) => notifications::check_code(context, request, visit, None, medium).await,
        // The same pages for someone who acts for the person (anyone else: not found).
        (Endpoint::NotificationSettings, [id]) => notifications::settings_page(context, request, visit, Some(id)).await,
        (Endpoint::SaveNotificationChoices, [id]) => notifications::save_choices(context, request, visit, Some(id)).await,
        (Endpoint::ChangeContact, [id, medium]) => notifications::change_contact(context, request, visit, Some(id), medium).await,
        (Endpoint::ContactCheckPage, [id, medium]) => notifications::check_page(context, visit, Some(id), medium).await,
        (Endpoint::CheckContactCode, [id, medium]) => notifications::check_code(context, request, visit, Some(id), medium).await,
        (Endpoint::PersonPage, [id]) => account::person_page(context, visit, id).await,
        (Endpoint::CarePlan, [id]) => record::care_plan(context, visit, id).await,
        (Endpoint::Guide, [id]) => record::guide(context, visit, id).await,
        (Endpoint::Medicines, [id]) => record::medicines(context, request, visit, id).await,
        (Endpoint::CarePlanHistory, [id]) => record::history(context, visit, id, VersionKind::CarePlan, "").await,
        (Endpoint::GuideHistory, [id]) => record::history(context, visit, id, VersionKind::Guide, "").await,
        (Endpoint::MedicineHistory, [id, medicine]) => record::history(context, visit, id, VersionKind::Medicine, medicine).await,
        (Endpoint::Visits, [id]) => record::visits(context, request, visit, id).await,
        (Endpoint::Contacts, [id]) => record::contacts(context, visit, id).await,
        (Endpoint::Documents, [id]) => record::documents(context, visit, id).await,
        (Endpoint::Document, [id, document]) => record::download(context, visit, id, document).await,
        (Endpoint::DownloadPage, [id]) => export::page_for(context, visit, id).await,
        (Endpoint::DownloadFile, [id, file]) => export::file(context, request, visit, id, file).await,
        (Endpoint::NeedsPage, [id]) => needs::page(context, request, visit, id).await,
        (Endpoint::SaveNeeds, [id]) => needs::save(context, request, visit, id).await,
        (Endpoint::Comments, [id]) => comments::list(context, request, visit, id).await,
        (Endpoint::AddComment, [id]) => comments::add(context, request, visit, id).await,
        (Endpoint::NewComment, [id]) => comments::new_page(context, request, visit, id).await,
        (Endpoint::Discussions, [id]) => discussions::list(context, request, visit, id).await,
        (Endpoint::AnswerDiscussion, [id, discussion]) => discussions::answer(context, request, visit, id, discussion).await,
        (Endpoint::Monitoring, []) => council::monitoring(context, visit).await,
        (Endpoint::ProviderPeople, [provider]) => council::provider_people(context, request, visit, provider).await,
        (Endpoint::PaperCopy, [id]) => print::paper_copy(context, visit, id).await,
        (Endpoint::PaperCopyWithCode, [id]) => print::paper_copy_with_code(context, request, visit, id).await,
        (Endpoint::Access, _) => sharing::access_page(context, request, visit, subject).await,
        (Endpoint::AddAccessPage, _) => sharing::add_page(context, visit, subject).await,
        (Endpoint::AddAccess, _) => sharing::add(context, request, visit, subject).await,
        (Endpoint::EditAccessPage, [grant]) => sharing::edit_page(context, request, visit, None, grant).await,
        (Endpoint::EditAccessPage, [id, grant]) => sharing::edit_page(context, request, visit, Some(id), grant).await,
        (Endpoint::EditAccess, [grant]) => sharing::edit(context, request, visit, None, grant).await,
        (Endpoint::EditAccess, [id, grant]) => sharing::edit(context, request, visit, Some(id), grant).await,
        (Endpoint::ReissuePersonInvitation, [invitation]) => sharing::reissue_invitation(context, request, visit, None, invitation).await,
        (Endpoint::ReissuePersonInvitation, [id, invitation]) => sharing::reissue_invitation(context, request, visit, Some(id), invitation).await,
        (Endpoint::CancelPersonInvitation, [invitation]) => sharing::cancel_invitation(context, request, visit, None, invitation).await,
        (Endpoint::CancelPersonInvitation, [id, invitation]) => sharing::cancel_invitation(context, request, visit, Some(id), invitation).await,
        (Endpoint::StopAccessPage, [grant]) => sharing::stop_page(context, visit, None, grant).await,
        (Endpoint::StopAccessPage, [id, grant]) => sharing::stop_page(context, visit, Some(id), grant).await,
        (Endpoint::RevokeAccess, [grant]) => sharing::revoke(context, request, visit, None, grant).await,
        (Endpoint::RevokeAccess, [id, grant]) => sharing::revoke(context, request, visit, Some(id), grant).await,
        (Endpoint::Receipt, [name]) => sharing::receipt_page(context, visit, None, name).await,
        (Endpoint::Receipt, [id, name]) => sharing::receipt_page(context, visit, Some(id), name).await,
        (Endpoint::AccessLog, _) => sharing::access_log(context, request, visit, subject).await,
        (Endpoint::ReauthenticationOptions, []) => enrolment::reauthentication_options(context, visit).await,
        (Endpoint::FinishReauthentication, []) => enrolment::finish_reauthentication(context, request, visit).await,
        (Endpoint::EmergencyEntry, []) => emergency::entry_page(context, request, visit).await,
        (Endpoint::UseEmergencyCode, []) => emergency::use_code(context, request, visit).await,
        (Endpoint::EmergencyRecord, []) => emergency::record(context, request, visit).await,
        (Endpoint::LeaveEmergency, []) => emergency::leave(context, request, visit).await,
        (Endpoint::EmergencyStopPage, [token]) => emergency_stop::page(context, visit, token).await,
        (Endpoint::StopEmergency, [token]) => emergency_stop::stop(context, visit, token).await,
        (Endpoint::ManageEmergencyCode, _) => emergency::manage(context, request, visit, subject).await,
        (Endpoint::ChangeEmergencyCode, _) => emergency::change(context, request, visit, subject).await,
        (Endpoint::CouncilEmergencyAccess, []) => emergency::council_list(context, visit).await,
        (Endpoint::FailedNotifications, []) => council_notifications::page(context, request, visit).await,
        (Endpoint::RetryNotification, [id]) => council_notifications::retry(context, visit, id).await,
        (Endpoint::Credentials, []) => council_credentials::list_page(context, request, visit).await,
        (Endpoint::NewCredentialPage, []) => council_credentials::new_page(context, visit).await,
        (Endpoint::CreateCredential, []) => council_credentials::create(context, request, visit).await,
        (Endpoint::RevokeCredential, [key_id]) => council_credentials::revoke(context, visit, key_id).await,
        (Endpoint::StaffAccounts, []) => council_staff::list_page(context, request, visit).await,
        (Endpoint::InviteCouncilStaffPage, []) => council_staff::invite_page(context, visit).await,
        (Endpoint::InviteCouncilStaff, []) => council_staff::invite(context, request, visit).await,
        (Endpoint::ChangeCouncilRole, [person]) => council_staff::change_role(context, request, visit, person).await,
        (Endpoint::RemoveStaffAccess, [person]) => council_staff::remove(context, visit, person).await,
        (Endpoint::ProviderStaff, []) => provider_staff::list_page(context, request, visit).await,
        (Endpoint::InviteProviderStaffPage, []) => provider_staff::invite_page(context, visit).await,
        (Endpoint::InviteProviderStaff, []) => provider_staff::invite(context, request, visit).await,
        (Endpoint::RemoveProviderStaffAccess, [person]) => provider_staff::remove(context, visit, person).await,
        (Endpoint::ConsentEvidence, []) => provider_staff::consent_evidence(context, visit).await,
        (Endpoint::DutyContact, []) => provider_duty::page(context, request, visit).await,
        (Endpoint::ChangeDutyContact, [medium]) => provider_duty::change(context, request, visit, medium).await,
        (Endpoint::DutyContactCheckPage, [medium]) => provider_duty::check_page(context, visit, medium).await,
        (Endpoint::CheckDutyContactCode, [medium]) => provider_duty::check_code(context, request, visit, medium).await,
        (Endpoint::NotEnrolled, []) => invitations::not_enrolled(context, visit).await,
        (Endpoint::PersonInvitations, [id]) => invitations::list(context, request, visit, id).await,
        (Endpoint::IssueInvitation, [id]) => invitations::issue(context, request, visit, id).await,
        (Endpoint::CancelInvitation, [id, invitation]) => invitations::cancel(context, request, visit, id, invitation).await,
        (Endpoint::ProviderToday, []) => provider::today(context, request, visit).await,
        (Endpoint::NewDiscussionPage, [id]) => provider::new_discussion_page(context, visit, id).await,
        (Endpoint::RecordDiscussion, [id]) => provider::record_discussion(context, request, visit, id).await,
        (Endpoint::ProviderComments, []) => provider::waiting(context, request, visit).await,
        (Endpoint::AnswerCommentPage, [id, comment]) => provider::answer_page(context, visit, id, comment).await,
        (Endpoint::AnswerComment, [id, comment]) => provider::answer(context, request, visit, id, comment).await,
        (Endpoint::FindPeople, []) => council_people::find(context, request, visit).await,
        (Endpoint::AddPersonPage, []) => council_people::add_page(context, visit).await,
        (Endpoint::AddPerson, []) => council_people::add(context, request, visit).await,
        (Endpoint::CouncilPerson, [id]) => council_people::person_page(context, request, visit, id).await,
        (Endpoint::AddRepresentativePage, [id]) => council_people::representative_page(context, visit, id).await,
        (Endpoint::AddRepresentative, [id]) => council_people::add_representative(context, request, visit, id).await,
        (Endpoint::CommissionProviderPage, [id]) => council_people::provider_page(context, visit, id).await,
        (Endpoint::CommissionProvider, [id]) => council_people::add_provider(context, request, visit, id).await,
        // The table and this match are written together; a route with the wrong number of
        // values would be a bug, answered as "not found" rather than a panic.
        _ => Err(PortalError::NotFound),
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

fn error_response(context: &RequestContext<'_>, request: &Request, visit: &Visit, error: &PortalError, council: Option<&help::CouncilContact>) -> Response {
    let reference = error.needs_reference().then(|| carefront_shared::problem::error_reference(request.headers(), context.random));
    if let Some(reference) = &reference {
        // The only record of a server-side failure: the runtime's log, keyed by the reference
        // the person sees. No care information is in the message.
        carefront_shared::log_error!("carefront-portal error {reference}: {} {}: {error}", request.method(), request.uri().path());
    }
    if matches!(error, PortalError::SignInRequired) && !wants_json(request) {
        return web::redirect("/sign-in");
    }
    let mut response = if wants_json(request) {
        error.problem(reference.as_deref()).into_response()
    } else {
        let (title, lines) = error.explain();
        let body = pages::render("error.html", visit.page_context(context, context! { title, lines, reference, council }))
            .unwrap_or_else(|_| format!("<!DOCTYPE html><title>{title}</title><h1>{title}</h1>"));
        web::html(error.status(), body)
    };
    *response.status_mut() = error.status();
    if let PortalError::MethodNotAllowed(allowed) = error
        && let Ok(value) = http::HeaderValue::from_str(allowed)
    {
        response.headers_mut().insert(http::header::ALLOW, value);
    }
    if let Some(seconds) = error.retry_after() {
        response = limits::with_retry_after(response, seconds);
    }
    response
}

/// The answer when the runtime cannot build a request context (no database binding, no
/// configuration, no entropy): a 503 page, with the reason in the log only.
pub fn unavailable(reason: &str) -> Response {
    carefront_shared::log_error!("carefront-portal unavailable: {reason}");
    let error = PortalError::Store(carefront_shared::db::DbError::Unavailable(reason.to_owned()));
    let (title, lines) = error.explain();
    let body = pages::render("error.html", context! { title, lines, signed_in => false })
        .unwrap_or_else(|_| format!("<!DOCTYPE html><title>{title}</title><h1>{title}</h1>"));
    let response = web::html(StatusCode::SERVICE_UNAVAILABLE, body);
    let mut response = limits::with_retry_after(response, i64::from(carefront_shared::problem::STORE_RETRY_AFTER_SECONDS));
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
