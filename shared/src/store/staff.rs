//! Staff accounts' part of the store: provider roles, the staff of an organisation with whether
//! they have enrolled, removing a member of staff's access, and the administration-log entries
//! these changes write. The changes are written against a plan's recorder (see
//! [`crate::plan`]) so the change and its log entry are one batch.

use async_trait::async_trait;

use super::credential::{ADMIN_EVENT_COLUMNS, INSERT_ADMIN_EVENT, admin_event, admin_event_params};
use super::{PERSON_COLUMNS, Result, SqlStore, optional_time, person, time_text};
use crate::administration::AdminEvent;
use crate::db::{DbError, Row, Statement, Value};
use crate::domain::{CouncilRole, ProviderRole, Role};
use crate::staff::{StaffMember, StaffPosition};

/// Keeping staff accounts.
#[async_trait(?Send)]
pub trait StaffStore {
    /// What a member of a provider's staff may do; `None` for anyone who is not provider staff.
    async fn provider_role(&self, person_id: &str) -> Result<Option<ProviderRole>>;
    /// Sets a provider staff member's provider role; `false` if they are not provider staff.
    async fn set_provider_role(&self, person_id: &str, role: ProviderRole) -> Result<bool>;
    /// The staff (council or provider) of an organisation, by name, removed ones included.
    async fn staff_of(&self, organisation_id: &str) -> Result<Vec<StaffMember>>;
    /// Every provider's administrators, by name, removed ones included.
    async fn provider_administrators(&self) -> Result<Vec<StaffMember>>;
    /// One member of staff (council or provider); `None` for anyone else.
    async fn staff_member(&self, person_id: &str) -> Result<Option<StaffMember>>;
    /// Appends an entry to the administration log (in a plan, with the change it records).
    async fn append_admin_event(&self, entry: &AdminEvent) -> Result<()>;
    /// Changes a member of council staff's council role and logs it, in one batch, only while
    /// they are still council staff of `council_id` with access and with role `from`; otherwise
    /// the batch stops with a constraint error and nothing is written (see
    /// [`crate::plan::Plan::guard`]).
    async fn change_council_role(&self, person_id: &str, council_id: &str, from: CouncilRole, to: CouncilRole, entry: &AdminEvent) -> Result<()>;
    /// Removes a member of staff's access as `entry` says (its time and actor) and logs it, in
    /// one batch: their sessions end, their passkeys, unfinished ceremonies and unused
    /// invitations go. Only while they are still staff of `organisation_id` with access;
    /// otherwise the batch stops with a constraint error and nothing is written.
    async fn remove_staff_access(&self, person_id: &str, organisation_id: &str, entry: &AdminEvent) -> Result<()>;
    /// The administration log about one organisation, newest first.
    async fn admin_log_for_organisation(&self, organisation_id: &str, limit: i64) -> Result<Vec<AdminEvent>>;
}

/// A member of staff from `PERSON_COLUMNS` then council role, provider role, enrolled, removed.
fn staff_member(row: &Row) -> Result<StaffMember> {
    let person = person(row)?;
    let position = match person.role {
        Role::CouncilStaff => {
            // Council staff with no council role yet are caseworkers (see migration 0013).
            let text = row.optional_text(6)?.unwrap_or_else(|| CouncilRole::Caseworker.as_str().to_owned());
            Some(StaffPosition::Council(CouncilRole::parse(&text).ok_or_else(|| DbError::Decode(format!("unknown council role {text}")))?))
        }
        Role::ProviderStaff => {
            let text = row.optional_text(7)?.unwrap_or_else(|| ProviderRole::Staff.as_str().to_owned());
            Some(StaffPosition::Provider(ProviderRole::parse(&text).ok_or_else(|| DbError::Decode(format!("unknown provider role {text}")))?))
        }
        Role::ServiceUser | Role::Representative => None,
    };
    Ok(StaffMember { person, position, enrolled: row.integer(8)? == 1, access_removed_at: optional_time(row, 9)? })
}

fn staff_select(condition: &str) -> String {
    let columns: Vec<String> = PERSON_COLUMNS.split(", ").map(|column| format!("p.{column}")).collect();
    format!(
        "SELECT {}, p.council_role, p.provider_role,
                (EXISTS (SELECT 1 FROM passkeys k WHERE k.person_id = p.id) OR EXISTS (SELECT 1 FROM invitations i WHERE i.person_id = p.id AND i.used_at IS NOT NULL)),
                p.access_removed_at
         FROM people p
         WHERE p.role IN ('council_staff', 'provider_staff') AND {condition}
         ORDER BY p.display_name, p.id",
        columns.join(", ")
    )
}

