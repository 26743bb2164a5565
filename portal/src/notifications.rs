//! "How we contact you" at `/account/notifications`: every signed-in person chooses, for each
//! kind of message, the channels it comes by (email, text message, letter, or none — never none
//! for a security notice), and adds or changes the email address and mobile number messages go
//! to, each confirmed with a 6-digit code sent there. The same pages at
//! `/people/{id}/notifications` are for someone who acts for the person (an act-for power on a
//! live grant, asked of the consent decision as a [`Power`]); anyone else is not found there.
//! Every change is in the person's access log, saying who made it and on whose behalf; when a
//! new address replaces a confirmed one, the old one is told in the same batch.

use std::collections::{BTreeMap, BTreeSet};

use carefront_shared::access::{self, AuditAction, Power};
use carefront_shared::consent::Action;
use carefront_shared::contact::{self, CODES_SENT, CodeCheck, ContactCode, ContactPoint, Medium, Waiting};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{AuditEvent, Person};
use carefront_shared::notices;
use carefront_shared::outbox::{Channel, NotificationKind};
use carefront_shared::person::FieldError;
use carefront_shared::plan::Recorder;
use carefront_shared::preferences::{self, CHANNELS, CHOOSABLE, Reach};
use carefront_shared::random::new_id;
use carefront_shared::store::preferences::reach;
use carefront_shared::store::{OutboxStore as _, PreferenceStore as _, Store as _};
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};

use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// The settings page's path.
pub const SETTINGS: &str = "/account/notifications";

/// What was ticked for each kind: the channels, and whether "none" was.
type Ticked = BTreeMap<NotificationKind, (BTreeSet<Channel>, bool)>;

fn medium_from(segment: &str) -> Result<Medium, PortalError> {
    Medium::parse(segment).ok_or(PortalError::NotFound)
}

/// Whose settings a request is about: the signed-in person's own, or those of a person they
/// act for.
pub struct Whose {
    /// The person whose settings they are.
    person: Person,
    /// The act-for power, when someone acts for them.
    power: Option<Power>,
    /// The settings page's path.
    base: String,
}

impl Whose {
    /// The signed-in person's own settings (`subject` `None`), or `subject`'s when the signed-in
    /// person holds an act-for power for them now; not found for anyone else (staff, family
    /// without the power, another person, the person themselves at the other path).
    pub async fn of(context: &RequestContext<'_>, visit: &Visit, subject: Option<&str>) -> Result<Whose, PortalError> {
        let reader = visit.require_person()?;
        let Some(subject_id) = subject else { return Ok(Whose { person: reader.clone(), power: None, base: SETTINGS.to_owned() }) };
        let grants = context.store.grants_for_subject(subject_id).await?;
        let power = Power::ask(&crate::care::actor(reader), subject_id, Action::Contribute, &grants, context.now).map_err(|_| PortalError::NotFound)?;
        if power.acting_for().is_none() {
            return Err(PortalError::NotFound);
        }
        let person = context.store.person(subject_id).await?.ok_or(PortalError::NotFound)?;
        Ok(Whose { person, power: Some(power), base: format!("/people/{subject_id}/notifications") })
    }

    /// The audit event for a change to these settings: the person's own act, or the act-for
    /// power's (who made it, on whose behalf, under which grant).
    fn event(&self, context: &RequestContext<'_>, action: AuditAction, detail: String) -> AuditEvent {
        match &self.power {
            Some(power) => power.event(new_id(context.random), action, None, detail),
            None => access::account_event(new_id(context.random), context.now, Some(&self.person.id), &self.person.id, action, detail),
        }
    }

    /// "you", or the person's name when someone acts for them (for the log's words).
    fn whom(&self) -> &str {
        if self.power.is_some() { &self.person.display_name } else { "you" }
    }

    /// What every page of these settings needs to say whose they are and where its forms post.
    fn view(&self) -> Value {
        let acting = self.power.is_some();
        context! { acting, subject_name => self.person.display_name, subject_id => self.person.id,
        current => if acting { "home" } else { "notifications" } }
    }
}

async fn person_reach(context: &RequestContext<'_>, person: &Person) -> Result<Reach, PortalError> {
    reach(context.store, &person.id).await?.ok_or(PortalError::NotFound)
}

