//! Keyed signatures (HMAC-SHA256) and hashes (SHA-256), base64url encoded.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The deployment's secret key for signed cookies, CSRF tokens and receipts, keyed once.
#[derive(Clone)]
pub struct SigningKey(HmacSha256);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The key is too short to be safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a signing key needs at least 32 bytes")]
pub struct KeyTooShort;

impl SigningKey {
    /// Keys HMAC-SHA256 with `bytes`, which must be at least 32 bytes long.
    pub fn new(bytes: &[u8]) -> Result<SigningKey, KeyTooShort> {
        if bytes.len() < 32 {
            return Err(KeyTooShort);
        }
        HmacSha256::new_from_slice(bytes).map(SigningKey).map_err(|_| KeyTooShort)
    }

    fn mac(&self, purpose: &str, message: &str) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(message.as_bytes());
        mac
    }

    /// HMAC-SHA256 of `message`, separated by `purpose`, as base64url.
    pub fn sign(&self, purpose: &str, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, message).finalize().into_bytes())
    }

    /// Checks a base64url signature from [`SigningKey::sign`] in constant time.
    pub fn verify(&self, purpose: &str, message: &str, signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            Ok(bytes) => self.mac(purpose, message).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

/// SHA-256 of `bytes` as base64url: how a file stands for itself in an idempotency fingerprint.
pub fn digest(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

/// SHA-256 of `text` as base64url: how secrets (session ids, invitation verifiers) are stored.
pub fn hash(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}
