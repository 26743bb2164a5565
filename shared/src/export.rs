//! "Download everything": the whole of what carefront holds about one person, gathered from the
//! store ([`gather`]) into a [`RecordExport`], and rendered two ways without further I/O:
//!
//! - **carefront's own JSON** ([`RecordExport::to_json`]): the export itself, serialised. Its
//!   `format` field is [`FORMAT`] (`carefront-record-export/1`); a change that removes or
//!   renames a field gets a new number. Times are RFC 3339 in UTC, dates `YYYY-MM-DD`, times of
//!   day `HH:MM:SS`; document contents are standard base64 (with padding); ids are carefront's.
//!   Fields, in order: `format`, `generated_at`, `person`, `care_plan`, `guide`, `medicines`,
//!   `allergies`, `administrations` (oldest first), `visits` (newest first), `contacts`,
//!   `documents` (`document` metadata and `content_base64`), `emergency_summary`,
//!   `format_needs` (current and ended), `comments` (comments and correction requests, with
//!   their answers), `consent_discussions` (with the person's answer), `emergency_accesses` (each
//!   clinician who used the emergency code, and when), `grants` (each `grant` as
//!   it is now, its `state` when the export was made, and every stored `history` version),
//!   `consent_receipts`, `access_log` (newest first) and `parties` (the name and kind of everyone
//!   the rest mentions by id). Passkeys, sign-in sessions and the secrets behind the emergency
//!   code are left out: they are security material, not care information.
//! - **a FHIR R4 `Bundle`** ([`fhir_bundle`]) of type `collection`: a set of resources gathered
//!   for distribution with no further processing rules. Not `document`: that type needs a
//!   `Composition` attested by an author as one clinical document, which a download of everything
//!   a portal holds is not. Every entry has a stable `urn:uuid:` `fullUrl` (a name-based,
//!   version-5 UUID of the carefront id, so the same record always gives the same URLs) and
//!   entries refer to each other by those URLs.
//!
//! What goes where in FHIR: the person is a `Patient` (contacts as `Patient.contact`); the care
//! plan a `CarePlan` with a `Goal` per outcome and an activity per kind of support and per
//! visit time; each medicine a `Medication` with a `MedicationStatement`; allergies
//! `AllergyIntolerance`; each dose recorded a `MedicationAdministration`; each visit an
//! `Encounter` (class "home health") and, where the carers wrote a note, a `Communication`
//! (`Communication.encounter` points at the visit: R4 has no note on `Encounter` itself); each
//! grant a `Consent` (scope `patient-privacy`); each representative who holds a grant a
//! `RelatedPerson`; each document, the service user guide and the emergency summary a
//! `DocumentReference` with the contents inline; each format or communication need a `Flag` (with
//! its SNOMED CT code from the Accessible Information Standard where there is one). Grant
//! history, consent receipts, comments, consent discussions, uses of the emergency code and the
//! access log are in carefront's JSON only.

use crate::store::SqlStore;
use crate::store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};

use crate::access::Permit;
use crate::comments::Comment;
use crate::consent::{Action, Basis, Category, Grant, GrantState, Grantee};
use crate::db::DbError;
use crate::discussion::Discussion;
use crate::domain::{AuditEvent, CarePlan, Role};
use crate::emergency::EmergencyAccess;
use crate::needs::{RecordedNeed, SNOMED_CT};
use crate::receipt::ConsentReceipt;
use crate::record::{
    Administration, Allergy, CareVisit, Contact, ContactKind, Document, DocumentKind, EmergencySummary, Medicine, Outcome, ServiceUserGuide, VisitStatus,
};
use crate::store::{Store, StoreError};

/// The `format` of carefront's own JSON export, this version.
pub const FORMAT: &str = "carefront-record-export/1";

/// The person the record is about (without their passkeys' user handle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedPerson {
    /// carefront's id for them.
    pub id: String,
    /// Service user, representative or staff.
    pub role: Role,
    /// The name they are called by.
    pub display_name: String,
    /// Their organisation, for staff.
    pub organisation_id: Option<String>,
    /// When carefront first held anything about them.
    pub created_at: DateTime<Utc>,
}

/// A document with its contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedDocument {
    /// What it is, who added it and when.
    pub document: Document,
    /// The file itself, standard base64 with padding.
    pub content_base64: String,
}

/// One stored version of a grant: the database's own snapshot, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantVersion {
    /// Its version number.
    pub version: i64,
    /// The grant as it was at that version.
    pub snapshot: Value,
}

/// A grant about the person, with where it stands and how it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedGrant {
    /// The grant as it is now.
    pub grant: Grant,
    /// Whether it was in force when the export was made.
    pub state: GrantState,
    /// Every version, oldest first.
    pub history: Vec<GrantVersion>,
}

/// One use of the person's emergency code by a clinician (without the access token's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedEmergencyAccess {
    /// carefront's id for it (the access log names it `emergency_access:<id>`).
    pub id: String,
    /// The clinician's name, as they gave it.
    pub clinician_name: String,
    /// Their role ("Paramedic").
    pub clinician_role: String,
    /// Their organisation.
    pub clinician_organisation: String,
    /// When the code was accepted.
    pub started_at: DateTime<Utc>,
    /// When the access would have ended by itself.
    pub expires_at: DateTime<Utc>,
    /// When it ended early, if it did.
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<EmergencyAccess> for ExportedEmergencyAccess {
    fn from(access: EmergencyAccess) -> Self {
        ExportedEmergencyAccess {
            id: access.id,
            clinician_name: access.clinician.name,
            clinician_role: access.clinician.role,
            clinician_organisation: access.clinician.organisation,
            started_at: access.started_at,
            expires_at: access.expires_at,
            ended_at: access.ended_at,
        }
    }
}

