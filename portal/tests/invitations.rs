//! Council staff's invitations through the router: issuing, reissuing and cancelling (each one
//! plan with its audit event), the invitation letter (the code, a QR code drawn as inline SVG,
//! the expiry in UK time, the person's large print size), "Not enrolled yet", expired and
//! cancelled codes refused at `/invitation`, a doubled reissue that never leaves two
//! invitations waiting, and "not found" for everyone who is not council staff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::db::{Database, Value};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::needs::{Need, RecordedNeed};
use carefront_shared::store::{InvitationStore, Store, VoiceStore};
use chrono::Duration;
use pollster::block_on;
use support::{Portal, ResidentSoftPasskey, statutory_grant, text};

const COUNCIL: &str = "org-council";
const PROVIDER: &str = "org-provider";
const MARGARET: &str = "person-margaret";

/// Someone with an account enrolled in their own browser.
fn enrolled(portal: &Portal, id: &str, role: Role, organisation: Option<&str>, seed: u64) -> Portal {
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
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

/// The council and a provider, Margaret (not enrolled, with the invitation she was first sent)
/// and Cath, a council caseworker, signed in.
fn council() -> (Portal, Portal) {
    let portal = Portal::new();
    let store = portal.store();
    let now = portal.now.get();
    for (id, kind, name) in [(COUNCIL, OrganisationKind::Council, "Northshire County Council"), (PROVIDER, OrganisationKind::Provider, "Brookside Home Care")] {
        block_on(store.insert_organisation(&Organisation { id: id.into(), kind, name: name.into(), created_at: now })).unwrap();
    }
    block_on(store.set_organisation_contact(COUNCIL, "care@northshire.example", "01632 960 001", "County Hall", "https://northshire.example/privacy")).unwrap();
    portal.person_with_invitation(MARGARET, "Margaret Jones");
    block_on(store.insert_grant(&statutory_grant(MARGARET, now), now, None)).unwrap();
    let cath = enrolled(&portal, "person-cath", Role::CouncilStaff, Some(COUNCIL), 31);
    (portal, cath)
}

fn waiting(portal: &Portal, person: &str) -> Vec<String> {
    let now = portal.now.get();
    block_on(portal.store().invitations_for_person(person))
        .unwrap()
        .into_iter()
        .filter(|invitation| invitation::state(invitation, now) == invitation::InvitationState::Waiting)
        .map(|invitation| invitation.id)
        .collect()
}

fn count(portal: &Portal, sql: &str) -> i64 {
    match block_on(portal.db.query(sql, &[])).unwrap()[0].0[0] {
        Value::Integer(number) => number,
        ref other => panic!("{other:?}"),
    }
}

/// The hidden `replaces` value of the reissue form, if the page has one.
fn replaces_in(html: &str) -> Option<String> {
    let marker = "name=\"replaces\" value=\"";
    html.find(marker).map(|at| html[at + marker.len()..].split('"').next().unwrap().to_owned())
}

/// The code printed in the letter.
fn code_in(html: &str) -> String {
    let marker = "app-code\"><span>";
    let at = html.find(marker).expect("a code in the letter");
    html[at + marker.len()..].split('<').next().unwrap().to_owned()
}

/// Posts the issue / reissue form from the person's page as it is now.
fn issue(cath: &Portal, person: &str, lifetime: &str) -> http::Response<Vec<u8>> {
    let path = format!("/council/people/{person}/invitations");
    let page = cath.get(&path);
    assert_eq!(page.status(), 200, "{}", text(&page));
    let html = text(&page);
    let csrf = support::csrf_in(&html).unwrap();
    let replaces = replaces_in(&html).unwrap_or_default();
    cath.post_form(&path, &[("csrf", &csrf), ("lifetime", lifetime), ("replaces", &replaces)])
}

fn try_code(portal: &Portal, code: &str) -> http::Response<Vec<u8>> {
    let browser = portal.other_browser(77);
    let csrf = browser.csrf_from(&format!("/invitation?code={code}"));
    browser.post_form("/invitation", &[("csrf", &csrf), ("code", code)])
}

#[test]
fn reissuing_cancels_the_waiting_invitation_and_the_answer_is_the_letter() {
    let (portal, cath) = council();
    let first = waiting(&portal, MARGARET);
    assert_eq!(first.len(), 1);
    let page = text(&cath.get(&format!("/council/people/{MARGARET}/invitations")));
    assert!(page.contains("Waiting") && page.contains("Reissue the invitation"), "{page}");
    assert_eq!(replaces_in(&page).as_deref(), Some(first[0].as_str()));

    let letter = issue(&cath, MARGARET, "28");
    assert_eq!(letter.status(), 200, "{}", text(&letter));
    let html = text(&letter);
    let code = code_in(&html);
    assert_eq!(code.len(), 44, "{code}");
    assert!(html.contains("Dear Margaret Jones"));
    assert!(html.contains("It is free"));
    assert!(html.contains("Create a passkey"));
    assert!(html.contains("01632 960 001"), "who to call");
    // 21 November 2026 at 9am, plus 28 days: 19 December, still GMT.
    assert!(html.contains("Use it by 19 December 2026 at 9am."), "{html}");
    // The QR code: inline SVG with a text alternative naming the link; nothing fetched.
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
    assert!(html.contains("<path fill=\"#000\" d=\"M4,4h7v1h-7z"), "the finder pattern");
    // It encodes the link exactly (the title's text is HTML-escaped, `/` included).
    let link = format!("{}/invitation?code={code}", support::ORIGIN);
    let qr = qrcodegen::QrCode::encode_text(&link, qrcodegen::QrCodeEcc::Medium).unwrap();
    assert!(html.contains(&format!("viewBox=\"0 0 {0} {0}\"", qr.size() + 8)));
    assert!(html.contains(&format!("<title id=\"qr-title\">QR code of the link to your invitation: {}</title>", link.replace('/', "&#x2f;"))), "{html}");
    assert!(!html.contains("<img"));
    assert!(!html.contains("app-large-print"), "no large print recorded");

    // The old code is cancelled; the new one works, and the link fills the code in.
    let old = block_on(portal.store().invitations_for_person(MARGARET)).unwrap();
    assert_eq!(old.len(), 2);
    assert_eq!(old[0].replaces.as_deref(), Some(first[0].as_str()));
    assert_eq!((old[1].cancelled_by.as_deref(), old[1].cancelled_at), (Some("person-cath"), Some(portal.now.get())));
    assert_eq!(waiting(&portal, MARGARET), [old[0].id.clone()]);
    let prefilled = text(&portal.other_browser(78).get(&format!("/invitation?code={code}")));
    assert!(prefilled.contains(&format!("value=\"{code}\"")));
    let margaret = portal.other_browser(79);
    assert_eq!(margaret.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);

    let events = block_on(
        portal.db.query("SELECT actor_id, subject_id, action, detail FROM audit_events WHERE action LIKE 'invitation.%' AND actor_id = 'person-cath'", &[]),
    )
    .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].text(1).unwrap(), MARGARET);
    assert_eq!(events[0].text(2).unwrap(), "invitation.reissued");
    assert!(events[0].text(3).unwrap().contains("19 December 2026 at 9am"));
    // Margaret reads it in her own log.
    let log = text(&margaret.get("/access-log"));
    assert!(log.contains("sent a new invitation to set up carefront"), "{log}");
}

