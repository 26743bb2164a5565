//! PostgreSQL's migration history (`migrations::POSTGRES`, shared/migrations-postgres) against
//! SQLite's (shared/migrations): the same shape — tables, columns in order with their type family,
//! nullability and default, keys, indexes and triggers — and the same behaviour where the store
//! relies on the schema: the append-only refusals with SQLite's very messages (the store
//! classifies errors by them), the grant history's JSON, the database's own writes, and CHECKs
//! refusing as constraint errors.
//!
//! Runs against the PostgreSQL server at `CAREFRONT_TEST_POSTGRES` (a URL), each test in a fresh
//! schema of its own; without it each test says it was skipped and passes, unless
//! `CAREFRONT_REQUIRE_POSTGRES=1` (the test command with PostgreSQL), when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::{BTreeMap, BTreeSet};

use carefront_shared::db::{Database, DbError, Row, Value};
use carefront_shared::migrations::POSTGRES;
use carefront_shared::postgres_native::PostgresDatabase;
use carefront_shared::sqlite::SqliteDatabase;
use pollster::block_on;

/// The table PostgreSQL keeps its migration numbers in (SQLite's are in `PRAGMA user_version`).
const POSTGRES_BOOKKEEPING: &str = "carefront_migrations";

/// A fresh PostgreSQL schema with every PostgreSQL migration applied, or `None` (the test is
/// skipped) when no server is given.
fn postgres(test: &str) -> Option<PostgresDatabase> {
    match std::env::var("CAREFRONT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(PostgresDatabase::fresh(&url, POSTGRES, &format!("schema_{test}")).unwrap()),
        _ => {
            assert_ne!(
                std::env::var("CAREFRONT_REQUIRE_POSTGRES").as_deref(),
                Ok("1"),
                "CAREFRONT_REQUIRE_POSTGRES=1 but CAREFRONT_TEST_POSTGRES (postgres://…) is not set"
            );
            eprintln!("postgres_schema::{test} skipped: set CAREFRONT_TEST_POSTGRES=postgres://… to compare PostgreSQL's schema with SQLite's");
            None
        }
    }
}

fn query(db: &dyn Database, sql: &str, params: &[Value]) -> Vec<Row> {
    block_on(db.query(sql, params)).unwrap_or_else(|error| panic!("{sql}: {error}"))
}

fn text(row: &Row, index: usize) -> String {
    row.text(index).unwrap()
}

fn optional_text(row: &Row, index: usize) -> Option<String> {
    row.optional_text(index).unwrap()
}

fn flag(row: &Row, index: usize) -> bool {
    row.integer(index).unwrap() != 0
}

fn list(joined: &str) -> Vec<String> {
    joined.split(',').filter(|name| !name.is_empty()).map(str::to_owned).collect()
}

/// One column as both dialects can say it.
#[derive(Debug, PartialEq, Eq)]
struct Column {
    name: String,
    /// "integer" or "text" (SQLite's INTEGER is PostgreSQL's BIGINT); anything else as declared.
    family: String,
    not_null: bool,
    /// The default's SQL without PostgreSQL's casts (`''::text` is `''`); "identity" for
    /// SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT` and PostgreSQL's identity column.
    default: Option<String>,
}

/// An index the schema names (not one a key makes for itself).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    name: String,
    columns: Vec<String>,
    unique: bool,
    partial: bool,
}

/// A trigger by its name and the line that says when it fires.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Trigger {
    name: String,
    /// BEFORE or AFTER.
    timing: String,
    /// INSERT, UPDATE or DELETE.
    event: String,
    /// The columns of `UPDATE OF …`, if any.
    columns: Vec<String>,
}

