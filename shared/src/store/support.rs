//! The organisation's lists at a county's scale: the people it supports, their comments and
//! their needs changes, one page at a time, each in one query that joins the organisation's
//! grants to the rows. The SQL only narrows (live grants to the organisation that could cover
//! the row); every row comes back with the organisation's grants about its person, in every
//! state, so the handler still asks the consent decision for a permit row by row.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::voice::NeedChange;
use super::{GRANT_COLUMNS, PERSON_COLUMNS, Result, SqlStore, grant, person, time, time_text};
use crate::comments::{Comment, CommentStatus};
use crate::consent::Grant;
use crate::db::{Row, Statement, Value};
use crate::discussion::{Discussion, Status};
use crate::domain::Person;

/// A person the organisation supports, with its grants about them.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportedPerson {
    /// The person.
    pub person: Person,
    /// Every grant to the organisation about them (all states: the decision judges them).
    pub grants: Vec<Grant>,
}

/// A comment on someone the organisation supports, with its grants about them.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportedComment {
    /// The comment.
    pub comment: Comment,
    /// Every grant to the organisation about the comment's person.
    pub grants: Vec<Grant>,
}

/// A needs change about someone the organisation supports, with its grants about them.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportedNeedChange {
    /// The change.
    pub change: NeedChange,
    /// Every grant to the organisation about the change's person.
    pub grants: Vec<Grant>,
}

/// A consent discussion the organisation recorded with someone, with its grants about them.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportedDiscussion {
    /// The discussion.
    pub discussion: Discussion,
    /// Every grant to the organisation about the discussion's person.
    pub grants: Vec<Grant>,
}

/// Where a page of discussions (newest first: held, then recorded, then id) starts: after this
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscussionAfter<'a> {
    /// The day it was held, `YYYY-MM-DD`.
    pub held_on: &'a str,
    /// When it was recorded, as stored.
    pub recorded_at: &'a str,
    /// Its id.
    pub id: &'a str,
}

/// The monitoring report's counts over the people a provider supports, each one aggregate
/// query rather than one query a person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SupportFigures {
    /// People it supports (a live grant to the organisation).
    pub people: usize,
    /// Their comments not yet answered.
    pub open_comments: usize,
    /// Of them, with a live format or communication need other than the paper-copy choice.
    pub needs_recorded: usize,
    /// Of them, who chose no paper copy.
    pub no_paper_copy: usize,
    /// Emergency accesses to their records started since the time asked.
    pub emergency_accesses: usize,
}

/// An organisation's monitoring figures as last kept (migration 27's `monitoring_figures`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptFigures {
    /// The counts, as JSON (shared/src/monitoring.rs reads them).
    pub figures: String,
    /// When they were counted.
    pub figured_at: DateTime<Utc>,
    /// Whether a write has changed what they count since (a row in `monitoring_changes`
    /// after the last change they include).
    pub changed_since: bool,
}

/// A person the organisation visits today, with when its first visit to them starts and its
/// grants about them.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitedPerson {
    /// The person.
    pub person: Person,
    /// When the organisation's first visit to them in the day asked starts.
    pub first_visit: DateTime<Utc>,
    /// Every grant to the organisation about them (all states: the decision judges them).
    pub grants: Vec<Grant>,
}

/// Where a page of the people visited in a day (by first visit, then id) starts: after this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitedAfter<'a> {
    /// Their first visit's start, as stored.
    pub first_visit: &'a str,
    /// Their id.
    pub id: &'a str,
}

/// The order of a list of comments, by when they were made (then by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOrder {
    /// Newest first (the API's list).
    NewestFirst,
    /// Oldest first: the longest waiting at the top (the portal's comments to answer).
    OldestFirst,
}

/// Where a page of comments (in its order) starts: after this comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentAfter<'a> {
    /// Its time, as stored.
    pub created_at: &'a str,
    /// Its id.
    pub id: &'a str,
}