#[test]
fn issuing_when_none_is_waiting_and_cancelling() {
    let (portal, cath) = council();
    let first = waiting(&portal, MARGARET).remove(0);
    let path = format!("/council/people/{MARGARET}/invitations");
    let csrf = cath.csrf_from(&path);
    let cancelled = cath.post_form(&format!("{path}/{first}/cancel"), &[("csrf", &csrf)]);
    assert_eq!(cancelled.status(), 303);
    assert_eq!(cancelled.headers()["location"], format!("{path}?done=cancelled").as_str());
    let page = text(&cath.get(&format!("{path}?done=cancelled")));
    assert!(page.contains("The invitation has been cancelled") && page.contains("Cancelled") && page.contains("Issue an invitation"), "{page}");
    assert_eq!(replaces_in(&page), None);
    assert!(waiting(&portal, MARGARET).is_empty());
    // Cancelling it again changes nothing.
    let again = cath.post_form(&format!("{path}/{first}/cancel"), &[("csrf", &csrf)]);
    assert_eq!(again.status(), 409);
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.cancelled'"), 1);

    let letter = issue(&cath, MARGARET, "7");
    assert_eq!(letter.status(), 200, "{}", text(&letter));
    assert!(text(&letter).contains("Use it by 28 November 2026 at 9am."));
    assert_eq!(waiting(&portal, MARGARET).len(), 1);
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.issued'"), 1);
}

