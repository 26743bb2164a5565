//! Where a store is, as every `--database`, `--from` and `--to` names it: `sqlite:FILE` (or a
//! plain file path) for a SQLite file, `postgres://user@host:port/name` for PostgreSQL.

use std::path::PathBuf;

use carefront_shared::db::{Database, DbError};
use carefront_shared::migrations;
use carefront_shared::postgres_native::PostgresDatabase;
use carefront_shared::sqlite::SqliteDatabase;

/// A store's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A SQLite file (local development, Spin's file, a copy of D1).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL.
    Postgres(String),
}

/// Which SQL a store speaks: what differs between them when a whole store is moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (rusqlite here; D1 and Spin's SQLite elsewhere).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// An open store, migrated to this tool's schema.
pub use carefront_shared::native_store::NativeDatabase as Opened;

impl Address {
    /// Reads `sqlite:FILE`, `postgres://…` / `postgresql://…` or a file path.
    pub fn parse(text: &str) -> Result<Address, String> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Address::Postgres(text.to_owned()));
        }
        let path = text.strip_prefix("sqlite:").unwrap_or(text);
        if path.is_empty() || path.contains("://") {
            return Err(format!("{text:?} is not a store's address: give sqlite:FILE or postgres://user@host:port/name"));
        }
        Ok(Address::Sqlite(PathBuf::from(path)))
    }

    /// The address to show: a PostgreSQL URL without its password.
    pub fn shown(&self) -> String {
        match self {
            Address::Sqlite(path) => format!("sqlite:{}", path.display()),
            Address::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) if parsed.password().is_some() => {
                    let _ = parsed.set_password(Some("***"));
                    parsed.to_string()
                }
                _ => url.clone(),
            },
        }
    }

    /// The schema version stored there, read without changing anything: `None` when there is no
    /// carefront store yet (no file, or a database without carefront's tables).
    pub fn stored_version(&self) -> Result<Option<i64>, String> {
        match self {
            Address::Sqlite(path) => {
                if !path.exists() {
                    return Ok(None);
                }
                let connection = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
                let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(|error| format!("{}: {error}", path.display()))?;
                Ok(Some(version).filter(|version| *version > 0))
            }
            Address::Postgres(url) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).map_err(|error| format!("cannot reach {}: {error}", self.shown()))?;
                let row =
                    client.query_one("SELECT to_regclass('carefront_migrations') IS NOT NULL", &[]).map_err(|error| format!("{}: {error}", self.shown()))?;
                if !row.get::<_, bool>(0) {
                    return Ok(None);
                }
                let row = client.query_one("SELECT max(number) FROM carefront_migrations", &[]).map_err(|error| format!("{}: {error}", self.shown()))?;
                Ok(row.get::<_, Option<i64>>(0))
            }
        }
    }

    /// Opens the store, making it if there is none, and applies the migrations it has not had.
    pub fn open(&self) -> Result<Opened, String> {
        let shown = self.shown();
        match self {
            Address::Sqlite(path) => SqliteDatabase::open(path).map(Opened::Sqlite),
            Address::Postgres(url) => PostgresDatabase::open(url, migrations::POSTGRES).map(|database| Opened::Postgres(Box::new(database))),
        }
        .map_err(|error| format!("{shown}: {error}"))
    }

    /// Opens a store that must already exist (an import or export into nothing is a mistake).
    pub fn open_existing(&self) -> Result<Opened, String> {
        if let Address::Sqlite(path) = self
            && !path.exists()
        {
            return Err(format!("no database at {}", path.display()));
        }
        self.open()
    }
}

/// Which SQL an open store speaks.
pub fn dialect(opened: &Opened) -> Dialect {
    match opened {
        Opened::Sqlite(_) => Dialect::Sqlite,
        Opened::Postgres(_) => Dialect::Postgres,
    }
}

/// The schema version of an open store: SQLite keeps it in `user_version`, PostgreSQL in
/// `carefront_migrations`.
pub async fn schema_version(database: &dyn Database, dialect: Dialect) -> Result<i64, DbError> {
    let sql = match dialect {
        Dialect::Sqlite => "PRAGMA user_version",
        Dialect::Postgres => "SELECT coalesce(max(number), 0) FROM carefront_migrations",
    };
    let rows = database.query(sql, &[]).await?;
    rows.first().ok_or_else(|| DbError::Decode("no schema version".into()))?.integer(0)
}

/// The newest schema version this tool knows for a dialect.
pub fn latest_version(dialect: Dialect) -> i64 {
    let list = match dialect {
        Dialect::Sqlite => migrations::MIGRATIONS,
        Dialect::Postgres => migrations::POSTGRES,
    };
    list.last().map_or(0, |migration| migration.number)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

    use super::*;

    #[test]
    fn addresses_name_a_sqlite_file_or_a_postgresql_database() {
        assert_eq!(Address::parse("sqlite:carefront.sqlite").unwrap(), Address::Sqlite("carefront.sqlite".into()));
        assert_eq!(Address::parse(".state/carefront.sqlite").unwrap(), Address::Sqlite(".state/carefront.sqlite".into()));
        assert_eq!(Address::parse("postgres://u@h:5432/db").unwrap(), Address::Postgres("postgres://u@h:5432/db".into()));
        assert_eq!(Address::parse("postgresql://u@h/db").unwrap(), Address::Postgres("postgresql://u@h/db".into()));
        assert!(Address::parse("mysql://u@h/db").is_err());
        assert!(Address::parse("sqlite:").is_err());
        assert!(Address::parse("").is_err());
        assert_eq!(Address::parse("postgres://u:secret@h/db").unwrap().shown(), "postgres://u:***@h/db");
    }
}
