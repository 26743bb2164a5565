//! `carefront-admin notify drill`: the outbox and its Notify sender against a Notify stand-in,
//! in two parts. Throughput: how many messages a second one sender delivers from the outbox
//! (taking them under a lease, sending each, recording Notify's id), in sweeps of the size the
//! runtimes use. Outage: Notify answers 503 for a given number of minutes of a simulated clock
//! while messages keep arriving; the sender sends at once after each (as a request does) and
//! sweeps on the runtimes' schedule, and the drill reports when each message got through, in
//! how many tries, and whether any was lost or sent twice.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use carefront_shared::db::{Database as _, Value};
use carefront_shared::notify::courier::{NotifyCourier, SCHEDULED_LIMIT, SWEEP_LIMIT};
use carefront_shared::notify::{ApiKey, Notify, PRODUCTION_BASE_URL, Templates};
use carefront_shared::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use carefront_shared::outbox::{self, Channel, Notification, NotificationKind, Sweep};
use carefront_shared::random::{SeededRandom, new_id};
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::{OutboxStore as _, SqlStore};
use chrono::{DateTime, Duration, Utc};

use crate::notify::PlainHttp;

/// The command's usage.
pub const USAGE: &str = "  carefront-admin notify drill [--base-url URL] [--messages N] [--outage-minutes M]
                              [--arrival-seconds A] [--sweep-seconds S]
      Drills the outbox against a local Notify stand-in (NOTIFY_API_KEY, NOTIFY_BASE_URL as for
      send). Throughput: N messages (default 1000) queued and sent by one sender in sweeps of
      the runtimes' size. Outage: on a simulated clock Notify answers 503 for M minutes (default
      10) while a message arrives every A seconds (default 10); each is tried at once and the
      outbox is swept every S seconds (default 60, the cron's minute). Prints both as tables.";

/// The template the drill's messages use (any UUID: the stand-in checks the form only).
const TEMPLATE: &str = "5a9d3c1e-7b42-4f8a-9c61-2e0f4b7d8a13";
/// How long a simulated run may go on before the drill gives up on the queue draining.
const SIMULATED_LIMIT_HOURS: i64 = 6;

struct DrillArgs {
    base_url: Option<String>,
    messages: usize,
    outage_minutes: i64,
    arrival_seconds: i64,
    sweep_seconds: i64,
}

fn parse(args: &[String]) -> Result<DrillArgs, String> {
    let mut parsed = DrillArgs { base_url: None, messages: 1000, outage_minutes: 10, arrival_seconds: 10, sweep_seconds: 60 };
    let mut iter = args.iter();
    let positive = |flag: &str, value: &str| value.parse::<i64>().ok().filter(|number| *number > 0).ok_or_else(|| format!("{flag}: a whole number above 0"));
    while let Some(flag) = iter.next() {
        let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--base-url" => parsed.base_url = Some(value.clone()),
            "--messages" => parsed.messages = usize::try_from(positive(flag, value)?).map_err(|error| error.to_string())?,
            "--outage-minutes" => parsed.outage_minutes = positive(flag, value)?,
            "--arrival-seconds" => parsed.arrival_seconds = positive(flag, value)?,
            "--sweep-seconds" => parsed.sweep_seconds = positive(flag, value)?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(parsed)
}

/// Notify, down until a time on the simulated clock: a 503 in Notify's shape, without sending.
struct Outage<'a> {
    inner: &'a dyn Outbound,
    until: DateTime<Utc>,
    clock: &'a Cell<DateTime<Utc>>,
}

#[async_trait(?Send)]
impl Outbound for Outage<'_> {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        if self.clock.get() < self.until {
            let body = br#"{"status_code": 503, "errors": [{"error": "ServiceUnavailable", "message": "Service unavailable (the drill's outage)"}]}"#;
            return Ok(OutboundResponse { status: 503, body: body.to_vec() });
        }
        self.inner.send(request).await
    }
}

/// A message like the ones people get (a text to a drama-range number, links only).
fn message(index: usize, random: &SeededRandom, now: DateTime<Utc>) -> Notification {
    let personalisation = BTreeMap::from([("name".to_owned(), "Margaret Okafor".to_owned()), ("link".to_owned(), "https://carefront.example/home".to_owned())]);
    Notification::queued(new_id(random), NotificationKind::AccessStopped, Channel::Sms, format!("07700 900 {:03}", index % 1000), personalisation, now)
}

/// How the sender is called: after a request (one sweep), or on the schedule (sweeping on while
/// sweeps come back full).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    Request,
    Scheduled,
}

