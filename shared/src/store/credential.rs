//! The system credentials' part of the store: credentials (never their keys), the nonces of
//! accepted signed requests, council roles and the administration log, and what the API and the
//! credentials page read alongside them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, SqlStore, json, optional_time, organisation, time, time_text, to_json};
use crate::administration::{AdminAction, AdminEvent};
use crate::credential::{self, CredentialInUse, SystemCredential};
use crate::db::{DbError, Row, Statement, Value};
use crate::domain::{AuditEvent, CouncilRole, Organisation};

/// Keeping system credentials and the nonces of signed requests.
#[async_trait(?Send)]
pub trait CredentialStore {
    /// Stores a credential with no administration-log entry: for seeding and tests only (pages and
    /// tools use [`CredentialStore::make_credential`]). A clash of key ids is a constraint error.
    async fn insert_credential(&self, credential: &SystemCredential) -> Result<()>;
    /// Stores a new credential and its administration-log entry, both or neither.
    async fn make_credential(&self, credential: &SystemCredential, entry: &AdminEvent) -> Result<()>;
    /// The credential with this key id, revoked or not.
    async fn credential(&self, key_id: &str) -> Result<Option<SystemCredential>>;
    /// The credential with this key id, its organisation and its maker's name, in one query
    /// (what authenticating a signed request needs).
    async fn credential_in_use(&self, key_id: &str) -> Result<Option<CredentialInUse>>;
    /// An organisation's credentials, newest first.
    async fn credentials_for_organisation(&self, organisation_id: &str) -> Result<Vec<SystemCredential>>;
    /// Revokes a live credential as `entry` says (its time and actor) and logs it, both or
    /// neither; `false` if there is no such live credential (nothing is logged then).
    async fn revoke_credential(&self, key_id: &str, entry: &AdminEvent) -> Result<bool>;
    /// The administration log, newest first.
    async fn admin_log(&self, limit: i64) -> Result<Vec<AdminEvent>>;
    /// What a member of council staff may do; `None` for anyone who is not council staff.
    async fn council_role(&self, person_id: &str) -> Result<Option<CouncilRole>>;
    /// Sets a council staff member's council role; `false` if they are not council staff.
    async fn set_council_role(&self, person_id: &str, role: CouncilRole) -> Result<bool>;
    /// Records that a request signed with the credential was accepted at `now`.
    async fn record_credential_use(&self, key_id: &str, now: DateTime<Utc>) -> Result<()>;
    /// Takes a request's nonce, remembered until `expires_at`: `false` if the same key id and
    /// nonce were taken before and have not expired by `now` (a replay). One statement, so two
    /// copies of a request racing each other cannot both succeed.
    async fn take_nonce(&self, key_id: &str, nonce: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool>;
    /// Forgets nonces that expired before `now`; returns how many.
    async fn purge_expired_nonces(&self, now: DateTime<Utc>) -> Result<u64>;
    /// Every organisation, by name (those a credential can be made for).
    async fn all_organisations(&self) -> Result<Vec<Organisation>>;
    /// Appends several audit events at once, all or none (an API page read about many people).
    async fn append_audits(&self, events: &[AuditEvent]) -> Result<()>;
}

const CREDENTIAL_COLUMNS: &str = "key_id, organisation_id, name, permissions, fingerprint, created_by, created_at, revoked_at, last_used_at, revoked_by";

fn credential(row: &Row) -> Result<SystemCredential> {
    credential_at(row, 0)
}

/// A credential from `CREDENTIAL_COLUMNS` starting at column `at`.
fn credential_at(row: &Row, at: usize) -> Result<SystemCredential> {
    Ok(SystemCredential {
        key_id: row.text(at)?,
        organisation_id: row.text(at + 1)?,
        name: row.text(at + 2)?,
        permissions: json(row, at + 3)?,
        fingerprint: row.text(at + 4)?,
        created_by: row.text(at + 5)?,
        created_at: time(row, at + 6)?,
        revoked_at: optional_time(row, at + 7)?,
        last_used_at: optional_time(row, at + 8)?,
        revoked_by: row.optional_text(at + 9)?,
    })
}

/// The organisation (4 columns), the credential, then the maker's name if a person made it.
fn credential_in_use(row: &Row) -> Result<CredentialInUse> {
    let credential = credential_at(row, 4)?;
    let maker = credential::maker_name(&credential.created_by, row.optional_text(14)?.as_deref());
    Ok(CredentialInUse { organisation: organisation(row)?, credential, maker })
}

pub(super) const ADMIN_EVENT_COLUMNS: &str = "id, at, actor_id, actor_name, action, credential_key_id, organisation_id, detail, person_id";

pub(super) fn admin_event(row: &Row) -> Result<AdminEvent> {
    let action = row.text(4)?;
    Ok(AdminEvent {
        id: row.text(0)?,
        at: time(row, 1)?,
        actor_id: row.text(2)?,
        actor_name: row.text(3)?,
        action: AdminAction::parse(&action).ok_or_else(|| DbError::Decode(format!("unknown administration action {action}")))?,
        credential_key_id: row.optional_text(5)?,
        organisation_id: row.optional_text(6)?,
        detail: row.text(7)?,
        person_id: row.optional_text(8)?,
    })
}

pub(super) fn admin_event_params(entry: &AdminEvent) -> Vec<Value> {
    vec![
        entry.id.as_str().into(),
        time_text(entry.at).into(),
        entry.actor_id.as_str().into(),
        entry.actor_name.as_str().into(),
        entry.action.as_str().into(),
        entry.credential_key_id.as_deref().into(),
        entry.organisation_id.as_deref().into(),
        entry.detail.as_str().into(),
        entry.person_id.as_deref().into(),
    ]
}

fn credential_params(credential: &SystemCredential) -> Result<Vec<Value>> {
    Ok(vec![
        credential.key_id.as_str().into(),
        credential.organisation_id.as_str().into(),
        credential.name.as_str().into(),
        to_json(&credential.permissions)?,
        credential.fingerprint.as_str().into(),
        credential.created_by.as_str().into(),
        time_text(credential.created_at).into(),
        credential.revoked_at.map(time_text).into(),
        credential.last_used_at.map(time_text).into(),
        credential.revoked_by.as_deref().into(),
    ])
}

const INSERT_CREDENTIAL: &str =
    "INSERT INTO system_credentials (key_id, organisation_id, name, permissions, fingerprint, created_by, created_at, revoked_at, last_used_at, revoked_by)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
pub(super) const INSERT_ADMIN_EVENT: &str =
    "INSERT INTO admin_events (id, at, actor_id, actor_name, action, credential_key_id, organisation_id, detail, person_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

#[async_trait(?Send)]
impl CredentialStore for SqlStore<'_> {
    async fn insert_credential(&self, credential: &SystemCredential) -> Result<()> {
        self.db.execute(INSERT_CREDENTIAL, &credential_params(credential)?).await.map(|_| ())
    }