/// Whether a party is a person or an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// A person (a representative, a member of staff, the person themselves).
    Person,
    /// A council or care provider.
    Organisation,
}

/// Someone the export mentions by id: a grantee, whoever recorded a grant, someone in the
/// access log, the provider of the guide or of visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// carefront's id.
    pub id: String,
    /// Person or organisation.
    pub kind: PartyKind,
    /// Their name.
    pub name: String,
    /// A person's role.
    pub role: Option<Role>,
}

/// Everything carefront holds about one person, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordExport {
    /// Always [`FORMAT`] for this version.
    pub format: String,
    /// When it was gathered.
    pub generated_at: DateTime<Utc>,
    /// Whom it is about.
    pub person: ExportedPerson,
    /// Their care plan.
    pub care_plan: Option<CarePlan>,
    /// The provider's service user guide.
    pub guide: Option<ServiceUserGuide>,
    /// Medicines, current and stopped.
    pub medicines: Vec<Medicine>,
    /// Allergies.
    pub allergies: Vec<Allergy>,
    /// Every dose recorded, oldest first.
    pub administrations: Vec<Administration>,
    /// Every visit and its note, newest first.
    pub visits: Vec<CareVisit>,
    /// The care team and other contacts.
    pub contacts: Vec<Contact>,
    /// Documents, with their contents.
    pub documents: Vec<ExportedDocument>,
    /// What a paramedic or GP needs first.
    pub emergency_summary: Option<EmergencySummary>,
    /// Format and communication needs, current and ended.
    pub format_needs: Vec<RecordedNeed>,
    /// Comments and correction requests, with their answers.
    pub comments: Vec<Comment>,
    /// Consent discussions the provider recorded, with the person's answer.
    pub consent_discussions: Vec<Discussion>,
    /// Every use of the emergency code.
    pub emergency_accesses: Vec<ExportedEmergencyAccess>,
    /// Who can or could see the record, and every change.
    pub grants: Vec<ExportedGrant>,
    /// The person's consent receipts, newest first.
    pub consent_receipts: Vec<ConsentReceipt>,
    /// Who looked at or changed the record, newest first.
    pub access_log: Vec<AuditEvent>,
    /// Names of everyone mentioned by id.
    pub parties: Vec<Party>,
}

impl RecordExport {
    /// carefront's own JSON, indented for people who open the file.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec_pretty(self)
    }

    /// The sections that hold something, in plain words (for the access log and the page).
    pub fn sections(&self) -> Vec<&'static str> {
        let present = [
            (self.care_plan.is_some(), "care plan"),
            (self.guide.is_some(), "service user guide"),
            (!self.medicines.is_empty() || !self.allergies.is_empty(), "medicines and allergies"),
            (!self.administrations.is_empty(), "record of doses"),
            (!self.visits.is_empty(), "visits and notes"),
            (!self.contacts.is_empty(), "contacts"),
            (!self.documents.is_empty(), "documents"),
            (self.emergency_summary.is_some(), "emergency summary"),
            (!self.format_needs.is_empty(), "format and communication needs"),
            (!self.comments.is_empty(), "comments and corrections"),
            (!self.consent_discussions.is_empty(), "consent discussions"),
            (!self.emergency_accesses.is_empty(), "uses of the emergency code"),
            (!self.grants.is_empty(), "who can see the record"),
            (!self.consent_receipts.is_empty(), "consent receipts"),
            (!self.access_log.is_empty(), "access log"),
        ];
        present.into_iter().filter_map(|(present, name)| present.then_some(name)).collect()
    }

    /// The categories of care information the export holds something of (every category a
    /// grant can name, where there is data in it).
    pub fn categories(&self) -> BTreeSet<Category> {
        let mut categories = BTreeSet::new();
        let mut add = |present: bool, category| {
            if present {
                categories.insert(category);
            }
        };
        add(self.care_plan.is_some(), Category::CarePlan);
        add(self.guide.is_some(), Category::ServiceUserGuide);
        add(!self.medicines.is_empty() || !self.allergies.is_empty() || !self.administrations.is_empty(), Category::Medication);
        add(!self.visits.is_empty(), Category::VisitsAndNotes);
        add(!self.contacts.is_empty(), Category::Contacts);
        add(!self.documents.is_empty(), Category::Documents);
        add(!self.format_needs.is_empty(), Category::Preferences);
        add(!self.access_log.is_empty(), Category::AccessLog);
        categories
    }

    fn party(&self, id: &str) -> Option<&Party> {
        self.parties.iter().find(|party| party.id == id)
    }

    fn name_of(&self, id: &str) -> String {
        self.party(id).map_or_else(|| id.to_owned(), |party| party.name.clone())
    }
}

/// The earliest and latest times any record can carry (stored times compare as text, so these
/// must be four-digit years).
fn all_time() -> Result<(DateTime<Utc>, DateTime<Utc>), StoreError> {
    let at = |year, month, day| NaiveDate::from_ymd_opt(year, month, day).and_then(|date| date.and_hms_opt(0, 0, 0)).map(|time| time.and_utc());
    at(1, 1, 1).zip(at(9999, 12, 31)).ok_or_else(|| DbError::Decode("no time range".into()))
}

/// More access-log entries than any one record will have, yet exact as a JavaScript number (D1
/// receives parameters as doubles; `i64::MAX` would not survive the trip as a `LIMIT`).
const ACCESS_LOG_LIMIT: i64 = 100_000_000;

