//! The handler's own time in each runtime: drives the same requests through one target — the
//! routers natively against a SQLite file (`native`), or a process that hands each request to
//! the built wasm inside its runtime and answers on stdout (`bench/runtime/workerd.mjs` under
//! Miniflare, `carefront-spin-host --bench`). Both speak one line protocol: a JSON request per
//! line in (method, path, headers, base64 body), a JSON response per line out, with the
//! handler's time as the runtime measured it and the time spent waiting on the store.
//!
//! The person is the demo seed's first invitation (Margaret): this driver accepts it and makes
//! a passkey with a software authenticator, as a browser would, then times the signed-in home
//! page, the medicines page, `/access`, passkey sign-in verification (`POST /sign-in/finish`,
//! a fresh ceremony each round) and a signed `GET /api/v1/people?limit=20`. Prints one JSON
//! object: per request, the median and p99 of the handler's time, the mean time it waited on
//! the store, and the handler's own work (median less the store's mean).
//!
//! `cargo run --release -p carefront-portal --example runtime_bench -- --links FILE
//! --credentials FILE [--rounds N] [--sign-ins N] (--database FILE | -- COMMAND ARGS...)`
//! (bench/runtime/run runs it for each runtime). Settings the runtimes need: see [`KEYS`].

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use carefront_shared::config::{App, Config};
use carefront_shared::context::RequestContext;
use carefront_shared::credential::{self, DerivedKey};
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::random::SeededRandom;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::SqlStore;
use carefront_shared::webauthn_rs::prelude::{CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::error::WebauthnCError;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{AllowCredentials, CredProps, PublicKeyCredentialCreationOptions, PublicKeyCredentialRequestOptions};

/// The origin every target is configured with (ORIGIN; RP_ID `localhost`).
const ORIGIN: &str = "http://localhost:8787";

/// The settings every target runs with (bench/runtime/run passes the same to the runtimes).
const KEYS: [(&str, &str); 6] = [
    ("SESSION_KEY", "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktYmVuY2gta2V5"),
    ("CSRF_KEY", "Y3NyZi1rZXktZm9yLWJlbmNobWFya3Mtb25seS0zMi1ieXRlcyE"),
    ("RECEIPT_KEYS", "bench:cmVjZWlwdC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ"),
    ("CREDENTIAL_KEY", "Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ"),
    ("RP_ID", "localhost"),
    ("ORIGIN", ORIGIN),
];

/// One request on the wire; `client` is the address the platform vouches for (each sign-in
/// round comes from its own, or the per-source limit on ceremony starts would answer 429).
#[derive(Serialize)]
struct WireRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    client: String,
}

/// The client address of ordinary requests.
const CLIENT: &str = "192.0.2.1";

/// One response on the wire, with the runtime's own timings in microseconds.
#[derive(Deserialize)]
struct WireResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    handler_us: f64,
    store_us: f64,
    store_calls: u32,
    /// The component's own time in wasm, where the runtime can tell (the Spin host's call hooks).
    #[serde(default)]
    guest_us: Option<f64>,
    /// The instantiation's share of `handler_us`, where the runtime instantiates per request.
    #[serde(default)]
    instantiate_us: Option<f64>,
}

/// Where requests are handled.
trait Target {
    fn send(&mut self, request: &WireRequest) -> Result<WireResponse, String>;
}

/// A database that adds up the time spent waiting on it.
struct TimedDatabase {
    inner: SqliteDatabase,
    waited: Cell<Duration>,
    calls: Cell<u32>,
}

impl TimedDatabase {
    fn count(&self, started: Instant) {
        self.waited.set(self.waited.get() + started.elapsed());
        self.calls.set(self.calls.get() + 1);
    }
}

#[async_trait(?Send)]
impl Database for TimedDatabase {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let started = Instant::now();
        let result = self.inner.query(sql, params).await;
        self.count(started);
        result
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let started = Instant::now();
        let result = self.inner.execute(sql, params).await;
        self.count(started);
        result
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        let started = Instant::now();
        let result = self.inner.batch(statements).await;
        self.count(started);
        result
    }
}

/// The portal's and the API's routers in this process, as `/api/…` and the rest are routed.
struct Native {
    db: TimedDatabase,
    portal: Config,
    api: Config,
    random: SeededRandom,
}

