//! Regression tests for the trust findings of issue 9 that live in the portal's pages: act-for
//! self-escalation (2), the paper copy's leak (4), changes that stopped halfway (8) and a
//! free-text need shown past its grant (12). Each is named after its finding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::access::AuditAction;
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::db::Database;
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::needs::{Need, RecordedNeed};
use carefront_shared::record::{Contact, ContactKind};
use carefront_shared::store::{RecordStore, Store, VoiceStore};
use chrono::Duration;
use support::{Portal, ResidentSoftPasskey, csrf_in, text};

fn page(response: &carefront_portal::Response) -> String {
    text(response).replace("&#x27;", "'").replace("&#x2f;", "/").replace("&quot;", "\"").replace("&amp;", "&")
}

fn person(portal: &Portal, id: &str, name: &str, handle: u128) {
    let person = Person {
        id: id.into(),
        role: Role::Representative,
        display_name: name.into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(handle),
        created_at: portal.now.get(),
    };
    pollster::block_on(portal.store().insert_person(&person)).unwrap();
}

fn grant(portal: &Portal, id: &str, grantee: &str, categories: &[Category], act_for: bool) {
    let now = portal.now.get();
    let grant = Grant {
        id: id.into(),
        version: 1,
        subject_id: "person-1".into(),
        grantee: Grantee::Person(grantee.into()),
        categories: categories.iter().copied().collect(),
        actions: BTreeSet::from([Action::View]),
        act_for,
        purpose: "to help with my care".into(),
        starts_at: now,
        ends_at: Some(now + Duration::days(100)),
        basis: Basis::Consent,
        evidence: None,
        recorded_by: "person-1".into(),
        revoked_at: None,
    };
    pollster::block_on(portal.store().insert_grant(&grant, now, None)).unwrap();
}

