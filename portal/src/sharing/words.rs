//! Grants and their changes in plain language, told either to the person themselves ("your
//! medicines") or to someone acting for them ("Margaret Okafor's medicines").

use carefront_shared::consent::{Action, Basis, Category, Grant, GrantState};
use carefront_shared::uk_time;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::category_names as names;

/// Whose information a page talks about.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    /// The reader's own.
    You,
    /// Someone else's, named.
    Named(&'a str),
}

/// How a category is told: "your medicines", "Margaret Okafor's medicines" (the words are
/// `category_names`'s, the one place every page takes them from).
pub fn category_words(category: Category, whose: Whose<'_>) -> String {
    names::phrase(category, whose.into())
}

fn own_category_words(category: Category) -> String {
    names::phrase(category, names::Whose::You)
}

impl<'a> From<Whose<'a>> for names::Whose<'a> {
    fn from(whose: Whose<'a>) -> Self {
        match whose {
            Whose::You => Self::You,
            Whose::Named(name) => Self::Named(name),
        }
    }
}

/// Retells a sentence written to the person ("… can see your medicines and your contacts") for
/// someone else reading about them ("… can see Margaret Okafor's medicines and contacts"). Audit
/// details are written to the person, whose log it is; this is how others allowed to read it see
/// them. The name is said once; later things in the same sentence are plainly theirs.
pub fn retold(text: &str, whose: Whose<'_>) -> String {
    let Whose::Named(name) = whose else { return text.to_owned() };
    let mut told = String::with_capacity(text.len());
    let mut rest = text;
    let mut named = false;
    // Today's phrases, and those earlier versions wrote into the stored sentences.
    let phrases: Vec<(Category, String)> = Category::ALL
        .into_iter()
        .map(|category| (category, own_category_words(category)))
        .chain(names::EARLIER_PHRASES.iter().map(|(category, phrase)| (*category, (*phrase).to_owned())))
        .collect();
    while let Some((at, category, phrase)) = phrases
        .iter()
        .filter_map(|(category, phrase)| rest.find(phrase.as_str()).map(|at| (at, *category, phrase)))
        .min_by_key(|(at, _, phrase)| (*at, std::cmp::Reverse(phrase.len())))
    {
        told.push_str(&rest[..at]);
        match category_words(category, Whose::You).strip_prefix("your ") {
            Some(noun) if named => told.push_str(noun),
            _ => told.push_str(&category_words(category, whose)),
        }
        named = true;
        rest = &rest[at + phrase.len()..];
    }
    told.push_str(rest);
    told.replace("your information", &format!("{name}'s information"))
        .replace("act for you", &format!("act for {name}"))
        .replace("(you stopped this on", "(stopped on")
}

/// "a, b and c".
pub fn list(items: &[String]) -> String {
    names::and_list(items)
}

/// "1 March 2027".
pub fn day(time: DateTime<Utc>) -> String {
    uk_time::day(time)
}

/// The first letter in capitals, for a label that starts a line.
pub fn capitalised(text: &str) -> String {
    names::capitalised(text)
}

/// One grant as the access pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct GrantView {
    /// Whom the grant is to, by name, for the buttons and links that act on it.
    pub name: String,
    /// The grant's id, for its forms and links.
    pub id: String,
    /// The version the forms are based on.
    pub version: i64,
    /// "Sam Okafor can see your medicines until 1 March 2027."
    pub sentence: String,
    /// The same as a short line and a list: "Sam Okafor can see these parts of your record
    /// until 1 March 2027:"
    pub lead: String,
    /// "Your medicines", "What care you get".
    pub items: Vec<String>,
    /// Why, act-for power and legal basis, in words.
    pub detail: String,
    /// Whether the reader may stop it.
    pub revocable: bool,
    /// Whether the reader may change it.
    pub editable: bool,
}

