//! The demo care records: guide, medicines and their administration record, visits and notes,
//! contacts, documents and emergency summaries for Margaret and Arthur, dated from the time
//! the seed runs so that the week grid and the timeline always have recent entries.

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Actor, Category};
use carefront_shared::discussion::{Discussion, Method, Participant, Role, Status, Topic};
use carefront_shared::domain::CarePlan;
use carefront_shared::plan::Recorder;
use carefront_shared::random::SeededRandom;
use carefront_shared::record::{
    Administration, Allergy, CareVisit, Contact, ContactKind, Document, DocumentKind, EmergencySummary, GuideSection, Medicine, Outcome, ServiceUserGuide,
    VisitStatus,
};
use carefront_shared::record_writes::{self, PlannedVisit, ScheduledVisit, VersionKind, VisitSchedule, WriteError, Writer};
use carefront_shared::store::SqlStore;
use carefront_shared::store::prelude::*;
use carefront_shared::store::{Store, StoreError};
use carefront_shared::uk_time;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::demo::PROVIDER;

fn time(text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").unwrap_or_default()
}

struct MedicineSpec<'a> {
    id: &'a str,
    name: &'a str,
    dose: &'a str,
    times: &'a [&'a str],
    as_needed: bool,
    instructions: &'a str,
}

fn medicine(person_id: &str, spec: &MedicineSpec<'_>, started_on: NaiveDate) -> Medicine {
    Medicine {
        id: spec.id.into(),
        person_id: person_id.into(),
        name: spec.name.into(),
        dose: spec.dose.into(),
        route: "By mouth".into(),
        times: spec.times.iter().map(|text| time(text)).collect(),
        as_needed: spec.as_needed,
        instructions: spec.instructions.into(),
        prescriber: "Dr Anika Patel, Riverside Surgery".into(),
        started_on,
        stopped_on: None,
    }
}

fn contact(person_id: &str, position: i64, kind: ContactKind, name: &str, role: &str, phone: &str, available: &str) -> Contact {
    Contact {
        id: format!("contact-{person_id}-{position}"),
        person_id: person_id.into(),
        kind,
        name: name.into(),
        role: role.into(),
        phone: phone.into(),
        email: String::new(),
        available: available.into(),
        position,
    }
}

/// A one-page PDF letter, small enough to write out by hand.
fn letter_pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 56 760 Td ({}) Tj ET", text.replace(['(', ')', '\\'], ""));
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    pdf
}

async fn add_document(
    store: &SqlStore<'_>,
    person_id: &str,
    id: &str,
    (title, kind, content_type): (&str, DocumentKind, &str),
    body: &[u8],
    added_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if store.document(&Permit::operator(person_id, added_at), id).await?.is_some() {
        return Ok(());
    }
    let document = Document::check(id.into(), person_id.into(), title, kind, content_type, body, "Brookside Home Care".into(), added_at)
        .map_err(|problem| StoreError::Decode(format!("demo document {id}: {problem}")))?;
    store.insert_document(&document, body).await
}

/// The administration record for the last `days` days: every scheduled dose due before `now`
/// is recorded, with a refusal and a dose not given among them, as a real week has.
async fn record_doses(store: &SqlStore<'_>, person_id: &str, medicines: &[Medicine], carers: &[&str], now: DateTime<Utc>, days: i64) -> Result<(), StoreError> {
    let today = uk_time::date(now);
    for back in (0..days).rev() {
        let day = today - Duration::days(back);
        for (index, medicine) in medicines.iter().enumerate() {
            for time in &medicine.times {
                // A schedule is a time on the home's clock (8am is 7am UTC in summer).
                let due_at = uk_time::at(day, *time);
                if due_at > now {
                    continue;
                }
                let (outcome, reason) = match (back, index) {
                    (2, 0) if *time == medicine.times[0] => (Outcome::Refused, Some("Said she felt sick and would rather wait; told the office".to_owned())),
                    (4, 1) if medicine.times.len() > 1 && *time == medicine.times[1] => {
                        (Outcome::NotGiven, Some("Asleep when the carer called; left a note for the morning visit".to_owned()))
                    }
                    _ => (Outcome::Given, None),
                };
                let recorded_by = carers[usize::try_from(back).unwrap_or_default() % carers.len()];
                let entry = Administration {
                    id: format!("mar-{}-{}-{}", medicine.id, day, time.format("%H%M")),
                    person_id: person_id.into(),
                    medicine_id: medicine.id.clone(),
                    due_at,
                    outcome,
                    reason,
                    recorded_by: recorded_by.into(),
                    recorded_at: due_at + Duration::minutes(12),
                };
                store.insert_administration(&entry).await?;
            }
        }
    }
    Ok(())
}

