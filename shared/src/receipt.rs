//! Consent receipts after the Kantara Initiative Consent Receipt Specification v1.1: every
//! change of a grant gives the person a receipt they can keep, signed (HMAC-SHA256 under one of
//! the deployment's receipt keys, named in the receipt by its key id) so that one presented later
//! can be checked, also after the keys were rotated.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::consent::{Action, Grant};
use crate::crypto::SigningKey;

const RECEIPT_PURPOSE: &str = "consent-receipt";
const MAX_KEY_ID_CHARS: usize = 32;

/// One receipt key: its id, written into every receipt it signs, and the key.
#[derive(Clone)]
pub struct ReceiptKey {
    id: String,
    key: SigningKey,
}

impl std::fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptKey").field("id", &self.id).field("key", &"<redacted>").finish()
    }
}

impl ReceiptKey {
    /// A key with its id: 1 to 32 characters of `A-Z a-z 0-9 - _ .`.
    pub fn new(id: &str, key: SigningKey) -> Result<ReceiptKey, ReceiptKeysError> {
        let valid = !id.is_empty() && id.len() <= MAX_KEY_ID_CHARS && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte));
        if !valid {
            return Err(ReceiptKeysError::BadKeyId);
        }
        Ok(ReceiptKey { id: id.to_owned(), key })
    }

    /// Its key id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Why a list of receipt keys cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptKeysError {
    /// The list is empty.
    #[error("give at least one key as keyid:base64url")]
    Empty,
    /// An entry is not `keyid:base64url`.
    #[error("each entry is keyid:base64url, separated by commas")]
    NotAnEntry,
    /// A key id is empty, too long or has other characters than `A-Z a-z 0-9 - _ .`.
    #[error("a key id is 1 to 32 characters of A-Z, a-z, 0-9, -, _ and .")]
    BadKeyId,
    /// A key is not base64url of at least 32 bytes.
    #[error("a key is not base64url of at least 32 bytes")]
    BadKey,
    /// Two entries have one id, so a receipt could not say which key signed it.
    #[error("two keys have the same id")]
    DuplicateKeyId,
}

/// The deployment's receipt keys (`RECEIPT_KEYS`): the first signs new receipts and every one
/// verifies, so a receipt made before a rotation still verifies after it. Receipts made before
/// receipts carried a key id were signed with the old shared session key: they verify only
/// against the optional legacy key (`RECEIPT_LEGACY_KEY`), which never signs.
#[derive(Debug, Clone)]
pub struct ReceiptKeys {
    signing: ReceiptKey,
    older: Vec<ReceiptKey>,
    legacy: Option<SigningKey>,
}

impl ReceiptKeys {
    /// The keys in order, the signing one first; ids must differ.
    pub fn new(signing: ReceiptKey, older: Vec<ReceiptKey>) -> Result<ReceiptKeys, ReceiptKeysError> {
        let mut ids = std::collections::BTreeSet::from([signing.id.as_str()]);
        if !older.iter().all(|key| ids.insert(key.id.as_str())) {
            return Err(ReceiptKeysError::DuplicateKeyId);
        }
        Ok(ReceiptKeys { signing, older, legacy: None })
    }

    /// Parses the configured list: `keyid:base64url` entries separated by commas (whitespace
    /// around them is ignored), the signing key first.
    pub fn parse(text: &str) -> Result<ReceiptKeys, ReceiptKeysError> {
        let mut keys = text.split(',').map(str::trim).filter(|entry| !entry.is_empty()).map(|entry| {
            let (id, encoded) = entry.split_once(':').ok_or(ReceiptKeysError::NotAnEntry)?;
            let bytes = URL_SAFE_NO_PAD.decode(encoded.trim().trim_end_matches('=')).map_err(|_| ReceiptKeysError::BadKey)?;
            ReceiptKey::new(id.trim(), SigningKey::new(&bytes).map_err(|_| ReceiptKeysError::BadKey)?)
        });
        let signing = keys.next().ok_or(ReceiptKeysError::Empty)??;
        ReceiptKeys::new(signing, keys.collect::<Result<_, _>>()?)
    }

    /// The same keys, with the legacy key that verifies receipts without a key id.
    pub fn with_legacy(self, legacy: SigningKey) -> ReceiptKeys {
        ReceiptKeys { legacy: Some(legacy), ..self }
    }

