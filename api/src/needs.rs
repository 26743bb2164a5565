//! Format and communication needs, for providers to act on (the Accessible Information
//! Standard's "share" and "act"): a person's live needs with their SNOMED CT codes
//! (`GET /api/v1/people/{id}/needs`), and a changes feed over everyone the organisation supports
//! now with the preferences category (`GET /api/v1/needs/changes?after=<seq>`), which never
//! shows anyone else's changes.

use carefront_shared::store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::needs::{RecordedNeed, SNOMED_CT};
use carefront_shared::store::time_text;
use carefront_shared::store::voice::NeedChange;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::access::{ask_permit, event_id, grounded, log, log_read};
use crate::auth::Caller;
use crate::failure::{ApiError, Stored};
use crate::query::{self, Order, Query, bad_query, next_link, page_of, page_response};
use crate::{Request, Response, json};

/// A SNOMED CT concept.
#[derive(Debug, Serialize)]
struct Coding {
    system: &'static str,
    code: &'static str,
    display: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NeedView {
    id: String,
    person_id: String,
    /// The need's name, as stored (`large_print_24`, `easy_read`, …).
    need: &'static str,
    /// In plain words.
    label: &'static str,
    /// The person's own words (always for `other`).
    detail: String,
    /// The Accessible Information Standard's SNOMED CT concept; null for the paper-copy choices
    /// and `other`, which have none.
    snomed: Option<Coding>,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl From<RecordedNeed> for NeedView {
    fn from(recorded: RecordedNeed) -> NeedView {
        NeedView {
            snomed: recorded.need.snomed().map(|(code, display)| Coding { system: SNOMED_CT, code, display }),
            label: recorded.need.label(),
            id: recorded.id,
            person_id: recorded.person_id,
            need: recorded.need.as_str(),
            detail: recorded.detail,
            recorded_by: recorded.recorded_by_name,
            recorded_at: recorded.recorded_at,
            ended_at: recorded.ended_at,
        }
    }
}

/// GET /api/v1/people/{id}/needs: the person's live needs, oldest first, in pages.
pub async fn for_person(context: &RequestContext<'_>, request: &Request, caller: &Caller, person_id: &str) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["limit", "cursor"])?;
    let (limit, after) = (query.limit()?, query.cursor("needs")?);
    let permit = ask_permit(context, caller, person_id, Action::View, Category::Preferences).await?;
    let needs = context.store.needs(person_id, false).await.or_problem(context)?;
    let (page, next) = page_of(needs, |need: &RecordedNeed| format!("{}|{}", time_text(need.recorded_at), need.id), Order::Ascending, after.as_deref(), limit);
    log_read(context, caller, &permit, Category::Preferences, "your format and communication needs").await?;
    let next = next.map(|key| next_link(&format!("/api/v1/people/{person_id}/needs"), &[], limit, &query::encode_cursor("needs", &key)));
    Ok(page_response(page.into_iter().map(NeedView::from).collect(), next))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangeView {
    seq: i64,
    person_id: String,
    /// `recorded` or `ended`.
    change: String,
    /// The need as it is now (an ended need has `endedAt`).
    need: NeedView,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangesPage {
    items: Vec<ChangeView>,
    /// Pass as `after` next time: the last change's seq (or the `after` given, if none).
    after: i64,
    /// The next page's path when more changes are waiting now; null when up to date.
    next: Option<String>,
}

/// GET /api/v1/needs/changes?after=&limit=: needs recorded or ended after the feed position
/// `after`, oldest first, for the people the organisation supports now and may see the
/// preferences of.
pub async fn changes(context: &RequestContext<'_>, request: &Request, caller: &Caller) -> Result<Response, ApiError> {
    let query = Query::parse(request.uri().query(), &["after", "limit"])?;
    let limit = query.limit()?;
    let after = match query.get("after") {
        None => 0,
        Some(text) => match text.parse::<i64>() {
            Ok(after) if after >= 0 => after,
            _ => {
                return Err(bad_query(
                    "bad-position",
                    "The feed position is not valid",
                    "after must be a whole number: the after (or last seq) of the previous answer.",
                )
                .into());
            }
        },
    };
    // One query a page joins the organisation's live grants to the feed; the consent decision
    // then judges each change from the grants its row came with.
    let actor = caller.actor();
    let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    let (mut found, mut allowed, mut more, mut scanned): (Vec<NeedChange>, BTreeMap<String, Permit>, bool, i64) = (Vec::new(), BTreeMap::new(), false, after);
    'pages: loop {
        let rows = context.store.supported_need_changes(&caller.organisation.id, context.now, scanned, fetch).await.or_problem(context)?;
        let full = i64::try_from(rows.len()).is_ok_and(|count| count == fetch);
        for row in rows {
            scanned = row.change.seq;
            let Ok(permit) = Permit::ask(&actor, &row.change.person_id, Action::View, Category::Preferences, &row.grants, context.now) else { continue };
            // Defence in depth: nothing about anyone the organisation may not see leaves, whatever the store says.
            if row.change.need.person_id != row.change.person_id {
                continue;
            }
            if found.len() == limit {
                more = true;
                break 'pages;
            }
            allowed.insert(row.change.person_id.clone(), permit);
            found.push(row.change);
        }
        if !full {
            break;
        }
    }
    let position = found.last().map_or(after, |change| change.seq);

    let seen: BTreeSet<&str> = found.iter().map(|change| change.person_id.as_str()).collect();
    let mut events = Vec::new();
    for person_id in seen {
        if let Some(permit) = allowed.get(person_id) {
            let detail = format!("{} read changes to your format and communication needs.", caller.described());
            events.push(grounded(permit.event(event_id(context), AuditAction::NeedChangesRead, Category::Preferences, detail))?);
        }
    }
    log(context, &events).await?;
    let next = more.then(|| format!("/api/v1/needs/changes?after={position}&limit={limit}"));
    let items = found
        .into_iter()
        .map(|change| ChangeView { seq: change.seq, person_id: change.person_id, change: change.change, need: NeedView::from(change.need) })
        .collect();
    let mut response = json(http::StatusCode::OK, &ChangesPage { items, after: position, next: next.clone() });
    if let Some(value) = next.and_then(|next| http::HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).ok()) {
        response.headers_mut().insert(http::header::LINK, value);
    }
    Ok(response)
}
