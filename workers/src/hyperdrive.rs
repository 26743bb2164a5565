//! PostgreSQL through a Cloudflare Hyperdrive binding as a carefront [`Database`]:
//! `tokio-postgres` over the Workers TCP [`worker::Socket`], one connection per request
//! (Hyperdrive keeps the pool to the council's database), made on the first call so a request
//! that reads nothing (a health check of the worker alone, a static asset) never opens one.
//!
//! Every statement goes through [`carefront_shared::postgres::dialect`] (binding what
//! [`carefront_shared::postgres::bound`] keeps) and every error through
//! [`carefront_shared::postgres::classify`], as on the other PostgreSQL clients, so the store's
//! SQL and its error handling are the same everywhere.

use std::cell::RefCell;
use std::error::Error;
use std::rc::Rc;

use async_trait::async_trait;
use bytes::BytesMut;
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::postgres;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use worker::postgres_tls::PassthroughTls;

/// A PostgreSQL database reached through a Hyperdrive binding.
pub struct Hyperdrive {
    binding: worker::Hyperdrive,
    /// The request's connection, once a call has needed it.
    client: RefCell<Option<Rc<tokio_postgres::Client>>>,
}

impl Hyperdrive {
    /// The binding `binding` of the Worker's environment, if there is one: `Ok(None)` when it is
    /// not configured, an error when something else is bound under that name.
    pub fn from_env(env: &worker::Env, binding: &str) -> Result<Option<Hyperdrive>, DbError> {
        let bound = js_sys::Reflect::get(env.as_ref(), &binding.into()).map_err(|_| DbError::Unavailable(format!("the environment has no {binding}")))?;
        if bound.is_undefined() {
            return Ok(None);
        }
        let binding = env.hyperdrive(binding).map_err(|error| DbError::Unavailable(format!("{binding} is not a Hyperdrive binding: {error}")))?;
        Ok(Some(Hyperdrive { binding, client: RefCell::new(None) }))
    }

    /// The request's connection, made now if this is the first call that needs it.
    async fn client(&self) -> Result<Rc<tokio_postgres::Client>, DbError> {
        if let Some(client) = self.client.borrow().as_ref() {
            return Ok(Rc::clone(client));
        }
        let client = Rc::new(self.connect().await?);
        // Two first calls at once (the store never makes them) would each connect; the last
        // is kept and the other closes when its call ends.
        *self.client.borrow_mut() = Some(Rc::clone(&client));
        Ok(client)
    }

    async fn connect(&self) -> Result<tokio_postgres::Client, DbError> {
        let unavailable = |what: &str, error: &dyn std::fmt::Display| DbError::Unavailable(format!("PostgreSQL through Hyperdrive: {what}: {error}"));
        let config: tokio_postgres::Config = self.binding.connection_string().parse().map_err(|error| unavailable("connection string", &error))?;
        // StartTls: Hyperdrive (and a local database that offers TLS) upgrades the socket when
        // tokio-postgres asks; a local database without TLS answers "no" and the socket stays
        // plain, as the connection string's sslmode allows.
        let socket = worker::Socket::builder()
            .secure_transport(worker::SecureTransport::StartTls)
            .connect(self.binding.host(), self.binding.port())
            .map_err(|error| unavailable("socket", &error))?;
        let (client, connection) = config.connect_raw(socket, PassthroughTls).await.map_err(|error| unavailable("connect", &error))?;
        // The connection runs beside the request and ends when the client is dropped with it.
        worker::wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = connection.await {
                worker::console_error!("carefront PostgreSQL connection ended: {error}");
            }
        });
        Ok(client)
    }
}

/// A tokio-postgres error as a [`DbError`], by its SQLSTATE where the server sent one; a lost or
/// refused connection has none and is [`DbError::Unavailable`].
fn error(error: tokio_postgres::Error) -> DbError {
    match error.as_db_error() {
        Some(database) => postgres::classify(Some(database.code().code()), database.message().to_owned()),
        None => postgres::classify(error.code().map(|code| code.code()), error.to_string()),
    }
}

/// A parameter as PostgreSQL is told its type, the one the dialect casts its placeholder to
/// (`$1::bigint`, `$2::text`). NULLs are never bound: the dialect writes them into the SQL.
fn parameter_type(value: &Value) -> Type {
    match value {
        Value::Null => Type::UNKNOWN,
        Value::Integer(_) => Type::INT8,
        Value::Text(_) => Type::TEXT,
    }
}

/// A [`Value`] bound as PostgreSQL's binary format for its own type: Integer as int8, Text as
/// text (and Null as NULL, though [`postgres::bound`] leaves none to bind).
#[derive(Debug)]
struct Bound<'a>(&'a Value);

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(number) => number.to_sql(ty, out),
            Value::Text(text) => text.as_str().to_sql(ty, out),
        }
    }

    /// Every type: the SQL's casts, not the Rust type, decide what the server expects.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column read by its PostgreSQL type: int2/int4/int8 and bool as Integer, text-like types and
/// JSON as Text, NULL as Null; any other type is an error naming it.
struct Cell(Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Cell, Box<dyn Error + Sync + Send>> {
        let value = match *ty {
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            // jsonb's binary form is a version byte (1) before the JSON text.
            Type::JSONB => match raw.split_first() {
                Some((1, json)) => Value::Text(std::str::from_utf8(json)?.to_owned()),
                _ => return Err("jsonb in an unknown binary version".into()),
            },
            ref other => return Err(format!("a column of type {other}, which carefront does not read").into()),
        };
        Ok(Cell(value))
    }

    fn from_sql_null(_: &Type) -> Result<Cell, Box<dyn Error + Sync + Send>> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn row(row: &tokio_postgres::Row) -> Result<Row, DbError> {
    (0..row.len())
        .map(|index| row.try_get::<_, Cell>(index).map(|cell| cell.0).map_err(|error| DbError::Decode(format!("column {index}: {error}"))))
        .collect::<Result<Vec<_>, _>>()
        .map(Row)
}

/// Sends one statement (parse, bind, execute in a single round trip: the parameter types are
/// known, so nothing is prepared first) and reads its rows and how many rows it changed.
async fn run(client: &tokio_postgres::Client, sql: &str, params: &[Value]) -> Result<(Vec<Row>, u64), DbError> {
    use futures_util::TryStreamExt;
    let sql = postgres::dialect(sql, params);
    // Only the values the dialect left placeholders for, in its renumbered order.
    let bound = postgres::bound(params).map(|value| (Bound(value), parameter_type(value)));
    let stream = client.query_typed_raw(&sql, bound).await.map_err(error)?;
    let mut stream = std::pin::pin!(stream);
    let mut rows = Vec::new();
    while let Some(read) = stream.try_next().await.map_err(error)? {
        rows.push(row(&read)?);
    }
    Ok((rows, stream.rows_affected().unwrap_or(0)))
}

#[async_trait(?Send)]
impl Database for Hyperdrive {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let client = self.client().await?;
        run(&client, sql, params).await.map(|(rows, _)| rows)
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let client = self.client().await?;
        run(&client, sql, params).await.map(|(_, changed)| changed)
    }

    /// One serializable transaction ([`postgres::transaction`]), so a plan is written whole or
    /// not at all.
    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        let client = self.client().await?;
        let client = &*client;
        postgres::transaction(statements, |step| async move {
            match step {
                postgres::Step::Control(sql) => client.batch_execute(sql).await.map_err(error),
                postgres::Step::Run(statement) => run(client, &statement.sql, &statement.params).await.map(drop),
            }
        })
        .await
    }
}
