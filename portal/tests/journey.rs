//! Router tests: requests straight into the portal against a real SQLite store, including full
//! passkey registration and sign-in with a software authenticator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::db::Database;
use carefront_shared::invitation::{self, InvitationCode};
use carefront_shared::limits::{self, MAX_FAILURES_PER_SOURCE};
use carefront_shared::store::{Store, time_text};
use chrono::Duration;
use support::{Portal, ResidentSoftPasskey, csrf_in, text};

fn count(portal: &Portal, table: &str) -> i64 {
    pollster::block_on(portal.db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap()[0].integer(0).unwrap()
}

fn enrolled(portal: &Portal, id: &str, name: &str) -> ResidentSoftPasskey {
    let (_, code) = portal.person_with_invitation(id, name);
    let mut authenticator = ResidentSoftPasskey::new();
    let response = portal.enrol(&code, &mut authenticator);
    assert_eq!(response.status(), 200, "{}", text(&response));
    authenticator
}

#[test]
fn invitation_passkey_sign_out_sign_in_and_care_plan() {
    let portal = Portal::new();
    let (person, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut authenticator = ResidentSoftPasskey::new();

    let finished = portal.enrol(&code, &mut authenticator);
    assert_eq!(finished.status(), 200, "{}", text(&finished));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(finished.body()).unwrap()["redirect"], "/home");
    assert!(portal.cookies.borrow().contains_key("__Host-carefront_session"), "enrolment signs the person in");
    assert!(!portal.cookies.borrow().contains_key("__Host-carefront_enrol"), "the enrolment cookie is cleared");

    portal.advance(Duration::seconds(1));
    let home = portal.get("/home");
    assert_eq!(home.status(), 200);
    let html = text(&home);
    assert!(html.contains("Your care") && html.contains("Care plan summary for Margaret Okafor") && html.contains("Every day at 8am"), "{html}");
    let audit = pollster::block_on(portal.store().audit_for_subject(&support::own_record(&person.id), 10)).unwrap();
    let actions: Vec<String> = audit.iter().map(|event| event.action.as_str().into_owned()).collect();
    // Home's looks (the care plan, and the Today card's visits and doses), then the enrolment's
    // two events; events that share a time are in the order of their ids.
    let (mut looks, mut enrolment): (Vec<String>, Vec<String>) = actions.into_iter().partition(|action| action.ends_with(".viewed"));
    looks.sort_unstable();
    enrolment.sort_unstable();
    assert_eq!(looks, ["care_plan.viewed", "medication.viewed", "visits_and_notes.viewed"]);
    assert_eq!(enrolment, ["invitation.accepted", "passkey.registered"]);

    let session_before = portal.cookies.borrow()["__Host-carefront_session"].clone();
    let csrf = csrf_in(&html).unwrap();
    let signed_out = portal.post_form("/sign-out", &[("csrf", &csrf)]);
    assert_eq!(signed_out.status(), 303);
    assert_eq!(signed_out.headers()["location"], "/signed-out");
    assert_eq!(portal.get("/home").headers()["location"], "/sign-in", "signed out means no care plan");

    // A copy of the old cookie is dead: the row is gone.
    portal.cookies.borrow_mut().insert("__Host-carefront_session".into(), session_before.clone());
    assert_eq!(portal.get("/home").headers()["location"], "/sign-in");

    let signed_in = portal.sign_in(&mut authenticator);
    assert_eq!(signed_in.status(), 200, "{}", text(&signed_in));
    let session_after = portal.cookies.borrow()["__Host-carefront_session"].clone();
    assert_ne!(session_before, session_after, "sign-in mints a new session id");
    assert_eq!(portal.get("/home").status(), 200);
    let passkeys = text(&portal.get("/passkeys"));
    assert!(passkeys.contains("Last used"), "{passkeys}");
}

#[test]
fn a_finished_sign_in_cannot_be_replayed() {
    let portal = Portal::new();
    let mut authenticator = enrolled(&portal, "person-1", "Margaret Okafor");
    let (csrf, credential) = portal.sign_in_response(&mut authenticator);
    let ceremony_cookie = portal.cookies.borrow()["__Host-carefront_ceremony"].clone();
    assert_eq!(portal.post_json("/sign-in/finish", &csrf, &credential).status(), 200);

    // Replay the same response with the same ceremony cookie (and a fresh page's token).
    let csrf = portal.csrf_from("/sign-in");
    portal.cookies.borrow_mut().insert("__Host-carefront_ceremony".into(), ceremony_cookie);
    let session = portal.cookies.borrow()["__Host-carefront_session"].clone();
    let replay = portal.post_json("/sign-in/finish", &csrf, &credential);
    assert_eq!(replay.status(), 400);
    assert_eq!(replay.headers()["content-type"], "application/problem+json");
    assert_eq!(portal.cookies.borrow()["__Host-carefront_session"], session, "no new session");
}

#[test]
fn a_ceremony_expires_after_five_minutes() {
    let portal = Portal::new();
    let mut authenticator = enrolled(&portal, "person-1", "Margaret Okafor");
    let (csrf, credential) = portal.sign_in_response(&mut authenticator);
    portal.advance(Duration::minutes(5));
    let late = portal.post_json("/sign-in/finish", &csrf, &credential);
    assert_eq!(late.status(), 400);
    assert!(text(&late).contains("5 minutes"), "{}", text(&late));
}

#[test]
fn an_invitation_is_single_use() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(portal.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let other = portal.other_browser(43);
    let csrf = other.csrf_from("/invitation");
    let again = other.post_form("/invitation", &[("csrf", &csrf), ("code", &code)]);
    assert_eq!(again.status(), 410);
    assert!(text(&again).contains("already been used"));
}

/// `code` with its last character changed: the same selector, a wrong secret.
fn near_miss(code: &str) -> String {
    let last = code.chars().last().unwrap();
    format!("{}{}", &code[..code.len() - 1], if last == '0' { '1' } else { '0' })
}

/// A browser of its own at another address.
fn elsewhere(portal: &Portal, seed: u64) -> Portal {
    Portal { source: format!("203.0.113.{seed}"), ..portal.other_browser(seed) }
}

fn try_invitation(portal: &Portal, code: &str) -> http::Response<Vec<u8>> {
    let csrf = portal.csrf_from("/invitation");
    portal.post_form("/invitation", &[("csrf", &csrf), ("code", code)])
}

#[test]
fn wrong_codes_are_slowed_per_source_and_lock_the_invitation() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let wrong = near_miss(&code);
    for _ in 0..MAX_FAILURES_PER_SOURCE {
        let response = try_invitation(&portal, &wrong);
        assert_eq!(response.status(), 400);
        assert!(text(&response).contains("not recognised"));
    }
    let slowed = try_invitation(&portal, &wrong);
    assert_eq!(slowed.status(), 429, "this source's tries at this invitation are slowed");
    assert!(text(&slowed).contains("Too many wrong codes"), "{}", text(&slowed));
    assert!(slowed.headers().contains_key("retry-after"));
    portal.advance(Duration::minutes(15));
    assert_eq!(try_invitation(&portal, &wrong).status(), 400, "a new window");

    // Wrong codes from everywhere add up against the invitation itself, which then locks.
    let tried = MAX_FAILURES_PER_SOURCE + 1;
    for seed in 0..u64::try_from(invitation::MAX_FAILED_ATTEMPTS - tried).unwrap() {
        assert_eq!(try_invitation(&elsewhere(&portal, seed + 10), &wrong).status(), 400);
    }
    let locked = try_invitation(&elsewhere(&portal, 99), &code);
    assert_eq!(locked.status(), 429, "even the right code is refused once locked");
    assert!(text(&locked).contains("locked"));
}

