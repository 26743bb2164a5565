//! The portal's `/access` page and access log at a county's scale, natively against a SQLite
//! file that `shared/examples/county.rs` made: a service user with ten grants and their own
//! access log, signed in, each page `ROUNDS` times one at a time. Prints one line a page: its
//! name, median and p99 in milliseconds (bench/scale puts the 1,000 and 100,000 people runs
//! side by side).
//!
//! `cargo run --release -p carefront-portal --example access_scale -- COUNTY.sqlite [ROUNDS]`

use carefront_shared::db::Database as _;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::SqlStore;

#[path = "support/bench.rs"]
mod bench;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().ok_or("usage: access_scale COUNTY.sqlite [ROUNDS]")?);
    let rounds: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(200);
    let config = bench::config()?;
    let db = SqliteDatabase::open(&path).map_err(|error| error.to_string())?;
    // As a served database runs (the file is in WAL mode): no sync to disk on every request's
    // audit line, which would measure the disk, not the queries.
    pollster::block_on(db.query("PRAGMA synchronous = NORMAL", &[])).map_err(|error| error.to_string())?;
    let store = SqlStore::new(&db);
    // The middle of a small county, so neither end of an index is favoured; with no comment or
    // need (those are on every fifth person), off the first page of people, so the API runs
    // before this one leave nothing in their access log.
    let person = std::env::var("SCALE_PERSON").unwrap_or_else(|_| "person-000503".to_owned());
    let cookie = bench::sign_in(&store, &config, &person)?;
    for (name, page) in [("GET /access (signed in)", "/access"), ("GET /access-log (signed in)", "/access-log")] {
        let (samples, _) = bench::time_page(&store, &config, &cookie, page, rounds)?;
        let (median, p99) = bench::median_and_p99(samples);
        println!("{name}\t{:.3}\t{:.3}", median / 1e3, p99 / 1e3);
    }
    Ok(())
}
