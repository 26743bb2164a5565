//! Makes a county's worth of carefront for the scale benchmarks (bench/scale, bench/postgres),
//! in a SQLite file or straight into a PostgreSQL database: PEOPLE service users, 10 grants each
//! (the benchmark provider, the council, another provider, family members; some revoked, some
//! ended), 10 access-log events each (1,000,000 for 100,000 people), comments, format needs,
//! consent discussions, four visits today for every tenth person and the provider's member of
//! staff who makes them, and two years of medication rounds for a sample of people. The same rows
//! in the same order either way. SQLite: prepared statements in one transaction (100,000 people
//! take about a minute on a small machine). PostgreSQL: COPY, a slice of people at a time, then
//! VACUUM ANALYZE, as a database that has been running a while would have been (statistics for
//! the planner, a visibility map for index-only scans).
//!
//! `cargo run --release -p carefront-shared --example county -- OUT.sqlite|postgres://… [PEOPLE]`

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;

use carefront_shared::db::Value;
use carefront_shared::migrations;
use carefront_shared::postgres_native::PostgresDatabase;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::time_text;
use carefront_shared::uk_time;
use chrono::{DateTime, Duration, Utc};

/// The benchmarks' "now" (as in bench/api and bench/record).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

/// The provider whose lists are measured.
const PROVIDER: &str = "org-brookside-care";
/// The provider's member of staff.
const STAFF: &str = "staff-priya";
/// The council.
const COUNCIL: &str = "org-northshire-council";
/// Other providers, sharing the county.
const OTHERS: usize = 9;
/// People with two years of medication rounds.
const ROUNDS_SAMPLE: usize = 20;
/// People a PostgreSQL slice holds before it is copied in: a few megabytes of text.
const SLICE: usize = 2_000;

/// A grant as the generator writes it: grantee kind, grantee, categories, actions, basis,
/// evidence.
type GrantShape<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);

/// A table the generator writes, and the columns each of its rows gives, in order.
struct Table {
    name: &'static str,
    columns: &'static str,
}

const ORGANISATIONS: Table = Table { name: "organisations", columns: "id, kind, name, created_at" };
const PEOPLE: Table = Table { name: "people", columns: "id, role, display_name, organisation_id, webauthn_handle, created_at" };
const GRANTS: Table = Table {
    name: "grants",
    columns: "id, version, subject_id, grantee_kind, grantee_id, categories, actions, act_for, purpose, starts_at, ends_at, basis, evidence, recorded_by, \
              revoked_at, acting_for, changed_at",
};
const AUDIT_EVENTS: Table = Table { name: "audit_events", columns: "id, at, actor_id, acting_for, subject_id, action, category, basis, detail" };
const COMMENTS: Table = Table {
    name: "comments",
    columns: "id, person_id, category, entry_id, entry_label, kind, body, author_id, author_name, acting_for, created_at, status, response, responded_by, \
              responded_at, version",
};
const FORMAT_NEEDS: Table = Table {
    name: "format_needs",
    columns: "id, person_id, need, detail, recorded_by, recorded_by_name, acting_for, consent_discussion_id, recorded_at, ended_at, ended_by",
};
const CONSENT_DISCUSSIONS: Table = Table {
    name: "consent_discussions",
    columns: "id, person_id, organisation_id, held_on, method, participants, covered, decisions, persons_words, recorded_by, recorded_at, status, \
              responded_by, responded_at",
};
const MEDICINES: Table =
    Table { name: "medicines", columns: "id, person_id, name, dose, route, times, as_needed, instructions, prescriber, started_on, stopped_on" };
const ADMINISTRATIONS: Table = Table { name: "administrations", columns: "id, person_id, medicine_id, due_at, outcome, reason, recorded_by, recorded_at" };
const CARE_VISITS: Table = Table { name: "care_visits", columns: "id, person_id, organisation_id, starts_at, ends_at, status, carers, note, recorded_at" };

