//! `--bench`: the components' own time without HTTP. Requests come in on stdin as JSON lines
//! (`{"method", "path", "headers": [[name, value]…], "body": base64, "client": ip}`), each is routed as the
//! server routes it and handed to a fresh instance of its component's pre-instantiated
//! `InstancePre`, as Spin does per request; the answer goes out on stdout as one JSON line with
//! the status, headers, base64 body, the handler's time (instantiation, the call and the whole
//! body, in µs), the time the component waited on `spin:sqlite` (`execute` calls, µs), the
//! time its own code ran in wasm (`guest_us`, from wasmtime's call hooks) and the
//! instantiation's share (`instantiate_us`).
//! The first line out is `{"ready": true, "start_ms": …}`: engine, linker and every
//! component's compilation. portal/examples/runtime_bench.rs drives it.

use crate::bindings::spin::sqlite::sqlite::{Error, HostConnectionWithStore, RowResult, Value};
use crate::server::{App, prepare_request};
use crate::sqlite::Connection;
use crate::state::{HostState, SpinImports};
use anyhow::{Context as _, Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use serde::{Deserialize, Serialize};
use std::io::{BufRead as _, Write as _};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;
use wasmtime::CallHook;
use wasmtime::component::{Accessor, FutureReader, HasData, Linker, Resource, StreamReader};

/// Nanoseconds spent in `spin:sqlite` calls since the last request started (one request at a
/// time in this mode).
static STORE_NANOS: AtomicU64 = AtomicU64::new(0);
/// How many `spin:sqlite` calls the current request made.
static STORE_CALLS: AtomicU32 = AtomicU32::new(0);
/// Nanoseconds the current request's instance spent running its own code in wasm (its calls
/// into the host, the store's included, left out).
static GUEST_NANOS: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds the current request's instantiation took.
static INSTANTIATE_NANOS: AtomicU64 = AtomicU64::new(0);

fn nanos(elapsed: std::time::Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// Keeps the time `store`'s instance runs in wasm in `GUEST_NANOS`: from each entry into wasm
/// (or return from the host) to the next exit from it (or call into the host). This is the
/// component's own work (routing, consent, templates, crypto); the host's side of its imports,
/// the scheduling of its tasks and the HTTP plumbing are not.
pub fn time_guest(store: &mut wasmtime::Store<HostState>) {
    let mut entered: Option<Instant> = None;
    store.call_hook(move |_, hook| {
        match hook {
            CallHook::CallingWasm | CallHook::ReturningFromHost => entered = Some(Instant::now()),
            CallHook::ReturningFromWasm | CallHook::CallingHost => {
                if let Some(since) = entered.take() {
                    GUEST_NANOS.fetch_add(nanos(since.elapsed()), Ordering::Relaxed);
                }
            }
        }
        Ok(())
    });
}

/// Notes how long the current request's instantiation took (from `started`).
pub fn instantiated(started: Instant) {
    INSTANTIATE_NANOS.store(nanos(started.elapsed()), Ordering::Relaxed);
}

/// `spin:sqlite` as the server links it, each call timed.
pub struct TimedImports;

impl HasData for TimedImports {
    type Data<'a> = &'a mut HostState;
}

/// Adds the call's time since `started` to the current request's store time.
fn count(started: Instant) {
    STORE_NANOS.fetch_add(nanos(started.elapsed()), Ordering::Relaxed);
    STORE_CALLS.fetch_add(1, Ordering::Relaxed);
}

type Executed = Result<(Vec<String>, StreamReader<RowResult>, FutureReader<Result<(), Error>>), Error>;

impl<T> HostConnectionWithStore<T> for TimedImports {
    async fn open_async(accessor: &Accessor<T, Self>, database: String) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        let started = Instant::now();
        let opened = <SpinImports as HostConnectionWithStore<T>>::open_async(&accessor.with_getter::<SpinImports>(accessor.getter()), database).await;
        count(started);
        opened
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Executed> {
        let started = Instant::now();
        let spin = accessor.with_getter::<SpinImports>(accessor.getter());
        let executed = <SpinImports as HostConnectionWithStore<T>>::execute_async(&spin, connection, statement, parameters).await;
        count(started);
        executed
    }

    async fn last_insert_rowid_async(accessor: &Accessor<T, Self>, connection: Resource<Connection>) -> wasmtime::Result<i64> {
        <SpinImports as HostConnectionWithStore<T>>::last_insert_rowid_async(&accessor.with_getter::<SpinImports>(accessor.getter()), connection).await
    }

    async fn changes_async(accessor: &Accessor<T, Self>, connection: Resource<Connection>) -> wasmtime::Result<u64> {
        <SpinImports as HostConnectionWithStore<T>>::changes_async(&accessor.with_getter::<SpinImports>(accessor.getter()), connection).await
    }
}

/// The server's linker with `spin:sqlite` timed.
pub fn linker(engine: &wasmtime::Engine) -> Result<Linker<HostState>> {
    crate::state::linker_with(engine, |linker| {
        crate::bindings::spin::sqlite::sqlite::add_to_linker::<HostState, TimedImports>(linker, |state| state).map_err(|e| anyhow!("linking spin:sqlite: {e}"))
    })
}

/// One request on the wire.
#[derive(Deserialize)]
struct WireRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    /// The client's address, as `spin-client-addr` carries it.
    client: std::net::IpAddr,
}

/// One response on the wire.
#[derive(Serialize)]
struct WireResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    handler_us: f64,
    store_us: f64,
    store_calls: u32,
    /// The instance's own time in wasm (see `time_guest`), µs.
    guest_us: f64,
    /// Instantiating the component for this request, µs (inside `handler_us`).
    instantiate_us: f64,
}

