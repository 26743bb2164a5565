//! "Who can see my information" and "Who has looked at my record", through the router.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::contact::Medium;
use carefront_shared::db::Database as _;
use carefront_shared::store::PreferenceStore as _;

use std::collections::BTreeSet;

use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::store::Store;
use chrono::Duration;
use support::{Portal, ResidentSoftPasskey, csrf_in, text};

fn setup() -> Portal {
    setup_with_passkey().0
}

/// Margaret enrolled (and signed in) with her passkey, Sam and the council holding grants.
fn setup_with_passkey() -> (Portal, ResidentSoftPasskey) {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code, &mut passkey).status(), 200);
    let store = portal.store();
    let now = portal.now.get();
    pollster::block_on(store.insert_person(&Person {
        id: "person-sam".into(),
        role: Role::Representative,
        display_name: "Sam Okafor".into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(77),
        created_at: now,
    }))
    .unwrap();
    pollster::block_on(store.insert_organisation(&Organisation {
        id: "org-council".into(),
        kind: OrganisationKind::Council,
        name: "Northshire County Council".into(),
        created_at: now,
    }))
    .unwrap();
    let daughter = Grant {
        id: "grant-sam".into(),
        version: 1,
        subject_id: "person-1".into(),
        grantee: Grantee::Person("person-sam".into()),
        categories: BTreeSet::from([Category::Medication, Category::VisitsAndNotes]),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "to help me with my tablets".into(),
        starts_at: now,
        ends_at: Some(now + Duration::days(100)),
        basis: Basis::Consent,
        evidence: None,
        recorded_by: "person-1".into(),
        revoked_at: None,
    };
    let council = Grant {
        id: "grant-council".into(),
        grantee: Grantee::Organisation("org-council".into()),
        categories: Category::ALL.into_iter().collect(),
        purpose: "statutory reviews".into(),
        ends_at: None,
        basis: Basis::StatutoryDuty,
        evidence: Some("Care Act 2014 s.27".into()),
        recorded_by: "org-council".into(),
        ..daughter.clone()
    };
    pollster::block_on(store.insert_grant(&daughter, now, None)).unwrap();
    pollster::block_on(store.insert_grant(&council, now, None)).unwrap();
    (portal, passkey)
}

#[test]
fn grants_are_shown_in_plain_language() {
    let portal = setup();
    let page = text(&portal.get("/access")).replace("&#x27;", "'");
    assert!(
        page.contains("Sam Okafor can see these parts of your record until 1 March 2027:")
            && page.contains("<li>Your medicines</li>")
            && page.contains("<li>Your visits and carers' notes</li>"),
        "{page}"
    );
    assert!(page.contains("Northshire County Council can see these parts of your record"), "{page}");
    assert!(page.contains("You cannot turn it off"), "{page}");
    assert_eq!(page.matches("/revoke\">Stop ").count(), 1, "only the daughter's access can be stopped");
    assert!(page.contains("Stop Sam Okafor's access"), "{page}");
}

#[test]
fn revoking_stops_access_at_once_and_is_logged() {
    let portal = setup();
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();
    let response = portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "1")]);
    assert_eq!(response.headers()["location"], "/access?done=stopped&grant=grant-sam");
    let grants = pollster::block_on(portal.store().grants_for_subject("person-1")).unwrap();
    let sam = grants.iter().find(|grant| grant.id == "grant-sam").unwrap();
    assert_eq!((sam.version, sam.revoked_at), (2, Some(portal.now.get())));
    let page = text(&portal.get("/access?done=stopped&grant=grant-sam"));
    assert!(page.contains("Sam Okafor&#x27;s access has stopped"), "{page}");
    assert!(page.contains("Sam Okafor could see your medicines and your visits and carers&#x27; notes (you stopped this on 21 November 2026)."), "{page}");
    let log = text(&portal.get("/access-log?mine=yes"));
    assert!(log.contains("stopped Sam Okafor&#x27;s access") || log.contains("stopped Sam Okafor's access"), "{log}");
}

#[test]
fn the_person_who_lost_access_is_told_and_nobody_else() {
    let portal = setup();
    let now = portal.now.get();
    let store = portal.store();
    pollster::block_on(store.start_contact_check("person-sam", Medium::Phone, "07700 900 123", "hash", now + Duration::minutes(30), now)).unwrap();
    pollster::block_on(store.confirm_contact("person-sam", Medium::Phone, "hash", now)).unwrap();
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();
    portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "1")]);
    let rows = pollster::block_on(
        portal.db.query("SELECT person_id, subject_id, kind, channel, recipient, json_extract(personalisation, '$.name') FROM notifications", &[]),
    )
    .unwrap();
    let told: Vec<Vec<String>> = rows.iter().map(|row| (0..6).map(|index| row.text(index).unwrap()).collect()).collect();
    assert_eq!(told, [["person-sam", "person-1", "access_stopped", "sms", "07700 900 123", "Margaret Okafor"]]);
}

#[test]
fn a_stale_revoke_is_a_conflict_that_shows_what_changed() {
    let portal = setup();
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();
    // Someone else widened the grant meanwhile (version 2).
    let store = portal.store();
    let mut grant = pollster::block_on(store.grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.id == "grant-sam").unwrap();
    grant.categories.insert(Category::Contacts);
    pollster::block_on(store.update_grant(&grant, portal.now.get(), None)).unwrap();

    let response = portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "1")]);
    assert_eq!(response.status(), 409);
    let page = text(&response);
    assert!(page.contains("changed after you opened the page") && page.contains("your contacts"), "{page}");
    assert_eq!(pollster::block_on(store.grant_history("grant-sam")).unwrap().len(), 2, "nothing written");
}

