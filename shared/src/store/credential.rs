//! The system credentials' part of the store: credentials (never their keys), the nonces of
//! accepted signed requests, and what the API and the credentials page read alongside them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, SqlStore, json, optional_time, organisation, time, time_text, to_json};
use crate::credential::SystemCredential;
use crate::db::{Row, Statement};
use crate::domain::{AuditEvent, Organisation};

/// Keeping system credentials and the nonces of signed requests.
#[async_trait(?Send)]
pub trait CredentialStore {
    /// Stores a new credential; a clash of key ids is a constraint error.
    async fn insert_credential(&self, credential: &SystemCredential) -> Result<()>;
    /// The credential with this key id, revoked or not.
    async fn credential(&self, key_id: &str) -> Result<Option<SystemCredential>>;
    /// An organisation's credentials, newest first.
    async fn credentials_for_organisation(&self, organisation_id: &str) -> Result<Vec<SystemCredential>>;
    /// Revokes a credential at `now`; `false` if there is no such live credential.
    async fn revoke_credential(&self, key_id: &str, now: DateTime<Utc>) -> Result<bool>;
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

const CREDENTIAL_COLUMNS: &str = "key_id, organisation_id, name, permissions, fingerprint, created_by, created_at, revoked_at, last_used_at";

fn credential(row: &Row) -> Result<SystemCredential> {
    Ok(SystemCredential {
        key_id: row.text(0)?,
        organisation_id: row.text(1)?,
        name: row.text(2)?,
        permissions: json(row, 3)?,
        fingerprint: row.text(4)?,
        created_by: row.text(5)?,
        created_at: time(row, 6)?,
        revoked_at: optional_time(row, 7)?,
        last_used_at: optional_time(row, 8)?,
    })
}

#[async_trait(?Send)]
impl CredentialStore for SqlStore<'_> {
    async fn insert_credential(&self, credential: &SystemCredential) -> Result<()> {
        self.db
            .execute(
                &format!("INSERT INTO system_credentials ({CREDENTIAL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                &[
                    credential.key_id.as_str().into(),
                    credential.organisation_id.as_str().into(),
                    credential.name.as_str().into(),
                    to_json(&credential.permissions)?,
                    credential.fingerprint.as_str().into(),
                    credential.created_by.as_str().into(),
                    time_text(credential.created_at).into(),
                    credential.revoked_at.map(time_text).into(),
                    credential.last_used_at.map(time_text).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn credential(&self, key_id: &str) -> Result<Option<SystemCredential>> {
        self.one(&format!("SELECT {CREDENTIAL_COLUMNS} FROM system_credentials WHERE key_id = ?1"), &[key_id.into()], credential).await
    }

    async fn credentials_for_organisation(&self, organisation_id: &str) -> Result<Vec<SystemCredential>> {
        self.all(
            &format!("SELECT {CREDENTIAL_COLUMNS} FROM system_credentials WHERE organisation_id = ?1 ORDER BY created_at DESC, key_id"),
            &[organisation_id.into()],
            credential,
        )
        .await
    }

    async fn revoke_credential(&self, key_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let changed = self
            .db
            .execute("UPDATE system_credentials SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL", &[key_id.into(), time_text(now).into()])
            .await?;
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
