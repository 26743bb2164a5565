//! Limits that slow attackers without refusing the innocent.
//!
//! Codes (emergency codes, invitations) are limited by their *failures*, counted per source and
//! per code: the key is the client address the platform vouches for together with the code's
//! public selector. So one address's wrong guesses at one code never hold up another address, nor
//! the same address's other codes (a care home, a proxy, a whole ingress share one address), while
//! guessing at one code from one address is still slowed. A try is counted *before* the code is
//! checked (so a burst of guesses in parallel cannot slip past the count) and given back when the
//! code was right, so only failures are left counted. Each code also counts its own failures from
//! everywhere and locks after many; whoever it belongs to can then issue a new one.
//!
//! Ceremony starts that need no sign-in (passkey sign-in, enrolment) write a row each, so they are
//! limited per source too.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// A number of events allowed from one key in a fixed window of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// How many are allowed in one window.
    pub max: i64,
    /// How long a window lasts; windows start at whole multiples of it since the epoch.
    pub window: Duration,
}

impl Limit {
    /// The start of the window `now` falls in.
    pub fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let seconds = self.window.num_seconds().max(1);
        DateTime::from_timestamp(now.timestamp() - now.timestamp().rem_euclid(seconds), 0).unwrap_or(now)
    }

    /// Whether `count` events in one window (this one included) are too many.
    pub fn exceeded(&self, count: i64) -> bool {
        count > self.max
    }

    /// Whole seconds from `now` until the window ends (at least 1), for `Retry-After`.
    pub fn retry_after(&self, now: DateTime<Utc>) -> i64 {
        let end = self.window_start(now) + self.window;
        let millis = (end - now).num_milliseconds();
        ((millis + 999) / 1000).max(1)
    }
}

/// Wrong codes one source may try at one code (one selector) in a window. A right code is never
/// counted.
pub const CODE_FAILURES: Limit = Limit { max: 5, window: Duration::minutes(15) };
/// [`CODE_FAILURES`]'s maximum, for messages and tests.
pub const MAX_FAILURES_PER_SOURCE: i64 = CODE_FAILURES.max;
/// Sign-in or enrolment ceremonies one source may start in a window: more than a care home's
/// shift change, far fewer than a script.
pub const CEREMONY_STARTS: Limit = Limit { max: 20, window: Duration::minutes(1) };
/// The longest window of any limit: a count from a window that started before
/// [`stale_before`] can never matter again.
const LONGEST_WINDOW: Duration = Duration::minutes(15);

/// Counts from windows that started before this instant are over and can be deleted.
pub fn stale_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - LONGEST_WINDOW
}

/// What kind of code is being tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// An emergency code from the paper copy.
    Emergency,
    /// An invitation code.
    Invitation,
}

/// What kind of ceremony is being started without a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartKind {
    /// A passkey sign-in.
    SignIn,
    /// Accepting an invitation and creating the first passkey.
    Enrol,
}

/// The source a limit counts against: an IPv4 address, or an IPv6 address's /64 network (one
/// household or host is given a whole /64, so counting single IPv6 addresses would count
/// nothing). Without an address the platform vouches for, every such request shares one source.
pub fn source(client: Option<&str>) -> String {
    match client.and_then(|client| client.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(address)) => address.to_string(),
        Some(IpAddr::V6(address)) => match address.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = address.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
        None => "unknown".to_owned(),
    }
}

/// The key counting `client`'s failures at the code with this public selector.
pub fn failure_key(kind: CodeKind, client: Option<&str>, selector: &str) -> String {
    let kind = match kind {
        CodeKind::Emergency => "emergency",
        CodeKind::Invitation => "invitation",
    };
    format!("failures:{kind}:{}:{selector}", source(client))
}

/// The key counting `client`'s ceremony starts of this kind.
pub fn start_key(kind: StartKind, client: Option<&str>) -> String {
    let kind = match kind {
        StartKind::SignIn => "sign_in",
        StartKind::Enrol => "enrol",
    };
    format!("starts:{kind}:{}", source(client))
}

