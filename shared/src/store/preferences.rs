//! How each account is reached ([`crate::preferences`], [`crate::contact`]): its contact points
//! with their one-time codes, and its choice of channels per kind of notification. The writes
//! a change makes (a new code, a confirmed address, saved choices) are ones a plan records, so
//! each is applied with its audit event and, for a new code, its message in the outbox.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, SqlStore, Store, optional_time, time, time_text};
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
pub async fn reach(store: &dyn Store, person_id: &str) -> Result<Option<Reach>> {
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
pub async fn recipients_for(store: &dyn Store, person_id: &str, kind: NotificationKind) -> Result<Recipients> {
    Ok(reach(store, person_id).await?.map(|reach| preferences::recipients(kind, &reach)).unwrap_or_default())
}

const POINT_COLUMNS: &str = "person_id, medium, address, verified_at, pending_address, code_hash, code_expires_at, wrong_tries, updated_at";

/// A contact point from a row of [`POINT_COLUMNS`] (or the duty contacts' same columns).
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

/// Stops a confirmation (and its plan) unless the code it checked is still the one waiting.
const CODE_GUARD: &str = "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS
    (SELECT 1 FROM contact_points WHERE person_id = ?2 AND medium = ?3 AND code_hash = ?4)";

#[async_trait(?Send)]
impl PreferenceStore for SqlStore<'_> {
    async fn contact_points(&self, person_id: &str) -> Result<Vec<ContactPoint>> {
        self.all(&format!("SELECT {POINT_COLUMNS} FROM contact_points WHERE person_id = ?1 ORDER BY medium"), &[person_id.into()], contact_point).await
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
        self.db
            .execute(
                "INSERT INTO contact_points (person_id, medium, pending_address, code_hash, code_expires_at, wrong_tries, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
                 ON CONFLICT (person_id, medium) DO UPDATE SET pending_address = ?3, code_hash = ?4, code_expires_at = ?5, wrong_tries = 0, updated_at = ?6",
                &[person_id.into(), medium.as_str().into(), address.into(), code_hash.into(), time_text(expires_at).into(), time_text(now).into()],
            )
            .await
            .map(|_| ())
    }

    async fn count_contact_try(&self, person_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<Option<ContactPoint>> {
        self.one(
            &format!(
                "UPDATE contact_points SET wrong_tries = wrong_tries + 1, updated_at = ?4
                 WHERE person_id = ?1 AND medium = ?2 AND code_hash = ?3 AND wrong_tries < ?5
                 RETURNING {POINT_COLUMNS}"
            ),
            &[person_id.into(), medium.as_str().into(), code_hash.into(), time_text(now).into(), Value::Integer(MAX_TRIES)],
            contact_point,
        )
        .await
    }

    async fn confirm_contact(&self, person_id: &str, medium: Medium, code_hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.db.execute(CODE_GUARD, &[crate::plan::STALE.into(), person_id.into(), medium.as_str().into(), code_hash.into()]).await?;
        self.db
            .execute(
                "UPDATE contact_points SET address = pending_address, verified_at = ?4, pending_address = NULL, code_hash = NULL,
                        code_expires_at = NULL, wrong_tries = 0, updated_at = ?4
                 WHERE person_id = ?1 AND medium = ?2 AND code_hash = ?3",
                &[person_id.into(), medium.as_str().into(), code_hash.into(), time_text(now).into()],
            )
            .await
            .map(|_| ())
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
