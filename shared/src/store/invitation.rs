//! Council staff's part of invitations: a person's invitations, issuing one only when none is
//! waiting, cancelling one, and everyone who has not enrolled yet. The writes carry their own
//! guards, so in a plan a stale or doubled request stops the whole batch and leaves at most one
//! invitation waiting.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{INVITATION_COLUMNS, PERSON_COLUMNS, Result, SqlStore, invitation, person, time_text};
use crate::db::{Row, Value};
use crate::domain::{Invitation, Person};
use crate::invitation::MAX_FAILED_ATTEMPTS;

/// Someone who has no passkey yet, with their latest invitation (if they were ever sent one).
#[derive(Debug, Clone, PartialEq)]
pub struct NotEnrolled {
    /// The service user or representative.
    pub person: Person,
    /// Their newest invitation, in any state.
    pub latest: Option<Invitation>,
}

/// Stops the plan if the person already has a waiting invitation (`?2` the person, `?3` now,
/// `?4` the wrong tries that lock one): the condition of [`crate::invitation::InvitationState::Waiting`].
const NO_WAITING_GUARD: &str = "INSERT INTO plan_guards (reason) SELECT ?1 WHERE EXISTS (SELECT 1 FROM invitations
     WHERE person_id = ?2 AND used_at IS NULL AND cancelled_at IS NULL AND expires_at > ?3 AND failed_attempts < ?4)";

/// Stops the plan unless the invitation (`?2`) of the person (`?3`) is still open: not used,
/// not cancelled, not out of time at `?4`.
const OPEN_GUARD: &str = "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM invitations
     WHERE id = ?2 AND person_id = ?3 AND used_at IS NULL AND cancelled_at IS NULL AND expires_at > ?4)";

/// Invitations as council staff manage them.
#[async_trait(?Send)]
pub trait InvitationStore {
    /// Every invitation of the person, newest first.
    async fn invitations_for_person(&self, person_id: &str) -> Result<Vec<Invitation>>;
    /// Stores a new invitation only if the person has none waiting at `now` (in a plan, one
    /// waiting stops the whole batch: a doubled "issue" or "reissue" leaves one, not two);
    /// `false` if one was waiting and nothing was written.
    async fn insert_only_invitation(&self, invitation: &Invitation, now: DateTime<Utc>) -> Result<bool>;
    /// Cancels the person's invitation `id` if it is still open at `now` (in a plan, one already
    /// used, cancelled or out of time stops the whole batch); `false` if it was not open.
    async fn cancel_invitation(&self, person_id: &str, id: &str, cancelled_by: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Service users and representatives with no passkey, with their latest invitation: those
    /// waiting longest first (by their latest invitation, or when they were added if never
    /// invited), at most `limit`.
    async fn not_enrolled(&self, limit: i64) -> Result<Vec<NotEnrolled>>;
}

fn not_enrolled_row(row: &Row) -> Result<NotEnrolled> {
    let person = person(row)?;
    let rest = Row(row.0.get(6..).map(<[Value]>::to_vec).unwrap_or_default());
    let latest = match rest.0.first() {
        Some(Value::Null) | None => None,
        Some(_) => Some(invitation(&rest)?),
    };
    Ok(NotEnrolled { person, latest })
}

#[async_trait(?Send)]
impl InvitationStore for SqlStore<'_> {
    async fn invitations_for_person(&self, person_id: &str) -> Result<Vec<Invitation>> {
        self.all(
            &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE person_id = ?1 ORDER BY created_at DESC, id DESC"),
            &[person_id.into()],
            invitation,
        )
        .await
    }

    async fn insert_only_invitation(&self, invitation: &Invitation, now: DateTime<Utc>) -> Result<bool> {
        use super::Store as _;
        let params = [invitation.person_id.as_str().into(), time_text(now).into(), MAX_FAILED_ATTEMPTS.into()];
        if !self.guard(NO_WAITING_GUARD, &params).await? {
            return Ok(false);
        }
        self.insert_invitation(invitation).await?;
        Ok(true)
    }

    async fn cancel_invitation(&self, person_id: &str, id: &str, cancelled_by: &str, now: DateTime<Utc>) -> Result<bool> {
        if !self.guard(OPEN_GUARD, &[id.into(), person_id.into(), time_text(now).into()]).await? {
            return Ok(false);
        }
        let changed = self
            .db
            .execute(
                "UPDATE invitations SET cancelled_at = ?3, cancelled_by = ?4
                 WHERE id = ?1 AND person_id = ?2 AND used_at IS NULL AND cancelled_at IS NULL",
                &[id.into(), person_id.into(), time_text(now).into(), cancelled_by.into()],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn not_enrolled(&self, limit: i64) -> Result<Vec<NotEnrolled>> {
        let person_columns = PERSON_COLUMNS.split(", ").map(|column| format!("p.{column}")).collect::<Vec<_>>().join(", ");
        let invitation_columns = INVITATION_COLUMNS.split(", ").map(|column| format!("i.{}", column.trim())).collect::<Vec<_>>().join(", ");
        self.all(
            &format!(
                "SELECT {person_columns}, {invitation_columns} FROM people p
                 LEFT JOIN invitations i ON i.id = (SELECT id FROM invitations WHERE person_id = p.id ORDER BY created_at DESC, id DESC LIMIT 1)
                 WHERE p.role IN ('service_user', 'representative') AND NOT EXISTS (SELECT 1 FROM passkeys WHERE passkeys.person_id = p.id)
                 ORDER BY COALESCE(i.created_at, p.created_at), p.id
                 LIMIT ?1"
            ),
            &[limit.into()],
            not_enrolled_row,
        )
        .await
    }
}
