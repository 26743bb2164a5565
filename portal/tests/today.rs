//! The "Today" card through the router: first on Margaret's own home (normal and 28 pt large
//! print) and on a supported person's page; the family carer's home as one status card per
//! person, showing only what their grant covers; the menu folded into a toggle that needs no
//! JavaScript; and the people who must not see it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::comments::{Comment, CommentKind, CommentStatus};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::discussion::{Discussion, Method, Participant, Role as Part, Status as DiscussionStatus, Topic};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::record::{Administration, CareVisit, Outcome, VisitStatus};
use carefront_shared::store::voice::Answer;
use carefront_shared::store::{DiscussionStore, RecordStore, Store, VersionStore, VoiceStore};
use chrono::{DateTime, Duration, Utc};
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, text};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Margaret's full record, plus today (Saturday 21 November 2026, 9am): a visit planned for 1pm
/// with Jo, and her 8am paracetamol given.
fn margaret_today() -> Portal {
    let portal = support::margaret_with_full_record();
    let store = portal.store();
    block_on(store.upsert_visit(&CareVisit {
        id: "visit-lunch".into(),
        person_id: "person-1".into(),
        organisation_id: "org-care".into(),
        starts_at: at("2026-11-21T13:00:00Z"),
        ends_at: at("2026-11-21T13:30:00Z"),
        status: VisitStatus::Planned,
        carers: "Jo".into(),
        note: String::new(),
        recorded_at: portal.now.get(),
    }))
    .unwrap();
    block_on(store.insert_administration(&Administration {
        id: "a-today".into(),
        person_id: "person-1".into(),
        medicine_id: "med-para".into(),
        due_at: at("2026-11-21T08:00:00Z"),
        outcome: Outcome::Given,
        reason: None,
        recorded_by: "Jo Adeyemi".into(),
        recorded_at: at("2026-11-21T08:10:00Z"),
    }))
    .unwrap();
    portal
}

/// The `<main>` element.
fn main_of(html: &str) -> &str {
    let start = html.find("<main").unwrap();
    &html[start..html.find("</main>").unwrap()]
}

/// Before `<main>` there is only the skip link, the header and the menu — folded into a
/// `<details>` whose only visible line on a phone is "Menu"; inside `<main>` nothing but the
/// caption and the heading comes before the card. (The lead's browser test measures the card's
/// position at 390×844; this keeps the order it relies on.)
fn assert_today_first(html: &str) {
    let before_main = &html[..html.find("<main").unwrap()];
    let details = before_main.find("<details class=\"app-menu\">").expect("the menu is a <details> toggle");
    let toggle = before_main.find(">Menu</summary>").expect("its toggle says Menu");
    let list = before_main.find("govuk-service-navigation__list").unwrap();
    let sign_out = before_main.find(">Sign out</button>").unwrap();
    let closed = before_main.find("</details>").unwrap();
    assert!(details < toggle && toggle < list && list < sign_out && sign_out < closed, "the links and Sign out are inside the toggle");
    assert!(!before_main.contains("<details class=\"app-menu\" open"), "closed until asked");
    let main = main_of(html);
    let card = main.find("class=\"app-today").expect("a Today card");
    let ahead = &main[..card];
    let tags: Vec<&str> = ahead.match_indices('<').map(|(index, _)| &ahead[index..]).filter(|rest| !rest.starts_with("</")).collect();
    let first_words: Vec<String> = tags.iter().map(|tag| tag.split([' ', '>']).next().unwrap_or_default().to_owned()).collect();
    assert!(
        first_words.iter().all(|tag| ["<main", "<div", "<span", "<h1", "<a", "<section"].contains(&tag.as_str())),
        "only the heading comes first: {first_words:?}"
    );
    for later in ["notification-banner", "govuk-warning-text", "app-needs-flag", "Your record", "What you can see", "Emergency code"] {
        if let Some(found) = main.find(later) {
            assert!(found > card, "{later} comes after the card");
        }
    }
}

