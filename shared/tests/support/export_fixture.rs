//! A care record with every section and every state the export maps: current, stopped and
//! as-needed medicines; given, refused and not-given doses; completed and missed visits; live,
//! revoked and expired grants on consent, a lasting power of attorney and a statutory duty; a
//! consent receipt and an access-log entry; format needs current and ended, a correction
//! request, a consent discussion and a use of the emergency code. More visits than one page of the store. Used by
//! `shared/tests/export.rs` and by `examples/export_fixture.rs` (whose bundle the FHIR
//! validation in `e2e/unit/fhir-export.test.mjs` checks).

use carefront_shared::store::SqlStore;
use carefront_shared::store::prelude::*;
use std::collections::BTreeSet;

use carefront_shared::comments::{Comment, CommentKind, CommentStatus};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::crypto::SigningKey;
use carefront_shared::discussion::{self, Discussion, Method, Participant, Topic};
use carefront_shared::domain::{AuditEvent, CarePlan, Organisation, OrganisationKind, Person, Role};
use carefront_shared::emergency::{Clinician, EmergencyAccess, EmergencyCodeRecord};
use carefront_shared::needs::{Need, RecordedNeed};
use carefront_shared::receipt::{self, Controller, PiiController, ReceiptKey, ReceiptKeys};
use carefront_shared::record::{
    Administration, Allergy, CareVisit, Contact, ContactKind, Document, DocumentKind, EmergencySummary, GuideSection, Medicine, Outcome, ServiceUserGuide,
    VisitStatus,
};
use carefront_shared::store::{Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

/// The person the fixture is about.
pub const PERSON: &str = "person-1";

/// How many visits the fixture has (more than the store's largest page of 200).
pub const VISITS: i64 = 205;

fn problem(what: &str) -> StoreError {
    StoreError::Decode(format!("fixture: {what}"))
}

/// A moment in the fixture's time.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
}

/// A day in the fixture's time.
pub fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

/// When the fixture's record is exported.
pub fn now() -> DateTime<Utc> {
    at("2026-11-21T09:00:00Z")
}

/// A twice-daily medicine for the fixture's person.
pub fn medicine(id: &str, started: &str, stopped: Option<&str>) -> Medicine {
    let hour = |hour| NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default();
    Medicine {
        id: id.into(),
        person_id: PERSON.into(),
        name: format!("{id} 500 mg tablets"),
        dose: "2 tablets".into(),
        route: "By mouth".into(),
        times: vec![hour(8), hour(19)],
        as_needed: false,
        instructions: "With food.".into(),
        prescriber: "Dr Patel".into(),
        started_on: day(started),
        stopped_on: stopped.map(day),
    }
}

fn grant(id: &str, grantee: Grantee, basis: Basis) -> Grant {
    Grant {
        id: id.into(),
        version: 1,
        subject_id: PERSON.into(),
        grantee,
        categories: BTreeSet::from([Category::CarePlan, Category::Medication]),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "to help with my tablets".into(),
        starts_at: at("2026-10-01T00:00:00Z"),
        ends_at: Some(at("2027-04-01T00:00:00Z")),
        basis,
        evidence: (basis != Basis::Consent).then(|| "Care Act 2014, section 27".into()),
        recorded_by: PERSON.into(),
        revoked_at: None,
    }
}

fn person(id: &str, role: Role, name: &str, organisation: Option<&str>, handle: u128) -> Person {
    Person {
        id: id.into(),
        role,
        display_name: name.into(),
        organisation_id: organisation.map(Into::into),
        webauthn_handle: uuid::Uuid::from_u128(handle),
        created_at: now(),
    }
}

