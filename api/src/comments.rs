//! People's comments on their record and their requests to correct it, for the organisations
//! that keep it: `GET /api/v1/comments?status=open` (on the people the organisation supports,
//! about the parts of their record it may see) and
//! `POST /api/v1/people/{id}/comments/{comment}/answer` (answered, corrected or declined, with
//! what the organisation says; optimistic concurrency on the comment's version: 409 if someone
//! answered first). Only an organisation that may contribute to the comment's category answers
//! it. Every answer is kept: the comment shows its whole history, and so does the portal.

use carefront_shared::store::prelude::*;
use std::collections::BTreeMap;

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::comments::{self, AnswerRecord, Comment, CommentKind, CommentProblem, CommentStatus};
use carefront_shared::consent::{Action, Category, Grant};
use carefront_shared::context::RequestContext;
use carefront_shared::notices;
use carefront_shared::plan::Recorder;
use carefront_shared::problem::Problem;
use carefront_shared::store::support::{CommentAfter, CommentOrder, SupportedComment, walk_pages};
use carefront_shared::store::time_text;
use carefront_shared::store::voice::{Answer, record_answer};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::access::{event_id, grants_for, grounded, log};
use crate::auth::Caller;
use crate::body::{self, Checks};
use crate::failure::{ApiError, Stored, not_found};
use crate::idempotency::{self, Applied, Idempotent};
use crate::query::{self, Query, bad_query, next_link, page_response};
use crate::{Request, Response, json};

/// One answer in a comment's history.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AnswerView {
    status: CommentStatus,
    response: String,
    responded_by: String,
    responded_at: DateTime<Utc>,
    /// The comment's version this answer made.
    version: i64,
}

