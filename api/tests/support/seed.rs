//! A care record for the API tests: a care plan, guide, medicines (one stopped) and an allergy,
//! administrations, visits, contacts, documents, format needs and comments, dated from the
//! harness's start time.

use carefront_shared::comments::{Comment, CommentKind, CommentStatus};
use carefront_shared::consent::Category;
use carefront_shared::discussion::{Discussion, Method, Participant, Role, Status, Topic};
use carefront_shared::domain::CarePlan;
use carefront_shared::needs::{Need, RecordedNeed};
use carefront_shared::record::{
    Administration, Allergy, CareVisit, Contact, ContactKind, Document, DocumentKind, GuideSection, Medicine, Outcome, ServiceUserGuide, VisitStatus,
};
use carefront_shared::store::{DiscussionStore, RecordStore, Store, VoiceStore};
use chrono::{Duration, NaiveDate, NaiveTime};
use pollster::block_on;

use super::{Api, PROVIDER, start_time};

/// The id of the person's current medicine.
pub fn paracetamol(person: &str) -> String {
    format!("med-{person}-paracetamol")
}

/// The id of the person's stopped medicine.
pub fn stopped_medicine(person: &str) -> String {
    format!("med-{person}-old")
}

impl Api {
    /// A whole care record for `person`, with `visits` visits (an hour apart, from a day ago).
    pub fn seed_record(&self, person: &str, visits: usize) {
        let store = self.store();
        let now = start_time();
        block_on(store.upsert_care_plan(&CarePlan {
            id: format!("plan-{person}"),
            person_id: person.into(),
            summary: "Support each morning.".into(),
            outcomes: vec!["Walk to the shop".into()],
            needs: vec!["Help to dress".into()],
            support: vec!["Morning visit".into()],
            visit_schedule: vec!["Every day, 8am".into()],
            risks: vec!["Falls".into()],
            review_due: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
            written_by: "Priya Shah".into(),
            updated_at: now,
        }))
        .unwrap();
        block_on(store.upsert_guide(&ServiceUserGuide {
            person_id: person.into(),
            organisation_id: PROVIDER.into(),
            title: "Your guide".into(),
            sections: vec![GuideSection { heading: "Who we are".into(), body: "Brookside.".into() }],
            updated_at: now,
        }))
        .unwrap();
        let medicine = |id: String, name: &str, stopped_on: Option<NaiveDate>| Medicine {
            id,
            person_id: person.into(),
            name: name.into(),
            dose: "2 tablets".into(),
            route: "By mouth".into(),
            times: vec![NaiveTime::from_hms_opt(8, 0, 0).unwrap(), NaiveTime::from_hms_opt(20, 0, 0).unwrap()],
            as_needed: false,
            instructions: String::new(),
            prescriber: "Dr Patel".into(),
            started_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            stopped_on,
        };
        block_on(store.upsert_medicine(&medicine(paracetamol(person), "Paracetamol 500 mg", None))).unwrap();
        block_on(store.upsert_medicine(&medicine(stopped_medicine(person), "Old medicine", NaiveDate::from_ymd_opt(2026, 6, 1)))).unwrap();
        block_on(store.insert_allergy(&Allergy {
            id: format!("allergy-{person}"),
            person_id: person.into(),
            substance: "Penicillin".into(),
            reaction: "Rash".into(),
            recorded_at: now,
        }))
        .unwrap();
        for day in 1..=3 {
            let due_at = (now - Duration::days(day)).date_naive().and_time(NaiveTime::from_hms_opt(8, 0, 0).unwrap()).and_utc();
            block_on(store.insert_administration(&Administration {
                id: format!("adm-{person}-{day}"),
                person_id: person.into(),
                medicine_id: paracetamol(person),
                due_at,
                outcome: Outcome::Given,
                reason: None,
                recorded_by: "Jo".into(),
                recorded_at: due_at + Duration::minutes(5),
            }))
            .unwrap();
        }
        for index in 0..visits {
            let starts_at = now - Duration::days(1) + Duration::hours(index as i64);
            block_on(store.upsert_visit(&CareVisit {
                id: format!("visit-{person}-{index:02}"),
                person_id: person.into(),
                organisation_id: PROVIDER.into(),
                starts_at,
                ends_at: starts_at + Duration::minutes(45),
                status: VisitStatus::Completed,
                carers: "Jo".into(),
                note: format!("Visit {index}"),
                recorded_at: starts_at + Duration::hours(1),
            }))
            .unwrap();
        }
        for (position, kind, name) in [(0, ContactKind::CareTeam, "Jo"), (1, ContactKind::Gp, "Dr Patel"), (2, ContactKind::Family, "Sam")] {
            block_on(store.upsert_contact(&Contact {
                id: format!("contact-{person}-{position}"),
                person_id: person.into(),
                kind,
                name: name.into(),
                role: String::new(),
                phone: "01234 567890".into(),
                email: String::new(),
                available: String::new(),
                position,
            }))
            .unwrap();
        }
        for (index, title) in ["Discharge summary", "Review letter"].iter().enumerate() {
            let body = format!("{title} for {person}.\n");
            let document = Document::check(
                format!("doc-{person}-{index}"),
                person.into(),
                title,
                DocumentKind::Letter,
                "text/plain",
                body.as_bytes(),
                "Priya Shah".into(),
                now - Duration::days(index as i64),
            )
            .unwrap();
            block_on(store.insert_document(&document, body.as_bytes())).unwrap();
        }
    }