/// Answers requests from stdin until it closes.
pub async fn serve(app: &App, start_ms: f64) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::json!({ "ready": true, "start_ms": start_ms }))?;
    out.flush()?;
    loop {
        let mut line = String::new();
        let read = tokio::task::block_in_place(|| std::io::stdin().lock().read_line(&mut line))?;
        if read == 0 {
            return Ok(());
        }
        let wire: WireRequest = serde_json::from_str(&line).context("a request line")?;
        let answer = handle(app, wire).await?;
        writeln!(out, "{}", serde_json::to_string(&answer)?)?;
        out.flush()?;
    }
}

async fn handle(app: &App, wire: WireRequest) -> Result<WireResponse> {
    let client = std::net::SocketAddr::new(wire.client, 40000);
    let route = app.router.route(&wire.path).ok_or_else(|| anyhow!("no route for {}", wire.path))?;
    let handler = app.handlers.get(&route.component).ok_or_else(|| anyhow!("no component {}", route.component))?;
    let body = Full::new(Bytes::from(STANDARD.decode(&wire.body)?)).map_err(|never: std::convert::Infallible| match never {}).boxed_unsync();
    let mut builder = http::Request::builder().method(wire.method.as_str()).uri(wire.path.as_str());
    let mut host = "localhost".to_string();
    for (name, value) in &wire.headers {
        if name.eq_ignore_ascii_case("host") {
            host.clone_from(value);
        }
        builder = builder.header(name, value);
    }
    let mut request = builder.body(body)?;
    prepare_request(&mut request, &route, &host, client).map_err(|e| anyhow!(e))?;
    STORE_NANOS.store(0, Ordering::Relaxed);
    STORE_CALLS.store(0, Ordering::Relaxed);
    GUEST_NANOS.store(0, Ordering::Relaxed);
    INSTANTIATE_NANOS.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let response = handler.handle((), request).await.map_err(|e| anyhow!("the component failed: {e:?}"))?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| anyhow!("reading the body: {e:?}"))?.to_bytes();
    let handler_us = started.elapsed().as_secs_f64() * 1e6;
    let headers = parts.headers.iter().map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_string())).collect();
    Ok(WireResponse {
        status: parts.status.as_u16(),
        headers,
        body: STANDARD.encode(&body),
        handler_us,
        store_us: STORE_NANOS.load(Ordering::Relaxed) as f64 / 1e3,
        store_calls: STORE_CALLS.load(Ordering::Relaxed),
        guest_us: GUEST_NANOS.load(Ordering::Relaxed) as f64 / 1e3,
        instantiate_us: INSTANTIATE_NANOS.load(Ordering::Relaxed) as f64 / 1e3,
    })
}
