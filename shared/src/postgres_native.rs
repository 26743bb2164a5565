//! The native PostgreSQL backend (the synchronous `postgres` client) for tests, tools and
//! carefront-admin: the same SQL as every other store, put into PostgreSQL's dialect by
//! [`crate::postgres::dialect`].

use std::sync::Mutex;

use async_trait::async_trait;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Config, NoTls};

use crate::db::{Database, DbError, Row, Statement, Value};
use crate::migrations::Migration;
use crate::postgres::{self as dialect, BEGIN};

/// The table that records which migrations a PostgreSQL schema has (SQLite keeps the number in
/// `PRAGMA user_version`; PostgreSQL has no such place).
const MIGRATIONS_TABLE: &str = "carefront_migrations";

/// A PostgreSQL database reached natively, in one schema.
pub struct PostgresDatabase {
    config: Config,
    schema: Option<String>,
    client: Mutex<Option<Client>>,
    /// Whether the schema was made for this value (a test's), and is dropped with it.
    owned_schema: bool,
}

impl std::fmt::Debug for PostgresDatabase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("PostgresDatabase").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl PostgresDatabase {
    /// Connects to the database at `url` (`postgres://user@host:port/name`) and applies the
    /// migrations it has not had yet.
    pub fn open(url: &str, migrations: &[Migration]) -> Result<Self, DbError> {
        let database = Self::connect(url, None)?;
        database.migrate(migrations)?;
        Ok(database)
    }

    /// A new, empty schema of its own in the database at `url`, migrated, and dropped again when
    /// the value is: one test's store, alone among many on one server.
    pub fn fresh(url: &str, migrations: &[Migration], name: &str) -> Result<Self, DbError> {
        let schema: String = name.chars().map(|char| if char.is_ascii_alphanumeric() { char.to_ascii_lowercase() } else { '_' }).collect();
        let schema = format!("cf_{schema}");
        let mut database = Self::connect(url, None)?;
        database.with(|client| client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")))?;
        database.schema = Some(schema);
        database.owned_schema = true;
        // Reconnect inside the schema, as every later connection will be.
        database.client = Mutex::new(None);
        database.migrate(migrations)?;
        Ok(database)
    }

    fn connect(url: &str, schema: Option<String>) -> Result<Self, DbError> {
        let config: Config = url.parse().map_err(|error| DbError::Unavailable(format!("not a PostgreSQL address: {error}")))?;
        let database = PostgresDatabase { config, schema, client: Mutex::new(None), owned_schema: false };
        database.with(|_| Ok(()))?;
        Ok(database)
    }

    /// A second connection to the same database and schema (which stays the first one's).
    pub fn another_connection(&self) -> Result<Self, DbError> {
        let database = PostgresDatabase { config: self.config.clone(), schema: self.schema.clone(), client: Mutex::new(None), owned_schema: false };
        database.with(|_| Ok(()))?;
        Ok(database)
    }

    /// Applies, each in its own transaction, the migrations this schema has not had.
    pub fn migrate(&self, migrations: &[Migration]) -> Result<(), DbError> {
        self.with(|client| {
            client.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (number BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            ))?;
            let current: Option<i64> = client.query_one(&format!("SELECT max(number) FROM {MIGRATIONS_TABLE}"), &[])?.get(0);
            for migration in migrations.iter().filter(|migration| migration.number > current.unwrap_or(0)) {
                let mut transaction = client.transaction()?;
                transaction.batch_execute(migration.sql)?;
                transaction.execute(&format!("INSERT INTO {MIGRATIONS_TABLE} (number, name) VALUES ($1, $2)"), &[&migration.number, &migration.name])?;
                transaction.commit()?;
            }
            Ok(())
        })
    }

