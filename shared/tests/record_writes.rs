//! The shared record writes against real SQLite: each is one plan (the change, its version and
//! its audit line, or nothing), a write made from a stale version is refused inside the batch,
//! every version is kept and cannot be rewritten, a 10 MiB document is held in chunks and read
//! back whole, and a field that is wrong is named and writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::credential::system_actor;
use carefront_shared::db::{Database, DbError};
use carefront_shared::domain::{CarePlan, Organisation, OrganisationKind, Person, Role};
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::plan::Recorder;
use carefront_shared::random::SeededRandom;
use carefront_shared::record::{DocumentKind, GuideSection, Medicine, VisitStatus};
use carefront_shared::record_writes::{self as writes, PlannedVisit, VersionKind, VisitSchedule, WriteError, Writer};
use carefront_shared::store::{RecordStore, SqlStore, Store, VersionStore};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use pollster::block_on;

const PERSON: &str = "person-1";
const PROVIDER: &str = "org-provider";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-07-03T07:00:00Z").unwrap().with_timezone(&Utc)
}

fn provider() -> Organisation {
    Organisation { id: PROVIDER.into(), kind: OrganisationKind::Provider, name: "Brookside Home Care".into(), created_at: now() }
}

fn seeded(db: &NativeDatabase) -> SqlStore<'_> {
    let store = SqlStore::new(db);
    block_on(store.insert_organisation(&provider())).unwrap();
    let person = Person {
        id: PERSON.into(),
        role: Role::ServiceUser,
        display_name: "Margaret".into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(1),
        created_at: now(),
    };
    block_on(store.insert_person(&person)).unwrap();
    store
}

fn permit(action: Action) -> Permit {
    let grant = Grant {
        id: "grant-1".into(),
        version: 1,
        subject_id: PERSON.into(),
        grantee: Grantee::Organisation(PROVIDER.into()),
        categories: Category::ALL.into_iter().collect(),
        actions: BTreeSet::from([Action::View, Action::Contribute]),
        act_for: false,
        purpose: "to provide care".into(),
        starts_at: now() - Duration::days(1),
        ends_at: None,
        basis: Basis::Consent,
        evidence: None,
        recorded_by: PERSON.into(),
        revoked_at: None,
    };
    Permit::ask_each(&system_actor("ck_test", &provider()), PERSON, action, &Category::ALL, &[grant], now()).unwrap()
}

fn writer<'a>(permit: &'a Permit, random: &'a SeededRandom) -> Writer<'a> {
    Writer {
        permit,
        organisation_id: PROVIDER.into(),
        name: "Brookside Home Care".into(),
        described: "Brookside Home Care's computer system".into(),
        now: now(),
        random,
    }
}

fn plan(summary: &str) -> CarePlan {
    CarePlan {
        id: "plan-1".into(),
        person_id: PERSON.into(),
        summary: summary.into(),
        outcomes: vec!["Stay at home".into()],
        needs: vec![],
        support: vec!["Help to wash and dress".into()],
        visit_schedule: vec!["Mornings".into()],
        risks: vec![],
        review_due: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        written_by: "Ann Council".into(),
        updated_at: now(),
    }
}

fn rows(db: &NativeDatabase, sql: &str) -> usize {
    block_on(db.query(sql, &[])).unwrap().len()
}

#[test]
fn a_care_plan_change_adds_a_version_and_a_stale_one_writes_nothing() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let (permit, random) = (permit(Action::Contribute), SeededRandom::new(1));
    let writer = writer(&permit, &random);

    let recorder = Recorder::new();
    let first = block_on(writes::put_care_plan(&writer, &recorder, 0, &plan("First"))).unwrap();
    block_on(store.apply(&recorder.into_plan())).unwrap();
    assert_eq!(first.version, 1);

    let recorder = Recorder::new();
    block_on(writes::put_care_plan(&writer, &recorder, 1, &plan("Second"))).unwrap();
    block_on(store.apply(&recorder.into_plan())).unwrap();

    // Made from version 1 again (someone else's view): refused inside the batch.
    let recorder = Recorder::new();
    block_on(writes::put_care_plan(&writer, &recorder, 1, &plan("Stale"))).unwrap();
    assert!(matches!(block_on(store.apply(&recorder.into_plan())), Err(DbError::Constraint(_))));

    let read = permit_view();
    assert_eq!(block_on(store.care_plan(&read)).unwrap().unwrap().summary, "Second");
    let history = block_on(store.record_versions(&read, VersionKind::CarePlan, "")).unwrap();
    assert_eq!(history.iter().map(|version| version.version).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(history[1].read::<CarePlan>().unwrap().summary, "First");
    assert_eq!(history[0].changed_by, "Brookside Home Care");
    assert_eq!(rows(&db, "SELECT 1 FROM audit_events WHERE action = 'record.care_plan_written'"), 2);

    // History cannot be rewritten.
    assert!(block_on(db.execute("UPDATE record_versions SET snapshot = '{}'", &[])).is_err());
    assert!(block_on(db.execute("DELETE FROM record_versions", &[])).is_err());
}

