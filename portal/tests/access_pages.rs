//! Issue 11's access pages through the router: stopping access asks first and names whom it
//! stops; invitations a person can hand over (link, code, letter), issue again and cancel; the
//! access log with other people first, by UK day, paged, with a GOV.UK date input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::access::AuditAction;
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::credential::SystemCredential;
use carefront_shared::domain::{AuditEvent, Organisation, OrganisationKind, Person, Role};
use carefront_shared::store::{CredentialStore, InvitationStore, Store};
use chrono::Duration;
use pollster::block_on;
use support::{Portal, ResidentSoftPasskey, csrf_in, text};

/// A page's text with the entities minijinja writes turned back into characters.
fn page(response: &carefront_portal::Response) -> String {
    text(response).replace("&#x27;", "'").replace("&#x2f;", "/").replace("&quot;", "\"").replace("&amp;", "&")
}

fn grant(id: &str, grantee: Grantee, categories: &[Category], portal: &Portal) -> Grant {
    let now = portal.now.get();
    Grant {
        id: id.into(),
        version: 1,
        subject_id: "person-1".into(),
        grantee,
        categories: categories.iter().copied().collect(),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "to help me with my tablets".into(),
        starts_at: now,
        ends_at: Some(now + Duration::days(100)),
        basis: Basis::Consent,
        evidence: None,
        recorded_by: "person-1".into(),
        revoked_at: None,
    }
}

fn organisation(portal: &Portal, id: &str, kind: OrganisationKind, name: &str) {
    block_on(portal.store().insert_organisation(&Organisation { id: id.into(), kind, name: name.into(), created_at: portal.now.get() })).unwrap();
}

/// Margaret signed in with her passkey; Sam can see her medicines and visits; the council holds
/// its statutory grant; Brookside Home Care, her provider, sees her care plan and medicines.
fn setup() -> (Portal, ResidentSoftPasskey) {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code, &mut passkey).status(), 200);
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_person(&Person {
        id: "person-sam".into(),
        role: Role::Representative,
        display_name: "Sam Okafor".into(),
        organisation_id: None,
        webauthn_handle: uuid::Uuid::from_u128(77),
        created_at: now,
    }))
    .unwrap();
    organisation(&portal, "org-council", OrganisationKind::Council, "Northshire County Council");
    organisation(&portal, "org-brookside", OrganisationKind::Provider, "Brookside Home Care");
    let council = Grant {
        categories: Category::ALL.into_iter().collect(),
        ends_at: None,
        basis: Basis::StatutoryDuty,
        evidence: Some("Care Act 2014 s.27".into()),
        recorded_by: "org-council".into(),
        ..grant("grant-council", Grantee::Organisation("org-council".into()), &[], &portal)
    };
    for grant in [
        grant("grant-sam", Grantee::Person("person-sam".into()), &[Category::Medication, Category::VisitsAndNotes], &portal),
        grant("grant-brookside", Grantee::Organisation("org-brookside".into()), &[Category::CarePlan, Category::Medication], &portal),
        council,
    ] {
        block_on(store.insert_grant(&grant, now, None)).unwrap();
    }
    (portal, passkey)
}

/// Sam enrolled in his own browser (he holds no act-for power).
fn sam(portal: &Portal) -> Portal {
    let sam = portal.other_browser(11);
    let (invitation, code) =
        carefront_shared::invitation::issue("person-sam", None, sam.now.get(), carefront_shared::invitation::DEFAULT_LIFETIME, &sam.random);
    block_on(sam.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(sam.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    sam
}

fn revoked(portal: &Portal, id: &str) -> bool {
    block_on(portal.store().grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.id == id).unwrap().revoked_at.is_some()
}

/// The accessible names of the page's buttons and button-like links.
fn control_names(html: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (open, close) in [("<button", "</button>"), ("role=\"button\"", "</a>")] {
        for piece in html.split(open).skip(1) {
            let inner = piece.split_once('>').map(|(_, rest)| rest).unwrap_or_default();
            let inner = inner.split(close).next().unwrap_or_default();
            let mut name = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    _ if !in_tag => name.push(c),
                    _ => {}
                }
            }
            names.push(name.trim().to_owned());
        }
    }
    names
}

