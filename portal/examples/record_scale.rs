//! Measures the medicines page (allergies, current medicines and a week of the administration
//! record) for a person with two years of rounds — four medicines, seven doses a day, every
//! dose recorded — beside the same person with one week, and writes the page so its transferred
//! size can be taken; also writes the home page for the page-weight figure.
//!
//! `cargo run --release -p carefront-portal --example record_scale OUT_DIR` (bench/record runs it).

use carefront_shared::db::{Database, Statement};
use carefront_shared::domain::{CarePlan, Person, Role};
use carefront_shared::record::{Allergy, Medicine};
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::{RecordStore, SqlStore, Store, time_text};
use chrono::{Duration, NaiveDate, NaiveTime};

#[path = "support/bench.rs"]
mod bench;

use bench::{config, median_and_p99, now};

const ROUNDS: usize = 2_000;

fn time(text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").unwrap_or_default()
}

/// A person with a care plan, four medicines, an allergy and `days` days of recorded doses.
fn populate(db: &SqliteDatabase, days: i64) -> Result<(), String> {
    let store = SqlStore::new(db);
    let block = |result: Result<(), carefront_shared::db::DbError>| result.map_err(|error| error.to_string());
    block(pollster::block_on(store.insert_person(&Person {
        id: "person-bench".into(),
        role: Role::ServiceUser,
        display_name: "Margaret Okafor".into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(1),
        created_at: now(),
    })))?;
    block(pollster::block_on(store.upsert_care_plan(&CarePlan {
        id: "plan".into(),
        person_id: "person-bench".into(),
        summary: "Support at home each morning and evening.".into(),
        outcomes: vec!["Walk to the shop".into()],
        needs: vec!["Help to wash and dress".into()],
        support: vec!["Prompt medicines at 8am and 7pm".into()],
        visit_schedule: vec!["Every day, 8am and 7pm".into()],
        risks: vec!["Falls".into()],
        review_due: NaiveDate::from_ymd_opt(2027, 3, 15).unwrap_or_default(),
        written_by: "Priya Shah".into(),
        updated_at: now(),
    })))?;
    let started_on = now().date_naive() - Duration::days(days + 1);
    let medicines =
        [("paracetamol", &["08:00", "13:00", "19:00"][..]), ("apixaban", &["08:00", "19:00"][..]), ("amlodipine", &["08:00"][..]), ("laxido", &["19:00"][..])];
    for (name, times) in medicines {
        block(pollster::block_on(store.upsert_medicine(&Medicine {
            id: format!("med-{name}"),
            person_id: "person-bench".into(),
            name: format!("{name} tablets"),
            dose: "1 tablet".into(),
            route: "By mouth".into(),
            times: times.iter().map(|text| time(text)).collect(),
            as_needed: false,
            instructions: "With food.".into(),
            prescriber: "Dr Patel".into(),
            started_on,
            stopped_on: None,
        })))?;
    }
    block(pollster::block_on(store.insert_allergy(&Allergy {
        id: "allergy".into(),
        person_id: "person-bench".into(),
        substance: "Penicillin".into(),
        reaction: "Rash".into(),
        recorded_at: now(),
    })))?;
    let mut statements = Vec::new();
    for back in 0..days {
        let day = now().date_naive() - Duration::days(back);
        for (name, times) in medicines {
            for text in times {
                let due_at = day.and_time(time(text)).and_utc();
                if due_at > now() {
                    continue;
                }
                statements.push(Statement {
                    sql: "INSERT INTO administrations (id, person_id, medicine_id, due_at, outcome, reason, recorded_by, recorded_at)
                          VALUES (?1, 'person-bench', ?2, ?3, 'given', NULL, 'Jo Adeyemi', ?3)"
                        .into(),
                    params: vec![format!("mar-{name}-{day}-{text}").into(), format!("med-{name}").into(), time_text(due_at).into()],
                });
            }
        }
    }
    for chunk in statements.chunks(5_000) {
        pollster::block_on(db.batch(chunk)).map_err(|error| error.to_string())?;
    }
    Ok(())
}

fn main() -> Result<(), String> {
    let out = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: record_scale OUT_DIR")?);
    std::fs::create_dir_all(&out).map_err(|error| error.to_string())?;
    let config = config()?;
    let mut rows = Vec::new();
    for (label, days) in [("one week of rounds", 7), ("two years of rounds", 730)] {
        let db = SqliteDatabase::in_memory().map_err(|error| error.to_string())?;
        populate(&db, days)?;
        let store = SqlStore::new(&db);
        let cookie = bench::sign_in(&store, &config, "person-bench")?;
        let (samples, body) = bench::time_page(&store, &config, &cookie, "/people/person-bench/medicines", ROUNDS)?;
        std::fs::write(out.join(format!("medicines-{days}.html")), &body).map_err(|error| error.to_string())?;
        if days == 7 {
            let (_, home) = bench::time_page(&store, &config, &cookie, "/home", 10)?;
            std::fs::write(out.join("home.html"), home).map_err(|error| error.to_string())?;
        }
        rows.push((label, days, median_and_p99(samples), body.len()));
    }
    println!("{:<22} {:>6} {:>14} {:>12} {:>12}", "record", "days", "median µs", "p99 µs", "HTML bytes");
    for (label, days, (median, p99), bytes) in &rows {
        println!("{label:<22} {days:>6} {median:>14.1} {p99:>12.1} {bytes:>12}");
    }
    if let [(_, _, (week, _), _), (_, _, (years, _), _)] = rows.as_slice() {
        println!("ratio two years / one week (median): {:.2}x", years / week);
    }
    Ok(())
}
