//! The outbox in the store: a message queued in a plan is sent once, a busy service is retried
//! with backoff until the attempts run out, a refusal fails at once, a sender's lease keeps two
//! senders off one message, the end of an outage brings the waiting tries forward, and the
//! schema refuses a malformed row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::cell::RefCell;
use std::collections::BTreeMap;

use async_trait::async_trait;
use carefront_shared::db::Database;
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::outbox::{
    Channel, Courier, CourierError, MAX_ATTEMPTS, Notification, NotificationKind, NotificationStatus, Sweep, deliver_backlog, deliver_due,
};
use carefront_shared::plan::Recorder;
use carefront_shared::random::SeededRandom;
use carefront_shared::store::{OutboxStore, SqlStore, Store, time_text};
use chrono::{DateTime, Duration, Utc};

const COLUMNS: &str = "id, kind, person_id, subject_id, channel, recipient, personalisation, status, attempts, next_attempt_at, notify_id, notify_status, last_error, created_at, updated_at";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
}

fn message(id: &str, now: DateTime<Utc>) -> Notification {
    Notification::queued(
        id.into(),
        NotificationKind::PasskeyAdded,
        Channel::Email,
        "margaret@example.org".into(),
        BTreeMap::from([("name".to_owned(), "Margaret".to_owned())]),
        now,
    )
}

/// A courier that answers from a script, one answer per message, and notes what it was given.
struct Scripted {
    answers: RefCell<Vec<Result<String, CourierError>>>,
    seen: RefCell<Vec<String>>,
}

#[async_trait(?Send)]
impl Courier for Scripted {
    async fn send(&self, notification: &Notification) -> std::result::Result<String, CourierError> {
        self.seen.borrow_mut().push(notification.id.clone());
        let mut answers = self.answers.borrow_mut();
        if answers.is_empty() { Err(CourierError::Retry("no answer scripted".into())) } else { answers.remove(0) }
    }
}

fn scripted(answers: Vec<Result<String, CourierError>>) -> Scripted {
    Scripted { answers: RefCell::new(answers), seen: RefCell::new(Vec::new()) }
}

fn database() -> NativeDatabase {
    NativeDatabase::for_tests().unwrap()
}

#[test]
fn a_message_queued_in_a_plan_is_sent_once_and_its_notify_id_kept() {
    pollster::block_on(async {
        let db = database();
        let store = SqlStore::new(&db);
        let now = at("2026-11-30T10:00:00Z");
        let recorder = Recorder::new();
        recorder.store().queue_notification(&message("n-1", now)).await.unwrap();
        store.apply(&recorder.into_plan()).await.unwrap();
        let courier = scripted(vec![Ok("notify-1".into())]);
        let random = SeededRandom::new(1);
        let sweep = deliver_due(&store, &courier, now, 10, &random).await.unwrap();
        assert_eq!((sweep.sent, sweep.retrying, sweep.failed), (1, 0, 0));
        let again = deliver_due(&store, &courier, now + Duration::hours(1), 10, &random).await.unwrap();
        assert_eq!(again.sent, 0, "a sent message is not sent again");
        assert_eq!(*courier.seen.borrow(), ["n-1"]);
        let mine = store.notifications_for_person("nobody", 10).await.unwrap();
        assert!(mine.is_empty());
        assert!(store.notification_status("notify-1", NotificationStatus::Delivered, "delivered", now).await.unwrap());
        assert!(!store.notification_status("notify-other", NotificationStatus::Delivered, "delivered", now).await.unwrap());
        // A late "sending" does not undo the delivery.
        store.notification_status("notify-1", NotificationStatus::Sent, "sending", now).await.unwrap();
        let rows = db.query("SELECT status, notify_id, attempts, personalisation FROM notifications", &[]).await.unwrap();
        assert_eq!(rows[0].text(0).unwrap(), "delivered");
        assert_eq!(rows[0].text(1).unwrap(), "notify-1");
        assert_eq!(rows[0].integer(2).unwrap(), 1);
        assert_eq!(rows[0].text(3).unwrap(), "{}", "a sent message's personalisation (codes, links) is not kept");
    });
}

