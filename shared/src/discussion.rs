//! Consent discussions: the evidence a provider keeps that it talked with the person (and
//! their family) about their information — electronic or paper records, formats, who can see
//! what, how to change their mind — and what was decided, in the person's own words. The
//! person confirms it ("this is right") or disputes it; nothing is assumed from silence.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How the discussion was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// In the person's home.
    HomeVisit,
    /// By telephone.
    Phone,
    /// By video call.
    Video,
}

impl Method {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::HomeVisit => "home_visit",
            Method::Phone => "phone",
            Method::Video => "video",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Method> {
        [Method::HomeVisit, Method::Phone, Method::Video].into_iter().find(|method| method.as_str() == text)
    }

    /// In words.
    pub fn words(self) -> &'static str {
        match self {
            Method::HomeVisit => "a visit at home",
            Method::Phone => "a phone call",
            Method::Video => "a video call",
        }
    }
}

/// Who took part, in what capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The person themselves.
    Person,
    /// A family member or friend.
    Family,
    /// An advocate.
    Advocate,
    /// An interpreter.
    Interpreter,
    /// The provider's member of staff.
    Staff,
}

impl Role {
    /// In words.
    pub fn words(self) -> &'static str {
        match self {
            Role::Person => "the person",
            Role::Family => "family",
            Role::Advocate => "advocate",
            Role::Interpreter => "interpreter",
            Role::Staff => "staff",
        }
    }
}

/// One participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Their part.
    pub role: Role,
    /// Their name.
    pub name: String,
}

/// A topic the discussion covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Keeping records electronically, in carefront.
    ElectronicRecords,
    /// The paper copy in the home.
    PaperRecords,
    /// Formats and communication needs.
    Formats,
    /// Who can see what.
    WhoCanSee,
    /// How to change their mind.
    ChangingTheirMind,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 5] = [Topic::ElectronicRecords, Topic::PaperRecords, Topic::Formats, Topic::WhoCanSee, Topic::ChangingTheirMind];

    /// The stored name (as in the API's JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::ElectronicRecords => "electronic_records",
            Topic::PaperRecords => "paper_records",
            Topic::Formats => "formats",
            Topic::WhoCanSee => "who_can_see",
            Topic::ChangingTheirMind => "changing_their_mind",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|topic| topic.as_str() == text)
    }

    /// In words.
    pub fn words(self) -> &'static str {
        match self {
            Topic::ElectronicRecords => "keeping your records electronically, in carefront",
            Topic::PaperRecords => "the paper copy of your care plan in your home",
            Topic::Formats => "the formats you need information in",
            Topic::WhoCanSee => "who can see which parts of your information",
            Topic::ChangingTheirMind => "how to change your mind at any time",
        }
    }
}

/// Where the person's answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the person.
    Awaiting,
    /// The person said it is right.
    Confirmed,
    /// The person said it is not right, and why.
    Disputed,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Awaiting => "awaiting",
            Status::Confirmed => "confirmed",
            Status::Disputed => "disputed",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Status> {
        [Status::Awaiting, Status::Confirmed, Status::Disputed].into_iter().find(|status| status.as_str() == text)
    }
}

/// A consent discussion as recorded, with the person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discussion {
    /// Stable identifier.
    pub id: String,
    /// With whom.
    pub person_id: String,
    /// The provider that held it.
    pub organisation_id: String,
    /// When.
    pub held_on: NaiveDate,
    /// How.
    pub method: Method,
    /// Who took part.
    pub participants: Vec<Participant>,
    /// What was covered.
    pub covered: Vec<Topic>,
    /// What was decided.
    pub decisions: String,
    /// The person's own words.
    pub persons_words: String,
    /// Who recorded it (a member of staff, or a system credential).
    pub recorded_by: String,
    /// When.
    pub recorded_at: DateTime<Utc>,
    /// The person's answer.
    pub status: Status,
    /// Their comment (required when disputing).
    pub response: Option<String>,
    /// Who answered (the person, or someone acting for them).
    pub responded_by: Option<String>,
    /// For whom they answered, if not themselves.
    pub acting_for: Option<String>,
    /// When.
    pub responded_at: Option<DateTime<Utc>>,
    /// Increases with every answer.
    pub version: i64,
}

/// Why a discussion cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscussionProblem {
    /// In the future, or more than ten years ago.
    #[error("held_on must be a date in the last ten years, not in the future")]
    BadDate,
    /// Nobody named, or the person not among them.
    #[error("participants must include the person (role \"person\") or say who spoke for them (family or advocate)")]
    NoPerson,
    /// A participant without a name.
    #[error("every participant needs a name of up to 100 characters")]
    BadParticipant,
    /// Nothing covered.
    #[error("covered must list at least one topic")]
    NothingCovered,
    /// A text field empty or too long.
    #[error("{0} must be 1 to 4,000 characters")]
    BadText(&'static str),
    /// More participants than [`MAX_PARTICIPANTS`].
    #[error("list at most 20 participants")]
    TooManyParticipants,
}

