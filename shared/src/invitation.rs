//! One-time invitations: a code of a public selector and a secret verifier (held only as a
//! hash), expiring, single use, and locked after many wrong attempts.
//!
//! The selector is long enough (100 bits) that no one finds an invitation by guessing, so only
//! someone who has seen the code can count wrong attempts against it (see [`crate::limits`]).

use chrono::{DateTime, Duration, Utc};

use crate::crypto::hash;
use crate::domain::{Invitation, InvitationPurpose};
use crate::random::{Random, new_id};

/// How long an invitation lasts unless the issuer says otherwise.
pub const DEFAULT_LIFETIME: Duration = Duration::days(7);
/// Wrong codes tried against one invitation, from anywhere, before it locks. Well above
/// [`crate::limits::MAX_FAILURES_PER_SOURCE`], so one source's slips never lock it.
pub const MAX_FAILED_ATTEMPTS: i64 = 20;

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or typed is unambiguous.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 100 bits: at least 96, so locking someone's invitation by guessing its selector is
/// impractical.
const SELECTOR_LEN: usize = 20;
/// The selector of invitations issued before selectors were lengthened; their codes keep
/// working (they are looked up by selector) until they expire.
const OLD_SELECTOR_LEN: usize = 4;
const VERIFIER_LEN: usize = 16;

/// An invitation code as the person types or follows it: nine groups of four, e.g.
/// `7K2M-QX4D-9RTB-H3VW-ZP6N-5GJA-CE8F-1MKS-TV3Q` (100-bit selector, 80-bit secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationCode {
    selector: String,
    verifier: String,
}

impl InvitationCode {
    /// A new random code (100 bits of selector, 80 bits of secret).
    pub fn generate(random: &dyn Random) -> InvitationCode {
        let mut bytes = [0_u8; SELECTOR_LEN + VERIFIER_LEN];
        random.fill(&mut bytes);
        // 256 is a multiple of 32, so every character is equally likely.
        let chars: String = bytes.iter().map(|byte| char::from(ALPHABET[usize::from(byte % 32)])).collect();
        let (selector, verifier) = chars.split_at(SELECTOR_LEN);
        InvitationCode { selector: selector.to_owned(), verifier: verifier.to_owned() }
    }

    /// Reads a code as a person might type it: any case, spaces or hyphens anywhere, and the
    /// look-alike letters O, I and L read as 0, 1 and 1. A 20-character code is one issued
    /// before selectors were lengthened (4-character selector).
    pub fn parse(text: &str) -> Option<InvitationCode> {
        let mut chars = String::with_capacity(SELECTOR_LEN + VERIFIER_LEN);
        for c in text.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || chars.len() == SELECTOR_LEN + VERIFIER_LEN {
                return None;
            }
            chars.push(c);
        }
        let selector_len = match chars.len() {
            length if length == SELECTOR_LEN + VERIFIER_LEN => SELECTOR_LEN,
            length if length == OLD_SELECTOR_LEN + VERIFIER_LEN => OLD_SELECTOR_LEN,
            _ => return None,
        };
        let (selector, verifier) = chars.split_at(selector_len);
        Some(InvitationCode { selector: selector.to_owned(), verifier: verifier.to_owned() })
    }

    /// The public half, used to find the invitation.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The hash of the secret half, as stored.
    pub fn verifier_hash(&self) -> String {
        hash(&format!("{}:{}", self.selector, self.verifier))
    }
}

impl std::fmt::Display for InvitationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all = format!("{}{}", self.selector, self.verifier);
        let groups: Vec<&str> = all.as_bytes().chunks(4).filter_map(|chunk| std::str::from_utf8(chunk).ok()).collect();
        f.write_str(&groups.join("-"))
    }
}