/// When a person's visits happened and what their carers wrote.
struct VisitPattern<'a> {
    /// Start time of day and length in minutes of each daily visit.
    slots: &'a [(&'a str, i64)],
    notes: &'a [&'a str],
    carers: &'a [&'a str],
    weekdays_only: bool,
}

/// The visits of the `days` UK days before today, done, with their notes. Today's and the coming
/// days' visits are the provider's schedule ([`brookside_puts_in`]), reported live as they happen.
async fn record_visits(store: &SqlStore<'_>, person_id: &str, pattern: &VisitPattern<'_>, now: DateTime<Utc>, days: i64) -> Result<(), StoreError> {
    let VisitPattern { slots, notes, carers, weekdays_only } = *pattern;
    use chrono::Datelike as _;
    let today = uk_time::date(now);
    let mut note_index = 0;
    for offset in -days..0 {
        let day = today + Duration::days(offset);
        if weekdays_only && day.weekday().number_from_monday() > 5 {
            continue;
        }
        for (slot, (start, minutes)) in slots.iter().enumerate() {
            let starts_at = uk_time::at(day, time(start));
            let ends_at = starts_at + Duration::minutes(*minutes);
            let note = notes[note_index % notes.len()].to_owned();
            note_index += 1;
            let visit = CareVisit {
                id: format!("visit-{person_id}-{day}-{slot}"),
                person_id: person_id.into(),
                organisation_id: PROVIDER.into(),
                starts_at,
                ends_at,
                status: VisitStatus::Completed,
                carers: carers[usize::try_from(offset.rem_euclid(i64::try_from(carers.len()).unwrap_or(1))).unwrap_or_default()].into(),
                note,
                recorded_at: ends_at,
            };
            store.upsert_visit(&visit).await?;
        }
    }
    Ok(())
}

