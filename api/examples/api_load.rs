//! Measures the API router natively, in-process, against SQLite in memory or a PostgreSQL
//! database (a fresh schema of its own, dropped at the end): signed requests as a provider's
//! system sends them — GET /api/v1/people?limit=20 (the read bench/load puts under load on both
//! runtimes), a POST of a visit note with a new Idempotency-Key each time, and the same POST
//! retried with its key (answered from the first, nothing written). Each request is signed
//! afresh (new nonce) before its clock starts; the time is the router's: authentication (HMAC,
//! nonce), the consent decision, the store, the audit log, JSON. Prints requests per second (one at a time),
//! median and p99.
//!
//! `cargo run --release -p carefront-api --example api_load [PEOPLE] [ROUNDS] [postgres://…]`
//! (bench/api and bench/postgres run it).

use std::collections::BTreeSet;
use std::time::Instant;

use carefront_api::{Request, handle};
use carefront_shared::config::{App, Config};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::credential::{self, DerivedKey, Permission};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::migrations;
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::postgres_native::PostgresDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::{CredentialStore, SqlStore, Store};
use chrono::{DateTime, Duration, Utc};

const PROVIDER: &str = "org-brookside-care";

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

fn block<T>(future: impl Future<Output = Result<T, carefront_shared::db::DbError>>) -> Result<T, String> {
    pollster::block_on(future).map_err(|error| error.to_string())
}

/// The provider and `people` people it supports (a consent grant each); a credential for its
/// system, as (key id, secret).
fn populate(store: &SqlStore<'_>, config: &Config, people: usize) -> Result<(String, String), String> {
    let random = SeededRandom::new(11);
    let organisation = Organisation { id: PROVIDER.into(), kind: OrganisationKind::Provider, name: "Brookside Home Care".into(), created_at: now() };
    block(store.insert_organisation(&organisation))?;
    for index in 0..people {
        let id = format!("person-{index:05}");
        let person = Person {
            id: id.clone(),
            role: Role::ServiceUser,
            display_name: format!("Person {index}"),
            organisation_id: None,
            webauthn_handle: carefront_shared::random::new_uuid(&random),
            created_at: now(),
        };
        block(store.insert_person(&person))?;
        let grant = Grant {
            id: format!("grant-{id}"),
            version: 1,
            subject_id: id.clone(),
            grantee: Grantee::Organisation(PROVIDER.into()),
            categories: BTreeSet::from([Category::CarePlan, Category::Medication, Category::VisitsAndNotes]),
            actions: BTreeSet::from([Action::View, Action::Contribute]),
            act_for: false,
            purpose: "to give care".into(),
            starts_at: now() - Duration::days(30),
            ends_at: None,
            basis: Basis::Consent,
            evidence: None,
            recorded_by: id,
            revoked_at: None,
        };
        block(store.insert_grant(&grant, now(), None))?;
    }
    let permissions = BTreeSet::from([Permission::PeopleRead, Permission::VisitsWrite]);
    let issued = credential::issue(&config.credential_key, &organisation, "Rostering system", permissions, "bench", &random, now())
        .map_err(|error| error.to_string())?;
    block(store.insert_credential(&issued.credential))?;
    Ok((issued.credential.key_id, issued.secret))
}

/// Signs requests as the provider's system: each with a new nonce.
struct Client {
    key_id: String,
    key: DerivedKey,
    nonces: u64,
}

impl Client {
    fn request(&mut self, method: &str, path: &str, body: &[u8], idempotency_key: Option<&str>) -> Result<Request, String> {
        self.nonces += 1;
        let nonce = format!("bench-nonce-{:016}", self.nonces);
        // Every header the signature covers is in place before signing.
        let mut builder = http::Request::builder().method(method).uri(path).header("host", "localhost:8788");
        if !body.is_empty() {
            builder = builder.header("content-type", "application/json");
        }
        if let Some(key) = idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        let mut request = builder.body(body.to_vec()).map_err(|error| error.to_string())?;
        let headers = credential::sign_request(&self.key, &self.key_id, &request, now().timestamp(), &nonce);
        headers.insert_into(request.headers_mut()).map_err(|error| error.to_string())?;
        Ok(request)
    }
}

