//! "Duty contact" at `/provider/duty-contact`, for a provider's administrator: the email address
//! and mobile number of the provider's on-call duty manager, each confirmed with a 6-digit code
//! sent there (a person's contact point rules: [`contact`]). When someone uses the emergency code
//! of a person the provider holds live access for, the confirmed duty contact is told, with a
//! link to stop it. No path names an organisation: an administrator only ever reaches their own
//! provider's duty contact, and every change is in its administration log.

use carefront_shared::administration::{self, DutyContactChange};
use carefront_shared::contact::{self, CODES_SENT, CodeCheck, ContactCode, ContactPoint, Medium, Waiting, duty_owner};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::Organisation;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use chrono::{DateTime, Utc};
use http::StatusCode;
use minijinja::{Value, context};

use crate::error::PortalError;
use crate::provider_staff::administrator;
use crate::staff::administrator as log_actor;
use crate::visit::Visit;
use crate::{Request, Response, page_with_status, web};

/// The page's path.
pub const DUTY_CONTACT: &str = "/provider/duty-contact";

fn medium_from(segment: &str) -> Result<Medium, PortalError> {
    Medium::parse(segment).ok_or(PortalError::NotFound)
}

fn waiting_word(waiting: Waiting) -> &'static str {
    match waiting {
        Waiting::Nothing => "nothing",
        Waiting::Code { .. } => "code",
        Waiting::Expired => "expired",
        Waiting::Locked => "locked",
    }
}

fn point_view(point: Option<&ContactPoint>, medium: Medium, now: DateTime<Utc>, error: Option<String>, typed: String) -> Value {
    let waiting = point.map_or(Waiting::Nothing, |point| point.waiting(now));
    context! {
        medium => medium.as_str(), label => medium.label(),
        verified => point.and_then(ContactPoint::verified), verified_on => point.and_then(|point| point.verified_at).map(uk_time::day),
        pending => point.and_then(|point| point.pending_address.clone()).filter(|_| waiting != Waiting::Nothing),
        waiting => waiting_word(waiting), error, typed,
    }
}

async fn render_page(
    context: &RequestContext<'_>,
    visit: &Visit,
    organisation: &Organisation,
    status: StatusCode,
    error: Option<(Medium, String, String)>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let points = context.store.duty_contact_points(&organisation.id).await?;
    let contacts: Vec<Value> = Medium::ALL
        .into_iter()
        .map(|medium| {
            let (error, typed) = match &error {
                Some((failed, message, typed)) if *failed == medium => (Some(message.clone()), typed.clone()),
                _ => (None, String::new()),
            };
            point_view(points.iter().find(|point| point.medium == medium), medium, context.now, error, typed)
        })
        .collect();
    let errors: Vec<Value> = error.iter().map(|(medium, message, _)| context! { field => medium.as_str(), message }).collect();
    let set = carefront_shared::notices::duty::is_set(&points);
    let extra = context! { current => "duty-contact", organisation => organisation.name, contacts, errors, notice, set };
    page_with_status(context, visit, status, "provider_duty_contact.html", extra)
}

/// GET /provider/duty-contact: the duty contact as it is, and a form for each point.
pub async fn page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let (_, organisation) = administrator(context, visit).await?;
    let notice = match web::query_param(request, "done").as_deref() {
        Some("confirmed-email") => Some("The duty email address is confirmed. Emergency access messages go to it from now on."),
        Some("confirmed-phone") => Some("The duty mobile number is confirmed. Emergency access messages go to it from now on."),
        _ => None,
    };
    render_page(context, visit, &organisation, StatusCode::OK, None, notice).await
}

/// POST /provider/duty-contact/{email|phone}: keeps the new address as waiting and, in the same
/// plan, queues the message with its code and the administration-log entry; then asks for it.
pub async fn change(context: &RequestContext<'_>, request: &Request, visit: &Visit, segment: &str) -> Result<Response, PortalError> {
    let (person, organisation) = administrator(context, visit).await?;
    let medium = medium_from(segment)?;
    let fields: Vec<(String, String)> = web::form(request)?;
    let typed = fields.iter().find(|(key, _)| key == medium.as_str()).map(|(_, value)| value.clone()).unwrap_or_default();
    let address = match contact::parse_address(medium, &typed) {
        Ok(address) => address,
        Err(problem) => {
            // The person-facing words say "your"; this is the duty manager's.
            let message = problem.to_string().replace("Enter your ", "Enter the duty manager's ");
            return render_page(context, visit, &organisation, StatusCode::BAD_REQUEST, Some((medium, message, typed)), None).await;
        }
    };
    let owner = duty_owner(&organisation.id);
    let sends = context.store.count_attempt(&contact::codes_sent_key(&owner), CODES_SENT.window_start(context.now)).await?;
    if CODES_SENT.exceeded(sends) {
        return Err(PortalError::TooManyRequests { retry_after: CODES_SENT.retry_after(context.now) });
    }
    let sent = contact::send_code(&visit.keys().session, &owner, medium, &address, context.now, context.random);
    let check_path = format!("{DUTY_CONTACT}/{}/check", medium.as_str());
    let link = format!("{}{}", context.config.origin_header(), check_path);
    let message = sent.message(medium, &address, link, context.now, context.random);
    let entry = administration::duty_contact_changed(
        new_id(context.random),
        context.now,
        &log_actor(person),
        &organisation,
        medium,
        DutyContactChange::CheckSent(&address),
    );
    // The waiting address, the message with its code, and the log entry: all or none.
    let recorder = Recorder::new();
    recorder.store().start_duty_contact_check(&organisation.id, medium, &address, &sent.code_hash, sent.expires_at, context.now).await?;
    recorder.store().queue_notification(&message).await?;
    recorder.store().append_admin_event(&entry).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect_to(&check_path))
}

