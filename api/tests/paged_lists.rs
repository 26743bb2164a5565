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