#[test]
fn finding_6_guessing_a_selector_does_not_lock_the_owners_invitation() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let selector = InvitationCode::parse(&code).unwrap().selector().len();
    assert!(selector * 5 >= 96, "a selector of {selector} characters is guessable");
    // Guesses that agree with the code's first 16 characters (four times what used to be its
    // whole selector), from one address and from many.
    let guesses: Vec<String> = (0..40).map(|n| format!("{}{n:04}{}", &code[..19], &code[24..])).filter(|guess| *guess != code).collect();
    for (n, guess) in guesses.iter().enumerate() {
        let from = if n % 2 == 0 { portal.other_browser(7) } else { elsewhere(&portal, u64::try_from(n).unwrap()) };
        assert_eq!(try_invitation(&from, guess).status(), 400, "{guess}");
    }
    // The owner, at the address the guesses came from, still gets in.
    assert_eq!(portal.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
}

#[test]
fn an_invitation_with_a_selector_from_before_still_works() {
    let portal = Portal::new();
    let (person, _) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let old = InvitationCode::parse("7K2M-QX4D-9RTB-H3VW-ZP6N").unwrap();
    assert_eq!(old.selector(), "7K2M");
    let (fresh, _) = invitation::issue(&person.id, None, portal.now.get(), invitation::DEFAULT_LIFETIME, &portal.random);
    let row = carefront_shared::domain::Invitation { selector: old.selector().into(), verifier_hash: old.verifier_hash(), ..fresh };
    pollster::block_on(portal.store().insert_invitation(&row)).unwrap();
    assert_eq!(portal.enrol("7k2m-qx4d-9rtb-h3vw-zp6n", &mut ResidentSoftPasskey::new()).status(), 200);
}

