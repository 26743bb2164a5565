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

use carefront_shared::access::{AuditAction, Permit};
use carefront_shared::consent::{Action, Category, Grant, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{AuditEvent, Organisation, Person};
use carefront_shared::needs::{Need, RecordedNeed, wants_paper_copy};
use carefront_shared::random::new_id;
use carefront_shared::record::{CareVisit, VisitStatus};
use carefront_shared::store::prelude::*;
use carefront_shared::store::support::{SupportedPerson, VisitedAfter, VisitedPerson, walk_pages};
use carefront_shared::store::time_text;
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
fn needs_words(needs: &[RecordedNeed]) -> (Vec<&'static str>, &'static str) {
    let labels = needs.iter().filter(|need| !matches!(need.need, Need::PaperCopyAtHome | Need::NoPaperCopies)).map(|need| need.need.label()).collect();
    (labels, paper_choice(needs))
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

/// People one page of `/provider` shows.
const TODAY_PAGE: usize = 25;

/// Where a page of `/provider` starts (its `after` parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
enum TodayCursor {
    /// At the start: the first people visited today.
    Start,
    /// Among the people visited today (`v|<first visit>|<id>`), after this one.
    Visited { first_visit: String, id: String },
    /// Among everyone else, after this person (`o|<id>`), or from the first (`o|`).
    Unvisited { after: Option<String> },
}

/// The answer to a page link this list never gives.
fn not_a_page() -> PortalError {
    PortalError::BadRequest("The page of people asked for is not one this list gives.".into())
}

impl TodayCursor {
    /// The cursor in a page's link, or 400 for one this list never gives.
    fn parse(text: Option<&str>) -> Result<Self, PortalError> {
        let Some(text) = text.filter(|text| !text.is_empty()) else { return Ok(Self::Start) };
        if text.len() > 200 {
            return Err(not_a_page());
        }
        match text.split('|').collect::<Vec<_>>().as_slice() {
            ["v", first_visit, id] if !id.is_empty() => {
                // As stored, so the text comparison in the query is a time comparison.
                let at = chrono::DateTime::parse_from_rfc3339(first_visit).map_err(|_| not_a_page())?;
                Ok(Self::Visited { first_visit: time_text(at.with_timezone(&chrono::Utc)), id: (*id).to_owned() })
            }
            ["o", ""] => Ok(Self::Unvisited { after: None }),
            ["o", id] => Ok(Self::Unvisited { after: Some((*id).to_owned()) }),
            _ => Err(not_a_page()),
        }
    }
}

/// GET /provider?after=: "People I support today". First those the organisation visits today
/// (UK day), by their first visit, with its times; then everyone else it supports, by name;
/// [`TODAY_PAGE`] at a time. A page is two paged joins on the organisation's live grants (the
/// people visited today, from the day's visits; everyone else, walked by name), so a provider
/// supporting thousands is not read person by person; the consent decision then judges each
/// person from the grants their row came with. Each person on the page shown, and only they,
/// gets a line in their access log saying they were on the list.
pub async fn today(context: &RequestContext<'_>, request: &Request, visit: &Visit) -> Result<Response, PortalError> {
    let (reader, organisation) = staff(context, visit).await?;
    let cursor = TodayCursor::parse(web::query_param(request, "after").as_deref())?;
    let today = uk_time::date(context.now);
    let day = (uk_time::start_of(today), uk_time::end_of(today) + chrono::Duration::seconds(1));
    let org = organisation.id.as_str();
    let permit_of = |person: &Person, grants: &[Grant]| support_permit(context, reader, &person.id, grants);

    // Those visited today, unless the page starts among everyone else.
    let (visited, more_visited) = match &cursor {
        TodayCursor::Unvisited { .. } => (Vec::new(), false),
        TodayCursor::Start | TodayCursor::Visited { .. } => {
            let start = match &cursor {
                TodayCursor::Visited { first_visit, id } => Some((first_visit.clone(), id.clone())),
                _ => None,
            };
            let fetch = |after: Option<(String, String)>, batch| async move {
                let after = after.as_ref().map(|(first_visit, id)| VisitedAfter { first_visit, id });
                context.store.visited_people_page(org, context.now, day, after, batch).await
            };
            let keep = |row: &VisitedPerson| permit_of(&row.person, &row.grants).is_ok_and(|permit| permit.covers(Category::VisitsAndNotes));
            let key = |row: &VisitedPerson| (time_text(row.first_visit), row.person.id.clone());
            walk_pages(start, TODAY_PAGE, fetch, key, keep).await?
        }
    };
    let mut next = visited.last().filter(|_| more_visited).map(|row| format!("v|{}|{}", time_text(row.first_visit), row.person.id));

    // Then everyone else, while the page has room (with none left, only whether anyone waits).
    let mut unvisited = Vec::new();
    if !more_visited {
        let start = match &cursor {
            // Only someone the organisation supports: a page starting after anyone else's
            // name would tell where in the alphabet that name falls.
            TodayCursor::Unvisited { after: Some(id) } => {
                let grants = organisation_grants_for(context, &organisation, id).await?;
                support_permit(context, reader, id, &grants).map_err(|_| not_a_page())?;
                Some(id.clone())
            }
            _ => None,
        };
        let fetch = |after: Option<String>, batch| async move { context.store.unvisited_people_page(org, context.now, day, after.as_deref(), batch).await };
        let keep = |row: &SupportedPerson| permit_of(&row.person, &row.grants).is_ok();
        let key = |row: &SupportedPerson| row.person.id.clone();
        let (rows, more) = walk_pages(start, TODAY_PAGE - visited.len(), fetch, key, keep).await?;
        if more {
            next = Some(format!("o|{}", rows.last().map_or("", |row: &SupportedPerson| row.person.id.as_str())));
        }
        unvisited = rows;
    }

    let mut events: Vec<AuditEvent> = Vec::new();
    let mut view = |person: &Person, grants: &[Grant], visits: Vec<CareVisit>, needs: Vec<RecordedNeed>| -> Result<Value, PortalError> {
        let permit = permit_of(person, grants)?;
        let seen = if visits.is_empty() { "" } else { " and the time of today's visit" };
        let detail =
            format!("{} saw you on their list of people to support today, with your format and communication needs{seen}.", described(reader, &organisation));
        events.push(permit.overall_event(new_id(context.random), AuditAction::TodayListViewed, detail));
        let (needs, paper) = needs_words(&needs);
        Ok(context! {
            id => person.id.clone(), name => person.display_name.clone(), needs, paper,
            links => crate::record::sections_under(context, reader, &person.id, grants),
            comments => permit.categories().into_iter().any(|category| category != Category::AccessLog),
            visits => visits.iter().map(visit_words).collect::<Vec<_>>(),
        })
    };
    let mut visiting = Vec::new();
    for row in &visited {
        let permit = permit_of(&row.person, &row.grants)?;
        let visits = context.store.visits_between(&permit, org, day.0, day.1).await?;
        let needs = context.store.needs(&row.person.id, false).await?;
        visiting.push(view(&row.person, &row.grants, visits, needs)?);
    }
    let mut others = Vec::new();
    for row in &unvisited {
        let needs = context.store.needs(&row.person.id, false).await?;
        others.push(view(&row.person, &row.grants, Vec::new(), needs)?);
    }
    context.store.append_audits(&events).await?;

    let notice = match web::query_param(request, "done").as_deref() {
        Some("discussion") => Some("Conversation saved. The person, or someone acting for them, will be asked in carefront to check it is right."),
        _ => None,
    };
    let others_heading = match &cursor {
        TodayCursor::Start if visiting.is_empty() => "Everyone you support",
        TodayCursor::Unvisited { .. } => "Everyone you support without a visit today",
        _ => "Everyone else you support",
    };
    let next = next.map(|after| format!("/provider?{}", serde_urlencoded::to_string([("after", after)]).unwrap_or_default()));
    page(
        context,
        visit,
        "provider_today.html",
        context! {
            current => "provider", organisation => organisation.name, today => today.format("%A %-d %B %Y").to_string(), notice,
            visiting, others, others_heading, next, first_page => cursor == TodayCursor::Start, page_size => TODAY_PAGE,
        },
    )
}
