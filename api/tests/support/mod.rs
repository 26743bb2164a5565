//! A test harness for the API: the router over an in-memory SQLite store, a clock the test
//! moves, demo organisations, people and grants, and a client that signs requests with a
//! system credential exactly as the README describes.

#![allow(dead_code)]

pub mod seed;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use carefront_api::{Request, handle};
use carefront_shared::access::Permit;
use carefront_shared::administration::{self, Administrator};
use carefront_shared::config::{App, Config};
use carefront_shared::consent::{Action, Actor, Basis, Category, Grant, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::credential::{self, DerivedKey, Permission};
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::domain::{AuditEvent, CouncilRole, Organisation, OrganisationKind, Person, Role};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::random::{SeededRandom, token};
use carefront_shared::store::{CredentialStore, SqlStore, Store};
use chrono::{DateTime, Duration, Utc};

pub const CREDENTIAL_KEY: &str = "Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ";
pub const COUNCIL: &str = "org-council";
pub const PROVIDER: &str = "org-provider";
pub const OTHER_PROVIDER: &str = "org-other-provider";

/// The host the tests send signed requests to: signatures cover it.
pub const HOST: &str = "api.care.example.test";
/// The receipt keys the tests' portal signs with.
pub const RECEIPT_KEYS: &str = "test1:cmVjZWlwdC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ";
/// The session key receipts were signed with before they carried a key id.
pub const RECEIPT_LEGACY_KEY: &str = "c2Vzc2lvbi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhISE";

/// The API's test settings (it is given no SESSION_KEY or CSRF_KEY).
pub fn setting(name: &str) -> Option<String> {
    match name {
        "RP_ID" => Some("localhost".into()),
        "RECEIPT_KEYS" => Some(RECEIPT_KEYS.into()),
        "RECEIPT_LEGACY_KEY" => Some(RECEIPT_LEGACY_KEY.into()),
        "CREDENTIAL_KEY" => Some(CREDENTIAL_KEY.into()),
        "ORIGIN" => Some("http://localhost:8787".into()),
        _ => None,
    }
}

pub fn config_with_key(credential_key: &str) -> Config {
    Config::from_lookup(App::Api, |name| if name == "CREDENTIAL_KEY" { Some(credential_key.into()) } else { setting(name) }).unwrap()
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z").unwrap().with_timezone(&Utc)
}

/// A system credential as its system holds it.
#[derive(Debug, Clone)]
pub struct Held {
    pub key_id: String,
    pub secret: String,
}

/// An answer, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: serde_json::Value,
    pub headers: http::HeaderMap,
    pub bytes: Vec<u8>,
}

pub struct Api {
    pub db: NativeDatabase,
    pub config: Config,
    pub now: Cell<DateTime<Utc>>,
    pub random: SeededRandom,
    nonces: Cell<u64>,
}

impl Api {
    /// An empty store.
    pub fn empty() -> Api {
        Api {
            db: NativeDatabase::for_tests().unwrap(),
            config: config_with_key(CREDENTIAL_KEY),
            now: Cell::new(start_time()),
            random: SeededRandom::new(7),
            nonces: Cell::new(0),
        }
    }

