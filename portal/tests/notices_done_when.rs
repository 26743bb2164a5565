//! Two of issue 12's "done when" proofs, end to end through the router and an event:
//! - a person whose recorded needs say "contact by letter" gets a letter, never an email, though
//!   they have a confirmed email address; once they choose email for that kind themselves, their
//!   choice wins;
//! - with the store failing mid-change, neither the change nor its notification exists: for an
//!   emergency access (no access, no log line, no message, an error page) and for stopping
//!   someone's access (the grant still live, no "access stopped" message).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_portal::{Response, handle};
use carefront_shared::consent::{Action, Category};
use carefront_shared::contact::Medium;
use carefront_shared::context::RequestContext;
use carefront_shared::db::Database as _;
use carefront_shared::domain::{Organisation, OrganisationKind};
use carefront_shared::preferences::CHOOSABLE;
use carefront_shared::store::{PreferenceStore as _, SqlStore, Store as _};
use chrono::Duration;
use pollster::block_on;
use support::{FailNth, Holding, ORIGIN, Portal, ResidentSoftPasskey, csrf_in, text};

const EMERGENCY_COOKIE: &str = "__Host-carefront_emergency";
const LETTER: &str = "Margaret Okafor\n12 Mill Lane\nLeeds\nLS1 4AB";

fn margaret() -> Portal {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(portal.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    // The council, named on consent receipts.
    let council = Organisation {
        id: support::COUNCIL_ORG.into(),
        kind: OrganisationKind::Council,
        name: "Northshire County Council".into(),
        created_at: portal.now.get(),
    };
    block_on(portal.store().insert_organisation(&council)).unwrap();
    portal
}

/// Gives `person_id` a confirmed contact point, as the settings page's code check would.
fn confirmed(portal: &Portal, person_id: &str, medium: Medium, address: &str) {
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.start_contact_check(person_id, medium, address, "hash", now + Duration::minutes(30), now)).unwrap();
    block_on(store.confirm_contact(person_id, medium, "hash", now)).unwrap();
}

/// Sends a request as the harness does, through its failing database, but accepts the emergency
/// cookie's SameSite=Strict.
fn send(browser: &Portal, request: http::request::Builder, body: Vec<u8>) -> Response {
    let cookies: Vec<String> = browser.cookies.borrow().iter().map(|(name, value)| format!("{name}={value}")).collect();
    let request = if cookies.is_empty() { request } else { request.header("cookie", cookies.join("; ")) };
    let failing = FailNth { inner: &*browser.db, countdown: &browser.fail_at };
    let store = SqlStore::new(&failing);
    let context = RequestContext {
        store: &store,
        config: &browser.config,
        now: browser.now.get(),
        random: &browser.random,
        client: Some(browser.source.clone()),
        outbound: None,
    };
    let response = block_on(handle(&context, request.body(body).unwrap()));
    for value in response.headers().get_all("set-cookie") {
        let text = value.to_str().unwrap();
        let (pair, attributes) = text.split_once(';').unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        if attributes.contains("Max-Age=0") {
            browser.cookies.borrow_mut().remove(name);
        } else {
            browser.cookies.borrow_mut().insert(name.into(), value.into());
        }
    }
    response
}

fn form(browser: &Portal, path: &str, fields: &[(&str, &str)]) -> Response {
    let body = serde_urlencoded::to_string(fields).unwrap().into_bytes();
    send(browser, http::Request::post(path).header("content-type", "application/x-www-form-urlencoded").header("origin", ORIGIN), body)
}

/// Margaret turns on her emergency code and returns it.
fn turn_on_code(margaret: &Portal) -> String {
    let csrf = margaret.csrf_from("/emergency-code");
    let page = text(&margaret.post_form("/emergency-code", &[("csrf", &csrf), ("action", "new")]));
    page.split("Enter this code: <strong>").nth(1).unwrap().split('<').next().unwrap().to_owned()
}

