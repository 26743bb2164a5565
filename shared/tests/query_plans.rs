//! No full scan on the request path: every query the organisation lists (people, comments,
//! needs changes, monitoring), the `/access` page and the access log send is captured from the
//! store itself (a recording database under the real `SqlStore`), then `EXPLAIN QUERY PLAN`
//! runs on it, with its own parameters, against the migrated schema. A `SCAN` of a table that
//! grows with the county (people, grants, audit events, comments, medication administrations,
//! needs and their feed, emergency accesses) fails the test: each must be a `SEARCH … USING
//! INDEX` (migration 26 adds the indexes the lists need).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

#[path = "support/permit.rs"]
mod permit;

use carefront_shared::store::prelude::*;
use std::cell::RefCell;

use async_trait::async_trait;
use carefront_shared::comments::CommentStatus;
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::discussion::Status;
use carefront_shared::domain::OrganisationKind;
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::support::{CommentAfter, CommentOrder, DiscussionAfter, VisitedAfter};
use carefront_shared::store::{AuditFilter, SqlStore, Store};
use chrono::{DateTime, Duration, Utc};

/// Tables that grow with the number of people: never read whole on a request.
const LARGE: &[&str] = &[
    "people",
    "grants",
    "audit_events",
    "comments",
    "comment_answers",
    "administrations",
    "care_visits",
    "format_needs",
    "format_need_changes",
    "emergency_accesses",
    "consent_discussions",
    "monitoring_changes",
];

/// Passes every call to SQLite and keeps the queries it was asked.
struct Recording<'a> {
    inner: &'a SqliteDatabase,
    queries: RefCell<Vec<(String, Vec<Value>)>>,
}

#[async_trait(?Send)]
impl Database for Recording<'_> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.queries.borrow_mut().push((sql.to_owned(), params.to_vec()));
        self.inner.query(sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.inner.execute(sql, params).await
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.inner.batch(statements).await
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z").unwrap().with_timezone(&Utc)
}

/// Runs every request-path read of the lists, the `/access` page and the access log once.
async fn request_path_reads(store: &SqlStore<'_>) {
    let (organisation, person) = ("org-provider", "person-1");
    let permit = permit::own_record(person, now());
    let after = CommentAfter { created_at: "2026-11-20T09:00:00.000Z", id: "comment-9" };
    // GET /api/v1/people and /api/v1/people/{id}
    store.supported_people_page(organisation, now(), None, 21).await.unwrap();
    store.supported_people_page(organisation, now(), Some("person-0"), 21).await.unwrap();
    store.person(person).await.unwrap();
    store.grants_for_subject(person).await.unwrap();
    // GET /api/v1/comments (any status, one status, a later page)
    for order in [CommentOrder::NewestFirst, CommentOrder::OldestFirst] {
        store.supported_comments_page(organisation, now(), None, order, None, 21).await.unwrap();
        store.supported_comments_page(organisation, now(), Some(CommentStatus::Open), order, None, 21).await.unwrap();
        store.supported_comments_page(organisation, now(), None, order, Some(after), 21).await.unwrap();
        store.supported_comments_page(organisation, now(), Some(CommentStatus::Open), order, Some(after), 21).await.unwrap();
    }
    store.comment_answers(person).await.unwrap();
    // GET /api/v1/consent-discussions (any status, one status, a later page)
    let since = now().date_naive() - Duration::days(3660);
    let discussion_after = DiscussionAfter { held_on: "2026-11-20", recorded_at: "2026-11-20T09:00:00.000Z", id: "discussion-9" };
    store.supported_discussions_page(organisation, now(), None, since, None, 21).await.unwrap();
    store.supported_discussions_page(organisation, now(), Some(Status::Confirmed), since, Some(discussion_after), 21).await.unwrap();
    // GET /provider: today's visits, a later page; everyone else by name, a later page
    let day = (now() - Duration::hours(9), now() + Duration::hours(15));
    let visited_after = VisitedAfter { first_visit: "2026-11-20T09:00:00.000Z", id: person };
    store.visited_people_page(organisation, now(), day, None, 26).await.unwrap();
    store.visited_people_page(organisation, now(), day, Some(visited_after), 26).await.unwrap();
    store.unvisited_people_page(organisation, now(), day, None, 26).await.unwrap();
    store.unvisited_people_page(organisation, now(), day, Some(person), 26).await.unwrap();
    // GET /api/v1/needs/changes
    store.supported_need_changes(organisation, now(), 0, 21).await.unwrap();
    // The monitoring report (API and the council's page)
    store.organisations(OrganisationKind::Provider).await.unwrap();
    store.organisation(organisation).await.unwrap();
    store.kept_figures(organisation).await.unwrap();
    store.figures_change_mark().await.unwrap();
    store.support_figures(organisation, now(), now() - Duration::days(365)).await.unwrap();
    store.supported_ids(organisation, now()).await.unwrap();
    store.organisation_discussions(organisation, now().date_naive() - Duration::days(365)).await.unwrap();
    store.emergency_accesses_for_person(person, now() - Duration::days(365)).await.unwrap();
    // The /access page: the person's grants, the people and organisations they name, the
    // grants the reader holds, invitations waiting.
    store.grants_held_by(person, None).await.unwrap();
    store.grants_held_by("staff-1", Some(organisation)).await.unwrap();
    store.invitations_for_person(person).await.unwrap();
    store.receipts_for_subject(person).await.unwrap();
    // The access log, with each filter and a later page.
    store.audit_actors(&permit).await.unwrap();
    store.audit_for_subject(&permit, 50).await.unwrap();
    let filters = [
        AuditFilter::default(),
        AuditFilter { actor_id: Some("org-provider".into()), ..AuditFilter::default() },
        AuditFilter { from: Some(now() - Duration::days(30)), before: Some(now()), ..AuditFilter::default() },
        AuditFilter { except_actor: Some(person.into()), ..AuditFilter::default() },
    ];
    for filter in &filters {
        store.audit_page(&permit, filter, None, 50).await.unwrap();
    }
    // Two years of medication rounds: a day's and a month's administrations.
    store.administrations(&permit, now() - Duration::days(1), now()).await.unwrap();
    store.administrations(&permit, now() - Duration::days(30), now()).await.unwrap();
    store.medicines(&permit).await.unwrap();
}

