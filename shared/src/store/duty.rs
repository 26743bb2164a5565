//! A care provider's duty contact ([`crate::contact`]): the email address and mobile number of
//! its on-call duty manager, each with its one-time code, kept per organisation. The rows read
//! back as [`ContactPoint`]s whose owner is [`crate::contact::duty_owner`], so the code rules
//! (hash, expiry, tries, lock) are a person's own. The writes are ones a plan records, with their
//! administration-log entry and, for a new code, its message in the outbox.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::preferences::contact_point;
use super::{Result, SqlStore, time_text};
use crate::contact::{ContactPoint, MAX_TRIES, Medium};
use crate::db::Value;

/// Duty contacts of care providers.
#[async_trait(?Send)]
pub trait DutyContactStore {
    /// The organisation's duty contact points (at most one email and one phone), each owned by
    /// [`crate::contact::duty_owner`] of it.
    async fn duty_contact_points(&self, organisation_id: &str) -> Result<Vec<ContactPoint>>;
    /// Keeps `address` as the organisation's pending duty `medium`, with a new code's hash and
    /// expiry and no tries yet; the confirmed one stays in use meanwhile. No read: record it in
    /// the plan that queues the code's message.
    async fn start_duty_contact_check(
        &self,
        organisation_id: &str,
        medium: Medium,
        address: &str,
        code_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Counts one try at the code with `code_hash` in one statement, before it is checked; the
    /// point after the count, or `None` when that code is no longer waiting or is locked.
    async fn count_duty_contact_try(&self, organisation_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<Option<ContactPoint>>;
    /// Makes the pending address with `code_hash` the confirmed one at `now`. In a plan, stops
    /// the plan if a new code was asked for in between.
    async fn confirm_duty_contact(&self, organisation_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<()>;
}

const DUTY_COLUMNS: &str =
    "'organisation:' || organisation_id, medium, address, verified_at, pending_address, code_hash, code_expires_at, wrong_tries, updated_at";

/// Stops a confirmation (and its plan) unless the code it checked is still the one waiting.
const DUTY_CODE_GUARD: &str = "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS
    (SELECT 1 FROM duty_contacts WHERE organisation_id = ?2 AND medium = ?3 AND code_hash = ?4)";

#[async_trait(?Send)]
impl DutyContactStore for SqlStore<'_> {
    async fn duty_contact_points(&self, organisation_id: &str) -> Result<Vec<ContactPoint>> {
        self.all(&format!("SELECT {DUTY_COLUMNS} FROM duty_contacts WHERE organisation_id = ?1 ORDER BY medium"), &[organisation_id.into()], contact_point)
            .await
    }

    async fn start_duty_contact_check(
        &self,
        organisation_id: &str,
        medium: Medium,
        address: &str,
        code_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO duty_contacts (organisation_id, medium, pending_address, code_hash, code_expires_at, wrong_tries, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
                 ON CONFLICT (organisation_id, medium) DO UPDATE SET pending_address = ?3, code_hash = ?4, code_expires_at = ?5, wrong_tries = 0, updated_at = ?6",
                &[organisation_id.into(), medium.as_str().into(), address.into(), code_hash.into(), time_text(expires_at).into(), time_text(now).into()],
            )
            .await
            .map(|_| ())
    }

    async fn count_duty_contact_try(&self, organisation_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<Option<ContactPoint>> {
        self.one(
            &format!(
                "UPDATE duty_contacts SET wrong_tries = wrong_tries + 1, updated_at = ?4
                 WHERE organisation_id = ?1 AND medium = ?2 AND code_hash = ?3 AND wrong_tries < ?5
                 RETURNING {DUTY_COLUMNS}"
            ),
            &[organisation_id.into(), medium.as_str().into(), code_hash.into(), time_text(now).into(), Value::Integer(MAX_TRIES)],
            contact_point,
        )
        .await
    }

    async fn confirm_duty_contact(&self, organisation_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.db.execute(DUTY_CODE_GUARD, &[crate::plan::STALE.into(), organisation_id.into(), medium.as_str().into(), code_hash.into()]).await?;
        self.db
            .execute(
                "UPDATE duty_contacts SET address = pending_address, verified_at = ?4, pending_address = NULL, code_hash = NULL,
                        code_expires_at = NULL, wrong_tries = 0, updated_at = ?4
                 WHERE organisation_id = ?1 AND medium = ?2 AND code_hash = ?3",
                &[organisation_id.into(), medium.as_str().into(), code_hash.into(), time_text(now).into()],
            )
            .await
            .map(|_| ())
    }
}
