//! Emergency (break-glass) access. A clinician enters the person's emergency code at
//! `/emergency` with their name, role and organisation and reads the person's medicines,
//! allergies and emergency summary for four hours, under an opaque token in a cookie. The person
//! (or someone acting for them, or the council on its statutory duty) turns the code on, gets a
//! new one or turns it off; every use is audited and shown on the home pages of the person and
//! their representatives, and listed for the council.
//!
//! Emergency reads do not go through `decide`: no grant is involved. The live access row is the
//! authority, it opens exactly three things, and every look is written to the audit log under
//! `emergency_access:<id>`.

use carefront_shared::store::prelude::*;
use std::collections::HashMap;

use carefront_shared::access::{self, AuditAction, Permit, Power};
use carefront_shared::consent::{Action, Basis, Category, GrantState, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::domain::{AuditEvent, Person, Role};
use carefront_shared::emergency::{
    self, AccessState, Clinician, ClinicianProblem, CodeRefusal, EmergencyAccess, EmergencyCode, EmergencyCodeRecord, MAX_FAILED_ATTEMPTS,
};
use carefront_shared::limits::CodeKind;
use carefront_shared::notices;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::session;
use carefront_shared::uk_time;
use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use crate::care::{self, Supported};
use crate::enrolment::{Confirmation, confirm_identity};
use crate::error::PortalError;
use crate::limits::{self, CodeTry, Counted};
use crate::visit::Visit;
use crate::web::{self, cookie};
use crate::{Request, Response, page_with_status};

/// Cookie holding the clinician's emergency access token.
const ACCESS_COOKIE: &str = "__Host-carefront_emergency";
const ACCESS_PURPOSE: &str = "emergency";
/// Most accesses the council's list shows.
const COUNCIL_LIST_LIMIT: i64 = 100;
/// What a clinician sees, in the words of the audit log and the home pages.
const WHAT_THEY_SEE: &str = "medicines, allergies and emergency summary";

/// `Set-Cookie` for the emergency token: `__Host-`, Secure, HttpOnly and SameSite=Strict, so it
/// never rides on a request started by another site; it lasts no longer than the access.
fn access_cookie(value: &str, max_age: i64) -> String {
    format!("{ACCESS_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}")
}

fn when(at: DateTime<Utc>) -> String {
    uk_time::day_and_time(at)
}

/// "18:05", or "01:05 on 22 November 2026" when it is another day than `from`.
fn until_after(from: DateTime<Utc>, until: DateTime<Utc>) -> String {
    if uk_time::date(from) == uk_time::date(until) { uk_time::time(until) } else { format!("{} on {}", uk_time::time(until), uk_time::day(until)) }
}

/// A 303 to a path built at run time (the `web::redirect` helper takes constants).
fn see_other(location: &str) -> Result<Response, PortalError> {
    let value = HeaderValue::from_str(location).map_err(|_| PortalError::BadRequest("not a valid address".into()))?;
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(header::LOCATION, value);
    Ok(response)
}

/// The audit event for a clinician's `action` under their live emergency access.
fn clinician_event(context: &RequestContext<'_>, access: &EmergencyAccess, action: AuditAction, detail: String) -> Result<AuditEvent, PortalError> {
    let permit = Permit::emergency(access, context.now).map_err(|_| PortalError::NotFound)?;
    permit.event(new_id(context.random), action, Category::Medication, detail).map_err(|error| PortalError::Internal(error.to_string()))
}

async fn person_name(context: &RequestContext<'_>, id: &str) -> Result<String, PortalError> {
    Ok(context.store.person(id).await?.map_or_else(|| "Someone".to_owned(), |person| person.display_name))
}

// ---------------------------------------------------------------------------------------------
// The clinician's side: /emergency, /emergency/record, /emergency/leave
// ---------------------------------------------------------------------------------------------

/// The form as typed, shown again with its errors (each field cut short for display).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct CodeForm {
    code: String,
    name: String,
    role: String,
    organisation: String,
}

