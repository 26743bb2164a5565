//! `spin:postgres/postgres@4.2.0` (Spin's outbound PostgreSQL, the version spin-sdk 7 imports),
//! over a real PostgreSQL connection with `tokio-postgres`.
//!
//! As in Spin: a component may connect only to a `postgres://host:port` in its
//! `allowed_outbound_hosts` (anything else is `connection-failed`, "not permitted"); each `open`
//! is a new connection; a server error comes back as `query-failed(db-error)` with its SQLSTATE
//! code, any other failure (a lost connection included) as `query-failed(text)`. `query` and
//! `query-async` run the statement to completion, then hand the rows to the guest (over a stream
//! for `query-async`). Local only: no TLS (`sslmode=require` fails, `set-ca-root` is refused).
//!
//! Types: bool, "char", int2/4/8, float4/8, text/varchar/bpchar/name, bytea and json/jsonb are
//! read and bound as their WIT values; a column of any other type is read as `unsupported` (its
//! raw bytes) and binding a parameter of any other kind is `bad-parameter`.

// pg4's error is the WIT's own shape, large because it carries PostgreSQL's error fields (spin-sdk
// allows the same lint in its pg module); boxing it would only be undone at the WIT boundary.
#![allow(clippy::result_large_err)]

use crate::bindings::spin::postgres::postgres::{
    Column, DbDataType, DbError, DbValue, Error, Host, HostConnection, HostConnectionBuilder, HostConnectionBuilderWithStore, HostConnectionWithStore,
    ParameterValue, QueryError, RowSet,
};
use crate::manifest::AllowedHost;
use crate::state::{HostState, SpinImports};
use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

/// How long connecting may take when the address sets no `connect_timeout`: a database that does
/// not answer must give the component an error (its 503) quickly, not hold the request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The port of a `postgres://` address or allowed host that names none.
pub const DEFAULT_PORT: u16 = 5432;

/// The host side of a `connection` resource.
pub struct Connection {
    client: Arc<tokio_postgres::Client>,
}

/// The host side of a `connection-builder` resource.
pub struct ConnectionBuilder {
    address: String,
    ca_root: bool,
}

/// Opens a connection to `address` if `allowed` permits every host it names.
async fn connect(allowed: &[AllowedHost], address: &str) -> Result<Connection, Error> {
    let mut config: tokio_postgres::Config = address.parse().map_err(|e| Error::ConnectionFailed(format!("invalid PostgreSQL address: {e}")))?;
    permit(allowed, &config)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(|e| Error::ConnectionFailed(with_cause(&e)))?;
    tokio::spawn(async move {
        // The connection ends when the guest drops its resource (and the client with it) or
        // the server goes away; the guest sees the latter as errors from its next call.
        if let Err(e) = connection.await {
            crate::server::log(&format!("postgres connection ended: {e}"));
        }
    });
    Ok(Connection { client: Arc::new(client) })
}

/// Refuses an address naming a host and port not in the component's `allowed_outbound_hosts`
/// (as `postgres://host:port`), a Unix socket, or a `hostaddr` (which would connect somewhere
/// other than the host checked). The error names the host and port, never the whole address:
/// it may hold a password.
fn permit(allowed: &[AllowedHost], config: &tokio_postgres::Config) -> Result<(), Error> {
    if !config.get_hostaddrs().is_empty() {
        return Err(Error::ConnectionFailed("hostaddr is not supported by this host: name the host in the address".to_string()));
    }
    let hosts = config.get_hosts();
    if hosts.is_empty() {
        return Err(Error::ConnectionFailed("the PostgreSQL address names no host".to_string()));
    }
    let ports = config.get_ports();
    for (index, host) in hosts.iter().enumerate() {
        let tokio_postgres::config::Host::Tcp(name) = host else {
            return Err(Error::ConnectionFailed("Unix socket addresses are not permitted".to_string()));
        };
        // One port for every host, one per host, or none (the default).
        let port = ports.get(index).or_else(|| ports.first()).copied().unwrap_or(DEFAULT_PORT);
        if !allowed.iter().any(|entry| entry.allows_endpoint("postgres", name, port)) {
            return Err(Error::ConnectionFailed(format!("address postgres://{name}:{port} is not permitted (not in allowed_outbound_hosts)")));
        }
    }
    Ok(())
}