/// The organisation's lists, paged in the database.
#[async_trait(?Send)]
pub trait SupportStore {
    /// The people with a live grant to `organisation_id` at `now` whose id is after `after`,
    /// by id, at most `limit`.
    async fn supported_people_page(&self, organisation_id: &str, now: DateTime<Utc>, after: Option<&str>, limit: i64) -> Result<Vec<SupportedPerson>>;
    /// Comments (of `status`, if given) on people with a live grant to `organisation_id` that
    /// lets it view the comment's category, in `order`, after `after`, at most `limit`.
    async fn supported_comments_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        status: Option<CommentStatus>,
        order: CommentOrder,
        after: Option<CommentAfter<'_>>,
        limit: i64,
    ) -> Result<Vec<SupportedComment>>;
    /// Needs changes after `after` (a feed `seq`) about people with a live grant to
    /// `organisation_id` that lets it view their preferences, oldest first, at most `limit`.
    async fn supported_need_changes(&self, organisation_id: &str, now: DateTime<Utc>, after: i64, limit: i64) -> Result<Vec<SupportedNeedChange>>;
    /// The organisation's consent discussions (of `status`, if given) held on or after `since`
    /// with people it has a live grant about, newest first, after `after`, at most `limit`.
    async fn supported_discussions_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        status: Option<Status>,
        since: NaiveDate,
        after: Option<DiscussionAfter<'_>>,
        limit: i64,
    ) -> Result<Vec<SupportedDiscussion>>;
    /// The people `organisation_id` visits from `from` up to (not including) `to` and has a live
    /// grant at `now` letting it view their visits, by their first visit's start then id, after
    /// `after`, at most `limit`.
    async fn visited_people_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        after: Option<VisitedAfter<'_>>,
        limit: i64,
    ) -> Result<Vec<VisitedPerson>>;
    /// The people with a live grant to `organisation_id` at `now` but no visit by it from `from`
    /// up to `to` that such a grant lets it view ([`Self::visited_people_page`]'s complement),
    /// by name then id, after the person `after` (an id), at most `limit`.
    async fn unvisited_people_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SupportedPerson>>;
    /// The ids of everyone with a live grant to `organisation_id` at `now`, by id.
    async fn supported_ids(&self, organisation_id: &str, now: DateTime<Utc>) -> Result<Vec<String>>;
    /// The everyone-at-once counts of the monitoring report; emergency accesses from `since`.
    async fn support_figures(&self, organisation_id: &str, now: DateTime<Utc>, since: DateTime<Utc>) -> Result<SupportFigures>;
    /// The organisation's figures as last kept, if any.
    async fn kept_figures(&self, organisation_id: &str) -> Result<Option<KeptFigures>>;
    /// The last change to anyone's figures so far (0 before any): read it before counting, and
    /// keep the counts with it, so a change made while they were counted is a change since.
    async fn figures_change_mark(&self) -> Result<i64>;
    /// Keeps the organisation's figures, counted after change `through`, unless figures
    /// counted after a later change are kept already; forgets the changes they include.
    async fn keep_figures(&self, organisation_id: &str, through: i64, figures: &str, figured_at: DateTime<Utc>) -> Result<()>;
}

/// Walks a paged join from `start` until `limit` rows the consent decision keeps are found (the
/// SQL only narrows, so a batch may hold rows the decision drops): `fetch(after, batch)` gives the
/// next batch of up to `batch` rows after a cursor, `key` is a row's cursor and `keep` the
/// decision. The kept rows in order, and whether more are waiting after the last.
pub async fn walk_pages<R, K, E, Fut>(
    start: Option<K>,
    limit: usize,
    mut fetch: impl FnMut(Option<K>, i64) -> Fut,
    key: impl Fn(&R) -> K,
    keep: impl Fn(&R) -> bool,
) -> std::result::Result<(Vec<R>, bool), E>
where
    Fut: std::future::Future<Output = std::result::Result<Vec<R>, E>>,
{
    let batch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    let mut cursor = start;
    let mut kept = Vec::new();
    loop {
        let rows = fetch(cursor.take(), batch).await?;
        let full = i64::try_from(rows.len()).is_ok_and(|count| count == batch);
        for row in rows {
            cursor = Some(key(&row));
            if !keep(&row) {
                continue;
            }
            if kept.len() == limit {
                return Ok((kept, true));
            }
            kept.push(row);
        }
        if !full || cursor.is_none() {
            return Ok((kept, false));
        }
    }
}

