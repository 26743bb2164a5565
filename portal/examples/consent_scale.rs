//! Measures the consent decision and the "Who can see my information" page against a store with
//! 100,000 people and 10 grants each, beside an almost empty store: the work must stay
//! proportional to the person's own grants (indexed queries), not to the store.
//!
//! `cargo run --release -p carefront-portal --example consent_scale [PEOPLE]` (bench/consent runs it).

use std::time::Instant;

use carefront_portal::handle;
use carefront_shared::config::Config;
use carefront_shared::consent::{Action, Actor, Category, Grant, Resource, decide};
use carefront_shared::context::RequestContext;
use carefront_shared::db::{Database, Statement, Value};
use carefront_shared::domain::{Role, SessionRecord};
use carefront_shared::random::SeededRandom;
use carefront_shared::session;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::{SqlStore, Store, time_text};
use chrono::{DateTime, Duration, Utc};

const GRANTS_PER_PERSON: usize = 10;
const ROUNDS: usize = 2_000;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

fn config() -> Result<Config, String> {
    Config::from_lookup(|name| match name {
        "SESSION_KEY" => Some("YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktYmVuY2gta2V5".into()),
        "RP_ID" => Some("localhost".into()),
        "CREDENTIAL_KEY" => Some("Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "ORIGIN" => Some("http://localhost:8787".into()),
        _ => None,
    })
    .map_err(|error| error.to_string())
}

/// Fills a store with `people` service users, each with `GRANTS_PER_PERSON` grants to others.
fn populate(db: &SqliteDatabase, people: usize) -> Result<(), String> {
    let created = time_text(now());
    for chunk_start in (0..people).step_by(5_000) {
        let mut statements = Vec::new();
        for index in chunk_start..(chunk_start + 5_000).min(people) {
            statements.push(Statement {
                sql: "INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at) VALUES (?1, 'service_user', ?2, NULL, ?3, ?4)",
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
                          VALUES (?1, 1, ?2, 'person', ?3, '[\"medication\",\"visits_and_notes\"]', '[\"view\"]', 0, 'help', ?4, NULL, 'consent', NULL, ?2, NULL, NULL, ?4)",
                    params: vec![format!("g{index}-{grant}").into(), format!("p{index}").into(), Value::Text(grantee), created.clone().into()],
                });
            }
        }
        pollster::block_on(db.batch(&statements)).map_err(|error| error.to_string())?;
    }
    Ok(())
}

fn median_and_p99(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
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
        let decision = decide(&reader, &subject, Action::View, Resource::Category(Category::Medication), &grants, now());
        std::hint::black_box(decision);
        if round >= ROUNDS / 10 {
            decide_samples.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    let random = SeededRandom::new(7);
    let minted = session::mint(&config.session_key, session::SESSION_PURPOSE, &random);
    let record = SessionRecord { id_hash: minted.id_hash, person_id: subject.clone(), created_at: now(), last_seen_at: now(), verified_at: now() };
    pollster::block_on(store.insert_session(&record)).map_err(|error| error.to_string())?;
    let mut page_samples = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS + ROUNDS / 10 {
        let request = http::Request::get("/access")
            .header("cookie", format!("__Host-carefront_session={}", minted.cookie_value))
            .body(Vec::new())
            .map_err(|error| error.to_string())?;
        let context = RequestContext { store: &store, config, now: now() + Duration::milliseconds(round as i64), random: &random, client: None };
        let started = Instant::now();
        let response = pollster::block_on(handle(&context, request));
        if round >= ROUNDS / 10 {
            page_samples.push(started.elapsed().as_secs_f64() * 1e6);
        }
        if response.status() != 200 {
            return Err(format!("/access answered {}", response.status()));
        }
    }
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