/// An error and its cause: tokio-postgres says "error connecting to server" and keeps the why
/// ("Connection refused") in its source.
fn with_cause(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// An error of a query or statement: the server's own (with its SQLSTATE) or the client's.
fn query_error(e: &tokio_postgres::Error) -> Error {
    let Some(db) = e.as_db_error() else {
        return Error::QueryFailed(QueryError::Text(with_cause(e)));
    };
    let mut extras = Vec::new();
    let fields = [("hint", db.hint()), ("schema", db.schema()), ("table", db.table()), ("column", db.column()), ("constraint", db.constraint())];
    for (name, value) in fields {
        if let Some(value) = value {
            extras.push((name.to_string(), value.to_string()));
        }
    }
    Error::QueryFailed(QueryError::DbError(DbError {
        as_text: e.to_string(),
        severity: db.severity().to_string(),
        code: db.code().code().to_string(),
        message: db.message().to_string(),
        detail: db.detail().map(str::to_string),
        extras,
    }))
}

/// NULL, bindable to a parameter of any type (as Spin binds `db-null`).
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(&self, _: &Type, _: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// JSON text (WIT `jsonb`), bound to a json or jsonb parameter.
#[derive(Debug)]
struct Json(Vec<u8>);

impl ToSql for Json {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::JSONB {
            // jsonb's binary format: a version byte, then the text.
            out.extend_from_slice(&[1]);
        }
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Json {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let text = match (*ty == Type::JSONB, raw.split_first()) {
            (true, Some((1, text))) => text,
            (true, _) => return Err("unknown jsonb version".into()),
            (false, _) => raw,
        };
        Ok(Json(text.to_vec()))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }
}

/// A value of a type this host does not convert, as its raw bytes.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

type Parameter = Box<dyn ToSql + Sync + Send>;

fn parameter(value: ParameterValue) -> Result<Parameter, Error> {
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(v),
        ParameterValue::Int8(v) => Box::new(v),
        ParameterValue::Int16(v) => Box::new(v),
        ParameterValue::Int32(v) => Box::new(v),
        ParameterValue::Int64(v) => Box::new(v),
        ParameterValue::Floating32(v) => Box::new(v),
        ParameterValue::Floating64(v) => Box::new(v),
        ParameterValue::Str(v) => Box::new(v),
        ParameterValue::Binary(v) => Box::new(v),
        ParameterValue::Jsonb(v) => Box::new(Json(v)),
        ParameterValue::DbNull => Box::new(Null),
        other => return Err(Error::BadParameter(format!("parameter {} is not supported by this host", kind(&other)))),
    })
}

fn kind(value: &ParameterValue) -> &'static str {
    match value {
        ParameterValue::Date(_) => "date",
        ParameterValue::Time(_) => "time",
        ParameterValue::Datetime(_) => "datetime",
        ParameterValue::Timestamp(_) => "timestamp",
        ParameterValue::Uuid(_) => "uuid",
        ParameterValue::Decimal(_) => "decimal",
        ParameterValue::Interval(_) => "interval",
        _ => "range or array",
    }
}

fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::CHAR => DbDataType::Int8,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        Type::JSON | Type::JSONB => DbDataType::Jsonb,
        _ => DbDataType::Other(ty.name().to_string()),
    }
}

fn get<'a, T: FromSql<'a>>(row: &'a tokio_postgres::Row, index: usize, wrap: impl FnOnce(T) -> DbValue) -> Result<DbValue, Error> {
    match row.try_get::<_, Option<T>>(index) {
        Ok(Some(value)) => Ok(wrap(value)),
        Ok(None) => Ok(DbValue::DbNull),
        Err(e) => Err(Error::ValueConversionFailed(format!("column {index}: {e}"))),
    }
}

fn db_value(row: &tokio_postgres::Row, index: usize, ty: &Type) -> Result<DbValue, Error> {
    match *ty {
        Type::BOOL => get(row, index, DbValue::Boolean),
        Type::CHAR => get(row, index, DbValue::Int8),
        Type::INT2 => get(row, index, DbValue::Int16),
        Type::INT4 => get(row, index, DbValue::Int32),
        Type::INT8 => get(row, index, DbValue::Int64),
        Type::FLOAT4 => get(row, index, DbValue::Floating32),
        Type::FLOAT8 => get(row, index, DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => get(row, index, DbValue::Str),
        Type::BYTEA => get(row, index, DbValue::Binary),
        Type::JSON | Type::JSONB => get(row, index, |Json(bytes)| DbValue::Jsonb(bytes)),
        _ => get(row, index, |Raw(bytes)| DbValue::Unsupported(bytes)),
    }
}

/// Runs a query to completion: its columns and rows, or the error that stopped it.
async fn query(client: &tokio_postgres::Client, statement: &str, params: Vec<ParameterValue>) -> Result<(Vec<Column>, Vec<Vec<DbValue>>), Error> {
    let params = params.into_iter().map(parameter).collect::<Result<Vec<_>, _>>()?;
    let statement = client.prepare(statement).await.map_err(|e| query_error(&e))?;
    let columns = statement.columns().iter().map(|column| Column { name: column.name().to_string(), data_type: data_type(column.type_()) }).collect();
    let rows = client.query(&statement, &references(&params)).await.map_err(|e| query_error(&e))?;
    let rows = rows
        .iter()
        .map(|row| row.columns().iter().enumerate().map(|(index, column)| db_value(row, index, column.type_())).collect::<Result<Vec<_>, _>>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok((columns, rows))
}

async fn execute(client: &tokio_postgres::Client, statement: &str, params: Vec<ParameterValue>) -> Result<u64, Error> {
    let params = params.into_iter().map(parameter).collect::<Result<Vec<_>, _>>()?;
    client.execute(statement, &references(&params)).await.map_err(|e| query_error(&e))
}

fn references(params: &[Parameter]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|param| param.as_ref() as &(dyn ToSql + Sync)).collect()
}

fn allowed_hosts(state: &HostState) -> Vec<AllowedHost> {
    state.component.allowed_outbound_hosts.clone()
}

impl Host for HostState {}

impl HostConnectionBuilder for HostState {
    async fn new(&mut self, address: String) -> wasmtime::Result<Resource<ConnectionBuilder>> {
        Ok(self.table.push(ConnectionBuilder { address, ca_root: false })?)
    }

    async fn set_ca_root(&mut self, builder: Resource<ConnectionBuilder>, _certificate: String) -> wasmtime::Result<Result<(), Error>> {
        // Refused at `build`, where the guest expects connection errors: this host has no TLS.
        self.table.get_mut(&builder)?.ca_root = true;
        Ok(Ok(()))
    }

    async fn build(&mut self, builder: Resource<ConnectionBuilder>) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        let builder = self.table.get(&builder)?;
        if builder.ca_root {
            return Ok(Err(no_tls()));
        }
        let address = builder.address.clone();
        let opened = connect(&allowed_hosts(self), &address).await;
        Ok(match opened {
            Ok(connection) => Ok(self.table.push(connection)?),
            Err(e) => Err(e),
        })
    }

    async fn drop(&mut self, builder: Resource<ConnectionBuilder>) -> wasmtime::Result<()> {
        self.table.delete(builder)?;
        Ok(())
    }
}