fn setting(name: &str) -> Option<String> {
    KEYS.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
}

impl Native {
    fn open(path: &str) -> Result<Native, String> {
        let inner = SqliteDatabase::open(std::path::Path::new(path)).map_err(|error| error.to_string())?;
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(5, |elapsed| elapsed.as_nanos() as u64);
        Ok(Native {
            db: TimedDatabase { inner, waited: Cell::default(), calls: Cell::default() },
            portal: Config::from_lookup(App::Portal, setting).map_err(|error| error.to_string())?,
            api: Config::from_lookup(App::Api, setting).map_err(|error| error.to_string())?,
            random: SeededRandom::new(seed),
        })
    }
}

impl Target for Native {
    fn send(&mut self, wire: &WireRequest) -> Result<WireResponse, String> {
        let mut builder = http::Request::builder().method(wire.method.as_str()).uri(wire.path.as_str());
        for (name, value) in &wire.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(STANDARD.decode(&wire.body).map_err(|error| error.to_string())?).map_err(|error| error.to_string())?;
        self.db.waited.set(Duration::ZERO);
        self.db.calls.set(0);
        let store = SqlStore::new(&self.db);
        let api = wire.path.starts_with("/api/");
        let config = if api { &self.api } else { &self.portal };
        let context = RequestContext { store: &store, config, now: now(), random: &self.random, client: Some(wire.client.clone()), outbound: None };
        let started = Instant::now();
        let response =
            if api { pollster::block_on(carefront_api::handle(&context, request)) } else { pollster::block_on(carefront_portal::handle(&context, request)) };
        let handler_us = started.elapsed().as_secs_f64() * 1e6;
        let headers = response.headers().iter().map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned())).collect();
        Ok(WireResponse {
            status: response.status().as_u16(),
            headers,
            body: STANDARD.encode(response.body()),
            handler_us,
            store_us: self.db.waited.get().as_secs_f64() * 1e6,
            store_calls: self.db.calls.get(),
            guest_us: None,
            instantiate_us: None,
        })
    }
}

/// A runtime in a child process, one JSON line each way; its first line says it is ready and
/// how long its start took (`{"ready": true, "start_ms": …}`).
struct Remote {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    start_ms: f64,
    ready_ms: f64,
}

impl Remote {
    fn spawn(command: &[String]) -> Result<Remote, String> {
        let (program, args) = command.split_first().ok_or("no command after --")?;
        let spawned = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start {program}: {error}"))?;
        let input = child.stdin.take().ok_or("no stdin")?;
        let mut output = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        output.read_line(&mut line).map_err(|error| error.to_string())?;
        let ready: serde_json::Value = serde_json::from_str(&line).map_err(|error| format!("{program} did not say it was ready ({error}): {line:?}"))?;
        let start_ms = ready["start_ms"].as_f64().ok_or_else(|| format!("{program}: no start_ms in {line:?}"))?;
        Ok(Remote { child, input, output, start_ms, ready_ms: spawned.elapsed().as_secs_f64() * 1e3 })
    }
}

