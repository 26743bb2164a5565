//! What the council writes when it takes someone on: adding a service user (with the council's
//! own statutory access to review their care), recording a representative who acts for them on
//! a legal basis, and commissioning a provider to give their care. Each writes its statements
//! into a plan's recorder ([`crate::plan::Recorder`]) so the caller can add a consent receipt
//! and apply the whole change in one batch; the portal's pages, the API and a CSV import share
//! them.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{self, AuditAction};
use crate::consent::{Action, Basis, Category, Grant, GrantState, Grantee};
use crate::domain::{Person, Role};
use crate::person::{FieldError, NewPerson, parse_uk_date};
use crate::random::{Random, new_id, new_uuid};
use crate::store::{PeopleStore as _, SqlStore, Store as _, StoreError};
use crate::uk_time;

/// The law the council's own access and its commissioning rest on, cited as their evidence.
pub const CARE_ACT_EVIDENCE: &str = "Care Act 2014, sections 27 (review of care and support plans) and 42 (safeguarding enquiries)";

/// The longest relationship, evidence reference or contract reference kept.
const LONGEST_REFERENCE: usize = 200;

/// The council's live statutory grant for a person, if it holds one: what every council page
/// and change about them rests on (and names in the audit log).
pub fn council_grant<'a>(grants: &'a [Grant], council_id: &str, now: DateTime<Utc>) -> Option<&'a Grant> {
    grants.iter().find(|grant| {
        grant.basis == Basis::StatutoryDuty && grant.grantee == Grantee::Organisation(council_id.to_owned()) && grant.state(now) == GrantState::Active
    })
}

/// A service user as the council adds them.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedPerson {
    /// The new person.
    pub person: Person,
    /// The council's statutory access to their record (all categories, to view).
    pub council_grant: Grant,
}

/// Records adding a service user with `details`, the council's statutory grant for them, and
/// the line in their access log, into `writes` (a recorder's store). `actor_id` is the member of
/// staff (or `credential:…` for a system, `carefront-admin` for an import at the command line).
/// The caller checks [`crate::store::PeopleStore::likely_duplicates`] first; a racing add of the
/// same NHS number is refused by the database when the plan is applied.
pub async fn add_service_user(
    writes: &SqlStore<'_>,
    details: &NewPerson,
    council_id: &str,
    actor_id: &str,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<AddedPerson, StoreError> {
    add_service_user_as(writes, new_id(random), details, council_id, actor_id, now, random).await
}

/// [`add_service_user`] with the new person's id chosen by the caller: an API write names it in
/// its idempotency claim, an import derives it from the import and the line.
pub async fn add_service_user_as(
    writes: &SqlStore<'_>,
    person_id: String,
    details: &NewPerson,
    council_id: &str,
    actor_id: &str,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<AddedPerson, StoreError> {
    let person = Person {
        id: person_id,
        role: Role::ServiceUser,
        display_name: details.display_name.clone(),
        organisation_id: None,
        webauthn_handle: new_uuid(random),
        created_at: now,
    };
    let council_grant = Grant {
        id: new_id(random),
        version: 1,
        subject_id: person.id.clone(),
        grantee: Grantee::Organisation(council_id.to_owned()),
        categories: Category::ALL.into_iter().collect(),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "to review your care and support, and keep you safe".into(),
        starts_at: now,
        ends_at: None,
        basis: Basis::StatutoryDuty,
        evidence: Some(CARE_ACT_EVIDENCE.into()),
        recorded_by: actor_id.to_owned(),
        revoked_at: None,
    };
    let event = access::statutory_event(
        new_id(random),
        now,
        actor_id,
        Some((&person.id, &council_grant.id)),
        AuditAction::PersonAdded,
        None,
        "The council added you to carefront, with your date of birth, NHS number and contact details.",
    );
    writes.insert_person_with_details(&person, details).await?;
    writes.insert_grant(&council_grant, now, None).await?;
    writes.append_audit(&event).await?;
    Ok(AddedPerson { person, council_grant })
}

/// A representative's details as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepresentativeInput {
    /// Their full name.
    pub name: String,
    /// What they are to the person ("daughter").
    pub relationship: String,
    /// `lasting_power_of_attorney` or `court_appointed_deputy`.
    pub basis: String,
    /// The reference of the registered LPA or the court order.
    pub evidence: String,
}

/// A representative checked: who they are, and the legal basis on which they act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRepresentative {
    /// Their full name.
    pub name: String,
    /// What they are to the person.
    pub relationship: String,
    /// Lasting power of attorney for health and welfare, or court-appointed deputy.
    pub basis: Basis,
    /// The evidence reference.
    pub evidence: String,
}

