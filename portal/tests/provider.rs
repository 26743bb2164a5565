//! Provider staff on a phone during a visit, through the router: "People I support today"
//! (needs first, today's visits first), recording a consent discussion that the person then
//! confirms, answering comments — and everyone who must not get in: another provider's staff,
//! a view-only provider answering, a family member and a council caseworker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_shared::comments::{Comment, CommentKind, CommentStatus};
use carefront_shared::consent::{Action, Basis, Category, Grant, Grantee};
use carefront_shared::db::Database as _;
use carefront_shared::discussion::{Role as Part, Status};
use carefront_shared::domain::{Organisation, OrganisationKind, Person, Role};
use carefront_shared::invitation::{self, DEFAULT_LIFETIME};
use carefront_shared::needs::{Need, RecordedNeed};
use carefront_shared::record::{CareVisit, VisitStatus};
use carefront_shared::store::{DiscussionStore, RecordStore, Store, VoiceStore};
use chrono::Duration;
use pollster::block_on;
use support::{Holding, Portal, ResidentSoftPasskey, text};

/// Someone with an account of `role` at `organisation`, enrolled in a browser of their own.
fn account(portal: &Portal, id: &str, name: &str, role: Role, organisation: Option<&str>, seed: u64) -> Portal {
    let store = portal.store();
    let now = portal.now.get();
    block_on(store.insert_person(&Person {
        id: id.into(),
        role,
        display_name: name.into(),
        organisation_id: organisation.map(Into::into),
        webauthn_handle: uuid::Uuid::from_u128(u128::from(seed) + 700),
        created_at: now,
    }))
    .unwrap();
    let (invitation, code) = invitation::issue(id, None, now, DEFAULT_LIFETIME, &portal.random);
    block_on(store.insert_invitation(&invitation)).unwrap();
    let browser = portal.other_browser(seed);
    assert_eq!(browser.enrol(&code.to_string(), &mut ResidentSoftPasskey::new()).status(), 200);
    browser
}

fn grant(portal: &Portal, id: &str, subject: &str, organisation: &str, categories: &[Category], actions: &[Action], ends_in: Option<Duration>) {
    let now = portal.now.get();
    block_on(portal.store().insert_grant(
        &Grant {
            id: id.into(),
            version: 1,
            subject_id: subject.into(),
            grantee: Grantee::Organisation(organisation.into()),
            categories: categories.iter().copied().collect::<BTreeSet<_>>(),
            actions: actions.iter().copied().collect::<BTreeSet<_>>(),
            act_for: false,
            purpose: "care and support".into(),
            starts_at: now - Duration::days(30),
            ends_at: ends_in.map(|ends_in| now + ends_in),
            basis: Basis::Consent,
            evidence: None,
            recorded_by: "council".into(),
            revoked_at: None,
        },
        now,
        None,
    ))
    .unwrap();
}

fn comment(portal: &Portal, id: &str, person: &str, category: Category, kind: CommentKind, body: &str, minutes_ago: i64) {
    block_on(portal.store().insert_comment(&Comment {
        id: id.into(),
        person_id: person.into(),
        category,
        entry_id: None,
        entry_label: String::new(),
        kind,
        body: body.into(),
        author_id: person.into(),
        author_name: "Margaret Okafor".into(),
        acting_for: None,
        created_at: portal.now.get() - Duration::minutes(minutes_ago),
        status: CommentStatus::Open,
        response: None,
        responded_by: None,
        responded_at: None,
        version: 1,
    }))
    .unwrap();
}

fn need(portal: &Portal, id: &str, person: &str, need: Need) -> RecordedNeed {
    RecordedNeed {
        id: id.into(),
        person_id: person.into(),
        need,
        detail: String::new(),
        recorded_by: person.into(),
        recorded_by_name: "Margaret Okafor".into(),
        acting_for: None,
        consent_discussion_id: None,
        recorded_at: portal.now.get(),
        ended_at: None,
    }
}

/// Margaret (person-1, signed in in `portal`) with a full record and a visit by Brookside at
/// 8am today, large print, easy read and no paper copies; Arthur (person-2), whom Brookside may
/// only view; Beatrice (person-3), whom only Riverside supports; Colin (person-4), whose grant
/// to Brookside ended. Priya works for Brookside, Ravi for Riverside.
struct World {
    margaret: Portal,
    priya: Portal,
    ravi: Portal,
}