impl CodeForm {
    fn shown(&self) -> CodeForm {
        let cut = |text: &str| text.chars().take(120).collect::<String>();
        CodeForm { code: cut(&self.code), name: cut(&self.name), role: cut(&self.role), organisation: cut(&self.organisation) }
    }
}

#[derive(Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

fn clinician_error(problem: ClinicianProblem) -> FieldError {
    let field = match problem {
        ClinicianProblem::Name => "name",
        ClinicianProblem::Role => "role",
        ClinicianProblem::Organisation => "organisation",
    };
    FieldError { field, message: problem.to_string() }
}

fn code_error(message: &str) -> Vec<FieldError> {
    vec![FieldError { field: "code", message: message.to_owned() }]
}

fn form_page(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    form: &CodeForm,
    errors: Vec<FieldError>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    page_with_status(context, visit, status, "emergency_form.html", context! { form => form.shown(), errors, notice })
}

/// The access this browser's cookie stands for, if any (live or not).
async fn presented_access(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Option<EmergencyAccess>, PortalError> {
    let Some(token_hash) = cookie(request, ACCESS_COOKIE).and_then(|value| session::open(&visit.keys().session, ACCESS_PURPOSE, value)) else {
        return Ok(None);
    };
    Ok(context.store.emergency_access_by_token(&token_hash).await?)
}

/// GET /emergency: the public form for a clinician (no sign-in).
pub async fn entry_page(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let notice = match web::query_param(request, "ended").as_deref() {
        Some("left") => Some("You have left the record. To see it again, enter the emergency code again."),
        Some("expired") => Some("Your 4 hours of emergency access have ended. If you still need the record, enter the emergency code again."),
        Some("closed") => {
            Some("Your emergency access was ended: the person or someone told of it stopped it, or the person's emergency code was changed or turned off.")
        }
        _ => None,
    };
    let open = presented_access(context, request, visit).await?.filter(|access| access.state(context.now) == AccessState::Live).is_some();
    page_with_status(context, visit, StatusCode::OK, "emergency_form.html", context! { form => CodeForm::default(), notice, open })
}

/// POST /emergency: checks the code (wrong tries are slowed per source and code, and lock the
/// code after many from anywhere) and, if it is good, opens four hours of read-only access in
/// this browser. A right code is never refused for wrong tries from other sources or at other
/// codes.
pub async fn use_code(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let form: CodeForm = web::form(request)?;
    let code = EmergencyCode::parse(&form.code);
    let clinician = Clinician::parse(&form.name, &form.role, &form.organisation);
    let (code, clinician) = match (code, clinician) {
        (Some(code), Ok(clinician)) => (code, clinician),
        (code, clinician) => {
            let mut errors = Vec::new();
            if code.is_none() {
                errors.extend(code_error("Enter the emergency code as it is written, for example 7K2M-QX4D-9RTB-H3VW"));
            }
            if let Err(problems) = clinician {
                errors.extend(problems.into_iter().map(clinician_error));
            }
            return form_page(context, visit, StatusCode::BAD_REQUEST, &form, errors, None);
        }
    };
    let candidates = context.store.emergency_codes_by_selector(code.selector()).await?;
    // Only a code that exists can be guessed at, so only tries at one are counted (a guess
    // that matches nothing still gets the same answer as a near miss).
    let counted = if candidates.is_empty() {
        None
    } else {
        match limits::count_code_try(context, CodeKind::Emergency, code.selector()).await? {
            Counted::Check(counted) => Some(counted),
            Counted::Slowed(retry_after) => {
                let message = format!(
                    "Too many wrong codes have been tried for this emergency code from this device or network. Wait {}, then try again",
                    limits::wait_words(retry_after)
                );
                let page = form_page(context, visit, StatusCode::TOO_MANY_REQUESTS, &form, code_error(&message), None)?;
                return Ok(limits::with_retry_after(page, retry_after));
            }
        }
    };
    let record = match emergency::check(&candidates, &code) {
        Ok(record) => record.clone(),
        Err(refusal) => {
            match refusal {
                CodeRefusal::NotRecognised => count_wrong_code(context, &candidates).await?,
                // The right code, only no longer in use: no guess.
                CodeRefusal::NoLongerInUse => forgive(context, counted).await?,
                CodeRefusal::Locked => {}
            }
            return refuse(context, visit, &form, refusal);
        }
    };
    forgive(context, counted).await?;
    let minted = session::mint(&visit.keys().session, ACCESS_PURPOSE, context.random);
    let access = EmergencyAccess::start(&record, clinician, minted.id_hash, context.now, context.random);
    let detail = format!(
        "{} used the emergency code. They can see the {WHAT_THEY_SEE} until {}.",
        access.clinician.describe(),
        until_after(access.started_at, access.expires_at)
    );
    // The access and its line in the person's log: both, or neither — nobody reads a record
    // under an emergency access the person is not told of.
    // Who is told, each with their own stop link: written with the access, so nobody reads a
    // record under an emergency access that its people were not told of.
    let told = notices::emergency_access(context.store, &access, &context.config.origin, &visit.keys().session, context.now, context.random).await?;
    let recorder = Recorder::new();
    recorder.store().insert_emergency_access(&access).await?;
    recorder.store().append_audit(&clinician_event(context, &access, AuditAction::EmergencyAccessStarted, detail)?).await?;
    notices::queue(&recorder, &told).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => {}
        // The code was changed between the check and now: the database refused.
        Err(DbError::Constraint(_)) => return refuse(context, visit, &form, CodeRefusal::NoLongerInUse),
        Err(error) => return Err(error.into()),
    }
    visit.add_cookie(access_cookie(&minted.cookie_value, emergency::ACCESS_LIFETIME.num_seconds()));
    Ok(web::redirect("/emergency/record"))
}