/// "email and text message", "not sent": how a kind reaches the person now.
fn how_now(kind: NotificationKind, reach: &Reach) -> String {
    let told = preferences::recipients(kind, reach);
    let channels: Vec<String> = told.channels().into_iter().map(|channel| preferences::channel_label(channel).to_lowercase()).collect();
    let how = match channels.as_slice() {
        [] => "not sent".to_owned(),
        [one] => format!("by {one}"),
        [first @ .., last] => format!("by {} and {last}", first.join(", ")),
    };
    if told.via_carer { format!("{how}, and to whoever acts for you") } else { how }
}

/// The form as shown: what was ticked (after a refused save), or the stored choice, or what the
/// default gives now.
fn kinds_view(reach: &Reach, ticked: Option<&Ticked>, errors: &[FieldError]) -> Vec<Value> {
    CHOOSABLE
        .into_iter()
        .map(|kind| {
            let (checked, none) = match ticked.and_then(|ticked| ticked.get(&kind)) {
                Some((channels, none)) => (channels.clone(), *none),
                None => match reach.choices.get(&kind) {
                    Some(channels) if channels.is_empty() && !kind.is_security() => (BTreeSet::new(), true),
                    Some(channels) if !channels.is_empty() => (channels.clone(), false),
                    _ => (preferences::default_recipients(reach).into_iter().map(|(channel, _)| channel).collect(), false),
                },
            };
            let field = format!("{}-email", kind.as_str());
            let error = errors.iter().find(|error| error.field == field).map(|error| error.message.clone());
            let channels: Vec<Value> = CHANNELS
                .into_iter()
                .map(|channel| {
                    context! {
                        value => channel.as_str(), label => preferences::channel_label(channel), checked => checked.contains(&channel),
                        reachable => reach.address(channel).is_some(),
                    }
                })
                .collect();
            context! {
                value => kind.as_str(), label => preferences::kind_label(kind), security => kind.is_security(), channels, none,
                now => how_now(kind, reach), error,
            }
        })
        .collect()
}

/// Where a waiting code stands, for templates: `nothing`, `code`, `expired` or `locked`.
fn waiting_word(waiting: Waiting) -> &'static str {
    match waiting {
        Waiting::Nothing => "nothing",
        Waiting::Code { .. } => "code",
        Waiting::Expired => "expired",
        Waiting::Locked => "locked",
    }
}

fn contact_view(point: Option<&ContactPoint>, medium: Medium, now: chrono::DateTime<chrono::Utc>, error: Option<String>, typed: String) -> Value {
    let waiting = point.map_or(Waiting::Nothing, |point| point.waiting(now));
    context! {
        medium => medium.as_str(), label => medium.label(),
        verified => point.and_then(ContactPoint::verified), verified_on => point.and_then(|point| point.verified_at).map(uk_time::day),
        pending => point.and_then(|point| point.pending_address.clone()).filter(|_| waiting != Waiting::Nothing),
        waiting => waiting_word(waiting), error, typed,
    }
}

#[allow(clippy::too_many_arguments)] // the page's state after each kind of answer
async fn render_settings(
    context: &RequestContext<'_>,
    visit: &Visit,
    whose: &Whose,
    status: StatusCode,
    ticked: Option<&Ticked>,
    errors: &[FieldError],
    typed: &BTreeMap<&str, String>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let person = &whose.person;
    let reach = person_reach(context, person).await?;
    let points = context.store.contact_points(&person.id).await?;
    let contacts: Vec<Value> = Medium::ALL
        .into_iter()
        .map(|medium| {
            let error = errors.iter().find(|error| error.field == medium.as_str()).map(|error| error.message.clone());
            let typed = typed.get(medium.as_str()).cloned().unwrap_or_default();
            contact_view(points.iter().find(|point| point.medium == medium), medium, context.now, error, typed)
        })
        .collect();
    let letter: Option<Vec<String>> = reach.letter.as_ref().map(|letter| letter.lines().skip(1).map(str::to_owned).collect());
    let extra = context! {
        kinds => kinds_view(&reach, ticked, errors), contacts, letter, errors, notice,
        via_carer => reach.needs.contains(&carefront_shared::needs::Need::ContactViaCarer),
    };
    page_with_status(context, visit, status, "notification_settings.html", minijinja::value::merge_maps([whose.view(), extra]))
}

