//! A way back in: council staff give an enrolled person who lost every passkey a recovery
//! invitation, after recording how they checked who it is. Used, it adds a passkey to the
//! person's existing account (never a new person), once, within a day or a few; the issue and
//! the use are in the log, the person is told on their next sign-in who gave the letter, and
//! can then remove the lost phone's passkey. Attackers: no one but the council's staff can make
//! one, and only for someone the council has a duty to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::db::{Database, Value};
use carefront_shared::domain::{InvitationPurpose, Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::store::{InvitationStore, Store};
use chrono::Duration;
use pollster::block_on;
use support::{Portal, ResidentSoftPasskey, statutory_grant, text};

const COUNCIL: &str = "org-council";
const PROVIDER: &str = "org-provider";
const MARGARET: &str = "person-margaret";

/// Someone with an account, enrolled with `passkey` in their own browser.
fn enrolled_with(portal: &Portal, id: &str, role: Role, organisation: Option<&str>, seed: u64, passkey: &mut ResidentSoftPasskey) -> Portal {
    let now = portal.now.get();
    let person = Person {
        id: id.into(),
        role,
        display_name: format!("{id} name"),
        organisation_id: organisation.map(str::to_owned),
        webauthn_handle: uuid::Uuid::from_u128(u128::from(seed) + 900),
        created_at: now,
    };
    block_on(portal.store().insert_person(&person)).unwrap();
    let (invitation, code) = invitation::issue(id, None, now, DEFAULT_LIFETIME, &portal.random);
    block_on(portal.store().insert_invitation(&invitation)).unwrap();
    let browser = portal.other_browser(seed);
    assert_eq!(browser.enrol(&code.to_string(), passkey).status(), 200);
    browser
}

fn enrolled(portal: &Portal, id: &str, role: Role, organisation: Option<&str>, seed: u64) -> Portal {
    enrolled_with(portal, id, role, organisation, seed, &mut ResidentSoftPasskey::new())
}

/// The council, a provider, Cath (a council caseworker, signed in) and Margaret, enrolled with
/// `passkey` on her old phone (her browser is returned too).
fn council(passkey: &mut ResidentSoftPasskey) -> (Portal, Portal, Portal) {
    let portal = Portal::new();
    let store = portal.store();
    let now = portal.now.get();
    for (id, kind, name) in [(COUNCIL, OrganisationKind::Council, "Northshire County Council"), (PROVIDER, OrganisationKind::Provider, "Brookside Home Care")] {
        block_on(store.insert_organisation(&Organisation { id: id.into(), kind, name: name.into(), created_at: now })).unwrap();
    }
    block_on(store.set_organisation_contact(COUNCIL, "care@northshire.example", "01632 960 001", "County Hall", "https://northshire.example/privacy")).unwrap();
    let margaret = enrolled_with(&portal, MARGARET, Role::ServiceUser, None, 20, passkey);
    block_on(store.insert_grant(&statutory_grant(MARGARET, now), now, None)).unwrap();
    let cath = enrolled(&portal, "person-cath", Role::CouncilStaff, Some(COUNCIL), 31);
    (portal, cath, margaret)
}

fn count(portal: &Portal, sql: &str) -> i64 {
    match block_on(portal.db.query(sql, &[])).unwrap()[0].0[0] {
        Value::Integer(number) => number,
        ref other => panic!("{other:?}"),
    }
}

/// The code printed in the letter.
fn code_in(html: &str) -> String {
    let marker = "app-code\"><span>";
    let at = html.find(marker).expect("a code in the letter");
    html[at + marker.len()..].split('<').next().unwrap().to_owned()
}

fn recover(cath: &Portal, person: &str, method: &str, note: &str, lifetime: &str) -> http::Response<Vec<u8>> {
    let path = format!("/council/people/{person}/invitations");
    let page = cath.get(&path);
    let csrf = cath.csrf_from("/home");
    // The reissue form names the waiting invitation it replaces, if there is one.
    let html = text(&page);
    let marker = "name=\"replaces\" value=\"";
    let replaces = html.find(marker).map(|at| html[at + marker.len()..].split('"').next().unwrap().to_owned()).unwrap_or_default();
    cath.post_form(&path, &[("csrf", &csrf), ("lifetime", lifetime), ("check-method", method), ("check-note", note), ("replaces", &replaces)])
}

#[test]
fn a_recovery_invitation_adds_a_passkey_to_the_existing_account_once_and_the_person_is_told() {
    let mut old_phone = ResidentSoftPasskey::new();
    let (portal, cath, margaret) = council(&mut old_phone);
    let page = text(&cath.get(&format!("/council/people/{MARGARET}/invitations")));
    assert!(page.contains("Give person-margaret name a way back in") && page.contains("How did you check who it is?"), "{page}");
    let people = count(&portal, "SELECT COUNT(*) FROM people");
    let old_passkey = block_on(portal.store().passkeys(MARGARET)).unwrap().remove(0);

    let letter = recover(&cath, MARGARET, "in_person_photo_id", "Saw her passport at home", "1");
    assert_eq!(letter.status(), 200, "{}", text(&letter));
    let html = text(&letter);
    assert!(html.contains("Get back into carefront with a new passkey") && html.contains("adds a passkey on your new phone to your own account"), "{html}");
    let code = code_in(&html);
    let invitations = block_on(portal.store().invitations_for_person(MARGARET)).unwrap();
    let recovery = invitations.iter().find(|invitation| invitation.purpose == InvitationPurpose::Recovery).expect("a recovery invitation");
    assert_eq!(recovery.identity_check.as_deref(), Some("In person, with photo ID: Saw her passport at home"));
    assert_eq!(recovery.expires_at - recovery.created_at, Duration::days(1), "short-lived");
    assert_eq!(recovery.created_by.as_deref(), Some("person-cath"));
    assert_eq!(
        count(
            &portal,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.recovery_issued' AND actor_id = 'person-cath' AND subject_id = 'person-margaret' AND detail LIKE '%Saw her passport at home%'"
        ),
        1
    );
    let listed = text(&cath.get(&format!("/council/people/{MARGARET}/invitations")));
    assert!(listed.contains("Recovery letter. Checked: In person, with photo ID: Saw her passport at home"), "{listed}");

    // Her new phone: the code adds a passkey to her own account.
    let new_phone = portal.other_browser(60);
    let mut new_passkey = ResidentSoftPasskey::new();
    let finished = new_phone.enrol(&code, &mut new_passkey);
    assert_eq!(finished.status(), 200, "{}", text(&finished));
    let redirect: serde_json::Value = serde_json::from_slice(finished.body()).unwrap();
    assert_eq!(redirect["redirect"], "/passkeys?done=recovered");
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM people"), people, "no new person");
    let passkeys = block_on(portal.store().passkeys(MARGARET)).unwrap();
    assert_eq!(passkeys.len(), 2, "the old passkey and the new, on one account");
    let notice = text(&new_phone.get("/passkeys?done=recovered"));
    assert!(notice.contains("Your new passkey is ready") && notice.contains("remove it"), "{notice}");
    assert!(text(&new_phone.get("/home")).contains("person-margaret name"), "signed in as herself");

    // Used once: the same code again is refused.
    let again = portal.other_browser(61);
    let csrf = again.csrf_from(&format!("/invitation?code={code}"));
    assert_eq!(again.post_form("/invitation", &[("csrf", &csrf), ("code", &code)]).status(), 410);

    // Told on her next sign-in, wherever it is: when, and who gave the letter.
    margaret.post_form("/sign-out", &[("csrf", &margaret.csrf_from("/home"))]);
    assert_eq!(margaret.sign_in(&mut old_phone).status(), 200);
    let home = text(&margaret.get("/home"));
    assert!(home.contains("A passkey was added to your account"), "{home}");
    assert!(home.contains("was added on 21 November 2026 at 9am with a recovery letter from person-cath name at Northshire County Council"), "{home}");

    // Then the lost phone's passkey can be removed from the new phone.
    let csrf = new_phone.csrf_from("/passkeys");
    assert!(passkeys.iter().any(|passkey| passkey.id == old_passkey.id), "the old passkey is still there until she removes it");
    assert_eq!(new_phone.post_form(&format!("/passkeys/{}/remove", old_passkey.id), &[("csrf", &csrf)]).status(), 303);
    let left = block_on(portal.store().passkeys(MARGARET)).unwrap();
    assert!(left.len() == 1 && left[0].id != old_passkey.id);
    assert_eq!(margaret.get("/home").status(), 303, "the old phone's session ended with its passkey");
}

#[test]
fn a_recovery_invitation_is_short_lived() {
    let (portal, cath, _) = council(&mut ResidentSoftPasskey::new());
    let code = code_in(&text(&recover(&cath, MARGARET, "phone_call_back", "Called 01632 960 123 back", "1")));
    portal.advance(Duration::days(1));
    let browser = portal.other_browser(62);
    let csrf = browser.csrf_from(&format!("/invitation?code={code}"));
    assert_eq!(browser.post_form("/invitation", &[("csrf", &csrf), ("code", &code)]).status(), 410);
}

#[test]
fn without_a_recorded_check_nothing_is_issued_and_the_fields_are_named() {
    let (portal, cath, _) = council(&mut ResidentSoftPasskey::new());
    let before = count(&portal, "SELECT COUNT(*) FROM invitations");
    for (method, note, lifetime, fields) in [
        ("", "", "1", &["check-method", "check-note"][..]),
        ("in_person_known", "   ", "3", &["check-note"][..]),
        ("trust_me", "They sounded right", "1", &["check-method"][..]),
        ("in_person_photo_id", &"x".repeat(501), "1", &["check-note"][..]),
        // A posted letter's 28 days is too long for a way into an existing account.
        ("in_person_photo_id", "Passport", "28", &["lifetime"][..]),
    ] {
        let response = recover(&cath, MARGARET, method, note, lifetime);
        assert_eq!(response.status(), 400, "{method} {lifetime}");
        let html = text(&response);
        assert!(html.contains("tabindex=\"-1\" autofocus"), "the summary takes focus");
        for field in fields {
            assert!(html.contains(&format!("<a href=\"#{field}\">")), "{field}: {html}");
            assert!(html.contains(&format!("id=\"{field}-error\"")), "{field}");
        }
        if note.trim().len() < 100 && !note.trim().is_empty() {
            assert!(html.contains(note.trim()), "what was typed is kept");
        }
    }
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM invitations"), before);
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'invitation.recovery%'"), 0);
}

#[test]
fn only_the_councils_staff_can_make_one_and_only_for_someone_it_has_a_duty_to() {
    let (portal, cath, margaret) = council(&mut ResidentSoftPasskey::new());
    let provider = enrolled(&portal, "person-pat", Role::ProviderStaff, Some(PROVIDER), 51);
    let family = enrolled(&portal, "person-sam", Role::Representative, None, 52);
    let misplaced = enrolled(&portal, "person-mo", Role::CouncilStaff, Some(PROVIDER), 53);
    enrolled(&portal, "person-elsewhere", Role::ServiceUser, None, 56);
    let before = count(&portal, "SELECT COUNT(*) FROM invitations");
    let path = format!("/council/people/{MARGARET}/invitations");
    for (who, browser) in [("provider staff", &provider), ("family", &family), ("council staff of a provider", &misplaced), ("the person", &margaret)] {
        let csrf = browser.csrf_from("/home");
        let fields = [("csrf", csrf.as_str()), ("lifetime", "1"), ("check-method", "in_person_photo_id"), ("check-note", "Passport")];
        assert_eq!(browser.post_form(&path, &fields).status(), 404, "{who}");
    }
    // An enrolled person the council has no duty to, and staff accounts (their way back in is
    // the administrators' page): not found.
    for person in ["person-elsewhere", "person-pat", "person-mo", "nobody"] {
        assert_eq!(recover(&cath, person, "in_person_photo_id", "Passport", "1").status(), 404, "{person}");
    }
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM invitations"), before);
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'invitation.recovery%'"), 0);
    // Without a fresh passkey check, Cath is asked for one first.
    portal.advance(Duration::minutes(10));
    assert_eq!(recover(&cath, MARGARET, "in_person_photo_id", "Passport", "1").status(), 403);
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM invitations"), before);
}

#[test]
fn someone_not_enrolled_gets_an_enrolment_invitation_not_a_recovery() {
    let (portal, cath, _) = council(&mut ResidentSoftPasskey::new());
    portal.person_with_invitation("person-ada", "Ada Lovelace");
    let now = portal.now.get();
    block_on(portal.store().insert_grant(&statutory_grant("person-ada", now), now, None)).unwrap();
    let page = text(&cath.get("/council/people/person-ada/invitations"));
    assert!(!page.contains("check-method"), "no identity check for a first invitation");
    let letter = recover(&cath, "person-ada", "in_person_photo_id", "Passport", "28");
    assert_eq!(letter.status(), 200, "{}", text(&letter));
    assert!(text(&letter).contains("Set up carefront"));
    let invitations = block_on(portal.store().invitations_for_person("person-ada")).unwrap();
    assert!(invitations.iter().all(|invitation| invitation.purpose == InvitationPurpose::Enrol && invitation.identity_check.is_none()));
}

/// The `<html …>` line and the page's `<main>` (the letter has no CSRF form).
fn essence(html: &str) -> String {
    let opening = html.lines().find(|line| line.starts_with("<html")).unwrap_or_default().to_owned();
    let start = html.find("<main").expect("a <main> element");
    let end = html.find("</main>").expect("a closing </main>") + "</main>".len();
    format!("{opening}\n{}", &html[start..end])
}

#[test]
fn the_recovery_letter_as_printed() {
    let (_portal, cath, _) = council(&mut ResidentSoftPasskey::new());
    let letter = recover(&cath, MARGARET, "in_person_known", "Visited her at home with her social worker", "3");
    assert_eq!(letter.status(), 200);
    let html = text(&letter);
    assert!(!html[html.find("<main").unwrap()..].contains("name=\"csrf\""));
    insta::assert_snapshot!("recovery_letter", essence(&html));
}

/// A recovery invitation opens an existing account: an email address or mobile number typed at
/// the desk (perhaps by someone posing as the person) must never receive one. Found while
/// merging invitations by email and text.
#[test]
fn a_recovery_invitation_is_never_emailed_or_texted_to_an_address_typed_at_the_desk() {
    let (portal, cath, _margaret) = council(&mut ResidentSoftPasskey::new());
    let path = format!("/council/people/{MARGARET}/invitations");
    let page = text(&cath.get(&path));
    assert!(!page.contains("value=\"email\"") && !page.contains("value=\"sms\""), "the form offers only a letter or by hand: {page}");
    let before = (count(&portal, "SELECT COUNT(*) FROM invitations"), count(&portal, "SELECT COUNT(*) FROM notifications"));
    for (how, field, value) in [("email", "email", "someone@example.com"), ("sms", "mobile", "07700 900 321")] {
        let csrf = cath.csrf_from("/home");
        let response = cath.post_form(
            &path,
            &[("csrf", &csrf), ("lifetime", "1"), ("check-method", "in_person_photo_id"), ("check-note", "Saw a passport"), ("how", how), (field, value)],
        );
        assert_eq!(response.status(), 400, "{how}");
        assert!(text(&response).contains("A recovery invitation can only be posted to the address on their record, or handed over"), "{how}");
    }
    assert_eq!((count(&portal, "SELECT COUNT(*) FROM invitations"), count(&portal, "SELECT COUNT(*) FROM notifications")), before, "nothing written");
}
