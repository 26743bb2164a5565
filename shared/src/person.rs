//! A person the council adds: their details checked field by field from what was typed (a form,
//! an API body or a CSV row all call [`NewPerson::validate`]), the NHS number with its check
//! digit, and the rules for who is likely the same person already.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Role;

/// The earliest date of birth accepted: anything before is a typing mistake.
const EARLIEST_BIRTH: (i32, u32, u32) = (1900, 1, 1);
/// The longest name, address or email kept (a value on a letter, not a document).
const LONGEST_NAME: usize = 200;
const LONGEST_ADDRESS: usize = 500;
const LONGEST_EMAIL: usize = 254;

/// An NHS number: 10 digits whose last is a modulus 11 check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NhsNumber(String);

/// Why text is not an NHS number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberProblem {
    /// It is not 10 digits (spaces and dashes aside).
    #[error("NHS number must be 10 digits")]
    NotTenDigits,
    /// Its last digit does not match the others: a typing mistake.
    #[error("Enter a valid NHS number")]
    CheckDigit,
}

impl NhsNumber {
    /// Parses "943 476 5919", "943-476-5919" or "9434765919".
    pub fn parse(text: &str) -> Result<NhsNumber, NhsNumberProblem> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if digits.len() != 10 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(NhsNumberProblem::NotTenDigits);
        }
        let values: Vec<u32> = digits.bytes().map(|byte| u32::from(byte - b'0')).collect();
        // Weights 10 down to 2 over the first nine digits; 11 means 0, 10 means no valid number.
        let sum: u32 = values.iter().take(9).zip((2..=10).rev()).map(|(digit, weight)| digit * weight).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(NhsNumberProblem::CheckDigit),
            check => check,
        };
        if values.get(9) != Some(&check) {
            return Err(NhsNumberProblem::CheckDigit);
        }
        Ok(NhsNumber(digits))
    }

    /// The 10 digits, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As people write it: "943 476 5919".
    pub fn spaced(&self) -> String {
        let (first, rest) = self.0.split_at(3);
        let (second, third) = rest.split_at(3);
        format!("{first} {second} {third}")
    }
}

impl TryFrom<String> for NhsNumber {
    type Error = NhsNumberProblem;

    fn try_from(text: String) -> Result<NhsNumber, NhsNumberProblem> {
        NhsNumber::parse(&text)
    }
}

impl From<NhsNumber> for String {
    fn from(number: NhsNumber) -> String {
        number.0
    }
}

impl std::fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spaced())
    }
}

/// Parses a UK date as people type it: "3/7/1941", "03-07-1941", "3 7 1941", "3.7.1941", or ISO
/// "1941-07-03" (what systems and spreadsheets send). Day first, four-digit year.
pub fn parse_uk_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date);
    }
    let parts: Vec<&str> = text.split(['/', '-', '.', ' ']).filter(|part| !part.is_empty()).collect();
    let [day, month, year] = parts.as_slice() else { return None };
    if year.len() != 4 || [day, month, year].iter().any(|part| !part.bytes().all(|byte| byte.is_ascii_digit())) {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

/// A UK postcode, upper case with one space before the last three characters ("SW1A 1AA").
pub fn parse_postcode(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect();
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let shape = |part: &str| {
        part.chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    '9'
                } else if c.is_ascii_alphabetic() {
                    'A'
                } else {
                    '?'
                }
            })
            .collect::<String>()
    };
    let outward_ok = ["A9", "A99", "AA9", "AA99", "A9A", "AA9A"].contains(&shape(outward).as_str());
    let inward_ok = shape(inward) == "9AA";
    (outward_ok && inward_ok).then(|| format!("{outward} {inward}"))
}