/// GET /account/notifications, or /people/{id}/notifications for someone acting for them.
pub async fn settings_page(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject: Option<&str>) -> Result<Response, PortalError> {
    let whose = Whose::of(context, visit, subject).await?;
    let name = &whose.person.display_name;
    let notice = match (web::query_param(request, "done").as_deref(), whose.power.is_some()) {
        (Some("saved"), false) => Some("Your choices have been saved.".to_owned()),
        (Some("confirmed-email"), false) => Some("Your email address is confirmed. Messages you choose to get by email go to it from now on.".to_owned()),
        (Some("confirmed-phone"), false) => {
            Some("Your mobile number is confirmed. Messages you choose to get by text message go to it from now on.".to_owned())
        }
        (Some("saved"), true) => Some(format!("{name}'s choices have been saved.")),
        (Some("confirmed-email"), true) => Some(format!("{name}'s email address is confirmed. Messages they get by email go to it from now on.")),
        (Some("confirmed-phone"), true) => Some(format!("{name}'s mobile number is confirmed. Messages they get by text message go to it from now on.")),
        _ => None,
    };
    render_settings(context, visit, &whose, StatusCode::OK, None, &[], &BTreeMap::new(), notice.as_deref()).await
}

/// What was ticked, kind by kind; a value that is not one of the form's is an error for its kind.
fn parse_ticked(fields: &[(String, String)]) -> (Ticked, Vec<FieldError>) {
    let mut ticked: Ticked = CHOOSABLE.into_iter().map(|kind| (kind, (BTreeSet::new(), false))).collect();
    let mut unknown = BTreeSet::new();
    for (key, value) in fields {
        let Some(kind) = NotificationKind::parse(key).filter(|kind| CHOOSABLE.contains(kind)) else { continue };
        let Some((channels, none)) = ticked.get_mut(&kind) else { continue };
        match (value.as_str(), Channel::parse(value)) {
            ("none", _) => *none = true,
            (_, Some(channel)) => {
                channels.insert(channel);
            }
            (_, None) => {
                unknown.insert(kind);
            }
        }
    }
    let errors = unknown.into_iter().map(|kind| FieldError::new(field_of(kind), "Select how you want to be told from the list")).collect();
    (ticked, errors)
}

/// The id of a kind's first checkbox: where its error links to.
fn field_of(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::EmergencyAccess => "emergency_access-email",
        NotificationKind::Invitation => "invitation-email",
        NotificationKind::AccessEnding => "access_ending-email",
        NotificationKind::AccessStopped => "access_stopped-email",
        NotificationKind::DiscussionToConfirm => "discussion_to_confirm-email",
        NotificationKind::CommentAnswered => "comment_answered-email",
        NotificationKind::PasskeyAdded => "passkey_added-email",
        NotificationKind::PasskeyRemoved => "passkey_removed-email",
        NotificationKind::NewDeviceSignIn => "new_device_sign_in-email",
        NotificationKind::ContactCheck => "contact_check-email",
        NotificationKind::ContactChanged => "contact_changed-email",
    }
}

fn said(channels: &BTreeSet<Channel>) -> String {
    if channels.is_empty() {
        "none".to_owned()
    } else {
        channels.iter().map(|channel| preferences::channel_label(*channel).to_lowercase()).collect::<Vec<_>>().join(", ")
    }
}

