//! The outbox: every notification carefront sends is first a row written in the same plan as
//! the change that causes it, so a change and its message stand or fall together and no
//! message is lost. A sender ([`deliver_due`]) later takes the messages that are due, hands each
//! to a [`Courier`] (GOV.UK Notify), and records what happened: Notify's id when it accepts
//! one, a retry with backoff when it cannot be reached or is busy, and a failure when it refuses
//! one or every retry is spent. Pure apart from the store and the courier it is given: `now`
//! and randomness are passed in.

use crate::store::SqlStore;
use crate::store::prelude::*;
use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub use crate::notify::Channel;
use crate::random::Random;
use crate::store::StoreError;

/// What a notification is about; each kind has its own template per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Someone opened the person's medicines with their emergency code.
    EmergencyAccess,
    /// An invitation to set up carefront (the council's, or a person's for a family member).
    Invitation,
    /// Access to someone's information ends in 14 days.
    AccessEnding,
    /// Access to someone's information was stopped.
    AccessStopped,
    /// A provider wrote down a consent discussion for the person to confirm.
    DiscussionToConfirm,
    /// A comment or correction was answered.
    CommentAnswered,
    /// A passkey was added to the account.
    PasskeyAdded,
    /// A passkey was removed from the account.
    PasskeyRemoved,
    /// The account was signed in to from a new device.
    NewDeviceSignIn,
    /// A code to check a new email address or phone number.
    ContactCheck,
    /// The confirmed email address or mobile number was replaced: told to the old one.
    ContactChanged,
}

/// Every kind, in the order a settings page lists them.
pub const KINDS: [NotificationKind; 11] = [
    NotificationKind::EmergencyAccess,
    NotificationKind::Invitation,
    NotificationKind::AccessEnding,
    NotificationKind::AccessStopped,
    NotificationKind::DiscussionToConfirm,
    NotificationKind::CommentAnswered,
    NotificationKind::PasskeyAdded,
    NotificationKind::PasskeyRemoved,
    NotificationKind::NewDeviceSignIn,
    NotificationKind::ContactCheck,
    NotificationKind::ContactChanged,
];

impl NotificationKind {
    /// The stored name (and the first half of its template's configuration key).
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::EmergencyAccess => "emergency_access",
            NotificationKind::Invitation => "invitation",
            NotificationKind::AccessEnding => "access_ending",
            NotificationKind::AccessStopped => "access_stopped",
            NotificationKind::DiscussionToConfirm => "discussion_to_confirm",
            NotificationKind::CommentAnswered => "comment_answered",
            NotificationKind::PasskeyAdded => "passkey_added",
            NotificationKind::PasskeyRemoved => "passkey_removed",
            NotificationKind::NewDeviceSignIn => "new_device_sign_in",
            NotificationKind::ContactCheck => "contact_check",
            NotificationKind::ContactChanged => "contact_changed",
        }
    }

    /// The kind stored as `text`.
    pub fn parse(text: &str) -> Option<NotificationKind> {
        KINDS.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Whether it is about the account's safety: a person may choose how, but not turn every
    /// channel off. A sign-in from a new device is not one: the issue makes it opt-out, since
    /// someone who signs in on many devices may not want to hear of each.
    pub fn is_security(self) -> bool {
        matches!(self, NotificationKind::EmergencyAccess | NotificationKind::PasskeyAdded | NotificationKind::PasskeyRemoved | NotificationKind::ContactChanged)
    }
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    /// Waiting to be sent.
    Queued,
    /// A sender has taken it; if the sender dies, it is due again at `next_attempt_at`.
    Sending,
    /// Notify accepted it.
    Sent,
    /// Notify says it arrived.
    Delivered,
    /// Refused, undeliverable, or every retry spent.
    Failed,
}