async fn forgive(context: &RequestContext<'_>, counted: Option<CodeTry>) -> Result<(), PortalError> {
    match counted {
        Some(counted) => counted.was_right(context).await,
        None => Ok(()),
    }
}

/// Counts a wrong code against each live code with its selector; the try that locks one is
/// written to that person's audit log.
async fn count_wrong_code(context: &RequestContext<'_>, candidates: &[EmergencyCodeRecord]) -> Result<(), PortalError> {
    for candidate in candidates.iter().filter(|candidate| candidate.is_live()) {
        if context.store.record_failed_emergency_attempt(&candidate.id).await? == Some(MAX_FAILED_ATTEMPTS) {
            let detail =
                format!("Wrong emergency codes were entered {MAX_FAILED_ATTEMPTS} times, so the emergency code is locked until a new one is turned on.");
            context
                .store
                .append_audit(&access::account_event(new_id(context.random), context.now, None, &candidate.person_id, AuditAction::EmergencyCodeLocked, detail))
                .await?;
        }
    }
    Ok(())
}

/// The same answer for every wrong code, whether or not anyone's code is like it.
fn refuse(context: &RequestContext<'_>, visit: &Visit, form: &CodeForm, refusal: CodeRefusal) -> Result<Response, PortalError> {
    let (status, message) = match refusal {
        CodeRefusal::NotRecognised => (StatusCode::BAD_REQUEST, "This emergency code was not recognised. Check it and try again"),
        CodeRefusal::NoLongerInUse => (
            StatusCode::GONE,
            "This emergency code is no longer in use: it was replaced or turned off. Look for a newer code in the home, or ask the person or their family",
        ),
        CodeRefusal::Locked => (
            StatusCode::TOO_MANY_REQUESTS,
            "This emergency code is locked because wrong codes were entered too many times. The person, their family or the council must turn on a new code",
        ),
    };
    form_page(context, visit, status, form, code_error(message), None)
}

