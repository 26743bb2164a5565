//! The Spin adapter: Spin SQLite or PostgreSQL (the `pg_address` variable) as a carefront
//! [`Database`], conversion between Spin's and our
//! `http` requests and responses, and configuration, time and randomness for one request. Only
//! built for `wasm32-wasip2`; the portal and API entries are a few lines on top of it.
#![cfg(target_os = "wasi")]

mod postgres;

pub use postgres::SpinPostgres;

use std::collections::HashMap;

use async_trait::async_trait;
use carefront_shared::config::{App, Config};
use carefront_shared::context::RequestContext;
use carefront_shared::db::{Database, DbError, Row, Statement, Value, classify_error};
use carefront_shared::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use carefront_shared::random::SeededRandom;
use carefront_shared::retry::{Retrying, Sleep};
use carefront_shared::store::SqlStore;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use spin_sdk::http::body::IncomingBodyExt as _;
use spin_sdk::sqlite::{self, Connection};

/// The SQLite database the components use (`sqlite_databases` in `spin.toml`).
pub const DATABASE: &str = "default";

/// A Spin SQLite connection as a carefront [`Database`].
pub struct SpinSqlite(Connection);

impl SpinSqlite {
    /// Opens the component's database.
    pub async fn open() -> Result<SpinSqlite, DbError> {
        Connection::open(DATABASE).await.map(SpinSqlite).map_err(|error| DbError::Unavailable(format!("cannot open SQLite database {DATABASE}: {error}")))
    }

    async fn run(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let params = params.iter().map(|value| match value {
            Value::Null => sqlite::Value::Null,
            Value::Integer(number) => sqlite::Value::Integer(*number),
            Value::Text(text) => sqlite::Value::Text(text.clone()),
        });
        let result = self.0.execute(sql, params).await.map_err(error)?;
        let rows = result.collect().await.map_err(error)?;
        Ok(rows.into_iter().map(|row| Row(row.values.into_iter().map(value).collect())).collect())
    }
}

fn error(error: sqlite::Error) -> DbError {
    match error {
        sqlite::Error::Io(message) => classify_error(message),
        other => DbError::Unavailable(other.to_string()),
    }
}

