//! Prints the FHIR R4 bundle (or, with `--json`, carefront's JSON export) of the test fixture's
//! record — every section and every state the export maps — for the FHIR validation in
//! `e2e/unit/fhir-export.test.mjs`.
//!
//! ```text
//! cargo run -q -p carefront-shared --example export_fixture -- [--json] [OUT_FILE]
//! ```

#[path = "../tests/support/export_fixture.rs"]
mod fixture;

use carefront_shared::export;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::SqlStore;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|arg| arg == "--json");
    let out = args.iter().find(|arg| !arg.starts_with("--"));
    let db = SqliteDatabase::in_memory().map_err(|error| error.to_string())?;
    let store = SqlStore::new(&db);
    pollster::block_on(fixture::seed(&store)).map_err(|error| error.to_string())?;
    let record = pollster::block_on(export::gather(&store, &fixture::everything(), true, fixture::now()))
        .map_err(|error| error.to_string())?
        .ok_or("no fixture person")?;
    let bytes = if json { record.to_json() } else { serde_json::to_vec_pretty(&export::fhir_bundle(&record, "https://care.example.gov.uk")) };
    let bytes = bytes.map_err(|error| error.to_string())?;
    match out {
        Some(path) => std::fs::write(path, bytes).map_err(|error| format!("cannot write {path}: {error}")),
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&bytes).map_err(|error| error.to_string())
        }
    }
}
