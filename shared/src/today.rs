//! The "Today" card: what a person (or someone supporting them) comes to the portal for — the
//! next visit and where it stands, today's doses, and answers waiting for them. Pure functions
//! over what the store read, with `now` passed in; "today" is the UK day of `now`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::comments::{Comment, CommentStatus};
use crate::live::{self, DoseState, VisitStanding};
use crate::record::{self, Administration, Medicine};
use crate::record_writes::ScheduledVisit;
use crate::uk_time;

/// Where a visit on the card stands at `now`: the same standing the visits page shows; a
/// cancelled visit is not on the card. A planned visit whose window has ended without a
/// check-in is late (not missed: only the provider knows it will not happen).
pub fn standing(visit: &ScheduledVisit, now: DateTime<Utc>) -> Option<VisitStanding> {
    match live::visit_standing(&visit.visit, now) {
        VisitStanding::Cancelled => None,
        // The card reads from the start of today, so an earlier day's visit is not on it.
        VisitStanding::NotRecorded => Some(VisitStanding::Late),
        standing => Some(standing),
    }
}

/// One visit as the card shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitLine {
    /// The visit with its actual times.
    pub visit: ScheduledVisit,
    /// Where it stands at `now`.
    pub state: VisitStanding,
}

impl VisitLine {
    /// Its window in UK time ("8am to 8:45am").
    pub fn window(&self) -> String {
        format!("{} to {}", uk_time::time(self.visit.visit.starts_at), uk_time::time(self.visit.visit.ends_at))
    }

    /// The carers' first names ("Jo" from "Jo Adeyemi", "Jo and Sam"), if any are named.
    pub fn carer(&self) -> Option<String> {
        Some(live::first_names(&self.visit.visit.carers)).filter(|names| !names.is_empty())
    }
}

/// Today's visits, split around the one the person is waiting for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitsToday {
    /// The visit that is happening, or the next one still to happen (today or later).
    pub next: Option<VisitLine>,
    /// Today's other visits before `next` (or all of today's if nothing is to come), in order.
    pub earlier: Vec<VisitLine>,
}

/// How long after its window a visit nobody has arrived for is still shown as the next one.
pub const STILL_AWAITED: Duration = Duration::hours(2);

/// How far ahead the card looks for the next visit.
pub const LOOK_AHEAD_DAYS: i64 = 7;

/// The span of visits the card needs read: from the start of the UK day of `now` to the end of
/// [`LOOK_AHEAD_DAYS`] days later.
pub fn visit_span(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = uk_time::date(now);
    (uk_time::start_of(today), uk_time::start_of(today + Duration::days(LOOK_AHEAD_DAYS + 1)))
}

/// Today's visits at `now`: a visit in progress comes first; else the latest visit whose window
/// has started and that may still happen (due now, or late within [`STILL_AWAITED`]); else the
/// earliest visit still to come, today or later. Cancelled visits are left out.
pub fn visits_today(visits: &[ScheduledVisit], now: DateTime<Utc>) -> VisitsToday {
    let today = uk_time::date(now);
    let mut lines: Vec<VisitLine> = visits.iter().filter_map(|visit| standing(visit, now).map(|state| VisitLine { visit: visit.clone(), state })).collect();
    lines.sort_by(|a, b| a.visit.visit.starts_at.cmp(&b.visit.visit.starts_at).then_with(|| a.visit.visit.id.cmp(&b.visit.visit.id)));
    let open_from_today = |line: &VisitLine| line.state.open() && uk_time::date(line.visit.visit.starts_at) >= today;
    // A visit whose window has started stays the one waited for while it may still happen;
    // after that the person waits for the next one (the late one stays in "earlier").
    let started = |line: &VisitLine| line.visit.visit.starts_at <= now && now < line.visit.visit.ends_at + STILL_AWAITED;
    let next = lines
        .iter()
        .position(|line| line.state == VisitStanding::InProgress)
        .or_else(|| lines.iter().rposition(|line| open_from_today(line) && started(line)))
        .or_else(|| lines.iter().position(|line| open_from_today(line) && line.visit.visit.starts_at > now));
    let next_line = next.and_then(|index| lines.get(index).cloned());
    let earlier = lines
        .iter()
        .enumerate()
        .filter(|(index, line)| {
            Some(*index) != next
                && uk_time::date(line.visit.visit.starts_at) == today
                && next_line.as_ref().is_none_or(|next| line.visit.visit.starts_at <= next.visit.visit.starts_at)
        })
        .map(|(_, line)| line.clone())
        .collect();
    VisitsToday { next: next_line, earlier }
}