/// Issues an invitation for `person_id`: the row to store and the code to give the person.
pub fn issue(person_id: &str, created_by: Option<&str>, now: DateTime<Utc>, lifetime: Duration, random: &dyn Random) -> (Invitation, InvitationCode) {
    let code = InvitationCode::generate(random);
    let invitation = Invitation {
        id: new_id(random),
        selector: code.selector().to_owned(),
        verifier_hash: code.verifier_hash(),
        person_id: person_id.to_owned(),
        created_by: created_by.map(str::to_owned),
        created_at: now,
        expires_at: now + lifetime,
        used_at: None,
        failed_attempts: 0,
        cancelled_at: None,
        cancelled_by: None,
        replaces: None,
        purpose: InvitationPurpose::Enrol,
        identity_check: None,
    };
    (invitation, code)
}

/// How long a recovery invitation may last, in days: short, because it opens an existing
/// account (the first is the default: given by hand; the other allows for the post).
pub const RECOVERY_LIFETIMES: [i64; 2] = [1, 3];

/// The longest note council staff may write about how they checked who it is.
pub const MAX_CHECK_NOTE_CHARS: usize = 500;

/// How council staff checked who is asking for a way back in, before a recovery invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckMethod {
    /// They met the person and saw photo identification.
    InPersonPhotoId,
    /// They met the person, whom they (or a colleague present) already know.
    InPersonKnown,
    /// They called the person back on the number on their record and asked what only they know.
    PhoneCallBack,
}

impl CheckMethod {
    /// Every method, in the order the form lists them.
    pub const ALL: [CheckMethod; 3] = [CheckMethod::InPersonPhotoId, CheckMethod::InPersonKnown, CheckMethod::PhoneCallBack];

    /// The form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckMethod::InPersonPhotoId => "in_person_photo_id",
            CheckMethod::InPersonKnown => "in_person_known",
            CheckMethod::PhoneCallBack => "phone_call_back",
        }
    }

    /// The method in words, for the form and the log.
    pub fn label(self) -> &'static str {
        match self {
            CheckMethod::InPersonPhotoId => "In person, with photo ID",
            CheckMethod::InPersonKnown => "In person: I or a colleague with me know them",
            CheckMethod::PhoneCallBack => "By phone: I called them back on the number on their record and asked what only they would know",
        }
    }
}

/// What is wrong with a recorded identity check (each names its form field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckProblem {
    /// No method was chosen, or an unknown one.
    #[error("choose how you checked who it is")]
    NoMethod,
    /// The note is empty, too long or has control characters.
    #[error("say what you checked, in up to 500 characters")]
    BadNote,
}

impl CheckProblem {
    /// The form field the problem is about.
    pub fn field(self) -> &'static str {
        match self {
            CheckProblem::NoMethod => "check-method",
            CheckProblem::BadNote => "check-note",
        }
    }
}

/// Reads the identity check as posted (`method`, `note`) into the words kept on the invitation
/// and in the log: "In person, with photo ID: driving licence".
pub fn identity_check(method: &str, note: &str) -> Result<String, Vec<CheckProblem>> {
    let method = CheckMethod::ALL.into_iter().find(|candidate| candidate.as_str() == method.trim());
    // New lines are allowed in the textarea but kept as spaces: the log shows one line.
    let note = note.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut problems = Vec::new();
    if method.is_none() {
        problems.push(CheckProblem::NoMethod);
    }
    if note.is_empty() || note.chars().count() > MAX_CHECK_NOTE_CHARS || note.chars().any(char::is_control) {
        problems.push(CheckProblem::BadNote);
    }
    match method {
        Some(method) if problems.is_empty() => Ok(format!("{}: {note}", method.label())),
        _ => Err(problems),
    }
}

/// Issues a recovery invitation for an enrolled person: used, it adds a passkey to their
/// existing account. `identity_check` is how staff checked who it is ([`identity_check`]).
pub fn recover(
    person_id: &str,
    created_by: &str,
    identity_check: String,
    now: DateTime<Utc>,
    lifetime: Duration,
    random: &dyn Random,
) -> (Invitation, InvitationCode) {
    let (invitation, code) = issue(person_id, Some(created_by), now, lifetime, random);
    (Invitation { purpose: InvitationPurpose::Recovery, identity_check: Some(identity_check), ..invitation }, code)
}

