//! The people an organisation supports, through the router with signed requests: only live
//! grants, per organisation, cursor pages, 404 for anyone else, and every read audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Basis, Category, Grant};
use carefront_shared::credential::Permission;
use carefront_shared::store::Store;
use chrono::Duration;
use support::{Api, COUNCIL, OTHER_PROVIDER, PROVIDER, problem_type};

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_provider_lists_the_people_it_supports_with_what_it_may_see() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    let reply = api.get(&held, "/api/v1/people");
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(ids(&reply.body), ["person-arthur", "person-margaret"]);
    assert_eq!(reply.body["next"], serde_json::Value::Null);
    assert!(reply.headers.get("link").is_none());
    let margaret = &reply.body["items"][1];
    assert_eq!(margaret["name"], "Margaret Okafor");
    assert_eq!(margaret["href"], "/api/v1/people/person-margaret");
    assert_eq!(
        margaret["categories"],
        serde_json::json!([
            { "category": "care_plan", "actions": ["view", "contribute"] },
            { "category": "medication", "actions": ["view", "contribute"] },
        ])
    );

    // The council sees the same people on its statutory basis, with every category.
    let council = api.credential(COUNCIL, &[Permission::PeopleRead]);
    let reply = api.get(&council, "/api/v1/people");
    assert_eq!(ids(&reply.body), ["person-arthur", "person-margaret"]);
    assert_eq!(reply.body["items"][0]["categories"].as_array().unwrap().len(), Category::ALL.len());

    // The other provider sees only Olive.
    let other = api.credential(OTHER_PROVIDER, &[Permission::PeopleRead]);
    assert_eq!(ids(&api.get(&other, "/api/v1/people").body), ["person-olive"]);
}

#[test]
fn every_person_listed_or_looked_up_is_in_their_access_log() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    api.get(&held, "/api/v1/people");
    assert_eq!(api.audit_actions("person-margaret"), ["api.person_listed"]);
    assert_eq!(api.audit_actions("person-arthur"), ["api.person_listed"]);
    assert!(api.audit_actions("person-olive").is_empty(), "not listed, not logged");

    api.advance(Duration::seconds(1));
    api.get(&held, "/api/v1/people/person-margaret");
    let events = api.audit_events("person-margaret");
    let viewed = &events[0];
    assert_eq!(viewed.action.as_str(), "api.person_viewed");
    assert_eq!(viewed.actor_id.as_deref(), Some(format!("credential:{}", held.key_id).as_str()));
    assert_eq!(viewed.basis.as_ref().map(|basis| basis.as_str()), Some("grant:grant-person-margaret-provider (consent)"));
    assert!(viewed.detail.contains("Brookside Home Care's computer system"), "{}", viewed.detail);
}

#[test]
fn one_person_shows_what_the_organisation_may_see_and_another_organisations_person_is_404() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    let reply = api.get(&held, "/api/v1/people/person-margaret");
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["name"], "Margaret Okafor");
    assert_eq!(reply.body["grants"].as_array().unwrap().len(), 1, "only the grants to this organisation");
    assert_eq!(reply.body["grants"][0]["grantId"], "grant-person-margaret-provider");
    assert_eq!(reply.body["grants"][0]["basis"], "consent");

    for path in ["/api/v1/people/person-olive", "/api/v1/people/person-nobody"] {
        let reply = api.get(&held, path);
        assert_eq!((reply.status, reply.content_type.as_str()), (404, "application/problem+json"), "{path}");
    }
    assert_eq!(api.get(&held, "/api/v1/people/person-olive").body, api.get(&held, "/api/v1/people/person-nobody").body, "no oracle");
    assert!(api.audit_actions("person-olive").is_empty());
}

#[test]
fn revoked_expired_and_future_grants_open_nothing() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    let store = api.store();
    let mut grants = pollster::block_on(store.grants_for_subject("person-margaret")).unwrap();
    let provider_grant = grants.iter_mut().find(|grant| grant.id == "grant-person-margaret-provider").unwrap();
    let revoked = Grant { revoked_at: Some(api.now.get()), ..provider_grant.clone() };
    pollster::block_on(store.update_grant(&revoked, api.now.get(), None)).unwrap();
    assert_eq!(ids(&api.get(&held, "/api/v1/people").body), ["person-arthur"], "revoked: gone at once");
    assert_eq!(api.get(&held, "/api/v1/people/person-margaret").status, 404);

    api.person("person-ada", "Ada Lovelace");
    let mut future = api.grant("grant-ada", "person-ada", PROVIDER, &[Category::CarePlan], Basis::Consent);
    future.version = 1;
    future.starts_at = api.now.get() + Duration::days(1);
    pollster::block_on(store.update_grant(&future, api.now.get(), None)).unwrap();
    assert_eq!(api.get(&held, "/api/v1/people/person-ada").status, 404, "not started");

    api.person("person-bob", "Bob Smith");
    let mut ending = api.grant("grant-bob", "person-bob", PROVIDER, &[Category::CarePlan], Basis::Consent);
    ending.ends_at = Some(api.now.get() + Duration::hours(1));
    pollster::block_on(store.update_grant(&ending, api.now.get(), None)).unwrap();
    assert_eq!(api.get(&held, "/api/v1/people/person-bob").status, 200);
    api.advance(Duration::hours(1));
    assert_eq!(api.get(&held, "/api/v1/people/person-bob").status, 404, "expired");
    assert!(!ids(&api.get(&held, "/api/v1/people").body).contains(&"person-bob".to_owned()));
}

#[test]
fn pages_follow_next_links_until_everyone_is_seen_once() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    for index in 0..7 {
        let id = format!("person-{index:02}");
        api.person(&id, &format!("Person {index}"));
        api.grant(&format!("grant-{id}"), &id, PROVIDER, &[Category::CarePlan], Basis::Consent);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/people?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let reply = api.get(&held, &path);
        assert_eq!(reply.status, 200, "{path}: {:#}", reply.body);
        let page = ids(&reply.body);
        assert!(page.len() <= 3);
        seen.extend(page);
        pages += 1;
        match reply.body["next"].as_str() {
            Some(next) => {
                assert_eq!(reply.headers["link"].to_str().unwrap(), format!("<{next}>; rel=\"next\""));
                path = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = (0..7).map(|index| format!("person-{index:02}")).collect();
    expected.extend(["person-arthur".to_owned(), "person-margaret".to_owned()]);
    assert_eq!(seen, expected, "every person once, in id order");

    // A person added behind the cursor does not shift later pages.
    let first = api.get(&held, "/api/v1/people?limit=2");
    let next = first.body["next"].as_str().unwrap().to_owned();
    api.person("person-000", "Early");
    api.grant("grant-early", "person-000", PROVIDER, &[Category::CarePlan], Basis::Consent);
    assert_eq!(ids(&api.get(&held, &next).body)[0], "person-02");
}

#[test]
fn bad_page_queries_are_400_problems() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    for (query, slug) in [
        ("limit=0", "bad-limit"),
        ("limit=101", "bad-limit"),
        ("limit=ten", "bad-limit"),
        ("cursor=bm90LW91cnM", "bad-cursor"),
        ("sort=name", "unknown-parameter"),
        ("limit=1&limit=2", "malformed-query"),
    ] {
        let reply = api.get(&held, &format!("/api/v1/people?{query}"));
        assert_eq!((reply.status, problem_type(&reply).as_str()), (400, slug), "{query}");
    }
    assert_eq!(api.get(&held, "/api/v1/people?limit=100").status, 200);
}
