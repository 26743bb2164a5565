//! Emergency (break-glass) access through the router: a code opens four hours of medicines,
//! allergies and the emergency summary (and nothing else); wrong codes lock it; a new code ends
//! the old one; every use is audited and shown to the person, their representatives and the
//! council.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_portal::{Response, handle};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::contact::Medium;
use carefront_shared::context::RequestContext;
use carefront_shared::db::Database;
use carefront_shared::domain::{AuditEvent, Organisation, OrganisationKind, Person, Role};
use carefront_shared::emergency::{self, MAX_FAILED_ATTEMPTS};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::limits::MAX_FAILURES_PER_SOURCE;
use carefront_shared::outbox::{Channel, NotificationKind};
use carefront_shared::record::{Allergy, CareVisit, EmergencySummary, Medicine, VisitStatus};
use carefront_shared::store::{EmergencyStore, PreferenceStore, RecordStore, Store};
use chrono::{Duration, NaiveDate, NaiveTime};
use support::{ORIGIN, Portal, ResidentSoftPasskey, csrf_in, text};

/// The page's text with minijinja's escaped slashes (`&#x2f;`) read back as `/`.
fn html(response: &Response) -> String {
    text(response).replace("&#x2f;", "/")
}

const EMERGENCY_COOKIE: &str = "__Host-carefront_emergency";