#[test]
fn forged_foreign_and_statutory_grants_cannot_be_revoked() {
    let portal = setup();
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();
    assert_eq!(portal.post_form("/access/grant-nope/revoke", &[("csrf", &csrf), ("version", "1")]).status(), 404);
    assert_eq!(portal.post_form("/access/grant-council/revoke", &[("csrf", &csrf), ("version", "1")]).status(), 400);
    assert_eq!(portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "not a number")]).status(), 400);
    assert_eq!(portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf)]).status(), 400);

    // Another person cannot touch Margaret's grants, nor see that they exist.
    let other = portal.other_browser(9);
    let (_, code) = other.person_with_invitation("person-2", "Arthur Jenkins");
    assert_eq!(other.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let csrf = csrf_in(&text(&other.get("/access"))).unwrap();
    assert_eq!(other.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "1")]).status(), 404);
    assert!(!text(&other.get("/access")).contains("Sam Okafor"));
    let grants = pollster::block_on(other.store().grants_for_subject("person-1")).unwrap();
    assert!(grants.iter().all(|grant| grant.revoked_at.is_none()), "nothing written");
}

#[test]
fn the_access_log_shows_views_newest_first_and_filters_by_who() {
    let portal = setup();
    portal.advance(Duration::minutes(1));
    portal.get("/home");
    let log = text(&portal.get("/access-log?mine=yes"));
    let viewed = log.find("looked at the care plan").unwrap();
    let created = log.find("created a passkey").unwrap();
    assert!(viewed < created, "newest first");
    let filtered = text(&portal.get("/access-log?who=person-1"));
    assert!(!text(&portal.get("/access-log")).contains("looked at the care plan"), "her own looks come only when asked for");
    assert!(filtered.contains("looked at the care plan"));
}

/// Sam's look at Margaret's care plan, then `reads` reads of her medicines by a provider's
/// system, all written straight into her access log.
fn a_look_then_system_reads(portal: &Portal, reads: usize) {
    use carefront_shared::access::AuditAction;
    use carefront_shared::domain::AuditEvent;
    let at = portal.now.get();
    let event = |id: String, actor: &str, action: AuditAction, minutes: i64| AuditEvent {
        id,
        at: at - Duration::minutes(120 - minutes),
        actor_id: Some(actor.into()),
        acting_for: None,
        subject_id: Some("person-1".into()),
        action,
        category: None,
        basis: None,
        detail: "looked".into(),
    };
    let mut events = vec![event("look-sam".into(), "person-sam", AuditAction::Viewed(Category::CarePlan), 1)];
    events.extend(
        (0..reads).map(|n| {
            event(format!("read-{n:04}"), "credential:ck_brookside", AuditAction::SystemRead(Category::Medication), 2 + i64::try_from(n).unwrap() / 10)
        }),
    );
    pollster::block_on(carefront_shared::store::CredentialStore::append_audits(&portal.store(), &events)).unwrap();
}

#[test]
fn finding_5_an_unknown_filter_shows_nothing() {
    let portal = setup();
    a_look_then_system_reads(&portal, 3);
    let response = portal.get("/access-log?who=person-unknown");
    assert_eq!(response.status(), 200, "{:?}", response.headers());
    let nobody = text(&response);
    assert!(!nobody.contains("looked at the care plan") && nobody.contains("Nothing recorded for this person"), "{nobody}");
}

#[test]
fn finding_5_system_reads_cannot_flush_a_family_members_look() {
    let portal = setup();
    a_look_then_system_reads(&portal, 500);
    // Filtered in the database: Sam's look is there, however many reads came after it.
    let sams = text(&portal.get("/access-log?who=person-sam"));
    assert!(sams.contains("<strong>Sam Okafor</strong> looked at the care plan"), "{sams}");
    // Unfiltered, the system's reads of one day are told together, with how many; the pages go
    // back to Sam's look, and nothing is dropped on the way.
    let mut path = "/access-log".to_owned();
    let (mut pages, mut times) = (0, 0);
    let found = loop {
        let page = text(&portal.get(&path));
        pages += 1;
        times += page.match_indices(" times that day)").count();
        if page.contains("<strong>Sam Okafor</strong>") {
            break true;
        }
        let Some(next) = page
            .split("rel=\"next\"")
            .next()
            .and_then(|before| before.rsplit("href=\"").next())
            .map(|href| href.split('"').next().unwrap_or("").replace("&amp;", "&").replace("&#x2f;", "/"))
        else {
            break false;
        };
        if pages > 20 || !next.starts_with("/access-log?after=") {
            break false;
        }
        path = next;
    };
    assert!(found, "Sam's look is reachable by paging ({pages} pages)");
    assert!(pages > 1 && times >= pages - 1, "each page tells the system's reads as a summary ({times} summaries on {pages} pages)");
}

#[test]
fn signed_out_visitors_are_sent_to_sign_in() {
    let portal = Portal::new();
    for path in ["/access", "/access-log"] {
        assert_eq!(portal.get(path).headers()["location"], "/sign-in", "{path}");
    }
}

