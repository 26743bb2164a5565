//! Pages rendered by minijinja from templates embedded at build time (`.html` names, so
//! auto-escaping is on).

use std::sync::OnceLock;

use minijinja::{Environment, Value, filters, tests as jinja_tests};

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
        // Only the filters and tests the templates use (`every_filter_test_and_function_the_templates_use_is_there`):
        // `Environment::new` would register all of minijinja's, and each one registered is code in every
        // worker and component whether a page uses it or not.
        let mut environment = Environment::empty();
        environment.set_auto_escape_callback(minijinja::default_auto_escape_callback);
        environment.add_filter("capitalize", filters::capitalize);
        environment.add_filter("first", filters::first);
        environment.add_filter("join", filters::join);
        environment.add_filter("length", filters::length);
        environment.add_filter("list", filters::list);
        environment.add_filter("lower", filters::lower);
        environment.add_filter("map", filters::map);
        environment.add_filter("replace", filters::replace);
        environment.add_filter("selectattr", filters::selectattr);
        environment.add_test("defined", jinja_tests::is_defined);
        environment.add_test("equalto", jinja_tests::is_eq);
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
    use std::collections::BTreeSet;

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

    /// The identifier at the start of `text` (letters, digits, underscores).
    fn identifier(text: &str) -> &str {
        let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
        &text[..end]
    }

    /// What is inside each `{{ … }}` and `{% … %}` of a template.
    fn tags(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let close = match after.chars().next() {
                Some('{') => "}}",
                Some('%') => "%}",
                _ => {
                    rest = after;
                    continue;
                }
            };
            let Some(end) = after.find(close) else { break };
            found.push(&after[1..end]);
            rest = &after[end + 2..];
        }
        found
    }

    /// `tag` with the insides of its string literals blanked, so words in them are not read as code.
    fn code(tag: &str) -> String {
        let mut quote = None;
        tag.chars()
            .map(|c| match quote {
                Some(open) if c == open => {
                    quote = None;
                    c
                }
                Some(_) => ' ',
                None => {
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                    }
                    c
                }
            })
            .collect()
    }

    #[test]
    fn every_filter_test_and_function_the_templates_use_is_there() {
        // The environment starts empty (not minijinja's every builtin): a filter, test or
        // function a template names and nobody registered would fail only when that page runs.
        let (mut filters, mut tests, mut functions, mut macros) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for (_, text) in TEMPLATES {
            for raw in tags(text) {
                // selectattr("attribute", "test", …) names a test in a string.
                for (at, _) in raw.match_indices("selectattr(") {
                    if let Some(name) = raw[at..].split('"').nth(3) {
                        tests.insert(name.to_owned());
                    }
                }
                let tag = code(raw);
                let tag = tag.trim_matches(|c: char| c == '-' || c.is_whitespace());
                if let Some(name) = tag.strip_prefix("macro ") {
                    macros.insert(identifier(name.trim_start()).to_owned());
                }
                for (at, _) in tag.match_indices('|') {
                    let name = identifier(tag[at + 1..].trim_start());
                    if !name.is_empty() {
                        filters.insert(name.to_owned());
                    }
                }
                for (at, _) in tag.match_indices(" is ") {
                    let rest = tag[at + 4..].trim_start();
                    let name = identifier(rest.strip_prefix("not ").unwrap_or(rest).trim_start());
                    tests.insert(name.to_owned());
                }
                for (at, _) in tag.match_indices('(') {
                    let before = &tag[..at];
                    let start = before.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
                    let name = &before[start..];
                    let called_on = before[..start].trim_end().chars().last();
                    if !name.is_empty() && !matches!(called_on, Some('.' | '|')) && !name.starts_with(|c: char| c.is_ascii_digit()) {
                        functions.insert(name.to_owned());
                    }
                }
            }
        }
        for name in &filters {
            if let Err(error) = environment().render_str(&format!("{{{{ none|{name} }}}}"), ()) {
                assert_ne!(error.kind(), minijinja::ErrorKind::UnknownFilter, "the templates use the filter {name}, which is not registered");
            }
        }
        for name in &tests {
            if let Err(error) = environment().render_str(&format!("{{{{ none is {name} }}}}"), ()) {
                assert_ne!(error.kind(), minijinja::ErrorKind::UnknownTest, "the templates use the test {name}, which is not registered");
            }
        }
        // Functions: the templates' own macros, minijinja's syntax, or registered globals.
        for name in
            functions.iter().filter(|name| !macros.contains(*name) && !["selectattr", "caller", "super", "not", "and", "or", "in"].contains(&name.as_str()))
        {
            let defined = environment().render_str(&format!("{{{{ {name} is defined }}}}"), ()).map_err(|error| error.to_string());
            assert_eq!(defined, Ok("True".to_owned()), "the templates call {name}(), which is not registered");
        }
        // The scan sees what the templates use (so it would see a new one).
        assert!(filters.contains("selectattr") && filters.contains("and_list"), "{filters:?}");
        assert!(tests.contains("defined") && tests.contains("equalto"), "{tests:?}");
        assert!(functions.contains("asset"), "{functions:?}");
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
