//! The council's systems adding people: `POST /api/v1/people` (one person) and
//! `POST /api/v1/people/import` (a caseload as CSV, all of it or none of it). Council only; the
//! same checks as the portal's "Add a person" form and `carefront-admin import`.

use carefront_shared::context::RequestContext;
use carefront_shared::domain::OrganisationKind;
use carefront_shared::import::{self, FileProblem, ImportBy, ImportError, ImportedPerson, Prepared};
use carefront_shared::onboarding;
use carefront_shared::person::{self, NewPerson, PersonDetails, PersonInput};
use carefront_shared::plan::Recorder;
use carefront_shared::problem::Problem;
use carefront_shared::store::prelude::*;
use http::{StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::body;
use crate::failure::{ApiError, InvalidParam, Stored as _, internal, invalid};
use crate::idempotency::{self, Applied, Idempotent};
use crate::{Request, Response};

/// The most rows one import request takes: one batch the edge database applies comfortably
/// within a request. A larger caseload goes in several files, or through `carefront-admin`.
pub const MOST_ROWS_PER_REQUEST: usize = 2_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PersonBody {
    name: String,
    date_of_birth: String,
    nhs_number: Option<String>,
    address: Option<String>,
    postcode: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    #[serde(default)]
    not_a_duplicate: bool,
}

fn members() -> Vec<body::Member> {
    vec![
        body::required::<String>("name"),
        body::required::<String>("dateOfBirth"),
        body::optional::<String>("nhsNumber"),
        body::optional::<String>("address"),
        body::optional::<String>("postcode"),
        body::optional::<String>("phone"),
        body::optional::<String>("email"),
        body::optional::<bool>("notADuplicate"),
    ]
}

/// A person as the council's system sees them after adding them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AddedView {
    id: String,
    name: String,
    date_of_birth: Option<chrono::NaiveDate>,
    nhs_number: Option<String>,
    enrolled: bool,
    href: String,
}

impl From<PersonDetails> for AddedView {
    fn from(person: PersonDetails) -> AddedView {
        AddedView {
            href: format!("/api/v1/people/{}", person.id),
            id: person.id,
            name: person.display_name,
            date_of_birth: person.date_of_birth,
            nhs_number: person.nhs_number.map(|number| number.as_str().to_owned()),
            enrolled: person.enrolled,
        }
    }
}

/// The API's name for a field of [`PersonInput`].
fn member(field: &str) -> &str {
    match field {
        "display_name" => "name",
        "date_of_birth" => "dateOfBirth",
        "nhs_number" => "nhsNumber",
        other => other,
    }
}

fn council_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.organisation.kind == OrganisationKind::Council {
        return Ok(());
    }
    Err(Problem::new(StatusCode::FORBIDDEN)
        .with_type("permission-required", "The credential lacks a permission")
        .with_detail("Adding people is for the council's systems only.")
        .into())
}

fn actor(caller: &Caller) -> String {
    format!("credential:{}", caller.credential_id)
}

