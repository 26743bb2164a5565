//! Invitations sent for someone (the council's, or a person's for a family member): how the
//! issuer chose to send it ([`Sending`], read from a form by [`sending`]), and the one
//! [`NotificationKind::Invitation`] message that carries its link and code ([`message`]).
//!
//! The invitee has no account, so no confirmed contact point: the message goes straight to
//! what the issuer typed (or, for a council letter, the address on the council's record), and
//! using the link is what proves the address was theirs. The message's id is the invitation's
//! own ([`message_id`]), so the invitation lists find how each invitation was sent without a
//! column of their own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::contact::{AddressProblem, Medium, parse_address};
use crate::domain::Invitation;
use crate::invitation::InvitationCode;
use crate::outbox::{Channel, Notification, NotificationKind, NotificationStatus, masked_recipient};
use crate::person::parse_postcode;
use crate::preferences::letter_address;
use crate::uk_time;

/// The longest postal address typed for a letter, in characters.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// How the issuer chose to send an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sending {
    /// By email, as a link.
    Email,
    /// By text message, as a link.
    Sms,
    /// As a letter in the post.
    Letter,
    /// The issuer prints it or hands it over themselves (the code is shown to them once).
    HandOver,
}

impl Sending {
    /// Every way, in the order a form lists them.
    pub const ALL: [Sending; 4] = [Sending::Email, Sending::Sms, Sending::Letter, Sending::HandOver];

    /// The form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Sending::Email => "email",
            Sending::Sms => "sms",
            Sending::Letter => "letter",
            Sending::HandOver => "hand",
        }
    }

    /// The way whose form value is `text`.
    pub fn parse(text: &str) -> Option<Sending> {
        Sending::ALL.into_iter().find(|sending| sending.as_str() == text.trim())
    }

    /// The way a message went by `channel`.
    pub fn of(channel: Channel) -> Sending {
        match channel {
            Channel::Email => Sending::Email,
            Channel::Sms => Sending::Sms,
            Channel::Letter => Sending::Letter,
        }
    }
}

/// Where a letter goes: the council's record of the invitee's address, or one the issuer typed
/// (a family member has no record yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterTo<'a> {
    /// The letter address built from the record ([`letter_address`]); `None` if it has none.
    OnRecord(Option<&'a str>),
    /// Typed on the form: the invitee's name, the address (a line each), the postcode.
    Typed {
        /// Whom the letter is for (its first line).
        name: &'a str,
        /// The address lines, as typed.
        address: &'a str,
        /// The postcode, as typed.
        postcode: &'a str,
    },
}

/// The form's fields about sending, as posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typed<'a> {
    /// The chosen way ([`Sending::as_str`]); empty means hand it over, as before there was a choice.
    pub how: &'a str,
    /// The email address, for [`Sending::Email`].
    pub email: &'a str,
    /// The UK mobile number, for [`Sending::Sms`].
    pub mobile: &'a str,
    /// Where a letter goes, for [`Sending::Letter`].
    pub letter: LetterTo<'a>,
}

/// What is wrong with how an invitation is to be sent; each names its form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendProblem {
    /// An unknown way was chosen.
    #[error("Choose how we should send the invitation")]
    NoChoice,
    /// The email address is missing or malformed.
    #[error("Enter their email address in the correct format, like name@example.com")]
    Email,
    /// The mobile number is missing or not a UK mobile.
    #[error("Enter their UK mobile number, like 07700 900 982")]
    Mobile,
    /// A letter was chosen but the council's record has no postal address.
    #[error("There is no postal address on their record: add it to their details, or choose another way")]
    NoAddressOnRecord,
    /// The typed address is missing, too long, or its first line has no letters or numbers.
    #[error("Enter their address, a line for each part, up to 300 characters")]
    Address,
    /// The typed postcode is not a UK postcode.
    #[error("Enter a real UK postcode, like NT1 1AA")]
    Postcode,
    /// An email or text was chosen for a recovery invitation, which opens an existing account:
    /// it goes only to the address on record, or by hand after the identity check.
    #[error("A recovery invitation can only be posted to the address on their record, or handed over")]
    RecoveryByPostOnly,
}

