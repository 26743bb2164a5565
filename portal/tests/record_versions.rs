//! What providers' systems put in shows in the person's pages: the care plan, guide and each
//! medicine say when they were last updated and by whom ("Updated 9am on 21 November 2026 by
//! Brookside") and link to their earlier versions (a history page, newest first, nothing
//! removed); a planned visit shows its window, the carer's first name and its live status.
//! Someone without the category sees no history (404).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::credential::system_actor;
use carefront_shared::domain::{CarePlan, Organisation, OrganisationKind};
use carefront_shared::plan::Recorder;
use carefront_shared::random::SeededRandom;
use carefront_shared::record::{Medicine, VisitStatus};
use carefront_shared::record_writes::{self as writes, PlannedVisit, VisitSchedule, Writer};
use carefront_shared::store::{RecordStore, Store, VersionStore};
use chrono::{Duration, NaiveDate};
use pollster::block_on;
use support::{Holding, Portal, text};

fn brookside(portal: &Portal) -> Permit {
    let now = portal.now.get();
    let grant = Grant {
        id: "grant-brookside".into(),
        version: 1,
        subject_id: "person-1".into(),
        grantee: Grantee::Organisation("org-care".into()),
        categories: Category::ALL.into_iter().collect(),
        actions: BTreeSet::from([Action::View, Action::Contribute]),
        act_for: false,
        purpose: "to give care".into(),
        starts_at: now - Duration::days(1),
        ends_at: None,
        basis: Basis::Consent,
        evidence: None,
        recorded_by: "person-1".into(),
        revoked_at: None,
    };
    block_on(portal.store().insert_grant(&grant, now, None)).unwrap();
    let organisation = Organisation { id: "org-care".into(), kind: OrganisationKind::Provider, name: "Brookside".into(), created_at: now };
    Permit::ask_each(&system_actor("ck_brookside", &organisation), "person-1", Action::Contribute, &Category::ALL, &[grant], now).unwrap()
}

fn apply(portal: &Portal, recorder: Recorder) {
    block_on(portal.store().apply(&recorder.into_plan())).unwrap();
}

/// Margaret's record, with Brookside's system having changed her care plan twice, her
/// paracetamol once, and put in today's visits (the first under way).
fn margaret_with_versions() -> Portal {
    let portal = support::margaret_with_full_record();
    let permit = brookside(&portal);
    let random = SeededRandom::new(11);
    let writer = Writer {
        permit: &permit,
        organisation_id: "org-care".into(),
        name: "Brookside".into(),
        described: "Brookside's computer system".into(),
        now: portal.now.get(),
        random: &random,
    };
    let plan = |summary: &str| CarePlan {
        id: "plan-1".into(),
        person_id: "person-1".into(),
        summary: summary.into(),
        outcomes: vec!["To stay at home".into()],
        needs: vec![],
        support: vec!["Help to wash and dress".into()],
        visit_schedule: vec!["Mornings".into()],
        risks: vec![],
        review_due: NaiveDate::from_ymd_opt(2027, 5, 1).unwrap(),
        written_by: "Sam Patel".into(),
        updated_at: portal.now.get(),
    };
    for (version, summary) in [(0, "The first plan."), (1, "The plan after hospital.")] {
        let recorder = Recorder::new();
        block_on(writes::put_care_plan(&writer, &recorder, version, &plan(summary))).unwrap();
        apply(&portal, recorder);
    }
    let own = support::own_record("person-1");
    let paracetamol: Medicine = block_on(portal.store().medicines(&own)).unwrap().into_iter().find(|medicine| medicine.id == "med-para").unwrap();
    // The seeded medicine has no versions: its first change is version 1.
    for (version, dose) in [(0, "2 tablets"), (1, "1 tablet")] {
        let recorder = Recorder::new();
        block_on(writes::change_medicine(&writer, &recorder, version, &paracetamol, &Medicine { dose: dose.into(), ..paracetamol.clone() })).unwrap();
        apply(&portal, recorder);
    }

    let today = carefront_shared::uk_time::date(portal.now.get());
    let start = carefront_shared::uk_time::start_of(today);
    let schedule = VisitSchedule {
        from: today,
        to: today,
        visits: vec![
            PlannedVisit { id: "plan-am".into(), starts_at: start + Duration::hours(8), ends_at: start + Duration::hours(9), carer_first_name: "Jo".into() },
            PlannedVisit { id: "plan-pm".into(), starts_at: start + Duration::hours(18), ends_at: start + Duration::hours(19), carer_first_name: "Sam".into() },
        ],
    };
    let recorder = Recorder::new();
    block_on(writes::put_visit_schedule(&writer, &recorder, 0, &schedule, &[])).unwrap();
    apply(&portal, recorder);
    let morning = block_on(portal.store().scheduled_visit(&own, "plan-am")).unwrap().unwrap();
    let recorder = Recorder::new();
    block_on(writes::record_visit_status(&writer, &recorder, 0, &morning, VisitStatus::CheckedIn, start + Duration::hours(8) + Duration::minutes(5))).unwrap();
    apply(&portal, recorder);
    portal
}

