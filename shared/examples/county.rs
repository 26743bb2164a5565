//! Makes a county's worth of carefront in a SQLite file, for the scale benchmarks (bench/scale):
//! PEOPLE service users, 10 grants each (the benchmark provider, the council, another provider,
//! family members; some revoked, some ended), 10 access-log events each (1,000,000 for 100,000
//! people), comments, format needs, consent discussions, and two years of medication rounds for
//! a sample of people. Prepared statements in one transaction: 100,000 people take about a
//! minute on a small machine.
//!
//! `cargo run --release -p carefront-shared --example county -- OUT.sqlite [PEOPLE]`

use std::path::PathBuf;

use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::time_text;
use chrono::{DateTime, Duration, Utc};
use rusqlite::params;

/// The benchmarks' "now" (as in bench/api and bench/record).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

/// The provider whose lists are measured.
const PROVIDER: &str = "org-brookside-care";
/// The council.
const COUNCIL: &str = "org-northshire-council";
/// Other providers, sharing the county.
const OTHERS: usize = 9;
/// People with two years of medication rounds.
const ROUNDS_SAMPLE: usize = 20;

/// A grant as the generator writes it: grantee kind, grantee, categories, actions, basis,
/// evidence.
type GrantShape<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);

fn person_id(index: usize) -> String {
    format!("person-{index:06}")
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: county OUT.sqlite [PEOPLE]")?);
    let people: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(100_000);
    if path.exists() {
        std::fs::remove_file(&path).map_err(|error| error.to_string())?;
    }
    // The schema exactly as the store migrates it.
    drop(SqliteDatabase::open(&path).map_err(|error| error.to_string())?);
    let started = std::time::Instant::now();
    let mut connection = rusqlite::Connection::open(&path).map_err(|error| error.to_string())?;
    connection.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;").map_err(|error| error.to_string())?;
    let transaction = connection.transaction().map_err(|error| error.to_string())?;
    fill(&transaction, people).map_err(|error| error.to_string())?;
    transaction.commit().map_err(|error| error.to_string())?;
    // The write-ahead log a served database runs with (no sync of the whole file on each
    // request's audit line). No ANALYZE: the plans are the ones the plan test checks.
    connection.execute_batch("PRAGMA journal_mode = WAL;").map_err(|error| error.to_string())?;
    eprintln!("{people} people in {:.1} s: {}", started.elapsed().as_secs_f64(), path.display());
    Ok(())
}

