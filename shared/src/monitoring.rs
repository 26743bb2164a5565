//! The council's monitoring report for one provider: whether it evidences consent discussions
//! with the people it supports, what they disputed, whose format needs are recorded, who chose
//! no paper copy, and how often clinicians opened their records with the emergency code.
//! Figures are counts of people the provider supports today (a live grant to the
//! organisation), never of rows; emergency accesses are counted one by one.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::discussion::{Discussion, Status};
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

/// The people a provider supports at `now`: subjects of live grants to the organisation, by id
/// (one query on the organisation's grants).
pub async fn people_supported(store: &dyn Store, organisation_id: &str, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
    store.supported_ids(organisation_id, now).await
}

/// Builds the report for one provider at `now`: the counts over its people are aggregate
/// queries, and its discussions of the last 12 months are grouped by person once.
pub async fn provider_report(store: &dyn Store, organisation_id: &str, now: DateTime<Utc>) -> Result<Option<ProviderReport>, StoreError> {
    let Some(organisation) = store.organisation(organisation_id).await? else { return Ok(None) };
    let figures = store.support_figures(organisation_id, now, now - Duration::days(365)).await?;
    let since = now.date_naive() - Duration::days(365);
    let discussions = store.organisation_discussions(organisation_id, since).await?;
    let people: BTreeSet<String> =
        if discussions.is_empty() { BTreeSet::new() } else { people_supported(store, organisation_id, now).await?.into_iter().collect() };
    let mut by_person: BTreeMap<&str, Vec<&Discussion>> = BTreeMap::new();
    for discussion in discussions.iter().filter(|d| people.contains(&d.person_id)) {
        by_person.entry(discussion.person_id.as_str()).or_default().push(discussion);
    }
    let confirmed = by_person.values().filter(|theirs| theirs.iter().any(|d| d.status == Status::Confirmed && d.held_on >= since)).count();
    let awaiting = by_person
        .values()
        .filter(|theirs| theirs.iter().any(|d| d.status == Status::Awaiting) && !theirs.iter().any(|d| d.status == Status::Confirmed))
        .count();
    let disputed = by_person.values().flatten().filter(|d| d.status == Status::Disputed).count();
    Ok(Some(ProviderReport {
        organisation_id: organisation.id,
        organisation_name: organisation.name,
        people: figures.people,
        confirmed_discussions: confirmed,
        awaiting_discussions: awaiting,
        disputed_discussions: disputed,
        open_comments: figures.open_comments,
        needs_recorded: figures.needs_recorded,
        no_paper_copy: figures.no_paper_copy,
        paper_copy: figures.people.saturating_sub(figures.no_paper_copy),
        emergency_accesses: figures.emergency_accesses,
    }))
}
