//! A person's own contact points: an email address and a mobile number that notifications may
//! go to, each used only after the person has proved it reaches them by typing back a 6-digit
//! code sent there. The code is held only as a keyed hash, lasts 30 minutes, and 5 tries at it
//! lock it until a new one is asked for. Pure: `now`, the key and randomness are passed in.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::crypto::SigningKey;
use crate::limits::Limit;
use crate::outbox::{Channel, Notification, NotificationKind};
use crate::person::{parse_email, parse_phone};
use crate::random::{Random, new_id};

/// How long a code may be used after it is sent.
pub const CODE_LIFETIME: Duration = Duration::minutes(30);

/// Tries at one code before it is locked.
pub const MAX_TRIES: i64 = 5;

/// Codes one account may have sent in a window: enough for a typo or two, too few to use
/// carefront to flood someone else's inbox or phone.
pub const CODES_SENT: Limit = Limit { max: 5, window: Duration::minutes(15) };

/// The rate-limit key of `person_id`'s codes sent.
pub fn codes_sent_key(person_id: &str) -> String {
    format!("contact-codes:{person_id}")
}

/// Who a care provider's duty contact points belong to: `organisation:<id>`, never a person's
/// id (those are never so prefixed), so its codes' hashes, rate limit and stop links are its own.
pub fn duty_owner(organisation_id: &str) -> String {
    format!("{DUTY_OWNER_PREFIX}{organisation_id}")
}

/// The organisation whose duty contact `owner` (from [`duty_owner`]) is, if it is one.
pub fn duty_organisation(owner: &str) -> Option<&str> {
    owner.strip_prefix(DUTY_OWNER_PREFIX).filter(|organisation_id| !organisation_id.is_empty())
}

const DUTY_OWNER_PREFIX: &str = "organisation:";

/// What a contact point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// An email address.
    Email,
    /// A mobile phone number, for text messages.
    Phone,
}

impl Medium {
    /// Both, in the order a page lists them.
    pub const ALL: [Medium; 2] = [Medium::Email, Medium::Phone];

    /// The stored name (and the path segment of its pages).
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Email => "email",
            Medium::Phone => "phone",
        }
    }

    /// The medium stored or named as `text`.
    pub fn parse(text: &str) -> Option<Medium> {
        Medium::ALL.into_iter().find(|medium| medium.as_str() == text)
    }

    /// The channel a notification to it travels by.
    pub fn channel(self) -> Channel {
        match self {
            Medium::Email => Channel::Email,
            Medium::Phone => Channel::Sms,
        }
    }

    /// In plain words ("email address", "mobile number").
    pub fn label(self) -> &'static str {
        match self {
            Medium::Email => "email address",
            Medium::Phone => "mobile number",
        }
    }
}

/// One of a person's contact points, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPoint {
    /// Whose.
    pub person_id: String,
    /// Email or phone.
    pub medium: Medium,
    /// The confirmed address or number: the only one messages go to.
    pub address: Option<String>,
    /// When it was confirmed.
    pub verified_at: Option<DateTime<Utc>>,
    /// A new address or number waiting for its code.
    pub pending_address: Option<String>,
    /// The keyed hash of the code sent to the pending address.
    pub code_hash: Option<String>,
    /// When that code stops working.
    pub code_expires_at: Option<DateTime<Utc>>,
    /// Tries at that code so far.
    pub wrong_tries: i64,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

/// Where a contact point's waiting code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// No code is waiting.
    Nothing,
    /// A code may be typed, with this many tries left.
    Code {
        /// Tries left before it locks.
        tries_left: i64,
    },
    /// The code is older than [`CODE_LIFETIME`].
    Expired,
    /// Every try was used.
    Locked,
}

impl ContactPoint {
    /// The confirmed address, if there is one: what notifications may use.
    pub fn verified(&self) -> Option<&str> {
        self.verified_at.and(self.address.as_deref())
    }

    /// Where its waiting code stands at `now`.
    pub fn waiting(&self, now: DateTime<Utc>) -> Waiting {
        match (self.code_hash.as_ref(), self.code_expires_at) {
            (Some(_), Some(_)) if self.wrong_tries >= MAX_TRIES => Waiting::Locked,
            (Some(_), Some(expires)) if now >= expires => Waiting::Expired,
            (Some(_), Some(_)) => Waiting::Code { tries_left: MAX_TRIES - self.wrong_tries },
            _ => Waiting::Nothing,
        }
    }
}

/// A 6-digit code, shown to nobody but the message that carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactCode(String);

impl std::fmt::Debug for ContactCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactCode(<redacted>)")
    }
}

impl ContactCode {
    /// A new code, every one of the million equally likely.
    pub fn new(random: &dyn Random) -> ContactCode {
        // Rejection sampling: 2^32 is not a multiple of a million, so the top slice is drawn again.
        const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
        loop {
            let mut bytes = [0_u8; 4];
            random.fill(&mut bytes);
            let value = u32::from_le_bytes(bytes);
            if value < LIMIT {
                return ContactCode(format!("{:06}", value % 1_000_000));
            }
        }
    }

