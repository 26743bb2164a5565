//! Acting for someone: a representative holding the act-for power manages the person's grants at
//! /people/{id}/access…, every change is recorded as "A acting for B", and the limits of the power
//! hold (no wider access for themselves, no passing it on, no touching the council's access).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::store::Store;
use chrono::Duration;
use support::{Portal, ResidentSoftPasskey, csrf_in, text};

/// A page's text with the entities minijinja writes turned back into characters.
fn page(response: &carefront_portal::Response) -> String {
    text(response).replace("&#x27;", "'").replace("&#x2f;", "/").replace("&quot;", "\"").replace("&amp;", "&")
}

struct World {
    margaret: Portal,
    sam: Portal,
    sams_passkey: ResidentSoftPasskey,
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

fn grant_to(portal: &Portal, id: &str, subject: &str, grantee: &str, categories: &[Category], act_for: bool) -> Grant {
    let now = portal.now.get();
    Grant {
        id: id.into(),
        version: 1,
        subject_id: subject.into(),
        grantee: Grantee::Person(grantee.into()),
        categories: categories.iter().copied().collect(),
        actions: BTreeSet::from([Action::View]),
        act_for,
        purpose: "to help with my care".into(),
        starts_at: now,
        ends_at: Some(now + Duration::days(100)),
        basis: Basis::Consent,
        evidence: None,
        recorded_by: subject.into(),
        revoked_at: None,
    }
}

/// Enrols an existing person in a browser of their own.
fn enrol_as(portal: &Portal, person_id: &str, seed: u64) -> Portal {
    enrol_with_passkey(portal, person_id, seed).0
}

fn enrol_with_passkey(portal: &Portal, person_id: &str, seed: u64) -> (Portal, ResidentSoftPasskey) {
    let browser = portal.other_browser(seed);
    let (invitation, code) =
        carefront_shared::invitation::issue(person_id, None, browser.now.get(), carefront_shared::invitation::DEFAULT_LIFETIME, &browser.random);
    pollster::block_on(browser.store().insert_invitation(&invitation)).unwrap();
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(browser.enrol(&code.to_string(), &mut passkey).status(), 200);
    (browser, passkey)
}

/// Margaret (person-1) signed in; Sam acts for her (act-for, care plan and medicines); Ada and
/// Tom can see some of her information; Bea also acts for her; the council has its statutory
/// access; Arthur (person-2) has given Ada access too.
fn world() -> World {
    let margaret = Portal::new();
    let (_, code) = margaret.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(margaret.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    margaret.person_with_invitation("person-2", "Arthur Jenkins");
    for (id, name, handle) in
        [("person-sam", "Sam Okafor", 77), ("person-ada", "Ada Okafor", 78), ("person-bea", "Bea Okafor", 79), ("person-tom", "Tom Okafor", 80)]
    {
        person(&margaret, id, name, handle);
    }
    let store = margaret.store();
    let now = margaret.now.get();
    pollster::block_on(store.insert_organisation(&Organisation {
        id: "org-council".into(),
        kind: OrganisationKind::Council,
        name: "Northshire County Council".into(),
        created_at: now,
    }))
    .unwrap();
    let council = Grant {
        grantee: Grantee::Organisation("org-council".into()),
        categories: Category::ALL.into_iter().collect(),
        purpose: "statutory reviews".into(),
        ends_at: None,
        basis: Basis::StatutoryDuty,
        evidence: Some("Care Act 2014 s.27".into()),
        recorded_by: "org-council".into(),
        ..grant_to(&margaret, "grant-council", "person-1", "org-council", &[], false)
    };
    for grant in [
        grant_to(&margaret, "grant-sam", "person-1", "person-sam", &[Category::CarePlan, Category::Medication], true),
        grant_to(&margaret, "grant-ada", "person-1", "person-ada", &[Category::Medication, Category::VisitsAndNotes], false),
        grant_to(&margaret, "grant-bea", "person-1", "person-bea", &[Category::Documents], true),
        grant_to(&margaret, "grant-tom", "person-1", "person-tom", &[Category::Medication], false),
        grant_to(&margaret, "grant-arthur-ada", "person-2", "person-ada", &[Category::Medication], false),
        council,
    ] {
        pollster::block_on(store.insert_grant(&grant, now, None)).unwrap();
    }
    let (sam, sams_passkey) = enrol_with_passkey(&margaret, "person-sam", 11);
    World { margaret, sam, sams_passkey }
}

fn grant(portal: &Portal, id: &str) -> Grant {
    let subject = if id == "grant-arthur-ada" { "person-2" } else { "person-1" };
    pollster::block_on(portal.store().grants_for_subject(subject)).unwrap().into_iter().find(|grant| grant.id == id).unwrap()
}

fn all_grants(portal: &Portal) -> Vec<Grant> {
    let mut grants = pollster::block_on(portal.store().grants_for_subject("person-1")).unwrap();
    grants.extend(pollster::block_on(portal.store().grants_for_subject("person-2")).unwrap());
    grants
}

fn count(portal: &Portal, table: &str) -> i64 {
    use carefront_shared::db::Database;
    pollster::block_on(portal.db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap()[0].integer(0).unwrap()
}

/// What a change could have written: grants, their history, receipts, people and invitations.
fn written(portal: &Portal) -> (Vec<Grant>, Vec<i64>) {
    (all_grants(portal), ["grant_history", "consent_receipts", "people", "invitations"].iter().map(|table| count(portal, table)).collect())
}

fn edit_form<'a>(csrf: &'a str, version: &'a str, categories: &[&'a str], ends: (&'a str, &'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("version", version),
        ("ends", "date"),
        ("ends-day", ends.0),
        ("ends-month", ends.1),
        ("ends-year", ends.2),
        ("purpose", "to help with my care"),
    ];
    fields.extend(categories.iter().map(|category| ("categories", *category)));
    fields
}

#[test]
fn someone_acting_for_a_person_manages_their_grants_and_it_is_recorded_as_acting_for_them() {
    let World { margaret, sam, mut sams_passkey } = world();
    let care = page(&sam.get("/people/person-1"));
    assert!(care.contains("Manage who can see Margaret Okafor's information") && care.contains("href=\"/people/person-1/access\""), "{care}");

    let access = sam.get("/people/person-1/access");
    assert_eq!(access.status(), 200);
    let access = page(&access);
    assert!(access.contains("Who can see Margaret Okafor's information") && access.contains("You are acting for Margaret Okafor"), "{access}");
    assert!(
        access.contains("Ada Okafor can see these parts of Margaret Okafor's record until 1 March 2027:")
            && access.contains("<li>Medicines</li>")
            && access.contains("<li>Visits and carers' notes</li>"),
        "{access}"
    );
    assert!(access.contains("It cannot be turned off"), "the council's access is explained: {access}");
    // Sam may stop his own, Ada's and Tom's access; not Bea's (she acts for Margaret too) nor the council's.
    assert_eq!(access.matches("/revoke\">Stop ").count(), 3, "{access}");
    assert!(access.contains("Stop Tom Okafor's access") && access.contains("Stop Sam Okafor's access"), "named by whom they stop: {access}");
    for (path, shown) in [
        ("/people/person-1/access/grant-ada/edit", true),
        ("/people/person-1/access/grant-sam/edit", true),
        ("/people/person-1/access/grant-bea/edit", false),
        ("/people/person-1/access/grant-council/edit", false),
        ("/people/person-1/access/grant-council/revoke", false),
    ] {
        assert_eq!(access.contains(path), shown, "{path}");
    }
    assert!(!access.contains("/people/person-1/access-log"), "no access log category: no link");

    // Sam lets Cy see Margaret's medicines (he has just proved himself with his passkey).
    let form = page(&sam.get("/people/person-1/access/add"));
    assert!(form.contains("Let someone see Margaret Okafor's information") && form.contains("Margaret Okafor's medicines"), "{form}");
    assert!(!form.contains("name=\"act-for\""), "the act-for power is not Sam's to pass on");
    let csrf = csrf_in(&form).unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "Cy Okafor"),
        ("categories", "medication"),
        ("ends-day", "1"),
        ("ends-month", "3"),
        ("ends-year", "2027"),
        ("purpose", "to collect prescriptions"),
    ];
    let added = sam.post_form("/people/person-1/access/add", &fields);
    assert_eq!(added.status(), 200, "{}", text(&added));
    let added = page(&added);
    assert!(added.contains("Cy Okafor can see Margaret Okafor's medicines until 1 March 2027.") && added.contains("Invitation code"), "{added}");
    let cy = all_grants(&sam).into_iter().find(|grant| grant.purpose == "to collect prescriptions").unwrap();
    assert_eq!((cy.subject_id.as_str(), cy.recorded_by.as_str(), cy.act_for, cy.basis), ("person-1", "person-sam", false, Basis::Consent));
    let history = pollster::block_on(sam.store().grant_history(&cy.id)).unwrap();
    assert!(history[0].1.contains("\"acting_for\":\"person-1\""), "{history:?}");

    // Sam narrows Ada's access (no visits) and stops Tom's.
    sam.advance(Duration::minutes(1));
    let csrf = csrf_in(&text(&sam.get("/people/person-1/access/grant-ada/edit"))).unwrap();
    let changed = sam.post_form("/people/person-1/access/grant-ada/edit", &edit_form(&csrf, "1", &["medication"], ("1", "3", "2027")));
    assert_eq!(changed.status(), 303, "{}", text(&changed));
    assert_eq!(changed.headers()["location"], "/people/person-1/access?done=changed");
    let ada = grant(&sam, "grant-ada");
    assert_eq!((ada.version, ada.categories.clone(), ada.recorded_by.as_str()), (2, BTreeSet::from([Category::Medication]), "person-sam"));
    assert_eq!(ada.ends_at, Some(support::start_time() + Duration::days(100)), "the same day keeps the end as it was");
    assert!(pollster::block_on(sam.store().grant_history("grant-ada")).unwrap()[1].1.contains("\"acting_for\":\"person-1\""));
    sam.advance(Duration::minutes(1));
    let stopped = sam.post_form("/people/person-1/access/grant-tom/revoke", &[("csrf", &csrf), ("version", "1")]);
    assert_eq!(stopped.headers()["location"], "/people/person-1/access?done=stopped&grant=grant-tom");
    assert!(grant(&sam, "grant-tom").revoked_at.is_some());
    let after = page(&sam.get("/people/person-1/access?done=stopped&grant=grant-tom"));
    assert!(after.contains("Tom Okafor could see Margaret Okafor's medicines (stopped on 21 November 2026)."), "{after}");
    assert!(after.contains("Tom Okafor's access has stopped. They can no longer see Margaret Okafor's information."), "{after}");

    // The audit trail: Sam, acting for Margaret, under his act-for grant.
    let events = pollster::block_on(sam.store().audit_for_subject(&support::own_record("person-1"), 100)).unwrap();
    for action in ["grant.created", "grant.changed", "grant.revoked", "grants.viewed"] {
        let event = events.iter().find(|event| event.action == action).unwrap_or_else(|| panic!("{action} audited"));
        assert_eq!((event.actor_id.as_deref(), event.acting_for.as_deref()), (Some("person-sam"), Some("person-1")), "{action}");
        assert!(event.basis.as_deref().unwrap().contains("act_for grant:grant-sam"), "{event:?}");
    }

    // Margaret's receipts: one per change, saying who made it and how, and all verify.
    let receipts = pollster::block_on(sam.store().receipts_for_subject("person-1")).unwrap();
    assert_eq!(receipts.iter().map(|receipt| receipt.body.event.as_str()).collect::<Vec<_>>(), ["revoked", "changed", "granted"]);
    for receipt in &receipts {
        assert!(carefront_shared::receipt::verify(&sam.config.receipt_keys, receipt));
        assert!(receipt.body.collection_method.contains("by Sam Okafor acting for the person"), "{}", receipt.body.collection_method);
        assert_eq!(receipt.body.pii_principal_id, "person-1");
    }
    let receipt_id = &receipts[1].body.consent_receipt_id;
    let shown = page(&sam.get(&format!("/people/person-1/receipts/{receipt_id}")));
    assert!(shown.contains("Ada Okafor may see care information") && shown.contains("by Sam Okafor acting for the person"), "{shown}");
    assert_eq!(sam.get(&format!("/people/person-1/receipts/{receipt_id}.json")).status(), 200);

    // Margaret sees every change in plain language, as made by Sam acting for her.
    let log = page(&margaret.get("/access-log?mine=yes"));
    for expected in [
        "Sam Okafor, acting for you",
        "gave access: Cy Okafor can see your medicines until 1 March 2027",
        "changed Ada Okafor's access: they can no longer see your visits and carers' notes",
        "stopped Tom Okafor's access",
        "looked at who can see your information",
        "looked at a consent receipt",
    ] {
        assert!(log.contains(expected), "{expected}: {log}");
    }
    let own = page(&margaret.get("/access"));
    assert!(own.contains("Cy Okafor can see this part of your record until 1 March 2027:") && own.contains(&format!("/receipts/{receipt_id}")), "{own}");

    // Later, Sam proves himself again with his own passkey before adding anyone, and comes back
    // to Margaret's form.
    sam.advance(Duration::minutes(6));
    let confirm = page(&sam.get("/people/person-1/access/add"));
    assert!(confirm.contains("Confirm it is you") && confirm.contains("Before you let someone see Margaret Okafor's information"), "{confirm}");
    let finish = confirm.split("data-finish-url=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(finish, "/reauthenticate/finish?return=%2Fpeople%2Fperson-1%2Faccess%2Fadd");
    let csrf = csrf_in(&confirm).unwrap();
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let options = sam.post_json("/reauthenticate/options", &csrf, &serde_json::json!({}));
    let options: carefront_shared::webauthn_rs::prelude::RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
    let assertion = sams_passkey.do_authentication(url::Url::parse(support::ORIGIN).unwrap(), options).unwrap();
    let finished = sam.post_json(&finish, &csrf, &assertion);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(finished.body()).unwrap()["redirect"], "/people/person-1/access/add");
    assert!(page(&sam.get("/people/person-1/access/add")).contains("Their name"));
}

