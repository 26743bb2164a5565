//! How a person is told: for each kind of notification, the channels they chose, or else a
//! default that follows their recorded communication needs (the Accessible Information
//! Standard: contact by letter, information by email, contact through a carer). Only contact
//! points they have confirmed are used, a letter needs their address from the council's
//! record, and security notices can never be turned off entirely. Pure: the caller loads the
//! person's choices, needs and contact points (see [`crate::store::preferences::recipients_for`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::needs::{Need, RecordedNeed};
use crate::outbox::{Channel, NotificationKind};

/// Every channel, in the order a page lists them.
pub const CHANNELS: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Letter];

/// The kinds a person chooses channels for, in the order the settings page lists them. An
/// invitation goes to someone without an account yet, a contact check always goes to the
/// address being checked, and a contact change always goes to the address it replaced, so none
/// of the three is a choice.
pub const CHOOSABLE: [NotificationKind; 8] = [
    NotificationKind::EmergencyAccess,
    NotificationKind::NewDeviceSignIn,
    NotificationKind::PasskeyAdded,
    NotificationKind::PasskeyRemoved,
    NotificationKind::AccessEnding,
    NotificationKind::AccessStopped,
    NotificationKind::DiscussionToConfirm,
    NotificationKind::CommentAnswered,
];

/// What a kind of notification is about, in plain words for the settings page.
pub fn kind_label(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::EmergencyAccess => "Someone used your emergency code",
        NotificationKind::Invitation => "An invitation to set up carefront",
        NotificationKind::AccessEnding => "Access to your information ends in 14 days",
        NotificationKind::AccessStopped => "Access to someone's information was stopped",
        NotificationKind::DiscussionToConfirm => "A care provider asks you to confirm a conversation about consent",
        NotificationKind::CommentAnswered => "Your comment or correction was answered",
        NotificationKind::PasskeyAdded => "A passkey was added to your account",
        NotificationKind::PasskeyRemoved => "A passkey was removed from your account",
        NotificationKind::NewDeviceSignIn => "Someone signed in to your account on a new device",
        NotificationKind::ContactCheck => "A code to confirm your email address or mobile number",
        NotificationKind::ContactChanged => "Your email address or mobile number was changed",
    }
}

/// A channel in plain words.
pub fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Email",
        Channel::Sms => "Text message",
        Channel::Letter => "Letter",
    }
}

/// Everything about a person that decides how they are told: loaded once, used for any kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// The channels they chose, by kind (an empty set: "none").
    pub choices: BTreeMap<NotificationKind, BTreeSet<Channel>>,
    /// Their live format and communication needs.
    pub needs: BTreeSet<Need>,
    /// Their confirmed email address.
    pub email: Option<String>,
    /// Their confirmed mobile number.
    pub phone: Option<String>,
    /// Their letter address (see [`letter_address`]), if the council holds one.
    pub letter: Option<String>,
}

impl Reach {
    /// The live needs among `recorded` (ended ones are history).
    pub fn live_needs<'a>(recorded: impl IntoIterator<Item = &'a RecordedNeed>) -> BTreeSet<Need> {
        recorded.into_iter().filter(|need| need.ended_at.is_none()).map(|need| need.need).collect()
    }

    /// Where `channel` reaches them, if it can.
    pub fn address(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Email => self.email.as_deref(),
            Channel::Sms => self.phone.as_deref(),
            Channel::Letter => self.letter.as_deref(),
        }
    }
}

/// Who is told, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recipients {
    /// Each channel with its recipient text, ready for [`crate::outbox::Notification::queued`].
    pub to: Vec<(Channel, String)>,
    /// The person asked to be contacted through a carer: the caller also tells whoever acts for
    /// them.
    pub via_carer: bool,
}

impl Recipients {
    /// The channels alone.
    pub fn channels(&self) -> BTreeSet<Channel> {
        self.to.iter().map(|(channel, _)| *channel).collect()
    }
}

