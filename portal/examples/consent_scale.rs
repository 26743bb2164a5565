//! Measures the consent decision and the "Who can see my information" page against a store with
//! 100,000 people and 10 grants each, beside an almost empty store: the work must stay
//! proportional to the person's own grants (indexed queries), not to the store.
//!
//! `cargo run --release -p carefront-portal --example consent_scale [PEOPLE]` (bench/consent runs it).

use std::time::Instant;

use carefront_shared::access::Permit;
use carefront_shared::config::Config;
use carefront_shared::consent::{Action, Actor, Category, Grant};
use carefront_shared::db::{Database, Statement, Value};
use carefront_shared::domain::Role;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::{SqlStore, Store, time_text};

#[path = "support/bench.rs"]
mod bench;

use bench::{config, median_and_p99, now};

const GRANTS_PER_PERSON: usize = 10;
const ROUNDS: usize = 2_000;

/// Fills a store with `people` service users, each with `GRANTS_PER_PERSON` grants to others.
fn populate(db: &SqliteDatabase, people: usize) -> Result<(), String> {
    let created = time_text(now());
    for chunk_start in (0..people).step_by(5_000) {
        let mut statements = Vec::new();
        for index in chunk_start..(chunk_start + 5_000).min(people) {
            statements.push(Statement {
                sql: "INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at) VALUES (?1, 'service_user', ?2, NULL, ?3, ?4)"
                    .into(),
                params: vec![
                    format!("p{index}").into(),
                    format!("Person {index}").into(),
                    uuid::Uuid::from_u128(index as u128).to_string().into(),
                    created.clone().into(),
                ],
            });
        }
        pollster::block_on(db.batch(&statements)).map_err(|error| error.to_string())?;
        let mut statements = Vec::new();
        for index in chunk_start..(chunk_start + 5_000).min(people) {
            for grant in 0..GRANTS_PER_PERSON {
                let grantee = format!("p{}", (index + grant + 1) % people.max(1));
                statements.push(Statement {
                    sql: "INSERT INTO grants (id, version, subject_id, grantee_kind, grantee_id, categories, actions, act_for, purpose, starts_at, ends_at, basis, evidence, recorded_by, acting_for, revoked_at, changed_at)
                          VALUES (?1, 1, ?2, 'person', ?3, '[\"medication\",\"visits_and_notes\"]', '[\"view\"]', 0, 'help', ?4, NULL, 'consent', NULL, ?2, NULL, NULL, ?4)".into(),
                    params: vec![format!("g{index}-{grant}").into(), format!("p{index}").into(), Value::Text(grantee), created.clone().into()],
                });
            }
        }
        pollster::block_on(db.batch(&statements)).map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// (decide incl. loading the grants, the /access page) medians and p99s in microseconds.
fn measure(db: &SqliteDatabase, people: usize, config: &Config) -> Result<[(f64, f64); 2], String> {
    let store = SqlStore::new(db);
    let subject = format!("p{}", people / 2);
    let reader = Actor { person_id: format!("p{}", people / 2 + 1), role: Role::ServiceUser, organisation_id: None };
    let mut decide_samples = Vec::with_capacity(ROUNDS);
    // The first rounds warm caches and the statement cache; they are not counted.
    for round in 0..ROUNDS + ROUNDS / 10 {
        let started = Instant::now();
        let grants: Vec<Grant> = pollster::block_on(store.grants_for_subject(&subject)).map_err(|error| error.to_string())?;
        // The permit a handler asks for (the decision, and the permit it makes when allowed).
        let permit = Permit::ask(&reader, &subject, Action::View, Category::Medication, &grants, now());
        std::hint::black_box(permit.is_ok());
        if round >= ROUNDS / 10 {
            decide_samples.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    let cookie = bench::sign_in(&store, config, &subject)?;
    let (page_samples, _) = bench::time_page(&store, config, &cookie, "/access", ROUNDS)?;
    Ok([median_and_p99(decide_samples), median_and_p99(page_samples)])
}

fn main() -> Result<(), String> {
    let people: usize = std::env::args().nth(1).and_then(|arg| arg.parse().ok()).unwrap_or(100_000);
    let config = config()?;
    let dir = std::env::temp_dir().join(format!("carefront-consent-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
    let mut rows = Vec::new();
    for (label, count) in [("almost empty (10 people)", 10), ("large", people)] {
        let path = dir.join(format!("{count}.db"));
        let db = SqliteDatabase::open(&path).map_err(|error| error.to_string())?;
        let started = Instant::now();
        populate(&db, count)?;
        eprintln!("populated {count} people x {GRANTS_PER_PERSON} grants in {:.1} s", started.elapsed().as_secs_f64());
        rows.push((label, count, measure(&db, count, &config)?));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{:<28} {:>9} {:>18} {:>18} {:>18} {:>18}", "store", "people", "decide median µs", "decide p99 µs", "/access median µs", "/access p99 µs");
    for (label, count, [(decide_median, decide_p99), (page_median, page_p99)]) in &rows {
        println!("{label:<28} {count:>9} {decide_median:>18.1} {decide_p99:>18.1} {page_median:>18.1} {page_p99:>18.1}");
    }
    if let [(_, _, [(small_decide, _), (small_page, _)]), (_, _, [(large_decide, _), (large_page, _)])] = rows.as_slice() {
        println!("ratio large/empty (median): decide {:.2}x, /access {:.2}x", large_decide / small_decide, large_page / small_page);
    }
    Ok(())
}