#[derive(Serialize)]
struct MedicineView {
    name: String,
    dose: String,
    route: String,
    when: String,
    instructions: String,
    prescriber: String,
    since: String,
}

/// GET /emergency/record: the person's medicines, allergies and emergency summary, while the
/// access is live; each look is audited.
pub async fn record(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    let Some(access) = presented_access(context, request, visit).await? else {
        if cookie(request, ACCESS_COOKIE).is_some() {
            visit.add_cookie(access_cookie("", 0));
        }
        return Ok(web::redirect("/emergency"));
    };
    match access.state(context.now) {
        AccessState::Live => {}
        state => {
            visit.add_cookie(access_cookie("", 0));
            return Ok(web::redirect(if state == AccessState::Expired { "/emergency?ended=expired" } else { "/emergency?ended=closed" }));
        }
    }
    let subject = person_name(context, &access.person_id).await?;
    let permit = Permit::emergency(&access, context.now).map_err(|_| PortalError::NotFound)?;
    let summary = context.store.emergency_summary(&permit).await?;
    let allergies = context.store.allergies(&permit).await?;
    let today = uk_time::date(context.now);
    let medicines: Vec<MedicineView> = context
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
            MedicineView {
                name: medicine.name,
                dose: medicine.dose,
                route: medicine.route,
                when: when.join(", "),
                instructions: medicine.instructions,
                prescriber: medicine.prescriber,
                since: medicine.started_on.format("%-d %B %Y").to_string(),
            }
        })
        .collect();
    let detail = format!("{} looked at the {WHAT_THEY_SEE} with the emergency code.", access.clinician.describe());
    context.store.append_audit(&clinician_event(context, &access, AuditAction::EmergencyViewed, detail)?).await?;
    let summary = summary.map(|summary| {
        context! {
            summary => summary.summary,
            conditions => summary.conditions,
            communication => summary.communication,
            next_of_kin => summary.next_of_kin,
            updated => uk_time::day(summary.updated_at),
        }
    });
    let allergies: Vec<Value> = allergies.into_iter().map(|allergy| context! { substance => allergy.substance, reaction => allergy.reaction }).collect();
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "emergency_record.html",
        context! {
            subject,
            summary,
            allergies,
            medicines,
            clinician => access.clinician.describe(),
            until => when(access.expires_at),
        },
    )
}

/// POST /emergency/leave: ends the access at once and forgets the cookie.
pub async fn leave(context: &RequestContext<'_>, request: &Request, visit: &mut Visit) -> Result<Response, PortalError> {
    if let Some(access) = presented_access(context, request, visit).await?
        && access.state(context.now) == AccessState::Live
    {
        let event = clinician_event(context, &access, AuditAction::EmergencyLeft, format!("{} left the record.", access.clinician.describe()))?;
        // Ending the access and its line in the access log: both, or neither.
        let recorder = Recorder::new();
        recorder.store().end_emergency_access(&access.id, context.now).await?;
        recorder.store().append_audit(&event).await?;
        context.store.apply(&recorder.into_plan()).await?;
    }
    visit.add_cookie(access_cookie("", 0));
    Ok(web::redirect("/emergency?ended=left"))
}

// ---------------------------------------------------------------------------------------------
// Turning the code on, getting a new one, turning it off
// ---------------------------------------------------------------------------------------------

/// What lets someone manage a person's emergency code.
enum Authority {
    /// It is their own record.
    Own(Power),
    /// They hold the act-for power.
    ActFor(Power),
    /// Council staff, on the council's statutory duty under this grant.
    Council { grant_id: String },
}

impl Authority {
    fn basis(&self) -> String {
        match self {
            Authority::Own(_) => "own_record".to_owned(),
            Authority::ActFor(power) => power.act_for_grant().map(|grant| format!("grant:{} ({})", grant.id, grant.basis.as_str())).unwrap_or_default(),
            Authority::Council { grant_id } => format!("grant:{grant_id} ({})", Basis::StatutoryDuty.as_str()),
        }
    }