/// A live grant `g` to the organisation `?1` at `?2` (the decision's "active", in SQL).
const LIVE: &str = "g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.starts_at <= ?2
    AND (g.ends_at IS NULL OR g.ends_at > ?2) AND (g.revoked_at IS NULL OR g.revoked_at > ?2)";

/// A visit `v` by the organisation `?1` from `?3` up to `?4` that a live grant to it lets it
/// view (the decision's "active" and "covers visits and notes", in SQL). `organisation` is how
/// the query names the visit's organisation column: `+v.organisation_id` keeps SQLite on a
/// person's own visits (`care_visits_person`) rather than the organisation's whole day.
fn visible_visit(organisation: &str) -> String {
    format!(
        "{organisation} = ?1 AND v.starts_at >= ?3 AND v.starts_at < ?4
         AND EXISTS (SELECT 1 FROM grants g WHERE g.subject_id = v.person_id AND {LIVE}
                       AND EXISTS (SELECT 1 FROM json_each(g.categories) WHERE json_each.value = 'visits_and_notes')
                       AND EXISTS (SELECT 1 FROM json_each(g.actions) WHERE json_each.value = 'view'))"
    )
}

/// The people columns prefixed for a join.
fn person_columns() -> String {
    PERSON_COLUMNS.split(", ").map(|column| format!("p.{column}")).collect::<Vec<_>>().join(", ")
}

/// The grant columns prefixed for a join.
fn grant_columns() -> String {
    GRANT_COLUMNS.split(", ").map(|column| format!("g.{column}")).collect::<Vec<_>>().join(", ")
}

/// The columns of `row` from `start` on, as a row of their own.
fn tail(row: &Row, start: usize) -> Row {
    Row(row.0.get(start..).map(<[Value]>::to_vec).unwrap_or_default())
}

/// Folds joined rows (one per item and grant, items in order) into items with their grants.
/// The item's key is its row's first column (its id, or the feed's seq).
fn fold<T>(rows: &[Row], width: usize, decode: impl Fn(&Row) -> Result<T>) -> Result<Vec<(T, Vec<Grant>)>> {
    let mut items: Vec<(Value, T, Vec<Grant>)> = Vec::new();
    for row in rows {
        let key = row.0.first().cloned().unwrap_or(Value::Null);
        let grant = grant(&tail(row, width))?;
        match items.last_mut() {
            Some((last, _, grants)) if *last == key => grants.push(grant),
            _ => items.push((key, decode(row)?, vec![grant])),
        }
    }
    Ok(items.into_iter().map(|(_, item, grants)| (item, grants)).collect())
}

