//! The R4 checks the reader makes of the elements it reads: JSON types, required elements and
//! their cardinality, codes from their value sets, and the formats of R4's primitive types
//! (`date`, `dateTime`, `instant`, `time`, `base64Binary`, `unsignedInt`). Every problem names
//! its place in the Bundle as FHIRPath-like text (`entry[2].resource.status`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::uk_time;

/// What kind of problem a place in the Bundle has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// It is not valid FHIR R4.
    Invalid,
    /// It is valid R4, but not something carefront can record as it is.
    Unrecordable,
    /// It is about someone other than the person whose record this is.
    OtherPerson,
}

/// One problem with a Bundle, at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FhirProblem {
    /// Where: `entry[2].resource.status`.
    pub path: String,
    /// What is wrong, and what would be right.
    pub reason: String,
    /// Not R4, not recordable, or about someone else.
    pub kind: ProblemKind,
}

/// The problems found so far.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) found: Vec<FhirProblem>,
}

impl Problems {
    fn push(&mut self, path: &str, reason: impl Into<String>, kind: ProblemKind) {
        // One problem per place and what it holds: `period.start` is wrong, so `period` lacks a
        // start — said once, where it went wrong first.
        let within = |inner: &str, outer: &str| inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['));
        if self.found.iter().any(|found| within(&found.path, path) || within(path, &found.path)) {
            return;
        }
        self.found.push(FhirProblem { path: path.to_owned(), reason: reason.into(), kind });
    }

    /// `path` is not valid R4.
    pub(crate) fn invalid(&mut self, path: &str, reason: impl Into<String>) {
        self.push(path, reason, ProblemKind::Invalid);
    }

    /// `path` is R4, but carefront cannot record it.
    pub(crate) fn unrecordable(&mut self, path: &str, reason: impl Into<String>) {
        self.push(path, reason, ProblemKind::Unrecordable);
    }

    /// `path` refers to someone other than the person.
    pub(crate) fn other_person(&mut self, path: &str) {
        self.push(path, "This refers to someone other than the person whose record this is: every resource must be about them.", ProblemKind::OtherPerson);
    }

    /// How many problems there are.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.found.len()
    }
}

/// `path.name` (`name` alone at the Bundle's top, where `path` is empty).
pub(crate) fn at(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

/// `path[index]`.
pub(crate) fn nth(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// The element `name` of `object`, unless absent or null.
pub(crate) fn member<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

/// A repeating element (R4 JSON: always an array); empty if absent. `min` is its cardinality's
/// lower bound.
pub(crate) fn list<'a>(problems: &mut Problems, object: &'a Value, path: &str, name: &str, min: usize) -> Vec<&'a Value> {
    let place = at(path, name);
    match member(object, name) {
        None if min > 0 => {
            problems.invalid(&place, format!("{name} is required (at least {min})."));
            Vec::new()
        }
        None => Vec::new(),
        Some(Value::Array(items)) => {
            if items.len() < min {
                problems.invalid(&place, format!("{name} needs at least {min} item(s)."));
            }
            items.iter().collect()
        }
        Some(_) => {
            problems.invalid(&place, format!("{name} repeats in R4: send it as a JSON array."));
            Vec::new()
        }
    }
}

/// A single complex element (a JSON object); `None` if absent (a problem if `required`).
pub(crate) fn object<'a>(problems: &mut Problems, parent: &'a Value, path: &str, name: &str, required: bool) -> Option<&'a Value> {
    let place = at(path, name);
    match member(parent, name) {
        None => {
            if required {
                problems.invalid(&place, format!("{name} is required."));
            }
            None
        }
        Some(value @ Value::Object(_)) => Some(value),
        Some(Value::Array(_)) => {
            problems.invalid(&place, format!("{name} does not repeat in R4: send one JSON object, not an array."));
            None
        }
        Some(_) => {
            problems.invalid(&place, format!("{name} must be a JSON object."));
            None
        }
    }
}

/// An R4 `string` (or `markdown`, `uri`): a JSON string that is not empty.
pub(crate) fn string<'a>(problems: &mut Problems, parent: &'a Value, path: &str, name: &str, required: bool) -> Option<&'a str> {
    let place = at(path, name);
    match member(parent, name) {
        None => {
            if required {
                problems.invalid(&place, format!("{name} is required."));
            }
            None
        }
        Some(Value::String(text)) if text.trim().is_empty() => {
            problems.invalid(&place, format!("{name} must not be empty (R4 strings have at least one non-whitespace character)."));
            None
        }
        Some(Value::String(text)) => Some(text),
        Some(_) => {
            problems.invalid(&place, format!("{name} must be a JSON string."));
            None
        }
    }
}