#[test]
fn acting_for_someone_gives_no_wider_access_to_yourself_no_onward_power_and_no_say_over_the_council() {
    let World { sam, .. } = world();
    let csrf = csrf_in(&text(&sam.get("/people/person-1/access"))).unwrap();
    let before = written(&sam);
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let refused: Vec<Case<'_>> = vec![
        ("/people/person-1/access/grant-council/revoke", vec![("csrf", &csrf), ("version", "1")], "cannot be turned off"),
        ("/people/person-1/access/grant-council/edit", edit_form(&csrf, "1", &["medication"], ("1", "3", "2027")), "cannot be turned off"),
        ("/people/person-1/access/grant-bea/revoke", vec![("csrf", &csrf), ("version", "1")], "Only Margaret Okafor can change"),
        ("/people/person-1/access/grant-bea/edit", edit_form(&csrf, "1", &["documents"], ("1", "2", "2027")), "Only Margaret Okafor can change"),
        (
            "/people/person-1/access/grant-sam/edit",
            edit_form(&csrf, "1", &["care_plan", "medication", "access_log"], ("1", "3", "2027")),
            "You cannot give yourself more access",
        ),
        (
            "/people/person-1/access/grant-sam/edit",
            edit_form(&csrf, "1", &["care_plan", "medication"], ("1", "3", "2028")),
            "You cannot give yourself more access",
        ),
    ];
    for (path, fields, expected) in refused {
        let response = sam.post_form(path, &fields);
        assert_eq!(response.status(), 400, "{path}");
        let body = page(&response);
        assert!(body.contains(expected), "{path}: {body}");
    }
    assert_eq!(sam.get("/people/person-1/access/grant-council/edit").status(), 400);
    // The act-for power cannot be passed on, on a new grant or an existing one.
    let mut with_power = edit_form(&csrf, "1", &["medication"], ("1", "3", "2027"));
    with_power.push(("act-for", "yes"));
    assert_eq!(sam.post_form("/people/person-1/access/grant-ada/edit", &with_power).status(), 400);
    let add = [
        ("csrf", csrf.as_str()),
        ("name", "Dee"),
        ("categories", "medication"),
        ("act-for", "yes"),
        ("ends-day", "1"),
        ("ends-month", "3"),
        ("ends-year", "2027"),
        ("purpose", "to help"),
    ];
    assert_eq!(sam.post_form("/people/person-1/access/add", &add).status(), 400);
    assert_eq!(written(&sam), before, "nothing written");

    // Not granted the access log: acting for Margaret does not open it.
    assert_eq!(sam.get("/people/person-1/access-log").status(), 404);

    // Sam may narrow his own access, and keeps the power he was given.
    let narrowed = sam.post_form("/people/person-1/access/grant-sam/edit", &edit_form(&csrf, "1", &["medication"], ("1", "3", "2027")));
    assert_eq!(narrowed.status(), 303, "{}", text(&narrowed));
    let own = grant(&sam, "grant-sam");
    assert_eq!((own.categories.clone(), own.act_for), (BTreeSet::from([Category::Medication]), true));
    // And step back altogether: his next request is refused.
    let stopped = sam.post_form("/people/person-1/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "2")]);
    assert_eq!(stopped.headers()["location"], "/home");
    assert_eq!(sam.get("/people/person-1/access").status(), 404);
}

