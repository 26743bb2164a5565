//! "How we contact you" through the router: choices per kind of message (never none for a
//! security notice), an email address or mobile number added with a code queued in the outbox
//! in the same plan, confirmed with the right code in time, refused with a wrong or expired one
//! and locked after 5 tries; nobody reaches anyone else's settings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::contact::Medium;
use carefront_shared::db::Database as _;
use carefront_shared::outbox::{Channel, Notification, NotificationKind};
use carefront_shared::preferences::CHOOSABLE;
use carefront_shared::store::preferences::recipients_for;
use carefront_shared::store::{OutboxStore, PreferenceStore};
use chrono::Duration;
use pollster::block_on;
use support::{Portal, ResidentSoftPasskey, text};

const SETTINGS: &str = "/account/notifications";

fn enrolled(portal: &Portal, id: &str, name: &str) -> ResidentSoftPasskey {
    let (_, code) = portal.person_with_invitation(id, name);
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code, &mut passkey).status(), 200);
    passkey
}

fn margaret() -> (Portal, ResidentSoftPasskey) {
    let portal = Portal::new();
    let passkey = enrolled(&portal, "person-1", "Margaret Okafor");
    (portal, passkey)
}

/// Posts `fields` to `path` with a CSRF token from the settings page.
fn post(browser: &Portal, path: &str, fields: &[(&str, &str)]) -> carefront_portal::Response {
    let csrf = browser.csrf_from(SETTINGS);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form(path, &all)
}

/// Every choosable kind by email, except those in `instead`.
fn choices<'a>(instead: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> =
        CHOOSABLE.into_iter().filter(|kind| !instead.iter().any(|(name, _)| *name == kind.as_str())).map(|kind| (kind.as_str(), "email")).collect();
    fields.extend_from_slice(instead);
    fields
}

fn messages(portal: &Portal, person: &str) -> Vec<Notification> {
    block_on(portal.store().notifications_for_person(person, 50)).unwrap()
}

