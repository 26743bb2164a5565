//! A council moving its caseload into carefront: a CSV file of people, checked row by row with
//! the same checks as the portal's "Add a person" form, then added all together in one plan, or
//! not at all. `carefront-admin import` and `POST /api/v1/people/import` share it.

use crate::store::SqlStore;
use crate::store::prelude::*;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::person::{self, NewPerson, PersonDetails, PersonInput};
use crate::plan::{Plan, Recorder};
use crate::random::Random;
use crate::store::{Store, StoreError};
use crate::{db::DbError, onboarding};

/// The columns an import file may have, each with the other names councils' systems give it.
const COLUMNS: &[(&str, &[&str])] = &[
    ("display_name", &["name", "full_name", "full name", "display_name"]),
    ("date_of_birth", &["date_of_birth", "date of birth", "dob", "birth_date"]),
    ("nhs_number", &["nhs_number", "nhs number", "nhs_no", "nhs no"]),
    ("address", &["address"]),
    ("postcode", &["postcode", "post code"]),
    ("phone", &["phone", "telephone", "phone number"]),
    ("email", &["email", "email address"]),
];

/// Why a whole file cannot be read (a row's own problems are [`RejectedRow`]s instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    /// The file has no header row.
    #[error("The file is empty: its first line must name the columns, like name,date_of_birth,nhs_number")]
    Empty,
    /// A column carefront does not know.
    #[error("Column {0:?} is not one carefront knows: use name, date_of_birth, nhs_number, address, postcode, phone and email")]
    UnknownColumn(String),
    /// The same column twice.
    #[error("Column {0:?} is in the file twice")]
    RepeatedColumn(String),
    /// A column every row needs is missing.
    #[error("The file needs a {0} column")]
    MissingColumn(&'static str),
    /// Not CSV that can be read (bad quoting, not UTF-8).
    #[error("Line {line} cannot be read as CSV: {reason}")]
    Unreadable {
        /// The line in the file, counting the header as line 1.
        line: u64,
        /// What was wrong, from the CSV reader.
        reason: String,
    },
    /// More rows than one import takes.
    #[error("The file has more than {0} people: split it into smaller files")]
    TooManyRows(usize),
    /// A header but no people.
    #[error("The file has no people in it, only the line naming the columns")]
    NoRows,
}

/// One row of the file as typed, with its line number (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Its line in the file.
    pub line: u64,
    /// Its fields.
    pub input: PersonInput,
}

/// A row that will not be added, and why (one entry per problem, so a row may have several).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    /// The field at fault (`display_name`, `date_of_birth`, `nhs_number`, …).
    pub field: &'static str,
    /// What is wrong, in the words the report shows.
    pub message: String,
}

/// One person the import added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedPerson {
    /// Their line in the file.
    pub line: u64,
    /// Their new id.
    pub id: String,
    /// Their name as added.
    pub display_name: String,
}

/// What became of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Every row was added, in one plan.
    Imported(Vec<ImportedPerson>),
    /// At least one row was not right, so nothing was added: every problem, by line.
    Rejected(Vec<RejectedRow>),
}

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file itself is not right.
    #[error(transparent)]
    File(#[from] FileProblem),
    /// The store failed; nothing was added.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

/// Reads `text` (CSV with a header row) into rows, at most `limit` of them.
pub fn read(text: &str, limit: usize) -> Result<Vec<ImportRow>, FileProblem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text); // Excel writes a byte order mark
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|error| unreadable(&error))?.clone();
    if headers.iter().all(str::is_empty) {
        return Err(FileProblem::Empty);
    }
    let mut positions: Vec<&'static str> = Vec::with_capacity(headers.len());
    for header in &headers {
        let wanted = header.to_lowercase();
        let field = COLUMNS
            .iter()
            .find(|(_, names)| names.contains(&wanted.as_str()))
            .map(|(field, _)| *field)
            .ok_or_else(|| FileProblem::UnknownColumn(header.to_owned()))?;
        if positions.contains(&field) {
            return Err(FileProblem::RepeatedColumn(header.to_owned()));
        }
        positions.push(field);
    }
    for required in ["display_name", "date_of_birth"] {
        if !positions.contains(&required) {
            return Err(FileProblem::MissingColumn(if required == "display_name" { "name" } else { required }));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| unreadable(&error))?;
        if record.iter().all(str::is_empty) {
            continue; // a blank line at the end of a spreadsheet's export
        }
        if rows.len() == limit {
            return Err(FileProblem::TooManyRows(limit));
        }
        let mut input = PersonInput::default();
        for (field, value) in positions.iter().zip(record.iter()) {
            let slot = match *field {
                "display_name" => &mut input.display_name,
                "date_of_birth" => &mut input.date_of_birth,
                "nhs_number" => &mut input.nhs_number,
                "address" => &mut input.address,
                "postcode" => &mut input.postcode,
                "phone" => &mut input.phone,
                _ => &mut input.email,
            };
            // Address lines may come as one cell with line breaks or separated by semicolons.
            *slot = if *field == "address" { value.replace(';', "\n") } else { value.to_owned() };
        }
        rows.push(ImportRow { line: record.position().map_or(0, |position| position.line()), input });
    }
    if rows.is_empty() {
        return Err(FileProblem::NoRows);
    }
    Ok(rows)
}