/// Adds the demo care records (re-running leaves the same record, with recent days filled in).
/// Seeds the demo records; `plans` are the care plans Brookside's system puts in (as version 1).
pub async fn seed(store: &SqlStore<'_>, now: DateTime<Utc>, plans: &[CarePlan]) -> Result<(), StoreError> {
    let started = now.date_naive() - Duration::days(60);

    // Margaret Okafor.
    let margaret = "person-margaret";
    let medicines: Vec<Medicine> = [
        MedicineSpec {
            id: "med-margaret-paracetamol",
            name: "Paracetamol 500 mg tablets",
            dose: "2 tablets",
            times: &["08:00", "19:00"],
            as_needed: false,
            instructions: "For hip pain. No more than 8 tablets in 24 hours.",
        },
        MedicineSpec {
            id: "med-margaret-apixaban",
            name: "Apixaban 2.5 mg tablets",
            dose: "1 tablet",
            times: &["08:00", "19:00"],
            as_needed: false,
            instructions: "Prevents blood clots after her operation. Do not miss doses; tell the GP if she bruises easily.",
        },
        MedicineSpec {
            id: "med-margaret-amlodipine",
            name: "Amlodipine 5 mg tablets",
            dose: "1 tablet",
            times: &["08:00"],
            as_needed: false,
            instructions: "For blood pressure.",
        },
        MedicineSpec {
            id: "med-margaret-lactulose",
            name: "Lactulose 3.35 g/5 ml oral solution",
            dose: "15 ml",
            times: &[],
            as_needed: true,
            instructions: "When constipated, up to twice a day.",
        },
    ]
    .iter()
    .map(|spec| medicine(margaret, spec, started))
    .collect();
    let parts = BrooksideParts {
        care_plan: plans.iter().find(|plan| plan.person_id == margaret),
        medicines: &medicines,
        week: &[("08:00", 45, "Jo"), ("19:00", 30, "Kate")],
        document: None,
    };
    brookside_puts_in(store, margaret, &parts, now).await?;
    store
        .insert_allergy(&Allergy {
            id: "allergy-margaret-penicillin".into(),
            person_id: margaret.into(),
            substance: "Penicillin".into(),
            reaction: "Rash and swelling of the face".into(),
            recorded_at: now,
        })
        .await?;
    let carers = ["Jo Adeyemi", "Kate Morris"];
    record_doses(store, margaret, &medicines, &carers, now, 8).await?;
    if let Some(lactulose) = medicines.iter().find(|entry| entry.as_needed) {
        let taken = (now - Duration::days(2)).date_naive().and_time(time("19:10")).and_utc();
        store
            .insert_administration(&Administration {
                id: format!("mar-{}-{}", lactulose.id, taken.date_naive()),
                person_id: margaret.into(),
                medicine_id: lactulose.id.clone(),
                due_at: taken,
                outcome: Outcome::Given,
                reason: None,
                recorded_by: "Kate Morris".into(),
                recorded_at: taken,
            })
            .await?;
    }
    let pattern = VisitPattern {
        slots: &[("08:00", 45), ("19:00", 30)],
        notes: &[
            "Margaret was up and dressed by 8.20. Had porridge and tea. Walked to the kitchen with her frame.",
            "Warm meal of shepherd's pie; Margaret ate most of it. Curtains closed, heating on, pendant alarm checked.",
            "Helped with a shower. Skin on her heels checked: no redness. In good spirits, talking about church on Sunday.",
            "Margaret felt tired and stayed in her chair. Left a flask of tea and a sandwich within reach.",
            "Evening visit: soup and bread. Margaret said her hip ached; paracetamol given as prescribed.",
        ],
        carers: &carers,
        weekdays_only: false,
    };
    record_visits(store, margaret, &pattern, now, 30).await?;
    let contacts = [
        contact(margaret, 1, ContactKind::CareTeam, "Priya Shah", "Care coordinator, Brookside Home Care", "01632 960 101", "Monday to Friday, 9am to 5pm"),
        contact(
            margaret,
            2,
            ContactKind::ProviderOffice,
            "Brookside Home Care office",
            "Rotas, changes to visits, compliments and complaints",
            "01632 960 100",
            "Every day, 8am to 6pm",
        ),
        contact(
            margaret,
            3,
            ContactKind::OutOfHours,
            "Brookside on-call manager",
            "If a carer has not arrived, or an emergency out of office hours",
            "01632 960 199",
            "Every day, 6pm to 8am",
        ),
        contact(
            margaret,
            4,
            ContactKind::SocialWorker,
            "Daniel Hughes",
            "Social worker, Northshire County Council adult social care",
            "01632 960 500",
            "Monday to Friday, 9am to 5pm",
        ),
        contact(margaret, 5, ContactKind::Gp, "Riverside Surgery", "Dr Anika Patel", "01632 960 300", "Monday to Friday, 8am to 6.30pm"),
        contact(margaret, 6, ContactKind::Family, "Sam Okafor", "Son", "07700 900 123", ""),
    ];
    for entry in &contacts {
        store.upsert_contact(entry).await?;
    }
    add_document(
        store,
        margaret,
        "doc-margaret-discharge",
        ("Discharge summary, Northshire General Hospital", DocumentKind::DischargeSummary, "text/plain; charset=utf-8"),
        "Northshire General Hospital - discharge summary\n\nPatient: Margaret Okafor\nAdmitted after a fall at home; right hip replaced.\n\nOn discharge: walking with a frame; apixaban for 5 weeks to prevent clots; paracetamol for pain.\nFollow-up: fracture clinic in 6 weeks. Physiotherapy exercises twice a day.\n".as_bytes(),
        now - Duration::days(58),
    )
    .await?;
    add_document(
        store,
        margaret,
        "doc-margaret-review-letter",
        ("Letter about your care review", DocumentKind::Letter, "application/pdf"),
        &letter_pdf("Dear Mrs Okafor, your care and support review will take place in March. Northshire County Council."),
        now - Duration::days(10),
    )
    .await?;
    store
        .upsert_emergency_summary(&EmergencySummary {
            person_id: margaret.into(),
            summary: "Lives alone. Right hip replaced two months ago after a fall; walks with a frame. Takes apixaban (an anticoagulant).".into(),
            conditions: vec!["Right hip replacement".into(), "High blood pressure".into()],
            communication: "Wears hearing aids; speak clearly and face her.".into(),
            next_of_kin: "Sam Okafor (son), 07700 900 123".into(),
            updated_by: "Priya Shah, Brookside Home Care".into(),
            updated_at: now,
        })
        .await?;
    store.upsert_guide(&guide(margaret, now)).await?;
    let discussion = Discussion {
        id: "discussion-margaret-1".into(),
        person_id: margaret.into(),
        organisation_id: PROVIDER.into(),
        held_on: now.date_naive() - Duration::days(3),
        method: Method::HomeVisit,
        participants: vec![
            Participant { role: Role::Person, name: "Margaret Okafor".into() },
            Participant { role: Role::Family, name: "Sam Okafor".into() },
            Participant { role: Role::Staff, name: "Priya Shah".into() },
        ],
        covered: Topic::ALL.to_vec(),
        decisions: "Margaret's records are kept in carefront, with a paper copy of her care plan in the kitchen drawer. Sam can see her care plan and medicines for six months.".into(),
        persons_words: "I'm happy for Sam to see my tablets, he sorts out my prescriptions. I don't want the neighbours knowing my business.".into(),
        recorded_by: "Priya Shah, Brookside Home Care".into(),
        recorded_at: now,
        status: Status::Awaiting,
        response: None,
        responded_by: None,
        acting_for: None,
        responded_at: None,
        version: 1,
    };
    store.insert_discussion(&discussion, Some("demo-discussion-margaret-1")).await?;

    // Arthur Jenkins.
    let arthur = "person-arthur";
    let medicines: Vec<Medicine> = [
        MedicineSpec {
            id: "med-arthur-donepezil",
            name: "Donepezil 10 mg tablets",
            dose: "1 tablet",
            times: &["12:30"],
            as_needed: false,
            instructions: "For memory. Taken with lunch.",
        },
        MedicineSpec {
            id: "med-arthur-metformin",
            name: "Metformin 500 mg tablets",
            dose: "1 tablet",
            times: &["12:30"],
            as_needed: false,
            instructions: "For diabetes. Take with food.",
        },
    ]
    .iter()
    .map(|spec| medicine(arthur, spec, started))
    .collect();
    let parts =
        BrooksideParts { care_plan: plans.iter().find(|plan| plan.person_id == arthur), medicines: &medicines, week: &[("12:30", 45, "Tom")], document: None };
    brookside_puts_in(store, arthur, &parts, now).await?;
    record_doses(store, arthur, &medicines, &["Tom Reid"], now, 8).await?;
    let pattern = VisitPattern {
        slots: &[("12:30", 45)],
        notes: &[
            "Made cheese on toast and soup; Arthur ate it all. Tablets taken with lunch. Note left in the diary for his daughter.",
            "Arthur was watching the cricket. Ate half of his lunch; left fruit and a drink beside him.",
        ],
        carers: &["Tom Reid"],
        weekdays_only: true,
    };
    record_visits(store, arthur, &pattern, now, 30).await?;
    for entry in [
        contact(arthur, 1, ContactKind::CareTeam, "Tom Reid", "Care coordinator, Brookside Home Care", "01632 960 102", "Monday to Friday, 9am to 5pm"),
        contact(arthur, 2, ContactKind::ProviderOffice, "Brookside Home Care office", "Rotas and changes to visits", "01632 960 100", "Every day, 8am to 6pm"),
        contact(
            arthur,
            3,
            ContactKind::SocialWorker,
            "Daniel Hughes",
            "Social worker, Northshire County Council adult social care",
            "01632 960 500",
            "Monday to Friday, 9am to 5pm",
        ),
    ] {
        store.upsert_contact(&entry).await?;
    }
    store.upsert_guide(&guide(arthur, now)).await?;
    Ok(())
}