/// The `<html …>` line and the page's `<main>`, without its CSRF tokens.
fn essence(html: &str) -> String {
    let opening = html.lines().find(|line| line.starts_with("<html")).unwrap_or_default().to_owned();
    let start = html.find("<main").expect("a <main> element");
    let end = html.find("</main>").expect("a closing </main>") + "</main>".len();
    let main: String = html[start..end]
        .lines()
        .map(|line| if line.contains("name=\"csrf\"") { "<input type=\"hidden\" name=\"csrf\" value=\"…\">" } else { line })
        .collect::<Vec<_>>()
        .join("\n");
    format!("{opening}\n{main}")
}

#[test]
fn stopping_access_asks_first_naming_the_person_and_what_they_lose() {
    let (portal, _) = setup();
    let access = page(&portal.get("/access"));
    assert!(access.contains("href=\"/access/grant-sam/revoke\"") && access.contains("Stop Sam Okafor's access"), "{access}");
    assert!(access.contains("Change Sam Okafor's access") && !access.contains("Stop this access"), "{access}");
    let names = control_names(&access);
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "no two buttons share a name: {names:?}");

    let confirm = portal.get("/access/grant-sam/revoke");
    assert_eq!(confirm.status(), 200);
    let confirm = page(&confirm);
    assert!(confirm.contains("Stop Sam Okafor's access?"), "{confirm}");
    assert!(confirm.contains("They will no longer see your medicines and your visits and carers' notes."), "{confirm}");
    assert!(confirm.contains(">Stop Sam Okafor's access</button>") && confirm.contains("Keep Sam Okafor's access"), "{confirm}");
    assert!(!revoked(&portal, "grant-sam"), "asking writes nothing");

    let csrf = csrf_in(&confirm).unwrap();
    let stopped = portal.post_form("/access/grant-sam/revoke", &[("csrf", &csrf), ("version", "1")]);
    assert_eq!(stopped.headers()["location"], "/access?done=stopped&grant=grant-sam");
    assert!(revoked(&portal, "grant-sam"));
    let after = page(&portal.get("/access?done=stopped&grant=grant-sam"));
    assert!(after.contains("Sam Okafor's access has stopped. They can no longer see your information."), "{after}");
    // Its receipt, in words people say (the signed receipt keeps its machine words).
    let receipts = block_on(portal.store().receipts_for_subject("person-1")).unwrap();
    let receipt = page(&portal.get(&format!("/receipts/{}", receipts[0].body.consent_receipt_id)));
    assert!(receipt.contains("Your medicines and your visits and carers' notes") && receipt.contains("Stopped on 21 November 2026"), "{receipt}");
    assert!(receipt.contains("Access stopped, 21 November 2026") && !receipt.contains(", ,") && !receipt.contains("Revoked on"), "{receipt}");
    // Once stopped, the confirmation page goes back to the list.
    assert_eq!(portal.get("/access/grant-sam/revoke").headers()["location"], "/access");
    // A name is never taken from the address: an unknown or live grant is not named.
    let forged = page(&portal.get("/access?done=stopped&grant=grant-brookside"));
    assert!(forged.contains("The access has stopped.") && !forged.contains("Brookside Home Care's access has stopped"), "{forged}");
}

#[test]
fn stopping_a_providers_access_says_what_stops_working_for_the_care() {
    let (portal, _) = setup();
    let confirm = page(&portal.get("/access/grant-brookside/revoke"));
    assert!(confirm.contains("Stop Brookside Home Care's access?"), "{confirm}");
    for line in [
        "Carers will no longer see your care plan, so they may not know how you like to be helped.",
        "Carers will no longer see your medicines or record the medicines they give.",
        "This does not cancel your care. To change or end it, contact Brookside Home Care or the council.",
        "Brookside Home Care gives your care.",
    ] {
        assert!(confirm.contains(line), "{line}: {confirm}");
    }
    insta::assert_snapshot!("stop_provider_access", essence(&text(&portal.get("/access/grant-brookside/revoke"))));
}

#[test]
fn the_councils_access_cannot_be_stopped_and_forged_or_foreign_grants_do_not_exist() {
    let (portal, _) = setup();
    let council = portal.get("/access/grant-council/revoke");
    assert_eq!(council.status(), 400);
    assert!(page(&council).contains("cannot be turned off"));
    assert_eq!(portal.get("/access/grant-nope/revoke").status(), 404);

    let other = portal.other_browser(9);
    let (_, code) = other.person_with_invitation("person-2", "Arthur Jenkins");
    assert_eq!(other.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    assert_eq!(other.get("/access/grant-sam/revoke").status(), 404);
    assert_eq!(other.get("/people/person-1/access/grant-sam/revoke").status(), 404);
}

/// Margaret adds Ada (medicines) and gets the hand-over page.
fn add_ada(portal: &Portal) -> String {
    let csrf = csrf_in(&text(&portal.get("/access/add"))).unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "Ada Okafor"),
        ("categories", "medication"),
        ("ends-day", "1"),
        ("ends-month", "3"),
        ("ends-year", "2027"),
        ("purpose", "to collect prescriptions"),
    ];
    let added = portal.post_form("/access/add", &fields);
    assert_eq!(added.status(), 200, "{}", text(&added));
    page(&added)
}

