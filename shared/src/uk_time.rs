//! UK time: everything is stored in UTC and shown in Europe/London, with summer time; a
//! medicine's schedule time is a wall-clock time in the home. Words follow the GOV.UK style
//! guide: "8am", "7:30pm", "midday", "midnight"; dates as "21 November 2026".

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Europe::London;
use chrono_tz::Tz;

/// The moment `at` on the clocks in the UK.
pub fn local(at: DateTime<Utc>) -> DateTime<Tz> {
    at.with_timezone(&London)
}

/// The UK date of the moment `at` (what "today" is in the home).
pub fn date(at: DateTime<Utc>) -> NaiveDate {
    local(at).date_naive()
}

/// The moment the UK clocks show `time` on `date`. In the hour that does not exist (clocks go
/// forward) it is the first moment after the gap; in the hour that happens twice (clocks go
/// back) it is the first of the two — a dose due at 1:30am is due once, at the first 1:30am.
pub fn at(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let wall = NaiveDateTime::new(date, time);
    match London.from_local_datetime(&wall) {
        LocalResult::Single(moment) => moment.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // The gap is an hour: the same wall time an hour later exists, and is the first moment
        // after the gap at that minute.
        LocalResult::None => {
            let later = wall + chrono::Duration::hours(1);
            London.from_local_datetime(&later).earliest().map_or_else(|| later.and_utc(), |moment| moment.with_timezone(&Utc))
        }
    }
}

/// The start of the UK day `date`, as a moment.
pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
    at(date, NaiveTime::MIN)
}

/// The last second of the UK day `date` ("until 1 July" means to the end of 1 July in the UK).
pub fn end_of(date: NaiveDate) -> DateTime<Utc> {
    start_of(date.succ_opt().unwrap_or(date)) - chrono::Duration::seconds(1)
}

/// A wall-clock time the GOV.UK way: "8am", "7:30pm", "midday", "midnight".
pub fn clock(time: NaiveTime) -> String {
    let (hour, minute) = (time.hour(), time.minute());
    match (hour, minute) {
        (0, 0) => "midnight".to_owned(),
        (12, 0) => "midday".to_owned(),
        _ => {
            let suffix = if hour < 12 { "am" } else { "pm" };
            let twelve = match hour % 12 {
                0 => 12,
                other => other,
            };
            if minute == 0 { format!("{twelve}{suffix}") } else { format!("{twelve}:{minute:02}{suffix}") }
        }
    }
}

/// The UK time of `at`, the GOV.UK way ("8am").
pub fn time(at: DateTime<Utc>) -> String {
    clock(local(at).time())
}

/// The UK date of `at` ("21 November 2026").
pub fn day(at: DateTime<Utc>) -> String {
    local(at).format("%-d %B %Y").to_string()
}

/// The UK date and time of `at` ("21 November 2026 at 8am").
pub fn day_and_time(at: DateTime<Utc>) -> String {
    format!("{} at {}", day(at), time(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
    }

    fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
    }

    fn hm(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default()
    }

    #[test]
    fn times_are_written_the_gov_uk_way() {
        assert_eq!(clock(hm(8, 0)), "8am");
        assert_eq!(clock(hm(19, 30)), "7:30pm");
        assert_eq!(clock(hm(12, 0)), "midday");
        assert_eq!(clock(hm(0, 0)), "midnight");
        assert_eq!(clock(hm(0, 15)), "12:15am");
        assert_eq!(clock(hm(12, 5)), "12:05pm");
    }

    #[test]
    fn a_dose_given_at_8am_in_july_is_8am_not_7am() {
        let given = utc("2026-07-14T07:00:00Z");
        assert_eq!(time(given), "8am");
        assert_eq!(at(ymd(2026, 7, 14), hm(8, 0)), given);
        assert_eq!(at(ymd(2026, 1, 14), hm(8, 0)), utc("2026-01-14T08:00:00Z"), "winter is GMT");
    }

    #[test]
    fn the_hour_that_does_not_exist_and_the_hour_that_happens_twice() {
        // Clocks go forward at 1am GMT on 29 March 2026: 1:30am does not exist that day.
        assert_eq!(at(ymd(2026, 3, 29), hm(1, 30)), utc("2026-03-29T01:30:00Z"), "the first moment after the gap at that minute: 2:30am BST");
        assert_eq!(time(utc("2026-03-29T00:59:00Z")), "12:59am");
        assert_eq!(time(utc("2026-03-29T01:00:00Z")), "2am");
        // Clocks go back at 2am BST on 25 October 2026: 1:30am happens twice; the first counts.
        assert_eq!(at(ymd(2026, 10, 25), hm(1, 30)), utc("2026-10-25T00:30:00Z"));
        assert_eq!(time(utc("2026-10-25T00:30:00Z")), "1:30am");
        assert_eq!(time(utc("2026-10-25T01:30:00Z")), "1:30am");
        // Days around midnight belong to the UK date.
        assert_eq!(date(utc("2026-07-14T23:30:00Z")), ymd(2026, 7, 15));
        assert_eq!(day_and_time(utc("2026-07-14T23:30:00Z")), "15 July 2026 at 12:30am");
        assert_eq!(start_of(ymd(2026, 7, 15)), utc("2026-07-14T23:00:00Z"));
        assert_eq!(end_of(ymd(2026, 7, 1)), utc("2026-07-01T22:59:59Z"));
        assert_eq!(day(end_of(ymd(2026, 7, 1))), "1 July 2026");
        assert_eq!(end_of(ymd(2027, 3, 1)), utc("2027-03-01T23:59:59Z"), "winter: as before");
    }
}