    /// The council, a provider and another provider; Margaret and Arthur supported by the
    /// provider (consent) and the council (statutory duty); Olive only by the other provider.
    pub fn new() -> Api {
        let api = Api::empty();
        let store = api.store();
        for (id, kind, name) in [
            (COUNCIL, OrganisationKind::Council, "Northshire County Council"),
            (PROVIDER, OrganisationKind::Provider, "Brookside Home Care"),
            (OTHER_PROVIDER, OrganisationKind::Provider, "Riverside Care"),
        ] {
            pollster::block_on(store.insert_organisation(&Organisation { id: id.into(), kind, name: name.into(), created_at: start_time() })).unwrap();
        }
        for (id, name) in [("person-margaret", "Margaret Okafor"), ("person-arthur", "Arthur Jenkins"), ("person-olive", "Olive Brown")] {
            api.person(id, name);
        }
        for subject in ["person-margaret", "person-arthur"] {
            api.grant(&format!("grant-{subject}-provider"), subject, PROVIDER, &[Category::CarePlan, Category::Medication], Basis::Consent);
            api.grant(&format!("grant-{subject}-council"), subject, COUNCIL, &Category::ALL, Basis::StatutoryDuty);
        }
        api.grant("grant-olive-other", "person-olive", OTHER_PROVIDER, &[Category::CarePlan], Basis::Consent);
        // The council administrator who makes the test credentials.
        let ann = Person {
            id: "person-admin".into(),
            role: Role::CouncilStaff,
            display_name: "Ann Council".into(),
            organisation_id: Some(COUNCIL.into()),
            webauthn_handle: carefront_shared::random::new_uuid(&api.random),
            created_at: start_time(),
        };
        pollster::block_on(store.insert_person(&ann)).unwrap();
        assert!(pollster::block_on(store.set_council_role(&ann.id, CouncilRole::Administrator)).unwrap());
        api
    }