/// The invitation link on a hand-over page, and its code.
fn link_and_code(handover: &str) -> (String, String) {
    let link = handover.split("app-code-box govuk-!-text-break-word\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let code = link.split("code=").nth(1).unwrap().to_owned();
    (link, code)
}

/// Whether a code is refused at the invitation page.
fn refused(portal: &Portal, code: &str) -> bool {
    let browser = portal.other_browser(40);
    let csrf = browser.csrf_from("/invitation");
    browser.post_form("/invitation", &[("csrf", &csrf), ("code", code)]).status() != 303
}

fn adas_invitations(portal: &Portal, ada: &str) -> Vec<carefront_shared::domain::Invitation> {
    block_on(portal.store().invitations_for_person(ada)).unwrap()
}

fn ada_id(portal: &Portal) -> String {
    let grants = block_on(portal.store().grants_for_subject("person-1")).unwrap();
    let ada = grants.iter().find(|grant| grant.purpose == "to collect prescriptions").unwrap();
    match &ada.grantee {
        Grantee::Person(id) => id.clone(),
        Grantee::Organisation(_) => unreachable!(),
    }
}

#[test]
fn a_person_hands_over_an_invitation_as_a_link_a_code_and_the_councils_letter() {
    let (portal, _) = setup();
    let handover = add_ada(&portal);
    let (link, code) = link_and_code(&handover);
    assert!(link.starts_with(support::ORIGIN) && link.contains("/invitation?code="), "{link}");
    assert!(handover.contains(&format!("Invitation code: <strong class=\"govuk-!-text-break-word\">{code}</strong>")), "the code too: {handover}");
    assert!(handover.contains("Send them this link") && handover.contains("Or print the letter"), "{handover}");
    // The council's letter, from Margaret: the QR code of the link, the code, plain steps.
    assert!(handover.contains("class=\"app-letter\"") && handover.contains(&format!("QR code of the link to your invitation: {link}")), "{handover}");
    assert!(handover.contains("Margaret Okafor has invited you to carefront") && handover.contains("ask Margaret Okafor to issue the invitation again"));
    assert!(handover.contains("From Margaret Okafor"), "{handover}");

    let access = page(&portal.get("/access"));
    assert!(access.contains("Invitations you made") && access.contains("Ada Okafor</strong>: Waiting."), "{access}");
    assert!(access.contains("Issue Ada Okafor's invitation again") && access.contains("Cancel Ada Okafor's invitation"), "{access}");

    let ada = portal.other_browser(21);
    assert_eq!(ada.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let access = page(&portal.get("/access"));
    assert!(!access.contains("Invitations you made"), "enrolled: nothing left to hand over: {access}");
}

#[test]
fn the_hand_over_page_as_printed() {
    let (portal, _) = setup();
    let csrf = csrf_in(&text(&portal.get("/access/add"))).unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "Ada Okafor"),
        ("categories", "medication"),
        ("ends-day", "1"),
        ("ends-month", "3"),
        ("ends-year", "2027"),
        ("purpose", "to collect prescriptions"),
    ];
    let added = portal.post_form("/access/add", &fields);
    insta::assert_snapshot!("hand_over_invitation", essence(&text(&added)));
}

