//! A way back in and help: "I have a new phone or my passkey does not work" from sign-in, the
//! help, accessibility and privacy pages in every footer with the council's own contact details,
//! error pages that say whom to call, the paper copy's print button, and error summaries that
//! take focus without JavaScript.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::domain::{Organisation, OrganisationKind};
use carefront_shared::store::Store;
use pollster::block_on;
use support::{Portal, text};

const COUNCIL: &str = "org-council";

fn with_council(portal: &Portal) {
    let now = portal.now.get();
    let store = portal.store();
    block_on(store.insert_organisation(&Organisation {
        id: COUNCIL.into(),
        kind: OrganisationKind::Council,
        name: "Northshire County Council".into(),
        created_at: now,
    }))
    .unwrap();
    block_on(store.set_organisation_contact(
        COUNCIL,
        "care@northshire.example",
        "01632 960 001",
        "County Hall, Northshire",
        "https://northshire.example/privacy",
    ))
    .unwrap();
}

const FOOTER: [&str; 3] = ["href=\"/help\">Help</a>", "href=\"/accessibility-statement\">Accessibility statement</a>", "href=\"/privacy\">Privacy notice</a>"];

#[test]
fn every_footer_links_to_help_accessibility_and_privacy() {
    let portal = support::margaret_with_full_record();
    let signed_out = portal.other_browser(5);
    let pages = [
        (&signed_out, "/", 200),
        (&signed_out, "/sign-in", 200),
        (&signed_out, "/invitation", 200),
        (&signed_out, "/help", 200),
        (&signed_out, "/no-such-page", 404),
        (&portal, "/home", 200),
        (&portal, "/people/person-1/medicines", 200),
        (&portal, "/people/nobody/care-plan", 404),
    ];
    for (browser, path, status) in pages {
        let response = browser.get(path);
        assert_eq!(response.status(), status, "{path}");
        let html = text(&response);
        for link in FOOTER {
            assert!(html.contains(link), "{path} has {link} in its footer");
        }
    }
}

#[test]
fn sign_in_offers_a_way_back_in_with_the_councils_own_contact_details() {
    let portal = Portal::new();
    with_council(&portal);
    let sign_in = text(&portal.get("/sign-in"));
    assert!(sign_in.contains("href=\"/sign-in/help\">I have a new phone or my passkey does not work</a>"), "{sign_in}");
    let help = portal.get("/sign-in/help");
    assert_eq!(help.status(), 200);
    let html = text(&help);
    for words in [
        "I have a new phone or my passkey does not work",
        "Northshire County Council",
        "href=\"tel:01632960001\">01632 960 001</a>",
        "mailto:care@northshire.example",
        "recovery letter",
        "check it is you",
        "added to your own account, not a new one",
        "remove the passkey of any phone you no longer have",
    ] {
        assert!(html.contains(words), "the page says {words:?}: {html}");
    }
    assert!(!html.to_lowercase().contains("contact us"), "never \"contact us\" without a contact");
}

#[test]
fn help_accessibility_and_privacy_name_the_council_and_what_is_held() {
    let portal = Portal::new();
    with_council(&portal);
    for (path, words) in [
        ("/help", &["Contact Northshire County Council", "01632 960 001", "href=\"/sign-in/help\"", "Call 999"][..]),
        (
            "/accessibility-statement",
            &[
                "Accessibility statement for carefront",
                "01632 960 001",
                "Web Content Accessibility Guidelines version 2.2 AA",
                "Equality Advisory and Support Service",
            ][..],
        ),
        (
            "/privacy",
            &[
                "Northshire County Council runs carefront and is responsible",
                "What carefront holds",
                "Who can see it",
                "How long it is kept",
                "Your rights",
                "northshire.example&#x2f;privacy\">full privacy notice</a>",
                "Information Commissioner",
                "30 minutes",
            ][..],
        ),
    ] {
        let response = portal.get(path);
        assert_eq!(response.status(), 200, "{path}");
        let html = text(&response);
        for word in words {
            assert!(html.contains(word), "{path} says {word:?}");
        }
        assert!(!html.to_lowercase().contains("contact us"), "{path}");
    }
}

#[test]
fn without_council_settings_the_pages_still_say_where_the_number_is() {
    let portal = Portal::new();
    let html = text(&portal.get("/sign-in/help"));
    assert!(html.contains("Their number is on the letter that came with your invitation code"), "{html}");
    assert!(!html.to_lowercase().contains("contact us"));
}

#[test]
fn error_pages_say_whom_to_call() {
    let portal = Portal::new();
    with_council(&portal);
    let html = text(&portal.get("/no-such-page"));
    assert!(html.contains("call Northshire County Council on <a class=\"govuk-link\" href=\"tel:01632960001\">01632 960 001</a>"), "{html}");
    assert!(html.contains("href=\"/help\">More ways to get help</a>"));
    assert!(!html.to_lowercase().contains("contact us"));
    // The page about the store being down cannot read the settings: it links to help instead.
    let bare = Portal::new();
    let html = text(&bare.get("/no-such-page"));
    assert!(html.contains("href=\"/help\">Get help, and your council's contact details</a>"), "{html}");
}

#[test]
fn the_paper_copy_has_a_print_button_from_a_script_the_policy_allows() {
    let portal = support::margaret_with_full_record();
    let response = portal.get("/people/person-1/print");
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = text(&response);
    assert!(html.contains("<button type=\"button\" class=\"govuk-button\" data-print hidden>Print this page</button>"), "{html}");
    assert!(!html.contains("javascript:"), "the policy forbids javascript: links");
    assert!(html.contains("use <strong>Print</strong> in your browser's menu"), "without JavaScript the page says how");
    let marker = "<script src=\"";
    let src = html[html.find(marker).unwrap() + marker.len()..].split('"').next().unwrap().to_owned();
    assert!(src.starts_with("/assets/print.") && src.ends_with(".js"), "{src}");
    let script = portal.get(&src);
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(text(&script).contains("window.print()"));
}

#[test]
fn after_a_failed_form_the_error_summary_takes_focus_without_javascript() {
    let portal = Portal::new();
    let csrf = portal.csrf_from("/invitation");
    let response = portal.post_form("/invitation", &[("csrf", &csrf), ("code", "not a code")]);
    assert_eq!(response.status(), 400);
    let html = text(&response);
    assert!(html.contains("<div class=\"govuk-error-summary\" data-module=\"govuk-error-summary\" tabindex=\"-1\" autofocus>"), "{html}");
    assert_eq!(html.matches("autofocus").count(), 1, "one thing takes focus");
    assert!(html.contains("<a href=\"#code\">"), "the summary links to the field");
}
