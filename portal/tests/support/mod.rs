//! A test harness: the portal router over an in-memory SQLite store, a cookie jar, a clock the
//! test moves, and a software resident-key authenticator.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use carefront_portal::{Request, Response, handle};
use carefront_shared::config::{App, Config};
use carefront_shared::context::RequestContext;
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::domain::{CarePlan, Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::random::SeededRandom;
use carefront_shared::record::{
    Administration, Allergy, CareVisit, Contact, ContactKind, Document, DocumentKind, GuideSection, Medicine, Outcome, ServiceUserGuide, VisitStatus,
};
use carefront_shared::store::{CredentialStore as _, RecordStore, SqlStore, Store};
use carefront_shared::webauthn_rs::prelude::{CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use pollster::block_on;
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::error::WebauthnCError;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{AllowCredentials, CredProps, PublicKeyCredentialCreationOptions, PublicKeyCredentialRequestOptions};

pub const ORIGIN: &str = "http://localhost:8787";

/// The portal's test settings, each secret its own.
pub fn setting(name: &str) -> Option<String> {
    match name {
        "SESSION_KEY" => Some("c2Vzc2lvbi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhISE".into()),
        "CSRF_KEY" => Some("Y3NyZi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhISEhISE".into()),
        "RECEIPT_KEYS" => Some("test1:cmVjZWlwdC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "RP_ID" => Some("localhost".into()),
        "CREDENTIAL_KEY" => Some("Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ".into()),
        "ORIGIN" => Some(ORIGIN.into()),
        _ => None,
    }
}

pub fn config() -> Config {
    Config::from_lookup(App::Portal, setting).expect("test config")
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z").unwrap().with_timezone(&Utc)
}

/// Leave to read every category of a person's own record, as the person (for tests reading the
/// store directly).
pub fn own_record(person_id: &str) -> carefront_shared::access::Permit {
    let actor = carefront_shared::consent::Actor { person_id: person_id.to_owned(), role: Role::ServiceUser, organisation_id: None };
    carefront_shared::access::Permit::ask_each(
        &actor,
        person_id,
        carefront_shared::consent::Action::View,
        &carefront_shared::consent::Category::ALL,
        &[],
        start_time(),
    )
    .expect("a person may read their own record")
}

/// A database whose Nth statement from when `countdown` is set fails, once — whether it runs
/// alone or inside a batch (then the real batch runs with that statement replaced by one the
/// database refuses, so its transaction is the one under test). Reads are not counted.
pub struct FailNth<'a> {
    pub inner: &'a dyn Database,
    pub countdown: &'a Cell<Option<usize>>,
}

impl FailNth<'_> {
    /// Whether the next statement is the one to fail.
    fn tick(&self) -> bool {
        match self.countdown.get() {
            Some(1) => {
                self.countdown.set(None);
                true
            }
            Some(n) => {
                self.countdown.set(Some(n - 1));
                false
            }
            None => false,
        }
    }
}

const REFUSED: &str = "INSERT INTO no_such_table_injected_failure (x) VALUES (1)";

#[async_trait::async_trait(?Send)]
impl Database for FailNth<'_> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.inner.query(sql, params).await
    }
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        if self.tick() {
            return self.inner.execute(REFUSED, &[]).await;
        }
        self.inner.execute(sql, params).await
    }
    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        let mut run = statements.to_vec();
        for statement in &mut run {
            if self.tick() {
                *statement = Statement { sql: REFUSED.into(), params: Vec::new() };
            }
        }
        self.inner.batch(&run).await
    }
}

/// A database that is down.
pub struct DownDatabase;

#[async_trait::async_trait(?Send)]
impl Database for DownDatabase {
    async fn query(&self, _: &str, _: &[Value]) -> Result<Vec<Row>, DbError> {
        Err(DbError::Unavailable("the test database is down".into()))
    }
    async fn execute(&self, _: &str, _: &[Value]) -> Result<u64, DbError> {
        Err(DbError::Unavailable("the test database is down".into()))
    }
    async fn batch(&self, _: &[Statement]) -> Result<(), DbError> {
        Err(DbError::Unavailable("the test database is down".into()))
    }
}