/// Stops a staff change unless the person is still staff of the organisation with access (and,
/// with `?4` not null, still has that council role).
const STAFF_GUARD: &str = "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (
     SELECT 1 FROM people WHERE id = ?2 AND organisation_id = ?3 AND access_removed_at IS NULL
       AND role IN ('council_staff', 'provider_staff') AND (?4 IS NULL OR council_role = ?4))";

fn guard(person_id: &str, organisation_id: &str, council_role: Option<CouncilRole>) -> Statement {
    Statement {
        sql: STAFF_GUARD.into(),
        params: vec![
            crate::plan::STALE.into(),
            person_id.into(),
            organisation_id.into(),
            council_role.map(CouncilRole::as_str).map(Value::from).unwrap_or(Value::Null),
        ],
    }
}

fn log(entry: &AdminEvent) -> Statement {
    Statement { sql: INSERT_ADMIN_EVENT.into(), params: admin_event_params(entry) }
}

#[async_trait(?Send)]
impl StaffStore for SqlStore<'_> {
    async fn provider_role(&self, person_id: &str) -> Result<Option<ProviderRole>> {
        let rows = self.db.query("SELECT provider_role FROM people WHERE id = ?1 AND role = 'provider_staff'", &[person_id.into()]).await?;
        let Some(row) = rows.first() else { return Ok(None) };
        match row.optional_text(0)? {
            None => Ok(Some(ProviderRole::Staff)),
            Some(text) => ProviderRole::parse(&text).map(Some).ok_or_else(|| DbError::Decode(format!("unknown provider role {text}"))),
        }
    }

    async fn set_provider_role(&self, person_id: &str, role: ProviderRole) -> Result<bool> {
        let changed = self
            .db
            .execute("UPDATE people SET provider_role = ?2 WHERE id = ?1 AND role = 'provider_staff'", &[person_id.into(), role.as_str().into()])
            .await?;
        Ok(changed > 0)
    }

    async fn staff_of(&self, organisation_id: &str) -> Result<Vec<StaffMember>> {
        self.all(&staff_select("p.organisation_id = ?1"), &[organisation_id.into()], staff_member).await
    }

    async fn provider_administrators(&self) -> Result<Vec<StaffMember>> {
        self.all(&staff_select("p.role = 'provider_staff' AND p.provider_role = 'administrator'"), &[], staff_member).await
    }

    async fn staff_member(&self, person_id: &str) -> Result<Option<StaffMember>> {
        self.one(&staff_select("p.id = ?1"), &[person_id.into()], staff_member).await
    }

    async fn append_admin_event(&self, entry: &AdminEvent) -> Result<()> {
        self.db.execute(INSERT_ADMIN_EVENT, &admin_event_params(entry)).await.map(|_| ())
    }

    async fn change_council_role(&self, person_id: &str, council_id: &str, from: CouncilRole, to: CouncilRole, entry: &AdminEvent) -> Result<()> {
        self.db
            .batch(&[
                guard(person_id, council_id, Some(from)),
                Statement {
                    sql: "UPDATE people SET council_role = ?3 WHERE id = ?1 AND organisation_id = ?2 AND role = 'council_staff'".into(),
                    params: vec![person_id.into(), council_id.into(), to.as_str().into()],
                },
                log(entry),
            ])
            .await
    }

    async fn remove_staff_access(&self, person_id: &str, organisation_id: &str, entry: &AdminEvent) -> Result<()> {
        let at = time_text(entry.at);
        let person = || vec![Value::from(person_id)];
        // The guard first, so a second removal (or one for someone else's staff) stops the batch
        // before anything is written; the sessions and passkeys go before the mark that stops
        // new ones.
        self.db
            .batch(&[
                guard(person_id, organisation_id, None),
                Statement { sql: "DELETE FROM sessions WHERE person_id = ?1".into(), params: person() },
                Statement { sql: "DELETE FROM ceremonies WHERE person_id = ?1".into(), params: person() },
                Statement { sql: "DELETE FROM passkeys WHERE person_id = ?1".into(), params: person() },
                Statement {
                    sql: "UPDATE invitations SET expires_at = ?2 WHERE person_id = ?1 AND used_at IS NULL AND expires_at > ?2".into(),
                    params: vec![person_id.into(), at.clone().into()],
                },
                Statement {
                    sql: "UPDATE people SET access_removed_at = ?2, access_removed_by = ?3 WHERE id = ?1".into(),
                    params: vec![person_id.into(), at.into(), entry.actor_id.as_str().into()],
                },
                log(entry),
            ])
            .await
    }

    async fn admin_log_for_organisation(&self, organisation_id: &str, limit: i64) -> Result<Vec<AdminEvent>> {
        self.all(
            &format!("SELECT {ADMIN_EVENT_COLUMNS} FROM admin_events WHERE organisation_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2"),
            &[organisation_id.into(), limit.into()],
            admin_event,
        )
        .await
    }
}
