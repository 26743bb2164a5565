//! The council's people pages: find a person, add one (warned of likely duplicates), their page
//! (details, who has access, representatives, providers), record a representative with their
//! legal basis, and commission a provider. Only council staff of the council reach them; a
//! person's pages rest on the council's statutory grant for them, named in every log line the
//! person sees.

use carefront_shared::access::{self, AuditAction};
use carefront_shared::consent::{Basis, Category, Grant, GrantState, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::domain::{AuditEvent, OrganisationKind, Person, Role};
use carefront_shared::onboarding::{self, Commission, CommissionInput, NewRepresentative, RepresentativeInput};
use carefront_shared::person::{self, FieldError, LikelyDuplicate, NewPerson, PersonDetails, PersonInput, PersonQuery};
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::receipt;
use carefront_shared::store::prelude::*;
use http::StatusCode;
use minijinja::{Value, context};
use serde::Serialize;

use crate::council::require_council_staff;
use crate::error::PortalError;
use crate::sharing::{grantee_name, plain_lead_and_items};
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// The most people one search shows.
const RESULTS: i64 = 50;

/// A person as a row or a page shows them.
#[derive(Debug, Serialize)]
struct PersonRow {
    id: String,
    name: String,
    date_of_birth: Option<String>,
    nhs_number: Option<String>,
    enrolled: bool,
}

impl From<&PersonDetails> for PersonRow {
    fn from(details: &PersonDetails) -> PersonRow {
        PersonRow {
            id: details.id.clone(),
            name: details.display_name.clone(),
            date_of_birth: details.date_of_birth_text(),
            nhs_number: details.nhs_number.as_ref().map(|number| number.spaced()),
            enrolled: details.enrolled,
        }
    }
}

/// The form's fields as typed: one value per name, the categories as a list.
fn fields(request: &Request) -> Result<Vec<(String, String)>, PortalError> {
    web::form(request)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str())
}

/// A GOV.UK date input's three boxes as one "d/m/y" text (empty if all are empty).
fn date_field(fields: &[(String, String)], prefix: &str) -> String {
    let parts = ["day", "month", "year"].map(|part| field(fields, &format!("{prefix}-{part}")).trim().to_owned());
    if parts.iter().all(String::is_empty) { String::new() } else { parts.join("/") }
}

fn three_boxes(fields: &[(String, String)], prefix: &str) -> Value {
    context! {
        day => field(fields, &format!("{prefix}-day")).trim(),
        month => field(fields, &format!("{prefix}-month")).trim(),
        year => field(fields, &format!("{prefix}-year")).trim(),
    }
}

/// GET /council/people?q=: one box for a name, a date of birth or an NHS number.
pub async fn find(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    require_council_staff(context, visit).await?;
    let q = web::query_param(request, "q").unwrap_or_default();
    let query = PersonQuery::parse(&q);
    let results: Vec<PersonRow> = match &query {
        Some(query) => context.store.find_people(query, RESULTS).await?.iter().map(PersonRow::from).collect(),
        None => Vec::new(),
    };
    let searched_for = match &query {
        Some(PersonQuery::NhsNumber(_)) => "NHS number",
        Some(PersonQuery::DateOfBirth(_)) => "date of birth",
        Some(PersonQuery::Name(_)) => "name",
        None => "",
    };
    let extra = context! { current => "council-people", q => q.trim(), searched => query.is_some(), searched_for, results, limit => RESULTS };
    page_with_status(context, visit, StatusCode::OK, "council_people.html", extra)
}

/// GET /council/people/add: the form.
pub async fn add_page(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    require_council_staff(context, visit).await?;
    render_add(context, visit, StatusCode::OK, &[], &[], &[])
}

fn render_add(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    fields: &[(String, String)],
    errors: &[FieldError],
    duplicates: &[LikelyDuplicate],
) -> Result<Response, PortalError> {
    let form = context! {
        display_name => field(fields, "display_name"),
        nhs_number => field(fields, "nhs_number"),
        address => field(fields, "address"),
        postcode => field(fields, "postcode"),
        phone => field(fields, "phone"),
        email => field(fields, "email"),
        date_of_birth => three_boxes(fields, "date_of_birth"),
    };
    let duplicates: Vec<Value> =
        duplicates.iter().map(|duplicate| context! { person => PersonRow::from(&duplicate.person), reason => duplicate.likeness.reason() }).collect();
    let extra = context! { current => "council-people", form, errors, duplicates };
    page_with_status(context, visit, status, "council_person_add.html", extra)
}