#[async_trait(?Send)]
impl SupportStore for SqlStore<'_> {
    async fn supported_people_page(&self, organisation_id: &str, now: DateTime<Utc>, after: Option<&str>, limit: i64) -> Result<Vec<SupportedPerson>> {
        let people = person_columns();
        // CROSS JOIN keeps the page outermost (SQLite does not reorder it). The inner query walks the organisation's grants in subject order on the index
        // `grants_organisation` (migration 26) and stops after one page of people.
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {people}, {grants} FROM (
                       SELECT DISTINCT g.subject_id FROM grants g WHERE {LIVE} AND g.subject_id > ?3 ORDER BY g.subject_id LIMIT ?4
                     ) s
                     CROSS JOIN people p ON p.id = s.subject_id
                     CROSS JOIN grants g ON g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.subject_id = s.subject_id
                     ORDER BY p.id, g.starts_at, g.id",
                    grants = grant_columns()
                ),
                &[organisation_id.into(), time_text(now).into(), after.unwrap_or("").into(), limit.clamp(1, 501).into()],
            )
            .await?;
        Ok(fold(&rows, 6, person)?.into_iter().map(|(person, grants)| SupportedPerson { person, grants }).collect())
    }

    async fn visited_people_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        after: Option<VisitedAfter<'_>>,
        limit: i64,
    ) -> Result<Vec<VisitedPerson>> {
        // Walks the day's visits by the organisation in time order on
        // `care_visits_organisation` (migration 28), keeping each person's first (checked on
        // `care_visits_person`), until one page of people is found: a page costs the same
        // however many visits the organisation makes in a day.
        let (first_visit, id) = after.map_or(("", ""), |after| (after.first_visit, after.id));
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {people}, page.starts_at, {grants} FROM (
                       SELECT v.person_id, v.starts_at FROM care_visits v
                       WHERE {visible}
                         AND v.starts_at >= ?5 AND (v.starts_at > ?5 OR v.person_id > ?6)
                         AND NOT EXISTS (SELECT 1 FROM care_visits w
                                         WHERE w.person_id = v.person_id AND +w.organisation_id = ?1 AND w.starts_at >= ?3
                                           AND (w.starts_at < v.starts_at OR (w.starts_at = v.starts_at AND w.id < v.id)))
                       ORDER BY v.starts_at, v.person_id LIMIT ?7
                     ) page
                     CROSS JOIN people p ON p.id = page.person_id
                     CROSS JOIN grants g ON g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.subject_id = page.person_id
                     ORDER BY page.starts_at, p.id, g.starts_at, g.id",
                    people = person_columns(),
                    visible = visible_visit("v.organisation_id"),
                    grants = grant_columns()
                ),
                &[
                    organisation_id.into(),
                    time_text(now).into(),
                    time_text(from).into(),
                    time_text(to).into(),
                    first_visit.into(),
                    id.into(),
                    limit.clamp(1, 501).into(),
                ],
            )
            .await?;
        let decode = |row: &Row| Ok((person(row)?, time(row, 6)?));
        Ok(fold(&rows, 7, decode)?.into_iter().map(|((person, first_visit), grants)| VisitedPerson { person, first_visit, grants }).collect())
    }

    async fn unvisited_people_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SupportedPerson>> {
        // Walks people by name on `people_name` (migration 28), keeping those with a live grant
        // to the organisation and no visit by it today, until one page is found. The page
        // starts after the person `?5` (by their name then id; from the first without one).
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {people}, {grants} FROM (
                       SELECT p.id, p.display_name FROM people p
                       WHERE p.display_name >= COALESCE((SELECT a.display_name FROM people a WHERE a.id = ?5), '')
                         AND (p.display_name > COALESCE((SELECT a.display_name FROM people a WHERE a.id = ?5), '') OR p.id > ?5)
                         AND EXISTS (SELECT 1 FROM grants g WHERE g.subject_id = p.id AND {LIVE})
                         AND NOT EXISTS (SELECT 1 FROM care_visits v WHERE v.person_id = p.id AND {visible})
                       ORDER BY p.display_name, p.id LIMIT ?6
                     ) page
                     CROSS JOIN people p ON p.id = page.id
                     CROSS JOIN grants g ON g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.subject_id = page.id
                     ORDER BY page.display_name, page.id, g.starts_at, g.id",
                    people = person_columns(),
                    visible = visible_visit("+v.organisation_id"),
                    grants = grant_columns()
                ),
                &[
                    organisation_id.into(),
                    time_text(now).into(),
                    time_text(from).into(),
                    time_text(to).into(),
                    after.unwrap_or("").into(),
                    limit.clamp(1, 501).into(),
                ],
            )
            .await?;
        Ok(fold(&rows, 6, person)?.into_iter().map(|(person, grants)| SupportedPerson { person, grants }).collect())
    }

    async fn supported_comments_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        status: Option<CommentStatus>,
        order: CommentOrder,
        after: Option<CommentAfter<'_>>,
        limit: i64,
    ) -> Result<Vec<SupportedComment>> {
        let columns = super::voice::COMMENT_COLUMNS.split(", ").map(|column| format!("page.{column}")).collect::<Vec<_>>().join(", ");
        // Walks comments in order on `comments_created` (or `comments_status`), keeping those a
        // live grant could show, until one page is found.
        let status_clause = if status.is_some() { "c.status = ?6 AND" } else { "?6 IS NULL AND" };
        let (from, past, direction, start) = match order {
            CommentOrder::NewestFirst => ("<=", "<", "DESC", ("~", "")),
            CommentOrder::OldestFirst => (">=", ">", "ASC", ("", "")),
        };
        let (before_at, before_id) = after.map_or(start, |after| (after.created_at, after.id));
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {columns}, {grants} FROM (
                       SELECT c.* FROM comments c
                       WHERE {status_clause} c.created_at {from} ?3 AND (c.created_at {past} ?3 OR c.id {past} ?4)
                         AND EXISTS (SELECT 1 FROM grants g WHERE g.subject_id = c.person_id AND {LIVE}
                                       AND EXISTS (SELECT 1 FROM json_each(g.categories) WHERE json_each.value = c.category)
                                       AND EXISTS (SELECT 1 FROM json_each(g.actions) WHERE json_each.value = 'view'))
                       ORDER BY c.created_at {direction}, c.id {direction} LIMIT ?5
                     ) page
                     CROSS JOIN grants g ON g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.subject_id = page.person_id
                     ORDER BY page.created_at {direction}, page.id {direction}, g.starts_at, g.id",
                    grants = grant_columns()
                ),
                &[
                    organisation_id.into(),
                    time_text(now).into(),
                    before_at.into(),
                    before_id.into(),
                    limit.clamp(1, 501).into(),
                    status.map(|status| status.as_str()).into(),
                ],
            )
            .await?;
        Ok(fold(&rows, 16, super::voice::comment)?.into_iter().map(|(comment, grants)| SupportedComment { comment, grants }).collect())
    }

    async fn supported_discussions_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        status: Option<Status>,
        since: NaiveDate,
        after: Option<DiscussionAfter<'_>>,
        limit: i64,
    ) -> Result<Vec<SupportedDiscussion>> {
        let columns = super::discussion::COLUMNS.split(", ").map(|column| format!("page.{}", column.trim())).collect::<Vec<_>>().join(", ");
        // Walks the organisation's discussions newest first on
        // `consent_discussions_organisation` (migration 27), keeping those about someone it has
        // a live grant about, until one page is found.
        let (held_on, recorded_at, id) = after.map_or(("9999-12-31", "~", "~"), |after| (after.held_on, after.recorded_at, after.id));
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {columns}, {grants} FROM (
                       SELECT d.* FROM consent_discussions d
                       WHERE d.organisation_id = ?1 AND d.held_on >= ?3 AND (?8 IS NULL OR d.status = ?8)
                         AND (d.held_on < ?4 OR (d.held_on = ?4 AND (d.recorded_at < ?5 OR (d.recorded_at = ?5 AND d.id < ?6))))
                         AND EXISTS (SELECT 1 FROM grants g WHERE g.subject_id = d.person_id AND {LIVE})
                       ORDER BY d.held_on DESC, d.recorded_at DESC, d.id DESC LIMIT ?7
                     ) page
                     CROSS JOIN grants g ON g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.subject_id = page.person_id
                     ORDER BY page.held_on DESC, page.recorded_at DESC, page.id DESC, g.starts_at, g.id",
                    grants = grant_columns()
                ),
                &[
                    organisation_id.into(),
                    time_text(now).into(),
                    since.format("%Y-%m-%d").to_string().into(),
                    held_on.into(),
                    recorded_at.into(),
                    id.into(),
                    limit.clamp(1, 501).into(),
                    status.map(|status| status.as_str()).into(),
                ],
            )
            .await?;
        let width = super::discussion::COLUMNS.split(", ").count();
        Ok(fold(&rows, width, super::discussion::discussion)?.into_iter().map(|(discussion, grants)| SupportedDiscussion { discussion, grants }).collect())
    }

    async fn supported_need_changes(&self, organisation_id: &str, now: DateTime<Utc>, after: i64, limit: i64) -> Result<Vec<SupportedNeedChange>> {
        let needs = super::voice::NEED_COLUMNS.split(", ").map(|column| format!("n.{column}")).collect::<Vec<_>>().join(", ");
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT page.seq, page.person_id, page.change, {needs}, {grants} FROM (
                       SELECT c.* FROM format_need_changes c
                       WHERE c.seq > ?3
                         AND EXISTS (SELECT 1 FROM grants g WHERE g.subject_id = c.person_id AND {LIVE}
                                       AND EXISTS (SELECT 1 FROM json_each(g.categories) WHERE json_each.value = 'preferences')
                                       AND EXISTS (SELECT 1 FROM json_each(g.actions) WHERE json_each.value = 'view'))
                       ORDER BY c.seq LIMIT ?4
                     ) page
                     CROSS JOIN format_needs n ON n.id = page.need_id
                     CROSS JOIN grants g ON g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.subject_id = page.person_id
                     ORDER BY page.seq, g.starts_at, g.id",
                    grants = grant_columns()
                ),
                &[organisation_id.into(), time_text(now).into(), after.into(), limit.clamp(1, 501).into()],
            )
            .await?;
        let decode = |row: &Row| -> Result<NeedChange> {
            Ok(NeedChange { seq: row.integer(0)?, person_id: row.text(1)?, change: row.text(2)?, need: super::voice::need(&tail(row, 3))? })
        };
        Ok(fold(&rows, 13, decode)?.into_iter().map(|(change, grants)| SupportedNeedChange { change, grants }).collect())
    }

    async fn supported_ids(&self, organisation_id: &str, now: DateTime<Utc>) -> Result<Vec<String>> {
        self.all(
            &format!("SELECT DISTINCT g.subject_id FROM grants g WHERE {LIVE} ORDER BY g.subject_id"),
            &[organisation_id.into(), time_text(now).into()],
            |row| row.text(0),
        )
        .await
    }

    async fn support_figures(&self, organisation_id: &str, now: DateTime<Utc>, since: DateTime<Utc>) -> Result<SupportFigures> {
        // One pass over the organisation's people, each figure a lookup on the person's index.
        // Written for both dialects: a truth counted through CASE (PostgreSQL sums no booleans),
        // each sum cast back to an integer (PostgreSQL sums integers as numeric).
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT COUNT(*),
                       CAST(COALESCE(SUM((SELECT COUNT(*) FROM comments c WHERE c.person_id = s.id AND +c.status = 'open')), 0) AS BIGINT),
                       CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM format_needs n WHERE n.person_id = s.id AND n.ended_at IS NULL
                                              AND n.need NOT IN ('paper_copy_at_home', 'no_paper_copies')) THEN 1 ELSE 0 END), 0) AS BIGINT),
                       CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM format_needs n WHERE n.person_id = s.id AND n.ended_at IS NULL
                                              AND n.need = 'no_paper_copies') THEN 1 ELSE 0 END), 0) AS BIGINT),
                       CAST(COALESCE(SUM((SELECT COUNT(*) FROM emergency_accesses e WHERE e.person_id = s.id AND e.started_at >= ?3)), 0) AS BIGINT)
                     FROM (SELECT DISTINCT g.subject_id AS id FROM grants g WHERE {LIVE}) s"
                ),
                &[organisation_id.into(), time_text(now).into(), time_text(since).into()],
            )
            .await?;
        let figure = |index: usize| -> Result<usize> {
            let value = rows.first().map_or(Ok(0), |row| row.integer(index))?;
            Ok(usize::try_from(value).unwrap_or(0))
        };
        let (people, open_comments, needs_recorded, no_paper_copy, emergency_accesses) = (figure(0)?, figure(1)?, figure(2)?, figure(3)?, figure(4)?);
        Ok(SupportFigures { people, open_comments, needs_recorded, no_paper_copy, emergency_accesses })
    }

    async fn kept_figures(&self, organisation_id: &str) -> Result<Option<KeptFigures>> {
        let rows = self
            .db
            .query(
                "SELECT f.figures, f.figured_at,
                   CASE WHEN EXISTS (SELECT 1 FROM monitoring_changes c WHERE c.organisation_id = f.organisation_id AND c.seq > f.figured_through)
                        THEN 1 ELSE 0 END
                 FROM monitoring_figures f WHERE f.organisation_id = ?1",
                &[organisation_id.into()],
            )
            .await?;
        rows.first().map(|row| Ok(KeptFigures { figures: row.text(0)?, figured_at: time(row, 1)?, changed_since: row.integer(2)? != 0 })).transpose()
    }

    async fn figures_change_mark(&self) -> Result<i64> {
        let rows = self.db.query("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM monitoring_changes", &[]).await?;
        rows.first().map_or(Ok(0), |row| row.integer(0))
    }

    async fn keep_figures(&self, organisation_id: &str, through: i64, figures: &str, figured_at: DateTime<Utc>) -> Result<()> {
        let statements = [
            Statement {
                sql: "INSERT INTO monitoring_figures (organisation_id, figured_through, figures, figured_at) VALUES (?1, ?2, ?3, ?4)
                      ON CONFLICT (organisation_id) DO UPDATE SET figured_through = excluded.figured_through, figures = excluded.figures,
                        figured_at = excluded.figured_at
                      WHERE excluded.figured_through >= monitoring_figures.figured_through"
                    .into(),
                params: vec![organisation_id.into(), through.into(), figures.into(), time_text(figured_at).into()],
            },
            Statement {
                sql: "DELETE FROM monitoring_changes WHERE organisation_id = ?1
                        AND seq <= (SELECT f.figured_through FROM monitoring_figures f WHERE f.organisation_id = ?1)"
                    .into(),
                params: vec![organisation_id.into()],
            },
        ];
        self.db.batch(&statements).await
    }
}

