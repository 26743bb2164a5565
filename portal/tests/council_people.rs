//! The council's people pages through the router: find, add (with duplicates), a person's page,
//! recording a representative and commissioning a provider — and everyone else kept out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Action, Basis, Category, Grantee};
use carefront_shared::db::Database;
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::person::{NewPerson, PersonInput};
use carefront_shared::plan::Recorder;
use carefront_shared::store::{PeopleStore, Store};
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, text};

const COUNCIL: &str = "org-council";
const BROOKSIDE: &str = "org-brookside";

fn portal() -> Portal {
    let portal = Portal::new();
    let store = portal.store();
    let now = portal.now.get();
    for (id, kind, name) in [
        (COUNCIL, OrganisationKind::Council, "Northshire County Council"),
        (BROOKSIDE, OrganisationKind::Provider, "Brookside Home Care"),
        ("org-elm", OrganisationKind::Provider, "Elm Care"),
    ] {
        block_on(store.insert_organisation(&Organisation { id: id.into(), kind, name: name.into(), created_at: now })).unwrap();
    }
    portal
}

/// Someone of `role` in `organisation`, enrolled in a browser of their own.
fn member(portal: &Portal, id: &str, role: Role, organisation: Option<&str>, seed: u64) -> Portal {
    let store = portal.store();
    let now = portal.now.get();
    let person = Person {
        id: id.into(),
        role,
        display_name: format!("{id} name"),
        organisation_id: organisation.map(str::to_owned),
        webauthn_handle: uuid::Uuid::from_u128(u128::from(seed) + 700),
        created_at: now,
    };
    block_on(store.insert_person(&person)).unwrap();
    let (invitation, code) = invitation::issue(id, None, now, DEFAULT_LIFETIME, &portal.random);
    block_on(store.insert_invitation(&invitation)).unwrap();
    let browser = portal.other_browser(seed);
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

fn caseworker(portal: &Portal) -> Portal {
    member(portal, "person-daniel", Role::CouncilStaff, Some(COUNCIL), 71)
}

/// Margaret, added the way the council's pages add people: with the council's statutory grant.
fn margaret(portal: &Portal) -> String {
    let input = PersonInput {
        display_name: "Margaret Okafor".into(),
        date_of_birth: "3/7/1941".into(),
        nhs_number: "943 476 5919".into(),
        address: "12 Mill Lane\nLeeds".into(),
        postcode: "LS1 4AP".into(),
        ..PersonInput::default()
    };
    let details = NewPerson::validate(&input, portal.now.get()).unwrap();
    let recorder = Recorder::new();
    let added =
        block_on(carefront_shared::onboarding::add_service_user(&recorder.store(), &details, COUNCIL, "person-daniel", portal.now.get(), &portal.random))
            .unwrap();
    block_on(portal.store().apply(&recorder.into_plan())).unwrap();
    added.person.id
}

fn rows(portal: &Portal, sql: &str) -> i64 {
    block_on(portal.db.query(sql, &[])).unwrap()[0].integer(0).unwrap()
}

fn add_form<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("display_name", "Ada Lovelace"),
        ("date_of_birth-day", "10"),
        ("date_of_birth-month", "12"),
        ("date_of_birth-year", "1935"),
        ("nhs_number", "401 023 2137"),
        ("address", "1 St James's Square\nLondon"),
        ("postcode", "sw1y 4jh"),
        ("phone", "020 7946 0000"),
        ("email", "ada@example.com"),
    ];
    for (key, value) in extra {
        fields.retain(|(name, _)| name != key);
        fields.push((key, value));
    }
    fields
}

#[test]
fn a_caseworker_finds_people_by_name_date_of_birth_or_nhs_number() {
    let portal = portal();
    let id = margaret(&portal);
    let council = caseworker(&portal);
    for query in ["okafor", "3%2F7%2F1941", "943+476+5919", "9434765919"] {
        let page = text(&council.get(&format!("/council/people?q={query}")));
        assert!(page.contains(&format!("href=\"/council/people/{id}\"")), "{query}: {page}");
        assert!(page.contains("3 July 1941") && page.contains("943 476 5919") && page.contains("Not enrolled yet"), "{page}");
    }
    let page = text(&council.get("/council/people?q=nobody"));
    assert!(page.contains("No one found with this name"), "{page}");
    assert!(text(&council.get("/home")).contains("href=\"/council/people\""));
}