#[test]
fn issuing_again_cancels_the_old_code_in_one_plan_and_one_waits_at_a_time() {
    let (portal, _) = setup();
    let (_, old_code) = link_and_code(&add_ada(&portal));
    let ada = ada_id(&portal);
    let first = adas_invitations(&portal, &ada)[0].id.clone();
    let csrf = portal.csrf_from("/access");
    let again = portal.post_form(&format!("/access/invitations/{first}/reissue"), &[("csrf", &csrf)]);
    assert_eq!(again.status(), 200, "{}", text(&again));
    let again = page(&again);
    assert!(again.contains("Give Ada Okafor this new invitation") && again.contains("The old code no longer works."), "{again}");
    let (_, new_code) = link_and_code(&again);
    assert_ne!(old_code, new_code);
    let invitations = adas_invitations(&portal, &ada);
    assert_eq!(invitations.len(), 2);
    assert!(invitations.iter().any(|invitation| invitation.id == first && invitation.cancelled_by.as_deref() == Some("person-1")));
    assert!(invitations.iter().any(|invitation| invitation.replaces.as_deref() == Some(first.as_str()) && invitation.cancelled_at.is_none()));
    let events = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 100)).unwrap();
    let event = events.iter().find(|event| event.action == AuditAction::InvitationReissued).expect("audited");
    assert_eq!(event.actor_id.as_deref(), Some("person-1"));
    assert!(event.detail.contains("Issued Ada Okafor a new invitation"), "{event:?}");

    // The first page's form again (a double submit): the old invitation is no longer the newest
    // open one of Margaret's, so it does not exist here, and nothing is written.
    assert_eq!(portal.post_form(&format!("/access/invitations/{first}/reissue"), &[("csrf", &csrf)]).status(), 404);
    assert_eq!(adas_invitations(&portal, &ada).len(), 2);

    assert!(refused(&portal, &old_code), "the old code is cancelled");
    let browser = portal.other_browser(23);
    assert_eq!(browser.enrol(&new_code, &mut ResidentSoftPasskey::new()).status(), 200);
    // Ada has a passkey now: a new code would let whoever holds it into her account.
    let newest = adas_invitations(&portal, &ada).into_iter().find(|invitation| invitation.used_at.is_some()).unwrap().id;
    assert_eq!(portal.post_form(&format!("/access/invitations/{newest}/reissue"), &[("csrf", &csrf)]).status(), 404);
}

#[test]
fn issuing_again_needs_a_fresh_passkey_check() {
    let (portal, _) = setup();
    add_ada(&portal);
    let ada = ada_id(&portal);
    let first = adas_invitations(&portal, &ada)[0].id.clone();
    portal.advance(Duration::minutes(6));
    let csrf = portal.csrf_from("/access");
    let confirm = portal.post_form(&format!("/access/invitations/{first}/reissue"), &[("csrf", &csrf)]);
    assert!(page(&confirm).contains("Confirm it is you"), "{}", text(&confirm));
    assert_eq!(adas_invitations(&portal, &ada).len(), 1, "nothing written");
}

#[test]
fn cancelling_stops_the_code_and_says_whose() {
    let (portal, _) = setup();
    let (_, code) = link_and_code(&add_ada(&portal));
    let ada = ada_id(&portal);
    let first = adas_invitations(&portal, &ada)[0].id.clone();
    let csrf = portal.csrf_from("/access");
    let cancelled = portal.post_form(&format!("/access/invitations/{first}/cancel"), &[("csrf", &csrf)]);
    assert_eq!(cancelled.headers()["location"], format!("/access?done=invitation-cancelled&person={ada}"));
    let after = page(&portal.get(&format!("/access?done=invitation-cancelled&person={ada}")));
    assert!(after.contains("You cancelled Ada Okafor's invitation. Its code no longer works."), "{after}");
    assert!(after.contains("Ada Okafor</strong>: Cancelled.") && !after.contains("Cancel Ada Okafor's invitation"), "{after}");
    assert!(adas_invitations(&portal, &ada).iter().all(|invitation| invitation.cancelled_at.is_some()));
    // Cancelling again changes nothing.
    assert_eq!(portal.post_form(&format!("/access/invitations/{first}/cancel"), &[("csrf", &csrf)]).status(), 409);
    assert!(refused(&portal, &code));
    // Issued again after cancelling: one new waiting invitation.
    assert_eq!(portal.post_form(&format!("/access/invitations/{first}/reissue"), &[("csrf", &csrf)]).status(), 200);
    assert_eq!(adas_invitations(&portal, &ada).iter().filter(|invitation| invitation.cancelled_at.is_none()).count(), 1);
}

#[test]
fn sam_cannot_stop_reissue_or_cancel_anything_of_margarets_without_act_for() {
    let (portal, _) = setup();
    add_ada(&portal);
    let ada = ada_id(&portal);
    let first = adas_invitations(&portal, &ada)[0].id.clone();
    let sam = sam(&portal);
    let csrf = sam.csrf_from("/home");
    assert_eq!(sam.get("/people/person-1/access/grant-sam/revoke").status(), 404);
    assert_eq!(sam.get("/people/person-1/access/grant-brookside/revoke").status(), 404);
    assert_eq!(sam.post_form("/people/person-1/access/grant-brookside/revoke", &[("csrf", &csrf), ("version", "1")]).status(), 404);
    for action in ["reissue", "cancel"] {
        assert_eq!(sam.post_form(&format!("/people/person-1/access/invitations/{first}/{action}"), &[("csrf", &csrf)]).status(), 404, "{action}");
        // Nor through his own pages: the invitation is not one of his.
        assert_eq!(sam.post_form(&format!("/access/invitations/{first}/{action}"), &[("csrf", &csrf)]).status(), 404, "{action}");
    }
    assert!(!revoked(&portal, "grant-brookside"));
    let invitations = adas_invitations(&portal, &ada);
    assert_eq!((invitations.len(), invitations[0].cancelled_at), (1, None), "nothing written");
}