fn permit_view() -> Permit {
    permit(Action::View)
}

#[test]
fn a_view_permit_cannot_write_and_a_wrong_field_is_named() {
    let (view, random) = (permit(Action::View), SeededRandom::new(2));
    let recorder = Recorder::new();
    assert!(matches!(block_on(writes::put_care_plan(&writer(&view, &random), &recorder, 0, &plan("x"))), Err(WriteError::NotContribute(_))));

    let contribute = permit(Action::Contribute);
    let writer = writer(&contribute, &random);
    let bad = CarePlan { summary: " ".into(), review_due: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(), ..plan("x") };
    match block_on(writes::put_care_plan(&writer, &recorder, 0, &bad)) {
        Err(WriteError::Invalid(problems)) => {
            assert_eq!(problems.iter().map(|problem| problem.field.as_str()).collect::<Vec<_>>(), ["summary", "reviewDue"]);
        }
        other => panic!("{other:?}"),
    }
    let sections = [GuideSection { heading: "".into(), body: "Text".into() }];
    match block_on(writes::put_guide(&writer, &recorder, 0, "Guide", &sections)) {
        Err(WriteError::Invalid(problems)) => assert_eq!(problems[0].field, "sections[0].heading"),
        other => panic!("{other:?}"),
    }
    assert!(recorder.into_plan().is_empty(), "nothing was recorded");
    assert_eq!(writes::parse_times(&["08:00".into(), "8:00".into(), "25:00".into()]).unwrap_err().len(), 2);
    assert!(writes::parse_times(&["20:00".into(), "08:00".into()]).is_err());
    assert_eq!(writes::parse_times(&["08:00".into(), "20:00".into()]).unwrap().len(), 2);
}

#[test]
fn a_ten_mib_document_is_kept_in_chunks_and_read_back_whole() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let (permit, random) = (permit(Action::Contribute), SeededRandom::new(3));
    let writer = writer(&permit, &random);
    let mut body = b"%PDF-1.7\n".to_vec();
    body.resize(10 * 1024 * 1024, b'x');
    let recorder = Recorder::new();
    let document = block_on(writes::add_document(&writer, &recorder, "Discharge summary", DocumentKind::DischargeSummary, &body)).unwrap();
    block_on(store.apply(&recorder.into_plan())).unwrap();
    assert_eq!(document.content_type, "application/pdf");
    assert_eq!(rows(&db, "SELECT 1 FROM document_chunks"), 10);
    let (read, back) = block_on(store.document(&permit_view(), &document.id)).unwrap().unwrap();
    assert_eq!((read.size_bytes, back == body), (10 * 1024 * 1024, true));

    let recorder = Recorder::new();
    for (body, field) in [(vec![0xff, 0xfe, 0x00], "(body)"), (vec![b'x'; 10 * 1024 * 1024 + 1], "(body)"), (Vec::new(), "(body)")] {
        match block_on(writes::add_document(&writer, &recorder, "A letter", DocumentKind::Letter, &body)) {
            Err(WriteError::Invalid(problems)) => assert_eq!(problems[0].field, field),
            other => panic!("{other:?}"),
        }
    }
    assert!(recorder.into_plan().is_empty());
}

fn medicine() -> Medicine {
    Medicine {
        id: "med-1".into(),
        person_id: PERSON.into(),
        name: "Paracetamol 500 mg".into(),
        dose: "2 tablets".into(),
        route: "By mouth".into(),
        times: vec![NaiveTime::from_hms_opt(8, 0, 0).unwrap()],
        as_needed: false,
        instructions: String::new(),
        prescriber: "Dr Patel".into(),
        started_on: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
        stopped_on: None,
    }
}