fn text_field(errors: &mut Vec<FieldError>, field: &'static str, text: &str, empty: &str, long: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        errors.push(FieldError::new(field, empty));
    } else if text.chars().count() > LONGEST_REFERENCE {
        errors.push(FieldError::new(field, long));
    }
    text
}

impl NewRepresentative {
    /// Checks every field: a name, a relationship, a legal basis the council may record (the
    /// act-for power follows from it), and the evidence for it.
    pub fn validate(input: &RepresentativeInput) -> Result<NewRepresentative, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = text_field(&mut errors, "name", &input.name, "Enter their full name", "Full name must be 200 characters or fewer");
        let relationship = text_field(
            &mut errors,
            "relationship",
            &input.relationship,
            "Enter their relationship to the person, like daughter or friend",
            "Relationship must be 200 characters or fewer",
        );
        let basis = match Basis::parse(input.basis.trim()) {
            Some(basis @ (Basis::LastingPowerOfAttorney | Basis::CourtAppointedDeputy)) => Some(basis),
            _ => {
                errors.push(FieldError::new("basis", "Select the legal basis on which they act for the person"));
                None
            }
        };
        let evidence = text_field(
            &mut errors,
            "evidence",
            &input.evidence,
            "Enter the reference of the registered power of attorney or the court order",
            "Evidence reference must be 200 characters or fewer",
        );
        match (errors.is_empty(), basis) {
            (true, Some(basis)) => Ok(NewRepresentative { name, relationship, basis, evidence }),
            _ => Err(errors),
        }
    }
}

/// What the pages say a basis is.
pub fn basis_words(basis: Basis) -> &'static str {
    match basis {
        Basis::Consent => "the person's consent",
        Basis::LastingPowerOfAttorney => "lasting power of attorney for health and welfare",
        Basis::CourtAppointedDeputy => "court-appointed deputy",
        Basis::BestInterests => "a best-interests decision",
        Basis::StatutoryDuty => "the council's duty under the Care Act 2014",
    }
}

/// A representative as the council records them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRepresentative {
    /// The new representative.
    pub person: Person,
    /// Their act-for grant: every category, to see and comment, and to act for the person.
    pub grant: Grant,
}

/// Records a new representative person and their act-for grant on `representative`'s basis and
/// evidence, with the line in the person's access log (under the council's statutory grant
/// `council_grant_id`), into `writes`.
pub async fn record_representative(
    writes: &SqlStore<'_>,
    subject_id: &str,
    council_grant_id: &str,
    representative: &NewRepresentative,
    actor_id: &str,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<RecordedRepresentative, StoreError> {
    let person = Person {
        id: new_id(random),
        role: Role::Representative,
        display_name: representative.name.clone(),
        organisation_id: None,
        webauthn_handle: new_uuid(random),
        created_at: now,
    };
    // An attorney for health and welfare or a deputy decides for the person: they see
    // everything and act for them, which is what the basis gives them in law.
    let grant = Grant {
        id: new_id(random),
        version: 1,
        subject_id: subject_id.to_owned(),
        grantee: Grantee::Person(person.id.clone()),
        categories: Category::ALL.into_iter().collect(),
        actions: BTreeSet::from([Action::View, Action::Contribute]),
        act_for: true,
        purpose: format!("as your {}, to make decisions about your care for you", representative.relationship),
        starts_at: now,
        ends_at: None,
        basis: representative.basis,
        evidence: Some(representative.evidence.clone()),
        recorded_by: actor_id.to_owned(),
        revoked_at: None,
    };
    let event = access::statutory_event(
        new_id(random),
        now,
        actor_id,
        Some((subject_id, council_grant_id)),
        AuditAction::RepresentativeRecorded,
        None,
        format!(
            "The council recorded {} ({}) as acting for you, as {} (evidence: {}).",
            representative.name,
            representative.relationship,
            basis_words(representative.basis),
            representative.evidence
        ),
    );
    writes.insert_person(&person).await?;
    writes.insert_grant(&grant, now, None).await?;
    writes.append_audit(&event).await?;
    Ok(RecordedRepresentative { person, grant })
}

/// A commission as typed: which provider, which categories, when, under which contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommissionInput {
    /// The provider organisation's id.
    pub provider_id: String,
    /// Category names (`care_plan`, `medication`…).
    pub categories: Vec<String>,
    /// The first day of care, UK style ("1/12/2026") or ISO.
    pub starts: String,
    /// The last day of care, if known.
    pub ends: String,
    /// The contract reference.
    pub contract_reference: String,
}