/// How many visits to read at a time (the store's largest page).
const VISIT_PAGE: i64 = 200;

/// Gathers what `permit` covers of the person's record at `now` (everything, for the person
/// themselves or the council's statutory export; a representative's download holds only what
/// they may see); `None` if there is no such person. Their grants, receipts and consent
/// discussions are only in it when `with_consent` (whoever manages the person's grants).
/// Reads only: the audit entry for asking is the caller's business.
pub async fn gather(store: &SqlStore<'_>, permit: &Permit, with_consent: bool, now: DateTime<Utc>) -> Result<Option<RecordExport>, StoreError> {
    let person_id = permit.subject_id();
    let Some(person) = store.person(person_id).await? else { return Ok(None) };
    let (earliest, latest) = all_time()?;
    let covers = |category| permit.covers(category);
    let mut visits = Vec::new();
    let mut cursor: Option<String> = None;
    while covers(Category::VisitsAndNotes) {
        let page = store.visits(permit, cursor.as_deref(), VISIT_PAGE).await?;
        visits.extend(page.items);
        match page.next {
            Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
            _ => break,
        }
    }
    let mut documents = Vec::new();
    if covers(Category::Documents) {
        for document in store.documents(permit).await? {
            if let Some((document, body)) = store.document(permit, &document.id).await? {
                documents.push(ExportedDocument { document, content_base64: STANDARD.encode(body) });
            }
        }
    }
    let mut grants = Vec::new();
    if with_consent {
        for grant in store.grants_for_subject(person_id).await? {
            let history = store
                .grant_history(&grant.id)
                .await?
                .into_iter()
                .map(|(version, snapshot)| GrantVersion { version, snapshot: serde_json::from_str(&snapshot).unwrap_or(Value::String(snapshot)) })
                .collect();
            grants.push(ExportedGrant { state: grant.state(now), grant, history });
        }
    }
    let medication = covers(Category::Medication);
    let mut export = RecordExport {
        format: FORMAT.to_owned(),
        generated_at: now,
        care_plan: if covers(Category::CarePlan) { store.care_plan(permit).await? } else { None },
        guide: if covers(Category::ServiceUserGuide) { store.guide(permit).await? } else { None },
        medicines: if medication { store.medicines(permit).await? } else { Vec::new() },
        allergies: if medication { store.allergies(permit).await? } else { Vec::new() },
        administrations: if medication { store.administrations(permit, earliest, latest).await? } else { Vec::new() },
        visits,
        contacts: if covers(Category::Contacts) { store.contacts(permit).await? } else { Vec::new() },
        documents,
        emergency_summary: if medication { store.emergency_summary(permit).await? } else { None },
        format_needs: if covers(Category::Preferences) { store.needs(person_id, true).await? } else { Vec::new() },
        comments: store.comments(person_id).await?.into_iter().filter(|comment| covers(comment.category)).collect(),
        consent_discussions: if with_consent { store.discussions(person_id).await? } else { Vec::new() },
        emergency_accesses: if covers(Category::AccessLog) {
            store.emergency_accesses_for_person(person_id, earliest).await?.into_iter().map(Into::into).collect()
        } else {
            Vec::new()
        },
        grants,
        consent_receipts: if with_consent { store.receipts_for_subject(person_id).await? } else { Vec::new() },
        access_log: if covers(Category::AccessLog) { store.audit_for_subject(permit, ACCESS_LOG_LIMIT).await? } else { Vec::new() },
        parties: Vec::new(),
        person: ExportedPerson {
            id: person.id,
            role: person.role,
            display_name: person.display_name,
            organisation_id: person.organisation_id,
            created_at: person.created_at,
        },
    };
    export.parties = parties(store, &export).await?;
    Ok(Some(export))
}