#[test]
fn the_councils_invitations_are_the_councils_to_manage() {
    let (portal, _) = setup();
    // Sam has not enrolled; the council issued his invitation.
    let (invitation, _) =
        carefront_shared::invitation::issue("person-sam", Some("staff-cath"), portal.now.get(), carefront_shared::invitation::DEFAULT_LIFETIME, &portal.random);
    block_on(portal.store().insert_invitation(&invitation)).unwrap();
    assert!(!page(&portal.get("/access")).contains("Invitations you made"));
    let csrf = portal.csrf_from("/access");
    assert_eq!(portal.post_form(&format!("/access/invitations/{}/reissue", invitation.id), &[("csrf", &csrf)]).status(), 404);
    assert_eq!(portal.post_form(&format!("/access/invitations/{}/cancel", invitation.id), &[("csrf", &csrf)]).status(), 404);
}

/// `count` reads of Margaret's medicines by Brookside's system (its credential `ck_brookside`),
/// one a minute from an hour ago, and Sam's look at her care plan yesterday.
fn others_looked(portal: &Portal, reads: usize) {
    let now = portal.now.get();
    block_on(portal.store().insert_credential(&SystemCredential {
        key_id: "ck_brookside".into(),
        organisation_id: "org-brookside".into(),
        name: "Rostering".into(),
        permissions: BTreeSet::new(),
        fingerprint: "x".into(),
        created_by: "staff-cath".into(),
        created_at: now,
        revoked_at: None,
        revoked_by: None,
        last_used_at: None,
    }))
    .unwrap();
    let event = |id: String, actor: &str, action: AuditAction, at| AuditEvent {
        id,
        at,
        actor_id: Some(actor.into()),
        acting_for: None,
        subject_id: Some("person-1".into()),
        action,
        category: None,
        basis: None,
        detail: "looked".into(),
    };
    let mut events = vec![event("look-sam".into(), "person-sam", AuditAction::Viewed(Category::CarePlan), now - Duration::days(1))];
    events.extend((0..reads).map(|n| {
        let at = now - Duration::minutes(60) + Duration::minutes(i64::try_from(n).unwrap());
        // Each read with a different action, so none are told together.
        let action = if n % 2 == 0 { AuditAction::SystemRead(Category::Medication) } else { AuditAction::SystemRead(Category::CarePlan) };
        event(format!("read-{n:04}"), "credential:ck_brookside", action, at)
    }));
    block_on(portal.store().append_audits(&events)).unwrap();
}

#[test]
fn the_access_log_shows_other_people_first_by_uk_day_with_friendly_names() {
    let (portal, _) = setup();
    portal.advance(Duration::minutes(1));
    portal.get("/people/person-1/care-plan");
    others_looked(&portal, 3);
    let log = page(&portal.get("/access-log"));
    assert!(log.contains("Brookside Home Care's computer system") && !log.contains("ck_"), "never a key id, not even in the filter: {log}");
    let system = log.split("<option value=\"").find(|option| option.contains("computer system")).unwrap().split('"').next().unwrap().to_owned();
    let systems = page(&portal.get(&format!("/access-log?who={system}")));
    assert!(systems.contains("computer system</strong>") && !systems.contains("Sam Okafor</strong>") && !systems.contains("ck_"), "{systems}");
    assert!(log.contains("Sam Okafor</strong> looked at the care plan"), "{log}");
    assert!(!log.contains("<strong>You</strong>") && log.contains("Show my own looks"), "{log}");
    let today = log.find("<h2 class=\"govuk-heading-m\">Today, Saturday 21 November 2026</h2>").expect("today's heading");
    let yesterday = log.find("<h2 class=\"govuk-heading-m\">Yesterday, Friday 20 November 2026</h2>").expect("yesterday's heading");
    assert!(today < yesterday, "newest day first");
    let mine = page(&portal.get("/access-log?mine=yes"));
    assert!(mine.contains("<strong>You</strong> looked at the care plan") && mine.contains("name=\"mine\" type=\"checkbox\" value=\"yes\" checked"), "{mine}");
    // Choosing herself in "Show" asks for her own looks.
    assert!(page(&portal.get("/access-log?who=person-1")).contains("<strong>You</strong>"));
    insta::assert_snapshot!("access_log_others_first", essence(&text(&portal.get("/access-log"))));
}