    /// The council may turn a code on or get a new one (so a paramedic can always be let in),
    /// but turning it off is for the person and those acting for them.
    fn may_turn_off(&self) -> bool {
        !matches!(self, Authority::Council { .. })
    }

    /// The audit event for `action` on the person's code under this authority.
    fn event(&self, context: &RequestContext<'_>, person: &Person, subject_id: &str, action: AuditAction, detail: &str) -> AuditEvent {
        let id = new_id(context.random);
        match self {
            Authority::Own(power) | Authority::ActFor(power) => power.event(id, action, None, detail),
            Authority::Council { grant_id } => access::statutory_event(id, context.now, &person.id, Some((subject_id, grant_id)), action, None, detail),
        }
    }
}

/// Whether `person` may manage `subject_id`'s emergency code; what they may not manage does not
/// exist for them.
async fn authority(context: &RequestContext<'_>, person: &Person, subject_id: &str) -> Result<Authority, PortalError> {
    let grants = context.store.grants_for_subject(subject_id).await?;
    if person.role == Role::CouncilStaff && person.id != subject_id {
        let council = person.organisation_id.as_deref();
        return grants
            .iter()
            .find(|grant| {
                grant.basis == Basis::StatutoryDuty
                    && grant.state(context.now) == GrantState::Active
                    && matches!(&grant.grantee, Grantee::Organisation(id) if Some(id.as_str()) == council)
            })
            .map(|grant| Authority::Council { grant_id: grant.id.clone() })
            .ok_or(PortalError::NotFound);
    }
    let power = Power::ask(&care::actor(person), subject_id, Action::Contribute, &grants, context.now).map_err(|_| PortalError::NotFound)?;
    Ok(if power.acting_for().is_some() { Authority::ActFor(power) } else { Authority::Own(power) })
}

/// The page for managing `subject`'s code: `/emergency-code` for one's own.
fn manage_path(person: &Person, subject_id: &str) -> String {
    if person.id == subject_id { "/emergency-code".to_owned() } else { format!("/people/{subject_id}/emergency-code") }
}

/// Who turned a code on, as the viewer reads it.
async fn issuer(context: &RequestContext<'_>, viewer: &Person, issued_by: &str) -> Result<String, PortalError> {
    if issued_by == viewer.id {
        return Ok("you".to_owned());
    }
    let Some(person) = context.store.person(issued_by).await? else { return Ok("someone".to_owned()) };
    let organisation = match &person.organisation_id {
        Some(id) => context.store.organisation(id).await?.map(|organisation| organisation.name),
        None => None,
    };
    Ok(match organisation {
        Some(organisation) => format!("{}, {organisation}", person.display_name),
        None => person.display_name,
    })
}

/// GET /emergency-code and /people/{id}/emergency-code.
pub async fn manage(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: Option<&str>) -> Result<Response, PortalError> {
    let notice = match web::query_param(request, "done").as_deref() {
        Some("off") => Some("The emergency code is turned off. It no longer works."),
        _ => None,
    };
    render_manage(context, visit, subject_id, notice).await
}