/// Looks up everyone the export mentions by id (people first: ids do not say which they are).
async fn parties(store: &SqlStore<'_>, export: &RecordExport) -> Result<Vec<Party>, StoreError> {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    ids.insert(&export.person.id);
    ids.extend(export.person.organisation_id.as_deref());
    ids.extend(export.guide.as_ref().map(|guide| guide.organisation_id.as_str()));
    ids.extend(export.visits.iter().map(|visit| visit.organisation_id.as_str()));
    for exported in &export.grants {
        ids.insert(match &exported.grant.grantee {
            Grantee::Person(id) | Grantee::Organisation(id) => id,
        });
        ids.insert(&exported.grant.recorded_by);
    }
    for event in &export.access_log {
        ids.extend(event.actor_id.as_deref());
        ids.extend(event.acting_for.as_deref());
    }
    ids.extend(export.consent_discussions.iter().map(|discussion| discussion.organisation_id.as_str()));
    let mut found = Vec::new();
    for id in ids {
        if let Some(person) = store.person(id).await? {
            found.push(Party { id: person.id, kind: PartyKind::Person, name: person.display_name, role: Some(person.role) });
        } else if let Some(organisation) = store.organisation(id).await? {
            found.push(Party { id: organisation.id, kind: PartyKind::Organisation, name: organisation.name, role: None });
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------------
// FHIR R4

/// The namespace of carefront's name-based UUIDs (random, fixed for ever: changing it changes
/// every `fullUrl`).
const UUID_NAMESPACE: uuid::Uuid = uuid::uuid!("d0ccf624-2794-4382-a30a-10c3168c7cd6");

/// A version-5 (SHA-1, name-based) UUID of `kind:id` in carefront's namespace (RFC 9562).
pub fn stable_uuid(kind: &str, id: &str) -> uuid::Uuid {
    let mut hasher = Sha1::new();
    hasher.update(UUID_NAMESPACE.as_bytes());
    hasher.update(kind.as_bytes());
    hasher.update(b":");
    hasher.update(id.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// The SHA-1 of `bytes`, base64: FHIR R4's `Attachment.hash`.
pub fn attachment_hash(bytes: &[u8]) -> String {
    STANDARD.encode(Sha1::digest(bytes))
}

const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const V3_ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const V3_ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
const V3_PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
const CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const RESOURCE_TYPES: &str = "http://hl7.org/fhir/resource-types";

/// FHIR `dateTime`/`instant`: seconds always, a fraction only when there is one, UTC as `Z`.
fn fhir_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn fhir_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn fhir_time_of_day(time: NaiveTime) -> String {
    time.format("%H:%M:%S").to_string()
}

fn text(words: &str) -> Value {
    json!({ "text": words })
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [coding(system, code, display)] })
}

/// Escapes text for an XHTML narrative.
fn xhtml(words: &str) -> String {
    words.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn narrative(sentence: &str) -> Value {
    json!({ "status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{}</p></div>", xhtml(sentence)) })
}

/// A dose written as "2 tablets" or "10 ml" as a quantity; `None` if it does not start with a
/// number.
fn dose_quantity(dose: &str) -> Option<Value> {
    let dose = dose.trim();
    let number_end = dose.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(dose.len());
    let (number, unit) = dose.split_at(number_end);
    let value: f64 = number.parse().ok().filter(|value: &f64| value.is_finite() && *value > 0.0)?;
    let unit = unit.trim();
    let mut quantity = json!({ "value": value });
    if !unit.is_empty() {
        quantity["unit"] = json!(unit);
    }
    Some(quantity)
}

/// How a medicine is taken, in words.
fn dosage_text(medicine: &Medicine) -> String {
    let mut words = format!("{}, {}", medicine.dose, medicine.route.to_lowercase());
    if !medicine.times.is_empty() {
        // The text is for people (the download and the paper copy read it): "8am", GOV.UK style.
        // FHIR's own `timing.repeat.timeOfDay` keeps the machine form.
        let times: Vec<String> = medicine.times.iter().map(|time| crate::uk_time::clock(*time)).collect();
        words.push_str(&format!(", at {}", and_list(&times)));
    }
    if medicine.as_needed {
        words.push_str(if medicine.times.is_empty() { ", when needed" } else { ", and when needed" });
    }
    words
}

/// "8am, 1pm and 7pm".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Where a medicine stands on `today`: FHIR `MedicationStatement.status`.
pub fn medication_statement_status(medicine: &Medicine, today: NaiveDate) -> &'static str {
    if medicine.stopped_on.is_some_and(|stopped| stopped <= today) {
        "stopped"
    } else if medicine.started_on > today {
        "intended"
    } else {
        "active"
    }
}

/// What happened to a dose: FHIR `MedicationAdministration.status`, and the reason not given.
pub fn administration_status(entry: &Administration) -> (&'static str, Option<String>) {
    let reason = entry.reason.as_deref().map(str::trim).filter(|reason| !reason.is_empty());
    match entry.outcome {
        Outcome::Given => ("completed", None),
        Outcome::Refused => ("not-done", Some(reason.map_or_else(|| "Refused by the person".to_owned(), |reason| format!("Refused by the person: {reason}")))),
        Outcome::NotGiven => ("not-done", Some(reason.map_or_else(|| "Not given".to_owned(), |reason| format!("Not given: {reason}")))),
    }
}

/// Where a grant stands: FHIR `Consent.status`. A grant that has not started yet is agreed, so
/// active (its provision period says from when); one that ended or was stopped is inactive
/// ("terminated"). `rejected` is for a proposed consent the other party turned down, which
/// carefront has no such thing as.
pub fn consent_status(state: GrantState) -> &'static str {
    match state {
        GrantState::Active | GrantState::NotStarted => "active",
        GrantState::Expired | GrantState::Revoked => "inactive",
    }
}

/// A visit's state: FHIR `Encounter.status`. A missed visit never began, like a cancelled one;
/// a late carer has not arrived yet.
pub fn encounter_status(status: VisitStatus) -> &'static str {
    match status {
        VisitStatus::Planned | VisitStatus::Late => "planned",
        VisitStatus::CheckedIn => "in-progress",
        VisitStatus::CheckedOut | VisitStatus::Completed => "finished",
        VisitStatus::Missed | VisitStatus::Cancelled => "cancelled",
    }
}

fn basis_words(basis: Basis) -> &'static str {
    match basis {
        Basis::Consent => "The person's own consent, given or recorded in carefront",
        Basis::LastingPowerOfAttorney => "A lasting power of attorney for health and welfare (Mental Capacity Act 2005)",
        Basis::CourtAppointedDeputy => "A deputy appointed by the Court of Protection (Mental Capacity Act 2005)",
        Basis::BestInterests => "A best-interests decision under the Mental Capacity Act 2005",
        Basis::StatutoryDuty => "A statutory duty of the council under the Care Act 2014",
    }
}

/// Why the grantee may see the record, as an HL7 v3 purpose of use.
fn purpose_of_use(grant: &Grant) -> Value {
    match (grant.basis, &grant.grantee) {
        (Basis::StatutoryDuty, _) => coding(V3_ACT_REASON, "GOV", "government"),
        (Basis::LastingPowerOfAttorney | Basis::CourtAppointedDeputy, _) => coding(V3_ACT_REASON, "PWATRNY", "power of attorney"),
        (_, Grantee::Organisation(_)) => coding(V3_ACT_REASON, "TREAT", "treatment"),
        (_, Grantee::Person(_)) => coding(V3_ACT_REASON, "SUPNWK", "support network"),
    }
}