/// Margaret (enrolled and signed in, with her care record), her son Sam (act-for power), her
/// friend Ada (medicines only), and the council with Daniel on its staff.
struct World {
    margaret: Portal,
    passkey: ResidentSoftPasskey,
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

fn setup() -> World {
    let margaret = Portal::new();
    let (_, code) = margaret.person_with_invitation("person-1", "Margaret Okafor");
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(margaret.enrol(&code, &mut passkey).status(), 200);
    let store = margaret.store();
    let now = margaret.now.get();
    pollster::block_on(store.insert_organisation(&Organisation {
        id: "org-council".into(),
        kind: OrganisationKind::Council,
        name: "Northshire County Council".into(),
        created_at: now,
    }))
    .unwrap();
    for someone in [
        person("person-sam", Role::Representative, "Sam Okafor", None, 71),
        person("person-ada", Role::Representative, "Ada Obi", None, 72),
        person("person-daniel", Role::CouncilStaff, "Daniel Hughes", Some("org-council"), 73),
        person("person-arthur", Role::ServiceUser, "Arthur Jenkins", None, 74),
    ] {
        pollster::block_on(store.insert_person(&someone)).unwrap();
    }
    let sam = Grant {
        id: "grant-sam".into(),
        version: 1,
        subject_id: "person-1".into(),
        grantee: Grantee::Person("person-sam".into()),
        categories: BTreeSet::from([Category::Medication]),
        actions: BTreeSet::from([Action::View]),
        act_for: true,
        purpose: "to look after my affairs".into(),
        starts_at: now,
        ends_at: Some(now + Duration::days(365)),
        basis: Basis::LastingPowerOfAttorney,
        evidence: Some("LPA registered 2025, reference 7000-1234".into()),
        recorded_by: "person-1".into(),
        revoked_at: None,
    };
    let ada = Grant {
        id: "grant-ada".into(),
        grantee: Grantee::Person("person-ada".into()),
        act_for: false,
        basis: Basis::Consent,
        evidence: None,
        purpose: "to help with my tablets".into(),
        ..sam.clone()
    };
    let council = Grant {
        id: "grant-council".into(),
        grantee: Grantee::Organisation("org-council".into()),
        categories: Category::ALL.into_iter().collect(),
        act_for: false,
        purpose: "statutory reviews".into(),
        ends_at: None,
        basis: Basis::StatutoryDuty,
        evidence: Some("Care Act 2014 s.27".into()),
        recorded_by: "person-daniel".into(),
        ..sam.clone()
    };
    for grant in [sam, ada, council] {
        pollster::block_on(store.insert_grant(&grant, now, None)).unwrap();
    }
    let day = |year, month, day| NaiveDate::from_ymd_opt(year, month, day).unwrap();
    let medicine = Medicine {
        id: "medicine-apixaban".into(),
        person_id: "person-1".into(),
        name: "Apixaban 5 mg tablets".into(),
        dose: "1 tablet".into(),
        route: "by mouth".into(),
        times: vec![NaiveTime::from_hms_opt(8, 0, 0).unwrap(), NaiveTime::from_hms_opt(20, 0, 0).unwrap()],
        as_needed: false,
        instructions: "An anticoagulant: do not stop without advice".into(),
        prescriber: "Dr Patel, Northshire Surgery".into(),
        started_on: day(2026, 9, 1),
        stopped_on: None,
    };
    let stopped = Medicine {
        id: "medicine-old".into(),
        name: "Codeine 30 mg tablets".into(),
        started_on: day(2026, 8, 1),
        stopped_on: Some(day(2026, 9, 1)),
        ..medicine.clone()
    };
    pollster::block_on(store.upsert_medicine(&medicine)).unwrap();
    pollster::block_on(store.upsert_medicine(&stopped)).unwrap();
    pollster::block_on(store.insert_allergy(&Allergy {
        id: "allergy-penicillin".into(),
        person_id: "person-1".into(),
        substance: "Penicillin".into(),
        reaction: "rash and swelling of the face".into(),
        recorded_at: now,
    }))
    .unwrap();
    pollster::block_on(store.upsert_emergency_summary(&EmergencySummary {
        person_id: "person-1".into(),
        summary: "Lives alone; right hip replaced two months ago.".into(),
        conditions: vec!["High blood pressure".into()],
        communication: "Hard of hearing on the left: speak on her right".into(),
        next_of_kin: "Sam Okafor (son), 07700 900123".into(),
        updated_by: "Priya Shah".into(),
        updated_at: now,
    }))
    .unwrap();
    pollster::block_on(store.upsert_visit(&CareVisit {
        id: "visit-1".into(),
        person_id: "person-1".into(),
        organisation_id: "org-council".into(),
        starts_at: now - Duration::hours(2),
        ends_at: now - Duration::hours(1),
        status: VisitStatus::Completed,
        carers: "Jo".into(),
        note: "Private visit note about the bathroom".into(),
        recorded_at: now,
    }))
    .unwrap();
    World { margaret, passkey }
}

/// Another browser on the same store, signed in (enrolled) as `person_id`.
fn signed_in_as(world: &World, person_id: &str, seed: u64) -> Portal {
    let browser = world.margaret.other_browser(seed);
    let (invitation, code) = invitation::issue(person_id, None, browser.now.get(), DEFAULT_LIFETIME, &browser.random);
    pollster::block_on(browser.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

/// Sends a request like the harness does, but accepts the emergency cookie's SameSite=Strict
/// (and checks it has it).
fn send(browser: &Portal, request: http::request::Builder, body: Vec<u8>) -> Response {
    let cookie_header: Vec<String> = browser.cookies.borrow().iter().map(|(name, value)| format!("{name}={value}")).collect();
    let mut request = request;
    if !cookie_header.is_empty() {
        request = request.header("cookie", cookie_header.join("; "));
    }
    let store = browser.store();
    let context = RequestContext {
        store: &store,
        config: &browser.config,
        now: browser.now.get(),
        random: &browser.random,
        client: Some(browser.source.clone()),
        outbound: None,
    };
    let response = pollster::block_on(handle(&context, request.body(body).unwrap()));
    for value in response.headers().get_all("set-cookie") {
        let text = value.to_str().unwrap();
        let (pair, attributes) = text.split_once(';').unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        assert!(name.starts_with("__Host-") && attributes.contains("Secure") && attributes.contains("HttpOnly") && attributes.contains("Path=/"), "{text}");
        let same_site = if name == EMERGENCY_COOKIE { "SameSite=Strict" } else { "SameSite=Lax" };
        assert!(attributes.contains(same_site), "{text}");
        if attributes.contains("Max-Age=0") {
            browser.cookies.borrow_mut().remove(name);
        } else {
            browser.cookies.borrow_mut().insert(name.into(), value.into());
        }
    }
    response
}

fn get(browser: &Portal, path: &str) -> Response {
    send(browser, http::Request::get(path), Vec::new())
}

fn post(browser: &Portal, path: &str, fields: &[(&str, &str)]) -> Response {
    let body = serde_urlencoded::to_string(fields).unwrap().into_bytes();
    send(browser, http::Request::post(path).header("content-type", "application/x-www-form-urlencoded").header("origin", ORIGIN), body)
}

/// A paramedic's phone: a fresh browser from its own address.
fn paramedic(world: &World, seed: u64) -> Portal {
    Portal { source: format!("198.51.100.{seed}"), ..world.margaret.other_browser(seed) }
}

/// Opens /emergency and posts its form, as a clinician would.
fn enter(browser: &Portal, code: &str, name: &str, role: &str, organisation: &str) -> Response {
    let csrf = csrf_in(&html(&get(browser, "/emergency"))).unwrap();
    post(browser, "/emergency", &[("csrf", &csrf), ("code", code), ("name", name), ("role", role), ("organisation", organisation)])
}

fn enter_as_alex(browser: &Portal, code: &str) -> Response {
    enter(browser, code, "Alex Smith", "Paramedic", "North West Ambulance Service")
}

/// Turns on (or replaces) an emergency code at `path` in `browser` and returns it.
fn turn_on(browser: &Portal, path: &str) -> String {
    let page = html(&browser.get(path));
    let csrf = csrf_in(&page).unwrap_or_else(|| panic!("no form on {path}: {page}"));
    let response = browser.post_form(path, &[("csrf", &csrf), ("action", "new")]);
    assert_eq!(response.status(), 200, "{}", html(&response));
    let page = html(&response);
    assert!(page.contains(&format!("Go to <strong class=\"govuk-!-text-break-word\">{ORIGIN}/emergency</strong>")), "{page}");
    page.split("Enter this code: <strong>").nth(1).unwrap().split('<').next().unwrap().to_owned()
}

fn audit(browser: &Portal, subject: &str) -> Vec<AuditEvent> {
    pollster::block_on(browser.store().audit_for_subject(&support::own_record(subject), 1000)).unwrap()
}

fn count(browser: &Portal, table: &str) -> i64 {
    pollster::block_on(browser.db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap()[0].integer(0).unwrap()
}

#[test]
fn a_code_opens_four_hours_of_medicines_allergies_and_the_summary_and_nothing_else() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    assert_eq!(code.len(), 19);
    let phone = paramedic(&world, 5);
    let response = enter_as_alex(&phone, &code.to_lowercase().replace('-', " "));
    assert_eq!(response.status(), 303, "{}", html(&response));
    assert_eq!(response.headers()["location"], "/emergency/record");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with(EMERGENCY_COOKIE))
        .unwrap();
    assert!(cookie.contains("SameSite=Strict") && cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("Max-Age=14400"), "{cookie}");

    let record = get(&phone, "/emergency/record");
    assert_eq!(record.status(), 200);
    assert_eq!(record.headers()["cache-control"], "no-store");
    let page = html(&record);
    for shown in [
        "Margaret Okafor",
        "Apixaban 5 mg tablets",
        "8am, 8pm",
        "Penicillin",
        "rash and swelling",
        "right hip replaced",
        "speak on her right",
        "21 November 2026 at 1pm",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    for hidden in ["Codeine", "Care plan summary for Margaret", "Private visit note", "Stay at home", "Every day at 8am"] {
        assert!(!page.contains(hidden), "{hidden} must not be shown: {page}");
    }

    // The cookie holds an opaque token; only its hash is stored.
    let token = phone.cookies.borrow()[EMERGENCY_COOKIE].clone();
    let stored: Vec<String> =
        pollster::block_on(phone.db.query("SELECT token_hash FROM emergency_accesses", &[])).unwrap().iter().map(|row| row.text(0).unwrap()).collect();
    assert_eq!(stored.len(), 1);
    assert!(!token.contains(&stored[0]) && !stored[0].contains(token.split('.').next().unwrap()));

    // Every use and every view is in Margaret's audit log, under the emergency access.
    let events = audit(&world.margaret, "person-1");
    let started = events.iter().find(|event| event.action == "emergency.access_started").unwrap();
    let viewed = events.iter().find(|event| event.action == "emergency.viewed").unwrap();
    for event in [started, viewed] {
        assert_eq!(event.actor_id, None);
        assert!(event.basis.as_deref().unwrap().starts_with("emergency_access:"), "{event:?}");
        assert!(event.detail.contains("Alex Smith (Paramedic, North West Ambulance Service)"), "{event:?}");
    }
    get(&phone, "/emergency/record");
    assert_eq!(audit(&world.margaret, "person-1").iter().filter(|event| event.action == "emergency.viewed").count(), 2, "each look");

    // It is read-only and lasts four hours to the second.
    world.margaret.advance(Duration::hours(4) - Duration::seconds(1));
    assert_eq!(get(&phone, "/emergency/record").status(), 200);
    world.margaret.advance(Duration::seconds(1));
    let expired = get(&phone, "/emergency/record");
    assert_eq!(expired.headers()["location"], "/emergency?ended=expired");
    assert!(!phone.cookies.borrow().contains_key(EMERGENCY_COOKIE), "the cookie is cleared");
    assert!(html(&get(&phone, "/emergency?ended=expired")).contains("4 hours of emergency access have ended"));
    assert_eq!(get(&phone, "/emergency/record").headers()["location"], "/emergency");
}

#[test]
fn leaving_ends_the_access_at_once() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    let phone = paramedic(&world, 6);
    assert_eq!(enter_as_alex(&phone, &code).status(), 303);
    let page = html(&get(&phone, "/emergency/record"));
    let csrf = csrf_in(&page).unwrap();
    let stolen = phone.cookies.borrow()[EMERGENCY_COOKIE].clone();
    let left = post(&phone, "/emergency/leave", &[("csrf", &csrf)]);
    assert_eq!(left.headers()["location"], "/emergency?ended=left");
    assert!(!phone.cookies.borrow().contains_key(EMERGENCY_COOKIE));
    // A copy of the cookie is dead too.
    phone.cookies.borrow_mut().insert(EMERGENCY_COOKIE.into(), stolen);
    assert_eq!(get(&phone, "/emergency/record").headers()["location"], "/emergency?ended=closed");
    assert!(audit(&world.margaret, "person-1").iter().any(|event| event.action == "emergency.left"));
    // A forged cookie is no key either.
    phone.cookies.borrow_mut().insert(EMERGENCY_COOKIE.into(), "forged.value".into());
    assert_eq!(get(&phone, "/emergency/record").headers()["location"], "/emergency");
}

/// The stop link the person told of `access` would be sent.
fn stop_link(world: &World, sent_to: &str) -> String {
    let since = world.margaret.now.get() - Duration::days(1);
    let accesses = pollster::block_on(world.margaret.store().emergency_accesses_for_person("person-1", since)).unwrap();
    let keys = world.margaret.config.browser.clone().unwrap();
    format!("/emergency/stop/{}", emergency::StopLink::for_access(&accesses[0], sent_to).token(&keys.session))
}

#[test]
fn someone_told_stops_the_access_from_their_link_and_the_clinician_is_refused() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    let phone = paramedic(&world, 6);
    assert_eq!(enter_as_alex(&phone, &code).status(), 303);
    let link = stop_link(&world, "person-sam");
    // Sam opens the link on his phone, signed in to nothing: opening it changes nothing.
    let sams_phone = world.margaret.other_browser(41);
    let page = html(&get(&sams_phone, &link));
    assert!(
        page.contains("Stop emergency access to Margaret Okafor&#x27;s medicines?") || page.contains("Stop emergency access to Margaret Okafor's medicines?"),
        "{page}"
    );
    assert!(page.contains("Alex Smith"), "names who is looking: {page}");
    assert_eq!(get(&phone, "/emergency/record").status(), 200, "still open until the button");
    let csrf = csrf_in(&page).unwrap();
    let stopped = html(&post(&sams_phone, &link, &[("csrf", &csrf)]));
    assert!(stopped.contains("Emergency access stopped"), "{stopped}");
    assert_eq!(get(&phone, "/emergency/record").headers()["location"], "/emergency?ended=closed", "the clinician's next page is refused");
    let log = audit(&world.margaret, "person-1");
    let line = log.iter().find(|event| event.action == "emergency.stopped").expect("the stop is in her log");
    assert!(line.detail.starts_with("Sam Okafor stopped the emergency access of Alex Smith"), "{}", line.detail);
    // Once: the same link now has nothing to stop, and writes nothing more.
    let again = html(&post(&sams_phone, &link, &[("csrf", &csrf)]));
    assert!(again.contains("This emergency access has ended"), "{again}");
    assert_eq!(audit(&world.margaret, "person-1").iter().filter(|event| event.action == "emergency.stopped").count(), 1);
}

/// Gives `person_id` a confirmed contact point, as the settings page's code check would.
fn confirmed(world: &World, person_id: &str, medium: Medium, address: &str) {
    let store = world.margaret.store();
    let now = world.margaret.now.get();
    pollster::block_on(store.start_contact_check(person_id, medium, address, "hash", now + Duration::minutes(30), now)).unwrap();
    pollster::block_on(store.confirm_contact(person_id, medium, "hash", now)).unwrap();
}

/// The queued messages about emergency access: (person, channel, recipient, stop link).
fn emergency_messages(world: &World) -> Vec<(String, String, String, String)> {
    let rows = pollster::block_on(world.margaret.db.query(
        "SELECT person_id, channel, recipient, json_extract(personalisation, '$.stop_link') FROM notifications WHERE kind = 'emergency_access' ORDER BY person_id",
        &[],
    ))
    .unwrap();
    rows.iter().map(|row| (row.text(0).unwrap(), row.text(1).unwrap(), row.text(2).unwrap(), row.text(3).unwrap())).collect()
}

#[test]
fn those_who_act_for_her_and_family_who_asked_are_sent_a_stop_link_with_the_access() {
    let world = setup();
    confirmed(&world, "person-sam", Medium::Phone, "07700 900 123");
    confirmed(&world, "person-ada", Medium::Email, "ada@example.org");
    let code = turn_on(&world.margaret, "/emergency-code");
    let phone = paramedic(&world, 6);
    assert_eq!(enter_as_alex(&phone, &code).status(), 303);
    let messages = emergency_messages(&world);
    // Sam acts for her: told by text. Ada has access to her medicines but did not ask to be told.
    assert_eq!(
        messages.iter().map(|(person, channel, to, _)| (person.as_str(), channel.as_str(), to.as_str())).collect::<Vec<_>>(),
        [("person-sam", "sms", "07700 900 123")]
    );
    // Sam's link stops it: the clinician's next page is refused.
    let link = messages[0].3.strip_prefix(support::ORIGIN).unwrap().to_owned();
    let sams_phone = world.margaret.other_browser(43);
    let page = html(&get(&sams_phone, &link));
    let stopped = html(&post(&sams_phone, &link, &[("csrf", &csrf_in(&page).unwrap())]));
    assert!(stopped.contains("Emergency access stopped"), "{stopped}");
    assert_eq!(get(&phone, "/emergency/record").headers()["location"], "/emergency?ended=closed");

    // Ada asks to be told of emergency access by email; the next use tells her too.
    let choices = std::collections::BTreeMap::from([(NotificationKind::EmergencyAccess, std::collections::BTreeSet::from([Channel::Email]))]);
    pollster::block_on(world.margaret.store().save_notification_choices("person-ada", &choices, world.margaret.now.get())).unwrap();
    let again = paramedic(&world, 7);
    assert_eq!(enter_as_alex(&again, &code).status(), 303);
    let told: Vec<String> = emergency_messages(&world).into_iter().map(|(person, channel, to, _)| format!("{person} {channel} {to}")).collect();
    assert_eq!(told, ["person-ada email ada@example.org", "person-sam sms 07700 900 123", "person-sam sms 07700 900 123"]);
}

#[test]
fn a_forged_or_expired_stop_link_stops_nothing() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    let phone = paramedic(&world, 6);
    assert_eq!(enter_as_alex(&phone, &code).status(), 303);
    let link = stop_link(&world, "person-sam");
    let stranger = world.margaret.other_browser(42);
    let csrf = csrf_in(&html(&get(&stranger, "/emergency"))).unwrap();
    let forged = format!("{}x", link);
    assert_eq!(get(&stranger, &forged).status(), 404);
    assert_eq!(post(&stranger, &forged, &[("csrf", &csrf)]).status(), 404);
    let other_person = link.replace(&format!(".{}.", base64_of("person-sam")), &format!(".{}.", base64_of("person-1")));
    assert_eq!(post(&stranger, &other_person, &[("csrf", &csrf)]).status(), 404, "the recipient is signed too");
    assert_eq!(get(&phone, "/emergency/record").status(), 200, "the access is still open");
    // Without the form's CSRF token the button does nothing either.
    assert_eq!(post(&stranger, &link, &[]).status(), 403);
    assert_eq!(get(&phone, "/emergency/record").status(), 200);
    // After four hours the link has expired with the access.
    world.margaret.advance(Duration::hours(4));
    let expired = get(&stranger, &link);
    assert_eq!(expired.status(), 410);
    assert!(html(&expired).contains("This link has expired"));
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn wrong_codes_lock_the_code_until_a_new_one_is_turned_on() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    let phone = paramedic(&world, 7);
    let wrong = near_miss(&code);
    let stranger = "ZZZZ-ZZZZ-ZZZZ-ZZZZ";
    let unknown = enter_as_alex(&phone, stranger);
    let near = enter_as_alex(&phone, &wrong);
    // A guess that matches nobody and one close to Margaret's code get the same answer.
    assert_eq!((unknown.status().as_u16(), near.status().as_u16()), (400, 400));
    let message = "This emergency code was not recognised. Check it and try again";
    assert!(html(&unknown).contains(message) && html(&near).contains(message));
    assert_eq!(html(&unknown).replace(stranger, "CODE"), html(&near).replace(&wrong, "CODE"), "nothing tells the two apart");
    // Wrong codes from many places add up against the code itself.
    for attempt in 1..MAX_FAILED_ATTEMPTS {
        assert_eq!(enter_as_alex(&paramedic(&world, 100 + u64::try_from(attempt).unwrap()), &wrong).status(), 400);
    }
    // Now even the right code is refused, from anywhere.
    let locked = enter_as_alex(&paramedic(&world, 99), &code);
    assert_eq!(locked.status(), 429);
    assert!(html(&locked).contains("locked"));
    assert_eq!(count(&world.margaret, "emergency_accesses"), 0);
    let events = audit(&world.margaret, "person-1");
    assert_eq!(events.iter().filter(|event| event.action == "emergency.code_locked").count(), 1);
    let home = html(&world.margaret.get("/home"));
    assert!(home.contains("your emergency code is locked"), "{home}");