impl SendProblem {
    /// The form field it is about.
    pub fn field(self) -> &'static str {
        match self {
            SendProblem::NoChoice | SendProblem::NoAddressOnRecord | SendProblem::RecoveryByPostOnly => "how",
            SendProblem::Email => "email",
            SendProblem::Mobile => "mobile",
            SendProblem::Address => "address",
            SendProblem::Postcode => "postcode",
        }
    }
}

/// Reads how to send a recovery invitation: as [`sending`], but only by letter to the address
/// on record or by hand. A recovery invitation adds a passkey to an account that exists, so an
/// email address or number typed at the desk (perhaps given by someone posing as the person)
/// must never receive one.
pub fn recovery_sending(typed: &Typed<'_>) -> Result<Option<(Channel, String)>, Vec<SendProblem>> {
    match sending(typed)? {
        Some((Channel::Email | Channel::Sms, _)) => Err(vec![SendProblem::RecoveryByPostOnly]),
        other => Ok(other),
    }
}

/// Reads how to send the invitation: `None` to hand it over, else the channel and the
/// recipient text for the outbox (an email address, a mobile number, or letter lines with the
/// postcode last). Only the chosen way's fields are checked.
pub fn sending(typed: &Typed<'_>) -> Result<Option<(Channel, String)>, Vec<SendProblem>> {
    let how = if typed.how.trim().is_empty() { Some(Sending::HandOver) } else { Sending::parse(typed.how) };
    match how {
        None => Err(vec![SendProblem::NoChoice]),
        Some(Sending::HandOver) => Ok(None),
        Some(Sending::Email) => contact(Medium::Email, typed.email).map_err(|_| vec![SendProblem::Email]),
        Some(Sending::Sms) => contact(Medium::Phone, typed.mobile).map_err(|_| vec![SendProblem::Mobile]),
        Some(Sending::Letter) => match typed.letter {
            LetterTo::OnRecord(Some(lines)) => Ok(Some((Channel::Letter, lines.to_owned()))),
            LetterTo::OnRecord(None) => Err(vec![SendProblem::NoAddressOnRecord]),
            LetterTo::Typed { name, address, postcode } => typed_letter(name, address, postcode).map(|lines| Some((Channel::Letter, lines))),
        },
    }
}

fn contact(medium: Medium, typed: &str) -> Result<Option<(Channel, String)>, AddressProblem> {
    parse_address(medium, typed).map(|address| Some((medium.channel(), address)))
}

fn typed_letter(name: &str, address: &str, postcode: &str) -> Result<String, Vec<SendProblem>> {
    let lines: Vec<&str> = address.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let mut problems = Vec::new();
    // The first line must carry letters or numbers: Notify refuses a letter whose does not.
    let usable = lines.first().is_some_and(|line| line.chars().any(char::is_alphanumeric))
        && address.chars().count() <= MAX_ADDRESS_CHARS
        && !address.chars().any(|c| c.is_control() && c != '\n' && c != '\r');
    if !usable {
        problems.push(SendProblem::Address);
    }
    let postcode = parse_postcode(postcode);
    if postcode.is_none() {
        problems.push(SendProblem::Postcode);
    }
    match (problems.is_empty(), letter_address(name, Some(&lines.join("\n")), postcode.as_deref())) {
        (true, Some(lines)) => Ok(lines),
        _ if problems.is_empty() => Err(vec![SendProblem::Address]),
        _ => Err(problems),
    }
}

/// The outbox id of the message that sent `invitation`: the invitation's own id, so each
/// invitation has at most one message and a list finds it by the invitation alone.
pub fn message_id(invitation: &Invitation) -> String {
    invitation.id.clone()
}