fn world() -> World {
    let margaret = support::margaret_with_full_record();
    let store = margaret.store();
    let now = margaret.now.get();
    block_on(store.insert_organisation(&Organisation {
        id: "org-river".into(),
        kind: OrganisationKind::Provider,
        name: "Riverside Care".into(),
        created_at: now,
    }))
    .unwrap();
    block_on(store.insert_organisation(&Organisation {
        id: "org-council".into(),
        kind: OrganisationKind::Council,
        name: "Northshire".into(),
        created_at: now,
    }))
    .unwrap();
    let all = [Category::CarePlan, Category::Medication, Category::VisitsAndNotes, Category::Contacts, Category::Preferences];
    grant(&margaret, "g-brookside-1", "person-1", "org-care", &all, &[Action::View, Action::Contribute], None);
    for (id, name) in [("person-2", "Arthur Hughes"), ("person-3", "Beatrice Lowe"), ("person-4", "Colin Marsh")] {
        margaret.person_with_invitation(id, name);
    }
    grant(&margaret, "g-brookside-2", "person-2", "org-care", &[Category::CarePlan], &[Action::View], Some(Duration::days(90)));
    grant(&margaret, "g-river-3", "person-3", "org-river", &all, &[Action::View, Action::Contribute], None);
    grant(&margaret, "g-brookside-4", "person-4", "org-care", &all, &[Action::View, Action::Contribute], Some(-Duration::days(1)));
    let needs = [
        need(&margaret, "n1", "person-1", Need::LargePrint24),
        need(&margaret, "n2", "person-1", Need::EasyRead),
        need(&margaret, "n3", "person-1", Need::NoPaperCopies),
    ];
    block_on(store.change_needs("person-1", &[], &needs, "person-1", now)).unwrap();
    comment(&margaret, "c-plan", "person-1", Category::CarePlan, CommentKind::Correction, "I walk to the shop on my own now.", 120);
    comment(&margaret, "c-meds", "person-1", Category::Medication, CommentKind::Comment, "The evening tablets make me sleepy.", 30);
    comment(&margaret, "c-arthur", "person-2", Category::CarePlan, CommentKind::Correction, "My daughter's number is wrong.", 60);
    comment(&margaret, "c-beatrice", "person-3", Category::CarePlan, CommentKind::Comment, "Riverside only.", 10);
    let priya = account(&margaret, "staff-priya", "Priya Shah", Role::ProviderStaff, Some("org-care"), 81);
    let ravi = account(&margaret, "staff-ravi", "Ravi Patel", Role::ProviderStaff, Some("org-river"), 82);
    World { margaret, priya, ravi }
}

fn rows(portal: &Portal, sql: &str) -> Vec<String> {
    block_on(portal.db.query(sql, &[])).unwrap().iter().map(|row| row.text(0).unwrap()).collect()
}

fn post(browser: &Portal, path: &str, fields: &[(&str, &str)]) -> carefront_portal::Response {
    let csrf = browser.csrf_from("/home");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form(path, &all)
}

/// The `<main>` element, CSRF tokens masked (as the page snapshots keep it).
fn main_of(html: &str) -> String {
    let start = html.find("<main").unwrap();
    let end = html.find("</main>").unwrap() + "</main>".len();
    let main = &html[start..end];
    match main.find("name=\"csrf\" value=\"") {
        None => main.to_owned(),
        Some(at) => {
            let value = at + "name=\"csrf\" value=\"".len();
            let close = value + main[value..].find('"').unwrap();
            format!("{}[csrf]{}", &main[..value], &main[close..])
        }
    }
}

