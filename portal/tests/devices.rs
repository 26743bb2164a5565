//! Issue 12's account notices through the router: a sign-in from a new device (opt-out; never
//! the browser the person enrolled on, nor one already known), the old address told when a new
//! one replaces it, and someone who acts for the person managing how they are contacted (with
//! each change in the person's log; anyone else is not found).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Action, Category};
use carefront_shared::db::Database as _;
use carefront_shared::domain::{Organisation, OrganisationKind};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::outbox::{Channel, Notification, NotificationKind};
use carefront_shared::preferences::CHOOSABLE;
use carefront_shared::store::{OutboxStore, PreferenceStore, Store as _};
use chrono::Duration;
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, council_caseworker, representative, statutory_grant, text};

const SETTINGS: &str = "/account/notifications";
const ANDROID_CHROME: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
const MARGARET: &str = "/people/person-1/notifications";

fn margaret() -> (Portal, ResidentSoftPasskey) {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code, &mut passkey).status(), 200);
    (portal, passkey)
}

/// Posts `fields` to `path` with a CSRF token from the page `form`.
fn post_from(browser: &Portal, form: &str, path: &str, fields: &[(&str, &str)]) -> carefront_portal::Response {
    let csrf = browser.csrf_from(form);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form(path, &all)
}

fn messages(portal: &Portal, person: &str, kind: NotificationKind) -> Vec<Notification> {
    block_on(portal.store().notifications_for_person(person, 50)).unwrap().into_iter().filter(|message| message.kind == kind).collect()
}

/// Adds `address` as the email of whoever's settings are at `base` and types back its code.
fn confirm_email(browser: &Portal, base: &str, address: &str) {
    let sent = post_from(browser, base, &format!("{base}/email"), &[("email", address)]);
    assert_eq!(sent.status(), 303, "{}", text(&sent));
    assert_eq!(sent.headers()["location"], format!("{base}/email/check"));
    let code = messages(browser, "person-1", NotificationKind::ContactCheck).into_iter().find(|message| message.recipient == address).unwrap();
    let confirmed = post_from(browser, base, &format!("{base}/email/check"), &[("code", &code.personalisation["code"])]);
    assert_eq!(confirmed.status(), 303, "{}", text(&confirmed));
}

/// Signs in with `passkey` from `browser`, which says it is `agent`; returns the response.
fn sign_in_as(browser: &Portal, passkey: &mut ResidentSoftPasskey, agent: &str) -> carefront_portal::Response {
    let (csrf, credential) = browser.sign_in_response(passkey);
    let request = http::Request::post("/sign-in/finish")
        .header("content-type", "application/json")
        .header("origin", support::ORIGIN)
        .header("x-csrf-token", csrf)
        .header("user-agent", agent);
    let response = browser.send(request, serde_json::to_vec(&credential).unwrap());
    assert_eq!(response.status(), 200, "{}", text(&response));
    response
}

fn devices(portal: &Portal) -> Vec<String> {
    let rows = block_on(portal.db.query("SELECT device_hash FROM known_devices WHERE person_id = 'person-1'", &[])).unwrap();
    rows.iter().map(|row| row.text(0).unwrap()).collect()
}

