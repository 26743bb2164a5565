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

/// Signs `person_id` in with a session of its own each run (a county file is measured more
/// than once): the session cookie value.
fn sign_in(store: &SqlStore<'_>, config: &carefront_shared::config::Config, person_id: &str) -> Result<String, String> {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(13, |elapsed| elapsed.as_nanos() as u64);
    let random = carefront_shared::random::SeededRandom::new(seed);
    let keys = config.browser.as_ref().ok_or("the benchmark configuration has no browser keys")?;
    let minted = carefront_shared::session::mint(&keys.session, carefront_shared::session::SESSION_PURPOSE, &random);
    let record = carefront_shared::domain::SessionRecord {
        id_hash: minted.id_hash,
        person_id: person_id.into(),
        created_at: bench::now(),
        last_seen_at: bench::now(),
        verified_at: bench::now(),
        passkey_id: None,
    };
    pollster::block_on(carefront_shared::store::Store::insert_session(store, &record)).map_err(|error| error.to_string())?;
    Ok(minted.cookie_value)
}

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
    // The middle of the county, so neither end of an index is favoured.
    let person = std::env::var("SCALE_PERSON").unwrap_or_else(|_| "person-000500".to_owned());
    let cookie = sign_in(&store, &config, &person)?;
    for (name, page) in [("GET /access (signed in)", "/access"), ("GET /access-log (signed in)", "/access-log")] {
        let (samples, _) = bench::time_page(&store, &config, &cookie, page, rounds)?;
        let (median, p99) = bench::median_and_p99(samples);
        println!("{name}\t{:.3}\t{:.3}", median / 1e3, p99 / 1e3);
    }
    Ok(())
}
