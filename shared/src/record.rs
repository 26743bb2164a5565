//! The care record beyond the care plan: the service user guide, medicines and allergies, the
//! medication administration record (eMAR), visits and notes, contacts, documents and the
//! emergency summary. Plain data with the checks a write must pass; who may read or write
//! which is [`crate::consent::decide`]'s business.

use crate::uk_time;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One section of a service user guide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideSection {
    /// Its heading.
    pub heading: String,
    /// Its text (paragraphs separated by blank lines).
    pub body: String,
}

/// The provider's guide to its service, as given to the person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceUserGuide {
    /// Whose guide.
    pub person_id: String,
    /// The provider that wrote it.
    pub organisation_id: String,
    /// Its title.
    pub title: String,
    /// Its sections, in order.
    pub sections: Vec<GuideSection>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A medicine the person takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Medicine {
    /// Stable identifier.
    pub id: String,
    /// Whose.
    pub person_id: String,
    /// Name and strength ("Paracetamol 500 mg tablets").
    pub name: String,
    /// How much ("2 tablets").
    pub dose: String,
    /// How it is taken ("by mouth").
    pub route: String,
    /// Times of day it is due, in order; empty if it is only taken as needed.
    pub times: Vec<NaiveTime>,
    /// Whether it may (also) be taken when needed.
    pub as_needed: bool,
    /// Anything the carer must know ("with food", "no more than 8 in 24 hours").
    pub instructions: String,
    /// Who prescribed it.
    pub prescriber: String,
    /// From when.
    pub started_on: NaiveDate,
    /// Until when, if stopped.
    pub stopped_on: Option<NaiveDate>,
}

impl Medicine {
    /// Whether it is current on `day`.
    pub fn current_on(&self, day: NaiveDate) -> bool {
        self.started_on <= day && self.stopped_on.is_none_or(|stopped| day < stopped)
    }
}

/// Something the person must not be given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allergy {
    /// Stable identifier.
    pub id: String,
    /// Whose.
    pub person_id: String,
    /// What ("Penicillin").
    pub substance: String,
    /// What happens ("rash and swelling").
    pub reaction: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// What happened to a dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It was given.
    Given,
    /// The person said no.
    Refused,
    /// It was not given, for the reason recorded (asleep, in hospital, out of stock…).
    NotGiven,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Given => "given",
            Outcome::Refused => "refused",
            Outcome::NotGiven => "not_given",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Outcome> {
        [Outcome::Given, Outcome::Refused, Outcome::NotGiven].into_iter().find(|outcome| outcome.as_str() == text)
    }
}

/// One entry of the medication administration record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Administration {
    /// Stable identifier.
    pub id: String,
    /// Whose.
    pub person_id: String,
    /// Which medicine.
    pub medicine_id: String,
    /// The dose time it answers (for as-needed doses, when it was taken).
    pub due_at: DateTime<Utc>,
    /// What happened.
    pub outcome: Outcome,
    /// Why, when it was not given.
    pub reason: Option<String>,
    /// The carer's name as they sign it.
    pub recorded_by: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// Where a visit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    /// Still to come.
    Planned,
    /// The carer has arrived.
    CheckedIn,
    /// The carer has left.
    CheckedOut,
    /// The carer is running late.
    Late,
    /// It happened.
    Completed,
    /// Nobody came.
    Missed,
    /// Called off in advance.
    Cancelled,
}

