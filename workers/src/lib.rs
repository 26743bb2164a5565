//! The Cloudflare Workers adapter: D1, or PostgreSQL through Hyperdrive, as a carefront
//! [`Database`], conversion between
//! `worker` and `http` requests and responses, and configuration, time and randomness from the
//! Worker's environment. Only built for `wasm32-unknown-unknown`; the portal and API entries
//! are a few lines on top of it.
#![cfg(all(target_family = "wasm", target_os = "unknown"))]

use async_trait::async_trait;
use carefront_shared::config::{App, Config};
use carefront_shared::context::RequestContext;
use carefront_shared::db::{Database, DbError, Row, Statement, Value, classify_error};
use carefront_shared::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use carefront_shared::random::SeededRandom;
use carefront_shared::retry::{Retrying, Sleep};
use carefront_shared::store::SqlStore;
use chrono::{DateTime, Utc};
use worker::wasm_bindgen::JsValue;

#[cfg(feature = "hyperdrive")]
mod hyperdrive;

#[cfg(feature = "hyperdrive")]
pub use hyperdrive::Hyperdrive;

/// The Hyperdrive binding name in `wrangler.toml` (`[[env.postgres.hyperdrive]]`): present, it
/// selects PostgreSQL over D1 (and needs the postgres build).
pub const HYPERDRIVE_BINDING: &str = "HYPERDRIVE";

/// The D1 binding name in `wrangler.toml`.
pub const DATABASE_BINDING: &str = "DB";

/// A D1 database as a carefront [`Database`].
pub struct D1(worker::D1Database);

impl D1 {
    /// The database bound as [`DATABASE_BINDING`].
    pub fn from_env(env: &worker::Env) -> Result<D1, DbError> {
        env.d1(DATABASE_BINDING).map(D1).map_err(|error| DbError::Unavailable(format!("no D1 binding {DATABASE_BINDING}: {error}")))
    }

    fn prepare(&self, sql: &str, params: &[Value]) -> Result<worker::D1PreparedStatement, DbError> {
        let values: Vec<JsValue> = params
            .iter()
            .map(|value| match value {
                Value::Null => JsValue::NULL,
                // Exact for every integer the schema stores (counters, attempts): below 2^53.
                Value::Integer(number) => JsValue::from_f64(*number as f64),
                Value::Text(text) => JsValue::from_str(text),
            })
            .collect();
        self.0.prepare(sql).bind(&values).map_err(error)
    }
}

fn error(error: worker::Error) -> DbError {
    classify_error(error.to_string())
}

fn value(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Number(number) => number.as_i64().or_else(|| number.as_f64().map(|float| float as i64)).map_or(Value::Null, Value::Integer),
        serde_json::Value::String(text) => Value::Text(text),
        other => Value::Text(other.to_string()),
    }
}

#[async_trait(?Send)]
impl Database for D1 {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let rows: Vec<Vec<serde_json::Value>> = self.prepare(sql, params)?.raw().await.map_err(error)?;
        Ok(rows.into_iter().map(|row| Row(row.into_iter().map(value).collect())).collect())
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let result = self.prepare(sql, params)?.run().await.map_err(error)?;
        Ok(result.meta().map_err(error)?.and_then(|meta| meta.changes).unwrap_or(0) as u64)
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        let prepared = statements.iter().map(|statement| self.prepare(&statement.sql, &statement.params)).collect::<Result<Vec<_>, _>>()?;
        self.0.batch(prepared).await.map_err(error).map(|_| ())
    }
}

/// The Worker's backing store: PostgreSQL through Hyperdrive when the environment binds
/// [`HYPERDRIVE_BINDING`] (`wrangler dev --env postgres`, or a council's deployment), else D1.
/// Every path that opens the store (requests, the outbox sweeps, the Cron Triggers) asks here.
pub enum Backing {
    /// The D1 database bound as [`DATABASE_BINDING`].
    D1(D1),
    /// PostgreSQL through the Hyperdrive binding (the postgres build only).
    #[cfg(feature = "hyperdrive")]
    Postgres(Hyperdrive),
}

impl Backing {
    /// The store the environment binds.
    #[cfg(feature = "hyperdrive")]
    pub fn from_env(env: &worker::Env) -> Result<Backing, DbError> {
        match Hyperdrive::from_env(env, HYPERDRIVE_BINDING)? {
            Some(postgres) => Ok(Backing::Postgres(postgres)),
            None => D1::from_env(env).map(Backing::D1),
        }
    }

    /// The store the environment binds: D1 in this build, which has no PostgreSQL client. An
    /// environment that binds Hyperdrive wants the postgres build: the store is unavailable
    /// rather than D1 used in its place.
    #[cfg(not(feature = "hyperdrive"))]
    pub fn from_env(env: &worker::Env) -> Result<Backing, DbError> {
        let bound =
            js_sys::Reflect::get(env.as_ref(), &HYPERDRIVE_BINDING.into()).map_err(|_| DbError::Unavailable("the environment cannot be read".into()))?;
        if !bound.is_undefined() {
            return Err(DbError::Unavailable(format!(
                "{HYPERDRIVE_BINDING} (PostgreSQL) is bound but this is the D1 build: \
                 deploy build-postgres/ (scripts/build-wasm postgres, wrangler --env postgres)"
            )));
        }
        D1::from_env(env).map(Backing::D1)
    }