#[test]
fn margarets_home_starts_with_today_in_normal_and_28pt_large_print() {
    let portal = margaret_today();
    let home = text(&portal.get("/home"));
    assert_today_first(&home);
    let main = main_of(&home);
    assert!(
        main.contains("<h1 class=\"govuk-heading-l\">Today <span class=\"app-today__date\">Saturday 21 November</span></h1>"),
        "the card's heading is the page's: {main}"
    );
    assert!(main.contains("Next visit</h2>"), "{main}");
    assert!(main.contains("Today, 1pm to 1:30pm with Jo <strong class=\"govuk-tag govuk-tag--blue\">Due</strong>"), "{main}");
    // The fixture's visit at 8am (signed by "Jo Adeyemi") is done: shown as earlier today.
    assert!(main.contains("Earlier today</h2>"), "{main}");
    assert!(main.contains("Today, 8am to 8:45am with Jo <strong class=\"govuk-tag govuk-tag--green\">Done</strong>"), "{main}");
    assert!(
        main.contains(
            "<span class=\"app-today__time\">8am</span> Paracetamol 500 mg tablets, 2 tablets <strong class=\"govuk-tag govuk-tag--green\">Given</strong>"
        ),
        "{main}"
    );
    assert!(
        main.contains(
            "<span class=\"app-today__time\">8pm</span> Paracetamol 500 mg tablets, 2 tablets <strong class=\"govuk-tag govuk-tag--grey\">Due</strong>"
        ),
        "{main}"
    );
    assert!(!main.contains("Amoxicillin"), "a stopped medicine has no doses today");

    // Each part shown is a look at her record, in her access log.
    let events = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 100)).unwrap();
    for detail in ["looked at today's visits on the home page", "looked at today's doses on the home page"] {
        assert!(events.iter().any(|event| event.detail.contains(detail)), "{detail}");
    }

    // The carer arrives: the visit is in progress, with the time they arrived.
    block_on(portal.store().set_visit_status("person-1", "visit-lunch", VisitStatus::CheckedIn, at("2026-11-21T08:58:00Z"))).unwrap();
    let main = text(&portal.get("/home"));
    assert!(main.contains("Visit now</h2>"), "{main}");
    // The heading says it is under way: no tag and no "Today," in the line (see
    // regression_a_visit_under_way_keeps_todays_medicines_on_the_first_screen).
    assert!(
        main.contains("<p class=\"govuk-body app-today__line app-today__next\">1pm to 1:30pm with Jo<span class=\"app-today__detail\">Arrived 8:58am</span>"),
        "{main}"
    );

    // 28 pt large print: the same order (the card is the first thing under the heading).
    let csrf = portal.csrf_from("/people/person-1/needs");
    let saved = portal.post_form("/people/person-1/needs", &[("csrf", &csrf), ("large-print", "large_print_28"), ("paper", "paper_copy_at_home")]);
    assert_eq!(saved.status(), 303);
    let large = text(&portal.get("/home"));
    assert!(large.contains("app-large-print--28"), "large print is on");
    assert_today_first(&large);
}

