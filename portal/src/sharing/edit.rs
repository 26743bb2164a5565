//! Changing a grant: what they may see, whether they may comment, until when, and why.
//! Narrowing applies at once; widening anything needs a fresh passkey check first. Every form
//! names the version it was based on, and a stale one changes nothing: it gets a conflict page
//! that sets the grant as it is now beside what was asked for.

use std::collections::BTreeSet;

use carefront_shared::access::{AboveCeiling, AuditAction};
use carefront_shared::consent::{Action, Category, Grant, GrantProblem, GrantState, Grantee};
use carefront_shared::context::RequestContext;
use carefront_shared::db::DbError;
use carefront_shared::plan::Recorder;
use carefront_shared::store::Store as _;
use carefront_shared::uk_time;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use http::StatusCode;
use minijinja::context;
use serde::Serialize;

use super::add::FieldError;
use super::words::{self, day};
use super::{Subject, confirm_identity, grantee_name, receipt, render_access, resolve, see_other};
use crate::error::PortalError;
use crate::visit::Visit;
use crate::web;
use crate::{Request, Response, page_with_status};

/// Signs a change held over a passkey check, so only this browser's own draft is filled in.
const DRAFT_PURPOSE: &str = "grant-edit-draft";

/// The change form as typed (or as the grant stands), shown again with its errors.
#[derive(Debug, Default, Clone, Serialize)]
struct EditForm {
    version: String,
    categories: Vec<String>,
    contribute: bool,
    act_for: bool,
    /// `date` (until the date given) or `none` (until stopped).
    ends: String,
    day: String,
    month: String,
    year: String,
    purpose: String,
}

impl EditForm {
    fn parse(fields: &[(String, String)]) -> EditForm {
        let mut form = EditForm::default();
        for (key, value) in fields {
            match key.as_str() {
                "version" => form.version = value.trim().to_owned(),
                "categories" => form.categories.push(value.clone()),
                "contribute" => form.contribute = value == "yes",
                "act-for" => form.act_for = value == "yes",
                "ends" => form.ends = value.clone(),
                "ends-day" => form.day = value.trim().to_owned(),
                "ends-month" => form.month = value.trim().to_owned(),
                "ends-year" => form.year = value.trim().to_owned(),
                "purpose" => form.purpose = value.trim().to_owned(),
                _ => {}
            }
        }
        form
    }

    /// The form filled in from the grant as it stands.
    fn of(grant: &Grant) -> EditForm {
        let (ends, day, month, year) = match grant.ends_at {
            Some(ends) => ("date", ends.day().to_string(), ends.month().to_string(), ends.year().to_string()),
            None => ("none", String::new(), String::new(), String::new()),
        };
        EditForm {
            version: grant.version.to_string(),
            categories: grant.categories.iter().map(|category| category.as_str().to_owned()).collect(),
            contribute: grant.actions.contains(&Action::Contribute),
            act_for: grant.act_for,
            ends: ends.into(),
            day,
            month,
            year,
            purpose: grant.purpose.clone(),
        }
    }

    /// The form as fields again, to hold it over a passkey check.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![("version", self.version.clone())];
        fields.extend(self.categories.iter().map(|category| ("categories", category.clone())));
        if self.contribute {
            fields.push(("contribute", "yes".into()));
        }
        if self.act_for {
            fields.push(("act-for", "yes".into()));
        }
        fields.extend([
            ("ends", self.ends.clone()),
            ("ends-day", self.day.clone()),
            ("ends-month", self.month.clone()),
            ("ends-year", self.year.clone()),
            ("purpose", self.purpose.clone()),
        ]);
        fields
    }
}

/// Whether the act-for choice is on the form: only the person may give or take away the power
/// to act for them (see `add::offers_act_for`), and only a person can hold it.
fn act_for_offered(subject: &Subject, grant: &Grant) -> bool {
    !subject.acting() && matches!(grant.grantee, Grantee::Person(_))
}

/// Whether `after` gives anything `before` did not: more categories, commenting, a later (or
/// no) end, or the act-for power. Anything else (fewer, earlier, a new reason) narrows or keeps.
fn widens(before: &Grant, after: &Grant) -> bool {
    let later_end = match (before.ends_at, after.ends_at) {
        (Some(old), Some(new)) => new > old,
        (Some(_), None) => true,
        (None, _) => false,
    };
    !after.categories.is_subset(&before.categories) || !after.actions.is_subset(&before.actions) || (after.act_for && !before.act_for) || later_end
}

