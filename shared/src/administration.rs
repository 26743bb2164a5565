//! The administration log: who made and revoked which system credential, who invited which
//! member of staff (council or provider), changed their role or removed their access, and when.
//! It concerns no one's record, so it is kept apart from the people's access log, and it is
//! append-only like it (migration 0014). Pure: ids and times are passed in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::credential::SystemCredential;
use crate::domain::{CouncilRole, Organisation, Person};
use crate::staff::StaffPosition;

/// What an administrator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAction {
    /// Made a system credential.
    #[serde(rename = "credential.created")]
    CredentialCreated,
    /// Revoked a system credential.
    #[serde(rename = "credential.revoked")]
    CredentialRevoked,
    /// Added a care provider organisation (to invite its administrator).
    #[serde(rename = "organisation.added")]
    ProviderAdded,
    /// Invited a member of staff: a new person and their invitation.
    #[serde(rename = "staff.invited")]
    StaffInvited,
    /// Changed a member of council staff's council role.
    #[serde(rename = "staff.role_changed")]
    StaffRoleChanged,
    /// Removed a member of staff's access: their sessions ended, their passkeys gone.
    #[serde(rename = "staff.access_removed")]
    StaffAccessRemoved,
    /// Sent a message that had failed again.
    #[serde(rename = "notification.retried")]
    NotificationRetried,
    /// Asked for a code to check a new duty contact address or number.
    #[serde(rename = "duty_contact.check_sent")]
    DutyContactCheckSent,
    /// Confirmed a new duty contact address or number with its code.
    #[serde(rename = "duty_contact.confirmed")]
    DutyContactConfirmed,
    /// A duty contact code was entered wrongly too many times and locked.
    #[serde(rename = "duty_contact.check_locked")]
    DutyContactCheckLocked,
}

impl AdminAction {
    /// Every action, for parsing.
    pub const ALL: [AdminAction; 10] = [
        AdminAction::CredentialCreated,
        AdminAction::CredentialRevoked,
        AdminAction::ProviderAdded,
        AdminAction::StaffInvited,
        AdminAction::StaffRoleChanged,
        AdminAction::StaffAccessRemoved,
        AdminAction::NotificationRetried,
        AdminAction::DutyContactCheckSent,
        AdminAction::DutyContactConfirmed,
        AdminAction::DutyContactCheckLocked,
    ];

    /// The stored name, in the audit log's `area.verb` style.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::CredentialCreated => "credential.created",
            AdminAction::CredentialRevoked => "credential.revoked",
            AdminAction::ProviderAdded => "organisation.added",
            AdminAction::StaffInvited => "staff.invited",
            AdminAction::StaffRoleChanged => "staff.role_changed",
            AdminAction::StaffAccessRemoved => "staff.access_removed",
            AdminAction::NotificationRetried => "notification.retried",
            AdminAction::DutyContactCheckSent => "duty_contact.check_sent",
            AdminAction::DutyContactConfirmed => "duty_contact.confirmed",
            AdminAction::DutyContactCheckLocked => "duty_contact.check_locked",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<AdminAction> {
        AdminAction::ALL.into_iter().find(|action| action.as_str() == text)
    }
}

/// Who did an administrative act, as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Administrator {
    /// A person id, or the command-line tool's `carefront-admin[:operator]`.
    pub id: String,
    /// Their name as it is now, kept in the log so it reads the same after a rename.
    pub name: String,
}

/// One entry of the append-only administration log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEvent {
    /// Stable identifier.
    pub id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: a person id, or `carefront-admin[:operator]`.
    pub actor_id: String,
    /// Their name when they did it.
    pub actor_name: String,
    /// What they did.
    pub action: AdminAction,
    /// The credential it was done to, if any.
    pub credential_key_id: Option<String>,
    /// The organisation it concerns, if any.
    pub organisation_id: Option<String>,
    /// The member of staff it concerns, if any.
    pub person_id: Option<String>,
    /// Plain-language detail, starting with who did it.
    pub detail: String,
}

/// The log entry for `credential` made for `organisation_name`'s system by `by`, when it was made.
pub fn credential_created(id: String, by: &Administrator, credential: &SystemCredential, organisation_name: &str) -> AdminEvent {
    let permissions: Vec<&str> = credential.permissions.iter().map(|permission| permission.as_str()).collect();
    AdminEvent {
        id,
        at: credential.created_at,
        actor_id: by.id.clone(),
        actor_name: by.name.clone(),
        action: AdminAction::CredentialCreated,
        credential_key_id: Some(credential.key_id.clone()),
        organisation_id: Some(credential.organisation_id.clone()),
        person_id: None,
        detail: format!(
            "{} made system credential {} for {}'s system ({}): {}.",
            capitalised(&by.name),
            credential.key_id,
            organisation_name,
            credential.name,
            permissions.join(", ")
        ),
    }
}

/// The log entry for revoking `credential` (of `organisation_name`) at `at`, by `by`.
pub fn credential_revoked(id: String, at: DateTime<Utc>, by: &Administrator, credential: &SystemCredential, organisation_name: &str) -> AdminEvent {
    AdminEvent {
        id,
        at,
        actor_id: by.id.clone(),
        actor_name: by.name.clone(),
        action: AdminAction::CredentialRevoked,
        credential_key_id: Some(credential.key_id.clone()),
        organisation_id: Some(credential.organisation_id.clone()),
        person_id: None,
        detail: format!("{} revoked system credential {} ({}) of {}.", capitalised(&by.name), credential.key_id, credential.name, organisation_name),
    }
}

