//! The council's system credentials page, through the router: council administrators only (404
//! for caseworkers and everyone else), a fresh passkey check before a credential is made, its
//! secret shown once, revoking that takes effect at once, and an administration log of who made
//! and revoked what.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::credential::{self, DerivedKey, Permission};
use carefront_shared::db::Database;
use carefront_shared::domain::{Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::store::{CredentialStore, Store};
use chrono::Duration;
use support::{Portal, ResidentSoftPasskey, csrf_in, text};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;

const COUNCIL: &str = "org-council";
const PROVIDER: &str = "org-provider";

fn council_signed_in() -> (Portal, ResidentSoftPasskey) {
    support::council_administrator(&[(PROVIDER, "Brookside Home Care")])
}

fn caseworker(portal: &Portal) -> Portal {
    support::council_caseworker(portal)
}

fn create_form<'a>(csrf: &'a str, organisation: &'a str, name: &'a str, permissions: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![("csrf", csrf), ("organisation", organisation), ("name", name)];
    fields.extend(permissions.iter().map(|permission| ("permissions", *permission)));
    fields
}

fn credential_count(portal: &Portal) -> usize {
    pollster::block_on(portal.db.query("SELECT 1 FROM system_credentials", &[])).unwrap().len()
}

/// Makes a credential through the page and returns (key id, secret) as shown.
fn make(portal: &Portal, organisation: &str, permissions: &[&str]) -> (String, String) {
    let csrf = portal.csrf_from("/council/credentials/new");
    let response = portal.post_form("/council/credentials/new", &create_form(&csrf, organisation, "Rostering system", permissions));
    let page = text(&response);
    assert_eq!(response.status(), 200, "{page}");
    let value = |id: &str| {
        let marker = format!("id=\"{id}\">");
        let start = page.find(&marker).unwrap_or_else(|| panic!("no {id} on {page}")) + marker.len();
        page[start..].split('<').next().unwrap().to_owned()
    };
    let key_id = page.split("<code class=\"govuk-!-text-break-word\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    (key_id, value("secret"))
}

#[test]
fn council_staff_make_a_credential_and_see_its_secret_once() {
    let (portal, _) = council_signed_in();
    let list = text(&portal.get("/council/credentials"));
    assert!(list.contains("System credentials") && list.contains("No credentials yet"), "{list}");

    let (key_id, secret) = make(&portal, PROVIDER, &["people:read", "needs:read"]);
    let stored = pollster::block_on(portal.store().credential(&key_id)).unwrap().unwrap();
    assert_eq!(stored.organisation_id, PROVIDER);
    assert_eq!(stored.permissions, [Permission::PeopleRead, Permission::NeedsRead].into());
    assert_eq!(stored.created_by, "person-daniel");
    assert_eq!(DerivedKey::from_secret(&secret).unwrap().fingerprint(), stored.fingerprint, "the secret shown is the credential's key");
    assert_eq!(portal.config.credential_key.derive(&key_id).secret(), secret);

    // Never again: not on the list, not in the store, not in the audit log.
    let list = text(&portal.get("/council/credentials"));
    assert!(list.contains(&key_id) && list.contains("Rostering system") && list.contains("Daniel Hughes"), "{list}");
    assert!(!list.contains(&secret));
    let dump = portal.db.dump_text().unwrap();
    assert!(!dump.contains(&secret), "the secret is stored nowhere");
    let audited = pollster::block_on(portal.db.query("SELECT actor_id, detail FROM admin_events WHERE action = 'credential.created'", &[])).unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].text(0).unwrap(), "person-daniel");
    assert!(audited[0].text(1).unwrap().contains(&key_id));
}

#[test]
fn making_a_credential_needs_a_recent_passkey_check() {
    let (portal, mut passkey) = council_signed_in();
    portal.advance(Duration::minutes(6));
    let confirm = text(&portal.get("/council/credentials/new")).replace("&#x2f;", "/");
    assert!(confirm.contains("Confirm it is you") && confirm.contains("/reauthenticate/finish?return=%2Fcouncil%2Fcredentials%2Fnew"), "{confirm}");
    let csrf = csrf_in(&confirm).unwrap();
    let refused = portal.post_form("/council/credentials/new", &create_form(&csrf, PROVIDER, "Rota", &["people:read"]));
    assert_eq!(refused.status().as_u16(), 403);
    assert!(
        text(&refused).replace("&#x2f;", "/").contains("/reauthenticate/finish?return=%2Fcouncil%2Fcredentials%2Fnew"),
        "the route table asks for the check"
    );
    assert_eq!(credential_count(&portal), 0, "nothing written");

    let options = portal.post_json("/reauthenticate/options", &csrf, &serde_json::json!({}));
    let options: carefront_shared::webauthn_rs::prelude::RequestChallengeResponse = serde_json::from_slice(options.body()).unwrap();
    let assertion = passkey.do_authentication(url::Url::parse(support::ORIGIN).unwrap(), options).unwrap();
    let finished = portal.post_json("/reauthenticate/finish?return=%2Fcouncil%2Fcredentials%2Fnew", &csrf, &assertion);
    assert_eq!(finished.status(), 200, "{}", text(&finished));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(finished.body()).unwrap()["redirect"], "/council/credentials/new");
    assert!(text(&portal.get("/council/credentials/new")).contains("Make a system credential"));
    make(&portal, PROVIDER, &["people:read"]);
    assert_eq!(credential_count(&portal), 1);
}