impl VisitStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Planned => "planned",
            VisitStatus::CheckedIn => "checked_in",
            VisitStatus::CheckedOut => "checked_out",
            VisitStatus::Late => "late",
            VisitStatus::Completed => "completed",
            VisitStatus::Missed => "missed",
            VisitStatus::Cancelled => "cancelled",
        }
    }

    /// Every status.
    pub const ALL: [VisitStatus; 7] = [
        VisitStatus::Planned,
        VisitStatus::CheckedIn,
        VisitStatus::CheckedOut,
        VisitStatus::Late,
        VisitStatus::Completed,
        VisitStatus::Missed,
        VisitStatus::Cancelled,
    ];

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<VisitStatus> {
        VisitStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// A care visit and the carers' note of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareVisit {
    /// Stable identifier.
    pub id: String,
    /// Whose.
    pub person_id: String,
    /// The provider that made it.
    pub organisation_id: String,
    /// When it started (or is due to).
    pub starts_at: DateTime<Utc>,
    /// When it ended (or is due to).
    pub ends_at: DateTime<Utc>,
    /// Where it stands.
    pub status: VisitStatus,
    /// The carers' names, as they sign.
    pub carers: String,
    /// What the carers wrote.
    pub note: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// What kind of contact someone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// A carer or care coordinator.
    CareTeam,
    /// The provider's office.
    ProviderOffice,
    /// The council social worker.
    SocialWorker,
    /// Whom to call out of hours.
    OutOfHours,
    /// The GP practice.
    Gp,
    /// Family.
    Family,
    /// Anyone else.
    Other,
}

impl ContactKind {
    /// Every kind, in display order.
    pub const ALL: [ContactKind; 7] = [
        ContactKind::CareTeam,
        ContactKind::ProviderOffice,
        ContactKind::SocialWorker,
        ContactKind::OutOfHours,
        ContactKind::Gp,
        ContactKind::Family,
        ContactKind::Other,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::CareTeam => "care_team",
            ContactKind::ProviderOffice => "provider_office",
            ContactKind::SocialWorker => "social_worker",
            ContactKind::OutOfHours => "out_of_hours",
            ContactKind::Gp => "gp",
            ContactKind::Family => "family",
            ContactKind::Other => "other",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<ContactKind> {
        ContactKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Someone in the person's circle of care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Stable identifier.
    pub id: String,
    /// Whose contact.
    pub person_id: String,
    /// What kind.
    pub kind: ContactKind,
    /// Name (of a person or an office).
    pub name: String,
    /// Their role ("Care coordinator").
    pub role: String,
    /// Telephone.
    pub phone: String,
    /// Email.
    pub email: String,
    /// When to call ("Monday to Friday, 9am to 5pm").
    pub available: String,
    /// Display order.
    pub position: i64,
}

/// What kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A hospital discharge summary.
    DischargeSummary,
    /// A report (an assessment, a review).
    Report,
    /// A letter.
    Letter,
    /// Anything else.
    Other,
}

impl DocumentKind {
    /// Every kind.
    pub const ALL: [DocumentKind; 4] = [DocumentKind::DischargeSummary, DocumentKind::Report, DocumentKind::Letter, DocumentKind::Other];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::DischargeSummary => "discharge_summary",
            DocumentKind::Report => "report",
            DocumentKind::Letter => "letter",
            DocumentKind::Other => "other",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<DocumentKind> {
        DocumentKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// The largest document carefront keeps (10 MiB; the store holds it in chunks, since D1
/// refuses a value over about 2 MB).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The content types a document may have.
pub const DOCUMENT_TYPES: [&str; 2] = ["text/plain", "application/pdf"];

/// A document about the person, without its contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Stable identifier.
    pub id: String,
    /// Whose.
    pub person_id: String,
    /// Its title.
    pub title: String,
    /// What kind.
    pub kind: DocumentKind,
    /// `text/plain` or `application/pdf`.
    pub content_type: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the contents, hex.
    pub sha256: String,
    /// Who added it.
    pub added_by: String,
    /// When.
    pub added_at: DateTime<Utc>,
}

/// Why a document cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentProblem {
    /// Empty file.
    #[error("the document is empty")]
    Empty,
    /// Over [`MAX_DOCUMENT_BYTES`].
    #[error("the document is larger than 10 MiB")]
    TooLarge,
    /// Not text or PDF.
    #[error("only plain text (text/plain) and PDF (application/pdf) documents are accepted")]
    UnsupportedType,
    /// The contents are not what the content type says.
    #[error("the contents are not {0}")]
    ContentMismatch(&'static str),
    /// No title, or too long.
    #[error("give the document a title of up to 200 characters")]
    BadTitle,
}

impl Document {
    /// Checks a document to be added and describes it; `content_type` may carry parameters
    /// (`text/plain; charset=utf-8`). The contents must be what the type says: UTF-8 text
    /// without control characters other than line breaks and tabs, or a file starting `%PDF-`.
    #[allow(clippy::too_many_arguments)]
    pub fn check(
        id: String,
        person_id: String,
        title: &str,
        kind: DocumentKind,
        content_type: &str,
        body: &[u8],
        added_by: String,
        added_at: DateTime<Utc>,
    ) -> Result<Document, DocumentProblem> {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
            return Err(DocumentProblem::BadTitle);
        }
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let Some(content_type) = DOCUMENT_TYPES.into_iter().find(|known| *known == essence) else {
            return Err(DocumentProblem::UnsupportedType);
        };
        if body.is_empty() {
            return Err(DocumentProblem::Empty);
        }
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(DocumentProblem::TooLarge);
        }
        match content_type {
            "application/pdf" if !body.starts_with(b"%PDF-") => return Err(DocumentProblem::ContentMismatch("a PDF")),
            "text/plain" => {
                let text = std::str::from_utf8(body).map_err(|_| DocumentProblem::ContentMismatch("UTF-8 text"))?;
                if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                    return Err(DocumentProblem::ContentMismatch("plain text"));
                }
            }
            _ => {}
        }
        Ok(Document {
            id,
            person_id,
            title: title.to_owned(),
            kind,
            content_type: content_type.to_owned(),
            size_bytes: i64::try_from(body.len()).unwrap_or(i64::MAX),
            sha256: hex(&Sha256::digest(body)),
            added_by,
            added_at,
        })
    }
}

