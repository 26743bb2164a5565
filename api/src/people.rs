//! The people an organisation supports: `GET /api/v1/people` (cursor pages) and
//! `GET /api/v1/people/{id}`. Who is listed, and what each shows, is decided by `decide` over the
//! grants to the caller's organisation that are live now; a person it may see nothing of does
//! not exist for it (404). Every person whose details are returned is audited: one event each,
//! in their own access log, written before the answer leaves.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use carefront_shared::consent::{self, Action, Actor, Allowed, Basis, Category, Decision, Grant, GrantState, Resource};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::AuditEvent;
use carefront_shared::problem::Problem;
use carefront_shared::random::new_id;
use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::auth::Caller;
use crate::{Request, Response, json, store_problem};

/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items a page holds.
pub const MAX_LIMIT: usize = 100;

/// What the caller may do with one category of a person's record.
#[derive(Debug, Serialize)]
struct CategoryAccess {
    category: Category,
    actions: Vec<Action>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PersonSummary {
    id: String,
    name: String,
    categories: Vec<CategoryAccess>,
    href: String,
}

#[derive(Debug, Serialize)]
struct PeoplePage {
    items: Vec<PersonSummary>,
    next: Option<String>,
}

/// One live grant to the organisation, as its system sees it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GrantView {
    grant_id: String,
    basis: Basis,
    categories: BTreeSet<Category>,
    actions: BTreeSet<Action>,
    purpose: String,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PersonDetail {
    id: String,
    name: String,
    categories: Vec<CategoryAccess>,
    grants: Vec<GrantView>,
}

/// What `decide` allows the actor for one person: per category, and the grants that allow it.
struct Access {
    categories: Vec<CategoryAccess>,
    allowed_by: BTreeSet<String>,
}

fn access_to(actor: &Actor, subject_id: &str, grants: &[Grant], now: DateTime<Utc>) -> Access {
    let mut categories = Vec::new();
    let mut allowed_by = BTreeSet::new();
    for category in Category::ALL {
        let mut actions = Vec::new();
        for action in [Action::View, Action::Contribute] {
            if let Decision::Allow(allowed) = consent::decide(actor, subject_id, action, Resource::Category(category), grants, now) {
                actions.push(action);
                allowed_by.insert(match allowed {
                    Allowed::OwnRecord => "own_record".to_owned(),
                    Allowed::Grant { grant_id, basis } => format!("grant:{grant_id} ({})", basis.as_str()),
                });
            }
        }
        if !actions.is_empty() {
            categories.push(CategoryAccess { category, actions });
        }
    }
    Access { categories, allowed_by }
}

fn audit(context: &RequestContext<'_>, caller: &Caller, subject_id: &str, action: &str, allowed_by: &BTreeSet<String>, detail: String) -> AuditEvent {
    AuditEvent {
        id: new_id(context.random),
        at: context.now,
        actor_id: Some(caller.actor().person_id),
        acting_for: None,
        subject_id: Some(subject_id.to_owned()),
        action: action.to_owned(),
        category: None,
        basis: Some(allowed_by.iter().cloned().collect::<Vec<_>>().join(", ")),
        detail,
    }
}

/// The query of a page request: `limit` (1 to 100) and `cursor` (opaque), nothing else.
struct PageQuery {
    limit: usize,
    after: Option<String>,
}

fn bad_query(slug: &str, title: &str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST).with_type(slug, title).with_detail(detail)
}

impl PageQuery {
    fn parse(query: Option<&str>) -> Result<PageQuery, Problem> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
            .map_err(|_| bad_query("malformed-query", "The query string is malformed", "Use limit=N and cursor=… only."))?;
        let (mut limit, mut cursor) = (None, None);
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "limit" => &mut limit,
                "cursor" => &mut cursor,
                other => {
                    return Err(bad_query("unknown-parameter", "Unknown query parameter", format!("{other} is not a parameter here: use limit and cursor.")));
                }
            };
            if slot.replace(value).is_some() {
                return Err(bad_query("malformed-query", "The query string is malformed", format!("{name} is given twice.")));
            }
        }
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<usize>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
                _ => return Err(bad_query("bad-limit", "The limit is not valid", format!("limit must be a whole number from 1 to {MAX_LIMIT}."))),
            },
        };
        let after = cursor
            .map(|cursor| {
                decode_cursor(&cursor).ok_or_else(|| bad_query("bad-cursor", "The cursor is not valid", "Use the next link of the previous page as it is."))
            })
            .transpose()?;
        Ok(PageQuery { limit, after })
    }
}

const CURSOR_PREFIX: &str = "people:";