/// The client address in a trusted proxy's header: the last of a comma-separated list (the
/// entry the proxy itself added; earlier ones are the client's to write), with any port and
/// IPv6 brackets taken off. `None` unless it is an IP address.
pub fn forwarded_client(value: &str) -> Option<String> {
    peer_address(value.rsplit(',').next()?.trim())
}

/// The address part of a peer address (`ip`, `ip:port` or `[ipv6]:port`), if it is one.
pub fn peer_address(address: &str) -> Option<String> {
    let address = address.trim();
    if let Ok(ip) = address.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host).trim_matches(['[', ']']);
    host.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn windows_are_fixed_and_retry_after_counts_to_their_end() {
        let now = at("2026-11-21T14:07:31.250Z");
        assert_eq!(CODE_FAILURES.window_start(now), at("2026-11-21T14:00:00Z"));
        assert_eq!(CODE_FAILURES.retry_after(now), 7 * 60 + 29);
        assert_eq!(CEREMONY_STARTS.window_start(now), at("2026-11-21T14:07:00Z"));
        assert_eq!(CEREMONY_STARTS.retry_after(now), 29);
        assert_eq!(CEREMONY_STARTS.retry_after(at("2026-11-21T14:07:00Z")), 60);
        assert_eq!(CEREMONY_STARTS.retry_after(at("2026-11-21T14:07:59.999Z")), 1);
        assert!(!CODE_FAILURES.exceeded(5) && CODE_FAILURES.exceeded(6));
        assert_eq!(stale_before(now), at("2026-11-21T13:52:31.250Z"));
    }

    #[test]
    fn sources_are_addresses_and_ipv6_counts_by_network() {
        assert_eq!(source(Some("192.0.2.7")), "192.0.2.7");
        assert_eq!(source(Some("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(source(Some("2001:db8:1:2:ffff::1")), source(Some("2001:db8:1:2::9")));
        assert_ne!(source(Some("2001:db8:1:2::1")), source(Some("2001:db8:1:3::1")));
        assert_eq!(source(Some("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(source(Some("not an address")), "unknown");
        assert_eq!(source(None), "unknown");
    }

    #[test]
    fn keys_separate_sources_codes_and_kinds() {
        let key = failure_key(CodeKind::Emergency, Some("192.0.2.7"), "ABCD1234");
        assert_eq!(key, "failures:emergency:192.0.2.7:ABCD1234");
        assert_ne!(key, failure_key(CodeKind::Emergency, Some("192.0.2.8"), "ABCD1234"));
        assert_ne!(key, failure_key(CodeKind::Emergency, Some("192.0.2.7"), "ABCD1235"));
        assert_ne!(key, failure_key(CodeKind::Invitation, Some("192.0.2.7"), "ABCD1234"));
        assert_eq!(start_key(StartKind::SignIn, Some("192.0.2.7")), "starts:sign_in:192.0.2.7");
        assert_ne!(start_key(StartKind::SignIn, None), start_key(StartKind::Enrol, None));
    }

    #[test]
    fn a_trusted_header_gives_the_address_its_proxy_added() {
        assert_eq!(forwarded_client("203.0.113.9").as_deref(), Some("203.0.113.9"));
        assert_eq!(forwarded_client("198.51.100.1, 203.0.113.9").as_deref(), Some("203.0.113.9"), "the last entry is the proxy's");
        assert_eq!(forwarded_client("203.0.113.9:4711").as_deref(), Some("203.0.113.9"));
        assert_eq!(forwarded_client("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(forwarded_client("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(forwarded_client("unknown"), None);
        assert_eq!(forwarded_client(""), None);
        assert_eq!(peer_address("127.0.0.1:51234").as_deref(), Some("127.0.0.1"));
        assert_eq!(peer_address("[::1]:51234").as_deref(), Some("::1"));
    }
}