/// Sam, Margaret's son, enrolled in his own browser, holding `grant-sam` (and, if
/// `with_care_plan`, the care plan too).
fn sam_enrolled(portal: &Portal, with_care_plan: bool) -> Portal {
    if with_care_plan {
        let store = portal.store();
        let mut grant = pollster::block_on(store.grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.id == "grant-sam").unwrap();
        grant.categories.insert(Category::CarePlan);
        pollster::block_on(store.update_grant(&grant, portal.now.get(), None)).unwrap();
    }
    let sam = portal.other_browser(11);
    // Sam already exists (setup); give him an invitation of his own.
    let (invitation, code) =
        carefront_shared::invitation::issue("person-sam", None, sam.now.get(), carefront_shared::invitation::DEFAULT_LIFETIME, &sam.random);
    pollster::block_on(sam.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(sam.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    sam
}

#[test]
fn a_representative_sees_only_what_is_granted_and_margaret_sees_that_he_looked() {
    let portal = setup();
    let sam = sam_enrolled(&portal, true);
    let home = text(&sam.get("/home"));
    assert!(home.contains("People you support") && home.contains("/people/person-1"), "{home}");
    assert!(home.contains("Next visit") && home.contains("Medicines today"), "a status card for Margaret: {home}");
    let margaret = page(&sam.get("/people/person-1"));
    assert!(margaret.contains("has let you see their care plan, their medicines and their visits and carers' notes until 1 March 2027."), "{margaret}");
    assert!(margaret.contains("Margaret Okafor&#x27;s care plan") || margaret.contains("Margaret Okafor's care plan"), "{margaret}");
    assert!(margaret.contains("Care plan summary for Margaret Okafor"));

    // Arthur's record does not exist for Sam, nor does a made-up one.
    let (_, _) = portal.person_with_invitation("person-2", "Arthur Jenkins");
    assert_eq!(sam.get("/people/person-2").status(), 404);
    assert_eq!(sam.get("/people/no-such-person").status(), 404);

    portal.advance(Duration::minutes(1));
    let log = text(&portal.get("/access-log?mine=yes"));
    assert!(log.contains("Sam Okafor") && log.contains("looked at the care plan"), "{log}");
}

#[test]
fn without_the_care_plan_category_a_representative_does_not_see_it() {
    let portal = setup();
    let sam = sam_enrolled(&portal, false);
    let page = page(&sam.get("/people/person-1"));
    assert!(!page.contains("Care plan summary for Margaret Okafor"), "{page}");
    assert!(page.contains("their medicines and their visits and carers' notes"), "{page}");
}

#[test]
fn after_revocation_the_representatives_very_next_request_is_refused() {
    let portal = setup();
    let sam = sam_enrolled(&portal, true);
    assert_eq!(sam.get("/people/person-1").status(), 200);
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();
    assert_eq!(portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "2")]).status(), 303);
    assert_eq!(sam.get("/people/person-1").status(), 404);
    assert!(!text(&sam.get("/home")).contains("/people/person-1"));
}

#[test]
fn an_expired_grant_is_gone() {
    let portal = setup();
    let sam = sam_enrolled(&portal, true);
    assert_eq!(sam.get("/people/person-1").status(), 200);
    let grant = pollster::block_on(portal.store().grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.id == "grant-sam").unwrap();
    portal.now.set(grant.ends_at.unwrap());
    assert_eq!(grant.state(portal.now.get()), carefront_shared::consent::GrantState::Expired);
    // Sam's session has long ended too; what matters is that the record is gone for him even
    // with a fresh session.
    let fresh = portal.other_browser(12);
    let (invitation, code) =
        carefront_shared::invitation::issue("person-sam", None, fresh.now.get(), carefront_shared::invitation::DEFAULT_LIFETIME, &fresh.random);
    pollster::block_on(fresh.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(fresh.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    assert_eq!(fresh.get("/people/person-1").status(), 404);
    assert!(!text(&fresh.get("/home")).contains("/people/person-1"));
}

fn add_form<'a>(csrf: &'a str, name: &'a str, categories: &[&'a str], ends: (&'a str, &'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    let mut fields =
        vec![("csrf", csrf), ("name", name), ("ends-day", ends.0), ("ends-month", ends.1), ("ends-year", ends.2), ("purpose", "to help me with my tablets")];
    fields.extend(categories.iter().map(|category| ("categories", *category)));
    fields
}

fn grant_count(portal: &Portal) -> usize {
    pollster::block_on(portal.store().grants_for_subject("person-1")).unwrap().len()
}

#[test]
fn adding_someone_makes_a_grant_and_an_invitation_they_can_use() {
    let portal = setup();
    let form_page = text(&portal.get("/access/add"));
    assert!(form_page.contains("Let someone see your information"), "just signed in: no second prompt");
    let csrf = csrf_in(&form_page).unwrap();
    let before = grant_count(&portal);
    let response = portal.post_form("/access/add", &add_form(&csrf, "Ada Okafor", &["medication"], ("1", "3", "2027")));
    assert_eq!(response.status(), 200, "{}", text(&response));
    let page = text(&response);
    assert!(page.contains("Ada Okafor can see your medicines until 1 March 2027."), "{page}");
    let code = page.split("Invitation code: <strong class=\"govuk-!-text-break-word\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(page.contains(&format!("invitation?code={code}")), "the link too: {page}");
    assert_eq!(grant_count(&portal), before + 1);

    let ada = portal.other_browser(21);
    assert_eq!(ada.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let home = text(&ada.get("/home"));
    assert!(home.contains("Medicines today") && !home.contains("Next visit"), "medicines only: {home}");
    let page = text(&ada.get("/people/person-1"));
    assert!(page.contains("has let you see their medicines until 1 March 2027."), "{page}");
    assert!(!page.contains("Care plan summary"), "medicines only: no care plan");
    let log = text(&portal.get("/access-log?mine=yes"));
    assert!(log.contains("gave access: Ada Okafor can see your medicines"), "{log}");
}

#[test]
fn adding_someone_needs_a_recent_passkey_check() {
    let portal = setup();
    portal.advance(Duration::minutes(6));
    let confirm = text(&portal.get("/access/add"));
    assert!(confirm.contains("Confirm it is you") && confirm.contains("/reauthenticate/options"), "{confirm}");
    let csrf = csrf_in(&confirm).unwrap();
    let before = grant_count(&portal);
    let refused = portal.post_form("/access/add", &add_form(&csrf, "Ada", &["medication"], ("1", "3", "2027")));
    assert_eq!(refused.status(), 403);
    assert!(text(&refused).contains("Confirm it is you"), "the route table asks for the check");
    assert_eq!(grant_count(&portal), before, "nothing written");

    // Another person's passkey cannot confirm for Margaret.
    let other = portal.other_browser(31);
    let (_, code) = other.person_with_invitation("person-2", "Arthur Jenkins");
    let mut arthur = ResidentSoftPasskey::new();
    assert_eq!(other.enrol(&code, &mut arthur).status(), 200);
    let options = portal.post_json("/reauthenticate/options", &csrf, &serde_json::json!({}));
    let options: carefront_shared::webauthn_rs::prelude::RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let assertion = arthur.do_authentication(url::Url::parse(support::ORIGIN).unwrap(), options).unwrap();
    assert_eq!(portal.post_json("/reauthenticate/finish", &csrf, &assertion).status(), 400);
    assert!(text(&portal.get("/access/add")).contains("Confirm it is you"));
}

#[test]
fn reauthenticating_with_your_own_passkey_opens_the_form() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut margaret = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code, &mut margaret).status(), 200);
    portal.advance(Duration::minutes(6));
    let csrf = csrf_in(&text(&portal.get("/access/add"))).unwrap();
    let options = portal.post_json("/reauthenticate/options", &csrf, &serde_json::json!({}));
    let options: carefront_shared::webauthn_rs::prelude::RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let assertion = margaret.do_authentication(url::Url::parse(support::ORIGIN).unwrap(), options).unwrap();
    let finished = portal.post_json("/reauthenticate/finish?return=%2Faccess%2Fadd", &csrf, &assertion);
    assert_eq!(finished.status(), 200, "{}", text(&finished));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(finished.body()).unwrap()["redirect"], "/access/add");
    assert!(text(&portal.get("/access/add")).contains("Let someone see your information"));
    // The re-authentication ceremony cannot be replayed as a sign-in (the session was rotated,
    // so the page's token is new too).
    let csrf = portal.csrf_from("/home");
    let replay = portal.post_json("/sign-in/finish", &csrf, &assertion);
    assert_eq!(replay.status(), 400);
}

