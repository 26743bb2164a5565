//! Getting in: invitation codes, creating passkeys, and signing in with them.

use carefront_shared::access::{self, AuditAction};
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::device::{self, DEVICE_COOKIE};
use carefront_shared::domain::{CeremonyKind, CeremonyRecord, InvitationPurpose, PasskeyRecord, Person};
use carefront_shared::invitation::{self, InvitationCode, InvitationRefusal};
use carefront_shared::limits::{CodeKind, StartKind};
use carefront_shared::notices;
use carefront_shared::passkey::{self, CEREMONY_LIFETIME, ENROLMENT_LIFETIME, PasskeyError, RelyingParty};
use carefront_shared::plan::{Plan, Recorder};
use carefront_shared::random::new_id;
use carefront_shared::session;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use carefront_shared::webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};
use http::StatusCode;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::account::AccountEvent;
use crate::error::PortalError;
use crate::limits::{self, CodeTry, Counted};
use crate::visit::Visit;
use crate::web::{self, cookie, set_cookie};
use crate::{Request, Response, page, page_with_status};

/// Cookie naming the accepted invitation waiting for its first passkey.
const ENROL_COOKIE: &str = "__Host-carefront_enrol";
const ENROL_PURPOSE: &str = "enrol";
/// Cookie naming the passkey ceremony in progress.
const CEREMONY_COOKIE: &str = "__Host-carefront_ceremony";
const CEREMONY_PURPOSE: &str = "ceremony";

#[derive(Deserialize)]
struct InvitationForm {
    code: String,
}

#[derive(Serialize)]
struct Redirect {
    redirect: &'static str,
}

/// GET /invitation: the code form, filled in when the person followed a link.
pub fn invitation_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let code = web::query_param(request, "code").unwrap_or_default();
    page(context, visit, "invitation.html", context! { code })
}

/// POST /invitation: checks the code (wrong tries are slowed per source and invitation, and
/// lock the invitation after many from anywhere) and, if it is good, lets this browser create
/// the person's first passkey.
pub async fn accept_invitation(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let form: InvitationForm = web::form(request)?;
    let Some(code) = InvitationCode::parse(&form.code) else {
        return refuse_code(
            context,
            visit,
            &form.code,
            StatusCode::BAD_REQUEST,
            "Enter the invitation code as it is written, for example 7K2M-QX4D-9RTB-H3VW-ZP6N-5GJA-CE8F-1MKS-TV3Q",
        );
    };
    let found = context.store.invitation_by_selector(code.selector()).await?;
    // Only an invitation that exists can be guessed at, so only tries at one are counted.
    let counted = if found.is_none() {
        None
    } else {
        match limits::count_code_try(context, CodeKind::Invitation, code.selector()).await? {
            Counted::Check(counted) => Some(counted),
            Counted::Slowed(retry_after) => {
                let message = format!(
                    "Too many wrong codes have been tried for this invitation from this device or network. Wait {}, then try again",
                    limits::wait_words(retry_after)
                );
                let page = refuse_code(context, visit, &form.code, StatusCode::TOO_MANY_REQUESTS, &message)?;
                return Ok(limits::with_retry_after(page, retry_after));
            }
        }
    };
    match invitation::check(found.as_ref(), &code, context.now) {
        Ok(()) => forgive(context, counted).await?,
        Err(refusal) => {
            match (refusal, &found) {
                (InvitationRefusal::NotRecognised, Some(found)) => context.store.record_failed_invitation_attempt(&found.id).await?,
                // The right code, only used, cancelled or out of time: no guess.
                (InvitationRefusal::AlreadyUsed | InvitationRefusal::Expired | InvitationRefusal::Cancelled, _) => forgive(context, counted).await?,
                _ => {}
            }
            let (status, message) = match refusal {
                InvitationRefusal::NotRecognised => (StatusCode::BAD_REQUEST, "This invitation code was not recognised. Check it and try again"),
                InvitationRefusal::AlreadyUsed => {
                    (StatusCode::GONE, "This invitation has already been used. Sign in with your passkey, or ask for a new invitation")
                }
                InvitationRefusal::Expired => (StatusCode::GONE, "This invitation has expired. Ask whoever invited you for a new one"),
                InvitationRefusal::Cancelled => (
                    StatusCode::GONE,
                    "This invitation has been cancelled. If you have a newer letter, use the code in that one, or ask whoever invited you for a new one",
                ),
                InvitationRefusal::Locked => {
                    (StatusCode::TOO_MANY_REQUESTS, "This invitation is locked after too many wrong codes. Ask whoever invited you for a new one")
                }
            };
            return refuse_code(context, visit, &form.code, status, message);
        }
    }
    let Some(invitation) = found else { return Err(PortalError::Internal("accepted invitation vanished".into())) };
    limits::count_start(context, StartKind::Enrol).await?;
    let minted = session::mint(&visit.keys().session, ENROL_PURPOSE, context.random);
    context
        .store
        .insert_ceremony(&CeremonyRecord {
            id_hash: minted.id_hash,
            kind: CeremonyKind::Enrol,
            person_id: Some(invitation.person_id.clone()),
            invitation_id: Some(invitation.id.clone()),
            state: String::new(),
            created_at: context.now,
            expires_at: context.now + ENROLMENT_LIFETIME,
        })
        .await?;
    visit.add_cookie(set_cookie(ENROL_COOKIE, &minted.cookie_value, Some(ENROLMENT_LIFETIME.num_seconds())));
    audit(context, None, &invitation.person_id, AuditAction::InvitationAccepted, "An invitation code was accepted to create a passkey.").await?;
    Ok(web::redirect("/passkeys/create"))
}

