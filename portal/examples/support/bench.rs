//! What the native benchmarks share: a fixed clock and configuration, a signed-in session, a
//! timed request loop, and median/p99.

use std::time::Instant;

use carefront_portal::handle;
use carefront_shared::config::{App, Config};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::SessionRecord;
use carefront_shared::random::SeededRandom;
use carefront_shared::session;
use carefront_shared::store::{SqlStore, Store};
use chrono::{DateTime, Duration, Utc};

/// The benchmarks' "now".
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

/// A configuration for benchmarks only.
pub fn config() -> Result<Config, String> {
    Config::from_lookup(App::Portal, |name| match name {
        "SESSION_KEY" => Some("YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktYmVuY2gta2V5".into()),
        "CSRF_KEY" => Some("Y3NyZi1rZXktZm9yLWJlbmNobWFya3Mtb25seS0zMi1ieXRlcyE".into()),
        "RECEIPT_KEYS" => Some("bench:cmVjZWlwdC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "RP_ID" => Some("localhost".into()),
        "CREDENTIAL_KEY" => Some("Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "ORIGIN" => Some("http://localhost:8787".into()),
        _ => None,
    })
    .map_err(|error| error.to_string())
}

/// (median, p99) of the samples.
pub fn median_and_p99(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

/// Signs `person_id` in: the session cookie value.
pub fn sign_in(store: &SqlStore<'_>, config: &Config, person_id: &str) -> Result<String, String> {
    // A fresh seed each run: a county file (bench/scale) is signed into more than once.
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |elapsed| elapsed.as_nanos() as u64);
    let random = SeededRandom::new(seed);
    let keys = config.browser.as_ref().ok_or("the benchmark configuration has no browser keys")?;
    let minted = session::mint(&keys.session, session::SESSION_PURPOSE, &random);
    let record =
        SessionRecord { id_hash: minted.id_hash, person_id: person_id.into(), created_at: now(), last_seen_at: now(), verified_at: now(), passkey_id: None };
    pollster::block_on(store.insert_session(&record)).map_err(|error| error.to_string())?;
    Ok(minted.cookie_value)
}

/// GETs `path` `rounds` times (after a tenth as many uncounted warm-up rounds) as the signed-in
/// session; returns the timings in microseconds and the last response body.
pub fn time_page(store: &SqlStore<'_>, config: &Config, cookie: &str, path: &str, rounds: usize) -> Result<(Vec<f64>, Vec<u8>), String> {
    // A fresh seed per call: audit event ids must not repeat across calls on one store.
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(9, |elapsed| elapsed.as_nanos() as u64);
    let random = SeededRandom::new(seed);
    let mut samples = Vec::with_capacity(rounds);
    let mut body = Vec::new();
    for round in 0..rounds + rounds / 10 {
        let request =
            http::Request::get(path).header("cookie", format!("__Host-carefront_session={cookie}")).body(Vec::new()).map_err(|error| error.to_string())?;
        let context = RequestContext { store, config, now: now() + Duration::milliseconds(round as i64), random: &random, client: None, outbound: None };
        let started = Instant::now();
        let response = pollster::block_on(handle(&context, request));
        if round >= rounds / 10 {
            samples.push(started.elapsed().as_secs_f64() * 1e6);
        }
        if response.status() != 200 {
            return Err(format!("{path} answered {}", response.status()));
        }
        body = response.into_body();
    }
    Ok((samples, body))
}