#[test]
fn a_caseworker_adds_a_person_and_the_council_can_review_their_care() {
    let portal = portal();
    let council = caseworker(&portal);
    let csrf = council.csrf_from("/council/people/add");
    let response = council.post_form("/council/people/add", &add_form(&csrf, &[]));
    assert_eq!(response.status(), 303, "{}", text(&response));
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let id = location.trim_start_matches("/council/people/").trim_end_matches("?added=yes").to_owned();
    let details = block_on(portal.store().person_details(&id)).unwrap().unwrap();
    assert_eq!((details.display_name.as_str(), details.postcode.as_deref()), ("Ada Lovelace", Some("SW1Y 4JH")));
    let page = text(&council.get(&location));
    assert!(page.contains("Ada Lovelace has been added"), "{page}");
    assert!(page.contains("401 023 2137") && page.contains("St James&#x27;s Square") && page.contains("Not enrolled yet"), "{page}");
    assert!(page.contains(&format!("href=\"/council/people/{id}/invitations\"")));
    // The council's statutory access came with her, so her record opens for the caseworker.
    let grants = block_on(portal.store().grants_for_subject(&id)).unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!((grants[0].basis, grants[0].grantee.clone()), (Basis::StatutoryDuty, Grantee::Organisation(COUNCIL.into())));
    let actions: Vec<String> = block_on(portal.db.query(&format!("SELECT action FROM audit_events WHERE subject_id = '{id}' ORDER BY at, action"), &[]))
        .unwrap()
        .iter()
        .map(|row| row.text(0).unwrap())
        .collect();
    assert_eq!(actions, ["person.added", "person.details_viewed"]);
}

#[test]
fn bad_input_names_each_field_and_writes_nothing() {
    let portal = portal();
    let council = caseworker(&portal);
    let people = rows(&portal, "SELECT COUNT(*) FROM people");
    let csrf = council.csrf_from("/council/people/add");
    let response = council.post_form(
        "/council/people/add",
        &add_form(
            &csrf,
            &[
                ("display_name", " "),
                ("date_of_birth-day", "31"),
                ("date_of_birth-month", "2"),
                ("nhs_number", "401 023 2138"),
                ("postcode", "nowhere"),
                ("phone", "12"),
                ("email", "ada"),
            ],
        ),
    );
    assert_eq!(response.status(), 400);
    let page = text(&response);
    assert!(page.contains("<title>Error: Add a person"), "{page}");
    for (field, message) in [
        ("display_name", "Enter their full name"),
        ("date_of_birth-day", "Date of birth must be a real date"),
        ("nhs_number", "Enter a valid NHS number"),
        ("postcode", "Enter a real postcode"),
        ("phone", "Enter a UK telephone number"),
        ("email", "Enter an email address in the correct format"),
    ] {
        assert!(page.contains(&format!("<a href=\"#{field}\">{message}")), "{field}: {page}");
        assert!(page.contains(&format!("id=\"{field}\"")), "the summary links to a real field: {field}");
    }
    let future = council.post_form("/council/people/add", &add_form(&csrf, &[("date_of_birth-year", "2027")]));
    assert!(text(&future).contains("Date of birth must be in the past"));
    assert_eq!(rows(&portal, "SELECT COUNT(*) FROM people"), people, "nothing was written");
}

#[test]
fn an_nhs_number_already_held_is_refused_and_likely_duplicates_need_add_anyway() {
    let portal = portal();
    let id = margaret(&portal);
    let council = caseworker(&portal);
    let people = rows(&portal, "SELECT COUNT(*) FROM people");
    let csrf = council.csrf_from("/council/people/add");
    let refused = council.post_form("/council/people/add", &add_form(&csrf, &[("nhs_number", "9434765919")]));
    assert_eq!(refused.status(), 400);
    let page = text(&refused);
    assert!(page.contains("This NHS number is already held for Margaret Okafor"), "{page}");
    assert!(page.contains(&format!("href=\"/council/people/{id}\"")));
    let again = council.post_form("/council/people/add", &add_form(&csrf, &[("nhs_number", "9434765919"), ("add_anyway", "yes")]));
    assert_eq!(again.status(), 400, "an NHS number already held is never added anyway");

    // Same surname and date of birth, no NHS number: a warning listing her, and a choice.
    let twin = [("display_name", "Peter Okafor"), ("date_of_birth-day", "3"), ("date_of_birth-month", "7"), ("date_of_birth-year", "1941"), ("nhs_number", "")];
    let warned = council.post_form("/council/people/add", &add_form(&csrf, &twin));
    assert_eq!(warned.status(), 200);
    let page = text(&warned);
    assert!(page.contains("This may be someone the council already holds"), "{page}");
    assert!(page.contains(&format!("href=\"/council/people/{id}\">Margaret Okafor</a>")) && page.contains("same surname and date of birth"), "{page}");
    assert!(page.contains("name=\"add_anyway\""));
    assert_eq!(rows(&portal, "SELECT COUNT(*) FROM people"), people, "a warning writes nothing");
    let mut anyway = twin.to_vec();
    anyway.push(("add_anyway", "yes"));
    let added = council.post_form("/council/people/add", &add_form(&csrf, &anyway));
    assert_eq!(added.status(), 303, "{}", text(&added));
    assert_eq!(rows(&portal, "SELECT COUNT(*) FROM people"), people + 1);
}

