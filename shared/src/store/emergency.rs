//! Emergency access's part of the store: codes (held only as hashes), their wrong attempts, and
//! the clinicians' four-hour accesses.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, SqlStore, optional_time, time, time_text};
use crate::db::{DbError, Row, Statement};
use crate::emergency::{Clinician, CodeEnd, EmergencyAccess, EmergencyCodeRecord};

/// Turning emergency codes on and off, and the accesses made with them.
#[async_trait(?Send)]
pub trait EmergencyStore {
    /// Turns on `code` for its person. In one batch, the person's live code (if any) ends as
    /// replaced by `code.issued_by`, with any access still open under it.
    async fn replace_emergency_code(&self, code: &EmergencyCodeRecord) -> Result<()>;
    /// Turns off the person's live code (and ends any access still open under it); `false` if
    /// they had none.
    async fn turn_off_emergency_code(&self, person_id: &str, ended_by: &str, now: DateTime<Utc>) -> Result<bool>;
    /// The person's live code, if any.
    async fn live_emergency_code(&self, person_id: &str) -> Result<Option<EmergencyCodeRecord>>;
    /// Every code, live or ended, with this public selector.
    async fn emergency_codes_by_selector(&self, selector: &str) -> Result<Vec<EmergencyCodeRecord>>;
    /// Counts a wrong code against a live code; the count so far, or `None` if it is not live.
    async fn record_failed_emergency_attempt(&self, code_id: &str) -> Result<Option<i64>>;

