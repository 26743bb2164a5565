//! Comments and corrections: the person, and anyone granted "contribute" on a category, add a
//! comment to any entry or ask for it to be corrected, and follow its status. Organisations that
//! may contribute to the category answer them (through the API); every answer is kept, and the
//! list shows them all, oldest first.

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::comments::{self, AnswerRecord, Comment, CommentKind, CommentStatus};
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::Person;
use carefront_shared::plan::Recorder;
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use http::StatusCode;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::care::{actor, ask_permit};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// The categories a comment can be about (the record pages; not the access log).
const COMMENTABLE: [Category; 7] = [
    Category::CarePlan,
    Category::ServiceUserGuide,
    Category::Medication,
    Category::VisitsAndNotes,
    Category::Contacts,
    Category::Documents,
    Category::Preferences,
];

/// The category a comment is about, as a thing: "the care plan" (`category_names` owns the words).
pub(crate) fn category_words(category: Category) -> &'static str {
    crate::category_names::the(category)
}

/// The entry a comment is about, looked up in the subject's own record (never taken from the
/// form): its label, or 404 if the subject has no such entry in that category.
async fn entry_label(context: &RequestContext<'_>, permit: &Permit, category: Category, entry: Option<&str>) -> Result<String, PortalError> {
    let Some(entry) = entry.filter(|entry| !entry.is_empty()) else { return Ok(String::new()) };
    let label = match category {
        Category::Medication => context.store.medicines(permit).await?.into_iter().find(|medicine| medicine.id == entry).map(|medicine| medicine.name),
        Category::VisitsAndNotes => context.store.visit(permit, entry).await?.map(|visit| format!("The visit on {}", uk_time::day_and_time(visit.starts_at))),
        Category::Documents => context.store.document(permit, entry).await?.map(|(document, _)| document.title),
        _ => None,
    };
    label.ok_or(PortalError::NotFound)
}

fn parse_category(text: Option<&str>) -> Result<Category, PortalError> {
    text.and_then(Category::parse).filter(|category| COMMENTABLE.contains(category)).ok_or_else(|| PortalError::BadRequest("unknown category".into()))
}

/// The reader's leave to add to this category of the subject's record (404 without it).
async fn may_contribute(context: &RequestContext<'_>, reader: &Person, subject_id: &str, category: Category) -> Result<Permit, PortalError> {
    ask_permit(context, reader, subject_id, Action::Contribute, category).await
}

async fn subject_name(context: &RequestContext<'_>, reader: &Person, subject_id: &str) -> Result<String, PortalError> {
    if reader.id == subject_id {
        return Ok(reader.display_name.clone());
    }
    Ok(context.store.person(subject_id).await?.ok_or(PortalError::NotFound)?.display_name)
}

/// GET /people/{id}/comments/new?category=…&entry=…: the form.
pub async fn new_page(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let category = parse_category(web::query_param(request, "category").as_deref())?;
    let permit = may_contribute(context, reader, subject_id, category).await?;
    let entry = web::query_param(request, "entry").filter(|entry| !entry.is_empty());
    let label = entry_label(context, &permit, category, entry.as_deref()).await?;
    let name = subject_name(context, reader, subject_id).await?;
    let form = context! { category => category.as_str(), entry, kind => "comment", body => "" };
    render_form(context, visit, StatusCode::OK, subject_id, &name, reader.id == subject_id, category, &label, form, None)
}

#[allow(clippy::too_many_arguments)]
fn render_form(
    context: &RequestContext<'_>,
    visit: &Visit,
    status: StatusCode,
    subject_id: &str,
    name: &str,
    own: bool,
    category: Category,
    label: &str,
    form: Value,
    error: Option<&str>,
) -> Result<Response, PortalError> {
    let about = if label.is_empty() { category_words(category).to_owned() } else { label.to_owned() };
    let back = crate::record::slug(category).map_or_else(|| format!("/people/{subject_id}/comments"), |slug| format!("/people/{subject_id}/{slug}"));
    let subject = context! { id => subject_id, name, own };
    page_with_status(context, visit, status, "comment_new.html", context! { current => "home", subject, about, form, error, back })
}

#[derive(Deserialize)]
struct NewComment {
    category: String,
    #[serde(default)]
    entry: String,
    kind: String,
    body: String,
}

