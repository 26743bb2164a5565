//! Medicines and visits on a phone (issue 11), through the router: today's doses come first as a
//! card, before the earlier days, the medicine list and the week grid; visits come as "Coming up"
//! (soonest first) and "Earlier" (newest first) with today labelled, the carer's first name, the
//! planned window, actual times and the live status; a week can be chosen, across a clock change
//! too; a family member who may see only the medicines sees no visits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Action, Category};
use carefront_shared::record::{Administration, CareVisit, Outcome, VisitStatus};
use carefront_shared::store::{RecordStore, Store, VersionStore};
use chrono::{DateTime, Duration, Utc};
use pollster::block_on;
use support::{Holding, Portal, text};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Where `needle` is in `page`, failing loudly if it is not there.
fn position(page: &str, needle: &str) -> usize {
    page.find(needle).unwrap_or_else(|| panic!("{needle:?} is not on the page: {page}"))
}

fn planned(portal: &Portal, id: &str, starts: &str, minutes: i64, carer: &str) {
    let starts_at = utc(starts);
    let visit = CareVisit {
        id: id.into(),
        person_id: "person-1".into(),
        organisation_id: "org-care".into(),
        starts_at,
        ends_at: starts_at + Duration::minutes(minutes),
        status: VisitStatus::Planned,
        carers: carer.into(),
        note: String::new(),
        recorded_at: portal.now.get(),
    };
    assert!(block_on(portal.store().upsert_visit(&visit)).unwrap());
}

fn report(portal: &Portal, id: &str, status: VisitStatus, at: &str) {
    block_on(portal.store().set_visit_status("person-1", id, status, utc(at))).unwrap();
}

fn given(portal: &Portal, id: &str, due: &str, recorded: &str) {
    let entry = Administration {
        id: id.into(),
        person_id: "person-1".into(),
        medicine_id: "med-para".into(),
        due_at: utc(due),
        outcome: Outcome::Given,
        reason: None,
        recorded_by: "Jo Adeyemi".into(),
        recorded_at: utc(recorded),
    };
    assert!(block_on(portal.store().insert_administration(&entry)).unwrap());
}

/// Margaret's full record (it is 9am on Saturday 21 November 2026; a visit at 8am each day, done)
/// and today's and the coming days' planned visits, as a provider's system reports them.
fn margaret_today() -> Portal {
    let portal = support::margaret_with_full_record();
    assert_eq!(portal.now.get(), utc("2026-11-21T09:00:00Z"));
    planned(&portal, "visit-late", "2026-11-21T08:15:00Z", 30, "Sam");
    planned(&portal, "visit-in", "2026-11-21T08:45:00Z", 45, "Ann");
    report(&portal, "visit-in", VisitStatus::CheckedIn, "2026-11-21T08:52:00Z");
    planned(&portal, "visit-noon", "2026-11-21T12:00:00Z", 30, "Priya");
    planned(&portal, "visit-tomorrow", "2026-11-22T08:00:00Z", 30, "Sam");
    planned(&portal, "visit-tuesday", "2026-11-24T18:30:00Z", 30, "Priya");
    planned(&portal, "visit-missed", "2026-11-19T18:00:00Z", 30, "Sam");
    report(&portal, "visit-missed", VisitStatus::Missed, "2026-11-19T18:40:00Z");
    // Yesterday's 8am visit, with the carer's actual times.
    report(&portal, "visit-01", VisitStatus::CheckedIn, "2026-11-20T07:58:00Z");
    report(&portal, "visit-01", VisitStatus::CheckedOut, "2026-11-20T08:41:00Z");
    portal
}

#[test]
fn visits_come_as_coming_up_soonest_first_then_earlier_newest_first_with_today_labelled() {
    let portal = margaret_today();
    let page = text(&portal.get("/people/person-1/visits"));
    let coming_up = position(&page, "id=\"coming-up\"");
    let earlier = position(&page, "id=\"earlier\"");
    assert!(coming_up < earlier, "coming up first");
    let today = "Today<span class=\"govuk-visually-hidden\">, </span><span class=\"govuk-caption-m\">Saturday 21 November</span>";
    let (upcoming, past) = page.split_at(earlier);
    // Coming up: today's late, in-progress and due visits, tomorrow, Tuesday, in time order.
    let order = ["8:15am to 8:45am", "8:45am to 9:30am", "midday to 12:30pm", "Tomorrow<", "Tuesday 24 November", "6:30pm to 7pm"];
    let at: Vec<usize> = order.iter().map(|needle| position(upcoming, needle)).collect();
    assert!(at.windows(2).all(|pair| pair[0] < pair[1]), "soonest first: {order:?} at {at:?}");
    assert!(position(upcoming, today) < at[0], "today is labelled");
    assert!(upcoming.contains("govuk-tag--orange\">Late</strong> Carer: Sam"), "{upcoming}");
    assert!(upcoming.contains("govuk-tag--turquoise\">In progress</strong> Carer: Ann") && upcoming.contains("Arrived at 8:52am."));
    assert!(upcoming.contains("govuk-tag--blue\">Due</strong> Carer: Priya"));
    // Earlier: today's 8am visit (done), then yesterday's, then Thursday's missed one, newest first.
    let order =
        [today, "Visit note number 0.", "Yesterday<", "Arrived at 7:58am. Left at 8:41am.", "Visit note number 1.", "6pm to 6:30pm", "Visit note number 2."];
    let at: Vec<usize> = order.iter().map(|needle| position(past, needle)).collect();
    assert!(at.windows(2).all(|pair| pair[0] < pair[1]), "newest first: {order:?} at {at:?}");
    assert!(past.contains("govuk-tag--red\">Missed</strong> Carer: Sam") && past.contains("Reported at 6:40pm."), "{past}");
    assert!(past.contains("govuk-tag--green\">Done</strong> Carer: Jo"));
    assert!(!page.contains("Jo Adeyemi"), "carers by first name only");
    // The last 7 days and the next 7: nothing older.
    assert!(page.contains("Visit note number 7.") && !page.contains("Visit note number 8."));
    assert!(page.contains("href=\"?week=2026-11-09\"") && page.contains("href=\"?week=2026-11-23\""), "previous and next week");
}

