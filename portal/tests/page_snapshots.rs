//! Snapshots of the rendered HTML of each page of the person's record, as the person sees it
//! normally, in large print and in easy read. A change to a page shows up as a reviewed diff
//! (`cargo insta review`). The snapshot keeps the `<html>` element (large print lives in its
//! class) and the page's `<main>`; the per-visit CSRF token is masked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use support::{Portal, text};

const PAGES: [&str; 11] = ["home", "care-plan", "guide", "medicines", "visits", "contacts", "documents", "needs", "comments", "discussions", "print"];

fn path(page: &str) -> String {
    if page == "home" { "/home".into() } else { format!("/people/person-1/{page}") }
}

/// The `<html …>` line and the `<main>` element, with CSRF tokens and asset hashes masked.
fn essence(html: &str) -> String {
    let opening = html.lines().find(|line| line.starts_with("<html")).unwrap_or_default().to_owned();
    let start = html.find("<main").expect("a <main> element");
    let end = html.find("</main>").expect("a closing </main>") + "</main>".len();
    let main = mask_asset_hashes(&mask_csrf(&html[start..end]));
    format!("{opening}\n{main}")
}

/// "/assets/easy-read/clock.1a2b3c4d5e6f.svg" as "/assets/easy-read/clock.[hash].svg": a
/// redrawn picture is not a change of the page.
fn mask_asset_hashes(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find("src=\"/assets/") {
        let value_start = at + "src=\"".len();
        let value_end = value_start + rest[value_start..].find('"').unwrap();
        let url = &rest[value_start..value_end];
        out.push_str(&rest[..value_start]);
        match url.rsplitn(3, '.').collect::<Vec<_>>()[..] {
            [extension, _hash, stem] => out.push_str(&format!("{stem}.[hash].{extension}")),
            _ => out.push_str(url),
        }
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    out
}

fn mask_csrf(html: &str) -> String {
    const FIELD: &str = "name=\"csrf\" value=\"";
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find(FIELD) {
        let value_start = at + FIELD.len();
        let value_end = value_start + rest[value_start..].find('"').unwrap();
        out.push_str(&rest[..value_start]);
        out.push_str("[csrf]");
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    out
}

fn save_needs(portal: &Portal, fields: &[(&str, &str)]) {
    let csrf = portal.csrf_from("/people/person-1/needs");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    assert_eq!(portal.post_form("/people/person-1/needs", &all).status(), 303);
}

fn snapshot_all(portal: &Portal, mode: &str) {
    for page in PAGES {
        let response = portal.get(&path(page));
        assert_eq!(response.status(), 200, "{page}");
        insta::assert_snapshot!(format!("{page}__{mode}"), essence(&text(&response)));
    }
}

#[test]
fn every_page_in_normal_large_print_and_easy_read() {
    let portal = support::margaret_with_full_record();
    snapshot_all(&portal, "normal");
    save_needs(&portal, &[("large-print", "large_print_24"), ("paper", "paper_copy_at_home")]);
    snapshot_all(&portal, "large_print");
    save_needs(&portal, &[("large-print", "none"), ("needs", "easy_read"), ("paper", "paper_copy_at_home")]);
    snapshot_all(&portal, "easy_read");
}
