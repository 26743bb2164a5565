//! The council's administration log: who made and revoked which system credential, and when.
//! It concerns no one's record, so it is kept apart from the people's access log, and it is
//! append-only like it (migration 0014). Pure: ids and times are passed in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::credential::SystemCredential;

/// What an administrator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAction {
    /// Made a system credential.
    #[serde(rename = "credential.created")]
    CredentialCreated,
    /// Revoked a system credential.
    #[serde(rename = "credential.revoked")]
    CredentialRevoked,
}

impl AdminAction {
    /// The stored name, in the audit log's `area.verb` style.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::CredentialCreated => "credential.created",
            AdminAction::CredentialRevoked => "credential.revoked",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<AdminAction> {
        [AdminAction::CredentialCreated, AdminAction::CredentialRevoked].into_iter().find(|action| action.as_str() == text)
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
        detail: format!("{} revoked system credential {} ({}) of {}.", capitalised(&by.name), credential.key_id, credential.name, organisation_name),
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
        for action in [AdminAction::CredentialCreated, AdminAction::CredentialRevoked] {
            assert_eq!(AdminAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AdminAction::parse("credential.deleted"), None);
    }
}
