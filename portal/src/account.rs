//! The signed-in person's own pages: "Your care", their passkeys and sessions, signing out.
//! Changing passkeys or ending sessions needs a passkey check within the last 5 minutes (a
//! borrowed, unlocked phone must not be enough to take the account), and each such change is
//! written to the person's access log through [`account_event`].

use carefront_shared::access::{self, AuditAction};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::AuditEvent;
use carefront_shared::notices;
use carefront_shared::outbox::NotificationKind;
use carefront_shared::passkey::MAX_NAME_CHARS;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::PasskeyRemoval;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use chrono::Duration;
use http::StatusCode;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::care;
use crate::enrolment::{Confirmation, audit, confirm_identity};
use crate::error::PortalError;
use crate::record;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page, page_with_status};

/// GET /home: "Your care" with the Today card and the care plan summary for a service user;
/// "People you support", one status card per person, for a family carer.
pub async fn home(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let plan = match care::read_care_plan(context, person, &person.id).await {
        Ok(plan) => plan.map(care::plan_view),
        Err(PortalError::NotFound) => None,
        Err(error) => return Err(error),
    };
    let supported = care::people_supported(context, person).await?;
    let ending = crate::sharing::ending_soon(context, person).await?;
    let sections = if person.role == carefront_shared::domain::Role::ServiceUser { record::sections(context, person, &person.id).await? } else { Vec::new() };
    // The Today card: the person's own, or one status card per person a family carer supports.
    let today = if person.role == carefront_shared::domain::Role::ServiceUser {
        Some(crate::today::card(context, person, &person.id, &person.display_name, crate::today::Shown::Home).await?)
    } else {
        None
    };
    let mut cards = Vec::new();
    if person.role == carefront_shared::domain::Role::Representative {
        for entry in &supported {
            let card = crate::today::card(context, person, &entry.id, &entry.name, crate::today::Shown::Home).await?;
            cards.push(minijinja::value::merge_maps([card, minijinja::Value::from_serialize(entry)]));
        }
    }
    let emergency = crate::emergency::home_notice(context, person, &supported).await?;
    let passkeys_added = passkeys_added(context, &person.id).await?;
    // Only administrators are shown the link to the credentials pages (404 for caseworkers).
    let council_administrator = person.role == carefront_shared::domain::Role::CouncilStaff
        && context.store.council_role(&person.id).await? == Some(carefront_shared::domain::CouncilRole::Administrator);
    // Likewise the provider administrator's pages (404 for the provider's other staff).
    let provider_administrator = person.role == carefront_shared::domain::Role::ProviderStaff
        && carefront_shared::store::StaffStore::provider_role(context.store, &person.id).await? == Some(carefront_shared::domain::ProviderRole::Administrator);
    page(
        context,
        visit,
        "home.html",
        context! {
            current => "home", plan, supported, cards, today, ending, sections, me => person.id, emergency, passkeys_added, council_administrator,
            provider_administrator,
        },
    )
}

/// GET /people/{id}: the care information a representative or member of staff may see about
/// one person; 404 when they may see nothing (it does not exist for them).
pub async fn person_page(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    if subject_id == person.id {
        return Ok(web::redirect("/home"));
    }
    let supported = care::people_supported(context, person).await?;
    let Some(entry) = supported.into_iter().find(|entry| entry.id == subject_id) else {
        return Err(PortalError::NotFound);
    };
    let plan = match care::read_care_plan(context, person, subject_id).await {
        Ok(plan) => plan.map(care::plan_view),
        Err(PortalError::NotFound) => None,
        Err(error) => return Err(error),
    };
    let sections = record::sections(context, person, subject_id).await?;
    let flags = crate::needs::flags(context, subject_id).await?;
    let manage = crate::sharing::may_manage(context, person, subject_id).await?;
    let emergency = crate::emergency::person_notice(context, person, &entry).await?;
    let today = crate::today::card(context, person, subject_id, &entry.name, crate::today::Shown::PersonPage).await?;
    page(context, visit, "person.html", context! { current => "home", subject => entry, today, plan, sections, flags, manage, emergency })
}

