//! Consent discussions through the API: a provider records the evidence that it discussed the
//! person's choices about their information with them
//! (`POST /api/v1/people/{id}/consent-discussions`), and reads its discussions back with the
//! person's answer — confirmed, disputed (with their words) or still awaited
//! (`GET /api/v1/people/{id}/consent-discussions`, `GET /api/v1/consent-discussions`). The
//! person answers in the portal. An organisation sees only its own discussions, and only with
//! people it supports now.

use carefront_shared::store::prelude::*;
use std::collections::BTreeMap;

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::Grant;
use carefront_shared::context::RequestContext;
use carefront_shared::discussion::{self, Discussion, DiscussionEntry, DiscussionProblem, Method, Participant, Recording, Role, Status, Topic};
use carefront_shared::domain::AuditEvent;
use carefront_shared::notices;
use carefront_shared::plan::Recorder;
use carefront_shared::problem::Problem;
use carefront_shared::store::discussion::record_discussion;
use carefront_shared::store::support::{DiscussionAfter, SupportedDiscussion, walk_pages};
use carefront_shared::store::time_text;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::access::{ask_support, event_id, log, support_permit};
use crate::auth::Caller;
use crate::body;
use crate::failure::{ApiError, InvalidParam, Stored, internal, invalid};
use crate::idempotency::{self, Applied, Idempotent};
use crate::query::{self, Order, Query, bad_query, next_link, page_of, page_response};
use crate::{Request, Response};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipantInput {
    role: Role,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DiscussionInput {
    held_on: NaiveDate,
    method: Method,
    participants: Vec<ParticipantInput>,
    covered: Vec<Topic>,
    decisions: String,
    persons_words: String,
}

fn members() -> Vec<body::Member> {
    vec![
        body::required::<NaiveDate>("heldOn"),
        body::required::<Method>("method"),
        body::required::<Vec<ParticipantInput>>("participants"),
        body::required::<Vec<Topic>>("covered"),
        body::required::<String>("decisions"),
        body::required::<String>("personsWords"),
    ]
}

/// Where `Discussion::check`'s problems are in the API's body.
fn field_of(problem: &DiscussionProblem) -> (&'static str, &'static str) {
    match problem {
        DiscussionProblem::BadDate => ("heldOn", "heldOn must be a date in the last ten years, not in the future."),
        DiscussionProblem::NoPerson => ("participants", "participants must include the person (role person), or who spoke for them (family or advocate)."),
        DiscussionProblem::BadParticipant => ("participants", "Every participant needs a name of up to 100 characters."),
        DiscussionProblem::NothingCovered => ("covered", "covered must list at least one topic."),
        DiscussionProblem::BadText("decisions") => ("decisions", "decisions must be 1 to 4,000 characters."),
        DiscussionProblem::BadText(_) => ("personsWords", "personsWords must be 1 to 4,000 characters: the person's own words."),
        DiscussionProblem::TooManyParticipants => ("participants", "List at most 20 participants."),
    }
}

/// Who answered, as the provider is told: the person, or someone acting for them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum AnsweredBy {
    Person,
    Representative,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DiscussionView {
    id: String,
    person_id: String,
    organisation_id: String,
    held_on: NaiveDate,
    method: Method,
    participants: Vec<Participant>,
    covered: Vec<Topic>,
    decisions: String,
    persons_words: String,
    recorded_at: DateTime<Utc>,
    /// The person's answer: awaiting, confirmed or disputed.
    status: Status,
    /// What they said (always when disputed).
    response: Option<String>,
    answered_by: Option<AnsweredBy>,
    responded_at: Option<DateTime<Utc>>,
    version: i64,
}

impl From<Discussion> for DiscussionView {
    fn from(discussion: Discussion) -> DiscussionView {
        let answered_by = discussion.responded_at.map(|_| if discussion.acting_for.is_some() { AnsweredBy::Representative } else { AnsweredBy::Person });
        DiscussionView {
            id: discussion.id,
            person_id: discussion.person_id,
            organisation_id: discussion.organisation_id,
            held_on: discussion.held_on,
            method: discussion.method,
            participants: discussion.participants,
            covered: discussion.covered,
            decisions: discussion.decisions,
            persons_words: discussion.persons_words,
            recorded_at: discussion.recorded_at,
            status: discussion.status,
            response: discussion.response,
            answered_by,
            responded_at: discussion.responded_at,
            version: discussion.version,
        }
    }
}

/// The organisation's discussion with `id` about the person, if there is one.
async fn own_discussion(context: &RequestContext<'_>, caller: &Caller, person_id: &str, id: &str) -> Result<Option<Discussion>, ApiError> {
    let found = context.store.discussion(person_id, id).await.or_problem(context)?;
    Ok(found.filter(|discussion| discussion.organisation_id == caller.organisation.id))
}

/// POST /api/v1/people/{id}/consent-discussions: the evidence of one discussion, as held.
pub async fn record(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let key = idempotency::key(request)?;
    let body = body::json_value(request)?;
    let input: DiscussionInput = body::read(&body, &members())?;
    let permit = ask_support(context, caller, person_id).await?;
    let idempotent = Idempotent::new(key, request, &body);
    let earlier = idempotent.earlier(context, caller).await?;
    if let Some(id) = &earlier
        && let Some(discussion) = own_discussion(context, caller, person_id, id).await?
    {
        return Ok(idempotency::replayed(&DiscussionView::from(discussion)));
    }
    // A claim with nothing made under it (left by a write from before writes were one batch) is
    // finished under its id; otherwise the key is claimed in the same batch as the discussion.
    let claim = earlier.is_none().then(|| idempotent.claim(context, caller, None));
    let id = claim.as_ref().map(|claim| claim.resource_id.clone()).or(earlier).unwrap_or_default();
    let entry = DiscussionEntry {
        held_on: input.held_on,
        method: input.method,
        participants: input.participants.into_iter().map(|participant| Participant { role: participant.role, name: participant.name }).collect(),
        covered: input.covered,
        decisions: input.decisions,
        persons_words: input.persons_words,
    };
    let recorded_by = caller.actor().person_id;
    let recording = Recording { id: &id, person_id, organisation_id: &caller.organisation.id, recorded_by: &recorded_by, now: context.now };
    let discussion = match entry.into_discussion(recording) {
        Ok(discussion) => discussion,
        Err(problem) => {
            let (name, reason) = field_of(&problem);
            return Err(invalid(StatusCode::UNPROCESSABLE_ENTITY, vec![InvalidParam::new(name, reason)]));
        }
    };
    let detail = discussion::recorded_detail(&caller.described(), discussion.held_on);
    let event = permit.overall_event(event_id(context), AuditAction::DiscussionRecorded, detail);
    // The store's own key (namespaced, so keys recorded elsewhere never meet the API's) keeps
    // the insert itself idempotent too. The claim, the discussion and its line in the access
    // log: all of them, or none.
    let store_key = format!("api:{}", idempotent.key());
    // The person (and whoever acts for them) is told in the same plan; a replay's plan is
    // refused whole, so it queues nothing twice.
    let told = notices::discussion::discussion_to_confirm(context.store, &discussion, &context.config.origin, context.now, context.random)
        .await
        .or_problem(context)?;
    let recorder = Recorder::new();
    if let Some(claim) = &claim {
        recorder.store().claim_new_idempotency_key(claim).await.or_problem(context)?;
    }
    record_discussion(&recorder, &discussion, Some(&store_key), &event).await.or_problem(context)?;
    notices::queue(&recorder, &told).await.or_problem(context)?;
    match idempotent.apply(context, caller, &recorder.into_plan()).await? {
        Applied::Done => Ok(idempotency::created(&DiscussionView::from(discussion))),
        Applied::Replay(id) => match own_discussion(context, caller, person_id, &id).await? {
            Some(existing) => Ok(idempotency::replayed(&DiscussionView::from(existing))),
            None => Err(internal("an idempotency key won by a discussion names no discussion of this organisation's")),
        },
        Applied::Refused(error) => Err(error).or_problem(context),
    }
}

/// Newest held first, then newest recorded.
/// Where a page of the organisation's discussions starts: the last one shown.
struct Key {
    held_on: String,
    recorded_at: String,
    id: String,
}

impl Key {
    fn of(discussion: &Discussion) -> Key {
        Key { held_on: discussion.held_on.format("%Y-%m-%d").to_string(), recorded_at: time_text(discussion.recorded_at), id: discussion.id.clone() }
    }

    fn after(&self) -> DiscussionAfter<'_> {
        DiscussionAfter { held_on: &self.held_on, recorded_at: &self.recorded_at, id: &self.id }
    }
}

