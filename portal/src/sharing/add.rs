//! "Let someone see your information": a new grant, a new representative and the one-time
//! invitation the person gives them; by the person, or by someone acting for them.

use std::collections::BTreeSet;

use carefront_shared::access::{AboveCeiling, AuditAction};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{Person, Role};
use carefront_shared::invitation;
use carefront_shared::notices::invitation::{self as invitation_notice, LetterTo, Typed};
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::{OutboxStore as _, Store as _};
use carefront_shared::uk_time;
use chrono::NaiveDate;
use http::StatusCode;
use minijinja::context;
use serde::Serialize;

use super::words::{self, Whose};
use super::{Subject, confirm_identity, handover, receipt, resolve, see_other};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// The "add someone" form as typed, shown again with its errors.
#[derive(Debug, Default, Serialize)]
struct AddForm {
    name: String,
    categories: Vec<String>,
    contribute: bool,
    act_for: bool,
    day: String,
    month: String,
    year: String,
    purpose: String,
    /// How to send the invitation ([`Sending`]); empty: hand it over.
    how: String,
    email: String,
    mobile: String,
    /// A letter's address lines and postcode (a family member has no record to take them from).
    address: String,
    postcode: String,
}

impl AddForm {
    fn parse(request: &Request) -> Result<AddForm, PortalError> {
        let fields: Vec<(String, String)> = web::form(request)?;
        let mut form = AddForm::default();
        for (key, value) in fields {
            match key.as_str() {
                "name" => form.name = value.trim().to_owned(),
                "categories" => form.categories.push(value),
                "contribute" => form.contribute = value == "yes",
                "act-for" => form.act_for = value == "yes",
                "ends-day" => form.day = value.trim().to_owned(),
                "ends-month" => form.month = value.trim().to_owned(),
                "ends-year" => form.year = value.trim().to_owned(),
                "purpose" => form.purpose = value.trim().to_owned(),
                "how" => form.how = value.trim().to_owned(),
                "email" => form.email = value.trim().to_owned(),
                "mobile" => form.mobile = value.trim().to_owned(),
                "address" => form.address = value.trim().to_owned(),
                "postcode" => form.postcode = value.trim().to_owned(),
                _ => {}
            }
        }
        Ok(form)
    }
}

/// A problem with one field of a form, shown beside it and in the summary.
#[derive(Debug, Serialize)]
pub(super) struct FieldError {
    pub(super) field: &'static str,
    pub(super) message: String,
}

/// Whether the visitor may give the act-for power on this form.
///
/// Only the person themselves may. The person chose whom they trust to act for them; they would
/// not expect that person to hand the power on to someone else (an attorney cannot delegate
/// their authority either). Someone acting for the person can still give others access to see
/// and comment, which is what the person's day-to-day care needs.
fn offers_act_for(subject: &Subject) -> bool {
    !subject.acting()
}

fn render_form(
    context: &RequestContext<'_>,
    visit: &Visit,
    subject: &Subject,
    status: StatusCode,
    form: &AddForm,
    errors: &[FieldError],
) -> Result<Response, PortalError> {
    let extra = context! {
        current => "access",
        form,
        errors,
        choices => words::category_choices(subject.whose()),
        offer_act_for => offers_act_for(subject),
        sending => handover::sending_choices(false),
        posted => form,
        invitee => if form.name.is_empty() { "them".to_owned() } else { form.name.clone() },
        letter_typed => true,
    };
    page_with_status(context, visit, status, "add_access.html", minijinja::value::merge_maps([subject.page_context(), extra]))
}

fn reason(subject: &Subject) -> String {
    let whose = match subject.whose() {
        Whose::You => "your".to_owned(),
        Whose::Named(name) => format!("{name}'s"),
    };
    format!(
        "Before you let someone see {whose} information, use your passkey again: your fingerprint, face or screen lock. This stops anyone else who picks up your phone from giving themselves access."
    )
}

/// GET /access/add and /people/{id}/access/add: the form, once the visitor has recently proved
/// themselves with a passkey.
pub async fn add_page(context: &RequestContext<'_>, visit: &Visit, subject_id: Option<&str>) -> Result<Response, PortalError> {
    let subject = resolve(context, visit, subject_id, Action::Contribute).await?;
    if !visit.signed_in.as_ref().is_some_and(|signed_in| signed_in.recently_verified) {
        return confirm_identity(context, visit, &subject, reason(&subject), &format!("{}/access/add", subject.prefix()));
    }
    render_form(context, visit, &subject, StatusCode::OK, &AddForm::default(), &[])
}

