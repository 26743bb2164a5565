//! The outbox through the API: GOV.UK Notify's delivery receipts (its bearer token, the message
//! found by Notify's id, a late "sending" never undoing a delivery) and the scheduled send a
//! deployment calls with an `outbox:send` credential, which first queues the "access ending in
//! 14 days" notices, each once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::collections::BTreeMap;

use carefront_shared::config::{App, Config};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::contact::Medium;
use carefront_shared::context::RequestContext;
use carefront_shared::credential::Permission;
use carefront_shared::db::Database;
use carefront_shared::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use carefront_shared::outbox::{Channel, Notification, NotificationKind};
use carefront_shared::random::SeededRandom;
use carefront_shared::store::{OutboxStore, PreferenceStore, Store};
use chrono::Duration;
use pollster::block_on;
use support::Api;

const NOTIFY_ID: &str = "740e5834-3a29-46b4-9a6f-16142fde533a";
const TOKEN: &str = "callback-token-for-tests";

fn with_callbacks() -> Config {
    Config::from_lookup(App::Api, |name| if name == "NOTIFY_CALLBACK_TOKEN" { Some(TOKEN.into()) } else { support::setting(name) }).unwrap()
}

/// A text message Notify accepted as NOTIFY_ID.
fn sent(api: &Api) {
    let now = api.now.get();
    let text = Notification::queued("msg-1".into(), NotificationKind::PasskeyAdded, Channel::Sms, "07700 900 123".into(), BTreeMap::new(), now);
    block_on(api.store().queue_notification(&text)).unwrap();
    block_on(api.store().notification_sent("msg-1", 1, NOTIFY_ID, now)).unwrap();
}

fn callback(authorization: Option<&str>, status: &str) -> http::Request<Vec<u8>> {
    let body = serde_json::json!({
        "id": NOTIFY_ID, "reference": "msg-1", "to": "07700900123", "status": status,
        "created_at": "2026-11-21T10:00:00.000000Z", "completed_at": "2026-11-21T10:00:05.000000Z",
        "sent_at": "2026-11-21T10:00:01.000000Z", "notification_type": "sms"
    });
    let mut request = http::Request::builder().method("POST").uri("https://api.example/api/v1/notify/callbacks").header("content-type", "application/json");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    request.body(serde_json::to_vec(&body).unwrap()).unwrap()
}

fn status(api: &Api) -> (String, Option<String>) {
    let rows = block_on(api.db.query("SELECT status, notify_status FROM notifications WHERE id = 'msg-1'", &[])).unwrap();
    (rows[0].text(0).unwrap(), rows[0].optional_text(1).unwrap())
}

#[test]
fn notifys_delivery_receipt_is_kept_and_a_late_sending_does_not_undo_it() {
    let api = Api::new();
    sent(&api);
    let config = with_callbacks();
    let delivered = api.call_with(&config, callback(Some(&format!("Bearer {TOKEN}")), "delivered"));
    assert_eq!(delivered.status, 204, "{:?}", delivered.body);
    assert_eq!(status(&api), ("delivered".to_owned(), Some("delivered".to_owned())));
    assert_eq!(api.call_with(&config, callback(Some(&format!("Bearer {TOKEN}")), "sending")).status, 204);
    assert_eq!(status(&api).0, "delivered");
}

#[test]
fn a_permanent_failure_shows_as_failed_for_the_council() {
    let api = Api::new();
    sent(&api);
    assert_eq!(api.call_with(&with_callbacks(), callback(Some(&format!("Bearer {TOKEN}")), "permanent-failure")).status, 204);
    let failed = block_on(api.store().failed_notifications(10)).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("Notify: permanent-failure"));
}

#[test]
fn a_callback_without_the_token_or_for_no_message_changes_nothing() {
    let api = Api::new();
    sent(&api);
    let config = with_callbacks();
    assert_eq!(api.call_with(&config, callback(None, "delivered")).status, 401);
    assert_eq!(api.call_with(&config, callback(Some("Bearer wrong-token-entirely"), "delivered")).status, 401);
    assert_eq!(api.call(callback(Some(&format!("Bearer {TOKEN}")), "delivered")).status, 404, "a deployment without a token takes no callbacks");
    assert_eq!(status(&api), ("sent".to_owned(), None));
    let mut malformed = callback(Some(&format!("Bearer {TOKEN}")), "delivered");
    *malformed.body_mut() = b"{\"id\": 7}".to_vec();
    assert_eq!(api.call_with(&config, malformed).status, 400);
    block_on(api.db.execute("UPDATE notifications SET notify_id = 'someone-else' WHERE id = 'msg-1'", &[])).unwrap();
    assert_eq!(api.call_with(&config, callback(Some(&format!("Bearer {TOKEN}")), "delivered")).status, 404);
}

#[test]
fn the_scheduled_send_needs_outbox_send_and_says_when_notify_is_not_configured() {
    let api = Api::new();
    let sweeper = api.credential("org-council", &[Permission::OutboxSend]);
    let reader = api.credential("org-council", &[Permission::PeopleRead]);
    let refused = api.call(api.signed_send(&reader, "POST", "/api/v1/outbox/send", None, "", Vec::new()));
    assert_eq!(refused.status, 403);
    let unconfigured = api.call(api.signed_send(&sweeper, "POST", "/api/v1/outbox/send", None, "", Vec::new()));
    assert_eq!(unconfigured.status, 503);
    assert_eq!(unconfigured.body["type"], "https://carefront.example/problems/notify-not-configured");
}