#[test]
fn a_stale_double_submit_of_reissue_leaves_one_invitation_waiting() {
    let (portal, cath) = council();
    let path = format!("/council/people/{MARGARET}/invitations");
    let html = text(&cath.get(&path));
    let csrf = support::csrf_in(&html).unwrap();
    let replaces = replaces_in(&html).unwrap();
    let form = [("csrf", csrf.as_str()), ("lifetime", "14"), ("replaces", replaces.as_str())];
    assert_eq!(cath.post_form(&path, &form).status(), 200);
    let second = cath.post_form(&path, &form);
    assert_eq!(second.status(), 409);
    assert!(text(&second).contains("changed after you opened the page"), "{}", text(&second));
    assert!(text(&second).contains("href=\"#invitations\""));
    assert_eq!(waiting(&portal, MARGARET).len(), 1);
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM invitations"), 3, "Margaret's two and Cath's own");

    // The same for a first invitation issued twice from one page.
    let open = waiting(&portal, MARGARET).remove(0);
    assert_eq!(cath.post_form(&format!("{path}/{open}/cancel"), &[("csrf", &csrf)]).status(), 303);
    let form = [("csrf", csrf.as_str()), ("lifetime", "14"), ("replaces", "")];
    assert_eq!(cath.post_form(&path, &form).status(), 200);
    assert_eq!(cath.post_form(&path, &form).status(), 409);
    assert_eq!(waiting(&portal, MARGARET).len(), 1);
}

#[test]
fn expired_and_cancelled_codes_are_refused_at_the_invitation_page() {
    let (portal, cath) = council();
    let letter = issue(&cath, MARGARET, "7");
    let code = code_in(&text(&letter));
    // Cancelled.
    let open = waiting(&portal, MARGARET).remove(0);
    let csrf = cath.csrf_from(&format!("/council/people/{MARGARET}/invitations"));
    assert_eq!(cath.post_form(&format!("/council/people/{MARGARET}/invitations/{open}/cancel"), &[("csrf", &csrf)]).status(), 303);
    let refused = try_code(&portal, &code);
    assert_eq!(refused.status(), 410);
    assert!(text(&refused).contains("This invitation has been cancelled"), "{}", text(&refused));
    // Expired.
    let letter = issue(&cath, MARGARET, "7");
    let code = code_in(&text(&letter));
    portal.advance(Duration::days(7));
    let refused = try_code(&portal, &code);
    assert_eq!(refused.status(), 410);
    assert!(text(&refused).contains("This invitation has expired"));
    // The one issued last: issued at the same moment as the cancelled one, so found by what it
    // is rather than by its place in a list whose ties fall by random id.
    let newest = block_on(portal.store().invitations_for_person(MARGARET)).unwrap().into_iter().find(|invitation| invitation.cancelled_at.is_none()).unwrap();
    assert_eq!(invitation::state(&newest, portal.now.get()), invitation::InvitationState::Expired);
}

#[test]
fn regression_an_invitation_cancelled_after_its_code_was_accepted_cannot_make_a_passkey() {
    let (portal, cath) = council();
    let code = code_in(&text(&issue(&cath, MARGARET, "7")));
    let browser = portal.other_browser(80);
    let csrf = browser.csrf_from(&format!("/invitation?code={code}"));
    assert_eq!(browser.post_form("/invitation", &[("csrf", &csrf), ("code", &code)]).status(), 303);
    let open = waiting(&portal, MARGARET).remove(0);
    let csrf = cath.csrf_from(&format!("/council/people/{MARGARET}/invitations"));
    assert_eq!(cath.post_form(&format!("/council/people/{MARGARET}/invitations/{open}/cancel"), &[("csrf", &csrf)]).status(), 303);
    let finished = browser.register(&mut ResidentSoftPasskey::new());
    assert_eq!(finished.status(), 400, "{}", text(&finished));
    assert!(block_on(portal.store().passkeys(MARGARET)).unwrap().is_empty());
}

