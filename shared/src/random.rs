//! Randomness is a capability passed in by the runtime entry, never drawn inside the core.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A source of cryptographically secure random bytes.
pub trait Random {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// `bytes` random bytes as base64url without padding.
pub fn token(random: &dyn Random, bytes: usize) -> String {
    let mut buf = vec![0_u8; bytes];
    random.fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A random identifier for a new row (128 bits, base64url).
pub fn new_id(random: &dyn Random) -> String {
    token(random, 16)
}

/// A random version-4 UUID.
pub fn new_uuid(random: &dyn Random) -> uuid::Uuid {
    let mut buf = [0_u8; 16];
    random.fill(&mut buf);
    uuid::Builder::from_random_bytes(buf).into_uuid()
}

/// A cryptographically secure generator expanding a 32-byte seed with HMAC-SHA256 in counter
/// mode. The runtime entry seeds it from the platform's entropy once per request (a fallible
/// call it can answer with 503); tests seed it with a constant and get repeatable runs.
pub struct SeededRandom {
    key: Hmac<Sha256>,
    counter: std::cell::Cell<u64>,
}

impl std::fmt::Debug for SeededRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeededRandom(<redacted>)")
    }
}

impl SeededRandom {
    /// A generator from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        // HMAC pads short keys with zeros to its block size, so this is HMAC keyed with `seed`.
        let mut block = [0_u8; 64];
        block[..32].copy_from_slice(&seed);
        let key = <Hmac<Sha256> as KeyInit>::new(&block.into());
        SeededRandom { key, counter: std::cell::Cell::new(0) }
    }

    /// A generator for tests and demo data from a small number.
    pub fn new(seed: u64) -> Self {
        let mut bytes = [0_u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        Self::from_seed(bytes)
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(32) {
            let counter = self.counter.get();
            self.counter.set(counter.wrapping_add(1));
            let mut mac = self.key.clone();
            mac.update(&counter.to_le_bytes());
            let block = mac.finalize().into_bytes();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let (a, b, c) = (SeededRandom::new(1), SeededRandom::new(1), SeededRandom::new(2));
        assert_eq!(token(&a, 40), token(&b, 40));
        assert_ne!(token(&a, 40), token(&c, 40));
        assert_ne!(token(&a, 16), token(&a, 16), "the stream moves on");
    }
}
