//! Issue 14, under load: a busy store is retried inside the request, and when it stays busy or
//! is down the page is a 503 with `Retry-After` and the reference that is also in the log
//! (Cloudflare's `cf-ray` when the request has one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::cell::{Cell, RefCell};
use std::time::Duration;

use carefront_portal::{Request, Response, handle};
use carefront_shared::context::RequestContext;
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::retry::{Retrying, Sleep};
use carefront_shared::store::SqlStore;
use support::{DownDatabase, Portal, text};

/// A database whose first `busy_for` calls answer "database is locked", then the real one.
struct BusyDatabase<'a> {
    inner: &'a NativeDatabase,
    busy_for: usize,
    calls: Cell<usize>,
}

impl BusyDatabase<'_> {
    fn busy(&self) -> Result<(), DbError> {
        self.calls.set(self.calls.get() + 1);
        if self.calls.get() <= self.busy_for { Err(DbError::Busy("database is locked".into())) } else { Ok(()) }
    }
}

#[async_trait::async_trait(?Send)]
impl Database for BusyDatabase<'_> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.busy()?;
        self.inner.query(sql, params).await
    }
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.busy()?;
        self.inner.execute(sql, params).await
    }
    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.busy()?;
        self.inner.batch(statements).await
    }
}

/// Records the waits instead of waiting.
#[derive(Default)]
struct NoWait(RefCell<Vec<Duration>>);

#[async_trait::async_trait(?Send)]
impl Sleep for NoWait {
    async fn sleep(&self, duration: Duration) {
        self.0.borrow_mut().push(duration);
    }
}

/// An invitation code sent from the invitation page (the store is asked for it), with `cf-ray`
/// if given, answered over `database`.
fn send_code(portal: &Portal, database: &dyn Database, ray: Option<&str>) -> Response {
    let csrf = portal.csrf_from("/invitation");
    let cookies: Vec<String> = portal.cookies.borrow().iter().map(|(name, value)| format!("{name}={value}")).collect();
    let mut builder = http::Request::post("/invitation").header("content-type", "application/x-www-form-urlencoded").header("cookie", cookies.join("; "));
    if let Some(ray) = ray {
        builder = builder.header("cf-ray", ray);
    }
    let request: Request = builder.body(format!("csrf={csrf}&code=AAAA-AAAA-AAAA-AAAA-AAAA").into_bytes()).unwrap();
    let store = SqlStore::new(database);
    let context = RequestContext { store: &store, config: &portal.config, now: portal.now.get(), random: &portal.random, client: None, outbound: None };
    pollster::block_on(handle(&context, request))
}

fn retry_after(response: &Response) -> Option<&str> {
    response.headers().get("retry-after").and_then(|value| value.to_str().ok())
}

#[test]
fn a_store_busy_twice_is_retried_and_the_page_answers() {
    let portal = Portal::new();
    let busy = BusyDatabase { inner: &portal.db, busy_for: 2, calls: Cell::new(0) };
    let waits = NoWait::default();
    let response = send_code(&portal, &Retrying::new(&busy, &waits, &portal.random), None);
    assert_ne!(response.status(), 503, "{}", text(&response));
    assert!(response.status().is_client_error() || response.status().is_success() || response.status().is_redirection(), "{}", response.status());
    assert_eq!(waits.0.borrow().len(), 2);
}

#[test]
fn a_store_that_stays_busy_gives_503_with_retry_after_and_the_ray_id_as_reference() {
    let portal = Portal::new();
    let busy = BusyDatabase { inner: &portal.db, busy_for: usize::MAX, calls: Cell::new(0) };
    let waits = NoWait::default();
    let response = send_code(&portal, &Retrying::new(&busy, &waits, &portal.random), Some("8f2b1c3d4e5f6a7b-LHR"));
    assert_eq!(response.status(), 503);
    assert_eq!(retry_after(&response), Some("1"));
    let page = text(&response);
    assert!(page.contains("service is unavailable"), "{page}");
    assert!(page.contains("give this reference: <span class=\"govuk-!-font-weight-bold\">8f2b1c3d4e5f6a7b-LHR</span>"), "{page}");
    assert!(!page.contains("database is locked"), "the store's own words are for the log only");
    assert_eq!((busy.calls.get(), waits.0.borrow().len()), (4, 3));
}

#[test]
fn a_store_that_is_down_gives_503_with_retry_after_and_a_reference() {
    let portal = Portal::new();
    let response = send_code(&portal, &DownDatabase, None);
    assert_eq!(response.status(), 503);
    assert_eq!(retry_after(&response), Some("1"));
    let page = text(&response);
    assert!(page.contains("give this reference: <span class=\"govuk-!-font-weight-bold\">"), "{page}");

    // A forged ray id (it would write into the log) is not used: a random reference is.
    let forged = send_code(&portal, &DownDatabase, Some("x\" onmouseover=alert(1)"));
    assert_eq!(forged.status(), 503);
    assert!(!text(&forged).contains("onmouseover"));
}

#[test]
fn the_fallback_unavailable_page_says_when_to_try_again() {
    let fallback = carefront_portal::unavailable("no binding");
    assert_eq!(fallback.status(), 503);
    assert_eq!(retry_after(&fallback), Some("1"));
}