impl Trigger {
    /// Reads `CREATE TRIGGER name BEFORE UPDATE OF a, b ON table …`, as SQLite keeps it and as
    /// PostgreSQL's `pg_get_triggerdef` writes it.
    fn parse(name: String, sql: &str) -> Trigger {
        let after_name = sql.split_once(&format!("TRIGGER {name} ")).map(|(_, rest)| rest).unwrap_or_else(|| panic!("trigger {name}: {sql}"));
        let head = after_name.split_once(" ON ").map(|(head, _)| head).unwrap_or_else(|| panic!("trigger {name}: {sql}"));
        let mut words = head.split_whitespace();
        let timing = words.next().unwrap_or_default().to_uppercase();
        let event = words.next().unwrap_or_default().to_uppercase();
        let columns = head.split_once(" OF ").map(|(_, columns)| columns.split(',').map(|column| column.trim().to_owned()).collect()).unwrap_or_default();
        Trigger { name, timing, event, columns }
    }
}

/// A foreign key: its columns, the table it refers to and that table's columns.
type ForeignKey = (Vec<String>, String, Vec<String>);

/// One table's shape.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    columns: Vec<Column>,
    primary_key: Vec<String>,
    unique: BTreeSet<Vec<String>>,
    foreign_keys: BTreeSet<ForeignKey>,
    indexes: BTreeSet<Index>,
    triggers: BTreeSet<Trigger>,
}

fn sqlite_shape(db: &SqliteDatabase) -> BTreeMap<String, Table> {
    let mut schema = BTreeMap::new();
    for table_row in query(db, "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence'", &[]) {
        let (name, table_sql) = (text(&table_row, 0), text(&table_row, 1));
        let here = [Value::Text(name.clone())];
        let mut table = Table::default();
        let mut primary_key = Vec::new();
        for row in query(db, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid", &here) {
            let declared = text(&row, 1);
            let pk = row.integer(4).unwrap();
            let autoincrement = pk > 0 && declared == "INTEGER" && table_sql.contains("AUTOINCREMENT");
            if pk > 0 {
                primary_key.push((pk, text(&row, 0)));
            }
            table.columns.push(Column {
                name: text(&row, 0),
                family: declared.to_lowercase(),
                // SQLite lets a TEXT primary key hold NULL (a legacy quirk); PostgreSQL does not,
                // and the store never writes one.
                not_null: flag(&row, 2) || pk > 0,
                default: if autoincrement { Some("identity".into()) } else { optional_text(&row, 3) },
            });
        }
        primary_key.sort();
        table.primary_key = primary_key.into_iter().map(|(_, column)| column).collect();
        for row in query(db, "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)", &here) {
            let index = text(&row, 0);
            let columns: Vec<String> = query(db, "SELECT name FROM pragma_index_info(?1) ORDER BY seqno", &[Value::Text(index.clone())])
                .iter()
                .map(|column| text(column, 0))
                .collect();
            match text(&row, 2).as_str() {
                "pk" => {}
                "u" => {
                    table.unique.insert(columns);
                }
                _ => {
                    table.indexes.insert(Index { name: index, columns, unique: flag(&row, 1), partial: flag(&row, 3) });
                }
            }
        }
        let mut keys: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for row in query(db, "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq", &here) {
            let key = keys.entry(row.integer(0).unwrap()).or_insert_with(|| (Vec::new(), text(&row, 1), Vec::new()));
            key.0.push(text(&row, 2));
            key.2.push(text(&row, 3));
        }
        table.foreign_keys = keys.into_values().collect();
        for row in query(db, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1", &here) {
            table.triggers.insert(Trigger::parse(text(&row, 0), &text(&row, 1)));
        }
        schema.insert(name, table);
    }
    schema
}

