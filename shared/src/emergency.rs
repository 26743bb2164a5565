//! Emergency (break-glass) access: a code the person, someone acting for them or the council
//! turns on, held only as a hash; a clinician who enters it with their name, role and
//! organisation reads the person's medicines, allergies and emergency summary for four hours.
//!
//! A code is a public selector (to find it) and a secret verifier (held as a hash), like an
//! invitation, so that wrong guesses close to a real code can be counted against it and lock it,
//! while a guess that matches nothing names no one: every wrong code gets the same answer.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};

use crate::crypto::hash;
use crate::random::{Random, new_id};

/// How long emergency access lasts once a code is accepted.
pub const ACCESS_LIFETIME: Duration = Duration::hours(4);
/// Wrong codes tried against one live code (same selector), from anywhere, before it locks,
/// until a new code is turned on. Well above [`crate::limits::MAX_FAILURES_PER_SOURCE`], so
/// one source's wrong tries never lock it for everyone; still only 20 guesses at a 40-bit secret.
pub const MAX_FAILED_ATTEMPTS: i64 = 20;
/// How long an emergency access stays on the home pages of the person and their representatives.
pub const NOTICE_PERIOD: Duration = Duration::days(30);
/// Longest clinician name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Longest clinician role accepted, in characters.
pub const MAX_ROLE_CHARS: usize = 60;
/// Longest organisation name accepted, in characters.
pub const MAX_ORGANISATION_CHARS: usize = 100;

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or typed is unambiguous.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 40 bits: so few of all selectors are in use that a random guess almost never finds one, and
/// so can almost never count against (or lock) anyone's code.
const SELECTOR_LEN: usize = 8;
/// 40 bits of secret behind a lockout after [`MAX_FAILED_ATTEMPTS`]. Its hash is unsalted, but a
/// copy of the database holds the very record the code opens, so there is nothing more to win.
const VERIFIER_LEN: usize = 8;
const CODE_LEN: usize = SELECTOR_LEN + VERIFIER_LEN;

/// An emergency code as printed and typed, e.g. `7K2M-QX4D-9RTB-H3VW` (80 bits).
#[derive(Clone, PartialEq, Eq)]
pub struct EmergencyCode {
    selector: String,
    verifier: String,
}

impl std::fmt::Debug for EmergencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmergencyCode({}-<redacted>)", self.selector)
    }
}

impl EmergencyCode {
    /// A new random code.
    pub fn generate(random: &dyn Random) -> EmergencyCode {
        let mut bytes = [0_u8; CODE_LEN];
        random.fill(&mut bytes);
        // 256 is a multiple of 32, so every character is equally likely.
        let chars: String = bytes.iter().map(|byte| char::from(ALPHABET[usize::from(byte % 32)])).collect();
        let (selector, verifier) = chars.split_at(SELECTOR_LEN);
        EmergencyCode { selector: selector.to_owned(), verifier: verifier.to_owned() }
    }

    /// Reads a code as a clinician might type it: any case, spaces or hyphens anywhere, and the
    /// look-alike letters O, I and L read as 0, 1 and 1.
    pub fn parse(text: &str) -> Option<EmergencyCode> {
        let mut chars = String::with_capacity(CODE_LEN);
        for c in text.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || chars.len() == CODE_LEN {
                return None;
            }
            chars.push(c);
        }
        (chars.len() == CODE_LEN).then(|| {
            let (selector, verifier) = chars.split_at(SELECTOR_LEN);
            EmergencyCode { selector: selector.to_owned(), verifier: verifier.to_owned() }
        })
    }

    /// The public half, used to find the code.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The hash of the code, as stored.
    pub fn verifier_hash(&self) -> String {
        hash(&format!("emergency:{}:{}", self.selector, self.verifier))
    }
}

impl std::fmt::Display for EmergencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all = format!("{}{}", self.selector, self.verifier);
        let groups: Vec<&str> = all.as_bytes().chunks(4).filter_map(|chunk| std::str::from_utf8(chunk).ok()).collect();
        f.write_str(&groups.join("-"))
    }
}

/// Why a code stopped working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeEnd {
    /// A new code was turned on in its place.
    Replaced,
    /// It was turned off.
    TurnedOff,
}

impl CodeEnd {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeEnd::Replaced => "replaced",
            CodeEnd::TurnedOff => "turned_off",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<CodeEnd> {
        [CodeEnd::Replaced, CodeEnd::TurnedOff].into_iter().find(|end| end.as_str() == text)
    }
}

