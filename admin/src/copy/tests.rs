#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

use carefront_shared::migrations;
use carefront_shared::postgres_native::PostgresDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::store::SqlStore;
use chrono::{DateTime, Utc};

use std::collections::BTreeMap;

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z").unwrap().with_timezone(&Utc)
}

/// The demo, seeded into memory with an emergency code, as `seed` makes it.
fn demo() -> SqliteDatabase {
    let database = SqliteDatabase::in_memory().unwrap();
    let store = SqlStore::new(&database);
    let random = SeededRandom::new(7);
    pollster::block_on(crate::demo::seed(&store, now(), &random)).unwrap();
    pollster::block_on(crate::demo::emergency_code(&store, now(), &random)).unwrap();
    database
}

fn sqlite(database: &SqliteDatabase) -> Side<'_> {
    Side { database, dialect: Dialect::Sqlite }
}

fn postgres(database: &PostgresDatabase) -> Side<'_> {
    Side { database, dialect: Dialect::Postgres }
}

/// A fresh PostgreSQL schema of the test's own, or `None` (the test skips, saying so) when
/// `CAREFRONT_TEST_POSTGRES` names no server — unless `CAREFRONT_REQUIRE_POSTGRES=1`.
fn fresh_postgres(name: &str) -> Option<PostgresDatabase> {
    match std::env::var("CAREFRONT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(PostgresDatabase::fresh(&url, migrations::POSTGRES, &format!("admin_copy_{name}")).unwrap()),
        _ => {
            assert_ne!(std::env::var("CAREFRONT_REQUIRE_POSTGRES").as_deref(), Ok("1"), "CAREFRONT_REQUIRE_POSTGRES=1 but CAREFRONT_TEST_POSTGRES is unset");
            eprintln!("skipped {name}: set CAREFRONT_TEST_POSTGRES=postgres://… to run it");
            None
        }
    }
}

/// Tallies of every table on one side, by name.
async fn tallies(side: Side<'_>) -> Result<BTreeMap<String, Tally>, String> {
    let mut all = BTreeMap::new();
    for table in tables().await? {
        let tally = tally(side, &table).await?;
        all.insert(table.name, tally);
    }
    Ok(all)
}

fn all(side: Side<'_>) -> BTreeMap<String, Tally> {
    pollster::block_on(tallies(side)).unwrap()
}

fn rows(side: Side<'_>) -> u64 {
    all(side).values().map(|tally| tally.rows).sum()
}

/// The source made to hold one row no target accepts, in the last tables copied: a known
/// device of a person who does not exist (its foreign key off for the moment).
fn with_a_row_no_target_accepts(source: &SqliteDatabase) {
    pollster::block_on(async {
        source.execute("PRAGMA foreign_keys = OFF", &[]).await.unwrap();
        source
            .execute(
                "INSERT INTO known_devices (person_id, device_hash, first_seen_at, last_seen_at) VALUES ('person-nobody', 'abcdefghijklmnopqrstuvwxyz', '2026-11-21T09:00:00Z', '2026-11-21T09:00:00Z')",
                &[],
            )
            .await
            .unwrap();
        source.execute("PRAGMA foreign_keys = ON", &[]).await.unwrap();
    });
}

#[test]
fn tables_come_after_the_tables_they_name() {
    let tables = pollster::block_on(tables()).unwrap();
    let at = |name: &str| tables.iter().position(|table| table.name == name).unwrap_or_else(|| panic!("{name} is copied"));
    assert!(at("organisations") < at("people"));
    assert!(at("people") < at("grants"));
    assert!(at("grants") < at("grant_history") || !tables.iter().any(|table| table.name == "grant_history"));
    assert!(at("emergency_codes") < at("emergency_accesses"));
    assert!(at("documents") < at("document_chunks"));
    assert!(tables.iter().all(|table| !table.name.starts_with("sqlite_") && table.name != "carefront_migrations"));
    let invitations = &tables[at("invitations")];
    assert_eq!(invitations.self_references.len(), 1, "an invitation names the one it replaces");
}