/// POST /access/add and /people/{id}/access/add: records the grant and a new representative,
/// and shows the one-time invitation to give them.
pub async fn add(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: Option<&str>) -> Result<Response, PortalError> {
    let subject = resolve(context, visit, subject_id, Action::Contribute).await?;
    if !visit.signed_in.as_ref().is_some_and(|signed_in| signed_in.recently_verified) {
        return Ok(see_other(&format!("{}/access/add", subject.prefix())));
    }
    let form = AddForm::parse(request)?;
    if form.act_for && !offers_act_for(&subject) {
        return Err(PortalError::BadRequest("only the person can let someone act for them".into()));
    }
    let mut errors = Vec::new();
    if form.name.is_empty() || form.name.chars().count() > 80 || form.name.chars().any(char::is_control) {
        errors.push(FieldError { field: "name", message: "Enter their name, up to 80 characters".into() });
    }
    let categories: Option<BTreeSet<Category>> = form.categories.iter().map(|name| Category::parse(name)).collect();
    let categories = match categories {
        Some(categories) if !categories.is_empty() => categories,
        Some(_) => {
            errors.push(FieldError { field: "categories", message: "Choose at least one kind of information".into() });
            BTreeSet::new()
        }
        None => return Err(PortalError::BadRequest("unknown category".into())),
    };
    let ends = match (form.day.parse::<u32>(), form.month.parse::<u32>(), form.year.parse::<i32>()) {
        (Ok(day), Ok(month), Ok(year)) => NaiveDate::from_ymd_opt(year, month, day).map(uk_time::end_of),
        _ => None,
    };
    match ends {
        None => errors.push(FieldError { field: "ends-day", message: "Enter the date their access ends, for example 1 3 2027".into() }),
        Some(ends) if ends <= context.now => errors.push(FieldError { field: "ends-day", message: "The date their access ends must be in the future".into() }),
        Some(_) => {}
    }
    if form.purpose.is_empty() || form.purpose.chars().count() > 200 {
        errors.push(FieldError { field: "purpose", message: "Say why they need to see it, up to 200 characters".into() });
    }
    let letter = LetterTo::Typed { name: &form.name, address: &form.address, postcode: &form.postcode };
    let send = match invitation_notice::sending(&Typed { how: &form.how, email: &form.email, mobile: &form.mobile, letter }) {
        Ok(send) => send,
        Err(problems) => {
            errors.extend(problems.into_iter().map(|problem| FieldError { field: problem.field(), message: problem.to_string() }));
            None
        }
    };
    if !errors.is_empty() {
        return render_form(context, visit, &subject, StatusCode::BAD_REQUEST, &form, &errors);
    }
    let representative = Person {
        id: new_id(context.random),
        role: Role::Representative,
        display_name: form.name.clone(),
        organisation_id: None,
        webauthn_handle: carefront_shared::random::new_uuid(context.random),
        created_at: context.now,
    };
    // A date means "until the end of that day", except on the day the actor's own access ends:
    // then it ends with theirs.
    let own_end = subject.power.ceiling(&subject.grants).and_then(|ceiling| ceiling.ends_at);
    let ends = ends.map(|ends| own_end.filter(|limit| *limit < ends && uk_time::date(*limit) == uk_time::date(ends)).unwrap_or(ends));
    let mut actions = BTreeSet::from([Action::View]);
    if form.contribute {
        actions.insert(Action::Contribute);
    }
    let grant = Grant {
        id: new_id(context.random),
        version: 1,
        subject_id: subject.person.id.clone(),
        grantee: Grantee::Person(representative.id.clone()),
        categories,
        actions,
        act_for: form.act_for,
        purpose: form.purpose.clone(),
        starts_at: context.now,
        ends_at: ends,
        basis: Basis::Consent,
        evidence: None,
        recorded_by: subject.actor.id.clone(),
        revoked_at: None,
    };
    grant.validate(context.now).map_err(|problem| PortalError::BadRequest(problem.to_string()))?;
    // Someone acting for the person gives at most what they hold themselves.
    if let Err(above) = subject.power.check_ceiling(&subject.grants, &grant) {
        let field = if matches!(above, AboveCeiling::LastsLonger) { "ends-day" } else { "categories" };
        let message = words::capitalised(&above.to_string());
        return render_form(context, visit, &subject, StatusCode::BAD_REQUEST, &form, &[FieldError { field, message }]);
    }
    let (invitation, code) = invitation::issue(&representative.id, Some(&subject.actor.id), context.now, invitation::DEFAULT_LIFETIME, context.random);
    let message = send.map(|(channel, recipient)| handover::message(context, &subject, &representative, &invitation, &code, channel, recipient));
    // The log line and the receipt are the person's, whoever made the change.
    let told = words::sentence(&grant, &representative.display_name, Whose::You, context.now);
    let act_for = if grant.act_for { " They can also act for you." } else { "" };
    let event = subject.event(context, AuditAction::GrantCreated, Some(&grant.id), format!("Gave access: {told}{act_for}"));
    let receipt = receipt(context, &subject, &grant, &representative.display_name, "granted", true).await?;
    // The person, their access, their invitation, the receipt and the log line: all, or none.
    let recorder = Recorder::new();
    let writes = recorder.store();
    writes.insert_person(&representative).await?;
    writes.insert_grant(&grant, context.now, subject.acting_for()).await?;
    writes.insert_invitation(&invitation).await?;
    if let Some(message) = &message {
        writes.queue_notification(message).await?;
    }
    writes.append_audit(&event).await?;
    writes.insert_receipt(&subject.person.id, &receipt, context.now).await?;
    context.store.apply(&recorder.into_plan()).await?;
    let added = context! {
        sentence => words::sentence(&grant, &representative.display_name, subject.whose(), context.now),
        detail => words::detail(&grant, subject.whose()),
        receipt_id => receipt.body.consent_receipt_id,
    };
    let handover = handover::Handover { invitee: &representative, invitation: &invitation, code: &code, added: Some(added), sent: message.as_ref() };
    handover::render(context, visit, &subject, handover).await
}
