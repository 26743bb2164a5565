//! Account safety (issue 9, findings 1 and 10): adding, renaming or removing a passkey and
//! ending sessions need a passkey check within the last 5 minutes; re-authentication rotates the
//! session; removing a passkey ends the sessions it made; "sign out everywhere"; the home page
//! tells the person when a passkey was added.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::contact::Medium;
use carefront_shared::db::Database;
use carefront_shared::store::{PreferenceStore, Store};
use chrono::Duration;
use support::{Portal, ResidentSoftPasskey, csrf_in, text};

const SESSION: &str = "__Host-carefront_session";

/// The page's text with minijinja's escaped slashes (`&#x2f;`) read back as `/`.
fn page(response: &carefront_portal::Response) -> String {
    text(response).replace("&#x2f;", "/")
}

/// Margaret, enrolled and signed in in `portal`'s browser, with the passkey she enrolled.
fn margaret(portal: &Portal) -> ResidentSoftPasskey {
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut passkey = ResidentSoftPasskey::new();
    let enrolled = portal.enrol(&code, &mut passkey);
    assert_eq!(enrolled.status(), 200, "{}", text(&enrolled));
    passkey
}

fn passkey_ids(portal: &Portal) -> Vec<(String, String)> {
    pollster::block_on(portal.store().passkeys("person-1")).unwrap().into_iter().map(|record| (record.id, record.name)).collect()
}

fn session_count(portal: &Portal) -> usize {
    pollster::block_on(portal.store().sessions_for_person("person-1")).unwrap().len()
}

fn actions(portal: &Portal) -> Vec<String> {
    pollster::block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 100))
        .unwrap()
        .into_iter()
        .map(|event| event.action.as_str().into_owned())
        .collect()
}

/// The re-authentication a refused page offers: the one flow, coming back to `return_path`.
fn offers_reauthentication(html: &str, return_path: &str) {
    let finish = format!("data-finish-url=\"/reauthenticate/finish?return={}\"", serde_urlencoded::to_string([("", return_path)]).unwrap()[1..].to_owned());
    assert!(html.contains("Confirm it is you") && html.contains("data-options-url=\"/reauthenticate/options\""), "{html}");
    assert!(html.contains(&finish), "{finish} in {html}");
}

#[test]
fn finding_1_a_borrowed_session_cannot_add_a_passkey() {
    let portal = Portal::new();
    let mut owner = margaret(&portal);
    // Someone picks up her unlocked phone later: the session is live, the passkey check is not.
    portal.advance(Duration::minutes(6));
    let create = page(&portal.get("/passkeys/create"));
    offers_reauthentication(&create, "/passkeys/create");
    assert!(!create.contains("data-webauthn=\"register\""), "no way to create a passkey before the check: {create}");
    let csrf = csrf_in(&create).unwrap();
    let options = portal.post_json("/passkeys/create/options", &csrf, &serde_json::json!({}));
    assert_eq!(options.status(), 403, "{}", text(&options));
    assert_eq!(options.headers()["content-type"], "application/problem+json");
    assert!(text(&options).contains("Confirm it is you"), "{}", text(&options));
    assert_eq!(passkey_ids(&portal).len(), 1, "no passkey added");

    // The owner confirms with her passkey and comes back to the page she was on.
    assert_eq!(portal.reauthenticate(&mut owner, "/passkeys/create"), "/passkeys/create");
    assert!(page(&portal.get("/passkeys/create")).contains("data-webauthn=\"register\""));
    let added = portal.register(&mut ResidentSoftPasskey::new());
    assert_eq!(added.status(), 200, "{}", text(&added));
    assert_eq!(passkey_ids(&portal).len(), 2);
    assert!(actions(&portal).contains(&"passkey.added".to_owned()));

    // A registration started while the check was fresh cannot be finished after it went stale.
    portal.advance(Duration::minutes(4));
    let csrf = portal.csrf_from("/passkeys/create");
    let options = portal.post_json("/passkeys/create/options", &csrf, &serde_json::json!({}));
    assert_eq!(options.status(), 200);
    let options: carefront_shared::webauthn_rs::prelude::CreationChallengeResponse = serde_json::from_slice(options.body()).unwrap();
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let credential = ResidentSoftPasskey::new().do_registration(url::Url::parse(support::ORIGIN).unwrap(), options).unwrap();
    portal.advance(Duration::minutes(1));
    assert_eq!(portal.post_json("/passkeys/create/finish", &csrf, &credential).status(), 403);
    assert_eq!(passkey_ids(&portal).len(), 2);
}