/// POST /account/notifications (or /people/{id}/notifications): saves a choice for every
/// kind, or shows the form again with each kind's problem and saves nothing.
pub async fn save_choices(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject: Option<&str>) -> Result<Response, PortalError> {
    let whose = Whose::of(context, visit, subject).await?;
    let person = &whose.person;
    let fields: Vec<(String, String)> = web::form(request)?;
    let (ticked, mut errors) = parse_ticked(&fields);
    let mut choices = BTreeMap::new();
    for (kind, (channels, none)) in &ticked {
        if errors.iter().any(|error| error.field == field_of(*kind)) {
            continue;
        }
        match preferences::check_choice(*kind, channels, *none) {
            Ok(chosen) => {
                choices.insert(*kind, chosen);
            }
            Err(problem) => errors.push(FieldError::new(field_of(*kind), format!("{}: {problem}", preferences::kind_label(*kind)))),
        }
    }
    if !errors.is_empty() {
        // In the order the page lists the kinds, so the summary reads down the page.
        errors.sort_by_key(|error| CHOOSABLE.iter().position(|kind| field_of(*kind) == error.field));
        return render_settings(context, visit, &whose, StatusCode::BAD_REQUEST, Some(&ticked), &errors, &BTreeMap::new(), None).await;
    }
    let stored = context.store.notification_choices(&person.id).await?;
    let changed: BTreeMap<NotificationKind, BTreeSet<Channel>> = choices.into_iter().filter(|(kind, channels)| stored.get(kind) != Some(channels)).collect();
    let done = format!("{}?done=saved", whose.base);
    if changed.is_empty() {
        return Ok(web::redirect_to(&done));
    }
    let detail = format!(
        "Changed how {} {} told: {}.",
        whose.whom(),
        if whose.power.is_some() { "is" } else { "are" },
        changed.iter().map(|(kind, channels)| format!("{} ({})", preferences::kind_label(*kind).to_lowercase(), said(channels))).collect::<Vec<_>>().join("; ")
    );
    let event = whose.event(context, AuditAction::NotificationChoicesChanged, detail);
    // The choices and their line in the access log: both, or neither.
    let recorder = Recorder::new();
    recorder.store().save_notification_choices(&person.id, &changed, context.now).await?;
    recorder.store().append_audit(&event).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect_to(&done))
}

/// POST /account/notifications/{email|phone} (or under /people/{id}/notifications): keeps the
/// new address as waiting and, in the same plan, queues the message with its code and appends
/// the event; then asks for the code.
pub async fn change_contact(
    context: &RequestContext<'_>,
    request: &Request,
    visit: &Visit,
    subject: Option<&str>,
    segment: &str,
) -> Result<Response, PortalError> {
    let whose = Whose::of(context, visit, subject).await?;
    let person = &whose.person;
    let medium = medium_from(segment)?;
    let fields: Vec<(String, String)> = web::form(request)?;
    let typed = fields.iter().find(|(key, _)| key == medium.as_str()).map(|(_, value)| value.clone()).unwrap_or_default();
    let address = match contact::parse_address(medium, &typed) {
        Ok(address) => address,
        Err(problem) => {
            let errors = [FieldError::new(medium.as_str(), problem.to_string())];
            let typed = BTreeMap::from([(medium.as_str(), typed)]);
            return render_settings(context, visit, &whose, StatusCode::BAD_REQUEST, None, &errors, &typed, None).await;
        }
    };
    let sends = context.store.count_attempt(&contact::codes_sent_key(&person.id), CODES_SENT.window_start(context.now)).await?;
    if CODES_SENT.exceeded(sends) {
        return Err(PortalError::TooManyRequests { retry_after: CODES_SENT.retry_after(context.now) });
    }
    let sent = contact::send_code(&visit.keys().session, &person.id, medium, &address, context.now, context.random);
    let check_path = format!("{}/{}/check", whose.base, medium.as_str());
    // The message's link is the person's own page: whoever gets the code may be them.
    let link = format!("{}{SETTINGS}/{}/check", context.config.origin_header(), medium.as_str());
    let message = sent.message(medium, &address, link, context.now, context.random).to_person(&person.id);
    let event = whose.event(context, AuditAction::ContactCheckSent, format!("Sent a code to check the {} {address}.", medium.label()));
    // The waiting address, the message that carries its code, and the log line: all or none.
    let recorder = Recorder::new();
    recorder.store().start_contact_check(&person.id, medium, &address, &sent.code_hash, sent.expires_at, context.now).await?;
    recorder.store().queue_notification(&message).await?;
    recorder.store().append_audit(&event).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect_to(&check_path))
}

async fn render_check(
    context: &RequestContext<'_>,
    visit: &Visit,
    whose: &Whose,
    status: StatusCode,
    point: &ContactPoint,
    error: Option<String>,
) -> Result<Response, PortalError> {
    let waiting = point.waiting(context.now);
    let extra = context! {
        medium => point.medium.as_str(), label => point.medium.label(),
        address => point.pending_address, waiting => waiting_word(waiting),
        tries_left => match waiting { Waiting::Code { tries_left } => tries_left, _ => 0 }, expires => point.code_expires_at.map(uk_time::time), error,
    };
    page_with_status(context, visit, status, "contact_check.html", minijinja::value::merge_maps([whose.view(), extra]))
}