fn fill(db: &rusqlite::Transaction<'_>, people: usize) -> rusqlite::Result<()> {
    let now = now();
    let at = time_text(now - Duration::days(800));
    let mut organisation = db.prepare("INSERT INTO organisations (id, kind, name, created_at) VALUES (?1, ?2, ?3, ?4)")?;
    organisation.execute(params![COUNCIL, "council", "Northshire County Council", at])?;
    organisation.execute(params![PROVIDER, "provider", "Brookside Home Care", at])?;
    for other in 0..OTHERS {
        organisation.execute(params![format!("org-provider-{other}"), "provider", format!("Provider {other}"), at])?;
    }
    let mut person =
        db.prepare("INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at) VALUES (?1, 'service_user', ?2, NULL, ?3, ?4)")?;
    let mut grant = db.prepare(
        "INSERT INTO grants (id, version, subject_id, grantee_kind, grantee_id, categories, actions, act_for, purpose, starts_at, ends_at, basis, evidence,
           recorded_by, revoked_at, acting_for, changed_at) VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11, ?2, ?12, NULL, ?8)",
    )?;
    let mut audit = db.prepare(
        "INSERT INTO audit_events (id, at, actor_id, acting_for, subject_id, action, category, basis, detail) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut comment = db.prepare(
        "INSERT INTO comments (id, person_id, category, entry_id, entry_label, kind, body, author_id, author_name, acting_for, created_at, status, response,
           responded_by, responded_at, version) VALUES (?1, ?2, ?3, NULL, 'Care plan page', 'correction', 'This is wrong.', ?2, 'The person', NULL, ?4, ?5, ?6, ?7, ?8, 1)",
    )?;
    let mut need = db.prepare(
        "INSERT INTO format_needs (id, person_id, need, detail, recorded_by, recorded_by_name, acting_for, consent_discussion_id, recorded_at, ended_at, ended_by)
           VALUES (?1, ?2, ?3, '', ?2, 'The person', NULL, NULL, ?4, NULL, NULL)",
    )?;
    let mut discussion = db.prepare(
        "INSERT INTO consent_discussions (id, person_id, organisation_id, held_on, method, participants, covered, decisions, persons_words, recorded_by,
           recorded_at, status, responded_by, responded_at) VALUES (?1, ?2, ?3, ?4, 'home_visit',
           '[{\"role\":\"person\",\"name\":\"The person\"},{\"role\":\"staff\",\"name\":\"Priya Shah\"}]', '[\"electronic_records\"]',
           'Records in carefront.', 'Yes.', 'staff-priya', ?5, ?6, ?7, ?8)",
    )?;
    let care = r#"["care_plan","medication","visits_and_notes","contacts","documents","preferences"]"#;
    let family = r#"["care_plan","medication"]"#;
    for index in 0..people {
        let id = person_id(index);
        let joined = now - Duration::days(750) + Duration::seconds(i64::try_from(index).unwrap_or(0));
        person.execute(params![id, format!("Person {index}"), uuid::Uuid::from_u128(index as u128 + 1).to_string(), time_text(joined)])?;
        let starts = time_text(joined);
        // 0: the provider measured; 1: the council; 2: another provider; 3-9: family members, one
        // of them revoked and one ended.
        let other = format!("org-provider-{}", index % OTHERS);
        let grants: [GrantShape<'_>; 10] = [
            ("organisation", PROVIDER, care, r#"["contribute","view"]"#, "consent", None),
            ("organisation", COUNCIL, care, r#"["view"]"#, "statutory_duty", Some("Care Act 2014 assessment")),
            ("organisation", &other, care, r#"["view"]"#, "consent", None),
            ("person", "rep-a", family, r#"["view"]"#, "consent", None),
            ("person", "rep-b", family, r#"["view"]"#, "consent", None),
            ("person", "rep-c", family, r#"["view"]"#, "consent", None),
            ("person", "rep-d", family, r#"["view"]"#, "consent", None),
            ("person", "rep-e", family, r#"["view"]"#, "consent", None),
            ("person", "rep-revoked", family, r#"["view"]"#, "consent", None),
            ("person", "rep-ended", family, r#"["view"]"#, "consent", None),
        ];
        for (number, (kind, grantee, categories, actions, basis, evidence)) in grants.iter().enumerate() {
            let grantee = if *kind == "person" { format!("{grantee}-{index}") } else { (*grantee).to_owned() };
            let revoked = (number == 8).then(|| time_text(now - Duration::days(30)));
            let ends = (number == 9).then(|| time_text(now - Duration::days(10)));
            grant.execute(params![
                format!("grant-{index}-{number}"),
                id,
                kind,
                grantee,
                categories,
                actions,
                "to give care",
                starts,
                ends,
                basis,
                evidence,
                revoked
            ])?;
        }
        // 10 access-log events over two years.
        for event in 0..10_i64 {
            let when = now - Duration::days(730) + Duration::hours(event * 1_700 + (index as i64 % 97));
            let (actor, action, category, basis) = match event % 3 {
                0 => (format!("rep-a-{index}"), "medication.viewed", Some("medication"), format!("grant:grant-{index}-3 (consent)")),
                1 => ("credential:bench".to_owned(), "api.person_listed", None, format!("grant:grant-{index}-0 (consent)")),
                _ => (id.clone(), "session.signed_in", None, "own_record".to_owned()),
            };
            audit.execute(params![format!("audit-{index}-{event}"), time_text(when), actor, id, action, category, basis, "Looked at the record."])?;
        }
        // Every tenth person has two comments, one of them answered.
        if index % 10 == 0 {
            let created = time_text(now - Duration::days(40) + Duration::seconds(i64::try_from(index).unwrap_or(0)));
            comment.execute(params![format!("comment-{index}-open"), id, "care_plan", created, "open", None::<String>, None::<String>, None::<String>])?;
            let answered_at = time_text(now - Duration::days(1));
            comment.execute(params![
                format!("comment-{index}-answered"),
                id,
                "medication",
                created,
                "answered",
                "Thank you.",
                "Brookside Home Care",
                answered_at
            ])?;
        }
        // Every fifth person has a format need; every twentieth chose no paper copy.
        if index % 5 == 0 {
            need.execute(params![format!("need-{index}-large"), id, "large_print_24", time_text(joined)])?;
        }
        if index % 20 == 0 {
            need.execute(params![format!("need-{index}-paper"), id, "no_paper_copies", time_text(joined)])?;
        }
        // Every fourth person had a consent discussion with the provider this year.
        if index % 4 == 0 {
            let held = (now - Duration::days(100)).date_naive().format("%Y-%m-%d").to_string();
            let (status, by, at) =
                if index % 8 == 0 { ("confirmed", Some(id.clone()), Some(time_text(now - Duration::days(90)))) } else { ("awaiting", None, None) };
            discussion.execute(params![format!("discussion-{index}"), id, PROVIDER, held, time_text(now - Duration::days(100)), status, by, at])?;
        }
    }
    rounds(db, people.min(ROUNDS_SAMPLE))
}

/// Two years of medication rounds (two medicines, morning and evening) for the first `sample`
/// people.
fn rounds(db: &rusqlite::Transaction<'_>, sample: usize) -> rusqlite::Result<()> {
    let now = now();
    let mut medicine = db.prepare(
        "INSERT INTO medicines (id, person_id, name, dose, route, times, as_needed, instructions, prescriber, started_on, stopped_on)
           VALUES (?1, ?2, ?3, '1 tablet', 'By mouth', '[\"08:00\",\"19:00\"]', 0, 'With food.', 'Dr Patel', ?4, NULL)",
    )?;
    let mut administration = db.prepare(
        "INSERT INTO administrations (id, person_id, medicine_id, due_at, outcome, reason, recorded_by, recorded_at) VALUES (?1, ?2, ?3, ?4, 'given', NULL, 'Jo Adeyemi', ?4)",
    )?;
    let started_on = (now - Duration::days(731)).date_naive().format("%Y-%m-%d").to_string();
    for index in 0..sample {
        let id = person_id(index);
        for name in ["paracetamol", "amlodipine"] {
            let medicine_id = format!("med-{index}-{name}");
            medicine.execute(params![medicine_id, id, format!("{name} tablets"), started_on])?;
            for back in 1..=730_i64 {
                let day = (now - Duration::days(back)).date_naive();
                for hour in [8, 19] {
                    let due = day.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc();
                    administration.execute(params![format!("mar-{medicine_id}-{back}-{hour}"), id, medicine_id, time_text(due)])?;
                }
            }
        }
    }
    Ok(())
}
