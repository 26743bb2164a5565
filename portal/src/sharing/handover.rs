//! Invitations a person gives a family member: when they let them in, sent by email, text
//! message or a letter in the post (one outbox message in the same plan), or handed over as a
//! code, a link and the council's printable letter with its QR code; afterwards "issue again"
//! (the same way as before) and "cancel" for the invitations they (or someone acting for them)
//! made. The rules are the council's: one waiting at a time, each change one plan with its line
//! in the access log.

use carefront_shared::access::AuditAction;
use carefront_shared::consent::{Action, Basis, GrantState, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::domain::{Invitation, Person, Role};
use carefront_shared::invitation::{self, InvitationCode};
use carefront_shared::notices::invitation::{self as invitation_notice, Invite};
use carefront_shared::outbox::{Channel, Notification};
use carefront_shared::plan::Recorder;
use carefront_shared::store::{InvitationStore as _, OutboxStore as _, Store as _};
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::context;
use serde::Serialize;

use super::words::Whose;
use super::{Subject, confirm_identity, render_access, resolve, see_other};
use crate::error::PortalError;
pub(super) use crate::invitations::sending_choices;
use crate::invitations::{Letter, LetterFrom, letter_of, message_of, messages_for};
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// The newest invitation the visitor made for someone they let in, as the access page lists it.
#[derive(Debug, Serialize)]
pub(super) struct HandedOver {
    /// The invitation's id, for its forms.
    id: String,
    /// Whom it is for.
    name: String,
    /// "Waiting", "Expired", "Cancelled", "Locked".
    state: &'static str,
    /// "Works until 28 November 2026 at 10am" or when it stopped.
    detail: String,
    /// Whether it can still be cancelled.
    open: bool,
    /// How it was sent ("Emailed to a•••@example.org"), if it was, and whether it arrived.
    sent: Option<String>,
    delivery: Option<&'static str>,
}

/// Everyone the person let in who has not set up carefront yet, with the newest invitation the
/// person (or the visitor acting for them) made for them. Invitations the council made are the
/// council's to manage; someone with a passkey is never re-invited here, as a new code would let
/// whoever holds it add a passkey to *their* account.
pub(super) async fn manageable(context: &RequestContext<'_>, subject: &Subject) -> Result<Vec<(Person, Invitation)>, PortalError> {
    let makers = [subject.person.id.as_str(), subject.actor.id.as_str()];
    let mut found: Vec<(Person, Invitation)> = Vec::new();
    for grant in &subject.grants {
        let Grantee::Person(invitee_id) = &grant.grantee else { continue };
        let live = matches!(grant.state(context.now), GrantState::Active | GrantState::NotStarted);
        if !live || grant.basis != Basis::Consent || found.iter().any(|(person, _)| &person.id == invitee_id) {
            continue;
        }
        let Some(invitee) = context.store.person(invitee_id).await? else { continue };
        if invitee.role != Role::Representative || !context.store.passkeys(&invitee.id).await?.is_empty() {
            continue;
        }
        // The one that may still be waiting, else the newest (a reissue made in the same second
        // as the one it replaced sorts after it).
        let newest = context
            .store
            .invitations_for_person(&invitee.id)
            .await?
            .into_iter()
            .filter(|invitation| invitation.used_at.is_none() && invitation.created_by.as_deref().is_some_and(|maker| makers.contains(&maker)))
            .max_by_key(|invitation| (invitation::state(invitation, context.now).is_open(), invitation.created_at));
        if let Some(newest) = newest {
            found.push((invitee, newest));
        }
    }
    Ok(found)
}

/// The rows of "Invitations you made" on the access page.
pub(super) async fn rows(context: &RequestContext<'_>, subject: &Subject) -> Result<Vec<HandedOver>, PortalError> {
    let found = manageable(context, subject).await?;
    let messages = messages_for(context, &found.iter().map(|(_, invitation)| invitation).collect::<Vec<_>>()).await?;
    Ok(found
        .into_iter()
        .map(|(person, invitation)| {
            let message = message_of(&messages, &invitation);
            let (sent, delivery) = (message.map(invitation_notice::sent_words), message.map(invitation_notice::status_words));
            let state = invitation::state(&invitation, context.now);
            let detail = match (invitation.cancelled_at, state) {
                (Some(at), _) => format!("Cancelled {}", uk_time::day_and_time(at)),
                (None, invitation::InvitationState::Expired) => format!("Ran out {}", uk_time::day_and_time(invitation.expires_at)),
                (None, invitation::InvitationState::Locked) => "Locked after too many wrong codes".to_owned(),
                _ => format!("Works until {}", uk_time::day_and_time(invitation.expires_at)),
            };
            HandedOver { id: invitation.id, name: person.display_name, state: state.label(), detail, open: state.is_open(), sent, delivery }
        })
        .collect())
}

/// The page that hands an invitation over: its code, its link, and the council's letter to
/// print. `added`: the sentence of the access just given, or `None` for an invitation issued
/// again.
pub(super) struct Handover<'a> {
    /// Whom the invitation is for.
    pub(super) invitee: &'a Person,
    /// The stored invitation.
    pub(super) invitation: &'a Invitation,
    /// Its code, shown only now.
    pub(super) code: &'a InvitationCode,
    /// For a new access: its sentence, detail and receipt.
    pub(super) added: Option<minijinja::Value>,
    /// The message that sends it, if it was sent rather than handed over: then the page says
    /// where it went and shows neither the code nor the letter.
    pub(super) sent: Option<&'a Notification>,
}

