//! Account safety's part of the store: rotating a session, removing a passkey together with the
//! sessions it made, ending sessions, and the account events the home page's notice reads. Each
//! change that writes more than one row is one batch, audit event included: all or none.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{AUDIT_COLUMNS, PasskeyRemoval, Result, SqlStore, audit_event, time, time_text};
use crate::access::AuditAction;
use crate::db::{Statement, Value};
use crate::device::KnownDevice;
use crate::domain::{AuditEvent, SessionRecord};

/// Keeping a person's sessions and passkeys safe.
#[async_trait(?Send)]
pub trait AccountStore {
    /// Replaces the browser's session `previous` (if any) with `next` in one batch, so the old
    /// id is dead the moment the new one exists (rotation at sign-in and re-authentication).
    async fn rotate_session(&self, previous: Option<&str>, next: &SessionRecord) -> Result<()>;
    /// Removes one of the person's passkeys, never the last one; in the same batch ends the
    /// sessions it made and appends `event`.
    async fn remove_passkey(&self, person_id: &str, id: &str, event: &AuditEvent) -> Result<PasskeyRemoval>;
    /// Ends one of the person's sessions and appends `event` in one batch; `false` (and nothing
    /// written) if they have no such session.
    async fn end_person_session(&self, person_id: &str, id_hash: &str, event: &AuditEvent) -> Result<bool>;
    /// Ends every session of the person but `keep` (every one if `None`) and appends `event`, in
    /// one batch.
    async fn end_person_sessions(&self, person_id: &str, keep: Option<&str>, event: &AuditEvent) -> Result<()>;
    /// The audit events about `subject_id` with `action` at or after `since`, newest first.
    async fn audit_since(&self, subject_id: &str, action: AuditAction, since: DateTime<Utc>) -> Result<Vec<AuditEvent>>;
    /// The devices the person has signed in (or enrolled) from, first seen first.
    async fn known_devices(&self, person_id: &str) -> Result<Vec<KnownDevice>>;
    /// Records that the person signed in (or enrolled) from the device with `device_hash` at
    /// `now`: a new row, or a known one's last sighting. No read: record it in the sign-in's plan.
    async fn record_device(&self, person_id: &str, device_hash: &str, now: DateTime<Utc>) -> Result<()>;
}

/// The event's columns as parameters `?n` to `?n+8`, after `leading` parameters.
fn with_event(leading: Vec<Value>, event: &AuditEvent) -> Vec<Value> {
    let mut params = leading;
    params.extend(crate::plan::audit_params(event));
    params
}

fn append(event: &AuditEvent) -> Statement {
    crate::plan::audit_statement(event)
}

impl SqlStore<'_> {
    async fn has_passkey(&self, person_id: &str, id: &str) -> Result<bool> {
        Ok(!self.db.query("SELECT 1 FROM passkeys WHERE id = ?1 AND person_id = ?2", &[id.into(), person_id.into()]).await?.is_empty())
    }
}

