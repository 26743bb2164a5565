//! The organisation lists as paged SQL joins: paging through many people and comments gives
//! each one once, in order, and only what the consent decision allows — never another
//! provider's people, never someone whose grant was revoked, ended or not yet started, never a
//! comment on a category the organisation may not see — and each listed person is audited once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Basis, Category, Grant};
use carefront_shared::credential::Permission;
use carefront_shared::store::{Store, VoiceStore};
use chrono::Duration;
use serde_json::Value;
use support::{Api, OTHER_PROVIDER, PROVIDER};

fn ids(body: &Value, key: &str) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|item| item[key].as_str().unwrap().to_owned()).collect()
}

/// Every page of `path`, following `next`.
fn every_page(api: &Api, held: &support::Held, path: &str, key: &str) -> (Vec<String>, usize) {
    let (mut all, mut pages, mut next) = (Vec::new(), 0, Some(path.to_owned()));
    while let Some(path) = next {
        let reply = api.get(held, &path);
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        all.extend(ids(&reply.body, key));
        pages += 1;
        next = reply.body["next"].as_str().map(str::to_owned);
    }
    (all, pages)
}

/// 30 more people the provider supports (beside Margaret and Arthur), and around them the ones
/// it must not see.
fn county() -> Api {
    let api = Api::new();
    for index in 0..40 {
        let id = format!("person-{index:03}");
        api.person(&id, &format!("Person {index}"));
        let categories: &[Category] = if index % 2 == 0 { &[Category::CarePlan] } else { &[Category::Medication] };
        match index {
            // Another provider's people.
            30..=33 => drop(api.grant(&format!("g-{id}"), &id, OTHER_PROVIDER, categories, Basis::Consent)),
            // Revoked, ended, not yet started.
            34 | 35 => {
                let grant = api.grant(&format!("g-{id}"), &id, PROVIDER, categories, Basis::Consent);
                let stopped = if index == 34 {
                    Grant { revoked_at: Some(api.now.get()), ..grant }
                } else {
                    Grant { starts_at: api.now.get() - Duration::days(10), ends_at: Some(api.now.get() - Duration::days(1)), ..grant }
                };
                pollster::block_on(api.store().update_grant(&stopped, api.now.get(), None)).unwrap();
            }
            36 => {
                let grant = api.grant(&format!("g-{id}"), &id, PROVIDER, categories, Basis::Consent);
                let later = Grant { starts_at: api.now.get() + Duration::days(3), ..grant };
                pollster::block_on(api.store().update_grant(&later, api.now.get(), None)).unwrap();
            }
            37..=39 => {}
            _ => drop(api.grant(&format!("g-{id}"), &id, PROVIDER, categories, Basis::Consent)),
        }
        // Two comments each: one on the care plan, one on medicines.
        api.seed_comment(&id, &format!("c-{id}-plan"), Category::CarePlan, index * 2);
        api.seed_comment(&id, &format!("c-{id}-medicines"), Category::Medication, index * 2 + 1);
    }
    api
}

#[test]
fn paging_through_people_lists_each_supported_person_once_and_no_one_else() {
    let api = county();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    let (people, pages) = every_page(&api, &held, "/api/v1/people?limit=7", "id");
    let mut expected: Vec<String> = (0..30).map(|index| format!("person-{index:03}")).collect();
    expected.extend(["person-arthur".to_owned(), "person-margaret".to_owned()]);
    assert_eq!(people, expected);
    assert_eq!(pages, 5);
    for index in 0..40 {
        let id = format!("person-{index:03}");
        let listed = api.audit_actions(&id).iter().filter(|action| *action == "api.person_listed").count();
        assert_eq!(listed, usize::from(index < 30), "{id} is audited once if listed, never otherwise");
    }
    // The other provider sees only its own four.
    let other = api.credential(OTHER_PROVIDER, &[Permission::PeopleRead]);
    let (theirs, _) = every_page(&api, &other, "/api/v1/people?limit=3", "id");
    assert_eq!(theirs, ["person-030", "person-031", "person-032", "person-033", "person-olive"]);
}

#[test]
fn paging_through_comments_shows_only_granted_categories_newest_first() {
    let api = county();
    let held = api.credential(PROVIDER, &[Permission::CommentsWrite]);
    let (comments, _) = every_page(&api, &held, "/api/v1/comments?status=open&limit=4", "id");
    // Even people: the care plan comment; odd: the medicines one; newest first.
    let expected: Vec<String> =
        (0..30).rev().map(|index| if index % 2 == 0 { format!("c-person-{index:03}-plan") } else { format!("c-person-{index:03}-medicines") }).collect();
    assert_eq!(comments, expected);
    let (unfiltered, _) = every_page(&api, &held, "/api/v1/comments?limit=5", "id");
    assert_eq!(unfiltered, expected);
    for index in 30..40 {
        assert!(api.audit_actions(&format!("person-{index:03}")).is_empty(), "nothing read about person {index}");
    }
    let store_comments = pollster::block_on(api.store().comments("person-031")).unwrap();
    assert_eq!(store_comments.len(), 2, "the other provider's person has comments, unseen");
}

/// Regression: `GET /api/v1/consent-discussions` read every grant the organisation holds and
/// every discussion it ever recorded at each request, then paged in memory. It is now a paged
/// join: paging through gives each discussion with someone it supports now once, newest first
/// (a tie on the day and time by id), never one with someone whose grant is revoked, ended or
/// not yet started, nor another provider's, and each person on a page is audited once.
#[test]
fn discussions_list_read_every_grant_and_discussion_of_the_organisation() {
    let api = county();
    for index in 0..40 {
        api.seed_discussion(&format!("person-{index:03}"), PROVIDER, &format!("d-{index:03}"), index);
    }
    api.seed_discussion("person-000", PROVIDER, "d-000-b", 0);
    api.seed_discussion("person-001", OTHER_PROVIDER, "d-theirs", 0);
    let held = api.credential(PROVIDER, &[Permission::ConsentDiscussionsWrite]);
    let (discussions, pages) = every_page(&api, &held, "/api/v1/consent-discussions?limit=4", "id");
    let mut expected = vec!["d-000-b".to_owned()];
    expected.extend((0..30).map(|index| format!("d-{index:03}")));
    assert_eq!(discussions, expected);
    assert_eq!(pages, 8);
    for index in 0..40 {
        let id = format!("person-{index:03}");
        let read = api.audit_actions(&id).iter().filter(|action| *action == "api.consent_discussions_read").count();
        assert_eq!(read, usize::from(index < 30), "{id} is audited once if listed, never otherwise");
    }
    let (since, _) = every_page(&api, &held, "/api/v1/consent-discussions?limit=3&since=2026-11-18&status=awaiting", "id");
    assert_eq!(since, ["d-000-b", "d-000", "d-001", "d-002", "d-003"], "held on or after November 18th");
    // A cursor of the right scope whose key is not a discussion's is refused plainly.
    use base64::Engine as _;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("organisation-discussions:2026-11-20");
    let bad = api.get(&held, &format!("/api/v1/consent-discussions?cursor={forged}"));
    assert_eq!(bad.status, 400, "a cursor that names no discussion: {:#}", bad.body);
}