fn no_tls() -> Error {
    Error::ConnectionFailed("TLS (a CA root) is not supported by this local host".to_string())
}

impl HostConnection for HostState {
    async fn open(&mut self, address: String) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        Ok(match connect(&allowed_hosts(self), &address).await {
            Ok(connection) => Ok(self.table.push(connection)?),
            Err(e) => Err(e),
        })
    }

    async fn query(&mut self, connection: Resource<Connection>, statement: String, params: Vec<ParameterValue>) -> wasmtime::Result<Result<RowSet, Error>> {
        let client = self.table.get(&connection)?.client.clone();
        Ok(query(&client, &statement, params).await.map(|(columns, rows)| RowSet { columns, rows }))
    }

    async fn execute(&mut self, connection: Resource<Connection>, statement: String, params: Vec<ParameterValue>) -> wasmtime::Result<Result<u64, Error>> {
        let client = self.table.get(&connection)?.client.clone();
        Ok(execute(&client, &statement, params).await)
    }

    async fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

fn client_of<T>(accessor: &Accessor<T, SpinImports>, connection: &Resource<Connection>) -> wasmtime::Result<Arc<tokio_postgres::Client>> {
    accessor.with(|mut access| Ok(access.get().table.get(connection)?.client.clone()))
}

fn push<T>(accessor: &Accessor<T, SpinImports>, opened: Result<Connection, Error>) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
    match opened {
        Ok(connection) => accessor.with(|mut access| Ok(Ok(access.get().table.push(connection)?))),
        Err(e) => Ok(Err(e)),
    }
}

impl<T> HostConnectionBuilderWithStore<T> for SpinImports {
    async fn build_async(accessor: &Accessor<T, Self>, builder: Resource<ConnectionBuilder>) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        let (address, ca_root, allowed) = accessor.with(|mut access| {
            let state = access.get();
            let builder = state.table.get(&builder)?;
            wasmtime::Result::<_>::Ok((builder.address.clone(), builder.ca_root, allowed_hosts(state)))
        })?;
        if ca_root {
            return Ok(Err(no_tls()));
        }
        let opened = connect(&allowed, &address).await;
        push(accessor, opened)
    }
}

impl<T> HostConnectionWithStore<T> for SpinImports {
    async fn open_async(accessor: &Accessor<T, Self>, address: String) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        let allowed = accessor.with(|mut access| allowed_hosts(access.get()));
        let opened = connect(&allowed, &address).await;
        push(accessor, opened)
    }

    #[allow(clippy::type_complexity, reason = "the shape is fixed by the WIT")]
    async fn query_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<Connection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<(Vec<Column>, StreamReader<Vec<DbValue>>, FutureReader<Result<(), Error>>), Error>> {
        let client = client_of(accessor, &connection)?;
        let (columns, rows) = match query(&client, &statement, params).await {
            Ok(result) => result,
            Err(e) => return Ok(Err(e)),
        };
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let end = FutureReader::new(&mut access, async move { wasmtime::error::Ok(Ok(())) })?;
            Ok(Ok((columns, rows, end)))
        })
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<Connection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        let client = client_of(accessor, &connection)?;
        Ok(execute(&client, &statement, params).await)
    }
}