async fn render_manage(context: &RequestContext<'_>, visit: &Visit, subject_id: Option<&str>, notice: Option<&str>) -> Result<Response, PortalError> {
    let signed_in = visit.signed_in.as_ref().ok_or(PortalError::SignInRequired)?;
    let person = &signed_in.person;
    let subject_id = subject_id.unwrap_or(&person.id);
    let authority = authority(context, person, subject_id).await?;
    let own = matches!(authority, Authority::Own(_));
    let path = manage_path(person, subject_id);
    let subject = person_name(context, subject_id).await?;
    if !signed_in.recently_verified {
        let whose = if own { "your".to_owned() } else { format!("{subject}'s") };
        let reason = format!(
            "An emergency code lets a paramedic or doctor see {whose} medicines, allergies and emergency summary. Before you change it, use your passkey again: your fingerprint, face or screen lock."
        );
        let confirmation = Confirmation { current: "home", back: ("/home", "Back"), reason: &reason, return_to: &path };
        return confirm_identity(context, visit, StatusCode::OK, &confirmation);
    }
    let live = match context.store.live_emergency_code(subject_id).await? {
        Some(code) => Some(context! {
            since => when(code.issued_at),
            by => issuer(context, person, &code.issued_by).await?,
            locked => code.is_locked(),
        }),
        None => None,
    };
    let uses = use_sentences(context, subject_id, if own { None } else { Some(subject.as_str()) }).await?;
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "emergency_code.html",
        context! { current => "home", path, own, subject, live, uses, notice, may_turn_off => authority.may_turn_off() },
    )
}

#[derive(Deserialize)]
struct ChangeForm {
    action: String,
}

/// POST /emergency-code and /people/{id}/emergency-code: `action=new` turns on a new code
/// (ending the old one) and shows it once; `action=off` turns the code off.
pub async fn change(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: Option<&str>) -> Result<Response, PortalError> {
    let signed_in = visit.signed_in.as_ref().ok_or(PortalError::SignInRequired)?;
    let person = &signed_in.person;
    let subject_id = subject_id.unwrap_or(&person.id);
    let authority = authority(context, person, subject_id).await?;
    let path = manage_path(person, subject_id);
    if !signed_in.recently_verified {
        return see_other(&path);
    }
    let form: ChangeForm = web::form(request)?;
    match form.action.as_str() {
        "new" => turn_on(context, visit, person, subject_id, &authority, &path).await,
        "off" if authority.may_turn_off() => {
            let event = authority.event(context, person, subject_id, AuditAction::EmergencyCodeTurnedOff, "Turned off the emergency code. It no longer works.");
            // The code's end and its line in the access log: both, or neither (a code that is
            // already off stops the plan at its guard: nothing to do).
            let recorder = Recorder::new();
            recorder.store().turn_off_emergency_code(subject_id, &person.id, context.now).await?;
            recorder.store().append_audit(&event).await?;
            match context.store.apply(&recorder.into_plan()).await {
                Ok(()) | Err(DbError::Constraint(_)) => {}
                Err(error) => return Err(error.into()),
            }
            see_other(&format!("{path}?done=off"))
        }
        "off" => Err(PortalError::NotFound),
        _ => Err(PortalError::BadRequest("unknown action".into())),
    }
}

async fn turn_on(
    context: &RequestContext<'_>,
    visit: &Visit,
    person: &Person,
    subject_id: &str,
    authority: &Authority,
    path: &str,
) -> Result<Response, PortalError> {
    let replacing = context.store.live_emergency_code(subject_id).await?.is_some();
    let (record, code) = emergency::issue(subject_id, &person.id, &authority.basis(), context.now, context.random);
    let (action, detail) = if replacing {
        (AuditAction::EmergencyCodeReplaced, "Turned on a new emergency code. The old code no longer works.")
    } else {
        (AuditAction::EmergencyCodeTurnedOn, "Turned on an emergency code for paramedics and other clinicians.")
    };
    // The new code, the old one's end and the line in the access log: all, or none — so a
    // code is never live without the person being told, nor shown without being live.
    let recorder = Recorder::new();
    recorder.store().replace_emergency_code(&record).await?;
    recorder.store().append_audit(&authority.event(context, person, subject_id, action, detail)).await?;
    context.store.apply(&recorder.into_plan()).await?;
    let own = matches!(authority, Authority::Own(_));
    let subject = person_name(context, subject_id).await?;
    let address = format!("{}emergency", context.config.origin);
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "emergency_code_issued.html",
        context! { current => "home", code => code.to_string(), address, replacing, own, subject, path, subject_id },
    )
}