#[test]
fn bad_additions_are_refused_with_clear_errors_and_nothing_written() {
    let portal = setup();
    let csrf = csrf_in(&text(&portal.get("/access/add"))).unwrap();
    let before = grant_count(&portal);
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (add_form(&csrf, "", &["medication"], ("1", "3", "2027")), 400, "Enter their name"),
        (add_form(&csrf, "Ada", &[], ("1", "3", "2027")), 400, "Choose at least one kind of information"),
        (add_form(&csrf, "Ada", &["medication"], ("1", "1", "2020")), 400, "must be in the future"),
        (add_form(&csrf, "Ada", &["medication"], ("31", "2", "2027")), 400, "Enter the date their access ends"),
        (add_form(&csrf, "Ada", &["medication"], ("x", "y", "z")), 400, "Enter the date their access ends"),
        (add_form(&csrf, "Ada", &["secrets"], ("1", "3", "2027")), 400, "could not understand"),
        (add_form(&csrf, "<script>alert(1)</script>", &[], ("1", "3", "2027")), 400, "&lt;script&gt;"),
    ];
    for (fields, status, expected) in cases {
        let response = portal.post_form("/access/add", &fields);
        assert_eq!(response.status(), status, "{fields:?}");
        let page = text(&response);
        assert!(page.contains(expected), "{fields:?}: {page}");
        assert!(!page.contains("<script>alert"), "escaped");
    }
    assert_eq!(grant_count(&portal), before, "nothing written");
}

