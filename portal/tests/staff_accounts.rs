//! Staff accounts through the router: a council administrator invites council staff and each
//! provider's administrator, changes roles and removes access; a provider's administrator invites
//! and removes their own staff and sees their consent evidence. Everyone else gets "page not
//! found"; one provider never reaches another's staff; every change is in the administration log
//! with who made it; an invited member of staff enrols through /invitation with the right role.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::db::Database;
use carefront_shared::domain::{CouncilRole, OrganisationKind, Person, ProviderRole, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::monitoring;
use carefront_shared::store::{CredentialStore, StaffStore, Store};
use chrono::Duration;
use pollster::block_on;
use support::{Portal, ResidentSoftPasskey, text};

const COUNCIL: &str = "org-council";
const BROOKSIDE: &str = "org-brookside";
const RIVERSIDE: &str = "org-riverside";

/// Daniel, a council administrator, enrolled and signed in (so recently verified), with the
/// council and two providers.
fn council_administrator() -> Portal {
    support::council_administrator(&[(BROOKSIDE, "Brookside Home Care"), (RIVERSIDE, "Riverside Care")]).0
}

/// What the invitation page shows once: (code, link).
fn shown_invitation(page: &str) -> (String, String) {
    let value = |id: &str| {
        let marker = format!("id=\"{id}\">");
        let start = page.find(&marker).unwrap_or_else(|| panic!("no {id} on {page}")) + marker.len();
        page[start..].split('<').next().unwrap().to_owned()
    };
    (value("invitation-code"), value("invitation-link").replace("&#x2f;", "/").replace("&amp;", "&"))
}

/// Invites someone through /council/staff/invite and returns the code shown.
fn council_invites(portal: &Portal, fields: &[(&str, &str)]) -> String {
    let csrf = portal.csrf_from("/council/staff/invite");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let response = portal.post_form("/council/staff/invite", &form);
    let page = text(&response);
    assert_eq!(response.status(), 200, "{page}");
    let (code, link) = shown_invitation(&page);
    assert_eq!(link, format!("{}/invitation?code={code}", support::ORIGIN));
    code
}

/// Invites a member of staff through /provider/staff/invite and returns the code shown.
fn provider_invites(browser: &Portal, name: &str) -> String {
    let csrf = browser.csrf_from("/provider/staff/invite");
    let response = browser.post_form("/provider/staff/invite", &[("csrf", &csrf), ("name", name)]);
    let page = text(&response);
    assert_eq!(response.status(), 200, "{page}");
    shown_invitation(&page).0
}

/// A new browser that enrols with `code`, through /invitation?code=…, and is signed in.
fn enrols(portal: &Portal, seed: u64, code: &str) -> (Portal, ResidentSoftPasskey) {
    let browser = portal.other_browser(seed);
    let mut passkey = ResidentSoftPasskey::new();
    let response = browser.enrol(code, &mut passkey);
    assert_eq!(response.status(), 200, "{}", text(&response));
    (browser, passkey)
}

/// The person with this display name.
fn person_named(portal: &Portal, name: &str) -> Person {
    let rows = block_on(portal.db.query("SELECT id FROM people WHERE display_name = ?1", &[name.into()])).unwrap();
    assert_eq!(rows.len(), 1, "one {name}");
    block_on(portal.store().person(&rows[0].text(0).unwrap())).unwrap().unwrap()
}

/// The browser's home page, if it is signed in.
fn signed_in_as(browser: &Portal) -> Option<String> {
    let home = browser.get("/home");
    (home.status() == 200).then(|| text(&home))
}

/// (actor id, action, person id) of every administration-log entry, oldest first.
fn log(portal: &Portal) -> Vec<(String, String, Option<String>)> {
    block_on(portal.db.query("SELECT actor_id, action, person_id FROM admin_events ORDER BY at, rowid", &[]))
        .unwrap()
        .iter()
        .map(|row| (row.text(0).unwrap(), row.text(1).unwrap(), row.optional_text(2).unwrap()))
        .collect()
}

fn count(portal: &Portal, table: &str) -> usize {
    block_on(portal.db.query(&format!("SELECT 1 FROM {table}"), &[])).unwrap().len()
}

/// Priya, Brookside's administrator, invited by the council and enrolled in her own browser.
fn brookside_administrator(portal: &Portal) -> (Portal, Person) {
    let code = council_invites(portal, &[("name", "Priya Shah"), ("role", "provider_administrator"), ("provider", BROOKSIDE)]);
    let (browser, _) = enrols(portal, 31, &code);
    (browser, person_named(portal, "Priya Shah"))
}

#[test]
fn a_council_caseworker_is_invited_enrols_as_a_caseworker_and_gets_page_not_found_on_staff_accounts() {
    let portal = council_administrator();
    assert!(text(&portal.get("/home")).contains("/council/staff"), "the administrator has the link");
    let code = council_invites(&portal, &[("name", "  Cath   Walker "), ("role", "caseworker")]);
    let cath = person_named(&portal, "Cath Walker");
    assert_eq!((cath.role, cath.organisation_id.as_deref()), (Role::CouncilStaff, Some(COUNCIL)));
    assert!(text(&portal.get("/council/staff")).contains("Invited, not enrolled yet"));

    let (browser, _) = enrols(&portal, 21, &code);
    assert_eq!(block_on(portal.store().council_role(&cath.id)).unwrap(), Some(CouncilRole::Caseworker));
    let list = text(&portal.get("/council/staff"));
    assert!(list.contains("Cath Walker") && list.contains("Enrolled") && !list.contains("Invited, not enrolled yet"), "{list}");

    // Cath, signed in just now, has no staff accounts: every path is "page not found".
    let people_before = count(&portal, "people");
    let home = text(&browser.get("/home"));
    assert!(home.contains("Monitoring report") && !home.contains("/council/staff"), "{home}");
    for path in ["/council/staff", "/council/staff/invite"] {
        assert_eq!(browser.get(path).status(), 404, "{path}");
    }
    let csrf = support::csrf_in(&home).unwrap();
    let invite = browser.post_form("/council/staff/invite", &[("csrf", &csrf), ("name", "Mallory"), ("role", "administrator")]);
    assert_eq!(invite.status(), 404);
    assert_eq!(browser.post_form("/council/staff/person-daniel/role", &[("csrf", &csrf), ("role", "caseworker")]).status(), 404);
    assert_eq!(browser.post_form("/council/staff/person-daniel/remove", &[("csrf", &csrf)]).status(), 404);
    assert_eq!(count(&portal, "people"), people_before, "nothing written");
    assert_eq!(block_on(portal.store().council_role("person-daniel")).unwrap(), Some(CouncilRole::Administrator));
    assert_eq!(log(&portal), [("person-daniel".into(), "staff.invited".into(), Some(cath.id))]);
}

#[test]
fn an_invited_administrator_can_administer_and_a_role_change_is_logged() {
    let portal = council_administrator();
    let code = council_invites(&portal, &[("name", "Ann Lee"), ("role", "administrator")]);
    let ann = person_named(&portal, "Ann Lee");
    assert_eq!(block_on(portal.store().council_role(&ann.id)).unwrap(), Some(CouncilRole::Administrator));
    let (ann_browser, _) = enrols(&portal, 22, &code);
    assert_eq!(ann_browser.get("/council/staff").status(), 200);

    council_invites(&portal, &[("name", "Cath Walker"), ("role", "caseworker")]);
    let cath = person_named(&portal, "Cath Walker");
    let csrf = portal.csrf_from("/council/staff");
    let changed = portal.post_form(&format!("/council/staff/{}/role", cath.id), &[("csrf", &csrf), ("role", "administrator")]);
    assert_eq!(changed.headers()["location"], "/council/staff?done=role");
    assert_eq!(block_on(portal.store().council_role(&cath.id)).unwrap(), Some(CouncilRole::Administrator));
    // The same role again changes nothing and logs nothing.
    portal.post_form(&format!("/council/staff/{}/role", cath.id), &[("csrf", &csrf), ("role", "administrator")]);
    let changes: Vec<_> = log(&portal).into_iter().filter(|(_, action, _)| action == "staff.role_changed").collect();
    assert_eq!(changes, [("person-daniel".into(), "staff.role_changed".into(), Some(cath.id.clone()))]);
    let page = text(&portal.get("/council/staff"));
    assert!(page.contains("Daniel Hughes made Cath Walker an administrator (was a caseworker)."), "{page}");

    // No one changes or removes their own account (nor locks every administrator out).
    let own = portal.post_form("/council/staff/person-daniel/role", &[("csrf", &csrf), ("role", "caseworker")]);
    assert_eq!(own.status(), 400);
    assert!(text(&own).contains("You cannot change or remove your own access"));
    assert_eq!(portal.post_form("/council/staff/person-daniel/remove", &[("csrf", &csrf)]).status(), 400);
    assert_eq!(block_on(portal.store().council_role("person-daniel")).unwrap(), Some(CouncilRole::Administrator));
    // A provider's administrator has no council role to change.
    let (_, priya) = brookside_administrator(&portal);
    assert_eq!(portal.post_form(&format!("/council/staff/{}/role", priya.id), &[("csrf", &csrf), ("role", "administrator")]).status(), 404);
    assert_eq!(portal.post_form("/council/staff/person-nobody/role", &[("csrf", &csrf), ("role", "administrator")]).status(), 404);
}

#[test]
fn a_new_providers_administrator_is_invited_with_the_provider_and_enrols_as_its_administrator() {
    let portal = council_administrator();
    let code = council_invites(&portal, &[("name", "Sam Okoro"), ("role", "provider_administrator"), ("provider", "new"), ("provider_name", "Hillview Care")]);
    let providers = block_on(portal.store().organisations(OrganisationKind::Provider)).unwrap();
    let hillview = providers.iter().find(|provider| provider.name == "Hillview Care").expect("the new provider");
    let sam = person_named(&portal, "Sam Okoro");
    assert_eq!((sam.role, sam.organisation_id.as_deref()), (Role::ProviderStaff, Some(hillview.id.as_str())));
    assert_eq!(block_on(portal.store().provider_role(&sam.id)).unwrap(), Some(ProviderRole::Administrator));
    let entries = log(&portal);
    assert_eq!(entries, [("person-daniel".into(), "organisation.added".into(), None), ("person-daniel".into(), "staff.invited".into(), Some(sam.id.clone()))]);

    let (browser, _) = enrols(&portal, 23, &code);
    let home = signed_in_as(&browser).unwrap();
    assert!(home.contains("/provider/staff") && home.contains("/provider/consent-evidence"), "{home}");
    let staff = text(&browser.get("/provider/staff"));
    assert!(staff.contains("Hillview Care") && staff.contains("Sam Okoro"), "{staff}");
    assert!(staff.contains("Daniel Hughes invited Sam Okoro to Hillview Care as the provider&#x27;s administrator."), "their organisation's log: {staff}");
    assert_eq!(browser.get("/provider/consent-evidence").status(), 200);
    assert_eq!(browser.get("/council/staff").status(), 404);
    let list = text(&portal.get("/council/staff"));
    assert!(list.contains("Hillview Care") && list.contains("Sam Okoro"), "{list}");
}

#[test]
fn a_providers_administrator_invites_staff_who_enrol_as_staff_and_get_page_not_found_on_administration() {
    let portal = council_administrator();
    let (priya_browser, priya) = brookside_administrator(&portal);
    let code = provider_invites(&priya_browser, "Jo Adeyemi");
    let jo = person_named(&portal, "Jo Adeyemi");
    assert_eq!((jo.role, jo.organisation_id.as_deref()), (Role::ProviderStaff, Some(BROOKSIDE)));
    assert_eq!(block_on(portal.store().provider_role(&jo.id)).unwrap(), Some(ProviderRole::Staff));
    assert!(log(&portal).contains(&(priya.id.clone(), "staff.invited".into(), Some(jo.id.clone()))), "the provider's administrator is the actor");

    let (jo_browser, _) = enrols(&portal, 41, &code);
    assert!(text(&priya_browser.get("/provider/staff")).contains("Enrolled"));
    let home = signed_in_as(&jo_browser).unwrap();
    assert!(!home.contains("/provider/staff"), "{home}");
    for path in ["/provider/staff", "/provider/staff/invite", "/provider/consent-evidence", "/council/staff"] {
        assert_eq!(jo_browser.get(path).status(), 404, "{path}");
    }
    let csrf = support::csrf_in(&home).unwrap();
    let people_before = count(&portal, "people");
    assert_eq!(jo_browser.post_form("/provider/staff/invite", &[("csrf", &csrf), ("name", "Mallory")]).status(), 404);
    assert_eq!(jo_browser.post_form(&format!("/provider/staff/{}/remove", priya.id), &[("csrf", &csrf)]).status(), 404);
    assert_eq!(count(&portal, "people"), people_before, "nothing written");
    assert!(block_on(portal.store().staff_member(&priya.id)).unwrap().unwrap().has_access());
}

#[test]
fn one_providers_administrator_cannot_see_invite_into_or_remove_anothers_staff() {
    let portal = council_administrator();
    let (priya_browser, priya) = brookside_administrator(&portal);
    let code = council_invites(&portal, &[("name", "Rob Evans"), ("role", "provider_administrator"), ("provider", RIVERSIDE)]);
    let (rob_browser, _) = enrols(&portal, 32, &code);
    let rob = person_named(&portal, "Rob Evans");
    provider_invites(&rob_browser, "Ola Bello");
    let ola = person_named(&portal, "Ola Bello");

    // Riverside's staff are not on Brookside's page, nor in its log.
    let page = text(&priya_browser.get("/provider/staff"));
    assert!(!page.contains("Ola Bello") && !page.contains("Rob Evans") && !page.contains("Riverside"), "{page}");

    // Removing them is "page not found", as for someone who does not exist.
    let csrf = priya_browser.csrf_from("/provider/staff");
    let events = log(&portal).len();
    for target in [&ola.id, &rob.id, &"person-daniel".to_owned(), &"person-nobody".to_owned()] {
        assert_eq!(priya_browser.post_form(&format!("/provider/staff/{target}/remove"), &[("csrf", &csrf)]).status(), 404, "{target}");
    }
    assert!(block_on(portal.store().staff_member(&ola.id)).unwrap().unwrap().has_access());
    assert!(block_on(portal.store().staff_member(&rob.id)).unwrap().unwrap().has_access());

    // An invitation always goes to the administrator's own organisation, as staff, whatever else
    // the form says.
    let csrf = priya_browser.csrf_from("/provider/staff/invite");
    let response = priya_browser.post_form(
        "/provider/staff/invite",
        &[("csrf", &csrf), ("name", "Eve Stone"), ("organisation", RIVERSIDE), ("organisation_id", RIVERSIDE), ("role", "administrator")],
    );
    assert_eq!(response.status(), 200);
    let eve = person_named(&portal, "Eve Stone");
    assert_eq!(eve.organisation_id.as_deref(), Some(BROOKSIDE));
    assert_eq!(block_on(portal.store().provider_role(&eve.id)).unwrap(), Some(ProviderRole::Staff));
    assert_eq!(log(&portal).len(), events + 1);
    assert!(!text(&rob_browser.get("/provider/staff")).contains("Eve Stone"));

    // Nor can a provider's administrator remove a fellow administrator: that is the council's.
    let code = council_invites(&portal, &[("name", "Kim Park"), ("role", "provider_administrator"), ("provider", BROOKSIDE)]);
    enrols(&portal, 33, &code);
    let kim = person_named(&portal, "Kim Park");
    let csrf = priya_browser.csrf_from("/provider/staff");
    let refused = priya_browser.post_form(&format!("/provider/staff/{}/remove", kim.id), &[("csrf", &csrf)]);
    assert_eq!(refused.status(), 400);
    assert!(text(&refused).contains("Only the council can remove"));
    assert_eq!(priya_browser.post_form(&format!("/provider/staff/{}/remove", priya.id), &[("csrf", &csrf)]).status(), 400, "nor themselves");
    assert!(block_on(portal.store().staff_member(&kim.id)).unwrap().unwrap().has_access());
}

#[test]
fn removing_access_ends_their_sessions_at_once_and_they_cannot_sign_in_again() {
    let portal = council_administrator();
    let (priya_browser, priya) = brookside_administrator(&portal);
    let code = provider_invites(&priya_browser, "Jo Adeyemi");
    let (jo_browser, mut jo_passkey) = enrols(&portal, 41, &code);
    let jo = person_named(&portal, "Jo Adeyemi");
    // Jo also has a second browser signed in.
    let jo_phone = portal.other_browser(42);
    assert_eq!(jo_phone.sign_in(&mut jo_passkey).status(), 200);
    assert!(signed_in_as(&jo_browser).is_some() && signed_in_as(&jo_phone).is_some());

    let csrf = priya_browser.csrf_from("/provider/staff");
    let removed = priya_browser.post_form(&format!("/provider/staff/{}/remove", jo.id), &[("csrf", &csrf)]);
    assert_eq!(removed.headers()["location"], "/provider/staff?done=removed");
    let page = text(&priya_browser.get("/provider/staff?done=removed"));
    assert!(page.contains("Their access is removed") && page.contains("Access removed"), "{page}");
    assert!(page.contains("Priya Shah removed the access of Jo Adeyemi (Brookside Home Care)"), "{page}");

    for browser in [&jo_browser, &jo_phone] {
        let home = browser.get("/home");
        assert_eq!((home.status().as_u16(), home.headers()["location"].to_str().unwrap()), (303, "/sign-in"), "the session is gone");
    }
    let stranger = portal.other_browser(43);
    let (stranger_csrf, assertion) = stranger.sign_in_response(&mut jo_passkey);
    let again = stranger.post_json("/sign-in/finish", &stranger_csrf, &assertion);
    assert!(again.status().is_client_error(), "the passkey no longer works: {}", again.status());
    assert_eq!(block_on(portal.store().passkeys(&jo.id)).unwrap().len(), 0);
    assert!(block_on(portal.store().sessions_for_person(&jo.id)).unwrap().is_empty());

    // Nothing brings the account back: no new session, passkey or invitation can be stored.
    let (invitation, _) = invitation::issue(&jo.id, None, portal.now.get(), DEFAULT_LIFETIME, &portal.random);
    assert!(block_on(portal.store().insert_invitation(&invitation)).is_err());
    assert!(block_on(portal.db.execute("UPDATE people SET access_removed_at = NULL WHERE id = ?1", &[jo.id.as_str().into()])).is_err());

    // A second removal is refused and logs nothing more.
    assert_eq!(priya_browser.post_form(&format!("/provider/staff/{}/remove", jo.id), &[("csrf", &csrf)]).status(), 400);
    let removals: Vec<_> = log(&portal).into_iter().filter(|(_, action, _)| action == "staff.access_removed").collect();
    assert_eq!(removals, [(priya.id.clone(), "staff.access_removed".into(), Some(jo.id.clone()))]);

    // The council removes a provider's administrator the same way.
    let csrf = portal.csrf_from("/council/staff");
    assert_eq!(portal.post_form(&format!("/council/staff/{}/remove", priya.id), &[("csrf", &csrf)]).headers()["location"], "/council/staff?done=removed");
    assert_eq!(priya_browser.get("/provider/staff").status(), 303, "signed out at once");
    assert!(log(&portal).contains(&("person-daniel".into(), "staff.access_removed".into(), Some(priya.id.clone()))));
    // An ordinary member of a provider's staff is the provider's to remove, not the council's.
    let code = council_invites(&portal, &[("name", "Lee Grant"), ("role", "provider_administrator"), ("provider", RIVERSIDE)]);
    let (lee_browser, _) = enrols(&portal, 34, &code);
    provider_invites(&lee_browser, "Ola Bello");
    let ola = person_named(&portal, "Ola Bello");
    assert_eq!(portal.post_form(&format!("/council/staff/{}/remove", ola.id), &[("csrf", &csrf)]).status(), 404);
}

#[test]
fn an_unused_invitation_stops_working_when_access_is_removed() {
    let portal = council_administrator();
    let code = council_invites(&portal, &[("name", "Cath Walker"), ("role", "caseworker")]);
    let cath = person_named(&portal, "Cath Walker");
    let csrf = portal.csrf_from("/council/staff");
    assert_eq!(portal.post_form(&format!("/council/staff/{}/remove", cath.id), &[("csrf", &csrf)]).status(), 303);
    let browser = portal.other_browser(24);
    let csrf = browser.csrf_from(&format!("/invitation?code={code}"));
    let refused = browser.post_form("/invitation", &[("csrf", &csrf), ("code", &code)]);
    assert_eq!(refused.status(), 410, "{}", text(&refused));
}

#[test]
fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let portal = council_administrator();
    let csrf = portal.csrf_from("/council/staff/invite");
    let long = "A".repeat(81);
    let people = count(&portal, "people");
    let organisations = count(&portal, "organisations");
    for (fields, field, message) in [
        (vec![("name", ""), ("role", "caseworker")], "name", "Enter the person&#x27;s full name"),
        (vec![("name", long.as_str()), ("role", "caseworker")], "name", "in 80 characters or fewer"),
        (vec![("name", "Cath\nWalker"), ("role", "caseworker")], "name", "on one line"),
        (vec![("name", "Cath Walker")], "role", "Choose what they will do"),
        (vec![("name", "Cath Walker"), ("role", "superuser")], "role", "Choose what they will do"),
        (vec![("name", "Sam"), ("role", "provider_administrator")], "provider", "Choose the care provider, or add a new one"),
        (vec![("name", "Sam"), ("role", "provider_administrator"), ("provider", "org-nowhere")], "provider", "Choose the care provider"),
        (vec![("name", "Sam"), ("role", "provider_administrator"), ("provider", COUNCIL)], "provider", "Choose the care provider"),
        (vec![("name", "Sam"), ("role", "provider_administrator"), ("provider", "new")], "provider-name", "Enter the care provider&#x27;s name"),
        (
            vec![("name", "Sam"), ("role", "provider_administrator"), ("provider", "new"), ("provider_name", "brookside home care")],
            "provider-name",
            "Brookside Home Care is already listed",
        ),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let response = portal.post_form("/council/staff/invite", &form);
        let page = text(&response);
        assert_eq!(response.status(), 400, "{fields:?}");
        assert!(page.contains("govuk-error-summary") && page.contains(&format!("href=\"#{field}\"")) && page.contains(message), "{fields:?}: {page}");
        assert!(page.contains(&format!("id=\"{field}\"")), "the summary links to a field on the page: {field}");
    }
    // Every error at once.
    let response = portal.post_form("/council/staff/invite", &[("csrf", &csrf), ("name", ""), ("role", "")]);
    let page = text(&response);
    assert!(page.contains("href=\"#name\"") && page.contains("href=\"#role\""), "{page}");
    assert_eq!((count(&portal, "people"), count(&portal, "organisations"), count(&portal, "invitations")), (people, organisations, 1));
    assert!(log(&portal).is_empty(), "nothing logged");

    // A role that is not one is refused; the form is not a way to change anything else.
    council_invites(&portal, &[("name", "Cath Walker"), ("role", "caseworker")]);
    let cath = person_named(&portal, "Cath Walker");
    let csrf = portal.csrf_from("/council/staff");
    let refused = portal.post_form(&format!("/council/staff/{}/role", cath.id), &[("csrf", &csrf), ("role", "superuser")]);
    assert_eq!(refused.status(), 400);
    assert!(text(&refused).contains("Choose caseworker or administrator"));
    assert_eq!(block_on(portal.store().council_role(&cath.id)).unwrap(), Some(CouncilRole::Caseworker));

    // The provider's form.
    let (priya_browser, _) = brookside_administrator(&portal);
    let people = count(&portal, "people");
    let csrf = priya_browser.csrf_from("/provider/staff/invite");
    for (name, message) in [("", "Enter the person&#x27;s full name"), (long.as_str(), "in 80 characters or fewer")] {
        let response = priya_browser.post_form("/provider/staff/invite", &[("csrf", &csrf), ("name", name)]);
        let page = text(&response);
        assert_eq!(response.status(), 400);
        assert!(page.contains("href=\"#name\"") && page.contains(message), "{page}");
    }
    assert_eq!(count(&portal, "people"), people);
}