    let new_code = turn_on(&world.margaret, "/emergency-code");
    assert_eq!(enter_as_alex(&phone, &new_code).status(), 303, "the new code works");
    assert_eq!(enter_as_alex(&paramedic(&world, 98), &code).status(), 410, "the old one does not");
}

#[test]
fn a_new_code_invalidates_the_old_one_and_ends_what_it_opened() {
    let world = setup();
    let old = turn_on(&world.margaret, "/emergency-code");
    let phone = paramedic(&world, 8);
    assert_eq!(enter_as_alex(&phone, &old).status(), 303);
    world.margaret.advance(Duration::minutes(1));
    let new = turn_on(&world.margaret, "/emergency-code");
    assert_ne!(old, new);
    assert_eq!(get(&phone, "/emergency/record").headers()["location"], "/emergency?ended=closed");
    let refused = enter_as_alex(&phone, &old);
    assert_eq!(refused.status(), 410);
    assert!(html(&refused).contains("no longer in use"));
    assert_eq!(enter_as_alex(&phone, &new).status(), 303);
    let events = audit(&world.margaret, "person-1");
    assert!(events.iter().any(|event| event.action == "emergency.code_turned_on" && event.basis.as_deref() == Some("own_record")));
    assert!(events.iter().any(|event| event.action == "emergency.code_replaced"));
}