/// Whether the change would change nothing.
fn same(before: &Grant, after: &Grant) -> bool {
    before.categories == after.categories
        && before.actions == after.actions
        && before.act_for == after.act_for
        && before.ends_at == after.ends_at
        && before.purpose.trim() == after.purpose.trim()
}

/// Reads the form into the grant it asks for (based on `current`), with the problems a person
/// can fix; a form no person could have sent (an unknown category, act-for where it is not
/// offered) is a bad request.
fn proposal(subject: &Subject, current: &Grant, form: &EditForm, version: i64, now: DateTime<Utc>) -> Result<(Grant, Vec<FieldError>), PortalError> {
    let mut errors = Vec::new();
    let categories: BTreeSet<Category> =
        form.categories.iter().map(|name| Category::parse(name)).collect::<Option<_>>().ok_or_else(|| PortalError::BadRequest("unknown category".into()))?;
    if categories.is_empty() {
        errors.push(FieldError { field: "categories", message: "Choose at least one kind of information".into() });
    }
    let act_for = if act_for_offered(subject, current) {
        form.act_for
    } else if form.act_for && !current.act_for {
        return Err(PortalError::BadRequest("only the person can let someone act for them".into()));
    } else {
        current.act_for
    };
    let ends_at = match form.ends.as_str() {
        "none" => None,
        "date" | "" => {
            let ends = match (form.day.parse::<u32>(), form.month.parse::<u32>(), form.year.parse::<i32>()) {
                (Ok(day), Ok(month), Ok(year)) => NaiveDate::from_ymd_opt(year, month, day).map(uk_time::end_of),
                _ => None,
            };
            // The form speaks in days: the same day as now keeps the end exactly as it is.
            let ends = ends.map(|ends| match current.ends_at {
                Some(old) if uk_time::date(old) == uk_time::date(ends) => old,
                _ => ends,
            });
            match ends {
                None => errors.push(FieldError { field: "ends-day", message: "Enter the date their access ends, for example 1 3 2027".into() }),
                Some(ends) if ends <= now => errors.push(FieldError { field: "ends-day", message: "The date their access ends must be in the future".into() }),
                Some(ends) if ends <= current.starts_at => errors.push(FieldError {
                    field: "ends-day",
                    message: format!("The date their access ends must be after it starts, on {}", day(current.starts_at)),
                }),
                Some(_) => {}
            }
            ends
        }
        _ => return Err(PortalError::BadRequest("unknown choice of end".into())),
    };
    if form.purpose.is_empty() || form.purpose.chars().count() > 200 || form.purpose.chars().any(char::is_control) {
        errors.push(FieldError { field: "purpose", message: "Say why they need to see it, up to 200 characters".into() });
    }
    let mut actions = BTreeSet::from([Action::View]);
    if form.contribute {
        actions.insert(Action::Contribute);
    }
    let proposed =
        Grant { version, categories, actions, act_for, purpose: form.purpose.clone(), ends_at, recorded_by: subject.actor.id.clone(), ..current.clone() };
    if errors.is_empty() {
        // The shared rules have the last word (the checks above word them for the form).
        match proposed.validate(now) {
            Ok(()) => {}
            Err(GrantProblem::NoCategories) => errors.push(FieldError { field: "categories", message: "Choose at least one kind of information".into() }),
            Err(GrantProblem::EndsBeforeStart | GrantProblem::EndsInThePast) => {
                errors.push(FieldError { field: "ends-day", message: "The date their access ends must be in the future, after it starts".into() })
            }
            Err(GrantProblem::NoPurpose) => errors.push(FieldError { field: "purpose", message: "Say why they need to see it, up to 200 characters".into() }),
            Err(problem) => return Err(PortalError::BadRequest(problem.to_string())),
        }
    }
    Ok((proposed, errors))
}

async fn render_form(
    context: &RequestContext<'_>,
    visit: &Visit,
    subject: &Subject,
    grant: &Grant,
    status: StatusCode,
    form: &EditForm,
    errors: &[FieldError],
) -> Result<Response, PortalError> {
    let name = grantee_name(context, &grant.grantee).await?;
    let reconfirm = !visit.signed_in.as_ref().is_some_and(|signed_in| signed_in.recently_verified);
    let starts = (grant.state(context.now) == GrantState::NotStarted).then(|| day(grant.starts_at));
    let extra = context! {
        current => "access",
        grant_id => grant.id.clone(),
        grantee => name.clone(),
        now_reads => words::sentence(grant, &name, subject.whose(), context.now),
        form,
        errors,
        choices => words::category_choices(subject.whose()),
        offer_act_for => act_for_offered(subject, grant),
        reconfirm,
        starts,
    };
    page_with_status(context, visit, status, "edit_access.html", minijinja::value::merge_maps([subject.page_context(), extra]))
}