#[test]
fn both_sides_are_told_fourteen_days_before_a_grant_ends() {
    let (portal, mut margaret) = setup_with_passkey();
    sam_enrolled(&portal, true);
    assert!(!text(&portal.get("/home")).contains("Access ending soon"), "100 days left");
    portal.advance(Duration::days(86) + Duration::hours(1));
    assert_eq!(portal.sign_in(&mut margaret).status(), 200);
    let home = text(&portal.get("/home"));
    assert!(home.contains("Access ending soon") && home.contains("Sam Okafor can see your care plan, your medicines"), "{home}");
    // Sam's session has ended meanwhile; a fresh one sees the notice too.
    let fresh = portal.other_browser(41);
    let (invitation, code) =
        carefront_shared::invitation::issue("person-sam", None, fresh.now.get(), carefront_shared::invitation::DEFAULT_LIFETIME, &fresh.random);
    pollster::block_on(fresh.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(fresh.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    let sam_home = text(&fresh.get("/home"));
    assert!(sam_home.contains("Your access ends soon"), "{sam_home}");
}

#[test]
fn the_access_log_filters_by_date_and_refuses_bad_dates() {
    let (portal, mut margaret) = setup_with_passkey();
    portal.advance(Duration::days(2));
    assert_eq!(portal.sign_in(&mut margaret).status(), 200);
    portal.get("/home");
    let all = text(&portal.get("/access-log?mine=yes"));
    assert!(all.contains("created a passkey") && all.contains("looked at the care plan"));
    let recent = text(&portal.get("/access-log?mine=yes&from-day=22&from-month=11&from-year=2026"));
    assert!(recent.contains("looked at the care plan") && !recent.contains("created a passkey"), "{recent}");
    let early = text(&portal.get("/access-log?mine=yes&to-day=21&to-month=11&to-year=2026"));
    assert!(!early.contains("looked at the care plan") && early.contains("created a passkey"), "{early}");
    let bad = portal.get("/access-log?from-day=21&from-month=13&from-year=2026");
    assert_eq!(bad.status(), 400);
    assert!(text(&bad).contains("The date from must be a real date"));
}

#[test]
fn every_grant_change_gives_a_receipt_that_verifies() {
    let portal = setup();
    let csrf = csrf_in(&text(&portal.get("/access/add"))).unwrap();
    let added = text(&portal.post_form("/access/add", &add_form(&csrf, "Ada Okafor", &["medication"], ("1", "3", "2027"))));
    let receipt_id = added.split("/receipts/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let page = text(&portal.get(&format!("/receipts/{receipt_id}")));
    assert!(page.contains("Consent receipt") && page.contains("Ada Okafor may see care information") && page.contains("to help me with my tablets"), "{page}");
    let download = portal.get(&format!("/receipts/{receipt_id}.json"));
    assert_eq!(download.headers()["content-type"], "application/json");
    assert!(download.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let receipt: serde_json::Value = serde_json::from_slice(download.body()).unwrap();
    for field in [
        "version",
        "jurisdiction",
        "consentTimestamp",
        "collectionMethod",
        "consentReceiptID",
        "piiPrincipalId",
        "piiControllers",
        "policyUrl",
        "services",
        "sensitive",
        "spiCat",
        "signature",
    ] {
        assert!(receipt.get(field).is_some(), "Kantara field {field}");
    }
    assert_eq!(receipt["services"][0]["purposes"][0]["purposeCategory"], serde_json::json!(["medication"]));
    let parsed: carefront_shared::receipt::ConsentReceipt = serde_json::from_value(receipt).unwrap();
    assert!(carefront_shared::receipt::verify(&portal.config.receipt_keys, &parsed));

    // Stopping access gives a second receipt, listed on the page newest first.
    portal.advance(Duration::minutes(1));
    let grant = pollster::block_on(portal.store().grants_for_subject("person-1"))
        .unwrap()
        .into_iter()
        .find(|grant| grant.purpose == "to help me with my tablets" && grant.categories.len() == 1 && grant.id != "grant-sam")
        .unwrap();
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();
    assert_eq!(portal.post_form(&format!("/access/{}/revoke", grant.id), &[("csrf", &csrf), ("version", "1")]).status(), 303);
    let access = text(&portal.get("/access"));
    let revoked = access.find("(revoked)").unwrap();
    let granted = access.find("(granted)").unwrap();
    assert!(revoked < granted, "{access}");

    // Someone else's receipt does not exist for them.
    let other = portal.other_browser(51);
    let (_, code) = other.person_with_invitation("person-2", "Arthur Jenkins");
    assert_eq!(other.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    assert_eq!(other.get(&format!("/receipts/{receipt_id}")).status(), 404);
    assert_eq!(other.get(&format!("/receipts/{receipt_id}.json")).status(), 404);
}

/// A page's text with the entities minijinja writes turned back into characters.
fn page(response: &carefront_portal::Response) -> String {
    text(response).replace("&#x27;", "'").replace("&#x2f;", "/").replace("&quot;", "\"").replace("&amp;", "&")
}

fn edit_form<'a>(csrf: &'a str, version: &'a str, categories: &[&'a str], ends: (&'a str, &'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("version", version),
        ("ends", "date"),
        ("ends-day", ends.0),
        ("ends-month", ends.1),
        ("ends-year", ends.2),
        ("purpose", "to help me with my tablets"),
    ];
    fields.extend(categories.iter().map(|category| ("categories", *category)));
    fields
}

fn sams_grant(portal: &Portal) -> Grant {
    pollster::block_on(portal.store().grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.id == "grant-sam").unwrap()
}

fn history(portal: &Portal, grant_id: &str) -> usize {
    pollster::block_on(portal.store().grant_history(grant_id)).unwrap().len()
}

/// Proves the signed-in person again with `passkey`, finishing at `finish` (as the confirm page
/// names it); returns where the page script is sent next.
fn reauthenticate(portal: &Portal, passkey: &mut ResidentSoftPasskey, csrf: &str, finish: &str) -> String {
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let options = portal.post_json("/reauthenticate/options", csrf, &serde_json::json!({}));
    let options: carefront_shared::webauthn_rs::prelude::RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
    let assertion = passkey.do_authentication(url::Url::parse(support::ORIGIN).unwrap(), options).unwrap();
    let finished = portal.post_json(finish, csrf, &assertion);
    assert_eq!(finished.status(), 200, "{}", text(&finished));
    serde_json::from_slice::<serde_json::Value>(finished.body()).unwrap()["redirect"].as_str().unwrap().to_owned()
}

#[test]
fn narrowing_a_grant_applies_at_once_without_a_passkey_check() {
    let portal = setup();
    portal.advance(Duration::minutes(6));
    let form = page(&portal.get("/access/grant-sam/edit"));
    assert!(form.contains("Change Sam Okafor's access") && form.contains("At the moment: Sam Okafor can see your medicines"), "{form}");
    assert!(
        form.contains("value=\"medication\" checked") && form.contains("value=\"visits_and_notes\" checked") && !form.contains("value=\"care_plan\" checked")
    );
    assert!(form.contains("you will be asked to use your passkey again"), "{form}");
    let csrf = csrf_in(&form).unwrap();
    let narrowed = portal.post_form("/access/grant-sam/edit", &edit_form(&csrf, "1", &["medication"], ("1", "2", "2027")));
    assert_eq!(narrowed.status(), 303, "{}", text(&narrowed));
    assert_eq!(narrowed.headers()["location"], "/access?done=changed");
    let grant = sams_grant(&portal);
    assert_eq!((grant.version, grant.categories.clone()), (2, BTreeSet::from([Category::Medication])));
    assert_eq!(grant.ends_at.unwrap().date_naive().to_string(), "2027-02-01");
    let access = page(&portal.get("/access?done=changed"));
    assert!(
        access.contains("You changed their access.")
            && access.contains("Sam Okafor can see this part of your record until 1 February 2027:")
            && access.contains("<li>Your medicines</li>"),
        "{access}"
    );
    let receipt = &pollster::block_on(portal.store().receipts_for_subject("person-1")).unwrap()[0];
    assert_eq!((receipt.body.event.as_str(), receipt.body.grant_version), ("changed", 2));
    assert!(receipt.body.collection_method.contains("by the person, signed in with their passkey"), "{}", receipt.body.collection_method);
    assert!(carefront_shared::receipt::verify(&portal.config.receipt_keys, receipt));
    let events = pollster::block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 50)).unwrap();
    let changed = events.iter().find(|event| event.action == "grant.changed").unwrap();
    assert_eq!((changed.actor_id.as_deref(), changed.acting_for.as_deref()), (Some("person-1"), None));
    let log = page(&portal.get("/access-log?mine=yes"));
    assert!(
        log.contains(
            "changed Sam Okafor's access: they can no longer see your visits and carers' notes; it now ends on 1 February 2027 instead of 1 March 2027"
        ),
        "{log}"
    );

    // Saving it as it is changes nothing and writes nothing.
    let csrf = csrf_in(&text(&portal.get("/access/grant-sam/edit"))).unwrap();
    let same = portal.post_form("/access/grant-sam/edit", &edit_form(&csrf, "2", &["medication"], ("1", "2", "2027")));
    assert_eq!(same.headers()["location"], "/access?done=unchanged");
    assert_eq!(history(&portal, "grant-sam"), 2);
}

#[test]
fn giving_more_needs_a_fresh_passkey_check_and_keeps_what_was_typed() {
    let (portal, mut margaret) = setup_with_passkey();
    portal.advance(Duration::minutes(6));
    let csrf = csrf_in(&text(&portal.get("/access/grant-sam/edit"))).unwrap();
    let wider = edit_form(&csrf, "1", &["care_plan", "medication", "visits_and_notes"], ("1", "3", "2027"));
    let mut with_power = edit_form(&csrf, "1", &["medication", "visits_and_notes"], ("1", "3", "2027"));
    with_power.push(("act-for", "yes"));
    let mut no_end = edit_form(&csrf, "1", &["medication", "visits_and_notes"], ("", "", ""));
    no_end.retain(|(key, _)| *key != "ends");
    no_end.push(("ends", "none"));
    let mut comment = edit_form(&csrf, "1", &["medication", "visits_and_notes"], ("1", "3", "2027"));
    comment.push(("contribute", "yes"));
    let later = edit_form(&csrf, "1", &["medication", "visits_and_notes"], ("2", "3", "2027"));
    for fields in [&with_power, &no_end, &comment, &later, &wider] {
        let asked = portal.post_form("/access/grant-sam/edit", fields);
        assert_eq!(asked.status(), 200, "{fields:?}");
        let asked = page(&asked);
        assert!(asked.contains("Confirm it is you") && asked.contains("You are giving Sam Okafor more access"), "{asked}");
        assert_eq!(history(&portal, "grant-sam"), 1, "nothing written before the passkey check: {fields:?}");
    }
    let confirm = page(&portal.post_form("/access/grant-sam/edit", &wider));
    let finish = confirm.split("data-finish-url=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(finish.starts_with("/reauthenticate/finish?return="), "{finish}");

    let next = reauthenticate(&portal, &mut margaret, &csrf, &finish);
    assert!(next.starts_with("/access/grant-sam/edit?draft="), "{next}");
    let held = page(&portal.get(&next));
    assert!(held.contains("value=\"care_plan\" checked"), "the change typed before the check is kept: {held}");
    // A draft someone else made up is not filled in.
    let forged = next.replace("check=", "check=x");
    assert!(!page(&portal.get(&forged)).contains("value=\"care_plan\" checked"));
    let other = portal.other_browser(71);
    let (_, code) = other.person_with_invitation("person-2", "Arthur Jenkins");
    assert_eq!(other.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    assert_eq!(other.get(&next).status(), 404, "another person's browser");

    let csrf = csrf_in(&held).unwrap();
    let saved = portal.post_form("/access/grant-sam/edit", &edit_form(&csrf, "1", &["care_plan", "medication", "visits_and_notes"], ("1", "3", "2027")));
    assert_eq!(saved.headers()["location"], "/access?done=changed");
    let grant = sams_grant(&portal);
    assert_eq!((grant.version, grant.categories.contains(&Category::CarePlan)), (2, true));
    let receipt = &pollster::block_on(portal.store().receipts_for_subject("person-1")).unwrap()[0];
    assert!(receipt.body.collection_method.contains("after confirming it was them with their passkey"));
    assert!(page(&portal.get("/access-log?mine=yes")).contains("changed Sam Okafor's access: they can now also see your care plan"));
    // The page to come back to is only ever a path on this site (else home).
    for forged in ["https%3A%2F%2Fevil.example%2Faccess", "%2F%2Fevil.example%2Faccess", "%2F%5Cevil.example"] {
        let csrf = portal.csrf_from("/home");
        let next = reauthenticate(&portal, &mut margaret, &csrf, &format!("/reauthenticate/finish?return={forged}"));
        assert_eq!(next, "/home", "{forged}");
    }
}

#[test]
fn a_stale_change_is_a_conflict_that_shows_both_versions_and_writes_nothing() {
    let portal = setup();
    let csrf = csrf_in(&text(&portal.get("/access/grant-sam/edit"))).unwrap();
    // Meanwhile the grant gains the contacts (version 2).
    let mut grant = sams_grant(&portal);
    grant.categories.insert(Category::Contacts);
    pollster::block_on(portal.store().update_grant(&grant, portal.now.get(), None)).unwrap();
    let receipts = pollster::block_on(portal.store().receipts_for_subject("person-1")).unwrap().len();

    let stale = portal.post_form("/access/grant-sam/edit", &edit_form(&csrf, "1", &["medication"], ("1", "2", "2027")));
    assert_eq!(stale.status(), 409);
    let stale = page(&stale);
    assert!(stale.contains("Nothing has been saved"), "{stale}");
    assert!(
        stale.contains("How it is now")
            && stale.contains("Sam Okafor can see your medicines, your visits and carers' notes and your contacts until 1 March 2027."),
        "{stale}"
    );
    assert!(stale.contains("What you asked for") && stale.contains("Sam Okafor can see your medicines until 1 February 2027."), "{stale}");
    assert!(stale.contains("They can no longer see your visits and carers' notes and your contacts"), "{stale}");
    assert!(stale.contains("It now ends on 1 February 2027 instead of 1 March 2027"), "{stale}");
    assert!(stale.contains("href=\"/access/grant-sam/edit\""), "start again: {stale}");
    assert_eq!(history(&portal, "grant-sam"), 2, "nothing written");
    assert_eq!(sams_grant(&portal).categories.len(), 3);
    assert_eq!(pollster::block_on(portal.store().receipts_for_subject("person-1")).unwrap().len(), receipts, "no receipt");
}

#[test]
fn two_browsers_changing_the_same_grant_at_once_cannot_lose_an_update() {
    let (portal, mut margaret) = setup_with_passkey();
    let phone = portal.other_browser(81);
    assert_eq!(phone.sign_in(&mut margaret).status(), 200);
    let first = csrf_in(&text(&portal.get("/access/grant-sam/edit"))).unwrap();
    let second = csrf_in(&text(&phone.get("/access/grant-sam/edit"))).unwrap();
    let medicines_only = portal.post_form("/access/grant-sam/edit", &edit_form(&first, "1", &["medication"], ("1", "3", "2027")));
    let visits_only = phone.post_form("/access/grant-sam/edit", &edit_form(&second, "1", &["visits_and_notes"], ("1", "3", "2027")));
    assert_eq!((medicines_only.status().as_u16(), visits_only.status().as_u16()), (303, 409));
    assert!(page(&visits_only).contains("Sam Okafor can see your medicines until 1 March 2027."), "the loser sees the winner's version");
    let grant = sams_grant(&portal);
    assert_eq!((grant.version, grant.categories), (2, BTreeSet::from([Category::Medication])));
    assert_eq!(history(&portal, "grant-sam"), 2);
    // Revoking from a page opened before the change is refused the same way.
    let stale_revoke = phone.post_form("/access/grant-sam/revoke", &[("csrf", &second), ("version", "1")]);
    assert_eq!(stale_revoke.status(), 409);
    assert!(sams_grant(&portal).revoked_at.is_none());
}

#[test]
fn bad_changes_are_refused_with_clear_errors_and_nothing_written() {
    let portal = setup();
    let now = portal.now.get();
    let store = portal.store();
    // A grant that starts next month, Arthur's grant, and one that was stopped.
    let later = Grant {
        id: "grant-later".into(),
        version: 1,
        subject_id: "person-1".into(),
        grantee: Grantee::Person("person-sam".into()),
        categories: BTreeSet::from([Category::Documents]),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "while I am away".into(),
        starts_at: now + Duration::days(30),
        ends_at: Some(now + Duration::days(60)),
        basis: Basis::Consent,
        evidence: None,
        recorded_by: "person-1".into(),
        revoked_at: None,
    };
    let arthurs = Grant { id: "grant-arthur".into(), subject_id: "person-2".into(), starts_at: now, ..later.clone() };
    let stopped = Grant { id: "grant-stopped".into(), starts_at: now, revoked_at: Some(now), ..later.clone() };
    pollster::block_on(store.insert_person(&Person {
        id: "person-2".into(),
        role: Role::ServiceUser,
        display_name: "Arthur Jenkins".into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(90),
        created_at: now,
    }))
    .unwrap();
    for grant in [&later, &arthurs, &stopped] {
        pollster::block_on(store.insert_grant(grant, now, None)).unwrap();
    }
    let snapshot = || -> (Vec<Grant>, Vec<Grant>, usize, Vec<usize>) {
        (
            pollster::block_on(store.grants_for_subject("person-1")).unwrap(),
            pollster::block_on(store.grants_for_subject("person-2")).unwrap(),
            pollster::block_on(store.receipts_for_subject("person-1")).unwrap().len(),
            ["grant-sam", "grant-later", "grant-arthur", "grant-stopped", "grant-council"].iter().map(|id| history(&portal, id)).collect(),
        )
    };
    let before = snapshot();
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();

    for path in ["/access/grant-nope/edit", "/access/grant-arthur/edit", "/people/person-2/access/grant-arthur/edit"] {
        assert_eq!(portal.get(path).status(), 404, "GET {path}");
        assert_eq!(portal.post_form(path, &edit_form(&csrf, "1", &["medication"], ("1", "3", "2027"))).status(), 404, "POST {path}");
    }
    assert_eq!(portal.get("/access/grant-council/edit").status(), 400);
    assert!(page(&portal.get("/access/grant-stopped/edit")).contains("already ended"));

    let mut no_version = edit_form(&csrf, "1", &["medication"], ("1", "3", "2027"));
    no_version.retain(|(key, _)| *key != "version");
    let mut no_purpose = edit_form(&csrf, "1", &["medication"], ("1", "3", "2027"));
    no_purpose.retain(|(key, _)| *key != "purpose");
    let mut odd_end = edit_form(&csrf, "1", &["medication"], ("1", "3", "2027"));
    odd_end.retain(|(key, _)| *key != "ends");
    odd_end.push(("ends", "forever"));
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("/access/grant-sam/edit", edit_form(&csrf, "1", &["medication"], ("1", "1", "2020")), "must be in the future"),
        ("/access/grant-sam/edit", edit_form(&csrf, "1", &["medication"], ("31", "2", "2027")), "Enter the date their access ends"),
        ("/access/grant-sam/edit", edit_form(&csrf, "1", &[], ("1", "3", "2027")), "Choose at least one kind of information"),
        ("/access/grant-sam/edit", edit_form(&csrf, "1", &["medication", "secrets"], ("1", "3", "2027")), "could not understand"),
        ("/access/grant-sam/edit", no_version, "could not understand"),
        ("/access/grant-sam/edit", edit_form(&csrf, "two", &["medication"], ("1", "3", "2027")), "could not understand"),
        ("/access/grant-sam/edit", no_purpose, "Say why they need to see it"),
        ("/access/grant-sam/edit", odd_end, "could not understand"),
        ("/access/grant-later/edit", edit_form(&csrf, "1", &["documents"], ("1", "12", "2026")), "must be after it starts, on 21 December 2026"),
        ("/access/grant-council/edit", edit_form(&csrf, "1", &["medication"], ("1", "3", "2027")), "cannot be turned off or changed"),
        ("/access/grant-stopped/edit", edit_form(&csrf, "1", &["documents"], ("1", "3", "2027")), "already ended"),
    ];
    for (path, fields, expected) in cases {
        let response = portal.post_form(path, &fields);
        assert_eq!(response.status(), 400, "{path} {fields:?}");
        let body = page(&response);
        assert!(body.contains(expected), "{path} {fields:?}: {body}");
    }
    assert_eq!(snapshot(), before, "nothing written");
}

#[test]
fn the_person_can_let_someone_act_for_them_when_adding_them() {
    let portal = setup();
    let form = page(&portal.get("/access/add"));
    assert!(
        form.contains("Can they act for you?") && form.contains("They cannot give themselves more access, pass this power on, or turn off the council"),
        "{form}"
    );
    let csrf = csrf_in(&form).unwrap();
    let mut fields = add_form(&csrf, "Ada Okafor", &["medication"], ("1", "3", "2027"));
    fields.push(("act-for", "yes"));
    let added = page(&portal.post_form("/access/add", &fields));
    assert!(added.contains("They can also act for you"), "{added}");
    let ada = pollster::block_on(portal.store().grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.act_for).unwrap();
    assert!(matches!(ada.grantee, Grantee::Person(_)) && ada.categories == BTreeSet::from([Category::Medication]));
    assert!(page(&portal.get("/access-log?mine=yes")).contains("gave access: Ada Okafor can see your medicines until 1 March 2027. They can also act for you"));
}

/// The portal's test settings with some replaced.
fn settings_with(overrides: &'static [(&'static str, &'static str)]) -> carefront_shared::config::Config {
    use carefront_shared::config::{App, Config};
    Config::from_lookup(App::Portal, |name| {
        overrides.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned()).or_else(|| support::setting(name))
    })
    .unwrap()
}

#[test]
fn finding_11_rotating_the_session_key_keeps_receipts_valid() {
    let mut portal = setup();
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();
    assert_eq!(portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "1")]).status(), 303);
    let receipt = pollster::block_on(portal.store().receipts_for_subject("person-1")).unwrap().remove(0);
    assert_eq!(receipt.kid.as_deref(), Some("test1"), "the receipt names the key that signed it");

    // After a compromise the session and CSRF keys are rotated: every session ends…
    portal.config = settings_with(&[
        ("SESSION_KEY", "cm90YXRlZC1zZXNzaW9uLWtleS1mb3ItdGVzdHMtMzItYnl0ZXMh"),
        ("CSRF_KEY", "cm90YXRlZC1jc3JmLWtleS1mb3ItdGVzdHMtb25seS0zMi1ieXRlcw"),
    ]);
    assert_eq!(portal.get("/access").headers()["location"], "/sign-in", "the old session cookie is void");
    // …and every consent receipt ever issued still verifies.
    assert!(carefront_shared::receipt::verify(&portal.config.receipt_keys, &receipt));

    // Rotating the receipt keys themselves keeps the old one listed to verify.
    portal.config = settings_with(&[(
        "RECEIPT_KEYS",
        "test2:bmV3LXJlY2VpcHQta2V5LWZvci10ZXN0cy1vbmx5LTMyLWJ5dGVz, test1:cmVjZWlwdC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ",
    )]);
    assert_eq!(portal.config.receipt_keys.signing_id(), "test2");
    assert!(carefront_shared::receipt::verify(&portal.config.receipt_keys, &receipt));
    portal.config = settings_with(&[("RECEIPT_KEYS", "test2:bmV3LXJlY2VpcHQta2V5LWZvci10ZXN0cy1vbmx5LTMyLWJ5dGVz")]);
    assert!(!carefront_shared::receipt::verify(&portal.config.receipt_keys, &receipt), "only once test1 is dropped");
}

