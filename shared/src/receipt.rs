//! Consent receipts after the Kantara Initiative Consent Receipt Specification v1.1: every
//! change of a grant gives the person a receipt they can keep, signed (HMAC-SHA256 under the
//! deployment's key) so that one presented later can be checked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consent::{Action, Grant};
use crate::crypto::SigningKey;

const RECEIPT_PURPOSE: &str = "consent-receipt";

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
    /// HMAC-SHA256 of the content's canonical JSON, base64url.
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
    key: &SigningKey,
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
    seal(key, body)
}

/// Signs a receipt body the caller completed after [`issue`] (for example who collected the
/// consent and how, when someone acting for the person made the change).
pub fn seal(key: &SigningKey, body: ReceiptBody) -> ConsentReceipt {
    let signature = sign(key, &body);
    ConsentReceipt { body, signature }
}

fn sign(key: &SigningKey, body: &ReceiptBody) -> String {
    // serde_json writes struct fields in declaration order: the canonical form.
    key.sign(RECEIPT_PURPOSE, &serde_json::to_string(body).unwrap_or_default())
}

/// Whether a receipt presented later is one carefront issued, unchanged.
pub fn verify(key: &SigningKey, receipt: &ConsentReceipt) -> bool {
    serde_json::to_string(&receipt.body).is_ok_and(|canonical| key.verify(RECEIPT_PURPOSE, &canonical, &receipt.signature))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::consent::{Basis, Category, Grantee};

    fn key() -> SigningKey {
        SigningKey::new(&[3; 32]).unwrap()
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
        assert!(!verify(&SigningKey::new(&[4; 32]).unwrap(), &parsed), "another deployment's key");
    }

    #[test]
    fn a_receipt_with_unsigned_extra_fields_is_refused() {
        let receipt = issue(&key(), &controller(), &grant(), "Sam", "granted", "r1".into(), DateTime::UNIX_EPOCH);
        let mut json: serde_json::Value = serde_json::to_value(&receipt).unwrap();
        json["alsoAllowed"] = serde_json::json!("everything");
        assert!(serde_json::from_value::<ConsentReceipt>(json).is_err());
    }
}