/// A commission checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commission {
    /// The provider organisation's id (the caller checks it is a provider).
    pub provider_id: String,
    /// What the provider may see and add to.
    pub categories: BTreeSet<Category>,
    /// The first day of care.
    pub starts: NaiveDate,
    /// The last day of care, if known.
    pub ends: Option<NaiveDate>,
    /// The contract reference, cited as the grant's evidence.
    pub contract_reference: String,
}

impl Commission {
    /// Checks every field at `now`: a provider, at least one known category, a real start date,
    /// an end date (if any) on or after the start and not already past, and a contract reference.
    pub fn validate(input: &CommissionInput, now: DateTime<Utc>) -> Result<Commission, Vec<FieldError>> {
        let mut errors = Vec::new();
        let provider_id = input.provider_id.trim().to_owned();
        if provider_id.is_empty() {
            errors.push(FieldError::new("provider_id", "Select the provider"));
        }
        let categories: Option<BTreeSet<Category>> = input.categories.iter().map(|name| Category::parse(name.trim())).collect();
        let categories = match categories {
            Some(categories) if !categories.is_empty() => categories,
            _ => {
                errors.push(FieldError::new("categories", "Select at least one kind of information the provider needs"));
                BTreeSet::new()
            }
        };
        let starts = match input.starts.trim() {
            "" => {
                errors.push(FieldError::new("starts", "Enter the date care starts"));
                None
            }
            text => {
                let date = parse_uk_date(text);
                if date.is_none() {
                    errors.push(FieldError::new("starts", "Date care starts must be a real date, like 1 12 2026"));
                }
                date
            }
        };
        let ends = match input.ends.trim() {
            "" => None,
            text => match parse_uk_date(text) {
                None => {
                    errors.push(FieldError::new("ends", "Date care ends must be a real date, like 31 3 2027"));
                    None
                }
                Some(ends) if starts.is_some_and(|starts| ends < starts) => {
                    errors.push(FieldError::new("ends", "Date care ends must be the same as or after the date care starts"));
                    None
                }
                Some(ends) if ends < uk_time::date(now) => {
                    errors.push(FieldError::new("ends", "Date care ends must be today or in the future"));
                    None
                }
                Some(ends) => Some(ends),
            },
        };
        let contract_reference = text_field(
            &mut errors,
            "contract_reference",
            &input.contract_reference,
            "Enter the contract reference",
            "Contract reference must be 200 characters or fewer",
        );
        match (errors.is_empty(), starts) {
            (true, Some(starts)) => Ok(Commission { provider_id, categories, starts, ends, contract_reference }),
            _ => Err(errors),
        }
    }

    /// The provider's grant for `subject_id`: to see and add to the chosen categories from the
    /// start of the first day to the end of the last (UK days), on the council's statutory duty
    /// (it arranges the care under the Care Act 2014) with the contract as evidence.
    pub fn grant(&self, id: String, subject_id: &str, recorded_by: &str) -> Grant {
        Grant {
            id,
            version: 1,
            subject_id: subject_id.to_owned(),
            grantee: Grantee::Organisation(self.provider_id.clone()),
            categories: self.categories.clone(),
            actions: BTreeSet::from([Action::View, Action::Contribute]),
            act_for: false,
            purpose: "to give you the care the council arranges for you".into(),
            starts_at: uk_time::start_of(self.starts),
            ends_at: self.ends.map(uk_time::end_of),
            basis: Basis::StatutoryDuty,
            evidence: Some(format!("Contract {}", self.contract_reference)),
            recorded_by: recorded_by.to_owned(),
            revoked_at: None,
        }
    }
}