#[test]
fn a_missed_dose_and_a_late_visit_say_so() {
    let portal = margaret_today();
    // 3pm: the 1pm visit's window has passed with no one (looking every 20 minutes keeps the
    // session alive).
    for _ in 0..18 {
        portal.advance(Duration::minutes(20));
        assert_eq!(portal.get("/home").status(), 200);
    }
    let home = text(&portal.get("/home"));
    assert!(home.contains("Visit now</h2>") || home.contains("Next visit</h2>"), "{home}");
    assert!(home.contains("Today, 1pm to 1:30pm with Jo <strong class=\"govuk-tag govuk-tag--orange\">Late</strong>"), "{home}");
    block_on(portal.store().set_visit_status("person-1", "visit-lunch", VisitStatus::Missed, at("2026-11-21T14:00:00Z"))).unwrap();
    block_on(portal.store().insert_administration(&Administration {
        id: "a-evening".into(),
        person_id: "person-1".into(),
        medicine_id: "med-para".into(),
        due_at: at("2026-11-21T20:00:00Z"),
        outcome: Outcome::NotGiven,
        reason: Some("In hospital".into()),
        recorded_by: "Jo Adeyemi".into(),
        recorded_at: at("2026-11-21T14:30:00Z"),
    }))
    .unwrap();
    let home = text(&portal.get("/home"));
    assert!(home.contains("Today, 1pm to 1:30pm with Jo <strong class=\"govuk-tag govuk-tag--red\">Missed</strong>"), "{home}");
    assert!(home.contains("<strong class=\"govuk-tag govuk-tag--orange\">Not given</strong><span class=\"app-today__detail\">In hospital</span>"), "{home}");
    assert!(home.contains("No visits planned in the next 7 days."), "{home}");
}

/// Found at 8:50am one morning: while a carer was with Margaret, today's medicines fell below
/// the first screen of a phone in 28 point large print, on her home and on her son's. The visit
/// line said "Today," under "Visit now", its "In progress" tag (GOV.UK's 160px cap) split the
/// word over three lines, and the arrival took a line of its own. Now the heading (or, on a
/// supporter's one-line card, its label) says the visit is under way and the line does not
/// repeat it; large print lets a tag be as wide as its words. e2e/first-screen.test.mjs measures
/// the screen; this holds the words.
#[test]
fn regression_a_visit_under_way_keeps_todays_medicines_on_the_first_screen() {
    let portal = margaret_today();
    block_on(portal.store().set_visit_status("person-1", "visit-lunch", VisitStatus::CheckedIn, at("2026-11-21T08:58:00Z"))).unwrap();
    let home = text(&portal.get("/home"));
    let card = main_of(&home);
    assert!(card.contains("Visit now</h2>"), "{card}");
    assert!(!card.contains("Today, 1pm") && !card.contains(">In progress<"), "{card}");

    // Sam's one-line card for his mother says "Visit now:" in place of the tag.
    let sam = support::representative(
        &portal,
        "person-sam",
        "Sam Okafor",
        Holding { categories: &[Category::Medication, Category::VisitsAndNotes], actions: &[Action::View], act_for: false },
        21,
    );
    let home = text(&sam.get("/home"));
    let main = main_of(&home);
    assert!(main.contains("<strong>Visit now:</strong> 1pm to 1:30pm with Jo<span class=\"app-today__detail\">Arrived 8:58am</span>"), "{main}");
    assert!(!main.contains("Next visit:") && !main.contains(">In progress<"), "{main}");

    // Before the carer arrives, both say when and show the tag, as before.
    let portal = margaret_today();
    let home = text(&portal.get("/home"));
    assert!(home.contains("Today, 1pm to 1:30pm with Jo <strong class=\"govuk-tag govuk-tag--blue\">"), "{home}");
}

/// Sam, Margaret's son, with a live grant for her medicines only.
fn sam_with_medicines_only(portal: &Portal) -> Portal {
    support::representative(portal, "person-sam", "Sam Okafor", Holding { categories: &[Category::Medication], actions: &[Action::View], act_for: false }, 21)
}