/// Accepts every message, as Notify does, and counts them.
struct Accepting(std::cell::Cell<usize>);

#[async_trait::async_trait(?Send)]
impl Outbound for Accepting {
    async fn send(&self, _request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        self.0.set(self.0.get() + 1);
        let id = format!("740e5834-3a29-46b4-9a6f-{:012}", self.0.get());
        let body = format!(r#"{{"id":"{id}","reference":"r","content":{{"body":"b"}},"uri":"u","template":{{"id":"{NOTIFY_ID}","version":1,"uri":"x"}}}}"#);
        Ok(OutboundResponse { status: 201, body: body.into_bytes() })
    }
}

fn sending() -> Config {
    let templates = r#"{"access_ending.sms": "f33517ff-2a88-4f6e-b855-c550268ce08a", "access_ending.email": "f33517ff-2a88-4f6e-b855-c550268ce08b"}"#;
    Config::from_lookup(App::Api, |name| match name {
        "NOTIFY_API_KEY" => Some("carefront_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0".into()),
        "NOTIFY_TEMPLATES" => Some(templates.into()),
        _ => support::setting(name),
    })
    .unwrap()
}

/// Answers `request` with Notify configured and reached through `outbound`.
fn call_sending(api: &Api, request: carefront_api::Request, outbound: &Accepting) -> (u16, serde_json::Value) {
    let store = api.store();
    let random = SeededRandom::new(11);
    let config = sending();
    let context = RequestContext { store: &store, config: &config, now: api.now.get(), random: &random, client: None, outbound: Some(outbound) };
    let response = block_on(carefront_api::handle(&context, request));
    (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap_or_default())
}

#[test]
fn the_scheduled_send_queues_access_ending_notices_once_and_sends_them() {
    let api = Api::new();
    api.person("person-sam", "Sam Okafor");
    let now = api.now.get();
    let grant = Grant {
        id: "grant-sam".into(),
        version: 1,
        subject_id: "person-margaret".into(),
        grantee: Grantee::Person("person-sam".into()),
        categories: [Category::Medication].into_iter().collect(),
        actions: [Action::View].into_iter().collect(),
        act_for: false,
        purpose: "to help with tablets".into(),
        starts_at: now - Duration::days(30),
        ends_at: Some(now + Duration::days(10)),
        basis: Basis::Consent,
        evidence: None,
        recorded_by: "person-margaret".into(),
        revoked_at: None,
    };
    block_on(api.store().insert_grant(&grant, now, None)).unwrap();
    for (person, medium, address) in [("person-margaret", Medium::Phone, "07700 900 001"), ("person-sam", Medium::Email, "sam@example.org")] {
        block_on(api.store().start_contact_check(person, medium, address, "hash", now + Duration::minutes(30), now)).unwrap();
        block_on(api.store().confirm_contact(person, medium, "hash", now)).unwrap();
    }
    let sweeper = api.credential("org-council", &[Permission::OutboxSend]);
    let outbound = Accepting(std::cell::Cell::new(0));
    let (status, body) = call_sending(&api, api.signed_send(&sweeper, "POST", "/api/v1/outbox/send", None, "", Vec::new()), &outbound);
    assert_eq!(status, 200, "{body:#}");
    // Both providers' monitoring figures had never been counted: counted and kept, as the
    // Workers' cron does, so the council's next look reads them.
    assert_eq!(body, serde_json::json!({ "queued": 2, "counted": 2, "sent": 2, "retrying": 0, "failed": 0 }));
    assert_eq!(outbound.0.get(), 2);
    assert_eq!(api.rows("SELECT organisation_id FROM monitoring_figures"), 2);
    let rows = block_on(api.db.query("SELECT id, status FROM notifications WHERE kind = 'access_ending' ORDER BY id", &[])).unwrap();
    let rows: Vec<(String, String)> = rows.iter().map(|row| (row.text(0).unwrap(), row.text(1).unwrap())).collect();
    assert_eq!(
        rows,
        [("ending-grant-sam-1-person-margaret-sms".to_owned(), "sent".to_owned()), ("ending-grant-sam-1-person-sam-email".to_owned(), "sent".to_owned())]
    );
    // The next minute's call finds both already told: nothing queued, nothing sent twice.
    api.advance(Duration::minutes(1));
    let (status, body) = call_sending(&api, api.signed_send(&sweeper, "POST", "/api/v1/outbox/send", None, "", Vec::new()), &outbound);
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body, serde_json::json!({ "queued": 0, "counted": 0, "sent": 0, "retrying": 0, "failed": 0 }));
    assert_eq!(outbound.0.get(), 2);
    // Without Notify nothing is queued at all (it would only go stale).
    api.advance(Duration::days(1));
    block_on(api.store().update_grant(&Grant { ends_at: Some(now + Duration::days(12)), ..grant }, api.now.get(), None)).unwrap();
    assert_eq!(api.call(api.signed_send(&sweeper, "POST", "/api/v1/outbox/send", None, "", Vec::new())).status, 503);
    assert_eq!(api.rows("SELECT id FROM notifications WHERE kind = 'access_ending'"), 2);
}