/// The FHIR resource types a category's information is exported as.
fn resource_types(category: Category) -> &'static [&'static str] {
    match category {
        Category::CarePlan => &["CarePlan", "Goal"],
        Category::ServiceUserGuide => &["DocumentReference"],
        Category::Medication => &["Medication", "MedicationStatement", "MedicationAdministration", "AllergyIntolerance"],
        Category::VisitsAndNotes => &["Encounter", "Communication"],
        Category::Contacts => &["Patient"],
        Category::Documents => &["DocumentReference"],
        Category::Preferences => &["Flag"],
        Category::AccessLog => &["AuditEvent"],
    }
}

fn category_words(category: Category) -> &'static str {
    match category {
        Category::CarePlan => "care plan",
        Category::ServiceUserGuide => "service user guide",
        Category::Medication => "medicines",
        Category::VisitsAndNotes => "visits and notes",
        Category::Contacts => "contacts",
        Category::Documents => "documents",
        Category::Preferences => "format and communication needs",
        Category::AccessLog => "access log",
    }
}

pub(crate) fn contact_words(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::CareTeam => "Care team",
        ContactKind::ProviderOffice => "Care provider office",
        ContactKind::SocialWorker => "Council social worker",
        ContactKind::OutOfHours => "Out of hours",
        ContactKind::Gp => "GP",
        ContactKind::Family => "Family",
        ContactKind::Other => "Other",
    }
}

pub(crate) fn document_words(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::DischargeSummary => "Hospital discharge summary",
        DocumentKind::Report => "Report",
        DocumentKind::Letter => "Letter",
        DocumentKind::Other => "Document",
    }
}

/// Builds the bundle's entries and the references between them.
struct BundleBuilder<'a> {
    export: &'a RecordExport,
    identifier_base: String,
    entries: Vec<Value>,
}