/// The channels and recipients for a notification of `kind` to the person described by
/// `reach`: their choice for the kind when it reaches them; otherwise (no choice, a choice
/// whose channels they cannot be reached by, or "none" for a security notice) the default.
pub fn recipients(kind: NotificationKind, reach: &Reach) -> Recipients {
    let via_carer = reach.needs.contains(&Need::ContactViaCarer);
    let chosen = match reach.choices.get(&kind) {
        Some(channels) if channels.is_empty() && !kind.is_security() => return Recipients { to: Vec::new(), via_carer },
        Some(channels) => usable(channels.iter().copied(), reach),
        None => Vec::new(),
    };
    let to = if chosen.is_empty() { default_recipients(reach) } else { chosen };
    Recipients { to, via_carer }
}

/// The default channels: a letter for someone who needs contact by letter, an email for someone
/// who needs information by email, and otherwise every confirmed contact point (a letter if they
/// have none). A need that cannot be met (no address, no confirmed email) gives way to the next
/// rule rather than to silence.
pub fn default_recipients(reach: &Reach) -> Vec<(Channel, String)> {
    let mut asked = Vec::new();
    if reach.needs.contains(&Need::ContactByLetter) {
        asked.push(Channel::Letter);
    }
    if reach.needs.contains(&Need::InformationByEmail) {
        asked.push(Channel::Email);
    }
    let by_need = usable(asked, reach);
    if !by_need.is_empty() {
        return by_need;
    }
    let points = usable([Channel::Email, Channel::Sms], reach);
    if !points.is_empty() {
        return points;
    }
    usable([Channel::Letter], reach)
}

fn usable(channels: impl IntoIterator<Item = Channel>, reach: &Reach) -> Vec<(Channel, String)> {
    let mut seen = BTreeSet::new();
    channels
        .into_iter()
        .filter(|channel| seen.insert(*channel))
        .filter_map(|channel| reach.address(channel).map(|address| (channel, address.to_owned())))
        .collect()
}

/// The letter address Notify prints: the person's name, their address lines, and the postcode
/// last, one a line — at most 7 lines (Notify's limit; extra lines are joined onto the last
/// address line). `None` without both an address and a postcode.
pub fn letter_address(name: &str, address: Option<&str>, postcode: Option<&str>) -> Option<String> {
    let postcode = postcode.map(str::trim).filter(|postcode| !postcode.is_empty())?;
    let mut lines: Vec<String> = address?.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect();
    if lines.is_empty() {
        return None;
    }
    if lines.len() > 5 {
        let rest = lines.split_off(4).join(", ");
        lines.push(rest);
    }
    let mut all = vec![name.trim().to_owned()];
    all.extend(lines);
    all.push(postcode.to_owned());
    Some(all.join("\n"))
}

/// Why a choice for one kind cannot be saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceProblem {
    /// Nothing ticked.
    #[error("Select how you want to be told, or select none")]
    NothingSelected,
    /// "None" ticked with a channel.
    #[error("Select none, or select how you want to be told, not both")]
    NoneAndChannel,
    /// "None" for a security notice.
    #[error("You cannot turn these messages off: they tell you if someone may be using your account or your information. Select at least one way")]
    SecurityOff,
}