#[test]
fn the_letter_is_at_the_persons_large_print_size() {
    let (portal, cath) = council();
    let need = RecordedNeed {
        id: "need-1".into(),
        person_id: MARGARET.into(),
        need: Need::LargePrint24,
        detail: String::new(),
        recorded_by: MARGARET.into(),
        recorded_by_name: "Margaret Jones".into(),
        acting_for: None,
        consent_discussion_id: None,
        recorded_at: portal.now.get(),
        ended_at: None,
    };
    block_on(portal.store().change_needs(MARGARET, &[], &[need], MARGARET, portal.now.get())).unwrap();
    let html = text(&issue(&cath, MARGARET, "28"));
    assert!(html.contains("<html lang=\"en\" class=\"govuk-template app-large-print app-large-print--24\">"), "{html}");
    // Only the letter: Cath's own pages stay at her size.
    assert!(!text(&cath.get("/council/invitations")).contains("app-large-print"));
}

#[test]
fn not_enrolled_yet_lists_people_without_a_passkey_the_longest_waiting_first() {
    let (portal, cath) = council();
    portal.advance(Duration::minutes(1));
    portal.person_with_invitation("person-ada", "Ada Lovelace");
    enrolled(&portal, "person-bea", Role::ServiceUser, None, 40);
    let html = text(&cath.get("/council/invitations"));
    let (margaret, ada) = (html.find("Margaret Jones").unwrap(), html.find("Ada Lovelace").unwrap());
    assert!(margaret < ada, "oldest first");
    let main = &html[html.find("<main").unwrap()..];
    assert!(!main.contains("person-bea name") && !main.contains("person-cath name"), "enrolled people and staff are not listed");
    assert!(html.contains(&format!("href=\"/council/people/{MARGARET}/invitations\"")));
    assert!(html.contains("Waiting, issued 21 November 2026"));
    assert!(text(&cath.get("/home")).contains("href=\"/council/invitations\">Not enrolled yet</a>"));
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let (portal, cath) = council();
    let path = format!("/council/people/{MARGARET}/invitations");
    let csrf = cath.csrf_from(&path);
    let before = count(&portal, "SELECT COUNT(*) FROM invitations");
    for lifetime in ["", "99", "seven", "-7"] {
        let response = cath.post_form(&path, &[("csrf", &csrf), ("lifetime", lifetime)]);
        assert_eq!(response.status(), 400, "{lifetime}");
        let html = text(&response);
        assert!(html.contains("<a href=\"#lifetime\">Choose how long the invitation lasts</a>"), "{html}");
        assert!(html.contains("id=\"lifetime-error\""));
    }
    // A forged invitation id to replace, or one of someone else's, is not found.
    let other = portal.person_with_invitation("person-ada", "Ada Lovelace");
    let adas = waiting(&portal, &other.0.id).remove(0);
    for forged in ["nope", adas.as_str()] {
        assert_eq!(cath.post_form(&path, &[("csrf", &csrf), ("lifetime", "7"), ("replaces", forged)]).status(), 404);
        assert_eq!(cath.post_form(&format!("{path}/{forged}/cancel"), &[("csrf", &csrf)]).status(), 404);
    }
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM invitations"), before + 1, "only Ada's own");
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'invitation.%' AND action <> 'invitation.accepted'"), 0);
}

#[test]
fn issuing_needs_a_fresh_passkey_check() {
    let (portal, cath) = council();
    portal.advance(Duration::minutes(10));
    let path = format!("/council/people/{MARGARET}/invitations");
    let csrf = cath.csrf_from(&path);
    let response = cath.post_form(&path, &[("csrf", &csrf), ("lifetime", "7")]);
    assert_eq!(response.status(), 403);
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM invitations"), 2);
}

