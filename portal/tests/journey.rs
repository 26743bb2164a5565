//! Router tests: requests straight into the portal against a real SQLite store, including full
//! passkey registration and sign-in with a software authenticator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::store::Store;
use chrono::Duration;
use support::{Portal, ResidentSoftPasskey, csrf_in, text};

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
    let audit = pollster::block_on(portal.store().audit_for_subject(&person.id, 10)).unwrap();
    let actions: Vec<&str> = audit.iter().map(|event| event.action.as_str()).collect();
    assert_eq!(actions, ["care_plan.viewed", "passkey.registered", "invitation.accepted"]);

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

#[test]
fn wrong_codes_lock_the_invitation_and_are_rate_limited_per_source() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let csrf = portal.csrf_from("/invitation");
    let wrong = format!("{}-0000-0000-0000-0000", &code[..4]);
    for _ in 0..5 {
        let response = portal.post_form("/invitation", &[("csrf", &csrf), ("code", &wrong)]);
        assert_eq!(response.status(), 400);
        assert!(text(&response).contains("not recognised"));
    }
    let locked = portal.post_form("/invitation", &[("csrf", &csrf), ("code", &code)]);
    assert_eq!(locked.status(), 429, "even the right code is refused once locked");
    assert!(text(&locked).contains("locked"));

    for _ in 0..14 {
        portal.post_form("/invitation", &[("csrf", &csrf), ("code", "AAAA-AAAA-AAAA-AAAA-AAAA")]);
    }
    let limited = portal.post_form("/invitation", &[("csrf", &csrf), ("code", "AAAA-AAAA-AAAA-AAAA-AAAA")]);
    assert_eq!(limited.status(), 429);
    assert!(text(&limited).contains("Too many attempts"));
    portal.advance(Duration::minutes(15));
    assert_eq!(portal.post_form("/invitation", &[("csrf", &csrf), ("code", "AAAA-AAAA-AAAA-AAAA-AAAA")]).status(), 400, "a new window");
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
    let csrf = portal.csrf_from("/invitation");
    let body = serde_urlencoded::to_string([("csrf", csrf.as_str()), ("code", "AAAA-AAAA-AAAA-AAAA-AAAA")]).unwrap().into_bytes();
    let mut statuses = Vec::new();
    for attempt in 0..21 {
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
    assert_eq!(statuses.iter().filter(|status| **status == 400).count(), 20);
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
    assert_eq!(page.matches("Signed in ").count(), 2, "{page}");
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