/// Says a grant in plain language: "Sam Okafor can see your medicines until 1 March 2027."
pub fn sentence(grant: &Grant, grantee_name: &str, whose: Whose<'_>, now: DateTime<Utc>) -> String {
    let categories: Vec<String> = grant.categories.iter().map(|category| category_words(*category, Whose::You)).collect();
    let verb = if grant.actions.contains(&Action::Contribute) { "can see and comment on" } else { "can see" };
    let period = match (grant.state(now), grant.ends_at) {
        (GrantState::NotStarted, Some(ends)) => format!(" from {} until {}", day(grant.starts_at), day(ends)),
        (GrantState::NotStarted, None) => format!(" from {}", day(grant.starts_at)),
        (GrantState::Active, Some(ends)) => format!(" until {}", day(ends)),
        (GrantState::Expired, Some(ends)) => format!(" (ended {})", day(ends)),
        (GrantState::Revoked, _) => grant.revoked_at.map(|at| format!(" (you stopped this on {})", day(at))).unwrap_or_default(),
        _ => String::new(),
    };
    let verb = match grant.state(now) {
        GrantState::Active | GrantState::NotStarted => verb.to_owned(),
        _ => verb.replacen("can", "could", 1),
    };
    retold(&format!("{grantee_name} {verb} {}{period}.", list(&categories)), whose)
}

/// Says a grant as a short line and a list, for a page that shows several (one long sentence of
/// eight categories is hard to read): "Sam Okafor can see these parts of your record until 1
/// March 2027:", then "Your medicines", "What care you get".
pub fn lead_and_items(grant: &Grant, grantee_name: &str, whose: Whose<'_>, now: DateTime<Utc>) -> (String, Vec<String>) {
    let verb = if grant.actions.contains(&Action::Contribute) { "can see and comment on" } else { "can see" };
    let period = match (grant.state(now), grant.ends_at) {
        (GrantState::NotStarted, Some(ends)) => format!(" from {} until {}", day(grant.starts_at), day(ends)),
        (GrantState::NotStarted, None) => format!(" from {}", day(grant.starts_at)),
        (GrantState::Active, Some(ends)) => format!(" until {}", day(ends)),
        _ => String::new(),
    };
    let (record, items): (String, Vec<String>) = match whose {
        Whose::You => ("your record".to_owned(), grant.categories.iter().map(|category| capitalised(&category_words(*category, Whose::You))).collect()),
        Whose::Named(name) => (format!("{name}'s record"), grant.categories.iter().map(|category| names::heading(*category, false).to_owned()).collect()),
    };
    let these = if items.len() == 1 { "this part" } else { "these parts" };
    (format!("{grantee_name} {verb} {these} of {record}{period}:"), items)
}

/// Why the grant exists, whether it carries the act-for power, and its legal basis.
pub fn detail(grant: &Grant, whose: Whose<'_>) -> String {
    let mut detail = format!("Why: {}.", grant.purpose.trim_end_matches('.'));
    if grant.act_for {
        detail.push_str(&match whose {
            Whose::You => " They can also act for you: change who can see your information, and your preferences.".to_owned(),
            Whose::Named(name) => format!(" They can also act for {name}: change who can see this information, and {name}'s preferences."),
        });
    }
    match (grant.basis, whose) {
        (Basis::StatutoryDuty, Whose::You) => detail.push_str(
            " This is the council's legal duty under the Care Act 2014, to review your care and keep you safe. You cannot turn it off, but every look is recorded and shown to you below.",
        ),
        (Basis::StatutoryDuty, Whose::Named(name)) => detail.push_str(&format!(
            " This is the council's legal duty under the Care Act 2014, to review {name}'s care and keep them safe. It cannot be turned off, but every look is recorded and shown to {name}."
        )),
        (Basis::LastingPowerOfAttorney, Whose::You) => detail.push_str(" This is because they hold a lasting power of attorney for your health and welfare."),
        (Basis::LastingPowerOfAttorney, Whose::Named(name)) => {
            detail.push_str(&format!(" This is because they hold a lasting power of attorney for {name}'s health and welfare."))
        }
        (Basis::CourtAppointedDeputy, Whose::You) => detail.push_str(" This is because a court appointed them as your deputy."),
        (Basis::CourtAppointedDeputy, Whose::Named(name)) => detail.push_str(&format!(" This is because a court appointed them as {name}'s deputy.")),
        (Basis::BestInterests, Whose::You) => detail.push_str(" This was decided in your best interests."),
        (Basis::BestInterests, Whose::Named(name)) => detail.push_str(&format!(" This was decided in {name}'s best interests.")),
        (Basis::Consent, _) => {}
    }
    detail
}