#[test]
fn people_i_support_today_shows_needs_first_and_todays_visits_first() {
    let world = world();
    let response = world.priya.get("/provider");
    assert_eq!(response.status(), 200);
    let page = text(&response);
    let margaret = page.find("Margaret Okafor").expect("Margaret, visited today");
    let arthur = page.find("Arthur Hughes").expect("Arthur, supported");
    assert!(margaret < arthur, "today's visits first: {page}");
    assert!(page.contains("Visit 8am to 8:45am"), "the visit in UK time: {page}");
    let needs = page.find("Large print (at least 24 point)").expect("needs shown");
    let first_link = page.find("/people/person-1/care-plan").expect("a link to what the grant allows");
    assert!(margaret < needs && needs < first_link && page.contains("Easy read"), "needs come first: {page}");
    assert!(page.contains("expressly no paper copies in the home"), "{page}");
    assert!(!page.contains("/people/person-1/documents"), "documents are not granted: {page}");
    for stranger in ["Beatrice Lowe", "Colin Marsh"] {
        assert!(!page.contains(stranger), "never someone without a live grant to the organisation: {stranger}");
    }
    let logged = rows(&world.margaret, "SELECT detail FROM audit_events WHERE subject_id = 'person-1' AND action = 'provider.today_viewed'");
    assert_eq!(
        logged,
        ["Priya Shah of Brookside saw you on their list of people to support today, with your format and communication needs and the time of today's visit."]
    );
    insta::assert_snapshot!("provider_today", main_of(&page));
    // The home page leads there, and the person's page leads back.
    assert!(text(&world.priya.get("/home")).contains("href=\"/provider\""));
    assert!(text(&world.priya.get("/people/person-1")).contains("<a href=\"/provider\" class=\"govuk-back-link\">"));
}

#[test]
fn the_record_pages_open_through_the_organisation_grant_only() {
    let world = world();
    for page in ["", "/care-plan", "/medicines", "/visits", "/contacts", "/needs", "/comments"] {
        assert_eq!(world.priya.get(&format!("/people/person-1{page}")).status(), 200, "{page}");
    }
    for page in ["/documents", "/guide", "/access", "/discussions", "/access-log"] {
        assert_eq!(world.priya.get(&format!("/people/person-1{page}")).status(), 404, "{page}");
    }
    for path in ["/people/person-3/care-plan", "/people/person-4/care-plan", "/people/person-2/medicines"] {
        assert_eq!(world.priya.get(path).status(), 404, "{path}");
    }
}

/// A form's fields, in order (checkboxes repeat their name).
type Fields<'a> = Vec<(&'a str, &'a str)>;

fn good_discussion<'a>() -> Fields<'a> {
    vec![
        ("held-on-day", "21"),
        ("held-on-month", "11"),
        ("held-on-year", "2026"),
        ("method", "home_visit"),
        ("person-present", "yes"),
        ("representative-name", "Sam Okafor"),
        ("representative-role", "family"),
        ("other-name", ""),
        ("other-role", "interpreter"),
        ("covered", "electronic_records"),
        ("covered", "paper_records"),
        ("covered", "formats"),
        ("choice", "no-paper"),
        ("formats", "large-print"),
        ("formats", "easy_read"),
        ("notes", "Sam may see the medicines."),
        ("persons-words", "I can read it on my tablet. No more paper, please."),
    ]
}

#[test]
fn a_carer_records_a_discussion_at_home_and_margaret_confirms_it() {
    let world = world();
    let form = world.priya.get("/provider/people/person-1/discussions/new");
    assert_eq!(form.status(), 200);
    assert!(text(&form).contains("value=\"21\"") && text(&form).contains("expressly no paper copy"), "{}", text(&form));
    let response = post(&world.priya, "/provider/people/person-1/discussions/new", &good_discussion());
    assert_eq!(response.status(), 303, "{}", text(&response));
    assert_eq!(response.headers()["location"], "/provider?done=discussion");
    assert!(text(&world.priya.get("/provider?done=discussion")).contains("Conversation saved."));
    let stored = block_on(world.margaret.store().discussions("person-1")).unwrap();
    assert_eq!(stored.len(), 1);
    let discussion = &stored[0];
    assert_eq!((discussion.organisation_id.as_str(), discussion.recorded_by.as_str(), discussion.status), ("org-care", "staff-priya", Status::Awaiting));
    let parts: Vec<(Part, &str)> = discussion.participants.iter().map(|participant| (participant.role, participant.name.as_str())).collect();
    assert_eq!(parts, [(Part::Person, "Margaret Okafor"), (Part::Family, "Sam Okafor"), (Part::Staff, "Priya Shah")]);
    assert_eq!(
        discussion.decisions,
        "How they want their records: On carefront, and expressly no paper copy in the home. Formats and communication: Large print, Easy read.\n\nSam may see the medicines."
    );
    let logged = rows(&world.margaret, "SELECT detail FROM audit_events WHERE subject_id = 'person-1' AND action = 'consent_discussion.recorded'");
    assert_eq!(logged, ["Priya Shah of Brookside recorded a discussion with you on 21 November 2026 about your information, for you to confirm or dispute."]);

    // Margaret checks it as today: it is waiting on her home page, and she confirms it.
    assert!(text(&world.margaret.get("/home")).contains("Your care provider wrote down a conversation with you about your information."));
    let page = text(&world.margaret.get("/people/person-1/discussions"));
    assert!(page.contains("No more paper, please.") && page.contains("Priya Shah (staff)"), "{page}");
    let answer = post(&world.margaret, &format!("/people/person-1/discussions/{}", discussion.id), &[("version", "1"), ("answer", "right")]);
    assert_eq!(answer.status(), 303, "{}", text(&answer));
    assert_eq!(block_on(world.margaret.store().discussion("person-1", &discussion.id)).unwrap().unwrap().status, Status::Confirmed);
}