// ---------------------------------------------------------------------------------------------
// Telling people: home pages, a supported person's page, the council's list
// ---------------------------------------------------------------------------------------------

/// Sentences about the accesses to `subject_id`'s record in the notice period, newest first:
/// in the second person when `about` is `None`, else about the person named.
async fn use_sentences(context: &RequestContext<'_>, subject_id: &str, about: Option<&str>) -> Result<Vec<String>, PortalError> {
    let accesses = context.store.emergency_accesses_for_person(subject_id, emergency::notice_since(context.now)).await?;
    Ok(accesses.iter().map(|access| use_sentence(access, about, context.now)).collect())
}

/// "Alex Smith (Paramedic, North West Ambulance Service) used your emergency code on
/// 21 November 2026 at 14:05. They could see your medicines, allergies and emergency summary
/// until 18:05."
fn use_sentence(access: &EmergencyAccess, about: Option<&str>, now: DateTime<Utc>) -> String {
    let (whose_code, whose_record) = match about {
        None => ("your emergency code".to_owned(), "your".to_owned()),
        Some(name) => (format!("the emergency code for {name}"), format!("{name}'s")),
    };
    let verb = if access.state(now) == AccessState::Live { "can" } else { "could" };
    format!(
        "{} used {whose_code} on {}. They {verb} see {whose_record} {WHAT_THEY_SEE} until {}.",
        access.clinician.describe(),
        when(access.started_at),
        until_after(access.started_at, access.until())
    )
}

/// One line about the recent uses of one emergency code, with where to read them in full.
#[derive(Serialize)]
struct UseLine {
    text: String,
    href: String,
}

/// "Your emergency code was used on 21 November 2026 at 2:05pm" (or "… 3 times in the last
/// 30 days, last on …"), or nothing when it was not used in the notice period.
async fn use_line(context: &RequestContext<'_>, subject_id: &str, about: Option<&str>, href: String) -> Result<Option<UseLine>, PortalError> {
    let accesses = context.store.emergency_accesses_for_person(subject_id, emergency::notice_since(context.now)).await?;
    let Some(latest) = accesses.iter().map(|access| access.started_at).max() else { return Ok(None) };
    let whose = about.map_or_else(|| "Your emergency code".to_owned(), |name| format!("The emergency code for {name}"));
    let text = match accesses.len() {
        1 => format!("{whose} was used on {}.", when(latest)),
        count => format!("{whose} was used {count} times in the last 30 days, last on {}.", when(latest)),
    };
    Ok(Some(UseLine { text, href }))
}

#[derive(Serialize, Default)]
struct Notice {
    /// On the home page: one line per code used, linking to the details.
    lines: Vec<UseLine>,
    /// On the code's own page and a supported person's page: every use in full.
    uses: Vec<String>,
    locked: Vec<String>,
    manage_path: Option<String>,
    code_on: Option<bool>,
    council_path: Option<&'static str>,
    own: bool,
}

/// What the home page says about emergency access: one line for each code used (the person's
/// own, and those of the people they support), and a locked code; the way to the
/// emergency code page (service users) or to the council's list (council staff).
pub async fn home_notice(context: &RequestContext<'_>, person: &Person, supported: &[Supported]) -> Result<Value, PortalError> {
    let mut notice = Notice::default();
    match person.role {
        Role::ServiceUser => {
            notice.own = true;
            notice.lines.extend(use_line(context, &person.id, None, "/emergency-code".to_owned()).await?);
            let live = context.store.live_emergency_code(&person.id).await?;
            if live.as_ref().is_some_and(EmergencyCodeRecord::is_locked) {
                notice.locked.push("your emergency code".to_owned());
            }
            notice.code_on = Some(live.is_some());
            notice.manage_path = Some("/emergency-code".to_owned());
        }
        Role::CouncilStaff => notice.council_path = Some("/council/emergency-access"),
        Role::Representative | Role::ProviderStaff => {}
    }
    if matches!(person.role, Role::ServiceUser | Role::Representative) {
        for entry in supported {
            // The supported person's page lists every use (and, for someone acting for them,
            // links to their emergency code).
            let href = format!("/people/{}#emergency-uses", entry.id);
            notice.lines.extend(use_line(context, &entry.id, Some(&entry.name), href).await?);
        }
    }
    Ok(Value::from_serialize(&notice))
}