#[test]
fn a_representative_is_recorded_with_their_basis_and_can_act_for_the_person() {
    let portal = portal();
    let id = margaret(&portal);
    let council = caseworker(&portal);
    let path = format!("/council/people/{id}/representatives/add");
    let csrf = council.csrf_from(&path);
    let grants_before = rows(&portal, "SELECT COUNT(*) FROM grants");
    // No basis, or a basis the council cannot record, or no evidence: refused, nothing written.
    for (basis, evidence, field) in
        [("", "LPA-1", "basis"), ("consent", "LPA-1", "basis"), ("statutory_duty", "x", "basis"), ("lasting_power_of_attorney", " ", "evidence")]
    {
        let response = council.post_form(&path, &[("csrf", &csrf), ("name", "Sam Okafor"), ("relationship", "son"), ("basis", basis), ("evidence", evidence)]);
        assert_eq!(response.status(), 400, "{basis}");
        assert!(text(&response).contains(&format!("<a href=\"#{field}\">")), "{basis}: {}", text(&response));
    }
    assert_eq!(rows(&portal, "SELECT COUNT(*) FROM grants"), grants_before);
    assert_eq!(rows(&portal, "SELECT COUNT(*) FROM people WHERE role = 'representative'"), 0);

    let response = council.post_form(
        &path,
        &[("csrf", &csrf), ("name", "Sam Okafor"), ("relationship", "son"), ("basis", "lasting_power_of_attorney"), ("evidence", "OPG 7000-1234-5678")],
    );
    assert_eq!(response.status(), 303, "{}", text(&response));
    let grants = block_on(portal.store().grants_for_subject(&id)).unwrap();
    let act_for = grants.iter().find(|grant| grant.act_for).unwrap();
    assert_eq!((act_for.basis, act_for.evidence.as_deref()), (Basis::LastingPowerOfAttorney, Some("OPG 7000-1234-5678")));
    assert!(act_for.actions.contains(&Action::Contribute) && act_for.categories.contains(&Category::CarePlan));
    assert_eq!(rows(&portal, &format!("SELECT COUNT(*) FROM consent_receipts WHERE subject_id = '{id}'")), 1);
    assert_eq!(rows(&portal, &format!("SELECT COUNT(*) FROM audit_events WHERE subject_id = '{id}' AND action = 'representative.recorded'")), 1);
    let page = text(&council.get(&format!("/council/people/{id}")));
    assert!(page.contains("Sam Okafor</strong>: lasting power of attorney for health and welfare (evidence: OPG 7000-1234-5678)"), "{page}");
}