impl NotificationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Queued => "queued",
            NotificationStatus::Sending => "sending",
            NotificationStatus::Sent => "sent",
            NotificationStatus::Delivered => "delivered",
            NotificationStatus::Failed => "failed",
        }
    }

    /// The status stored as `text`.
    pub fn parse(text: &str) -> Option<NotificationStatus> {
        [NotificationStatus::Queued, NotificationStatus::Sending, NotificationStatus::Sent, NotificationStatus::Delivered, NotificationStatus::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id, also the reference Notify keeps with it.
    pub id: String,
    /// What it is about.
    pub kind: NotificationKind,
    /// The account told, if it is one.
    pub person_id: Option<String>,
    /// Whose record it is about, if anyone's.
    pub subject_id: Option<String>,
    /// How it travels.
    pub channel: Channel,
    /// The email address, phone number, or letter address lines (newline-separated, postcode last).
    pub recipient: String,
    /// The template's placeholders.
    pub personalisation: BTreeMap<String, String>,
    /// Where it stands.
    pub status: NotificationStatus,
    /// How many times a sender has tried it.
    pub attempts: i64,
    /// When it is next due (for a message being sent, when its sender's lease ends).
    pub next_attempt_at: DateTime<Utc>,
    /// Notify's id for it, once accepted.
    pub notify_id: Option<String>,
    /// Notify's own status word, from its callbacks.
    pub notify_status: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Notification {
    /// A new message, due at once.
    pub fn queued(
        id: String,
        kind: NotificationKind,
        channel: Channel,
        recipient: String,
        personalisation: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Notification {
        Notification {
            id,
            kind,
            person_id: None,
            subject_id: None,
            channel,
            recipient,
            personalisation,
            status: NotificationStatus::Queued,
            attempts: 0,
            next_attempt_at: now,
            notify_id: None,
            notify_status: None,
            last_error: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The same message, to the account `person_id`.
    pub fn to_person(mut self, person_id: &str) -> Notification {
        self.person_id = Some(person_id.to_owned());
        self
    }

    /// The same message, about `subject_id`'s record.
    pub fn about(mut self, subject_id: &str) -> Notification {
        self.subject_id = Some(subject_id.to_owned());
        self
    }

    /// The key of its template in the configuration: `"{kind}.{channel}"`.
    pub fn template_key(&self) -> String {
        format!("{}.{}", self.kind.as_str(), self.channel.as_str())
    }
}

impl NotificationKind {
    /// What it is about, in words for a list ("Emergency access used").
    pub fn words(self) -> &'static str {
        match self {
            NotificationKind::EmergencyAccess => "Emergency access used",
            NotificationKind::Invitation => "Invitation to carefront",
            NotificationKind::AccessEnding => "Access ending in 14 days",
            NotificationKind::AccessStopped => "Access stopped",
            NotificationKind::DiscussionToConfirm => "Conversation to confirm",
            NotificationKind::CommentAnswered => "Comment answered",
            NotificationKind::PasskeyAdded => "Passkey added",
            NotificationKind::PasskeyRemoved => "Passkey removed",
            NotificationKind::NewDeviceSignIn => "Signed in on a new device",
            NotificationKind::ContactCheck => "Code to check contact details",
            NotificationKind::ContactChanged => "Contact details changed",
        }
    }
}

/// The least of a recipient that lets staff tell messages apart: an email's first letter and
/// domain ("m•••@example.org"), a phone number's last 3 digits, a letter's postcode.
pub fn masked_recipient(channel: Channel, recipient: &str) -> String {
    match channel {
        Channel::Email => match recipient.split_once('@') {
            Some((local, domain)) => format!("{}•••@{domain}", local.chars().next().unwrap_or('•')),
            None => "•••".to_owned(),
        },
        Channel::Sms => {
            let digits: Vec<char> = recipient.chars().filter(char::is_ascii_digit).collect();
            let last: String = digits[digits.len().saturating_sub(3)..].iter().collect();
            format!("••••• •••{last}")
        }
        Channel::Letter => recipient.lines().last().map_or_else(|| "•••".to_owned(), |postcode| format!("Postcode {}", postcode.trim())),
    }
}

/// How many times a message is tried before it counts as failed: with [`backoff`] the tries
/// span about 100 minutes, through a Notify outage of an hour or more.
pub const MAX_ATTEMPTS: i64 = 11;

/// How long a sender holds a message it has taken: another sender may take it after that.
pub const LEASE: Duration = Duration::minutes(2);

/// The first retry's delay; each later one doubles, up to [`MAX_BACKOFF`]. Long enough for a
/// blip to pass, short enough that a text about emergency access still arrives within a minute.
pub const FIRST_BACKOFF: Duration = Duration::seconds(10);

/// The longest wait between two tries, so a message waits at most this long after Notify is back.
pub const MAX_BACKOFF: Duration = Duration::minutes(30);

/// How long to wait after the `attempts`-th failed try: doubling from [`FIRST_BACKOFF`] up to
/// [`MAX_BACKOFF`], less up to a quarter drawn from `random` so that many messages failing
/// together do not all come back at once.
pub fn backoff(attempts: i64, random: &dyn Random) -> Duration {
    let doublings = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or_default();
    let full = FIRST_BACKOFF.num_milliseconds().saturating_mul(1_i64 << doublings).min(MAX_BACKOFF.num_milliseconds());
    let mut bytes = [0_u8; 2];
    random.fill(&mut bytes);
    let jitter = full / 4 * i64::from(u16::from_le_bytes(bytes)) / i64::from(u16::MAX);
    Duration::milliseconds(full - jitter)
}

/// Why a courier could not hand a message over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CourierError {
    /// Worth trying again later (Notify busy, rate-limited, unreachable, or a server error).
    #[error("will retry: {0}")]
    Retry(String),
    /// Trying again will not help (the message or the configuration is wrong).
    #[error("refused: {0}")]
    Refused(String),
}

/// What hands a message to its service (GOV.UK Notify).
#[async_trait(?Send)]
pub trait Courier {
    /// Sends `notification`; the service's id for it when accepted.
    async fn send(&self, notification: &Notification) -> Result<String, CourierError>;
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// Accepted by the service.
    pub sent: usize,
    /// To be tried again later.
    pub retrying: usize,
    /// Refused, or out of retries.
    pub failed: usize,
}

/// Takes up to `limit` messages due at `now` and sends each through `courier`, recording what
/// happened to each; once a message that had failed goes through, every message waiting to be
/// tried again is due at once. A store error stops the sweep (what was taken is due again when its
/// lease ends); a courier's error is the message's, not the sweep's.
pub async fn deliver_due(store: &SqlStore<'_>, courier: &dyn Courier, now: DateTime<Utc>, limit: i64, random: &dyn Random) -> Result<Sweep, StoreError> {
    let mut sweep = Sweep::default();
    let mut recovered = false;
    for notification in store.take_due_notifications(now, now + LEASE, limit).await? {
        let attempts = notification.attempts + 1;
        match courier.send(&notification).await {
            Ok(notify_id) => {
                store.notification_sent(&notification.id, attempts, &notify_id, now).await?;
                sweep.sent += 1;
                recovered |= notification.attempts > 0;
            }
            Err(CourierError::Retry(error)) if attempts < MAX_ATTEMPTS => {
                store.notification_retry(&notification.id, attempts, now + backoff(attempts, random), &error, now).await?;
                sweep.retrying += 1;
            }
            Err(CourierError::Retry(error) | CourierError::Refused(error)) => {
                store.notification_failed(&notification.id, attempts, &error, now).await?;
                sweep.failed += 1;
            }
        }
    }
    if recovered {
        // A message that had failed went through: the service is back. What waits for a later
        // try (up to half an hour away after a long outage) is due now, so an outage's messages
        // go out within a sweep of its end; tries that fail on their own never trigger this.
        store.bring_retries_forward(now).await?;
    }
    Ok(sweep)
}

/// Sweeps again while sweeps come back full (each of up to `limit` messages), up to `most`
/// messages in all: what a scheduled send does, so that a queue an outage built up drains in one
/// or two runs rather than `limit` a minute.
pub async fn deliver_backlog(
    store: &SqlStore<'_>,
    courier: &dyn Courier,
    now: DateTime<Utc>,
    limit: i64,
    most: usize,
    random: &dyn Random,
) -> Result<Sweep, StoreError> {
    let mut total = Sweep::default();
    loop {
        let sweep = deliver_due(store, courier, now, limit, random).await?;
        total.sent += sweep.sent;
        total.retrying += sweep.retrying;
        total.failed += sweep.failed;
        let taken = sweep.sent + sweep.retrying + sweep.failed;
        if i64::try_from(taken).unwrap_or(i64::MAX) < limit || total.sent + total.retrying + total.failed >= most {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn names_round_trip() {
        for kind in KINDS {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        for channel in [Channel::Email, Channel::Sms, Channel::Letter] {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        assert_eq!(NotificationKind::parse("spam"), None);
    }

    #[test]
    fn backoff_doubles_to_half_an_hour_with_at_most_a_quarter_off() {
        let random = SeededRandom::new(7);
        let mut previous = Duration::zero();
        for attempts in 1..=12 {
            let delay = backoff(attempts, &random);
            let full = (FIRST_BACKOFF * 2_i32.pow(u32::try_from(attempts - 1).unwrap_or_default().min(20))).min(MAX_BACKOFF);
            assert!(delay <= full && delay >= full * 3 / 4, "attempt {attempts}: {delay} of {full}");
            if full < MAX_BACKOFF {
                assert!(delay > previous / 2, "grows");
            }
            previous = delay;
        }
        assert!(backoff(100, &random) <= MAX_BACKOFF);
        let total: Duration = (1..MAX_ATTEMPTS).map(|attempts| backoff(attempts, &random)).sum();
        assert!(total > Duration::minutes(60), "the tries outlast an hour's outage: {total}");
    }

    #[test]
    fn staff_see_a_recipient_masked() {
        assert_eq!(masked_recipient(Channel::Email, "sam.okafor@example.org"), "s•••@example.org");
        assert_eq!(masked_recipient(Channel::Sms, "07700 900 123"), "••••• •••123");
        assert_eq!(masked_recipient(Channel::Letter, "1 High Street\nNorthtown\nNT1 1AA"), "Postcode NT1 1AA");
        assert_eq!(masked_recipient(Channel::Email, "nonsense"), "•••");
    }

    #[test]
    fn security_notices_are_the_ones_that_cannot_be_turned_off() {
        let security: Vec<&str> = KINDS.into_iter().filter(|kind| kind.is_security()).map(NotificationKind::as_str).collect();
        assert_eq!(security, ["emergency_access", "passkey_added", "passkey_removed", "contact_changed"]);
        assert!(!NotificationKind::NewDeviceSignIn.is_security(), "a sign-in from a new device is opt-out");
    }
}
