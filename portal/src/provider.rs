//! Pages for a provider's staff on a phone during a visit, under `/provider`: "People I support
//! today" (each person's format and communication needs and paper-copy choice first, then what
//! the organisation's grant lets them open), recording a consent discussion in the person's home
//! ([`discussion`]) and answering the comments waiting for the organisation ([`comments`]).
//!
//! Staff reach a person only through a live grant to their organisation: a grant a member of
//! staff happened to hold in their own name does not count here, and anyone the organisation has
//! no live grant for is 404, like everything else that does not exist for the reader.

mod comments;
mod discussion;

use std::collections::BTreeSet;

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::{Action, Category, Grant, GrantState, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{AuditEvent, Organisation, Person};
use carefront_shared::needs::{Need, RecordedNeed, wants_paper_copy};
use carefront_shared::random::new_id;
use carefront_shared::record::{CareVisit, VisitStatus};
use carefront_shared::uk_time;
use minijinja::{Value, context};

use crate::care::actor;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page};

pub use comments::{answer, answer_page, waiting};
pub use discussion::{new_page as new_discussion_page, record as record_discussion};

/// The signed-in member of staff and their organisation (the route's guard made sure of the
/// role; staff without an organisation reach nobody).
async fn staff<'v>(context: &RequestContext<'_>, visit: &'v Visit) -> Result<(&'v Person, Organisation), PortalError> {
    let reader = visit.require_person()?;
    let organisation_id = reader.organisation_id.as_deref().ok_or(PortalError::NotFound)?;
    let organisation = context.store.organisation(organisation_id).await?.ok_or(PortalError::NotFound)?;
    Ok((reader, organisation))
}

/// Only the grants to the organisation: what its staff may do, they do as the organisation.
fn to_organisation(grants: Vec<Grant>, organisation: &Organisation) -> Vec<Grant> {
    grants.into_iter().filter(|grant| matches!(&grant.grantee, Grantee::Organisation(id) if *id == organisation.id)).collect()
}

/// The person's grants to the organisation (all states: the decision judges them).
async fn organisation_grants_for(context: &RequestContext<'_>, organisation: &Organisation, subject_id: &str) -> Result<Vec<Grant>, PortalError> {
    Ok(to_organisation(context.store.grants_for_subject(subject_id).await?, organisation))
}

/// The organisation's leave to see whatever it may of the person; 404 if nothing.
fn support_permit(context: &RequestContext<'_>, reader: &Person, subject_id: &str, grants: &[Grant]) -> Result<Permit, PortalError> {
    Permit::ask_each(&actor(reader), subject_id, Action::View, &Category::ALL, grants, context.now).map_err(|_| PortalError::NotFound)
}

/// The people a live grant to the organisation is about.
async fn supported_people(context: &RequestContext<'_>, reader: &Person, organisation: &Organisation) -> Result<BTreeSet<String>, PortalError> {
    let held = to_organisation(context.store.grants_held_by(&reader.id, Some(&organisation.id)).await?, organisation);
    Ok(held.into_iter().filter(|grant| grant.state(context.now) == GrantState::Active).map(|grant| grant.subject_id).collect())
}

/// "Margaret Okafor", or 404 when the person is not there.
async fn person_name(context: &RequestContext<'_>, subject_id: &str) -> Result<String, PortalError> {
    Ok(context.store.person(subject_id).await?.ok_or(PortalError::NotFound)?.display_name)
}

/// How the access log names a member of staff: "Priya Shah of Brookside Home Care".
fn described(reader: &Person, organisation: &Organisation) -> String {
    format!("{} of {}", reader.display_name, organisation.name)
}

/// The person's paper-copy choice: a paper copy of the care plan in the home unless they
/// expressly chose none ([`wants_paper_copy`]); whether they said so themselves is shown too.
fn paper_choice(needs: &[RecordedNeed]) -> &'static str {
    if !wants_paper_copy(needs) {
        "none"
    } else if needs.iter().any(|recorded| recorded.need == Need::PaperCopyAtHome) {
        "chosen"
    } else {
        "default"
    }
}