/// An emergency code as stored: never the code itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyCodeRecord {
    /// Stable identifier.
    pub id: String,
    /// Whose record it opens.
    pub person_id: String,
    /// The public half of the code.
    pub selector: String,
    /// SHA-256 of the code.
    pub verifier_hash: String,
    /// Who turned it on (a person id: the person, someone acting for them, or council staff).
    pub issued_by: String,
    /// What allowed it: `own_record`, or the grant, as `grant:<id> (<basis>)`.
    pub basis: String,
    /// When it was turned on.
    pub issued_at: DateTime<Utc>,
    /// When it stopped working, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// Who stopped it.
    pub ended_by: Option<String>,
    /// Why it stopped.
    pub end_reason: Option<CodeEnd>,
    /// Wrong codes tried against it.
    pub failed_attempts: i64,
}

impl EmergencyCodeRecord {
    /// Whether it is the person's code in use (neither replaced nor turned off).
    pub fn is_live(&self) -> bool {
        self.ended_at.is_none()
    }

    /// Whether too many wrong codes were tried against it.
    pub fn is_locked(&self) -> bool {
        self.failed_attempts >= MAX_FAILED_ATTEMPTS
    }
}

/// Turns on a new code for `person_id`, by `issued_by` under `basis`: the row to store and the
/// code to show once.
pub fn issue(person_id: &str, issued_by: &str, basis: &str, now: DateTime<Utc>, random: &dyn Random) -> (EmergencyCodeRecord, EmergencyCode) {
    let code = EmergencyCode::generate(random);
    let record = EmergencyCodeRecord {
        id: new_id(random),
        person_id: person_id.to_owned(),
        selector: code.selector().to_owned(),
        verifier_hash: code.verifier_hash(),
        issued_by: issued_by.to_owned(),
        basis: basis.to_owned(),
        issued_at: now,
        ended_at: None,
        ended_by: None,
        end_reason: None,
        failed_attempts: 0,
    };
    (record, code)
}

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefusal {
    /// No code is this one: the same answer whether or not the selector is in use.
    #[error("the emergency code was not recognised")]
    NotRecognised,
    /// It was replaced or turned off.
    #[error("the emergency code is no longer in use")]
    NoLongerInUse,
    /// Too many wrong codes were tried against it.
    #[error("the emergency code is locked after too many wrong attempts")]
    Locked,
}

/// Checks `code` against the stored codes that share its selector (`candidates`). On
/// `NotRecognised` the caller counts a wrong attempt against each live candidate.
pub fn check<'a>(candidates: &'a [EmergencyCodeRecord], code: &EmergencyCode) -> Result<&'a EmergencyCodeRecord, CodeRefusal> {
    let verifier_hash = code.verifier_hash();
    let candidates = candidates.iter().filter(|candidate| candidate.selector == code.selector());
    let Some(matching) = candidates.clone().find(|candidate| candidate.verifier_hash == verifier_hash) else {
        // Once a code is locked, every try at it is refused the same way, right or wrong.
        return Err(if candidates.into_iter().any(|candidate| candidate.is_live() && candidate.is_locked()) {
            CodeRefusal::Locked
        } else {
            CodeRefusal::NotRecognised
        });
    };
    if !matching.is_live() {
        return Err(CodeRefusal::NoLongerInUse);
    }
    if matching.is_locked() {
        return Err(CodeRefusal::Locked);
    }
    Ok(matching)
}

/// Something wrong with what the clinician typed about themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClinicianProblem {
    /// No name, a name too long, or one with control characters.
    #[error("Enter your full name, up to 80 characters")]
    Name,
    /// No role, or one too long.
    #[error("Enter your role, for example paramedic or GP, up to 60 characters")]
    Role,
    /// No organisation, or one too long.
    #[error("Enter your organisation, for example North West Ambulance Service, up to 100 characters")]
    Organisation,
}

/// Who is using an emergency code, in their own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clinician {
    /// Their name.
    pub name: String,
    /// Their role ("Paramedic", "Out-of-hours GP").
    pub role: String,
    /// Their organisation ("North West Ambulance Service").
    pub organisation: String,
}

fn field(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)).then(|| text.to_owned())
}

