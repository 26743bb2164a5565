//! Invitations sent by email, text message or letter (issue 12), through the router: the
//! council's issue / reissue form and a person's "let someone see your information" form each
//! queue exactly one invitation message in the plan that issues the invitation, addressed to
//! what was typed (or the council's record of the address); the answer says where it went and
//! never shows the code; the code in the message enrols; a reissue goes the same way; a
//! cancelled invitation's message no longer works; bad addresses name their field and write
//! nothing; and nobody without the right can send one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::consent::{Action, Category};
use carefront_shared::db::Database as _;
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::needs::{Need, RecordedNeed};
use carefront_shared::outbox::{Channel, Notification, NotificationKind, NotificationStatus};
use carefront_shared::store::{InvitationStore as _, OutboxStore as _, Store as _, VoiceStore as _};
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, csrf_in, statutory_grant, text};

const COUNCIL: &str = "org-council";
const MARGARET: &str = "person-margaret";

fn count(portal: &Portal, sql: &str) -> i64 {
    block_on(portal.db.query(sql, &[])).unwrap()[0].integer(0).unwrap()
}

/// Every invitation message in the outbox, oldest first.
fn messages(portal: &Portal) -> Vec<Notification> {
    let ids: Vec<String> = block_on(portal.db.query("SELECT id FROM notifications WHERE kind = 'invitation' ORDER BY created_at, rowid", &[]))
        .unwrap()
        .into_iter()
        .map(|row| row.text(0).unwrap())
        .collect();
    let found = block_on(portal.store().notifications_by_id(&ids)).unwrap();
    ids.iter().map(|id| found.iter().find(|message| &message.id == id).unwrap().clone()).collect()
}

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

/// The council, Margaret (not enrolled, her first invitation handed over, her address on
/// record) and Cath, a caseworker, signed in.
fn council() -> (Portal, Portal) {
    let portal = Portal::new();
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_organisation(&Organisation {
        id: COUNCIL.into(),
        kind: OrganisationKind::Council,
        name: "Northshire County Council".into(),
        created_at: now,
    }))
    .unwrap();
    portal.person_with_invitation(MARGARET, "Margaret Jones");
    block_on(portal.db.execute("UPDATE people SET address = '1 High Street\nNorthtown', postcode = 'NT1 1AA' WHERE id = ?1", &[MARGARET.into()])).unwrap();
    block_on(store.insert_grant(&statutory_grant(MARGARET, now), now, None)).unwrap();
    let cath = enrolled(&portal, "person-cath", Role::CouncilStaff, Some(COUNCIL), 31);
    (portal, cath)
}

/// Posts the council's form as the page now shows it (its CSRF token and the invitation it
/// replaces), lasting 7 days, with `fields`.
fn issue(cath: &Portal, person: &str, fields: &[(&str, &str)]) -> http::Response<Vec<u8>> {
    let path = format!("/council/people/{person}/invitations");
    let html = text(&cath.get(&path));
    let csrf = csrf_in(&html).unwrap();
    let marker = "name=\"replaces\" value=\"";
    let replaces = html.find(marker).map(|at| html[at + marker.len()..].split('"').next().unwrap().to_owned()).unwrap_or_default();
    let mut form = vec![("csrf", csrf.as_str()), ("lifetime", "7"), ("replaces", replaces.as_str())];
    form.extend_from_slice(fields);
    cath.post_form(&path, &form)
}

fn try_code(portal: &Portal, code: &str) -> u16 {
    let browser = portal.other_browser(77);
    let csrf = browser.csrf_from(&format!("/invitation?code={code}"));
    browser.post_form("/invitation", &[("csrf", &csrf), ("code", code)]).status().as_u16()
}

/// A form's extra fields, as posted.
type Fields<'a> = &'a [(&'a str, &'a str)];

fn keys(message: &Notification) -> Vec<&str> {
    message.personalisation.keys().map(String::as_str).collect()
}

