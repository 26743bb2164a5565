//! Issue 14, under load: a busy store is retried inside the request (through
//! `carefront_shared::retry::Retrying`, as every runtime entry wires it), and when it stays busy
//! the API answers 503 with `Retry-After` and a reference that is also in the log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::credential::Permission;
use carefront_shared::random::SeededRandom;
use carefront_shared::retry::Retrying;
use support::{Api, NoWait, PROVIDER, problem_type};

#[test]
fn a_store_busy_twice_is_retried_and_the_read_answers() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    let busy = api.busy(2);
    let waits = NoWait::default();
    let random = SeededRandom::new(3);
    let retrying = Retrying::new(&busy, &waits, &random);
    let reply = api.call_over(&retrying, api.signed_get(&held, "/api/v1/people"));
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(2), "{:#}", reply.body);
    assert_eq!(waits.0.borrow().len(), 2);
}

#[test]
fn a_store_that_stays_busy_answers_503_with_retry_after_and_a_reference() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    let busy = api.busy(usize::MAX);
    let waits = NoWait::default();
    let random = SeededRandom::new(3);
    let retrying = Retrying::new(&busy, &waits, &random);
    let reply = api.call_over(&retrying, api.signed_get(&held, "/api/v1/people"));
    assert_eq!((reply.status, problem_type(&reply).as_str()), (503, "store-unavailable"), "{:#}", reply.body);
    assert_eq!(reply.headers["retry-after"], "1");
    let instance = reply.body["instance"].as_str().unwrap_or_default();
    assert!(instance.starts_with("urn:carefront:error:") && instance.len() > "urn:carefront:error:".len(), "{:#}", reply.body);
    // The first call (the credential's lookup) was tried four times, then the request gave up.
    assert_eq!((busy.calls.get(), waits.0.borrow().len()), (4, 3));
    assert!(!reply.body.to_string().contains("database is locked"), "the store's own words are for the log only");
}

#[test]
fn an_unavailable_store_answers_503_with_retry_after_and_a_reference() {
    let api = Api::new();
    let held = api.credential(PROVIDER, &[Permission::PeopleRead]);
    // The credential's use is the request's first write: make it fail as an unreachable store.
    let (reply, failed) = api.call_failing(api.signed_get(&held, "/api/v1/people"), 1);
    assert!(failed);
    assert_eq!((reply.status, problem_type(&reply).as_str()), (503, "store-unavailable"), "{:#}", reply.body);
    assert_eq!(reply.headers["retry-after"], "1");
    assert!(reply.body["instance"].as_str().unwrap_or_default().starts_with("urn:carefront:error:"), "{:#}", reply.body);
}
