//! Notify's delivery-status callbacks: a POST of JSON to our endpoint, with the bearer token we
//! gave Notify. The token is checked in constant time before the body is read.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Channel;

/// The bearer token Notify sends with each callback (`NOTIFY_CALLBACK_TOKEN`).
#[derive(Clone)]
pub struct CallbackToken(String);

impl std::fmt::Debug for CallbackToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackToken(<redacted>)")
    }
}

/// The shortest token Notify accepts for a callback.
const SHORTEST_TOKEN: usize = 10;

impl CallbackToken {
    /// The token, refused if shorter than Notify's minimum of 10 characters.
    pub fn new(token: &str) -> Option<CallbackToken> {
        let token = token.trim();
        (token.len() >= SHORTEST_TOKEN).then(|| CallbackToken(token.to_owned()))
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`, in constant time: the
    /// SHA-256 digests are compared, so neither the token's length nor a matching prefix shows
    /// in the time taken.
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        let presented = authorization.and_then(|value| value.trim().strip_prefix("Bearer ").or_else(|| value.trim().strip_prefix("bearer "))).unwrap_or("");
        let expected = Sha256::digest(self.0.as_bytes());
        let presented = Sha256::digest(presented.trim().as_bytes());
        let difference = expected.iter().zip(presented.iter()).fold(0_u8, |difference, (a, b)| difference | (a ^ b));
        difference == 0 && authorization.is_some()
    }
}

/// Where a notification got to, as Notify reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Delivered to the phone or inbox (for letters: accepted for printing and posting).
    Delivered,
    /// The provider could not deliver it: the address or number does not exist. Do not retry.
    PermanentFailure,
    /// The provider could not deliver it for now (inbox full, phone off) and gave up.
    TemporaryFailure,
    /// A fault at Notify or its provider; the message was not sent.
    TechnicalFailure,
    /// Any other status Notify sends (`sending`, `accepted`, `received`, `cancelled`, …), kept
    /// verbatim so nothing Notify says is lost.
    Other(String),
}

impl DeliveryState {
    /// The state from Notify's status word.
    pub fn parse(status: &str) -> DeliveryState {
        match status {
            "delivered" => DeliveryState::Delivered,
            "permanent-failure" => DeliveryState::PermanentFailure,
            "temporary-failure" => DeliveryState::TemporaryFailure,
            "technical-failure" => DeliveryState::TechnicalFailure,
            other => DeliveryState::Other(other.to_owned()),
        }
    }

    /// Notify's status word.
    pub fn as_str(&self) -> &str {
        match self {
            DeliveryState::Delivered => "delivered",
            DeliveryState::PermanentFailure => "permanent-failure",
            DeliveryState::TemporaryFailure => "temporary-failure",
            DeliveryState::TechnicalFailure => "technical-failure",
            DeliveryState::Other(status) => status,
        }
    }

    /// Whether the message did not arrive and will not: the council should see it.
    pub fn failed(&self) -> bool {
        matches!(self, DeliveryState::PermanentFailure | DeliveryState::TemporaryFailure | DeliveryState::TechnicalFailure)
    }
}

/// One delivery-status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Notify's notification id (what the send's 201 answered).
    pub id: Uuid,
    /// Our reference (the outbox id), if the message had one.
    pub reference: Option<String>,
    /// The recipient as Notify has it.
    pub to: String,
    /// Where the message got to.
    pub status: DeliveryState,
    /// When Notify created the notification.
    pub created_at: DateTime<Utc>,
    /// When it reached its final state, if it has.
    pub completed_at: Option<DateTime<Utc>>,
    /// When Notify handed it to its provider, if it has.
    pub sent_at: Option<DateTime<Utc>>,
    /// Email, text message or letter.
    pub notification_type: Channel,
}

#[derive(serde::Deserialize)]
struct RawStatus {
    id: Uuid,
    reference: Option<String>,
    to: String,
    status: String,
    created_at: String,
    completed_at: Option<String>,
    sent_at: Option<String>,
    notification_type: String,
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// No bearer token, or not ours: answer 401 and read nothing.
    #[error("the callback's bearer token is missing or wrong")]
    Unauthorised,
    /// The body is not Notify's callback JSON (the field named when one is wrong).
    #[error("the callback is not a Notify delivery status: {0}")]
    Malformed(String),
}

/// Notify's timestamps: RFC 3339, usually `2017-05-14T12:15:30.000000Z`; some older ones
/// have no zone, and mean UTC.
fn timestamp(field: &str, text: &str) -> Result<DateTime<Utc>, CallbackError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|time| time.and_utc()))
        .map_err(|_| CallbackError::Malformed(format!("{field} is not a time")))
}

/// Checks the callback's `Authorization` header against `token`, then reads its body.
pub fn read(token: &CallbackToken, authorization: Option<&str>, body: &[u8]) -> Result<DeliveryStatus, CallbackError> {
    if !token.admits(authorization) {
        return Err(CallbackError::Unauthorised);
    }
    let raw: RawStatus = serde_json::from_slice(body).map_err(|error| CallbackError::Malformed(error.to_string()))?;
    let optional = |field: &str, value: Option<String>| value.filter(|text| !text.is_empty()).map(|text| timestamp(field, &text)).transpose();
    Ok(DeliveryStatus {
        id: raw.id,
        reference: raw.reference.filter(|reference| !reference.is_empty()),
        to: raw.to,
        status: DeliveryState::parse(&raw.status),
        created_at: timestamp("created_at", &raw.created_at)?,
        completed_at: optional("completed_at", raw.completed_at)?,
        sent_at: optional("sent_at", raw.sent_at)?,
        notification_type: Channel::parse(&raw.notification_type)
            .ok_or_else(|| CallbackError::Malformed("notification_type is not email, sms or letter".into()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{
        "id": "740e5834-3a29-46b4-9a6f-16142fde533a",
        "reference": "outbox-1",
        "to": "07700900123",
        "status": "delivered",
        "created_at": "2026-11-30T12:00:00.000000Z",
        "completed_at": "2026-11-30T12:00:05.123456Z",
        "sent_at": "2026-11-30T12:00:01.000000Z",
        "notification_type": "sms",
        "template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a",
        "template_version": 1
    }"#;

    fn token() -> CallbackToken {
        CallbackToken::new("callback-token-for-tests").unwrap()
    }

    #[test]
    fn a_callback_with_our_token_is_read() {
        let status = read(&token(), Some("Bearer callback-token-for-tests"), BODY.as_bytes()).unwrap();
        assert_eq!(status.id.to_string(), "740e5834-3a29-46b4-9a6f-16142fde533a");
        assert_eq!(status.reference.as_deref(), Some("outbox-1"));
        assert_eq!(status.status, DeliveryState::Delivered);
        assert_eq!(status.notification_type, Channel::Sms);
        assert_eq!(status.completed_at.unwrap().to_rfc3339(), "2026-11-30T12:00:05.123456+00:00");
        assert!(!status.status.failed());
    }

    #[test]
    fn a_callback_without_our_token_is_refused_before_its_body_is_read() {
        for header in [
            None,
            Some(""),
            Some("Bearer "),
            Some("Bearer callback-token-for-test"),
            Some("callback-token-for-tests"),
            Some("Bearer callback-token-for-testsX"),
        ] {
            assert_eq!(read(&token(), header, b"not json"), Err(CallbackError::Unauthorised), "{header:?}");
        }
        assert!(CallbackToken::new("short").is_none());
        assert!(!format!("{:?}", token()).contains("callback-token"));
    }

    #[test]
    fn failures_and_unknown_states_are_kept_and_nulls_are_none() {
        let body = BODY.replace("\"delivered\"", "\"permanent-failure\"").replace("\"2026-11-30T12:00:05.123456Z\"", "null").replace("\"outbox-1\"", "null");
        let status = read(&token(), Some("Bearer callback-token-for-tests"), body.as_bytes()).unwrap();
        assert!(status.status.failed());
        assert_eq!(status.completed_at, None);
        assert_eq!(status.reference, None);
        let body = BODY
            .replace("\"delivered\"", "\"returned-letter\"")
            .replace("\"sms\"", "\"letter\"")
            .replace(".000000Z\",\n        \"notification_type", "\",\n        \"notification_type");
        let status = read(&token(), Some("Bearer callback-token-for-tests"), body.as_bytes()).unwrap();
        assert_eq!(status.status, DeliveryState::Other("returned-letter".into()));
        assert_eq!(status.status.as_str(), "returned-letter");
        assert_eq!(status.sent_at.unwrap().to_rfc3339(), "2026-11-30T12:00:01+00:00");
    }

    #[test]
    fn a_malformed_callback_names_what_is_wrong() {
        let body = BODY.replace("\"sms\"", "\"fax\"");
        assert!(
            matches!(read(&token(), Some("Bearer callback-token-for-tests"), body.as_bytes()), Err(CallbackError::Malformed(reason)) if reason.contains("notification_type"))
        );
        let body = BODY.replace("2026-11-30T12:00:00.000000Z", "yesterday");
        assert!(
            matches!(read(&token(), Some("Bearer callback-token-for-tests"), body.as_bytes()), Err(CallbackError::Malformed(reason)) if reason.contains("created_at"))
        );
        assert!(matches!(read(&token(), Some("Bearer callback-token-for-tests"), b"{}"), Err(CallbackError::Malformed(_))));
    }
}