/// The channels for `kind` from what was ticked: `channels`, and whether "none" was.
pub fn check_choice(kind: NotificationKind, channels: &BTreeSet<Channel>, none: bool) -> Result<BTreeSet<Channel>, ChoiceProblem> {
    match (channels.is_empty(), none) {
        (true, false) => Err(ChoiceProblem::NothingSelected),
        (false, true) => Err(ChoiceProblem::NoneAndChannel),
        (true, true) if kind.is_security() => Err(ChoiceProblem::SecurityOff),
        _ => Ok(channels.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "m@example.com";
    const PHONE: &str = "07700 900 982";
    const LETTER: &str = "Margaret Okafor\n12 Mill Lane\nLeeds\nLS1 4AB";

    fn reach(needs: &[Need], email: bool, phone: bool, letter: bool) -> Reach {
        Reach {
            choices: BTreeMap::new(),
            needs: needs.iter().copied().collect(),
            email: email.then(|| EMAIL.to_owned()),
            phone: phone.then(|| PHONE.to_owned()),
            letter: letter.then(|| LETTER.to_owned()),
        }
    }

    fn channels(kind: NotificationKind, reach: &Reach) -> Vec<Channel> {
        recipients(kind, reach).to.into_iter().map(|(channel, _)| channel).collect()
    }

    const ANSWERED: NotificationKind = NotificationKind::CommentAnswered;
    const PASSKEY: NotificationKind = NotificationKind::PasskeyAdded;

    #[test]
    fn defaults_follow_the_recorded_needs() {
        // Contact by letter: a letter, never an email, even with a confirmed email.
        assert_eq!(channels(ANSWERED, &reach(&[Need::ContactByLetter], true, true, true)), [Channel::Letter]);
        // Information by email: an email only.
        assert_eq!(channels(ANSWERED, &reach(&[Need::InformationByEmail], true, true, true)), [Channel::Email]);
        // Both needs: both.
        assert_eq!(channels(ANSWERED, &reach(&[Need::ContactByLetter, Need::InformationByEmail], true, true, true)), [Channel::Letter, Channel::Email]);
        // No such need: every confirmed contact point.
        assert_eq!(channels(ANSWERED, &reach(&[Need::LargePrint28], true, true, true)), [Channel::Email, Channel::Sms]);
        assert_eq!(channels(ANSWERED, &reach(&[], false, true, true)), [Channel::Sms]);
        // None confirmed: a letter to the council's address; nothing at all without one.
        assert_eq!(channels(ANSWERED, &reach(&[], false, false, true)), [Channel::Letter]);
        assert_eq!(channels(ANSWERED, &reach(&[], false, false, false)), Vec::<Channel>::new());
    }

    #[test]
    fn a_need_that_cannot_be_met_gives_way_to_the_next_rule() {
        // Contact by letter but no address held: their confirmed points rather than silence.
        assert_eq!(channels(ANSWERED, &reach(&[Need::ContactByLetter], false, true, false)), [Channel::Sms]);
        // Information by email with no confirmed email.
        assert_eq!(channels(ANSWERED, &reach(&[Need::InformationByEmail], false, true, true)), [Channel::Sms]);
    }

    #[test]
    fn contact_via_a_carer_is_said_in_the_result() {
        let told = recipients(ANSWERED, &reach(&[Need::ContactViaCarer], true, false, false));
        assert!(told.via_carer);
        assert_eq!(told.to, [(Channel::Email, EMAIL.to_owned())]);
        assert!(!recipients(ANSWERED, &reach(&[], true, false, false)).via_carer);
        // With a choice of "none" too: the carer is still to be told.
        let mut quiet = reach(&[Need::ContactViaCarer], true, false, false);
        quiet.choices.insert(ANSWERED, BTreeSet::new());
        let told = recipients(ANSWERED, &quiet);
        assert!(told.via_carer && told.to.is_empty());
    }

    #[test]
    fn a_choice_wins_over_the_default_but_only_confirmed_points_are_used() {
        let mut chosen = reach(&[Need::ContactByLetter], true, true, true);
        chosen.choices.insert(ANSWERED, BTreeSet::from([Channel::Sms]));
        assert_eq!(recipients(ANSWERED, &chosen).to, [(Channel::Sms, PHONE.to_owned())]);
        // Another kind without a choice keeps the default.
        assert_eq!(channels(NotificationKind::AccessEnding, &chosen), [Channel::Letter]);
        // A chosen phone that is not confirmed is not used: the usable part of the choice is.
        let mut unconfirmed = reach(&[], true, false, true);
        unconfirmed.choices.insert(ANSWERED, BTreeSet::from([Channel::Sms, Channel::Letter]));
        assert_eq!(channels(ANSWERED, &unconfirmed), [Channel::Letter]);
        // A choice none of which reaches them: the default, not silence.
        unconfirmed.choices.insert(ANSWERED, BTreeSet::from([Channel::Sms]));
        assert_eq!(channels(ANSWERED, &unconfirmed), [Channel::Email]);
    }

    #[test]
    fn none_silences_ordinary_notices_but_never_security_ones() {
        let mut quiet = reach(&[], true, true, true);
        quiet.choices.insert(ANSWERED, BTreeSet::new());
        quiet.choices.insert(PASSKEY, BTreeSet::new());
        assert_eq!(channels(ANSWERED, &quiet), Vec::<Channel>::new());
        assert_eq!(channels(PASSKEY, &quiet), [Channel::Email, Channel::Sms], "a stored none for a security notice falls back to the default");
        for kind in CHOOSABLE.into_iter().filter(|kind| kind.is_security()) {
            assert_eq!(check_choice(kind, &BTreeSet::new(), true), Err(ChoiceProblem::SecurityOff), "{kind:?}");
        }
        assert_eq!(check_choice(ANSWERED, &BTreeSet::new(), true), Ok(BTreeSet::new()));
        // A sign-in from a new device is opt-out: "none" is accepted and silences it.
        let device = NotificationKind::NewDeviceSignIn;
        assert_eq!(check_choice(device, &BTreeSet::new(), true), Ok(BTreeSet::new()));
        assert_eq!(channels(device, &reach(&[], true, true, true)), [Channel::Email, Channel::Sms], "on by default");
        quiet.choices.insert(device, BTreeSet::new());
        assert_eq!(channels(device, &quiet), Vec::<Channel>::new());
    }

    #[test]
    fn a_choice_is_checked() {
        let email = BTreeSet::from([Channel::Email]);
        assert_eq!(check_choice(ANSWERED, &BTreeSet::new(), false), Err(ChoiceProblem::NothingSelected));
        assert_eq!(check_choice(ANSWERED, &email, true), Err(ChoiceProblem::NoneAndChannel));
        assert_eq!(check_choice(PASSKEY, &email, false), Ok(email.clone()));
    }

    #[test]
    fn recipients_are_ready_for_the_outbox() {
        let told = recipients(ANSWERED, &reach(&[Need::ContactByLetter], false, false, true));
        assert_eq!(told.to, [(Channel::Letter, LETTER.to_owned())]);
        assert_eq!(told.channels(), BTreeSet::from([Channel::Letter]));
    }

    #[test]
    fn a_letter_address_has_the_name_first_and_the_postcode_last() {
        assert_eq!(letter_address("Margaret Okafor", Some("12 Mill Lane\n\n Leeds "), Some(" LS1 4AB")).as_deref(), Some(LETTER));
        assert_eq!(letter_address("M", Some("12 Mill Lane"), None), None);
        assert_eq!(letter_address("M", None, Some("LS1 4AB")), None);
        assert_eq!(letter_address("M", Some("  \n "), Some("LS1 4AB")), None);
        let long = letter_address("M", Some("1\n2\n3\n4\n5\n6\n7"), Some("LS1 4AB")).unwrap();
        assert_eq!(long.lines().count(), 7);
        assert_eq!(long.lines().nth(5), Some("5, 6, 7"));
    }

    #[test]
    fn every_choosable_kind_has_words_and_the_three_that_are_not_are_left_out() {
        for kind in CHOOSABLE {
            assert!(!kind_label(kind).is_empty());
        }
        for kind in [NotificationKind::Invitation, NotificationKind::ContactCheck, NotificationKind::ContactChanged] {
            assert!(!CHOOSABLE.contains(&kind), "{kind:?}");
        }
        assert_eq!(CHOOSABLE.len() + 3, crate::outbox::KINDS.len());
    }
}