fn postgres_shape(db: &PostgresDatabase) -> BTreeMap<String, Table> {
    let mut schema = BTreeMap::new();
    let tables = query(
        db,
        "SELECT relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname <> ?1",
        &[POSTGRES_BOOKKEEPING.into()],
    );
    for table_row in tables {
        let name = text(&table_row, 0);
        let here = [Value::Text(name.clone())];
        let mut table = Table::default();
        let columns = "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull::int, pg_get_expr(d.adbin, d.adrelid), (a.attidentity <> '')::int \
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = ?1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
        for row in query(db, columns, &here) {
            let family = match text(&row, 1).as_str() {
                "bigint" => "integer".to_owned(),
                other => other.to_owned(),
            };
            let default = if flag(&row, 4) {
                Some("identity".to_owned())
            } else {
                optional_text(&row, 3).map(|default| default.trim_end_matches("::text").trim_end_matches("::bigint").to_owned())
            };
            table.columns.push(Column { name: text(&row, 0), family, not_null: flag(&row, 2), default });
        }
        let constraints = "SELECT c.contype::text, \
               (SELECT string_agg(a.attname::text, ',' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) \
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum), \
               CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text ELSE '' END, \
               coalesce((SELECT string_agg(a.attname::text, ',' ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n) \
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum), '') \
             FROM pg_constraint c WHERE c.conrelid = ?1::regclass AND c.contype IN ('p', 'u', 'f')";
        for row in query(db, constraints, &here) {
            let columns = list(&text(&row, 1));
            match text(&row, 0).as_str() {
                "p" => table.primary_key = columns,
                "u" => {
                    table.unique.insert(columns);
                }
                _ => {
                    table.foreign_keys.insert((columns, text(&row, 2), list(&text(&row, 3))));
                }
            }
        }
        let indexes = "SELECT c.relname::text, i.indisunique::int, (i.indpred IS NOT NULL)::int, \
               (SELECT string_agg(pg_get_indexdef(i.indexrelid, n, true), ',' ORDER BY n) FROM generate_series(1, i.indnatts::int) AS n) \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = ?1::regclass \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid AND k.contype IN ('p', 'u'))";
        for row in query(db, indexes, &here) {
            // pg_get_indexdef quotes a column named by a keyword ("position").
            let columns = list(&text(&row, 3)).into_iter().map(|column| column.trim_matches('"').to_owned()).collect();
            table.indexes.insert(Index { name: text(&row, 0), columns, unique: flag(&row, 1), partial: flag(&row, 2) });
        }
        for row in query(db, "SELECT tgname::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = ?1::regclass AND NOT tgisinternal", &here) {
            table.triggers.insert(Trigger::parse(text(&row, 0), &text(&row, 1)));
        }
        schema.insert(name, table);
    }
    schema
}

#[test]
fn postgres_schema_has_sqlites_shape() {
    let Some(postgres) = postgres("shape") else { return };
    let sqlite = SqliteDatabase::in_memory().unwrap();
    let (expected, actual) = (sqlite_shape(&sqlite), postgres_shape(&postgres));
    assert_eq!(actual.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "the same tables");
    for (name, sqlite_table) in &expected {
        let postgres_table = &actual[name];
        assert_eq!(postgres_table.columns, sqlite_table.columns, "{name}: the same columns, in order");
        assert_eq!(postgres_table.primary_key, sqlite_table.primary_key, "{name}: the same primary key");
        assert_eq!(postgres_table.unique, sqlite_table.unique, "{name}: the same unique keys");
        assert_eq!(postgres_table.foreign_keys, sqlite_table.foreign_keys, "{name}: the same foreign keys");
        assert_eq!(postgres_table.indexes, sqlite_table.indexes, "{name}: the same indexes");
        assert_eq!(postgres_table.triggers, sqlite_table.triggers, "{name}: the same triggers");
    }
    let count = |schema: &BTreeMap<String, Table>| {
        schema.values().fold((0, 0, 0), |(tables, indexes, triggers), table| (tables + 1, indexes + table.indexes.len(), triggers + table.triggers.len()))
    };
    assert_eq!(count(&actual), (42, 42, 51), "tables, named indexes and triggers after migration 28 (SQLite's 43 tables count sqlite_sequence)");
}

/// The two stores side by side, running the same SQL (SQLite's dialect; PostgreSQL's client puts
/// it into its own).
struct Both {
    sqlite: SqliteDatabase,
    postgres: PostgresDatabase,
}

/// What a statement did, as the store sees it: changed rows or not, or its error.
fn outcome(result: Result<u64, DbError>) -> Result<(), DbError> {
    result.map(|_| ())
}