#[test]
fn inviting_needs_a_recent_passkey_check() {
    let portal = council_administrator();
    let (priya_browser, _) = brookside_administrator(&portal);
    portal.advance(Duration::minutes(6));
    let people = count(&portal, "people");
    for (browser, path, fields) in [
        (&portal, "/council/staff/invite", vec![("name", "Cath Walker"), ("role", "administrator")]),
        (&priya_browser, "/provider/staff/invite", vec![("name", "Jo Adeyemi")]),
    ] {
        let confirm = text(&browser.get(path));
        assert!(confirm.contains("Confirm it is you"), "{confirm}");
        let csrf = support::csrf_in(&confirm).unwrap();
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        assert_eq!(browser.post_form(path, &form).status(), 403, "{path}");
    }
    assert_eq!(count(&portal, "people"), people, "nothing written");
}

#[test]
fn a_providers_consent_evidence_shows_the_figures_the_councils_monitoring_shows_for_it() {
    let portal = council_administrator();
    let (priya_browser, _) = brookside_administrator(&portal);
    let store = portal.store();
    let now = portal.now.get();
    for (person, provider) in [("person-1", BROOKSIDE), ("person-2", BROOKSIDE), ("person-3", RIVERSIDE)] {
        portal.person_with_invitation(person, person);
        let grant = Grant {
            id: format!("grant-{person}"),
            version: 1,
            subject_id: person.into(),
            grantee: Grantee::Organisation(provider.into()),
            categories: BTreeSet::from([Category::CarePlan]),
            actions: BTreeSet::from([Action::View]),
            act_for: false,
            purpose: "care".into(),
            starts_at: now,
            ends_at: None,
            basis: Basis::Consent,
            evidence: None,
            recorded_by: person.into(),
            revoked_at: None,
        };
        block_on(store.insert_grant(&grant, now, None)).unwrap();
    }
    let report = block_on(monitoring::provider_report(&store, BROOKSIDE, now)).unwrap().unwrap();
    assert_eq!(report.people, 2, "Brookside's people only");
    let page = text(&priya_browser.get("/provider/consent-evidence"));
    assert!(page.contains("Brookside Home Care") && !page.contains("Riverside"), "{page}");
    let figures = |page: &str| {
        let start = page.find("<dl class=\"govuk-summary-list\">").unwrap();
        let end = start + page[start..].find("</dl>").unwrap();
        page[start..end].to_owned()
    };
    assert!(figures(&page).contains(&format!("{} of {} ({}%)", report.confirmed_discussions, report.people, report.confirmed_percent())));
    // The same rows, word for word, as the council's report for Brookside.
    let monitoring = text(&portal.get("/council/monitoring"));
    let brookside = &monitoring[monitoring.find("Brookside Home Care").unwrap()..];
    assert_eq!(figures(brookside), figures(&page));
    assert!(!page.contains("person-1"), "counts, not people");
}

