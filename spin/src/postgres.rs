//! PostgreSQL through Spin's outbound PostgreSQL (`spin_sdk::pg`, `spin:postgres/postgres@4.2.0`)
//! as a carefront [`Database`]. The store's SQL is written once in SQLite's dialect;
//! [`carefront_shared::postgres::dialect`] puts each statement into PostgreSQL's, casting every
//! placeholder to the type of the value bound to it and writing NULLs into the SQL itself, so the
//! values left ([`carefront_shared::postgres::bound`]) are bound here by their own type: `Int64`
//! or `Str`.

use async_trait::async_trait;
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::postgres::{Step, bound, classify, dialect, transaction};
use spin_sdk::pg::{self, Connection, DbValue, ParameterValue, PgError, QueryError};

/// A connection to the council's PostgreSQL, opened for one request.
pub struct SpinPostgres(Connection);

impl SpinPostgres {
    /// Connects to `address` (`postgres://user:password@host:port/database`). Spin connects only
    /// to a host in the component's `allowed_outbound_hosts`; a refused or failed connection is
    /// [`DbError::Unavailable`] (the 503 page or problem), never a panic.
    pub async fn open(address: &str) -> Result<SpinPostgres, DbError> {
        // The address is not quoted in the error: it may hold a password.
        Connection::open(address).await.map(SpinPostgres).map_err(|error| DbError::Unavailable(format!("cannot connect to PostgreSQL: {}", message(&error))))
    }

    async fn run(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let (_columns, rows, end) = self.0.query(dialect(sql, params), bind(params)).await.map_err(|error| self::error(&error))?.into_inner();
        let rows = rows.collect().await;
        // An error after the first rows (a statement failing part way) arrives here, after them.
        end.await.map_err(|error| pg_error(&error))?;
        rows.into_iter().map(|row| row.into_iter().map(value).collect::<Result<Vec<_>, _>>().map(Row)).collect()
    }

    async fn change(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.0.execute(dialect(sql, params), bind(params)).await.map_err(|error| self::error(&error))
    }

    /// A statement already in PostgreSQL's dialect, without parameters (BEGIN, COMMIT, ROLLBACK).
    async fn control(&self, sql: &str) -> Result<(), DbError> {
        self.0.execute(sql, Vec::new()).await.map(|_| ()).map_err(|error| self::error(&error))
    }
}

fn bind(params: &[Value]) -> Vec<ParameterValue> {
    bound(params)
        .map(|value| match value {
            Value::Null => ParameterValue::DbNull,
            Value::Integer(number) => ParameterValue::Int64(*number),
            Value::Text(text) => ParameterValue::Str(text.clone()),
        })
        .collect()
}

/// A column's value as the store reads it. The schema on PostgreSQL has BIGINT and TEXT columns
/// only; the smaller integers and booleans come from expressions (`count(*)` is bigint, but
/// `a = b` is boolean), read as SQLite gives them.
fn value(value: DbValue) -> Result<Value, DbError> {
    match value {
        DbValue::DbNull => Ok(Value::Null),
        DbValue::Int64(number) => Ok(Value::Integer(number)),
        DbValue::Int32(number) => Ok(Value::Integer(number.into())),
        DbValue::Int16(number) => Ok(Value::Integer(number.into())),
        DbValue::Int8(number) => Ok(Value::Integer(number.into())),
        DbValue::Boolean(truth) => Ok(Value::Integer(truth.into())),
        DbValue::Str(text) => Ok(Value::Text(text)),
        DbValue::Jsonb(bytes) => String::from_utf8(bytes).map(Value::Text).map_err(|_| DbError::Decode("a jsonb value that is not UTF-8".to_owned())),
        other => Err(DbError::Decode(format!("a PostgreSQL value of a type the store does not use: {}", kind(&other)))),
    }
}

/// The name of a value's type, for an error (never the value itself: it may be care information).
fn kind(value: &DbValue) -> &'static str {
    match value {
        DbValue::Floating32(_) | DbValue::Floating64(_) => "floating point",
        DbValue::Binary(_) => "bytea",
        DbValue::Date(_) => "date",
        DbValue::Time(_) => "time",
        DbValue::Datetime(_) | DbValue::Timestamp(_) => "timestamp",
        DbValue::Uuid(_) => "uuid",
        DbValue::Decimal(_) => "numeric",
        DbValue::Interval(_) => "interval",
        DbValue::RangeInt32(_) | DbValue::RangeInt64(_) | DbValue::RangeDecimal(_) => "range",
        DbValue::ArrayInt32(_) | DbValue::ArrayInt64(_) | DbValue::ArrayDecimal(_) | DbValue::ArrayStr(_) => "array",
        _ => "unsupported",
    }
}

fn error(error: &pg::Error) -> DbError {
    match error {
        pg::Error::PgError(error) => pg_error(error),
        pg::Error::Decode(message) => DbError::Decode(message.clone()),
    }
}

/// A PostgreSQL error by its SQLSTATE when the server sent one (pg4 errors carry it), else by
/// its text alone, which [`classify`] reads as the store being unavailable.
fn pg_error(error: &PgError) -> DbError {
    match error {
        PgError::QueryFailed(QueryError::DbError(db)) => classify(Some(&db.code), db.message.clone()),
        PgError::ValueConversionFailed(message) => DbError::Decode(message.clone()),
        other => classify(None, describe(other)),
    }
}

fn message(error: &pg::Error) -> String {
    match error {
        pg::Error::PgError(error) => describe(error),
        pg::Error::Decode(message) => message.clone(),
    }
}

fn describe(error: &PgError) -> String {
    match error {
        PgError::ConnectionFailed(message) => format!("connection failed: {message}"),
        PgError::BadParameter(message) => format!("bad parameter: {message}"),
        PgError::QueryFailed(QueryError::Text(message)) => message.clone(),
        PgError::QueryFailed(QueryError::DbError(db)) => format!("{} ({})", db.message, db.code),
        PgError::ValueConversionFailed(message) => format!("value conversion failed: {message}"),
        PgError::Other(message) => message.clone(),
    }
}

#[async_trait(?Send)]
impl Database for SpinPostgres {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.run(sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.change(sql, params).await
    }

    /// One serializable transaction ([`transaction`]): a serialization failure (40001) is
    /// [`DbError::Busy`], and the whole batch is tried again by the `Retrying` around this
    /// database.
    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        transaction(statements, |step| async move {
            match step {
                Step::Control(sql) => self.control(sql).await,
                Step::Run(statement) => self.change(&statement.sql, &statement.params).await.map(drop),
            }
        })
        .await
    }
}