/// Issues an invitation in place of `previous` (which the same plan cancels): the new row names
/// the one it replaces.
pub fn reissue(previous: &Invitation, created_by: &str, now: DateTime<Utc>, lifetime: Duration, random: &dyn Random) -> (Invitation, InvitationCode) {
    let (invitation, code) = issue(&previous.person_id, Some(created_by), now, lifetime, random);
    (Invitation { replaces: Some(previous.id.clone()), ..invitation }, code)
}

/// Where an invitation stands, as council staff see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// It can still be used.
    Waiting,
    /// It was used to create a passkey.
    Used,
    /// Its time ran out before it was used.
    Expired,
    /// Council staff cancelled it.
    Cancelled,
    /// Too many wrong codes were tried against it.
    Locked,
}

impl InvitationState {
    /// The state in words for a page ("Waiting", "Used"…).
    pub fn label(self) -> &'static str {
        match self {
            InvitationState::Waiting => "Waiting",
            InvitationState::Used => "Used",
            InvitationState::Expired => "Expired",
            InvitationState::Cancelled => "Cancelled",
            InvitationState::Locked => "Locked",
        }
    }

    /// Whether it can still be cancelled or reissued (not used, cancelled or out of time).
    pub fn is_open(self) -> bool {
        matches!(self, InvitationState::Waiting | InvitationState::Locked)
    }
}

/// Where `invitation` stands at `now`. Used and cancelled win over expired (they happened
/// first); a locked invitation is shown as such until it expires.
pub fn state(invitation: &Invitation, now: DateTime<Utc>) -> InvitationState {
    if invitation.used_at.is_some() {
        InvitationState::Used
    } else if invitation.cancelled_at.is_some() {
        InvitationState::Cancelled
    } else if now >= invitation.expires_at {
        InvitationState::Expired
    } else if invitation.failed_attempts >= MAX_FAILED_ATTEMPTS {
        InvitationState::Locked
    } else {
        InvitationState::Waiting
    }
}

/// Why an invitation code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvitationRefusal {
    /// No invitation has this code (or the secret half is wrong).
    #[error("the invitation code was not recognised")]
    NotRecognised,
    /// It was already used to create a passkey.
    #[error("the invitation has already been used")]
    AlreadyUsed,
    /// Its time ran out.
    #[error("the invitation has expired")]
    Expired,
    /// Council staff cancelled it (usually because they issued a new one).
    #[error("the invitation has been cancelled")]
    Cancelled,
    /// Too many wrong codes were tried against it.
    #[error("the invitation is locked after too many wrong attempts")]
    Locked,
}