#[test]
fn an_invitation_is_written_whole_or_not_at_all() {
    let portal = council_administrator();
    // Fail each statement in turn (incidental writes, such as touching the session, included):
    // whatever fails, every invited person has their invitation and log entry, and every new
    // provider its entry, or none of them exists.
    let mut outcomes = BTreeSet::new();
    for k in 1..=12 {
        let csrf = portal.csrf_from("/council/staff/invite");
        portal.fail_at.set(Some(k));
        let name = format!("Sam {k}");
        let provider = format!("Provider {k}");
        let fields = [("csrf", csrf.as_str()), ("name", &name), ("role", "provider_administrator"), ("provider", "new"), ("provider_name", &provider)];
        let status = portal.post_form("/council/staff/invite", &fields).status();
        portal.fail_at.set(None);
        let people = block_on(portal.db.query("SELECT id FROM people WHERE display_name = ?1", &[name.as_str().into()])).unwrap();
        let organisations = block_on(portal.db.query("SELECT id FROM organisations WHERE name = ?1", &[provider.as_str().into()])).unwrap();
        let written = !people.is_empty();
        outcomes.insert(written);
        assert_eq!(written, status == 200, "statement {k}: {status}");
        assert_eq!(organisations.len(), usize::from(written), "statement {k}");
        if let Some(person) = people.first() {
            let id = person.text(0).unwrap();
            let invitations = block_on(portal.db.query("SELECT 1 FROM invitations WHERE person_id = ?1", &[id.as_str().into()])).unwrap();
            assert_eq!(invitations.len(), 1, "statement {k}");
            assert_eq!(block_on(portal.store().provider_role(&id)).unwrap(), Some(ProviderRole::Administrator), "statement {k}");
            assert!(log(&portal).contains(&("person-daniel".into(), "staff.invited".into(), Some(id.clone()))), "statement {k}");
        }
    }
    assert_eq!(outcomes.len(), 2, "some attempts failed, some did not");
    let added = log(&portal).iter().filter(|(_, action, _)| action == "organisation.added").count();
    assert_eq!(added, block_on(portal.store().organisations(OrganisationKind::Provider)).unwrap().len() - 2, "one entry per new provider");
}
