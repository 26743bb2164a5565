//! The council's monitoring report for one provider: whether it evidences consent discussions
//! with the people it supports, what they disputed, whose format needs are recorded, who chose
//! no paper copy, and how often clinicians opened their records with the emergency code.
//! Figures are counts of people the provider supports today (a live grant to the
//! organisation), never of rows; emergency accesses are counted one by one.
//!
//! Counting reads every person a provider supports (about a second for 100,000 people), so each
//! provider's counts are kept (migration 27) and used while they stand: nothing they count has
//! been written since (the migration's triggers note every such write, whichever code made
//! it), they are under [`FIGURES_STAND`] old (grants start and end with time, without a write)
//! and were counted on the same day in UTC (the 12 months are counted in whole days).

use crate::store::SqlStore;
use crate::store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::discussion::{Discussion, Status};
use crate::domain::{Organisation, OrganisationKind};
use crate::store::{KeptFigures, Store, StoreError};

/// How long kept figures stand when nothing they count has been written since.
pub const FIGURES_STAND: Duration = Duration::minutes(15);

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
    /// When the figures were counted (now, or when the kept figures were).
    pub figured_at: DateTime<Utc>,
}

/// The counts of a report, as kept between reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Counts {
    people: usize,
    confirmed_discussions: usize,
    awaiting_discussions: usize,
    disputed_discussions: usize,
    open_comments: usize,
    needs_recorded: usize,
    no_paper_copy: usize,
    emergency_accesses: usize,
}

impl Counts {
    /// The kept counts, if they still stand at `now`.
    fn standing(kept: &KeptFigures, now: DateTime<Utc>) -> Option<Counts> {
        let stands = !kept.changed_since && kept.figured_at <= now && now - kept.figured_at < FIGURES_STAND && kept.figured_at.date_naive() == now.date_naive();
        if stands { serde_json::from_str(&kept.figures).ok() } else { None }
    }
}

impl ProviderReport {
    /// The share of people with a confirmed discussion, as a whole percentage (0 with nobody).
    pub fn confirmed_percent(&self) -> usize {
        (self.confirmed_discussions * 100).checked_div(self.people).unwrap_or(0)
    }
}

/// The people a provider supports at `now`: subjects of live grants to the organisation, by id
/// (one query on the organisation's grants).
pub async fn people_supported(store: &SqlStore<'_>, organisation_id: &str, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
    store.supported_ids(organisation_id, now).await
}

/// The report for one provider at `now`: its kept counts while they stand, otherwise counted
/// afresh and kept. `None` if there is no such organisation.
pub async fn provider_report(store: &SqlStore<'_>, organisation_id: &str, now: DateTime<Utc>) -> Result<Option<ProviderReport>, StoreError> {
    let Some(organisation) = store.organisation(organisation_id).await? else { return Ok(None) };
    let kept = store.kept_figures(organisation_id).await?;
    let (counts, figured_at) = match kept.as_ref().and_then(|kept| Counts::standing(kept, now).map(|counts| (counts, kept.figured_at))) {
        Some(standing) => standing,
        None => {
            // The mark is read first: a write while counting is then a change since.
            let mark = store.figures_change_mark().await?;
            let counts = count(store, organisation_id, now).await?;
            let figures = serde_json::to_string(&counts).map_err(|error| StoreError::Decode(error.to_string()))?;
            // Keeping them saves the next look the count. If the store refuses (busy), these
            // counts are still right and are shown; the next look counts again.
            store.keep_figures(organisation_id, mark, &figures, now).await.ok();
            (counts, now)
        }
    };
    Ok(Some(report(organisation, counts, figured_at)))
}

/// The report from a provider's counts.
fn report(organisation: Organisation, counts: Counts, figured_at: DateTime<Utc>) -> ProviderReport {
    ProviderReport {
        organisation_id: organisation.id,
        organisation_name: organisation.name,
        people: counts.people,
        confirmed_discussions: counts.confirmed_discussions,
        awaiting_discussions: counts.awaiting_discussions,
        disputed_discussions: counts.disputed_discussions,
        open_comments: counts.open_comments,
        needs_recorded: counts.needs_recorded,
        no_paper_copy: counts.no_paper_copy,
        paper_copy: counts.people.saturating_sub(counts.no_paper_copy),
        emergency_accesses: counts.emergency_accesses,
        figured_at,
    }
}

/// Counts again every provider's figures that no longer stand at `now`, and keeps them: the
/// scheduled job's part (every minute on Workers), so the council's next look reads them as
/// kept. How many providers' figures were counted.
pub async fn count_stale_figures(store: &SqlStore<'_>, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut counted = 0;
    for provider in store.organisations(OrganisationKind::Provider).await? {
        let kept = store.kept_figures(&provider.id).await?;
        if kept.as_ref().and_then(|kept| Counts::standing(kept, now)).is_none() {
            provider_report(store, &provider.id, now).await?;
            counted += 1;
        }
    }
    Ok(counted)
}

/// Counts a provider's figures at `now`: aggregate queries over its people, and its
/// discussions of the last 12 months grouped by person once.
async fn count(store: &SqlStore<'_>, organisation_id: &str, now: DateTime<Utc>) -> Result<Counts, StoreError> {
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
    Ok(Counts {
        people: figures.people,
        confirmed_discussions: confirmed,
        awaiting_discussions: awaiting,
        disputed_discussions: disputed,
        open_comments: figures.open_comments,
        needs_recorded: figures.needs_recorded,
        no_paper_copy: figures.no_paper_copy,
        emergency_accesses: figures.emergency_accesses,
    })
}