fn value(value: sqlite::Value) -> Value {
    match value {
        sqlite::Value::Null => Value::Null,
        sqlite::Value::Integer(number) => Value::Integer(number),
        // The schema stores no reals or blobs; keep them readable rather than fail.
        sqlite::Value::Real(number) => Value::Text(number.to_string()),
        sqlite::Value::Text(text) => Value::Text(text),
        sqlite::Value::Blob(bytes) => Value::Text(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

#[async_trait(?Send)]
impl Database for SpinSqlite {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.run(sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.run(sql, params).await?;
        Ok(self.0.changes().await)
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.run("BEGIN IMMEDIATE", &[]).await?;
        for statement in statements {
            if let Err(error) = self.run(&statement.sql, &statement.params).await {
                // The rollback's own failure would only hide the first error.
                let _ = self.run("ROLLBACK", &[]).await;
                return Err(error);
            }
        }
        // A COMMIT refused as busy leaves the transaction open: roll it back, so the batch
        // applied none of its statements and can be tried again from the start.
        if let Err(error) = self.run("COMMIT", &[]).await {
            let _ = self.run("ROLLBACK", &[]).await;
            return Err(error);
        }
        Ok(())
    }
}

/// The Spin variable holding the council's PostgreSQL address
/// (`postgres://user:password@host:port/database`); empty or unset: the component's Spin SQLite
/// database. The host must also be in the component's `allowed_outbound_hosts` (`spin.toml`:
/// `{{ pg_outbound_host }}`), or Spin refuses the connection.
const PG_ADDRESS: &str = "pg_address";

/// The backing store this deployment chose: PostgreSQL when `pg_address` is set, else Spin
/// SQLite. Both components and the outbox sweep reach the store through this one choice.
pub enum SpinDatabase {
    /// The component's Spin SQLite database (`sqlite_databases` in `spin.toml`).
    Sqlite(SpinSqlite),
    /// The council's PostgreSQL, through Spin's outbound PostgreSQL.
    Postgres(SpinPostgres),
}

impl SpinDatabase {
    /// Opens the store `pg_address` chooses; a store that cannot be reached is
    /// [`DbError::Unavailable`].
    pub async fn open() -> Result<SpinDatabase, DbError> {
        let address = spin_sdk::variables::get(PG_ADDRESS).await.ok().map(|address| address.trim().to_owned()).filter(|address| !address.is_empty());
        match address {
            Some(address) => SpinPostgres::open(&address).await.map(SpinDatabase::Postgres),
            None => SpinSqlite::open().await.map(SpinDatabase::Sqlite),
        }
    }

    fn inner(&self) -> &dyn Database {
        match self {
            SpinDatabase::Sqlite(database) => database,
            SpinDatabase::Postgres(database) => database,
        }
    }
}

#[async_trait(?Send)]
impl Database for SpinDatabase {
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

/// Waiting on WASI's monotonic clock (`wasi:clocks/monotonic-clock@0.3.0` `wait-for`, through
/// spin-sdk's re-export), for retries of a busy database: the component yields to the host
/// while it waits.
pub struct WasiSleep;

#[async_trait(?Send)]
impl Sleep for WasiSleep {
    async fn sleep(&self, duration: std::time::Duration) {
        let nanoseconds = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        spin_sdk::wasip3::clocks::monotonic_clock::wait_for(nanoseconds).await;
    }
}

/// Outbound HTTP through Spin (`wasi:http/client@0.3.0`). Spin sends only to the component's
/// `allowed_outbound_hosts` (`spin.toml`: `{{ notify_outbound_host }}`); any other host is
/// refused by the runtime, which this reports as [`OutboundError::Refused`].
pub struct SpinHttp;

#[async_trait(?Send)]
impl Outbound for SpinHttp {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let mut builder = http::Request::builder().method(request.method).uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let outgoing = builder.body(Full::new(bytes::Bytes::from(request.body))).map_err(|error| OutboundError::Refused(error.to_string()))?;
        let response = spin_sdk::http::send(outgoing).await.map_err(|code| match code {
            spin_sdk::wasip3::http::types::ErrorCode::HttpRequestDenied => {
                OutboundError::Refused(format!("{code:?}: the host is not in allowed_outbound_hosts"))
            }
            other => OutboundError::Network(format!("{other:?}")),
        })?;
        let status = response.status().as_u16();
        let body = response.into_body().bytes().await.map_err(|error| OutboundError::Network(format!("unreadable answer: {error:?}")))?.to_vec();
        Ok(OutboundResponse { status, body })
    }
}

/// Reads `app`'s configuration from the component's Spin variables: each setting `NAME` is the
/// variable `name` (lower case), and only the settings the app uses are asked for, so a component
/// is given no variable it does not need (`spin.toml`).
pub async fn config(app: App) -> Result<Config, String> {
    let mut values = HashMap::new();
    for name in app.settings() {
        if let Ok(value) = spin_sdk::variables::get(&name.to_ascii_lowercase()).await {
            values.insert(*name, value);
        }
    }
    Config::from_lookup(app, |name| values.get(name).cloned()).map_err(|error| error.to_string())
}

/// The time now, from the WASI wall clock, to the millisecond: the precision the store keeps and
/// the Workers clock gives, so a value answered at once and the same value read back agree.
pub fn now() -> DateTime<Utc> {
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// A generator seeded from WASI's secure random source.
pub fn random() -> Result<SeededRandom, String> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|error| format!("no entropy: {error}"))?;
    Ok(SeededRandom::from_seed(seed))
}

/// Converts a Spin request into an `http` request with the method already admitted, reading the
/// body only if it is within `limit` bytes (a larger declared body is left unread for the router
/// to refuse with 413). The `Host` header, which signed API requests cover, is kept, or taken from
/// the URL's authority if the host gave none.
pub async fn request(request: spin_sdk::http::Request, method: http::Method, limit: usize) -> Result<http::Request<Vec<u8>>, String> {
    let (parts, body) = request.into_parts();
    let declared = parts.headers.get(http::header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()).and_then(|value| value.parse::<usize>().ok());
    let body = match declared {
        Some(length) if length > limit => Vec::new(),
        _ => body.bytes().await.map_err(|error| format!("unreadable body: {error:?}"))?.to_vec(),
    };
    let path_and_query = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |value| value.as_str().to_owned());
    let mut builder = http::Request::builder().method(method).uri(path_and_query);
    if !parts.headers.contains_key(http::header::HOST)
        && let Some(authority) = parts.uri.authority()
    {
        builder = builder.header(http::header::HOST, authority.as_str());
    }
    // Cloudflare's request id means nothing here (the routers quote it in error references), so a
    // client's `cf-ray` is dropped and the router draws its own reference.
    for (name, value) in parts.headers.iter().filter(|(name, _)| name.as_str() != "cf-ray") {
        builder = builder.header(name, value);
    }
    builder.body(body).map_err(|error| error.to_string())
}

/// Converts an `http` response into one Spin can send.
pub fn response(response: http::Response<Vec<u8>>) -> http::Response<Full<bytes::Bytes>> {
    response.map(|body| Full::new(bytes::Bytes::from(body)))
}

/// The Spin variable naming the header a trusted proxy in front of Spin sets to the client's
/// address (for example `x-forwarded-for`); empty or unset when clients reach Spin directly.
const TRUSTED_PROXY_HEADER: &str = "trusted_proxy_header";

/// The client's address as the platform vouches for it: from the trusted proxy's header when
/// one is configured (its last entry, the one the proxy added), else the peer address Spin sets
/// itself in `spin-client-addr`. A client-sent `CF-Connecting-IP` means nothing here.
async fn client_address(headers: &http::HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let trusted = spin_sdk::variables::get(TRUSTED_PROXY_HEADER).await.ok().map(|name| name.trim().to_ascii_lowercase()).filter(|name| !name.is_empty());
    let peer = header("spin-client-addr").and_then(|address| carefront_shared::limits::peer_address(&address));
    match trusted {
        // Behind the proxy the peer is the proxy itself: the fallback when its header is missing.
        Some(name) => header(&name).and_then(|value| carefront_shared::limits::forwarded_client(&value)).or(peer),
        None => peer,
    }
}

/// Serves one request for `app`: refuses a method it does not know (405, never another),
/// builds the request context from Spin's capabilities and hands the request to `handler`;
/// `unavailable` answers when the configuration, the entropy or the database is missing.
pub async fn serve(
    request: spin_sdk::http::Request,
    app: App,
    limit: usize,
    handler: impl AsyncFn(&RequestContext<'_>, http::Request<Vec<u8>>) -> http::Response<Vec<u8>>,
    unavailable: fn(&str) -> http::Response<Vec<u8>>,
) -> http::Response<Full<bytes::Bytes>> {
    let client = client_address(request.headers()).await;
    let method = match carefront_shared::method::admit(request.method().as_str()) {
        Ok(method) => method,
        Err(unknown) => return response(unknown.response()),
    };
    let request = match self::request(request, method, limit).await {
        Ok(request) => request,
        Err(error) => return response(unavailable(&error)),
    };
    let config = match config(app).await {
        Ok(config) => config,
        Err(error) => return response(unavailable(&error)),
    };
    let random = match random() {
        Ok(random) => random,
        Err(error) => return response(unavailable(&error)),
    };
    let database = match SpinDatabase::open().await {
        // A lock held by another writer (the portal's component, on the same SQLite file) or a
        // PostgreSQL serialization failure is waited out and tried again.
        Ok(database) => Retrying::new(database, &WasiSleep, &random),
        Err(error) => return response(unavailable(&error.to_string())),
    };
    let store = SqlStore::new(&database);
    let changes = !matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    let context = RequestContext { store: &store, config: &config, now: now(), random: &random, client, outbound: Some(&SpinHttp) };
    let answer = handler(&context, request).await;
    // A change may have queued messages in its plan. Spin has no work after the answer, so they
    // are sent before it (a deployment's scheduled sweep catches anything this misses).
    if changes {
        match carefront_shared::notify::courier::deliver(&context).await {
            Ok(Some(sweep)) if sweep.failed > 0 || sweep.retrying > 0 => {
                eprintln!("carefront outbox: {} sent, {} to retry, {} failed", sweep.sent, sweep.retrying, sweep.failed)
            }
            Ok(_) => {}
            Err(error) => eprintln!("carefront outbox sweep failed: {error}"),
        }
    }
    response(answer)
}
