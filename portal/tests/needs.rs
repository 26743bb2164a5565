//! Format and communication needs through the router: recorded by the person or someone acting
//! for them, applied to every page (large print), flagged to everyone who sees the person,
//! refused to everyone else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::consent::{Action, Category};
use carefront_shared::needs::Need;
use carefront_shared::store::{Store, VoiceStore};
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, text};

fn margaret() -> Portal {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(portal.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    portal
}

/// A representative of person-1 with the given categories (and act-for power), signed in.
fn representative(portal: &Portal, id: &str, categories: &[Category], act_for: bool, seed: u64) -> Portal {
    support::representative(portal, id, &format!("Rep {id}"), Holding { categories, actions: &[Action::View], act_for }, seed)
}

fn save(browser: &Portal, subject: &str, fields: &[(&str, &str)]) -> carefront_portal::Response {
    let path = format!("/people/{subject}/needs");
    let csrf = browser.csrf_from(&path);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form(&path, &all)
}

#[test]
fn the_person_records_needs_and_every_page_follows_them() {
    let portal = margaret();
    let before = text(&portal.get("/home"));
    assert!(!before.contains("app-large-print") && !before.contains("easy read"));
    let response = save(
        &portal,
        "person-1",
        &[
            ("large-print", "large_print_24"),
            ("needs", "easy_read"),
            ("needs", "bsl_interpreter"),
            ("paper", "no_paper_copies"),
            ("other", "Face me when you speak"),
        ],
    );
    assert_eq!(response.status(), 303, "{}", text(&response));
    assert_eq!(response.headers()["location"], "/people/person-1/needs?done=saved");
    let home = text(&portal.get("/home"));
    assert!(home.contains("class=\"govuk-template app-large-print app-large-print--24\""), "{home}");
    // Easy read: plain-language summaries with symbols on the key pages.
    assert!(home.contains("Your care: easy read"), "{home}");
    let plan = text(&portal.get("/people/person-1/care-plan"));
    assert!(plan.contains("Your care plan: easy read") && plan.contains("Your goals") && plan.contains("Stay at home"), "{plan}");
    assert!(text(&portal.get("/people/person-1/medicines")).contains("Your medicines: easy read"));
    assert!(text(&portal.get("/access")).contains("Who can see your care: easy read"));
    let page = text(&portal.get("/people/person-1/needs?done=saved"));
    assert!(page.contains("Saved."));
    assert!(page.contains("Requires written information in at least 24 point sans serif font (SNOMED CT 957351000000102)"), "{page}");
    assert!(page.contains("Other needs: Face me when you speak"));
    let needs = block_on(portal.store().needs("person-1", false)).unwrap();
    let kinds: BTreeSet<Need> = needs.iter().map(|need| need.need).collect();
    assert_eq!(kinds, BTreeSet::from([Need::LargePrint24, Need::EasyRead, Need::BslInterpreter, Need::NoPaperCopies, Need::Other]));

    // Changing the size ends the old need and records the new one; the history shows it.
    assert_eq!(
        save(
            &portal,
            "person-1",
            &[
                ("large-print", "large_print_28"),
                ("needs", "easy_read"),
                ("needs", "bsl_interpreter"),
                ("paper", "no_paper_copies"),
                ("other", "Face me when you speak")
            ]
        )
        .status(),
        303
    );
    assert!(text(&portal.get("/home")).contains("app-large-print--28"));
    let page = text(&portal.get("/people/person-1/needs"));
    assert!(page.contains("No longer recorded") && page.contains("Large print (at least 24 point) (removed"), "{page}");
    let all = block_on(portal.store().needs("person-1", true)).unwrap();
    assert_eq!(all.len(), 6, "nothing overwritten: the old size is kept, ended");
    let log = text(&portal.get("/access-log?mine=yes"));
    assert!(
        log.contains("changed the format and communication needs: added Large print (at least 28 point); removed Large print (at least 24 point)"),
        "{log}"
    );
}

#[test]
fn nonsense_is_refused_and_nothing_is_written() {
    let portal = margaret();
    let response = save(&portal, "person-1", &[("large-print", "large_print_20"), ("needs", "large_print_28")]);
    assert_eq!(response.status(), 400, "a size is not a checkbox");
    let response = save(&portal, "person-1", &[("large-print", "large_print_44")]);
    assert_eq!(response.status(), 400);
    let response = save(&portal, "person-1", &[("needs", "telepathy")]);
    assert_eq!(response.status(), 400);
    let response = save(&portal, "person-1", &[("paper", "no_paper_copies"), ("other", &"x".repeat(501))]);
    assert_eq!(response.status(), 400);
    assert!(text(&response).contains("Describe the other need in up to 500 characters."), "{}", text(&response));
    assert!(block_on(portal.store().needs("person-1", true)).unwrap().is_empty());
}

#[test]
fn others_see_the_flag_but_only_the_preferences_grant_opens_the_page() {
    let portal = margaret();
    assert_eq!(save(&portal, "person-1", &[("large-print", "large_print_20"), ("paper", "paper_copy_at_home")]).status(), 303);
    let dana = representative(&portal, "person-dana", &[Category::Medication], false, 21);
    let medicines = text(&dana.get("/people/person-1/medicines"));
    assert!(medicines.contains("has format and communication needs") && medicines.contains("Large print (at least 20 point)"), "{medicines}");
    assert!(!medicines.contains("A paper copy of the care plan in the home"), "the default paper copy is not a need to flag");
    assert!(text(&dana.get("/people/person-1")).contains("Large print (at least 20 point)"));
    assert!(!text(&dana.get("/home")).contains("app-large-print"), "Margaret's needs do not change Dana's own pages");
    assert_eq!(dana.get("/people/person-1/needs").status(), 404);
    let csrf = dana.csrf_from("/home");
    assert_eq!(dana.post_form("/people/person-1/needs", &[("csrf", &csrf), ("large-print", "none")]).status(), 404);

    let reader = representative(&portal, "person-reader", &[Category::Preferences], false, 22);
    let page = text(&reader.get("/people/person-1/needs"));
    assert!(page.contains("Large print (at least 20 point)"));
    assert!(!page.contains("<form method=\"post\" action=\"/people/person-1/needs\""), "reading is not changing");
    let csrf = reader.csrf_from("/home");
    assert_eq!(reader.post_form("/people/person-1/needs", &[("csrf", &csrf), ("large-print", "none")]).status(), 404);
    assert_eq!(block_on(portal.store().needs("person-1", false)).unwrap().len(), 2);
}

#[test]
fn someone_acting_for_the_person_records_needs_as_a_acting_for_b() {
    let portal = margaret();
    let attorney = representative(&portal, "person-attorney", &[Category::CarePlan], true, 23);
    let response = save(&attorney, "person-1", &[("large-print", "none"), ("needs", "contact_via_carer"), ("paper", "paper_copy_at_home")]);
    assert_eq!(response.status(), 303, "{}", text(&response));
    let needs = block_on(portal.store().needs("person-1", false)).unwrap();
    assert!(needs.iter().all(|need| need.acting_for.as_deref() == Some("person-1") && need.recorded_by == "person-attorney"));
    let log = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 20)).unwrap();
    let change = log.iter().find(|event| event.action == "preferences.changed").unwrap();
    assert_eq!((change.actor_id.as_deref(), change.acting_for.as_deref()), (Some("person-attorney"), Some("person-1")));
    assert!(change.basis.as_deref().unwrap().starts_with("act_for grant:grant-person-attorney"));
    // Margaret sees who recorded it, acting for her.
    let page = text(&portal.get("/people/person-1/needs"));
    assert!(page.contains("Recorded by Rep person-attorney (acting for you)"), "{page}");
}