/// What goes into an invitation's message, apart from where it goes.
#[derive(Debug, Clone, Copy)]
pub struct Invite<'a> {
    /// The invitation just issued (its id, expiry and whom it enrols).
    pub invitation: &'a Invitation,
    /// Its code, which the message carries (the only place it is kept once the page is gone).
    pub code: &'a InvitationCode,
    /// The invitee's name as recorded; the message uses the first word.
    pub invitee_name: &'a str,
    /// Who invites them: the council's name, or the person's ("Sam Okafor, for Margaret Okafor").
    pub inviter: &'a str,
    /// Whose record it is about (the invitee's own, or the person who gave a family member access).
    pub subject_id: &'a str,
    /// The invitee's recorded needs ask for large print (a letter then says so to the printer).
    pub large_print: bool,
}

/// The enrolment link with the code, exactly as the letter's QR code carries it.
pub fn enrolment_link(origin: &url::Url, code: &InvitationCode) -> String {
    // Joined as text, not with `Url::join`, so an origin with a path keeps it, as the letter does.
    format!("{origin}invitation?code={code}")
}

/// The one message for `invite` by `channel` to `recipient`, queued at `now`. Personalisation:
/// `name`, `inviter`, `link`, `code`, `expires`, and for a letter `large_print` ("yes"/"no").
pub fn message(invite: &Invite<'_>, channel: Channel, recipient: String, origin: &url::Url, now: DateTime<Utc>) -> Notification {
    let first_name = invite.invitee_name.split_whitespace().next().unwrap_or(invite.invitee_name).to_owned();
    let mut personalisation = BTreeMap::from([
        ("name".to_owned(), first_name),
        ("inviter".to_owned(), invite.inviter.to_owned()),
        ("link".to_owned(), enrolment_link(origin, invite.code)),
        ("code".to_owned(), invite.code.to_string()),
        ("expires".to_owned(), uk_time::day_and_time(invite.invitation.expires_at)),
    ]);
    if channel == Channel::Letter {
        personalisation.insert("large_print".to_owned(), if invite.large_print { "yes" } else { "no" }.to_owned());
    }
    Notification::queued(message_id(invite.invitation), NotificationKind::Invitation, channel, recipient, personalisation, now)
        .to_person(&invite.invitation.person_id)
        .about(invite.subject_id)
}

/// How an invitation was sent, for a list: "Emailed to m•••@example.org", "Texted to ••••• •••123",
/// "Letter posted to postcode NT1 1AA".
pub fn sent_words(notification: &Notification) -> String {
    let masked = masked_recipient(notification.channel, &notification.recipient);
    match notification.channel {
        Channel::Email => format!("Emailed to {masked}"),
        Channel::Sms => format!("Texted to {masked}"),
        Channel::Letter => format!("Letter posted to {}", masked.replacen("Postcode", "postcode", 1)),
    }
}