/// The code in the newest contact check sent to `person`.
fn code_sent(portal: &Portal, person: &str) -> String {
    let sent = messages(portal, person).into_iter().find(|message| message.kind == NotificationKind::ContactCheck).expect("a contact check was queued");
    sent.personalisation["code"].clone()
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

fn audit_actions(portal: &Portal, person: &str) -> Vec<String> {
    let rows = block_on(portal.db.query("SELECT action FROM audit_events WHERE subject_id = ?1 ORDER BY at, id", &[person.into()])).unwrap();
    rows.iter().map(|row| row.text(0).unwrap()).collect()
}

fn count(portal: &Portal, table: &str) -> i64 {
    block_on(portal.db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap()[0].integer(0).unwrap()
}

/// Adds `address` as person-1's email and types back the code sent to it.
fn confirm_email(portal: &Portal, address: &str) {
    let sent = post(portal, &format!("{SETTINGS}/email"), &[("email", address)]);
    assert_eq!(sent.status(), 303, "{}", text(&sent));
    let code = code_sent(portal, "person-1");
    let confirmed = post(portal, &format!("{SETTINGS}/email/check"), &[("code", &code)]);
    assert_eq!(confirmed.status(), 303, "{}", text(&confirmed));
}

#[test]
fn the_page_lists_every_kind_in_plain_words_and_the_menu_links_to_it() {
    let (portal, _) = margaret();
    let page = text(&portal.get(SETTINGS));
    assert!(page.contains("<h1 class=\"govuk-heading-l\">How we contact you</h1>"), "{page}");
    for label in ["Someone used your emergency code", "A passkey was added to your account", "Your comment or correction was answered"] {
        assert!(page.contains(label), "{label}");
    }
    assert!(page.contains("id=\"comment_answered-email\"") && page.contains("id=\"comment_answered-none\""), "{page}");
    // Security notices offer no "none", and say why.
    assert!(!page.contains("id=\"passkey_added-none\"") && page.contains("you cannot turn it off"), "{page}");
    assert!(page.contains("You have not added an email address yet") && page.contains("The council does not have your postal address"), "{page}");
    assert!(text(&portal.get("/home")).contains("href=\"/account/notifications\""), "the menu links to it");
}

#[test]
fn saving_choices_keeps_them_and_they_decide_the_channels() {
    let (portal, _) = margaret();
    confirm_email(&portal, "margaret@example.com");
    let saved = post(&portal, SETTINGS, &choices(&[("comment_answered", "none"), ("access_ending", "email"), ("access_ending", "sms")]));
    assert_eq!(saved.status(), 303, "{}", text(&saved));
    assert_eq!(saved.headers()["location"], "/account/notifications?done=saved");
    let stored = block_on(portal.store().notification_choices("person-1")).unwrap();
    assert_eq!(stored.len(), CHOOSABLE.len());
    assert_eq!(stored[&NotificationKind::CommentAnswered], BTreeSet::new());
    assert_eq!(stored[&NotificationKind::AccessEnding], BTreeSet::from([Channel::Email, Channel::Sms]));
    assert!(audit_actions(&portal, "person-1").contains(&"notifications.choices_changed".to_owned()));
    let log = text(&portal.get("/access-log?mine=yes"));
    assert!(log.contains("<strong>You</strong> changed how you are told: ") && log.contains("your comment or correction was answered (none)"), "{log}");
    assert!(log.contains("confirmed the email address margaret@example.com"), "{log}");
    let page = text(&portal.get(&format!("{SETTINGS}?done=saved")));
    assert!(page.contains("Your choices have been saved."));
    assert!(
        page.contains("id=\"comment_answered-none\" name=\"comment_answered\" type=\"checkbox\" value=\"none\" data-behaviour=\"exclusive\" checked"),
        "{page}"
    );
    // What the lead's events will use: none means none; the phone chosen is not confirmed, so
    // only the email is used.
    let answered = block_on(recipients_for(&portal.store(), "person-1", NotificationKind::CommentAnswered)).unwrap();
    assert!(answered.to.is_empty());
    let ending = block_on(recipients_for(&portal.store(), "person-1", NotificationKind::AccessEnding)).unwrap();
    assert_eq!(ending.to, [(Channel::Email, "margaret@example.com".to_owned())]);
    // Saving the same again writes nothing new.
    let events = audit_actions(&portal, "person-1").len();
    assert_eq!(post(&portal, SETTINGS, &choices(&[("comment_answered", "none"), ("access_ending", "email"), ("access_ending", "sms")])).status(), 303);
    assert_eq!(audit_actions(&portal, "person-1").len(), events);
}

#[test]
fn none_is_refused_for_a_security_notice_and_nothing_is_saved() {
    let (portal, _) = margaret();
    let refused = post(&portal, SETTINGS, &choices(&[("passkey_added", "none"), ("comment_answered", "none")]));
    assert_eq!(refused.status(), 400);
    let page = text(&refused);
    assert!(page.contains("<title>Error: How we contact you"), "{page}");
    assert!(page.contains("href=\"#passkey_added-email\">A passkey was added to your account: You cannot turn these messages off"), "{page}");
    assert!(page.contains("govuk-form-group--error"), "{page}");
    assert!(block_on(portal.store().notification_choices("person-1")).unwrap().is_empty(), "nothing saved, not even the allowed none");
    // And a stored none for it (from before the rule, or by hand) falls back to the default.
    confirm_email(&portal, "margaret@example.com");
    block_on(portal.db.execute(
        "INSERT INTO notification_choices (person_id, kind, email, sms, letter, updated_at) VALUES ('person-1', 'passkey_added', 0, 0, 0, '2026-11-21T09:00:00.000Z')",
        &[],
    ))
    .unwrap();
    let told = block_on(recipients_for(&portal.store(), "person-1", NotificationKind::PasskeyAdded)).unwrap();
    assert_eq!(told.to, [(Channel::Email, "margaret@example.com".to_owned())]);
}

#[test]
fn bad_input_gets_an_error_naming_the_field_and_writes_nothing() {
    let (portal, _) = margaret();
    let audit_before = audit_actions(&portal, "person-1").len();
    let missing = choices(&[]).into_iter().filter(|(kind, _)| *kind != "access_stopped").collect::<Vec<_>>();
    for (fields, field, message) in [
        (missing, "access_stopped-email", "Select how you want to be told, or select none"),
        (
            choices(&[("comment_answered", "none"), ("comment_answered", "letter")]),
            "comment_answered-email",
            "select none, or select how you want to be told, not both",
        ),
        (choices(&[("access_ending", "fax")]), "access_ending-email", "Select how you want to be told from the list"),
    ] {
        let response = post(&portal, SETTINGS, &fields);
        assert_eq!(response.status(), 400, "{field}");
        let page = text(&response);
        assert!(page.contains(&format!("href=\"#{field}\"")) && page.to_lowercase().contains(&message.to_lowercase()), "{field}: {page}");
    }
    for (path, field, value, message) in [
        ("email", "email", "margaret.example.com", "Enter an email address in the correct format"),
        ("email", "email", "  ", "Enter your email address"),
        ("phone", "phone", "0113 496 0000", "Enter a UK mobile number"),
        ("phone", "phone", "<script>", "Enter a UK mobile number"),
    ] {
        let response = post(&portal, &format!("{SETTINGS}/{path}"), &[(field, value)]);
        assert_eq!(response.status(), 400, "{value}");
        let page = text(&response);
        assert!(page.contains(&format!("href=\"#{field}\">{message}")), "{value}: {page}");
        assert!(!page.contains("<script>"), "typed text is escaped");
    }
    // A code in the wrong shape is refused before it counts as a try.
    assert_eq!(post(&portal, &format!("{SETTINGS}/email"), &[("email", "margaret@example.com")]).status(), 303);
    for typed in ["", "12ab56", "1234567"] {
        let response = post(&portal, &format!("{SETTINGS}/email/check"), &[("code", typed)]);
        assert_eq!(response.status(), 400);
        assert!(text(&response).contains("href=\"#code\">Enter the code"), "{typed}");
    }
    let point = block_on(portal.store().contact_points("person-1")).unwrap();
    assert_eq!(point[0].wrong_tries, 0, "malformed codes are not tries");
    assert!(block_on(portal.store().notification_choices("person-1")).unwrap().is_empty());
    assert_eq!(audit_actions(&portal, "person-1").len(), audit_before + 1, "only the code sent was logged");
    assert_eq!(messages(&portal, "person-1").len(), 1);
    // An unknown medium is not a page.
    assert_eq!(post(&portal, &format!("{SETTINGS}/fax"), &[("fax", "1")]).status(), 404);
    assert_eq!(portal.get(&format!("{SETTINGS}/fax/check")).status(), 404);
}

#[test]
fn adding_an_email_queues_its_code_in_the_same_plan_and_the_right_code_confirms_it() {
    let (portal, _) = margaret();
    let sent = post(&portal, &format!("{SETTINGS}/email"), &[("email", " margaret@example.com ")]);
    assert_eq!(sent.status(), 303, "{}", text(&sent));
    assert_eq!(sent.headers()["location"], "/account/notifications/email/check");
    // The message is in the outbox: to the new address, with the code and the link only.
    let queued = messages(&portal, "person-1");
    assert_eq!(queued.len(), 1);
    let message = &queued[0];
    assert_eq!((message.kind, message.channel, message.recipient.as_str()), (NotificationKind::ContactCheck, Channel::Email, "margaret@example.com"));
    let code = message.personalisation["code"].clone();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(message.personalisation["link"], "http://localhost:8787/account/notifications/email/check");
    assert_eq!(message.personalisation.len(), 2);
    let rows = block_on(portal.db.query("SELECT kind, channel, status FROM notifications", &[])).unwrap();
    assert_eq!((rows[0].text(0).unwrap(), rows[0].text(1).unwrap(), rows[0].text(2).unwrap()), ("contact_check".into(), "email".into(), "queued".into()));
    // Only the code's keyed hash is kept.
    let stored = block_on(portal.db.query("SELECT pending_address, code_hash, address FROM contact_points", &[])).unwrap();
    assert_eq!(stored[0].text(0).unwrap(), "margaret@example.com");
    assert!(!stored[0].text(1).unwrap().contains(&code));
    assert_eq!(stored[0].optional_text(2).unwrap(), None, "not used until confirmed");
    assert!(block_on(recipients_for(&portal.store(), "person-1", NotificationKind::CommentAnswered)).unwrap().to.is_empty());

    let page = text(&portal.get("/account/notifications/email/check"));
    assert!(page.contains("We sent a 6-digit code to <strong>margaret@example.com</strong>") && page.contains("You have 5 tries"), "{page}");
    let confirmed = post(&portal, &format!("{SETTINGS}/email/check"), &[("code", &format!("{} {}", &code[..3], &code[3..]))]);
    assert_eq!(confirmed.status(), 303, "{}", text(&confirmed));
    assert_eq!(confirmed.headers()["location"], "/account/notifications?done=confirmed-email");
    let points = block_on(portal.store().contact_points("person-1")).unwrap();
    assert_eq!(points[0].verified(), Some("margaret@example.com"));
    assert_eq!(points[0].code_hash, None);
    let page = text(&portal.get("/account/notifications?done=confirmed-email"));
    assert!(page.contains("Your email address is confirmed.") && page.contains("margaret@example.com<br><span class=\"govuk-body-s\">Confirmed on"), "{page}");
    let actions = audit_actions(&portal, "person-1");
    assert!(actions.contains(&"contact.check_sent".to_owned()) && actions.contains(&"contact.verified".to_owned()), "{actions:?}");
    // Now the default uses it.
    let told = block_on(recipients_for(&portal.store(), "person-1", NotificationKind::CommentAnswered)).unwrap();
    assert_eq!(told.to, [(Channel::Email, "margaret@example.com".to_owned())]);
    // The same code cannot be used twice.
    assert_eq!(post(&portal, &format!("{SETTINGS}/email/check"), &[("code", &code)]).headers()["location"], SETTINGS);
}

#[test]
fn the_waiting_number_and_its_message_are_written_together_or_not_at_all() {
    let (portal, _) = margaret();
    let checks_sent = |portal: &Portal| audit_actions(portal, "person-1").iter().filter(|action| *action == "contact.check_sent").count();
    // The change is one plan of three statements (the waiting number, its message, the log
    // line); whichever of them fails, none is left.
    for n in 1..=3 {
        let csrf = portal.csrf_from(SETTINGS);
        portal.fail_at.set(Some(n));
        let response = portal.post_form(&format!("{SETTINGS}/phone"), &[("csrf", &csrf), ("phone", "07700 900 982")]);
        portal.fail_at.set(None);
        assert!(response.status().is_server_error(), "statement {n} failed: {}", response.status());
        assert_eq!((count(&portal, "contact_points"), count(&portal, "notifications"), checks_sent(&portal)), (0, 0, 0), "statement {n}");
    }
    let csrf = portal.csrf_from(SETTINGS);
    portal.fail_at.set(Some(4));
    let response = portal.post_form(&format!("{SETTINGS}/phone"), &[("csrf", &csrf), ("phone", "07700 900 982")]);
    portal.fail_at.set(None);
    assert_eq!(response.status(), 303, "a fourth statement is no part of it");
    assert_eq!((count(&portal, "contact_points"), count(&portal, "notifications"), checks_sent(&portal)), (1, 1, 1));
}

#[test]
fn a_wrong_code_is_refused_and_five_wrong_tries_lock_it() {
    let (portal, _) = margaret();
    assert_eq!(post(&portal, &format!("{SETTINGS}/phone"), &[("phone", "07700 900 982")]).status(), 303);
    let code = code_sent(&portal, "person-1");
    let check = format!("{SETTINGS}/phone/check");
    for left in (1..=4).rev() {
        let response = post(&portal, &check, &[("code", wrong(&code))]);
        assert_eq!(response.status(), 400);
        let page = text(&response);
        let tries = if left == 1 { "1 more try".to_owned() } else { format!("{left} more tries") };
        assert!(page.contains(&format!("href=\"#code\">The code is not right. Check it and try again: you have {tries}")), "{page}");
    }
    let locked = post(&portal, &check, &[("code", wrong(&code))]);
    assert_eq!(locked.status(), 400);
    assert!(text(&locked).contains("was entered wrongly 5 times, so it no longer works"), "{}", text(&locked));
    assert!(audit_actions(&portal, "person-1").contains(&"contact.check_locked".to_owned()));
    // Locked: even the right code is refused now.
    let refused = post(&portal, &check, &[("code", &code)]);
    assert_eq!(refused.status(), 400);
    assert!(text(&refused).contains("no longer works"));
    let points = block_on(portal.store().contact_points("person-1")).unwrap();
    assert_eq!((points[0].verified(), points[0].wrong_tries), (None, 5));
    assert!(text(&portal.get(SETTINGS)).contains("was entered wrongly too many times"));
    // A new code starts again.
    portal.advance(Duration::minutes(1));
    assert_eq!(post(&portal, &format!("{SETTINGS}/phone"), &[("phone", "07700 900 982")]).status(), 303);
    let fresh = code_sent(&portal, "person-1");
    assert_eq!(post(&portal, &check, &[("code", &fresh)]).status(), 303);
    let points = block_on(portal.store().contact_points("person-1")).unwrap();
    assert_eq!(points[0].medium, Medium::Phone);
    assert_eq!(points[0].verified(), Some("07700 900 982"));
}

#[test]
fn an_expired_code_is_refused() {
    let (portal, _) = margaret();
    assert_eq!(post(&portal, &format!("{SETTINGS}/email"), &[("email", "margaret@example.com")]).status(), 303);
    let code = code_sent(&portal, "person-1");
    // Keep the session alive (30 minutes idle) while the code's 30 minutes pass.
    portal.advance(Duration::minutes(16));
    assert_eq!(portal.get(SETTINGS).status(), 200);
    portal.advance(Duration::minutes(15));
    let response = post(&portal, &format!("{SETTINGS}/email/check"), &[("code", &code)]);
    assert_eq!(response.status(), 400);
    assert!(text(&response).contains("has expired: a code works for 30 minutes"), "{}", text(&response));
    let points = block_on(portal.store().contact_points("person-1")).unwrap();
    assert_eq!((points[0].verified(), points[0].wrong_tries), (None, 0));
    assert!(text(&portal.get(SETTINGS)).contains("has expired. Ask for a new code below."));
}

#[test]
fn changing_where_messages_go_needs_a_recent_passkey_check_and_keeps_the_old_address_meanwhile() {
    let (portal, mut passkey) = margaret();
    confirm_email(&portal, "margaret@example.com");
    portal.advance(Duration::minutes(6));
    let refused = post(&portal, &format!("{SETTINGS}/email"), &[("email", "new@example.com")]);
    assert_eq!(refused.status(), 403);
    assert_eq!(messages(&portal, "person-1").len(), 1, "no code sent");
    portal.reauthenticate(&mut passkey, SETTINGS);
    assert_eq!(post(&portal, &format!("{SETTINGS}/email"), &[("email", "new@example.com")]).status(), 303);
    // Until the new one is confirmed, messages still go to the confirmed one.
    let told = block_on(recipients_for(&portal.store(), "person-1", NotificationKind::PasskeyAdded)).unwrap();
    assert_eq!(told.to, [(Channel::Email, "margaret@example.com".to_owned())]);
}

#[test]
fn an_attacker_cannot_read_or_change_someone_elses_settings() {
    let (portal, _) = margaret();
    assert_eq!(post(&portal, &format!("{SETTINGS}/email"), &[("email", "margaret@example.com")]).status(), 303);
    let code = code_sent(&portal, "person-1");
    let attacker = portal.other_browser(7);
    enrolled(&attacker, "person-2", "Mallory Attacker");
    // Their page is their own: nothing of Margaret's shows.
    let page = text(&attacker.get(SETTINGS));
    assert!(!page.contains("margaret@example.com") && page.contains("You have not added an email address yet"), "{page}");
    // Margaret's code, typed in their session, reaches nothing of hers.
    assert_eq!(post(&attacker, &format!("{SETTINGS}/email/check"), &[("code", &code)]).headers()["location"], SETTINGS);
    // Their saves are theirs.
    assert_eq!(post(&attacker, SETTINGS, &choices(&[("comment_answered", "none")])).status(), 303);
    assert!(block_on(portal.store().notification_choices("person-1")).unwrap().is_empty());
    assert_eq!(block_on(portal.store().notification_choices("person-2")).unwrap().len(), CHOOSABLE.len());
    let points = block_on(portal.store().contact_points("person-1")).unwrap();
    assert_eq!((points[0].wrong_tries, points[0].verified()), (0, None), "Margaret's code untouched");
    // No page names a person.
    for path in ["/people/person-1/notifications", "/account/notifications/person-1/check"] {
        assert_eq!(attacker.get(path).status(), 404, "{path}");
    }
    assert_eq!(post(&attacker, "/account/notifications/person-1", &[("person-1", "margaret@example.com")]).status(), 404);
    // Without a session: sent to sign in; without the form's token: refused, nothing written.
    let stranger = portal.other_browser(8);
    assert_eq!(stranger.get(SETTINGS).headers()["location"], "/sign-in");
    let forged = attacker.post_form(SETTINGS, &choices(&[("comment_answered", "email")]));
    assert_eq!(forged.status(), 403);
    assert_eq!(block_on(portal.store().notification_choices("person-2")).unwrap()[&NotificationKind::CommentAnswered], BTreeSet::new());
    // Margaret can still confirm hers.
    assert_eq!(post(&portal, &format!("{SETTINGS}/email/check"), &[("code", &code)]).status(), 303);
}

#[test]
fn contact_by_letter_gets_a_letter_never_an_email() {
    let (portal, _) = margaret();
    confirm_email(&portal, "margaret@example.com");
    block_on(portal.db.execute("UPDATE people SET address = '12 Mill Lane\nLeeds', postcode = 'LS1 4AB' WHERE id = 'person-1'", &[])).unwrap();
    assert_eq!(
        support_needs(
            &portal,
            &[("large-print", "large_print_28"), ("needs", "contact_by_letter"), ("needs", "contact_via_carer"), ("paper", "paper_copy_at_home")]
        ),
        303
    );
    let told = block_on(recipients_for(&portal.store(), "person-1", NotificationKind::AccessEnding)).unwrap();
    assert_eq!(told.to, [(Channel::Letter, "Margaret Okafor\n12 Mill Lane\nLeeds\nLS1 4AB".to_owned())]);
    assert!(told.via_carer);
    let page = text(&portal.get(SETTINGS));
    assert!(page.contains("Now sent by letter, and to whoever acts for you."), "{page}");
    assert!(page.contains("Letters go to the address the council has for you:<br>12 Mill Lane<br>Leeds<br>LS1 4AB"), "{page}");
    assert!(page.contains("You asked to be contacted through your carer"));
}

#[test]
fn the_page_reflows_at_320px_in_28_point_large_print() {
    let (portal, _) = margaret();
    assert_eq!(support_needs(&portal, &[("large-print", "large_print_28"), ("paper", "paper_copy_at_home")]), 303);
    assert_eq!(post(&portal, &format!("{SETTINGS}/email"), &[("email", "a-very-long-address-that-would-not-fit@example.org")]).status(), 303);
    for path in [SETTINGS, "/account/notifications/email/check"] {
        let page = text(&portal.get(path));
        assert!(page.contains("app-large-print--28"), "{path}");
        // No tables, no fixed widths wider than a phone; long addresses break.
        assert!(!page.contains("<table") && !page.contains("govuk-input--width-20") && !page.contains("govuk-input--width-30"), "{path}");
        assert!(page.contains("govuk-!-text-break-word"), "{path}");
    }
    let page = text(&portal.get(SETTINGS));
    // GOV.UK checkboxes, each with its own label, one choice a line.
    assert_eq!(page.matches("class=\"govuk-checkboxes__item\"").count(), CHOOSABLE.len() * 3 + CHOOSABLE.iter().filter(|kind| !kind.is_security()).count());
    assert!(page.contains("<div class=\"govuk-checkboxes\" data-module=\"govuk-checkboxes\">"));
}

/// Records person-1's needs through the needs page.
fn support_needs(portal: &Portal, fields: &[(&str, &str)]) -> u16 {
    let path = "/people/person-1/needs";
    let csrf = portal.csrf_from(path);
    let mut all = vec![("csrf", csrf)];
    all.extend(fields.iter().map(|(key, value)| (*key, (*value).to_owned())));
    let all: Vec<(&str, &str)> = all.iter().map(|(key, value)| (*key, value.as_str())).collect();
    portal.post_form(path, &all).status().as_u16()
}

/// The page's `<main>`, with the per-visit CSRF token masked.
fn main_masked(html: &str) -> String {
    let start = html.find("<main").unwrap();
    let end = html.find("</main>").unwrap() + "</main>".len();
    let main = &html[start..end];
    let mut out = String::new();
    let mut rest = main;
    const FIELD: &str = "name=\"csrf\" value=\"";
    while let Some(at) = rest.find(FIELD) {
        let value_start = at + FIELD.len();
        out.push_str(&rest[..value_start]);
        out.push_str("[csrf]");
        rest = &rest[value_start + rest[value_start..].find('"').unwrap()..];
    }
    out.push_str(rest);
    out
}

#[test]
fn snapshots_of_the_settings_and_code_pages() {
    let (portal, _) = margaret();
    confirm_email(&portal, "margaret@example.com");
    block_on(portal.db.execute("UPDATE people SET address = '12 Mill Lane\nLeeds', postcode = 'LS1 4AB' WHERE id = 'person-1'", &[])).unwrap();
    assert_eq!(post(&portal, SETTINGS, &choices(&[("comment_answered", "none"), ("access_ending", "letter")])).status(), 303);
    assert_eq!(post(&portal, &format!("{SETTINGS}/phone"), &[("phone", "07700 900 982")]).status(), 303);
    insta::assert_snapshot!("settings", main_masked(&text(&portal.get(SETTINGS))));
    insta::assert_snapshot!("code", main_masked(&text(&portal.get("/account/notifications/phone/check"))));
}