/// "Today", "Tomorrow" or "Monday 23 November": the UK day of `at` as seen on the UK day of `now`.
pub fn day_label(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (day, today) = (uk_time::date(at), uk_time::date(now));
    if day == today {
        "Today".to_owned()
    } else if Some(day) == today.succ_opt() {
        "Tomorrow".to_owned()
    } else {
        uk_time::local(at).format("%A %-d %B").to_string()
    }
}

/// One of today's doses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodayDose {
    /// The medicine's name ("Paracetamol 500 mg tablets").
    pub medicine: String,
    /// How much ("2 tablets").
    pub dose: String,
    /// When it is (or was) due; for an as-needed dose, when it was taken.
    pub due_at: DateTime<Utc>,
    /// Where it stands.
    pub state: DoseState,
    /// Why it was not given or refused, if recorded.
    pub reason: Option<String>,
}

/// Today's doses (the UK day of `now`), in time order: the medicines' scheduled times as
/// wall-clock times in the home, and as-needed doses taken today; the latest record of a dose wins.
pub fn doses_today(medicines: &[Medicine], administrations: &[Administration], now: DateTime<Utc>) -> Vec<TodayDose> {
    let today: NaiveDate = uk_time::date(now);
    let mut doses: Vec<TodayDose> = record::week_grid(medicines, administrations, today, now)
        .into_iter()
        .flat_map(|row| {
            let (medicine, dose) = (row.medicine.name, row.medicine.dose);
            row.days.into_iter().next().unwrap_or_default().into_iter().map(move |entry| TodayDose {
                medicine: medicine.clone(),
                dose: dose.clone(),
                due_at: entry.due_at,
                state: live::dose_state(&entry, now),
                reason: entry.reason,
            })
        })
        .collect();
    doses.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.medicine.cmp(&b.medicine)));
    doses
}

/// How many of today's doses stand where: for a one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DoseCounts {
    /// Given.
    pub given: usize,
    /// Refused.
    pub refused: usize,
    /// Not given.
    pub not_given: usize,
    /// Still to come.
    pub due: usize,
    /// Past its time by more than [`live::DOSE_GRACE`] with nothing recorded.
    pub missed: usize,
}

impl DoseCounts {
    /// Counts `doses`.
    pub fn of(doses: &[TodayDose]) -> DoseCounts {
        let mut counts = DoseCounts::default();
        for dose in doses {
            match dose.state {
                DoseState::Given => counts.given += 1,
                DoseState::Refused => counts.refused += 1,
                DoseState::NotGiven => counts.not_given += 1,
                DoseState::Due => counts.due += 1,
                DoseState::Missed => counts.missed += 1,
            }
        }
        counts
    }

    /// "2 given, 1 refused, 1 due" (only the states there are), or "No doses today".
    pub fn sentence(self) -> String {
        let parts: Vec<String> =
            [(self.given, "given"), (self.refused, "refused"), (self.not_given, "not given"), (self.missed, "missed"), (self.due, "due later")]
                .into_iter()
                .filter(|(count, _)| *count > 0)
                .map(|(count, words)| format!("{count} {words}"))
                .collect();
        if parts.is_empty() { "No doses today".to_owned() } else { parts.join(", ") }
    }
}