#[test]
fn a_busy_service_is_retried_with_backoff_until_the_attempts_run_out() {
    pollster::block_on(async {
        let db = database();
        let store = SqlStore::new(&db);
        let mut now = at("2026-11-30T10:00:00Z");
        store.queue_notification(&message("n-1", now)).await.unwrap();
        let random = SeededRandom::new(2);
        let courier = scripted(Vec::new());
        for attempt in 1..MAX_ATTEMPTS {
            let sweep = deliver_due(&store, &courier, now, 10, &random).await.unwrap();
            assert_eq!(sweep.retrying, 1, "attempt {attempt}");
            assert_eq!(deliver_due(&store, &courier, now, 10, &random).await.unwrap().retrying, 0, "not due again at once");
            now += Duration::hours(2);
        }
        let last = deliver_due(&store, &courier, now, 10, &random).await.unwrap();
        assert_eq!(last.failed, 1);
        let failed = store.failed_notifications(10).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].attempts, MAX_ATTEMPTS);
        assert_eq!(failed[0].last_error.as_deref(), Some("no answer scripted"));
    });
}

#[test]
fn a_refused_message_fails_at_once_and_others_still_go() {
    pollster::block_on(async {
        let db = database();
        let store = SqlStore::new(&db);
        let now = at("2026-11-30T10:00:00Z");
        store.queue_notification(&message("n-1", now)).await.unwrap();
        store.queue_notification(&message("n-2", now + Duration::seconds(1))).await.unwrap();
        let courier = scripted(vec![Err(CourierError::Refused("400 BadRequestError: Missing personalisation: name".into())), Ok("notify-2".into())]);
        let sweep = deliver_due(&store, &courier, now + Duration::seconds(5), 10, &SeededRandom::new(3)).await.unwrap();
        assert_eq!((sweep.sent, sweep.failed), (1, 1));
        assert_eq!(store.failed_notifications(10).await.unwrap()[0].id, "n-1");
    });
}

#[test]
fn a_taken_message_is_not_taken_again_until_its_lease_ends() {
    pollster::block_on(async {
        let db = database();
        let store = SqlStore::new(&db);
        let now = at("2026-11-30T10:00:00Z");
        store.queue_notification(&message("n-1", now)).await.unwrap();
        let lease = now + Duration::minutes(2);
        assert_eq!(store.take_due_notifications(now, lease, 10).await.unwrap().len(), 1);
        assert!(store.take_due_notifications(now + Duration::minutes(1), lease, 10).await.unwrap().is_empty(), "another sender finds nothing");
        let again = store.take_due_notifications(lease, lease + Duration::minutes(2), 10).await.unwrap();
        assert_eq!(again.len(), 1, "a sender that died leaves it due when its lease ends");
        assert_eq!(again[0].status, NotificationStatus::Sending);
    });
}

#[test]
fn the_database_refuses_a_message_that_is_not_well_formed() {
    pollster::block_on(async {
        let db = database();
        let now = time_text(at("2026-11-30T10:00:00Z"));
        let insert = format!("INSERT INTO notifications ({}) VALUES ('x', ?1, NULL, NULL, ?2, 'a', ?3, 'queued', 0, ?4, NULL, NULL, NULL, ?4, ?4)", COLUMNS);
        for (kind, channel, personalisation) in
            [("spam", "email", "{}"), ("invitation", "pigeon", "{}"), ("invitation", "email", "[1]"), ("invitation", "email", "not json")]
        {
            let refused = db.execute(&insert, &[kind.into(), channel.into(), personalisation.into(), now.as_str().into()]).await;
            assert!(refused.is_err(), "{kind} {channel} {personalisation}");
        }
    });
}