#[test]
fn providers_staff_family_and_the_person_get_not_found() {
    let (portal, cath) = council();
    let provider = enrolled(&portal, "person-pat", Role::ProviderStaff, Some(PROVIDER), 51);
    let family = enrolled(&portal, "person-sam", Role::Representative, None, 52);
    let misplaced = enrolled(&portal, "person-mo", Role::CouncilStaff, Some(PROVIDER), 53);
    let margaret_code = code_in(&text(&issue(&cath, MARGARET, "7")));
    let margaret = portal.other_browser(54);
    assert_eq!(margaret.enrol(&margaret_code, &mut ResidentSoftPasskey::new()).status(), 200);
    let open = {
        // Margaret is enrolled now: the only invitation for her is a recovery invitation.
        let path = format!("/council/people/{MARGARET}/invitations");
        let csrf = cath.csrf_from(&path);
        let fields = [("csrf", csrf.as_str()), ("lifetime", "1"), ("check-method", "in_person_photo_id"), ("check-note", "Passport")];
        let code = code_in(&text(&cath.post_form(&path, &fields)));
        assert_eq!(code.len(), 44);
        waiting(&portal, MARGARET).remove(0)
    };
    let before = count(&portal, "SELECT COUNT(*) FROM invitations");
    for (who, browser) in [("provider staff", &provider), ("family", &family), ("council staff of a provider", &misplaced), ("the person", &margaret)] {
        let csrf = browser.csrf_from("/home");
        let path = format!("/council/people/{MARGARET}/invitations");
        assert_eq!(browser.get("/council/invitations").status(), 404, "{who}");
        assert_eq!(browser.get(&path).status(), 404, "{who}");
        assert_eq!(browser.post_form(&path, &[("csrf", &csrf), ("lifetime", "7")]).status(), 404, "{who}");
        assert_eq!(browser.post_form(&path, &[("csrf", &csrf), ("lifetime", "7"), ("replaces", &open)]).status(), 404, "{who}");
        assert_eq!(browser.post_form(&format!("{path}/{open}/cancel"), &[("csrf", &csrf)]).status(), 404, "{who}");
    }
    assert_eq!(count(&portal, "SELECT COUNT(*) FROM invitations"), before);
    assert_eq!(waiting(&portal, MARGARET), [open]);
    // Council staff cannot invite staff here (that is the administrators' page) or anyone who
    // does not exist.
    for person in ["person-pat", "person-mo", "nobody"] {
        assert_eq!(cath.get(&format!("/council/people/{person}/invitations")).status(), 404, "{person}");
    }
    // Signed out: sent to sign in.
    assert_eq!(portal.other_browser(55).get("/council/invitations").status(), 303);
}

#[test]
fn a_council_invites_only_people_it_has_a_duty_to() {
    let (portal, cath) = council();
    // Someone in the store the council holds no statutory grant for (another council's, or
    // added some other way): their invitations do not exist for this council's staff.
    portal.person_with_invitation("person-elsewhere", "Eve Elsewhere");
    let csrf = cath.csrf_from("/home");
    let path = "/council/people/person-elsewhere/invitations";
    assert_eq!(cath.get(path).status(), 404);
    assert_eq!(cath.post_form(path, &[("csrf", &csrf), ("lifetime", "7")]).status(), 404);
    // Once the council has the duty, the same page opens.
    let now = portal.now.get();
    block_on(portal.store().insert_grant(&statutory_grant("person-elsewhere", now), now, None)).unwrap();
    assert_eq!(cath.get(path).status(), 200);
}

/// The `<html …>` line and the page's `<main>` (the letter has no CSRF form).
fn essence(html: &str) -> String {
    let opening = html.lines().find(|line| line.starts_with("<html")).unwrap_or_default().to_owned();
    let start = html.find("<main").expect("a <main> element");
    let end = html.find("</main>").expect("a closing </main>") + "</main>".len();
    format!("{opening}\n{}", &html[start..end])
}

#[test]
fn the_invitation_letter_as_printed() {
    let (_portal, cath) = council();
    let letter = issue(&cath, MARGARET, "28");
    assert_eq!(letter.status(), 200);
    let html = text(&letter);
    assert!(!html[html.find("<main").unwrap()..].contains("name=\"csrf\""));
    insta::assert_snapshot!("invitation_letter", essence(&html));
}