/// A UK telephone number: 10 or 11 digits starting 0, or the same after +44 / 0044 (spaces,
/// dashes and brackets allowed). Kept as typed, trimmed, so it reads as the person gave it.
pub fn parse_phone(text: &str) -> Option<String> {
    let text = text.trim();
    let kept: String = text.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')')).collect();
    let national = if let Some(rest) = kept.strip_prefix("+44").or_else(|| kept.strip_prefix("0044")) {
        // "+44 (0)113 …" is common: drop the optional 0 after the country code.
        format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
    } else {
        kept
    };
    let digits_only = national.bytes().all(|byte| byte.is_ascii_digit());
    (digits_only && national.starts_with('0') && (10..=11).contains(&national.len())).then(|| text.to_owned())
}

/// An email address in a plausible shape: something, one @, a domain with a dot, no spaces.
pub fn parse_email(text: &str) -> Option<String> {
    let text = text.trim();
    let (local, domain) = text.split_once('@')?;
    let plausible = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
        && text.len() <= LONGEST_EMAIL;
    plausible.then(|| text.to_owned())
}

/// One field that was not right, in the words the page shows beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name (`display_name`, `date_of_birth`, `nhs_number`, `address`, `postcode`,
    /// `phone`, `email`): the form's input id and the API's problem `field`.
    pub field: &'static str,
    /// What to do about it, GOV.UK style ("Enter their date of birth").
    pub message: String,
}

impl FieldError {
    /// An error for `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError { field, message: message.into() }
    }
}

/// A person's details as typed, before checking: every field text, empty when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonInput {
    /// Their full name.
    pub display_name: String,
    /// Their date of birth, UK style ("3/7/1941") or ISO.
    pub date_of_birth: String,
    /// Their NHS number, if known.
    pub nhs_number: String,
    /// Their address lines, one a line.
    pub address: String,
    /// Their postcode.
    pub postcode: String,
    /// Their telephone number.
    pub phone: String,
    /// Their email address.
    pub email: String,
}

/// A service user's details, checked: what the store adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPerson {
    /// Their full name, trimmed.
    pub display_name: String,
    /// Their date of birth.
    pub date_of_birth: NaiveDate,
    /// Their NHS number, when known (checked when given).
    pub nhs_number: Option<NhsNumber>,
    /// Address lines joined by newlines, without the postcode.
    pub address: Option<String>,
    /// Postcode, "LS1 4AP".
    pub postcode: Option<String>,
    /// Telephone number as given.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
}

fn optional(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

impl NewPerson {
    /// Checks every field of `input` (all of them, so a page can list every problem at once)
    /// against `now` (a date of birth cannot be in the future): the one check the portal's form,
    /// the API and a CSV import share.
    pub fn validate(input: &PersonInput, now: DateTime<Utc>) -> Result<NewPerson, Vec<FieldError>> {
        let mut errors = Vec::new();
        let display_name = input.display_name.split_whitespace().collect::<Vec<_>>().join(" ");
        if display_name.is_empty() {
            errors.push(FieldError::new("display_name", "Enter their full name"));
        } else if display_name.chars().count() > LONGEST_NAME {
            errors.push(FieldError::new("display_name", format!("Full name must be {LONGEST_NAME} characters or fewer")));
        }
        let date_of_birth = check_date_of_birth(&input.date_of_birth, now).map_err(|message| errors.push(FieldError::new("date_of_birth", message))).ok();
        let nhs_number = match optional(&input.nhs_number).map(NhsNumber::parse) {
            None => None,
            Some(Ok(number)) => Some(number),
            Some(Err(problem)) => {
                errors.push(FieldError::new("nhs_number", problem.to_string()));
                None
            }
        };
        let address = optional(&input.address).map(|text| text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join("\n"));
        if address.as_ref().is_some_and(|address| address.chars().count() > LONGEST_ADDRESS) {
            errors.push(FieldError::new("address", format!("Address must be {LONGEST_ADDRESS} characters or fewer")));
        }
        let postcode = checked(&mut errors, "postcode", &input.postcode, parse_postcode, "Enter a real postcode, like LS1 4AP");
        let phone = checked(&mut errors, "phone", &input.phone, parse_phone, "Enter a UK telephone number, like 01632 960 001 or 07700 900 982");
        let email = checked(&mut errors, "email", &input.email, parse_email, "Enter an email address in the correct format, like name@example.com");
        match (errors.is_empty(), date_of_birth) {
            (true, Some(date_of_birth)) => Ok(NewPerson { display_name, date_of_birth, nhs_number, address, postcode, phone, email }),
            _ => Err(errors),
        }
    }
}

fn checked(errors: &mut Vec<FieldError>, field: &'static str, text: &str, parse: fn(&str) -> Option<String>, message: &str) -> Option<String> {
    let text = optional(text)?;
    let parsed = parse(text);
    if parsed.is_none() {
        errors.push(FieldError::new(field, message));
    }
    parsed
}

fn check_date_of_birth(text: &str, now: DateTime<Utc>) -> Result<NaiveDate, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter their date of birth".into());
    }
    let date = parse_uk_date(text).ok_or("Date of birth must be a real date, like 27 3 1941")?;
    let (year, month, day) = EARLIEST_BIRTH;
    if NaiveDate::from_ymd_opt(year, month, day).is_some_and(|earliest| date < earliest) {
        return Err("Date of birth must be on or after 1 January 1900".into());
    }
    // Today in the UK is at most a day from today in UTC; a birth "tomorrow" in UTC is refused.
    if date > now.date_naive() {
        return Err("Date of birth must be in the past".into());
    }
    Ok(date)
}