#[test]
fn each_way_queues_exactly_one_invitation_message_with_the_invitation() {
    let (portal, cath) = council();
    let large_print = RecordedNeed {
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
    block_on(portal.store().change_needs(MARGARET, &[], &[large_print], MARGARET, portal.now.get())).unwrap();
    let cases: [(Fields<'_>, Channel, &str, &str); 3] = [
        (&[("how", "email"), ("email", " margaret@example.org ")], Channel::Email, "margaret@example.org", "Emailed to m•••@example.org"),
        (&[("how", "sms"), ("mobile", "07700 900 982")], Channel::Sms, "07700 900 982", "Texted to ••••• •••982"),
        (&[("how", "letter")], Channel::Letter, "Margaret Jones\n1 High Street\nNorthtown\nNT1 1AA", "Letter posted to postcode NT1 1AA"),
    ];
    for (index, (fields, channel, recipient, words)) in cases.into_iter().enumerate() {
        let response = issue(&cath, MARGARET, fields);
        assert_eq!(response.status(), 200, "{}", text(&response));
        let all = messages(&portal);
        assert_eq!(all.len(), index + 1, "one message per invitation");
        let message = all.last().unwrap();
        let now = portal.now.get();
        let newest = block_on(portal.store().invitations_for_person(MARGARET))
            .unwrap()
            .into_iter()
            .find(|invitation| invitation::state(invitation, now) == invitation::InvitationState::Waiting)
            .unwrap();
        assert_eq!((message.id.as_str(), message.kind, message.channel), (newest.id.as_str(), NotificationKind::Invitation, channel));
        assert_eq!((message.recipient.as_str(), message.person_id.as_deref(), message.subject_id.as_deref()), (recipient, Some(MARGARET), Some(MARGARET)));
        let mut expected = vec!["code", "expires", "inviter", "link", "name"];
        if channel == Channel::Letter {
            expected.insert(3, "large_print");
            assert_eq!(message.personalisation["large_print"], "yes", "Margaret's recorded large print");
        }
        assert_eq!(keys(message), expected);
        assert_eq!(message.personalisation["name"], "Margaret");
        assert_eq!(message.personalisation["inviter"], "Northshire County Council");
        assert_eq!(message.personalisation["expires"], "28 November 2026 at 9am");
        let code = &message.personalisation["code"];
        assert_eq!(message.personalisation["link"], format!("{}/invitation?code={code}", support::ORIGIN));
        // The answer: what went where, and until when; never the code or the letter.
        let html = text(&response);
        assert!(html.contains("Invitation sent") && html.contains(words) && html.contains("It works until 28 November 2026 at 9am."), "{html}");
        assert!(!html.contains(code.as_str()) && !html.contains(&code.replace('-', "")) && !html.contains("app-letter"), "{html}");
        // The log says how it went, masked.
        let detail = block_on(portal.db.query("SELECT detail FROM audit_events WHERE actor_id = 'person-cath' ORDER BY rowid DESC LIMIT 1", &[])).unwrap();
        assert!(detail[0].text(0).unwrap().ends_with(&format!("{words}.")), "{:?}", detail[0]);
    }
    // The code in the newest message enrols through the ordinary route.
    let code = messages(&portal).last().unwrap().personalisation["code"].clone();
    assert_eq!(portal.other_browser(79).enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    assert_eq!(block_on(portal.store().passkeys(MARGARET)).unwrap().len(), 1);
}

#[test]
fn the_lists_show_how_it_was_sent_and_whether_it_arrived() {
    let (portal, cath) = council();
    assert_eq!(issue(&cath, MARGARET, &[("how", "email"), ("email", "margaret@example.org")]).status(), 200);
    let path = format!("/council/people/{MARGARET}/invitations");
    let page = text(&cath.get(&path));
    assert!(page.contains("Emailed to m•••@example.org: Waiting to be sent"), "{page}");
    assert!(text(&cath.get("/council/invitations")).contains("Emailed to m•••@example.org: Waiting to be sent"));
    let id = messages(&portal)[0].id.clone();
    let store = portal.store();
    block_on(store.notification_sent(&id, 1, "notify-1", portal.now.get())).unwrap();
    assert!(text(&cath.get(&path)).contains("Emailed to m•••@example.org: Sent, not yet delivered"));
    assert!(block_on(store.notification_status("notify-1", NotificationStatus::Delivered, "delivered", portal.now.get())).unwrap());
    assert!(text(&cath.get(&path)).contains("Emailed to m•••@example.org: Delivered"));
    assert!(text(&cath.get("/council/invitations")).contains("Emailed to m•••@example.org: Delivered"));
    assert!(!text(&cath.get(&path)).contains("margaret@example.org<"), "the address itself only in the form");
}

#[test]
fn a_reissue_goes_the_same_way_by_default_and_the_old_code_stops_working() {
    let (portal, cath) = council();
    // The first, handed over: the form defaults to handing it over again.
    let page = text(&cath.get(&format!("/council/people/{MARGARET}/invitations")));
    assert!(page.contains("name=\"how\" type=\"radio\" value=\"hand\" checked"), "{page}");
    assert_eq!(issue(&cath, MARGARET, &[("how", "sms"), ("mobile", "07700 900 982")]).status(), 200);
    let first = messages(&portal)[0].personalisation["code"].clone();
    // The page now defaults to a text message to the same number; posting it as shown sends one.
    let page = text(&cath.get(&format!("/council/people/{MARGARET}/invitations")));
    assert!(page.contains("name=\"how\" type=\"radio\" value=\"sms\" checked") && page.contains("value=\"07700 900 982\""), "{page}");
    assert_eq!(issue(&cath, MARGARET, &[("how", "sms"), ("mobile", "07700 900 982")]).status(), 200);
    let sent = messages(&portal);
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[1].channel, sent[1].recipient.as_str()), (Channel::Sms, "07700 900 982"));
    assert_eq!(try_code(&portal, &first), 410, "the reissue cancelled the first code");

    // Cancelling does not recall the message, but its code no longer works.
    let second = sent[1].personalisation["code"].clone();
    let open = sent[1].id.clone();
    let csrf = cath.csrf_from(&format!("/council/people/{MARGARET}/invitations"));
    assert_eq!(cath.post_form(&format!("/council/people/{MARGARET}/invitations/{open}/cancel"), &[("csrf", &csrf)]).status(), 303);
    assert_eq!(messages(&portal).len(), 2, "nothing recalled, nothing new sent");
    assert_eq!(try_code(&portal, &second), 410);
}

#[test]
fn a_failure_anywhere_in_the_plan_leaves_neither_the_invitation_nor_the_message() {
    let (portal, cath) = council();
    let mut outcomes = BTreeSet::new();
    for k in 1..=8 {
        let before = (count(&portal, "SELECT COUNT(*) FROM invitations"), messages(&portal).len());
        let path = format!("/council/people/{MARGARET}/invitations");
        let html = text(&cath.get(&path));
        let csrf = csrf_in(&html).unwrap();
        let marker = "name=\"replaces\" value=\"";
        let replaces = html.find(marker).map(|at| html[at + marker.len()..].split('"').next().unwrap().to_owned()).unwrap_or_default();
        portal.fail_at.set(Some(k));
        let fields = [("csrf", csrf.as_str()), ("lifetime", "7"), ("replaces", replaces.as_str()), ("how", "email"), ("email", "margaret@example.org")];
        let status = cath.post_form(&path, &fields).status();
        portal.fail_at.set(None);
        let after = (count(&portal, "SELECT COUNT(*) FROM invitations"), messages(&portal).len());
        let written = after != before;
        outcomes.insert(written);
        assert_eq!(written, status == 200, "statement {k}: {status}");
        if written {
            assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1), "statement {k}");
        }
        let now = portal.now.get();
        let waiting = block_on(portal.store().invitations_for_person(MARGARET))
            .unwrap()
            .into_iter()
            .filter(|invitation| invitation::state(invitation, now) == invitation::InvitationState::Waiting)
            .count();
        assert_eq!(waiting, 1, "statement {k}: the old one stands or the new one replaced it");
    }
    assert_eq!(outcomes, BTreeSet::from([false, true]), "some statement failed the change, and one was no part of it");
}

