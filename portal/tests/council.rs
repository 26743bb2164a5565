//! Council staff pages through the router: the monitoring report is for council staff only, and
//! counts what providers evidence.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::discussion::{Discussion, Method, Participant, Role as Part, Status};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::store::{DiscussionStore, Store};
use chrono::Duration;
use pollster::block_on;
use support::{Portal, ResidentSoftPasskey, text};

fn staff(portal: &Portal, id: &str, role: Role, organisation: &str, seed: u64) -> Portal {
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_person(&Person {
        id: id.into(),
        role,
        display_name: id.into(),
        organisation_id: Some(organisation.into()),
        webauthn_handle: uuid::Uuid::from_u128(u128::from(seed) + 500),
        created_at: now,
    }))
    .unwrap();
    let (invitation, code) = invitation::issue(id, None, now, DEFAULT_LIFETIME, &portal.random);
    block_on(store.insert_invitation(&invitation)).unwrap();
    let browser = portal.other_browser(seed);
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

#[test]
fn the_council_sees_each_providers_evidence_and_nobody_else_does() {
    let portal = Portal::new();
    let store = portal.store();
    let now = portal.now.get();
    for (id, kind, name) in [("org-council", OrganisationKind::Council, "Northshire"), ("org-care", OrganisationKind::Provider, "Brookside Home Care")] {
        block_on(store.insert_organisation(&Organisation { id: id.into(), kind, name: name.into(), created_at: now })).unwrap();
    }
    for (index, person) in ["person-1", "person-2"].into_iter().enumerate() {
        let (_, _) = portal.person_with_invitation(person, &format!("Person {index}"));
        block_on(store.insert_grant(
            &Grant {
                id: format!("grant-care-{person}"),
                version: 1,
                subject_id: person.into(),
                grantee: Grantee::Organisation("org-care".into()),
                categories: BTreeSet::from([Category::CarePlan]),
                actions: BTreeSet::from([Action::View]),
                act_for: false,
                purpose: "care".into(),
                starts_at: now,
                ends_at: None,
                basis: Basis::Consent,
                evidence: None,
                recorded_by: person.into(),
                revoked_at: None,
            },
            now,
            None,
        ))
        .unwrap();
    }
    let discussion = Discussion {
        id: "d1".into(),
        person_id: "person-1".into(),
        organisation_id: "org-care".into(),
        held_on: now.date_naive() - Duration::days(10),
        method: Method::HomeVisit,
        participants: vec![Participant { role: Part::Person, name: "Person 0".into() }],
        covered: vec![carefront_shared::discussion::Topic::WhoCanSee],
        decisions: "d".into(),
        persons_words: "w".into(),
        recorded_by: "staff".into(),
        recorded_at: now,
        status: Status::Awaiting,
        response: None,
        responded_by: None,
        acting_for: None,
        responded_at: None,
        version: 1,
    };
    block_on(store.insert_discussion(&discussion, None)).unwrap();
    block_on(store.answer_discussion("person-1", "d1", 1, Status::Confirmed, None, "person-1", None, now)).unwrap();

    let council = staff(&portal, "person-daniel", Role::CouncilStaff, "org-council", 61);
    let page = text(&council.get("/council/monitoring"));
    assert!(page.contains("Brookside Home Care"), "{page}");
    assert!(page.contains("1 of 2 (50%)"), "one of two people confirmed a discussion: {page}");
    assert!(page.contains("href=\"/people/person-2\""));
    assert!(text(&council.get("/home")).contains("Monitoring report"));
    let log = block_on(store.audit_for_subject(&support::own_record("person-1"), 10)).unwrap();
    assert!(log.iter().all(|event| event.action != "monitoring.viewed"), "the report is audited, but not as a look at one person's record");

    let provider = staff(&portal, "person-priya", Role::ProviderStaff, "org-care", 62);
    assert_eq!(provider.get("/council/monitoring").status(), 404);
    // Council staff of an organisation that is not a council are not council staff.
    let impostor = staff(&portal, "person-fake", Role::CouncilStaff, "org-care", 63);
    assert_eq!(impostor.get("/council/monitoring").status(), 404);
}
