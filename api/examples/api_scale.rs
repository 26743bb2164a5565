//! The API's organisation lists at a county's scale, natively against a county that
//! `shared/examples/county.rs` made (a SQLite file or a `postgres://…` database): signed GET
//! /api/v1/people?limit=20, GET /api/v1/comments, GET /api/v1/needs/changes, GET
//! /api/v1/consent-discussions and the council's GET
//! /api/v1/monitoring, each `ROUNDS` times one at a time (after a tenth as many uncounted). The
//! monitoring report is measured twice: as a council usually gets it (each provider's figures as
//! kept, migration 27), and with every provider's figures counted (the kept figures forgotten
//! before each request, as after a write about each provider's people).
//! Prints one line a request: its name, median and p99 in milliseconds, and the store (SQLite or
//! PostgreSQL); bench/scale and bench/postgres put the runs side by side. With `SCALE_EXPLAIN=1`
//! (PostgreSQL only) it makes one of each request and prints PostgreSQL's plans for the reads
//! behind them instead.
//!
//! `cargo run --release -p carefront-api --example api_scale -- COUNTY.sqlite|postgres://… [ROUNDS]`

use std::collections::BTreeSet;
use std::time::Instant;

use carefront_api::{Request, handle};
use carefront_shared::config::{App, Config};
use carefront_shared::context::RequestContext;
use carefront_shared::credential::{self, DerivedKey, Permission};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::store::{CredentialStore, SqlStore, Store};
use chrono::{DateTime, Utc};

#[path = "support/county_store.rs"]
mod county_store;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