#[test]
fn bad_discussion_input_names_each_field_and_writes_nothing() {
    let world = world();
    let before = rows(&world.margaret, "SELECT COUNT(*) || '' FROM audit_events");
    let path = "/provider/people/person-1/discussions/new";
    let long_name = "A".repeat(101);
    let long_name = long_name.as_str();
    let cases: Vec<(Fields<'_>, &[&str])> = vec![
        (
            vec![
                ("held-on-day", "31"),
                ("held-on-month", "2"),
                ("held-on-year", "2026"),
                ("method", "home_visit"),
                ("person-present", "yes"),
                ("persons-words", "Yes"),
            ],
            &["#held-on-day", "#choice", "#covered"],
        ),
        (good_discussion().into_iter().map(|(key, value)| if key == "held-on-day" { (key, "22") } else { (key, value) }).collect(), &["#held-on-day"]),
        (good_discussion().into_iter().filter(|(key, _)| *key != "person-present" && *key != "representative-name").collect(), &["#person-present"]),
        (good_discussion().into_iter().map(|(key, value)| if key == "persons-words" { (key, "  ") } else { (key, value) }).collect(), &["#persons-words"]),
        (good_discussion().into_iter().map(|(key, value)| if key == "other-name" { (key, long_name) } else { (key, value) }).collect(), &["#other-name"]),
    ];
    for (fields, fields_named) in cases {
        let response = post(&world.priya, path, &fields);
        assert_eq!(response.status(), 400);
        let page = text(&response);
        assert!(page.contains("There is a problem"), "{page}");
        for field in fields_named {
            assert!(page.contains(&format!("href=\"{field}\"")), "{field} is named: {page}");
            assert!(page.contains(&format!("id=\"{}\"", &field[1..])), "{field} is on the page");
        }
    }
    // A value the page never offers is a bad request.
    let tampered: Vec<(&str, &str)> =
        good_discussion().into_iter().map(|(key, value)| if key == "choice" { (key, "everything") } else { (key, value) }).collect();
    assert_eq!(post(&world.priya, path, &tampered).status(), 400);
    assert!(block_on(world.margaret.store().discussions("person-1")).unwrap().is_empty(), "nothing written");
    assert_eq!(rows(&world.margaret, "SELECT COUNT(*) || '' FROM audit_events"), before, "nothing logged");
}