/// What the store returns about a person: who they are and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonDetails {
    /// Stable identifier.
    pub id: String,
    /// Service user, representative or staff.
    pub role: Role,
    /// Their full name.
    pub display_name: String,
    /// Their date of birth, if recorded.
    pub date_of_birth: Option<NaiveDate>,
    /// Their NHS number, if recorded.
    pub nhs_number: Option<NhsNumber>,
    /// Address lines joined by newlines.
    pub address: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Telephone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Whether they have a passkey (have enrolled from an invitation).
    pub enrolled: bool,
    /// When they were added.
    pub created_at: DateTime<Utc>,
}

impl PersonDetails {
    /// The date of birth as the pages write it: "3 July 1941".
    pub fn date_of_birth_text(&self) -> Option<String> {
        self.date_of_birth.map(|date| format!("{} {}", date.day(), date.format("%B %Y")))
    }
}

/// What one search box asks for: an NHS number, a date of birth, or part of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonQuery {
    /// 10 digits (the check digit is not required: a search for a mistyped number finds no one).
    NhsNumber(String),
    /// A date, UK style or ISO.
    DateOfBirth(NaiveDate),
    /// Part of their name (case does not matter).
    Name(String),
}

impl PersonQuery {
    /// Reads the search box; `None` if it is empty.
    pub fn parse(text: &str) -> Option<PersonQuery> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return None;
        }
        let digits: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if digits.len() == 10 && digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Some(PersonQuery::NhsNumber(digits));
        }
        if let Some(date) = parse_uk_date(&text) {
            return Some(PersonQuery::DateOfBirth(date));
        }
        Some(PersonQuery::Name(text))
    }
}

/// Why someone already held looks like the person being added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Likeness {
    /// The same NHS number: the same person, so adding them again is refused.
    SameNhsNumber,
    /// The same date of birth and the same full name (ignoring case, spaces and punctuation).
    SameBirthAndName,
    /// The same date of birth and the same surname.
    SameBirthAndSurname,
}

impl Likeness {
    /// Whether this likeness refuses the new person outright (not just a warning).
    pub fn refuses(self) -> bool {
        self == Likeness::SameNhsNumber
    }

    /// Why, in the words the page shows.
    pub fn reason(self) -> &'static str {
        match self {
            Likeness::SameNhsNumber => "same NHS number",
            Likeness::SameBirthAndName => "same name and date of birth",
            Likeness::SameBirthAndSurname => "same surname and date of birth",
        }
    }
}