    /// Records `needs` for `person`, `minutes` after the start time.
    pub fn seed_needs(&self, person: &str, needs: &[Need], minutes: i64) -> Vec<RecordedNeed> {
        let recorded: Vec<RecordedNeed> = needs
            .iter()
            .map(|need| RecordedNeed {
                id: format!("need-{person}-{}-{minutes}", need.as_str()),
                person_id: person.into(),
                need: *need,
                detail: if *need == Need::Other { "Speak slowly".into() } else { String::new() },
                recorded_by: person.into(),
                recorded_by_name: "Themselves".into(),
                acting_for: None,
                consent_discussion_id: None,
                recorded_at: start_time() + Duration::minutes(minutes),
                ended_at: None,
            })
            .collect();
        block_on(self.store().change_needs(person, &[], &recorded, person, start_time() + Duration::minutes(minutes))).unwrap();
        recorded
    }

    /// A comment by `person` on `category`, `minutes` after the start time.
    pub fn seed_comment(&self, person: &str, id: &str, category: Category, minutes: i64) {
        block_on(self.store().insert_comment(&Comment {
            id: id.into(),
            person_id: person.into(),
            category,
            entry_id: None,
            entry_label: format!("{} page", category.as_str()),
            kind: CommentKind::Correction,
            body: "This is wrong.".into(),
            author_id: person.into(),
            author_name: "The person".into(),
            acting_for: None,
            created_at: start_time() + Duration::minutes(minutes),
            status: CommentStatus::Open,
            response: None,
            responded_by: None,
            responded_at: None,
            version: 1,
        }))
        .unwrap();
    }

    /// A discussion `organisation` held with `person`, awaiting their answer.
    pub fn seed_discussion(&self, person: &str, organisation: &str, id: &str, days_ago: i64) -> Discussion {
        let discussion = Discussion {
            id: id.into(),
            person_id: person.into(),
            organisation_id: organisation.into(),
            held_on: (start_time() - Duration::days(days_ago)).date_naive(),
            method: Method::Phone,
            participants: vec![Participant { role: Role::Person, name: "The person".into() }],
            covered: vec![Topic::WhoCanSee],
            decisions: "Records in carefront.".into(),
            persons_words: "Fine by me.".into(),
            recorded_by: "staff".into(),
            recorded_at: start_time() - Duration::days(days_ago),
            status: Status::Awaiting,
            response: None,
            responded_by: None,
            acting_for: None,
            responded_at: None,
            version: 1,
        };
        block_on(self.store().insert_discussion(&discussion, None)).unwrap();
        discussion
    }
}