/// POST /council/people/add: checks every field, refuses an NHS number already held, warns of
/// likely duplicates until "add anyway" is chosen, then adds the person, the council's statutory
/// access and the line in their log as one plan.
pub async fn add(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let staff = require_council_staff(context, visit).await?;
    let council_id = staff.organisation_id.clone().ok_or(PortalError::NotFound)?;
    let fields = fields(request)?;
    let input = PersonInput {
        display_name: field(&fields, "display_name").into(),
        date_of_birth: date_field(&fields, "date_of_birth"),
        nhs_number: field(&fields, "nhs_number").into(),
        address: field(&fields, "address").into(),
        postcode: field(&fields, "postcode").into(),
        phone: field(&fields, "phone").into(),
        email: field(&fields, "email").into(),
    };
    let details = match NewPerson::validate(&input, context.now) {
        Ok(details) => details,
        Err(errors) => return render_add(context, visit, StatusCode::BAD_REQUEST, &fields, &with_date_box(errors), &[]),
    };
    let duplicates = context.store.likely_duplicates(&details).await?;
    if let Some(held) = person::refusal(&duplicates) {
        let error = nhs_number_held(&held.person.display_name);
        return render_add(context, visit, StatusCode::BAD_REQUEST, &fields, &[error], std::slice::from_ref(held));
    }
    if !duplicates.is_empty() && field(&fields, "add_anyway") != "yes" {
        return render_add(context, visit, StatusCode::OK, &fields, &[], &duplicates);
    }
    let recorder = Recorder::new();
    let added = onboarding::add_service_user(&recorder.store(), &details, &council_id, &staff.id, context.now, context.random).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => Ok(web::redirect_to(&format!("/council/people/{}?added=yes", added.person.id))),
        // Someone added the same NHS number since the check: the database refused it.
        Err(DbError::Constraint(_)) => {
            let held = context.store.likely_duplicates(&details).await?;
            let name = person::refusal(&held).map_or("someone else", |held| held.person.display_name.as_str()).to_owned();
            render_add(context, visit, StatusCode::BAD_REQUEST, &fields, &[nhs_number_held(&name)], &held)
        }
        Err(error) => Err(error.into()),
    }
}

fn nhs_number_held(name: &str) -> FieldError {
    FieldError::new("nhs_number", format!("This NHS number is already held for {name}. Find them instead of adding them again"))
}

/// The error summary links a date to its first box ("date_of_birth-day").
fn with_date_box(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors.into_iter().map(|error| if error.field == "date_of_birth" { FieldError { field: "date_of_birth-day", ..error } } else { error }).collect()
}

/// A service user the council holds a live statutory grant for, with their grants: what every
/// page about one person starts from. Anyone else (a representative's id, a stranger, someone
/// the council has no duty to) does not exist here.
struct Held {
    staff: Person,
    details: PersonDetails,
    grants: Vec<Grant>,
    council_grant_id: String,
}

async fn held(context: &RequestContext<'_>, visit: &Visit, id: &str) -> Result<Held, PortalError> {
    let staff = require_council_staff(context, visit).await?.clone();
    let council_id = staff.organisation_id.clone().ok_or(PortalError::NotFound)?;
    let details = context.store.person_details(id).await?.filter(|details| details.role == Role::ServiceUser).ok_or(PortalError::NotFound)?;
    let grants = context.store.grants_for_subject(id).await?;
    let council_grant_id = onboarding::council_grant(&grants, &council_id, context.now).map(|grant| grant.id.clone()).ok_or(PortalError::NotFound)?;
    Ok(Held { staff, details, grants, council_grant_id })
}

impl Held {
    fn event(&self, context: &RequestContext<'_>, action: AuditAction, detail: &str) -> AuditEvent {
        access::statutory_event(
            new_id(context.random),
            context.now,
            &self.staff.id,
            Some((&self.details.id, &self.council_grant_id)),
            action,
            None,
            detail.to_owned(),
        )
    }

    fn page_context(&self) -> Value {
        context! { person => PersonRow::from(&self.details) }
    }
}

