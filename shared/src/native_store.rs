//! The backing store a native program has open: a SQLite file (the embedded default) or a
//! PostgreSQL database (carefront-admin opens either by its address); and the store the tests
//! run on, SQLite in memory or, when `CAREFRONT_TEST_POSTGRES` names a server, a fresh PostgreSQL
//! schema of their own, so that one suite checks both.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::db::{Database, DbError, Row, Statement, Value};
use crate::migrations;
use crate::postgres_native::PostgresDatabase;
use crate::sqlite::SqliteDatabase;

/// The environment variable naming the PostgreSQL server the tests use
/// (`postgres://user@host:port/database`), when they should run on PostgreSQL.
pub const TEST_POSTGRES: &str = "CAREFRONT_TEST_POSTGRES";

/// A native store of either kind.
#[derive(Debug)]
pub enum NativeDatabase {
    /// SQLite, in a file or in memory.
    Sqlite(SqliteDatabase),
    /// PostgreSQL.
    Postgres(Box<PostgresDatabase>),
}

impl NativeDatabase {
    /// A fresh, empty, migrated store for one test: PostgreSQL when [`TEST_POSTGRES`] is set,
    /// SQLite in memory otherwise.
    pub fn for_tests() -> Result<NativeDatabase, DbError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        match std::env::var(TEST_POSTGRES) {
            Ok(url) if !url.is_empty() => {
                let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
                PostgresDatabase::fresh(&url, migrations::POSTGRES, &name).map(|database| NativeDatabase::Postgres(Box::new(database)))
            }
            _ => SqliteDatabase::in_memory().map(NativeDatabase::Sqlite),
        }
    }

    /// Which kind of store this is, in a word: for reports and test names.
    pub fn kind(&self) -> &'static str {
        match self {
            NativeDatabase::Sqlite(_) => "SQLite",
            NativeDatabase::Postgres(_) => "PostgreSQL",
        }
    }

    /// Every row of every table as text: for checks that a secret is stored nowhere.
    pub fn dump_text(&self) -> Result<String, DbError> {
        match self {
            NativeDatabase::Sqlite(database) => database.dump_inserts(|_| Some("INSERT")),
            NativeDatabase::Postgres(database) => database.dump_text(),
        }
    }

    fn inner(&self) -> &dyn Database {
        match self {
            NativeDatabase::Sqlite(database) => database,
            NativeDatabase::Postgres(database) => database.as_ref(),
        }
    }
}

#[async_trait(?Send)]
impl Database for NativeDatabase {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.inner().query(sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.inner().execute(sql, params).await
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.inner().batch(statements).await
    }
}
