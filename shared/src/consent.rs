//! Consent and delegation: grants, and the one pure decision that guards every read and write
//! of care information. Deny by default; what is not granted does not exist for the actor.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Role;

/// A category of care information, the unit of sharing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The care plan.
    CarePlan,
    /// The provider's service user guide.
    ServiceUserGuide,
    /// Medicines and the administration record (eMAR).
    Medication,
    /// Visits and carers' notes.
    VisitsAndNotes,
    /// The care team and other contacts.
    Contacts,
    /// Letters, reports and discharge summaries.
    Documents,
    /// Format and communication needs.
    Preferences,
    /// Who has looked at the record.
    AccessLog,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 8] = [
        Category::CarePlan,
        Category::ServiceUserGuide,
        Category::Medication,
        Category::VisitsAndNotes,
        Category::Contacts,
        Category::Documents,
        Category::Preferences,
        Category::AccessLog,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::CarePlan => "care_plan",
            Category::ServiceUserGuide => "service_user_guide",
            Category::Medication => "medication",
            Category::VisitsAndNotes => "visits_and_notes",
            Category::Contacts => "contacts",
            Category::Documents => "documents",
            Category::Preferences => "preferences",
            Category::AccessLog => "access_log",
        }
    }

    /// Parses a stored name; unknown names are refused.
    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|category| category.as_str() == text)
    }
}

/// What an actor wants to do with a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read it.
    View,
    /// Add comments and ask for corrections.
    Contribute,
}

impl Action {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Contribute => "contribute",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Action> {
        [Action::View, Action::Contribute].into_iter().find(|action| action.as_str() == text)
    }
}

/// The legal footing of a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The person's own consent.
    Consent,
    /// A lasting power of attorney for health and welfare.
    LastingPowerOfAttorney,
    /// A court-appointed deputy.
    CourtAppointedDeputy,
    /// A best-interests decision under the Mental Capacity Act 2005.
    BestInterests,
    /// A statutory duty under the Care Act 2014 (the council's reviews).
    StatutoryDuty,
}

impl Basis {
    /// Every basis.
    pub const ALL: [Basis; 5] = [Basis::Consent, Basis::LastingPowerOfAttorney, Basis::CourtAppointedDeputy, Basis::BestInterests, Basis::StatutoryDuty];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Consent => "consent",
            Basis::LastingPowerOfAttorney => "lasting_power_of_attorney",
            Basis::CourtAppointedDeputy => "court_appointed_deputy",
            Basis::BestInterests => "best_interests",
            Basis::StatutoryDuty => "statutory_duty",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Basis> {
        Basis::ALL.into_iter().find(|basis| basis.as_str() == text)
    }

    /// Whether a grant on this basis must cite evidence (anything but the person's own consent).
    pub fn needs_evidence(self) -> bool {
        self != Basis::Consent
    }
}

/// Who a grant is to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Grantee {
    /// One person (a representative, a member of staff).
    Person(String),
    /// Everyone acting for an organisation (a provider, the council).
    Organisation(String),
}

/// Access to one person's information, as granted (one version of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// Stable identifier across versions.
    pub id: String,
    /// Increases with every change; edits name the version they were based on.
    pub version: i64,
    /// Whose information it opens.
    pub subject_id: String,
    /// To whom.
    pub grantee: Grantee,
    /// Which categories.
    pub categories: BTreeSet<Category>,
    /// Which actions on them.
    pub actions: BTreeSet<Action>,
    /// Whether the grantee may also act for the person (manage their grants and preferences).
    pub act_for: bool,
    /// Why, in the grantor's words.
    pub purpose: String,
    /// From when.
    pub starts_at: DateTime<Utc>,
    /// Until when (`None`: until revoked).
    pub ends_at: Option<DateTime<Utc>>,
    /// On what footing.
    pub basis: Basis,
    /// The evidence reference, required where the basis is not consent.
    pub evidence: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Grant {
    /// Whether the grant is in force at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> GrantState {
        if self.revoked_at.is_some_and(|revoked| revoked <= now) {
            GrantState::Revoked
        } else if now < self.starts_at {
            GrantState::NotStarted
        } else if self.ends_at.is_some_and(|ends| ends <= now) {
            GrantState::Expired
        } else {
            GrantState::Active
        }
    }
}

/// Why a grant cannot be recorded as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantProblem {
    /// It opens no category.
    #[error("choose at least one kind of information")]
    NoCategories,
    /// It allows no action.
    #[error("choose whether they may see, or also add to, the information")]
    NoActions,
    /// It ends before it starts.
    #[error("the end date must be after the start date")]
    EndsBeforeStart,
    /// It would already have ended.
    #[error("the end date must be in the future")]
    EndsInThePast,
    /// The basis is not the person's consent and no evidence is cited.
    #[error("a legal basis other than consent needs an evidence reference")]
    EvidenceMissing,
    /// Act-for power given to an organisation.
    #[error("only a person can act for someone")]
    ActForOrganisation,
    /// No purpose given.
    #[error("say what the access is for")]
    NoPurpose,
}

impl Grant {
    /// Checks a new or changed grant at `now`.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), GrantProblem> {
        if self.categories.is_empty() {
            return Err(GrantProblem::NoCategories);
        }
        if self.actions.is_empty() {
            return Err(GrantProblem::NoActions);
        }
        if self.purpose.trim().is_empty() {
            return Err(GrantProblem::NoPurpose);
        }
        if let Some(ends) = self.ends_at {
            if ends <= self.starts_at {
                return Err(GrantProblem::EndsBeforeStart);
            }
            if ends <= now && self.revoked_at.is_none() {
                return Err(GrantProblem::EndsInThePast);
            }
        }
        if self.basis.needs_evidence() && self.evidence.as_deref().is_none_or(|evidence| evidence.trim().is_empty()) {
            return Err(GrantProblem::EvidenceMissing);
        }
        if self.act_for && matches!(self.grantee, Grantee::Organisation(_)) {
            return Err(GrantProblem::ActForOrganisation);
        }
        Ok(())
    }
}

/// Where a grant stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// In force.
    Active,
    /// Its start is in the future.
    NotStarted,
    /// Its end has passed.
    Expired,
    /// It was revoked.
    Revoked,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Their person id.
    pub person_id: String,
    /// Their role.
    pub role: Role,
    /// The organisation they act for, if staff.
    pub organisation_id: Option<String>,
}
