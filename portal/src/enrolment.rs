//! Getting in: invitation codes, creating passkeys, and signing in with them.

use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::domain::{AuditEvent, CeremonyKind, CeremonyRecord, PasskeyRecord, Person};
use carefront_shared::invitation::{self, InvitationCode, InvitationRefusal, MAX_ATTEMPTS_PER_SOURCE, RATE_WINDOW};
use carefront_shared::passkey::{self, CEREMONY_LIFETIME, ENROLMENT_LIFETIME, PasskeyError, RelyingParty};
use carefront_shared::random::new_id;
use carefront_shared::session;
use carefront_shared::webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};
use chrono::{DateTime, Utc};
use http::StatusCode;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::error::PortalError;
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

/// POST /invitation: checks the code (rate-limited per source and per invitation) and, if it
/// is good, lets this browser create the person's first passkey.
pub async fn accept_invitation(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let form: InvitationForm = web::form(request)?;
    let window_start = window_start(context.now);
    if context.store.count_attempt(&format!("invitation:{}", context.client.as_deref().unwrap_or("unknown")), window_start).await? > MAX_ATTEMPTS_PER_SOURCE {
        return Err(PortalError::TooManyRequests);
    }
    let Some(code) = InvitationCode::parse(&form.code) else {
        return refuse_code(
            context,
            visit,
            &form.code,
            StatusCode::BAD_REQUEST,
            "Enter the invitation code as it is written, for example 7K2M-QX4D-9RTB-H3VW-ZP6N",
        );
    };
    let found = context.store.invitation_by_selector(code.selector()).await?;
    match invitation::check(found.as_ref(), &code, context.now) {
        Ok(()) => {}
        Err(refusal) => {
            if let (InvitationRefusal::NotRecognised, Some(found)) = (refusal, &found) {
                context.store.record_failed_invitation_attempt(&found.id).await?;
            }
            let (status, message) = match refusal {
                InvitationRefusal::NotRecognised => (StatusCode::BAD_REQUEST, "This invitation code was not recognised. Check it and try again"),
                InvitationRefusal::AlreadyUsed => {
                    (StatusCode::GONE, "This invitation has already been used. Sign in with your passkey, or ask for a new invitation")
                }
                InvitationRefusal::Expired => (StatusCode::GONE, "This invitation has expired. Ask whoever invited you for a new one"),
                InvitationRefusal::Locked => {
                    (StatusCode::TOO_MANY_REQUESTS, "This invitation is locked after too many wrong codes. Ask whoever invited you for a new one")
                }
            };
            return refuse_code(context, visit, &form.code, status, message);
        }
    }
    let Some(invitation) = found else { return Err(PortalError::Internal("accepted invitation vanished".into())) };
    context.store.delete_expired_ceremonies(context.now).await?;
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
    audit(context, None, &invitation.person_id, "invitation.accepted", "An invitation code was accepted to create a passkey.").await?;
    Ok(web::redirect("/passkeys/create"))
}

fn refuse_code(context: &RequestContext<'_>, visit: &Visit, code: &str, status: StatusCode, error: &str) -> Result<Response, PortalError> {
    let code: String = code.chars().take(64).collect();
    page_with_status(context, visit, status, "invitation.html", context! { code, error })
}

/// The start of the fixed rate-limit window `now` falls in.
fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = RATE_WINDOW.num_seconds();
    DateTime::from_timestamp(now.timestamp() - now.timestamp().rem_euclid(seconds), 0).unwrap_or(now)
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
        Ok((person, enrolment)) => page(context, visit, "create_passkey.html", context! { enrolling => enrolment.is_some(), name => person.display_name }),
        Err(PortalError::SignInRequired) => Ok(web::redirect("/invitation")),
        Err(error) => Err(error),
    }
}

/// POST /passkeys/create/options: starts a registration and keeps its state server-side.
pub async fn registration_options(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let (person, enrolment) = registrant(context, request, visit).await?;
    let existing = context.store.passkeys(&person.id).await?;
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
    let new_passkey = RelyingParty::new(context.config)?.finish_registration(&response, &ceremony.state)?;
    if let Some(invitation_id) = &ceremony.invitation_id
        && !context.store.consume_invitation(invitation_id, context.now).await?
    {
        return Err(PortalError::BadRequest("the invitation has already been used".into()));
    }
    let record = PasskeyRecord {
        id: new_id(context.random),
        person_id: person.id.clone(),
        credential_id: passkey::credential_id(&new_passkey),
        name: format!("Passkey added {}", context.now.format("%-d %B %Y")),
        passkey: new_passkey,
        created_at: context.now,
        last_used_at: None,
    };
    match context.store.insert_passkey(&record).await {
        Ok(()) => {}
        Err(DbError::Constraint(_)) => return Err(PortalError::BadRequest("this passkey is already registered".into())),
        Err(error) => return Err(error.into()),
    }
    audit(context, Some(&person.id), &person.id, "passkey.registered", &format!("A passkey was created: {}.", record.name)).await?;
    let enrolling = ceremony.invitation_id.is_some();
    if enrolling {
        if let Some(id_hash) = cookie(request, ENROL_COOKIE).and_then(|value| session::open(&visit.keys().session, ENROL_PURPOSE, value)) {
            context.store.delete_ceremony(&id_hash).await?;
        }
        visit.add_cookie(set_cookie(ENROL_COOKIE, "", Some(0)));
        visit.start_session(context, person).await?;
    }
    web::json(StatusCode::OK, &Redirect { redirect: if enrolling { "/home" } else { "/passkeys" } })
}