#[test]
fn answering_a_comment_keeps_every_answer() {
    let world = world();
    let list = text(&world.priya.get("/provider/comments"));
    let plan = list.find("I walk to the shop on my own now.").expect("the older comment");
    let meds = list.find("The evening tablets make me sleepy.").expect("the newer comment");
    assert!(plan < meds, "the longest waiting first: {list}");
    assert!(!list.contains("Riverside only."), "{list}");
    let path = "/provider/people/person-1/comments/c-plan/answer";
    assert_eq!(world.priya.get(path).status(), 200);
    let bad = post(&world.priya, path, &[("version", "1"), ("response", " ")]);
    assert_eq!(bad.status(), 400);
    assert!(text(&bad).contains("href=\"#status\"") && text(&bad).contains("href=\"#response\""), "{}", text(&bad));
    assert!(rows(&world.margaret, "SELECT comment_id FROM comment_answers").is_empty(), "nothing written");
    let answered = post(&world.priya, path, &[("version", "1"), ("status", "corrected"), ("response", "Your care plan now says so.")]);
    assert_eq!(answered.status(), 303, "{}", text(&answered));
    assert!(text(&world.priya.get("/provider/comments?done=answer")).contains("Answer sent."));
    let stored = block_on(world.margaret.store().comment("person-1", "c-plan")).unwrap().unwrap();
    assert_eq!((stored.status, stored.responded_by.as_deref(), stored.version), (CommentStatus::Corrected, Some("Brookside"), 2));
    // A second answer from the same page is a conflict; nothing is overwritten.
    let stale = post(&world.priya, path, &[("version", "1"), ("status", "declined"), ("response", "Sorry, no.")]);
    assert_eq!(stale.status(), 409);
    assert!(text(&stale).contains("Someone answered this first") && text(&stale).contains("Your care plan now says so."));
    // A later answer is added to the history, not put in place of the first.
    assert_eq!(post(&world.priya, path, &[("version", "2"), ("status", "answered"), ("response", "We also told the council.")]).status(), 303);
    assert_eq!(rows(&world.margaret, "SELECT response FROM comment_answers ORDER BY version"), ["Your care plan now says so.", "We also told the council."]);
    let margaret = text(&world.margaret.get("/people/person-1/comments"));
    assert!(margaret.contains("Your care plan now says so.") && margaret.contains("We also told the council."), "{margaret}");
    let logged = rows(&world.margaret, "SELECT detail FROM audit_events WHERE action = 'comment.answered' ORDER BY at, id");
    assert!(logged.iter().all(|detail| detail.starts_with("Priya Shah of Brookside answered your request for a correction")), "{logged:?}");
    assert!(!text(&world.priya.get("/provider/comments")).contains("I walk to the shop"), "answered comments no longer wait");
}

#[test]
fn nobody_else_reaches_these_pages_or_these_people() {
    let world = world();
    // Another provider's staff: Margaret does not exist for them.
    let river = text(&world.ravi.get("/provider"));
    assert!(river.contains("Beatrice Lowe") && !river.contains("Margaret Okafor"), "{river}");
    assert!(!text(&world.ravi.get("/provider/comments")).contains("I walk to the shop"));
    let new_discussion = "/provider/people/person-1/discussions/new";
    assert_eq!(world.ravi.get(new_discussion).status(), 404);
    assert_eq!(post(&world.ravi, new_discussion, &good_discussion()).status(), 404);
    let answer = "/provider/people/person-1/comments/c-plan/answer";
    assert_eq!(world.ravi.get(answer).status(), 404);
    assert_eq!(post(&world.ravi, answer, &[("version", "1"), ("status", "answered"), ("response", "Not ours.")]).status(), 404);
    // A grant that has ended, and a person who does not exist.
    assert_eq!(world.priya.get("/provider/people/person-4/discussions/new").status(), 404);
    assert_eq!(world.priya.get("/provider/people/nobody/discussions/new").status(), 404);
    // A view-only provider sees the comment but cannot answer it (finding 7).
    let list = text(&world.priya.get("/provider/comments"));
    assert!(list.contains("My daughter&#x27;s number is wrong.") || list.contains("My daughter's number is wrong."), "{list}");
    assert!(list.contains("cannot answer it") && !list.contains("/provider/people/person-2/comments/c-arthur/answer"), "{list}");
    let arthur = "/provider/people/person-2/comments/c-arthur/answer";
    assert_eq!(world.priya.get(arthur).status(), 404);
    assert_eq!(post(&world.priya, arthur, &[("version", "1"), ("status", "declined"), ("response", "No.")]).status(), 404);
    assert_eq!(block_on(world.margaret.store().comment("person-2", "c-arthur")).unwrap().unwrap().status, CommentStatus::Open);
    // A family member, a council caseworker and the person themselves: no provider pages.
    let sam = support::representative(
        &world.margaret,
        "person-sam",
        "Sam Okafor",
        Holding { categories: &[Category::CarePlan], actions: &[Action::View, Action::Contribute], act_for: true },
        83,
    );
    let caseworker = account(&world.margaret, "council-kim", "Kim Adams", Role::CouncilStaff, Some("org-council"), 84);
    for browser in [&sam, &caseworker, &world.margaret] {
        for path in ["/provider", "/provider/comments", new_discussion, answer] {
            assert_eq!(browser.get(path).status(), 404, "{path}");
        }
        assert_eq!(post(browser, new_discussion, &good_discussion()).status(), 404);
    }
    // Signed out: sign in first.
    assert_eq!(Portal::new().get("/provider").status(), 303);
    assert!(block_on(world.margaret.store().discussions("person-1")).unwrap().is_empty());
}