impl Both {
    fn new(test: &str) -> Option<Both> {
        Some(Both { postgres: postgres(test)?, sqlite: SqliteDatabase::in_memory().unwrap() })
    }

    /// Runs the statement on both stores: the results must be the same, errors message for message.
    fn same(&self, sql: &str, params: &[Value]) -> Result<(), DbError> {
        let sqlite = outcome(block_on(self.sqlite.execute(sql, params)));
        let postgres = outcome(block_on(self.postgres.execute(sql, params)));
        assert_eq!(postgres, sqlite, "{sql}: PostgreSQL (left) answers as SQLite (right)");
        sqlite
    }

    /// Runs a statement both stores accept.
    fn ok(&self, sql: &str) {
        assert_eq!(self.same(sql, &[]), Ok(()), "{sql}");
    }

    /// Runs a statement both stores refuse as a constraint error (the messages differ: SQLite's
    /// names the constraint its way, PostgreSQL's its own).
    fn refused(&self, sql: &str) {
        let sqlite = outcome(block_on(self.sqlite.execute(sql, &[])));
        let postgres = outcome(block_on(self.postgres.execute(sql, &[])));
        assert!(matches!(sqlite, Err(DbError::Constraint(_))), "{sql}: SQLite refuses it as a constraint, not {sqlite:?}");
        assert!(matches!(postgres, Err(DbError::Constraint(_))), "{sql}: PostgreSQL refuses it as a constraint, not {postgres:?}");
    }

    /// The rows of a query, the same on both.
    fn rows(&self, sql: &str) -> Vec<Row> {
        let sqlite = query(&self.sqlite, sql, &[]);
        assert_eq!(query(&self.postgres, sql, &[]), sqlite, "{sql}: PostgreSQL (left) reads as SQLite (right)");
        sqlite
    }
}