/// Someone already held who may be the person being added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LikelyDuplicate {
    /// Who they are.
    pub person: PersonDetails,
    /// Why they look the same.
    pub likeness: Likeness,
}

/// A name compared for likeness: lower case letters and digits, single spaces ("O'Brien" and
/// "o brien" differ, "Mary-Ann  Smith" and "mary ann smith" do not).
pub fn normalised_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else if c == '\'' || c == '’' {
                '\0'
            } else {
                ' '
            }
        })
        .filter(|c| *c != '\0')
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last word of a normalised name.
pub fn surname(name: &str) -> Option<String> {
    normalised_name(name).split(' ').next_back().filter(|word| !word.is_empty()).map(str::to_owned)
}

/// Which of `candidates` are likely the same person as `new`, most telling first: the same NHS
/// number refuses; the same date of birth with the same full or surname warns.
pub fn likely_duplicates(new: &NewPerson, candidates: &[PersonDetails]) -> Vec<LikelyDuplicate> {
    let name = normalised_name(&new.display_name);
    let family = surname(&new.display_name);
    let mut found: Vec<LikelyDuplicate> = candidates
        .iter()
        .filter_map(|candidate| {
            let likeness = if new.nhs_number.is_some() && candidate.nhs_number == new.nhs_number {
                Likeness::SameNhsNumber
            } else if candidate.date_of_birth != Some(new.date_of_birth) {
                return None;
            } else if normalised_name(&candidate.display_name) == name {
                Likeness::SameBirthAndName
            } else if family.is_some() && surname(&candidate.display_name) == family {
                Likeness::SameBirthAndSurname
            } else {
                return None;
            };
            Some(LikelyDuplicate { person: candidate.clone(), likeness })
        })
        .collect();
    found.sort_by_key(|duplicate| match duplicate.likeness {
        Likeness::SameNhsNumber => 0,
        Likeness::SameBirthAndName => 1,
        Likeness::SameBirthAndSurname => 2,
    });
    found
}

