//! "Conversations about your information": the consent discussions providers recorded with the
//! person, which the person — or someone acting for them — confirms or disputes.

use carefront_shared::access::{AuditAction, Power};
use carefront_shared::consent::Action;
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::discussion::{Discussion, Status};
use carefront_shared::domain::Person;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::{DiscussionStore as _, Store as _};
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::care::actor;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// The person themselves, or someone holding the act-for power; everyone else: 404.
pub(crate) async fn may_answer(context: &RequestContext<'_>, reader: &Person, subject_id: &str) -> Result<Power, PortalError> {
    let grants = context.store.grants_for_subject(subject_id).await?;
    Power::ask(&actor(reader), subject_id, Action::Contribute, &grants, context.now).map_err(|_| PortalError::NotFound)
}

/// The discussions still waiting for the person's answer (for the home page notice).
pub async fn awaiting(context: &RequestContext<'_>, subject_id: &str) -> Result<usize, PortalError> {
    Ok(context.store.discussions(subject_id).await?.iter().filter(|discussion| discussion.status == Status::Awaiting).count())
}

async fn view(context: &RequestContext<'_>, discussion: &Discussion) -> Result<Value, PortalError> {
    let provider =
        context.store.organisation(&discussion.organisation_id).await?.map_or_else(|| "Your care provider".to_owned(), |organisation| organisation.name);
    let participants: Vec<String> = discussion.participants.iter().map(|participant| format!("{} ({})", participant.name, participant.role.words())).collect();
    let covered: Vec<&str> = discussion.covered.iter().map(|topic| topic.words()).collect();
    Ok(context! {
        id => discussion.id, version => discussion.version, provider,
        held_on => discussion.held_on.format("%-d %B %Y").to_string(), method => discussion.method.words(),
        participants, covered, decisions => discussion.decisions, words => discussion.persons_words,
        status => discussion.status.as_str(), response => discussion.response,
        answered => discussion.responded_at.map(uk_time::day),
    })
}

/// GET /people/{id}/discussions.
pub async fn list(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let notice = match web::query_param(request, "done").as_deref() {
        Some("confirmed") => Some("Thank you. The care provider can see that you said this is right."),
        Some("disputed") => Some("Thank you. The care provider can see what you said, and should contact you to put it right."),
        _ => None,
    };
    render(context, visit, subject_id, StatusCode::OK, None, notice).await
}

async fn render(
    context: &RequestContext<'_>,
    visit: &Visit,
    subject_id: &str,
    status: StatusCode,
    error: Option<(&str, &str)>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    may_answer(context, reader, subject_id).await?;
    let own = reader.id == subject_id;
    let name = if own { reader.display_name.clone() } else { context.store.person(subject_id).await?.ok_or(PortalError::NotFound)?.display_name };
    let mut items = Vec::new();
    for discussion in context.store.discussions(subject_id).await? {
        items.push(view(context, &discussion).await?);
    }
    let (error_id, error) = match error {
        Some((id, message)) => (Some(id), Some(message)),
        None => (None, None),
    };
    let subject = context! { id => subject_id, name, own };
    page_with_status(context, visit, status, "discussions.html", context! { current => "home", subject, items, error, error_id, notice })
}

#[derive(Deserialize)]
struct AnswerForm {
    version: i64,
    answer: Option<String>,
    #[serde(default)]
    comment: String,
}

/// POST /people/{id}/discussions/{discussion}: "this is right", or "this is not right" with why.
pub async fn answer(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str, id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let power = may_answer(context, reader, subject_id).await?;
    let form: AnswerForm = web::form(request)?;
    let discussion = context.store.discussion(subject_id, id).await?.ok_or(PortalError::NotFound)?;
    let status = match form.answer.as_deref() {
        Some("right") => Status::Confirmed,
        Some("not-right") => Status::Disputed,
        Some(_) => return Err(PortalError::BadRequest("unknown answer".into())),
        None => return render(context, visit, subject_id, StatusCode::BAD_REQUEST, Some((id, "Choose whether this is right")), None).await,
    };
    let comment = form.comment.trim();
    if comment.chars().count() > 2000 || comment.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return render(context, visit, subject_id, StatusCode::BAD_REQUEST, Some((id, "Write up to 2,000 characters")), None).await;
    }
    if status == Status::Disputed && comment.is_empty() {
        return render(context, visit, subject_id, StatusCode::BAD_REQUEST, Some((id, "Say what is not right, so the care provider can put it right")), None)
            .await;
    }
    let acting_for = power.acting_for();
    let response = (!comment.is_empty()).then_some(comment);
    let provider =
        context.store.organisation(&discussion.organisation_id).await?.map_or_else(|| "the care provider".to_owned(), |organisation| organisation.name);
    let (action, verb) =
        if status == Status::Confirmed { (AuditAction::DiscussionConfirmed, "confirmed") } else { (AuditAction::DiscussionDisputed, "disputed") };
    let detail = format!("{verb} the record of a conversation with {provider} on {}", discussion.held_on.format("%-d %B %Y"));
    // The answer and its line in the access log: both, or neither (a stale answer stops both).
    let recorder = Recorder::new();
    recorder.store().answer_discussion(subject_id, id, form.version, status, response, &reader.id, acting_for, context.now).await?;
    recorder.store().append_audit(&power.event(new_id(context.random), action, None, detail)).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => {}
        Err(DbError::Constraint(_)) => {
            let message = "This was answered or changed after you opened the page, so nothing was saved. Check it below.";
            return render(context, visit, subject_id, StatusCode::CONFLICT, Some((id, message)), None).await;
        }
        Err(error) => return Err(error.into()),
    }
    Ok(web::redirect_to(&format!("/people/{subject_id}/discussions?done={verb}")))
}