/// Where the rows go.
trait Sink {
    /// One row of `table`, its values in the order of `table.columns`.
    fn row(&mut self, table: &'static Table, values: &[Value]) -> Result<(), String>;
    /// The end of a slice of people: a sink that holds rows back writes them now, parents
    /// (people) before children (grants).
    fn flush(&mut self) -> Result<(), String>;
}

fn text(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

fn maybe(value: Option<impl Into<String>>) -> Value {
    value.map_or(Value::Null, text)
}

fn person_id(index: usize) -> String {
    format!("person-{index:06}")
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let target = args.next().ok_or("usage: county OUT.sqlite|postgres://… [PEOPLE]")?;
    let people: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(100_000);
    let started = std::time::Instant::now();
    if target.starts_with("postgres://") || target.starts_with("postgresql://") {
        into_postgres(&target, people)?;
    } else {
        into_sqlite(&PathBuf::from(&target), people).map_err(|error| error.to_string())?;
    }
    eprintln!("{people} people in {:.1} s: {target}", started.elapsed().as_secs_f64());
    Ok(())
}

fn into_sqlite(path: &std::path::Path, people: usize) -> Result<(), Box<dyn std::error::Error>> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    // The schema exactly as the store migrates it.
    drop(SqliteDatabase::open(path)?);
    let mut connection = rusqlite::Connection::open(path)?;
    connection.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;")?;
    let transaction = connection.transaction()?;
    fill(&mut SqliteSink { connection: &transaction, sql: HashMap::new() }, people)?;
    transaction.commit()?;
    // The write-ahead log a served database runs with (no sync of the whole file on each
    // request's audit line). No ANALYZE: the plans are the ones the plan test checks.
    connection.execute_batch("PRAGMA journal_mode = WAL;")?;
    Ok(())
}

fn into_postgres(url: &str, people: usize) -> Result<(), String> {
    let failed = |error: postgres::Error| error.to_string();
    // The schema exactly as the store migrates it.
    drop(PostgresDatabase::open(url, migrations::POSTGRES).map_err(|error| error.to_string())?);
    let mut client = postgres::Client::connect(url, postgres::NoTls).map_err(failed)?;
    let count: i64 = client.query_one("SELECT count(*) FROM people", &[]).map_err(failed)?.get(0);
    if count > 0 {
        return Err(format!("{url} already has {count} people: county writes only into an empty database"));
    }
    let mut sink = PostgresSink { client, buffers: Vec::new() };
    fill(&mut sink, people)?;
    sink.client.batch_execute("VACUUM ANALYZE").map_err(failed)
}

/// Prepared statements, one a table, in the caller's transaction.
struct SqliteSink<'a> {
    connection: &'a rusqlite::Connection,
    sql: HashMap<&'static str, String>,
}

/// A value bound to a SQLite statement without copying it.
struct Bound<'a>(&'a Value);

impl rusqlite::ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Integer(number) => ValueRef::Integer(*number),
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
        }))
    }
}