/// How long the home page tells the person that a passkey was added to their account.
const PASSKEY_NEWS: Duration = Duration::days(14);

/// A change to a person's own account, for their access log.
pub enum AccountEvent<'a> {
    /// A passkey was added to an account that already had one (not the first, at enrolment).
    PasskeyAdded {
        /// Its name when it was added.
        name: &'a str,
    },
    /// A passkey was added with a recovery invitation (the person had lost every passkey).
    PasskeyRecovered {
        /// Its name when it was added.
        name: &'a str,
        /// When, in words ("21 November 2026 at 9am").
        when: &'a str,
        /// Who issued the recovery invitation, with their organisation.
        issued_by: &'a str,
    },
    /// A passkey was renamed.
    PasskeyRenamed {
        /// Its name before.
        from: &'a str,
        /// Its name now.
        to: &'a str,
    },
    /// A passkey was removed, and the sessions it made ended with it.
    PasskeyRemoved {
        /// Its name.
        name: &'a str,
    },
    /// Sessions were ended from the passkeys page.
    SessionEnded(Ended),
}

/// Which sessions "sign out" ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// One other device.
    AnotherDevice,
    /// Every device but this one.
    EveryOtherDevice,
    /// Every device, this one too.
    Everywhere,
}

/// The audit event for a change to the person's own account: the one place these actions and
/// their words are written (the home page's notice reads `passkey.added` back).
pub fn account_event(context: &RequestContext<'_>, person_id: &str, change: AccountEvent<'_>) -> AuditEvent {
    let (action, detail) = match change {
        AccountEvent::PasskeyAdded { name } => (AuditAction::PasskeyAdded, format!("A passkey called \u{201c}{name}\u{201d} was added.")),
        AccountEvent::PasskeyRecovered { name, when, issued_by } => {
            (AuditAction::PasskeyAdded, format!("A new passkey called \u{201c}{name}\u{201d} was added on {when} with a recovery letter from {issued_by}."))
        }
        AccountEvent::PasskeyRenamed { from, to } => {
            (AuditAction::PasskeyRenamed, format!("Renamed a passkey from \u{201c}{from}\u{201d} to \u{201c}{to}\u{201d}."))
        }
        AccountEvent::PasskeyRemoved { name } => {
            (AuditAction::PasskeyRemoved, format!("Removed the passkey \u{201c}{name}\u{201d} and signed out the devices it signed in."))
        }
        AccountEvent::SessionEnded(Ended::AnotherDevice) => (AuditAction::SessionEnded, "Signed out another device.".to_owned()),
        AccountEvent::SessionEnded(Ended::EveryOtherDevice) => (AuditAction::SessionEnded, "Signed out every other device.".to_owned()),
        AccountEvent::SessionEnded(Ended::Everywhere) => (AuditAction::SessionEnded, "Signed out everywhere.".to_owned()),
    };
    access::account_event(new_id(context.random), context.now, Some(person_id), person_id, action, detail)
}

/// Appends an account event on its own (changes of one row; the others go in their batch).
pub async fn record(context: &RequestContext<'_>, person_id: &str, change: AccountEvent<'_>) -> Result<(), PortalError> {
    // A passkey added is a security notice too: its line in the log and the person's message
    // are written together.
    let told = match change {
        AccountEvent::PasskeyAdded { .. } | AccountEvent::PasskeyRecovered { .. } => {
            notices::account(context.store, person_id, NotificationKind::PasskeyAdded, &context.config.origin, context.now, context.random).await?
        }
        _ => Vec::new(),
    };
    let recorder = Recorder::new();
    recorder.store().append_audit(&account_event(context, person_id, change)).await?;
    notices::queue(&recorder, &told).await?;
    Ok(context.store.apply(&recorder.into_plan()).await?)
}

/// The passkeys added to the person's account in the last 14 days, for the home page's notice.
async fn passkeys_added(context: &RequestContext<'_>, person_id: &str) -> Result<Vec<minijinja::Value>, PortalError> {
    let events = context.store.audit_since(person_id, AuditAction::PasskeyAdded, context.now - PASSKEY_NEWS).await?;
    Ok(events.into_iter().map(|event| context! { what => event.detail, when => uk_time::day_and_time(event.at) }).collect())
}