#[test]
fn bad_requests_are_refused_with_clear_errors_and_nothing_written() {
    let (portal, _) = council_signed_in();
    let csrf = portal.csrf_from("/council/credentials/new");
    for (fields, message) in [
        (create_form(&csrf, "", "Rota", &["people:read"]), "Choose the organisation"),
        (create_form(&csrf, "org-nowhere", "Rota", &["people:read"]), "Choose the organisation"),
        (create_form(&csrf, PROVIDER, "", &["people:read"]), "Say which system will use it"),
        (create_form(&csrf, PROVIDER, "Rota", &[]), "Choose at least one thing"),
        (create_form(&csrf, PROVIDER, "Rota", &["people:read", "export:read"]), "Only the council"),
    ] {
        let response = portal.post_form("/council/credentials/new", &fields);
        let page = text(&response);
        assert_eq!(response.status(), 400, "{fields:?}");
        assert!(page.contains(message) && page.contains("govuk-error-summary"), "{fields:?}: {page}");
    }
    let unknown = portal.post_form("/council/credentials/new", &create_form(&csrf, PROVIDER, "Rota", &["everything:write"]));
    assert_eq!(unknown.status(), 400);
    assert_eq!(credential_count(&portal), 0);

    // The council's own system may export.
    make(&portal, COUNCIL, &["export:read", "monitoring:read"]);
    assert_eq!(credential_count(&portal), 1);
}

#[test]
fn revoking_takes_effect_at_once_and_is_audited() {
    let (portal, _) = council_signed_in();
    let (key_id, secret) = make(&portal, PROVIDER, &["people:read"]);

    // A request signed with it verifies now…
    let sign = || {
        let mut request = http::Request::get("/api/v1/people").header("host", "api.care.example.test").body(Vec::new()).unwrap();
        let key = DerivedKey::from_secret(&secret).unwrap();
        let headers = credential::sign_request(&key, &key_id, &request, portal.now.get().timestamp(), "nonce-0000000000000001");
        headers.insert_into(request.headers_mut()).unwrap();
        request
    };
    let accepted = |portal: &Portal| {
        let verified = credential::verify_request(&portal.config.credential_key, &sign(), portal.now.get()).unwrap();
        credential::check_credential(pollster::block_on(portal.store().credential(&key_id)).unwrap(), &verified).is_ok()
    };
    assert!(accepted(&portal));

    let csrf = portal.csrf_from("/council/credentials");
    let response = portal.post_form(&format!("/council/credentials/{key_id}/revoke"), &[("csrf", &csrf)]);
    assert_eq!(response.headers()["location"], "/council/credentials?done=revoked");
    // …and not a moment after.
    assert!(!accepted(&portal));
    let page = text(&portal.get("/council/credentials?done=revoked"));
    assert!(page.contains("The credential is revoked") && page.contains("Revoked"), "{page}");
    assert!(!page.contains(&format!("/council/credentials/{key_id}/revoke")), "no second revoke button");

    // Revoking twice changes nothing; an unknown key id is 404.
    assert_eq!(portal.post_form(&format!("/council/credentials/{key_id}/revoke"), &[("csrf", &csrf)]).status(), 303);
    assert_eq!(portal.post_form("/council/credentials/ck_unknown/revoke", &[("csrf", &csrf)]).status(), 404);
    let audited = pollster::block_on(portal.db.query("SELECT actor_id FROM admin_events WHERE action = 'credential.revoked'", &[])).unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].text(0).unwrap(), "person-daniel");
}