/// Why a provider the council commissioned has access, in plain words: the council arranges the
/// care under the Care Act 2014, under a contract the person can ask about.
pub fn commissioned_detail(grant: &Grant, whose: Whose<'_>) -> String {
    let contract = grant.evidence.as_deref().map(|evidence| format!(" ({})", evidence.trim_end_matches('.'))).unwrap_or_default();
    match whose {
        Whose::You => format!(
            "Why: the council arranged your care with them{contract}, under its duty in the Care Act 2014, so they can see what they need to give it. To change or stop it, contact the council. Every look is recorded and shown to you below."
        ),
        Whose::Named(name) => format!(
            "Why: the council arranged {name}'s care with them{contract}, under its duty in the Care Act 2014, so they can see what they need to give it. To change or stop it, contact the council."
        ),
    }
}

/// What changed between two versions of a grant, one phrase per change: "they can now also see
/// your care plan", "it now ends on 1 March 2027 instead of 1 June 2027".
pub fn changes(before: &Grant, after: &Grant, whose: Whose<'_>) -> Vec<String> {
    let mut changes = Vec::new();
    let words =
        |categories: Vec<&Category>| -> String { list(&categories.into_iter().map(|category| category_words(*category, Whose::You)).collect::<Vec<_>>()) };
    let added: Vec<&Category> = after.categories.difference(&before.categories).collect();
    if !added.is_empty() {
        changes.push(format!("they can now also see {}", words(added)));
    }
    let removed: Vec<&Category> = before.categories.difference(&after.categories).collect();
    if !removed.is_empty() {
        changes.push(format!("they can no longer see {}", words(removed)));
    }
    match (before.actions.contains(&Action::Contribute), after.actions.contains(&Action::Contribute)) {
        (false, true) => changes.push("they can now also add comments and ask for corrections".into()),
        (true, false) => changes.push("they can no longer add comments or ask for corrections".into()),
        _ => {}
    }
    match (before.ends_at, after.ends_at) {
        (Some(old), Some(new)) if day(old) != day(new) => changes.push(format!("it now ends on {} instead of {}", day(new), day(old))),
        (Some(old), None) => changes.push(format!("it no longer has an end date (it was {})", day(old))),
        (None, Some(new)) => changes.push(format!("it now ends on {}", day(new))),
        _ => {}
    }
    match (before.act_for, after.act_for) {
        (false, true) => changes.push("they can now act for you".into()),
        (true, false) => changes.push("they can no longer act for you".into()),
        _ => {}
    }
    if before.purpose.trim() != after.purpose.trim() {
        changes.push(format!("the reason is now: {}", after.purpose.trim().trim_end_matches('.')));
    }
    match (before.revoked_at, after.revoked_at) {
        (None, Some(at)) => changes.push(format!("it was stopped on {}", day(at))),
        (Some(_), None) => changes.push("it was started again".into()),
        _ => {}
    }
    changes.into_iter().map(|change| retold(&change, whose)).collect()
}

/// The labels of the category checkboxes, in the form's order.
pub fn category_choices(whose: Whose<'_>) -> Vec<minijinja::Value> {
    Category::ALL
        .into_iter()
        .map(|category| minijinja::context! { value => category.as_str(), label => capitalised(&category_words(category, whose)) })
        .collect()
}