#[test]
fn sams_home_is_people_you_support_with_only_what_his_grant_covers() {
    let portal = margaret_today();
    let sam = sam_with_medicines_only(&portal);
    let home = text(&sam.get("/home"));
    let main = main_of(&home);
    assert!(main.contains("<h1 class=\"govuk-heading-l\">People you support</h1>"), "{main}");
    assert!(!main.contains(">Your care<"), "{main}");
    assert!(home.contains(">People you support</a>"), "the menu names his home the same way");
    assert_today_first(&home);
    // One status card for Margaret: her name links to her page; today's doses in one line.
    assert!(main.contains("<a class=\"govuk-link\" href=\"/people/person-1\">Margaret Okafor</a>"), "{main}");
    assert!(main.contains("<strong>Medicines today:</strong> 1 given, 1 due later</p>"), "one labelled line: {main}");
    // No grant for visits: the visit part is simply absent.
    assert!(!main.contains("Next visit") && !main.contains("Visit now") && !main.contains("1pm to 1:30pm"), "{main}");
    assert!(!main.contains("You can see their medicines until"), "the grant sentence is gone from home");

    // Her page: the card first, with each dose; still no visits.
    let page = text(&sam.get("/people/person-1"));
    assert_today_first(&page);
    let main = main_of(&page);
    assert!(main.contains("<span class=\"app-today__time\">8am</span> Paracetamol 500 mg tablets"), "{main}");
    assert!(!main.contains("Next visit") && !main.contains("Earlier today"), "{main}");

    insta::assert_snapshot!("sam_home", main_of(&home));
    insta::assert_snapshot!("sam_person_page", main);

    // His looks are in her access log as his, under his grant.
    let events = block_on(portal.store().audit_for_subject(&support::own_record("person-1"), 100)).unwrap();
    assert!(events.iter().any(|event| event.actor_id.as_deref() == Some("person-sam") && event.detail.contains("today's doses on their page")));
    assert!(!events.iter().any(|event| event.actor_id.as_deref() == Some("person-sam") && event.detail.contains("today's visits")));

    // Someone else's page, or a made-up one: 404, nothing about them.
    let (_, _) = portal.person_with_invitation("person-2", "Arthur Jenkins");
    assert_eq!(sam.get("/people/person-2").status(), 404);
    assert_eq!(sam.get("/people/nobody").status(), 404);
}

#[test]
fn answers_and_conversations_wait_for_whoever_may_act_on_them() {
    let portal = margaret_today();
    let sam = sam_with_medicines_only(&portal);
    let store = portal.store();
    // Sam asked for a correction; the provider answered yesterday.
    let comment = Comment {
        id: "c-sam".into(),
        person_id: "person-1".into(),
        category: Category::Medication,
        entry_id: None,
        entry_label: String::new(),
        kind: CommentKind::Correction,
        body: "The evening dose is 1 tablet.".into(),
        author_id: "person-sam".into(),
        author_name: "Sam Okafor".into(),
        acting_for: None,
        created_at: portal.now.get() - Duration::days(2),
        status: CommentStatus::Open,
        response: None,
        responded_by: None,
        responded_at: None,
        version: 1,
    };
    block_on(store.insert_comment(&comment)).unwrap();
    let answer = Answer { status: CommentStatus::Corrected, response: "Put right.", responded_by: "Brookside" };
    block_on(store.answer_comment("person-1", "c-sam", 1, &answer, portal.now.get() - Duration::days(1))).unwrap();
    let home = text(&sam.get("/home"));
    assert!(home.contains("Brookside answered your correction on 20 November 2026."), "{home}");
    assert!(home.contains("<a class=\"govuk-link\" href=\"/people/person-1/comments\">Read the answer to your correction</a>"), "{home}");
    // Not Margaret's answer to read: it was Sam's correction.
    assert!(!text(&portal.get("/home")).contains("answered your correction"));

    // A conversation Brookside wrote down waits for Margaret to check, not for Sam (no act-for).
    let discussion = Discussion {
        id: "d1".into(),
        person_id: "person-1".into(),
        organisation_id: "org-care".into(),
        held_on: portal.now.get().date_naive() - Duration::days(1),
        method: Method::Phone,
        participants: vec![Participant { role: Part::Person, name: "Margaret Okafor".into() }, Participant { role: Part::Staff, name: "Priya Shah".into() }],
        covered: vec![Topic::WhoCanSee],
        decisions: "Sam may see the medicines.".into(),
        persons_words: "Sam helps with my tablets.".into(),
        recorded_by: "Priya Shah".into(),
        recorded_at: portal.now.get(),
        status: DiscussionStatus::Awaiting,
        response: None,
        responded_by: None,
        acting_for: None,
        responded_at: None,
        version: 1,
    };
    block_on(store.insert_discussion(&discussion, None)).unwrap();
    let home = text(&portal.get("/home"));
    assert_today_first(&home);
    assert!(home.contains("Your care provider wrote down a conversation with you about your information. <a class=\"govuk-link\" href=\"/people/person-1/discussions\">Check it is right</a>"), "{home}");
    assert!(!text(&sam.get("/home")).contains("Check it is right"), "Sam may not answer for her");
}

