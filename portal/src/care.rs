//! Reading care information: every read takes a [`Permit`] the consent decision made, and is
//! written to the audit log under the grant or basis the permit names.

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Actor, Category, GrantState};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{CarePlan, Person};
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use carefront_shared::uk_time;
use minijinja::{Value, context};
use serde::Serialize;

use crate::category_names as names;
use crate::error::PortalError;

/// The actor a person is when they read someone's information.
pub fn actor(person: &Person) -> Actor {
    Actor { person_id: person.id.clone(), role: person.role, organisation_id: person.organisation_id.clone() }
}

/// Asks for leave for `reader` to do `action` on `category` of `subject_id`'s record; what they
/// may not see does not exist for them (404).
pub async fn ask_permit(context: &RequestContext<'_>, reader: &Person, subject_id: &str, action: Action, category: Category) -> Result<Permit, PortalError> {
    let grants = context.store.grants_for_subject(subject_id).await?;
    Permit::ask(&actor(reader), subject_id, action, category, &grants, context.now).map_err(|_| PortalError::NotFound)
}

/// Appends "looked at `category`" under `permit` to the person's access log.
pub async fn audit_view(context: &RequestContext<'_>, permit: &Permit, category: Category, detail: &str) -> Result<(), PortalError> {
    let event = permit.viewed(new_id(context.random), category, detail).map_err(|error| PortalError::Internal(error.to_string()))?;
    Ok(context.store.append_audit(&event).await?)
}

/// The subject's care plan, if `reader` may see it (404 otherwise); the read is audited.
pub async fn read_care_plan(context: &RequestContext<'_>, reader: &Person, subject_id: &str) -> Result<Option<CarePlan>, PortalError> {
    let permit = ask_permit(context, reader, subject_id, Action::View, Category::CarePlan).await?;
    let plan = context.store.care_plan(&permit).await?;
    if plan.is_some() {
        audit_view(context, &permit, Category::CarePlan, "The care plan summary was shown.").await?;
    }
    Ok(plan)
}

/// The care plan as the templates show it.
pub fn plan_view(plan: CarePlan) -> Value {
    context! {
        summary => plan.summary,
        outcomes => plan.outcomes,
        needs => plan.needs,
        support => plan.support,
        risks => plan.risks,
        visit_schedule => plan.visit_schedule,
        review_due => plan.review_due.format("%-d %B %Y").to_string(),
        written_by => plan.written_by,
        updated_at => uk_time::day(plan.updated_at),
    }
}

/// One person someone supports, with what they may see.
#[derive(Debug, Clone, Serialize)]
pub struct Supported {
    /// The person's id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// What the reader may see, in words: "their care plan", "what care they get".
    pub categories: Vec<String>,
    /// When the reader's access ends, if it does.
    pub until: Option<String>,
    /// Whether it ends within [`EXPIRY_NOTICE`].
    pub ending_soon: bool,
}

/// How long before a grant ends both sides are told on their home pages.
pub const EXPIRY_NOTICE: chrono::Duration = chrono::Duration::days(14);

/// Whether a live grant ending at `ends_at` ends within the notice period after `now`.
pub fn ends_soon(ends_at: Option<chrono::DateTime<chrono::Utc>>, now: chrono::DateTime<chrono::Utc>) -> bool {
    ends_at.is_some_and(|ends| ends > now && ends - now <= EXPIRY_NOTICE)
}

/// The people `reader` holds live grants for, with the categories granted.
pub async fn people_supported(context: &RequestContext<'_>, reader: &Person) -> Result<Vec<Supported>, PortalError> {
    let grants = context.store.grants_held_by(&reader.id, reader.organisation_id.as_deref()).await?;
    let mut supported: Vec<Supported> = Vec::new();
    for grant in grants.iter().filter(|grant| grant.state(context.now) == GrantState::Active && grant.subject_id != reader.id) {
        let words: Vec<String> = grant.categories.iter().map(|category| names::phrase(*category, names::Whose::They)).collect();
        let until = grant.ends_at.map(uk_time::day);
        let ending_soon = ends_soon(grant.ends_at, context.now);
        match supported.iter_mut().find(|entry| entry.id == grant.subject_id) {
            Some(entry) => {
                entry.ending_soon |= ending_soon;
                for word in words {
                    if !entry.categories.contains(&word) {
                        entry.categories.push(word);
                    }
                }
            }
            None => {
                let name = context.store.person(&grant.subject_id).await?.map_or_else(|| "Someone".to_owned(), |subject| subject.display_name);
                supported.push(Supported { id: grant.subject_id.clone(), name, categories: words, until, ending_soon });
            }
        }
    }
    supported.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(supported)
}
