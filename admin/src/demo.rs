//! The demo council, provider, people and care plans.

use carefront_shared::store::SqlStore;
use carefront_shared::store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use carefront_shared::access::{self, AuditAction};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::contact::Medium;
use carefront_shared::domain::{CarePlan, CouncilRole, Organisation, OrganisationKind, Person, ProviderRole, Role};
use carefront_shared::emergency::{self, EmergencyCode, EmergencyCodeRecord};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME, InvitationCode};
use carefront_shared::onboarding;
use carefront_shared::outbox::{Channel, NotificationKind};
use carefront_shared::person::{NewPerson, PersonInput};
use carefront_shared::plan::Recorder;
use carefront_shared::random::{Random, SeededRandom, new_id};
use carefront_shared::store::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};

const COUNCIL: &str = "org-northshire-council";
pub const PROVIDER: &str = "org-brookside-care";

fn lines(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// Sam's mobile number in the demo: confirmed, and told of emergency access to his mother's record.
pub const SAM_MOBILE: &str = "07700 900 123";
/// Brookside's on-call duty manager's confirmed email address, told of emergency access.
pub const BROOKSIDE_DUTY_EMAIL: &str = "duty@brookside.example.org";

/// Adds the demo data (leaving rows that already exist alone) and a fresh invitation for each
/// demo service user.
pub async fn seed(store: &SqlStore<'_>, now: DateTime<Utc>, random: &dyn Random) -> Result<Vec<(Person, InvitationCode)>, StoreError> {
    store
        .insert_organisation(&Organisation { id: COUNCIL.into(), kind: OrganisationKind::Council, name: "Northshire County Council".into(), created_at: now })
        .await?;
    store
        .insert_organisation(&Organisation { id: PROVIDER.into(), kind: OrganisationKind::Provider, name: "Brookside Home Care".into(), created_at: now })
        .await?;
    let review = |month| NaiveDate::from_ymd_opt(2027, month, 15).unwrap_or_default();
    let people = [
        (
            Person {
                id: "person-margaret".into(),
                role: Role::ServiceUser,
                display_name: "Margaret Okafor".into(),
                organisation_id: None,
                webauthn_handle: uuid::uuid!("6f1c3c2e-8a4b-4e0f-9d51-2f7b7c1a9e01"),
                created_at: now,
            },
            CarePlan {
                id: "care-plan-margaret".into(),
                person_id: "person-margaret".into(),
                summary: "Support at home each morning and evening so that Margaret can keep living independently after her hip operation.".into(),
                outcomes: lines(&["Walk to the corner shop with her frame by the spring", "Keep cooking her own lunch", "Stay in touch with her church group"]),
                needs: lines(&["Help to get washed and dressed while her hip heals", "Reminders to take her medicines on time", "A hot meal in the evening"]),
                support: lines(&[
                    "Help to wash and dress in the morning",
                    "Prompt to take medicines at 8am and 8pm",
                    "Prepare a hot evening meal",
                    "Check the house is warm and safe at night",
                ]),
                visit_schedule: lines(&["Every day, 8am to 8.45am", "Every day, 7pm to 7.30pm"]),
                risks: lines(&[
                    "Falls: Margaret uses her frame indoors; carers keep the hallway clear and check her pendant alarm each visit",
                    "Pressure sores: carers check her skin when helping her wash and tell the district nurse about any redness",
                ]),
                review_due: review(3),
                written_by: "Priya Shah, Brookside Home Care".into(),
                updated_at: now,
            },
        ),
        (
            Person {
                id: "person-arthur".into(),
                role: Role::ServiceUser,
                display_name: "Arthur Jenkins".into(),
                organisation_id: None,
                webauthn_handle: uuid::uuid!("0b7d9a44-31f2-4c6e-8e0a-5d3f6b2c7a12"),
                created_at: now,
            },
            CarePlan {
                id: "care-plan-arthur".into(),
                person_id: "person-arthur".into(),
                summary: "A lunchtime visit on weekdays to help Arthur, who has early-stage dementia, eat well and take his tablets.".into(),
                outcomes: lines(&["Eat a proper meal every day", "Keep going to the Tuesday lunch club with his daughter"]),
                needs: lines(&["Prompting to eat and drink enough", "Help to take his tablets at the right time"]),
                support: lines(&[
                    "Prepare lunch and sit with Arthur while he eats",
                    "Prompt and record his tablets",
                    "Leave a note for his daughter in the diary",
                ]),
                visit_schedule: lines(&["Monday to Friday, 12.30pm to 1.15pm"]),
                risks: lines(&["Forgetting to eat: carers note what Arthur ate, and tell his daughter if he misses two meals"]),
                review_due: review(5),
                written_by: "Tom Reid, Brookside Home Care".into(),
                updated_at: now,
            },
        ),
    ];
    let mut invitations = Vec::new();
    let mut plans = Vec::new();
    for (person, plan) in people {
        add_as_the_council_does(store, &person, now).await?;
        plans.push(plan);
        invitations.push(invite(store, person, now, random).await?);
    }
    // Margaret's son Sam helps with her medicines and keeps an eye on her visits and on who looks
    // at her record: a representative with her consent.
    let sam = Person {
        id: "person-sam".into(),
        role: Role::Representative,
        display_name: "Sam Okafor".into(),
        organisation_id: None,
        webauthn_handle: uuid::uuid!("2c9e5b71-6d0a-4f3e-a8c4-91b7e6d0f523"),
        created_at: now,
    };
    store.insert_person(&sam).await?;
    if !store.grants_for_subject("person-margaret").await?.iter().any(|grant| grant.id == "grant-margaret-sam") {
        let grant = Grant {
            id: "grant-margaret-sam".into(),
            version: 1,
            subject_id: "person-margaret".into(),
            grantee: Grantee::Person(sam.id.clone()),
            categories: BTreeSet::from([Category::CarePlan, Category::Medication, Category::VisitsAndNotes, Category::AccessLog]),
            actions: BTreeSet::from([Action::View]),
            act_for: false,
            purpose: "to help me with my tablets and my care".into(),
            starts_at: now,
            ends_at: Some(now + chrono::Duration::days(180)),
            basis: Basis::Consent,
            evidence: None,
            recorded_by: "person-margaret".into(),
            revoked_at: None,
        };
        store.insert_grant(&grant, now, None).await?;
    }
    // Sam has confirmed his mobile number and asked to be told by text when someone uses his
    // mother's emergency code (the number is in Ofcom's range for drama, so it reaches nobody).
    if store.contact_points(&sam.id).await?.is_empty() {
        let recorder = Recorder::new();
        recorder.store().start_contact_check(&sam.id, Medium::Phone, SAM_MOBILE, "seeded", now, now).await?;
        recorder.store().confirm_contact(&sam.id, Medium::Phone, "seeded", now).await?;
        let told = BTreeMap::from([(NotificationKind::EmergencyAccess, BTreeSet::from([Channel::Sms]))]);
        recorder.store().save_notification_choices(&sam.id, &told, now).await?;
        store.apply(&recorder.into_plan()).await?;
    }
    invitations.push(invite(store, sam, now, random).await?);
    // Brookside's on-call duty manager has a confirmed email address: emergency access to the
    // people Brookside cares for is told there too, with a stop link of the provider's own.
    if store.duty_contact_points(PROVIDER).await?.is_empty() {
        let recorder = Recorder::new();
        recorder.store().start_duty_contact_check(PROVIDER, Medium::Email, BROOKSIDE_DUTY_EMAIL, "seeded", now, now).await?;
        recorder.store().confirm_duty_contact(PROVIDER, Medium::Email, "seeded", now).await?;
        store.apply(&recorder.into_plan()).await?;
    }

    // Staff: a council social worker (a caseworker), the council's administrator (who looks
    // after system credentials) and a provider care coordinator.
    let staff = [
        ("person-council-daniel", Role::CouncilStaff, "Daniel Hughes", COUNCIL, uuid::uuid!("8a0f4d2b-5e6c-4b71-9c3d-7e2a1f6b8d34")),
        ("person-council-ann", Role::CouncilStaff, "Ann Clarke", COUNCIL, uuid::uuid!("5d2a8e61-9b3c-4f7e-a0d4-6c1b8e3f9a56")),
        ("person-provider-priya", Role::ProviderStaff, "Priya Shah", PROVIDER, uuid::uuid!("c41e7b93-2d5a-4f08-b6e1-3a9c0d7f2e45")),
    ];
    for (id, role, name, organisation, handle) in staff {
        let person =
            Person { id: id.into(), role, display_name: name.into(), organisation_id: Some(organisation.into()), webauthn_handle: handle, created_at: now };
        store.insert_person(&person).await?;
        invitations.push(invite(store, person, now, random).await?);
    }
    store.set_council_role("person-council-ann", CouncilRole::Administrator).await?;
    // Priya coordinates Brookside's care: she looks after its staff accounts too.
    store.set_provider_role("person-provider-priya", ProviderRole::Administrator).await?;
    // The council's statutory access for reviews, and the provider's access to give care, for
    // both service users.
    for subject in ["person-margaret", "person-arthur"] {
        let existing = store.grants_for_subject(subject).await?;
        let short = subject.trim_start_matches("person-");
        let provider = Grant {
            id: format!("grant-{short}-provider"),
            grantee: Grantee::Organisation(PROVIDER.into()),
            categories: BTreeSet::from([
                Category::CarePlan,
                Category::ServiceUserGuide,
                Category::Medication,
                Category::VisitsAndNotes,
                Category::Contacts,
                Category::Documents,
                Category::Preferences,
            ]),
            actions: BTreeSet::from([Action::View, Action::Contribute]),
            purpose: "to plan and give your care at home".into(),
            basis: Basis::Consent,
            evidence: None,
            recorded_by: subject.into(),
            version: 1,
            subject_id: subject.into(),
            act_for: false,
            starts_at: now,
            ends_at: None,
            revoked_at: None,
        };
        // The council's own statutory grant was made as the council added them.
        if !existing.iter().any(|other| other.id == provider.id) {
            store.insert_grant(&provider, now, None).await?;
        }
    }
    crate::demo_record::seed(store, now, &plans).await?;
    Ok(invitations)
}

/// Turns on a fresh emergency code for Margaret (ending any earlier one), as the council's social
/// worker on its statutory duty: the code for the paper copy in her home, and for the e2e tests.
pub async fn emergency_code(store: &SqlStore<'_>, now: DateTime<Utc>, random: &dyn Random) -> Result<(EmergencyCodeRecord, EmergencyCode), StoreError> {
    let grants = store.grants_for_subject("person-margaret").await?;
    let council_grant = onboarding::council_grant(&grants, COUNCIL, now).map(|grant| grant.id.clone()).unwrap_or_default();
    let basis = format!("grant:{council_grant} ({})", Basis::StatutoryDuty.as_str());
    let (record, code) = emergency::issue("person-margaret", "person-council-daniel", &basis, now, random);
    let event = access::statutory_event(
        new_id(random),
        now,
        &record.issued_by,
        Some((&record.person_id, &council_grant)),
        AuditAction::EmergencyCodeTurnedOn,
        None,
        "Turned on an emergency code for paramedics and other clinicians.",
    );
    let recorder = Recorder::new();
    recorder.store().replace_emergency_code(&record).await?;
    recorder.store().append_audit(&event).await?;
    store.apply(&recorder.into_plan()).await?;
    Ok((record, code))
}

/// SQL ending the live emergency code of `record`'s person (and what it opened) in a database
/// seeded before, to run ahead of the dumped INSERT of `record`: one live code per person.
pub fn end_earlier_emergency_code_sql(record: &EmergencyCodeRecord) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let (person, at, by) = (quote(&record.person_id), quote(&carefront_shared::store::time_text(record.issued_at)), quote(&record.issued_by));
    format!(
        "UPDATE emergency_accesses SET ended_at = {at} WHERE ended_at IS NULL AND expires_at > {at} \
         AND code_id IN (SELECT id FROM emergency_codes WHERE person_id = {person} AND ended_at IS NULL);\n\
         UPDATE emergency_codes SET ended_at = {at}, ended_by = {by}, end_reason = 'replaced' WHERE person_id = {person} AND ended_at IS NULL;\n"
    )
}

