//! Domain types: the people carefront serves, their organisations, and what is recorded about them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What a person is to carefront; decides which home page and rights they have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A person receiving care: the owner of their record.
    ServiceUser,
    /// A family carer or other representative acting with a grant.
    Representative,
    /// A member of a care provider's staff.
    ProviderStaff,
    /// A member of council staff: a caseworker or an administrator ([`CouncilRole`]).
    CouncilStaff,
}

impl Role {
    /// The stored name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ServiceUser => "service_user",
            Role::Representative => "representative",
            Role::ProviderStaff => "provider_staff",
            Role::CouncilStaff => "council_staff",
        }
    }

    /// Parses a stored role name.
    pub fn parse(text: &str) -> Option<Role> {
        [Role::ServiceUser, Role::Representative, Role::ProviderStaff, Role::CouncilStaff].into_iter().find(|role| role.as_str() == text)
    }
}

/// What a member of council staff may do beyond their role: every one of them is a caseworker;
/// an administrator also looks after the council's system credentials. Stored beside the
/// person (`people.council_role`), so `Role::CouncilStaff` keeps meaning "works for the council".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouncilRole {
    /// A social worker or monitoring officer: works with people's records, no administration.
    Caseworker,
    /// Makes and revokes system credentials; every such act is in the administration log.
    Administrator,
}

impl CouncilRole {
    /// The stored name of the council role.
    pub fn as_str(self) -> &'static str {
        match self {
            CouncilRole::Caseworker => "caseworker",
            CouncilRole::Administrator => "administrator",
        }
    }

    /// Parses a stored council role name.
    pub fn parse(text: &str) -> Option<CouncilRole> {
        [CouncilRole::Caseworker, CouncilRole::Administrator].into_iter().find(|role| role.as_str() == text)
    }
}

/// What a member of a provider's staff may do beyond their role: every one of them supports
/// people; a provider's administrator (invited by the council) also invites and removes their own
/// organisation's staff and sees its consent evidence. Stored beside the person
/// (`people.provider_role`), like [`CouncilRole`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRole {
    /// A carer or other member of staff: supports people, no administration.
    Staff,
    /// Invites and removes the organisation's staff; every such act is in the administration log.
    Administrator,
}

impl ProviderRole {
    /// The stored name of the provider role.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderRole::Staff => "staff",
            ProviderRole::Administrator => "administrator",
        }
    }

    /// Parses a stored provider role name.
    pub fn parse(text: &str) -> Option<ProviderRole> {
        [ProviderRole::Staff, ProviderRole::Administrator].into_iter().find(|role| role.as_str() == text)
    }
}

/// Whether an organisation is the council or a care provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// The council that commissions care and holds the backing store.
    Council,
    /// A care agency or care home.
    Provider,
}

impl OrganisationKind {
    /// The stored name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::Council => "council",
            OrganisationKind::Provider => "provider",
        }
    }
}

/// A council or provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    /// Stable identifier.
    pub id: String,
    /// Council or provider.
    pub kind: OrganisationKind,
    /// Name shown to people.
    pub name: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Anyone who signs in to carefront.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Stable identifier.
    pub id: String,
    /// Service user, representative, provider staff or council staff.
    pub role: Role,
    /// The name the person is called by.
    pub display_name: String,
    /// The organisation staff belong to; `None` for service users and representatives.
    pub organisation_id: Option<String>,
    /// The random WebAuthn user handle stored in their passkeys.
    pub webauthn_handle: uuid::Uuid,
    /// When the person was added.
    pub created_at: DateTime<Utc>,
}

/// A one-time invitation to enrol a passkey; the secret part of its code is held only as a hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    /// Stable identifier.
    pub id: String,
    /// The public lookup half of the code.
    pub selector: String,
    /// SHA-256 of the secret half of the code (hex).
    pub verifier_hash: String,
    /// Whom the invitation enrols.
    pub person_id: String,
    /// Who issued it (a person id), if known.
    pub created_by: Option<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// After this it cannot be used.
    pub expires_at: DateTime<Utc>,
    /// When it was used to enrol a passkey; used invitations cannot be used again.
    pub used_at: Option<DateTime<Utc>>,
    /// Wrong codes tried against this invitation's selector.
    pub failed_attempts: i64,
    /// When council staff cancelled it (it can no longer be used).
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Who cancelled it (a person id).
    pub cancelled_by: Option<String>,
    /// The invitation this one was issued in place of (a reissue), if any.
    pub replaces: Option<String>,
    /// Whether it enrols someone or gives an enrolled person a way back in.
    pub purpose: InvitationPurpose,
    /// How council staff checked who it is, in their words (recovery invitations only).
    pub identity_check: Option<String>,
}

