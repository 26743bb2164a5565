//! The outbox's rows ([`crate::outbox`]): queueing a message (a write a plan records, so it is
//! applied with the change that causes it), a sender taking the messages that are due under a
//! lease, what the courier said, Notify's status callbacks, and the lists people and the
//! council read.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, SqlStore, time, time_text};
use crate::db::{DbError, Row, Value};
use crate::outbox::{Channel, Notification, NotificationKind, NotificationStatus};

/// The outbox.
#[async_trait(?Send)]
pub trait OutboxStore {
    /// Queues `notification` (in a plan: with the change that causes it).
    async fn queue_notification(&self, notification: &Notification) -> Result<()>;
    /// Queues `notification` unless a message with its id is already there (queued, sent or
    /// failed): with an id made from what it is about, a notice is queued once however many
    /// sweeps make it, racing or not. `true` if it was queued now (out of a plan; in a plan the
    /// answer means nothing).
    async fn queue_notification_once(&self, notification: &Notification) -> Result<bool>;
    /// Takes up to `limit` messages due at `now` (queued, or taken before by a sender whose
    /// lease has ended), oldest due first, and holds them until `lease_until`.
    async fn take_due_notifications(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<Notification>>;
    /// Records that the service accepted the message as `notify_id` on try `attempts`, and
    /// forgets its personalisation: Notify has it, and what it held (an invitation's code and
    /// link, a contact check's code, a stop link) must not wait in the store for anyone to read.
    async fn notification_sent(&self, id: &str, attempts: i64, notify_id: &str, now: DateTime<Utc>) -> Result<()>;
    /// Records a failed try to be repeated at `next_attempt_at`.
    async fn notification_retry(&self, id: &str, attempts: i64, next_attempt_at: DateTime<Utc>, error: &str, now: DateTime<Utc>) -> Result<()>;
    /// Records that the message cannot be sent.
    async fn notification_failed(&self, id: &str, attempts: i64, error: &str, now: DateTime<Utc>) -> Result<()>;
    /// Records Notify's status for its message `notify_id`; `false` if no message has that id.
    async fn notification_status(&self, notify_id: &str, status: NotificationStatus, notify_status: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Puts a failed message back in the queue, due at `now`, with its tries counted afresh;
    /// `false` if it is not (or no longer) a failed one.
    async fn retry_failed_notification(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    /// The messages that failed, newest first, at most `limit`.
    async fn failed_notifications(&self, limit: i64) -> Result<Vec<Notification>>;
    /// The messages sent to the account `person_id`, newest first, at most `limit`.
    async fn notifications_for_person(&self, person_id: &str, limit: i64) -> Result<Vec<Notification>>;
    /// Makes every message waiting for a later try due at `now` (the service is back after an
    /// outage); how many there were.
    async fn bring_retries_forward(&self, now: DateTime<Utc>) -> Result<u64>;
    /// The messages with these ids (in no particular order); ids with none are left out.
    async fn notifications_by_id(&self, ids: &[String]) -> Result<Vec<Notification>>;
}

/// Ids looked up per statement: under D1's 100 bound parameters.
const IDS_PER_STATEMENT: usize = 90;

const COLUMNS: &str = "id, kind, person_id, subject_id, channel, recipient, personalisation, status, attempts, next_attempt_at, notify_id, notify_status, last_error, created_at, updated_at";

fn notification(row: &Row) -> Result<Notification> {
    let decode = |what: &str, text: String| DbError::Decode(format!("notification {what}: {text}"));
    let kind = row.text(1)?;
    let channel = row.text(4)?;
    let status = row.text(7)?;
    let personalisation: BTreeMap<String, String> =
        serde_json::from_str(&row.text(6)?).map_err(|error| DbError::Decode(format!("notification personalisation: {error}")))?;
    Ok(Notification {
        id: row.text(0)?,
        kind: NotificationKind::parse(&kind).ok_or_else(|| decode("kind", kind.clone()))?,
        person_id: row.optional_text(2)?,
        subject_id: row.optional_text(3)?,
        channel: Channel::parse(&channel).ok_or_else(|| decode("channel", channel.clone()))?,
        recipient: row.text(5)?,
        personalisation,
        status: NotificationStatus::parse(&status).ok_or_else(|| decode("status", status.clone()))?,
        attempts: row.integer(8)?,
        next_attempt_at: time(row, 9)?,
        notify_id: row.optional_text(10)?,
        notify_status: row.optional_text(11)?,
        last_error: row.optional_text(12)?,
        created_at: time(row, 13)?,
        updated_at: time(row, 14)?,
    })
}

/// Stops the plan unless the message `?2` has failed.
const FAILED_GUARD: &str = "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM notifications WHERE id = ?2 AND status = 'failed')";

/// Keeps an error's text to a size a row and a page can hold.
fn clipped(error: &str) -> String {
    error.chars().take(500).collect()
}

impl SqlStore<'_> {
    /// Inserts `notification`, the statement ending with `conflict`; how many rows it added.
    async fn insert_notification(&self, notification: &Notification, conflict: &str) -> Result<u64> {
        let personalisation = serde_json::to_string(&notification.personalisation).map_err(|error| DbError::Decode(error.to_string()))?;
        self.db
            .execute(
                &format!("INSERT INTO notifications ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15){conflict}"),
                &[
                    notification.id.as_str().into(),
                    notification.kind.as_str().into(),
                    notification.person_id.as_deref().into(),
                    notification.subject_id.as_deref().into(),
                    notification.channel.as_str().into(),
                    notification.recipient.as_str().into(),
                    personalisation.into(),
                    notification.status.as_str().into(),
                    Value::Integer(notification.attempts),
                    time_text(notification.next_attempt_at).into(),
                    notification.notify_id.as_deref().into(),
                    notification.notify_status.as_deref().into(),
                    notification.last_error.as_deref().into(),
                    time_text(notification.created_at).into(),
                    time_text(notification.updated_at).into(),
                ],
            )
            .await
    }
}

#[async_trait(?Send)]
impl OutboxStore for SqlStore<'_> {
    async fn queue_notification(&self, notification: &Notification) -> Result<()> {
        self.insert_notification(notification, "").await.map(|_| ())
    }

    async fn queue_notification_once(&self, notification: &Notification) -> Result<bool> {
        // One statement: a second sweep's insert of the same id does nothing, even mid-race.
        Ok(self.insert_notification(notification, " ON CONFLICT (id) DO NOTHING").await? > 0)
    }

    async fn take_due_notifications(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<Notification>> {
        // One statement takes and returns the rows, so two senders sweeping at once never take
        // the same message (each row is updated once; the second finds it no longer due).
        let sql = format!(
            "UPDATE notifications SET status = 'sending', next_attempt_at = ?2, updated_at = ?1
             WHERE id IN (SELECT id FROM notifications WHERE status IN ('queued', 'sending') AND next_attempt_at <= ?1
                          ORDER BY next_attempt_at, id LIMIT ?3)
               AND status IN ('queued', 'sending') AND next_attempt_at <= ?1
             RETURNING {COLUMNS}"
        );
        let mut taken = self.all(&sql, &[time_text(now).into(), time_text(lease_until).into(), Value::Integer(limit)], notification).await?;
        taken.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(taken)
    }

    async fn notification_sent(&self, id: &str, attempts: i64, notify_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "UPDATE notifications SET status = 'sent', attempts = ?2, notify_id = ?3, last_error = NULL, personalisation = '{}', updated_at = ?4 WHERE id = ?1",
                &[id.into(), Value::Integer(attempts), notify_id.into(), time_text(now).into()],
            )
            .await
            .map(|_| ())
    }

    async fn notification_retry(&self, id: &str, attempts: i64, next_attempt_at: DateTime<Utc>, error: &str, now: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "UPDATE notifications SET status = 'queued', attempts = ?2, next_attempt_at = ?3, last_error = ?4, updated_at = ?5 WHERE id = ?1",
                &[id.into(), Value::Integer(attempts), time_text(next_attempt_at).into(), clipped(error).into(), time_text(now).into()],
            )
            .await
            .map(|_| ())
    }

