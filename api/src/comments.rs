//! People's comments on their record and their requests to correct it, for the organisations
//! that keep it: `GET /api/v1/comments?status=open` (on the people the organisation supports,
//! about the parts of their record it may see) and
//! `POST /api/v1/people/{id}/comments/{comment}/answer` (answered, corrected or declined, with
//! what the organisation says; optimistic concurrency on the comment's version: 409 if someone
//! answered first). The person sees the answer in the portal.

use std::collections::BTreeMap;

use carefront_shared::comments::{Comment, CommentKind, CommentStatus, check_text};
use carefront_shared::consent::{Action, Allowed, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::problem::Problem;
use carefront_shared::store::time_text;
use carefront_shared::store::voice::{Answer, CommentAnswer};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::access::{basis, decide, event, grants_for, log, organisation_grants};
use crate::auth::Caller;
use crate::body::{self, Checks};
use crate::failure::{ApiError, Stored, not_found};
use crate::idempotency::{self, Idempotent};
use crate::query::{self, Order, Query, bad_query, next_link, page_of, page_response};
use crate::{Request, Response, json};

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
    /// Where to POST the answer.
    answer_href: String,
}

impl From<Comment> for CommentView {
    fn from(comment: Comment) -> CommentView {
        CommentView {
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
    let (grants, subjects) = organisation_grants(context, caller).await?;
    let mut shown: Vec<(Comment, Allowed)> = Vec::new();
    for subject in &subjects {
        for comment in context.store.comments(subject).await.or_problem(context)? {
            if status.is_some_and(|status| comment.status != status) {
                continue;
            }
            if let Some(allowed) = decide(caller, subject, Action::View, comment.category, &grants, context.now) {
                shown.push((comment, allowed));
            }
        }
    }
    let key = |(comment, _): &(Comment, Allowed)| format!("{}|{}", time_text(comment.created_at), comment.id);
    let (page, next) = page_of(shown, key, Order::Descending, after.as_deref(), limit);
    let mut by_person: BTreeMap<&str, Vec<&(Comment, Allowed)>> = BTreeMap::new();
    for entry in &page {
        by_person.entry(entry.0.person_id.as_str()).or_default().push(entry);
    }
    let events: Vec<_> = by_person
        .into_iter()
        .map(|(person_id, entries)| {
            let allowed: Vec<String> = entries.iter().map(|(_, allowed)| basis(allowed)).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let detail = format!("{} read your comments and correction requests ({}).", caller.described(), entries.len());
            event(context, caller, person_id, "api.comments_read", None, allowed.join(", "), detail)
        })
        .collect();
    log(context, &events).await?;
    let params: Vec<(&str, String)> = status.map(|status| ("status", status.as_str().to_owned())).into_iter().collect();
    let next = next.map(|key| next_link("/api/v1/comments", &params, limit, &query::encode_cursor("comments", &key)));
    Ok(page_response(page.into_iter().map(|(comment, _)| CommentView::from(comment)).collect(), next))
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

/// The comment, if the organisation may see it (it supports the person and may see the part of
/// the record the comment is about).
async fn visible_comment(context: &RequestContext<'_>, caller: &Caller, person_id: &str, comment_id: &str) -> Result<(Comment, Allowed), ApiError> {
    let grants = grants_for(context, person_id).await?;
    let comment = context.store.comment(person_id, comment_id).await.or_problem(context)?.ok_or_else(not_found)?;
    let allowed = decide(caller, person_id, Action::View, comment.category, &grants, context.now).ok_or_else(not_found)?;
    Ok((comment, allowed))
}

/// POST /api/v1/people/{id}/comments/{comment}/answer.
pub async fn answer(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str, comment_id: &str) -> Result<Response, ApiError> {
    let key = idempotency::key(request)?;
    let body = body::json_value(request)?;
    let input: AnswerInput = body::read(&body, &members())?;
    let (comment, allowed) = visible_comment(context, caller, person_id, comment_id).await?;
    let idempotent = Idempotent::new(key, request, &body);
    if idempotent.earlier(context, caller).await?.is_some_and(|id| id == comment.id) {
        return Ok(idempotency::replayed(&CommentView::from(comment)));
    }
    let mut checks = Checks::default();
    checks.require(input.status != CommentStatus::Open, "status", "status must be answered, corrected or declined.");
    checks.require(input.version >= 1, "version", "version must be the comment's version as you read it.");
    let response = check_text(&input.response);
    checks.require(response.is_ok(), "response", "response must be 1 to 2,000 characters: what you say to the person.");
    checks.finish()?;
    let response = response.unwrap_or_default();

    // The version makes the answer safe to race: of two answers to one version, one is saved.
    // The key is claimed after it, so a retry of a saved answer gets it back rather than a 409.
    let answer = Answer { status: input.status, response, responded_by: &caller.organisation.name };
    match context.store.answer_comment(person_id, &comment.id, input.version, &answer, context.now).await.or_problem(context)? {
        CommentAnswer::Saved(_) => {
            // The answer is saved whatever becomes of the key: a failure here only means a
            // retry would be told 409 with the answer as current.
            if idempotent.claim(context, caller, Some(&comment.id)).await.is_err() {
                eprintln!("carefront-api: an answer was saved but its idempotency key was not kept");
            }
            let detail = format!("{} answered your {}: {}.", caller.described(), kind_words(comment.kind), status_words(input.status));
            log(context, &[event(context, caller, person_id, "api.comment_answered", Some(comment.category), basis(&allowed), detail)]).await?;
            let saved = context.store.comment(person_id, &comment.id).await.or_problem(context)?.ok_or_else(not_found)?;
            Ok(json(StatusCode::OK, &CommentView::from(saved)))
        }
        CommentAnswer::Conflict(current) => {
            if idempotent.earlier(context, caller).await?.is_some_and(|id| id == comment.id)
                && let Some(current) = current
            {
                return Ok(idempotency::replayed(&CommentView::from(*current)));
            }
            let problem = Problem::new(StatusCode::CONFLICT).with_type("version-conflict", "The comment changed since you read it").with_detail(
                "Someone answered this comment since the version you named. Nothing was saved: see current, and answer again if you still need to.",
            );
            Err(ApiError::from(problem).with("current", current.map(|comment| CommentView::from(*comment))))
        }
    }
}

fn kind_words(kind: CommentKind) -> &'static str {
    match kind {
        CommentKind::Comment => "comment",
        CommentKind::Correction => "request for a correction",
    }
}

fn status_words(status: CommentStatus) -> &'static str {
    match status {
        CommentStatus::Open => "still open",
        CommentStatus::Answered => "answered",
        CommentStatus::Corrected => "the record was corrected",
        CommentStatus::Declined => "not corrected, with the reason given",
    }
}