/// Records a provider's commissioned grant and the line in the person's access log (under the
/// council's statutory grant `council_grant_id`) into `writes`; `provider_name` for the log.
#[allow(clippy::too_many_arguments)] // one change's parts, each named
pub async fn commission_provider(
    writes: &SqlStore<'_>,
    subject_id: &str,
    council_grant_id: &str,
    commission: &Commission,
    provider_name: &str,
    actor_id: &str,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Grant, StoreError> {
    let grant = commission.grant(new_id(random), subject_id, actor_id);
    let event = access::statutory_event(
        new_id(random),
        now,
        actor_id,
        Some((subject_id, council_grant_id)),
        AuditAction::ProviderCommissioned,
        None,
        format!("The council arranged your care with {provider_name} (contract {}).", commission.contract_reference),
    );
    writes.insert_grant(&grant, now, None).await?;
    writes.append_audit(&event).await?;
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_representative_needs_a_legal_basis_and_its_evidence() {
        let good = RepresentativeInput {
            name: "Sam Okafor".into(),
            relationship: "son".into(),
            basis: "lasting_power_of_attorney".into(),
            evidence: "OPG LPA 7000-1234-5678".into(),
        };
        assert_eq!(NewRepresentative::validate(&good).map(|rep| rep.basis), Ok(Basis::LastingPowerOfAttorney));
        for basis in ["", "consent", "statutory_duty", "best_interests", "made_up"] {
            let errors = NewRepresentative::validate(&RepresentativeInput { basis: basis.into(), ..good.clone() }).unwrap_err();
            assert_eq!(errors.iter().map(|error| error.field).collect::<Vec<_>>(), ["basis"], "{basis}");
        }
        let errors = NewRepresentative::validate(&RepresentativeInput { evidence: "  ".into(), ..good.clone() }).unwrap_err();
        assert_eq!(errors, [FieldError::new("evidence", "Enter the reference of the registered power of attorney or the court order")]);
        let errors = NewRepresentative::validate(&RepresentativeInput::default()).unwrap_err();
        assert_eq!(errors.iter().map(|error| error.field).collect::<Vec<_>>(), ["name", "relationship", "basis", "evidence"]);
    }

    #[test]
    fn a_commission_has_a_provider_categories_dates_and_a_contract() {
        let good = CommissionInput {
            provider_id: "org-brookside".into(),
            categories: vec!["care_plan".into(), "medication".into()],
            starts: "1/12/2026".into(),
            ends: "31/3/2027".into(),
            contract_reference: "NCC-2026-114".into(),
        };
        let commission = Commission::validate(&good, now()).unwrap();
        let grant = commission.grant("g".into(), "margaret", "daniel");
        assert_eq!(grant.basis, Basis::StatutoryDuty);
        assert_eq!(grant.evidence.as_deref(), Some("Contract NCC-2026-114"));
        assert_eq!(grant.starts_at, uk_time::start_of(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()));
        assert!(grant.validate(now()).is_ok());
        let open_ended = Commission::validate(&CommissionInput { ends: String::new(), ..good.clone() }, now()).unwrap();
        assert_eq!(open_ended.grant("g".into(), "m", "d").ends_at, None);
        let bad = CommissionInput {
            provider_id: " ".into(),
            categories: vec!["nonsense".into()],
            starts: "31/2/2026".into(),
            ends: "x".into(),
            contract_reference: String::new(),
        };
        let fields: Vec<&str> = Commission::validate(&bad, now()).unwrap_err().iter().map(|error| error.field).collect();
        assert_eq!(fields, ["provider_id", "categories", "starts", "ends", "contract_reference"]);
        let backwards = CommissionInput { ends: "30/11/2026".into(), ..good.clone() };
        assert_eq!(Commission::validate(&backwards, now()).unwrap_err()[0].field, "ends");
        let past = CommissionInput { starts: "1/1/2026".into(), ends: "1/6/2026".into(), ..good };
        assert_eq!(Commission::validate(&past, now()).unwrap_err()[0].message, "Date care ends must be today or in the future");
    }
}