#[test]
fn without_the_act_for_power_every_management_page_is_not_found() {
    let World { margaret, sam, .. } = world();
    let tom = enrol_as(&margaret, "person-tom", 12);
    let ada = enrol_as(&margaret, "person-ada", 13);
    let care = page(&tom.get("/people/person-1"));
    assert_eq!(tom.get("/people/person-1").status(), 200);
    assert!(!care.contains("Manage who can see"), "{care}");
    // A receipt exists, to be sure it is refused rather than missing.
    let csrf = csrf_in(&text(&margaret.get("/access"))).unwrap();
    assert_eq!(margaret.post_form("/access/grant-ada/edit", &edit_form(&csrf, "1", &["medication"], ("1", "3", "2027"))).status(), 303);
    let receipt = pollster::block_on(margaret.store().receipts_for_subject("person-1")).unwrap()[0].body.consent_receipt_id.clone();

    let before = written(&margaret);
    let csrf = csrf_in(&text(&tom.get("/home"))).unwrap();
    let form = edit_form(&csrf, "2", &["medication", "care_plan"], ("1", "3", "2027"));
    // Tom has no act-for power on Margaret; Sam has none on Arthur; Ada has none on anyone.
    for (browser, subject) in [(&tom, "person-1"), (&sam, "person-2"), (&ada, "person-2"), (&ada, "person-1"), (&tom, "no-such-person")] {
        let csrf = csrf_in(&text(&browser.get("/home"))).unwrap();
        let form: Vec<(&str, &str)> = form.iter().map(|(key, value)| if *key == "csrf" { (*key, csrf.as_str()) } else { (*key, *value) }).collect();
        for path in [
            format!("/people/{subject}/access"),
            format!("/people/{subject}/access/add"),
            format!("/people/{subject}/access/grant-ada/edit"),
            format!("/people/{subject}/receipts/{receipt}"),
            format!("/people/{subject}/receipts/{receipt}.json"),
            format!("/people/{subject}/access-log"),
        ] {
            assert_eq!(browser.get(&path).status(), 404, "GET {path}");
        }
        for path in [
            format!("/people/{subject}/access/add"),
            format!("/people/{subject}/access/grant-ada/edit"),
            format!("/people/{subject}/access/grant-ada/revoke"),
            format!("/people/{subject}/access/grant-arthur-ada/revoke"),
        ] {
            assert_eq!(browser.post_form(&path, &form).status(), 404, "POST {path}");
        }
        assert_eq!(browser.post_form(&format!("/people/{subject}/access/grant-ada/revoke"), &[("csrf", &csrf), ("version", "2")]).status(), 404);
    }
    // A representative's own /access is not a record of theirs either.
    assert_eq!(tom.get("/access").status(), 404);
    assert_eq!(written(&margaret), before, "nothing written");

    // Margaret takes Sam's power away (narrowing: at once); his next request is refused.
    assert_eq!(sam.get("/people/person-1/access").status(), 200);
    let csrf = csrf_in(&text(&margaret.get("/access/grant-sam/edit"))).unwrap();
    let mut without_power = edit_form(&csrf, "1", &["care_plan", "medication"], ("1", "3", "2027"));
    without_power.retain(|(key, _)| *key != "act-for");
    assert_eq!(margaret.post_form("/access/grant-sam/edit", &without_power).status(), 303);
    assert!(!grant(&margaret, "grant-sam").act_for);
    assert_eq!(sam.get("/people/person-1/access").status(), 404);
    assert!(!page(&sam.get("/people/person-1")).contains("Manage who can see"));
    let log = page(&margaret.get("/access-log?mine=yes"));
    assert!(log.contains("changed Sam Okafor's access: they can no longer act for you"), "{log}");
}

