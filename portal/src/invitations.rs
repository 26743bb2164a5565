//! Council staff's invitations: a person's invitations and where each stands, issuing one,
//! reissuing (the waiting one cancelled and a new one issued, in one plan) and cancelling; and
//! "Not enrolled yet", everyone with no passkey. An invitation is sent by email, text message or
//! a letter in the post (one outbox message in the same plan as the invitation), or handed over
//! by staff: the secret code exists only while the invitation is being issued and in its
//! message, so the answer to handing one over is the invitation letter itself, to print, and
//! the answer to sending one says only what went where.

use carefront_shared::access::{self, AuditAction};
use carefront_shared::consent::GrantState;
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::domain::{Invitation, InvitationPurpose, Person, Role};
use carefront_shared::invitation::{self, CheckMethod, CheckProblem, InvitationCode, InvitationState, RECOVERY_LIFETIMES};
use carefront_shared::needs::Presentation;
use carefront_shared::notices::invitation::{self as invitation_notice, Invite, LetterTo, Sending, Typed};
use carefront_shared::onboarding;
use carefront_shared::outbox::{Channel, Notification};
use carefront_shared::plan::Recorder;
use carefront_shared::preferences::{self, channel_label};
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use chrono::Duration;
use http::StatusCode;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use crate::council::require_council_staff;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Request, Response, page_with_status, qr, web};

/// How long a posted letter's invitation may last, in days: the first is the default.
const LIFETIMES: [i64; 3] = [28, 14, 7];
/// The most people "Not enrolled yet" lists at once (oldest first, so the longest waiting).
const NOT_ENROLLED_LIMIT: i64 = 500;

/// The issue / reissue form as posted.
#[derive(Debug, Default, Deserialize, Serialize)]
struct IssueForm {
    #[serde(default)]
    lifetime: String,
    /// The open invitation to cancel and replace (a reissue); empty to issue a first one.
    #[serde(default)]
    replaces: String,
    /// For someone already enrolled (a recovery invitation): how staff checked who it is.
    #[serde(default, rename(deserialize = "check-method"))]
    check_method: String,
    /// What they checked, in their words.
    #[serde(default, rename(deserialize = "check-note"))]
    check_note: String,
    /// How to send it ([`Sending`]); empty: hand it over.
    #[serde(default)]
    how: String,
    /// The email address, for an email.
    #[serde(default)]
    email: String,
    /// The UK mobile number, for a text message.
    #[serde(default)]
    mobile: String,
}

/// A problem with one field of the form, shown beside it and in the error summary.
#[derive(Debug, Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

/// The person an invitation is for: a service user the staff member's council holds a live
/// statutory grant for, or a representative of one (staff are invited on the administrators'
/// pages). Anyone else, or no one, is "not found": a council invites only people it has a duty to.
async fn invitee(context: &RequestContext<'_>, staff: &Person, person_id: &str) -> Result<Person, PortalError> {
    let council_id = staff.organisation_id.as_deref().ok_or(PortalError::NotFound)?;
    let person = match context.store.person(person_id).await? {
        Some(person) if matches!(person.role, Role::ServiceUser | Role::Representative) => person,
        _ => return Err(PortalError::NotFound),
    };
    let subjects: Vec<String> = if person.role == Role::ServiceUser {
        vec![person.id.clone()]
    } else {
        let held = context.store.grants_held_by(&person.id, None).await?;
        held.into_iter().filter(|grant| grant.state(context.now) == GrantState::Active).map(|grant| grant.subject_id).collect()
    };
    for subject in subjects {
        let grants = context.store.grants_for_subject(&subject).await?;
        if onboarding::council_grant(&grants, council_id, context.now).is_some() {
            return Ok(person);
        }
    }
    Err(PortalError::NotFound)
}

/// One invitation as the list shows it.
#[derive(Debug, Serialize)]
struct InvitationRow {
    id: String,
    state: InvitationState,
    state_label: &'static str,
    open: bool,
    issued: String,
    issued_by: String,
    expires: String,
    used: Option<String>,
    cancelled: Option<String>,
    cancelled_by: Option<String>,
    reissue: bool,
    /// A recovery invitation, and how staff checked who it is.
    recovery: bool,
    identity_check: Option<String>,
    /// How it was sent ("Emailed to m•••@example.org"), if it was, and whether it arrived.
    sent: Option<String>,
    delivery: Option<&'static str>,
}