/// The one message that sends `invitation` for `invitee` by `channel` to `recipient`, from the
/// person (or whoever acts for them). A family member has no recorded needs yet, so a letter
/// is in standard print.
pub(super) fn message(
    context: &RequestContext<'_>,
    subject: &Subject,
    invitee: &Person,
    invitation: &Invitation,
    code: &InvitationCode,
    channel: Channel,
    recipient: String,
) -> Notification {
    let inviter = inviter_name(subject);
    let invite = Invite { invitation, code, invitee_name: &invitee.display_name, inviter: &inviter, subject_id: &subject.person.id, large_print: false };
    invitation_notice::message(&invite, channel, recipient, &context.config.origin, context.now)
}

/// Renders the hand-over page (`access_added.html`) for an invitation just issued.
pub(super) async fn render(context: &RequestContext<'_>, visit: &Visit, subject: &Subject, handover: Handover<'_>) -> Result<Response, PortalError> {
    let expires = uk_time::day_and_time(handover.invitation.expires_at);
    let extra = match handover.sent {
        Some(message) => context! {
            current => "access",
            name => handover.invitee.display_name.clone(),
            expires,
            sent => invitation_notice::sent_words(message),
            added => handover.added,
        },
        None => {
            let from = inviter_name(subject);
            let letter: Letter = letter_of(context, LetterFrom::Person(&from), handover.invitee, handover.invitation, handover.code).await?;
            context! {
                current => "access",
                name => handover.invitee.display_name.clone(),
                code => handover.code.to_string(),
                link => invitation_notice::enrolment_link(&context.config.origin, handover.code),
                expires,
                letter,
                added => handover.added,
            }
        }
    };
    page_with_status(context, visit, StatusCode::OK, "access_added.html", minijinja::value::merge_maps([subject.page_context(), extra]))
}

/// Who the letter says the invitation is from: the person, or "Sam Okafor, for Margaret Okafor".
fn inviter_name(subject: &Subject) -> String {
    match subject.whose() {
        Whose::You => subject.person.display_name.clone(),
        Whose::Named(name) => format!("{}, for {name}", subject.actor.display_name),
    }
}

/// The invitation `id` among those the visitor may manage, with whom it is for; anything else
/// (a forged id, the council's invitation, someone already enrolled) does not exist here.
async fn find(context: &RequestContext<'_>, subject: &Subject, id: &str) -> Result<(Person, Invitation), PortalError> {
    manageable(context, subject).await?.into_iter().find(|(_, invitation)| invitation.id == id).ok_or(PortalError::NotFound)
}

/// What a reissue or cancel form is about: whose access page, and the invitation it names among
/// those the visitor may manage (the form carries only its CSRF token, checked by the router,
/// but must be a form).
async fn target(
    context: &RequestContext<'_>,
    request: &Request,
    visit: &Visit,
    subject_id: Option<&str>,
    invitation_id: &str,
) -> Result<(Subject, Person, Invitation), PortalError> {
    let subject = resolve(context, visit, subject_id, Action::Contribute).await?;
    let _: Vec<(String, String)> = web::form(request)?;
    let (invitee, invitation) = find(context, &subject, invitation_id).await?;
    Ok((subject, invitee, invitation))
}