/// A paramedic's phone (`seed`) with the emergency form's CSRF token, ready to post it.
fn paramedic(margaret: &Portal, seed: u64) -> (Portal, String) {
    let phone = Portal { source: format!("198.51.100.{seed}"), ..margaret.other_browser(seed) };
    let csrf = csrf_in(&text(&send(&phone, http::Request::get("/emergency"), Vec::new()))).unwrap();
    (phone, csrf)
}

fn use_code(phone: &Portal, csrf: &str, code: &str) -> Response {
    form(phone, "/emergency", &[("csrf", csrf), ("code", code), ("name", "Alex Smith"), ("role", "Paramedic"), ("organisation", "NWAS")])
}

/// (kind, channel, recipient) of every message queued to `person_id`, oldest first.
fn messages_to(portal: &Portal, person_id: &str) -> Vec<(String, String, String)> {
    block_on(portal.db.query("SELECT kind, channel, recipient FROM notifications WHERE person_id = ?1 ORDER BY created_at, rowid", &[person_id.into()]))
        .unwrap()
        .iter()
        .map(|row| (row.text(0).unwrap(), row.text(1).unwrap(), row.text(2).unwrap()))
        .collect()
}

fn count(portal: &Portal, sql: &str) -> i64 {
    block_on(portal.db.query(sql, &[])).unwrap()[0].integer(0).unwrap()
}

#[test]
fn contact_by_letter_gets_a_letter_never_an_email_until_the_person_chooses_email() {
    let margaret = margaret();
    confirmed(&margaret, "person-1", Medium::Email, "margaret@example.com");
    block_on(margaret.db.execute("UPDATE people SET address = '12 Mill Lane\nLeeds', postcode = 'LS1 4AB' WHERE id = 'person-1'", &[])).unwrap();
    // Her needs, recorded through the needs page: contact by letter.
    let csrf = margaret.csrf_from("/people/person-1/needs");
    let saved = margaret.post_form("/people/person-1/needs", &[("csrf", &csrf), ("large-print", "none"), ("needs", "contact_by_letter")]);
    assert_eq!(saved.status(), 303, "{}", text(&saved));

    let code = turn_on_code(&margaret);
    let (phone, csrf) = paramedic(&margaret, 5);
    assert_eq!(use_code(&phone, &csrf, &code).status(), 303);
    assert_eq!(messages_to(&margaret, "person-1"), [("emergency_access".to_owned(), "letter".to_owned(), LETTER.to_owned())], "one letter, no email");
    assert_eq!(count(&margaret, "SELECT COUNT(*) FROM notifications WHERE channel = 'email'"), 0);

    // She chooses email for emergency access herself (a letter for everything else): her choice wins.
    let csrf = margaret.csrf_from("/account/notifications");
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(CHOOSABLE.into_iter().map(|kind| (kind.as_str(), if kind.as_str() == "emergency_access" { "email" } else { "letter" })));
    assert_eq!(margaret.post_form("/account/notifications", &fields).status(), 303);
    let (phone, csrf) = paramedic(&margaret, 6);
    assert_eq!(use_code(&phone, &csrf, &code).status(), 303);
    let told = messages_to(&margaret, "person-1");
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[1], ("emergency_access".to_owned(), "email".to_owned(), "margaret@example.com".to_owned()));
}

/// Sends `request` once with each statement in turn failing and runs `unchanged` after each
/// failure; then once with no failure, whose response it returns with how many failed.
fn each_statement_failing(portal: &Portal, request: impl Fn() -> Response, unchanged: impl Fn(usize)) -> (Response, usize) {
    for nth in 1..=40 {
        portal.fail_at.set(Some(nth));
        let response = request();
        let failed = portal.fail_at.get().is_none();
        portal.fail_at.set(None);
        if !failed {
            return (response, nth - 1);
        }
        assert!(response.status().is_server_error(), "statement {nth} failed: {}", response.status());
        assert!(
            text(&response).contains("Sorry, the service is unavailable") || text(&response).contains("Sorry, there is a problem with the service"),
            "an error page, not a panic: {}",
            text(&response)
        );
        unchanged(nth);
    }
    panic!("the request ran more than 40 statements");
}