/// The answer to a change of passkeys or sessions without a recent passkey check: nothing
/// changes, and the page offers the check, then comes back to the passkeys page.
fn needs_recent_check(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    confirm_identity(
        context,
        visit,
        StatusCode::FORBIDDEN,
        &confirmation(
            "Before you change your passkeys or sign devices out, use your passkey again: your fingerprint, face or screen lock. This stops anyone else who picks up your phone from taking your account.",
        ),
    )
}

fn confirmation(reason: &str) -> Confirmation<'_> {
    Confirmation { current: "passkeys", back: ("/passkeys", "Your passkeys"), reason, return_to: "/passkeys" }
}

#[derive(Serialize)]
struct PasskeyView {
    id: String,
    name: String,
    created: String,
    last_used: Option<String>,
}

/// GET /passkeys: the person's passkeys and where they are signed in.
pub async fn passkeys_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let notice = match web::query_param(request, "done").as_deref() {
        Some("renamed") => Some("Your passkey has been renamed."),
        Some("removed") => Some("Your passkey has been removed. Any device it signed in has been signed out."),
        Some("ended") => Some("That device has been signed out."),
        Some("ended-others") => Some("Every other device has been signed out."),
        Some("recovered") => Some(
            "Your new passkey is ready. If a passkey below is on a phone or computer you no longer have, remove it: any device it signed in is signed out.",
        ),
        _ => None,
    };
    passkeys_with(context, visit, StatusCode::OK, None, notice).await
}

async fn passkeys_with(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    let passkeys: Vec<PasskeyView> = context
        .store
        .passkeys(&person.id)
        .await?
        .into_iter()
        .map(|record| PasskeyView {
            id: record.id,
            name: record.name,
            created: uk_time::day(record.created_at),
            last_used: record.last_used_at.map(uk_time::day_and_time),
        })
        .collect();
    let this_session = visit.signed_in.as_ref().map(|signed_in| signed_in.session_hash.clone()).unwrap_or_default();
    let sessions: Vec<_> = context
        .store
        .sessions_for_person(&person.id)
        .await?
        .into_iter()
        .filter(|session| carefront_shared::session::check(session, context.now).is_ok())
        .map(|session| {
            context! {
                this_device => session.id_hash == this_session,
                started => uk_time::day_and_time(session.created_at),
                last_seen => uk_time::day_and_time(session.last_seen_at),
                id => session.id_hash,
            }
        })
        .collect();
    // Without a recent passkey check the page offers one first (the one re-authentication flow).
    let finish =
        (!visit.recently_verified()).then(|| format!("/reauthenticate/finish?{}", serde_urlencoded::to_string([("return", "/passkeys")]).unwrap_or_default()));
    page_with_status(context, visit, status, "passkeys.html", context! { current => "passkeys", passkeys, sessions, error, notice, finish })
}

#[derive(Deserialize)]
struct EndSessionForm {
    session: String,
}

/// POST /sessions/end: signs one of the person's other devices out (its row goes at once).
pub async fn end_session(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    if !visit.recently_verified() {
        return needs_recent_check(context, visit);
    }
    let form: EndSessionForm = web::form(request)?;
    let event = account_event(context, &person.id, AccountEvent::SessionEnded(Ended::AnotherDevice));
    if !context.store.end_person_session(&person.id, &form.session, &event).await? {
        return Err(PortalError::NotFound);
    }
    Ok(web::redirect("/passkeys?done=ended"))
}

#[derive(Deserialize)]
struct EndAllForm {
    scope: String,
}