/// An R4 `code` bound (required strength) to `allowed`.
pub(crate) fn code<'a>(problems: &mut Problems, parent: &'a Value, path: &str, name: &str, allowed: &[&str], required: bool) -> Option<&'a str> {
    let text = string(problems, parent, path, name, required)?;
    if allowed.contains(&text) {
        Some(text)
    } else {
        problems.invalid(&at(path, name), format!("{text:?} is not in R4's value set for {name}: one of {}.", allowed.join(", ")));
        None
    }
}

/// An R4 `boolean`.
pub(crate) fn boolean(problems: &mut Problems, parent: &Value, path: &str, name: &str) -> Option<bool> {
    match member(parent, name) {
        None => None,
        Some(Value::Bool(value)) => Some(*value),
        Some(_) => {
            problems.invalid(&at(path, name), format!("{name} must be true or false."));
            None
        }
    }
}

/// An R4 `unsignedInt`.
pub(crate) fn unsigned_int(problems: &mut Problems, parent: &Value, path: &str, name: &str) -> Option<u64> {
    match member(parent, name) {
        None => None,
        Some(value) => match value.as_u64().filter(|number| *number <= i32::MAX as u64) {
            Some(number) => Some(number),
            None => {
                problems.invalid(&at(path, name), format!("{name} must be a whole number from 0 to 2147483647 (R4 unsignedInt)."));
                None
            }
        },
    }
}

/// An R4 `decimal`.
pub(crate) fn decimal(problems: &mut Problems, parent: &Value, path: &str, name: &str) -> Option<f64> {
    match member(parent, name) {
        None => None,
        Some(value) => match value.as_f64() {
            Some(number) if value.is_number() => Some(number),
            _ => {
                problems.invalid(&at(path, name), format!("{name} must be a JSON number (R4 decimal)."));
                None
            }
        },
    }
}

/// How much of a moment an R4 `date` or `dateTime` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    /// A year, or a year and month.
    Partial,
    /// A day.
    Date(NaiveDate),
    /// A time with its zone.
    Time(DateTime<Utc>),
}

impl Moment {
    /// The day (a time's UK day).
    pub(crate) fn day(self) -> Option<NaiveDate> {
        match self {
            Moment::Partial => None,
            Moment::Date(day) => Some(day),
            Moment::Time(time) => Some(uk_time::date(time)),
        }
    }
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// Parses R4 `dateTime` text: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or a time to the second with
/// its zone (`2026-11-21T08:00:00Z`, `2026-07-14T08:00:00+01:00`).
pub(crate) fn parse_date_time(text: &str) -> Option<Moment> {
    let bytes = text.as_bytes();
    let year_ok = text.get(..4).is_some_and(digits) && !text.starts_with("0000");
    let month_ok = || text.get(4..5) == Some("-") && text.get(5..7).is_some_and(|month| digits(month) && ("01"..="12").contains(&month));
    match bytes.len() {
        4 if year_ok => Some(Moment::Partial),
        7 if year_ok && month_ok() => Some(Moment::Partial),
        10 if year_ok && month_ok() && text.get(7..8) == Some("-") && text.get(8..10).is_some_and(digits) => {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Moment::Date)
        }
        length if length > 10 && year_ok && text.get(10..11) == Some("T") && text.get(..10).and_then(parse_date_time).is_some() => {
            // Seconds are required, and a zone with any time (R4's regex): RFC 3339 says the same.
            let zone = text.ends_with('Z') || text.len() >= 6 && matches!(text.get(text.len() - 6..text.len() - 5), Some("+" | "-"));
            let seconds = text.get(16..17) == Some(":");
            if !zone || !seconds {
                return None;
            }
            DateTime::parse_from_rfc3339(text).ok().map(|time| Moment::Time(time.with_timezone(&Utc)))
        }
        _ => None,
    }
}

/// An R4 `dateTime` (a `date` is one too).
pub(crate) fn date_time(problems: &mut Problems, parent: &Value, path: &str, name: &str, required: bool) -> Option<Moment> {
    let text = string(problems, parent, path, name, required)?;
    let moment = parse_date_time(text);
    if moment.is_none() {
        problems
            .invalid(&at(path, name), format!("{text:?} is not an R4 dateTime: YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a zone (Z or +hh:mm)."));
    }
    moment
}

/// An R4 `dateTime` carefront needs to the second: a partial one is R4 but not enough.
pub(crate) fn full_time(problems: &mut Problems, parent: &Value, path: &str, name: &str, required: bool) -> Option<DateTime<Utc>> {
    match date_time(problems, parent, path, name, required)? {
        Moment::Time(time) => Some(time),
        _ => {
            problems.unrecordable(&at(path, name), format!("{name} needs a time of day and zone here (YYYY-MM-DDThh:mm:ssZ), not only a date."));
            None
        }
    }
}