    pub fn store(&self) -> SqlStore<'_> {
        SqlStore::new(&self.db)
    }

    pub fn advance(&self, by: Duration) {
        self.now.set(self.now.get() + by);
    }

    pub fn person(&self, id: &str, name: &str) {
        let handle = carefront_shared::random::new_uuid(&self.random);
        let person = Person {
            id: id.into(),
            role: Role::ServiceUser,
            display_name: name.into(),
            organisation_id: None,
            webauthn_handle: handle,
            created_at: start_time(),
        };
        pollster::block_on(self.store().insert_person(&person)).unwrap();
    }

    pub fn grant(&self, id: &str, subject: &str, organisation: &str, categories: &[Category], basis: Basis) -> Grant {
        self.grant_with(id, subject, organisation, categories, &[Action::View, Action::Contribute], basis)
    }

    /// A grant allowing only `actions`.
    pub fn grant_with(&self, id: &str, subject: &str, organisation: &str, categories: &[Category], actions: &[Action], basis: Basis) -> Grant {
        let grant = Grant {
            id: id.into(),
            version: 1,
            subject_id: subject.into(),
            grantee: Grantee::Organisation(organisation.into()),
            categories: categories.iter().copied().collect(),
            actions: actions.iter().copied().collect(),
            act_for: false,
            purpose: "to give care".into(),
            starts_at: start_time(),
            ends_at: None,
            basis,
            evidence: (basis != Basis::Consent).then(|| "Care Act 2014 s.27".into()),
            recorded_by: subject.into(),
            revoked_at: None,
        };
        pollster::block_on(self.store().insert_grant(&grant, start_time(), None)).unwrap();
        grant
    }

    /// Makes a credential for `organisation` with `permissions`, as Ann, the council's
    /// administrator.
    pub fn credential(&self, organisation: &str, permissions: &[Permission]) -> Held {
        self.credential_made_by(organisation, permissions, "person-admin")
    }

    /// Makes a credential for `organisation` with `permissions`, recorded as made by `created_by`.
    pub fn credential_made_by(&self, organisation: &str, permissions: &[Permission], created_by: &str) -> Held {
        let store = self.store();
        let organisation = pollster::block_on(store.organisation(organisation)).unwrap().unwrap();
        let issued = credential::issue(
            &self.config.credential_key,
            &organisation,
            "Test system",
            permissions.iter().copied().collect(),
            created_by,
            &self.random,
            self.now.get(),
        )
        .unwrap();
        pollster::block_on(store.insert_credential(&issued.credential)).unwrap();
        Held { key_id: issued.credential.key_id, secret: issued.secret }
    }

    /// Revokes a credential now, as Ann; `false` if it was not live.
    pub fn revoke(&self, held: &Held) -> bool {
        let store = self.store();
        let credential = pollster::block_on(store.credential(&held.key_id)).unwrap().unwrap();
        let ann = Administrator { id: "person-admin".into(), name: "Ann Council".into() };
        let entry = administration::credential_revoked(token(&self.random, 8), self.now.get(), &ann, &credential, &credential.organisation_id);
        pollster::block_on(store.revoke_credential(&held.key_id, &entry)).unwrap()
    }

    pub fn new_nonce(&self) -> String {
        self.nonces.set(self.nonces.get() + 1);
        format!("nonce-{:016}", self.nonces.get())
    }

    /// A request to [`HOST`] signed by `held` at `at` with `nonce`.
    pub fn signed_at(&self, held: &Held, method: &str, path: &str, body: &[u8], at: DateTime<Utc>, nonce: &str) -> Request {
        let request = http::Request::builder().method(method).uri(path).header("host", HOST).body(body.to_vec()).unwrap();
        self.sign(held, request, at, nonce)
    }

    /// `request`, as built, signed by `held` at `at` with `nonce`.
    pub fn sign(&self, held: &Held, mut request: Request, at: DateTime<Utc>, nonce: &str) -> Request {
        let key = DerivedKey::from_secret(&held.secret).unwrap();
        credential::sign_request(&key, &held.key_id, &request, at.timestamp(), nonce).insert_into(request.headers_mut()).unwrap();
        request
    }

    /// A GET signed now with a fresh nonce.
    pub fn signed_get(&self, held: &Held, path: &str) -> Request {
        self.signed_at(held, "GET", path, b"", self.now.get(), &self.new_nonce())
    }

    pub fn call(&self, request: Request) -> Reply {
        self.call_with(&self.config, request)
    }

    pub fn call_with(&self, config: &Config, request: Request) -> Reply {
        let store = self.store();
        let random = SeededRandom::new(self.nonces.get() + 1000);
        let context = RequestContext { store: &store, config, now: self.now.get(), random: &random, client: None, outbound: None };
        reply(pollster::block_on(handle(&context, request)))
    }

    /// Answers `request` over `database` (a wrapper of [`Api::db`] that misbehaves).
    pub fn call_over(&self, database: &dyn Database, request: Request) -> Reply {
        let store = SqlStore::new(database);
        let random = SeededRandom::new(self.nonces.get() + 1000);
        let context = RequestContext { store: &store, config: &self.config, now: self.now.get(), random: &random, client: None, outbound: None };
        reply(pollster::block_on(handle(&context, request)))
    }

    /// A batch of the busy stores below: `busy_for` calls (every query, execute and batch
    /// counted) answer [`DbError::Busy`] before the real database answers.
    pub fn busy(&self, busy_for: usize) -> BusyDatabase<'_> {
        BusyDatabase { inner: &self.db, busy_for, calls: Cell::new(0) }
    }

    /// Answers `request` over a store whose `fail_at`-th statement fails (see
    /// [`FailingDatabase`]); whether that statement was reached.
    pub fn call_failing(&self, request: Request, fail_at: usize) -> (Reply, bool) {
        let failing = FailingDatabase::new(&self.db, fail_at);
        let store = SqlStore::new(&failing);
        let random = SeededRandom::new(self.nonces.get() + 1000);
        let context = RequestContext { store: &store, config: &self.config, now: self.now.get(), random: &random, client: None, outbound: None };
        let reply = reply(pollster::block_on(handle(&context, request)));
        (reply, failing.failed.get())
    }

    pub fn get(&self, held: &Held, path: &str) -> Reply {
        self.call(self.signed_get(held, path))
    }

    /// A POST of `body` (JSON) signed now with a fresh nonce, with `key` as its Idempotency-Key.
    pub fn signed_post(&self, held: &Held, path: &str, key: Option<&str>, body: &serde_json::Value) -> Request {
        self.signed_body(held, path, key, "application/json", serde_json::to_vec(body).unwrap())
    }

    /// A POST of `bytes` as `content_type`, signed now with a fresh nonce, with `key` as its
    /// Idempotency-Key: every header is in place before the signature, which covers them.
    pub fn signed_body(&self, held: &Held, path: &str, key: Option<&str>, content_type: &str, bytes: Vec<u8>) -> Request {
        let mut builder = http::Request::post(path).header("host", HOST).header("content-type", content_type);
        if let Some(key) = key {
            builder = builder.header("idempotency-key", key);
        }
        self.sign(held, builder.body(bytes).unwrap(), self.now.get(), &self.new_nonce())
    }

    pub fn post(&self, held: &Held, path: &str, key: Option<&str>, body: &serde_json::Value) -> Reply {
        self.call(self.signed_post(held, path, key, body))
    }

    /// `method` with `bytes` as `content_type`, signed now with a fresh nonce, with `key` as
    /// its Idempotency-Key.
    pub fn signed_send(&self, held: &Held, method: &str, path: &str, key: Option<&str>, content_type: &str, bytes: Vec<u8>) -> Request {
        let mut builder = http::Request::builder().method(method).uri(path).header("host", HOST).header("content-type", content_type);
        if let Some(key) = key {
            builder = builder.header("idempotency-key", key);
        }
        self.sign(held, builder.body(bytes).unwrap(), self.now.get(), &self.new_nonce())
    }

    /// A PUT of `body` (JSON) with `key` as its Idempotency-Key.
    pub fn put(&self, held: &Held, path: &str, key: Option<&str>, body: &serde_json::Value) -> Reply {
        self.call(self.signed_send(held, "PUT", path, key, "application/json", serde_json::to_vec(body).unwrap()))
    }

    /// Answers `requests` all at once on one thread: every store call of each yields to the
    /// others first, so they interleave as concurrent requests do on a runtime.
    pub fn call_concurrently(&self, requests: Vec<Request>) -> Vec<Reply> {
        let yielding = YieldingDatabase { inner: &self.db };
        let store = SqlStore::new(&yielding);
        let randoms: Vec<SeededRandom> = (0..requests.len()).map(|index| SeededRandom::new(5000 + index as u64 + self.nonces.get())).collect();
        let contexts: Vec<RequestContext<'_>> = randoms
            .iter()
            .map(|random| RequestContext { store: &store, config: &self.config, now: self.now.get(), random, client: None, outbound: None })
            .collect();
        let mut futures: Vec<Pin<Box<dyn Future<Output = carefront_api::Response> + '_>>> =
            contexts.iter().zip(requests).map(|(context, request)| Box::pin(handle(context, request)) as Pin<Box<dyn Future<Output = _>>>).collect();
        let mut done: Vec<Option<carefront_api::Response>> = futures.iter().map(|_| None).collect();
        let mut poll = Context::from_waker(Waker::noop());
        while done.iter().any(Option::is_none) {
            for (future, slot) in futures.iter_mut().zip(done.iter_mut()) {
                if slot.is_none()
                    && let Poll::Ready(response) = future.as_mut().poll(&mut poll)
                {
                    *slot = Some(response);
                }
            }
        }
        done.into_iter().map(|response| reply(response.unwrap())).collect()
    }

    /// How many rows `sql` (a SELECT) returns.
    pub fn rows(&self, sql: &str) -> usize {
        pollster::block_on(self.db.query(sql, &[])).unwrap().len()
    }

    /// How many nonces the store holds (a refused request must not add one).
    pub fn nonce_rows(&self) -> usize {
        pollster::block_on(self.db.query("SELECT 1 FROM api_nonces", &[])).unwrap().len()
    }

    /// The person's own leave to read `category` of their record, as the tests read the store
    /// directly.
    pub fn own_permit(&self, subject: &str, category: Category) -> Permit {
        let actor = Actor { person_id: subject.into(), role: Role::ServiceUser, organisation_id: None };
        let grants = pollster::block_on(self.store().grants_for_subject(subject)).unwrap();
        Permit::ask(&actor, subject, Action::View, category, &grants, self.now.get()).unwrap()
    }

    /// The audit events recorded about `subject`, newest first.
    pub fn audit_events(&self, subject: &str) -> Vec<AuditEvent> {
        pollster::block_on(self.store().audit_for_subject(&self.own_permit(subject, Category::AccessLog), 1000)).unwrap()
    }

    /// The audit actions recorded about `subject`.
    pub fn audit_actions(&self, subject: &str) -> Vec<String> {
        self.audit_events(subject).into_iter().map(|event| event.action.to_string()).collect()
    }

    /// A random-looking string for tests that need one.
    pub fn token(&self) -> String {
        token(&self.random, 16)
    }
}