#[test]
fn a_week_is_chosen_by_link_or_date_boxes_and_spans_the_clock_change() {
    let portal = support::margaret_with_full_record();
    // Clocks went back at 2am on Sunday 25 October 2026. The UK week is Monday 19 to Sunday 25.
    planned(&portal, "before", "2026-10-18T22:30:00Z", 30, "Sam"); // 11:30pm BST, Sunday 18: not in it
    planned(&portal, "first", "2026-10-18T23:30:00Z", 30, "Sam"); // 12:30am BST, Monday 19
    planned(&portal, "saturday", "2026-10-24T07:00:00Z", 30, "Ann"); // 8am BST
    planned(&portal, "sunday", "2026-10-25T08:00:00Z", 30, "Ann"); // 8am GMT
    planned(&portal, "last", "2026-10-25T23:30:00Z", 30, "Priya"); // 11:30pm GMT, Sunday 25
    planned(&portal, "after", "2026-10-26T00:30:00Z", 30, "Priya"); // 12:30am GMT, Monday 26: not in it
    for query in ["week=2026-10-21", "week-day=21&week-month=10&week-year=2026", "week-day=25&week-month=10&week-year=2026"] {
        let response = portal.get(&format!("/people/person-1/visits?{query}"));
        assert_eq!(response.status(), 200, "{query}");
        let page = text(&response);
        assert!(page.contains("Monday 19 October to Sunday 25 October 2026"), "{page}");
        let order =
            ["Sunday 25 October", "11:30pm to midnight", "8am to 8:30am", "Saturday 24 October", "8am to 8:30am", "Monday 19 October", "12:30am to 1am"];
        let mut from = position(&page, "id=\"earlier\"");
        for needle in order {
            from += position(&page[from..], needle);
        }
        assert!(!page.contains("11:30pm to 12am") && !page.contains("7am"), "UK times across the change");
        assert_eq!(page.matches("Carer: ").count(), 4, "the two visits outside the week are not shown");
        assert!(page.contains("value=\"19\"") && page.contains("value=\"10\"") && page.contains("value=\"2026\""), "the boxes show the week");
        assert!(page.contains("href=\"?week=2026-10-12\"") && page.contains("href=\"?week=2026-10-26\"") && page.contains("Go back to this week"));
    }
}

#[test]
fn a_bad_week_is_named_and_linked_and_nothing_is_read_or_logged() {
    let portal = margaret_today();
    let logged = || block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 500)).unwrap().len();
    let before = logged();
    for query in
        ["week-day=31&week-month=2&week-year=2026", "week-day=1&week-month=&week-year=2026", "week=next-tuesday", "week-day=1&week-month=1&week-year=1900"]
    {
        let response = portal.get(&format!("/people/person-1/visits?{query}"));
        assert_eq!(response.status(), 400, "{query}");
        let page = text(&response);
        assert!(page.contains("There is a problem") && page.contains("href=\"#week-day\""), "{page}");
        assert!(page.contains("govuk-form-group--error") && page.contains("id=\"week-error\""));
        assert!(page.contains("<title>Error: "), "the title says so");
        assert!(!page.contains("Carer: ") && !page.contains("Visit note"), "nothing is read");
    }
    assert!(text(&portal.get("/people/person-1/visits?week-day=31&week-month=2&week-year=2026")).contains("value=\"31\""), "what was typed stays");
    assert_eq!(logged(), before, "no view is logged");
}