#[test]
fn a_commissioned_provider_shows_to_the_person_in_plain_words() {
    let portal = portal();
    let id = margaret(&portal);
    let council = caseworker(&portal);
    let path = format!("/council/people/{id}/providers/add");
    let csrf = council.csrf_from(&path);
    let page = text(&council.get(&path));
    assert!(page.contains("Brookside Home Care") && page.contains("Elm Care") && !page.contains("Northshire"), "only providers are offered");
    let good = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, String)> {
        let mut fields: Vec<(&'static str, String)> = vec![
            ("csrf", csrf.clone()),
            ("provider_id", BROOKSIDE.into()),
            ("categories", "care_plan".into()),
            ("categories", "medication".into()),
            ("starts-day", "1".into()),
            ("starts-month", "12".into()),
            ("starts-year", "2026".into()),
            ("ends-day", "31".into()),
            ("ends-month", "3".into()),
            ("ends-year", "2027".into()),
            ("contract_reference", "NCC-2026-114".into()),
        ];
        for (key, value) in extra {
            fields.retain(|(name, _)| name != key);
            if !value.is_empty() {
                fields.push((key, (*value).into()));
            }
        }
        fields
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(key, value)| (*key, value.as_str())).collect();
        council.post_form(&path, &borrowed)
    };
    let grants_before = rows(&portal, "SELECT COUNT(*) FROM grants");
    for (extra, field) in [
        (vec![("provider_id", COUNCIL)], "provider_id"),
        (vec![("provider_id", "org-made-up")], "provider_id"),
        (vec![("categories", "")], "categories"),
        (vec![("starts-day", "")], "starts-day"),
        (vec![("ends-year", "2025")], "ends-day"),
        (vec![("contract_reference", "")], "contract_reference"),
    ] {
        let response = post(good(&extra));
        assert_eq!(response.status(), 400, "{extra:?}");
        assert!(text(&response).contains(&format!("<a href=\"#{field}\">")), "{extra:?}: {}", text(&response));
    }
    assert_eq!(rows(&portal, "SELECT COUNT(*) FROM grants"), grants_before, "nothing was written");

    let response = post(good(&[]));
    assert_eq!(response.status(), 303, "{}", text(&response));
    let grants = block_on(portal.store().grants_for_subject(&id)).unwrap();
    let provider = grants.iter().find(|grant| grant.grantee == Grantee::Organisation(BROOKSIDE.into())).unwrap();
    assert_eq!((provider.basis, provider.evidence.as_deref()), (Basis::StatutoryDuty, Some("Contract NCC-2026-114")));
    assert_eq!(rows(&portal, &format!("SELECT COUNT(*) FROM consent_receipts WHERE subject_id = '{id}'")), 1);
    let page = text(&council.get(&format!("/council/people/{id}")));
    assert!(
        page.contains("Brookside Home Care</strong>, commissioned by the council: Care plan, Medicines. From 1 December 2026 until 31 March 2027"),
        "{page}"
    );

    // Margaret enrols and sees it on "Who can see my information", in plain words.
    let (invitation, code) = invitation::issue(&id, None, portal.now.get(), DEFAULT_LIFETIME, &portal.random);
    block_on(portal.store().insert_invitation(&invitation)).unwrap();
    let herself = portal.other_browser(90);
    assert_eq!(herself.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    let access = text(&herself.get("/access"));
    assert!(
        access.contains("Brookside Home Care can see and comment on these parts of your record")
            && access.contains("<li>Your care plan</li>")
            && access.contains("<li>Your medicines</li>"),
        "{access}"
    );
    assert!(access.contains("the council arranged your care with them (Contract NCC-2026-114), under its duty in the Care Act 2014"), "{access}");
}

#[test]
fn nobody_but_council_staff_reaches_the_people_pages() {
    let portal = portal();
    let id = margaret(&portal);
    let (_, _) = portal.person_with_invitation("person-1", "Person One");
    let provider = member(&portal, "person-priya", Role::ProviderStaff, Some(BROOKSIDE), 72);
    let family =
        support::representative(&portal, "person-sam", "Sam", Holding { categories: &[Category::CarePlan], actions: &[Action::View], act_for: true }, 73);
    let impostor = member(&portal, "person-fake", Role::CouncilStaff, Some(BROOKSIDE), 74);
    let anonymous = portal.other_browser(75);
    let pages = [
        "/council/people".to_owned(),
        "/council/people?q=okafor".to_owned(),
        "/council/people/add".to_owned(),
        format!("/council/people/{id}"),
        format!("/council/people/{id}/representatives/add"),
        format!("/council/people/{id}/providers/add"),
    ];
    for visitor in [&provider, &family, &impostor] {
        for page in &pages {
            assert_eq!(visitor.get(page).status(), 404, "{page}");
        }
        let csrf = visitor.csrf_from("/home");
        for page in ["/council/people/add".to_owned(), format!("/council/people/{id}/representatives/add"), format!("/council/people/{id}/providers/add")] {
            let response = visitor.post_form(&page, &[("csrf", &csrf), ("name", "x"), ("basis", "lasting_power_of_attorney"), ("evidence", "x")]);
            assert_eq!(response.status(), 404, "{page}");
        }
    }
    assert_eq!(anonymous.get("/council/people").status(), 303, "sent to sign in");
    // The council's pages about a person rest on its statutory grant: a person without one (or
    // a representative, or no one) is not found, even for a caseworker.
    let council = caseworker(&portal);
    for page in ["/council/people/person-1", "/council/people/person-sam", "/council/people/nobody", "/council/people/person-1/providers/add"] {
        assert_eq!(council.get(page).status(), 404, "{page}");
    }
    assert_eq!(rows(&portal, "SELECT COUNT(*) FROM grants WHERE basis <> 'consent' AND grantee_kind = 'organisation' AND grantee_id <> 'org-council'"), 0);
}

