//! Where visits and doses stand at a moment, as a family reads it: a visit is due, in
//! progress, done, late or missed; a dose is given, refused, not given, due or missed. Pure:
//! `now` is passed in, so "late" and "missed" are exact in tests and the same on both runtimes.

use crate::record::{CareVisit, Dose, Outcome, VisitStatus};
use crate::uk_time;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

/// How long after its time a dose with no record is still "due" rather than "missed": carers
/// record a round as they go, and an hour either side of the time is the usual tolerance.
pub const DOSE_GRACE: Duration = Duration::hours(1);

/// Where a visit stands for the person and their family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VisitStanding {
    /// Still to come (or its window is open and the carer has not arrived yet).
    Due,
    /// The carer has arrived and not left.
    InProgress,
    /// The carer came and left.
    Done,
    /// Reported late, or today's window has passed without the carer arriving.
    Late,
    /// Reported missed: nobody came.
    Missed,
    /// Called off in advance.
    Cancelled,
    /// An earlier day's planned visit with nothing reported about it.
    NotRecorded,
}

impl VisitStanding {
    /// The words on the status tag.
    pub fn label(self) -> &'static str {
        match self {
            VisitStanding::Due => "Due",
            VisitStanding::InProgress => "In progress",
            VisitStanding::Done => "Done",
            VisitStanding::Late => "Late",
            VisitStanding::Missed => "Missed",
            VisitStanding::Cancelled => "Cancelled",
            VisitStanding::NotRecorded => "Not recorded",
        }
    }

    /// Whether the visit is still to happen or happening.
    pub fn open(self) -> bool {
        matches!(self, VisitStanding::Due | VisitStanding::InProgress | VisitStanding::Late)
    }

    /// The GOV.UK tag colour class.
    pub fn tag(self) -> &'static str {
        match self {
            VisitStanding::Due => "govuk-tag--blue",
            VisitStanding::InProgress => "govuk-tag--turquoise",
            VisitStanding::Done => "govuk-tag--green",
            VisitStanding::Late => "govuk-tag--orange",
            VisitStanding::Missed => "govuk-tag--red",
            VisitStanding::Cancelled | VisitStanding::NotRecorded => "govuk-tag--grey",
        }
    }
}

/// Where `visit` stands at `now`.
pub fn visit_standing(visit: &CareVisit, now: DateTime<Utc>) -> VisitStanding {
    match visit.status {
        VisitStatus::CheckedIn => VisitStanding::InProgress,
        VisitStatus::CheckedOut | VisitStatus::Completed => VisitStanding::Done,
        VisitStatus::Late => VisitStanding::Late,
        VisitStatus::Missed => VisitStanding::Missed,
        VisitStatus::Cancelled => VisitStanding::Cancelled,
        VisitStatus::Planned if visit.ends_at > now => VisitStanding::Due,
        VisitStatus::Planned if uk_time::date(visit.starts_at) == uk_time::date(now) => VisitStanding::Late,
        VisitStatus::Planned => VisitStanding::NotRecorded,
    }
}

/// Whether `visit` belongs under "Coming up" at `now` (else under "Earlier"): it is still to
/// come, or it is today's and still open (in progress, late, or its window not yet passed).
pub fn is_coming_up(visit: &CareVisit, now: DateTime<Utc>) -> bool {
    match visit_standing(visit, now) {
        VisitStanding::Done | VisitStanding::Missed | VisitStanding::NotRecorded => false,
        VisitStanding::Due | VisitStanding::Cancelled => visit.ends_at > now,
        VisitStanding::InProgress | VisitStanding::Late => uk_time::date(visit.starts_at) >= uk_time::date(now),
    }
}

