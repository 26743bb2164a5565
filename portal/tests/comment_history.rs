//! Finding 7 of issue 9, as the person sees it: a second answer to a comment used to overwrite
//! the first. Every answer is kept, and the comments page lists them all, oldest first, with
//! who answered and when.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::comments::{Comment, CommentKind, CommentStatus};
use carefront_shared::consent::Category;
use carefront_shared::store::VoiceStore;
use carefront_shared::store::voice::Answer;
use chrono::Duration;
use pollster::block_on;
use support::{Portal, ResidentSoftPasskey, text};

#[test]
fn finding_7_the_person_sees_every_answer_as_history() {
    let portal = Portal::new();
    let (_, code) = portal.person_with_invitation("person-1", "Margaret Okafor");
    assert_eq!(portal.enrol(&code, &mut ResidentSoftPasskey::new()).status(), 200);
    let comment = Comment {
        id: "c1".into(),
        person_id: "person-1".into(),
        category: Category::CarePlan,
        entry_id: None,
        entry_label: String::new(),
        kind: CommentKind::Correction,
        body: "I walk to the shop on my own now.".into(),
        author_id: "person-1".into(),
        author_name: "Margaret Okafor".into(),
        acting_for: None,
        created_at: portal.now.get(),
        status: CommentStatus::Open,
        response: None,
        responded_by: None,
        responded_at: None,
        version: 1,
    };
    block_on(portal.store().insert_comment(&comment)).unwrap();
    let first = Answer { status: CommentStatus::Declined, response: "We will check at your review.", responded_by: "Brookside Home Care" };
    block_on(portal.store().answer_comment("person-1", "c1", 1, &first, portal.now.get())).unwrap();
    let second = Answer { status: CommentStatus::Corrected, response: "Your care plan now says so.", responded_by: "Northshire County Council" };
    block_on(portal.store().answer_comment("person-1", "c1", 2, &second, portal.now.get() + Duration::minutes(90))).unwrap();

    let page = text(&portal.get("/people/person-1/comments"));
    let first_at = page.find("We will check at your review.").unwrap_or_else(|| panic!("the first answer is kept: {page}"));
    let second_at = page.find("Your care plan now says so.").unwrap_or_else(|| panic!("the second answer is shown: {page}"));
    assert!(first_at < second_at, "oldest first, newest last: {page}");
    assert!(page.contains("Brookside Home Care answered on") && page.contains("Northshire County Council answered on"), "{page}");
    assert!(page.contains("Not changed") && page.contains("Corrected"), "{page}");
}