fn refuse_code(context: &RequestContext<'_>, visit: &Visit, code: &str, status: StatusCode, error: &str) -> Result<Response, PortalError> {
    let code: String = code.chars().take(64).collect();
    page_with_status(context, visit, status, "invitation.html", context! { code, error })
}

async fn forgive(context: &RequestContext<'_>, counted: Option<CodeTry>) -> Result<(), PortalError> {
    match counted {
        Some(counted) => counted.was_right(context).await,
        None => Ok(()),
    }
}

/// The accepted invitation this browser holds, if it is still live.
async fn enrolment(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Option<CeremonyRecord>, PortalError> {
    let Some(id_hash) = cookie(request, ENROL_COOKIE).and_then(|value| session::open(&visit.keys().session, ENROL_PURPOSE, value)) else {
        return Ok(None);
    };
    let ceremony = context.store.ceremony(&id_hash).await?;
    Ok(passkey::check_ceremony(ceremony, CeremonyKind::Enrol, context.now).ok())
}

/// Whom a new passkey is for: the invited person (enrolment) or the signed-in person.
async fn registrant(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<(Person, Option<CeremonyRecord>), PortalError> {
    if let Some(enrolment) = enrolment(context, request, visit).await? {
        let person_id = enrolment.person_id.clone().unwrap_or_default();
        let person = context.store.person(&person_id).await?.ok_or_else(|| PortalError::Internal("enrolment for an unknown person".into()))?;
        return Ok((person, Some(enrolment)));
    }
    Ok((visit.require_person()?.clone(), None))
}

/// GET /passkeys/create: the page whose button creates a passkey.
pub async fn create_passkey_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    match registrant(context, request, visit).await {
        Ok((_, None)) if !visit.recently_verified() => confirm_identity(
            context,
            visit,
            StatusCode::OK,
            &Confirmation {
                current: "passkeys",
                back: ("/passkeys", "Your passkeys"),
                reason: "Before you add a passkey, use one you already have: your fingerprint, face or screen lock. This stops anyone else who picks up your phone from adding their own.",
                return_to: "/passkeys/create",
            },
        ),
        Ok((person, enrolment)) => page(context, visit, "create_passkey.html", context! { enrolling => enrolment.is_some(), name => person.display_name }),
        Err(PortalError::SignInRequired) => Ok(web::redirect("/invitation")),
        Err(error) => Err(error),
    }
}

/// POST /passkeys/create/options: starts a registration and keeps its state server-side.
pub async fn registration_options(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let (person, enrolment) = registrant(context, request, visit).await?;
    // Only the first passkey, from an invitation, is added without a recent passkey check.
    if enrolment.is_none() && !visit.recently_verified() {
        return Err(PortalError::ReauthenticationRequired);
    }
    let existing = context.store.passkeys(&person.id).await?;
    if enrolment.is_some() {
        // Enrolling needs no session: its starts are limited per source.
        limits::count_start(context, StartKind::Enrol).await?;
    }
    let (options, state) = RelyingParty::new(context.config)?.start_registration(&person, &existing)?;
    let invitation_id = enrolment.and_then(|enrolment| enrolment.invitation_id);
    begin_ceremony(context, visit, CeremonyKind::Register, Some(person.id), invitation_id, state).await?;
    web::json(StatusCode::OK, &options)
}

/// POST /passkeys/create/finish: verifies the new passkey, uses up the invitation, stores the
/// passkey and signs the person in.
pub async fn finish_registration(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let response: RegisterPublicKeyCredential = web::json_body(request)?;
    let ceremony = take_ceremony(context, request, visit, CeremonyKind::Register).await?;
    let person_id = ceremony.person_id.clone().unwrap_or_default();
    let person = context.store.person(&person_id).await?.ok_or(PasskeyError::NoCeremony)?;
    if ceremony.invitation_id.is_none() && visit.signed_in.as_ref().map(|signed_in| signed_in.person.id.as_str()) != Some(person.id.as_str()) {
        // Adding a passkey to an account needs that account's live session.
        return Err(PortalError::SignInRequired);
    }
    if ceremony.invitation_id.is_none() && !visit.recently_verified() {
        return Err(PortalError::ReauthenticationRequired);
    }
    let new_passkey = RelyingParty::new(context.config)?.finish_registration(&response, &ceremony.state)?;
    if let Some(invitation_id) = &ceremony.invitation_id
        && !context.store.consume_invitation(invitation_id, context.now).await?
    {
        return Err(PortalError::BadRequest("the invitation has already been used or has been cancelled".into()));
    }
    let record = PasskeyRecord {
        id: new_id(context.random),
        person_id: person.id.clone(),
        credential_id: passkey::credential_id(&new_passkey),
        name: format!("Passkey added {}", uk_time::day(context.now)),
        passkey: new_passkey,
        created_at: context.now,
        last_used_at: None,
    };
    match context.store.insert_passkey(&record).await {
        Ok(()) => {}
        Err(DbError::Constraint(_)) => return Err(PortalError::BadRequest("this passkey is already registered".into())),
        Err(error) => return Err(error.into()),
    }
    let enrolling = ceremony.invitation_id.is_some();
    let recovery = match &ceremony.invitation_id {
        Some(id) => recovery_issuer(context, &person.id, id).await?,
        None => None,
    };
    if let Some(issued_by) = &recovery {
        // The person is told on their next sign-in (the home page's notice reads this back),
        // with who gave the letter, so a recovery they did not ask for is seen.
        let when = uk_time::day_and_time(context.now);
        crate::account::record(context, &person.id, AccountEvent::PasskeyRecovered { name: &record.name, when: &when, issued_by }).await?;
    } else if enrolling {
        audit(context, Some(&person.id), &person.id, AuditAction::PasskeyRegistered, &format!("A passkey was created: {}.", record.name)).await?;
    } else {
        crate::account::record(context, &person.id, AccountEvent::PasskeyAdded { name: &record.name }).await?;
    }
    if enrolling {
        if let Some(id_hash) = cookie(request, ENROL_COOKIE).and_then(|value| session::open(&visit.keys().session, ENROL_PURPOSE, value)) {
            context.store.delete_ceremony(&id_hash).await?;
        }
        visit.add_cookie(set_cookie(ENROL_COOKIE, "", Some(0)));
        let device = device_plan(context, request, visit, &person.id).await?;
        visit.start_session(context, person, Some(record.id), device).await?;
    }
    let redirect = match (&recovery, enrolling) {
        // Back in after a recovery: straight to the passkeys, to remove the lost phone's.
        (Some(_), _) => "/passkeys?done=recovered",
        (None, true) => "/home",
        (None, false) => "/passkeys",
    };
    web::json(StatusCode::OK, &Redirect { redirect })
}

/// Who issued `invitation_id`, in words ("Cath Jones at Northshire County Council"), if it is
/// one of `person_id`'s recovery invitations; `None` for an enrolment invitation.
async fn recovery_issuer(context: &RequestContext<'_>, person_id: &str, invitation_id: &str) -> Result<Option<String>, PortalError> {
    let invitations = context.store.invitations_for_person(person_id).await?;
    let Some(invitation) = invitations.into_iter().find(|invitation| invitation.id == invitation_id && invitation.purpose == InvitationPurpose::Recovery)
    else {
        return Ok(None);
    };
    let staff = match invitation.created_by.as_deref() {
        Some(id) => context.store.person(id).await?,
        None => None,
    };
    let organisation = match staff.as_ref().and_then(|staff| staff.organisation_id.as_deref()) {
        Some(id) => context.store.organisation(id).await?,
        None => None,
    };
    Ok(Some(match (staff, organisation) {
        (Some(staff), Some(organisation)) => format!("{} at {}", staff.display_name, organisation.name),
        (Some(staff), None) => staff.display_name,
        _ => "your council".to_owned(),
    }))
}

/// GET /sign-in.
pub fn sign_in_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let notice = web::query_param(request, "ended").map(|_| "Your session ended, so you have been signed out. Sign in again to carry on.");
    page(context, visit, "sign_in.html", context! { notice })
}

