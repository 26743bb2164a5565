//! `spin:sqlite/sqlite@3.1.0`, backed by rusqlite on `<state-dir>/sqlite_db.db` for the
//! database named "default" (Spin's own default file name under `.spin/`).
//!
//! Every `open` gets its own SQLite connection (`PRAGMA foreign_keys = ON`, a 5 s busy
//! timeout). The async functions run SQLite on tokio's blocking pool. `execute-async` runs the
//! statement to completion first, then hands the rows to the guest over the stream and the
//! final status over the future: a step error after some rows arrives through the future, after
//! the rows read before it, as in Spin. Rows are therefore held in memory for one statement.

use crate::bindings::spin::sqlite::sqlite::{Error, Host, HostConnection, HostConnectionWithStore, QueryResult, RowResult, Value};
use crate::state::{HostState, SpinImports};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

/// The name of the only database this host knows.
pub const DEFAULT_DATABASE: &str = "default";

/// The file name Spin uses for the default database inside its state directory.
pub const DEFAULT_DATABASE_FILE: &str = "sqlite_db.db";

/// Per-component SQLite configuration.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The default database file, if the component may use it.
    pub default_db: Option<PathBuf>,
    /// Whether a default database exists for the app at all (for `access-denied` vs
    /// `no-such-database`).
    pub app_has_default: bool,
}

/// The host side of a `connection` resource.
pub struct Connection {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

fn io_error(e: impl std::fmt::Display) -> Error {
    Error::Io(e.to_string())
}

fn sqlite_error(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(code, _) = &e
        && code.code == rusqlite::ErrorCode::DiskFull
    {
        return Error::DatabaseFull;
    }
    io_error(e)
}

fn open_file(config: &SqliteConfig, name: &str) -> Result<rusqlite::Connection, Error> {
    if name != DEFAULT_DATABASE {
        return Err(Error::NoSuchDatabase);
    }
    let Some(path) = &config.default_db else {
        return Err(if config.app_has_default { Error::AccessDenied } else { Error::NoSuchDatabase });
    };
    let conn = rusqlite::Connection::open(path).map_err(sqlite_error)?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(sqlite_error)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(sqlite_error)?;
    Ok(conn)
}

fn to_sql(value: Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Value::Integer(i) => V::Integer(i),
        Value::Real(f) => V::Real(f),
        Value::Text(s) => V::Text(s),
        Value::Blob(b) => V::Blob(b),
        Value::Null => V::Null,
    }
}

fn from_sql(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as V;
    match value {
        V::Integer(i) => Value::Integer(i),
        V::Real(f) => Value::Real(f),
        V::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        V::Blob(b) => Value::Blob(b.to_vec()),
        V::Null => Value::Null,
    }
}

/// The outcome of running one statement: its columns, the rows produced before the statement
/// finished or failed, and how it ended.
struct Executed {
    columns: Vec<String>,
    rows: Vec<RowResult>,
    end: Result<(), Error>,
}

/// Run one statement to completion. A failure to prepare or bind is an `Err` (the whole call
/// fails); a failure while stepping is reported in `end`, after the rows read before it.
fn run_statement(conn: &rusqlite::Connection, statement: &str, parameters: Vec<Value>) -> Result<Executed, Error> {
    let mut stmt = conn.prepare(statement).map_err(sqlite_error)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let params: Vec<rusqlite::types::Value> = parameters.into_iter().map(to_sql).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(sqlite_error)?;
    let mut out = Vec::new();
    let end = loop {
        match rows.next() {
            Ok(Some(row)) => {
                let mut values = Vec::with_capacity(columns.len());
                for i in 0..columns.len() {
                    match row.get_ref(i) {
                        Ok(v) => values.push(from_sql(v)),
                        Err(e) => return Err(sqlite_error(e)),
                    }
                }
                out.push(RowResult { values });
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(sqlite_error(e)),
        }
    };
    Ok(Executed { columns, rows: out, end })
}

fn lock(conn: &Mutex<rusqlite::Connection>) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
    // A poisoned lock only means another call panicked mid-statement; SQLite itself stays
    // consistent, so keep going.
    conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R, Error> + Send + 'static) -> Result<R, Error> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| Err(io_error(format!("sqlite task failed: {e}"))))
}