/// Every plan line that reads a large table whole.
fn full_scans(db: &SqliteDatabase, sql: &str, params: &[Value]) -> Vec<String> {
    let plan = pollster::block_on(db.query(&format!("EXPLAIN QUERY PLAN {sql}"), params)).unwrap();
    let details: Vec<String> = plan.iter().filter_map(|row| row.text(3).ok()).collect();
    if std::env::var_os("SHOW_QUERY_PLANS").is_some() {
        eprintln!("{}\n  -> {}\n", sql.split_whitespace().collect::<Vec<_>>().join(" "), details.join("\n  -> "));
    }
    // A subquery's own rows ("CO-ROUTINE page", "MATERIALIZE s") are one page, not a table.
    let subqueries: Vec<&str> =
        details.iter().filter_map(|detail| detail.strip_prefix("CO-ROUTINE ").or_else(|| detail.strip_prefix("MATERIALIZE "))).collect();
    details
        .iter()
        .filter(|detail| !detail.strip_prefix("SCAN ").is_some_and(|rest| subqueries.iter().any(|name| rest == *name || rest.starts_with(&format!("{name} ")))))
        .filter(|detail| {
            // An automatic index is built from a whole table, on every request.
            if detail.contains("AUTOMATIC") {
                return true;
            }
            let mut words = detail.split_whitespace();
            // "SCAN people", "SCAN grants AS g", "SCAN g USING INDEX …" (an alias is checked
            // against the query's own "<table> <alias>" text).
            words.next() == Some("SCAN")
                && words.next().is_some_and(|name| LARGE.contains(&name) || LARGE.iter().any(|table| aliases(sql, table).iter().any(|alias| alias == name)))
        })
        .cloned()
        .collect()
}

/// The aliases `table` has in `sql` ("grants g", "comments c").
fn aliases(sql: &str, table: &str) -> Vec<String> {
    let words: Vec<&str> = sql.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',').filter(|word| !word.is_empty()).collect();
    words
        .windows(2)
        .filter(|pair| pair[0] == table)
        .map(|pair| pair[1].to_owned())
        .filter(|alias| !["WHERE", "ORDER", "ON", "JOIN", "SET", "GROUP", "LIMIT", "AS"].contains(&alias.as_str()))
        .collect()
}

#[test]
fn no_request_path_query_scans_a_large_table() {
    let db = SqliteDatabase::in_memory().unwrap();
    let recording = Recording { inner: &db, queries: RefCell::new(Vec::new()) };
    pollster::block_on(request_path_reads(&SqlStore::new(&recording)));
    let queries = recording.queries.into_inner();
    assert!(queries.len() >= 33, "the reads were captured ({})", queries.len());
    let mut failures = Vec::new();
    for (sql, params) in &queries {
        let scans = full_scans(&db, sql, params);
        if !scans.is_empty() {
            failures.push(format!("{scans:?} in\n{sql}"));
        }
    }
    assert!(failures.is_empty(), "full scans on the request path:\n{}", failures.join("\n\n"));
}

#[test]
fn the_check_sees_a_full_scan() {
    let db = SqliteDatabase::in_memory().unwrap();
    assert!(!full_scans(&db, "SELECT id FROM comments WHERE body = ?1", &["x".into()]).is_empty());
    assert!(!full_scans(&db, "SELECT g.id FROM grants g WHERE g.purpose = ?1", &["x".into()]).is_empty());
    assert!(full_scans(&db, "SELECT id FROM comments WHERE person_id = ?1", &["x".into()]).is_empty());
}