async fn render_check(
    context: &RequestContext<'_>,
    visit: &Visit,
    organisation: &Organisation,
    status: StatusCode,
    point: &ContactPoint,
    error: Option<String>,
) -> Result<Response, PortalError> {
    let waiting = point.waiting(context.now);
    let extra = context! {
        current => "duty-contact", organisation => organisation.name, medium => point.medium.as_str(), label => point.medium.label(),
        address => point.pending_address, waiting => waiting_word(waiting),
        tries_left => match waiting { Waiting::Code { tries_left } => tries_left, _ => 0 }, expires => point.code_expires_at.map(uk_time::time), error,
    };
    page_with_status(context, visit, status, "provider_duty_contact_check.html", extra)
}

async fn waiting_point(context: &RequestContext<'_>, organisation: &Organisation, medium: Medium) -> Result<Option<ContactPoint>, PortalError> {
    Ok(context.store.duty_contact_points(&organisation.id).await?.into_iter().find(|point| point.medium == medium && point.code_hash.is_some()))
}

/// GET /provider/duty-contact/{email|phone}/check: where the code is typed.
pub async fn check_page(context: &RequestContext<'_>, visit: &Visit, segment: &str) -> Result<Response, PortalError> {
    let (_, organisation) = administrator(context, visit).await?;
    let medium = medium_from(segment)?;
    match waiting_point(context, &organisation, medium).await? {
        Some(point) => render_check(context, visit, &organisation, StatusCode::OK, &point, None).await,
        None => Ok(web::redirect_to(DUTY_CONTACT)),
    }
}

/// POST /provider/duty-contact/{email|phone}/check: counts the try, then checks the code; the
/// right one confirms the address (with its log entry), the fifth wrong one locks it.
pub async fn check_code(context: &RequestContext<'_>, request: &Request, visit: &Visit, segment: &str) -> Result<Response, PortalError> {
    let (person, organisation) = administrator(context, visit).await?;
    let medium = medium_from(segment)?;
    let Some(point) = waiting_point(context, &organisation, medium).await? else { return Ok(web::redirect_to(DUTY_CONTACT)) };
    let (Waiting::Code { .. }, Some(code_hash)) = (point.waiting(context.now), point.code_hash.clone()) else {
        return render_check(context, visit, &organisation, StatusCode::BAD_REQUEST, &point, None).await;
    };
    let fields: Vec<(String, String)> = web::form(request)?;
    let typed = fields.iter().find(|(key, _)| key == "code").map(|(_, value)| value.as_str()).unwrap_or_default();
    let Some(typed) = ContactCode::parse(typed) else {
        let message = if typed.trim().is_empty() { "Enter the code" } else { "Enter the code in the correct format: 6 numbers, like 123456" };
        return render_check(context, visit, &organisation, StatusCode::BAD_REQUEST, &point, Some(message.to_owned())).await;
    };
    let Some(counted) = context.store.count_duty_contact_try(&organisation.id, medium, &code_hash, context.now).await? else {
        // Another try used the last one, or a new code was asked for, since the page was read.
        let now = waiting_point(context, &organisation, medium).await?.unwrap_or(point);
        return render_check(context, visit, &organisation, StatusCode::BAD_REQUEST, &now, None).await;
    };
    let address = counted.pending_address.clone().unwrap_or_default();
    let entry = |change| administration::duty_contact_changed(new_id(context.random), context.now, &log_actor(person), &organisation, medium, change);
    match contact::check_code(&visit.keys().session, &counted, &typed, context.now) {
        Some(CodeCheck::Right) => {
            let recorder = Recorder::new();
            recorder.store().confirm_duty_contact(&organisation.id, medium, &code_hash, context.now).await?;
            recorder.store().append_admin_event(&entry(DutyContactChange::Confirmed(&address))).await?;
            context.store.apply(&recorder.into_plan()).await?;
            Ok(web::redirect_to(&format!("{DUTY_CONTACT}?done=confirmed-{}", medium.as_str())))
        }
        Some(CodeCheck::Wrong { tries_left: 0 }) => {
            context.store.append_admin_event(&entry(DutyContactChange::CheckLocked(&address))).await?;
            render_check(context, visit, &organisation, StatusCode::BAD_REQUEST, &counted, None).await
        }
        Some(CodeCheck::Wrong { tries_left }) => {
            let tries = if tries_left == 1 { "1 more try".to_owned() } else { format!("{tries_left} more tries") };
            let message = format!("The code is not right. Check it and try again: you have {tries}");
            render_check(context, visit, &organisation, StatusCode::BAD_REQUEST, &counted, Some(message)).await
        }
        None => render_check(context, visit, &organisation, StatusCode::BAD_REQUEST, &counted, None).await,
    }
}
