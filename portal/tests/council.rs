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
    assert!(text(&council.get("/council/monitoring/org-care/people")).contains("href=\"/people/person-2\""));
    assert!(text(&council.get("/home")).contains("Monitoring report"));
    let log = block_on(store.audit_for_subject(&support::own_record("person-1"), 10)).unwrap();
    assert!(log.iter().all(|event| event.action != "monitoring.viewed"), "the report is audited, but not as a look at one person's record");

    let provider = staff(&portal, "person-priya", Role::ProviderStaff, "org-care", 62);
    assert_eq!(provider.get("/council/monitoring").status(), 404);
    // Council staff of an organisation that is not a council are not council staff.
    let impostor = staff(&portal, "person-fake", Role::CouncilStaff, "org-care", 63);
    assert_eq!(impostor.get("/council/monitoring").status(), 404);
}

/// A grant of `person`'s care plan to `organisation`, from `now` until `ends` (if given).
fn grant_to(portal: &Portal, person: &str, organisation: &str, ends: Option<chrono::DateTime<chrono::Utc>>) {
    let store = portal.store();
    let now = portal.now.get();
    let grant = Grant {
        id: format!("grant-{organisation}-{person}"),
        version: 1,
        subject_id: person.into(),
        grantee: Grantee::Organisation(organisation.into()),
        categories: BTreeSet::from([Category::CarePlan]),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "care".into(),
        starts_at: now - Duration::days(30),
        ends_at: ends,
        basis: Basis::Consent,
        evidence: None,
        recorded_by: person.into(),
        revoked_at: None,
    };
    block_on(store.insert_grant(&grant, now, None)).unwrap();
}

/// A page's text with the slashes auto-escaping wrote as entities in attribute values put back
/// as the browser reads them.
fn read(response: &http::Response<Vec<u8>>) -> String {
    text(response).replace("&#x2f;", "/")
}

/// The links to people's records on a page.
fn record_links(page: &str) -> Vec<String> {
    page.match_indices("href=\"/people/").map(|(at, _)| page[at + 14..].split('"').next().unwrap().to_owned()).collect()
}

/// Regression: the monitoring report listed every person each provider supports, reading each
/// of them from the store one by one — at a county's scale tens of thousands of links and of
/// queries on one page. The report now gives the figures and a link to a list a page at a time.
#[test]
fn monitoring_report_listed_every_supported_person_one_query_each() {
    let portal = Portal::new();
    let store = portal.store();
    let now = portal.now.get();
    for (id, kind, name) in [
        ("org-council", OrganisationKind::Council, "Northshire"),
        ("org-care", OrganisationKind::Provider, "Brookside Home Care"),
        ("org-other", OrganisationKind::Provider, "Riverside Care"),
    ] {
        block_on(store.insert_organisation(&Organisation { id: id.into(), kind, name: name.into(), created_at: now })).unwrap();
    }
    let handles = std::cell::Cell::new(9_000u128);
    let person = |id: &str| Person {
        id: id.into(),
        role: Role::ServiceUser,
        display_name: format!("Name of {id}"),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(handles.replace(handles.get() + 1)),
        created_at: now,
    };
    for index in 0..120 {
        let id = format!("person-{index:03}");
        block_on(store.insert_person(&person(&id))).unwrap();
        grant_to(&portal, &id, "org-care", None);
    }
    // Supported by the other provider only, and no longer by Brookside.
    block_on(store.insert_person(&person("person-elsewhere"))).unwrap();
    grant_to(&portal, "person-elsewhere", "org-other", None);
    block_on(store.insert_person(&person("person-ended"))).unwrap();
    grant_to(&portal, "person-ended", "org-care", Some(now - Duration::days(1)));

    let council = staff(&portal, "person-daniel", Role::CouncilStaff, "org-council", 71);
    let report = read(&council.get("/council/monitoring"));
    assert!(report.contains("See the 120 people Brookside Home Care supports"), "{report}");
    assert!(report.contains("href=\"/council/monitoring/org-care/people\""));
    assert!(report.contains("See the 1 person Riverside Care supports"));
    assert!(report.contains("Counted ") && report.contains("at least every 15 minutes"), "each provider's figures say when they were counted");
    assert_eq!(record_links(&report), Vec::<String>::new(), "the report names nobody");

    let first = read(&council.get("/council/monitoring/org-care/people"));
    assert!(first.contains("Name of person-000") && first.contains("statutory access"), "{first}");
    let second_path = "/council/monitoring/org-care/people?after=person-049";
    assert!(first.contains(&format!("href=\"{second_path}\"")), "{first}");
    assert!(!first.contains("Back to the start of the list"));
    let second = read(&council.get(second_path));
    assert!(second.contains("href=\"/council/monitoring/org-care/people?after=person-099\"") && second.contains("Back to the start of the list"));
    let third = read(&council.get("/council/monitoring/org-care/people?after=person-099"));
    assert!(!third.contains("Next 50 people"), "{third}");
    let pages = [record_links(&first), record_links(&second), record_links(&third)];
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
    let everyone: Vec<String> = pages.concat();
    assert_eq!(everyone, (0..120).map(|index| format!("person-{index:03}")).collect::<Vec<_>>(), "each once, in order, and only Brookside's people today");
    let past_the_end = read(&council.get("/council/monitoring/org-care/people?after=person-999"));
    assert!(past_the_end.contains("There is no one more on this list."), "{past_the_end}");
    let riverside = read(&council.get("/council/monitoring/org-other/people"));
    assert_eq!(record_links(&riverside), ["person-elsewhere"]);

    // Only a provider's list; a made-up page is refused plainly.
    assert_eq!(council.get("/council/monitoring/org-council/people").status(), 404);
    assert_eq!(council.get("/council/monitoring/org-nobody/people").status(), 404);
    assert_eq!(council.get(&format!("/council/monitoring/org-care/people?after={}", "x".repeat(201))).status(), 400);
    // Not for a provider's staff, not even their own list.
    let provider = staff(&portal, "person-priya", Role::ProviderStaff, "org-care", 72);
    assert_eq!(provider.get("/council/monitoring/org-care/people").status(), 404);
    // The list is the council's look at who a provider supports, not a look at anyone's record.
    let log = block_on(store.audit_for_subject(&support::own_record("person-000"), 10)).unwrap();
    assert!(log.iter().all(|event| event.action != "monitoring.viewed"));
}
