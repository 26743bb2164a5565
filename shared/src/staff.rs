//! Staff accounts: who looks after whose. A council administrator invites council staff and each
//! provider's administrator, changes council staff's roles and removes access; a provider's
//! administrator invites and removes their own organisation's staff, and no one else's. Pure: the
//! rules here decide and plan, the store keeps, the portal (or the demo seed) asks.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::administration::{self, Administrator};
use crate::domain::{CouncilRole, Invitation, Organisation, Person, ProviderRole, Role};
use crate::invitation::{self as invitations, DEFAULT_LIFETIME, InvitationCode};
use crate::plan::{Plan, Recorder};
use crate::random::{Random, new_id, new_uuid};
use crate::store::{CredentialStore, StaffStore, Store, StoreError};

/// Longest name a member of staff (or a new provider) may be given, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// What a member of staff is, in their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffPosition {
    /// Council staff, with their council role.
    Council(CouncilRole),
    /// A provider's staff, with their provider role.
    Provider(ProviderRole),
}

impl StaffPosition {
    /// The position in a sentence ("invited … as a caseworker").
    pub fn words(self) -> &'static str {
        match self {
            StaffPosition::Council(CouncilRole::Caseworker) => "a caseworker",
            StaffPosition::Council(CouncilRole::Administrator) => "an administrator",
            StaffPosition::Provider(ProviderRole::Staff) => "a member of staff",
            StaffPosition::Provider(ProviderRole::Administrator) => "the provider's administrator",
        }
    }

    /// The position as a label in a list ("Caseworker").
    pub fn label(self) -> &'static str {
        match self {
            StaffPosition::Council(CouncilRole::Caseworker) => "Caseworker",
            StaffPosition::Council(CouncilRole::Administrator) => "Administrator",
            StaffPosition::Provider(ProviderRole::Staff) => "Staff",
            StaffPosition::Provider(ProviderRole::Administrator) => "Administrator",
        }
    }

    /// The person's role for this position.
    pub fn role(self) -> Role {
        match self {
            StaffPosition::Council(_) => Role::CouncilStaff,
            StaffPosition::Provider(_) => Role::ProviderStaff,
        }
    }
}

/// A member of staff as the staff pages list them.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffMember {
    /// The person.
    pub person: Person,
    /// Their position; `None` only for a row the schema would not allow (staff without a role).
    pub position: Option<StaffPosition>,
    /// Whether they have enrolled: used an invitation or hold a passkey.
    pub enrolled: bool,
    /// When their access was removed, if it was.
    pub access_removed_at: Option<DateTime<Utc>>,
}

impl StaffMember {
    /// Whether they can still sign in (or enrol).
    pub fn has_access(&self) -> bool {
        self.access_removed_at.is_none()
    }

    /// Their organisation's id ("" if none).
    pub fn organisation_id(&self) -> &str {
        self.person.organisation_id.as_deref().unwrap_or_default()
    }
}

/// Who is looking after staff accounts, and for which organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager<'a> {
    /// A council administrator of this council organisation.
    Council {
        /// Their person id.
        person_id: &'a str,
        /// The council's organisation id.
        council_id: &'a str,
    },
    /// A provider's administrator of this provider organisation.
    Provider {
        /// Their person id.
        person_id: &'a str,
        /// Their provider's organisation id.
        organisation_id: &'a str,
    },
}

impl Manager<'_> {
    fn person_id(&self) -> &str {
        match self {
            Manager::Council { person_id, .. } | Manager::Provider { person_id, .. } => person_id,
        }
    }

    /// Whether `member` is among the staff this manager looks after (so may see them listed).
    pub fn looks_after(&self, member: &StaffMember) -> bool {
        match (self, member.position) {
            (Manager::Council { council_id, .. }, Some(StaffPosition::Council(_))) => member.organisation_id() == *council_id,
            (Manager::Council { .. }, Some(StaffPosition::Provider(ProviderRole::Administrator))) => true,
            (Manager::Provider { organisation_id, .. }, Some(StaffPosition::Provider(_))) => member.organisation_id() == *organisation_id,
            _ => false,
        }
    }
}