async fn name_of(context: &RequestContext<'_>, id: Option<&str>) -> Result<String, PortalError> {
    Ok(match id {
        Some(id) => context.store.person(id).await?.map_or_else(|| "Someone no longer listed".to_owned(), |person| person.display_name),
        None => "carefront".to_owned(),
    })
}

/// The messages that sent `invitations` (those sent by email, text or letter), by invitation id.
pub(crate) async fn messages_for(context: &RequestContext<'_>, invitations: &[&Invitation]) -> Result<Vec<(String, Notification)>, PortalError> {
    let ids: Vec<String> = invitations.iter().map(|invitation| invitation_notice::message_id(invitation)).collect();
    let found = context.store.notifications_by_id(&ids).await?;
    Ok(invitations
        .iter()
        .filter_map(|invitation| {
            let id = invitation_notice::message_id(invitation);
            found.iter().find(|message| message.id == id).map(|message| (invitation.id.clone(), message.clone()))
        })
        .collect())
}

/// The message that sent `invitation`, among `messages` ([`messages_for`]).
pub(crate) fn message_of<'a>(messages: &'a [(String, Notification)], invitation: &Invitation) -> Option<&'a Notification> {
    messages.iter().find(|(id, _)| id == &invitation.id).map(|(_, message)| message)
}

async fn row_of(context: &RequestContext<'_>, invitation: &Invitation, message: Option<&Notification>) -> Result<InvitationRow, PortalError> {
    let state = invitation::state(invitation, context.now);
    Ok(InvitationRow {
        id: invitation.id.clone(),
        state,
        state_label: state.label(),
        open: state.is_open(),
        issued: uk_time::day_and_time(invitation.created_at),
        issued_by: name_of(context, invitation.created_by.as_deref()).await?,
        expires: uk_time::day_and_time(invitation.expires_at),
        used: invitation.used_at.map(uk_time::day_and_time),
        cancelled: invitation.cancelled_at.map(uk_time::day_and_time),
        cancelled_by: match invitation.cancelled_at {
            Some(_) => Some(name_of(context, invitation.cancelled_by.as_deref()).await?),
            None => None,
        },
        reissue: invitation.replaces.is_some(),
        recovery: invitation.purpose == InvitationPurpose::Recovery,
        identity_check: invitation.identity_check.clone(),
        sent: message.map(invitation_notice::sent_words),
        delivery: message.map(invitation_notice::status_words),
    })
}

/// The ways to send an invitation, as the forms list them: a recovery invitation's only by
/// letter or by hand.
pub(crate) fn sending_choices(recovery: bool) -> Vec<Value> {
    Sending::ALL
        .into_iter()
        .filter(|way| !recovery || matches!(way, Sending::Letter | Sending::HandOver))
        .map(|way| {
            let label = match way {
                Sending::Email => channel_label(Channel::Email),
                Sending::Sms => channel_label(Channel::Sms),
                Sending::Letter => "Post a letter",
                Sending::HandOver => "I'll print or hand it over myself",
            };
            context! { value => way.as_str(), label }
        })
        .collect()
}

/// The letter address on the council's record of `person` (their name, address lines and
/// postcode, as a letter notice is addressed), if it has one.
async fn letter_on_record(context: &RequestContext<'_>, person: &Person) -> Result<Option<String>, PortalError> {
    let details = context.store.person_details(&person.id).await?;
    Ok(details.and_then(|details| preferences::letter_address(&person.display_name, details.address.as_deref(), details.postcode.as_deref())))
}

/// The name of `staff`'s council, for a letter or a message: "your council" if it has none.
async fn council_name(context: &RequestContext<'_>, staff: &Person) -> Result<String, PortalError> {
    let name = match &staff.organisation_id {
        Some(id) => context.store.organisation(id).await?.map(|organisation| organisation.name),
        None => None,
    };
    Ok(name.filter(|name| !name.trim().is_empty()).unwrap_or_else(|| "your council".to_owned()))
}