/// A cursor names the last person of the page (opaque to clients, stable under inserts).
fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{last_id}"))
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    text.strip_prefix(CURSOR_PREFIX).filter(|id| !id.is_empty()).map(str::to_owned)
}

/// The grants to the caller's organisation (all states: `decide` judges them).
async fn organisation_grants(context: &RequestContext<'_>, caller: &Caller) -> Result<Vec<Grant>, Problem> {
    let actor = caller.actor();
    context.store.grants_held_by(&actor.person_id, Some(&caller.organisation.id)).await.map_err(|error| store_problem(context, error))
}

/// GET /api/v1/people: the people the organisation supports, by id, one page at a time.
pub async fn list(context: &RequestContext<'_>, request: &Request, caller: &Caller) -> Result<Response, Problem> {
    let query = PageQuery::parse(request.uri().query())?;
    let grants = organisation_grants(context, caller).await?;
    let actor = caller.actor();
    let subjects: BTreeSet<&str> = grants
        .iter()
        .filter(|grant| grant.state(context.now) == GrantState::Active)
        .map(|grant| grant.subject_id.as_str())
        .filter(|subject| query.after.as_deref().is_none_or(|after| *subject > after))
        .collect();
    let (mut items, mut events, mut more) = (Vec::new(), Vec::new(), false);
    for subject_id in subjects {
        let access = access_to(&actor, subject_id, &grants, context.now);
        if access.categories.is_empty() {
            continue;
        }
        if items.len() == query.limit {
            more = true;
            break;
        }
        let Some(person) = context.store.person(subject_id).await.map_err(|error| store_problem(context, error))? else { continue };
        let detail = format!("{} saw your name, and what it may see of your record, in its list of people it supports.", caller.described());
        events.push(audit(context, caller, subject_id, "api.person_listed", &access.allowed_by, detail));
        items.push(PersonSummary { href: format!("/api/v1/people/{}", person.id), id: person.id, name: person.display_name, categories: access.categories });
    }
    context.store.append_audits(&events).await.map_err(|error| store_problem(context, error))?;
    let next = match items.last() {
        Some(last) if more => Some(format!("/api/v1/people?limit={}&cursor={}", query.limit, encode_cursor(&last.id))),
        _ => None,
    };
    let mut response = json(StatusCode::OK, &PeoplePage { items, next: next.clone() });
    if let Some(value) = next.and_then(|next| HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// GET /api/v1/people/{id}: the person's name, what the organisation may see, and the live
/// grants that allow it; 404 if it may see nothing of them (or there is no such person).
pub async fn show(context: &RequestContext<'_>, caller: &Caller, subject_id: &str) -> Result<Response, Problem> {
    let not_found = || Problem::new(StatusCode::NOT_FOUND).with_detail("There is no person with this id that your organisation supports.");
    let grants = organisation_grants(context, caller).await?;
    let access = access_to(&caller.actor(), subject_id, &grants, context.now);
    if access.categories.is_empty() {
        return Err(not_found());
    }
    let person = context.store.person(subject_id).await.map_err(|error| store_problem(context, error))?.ok_or_else(not_found)?;
    let live: Vec<GrantView> = grants
        .iter()
        .filter(|grant| grant.subject_id == subject_id && grant.state(context.now) == GrantState::Active)
        .map(|grant| GrantView {
            grant_id: grant.id.clone(),
            basis: grant.basis,
            categories: grant.categories.clone(),
            actions: grant.actions.clone(),
            purpose: grant.purpose.clone(),
            starts_at: grant.starts_at,
            ends_at: grant.ends_at,
        })
        .collect();
    let detail = format!("{} looked up your name and what it may see of your record.", caller.described());
    let event = audit(context, caller, subject_id, "api.person_viewed", &access.allowed_by, detail);
    context.store.append_audit(&event).await.map_err(|error| store_problem(context, error))?;
    Ok(json(StatusCode::OK, &PersonDetail { id: person.id, name: person.display_name, categories: access.categories, grants: live }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor("person-1")).as_deref(), Some("person-1"));
        assert_eq!(decode_cursor("not base64!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("visits:x")), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("people:")), None);
    }

    #[test]
    fn page_queries_are_strict() {
        let parsed = PageQuery::parse(None).unwrap();
        assert_eq!((parsed.limit, parsed.after), (DEFAULT_LIMIT, None));
        assert_eq!(PageQuery::parse(Some("limit=100")).unwrap().limit, 100);
        for bad in ["limit=0", "limit=101", "limit=x", "limit=1&limit=2", "sort=name", "cursor=%%%", "cursor=abc"] {
            assert!(PageQuery::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