#[test]
fn finding_1_a_borrowed_session_cannot_rename_or_remove_a_passkey() {
    let portal = Portal::new();
    let mut owner = margaret(&portal);
    assert_eq!(portal.register(&mut ResidentSoftPasskey::new()).status(), 200);
    let keys = passkey_ids(&portal);
    portal.advance(Duration::minutes(6));
    let listed = page(&portal.get("/passkeys"));
    offers_reauthentication(&listed, "/passkeys");
    let csrf = csrf_in(&listed).unwrap();

    let renamed = portal.post_form(&format!("/passkeys/{}/rename", keys[0].0), &[("csrf", &csrf), ("name", "Thief's phone")]);
    assert_eq!(renamed.status(), 403);
    offers_reauthentication(&page(&renamed), "/passkeys");
    let removed = portal.post_form(&format!("/passkeys/{}/remove", keys[0].0), &[("csrf", &csrf)]);
    assert_eq!(removed.status(), 403);
    offers_reauthentication(&page(&removed), "/passkeys");
    assert_eq!(passkey_ids(&portal), keys, "nothing renamed or removed");

    assert_eq!(portal.reauthenticate(&mut owner, "/passkeys"), "/passkeys");
    let csrf = portal.csrf_from("/passkeys");
    let renamed = portal.post_form(&format!("/passkeys/{}/rename", keys[1].0), &[("csrf", &csrf), ("name", "My tablet")]);
    assert_eq!(renamed.headers()["location"], "/passkeys?done=renamed");
    let removed = portal.post_form(&format!("/passkeys/{}/remove", keys[1].0), &[("csrf", &csrf)]);
    assert_eq!(removed.headers()["location"], "/passkeys?done=removed");
    assert_eq!(passkey_ids(&portal).len(), 1);
    let logged = actions(&portal);
    assert!(logged.contains(&"passkey.renamed".to_owned()) && logged.contains(&"passkey.removed".to_owned()), "{logged:?}");
}