    fn database(&self) -> &dyn Database {
        match self {
            Backing::D1(d1) => d1,
            #[cfg(feature = "hyperdrive")]
            Backing::Postgres(postgres) => postgres,
        }
    }
}

#[async_trait(?Send)]
impl Database for Backing {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.database().query(sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.database().execute(sql, params).await
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.database().batch(statements).await
    }
}

/// Waiting on the Workers timer (`setTimeout`), for retries of a busy store.
pub struct WorkersDelay;

#[async_trait(?Send)]
impl Sleep for WorkersDelay {
    async fn sleep(&self, duration: std::time::Duration) {
        worker::Delay::from(duration).await;
    }
}

/// Outbound HTTP through the Workers `fetch` API (to GOV.UK Notify). Workers may fetch any
/// public host, so what is reached is decided by the configured Notify base URL alone.
pub struct WorkersFetch;

#[async_trait(?Send)]
impl Outbound for WorkersFetch {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let headers = worker::Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(|error| OutboundError::Refused(format!("header {name}: {error}")))?;
        }
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::from(request.method.as_str().to_owned())).with_headers(headers);
        if !request.body.is_empty() {
            init.with_body(Some(js_sys::Uint8Array::from(request.body.as_slice()).into()));
        }
        let outgoing = worker::Request::new_with_init(request.url.as_str(), &init).map_err(|error| OutboundError::Refused(error.to_string()))?;
        let mut response = worker::Fetch::Request(outgoing).send().await.map_err(|error| OutboundError::Network(error.to_string()))?;
        let status = response.status_code();
        let body = response.bytes().await.map_err(|error| OutboundError::Network(format!("unreadable answer: {error}")))?;
        Ok(OutboundResponse { status, body })
    }
}

/// Reads `app`'s configuration from the Worker's vars and secrets (only the settings it uses).
pub fn config(app: App, env: &worker::Env) -> Result<Config, String> {
    Config::from_lookup(app, |name| env.secret(name).map(|secret| secret.to_string()).or_else(|_| env.var(name).map(|var| var.to_string())).ok())
        .map_err(|error| error.to_string())
}

/// The time now, from the JavaScript clock (`SystemTime` panics on this target).
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or(DateTime::UNIX_EPOCH)
}

/// A generator seeded from `crypto.getRandomValues`.
pub fn random() -> Result<SeededRandom, String> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|error| format!("no entropy: {error}"))?;
    Ok(SeededRandom::from_seed(seed))
}

/// Converts a Workers request into an `http` request with the method already admitted, reading
/// the body only if it is within `limit` bytes (a larger declared body is left unread for the
/// router to refuse with 413). The `Host` header, which signed API requests cover, is kept, or
/// taken from the URL if the platform gave none.
pub async fn request(mut request: worker::Request, method: http::Method, limit: usize) -> Result<http::Request<Vec<u8>>, String> {
    let url = request.url().map_err(|error| error.to_string())?;
    let declared = request.headers().get("content-length").ok().flatten().and_then(|value| value.parse::<usize>().ok());
    let body = match declared {
        Some(length) if length > limit => Vec::new(),
        _ => request.bytes().await.unwrap_or_default(),
    };
    let path_and_query = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut builder = http::Request::builder().method(method).uri(path_and_query);
    let headers = request.headers();
    if !headers.has("host").unwrap_or(false)
        && let Some(host) = url.host_str()
    {
        builder = builder.header(http::header::HOST, url.port().map_or_else(|| host.to_owned(), |port| format!("{host}:{port}")));
    }
    for (name, value) in headers.entries() {
        builder = builder.header(name, value);
    }
    builder.body(body).map_err(|error| error.to_string())
}

/// Converts an `http` response into a Workers response.
pub fn response(response: http::Response<Vec<u8>>) -> worker::Result<worker::Response> {
    let (parts, body) = response.into_parts();
    let headers = worker::Headers::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers.append(name.as_str(), value)?;
        }
    }
    Ok(worker::Response::from_bytes(body)?.with_status(parts.status.as_u16()).with_headers(headers))
}

/// Sends the handlers' error lines ([`carefront_shared::log`]) to the Worker's console: this
/// target's std drops what is written to standard error.
fn log_to_console() {
    carefront_shared::log::set_sink(|line| worker::console_error!("{line}"));
}

