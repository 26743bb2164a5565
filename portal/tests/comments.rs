//! Comments and corrections through the router: the person and contributors add them, about
//! entries looked up in the person's own record; everyone follows the answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::comments::CommentStatus;
use carefront_shared::consent::{Action, Category, Grant};
use carefront_shared::record::Medicine;
use carefront_shared::store::voice::Answer;
use carefront_shared::store::{RecordStore, Store, VoiceStore};
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, text};

fn margaret() -> Portal {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(portal.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let (_, _) = portal.person_with_invitation("person-2", "Arthur Jenkins");
    for (id, person, name) in [("med-1", "person-1", "Paracetamol 500 mg tablets"), ("med-arthur", "person-2", "Donepezil 10 mg tablets")] {
        block_on(portal.store().upsert_medicine(&Medicine {
            id: id.into(),
            person_id: person.into(),
            name: name.into(),
            dose: "1 tablet".into(),
            route: "By mouth".into(),
            times: vec![],
            as_needed: true,
            instructions: String::new(),
            prescriber: "Dr Patel".into(),
            started_on: portal.now.get().date_naive(),
            stopped_on: None,
        }))
        .unwrap();
    }
    portal
}

fn daughter(portal: &Portal, actions: &[Action]) -> Portal {
    support::representative(portal, "person-dana", "Dana Okafor", Holding { categories: &[Category::Medication], actions, act_for: false }, 31)
}

fn send(browser: &Portal, subject: &str, fields: &[(&str, &str)]) -> carefront_portal::Response {
    let csrf = browser.csrf_from("/home");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form(&format!("/people/{subject}/comments"), &all)
}

#[test]
fn the_person_asks_for_a_correction_and_sees_the_answer() {
    let portal = margaret();
    let medicines = text(&portal.get("/people/person-1/medicines"));
    assert!(medicines.contains("/people/person-1/comments/new?category=medication&amp;entry=med-1"), "{medicines}");
    let form = portal.get("/people/person-1/comments/new?category=medication&entry=med-1");
    assert_eq!(form.status(), 200);
    assert!(text(&form).contains("About: <strong>Paracetamol 500 mg tablets</strong>"));
    let response =
        send(&portal, "person-1", &[("category", "medication"), ("entry", "med-1"), ("kind", "correction"), ("body", "  I stopped these in October.  ")]);
    assert_eq!(response.status(), 303, "{}", text(&response));
    assert_eq!(response.headers()["location"], "/people/person-1/comments?done=sent");
    let list = text(&portal.get("/people/person-1/comments?done=sent"));
    assert!(list.contains("Correction asked for: Paracetamol 500 mg tablets") && list.contains("Waiting for an answer"), "{list}");
    assert!(list.contains("I stopped these in October."));

    let stored = block_on(portal.store().comments("person-1")).unwrap();
    assert_eq!(stored.len(), 1);
    let answer = Answer { status: CommentStatus::Corrected, response: "Thank you: taken off your list.", responded_by: "Brookside Home Care" };
    block_on(portal.store().answer_comment("person-1", &stored[0].id, 1, &answer, portal.now.get())).unwrap();
    let list = text(&portal.get("/people/person-1/comments"));
    assert!(list.contains("Corrected") && list.contains("Brookside Home Care answered on") && list.contains("Thank you: taken off your list."), "{list}");
    let log = text(&portal.get("/access-log?mine=yes"));
    assert!(log.contains("asked for a correction to Paracetamol 500 mg tablets"), "{log}");
}

#[test]
fn forged_entries_and_bad_text_write_nothing() {
    let portal = margaret();
    for (fields, status) in [
        (vec![("category", "medication"), ("entry", "med-arthur"), ("kind", "comment"), ("body", "x")], 404),
        (vec![("category", "medication"), ("entry", "med-404"), ("kind", "comment"), ("body", "x")], 404),
        (vec![("category", "passwords"), ("kind", "comment"), ("body", "x")], 400),
        (vec![("category", "access_log"), ("kind", "comment"), ("body", "x")], 400),
        (vec![("category", "care_plan"), ("kind", "complaint"), ("body", "x")], 400),
        (vec![("category", "care_plan"), ("kind", "comment"), ("body", "   ")], 400),
    ] {
        assert_eq!(send(&portal, "person-1", &fields).status(), status, "{fields:?}");
    }
    let long = "a".repeat(2001);
    let response = send(&portal, "person-1", &[("category", "care_plan"), ("kind", "comment"), ("body", &long)]);
    assert_eq!(response.status(), 400);
    assert!(text(&response).contains("Write your comment, in up to 2,000 characters"));
    assert_eq!(send(&portal, "person-2", &[("category", "care_plan"), ("kind", "comment"), ("body", "hello")]).status(), 404, "not Arthur's record");
    assert_eq!(portal.get("/people/person-1/comments/new?category=medication&entry=med-arthur").status(), 404);
    assert!(block_on(portal.store().comments("person-1")).unwrap().is_empty());
    assert!(block_on(portal.store().comments("person-2")).unwrap().is_empty());
}

#[test]
fn a_viewer_cannot_comment_but_a_contributor_can_and_sees_only_their_categories() {
    let portal = margaret();
    assert_eq!(send(&portal, "person-1", &[("category", "care_plan"), ("kind", "comment"), ("body", "The review date is wrong.")]).status(), 303);
    let viewer = daughter(&portal, &[Action::View]);
    assert!(!text(&viewer.get("/people/person-1/medicines")).contains("Comment or ask for a correction"));
    assert_eq!(viewer.get("/people/person-1/comments/new?category=medication").status(), 404);
    assert_eq!(send(&viewer, "person-1", &[("category", "medication"), ("kind", "comment"), ("body", "x")]).status(), 404);
    let list = text(&viewer.get("/people/person-1/comments"));
    assert!(!list.contains("The review date is wrong."), "the care plan is not hers to see");

    // With "contribute" she can comment, and it is recorded as acting for Margaret.
    let store = portal.store();
    let grant = block_on(store.grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.id == "grant-person-dana").unwrap();
    let wider = Grant { actions: BTreeSet::from([Action::View, Action::Contribute]), ..grant };
    block_on(store.update_grant(&wider, portal.now.get(), None)).unwrap();
    assert!(text(&viewer.get("/people/person-1/medicines")).contains("Comment or ask for a correction"));
    let response =
        send(&viewer, "person-1", &[("category", "medication"), ("entry", "med-1"), ("kind", "comment"), ("body", "Mum takes these with breakfast.")]);
    assert_eq!(response.status(), 303);
    assert_eq!(send(&viewer, "person-1", &[("category", "care_plan"), ("kind", "comment"), ("body", "x")]).status(), 404, "only the granted category");
    let comments = block_on(store.comments("person-1")).unwrap();
    let hers = comments.iter().find(|comment| comment.author_id == "person-dana").unwrap();
    assert_eq!(hers.acting_for.as_deref(), Some("person-1"));
    let margaret_sees = text(&portal.get("/people/person-1/comments"));
    assert!(margaret_sees.contains("Sent by Dana Okafor") && margaret_sees.contains("Sent by you"), "{margaret_sees}");
}

#[test]
fn script_in_a_comment_is_text_everywhere_it_is_shown() {
    let portal = margaret();
    let script = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    assert_eq!(send(&portal, "person-1", &[("category", "medication"), ("entry", "med-1"), ("kind", "comment"), ("body", script)]).status(), 303);
    let stored = block_on(portal.store().comments("person-1")).unwrap();
    assert_eq!(stored[0].body, script, "kept exactly as written");
    for page in ["/people/person-1/comments", "/access-log"] {
        let html = text(&portal.get(page));
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x"), "{page} shows it as text");
    }
    assert!(text(&portal.get("/people/person-1/comments")).contains("&lt;script&gt;alert("));
}
