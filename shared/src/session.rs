//! Sessions (OWASP ASVS): an opaque random id in a server-side row, carried in a cookie signed
//! with HMAC-SHA256; rotated at sign-in; idle and absolute timeouts; sign-out deletes the row.

use chrono::{DateTime, Duration, Utc};

use crate::crypto::{SigningKey, hash};
use crate::domain::SessionRecord;
use crate::random::{Random, token};

/// Name of the session cookie (`__Host-`: Secure, path `/`, no Domain).
pub const SESSION_COOKIE: &str = "__Host-carefront_session";
/// A session unused for this long is over.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session older than this is over however busy it is.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// How recent a passkey check must be before access is added or widened.
pub const REAUTHENTICATION_WINDOW: Duration = Duration::minutes(5);
/// Don't rewrite `last_seen_at` more often than this (saves a write per page view).
pub const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// A freshly minted opaque token: the cookie value to hand out and the hash to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedToken {
    /// `id.signature`, for the cookie.
    pub cookie_value: String,
    /// SHA-256 of the id, the row's key.
    pub id_hash: String,
}

/// Mints a random id signed for `purpose` (sessions, ceremonies and enrolments use different
/// purposes, so one cookie can never be replayed as another).
pub fn mint(key: &SigningKey, purpose: &str, random: &dyn Random) -> MintedToken {
    let id = token(random, 32);
    let signature = key.sign(purpose, &id);
    MintedToken { cookie_value: format!("{id}.{signature}"), id_hash: hash(&id) }
}

/// Checks a cookie value minted for `purpose` and returns the row key it stands for, or `None`
/// if it was tampered with or is malformed.
pub fn open(key: &SigningKey, purpose: &str, cookie_value: &str) -> Option<String> {
    let (id, signature) = cookie_value.split_once('.')?;
    (!id.is_empty() && key.verify(purpose, id, signature)).then(|| hash(id))
}

/// Purpose label of session cookies.
pub const SESSION_PURPOSE: &str = "session";

/// Why a stored session is no longer valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionExpiry {
    /// Unused for longer than [`IDLE_TIMEOUT`].
    #[error("the session was idle for too long")]
    Idle,
    /// Older than [`ABSOLUTE_TIMEOUT`].
    #[error("the session reached its maximum age")]
    Absolute,
}

/// Whether `session` is still valid at `now`.
pub fn check(session: &SessionRecord, now: DateTime<Utc>) -> Result<(), SessionExpiry> {
    if now >= session.created_at + ABSOLUTE_TIMEOUT {
        Err(SessionExpiry::Absolute)
    } else if now >= session.last_seen_at + IDLE_TIMEOUT {
        Err(SessionExpiry::Idle)
    } else {
        Ok(())
    }
}

/// Whether the person proved themselves with a passkey recently enough to widen access.
pub fn recently_verified(session: &SessionRecord, now: DateTime<Utc>) -> bool {
    now < session.verified_at + REAUTHENTICATION_WINDOW
}

/// Whether `last_seen_at` is stale enough to be worth a write.
pub fn needs_touch(session: &SessionRecord, now: DateTime<Utc>) -> bool {
    now - session.last_seen_at >= TOUCH_INTERVAL
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn key() -> SigningKey {
        SigningKey::new(&[7; 32]).unwrap_or_else(|_| unreachable!())
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
    }

    fn session(created: i64, seen: i64) -> SessionRecord {
        SessionRecord {
            id_hash: "h".into(),
            person_id: "p".into(),
            created_at: at(created),
            last_seen_at: at(seen),
            verified_at: at(created),
            passkey_id: None,
        }
    }

    #[test]
    fn minted_cookie_opens_to_its_hash() {
        let random = SeededRandom::new(1);
        let minted = mint(&key(), SESSION_PURPOSE, &random);
        assert_eq!(open(&key(), SESSION_PURPOSE, &minted.cookie_value), Some(minted.id_hash));
    }

    #[test]
    fn tampered_cookie_is_refused() {
        let random = SeededRandom::new(2);
        let minted = mint(&key(), SESSION_PURPOSE, &random);
        let mut bytes = minted.cookie_value.clone().into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(open(&key(), SESSION_PURPOSE, &tampered), None);
        assert_eq!(open(&key(), SESSION_PURPOSE, "no-dot"), None);
        assert_eq!(open(&key(), SESSION_PURPOSE, ".sig"), None);
        assert_eq!(open(&key(), SESSION_PURPOSE, ""), None);
    }

    #[test]
    fn cookie_signed_with_another_key_or_purpose_is_refused() {
        let random = SeededRandom::new(3);
        let minted = mint(&key(), SESSION_PURPOSE, &random);
        let other = SigningKey::new(&[8; 32]).unwrap_or_else(|_| unreachable!());
        assert_eq!(open(&other, SESSION_PURPOSE, &minted.cookie_value), None);
        assert_eq!(open(&key(), "ceremony", &minted.cookie_value), None);
    }

    #[test]
    fn rotation_mints_a_different_id() {
        let random = SeededRandom::new(4);
        let first = mint(&key(), SESSION_PURPOSE, &random);
        let second = mint(&key(), SESSION_PURPOSE, &random);
        assert_ne!(first.id_hash, second.id_hash);
        assert_ne!(first.cookie_value, second.cookie_value);
    }

    #[test]
    fn timeouts() {
        let cases = [
            // (created, last seen, now, expected)
            (0, 0, 0, Ok(())),
            (0, 0, 29, Ok(())),
            (0, 0, 30, Err(SessionExpiry::Idle)),
            (0, 700, 719, Ok(())),
            (0, 710, 720, Err(SessionExpiry::Absolute)),
            (0, 0, 10_000, Err(SessionExpiry::Absolute)),
        ];
        for (created, seen, now, expected) in cases {
            assert_eq!(check(&session(created, seen), at(now)), expected, "created {created} seen {seen} now {now}");
        }
    }

    #[test]
    fn reauthentication_is_recent_for_five_minutes() {
        assert!(recently_verified(&session(0, 0), at(4)));
        assert!(!recently_verified(&session(0, 0), at(5)));
    }

    #[test]
    fn touch_only_after_interval() {
        assert!(!needs_touch(&session(0, 0), at(0)));
        assert!(needs_touch(&session(0, 0), at(1)));
    }
}