/// One browser talking to the portal.
pub struct Portal {
    pub db: Rc<NativeDatabase>,
    /// When set, the Nth statement the portal runs from now on fails (once): see [`FailNth`].
    pub fail_at: Rc<Cell<Option<usize>>>,
    pub config: Config,
    pub random: SeededRandom,
    pub now: Rc<Cell<DateTime<Utc>>>,
    pub cookies: RefCell<BTreeMap<String, String>>,
    pub source: String,
}

impl Portal {
    pub fn new() -> Portal {
        Portal {
            db: Rc::new(NativeDatabase::for_tests().unwrap()),
            fail_at: Rc::default(),
            config: config(),
            random: SeededRandom::new(42),
            now: Rc::new(Cell::new(start_time())),
            cookies: RefCell::default(),
            source: "192.0.2.1".into(),
        }
    }

    pub fn store(&self) -> SqlStore<'_> {
        SqlStore::new(&*self.db)
    }

    pub fn advance(&self, by: Duration) {
        self.now.set(self.now.get() + by);
    }

    /// Adds a service user with a care plan and returns them with a fresh invitation code.
    pub fn person_with_invitation(&self, id: &str, name: &str) -> (Person, String) {
        let store = self.store();
        let person = Person {
            id: id.into(),
            role: Role::ServiceUser,
            display_name: name.into(),
            organisation_id: None,
            webauthn_handle: carefront_shared::random::new_uuid(&self.random),
            created_at: self.now.get(),
        };
        pollster::block_on(store.insert_person(&person)).unwrap();
        let plan = CarePlan {
            id: format!("plan-{id}"),
            person_id: id.into(),
            summary: format!("Care plan summary for {name}"),
            outcomes: vec!["Stay at home".into()],
            needs: vec!["Help getting up and dressed".into()],
            support: vec!["Help with breakfast".into()],
            visit_schedule: vec!["Every day at 8am".into()],
            risks: vec!["Falls: a frame by the bed".into()],
            review_due: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
            written_by: "A care coordinator".into(),
            updated_at: self.now.get(),
        };
        pollster::block_on(store.upsert_care_plan(&plan)).unwrap();
        let (invitation, code) = invitation::issue(id, None, self.now.get(), DEFAULT_LIFETIME, &self.random);
        pollster::block_on(store.insert_invitation(&invitation)).unwrap();
        (person, code.to_string())
    }

    /// Another browser on the same database and clock, with its own cookies and randomness.
    pub fn other_browser(&self, seed: u64) -> Portal {
        Portal { db: Rc::clone(&self.db), fail_at: Rc::clone(&self.fail_at), now: Rc::clone(&self.now), random: SeededRandom::new(seed), ..Portal::new() }
    }

    /// Sends a request with this browser's cookies and keeps the cookies it sets.
    pub fn send(&self, request: http::request::Builder, body: Vec<u8>) -> Response {
        let cookie_header: Vec<String> = self.cookies.borrow().iter().map(|(name, value)| format!("{name}={value}")).collect();
        let mut request = request;
        if !cookie_header.is_empty() {
            request = request.header("cookie", cookie_header.join("; "));
        }
        let request: Request = request.body(body).unwrap();
        let failing = FailNth { inner: &*self.db, countdown: &self.fail_at };
        let store = SqlStore::new(&failing);
        let context = RequestContext {
            store: &store,
            config: &self.config,
            now: self.now.get(),
            random: &self.random,
            client: Some(self.source.clone()),
            outbound: None,
        };
        let response = pollster::block_on(handle(&context, request));
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            assert!(name.starts_with("__Host-"), "cookie {name} has the __Host- prefix");
            assert!(
                attributes.contains("Secure") && attributes.contains("HttpOnly") && attributes.contains("SameSite=Lax") && attributes.contains("Path=/"),
                "{text}"
            );
            if attributes.contains("Max-Age=0") {
                self.cookies.borrow_mut().remove(name);
            } else {
                self.cookies.borrow_mut().insert(name.into(), value.into());
            }
        }
        response
    }

    pub fn get(&self, path: &str) -> Response {
        self.send(http::Request::get(path), Vec::new())
    }

    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = serde_urlencoded::to_string(fields).unwrap().into_bytes();
        self.send(http::Request::post(path).header("content-type", "application/x-www-form-urlencoded").header("origin", ORIGIN), body)
    }

    pub fn post_json(&self, path: &str, csrf: &str, body: &impl serde::Serialize) -> Response {
        let body = serde_json::to_vec(body).unwrap();
        self.send(http::Request::post(path).header("content-type", "application/json").header("origin", ORIGIN).header("x-csrf-token", csrf), body)
    }

    /// Fetches `path` and returns the CSRF token its page carries.
    pub fn csrf_from(&self, path: &str) -> String {
        let response = self.get(path);
        assert_eq!(response.status(), 200, "GET {path}");
        csrf_in(&text(&response)).unwrap_or_else(|| panic!("no CSRF token on {path}"))
    }

    /// Runs the invitation and passkey registration, as the browser and script would.
    pub fn enrol(&self, code: &str, authenticator: &mut ResidentSoftPasskey) -> Response {
        let csrf = self.csrf_from(&format!("/invitation?code={code}"));
        let response = self.post_form("/invitation", &[("csrf", &csrf), ("code", code)]);
        assert_eq!(response.status(), 303, "{}", text(&response));
        assert_eq!(response.headers()["location"], "/passkeys/create");
        self.register(authenticator)
    }

    /// Runs a passkey registration from /passkeys/create.
    pub fn register(&self, authenticator: &mut ResidentSoftPasskey) -> Response {
        let csrf = self.csrf_from("/passkeys/create");
        let options = self.post_json("/passkeys/create/options", &csrf, &serde_json::json!({}));
        assert_eq!(options.status(), 200, "{}", text(&options));
        let options: CreationChallengeResponse = serde_json::from_slice(options.body()).unwrap();
        let credential = authenticator.do_registration(Url::parse(ORIGIN).unwrap(), options).unwrap();
        self.post_json("/passkeys/create/finish", &csrf, &credential)
    }

    /// Starts a sign-in and lets the authenticator answer it; returns the CSRF token and the
    /// credential to post to /sign-in/finish.
    pub fn sign_in_response(&self, authenticator: &mut ResidentSoftPasskey) -> (String, PublicKeyCredential) {
        let csrf = self.csrf_from("/sign-in");
        let options = self.post_json("/sign-in/options", &csrf, &serde_json::json!({}));
        assert_eq!(options.status(), 200, "{}", text(&options));
        let options: RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
        (csrf, authenticator.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap())
    }

    pub fn sign_in(&self, authenticator: &mut ResidentSoftPasskey) -> Response {
        let (csrf, credential) = self.sign_in_response(authenticator);
        self.post_json("/sign-in/finish", &csrf, &credential)
    }

    /// Proves the signed-in person again with `authenticator` through the one re-authentication
    /// flow (`/reauthenticate/options` + `/finish?return=…`, as the confirm page's script does);
    /// returns the finish response.
    pub fn reauthenticate_with(&self, authenticator: &mut ResidentSoftPasskey, return_path: &str) -> Response {
        let csrf = self.csrf_from("/home");
        let options = self.post_json("/reauthenticate/options", &csrf, &serde_json::json!({}));
        assert_eq!(options.status(), 200, "{}", text(&options));
        let options: RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
        let assertion = authenticator.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap();
        let finish = format!("/reauthenticate/finish?{}", serde_urlencoded::to_string([("return", return_path)]).unwrap());
        self.post_json(&finish, &csrf, &assertion)
    }

    /// As [`Portal::reauthenticate_with`], asserting it worked; returns where the script goes next.
    pub fn reauthenticate(&self, authenticator: &mut ResidentSoftPasskey, return_path: &str) -> String {
        let finished = self.reauthenticate_with(authenticator, return_path);
        assert_eq!(finished.status(), 200, "{}", text(&finished));
        serde_json::from_slice::<serde_json::Value>(finished.body()).unwrap()["redirect"].as_str().unwrap().to_owned()
    }
}