/// GET /sign-in.
pub fn sign_in_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let notice = web::query_param(request, "ended").map(|_| "Your session ended, so you have been signed out. Sign in again to carry on.");
    page(context, visit, "sign_in.html", context! { notice })
}

/// POST /sign-in/options: starts a username-less sign-in.
pub async fn authentication_options(context: &RequestContext<'_>, visit: &mut Visit) -> Result<Response, PortalError> {
    let (options, state) = RelyingParty::new(context.config)?.start_authentication()?;
    begin_ceremony(context, visit, CeremonyKind::Authenticate, None, None, state).await?;
    web::json(StatusCode::OK, &options)
}

/// POST /sign-in/finish: verifies the passkey against the stored ceremony and signs in.
pub async fn finish_authentication(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let (person, ceremony) = verify_assertion(context, request, visit).await?;
    if ceremony.person_id.is_some() {
        // A re-authentication ceremony cannot be turned into a sign-in.
        return Err(PasskeyError::NoCeremony.into());
    }
    visit.start_session(context, person).await?;
    web::json(StatusCode::OK, &Redirect { redirect: "/home" })
}

/// POST /reauthenticate/options: asks the signed-in person to prove themselves again with a
/// passkey before they add or widen access.
pub async fn reauthentication_options(context: &RequestContext<'_>, visit: &mut Visit) -> Result<Response, PortalError> {
    let person_id = visit.require_person()?.id.clone();
    let (options, state) = RelyingParty::new(context.config)?.start_authentication()?;
    begin_ceremony(context, visit, CeremonyKind::Authenticate, Some(person_id), None, state).await?;
    web::json(StatusCode::OK, &options)
}

/// POST /reauthenticate/finish: the passkey must be the signed-in person's own.
pub async fn finish_reauthentication(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let session_person = visit.require_person()?.id.clone();
    let (person, ceremony) = verify_assertion(context, request, visit).await?;
    if ceremony.person_id.as_deref() != Some(session_person.as_str()) || person.id != session_person {
        return Err(PasskeyError::UnknownCredential.into());
    }
    visit.mark_verified(context).await?;
    // Back to the page that asked (adding someone, or a change that gives more), if it is one.
    let next = web::query_param(request, "next").filter(|path| crate::sharing::is_return_path(path));
    web::json(StatusCode::OK, &serde_json::json!({ "redirect": next.as_deref().unwrap_or("/access/add") }))
}

/// Verifies a passkey assertion against this browser's authentication ceremony (used up in the
/// process), records the passkey's use and audits it; returns who signed and the ceremony.
async fn verify_assertion(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<(Person, CeremonyRecord), PortalError> {
    let response: PublicKeyCredential = web::json_body(request)?;
    let ceremony = take_ceremony(context, request, visit, CeremonyKind::Authenticate).await?;
    let relying_party = RelyingParty::new(context.config)?;
    let (handle, credential_id) = relying_party.identify(&response)?;
    let person = context.store.person_by_webauthn_handle(&handle).await?.ok_or(PasskeyError::UnknownCredential)?;
    let mut record =
        context.store.passkey_by_credential_id(&credential_id).await?.filter(|record| record.person_id == person.id).ok_or(PasskeyError::UnknownCredential)?;
    relying_party.finish_authentication(&response, &ceremony.state, &mut record.passkey)?;
    context.store.record_passkey_use(&record, context.now).await?;
    let (action, detail) = match ceremony.person_id {
        Some(_) => ("session.reauthenticated", format!("Confirmed it was them with {}.", record.name)),
        None => ("session.signed_in", format!("Signed in with {}.", record.name)),
    };
    audit(context, Some(&person.id), &person.id, action, &detail).await?;
    Ok((person, ceremony))
}

async fn begin_ceremony(
    context: &RequestContext<'_>,
    visit: &mut Visit,
    kind: CeremonyKind,
    person_id: Option<String>,
    invitation_id: Option<String>,
    state: String,
) -> Result<(), PortalError> {
    context.store.delete_expired_ceremonies(context.now).await?;
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

/// Appends an audit event about `subject_id`.
pub async fn audit(context: &RequestContext<'_>, actor_id: Option<&str>, subject_id: &str, action: &str, detail: &str) -> Result<(), PortalError> {
    let event = AuditEvent {
        id: new_id(context.random),
        at: context.now,
        actor_id: actor_id.map(str::to_owned),
        acting_for: None,
        subject_id: Some(subject_id.to_owned()),
        action: action.to_owned(),
        category: None,
        basis: None,
        detail: detail.to_owned(),
    };
    Ok(context.store.append_audit(&event).await?)
}
