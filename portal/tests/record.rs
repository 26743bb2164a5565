//! The care record pages through the router: every category for the person, only the granted
//! ones for a family carer (the rest do not exist for them), every view in the access log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Action, Category, Grant};
use carefront_shared::store::{GrantUpdate, Store};
use chrono::Duration;
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, text};

const PAGES: [&str; 6] = ["care-plan", "guide", "medicines", "visits", "contacts", "documents"];

fn margaret() -> Portal {
    support::margaret_with_full_record()
}

/// Dana, Margaret's daughter, granted medicines only, enrolled in her own browser.
fn daughter(portal: &Portal) -> Portal {
    support::representative(portal, "person-dana", "Dana Okafor", Holding { categories: &[Category::Medication], actions: &[Action::View], act_for: false }, 7)
}

#[test]
fn the_person_reads_every_category_and_each_view_is_logged() {
    let portal = margaret();
    let home = text(&portal.get("/home"));
    for page in PAGES {
        assert!(home.contains(&format!("href=\"/people/person-1/{page}\"")), "home links to {page}: {home}");
    }
    let expectations = [
        ("care-plan", "Risks, and how they are kept low"),
        ("guide", "We will call you back."),
        ("medicines", "Penicillin"),
        ("visits", "Visit note number 0."),
        ("contacts", "href=\"tel:01632960199\""),
        ("documents", "Discharge summary"),
    ];
    for (page, expected) in expectations {
        let response = portal.get(&format!("/people/person-1/{page}"));
        assert_eq!(response.status(), 200, "{page}");
        assert!(text(&response).contains(expected), "{page} shows {expected:?}: {}", text(&response));
    }
    let log = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 100)).unwrap();
    for category in ["care_plan", "service_user_guide", "medication", "visits_and_notes", "contacts", "documents"] {
        assert!(
            log.iter().any(|event| event.action == format!("{category}.viewed") && event.actor_id.as_deref() == Some("person-1")),
            "{category} view logged"
        );
    }
    let access_log = text(&portal.get("/access-log?mine=yes"));
    assert!(access_log.contains("looked at the medicines"), "{access_log}");
}

#[test]
fn the_medicines_page_shows_the_week_as_day_cards_and_as_a_grid() {
    let portal = margaret();
    let page = text(&portal.get("/people/person-1/medicines"));
    assert!(page.contains("Paracetamol 500 mg tablets"));
    assert!(!page.contains("Amoxicillin (stopped)"), "a medicine stopped three weeks ago is neither current nor in this week");
    assert!(page.contains("app-dose--given"), "{page}");
    assert!(page.contains("app-dose--refused"));
    assert!(page.contains("app-dose--missed"), "a past dose with no record is shown as a gap");
    assert!(page.contains("<strong class=\"app-doses__time\">8pm</strong> Paracetamol 500 mg tablets, 2 tablets"), "{page}");
    assert!(page.contains("Refused</strong> Felt sick. Recorded by Jo Adeyemi at 9am on 21 November 2026."), "{page}");
    // An earlier week: the stopped medicine was current then.
    let from = (portal.now.get().date_naive() - Duration::days(27)).format("%Y-%m-%d").to_string();
    let earlier = text(&portal.get(&format!("/people/person-1/medicines?from={from}")));
    assert!(earlier.contains("Amoxicillin (stopped)"));
    assert!(earlier.contains("Later week"));
    for bad in ["yesterday", "2026-13-01", "1900-01-01"] {
        assert_eq!(portal.get(&format!("/people/person-1/medicines?from={bad}")).status(), 400, "{bad}");
    }
}

#[test]
fn visits_come_a_week_at_a_time() {
    let portal = margaret();
    let first = text(&portal.get("/people/person-1/visits"));
    assert!(first.contains("Visit note number 0.") && first.contains("Visit note number 7."));
    assert!(!first.contains("Visit note number 8."), "the last 7 days and today");
    let previous = first.split("href=\"?week=").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_owned();
    let second = text(&portal.get(&format!("/people/person-1/visits?week={previous}")));
    // Monday 9 to Sunday 15 November: the visits of 6 to 12 days ago.
    assert!(second.contains("Visit note number 6.") && second.contains("Visit note number 12."), "{second}");
    assert!(!second.contains("Visit note number 5.") && !second.contains("Visit note number 13."), "{second}");
    assert!(second.contains("Go back to this week"));
    let response = portal.get("/people/person-1/visits?week=not-a-date");
    assert_eq!(response.status(), 400);
    assert!(text(&response).contains("Enter a real date for the week"), "{}", text(&response));
}

#[test]
fn documents_download_as_attachments_with_their_own_type() {
    let portal = margaret();
    let response = portal.get("/people/person-1/documents/doc-1");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"carefront-doc1.txt\"");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.body(), b"Home on 3 November with a frame.\n");
    assert_eq!(portal.get("/people/person-1/documents/doc-404").status(), 404);
    let log = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 10)).unwrap();
    assert!(log.iter().any(|event| event.detail.contains("opened the document") && event.detail.contains("Discharge summary")));
}