/// GET /council/people/{id}: their details, whether they have enrolled, who has access, their
/// representatives and the providers commissioned for them.
pub async fn person_page(context: &RequestContext<'_>, request: &Request, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let held = held(context, visit, id).await?;
    let mut access_rows = Vec::new();
    let mut representatives = Vec::new();
    let mut providers = Vec::new();
    for grant in held.grants.iter().filter(|grant| matches!(grant.state(context.now), GrantState::Active | GrantState::NotStarted)) {
        let name = grantee_name(context, &grant.grantee).await?;
        let provider = match &grant.grantee {
            Grantee::Organisation(id) => context.store.organisation(id).await?.is_some_and(|organisation| organisation.kind == OrganisationKind::Provider),
            Grantee::Person(_) => false,
        };
        // A short line and a list: a council's access names all eight categories.
        let (lead, items) = plain_lead_and_items(grant, &name, &held.details.display_name, context.now);
        access_rows.push(context! { name => name.clone(), lead, items, basis => onboarding::basis_words(grant.basis) });
        if grant.act_for && matches!(grant.grantee, Grantee::Person(_)) {
            representatives.push(context! {
                name => name.clone(),
                purpose => grant.purpose.clone(),
                basis => onboarding::basis_words(grant.basis),
                evidence => grant.evidence.clone(),
            });
        }
        if provider {
            let categories: Vec<&str> = grant.categories.iter().map(|category| category_label(*category)).collect();
            providers.push(context! {
                name,
                categories,
                starts => carefront_shared::uk_time::day(grant.starts_at),
                ends => grant.ends_at.map(carefront_shared::uk_time::day),
                evidence => grant.evidence.clone(),
                commissioned => grant.basis == Basis::StatutoryDuty,
            });
        }
    }
    let details = &held.details;
    let address: Vec<&str> = details.address.as_deref().map(|address| address.lines().collect()).unwrap_or_default();
    let notice = match web::query_param(request, "done").or_else(|| web::query_param(request, "added").map(|_| "added".into())).as_deref() {
        Some("added") => Some(format!("{} has been added", details.display_name)),
        Some("representative") => Some("The representative has been recorded".to_owned()),
        Some("provider") => Some("The provider has been commissioned".to_owned()),
        _ => None,
    };
    context.store.append_audit(&held.event(context, AuditAction::PersonDetailsViewed, "Council staff looked at your details and who supports you.")).await?;
    let extra = context! {
        current => "council-people",
        address,
        postcode => details.postcode.clone(),
        phone => details.phone.clone(),
        email => details.email.clone(),
        access => access_rows,
        representatives,
        providers,
        notice,
    };
    page_with_status(context, visit, StatusCode::OK, "council_person.html", minijinja::value::merge_maps([held.page_context(), extra]))
}

/// A category as staff see it in a list or beside a checkbox: "Care plan", "What care they get".
fn category_label(category: Category) -> &'static str {
    crate::category_names::heading(category, false)
}

/// Signs the consent receipt for a grant the council recorded (the person's, like every other).
async fn council_receipt(context: &RequestContext<'_>, grant: &Grant, grantee_name: &str, how: String) -> Result<receipt::ConsentReceipt, PortalError> {
    let controller = context.store.receipt_controller().await?.ok_or_else(|| PortalError::Internal("no council to name on consent receipts".into()))?;
    let issued = receipt::issue(&context.config.receipt_keys, &controller, grant, grantee_name, "granted", new_id(context.random), context.now);
    let mut body = issued.body;
    body.collection_method = how;
    Ok(receipt::seal(&context.config.receipt_keys, body))
}

/// GET /council/people/{id}/representatives/add: the form.
pub async fn representative_page(context: &RequestContext<'_>, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let held = held(context, visit, id).await?;
    render_representative(context, visit, &held, StatusCode::OK, &[], &[])
}

fn render_representative(
    context: &RequestContext<'_>,
    visit: &Visit,
    held: &Held,
    status: StatusCode,
    fields: &[(String, String)],
    errors: &[FieldError],
) -> Result<Response, PortalError> {
    let form = context! {
        name => field(fields, "name"),
        relationship => field(fields, "relationship"),
        basis => field(fields, "basis"),
        evidence => field(fields, "evidence"),
    };
    let extra = context! { current => "council-people", form, errors };
    page_with_status(context, visit, status, "council_representative_add.html", minijinja::value::merge_maps([held.page_context(), extra]))
}

/// POST /council/people/{id}/representatives/add: a new representative and their act-for grant
/// on the legal basis and evidence given, the receipt and the log line, as one plan.
pub async fn add_representative(context: &RequestContext<'_>, request: &Request, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let held = held(context, visit, id).await?;
    let fields = fields(request)?;
    let input = RepresentativeInput {
        name: field(&fields, "name").into(),
        relationship: field(&fields, "relationship").into(),
        basis: field(&fields, "basis").into(),
        evidence: field(&fields, "evidence").into(),
    };
    let representative = match NewRepresentative::validate(&input) {
        Ok(representative) => representative,
        Err(errors) => return render_representative(context, visit, &held, StatusCode::BAD_REQUEST, &fields, &errors),
    };
    let recorder = Recorder::new();
    let recorded = onboarding::record_representative(
        &recorder.store(),
        &held.details.id,
        &held.council_grant_id,
        &representative,
        &held.staff.id,
        context.now,
        context.random,
    )
    .await?;
    let how = format!(
        "Recorded by {} for the council, as {} (evidence: {})",
        held.staff.display_name,
        onboarding::basis_words(representative.basis),
        representative.evidence
    );
    let receipt = council_receipt(context, &recorded.grant, &representative.name, how).await?;
    recorder.store().insert_receipt(&held.details.id, &receipt, context.now).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect_to(&format!("/council/people/{}?done=representative", held.details.id)))
}