#[test]
fn medicines_allergies_schedule_and_visit_status_keep_their_history() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let (permit, random) = (permit(Action::Contribute), SeededRandom::new(4));
    let writer = writer(&permit, &random);
    let run = |recorder: Recorder| block_on(store.apply(&recorder.into_plan())).unwrap();

    let recorder = Recorder::new();
    block_on(writes::start_medicine(&writer, &recorder, &medicine())).unwrap();
    run(recorder);
    let recorder = Recorder::new();
    block_on(writes::change_medicine(&writer, &recorder, 1, &medicine(), &Medicine { dose: "1 tablet".into(), ..medicine() })).unwrap();
    run(recorder);
    let recorder = Recorder::new();
    block_on(writes::stop_medicine(&writer, &recorder, 2, &medicine(), NaiveDate::from_ymd_opt(2026, 7, 10).unwrap(), "Pain gone")).unwrap();
    run(recorder);
    let view = permit_view();
    let stored = block_on(store.medicines(&view)).unwrap();
    assert_eq!((stored[0].dose.as_str(), stored[0].stopped_on.is_some()), ("2 tablets", true), "a stop keeps the medicine as read");
    assert_eq!(block_on(store.record_versions(&view, VersionKind::Medicine, "med-1")).unwrap().len(), 3);

    let recorder = Recorder::new();
    let (allergy, _) = block_on(writes::record_allergy(&writer, &recorder, "Penicillin", "Rash")).unwrap();
    run(recorder);
    let recorder = Recorder::new();
    block_on(writes::mark_allergy_entered_in_error(&writer, &recorder, 1, &allergy, "Wrong person")).unwrap();
    run(recorder);
    assert!(block_on(store.allergies(&view)).unwrap().is_empty());
    assert_eq!(block_on(store.latest_record_versions(&view, VersionKind::Allergy)).unwrap()[0].version, 2);

    let day = NaiveDate::from_ymd_opt(2026, 7, 3).unwrap();
    let visit = |id: &str, hour: i64| PlannedVisit {
        id: id.into(),
        starts_at: carefront_shared::uk_time::start_of(day) + Duration::hours(hour),
        ends_at: carefront_shared::uk_time::start_of(day) + Duration::hours(hour) + Duration::minutes(30),
        carer_first_name: "Jo".into(),
    };
    let schedule = VisitSchedule { from: day, to: day, visits: vec![visit("v1", 8), visit("v2", 18)] };
    let recorder = Recorder::new();
    block_on(writes::put_visit_schedule(&writer, &recorder, 0, &schedule, &[])).unwrap();
    run(recorder);
    let again = VisitSchedule { visits: vec![visit("v1", 8)], ..schedule };
    let recorder = Recorder::new();
    block_on(writes::put_visit_schedule(&writer, &recorder, 1, &again, &[])).unwrap();
    run(recorder);
    let from = carefront_shared::uk_time::start_of(day);
    let planned = block_on(store.scheduled_visits(&view, from, from + Duration::days(1))).unwrap();
    assert_eq!(planned.len(), 1, "the schedule replaced the period's planned visits");

    let recorder = Recorder::new();
    block_on(writes::record_visit_status(&writer, &recorder, 0, &planned[0], VisitStatus::CheckedIn, now())).unwrap();
    run(recorder);
    let visit = block_on(store.scheduled_visit(&view, "v1")).unwrap().unwrap();
    assert_eq!((visit.visit.status, visit.checked_in_at), (VisitStatus::CheckedIn, Some(now())));
    let recorder = Recorder::new();
    match block_on(writes::record_visit_status(&writer, &recorder, 1, &visit, VisitStatus::Missed, now())) {
        Err(WriteError::Invalid(problems)) => assert_eq!(problems[0].field, "status"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_id_that_is_another_persons_stops_the_whole_write() {
    let db = NativeDatabase::for_tests().unwrap();
    let store = seeded(&db);
    let other = Person {
        id: "person-2".into(),
        role: Role::ServiceUser,
        display_name: "Olive".into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(2),
        created_at: now(),
    };
    block_on(store.insert_person(&other)).unwrap();
    block_on(store.upsert_medicine(&Medicine { person_id: "person-2".into(), ..medicine() })).unwrap();
    let (permit, random) = (permit(Action::Contribute), SeededRandom::new(5));
    let recorder = Recorder::new();
    block_on(writes::start_medicine(&writer(&permit, &random), &recorder, &medicine())).unwrap();
    assert!(matches!(block_on(store.apply(&recorder.into_plan())), Err(DbError::Constraint(_))));
    assert_eq!(rows(&db, "SELECT 1 FROM record_versions"), 0);
    assert!(block_on(store.medicines(&permit_view())).unwrap().is_empty());
}