#[test]
fn a_second_device_signing_in_queues_one_notice_and_the_enrolling_or_a_known_device_none() {
    let (portal, mut passkey) = margaret();
    confirm_email(&portal, SETTINGS, "margaret@example.com");
    assert_eq!(devices(&portal).len(), 1, "the enrolling browser is recorded at enrolment");
    // The browser she enrolled on: nothing to tell.
    sign_in_as(&portal, &mut passkey, ANDROID_CHROME);
    assert!(messages(&portal, "person-1", NotificationKind::NewDeviceSignIn).is_empty());
    // Another browser: one notice, to her confirmed email, with when, what and where to look.
    let laptop = portal.other_browser(9);
    let response = sign_in_as(&laptop, &mut passkey, ANDROID_CHROME);
    let told = messages(&portal, "person-1", NotificationKind::NewDeviceSignIn);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!((told[0].channel, told[0].recipient.as_str()), (Channel::Email, "margaret@example.com"));
    assert_eq!(told[0].personalisation["device"], "Chrome on Android");
    assert!(told[0].personalisation["link"].ends_with("/passkeys") && !told[0].personalisation["when"].is_empty());
    assert!(!told[0].personalisation.values().any(|value| value.contains("Mozilla")), "the raw header is never echoed");
    // Its cookie: a __Host- cookie, Secure, HttpOnly, SameSite=Lax, Path=/, for 400 days.
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("__Host-carefront_device="));
    let cookie = cookie.expect("the device cookie is set");
    for attribute in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax", "; Max-Age=34560000"] {
        assert!(cookie.contains(attribute), "{cookie} has {attribute}");
    }
    // Only keyed hashes are stored, never the id the cookie holds.
    let id = laptop.cookies.borrow()["__Host-carefront_device"].clone();
    let stored = devices(&portal);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|hash| !hash.contains(&id)));
    // The sign-in's line in her log says so.
    let rows = block_on(portal.db.query("SELECT detail FROM audit_events WHERE action = 'session.signed_in'", &[])).unwrap();
    assert_eq!(rows.iter().filter(|row| row.text(0).unwrap().contains("on a new device (Chrome on Android)")).count(), 1);
    // The same browser again: known now, so nothing more.
    sign_in_as(&laptop, &mut passkey, ANDROID_CHROME);
    assert_eq!(messages(&portal, "person-1", NotificationKind::NewDeviceSignIn).len(), 1);
    assert_eq!(devices(&portal).len(), 2);
    // A forged cookie value is not a device id: that browser is simply new.
    let forged = portal.other_browser(10);
    forged.cookies.borrow_mut().insert("__Host-carefront_device".into(), "not-a-device-id".into());
    sign_in_as(&forged, &mut passkey, "curl/8.5");
    let told = messages(&portal, "person-1", NotificationKind::NewDeviceSignIn);
    assert_eq!(told.len(), 2);
    assert!(told.iter().any(|message| message.personalisation["device"] == "A web browser"));
}

#[test]
fn turning_new_device_notices_off_is_accepted_and_then_nothing_is_queued() {
    let (portal, mut passkey) = margaret();
    confirm_email(&portal, SETTINGS, "margaret@example.com");
    let page = text(&portal.get(SETTINGS));
    assert!(page.contains("id=\"new_device_sign_in-none\""), "it offers none: {page}");
    let mut fields: Vec<(&str, &str)> =
        CHOOSABLE.into_iter().filter(|kind| *kind != NotificationKind::NewDeviceSignIn).map(|kind| (kind.as_str(), "email")).collect();
    fields.push(("new_device_sign_in", "none"));
    let saved = post_from(&portal, SETTINGS, SETTINGS, &fields);
    assert_eq!(saved.status(), 303, "{}", text(&saved));
    assert!(block_on(portal.store().notification_choices("person-1")).unwrap()[&NotificationKind::NewDeviceSignIn].is_empty());
    sign_in_as(&portal.other_browser(9), &mut passkey, ANDROID_CHROME);
    assert!(messages(&portal, "person-1", NotificationKind::NewDeviceSignIn).is_empty());
    assert_eq!(devices(&portal).len(), 2, "the device is still recorded");
}