#[test]
fn turning_the_code_off_stops_it() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    let csrf = csrf_in(&html(&world.margaret.get("/emergency-code"))).unwrap();
    let off = world.margaret.post_form("/emergency-code", &[("csrf", &csrf), ("action", "off")]);
    assert_eq!(off.headers()["location"], "/emergency-code?done=off");
    let page = html(&world.margaret.get("/emergency-code?done=off"));
    assert!(page.contains("turned off") && page.contains("Turn on an emergency code"), "{page}");
    assert_eq!(enter_as_alex(&paramedic(&world, 9), &code).status(), 410);
    assert!(audit(&world.margaret, "person-1").iter().any(|event| event.action == "emergency.code_turned_off"));
    assert_eq!(world.margaret.post_form("/emergency-code", &[("csrf", &csrf), ("action", "explode")]).status(), 400);
}

/// `code` with its last character changed: the same selector, a wrong secret.
fn near_miss(code: &str) -> String {
    let last = code.chars().last().unwrap();
    format!("{}{}", &code[..code.len() - 1], if last == '0' { '1' } else { '0' })
}

/// A well-formed code no one holds, different for each `n` (selector and all).
fn stranger_code(n: usize) -> String {
    format!("{n:04}-ZZZZ-ZZZZ-ZZZZ")
}