impl From<AnswerRecord> for AnswerView {
    fn from(answer: AnswerRecord) -> AnswerView {
        AnswerView {
            status: answer.status,
            response: answer.response,
            responded_by: answer.responded_by,
            responded_at: answer.responded_at,
            version: answer.version,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CommentView {
    id: String,
    person_id: String,
    category: Category,
    entry_id: Option<String>,
    /// The entry as the author saw it ("Visit on 3 November at 08:00").
    entry_label: String,
    kind: CommentKind,
    body: String,
    author_name: String,
    /// Whether someone acting for the person wrote it.
    on_behalf: bool,
    created_at: DateTime<Utc>,
    status: CommentStatus,
    response: Option<String>,
    responded_by: Option<String>,
    responded_at: Option<DateTime<Utc>>,
    /// Name it when answering.
    version: i64,
    /// Every answer, oldest first (the latest is also in status, response, respondedBy and
    /// respondedAt).
    answers: Vec<AnswerView>,
    /// Where to POST the answer.
    answer_href: String,
}

impl CommentView {
    /// The comment and its answers (from every answer to the person's comments, oldest first).
    fn new(comment: Comment, answers: &[AnswerRecord]) -> CommentView {
        let answers = answers.iter().filter(|answer| answer.comment_id == comment.id).cloned().map(AnswerView::from).collect();
        CommentView {
            answers,
            answer_href: format!("/api/v1/people/{}/comments/{}/answer", comment.person_id, comment.id),
            on_behalf: comment.acting_for.as_ref().is_some_and(|whom| *whom != comment.author_id),
            id: comment.id,
            person_id: comment.person_id,
            category: comment.category,
            entry_id: comment.entry_id,
            entry_label: comment.entry_label,
            kind: comment.kind,
            body: comment.body,
            author_name: comment.author_name,
            created_at: comment.created_at,
            status: comment.status,
            response: comment.response,
            responded_by: comment.responded_by,
            responded_at: comment.responded_at,
            version: comment.version,
        }
    }
}

/// The comment as it is now, with its answers.
async fn current_view(context: &RequestContext<'_>, person_id: &str, comment_id: &str) -> Result<Option<CommentView>, ApiError> {
    let Some(comment) = context.store.comment(person_id, comment_id).await.or_problem(context)? else { return Ok(None) };
    let answers = context.store.comment_answers(person_id).await.or_problem(context)?;
    Ok(Some(CommentView::new(comment, &answers)))
}

/// A comment's place in the newest-first list: its time as stored, then its id (a cursor's key
/// is `time|id`).
struct Key {
    created_at: String,
    id: String,
}

impl Key {
    fn of(comment: &Comment) -> Key {
        Key { created_at: time_text(comment.created_at), id: comment.id.clone() }
    }

    fn after(&self) -> CommentAfter<'_> {
        CommentAfter { created_at: &self.created_at, id: &self.id }
    }

    fn text(&self) -> String {
        format!("{}|{}", self.created_at, self.id)
    }
}

/// The key a comments cursor names.
fn split_key(text: &str) -> Result<Key, Problem> {
    let (created_at, id) =
        text.split_once('|').ok_or_else(|| bad_query("bad-cursor", "The cursor is not valid", "Use the next link of the previous page as it is."))?;
    Ok(Key { created_at: created_at.to_owned(), id: id.to_owned() })
}

/// GET /api/v1/comments?status=: comments and correction requests on the people the
/// organisation supports, about parts of their record it may see, newest first.
pub async fn list(context: &RequestContext<'_>, request: &Request, caller: &Caller) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["status", "limit", "cursor"])?;
    let (limit, after) = (query.limit()?, query.cursor("comments")?);
    let status = match query.get("status") {
        None => None,
        Some(text) => Some(
            CommentStatus::parse(text)
                .ok_or_else(|| bad_query("bad-status", "The status is not valid", "status must be open, answered, corrected or declined."))?,
        ),
    };
    // One query a page joins the organisation's live grants to the comments; the consent
    // decision then judges each comment from the grants its row came with.
    let actor = caller.actor();
    let start = after.as_deref().map(split_key).transpose()?;
    let organisation = &caller.organisation.id;
    let fetch = |after: Option<Key>, batch| async move {
        context.store.supported_comments_page(organisation, context.now, status, CommentOrder::NewestFirst, after.as_ref().map(Key::after), batch).await
    };
    let keep = |row: &SupportedComment| {
        Permit::ask(&actor, &row.comment.person_id, Action::View, row.comment.category, &row.grants, context.now)
            .is_ok_and(|permit| comments::visible_under(&permit, &row.comment) && status.is_none_or(|status| row.comment.status == status))
    };
    let (rows, more) = walk_pages(start, limit, fetch, |row: &SupportedComment| Key::of(&row.comment), keep).await.or_problem(context)?;
    let shown: Vec<(Comment, Vec<Grant>)> = rows.into_iter().map(|row| (row.comment, row.grants)).collect();
    let next = shown.last().filter(|_| more).map(|(comment, _)| Key::of(comment).text());
    let mut by_person: BTreeMap<&str, Vec<&(Comment, Vec<Grant>)>> = BTreeMap::new();
    for shown in &shown {
        by_person.entry(shown.0.person_id.as_str()).or_default().push(shown);
    }
    let mut events = Vec::new();
    let mut answers: BTreeMap<String, Vec<AnswerRecord>> = BTreeMap::new();
    for (person_id, comments) in by_person {
        // The event names the grounds of exactly the categories on the page, decided over the
        // grants the person's rows came with.
        let categories: Vec<Category> = comments.iter().map(|(comment, _)| comment.category).collect();
        let grants = comments.first().map_or(&[][..], |(_, grants)| grants.as_slice());
        let permit = Permit::ask_each(&actor, person_id, Action::View, &categories, grants, context.now).map_err(|_| not_found())?;
        let detail = format!("{} read your comments and correction requests ({}).", caller.described(), comments.len());
        events.push(permit.overall_event(event_id(context), AuditAction::CommentsRead, detail));
        answers.insert(person_id.to_owned(), context.store.comment_answers(person_id).await.or_problem(context)?);
    }
    let page: Vec<Comment> = shown.into_iter().map(|(comment, _)| comment).collect();
    log(context, &events).await?;
    let params: Vec<(&str, String)> = status.map(|status| ("status", status.as_str().to_owned())).into_iter().collect();
    let next = next.map(|key| next_link("/api/v1/comments", &params, limit, &query::encode_cursor("comments", &key)));
    let items: Vec<CommentView> = page
        .into_iter()
        .map(|comment| {
            let answers = answers.get(&comment.person_id).map_or(&[][..], Vec::as_slice);
            CommentView::new(comment, answers)
        })
        .collect();
    Ok(page_response(items, next))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerInput {
    version: i64,
    status: CommentStatus,
    response: String,
}

fn members() -> Vec<body::Member> {
    vec![body::required::<i64>("version"), body::required::<CommentStatus>("status"), body::required::<String>("response")]
}

/// The comment, if the organisation may answer it, and its leave to ([`comments::leave_to_answer`]:
/// only an organisation that may contribute to the comment's category). The council answers
/// under its statutory duty (Care Act 2014) in the same way, through its statutory-duty grant,
/// when that grant lets it contribute to the category; statutory access to review a record
/// (view, as the demo's council grant has) reads, and leaves answering to the organisation that
/// keeps that part of the record. Anything else is 404, like every write the caller may not make.
async fn answerable_comment(context: &RequestContext<'_>, caller: &Caller, person_id: &str, comment_id: &str) -> Result<(Comment, Permit), ApiError> {
    let grants = grants_for(context, person_id).await?;
    let comment = context.store.comment(person_id, comment_id).await.or_problem(context)?.ok_or_else(not_found)?;
    let permit = comments::leave_to_answer(&caller.actor(), &comment, &grants, context.now).map_err(|_| not_found())?;
    Ok((comment, permit))
}

/// POST /api/v1/people/{id}/comments/{comment}/answer.
pub async fn answer(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str, comment_id: &str) -> Result<Response, ApiError> {
    let key = idempotency::key(request)?;
    let body = body::json_value(request)?;
    let input: AnswerInput = body::read(&body, &members())?;
    let (comment, permit) = answerable_comment(context, caller, person_id, comment_id).await?;
    let idempotent = Idempotent::new(key, request, &body);
    if idempotent.earlier(context, caller).await?.is_some_and(|id| id == comment.id) {
        let current = current_view(context, person_id, &comment.id).await?.ok_or_else(not_found)?;
        return Ok(idempotency::replayed(&current));
    }
    let mut checks = Checks::default();
    checks.require(input.version >= 1, "version", "version must be the comment's version as you read it.");
    let checked = comments::check_answer(input.status, &input.response);
    for problem in checked.as_ref().err().into_iter().flatten() {
        match problem {
            CommentProblem::StillOpen => checks.require(false, "status", "status must be answered, corrected or declined."),
            CommentProblem::BadText => checks.require(false, "response", "response must be 1 to 2,000 characters: what you say to the person."),
        }
    }
    checks.finish()?;
    let response = checked.unwrap_or_default();

    // One plan: the answer (stopped inside the batch if the comment moved on from the version
    // answered: of two answers to one version, one is saved), its place in the comment's
    // history, the key's claim and the line in the access log.
    let answer = Answer { status: input.status, response, responded_by: &caller.organisation.name };
    let detail = comments::answered_detail(&caller.described(), comment.kind, input.status);
    let event = grounded(permit.event(event_id(context), AuditAction::CommentAnswered, comment.category, detail))?;
    let told = notices::comment_answered(context.store, &comment, &context.config.origin, context.now, context.random).await.or_problem(context)?;
    let recorder = Recorder::new();
    record_answer(&recorder, &comment, input.version, &answer, &event, context.now).await.or_problem(context)?;
    notices::queue(&recorder, &told).await.or_problem(context)?;
    recorder.store().claim_new_idempotency_key(&idempotent.claim(context, caller, Some(&comment.id))).await.or_problem(context)?;
    let applied = idempotent.apply(context, caller, &recorder.into_plan()).await?;
    let current = current_view(context, person_id, &comment.id).await?;
    match applied {
        Applied::Done => Ok(json(StatusCode::OK, &current.ok_or_else(not_found)?)),
        // A retry of this same answer racing it: the answer it saved.
        Applied::Replay(_) => Ok(idempotency::replayed(&current.ok_or_else(not_found)?)),
        Applied::Refused(_) => {
            let problem = Problem::new(StatusCode::CONFLICT).with_type("version-conflict", "The comment changed since you read it").with_detail(
                "Someone answered this comment since the version you named. Nothing was saved: see current, and answer again if you still need to.",
            );
            Err(ApiError::from(problem).with("current", current))
        }
    }
}