/// An R4 `instant`: always to the second, with a zone.
pub(crate) fn instant(problems: &mut Problems, parent: &Value, path: &str, name: &str, required: bool) -> Option<DateTime<Utc>> {
    let text = string(problems, parent, path, name, required)?;
    match parse_date_time(text) {
        Some(Moment::Time(time)) => Some(time),
        _ => {
            problems.invalid(&at(path, name), format!("{text:?} is not an R4 instant: YYYY-MM-DDThh:mm:ss with a zone (Z or +hh:mm)."));
            None
        }
    }
}

/// An R4 `time` (`hh:mm:ss`, a time of day with no zone: in the home, on its clocks).
pub(crate) fn time_of_day(problems: &mut Problems, value: &Value, place: &str) -> Option<NaiveTime> {
    let parsed = value
        .as_str()
        .filter(|text| text.len() >= 8 && text.get(2..3) == Some(":") && text.get(5..6) == Some(":"))
        .and_then(|text| NaiveTime::parse_from_str(text, "%H:%M:%S%.f").ok());
    if parsed.is_none() {
        problems.invalid(place, "This is not an R4 time: hh:mm:ss, a time of day on the clocks in the home.");
    }
    parsed
}

/// R4 `base64Binary`: standard base64 with padding.
pub(crate) fn base64(problems: &mut Problems, parent: &Value, path: &str, name: &str) -> Option<Vec<u8>> {
    let text = string(problems, parent, path, name, false)?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match STANDARD.decode(compact) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            problems.invalid(&at(path, name), format!("{name} is not base64 (R4 base64Binary: standard alphabet, with padding)."));
            None
        }
    }
}

/// The words of a `CodeableConcept`: its text, else its first coding's display.
pub(crate) fn concept_words(problems: &mut Problems, parent: &Value, path: &str, name: &str, required: bool) -> Option<String> {
    let concept = object(problems, parent, path, name, required)?;
    let place = at(path, name);
    let text = string(problems, concept, &place, "text", false).map(str::to_owned);
    let codings = list(problems, concept, &place, "coding", 0);
    let display = codings.first().and_then(|coding| string(problems, coding, &nth(&at(&place, "coding"), 0), "display", false)).map(str::to_owned);
    let words = text.or(display).map(|words| words.trim().to_owned());
    if words.is_none() && required {
        problems.unrecordable(&place, format!("{name} needs words carefront can show: give text, or a coding with a display."));
    }
    words
}

/// The codes of a `CodeableConcept` in `system`, checked against `allowed` (R4's required
/// bindings).
pub(crate) fn concept_code(problems: &mut Problems, parent: &Value, path: &str, name: &str, system: &str, allowed: &[&str]) -> Option<String> {
    let concept = object(problems, parent, path, name, false)?;
    let place = at(&at(path, name), "coding");
    let mut found = None;
    for (index, coding) in list(problems, concept, &at(path, name), "coding", 0).into_iter().enumerate() {
        let coding_path = nth(&place, index);
        if string(problems, coding, &coding_path, "system", false) == Some(system) {
            found = code(problems, coding, &coding_path, "code", allowed, true).map(str::to_owned);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r4_date_times_are_told_apart_from_everything_else() {
        assert_eq!(parse_date_time("2026"), Some(Moment::Partial));
        assert_eq!(parse_date_time("2026-07"), Some(Moment::Partial));
        assert_eq!(parse_date_time("2026-07-14"), NaiveDate::from_ymd_opt(2026, 7, 14).map(Moment::Date));
        let bst = parse_date_time("2026-07-14T08:00:00+01:00");
        assert_eq!(bst.and_then(Moment::day), NaiveDate::from_ymd_opt(2026, 7, 14));
        assert_eq!(bst, parse_date_time("2026-07-14T07:00:00Z"));
        assert!(parse_date_time("2026-07-14T07:00:00.250Z").is_some());
        for bad in
            ["14/07/2026", "2026-13", "2026-02-30", "2026-7-14", "2026-07-14T07:00Z", "2026-07-14T07:00:00", "2026-07-14 07:00:00Z", "0000", "", "20260714"]
        {
            assert_eq!(parse_date_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_of_day_have_seconds() {
        let mut problems = Problems::default();
        assert_eq!(time_of_day(&mut problems, &Value::from("08:00:00"), "t"), NaiveTime::from_hms_opt(8, 0, 0));
        assert_eq!(time_of_day(&mut problems, &Value::from("8:00"), "t"), None);
        assert_eq!(time_of_day(&mut problems, &Value::from("25:00:00"), "t"), None);
        assert_eq!(problems.count(), 2);
    }
}