/// POST /people/{id}/comments: keeps the comment and shows the list.
pub async fn add(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let form: NewComment = web::form(request)?;
    let category = parse_category(Some(&form.category))?;
    let permit = may_contribute(context, reader, subject_id, category).await?;
    let entry = Some(form.entry.as_str()).filter(|entry| !entry.is_empty());
    let label = entry_label(context, &permit, category, entry).await?;
    let kind = CommentKind::parse(&form.kind).ok_or_else(|| PortalError::BadRequest("unknown comment kind".into()))?;
    let body = match comments::check_text(&form.body) {
        Ok(body) => body.to_owned(),
        Err(_) => {
            let name = subject_name(context, reader, subject_id).await?;
            let shown = context! { category => category.as_str(), entry, kind => kind.as_str(), body => form.body };
            let error = "Write your comment, in up to 2,000 characters";
            return render_form(context, visit, StatusCode::BAD_REQUEST, subject_id, &name, reader.id == subject_id, category, &label, shown, Some(error));
        }
    };
    let acting_for = (reader.id != subject_id).then(|| subject_id.to_owned());
    let comment = Comment {
        id: new_id(context.random),
        person_id: subject_id.to_owned(),
        category,
        entry_id: entry.map(str::to_owned),
        entry_label: label.clone(),
        kind,
        body,
        author_id: reader.id.clone(),
        author_name: reader.display_name.clone(),
        acting_for: acting_for.clone(),
        created_at: context.now,
        status: CommentStatus::Open,
        response: None,
        responded_by: None,
        responded_at: None,
        version: 1,
    };
    let about = if label.is_empty() { category_words(category).to_owned() } else { label };
    let what = if kind == CommentKind::Correction { "asked for a correction to" } else { "commented on" };
    let event = permit
        .event(new_id(context.random), AuditAction::CommentAdded, category, format!("{what} {about}"))
        .map_err(|error| PortalError::Internal(error.to_string()))?;
    // The comment and its line in the access log: both, or neither.
    let recorder = Recorder::new();
    recorder.store().insert_comment(&comment).await?;
    recorder.store().append_audit(&event).await?;
    context.store.apply(&recorder.into_plan()).await?;
    Ok(web::redirect_to(&format!("/people/{subject_id}/comments?done=sent")))
}

/// How a comment's status is shown: its words and its tag's colour.
pub(crate) fn status_words(status: CommentStatus) -> (&'static str, &'static str) {
    match status {
        CommentStatus::Open => ("Waiting for an answer", "govuk-tag--yellow"),
        CommentStatus::Answered => ("Answered", "govuk-tag--blue"),
        CommentStatus::Corrected => ("Corrected", "govuk-tag--green"),
        CommentStatus::Declined => ("Not changed", "govuk-tag--grey"),
    }
}

/// Every answer to the comment, oldest first (newest last): who answered, when, and what they
/// said. An answer never replaces an earlier one, so the person sees the whole exchange.
pub(crate) fn answer_history(answers: &[AnswerRecord], comment_id: &str) -> Vec<Value> {
    answers
        .iter()
        .filter(|answer| answer.comment_id == comment_id)
        .map(|answer| {
            context! {
                by => answer.responded_by.clone(),
                when => uk_time::day_and_time(answer.responded_at),
                status => status_words(answer.status).0,
                response => answer.response.clone(),
            }
        })
        .collect()
}

/// GET /people/{id}/comments: the comments the reader may see (the person: all of them;
/// others: those on categories they may see, and their own), newest first, with their status.
pub async fn list(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let own = reader.id == subject_id;
    let grants = context.store.grants_for_subject(subject_id).await?;
    let permit = Permit::ask_each(&actor(reader), subject_id, Action::View, &COMMENTABLE, &grants, context.now).map_err(|_| PortalError::NotFound)?;
    let visible = |category: Category| permit.covers(category);
    let name = subject_name(context, reader, subject_id).await?;
    let answers = context.store.comment_answers(subject_id).await?;
    let items: Vec<Value> = context
        .store
        .comments(subject_id)
        .await?
        .into_iter()
        .filter(|comment| visible(comment.category) || comment.author_id == reader.id)
        .map(|comment| {
            let (status, tag) = status_words(comment.status);
            let about = if comment.entry_label.is_empty() { category_words(comment.category).to_owned() } else { comment.entry_label.clone() };
            context! {
                kind => if comment.kind == CommentKind::Correction { "Correction asked for" } else { "Comment" },
                about, body => comment.body, status, tag,
                by => if comment.author_id == reader.id { "you".to_owned() } else { comment.author_name.clone() },
                when => uk_time::day(comment.created_at),
                answers => answer_history(&answers, &comment.id),
            }
        })
        .collect();
    let event = permit.overall_event(new_id(context.random), AuditAction::CommentsViewed, "looked at the comments and corrections");
    context.store.append_audit(&event).await?;
    let notice = web::query_param(request, "done").filter(|done| done == "sent").map(|_| "Sent. The care provider will answer; you will see the answer here.");
    let subject = context! { id => subject_id, name, own };
    page_with_status(context, visit, StatusCode::OK, "comments.html", context! { current => "home", subject, items, notice })
}