async fn own_point(context: &RequestContext<'_>, person: &Person, medium: Medium) -> Result<Option<ContactPoint>, PortalError> {
    Ok(context.store.contact_points(&person.id).await?.into_iter().find(|point| point.medium == medium && point.code_hash.is_some()))
}

/// GET /account/notifications/{email|phone}/check (or under /people/{id}/notifications): where
/// the code is typed.
pub async fn check_page(context: &RequestContext<'_>, visit: &Visit, subject: Option<&str>, segment: &str) -> Result<Response, PortalError> {
    let whose = Whose::of(context, visit, subject).await?;
    let medium = medium_from(segment)?;
    match own_point(context, &whose.person, medium).await? {
        Some(point) => render_check(context, visit, &whose, StatusCode::OK, &point, None).await,
        None => Ok(web::redirect_to(&whose.base)),
    }
}

/// POST /account/notifications/{email|phone}/check (or under /people/{id}/notifications):
/// counts the try, then checks the code; the right one confirms the address (with its log line,
/// and a message to the confirmed address it replaces, if any), the fifth wrong one locks it.
pub async fn check_code(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject: Option<&str>, segment: &str) -> Result<Response, PortalError> {
    let whose = Whose::of(context, visit, subject).await?;
    let person = &whose.person;
    let medium = medium_from(segment)?;
    let Some(point) = own_point(context, person, medium).await? else { return Ok(web::redirect_to(&whose.base)) };
    let (Waiting::Code { .. }, Some(code_hash)) = (point.waiting(context.now), point.code_hash.clone()) else {
        return render_check(context, visit, &whose, StatusCode::BAD_REQUEST, &point, None).await;
    };
    let fields: Vec<(String, String)> = web::form(request)?;
    let typed = fields.iter().find(|(key, _)| key == "code").map(|(_, value)| value.as_str()).unwrap_or_default();
    let Some(typed) = ContactCode::parse(typed) else {
        let message = if typed.trim().is_empty() { "Enter the code" } else { "Enter the code in the correct format: 6 numbers, like 123456" };
        return render_check(context, visit, &whose, StatusCode::BAD_REQUEST, &point, Some(message.to_owned())).await;
    };
    let Some(counted) = context.store.count_contact_try(&person.id, medium, &code_hash, context.now).await? else {
        // Another try used the last one, or a new code was asked for, since the page was read.
        let now = own_point(context, person, medium).await?.unwrap_or(point);
        return render_check(context, visit, &whose, StatusCode::BAD_REQUEST, &now, None).await;
    };
    let address = counted.pending_address.clone().unwrap_or_default();
    match contact::check_code(&visit.keys().session, &counted, &typed, context.now) {
        Some(CodeCheck::Right) => {
            let event = whose.event(context, AuditAction::ContactVerified, format!("Confirmed the {} {address}.", medium.label()));
            // The address it replaces hears of it, whoever made the change: someone who did
            // not make it finds out where messages used to reach them.
            let replaced = counted
                .verified()
                .filter(|old| *old != address)
                .map(|old| notices::device::contact_changed(&person.id, medium, old, &context.config.origin, context.now, context.random));
            let recorder = Recorder::new();
            recorder.store().confirm_contact(&person.id, medium, &code_hash, context.now).await?;
            recorder.store().append_audit(&event).await?;
            notices::queue(&recorder, replaced.as_slice()).await?;
            context.store.apply(&recorder.into_plan()).await?;
            Ok(web::redirect_to(&format!("{}?done=confirmed-{}", whose.base, medium.as_str())))
        }
        Some(CodeCheck::Wrong { tries_left: 0 }) => {
            let detail = format!("Entered a wrong code {} times, so the code sent to {address} was locked.", contact::MAX_TRIES);
            context.store.append_audit(&whose.event(context, AuditAction::ContactCheckLocked, detail)).await?;
            render_check(context, visit, &whose, StatusCode::BAD_REQUEST, &counted, None).await
        }
        Some(CodeCheck::Wrong { tries_left }) => {
            let tries = if tries_left == 1 { "1 more try".to_owned() } else { format!("{tries_left} more tries") };
            let message = format!("The code is not right. Check it and try again: you have {tries}");
            render_check(context, visit, &whose, StatusCode::BAD_REQUEST, &counted, Some(message)).await
        }
        None => render_check(context, visit, &whose, StatusCode::BAD_REQUEST, &counted, None).await,
    }
}
