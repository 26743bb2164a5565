//! A care provider's duty contact through the router: its administrator sets the on-call duty
//! manager's email address and mobile number at /provider/duty-contact, each confirmed with a
//! 6-digit code (wrong codes counted, 5 lock it), every change in the administration log; when
//! someone uses the emergency code of a person the provider holds live access for, the confirmed
//! duty contact is told with a stop link of its own, and stopping with it is logged as the duty
//! manager's. A provider without live access hears nothing; nobody else reaches the page.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_portal::{Response, handle};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::db::Database as _;
use carefront_shared::domain::{AuditEvent, Organisation, OrganisationKind, Person, ProviderRole, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::store::{CredentialStore as _, DutyContactStore, SqlStore, StaffStore as _, Store as _};
use chrono::Duration;
use pollster::block_on;
use support::{FailNth, ORIGIN, Portal, ResidentSoftPasskey, csrf_in, text};

const PAGE: &str = "/provider/duty-contact";
const BROOKSIDE: &str = "org-brookside";
const RIVERSIDE: &str = "org-riverside";

/// Margaret (enrolled, signed in); Brookside, commissioned for her care (a live grant), with
/// Priya its administrator and Jo its carer; Riverside, whose grant for her has ended, with Rob
/// its administrator. Each signed in in a browser of their own.
struct World {
    margaret: Portal,
    priya: Portal,
    jo: Portal,
    rob: Portal,
}

fn person(id: &str, role: Role, name: &str, organisation: Option<&str>, handle: u128) -> Person {
    Person {
        id: id.into(),
        role,
        display_name: name.into(),
        organisation_id: organisation.map(str::to_owned),
        webauthn_handle: uuid::Uuid::from_u128(handle),
        created_at: support::start_time(),
    }
}

fn enrolled(world: &Portal, someone: &Person, seed: u64) -> Portal {
    block_on(world.store().insert_person(someone)).unwrap();
    let browser = world.other_browser(seed);
    let (invitation, code) = invitation::issue(&someone.id, None, browser.now.get(), DEFAULT_LIFETIME, &browser.random);
    block_on(browser.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

fn provider_grant(id: &str, organisation: &str, starts: chrono::DateTime<chrono::Utc>, ends: chrono::DateTime<chrono::Utc>) -> Grant {
    Grant {
        id: id.into(),
        version: 1,
        subject_id: "person-1".into(),
        grantee: Grantee::Organisation(organisation.into()),
        categories: BTreeSet::from([Category::CarePlan, Category::Medication]),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "to provide care at home".into(),
        starts_at: starts,
        ends_at: Some(ends),
        basis: Basis::StatutoryDuty,
        evidence: Some("Commissioned by the council".into()),
        recorded_by: "person-cath".into(),
        revoked_at: None,
    }
}

fn world() -> World {
    let margaret = Portal::new();
    let (_, code) = margaret.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(margaret.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let store = margaret.store();
    let now = margaret.now.get();
    for (id, name) in [(BROOKSIDE, "Brookside Care"), (RIVERSIDE, "Riverside Homecare")] {
        block_on(store.insert_organisation(&Organisation { id: id.into(), kind: OrganisationKind::Provider, name: name.into(), created_at: now })).unwrap();
    }
    let priya = enrolled(&margaret, &person("person-priya", Role::ProviderStaff, "Priya Shah", Some(BROOKSIDE), 81), 81);
    let jo = enrolled(&margaret, &person("person-jo", Role::ProviderStaff, "Jo Adeyemi", Some(BROOKSIDE), 82), 82);
    let rob = enrolled(&margaret, &person("person-rob", Role::ProviderStaff, "Rob Green", Some(RIVERSIDE), 83), 83);
    for admin in ["person-priya", "person-rob"] {
        assert!(block_on(store.set_provider_role(admin, ProviderRole::Administrator)).unwrap());
    }
    assert!(block_on(store.set_provider_role("person-jo", ProviderRole::Staff)).unwrap());
    block_on(store.insert_grant(&provider_grant("grant-brookside", BROOKSIDE, now, now + Duration::days(365)), now, None)).unwrap();
    // Riverside cared for her until last month: that grant has ended.
    block_on(store.insert_grant(&provider_grant("grant-riverside", RIVERSIDE, now - Duration::days(90), now - Duration::days(30)), now, None)).unwrap();
    World { margaret, priya, jo, rob }
}

/// Posts `fields` to `path` with a CSRF token from the duty contact page.
fn post(browser: &Portal, path: &str, fields: &[(&str, &str)]) -> Response {
    let csrf = browser.csrf_from(PAGE);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form(path, &all)
}

/// The code in the newest contact check queued for `address`.
fn code_sent(portal: &Portal, address: &str) -> String {
    let rows = block_on(portal.db.query(
        "SELECT json_extract(personalisation, '$.code'), person_id FROM notifications WHERE kind = 'contact_check' AND recipient = ?1 ORDER BY created_at DESC, rowid DESC",
        &[address.into()],
    ))
    .unwrap();
    assert_eq!(rows[0].optional_text(1).unwrap(), None, "a duty contact's code goes to no person's account");
    rows[0].text(0).unwrap()
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// (organisation, action) of every administration-log entry, oldest first.
fn admin_log(portal: &Portal) -> Vec<(String, String)> {
    block_on(portal.db.query("SELECT organisation_id, action FROM admin_events ORDER BY at, rowid", &[]))
        .unwrap()
        .iter()
        .map(|row| (row.optional_text(0).unwrap().unwrap_or_default(), row.text(1).unwrap()))
        .collect()
}

fn count(portal: &Portal, table: &str) -> i64 {
    block_on(portal.db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap()[0].integer(0).unwrap()
}

/// Sets `browser`'s provider's duty `medium` to `address` through the pages.
fn confirm(browser: &Portal, medium: &str, address: &str) {
    let sent = post(browser, &format!("{PAGE}/{medium}"), &[(medium, address)]);
    assert_eq!(sent.status(), 303, "{}", text(&sent));
    let code = code_sent(browser, address);
    let confirmed = post(browser, &format!("{PAGE}/{medium}/check"), &[("code", &code)]);
    assert_eq!(confirmed.status(), 303, "{}", text(&confirmed));
}

#[test]
fn an_administrator_sets_the_duty_contact_with_a_code_and_each_change_is_logged() {
    let world = world();
    let page = text(&world.priya.get(PAGE));
    assert!(page.contains("Brookside Care") && page.contains("You do not have a confirmed duty contact yet"), "{page}");
    assert!(text(&world.priya.get("/home")).contains("href=\"/provider/duty-contact\""));

    let sent = post(&world.priya, &format!("{PAGE}/email"), &[("email", " duty@brookside.example ")]);
    assert_eq!(sent.status(), 303, "{}", text(&sent));
    assert_eq!(sent.headers()["location"], "/provider/duty-contact/email/check");
    let code = code_sent(&world.priya, "duty@brookside.example");
    // Only the code's keyed hash is kept.
    let stored = block_on(world.priya.db.query("SELECT code_hash, address FROM duty_contacts WHERE organisation_id = ?1", &[BROOKSIDE.into()])).unwrap();
    assert!(!stored[0].text(0).unwrap().contains(&code) && stored[0].optional_text(1).unwrap().is_none());
    let check = format!("{PAGE}/email/check");
    assert!(text(&world.priya.get(&check)).contains("We sent a 6-digit code to <strong>duty@brookside.example</strong>"));

    let refused = post(&world.priya, &check, &[("code", wrong(&code))]);
    assert_eq!(refused.status(), 400);
    assert!(text(&refused).contains("href=\"#code\">The code is not right. Check it and try again: you have 4 more tries"), "{}", text(&refused));
    let confirmed = post(&world.priya, &check, &[("code", &code)]);
    assert_eq!(confirmed.headers()["location"], "/provider/duty-contact?done=confirmed-email");
    let page = text(&world.priya.get("/provider/duty-contact?done=confirmed-email"));
    assert!(
        page.contains("The duty email address is confirmed.") && page.contains("duty@brookside.example<br><span class=\"govuk-body-s\">Confirmed on"),
        "{page}"
    );
    assert!(!page.contains("You do not have a confirmed duty contact yet"));
    let points = block_on(world.priya.store().duty_contact_points(BROOKSIDE)).unwrap();
    assert_eq!(points[0].verified(), Some("duty@brookside.example"));

    let log = admin_log(&world.priya);
    assert_eq!(log, [(BROOKSIDE.to_owned(), "duty_contact.check_sent".to_owned()), (BROOKSIDE.to_owned(), "duty_contact.confirmed".to_owned())]);
    let staff_page = text(&world.priya.get("/provider/staff"));
    assert!(staff_page.contains("Priya Shah confirmed duty@brookside.example as the duty contact email address of Brookside Care"), "{staff_page}");
}

#[test]
fn five_wrong_codes_lock_it_and_a_new_code_starts_again() {
    let world = world();
    assert_eq!(post(&world.priya, &format!("{PAGE}/phone"), &[("phone", "07700 900 555")]).status(), 303);
    let code = code_sent(&world.priya, "07700 900 555");
    let check = format!("{PAGE}/phone/check");
    for _ in 0..4 {
        assert_eq!(post(&world.priya, &check, &[("code", wrong(&code))]).status(), 400);
    }
    let locked = post(&world.priya, &check, &[("code", wrong(&code))]);
    assert!(text(&locked).contains("was entered wrongly 5 times, so it no longer works"), "{}", text(&locked));
    let refused = post(&world.priya, &check, &[("code", &code)]);
    assert_eq!(refused.status(), 400, "locked: even the right code is refused");
    assert_eq!(block_on(world.priya.store().duty_contact_points(BROOKSIDE)).unwrap()[0].verified(), None);
    assert!(admin_log(&world.priya).contains(&(BROOKSIDE.to_owned(), "duty_contact.check_locked".to_owned())));
    assert!(text(&world.priya.get(PAGE)).contains("was entered wrongly too many times"));
    // An expired code is refused too; a new one works.
    world.priya.advance(Duration::minutes(1));
    assert_eq!(post(&world.priya, &format!("{PAGE}/phone"), &[("phone", "07700 900 555")]).status(), 303);
    let late = code_sent(&world.priya, "07700 900 555");
    // 31 minutes on (with a look at the page between, so her session stays live): expired.
    world.priya.advance(Duration::minutes(20));
    assert_eq!(world.priya.get(PAGE).status(), 200);
    world.priya.advance(Duration::minutes(11));
    let expired = post(&world.priya, &check, &[("code", &late)]);
    assert_eq!(expired.status(), 400);
    assert!(text(&expired).contains("has expired: a code works for 30 minutes"), "{}", text(&expired));
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let world = world();
    for (medium, typed, message) in [
        ("email", "duty.brookside.example", "Enter an email address in the correct format, like name@example.com"),
        ("email", "  ", "Enter the duty manager&#x27;s email address"),
        ("phone", "0113 496 0000", "Enter a UK mobile number, like 07700 900 982"),
        ("phone", "", "Enter the duty manager&#x27;s mobile number"),
    ] {
        let response = post(&world.priya, &format!("{PAGE}/{medium}"), &[(medium, typed)]);
        assert_eq!(response.status(), 400, "{medium} {typed:?}");
        let page = text(&response);
        assert!(page.contains(&format!("<a href=\"#{medium}\">{message}</a>")), "{message}: {page}");
        assert!(page.contains(&format!("id=\"{medium}-error\"")), "{page}");
    }
    assert_eq!(post(&world.priya, &format!("{PAGE}/fax"), &[("fax", "0113 496 0000")]).status(), 404);
    assert_eq!((count(&world.priya, "duty_contacts"), count(&world.priya, "notifications"), count(&world.priya, "admin_events")), (0, 0, 0));
    // A code that is not 6 digits is refused without using a try.
    assert_eq!(post(&world.priya, &format!("{PAGE}/email"), &[("email", "duty@brookside.example")]).status(), 303);
    for (typed, message) in [("12ab56", "Enter the code in the correct format: 6 numbers, like 123456"), ("", "Enter the code")] {
        let response = post(&world.priya, &format!("{PAGE}/email/check"), &[("code", typed)]);
        assert_eq!(response.status(), 400);
        assert!(text(&response).contains(&format!("<a href=\"#code\">{message}</a>")), "{}", text(&response));
    }
    assert_eq!(block_on(world.priya.store().duty_contact_points(BROOKSIDE)).unwrap()[0].wrong_tries, 0);
}

#[test]
fn changing_the_duty_contact_needs_a_recent_passkey_check() {
    let world = world();
    world.priya.advance(Duration::minutes(10));
    let csrf = world.priya.csrf_from(PAGE);
    let refused = world.priya.post_form(&format!("{PAGE}/email"), &[("csrf", &csrf), ("email", "duty@brookside.example")]);
    assert_eq!(refused.status(), 403, "{}", text(&refused));
    assert_eq!((count(&world.priya, "duty_contacts"), count(&world.priya, "notifications")), (0, 0));
}

#[test]
fn nobody_else_sees_or_sets_a_providers_duty_contact() {
    let world = world();
    confirm(&world.priya, "email", "duty@brookside.example");
    assert_eq!(post(&world.priya, &format!("{PAGE}/phone"), &[("phone", "07700 900 555")]).status(), 303);
    let waiting = code_sent(&world.priya, "07700 900 555");
    // Riverside's administrator sees Riverside's (none), never Brookside's.
    let page = text(&world.rob.get(PAGE));
    assert!(page.contains("Riverside Homecare") && !page.contains("brookside") && !page.contains("07700 900 555"), "{page}");
    // Brookside's code typed at Riverside's check confirms nothing of Brookside's; nothing is
    // waiting for Riverside, and no field names an organisation.
    let csrf = world.rob.csrf_from(PAGE);
    let tried = world.rob.post_form(&format!("{PAGE}/phone/check"), &[("csrf", &csrf), ("code", &waiting), ("organisation", BROOKSIDE)]);
    assert_eq!(tried.headers()["location"], PAGE);
    let set = world.rob.post_form(&format!("{PAGE}/email"), &[("csrf", &csrf), ("email", "rob@riverside.example"), ("organisation", BROOKSIDE)]);
    assert_eq!(set.status(), 303);
    assert_eq!(block_on(world.rob.store().duty_contact_points(BROOKSIDE)).unwrap()[0].verified(), Some("duty@brookside.example"));
    assert_eq!(block_on(world.rob.store().duty_contact_points(RIVERSIDE)).unwrap()[0].pending_address.as_deref(), Some("rob@riverside.example"));
    // The provider's other staff, the person, and someone signed out: page not found.
    for browser in [&world.jo, &world.margaret] {
        for path in [PAGE, "/provider/duty-contact/email/check"] {
            assert_eq!(browser.get(path).status(), 404, "{path}");
        }
        let csrf = browser.csrf_from("/home");
        assert_eq!(browser.post_form(&format!("{PAGE}/email"), &[("csrf", &csrf), ("email", "x@example.com")]).status(), 404);
        assert_eq!(browser.post_form(&format!("{PAGE}/phone/check"), &[("csrf", &csrf), ("code", &waiting)]).status(), 404);
    }
    let stranger = world.margaret.other_browser(99);
    assert_ne!(stranger.get(PAGE).status(), 200);
    assert_eq!(block_on(world.rob.store().duty_contact_points(BROOKSIDE)).unwrap()[1].wrong_tries, 0, "no try was used on Brookside's code");
}

// --- Emergency access tells the duty contact --------------------------------------------------

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

/// Margaret turns on her emergency code; a paramedic uses it.
fn paramedic_uses_her_code(world: &World) -> Portal {
    let csrf = world.margaret.csrf_from("/emergency-code");
    let page = text(&world.margaret.post_form("/emergency-code", &[("csrf", &csrf), ("action", "new")]));
    let code = page.split("Enter this code: <strong>").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let phone = Portal { source: "198.51.100.7".into(), ..world.margaret.other_browser(7) };
    let csrf = csrf_in(&text(&send(&phone, http::Request::get("/emergency"), Vec::new()))).unwrap();
    let used = form(&phone, "/emergency", &[("csrf", &csrf), ("code", &code), ("name", "Alex Smith"), ("role", "Paramedic"), ("organisation", "NWAS")]);
    assert_eq!(used.status(), 303, "{}", text(&used));
    phone
}

/// (person, subject, channel, recipient, stop link) of each emergency access message.
fn emergency_messages(portal: &Portal) -> Vec<(Option<String>, String, String, String, String)> {
    let rows = block_on(portal.db.query(
        "SELECT person_id, subject_id, channel, recipient, json_extract(personalisation, '$.stop_link'), json_extract(personalisation, '$.name')
         FROM notifications WHERE kind = 'emergency_access' ORDER BY recipient",
        &[],
    ))
    .unwrap();
    rows.iter()
        .map(|row| {
            assert_eq!(row.text(5).unwrap(), "Margaret Okafor", "the duty manager is told whose code it was");
            (row.optional_text(0).unwrap(), row.text(1).unwrap(), row.text(2).unwrap(), row.text(3).unwrap(), row.text(4).unwrap())
        })
        .collect()
}

fn audit(portal: &Portal) -> Vec<AuditEvent> {
    block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 1000)).unwrap()
}

#[test]
fn emergency_access_tells_the_duty_contact_of_a_provider_with_live_access_and_its_link_stops_it() {
    let world = world();
    confirm(&world.priya, "email", "duty@brookside.example");
    confirm(&world.priya, "phone", "07700 900 555");
    // Riverside has a confirmed duty contact too, but its access to Margaret has ended.
    confirm(&world.rob, "email", "duty@riverside.example");
    // A waiting (unconfirmed) change is not used.
    assert_eq!(post(&world.priya, &format!("{PAGE}/email"), &[("email", "new@brookside.example")]).status(), 303);

    let phone = paramedic_uses_her_code(&world);
    let duty: Vec<_> = emergency_messages(&world.margaret).into_iter().filter(|(person, ..)| person.is_none()).collect();
    let sent: Vec<(&str, &str, &str)> = duty.iter().map(|(_, subject, channel, to, _)| (subject.as_str(), channel.as_str(), to.as_str())).collect();
    assert_eq!(sent, [("person-1", "sms", "07700 900 555"), ("person-1", "email", "duty@brookside.example")]);
    assert_eq!(duty[0].4, duty[1].4, "one link for the provider, whichever way it travels");
    let all = emergency_messages(&world.margaret);
    assert!(!all.iter().any(|(_, _, _, to, _)| to.contains("riverside")), "a provider without live access is not told: {all:?}");

    // The duty manager's link stops it, and the log says it was them.
    let link = duty[0].4.strip_prefix(ORIGIN).unwrap().to_owned();
    let duty_phone = world.margaret.other_browser(61);
    let page = text(&send(&duty_phone, http::Request::get(&link), Vec::new()));
    assert!(page.contains("Alex Smith"), "{page}");
    let stopped = text(&form(&duty_phone, &link, &[("csrf", &csrf_in(&page).unwrap())]));
    assert!(stopped.contains("Emergency access stopped"), "{stopped}");
    assert_eq!(send(&phone, http::Request::get("/emergency/record"), Vec::new()).headers()["location"], "/emergency?ended=closed");
    let line = audit(&world.margaret).into_iter().find(|event| event.action == "emergency.stopped").unwrap();
    assert!(line.detail.starts_with("The duty manager of Brookside Care stopped the emergency access of Alex Smith"), "{}", line.detail);
}

#[test]
fn a_duty_contact_link_made_for_one_provider_names_only_that_provider() {
    let world = world();
    confirm(&world.priya, "email", "duty@brookside.example");
    paramedic_uses_her_code(&world);
    let link = emergency_messages(&world.margaret).into_iter().find(|(person, ..)| person.is_none()).unwrap().4;
    // Swapping the organisation in the signed link breaks its signature.
    use base64::Engine as _;
    let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let forged = link.replace(&encode(&format!("organisation:{BROOKSIDE}")), &encode(&format!("organisation:{RIVERSIDE}")));
    assert_ne!(forged, link);
    let stranger = world.margaret.other_browser(62);
    assert_eq!(send(&stranger, http::Request::get(forged.strip_prefix(ORIGIN).unwrap()), Vec::new()).status(), 404);
}

#[test]
fn the_councils_staff_page_says_which_providers_have_a_duty_contact() {
    let world = world();
    let now = world.margaret.now.get();
    let council = Organisation { id: support::COUNCIL_ORG.into(), kind: OrganisationKind::Council, name: "Northshire County Council".into(), created_at: now };
    block_on(world.margaret.store().insert_organisation(&council)).unwrap();
    let daniel = enrolled(&world.margaret, &person("person-daniel", Role::CouncilStaff, "Daniel Hughes", Some(support::COUNCIL_ORG), 84), 84);
    assert!(block_on(world.margaret.store().set_council_role("person-daniel", carefront_shared::domain::CouncilRole::Administrator)).unwrap());
    confirm(&world.priya, "email", "duty@brookside.example");
    let page = text(&daniel.get("/council/staff"));
    assert!(page.contains("Duty contact set: their duty manager is told"), "{page}");
    assert!(page.contains("No duty contact: nobody at Riverside Homecare is told"), "{page}");
    // Setting it is in the administration log the council's administrators read.
    assert!(page.contains("Priya Shah confirmed duty@brookside.example as the duty contact email address of Brookside Care"), "{page}");
}