#[test]
fn bad_addresses_name_their_field_and_write_nothing() {
    let (portal, cath) = council();
    // Ada has no address on record.
    portal.person_with_invitation("person-ada", "Ada Lovelace");
    block_on(portal.store().insert_grant(&statutory_grant("person-ada", portal.now.get()), portal.now.get(), None)).unwrap();
    let before = (
        count(&portal, "SELECT COUNT(*) FROM invitations"),
        count(&portal, "SELECT COUNT(*) FROM notifications"),
        count(&portal, "SELECT COUNT(*) FROM audit_events"),
    );
    let cases: [(&str, Fields<'_>, &str, &str); 6] = [
        (MARGARET, &[("how", "email"), ("email", "margaret@")], "email", "Enter their email address in the correct format"),
        (MARGARET, &[("how", "email")], "email", "Enter their email address in the correct format"),
        (MARGARET, &[("how", "sms"), ("mobile", "0113 496 0000")], "mobile", "Enter their UK mobile number"),
        (MARGARET, &[("how", "sms"), ("mobile", "<script>")], "mobile", "Enter their UK mobile number"),
        (MARGARET, &[("how", "pigeon")], "how", "Choose how we should send the invitation"),
        ("person-ada", &[("how", "letter")], "how", "There is no postal address on their record"),
    ];
    for (person, fields, field, message) in cases {
        let response = issue(&cath, person, fields);
        assert_eq!(response.status(), 400, "{fields:?}");
        let html = text(&response);
        assert!(html.contains(&format!("<a href=\"#{field}\">{message}")), "{fields:?}: {html}");
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{fields:?}");
        assert!(!html.contains("<script>"), "escaped");
    }
    let after = (
        count(&portal, "SELECT COUNT(*) FROM invitations"),
        count(&portal, "SELECT COUNT(*) FROM notifications"),
        count(&portal, "SELECT COUNT(*) FROM audit_events"),
    );
    assert_eq!(after, before, "nothing written");
}

#[test]
fn staff_of_another_council_cannot_send_one() {
    let (portal, _cath) = council();
    let store = portal.store();
    block_on(store.insert_organisation(&Organisation {
        id: "org-other".into(),
        kind: OrganisationKind::Council,
        name: "Southshire Council".into(),
        created_at: portal.now.get(),
    }))
    .unwrap();
    let other = enrolled(&portal, "person-olga", Role::CouncilStaff, Some("org-other"), 61);
    let path = format!("/council/people/{MARGARET}/invitations");
    let csrf = other.csrf_from("/home");
    let fields = [("csrf", csrf.as_str()), ("lifetime", "7"), ("how", "email"), ("email", "attacker@example.org")];
    assert_eq!(other.get(&path).status(), 404);
    assert_eq!(other.post_form(&path, &fields).status(), 404);
    assert!(messages(&portal).is_empty());
}

// A person's invitation for a family member.

/// Margaret (person-1) signed in with her passkey, and the council.
fn margaret() -> Portal {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(portal.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let now = portal.now.get();
    block_on(portal.store().insert_organisation(&Organisation {
        id: COUNCIL.into(),
        kind: OrganisationKind::Council,
        name: "Northshire County Council".into(),
        created_at: now,
    }))
    .unwrap();
    portal
}

/// "Let someone see your information" for Ada (medicines), sent by `fields`.
fn add_ada(portal: &Portal, prefix: &str, fields: &[(&str, &str)]) -> http::Response<Vec<u8>> {
    let csrf = csrf_in(&text(&portal.get(&format!("{prefix}/access/add")))).unwrap_or_else(|| portal.csrf_from("/home"));
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("name", "Ada Okafor"),
        ("categories", "medication"),
        ("ends-day", "1"),
        ("ends-month", "3"),
        ("ends-year", "2027"),
        ("purpose", "to collect prescriptions"),
    ];
    form.extend_from_slice(fields);
    portal.post_form(&format!("{prefix}/access/add"), &form)
}

fn people(portal: &Portal) -> i64 {
    count(portal, "SELECT COUNT(*) FROM people")
}

#[test]
fn a_family_invitation_is_sent_to_what_was_typed_and_its_code_enrols() {
    let portal = margaret();
    let response = add_ada(&portal, "", &[("how", "email"), ("email", "ada@example.org")]);
    assert_eq!(response.status(), 200, "{}", text(&response));
    let sent = messages(&portal);
    assert_eq!(sent.len(), 1);
    let message = &sent[0];
    let ada = message.person_id.clone().unwrap();
    let invitation = block_on(portal.store().invitations_for_person(&ada)).unwrap().remove(0);
    assert_eq!((message.id.as_str(), message.channel, message.recipient.as_str()), (invitation.id.as_str(), Channel::Email, "ada@example.org"));
    assert_eq!(message.subject_id.as_deref(), Some("person-1"));
    assert_eq!(keys(message), ["code", "expires", "inviter", "link", "name"]);
    assert_eq!((message.personalisation["name"].as_str(), message.personalisation["inviter"].as_str()), ("Ada", "Margaret Okafor"));
    let code = message.personalisation["code"].clone();
    let html = text(&response);
    assert!(
        html.contains("Access given") && html.contains("Emailed to a•••@example.org") && html.contains("It works until 28 November 2026 at 9am."),
        "{html}"
    );
    assert!(!html.contains(&code) && !html.contains("app-letter") && !html.contains("Invitation code"), "{html}");
    let access = text(&portal.get("/access"));
    assert!(access.contains("Emailed to a•••@example.org: Waiting to be sent"), "{access}");
    insta::assert_snapshot!("family_invitation_sent", main_of(&html));

    // Issued again: the same way, to the same address; the page shows no code either.
    let csrf = portal.csrf_from("/access");
    let again = portal.post_form(&format!("/access/invitations/{}/reissue", invitation.id), &[("csrf", &csrf)]);
    assert_eq!(again.status(), 200, "{}", text(&again));
    let sent = messages(&portal);
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[1].channel, sent[1].recipient.as_str()), (Channel::Email, "ada@example.org"));
    let new_code = sent[1].personalisation["code"].clone();
    let again = text(&again);
    assert!(again.contains("new invitation is on its way") && again.contains("Emailed to a•••@example.org") && !again.contains(&new_code), "{again}");
    assert_eq!(try_code(&portal, &code), 410, "the first code was cancelled");
    // The code in the message enrols Ada, who then sees Margaret's medicines.
    let browser = portal.other_browser(91);
    assert_eq!(browser.enrol(&new_code, &mut ResidentSoftPasskey::new()).status(), 200);
    assert!(text(&browser.get("/home")).contains("Medicines today"));
}