#[test]
fn the_care_plan_says_who_updated_it_when_and_keeps_every_version() {
    let portal = margaret_with_versions();
    let page = text(&portal.get("/people/person-1/care-plan"));
    assert!(page.contains("Updated 9am on 21 November 2026 by Brookside."), "{page}");
    assert!(page.contains("href=\"/people/person-1/care-plan/history\""), "{page}");
    assert!(page.contains("The plan after hospital."));

    let history = portal.get("/people/person-1/care-plan/history");
    assert_eq!(history.status(), 200);
    let history = text(&history);
    let (second, first) = (history.find("Version 2 (current)").unwrap(), history.find("Version 1").unwrap());
    assert!(second < first, "newest first: {history}");
    assert!(history.contains("The first plan.") && history.contains("The plan after hospital."));
    let main = &history[history.find("<main").unwrap()..history.find("</main>").unwrap() + "</main>".len()];
    insta::assert_snapshot!("care_plan_history", main);
    let log = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 100)).unwrap();
    assert!(log.iter().any(|event| event.detail.contains("earlier versions of the care plan")));
}

#[test]
fn a_changed_medicine_links_to_its_history_and_the_guide_without_versions_has_none() {
    let portal = margaret_with_versions();
    let page = text(&portal.get("/people/person-1/medicines"));
    assert!(page.contains("href=\"/people/person-1/medicines/med-para/history\""), "{page}");
    let history = text(&portal.get("/people/person-1/medicines/med-para/history"));
    assert!(history.contains("Earlier versions of Paracetamol 500 mg tablets") && history.contains("1 tablet"), "{history}");
    // The seeded guide was never put in through the writes: no line, no history.
    assert!(!text(&portal.get("/people/person-1/guide")).contains("See earlier versions"));
    assert_eq!(portal.get("/people/person-1/guide/history").status(), 404);
    assert_eq!(portal.get("/people/person-1/medicines/med-old/history").status(), 404);
}

#[test]
fn a_planned_visit_shows_its_window_carer_and_live_status() {
    let portal = margaret_with_versions();
    let page = text(&portal.get("/people/person-1/visits"));
    assert!(page.contains("In progress</strong> Carer: Jo") && page.contains("Arrived at 8:05am."), "{page}");
    assert!(page.contains("6pm to 7pm") && page.contains("Carer: Sam"), "{page}");
}

#[test]
fn someone_granted_medicines_only_sees_no_care_plan_history() {
    let portal = margaret_with_versions();
    let dana = support::representative(
        &portal,
        "person-dana",
        "Dana Okafor",
        Holding { categories: &[Category::Medication], actions: &[Action::View], act_for: false },
        7,
    );
    assert_eq!(dana.get("/people/person-1/care-plan/history").status(), 404);
    assert_eq!(dana.get("/people/person-1/medicines/med-para/history").status(), 200);
}