impl Document {
    /// Checks a document to be added whose type is judged from its contents alone, never from
    /// what the sender declared: a file starting `%PDF-` is a PDF, UTF-8 text without control
    /// characters (other than line breaks and tabs) is plain text, anything else is refused.
    pub fn from_content(
        id: String,
        person_id: String,
        title: &str,
        kind: DocumentKind,
        body: &[u8],
        added_by: String,
        added_at: DateTime<Utc>,
    ) -> Result<Document, DocumentProblem> {
        let content_type = if body.starts_with(b"%PDF-") { "application/pdf" } else { "text/plain" };
        match Document::check(id, person_id, title, kind, content_type, body, added_by, added_at) {
            Err(DocumentProblem::ContentMismatch(_)) => Err(DocumentProblem::UnsupportedType),
            other => other,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What a paramedic or GP needs first: the person's emergency summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencySummary {
    /// Whose.
    pub person_id: String,
    /// A few lines about the person and their health.
    pub summary: String,
    /// Conditions, in plain words.
    pub conditions: Vec<String>,
    /// How to communicate with them.
    pub communication: String,
    /// Whom to tell.
    pub next_of_kin: String,
    /// Who last changed it.
    pub updated_by: String,
    /// When.
    pub updated_at: DateTime<Utc>,
}

/// One medicine's row in the week grid: for each day, each dose due and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridRow {
    /// The medicine.
    pub medicine: Medicine,
    /// One cell per day of the week, in order.
    pub days: Vec<Vec<Dose>>,
}

/// One dose in the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dose {
    /// When it was due (or taken, for an as-needed dose).
    pub due_at: DateTime<Utc>,
    /// What happened; `None` if nothing is recorded (yet).
    pub outcome: Option<Outcome>,
    /// Why not given.
    pub reason: Option<String>,
    /// Who recorded it.
    pub recorded_by: Option<String>,
    /// When it was recorded.
    pub recorded_at: Option<DateTime<Utc>>,
    /// Whether it was due at `now` or before (so a missing record is a gap, not the future).
    pub past: bool,
}