/// How long an answer to someone's comment or correction counts as news on their home page.
pub const ANSWER_NEWS: Duration = Duration::days(14);

/// The comments and corrections `author_id` wrote that were answered in the [`ANSWER_NEWS`]
/// before `now`, newest answer first.
pub fn recent_answers<'a>(comments: &'a [Comment], author_id: &str, now: DateTime<Utc>) -> Vec<&'a Comment> {
    let mut answered: Vec<&Comment> = comments
        .iter()
        .filter(|comment| comment.author_id == author_id && comment.status != CommentStatus::Open)
        .filter(|comment| comment.responded_at.is_some_and(|at| at <= now && now - at <= ANSWER_NEWS))
        .collect();
    answered.sort_by_key(|comment| std::cmp::Reverse(comment.responded_at));
    answered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comments::CommentKind;
    use crate::consent::Category;
    use crate::record::{CareVisit, Outcome, VisitStatus};
    use chrono::NaiveTime;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
    }

    fn visit(id: &str, starts: &str, minutes: i64, status: VisitStatus, carers: &str) -> ScheduledVisit {
        let starts_at = at(starts);
        ScheduledVisit {
            visit: CareVisit {
                id: id.into(),
                person_id: "p".into(),
                organisation_id: "org".into(),
                starts_at,
                ends_at: starts_at + Duration::minutes(minutes),
                status,
                carers: carers.into(),
                note: String::new(),
                recorded_at: starts_at,
            },
            status_at: None,
            checked_in_at: None,
            checked_out_at: None,
        }
    }

    fn ids(lines: &[VisitLine]) -> Vec<&str> {
        lines.iter().map(|line| line.visit.visit.id.as_str()).collect()
    }

    #[test]
    fn the_next_visit_and_its_state_through_a_day() {
        // Saturday 21 November 2026 (GMT): visits at 8am, 1pm and 6pm, and 8am on Sunday.
        let visits = [
            visit("morning", "2026-11-21T08:00:00Z", 45, VisitStatus::Planned, "Jo Adeyemi"),
            visit("lunch", "2026-11-21T13:00:00Z", 30, VisitStatus::Planned, "Sam"),
            visit("tea", "2026-11-21T18:00:00Z", 30, VisitStatus::Cancelled, "Sam"),
            visit("sunday", "2026-11-22T08:00:00Z", 45, VisitStatus::Planned, "Jo"),
        ];
        type Row<'a> = (&'a str, Option<(&'a str, VisitStanding)>, Vec<&'a str>);
        let table: [Row<'_>; 4] = [
            ("2026-11-21T07:00:00Z", Some(("morning", VisitStanding::Due)), vec![]),
            ("2026-11-21T08:10:00Z", Some(("morning", VisitStanding::Due)), vec![]),
            // The window has ended and nobody checked in: late, and still the one waited for.
            ("2026-11-21T09:00:00Z", Some(("morning", VisitStanding::Late)), vec![]),
            ("2026-11-21T23:00:00Z", Some(("sunday", VisitStanding::Due)), vec!["morning", "lunch"]),
        ];
        for (now, expected, earlier) in table {
            let today = visits_today(&visits, at(now));
            assert_eq!(today.next.as_ref().map(|line| (line.visit.visit.id.as_str(), line.state)), expected, "at {now}");
            assert_eq!(ids(&today.earlier), earlier, "at {now}");
        }
        let late_night = visits_today(&visits, at("2026-11-21T23:00:00Z"));
        assert!(late_night.earlier.iter().all(|line| line.state == VisitStanding::Late), "nobody came: late, not missed, until the provider says");
    }

    #[test]
    fn a_visit_in_progress_comes_first_and_done_ones_are_earlier() {
        let mut morning = visit("morning", "2026-11-21T08:00:00Z", 45, VisitStatus::CheckedOut, "Jo Adeyemi");
        morning.checked_out_at = Some(at("2026-11-21T08:50:00Z"));
        let lunch = visit("lunch", "2026-11-21T13:00:00Z", 30, VisitStatus::CheckedIn, "Sam Patel");
        let tea = visit("tea", "2026-11-21T17:00:00Z", 30, VisitStatus::Planned, "Jo");
        let today = visits_today(&[tea, lunch, morning], at("2026-11-21T13:10:00Z"));
        let next = today.next.unwrap_or_else(|| unreachable!());
        assert_eq!(
            (next.visit.visit.id.as_str(), next.state, next.carer(), next.window()),
            ("lunch", VisitStanding::InProgress, Some("Sam".to_owned()), "1pm to 1:30pm".into())
        );
        assert_eq!(ids(&today.earlier), ["morning"]);
        assert_eq!(today.earlier[0].state, VisitStanding::Done);
        let missed = visit("x", "2026-11-21T08:00:00Z", 30, VisitStatus::Missed, "");
        assert_eq!(standing(&missed, at("2026-11-21T09:00:00Z")), Some(VisitStanding::Missed));
        assert_eq!(VisitLine { visit: missed, state: VisitStanding::Missed }.carer(), None);
        let late = visit("y", "2026-11-21T08:00:00Z", 30, VisitStatus::Late, "Jo");
        assert_eq!(standing(&late, at("2026-11-21T07:00:00Z")), Some(VisitStanding::Late));
    }

    #[test]
    fn today_is_the_uk_day_on_the_day_the_clocks_go_back() {
        // Sunday 25 October 2026: BST until 1am UTC, then GMT. The UK day starts at 23:00 UTC
        // on the 24th and is 25 hours long.
        let now = at("2026-10-25T12:00:00Z");
        assert_eq!(visit_span(now), (at("2026-10-24T23:00:00Z"), at("2026-11-02T00:00:00Z")));
        let visits = [
            visit("saturday-late", "2026-10-24T22:30:00Z", 20, VisitStatus::Completed, "Jo"),
            visit("after-midnight", "2026-10-24T23:30:00Z", 20, VisitStatus::Completed, "Jo"),
            visit("evening", "2026-10-25T18:00:00Z", 45, VisitStatus::Planned, "Jo"),
        ];
        let today = visits_today(&visits, now);
        assert_eq!(ids(&today.earlier), ["after-midnight"], "12:30am BST is today; 11:30pm BST the day before is not");
        let next = today.next.unwrap_or_else(|| unreachable!());
        assert_eq!(next.window(), "6pm to 6:45pm", "GMT after the change");
        assert_eq!(day_label(next.visit.visit.starts_at, now), "Today");
        assert_eq!(day_label(at("2026-10-25T23:30:00Z"), now), "Today", "11:30pm GMT is still the 25th");
        assert_eq!(day_label(at("2026-10-26T00:30:00Z"), now), "Tomorrow");
        assert_eq!(day_label(at("2026-10-27T09:00:00Z"), now), "Tuesday 27 October");

        // An 8am dose is 7am UTC the day before and 8am UTC on the day; a 1:30am dose happens
        // once, at the first 1:30am (BST).
        let medicine = |times: &[(u32, u32)]| Medicine {
            id: "m".into(),
            person_id: "p".into(),
            name: "Paracetamol".into(),
            dose: "1 tablet".into(),
            route: "by mouth".into(),
            times: times.iter().filter_map(|(hour, minute)| NaiveTime::from_hms_opt(*hour, *minute, 0)).collect(),
            as_needed: false,
            instructions: String::new(),
            prescriber: "Dr Patel".into(),
            started_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            stopped_on: None,
        };
        let given = Administration {
            id: "a".into(),
            person_id: "p".into(),
            medicine_id: "m".into(),
            due_at: at("2026-10-25T08:00:00Z"),
            outcome: Outcome::Given,
            reason: None,
            recorded_by: "Jo".into(),
            recorded_at: at("2026-10-25T08:05:00Z"),
        };
        let doses = doses_today(&[medicine(&[(1, 30), (8, 0), (20, 0)])], &[given], now);
        let seen: Vec<(DateTime<Utc>, DoseState)> = doses.iter().map(|dose| (dose.due_at, dose.state)).collect();
        assert_eq!(
            seen,
            [(at("2026-10-25T00:30:00Z"), DoseState::Missed), (at("2026-10-25T08:00:00Z"), DoseState::Given), (at("2026-10-25T20:00:00Z"), DoseState::Due),]
        );
        assert_eq!(DoseCounts::of(&doses).sentence(), "1 given, 1 missed, 1 due later");
    }

    #[test]
    fn doses_today_name_refused_and_not_given_with_their_reason() {
        let now = at("2026-11-21T21:00:00Z");
        let medicine = Medicine {
            id: "m".into(),
            person_id: "p".into(),
            name: "Paracetamol".into(),
            dose: "2 tablets".into(),
            route: "by mouth".into(),
            times: [8, 20].iter().filter_map(|hour| NaiveTime::from_hms_opt(*hour, 0, 0)).collect(),
            as_needed: false,
            instructions: String::new(),
            prescriber: "Dr Patel".into(),
            started_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            stopped_on: None,
        };
        let entry = |due: &str, outcome, reason: Option<&str>| Administration {
            id: due.into(),
            person_id: "p".into(),
            medicine_id: "m".into(),
            due_at: at(due),
            outcome,
            reason: reason.map(Into::into),
            recorded_by: "Jo".into(),
            recorded_at: at(due),
        };
        let records = [
            entry("2026-11-21T08:00:00Z", Outcome::NotGiven, Some("Asleep")),
            entry("2026-11-21T20:00:00Z", Outcome::Refused, Some("Felt sick")),
            entry("2026-11-20T20:00:00Z", Outcome::Given, None),
        ];
        let doses = doses_today(&[medicine], &records, now);
        let seen: Vec<(DoseState, Option<&str>)> = doses.iter().map(|dose| (dose.state, dose.reason.as_deref())).collect();
        assert_eq!(seen, [(DoseState::NotGiven, Some("Asleep")), (DoseState::Refused, Some("Felt sick"))], "yesterday's dose is not today's");
        assert_eq!(DoseCounts::of(&doses).sentence(), "1 refused, 1 not given");
        assert_eq!(DoseCounts::default().sentence(), "No doses today");
    }

    #[test]
    fn answers_are_news_for_their_author_for_two_weeks() {
        let now = at("2026-11-21T09:00:00Z");
        let comment = |id: &str, author: &str, status, answered: Option<&str>| Comment {
            id: id.into(),
            person_id: "p".into(),
            category: Category::Medication,
            entry_id: None,
            entry_label: String::new(),
            kind: CommentKind::Correction,
            body: "Wrong dose".into(),
            author_id: author.into(),
            author_name: author.into(),
            acting_for: None,
            created_at: at("2026-11-01T09:00:00Z"),
            status,
            response: answered.map(|_| "Put right".into()),
            responded_by: answered.map(|_| "Brookside".into()),
            responded_at: answered.map(at),
            version: 1,
        };
        let comments = [
            comment("old", "me", CommentStatus::Corrected, Some("2026-11-01T10:00:00Z")),
            comment("fresh", "me", CommentStatus::Corrected, Some("2026-11-20T10:00:00Z")),
            comment("declined", "me", CommentStatus::Declined, Some("2026-11-19T10:00:00Z")),
            comment("open", "me", CommentStatus::Open, None),
            comment("theirs", "someone-else", CommentStatus::Answered, Some("2026-11-20T10:00:00Z")),
        ];
        let ids: Vec<&str> = recent_answers(&comments, "me", now).iter().map(|comment| comment.id.as_str()).collect();
        assert_eq!(ids, ["fresh", "declined"]);
    }
}