    async fn make_credential(&self, credential: &SystemCredential, entry: &AdminEvent) -> Result<()> {
        let statements = [
            Statement { sql: INSERT_CREDENTIAL.into(), params: credential_params(credential)? },
            Statement { sql: INSERT_ADMIN_EVENT.into(), params: admin_event_params(entry) },
        ];
        self.db.batch(&statements).await
    }

    async fn credential(&self, key_id: &str) -> Result<Option<SystemCredential>> {
        self.one(&format!("SELECT {CREDENTIAL_COLUMNS} FROM system_credentials WHERE key_id = ?1"), &[key_id.into()], credential).await
    }

    async fn credential_in_use(&self, key_id: &str) -> Result<Option<CredentialInUse>> {
        self.one(
            "SELECT o.id, o.kind, o.name, o.created_at,
                    c.key_id, c.organisation_id, c.name, c.permissions, c.fingerprint, c.created_by, c.created_at, c.revoked_at, c.last_used_at, c.revoked_by,
                    p.display_name
             FROM system_credentials c
             JOIN organisations o ON o.id = c.organisation_id
             LEFT JOIN people p ON p.id = c.created_by
             WHERE c.key_id = ?1",
            &[key_id.into()],
            credential_in_use,
        )
        .await
    }

    async fn credentials_for_organisation(&self, organisation_id: &str) -> Result<Vec<SystemCredential>> {
        self.all(
            &format!("SELECT {CREDENTIAL_COLUMNS} FROM system_credentials WHERE organisation_id = ?1 ORDER BY created_at DESC, key_id"),
            &[organisation_id.into()],
            credential,
        )
        .await
    }