/// The duplicate that refuses the new person, if any (the same NHS number).
pub fn refusal(duplicates: &[LikelyDuplicate]) -> Option<&LikelyDuplicate> {
    duplicates.iter().find(|duplicate| duplicate.likeness.refuses())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn margaret() -> PersonInput {
        PersonInput {
            display_name: "  Margaret   Okafor ".into(),
            date_of_birth: "3/7/1941".into(),
            nhs_number: "943 476 5919".into(),
            address: "12 Mill Lane\n\n  Leeds ".into(),
            postcode: "ls1 4ap".into(),
            phone: "0113 496 0000".into(),
            email: "margaret@example.com".into(),
        }
    }

    fn held(id: &str, name: &str, born: &str, nhs: Option<&str>) -> PersonDetails {
        PersonDetails {
            id: id.into(),
            role: Role::ServiceUser,
            display_name: name.into(),
            date_of_birth: parse_uk_date(born),
            nhs_number: nhs.map(|number| NhsNumber::parse(number).unwrap()),
            address: None,
            postcode: None,
            phone: None,
            email: None,
            enrolled: false,
            created_at: now(),
        }
    }

    #[test]
    fn valid_nhs_numbers_are_accepted_with_or_without_spaces() {
        for text in ["943 476 5919", "9434765919", "943-476-5919", "401 023 2137"] {
            let number = NhsNumber::parse(text).unwrap_or_else(|problem| panic!("{text}: {problem}"));
            assert_eq!(number.as_str().len(), 10);
        }
        assert_eq!(NhsNumber::parse("9434765919").unwrap().spaced(), "943 476 5919");
    }

    #[test]
    fn a_check_digit_of_eleven_is_zero() {
        // Nine zeros: sum 0, 11 - 0 = 11, which is written 0.
        assert_eq!(NhsNumber::parse("0000000000").map(String::from), Ok("0000000000".to_owned()));
        // 200000001: 2×10 + 1×2 = 22 = 2×11 → 11 → check digit 0.
        assert_eq!(NhsNumber::parse("200 000 0010").map(String::from), Ok("2000000010".to_owned()));
    }

    #[test]
    fn invalid_nhs_numbers_are_refused_with_the_reason() {
        assert_eq!(NhsNumber::parse("943 476 5918"), Err(NhsNumberProblem::CheckDigit));
        assert_eq!(NhsNumber::parse("943 476 591"), Err(NhsNumberProblem::NotTenDigits));
        assert_eq!(NhsNumber::parse("943 476 59190"), Err(NhsNumberProblem::NotTenDigits));
        assert_eq!(NhsNumber::parse("943 476 591X"), Err(NhsNumberProblem::NotTenDigits));
        assert_eq!(NhsNumber::parse(""), Err(NhsNumberProblem::NotTenDigits));
        // 000000006: 6×2 = 12, 12 mod 11 = 1, 11 - 1 = 10: no check digit makes it valid.
        for check in 0..=9 {
            assert_eq!(NhsNumber::parse(&format!("000000006{check}")), Err(NhsNumberProblem::CheckDigit), "a check digit of 10 has no valid number");
        }
    }

    #[test]
    fn uk_dates_are_read_day_first() {
        let july = NaiveDate::from_ymd_opt(1941, 7, 3);
        for text in ["3/7/1941", "03/07/1941", "3-7-1941", "3 7 1941", "3.7.1941", "1941-07-03", " 3/7/1941 "] {
            assert_eq!(parse_uk_date(text), july, "{text}");
        }
        for text in ["31/2/1941", "3/7/41", "1941", "July 1941", "3/7/1941/2", ""] {
            assert_eq!(parse_uk_date(text), None, "{text}");
        }
    }

    #[test]
    fn postcodes_phones_and_emails() {
        assert_eq!(parse_postcode("ls1 4ap").as_deref(), Some("LS1 4AP"));
        assert_eq!(parse_postcode("SW1A1AA").as_deref(), Some("SW1A 1AA"));
        assert_eq!(parse_postcode("M1 1AE").as_deref(), Some("M1 1AE"));
        assert_eq!(parse_postcode("B33 8TH").as_deref(), Some("B33 8TH"));
        assert_eq!(parse_postcode("W1A 0AX").as_deref(), Some("W1A 0AX"));
        for bad in ["LS1", "12345", "LS1 4A", "LSS1 4AP", "1S1 4AP", "LS1 AAP"] {
            assert_eq!(parse_postcode(bad), None, "{bad}");
        }
        for good in ["0113 496 0000", "07700 900982", "+44 7700 900982", "+44 (0)113 496 0000", "0044 113 496 0000", "(0113) 496-0000"] {
            assert!(parse_phone(good).is_some(), "{good}");
        }
        for bad in ["113 496 0000", "0113 496", "0113 496 0000 00", "phone me", "+1 555 0100"] {
            assert_eq!(parse_phone(bad), None, "{bad}");
        }
        assert!(parse_email("name@example.com").is_some());
        for bad in ["name", "name@", "@example.com", "name@example", "na me@example.com", "a@b@c.com", "name@.com"] {
            assert_eq!(parse_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_whole_person_is_checked_and_tidied() {
        let person = NewPerson::validate(&margaret(), now()).unwrap();
        assert_eq!(person.display_name, "Margaret Okafor");
        assert_eq!(person.date_of_birth, NaiveDate::from_ymd_opt(1941, 7, 3).unwrap());
        assert_eq!(person.nhs_number.as_ref().map(NhsNumber::as_str), Some("9434765919"));
        assert_eq!(person.address.as_deref(), Some("12 Mill Lane\nLeeds"));
        assert_eq!(person.postcode.as_deref(), Some("LS1 4AP"));
        let minimal = PersonInput { display_name: "Ada Lovelace".into(), date_of_birth: "1941-07-03".into(), ..PersonInput::default() };
        let ada = NewPerson::validate(&minimal, now()).unwrap();
        assert_eq!((ada.nhs_number, ada.address, ada.postcode, ada.phone, ada.email), (None, None, None, None, None));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let input = PersonInput {
            display_name: "   ".into(),
            date_of_birth: "31/2/1941".into(),
            nhs_number: "943 476 5918".into(),
            address: String::new(),
            postcode: "nowhere".into(),
            phone: "12".into(),
            email: "margaret".into(),
        };
        let errors = NewPerson::validate(&input, now()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|error| error.field).collect();
        assert_eq!(fields, ["display_name", "date_of_birth", "nhs_number", "postcode", "phone", "email"]);
        assert_eq!(errors[0].message, "Enter their full name");
        assert_eq!(errors[2].message, "Enter a valid NHS number");
    }

    #[test]
    fn a_date_of_birth_is_past_and_after_1900() {
        let check = |text: &str| NewPerson::validate(&PersonInput { date_of_birth: text.into(), ..margaret() }, now()).map(|person| person.date_of_birth);
        assert!(check("30/11/2026").is_ok(), "born today");
        let future = check("1/12/2026").unwrap_err();
        assert_eq!(future, [FieldError::new("date_of_birth", "Date of birth must be in the past")]);
        assert!(check("1/1/1900").is_ok());
        assert_eq!(check("31/12/1899").unwrap_err()[0].message, "Date of birth must be on or after 1 January 1900");
        assert_eq!(check("").unwrap_err()[0].message, "Enter their date of birth");
    }

    #[test]
    fn the_search_box_reads_nhs_numbers_dates_and_names() {
        assert_eq!(PersonQuery::parse("943 476 5919"), Some(PersonQuery::NhsNumber("9434765919".into())));
        assert_eq!(PersonQuery::parse("3/7/1941"), NaiveDate::from_ymd_opt(1941, 7, 3).map(PersonQuery::DateOfBirth));
        assert_eq!(PersonQuery::parse("  okafor "), Some(PersonQuery::Name("okafor".into())));
        assert_eq!(PersonQuery::parse("  "), None);
    }

    #[test]
    fn duplicates_by_nhs_number_refuse_and_by_birth_and_name_warn() {
        let new = NewPerson::validate(&margaret(), now()).unwrap();
        let candidates = [
            held("other", "Someone Else", "1/1/1950", Some("9434765919")),
            held("same-name", "margaret  OKAFOR", "3/7/1941", None),
            held("same-surname", "Peter Okafor", "3/7/1941", None),
            held("other-birthday", "Margaret Okafor", "4/7/1941", None),
            held("unrelated", "Peter Smith", "3/7/1941", None),
        ];
        let found = likely_duplicates(&new, &candidates);
        let summary: Vec<(&str, Likeness)> = found.iter().map(|duplicate| (duplicate.person.id.as_str(), duplicate.likeness)).collect();
        assert_eq!(summary, [("other", Likeness::SameNhsNumber), ("same-name", Likeness::SameBirthAndName), ("same-surname", Likeness::SameBirthAndSurname)]);
        assert_eq!(refusal(&found).map(|duplicate| duplicate.person.id.as_str()), Some("other"));
        let without_number = NewPerson { nhs_number: None, ..new };
        let warnings = likely_duplicates(&without_number, &candidates);
        assert!(refusal(&warnings).is_none());
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn names_are_compared_without_case_spacing_or_punctuation() {
        assert_eq!(normalised_name("  Mary-Ann   O'Brien "), "mary ann obrien");
        assert_eq!(surname("Mary-Ann O’Brien").as_deref(), Some("obrien"));
        assert_eq!(surname("  "), None);
    }
}