/// POST /api/v1/people: adds one service user, with the council's statutory access to their
/// record. The same NHS number twice is refused (409 `person-already-held`); someone with the same
/// name and date of birth is a 409 `likely-duplicate` unless `notADuplicate` says the caller checked.
pub async fn add(context: &RequestContext<'_>, request: &Request, caller: &Caller) -> Result<Response, ApiError> {
    council_only(caller)?;
    let key = idempotency::key(request)?;
    let value = body::json_value(request)?;
    let input: PersonBody = body::read(&value, &members())?;
    let idempotent = Idempotent::new(key, request, &value);
    if let Some(id) = idempotent.earlier(context, caller).await? {
        return replayed_person(context, &id).await;
    }
    let typed = PersonInput {
        display_name: input.name,
        date_of_birth: input.date_of_birth,
        nhs_number: input.nhs_number.unwrap_or_default(),
        address: input.address.unwrap_or_default(),
        postcode: input.postcode.unwrap_or_default(),
        phone: input.phone.unwrap_or_default(),
        email: input.email.unwrap_or_default(),
    };
    let new = NewPerson::validate(&typed, context.now).map_err(|errors| {
        invalid(StatusCode::UNPROCESSABLE_ENTITY, errors.iter().map(|error| InvalidParam::new(member(error.field), error.message.clone())).collect())
    })?;
    let duplicates = context.store.likely_duplicates(&new).await.or_problem(context)?;
    if let Some(held) = person::refusal(&duplicates) {
        return Err(already_held(&held.person.id));
    }
    let close: Vec<&str> =
        duplicates.iter().filter(|duplicate| duplicate.likeness == person::Likeness::SameBirthAndName).map(|duplicate| duplicate.person.id.as_str()).collect();
    if !close.is_empty() && !input.not_a_duplicate {
        return Err(ApiError::from(
            Problem::new(StatusCode::CONFLICT)
                .with_type("likely-duplicate", "Someone with this name and date of birth is already held")
                .with_detail("Check the people in `duplicates`; if this is someone else, send the request again with notADuplicate: true."),
        )
        .with("duplicates", &close));
    }
    let claim = idempotent.claim(context, caller, None);
    let recorder = Recorder::new();
    recorder.store().claim_new_idempotency_key(&claim).await.or_problem(context)?;
    let council = &caller.organisation.id;
    onboarding::add_service_user_as(&recorder.store(), claim.resource_id.clone(), &new, council, &actor(caller), context.now, context.random)
        .await
        .or_problem(context)?;
    match idempotent.apply(context, caller, &recorder.into_plan()).await? {
        Applied::Done => {
            let added =
                context.store.person_details(&claim.resource_id).await.or_problem(context)?.ok_or_else(|| internal("a person just added is not there"))?;
            Ok(located(idempotency::created(&AddedView::from(added))))
        }
        Applied::Replay(id) => replayed_person(context, &id).await,
        // The NHS number was added by someone else between the check and the write.
        Applied::Refused(_) => Err(already_held("")),
    }
}

fn already_held(id: &str) -> ApiError {
    let problem = Problem::new(StatusCode::CONFLICT)
        .with_type("person-already-held", "Someone with this NHS number is already held")
        .with_detail("An NHS number belongs to one person: look them up rather than adding them again.");
    let error = ApiError::from(problem).with("invalid-params", [InvalidParam::new("nhsNumber", "Someone with this NHS number is already held.")]);
    if id.is_empty() { error } else { error.with("personId", id) }
}

async fn replayed_person(context: &RequestContext<'_>, id: &str) -> Result<Response, ApiError> {
    let person = context.store.person_details(id).await.or_problem(context)?.ok_or_else(|| internal("an idempotency key won by a new person names no one"))?;
    Ok(located(idempotency::replayed(&AddedView::from(person))))
}

/// Adds `Location` naming the person made.
fn located(mut response: Response) -> Response {
    let id =
        serde_json::from_slice::<serde_json::Value>(response.body()).ok().and_then(|body| body.get("href").and_then(|href| href.as_str()).map(str::to_owned));
    if let Some(value) = id.and_then(|href| http::HeaderValue::from_str(&href).ok()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportView {
    imported: usize,
    people: Vec<ImportedView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportedView {
    line: u64,
    id: String,
    name: String,
    href: String,
}

impl From<ImportedPerson> for ImportedView {
    fn from(person: ImportedPerson) -> ImportedView {
        ImportedView { href: format!("/api/v1/people/{}", person.id), line: person.line, id: person.id, name: person.display_name }
    }
}

#[derive(Debug, Serialize)]
struct RejectedView<'a> {
    line: u64,
    field: &'a str,
    reason: &'a str,
}

/// The CSV body, after checking its content type.
fn csv_body(request: &Request) -> Result<&str, ApiError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !content_type.split(';').next().map(str::trim).is_some_and(|essence| essence.eq_ignore_ascii_case("text/csv")) {
        return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_type("unsupported-media-type", "The body must be CSV")
            .with_detail("Send the caseload as text/csv, UTF-8, with a header row (name, date_of_birth, nhs_number, address, postcode, phone, email).")
            .into());
    }
    std::str::from_utf8(request.body())
        .map_err(|_| file_problem(&FileProblem::Unreadable { line: 1, reason: "it is not UTF-8 text (save the file as CSV UTF-8)".into() }))
}