    /// The id new receipts carry.
    pub fn signing_id(&self) -> &str {
        &self.signing.id
    }

    fn find(&self, id: &str) -> Option<&SigningKey> {
        std::iter::once(&self.signing).chain(&self.older).find(|key| key.id == id).map(|key| &key.key)
    }
}

/// A PII controller: the council, which holds the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PiiController {
    /// Its name.
    pub pii_controller: String,
    /// Who to contact.
    pub contact: String,
    /// Where to write.
    pub address: String,
    /// Email.
    pub email: String,
    /// Telephone.
    pub phone: String,
}

/// One purpose of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Purpose {
    /// The purpose in the person's words.
    pub purpose: String,
    /// The categories of care information it covers.
    pub purpose_category: Vec<String>,
    /// `EXPLICIT` for consent given in carefront; the legal basis otherwise.
    pub consent_type: String,
    /// The categories of personal information shared.
    pub pii_category: Vec<String>,
    /// Whether this is the main purpose of the service.
    pub primary_purpose: bool,
    /// When and how it ends.
    pub termination: String,
    /// Whether it discloses to a third party (it always does: that is the grant).
    pub third_party_disclosure: bool,
    /// To whom.
    pub third_party_name: String,
}

/// A service: here, one grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// What it is.
    pub service: String,
    /// Why.
    pub purposes: Vec<Purpose>,
}

/// The receipt's content (everything the signature covers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiptBody {
    /// The specification version.
    pub version: String,
    /// The law it is given under.
    pub jurisdiction: String,
    /// When consent was given or changed (seconds since the epoch).
    pub consent_timestamp: i64,
    /// How it was collected.
    pub collection_method: String,
    /// This receipt's id.
    #[serde(rename = "consentReceiptID")]
    pub consent_receipt_id: String,
    /// The receipt's language.
    pub language: String,
    /// Whose information.
    pub pii_principal_id: String,
    /// Who controls it.
    pub pii_controllers: Vec<PiiController>,
    /// The privacy notice.
    pub policy_url: String,
    /// The grant, as a service.
    pub services: Vec<Service>,
    /// Whether sensitive information is involved (health and care: always).
    pub sensitive: bool,
    /// The sensitive categories.
    pub spi_cat: Vec<String>,
    /// carefront's own: which grant and version this receipt records, and what happened.
    pub grant_id: String,
    /// The grant's version after the change.
    pub grant_version: i64,
    /// `granted`, `changed` or `revoked`.
    pub event: String,
}

/// A receipt with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentReceipt {
    /// The content.
    #[serde(flatten)]
    pub body: ReceiptBody,
    /// The id of the receipt key that signed it; absent on receipts made before key ids, which
    /// only the legacy key verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// HMAC-SHA256, base64url, of the key id, a newline and the content's canonical JSON (of the
    /// canonical JSON alone on a receipt without a key id).
    pub signature: String,
}

/// The controller carefront names on receipts (the council running it).
#[derive(Debug, Clone)]
pub struct Controller {
    /// The council's name and contact details.
    pub details: PiiController,
    /// Its privacy notice.
    pub policy_url: String,
}

/// Makes the signed receipt for a grant after `event` at `now`.
pub fn issue(
    keys: &ReceiptKeys,
    controller: &Controller,
    grant: &Grant,
    grantee_name: &str,
    event: &str,
    receipt_id: String,
    now: DateTime<Utc>,
) -> ConsentReceipt {
    let categories: Vec<String> = grant.categories.iter().map(|category| category.as_str().to_owned()).collect();
    let termination = match (grant.revoked_at, grant.ends_at) {
        (Some(revoked), _) => format!("Revoked on {}", revoked.format("%Y-%m-%d")),
        (None, Some(ends)) => format!("Ends on {}, or earlier when the person stops it in carefront", ends.format("%Y-%m-%d")),
        (None, None) => "Until the person stops it in carefront".to_owned(),
    };
    let actions = if grant.actions.contains(&Action::Contribute) { "see and comment on" } else { "see" };
    let body = ReceiptBody {
        version: "KI-CR-v1.1.0".into(),
        jurisdiction: "GB".into(),
        consent_timestamp: now.timestamp(),
        collection_method: "In the carefront portal, by the person, after confirming it was them with their passkey".into(),
        consent_receipt_id: receipt_id,
        language: "en".into(),
        pii_principal_id: grant.subject_id.clone(),
        pii_controllers: vec![controller.details.clone()],
        policy_url: controller.policy_url.clone(),
        services: vec![Service {
            service: format!("{grantee_name} may {actions} care information"),
            purposes: vec![Purpose {
                purpose: grant.purpose.clone(),
                purpose_category: categories.clone(),
                consent_type: if grant.basis == crate::consent::Basis::Consent { "EXPLICIT".into() } else { grant.basis.as_str().to_owned() },
                pii_category: categories,
                primary_purpose: true,
                termination,
                third_party_disclosure: true,
                third_party_name: grantee_name.to_owned(),
            }],
        }],
        sensitive: true,
        spi_cat: vec!["health and social care".into()],
        grant_id: grant.id.clone(),
        grant_version: grant.version,
        event: event.to_owned(),
    };
    seal(keys, body)
}