#[test]
fn finding_6_a_correct_emergency_code_is_never_refused_for_others_failures() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    // A care home: everyone behind one address. Someone there tries 25 codes that are nobody's.
    let care_home = "198.51.100.40";
    let neighbour = Portal { source: care_home.into(), ..world.margaret.other_browser(40) };
    let statuses: Vec<u16> = (0..25).map(|n| enter_as_alex(&neighbour, &stranger_code(n)).status().as_u16()).collect();
    assert!(statuses.iter().all(|status| *status == 400), "{statuses:?}");
    // Elsewhere, people get Margaret's code wrong now and then (too few to lock it).
    for seed in 41..45 {
        assert_eq!(enter_as_alex(&paramedic(&world, seed), &near_miss(&code)).status(), 400);
    }
    // The paramedic in the care home, with the right code, is let in.
    let phone = Portal { source: care_home.into(), ..world.margaret.other_browser(45) };
    let response = enter_as_alex(&phone, &code);
    assert_eq!(response.status(), 303, "{}", html(&response));
    assert_eq!(get(&phone, "/emergency/record").status(), 200);
}

#[test]
fn finding_6_failures_are_keyed_on_source_and_code() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    // Sam has a code of his own (issued straight into the store).
    let (record, sams_code) = emergency::issue("person-sam", "person-sam", "own_record", world.margaret.now.get(), &world.margaret.random);
    pollster::block_on(world.margaret.store().replace_emergency_code(&record)).unwrap();
    let guesser = paramedic(&world, 50);
    for _ in 0..MAX_FAILURES_PER_SOURCE {
        assert_eq!(enter_as_alex(&guesser, &near_miss(&code)).status(), 400);
    }
    // Guessing is slowed: this source's next try at this code is not even checked, right or wrong.
    let slowed = enter_as_alex(&guesser, &code);
    assert_eq!(slowed.status(), 429, "{}", html(&slowed));
    assert!(html(&slowed).contains("Too many wrong codes have been tried for this emergency code from this device"), "{}", html(&slowed));
    let retry_after: i64 = slowed.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_eq!(count(&world.margaret, "emergency_accesses"), 0);
    // The same source's other codes are not held up...
    assert_eq!(enter_as_alex(&guesser, &sams_code.to_string()).status(), 303);
    // ...nor is anyone else with this one, and the code is not locked.
    assert_eq!(enter_as_alex(&paramedic(&world, 51), &code).status(), 303);
    assert!(!audit(&world.margaret, "person-1").iter().any(|event| event.action == "emergency.code_locked"));
    // A right code gives back its try: a clinician who gets in is never counted as guessing.
    let careful = paramedic(&world, 52);
    for _ in 0..MAX_FAILURES_PER_SOURCE + 1 {
        assert_eq!(enter_as_alex(&careful, &code).status(), 303);
    }
    // The window moves on.
    world.margaret.advance(Duration::minutes(15));
    assert_eq!(enter_as_alex(&guesser, &code).status(), 303);
}

