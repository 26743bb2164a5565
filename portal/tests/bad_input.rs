//! Bad input gets a clear 4xx answer, never a panic, and nothing is written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_portal::{Request, handle};
use carefront_shared::context::RequestContext;
use carefront_shared::store::SqlStore;
use support::{DownDatabase, Portal, text};

fn count(portal: &Portal, table: &str) -> i64 {
    use carefront_shared::db::Database;
    pollster::block_on(portal.db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap()[0].integer(0).unwrap()
}

fn tables_snapshot(portal: &Portal) -> Vec<i64> {
    ["people", "invitations", "passkeys", "sessions", "ceremonies", "audit_events"].iter().map(|table| count(portal, table)).collect()
}

#[test]
fn every_response_carries_the_security_headers() {
    let portal = Portal::new();
    let home = portal.get("/");
    let stylesheet = text(&home).split("rel=\"stylesheet\" href=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    for response in [home, portal.get("/nowhere"), portal.get(&stylesheet), portal.send(http::Request::delete("/"), Vec::new())] {
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline")
        );
        assert!(headers["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
    }
    let asset = portal.get(&stylesheet);
    assert_eq!(asset.headers()["content-type"], "text/css; charset=utf-8");
    assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(portal.get("/").headers()["cache-control"], "no-store");
}

#[test]
fn pages_have_no_inline_script_or_style() {
    let portal = Portal::new();
    for path in ["/", "/invitation", "/sign-in", "/signed-out", "/nowhere"] {
        let html = text(&portal.get(path));
        assert!(!html.contains("<script>") && !html.contains("style=") && !html.contains("<style") && !html.contains("onclick"), "{path}");
    }
}

#[test]
fn unknown_pages_and_wrong_methods() {
    let portal = Portal::new();
    let missing = portal.get("/nowhere");
    assert_eq!(missing.status(), 404);
    assert!(text(&missing).contains("Page not found"));
    let wrong = portal.send(http::Request::delete("/"), Vec::new());
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET, HEAD");
    assert_eq!(portal.get("/sign-out").status(), 405);
    for (method, path, allow) in [
        ("GET", "/sessions/end", "POST"),
        ("DELETE", "/receipts/r1", "GET, HEAD"),
        ("PUT", "/access/add", "GET, HEAD, POST"),
        ("PUT", "/access/g1/revoke", "GET, HEAD, POST"),
        ("GET", "/access/invitations/i1/reissue", "POST"),
    ] {
        let response = portal.send(http::Request::builder().method(method).uri(path), Vec::new());
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
    }
    assert_eq!(portal.get("/home").headers()["location"], "/sign-in");
}

#[test]
fn forms_without_a_valid_csrf_token_or_from_another_site_are_refused() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let before = tables_snapshot(&portal);
    let csrf = portal.csrf_from("/invitation");
    for fields in [vec![("code", code.as_str())], vec![("csrf", "forged"), ("code", code.as_str())]] {
        let response = portal.post_form("/invitation", &fields);
        assert_eq!(response.status(), 403);
        assert!(text(&response).contains("Your form has expired"));
    }
    let body = serde_urlencoded::to_string([("csrf", csrf.as_str()), ("code", code.as_str())]).unwrap().into_bytes();
    let cross_site = portal.send(
        http::Request::post("/invitation").header("content-type", "application/x-www-form-urlencoded").header("origin", "https://evil.example"),
        body.clone(),
    );
    assert_eq!(cross_site.status(), 403);
    let no_cookie = portal.other_browser(7);
    let response = no_cookie.send(http::Request::post("/invitation").header("content-type", "application/x-www-form-urlencoded"), body);
    assert_eq!(response.status(), 403, "a token is bound to its browser's cookie");
    assert_eq!(tables_snapshot(&no_cookie), before);
}

#[test]
fn oversize_malformed_and_non_utf8_bodies() {
    let portal = Portal::new();
    portal.person_with_invitation("person-1", "Margaret Okafor");
    let csrf = portal.csrf_from("/invitation");
    let before = tables_snapshot(&portal);
    let form = |body: Vec<u8>| portal.send(http::Request::post("/invitation").header("content-type", "application/x-www-form-urlencoded"), body);

    let huge = format!("csrf={csrf}&code={}", "A".repeat(2 * 1024 * 1024)).into_bytes();
    assert_eq!(form(huge).status(), 413);
    let declared = portal
        .send(http::Request::post("/invitation").header("content-type", "application/x-www-form-urlencoded").header("content-length", "99999999"), Vec::new());
    assert_eq!(declared.status(), 413);

    let mut invalid = format!("csrf={csrf}&code=").into_bytes();
    invalid.extend_from_slice(&[0xff, 0xfe, 0x41]);
    let response = form(invalid);
    assert_eq!(response.status(), 400, "a body that is not UTF-8 is malformed");

    let missing_field = form(format!("csrf={csrf}").into_bytes());
    assert_eq!(missing_field.status(), 400);
    assert!(text(&missing_field).contains("could not understand"));

    let wrong_type = portal.send(http::Request::post("/invitation").header("content-type", "text/plain").header("x-csrf-token", &csrf), b"code=x".to_vec());
    assert_eq!(wrong_type.status(), 400);

    let script = form(format!("csrf={csrf}&code=%3Cscript%3Ealert(1)%3C%2Fscript%3E").into_bytes());
    assert_eq!(script.status(), 400);
    assert!(!text(&script).contains("<script>alert"), "echoed input is escaped");
    assert!(text(&script).contains("&lt;script&gt;"));

    assert_eq!(tables_snapshot(&portal), before, "nothing was written");
}

#[test]
fn malformed_json_to_passkey_endpoints_is_a_problem_document() {
    let portal = Portal::new();
    let csrf = portal.csrf_from("/sign-in");
    for body in [&b"{not json"[..], b"{}", b"\xff\xfe", b"[]"] {
        let response =
            portal.send(http::Request::post("/sign-in/finish").header("content-type", "application/json").header("x-csrf-token", &csrf), body.to_vec());
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(problem["status"], 400);
    }
    let no_ceremony = portal.post_json("/passkeys/create/options", &csrf, &serde_json::json!({}));
    assert_eq!(no_ceremony.status(), 401, "registration needs an invitation or a session");
}

#[test]
fn an_unavailable_store_gives_503_with_a_kind_page() {
    let portal = Portal::new();
    let csrf = portal.csrf_from("/invitation");
    let cookies: Vec<String> = portal.cookies.borrow().iter().map(|(name, value)| format!("{name}={value}")).collect();
    let request: Request = http::Request::post("/invitation")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookies.join("; "))
        .body(format!("csrf={csrf}&code=AAAA-AAAA-AAAA-AAAA-AAAA").into_bytes())
        .unwrap();
    let down = DownDatabase;
    let store = SqlStore::new(&down);
    let context = RequestContext { store: &store, config: &portal.config, now: portal.now.get(), random: &portal.random, client: None, outbound: None };
    let response = pollster::block_on(handle(&context, request));
    assert_eq!(response.status(), 503);
    assert!(text(&response).contains("the service is unavailable") || text(&response).contains("service is unavailable"));
    assert!(text(&response).contains("paper copy"));

    let fallback = carefront_portal::unavailable("no binding");
    assert_eq!(fallback.status(), 503);
    assert!(fallback.headers().contains_key("content-security-policy"));
}