impl Target for Remote {
    fn send(&mut self, request: &WireRequest) -> Result<WireResponse, String> {
        let line = serde_json::to_string(request).map_err(|error| error.to_string())?;
        writeln!(self.input, "{line}").map_err(|error| error.to_string())?;
        self.input.flush().map_err(|error| error.to_string())?;
        let mut answer = String::new();
        self.output.read_line(&mut answer).map_err(|error| error.to_string())?;
        serde_json::from_str(&answer).map_err(|error| format!("bad answer ({error}): {answer:?}"))
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Closing stdin ends the child's loop; wait so its runtime shuts down cleanly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

/// A browser: keeps the cookies the portal sets, sends what a browser would.
struct Browser<'t> {
    target: &'t mut dyn Target,
    cookies: RefCell<BTreeMap<String, String>>,
    client: String,
}

impl Browser<'_> {
    fn send(&mut self, method: &str, path: &str, mut headers: Vec<(String, String)>, body: &[u8]) -> Result<WireResponse, String> {
        let cookies: Vec<String> = self.cookies.borrow().iter().map(|(name, value)| format!("{name}={value}")).collect();
        if !cookies.is_empty() {
            headers.push(("cookie".into(), cookies.join("; ")));
        }
        headers.push(("host".into(), "localhost:8787".into()));
        let request = WireRequest { method: method.into(), path: path.into(), headers, body: STANDARD.encode(body), client: self.client.clone() };
        let response = self.target.send(&request)?;
        for (name, value) in &response.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            if let Some((name, value)) = pair.split_once('=') {
                if attributes.contains("Max-Age=0") {
                    self.cookies.borrow_mut().remove(name);
                } else {
                    self.cookies.borrow_mut().insert(name.into(), value.into());
                }
            }
        }
        Ok(response)
    }

    fn get(&mut self, path: &str) -> Result<WireResponse, String> {
        self.send("GET", path, Vec::new(), b"")
    }

    fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<WireResponse, String> {
        let body = serde_urlencoded::to_string(fields).map_err(|error| error.to_string())?;
        let headers = vec![("content-type".into(), "application/x-www-form-urlencoded".into()), ("origin".into(), ORIGIN.into())];
        self.send("POST", path, headers, body.as_bytes())
    }

    fn post_json(&mut self, path: &str, csrf: &str, body: &impl Serialize) -> Result<WireResponse, String> {
        let body = serde_json::to_vec(body).map_err(|error| error.to_string())?;
        let headers = vec![("content-type".into(), "application/json".into()), ("origin".into(), ORIGIN.into()), ("x-csrf-token".into(), csrf.into())];
        self.send("POST", path, headers, &body)
    }

    fn csrf_from(&mut self, path: &str) -> Result<String, String> {
        let response = expect(self.get(path)?, 200, path)?;
        csrf_in(&body_text(&response)).ok_or_else(|| format!("no CSRF token on {path}"))
    }
}

fn body_text(response: &WireResponse) -> String {
    STANDARD.decode(&response.body).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default()
}

fn expect(response: WireResponse, status: u16, what: &str) -> Result<WireResponse, String> {
    if response.status == status {
        Ok(response)
    } else {
        Err(format!("{what} answered {} (expected {status}): {}", response.status, body_text(&response).chars().take(400).collect::<String>()))
    }
}

/// The CSRF token a page's forms (or its passkey button) carry.
fn csrf_in(html: &str) -> Option<String> {
    ["name=\"csrf\" value=\"", "data-csrf-token=\""].iter().find_map(|marker| {
        let start = html.find(marker)? + marker.len();
        html[start..].split('"').next().map(str::to_owned)
    })
}

/// webauthn-authenticator-rs's software passkey, made resident (as in the portal's tests): it
/// remembers each credential's user handle and answers discoverable sign-ins.
struct ResidentSoftPasskey {
    inner: SoftPasskey,
    handles: HashMap<Vec<u8>, Vec<u8>>,
}

impl AuthenticatorBackend for ResidentSoftPasskey {
    fn perform_register(
        &mut self,
        origin: Url,
        mut options: PublicKeyCredentialCreationOptions,
        timeout_ms: u32,
    ) -> Result<RegisterPublicKeyCredential, WebauthnCError> {
        if let Some(selection) = options.authenticator_selection.as_mut() {
            selection.require_resident_key = false;
            selection.resident_key = None;
        }
        let user_handle = options.user.id.to_vec();
        let mut credential = self.inner.perform_register(origin, options, timeout_ms)?;
        self.handles.insert(credential.raw_id.to_vec(), user_handle);
        credential.extensions.cred_props = Some(CredProps { rk: Some(true) });
        Ok(credential)
    }

    fn perform_auth(&mut self, origin: Url, mut options: PublicKeyCredentialRequestOptions, timeout_ms: u32) -> Result<PublicKeyCredential, WebauthnCError> {
        options.allow_credentials = self.handles.keys().map(|id| AllowCredentials { type_: "public-key".into(), id: id.clone(), transports: None }).collect();
        let mut credential = self.inner.perform_auth(origin, options, timeout_ms)?;
        credential.response.user_handle = self.handles.get::<[u8]>(credential.raw_id.as_ref()).cloned();
        Ok(credential)
    }
}