    async fn notification_failed(&self, id: &str, attempts: i64, error: &str, now: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "UPDATE notifications SET status = 'failed', attempts = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
                &[id.into(), Value::Integer(attempts), clipped(error).into(), time_text(now).into()],
            )
            .await
            .map(|_| ())
    }

    async fn notification_status(&self, notify_id: &str, status: NotificationStatus, notify_status: &str, now: DateTime<Utc>) -> Result<bool> {
        // A late "sending" callback never undoes a delivery or a failure already recorded.
        let changed = self
            .db
            .execute(
                "UPDATE notifications SET status = CASE WHEN status IN ('delivered', 'failed') AND ?2 = 'sent' THEN status ELSE ?2 END,
                        notify_status = ?3, updated_at = ?4,
                        last_error = CASE WHEN ?2 = 'failed' THEN 'Notify: ' || ?3 ELSE last_error END
                 WHERE notify_id = ?1",
                &[notify_id.into(), status.as_str().into(), clipped(notify_status).into(), time_text(now).into()],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn retry_failed_notification(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        // A guard, so that in a plan a message already sent again stops the plan (and its log line).
        if !self.guard(FAILED_GUARD, &[id.into()]).await? {
            return Ok(false);
        }
        self.db
            .execute(
                "UPDATE notifications SET status = 'queued', attempts = 0, next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1 AND status = 'failed'",
                &[id.into(), time_text(now).into()],
            )
            .await?;
        Ok(true)
    }

    async fn failed_notifications(&self, limit: i64) -> Result<Vec<Notification>> {
        self.all(
            &format!("SELECT {COLUMNS} FROM notifications WHERE status = 'failed' ORDER BY updated_at DESC, id LIMIT ?1"),
            &[Value::Integer(limit)],
            notification,
        )
        .await
    }

    async fn notifications_for_person(&self, person_id: &str, limit: i64) -> Result<Vec<Notification>> {
        self.all(
            &format!("SELECT {COLUMNS} FROM notifications WHERE person_id = ?1 ORDER BY created_at DESC, id LIMIT ?2"),
            &[person_id.into(), Value::Integer(limit)],
            notification,
        )
        .await
    }

    async fn bring_retries_forward(&self, now: DateTime<Utc>) -> Result<u64> {
        self.db
            .execute(
                "UPDATE notifications SET next_attempt_at = ?1 WHERE status = 'queued' AND attempts > 0 AND next_attempt_at > ?1",
                &[time_text(now).into()],
            )
            .await
    }

    async fn notifications_by_id(&self, ids: &[String]) -> Result<Vec<Notification>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|index| format!("?{index}")).collect();
            let params: Vec<Value> = chunk.iter().map(|id| id.as_str().into()).collect();
            found.extend(self.all(&format!("SELECT {COLUMNS} FROM notifications WHERE id IN ({})", placeholders.join(", ")), &params, notification).await?);
        }
        Ok(found)
    }
}