/// Serves one fetch event for `app`: refuses a method it does not know (405, never `GET`),
/// builds the request context from the Worker's bindings and hands the request to `handler`;
/// `unavailable` answers when a binding, a setting or the entropy is missing.
pub async fn serve(
    request: worker::Request,
    env: &worker::Env,
    app: App,
    limit: usize,
    handler: impl AsyncFn(&RequestContext<'_>, http::Request<Vec<u8>>) -> http::Response<Vec<u8>>,
    unavailable: fn(&str) -> http::Response<Vec<u8>>,
    background: &worker::Context,
) -> worker::Result<worker::Response> {
    log_to_console();
    // Cloudflare's edge sets CF-Connecting-IP itself, overwriting any the client sent.
    let client = request.headers().get("cf-connecting-ip").ok().flatten();
    // The method as sent: `worker::Request::method` maps every method it does not know to GET.
    let method = match carefront_shared::method::admit(&request.inner().method()) {
        Ok(method) => method,
        Err(unknown) => return response(unknown.response()),
    };
    let request = match self::request(request, method, limit).await {
        Ok(request) => request,
        Err(error) => return response(unavailable(&format!("unreadable request: {error}"))),
    };
    let config = match config(app, env) {
        Ok(config) => config,
        Err(error) => return response(unavailable(&error)),
    };
    let random = match random() {
        Ok(random) => random,
        Err(error) => return response(unavailable(&error)),
    };
    let database = match Backing::from_env(env) {
        // A lock held by another writer (local D1 shared by two workers) or a serialization
        // failure on PostgreSQL is waited out here.
        Ok(database) => Retrying::new(database, &WorkersDelay, &random),
        Err(error) => return response(unavailable(&error.to_string())),
    };
    let store = SqlStore::new(&database);
    let changes = !matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    let context = RequestContext { store: &store, config: &config, now: now(), random: &random, client, outbound: Some(&WorkersFetch) };
    let answer = handler(&context, request).await;
    // A change may have queued messages in its plan: send them once the answer is on its way
    // (the scheduled sweep catches anything this misses).
    if changes && config.notify.sender().is_some() {
        background.wait_until(sweep(env.clone(), app));
    }
    response(answer)
}

/// The Cron Trigger (wrangler.toml `[triggers]`) on which the scheduled run also queues the
/// notices time brings ("access ending in 14 days"): once a day, at 8am UTC (8 or 9am in the
/// UK), rather than every minute, since the scan reads the grants ending soon and how each side
/// is reached.
pub const NOTICES_CRON: &str = "0 8 * * *";

/// Sends what is due in the outbox; errors are logged, and the messages stay queued for the
/// next sweep. After a change, and on the every-minute Cron Trigger.
pub async fn sweep(env: worker::Env, app: App) {
    run(env, app, Run::AfterChange).await;
}

/// A Cron Trigger's run: on [`NOTICES_CRON`], queues the "access ending" notices first; counts
/// the monitoring figures that no longer stand; then sends what is due.
pub async fn scheduled(env: worker::Env, app: App, cron: &str) {
    run(env, app, Run::Scheduled { notices: cron == NOTICES_CRON }).await;
}

/// Why the outbox is being swept.
#[derive(Clone, Copy)]
enum Run {
    /// After a change: one sweep, for what the change queued.
    AfterChange,
    /// On a Cron Trigger: sweeping on while sweeps come back full (a backlog after an outage),
    /// and on the notices cron the scan first.
    Scheduled { notices: bool },
}

async fn run(env: worker::Env, app: App, why: Run) {
    log_to_console();
    let outcome = async {
        let config = config(app, &env)?;
        let random = random()?;
        let database = Retrying::new(Backing::from_env(&env).map_err(|error| error.to_string())?, &WorkersDelay, &random);
        let store = SqlStore::new(&database);
        let context = RequestContext { store: &store, config: &config, now: now(), random: &random, client: None, outbound: Some(&WorkersFetch) };
        // Only where messages are sent (as on Spin's scheduled send): elsewhere they would wait
        // to go stale. A failed scan is logged and the sweep goes on.
        if matches!(why, Run::Scheduled { notices: true }) && config.notify.sender().is_some() {
            match carefront_shared::notices::ending::queue_access_ending(&store, &config.origin, context.now, &random).await {
                Ok(queued) if queued > 0 => worker::console_log!("carefront outbox: {queued} access-ending notices queued"),
                Ok(_) => {}
                Err(error) => worker::console_error!("carefront access-ending scan failed: {error}"),
            }
        }
        // The monitoring figures that no longer stand are counted here rather than at the
        // council's next look. A failure is logged and the sweep goes on.
        if matches!(why, Run::Scheduled { .. }) {
            match carefront_shared::monitoring::count_stale_figures(&store, context.now).await {
                Ok(counted) if counted > 0 => worker::console_log!("carefront monitoring: {counted} providers' figures counted"),
                Ok(_) => {}
                Err(error) => worker::console_error!("carefront monitoring figures failed: {error}"),
            }
        }
        match why {
            Run::AfterChange => carefront_shared::notify::courier::deliver(&context).await,
            Run::Scheduled { .. } => carefront_shared::notify::courier::deliver_scheduled(&context).await,
        }
        .map_err(|error| error.to_string())
    };
    match outcome.await {
        Ok(Some(sweep)) if sweep.failed > 0 || sweep.retrying > 0 => {
            worker::console_log!("carefront outbox: {} sent, {} to retry, {} failed", sweep.sent, sweep.retrying, sweep.failed)
        }
        Ok(_) => {}
        Err(error) => worker::console_error!("carefront outbox sweep failed: {error}"),
    }
}
