//! The comments and correction requests waiting for an answer from the organisation
//! (`/provider/comments`), and the answer (`/provider/people/{id}/comments/{comment}/answer`).
//! The rules are the API's, from the same shared code: only an organisation whose grant lets it
//! contribute to the comment's category answers it ([`comments::leave_to_answer`]; a view-only
//! organisation sees the comment but cannot close it, finding 7), the answer names the version
//! it was based on (someone else's answer first is a conflict, nothing saved), and every answer
//! is kept in the comment's history ([`record_answer`]).

use carefront_shared::store::prelude::*;
use std::collections::BTreeMap;

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::comments::{self, Comment, CommentKind, CommentProblem, CommentStatus};
use carefront_shared::consent::{Action, Category, Grant};
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::domain::{AuditEvent, Organisation, Person};
use carefront_shared::notices;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::support::{CommentAfter, CommentOrder, SupportedComment, walk_pages};
use carefront_shared::store::time_text;
use carefront_shared::store::voice::{Answer, record_answer};
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};
use serde::Deserialize;

use super::{described, organisation_grants_for, person_name, staff};
use crate::care::actor;
use crate::comments::{answer_history, category_words, status_words};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

fn about(comment: &Comment) -> String {
    if comment.entry_label.is_empty() { category_words(comment.category).to_owned() } else { comment.entry_label.clone() }
}

fn kind_words(kind: CommentKind) -> &'static str {
    if kind == CommentKind::Correction { "Correction asked for" } else { "Comment" }
}

/// Comments one page of `/provider/comments` shows.
const COMMENTS_PAGE: usize = 50;

/// GET /provider/comments?after=: the open comments on the people the organisation supports,
/// about the parts of their record it may see, oldest first (the longest waiting at the top),
/// [`COMMENTS_PAGE`] at a time; each with a link to answer it when the organisation may. One
/// query a page joins the organisation's live grants to the comments (a provider supporting
/// thousands of people is not read person by person); the consent decision then judges each
/// comment from the grants its row came with.
pub async fn waiting(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let (reader, organisation) = staff(context, visit).await?;
    let who = actor(reader);
    let after = web::query_param(request, "after").filter(|after| !after.is_empty());
    let start = match after.as_deref() {
        None => None,
        Some(text) => Some(
            text.split_once('|')
                .filter(|(created_at, id)| text.len() <= 200 && !created_at.is_empty() && !id.is_empty())
                .map(|(created_at, id)| (created_at.to_owned(), id.to_owned()))
                .ok_or_else(|| PortalError::BadRequest("The page of comments asked for is not one this list gives.".into()))?,
        ),
    };
    let fetch = |after: Option<(String, String)>, batch| {
        let organisation = &organisation.id;
        async move {
            let after = after.as_ref().map(|(created_at, id)| CommentAfter { created_at, id });
            context.store.supported_comments_page(organisation, context.now, Some(CommentStatus::Open), CommentOrder::OldestFirst, after, batch).await
        }
    };
    let keep = |row: &SupportedComment| {
        Permit::ask(&who, &row.comment.person_id, Action::View, row.comment.category, &row.grants, context.now)
            .is_ok_and(|permit| row.comment.status == CommentStatus::Open && comments::visible_under(&permit, &row.comment))
    };
    let key = |row: &SupportedComment| (time_text(row.comment.created_at), row.comment.id.clone());
    let (rows, more) = walk_pages(start.clone(), COMMENTS_PAGE, fetch, key, keep).await?;
    let shown: Vec<(Comment, Vec<Grant>)> = rows.into_iter().map(|row| (row.comment, row.grants)).collect();
    let next = shown.last().filter(|_| more).map(|(comment, _)| {
        let key = format!("{}|{}", time_text(comment.created_at), comment.id);
        format!("/provider/comments?{}", serde_urlencoded::to_string([("after", key)]).unwrap_or_default())
    });
    // One line in each person's access log, naming the grounds of exactly the parts shown.
    let mut by_person: BTreeMap<&str, (Vec<Category>, &[Grant])> = BTreeMap::new();
    for (comment, grants) in &shown {
        by_person.entry(comment.person_id.as_str()).or_insert_with(|| (Vec::new(), grants.as_slice())).0.push(comment.category);
    }
    let mut events: Vec<AuditEvent> = Vec::new();
    let mut names: BTreeMap<&str, String> = BTreeMap::new();
    for (subject_id, (categories, grants)) in &by_person {
        let permit = Permit::ask_each(&who, subject_id, Action::View, categories, grants, context.now).map_err(|_| PortalError::NotFound)?;
        let detail =
            format!("{} looked at your comments and correction requests waiting for an answer ({}).", described(reader, &organisation), categories.len());
        events.push(permit.overall_event(new_id(context.random), AuditAction::CommentsViewed, detail));
        names.insert(subject_id, person_name(context, subject_id).await?);
    }
    context.store.append_audits(&events).await?;
    let items: Vec<Value> = shown
        .iter()
        .map(|(comment, grants)| {
            let answerable = comments::leave_to_answer(&who, comment, grants, context.now).is_ok();
            let person = names.get(comment.person_id.as_str()).cloned().unwrap_or_default();
            context! {
                person, person_id => comment.person_id.clone(), id => comment.id.clone(), kind => kind_words(comment.kind),
                about => about(comment), body => comment.body.clone(), by => comment.author_name.clone(),
                when => uk_time::day(comment.created_at), answerable,
            }
        })
        .collect();
    let notice = web::query_param(request, "done").filter(|done| done == "answer").map(|_| "Answer sent. The person can see it with their comment.");
    page_with_status(
        context,
        visit,
        StatusCode::OK,
        "provider_comments.html",
        context! { current => "provider", organisation => organisation.name, items, notice, next, first_page => start.is_none() },
    )
}