fn reply(response: carefront_api::Response) -> Reply {
    let content_type = response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = serde_json::from_slice(response.body()).unwrap_or(serde_json::Value::Null);
    Reply { status: response.status().as_u16(), content_type, body, headers: response.headers().clone(), bytes: response.body().clone() }
}

/// Returns `Pending` once, so that another request runs before this one goes on.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            context.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A database whose every call lets the other requests run first.
struct YieldingDatabase<'a> {
    inner: &'a NativeDatabase,
}

#[async_trait::async_trait(?Send)]
impl Database for YieldingDatabase<'_> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        YieldOnce(false).await;
        self.inner.query(sql, params).await
    }
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        YieldOnce(false).await;
        self.inner.execute(sql, params).await
    }
    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        YieldOnce(false).await;
        self.inner.batch(statements).await
    }
}

/// A database whose `fail_at`-th statement (from 1, counting every `execute` and every statement
/// inside a `batch`; reads are not counted) fails with [`DbError::Unavailable`], as a store that
/// drops out half way through a request does. A batch holding it runs on the real database with
/// that statement made to fail, so its earlier statements run and are rolled back, as in a D1
/// batch or a SQLite transaction.
pub struct FailingDatabase<'a> {
    inner: &'a NativeDatabase,
    fail_at: usize,
    seen: Cell<usize>,
    /// Whether the failing statement was reached.
    pub failed: Cell<bool>,
}