/// POST /sessions/end-all: "sign out everywhere": `scope=others` ends every session of the
/// person but this one; `scope=all` ends this one too.
pub async fn end_all_sessions(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let person_id = visit.require_person()?.id.clone();
    if !visit.recently_verified() {
        return needs_recent_check(context, visit);
    }
    let form: EndAllForm = web::form(request)?;
    let this_session = visit.signed_in.as_ref().map(|signed_in| signed_in.session_hash.clone());
    let (ended, keep) = match form.scope.as_str() {
        "others" => (Ended::EveryOtherDevice, this_session),
        "all" => (Ended::Everywhere, None),
        _ => return Err(PortalError::BadRequest("unknown scope".into())),
    };
    let event = account_event(context, &person_id, AccountEvent::SessionEnded(ended));
    context.store.end_person_sessions(&person_id, keep.as_deref(), &event).await?;
    if ended == Ended::Everywhere {
        visit.end_session(context).await?;
        return Ok(web::redirect("/signed-out"));
    }
    Ok(web::redirect("/passkeys?done=ended-others"))
}

#[derive(Deserialize)]
struct RenameForm {
    name: String,
}

/// The name of one of the person's passkeys; a forged id or another person's passkey is not
/// found.
async fn passkey_name(context: &RequestContext<'_>, person_id: &str, id: &str) -> Result<(String, usize), PortalError> {
    let passkeys = context.store.passkeys(person_id).await?;
    let count = passkeys.len();
    passkeys.into_iter().find(|record| record.id == id).map(|record| (record.name, count)).ok_or(PortalError::NotFound)
}

/// POST /passkeys/{id}/rename.
pub async fn rename_passkey(context: &RequestContext<'_>, request: &Request, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    if !visit.recently_verified() {
        return needs_recent_check(context, visit);
    }
    let form: RenameForm = web::form(request)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        let message = format!("Enter a name for the passkey of up to {MAX_NAME_CHARS} characters");
        return passkeys_with(context, visit, StatusCode::BAD_REQUEST, Some(&message), None).await;
    }
    let (before, _) = passkey_name(context, &person.id, id).await?;
    // The new name and its line in the log: both, or neither.
    let recorder = Recorder::new();
    recorder.store().rename_passkey(&person.id, id, name).await?;
    recorder.store().append_audit(&account_event(context, &person.id, AccountEvent::PasskeyRenamed { from: &before, to: name })).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect("/passkeys?done=renamed"))
}

/// POST /passkeys/{id}/remove: never the last one; the sessions it made end with it.
pub async fn remove_passkey(context: &RequestContext<'_>, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    if !visit.recently_verified() {
        return needs_recent_check(context, visit);
    }
    let (name, count) = passkey_name(context, &person.id, id).await?;
    let removal = if count > 1 {
        let event = account_event(context, &person.id, AccountEvent::PasskeyRemoved { name: &name });
        context.store.remove_passkey(&person.id, id, &event).await?
    } else {
        PasskeyRemoval::LastOne
    };
    match removal {
        PasskeyRemoval::Removed => {
            // Told after the removal's own batch (the store's removal reads and writes in one
            // batch of its own); a failure here leaves the removal done and is an error page.
            let told =
                notices::account(context.store, &person.id, NotificationKind::PasskeyRemoved, &context.config.origin, context.now, context.random).await?;
            let recorder = Recorder::new();
            notices::queue(&recorder, &told).await?;
            context.store.apply(&recorder.into_plan()).await?;
            Ok(web::redirect("/passkeys?done=removed"))
        }
        PasskeyRemoval::NotFound => Err(PortalError::NotFound),
        PasskeyRemoval::LastOne => {
            passkeys_with(
                context,
                visit,
                StatusCode::CONFLICT,
                Some("You cannot remove your only passkey: you would not be able to sign in. Add another passkey first."),
                None,
            )
            .await
        }
    }
}

/// POST /sign-out: deletes the session row, so a copied cookie is dead too.
pub async fn sign_out(context: &RequestContext<'_>, visit: &mut Visit) -> Result<Response, PortalError> {
    if let Some(person) = visit.signed_in.as_ref().map(|signed_in| signed_in.person.id.clone()) {
        audit(context, Some(&person), &person, AuditAction::SignedOut, "Signed out.").await?;
    }
    visit.end_session(context).await?;
    Ok(web::redirect("/signed-out"))
}