#[test]
fn bad_input_gets_clear_400s_and_nothing_is_written() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    let phone = paramedic(&world, 12);
    let long = "x".repeat(81);
    type Case<'a> = (&'a str, &'a str, &'a str, &'a str, &'a [&'a str]);
    let cases: [Case<'_>; 6] = [
        (&code, "", "Paramedic", "NWAS", &["Enter your full name"]),
        (&code, &long, "Paramedic", "NWAS", &["Enter your full name, up to 80 characters"]),
        (&code, "Alex", "", "", &["Enter your role", "Enter your organisation"]),
        ("", "Alex", "Paramedic", "NWAS", &["Enter the emergency code as it is written"]),
        ("7K2M-QX4D", "Alex", "Paramedic", "NWAS", &["Enter the emergency code as it is written"]),
        ("<script>alert(1)</script>", "<b>Alex</b>", "Paramedic", "NWAS", &["Enter the emergency code", "&lt;b&gt;Alex&lt;/b&gt;"]),
    ];
    for (code, name, role, organisation, expected) in cases {
        let response = enter(&phone, code, name, role, organisation);
        assert_eq!(response.status(), 400, "{code} {name}");
        let page = html(&response);
        for expected in expected {
            assert!(page.contains(expected), "{expected}: {page}");
        }
        assert!(!page.contains("<script>alert") && !page.contains("<b>Alex"), "escaped");
    }
    // A form with fields missing altogether, and one that is not a form.
    let csrf = csrf_in(&html(&get(&phone, "/emergency"))).unwrap();
    let missing = post(&phone, "/emergency", &[("csrf", &csrf)]);
    assert_eq!(missing.status(), 400);
    assert!(html(&missing).contains("Enter your full name"));
    let json = send(
        &phone,
        http::Request::post("/emergency").header("content-type", "application/json").header("origin", ORIGIN).header("x-csrf-token", &csrf),
        b"{}".to_vec(),
    );
    assert_eq!(json.status(), 400);
    // Without the CSRF token: refused.
    assert_eq!(post(&phone, "/emergency", &[("code", &code), ("name", "Alex"), ("role", "GP"), ("organisation", "Surgery")]).status(), 403);
    assert_eq!(count(&world.margaret, "emergency_accesses"), 0, "nothing written");
    assert!(!audit(&world.margaret, "person-1").iter().any(|event| event.action.as_str().starts_with("emergency.access")));
    // Wrong methods.
    let delete = send(&phone, http::Request::delete("/emergency"), Vec::new());
    assert_eq!((delete.status().as_u16(), delete.headers()["allow"].to_str().unwrap()), (405, "GET, HEAD, POST"));
    assert_eq!(get(&phone, "/emergency/leave").status(), 405);
    assert_eq!(send(&phone, http::Request::put("/emergency/record"), Vec::new()).status(), 405);
}