impl<'a> FailingDatabase<'a> {
    pub fn new(inner: &'a NativeDatabase, fail_at: usize) -> FailingDatabase<'a> {
        FailingDatabase { inner, fail_at, seen: Cell::new(0), failed: Cell::new(false) }
    }

    fn failure(&self) -> DbError {
        self.failed.set(true);
        DbError::Unavailable(format!("statement {} failed (test)", self.fail_at))
    }
}

#[async_trait::async_trait(?Send)]
impl Database for FailingDatabase<'_> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.inner.query(sql, params).await
    }
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.seen.set(self.seen.get() + 1);
        if self.seen.get() == self.fail_at {
            return Err(self.failure());
        }
        self.inner.execute(sql, params).await
    }
    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        let first = self.seen.get() + 1;
        self.seen.set(self.seen.get() + statements.len());
        let Some(index) = self.fail_at.checked_sub(first).filter(|index| *index < statements.len()) else {
            return self.inner.batch(statements).await;
        };
        let mut broken = statements.to_vec();
        broken[index] = Statement { sql: "INSERT INTO no_such_table_the_failing_statement (x) VALUES (1)".into(), params: Vec::new() };
        assert!(self.inner.batch(&broken).await.is_err(), "the broken batch fails");
        Err(self.failure())
    }
}

/// The problem type's slug (`https://carefront.example/problems/<slug>`).
pub fn problem_type(reply: &Reply) -> String {
    reply.body["type"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned()
}

/// A database whose first `busy_for` calls answer as SQLite does when another connection holds
/// the lock ([`DbError::Busy`], "database is locked"), then the real database answers.
pub struct BusyDatabase<'a> {
    inner: &'a NativeDatabase,
    busy_for: usize,
    /// How many calls were made, the busy ones included.
    pub calls: Cell<usize>,
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

/// Waits asked for by [`carefront_shared::retry::Retrying`], recorded instead of waited.
#[derive(Default)]
pub struct NoWait(pub std::cell::RefCell<Vec<std::time::Duration>>);

#[async_trait::async_trait(?Send)]
impl carefront_shared::retry::Sleep for NoWait {
    async fn sleep(&self, duration: std::time::Duration) {
        self.0.borrow_mut().push(duration);
    }
}