impl Clinician {
    /// Checks the three fields (trimmed): each required, length-limited, without control
    /// characters. Every problem is returned, in form order.
    pub fn parse(name: &str, role: &str, organisation: &str) -> Result<Clinician, Vec<ClinicianProblem>> {
        let (name, role, organisation) = (field(name, MAX_NAME_CHARS), field(role, MAX_ROLE_CHARS), field(organisation, MAX_ORGANISATION_CHARS));
        match (name, role, organisation) {
            (Some(name), Some(role), Some(organisation)) => Ok(Clinician { name, role, organisation }),
            (name, role, organisation) => Err([
                name.is_none().then_some(ClinicianProblem::Name),
                role.is_none().then_some(ClinicianProblem::Role),
                organisation.is_none().then_some(ClinicianProblem::Organisation),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }

    /// "Alex Smith (Paramedic, North West Ambulance Service)".
    pub fn describe(&self) -> String {
        format!("{} ({}, {})", self.name, self.role, self.organisation)
    }
}

/// One use of an emergency code: a clinician's four hours of read-only access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAccess {
    /// Stable identifier (named in the audit log as `emergency_access:<id>`).
    pub id: String,
    /// SHA-256 of the opaque token in the clinician's cookie.
    pub token_hash: String,
    /// The code used.
    pub code_id: String,
    /// Whose record.
    pub person_id: String,
    /// Who.
    pub clinician: Clinician,
    /// When the code was accepted.
    pub started_at: DateTime<Utc>,
    /// [`ACCESS_LIFETIME`] later.
    pub expires_at: DateTime<Utc>,
    /// When the clinician left (or the code was replaced or turned off), if before expiry.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Where an emergency access stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessState {
    /// The clinician may read the record.
    Live,
    /// The four hours are over.
    Expired,
    /// The clinician left, or the code was replaced or turned off.
    Ended,
}

impl EmergencyAccess {
    /// Starts access with the accepted `code`; `token_hash` is the hash of the cookie's token.
    pub fn start(code: &EmergencyCodeRecord, clinician: Clinician, token_hash: String, now: DateTime<Utc>, random: &dyn Random) -> EmergencyAccess {
        EmergencyAccess {
            id: new_id(random),
            token_hash,
            code_id: code.id.clone(),
            person_id: code.person_id.clone(),
            clinician,
            started_at: now,
            expires_at: now + ACCESS_LIFETIME,
            ended_at: None,
        }
    }

    /// Where it stands at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> AccessState {
        if self.ended_at.is_some_and(|ended| ended <= now) {
            AccessState::Ended
        } else if now >= self.expires_at {
            AccessState::Expired
        } else {
            AccessState::Live
        }
    }

    /// When the clinician could no longer read the record (or will no longer).
    pub fn until(&self) -> DateTime<Utc> {
        self.ended_at.map_or(self.expires_at, |ended| ended.min(self.expires_at))
    }

    /// The audit basis of reads under it.
    pub fn basis(&self) -> String {
        format!("emergency_access:{}", self.id)
    }
}

/// The first instant still inside the home-page notice period at `now`.
pub fn notice_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - NOTICE_PERIOD
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn now() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn clinician() -> Clinician {
        Clinician { name: "Alex Smith".into(), role: "Paramedic".into(), organisation: "North West Ambulance Service".into() }
    }