/// Why a change to a member of staff's account was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StaffRefusal {
    /// They are not among the staff this manager looks after (answered as "not found").
    #[error("not one of the staff you look after")]
    NotTheirs,
    /// Managers cannot change or remove their own account: they would lock themselves (and
    /// perhaps everyone) out of administration.
    #[error("you cannot change your own access")]
    Themselves,
    /// Their access is already removed.
    #[error("their access is already removed")]
    AlreadyRemoved,
    /// A provider's administrator may remove only ordinary staff; administrators are the council's.
    #[error("only the council can remove a provider's administrator")]
    AdministratorsAreTheCouncils,
}

/// Whether `manager` may remove `member`'s access.
pub fn may_remove(manager: &Manager<'_>, member: &StaffMember) -> Result<(), StaffRefusal> {
    if !manager.looks_after(member) {
        return Err(StaffRefusal::NotTheirs);
    }
    if member.person.id == manager.person_id() {
        return Err(StaffRefusal::Themselves);
    }
    if !member.has_access() {
        return Err(StaffRefusal::AlreadyRemoved);
    }
    match (manager, member.position) {
        (Manager::Provider { .. }, Some(StaffPosition::Provider(ProviderRole::Administrator))) => Err(StaffRefusal::AdministratorsAreTheCouncils),
        _ => Ok(()),
    }
}

/// Whether `manager` may change `member`'s council role (council administrators, council staff
/// only); returns their role now.
pub fn may_change_council_role(manager: &Manager<'_>, member: &StaffMember) -> Result<CouncilRole, StaffRefusal> {
    let (Manager::Council { .. }, Some(StaffPosition::Council(current))) = (manager, member.position) else { return Err(StaffRefusal::NotTheirs) };
    if !manager.looks_after(member) {
        return Err(StaffRefusal::NotTheirs);
    }
    if member.person.id == manager.person_id() {
        return Err(StaffRefusal::Themselves);
    }
    if !member.has_access() {
        return Err(StaffRefusal::AlreadyRemoved);
    }
    Ok(current)
}

/// What is wrong with a name typed for a member of staff or a new provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    /// Nothing was typed.
    #[error("the name is missing")]
    Missing,
    /// Over [`MAX_NAME_CHARS`] characters.
    #[error("the name is too long")]
    TooLong,
    /// It holds control characters (a line break, a tab).
    #[error("the name holds control characters")]
    Control,
}

/// The name as it will be kept: trimmed, inner runs of spaces made one.
pub fn check_name(text: &str) -> Result<String, NameProblem> {
    if text.chars().any(char::is_control) {
        return Err(NameProblem::Control);
    }
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err(NameProblem::Missing),
        count if count > MAX_NAME_CHARS => Err(NameProblem::TooLong),
        _ => Ok(name),
    }
}

/// Someone to invite: their name, position and organisation, and whether that organisation is a
/// new provider to add in the same plan (for a new provider's administrator).
#[derive(Debug, Clone)]
pub struct Invitee<'a> {
    /// Their name, checked with [`check_name`].
    pub name: String,
    /// What they will be.
    pub position: StaffPosition,
    /// Their organisation (already stored, or new when `new_provider`).
    pub organisation: &'a Organisation,
    /// Whether `organisation` is a new provider, added by the plan.
    pub new_provider: bool,
}

/// An invitation of a member of staff, made but not yet written.
#[derive(Debug)]
pub struct StaffInvitation {
    /// Everything to write, in one batch: a new provider and its log entry, the person, their
    /// role, their invitation, and the log entry of the invitation.
    pub plan: Plan,
    /// The new person.
    pub person: Person,
    /// Their invitation as stored.
    pub invitation: Invitation,
    /// The code to give them, shown once.
    pub code: InvitationCode,
}

