//! The paper copy kept in the home (unless the person expressly chose none): the care plan,
//! current medicines and allergies, who can see the record, and what a paramedic does with the
//! emergency code. Printed from the browser; print CSS leaves out the portal's chrome, and large
//! print applies as on every page. Each print is recorded: when, and by whom.

use carefront_shared::access::{AuditAction, Permit, Power};
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::emergency;
use carefront_shared::needs;
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::care;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// What the paper copy may hold.
const PRINTED: [Category; 3] = [Category::CarePlan, Category::Medication, Category::Contacts];

#[derive(Deserialize)]
struct WithCode {
    code: String,
}

/// POST /people/{id}/print: the paper copy with the emergency code written in, straight after it
/// was turned on (the only time anyone sees it: carefront keeps only its hash). The code must be
/// the person's live one.
pub async fn paper_copy_with_code(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let form: WithCode = web::form(request)?;
    let reader = visit.require_person()?;
    care::ask_permit(context, reader, subject_id, Action::View, Category::CarePlan).await?;
    let code = emergency::EmergencyCode::parse(&form.code).ok_or_else(|| PortalError::Unusable("That is not an emergency code.".into()))?;
    let live: Vec<_> = context.store.live_emergency_code(subject_id).await?.into_iter().collect();
    if emergency::check(&live, &code).is_err() {
        return Err(PortalError::Unusable("That is not the emergency code in use now. Turn on a new code to print it.".into()));
    }
    render(context, visit, subject_id, Some(code.to_string())).await
}

/// GET /people/{id}/print: for the person, someone acting for them, or anyone who may see both
/// the care plan and the medicines (the council, the provider).
pub async fn paper_copy(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    render(context, visit, subject_id, None).await
}

async fn render(context: &RequestContext<'_>, visit: &Visit, subject_id: &str, code: Option<String>) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let grants = context.store.grants_for_subject(subject_id).await?;
    // The paper copy needs the care plan and the medicines; who to call only with the contacts.
    let permit = Permit::ask_each(&care::actor(reader), subject_id, Action::View, &PRINTED, &grants, context.now).map_err(|_| PortalError::NotFound)?;
    if !(permit.covers(Category::CarePlan) && permit.covers(Category::Medication)) {
        return Err(PortalError::NotFound);
    }
    let subject = if reader.id == subject_id { reader.clone() } else { context.store.person(subject_id).await?.ok_or(PortalError::NotFound)? };
    let power = Power::ask(&care::actor(reader), subject_id, Action::View, &grants, context.now).ok();
    let manages = power.is_some();

    let plan = context.store.care_plan(&permit).await?.map(care::plan_view);
    let today = uk_time::date(context.now);
    let medicines: Vec<Value> = context
        .store
        .medicines(&permit)
        .await?
        .into_iter()
        .filter(|medicine| medicine.current_on(today))
        .map(|medicine| {
            let mut when: Vec<String> = medicine.times.iter().map(|time| uk_time::clock(*time)).collect();
            if medicine.as_needed {
                when.push("when needed".into());
            }
            context! { name => medicine.name, dose => medicine.dose, route => medicine.route, when => when.join(", "), instructions => medicine.instructions, prescriber => medicine.prescriber }
        })
        .collect();
    let allergies: Vec<Value> =
        context.store.allergies(&permit).await?.into_iter().map(|allergy| context! { substance => allergy.substance, reaction => allergy.reaction }).collect();
    let contacts: Vec<Value> = if permit.covers(Category::Contacts) { context.store.contacts(&permit).await? } else { Vec::new() }
        .into_iter()
        .filter(|contact| !contact.phone.is_empty())
        .map(|contact| context! { name => contact.name, role => contact.role, phone => contact.phone })
        .collect();
    // Who can see it: only for the person and those acting for them (it is about their choices).
    let access = if manages { crate::sharing::live_sentences(context, subject_id).await? } else { Vec::new() };
    let code_on = context.store.live_emergency_code(subject_id).await?.is_some();
    let live_needs = context.store.needs(subject_id, false).await?;
    let paper_wanted = needs::wants_paper_copy(&live_needs);
    // The paper is for the person: it is printed at their size, whoever prints it.
    let large_print = needs::Presentation::of(&live_needs).large_print;

    let detail = "made the paper copy of the care plan and medicines to print";
    // Acting for the person only when they hold the power to; otherwise under their own grants.
    let event = match &power {
        Some(power) => power.category_event(new_id(context.random), AuditAction::PaperCopyPrinted, Category::CarePlan, detail),
        None => permit
            .event(new_id(context.random), AuditAction::PaperCopyPrinted, Category::CarePlan, detail)
            .map_err(|error| PortalError::Internal(error.to_string()))?,
    };
    context.store.append_audit(&event).await?;
    let printed = format!("{} by {}", uk_time::day_and_time(context.now), reader.display_name);
    let emergency_url = format!("{}/emergency", context.config.origin.as_str().trim_end_matches('/'));
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "print.html",
        context! {
            current => "home", print_view => true, subject_id, name => subject.display_name, own => reader.id == subject_id, manages,
            plan, medicines, allergies, contacts, access, code_on, paper_wanted, printed, emergency_url, large_print, code,
        },
    )
}