pub fn text(response: &Response) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

pub fn csrf_in(html: &str) -> Option<String> {
    for marker in ["name=\"csrf\" value=\"", "data-csrf-token=\""] {
        if let Some(start) = html.find(marker) {
            let rest = &html[start + marker.len()..];
            return rest.split('"').next().map(str::to_owned);
        }
    }
    None
}

/// webauthn-authenticator-rs's software passkey, made resident: it remembers the user handle of
/// each credential it creates and, like a platform authenticator, finds its own credential and
/// returns that handle when the relying party asks for a discoverable sign-in. (SoftPasskey
/// itself refuses resident-key requests and answers only for listed credentials.)
pub struct ResidentSoftPasskey {
    inner: SoftPasskey,
    handles: HashMap<Vec<u8>, Vec<u8>>,
}

impl ResidentSoftPasskey {
    pub fn new() -> Self {
        ResidentSoftPasskey { inner: SoftPasskey::new(true), handles: HashMap::new() }
    }
}

impl AuthenticatorBackend for ResidentSoftPasskey {
    fn perform_register(
        &mut self,
        origin: Url,
        mut options: PublicKeyCredentialCreationOptions,
        timeout_ms: u32,
    ) -> Result<RegisterPublicKeyCredential, WebauthnCError> {
        let selection = options.authenticator_selection.as_mut().expect("authenticator selection");
        assert!(selection.require_resident_key, "the portal requires a resident key");
        selection.require_resident_key = false;
        selection.resident_key = None;
        let user_handle = options.user.id.to_vec();
        let mut credential = self.inner.perform_register(origin, options, timeout_ms)?;
        self.handles.insert(credential.raw_id.to_vec(), user_handle);
        credential.extensions.cred_props = Some(CredProps { rk: Some(true) });
        Ok(credential)
    }