    /// Starts an emergency access. The database refuses it (a constraint error) unless its
    /// code is live and is the same person's.
    async fn insert_emergency_access(&self, access: &EmergencyAccess) -> Result<()>;
    /// The access whose cookie token has this hash.
    async fn emergency_access_by_token(&self, token_hash: &str) -> Result<Option<EmergencyAccess>>;
    /// The access with this id (a stop link names it).
    async fn emergency_access(&self, id: &str) -> Result<Option<EmergencyAccess>>;
    /// Ends an access (the clinician left); `false` if it had ended already.
    async fn end_emergency_access(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Accesses to one person's record started at or after `since`, newest first.
    async fn emergency_accesses_for_person(&self, person_id: &str, since: DateTime<Utc>) -> Result<Vec<EmergencyAccess>>;
    /// The newest accesses to anyone's record, at most `limit`.
    async fn recent_emergency_accesses(&self, limit: i64) -> Result<Vec<EmergencyAccess>>;
}

const CODE_COLUMNS: &str = "id, person_id, selector, verifier_hash, issued_by, basis, issued_at, ended_at, ended_by, end_reason, failed_attempts";

fn code(row: &Row) -> Result<EmergencyCodeRecord> {
    Ok(EmergencyCodeRecord {
        id: row.text(0)?,
        person_id: row.text(1)?,
        selector: row.text(2)?,
        verifier_hash: row.text(3)?,
        issued_by: row.text(4)?,
        basis: row.text(5)?,
        issued_at: time(row, 6)?,
        ended_at: optional_time(row, 7)?,
        ended_by: row.optional_text(8)?,
        end_reason: match row.optional_text(9)? {
            None => None,
            Some(text) => Some(CodeEnd::parse(&text).ok_or_else(|| DbError::Decode(format!("unknown end of an emergency code {text}")))?),
        },
        failed_attempts: row.integer(10)?,
    })
}

const ACCESS_COLUMNS: &str = "id, token_hash, code_id, person_id, clinician_name, clinician_role, organisation, started_at, expires_at, ended_at";

fn access(row: &Row) -> Result<EmergencyAccess> {
    Ok(EmergencyAccess {
        id: row.text(0)?,
        token_hash: row.text(1)?,
        code_id: row.text(2)?,
        person_id: row.text(3)?,
        clinician: Clinician { name: row.text(4)?, role: row.text(5)?, organisation: row.text(6)? },
        started_at: time(row, 7)?,
        expires_at: time(row, 8)?,
        ended_at: optional_time(row, 9)?,
    })
}

/// Ends the accesses still open under a person's live code (before the code itself ends).
const END_OPEN_ACCESSES: &str = "UPDATE emergency_accesses SET ended_at = ?2
     WHERE ended_at IS NULL AND expires_at > ?2
       AND code_id IN (SELECT id FROM emergency_codes WHERE person_id = ?1 AND ended_at IS NULL)";

#[async_trait(?Send)]
impl EmergencyStore for SqlStore<'_> {
    async fn replace_emergency_code(&self, code: &EmergencyCodeRecord) -> Result<()> {
        let now = time_text(code.issued_at);
        self.db
            .batch(&[
                Statement { sql: END_OPEN_ACCESSES.into(), params: vec![code.person_id.as_str().into(), now.clone().into()] },
                Statement {
                    sql: "UPDATE emergency_codes SET ended_at = ?2, ended_by = ?3, end_reason = 'replaced' WHERE person_id = ?1 AND ended_at IS NULL".into(),
                    params: vec![code.person_id.as_str().into(), now.into(), code.issued_by.as_str().into()],
                },
                Statement {
                    sql: "INSERT INTO emergency_codes (id, person_id, selector, verifier_hash, issued_by, basis, issued_at, ended_at, ended_by, end_reason, failed_attempts)
                          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, NULL, 0)".into(),
                    params: vec![
                        code.id.as_str().into(),
                        code.person_id.as_str().into(),
                        code.selector.as_str().into(),
                        code.verifier_hash.as_str().into(),
                        code.issued_by.as_str().into(),
                        code.basis.as_str().into(),
                        time_text(code.issued_at).into(),
                    ],
                },
            ])
            .await
    }

    async fn turn_off_emergency_code(&self, person_id: &str, ended_by: &str, now: DateTime<Utc>) -> Result<bool> {
        // A guard, not a read: in a plan, turning off a code that is already off stops the plan.
        if !self
            .guard(
                "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM emergency_codes WHERE person_id = ?2 AND ended_at IS NULL)",
                &[person_id.into()],
            )
            .await?
        {
            return Ok(false);
        }
        self.db
            .batch(&[
                Statement { sql: END_OPEN_ACCESSES.into(), params: vec![person_id.into(), time_text(now).into()] },
                Statement {
                    sql: "UPDATE emergency_codes SET ended_at = ?2, ended_by = ?3, end_reason = 'turned_off' WHERE person_id = ?1 AND ended_at IS NULL".into(),
                    params: vec![person_id.into(), time_text(now).into(), ended_by.into()],
                },
            ])
            .await?;
        Ok(true)
    }

    async fn live_emergency_code(&self, person_id: &str) -> Result<Option<EmergencyCodeRecord>> {
        self.one(&format!("SELECT {CODE_COLUMNS} FROM emergency_codes WHERE person_id = ?1 AND ended_at IS NULL"), &[person_id.into()], code).await
    }

    async fn emergency_codes_by_selector(&self, selector: &str) -> Result<Vec<EmergencyCodeRecord>> {
        self.all(&format!("SELECT {CODE_COLUMNS} FROM emergency_codes WHERE selector = ?1 ORDER BY issued_at, id"), &[selector.into()], code).await
    }

    async fn record_failed_emergency_attempt(&self, code_id: &str) -> Result<Option<i64>> {
        self.one(
            "UPDATE emergency_codes SET failed_attempts = failed_attempts + 1 WHERE id = ?1 AND ended_at IS NULL RETURNING failed_attempts",
            &[code_id.into()],
            |row| row.integer(0),
        )
        .await
    }

    async fn insert_emergency_access(&self, access: &EmergencyAccess) -> Result<()> {
        self.db
            .execute(
                &format!("INSERT INTO emergency_accesses ({ACCESS_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                &[
                    access.id.as_str().into(),
                    access.token_hash.as_str().into(),
                    access.code_id.as_str().into(),
                    access.person_id.as_str().into(),
                    access.clinician.name.as_str().into(),
                    access.clinician.role.as_str().into(),
                    access.clinician.organisation.as_str().into(),
                    time_text(access.started_at).into(),
                    time_text(access.expires_at).into(),
                    access.ended_at.map(time_text).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn emergency_access_by_token(&self, token_hash: &str) -> Result<Option<EmergencyAccess>> {
        self.one(&format!("SELECT {ACCESS_COLUMNS} FROM emergency_accesses WHERE token_hash = ?1"), &[token_hash.into()], access).await
    }

    async fn emergency_access(&self, id: &str) -> Result<Option<EmergencyAccess>> {
        self.one(&format!("SELECT {ACCESS_COLUMNS} FROM emergency_accesses WHERE id = ?1"), &[id.into()], access).await
    }

    async fn end_emergency_access(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let changed =
            self.db.execute("UPDATE emergency_accesses SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL", &[id.into(), time_text(now).into()]).await?;
        Ok(changed > 0)
    }

    async fn emergency_accesses_for_person(&self, person_id: &str, since: DateTime<Utc>) -> Result<Vec<EmergencyAccess>> {
        self.all(
            &format!("SELECT {ACCESS_COLUMNS} FROM emergency_accesses WHERE person_id = ?1 AND started_at >= ?2 ORDER BY started_at DESC, id DESC"),
            &[person_id.into(), time_text(since).into()],
            access,
        )
        .await
    }

    async fn recent_emergency_accesses(&self, limit: i64) -> Result<Vec<EmergencyAccess>> {
        self.all(&format!("SELECT {ACCESS_COLUMNS} FROM emergency_accesses ORDER BY started_at DESC, id DESC LIMIT ?1"), &[limit.into()], access).await
    }
}