/// GET /council/people/{id}/providers/add: the form.
pub async fn provider_page(context: &RequestContext<'_>, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let held = held(context, visit, id).await?;
    render_provider(context, visit, &held, StatusCode::OK, &[], &[]).await
}

async fn render_provider(
    context: &RequestContext<'_>,
    visit: &Visit,
    held: &Held,
    status: StatusCode,
    fields: &[(String, String)],
    errors: &[FieldError],
) -> Result<Response, PortalError> {
    let chosen: Vec<&str> = fields.iter().filter(|(key, _)| key == "categories").map(|(_, value)| value.as_str()).collect();
    let providers: Vec<Value> = context
        .store
        .organisations(OrganisationKind::Provider)
        .await?
        .into_iter()
        .map(|organisation| context! { id => organisation.id, name => organisation.name })
        .collect();
    let choices: Vec<Value> = Category::ALL
        .into_iter()
        .map(|category| context! { value => category.as_str(), label => category_label(category), checked => chosen.contains(&category.as_str()) })
        .collect();
    let form = context! {
        provider_id => field(fields, "provider_id"),
        starts => three_boxes(fields, "starts"),
        ends => three_boxes(fields, "ends"),
        contract_reference => field(fields, "contract_reference"),
    };
    let extra = context! { current => "council-people", form, errors, providers, choices };
    page_with_status(context, visit, status, "council_provider_add.html", minijinja::value::merge_maps([held.page_context(), extra]))
}

/// POST /council/people/{id}/providers/add: the provider's grant on the council's statutory
/// duty, with the contract as evidence, the person's consent receipt and the log line, as one
/// plan.
pub async fn add_provider(context: &RequestContext<'_>, request: &Request, visit: &Visit, id: &str) -> Result<Response, PortalError> {
    let held = held(context, visit, id).await?;
    let fields = fields(request)?;
    let input = CommissionInput {
        provider_id: field(&fields, "provider_id").into(),
        categories: fields.iter().filter(|(key, _)| key == "categories").map(|(_, value)| value.clone()).collect(),
        starts: date_field(&fields, "starts"),
        ends: date_field(&fields, "ends"),
        contract_reference: field(&fields, "contract_reference").into(),
    };
    let mut errors = match Commission::validate(&input, context.now) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    // Only a provider can be commissioned: the council itself, or an id made up, is not one.
    let provider = match input.provider_id.trim() {
        "" => None,
        provider_id => context.store.organisation(provider_id).await?.filter(|organisation| organisation.kind == OrganisationKind::Provider),
    };
    if provider.is_none() && !errors.iter().any(|error| error.field == "provider_id") {
        errors.insert(0, FieldError::new("provider_id", "Select the provider"));
    }
    let errors: Vec<FieldError> = errors
        .into_iter()
        .map(|error| match error.field {
            "starts" => FieldError { field: "starts-day", ..error },
            "ends" => FieldError { field: "ends-day", ..error },
            _ => error,
        })
        .collect();
    let (Some(provider), Ok(commission), true) = (provider, Commission::validate(&input, context.now), errors.is_empty()) else {
        return render_provider(context, visit, &held, StatusCode::BAD_REQUEST, &fields, &errors).await;
    };
    let recorder = Recorder::new();
    let grant = onboarding::commission_provider(
        &recorder.store(),
        &held.details.id,
        &held.council_grant_id,
        &commission,
        &provider.name,
        &held.staff.id,
        context.now,
        context.random,
    )
    .await?;
    let how = format!(
        "Recorded by {} for the council, which arranges this care under its duty in the Care Act 2014 (contract {})",
        held.staff.display_name, commission.contract_reference
    );
    let receipt = council_receipt(context, &grant, &provider.name, how).await?;
    recorder.store().insert_receipt(&held.details.id, &receipt, context.now).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect_to(&format!("/council/people/{}?done=provider", held.details.id)))
}