/// POST /sign-in/options: starts a username-less sign-in (limited per source: each start
/// writes a ceremony row before anyone is known).
pub async fn authentication_options(context: &RequestContext<'_>, visit: &mut Visit) -> Result<Response, PortalError> {
    limits::count_start(context, StartKind::SignIn).await?;
    let (options, state) = RelyingParty::new(context.config)?.start_authentication()?;
    begin_ceremony(context, visit, CeremonyKind::Authenticate, None, None, state).await?;
    web::json(StatusCode::OK, &options)
}

/// POST /sign-in/finish: verifies the passkey against the stored ceremony and signs in. The
/// session, the sign-in's line in the log, this browser's device and, when the account has not
/// been used on it before, the person's "new device" notice are one batch.
pub async fn finish_authentication(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let verified = verify_assertion(context, request, visit).await?;
    if verified.ceremony.person_id.is_some() {
        // A re-authentication ceremony cannot be turned into a sign-in.
        return Err(PasskeyError::NoCeremony.into());
    }
    let person = verified.person;
    let device_id = this_device(context, request, visit);
    let hash = device::device_hash(&visit.keys().session, &person.id, &device_id);
    let known = context.store.known_devices(&person.id).await?;
    let (detail, told) = if device::is_new_device(&known, &hash) {
        let agent = request.headers().get(http::header::USER_AGENT).and_then(|value| value.to_str().ok());
        let described = device::describe(agent);
        let told = notices::device::new_device_sign_in(context.store, &person.id, &described, &context.config.origin, context.now, context.random).await?;
        (format!("Signed in with {} on a new device ({described}).", verified.passkey_name), told)
    } else {
        (format!("Signed in with {}.", verified.passkey_name), Vec::new())
    };
    let event = access::account_event(new_id(context.random), context.now, Some(&person.id), &person.id, AuditAction::SignedIn, detail);
    let recorder = Recorder::new();
    recorder.store().append_audit(&event).await?;
    recorder.store().record_device(&person.id, &hash, context.now).await?;
    notices::queue(&recorder, &told).await?;
    visit.start_session(context, person, Some(verified.passkey_id), recorder.into_plan()).await?;
    web::json(StatusCode::OK, &Redirect { redirect: "/home" })
}