/// Regression: `/provider/comments` read every person the organisation supports, and each
/// one's comments, at every look (thousands of queries for a large provider) and listed every
/// open comment on one page. It is now one query a page, 50 comments a page, the longest
/// waiting first; each person on a page is audited once, and no one else.
#[test]
fn provider_comments_page_read_every_person_the_organisation_supports() {
    let world = world();
    let margaret = &world.margaret;
    for index in 0..60 {
        let id = format!("person-many-{index:02}");
        margaret.person_with_invitation(&id, &format!("Person {index:02}"));
        grant(margaret, &format!("g-many-{index:02}"), &id, "org-care", &[Category::CarePlan], &[Action::View, Action::Contribute], None);
        comment(margaret, &format!("c-many-{index:02}"), &id, Category::CarePlan, CommentKind::Comment, &format!("Comment number {index:02}."), 1000 - index);
    }
    let first = text(&world.priya.get("/provider/comments")).replace("&#x2f;", "/");
    let order = |page: &str| -> Vec<String> { page.match_indices("Comment number ").map(|(at, _)| page[at + 15..at + 17].to_owned()).collect() };
    let expected: Vec<String> = (0..50).map(|index| format!("{index:02}")).collect();
    assert_eq!(order(&first), expected, "the 50 longest waiting, oldest first");
    assert!(!first.contains("I walk to the shop"), "Margaret's newer comment waits for the next page");
    let next = first.split("href=\"/provider/comments?after=").nth(1).and_then(|rest| rest.split('"').next()).expect("a next page link");
    let second = text(&world.priya.get(&format!("/provider/comments?after={}", next.replace("&amp;", "&"))));
    assert_eq!(order(&second), (50..60).map(|index| format!("{index:02}")).collect::<Vec<_>>());
    assert!(second.contains("I walk to the shop") && second.contains("The evening tablets") && second.contains("My daughter"), "{second}");
    assert!(!second.contains("Riverside only.") && !second.contains("Next 50 comments"), "{second}");
    assert!(second.contains("Back to the longest waiting"));
    // Each person on a page once in their log; Beatrice (Riverside's) never.
    let seen = rows(margaret, "SELECT subject_id FROM audit_events WHERE action = 'comments.viewed' ORDER BY subject_id");
    assert_eq!(seen.len(), 62, "60 people, Margaret and Arthur: {seen:?}");
    assert!(!seen.contains(&"person-3".to_owned()));
    assert_eq!(world.priya.get("/provider/comments?after=nonsense").status(), 400);
}

/// A visit by `organisation` to `person` starting `minutes` from now.
fn visit_today(portal: &Portal, id: &str, person: &str, organisation: &str, minutes: i64) {
    let starts_at = portal.now.get() + Duration::minutes(minutes);
    block_on(portal.store().upsert_visit(&CareVisit {
        id: id.into(),
        person_id: person.into(),
        organisation_id: organisation.into(),
        starts_at,
        ends_at: starts_at + Duration::minutes(30),
        status: VisitStatus::Planned,
        carers: "Jo Adeyemi".into(),
        note: String::new(),
        recorded_at: portal.now.get(),
    }))
    .unwrap();
}

/// The people on a page of `/provider`, in order.
fn names_on(page: &str) -> Vec<String> {
    page.split("<h3 class=\"govuk-summary-card__title\">").skip(1).filter_map(|rest| rest.split("</h3>").next()).map(str::to_owned).collect()
}

