//! "How you like to get information": format and communication needs (the NHS Accessible
//! Information Standard) at `/people/{id}/needs`. The person records their own; someone with
//! the act-for power may record them for the person ("A acting for B"); a grantee with the
//! preferences category may read them; everyone who can see the person sees them flagged.

use std::collections::BTreeSet;

use carefront_shared::access::{self, AuditAction, Permit, Power};
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{AuditEvent, Person};
use carefront_shared::needs::{self, Need, RecordedNeed};
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::{Store as _, VoiceStore as _};
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};

use crate::care::actor;
use crate::category_names as names;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// The needs chosen with checkboxes (large print and the paper copy have their own questions).
const CHECKBOXES: [Need; 7] =
    [Need::EasyRead, Need::Braille, Need::ElectronicAudio, Need::BslInterpreter, Need::InformationByEmail, Need::ContactByLetter, Need::ContactViaCarer];

/// On what footing the reader sees the subject's needs.
enum Access {
    /// Their own needs (whatever their role: everyone who uses carefront can say how they want
    /// it).
    Own,
    /// A grant of the preferences category; `power` when they may also change them.
    Granted { permit: Permit, power: Option<Power> },
    /// The act-for power alone: they may change the needs, and so see them.
    ActingFor(Power),
}

impl Access {
    fn may_change(&self) -> bool {
        match self {
            Access::Own | Access::ActingFor(_) => true,
            Access::Granted { power, .. } => power.is_some(),
        }
    }

    /// The audit event for `action` on the needs under this access.
    fn event(&self, context: &RequestContext<'_>, reader: &Person, action: AuditAction, detail: String) -> Result<AuditEvent, PortalError> {
        let id = new_id(context.random);
        Ok(match self {
            Access::Own => access::own_event(id, context.now, &reader.id, action, Some(Category::Preferences), detail),
            Access::Granted { power: Some(power), .. } | Access::ActingFor(power) => power.category_event(id, action, Category::Preferences, detail),
            Access::Granted { permit, power: None } => {
                permit.event(id, action, Category::Preferences, detail).map_err(|error| PortalError::Internal(error.to_string()))?
            }
        })
    }
}

/// Reading needs: the person themselves, or a grant of the preferences category; changing
/// them: the person, or someone holding the act-for power.
async fn access(context: &RequestContext<'_>, reader: &Person, subject_id: &str) -> Result<Access, PortalError> {
    if reader.id == subject_id {
        return Ok(Access::Own);
    }
    let grants = context.store.grants_for_subject(subject_id).await?;
    let who = actor(reader);
    let power = Power::ask(&who, subject_id, Action::Contribute, &grants, context.now).ok();
    match (Permit::ask(&who, subject_id, Action::View, Category::Preferences, &grants, context.now), power) {
        (Ok(permit), power) => Ok(Access::Granted { permit, power }),
        (Err(_), Some(power)) => Ok(Access::ActingFor(power)),
        (Err(_), None) => Err(PortalError::NotFound),
    }
}

fn label(need: &RecordedNeed) -> String {
    if need.need == Need::Other { format!("{}: {}", need.need.label(), need.detail) } else { need.need.label().to_owned() }
}

/// The needs to flag wherever someone sees the person (empty when none are recorded). The
/// person's own words about another need stay on their needs page, for those granted it.
pub async fn flags(context: &RequestContext<'_>, subject_id: &str) -> Result<Vec<String>, PortalError> {
    Ok(context
        .store
        .needs(subject_id, false)
        .await?
        .iter()
        .filter(|need| need.need != Need::PaperCopyAtHome)
        .map(|need| need.need.label().to_owned())
        .collect())
}

/// The form's answers.
#[derive(Debug, Default)]
struct Answers {
    large_print: Option<Need>,
    chosen: BTreeSet<Need>,
    paper: Option<Need>,
    other: String,
}

impl Answers {
    fn parse(request: &Request) -> Result<Answers, PortalError> {
        let fields: Vec<(String, String)> = web::form(request)?;
        let mut answers = Answers::default();
        for (key, value) in fields {
            match key.as_str() {
                "large-print" => {
                    answers.large_print = match value.as_str() {
                        "none" => None,
                        other => Some(
                            Need::parse(other)
                                .filter(|need| need.large_print_points().is_some())
                                .ok_or_else(|| PortalError::BadRequest("unknown print size".into()))?,
                        ),
                    }
                }
                "needs" => {
                    let need = Need::parse(&value).filter(|need| CHECKBOXES.contains(need)).ok_or_else(|| PortalError::BadRequest("unknown need".into()))?;
                    answers.chosen.insert(need);
                }
                "paper" => {
                    answers.paper = Some(
                        Need::parse(&value)
                            .filter(|need| matches!(need, Need::PaperCopyAtHome | Need::NoPaperCopies))
                            .ok_or_else(|| PortalError::BadRequest("unknown paper choice".into()))?,
                    )
                }
                "other" => answers.other = value.trim().to_owned(),
                _ => {}
            }
        }
        Ok(answers)
    }

    /// The whole set of needs the answers describe.
    fn needs(&self) -> BTreeSet<Need> {
        let mut needs = self.chosen.clone();
        needs.extend(self.large_print);
        needs.extend(self.paper);
        if !self.other.is_empty() {
            needs.insert(Need::Other);
        }
        needs
    }
}

/// "choose one size" → "Choose one size."
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| format!("{}{}.", first.to_uppercase(), chars.as_str())).unwrap_or_default()
}