/// The draft held over a passkey check, if this browser signed it for this grant.
fn draft(request: &Request, visit: &Visit, grant_id: &str) -> Option<EditForm> {
    let session = visit.browser_binding()?;
    let draft = web::query_param(request, "draft")?;
    let check = web::query_param(request, "check")?;
    if !visit.keys().csrf.verify(DRAFT_PURPOSE, &format!("{session}:{grant_id}:{draft}"), &check) {
        return None;
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&draft).ok()?;
    Some(EditForm::parse(&fields))
}

/// Where to come back to after the passkey check: the form, filled in with this draft.
fn draft_path(visit: &Visit, subject: &Subject, grant_id: &str, form: &EditForm) -> String {
    let path = format!("{}/access/{grant_id}/edit", subject.prefix());
    let session = visit.browser_binding().unwrap_or_default();
    let Ok(draft) = serde_urlencoded::to_string(form.fields()) else { return path };
    let check = visit.keys().csrf.sign(DRAFT_PURPOSE, &format!("{session}:{grant_id}:{draft}"));
    match serde_urlencoded::to_string([("draft", draft.as_str()), ("check", check.as_str())]) {
        Ok(query) => format!("{path}?{query}"),
        Err(_) => path,
    }
}

/// GET /access/{id}/edit and /people/{id}/access/{grant}/edit: the form, filled in as the grant
/// stands (or with the change held over a passkey check).
pub async fn edit_page(
    context: &RequestContext<'_>,
    request: &Request,
    visit: &Visit,
    subject_id: Option<&str>,
    grant_id: &str,
) -> Result<Response, PortalError> {
    let subject = resolve(context, visit, subject_id, Action::View).await?;
    let grant = subject.grant(grant_id)?;
    if let Some(refusal) = subject.refusal(grant, false).or_else(|| subject.ended(grant)) {
        return render_access(context, visit, &subject, StatusCode::BAD_REQUEST, Some(refusal), None).await;
    }
    let form = draft(request, visit, grant_id).unwrap_or_else(|| EditForm::of(grant));
    render_form(context, visit, &subject, grant, StatusCode::OK, &form, &[]).await
}

/// POST /access/{id}/edit and /people/{id}/access/{grant}/edit: saves the change if the form was
/// based on the grant as it stands, with a receipt and a line in the access log.
pub async fn edit(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: Option<&str>, grant_id: &str) -> Result<Response, PortalError> {
    let subject = resolve(context, visit, subject_id, Action::Contribute).await?;
    let fields: Vec<(String, String)> = web::form(request)?;
    let form = EditForm::parse(&fields);
    let version: i64 = form.version.parse().map_err(|_| PortalError::BadRequest("the form does not say which version it changes".into()))?;
    let current = subject.grant(grant_id)?.clone();
    if let Some(refusal) = subject.refusal(&current, false) {
        return render_access(context, visit, &subject, StatusCode::BAD_REQUEST, Some(refusal), None).await;
    }
    let (proposed, mut errors) = proposal(&subject, &current, &form, version, context.now)?;
    if version != current.version && errors.is_empty() {
        return conflict(context, visit, &subject, &current, &proposed).await;
    }
    if let Some(ended) = subject.ended(&current) {
        return render_access(context, visit, &subject, StatusCode::BAD_REQUEST, Some(ended), None).await;
    }
    let widening = widens(&current, &proposed);
    // Someone acting for the person gives at most what they hold themselves.
    if widening
        && !subject.is_actors_own(&current)
        && let Err(above) = subject.power.check_ceiling(&subject.grants, &proposed)
    {
        let field = if matches!(above, AboveCeiling::LastsLonger) { "ends-day" } else { "categories" };
        errors.push(FieldError { field, message: words::capitalised(&above.to_string()) });
    }
    if widening && subject.is_actors_own(&current) {
        // Acting for someone never widens the actor's own access: only the person can.
        errors.push(FieldError {
            field: "categories",
            message: format!("You cannot give yourself more access. Only {} can do that.", subject.person.display_name),
        });
    }
    if !errors.is_empty() {
        return render_form(context, visit, &subject, &current, StatusCode::BAD_REQUEST, &form, &errors).await;
    }
    if same(&current, &proposed) {
        return Ok(see_other(&format!("{}/access?done=unchanged", subject.prefix())));
    }
    let confirmed = visit.signed_in.as_ref().is_some_and(|signed_in| signed_in.recently_verified);
    if widening && !confirmed {
        let name = grantee_name(context, &current.grantee).await?;
        let reason = format!(
            "You are giving {name} more access. Before it is saved, use your passkey again: your fingerprint, face or screen lock. Then check the change and save it."
        );
        return confirm_identity(context, visit, &subject, reason, &draft_path(visit, &subject, grant_id, &form));
    }
    let name = grantee_name(context, &current.grantee).await?;
    let saved = Grant { version: proposed.version + 1, ..proposed.clone() };
    let receipt = receipt(context, &subject, &saved, &name, "changed", confirmed).await?;
    let told = words::changes(&current, &saved, words::Whose::You).join("; ");
    let event = subject.event(context, AuditAction::GrantChanged, Some(&current.id), format!("Changed {name}'s access: {told}."));
    // The change, its receipt and its line in the access log: all, or none.
    let recorder = Recorder::new();
    recorder.store().update_grant(&proposed, context.now, subject.acting_for()).await?;
    recorder.store().insert_receipt(&subject.person.id, &receipt, context.now).await?;
    recorder.store().append_audit(&event).await?;
    match context.store.apply(&recorder.into_plan()).await {
        Ok(()) => {
            if subject.acting() && !super::may_manage(context, &subject.actor, &subject.person.id).await? {
                return Ok(web::redirect("/home"));
            }
            Ok(see_other(&format!("{}/access?done=changed", subject.prefix())))
        }
        Err(DbError::Constraint(_)) => match context.store.grants_for_subject(&subject.person.id).await?.into_iter().find(|grant| grant.id == current.id) {
            Some(now) => conflict(context, visit, &subject, &now, &proposed).await,
            None => Err(PortalError::NotFound),
        },
        Err(error) => Err(error.into()),
    }
}