/// The key a cursor of the organisation's discussions names ([`discussion_key`]'s text).
fn split_key(text: &str) -> Result<Key, Problem> {
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(held_on), Some(recorded_at), Some(id)) => Ok(Key { held_on: held_on.to_owned(), recorded_at: recorded_at.to_owned(), id: id.to_owned() }),
        _ => Err(bad_query("bad-cursor", "The cursor is not valid", "Use the next link of the previous page as it is.")),
    }
}

fn discussion_key(discussion: &Discussion) -> String {
    format!("{}|{}|{}", discussion.held_on.format("%Y-%m-%d"), time_text(discussion.recorded_at), discussion.id)
}

/// GET /api/v1/people/{id}/consent-discussions: the organisation's discussions with the person.
pub async fn for_person(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["limit", "cursor"])?;
    let (limit, after) = (query.limit()?, query.cursor("discussions")?);
    let permit = ask_support(context, caller, person_id).await?;
    let own: Vec<Discussion> = context
        .store
        .discussions(person_id)
        .await
        .or_problem(context)?
        .into_iter()
        .filter(|discussion| discussion.organisation_id == caller.organisation.id)
        .collect();
    let (page, next) = page_of(own, discussion_key, Order::Descending, after.as_deref(), limit);
    let detail = format!("{} read the consent discussions it recorded with you, and your answers.", caller.described());
    log(context, &[permit.overall_event(event_id(context), AuditAction::DiscussionsRead, detail)]).await?;
    let next = next.map(|key| next_link(&format!("/api/v1/people/{person_id}/consent-discussions"), &[], limit, &query::encode_cursor("discussions", &key)));
    Ok(page_response(page.into_iter().map(DiscussionView::from).collect(), next))
}