/// Signs a receipt body the caller completed after [`issue`] (for example who collected the
/// consent and how, when someone acting for the person made the change).
pub fn seal(keys: &ReceiptKeys, body: ReceiptBody) -> ConsentReceipt {
    let kid = keys.signing.id.clone();
    let signature = keys.signing.key.sign(RECEIPT_PURPOSE, &signed_message(Some(&kid), &canonical(&body)));
    ConsentReceipt { body, kid: Some(kid), signature }
}

fn canonical(body: &ReceiptBody) -> String {
    // serde_json writes struct fields in declaration order: the canonical form.
    serde_json::to_string(body).unwrap_or_default()
}

/// What the signature covers: the key id binds the receipt to its key (an id holds no `{` or
/// newline, so no keyed message can be read as a legacy one, which starts with `{`).
fn signed_message(kid: Option<&str>, canonical: &str) -> String {
    match kid {
        Some(kid) => format!("{kid}\n{canonical}"),
        None => canonical.to_owned(),
    }
}

/// Whether a receipt presented later is one carefront issued, unchanged: checked with the key
/// its key id names, or with the legacy key if it has none.
pub fn verify(keys: &ReceiptKeys, receipt: &ConsentReceipt) -> bool {
    let key = match &receipt.kid {
        Some(kid) => keys.find(kid),
        None => keys.legacy.as_ref(),
    };
    let Some(key) = key else { return false };
    serde_json::to_string(&receipt.body)
        .is_ok_and(|canonical| key.verify(RECEIPT_PURPOSE, &signed_message(receipt.kid.as_deref(), &canonical), &receipt.signature))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::consent::{Basis, Category, Grantee};

    fn key() -> ReceiptKeys {
        ReceiptKeys::parse("k1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM").unwrap()
    }

    fn controller() -> Controller {
        Controller {
            details: PiiController {
                pii_controller: "Council".into(),
                contact: "Data protection officer".into(),
                address: "County Hall".into(),
                email: "dpo@example.gov.uk".into(),
                phone: "0300".into(),
            },
            policy_url: "https://example.gov.uk/privacy".into(),
        }
    }

    fn grant() -> Grant {
        let now = DateTime::UNIX_EPOCH;
        Grant {
            id: "g".into(),
            version: 1,
            subject_id: "p".into(),
            grantee: Grantee::Person("s".into()),
            categories: BTreeSet::from([Category::Medication]),
            actions: BTreeSet::from([Action::View]),
            act_for: false,
            purpose: "tablets".into(),
            starts_at: now,
            ends_at: None,
            basis: Basis::Consent,
            evidence: None,
            recorded_by: "p".into(),
            revoked_at: None,
        }
    }

    #[test]
    fn a_receipt_verifies_and_any_change_breaks_it() {
        let receipt = issue(&key(), &controller(), &grant(), "Sam", "granted", "r1".into(), DateTime::UNIX_EPOCH);
        assert!(verify(&key(), &receipt));
        let json = serde_json::to_string(&receipt).unwrap();
        assert!(json.contains(r#""consentReceiptID":"r1""#) && json.contains(r#""piiPrincipalId":"p""#) && json.contains(r#""consentTimestamp":0"#), "{json}");
        let parsed: ConsentReceipt = serde_json::from_str(&json).unwrap();
        assert!(verify(&key(), &parsed), "survives a round trip through JSON");
        let mut tampered = parsed.clone();
        tampered.body.services[0].purposes[0].purpose_category.push("care_plan".into());
        assert!(!verify(&key(), &tampered));
        let another = ReceiptKeys::new(ReceiptKey::new("k1", SigningKey::new(&[4; 32]).unwrap()).unwrap(), vec![]).unwrap();
        assert!(!verify(&another, &parsed), "another deployment's key under the same id");
    }

    #[test]
    fn a_receipt_carries_its_key_id_and_still_verifies_after_a_rotation() {
        let receipt = issue(&key(), &controller(), &grant(), "Sam", "granted", "r1".into(), DateTime::UNIX_EPOCH);
        let json = serde_json::to_string(&receipt).unwrap();
        assert!(json.contains(r#""kid":"k1","signature":"#), "{json}");
        let parsed: ConsentReceipt = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.kid.as_deref(), Some("k1"));
        // A new key signs from now on; the old one stays listed to verify.
        let rotated = ReceiptKeys::parse("k2:BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU, k1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM").unwrap();
        assert!(verify(&rotated, &parsed), "made before the rotation");
        let newer = issue(&rotated, &controller(), &grant(), "Sam", "granted", "r2".into(), DateTime::UNIX_EPOCH);
        assert_eq!(newer.kid.as_deref(), Some("k2"));
        assert!(verify(&rotated, &newer));
        assert!(!verify(&key(), &newer), "k2 is not known where only k1 is");
        // Naming another listed key, or none, does not make a signature valid.
        assert!(!verify(&rotated, &ConsentReceipt { kid: Some("k2".into()), ..parsed.clone() }));
        assert!(!verify(&rotated.clone().with_legacy(SigningKey::new(&[3; 32]).unwrap()), &ConsentReceipt { kid: None, ..parsed }));
    }

    #[test]
    fn a_receipt_without_a_key_id_verifies_only_against_the_legacy_key() {
        // As issued before key ids: signed with the shared session key over the body alone.
        let old_session_key = SigningKey::new(&[9; 32]).unwrap();
        let body = issue(&key(), &controller(), &grant(), "Sam", "granted", "r0".into(), DateTime::UNIX_EPOCH).body;
        let signature = old_session_key.sign(RECEIPT_PURPOSE, &serde_json::to_string(&body).unwrap());
        let stored = serde_json::to_string(&ConsentReceipt { body, kid: None, signature }).unwrap();
        assert!(!stored.contains("kid"), "{stored}");
        let legacy: ConsentReceipt = serde_json::from_str(&stored).unwrap();
        assert_eq!(legacy.kid, None);
        assert!(!verify(&key(), &legacy), "no legacy key configured");
        assert!(verify(&key().with_legacy(old_session_key), &legacy));
        assert!(!verify(&key().with_legacy(SigningKey::new(&[8; 32]).unwrap()), &legacy));
    }

    #[test]
    fn receipt_keys_are_parsed_strictly() {
        let key = "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM";
        assert_eq!(ReceiptKeys::parse(" , ").unwrap_err(), ReceiptKeysError::Empty);
        assert_eq!(ReceiptKeys::parse(key).unwrap_err(), ReceiptKeysError::NotAnEntry);
        assert_eq!(ReceiptKeys::parse(&format!("a b:{key}")).unwrap_err(), ReceiptKeysError::BadKeyId);
        assert_eq!(ReceiptKeys::parse(&format!("a:{key},b:c2hvcnQ")).unwrap_err(), ReceiptKeysError::BadKey);
        assert_eq!(ReceiptKeys::parse(&format!("a:{key},a:{key}")).unwrap_err(), ReceiptKeysError::DuplicateKeyId);
        assert_eq!(ReceiptKeys::parse(&format!("2026-11.a:{key}=")).unwrap().signing_id(), "2026-11.a");
        assert!(!format!("{:?}", ReceiptKeys::parse(&format!("a:{key}")).unwrap()).contains(key));
    }

    #[test]
    fn a_receipt_with_unsigned_extra_fields_is_refused() {
        let receipt = issue(&key(), &controller(), &grant(), "Sam", "granted", "r1".into(), DateTime::UNIX_EPOCH);
        let mut json: serde_json::Value = serde_json::to_value(&receipt).unwrap();
        json["alsoAllowed"] = serde_json::json!("everything");
        assert!(serde_json::from_value::<ConsentReceipt>(json).is_err());
    }
}