#[test]
fn the_sign_in_its_device_and_its_notice_stand_or_fall_together() {
    let (portal, mut passkey) = margaret();
    confirm_email(&portal, SETTINGS, "margaret@example.com");
    let count = |table: &str| block_on(portal.db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap()[0].integer(0).unwrap();
    let (sessions, signed_in) = (count("sessions"), count("audit_events WHERE action = 'session.signed_in'"));
    // The session's row cannot be written: the batch it is in fails as a whole.
    let (refuse, allow): (&[&str], &str) = match portal.db.as_ref() {
        NativeDatabase::Sqlite(_) => {
            (&["CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'refused'); END"], "DROP TRIGGER refuse_sessions")
        }
        NativeDatabase::Postgres(_) => (
            &[
                "CREATE FUNCTION refuse_sessions() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RAISE EXCEPTION ''refused''; END'",
                "CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_sessions()",
            ],
            "DROP TRIGGER refuse_sessions ON sessions",
        ),
    };
    for statement in refuse {
        block_on(portal.db.execute(statement, &[])).unwrap();
    }
    let laptop = portal.other_browser(9);
    let (csrf, credential) = laptop.sign_in_response(&mut passkey);
    let refused = laptop.post_json("/sign-in/finish", &csrf, &credential);
    assert_ne!(refused.status(), 200);
    assert_eq!((count("sessions"), count("audit_events WHERE action = 'session.signed_in'")), (sessions, signed_in), "no session, no log line");
    assert!(messages(&portal, "person-1", NotificationKind::NewDeviceSignIn).is_empty(), "no notice");
    assert_eq!(devices(&portal).len(), 1, "no device");
    // Once it can be written, the same browser signs in and is told of once.
    block_on(portal.db.execute(allow, &[])).unwrap();
    sign_in_as(&laptop, &mut passkey, ANDROID_CHROME);
    assert_eq!(messages(&portal, "person-1", NotificationKind::NewDeviceSignIn).len(), 1);
}

#[test]
fn the_old_address_is_told_when_a_new_one_replaces_it_and_not_at_the_first() {
    let (portal, _) = margaret();
    confirm_email(&portal, SETTINGS, "margaret@example.com");
    assert!(messages(&portal, "person-1", NotificationKind::ContactChanged).is_empty(), "nothing replaced");
    confirm_email(&portal, SETTINGS, "new@example.com");
    let told = messages(&portal, "person-1", NotificationKind::ContactChanged);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!((told[0].channel, told[0].recipient.as_str()), (Channel::Email, "margaret@example.com"), "to the old address");
    assert_eq!(told[0].personalisation["what"], "email address");
    assert!(told[0].personalisation["link"].ends_with(SETTINGS));
    assert!(!told[0].personalisation.values().any(|value| value.contains("new@example.com")), "the new address is not sent to the old one");
    // Confirming the same address again replaces nothing.
    confirm_email(&portal, SETTINGS, "new@example.com");
    assert_eq!(messages(&portal, "person-1", NotificationKind::ContactChanged).len(), 1);
}

fn holding(act_for: bool) -> Holding<'static> {
    Holding { categories: &[Category::CarePlan], actions: &[Action::View], act_for }
}

fn log_rows(portal: &Portal, action: &str) -> Vec<(Option<String>, Option<String>)> {
    let rows = block_on(
        portal.db.query("SELECT actor_id, acting_for FROM audit_events WHERE subject_id = 'person-1' AND action = ?1 ORDER BY at, id", &[action.into()]),
    )
    .unwrap();
    rows.iter().map(|row| (row.optional_text(0).unwrap(), row.optional_text(1).unwrap())).collect()
}

