//! Consent discussions in the store.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::{Result, SqlStore, Store as _, json, optional_time, time, time_text, to_json};
use crate::db::{DbError, Row};
use crate::discussion::{Discussion, Method, Status};
use crate::domain::AuditEvent;
use crate::plan::Recorder;

/// What became of recording a discussion.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Kept.
    New(Discussion),
    /// The idempotency key was used before by the same organisation: this is what it made.
    Existing(Discussion),
}

/// What became of the person's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    /// Saved as this version.
    Saved(i64),
    /// The discussion changed since the version answered: nothing was written.
    Conflict,
}

/// Consent discussions.
#[async_trait(?Send)]
pub trait DiscussionStore {
    /// Keeps a discussion (checked with [`Discussion::check`]); with an idempotency key, a retry
    /// returns the discussion the first request made instead of a second one.
    async fn insert_discussion(&self, discussion: &Discussion, idempotency_key: Option<&str>) -> Result<Recorded>;
    /// The person's discussions, newest first.
    async fn discussions(&self, person_id: &str) -> Result<Vec<Discussion>>;
    /// An organisation's discussions held on or after `since`, newest first.
    async fn organisation_discussions(&self, organisation_id: &str, since: NaiveDate) -> Result<Vec<Discussion>>;
    /// One of the person's discussions.
    async fn discussion(&self, person_id: &str, id: &str) -> Result<Option<Discussion>>;
    /// Records the person's answer to the discussion as it was at `version`.
    #[allow(clippy::too_many_arguments)]
    async fn answer_discussion(
        &self,
        person_id: &str,
        id: &str,
        version: i64,
        status: Status,
        response: Option<&str>,
        responded_by: &str,
        acting_for: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Answered>;
}

/// Writes a new discussion and its line in the person's access log (`event`) to `recorder`: in
/// a plan, both or neither. The API (with its idempotency key) and provider staff in the portal
/// record through this one write.
pub async fn record_discussion(recorder: &Recorder, discussion: &Discussion, idempotency_key: Option<&str>, event: &AuditEvent) -> Result<()> {
    let store = recorder.store();
    store.insert_discussion(discussion, idempotency_key).await?;
    store.append_audit(event).await
}

pub(crate) const COLUMNS: &str = "id, person_id, organisation_id, held_on, method, participants, covered, decisions, persons_words, recorded_by, recorded_at, \
                       status, response, responded_by, acting_for, responded_at, version";

pub(crate) fn discussion(row: &Row) -> Result<Discussion> {
    let held_on = row.text(3)?;
    let method = row.text(4)?;
    let status = row.text(11)?;
    Ok(Discussion {
        id: row.text(0)?,
        person_id: row.text(1)?,
        organisation_id: row.text(2)?,
        held_on: NaiveDate::parse_from_str(&held_on, "%Y-%m-%d").map_err(|_| DbError::Decode(format!("bad date {held_on}")))?,
        method: Method::parse(&method).ok_or_else(|| DbError::Decode(format!("unknown method {method}")))?,
        participants: json(row, 5)?,
        covered: json(row, 6)?,
        decisions: row.text(7)?,
        persons_words: row.text(8)?,
        recorded_by: row.text(9)?,
        recorded_at: time(row, 10)?,
        status: Status::parse(&status).ok_or_else(|| DbError::Decode(format!("unknown status {status}")))?,
        response: row.optional_text(12)?,
        responded_by: row.optional_text(13)?,
        acting_for: row.optional_text(14)?,
        responded_at: optional_time(row, 15)?,
        version: row.integer(16)?,
    })
}

#[async_trait(?Send)]
impl DiscussionStore for SqlStore<'_> {
    async fn insert_discussion(&self, discussion: &Discussion, idempotency_key: Option<&str>) -> Result<Recorded> {
        let changed = self
            .db
            .execute(
                &format!(
                    "INSERT INTO consent_discussions ({COLUMNS}, idempotency_key)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'awaiting', NULL, NULL, NULL, NULL, 1, ?12)
                     ON CONFLICT (organisation_id, idempotency_key) DO NOTHING"
                ),
                &[
                    discussion.id.as_str().into(),
                    discussion.person_id.as_str().into(),
                    discussion.organisation_id.as_str().into(),
                    discussion.held_on.format("%Y-%m-%d").to_string().into(),
                    discussion.method.as_str().into(),
                    to_json(&discussion.participants)?,
                    to_json(&discussion.covered)?,
                    discussion.decisions.as_str().into(),
                    discussion.persons_words.as_str().into(),
                    discussion.recorded_by.as_str().into(),
                    time_text(discussion.recorded_at).into(),
                    idempotency_key.into(),
                ],
            )
            .await?;
        if changed > 0 {
            return Ok(Recorded::New(Discussion { status: Status::Awaiting, version: 1, ..discussion.clone() }));
        }
        let existing = self
            .one(
                &format!("SELECT {COLUMNS} FROM consent_discussions WHERE organisation_id = ?1 AND idempotency_key = ?2"),
                &[discussion.organisation_id.as_str().into(), idempotency_key.into()],
                self::discussion,
            )
            .await?;
        existing.map(Recorded::Existing).ok_or_else(|| DbError::Decode("the discussion was neither kept nor found".into()))
    }

    async fn discussions(&self, person_id: &str) -> Result<Vec<Discussion>> {
        self.all(
            &format!("SELECT {COLUMNS} FROM consent_discussions WHERE person_id = ?1 ORDER BY held_on DESC, recorded_at DESC, id"),
            &[person_id.into()],
            discussion,
        )
        .await
    }

    async fn organisation_discussions(&self, organisation_id: &str, since: NaiveDate) -> Result<Vec<Discussion>> {
        self.all(
            &format!("SELECT {COLUMNS} FROM consent_discussions WHERE organisation_id = ?1 AND held_on >= ?2 ORDER BY held_on DESC, recorded_at DESC, id"),
            &[organisation_id.into(), since.format("%Y-%m-%d").to_string().into()],
            discussion,
        )
        .await
    }

    async fn discussion(&self, person_id: &str, id: &str) -> Result<Option<Discussion>> {
        self.one(&format!("SELECT {COLUMNS} FROM consent_discussions WHERE person_id = ?1 AND id = ?2"), &[person_id.into(), id.into()], discussion).await
    }

    async fn answer_discussion(
        &self,
        person_id: &str,
        id: &str,
        version: i64,
        status: Status,
        response: Option<&str>,
        responded_by: &str,
        acting_for: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Answered> {
        if status == Status::Awaiting {
            return Err(DbError::Decode("an answer must confirm or dispute".into()));
        }
        let fresh = self
            .guard(
                "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM consent_discussions WHERE person_id = ?2 AND id = ?3 AND version = ?4)",
                &[person_id.into(), id.into(), version.into()],
            )
            .await?;
        if !fresh {
            return Ok(Answered::Conflict);
        }
        let changed = self
            .db
            .execute(
                "UPDATE consent_discussions SET status = ?1, response = ?2, responded_by = ?3, acting_for = ?4, responded_at = ?5, version = version + 1
                 WHERE person_id = ?6 AND id = ?7 AND version = ?8",
                &[
                    status.as_str().into(),
                    response.into(),
                    responded_by.into(),
                    acting_for.into(),
                    time_text(now).into(),
                    person_id.into(),
                    id.into(),
                    version.into(),
                ],
            )
            .await?;
        Ok(if changed > 0 { Answered::Saved(version + 1) } else { Answered::Conflict })
    }
}