#[test]
fn the_access_log_is_paged_fifty_at_a_time_and_keeps_its_filters() {
    let (portal, _) = setup();
    others_looked(&portal, 120);
    let first = page(&portal.get("/access-log"));
    assert_eq!(first.matches("<li>").count(), 50, "{first}");
    let next = first.split("rel=\"next\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap().to_owned();
    assert!(next.starts_with("/access-log?after="), "{next}");
    let second = page(&portal.get(&next));
    assert_eq!(second.matches("<li>").count(), 50);
    let filtered = page(&portal.get("/access-log?mine=yes&from-day=21&from-month=11&from-year=2026"));
    let next = filtered.split("rel=\"next\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap().to_owned();
    assert!(next.contains("mine=yes") && next.contains("from-day=21") && next.contains("from-year=2026"), "{next}");
}

#[test]
fn the_access_log_date_filter_is_a_govuk_date_input_whose_errors_name_the_field() {
    let (portal, _) = setup();
    others_looked(&portal, 3);
    let page_of = |query: &str| page(&portal.get(&format!("/access-log?{query}")));
    let shown = page_of("");
    for id in ["from-day", "from-month", "from-year", "to-day", "to-month", "to-year"] {
        assert!(shown.contains(&format!("id=\"{id}\" name=\"{id}\" type=\"text\" inputmode=\"numeric\"")), "{id}: {shown}");
    }
    assert!(!shown.contains("type=\"date\""), "no browser date picker");
    let today = page_of("from-day=21&from-month=11&from-year=2026");
    assert!(today.contains("Brookside Home Care's computer system") && !today.contains("Sam Okafor</strong>"), "{today}");
    let yesterday = page_of("to-day=20&to-month=11&to-year=2026");
    assert!(!yesterday.contains("computer system</strong>") && yesterday.contains("Sam Okafor</strong>"), "{yesterday}");
    for (query, field, message) in [
        ("from-day=31&from-month=2&from-year=2026", "from-day", "The date from must be a real date"),
        ("from-day=1&from-year=2026", "from-day", "The date from must include a month"),
        ("to-day=x&to-month=11&to-year=2026", "to-day", "The date to must be a real date"),
        ("to-day=1&to-month=11&to-year=26", "to-day", "The date to must have a year of 4 numbers"),
        ("from-day=2&from-month=11&from-year=2026&to-day=1&to-month=11&to-year=2026", "to-day", "The date to must be the same as or after the date from"),
    ] {
        let response = portal.get(&format!("/access-log?{query}"));
        assert_eq!(response.status(), 400, "{query}");
        let html = page(&response);
        assert!(html.contains(&format!("<a href=\"#{field}\">{message}")), "{query}: {html}");
        assert!(html.contains(&format!("id=\"{}-error\"", &field[..field.len() - 4])), "{query}: the message is beside the field");
        assert!(html.contains("<title>Error: "), "{query}");
        assert!(!html.contains("computer system</strong>"), "{query}: nothing shown on error");
    }
    // What was typed is shown again, escaped.
    let typed = text(&portal.get("/access-log?from-day=%3Cb%3E&from-month=1&from-year=2026"));
    assert!(!typed.contains("value=\"<b>\"") && typed.contains("value=\"&lt;b&gt;\""), "{typed}");
}

#[test]
fn finding_reflow_nothing_on_these_pages_is_wider_than_a_320px_screen_by_design() {
    let (portal, _) = setup();
    others_looked(&portal, 3);
    // A visually hidden legend keeps `white-space: nowrap` and, being a legend, its full width
    // (342 px at 320 in the review): the date's legend is shown instead.
    let edit = text(&portal.get("/access/grant-sam/edit"));
    assert!(edit.contains("The date their access ends</legend>") && !edit.contains("govuk-fieldset__legend govuk-visually-hidden"), "{edit}");
    // The access log was a three-column table (494 px at 320): now lines under each day.
    let log = text(&portal.get("/access-log"));
    assert!(!log.contains("<table"), "{log}");
}