/// What an invitation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationPurpose {
    /// A person's first passkey (they have no account to get into yet).
    #[default]
    Enrol,
    /// A new passkey on an enrolled person's existing account, after they lost every passkey.
    Recovery,
}

impl InvitationPurpose {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationPurpose::Enrol => "enrol",
            InvitationPurpose::Recovery => "recovery",
        }
    }

    /// The purpose stored as `text` (anything unknown is an enrolment, the older default).
    pub fn parse(text: &str) -> InvitationPurpose {
        match text {
            "recovery" => InvitationPurpose::Recovery,
            _ => InvitationPurpose::Enrol,
        }
    }
}

/// A passkey registered to a person.
#[derive(Debug, Clone)]
pub struct PasskeyRecord {
    /// Stable identifier, used in URLs.
    pub id: String,
    /// Whose passkey it is.
    pub person_id: String,
    /// The WebAuthn credential id, base64url.
    pub credential_id: String,
    /// The person's own name for it ("My phone").
    pub name: String,
    /// The webauthn-rs credential (public key and counter).
    pub passkey: webauthn_rs::prelude::Passkey,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was last used to sign in.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A signed-in session as stored server-side.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// SHA-256 of the opaque session id (base64url).
    pub id_hash: String,
    /// Who is signed in.
    pub person_id: String,
    /// When the session began (absolute timeout counts from here).
    pub created_at: DateTime<Utc>,
    /// When the session was last used (idle timeout counts from here).
    pub last_seen_at: DateTime<Utc>,
    /// When the person last proved themselves with a passkey in this session.
    pub verified_at: DateTime<Utc>,
    /// The passkey that made the session (or last re-confirmed it); `None` for older sessions.
    pub passkey_id: Option<String>,
}

/// What a ceremony row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// An invitation code was accepted; the person may now create their first passkey.
    Enrol,
    /// A passkey registration is in progress.
    Register,
    /// A passkey sign-in is in progress.
    Authenticate,
}

impl CeremonyKind {
    /// The stored name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Enrol => "enrol",
            CeremonyKind::Register => "register",
            CeremonyKind::Authenticate => "authenticate",
        }
    }

    /// Parses a stored kind.
    pub fn parse(text: &str) -> Option<CeremonyKind> {
        [CeremonyKind::Enrol, CeremonyKind::Register, CeremonyKind::Authenticate].into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Server-side state of a ceremony, keyed by the hash of the id in the browser's cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct CeremonyRecord {
    /// SHA-256 of the ceremony id (base64url).
    pub id_hash: String,
    /// Enrolment, registration or sign-in.
    pub kind: CeremonyKind,
    /// The person it is for, when known (not for sign-in).
    pub person_id: Option<String>,
    /// The invitation being redeemed, for enrolment.
    pub invitation_id: Option<String>,
    /// webauthn-rs ceremony state as JSON (empty for enrolment).
    pub state: String,
    /// When it began.
    pub created_at: DateTime<Utc>,
    /// After this it is refused.
    pub expires_at: DateTime<Utc>,
}

/// The care plan, as far as the "Your care" summary needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarePlan {
    /// Stable identifier.
    pub id: String,
    /// Whose plan it is.
    pub person_id: String,
    /// A short plain-language summary.
    pub summary: String,
    /// What the person wants to achieve.
    pub outcomes: Vec<String>,
    /// What they need help with.
    pub needs: Vec<String>,
    /// How support is given.
    pub support: Vec<String>,
    /// When carers visit.
    pub visit_schedule: Vec<String>,
    /// Risks, and how they are reduced.
    pub risks: Vec<String>,
    /// When the plan is next reviewed.
    pub review_due: NaiveDate,
    /// Who wrote the plan.
    pub written_by: String,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One entry of the append-only audit log. Built only by [`crate::access`] (from a permit, a
/// power or a named account or administration act), never field by field in a handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Stable identifier.
    pub id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it (a person id), if anyone was signed in.
    pub actor_id: Option<String>,
    /// Whom the actor was acting for, if not themselves.
    pub acting_for: Option<String>,
    /// Whose record it concerns.
    pub subject_id: Option<String>,
    /// What happened, e.g. `care_plan.viewed`, `session.signed_in`.
    pub action: crate::access::AuditAction,
    /// The category of care information read or changed, if any.
    pub category: Option<crate::consent::Category>,
    /// The grant or legal basis that allowed it, if any.
    pub basis: Option<crate::access::AuditBasis>,
    /// Plain-language detail.
    pub detail: String,
}
