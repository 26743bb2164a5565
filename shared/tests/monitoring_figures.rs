//! The monitoring report's kept figures (migration 27) against a real store (SQLite, or
//! PostgreSQL with `CAREFRONT_TEST_POSTGRES`): a provider's figures are counted once and then
//! read from where they are kept while they stand; any write to what they count — a grant, a
//! comment, a format need, a consent discussion, an emergency access, whichever code makes it —
//! has them counted again at the next look, and so do 15 minutes and a new day.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::cell::Cell;
use std::collections::BTreeSet;

use async_trait::async_trait;
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::monitoring::{self, FIGURES_STAND, ProviderReport};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::store::{SqlStore, Store, SupportStore, time_text};
use chrono::{DateTime, Duration, Utc};
use pollster::block_on;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z").unwrap().with_timezone(&Utc)
}

/// Passes every call on, counting the queries that count a provider's people.
struct Counting<'a> {
    inner: &'a NativeDatabase,
    counts: Cell<usize>,
}

#[async_trait(?Send)]
impl Database for Counting<'_> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        if sql.contains("FROM comments c WHERE c.person_id = s.id") {
            self.counts.set(self.counts.get() + 1);
        }
        self.inner.query(sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.inner.execute(sql, params).await
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.inner.batch(statements).await
    }
}

fn grant(id: &str, person: &str, organisation: &str) -> Grant {
    Grant {
        id: id.into(),
        version: 1,
        subject_id: person.into(),
        grantee: Grantee::Organisation(organisation.into()),
        categories: BTreeSet::from([Category::CarePlan]),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "care".into(),
        starts_at: start() - Duration::days(30),
        ends_at: None,
        basis: Basis::Consent,
        evidence: None,
        recorded_by: person.into(),
        revoked_at: None,
    }
}

/// A county of two providers: Brookside supports Margaret and Arthur, Riverside Joan.
fn county(db: &NativeDatabase) {
    let store = SqlStore::new(db);
    for (id, kind) in [("org-brookside", OrganisationKind::Provider), ("org-riverside", OrganisationKind::Provider), ("org-council", OrganisationKind::Council)]
    {
        block_on(store.insert_organisation(&Organisation { id: id.into(), kind, name: id.into(), created_at: start() })).unwrap();
    }
    for (index, (person, organisation)) in [("margaret", "org-brookside"), ("arthur", "org-brookside"), ("joan", "org-riverside")].into_iter().enumerate() {
        let handle = uuid::Uuid::from_u128(index as u128 + 1);
        let someone = Person {
            id: person.into(),
            role: Role::ServiceUser,
            display_name: person.into(),
            organisation_id: None,
            webauthn_handle: handle,
            created_at: start(),
        };
        block_on(store.insert_person(&someone)).unwrap();
        block_on(store.insert_grant(&grant(&format!("grant-{person}"), person, organisation), start(), None)).unwrap();
    }
}

/// Brookside's report at `now`, and whether it was counted (rather than read as kept).
fn look(db: &NativeDatabase, now: DateTime<Utc>) -> (ProviderReport, bool) {
    let counting = Counting { inner: db, counts: Cell::new(0) };
    let store = SqlStore::new(&counting);
    let report = block_on(monitoring::provider_report(&store, "org-brookside", now)).unwrap().unwrap();
    (report, counting.counts.get() > 0)
}

/// A comment on `person`'s record written straight into the table, as any code might.
fn comment(db: &NativeDatabase, id: &str, person: &str, at: DateTime<Utc>) {
    block_on(db.execute(
        "INSERT INTO comments (id, person_id, category, entry_label, kind, body, author_id, author_name, created_at, status)
         VALUES (?1, ?2, 'care_plan', '', 'comment', 'The plan says two visits; I have three.', ?2, ?2, ?3, 'open')",
        &[id.into(), person.into(), time_text(at).into()],
    ))
    .unwrap();
}

/// Regression: the monitoring report counted over every person each provider supports at every
/// look (0.92 s for 100,000 people on SQLite, 2.1 s on PostgreSQL, 138× and 92× the time at
/// 1,000). Figures are now counted once and kept while nothing they count changes.
#[test]
fn monitoring_report_counted_every_supported_person_at_every_look() {
    let db = NativeDatabase::for_tests().unwrap();
    county(&db);
    let (first, counted) = look(&db, start());
    assert!(counted, "the first look counts");
    assert_eq!((first.people, first.open_comments, first.figured_at), (2, 0, start()));

    let later = start() + Duration::minutes(10);
    let (second, counted) = look(&db, later);
    assert!(!counted, "a look 10 minutes on, with nothing written, reads the kept figures");
    assert_eq!(second, first, "the same figures, counted at the same time");

    // Riverside's person's comment is nothing to Brookside's figures.
    comment(&db, "comment-joan", "joan", later);
    assert!(!look(&db, later).1, "a change about someone Brookside does not support");
}

