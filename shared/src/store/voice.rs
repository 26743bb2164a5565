//! The person's voice in the store: their format and communication needs (with the changes
//! feed providers follow) and their comments and correction requests.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, SqlStore, Store as _, optional_time, time, time_text};
use crate::comments::{AnswerRecord, Comment, CommentKind, CommentStatus};
use crate::consent::Category;
use crate::db::{DbError, Row, Statement, Value};
use crate::domain::AuditEvent;
use crate::needs::{Need, RecordedNeed};
use crate::plan::Recorder;

/// One entry of the needs changes feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedChange {
    /// Position in the feed (increasing).
    pub seq: i64,
    /// Whose need.
    pub person_id: String,
    /// `recorded` or `ended`.
    pub change: String,
    /// The need as it is now.
    pub need: RecordedNeed,
}

/// What became of an answer to a comment.
#[derive(Debug, Clone, PartialEq)]
pub enum CommentAnswer {
    /// Saved as this version.
    Saved(i64),
    /// Someone answered since the version the answer was based on: nothing was written.
    Conflict(Option<Box<Comment>>),
}

/// An answer to a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer<'a> {
    /// Answered, corrected or declined.
    pub status: CommentStatus,
    /// What they say.
    pub response: &'a str,
    /// Who answers (an organisation's name).
    pub responded_by: &'a str,
}

/// Needs and comments.
#[async_trait(?Send)]
pub trait VoiceStore {
    /// Replaces the person's live needs in one batch: `ended` ids are ended at `now` (if still
    /// live and theirs), `added` are recorded.
    async fn change_needs(&self, person_id: &str, ended: &[String], added: &[RecordedNeed], ended_by: &str, now: DateTime<Utc>) -> Result<()>;
    /// The person's needs; with `include_ended`, their history too. Oldest first.
    async fn needs(&self, person_id: &str, include_ended: bool) -> Result<Vec<RecordedNeed>>;
    /// The feed of needs recorded or ended after `after` (a `seq`), for the given people only,
    /// oldest first, at most `limit`.
    async fn need_changes(&self, person_ids: &[String], after: i64, limit: i64) -> Result<Vec<NeedChange>>;