/// This browser's device id: the one its cookie holds, or a new one. The cookie is set again
/// either way, so it lasts 400 days from the browser's latest sign-in.
fn this_device(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> String {
    let id = cookie(request, DEVICE_COOKIE).and_then(device::parse_device_id).map_or_else(|| device::new_device_id(context.random), str::to_owned);
    visit.add_cookie(set_cookie(DEVICE_COOKIE, &id, Some(device::DEVICE_LIFETIME.num_seconds())));
    id
}

/// The plan that records this browser as a device of `person_id`'s (at enrolment, so the
/// first sign-in on the enrolling browser is not news).
async fn device_plan(context: &RequestContext<'_>, request: &Request, visit: &mut Visit, person_id: &str) -> Result<Plan, PortalError> {
    let device_id = this_device(context, request, visit);
    let hash = device::device_hash(&visit.keys().session, person_id, &device_id);
    let recorder = Recorder::new();
    recorder.store().record_device(person_id, &hash, context.now).await?;
    Ok(recorder.into_plan())
}

/// POST /reauthenticate/options: asks the signed-in person to prove themselves again with a
/// passkey. The one re-authentication flow: every page that needs a recent passkey check
/// (adding or widening access, the emergency code, system credentials, passkeys and sessions)
/// offers it through [`confirm_identity`].
pub async fn reauthentication_options(context: &RequestContext<'_>, visit: &mut Visit) -> Result<Response, PortalError> {
    let person_id = visit.require_person()?.id.clone();
    let (options, state) = RelyingParty::new(context.config)?.start_authentication()?;
    begin_ceremony(context, visit, CeremonyKind::Authenticate, Some(person_id), None, state).await?;
    web::json(StatusCode::OK, &options)
}

/// POST /reauthenticate/finish?return=/path: the passkey must be the signed-in person's own.
/// Rotates the session, then sends the browser back to `return` if it is a path on this site
/// (else home).
pub async fn finish_reauthentication(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let session_person = visit.require_person()?.id.clone();
    let verified = verify_assertion(context, request, visit).await?;
    if verified.ceremony.person_id.as_deref() != Some(session_person.as_str()) || verified.person.id != session_person {
        return Err(PasskeyError::UnknownCredential.into());
    }
    let detail = format!("Confirmed it was them with {}.", verified.passkey_name);
    let event = access::account_event(new_id(context.random), context.now, Some(&session_person), &session_person, AuditAction::Reauthenticated, detail);
    let recorder = Recorder::new();
    recorder.store().append_audit(&event).await?;
    visit.reauthenticated(context, verified.passkey_id, recorder.into_plan()).await?;
    let asked = web::query_param(request, "return");
    let next = asked.as_deref().and_then(web::local_return_path).unwrap_or("/home");
    web::json(StatusCode::OK, &serde_json::json!({ "redirect": next }))
}

/// What the "Confirm it is you" page says, and where the browser comes back to after it.
pub struct Confirmation<'a> {
    /// The navigation item the page belongs to.
    pub current: &'a str,
    /// The back link: where to, and its words.
    pub back: (&'a str, &'a str),
    /// Why the passkey is asked for again, in words for the person.
    pub reason: &'a str,
    /// The page to come back to once the passkey check is done (a path on this site).
    pub return_to: &'a str,
}