fn guide(person_id: &str, now: DateTime<Utc>) -> ServiceUserGuide {
    let section = |heading: &str, body: &str| GuideSection { heading: heading.into(), body: body.into() };
    ServiceUserGuide {
        person_id: person_id.into(),
        organisation_id: PROVIDER.into(),
        title: "Brookside Home Care: your guide to our service".into(),
        sections: vec![
            section(
                "Who we are",
                "Brookside Home Care is a home care agency registered with the Care Quality Commission. We help about 120 people in Northshire to live at home.",
            ),
            section(
                "Your carers",
                "A small team of carers visits you, so that you get to know them. Every carer wears a Brookside badge with their photo. If you are not sure who is at the door, ring the office.",
            ),
            section(
                "If a carer is late",
                "Carers can be held up by traffic or by someone who needs extra help. If a carer is more than 30 minutes late, the office will ring you. You can ring us at any time on 01632 960 100.",
            ),
            section(
                "Your information",
                "We keep your care plan, medicines record and visit notes in carefront, the council's care portal. You can see them at any time, at no charge, and choose who else can see them. A paper copy of your care plan is kept in your home unless you tell us you do not want one.",
            ),
            section(
                "Compliments and complaints",
                "Tell your carer, ring the office, or write to the manager. We reply within 5 working days. If you are not happy with our answer, you can contact Northshire County Council or the Local Government and Social Care Ombudsman.",
            ),
        ],
        updated_at: now,
    }
}