/// The person's invitations page, with an error or a notice.
async fn render_list(
    context: &RequestContext<'_>,
    visit: &Visit,
    person: &Person,
    status: StatusCode,
    errors: &[FieldError],
    notice: Option<&str>,
    posted: &IssueForm,
) -> Result<Response, PortalError> {
    let invitations = context.store.invitations_for_person(&person.id).await?;
    let messages = messages_for(context, &invitations.iter().collect::<Vec<_>>()).await?;
    let mut rows = Vec::new();
    for invitation in &invitations {
        rows.push(row_of(context, invitation, message_of(&messages, invitation)).await?);
    }
    // Reissue replaces the newest open invitation; with none open, a first one is issued.
    let replaces = rows.iter().find(|row| row.open).map(|row| row.id.clone());
    // A reissue is sent the way the invitation it replaces was, unless staff choose otherwise.
    let same_way = invitations.iter().find(|invitation| replaces.as_ref() == Some(&invitation.id)).and_then(|invitation| message_of(&messages, invitation));
    let defaults;
    let posted = match same_way {
        Some(message) if posted.how.is_empty() && status == StatusCode::OK => {
            let recipient = |channel: Channel| if message.channel == channel { message.recipient.clone() } else { String::new() };
            defaults = IssueForm {
                how: Sending::of(message.channel).as_str().to_owned(),
                email: recipient(Channel::Email),
                mobile: recipient(Channel::Sms),
                ..IssueForm::default()
            };
            &defaults
        }
        _ => posted,
    };
    let on_record = letter_on_record(context, person).await?;
    let letter_on_record = on_record.as_deref().and_then(|lines| lines.lines().last()).map(str::to_owned);
    let enrolled = !context.store.passkeys(&person.id).await?.is_empty();
    let check_methods: Vec<Value> = CheckMethod::ALL.into_iter().map(|method| context! { value => method.as_str(), label => method.label() }).collect();
    let extra = context! {
        current => "home",
        wide => true,
        person_id => person.id.clone(),
        person_name => person.display_name.clone(),
        representative => person.role == Role::Representative,
        enrolled,
        rows,
        replaces,
        lifetimes => lifetimes(enrolled),
        check_methods,
        posted,
        errors,
        notice,
        sending => sending_choices(enrolled),
        invitee => person.display_name.clone(),
        letter_on_record,
    };
    page_with_status(context, visit, status, "council_invitations.html", extra)
}

/// GET /council/people/{id}/invitations.
pub async fn list(context: &RequestContext<'_>, request: &Request, visit: &Visit, person_id: &str) -> Result<Response, PortalError> {
    let staff = require_council_staff(context, visit).await?.clone();
    let person = invitee(context, &staff, person_id).await?;
    let notice = match web::query_param(request, "done").as_deref() {
        Some("cancelled") => Some("The invitation has been cancelled. Its code no longer works."),
        _ => None,
    };
    render_list(context, visit, &person, StatusCode::OK, &[], notice, &IssueForm::default()).await
}