#[test]
fn a_family_member_with_only_the_medicines_sees_no_visits_in_any_week() {
    let portal = margaret_today();
    let dana = support::representative(
        &portal,
        "person-dana",
        "Dana Okafor",
        Holding { categories: &[Category::Medication], actions: &[Action::View], act_for: false },
        7,
    );
    assert_eq!(dana.get("/people/person-1/medicines").status(), 200);
    for path in ["/people/person-1/visits", "/people/person-1/visits?week=2026-11-16", "/people/person-1/visits?week=bad"] {
        let response = dana.get(path);
        assert_eq!(response.status(), 404, "{path}");
        assert!(!text(&response).contains("Margaret") && !text(&response).contains("Carer"), "a 404 names nobody");
    }
}

#[test]
fn todays_doses_come_first_before_the_earlier_days_the_medicine_list_and_the_grid() {
    let portal = margaret_today();
    given(&portal, "today-8am", "2026-11-21T08:00:00Z", "2026-11-21T08:10:00Z");
    let page = text(&portal.get("/people/person-1/medicines"));
    // Today's doses, then the allergies (still above every earlier dose), then the rest.
    let order = ["id=\"today\"", "Allergies:", "id=\"record\"", "Current medicines", "The week as a table"];
    let at: Vec<usize> = order.iter().map(|needle| position(&page, needle)).collect();
    assert!(at.windows(2).all(|pair| pair[0] < pair[1]), "{order:?} at {at:?}");
    let today = &page[at[0]..at[1]];
    assert!(today.contains("Saturday 21 November"));
    let morning = position(today, "<strong class=\"app-doses__time\">8am</strong> Paracetamol 500 mg tablets, 2 tablets");
    let evening = position(today, "<strong class=\"app-doses__time\">8pm</strong> Paracetamol 500 mg tablets, 2 tablets");
    assert!(morning < evening);
    assert!(today.contains("govuk-tag--green\">Given</strong> by Jo Adeyemi at 8:10am."), "{today}");
    assert!(today.contains("govuk-tag--blue\">Due</strong>"), "tonight's dose is still to come");
    // The earlier days, newest first: yesterday's refused dose with its reason, then a gap.
    let earlier = &page[at[2]..at[3]];
    let yesterday = position(earlier, "Yesterday<");
    let thursday = position(earlier, "Thursday 19 November");
    assert!(yesterday < thursday, "newest first");
    assert!(earlier.contains("govuk-tag--orange\">Refused</strong> Felt sick. Recorded by Jo Adeyemi at 9am on 21 November 2026."), "{earlier}");
    assert!(earlier[thursday..].contains("govuk-tag--red\">Missed</strong> Nothing was recorded."));
    // The grid is for wide screens in the latest week; today's column is marked.
    assert!(page.contains("app-mar-week app-mar-week--wide-only") && page.contains("app-mar__today"));
}

#[test]
fn an_earlier_week_keeps_the_grid_on_a_phone_and_8am_is_8am_on_both_sides_of_the_clock_change() {
    let portal = support::margaret_with_full_record();
    given(&portal, "saturday", "2026-10-24T07:00:00Z", "2026-10-24T07:05:00Z"); // 8am BST
    given(&portal, "sunday", "2026-10-25T08:00:00Z", "2026-10-25T08:05:00Z"); // 8am GMT
    let page = text(&portal.get("/people/person-1/medicines?from=2026-10-19"));
    assert!(!page.contains("id=\"today\"") && !page.contains("app-mar-week--wide-only"), "no today; the grid shows on a phone too");
    assert!(page.contains("Doses given: 19 October to 25 October 2026"));
    let sunday = position(&page, "Sunday 25 October");
    let saturday = position(&page, "Saturday 24 October");
    assert!(sunday < saturday, "newest first");
    for day in [&page[sunday..saturday], &page[saturday..]] {
        assert!(day.contains("<strong class=\"app-doses__time\">8am</strong>") && day.contains("by Jo Adeyemi at 8:05am."), "{day}");
    }
    assert!(!page.contains("7am") && !page.contains("7:05am"));
}

#[test]
fn in_large_print_today_still_comes_before_the_earlier_days_the_list_and_the_grid() {
    let portal = margaret_today();
    let csrf = portal.csrf_from("/people/person-1/needs");
    let saved = portal.post_form("/people/person-1/needs", &[("csrf", csrf.as_str()), ("large-print", "large_print_28"), ("paper", "paper_copy_at_home")]);
    assert_eq!(saved.status(), 303);
    let page = text(&portal.get("/people/person-1/medicines"));
    assert!(page.contains("app-large-print--28"), "large print is on");
    let main = &page[position(&page, "<main")..];
    let order = ["Your medicines</h1>", "id=\"today\"", "id=\"record\"", "Current medicines", "The week as a table"];
    let at: Vec<usize> = order.iter().map(|needle| position(main, needle)).collect();
    assert!(at.windows(2).all(|pair| pair[0] < pair[1]), "{order:?} at {at:?}");
    // Between the heading and today's card: nothing; the allergies come straight after it.
    let between = &main[at[0]..at[1]];
    assert!(!between.contains("Penicillin") && !between.contains("app-medicine") && !between.contains("<table"), "{between}");
    let after_today = &main[at[1]..at[2]];
    assert!(after_today.contains("Penicillin"), "{after_today}");
}