#[test]
fn finding_1_a_borrowed_session_cannot_sign_out_other_devices() {
    let portal = Portal::new();
    let mut owner = margaret(&portal);
    let tablet = portal.other_browser(61);
    assert_eq!(tablet.sign_in(&mut owner).status(), 200);
    portal.advance(Duration::minutes(6));
    let listed = page(&portal.get("/passkeys"));
    let other = listed.split("name=\"session\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let csrf = csrf_in(&listed).unwrap();

    let ended = portal.post_form("/sessions/end", &[("csrf", &csrf), ("session", &other)]);
    assert_eq!(ended.status(), 403);
    offers_reauthentication(&page(&ended), "/passkeys");
    for scope in ["others", "all"] {
        let everywhere = portal.post_form("/sessions/end-all", &[("csrf", &csrf), ("scope", scope)]);
        assert_eq!(everywhere.status(), 403, "{scope}");
    }
    assert_eq!(tablet.get("/home").status(), 200, "the tablet is still signed in");
    assert_eq!(portal.get("/home").status(), 200);
    assert_eq!(session_count(&portal), 2);

    portal.reauthenticate(&mut owner, "/passkeys");
    let csrf = portal.csrf_from("/passkeys");
    assert_eq!(portal.post_form("/sessions/end", &[("csrf", &csrf), ("session", &other)]).headers()["location"], "/passkeys?done=ended");
    assert_eq!(tablet.get("/home").headers()["location"], "/sign-in");
    assert!(actions(&portal).contains(&"session.ended".to_owned()));
}

#[test]
fn a_passkey_check_older_than_five_minutes_is_refused_and_a_fresh_one_is_accepted() {
    let portal = Portal::new();
    let mut owner = margaret(&portal);
    let key = passkey_ids(&portal)[0].0.clone();
    let rename = |name: &str| {
        let csrf = portal.csrf_from("/passkeys");
        portal.post_form(&format!("/passkeys/{key}/rename"), &[("csrf", &csrf), ("name", name)]).status().as_u16()
    };
    portal.advance(Duration::minutes(5) - Duration::seconds(1));
    assert_eq!(rename("Phone"), 303, "enrolment was a passkey check 4:59 ago");
    portal.advance(Duration::seconds(1));
    assert_eq!(rename("Stolen"), 403, "5 minutes after the check");
    portal.reauthenticate(&mut owner, "/passkeys");
    assert_eq!(rename("My phone"), 303, "a fresh check");
    portal.advance(Duration::minutes(5));
    assert_eq!(rename("Stolen"), 403);
    assert_eq!(passkey_ids(&portal)[0].1, "My phone");
}

#[test]
fn finding_10_reauthentication_rotates_the_session() {
    let portal = Portal::new();
    let mut owner = margaret(&portal);
    portal.advance(Duration::minutes(6));
    let before = portal.cookies.borrow()[SESSION].clone();
    let rows_before = pollster::block_on(portal.store().sessions_for_person("person-1")).unwrap();

    assert_eq!(portal.reauthenticate(&mut owner, "/passkeys"), "/passkeys");
    let after = portal.cookies.borrow()[SESSION].clone();
    assert_ne!(before, after, "a new session id and cookie");
    let rows_after = pollster::block_on(portal.store().sessions_for_person("person-1")).unwrap();
    assert_eq!(rows_after.len(), 1, "the old row is gone");
    assert_ne!(rows_after[0].id_hash, rows_before[0].id_hash);
    assert_eq!(rows_after[0].created_at, rows_before[0].created_at, "the absolute timeout still counts from sign-in");
    assert_eq!(portal.get("/passkeys").status(), 200);

    // A copy of the cookie taken before is dead.
    let copy = portal.other_browser(77);
    copy.cookies.borrow_mut().insert(SESSION.into(), before);
    assert_eq!(copy.get("/home").headers()["location"], "/sign-in");
}

#[test]
fn finding_10_removing_a_passkey_ends_its_sessions() {
    let portal = Portal::new();
    let mut phone = margaret(&portal);
    // A second later, so the passkeys are listed in the order they were made.
    portal.advance(chrono::Duration::seconds(1));
    let mut tablet_key = ResidentSoftPasskey::new();
    assert_eq!(portal.register(&mut tablet_key).status(), 200);
    let tablet = portal.other_browser(61);
    assert_eq!(tablet.sign_in(&mut tablet_key).status(), 200);
    let laptop = portal.other_browser(62);
    assert_eq!(laptop.sign_in(&mut phone).status(), 200);
    let keys = passkey_ids(&portal);
    let made_by: Vec<Option<String>> =
        pollster::block_on(portal.store().sessions_for_person("person-1")).unwrap().into_iter().map(|session| session.passkey_id).collect();
    assert_eq!(made_by.iter().filter(|id| id.as_deref() == Some(keys[0].0.as_str())).count(), 2, "the phone passkey made two sessions: {made_by:?} {keys:?}");
    assert_eq!(made_by.iter().filter(|id| id.as_deref() == Some(keys[1].0.as_str())).count(), 1, "the tablet's passkey made one");

    let csrf = portal.csrf_from("/passkeys");
    let removed = portal.post_form(&format!("/passkeys/{}/remove", keys[1].0), &[("csrf", &csrf)]);
    assert_eq!(removed.headers()["location"], "/passkeys?done=removed");
    assert_eq!(tablet.get("/home").headers()["location"], "/sign-in", "the session the removed passkey made is over");
    assert_eq!(laptop.get("/home").status(), 200, "sessions made by another passkey stay");
    assert_eq!(portal.get("/home").status(), 200);
    assert_eq!(session_count(&portal), 2);
    let rows = pollster::block_on(portal.db.query("SELECT detail FROM audit_events WHERE action = 'passkey.removed'", &[])).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].text(0).unwrap().contains("signed out the devices it signed in"), "{}", rows[0].text(0).unwrap());
}

#[test]
fn finding_10_sign_out_everywhere() {
    let portal = Portal::new();
    let mut owner = margaret(&portal);
    let tablet = portal.other_browser(61);
    let laptop = portal.other_browser(62);
    assert_eq!(tablet.sign_in(&mut owner).status(), 200);
    assert_eq!(laptop.sign_in(&mut owner).status(), 200);
    let listed = page(&portal.get("/passkeys"));
    assert!(listed.contains("Sign out all other devices") && listed.contains("Sign out everywhere"), "{listed}");

    let csrf = csrf_in(&listed).unwrap();
    let others = portal.post_form("/sessions/end-all", &[("csrf", &csrf), ("scope", "others")]);
    assert_eq!(others.headers()["location"], "/passkeys?done=ended-others");
    assert_eq!(tablet.get("/home").headers()["location"], "/sign-in");
    assert_eq!(laptop.get("/home").headers()["location"], "/sign-in");
    assert!(page(&portal.get("/passkeys?done=ended-others")).contains("Every other device has been signed out."));
    assert_eq!(session_count(&portal), 1);

    assert_eq!(tablet.sign_in(&mut owner).status(), 200);
    let csrf = portal.csrf_from("/passkeys");
    let everywhere = portal.post_form("/sessions/end-all", &[("csrf", &csrf), ("scope", "all")]);
    assert_eq!(everywhere.headers()["location"], "/signed-out");
    assert_eq!(portal.get("/home").headers()["location"], "/sign-in", "this device too");
    assert_eq!(tablet.get("/home").headers()["location"], "/sign-in");
    assert_eq!(session_count(&portal), 0);
    assert_eq!(actions(&portal).iter().filter(|action| *action == "session.ended").count(), 2);
    let bad = portal.other_browser(63);
    assert_eq!(bad.sign_in(&mut owner).status(), 200);
    let csrf = bad.csrf_from("/passkeys");
    assert_eq!(bad.post_form("/sessions/end-all", &[("csrf", &csrf), ("scope", "nobody")]).status(), 400);
}