/// Accepts the invitation and makes a passkey, as the browser and its script would.
fn enrol(browser: &mut Browser<'_>, code: &str, authenticator: &mut ResidentSoftPasskey) -> Result<(), String> {
    let path = format!("/invitation?code={code}");
    let csrf = browser.csrf_from(&path)?;
    expect(browser.post_form("/invitation", &[("csrf", &csrf), ("code", code)])?, 303, "POST /invitation")?;
    let csrf = browser.csrf_from("/passkeys/create")?;
    let options = expect(browser.post_json("/passkeys/create/options", &csrf, &serde_json::json!({}))?, 200, "passkey options")?;
    let options: CreationChallengeResponse = serde_json::from_str(&body_text(&options)).map_err(|error| error.to_string())?;
    let origin = Url::parse(ORIGIN).map_err(|error| error.to_string())?;
    let credential = authenticator.do_registration(origin, options).map_err(|error| format!("{error:?}"))?;
    expect(browser.post_json("/passkeys/create/finish", &csrf, &credential)?, 200, "passkey finish")?;
    Ok(())
}

/// One kind of request's samples: the handler's time and the store's, in microseconds.
#[derive(Default)]
struct Samples {
    handler: Vec<f64>,
    store: Vec<f64>,
    calls: u32,
    guest: Vec<f64>,
    instantiate: Vec<f64>,
}

impl Samples {
    fn push(&mut self, response: &WireResponse) {
        self.handler.push(response.handler_us);
        self.store.push(response.store_us);
        self.calls = response.store_calls;
        self.guest.extend(response.guest_us);
        self.instantiate.extend(response.instantiate_us);
    }

    fn summary(&self) -> serde_json::Value {
        let mut sorted = self.handler.clone();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted.get(((sorted.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or_default();
        // The store's time as a mean: workerd's clock ticks in whole milliseconds, and a mean of
        // ticked spans is still right where a median is not.
        let store_mean = self.store.iter().sum::<f64>() / self.store.len().max(1) as f64;
        let mut own: Vec<f64> = self.handler.iter().zip(&self.store).map(|(handler, store)| handler - store).collect();
        own.sort_by(f64::total_cmp);
        let own_median = own.get(own.len() / 2).copied().unwrap_or_default();
        let median = |samples: &[f64]| {
            let mut sorted = samples.to_vec();
            sorted.sort_by(f64::total_cmp);
            sorted.get(sorted.len() / 2).copied()
        };
        serde_json::json!({
            "n": self.handler.len(),
            "median_us": at(0.5), "p99_us": at(0.99),
            "store_mean_us": store_mean, "store_calls": self.calls,
            // The handler's own work (routing, consent, templates, crypto): handler less store,
            // request by request, and (for workerd's ticking clock) median less mean.
            "own_request_median_us": own_median,
            "own_median_us": at(0.5) - store_mean,
            // Where the runtime can tell: the median time the component's code ran in wasm,
            // and the median instantiation.
            "guest_median_us": median(&self.guest),
            "instantiate_median_us": median(&self.instantiate),
        })
    }
}

/// Settings from the command line.
struct Args {
    links: String,
    credentials: String,
    rounds: usize,
    sign_ins: usize,
    database: Option<String>,
    command: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args { links: String::new(), credentials: String::new(), rounds: 200, sign_ins: 50, database: None, command: Vec::new() };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--links" => parsed.links = value()?,
            "--credentials" => parsed.credentials = value()?,
            "--rounds" => parsed.rounds = value()?.parse().map_err(|_| "--rounds: a number")?,
            "--sign-ins" => parsed.sign_ins = value()?.parse().map_err(|_| "--sign-ins: a number")?,
            "--database" => parsed.database = Some(value()?),
            "--" => {
                parsed.command = args.collect();
                break;
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(parsed)
}

fn read_json(path: &str) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"))?;
    serde_json::from_str(&text).map_err(|error| format!("{path}: {error}"))
}

fn main() -> Result<(), String> {
    let args = parse()?;
    let links = read_json(&args.links)?;
    let credentials = read_json(&args.credentials)?;
    let person = links[0]["person_id"].as_str().ok_or("no person in the links file")?.to_owned();
    let code = links[0]["code"].as_str().ok_or("no code in the links file")?.to_owned();
    let api = credentials
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|credential| credential["permissions"].as_array().is_some_and(|permissions| permissions.len() == 1 && permissions[0] == "people:read"))
        })
        .ok_or("no people:read credential in the credentials file")?;
    let key_id = api["key_id"].as_str().ok_or("credential without key_id")?.to_owned();
    let key = DerivedKey::from_secret(api["secret"].as_str().ok_or("credential without secret")?).ok_or("the credential's secret does not decode")?;