#[async_trait(?Send)]
impl AccountStore for SqlStore<'_> {
    async fn rotate_session(&self, previous: Option<&str>, next: &SessionRecord) -> Result<()> {
        let mut statements = Vec::new();
        if let Some(previous) = previous {
            statements.push(Statement { sql: "DELETE FROM sessions WHERE id_hash = ?1".into(), params: vec![previous.into()] });
        }
        statements.push(Statement {
            sql: "INSERT INTO sessions (id_hash, person_id, created_at, last_seen_at, verified_at, passkey_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)".into(),
            params: vec![
                next.id_hash.as_str().into(),
                next.person_id.as_str().into(),
                time_text(next.created_at).into(),
                time_text(next.last_seen_at).into(),
                time_text(next.verified_at).into(),
                next.passkey_id.as_deref().into(),
            ],
        });
        self.db.batch(&statements).await
    }

    async fn remove_passkey(&self, person_id: &str, id: &str, event: &AuditEvent) -> Result<PasskeyRemoval> {
        if !self.has_passkey(person_id, id).await? {
            return Ok(PasskeyRemoval::NotFound);
        }
        // Every statement carries the same condition, checked inside the one transaction (the
        // passkey's row goes last, so it still holds for the others), so two removals racing each
        // other cannot leave the person without a passkey.
        let keys = || vec![Value::from(id), Value::from(person_id)];
        self.db
            .batch(&[
                Statement {
                    sql: "DELETE FROM sessions WHERE passkey_id = ?1 AND person_id = ?2
                            AND EXISTS (SELECT 1 FROM passkeys WHERE id = ?1 AND person_id = ?2)
                            AND (SELECT COUNT(*) FROM passkeys WHERE person_id = ?2) > 1"
                        .into(),
                    params: keys(),
                },
                Statement {
                    sql: "INSERT INTO audit_events (id, at, actor_id, acting_for, subject_id, action, category, basis, detail)
                          SELECT ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
                          WHERE EXISTS (SELECT 1 FROM passkeys WHERE id = ?1 AND person_id = ?2)
                            AND (SELECT COUNT(*) FROM passkeys WHERE person_id = ?2) > 1"
                        .into(),
                    params: with_event(keys(), event),
                },
                Statement {
                    sql: "DELETE FROM passkeys WHERE id = ?1 AND person_id = ?2 AND (SELECT COUNT(*) FROM passkeys WHERE person_id = ?2) > 1".into(),
                    params: keys(),
                },
            ])
            .await?;
        Ok(if self.has_passkey(person_id, id).await? { PasskeyRemoval::LastOne } else { PasskeyRemoval::Removed })
    }

    async fn end_person_session(&self, person_id: &str, id_hash: &str, event: &AuditEvent) -> Result<bool> {
        let found = self.db.query("SELECT 1 FROM sessions WHERE id_hash = ?1 AND person_id = ?2", &[id_hash.into(), person_id.into()]).await?;
        if found.is_empty() {
            return Ok(false);
        }
        self.db
            .batch(&[
                Statement { sql: "DELETE FROM sessions WHERE id_hash = ?1 AND person_id = ?2".into(), params: vec![id_hash.into(), person_id.into()] },
                append(event),
            ])
            .await?;
        Ok(true)
    }

    async fn end_person_sessions(&self, person_id: &str, keep: Option<&str>, event: &AuditEvent) -> Result<()> {
        self.db
            .batch(&[
                Statement {
                    sql: "DELETE FROM sessions WHERE person_id = ?1 AND (?2 IS NULL OR id_hash <> ?2)".into(),
                    params: vec![person_id.into(), keep.into()],
                },
                append(event),
            ])
            .await
    }

    async fn audit_since(&self, subject_id: &str, action: AuditAction, since: DateTime<Utc>) -> Result<Vec<AuditEvent>> {
        let action = action.as_str();
        self.all(
            &format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE subject_id = ?1 AND action = ?2 AND at >= ?3 ORDER BY at DESC, id DESC"),
            &[subject_id.into(), action.into_owned().into(), time_text(since).into()],
            audit_event,
        )
        .await
    }

    async fn known_devices(&self, person_id: &str) -> Result<Vec<KnownDevice>> {
        self.all(
            "SELECT device_hash, first_seen_at, last_seen_at FROM known_devices WHERE person_id = ?1 ORDER BY first_seen_at, device_hash",
            &[person_id.into()],
            |row| Ok(KnownDevice { device_hash: row.text(0)?, first_seen_at: time(row, 1)?, last_seen_at: time(row, 2)? }),
        )
        .await
    }

    async fn record_device(&self, person_id: &str, device_hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO known_devices (person_id, device_hash, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (person_id, device_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                &[person_id.into(), device_hash.into(), time_text(now).into()],
            )
            .await
            .map(|_| ())
    }
}