/// One send at `now` (simulated or not), signing Notify's token with the real time.
async fn sweep(
    store: &SqlStore<'_>,
    notify: &Notify,
    templates: &Templates,
    outbound: &dyn Outbound,
    now: DateTime<Utc>,
    run: Run,
    random: &SeededRandom,
) -> Result<Sweep, String> {
    let courier = NotifyCourier { notify: notify.clone(), templates, outbound, now: Utc::now() };
    match run {
        Run::Request => outbox::deliver_due(store, &courier, now, SWEEP_LIMIT, random).await,
        Run::Scheduled => outbox::deliver_backlog(store, &courier, now, SWEEP_LIMIT, SCHEDULED_LIMIT, random).await,
    }
    .map_err(|error| error.to_string())
}

/// The median and the largest of `values` (sorted here).
fn median_and_max(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    };
    (median, values.last().copied().unwrap_or(f64::NAN))
}

/// How many times the stand-in accepted each reference.
async fn accepted_by_reference(outbound: &dyn Outbound, base_url: &url::Url) -> Result<BTreeMap<String, usize>, String> {
    let url = base_url.join("/messages.json").map_err(|error| error.to_string())?;
    let answer = outbound
        .send(OutboundRequest { method: http::Method::GET, url, headers: vec![("accept".into(), "application/json".into())], body: Vec::new() })
        .await
        .map_err(|error| format!("the stand-in's list of messages: {error}"))?;
    let list: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|error| format!("the stand-in's list of messages: {error}"))?;
    let mut counts = BTreeMap::new();
    for reference in list["messages"].as_array().into_iter().flatten().filter_map(|message| message["reference"].as_str()) {
        *counts.entry(reference.to_owned()).or_insert(0) += 1;
    }
    Ok(counts)
}

