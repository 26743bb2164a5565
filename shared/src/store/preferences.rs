//! How each account is reached ([`crate::preferences`], [`crate::contact`]): its contact points
//! with their one-time codes, and its choice of channels per kind of notification. The writes
//! a change makes (a new code, a confirmed address, saved choices) are ones a plan records, so
//! each is applied with its audit event and, for a new code, its message in the outbox.

use crate::store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, SqlStore, optional_time, time, time_text};
use crate::contact::{ContactPoint, MAX_TRIES, Medium};
use crate::db::{DbError, Row, Value};
use crate::outbox::{Channel, NotificationKind};
use crate::preferences::{self, Reach, Recipients};

/// Contact points and notification choices.
#[async_trait(?Send)]
pub trait PreferenceStore {
    /// The person's contact points (at most one email and one phone).
    async fn contact_points(&self, person_id: &str) -> Result<Vec<ContactPoint>>;
    /// Keeps `address` as the person's pending `medium`, with a new code's hash and expiry, and
    /// no tries yet; the confirmed address, if any, stays in use until this one is confirmed. No
    /// read: record it in the plan that queues the code's message.
    async fn start_contact_check(
        &self,
        person_id: &str,
        medium: Medium,
        address: &str,
        code_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Counts one try at the code with `code_hash`, in one statement, before the code is
    /// checked (so racing tries cannot pass the limit); the contact point after the count, or
    /// `None` when that code is no longer waiting or every try is used.
    async fn count_contact_try(&self, person_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<Option<ContactPoint>>;
    /// Makes the pending address with `code_hash` the confirmed one at `now` and clears the
    /// code. In a plan, stops the plan if a new code was asked for in between.
    async fn confirm_contact(&self, person_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<()>;
    /// The person's choices, by kind (an empty set: "none").
    async fn notification_choices(&self, person_id: &str) -> Result<BTreeMap<NotificationKind, BTreeSet<Channel>>>;
    /// Saves the person's choices for the kinds in `choices` (others are left as they are). No
    /// read: record it in a plan with its audit event.
    async fn save_notification_choices(&self, person_id: &str, choices: &BTreeMap<NotificationKind, BTreeSet<Channel>>, now: DateTime<Utc>) -> Result<()>;
}

/// Everything that decides how `person_id` is told ([`Reach`]): their choices, live needs,
/// confirmed contact points and letter address (from the council's record). `None` if there is
/// no such person.
pub async fn reach(store: &SqlStore<'_>, person_id: &str) -> Result<Option<Reach>> {
    let Some(details) = store.person_details(person_id).await? else { return Ok(None) };
    let points = store.contact_points(person_id).await?;
    let verified = |medium: Medium| points.iter().find(|point| point.medium == medium).and_then(ContactPoint::verified).map(str::to_owned);
    Ok(Some(Reach {
        choices: store.notification_choices(person_id).await?,
        needs: Reach::live_needs(&store.needs(person_id, false).await?),
        email: verified(Medium::Email),
        phone: verified(Medium::Phone),
        letter: preferences::letter_address(&details.display_name, details.address.as_deref(), details.postcode.as_deref()),
    }))
}

/// Who to send a notification of `kind` for `person_id` to, and how (see
/// [`preferences::recipients`]): each `(channel, recipient)` goes into one
/// [`crate::outbox::Notification::queued`]. Nobody (and no carer) for an unknown person.
pub async fn recipients_for(store: &SqlStore<'_>, person_id: &str, kind: NotificationKind) -> Result<Recipients> {
    Ok(reach(store, person_id).await?.map(|reach| preferences::recipients(kind, &reach)).unwrap_or_default())
}

/// A table of contact points with their one-time codes, kept per owner: a person's own
/// (`contact_points`) or a care provider's duty contact (`duty_contacts`). The same columns and
/// code rules (hash, expiry, tries, lock) serve both; only the table and its owner differ.
pub(super) struct PointTable {
    /// The table.
    pub(super) table: &'static str,
    /// Its owner column.
    pub(super) owner: &'static str,
    /// The columns read back, the owner first as a [`ContactPoint`] names it.
    pub(super) columns: &'static str,
}

/// A person's own contact points.
const PERSON_POINTS: PointTable = PointTable {
    table: "contact_points",
    owner: "person_id",
    columns: "person_id, medium, address, verified_at, pending_address, code_hash, code_expires_at, wrong_tries, updated_at",
};

impl PointTable {
    /// The owner's points, email then phone.
    pub(super) async fn points(&self, store: &SqlStore<'_>, owner: &str) -> Result<Vec<ContactPoint>> {
        let PointTable { table, owner: column, columns } = self;
        store.all(&format!("SELECT {columns} FROM {table} WHERE {column} = ?1 ORDER BY medium"), &[owner.into()], contact_point).await
    }

    /// Keeps `address` as the owner's pending `medium`, with a new code's hash and expiry and no
    /// tries yet; the confirmed one stays in use meanwhile.
    #[allow(clippy::too_many_arguments)] // one statement's values, each its own
    pub(super) async fn start_check(
        &self,
        store: &SqlStore<'_>,
        owner: &str,
        medium: Medium,
        address: &str,
        code_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let PointTable { table, owner: column, .. } = self;
        let sql = format!(
            "INSERT INTO {table} ({column}, medium, pending_address, code_hash, code_expires_at, wrong_tries, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
             ON CONFLICT ({column}, medium) DO UPDATE SET pending_address = ?3, code_hash = ?4, code_expires_at = ?5, wrong_tries = 0, updated_at = ?6"
        );
        let values = [owner.into(), medium.as_str().into(), address.into(), code_hash.into(), time_text(expires_at).into(), time_text(now).into()];
        store.db.execute(&sql, &values).await.map(|_| ())
    }

    /// Counts one try at the code with `code_hash` in one statement, before it is checked; the
    /// point after the count, or `None` when that code is no longer waiting or is locked.
    pub(super) async fn count_try(
        &self,
        store: &SqlStore<'_>,
        owner: &str,
        medium: Medium,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ContactPoint>> {
        let PointTable { table, owner: column, columns } = self;
        let sql = format!(
            "UPDATE {table} SET wrong_tries = wrong_tries + 1, updated_at = ?4
             WHERE {column} = ?1 AND medium = ?2 AND code_hash = ?3 AND wrong_tries < ?5
             RETURNING {columns}"
        );
        let values = [owner.into(), medium.as_str().into(), code_hash.into(), time_text(now).into(), Value::Integer(MAX_TRIES)];
        store.one(&sql, &values, contact_point).await
    }

    /// Makes the pending address with `code_hash` the confirmed one at `now`. In a plan, a guard
    /// first stops the plan unless the code it checked is still the one waiting (no new code was
    /// asked for in between).
    pub(super) async fn confirm(&self, store: &SqlStore<'_>, owner: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<()> {
        let PointTable { table, owner: column, .. } = self;
        let guard = format!(
            "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {column} = ?2 AND medium = ?3 AND code_hash = ?4)"
        );
        store.db.execute(&guard, &[crate::plan::STALE.into(), owner.into(), medium.as_str().into(), code_hash.into()]).await?;
        let sql = format!(
            "UPDATE {table} SET address = pending_address, verified_at = ?4, pending_address = NULL, code_hash = NULL,
                    code_expires_at = NULL, wrong_tries = 0, updated_at = ?4
             WHERE {column} = ?1 AND medium = ?2 AND code_hash = ?3"
        );
        store.db.execute(&sql, &[owner.into(), medium.as_str().into(), code_hash.into(), time_text(now).into()]).await.map(|_| ())
    }
}

/// A contact point from a row of a [`PointTable`]'s columns.
pub(super) fn contact_point(row: &Row) -> Result<ContactPoint> {
    let medium = row.text(1)?;
    Ok(ContactPoint {
        person_id: row.text(0)?,
        medium: Medium::parse(&medium).ok_or_else(|| DbError::Decode(format!("unknown contact medium {medium}")))?,
        address: row.optional_text(2)?,
        verified_at: optional_time(row, 3)?,
        pending_address: row.optional_text(4)?,
        code_hash: row.optional_text(5)?,
        code_expires_at: optional_time(row, 6)?,
        wrong_tries: row.integer(7)?,
        updated_at: time(row, 8)?,
    })
}

#[async_trait(?Send)]
impl PreferenceStore for SqlStore<'_> {
    async fn contact_points(&self, person_id: &str) -> Result<Vec<ContactPoint>> {
        PERSON_POINTS.points(self, person_id).await
    }

    async fn start_contact_check(
        &self,
        person_id: &str,
        medium: Medium,
        address: &str,
        code_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        PERSON_POINTS.start_check(self, person_id, medium, address, code_hash, expires_at, now).await
    }

    async fn count_contact_try(&self, person_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<Option<ContactPoint>> {
        PERSON_POINTS.count_try(self, person_id, medium, code_hash, now).await
    }

    async fn confirm_contact(&self, person_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<()> {
        PERSON_POINTS.confirm(self, person_id, medium, code_hash, now).await
    }

    async fn notification_choices(&self, person_id: &str) -> Result<BTreeMap<NotificationKind, BTreeSet<Channel>>> {
        let rows = self
            .all("SELECT kind, email, sms, letter FROM notification_choices WHERE person_id = ?1", &[person_id.into()], |row| {
                let kind = row.text(0)?;
                let kind = NotificationKind::parse(&kind).ok_or_else(|| DbError::Decode(format!("unknown notification kind {kind}")))?;
                let channels = [(1, Channel::Email), (2, Channel::Sms), (3, Channel::Letter)]
                    .into_iter()
                    .map(|(index, channel)| Ok((row.integer(index)? != 0).then_some(channel)))
                    .collect::<Result<Vec<_>>>()?;
                Ok((kind, channels.into_iter().flatten().collect::<BTreeSet<_>>()))
            })
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn save_notification_choices(&self, person_id: &str, choices: &BTreeMap<NotificationKind, BTreeSet<Channel>>, now: DateTime<Utc>) -> Result<()> {
        for (kind, channels) in choices {
            let on = |channel: Channel| Value::Integer(i64::from(channels.contains(&channel)));
            self.db
                .execute(
                    "INSERT INTO notification_choices (person_id, kind, email, sms, letter, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (person_id, kind) DO UPDATE SET email = ?3, sms = ?4, letter = ?5, updated_at = ?6",
                    &[person_id.into(), kind.as_str().into(), on(Channel::Email), on(Channel::Sms), on(Channel::Letter), time_text(now).into()],
                )
                .await?;
        }
        Ok(())
    }
}