#[test]
fn finding_9_sign_in_starts_are_limited_per_source() {
    let portal = Portal::new();
    let csrf = portal.csrf_from("/sign-in");
    let start = |portal: &Portal, csrf: &str| portal.post_json("/sign-in/options", csrf, &serde_json::json!({}));
    for n in 0..limits::CEREMONY_STARTS.max {
        assert_eq!(start(&portal, &csrf).status(), 200, "start {n}");
    }
    let limited = start(&portal, &csrf);
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["content-type"], "application/problem+json");
    let retry_after: i64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=limits::CEREMONY_STARTS.window.num_seconds()).contains(&retry_after), "{retry_after}");
    let problem: serde_json::Value = serde_json::from_slice(limited.body()).unwrap();
    assert_eq!(problem["status"], 429);
    assert_eq!(count(&portal, "ceremonies"), limits::CEREMONY_STARTS.max, "a refused start writes no ceremony");
    // Another address is not held up, and the window moves on.
    let other = elsewhere(&portal, 8);
    let other_csrf = other.csrf_from("/sign-in");
    assert_eq!(start(&other, &other_csrf).status(), 200);
    portal.advance(limits::CEREMONY_STARTS.window);
    assert_eq!(start(&portal, &csrf).status(), 200);
}

#[test]
fn finding_9_expired_ceremonies_are_purged() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let csrf = portal.csrf_from("/sign-in");
    for _ in 0..5 {
        assert_eq!(portal.post_json("/sign-in/options", &csrf, &serde_json::json!({})).status(), 200);
    }
    assert_eq!(try_invitation(&portal, &near_miss(&code)).status(), 400);
    assert_eq!(count(&portal, "ceremonies"), 5);
    portal.advance(Duration::minutes(16));
    assert_eq!(portal.post_json("/sign-in/options", &csrf, &serde_json::json!({})).status(), 200);
    assert_eq!(count(&portal, "ceremonies"), 1, "only the new ceremony is left");
    // Nor do counts of windows that have ended pile up.
    let stale = pollster::block_on(
        portal.db.query("SELECT COUNT(*) FROM rate_limits WHERE window_start < ?1", &[time_text(portal.now.get() - Duration::minutes(15)).into()]),
    )
    .unwrap()[0]
        .integer(0)
        .unwrap();
    assert_eq!(stale, 0);
}