/// The medication administration record for the seven days from `first_day`, one row per
/// medicine current on any of those UK days. Scheduled doses come from the medicines' times,
/// wall-clock times in the home (8am is 8am in summer and in winter); an administration answers
/// the dose whose `due_at` it names (the latest record wins, so a correction replaces an
/// earlier entry); as-needed doses appear on the day they were recorded.
pub fn week_grid(medicines: &[Medicine], administrations: &[Administration], first_day: NaiveDate, now: DateTime<Utc>) -> Vec<GridRow> {
    let days: Vec<NaiveDate> = (0..7).map(|offset| first_day + Duration::days(offset)).collect();
    let mut rows = Vec::new();
    for medicine in medicines.iter().filter(|medicine| days.iter().any(|day| medicine.current_on(*day))) {
        let mine: Vec<&Administration> = administrations.iter().filter(|entry| entry.medicine_id == medicine.id).collect();
        let cells = days
            .iter()
            .map(|day| {
                let mut doses: Vec<Dose> = Vec::new();
                if medicine.current_on(*day) {
                    for time in &medicine.times {
                        let due_at = uk_time::at(*day, *time);
                        let latest = mine.iter().filter(|entry| entry.due_at == due_at).max_by_key(|entry| entry.recorded_at);
                        doses.push(dose(due_at, latest.copied(), now));
                    }
                }
                // As-needed doses, and anything recorded at a time that is not on the schedule.
                let mut extra: Vec<&Administration> = mine
                    .iter()
                    .copied()
                    .filter(|entry| uk_time::date(entry.due_at) == *day && !medicine.times.iter().any(|time| uk_time::at(*day, *time) == entry.due_at))
                    .collect();
                extra.sort_by_key(|entry| (entry.due_at, entry.recorded_at));
                extra.dedup_by(|later, earlier| {
                    if later.due_at == earlier.due_at {
                        *earlier = later;
                        true
                    } else {
                        false
                    }
                });
                doses.extend(extra.into_iter().map(|entry| dose(entry.due_at, Some(entry), now)));
                doses.sort_by_key(|dose| dose.due_at);
                doses
            })
            .collect();
        rows.push(GridRow { medicine: medicine.clone(), days: cells });
    }
    rows
}

