//! Format and communication needs through the API: a person's live needs with their SNOMED CT
//! codes where the organisation may see their preferences, and a changes feed that only ever
//! holds the people the organisation supports now with that category.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Basis, Category, Grant};
use carefront_shared::credential::Permission;
use carefront_shared::needs::Need;
use carefront_shared::store::{Store, VoiceStore};
use serde_json::Value;
use support::{Api, Held, OTHER_PROVIDER, PROVIDER, problem_type};

fn api() -> Api {
    let api = Api::new();
    for person in ["person-margaret", "person-arthur"] {
        api.grant(&format!("grant-{person}-preferences"), person, PROVIDER, &[Category::Preferences], Basis::Consent);
    }
    api.grant("grant-olive-preferences", "person-olive", OTHER_PROVIDER, &[Category::Preferences], Basis::Consent);
    api
}

fn reader(api: &Api) -> Held {
    api.credential(PROVIDER, &[Permission::NeedsRead])
}

fn people(body: &Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|item| item["personId"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_persons_needs_come_with_their_snomed_codes() {
    let api = api();
    api.seed_needs("person-margaret", &[Need::LargePrint24, Need::NoPaperCopies, Need::Other], 1);
    let reply = api.get(&reader(&api), "/api/v1/people/person-margaret/needs");
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let large_print = items.iter().find(|item| item["need"] == "large_print_24").unwrap();
    assert_eq!(
        large_print["snomed"],
        serde_json::json!({ "system": "http://snomed.info/sct", "code": "957351000000102", "display": "Requires written information in at least 24 point sans serif font" })
    );
    assert_eq!(large_print["label"], "Large print (at least 24 point)");
    let other = items.iter().find(|item| item["need"] == "other").unwrap();
    assert_eq!((other["snomed"].clone(), other["detail"].as_str()), (Value::Null, Some("Speak slowly")));
    assert!(api.audit_actions("person-margaret").contains(&"api.preferences_read".to_owned()));

    // The provider may not see Olive's preferences; the other provider may.
    assert_eq!(api.get(&reader(&api), "/api/v1/people/person-olive/needs").status, 404);
    let other_provider = api.credential(OTHER_PROVIDER, &[Permission::NeedsRead]);
    assert_eq!(api.get(&other_provider, "/api/v1/people/person-olive/needs").status, 200);
    // The record permission does not open needs.
    let record = api.credential(PROVIDER, &[Permission::RecordRead]);
    assert_eq!(api.get(&record, "/api/v1/people/person-margaret/needs").status, 403);
}

#[test]
fn the_changes_feed_holds_only_people_the_organisation_supports_now() {
    let api = api();
    api.seed_needs("person-margaret", &[Need::EasyRead], 1);
    api.seed_needs("person-olive", &[Need::Braille], 2);
    api.seed_needs("person-arthur", &[Need::BslInterpreter], 3);
    let held = reader(&api);
    let reply = api.get(&held, "/api/v1/needs/changes");
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(people(&reply.body), ["person-margaret", "person-arthur"], "never Olive");
    assert_eq!(reply.body["items"][1]["need"]["snomed"]["code"], "204331000000107");
    assert_eq!(reply.body["items"][0]["change"], "recorded");
    let position = reply.body["after"].as_i64().unwrap();
    assert_eq!(position, reply.body["items"][1]["seq"].as_i64().unwrap());
    assert_eq!(reply.body["next"], Value::Null);
    assert!(api.audit_actions("person-olive").is_empty());
    assert!(api.audit_actions("person-arthur").contains(&"api.need_changes_read".to_owned()));

    // Up to date: nothing new, the same position.
    let quiet = api.get(&held, &format!("/api/v1/needs/changes?after={position}"));
    assert_eq!((people(&quiet.body).len(), quiet.body["after"].as_i64()), (0, Some(position)));

    // Margaret ends her need; Olive records another; Arthur's preferences grant is revoked.
    let margaret = pollster::block_on(api.store().needs("person-margaret", false)).unwrap();
    pollster::block_on(api.store().change_needs("person-margaret", &[margaret[0].id.clone()], &[], "person-margaret", api.now.get())).unwrap();
    api.seed_needs("person-olive", &[Need::EasyRead], 4);
    api.seed_needs("person-arthur", &[Need::ContactByLetter], 5);
    let arthur_grant = pollster::block_on(api.store().grants_for_subject("person-arthur"))
        .unwrap()
        .into_iter()
        .find(|grant| grant.id == "grant-person-arthur-preferences")
        .unwrap();
    pollster::block_on(api.store().update_grant(&Grant { revoked_at: Some(api.now.get()), ..arthur_grant }, api.now.get(), None)).unwrap();
    let later = api.get(&held, &format!("/api/v1/needs/changes?after={position}"));
    assert_eq!(people(&later.body), ["person-margaret"], "{:#}", later.body);
    assert_eq!(later.body["items"][0]["change"], "ended");
    assert!(later.body["items"][0]["need"]["endedAt"].is_string());
    // From the start, Arthur has gone too.
    assert_eq!(people(&api.get(&held, "/api/v1/needs/changes").body), ["person-margaret", "person-margaret"]);
}

#[test]
fn the_feed_comes_in_pages_and_refuses_bad_positions() {
    let api = api();
    for minute in 0..5 {
        api.seed_needs(if minute % 2 == 0 { "person-margaret" } else { "person-olive" }, &[Need::ALL[minute as usize]], minute);
        api.seed_needs("person-arthur", &[Need::ALL[minute as usize + 5]], minute + 10);
    }
    let held = reader(&api);
    let (mut seen, mut path, mut pages) = (Vec::new(), "/api/v1/needs/changes?limit=3".to_owned(), 0);
    loop {
        let reply = api.get(&held, &path);
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        seen.extend(reply.body["items"].as_array().unwrap().iter().map(|item| item["seq"].as_i64().unwrap()));
        pages += 1;
        match reply.body["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (8, 3), "3 of Margaret's and 5 of Arthur's; never Olive's 2");
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "in feed order: {seen:?}");
    for query in ["after=-1", "after=x", "cursor=abc"] {
        let reply = api.get(&held, &format!("/api/v1/needs/changes?{query}"));
        assert_eq!(reply.status, 400, "{query}");
    }
    assert_eq!(problem_type(&api.get(&held, "/api/v1/needs/changes?after=x")), "bad-position");
}

#[test]
fn the_feed_reaches_everyone_however_many_people_are_supported() {
    // More people than one query binds on D1: the feed asks in groups.
    let api = api();
    for index in 0..150 {
        let id = format!("person-{index:03}");
        api.person(&id, &format!("Person {index}"));
        api.grant(&format!("grant-{id}"), &id, PROVIDER, &[Category::Preferences], Basis::Consent);
        if index % 30 == 0 {
            api.seed_needs(&id, &[Need::EasyRead], index);
        }
    }
    let reply = api.get(&reader(&api), "/api/v1/needs/changes?limit=100");
    assert_eq!(people(&reply.body), ["person-000", "person-030", "person-060", "person-090", "person-120"]);
}