/// Checks `code` against the invitation found by its selector (if any) at `now`. A wrong
/// verifier is `NotRecognised` (the caller counts it against the invitation).
pub fn check(invitation: Option<&Invitation>, code: &InvitationCode, now: DateTime<Utc>) -> Result<(), InvitationRefusal> {
    let invitation = invitation.ok_or(InvitationRefusal::NotRecognised)?;
    if invitation.failed_attempts >= MAX_FAILED_ATTEMPTS {
        return Err(InvitationRefusal::Locked);
    }
    if invitation.verifier_hash != code.verifier_hash() {
        return Err(InvitationRefusal::NotRecognised);
    }
    if invitation.used_at.is_some() {
        return Err(InvitationRefusal::AlreadyUsed);
    }
    if invitation.cancelled_at.is_some() {
        return Err(InvitationRefusal::Cancelled);
    }
    if now >= invitation.expires_at {
        return Err(InvitationRefusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn now() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    #[test]
    fn code_round_trips_through_display_and_sloppy_typing() {
        let random = SeededRandom::new(9);
        let code = InvitationCode::generate(&random);
        let shown = code.to_string();
        assert_eq!(shown.len(), 44);
        assert_eq!(shown.split('-').map(str::len).collect::<Vec<_>>(), [4; 9]);
        assert_eq!(InvitationCode::parse(&shown), Some(code.clone()));
        let sloppy = shown.to_lowercase().replace('-', " ");
        assert_eq!(InvitationCode::parse(&sloppy), Some(code));
        assert_eq!(InvitationCode::parse("0OIL-1111-1111-1111-1111"), InvitationCode::parse("0011111111111111111 1"));
    }

    #[test]
    fn selectors_carry_at_least_96_bits_and_old_codes_still_parse() {
        let random = SeededRandom::new(12);
        let code = InvitationCode::generate(&random);
        assert!(code.selector().len() * 5 >= 96);
        let old = InvitationCode::parse("7K2M-QX4D-9RTB-H3VW-ZP6N").unwrap();
        assert_eq!(old.selector(), "7K2M");
        assert_eq!(old.to_string(), "7K2M-QX4D-9RTB-H3VW-ZP6N");
        assert_eq!(old.verifier_hash(), hash("7K2M:QX4D9RTBH3VWZP6N"), "hashed as before");
    }

    #[test]
    fn malformed_codes_are_refused() {
        let long = "ABCD-".repeat(10);
        for text in [
            "",
            "ABCD",
            "ABCD-EFGH-JKMN-PQRS-TVWX-Y",
            "ABCD-EFGH-JKMN-PQRS-TVWU",
            "ABCD-EFGH-JKMN-PQRS-TVW€",
            "<script>",
            "ABCD-EFGH-JKMN-PQRS-TVWX-ABCD-EFGH-JKMN-PQR",
            &long,
        ] {
            assert_eq!(InvitationCode::parse(text), None, "{text}");
        }
    }

    #[test]
    fn check_outcomes() {
        let random = SeededRandom::new(10);
        let (invitation, code) = issue("person", None, now(), DEFAULT_LIFETIME, &random);
        let wrong = InvitationCode { verifier: "0".repeat(VERIFIER_LEN), ..code.clone() };
        let used = Invitation { used_at: Some(now()), ..invitation.clone() };
        let locked = Invitation { failed_attempts: MAX_FAILED_ATTEMPTS, ..invitation.clone() };
        let cancelled = Invitation { cancelled_at: Some(now()), cancelled_by: Some("staff".into()), ..invitation.clone() };
        type Case<'a> = (Option<&'a Invitation>, &'a InvitationCode, DateTime<Utc>, Result<(), InvitationRefusal>);
        let cases: [Case<'_>; 9] = [
            (Some(&cancelled), &code, now(), Err(InvitationRefusal::Cancelled)),
            (Some(&cancelled), &wrong, now(), Err(InvitationRefusal::NotRecognised)),
            (Some(&invitation), &code, now(), Ok(())),
            (Some(&invitation), &code, now() + DEFAULT_LIFETIME - Duration::seconds(1), Ok(())),
            (Some(&invitation), &code, now() + DEFAULT_LIFETIME, Err(InvitationRefusal::Expired)),
            (Some(&invitation), &wrong, now(), Err(InvitationRefusal::NotRecognised)),
            (None, &code, now(), Err(InvitationRefusal::NotRecognised)),
            (Some(&used), &code, now(), Err(InvitationRefusal::AlreadyUsed)),
            (Some(&locked), &code, now(), Err(InvitationRefusal::Locked)),
        ];
        for (index, (invitation, code, at, expected)) in cases.into_iter().enumerate() {
            assert_eq!(check(invitation, code, at), expected, "case {index}");
        }
    }

    #[test]
    fn states_as_council_staff_see_them() {
        let random = SeededRandom::new(13);
        let (invitation, _) = issue("person", Some("staff"), now(), DEFAULT_LIFETIME, &random);
        let later = now() + DEFAULT_LIFETIME;
        let used = Invitation { used_at: Some(now()), ..invitation.clone() };
        let cancelled = Invitation { cancelled_at: Some(now()), ..invitation.clone() };
        let locked = Invitation { failed_attempts: MAX_FAILED_ATTEMPTS, ..invitation.clone() };
        let cases = [
            (&invitation, now(), InvitationState::Waiting),
            (&invitation, later, InvitationState::Expired),
            (&used, later, InvitationState::Used),
            (&cancelled, later, InvitationState::Cancelled),
            (&locked, now(), InvitationState::Locked),
            (&locked, later, InvitationState::Expired),
        ];
        for (index, (invitation, at, expected)) in cases.into_iter().enumerate() {
            assert_eq!(state(invitation, at), expected, "case {index}");
        }
        assert!(InvitationState::Waiting.is_open() && InvitationState::Locked.is_open());
        assert!(!InvitationState::Used.is_open() && !InvitationState::Expired.is_open() && !InvitationState::Cancelled.is_open());
        let (again, code) = reissue(&invitation, "staff", now(), DEFAULT_LIFETIME, &random);
        assert_eq!(again.replaces.as_deref(), Some(invitation.id.as_str()));
        assert_eq!((again.person_id.as_str(), again.created_by.as_deref()), ("person", Some("staff")));
        assert_eq!(check(Some(&again), &code, now()), Ok(()));
    }

    #[test]
    fn a_recovery_invitation_needs_a_recorded_check_and_is_marked_as_one() {
        let random = SeededRandom::new(14);
        type Case<'a> = (&'a str, &'a str, Result<String, Vec<CheckProblem>>);
        let cases: [Case<'_>; 6] = [
            ("in_person_photo_id", "Driving licence", Ok("In person, with photo ID: Driving licence".into())),
            (
                "phone_call_back",
                "  Called 01632 960 123\n asked about her GP ",
                Ok(format!("{}: Called 01632 960 123 asked about her GP", CheckMethod::PhoneCallBack.label())),
            ),
            ("", "Driving licence", Err(vec![CheckProblem::NoMethod])),
            ("trust_me", "", Err(vec![CheckProblem::NoMethod, CheckProblem::BadNote])),
            ("in_person_known", "   ", Err(vec![CheckProblem::BadNote])),
            ("in_person_known", &"x".repeat(MAX_CHECK_NOTE_CHARS + 1), Err(vec![CheckProblem::BadNote])),
        ];
        for (index, (method, note, expected)) in cases.into_iter().enumerate() {
            assert_eq!(identity_check(method, note), expected, "case {index}");
        }
        assert_eq!((CheckProblem::NoMethod.field(), CheckProblem::BadNote.field()), ("check-method", "check-note"));
        let (invitation, code) = recover("person", "staff", "In person, with photo ID: passport".into(), now(), Duration::days(1), &random);
        assert_eq!(invitation.purpose, InvitationPurpose::Recovery);
        assert_eq!(invitation.identity_check.as_deref(), Some("In person, with photo ID: passport"));
        assert_eq!((invitation.person_id.as_str(), invitation.created_by.as_deref()), ("person", Some("staff")));
        assert_eq!(check(Some(&invitation), &code, now() + Duration::days(1)), Err(InvitationRefusal::Expired));
        let (enrolment, _) = issue("person", None, now(), DEFAULT_LIFETIME, &random);
        assert_eq!((enrolment.purpose, enrolment.identity_check), (InvitationPurpose::Enrol, None));
    }

    #[test]
    fn only_the_hash_of_the_secret_is_stored() {
        let random = SeededRandom::new(11);
        let (invitation, code) = issue("person", None, now(), DEFAULT_LIFETIME, &random);
        let shown = code.to_string().replace('-', "");
        assert!(!invitation.verifier_hash.contains(&shown[SELECTOR_LEN..]));
        assert_eq!(invitation.selector, &shown[..SELECTOR_LEN]);
    }
}