/// POST /council/people/{id}/invitations: issues an invitation (or, with `replaces`, cancels
/// that open invitation and issues a new one), all in one plan with its audit event, and
/// answers with the letter to print.
pub async fn issue(context: &RequestContext<'_>, request: &Request, visit: &Visit, person_id: &str) -> Result<Response, PortalError> {
    let staff = require_council_staff(context, visit).await?.clone();
    let person = invitee(context, &staff, person_id).await?;
    let form: IssueForm = web::form(request)?;
    // Someone with a passkey already has an account: the only invitation for them is a
    // recovery invitation, made after staff record how they checked who it is.
    let enrolled = !context.store.passkeys(&person.id).await?.is_empty();
    let mut errors = Vec::new();
    let days = form.lifetime.trim().parse::<i64>().ok().filter(|days| lifetimes(enrolled).contains(days));
    if days.is_none() {
        errors.push(FieldError { field: "lifetime", message: "Choose how long the invitation lasts".into() });
    }
    let check = if enrolled {
        match invitation::identity_check(&form.check_method, &form.check_note) {
            Ok(check) => Some(check),
            Err(problems) => {
                errors.extend(problems.into_iter().map(|problem| FieldError { field: problem.field(), message: check_problem_words(problem).into() }));
                None
            }
        }
    } else {
        None
    };
    let on_record = letter_on_record(context, &person).await?;
    let typed = Typed { how: &form.how, email: &form.email, mobile: &form.mobile, letter: LetterTo::OnRecord(on_record.as_deref()) };
    let send = match if enrolled { invitation_notice::recovery_sending(&typed) } else { invitation_notice::sending(&typed) } {
        Ok(send) => send,
        Err(problems) => {
            errors.extend(problems.into_iter().map(|problem| FieldError { field: problem.field(), message: problem.to_string() }));
            None
        }
    };
    let Some(days) = days.filter(|_| errors.is_empty()) else {
        return render_list(context, visit, &person, StatusCode::BAD_REQUEST, &errors, None, &form).await;
    };
    let lifetime = Duration::days(days);
    let replaces = match form.replaces.trim() {
        "" => None,
        // A forged id, or another person's invitation, does not exist here.
        id => Some(context.store.invitations_for_person(&person.id).await?.into_iter().find(|invitation| invitation.id == id).ok_or(PortalError::NotFound)?),
    };
    let (invitation, code) = match (&replaces, check.clone()) {
        (_, Some(check)) => {
            let (invitation, code) = invitation::recover(&person.id, &staff.id, check, context.now, lifetime, context.random);
            (Invitation { replaces: replaces.as_ref().map(|previous| previous.id.clone()), ..invitation }, code)
        }
        (Some(previous), None) => invitation::reissue(previous, &staff.id, context.now, lifetime, context.random),
        (None, None) => invitation::issue(&person.id, Some(&staff.id), context.now, lifetime, context.random),
    };
    let until = uk_time::day_and_time(invitation.expires_at);
    let message = match send {
        Some((channel, recipient)) => {
            let inviter = council_name(context, &staff).await?;
            // A letter is printed at the person's large print size, if they recorded one.
            let large_print = Presentation::of(&context.store.needs(&person.id, false).await?).large_print.is_some();
            let invite =
                Invite { invitation: &invitation, code: &code, invitee_name: &person.display_name, inviter: &inviter, subject_id: &person.id, large_print };
            Some(invitation_notice::message(&invite, channel, recipient, &context.config.origin, context.now))
        }
        None => None,
    };
    let (action, detail) = match (&replaces, &check) {
        (_, Some(check)) => (
            AuditAction::InvitationRecoveryIssued,
            format!(
                "{}Issued a recovery invitation, to use by {until}, to add a passkey to this account. How they checked who it is: {check}.",
                if replaces.is_some() { "Cancelled the waiting invitation. " } else { "" }
            ),
        ),
        (Some(_), None) => (AuditAction::InvitationReissued, format!("Cancelled the waiting invitation and issued a new one, to use by {until}.")),
        (None, None) => (AuditAction::InvitationIssued, format!("Issued an invitation, to use by {until}.")),
    };
    // The log says how it went, masked as on the page ("Emailed to m•••@example.org").
    let detail = match &message {
        Some(message) => format!("{detail} {}.", invitation_notice::sent_words(message)),
        None => detail,
    };
    let event = access::invitation_event(new_id(context.random), context.now, &staff.id, &person.id, action, detail);
    // The cancel, the new invitation and the log line: all, or none. Each write carries its
    // guard, so a stale or doubled form stops here and never leaves two invitations waiting.
    let recorder = Recorder::new();
    let writes = recorder.store();
    if let Some(previous) = &replaces {
        writes.cancel_invitation(&person.id, &previous.id, &staff.id, context.now).await?;
    }
    writes.insert_only_invitation(&invitation, context.now).await?;
    if let Some(message) = &message {
        writes.queue_notification(message).await?;
    }
    writes.append_audit(&event).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => match &message {
            Some(message) => sent(context, visit, &person, &invitation, message, replaces.is_some()),
            None => letter(context, visit, &staff, &person, &invitation, &code).await,
        },
        Err(DbError::Constraint(_)) => {
            let message = "This person's invitations changed after you opened the page, so nothing was issued. Check them below: if an invitation is waiting and its letter is lost, reissue it.";
            let error = FieldError { field: "invitations", message: message.into() };
            render_list(context, visit, &person, StatusCode::CONFLICT, &[error], None, &IssueForm::default()).await
        }
        Err(error) => Err(error.into()),
    }
}

/// The answer to sending an invitation: what was sent where (masked) and when it expires; never
/// the code, which is in the message.
fn sent(
    context: &RequestContext<'_>,
    visit: &Visit,
    person: &Person,
    invitation: &Invitation,
    message: &Notification,
    replaced: bool,
) -> Result<Response, PortalError> {
    let extra = context! {
        current => "home",
        person_id => person.id.clone(),
        person_name => person.display_name.clone(),
        sent => invitation_notice::sent_words(message),
        expires => uk_time::day_and_time(invitation.expires_at),
        recovery => invitation.purpose == InvitationPurpose::Recovery,
        replaced,
    };
    page_with_status(context, visit, StatusCode::OK, "council_invitation_sent.html", extra)
}