#[test]
fn server_errors_carry_a_reference() {
    let error = carefront_portal::error::PortalError::Internal("boom".into());
    assert!(error.needs_reference());
    let problem = error.problem(Some("abc123"));
    assert_eq!(problem.status, 500);
    assert_eq!(problem.instance.as_deref(), Some("urn:carefront:error:abc123"));
    assert!(!problem.detail.unwrap_or_default().contains("boom"), "internal detail is not shown");
}

/// Regression: with `Referrer-Policy: no-referrer` browsers send `Origin: null` on form posts,
/// which the CSRF check refuses; the portal now sends `same-origin` so same-site forms carry
/// their real origin, and `null` is still refused.
#[test]
fn a_form_post_with_origin_null_is_refused() {
    let portal = Portal::new();
    let csrf = portal.csrf_from("/invitation");
    let body = serde_urlencoded::to_string([("csrf", csrf.as_str()), ("code", "AAAA-AAAA-AAAA-AAAA-AAAA")]).unwrap().into_bytes();
    let response = portal.send(http::Request::post("/invitation").header("content-type", "application/x-www-form-urlencoded").header("origin", "null"), body);
    assert_eq!(response.status(), 403);
    assert_eq!(portal.get("/invitation").headers()["referrer-policy"], "same-origin");
}
