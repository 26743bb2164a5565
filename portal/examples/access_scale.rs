//! The portal's `/access` page and access log, and a provider's "People I support today", at a
//! county's scale, natively against a county that `shared/examples/county.rs` made (a SQLite
//! file or a `postgres://…` database): a service user with ten grants and their own access log,
//! signed in, and the provider's member of staff (its first page: today's visits; and a page of
//! everyone else, after the service user), each page `ROUNDS` times one at a time. Prints one line a page: its name, median and p99 in milliseconds, and the store (SQLite
//! or PostgreSQL); bench/scale and bench/postgres put the runs side by side. With
//! `SCALE_EXPLAIN=1` (PostgreSQL only) it loads `/access` and `/access-log` once each and prints
//! PostgreSQL's plans for the reads behind them instead.
//!
//! `cargo run --release -p carefront-portal --example access_scale -- COUNTY.sqlite|postgres://… [ROUNDS]`

use carefront_shared::native_store::NativeDatabase;
use carefront_shared::store::SqlStore;

#[path = "support/bench.rs"]
mod bench;
#[path = "../../api/examples/support/county_store.rs"]
mod county_store;

const PAGES: [(&str, &str); 2] = [("GET /access (signed in)", "/access"), ("GET /access-log (signed in)", "/access-log")];

/// The provider's member of staff (`county.rs`).
const STAFF: &str = "staff-priya";

/// The staff pages: today's visits first; everyone else, after `person`.
fn staff_pages(person: &str) -> [(&'static str, String); 2] {
    [("GET /provider (staff, today's visits)", "/provider".into()), ("GET /provider, everyone else (staff)", format!("/provider?after=o%7C{person}"))]
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let address = args.next().ok_or("usage: access_scale COUNTY.sqlite|postgres://… [ROUNDS]")?;
    let rounds: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(200);
    let config = bench::config()?;
    let db = county_store::open(&address)?;
    // The middle of a small county, so neither end of an index is favoured; with no comment or
    // need (those are on every fifth person), off the first page of people, so the API runs
    // before this one leave nothing in their access log.
    let person = std::env::var("SCALE_PERSON").unwrap_or_else(|_| "person-000503".to_owned());
    if county_store::explaining() {
        return explain(&db, &config, &person);
    }
    let store = SqlStore::new(&db);
    let cookie = bench::sign_in(&store, &config, &person)?;
    for (name, page) in PAGES {
        let (samples, _) = bench::time_page(&store, &config, &cookie, page, rounds)?;
        let (median, p99) = bench::median_and_p99(samples);
        println!("{name}\t{:.3}\t{:.3}\t{}", median / 1e3, p99 / 1e3, db.kind());
    }
    let staff = bench::sign_in(&store, &config, STAFF)?;
    for (name, page) in staff_pages(&person) {
        let (samples, _) = bench::time_page(&store, &config, &staff, &page, rounds)?;
        let (median, p99) = bench::median_and_p99(samples);
        println!("{name}\t{:.3}\t{:.3}\t{}", median / 1e3, p99 / 1e3, db.kind());
    }
    Ok(())
}

/// PostgreSQL's plans for the reads behind one load of each page.
fn explain(db: &NativeDatabase, config: &carefront_shared::config::Config, person: &str) -> Result<(), String> {
    if !matches!(db, NativeDatabase::Postgres(_)) {
        return Err("SCALE_EXPLAIN needs a postgres:// county".into());
    }
    let cookie = bench::sign_in(&SqlStore::new(db), config, person)?;
    for (name, page) in PAGES {
        let recording = county_store::Recording::new(db);
        bench::time_page(&SqlStore::new(&recording), config, &cookie, page, 1)?;
        println!("{}", recording.explain(&format!("{name}, {person}"))?);
    }
    let staff = bench::sign_in(&SqlStore::new(db), config, STAFF)?;
    for (name, page) in staff_pages(person) {
        let recording = county_store::Recording::new(db);
        bench::time_page(&SqlStore::new(&recording), config, &staff, &page, 1)?;
        println!("{}", recording.explain(name)?);
    }
    Ok(())
}