/// What a supported person's page says about emergency access to their record, and the way to
/// their emergency code page for someone who may manage it.
pub async fn person_notice(context: &RequestContext<'_>, viewer: &Person, subject: &Supported) -> Result<Value, PortalError> {
    let mut notice = Notice { uses: use_sentences(context, &subject.id, Some(&subject.name)).await?, ..Notice::default() };
    match authority(context, viewer, &subject.id).await {
        Ok(_) => {
            let live = context.store.live_emergency_code(&subject.id).await?;
            if live.as_ref().is_some_and(EmergencyCodeRecord::is_locked) {
                notice.locked.push(format!("the emergency code for {}", subject.name));
            }
            notice.code_on = Some(live.is_some());
            notice.manage_path = Some(manage_path(viewer, &subject.id));
        }
        Err(PortalError::NotFound) => {}
        Err(error) => return Err(error),
    }
    Ok(Value::from_serialize(&notice))
}

#[derive(Serialize)]
struct AccessRow {
    started: String,
    name: String,
    role: String,
    organisation: String,
    subject_id: String,
    subject: String,
    until: String,
    live: bool,
}

/// GET /council/emergency-access: for council staff, the newest emergency accesses to the
/// records the council may see the access log of, and the people whose code they may turn on.
pub async fn council_list(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let person = visit.require_person()?;
    if person.role != Role::CouncilStaff {
        return Err(PortalError::NotFound);
    }
    let actor = care::actor(person);
    let mut visible: HashMap<String, Option<(String, Permit)>> = HashMap::new();
    let mut rows = Vec::new();
    for access in context.store.recent_emergency_accesses(COUNCIL_LIST_LIMIT).await? {
        if !visible.contains_key(&access.person_id) {
            let grants = context.store.grants_for_subject(&access.person_id).await?;
            let allowed = match Permit::ask(&actor, &access.person_id, Action::View, Category::AccessLog, &grants, context.now) {
                Ok(permit) => Some((person_name(context, &access.person_id).await?, permit)),
                Err(_) => None,
            };
            visible.insert(access.person_id.clone(), allowed);
        }
        let Some(Some((subject, _))) = visible.get(&access.person_id) else { continue };
        rows.push(AccessRow {
            started: when(access.started_at),
            subject: subject.clone(),
            subject_id: access.person_id.clone(),
            until: until_after(access.started_at, access.until()),
            live: access.state(context.now) == AccessState::Live,
            name: access.clinician.name,
            role: access.clinician.role,
            organisation: access.clinician.organisation,
        });
    }
    // Who looked at a record is part of that record's access log: each person shown is told.
    for (_, permit) in visible.values().flatten() {
        care::audit_view(context, permit, Category::AccessLog, "The council's list of emergency access to records was shown.").await?;
    }
    let mut people = Vec::new();
    for entry in care::people_supported(context, person).await? {
        if authority(context, person, &entry.id).await.is_ok() {
            let live = context.store.live_emergency_code(&entry.id).await?;
            let status = match &live {
                Some(code) if code.is_locked() => "Locked after wrong codes".to_owned(),
                Some(code) => format!("On since {}", uk_time::day(code.issued_at)),
                None => "Off".to_owned(),
            };
            people.push(context! { path => manage_path(person, &entry.id), name => entry.name, status });
        }
    }
    page_with_status(context, visit, StatusCode::OK, "emergency_council.html", context! { current => "home", rows, people })
}