/// How long an invitation may last: a posted letter's, or (for someone already enrolled) a
/// recovery invitation's, which is short because it opens an existing account.
fn lifetimes(enrolled: bool) -> &'static [i64] {
    if enrolled { &RECOVERY_LIFETIMES } else { &LIFETIMES }
}

/// What to do about a problem with the recorded identity check.
fn check_problem_words(problem: CheckProblem) -> &'static str {
    match problem {
        CheckProblem::NoMethod => "Choose how you checked who it is",
        CheckProblem::BadNote => "Say what you checked, for example which photo ID you saw, in up to 500 characters",
    }
}

/// POST /council/people/{id}/invitations/{invitation}/cancel: the code stops working at once.
pub async fn cancel(context: &RequestContext<'_>, request: &Request, visit: &Visit, person_id: &str, invitation_id: &str) -> Result<Response, PortalError> {
    let staff = require_council_staff(context, visit).await?.clone();
    let person = invitee(context, &staff, person_id).await?;
    // The form carries only its CSRF token (checked by the router), but must be a form.
    let _: Vec<(String, String)> = web::form(request)?;
    let found = context.store.invitations_for_person(&person.id).await?.into_iter().find(|invitation| invitation.id == invitation_id);
    let Some(found) = found else { return Err(PortalError::NotFound) };
    let event = access::invitation_event(
        new_id(context.random),
        context.now,
        &staff.id,
        &person.id,
        AuditAction::InvitationCancelled,
        format!("Cancelled the invitation issued {}.", uk_time::day_and_time(found.created_at)),
    );
    let recorder = Recorder::new();
    recorder.store().cancel_invitation(&person.id, &found.id, &staff.id, context.now).await?;
    recorder.store().append_audit(&event).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => Ok(web::redirect_to(&format!("/council/people/{}/invitations?done=cancelled", person.id))),
        Err(DbError::Constraint(_)) => {
            let message = "This invitation was already used, cancelled or out of time, so nothing was changed.";
            let error = FieldError { field: "invitations", message: message.into() };
            render_list(context, visit, &person, StatusCode::CONFLICT, &[error], None, &IssueForm::default()).await
        }
        Err(error) => Err(error.into()),
    }
}

/// What the letter says and shows, apart from the page's own variables.
#[derive(Debug, Serialize)]
pub(crate) struct Letter {
    name: String,
    representative: bool,
    code: String,
    link: String,
    /// The invitation page without the code, for typing the code in by hand.
    entry: String,
    /// carefront's address, for signing in later.
    site: String,
    qr: qr::QrSvg,
    /// A recovery letter: it adds a passkey to an existing account.
    recovery: bool,
    issued: String,
    expires: String,
    council: String,
    phone: Option<String>,
    /// Who issued it: a member of the council's staff, or the person who gave access.
    staff_name: String,
    /// The person who invited them (a family invitation), named at the top and in the help.
    invited_by: Option<String>,
    /// The person's postal address, a line each, and postcode, when recorded.
    address_lines: Vec<String>,
    postcode: Option<String>,
}

/// Who an invitation letter comes from.
pub(crate) enum LetterFrom<'a> {
    /// A member of the council's staff, whose council signs it.
    Council(&'a Person),
    /// Someone who gave the invitee access to a person's information (the person, or someone
    /// acting for them), by name; the council is named for help.
    Person(&'a str),
}

/// Where the letter is posted to: the person's address and postcode, if recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PostalAddress {
    /// The address as recorded (lines separated by new lines or commas).
    address: Option<String>,
    /// The postcode.
    postcode: Option<String>,
}

impl PostalAddress {
    /// The address's lines, without blanks.
    fn lines(&self) -> Vec<String> {
        let text = self.address.as_deref().unwrap_or_default();
        text.split(['\n', ',']).map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect()
    }
}

/// The person's postal address as the council recorded it (none for someone added without one).
async fn postal_address(context: &RequestContext<'_>, person: &Person) -> Result<PostalAddress, PortalError> {
    let details = context.store.person_details(&person.id).await?;
    Ok(details.map(|details| PostalAddress { address: details.address, postcode: details.postcode }).unwrap_or_default())
}