#[test]
fn a_family_letter_goes_to_the_typed_address_and_a_text_to_the_typed_number() {
    let portal = margaret();
    let letter = add_ada(&portal, "", &[("how", "letter"), ("address", "2 Low Road\r\nNorthtown"), ("postcode", "nt1 1aa")]);
    assert_eq!(letter.status(), 200, "{}", text(&letter));
    assert!(text(&letter).contains("Letter posted to postcode NT1 1AA"));
    let message = messages(&portal).remove(0);
    assert_eq!((message.channel, message.recipient.as_str()), (Channel::Letter, "Ada Okafor\n2 Low Road\nNorthtown\nNT1 1AA"));
    assert_eq!(message.personalisation["large_print"], "no");
    let text_message = add_ada(&portal, "", &[("how", "sms"), ("mobile", "+44 7700 900 123")]);
    assert_eq!(text_message.status(), 200, "{}", text(&text_message));
    assert_eq!((messages(&portal)[1].channel, messages(&portal)[1].recipient.as_str()), (Channel::Sms, "+44 7700 900 123"));
    // Handing it over is still the default, and shows the code.
    let handed = text(&add_ada(&portal, "", &[]));
    assert!(handed.contains("Invitation code") && handed.contains("app-letter"));
    assert_eq!(messages(&portal).len(), 2);
}