impl Host for HostState {}

impl HostConnection for HostState {
    fn open(&mut self, database: String) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        let conn = match open_file(&self.component.sqlite, &database) {
            Ok(conn) => conn,
            Err(e) => return Ok(Err(e)),
        };
        let resource = self.table.push(Connection { conn: Arc::new(Mutex::new(conn)) })?;
        Ok(Ok(resource))
    }

    fn execute(&mut self, connection: Resource<Connection>, statement: String, parameters: Vec<Value>) -> wasmtime::Result<Result<QueryResult, Error>> {
        let conn = self.table.get(&connection)?.conn.clone();
        let conn = lock(&conn);
        Ok(run_statement(&conn, &statement, parameters)
            .and_then(|executed| executed.end.map(|()| QueryResult { columns: executed.columns, rows: executed.rows })))
    }

    fn last_insert_rowid(&mut self, connection: Resource<Connection>) -> wasmtime::Result<i64> {
        let conn = self.table.get(&connection)?.conn.clone();
        let rowid = lock(&conn).last_insert_rowid();
        Ok(rowid)
    }

    fn changes(&mut self, connection: Resource<Connection>) -> wasmtime::Result<u64> {
        let conn = self.table.get(&connection)?.conn.clone();
        let changes = lock(&conn).changes();
        Ok(changes)
    }

    fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

fn connection_of<T>(accessor: &Accessor<T, SpinImports>, connection: &Resource<Connection>) -> wasmtime::Result<Arc<Mutex<rusqlite::Connection>>> {
    accessor.with(|mut access| {
        let state = access.get();
        Ok(state.table.get(connection)?.conn.clone())
    })
}

impl<T> HostConnectionWithStore<T> for SpinImports {
    async fn open_async(accessor: &Accessor<T, Self>, database: String) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        let config = accessor.with(|mut access| access.get().component.sqlite.clone());
        let opened = blocking(move || open_file(&config, &database)).await;
        let conn = match opened {
            Ok(conn) => conn,
            Err(e) => return Ok(Err(e)),
        };
        accessor.with(|mut access| {
            let resource = access.get().table.push(Connection { conn: Arc::new(Mutex::new(conn)) })?;
            Ok(Ok(resource))
        })
    }

    #[allow(clippy::type_complexity, reason = "the shape is fixed by the WIT")]
    async fn execute_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<(Vec<String>, StreamReader<RowResult>, FutureReader<Result<(), Error>>), Error>> {
        let conn = connection_of(accessor, &connection)?;
        let executed = blocking(move || {
            let conn = lock(&conn);
            run_statement(&conn, &statement, parameters)
        })
        .await;
        let executed = match executed {
            Ok(executed) => executed,
            Err(e) => return Ok(Err(e)),
        };
        let Executed { columns, rows, end } = executed;
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let end = FutureReader::new(&mut access, async move { wasmtime::error::Ok(end) })?;
            Ok(Ok((columns, rows, end)))
        })
    }

    async fn last_insert_rowid_async(accessor: &Accessor<T, Self>, connection: Resource<Connection>) -> wasmtime::Result<i64> {
        let conn = connection_of(accessor, &connection)?;
        let rowid = lock(&conn).last_insert_rowid();
        Ok(rowid)
    }

    async fn changes_async(accessor: &Accessor<T, Self>, connection: Resource<Connection>) -> wasmtime::Result<u64> {
        let conn = connection_of(accessor, &connection)?;
        let changes = lock(&conn).changes();
        Ok(changes)
    }
}
