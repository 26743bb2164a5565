//! Notifications through the router: the council administrator's list of messages that could
//! not be sent (masked recipients, the reason, "Send again" that puts one back in the queue once
//! with its line in the administration log), and nobody else's way in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeMap;

use carefront_shared::db::Database;
use carefront_shared::outbox::{Channel, Notification, NotificationKind};
use carefront_shared::store::OutboxStore;
use pollster::block_on;
use support::{Portal, csrf_in, text};

/// A text message to Daniel's colleague that Notify refused, and one still waiting.
fn failed_and_waiting(portal: &Portal) {
    let now = portal.now.get();
    let store = portal.store();
    let failed = Notification::queued(
        "msg-failed".into(),
        NotificationKind::PasskeyAdded,
        Channel::Sms,
        "07700 900 123".into(),
        BTreeMap::from([("name".to_owned(), "Daniel".to_owned())]),
        now,
    )
    .to_person("person-daniel");
    block_on(store.queue_notification(&failed)).unwrap();
    block_on(store.notification_failed("msg-failed", 1, "400 ValidationError: phone_number Not a UK mobile number", now)).unwrap();
    let waiting = Notification::queued("msg-waiting".into(), NotificationKind::Invitation, Channel::Email, "ada@example.org".into(), BTreeMap::new(), now);
    block_on(store.queue_notification(&waiting)).unwrap();
}

fn status(portal: &Portal, id: &str) -> (String, i64) {
    let rows = block_on(portal.db.query("SELECT status, attempts FROM notifications WHERE id = ?1", &[id.into()])).unwrap();
    (rows[0].text(0).unwrap(), rows[0].integer(1).unwrap())
}

#[test]
fn the_council_administrator_sees_failed_messages_and_sends_one_again_once() {
    let (portal, _) = support::council_administrator(&[]);
    failed_and_waiting(&portal);
    let page = text(&portal.get("/council/notifications"));
    assert!(page.contains("Passkey added to Daniel Hughes"), "{page}");
    assert!(page.contains("Text message to ••••• •••123"), "the number is masked: {page}");
    assert!(!page.contains("07700 900 123"));
    assert!(page.contains("Not a UK mobile number"), "the reason: {page}");
    assert!(!page.contains("msg-waiting"), "a message still waiting is not a failure");

    let csrf = csrf_in(&page).unwrap();
    let sent = portal.post_form("/council/notifications/msg-failed/retry", &[("csrf", &csrf)]);
    assert_eq!(sent.headers()["location"], "/council/notifications?done=queued");
    assert_eq!(status(&portal, "msg-failed"), ("queued".to_owned(), 0), "back in the queue with its tries counted afresh");
    assert!(text(&portal.get("/council/notifications?done=queued")).contains("Every message has been sent."));
    // A second click (or a replay) finds nothing failed: no second log line.
    assert_eq!(portal.post_form("/council/notifications/msg-failed/retry", &[("csrf", &csrf)]).status(), 404);
    let log = block_on(portal.db.query("SELECT actor_id, detail FROM admin_events WHERE action = 'notification.retried'", &[])).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].text(0).unwrap(), "person-daniel");
    assert!(log[0].text(1).unwrap().contains("passkey added by text message (reference msg-failed)"), "{}", log[0].text(1).unwrap());
}

#[test]
fn caseworkers_and_everyone_else_get_page_not_found() {
    let (portal, _) = support::council_administrator(&[]);
    failed_and_waiting(&portal);
    let cath = support::council_caseworker(&portal);
    assert_eq!(cath.get("/council/notifications").status(), 404);
    let csrf = csrf_in(&text(&cath.get("/home"))).unwrap();
    assert_eq!(cath.post_form("/council/notifications/msg-failed/retry", &[("csrf", &csrf)]).status(), 404);
    assert_eq!(status(&portal, "msg-failed").0, "failed", "nothing changed");
    let stranger = portal.other_browser(77);
    assert_ne!(stranger.get("/council/notifications").status(), 200);
    // An unknown message: not found, nothing written.
    let csrf = csrf_in(&text(&portal.get("/council/notifications"))).unwrap();
    assert_eq!(portal.post_form("/council/notifications/no-such-message/retry", &[("csrf", &csrf)]).status(), 404);
}