/// Reports today's visits as the carers' phones would have by `now`: the carer arrived a few
/// minutes into the window and left just after it; a visit under way is checked in.
async fn report_today(writer: &Writer<'_>, recorder: &Recorder, schedule: &VisitSchedule, now: DateTime<Utc>) -> Result<(), WriteError> {
    for planned in schedule.visits.iter().filter(|visit| uk_time::date(visit.starts_at) == uk_time::date(now)) {
        let arrived = planned.starts_at + Duration::minutes(4);
        if arrived > now {
            continue;
        }
        let mut visit = ScheduledVisit {
            visit: CareVisit {
                id: planned.id.clone(),
                person_id: writer.permit.subject_id().into(),
                organisation_id: writer.organisation_id.clone(),
                starts_at: planned.starts_at,
                ends_at: planned.ends_at,
                status: VisitStatus::Planned,
                carers: planned.carer_first_name.clone(),
                note: String::new(),
                recorded_at: writer.now,
            },
            status_at: None,
            checked_in_at: None,
            checked_out_at: None,
        };
        record_writes::record_visit_status(writer, recorder, 0, &visit, VisitStatus::CheckedIn, arrived).await?;
        let left = planned.ends_at + Duration::minutes(3);
        if left <= now {
            visit.visit.status = VisitStatus::CheckedIn;
            visit.checked_in_at = Some(arrived);
            record_writes::record_visit_status(writer, recorder, 1, &visit, VisitStatus::CheckedOut, left).await?;
        }
    }
    Ok(())
}