#[test]
fn a_representative_granted_the_access_log_reads_it_in_words_for_them() {
    let World { margaret, sam, .. } = world();
    assert_eq!(sam.get("/people/person-1/access").status(), 200);
    // Margaret adds the access log to Sam's grant: giving more, and she has just used her passkey.
    let csrf = csrf_in(&text(&margaret.get("/access/grant-sam/edit"))).unwrap();
    let mut fields = edit_form(&csrf, "1", &["care_plan", "medication", "access_log"], ("1", "3", "2027"));
    fields.push(("act-for", "yes"));
    let widened = margaret.post_form("/access/grant-sam/edit", &fields);
    assert_eq!(widened.status(), 303, "{}", text(&widened));
    assert!(grant(&margaret, "grant-sam").categories.contains(&Category::AccessLog));

    let access = page(&sam.get("/people/person-1/access"));
    assert!(access.contains("href=\"/people/person-1/access-log\""), "{access}");
    let log = sam.get("/people/person-1/access-log?mine=yes");
    assert_eq!(log.status(), 200);
    let log = page(&log);
    assert!(log.contains("Who has looked at Margaret Okafor's record"), "{log}");
    assert!(log.contains("You, acting for Margaret Okafor") && log.contains("looked at who can see Margaret Okafor's information"), "{log}");
    assert!(log.contains("changed Sam Okafor's access: they can now also see who has looked at Margaret Okafor's record"), "{log}");
    let filtered = page(&sam.get("/people/person-1/access-log?who=person-1"));
    assert!(filtered.contains("Margaret Okafor") && !filtered.contains("You, acting for"), "{filtered}");
    assert_eq!(sam.get("/people/person-1/access-log?from-day=yesterday&from-month=1&from-year=2026").status(), 400);
    let others = page(&sam.get("/people/person-1/access-log"));
    assert!(!others.contains("You, acting for") && others.contains("changed Sam Okafor's access"), "his own looks only when asked: {others}");

    let own = page(&margaret.get("/access-log"));
    assert!(own.contains("looked at who has looked at your record"), "Sam's look is logged for Margaret: {own}");
}

#[test]
fn the_new_paths_answer_405_for_other_methods() {
    let portal = Portal::new();
    for (method, path, allow) in [
        (http::Method::DELETE, "/people/p/access", "GET, HEAD"),
        (http::Method::DELETE, "/people/p/access-log", "GET, HEAD"),
        (http::Method::PUT, "/people/p/receipts/r", "GET, HEAD"),
        (http::Method::PUT, "/access/g/edit", "GET, HEAD, POST"),
        (http::Method::DELETE, "/people/p/access/add", "GET, HEAD, POST"),
        (http::Method::PATCH, "/people/p/access/g/edit", "GET, HEAD, POST"),
        (http::Method::PUT, "/people/p/access/g/revoke", "GET, HEAD, POST"),
        (http::Method::GET, "/people/p/access/invitations/i/reissue", "POST"),
        (http::Method::GET, "/access/invitations/i/cancel", "POST"),
    ] {
        let response = portal.send(http::Request::builder().method(method.clone()).uri(path), Vec::new());
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
    }
}