/// Regression: `/provider` read every grant the member of staff held, then each person's grants,
/// name, needs, visits and record sections one by one (five queries a person at every look, for
/// a provider supporting thousands), and audited everyone on one endless page. It is now two
/// paged joins, 25 people a page: those visited today by their first visit, then everyone else
/// by name; only those on the page shown are audited, and each once.
#[test]
fn provider_today_page_read_every_person_the_organisation_supports() {
    let world = world();
    let margaret = &world.margaret;
    for index in 0..60 {
        let id = format!("person-many-{index:02}");
        margaret.person_with_invitation(&id, &format!("Person {index:02}"));
        grant(margaret, &format!("g-many-{index:02}"), &id, "org-care", &[Category::CarePlan, Category::VisitsAndNotes], &[Action::View], None);
        if index % 2 == 0 {
            // Later people are visited earlier.
            visit_today(margaret, &format!("v-many-{index:02}"), &id, "org-care", 100 - index);
        } else {
            // Another provider's visit does not put them among Brookside's visits.
            visit_today(margaret, &format!("v-river-{index:02}"), &id, "org-river", 10);
        }
    }
    // Arthur's grant does not cover visits: Brookside's visit to him today stays off his card.
    visit_today(margaret, "v-arthur", "person-2", "org-care", 200);
    // Two visits at the same time, and later ones, list a person once, at the first; a visit
    // yesterday does not count.
    visit_today(margaret, "v-many-00-again", "person-many-00", "org-care", 100);
    visit_today(margaret, "v-many-00-later", "person-many-00", "org-care", 300);
    visit_today(margaret, "v-many-01-yesterday", "person-many-01", "org-care", -24 * 60);

    let first = text(&world.priya.get("/provider")).replace("&#x2f;", "/");
    let mut expected = vec!["Margaret Okafor".to_owned()];
    expected.extend((6..30).rev().map(|half| format!("Person {:02}", half * 2)));
    assert_eq!(names_on(&first), expected, "today's visits by their first visit, 25 a page: {first}");
    assert!(first.contains("Visits today") && !first.contains("Everyone else you support"));
    let link = |page: &str| page.split("href=\"/provider?after=").nth(1).and_then(|rest| rest.split('"').next()).map(|after| after.replace("&amp;", "&"));
    let second_link = link(&first).expect("a next page link");
    let second = text(&world.priya.get(&format!("/provider?after={second_link}"))).replace("&#x2f;", "/");
    let mut expected: Vec<String> = (0..6).rev().map(|half| format!("Person {:02}", half * 2)).collect();
    expected.push("Arthur Hughes".into());
    expected.extend((0..18).map(|half| format!("Person {:02}", half * 2 + 1)));
    assert_eq!(names_on(&second), expected, "the rest of today's visits, then everyone else by name: {second}");
    let arthur = second.split("Arthur Hughes</h3>").nth(1).and_then(|rest| rest.split("govuk-summary-card__title").next()).unwrap();
    assert!(!arthur.contains("Visit "), "no visit time without a grant to visits: {arthur}");
    assert!(second.contains("Back to the start of today's list") && second.contains("Everyone else you support"));
    let third_link = link(&second).expect("a third page");
    let third = text(&world.priya.get(&format!("/provider?after={third_link}")));
    assert_eq!(names_on(&third), (18..30).map(|half| format!("Person {:02}", half * 2 + 1)).collect::<Vec<_>>());
    assert!(third.contains("Everyone you support without a visit today") && link(&third).is_none(), "{third}");

    // Everyone once in their own log, across the pages; Beatrice (Riverside's) and Colin (ended) never.
    let seen = rows(margaret, "SELECT subject_id FROM audit_events WHERE action = 'provider.today_viewed' ORDER BY subject_id");
    assert_eq!(seen.len(), 62, "60 people, Margaret and Arthur: {seen:?}");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 62, "each once");
    assert!(!seen.contains(&"person-3".to_owned()) && !seen.contains(&"person-4".to_owned()));
    // Links this list never gives.
    for bad in ["nonsense", "o|nobody", "v|not-a-time|person-1", "v|2026-01-01T00:00:00.000Z|", "x|y"] {
        let path = format!("/provider?{}", serde_urlencoded::to_string([("after", bad)]).unwrap());
        assert_eq!(world.priya.get(&path).status(), 400, "{bad}");
    }
    // Ravi (Riverside) sees only Beatrice. A page after someone Riverside does not support is
    // not one it is given (it would tell where their name falls in the alphabet).
    assert_eq!(names_on(&text(&world.ravi.get("/provider"))), ["Beatrice Lowe"]);
    assert_eq!(world.ravi.get(&format!("/provider?after={third_link}")).status(), 400);
    assert_eq!(world.ravi.get("/provider?after=o%7Cperson-4").status(), 400, "nor after someone whose grant ended");
}