impl BundleBuilder<'_> {
    fn full_url(kind: &str, id: &str) -> String {
        format!("urn:uuid:{}", stable_uuid(kind, id))
    }

    fn reference(kind: &str, id: &str) -> Value {
        json!({ "reference": Self::full_url(kind, id) })
    }

    fn identifier(&self, kind: &str, id: &str) -> Value {
        json!([{ "system": format!("{}/fhir/identifier/{kind}", self.identifier_base), "value": id }])
    }

    /// A reference by name (and carefront id) to someone who has no resource in the bundle.
    fn display_reference(&self, id: &str, fhir_type: &str) -> Value {
        let kind = match self.export.party(id).map(|party| party.kind) {
            Some(PartyKind::Organisation) => "organisation",
            _ => "person",
        };
        json!({
            "type": fhir_type,
            "identifier": { "system": format!("{}/fhir/identifier/{kind}", self.identifier_base), "value": id },
            "display": self.export.name_of(id),
        })
    }

    fn patient(&self) -> Value {
        Self::reference("patient", &self.export.person.id)
    }

    /// Adds a resource under the `fullUrl` derived from `kind` and `id` (which also gives it its
    /// FHIR id and identifier).
    fn add(&mut self, kind: &str, id: &str, mut resource: Value) {
        let uuid = stable_uuid(kind, id);
        resource["id"] = json!(uuid.to_string());
        resource["identifier"] = self.identifier(kind, id);
        self.entries.push(json!({ "fullUrl": format!("urn:uuid:{uuid}"), "resource": resource }));
    }

    fn add_patient(&mut self) {
        let person = &self.export.person;
        let contacts: Vec<Value> = self
            .export
            .contacts
            .iter()
            .map(|contact| {
                let relationship = if contact.role.trim().is_empty() {
                    contact_words(contact.kind).to_owned()
                } else {
                    format!("{}: {}", contact_words(contact.kind), contact.role)
                };
                let mut telecom = Vec::new();
                if !contact.phone.trim().is_empty() {
                    telecom.push(json!({ "system": "phone", "value": contact.phone.trim() }));
                }
                if !contact.email.trim().is_empty() {
                    telecom.push(json!({ "system": "email", "value": contact.email.trim() }));
                }
                let mut entry = json!({ "relationship": [text(&relationship)], "name": text(&contact.name) });
                if !telecom.is_empty() {
                    entry["telecom"] = json!(telecom);
                }
                entry
            })
            .collect();
        let mut patient = json!({
            "resourceType": "Patient",
            "active": true,
            "name": [{ "use": "usual", "text": person.display_name }],
        });
        if !contacts.is_empty() {
            patient["contact"] = json!(contacts);
        }
        self.add("patient", &person.id.clone(), patient);
    }

    /// A `RelatedPerson` for each representative who holds, or held, a grant.
    fn add_related_people(&mut self) {
        let mut representatives: BTreeMap<&str, Vec<&ExportedGrant>> = BTreeMap::new();
        for exported in &self.export.grants {
            if let Grantee::Person(id) = &exported.grant.grantee
                && self.export.party(id).is_some_and(|party| party.role == Some(Role::Representative))
            {
                representatives.entry(id.as_str()).or_default().push(exported);
            }
        }
        for (id, grants) in representatives {
            let active = grants.iter().any(|exported| exported.state == GrantState::Active);
            let mut relationship = vec![text("Representative who was given access in carefront")];
            if grants.iter().any(|exported| exported.grant.basis == Basis::LastingPowerOfAttorney) {
                relationship.push(concept(V3_ROLE_CODE, "HPOWATT", "healthcare power of attorney"));
            }
            if grants.iter().any(|exported| exported.grant.basis == Basis::CourtAppointedDeputy) {
                relationship.push(concept(V3_ROLE_CODE, "GUARD", "guardian"));
            }
            let resource = json!({
                "resourceType": "RelatedPerson",
                "active": active,
                "patient": self.patient(),
                "relationship": relationship,
                "name": [{ "text": self.export.name_of(id) }],
            });
            self.add("related-person", id, resource);
        }
    }

    fn add_care_plan(&mut self) {
        let Some(plan) = &self.export.care_plan else { return };
        let mut goals = Vec::new();
        for (index, outcome) in plan.outcomes.iter().enumerate() {
            let goal_id = format!("{}#{index}", plan.id);
            goals.push(Self::reference("goal", &goal_id));
            let goal = json!({
                "resourceType": "Goal",
                "lifecycleStatus": "active",
                "description": text(outcome),
                "subject": self.patient(),
            });
            self.add("goal", &goal_id, goal);
        }
        let mut activities: Vec<Value> = plan.support.iter().map(|support| json!({ "detail": { "status": "in-progress", "description": support } })).collect();
        activities.extend(
            plan.visit_schedule.iter().map(|when| json!({ "detail": { "status": "scheduled", "description": "Care visit", "scheduledString": when } })),
        );
        let mut notes = Vec::new();
        for (heading, items) in [("What I need help with", &plan.needs), ("Risks, and how they are kept low", &plan.risks)] {
            if !items.is_empty() {
                notes.push(json!({ "text": format!("{heading}:\n\n{}", items.iter().map(|item| format!("- {item}")).collect::<Vec<_>>().join("\n")) }));
            }
        }
        notes.push(json!({ "text": format!("Review due on {}.", plan.review_due.format("%-d %B %Y")) }));
        let mut resource = json!({
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "title": "Care and support plan",
            "description": plan.summary,
            "subject": self.patient(),
            // The version in force began when it was last written; it stays in force until it is
            // reviewed or replaced, so the period has no end.
            "period": { "start": fhir_time(plan.updated_at) },
            "author": { "display": plan.written_by },
            "note": notes,
        });
        if !goals.is_empty() {
            resource["goal"] = json!(goals);
        }
        if !activities.is_empty() {
            resource["activity"] = json!(activities);
        }
        self.add("care-plan", &plan.id, resource);
    }

    fn add_medicines(&mut self) {
        let today = self.export.generated_at.date_naive();
        for medicine in &self.export.medicines {
            self.add("medication", &medicine.id, json!({ "resourceType": "Medication", "code": text(&medicine.name) }));
            let mut dosage = json!({ "text": dosage_text(medicine), "asNeededBoolean": medicine.as_needed, "route": text(&medicine.route) });
            if !medicine.instructions.trim().is_empty() {
                dosage["patientInstruction"] = json!(medicine.instructions.trim());
            }
            if !medicine.times.is_empty() {
                let times: Vec<String> = medicine.times.iter().map(|time| fhir_time_of_day(*time)).collect();
                dosage["timing"] = json!({ "repeat": { "timeOfDay": times } });
            }
            if let Some(quantity) = dose_quantity(&medicine.dose) {
                dosage["doseAndRate"] = json!([{ "doseQuantity": quantity }]);
            }
            let mut period = json!({ "start": fhir_date(medicine.started_on) });
            if let Some(stopped) = medicine.stopped_on {
                period["end"] = json!(fhir_date(stopped));
            }
            let mut statement = json!({
                "resourceType": "MedicationStatement",
                "status": medication_statement_status(medicine, today),
                "medicationReference": Self::reference("medication", &medicine.id),
                "subject": self.patient(),
                "effectivePeriod": period,
                "dosage": [dosage],
            });
            if !medicine.prescriber.trim().is_empty() {
                statement["note"] = json!([{ "text": format!("Prescribed by {}.", medicine.prescriber.trim()) }]);
            }
            self.add("medication-statement", &medicine.id, statement);
        }
        for allergy in &self.export.allergies {
            let mut resource = json!({
                "resourceType": "AllergyIntolerance",
                "clinicalStatus": concept(ALLERGY_CLINICAL, "active", "Active"),
                "code": text(&allergy.substance),
                "patient": self.patient(),
                "recordedDate": fhir_time(allergy.recorded_at),
            });
            if !allergy.reaction.trim().is_empty() {
                resource["reaction"] = json!([{ "manifestation": [text(allergy.reaction.trim())] }]);
            }
            self.add("allergy", &allergy.id, resource);
        }
    }

    fn add_administrations(&mut self) {
        let medicines: BTreeMap<&str, &Medicine> = self.export.medicines.iter().map(|medicine| (medicine.id.as_str(), medicine)).collect();
        for entry in &self.export.administrations {
            let (status, reason) = administration_status(entry);
            let medicine = medicines.get(entry.medicine_id.as_str());
            let mut resource = json!({
                "resourceType": "MedicationAdministration",
                "status": status,
                "subject": self.patient(),
                "effectiveDateTime": fhir_time(entry.due_at),
                "performer": [{ "actor": { "display": entry.recorded_by } }],
                "note": [{ "authorString": entry.recorded_by, "time": fhir_time(entry.recorded_at), "text": "Recorded in carefront." }],
            });
            match medicine {
                Some(medicine) => {
                    resource["medicationReference"] = Self::reference("medication", &medicine.id);
                    // R4 needs a dose or a rate in any dosage: give one only when the dose is a number.
                    if let Some(quantity) = dose_quantity(&medicine.dose) {
                        resource["dosage"] = json!({ "text": medicine.dose, "route": text(&medicine.route), "dose": quantity });
                    }
                }
                None => resource["medicationCodeableConcept"] = text(&format!("A medicine carefront no longer holds ({})", entry.medicine_id)),
            }
            if let Some(reason) = reason {
                resource["statusReason"] = json!([text(&reason)]);
            }
            self.add("medication-administration", &entry.id, resource);
        }
    }

    fn add_visits(&mut self) {
        for visit in &self.export.visits {
            let kind = if visit.status == VisitStatus::Missed { "Home care visit (missed: nobody came)" } else { "Home care visit" };
            let mut encounter = json!({
                "resourceType": "Encounter",
                "status": encounter_status(visit.status),
                "class": coding(V3_ACT_CODE, "HH", "home health"),
                "type": [text(kind)],
                "subject": self.patient(),
                "period": { "start": fhir_time(visit.starts_at), "end": fhir_time(visit.ends_at) },
                "serviceProvider": self.display_reference(&visit.organisation_id, "Organization"),
            });
            if !visit.carers.trim().is_empty() {
                encounter["participant"] = json!([{ "individual": { "display": visit.carers.trim() } }]);
            }
            self.add("encounter", &visit.id, encounter);
            if visit.note.trim().is_empty() {
                continue;
            }
            let mut communication = json!({
                "resourceType": "Communication",
                "status": "completed",
                "category": [text("Carers' note of a visit")],
                "subject": self.patient(),
                "encounter": Self::reference("encounter", &visit.id),
                "sent": fhir_time(visit.recorded_at),
                "payload": [{ "contentString": visit.note }],
            });
            if !visit.carers.trim().is_empty() {
                communication["sender"] = json!({ "display": visit.carers.trim() });
            }
            self.add("communication", &visit.id, communication);
        }
    }

    fn add_consents(&mut self) {
        for exported in &self.export.grants {
            let grant = &exported.grant;
            let (grantee_id, actor) = match &grant.grantee {
                Grantee::Person(id) if self.export.party(id).is_some_and(|party| party.role == Some(Role::Representative)) => {
                    (id, Self::reference("related-person", id))
                }
                Grantee::Person(id) => (id, self.display_reference(id, "Practitioner")),
                Grantee::Organisation(id) => (id, self.display_reference(id, "Organization")),
            };
            let mut actions = vec![json!({ "coding": [coding(CONSENT_ACTION, "access", "Access")] })];
            if grant.actions.contains(&Action::Contribute) {
                actions.push(json!({ "coding": [coding(CONSENT_ACTION, "correct", "Access and Correct")] }));
            }
            let classes: BTreeSet<&str> = grant.categories.iter().flat_map(|category| resource_types(*category).iter().copied()).collect();
            let classes: Vec<Value> = classes.into_iter().map(|class| json!({ "system": RESOURCE_TYPES, "code": class })).collect();
            let end = match (grant.revoked_at, grant.ends_at) {
                (Some(revoked), Some(ends)) => Some(revoked.min(ends)),
                (revoked, ends) => revoked.or(ends),
            };
            let mut period = json!({ "start": fhir_time(grant.starts_at) });
            if let Some(end) = end {
                period["end"] = json!(fhir_time(end.max(grant.starts_at)));
            }
            let performer =
                if grant.recorded_by == self.export.person.id { self.patient() } else { self.display_reference(&grant.recorded_by, "Practitioner") };
            let mut legal = basis_words(grant.basis).to_owned();
            if let Some(evidence) = grant.evidence.as_deref().map(str::trim).filter(|evidence| !evidence.is_empty()) {
                legal.push_str(&format!(": {evidence}"));
            }
            let categories: Vec<&str> = grant.categories.iter().map(|category| category_words(*category)).collect();
            let verb = if grant.actions.contains(&Action::Contribute) { "see and comment on" } else { "see" };
            let mut sentence = format!(
                "{} may {verb} {}'s {}. Why: {}. Basis: {legal}.",
                self.export.name_of(grantee_id),
                self.export.person.display_name,
                categories.join(", "),
                grant.purpose.trim().trim_end_matches('.'),
            );
            if grant.act_for {
                sentence.push_str(" They may also act for the person: change who can see the record.");
            }
            let mut resource = json!({
                "resourceType": "Consent",
                "text": narrative(&sentence),
                "status": consent_status(exported.state),
                "scope": concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
                "category": [concept(V3_ACT_CODE, "INFA", "information access")],
                "patient": self.patient(),
                "dateTime": fhir_time(grant.starts_at),
                "performer": [performer],
                "policyRule": text(&legal),
                "provision": {
                    "type": "permit",
                    "period": period,
                    "actor": [{ "role": concept(V3_PARTICIPATION_TYPE, "IRCP", "information recipient"), "reference": actor }],
                    "action": actions,
                    "purpose": [purpose_of_use(grant)],
                    "class": classes,
                },
            });
            if let Some(evidence) = grant.evidence.as_deref().map(str::trim).filter(|evidence| !evidence.is_empty()) {
                resource["sourceAttachment"] = json!({ "title": evidence });
            }
            self.add("consent", &grant.id, resource);
        }
    }

    /// A `Flag` per format or communication need, as the Accessible Information Standard asks.
    fn add_needs(&mut self) {
        for recorded in &self.export.format_needs {
            let detail = recorded.detail.trim();
            let words = if detail.is_empty() { recorded.need.label().to_owned() } else { format!("{}: {detail}", recorded.need.label()) };
            let mut code = json!({ "text": words });
            if let Some((snomed, term)) = recorded.need.snomed() {
                code["coding"] = json!([coding(SNOMED_CT, snomed, term)]);
            }
            let mut period = json!({ "start": fhir_time(recorded.recorded_at) });
            if let Some(ended) = recorded.ended_at {
                period["end"] = json!(fhir_time(ended.max(recorded.recorded_at)));
            }
            let resource = json!({
                "resourceType": "Flag",
                "status": if recorded.ended_at.is_some() { "inactive" } else { "active" },
                "category": [text("Format and communication need (Accessible Information Standard)")],
                "code": code,
                "subject": self.patient(),
                "period": period,
                "author": { "display": recorded.recorded_by_name },
            });
            self.add("format-need", &recorded.id, resource);
        }
    }

    fn document_reference(&self, title: &str, kind: &str, author: Value, date: DateTime<Utc>, content_type: &str, body: &[u8]) -> Value {
        json!({
            "resourceType": "DocumentReference",
            "status": "current",
            "type": text(kind),
            "subject": self.patient(),
            "date": fhir_time(date),
            "author": [author],
            "description": title,
            "content": [{
                "attachment": {
                    "contentType": content_type,
                    "data": STANDARD.encode(body),
                    "size": body.len(),
                    "hash": attachment_hash(body),
                    "title": title,
                    "creation": fhir_time(date),
                },
            }],
        })
    }

    fn add_documents(&mut self) {
        for exported in &self.export.documents {
            let document = &exported.document;
            // Stored contents are always valid base64 (the gatherer wrote them); if not, the
            // metadata alone is still worth exporting, with nothing attached.
            let body = STANDARD.decode(&exported.content_base64).unwrap_or_default();
            let resource = self.document_reference(
                &document.title,
                document_words(document.kind),
                json!({ "display": document.added_by }),
                document.added_at,
                &document.content_type,
                &body,
            );
            self.add("document", &document.id, resource);
        }
        if let Some(guide) = &self.export.guide {
            let mut body = format!("{}\n", guide.title);
            for section in &guide.sections {
                body.push_str(&format!("\n{}\n\n{}\n", section.heading, section.body.trim()));
            }
            let author = self.display_reference(&guide.organisation_id, "Organization");
            let resource = self.document_reference(&guide.title, "Service user guide", author, guide.updated_at, "text/plain; charset=utf-8", body.as_bytes());
            self.add("guide", &guide.person_id, resource);
        }
        if let Some(summary) = &self.export.emergency_summary {
            let mut body = format!("Emergency summary for {}\n\n{}\n", self.export.person.display_name, summary.summary.trim());
            if !summary.conditions.is_empty() {
                body.push_str("\nConditions:\n");
                for condition in &summary.conditions {
                    body.push_str(&format!("- {condition}\n"));
                }
            }
            body.push_str(&format!("\nHow to communicate: {}\n\nWhom to tell: {}\n", summary.communication.trim(), summary.next_of_kin.trim()));
            let resource = self.document_reference(
                "Emergency summary",
                "Emergency summary",
                json!({ "display": summary.updated_by }),
                summary.updated_at,
                "text/plain; charset=utf-8",
                body.as_bytes(),
            );
            self.add("emergency-summary", &summary.person_id, resource);
        }
    }
}