    fn perform_auth(&mut self, origin: Url, mut options: PublicKeyCredentialRequestOptions, timeout_ms: u32) -> Result<PublicKeyCredential, WebauthnCError> {
        assert!(options.allow_credentials.is_empty(), "sign-in is discoverable");
        options.allow_credentials = self.handles.keys().map(|id| AllowCredentials { type_: "public-key".into(), id: id.clone(), transports: None }).collect();
        let mut credential = self.inner.perform_auth(origin, options, timeout_ms)?;
        credential.response.user_handle = self.handles.get::<[u8]>(credential.raw_id.as_ref()).cloned();
        Ok(credential)
    }
}

/// Margaret (person-1), enrolled and signed in, with a full record.
pub fn margaret_with_full_record() -> Portal {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code, &mut passkey).status(), 200);
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_organisation(&Organisation { id: "org-care".into(), kind: OrganisationKind::Provider, name: "Brookside".into(), created_at: now }))
        .unwrap();
    let at = |hour| NaiveTime::from_hms_opt(hour, 0, 0).unwrap();
    let medicine = Medicine {
        id: "med-para".into(),
        person_id: "person-1".into(),
        name: "Paracetamol 500 mg tablets".into(),
        dose: "2 tablets".into(),
        route: "By mouth".into(),
        times: vec![at(8), at(20)],
        as_needed: false,
        instructions: "No more than 8 in 24 hours.".into(),
        prescriber: "Dr Patel".into(),
        started_on: now.date_naive() - Duration::days(30),
        stopped_on: None,
    };
    block_on(store.upsert_medicine(&medicine)).unwrap();
    block_on(store.upsert_medicine(&Medicine {
        id: "med-old".into(),
        name: "Amoxicillin (stopped)".into(),
        stopped_on: Some(now.date_naive() - Duration::days(20)),
        ..medicine.clone()
    }))
    .unwrap();
    block_on(store.insert_allergy(&Allergy {
        id: "allergy-1".into(),
        person_id: "person-1".into(),
        substance: "Penicillin".into(),
        reaction: "Rash".into(),
        recorded_at: now,
    }))
    .unwrap();
    let yesterday = now.date_naive() - Duration::days(1);
    for (id, hour, outcome, reason) in [("a1", 8, Outcome::Given, None), ("a2", 20, Outcome::Refused, Some("Felt sick"))] {
        block_on(store.insert_administration(&Administration {
            id: id.into(),
            person_id: "person-1".into(),
            medicine_id: "med-para".into(),
            due_at: yesterday.and_time(at(hour)).and_utc(),
            outcome,
            reason: reason.map(Into::into),
            recorded_by: "Jo Adeyemi".into(),
            recorded_at: now,
        }))
        .unwrap();
    }
    for day in 0..25 {
        let starts_at = now - Duration::days(day) - Duration::hours(1);
        block_on(store.upsert_visit(&CareVisit {
            id: format!("visit-{day:02}"),
            person_id: "person-1".into(),
            organisation_id: "org-care".into(),
            starts_at,
            ends_at: starts_at + Duration::minutes(45),
            status: VisitStatus::Completed,
            carers: "Jo Adeyemi".into(),
            note: format!("Visit note number {day}."),
            recorded_at: now,
        }))
        .unwrap();
    }
    block_on(store.upsert_contact(&Contact {
        id: "c1".into(),
        person_id: "person-1".into(),
        kind: ContactKind::OutOfHours,
        name: "On-call manager".into(),
        role: "Out of hours".into(),
        phone: "01632 960 199".into(),
        email: String::new(),
        available: "6pm to 8am".into(),
        position: 1,
    }))
    .unwrap();
    let body = b"Home on 3 November with a frame.\n";
    let document =
        Document::check("doc-1".into(), "person-1".into(), "Discharge summary", DocumentKind::DischargeSummary, "text/plain", body, "Brookside".into(), now)
            .unwrap();
    block_on(store.insert_document(&document, body)).unwrap();
    block_on(store.upsert_guide(&ServiceUserGuide {
        person_id: "person-1".into(),
        organisation_id: "org-care".into(),
        title: "Brookside: your guide".into(),
        sections: vec![GuideSection { heading: "If a carer is late".into(), body: "Ring the office.\n\nWe will call you back.".into() }],
        updated_at: now,
    }))
    .unwrap();
    portal
}