/// A row in every table whose triggers refuse changes, and what they hang from.
const FIXTURE: &[&str] = &[
    "INSERT INTO organisations (id, kind, name, created_at) VALUES ('council', 'council', 'Leeds City Council', '2026-11-01T09:00:00Z')",
    "INSERT INTO organisations (id, kind, name, created_at) VALUES ('provider', 'provider', 'Brookside Home Care', '2026-11-01T09:00:00Z')",
    "INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at) VALUES ('person-1', 'service_user', 'Sam', NULL, 'h1', '2026-11-01T09:00:00Z')",
    "INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at) VALUES ('staff-1', 'provider_staff', 'Pat', 'provider', 'h2', '2026-11-01T09:00:00Z')",
    "INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at) VALUES ('caseworker-1', 'council_staff', 'Cy', 'council', 'h3', '2026-11-01T09:00:00Z')",
    "INSERT INTO audit_events (id, at, action) VALUES ('event-1', '2026-11-01T09:00:00Z', 'record.viewed')",
    "INSERT INTO consent_receipts (id, subject_id, grant_id, grant_version, issued_at, receipt) VALUES ('receipt-1', 'person-1', 'grant-1', 1, '2026-11-01T09:00:00Z', '{}')",
    "INSERT INTO grants (id, version, subject_id, grantee_kind, grantee_id, categories, actions, act_for, purpose, starts_at, basis, recorded_by, changed_at) \
     VALUES ('grant-0', 1, 'person-1', 'organisation', 'provider', '[\"medication\"]', '[\"view\"]', 0, 'Care', '2026-11-01T09:00:00Z', 'consent', 'person-1', '2026-11-01T09:00:00Z')",
    "INSERT INTO format_needs (id, person_id, need, recorded_by, recorded_by_name, recorded_at) VALUES ('need-1', 'person-1', 'easy_read', 'person-1', 'Sam', '2026-11-01T09:00:00Z')",
    "INSERT INTO comments (id, person_id, category, kind, body, author_id, author_name, created_at, status) \
     VALUES ('comment-1', 'person-1', 'medication', 'correction', 'Wrong dose', 'person-1', 'Sam', '2026-11-01T09:00:00Z', 'open')",
    "INSERT INTO comment_answers (comment_id, person_id, version, status, response, responded_by, responded_at) \
     VALUES ('comment-1', 'person-1', 2, 'corrected', 'Fixed', 'Brookside Home Care', '2026-11-02T09:00:00Z')",
    "INSERT INTO consent_discussions (id, person_id, organisation_id, held_on, method, participants, covered, decisions, persons_words, recorded_by, recorded_at, status) \
     VALUES ('discussion-1', 'person-1', 'provider', '2026-11-01', 'home_visit', '[]', '[]', 'Share medicines', 'Yes', 'staff-1', '2026-11-01T09:00:00Z', 'awaiting')",
    "INSERT INTO emergency_codes (id, person_id, selector, verifier_hash, issued_by, basis, issued_at) \
     VALUES ('code-1', 'person-1', 'sel', 'hash', 'person-1', 'own_record', '2026-11-01T09:00:00Z')",
    "INSERT INTO emergency_accesses (id, token_hash, code_id, person_id, clinician_name, clinician_role, organisation, started_at, expires_at) \
     VALUES ('access-1', 'token', 'code-1', 'person-1', 'Dr Lee', 'Paramedic', 'YAS', '2026-11-01T09:00:00Z', '2026-11-01T13:00:00Z')",
    "INSERT INTO system_credentials (key_id, organisation_id, name, permissions, fingerprint, created_by, created_at) \
     VALUES ('key-1', 'provider', 'Rostering', '[]', 'print', 'caseworker-1', '2026-11-01T09:00:00Z')",
    "INSERT INTO admin_events (id, at, actor_id, actor_name, action, detail) VALUES ('admin-1', '2026-11-01T09:00:00Z', 'caseworker-1', 'Cy', 'credential.created', '')",
    "INSERT INTO api_idempotency_keys (organisation_id, idempotency_key, request, request_hash, resource_id, credential_id, created_at) \
     VALUES ('provider', 'key', 'POST /api/v1/…', 'hash', 'visit-1', 'key-1', '2026-11-01T09:00:00Z')",
    "INSERT INTO record_versions (id, person_id, kind, item_id, version, snapshot, changed_by, organisation_id, changed_at) \
     VALUES ('version-1', 'person-1', 'care_plan', '', 1, '{}', 'Brookside', 'provider', '2026-11-01T09:00:00Z')",
];

fn with_fixture(test: &str) -> Option<Both> {
    let both = Both::new(test)?;
    for statement in FIXTURE {
        both.ok(statement);
    }
    Some(both)
}