/// GET /people/{id}/needs.
pub async fn page(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let access = access(context, reader, subject_id).await?;
    let event = access.event(context, reader, AuditAction::Viewed(Category::Preferences), "looked at the format and communication needs".into())?;
    context.store.append_audit(&event).await?;
    let notice = web::query_param(request, "done").filter(|done| done == "saved").map(|_| "Saved. Everyone who supports you will see these needs.");
    render(context, visit, reader, subject_id, access.may_change(), StatusCode::OK, None, notice).await
}

#[allow(clippy::too_many_arguments)]
async fn render(
    context: &RequestContext<'_>,
    visit: &Visit,
    reader: &Person,
    subject_id: &str,
    may_change: bool,
    status: StatusCode,
    error: Option<String>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let own = reader.id == subject_id;
    let name = if own { reader.display_name.clone() } else { context.store.person(subject_id).await?.ok_or(PortalError::NotFound)?.display_name };
    let all = context.store.needs(subject_id, true).await?;
    let live: Vec<&RecordedNeed> = all.iter().filter(|need| need.ended_at.is_none()).collect();
    let has = |need: Need| live.iter().any(|recorded| recorded.need == need);
    let current: Vec<Value> = live
        .iter()
        .map(|need| {
            context! {
                label => label(need), snomed => need.need.snomed().map(|(code, term)| format!("{term} (SNOMED CT {code})")),
                by => need.recorded_by_name, when => uk_time::day(need.recorded_at),
                acting_for => need.acting_for.is_some(),
            }
        })
        .collect();
    let history: Vec<Value> =
        all.iter().filter(|need| need.ended_at.is_some()).map(|need| context! { label => label(need), when => need.ended_at.map(uk_time::day) }).collect();
    let sizes: Vec<Value> = [None, Some(Need::LargePrint20), Some(Need::LargePrint24), Some(Need::LargePrint28)]
        .into_iter()
        .map(|size| {
            let checked = match size {
                None => !live.iter().any(|need| need.need.large_print_points().is_some()),
                Some(size) => has(size),
            };
            context! {
                value => size.map_or("none", Need::as_str),
                label => size.and_then(Need::large_print_points).map_or_else(|| "No".to_owned(), |points| format!("Yes, at least {points} point")),
                checked,
            }
        })
        .collect();
    let choices: Vec<Value> = CHECKBOXES.into_iter().map(|need| context! { value => need.as_str(), label => need.label(), checked => has(need) }).collect();
    let other = live.iter().find(|need| need.need == Need::Other).map(|need| need.detail.clone()).unwrap_or_default();
    let no_paper = has(Need::NoPaperCopies);
    let words = if own { names::Whose::You } else { names::Whose::Named(&name) };
    let (heading, title) = (names::heading(Category::Preferences, own), names::title(Category::Preferences, words));
    let subject = context! { id => subject_id, name, own, heading, title };
    page_with_status(
        context,
        visit,
        status,
        "needs.html",
        context! { current => "home", subject, may_change, current_needs => current, history, sizes, choices, other, no_paper, error, notice },
    )
}

/// POST /people/{id}/needs: records the answers; what changed is ended or added, never
/// overwritten.
pub async fn save(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let access = access(context, reader, subject_id).await?;
    if !access.may_change() {
        return Err(PortalError::NotFound);
    }
    let answers = Answers::parse(request)?;
    let wanted = answers.needs();
    if let Err(problem) = needs::check(&wanted, &answers.other) {
        return render(context, visit, reader, subject_id, true, StatusCode::BAD_REQUEST, Some(sentence(&problem.to_string())), None).await;
    }
    let live = context.store.needs(subject_id, false).await?;
    let ended: Vec<&RecordedNeed> =
        live.iter().filter(|need| !wanted.contains(&need.need) || (need.need == Need::Other && need.detail != answers.other)).collect();
    let added: Vec<RecordedNeed> = wanted
        .iter()
        .filter(|need| !live.iter().any(|recorded| recorded.need == **need && (**need != Need::Other || recorded.detail == answers.other)))
        .map(|need| RecordedNeed {
            id: new_id(context.random),
            person_id: subject_id.to_owned(),
            need: *need,
            detail: if *need == Need::Other { answers.other.clone() } else { String::new() },
            recorded_by: reader.id.clone(),
            recorded_by_name: reader.display_name.clone(),
            acting_for: (reader.id != subject_id).then(|| subject_id.to_owned()),
            consent_discussion_id: None,
            recorded_at: context.now,
            ended_at: None,
        })
        .collect();
    if ended.is_empty() && added.is_empty() {
        return Ok(web::redirect_to(&format!("/people/{subject_id}/needs?done=saved")));
    }
    let ended_ids: Vec<String> = ended.iter().map(|need| need.id.clone()).collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", added.iter().map(label).collect::<Vec<_>>().join(", ")));
    }
    if !ended.is_empty() {
        parts.push(format!("removed {}", ended.iter().map(|need| label(need)).collect::<Vec<_>>().join(", ")));
    }
    let event = access.event(context, reader, AuditAction::PreferencesChanged, format!("changed the format and communication needs: {}", parts.join("; ")))?;
    // The change and its line in the access log: both, or neither.
    let recorder = Recorder::new();
    recorder.store().change_needs(subject_id, &ended_ids, &added, &reader.id, context.now).await?;
    recorder.store().append_audit(&event).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect_to(&format!("/people/{subject_id}/needs?done=saved")))
}