fn file_problem(problem: &FileProblem) -> ApiError {
    Problem::new(StatusCode::BAD_REQUEST).with_type("unreadable-file", "The file cannot be imported").with_detail(problem.to_string()).into()
}

fn import_failed(context: &RequestContext<'_>, error: ImportError) -> ApiError {
    match error {
        ImportError::File(problem) => file_problem(&problem),
        ImportError::Store(error) => crate::store_problem(context, error).into(),
    }
}

/// POST /api/v1/people/import: a caseload as CSV. Every row is checked as `POST /api/v1/people`
/// checks one person; if any is not right (or is someone already held) nothing is added and the
/// 422 lists every problem by line; otherwise everyone is added in one batch.
pub async fn import(context: &RequestContext<'_>, request: &Request, caller: &Caller) -> Result<Response, ApiError> {
    council_only(caller)?;
    let key = idempotency::key(request)?;
    let text = csv_body(request)?;
    let idempotent = Idempotent::new(key, request, &serde_json::Value::String(text.to_owned()));
    if let Some(import_id) = idempotent.earlier(context, caller).await? {
        return replayed_import(context, text, &import_id).await;
    }
    let claim = idempotent.claim(context, caller, None);
    let actor = actor(caller);
    let by = ImportBy { council_id: &caller.organisation.id, actor_id: &actor, limit: MOST_ROWS_PER_REQUEST };
    let (plan, people) = match import::prepare(context.store, text, &by, &claim.resource_id, context.now, context.random)
        .await
        .map_err(|error| import_failed(context, error))?
    {
        Prepared::Ready { plan, people } => (plan, people),
        Prepared::Rejected(rejected) => return Err(rejected_rows(&rejected)),
    };
    let recorder = Recorder::new();
    recorder.store().claim_new_idempotency_key(&claim).await.or_problem(context)?;
    let mut whole = recorder.into_plan();
    whole.extend(plan);
    match idempotent.apply(context, caller, &whole).await? {
        Applied::Done => Ok(idempotency::created(&ImportView { imported: people.len(), people: people.into_iter().map(ImportedView::from).collect() })),
        Applied::Replay(import_id) => replayed_import(context, text, &import_id).await,
        // Someone added one of these NHS numbers in the meantime: check again, to say who.
        Applied::Refused(_) => {
            let rows = import::read(text, MOST_ROWS_PER_REQUEST).map_err(|problem| file_problem(&problem))?;
            let held = import::held(context.store, &rows).await.or_problem(context)?;
            Err(rejected_rows(&import::check(&rows, &held, context.now).err().unwrap_or_default()))
        }
    }
}

fn rejected_rows(rejected: &[import::RejectedRow]) -> ApiError {
    let lines = import::by_line(rejected).len();
    let rows: Vec<RejectedView<'_>> = rejected.iter().map(|row| RejectedView { line: row.line, field: member(row.field), reason: &row.message }).collect();
    ApiError::from(Problem::new(StatusCode::UNPROCESSABLE_ENTITY).with_type("rows-rejected", "Some rows cannot be imported").with_detail(format!(
        "Nothing was imported: {lines} rows need correcting (see rejectedRows). Correct them and send the whole file again with a new Idempotency-Key."
    )))
    .with("rejectedRows", &rows)
}

/// The answer to a repeated import: the people the first request added, found by the ids it
/// derived from its import id and their lines.
async fn replayed_import(context: &RequestContext<'_>, text: &str, import_id: &str) -> Result<Response, ApiError> {
    let rows = import::read(text, MOST_ROWS_PER_REQUEST).map_err(|problem| file_problem(&problem))?;
    let mut people = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = import::person_id(import_id, row.line);
        let person = context
            .store
            .person_details(&id)
            .await
            .or_problem(context)?
            .ok_or_else(|| internal("an import's idempotency key names people who are not there"))?;
        people.push(ImportedView { href: format!("/api/v1/people/{id}"), line: row.line, id, name: person.display_name });
    }
    Ok(idempotency::replayed(&ImportView { imported: people.len(), people }))
}