/// Queues `count` messages and sends them all with one sender; prints the rate.
async fn throughput(count: usize, notify: &Notify, templates: &Templates, outbound: &dyn Outbound, random: &SeededRandom) -> Result<Vec<String>, String> {
    let database = SqliteDatabase::in_memory().map_err(|error| error.to_string())?;
    let store = SqlStore::new(&database);
    let mut ids = Vec::with_capacity(count);
    for index in 0..count {
        let queued = message(index, random, Utc::now());
        store.queue_notification(&queued).await.map_err(|error| error.to_string())?;
        ids.push(queued.id);
    }
    let started = Instant::now();
    let mut sweeps = Vec::new();
    let mut sent = 0;
    while sent < count {
        let began = Instant::now();
        let done = sweep(&store, notify, templates, outbound, Utc::now(), Run::Request, random).await?;
        sweeps.push(began.elapsed().as_secs_f64() * 1000.0);
        if done.sent == 0 {
            return Err(format!("a sweep sent nothing after {sent} of {count}: {done:?} (is the stand-in failing?)"));
        }
        sent += done.sent;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (median_sweep, slowest_sweep) = median_and_max(&mut sweeps);
    println!("| Throughput | |");
    println!("|---|---|");
    println!("| Messages sent by one sender | {count} in {seconds:.2} s |");
    println!("| Messages per second | {:.0} |", count as f64 / seconds.max(1e-9));
    println!("| Sweep of up to {SWEEP_LIMIT} messages, median / slowest | {median_sweep:.0} ms / {slowest_sweep:.0} ms |");
    println!();
    Ok(ids)
}

/// The outage on a simulated clock; prints what happened to each message.
async fn outage(args: &DrillArgs, notify: &Notify, templates: &Templates, outbound: &dyn Outbound, random: &SeededRandom) -> Result<Vec<String>, String> {
    let database = SqliteDatabase::in_memory().map_err(|error| error.to_string())?;
    let store = SqlStore::new(&database);
    let start = Utc::now();
    let ends = start + Duration::minutes(args.outage_minutes);
    let clock = Cell::new(start);
    let down = Outage { inner: outbound, until: ends, clock: &clock };
    let arrivals: Vec<DateTime<Utc>> = (0..).map(|step| start + Duration::seconds(step * args.arrival_seconds)).take_while(|time| *time < ends).collect();
    let mut ids = Vec::new();
    let mut next_arrival = 0;
    let mut next_sweep = start + Duration::seconds(args.sweep_seconds);
    let mut failed = 0;
    loop {
        let arrival = arrivals.get(next_arrival).copied();
        let now = arrival.filter(|time| *time <= next_sweep).unwrap_or(next_sweep);
        if now > start + Duration::hours(SIMULATED_LIMIT_HOURS) {
            return Err(format!("the outbox had not drained {SIMULATED_LIMIT_HOURS} hours after the outage began"));
        }
        clock.set(now);
        let run = if arrival == Some(now) {
            // A change queues its message, and the request sends at once.
            let queued = message(ids.len(), random, now);
            store.queue_notification(&queued).await.map_err(|error| error.to_string())?;
            ids.push(queued.id);
            next_arrival += 1;
            Run::Request
        } else {
            next_sweep = now + Duration::seconds(args.sweep_seconds);
            Run::Scheduled
        };
        failed += sweep(&store, notify, templates, &down, now, run, random).await?.failed;
        let waiting = database
            .query("SELECT count(*) FROM notifications WHERE status IN ('queued', 'sending')", &[])
            .await
            .map_err(|error| error.to_string())?
            .first()
            .map(|row| row.integer(0))
            .transpose()
            .map_err(|error| error.to_string())?
            .unwrap_or(0);
        if next_arrival == arrivals.len() && waiting == 0 {
            break;
        }
    }
    let rows = database
        .query("SELECT attempts, created_at, updated_at FROM notifications WHERE status = ?1", &[Value::Text("sent".into())])
        .await
        .map_err(|error| error.to_string())?;
    let (mut tries, mut after_outage, mut in_queue) = (Vec::new(), Vec::new(), Vec::new());
    for row in &rows {
        let time = |index| row.text(index).ok().and_then(|text| DateTime::parse_from_rfc3339(&text).ok()).map(|time| time.with_timezone(&Utc));
        let (Some(queued), Some(sent)) = (time(1), time(2)) else { return Err("a sent message has no times".into()) };
        tries.push(row.integer(0).map_err(|error| error.to_string())? as f64);
        after_outage.push((sent - queued.max(ends)).num_seconds() as f64);
        in_queue.push((sent - queued).num_seconds() as f64);
    }
    let (tries_median, tries_max) = median_and_max(&mut tries);
    let (after_median, after_max) = median_and_max(&mut after_outage);
    let (queue_median, queue_max) = median_and_max(&mut in_queue);
    println!("| A {}-minute Notify outage (simulated clock) | |", args.outage_minutes);
    println!("|---|---|");
    println!("| Messages queued during it (one every {} s) | {} |", args.arrival_seconds, ids.len());
    println!("| Sent after it | {} |", rows.len());
    println!("| Failed (out of tries) | {failed} |");
    println!("| Tries per message, median / most | {tries_median:.0} / {tries_max:.0} |");
    println!("| Sent after Notify was back, median / longest | {} / {} |", minutes(after_median), minutes(after_max));
    println!("| Time in the outbox, median / longest | {} / {} |", minutes(queue_median), minutes(queue_max));
    Ok(ids)
}

/// Seconds as "10m 30s".
fn minutes(seconds: f64) -> String {
    let whole = seconds.round() as i64;
    format!("{}m {:02}s", whole / 60, whole % 60)
}

/// Runs `notify drill …`.
pub fn run(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let args = parse(args).map_err(|error| format!("{error}\n{USAGE}"))?;
    let key = env("NOTIFY_API_KEY").ok_or("NOTIFY_API_KEY is not set")?;
    let key = ApiKey::parse(&key).map_err(|error| format!("NOTIFY_API_KEY: {error}"))?;
    let base_url = args.base_url.clone().or_else(|| env("NOTIFY_BASE_URL")).unwrap_or_else(|| PRODUCTION_BASE_URL.to_owned());
    let base_url = url::Url::parse(&base_url).map_err(|_| format!("base URL {base_url}: not a URL"))?;
    let notify = Notify::new(&base_url, key);
    let templates = Templates::parse(&format!(r#"{{"access_stopped.sms": "{TEMPLATE}"}}"#)).map_err(|error| error.to_string())?;
    let outbound = PlainHttp { timeout: StdDuration::from_secs(10) };
    let random = crate::random()?;
    pollster::block_on(async {
        let mut ids = throughput(args.messages, &notify, &templates, &outbound, &random).await?;
        ids.extend(outage(&args, &notify, &templates, &outbound, &random).await?);
        // Each message reached Notify exactly once: none lost, none twice.
        let accepted = accepted_by_reference(&outbound, &base_url).await?;
        let wrong: Vec<String> = ids
            .iter()
            .filter_map(|id| match accepted.get(id).copied().unwrap_or(0) {
                1 => None,
                times => Some(format!("{id}: {times}")),
            })
            .collect();
        println!();
        println!("Every message reached the stand-in exactly once: {}", if wrong.is_empty() { "yes" } else { "NO" });
        if wrong.is_empty() { Ok(()) } else { Err(format!("{} messages were not accepted exactly once: {}", wrong.len(), wrong.join(", "))) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arguments_are_checked() {
        let args = |list: &[&str]| list.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>();
        let parsed = parse(&args(&["--messages", "20", "--outage-minutes", "3"])).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((parsed.messages, parsed.outage_minutes, parsed.arrival_seconds, parsed.sweep_seconds), (20, 3, 10, 60));
        assert!(parse(&args(&["--messages", "0"])).is_err());
        assert!(parse(&args(&["--outage-minutes"])).is_err());
        assert!(parse(&args(&["--loud", "1"])).is_err());
    }

    #[test]
    fn medians_are_of_the_middle() {
        assert_eq!(median_and_max(&mut [3.0, 1.0, 2.0]), (2.0, 3.0));
        assert_eq!(median_and_max(&mut [4.0, 1.0, 2.0, 3.0]), (2.5, 4.0));
        assert_eq!(minutes(630.0), "10m 30s");
    }
}