/// A receipt's categories as people say them: "your medicines and your care plan" (an unknown
/// code, from a newer receipt, is shown as it is rather than dropped).
pub fn receipt_categories(codes: &[String], whose: Whose<'_>) -> String {
    let words: Vec<String> =
        codes.iter().map(|code| Category::parse(code).map_or_else(|| code.replace('_', " "), |category| category_words(category, whose))).collect();
    capitalised(&list(&words))
}

/// A receipt's machine-readable end ("Revoked on 2026-11-30") in words: "Stopped on 30 November
/// 2026"; "1 March 2027, or earlier if you stop it"; "Until you stop it".
pub fn receipt_until(termination: &str, whose: Whose<'_>) -> String {
    let (stop, stops) = match whose {
        Whose::You => ("you stop".to_owned(), "you stop".to_owned()),
        Whose::Named(name) => (format!("{name} stops"), format!("{name} stops")),
    };
    let day_of = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok().map(|date| date.format("%-d %B %Y").to_string());
    if let Some(date) = termination.strip_prefix("Revoked on ").and_then(day_of) {
        return format!("Stopped on {date}");
    }
    if let Some(date) = termination.strip_prefix("Ends on ").and_then(|rest| rest.split(',').next()).and_then(day_of) {
        return format!("{date}, or earlier if {stop} it");
    }
    if termination == "Until the person stops it in carefront" {
        return format!("Until {stops} it");
    }
    termination.to_owned()
}