/// What a test representative holds on person-1's record.
pub struct Holding<'a> {
    pub categories: &'a [carefront_shared::consent::Category],
    pub actions: &'a [carefront_shared::consent::Action],
    /// With the act-for power (recorded as a lasting power of attorney).
    pub act_for: bool,
}

/// A representative `id` named `name` holding a live grant on person-1's record, enrolled with
/// a passkey in a browser of their own (`seed`).
pub fn representative(portal: &Portal, id: &str, name: &str, holding: Holding<'_>, seed: u64) -> Portal {
    use carefront_shared::consent::{Basis, Grant, Grantee};
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_person(&Person {
        id: id.into(),
        role: Role::Representative,
        display_name: name.into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(u128::from(seed) + 10_000),
        created_at: now,
    }))
    .unwrap();
    let grant = Grant {
        id: format!("grant-{id}"),
        version: 1,
        subject_id: "person-1".into(),
        grantee: Grantee::Person(id.into()),
        categories: holding.categories.iter().copied().collect(),
        actions: holding.actions.iter().copied().collect(),
        act_for: holding.act_for,
        purpose: "to help".into(),
        starts_at: now,
        ends_at: Some(now + Duration::days(60)),
        basis: if holding.act_for { Basis::LastingPowerOfAttorney } else { Basis::Consent },
        evidence: holding.act_for.then(|| "LPA registered 2025".into()),
        recorded_by: "person-1".into(),
        revoked_at: None,
    };
    block_on(store.insert_grant(&grant, now, None)).unwrap();
    let (invitation, code) = invitation::issue(id, Some("person-1"), now, DEFAULT_LIFETIME, &portal.random);
    block_on(store.insert_invitation(&invitation)).unwrap();
    let browser = portal.other_browser(seed);
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