#[test]
fn a_family_carer_sees_only_what_was_granted_and_loses_it_at_once_on_revocation() {
    let portal = margaret();
    let dana = daughter(&portal);
    let overview = text(&dana.get("/people/person-1"));
    assert!(overview.contains("href=\"/people/person-1/medicines\""));
    assert!(!overview.contains("href=\"/people/person-1/visits\""), "no link to what she cannot see");
    assert_eq!(dana.get("/people/person-1/medicines").status(), 200);
    for page in ["care-plan", "guide", "visits", "contacts", "documents", "documents/doc-1"] {
        let response = dana.get(&format!("/people/person-1/{page}"));
        assert_eq!(response.status(), 404, "{page} does not exist for her");
        assert!(!text(&response).contains("Margaret"), "a 404 names nobody");
    }
    let log = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 100)).unwrap();
    let hers: Vec<_> = log.iter().filter(|event| event.actor_id.as_deref() == Some("person-dana")).collect();
    assert!(hers.iter().any(|event| event.action == "medication.viewed" && event.basis.as_deref() == Some("grant:grant-person-dana (consent)")));
    assert!(hers.iter().all(|event| event.action != "visits_and_notes.viewed"), "refused reads are not views");
    // Margaret sees Dana's look in her access log.
    assert!(text(&portal.get("/access-log")).contains("Dana Okafor"));

    // Margaret revokes: Dana's very next request is refused.
    let store = portal.store();
    let grant = block_on(store.grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.id == "grant-person-dana").unwrap();
    let revoked = Grant { revoked_at: Some(portal.now.get()), ..grant };
    assert!(matches!(block_on(store.update_grant(&revoked, portal.now.get(), None)).unwrap(), GrantUpdate::Updated(2)));
    assert_eq!(dana.get("/people/person-1/medicines").status(), 404);
}

#[test]
fn nobody_else_can_open_any_page_and_strangers_must_sign_in() {
    let portal = margaret();
    let (_, code) = portal.person_with_invitation("person-2", "Arthur Jenkins");
    let arthur = portal.other_browser(11);
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(arthur.enrol(&code, &mut passkey).status(), 200);
    for page in PAGES {
        assert_eq!(arthur.get(&format!("/people/person-1/{page}")).status(), 404, "{page}");
        assert_eq!(arthur.get(&format!("/people/person-404/{page}")).status(), 404, "{page} of nobody");
    }
    let stranger = portal.other_browser(12);
    let response = stranger.get("/people/person-1/medicines");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/sign-in");
    let csrf = portal.csrf_from("/home");
    assert_eq!(portal.post_form("/people/person-1/medicines", &[("csrf", &csrf)]).status(), 405);
}

#[test]
fn the_paper_copy_has_the_plan_medicines_allergies_and_access_and_records_who_printed_it() {
    let portal = margaret();
    let response = portal.get("/people/person-1/print");
    assert_eq!(response.status(), 200);
    let page = text(&response);
    for expected in
        ["Margaret Okafor: care plan and medicines", "Penicillin", "Paracetamol 500 mg tablets", "8am, 8pm", "Your care plan", "On-call manager", "Printed "]
    {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    assert!(page.contains("No emergency code is turned on."));
    let log = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 5)).unwrap();
    assert!(log.iter().any(|event| event.action == "paper_copy.printed" && event.actor_id.as_deref() == Some("person-1")));
    assert!(!page.contains("app-large-print"));
    // Printed at the person's own size, whoever prints it.
    let csrf = portal.csrf_from("/people/person-1/needs");
    assert_eq!(
        portal.post_form("/people/person-1/needs", &[("csrf", &csrf), ("large-print", "large_print_28"), ("paper", "paper_copy_at_home")]).status(),
        303
    );
    assert!(text(&portal.get("/people/person-1/print")).contains("app-large-print--28"));
    // Dana may see the medicines but not the care plan: no paper copy for her.
    let dana = daughter(&portal);
    assert_eq!(dana.get("/people/person-1/print").status(), 404);
}

#[test]
fn the_paper_copy_carries_the_emergency_code_only_when_it_is_the_live_one() {
    use carefront_shared::emergency;
    use carefront_shared::store::EmergencyStore;
    let portal = margaret();
    let (record, code) = emergency::issue("person-1", "person-1", "own_record", portal.now.get(), &portal.random);
    block_on(portal.store().replace_emergency_code(&record)).unwrap();
    let blank = text(&portal.get("/people/person-1/print"));
    assert!(blank.contains("an emergency code is turned on") && blank.contains("____ - ____"), "{blank}");
    let csrf = portal.csrf_from("/home");
    let response = portal.post_form("/people/person-1/print", &[("csrf", &csrf), ("code", &code.to_string())]);
    assert_eq!(response.status(), 200);
    let page = text(&response);
    assert!(page.contains(&code.to_string()) && page.contains("localhost:8787&#x2f;emergency") && page.contains("Paracetamol"), "{page}");
    let (_, other) = emergency::issue("person-1", "person-1", "own_record", portal.now.get(), &portal.random);
    let wrong = portal.post_form("/people/person-1/print", &[("csrf", &csrf), ("code", &other.to_string())]);
    assert_eq!(wrong.status(), 400);
    assert!(!text(&wrong).contains(&other.to_string()), "a code that is not live is never printed");
    assert_eq!(portal.post_form("/people/person-1/print", &[("csrf", &csrf), ("code", "<script>")]).status(), 400);
}

#[test]
fn a_week_with_no_visits_says_so_and_changes_nothing() {
    let portal = margaret();
    let before = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 500)).unwrap().len();
    let response = portal.get("/people/person-1/visits?week=2020-01-08");
    assert_eq!(response.status(), 200);
    let page = text(&response);
    assert!(page.contains("Monday 6 January to Sunday 12 January 2020"), "{page}");
    assert!(page.contains("No visits are recorded earlier in this week."), "{page}");
    let after = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 500)).unwrap().len();
    assert_eq!(after, before + 1, "only the view is logged");
}