/// The carers' first names, as the family sees them: "Jo Adeyemi and Sam Lee" → "Jo and Sam".
/// A planned visit already holds a first name only.
pub fn first_names(carers: &str) -> String {
    let names: Vec<&str> = carers.split([',', '&', '/']).flat_map(|part| part.split(" and ")).filter_map(|name| name.split_whitespace().next()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The Monday of the UK week that holds `day` (UK weeks start on Monday).
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Where a dose stands for the person and their family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DoseState {
    /// The carer gave it.
    Given,
    /// The person said no.
    Refused,
    /// Not given, for the reason recorded.
    NotGiven,
    /// Still to come, or within [`DOSE_GRACE`] of its time.
    Due,
    /// Its time has passed by more than [`DOSE_GRACE`] with nothing recorded.
    Missed,
}

impl DoseState {
    /// The words for it ("Given", "Not given").
    pub fn label(self) -> &'static str {
        match self {
            DoseState::Given => "Given",
            DoseState::Refused => "Refused",
            DoseState::NotGiven => "Not given",
            DoseState::Due => "Due",
            DoseState::Missed => "Missed",
        }
    }
}

/// Where `dose` stands at `now`.
pub fn dose_state(dose: &Dose, now: DateTime<Utc>) -> DoseState {
    match dose.outcome {
        Some(Outcome::Given) => DoseState::Given,
        Some(Outcome::Refused) => DoseState::Refused,
        Some(Outcome::NotGiven) => DoseState::NotGiven,
        None if dose.due_at + DOSE_GRACE > now => DoseState::Due,
        None => DoseState::Missed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
    }

    fn visit(starts: &str, minutes: i64, status: VisitStatus) -> CareVisit {
        CareVisit {
            id: "v".into(),
            person_id: "p".into(),
            organisation_id: "o".into(),
            starts_at: at(starts),
            ends_at: at(starts) + Duration::minutes(minutes),
            status,
            carers: "Jo".into(),
            note: String::new(),
            recorded_at: at(starts),
        }
    }

    #[test]
    fn a_visit_stands_where_its_report_and_the_clock_put_it() {
        let now = at("2026-11-30T10:00:00Z");
        let cases = [
            ("2026-11-30T14:00:00Z", VisitStatus::Planned, VisitStanding::Due, true),
            ("2026-11-30T09:45:00Z", VisitStatus::Planned, VisitStanding::Due, true),
            ("2026-11-30T08:00:00Z", VisitStatus::Planned, VisitStanding::Late, true),
            ("2026-11-29T08:00:00Z", VisitStatus::Planned, VisitStanding::NotRecorded, false),
            ("2026-11-30T09:30:00Z", VisitStatus::CheckedIn, VisitStanding::InProgress, true),
            ("2026-11-30T08:00:00Z", VisitStatus::CheckedOut, VisitStanding::Done, false),
            ("2026-11-30T08:00:00Z", VisitStatus::Completed, VisitStanding::Done, false),
            ("2026-11-30T09:30:00Z", VisitStatus::Late, VisitStanding::Late, true),
            ("2026-11-28T09:30:00Z", VisitStatus::Late, VisitStanding::Late, false),
            ("2026-11-30T08:00:00Z", VisitStatus::Missed, VisitStanding::Missed, false),
            ("2026-12-01T08:00:00Z", VisitStatus::Cancelled, VisitStanding::Cancelled, true),
            ("2026-11-29T08:00:00Z", VisitStatus::Cancelled, VisitStanding::Cancelled, false),
        ];
        for (starts, status, standing, coming_up) in cases {
            let visit = visit(starts, 30, status);
            assert_eq!(visit_standing(&visit, now), standing, "{starts} {status:?}");
            assert_eq!(is_coming_up(&visit, now), coming_up, "{starts} {status:?}");
        }
    }

    #[test]
    fn today_is_the_uk_day_so_a_late_evening_visit_in_summer_is_tomorrows() {
        // 11:30pm BST on 14 July is 22:30 UTC; at 00:30 BST on 15 July it was yesterday's.
        let visit = visit("2026-07-14T22:00:00Z", 30, VisitStatus::Planned);
        assert_eq!(visit_standing(&visit, at("2026-07-14T23:30:00Z")), VisitStanding::NotRecorded);
        assert_eq!(visit_standing(&visit, at("2026-07-14T22:45:00Z")), VisitStanding::Late);
    }

    #[test]
    fn carers_are_shown_by_first_name() {
        assert_eq!(first_names("Jo Adeyemi"), "Jo");
        assert_eq!(first_names("Jo Adeyemi and Sam Lee"), "Jo and Sam");
        assert_eq!(first_names("Jo Adeyemi, Sam Lee, Ann Wu"), "Jo, Sam and Ann");
        assert_eq!(first_names("Priya"), "Priya");
        assert_eq!(first_names("  "), "");
    }

    #[test]
    fn weeks_start_on_monday() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default();
        for offset in 0..7 {
            assert_eq!(monday_of(monday + Duration::days(offset)), monday);
        }
        assert_eq!(monday_of(monday - Duration::days(1)), monday - Duration::days(7));
    }

    #[test]
    fn a_dose_is_due_for_an_hour_after_its_time_then_missed() {
        let dose = |outcome| Dose { due_at: at("2026-11-30T08:00:00Z"), outcome, reason: None, recorded_by: None, recorded_at: None, past: true };
        assert_eq!(dose_state(&dose(None), at("2026-11-30T07:00:00Z")), DoseState::Due);
        assert_eq!(dose_state(&dose(None), at("2026-11-30T08:59:00Z")), DoseState::Due);
        assert_eq!(dose_state(&dose(None), at("2026-11-30T09:00:00Z")), DoseState::Missed);
        assert_eq!(dose_state(&dose(Some(Outcome::Refused)), at("2026-11-30T07:00:00Z")), DoseState::Refused);
        assert_eq!(dose_state(&dose(Some(Outcome::NotGiven)), at("2026-11-30T12:00:00Z")).label(), "Not given");
    }
}