    #[test]
    fn a_code_is_four_groups_of_four_and_survives_sloppy_typing() {
        let random = SeededRandom::new(1);
        let code = EmergencyCode::generate(&random);
        let shown = code.to_string();
        assert_eq!(shown.len(), 19);
        assert_eq!(shown.split('-').map(str::len).collect::<Vec<_>>(), [4, 4, 4, 4]);
        assert!(shown.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_eq!(EmergencyCode::parse(&shown), Some(code.clone()));
        assert_eq!(EmergencyCode::parse(&shown.to_lowercase().replace('-', " ")), Some(code.clone()));
        assert_eq!(EmergencyCode::parse(&format!("  {}  ", shown.replace('-', ""))), Some(code));
        assert_eq!(EmergencyCode::parse("0OIL-1111-1111-1111"), EmergencyCode::parse("0011 1111 1111 1111"));
    }

    #[test]
    fn codes_carry_eighty_bits_and_differ() {
        let random = SeededRandom::new(2);
        let codes: std::collections::BTreeSet<String> = (0..1000).map(|_| EmergencyCode::generate(&random).to_string()).collect();
        assert_eq!(codes.len(), 1000);
        assert_eq!(CODE_LEN * 5, 80);
    }

    #[test]
    fn malformed_codes_are_refused() {
        for text in ["", "ABCD", "ABCD-EFGH-JKMN", "ABCD-EFGH-JKMN-PQRS-T", "ABCD-EFGH-JKMN-PQRU", "ABCD-EFGH-JKMN-PQR€", "<script>", "ABCD_EFGH_JKMN_PQRS"] {
            assert_eq!(EmergencyCode::parse(text), None, "{text}");
        }
    }

    #[test]
    fn only_a_hash_is_stored_and_the_debug_form_hides_the_secret() {
        let random = SeededRandom::new(3);
        let (record, code) = issue("person-1", "person-1", "own_record", now(), &random);
        let plain = code.to_string().replace('-', "");
        assert_eq!(record.selector, &plain[..8]);
        assert!(!record.verifier_hash.contains(&plain[8..]));
        assert!(!format!("{record:?}").contains(&plain[8..]));
        assert!(!format!("{code:?}").contains(&plain[8..]));
        assert_eq!(record.verifier_hash, code.verifier_hash());
        assert!(record.is_live() && !record.is_locked());
    }

    #[test]
    fn check_outcomes() {
        let random = SeededRandom::new(4);
        let (live, code) = issue("person-1", "person-1", "own_record", now(), &random);
        let wrong = EmergencyCode::parse(&format!("{}00000000", code.selector())).unwrap();
        let stranger = EmergencyCode::generate(&random);
        let replaced = EmergencyCodeRecord { ended_at: Some(now()), ended_by: Some("person-1".into()), end_reason: Some(CodeEnd::Replaced), ..live.clone() };
        let locked = EmergencyCodeRecord { failed_attempts: MAX_FAILED_ATTEMPTS, ..live.clone() };
        let nearly = EmergencyCodeRecord { failed_attempts: MAX_FAILED_ATTEMPTS - 1, ..live.clone() };
        let locked_and_replaced = EmergencyCodeRecord { failed_attempts: MAX_FAILED_ATTEMPTS, ..replaced.clone() };
        type Case<'a> = (Vec<EmergencyCodeRecord>, &'a EmergencyCode, Result<(), CodeRefusal>);
        let cases: Vec<Case<'_>> = vec![
            (vec![live.clone()], &code, Ok(())),
            (vec![nearly.clone()], &code, Ok(())),
            (vec![], &code, Err(CodeRefusal::NotRecognised)),
            (vec![live.clone()], &wrong, Err(CodeRefusal::NotRecognised)),
            (vec![live.clone()], &stranger, Err(CodeRefusal::NotRecognised)),
            (vec![replaced.clone()], &code, Err(CodeRefusal::NoLongerInUse)),
            (vec![replaced.clone()], &wrong, Err(CodeRefusal::NotRecognised)),
            (vec![locked.clone()], &code, Err(CodeRefusal::Locked)),
            (vec![locked.clone()], &wrong, Err(CodeRefusal::Locked)),
            (vec![locked_and_replaced], &wrong, Err(CodeRefusal::NotRecognised)),
        ];
        for (index, (candidates, code, expected)) in cases.into_iter().enumerate() {
            assert_eq!(check(&candidates, code).map(|_| ()), expected, "case {index}");
        }
    }

    #[test]
    fn of_two_codes_sharing_a_selector_the_matching_one_is_found() {
        let random = SeededRandom::new(5);
        let (first, first_code) = issue("person-1", "person-1", "own_record", now(), &random);
        let (mut second, second_code) = issue("person-2", "person-2", "own_record", now(), &random);
        second.selector = first.selector.clone();
        let second_code = EmergencyCode { selector: first.selector.clone(), verifier: second_code.verifier };
        second.verifier_hash = second_code.verifier_hash();
        let both = [first.clone(), second.clone()];
        assert_eq!(check(&both, &first_code).map(|found| found.person_id.as_str()), Ok("person-1"));
        assert_eq!(check(&both, &second_code).map(|found| found.person_id.as_str()), Ok("person-2"));
    }

    #[test]
    fn clinician_fields_are_required_trimmed_and_limited() {
        assert_eq!(Clinician::parse("  Alex Smith ", "Paramedic", "North West Ambulance Service"), Ok(clinician()));
        assert_eq!(Clinician::parse("", " ", "\t"), Err(vec![ClinicianProblem::Name, ClinicianProblem::Role, ClinicianProblem::Organisation]));
        assert_eq!(Clinician::parse(&"x".repeat(81), "GP", "Surgery"), Err(vec![ClinicianProblem::Name]));
        assert!(Clinician::parse(&"é".repeat(80), &"r".repeat(60), &"o".repeat(100)).is_ok(), "limits count characters, not bytes");
        assert_eq!(Clinician::parse("Alex", &"r".repeat(61), &"o".repeat(101)), Err(vec![ClinicianProblem::Role, ClinicianProblem::Organisation]));
        assert_eq!(Clinician::parse("Alex\u{0}Smith", "GP", "Surgery"), Err(vec![ClinicianProblem::Name]));
        assert_eq!(clinician().describe(), "Alex Smith (Paramedic, North West Ambulance Service)");
    }

    #[test]
    fn access_lasts_four_hours_unless_ended() {
        let random = SeededRandom::new(6);
        let (code, _) = issue("person-1", "person-1", "own_record", now(), &random);
        let access = EmergencyAccess::start(&code, clinician(), "hash".into(), now(), &random);
        assert_eq!((access.person_id.as_str(), access.code_id.as_str()), ("person-1", code.id.as_str()));
        assert_eq!(access.expires_at - access.started_at, Duration::hours(4));
        assert_eq!(access.state(now()), AccessState::Live);
        assert_eq!(access.state(now() + Duration::hours(4) - Duration::seconds(1)), AccessState::Live);
        assert_eq!(access.state(now() + Duration::hours(4)), AccessState::Expired);
        assert_eq!(access.until(), now() + Duration::hours(4));
        let left = EmergencyAccess { ended_at: Some(now() + Duration::minutes(30)), ..access.clone() };
        assert_eq!(left.state(now() + Duration::minutes(29)), AccessState::Live);
        assert_eq!(left.state(now() + Duration::minutes(30)), AccessState::Ended);
        assert_eq!(left.until(), now() + Duration::minutes(30));
        assert_eq!(access.basis(), format!("emergency_access:{}", access.id));
    }

    #[test]
    fn the_notice_lasts_thirty_days() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T14:07:31Z").unwrap().with_timezone(&Utc);
        assert_eq!(notice_since(at), at - Duration::days(30));
    }
}