/// Plans inviting `invitee`, by `by`, at `now`. Apply the plan with [`Store::apply`].
pub async fn invitation_plan(by: &Administrator, invitee: Invitee<'_>, now: DateTime<Utc>, random: &dyn Random) -> Result<StaffInvitation, StoreError> {
    let person = Person {
        id: new_id(random),
        role: invitee.position.role(),
        display_name: invitee.name,
        organisation_id: Some(invitee.organisation.id.clone()),
        webauthn_handle: new_uuid(random),
        created_at: now,
    };
    let (invitation, code) = invitations::issue(&person.id, Some(&by.id), now, DEFAULT_LIFETIME, random);
    let recorder = Recorder::new();
    let plan = recorder.store();
    if invitee.new_provider {
        plan.insert_organisation(invitee.organisation).await?;
        plan.append_admin_event(&administration::provider_added(new_id(random), now, by, invitee.organisation)).await?;
    }
    plan.insert_person(&person).await?;
    // New staff start as caseworkers or ordinary staff (migrations 0013 and 0018); an
    // administrator is made one by name, in the same plan.
    match invitee.position {
        StaffPosition::Council(CouncilRole::Administrator) => {
            plan.set_council_role(&person.id, CouncilRole::Administrator).await?;
        }
        StaffPosition::Provider(ProviderRole::Administrator) => {
            plan.set_provider_role(&person.id, ProviderRole::Administrator).await?;
        }
        StaffPosition::Council(CouncilRole::Caseworker) | StaffPosition::Provider(ProviderRole::Staff) => {}
    }
    plan.insert_invitation(&invitation).await?;
    plan.append_admin_event(&administration::staff_invited(new_id(random), now, by, &person, invitee.position, &invitee.organisation.name)).await?;
    Ok(StaffInvitation { plan: recorder.into_plan(), person, invitation, code })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, organisation: &str, position: StaffPosition, removed: bool) -> StaffMember {
        StaffMember {
            person: Person {
                id: id.into(),
                role: position.role(),
                display_name: id.into(),
                organisation_id: Some(organisation.into()),
                webauthn_handle: uuid::Uuid::nil(),
                created_at: DateTime::UNIX_EPOCH,
            },
            position: Some(position),
            enrolled: true,
            access_removed_at: removed.then_some(DateTime::UNIX_EPOCH),
        }
    }

    #[test]
    fn who_may_remove_whom() {
        use StaffPosition::{Council, Provider};
        let council = Manager::Council { person_id: "daniel", council_id: "council" };
        let brookside = Manager::Provider { person_id: "priya", organisation_id: "brookside" };
        let cases = [
            (council, member("cath", "council", Council(CouncilRole::Caseworker), false), Ok(())),
            (council, member("ann", "council", Council(CouncilRole::Administrator), false), Ok(())),
            (council, member("daniel", "council", Council(CouncilRole::Administrator), false), Err(StaffRefusal::Themselves)),
            (council, member("cath", "council", Council(CouncilRole::Caseworker), true), Err(StaffRefusal::AlreadyRemoved)),
            (council, member("x", "other-council", Council(CouncilRole::Caseworker), false), Err(StaffRefusal::NotTheirs)),
            (council, member("priya", "brookside", Provider(ProviderRole::Administrator), false), Ok(())),
            (council, member("jo", "brookside", Provider(ProviderRole::Staff), false), Err(StaffRefusal::NotTheirs)),
            (brookside, member("jo", "brookside", Provider(ProviderRole::Staff), false), Ok(())),
            (brookside, member("jo", "brookside", Provider(ProviderRole::Staff), true), Err(StaffRefusal::AlreadyRemoved)),
            (brookside, member("priya", "brookside", Provider(ProviderRole::Administrator), false), Err(StaffRefusal::Themselves)),
            (brookside, member("sam", "brookside", Provider(ProviderRole::Administrator), false), Err(StaffRefusal::AdministratorsAreTheCouncils)),
            (brookside, member("ola", "riverside", Provider(ProviderRole::Staff), false), Err(StaffRefusal::NotTheirs)),
            (brookside, member("cath", "council", Council(CouncilRole::Caseworker), false), Err(StaffRefusal::NotTheirs)),
        ];
        for (index, (manager, member, expected)) in cases.into_iter().enumerate() {
            assert_eq!(may_remove(&manager, &member), expected, "case {index}");
        }
    }

    #[test]
    fn only_council_administrators_change_council_roles() {
        let council = Manager::Council { person_id: "daniel", council_id: "council" };
        let brookside = Manager::Provider { person_id: "priya", organisation_id: "brookside" };
        let cath = member("cath", "council", StaffPosition::Council(CouncilRole::Caseworker), false);
        assert_eq!(may_change_council_role(&council, &cath), Ok(CouncilRole::Caseworker));
        assert_eq!(may_change_council_role(&brookside, &cath), Err(StaffRefusal::NotTheirs));
        let daniel = member("daniel", "council", StaffPosition::Council(CouncilRole::Administrator), false);
        assert_eq!(may_change_council_role(&council, &daniel), Err(StaffRefusal::Themselves));
        let jo = member("jo", "brookside", StaffPosition::Provider(ProviderRole::Staff), false);
        assert_eq!(may_change_council_role(&council, &jo), Err(StaffRefusal::NotTheirs));
        let gone = member("cath", "council", StaffPosition::Council(CouncilRole::Caseworker), true);
        assert_eq!(may_change_council_role(&council, &gone), Err(StaffRefusal::AlreadyRemoved));
    }

    #[test]
    fn an_invitation_is_one_plan_with_its_log_entries() {
        let by = Administrator { id: "daniel".into(), name: "Daniel Hughes".into() };
        let provider =
            Organisation { id: "hillview".into(), kind: crate::domain::OrganisationKind::Provider, name: "Hillview".into(), created_at: DateTime::UNIX_EPOCH };
        let random = crate::random::SeededRandom::new(3);
        let plan = |position, new_provider| {
            let invitee = Invitee { name: "Sam Okoro".into(), position, organisation: &provider, new_provider };
            pollster::block_on(invitation_plan(&by, invitee, DateTime::UNIX_EPOCH, &random)).unwrap()
        };
        let made = plan(StaffPosition::Provider(ProviderRole::Administrator), true);
        let sql: Vec<&str> = made.plan.statements().iter().map(|statement| statement.sql.as_ref()).collect();
        assert_eq!(sql.len(), 6, "{sql:#?}");
        assert!(sql[0].starts_with("INSERT INTO organisations") && sql[1].starts_with("INSERT INTO admin_events"));
        assert!(sql[3].contains("provider_role") && sql[5].starts_with("INSERT INTO admin_events"));
        assert_eq!((made.person.role, made.person.organisation_id.as_deref()), (Role::ProviderStaff, Some("hillview")));
        assert_eq!(made.invitation.person_id, made.person.id);
        assert_eq!(made.invitation.created_by.as_deref(), Some("daniel"));
        assert_eq!(plan(StaffPosition::Provider(ProviderRole::Staff), false).plan.statements().len(), 3, "no role to set, no provider to add");
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(check_name("  Jo   Adeyemi "), Ok("Jo Adeyemi".into()));
        assert_eq!(check_name("   "), Err(NameProblem::Missing));
        assert_eq!(check_name(&"a".repeat(MAX_NAME_CHARS)), Ok("a".repeat(MAX_NAME_CHARS)));
        assert_eq!(check_name(&"é".repeat(MAX_NAME_CHARS + 1)), Err(NameProblem::TooLong));
        assert_eq!(check_name("Jo\nAdeyemi"), Err(NameProblem::Control));
    }
}