#[test]
fn someone_acting_for_the_person_reads_and_changes_how_they_are_contacted() {
    let (portal, _) = margaret();
    let sam = representative(&portal, "person-sam", "Sam Okafor", holding(true), 31);
    // The person page links to it.
    assert!(text(&sam.get("/people/person-1")).contains(&format!("href=\"{MARGARET}\"")));
    let page = text(&sam.get(MARGARET));
    assert!(page.contains("How we contact Margaret Okafor") && page.contains(&format!("action=\"{MARGARET}\"")), "{page}");
    // Choices, saved for Margaret, logged as Sam's on her behalf.
    let mut fields: Vec<(&str, &str)> = CHOOSABLE.into_iter().map(|kind| (kind.as_str(), "letter")).collect();
    fields.retain(|(kind, _)| *kind != "comment_answered");
    fields.push(("comment_answered", "none"));
    let saved = post_from(&sam, MARGARET, MARGARET, &fields);
    assert_eq!(saved.status(), 303, "{}", text(&saved));
    assert_eq!(saved.headers()["location"], format!("{MARGARET}?done=saved"));
    assert!(block_on(portal.store().notification_choices("person-1")).unwrap()[&NotificationKind::CommentAnswered].is_empty());
    assert!(block_on(portal.store().notification_choices("person-sam")).unwrap().is_empty(), "Sam's own are untouched");
    assert_eq!(log_rows(&portal, "notifications.choices_changed"), [(Some("person-sam".into()), Some("person-1".into()))]);
    // Bad input names the field and saves nothing.
    let refused = post_from(&sam, MARGARET, MARGARET, &[("comment_answered", "pigeon")]);
    assert_eq!(refused.status(), 400);
    assert!(text(&refused).contains("href=\"#comment_answered-email\""));
    // Her email: the code goes to the new address, and is confirmed for her.
    confirm_email(&sam, MARGARET, "margaret@example.com");
    let points = block_on(portal.store().contact_points("person-1")).unwrap();
    assert_eq!(points[0].verified(), Some("margaret@example.com"));
    assert_eq!(log_rows(&portal, "contact.verified"), [(Some("person-sam".into()), Some("person-1".into()))]);
    assert_eq!(log_rows(&portal, "contact.check_sent"), [(Some("person-sam".into()), Some("person-1".into()))]);
    // Replacing it tells the old address, as for her own change.
    confirm_email(&sam, MARGARET, "margaret.new@example.com");
    assert_eq!(messages(&portal, "person-1", NotificationKind::ContactChanged)[0].recipient, "margaret@example.com");
    // Changing where messages go needs a fresh passkey check, and comes back to her page.
    portal.advance(Duration::minutes(6));
    let stale = post_from(&sam, MARGARET, &format!("{MARGARET}/email"), &[("email", "x@example.com")]);
    assert_eq!(stale.status(), 403);
    assert!(text(&stale).contains(&format!("return={}", MARGARET.replace('/', "%2F"))), "{}", text(&stale));
    // Once the act-for grant is stopped: not found.
    block_on(portal.db.execute(
        "UPDATE grants SET revoked_at = ?1, version = version + 1 WHERE id = 'grant-person-sam'",
        &[carefront_shared::store::time_text(portal.now.get()).into()],
    ))
    .unwrap();
    assert_eq!(sam.get(MARGARET).status(), 404);
}

#[test]
fn anyone_without_an_act_for_power_is_not_found() {
    let (portal, _) = margaret();
    let viewer = representative(&portal, "person-viv", "Viv Family", holding(false), 32);
    let council = Organisation { id: support::COUNCIL_ORG.into(), kind: OrganisationKind::Council, name: "Northshire".into(), created_at: portal.now.get() };
    block_on(portal.store().insert_organisation(&council)).unwrap();
    let caseworker = council_caseworker(&portal);
    block_on(portal.store().insert_grant(&statutory_grant("person-1", portal.now.get()), portal.now.get(), None)).unwrap();
    let stranger = portal.other_browser(33);
    let (_, code) = stranger.person_with_invitation("person-2", "Mallory Other");
    assert_eq!(stranger.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    for (who, browser) in [("family without act-for", &viewer), ("council staff", &caseworker), ("another person", &stranger), ("Margaret herself", &portal)] {
        assert_eq!(browser.get(MARGARET).status(), 404, "{who}");
        assert_eq!(browser.get(&format!("{MARGARET}/email/check")).status(), 404, "{who}");
        let fields: Vec<(&str, &str)> = CHOOSABLE.into_iter().map(|kind| (kind.as_str(), "email")).collect();
        assert_eq!(post_from(browser, "/home", MARGARET, &fields).status(), 404, "{who}");
        assert_eq!(post_from(browser, "/home", &format!("{MARGARET}/email"), &[("email", "evil@example.com")]).status(), 404, "{who}");
        assert_eq!(post_from(browser, "/home", &format!("{MARGARET}/email/check"), &[("code", "123456")]).status(), 404, "{who}");
    }
    assert!(block_on(portal.store().notification_choices("person-1")).unwrap().is_empty());
    assert!(block_on(portal.store().contact_points("person-1")).unwrap().is_empty(), "nothing written");
    assert!(!text(&viewer.get("/people/person-1")).contains(MARGARET), "no link without the power");
}