#[test]
fn the_person_and_their_representatives_are_told_on_their_home_pages() {
    let world = setup();
    let code = turn_on(&world.margaret, "/emergency-code");
    let sam = signed_in_as(&world, "person-sam", 21);
    let ada = signed_in_as(&world, "person-ada", 22);
    world.margaret.advance(Duration::hours(5) + Duration::minutes(5));
    assert_eq!(enter_as_alex(&paramedic(&world, 13), &code).status(), 303);

    let mut passkey = world.passkey;
    assert_eq!(world.margaret.sign_in(&mut passkey).status(), 200);
    let home = html(&world.margaret.get("/home"));
    // Home says it in one line, with a link to who used it (the code's page lists every use).
    let line = "Your emergency code was used on 21 November 2026 at 2:05pm. <a class=\"govuk-link\" href=\"/emergency-code\">See who used it</a>";
    assert!(home.contains(line), "{home}");
    assert!(home.find(line).unwrap() < home.find("Your care plan").unwrap(), "near the top");
    let sentence = "Alex Smith (Paramedic, North West Ambulance Service) used your emergency code on 21 November 2026 at 2:05pm. They can see your medicines, allergies and emergency summary until 6:05pm.";
    assert!(!home.contains(sentence), "not a wall of paragraphs on home");

    for (browser, seed) in [(&sam, 31), (&ada, 32)] {
        let fresh = browser.other_browser(seed);
        let person_id = if seed == 31 { "person-sam" } else { "person-ada" };
        let (invitation, invite) = invitation::issue(person_id, None, fresh.now.get(), DEFAULT_LIFETIME, &fresh.random);
        pollster::block_on(fresh.store().insert_invitation(&invitation)).unwrap();
        assert_eq!(fresh.enrol(&invite.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
        let expected = "Alex Smith (Paramedic, North West Ambulance Service) used the emergency code for Margaret Okafor on 21 November 2026 at 2:05pm.";
        let home = html(&fresh.get("/home"));
        let line = "The emergency code for Margaret Okafor was used on 21 November 2026 at 2:05pm. <a class=\"govuk-link\" href=\"/people/person-1#emergency-uses\">See who used it</a>";
        assert!(home.contains(line), "{person_id}: {home}");
        let page = html(&fresh.get("/people/person-1"));
        assert!(page.contains("id=\"emergency-uses\""), "{person_id}: {page}");
        assert!(page.contains(expected), "{person_id}: {page}");
        // Only the representative with the act-for power is offered a new code.
        assert_eq!(page.contains("/people/person-1/emergency-code"), seed == 31, "{person_id}: {page}");
    }

    // After the four hours it reads "could"; after 30 days it is gone.
    world.margaret.advance(Duration::hours(4));
    assert_eq!(world.margaret.sign_in(&mut passkey).status(), 200);
    let code_page = html(&world.margaret.get("/emergency-code"));
    assert!(code_page.contains("They could see your medicines, allergies and emergency summary until 6:05pm."), "{code_page}");
    assert!(html(&world.margaret.get("/home")).contains("Your emergency code was used on 21 November 2026 at 2:05pm."));
    world.margaret.advance(Duration::days(30));
    assert_eq!(world.margaret.sign_in(&mut passkey).status(), 200);
    let later = html(&world.margaret.get("/home"));
    assert!(!later.contains("emergency code was used"), "{later}");
    assert!(later.contains("Your emergency code for paramedics</a>: on"), "{later}");
}

#[test]
fn changing_the_code_needs_a_recent_passkey_check() {
    let world = setup();
    world.margaret.advance(Duration::minutes(6));
    let confirm = html(&world.margaret.get("/emergency-code"));
    assert!(confirm.contains("Confirm it is you") && confirm.contains("data-options-url=\"/reauthenticate/options\""), "{confirm}");
    assert!(confirm.contains("data-finish-url=\"/reauthenticate/finish?return=%2Femergency-code\""), "{confirm}");
    let csrf = csrf_in(&confirm).unwrap();
    let refused = world.margaret.post_form("/emergency-code", &[("csrf", &csrf), ("action", "new")]);
    assert_eq!(refused.status(), 403);
    assert!(html(&refused).contains("data-finish-url=\"/reauthenticate/finish?return=%2Femergency-code\""), "the route table asks for the check");
    assert_eq!(count(&world.margaret, "emergency_codes"), 0, "nothing written");

    let options = world.margaret.post_json("/reauthenticate/options", &csrf, &serde_json::json!({}));
    assert_eq!(options.status(), 200, "{}", html(&options));
    let options: carefront_shared::webauthn_rs::prelude::RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let mut passkey = world.passkey;
    let assertion = passkey.do_authentication(url::Url::parse(ORIGIN).unwrap(), options).unwrap();
    let finished = world.margaret.post_json("/reauthenticate/finish?return=%2Femergency-code", &csrf, &assertion);
    assert_eq!(finished.status(), 200, "{}", html(&finished));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(finished.body()).unwrap()["redirect"], "/emergency-code");
    assert!(html(&world.margaret.get("/emergency-code")).contains("Turn on an emergency code"));
    turn_on(&world.margaret, "/emergency-code");
}

#[test]
fn a_representative_with_the_act_for_power_can_change_the_code_and_others_cannot() {
    let world = setup();
    let sam = signed_in_as(&world, "person-sam", 41);
    let code = turn_on(&sam, "/people/person-1/emergency-code");
    let events = audit(&world.margaret, "person-1");
    let turned_on = events.iter().find(|event| event.action == "emergency.code_turned_on").unwrap();
    assert_eq!(
        (turned_on.actor_id.as_deref(), turned_on.acting_for.as_deref(), turned_on.basis.as_deref()),
        (Some("person-sam"), Some("person-1"), Some("act_for grant:grant-sam (lasting_power_of_attorney)"))
    );
    assert_eq!(enter_as_alex(&paramedic(&world, 14), &code).status(), 303);
    // Margaret sees who turned it on.
    assert!(html(&world.margaret.get("/emergency-code")).contains("It was turned on by Sam Okafor on 21 November 2026"));

    let ada = signed_in_as(&world, "person-ada", 42);
    assert_eq!(ada.get("/people/person-1/emergency-code").status(), 404);
    let csrf = csrf_in(&html(&ada.get("/home"))).unwrap();
    assert_eq!(ada.post_form("/people/person-1/emergency-code", &[("csrf", &csrf), ("action", "new")]).status(), 404);
    assert_eq!(ada.post_form("/people/person-1/emergency-code", &[("csrf", &csrf), ("action", "off")]).status(), 404);
    assert_eq!(ada.get("/emergency-code").status(), 404, "a representative has no code of their own");
    assert_eq!(sam.get("/people/person-arthur/emergency-code").status(), 404, "nor for someone they do not act for");
    assert_eq!(world.margaret.get("/people/person-arthur/emergency-code").status(), 404);
    assert_eq!(enter_as_alex(&paramedic(&world, 15), &code).status(), 303, "the code still works: nothing changed");
}

#[test]
fn council_staff_can_turn_on_a_code_and_list_uses_and_others_get_not_found() {
    let world = setup();
    let daniel = signed_in_as(&world, "person-daniel", 51);
    let code = turn_on(&daniel, "/people/person-1/emergency-code");
    let turned_on = audit(&world.margaret, "person-1").into_iter().find(|event| event.action == "emergency.code_turned_on").unwrap();
    assert_eq!((turned_on.actor_id.as_deref(), turned_on.acting_for.as_deref()), (Some("person-daniel"), None));
    assert_eq!(turned_on.basis.as_deref(), Some("grant:grant-council (statutory_duty)"));
    // The council cannot turn a person's code off.
    let page = html(&daniel.get("/people/person-1/emergency-code"));
    assert!(page.contains("Get a new emergency code") && !page.contains("Turn off the emergency code"), "{page}");
    let csrf = csrf_in(&page).unwrap();
    assert_eq!(daniel.post_form("/people/person-1/emergency-code", &[("csrf", &csrf), ("action", "off")]).status(), 404);
    assert_eq!(daniel.get("/people/person-arthur/emergency-code").status(), 404, "no statutory grant for Arthur here");

    assert_eq!(enter(&paramedic(&world, 16), &code, "Dr Jo Bloggs", "Out-of-hours GP", "Northshire Urgent Care").status(), 303);
    let list = daniel.get("/council/emergency-access");
    assert_eq!(list.status(), 200);
    let list = html(&list);
    for shown in
        ["Dr Jo Bloggs", "Out-of-hours GP", "Northshire Urgent Care", "Margaret Okafor", "21 November 2026 at 9am", "1pm", "/people/person-1/emergency-code"]
    {
        assert!(list.contains(shown), "{shown}: {list}");
    }
    assert!(
        audit(&world.margaret, "person-1").iter().any(|event| event.action == "access_log.viewed" && event.actor_id.as_deref() == Some("person-daniel")),
        "the council looking at the list is in Margaret's log"
    );
    assert!(html(&daniel.get("/home")).contains("/council/emergency-access"));

    let sam = signed_in_as(&world, "person-sam", 52);
    for browser in [&world.margaret, &sam] {
        assert_eq!(browser.get("/council/emergency-access").status(), 404);
    }
    assert_eq!(world.margaret.other_browser(53).get("/council/emergency-access").headers()["location"], "/sign-in");
}

#[test]
fn the_paramedic_form_is_public_and_carries_its_csrf_token() {
    let world = setup();
    let phone = paramedic(&world, 17);
    let page = get(&phone, "/emergency");
    assert_eq!(page.status(), 200);
    let html = html(&page);
    assert!(html.contains("Emergency access to a care record") && html.contains("name=\"csrf\""), "{html}");
    for field in ["id=\"code\"", "id=\"name\"", "id=\"role\"", "id=\"organisation\""] {
        assert!(html.contains(field), "{field}");
    }
    assert!(!html.contains("Sign out"), "nobody is signed in");
    assert_eq!(pollster::block_on(world.margaret.store().live_emergency_code("person-1")).unwrap(), None);
}