/// What stopping a grant takes away, one line each, told to the person or to someone acting for
/// them. A provider's lines say what stops working for the care it gives (its carers read the
/// record on their phones during visits), so nobody stops it without knowing that.
pub fn losses(grant: &Grant, grantee_name: &str, provider: bool, whose: Whose<'_>) -> Vec<String> {
    let (your, you, you_like) = match whose {
        Whose::You => ("your".to_owned(), "you".to_owned(), "you like".to_owned()),
        Whose::Named(name) => (format!("{name}'s"), name.to_owned(), format!("{name} likes")),
    };
    let mut lines: Vec<String> = if provider {
        grant
            .categories
            .iter()
            .map(|category| match category {
                Category::CarePlan => format!("Carers will no longer see {your} care plan, so they may not know how {you_like} to be helped."),
                Category::ServiceUserGuide => format!("Carers will no longer see {}.", category_words(*category, whose)),
                Category::Medication => format!("Carers will no longer see {your} medicines or record the medicines they give."),
                Category::VisitsAndNotes => {
                    format!("Carers will no longer see {your} visits or write notes about them, and visit times here may stop being updated.")
                }
                Category::Contacts => format!("Carers will no longer see {your} contacts, so they may not know whom to call if something is wrong."),
                Category::Documents => format!("Carers will no longer see {}.", category_words(*category, whose)),
                Category::Preferences => format!("Carers will no longer see how {you_like} to get information, such as large print."),
                Category::AccessLog => format!("They will no longer see who has looked at {your} record."),
            })
            .collect()
    } else {
        let categories: Vec<String> = grant.categories.iter().map(|category| category_words(*category, Whose::You)).collect();
        vec![retold(&format!("They will no longer see {}.", list(&categories)), whose)]
    };
    if grant.actions.contains(&Action::Contribute) {
        lines.push("They will no longer be able to add comments or ask for corrections.".to_owned());
    }
    if grant.act_for {
        lines.push(format!("They will no longer be able to act for {you}."));
    }
    if provider {
        lines.push(format!("This does not cancel {your} care. To change or end it, contact {grantee_name} or the council."));
    }
    lines
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use carefront_shared::consent::Grantee;

    use super::*;

    /// A grant for the tests of this module and of `edit`.
    pub(in crate::sharing) fn grant() -> Grant {
        let now = DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z").unwrap().with_timezone(&Utc);
        Grant {
            id: "g".into(),
            version: 1,
            subject_id: "p".into(),
            grantee: Grantee::Person("s".into()),
            categories: BTreeSet::from([Category::Medication, Category::VisitsAndNotes]),
            actions: BTreeSet::from([Action::View]),
            act_for: false,
            purpose: "tablets".into(),
            starts_at: now,
            ends_at: Some(now + chrono::Duration::days(100)),
            basis: Basis::Consent,
            evidence: None,
            recorded_by: "p".into(),
            revoked_at: None,
        }
    }

    #[test]
    fn receipts_read_in_plain_words() {
        let codes = vec!["medication".to_owned(), "care_plan".to_owned(), "something_new".to_owned()];
        assert_eq!(receipt_categories(&codes, Whose::You), "Your medicines, your care plan and something new");
        assert_eq!(receipt_until("Revoked on 2026-11-30", Whose::You), "Stopped on 30 November 2026");
        assert_eq!(
            receipt_until("Ends on 2027-03-01, or earlier when the person stops it in carefront", Whose::Named("Margaret")),
            "1 March 2027, or earlier if Margaret stops it"
        );
        assert_eq!(receipt_until("Until the person stops it in carefront", Whose::You), "Until you stop it");
        assert_eq!(receipt_until("Something else", Whose::You), "Something else");
    }

    #[test]
    fn stopping_says_what_is_lost_and_for_a_provider_what_stops_working_for_the_care() {
        let mut grant = grant();
        assert_eq!(losses(&grant, "Sam", false, Whose::You), ["They will no longer see your medicines and your visits and carers' notes."]);
        grant.act_for = true;
        grant.actions.insert(Action::Contribute);
        assert_eq!(
            losses(&grant, "Sam", false, Whose::Named("Margaret")),
            [
                "They will no longer see Margaret's medicines and visits and carers' notes.",
                "They will no longer be able to add comments or ask for corrections.",
                "They will no longer be able to act for Margaret.",
            ]
        );
        grant.categories = BTreeSet::from([Category::CarePlan, Category::Medication]);
        let provider = losses(&grant, "Brookside Home Care", true, Whose::Named("Margaret"));
        assert_eq!(provider[0], "Carers will no longer see Margaret's care plan, so they may not know how Margaret likes to be helped.");
        assert_eq!(provider[1], "Carers will no longer see Margaret's medicines or record the medicines they give.");
        assert_eq!(
            provider.last().map(String::as_str),
            Some("This does not cancel Margaret's care. To change or end it, contact Brookside Home Care or the council.")
        );
    }

    #[test]
    fn a_grant_is_told_to_the_person_and_to_someone_acting_for_them() {
        let grant = grant();
        let now = grant.starts_at;
        assert_eq!(sentence(&grant, "Sam", Whose::You, now), "Sam can see your medicines and your visits and carers' notes until 1 March 2027.");
        assert_eq!(
            sentence(&grant, "Sam", Whose::Named("Margaret Okafor"), now),
            "Sam can see Margaret Okafor's medicines and visits and carers' notes until 1 March 2027."
        );
        let told = sentence(&grant, "Sam", Whose::You, now);
        assert_eq!(retold(&told, Whose::Named("Margaret Okafor")), sentence(&grant, "Sam", Whose::Named("Margaret Okafor"), now));
    }

    #[test]
    fn every_change_is_named() {
        let before = grant();
        let mut after = before.clone();
        after.categories = BTreeSet::from([Category::Medication, Category::CarePlan]);
        after.actions.insert(Action::Contribute);
        after.ends_at = None;
        after.act_for = true;
        after.purpose = "everything".into();
        let said = changes(&before, &after, Whose::You);
        assert_eq!(
            said,
            vec![
                "they can now also see your care plan",
                "they can no longer see your visits and carers' notes",
                "they can now also add comments and ask for corrections",
                "it no longer has an end date (it was 1 March 2027)",
                "they can now act for you",
                "the reason is now: everything",
            ]
        );
        assert!(changes(&before, &before, Whose::You).is_empty());
        let told = changes(&before, &after, Whose::Named("Margaret"));
        assert_eq!((told[0].as_str(), told[4].as_str()), ("they can now also see Margaret's care plan", "they can now act for Margaret"));
    }
}
