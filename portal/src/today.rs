//! The "Today" card at the top of the person's home and of each supported person's page: the
//! next visit, today's doses and what is waiting for the reader. Each part is read only under a
//! permit the consent decision made for it; a part the reader may not see is left out (never an
//! error), and each part shown is written to the person's access log.

use carefront_shared::comments::CommentKind;
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{Person, Role};
use carefront_shared::store::prelude::*;
use carefront_shared::today::{self, DoseCounts, TodayDose, VisitLine};
use carefront_shared::uk_time;
use minijinja::{Value, context};

use crate::care::{ask_permit, audit_view};
use crate::error::PortalError;

/// Where the card is shown: it names the page in the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The reader's home page.
    Home,
    /// The supported person's page, `/people/{id}`.
    PersonPage,
}

impl Shown {
    fn words(self) -> &'static str {
        match self {
            Shown::Home => "on the home page",
            Shown::PersonPage => "on their page",
        }
    }
}

/// The card for `subject_id` as `reader` may see it (`name`: how to name the subject when it is
/// not the reader themselves).
pub async fn card(context: &RequestContext<'_>, reader: &Person, subject_id: &str, name: &str, shown: Shown) -> Result<Value, PortalError> {
    let own = reader.id == subject_id;
    let visits = visits_part(context, reader, subject_id, shown).await?;
    let doses = doses_part(context, reader, subject_id, shown).await?;
    let waiting = waiting_part(context, reader, subject_id, name).await?;
    let date = uk_time::local(context.now).format("%A %-d %B").to_string();
    Ok(context! { own, subject_id, name, date, visits, doses, waiting })
}

/// The next visit and today's earlier ones, or `None` without leave to see visits.
async fn visits_part(context: &RequestContext<'_>, reader: &Person, subject_id: &str, shown: Shown) -> Result<Option<Value>, PortalError> {
    let permit = match ask_permit(context, reader, subject_id, Action::View, Category::VisitsAndNotes).await {
        Ok(permit) => permit,
        Err(PortalError::NotFound) => return Ok(None),
        Err(error) => return Err(error),
    };
    let (from, to) = today::visit_span(context.now);
    let visits = context.store.scheduled_visits(&permit, from, to).await?;
    audit_view(context, &permit, Category::VisitsAndNotes, &format!("looked at today's visits {}", shown.words())).await?;
    let split = today::visits_today(&visits, context.now);
    let line = |line: &VisitLine| {
        context! {
            day => today::day_label(line.visit.visit.starts_at, context.now),
            window => line.window(),
            carer => line.carer(),
            state => line.state,
            status => line.state.label(),
            arrived => line.visit.checked_in_at.map(uk_time::time),
            left => line.visit.checked_out_at.map(uk_time::time),
        }
    };
    let next = split.next.as_ref().map(line);
    let earlier: Vec<Value> = split.earlier.iter().map(line).collect();
    Ok(Some(context! { next, earlier }))
}

/// Today's doses and their summary, or `None` without leave to see medicines.
async fn doses_part(context: &RequestContext<'_>, reader: &Person, subject_id: &str, shown: Shown) -> Result<Option<Value>, PortalError> {
    let permit = match ask_permit(context, reader, subject_id, Action::View, Category::Medication).await {
        Ok(permit) => permit,
        Err(PortalError::NotFound) => return Ok(None),
        Err(error) => return Err(error),
    };
    let day = uk_time::date(context.now);
    let medicines = context.store.medicines(&permit).await?;
    let records = context.store.administrations(&permit, uk_time::start_of(day), uk_time::start_of(day + chrono::Duration::days(1))).await?;
    audit_view(context, &permit, Category::Medication, &format!("looked at today's doses {}", shown.words())).await?;
    let doses = today::doses_today(&medicines, &records, context.now);
    let summary = DoseCounts::of(&doses).sentence();
    let list: Vec<Value> = doses.iter().map(dose_view).collect();
    Ok(Some(context! { list, summary }))
}

fn dose_view(dose: &TodayDose) -> Value {
    context! {
        time => uk_time::time(dose.due_at),
        medicine => dose.medicine,
        dose => dose.dose,
        state => dose.state,
        status => dose.state.label(),
        reason => dose.reason,
    }
}

/// What waits for the reader: a consent discussion to confirm (for the person, or someone who
/// may act for them) and recent answers to the reader's own comments and corrections.
async fn waiting_part(context: &RequestContext<'_>, reader: &Person, subject_id: &str, name: &str) -> Result<Vec<Value>, PortalError> {
    let own = reader.id == subject_id;
    let mut waiting = Vec::new();
    let may_answer = if own { reader.role == Role::ServiceUser } else { crate::discussions::may_answer(context, reader, subject_id).await.is_ok() };
    if may_answer && crate::discussions::awaiting(context, subject_id).await? > 0 {
        let text = if own {
            "Your care provider wrote down a conversation with you about your information.".to_owned()
        } else {
            format!("A care provider wrote down a conversation with {name} about their information.")
        };
        waiting.push(context! { text, page => "discussions", link => "Check it is right" });
    }
    let comments = context.store.comments(subject_id).await?;
    for comment in today::recent_answers(&comments, &reader.id, context.now) {
        let what = if comment.kind == CommentKind::Correction { "correction" } else { "comment" };
        let by = comment.responded_by.clone().unwrap_or_else(|| "The care provider".to_owned());
        let when = comment.responded_at.map(uk_time::day).unwrap_or_default();
        waiting.push(context! {
            text => format!("{by} answered your {what} on {when}."),
            page => "comments",
            link => format!("Read the answer to your {what}"),
        });
    }
    Ok(waiting)
}