/// Writes the fixture's record into an empty store.
pub async fn seed(store: &SqlStore<'_>) -> Result<(), StoreError> {
    let now = now();
    for (id, kind, name) in [("org-council", OrganisationKind::Council, "Northshire Council"), ("org-care", OrganisationKind::Provider, "Brookside")] {
        store.insert_organisation(&Organisation { id: id.into(), kind, name: name.into(), created_at: now }).await?;
    }
    store.insert_person(&person(PERSON, Role::ServiceUser, "Margaret Okafor", None, 1)).await?;
    store.insert_person(&person("person-sam", Role::Representative, "Sam <Okafor>", None, 2)).await?;
    store.insert_person(&person("person-ada", Role::Representative, "Ada Okafor", None, 3)).await?;
    store.insert_person(&person("person-dan", Role::CouncilStaff, "Daniel Hughes", Some("org-council"), 4)).await?;
    store
        .upsert_care_plan(&CarePlan {
            id: "plan-1".into(),
            person_id: PERSON.into(),
            summary: "Help at home".into(),
            outcomes: vec!["Walk to the shop".into(), "Cook lunch".into()],
            needs: vec!["Washing".into()],
            support: vec!["Help to wash".into()],
            visit_schedule: vec!["Every day at 8am".into()],
            risks: vec!["Falls".into()],
            review_due: day("2027-03-15"),
            written_by: "Priya Shah".into(),
            updated_at: now,
        })
        .await?;
    store
        .upsert_guide(&ServiceUserGuide {
            person_id: PERSON.into(),
            organisation_id: "org-care".into(),
            title: "Your guide".into(),
            sections: vec![GuideSection { heading: "If we are late".into(), body: "Ring us.".into() }],
            updated_at: now,
        })
        .await?;
    store.upsert_medicine(&medicine("current", "2026-09-01", None)).await?;
    store.upsert_medicine(&medicine("stopped", "2026-09-01", Some("2026-10-01"))).await?;
    store.upsert_medicine(&Medicine { dose: "a small amount".into(), as_needed: true, times: vec![], ..medicine("cream", "2026-09-01", None) }).await?;
    store
        .insert_allergy(&Allergy {
            id: "allergy-1".into(),
            person_id: PERSON.into(),
            substance: "Penicillin".into(),
            reaction: "Rash".into(),
            recorded_at: now,
        })
        .await?;
    for (id, outcome, reason) in
        [("a-given", Outcome::Given, None), ("a-refused", Outcome::Refused, Some("Felt sick")), ("a-not", Outcome::NotGiven, Some("Asleep"))]
    {
        store
            .insert_administration(&Administration {
                id: id.into(),
                person_id: PERSON.into(),
                medicine_id: "current".into(),
                due_at: at("2026-11-20T08:00:00Z"),
                outcome,
                reason: reason.map(Into::into),
                recorded_by: "Jo Adeyemi".into(),
                recorded_at: at("2026-11-20T08:10:00Z"),
            })
            .await?;
    }
    for index in 0..VISITS {
        let starts_at = now - Duration::hours(index * 12 + 1);
        store
            .upsert_visit(&CareVisit {
                id: format!("visit-{index:03}"),
                person_id: PERSON.into(),
                organisation_id: "org-care".into(),
                starts_at,
                ends_at: starts_at + Duration::minutes(45),
                status: if index == 3 { VisitStatus::Missed } else { VisitStatus::Completed },
                carers: "Jo Adeyemi".into(),
                note: if index == 3 { String::new() } else { format!("Note {index}") },
                recorded_at: starts_at + Duration::minutes(45),
            })
            .await?;
    }
    store
        .upsert_contact(&Contact {
            id: "contact-1".into(),
            person_id: PERSON.into(),
            kind: ContactKind::OutOfHours,
            name: "On-call manager".into(),
            role: "Out of hours".into(),
            phone: "01632 960 199".into(),
            email: String::new(),
            available: "6pm to 8am".into(),
            position: 1,
        })
        .await?;
    let body = b"abc";
    let document =
        Document::check("doc-1".into(), PERSON.into(), "Discharge summary", DocumentKind::DischargeSummary, "text/plain", body, "Brookside".into(), now)
            .map_err(|error| problem(&error.to_string()))?;
    store.insert_document(&document, body).await?;
    store
        .upsert_emergency_summary(&EmergencySummary {
            person_id: PERSON.into(),
            summary: "Lives alone.".into(),
            conditions: vec!["Atrial fibrillation".into()],
            communication: "Hard of hearing".into(),
            next_of_kin: "Sam".into(),
            updated_by: "Priya Shah".into(),
            updated_at: now,
        })
        .await?;
    let sam = grant("grant-sam", Grantee::Person("person-sam".into()), Basis::Consent);
    let ada = Grant {
        act_for: true,
        ends_at: None,
        actions: BTreeSet::from([Action::View, Action::Contribute]),
        evidence: Some("LPA registration LP-1234".into()),
        recorded_by: "person-dan".into(),
        ..grant("grant-ada", Grantee::Person("person-ada".into()), Basis::LastingPowerOfAttorney)
    };
    let council =
        Grant { ends_at: None, recorded_by: "person-dan".into(), ..grant("grant-council", Grantee::Organisation("org-council".into()), Basis::StatutoryDuty) };
    let ended = Grant {
        starts_at: at("2026-01-01T00:00:00Z"),
        ends_at: Some(at("2026-02-01T00:00:00Z")),
        ..grant("grant-ended", Grantee::Organisation("org-care".into()), Basis::Consent)
    };
    for grant in [&sam, &ada, &council, &ended] {
        store.insert_grant(grant, now, None).await?;
    }
    let controller = Controller {
        details: PiiController {
            pii_controller: "Northshire Council".into(),
            contact: "Data protection officer".into(),
            address: "County Hall".into(),
            email: "dpo@example.gov.uk".into(),
            phone: "0300".into(),
        },
        policy_url: "https://example.gov.uk/privacy".into(),
    };
    let key = ReceiptKeys::new(
        ReceiptKey::new("fixture", SigningKey::new(&[3; 32]).map_err(|_| problem("signing key"))?).map_err(|_| problem("receipt key"))?,
        vec![],
    )
    .map_err(|_| problem("receipt keys"))?;
    store.insert_receipt(PERSON, &receipt::issue(&key, &controller, &sam, "Sam", "granted", "receipt-1".into(), now), now).await?;
    store.update_grant(&Grant { revoked_at: Some(at("2026-11-01T00:00:00Z")), ..sam }, now, None).await?;
    let need = |id: &str, need, detail: &str| RecordedNeed {
        id: id.into(),
        person_id: PERSON.into(),
        need,
        detail: detail.into(),
        recorded_by: PERSON.into(),
        recorded_by_name: "Margaret Okafor".into(),
        acting_for: None,
        consent_discussion_id: None,
        recorded_at: at("2026-10-01T10:00:00Z"),
        ended_at: None,
    };
    let first = [need("need-24", Need::LargePrint24, ""), need("need-letter", Need::ContactByLetter, "")];
    store.change_needs(PERSON, &[], &first, PERSON, at("2026-10-01T10:00:00Z")).await?;
    let later = [need("need-other", Need::Other, "Please ring before visiting")];
    store.change_needs(PERSON, &["need-letter".to_owned()], &later, PERSON, at("2026-11-01T10:00:00Z")).await?;
    store
        .insert_comment(&Comment {
            id: "comment-1".into(),
            person_id: PERSON.into(),
            category: Category::Medication,
            entry_id: Some("current".into()),
            entry_label: "current 500 mg tablets".into(),
            kind: CommentKind::Correction,
            body: "I take these with breakfast, not at 8".into(),
            author_id: PERSON.into(),
            author_name: "Margaret Okafor".into(),
            acting_for: None,
            created_at: now,
            status: CommentStatus::Open,
            response: None,
            responded_by: None,
            responded_at: None,
            version: 1,
        })
        .await?;
    store
        .insert_discussion(
            &Discussion {
                id: "discussion-1".into(),
                person_id: PERSON.into(),
                organisation_id: "org-care".into(),
                held_on: day("2026-11-20"),
                method: Method::HomeVisit,
                participants: vec![
                    Participant { role: discussion::Role::Person, name: "Margaret Okafor".into() },
                    Participant { role: discussion::Role::Staff, name: "Priya Shah".into() },
                ],
                covered: vec![Topic::ElectronicRecords, Topic::WhoCanSee],
                decisions: "Records in carefront; Sam sees medicines.".into(),
                persons_words: "I want Sam to help with my tablets.".into(),
                recorded_by: "Priya Shah".into(),
                recorded_at: now,
                status: discussion::Status::Awaiting,
                response: None,
                responded_by: None,
                acting_for: None,
                responded_at: None,
                version: 1,
            },
            None,
        )
        .await?;
    store
        .replace_emergency_code(&EmergencyCodeRecord {
            id: "code-1".into(),
            person_id: PERSON.into(),
            selector: "ABCD".into(),
            verifier_hash: "not-a-real-hash".into(),
            issued_by: PERSON.into(),
            basis: "own_record".into(),
            issued_at: at("2026-11-01T00:00:00Z"),
            ended_at: None,
            ended_by: None,
            end_reason: None,
            failed_attempts: 0,
        })
        .await?;
    store
        .insert_emergency_access(&EmergencyAccess {
            id: "emergency-1".into(),
            token_hash: "secret-token-hash".into(),
            code_id: "code-1".into(),
            person_id: PERSON.into(),
            clinician: Clinician { name: "Alex Smith".into(), role: "Paramedic".into(), organisation: "North West Ambulance Service".into() },
            started_at: at("2026-11-10T03:00:00Z"),
            expires_at: at("2026-11-10T07:00:00Z"),
            ended_at: Some(at("2026-11-10T03:40:00Z")),
        })
        .await?;
    store
        .append_audit(&AuditEvent {
            id: "audit-1".into(),
            at: now,
            actor_id: Some("person-dan".into()),
            acting_for: None,
            subject_id: Some(PERSON.into()),
            action: carefront_shared::access::AuditAction::Viewed(Category::CarePlan),
            category: Some(Category::CarePlan),
            basis: Some((&carefront_shared::access::Ground::Grant { grant_id: "grant-council".into(), basis: Basis::StatutoryDuty }).into()),
            detail: "looked at the care plan".into(),
        })
        .await?;
    Ok(())
}

/// Leave to read every category of the fixture person's record, as the person.
pub fn everything() -> carefront_shared::access::Permit {
    permit::own_record(PERSON, now())
}

#[path = "permit.rs"]
mod permit;