    let mut native;
    let mut remote;
    let (target, start): (&mut dyn Target, serde_json::Value) = match &args.database {
        Some(path) => {
            native = Native::open(path)?;
            (&mut native, serde_json::Value::Null)
        }
        None => {
            remote = Remote::spawn(&args.command)?;
            let start = serde_json::json!({ "start_ms": remote.start_ms, "ready_ms": remote.ready_ms });
            (&mut remote, start)
        }
    };
    let mut browser = Browser { target, cookies: RefCell::default(), client: CLIENT.into() };
    // The first request of a fresh instance: cold for the runtime's first use of the module.
    let first = browser.get("/sign-in")?;
    let first_us = first.handler_us;
    let mut authenticator = ResidentSoftPasskey { inner: SoftPasskey::new(true), handles: HashMap::new() };
    enrol(&mut browser, &code, &mut authenticator)?;

    let mut results = serde_json::Map::new();
    let pages =
        [("GET /home (signed in)", "/home".to_owned()), ("GET medicines page", format!("/people/{person}/medicines")), ("GET /access", "/access".to_owned())];
    for (name, path) in &pages {
        let mut samples = Samples::default();
        for round in 0..args.rounds + args.rounds / 10 {
            let response = expect(browser.get(path)?, 200, path)?;
            if round >= args.rounds / 10 {
                samples.push(&response);
            }
        }
        results.insert((*name).into(), samples.summary());
    }

    let mut samples = Samples::default();
    let origin = Url::parse(ORIGIN).map_err(|error| error.to_string())?;
    for round in 0..args.sign_ins + args.sign_ins / 10 {
        // A browser that is signed out: the form's token belongs to its own cookies.
        browser.cookies.borrow_mut().clear();
        browser.client = format!("10.0.{}.{}", round / 250, round % 250 + 1);
        let csrf = browser.csrf_from("/sign-in")?;
        let options = expect(browser.post_json("/sign-in/options", &csrf, &serde_json::json!({}))?, 200, "sign-in options")?;
        let options: RequestChallengeResponse = serde_json::from_str(&body_text(&options)).map_err(|error| error.to_string())?;
        let credential = authenticator.do_authentication(origin.clone(), options).map_err(|error| format!("{error:?}"))?;
        let response = expect(browser.post_json("/sign-in/finish", &csrf, &credential)?, 200, "POST /sign-in/finish")?;
        if round >= args.sign_ins / 10 {
            samples.push(&response);
        }
    }
    results.insert("POST /sign-in/finish (passkey)".into(), samples.summary());

    browser.client = CLIENT.into();
    let mut samples = Samples::default();
    for round in 0..args.rounds + args.rounds / 10 {
        let path = "/api/v1/people?limit=20";
        let mut request = http::Request::get(path).header("host", "localhost:8787").body(Vec::new()).map_err(|error| error.to_string())?;
        let nonce = format!("runtime-bench-{}-{round}", now().timestamp_nanos_opt().unwrap_or_default());
        credential::sign_request(&key, &key_id, &request, now().timestamp(), &nonce).insert_into(request.headers_mut()).map_err(|error| error.to_string())?;
        let headers = request.headers().iter().map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned())).collect();
        let wire = WireRequest { method: "GET".into(), path: path.into(), headers, body: String::new(), client: CLIENT.into() };
        let response = expect(browser.target.send(&wire)?, 200, "signed GET /api/v1/people")?;
        if round >= args.rounds / 10 {
            samples.push(&response);
        }
    }
    results.insert("signed GET /api/v1/people?limit=20".into(), samples.summary());

    let report = serde_json::json!({ "start": start, "first_request_us": first_us, "requests": results });
    println!("{report}");
    Ok(())
}