/// GET /api/v1/consent-discussions?status=&since=: the organisation's discussions with the
/// people it supports now, held on or after `since` (default: ten years back), newest first.
pub async fn for_organisation(context: &RequestContext<'_>, request: &Request, caller: &Caller) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["status", "since", "limit", "cursor"])?;
    let (limit, after) = (query.limit()?, query.cursor("organisation-discussions")?);
    let status = match query.get("status") {
        None => None,
        Some(text) => {
            Some(Status::parse(text).ok_or_else(|| bad_query("bad-status", "The status is not valid", "status must be awaiting, confirmed or disputed."))?)
        }
    };
    let since = match query.get("since") {
        None => context.now.date_naive() - Duration::days(3660),
        Some(text) => {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad_query("bad-date", "The date is not valid", "since must be a date like 2026-01-31."))?
        }
    };
    // One query a page joins the organisation's live grants to its discussions; the consent
    // decision then judges each from the grants its row came with.
    let start = after.as_deref().map(split_key).transpose()?;
    let organisation = &caller.organisation.id;
    let fetch = |after: Option<Key>, batch| async move {
        context.store.supported_discussions_page(organisation, context.now, status, since, after.as_ref().map(Key::after), batch).await
    };
    let keep = |row: &SupportedDiscussion| support_permit(context, caller, &row.discussion.person_id, &row.grants).is_some();
    let (rows, more) = walk_pages(start, limit, fetch, |row: &SupportedDiscussion| Key::of(&row.discussion), keep).await.or_problem(context)?;
    let shown: Vec<(Discussion, Vec<Grant>)> = rows.into_iter().map(|row| (row.discussion, row.grants)).collect();
    let next = shown.last().filter(|_| more).map(|(discussion, _)| discussion_key(discussion));
    log(context, &read_events(context, caller, &shown)).await?;
    let page: Vec<Discussion> = shown.into_iter().map(|(discussion, _)| discussion).collect();
    let mut params = Vec::new();
    if let Some(status) = status {
        params.push(("status", status.as_str().to_owned()));
    }
    params.push(("since", since.format("%Y-%m-%d").to_string()));
    let next = next.map(|key| next_link("/api/v1/consent-discussions", &params, limit, &query::encode_cursor("organisation-discussions", &key)));
    Ok(page_response(page.into_iter().map(DiscussionView::from).collect(), next))
}

/// One event per person whose discussions are on the page, each on the grants their rows came
/// with.
fn read_events(context: &RequestContext<'_>, caller: &Caller, page: &[(Discussion, Vec<Grant>)]) -> Vec<AuditEvent> {
    let people: BTreeMap<&str, &[Grant]> = page.iter().map(|(discussion, grants)| (discussion.person_id.as_str(), grants.as_slice())).collect();
    people
        .into_iter()
        .filter_map(|(person_id, grants)| {
            let permit: Permit = support_permit(context, caller, person_id, grants)?;
            let detail = format!("{} read the consent discussions it recorded with you, and your answers.", caller.described());
            Some(permit.overall_event(event_id(context), AuditAction::DiscussionsRead, detail))
        })
        .collect()
}