/// The council's statutory access to `subject`'s record, as adding them makes it (the council
/// `org-council`, recorded by its caseworker `person-cath`).
pub fn statutory_grant(subject: &str, now: chrono::DateTime<chrono::Utc>) -> carefront_shared::consent::Grant {
    use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
    Grant {
        id: format!("grant-{subject}-council"),
        version: 1,
        subject_id: subject.into(),
        grantee: Grantee::Organisation("org-council".into()),
        categories: Category::ALL.into_iter().collect(),
        actions: [Action::View].into_iter().collect(),
        act_for: false,
        purpose: "to review your care and support, and keep you safe".into(),
        starts_at: now,
        ends_at: None,
        basis: Basis::StatutoryDuty,
        evidence: Some(carefront_shared::onboarding::CARE_ACT_EVIDENCE.into()),
        recorded_by: "person-cath".into(),
        revoked_at: None,
    }
}

/// The council's organisation id in the council administrator's world.
pub const COUNCIL_ORG: &str = "org-council";

/// Daniel, a council administrator of Northshire County Council, enrolled and signed in with
/// his passkey (so recently verified); the council and the care providers `providers`
/// (id, name) exist.
pub fn council_administrator(providers: &[(&str, &str)]) -> (Portal, ResidentSoftPasskey) {
    let portal = Portal::new();
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_organisation(&Organisation {
        id: COUNCIL_ORG.into(),
        kind: OrganisationKind::Council,
        name: "Northshire County Council".into(),
        created_at: now,
    }))
    .unwrap();
    for (id, name) in providers {
        block_on(store.insert_organisation(&Organisation { id: (*id).into(), kind: OrganisationKind::Provider, name: (*name).into(), created_at: now }))
            .unwrap();
    }
    let daniel = Person {
        id: "person-daniel".into(),
        role: Role::CouncilStaff,
        display_name: "Daniel Hughes".into(),
        organisation_id: Some(COUNCIL_ORG.into()),
        webauthn_handle: uuid::Uuid::from_u128(501),
        created_at: now,
    };
    block_on(store.insert_person(&daniel)).unwrap();
    assert!(block_on(store.set_council_role(&daniel.id, carefront_shared::domain::CouncilRole::Administrator)).unwrap());
    let (invitation, code) = invitation::issue(&daniel.id, None, now, DEFAULT_LIFETIME, &portal.random);
    block_on(store.insert_invitation(&invitation)).unwrap();
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code.to_string(), &mut passkey).status(), 200);
    (portal, passkey)
}

/// Cath, a council caseworker (council staff are caseworkers unless made administrators),
/// enrolled and signed in in another browser.
pub fn council_caseworker(portal: &Portal) -> Portal {
    let browser = portal.other_browser(21);
    let cath = Person {
        id: "person-cath".into(),
        role: Role::CouncilStaff,
        display_name: "Cath Walker".into(),
        organisation_id: Some(COUNCIL_ORG.into()),
        webauthn_handle: uuid::Uuid::from_u128(521),
        created_at: portal.now.get(),
    };
    block_on(portal.store().insert_person(&cath)).unwrap();
    let (invitation, code) = invitation::issue(&cath.id, None, portal.now.get(), DEFAULT_LIFETIME, &browser.random);
    block_on(portal.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}