fn enrol_as(portal: &Portal, person_id: &str, seed: u64) -> Portal {
    let browser = portal.other_browser(seed);
    let (invitation, code) =
        carefront_shared::invitation::issue(person_id, None, browser.now.get(), carefront_shared::invitation::DEFAULT_LIFETIME, &browser.random);
    pollster::block_on(browser.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

/// Margaret (person-1, signed in, with a contact on her record); Sam acts for her with her care
/// plan and medicines only; Cy sees her care plan and medicines, without acting for her.
fn world() -> (Portal, Portal, Portal) {
    let margaret = Portal::new();
    let (_, code) = margaret.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(margaret.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let council =
        Organisation { id: "org-council".into(), kind: OrganisationKind::Council, name: "Northshire County Council".into(), created_at: margaret.now.get() };
    pollster::block_on(margaret.store().insert_organisation(&council)).unwrap();
    person(&margaret, "person-sam", "Sam Okafor", 77);
    person(&margaret, "person-cy", "Cy Okafor", 78);
    grant(&margaret, "grant-sam", "person-sam", &[Category::CarePlan, Category::Medication], true);
    grant(&margaret, "grant-cy", "person-cy", &[Category::CarePlan, Category::Medication], false);
    let contact = Contact {
        id: "contact-1".into(),
        person_id: "person-1".into(),
        kind: ContactKind::Family,
        name: "Wendy Secret-Number".into(),
        role: "Neighbour".into(),
        phone: "01632 960 999".into(),
        email: String::new(),
        available: String::new(),
        position: 1,
    };
    pollster::block_on(margaret.store().upsert_contact(&contact)).unwrap();
    let sam = enrol_as(&margaret, "person-sam", 11);
    let cy = enrol_as(&margaret, "person-cy", 12);
    (margaret, sam, cy)
}

fn count(portal: &Portal, table: &str) -> i64 {
    pollster::block_on(portal.db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap()[0].integer(0).unwrap()
}

fn add_someone(browser: &Portal, path: &str, categories: &[&str], extra: &[(&str, &str)]) -> carefront_portal::Response {
    let form = page(&browser.get(path));
    let csrf = csrf_in(&form).unwrap_or_else(|| panic!("no form at {path}: {form}"));
    post_add(browser, path, &csrf, categories, extra)
}

fn post_add(browser: &Portal, path: &str, csrf: &str, categories: &[&str], extra: &[(&str, &str)]) -> carefront_portal::Response {
    let mut fields = vec![("csrf", csrf), ("name", "Eve Stranger"), ("ends-day", "1"), ("ends-month", "2"), ("ends-year", "2027"), ("purpose", "to help")];
    fields.extend(categories.iter().map(|category| ("categories", *category)));
    fields.extend_from_slice(extra);
    browser.post_form(path, &fields)
}

#[test]
fn finding_2_someone_acting_for_a_person_cannot_give_more_than_they_hold() {
    let (margaret, sam, _) = world();
    let grants_before = count(&margaret, "grants");
    let path = "/people/person-1/access/add";
    for (categories, extra, why) in [
        (vec!["medication", "documents", "contacts", "access_log"], vec![], "categories Sam cannot see"),
        (vec!["medication"], vec![("contribute", "yes")], "adding to information, which Sam may only see"),
        (vec!["medication"], vec![("ends-year", "2028")], "longer than Sam's own access"),
    ] {
        let response = add_someone(&sam, path, &categories, &extra);
        assert_eq!(response.status(), 400, "{why}: {}", page(&response));
        assert!(page(&response).contains("There is a problem"), "{why}");
        assert_eq!(count(&margaret, "grants"), grants_before, "{why}: nothing written");
    }
    let passing_on = add_someone(&sam, path, &["medication"], &[("act-for", "yes")]);
    assert_eq!(passing_on.status(), 400, "the act-for power is not Sam's to pass on");
    assert_eq!(count(&margaret, "grants"), grants_before);
    // Within what he holds, he may.
    let within = add_someone(&sam, path, &["medication"], &[]);
    assert_eq!(within.status(), 200, "{}", page(&within));
    assert_eq!(count(&margaret, "grants"), grants_before + 1);
    // Margaret herself has no ceiling.
    let hers = add_someone(&margaret, "/access/add", &["documents", "contacts"], &[("contribute", "yes"), ("ends-year", "2028")]);
    assert_eq!(hers.status(), 200, "{}", page(&hers));
}

#[test]
fn finding_2_a_download_by_someone_acting_for_a_person_holds_only_what_they_may_see() {
    let (margaret, sam, _) = world();
    let response = sam.get("/people/person-1/download/record.json");
    assert_eq!(response.status(), 200);
    let record: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert!(record["care_plan"].is_object(), "Sam may see the care plan");
    for section in ["contacts", "documents", "visits", "access_log", "format_needs"] {
        assert_eq!(record[section], serde_json::json!([]), "{section} is not Sam's to see");
    }
    assert!(!String::from_utf8_lossy(response.body()).contains("Wendy Secret-Number"));
    // Margaret's own download holds everything.
    let own: serde_json::Value = serde_json::from_slice(margaret.get("/people/person-1/download/record.json").body()).unwrap();
    assert_eq!(own["contacts"][0]["name"], "Wendy Secret-Number");
    assert!(own["access_log"].as_array().is_some_and(|log| !log.is_empty()));
}

#[test]
fn finding_4_the_paper_copy_shows_contacts_only_with_the_contacts_grant_and_is_not_acting_for() {
    let (margaret, _, cy) = world();
    assert_eq!(cy.get("/people/person-1/contacts").status(), 404, "Cy has no contacts grant");
    let printed = cy.get("/people/person-1/print");
    assert_eq!(printed.status(), 200);
    let printed = page(&printed);
    assert!(printed.contains("Care plan summary for Margaret Okafor"), "{printed}");
    assert!(!printed.contains("Wendy Secret-Number") && !printed.contains("01632 960 999"), "{printed}");
    let log = pollster::block_on(margaret.store().audit_for_subject(&support::own_record("person-1"), 50)).unwrap();
    let print = log.iter().find(|event| event.action == AuditAction::PaperCopyPrinted).unwrap();
    assert_eq!((print.actor_id.as_deref(), print.acting_for.as_deref()), (Some("person-cy"), None), "Cy does not act for Margaret");
    assert_eq!(print.basis.as_deref(), Some("grant:grant-cy (consent)"));
    // Margaret's own paper copy has who to call.
    assert!(page(&margaret.get("/people/person-1/print")).contains("Wendy Secret-Number"));
}

#[test]
fn finding_12_a_free_text_need_is_shown_only_with_the_preferences_grant() {
    let (margaret, _, cy) = world();
    let need = |need: Need, detail: &str| RecordedNeed {
        id: format!("need-{}", need.as_str()),
        person_id: "person-1".into(),
        need,
        detail: detail.into(),
        recorded_by: "person-1".into(),
        recorded_by_name: "Margaret Okafor".into(),
        acting_for: None,
        consent_discussion_id: None,
        recorded_at: margaret.now.get(),
        ended_at: None,
    };
    let needs = [need(Need::EasyRead, ""), need(Need::Other, "I am deaf in my left ear and my son's number is private")];
    pollster::block_on(margaret.store().change_needs("person-1", &[], &needs, "person-1", margaret.now.get())).unwrap();
    let medicines = page(&cy.get("/people/person-1/medicines"));
    assert!(medicines.contains("Easy read") || medicines.contains("easy read"), "needs are flagged: {medicines}");
    assert!(!medicines.contains("deaf in my left ear"), "the person's own words stay with the preferences grant");
    assert_eq!(cy.get("/people/person-1/needs").status(), 404);
}

/// Sends `request` once with each statement in turn failing, and checks after each failure that
/// none of `tables` changed; then once with no failure, when it must succeed.
fn all_or_nothing(portal: &Portal, tables: &[&str], request: impl Fn() -> carefront_portal::Response) -> carefront_portal::Response {
    let before: Vec<i64> = tables.iter().map(|table| count(portal, table)).collect();
    for nth in 1..=40 {
        portal.fail_at.set(Some(nth));
        let response = request();
        let failed = portal.fail_at.get().is_none();
        portal.fail_at.set(None);
        if !failed {
            return response;
        }
        assert!(response.status().is_server_error(), "statement {nth} failed, so the request did: {}", response.status());
        let after: Vec<i64> = tables.iter().map(|table| count(portal, table)).collect();
        assert_eq!(after, before, "statement {nth} failed: nothing of {tables:?} is left behind");
    }
    panic!("the request ran more than 40 statements");
}

#[test]
fn finding_8_a_change_that_fails_halfway_leaves_nothing_behind() {
    let (margaret, _, _) = world();
    let consent = ["grants", "grant_history", "consent_receipts", "invitations", "people", "audit_events"];

    // The form's token is the browser's for the whole session: fetched once, before the failures.
    let csrf = csrf_in(&page(&margaret.get("/access/add"))).unwrap();
    let added = all_or_nothing(&margaret, &consent, || post_add(&margaret, "/access/add", &csrf, &["medication"], &[]));
    assert_eq!(added.status(), 200, "{}", page(&added));
    assert!(page(&added).contains("Invitation code"));

    let revoked = all_or_nothing(&margaret, &consent, || margaret.post_form("/access/grant-cy/revoke", &[("csrf", &csrf), ("version", "1")]));
    assert_eq!(revoked.status(), 303);

    let code = all_or_nothing(&margaret, &["emergency_codes", "audit_events"], || margaret.post_form("/emergency-code", &[("csrf", &csrf), ("action", "new")]));
    assert_eq!(code.status(), 200, "the code is shown only once it is live and logged");

    let needs = all_or_nothing(&margaret, &["format_needs", "audit_events"], || {
        margaret.post_form("/people/person-1/needs", &[("csrf", &csrf), ("large-print", "none"), ("needs", "easy_read")])
    });
    assert_eq!(needs.status(), 303);

    let comment = all_or_nothing(&margaret, &["comments", "audit_events"], || {
        margaret.post_form("/people/person-1/comments", &[("csrf", &csrf), ("category", "care_plan"), ("kind", "comment"), ("body", "Thank you")])
    });
    assert_eq!(comment.status(), 303);
    let grants = pollster::block_on(margaret.store().grants_for_subject("person-1")).unwrap();
    assert!(grants.iter().any(|grant| grant.id == "grant-cy" && grant.revoked_at.is_some()));
}
