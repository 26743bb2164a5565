//! Pages rendered by minijinja from templates embedded at build time (`.html` names, so
//! auto-escaping is on).

use std::sync::OnceLock;

use minijinja::{Environment, Value};

use crate::assets;
use crate::error::PortalError;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "layout.html",
    "start.html",
    "invitation.html",
    "create_passkey.html",
    "sign_in.html",
    "home.html",
    "today_card.html",
    "passkeys.html",
    "signed_out.html",
    "error.html",
    "help.html",
    "sign_in_help.html",
    "accessibility.html",
    "privacy.html",
    "council_contact.html",
    "access.html",
    "access_log.html",
    "stop_access.html",
    "invitation_letter_body.html",
    "person.html",
    "care_plan.html",
    "messages.html",
    "confirm_identity.html",
    "confirm_button.html",
    "passkey_added_banner.html",
    "add_access.html",
    "access_added.html",
    "receipt.html",
    "record_header.html",
    "record_sections.html",
    "record_care_plan.html",
    "record_guide.html",
    "record_medicines.html",
    "record_dose_day.html",
    "record_visits.html",
    "record_contacts.html",
    "record_documents.html",
    "record_updated.html",
    "record_history.html",
    "needs.html",
    "notification_settings.html",
    "contact_check.html",
    "needs_flag.html",
    "comment_link.html",
    "record_footer.html",
    "comment_new.html",
    "comments.html",
    "discussions.html",
    "council_monitoring.html",
    "council_provider_people.html",
    "provider_report.html",
    "council_staff.html",
    "council_staff_invite.html",
    "staff_list.html",
    "staff_invited.html",
    "form_errors.html",
    "admin_log.html",
    "provider_staff.html",
    "provider_staff_invite.html",
    "provider_consent_evidence.html",
    "provider_duty_contact.html",
    "provider_duty_contact_check.html",
    "council_date_boxes.html",
    "council_people.html",
    "council_person_add.html",
    "council_person.html",
    "council_representative_add.html",
    "council_provider_add.html",
    "print.html",
    "edit_access.html",
    "grant_fields.html",
    "grant_conflict.html",
    "emergency_form.html",
    "emergency_record.html",
    "emergency_stop.html",
    "council_notifications.html",
    "emergency_code.html",
    "emergency_code_issued.html",
    "emergency_council.html",
    "emergency_banner.html",
    "council_credentials.html",
    "council_credentials_new.html",
    "council_credentials_created.html",
    "download.html",
    "council_invitations.html",
    "council_not_enrolled.html",
    "invitation_letter.html",
    "invitation_sending.html",
    "council_invitation_sent.html",
    "provider_today.html",
    "provider_discussion.html",
    "provider_comments.html",
    "provider_answer.html",
];

/// The embedded source of template `name`.
fn source(name: &str) -> Option<&'static str> {
    TEMPLATES.iter().find(|(known, _)| *known == name).map(|(_, source)| *source)
}

/// One environment per instance. Templates are compiled when a page first asks for them (and
/// kept): a Spin instance serves one request and a Worker's isolate few kinds of page, so
/// compiling all of them up front cost every Spin request most of its time (bench/runtime).
fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut environment = Environment::new();
        environment.set_loader(|name| Ok(source(name).map(str::to_owned)));
        // "a, b and c", for lists of things in a sentence.
        environment.add_filter("and_list", |items: Vec<String>| crate::category_names::and_list(&items));
        // Asset paths are our own constants: mark them safe so they are not entity-escaped.
        environment.add_function("asset", |name: &str| Value::from_safe_string(assets::url(name).unwrap_or("/assets/missing").to_owned()));
        environment
    })
}

/// Renders the template `name` with `context`.
pub fn render(name: &str, context: Value) -> Result<String, PortalError> {
    environment().get_template(name).and_then(|template| template.render(context)).map_err(|error| PortalError::Internal(format!("rendering {name}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_embedded_and_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut files: Vec<String> = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        files.sort();
        let mut embedded: Vec<String> = TEMPLATES.iter().map(|(name, _)| (*name).to_owned()).collect();
        embedded.sort();
        assert_eq!(files, embedded);
        // Compiled on demand when served: each must compile here, includes and all.
        for (name, _) in TEMPLATES {
            if let Err(error) = environment().get_template(name) {
                panic!("template {name}: {error:#}");
            }
        }
    }

    #[test]
    fn every_form_error_summary_is_the_one_that_takes_focus() {
        // A summary drawn by hand would not be announced after a failed form: only
        // form_errors.html draws one (the passkey pages' hidden summaries are shown and focused
        // by their script, which runs only where passkeys need it).
        for (name, source) in TEMPLATES {
            for (at, _) in source.match_indices("class=\"govuk-error-summary\"") {
                let tag = &source[source[..at].rfind('<').unwrap_or(0)..at + source[at..].find('>').unwrap_or(0)];
                let scripted = tag.contains("id=\"webauthn-error\"") && tag.contains("hidden") && tag.contains("tabindex=\"-1\"");
                assert!(*name == "form_errors.html" || scripted, "{name} draws its own error summary: include form_errors.html");
            }
        }
        let (_, summary) = TEMPLATES.iter().find(|(name, _)| *name == "form_errors.html").unwrap();
        assert!(summary.contains("tabindex=\"-1\" autofocus"));
    }
}