#[test]
fn bad_family_addresses_name_their_field_and_write_nothing() {
    let portal = margaret();
    let before = (people(&portal), count(&portal, "SELECT COUNT(*) FROM grants"), count(&portal, "SELECT COUNT(*) FROM notifications"));
    let cases: [(Fields<'_>, &str, &str); 6] = [
        (&[("how", "email"), ("email", "ada at example")], "email", "Enter their email address in the correct format"),
        (&[("how", "sms"), ("mobile", "12345")], "mobile", "Enter their UK mobile number"),
        (&[("how", "letter"), ("postcode", "NT1 1AA")], "address", "Enter their address"),
        (&[("how", "letter"), ("address", "2 Low Road"), ("postcode", "NOWHERE")], "postcode", "Enter a real UK postcode"),
        (&[("how", "letter"), ("address", "2 Low Road"), ("postcode", "")], "postcode", "Enter a real UK postcode"),
        (&[("how", "carrier-pigeon")], "how", "Choose how we should send the invitation"),
    ];
    for (fields, field, message) in cases {
        let response = add_ada(&portal, "", fields);
        assert_eq!(response.status(), 400, "{fields:?}");
        let html = text(&response);
        assert!(html.contains(&format!("<a href=\"#{field}\">{message}")), "{fields:?}: {html}");
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{fields:?}");
    }
    let after = (people(&portal), count(&portal, "SELECT COUNT(*) FROM grants"), count(&portal, "SELECT COUNT(*) FROM notifications"));
    assert_eq!(after, before, "nothing written");
}

#[test]
fn a_family_member_without_the_right_cannot_send_one() {
    let portal = margaret();
    let viewer = support::representative(
        &portal,
        "person-sam",
        "Sam Okafor",
        Holding { categories: &[Category::Medication], actions: &[Action::View], act_for: false },
        51,
    );
    let before = people(&portal);
    let response = add_ada(&viewer, "/people/person-1", &[("how", "email"), ("email", "ada@example.org")]);
    assert_eq!(response.status(), 404, "{}", text(&response));
    assert_eq!(viewer.get("/people/person-1/access/add").status(), 404);
    // Nor can a stranger, for someone they hold nothing of.
    let stranger = portal.other_browser(52);
    let (_, code) = stranger.person_with_invitation("person-2", "Arthur Jenkins");
    assert_eq!(stranger.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    assert_eq!(add_ada(&stranger, "/people/person-1", &[("how", "email"), ("email", "ada@example.org")]).status(), 404);
    assert_eq!(people(&portal), before + 1, "only Arthur");
    assert!(messages(&portal).is_empty());
}

#[test]
fn a_failed_family_invitation_leaves_neither_the_person_nor_the_message() {
    let portal = margaret();
    let mut outcomes = BTreeSet::new();
    for k in 1..=10 {
        let csrf = csrf_in(&text(&portal.get("/access/add"))).unwrap();
        let before = (people(&portal), messages(&portal).len());
        portal.fail_at.set(Some(k));
        let fields = [
            ("csrf", csrf.as_str()),
            ("name", "Ada Okafor"),
            ("categories", "medication"),
            ("ends-day", "1"),
            ("ends-month", "3"),
            ("ends-year", "2027"),
            ("purpose", "to collect prescriptions"),
            ("how", "sms"),
            ("mobile", "07700 900 123"),
        ];
        let status = portal.post_form("/access/add", &fields).status();
        portal.fail_at.set(None);
        let after = (people(&portal), messages(&portal).len());
        let written = after != before;
        outcomes.insert(written);
        assert_eq!(written, status == 200, "statement {k}: {status}");
        if written {
            assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1), "statement {k}");
        }
    }
    assert_eq!(outcomes, BTreeSet::from([false, true]));
}

/// The page's `<main>`, its CSRF tokens blanked.
fn main_of(html: &str) -> String {
    let start = html.find("<main").expect("a <main> element");
    let end = html.find("</main>").expect("a closing </main>") + "</main>".len();
    html[start..end]
        .lines()
        .map(|line| if line.contains("name=\"csrf\"") { "<input type=\"hidden\" name=\"csrf\" value=\"…\">" } else { line })
        .collect::<Vec<_>>()
        .join("\n")
}
