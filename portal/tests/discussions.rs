//! Consent discussions through the router: the person confirms or disputes what the provider
//! wrote; someone acting for them may answer for them; nobody else sees them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::discussion::{Discussion, Method, Participant, Role as Part, Status, Topic};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::store::discussion::Recorded;
use carefront_shared::store::{DiscussionStore, Store};
use chrono::Duration;
use pollster::block_on;
use support::{Portal, ResidentSoftPasskey, text};

fn margaret_with_a_discussion() -> Portal {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(portal.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_organisation(&Organisation {
        id: "org-care".into(),
        kind: OrganisationKind::Provider,
        name: "Brookside Home Care".into(),
        created_at: now,
    }))
    .unwrap();
    let discussion = Discussion {
        id: "d1".into(),
        person_id: "person-1".into(),
        organisation_id: "org-care".into(),
        held_on: now.date_naive() - Duration::days(1),
        method: Method::Phone,
        participants: vec![Participant { role: Part::Person, name: "Margaret Okafor".into() }, Participant { role: Part::Staff, name: "Priya Shah".into() }],
        covered: vec![Topic::WhoCanSee, Topic::ChangingTheirMind],
        decisions: "Sam may see the medicines.".into(),
        persons_words: "Sam helps with my tablets.".into(),
        recorded_by: "Priya Shah".into(),
        recorded_at: now,
        status: Status::Awaiting,
        response: None,
        responded_by: None,
        acting_for: None,
        responded_at: None,
        version: 1,
    };
    assert!(matches!(block_on(store.insert_discussion(&discussion, Some("key-1"))).unwrap(), Recorded::New(_)));
    // A retried write with the same key is the same discussion, not a second one.
    let retry = Discussion { id: "d1-retry".into(), ..discussion };
    assert!(matches!(block_on(store.insert_discussion(&retry, Some("key-1"))).unwrap(), Recorded::Existing(existing) if existing.id == "d1"));
    assert_eq!(block_on(store.discussions("person-1")).unwrap().len(), 1);
    portal
}

fn answer(browser: &Portal, fields: &[(&str, &str)]) -> carefront_portal::Response {
    let csrf = browser.csrf_from("/home");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form("/people/person-1/discussions/d1", &all)
}

#[test]
fn the_person_checks_and_confirms_what_was_written() {
    let portal = margaret_with_a_discussion();
    let home = text(&portal.get("/home"));
    assert!(home.contains("Your care provider wrote down a conversation with you about your information."), "{home}");
    let page = text(&portal.get("/people/person-1/discussions"));
    assert!(
        page.contains("Brookside Home Care") && page.contains("Sam helps with my tablets.") && page.contains("Who can see which parts of your information"),
        "{page}"
    );
    let response = answer(&portal, &[("version", "1"), ("answer", "right")]);
    assert_eq!(response.status(), 303, "{}", text(&response));
    assert!(!text(&portal.get("/home")).contains("wrote down a conversation"), "nothing left to check");
    let stored = block_on(portal.store().discussion("person-1", "d1")).unwrap().unwrap();
    assert_eq!((stored.status, stored.responded_by.as_deref(), stored.version), (Status::Confirmed, Some("person-1"), 2));
    // Answering again from the old page is a conflict and changes nothing.
    let stale = answer(&portal, &[("version", "1"), ("answer", "not-right"), ("comment", "Changed my mind")]);
    assert_eq!(stale.status(), 409);
    assert_eq!(block_on(portal.store().discussion("person-1", "d1")).unwrap().unwrap().status, Status::Confirmed);
    assert!(text(&portal.get("/access-log?mine=yes")).contains("confirmed the record of a conversation with Brookside Home Care"));
}

#[test]
fn disputing_needs_a_reason_and_bad_answers_write_nothing() {
    let portal = margaret_with_a_discussion();
    assert_eq!(answer(&portal, &[("version", "1")]).status(), 400);
    let response = answer(&portal, &[("version", "1"), ("answer", "not-right"), ("comment", "  ")]);
    assert_eq!(response.status(), 400);
    assert!(text(&response).contains("Say what is not right"));
    assert_eq!(answer(&portal, &[("version", "1"), ("answer", "maybe")]).status(), 400);
    assert_eq!(answer(&portal, &[("version", "one"), ("answer", "right")]).status(), 400);
    let csrf = portal.csrf_from("/home");
    assert_eq!(portal.post_form("/people/person-1/discussions/d404", &[("csrf", &csrf), ("version", "1"), ("answer", "right")]).status(), 404);
    assert_eq!(block_on(portal.store().discussion("person-1", "d1")).unwrap().unwrap().status, Status::Awaiting);
    let response = answer(&portal, &[("version", "1"), ("answer", "not-right"), ("comment", "Sam may see my visits too.")]);
    assert_eq!(response.status(), 303);
    let stored = block_on(portal.store().discussion("person-1", "d1")).unwrap().unwrap();
    assert_eq!((stored.status, stored.response.as_deref()), (Status::Disputed, Some("Sam may see my visits too.")));
}

#[test]
fn only_someone_acting_for_the_person_may_answer_for_them() {
    let portal = margaret_with_a_discussion();
    let store = portal.store();
    let now = portal.now.get();
    let mut browsers = Vec::new();
    for (id, act_for, seed) in [("person-viewer", false, 51), ("person-attorney", true, 52)] {
        block_on(store.insert_person(&Person {
            id: id.into(),
            role: Role::Representative,
            display_name: id.into(),
            organisation_id: None,
            webauthn_handle: uuid::Uuid::from_u128(u128::from(seed)),
            created_at: now,
        }))
        .unwrap();
        let grant = Grant {
            id: format!("grant-{id}"),
            version: 1,
            subject_id: "person-1".into(),
            grantee: Grantee::Person(id.into()),
            categories: Category::ALL.into_iter().collect::<BTreeSet<_>>(),
            actions: BTreeSet::from([Action::View]),
            act_for,
            purpose: "help".into(),
            starts_at: now,
            ends_at: None,
            basis: if act_for { Basis::LastingPowerOfAttorney } else { Basis::Consent },
            evidence: act_for.then(|| "LPA".into()),
            recorded_by: "person-1".into(),
            revoked_at: None,
        };
        block_on(store.insert_grant(&grant, now, None)).unwrap();
        let (invitation, code) = invitation::issue(id, None, now, DEFAULT_LIFETIME, &portal.random);
        block_on(store.insert_invitation(&invitation)).unwrap();
        let browser = portal.other_browser(seed);
        assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
        browsers.push(browser);
    }
    let (viewer, attorney) = (&browsers[0], &browsers[1]);
    assert_eq!(viewer.get("/people/person-1/discussions").status(), 404);
    assert_eq!(answer(viewer, &[("version", "1"), ("answer", "right")]).status(), 404);
    assert_eq!(attorney.get("/people/person-1/discussions").status(), 200);
    assert_eq!(answer(attorney, &[("version", "1"), ("answer", "right")]).status(), 303);
    let stored = block_on(store.discussion("person-1", "d1")).unwrap().unwrap();
    assert_eq!((stored.responded_by.as_deref(), stored.acting_for.as_deref()), (Some("person-attorney"), Some("person-1")));
}