/// The 409 page: nothing was saved; the grant as it is now beside what was asked for.
async fn conflict(context: &RequestContext<'_>, visit: &Visit, subject: &Subject, now: &Grant, asked: &Grant) -> Result<Response, PortalError> {
    let name = grantee_name(context, &now.grantee).await?;
    let whose = subject.whose();
    let asked = Grant { revoked_at: None, ..asked.clone() };
    let differences: Vec<String> = words::changes(now, &asked, whose).into_iter().map(|change| words::capitalised(&change)).collect();
    let live = matches!(now.state(context.now), GrantState::Active | GrantState::NotStarted);
    let extra = context! {
        current => "access",
        grant_id => now.id.clone(),
        grantee => name.clone(),
        now_reads => words::sentence(now, &name, whose, context.now),
        now_detail => words::detail(now, whose),
        asked_reads => words::sentence(&asked, &name, whose, context.now),
        asked_detail => words::detail(&asked, whose),
        differences,
        editable => live && subject.refusal(now, false).is_none(),
    };
    page_with_status(context, visit, StatusCode::CONFLICT, "grant_conflict.html", minijinja::value::merge_maps([subject.page_context(), extra]))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    use super::super::words::tests::grant;

    #[test]
    fn anything_more_widens_and_anything_less_narrows() {
        let before = grant();
        let with = |change: fn(&mut Grant)| {
            let mut after = before.clone();
            change(&mut after);
            after
        };
        for narrower in [
            with(|grant| {
                grant.categories.remove(&Category::VisitsAndNotes);
            }),
            with(|grant| grant.ends_at = grant.ends_at.map(|ends| ends - chrono::Duration::days(10))),
            with(|grant| grant.purpose = "something else".into()),
            before.clone(),
        ] {
            assert!(!widens(&before, &narrower), "{narrower:?}");
        }
        for wider in [
            with(|grant| {
                grant.categories.insert(Category::CarePlan);
            }),
            with(|grant| {
                grant.actions.insert(Action::Contribute);
            }),
            with(|grant| grant.ends_at = grant.ends_at.map(|ends| ends + chrono::Duration::days(1))),
            with(|grant| grant.ends_at = None),
            with(|grant| grant.act_for = true),
            // Swapping one category for another gives something new.
            with(|grant| grant.categories = BTreeSet::from([Category::Medication, Category::CarePlan])),
        ] {
            assert!(widens(&before, &wider), "{wider:?}");
        }
        let mut dropped = before.clone();
        dropped.actions.insert(Action::Contribute);
        assert!(!widens(&dropped, &before), "dropping contribute narrows");
    }

    #[test]
    fn a_form_survives_being_held_over_a_passkey_check() {
        let form = EditForm::of(&grant());
        let held = serde_urlencoded::to_string(form.fields()).unwrap();
        let back: Vec<(String, String)> = serde_urlencoded::from_str(&held).unwrap();
        let back = EditForm::parse(&back);
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&form).unwrap());
    }
}