/// The person's live format and communication needs in words (the paper copy apart), and
/// their paper-copy choice. The person's own words about another need stay on their needs
/// page, for those granted it, as on every other page that flags needs.
async fn needs_and_paper(context: &RequestContext<'_>, subject_id: &str) -> Result<(Vec<&'static str>, &'static str), PortalError> {
    let needs = context.store.needs(subject_id, false).await?;
    let labels = needs.iter().filter(|need| !matches!(need.need, Need::PaperCopyAtHome | Need::NoPaperCopies)).map(|need| need.need.label()).collect();
    Ok((labels, paper_choice(&needs)))
}

/// One person on the list, with when they are next seen today (for the order).
struct Entry {
    first_visit: Option<chrono::DateTime<chrono::Utc>>,
    name: String,
    view: Value,
}

fn visit_words(visit: &CareVisit) -> Value {
    let status = match visit.status {
        VisitStatus::Planned => None,
        VisitStatus::Completed => Some("Done"),
        VisitStatus::Missed => Some("Missed"),
        VisitStatus::Cancelled => Some("Cancelled"),
        VisitStatus::CheckedIn => Some("Carer there now"),
        VisitStatus::CheckedOut => Some("Done"),
        VisitStatus::Late => Some("Running late"),
    };
    context! { from => uk_time::time(visit.starts_at), to => uk_time::time(visit.ends_at), status, carers => visit.carers.clone() }
}

/// GET /provider: "People I support today". First those with a visit by the organisation
/// today (UK day), earliest first, with its time; then everyone else the organisation supports,
/// by name. Each person's line in their access log says they were on the list.
pub async fn today(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let (reader, organisation) = staff(context, visit).await?;
    let today = uk_time::date(context.now);
    let (from, to) = (uk_time::start_of(today), uk_time::end_of(today) + chrono::Duration::seconds(1));
    let mut entries = Vec::new();
    let mut events: Vec<AuditEvent> = Vec::new();
    for subject_id in supported_people(context, reader, &organisation).await? {
        let grants = organisation_grants_for(context, &organisation, &subject_id).await?;
        let Ok(permit) = support_permit(context, reader, &subject_id, &grants) else { continue };
        let name = person_name(context, &subject_id).await?;
        let (needs, paper) = needs_and_paper(context, &subject_id).await?;
        let visits =
            if permit.covers(Category::VisitsAndNotes) { context.store.visits_between(&permit, &organisation.id, from, to).await? } else { Vec::new() };
        let links = crate::record::sections(context, reader, &subject_id).await?;
        let comments = permit.categories().into_iter().any(|category| category != Category::AccessLog);
        let seen = if visits.is_empty() { "" } else { " and the time of today's visit" };
        let detail =
            format!("{} saw you on their list of people to support today, with your format and communication needs{seen}.", described(reader, &organisation));
        events.push(permit.overall_event(new_id(context.random), AuditAction::TodayListViewed, detail));
        let view = context! {
            id => subject_id, name => name.clone(), needs, paper, links, comments,
            visits => visits.iter().map(visit_words).collect::<Vec<_>>(),
        };
        entries.push(Entry { first_visit: visits.first().map(|visit| visit.starts_at), name, view });
    }
    // Today's visits first, earliest first; then everyone else by name.
    entries.sort_by(|a, b| match (a.first_visit, b.first_visit) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.name.cmp(&b.name)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name.cmp(&b.name),
    });
    context.store.append_audits(&events).await?;
    let (visiting, others): (Vec<Entry>, Vec<Entry>) = entries.into_iter().partition(|entry| entry.first_visit.is_some());
    let notice = match web::query_param(request, "done").as_deref() {
        Some("discussion") => Some("Conversation saved. The person, or someone acting for them, will be asked in carefront to check it is right."),
        _ => None,
    };
    page(
        context,
        visit,
        "provider_today.html",
        context! {
            current => "provider", organisation => organisation.name, today => today.format("%A %-d %B %Y").to_string(), notice,
            visiting => visiting.into_iter().map(|entry| entry.view).collect::<Vec<_>>(),
            others => others.into_iter().map(|entry| entry.view).collect::<Vec<_>>(),
        },
    )
}