/// Where the message stands, in words for a list ("Delivered", "Not delivered"…).
pub fn status_words(notification: &Notification) -> &'static str {
    match notification.status {
        NotificationStatus::Queued | NotificationStatus::Sending => "Waiting to be sent",
        NotificationStatus::Sent => "Sent, not yet delivered",
        NotificationStatus::Delivered => "Delivered",
        NotificationStatus::Failed => "Not delivered",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invitation::{DEFAULT_LIFETIME, issue};
    use crate::random::SeededRandom;

    fn now() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::days(20_000)
    }

    fn typed<'a>(how: &'a str, email: &'a str, mobile: &'a str, letter: LetterTo<'a>) -> Typed<'a> {
        Typed { how, email, mobile, letter }
    }

    #[test]
    fn each_way_reads_only_its_own_field() {
        let none = LetterTo::OnRecord(None);
        let record = LetterTo::OnRecord(Some("Margaret Jones\n1 High Street\nNT1 1AA"));
        let family = |address, postcode| LetterTo::Typed { name: "Ada Okafor", address, postcode };
        type Case<'a> = (Typed<'a>, Result<Option<(Channel, String)>, Vec<SendProblem>>);
        let cases: Vec<Case<'_>> = vec![
            (typed("", "", "", none), Ok(None)),
            (typed("hand", "junk", "junk", none), Ok(None)),
            (typed("pigeon", "", "", none), Err(vec![SendProblem::NoChoice])),
            (typed("email", " ada@example.org ", "junk", none), Ok(Some((Channel::Email, "ada@example.org".into())))),
            (typed("email", "", "", none), Err(vec![SendProblem::Email])),
            (typed("email", "ada@", "", none), Err(vec![SendProblem::Email])),
            (typed("sms", "", "07700 900 982", none), Ok(Some((Channel::Sms, "07700 900 982".into())))),
            (typed("sms", "", "0113 496 0000", none), Err(vec![SendProblem::Mobile])),
            (typed("sms", "", "", none), Err(vec![SendProblem::Mobile])),
            (typed("letter", "", "", none), Err(vec![SendProblem::NoAddressOnRecord])),
            (typed("letter", "", "", record), Ok(Some((Channel::Letter, "Margaret Jones\n1 High Street\nNT1 1AA".into())))),
            (
                typed("letter", "", "", family("2 Low Road\r\nNorthtown", "nt11aa")),
                Ok(Some((Channel::Letter, "Ada Okafor\n2 Low Road\nNorthtown\nNT1 1AA".into()))),
            ),
            (typed("letter", "", "", family("", "NT1 1AA")), Err(vec![SendProblem::Address])),
            (typed("letter", "", "", family("---", "NT1 1AA")), Err(vec![SendProblem::Address])),
            (typed("letter", "", "", family("2 Low Road", "12345")), Err(vec![SendProblem::Postcode])),
            (typed("letter", "", "", family("", "")), Err(vec![SendProblem::Address, SendProblem::Postcode])),
        ];
        for (index, (typed, expected)) in cases.into_iter().enumerate() {
            assert_eq!(sending(&typed), expected, "case {index}");
        }
        let long = "x".repeat(MAX_ADDRESS_CHARS + 1);
        assert_eq!(sending(&typed("letter", "", "", family(&long, "NT1 1AA"))), Err(vec![SendProblem::Address]));
        let fields: Vec<&str> =
            [SendProblem::NoChoice, SendProblem::Email, SendProblem::Mobile, SendProblem::NoAddressOnRecord, SendProblem::Address, SendProblem::Postcode]
                .into_iter()
                .map(SendProblem::field)
                .collect();
        assert_eq!(fields, ["how", "email", "mobile", "how", "address", "postcode"]);
    }

    #[test]
    fn the_message_carries_the_link_and_code_and_is_the_invitations_own() {
        let random = SeededRandom::new(3);
        let (invitation, code) = issue("person-ada", Some("person-1"), now(), DEFAULT_LIFETIME, &random);
        let origin = url::Url::parse("https://carefront.example/").unwrap();
        let invite =
            Invite { invitation: &invitation, code: &code, invitee_name: "Ada  Okafor", inviter: "Margaret Okafor", subject_id: "person-1", large_print: true };
        let email = message(&invite, Channel::Email, "ada@example.org".into(), &origin, now());
        assert_eq!((email.id.as_str(), email.kind, email.channel), (invitation.id.as_str(), NotificationKind::Invitation, Channel::Email));
        assert_eq!((email.person_id.as_deref(), email.subject_id.as_deref()), (Some("person-ada"), Some("person-1")));
        let keys: Vec<&str> = email.personalisation.keys().map(String::as_str).collect();
        assert_eq!(keys, ["code", "expires", "inviter", "link", "name"]);
        assert_eq!(email.personalisation["name"], "Ada");
        assert_eq!(email.personalisation["link"], format!("https://carefront.example/invitation?code={code}"));
        assert_eq!(email.personalisation["code"], code.to_string());
        assert_eq!(email.personalisation["expires"], uk_time::day_and_time(invitation.expires_at));
        let letter = message(&invite, Channel::Letter, "Ada Okafor\n2 Low Road\nNT1 1AA".into(), &origin, now());
        assert_eq!(letter.personalisation["large_print"], "yes");
        assert_eq!(sent_words(&email), "Emailed to a•••@example.org");
        assert_eq!(sent_words(&letter), "Letter posted to postcode NT1 1AA");
        assert_eq!(status_words(&letter), "Waiting to be sent");
        for sending in Sending::ALL {
            assert_eq!(Sending::parse(sending.as_str()), Some(sending));
        }
    }
}