    /// The digits, for the message's personalisation.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The code as typed: 6 digits once spaces and dashes are taken out.
    pub fn parse(typed: &str) -> Option<ContactCode> {
        let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        (digits.len() == 6 && digits.bytes().all(|byte| byte.is_ascii_digit())).then_some(ContactCode(digits))
    }

    /// The hash kept in place of the code, keyed so a copy of the database cannot be searched
    /// for it, and bound to the person, the medium and the address it was sent to.
    pub fn hash(&self, key: &SigningKey, person_id: &str, medium: Medium, address: &str) -> String {
        key.sign(PURPOSE, &message(person_id, medium, address, &self.0))
    }

    /// Whether this is the code behind `hash` (compared in constant time).
    pub fn matches(&self, key: &SigningKey, person_id: &str, medium: Medium, address: &str, hash: &str) -> bool {
        key.verify(PURPOSE, &message(person_id, medium, address, &self.0), hash)
    }
}

const PURPOSE: &str = "contact-check";

fn message(person_id: &str, medium: Medium, address: &str, code: &str) -> String {
    format!("{person_id}\n{}\n{address}\n{code}", medium.as_str())
}

/// Why a typed address or number cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressProblem {
    /// Nothing typed.
    #[error("Enter your {0}")]
    Missing(&'static str),
    /// Not an email address.
    #[error("Enter an email address in the correct format, like name@example.com")]
    NotEmail,
    /// Not a UK mobile number.
    #[error("Enter a UK mobile number, like 07700 900 982")]
    NotMobile,
}

/// The address or number as it will be kept, or why it cannot be used. A text message needs a
/// UK mobile number (07…, or +44 7…).
pub fn parse_address(medium: Medium, typed: &str) -> Result<String, AddressProblem> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(AddressProblem::Missing(medium.label()));
    }
    match medium {
        Medium::Email => parse_email(typed).ok_or(AddressProblem::NotEmail),
        Medium::Phone => {
            let number = parse_phone(typed).ok_or(AddressProblem::NotMobile)?;
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            let national =
                digits.strip_prefix("44").or_else(|| digits.strip_prefix("0044")).map_or(digits.clone(), |rest| format!("0{}", rest.trim_start_matches('0')));
            if national.starts_with("07") && national.len() == 11 { Ok(number) } else { Err(AddressProblem::NotMobile) }
        }
    }
}

/// A new code for `address`: the code to send there, and the contact point's waiting state to
/// keep (its hash and expiry).
#[derive(Debug, Clone)]
pub struct CodeSent {
    /// The code, for the message only.
    pub code: ContactCode,
    /// Its keyed hash, the only form stored.
    pub code_hash: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl CodeSent {
    /// The message that carries the code to `address` by `medium`, with `link` to the page where
    /// it is typed: the only place the code itself goes.
    pub fn message(&self, medium: Medium, address: &str, link: String, now: DateTime<Utc>, random: &dyn Random) -> Notification {
        let personalisation = BTreeMap::from([("code".to_owned(), self.code.digits().to_owned()), ("link".to_owned(), link)]);
        Notification::queued(new_id(random), NotificationKind::ContactCheck, medium.channel(), address.to_owned(), personalisation, now)
    }
}

/// Makes a code for `person_id`'s new `address`.
pub fn send_code(key: &SigningKey, person_id: &str, medium: Medium, address: &str, now: DateTime<Utc>, random: &dyn Random) -> CodeSent {
    let code = ContactCode::new(random);
    let code_hash = code.hash(key, person_id, medium, address);
    CodeSent { code, code_hash, expires_at: now + CODE_LIFETIME }
}

/// What a typed code turned out to be, after its try was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The right code, in time: the pending address is confirmed.
    Right,
    /// Not the code; this many tries are left (none: it is now locked).
    Wrong {
        /// Tries left.
        tries_left: i64,
    },
}

