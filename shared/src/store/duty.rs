//! A care provider's duty contact ([`crate::contact`]): the email address and mobile number of
//! its on-call duty manager, each with its one-time code, kept per organisation. The rows read
//! back as [`ContactPoint`]s whose owner is [`crate::contact::duty_owner`], so the code rules
//! (hash, expiry, tries, lock) are a person's own. The writes are ones a plan records, with their
//! administration-log entry and, for a new code, its message in the outbox.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::preferences::PointTable;
use super::{Result, SqlStore};
use crate::contact::{ContactPoint, Medium};

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

/// The duty contacts, read back as points owned by [`crate::contact::duty_owner`].
pub(super) const DUTY_POINTS: PointTable = PointTable {
    table: "duty_contacts",
    owner: "organisation_id",
    columns: "'organisation:' || organisation_id, medium, address, verified_at, pending_address, code_hash, code_expires_at, wrong_tries, updated_at",
};

#[async_trait(?Send)]
impl DutyContactStore for SqlStore<'_> {
    async fn duty_contact_points(&self, organisation_id: &str) -> Result<Vec<ContactPoint>> {
        DUTY_POINTS.points(self, organisation_id).await
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
        DUTY_POINTS.start_check(self, organisation_id, medium, address, code_hash, expires_at, now).await
    }

    async fn count_duty_contact_try(&self, organisation_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<Option<ContactPoint>> {
        DUTY_POINTS.count_try(self, organisation_id, medium, code_hash, now).await
    }

    async fn confirm_duty_contact(&self, organisation_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<()> {
        DUTY_POINTS.confirm(self, organisation_id, medium, code_hash, now).await
    }
}
