//! The organisation's lists at a county's scale: the people it supports, their comments and
//! their needs changes, one page at a time, each in one query that joins the organisation's
//! grants to the rows. The SQL only narrows (live grants to the organisation that could cover
//! the row); every row comes back with the organisation's grants about its person, in every
//! state, so the handler still asks the consent decision for a permit row by row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::voice::NeedChange;
use super::{GRANT_COLUMNS, PERSON_COLUMNS, Result, SqlStore, grant, person, time_text};
use crate::comments::{Comment, CommentStatus};
use crate::consent::Grant;
use crate::db::{Row, Value};
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

/// Where a page of comments (newest first) starts: after this comment.
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
    /// lets it view the comment's category, newest first, after `after`, at most `limit`.
    async fn supported_comments_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        status: Option<CommentStatus>,
        after: Option<CommentAfter<'_>>,
        limit: i64,
    ) -> Result<Vec<SupportedComment>>;
    /// Needs changes after `after` (a feed `seq`) about people with a live grant to
    /// `organisation_id` that lets it view their preferences, oldest first, at most `limit`.
    async fn supported_need_changes(&self, organisation_id: &str, now: DateTime<Utc>, after: i64, limit: i64) -> Result<Vec<SupportedNeedChange>>;
    /// The ids of everyone with a live grant to `organisation_id` at `now`, by id.
    async fn supported_ids(&self, organisation_id: &str, now: DateTime<Utc>) -> Result<Vec<String>>;
    /// The everyone-at-once counts of the monitoring report; emergency accesses from `since`.
    async fn support_figures(&self, organisation_id: &str, now: DateTime<Utc>, since: DateTime<Utc>) -> Result<SupportFigures>;
}

/// A live grant `g` to the organisation `?1` at `?2` (the decision's "active", in SQL).
const LIVE: &str = "g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.starts_at <= ?2
    AND (g.ends_at IS NULL OR g.ends_at > ?2) AND (g.revoked_at IS NULL OR g.revoked_at > ?2)";

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
        let people = PERSON_COLUMNS.split(", ").map(|column| format!("p.{column}")).collect::<Vec<_>>().join(", ");
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

    async fn supported_comments_page(
        &self,
        organisation_id: &str,
        now: DateTime<Utc>,
        status: Option<CommentStatus>,
        after: Option<CommentAfter<'_>>,
        limit: i64,
    ) -> Result<Vec<SupportedComment>> {
        let columns = super::voice::COMMENT_COLUMNS.split(", ").map(|column| format!("page.{column}")).collect::<Vec<_>>().join(", ");
        // Walks comments newest first on `comments_created` (or `comments_status`), keeping those
        // a live grant could show, until one page is found.
        let status_clause = if status.is_some() { "c.status = ?6 AND" } else { "?6 IS NULL AND" };
        let (before_at, before_id) = after.map_or(("~", ""), |after| (after.created_at, after.id));
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT {columns}, {grants} FROM (
                       SELECT c.* FROM comments c
                       WHERE {status_clause} c.created_at <= ?3 AND (c.created_at < ?3 OR c.id < ?4)
                         AND EXISTS (SELECT 1 FROM grants g WHERE g.subject_id = c.person_id AND {LIVE}
                                       AND EXISTS (SELECT 1 FROM json_each(g.categories) WHERE json_each.value = c.category)
                                       AND EXISTS (SELECT 1 FROM json_each(g.actions) WHERE json_each.value = 'view'))
                       ORDER BY c.created_at DESC, c.id DESC LIMIT ?5
                     ) page
                     CROSS JOIN grants g ON g.grantee_kind = 'organisation' AND g.grantee_id = ?1 AND g.subject_id = page.person_id
                     ORDER BY page.created_at DESC, page.id DESC, g.starts_at, g.id",
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
}