/// The demo service users' details, as a council's caseworker types them.
fn details(person_id: &str) -> PersonInput {
    let (date_of_birth, nhs_number, address, postcode, phone) = match person_id {
        "person-margaret" => ("3/7/1941", "943 476 5919", "14 Orchard Close\nNorthtown", "NT1 4AB", "01632 960 114"),
        _ => ("21/11/1938", "450 557 7104", "2 Station Road\nLittle Ashby", "NT7 2CD", "01632 960 872"),
    };
    PersonInput {
        date_of_birth: date_of_birth.into(),
        nhs_number: nhs_number.into(),
        address: address.into(),
        postcode: postcode.into(),
        phone: phone.into(),
        ..PersonInput::default()
    }
}

/// Adds a demo service user the way the council's "Add a person" page does (their details, the
/// council's statutory access and the line in their log, in one plan), unless they are there. Ids
/// are drawn from a generator seeded by the person's id, so a seed written out as SQL twice names
/// the same rows and `INSERT OR IGNORE` keeps one.
async fn add_as_the_council_does(store: &SqlStore<'_>, person: &Person, now: DateTime<Utc>) -> Result<(), StoreError> {
    if store.person(&person.id).await?.is_some() {
        return Ok(());
    }
    let input = PersonInput { display_name: person.display_name.clone(), ..details(&person.id) };
    let new = NewPerson::validate(&input, now).map_err(|errors| StoreError::Decode(format!("demo details for {}: {errors:?}", person.id)))?;
    let seeded = SeededRandom::new(person.id.bytes().fold(7_u64, |hash, byte| hash.wrapping_mul(31).wrapping_add(u64::from(byte))));
    let recorder = Recorder::new();
    onboarding::add_service_user_as(&recorder.store(), person.id.clone(), &new, COUNCIL, "person-council-daniel", now, &seeded).await?;
    store.apply(&recorder.into_plan()).await
}

async fn invite(store: &SqlStore<'_>, person: Person, now: DateTime<Utc>, random: &dyn Random) -> Result<(Person, InvitationCode), StoreError> {
    let (invitation, code) = invitation::issue(&person.id, Some(COUNCIL), now, DEFAULT_LIFETIME, random);
    store.insert_invitation(&invitation).await?;
    Ok((person, code))
}