#[test]
fn every_refusing_trigger_refuses_with_sqlites_message() {
    let Some(both) = with_fixture("refusals") else { return };
    // Every trigger that refuses a change whatever the row (no WHEN), found in SQLite's own
    // schema, so a table made append-only later is tried here too.
    let triggers = query(
        &both.sqlite,
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%RAISE(ABORT%' AND sql NOT LIKE '%WHEN %'",
        &[],
    );
    assert!(triggers.len() >= 20, "the append-only triggers are found ({})", triggers.len());
    for row in triggers {
        let (name, table) = (text(&row, 0), text(&row, 1));
        let trigger = Trigger::parse(name.clone(), &text(&row, 2));
        let count = query(&both.sqlite, &format!("SELECT count(*) FROM {table}"), &[])[0].integer(0).unwrap();
        assert!(count > 0, "the fixture has a row in {table} to try {name} on");
        let statement = match trigger.event.as_str() {
            "DELETE" => format!("DELETE FROM {table}"),
            "UPDATE" => {
                let column = trigger
                    .columns
                    .first()
                    .cloned()
                    .unwrap_or_else(|| text(&query(&both.sqlite, "SELECT name FROM pragma_table_info(?1)", &[table.as_str().into()])[0], 0));
                format!("UPDATE {table} SET {column} = {column}")
            }
            other => panic!("{name}: an unconditional refusal of {other}"),
        };
        let refusal = both.same(&statement, &[]);
        assert!(refusal.is_err(), "{name}: {statement} is refused");
    }
}

#[test]
fn conditional_triggers_refuse_and_write_as_on_sqlite() {
    let Some(both) = with_fixture("conditional") else { return };
    // The database's own writes: staff start with the least role; each need recorded or ended
    // is in the changes feed, numbered.
    both.ok("INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at) VALUES ('staff-2', 'provider_staff', 'Jo', 'provider', 'h4', '2026-11-01T09:00:00Z')");
    let roles = both.rows("SELECT council_role, provider_role FROM people WHERE id IN ('caseworker-1', 'staff-2') ORDER BY id");
    assert_eq!(roles, [Row(vec!["caseworker".into(), Value::Null]), Row(vec![Value::Null, "staff".into()])]);
    assert_eq!(both.same("UPDATE format_needs SET need = 'large_print'", &[]), Err(DbError::Unavailable("format needs can only be ended".into())));
    both.ok("UPDATE format_needs SET ended_at = '2026-11-02T09:00:00Z', ended_by = 'person-1'");
    assert_eq!(both.rows("SELECT seq, person_id, need_id, change, at FROM format_need_changes ORDER BY seq").len(), 2);
    assert!(both.same("UPDATE format_needs SET ended_at = '2026-11-03T09:00:00Z'", &[]).is_err(), "ended once");
    // An emergency code counts wrong attempts up, never down; an access needs the person's live code.
    both.ok("UPDATE emergency_codes SET failed_attempts = failed_attempts + 1");
    assert!(matches!(both.same("UPDATE emergency_codes SET failed_attempts = 0", &[]), Err(DbError::Constraint(_))));
    let wrong_person = "INSERT INTO emergency_accesses (id, token_hash, code_id, person_id, clinician_name, clinician_role, organisation, started_at, expires_at) \
         VALUES ('access-2', 'token-2', 'code-1', 'staff-1', 'Dr Lee', 'Paramedic', 'YAS', '2026-11-01T09:00:00Z', '2026-11-01T13:00:00Z')";
    assert!(matches!(both.same(wrong_person, &[]), Err(DbError::Constraint(_))));
    assert!(both.same("UPDATE emergency_accesses SET clinician_name = 'Dr Smith'", &[]).is_err());
    both.ok("UPDATE emergency_accesses SET ended_at = '2026-11-01T10:00:00Z'");
    assert!(both.same("UPDATE emergency_accesses SET ended_at = '2026-11-01T11:00:00Z'", &[]).is_err(), "ended once");
    both.ok("UPDATE emergency_codes SET ended_at = '2026-11-02T09:00:00Z', ended_by = 'person-1', end_reason = 'turned_off'");
    assert!(both.same("UPDATE emergency_codes SET end_reason = 'replaced'", &[]).is_err(), "ended once");
    // A consent discussion is answered, never rewritten.
    assert!(both.same("UPDATE consent_discussions SET decisions = 'Share everything'", &[]).is_err());
    both.ok("UPDATE consent_discussions SET status = 'confirmed', responded_by = 'person-1', responded_at = '2026-11-02T09:00:00Z', version = 2");
    // A credential's revocation names who, and stays.
    assert!(matches!(both.same("UPDATE system_credentials SET revoked_at = '2026-11-02T09:00:00Z'", &[]), Err(DbError::Constraint(_))));
    both.ok("UPDATE system_credentials SET revoked_at = '2026-11-02T09:00:00Z', revoked_by = 'caseworker-1'");
    assert!(matches!(both.same("UPDATE system_credentials SET revoked_at = NULL", &[]), Err(DbError::Constraint(_))));
    assert!(matches!(both.same("UPDATE system_credentials SET revoked_by = 'person-1'", &[]), Err(DbError::Constraint(_))));
    // Removing a member of staff's access names who, is final, and stops new sessions,
    // passkeys and invitations.
    assert!(both.same("UPDATE people SET access_removed_at = '2026-11-02T09:00:00Z' WHERE id = 'staff-1'", &[]).is_err());
    both.ok("UPDATE people SET access_removed_at = '2026-11-02T09:00:00Z', access_removed_by = 'caseworker-1' WHERE id = 'staff-1'");
    assert!(both.same("UPDATE people SET access_removed_by = 'person-1' WHERE id = 'staff-1'", &[]).is_err());
    for statement in [
        "INSERT INTO sessions (id_hash, person_id, created_at, last_seen_at) VALUES ('s', 'staff-1', '2026-11-03T09:00:00Z', '2026-11-03T09:00:00Z')",
        "INSERT INTO passkeys (id, person_id, credential_id, name, passkey, created_at) VALUES ('p', 'staff-1', 'c', 'Phone', '{}', '2026-11-03T09:00:00Z')",
        "INSERT INTO invitations (id, selector, verifier_hash, person_id, created_at, expires_at) VALUES ('i', 's', 'v', 'staff-1', '2026-11-03T09:00:00Z', '2026-11-10T09:00:00Z')",
    ] {
        assert!(both.same(statement, &[]).is_err(), "{statement}");
    }
    both.ok("INSERT INTO sessions (id_hash, person_id, created_at, last_seen_at) VALUES ('s', 'person-1', '2026-11-03T09:00:00Z', '2026-11-03T09:00:00Z')");
}

#[test]
fn grant_history_is_the_same_json_text() {
    let Some(both) = with_fixture("grant_history") else { return };
    // Text that JSON must escape (quotes, a backslash, a newline) and text it need not.
    let purpose = Value::Text("Sam's \"care\" – help with\nmedicines \\ é".into());
    let insert = "INSERT INTO grants (id, version, subject_id, grantee_kind, grantee_id, categories, actions, act_for, purpose, starts_at, ends_at, basis, evidence, recorded_by, acting_for, changed_at) \
         VALUES ('grant-1', 1, 'person-1', 'person', 'staff-1', '[\"medication\", \"visits\"]', '[\"view\"]', 1, ?1, '2026-11-01T09:00:00Z', NULL, 'lasting_power_of_attorney', 'LPA 123', 'caseworker-1', 'person-1', '2026-11-01T09:00:00Z')";
    assert_eq!(both.same(insert, std::slice::from_ref(&purpose)), Ok(()));
    both.ok("UPDATE grants SET version = 2, categories = '[]', revoked_at = '2026-11-02T09:00:00Z', ends_at = '2026-12-01T09:00:00Z', changed_at = '2026-11-02T09:00:00Z' WHERE id = 'grant-1'");
    let history =
        both.rows("SELECT grant_id, version, snapshot, changed_at, recorded_by, acting_for FROM grant_history WHERE grant_id = 'grant-1' ORDER BY version");
    assert_eq!(history.len(), 2);
    let first = text(&history[0], 2);
    assert!(
        first.starts_with("{\"id\":\"grant-1\",\"version\":1,")
            && first.contains("\"categories\":[\"medication\",\"visits\"]")
            && first.contains("\"ends_at\":null"),
        "{first}"
    );
    // A second row for the same version is refused on both, as a constraint.
    both.refused("UPDATE grants SET purpose = 'Other' WHERE id = 'grant-1'");
}

#[test]
fn checks_refuse_as_constraint_errors() {
    let Some(both) = with_fixture("checks") else { return };
    let person = |id: &str, column: &str, value: &str| {
        format!(
            "INSERT INTO people (id, role, display_name, webauthn_handle, created_at, {column}) VALUES ('{id}', 'service_user', 'A', '{id}', '2026-11-01T09:00:00Z', {value})"
        )
    };
    both.ok(&person("p-nhs", "nhs_number", "'9434765919'"));
    both.ok(&person("p-born", "date_of_birth", "'1950-01-31'"));
    for (column, value) in [
        ("nhs_number", "'943476591x'"),
        ("nhs_number", "'943476591'"),
        ("date_of_birth", "'1950-1-31'"),
        ("date_of_birth", "'1950-01-31T00:00'"),
        ("date_of_birth", "'x1950-01-31'"),
        ("council_role", "'caseworker'"),
    ] {
        both.refused(&person(&format!("p-{column}"), column, value));
    }
    let notification = |id: &str, personalisation: &str| {
        format!(
            "INSERT INTO notifications (id, kind, person_id, channel, recipient, personalisation, status, next_attempt_at, created_at, updated_at) \
             VALUES ('{id}', 'invitation', 'person-1', 'email', 'sam@example.org', '{personalisation}', 'queued', '2026-11-01T09:00:00Z', '2026-11-01T09:00:00Z', '2026-11-01T09:00:00Z')"
        )
    };
    both.ok(&notification("n-1", "{\"name\": \"Sam\"}"));
    both.refused(&notification("n-2", "[\"Sam\"]"));
    both.refused(&notification("n-3", "not json"));
    both.refused(&notification("n-1", "{}"));
    // A plan's guard, a unique key, a foreign key and a NOT NULL.
    both.refused("INSERT INTO plan_guards (reason) VALUES ('the grant changed')");
    both.refused(&person("p-nhs-again", "nhs_number", "'9434765919'"));
    both.refused("INSERT INTO sessions (id_hash, person_id, created_at, last_seen_at) VALUES ('s', 'nobody', '2026-11-03T09:00:00Z', '2026-11-03T09:00:00Z')");
    both.refused("INSERT INTO audit_events (id, at, action) VALUES ('event-2', '2026-11-01T09:00:00Z', NULL)");
    both.refused(
        "INSERT INTO grants (id, version, subject_id, grantee_kind, grantee_id, categories, actions, act_for, purpose, starts_at, basis, recorded_by, changed_at) \
         VALUES ('grant-2', 1, 'person-1', 'organisation', 'provider', '[]', '[]', 1, 'Care', '2026-11-01T09:00:00Z', 'consent', 'person-1', '2026-11-01T09:00:00Z')",
    );
    // The changes feed numbers itself on both.
    both.ok("INSERT INTO format_needs (id, person_id, need, recorded_by, recorded_by_name, recorded_at) VALUES ('need-2', 'person-1', 'large_print', 'person-1', 'Sam', '2026-11-01T10:00:00Z')");
    both.rows("SELECT seq, need_id FROM format_need_changes ORDER BY seq");
}

/// Migration 27's triggers note the same changes on both: one for the provider at each write
/// to what its monitoring figures count (the fixture's grant, need, comment, discussion and
/// emergency access), and one for each answer, revocation and ended need after.
#[test]
fn the_monitoring_triggers_note_the_same_changes() {
    let Some(both) = with_fixture("monitoring_changes") else { return };
    both.ok("UPDATE consent_discussions SET status = 'confirmed', responded_by = 'person-1', responded_at = '2026-11-02T09:00:00Z' WHERE id = 'discussion-1'");
    both.ok("UPDATE format_needs SET ended_at = '2026-11-03T09:00:00Z', ended_by = 'person-1' WHERE id = 'need-1'");
    both.ok("UPDATE grants SET revoked_at = '2026-11-04T09:00:00Z', version = 2 WHERE id = 'grant-0'");
    both.ok(
        "INSERT INTO grants (id, version, subject_id, grantee_kind, grantee_id, categories, actions, act_for, purpose, starts_at, basis, recorded_by, changed_at) \
         VALUES ('grant-9', 1, 'person-1', 'person', 'person-2', '[\"medication\"]', '[\"view\"]', 0, 'Family', '2026-11-01T09:00:00Z', 'consent', 'person-1', '2026-11-01T09:00:00Z')",
    );
    let rows = both.rows("SELECT organisation_id, COUNT(*) FROM monitoring_changes GROUP BY organisation_id ORDER BY organisation_id");
    assert_eq!(rows.len(), 1, "only the provider, and no change for a grant to a person: {rows:?}");
    assert_eq!(rows[0].integer(1).unwrap(), 8, "five writes in the fixture, three after");
}