#[test]
fn an_expired_invitation_is_refused() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    portal.advance(Duration::days(7));
    let csrf = portal.csrf_from("/invitation");
    let response = portal.post_form("/invitation", &[("csrf", &csrf), ("code", &code)]);
    assert_eq!(response.status(), 410);
    assert!(text(&response).contains("expired"));
}

#[test]
fn a_tampered_session_cookie_is_refused() {
    let portal = Portal::new();
    enrolled(&portal, "person-1", "Margaret Okafor");
    let value = portal.cookies.borrow()["__Host-carefront_session"].clone();
    let mut chars: Vec<char> = value.chars().collect();
    chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
    portal.cookies.borrow_mut().insert("__Host-carefront_session".into(), chars.into_iter().collect());
    let response = portal.get("/home");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/sign-in");
    assert!(!portal.cookies.borrow().contains_key("__Host-carefront_session"), "the bad cookie is cleared");
}

#[test]
fn sessions_end_when_idle_and_at_their_absolute_limit() {
    let portal = Portal::new();
    let mut authenticator = enrolled(&portal, "person-1", "Margaret Okafor");
    portal.advance(Duration::minutes(29));
    assert_eq!(portal.get("/home").status(), 200, "still within the idle timeout");
    portal.advance(Duration::minutes(30));
    assert_eq!(portal.get("/home").status(), 303, "idle for 30 minutes");

    assert_eq!(portal.sign_in(&mut authenticator).status(), 200);
    for _ in 0..24 {
        portal.advance(Duration::minutes(29));
        assert_eq!(portal.get("/home").status(), 200);
    }
    portal.advance(Duration::minutes(29));
    assert_eq!(portal.get("/home").status(), 303, "12 hours after sign-in, however busy");
}

#[test]
fn passkeys_can_be_added_renamed_and_removed_but_not_the_last() {
    let portal = Portal::new();
    let mut first = enrolled(&portal, "person-1", "Margaret Okafor");
    let page = text(&portal.get("/passkeys"));
    assert!(!page.contains("Remove<"), "no remove button for the only passkey");
    let first_id = page.split("/passkeys/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let csrf = csrf_in(&page).unwrap();

    let refused = portal.post_form(&format!("/passkeys/{first_id}/remove"), &[("csrf", &csrf)]);
    assert_eq!(refused.status(), 409);
    assert!(text(&refused).contains("only passkey"));

    let renamed = portal.post_form(&format!("/passkeys/{first_id}/rename"), &[("csrf", &csrf), ("name", "My phone")]);
    assert_eq!(renamed.headers()["location"], "/passkeys?done=renamed");
    assert!(text(&portal.get("/passkeys")).contains("My phone"));
    let blank = portal.post_form(&format!("/passkeys/{first_id}/rename"), &[("csrf", &csrf), ("name", "  ")]);
    assert_eq!(blank.status(), 400);
    let other = portal.post_form("/passkeys/not-a-passkey/rename", &[("csrf", &csrf), ("name", "x")]);
    assert_eq!(other.status(), 404);

    let mut second = ResidentSoftPasskey::new();
    let added = portal.register(&mut second);
    assert_eq!(added.status(), 200, "{}", text(&added));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(added.body()).unwrap()["redirect"], "/passkeys");
    let removed = portal.post_form(&format!("/passkeys/{first_id}/remove"), &[("csrf", &csrf)]);
    assert_eq!(removed.headers()["location"], "/passkeys?done=removed");

    // This browser's session was made with the removed passkey, so it ended with it (issue 9,
    // finding 10). The removed passkey no longer signs in; the other one does.
    assert_eq!(portal.get("/home").headers()["location"], "/sign-in");
    assert_eq!(portal.sign_in(&mut first).status(), 400);
    assert_eq!(portal.sign_in(&mut second).status(), 200);
}