fn dose(due_at: DateTime<Utc>, entry: Option<&Administration>, now: DateTime<Utc>) -> Dose {
    Dose {
        due_at,
        outcome: entry.map(|entry| entry.outcome),
        reason: entry.and_then(|entry| entry.reason.clone()),
        recorded_by: entry.map(|entry| entry.recorded_by.clone()),
        recorded_at: entry.map(|entry| entry.recorded_at),
        past: due_at <= now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
    }

    fn medicine(id: &str, times: &[&str], as_needed: bool) -> Medicine {
        Medicine {
            id: id.into(),
            person_id: "p".into(),
            name: id.into(),
            dose: "1 tablet".into(),
            route: "by mouth".into(),
            times: times.iter().filter_map(|time| NaiveTime::parse_from_str(time, "%H:%M").ok()).collect(),
            as_needed,
            instructions: String::new(),
            prescriber: "Dr Patel".into(),
            started_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            stopped_on: None,
        }
    }

    fn given(medicine: &str, due: &str, outcome: Outcome, recorded: &str) -> Administration {
        Administration {
            id: format!("{medicine}-{due}-{recorded}"),
            person_id: "p".into(),
            medicine_id: medicine.into(),
            due_at: at(due),
            outcome,
            reason: (outcome != Outcome::Given).then(|| "asleep".into()),
            recorded_by: "Jo".into(),
            recorded_at: at(recorded),
        }
    }

    #[test]
    fn the_grid_has_every_scheduled_dose_and_the_latest_record_for_it() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or_default();
        let now = at("2026-11-17T12:00:00Z");
        let medicines = [medicine("m1", &["08:00", "20:00"], false), medicine("prn", &[], true)];
        let records = [
            given("m1", "2026-11-16T08:00:00Z", Outcome::NotGiven, "2026-11-16T08:10:00Z"),
            given("m1", "2026-11-16T08:00:00Z", Outcome::Given, "2026-11-16T09:00:00Z"),
            given("m1", "2026-11-16T20:00:00Z", Outcome::Refused, "2026-11-16T20:05:00Z"),
            given("prn", "2026-11-17T03:15:00Z", Outcome::Given, "2026-11-17T03:16:00Z"),
        ];
        let grid = week_grid(&medicines, &records, monday, now);
        assert_eq!(grid.len(), 2);
        let monday_doses = &grid[0].days[0];
        assert_eq!(monday_doses.len(), 2);
        assert_eq!(monday_doses[0].outcome, Some(Outcome::Given), "the correction replaces the first record");
        assert_eq!(monday_doses[1].outcome, Some(Outcome::Refused));
        let tuesday = &grid[0].days[1];
        assert_eq!((tuesday[0].outcome, tuesday[0].past), (None, true), "a past dose with no record is a gap");
        assert_eq!((tuesday[1].outcome, tuesday[1].past), (None, false), "an evening dose still to come");
        assert_eq!(grid[1].days[1].len(), 1, "the as-needed dose shows on the day it was taken");
        assert!(grid[1].days[0].is_empty());
    }

    #[test]
    fn a_dose_given_at_8am_in_summer_is_the_8am_dose_not_an_extra_7am_one() {
        // 8am BST on Tuesday 14 July 2026 is 07:00 UTC: the record names that moment.
        let morning = medicine("m1", &["08:00"], false);
        let records = [given("m1", "2026-07-14T07:00:00Z", Outcome::Given, "2026-07-14T07:05:00Z")];
        let monday = NaiveDate::from_ymd_opt(2026, 7, 13).unwrap_or_default();
        let grid = week_grid(&[morning], &records, monday, at("2026-07-20T12:00:00Z"));
        let tuesday = &grid[0].days[1];
        assert_eq!(tuesday.len(), 1, "one dose, not 7am given beside 8am missing: {tuesday:?}");
        assert_eq!((tuesday[0].due_at, tuesday[0].outcome), (at("2026-07-14T07:00:00Z"), Some(Outcome::Given)));
        assert_eq!(crate::uk_time::time(tuesday[0].due_at), "8am");
    }

    #[test]
    fn stopped_medicines_leave_the_grid_after_they_stop() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or_default();
        let mut stopped = medicine("old", &["08:00"], false);
        stopped.stopped_on = NaiveDate::from_ymd_opt(2026, 11, 18);
        let grid = week_grid(&[stopped.clone()], &[], monday, at("2026-11-22T00:00:00Z"));
        assert_eq!(grid[0].days.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 0, 0, 0, 0, 0]);
        stopped.stopped_on = NaiveDate::from_ymd_opt(2026, 11, 1);
        assert!(week_grid(&[stopped], &[], monday, at("2026-11-22T00:00:00Z")).is_empty());
    }

    #[test]
    fn documents_must_be_what_they_say() {
        let check = |content_type: &str, body: &[u8]| {
            Document::check(
                "d".into(),
                "p".into(),
                "Discharge summary",
                DocumentKind::DischargeSummary,
                content_type,
                body,
                "x".into(),
                at("2026-11-21T00:00:00Z"),
            )
        };
        assert!(check("text/plain; charset=utf-8", b"Home on 3 November.\n").is_ok());
        assert!(check("application/pdf", b"%PDF-1.7\n...").is_ok());
        assert_eq!(check("application/pdf", b"<html>").err(), Some(DocumentProblem::ContentMismatch("a PDF")));
        assert_eq!(check("text/plain", &[0xff, 0xfe]).err(), Some(DocumentProblem::ContentMismatch("UTF-8 text")));
        assert_eq!(check("text/plain", b"nul\0byte").err(), Some(DocumentProblem::ContentMismatch("plain text")));
        assert_eq!(check("text/html", b"<p>").err(), Some(DocumentProblem::UnsupportedType));
        assert_eq!(check("text/plain", b"").err(), Some(DocumentProblem::Empty));
        assert_eq!(check("text/plain", &vec![b'a'; MAX_DOCUMENT_BYTES + 1]).err(), Some(DocumentProblem::TooLarge));
        let described = check("text/plain", b"abc").unwrap_or_else(|_| unreachable!());
        assert_eq!(described.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(described.size_bytes, 3);
    }
}