#[test]
fn with_the_store_failing_mid_change_neither_the_emergency_access_nor_its_notices_exist() {
    let margaret = margaret();
    confirmed(&margaret, "person-1", Medium::Email, "margaret@example.com");
    let sam = support::representative(
        &margaret,
        "person-sam",
        "Sam Okafor",
        Holding { categories: &[Category::Medication], actions: &[Action::View], act_for: true },
        31,
    );
    drop(sam);
    confirmed(&margaret, "person-sam", Medium::Phone, "07700 900 123");
    let code = turn_on_code(&margaret);
    let (phone, csrf) = paramedic(&margaret, 7);
    let (used, failures) = each_statement_failing(
        &margaret,
        || use_code(&phone, &csrf, &code),
        |nth| {
            assert_eq!(count(&margaret, "SELECT COUNT(*) FROM emergency_accesses"), 0, "statement {nth}");
            assert_eq!(count(&margaret, "SELECT COUNT(*) FROM notifications WHERE kind = 'emergency_access'"), 0, "statement {nth}");
            assert_eq!(count(&margaret, "SELECT COUNT(*) FROM audit_events WHERE action = 'emergency.access_started'"), 0, "statement {nth}");
            assert!(!phone.cookies.borrow().contains_key(EMERGENCY_COOKIE), "statement {nth}: no access cookie");
            assert_eq!(send(&phone, http::Request::get("/emergency/record"), Vec::new()).headers()["location"], "/emergency");
        },
    );
    assert_eq!(used.status(), 303, "{}", text(&used));
    assert!(failures >= 4, "each statement of the plan (access, log line, 2 messages) failed in turn: {failures}");
    assert_eq!(count(&margaret, "SELECT COUNT(*) FROM emergency_accesses"), 1);
    assert_eq!(count(&margaret, "SELECT COUNT(*) FROM notifications WHERE kind = 'emergency_access'"), 2, "Margaret and Sam, with the access");
}

#[test]
fn with_the_store_failing_mid_change_stopping_access_leaves_the_grant_live_and_no_notice() {
    let margaret = margaret();
    let sam = support::representative(
        &margaret,
        "person-sam",
        "Sam Okafor",
        Holding { categories: &[Category::Medication], actions: &[Action::View], act_for: false },
        32,
    );
    confirmed(&margaret, "person-sam", Medium::Email, "sam@example.com");
    let csrf = margaret.csrf_from("/access");
    let revoked_at = || block_on(margaret.db.query("SELECT revoked_at FROM grants WHERE id = 'grant-person-sam'", &[])).unwrap()[0].optional_text(0).unwrap();
    let (stopped, failures) = each_statement_failing(
        &margaret,
        || margaret.post_form("/access/grant-person-sam/revoke", &[("csrf", &csrf), ("version", "1")]),
        |nth| {
            assert_eq!(revoked_at(), None, "statement {nth}: the grant is still live");
            assert_eq!(count(&margaret, "SELECT COUNT(*) FROM notifications WHERE kind = 'access_stopped'"), 0, "statement {nth}");
            assert_eq!(sam.get("/people/person-1/medicines").status(), 200, "statement {nth}: Sam still sees what he was given");
        },
    );
    assert_eq!(stopped.status(), 303, "{}", text(&stopped).split("<main").nth(1).unwrap_or_default());
    assert!(failures >= 3, "each statement of the plan failed in turn: {failures}");
    assert!(revoked_at().is_some());
    assert_eq!(messages_to(&margaret, "person-sam"), [("access_stopped".to_owned(), "email".to_owned(), "sam@example.com".to_owned())]);
    assert_eq!(sam.get("/people/person-1/medicines").status(), 404);
}