impl Sink for SqliteSink<'_> {
    fn row(&mut self, table: &'static Table, values: &[Value]) -> Result<(), String> {
        let sql = self.sql.entry(table.name).or_insert_with(|| {
            let placeholders: Vec<String> = (1..=values.len()).map(|number| format!("?{number}")).collect();
            format!("INSERT INTO {} ({}) VALUES ({})", table.name, table.columns, placeholders.join(", "))
        });
        let mut statement = self.connection.prepare_cached(sql).map_err(|error| error.to_string())?;
        statement.execute(rusqlite::params_from_iter(values.iter().map(Bound))).map_err(|error| error.to_string())?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Rows held as COPY text, a buffer a table in the order the tables were first written (which
/// is the order their foreign keys need), copied in at each flush.
struct PostgresSink {
    client: postgres::Client,
    buffers: Vec<(&'static Table, String)>,
}

impl Sink for PostgresSink {
    fn row(&mut self, table: &'static Table, values: &[Value]) -> Result<(), String> {
        let at = match self.buffers.iter().position(|(held, _)| held.name == table.name) {
            Some(at) => at,
            None => {
                self.buffers.push((table, String::new()));
                self.buffers.len() - 1
            }
        };
        let Some((_, buffer)) = self.buffers.get_mut(at) else { return Err("no buffer".into()) };
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                buffer.push('\t');
            }
            match value {
                Value::Null => buffer.push_str("\\N"),
                Value::Integer(number) => buffer.push_str(&number.to_string()),
                Value::Text(text) => {
                    for char in text.chars() {
                        match char {
                            '\\' => buffer.push_str("\\\\"),
                            '\t' => buffer.push_str("\\t"),
                            '\n' => buffer.push_str("\\n"),
                            '\r' => buffer.push_str("\\r"),
                            other => buffer.push(other),
                        }
                    }
                }
            }
        }
        buffer.push('\n');
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        for (table, buffer) in &mut self.buffers {
            if buffer.is_empty() {
                continue;
            }
            let failed = |error: postgres::Error| format!("{}: {error}", table.name);
            let mut writer = self.client.copy_in(&format!("COPY {} ({}) FROM STDIN", table.name, table.columns)).map_err(failed)?;
            writer.write_all(buffer.as_bytes()).map_err(|error| format!("{}: {error}", table.name))?;
            writer.finish().map_err(failed)?;
            buffer.clear();
        }
        Ok(())
    }
}

fn fill(sink: &mut dyn Sink, people: usize) -> Result<(), String> {
    let now = now();
    let at = time_text(now - Duration::days(800));
    sink.row(&ORGANISATIONS, &[text(COUNCIL), text("council"), text("Northshire County Council"), text(&at)])?;
    sink.row(&ORGANISATIONS, &[text(PROVIDER), text("provider"), text("Brookside Home Care"), text(&at)])?;
    for other in 0..OTHERS {
        sink.row(&ORGANISATIONS, &[text(format!("org-provider-{other}")), text("provider"), text(format!("Provider {other}")), text(&at)])?;
    }
    // The provider's member of staff whose "People I support today" is measured.
    sink.row(
        &PEOPLE,
        &[text(STAFF), text("provider_staff"), text("Priya Shah"), text(PROVIDER), text(uuid::Uuid::from_u128(u128::MAX).to_string()), text(&at)],
    )?;
    let today = uk_time::start_of(uk_time::date(now));
    let care = r#"["care_plan","medication","visits_and_notes","contacts","documents","preferences"]"#;
    let family = r#"["care_plan","medication"]"#;
    for index in 0..people {
        let id = person_id(index);
        let joined = now - Duration::days(750) + Duration::seconds(i64::try_from(index).unwrap_or(0));
        sink.row(
            &PEOPLE,
            &[
                text(&id),
                text("service_user"),
                text(format!("Person {index}")),
                Value::Null,
                text(uuid::Uuid::from_u128(index as u128 + 1).to_string()),
                text(time_text(joined)),
            ],
        )?;
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
            sink.row(
                &GRANTS,
                &[
                    text(format!("grant-{index}-{number}")),
                    Value::Integer(1),
                    text(&id),
                    text(*kind),
                    text(grantee),
                    text(*categories),
                    text(*actions),
                    Value::Integer(0),
                    text("to give care"),
                    text(&starts),
                    maybe(ends),
                    text(*basis),
                    maybe(*evidence),
                    text(&id),
                    maybe(revoked),
                    Value::Null,
                    text(&starts),
                ],
            )?;
        }
        // 10 access-log events over two years.
        for event in 0..10_i64 {
            let when = now - Duration::days(730) + Duration::hours(event * 1_700 + (index as i64 % 97));
            let (actor, action, category, basis) = match event % 3 {
                0 => (format!("rep-a-{index}"), "medication.viewed", Some("medication"), format!("grant:grant-{index}-3 (consent)")),
                1 => ("credential:bench".to_owned(), "api.person_listed", None, format!("grant:grant-{index}-0 (consent)")),
                _ => (id.clone(), "session.signed_in", None, "own_record".to_owned()),
            };
            sink.row(
                &AUDIT_EVENTS,
                &[
                    text(format!("audit-{index}-{event}")),
                    text(time_text(when)),
                    text(actor),
                    Value::Null,
                    text(&id),
                    text(action),
                    maybe(category),
                    text(basis),
                    text("Looked at the record."),
                ],
            )?;
        }
        // Every tenth person has two comments, one of them answered.
        if index % 10 == 0 {
            let created = time_text(now - Duration::days(40) + Duration::seconds(i64::try_from(index).unwrap_or(0)));
            let comment = |suffix: &str, category: &str, status: &str, response: Option<&str>, by: Option<&str>, at: Option<String>| {
                [
                    text(format!("comment-{index}-{suffix}")),
                    text(&id),
                    text(category),
                    Value::Null,
                    text("Care plan page"),
                    text("correction"),
                    text("This is wrong."),
                    text(&id),
                    text("The person"),
                    Value::Null,
                    text(&created),
                    text(status),
                    maybe(response),
                    maybe(by),
                    maybe(at),
                    Value::Integer(1),
                ]
            };
            sink.row(&COMMENTS, &comment("open", "care_plan", "open", None, None, None))?;
            let answered_at = time_text(now - Duration::days(1));
            sink.row(&COMMENTS, &comment("answered", "medication", "answered", Some("Thank you."), Some("Brookside Home Care"), Some(answered_at)))?;
        }
        // Every fifth person has a format need; every twentieth chose no paper copy.
        let need = |suffix: &str, need: &str| {
            [
                text(format!("need-{index}-{suffix}")),
                text(&id),
                text(need),
                text(""),
                text(&id),
                text("The person"),
                Value::Null,
                Value::Null,
                text(time_text(joined)),
                Value::Null,
                Value::Null,
            ]
        };
        if index % 5 == 0 {
            sink.row(&FORMAT_NEEDS, &need("large", "large_print_24"))?;
        }
        if index % 20 == 0 {
            sink.row(&FORMAT_NEEDS, &need("paper", "no_paper_copies"))?;
        }
        // Every tenth person gets four visits from the provider today (morning, lunch, tea and
        // bed), each at its own minute.
        if index % 10 == 0 {
            for (visit, hour) in [7, 12, 17, 21].into_iter().enumerate() {
                let starts_at = today + Duration::hours(hour) + Duration::minutes(i64::try_from(index / 10 % 120).unwrap_or(0));
                sink.row(
                    &CARE_VISITS,
                    &[
                        text(format!("visit-{index}-{visit}")),
                        text(&id),
                        text(PROVIDER),
                        text(time_text(starts_at)),
                        text(time_text(starts_at + Duration::minutes(30))),
                        text("planned"),
                        text("Jo"),
                        text(""),
                        text(time_text(now - Duration::days(7))),
                    ],
                )?;
            }
        }
        // Every fourth person had a consent discussion with the provider this year.
        if index % 4 == 0 {
            let held = (now - Duration::days(100)).date_naive().format("%Y-%m-%d").to_string();
            let (status, by, at) =
                if index % 8 == 0 { ("confirmed", Some(id.clone()), Some(time_text(now - Duration::days(90)))) } else { ("awaiting", None, None) };
            sink.row(
                &CONSENT_DISCUSSIONS,
                &[
                    text(format!("discussion-{index}")),
                    text(&id),
                    text(PROVIDER),
                    text(held),
                    text("home_visit"),
                    text(r#"[{"role":"person","name":"The person"},{"role":"staff","name":"Priya Shah"}]"#),
                    text(r#"["electronic_records"]"#),
                    text("Records in carefront."),
                    text("Yes."),
                    text(STAFF),
                    text(time_text(now - Duration::days(100))),
                    text(status),
                    maybe(by),
                    maybe(at),
                ],
            )?;
        }
        if (index + 1) % SLICE == 0 {
            sink.flush()?;
        }
    }
    rounds(sink, people.min(ROUNDS_SAMPLE))?;
    sink.flush()
}

/// Two years of medication rounds (two medicines, morning and evening) for the first `sample`
/// people.
fn rounds(sink: &mut dyn Sink, sample: usize) -> Result<(), String> {
    let now = now();
    let started_on = (now - Duration::days(731)).date_naive().format("%Y-%m-%d").to_string();
    for index in 0..sample {
        let id = person_id(index);
        for name in ["paracetamol", "amlodipine"] {
            let medicine_id = format!("med-{index}-{name}");
            sink.row(
                &MEDICINES,
                &[
                    text(&medicine_id),
                    text(&id),
                    text(format!("{name} tablets")),
                    text("1 tablet"),
                    text("By mouth"),
                    text(r#"["08:00","19:00"]"#),
                    Value::Integer(0),
                    text("With food."),
                    text("Dr Patel"),
                    text(&started_on),
                    Value::Null,
                ],
            )?;
            for back in 1..=730_i64 {
                let day = (now - Duration::days(back)).date_naive();
                for hour in [8, 19] {
                    let due = time_text(day.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc());
                    sink.row(
                        &ADMINISTRATIONS,
                        &[
                            text(format!("mar-{medicine_id}-{back}-{hour}")),
                            text(&id),
                            text(&medicine_id),
                            text(&due),
                            text("given"),
                            Value::Null,
                            text("Jo Adeyemi"),
                            text(&due),
                        ],
                    )?;
                }
            }
        }
    }
    Ok(())
}