#[test]
fn reauthentication_returns_only_to_a_path_on_this_site() {
    let portal = Portal::new();
    let mut owner = margaret(&portal);
    assert_eq!(portal.reauthenticate(&mut owner, "/people/person-1/access/add?draft=a%3Db"), "/people/person-1/access/add?draft=a%3Db");
    for forged in ["https://evil.example/home", "//evil.example/home", "/\\evil.example", "javascript:alert(1)", "home", "/access x"] {
        assert_eq!(portal.reauthenticate(&mut owner, forged), "/home", "{forged}");
    }
    // Without a return path, home.
    let csrf = portal.csrf_from("/home");
    let options = portal.post_json("/reauthenticate/options", &csrf, &serde_json::json!({}));
    let options: carefront_shared::webauthn_rs::prelude::RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let assertion = owner.do_authentication(url::Url::parse(support::ORIGIN).unwrap(), options).unwrap();
    let finished = portal.post_json("/reauthenticate/finish", &csrf, &assertion);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(finished.body()).unwrap()["redirect"], "/home");
    // The old per-page flows are gone.
    let csrf = portal.csrf_from("/home");
    for old in ["/emergency-code/reauthenticate/options", "/people/person-1/emergency-code/reauthenticate/finish", "/council/credentials/reauthenticate/finish"]
    {
        assert_eq!(portal.post_json(old, &csrf, &serde_json::json!({})).status(), 404, "{old}");
    }
}

#[test]
fn the_home_page_tells_the_person_when_a_passkey_was_added() {
    let portal = Portal::new();
    let mut owner = margaret(&portal);
    let home = page(&portal.get("/home"));
    assert!(!home.contains("A passkey was added"), "the first passkey, at enrolment, is no news: {home}");

    portal.advance(Duration::minutes(2));
    assert_eq!(portal.register(&mut ResidentSoftPasskey::new()).status(), 200);
    let home = page(&portal.get("/home"));
    assert!(home.contains("A passkey was added to your account"), "{home}");
    assert!(home.contains("Passkey added 21 November 2026") && home.contains("21 November 2026 at 9:02am"), "names the passkey and when: {home}");
    assert!(home.contains("If this was not you,") && home.contains("href=\"/passkeys\""), "{home}");

    // Two weeks on, the news is old.
    portal.advance(Duration::days(15));
    assert_eq!(portal.sign_in(&mut owner).status(), 200);
    assert!(!page(&portal.get("/home")).contains("A passkey was added"));
}

/// The messages queued for `person_id`: (kind, channel, recipient).
fn told(portal: &Portal, person_id: &str) -> Vec<(String, String, String)> {
    let rows = pollster::block_on(
        portal.db.query("SELECT kind, channel, recipient FROM notifications WHERE person_id = ?1 ORDER BY created_at, kind", &[person_id.into()]),
    )
    .unwrap();
    rows.iter().map(|row| (row.text(0).unwrap(), row.text(1).unwrap(), row.text(2).unwrap())).collect()
}

#[test]
fn a_passkey_added_or_removed_is_a_security_notice_sent_to_her_confirmed_email() {
    let portal = Portal::new();
    let _owner = margaret(&portal);
    let now = portal.now.get();
    let store = portal.store();
    pollster::block_on(store.start_contact_check("person-1", Medium::Email, "margaret@example.org", "hash", now + Duration::minutes(30), now)).unwrap();
    pollster::block_on(store.confirm_contact("person-1", Medium::Email, "hash", now)).unwrap();
    // She chose no security notices at all: not allowed, so the default still tells her.
    assert_eq!(portal.register(&mut ResidentSoftPasskey::new()).status(), 200);
    let email = |kind: &str| (kind.to_owned(), "email".to_owned(), "margaret@example.org".to_owned());
    assert_eq!(told(&portal, "person-1"), [email("passkey_added")]);
    let keys = passkey_ids(&portal);
    let csrf = portal.csrf_from("/passkeys");
    let removed = portal.post_form(&format!("/passkeys/{}/remove", keys[1].0), &[("csrf", &csrf)]);
    assert_eq!(removed.headers()["location"], "/passkeys?done=removed");
    assert_eq!(told(&portal, "person-1"), [email("passkey_added"), email("passkey_removed")]);
}