/// POST /access/invitations/{id}/reissue and /people/{id}/access/invitations/{invitation}/reissue:
/// cancels the waiting invitation (if it still is) and issues a new one in one plan, after a
/// fresh passkey check, and answers with the new code, link and letter.
pub async fn reissue(
    context: &RequestContext<'_>,
    request: &Request,
    visit: &Visit,
    subject_id: Option<&str>,
    invitation_id: &str,
) -> Result<Response, PortalError> {
    let (subject, invitee, previous) = target(context, request, visit, subject_id, invitation_id).await?;
    if !visit.signed_in.as_ref().is_some_and(|signed_in| signed_in.recently_verified) {
        let reason = format!(
            "Before you issue {}'s invitation again, use your passkey again: your fingerprint, face or screen lock. The new code lets whoever holds it set up carefront as them.",
            invitee.display_name
        );
        return confirm_identity(context, visit, &subject, reason, &format!("{}/access", subject.prefix()));
    }
    let open = invitation::state(&previous, context.now).is_open();
    let (invitation, code) = invitation::reissue(&previous, &subject.actor.id, context.now, invitation::DEFAULT_LIFETIME, context.random);
    // Sent again the way the one it replaces was, to the same address or number.
    let before = messages_for(context, &[&previous]).await?;
    let message =
        message_of(&before, &previous).map(|before| message(context, &subject, &invitee, &invitation, &code, before.channel, before.recipient.clone()));
    let detail =
        format!("Issued {} a new invitation, to use by {}; the old code no longer works.", invitee.display_name, uk_time::day_and_time(invitation.expires_at));
    let event = subject.event(context, AuditAction::InvitationReissued, None, detail);
    // The cancel, the new invitation and the log line: all, or none. Each write carries its
    // guard, so a doubled form never leaves two invitations waiting.
    let recorder = Recorder::new();
    let writes = recorder.store();
    if open {
        writes.cancel_invitation(&invitee.id, &previous.id, &subject.actor.id, context.now).await?;
    }
    writes.insert_only_invitation(&invitation, context.now).await?;
    if let Some(message) = &message {
        writes.queue_notification(message).await?;
    }
    writes.append_audit(&event).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => {
            render(context, visit, &subject, Handover { invitee: &invitee, invitation: &invitation, code: &code, added: None, sent: message.as_ref() }).await
        }
        Err(DbError::Constraint(_)) => {
            let message =
                format!("{}'s invitations changed after you opened the page, so nothing was issued. Check them below and try again.", invitee.display_name);
            render_access(context, visit, &subject, StatusCode::CONFLICT, Some(message), None).await
        }
        Err(error) => Err(error.into()),
    }
}

/// POST /access/invitations/{id}/cancel and /people/{id}/access/invitations/{invitation}/cancel:
/// the code stops working at once.
pub async fn cancel(
    context: &RequestContext<'_>,
    request: &Request,
    visit: &Visit,
    subject_id: Option<&str>,
    invitation_id: &str,
) -> Result<Response, PortalError> {
    let (subject, invitee, found) = target(context, request, visit, subject_id, invitation_id).await?;
    let detail = format!("Cancelled {}'s invitation issued {}.", invitee.display_name, uk_time::day_and_time(found.created_at));
    let event = subject.event(context, AuditAction::InvitationCancelled, None, detail);
    let recorder = Recorder::new();
    recorder.store().cancel_invitation(&invitee.id, &found.id, &subject.actor.id, context.now).await?;
    recorder.store().append_audit(&event).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => Ok(see_other(&format!("{}/access?done=invitation-cancelled&person={}", subject.prefix(), invitee.id))),
        Err(DbError::Constraint(_)) => {
            let message = format!("{}'s invitation was already used, cancelled or out of time, so nothing was changed.", invitee.display_name);
            render_access(context, visit, &subject, StatusCode::CONFLICT, Some(message), None).await
        }
        Err(error) => Err(error.into()),
    }
}