#[test]
fn a_write_to_anything_the_figures_count_has_them_counted_again() {
    let db = NativeDatabase::for_tests().unwrap();
    county(&db);
    let store = SqlStore::new(&db);
    assert!(look(&db, start()).1);
    let mut now = start();
    let mut step = |what: &str, write: &dyn Fn(DateTime<Utc>)| -> ProviderReport {
        now += Duration::minutes(1);
        write(now);
        let (report, counted) = look(&db, now);
        assert!(counted, "counted again after {what}");
        assert_eq!(report.figured_at, now, "{what}: counted now");
        let (again, counted) = look(&db, now + Duration::seconds(1));
        assert!(!counted && again == report, "{what}: then kept");
        report
    };
    let report = step("a comment on Margaret's record", &|at| comment(&db, "comment-margaret", "margaret", at));
    assert_eq!(report.open_comments, 1);
    let report =
        step("a grant to Brookside about Joan", &|at| block_on(store.insert_grant(&grant("grant-joan-brookside", "joan", "org-brookside"), at, None)).unwrap());
    assert_eq!(report.people, 3);
    let report = step("Arthur's grant revoked", &|at| {
        block_on(db.execute("UPDATE grants SET revoked_at = ?2, version = version + 1 WHERE id = ?1", &["grant-arthur".into(), time_text(at).into()])).unwrap();
    });
    assert_eq!(report.people, 2);
    let report = step("the comment answered", &|at| {
        block_on(db.execute(
            "UPDATE comments SET status = 'answered', response = 'Thank you', responded_by = 'staff', responded_at = ?2, version = version + 1 WHERE id = ?1",
            &["comment-margaret".into(), time_text(at).into()],
        ))
        .unwrap();
    });
    assert_eq!(report.open_comments, 0);
    let report = step("a format need recorded for Margaret", &|at| {
        block_on(db.execute(
            "INSERT INTO format_needs (id, person_id, need, detail, recorded_by, recorded_by_name, recorded_at)
             VALUES ('need-1', 'margaret', 'large_print', '', 'margaret', 'Margaret', ?1)",
            &[time_text(at).into()],
        ))
        .unwrap();
    });
    assert_eq!(report.needs_recorded, 1);
}

#[test]
fn kept_figures_are_counted_again_after_15_minutes_on_a_new_day_and_if_the_clock_went_back() {
    let db = NativeDatabase::for_tests().unwrap();
    county(&db);
    assert!(look(&db, start()).1);
    assert!(!look(&db, start() + FIGURES_STAND - Duration::seconds(1)).1, "still standing just before 15 minutes");
    assert!(look(&db, start() + FIGURES_STAND).1, "15 minutes old: a grant may have started or ended since");
    // Counted at 23:55 UTC, looked at five minutes later: the 12 months moved on a day.
    let late = DateTime::parse_from_rfc3339("2026-11-30T23:55:00Z").unwrap().with_timezone(&Utc);
    assert!(look(&db, late).1);
    assert!(look(&db, late + Duration::minutes(5)).1, "a new day");
    assert!(look(&db, start()).1, "figures from a later time than now are not used");
}

/// Two reports counting at once: the one that read the earlier mark keeps nothing over the
/// other's, and the changes the later one includes are forgotten.
#[test]
fn figures_counted_before_a_change_never_replace_figures_counted_after_it() {
    let db = NativeDatabase::for_tests().unwrap();
    county(&db);
    let store = SqlStore::new(&db);
    let early = block_on(store.figures_change_mark()).unwrap();
    comment(&db, "comment-margaret", "margaret", start());
    let late = block_on(store.figures_change_mark()).unwrap();
    assert!(late > early, "the comment is a change ({early} → {late})");
    block_on(store.keep_figures("org-brookside", late, "{\"late\":true}", start())).unwrap();
    block_on(store.keep_figures("org-brookside", early, "{\"early\":true}", start())).unwrap();
    let kept = block_on(store.kept_figures("org-brookside")).unwrap().unwrap();
    assert_eq!(kept.figures, "{\"late\":true}");
    assert!(!kept.changed_since, "the comment is included in what is kept");
    let left = block_on(db.query("SELECT COUNT(*) FROM monitoring_changes WHERE organisation_id = 'org-brookside'", &[])).unwrap();
    assert_eq!(left[0].integer(0).unwrap(), 0, "the changes the kept figures include are forgotten");
    // A kept figure that cannot be read is counted again rather than shown.
    assert!(look(&db, start()).1);
}

/// The scheduled job counts the figures that no longer stand, and only those.
#[test]
fn the_scheduled_job_counts_only_figures_that_no_longer_stand() {
    let db = NativeDatabase::for_tests().unwrap();
    county(&db);
    let store = SqlStore::new(&db);
    assert_eq!(block_on(monitoring::count_stale_figures(&store, start())).unwrap(), 2, "both providers, never counted");
    assert_eq!(block_on(monitoring::count_stale_figures(&store, start() + Duration::minutes(1))).unwrap(), 0);
    comment(&db, "comment-joan", "joan", start());
    assert_eq!(block_on(monitoring::count_stale_figures(&store, start() + Duration::minutes(2))).unwrap(), 1, "Riverside's");
    assert!(!look(&db, start() + Duration::minutes(3)).1, "the council's look reads what the job kept");
    assert_eq!(block_on(monitoring::count_stale_figures(&store, start() + Duration::minutes(2) + FIGURES_STAND)).unwrap(), 2, "15 minutes on");
}