/// What Brookside's system puts in for one person.
pub struct BrooksideParts<'a> {
    /// The care plan, if it has none yet.
    pub care_plan: Option<&'a CarePlan>,
    /// Medicines it does not have yet.
    pub medicines: &'a [Medicine],
    /// The coming week's visits: the time each day (UK wall clock), minutes, the carer's first name.
    pub week: &'a [(&'a str, i64, &'a str)],
    /// A document to add: its title, kind and the file.
    pub document: Option<(&'a str, DocumentKind, &'a [u8])>,
}

/// Puts `parts` in for `person_id` the way Brookside's system does through the API: the same
/// versioned writes (a first version of each part, its line in the person's access log), as its
/// care coordinator under Brookside's grant to contribute, in one plan. Ids come from a generator
/// seeded by the person's id, so a seed written out as SQL twice names the same rows.
pub async fn brookside_puts_in(store: &SqlStore<'_>, person_id: &str, parts: &BrooksideParts<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
    let grants = store.grants_for_subject(person_id).await?;
    let priya =
        Actor { person_id: "person-provider-priya".into(), role: carefront_shared::domain::Role::ProviderStaff, organisation_id: Some(PROVIDER.into()) };
    let random = SeededRandom::new(person_id.bytes().fold(11_u64, |hash, byte| hash.wrapping_mul(131).wrapping_add(u64::from(byte))));
    let refused = |category: Category| move |_| StoreError::Decode(format!("the demo provider may not contribute to {category:?} for {person_id}"));
    let written = |error: WriteError| match error {
        WriteError::Store(error) => error,
        other => StoreError::Decode(format!("demo record for {person_id}: {other}")),
    };
    // On a store seeded before, each part already there is left as it is.
    let operator = Permit::operator(person_id, now);
    let held: Vec<String> = store.medicines(&operator).await?.into_iter().map(|medicine| medicine.id).collect();
    let has_plan = store.care_plan(&operator).await?.is_some();
    let has_schedule = !store.latest_record_versions(&operator, VersionKind::VisitSchedule).await?.is_empty();
    let recorder = Recorder::new();
    for category in [Category::CarePlan, Category::Medication, Category::VisitsAndNotes, Category::Documents] {
        let permit = Permit::ask(&priya, person_id, Action::Contribute, category, &grants, now).map_err(refused(category))?;
        let writer = Writer {
            permit: &permit,
            organisation_id: PROVIDER.into(),
            name: "Brookside Home Care".into(),
            described: "Priya Shah of Brookside Home Care".into(),
            now,
            random: &random,
        };
        match category {
            Category::CarePlan => {
                if let Some(plan) = parts.care_plan.filter(|_| !has_plan) {
                    record_writes::put_care_plan(&writer, &recorder, 0, plan).await.map_err(written)?;
                }
            }
            Category::Medication => {
                for medicine in parts.medicines.iter().filter(|medicine| !held.contains(&medicine.id)) {
                    record_writes::start_medicine(&writer, &recorder, medicine).await.map_err(written)?;
                }
            }
            Category::VisitsAndNotes if !parts.week.is_empty() && !has_schedule => {
                let from = uk_time::date(now);
                let mut visits = Vec::new();
                for day in 0..7 {
                    let date = from + Duration::days(day);
                    for (index, (clock, minutes, carer)) in parts.week.iter().enumerate() {
                        let starts_at = uk_time::at(date, time(clock));
                        visits.push(PlannedVisit {
                            id: format!("planned-{person_id}-{date}-{index}"),
                            starts_at,
                            ends_at: starts_at + Duration::minutes(*minutes),
                            carer_first_name: (*carer).into(),
                        });
                    }
                }
                let schedule = VisitSchedule { from, to: from + Duration::days(6), visits };
                record_writes::put_visit_schedule(&writer, &recorder, 0, &schedule, &[]).await.map_err(written)?;
                report_today(&writer, &recorder, &schedule, now).await.map_err(written)?;
            }
            Category::Documents => {
                if let Some((title, kind, body)) = parts.document {
                    record_writes::add_document(&writer, &recorder, title, kind, body).await.map_err(written)?;
                }
            }
            _ => {}
        }
    }
    store.apply(&recorder.into_plan()).await
}