/// The most participants one discussion names.
pub const MAX_PARTICIPANTS: usize = 20;

fn text_ok(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.chars().count() <= 4000 && !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

impl Discussion {
    /// Checks a discussion a provider records at `now`. "Today" is the UK date: a discussion
    /// held at 00:30 on a summer morning is not in the future, though it is still yesterday in
    /// UTC.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), DiscussionProblem> {
        let today = crate::uk_time::date(now);
        if self.held_on > today || self.held_on < today - chrono::Duration::days(3660) {
            return Err(DiscussionProblem::BadDate);
        }
        if self.participants.len() > MAX_PARTICIPANTS {
            return Err(DiscussionProblem::TooManyParticipants);
        }
        if self.participants.iter().any(|participant| {
            let name = participant.name.trim();
            name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control)
        }) {
            return Err(DiscussionProblem::BadParticipant);
        }
        if !self.participants.iter().any(|participant| matches!(participant.role, Role::Person | Role::Family | Role::Advocate)) {
            return Err(DiscussionProblem::NoPerson);
        }
        if self.covered.is_empty() {
            return Err(DiscussionProblem::NothingCovered);
        }
        if !text_ok(&self.decisions) {
            return Err(DiscussionProblem::BadText("decisions"));
        }
        if !text_ok(&self.persons_words) {
            return Err(DiscussionProblem::BadText("persons_words"));
        }
        Ok(())
    }
}

/// A discussion as the provider describes it, from its system's JSON or its staff's form,
/// before it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscussionEntry {
    /// When.
    pub held_on: NaiveDate,
    /// How.
    pub method: Method,
    /// Who took part.
    pub participants: Vec<Participant>,
    /// What was covered (repeats are dropped).
    pub covered: Vec<Topic>,
    /// What was decided.
    pub decisions: String,
    /// The person's own words.
    pub persons_words: String,
}

/// Who a discussion is with, who keeps it and who wrote it down: what the entry itself does not
/// say.
#[derive(Debug, Clone, Copy)]
pub struct Recording<'a> {
    /// The new discussion's id.
    pub id: &'a str,
    /// With whom.
    pub person_id: &'a str,
    /// The provider that held it.
    pub organisation_id: &'a str,
    /// Who wrote it down (a member of staff, or a system credential).
    pub recorded_by: &'a str,
    /// When.
    pub now: DateTime<Utc>,
}

impl DiscussionEntry {
    /// The discussion to keep, awaiting the person's answer: names and texts trimmed, each
    /// topic once, then checked. The API and the portal both record through this.
    pub fn into_discussion(self, recording: Recording<'_>) -> Result<Discussion, DiscussionProblem> {
        let mut covered: Vec<Topic> = Vec::new();
        for topic in self.covered {
            if !covered.contains(&topic) {
                covered.push(topic);
            }
        }
        let discussion = Discussion {
            id: recording.id.to_owned(),
            person_id: recording.person_id.to_owned(),
            organisation_id: recording.organisation_id.to_owned(),
            held_on: self.held_on,
            method: self.method,
            participants: self
                .participants
                .into_iter()
                .map(|participant| Participant { role: participant.role, name: participant.name.trim().to_owned() })
                .collect(),
            covered,
            decisions: self.decisions.trim().to_owned(),
            persons_words: self.persons_words.trim().to_owned(),
            recorded_by: recording.recorded_by.to_owned(),
            recorded_at: recording.now,
            status: Status::Awaiting,
            response: None,
            responded_by: None,
            acting_for: None,
            responded_at: None,
            version: 1,
        };
        discussion.check(recording.now)?;
        Ok(discussion)
    }
}

/// The line in the person's access log for a discussion `by` recorded with them.
pub fn recorded_detail(by: &str, held_on: NaiveDate) -> String {
    format!("{by} recorded a discussion with you on {} about your information, for you to confirm or dispute.", held_on.format("%-d %B %Y"))
}

