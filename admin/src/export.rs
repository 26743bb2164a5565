//! `carefront-admin export`: one person's whole record, as carefront's JSON or as a FHIR R4
//! Bundle, straight from a store — a SQLite file or PostgreSQL (or from the demo data, for tests). The export
//! is written to the person's access log like any other, so they can see it was made.

use std::path::PathBuf;

use crate::address::{Address, Opened};

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::export::{self, RecordExport};
use carefront_shared::random::{Random, new_id};
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::{SqlStore, Store};
use chrono::{DateTime, Utc};

/// Where the record comes from.
#[derive(Debug, PartialEq)]
enum Source {
    /// A store (a SQLite file or a PostgreSQL database).
    Database(Address),
    /// The demo data, seeded into memory first.
    Demo,
}

/// What `export` was asked to do.
#[derive(Debug, PartialEq)]
pub struct ExportArgs {
    person: String,
    fhir: bool,
    source: Source,
    origin: String,
    out: Option<PathBuf>,
}

/// Parses `--person ID [--fhir] (--database FILE | --demo) [--origin URL] [--out FILE]`.
pub fn parse(args: &[String], usage: &str) -> Result<ExportArgs, String> {
    let (mut person, mut fhir, mut database, mut demo, mut origin, mut out) = (None, false, None, false, None, None);
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let mut value = || iter.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{usage}"));
        match flag.as_str() {
            "--person" => person = Some(value()?),
            "--database" => database = Some(Address::parse(&value()?)?),
            "--origin" => origin = Some(value()?.trim_end_matches('/').to_owned()),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--fhir" => fhir = true,
            "--demo" => demo = true,
            other => return Err(format!("unknown option {other}\n{usage}")),
        }
    }
    let person = person.filter(|person| !person.trim().is_empty()).ok_or_else(|| format!("--person is required\n{usage}"))?;
    let source = match (database, demo) {
        (Some(address), false) => Source::Database(address),
        (None, true) => Source::Demo,
        _ => return Err(format!("give exactly one of --database FILE and --demo\n{usage}")),
    };
    let origin = origin.unwrap_or_else(|| "http://localhost:8787".to_owned());
    url::Url::parse(&origin).map_err(|_| format!("--origin must be a URL like https://care.example.gov.uk\n{usage}"))?;
    Ok(ExportArgs { person, fhir, source, origin, out })
}

/// Runs the export and writes the file (or prints it).
pub fn run(args: &ExportArgs, now: DateTime<Utc>, random: &dyn Random) -> Result<(), String> {
    let database = match &args.source {
        Source::Database(address) => address.open_existing()?,
        Source::Demo => Opened::Sqlite(SqliteDatabase::in_memory().map_err(|error| error.to_string())?),
    };
    let store = SqlStore::new(&database);
    if args.source == Source::Demo {
        pollster::block_on(crate::demo::seed(&store, now, random)).map_err(|error| error.to_string())?;
    }
    let bytes = pollster::block_on(export_record(&store, &args.person, args.fhir, &args.origin, now, random))?;
    match &args.out {
        Some(path) => std::fs::write(path, bytes).map_err(|error| format!("cannot write {}: {error}", path.display())),
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&bytes).map_err(|error| error.to_string())
        }
    }
}

/// Gathers the record, logs the export in the person's access log, and renders it.
pub async fn export_record(
    store: &SqlStore<'_>,
    person_id: &str,
    fhir: bool,
    origin: &str,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<u8>, String> {
    let permit = Permit::operator(person_id, now);
    let record: RecordExport =
        export::gather(store, &permit, true, now).await.map_err(|error| error.to_string())?.ok_or_else(|| format!("no person {person_id}"))?;
    let rendering = if fhir { "a FHIR R4 bundle" } else { "carefront's JSON" };
    let detail = format!("a council administrator exported a copy of the whole record as {rendering}, with: {}", record.sections().join(", "));
    let event = permit.overall_event(new_id(random), AuditAction::RecordExported, detail);
    store.append_audit(&event).await.map_err(|error| error.to_string())?;
    let bytes = if fhir { serde_json::to_vec_pretty(&export::fhir_bundle(&record, origin)) } else { record.to_json() };
    bytes.map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

    use std::collections::BTreeSet;

    use carefront_shared::random::SeededRandom;

    use super::*;

    fn args(text: &str) -> Result<ExportArgs, String> {
        parse(&text.split_whitespace().map(str::to_owned).collect::<Vec<_>>(), "usage")
    }

    #[test]
    fn the_arguments_name_a_person_and_one_source() {
        let parsed = args("--person person-margaret --fhir --demo --origin https://care.example.gov.uk/").unwrap();
        assert_eq!(parsed.source, Source::Demo);
        assert!(parsed.fhir);
        assert_eq!(parsed.origin, "https://care.example.gov.uk");
        assert!(args("--fhir --demo").is_err(), "no person");
        assert!(args("--person p").is_err(), "no source");
        assert!(args("--person p --demo --database x.db").is_err(), "two sources");
        assert!(args("--person p --demo --origin not-a-url").is_err());
        assert!(args("--person p --demo --colour blue").is_err());
    }

    #[test]
    fn the_demo_record_exports_as_a_bundle_of_every_type_and_the_export_is_logged() {
        let database = SqliteDatabase::in_memory().unwrap();
        let store = SqlStore::new(&database);
        let random = SeededRandom::new(5);
        let now = DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z").unwrap().with_timezone(&Utc);
        pollster::block_on(crate::demo::seed(&store, now, &random)).unwrap();
        let bytes = pollster::block_on(export_record(&store, "person-margaret", true, "https://care.example.gov.uk", now, &random)).unwrap();
        let bundle: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let entries = bundle["entry"].as_array().unwrap();
        let types: BTreeSet<&str> = entries.iter().filter_map(|entry| entry["resource"]["resourceType"].as_str()).collect();
        for expected in [
            "Patient",
            "CarePlan",
            "MedicationStatement",
            "MedicationAdministration",
            "AllergyIntolerance",
            "Consent",
            "RelatedPerson",
            "Encounter",
            "Communication",
            "DocumentReference",
        ] {
            assert!(types.contains(expected), "{expected} in {types:?}");
        }
        let log = pollster::block_on(store.audit_for_subject(&Permit::operator("person-margaret", now), 1000)).unwrap();
        assert!(log.iter().any(|event| event.action == AuditAction::RecordExported && event.detail.contains("FHIR R4")));

        let json = pollster::block_on(export_record(&store, "person-margaret", false, "https://care.example.gov.uk", now, &random)).unwrap();
        let record: RecordExport = serde_json::from_slice(&json).unwrap();
        assert_eq!(record.format, export::FORMAT);
        assert!(record.access_log.iter().any(|event| event.action == AuditAction::RecordExported), "the earlier export is in the later one's log");
        assert!(pollster::block_on(export_record(&store, "person-nobody", false, "https://x", now, &random)).is_err());
    }
}