/// The invitation letter for `person`: plain words, the code, its link as a QR code, the expiry
/// in UK time; the same letter whoever issues it, the council or a person handing it over.
pub(crate) async fn letter_of(
    context: &RequestContext<'_>,
    from: LetterFrom<'_>,
    person: &Person,
    invitation: &Invitation,
    code: &InvitationCode,
) -> Result<Letter, PortalError> {
    let link = invitation_notice::enrolment_link(&context.config.origin, code);
    let qr = qr::svg(&link).map_err(|error| PortalError::Internal(error.to_string()))?;
    let controller = context.store.receipt_controller().await?;
    let (council, staff_name, invited_by) = match from {
        LetterFrom::Council(staff) => (Some(council_name(context, staff).await?), staff.display_name.clone(), None),
        LetterFrom::Person(name) => (controller.as_ref().map(|controller| controller.details.pii_controller.clone()), name.to_owned(), Some(name.to_owned())),
    };
    let address = postal_address(context, person).await?;
    Ok(Letter {
        name: person.display_name.clone(),
        representative: person.role == Role::Representative,
        code: code.to_string(),
        entry: format!("{}invitation", context.config.origin),
        site: context.config.origin.to_string(),
        link,
        qr,
        recovery: invitation.purpose == InvitationPurpose::Recovery,
        issued: uk_time::day(invitation.created_at),
        expires: uk_time::day_and_time(invitation.expires_at),
        council: council.filter(|name| !name.trim().is_empty()).unwrap_or_else(|| "your council".to_owned()),
        phone: controller.map(|controller| controller.details.phone).filter(|phone| !phone.trim().is_empty()),
        staff_name,
        invited_by,
        address_lines: address.lines(),
        postcode: address.postcode.clone().filter(|postcode| !postcode.trim().is_empty()),
    })
}

/// The council's invitation letter page, at the person's own large print size if they recorded
/// one.
async fn letter(
    context: &RequestContext<'_>,
    visit: &Visit,
    staff: &Person,
    person: &Person,
    invitation: &Invitation,
    code: &InvitationCode,
) -> Result<Response, PortalError> {
    let letter = letter_of(context, LetterFrom::Council(staff), person, invitation, code).await?;
    // The letter is printed for the person, so it takes their large print size, not the
    // size of whoever prints it.
    let large_print = Presentation::of(&context.store.needs(&person.id, false).await?).large_print;
    let extra = context! { current => "home", letter, person_id => person.id.clone(), large_print, easy_read => false };
    page_with_status(context, visit, StatusCode::OK, "invitation_letter.html", extra)
}

/// One person not enrolled yet, as the list shows them.
#[derive(Debug, Serialize)]
struct WaitingRow {
    id: String,
    name: String,
    role: &'static str,
    state: Option<&'static str>,
    since: Option<String>,
    /// How the latest invitation was sent, if it was, and whether it arrived.
    sent: Option<String>,
    delivery: Option<&'static str>,
}

/// GET /council/invitations: "Not enrolled yet", the longest waiting first.
pub async fn not_enrolled(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    require_council_staff(context, visit).await?;
    let waiting = context.store.not_enrolled(NOT_ENROLLED_LIMIT).await?;
    let messages = messages_for(context, &waiting.iter().filter_map(|waiting| waiting.latest.as_ref()).collect::<Vec<_>>()).await?;
    let rows: Vec<WaitingRow> = waiting
        .into_iter()
        .map(|waiting| WaitingRow {
            sent: waiting.latest.as_ref().and_then(|latest| message_of(&messages, latest)).map(invitation_notice::sent_words),
            delivery: waiting.latest.as_ref().and_then(|latest| message_of(&messages, latest)).map(invitation_notice::status_words),
            role: if waiting.person.role == Role::Representative { "Representative" } else { "Service user" },
            state: waiting.latest.as_ref().map(|latest| invitation::state(latest, context.now).label()),
            since: waiting.latest.as_ref().map(|latest| uk_time::day(latest.created_at)),
            id: waiting.person.id,
            name: waiting.person.display_name,
        })
        .collect();
    let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= NOT_ENROLLED_LIMIT;
    let extra: Value = context! { current => "home", wide => true, rows, full, limit => NOT_ENROLLED_LIMIT };
    page_with_status(context, visit, StatusCode::OK, "council_not_enrolled.html", extra)
}