/// Answers `rounds` requests (after a tenth as many uncounted warm-up ones), each made by
/// `next`, and checks each status; the router's time for each, in microseconds.
fn time(
    store: &SqlStore<'_>,
    config: &Config,
    rounds: usize,
    expected: u16,
    mut next: impl FnMut(usize) -> Result<Request, String>,
) -> Result<Vec<f64>, String> {
    let random = SeededRandom::new(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(3, |elapsed| elapsed.as_nanos() as u64));
    let warm_up = rounds / 10;
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..warm_up + rounds {
        let request = next(round)?;
        let context = RequestContext { store, config, now: now(), random: &random, client: None, outbound: None };
        let started = Instant::now();
        let response = pollster::block_on(handle(&context, request));
        let elapsed = started.elapsed().as_secs_f64() * 1e6;
        if response.status().as_u16() != expected {
            return Err(format!("answered {} (expected {expected}): {}", response.status(), String::from_utf8_lossy(response.body())));
        }
        if round >= warm_up {
            samples.push(elapsed);
        }
    }
    Ok(samples)
}

/// (requests per second one at a time, median ms, p99 ms).
fn summary(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples.get(((samples.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or_default();
    let mean = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
    (1e6 / mean, at(0.5) / 1000.0, at(0.99) / 1000.0)
}

fn visit_body(index: usize) -> Vec<u8> {
    let starts_at = now() - Duration::hours(2) + Duration::seconds(index as i64);
    serde_json::json!({
        "startsAt": starts_at.to_rfc3339(),
        "endsAt": (starts_at + Duration::minutes(30)).to_rfc3339(),
        "status": "completed",
        "carers": "Jo Bloggs",
        "note": "Helped with washing and dressing; took her tablets with breakfast.",
    })
    .to_string()
    .into_bytes()
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let people: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(200);
    let rounds: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(2_000);
    let config = config()?;
    let db = match args.next() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let name = format!("api_load_{}", std::process::id());
            NativeDatabase::Postgres(Box::new(PostgresDatabase::fresh(&url, migrations::POSTGRES, &name).map_err(|error| error.to_string())?))
        }
        _ => NativeDatabase::Sqlite(SqliteDatabase::in_memory().map_err(|error| error.to_string())?),
    };
    let place = match &db {
        NativeDatabase::Sqlite(_) => "SQLite in memory",
        NativeDatabase::Postgres(_) => "PostgreSQL, a schema of its own",
    };
    let store = SqlStore::new(&db);
    let (key_id, secret) = populate(&store, &config, people)?;
    let key = DerivedKey::from_secret(&secret).ok_or("the issued secret does not decode")?;
    let mut client = Client { key_id, key, nonces: 0 };

    let read = time(&store, &config, rounds, 200, |_| client.request("GET", "/api/v1/people?limit=20", b"", None))?;
    let write = time(&store, &config, rounds, 201, |round| {
        let path = format!("/api/v1/people/person-{:05}/visits", round % people.max(1));
        client.request("POST", &path, &visit_body(round), Some(&format!("bench-visit-{round}")))
    })?;
    let replay = time(&store, &config, rounds, 200, |_| client.request("POST", "/api/v1/people/person-00000/visits", &visit_body(0), Some("bench-visit-0")))?;

    println!("native router (in-process, {place}, {people} people supported, {rounds} requests each, one at a time)");
    println!("{:<58} {:>10} {:>11} {:>8}", "request", "requests/s", "median ms", "p99 ms");
    for (name, samples) in [
        ("signed GET /api/v1/people?limit=20", read),
        ("signed POST …/visits, new Idempotency-Key", write),
        ("signed POST …/visits, retried key (nothing written)", replay),
    ] {
        let (per_second, median, p99) = summary(samples);
        println!("{name:<58} {per_second:>10.0} {median:>11.3} {p99:>8.3}");
    }
    Ok(())
}