/// The purpose a stop link is signed for (see [`crate::crypto::SigningKey::sign`]).
const STOP_PURPOSE: &str = "emergency-stop";

/// A link that stops one emergency access without signing in, sent to the people told of it.
/// Signed, so nobody can make one; it lasts no longer than the access; it works once — after
/// the access has ended, it has nothing left to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopLink {
    /// The access it stops.
    pub access_id: String,
    /// Who was sent it (an account id, or `organisation:<id>` for a provider's duty contact),
    /// so the person's log says who stopped it.
    pub sent_to: String,
    /// When the link stops working (the access's own end).
    pub expires_at: DateTime<Utc>,
}

/// Who a stop link was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRecipient<'a> {
    /// An account: the person, whoever acts for them, or family who asked to be told.
    Person(&'a str),
    /// The duty contact (on-call duty manager) of this care provider.
    DutyContact(&'a str),
}

/// Why a stop link was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StopLinkRefusal {
    /// Not a link carefront made (or it was changed).
    #[error("not a valid link")]
    Invalid,
    /// Its time is over (and so is the access's).
    #[error("the link has expired")]
    Expired,
}

impl StopLink {
    /// A link for `access`, sent to the account `sent_to`.
    pub fn for_access(access: &EmergencyAccess, sent_to: &str) -> StopLink {
        StopLink { access_id: access.id.clone(), sent_to: sent_to.to_owned(), expires_at: access.expires_at }
    }

    /// A link for `access`, sent to the duty contact of the care provider `organisation_id`.
    pub fn for_duty_contact(access: &EmergencyAccess, organisation_id: &str) -> StopLink {
        StopLink::for_access(access, &crate::contact::duty_owner(organisation_id))
    }