#[test]
fn one_persons_passkey_cannot_rename_or_remove_anothers() {
    let portal = Portal::new();
    enrolled(&portal, "person-1", "Margaret Okafor");
    let margaret_page = text(&portal.get("/passkeys"));
    let margaret_key = margaret_page.split("/passkeys/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let arthur = portal.other_browser(43);
    enrolled(&arthur, "person-2", "Arthur Jenkins");
    let csrf = csrf_in(&text(&arthur.get("/passkeys"))).unwrap();
    assert_eq!(arthur.post_form(&format!("/passkeys/{margaret_key}/rename"), &[("csrf", &csrf), ("name", "mine")]).status(), 404);
    assert_eq!(arthur.post_form(&format!("/passkeys/{margaret_key}/remove"), &[("csrf", &csrf)]).status(), 404);
}

/// Regression: the enrolment page said "Welcome, None" because the signed-out visit's empty
/// `name` overrode the page's own.
#[test]
fn the_create_passkey_page_welcomes_the_invited_person_by_name() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let csrf = portal.csrf_from(&format!("/invitation?code={code}"));
    assert_eq!(portal.post_form("/invitation", &[("csrf", &csrf), ("code", &code)]).status(), 303);
    let page = text(&portal.get("/passkeys/create"));
    assert!(page.contains("Welcome, Margaret Okafor"), "{page}");
    assert!(!page.contains("None"), "{page}");
}

/// Regression: the router once took the source address from `CF-Connecting-IP` or
/// `spin-client-addr` headers, which a client can send itself on Spin; now the runtime entry
/// hands it over, and a header changes nothing.
#[test]
fn a_client_sent_address_header_does_not_escape_the_attempt_limit() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let csrf = portal.csrf_from("/invitation");
    let body = serde_urlencoded::to_string([("csrf", csrf.as_str()), ("code", near_miss(&code).as_str())]).unwrap().into_bytes();
    let mut statuses = Vec::new();
    for attempt in 0..=MAX_FAILURES_PER_SOURCE {
        let spoofed = format!("198.51.100.{attempt}");
        let response = portal.send(
            http::Request::post("/invitation")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cf-connecting-ip", &spoofed)
                .header("spin-client-addr", format!("{spoofed}:4000")),
            body.clone(),
        );
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|status| **status == 400).count(), usize::try_from(MAX_FAILURES_PER_SOURCE).unwrap(), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429));
}

#[test]
fn a_person_sees_where_they_are_signed_in_and_can_sign_another_device_out() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code, &mut passkey).status(), 200);
    let tablet = portal.other_browser(61);
    assert_eq!(tablet.sign_in(&mut passkey).status(), 200);
    assert_eq!(tablet.get("/home").status(), 200);

    let page = text(&portal.get("/passkeys"));
    let main = &page[page.find("<main").unwrap()..];
    assert_eq!(main.matches("Signed in ").count(), 2, "{page}");
    assert_eq!(page.matches("This device").count(), 1);
    let other = page.split("name=\"session\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let csrf = csrf_in(&page).unwrap();
    let ended = portal.post_form("/sessions/end", &[("csrf", &csrf), ("session", &other)]);
    assert_eq!(ended.headers()["location"], "/passkeys?done=ended");
    assert_eq!(tablet.get("/home").headers()["location"], "/sign-in", "the tablet's next request is signed out");
    assert_eq!(portal.get("/home").status(), 200, "this device stays signed in");
    assert_eq!(portal.post_form("/sessions/end", &[("csrf", &csrf), ("session", &other)]).status(), 404, "already gone");

    // Someone else cannot end Margaret's sessions, even knowing the row's key.
    let arthur = portal.other_browser(62);
    let (_, code) = arthur.person_with_invitation("person-2", "Arthur Jenkins");
    assert_eq!(arthur.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let margaret_session = text(&portal.get("/passkeys")).matches("This device").count();
    assert_eq!(margaret_session, 1);
    let hashes = pollster::block_on(portal.store().sessions_for_person("person-1")).unwrap();
    let csrf = csrf_in(&text(&arthur.get("/passkeys"))).unwrap();
    assert_eq!(arthur.post_form("/sessions/end", &[("csrf", &csrf), ("session", &hashes[0].id_hash)]).status(), 404);
    assert_eq!(portal.get("/home").status(), 200);
}
