//! The paper copy kept in the home (unless the person expressly chose none): the care plan,
//! current medicines and allergies, who can see the record, and what a paramedic does with the
//! emergency code. Printed from the browser; print CSS leaves out the portal's chrome, and large
//! print applies as on every page. Each print is recorded: when, and by whom.

use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::AuditEvent;
use carefront_shared::emergency;
use carefront_shared::needs;
use carefront_shared::random::new_id;
use http::StatusCode;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::care::{self, authorise};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

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
    authorise(context, reader, subject_id, Action::View, Category::CarePlan).await?;
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
    authorise(context, reader, subject_id, Action::View, Category::CarePlan).await?;
    authorise(context, reader, subject_id, Action::View, Category::Medication).await?;
    let subject = if reader.id == subject_id { reader.clone() } else { context.store.person(subject_id).await?.ok_or(PortalError::NotFound)? };
    let manages = reader.id == subject_id || crate::sharing::may_manage(context, reader, subject_id).await?;

    let plan = context.store.care_plan(subject_id).await?.map(care::plan_view);
    let today = context.now.date_naive();
    let medicines: Vec<Value> = context
        .store
        .medicines(subject_id)
        .await?
        .into_iter()
        .filter(|medicine| medicine.current_on(today))
        .map(|medicine| {
            let mut when: Vec<String> = medicine.times.iter().map(|time| time.format("%H:%M").to_string()).collect();
            if medicine.as_needed {
                when.push("when needed".into());
            }
            context! { name => medicine.name, dose => medicine.dose, route => medicine.route, when => when.join(", "), instructions => medicine.instructions, prescriber => medicine.prescriber }
        })
        .collect();
    let allergies: Vec<Value> = context
        .store
        .allergies(subject_id)
        .await?
        .into_iter()
        .map(|allergy| context! { substance => allergy.substance, reaction => allergy.reaction })
        .collect();
    let contacts: Vec<Value> = context
        .store
        .contacts(subject_id)
        .await?
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

    context
        .store
        .append_audit(&AuditEvent {
            id: new_id(context.random),
            at: context.now,
            actor_id: Some(reader.id.clone()),
            acting_for: (reader.id != subject_id).then(|| subject_id.to_owned()),
            subject_id: Some(subject_id.to_owned()),
            action: "paper_copy.printed".into(),
            category: Some(Category::CarePlan.as_str().into()),
            basis: Some(if reader.id == subject_id { "own_record".into() } else { "grants".into() }),
            detail: "made the paper copy of the care plan and medicines to print".into(),
        })
        .await?;
    let printed = format!("{} by {}", context.now.format("%-d %B %Y at %H:%M"), reader.display_name);
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
