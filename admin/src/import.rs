//! `carefront-admin import`: a council's caseload from a CSV file into a store (SQLite or PostgreSQL), all of it
//! in one transaction or none of it, with a report of every row that is not right.

use std::path::PathBuf;

use crate::address::Address;

use carefront_shared::domain::OrganisationKind;
use carefront_shared::import::{self, ImportOutcome};
use carefront_shared::random::Random;
use carefront_shared::store::{SqlStore, Store as _};
use chrono::{DateTime, Utc};

/// The most people one command adds (a whole county's caseload).
const MOST_ROWS: usize = 200_000;

/// The parsed arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct ImportArgs {
    file: PathBuf,
    database: Address,
    council: Option<String>,
    check_only: bool,
}

pub fn parse(args: &[String], usage: &str) -> Result<ImportArgs, String> {
    let (mut file, mut database, mut council, mut check_only) = (None, None, None, false);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().cloned().ok_or_else(|| format!("{arg} needs a value\n{usage}"));
        match arg.as_str() {
            "--database" => database = Some(Address::parse(&value()?)?),
            "--council" => council = Some(value()?),
            "--check" => check_only = true,
            other if other.starts_with("--") => return Err(format!("unknown option {other}\n{usage}")),
            path if file.is_none() => file = Some(PathBuf::from(path)),
            extra => return Err(format!("one file at a time: {extra}\n{usage}")),
        }
    }
    Ok(ImportArgs {
        file: file.ok_or_else(|| format!("name the CSV file to import\n{usage}"))?,
        database: database.ok_or_else(|| format!("--database is required\n{usage}"))?,
        council,
        check_only,
    })
}

/// Runs the import and prints its report; an error (nothing added) when any row is not right.
pub fn run(args: &ImportArgs, now: DateTime<Utc>, random: &dyn Random) -> Result<(), String> {
    let text = std::fs::read(&args.file).map_err(|error| format!("cannot read {}: {error}", args.file.display()))?;
    let text = String::from_utf8(text).map_err(|_| format!("{} is not UTF-8 text: save it as CSV UTF-8", args.file.display()))?;
    let database = args.database.open_existing()?;
    let store = SqlStore::new(&database);
    let council = council(&store, args.council.as_deref())?;
    if args.check_only {
        let rows = import::read(&text, MOST_ROWS).map_err(|problem| problem.to_string())?;
        let held = pollster::block_on(import::held(&store, &rows)).map_err(|error| error.to_string())?;
        return match import::check(&rows, &held, now) {
            Ok(accepted) => {
                println!("All {} people can be imported. Nothing was added (--check).", accepted.len());
                Ok(())
            }
            Err(rejected) => Err(report(&rejected)),
        };
    }
    let outcome = pollster::block_on(import::import(
        &store,
        &text,
        &import::ImportBy { council_id: &council, actor_id: "carefront-admin", limit: MOST_ROWS },
        now,
        random,
    ))
    .map_err(|error| error.to_string())?;
    match outcome {
        ImportOutcome::Imported(people) => {
            println!("Imported {} people into {}. Each is in their access log as added by the council.", people.len(), args.database.shown());
            println!("Invite them from the council's pages (Not enrolled yet).");
            Ok(())
        }
        ImportOutcome::Rejected(rejected) => Err(report(&rejected)),
    }
}

/// The council whose caseload this is: the one named, or the only council in the store.
fn council(store: &SqlStore<'_>, named: Option<&str>) -> Result<String, String> {
    let councils = pollster::block_on(store.organisations(OrganisationKind::Council)).map_err(|error| error.to_string())?;
    match (named, councils.as_slice()) {
        (Some(id), _) if councils.iter().any(|council| council.id == id) => Ok(id.to_owned()),
        (Some(id), _) => Err(format!("no council {id} in the store")),
        (None, [only]) => Ok(only.id.clone()),
        (None, []) => Err("the store has no council: add it first".into()),
        (None, _) => Err("the store has more than one council: name one with --council".into()),
    }
}

/// The rejection report: every line with its problems, and that nothing was added.
fn report(rejected: &[import::RejectedRow]) -> String {
    let lines = import::by_line(rejected);
    let mut text = format!("Nothing was imported: {} rows need correcting.\n", lines.len());
    for (line, problems) in lines {
        for problem in problems {
            text.push_str(&format!("  line {line}, {}: {}\n", problem.field, problem.message));
        }
    }
    text.push_str("Correct the file and run the import again.");
    text
}