    /// Who was sent it.
    pub fn recipient(&self) -> StopRecipient<'_> {
        match crate::contact::duty_organisation(&self.sent_to) {
            Some(organisation_id) => StopRecipient::DutyContact(organisation_id),
            None => StopRecipient::Person(&self.sent_to),
        }
    }

    fn message(&self) -> String {
        format!("{}.{}.{}", self.access_id, URL_SAFE_NO_PAD.encode(self.sent_to.as_bytes()), self.expires_at.timestamp())
    }

    /// The token for the link's path: the fields and their signature, URL-safe.
    pub fn token(&self, key: &crate::crypto::SigningKey) -> String {
        let message = self.message();
        let signature = key.sign(STOP_PURPOSE, &message);
        format!("{message}.{signature}")
    }

    /// Reads and checks a token at `now`.
    pub fn check(token: &str, key: &crate::crypto::SigningKey, now: DateTime<Utc>) -> Result<StopLink, StopLinkRefusal> {
        let mut parts = token.split('.');
        let (Some(access_id), Some(sent_to), Some(expires), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StopLinkRefusal::Invalid);
        };
        let message = format!("{access_id}.{sent_to}.{expires}");
        if access_id.is_empty() || !key.verify(STOP_PURPOSE, &message, signature) {
            return Err(StopLinkRefusal::Invalid);
        }
        let sent_to = URL_SAFE_NO_PAD.decode(sent_to).ok().and_then(|bytes| String::from_utf8(bytes).ok()).ok_or(StopLinkRefusal::Invalid)?;
        let expires_at = expires.parse::<i64>().ok().and_then(|seconds| DateTime::from_timestamp(seconds, 0)).ok_or(StopLinkRefusal::Invalid)?;
        if now >= expires_at {
            return Err(StopLinkRefusal::Expired);
        }
        Ok(StopLink { access_id: access_id.to_owned(), sent_to, expires_at })
    }
}

#[cfg(test)]
mod stop_link_tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;
    use crate::crypto::SigningKey;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn a_duty_contacts_link_names_the_provider_and_a_persons_names_the_person() {
        let key = SigningKey::new(&[9; 32]).unwrap();
        let link = StopLink { access_id: "ea-1".into(), sent_to: crate::contact::duty_owner("org-care"), expires_at: at("2026-11-30T14:00:00Z") };
        let checked = StopLink::check(&link.token(&key), &key, at("2026-11-30T12:00:00Z")).unwrap();
        assert_eq!(checked.recipient(), StopRecipient::DutyContact("org-care"));
        let person = StopLink { sent_to: "person-sam".into(), ..link };
        assert_eq!(person.recipient(), StopRecipient::Person("person-sam"));
        assert_eq!(StopLink { sent_to: "organisation:".into(), ..person }.recipient(), StopRecipient::Person("organisation:"));
    }

    #[test]
    fn a_stop_link_works_until_the_access_ends_and_cannot_be_forged() {
        let key = SigningKey::new(&[7; 32]).unwrap();
        let other = SigningKey::new(&[8; 32]).unwrap();
        let link = StopLink { access_id: "ea-1".into(), sent_to: "person-sam".into(), expires_at: at("2026-11-30T14:00:00Z") };
        let token = link.token(&key);
        assert!(!token.contains('/') && !token.contains('?'), "fits in a path: {token}");
        assert_eq!(StopLink::check(&token, &key, at("2026-11-30T13:59:59Z")), Ok(link.clone()));
        assert_eq!(StopLink::check(&token, &key, at("2026-11-30T14:00:00Z")), Err(StopLinkRefusal::Expired));
        assert_eq!(StopLink::check(&token, &other, at("2026-11-30T12:00:00Z")), Err(StopLinkRefusal::Invalid), "another deployment's key");
        // Another access, another recipient or a later expiry under the same signature.
        let signature = token.rsplit('.').next().unwrap();
        for forged in [
            StopLink { access_id: "ea-2".into(), ..link.clone() },
            StopLink { sent_to: "person-margaret".into(), ..link.clone() },
            StopLink { expires_at: at("2026-12-30T14:00:00Z"), ..link.clone() },
        ] {
            let forged = format!("{}.{signature}", forged.message());
            assert_eq!(StopLink::check(&forged, &key, at("2026-11-30T12:00:00Z")), Err(StopLinkRefusal::Invalid), "{forged}");
        }
        for junk in ["", "a.b.c", "a.b.c.d.e", "ea-1..1.sig", &format!("{token}x")] {
            assert_eq!(StopLink::check(junk, &key, at("2026-11-30T12:00:00Z")), Err(StopLinkRefusal::Invalid), "{junk}");
        }
    }
}