#[test]
fn when_a_message_that_had_failed_goes_through_what_waits_for_a_later_try_is_due_at_once() {
    pollster::block_on(async {
        let db = database();
        let store = SqlStore::new(&db);
        let start = at("2026-11-30T10:00:00Z");
        let random = SeededRandom::new(4);
        // Notify is down: three messages fail, one of them three times (its next try is far off).
        for id in ["n-1", "n-2", "n-3"] {
            store.queue_notification(&message(id, start)).await.unwrap();
        }
        let down = scripted(Vec::new());
        let mut now = start;
        assert_eq!(deliver_due(&store, &down, now, 10, &random).await.unwrap().retrying, 3);
        for _ in 0..2 {
            now += Duration::seconds(1);
            db.execute("UPDATE notifications SET next_attempt_at = ?1 WHERE id = 'n-3'", &[time_text(now).into()]).await.unwrap();
            assert_eq!(deliver_due(&store, &down, now, 10, &random).await.unwrap().retrying, 1);
        }
        // A new message goes through first: that alone says nothing about the others.
        store.queue_notification(&message("n-4", now)).await.unwrap();
        let up = scripted(vec![Ok("notify-4".into()), Ok("notify-1".into()), Ok("notify-2".into()), Ok("notify-3".into())]);
        assert_eq!(deliver_due(&store, &up, now, 10, &random).await.unwrap().sent, 1);
        assert_eq!(due(&db, now).await, 0, "the others still wait for their own next try");
        // The first of them comes due and goes through: Notify is back, so the other two are due
        // now, not at their own next try (n-3's is 40 seconds or more away).
        now += Duration::seconds(10);
        let sweep = deliver_due(&store, &up, now, 1, &random).await.unwrap();
        assert_eq!(sweep.sent, 1);
        assert_eq!(due(&db, now).await, 2, "brought forward");
        let rest = deliver_due(&store, &up, now, 10, &random).await.unwrap();
        assert_eq!(rest.sent, 2);
        let mut seen = up.seen.borrow().clone();
        seen[1..].sort();
        assert_eq!(seen, ["n-4", "n-1", "n-2", "n-3"]);
    });
}

/// How many messages are waiting and due at `now`.
async fn due(db: &NativeDatabase, now: DateTime<Utc>) -> usize {
    db.query("SELECT id FROM notifications WHERE status = 'queued' AND next_attempt_at <= ?1", &[time_text(now).into()]).await.unwrap().len()
}

#[test]
fn a_scheduled_send_sweeps_again_while_sweeps_come_back_full_up_to_its_most() {
    pollster::block_on(async {
        let db = database();
        let store = SqlStore::new(&db);
        let now = at("2026-11-30T10:00:00Z");
        for index in 0..23 {
            store.queue_notification(&message(&format!("n-{index:02}"), now)).await.unwrap();
        }
        let random = SeededRandom::new(5);
        let up = scripted((0..23).map(|index| Ok(format!("notify-{index}"))).collect());
        let first = deliver_backlog(&store, &up, now, 5, 12, &random).await.unwrap();
        assert_eq!(first.sent, 15, "three full sweeps of 5 reach the most of 12");
        let second = deliver_backlog(&store, &up, now, 5, 100, &random).await.unwrap();
        assert_eq!(second.sent, 8, "the rest, the last sweep not full");
        assert_eq!(deliver_backlog(&store, &up, now, 5, 100, &random).await.unwrap(), Sweep::default(), "nothing is left");
    });
}

#[test]
fn messages_are_found_by_id_in_batches_under_the_bound_parameter_limit() {
    pollster::block_on(async {
        let db = database();
        let store = SqlStore::new(&db);
        let now = at("2026-11-30T10:00:00Z");
        for index in 0..200 {
            store.queue_notification(&message(&format!("n-{index}"), now)).await.unwrap();
        }
        // 250 ids, 50 of them unknown: three statements' worth, every known one found once.
        let ids: Vec<String> = (0..250).map(|index| format!("n-{index}")).collect();
        let mut found: Vec<String> = store.notifications_by_id(&ids).await.unwrap().into_iter().map(|message| message.id).collect();
        found.sort_by_key(|id| id[2..].parse::<u32>().unwrap());
        assert_eq!(found, ids[..200]);
        assert!(store.notifications_by_id(&[]).await.unwrap().is_empty());
    });
}