    /// Every value in every table of the schema, as text, one row a line: for checks that a
    /// secret is stored nowhere.
    pub fn dump_text(&self) -> Result<String, DbError> {
        self.with(|client| {
            let tables = client.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
                &[],
            )?;
            let mut out = String::new();
            for table in tables {
                let name: String = table.get(0);
                for row in client.simple_query(&format!("SELECT * FROM \"{name}\""))? {
                    if let postgres::SimpleQueryMessage::Row(row) = row {
                        let values: Vec<&str> = (0..row.len()).map(|index| row.get(index).unwrap_or("NULL")).collect();
                        out.push_str(&format!("{name}: {}\n", values.join(", ")));
                    }
                }
            }
            Ok(out)
        })
    }

    /// Runs `work` on the connection, making it first if there is none or it was lost (the
    /// server restarted): the next call after PostgreSQL comes back works again.
    fn with<T>(&self, work: impl FnOnce(&mut Client) -> Result<T, postgres::Error>) -> Result<T, DbError> {
        let mut slot = self.client.lock().map_err(|_| DbError::Unavailable("connection lock poisoned".into()))?;
        if slot.as_ref().is_none_or(Client::is_closed) {
            let mut client = self.config.connect(NoTls).map_err(error)?;
            check_collation(&mut client)?;
            if let Some(schema) = &self.schema {
                client.batch_execute(&format!("SET search_path TO {schema}")).map_err(error)?;
            }
            *slot = Some(client);
        }
        let client = slot.as_mut().ok_or_else(|| DbError::Unavailable("no connection".into()))?;
        work(client).map_err(error)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if let (true, Some(schema)) = (self.owned_schema, &self.schema)
            && let Ok(mut slot) = self.client.lock()
            && let Some(client) = slot.as_mut()
        {
            // A test's schema; if dropping it fails the server's data directory is thrown away
            // after the run anyway.
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// The store keeps times as ISO 8601 text and compares them as text: that is only right when
/// text sorts bytewise, as SQLite's does, so a database with another collation is refused
/// rather than answering wrongly.
fn check_collation(client: &mut Client) -> Result<(), DbError> {
    let collation: String = client.query_one("SELECT datcollate::text FROM pg_database WHERE datname = current_database()", &[]).map_err(error)?.get(0);
    if matches!(collation.as_str(), "C" | "POSIX" | "C.UTF-8" | "C.utf8") {
        Ok(())
    } else {
        Err(DbError::Unavailable(format!(
            "the database's collation is {collation}; carefront needs C: CREATE DATABASE … TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"
        )))
    }
}

/// An error in the SQL itself (the dialect missed something) names the statement, without its
/// values: so the log says what to fix.
fn naming(error: DbError, sql: &str) -> DbError {
    match error {
        DbError::Unavailable(message) if message.contains("syntax error") || message.contains("does not exist") => {
            DbError::Unavailable(format!("{message} in: {}", sql.split_whitespace().collect::<Vec<_>>().join(" ")))
        }
        other => other,
    }
}

fn error(error: postgres::Error) -> DbError {
    let code = error.code().map(|code| code.code().to_owned());
    let message = match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => error.to_string(),
    };
    dialect::classify(code.as_deref(), message)
}

/// A bound value: the SQL casts each placeholder to its value's type, so an integer is always
/// sent as `int8` and text as `text`.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(number) => match *ty {
                Type::INT8 => number.to_sql(ty, out),
                Type::INT4 => i32::try_from(*number)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*number)?.to_sql(ty, out),
                Type::BOOL => (*number != 0).to_sql(ty, out),
                _ => number.to_string().as_str().to_sql(ty, out),
            },
            Value::Text(text) => match *ty {
                Type::INT8 => text.parse::<i64>()?.to_sql(ty, out),
                _ => text.as_str().to_sql(ty, out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn bind(params: &[Value]) -> Vec<Param<'_>> {
    dialect::bound(params).map(Param).collect()
}

fn refs<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|param| param as &(dyn ToSql + Sync)).collect()
}

fn read(row: &postgres::Row) -> Result<Row, DbError> {
    let decode = |index: usize, error: postgres::Error| DbError::Decode(format!("column {index}: {error}"));
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(index).map(|value| value.map(Value::Integer)),
            Type::INT4 => row.try_get::<_, Option<i32>>(index).map(|value| value.map(|number| Value::Integer(number.into()))),
            Type::INT2 => row.try_get::<_, Option<i16>>(index).map(|value| value.map(|number| Value::Integer(number.into()))),
            Type::BOOL => row.try_get::<_, Option<bool>>(index).map(|value| value.map(|truth| Value::Integer(truth.into()))),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                row.try_get::<_, Option<String>>(index).map(|value| value.map(Value::Text))
            }
            ref other => return Err(DbError::Decode(format!("column {index} ({}): type {other} is not one the store reads", column.name()))),
        }
        .map_err(|error| decode(index, error))?;
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

#[async_trait(?Send)]
impl Database for PostgresDatabase {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let sql = dialect::dialect(sql, params);
        let bound = bind(params);
        let rows = self.with(|client| client.query(sql.as_str(), &refs(&bound))).map_err(|error| naming(error, &sql))?;
        rows.iter().map(read).collect()
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let sql = dialect::dialect(sql, params);
        let bound = bind(params);
        self.with(|client| client.execute(sql.as_str(), &refs(&bound))).map_err(|error| naming(error, &sql))
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.with(|client| {
            client.batch_execute(BEGIN)?;
            let mut run = || -> Result<(), postgres::Error> {
                for statement in statements {
                    let bound = bind(&statement.params);
                    client.execute(dialect::dialect(&statement.sql, &statement.params).as_str(), &refs(&bound))?;
                }
                client.batch_execute("COMMIT")
            };
            let outcome = run();
            if outcome.is_err() {
                // A failed statement (or COMMIT) leaves the transaction aborted: end it, so the
                // connection is usable and nothing of the batch is kept. Its own failure would
                // only hide the first error.
                let _ = client.batch_execute("ROLLBACK");
            }
            outcome
        })
    }
}