/// The log entry for sending the failed message `notification` again, at `at`, by `by`.
pub fn notification_retried(id: String, at: DateTime<Utc>, by: &Administrator, notification: &crate::outbox::Notification) -> AdminEvent {
    AdminEvent {
        id,
        at,
        actor_id: by.id.clone(),
        actor_name: by.name.clone(),
        action: AdminAction::NotificationRetried,
        credential_key_id: None,
        organisation_id: None,
        person_id: notification.person_id.clone(),
        detail: format!(
            "{} sent again a message that had failed: {} by {} (reference {}).",
            capitalised(&by.name),
            notification.kind.words().to_lowercase(),
            crate::preferences::channel_label(notification.channel).to_lowercase(),
            notification.id
        ),
    }
}

/// The log entry for adding the care provider `organisation` at `at`, by `by`.
pub fn provider_added(id: String, at: DateTime<Utc>, by: &Administrator, organisation: &Organisation) -> AdminEvent {
    AdminEvent {
        id,
        at,
        actor_id: by.id.clone(),
        actor_name: by.name.clone(),
        action: AdminAction::ProviderAdded,
        credential_key_id: None,
        organisation_id: Some(organisation.id.clone()),
        person_id: None,
        detail: format!("{} added the care provider {}.", capitalised(&by.name), organisation.name),
    }
}

/// The log entry for inviting `member` to `organisation_name` as `position`, at `at`, by `by`.
pub fn staff_invited(id: String, at: DateTime<Utc>, by: &Administrator, member: &Person, position: StaffPosition, organisation_name: &str) -> AdminEvent {
    AdminEvent {
        id,
        at,
        actor_id: by.id.clone(),
        actor_name: by.name.clone(),
        action: AdminAction::StaffInvited,
        credential_key_id: None,
        organisation_id: member.organisation_id.clone(),
        person_id: Some(member.id.clone()),
        detail: format!("{} invited {} to {} as {}.", capitalised(&by.name), member.display_name, organisation_name, position.words()),
    }
}

/// The log entry for changing `member`'s council role from `from` to `to`, at `at`, by `by`.
pub fn council_role_changed(id: String, at: DateTime<Utc>, by: &Administrator, member: &Person, from: CouncilRole, to: CouncilRole) -> AdminEvent {
    AdminEvent {
        id,
        at,
        actor_id: by.id.clone(),
        actor_name: by.name.clone(),
        action: AdminAction::StaffRoleChanged,
        credential_key_id: None,
        organisation_id: member.organisation_id.clone(),
        person_id: Some(member.id.clone()),
        detail: format!(
            "{} made {} {} (was {}).",
            capitalised(&by.name),
            member.display_name,
            StaffPosition::Council(to).words(),
            StaffPosition::Council(from).words()
        ),
    }
}

/// The log entry for removing `member`'s access (of `organisation_name`) at `at`, by `by`.
pub fn staff_access_removed(id: String, at: DateTime<Utc>, by: &Administrator, member: &Person, organisation_name: &str) -> AdminEvent {
    AdminEvent {
        id,
        at,
        actor_id: by.id.clone(),
        actor_name: by.name.clone(),
        action: AdminAction::StaffAccessRemoved,
        credential_key_id: None,
        organisation_id: member.organisation_id.clone(),
        person_id: Some(member.id.clone()),
        detail: format!(
            "{} removed the access of {} ({}): their sessions ended and their passkeys no longer work.",
            capitalised(&by.name),
            member.display_name,
            organisation_name
        ),
    }
}

/// What happened to a care provider's duty contact, for the administration log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyContactChange<'a> {
    /// A code was sent to check this new address or number.
    CheckSent(&'a str),
    /// This address or number was confirmed with its code.
    Confirmed(&'a str),
    /// The code sent to this address or number was locked after wrong tries.
    CheckLocked(&'a str),
}

/// The log entry for `change` to `organisation`'s duty contact `medium`, at `at`, by `by`.
pub fn duty_contact_changed(
    id: String,
    at: DateTime<Utc>,
    by: &Administrator,
    organisation: &Organisation,
    medium: crate::contact::Medium,
    change: DutyContactChange<'_>,
) -> AdminEvent {
    let who = capitalised(&by.name);
    let (action, detail) = match change {
        DutyContactChange::CheckSent(address) => (
            AdminAction::DutyContactCheckSent,
            format!("{who} asked for a code to check {address} as the duty contact {} of {}.", medium.label(), organisation.name),
        ),
        DutyContactChange::Confirmed(address) => (
            AdminAction::DutyContactConfirmed,
            format!("{who} confirmed {address} as the duty contact {} of {}: emergency access messages go to it.", medium.label(), organisation.name),
        ),
        DutyContactChange::CheckLocked(address) => (
            AdminAction::DutyContactCheckLocked,
            format!(
                "A wrong code was entered {} times, so the code sent to {address} (duty contact of {}) was locked.",
                crate::contact::MAX_TRIES,
                organisation.name
            ),
        ),
    };
    AdminEvent {
        id,
        at,
        actor_id: by.id.clone(),
        actor_name: by.name.clone(),
        action,
        credential_key_id: None,
        organisation_id: Some(organisation.id.clone()),
        person_id: None,
        detail,
    }
}

/// A name at the start of a sentence ("the carefront-admin tool" -> "The carefront-admin tool").
fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_stored_names() {
        for action in AdminAction::ALL {
            assert_eq!(AdminAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AdminAction::parse("credential.deleted"), None);
    }
}