/// The export as a FHIR R4 `Bundle` of type `collection`. `identifier_base` is the deployment's
/// origin (e.g. `https://care.example.gov.uk`): each resource carries carefront's id as an
/// identifier in the system `{identifier_base}/fhir/identifier/{kind}`.
pub fn fhir_bundle(export: &RecordExport, identifier_base: &str) -> Value {
    let mut builder = BundleBuilder { export, identifier_base: identifier_base.trim_end_matches('/').to_owned(), entries: Vec::new() };
    builder.add_patient();
    builder.add_related_people();
    builder.add_care_plan();
    builder.add_medicines();
    builder.add_administrations();
    builder.add_visits();
    builder.add_consents();
    builder.add_documents();
    builder.add_needs();
    let bundle_name = format!("{}@{}", export.person.id, fhir_time(export.generated_at));
    json!({
        "resourceType": "Bundle",
        "id": stable_uuid("bundle", &bundle_name).to_string(),
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", stable_uuid("bundle", &bundle_name)) },
        "type": "collection",
        "timestamp": fhir_time(export.generated_at),
        "entry": builder.entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_uuids_are_version_5_and_differ_by_kind() {
        let uuid = stable_uuid("consent", "grant-1");
        assert_eq!(uuid, stable_uuid("consent", "grant-1"));
        assert_ne!(uuid, stable_uuid("encounter", "grant-1"));
        assert_eq!(uuid.get_version_num(), 5);
    }

    #[test]
    fn the_attachment_hash_is_base64_sha1() {
        // FIPS 180-2's first example.
        assert_eq!(attachment_hash(b"abc"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    }

    #[test]
    fn doses_that_start_with_a_number_become_quantities() {
        assert_eq!(dose_quantity("2 tablets"), Some(json!({ "value": 2.0, "unit": "tablets" })));
        assert_eq!(dose_quantity("1.5 ml"), Some(json!({ "value": 1.5, "unit": "ml" })));
        assert_eq!(dose_quantity("3"), Some(json!({ "value": 3.0 })));
        assert_eq!(dose_quantity("one tablet"), None);
        assert_eq!(dose_quantity("0 tablets"), None);
        assert_eq!(dose_quantity("1.2.3 ml"), None);
    }

    #[test]
    fn narratives_are_escaped() {
        assert_eq!(xhtml("<script>&\"</script>"), "&lt;script&gt;&amp;&quot;&lt;/script&gt;");
    }
}
