//! Every kind of message carefront sends is one a deployment can configure: the README's
//! Notifications table says who is told and what placeholders its templates fill, the outbox's
//! table allows it, and the end-to-end harness (which configures a template for each, as a
//! deployment must) knows it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use carefront_shared::db::Database;
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::outbox::{Channel, KINDS, Notification};
use carefront_shared::store::{OutboxStore, SqlStore};

const README: &str = include_str!("../../README.md");
const HARNESS: &str = include_str!("../../e2e/harness.mjs");

#[test]
fn the_readme_documents_every_kind_with_its_placeholders() {
    let table: Vec<&str> = README.split("### Notifications").nth(1).expect("a Notifications section").lines().filter(|line| line.starts_with("| ")).collect();
    for kind in KINDS {
        let row = table.iter().find(|row| row.contains(&format!("`{}`", kind.as_str())));
        let row = row.unwrap_or_else(|| panic!("the README's Notifications table has no row for `{}`", kind.as_str()));
        assert_eq!(row.split(" | ").count(), 3, "{}: event, who is told, placeholders", kind.as_str());
    }
}

#[test]
fn the_e2e_harness_configures_a_template_for_every_kind() {
    let list = HARNESS.split("export const NOTIFICATION_KINDS = [").nth(1).and_then(|rest| rest.split("];").next()).expect("NOTIFICATION_KINDS");
    let named: Vec<&str> = list.split(',').map(|item| item.trim().trim_matches('\'')).filter(|item| !item.is_empty()).collect();
    let ours: Vec<&str> = KINDS.iter().map(|kind| kind.as_str()).collect();
    assert_eq!(named, ours);
}

#[test]
fn the_outbox_table_allows_every_kind() {
    pollster::block_on(async {
        let db = NativeDatabase::for_tests().unwrap();
        let store = SqlStore::new(&db);
        let now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for kind in KINDS {
            let message = Notification::queued(format!("n-{}", kind.as_str()), kind, Channel::Email, "someone@example.org".into(), Default::default(), now);
            store.queue_notification(&message).await.unwrap_or_else(|error| panic!("{}: {error}", kind.as_str()));
        }
        let rows = db.query("SELECT COUNT(*) FROM notifications", &[]).await.unwrap();
        assert_eq!(rows[0].integer(0).unwrap(), i64::try_from(KINDS.len()).unwrap());
    });
}