/// The re-authentication page: the button runs the one flow (`/reauthenticate/options`, then
/// `/reauthenticate/finish?return=…`) and the script follows the answer back to `return_to`.
pub fn confirm_identity(context: &RequestContext<'_>, visit: &Visit, status: StatusCode, confirmation: &Confirmation<'_>) -> Result<Response, PortalError> {
    let finish = format!("/reauthenticate/finish?{}", serde_urlencoded::to_string([("return", confirmation.return_to)]).unwrap_or_default());
    let (back_href, back_text) = confirmation.back;
    let extra = context! { current => confirmation.current, back_href, back_text, reason => confirmation.reason, finish };
    page_with_status(context, visit, status, "confirm_identity.html", extra)
}

/// A passkey assertion checked against this browser's ceremony.
struct Verified {
    /// Whose passkey it was.
    person: Person,
    /// The ceremony it answered (used up).
    ceremony: CeremonyRecord,
    /// The passkey's id.
    passkey_id: String,
    /// The passkey's name, for the log.
    passkey_name: String,
}

/// Verifies a passkey assertion against this browser's authentication ceremony (used up in the
/// process) and records the passkey's use; the caller writes the log line with its own change.
async fn verify_assertion(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Verified, PortalError> {
    let response: PublicKeyCredential = web::json_body(request)?;
    let ceremony = take_ceremony(context, request, visit, CeremonyKind::Authenticate).await?;
    let relying_party = RelyingParty::new(context.config)?;
    let (handle, credential_id) = relying_party.identify(&response)?;
    let person = context.store.person_by_webauthn_handle(&handle).await?.ok_or(PasskeyError::UnknownCredential)?;
    let mut record =
        context.store.passkey_by_credential_id(&credential_id).await?.filter(|record| record.person_id == person.id).ok_or(PasskeyError::UnknownCredential)?;
    relying_party.finish_authentication(&response, &ceremony.state, &mut record.passkey)?;
    context.store.record_passkey_use(&record, context.now).await?;
    Ok(Verified { person, ceremony, passkey_id: record.id, passkey_name: record.name })
}

async fn begin_ceremony(
    context: &RequestContext<'_>,
    visit: &mut Visit,
    kind: CeremonyKind,
    person_id: Option<String>,
    invitation_id: Option<String>,
    state: String,
) -> Result<(), PortalError> {
    // Storing it also clears away expired ceremonies, in the same batch.
    let minted = session::mint(&visit.keys().session, CEREMONY_PURPOSE, context.random);
    context
        .store
        .insert_ceremony(&CeremonyRecord {
            id_hash: minted.id_hash,
            kind,
            person_id,
            invitation_id,
            state,
            created_at: context.now,
            expires_at: context.now + CEREMONY_LIFETIME,
        })
        .await?;
    visit.add_cookie(set_cookie(CEREMONY_COOKIE, &minted.cookie_value, Some(CEREMONY_LIFETIME.num_seconds())));
    Ok(())
}

/// Takes (and so uses up) this browser's ceremony of `kind`: a replayed response finds nothing.
async fn take_ceremony(context: &RequestContext<'_>, request: &Request, visit: &mut Visit, kind: CeremonyKind) -> Result<CeremonyRecord, PortalError> {
    visit.add_cookie(set_cookie(CEREMONY_COOKIE, "", Some(0)));
    let Some(id_hash) = cookie(request, CEREMONY_COOKIE).and_then(|value| session::open(&visit.keys().session, CEREMONY_PURPOSE, value)) else {
        return Err(PasskeyError::NoCeremony.into());
    };
    let ceremony = context.store.take_ceremony(&id_hash).await?;
    Ok(passkey::check_ceremony(ceremony, kind, context.now)?)
}

/// Appends an audit event about `subject_id`'s account.
pub async fn audit(context: &RequestContext<'_>, actor_id: Option<&str>, subject_id: &str, action: AuditAction, detail: &str) -> Result<(), PortalError> {
    let event = access::account_event(new_id(context.random), context.now, actor_id, subject_id, action, detail);
    Ok(context.store.append_audit(&event).await?)
}