#[test]
fn finding_11_a_csrf_token_is_not_a_session_signature() {
    use base64::Engine as _;
    use carefront_shared::crypto::SigningKey;
    use carefront_shared::session::{self, SESSION_COOKIE, SESSION_PURPOSE};

    let portal = setup();
    let csrf = csrf_in(&text(&portal.get("/access"))).unwrap();
    // Someone holding SESSION_KEY (but not CSRF_KEY) forges the token the old code would have made.
    let session_key = SigningKey::new(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(support::setting("SESSION_KEY").unwrap()).unwrap()).unwrap();
    let cookies = portal.cookies.borrow().clone();
    let session_hash = session::open(&session_key, SESSION_PURPOSE, &cookies[SESSION_COOKIE]).unwrap();
    let forged = session_key.sign("csrf", &format!("{}:{session_hash}", cookies["__Host-carefront_csrf"]));
    assert_ne!(forged, csrf);
    assert_eq!(portal.post_form("/access/grant-sam/revoke", &[("csrf", &forged), ("version", "1")]).status(), 403);
    // Nor does a session cookie open under the CSRF key's purpose, or the CSRF key open a session.
    let csrf_key = SigningKey::new(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(support::setting("CSRF_KEY").unwrap()).unwrap()).unwrap();
    assert_eq!(session::open(&csrf_key, SESSION_PURPOSE, &cookies[SESSION_COOKIE]), None);
    assert_eq!(portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "1")]).status(), 303, "the real token works");
}