fn unreadable(error: &csv::Error) -> FileProblem {
    let line = error.position().map_or(1, csv::Position::line);
    let reason = match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!("it has {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "it is not UTF-8 text (save the file as CSV UTF-8)".to_owned(),
        _ => error.to_string(),
    };
    FileProblem::Unreadable { line, reason }
}

/// Checks every row: each field as the portal's form does, the same person twice in the file,
/// and anyone in `held` (people already in carefront) who is likely the same person. Rows with no
/// problem come back as `Ok`, in file order.
pub fn check(rows: &[ImportRow], held: &[PersonDetails], now: DateTime<Utc>) -> Result<Vec<(u64, NewPerson)>, Vec<RejectedRow>> {
    let mut rejected = Vec::new();
    let mut accepted = Vec::new();
    let mut by_birth: HashMap<NaiveDate, Vec<PersonDetails>> = HashMap::new();
    let mut by_number: HashMap<String, PersonDetails> = HashMap::new();
    for person in held {
        if let Some(date) = person.date_of_birth {
            by_birth.entry(date).or_default().push(person.clone());
        }
        if let Some(number) = &person.nhs_number {
            by_number.insert(number.as_str().to_owned(), person.clone());
        }
    }
    // Earlier rows of the file, for "the same person twice".
    let mut numbers_in_file: HashMap<String, u64> = HashMap::new();
    let mut names_in_file: HashMap<(NaiveDate, String), u64> = HashMap::new();
    for row in rows {
        let new = match NewPerson::validate(&row.input, now) {
            Ok(new) => new,
            Err(errors) => {
                rejected.extend(errors.into_iter().map(|error| RejectedRow { line: row.line, field: error.field, message: error.message }));
                continue;
            }
        };
        let mut problems = Vec::new();
        if let Some(number) = &new.nhs_number
            && let Some(first) = numbers_in_file.get(number.as_str())
        {
            problems.push(("nhs_number", format!("NHS number is also on line {first}")));
        } else if let Some(number) = &new.nhs_number {
            numbers_in_file.insert(number.as_str().to_owned(), row.line);
        }
        let name_key = (new.date_of_birth, person::normalised_name(&new.display_name));
        match names_in_file.get(&name_key) {
            Some(first) => problems
                .push(("display_name", format!("Same name and date of birth as line {first}: if they are different people, add this one on the portal"))),
            None => {
                names_in_file.insert(name_key, row.line);
            }
        }
        let mut candidates: Vec<PersonDetails> = by_birth.get(&new.date_of_birth).cloned().unwrap_or_default();
        if let Some(holder) = new.nhs_number.as_ref().and_then(|number| by_number.get(number.as_str())) {
            candidates.push(holder.clone());
        }
        if let Some(duplicate) =
            person::likely_duplicates(&new, &candidates).into_iter().find(|duplicate| duplicate.likeness != person::Likeness::SameBirthAndSurname)
        {
            let field = if duplicate.likeness.refuses() { "nhs_number" } else { "display_name" };
            problems.push((
                field,
                format!(
                    "{} is already in carefront ({}): if they are different people, add this one on the portal",
                    duplicate.person.display_name,
                    duplicate.likeness.reason()
                ),
            ));
        }
        if problems.is_empty() {
            accepted.push((row.line, new));
        } else {
            rejected.extend(problems.into_iter().map(|(field, message)| RejectedRow { line: row.line, field, message }));
        }
    }
    if rejected.is_empty() { Ok(accepted) } else { Err(rejected) }
}