#[test]
fn rows_naming_rows_of_their_own_table_come_after_them() {
    let row = |id: &str, replaces: Option<&str>| vec![Value::from(id), Value::from(replaces)];
    let rows = vec![row("c", Some("b")), row("b", Some("a")), row("x", Some("elsewhere")), row("a", None)];
    let ordered = referenced_first(rows, &[(1, 0)]);
    let ids: Vec<String> = ordered.iter().map(|row| canonical(&row[..1])).collect();
    assert_eq!(ids, ["Tx", "Ta", "Tb", "Tc"]);
    let circle = vec![row("a", Some("b")), row("b", Some("a"))];
    assert_eq!(referenced_first(circle.clone(), &[(1, 0)]), circle, "a circle is left for the target to refuse");
}

#[test]
fn canonical_lines_keep_types_and_escape_separators() {
    assert_eq!(canonical(&[Value::Null, Value::Integer(-3), Value::from("a\tb\nc\\")]), "N\tI-3\tTa\\tb\\nc\\\\");
    assert_ne!(canonical(&[Value::Integer(5)]), canonical(&[Value::from("5")]));
    assert_ne!(canonical(&[Value::from("a\tb")]), canonical(&[Value::from("a"), Value::from("b")]));
}

#[test]
fn the_demo_copies_sqlite_to_sqlite_with_identical_checksums_and_its_triggers_back() {
    let source = demo();
    let target = SqliteDatabase::in_memory().unwrap();
    let triggers = |database: &SqliteDatabase| pollster::block_on(sqlite_triggers(sqlite(database))).unwrap();
    let before = triggers(&target);
    let copied = pollster::block_on(copy(sqlite(&source), sqlite(&target))).unwrap();
    assert!(copied.rows > 50, "the demo has rows: {}", copied.rows);
    assert_eq!(all(sqlite(&source)), all(sqlite(&target)));
    assert_eq!(triggers(&target), before, "every trigger is back, as it was");
    // History was copied, not written again by the triggers as the rows went in.
    let history = |database: &SqliteDatabase| all(sqlite(database))["grant_history"].rows;
    assert_eq!(history(&source), history(&target));
    // The store works on after the copy: its triggers refuse what they refused before.
    let refused = pollster::block_on(target.execute("UPDATE audit_events SET detail = 'changed'", &[]));
    assert!(refused.is_err(), "audit_events is still append-only: {refused:?}");
}

#[test]
fn a_target_with_any_row_is_refused_and_left_as_it_was() {
    let source = demo();
    let target = SqliteDatabase::in_memory().unwrap();
    pollster::block_on(
        target
            .execute("INSERT INTO organisations (id, name, kind, created_at) VALUES ('org-already', 'Already here', 'provider', '2026-11-21T09:00:00Z')", &[]),
    )
    .unwrap();
    let before = all(sqlite(&target));
    let error = pollster::block_on(copy(sqlite(&source), sqlite(&target))).unwrap_err();
    assert!(error.contains("not empty (organisations has rows)"), "{error}");
    assert_eq!(all(sqlite(&target)), before);
}

#[test]
fn a_source_at_another_schema_version_is_refused() {
    let source = demo();
    let target = SqliteDatabase::in_memory().unwrap();
    pollster::block_on(target.execute("PRAGMA user_version = 25", &[])).unwrap();
    let error = pollster::block_on(copy(sqlite(&source), sqlite(&target))).unwrap_err();
    let latest = carefront_shared::migrations::MIGRATIONS.last().unwrap().number;
    assert!(error.contains(&format!("schema version {latest} and the target at 25")), "{error}");
    assert_eq!(rows(sqlite(&target)), 0);
}

#[test]
fn a_row_the_target_refuses_halfway_leaves_it_empty() {
    let source = demo();
    with_a_row_no_target_accepts(&source);
    let target = SqliteDatabase::in_memory().unwrap();
    let error = pollster::block_on(copy(sqlite(&source), sqlite(&target))).unwrap_err();
    assert!(error.contains("nothing was kept"), "{error}");
    assert_eq!(rows(sqlite(&target)), 0);
    let triggers = pollster::block_on(sqlite_triggers(sqlite(&target))).unwrap();
    assert_eq!(triggers.len(), pollster::block_on(sqlite_triggers(sqlite(&source))).unwrap().len(), "the dropped triggers came back with the rollback");
    // And the emptied target takes a good copy afterwards.
    let good = demo();
    pollster::block_on(copy(sqlite(&good), sqlite(&target))).unwrap();
}