    /// Keeps a new comment.
    async fn insert_comment(&self, comment: &Comment) -> Result<()>;
    /// The person's comments, newest first.
    async fn comments(&self, person_id: &str) -> Result<Vec<Comment>>;
    /// One of the person's comments.
    async fn comment(&self, person_id: &str, id: &str) -> Result<Option<Comment>>;
    /// Answers a comment as it was at `version` (optimistic concurrency), and keeps the answer
    /// in the comment's history in the same batch. In a plan, a stale version stops the whole
    /// batch.
    async fn answer_comment(&self, person_id: &str, id: &str, version: i64, answer: &Answer<'_>, now: DateTime<Utc>) -> Result<CommentAnswer>;
    /// Every answer to the person's comments, oldest first.
    async fn comment_answers(&self, person_id: &str) -> Result<Vec<AnswerRecord>>;
}

/// Writes an answer to the comment as it was at `version`, its place in the comment's history
/// and its line in the person's access log (`event`) to `recorder`: in a plan, all of them or
/// none, and an answer to a version someone has answered since stops the whole plan. The API's
/// systems and provider staff in the portal answer through this one write.
pub async fn record_answer(recorder: &Recorder, comment: &Comment, version: i64, answer: &Answer<'_>, event: &AuditEvent, now: DateTime<Utc>) -> Result<()> {
    let store = recorder.store();
    store.answer_comment(&comment.person_id, &comment.id, version, answer, now).await?;
    store.append_audit(event).await
}

/// Stops an answer (and the plan it is in) unless the comment is still at the version answered.
const COMMENT_VERSION_GUARD: &str =
    "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM comments WHERE person_id = ?2 AND id = ?3 AND version = ?4)";

const ANSWER_COLUMNS: &str = "comment_id, person_id, version, status, response, responded_by, responded_at";

fn answer_record(row: &Row) -> Result<AnswerRecord> {
    let status = row.text(3)?;
    Ok(AnswerRecord {
        comment_id: row.text(0)?,
        person_id: row.text(1)?,
        version: row.integer(2)?,
        status: CommentStatus::parse(&status).ok_or_else(|| DbError::Decode(format!("unknown comment status {status}")))?,
        response: row.text(4)?,
        responded_by: row.text(5)?,
        responded_at: time(row, 6)?,
    })
}

pub(crate) const NEED_COLUMNS: &str = "id, person_id, need, detail, recorded_by, recorded_by_name, acting_for, consent_discussion_id, recorded_at, ended_at";

pub(crate) fn need(row: &Row) -> Result<RecordedNeed> {
    let name = row.text(2)?;
    Ok(RecordedNeed {
        id: row.text(0)?,
        person_id: row.text(1)?,
        need: Need::parse(&name).ok_or_else(|| DbError::Decode(format!("unknown need {name}")))?,
        detail: row.text(3)?,
        recorded_by: row.text(4)?,
        recorded_by_name: row.text(5)?,
        acting_for: row.optional_text(6)?,
        consent_discussion_id: row.optional_text(7)?,
        recorded_at: time(row, 8)?,
        ended_at: optional_time(row, 9)?,
    })
}

pub(crate) const COMMENT_COLUMNS: &str = "id, person_id, category, entry_id, entry_label, kind, body, author_id, author_name, acting_for, created_at, status, response, responded_by, responded_at, version";

pub(crate) fn comment(row: &Row) -> Result<Comment> {
    let category = row.text(2)?;
    let kind = row.text(5)?;
    let status = row.text(11)?;
    Ok(Comment {
        id: row.text(0)?,
        person_id: row.text(1)?,
        category: Category::parse(&category).ok_or_else(|| DbError::Decode(format!("unknown category {category}")))?,
        entry_id: row.optional_text(3)?,
        entry_label: row.text(4)?,
        kind: CommentKind::parse(&kind).ok_or_else(|| DbError::Decode(format!("unknown comment kind {kind}")))?,
        body: row.text(6)?,
        author_id: row.text(7)?,
        author_name: row.text(8)?,
        acting_for: row.optional_text(9)?,
        created_at: time(row, 10)?,
        status: CommentStatus::parse(&status).ok_or_else(|| DbError::Decode(format!("unknown comment status {status}")))?,
        response: row.optional_text(12)?,
        responded_by: row.optional_text(13)?,
        responded_at: optional_time(row, 14)?,
        version: row.integer(15)?,
    })
}

#[async_trait(?Send)]
impl VoiceStore for SqlStore<'_> {
    async fn change_needs(&self, person_id: &str, ended: &[String], added: &[RecordedNeed], ended_by: &str, now: DateTime<Utc>) -> Result<()> {
        let mut statements = Vec::new();
        for id in ended {
            statements.push(Statement {
                sql: "UPDATE format_needs SET ended_at = ?1, ended_by = ?2 WHERE id = ?3 AND person_id = ?4 AND ended_at IS NULL".into(),
                params: vec![time_text(now).into(), ended_by.into(), id.as_str().into(), person_id.into()],
            });
        }
        for recorded in added {
            statements.push(Statement {
                sql: "INSERT INTO format_needs (id, person_id, need, detail, recorded_by, recorded_by_name, acting_for, consent_discussion_id, recorded_at, ended_at)
                      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)".into(),
                params: vec![
                    recorded.id.as_str().into(),
                    person_id.into(),
                    recorded.need.as_str().into(),
                    recorded.detail.as_str().into(),
                    recorded.recorded_by.as_str().into(),
                    recorded.recorded_by_name.as_str().into(),
                    recorded.acting_for.as_deref().into(),
                    recorded.consent_discussion_id.as_deref().into(),
                    time_text(recorded.recorded_at).into(),
                ],
            });
        }
        if statements.is_empty() {
            return Ok(());
        }
        self.db.batch(&statements).await
    }

    async fn needs(&self, person_id: &str, include_ended: bool) -> Result<Vec<RecordedNeed>> {
        let filter = if include_ended { "" } else { " AND ended_at IS NULL" };
        self.all(&format!("SELECT {NEED_COLUMNS} FROM format_needs WHERE person_id = ?1{filter} ORDER BY recorded_at, id"), &[person_id.into()], need).await
    }

    async fn need_changes(&self, person_ids: &[String], after: i64, limit: i64) -> Result<Vec<NeedChange>> {
        if person_ids.is_empty() {
            return Ok(Vec::new());
        }
        // The people are bound one by one (?3, ?4, …): never spliced into the SQL.
        let placeholders: Vec<String> = (0..person_ids.len()).map(|index| format!("?{}", index + 3)).collect();
        let columns: Vec<String> = NEED_COLUMNS.split(", ").map(|column| format!("n.{column}")).collect();
        let mut params: Vec<Value> = vec![after.into(), limit.clamp(1, 500).into()];
        params.extend(person_ids.iter().map(|id| Value::from(id.as_str())));
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT c.seq, c.person_id, c.change, {} FROM format_need_changes c JOIN format_needs n ON n.id = c.need_id
                     WHERE c.seq > ?1 AND c.person_id IN ({}) ORDER BY c.seq LIMIT ?2",
                    columns.join(", "),
                    placeholders.join(", ")
                ),
                &params,
            )
            .await?;
        rows.iter()
            .map(|row| {
                let rest = Row(row.0.get(3..).map(<[Value]>::to_vec).unwrap_or_default());
                Ok(NeedChange { seq: row.integer(0)?, person_id: row.text(1)?, change: row.text(2)?, need: need(&rest)? })
            })
            .collect()
    }

    async fn insert_comment(&self, comment: &Comment) -> Result<()> {
        self.db
            .execute(
                &format!("INSERT INTO comments ({COMMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'open', NULL, NULL, NULL, 1)"),
                &[
                    comment.id.as_str().into(),
                    comment.person_id.as_str().into(),
                    comment.category.as_str().into(),
                    comment.entry_id.as_deref().into(),
                    comment.entry_label.as_str().into(),
                    comment.kind.as_str().into(),
                    comment.body.as_str().into(),
                    comment.author_id.as_str().into(),
                    comment.author_name.as_str().into(),
                    comment.acting_for.as_deref().into(),
                    time_text(comment.created_at).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn comments(&self, person_id: &str) -> Result<Vec<Comment>> {
        self.all(&format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE person_id = ?1 ORDER BY created_at DESC, id"), &[person_id.into()], comment).await
    }

    async fn comment(&self, person_id: &str, id: &str) -> Result<Option<Comment>> {
        self.one(&format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE person_id = ?1 AND id = ?2"), &[person_id.into(), id.into()], comment).await
    }

    async fn answer_comment(&self, person_id: &str, id: &str, version: i64, answer: &Answer<'_>, now: DateTime<Utc>) -> Result<CommentAnswer> {
        let Answer { status, response, responded_by } = *answer;
        if status == CommentStatus::Open {
            return Err(DbError::Decode("an answer cannot leave a comment open".into()));
        }
        // One batch: the guard stops a stale answer before anything is written, so the comment
        // and its history never disagree.
        let statements = [
            Statement { sql: COMMENT_VERSION_GUARD.into(), params: vec![crate::plan::STALE.into(), person_id.into(), id.into(), version.into()] },
            Statement {
                sql: "UPDATE comments SET status = ?1, response = ?2, responded_by = ?3, responded_at = ?4, version = version + 1
                      WHERE person_id = ?5 AND id = ?6 AND version = ?7"
                    .into(),
                params: vec![status.as_str().into(), response.into(), responded_by.into(), time_text(now).into(), person_id.into(), id.into(), version.into()],
            },
            Statement {
                sql: format!("INSERT INTO comment_answers ({ANSWER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)").into(),
                params: vec![
                    id.into(),
                    person_id.into(),
                    (version + 1).into(),
                    status.as_str().into(),
                    response.into(),
                    responded_by.into(),
                    time_text(now).into(),
                ],
            },
        ];
        match self.db.batch(&statements).await {
            Ok(()) => Ok(CommentAnswer::Saved(version + 1)),
            Err(DbError::Constraint(_)) => Ok(CommentAnswer::Conflict(self.comment(person_id, id).await?.map(Box::new))),
            Err(error) => Err(error),
        }
    }

    async fn comment_answers(&self, person_id: &str) -> Result<Vec<AnswerRecord>> {
        self.all(
            &format!("SELECT {ANSWER_COLUMNS} FROM comment_answers WHERE person_id = ?1 ORDER BY responded_at, version"),
            &[person_id.into()],
            answer_record,
        )
        .await
    }
}
