//! The native store backend (rusqlite) for tests, tools and local development.

use std::sync::Mutex;

use async_trait::async_trait;
use rusqlite::types::ValueRef;

use crate::db::{Database, DbError, Row, Statement, Value, classify_error};
use crate::migrations;

/// A SQLite database file (or memory) opened with rusqlite.
pub struct SqliteDatabase {
    connection: Mutex<rusqlite::Connection>,
}

impl std::fmt::Debug for SqliteDatabase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SqliteDatabase")
    }
}

impl SqliteDatabase {
    /// A fresh in-memory database with every migration applied.
    pub fn in_memory() -> Result<Self, DbError> {
        Self::from_connection(rusqlite::Connection::open_in_memory().map_err(unavailable)?)
    }

    /// Opens (creating if needed) a database file and applies pending migrations.
    pub fn open(path: &std::path::Path) -> Result<Self, DbError> {
        Self::from_connection(rusqlite::Connection::open(path).map_err(unavailable)?)
    }

    fn from_connection(connection: rusqlite::Connection) -> Result<Self, DbError> {
        connection.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;").map_err(unavailable)?;
        let current: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(unavailable)?;
        for migration in migrations::pending(current) {
            connection
                .execute_batch(&format!("BEGIN; {} PRAGMA user_version = {}; COMMIT;", migration.sql, migration.number))
                .map_err(|error| DbError::Unavailable(format!("migration {}: {error}", migration.name)))?;
        }
        Ok(SqliteDatabase { connection: Mutex::new(connection) })
    }

    fn with<T>(&self, work: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T>) -> Result<T, DbError> {
        let mut connection = self.connection.lock().map_err(|_| DbError::Unavailable("connection lock poisoned".into()))?;
        work(&mut connection).map_err(classify)
    }

    /// Every row of the data tables as SQL, in creation order so foreign keys hold: how demo
    /// data made natively is loaded into D1. `verb` says, per table, how its rows are inserted
    /// (`INSERT OR IGNORE` makes loading twice harmless, plain `INSERT` fails loudly on a clash)
    /// or `None` to leave a table out (one the database fills itself, by trigger).
    pub fn dump_inserts(&self, verb: impl Fn(&str) -> Option<&'static str>) -> Result<String, DbError> {
        self.with(|connection| {
            let tables: Vec<String> = connection
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")?
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = String::new();
            for table in tables {
                let Some(verb) = verb(&table) else { continue };
                let mut statement = connection.prepare(&format!("SELECT * FROM \"{table}\""))?;
                let columns = statement.column_count();
                let mut rows = statement.query([])?;
                while let Some(row) = rows.next()? {
                    let values: Vec<String> = (0..columns).map(|index| row.get_ref(index).map(sql_literal)).collect::<rusqlite::Result<_>>()?;
                    out.push_str(&format!("{verb} INTO \"{table}\" VALUES ({});\n", values.join(", ")));
                }
            }
            Ok(out)
        })
    }
}

fn sql_literal(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(number) => number.to_string(),
        ValueRef::Real(number) => number.to_string(),
        ValueRef::Text(text) => format!("'{}'", String::from_utf8_lossy(text).replace('\'', "''")),
        ValueRef::Blob(bytes) => format!("X'{}'", bytes.iter().map(|byte| format!("{byte:02X}")).collect::<String>()),
    }
}

fn unavailable(error: rusqlite::Error) -> DbError {
    DbError::Unavailable(error.to_string())
}

fn classify(error: rusqlite::Error) -> DbError {
    classify_error(error.to_string())
}

fn bind(params: &[Value]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|value| match value {
            Value::Null => rusqlite::types::Value::Null,
            Value::Integer(number) => rusqlite::types::Value::Integer(*number),
            Value::Text(text) => rusqlite::types::Value::Text(text.clone()),
        })
        .collect()
}

fn read(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(number) => Value::Integer(number),
        // The schema stores no reals; keep the number rather than fail.
        ValueRef::Real(number) => Value::Text(number.to_string()),
        ValueRef::Text(text) | ValueRef::Blob(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
    }
}

#[async_trait(?Send)]
impl Database for SqliteDatabase {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.with(|connection| {
            let mut statement = connection.prepare_cached(sql)?;
            let columns = statement.column_count();
            let mut rows = statement.query(rusqlite::params_from_iter(bind(params)))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(Row((0..columns).map(|index| row.get_ref(index).map(read)).collect::<rusqlite::Result<_>>()?));
            }
            Ok(out)
        })
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.with(|connection| connection.prepare_cached(sql)?.execute(rusqlite::params_from_iter(bind(params))).map(|changed| changed as u64))
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.with(|connection| {
            let transaction = connection.transaction()?;
            for statement in statements {
                transaction.prepare_cached(&statement.sql)?.execute(rusqlite::params_from_iter(bind(&statement.params)))?;
            }
            transaction.commit()
        })
    }
}

/// Waiting natively, for [`crate::retry::Retrying`] over a SQLite file in tools and tests: the
/// thread blocks, which is what a native caller of this synchronous backend does anyway.
pub struct ThreadSleep;

#[async_trait(?Send)]
impl crate::retry::Sleep for ThreadSleep {
    async fn sleep(&self, duration: std::time::Duration) {
        std::thread::sleep(duration);
    }
}