/// Who imports, for which council, and how many rows they may send at once.
#[derive(Debug, Clone, Copy)]
pub struct ImportBy<'a> {
    /// The council whose caseload it is (it gets statutory access to each person's record).
    pub council_id: &'a str,
    /// Who is importing: a member of staff, `credential:…`, or `carefront-admin`.
    pub actor_id: &'a str,
    /// The most rows one import takes.
    pub limit: usize,
}

/// An import ready to apply, or the reasons it cannot be.
#[derive(Debug)]
pub enum Prepared {
    /// Every row is right: the plan adds them all (apply it, with anything else that belongs in
    /// the same batch, such as an API request's idempotency claim).
    Ready {
        /// The statements adding everyone.
        plan: Plan,
        /// Who the plan adds, by line.
        people: Vec<ImportedPerson>,
    },
    /// At least one row is not right, so nothing may be added: every problem, by line.
    Rejected(Vec<RejectedRow>),
}

/// The id of the person on `line` of the import `import_id`: the same file imported under the
/// same id names the same people, so a retried request can say whom it added.
pub fn person_id(import_id: &str, line: u64) -> String {
    format!("{import_id}-{line}")
}

/// Reads and checks `text` against the people already held, and plans adding everyone on it for
/// the council `council_id`, as `actor_id`.
pub async fn prepare(
    store: &SqlStore<'_>,
    text: &str,
    by: &ImportBy<'_>,
    import_id: &str,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Prepared, ImportError> {
    let rows = read(text, by.limit)?;
    let held = held(store, &rows).await?;
    let accepted = match check(&rows, &held, now) {
        Ok(accepted) => accepted,
        Err(rejected) => return Ok(Prepared::Rejected(rejected)),
    };
    let recorder = Recorder::new();
    let mut people = Vec::with_capacity(accepted.len());
    for (line, new) in &accepted {
        let added = onboarding::add_service_user_as(&recorder.store(), person_id(import_id, *line), new, by.council_id, by.actor_id, now, random).await?;
        people.push(ImportedPerson { line: *line, id: added.person.id, display_name: added.person.display_name });
    }
    Ok(Prepared::Ready { plan: recorder.into_plan(), people })
}

/// Everyone already held whom a row of `rows` could duplicate.
pub async fn held(store: &SqlStore<'_>, rows: &[ImportRow]) -> Result<Vec<PersonDetails>, StoreError> {
    let numbers: Vec<String> =
        rows.iter().filter_map(|row| person::NhsNumber::parse(&row.input.nhs_number).ok()).map(|number| number.as_str().to_owned()).collect();
    let births: Vec<NaiveDate> = rows.iter().filter_map(|row| person::parse_uk_date(row.input.date_of_birth.trim())).collect();
    store.people_matching(&numbers, &births).await
}

/// Reads, checks and adds the people in `text` for the council `council_id`, as `actor_id`: all
/// of them in one plan, or — when any row has a problem — none, with every problem listed.
pub async fn import(store: &SqlStore<'_>, text: &str, by: &ImportBy<'_>, now: DateTime<Utc>, random: &dyn Random) -> Result<ImportOutcome, ImportError> {
    let import_id = crate::random::new_id(random);
    let (plan, people) = match prepare(store, text, by, &import_id, now, random).await? {
        Prepared::Ready { plan, people } => (plan, people),
        Prepared::Rejected(rejected) => return Ok(ImportOutcome::Rejected(rejected)),
    };
    match store.apply(&plan).await {
        Ok(()) => Ok(ImportOutcome::Imported(people)),
        // Someone added one of these NHS numbers between the check and the plan: the plan is
        // undone whole; checking again reports who.
        Err(DbError::Constraint(_)) => {
            let rows = read(text, by.limit)?;
            let held = held(store, &rows).await?;
            Ok(ImportOutcome::Rejected(check(&rows, &held, now).err().unwrap_or_default()))
        }
        Err(error) => Err(error.into()),
    }
}

/// The rejected rows grouped by line, for a report: each line once, its problems in order.
pub fn by_line(rejected: &[RejectedRow]) -> BTreeMap<u64, Vec<&RejectedRow>> {
    let mut lines: BTreeMap<u64, Vec<&RejectedRow>> = BTreeMap::new();
    for row in rejected {
        lines.entry(row.line).or_default().push(row);
    }
    lines
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).single().unwrap_or_default()
    }

    #[test]
    fn columns_may_come_in_any_order_under_their_common_names() {
        let rows = read("DOB,Full Name,NHS Number\n3/7/1941,Margaret Okafor,943 476 5919\n", 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].input.display_name, "Margaret Okafor");
        assert_eq!(rows[0].input.date_of_birth, "3/7/1941");
        assert_eq!(rows[0].input.nhs_number, "943 476 5919");
    }

    #[test]
    fn a_file_that_cannot_be_read_says_why() {
        assert_eq!(read("", 10), Err(FileProblem::Empty));
        assert_eq!(read("name,shoe_size\n", 10), Err(FileProblem::UnknownColumn("shoe_size".into())));
        assert_eq!(read("name,dob,Date of birth\n", 10), Err(FileProblem::RepeatedColumn("Date of birth".into())));
        assert_eq!(read("name,nhs_number\nA,1\n", 10), Err(FileProblem::MissingColumn("date_of_birth")));
        assert_eq!(read("name,dob\n", 10), Err(FileProblem::NoRows));
        assert!(matches!(read("name,dob\nA,1/1/1950,extra\n", 10), Err(FileProblem::Unreadable { line: 2, .. })));
        assert_eq!(read("name,dob\nA,1/1/1950\nB,1/1/1950\nC,1/1/1950\n", 2), Err(FileProblem::TooManyRows(2)));
    }

    #[test]
    fn quoted_addresses_keep_their_lines() {
        let rows = read("name,dob,address\n\"Okafor, Margaret\",3/7/1941,\"1 High Street\nLeeds\"\nArthur Jenkins,1/2/1938,2 Low Road; Otley\n", 10).unwrap();
        assert_eq!(rows[0].input.display_name, "Okafor, Margaret");
        assert_eq!(rows[0].input.address, "1 High Street\nLeeds");
        assert_eq!(rows[1].line, 4, "the quoted line break counts as a line of the file");
        assert_eq!(rows[1].input.address, "2 Low Road\n Otley");
    }

    #[test]
    fn every_problem_of_every_row_is_reported_by_line_and_field() {
        let rows = read(
            "name,dob,nhs_number\nMargaret Okafor,3/7/1941,943 476 5919\n,31/2/1950,123\nArthur Jenkins,1/2/1938,943 476 5919\nmargaret okafor,3/7/1941,\n",
            10,
        )
        .unwrap();
        let rejected = check(&rows, &[], now()).unwrap_err();
        let found: Vec<(u64, &str)> = rejected.iter().map(|row| (row.line, row.field)).collect();
        assert_eq!(found, [(3, "display_name"), (3, "date_of_birth"), (3, "nhs_number"), (4, "nhs_number"), (5, "display_name")]);
        assert!(rejected[3].message.contains("line 2"), "{:?}", rejected[3]);
        assert!(rejected[4].message.contains("line 2"), "{:?}", rejected[4]);
    }

    #[test]
    fn someone_already_held_is_not_added_again() {
        let rows = read("name,dob,nhs_number\nMargaret Okafor,3/7/1941,943 476 5919\nArthur Jenkins,1/2/1938,\n", 10).unwrap();
        let held = |name: &str, born: NaiveDate, number: Option<&str>| PersonDetails {
            id: format!("held-{name}"),
            role: crate::domain::Role::ServiceUser,
            display_name: name.into(),
            date_of_birth: Some(born),
            nhs_number: number.and_then(|number| person::NhsNumber::parse(number).ok()),
            address: None,
            postcode: None,
            phone: None,
            email: None,
            enrolled: false,
            created_at: now(),
        };
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let rejected =
            check(&rows, &[held("Maggie Okafor", date(1950, 1, 1), Some("9434765919")), held("Arthur Jenkins", date(1938, 2, 1), None)], now()).unwrap_err();
        assert_eq!(rejected.len(), 2);
        assert_eq!((rejected[0].line, rejected[0].field), (2, "nhs_number"));
        assert!(rejected[0].message.starts_with("Maggie Okafor is already in carefront (same NHS number)"));
        assert_eq!((rejected[1].line, rejected[1].field), (3, "display_name"));
        // The same surname and birthday alone is no reason to refuse a caseload's row.
        let rows = read("name,dob\nJoan Jenkins,1/2/1938\n", 10).unwrap();
        assert!(check(&rows, &[held("Arthur Jenkins", date(1938, 2, 1), None)], now()).is_ok());
    }
}
