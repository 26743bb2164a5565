//! Telling one browser from another, for "someone signed in on a new device": each browser
//! keeps a long-lived random device id in a cookie of its own, and the store keeps, per
//! account, only a keyed hash of each id it has signed in from (never the id itself, so a copy
//! of the table cannot be turned back into cookies, nor link one browser across accounts). The
//! description a message gives ("Chrome on Android") is made from the User-Agent with a few
//! plain rules and never repeats the header itself. Pure: the id's randomness is passed in.

use chrono::{DateTime, Duration, Utc};

use crate::crypto::SigningKey;
use crate::random::{Random, token};

/// The cookie that holds the browser's device id (Secure, HttpOnly, SameSite=Lax, path `/`).
pub const DEVICE_COOKIE: &str = "__Host-carefront_device";

/// How long a browser keeps its device id: 400 days, the longest lifetime browsers allow a
/// cookie. Each sign-in sets it again, so a browser in use keeps its id.
pub const DEVICE_LIFETIME: Duration = Duration::days(400);

/// What the device id's keyed hash is separated by from the key's other uses.
const DEVICE_PURPOSE: &str = "device";

/// How many random bytes a device id has (256 bits: as hard to guess as a session id).
const DEVICE_BYTES: usize = 32;

/// A new random device id, base64url.
pub fn new_device_id(random: &dyn Random) -> String {
    token(random, DEVICE_BYTES)
}

/// The device id in a cookie's value, if it has the shape of one (43 base64url characters);
/// anything else is ignored and the browser is given a new id.
pub fn parse_device_id(value: &str) -> Option<&str> {
    let shaped = value.len() == 43 && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    shaped.then_some(value)
}

/// What the store keeps for `device_id` on `person_id`'s account: a keyed hash of both, so the
/// same browser has a different hash on each account.
pub fn device_hash(key: &SigningKey, person_id: &str, device_id: &str) -> String {
    key.sign(DEVICE_PURPOSE, &format!("{person_id}:{device_id}"))
}

/// One device an account has signed in from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    /// The keyed hash of its device id ([`device_hash`]).
    pub device_hash: String,
    /// When the account first signed in (or enrolled) from it.
    pub first_seen_at: DateTime<Utc>,
    /// When the account last signed in from it.
    pub last_seen_at: DateTime<Utc>,
}

/// Whether a sign-in from the device with `hash` should be told to the account holder: when the
/// account does not know it. An account with no device recorded (enrolled before devices were
/// kept) is told of its first one too: a sign-in nobody can vouch for is told, never learned
/// quietly (the enrolling browser is recorded at enrolment, so a new account is not).
pub fn is_new_device(known: &[KnownDevice], hash: &str) -> bool {
    !known.iter().any(|device| device.device_hash == hash)
}

/// A short description of the browser from its `User-Agent` ("Chrome on Android", "Safari on
/// iPhone"): a browser and a system from fixed lists, never any of the header's own text.
pub fn describe(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or_default();
    let browser = browser_of(agent);
    let system = system_of(agent);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A web browser on {system}"),
        (None, None) => "A web browser".to_owned(),
    }
}

/// The browser, most specific first: Edge, Opera and Samsung Internet also say "Chrome", and
/// Chrome also says "Safari".
fn browser_of(agent: &str) -> Option<&'static str> {
    const BROWSERS: [(&str, &str); 9] = [
        ("Edg", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("EdgiOS/", "Edge"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    BROWSERS.iter().find(|(marker, _)| agent.contains(marker)).map(|(_, name)| *name)
}

/// The system, most specific first: Android also says "Linux", an iPhone "like Mac OS X".
fn system_of(agent: &str) -> Option<&'static str> {
    const SYSTEMS: [(&str, &str); 8] = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("CrOS", "Chromebook"),
        ("Windows", "Windows"),
        ("Macintosh", "Mac"),
        ("Mac OS X", "Mac"),
        ("Linux", "Linux"),
    ];
    SYSTEMS.iter().find(|(marker, _)| agent.contains(marker)).map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn common_browsers_are_described_in_a_few_words() {
        for (agent, words) in [
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
                "Chrome on iPhone",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0", "Firefox on Mac"),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                "Samsung Internet on Android",
            ),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Chromebook"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
        ] {
            assert_eq!(describe(Some(agent)), words, "{agent}");
        }
    }

    #[test]
    fn an_unknown_or_hostile_header_is_never_repeated() {
        assert_eq!(describe(None), "A web browser");
        assert_eq!(describe(Some("")), "A web browser");
        assert_eq!(describe(Some("<script>alert(1)</script> Visit https://evil.example")), "A web browser");
        assert_eq!(describe(Some("curl/8.5 (Windows) https://evil.example")), "A web browser on Windows");
    }

    #[test]
    fn a_device_id_is_random_shaped_and_hashed_per_account() {
        let random = SeededRandom::new(3);
        let id = new_device_id(&random);
        assert_eq!(parse_device_id(&id), Some(id.as_str()));
        assert_ne!(new_device_id(&random), id);
        for bad in ["", "short", &format!("{id}x"), &"a".repeat(42), &format!("{}=", &id[..42])] {
            assert_eq!(parse_device_id(bad), None, "{bad:?}");
        }
        let key = SigningKey::new(&[7; 32]).unwrap();
        let hash = device_hash(&key, "person-1", &id);
        assert!(!hash.contains(&id));
        assert_eq!(hash, device_hash(&key, "person-1", &id));
        assert_ne!(hash, device_hash(&key, "person-2", &id), "one browser is not linkable across accounts");
    }

    #[test]
    fn a_device_the_account_does_not_know_is_new_even_its_first() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let known = vec![KnownDevice { device_hash: "a".into(), first_seen_at: at, last_seen_at: at }];
        assert!(is_new_device(&known, "b"));
        assert!(!is_new_device(&known, "a"));
        assert!(is_new_device(&[], "b"), "an account with no device recorded is told of its first, never learned quietly");
    }
}
