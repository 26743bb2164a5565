//! "Download everything" through the router: the person downloads their whole record as
//! carefront's JSON and as a FHIR R4 bundle (attachments, the right types), a representative
//! who may act for them can too, nobody else can (404), and every download is in the person's
//! access log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Action, Category, Grant};
use carefront_shared::export::{FORMAT, RecordExport};
use carefront_shared::record::{Allergy, Document, DocumentKind};
use carefront_shared::store::{GrantUpdate, RecordStore, Store};
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, text};

const FILES: [&str; 2] = ["/people/person-1/download/record.json", "/people/person-1/download/record.fhir.json"];

/// Margaret (person-1), enrolled and signed in, with a care plan, an allergy and a document.
fn margaret() -> Portal {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    let mut passkey = ResidentSoftPasskey::new();
    assert_eq!(portal.enrol(&code, &mut passkey).status(), 200);
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_allergy(&Allergy {
        id: "allergy-1".into(),
        person_id: "person-1".into(),
        substance: "Penicillin".into(),
        reaction: "Rash".into(),
        recorded_at: now,
    }))
    .unwrap();
    let body = b"Home on 3 November with a frame.\n";
    let document =
        Document::check("doc-1".into(), "person-1".into(), "Discharge summary", DocumentKind::DischargeSummary, "text/plain", body, "Brookside".into(), now)
            .unwrap();
    block_on(store.insert_document(&document, body)).unwrap();
    portal
}

/// A representative who may see all of Margaret's record (act-for power or not), enrolled in
/// their own browser.
fn representative(portal: &Portal, id: &str, act_for: bool, seed: u64) -> Portal {
    let holding = Holding { categories: &Category::ALL, actions: &[Action::View], act_for };
    support::representative(portal, id, &format!("Representative {id}"), holding, seed)
}

fn downloads(portal: &Portal) -> Vec<carefront_shared::domain::AuditEvent> {
    block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 500))
        .unwrap()
        .into_iter()
        .filter(|event| event.action == "record.downloaded")
        .collect()
}

#[test]
fn the_person_downloads_everything_as_json_and_as_fhir_and_sees_it_in_the_access_log() {
    let portal = margaret();
    let home = text(&portal.get("/home"));
    assert!(home.contains("href=\"/people/person-1/download\""), "home links to the download: {home}");
    let page = portal.get("/people/person-1/download");
    assert_eq!(page.status(), 200);
    let page = text(&page);
    for file in FILES {
        assert!(page.contains(&format!("href=\"{file}\"")), "{file} on {page}");
    }
    assert!(page.contains("It is free."));
    assert!(downloads(&portal).is_empty(), "reading the page downloads nothing");

    let response = portal.get(FILES[0]);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"carefront-record-person-1-2026-11-21.json\"");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let record: RecordExport = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(record.format, FORMAT);
    assert_eq!(record.person.display_name, "Margaret Okafor");
    assert_eq!(record.allergies[0].substance, "Penicillin");
    assert_eq!(record.documents[0].content_base64, "SG9tZSBvbiAzIE5vdmVtYmVyIHdpdGggYSBmcmFtZS4K");
    assert!(record.care_plan.is_some());

    let response = portal.get(FILES[1]);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/fhir+json");
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"carefront-record-person-1-2026-11-21.fhir.json\"");
    let bundle: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("collection")));
    let patient = &bundle["entry"][0]["resource"];
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["identifier"][0]["system"], "http://localhost:8787/fhir/identifier/patient", "identifiers are the deployment's");

    let logged = downloads(&portal);
    assert_eq!(logged.len(), 2, "one entry per download");
    for event in &logged {
        assert_eq!(event.actor_id.as_deref(), Some("person-1"));
        assert_eq!((event.acting_for.as_deref(), event.category.map(|category| category.as_str()), event.basis.as_deref()), (None, None, Some("own_record")));
        assert!(event.detail.contains("care plan") && event.detail.contains("documents"), "{}", event.detail);
    }
    let access_log = text(&portal.get("/access-log?mine=yes"));
    assert!(access_log.contains("downloaded a copy of the whole record as a JSON file"), "{access_log}");
    assert!(access_log.contains("downloaded a copy of the whole record as a FHIR R4 file"), "{access_log}");
}

#[test]
fn a_representative_who_acts_for_the_person_may_download_and_it_is_logged_as_acting_for_them() {
    let portal = margaret();
    let attorney = representative(&portal, "person-ada", true, 21);
    assert!(text(&attorney.get("/people/person-1")).contains("href=\"/people/person-1/download\""), "linked from the person's page");
    let page = attorney.get("/people/person-1/download");
    assert_eq!(page.status(), 200);
    assert!(text(&page).contains("Download everything we hold about Margaret Okafor"));
    for file in FILES {
        assert_eq!(attorney.get(file).status(), 200, "{file}");
    }
    let logged = downloads(&portal);
    assert_eq!(logged.len(), 2);
    assert!(logged.iter().all(|event| event.actor_id.as_deref() == Some("person-ada") && event.acting_for.as_deref() == Some("person-1")));
    assert!(logged.iter().all(|event| event.basis.as_deref() == Some("act_for grant:grant-person-ada (lasting_power_of_attorney)")));
    assert!(text(&portal.get("/access-log")).contains("acting for you"), "Margaret sees who downloaded it for her");

    // Once the power is revoked the download is gone at once.
    let store = portal.store();
    let grant = block_on(store.grants_for_subject("person-1")).unwrap().into_iter().find(|grant| grant.id == "grant-person-ada").unwrap();
    let revoked = Grant { revoked_at: Some(portal.now.get()), ..grant };
    assert!(matches!(block_on(store.update_grant(&revoked, portal.now.get(), None)).unwrap(), GrantUpdate::Updated(2)));
    for path in ["/people/person-1/download", FILES[0], FILES[1]] {
        assert_eq!(attorney.get(path).status(), 404, "{path} after revocation");
    }
}

#[test]
fn nobody_else_may_download_not_even_a_representative_who_sees_everything() {
    let portal = margaret();
    let viewer = representative(&portal, "person-sam", false, 22);
    let (_, code) = portal.person_with_invitation("person-2", "Arthur Jenkins");
    let arthur = portal.other_browser(23);
    assert_eq!(arthur.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    for browser in [&viewer, &arthur] {
        for path in ["/people/person-1/download", FILES[0], FILES[1]] {
            let response = browser.get(path);
            assert_eq!(response.status(), 404, "{path}");
            assert!(!text(&response).contains("Margaret"), "a 404 names nobody");
        }
    }
    assert_eq!(arthur.get("/people/person-404/download/record.json").status(), 404, "nobody's record");
    assert!(downloads(&portal).is_empty(), "refusals download nothing");
    assert!(!text(&viewer.get("/people/person-1")).contains("/download"), "no link for someone who may not");

    let stranger = portal.other_browser(24);
    let response = stranger.get(FILES[0]);
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/sign-in");
}

#[test]
fn only_the_two_files_exist_and_only_for_reading() {
    let portal = margaret();
    assert_eq!(portal.get("/people/person-1/download/record.xml").status(), 404);
    let csrf = portal.csrf_from("/home");
    let response = portal.post_form(FILES[0], &[("csrf", &csrf)]);
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_eq!(portal.post_form("/people/person-1/download", &[("csrf", &csrf)]).status(), 405);
    let head = portal.send(http::Request::head(FILES[1]), Vec::new());
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/fhir+json");
    assert!(head.body().is_empty());
    assert!(downloads(&portal).is_empty(), "a HEAD request reads and logs nothing");
}