#[test]
fn everyone_but_council_administrators_gets_page_not_found() {
    let (portal, _) = council_signed_in();
    let (key_id, _) = make(&portal, PROVIDER, &["people:read"]);

    // A service user, and provider staff, signed in in other browsers.
    let service_user = portal.other_browser(11);
    let (_, code) = service_user.person_with_invitation("person-margaret", "Margaret Okafor");
    assert_eq!(service_user.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let staff = portal.other_browser(12);
    let priya = Person {
        id: "person-priya".into(),
        role: Role::ProviderStaff,
        display_name: "Priya Shah".into(),
        organisation_id: Some(PROVIDER.into()),
        webauthn_handle: uuid::Uuid::from_u128(502),
        created_at: portal.now.get(),
    };
    pollster::block_on(portal.store().insert_person(&priya)).unwrap();
    let (invitation, code) = invitation::issue(&priya.id, None, portal.now.get(), DEFAULT_LIFETIME, &staff.random);
    pollster::block_on(portal.store().insert_invitation(&invitation)).unwrap();
    assert_eq!(staff.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);

    for browser in [&service_user, &staff] {
        for path in ["/council/credentials", "/council/credentials/new"] {
            assert_eq!(browser.get(path).status(), 404, "{path}");
        }
        let csrf = browser.csrf_from("/home");
        assert_eq!(browser.post_form("/council/credentials/new", &create_form(&csrf, PROVIDER, "Mine", &["people:read"])).status(), 404);
        assert_eq!(browser.post_form(&format!("/council/credentials/{key_id}/revoke"), &[("csrf", &csrf)]).status(), 404);
    }
    assert_eq!(credential_count(&portal), 1, "nothing written");
    assert!(pollster::block_on(portal.store().credential(&key_id)).unwrap().unwrap().revoked_at.is_none());

    let stranger = portal.other_browser(13);
    let response = stranger.get("/council/credentials");
    assert_eq!((response.status().as_u16(), response.headers()["location"].to_str().unwrap()), (303, "/sign-in"));
    assert_eq!(portal.send(http::Request::delete("/council/credentials"), Vec::new()).status(), 405);
}

#[test]
fn finding_3_a_caseworker_cannot_mint_provider_credentials() {
    let (portal, _) = council_signed_in();
    let cath = caseworker(&portal);
    // Signed in just now, so a fresh passkey check would not stand in her way: her role does.
    for path in ["/council/credentials", "/council/credentials/new"] {
        assert_eq!(cath.get(path).status(), 404, "{path}");
    }
    let csrf = cath.csrf_from("/home");
    let minted = cath.post_form("/council/credentials/new", &create_form(&csrf, PROVIDER, "Brookside eMAR", &["medication:write", "record:read"]));
    assert_eq!(minted.status(), 404, "{}", text(&minted));
    assert_eq!(cath.post_json("/council/credentials/reauthenticate/finish", &csrf, &serde_json::json!({})).status(), 404);
    assert_eq!(credential_count(&portal), 0, "nothing written");
    let home = text(&cath.get("/home"));
    assert!(home.contains("Monitoring report") && !home.contains("/council/credentials"), "no link to a page she cannot use: {home}");
    assert!(text(&portal.get("/home")).contains("/council/credentials"), "the administrator has the link");
}

#[test]
fn finding_3_a_caseworker_cannot_revoke_credentials() {
    let (portal, _) = council_signed_in();
    let (key_id, _) = make(&portal, PROVIDER, &["people:read"]);
    let cath = caseworker(&portal);
    let csrf = cath.csrf_from("/home");
    assert_eq!(cath.post_form(&format!("/council/credentials/{key_id}/revoke"), &[("csrf", &csrf)]).status(), 404);
    assert_eq!(cath.post_form("/council/credentials/ck_unknown/revoke", &[("csrf", &csrf)]).status(), 404, "the same answer: existence is not leaked");
    let stored = pollster::block_on(portal.store().credential(&key_id)).unwrap().unwrap();
    assert!(stored.revoked_at.is_none() && stored.revoked_by.is_none());
    let logged = pollster::block_on(portal.db.query("SELECT 1 FROM admin_events WHERE action = 'credential.revoked'", &[])).unwrap();
    assert!(logged.is_empty());
}

#[test]
fn finding_3_the_administration_log_names_who_made_each_credential() {
    let (portal, _) = council_signed_in();
    let (key_id, _) = make(&portal, PROVIDER, &["people:read"]);
    let stored = pollster::block_on(portal.store().credential(&key_id)).unwrap().unwrap();
    assert_eq!(stored.created_by, "person-daniel");
    portal.advance(Duration::minutes(3));
    let csrf = portal.csrf_from("/council/credentials");
    assert_eq!(portal.post_form(&format!("/council/credentials/{key_id}/revoke"), &[("csrf", &csrf)]).status(), 303);
    let stored = pollster::block_on(portal.store().credential(&key_id)).unwrap().unwrap();
    assert_eq!(stored.revoked_by.as_deref(), Some("person-daniel"), "who revoked it is recorded");

    let page = text(&portal.get("/council/credentials"));
    let log = page.split("id=\"administration-log\"").nth(1).unwrap_or_else(|| panic!("no administration log on {page}"));
    let made = log.find("Daniel Hughes made system credential").unwrap_or_else(|| panic!("{log}"));
    let revoked = log.find("Daniel Hughes revoked system credential").unwrap_or_else(|| panic!("{log}"));
    assert!(revoked < made, "newest first: {log}");
    assert!(log.contains(&key_id) && log.contains("Brookside Home Care") && log.contains("21 November 2026 at 9"), "{log}");

    // The log is append-only, like the audit log.
    for statement in ["UPDATE admin_events SET actor_name = 'Someone else'", "DELETE FROM admin_events"] {
        assert!(pollster::block_on(portal.db.execute(statement, &[])).is_err(), "{statement}");
    }
    // A made credential cannot be re-attributed, nor its revocation.
    for statement in [
        "UPDATE system_credentials SET created_by = 'person-cath'",
        "UPDATE system_credentials SET revoked_by = 'person-cath'",
        "UPDATE system_credentials SET revoked_by = NULL",
    ] {
        assert!(pollster::block_on(portal.db.execute(statement, &[])).is_err(), "{statement}");
    }
}