/// A provider's member of staff with a grant for visits and medicines at Brookside.
fn brookside_staff(portal: &Portal) -> Portal {
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_person(&Person {
        id: "staff-jo".into(),
        role: Role::ProviderStaff,
        display_name: "Jo Adeyemi".into(),
        organisation_id: Some("org-care".into()),
        webauthn_handle: uuid::Uuid::from_u128(9_001),
        created_at: now,
    }))
    .unwrap();
    block_on(store.insert_grant(
        &Grant {
            id: "grant-brookside".into(),
            version: 1,
            subject_id: "person-1".into(),
            grantee: Grantee::Organisation("org-care".into()),
            categories: [Category::VisitsAndNotes, Category::Medication, Category::CarePlan].into_iter().collect::<BTreeSet<_>>(),
            actions: [Action::View].into_iter().collect::<BTreeSet<_>>(),
            act_for: false,
            purpose: "care and support".into(),
            starts_at: now - Duration::days(30),
            ends_at: None,
            basis: Basis::Consent,
            evidence: None,
            recorded_by: "council".into(),
            revoked_at: None,
        },
        now,
        None,
    ))
    .unwrap();
    let (invitation, code) = invitation::issue("staff-jo", None, now, DEFAULT_LIFETIME, &portal.random);
    block_on(store.insert_invitation(&invitation)).unwrap();
    let browser = portal.other_browser(31);
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

#[test]
fn a_providers_staff_member_sees_the_card_on_the_persons_page_and_no_other_provider_does() {
    let portal = margaret_today();
    let jo = brookside_staff(&portal);
    let page = text(&jo.get("/people/person-1"));
    assert_today_first(&page);
    let main = main_of(&page);
    assert!(main.contains("Today, 1pm to 1:30pm with Jo <strong class=\"govuk-tag govuk-tag--blue\">Due</strong>"), "{main}");
    assert!(main.contains("Paracetamol 500 mg tablets, 2 tablets <strong class=\"govuk-tag govuk-tag--green\">Given</strong>"), "{main}");
    assert!(!main.contains("Waiting for you"), "a provider confirms nothing for the person");
    insta::assert_snapshot!("staff_person_page", main);

    // Another provider's staff: the page does not exist for them.
    block_on(portal.store().insert_organisation(&Organisation {
        id: "org-other".into(),
        kind: OrganisationKind::Provider,
        name: "Elsewhere Care".into(),
        created_at: portal.now.get(),
    }))
    .unwrap();
    block_on(portal.store().insert_person(&Person {
        id: "staff-other".into(),
        role: Role::ProviderStaff,
        display_name: "Pat Other".into(),
        organisation_id: Some("org-other".into()),
        webauthn_handle: uuid::Uuid::from_u128(9_002),
        created_at: portal.now.get(),
    }))
    .unwrap();
    let (invitation, code) = invitation::issue("staff-other", None, portal.now.get(), DEFAULT_LIFETIME, &portal.random);
    block_on(portal.store().insert_invitation(&invitation)).unwrap();
    let other = portal.other_browser(32);
    assert_eq!(other.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    let refused = other.get("/people/person-1");
    assert_eq!(refused.status(), 404);
    assert!(!text(&refused).contains("Paracetamol"));
}