    async fn revoke_credential(&self, key_id: &str, entry: &AdminEvent) -> Result<bool> {
        let mut log = admin_event_params(entry);
        log.push(key_id.into());
        // Logged first, and only while the credential is live, so one batch revokes and logs
        // both or neither, and a second revocation logs nothing.
        let statements = [
            Statement {
                sql: "INSERT INTO admin_events (id, at, actor_id, actor_name, action, credential_key_id, organisation_id, detail, person_id)
                      SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
                      WHERE EXISTS (SELECT 1 FROM system_credentials WHERE key_id = ?10 AND revoked_at IS NULL)"
                    .into(),
                params: log,
            },
            Statement {
                sql: "UPDATE system_credentials SET revoked_at = ?2, revoked_by = ?3 WHERE key_id = ?1 AND revoked_at IS NULL".into(),
                params: vec![key_id.into(), time_text(entry.at).into(), entry.actor_id.as_str().into()],
            },
        ];
        self.db.batch(&statements).await?;
        Ok(!self.db.query("SELECT 1 FROM admin_events WHERE id = ?1", &[entry.id.as_str().into()]).await?.is_empty())
    }

    async fn admin_log(&self, limit: i64) -> Result<Vec<AdminEvent>> {
        self.all(&format!("SELECT {ADMIN_EVENT_COLUMNS} FROM admin_events ORDER BY at DESC, id DESC LIMIT ?1"), &[limit.into()], admin_event).await
    }

    async fn council_role(&self, person_id: &str) -> Result<Option<CouncilRole>> {
        let rows = self.db.query("SELECT council_role FROM people WHERE id = ?1 AND role = 'council_staff'", &[person_id.into()]).await?;
        let Some(row) = rows.first() else { return Ok(None) };
        // Council staff with no council role yet are caseworkers: administrator is only given by name.
        match row.optional_text(0)? {
            None => Ok(Some(CouncilRole::Caseworker)),
            Some(text) => CouncilRole::parse(&text).map(Some).ok_or_else(|| DbError::Decode(format!("unknown council role {text}"))),
        }
    }

    async fn set_council_role(&self, person_id: &str, role: CouncilRole) -> Result<bool> {
        let changed =
            self.db.execute("UPDATE people SET council_role = ?2 WHERE id = ?1 AND role = 'council_staff'", &[person_id.into(), role.as_str().into()]).await?;
        Ok(changed > 0)
    }

    async fn record_credential_use(&self, key_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.db.execute("UPDATE system_credentials SET last_used_at = ?2 WHERE key_id = ?1", &[key_id.into(), time_text(now).into()]).await.map(|_| ())
    }

    async fn take_nonce(&self, key_id: &str, nonce: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool> {
        // A row that has expired (but was not purged yet) is free again: its request would be
        // refused for its timestamp anyway.
        let changed = self
            .db
            .execute(
                "INSERT INTO api_nonces (key_id, nonce, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE api_nonces.expires_at < ?4",
                &[key_id.into(), nonce.into(), time_text(expires_at).into(), time_text(now).into()],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn purge_expired_nonces(&self, now: DateTime<Utc>) -> Result<u64> {
        self.db.execute("DELETE FROM api_nonces WHERE expires_at < ?1", &[time_text(now).into()]).await
    }

    async fn all_organisations(&self) -> Result<Vec<Organisation>> {
        self.all("SELECT id, kind, name, created_at FROM organisations ORDER BY name, id", &[], organisation).await
    }

    async fn append_audits(&self, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let statements: Vec<Statement> = events.iter().map(crate::plan::audit_statement).collect();
        self.db.batch(&statements).await
    }
}