/// The comment and the organisation's leave to answer it: 404 without a live grant to the
/// organisation that lets it contribute to the comment's category.
async fn answerable(
    context: &RequestContext<'_>,
    visit: &Visit,
    subject_id: &str,
    comment_id: &str,
) -> Result<(Person, Organisation, Comment, Permit), PortalError> {
    let (reader, organisation) = staff(context, visit).await?;
    let grants = organisation_grants_for(context, &organisation, subject_id).await?;
    let comment = context.store.comment(subject_id, comment_id).await?.ok_or(PortalError::NotFound)?;
    let permit = comments::leave_to_answer(&actor(reader), &comment, &grants, context.now).map_err(|_| PortalError::NotFound)?;
    Ok((reader.clone(), organisation, comment, permit))
}

/// The form as typed, shown again with the errors.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
struct AnswerForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    response: String,
}

/// One problem with the form: the field it is about and what to do.
#[derive(Debug, serde::Serialize)]
struct FieldError {
    field: &'static str,
    message: &'static str,
}

const STATUSES: [(CommentStatus, &str, &str); 3] = [
    (CommentStatus::Answered, "answered", "Answered: you have replied"),
    (CommentStatus::Corrected, "corrected", "Corrected: the record has been put right"),
    (CommentStatus::Declined, "declined", "Not changed: say why"),
];

#[allow(clippy::too_many_arguments)]
async fn render(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    comment: &Comment,
    form: &AnswerForm,
    errors: &[FieldError],
    conflict: bool,
) -> Result<Response, PortalError> {
    let name = person_name(context, &comment.person_id).await?;
    let answers = context.store.comment_answers(&comment.person_id).await?;
    let (current, tag) = status_words(comment.status);
    let shown = context! {
        id => comment.id.clone(), about => about(comment), body => comment.body.clone(),
        heading => if comment.kind == CommentKind::Correction { "Answer a request for a correction" } else { "Answer a comment" },
        by => comment.author_name.clone(), when => uk_time::day(comment.created_at), status => current, tag, version => comment.version,
        answers => answer_history(&answers, &comment.id),
    };
    let statuses: Vec<Value> = STATUSES.into_iter().map(|(_, value, label)| context! { value, label, checked => form.status == value }).collect();
    let error_fields: Vec<&str> = errors.iter().map(|error| error.field).collect();
    page_with_status(
        context,
        visit,
        status,
        "provider_answer.html",
        context! {
            current => "provider", subject => context! { id => comment.person_id.clone(), name }, comment => shown, form, statuses, errors,
            error_fields, conflict,
        },
    )
}

/// GET /provider/people/{id}/comments/{comment}/answer.
pub async fn answer_page(context: &RequestContext<'_>, visit: &Visit, subject_id: &str, comment_id: &str) -> Result<Response, PortalError> {
    let (_, _, comment, _) = answerable(context, visit, subject_id, comment_id).await?;
    let form = AnswerForm { version: comment.version.to_string(), ..AnswerForm::default() };
    render(context, visit, StatusCode::OK, &comment, &form, &[], false).await
}

/// POST /provider/people/{id}/comments/{comment}/answer: the answer, its place in the comment's
/// history and its line in the access log in one plan; or the form again, naming each field to
/// put right, with nothing written.
pub async fn answer(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str, comment_id: &str) -> Result<Response, PortalError> {
    let (reader, organisation, comment, permit) = answerable(context, visit, subject_id, comment_id).await?;
    let form: AnswerForm = web::form(request)?;
    let version: i64 = form.version.parse().ok().filter(|version| *version >= 1).ok_or_else(|| PortalError::BadRequest("bad version".into()))?;
    let status = match form.status.as_str() {
        "" => CommentStatus::Open,
        text => STATUSES
            .iter()
            .find(|(_, value, _)| *value == text)
            .map(|(status, _, _)| *status)
            .ok_or_else(|| PortalError::BadRequest("unknown status".into()))?,
    };
    let response = match comments::check_answer(status, &form.response) {
        Ok(response) => response,
        Err(problems) => {
            let errors: Vec<FieldError> = problems
                .iter()
                .map(|problem| match problem {
                    CommentProblem::StillOpen => FieldError { field: "status", message: "Choose what you did about it" },
                    CommentProblem::BadText => FieldError { field: "response", message: "Write your answer to the person, in up to 2,000 characters" },
                })
                .collect();
            return render(context, visit, StatusCode::BAD_REQUEST, &comment, &form, &errors, false).await;
        }
    };
    let answer = Answer { status, response, responded_by: &organisation.name };
    let detail = comments::answered_detail(&described(&reader, &organisation), comment.kind, status);
    let event = permit
        .event(new_id(context.random), AuditAction::CommentAnsweredByStaff, comment.category, detail)
        .map_err(|error| PortalError::Internal(error.to_string()))?;
    let told = notices::comment_answered(context.store, &comment, &context.config.origin, context.now, context.random).await?;
    let recorder = Recorder::new();
    record_answer(&recorder, &comment, version, &answer, &event, context.now).await?;
    notices::queue(&recorder, &told).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => Ok(web::redirect("/provider/comments?done=answer")),
        // Someone answered since the page was opened: show the comment as it is now.
        Err(DbError::Constraint(_)) => {
            let current = context.store.comment(subject_id, comment_id).await?.ok_or(PortalError::NotFound)?;
            let form = AnswerForm { version: current.version.to_string(), ..form };
            render(context, visit, StatusCode::CONFLICT, &current, &form, &[], true).await
        }
        Err(error) => Err(error.into()),
    }
}