#[cfg(test)]
mod tests {
    use super::walk_pages;

    #[test]
    fn walks_batches_until_a_page_of_kept_rows_and_says_whether_more_wait() {
        let rows: Vec<i64> = (1..=20).collect();
        let fetch = |after: Option<i64>, batch: i64| {
            let rows = rows.clone();
            async move { Ok::<_, ()>(rows.into_iter().filter(|row| after.is_none_or(|after| *row > after)).take(batch as usize).collect::<Vec<_>>()) }
        };
        let even = |row: &i64| row % 2 == 0;
        assert_eq!(pollster::block_on(walk_pages(None, 3, fetch, |row| *row, even)), Ok((vec![2, 4, 6], true)));
        assert_eq!(pollster::block_on(walk_pages(Some(14), 5, fetch, |row| *row, even)), Ok((vec![16, 18, 20], false)));
        let all_even: Vec<i64> = (1..=10).map(|n| n * 2).collect();
        assert_eq!(pollster::block_on(walk_pages(None, 10, fetch, |row| *row, even)), Ok((all_even, false)), "across two batches, the last short");
        let failing = |_: Option<i64>, _: i64| async { Err::<Vec<i64>, _>("down") };
        assert_eq!(pollster::block_on(walk_pages(None, 3, failing, |row| *row, even)), Err("down"));
    }
}