/// The share of `people` with a discussion confirmed by the person in the 12 months before
/// `now`, as (confirmed, total).
pub fn confirmed_share(people: &[String], discussions: &[Discussion], now: DateTime<Utc>) -> (usize, usize) {
    let since = now.date_naive() - chrono::Duration::days(365);
    let confirmed = people
        .iter()
        .filter(|person| {
            discussions.iter().any(|discussion| &discussion.person_id == *person && discussion.status == Status::Confirmed && discussion.held_on >= since)
        })
        .count();
    (confirmed, people.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discussion() -> Discussion {
        Discussion {
            id: "d1".into(),
            person_id: "p".into(),
            organisation_id: "o".into(),
            held_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
            method: Method::HomeVisit,
            participants: vec![Participant { role: Role::Person, name: "Margaret".into() }, Participant { role: Role::Staff, name: "Priya".into() }],
            covered: vec![Topic::ElectronicRecords, Topic::WhoCanSee],
            decisions: "Records in carefront; Sam sees medicines.".into(),
            persons_words: "I want Sam to help with my tablets.".into(),
            recorded_by: "priya".into(),
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
            status: Status::Awaiting,
            response: None,
            responded_by: None,
            acting_for: None,
            responded_at: None,
            version: 1,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").map(|time| time.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn topic_names_are_the_json_names() {
        for topic in Topic::ALL {
            assert_eq!(Topic::parse(topic.as_str()), Some(topic));
            assert_eq!(serde_json::to_value(topic).ok(), Some(serde_json::Value::from(topic.as_str())));
        }
    }

    #[test]
    fn a_discussion_needs_the_person_a_topic_and_their_words() {
        assert_eq!(discussion().check(now()), Ok(()));
        let future = Discussion { held_on: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(), ..discussion() };
        assert_eq!(future.check(now()), Err(DiscussionProblem::BadDate));
        let staff_only = Discussion { participants: vec![Participant { role: Role::Staff, name: "Priya".into() }], ..discussion() };
        assert_eq!(staff_only.check(now()), Err(DiscussionProblem::NoPerson));
        let nameless = Discussion { participants: vec![Participant { role: Role::Person, name: " ".into() }], ..discussion() };
        assert_eq!(nameless.check(now()), Err(DiscussionProblem::BadParticipant));
        assert_eq!(Discussion { covered: vec![], ..discussion() }.check(now()), Err(DiscussionProblem::NothingCovered));
        assert_eq!(Discussion { persons_words: "".into(), ..discussion() }.check(now()), Err(DiscussionProblem::BadText("persons_words")));
    }

    #[test]
    fn today_is_the_uk_date_and_an_entry_is_trimmed_deduplicated_and_checked() {
        // 00:30 on 2 July in the UK is 23:30 on 1 July in UTC: held on 2 July is today.
        let summer_night = DateTime::parse_from_rfc3339("2026-07-01T23:30:00Z").map(|time| time.with_timezone(&Utc)).unwrap_or_default();
        let entry = DiscussionEntry {
            held_on: NaiveDate::from_ymd_opt(2026, 7, 2).unwrap_or_default(),
            method: Method::HomeVisit,
            participants: vec![Participant { role: Role::Person, name: "  Margaret ".into() }],
            covered: vec![Topic::Formats, Topic::Formats, Topic::PaperRecords],
            decisions: " Both. ".into(),
            persons_words: "Paper for my daughter.".into(),
        };
        let recording = Recording { id: "d9", person_id: "p", organisation_id: "o", recorded_by: "priya", now: summer_night };
        let discussion = entry.clone().into_discussion(recording).unwrap_or_else(|problem| panic!("{problem}"));
        assert_eq!((discussion.participants[0].name.as_str(), discussion.decisions.as_str()), ("Margaret", "Both."));
        assert_eq!(discussion.covered, [Topic::Formats, Topic::PaperRecords]);
        assert_eq!((discussion.status, discussion.version, discussion.id.as_str()), (Status::Awaiting, 1, "d9"));
        let tomorrow = DiscussionEntry { held_on: NaiveDate::from_ymd_opt(2026, 7, 3).unwrap_or_default(), ..entry.clone() };
        assert_eq!(tomorrow.into_discussion(recording), Err(DiscussionProblem::BadDate));
        let crowd = DiscussionEntry { participants: vec![Participant { role: Role::Family, name: "Sam".into() }; MAX_PARTICIPANTS + 1], ..entry };
        assert_eq!(crowd.into_discussion(recording), Err(DiscussionProblem::TooManyParticipants));
    }

    #[test]
    fn only_confirmed_discussions_in_the_last_year_count() {
        let people = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let confirmed = |person: &str, held_on| Discussion { person_id: person.into(), held_on, status: Status::Confirmed, ..discussion() };
        let recent = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default();
        let old = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap_or_default();
        let discussions = [confirmed("a", recent), confirmed("b", old), Discussion { person_id: "c".into(), held_on: recent, ..discussion() }];
        assert_eq!(confirmed_share(&people, &discussions, now()), (1, 3));
    }
}
