//! The people an organisation supports: `GET /api/v1/people` (cursor pages) and
//! `GET /api/v1/people/{id}`. Who is listed, and what each shows, is what the permits the consent
//! decision makes over the grants to the caller's organisation cover now; a person it may see nothing of does
//! not exist for it (404). Every person whose details are returned is audited: one event each,
//! in their own access log, written before the answer leaves.

use carefront_shared::store::prelude::*;
use std::collections::BTreeSet;

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::{Action, Actor, Basis, Category, Grant, GrantState, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::AuditEvent;
use carefront_shared::problem::Problem;
use carefront_shared::random::new_id;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Serialize;

use crate::auth::Caller;
use crate::query::{Query, encode_cursor, next_link, page_response};
use crate::{Request, Response, json, store_problem};

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

/// What the consent decision allows the caller for one person: per category, the actions, and
/// the permits that allow them (viewing first).
struct Access {
    categories: Vec<CategoryAccess>,
    permits: Vec<Permit>,
}

fn access_to(actor: &Actor, subject_id: &str, grants: &[Grant], now: DateTime<Utc>) -> Access {
    let permits: Vec<Permit> = [Action::View, Action::Contribute]
        .into_iter()
        .filter_map(|action| Permit::ask_each(actor, subject_id, action, &Category::ALL, grants, now).ok())
        .collect();
    let categories = Category::ALL
        .into_iter()
        .filter_map(|category| {
            let actions: Vec<Action> = permits.iter().filter(|permit| permit.covers(category)).map(Permit::action).collect();
            (!actions.is_empty()).then_some(CategoryAccess { category, actions })
        })
        .collect();
    Access { categories, permits }
}

impl Access {
    /// The audit event for showing the caller what it may see of the person: grounded in the
    /// permit to view (or, with none, to contribute).
    fn event(&self, context: &RequestContext<'_>, action: AuditAction, detail: String) -> Option<AuditEvent> {
        self.permits.first().map(|permit| permit.overall_event(new_id(context.random), action, detail))
    }
}

const CURSOR_SCOPE: &str = "people";

/// The grants about one person held by the caller's organisation (all states: the consent
/// decision judges them): read by the person, never every grant the organisation holds.
async fn organisation_grants(context: &RequestContext<'_>, caller: &Caller, subject_id: &str) -> Result<Vec<Grant>, Problem> {
    let actor = caller.actor();
    let grants = context.store.grants_for_subject(subject_id).await.map_err(|error| store_problem(context, error))?;
    Ok(grants
        .into_iter()
        .filter(|grant| match &grant.grantee {
            Grantee::Organisation(id) => *id == caller.organisation.id,
            Grantee::Person(id) => *id == actor.person_id,
        })
        .collect())
}

/// GET /api/v1/people: the people the organisation supports, by id, one page at a time. One
/// query a page joins the organisation's live grants to the people; the consent decision then
/// judges each person from the grants their row came with.
pub async fn list(context: &RequestContext<'_>, request: &Request, caller: &Caller) -> Result<Response, Problem> {
    let query = Query::parse(request.uri().query(), &["limit", "cursor"])?;
    let (limit, mut after) = (query.limit()?, query.cursor(CURSOR_SCOPE)?);
    let actor = caller.actor();
    let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    let (mut items, mut events, mut more) = (Vec::new(), Vec::new(), false);
    'pages: loop {
        let rows = context
            .store
            .supported_people_page(&caller.organisation.id, context.now, after.as_deref(), fetch)
            .await
            .map_err(|error| store_problem(context, error))?;
        let full = i64::try_from(rows.len()).is_ok_and(|count| count == fetch);
        for row in rows {
            after = Some(row.person.id.clone());
            let access = access_to(&actor, &row.person.id, &row.grants, context.now);
            if access.categories.is_empty() {
                continue;
            }
            if items.len() == limit {
                more = true;
                break 'pages;
            }
            let detail = format!("{} saw your name, and what it may see of your record, in its list of people it supports.", caller.described());
            events.extend(access.event(context, AuditAction::PersonListed, detail));
            let person = row.person;
            items.push(PersonSummary {
                href: format!("/api/v1/people/{}", person.id),
                id: person.id,
                name: person.display_name,
                categories: access.categories,
            });
        }
        // A short page means no one is left; a full one the decision thinned needs another.
        if !full {
            break;
        }
    }
    context.store.append_audits(&events).await.map_err(|error| store_problem(context, error))?;
    let next = match items.last() {
        Some(last) if more => Some(next_link("/api/v1/people", &[], limit, &encode_cursor(CURSOR_SCOPE, &last.id))),
        _ => None,
    };
    Ok(page_response(items, next))
}

/// GET /api/v1/people/{id}: the person's name, what the organisation may see, and the live
/// grants that allow it; 404 if it may see nothing of them (or there is no such person).
pub async fn show(context: &RequestContext<'_>, caller: &Caller, subject_id: &str) -> Result<Response, Problem> {
    let not_found = crate::failure::not_found_problem;
    let grants = organisation_grants(context, caller, subject_id).await?;
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
    let events: Vec<AuditEvent> = access.event(context, AuditAction::PersonViewed, detail).into_iter().collect();
    context.store.append_audits(&events).await.map_err(|error| store_problem(context, error))?;
    Ok(json(StatusCode::OK, &PersonDetail { id: person.id, name: person.display_name, categories: access.categories, grants: live }))
}