/// Checks `typed` against `point` as it stood after its try was counted (so `wrong_tries`
/// includes this try). `None` when no code may be checked (none waiting, expired or locked
/// before this try).
pub fn check_code(key: &SigningKey, point: &ContactPoint, typed: &ContactCode, now: DateTime<Utc>) -> Option<CodeCheck> {
    let (Some(address), Some(hash), Some(expires)) = (point.pending_address.as_deref(), point.code_hash.as_deref(), point.code_expires_at) else {
        return None;
    };
    if now >= expires || point.wrong_tries > MAX_TRIES {
        return None;
    }
    Some(if typed.matches(key, &point.person_id, point.medium, address, hash) {
        CodeCheck::Right
    } else {
        CodeCheck::Wrong { tries_left: (MAX_TRIES - point.wrong_tries).max(0) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn key() -> SigningKey {
        SigningKey::new(&[7; 32]).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn pending(sent: &CodeSent, tries: i64) -> ContactPoint {
        ContactPoint {
            person_id: "p".into(),
            medium: Medium::Email,
            address: None,
            verified_at: None,
            pending_address: Some("m@example.com".into()),
            code_hash: Some(sent.code_hash.clone()),
            code_expires_at: Some(sent.expires_at),
            wrong_tries: tries,
            updated_at: now(),
        }
    }

    #[test]
    fn codes_are_six_digits_and_only_their_keyed_hash_is_kept() {
        let random = SeededRandom::new(3);
        let sent = send_code(&key(), "p", Medium::Email, "m@example.com", now(), &random);
        assert_eq!(sent.code.digits().len(), 6);
        assert!(sent.code.digits().bytes().all(|b| b.is_ascii_digit()));
        assert!(!sent.code_hash.contains(sent.code.digits()));
        assert_ne!(sent.code_hash, crate::crypto::hash(sent.code.digits()), "keyed, not a plain hash");
        assert_eq!(format!("{:?}", sent.code), "ContactCode(<redacted>)");
        assert_eq!(sent.expires_at, now() + Duration::minutes(30));
        // Bound to the address: the same code for another address does not match.
        assert!(sent.code.matches(&key(), "p", Medium::Email, "m@example.com", &sent.code_hash));
        assert!(!sent.code.matches(&key(), "p", Medium::Email, "x@example.com", &sent.code_hash));
        assert!(!sent.code.matches(&key(), "q", Medium::Email, "m@example.com", &sent.code_hash));
    }

    #[test]
    fn a_right_code_in_time_passes_and_a_wrong_one_counts_down_to_the_lock() {
        let random = SeededRandom::new(4);
        let sent = send_code(&key(), "p", Medium::Email, "m@example.com", now(), &random);
        let typed = ContactCode::parse(&format!(" {} ", sent.code.digits())).unwrap();
        assert_eq!(check_code(&key(), &pending(&sent, 1), &typed, now()), Some(CodeCheck::Right));
        assert_eq!(check_code(&key(), &pending(&sent, 5), &typed, now()), Some(CodeCheck::Right), "the fifth try may still be right");
        let wrong = ContactCode::parse(if sent.code.digits() == "000000" { "111111" } else { "000000" }).unwrap();
        assert_eq!(check_code(&key(), &pending(&sent, 1), &wrong, now()), Some(CodeCheck::Wrong { tries_left: 4 }));
        assert_eq!(check_code(&key(), &pending(&sent, 5), &wrong, now()), Some(CodeCheck::Wrong { tries_left: 0 }));
        assert_eq!(pending(&sent, 5).waiting(now()), Waiting::Locked);
        assert_eq!(pending(&sent, 2).waiting(now()), Waiting::Code { tries_left: 3 });
        // Expired: not even checked.
        let late = now() + CODE_LIFETIME;
        assert_eq!(check_code(&key(), &pending(&sent, 1), &typed, late), None);
        assert_eq!(pending(&sent, 0).waiting(late), Waiting::Expired);
        let mut nothing = pending(&sent, 0);
        nothing.code_hash = None;
        assert_eq!(check_code(&key(), &nothing, &typed, now()), None);
        assert_eq!(nothing.waiting(now()), Waiting::Nothing);
    }

    #[test]
    fn typed_codes_and_addresses_are_checked() {
        assert!(ContactCode::parse("123 456").is_some());
        assert!(ContactCode::parse("12345").is_none());
        assert!(ContactCode::parse("12345a").is_none());
        assert!(ContactCode::parse("1234567").is_none());
        assert_eq!(parse_address(Medium::Email, " m@example.com "), Ok("m@example.com".into()));
        assert_eq!(parse_address(Medium::Email, "m.example.com"), Err(AddressProblem::NotEmail));
        assert_eq!(parse_address(Medium::Email, ""), Err(AddressProblem::Missing("email address")));
        assert_eq!(parse_address(Medium::Phone, "07700 900 982"), Ok("07700 900 982".into()));
        assert_eq!(parse_address(Medium::Phone, "+44 7700 900982"), Ok("+44 7700 900982".into()));
        assert_eq!(parse_address(Medium::Phone, "0113 496 0000"), Err(AddressProblem::NotMobile), "a landline cannot take a text");
        assert_eq!(parse_address(Medium::Phone, "call me"), Err(AddressProblem::NotMobile));
        assert_eq!(AddressProblem::Missing("mobile number").to_string(), "Enter your mobile number");
    }

    #[test]
    fn only_a_confirmed_address_is_used() {
        let random = SeededRandom::new(5);
        let sent = send_code(&key(), "p", Medium::Phone, "07700 900 982", now(), &random);
        let mut point = pending(&sent, 0);
        assert_eq!(point.verified(), None);
        point.address = Some("07700 900 111".into());
        point.verified_at = Some(now());
        assert_eq!(point.verified(), Some("07700 900 111"), "the old number serves until the new one is confirmed");
        assert_eq!(Medium::parse("phone").map(Medium::channel), Some(Channel::Sms));
        assert_eq!(Medium::parse("fax"), None);
    }
}