#[test]
fn the_demo_goes_to_postgresql_and_back_with_identical_checksums() {
    let Some(middle) = fresh_postgres("round_trip") else { return };
    let source = demo();
    // A change with a number of its own, so that the target's sequence has somewhere to go on from.
    pollster::block_on(source.execute(
        "INSERT INTO format_need_changes (seq, person_id, need_id, change, at) VALUES (41, 'person-margaret', 'need-large-print', 'recorded', '2026-11-21T09:00:00Z')",
        &[],
    ))
    .unwrap();
    let copied = pollster::block_on(copy(sqlite(&source), postgres(&middle))).unwrap();
    let back = SqliteDatabase::in_memory().unwrap();
    pollster::block_on(copy(postgres(&middle), sqlite(&back))).unwrap();
    assert_eq!(all(sqlite(&source)), all(sqlite(&back)));
    assert_eq!(all(sqlite(&source)), all(postgres(&middle)));
    assert_eq!(rows(sqlite(&back)), copied.rows);
    pollster::block_on(async {
        // The identity column goes on after the copied values.
        let highest_seq = || async { middle.query("SELECT coalesce(max(seq), 0) FROM format_need_changes", &[]).await.unwrap()[0].integer(0).unwrap() };
        let highest = highest_seq().await;
        middle
            .execute(
                "INSERT INTO format_need_changes (person_id, need_id, change, at) VALUES ('person-margaret', 'need-x', 'recorded', '2026-11-21T09:00:00Z')",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(highest, 41);
        assert_eq!(highest_seq().await, 42, "the identity goes on after the copied values");
        // The triggers are on again: the audit log is append-only.
        assert!(middle.execute("UPDATE audit_events SET detail = 'changed'", &[]).await.is_err());
    });
}

#[test]
fn a_postgresql_target_with_any_row_is_refused_and_one_refusing_a_row_is_left_empty() {
    let Some(target) = fresh_postgres("refusals") else { return };
    let source = demo();
    with_a_row_no_target_accepts(&source);
    let error = pollster::block_on(copy(sqlite(&source), postgres(&target))).unwrap_err();
    assert!(error.contains("nothing was kept"), "{error}");
    assert_eq!(rows(postgres(&target)), 0);

    pollster::block_on(copy(sqlite(&demo()), postgres(&target))).unwrap();
    let before = all(postgres(&target));
    let error = pollster::block_on(copy(sqlite(&demo()), postgres(&target))).unwrap_err();
    assert!(error.contains("not empty (organisations has rows)"), "{error}");
    assert_eq!(all(postgres(&target)), before);
}

#[test]
fn the_demo_seeded_into_postgresql_is_the_demo_seeded_into_sqlite() {
    let Some(database) = fresh_postgres("seed") else { return };
    let random = SeededRandom::new(7);
    let store = SqlStore::new(&database);
    pollster::block_on(crate::demo::seed(&store, now(), &random)).unwrap();
    pollster::block_on(crate::demo::emergency_code(&store, now(), &random)).unwrap();
    assert_eq!(all(postgres(&database)), all(sqlite(&demo())));
}

#[test]
fn the_command_line_seeds_migrates_and_copies_through_postgresql_addresses() {
    let Some(database) = fresh_postgres("command_line") else { return };
    let url = std::env::var("CAREFRONT_TEST_POSTGRES").unwrap();
    // The test's own schema, as the server's search path for every connection the tool makes.
    let separator = if url.contains('?') { '&' } else { '?' };
    let address = format!("{url}{separator}options=-csearch_path%3Dcf_admin_copy_command_line");
    let args = |text: &str| text.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    migrate(&args(&format!("--database {address}")), "usage").unwrap();
    crate::seed(&args(&format!("--base-url http://localhost:8787 --database {address}"))).unwrap();
    assert!(rows(postgres(&database)) > 50);
    let directory = std::env::temp_dir().join(format!("carefront-admin-copy-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join("copy.sqlite");
    let _ = std::fs::remove_file(&file);
    run(&args(&format!("--from {address} --to sqlite:{}", file.display()))).unwrap();
    let copied = SqliteDatabase::open(&file).unwrap();
    assert_eq!(all(sqlite(&copied)), all(postgres(&database)));
    let again = run(&args(&format!("--from {address} --to sqlite:{}", file.display()))).unwrap_err();
    assert!(again.contains("not empty"), "{again}");
    let none = run(&args(&format!("--from sqlite:{} --to sqlite:{}", directory.join("none.sqlite").display(), file.display()))).unwrap_err();
    assert!(none.contains("holds no carefront store"), "{none}");
    std::fs::remove_dir_all(&directory).unwrap();
}
