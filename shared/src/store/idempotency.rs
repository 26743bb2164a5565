//! Idempotency keys of the API's writes: the first request with a key claims it for the id of
//! what it makes; a retry with the same key finds that id (and the request it was for) instead of
//! making a second one. Keys belong to an organisation.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Result, SqlStore, time, time_text};
use crate::db::{DbError, Row, Value};

/// A claimed idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The organisation whose system sent the key.
    pub organisation_id: String,
    /// The key, as sent.
    pub key: String,
    /// What it was first used for, in words for people reading the table ("POST /api/v1/…").
    pub request: String,
    /// [`request_fingerprint`] of the first request.
    pub request_hash: String,
    /// The id of what the first request made or answered.
    pub resource_id: String,
    /// The credential that sent the first request.
    pub credential_id: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What became of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free and is now this request's.
    New,
    /// The key was claimed before (by an earlier request, or a concurrent one): this is its record.
    Existing(IdempotencyRecord),
}

/// Claiming and looking up idempotency keys.
#[async_trait(?Send)]
pub trait IdempotencyStore {
    /// Claims `record.key` for `record.organisation_id` unless it is claimed already. Of two
    /// concurrent claims of one key, exactly one is [`Claim::New`].
    async fn claim_idempotency_key(&self, record: &IdempotencyRecord) -> Result<Claim>;
    /// Claims a key that must be free, as one statement of a plan: if the key was claimed
    /// before (by an earlier request, or a concurrent one), the insert fails with
    /// [`DbError::Constraint`] and so does the plan's whole batch — the write it claims the key
    /// for is never made twice. The caller then reads the claim that won.
    async fn claim_new_idempotency_key(&self, record: &IdempotencyRecord) -> Result<()>;
    /// The record of a claimed key.
    async fn idempotency_key(&self, organisation_id: &str, key: &str) -> Result<Option<IdempotencyRecord>>;
}

/// The fingerprint of a request a key is claimed for: SHA-256 (base64url) over the method, the
/// path and query, and the body as canonical JSON (object members sorted by name, no
/// insignificant white space), so a retry that re-serialises the same body still matches.
pub fn request_fingerprint(method: &str, path: &str, body: &serde_json::Value) -> String {
    let mut canonical = String::new();
    write_canonical(body, &mut canonical);
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(members) => {
            let mut names: Vec<&String> = members.keys().collect();
            names.sort();
            out.push('{');
            for (index, name) in names.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(name.clone()).to_string());
                out.push(':');
                if let Some(member) = members.get(name) {
                    write_canonical(member, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

const COLUMNS: &str = "organisation_id, idempotency_key, request, request_hash, resource_id, credential_id, created_at";

fn record(row: &Row) -> Result<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        organisation_id: row.text(0)?,
        key: row.text(1)?,
        request: row.text(2)?,
        request_hash: row.text(3)?,
        resource_id: row.text(4)?,
        credential_id: row.text(5)?,
        created_at: time(row, 6)?,
    })
}

/// A claim's columns, in [`COLUMNS`] order.
fn claim_params(claim: &IdempotencyRecord) -> [Value; 7] {
    [
        claim.organisation_id.as_str().into(),
        claim.key.as_str().into(),
        claim.request.as_str().into(),
        claim.request_hash.as_str().into(),
        claim.resource_id.as_str().into(),
        claim.credential_id.as_str().into(),
        time_text(claim.created_at).into(),
    ]
}

#[async_trait(?Send)]
impl IdempotencyStore for SqlStore<'_> {
    async fn claim_idempotency_key(&self, claim: &IdempotencyRecord) -> Result<Claim> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO api_idempotency_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (organisation_id, idempotency_key) DO NOTHING"
                ),
                &claim_params(claim),
            )
            .await?;
        // Whether this claim won is read back rather than taken from the change count: the row
        // names the resource id (new and random for every claim) of whichever claim was first.
        let stored = self
            .idempotency_key(&claim.organisation_id, &claim.key)
            .await?
            .ok_or_else(|| DbError::Decode("an idempotency key was neither claimed nor found".into()))?;
        if stored.resource_id == claim.resource_id && stored.request_hash == claim.request_hash { Ok(Claim::New) } else { Ok(Claim::Existing(stored)) }
    }

    async fn claim_new_idempotency_key(&self, claim: &IdempotencyRecord) -> Result<()> {
        // No ON CONFLICT: the primary key refuses a second claim.
        self.db.execute(&format!("INSERT INTO api_idempotency_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"), &claim_params(claim)).await.map(|_| ())
    }

    async fn idempotency_key(&self, organisation_id: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM api_idempotency_keys WHERE organisation_id = ?1 AND idempotency_key = ?2"),
            &[organisation_id.into(), key.into()],
            record,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_member_order_and_spacing_but_not_content() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": [1, {"y": 2, "x": "é"}], "a": null}"#).unwrap_or_default();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#).unwrap_or_default();
        assert_eq!(request_fingerprint("POST", "/p", &a), request_fingerprint("POST", "/p", &b));
        let c: serde_json::Value = serde_json::from_str(r#"{"a":null,"b":[1,{"x":"e","y":2}]}"#).unwrap_or_default();
        assert_ne!(request_fingerprint("POST", "/p", &a), request_fingerprint("POST", "/p", &c));
        assert_ne!(request_fingerprint("POST", "/p", &a), request_fingerprint("POST", "/q", &a));
        let mut canonical = String::new();
        write_canonical(&a, &mut canonical);
        assert_eq!(canonical, r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#);
    }
}