/// The page's `<main>` element, with the per-visit CSRF token masked.
fn main_of(html: &str) -> String {
    let start = html.find("<main").expect("a <main> element");
    let end = html.find("</main>").expect("a closing </main>") + "</main>".len();
    let main = &html[start..end];
    match main.find("name=\"csrf\" value=\"") {
        Some(at) => {
            let value_start = at + "name=\"csrf\" value=\"".len();
            let value_end = value_start + main[value_start..].find('"').unwrap();
            format!("{}[csrf]{}", &main[..value_start], &main[value_end..])
        }
        None => main.to_owned(),
    }
}

#[test]
fn the_people_pages_as_council_staff_see_them() {
    let portal = portal();
    let id = margaret(&portal);
    let council = caseworker(&portal);
    let csrf = council.csrf_from(&format!("/council/people/{id}/providers/add"));
    let commissioned = council.post_form(
        &format!("/council/people/{id}/providers/add"),
        &[
            ("csrf", &csrf),
            ("provider_id", BROOKSIDE),
            ("categories", "care_plan"),
            ("starts-day", "1"),
            ("starts-month", "12"),
            ("starts-year", "2026"),
            ("contract_reference", "NCC-2026-114"),
        ],
    );
    assert_eq!(commissioned.status(), 303);
    let masked = |html: String| main_of(&html).replace(&id, "[id]");
    insta::assert_snapshot!("find", masked(text(&council.get("/council/people?q=okafor"))));
    insta::assert_snapshot!("person", masked(text(&council.get(&format!("/council/people/{id}")))));
    let errors = council.post_form("/council/people/add", &[("csrf", &csrf), ("display_name", ""), ("nhs_number", "123")]);
    insta::assert_snapshot!("add_with_errors", masked(text(&errors)));
    let twin = council.post_form(
        "/council/people/add",
        &[("csrf", &csrf), ("display_name", "Margaret Okafor"), ("date_of_birth-day", "3"), ("date_of_birth-month", "7"), ("date_of_birth-year", "1941")],
    );
    insta::assert_snapshot!("add_with_duplicates", masked(text(&twin)));
    insta::assert_snapshot!("representative", masked(text(&council.get(&format!("/council/people/{id}/representatives/add")))));
    insta::assert_snapshot!("provider", masked(text(&council.get(&format!("/council/people/{id}/providers/add")))));
}

#[test]
fn the_person_reads_what_the_council_did_in_their_log() {
    let portal = portal();
    let id = margaret(&portal);
    let council = caseworker(&portal);
    let csrf = council.csrf_from(&format!("/council/people/{id}"));
    let path = format!("/council/people/{id}/representatives/add");
    let fields = [("csrf", csrf.as_str()), ("name", "Sam Okafor"), ("relationship", "son"), ("basis", "court_appointed_deputy"), ("evidence", "COP 1234567")];
    assert_eq!(council.post_form(&path, &fields).status(), 303);
    let (invitation, code) = invitation::issue(&id, None, portal.now.get(), DEFAULT_LIFETIME, &portal.random);
    block_on(portal.store().insert_invitation(&invitation)).unwrap();
    let herself = portal.other_browser(91);
    assert_eq!(herself.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    let log = text(&herself.get("/access-log"));
    for line in [
        "added you to carefront, with your date of birth, NHS number and contact details",
        "looked at your details and who supports you, for the council",
        "recorded Sam Okafor (son) as acting for you, as court-appointed deputy (evidence: COP 1234567)",
    ] {
        assert!(log.contains(line), "{line}: {log}");
    }
    let access = text(&herself.get("/access"));
    assert!(access.contains("This is because a court appointed them as your deputy"), "{access}");
}

#[test]
fn giving_someone_act_for_needs_a_fresh_passkey_check() {
    let portal = portal();
    let id = margaret(&portal);
    let council = caseworker(&portal);
    let csrf = council.csrf_from(&format!("/council/people/{id}"));
    portal.advance(chrono::Duration::minutes(10));
    let path = format!("/council/people/{id}/representatives/add");
    let fields = [("csrf", csrf.as_str()), ("name", "Sam Okafor"), ("relationship", "son"), ("basis", "lasting_power_of_attorney"), ("evidence", "LPA-1")];
    let response = council.post_form(&path, &fields);
    assert_eq!(response.status(), 403, "{}", text(&response));
    assert_eq!(rows(&portal, "SELECT COUNT(*) FROM grants WHERE act_for = 1"), 0);
}
