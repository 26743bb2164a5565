//! The council's monitoring report for one provider: whether it evidences consent discussions
//! with the people it supports, what they disputed, whose format needs are recorded, who chose
//! no paper copy, and how often clinicians opened their records with the emergency code.
//! Figures are counts of people the provider supports today (a live grant to the
//! organisation), never of rows; emergency accesses are counted one by one.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::comments::CommentStatus;
use crate::consent::GrantState;
use crate::discussion::{self, Status};
use crate::needs::{Need, wants_paper_copy};
use crate::store::{Store, StoreError};

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderReport {
    /// The provider.
    pub organisation_id: String,
    /// Its name.
    pub organisation_name: String,
    /// People it supports today.
    pub people: usize,
    /// Of them, with a consent discussion the person confirmed in the last 12 months.
    pub confirmed_discussions: usize,
    /// Of them, with a discussion in the last 12 months still waiting for the person.
    pub awaiting_discussions: usize,
    /// Discussions the person disputed (in the last 12 months).
    pub disputed_discussions: usize,
    /// Correction requests and comments on these people's records not yet answered.
    pub open_comments: usize,
    /// People with at least one format or communication need recorded (the paper-copy choice
    /// aside).
    pub needs_recorded: usize,
    /// People who expressly chose no paper copy in the home.
    pub no_paper_copy: usize,
    /// People with a paper copy in the home (the default).
    pub paper_copy: usize,
    /// Emergency accesses (a clinician using the person's emergency code) to these people's
    /// records started in the last 12 months.
    pub emergency_accesses: usize,
}

impl ProviderReport {
    /// The share of people with a confirmed discussion, as a whole percentage (0 with nobody).
    pub fn confirmed_percent(&self) -> usize {
        (self.confirmed_discussions * 100).checked_div(self.people).unwrap_or(0)
    }
}

/// The people a provider supports at `now`: subjects of live grants to the organisation.
pub async fn people_supported(store: &dyn Store, organisation_id: &str, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
    let grants = store.grants_held_by("", Some(organisation_id)).await?;
    let people: BTreeSet<String> = grants.into_iter().filter(|grant| grant.state(now) == GrantState::Active).map(|grant| grant.subject_id).collect();
    Ok(people.into_iter().collect())
}

/// Builds the report for one provider at `now`.
pub async fn provider_report(store: &dyn Store, organisation_id: &str, now: DateTime<Utc>) -> Result<Option<ProviderReport>, StoreError> {
    let Some(organisation) = store.organisation(organisation_id).await? else { return Ok(None) };
    let people = people_supported(store, organisation_id, now).await?;
    let since = now.date_naive() - Duration::days(365);
    let discussions: Vec<_> = store.organisation_discussions(organisation_id, since).await?.into_iter().filter(|d| people.contains(&d.person_id)).collect();
    let (confirmed, _) = discussion::confirmed_share(&people, &discussions, now);
    let awaiting = people
        .iter()
        .filter(|person| {
            let theirs: Vec<_> = discussions.iter().filter(|d| &d.person_id == *person).collect();
            theirs.iter().any(|d| d.status == Status::Awaiting) && !theirs.iter().any(|d| d.status == Status::Confirmed)
        })
        .count();
    let disputed = discussions.iter().filter(|d| d.status == Status::Disputed).count();
    let (mut open_comments, mut needs_recorded, mut no_paper_copy, mut emergency_accesses) = (0, 0, 0, 0);
    let accesses_since = now - Duration::days(365);
    for person in &people {
        emergency_accesses += store.emergency_accesses_for_person(person, accesses_since).await?.len();
        open_comments += store.comments(person).await?.iter().filter(|comment| comment.status == CommentStatus::Open).count();
        let needs = store.needs(person, false).await?;
        if needs.iter().any(|need| !matches!(need.need, Need::PaperCopyAtHome | Need::NoPaperCopies)) {
            needs_recorded += 1;
        }
        if !wants_paper_copy(&needs) {
            no_paper_copy += 1;
        }
    }
    Ok(Some(ProviderReport {
        organisation_id: organisation.id,
        organisation_name: organisation.name,
        people: people.len(),
        confirmed_discussions: confirmed,
        awaiting_discussions: awaiting,
        disputed_discussions: disputed,
        open_comments,
        needs_recorded,
        no_paper_copy,
        paper_copy: people.len() - no_paper_copy,
        emergency_accesses,
    }))
}