fn config() -> Result<Config, String> {
    Config::from_lookup(App::Api, |name| match name {
        "RECEIPT_KEYS" => Some("bench:cmVjZWlwdC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "RP_ID" => Some("localhost".into()),
        "CREDENTIAL_KEY" => Some("Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "ORIGIN" => Some("http://localhost:8787".into()),
        _ => None,
    })
    .map_err(|error| error.to_string())
}

/// Signs requests as one organisation's system: each with a new nonce.
struct Client {
    key_id: String,
    key: DerivedKey,
    nonces: u64,
}

impl Client {
    fn issue(store: &SqlStore<'_>, config: &Config, organisation_id: &str, permissions: &[Permission]) -> Result<Client, String> {
        // A seed of its own each system and run: key ids are drawn from it, and a county file
        // is measured more than once.
        let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(5, |elapsed| elapsed.as_nanos() as u64);
        let random = SeededRandom::new(clock ^ organisation_id.bytes().map(u64::from).sum::<u64>());
        let organisation =
            pollster::block_on(store.organisation(organisation_id)).map_err(|error| error.to_string())?.ok_or("no such organisation: run county first")?;
        let permissions: BTreeSet<Permission> = permissions.iter().copied().collect();
        let issued = credential::issue(&config.credential_key, &organisation, "Bench system", permissions, "bench", &random, now())
            .map_err(|error| error.to_string())?;
        pollster::block_on(store.insert_credential(&issued.credential)).map_err(|error| error.to_string())?;
        let key = DerivedKey::from_secret(&issued.secret).ok_or("the issued secret does not decode")?;
        Ok(Client { key_id: issued.credential.key_id, key, nonces: 0 })
    }

    fn get(&mut self, path: &str) -> Result<Request, String> {
        self.nonces += 1;
        let nonce = format!("scale-nonce-{:016}-{}", self.nonces, self.key_id);
        let mut request =
            http::Request::builder().method("GET").uri(path).header("host", "localhost:8788").body(Vec::new()).map_err(|error| error.to_string())?;
        let headers = credential::sign_request(&self.key, &self.key_id, &request, now().timestamp(), &nonce);
        headers.insert_into(request.headers_mut()).map_err(|error| error.to_string())?;
        Ok(request)
    }
}

/// The router's time for each of `rounds` GETs of `path`, in milliseconds; with `forget`, the
/// kept monitoring figures are forgotten before each request (not timed).
fn time(store: &SqlStore<'_>, config: &Config, client: &mut Client, path: &str, rounds: usize, forget: Option<&NativeDatabase>) -> Result<Vec<f64>, String> {
    let random = SeededRandom::new(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(3, |elapsed| elapsed.as_nanos() as u64));
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds / 10 + rounds {
        if let Some(db) = forget {
            pollster::block_on(carefront_shared::db::Database::execute(db, "DELETE FROM monitoring_figures", &[])).map_err(|error| error.to_string())?;
        }
        let request = client.get(path)?;
        let context = RequestContext { store, config, now: now(), random: &random, client: None, outbound: None };
        let started = Instant::now();
        let response = pollster::block_on(handle(&context, request));
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        if response.status().as_u16() != 200 {
            return Err(format!("{path} answered {}: {}", response.status(), String::from_utf8_lossy(response.body())));
        }
        if round >= rounds / 10 {
            samples.push(elapsed);
        }
    }
    Ok(samples)
}

/// (median, p99).
fn summary(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples.get(((samples.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or_default();
    (at(0.5), at(0.99))
}

/// Who asks, and how.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asker {
    /// The provider's system.
    Provider,
    /// The council's system, reading the monitoring figures as kept.
    Council,
    /// The council's system, every provider's figures counted (fewer rounds).
    CouncilCounted,
}

/// The requests measured: name, path, and who asks.
const REQUESTS: [(&str, &str, Asker); 7] = [
    ("signed GET /api/v1/people?limit=20", "/api/v1/people?limit=20", Asker::Provider),
    ("signed GET /api/v1/comments", "/api/v1/comments", Asker::Provider),
    ("signed GET /api/v1/comments?status=open", "/api/v1/comments?status=open", Asker::Provider),
    ("signed GET /api/v1/needs/changes", "/api/v1/needs/changes", Asker::Provider),
    ("signed GET /api/v1/consent-discussions", "/api/v1/consent-discussions", Asker::Provider),
    ("signed GET /api/v1/monitoring (council)", "/api/v1/monitoring", Asker::Council),
    ("signed GET /api/v1/monitoring, every figure counted", "/api/v1/monitoring", Asker::CouncilCounted),
];

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let address = args.next().ok_or("usage: api_scale COUNTY.sqlite|postgres://… [ROUNDS]")?;
    let rounds: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(200);
    let config = config()?;
    let db = county_store::open(&address)?;
    if county_store::explaining() {
        return explain(&db, &config);
    }
    let store = SqlStore::new(&db);
    let mut provider = Client::issue(
        &store,
        &config,
        "org-brookside-care",
        &[Permission::PeopleRead, Permission::CommentsWrite, Permission::NeedsRead, Permission::ConsentDiscussionsWrite],
    )?;
    let mut council = Client::issue(&store, &config, "org-northshire-council", &[Permission::MonitoringRead])?;
    let mut lines = Vec::new();
    for (name, path, asker) in REQUESTS {
        let client = if asker == Asker::Provider { &mut provider } else { &mut council };
        // Counting reads every provider's people: fewer rounds.
        let (counted, forget) = if asker == Asker::CouncilCounted { (rounds.div_ceil(10).max(5), Some(&db)) } else { (rounds, None) };
        let (median, p99) = summary(time(&store, &config, client, path, counted, forget)?);
        lines.push(format!("{name}\t{median:.3}\t{p99:.3}\t{}", db.kind()));
    }
    println!("{}", lines.join("\n"));
    Ok(())
}

/// PostgreSQL's plans for the reads behind one of each request measured.
fn explain(db: &NativeDatabase, config: &Config) -> Result<(), String> {
    if !matches!(db, NativeDatabase::Postgres(_)) {
        return Err("SCALE_EXPLAIN needs a postgres:// county".into());
    }
    // The credentials are issued before any recording starts: their reads are not a request's.
    let store = SqlStore::new(db);
    let mut provider = Client::issue(
        &store,
        config,
        "org-brookside-care",
        &[Permission::PeopleRead, Permission::CommentsWrite, Permission::NeedsRead, Permission::ConsentDiscussionsWrite],
    )?;
    let mut council = Client::issue(&store, config, "org-northshire-council", &[Permission::MonitoringRead])?;
    for (name, path, asker) in REQUESTS {
        let client = if asker == Asker::Provider { &mut provider } else { &mut council };
        let recording = county_store::Recording::new(db);
        time(&SqlStore::new(&recording), config, client, path, 1, (asker == Asker::CouncilCounted).then_some(db))?;
        println!("{}", recording.explain(name)?);
    }
    Ok(())
}
