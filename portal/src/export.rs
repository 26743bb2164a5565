//! "Download everything": `GET /people/{id}/download` says what the files hold, and
//! `/people/{id}/download/record.json` (carefront's own JSON) and `record.fhir.json` (a FHIR R4
//! Bundle) are the files, at once and at no charge. For the person themselves, and for a
//! representative who may act for them (a [`Power`]), holding only what they may see; for anyone else the pages do
//! not exist. Every download is one entry in the person's access log, naming what it held.

use carefront_shared::access::{AuditAction, Permit, Power};
use carefront_shared::consent::{Action, Category};
use carefront_shared::context::RequestContext;
use carefront_shared::domain::Person;
use carefront_shared::export::{self, RecordExport};
use carefront_shared::random::new_id;
use carefront_shared::store::prelude::*;
use http::{HeaderValue, Method, StatusCode, header};
use minijinja::context;
use serde::Serialize;

use crate::care::actor;
use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Request, Response, page};

/// One of the two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rendering {
    /// carefront's own JSON (`carefront-record-export/1`).
    Json,
    /// A FHIR R4 `Bundle`.
    Fhir,
}

impl Rendering {
    fn from_name(name: &str) -> Option<Rendering> {
        match name {
            "record.json" => Some(Rendering::Json),
            "record.fhir.json" => Some(Rendering::Fhir),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Rendering::Json => "application/json",
            Rendering::Fhir => "application/fhir+json",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Rendering::Json => "json",
            Rendering::Fhir => "fhir.json",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Rendering::Json => "a JSON file",
            Rendering::Fhir => "a FHIR R4 file for health and care systems",
        }
    }
}

/// Whose record, as the page shows it.
#[derive(Serialize)]
struct Subject {
    id: String,
    name: String,
    own: bool,
    back_label: String,
}

/// Decides whether `reader` may download `subject_id`'s record: their own, or with a live
/// act-for power — and then only what they may see themselves. Refusal is 404 before anything
/// about the person is read.
async fn authorise(context: &RequestContext<'_>, reader: &Person, subject_id: &str) -> Result<(Power, Permit, Subject), PortalError> {
    let grants = context.store.grants_for_subject(subject_id).await?;
    let power = Power::ask(&actor(reader), subject_id, Action::View, &grants, context.now).map_err(|_| PortalError::NotFound)?;
    let permit = Permit::ask_each(&actor(reader), subject_id, Action::View, &Category::ALL, &grants, context.now).map_err(|_| PortalError::NotFound)?;
    let own = power.acting_for().is_none();
    let name = if own { reader.display_name.clone() } else { context.store.person(subject_id).await?.ok_or(PortalError::NotFound)?.display_name };
    let back_label = if own { "Your care".to_owned() } else { format!("{name}'s care") };
    Ok((power, permit, Subject { id: subject_id.to_owned(), name, own, back_label }))
}

/// GET /people/{id}/download: what the files hold, and the two links.
pub async fn page_for(context: &RequestContext<'_>, visit: &Visit, subject_id: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let (_, _, subject) = authorise(context, reader, subject_id).await?;
    page(context, visit, "download.html", context! { current => "home", subject })
}

/// GET /people/{id}/download/record.json and record.fhir.json: the whole record, as an
/// attachment. A HEAD request is answered without reading (or logging) the record.
pub async fn file(context: &RequestContext<'_>, request: &Request, visit: &Visit, subject_id: &str, name: &str) -> Result<Response, PortalError> {
    let reader = visit.require_person()?;
    let rendering = Rendering::from_name(name).ok_or(PortalError::NotFound)?;
    let (power, permit, _) = authorise(context, reader, subject_id).await?;
    let body = if request.method() == Method::HEAD {
        Vec::new()
    } else {
        let record = export::gather(context.store, &permit, true, context.now).await?.ok_or(PortalError::NotFound)?;
        let body = match rendering {
            Rendering::Json => record.to_json(),
            Rendering::Fhir => serde_json::to_vec_pretty(&export::fhir_bundle(&record, &context.config.origin_header())),
        }
        .map_err(|error| PortalError::Internal(format!("rendering the export: {error}")))?;
        audit_download(context, &power, rendering, &record).await?;
        body
    };
    let mut response = http::Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(rendering.content_type()));
    // The file name is made of our own id and the date, never of anything typed by someone.
    let safe_id: String = subject_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
    let disposition = format!("attachment; filename=\"carefront-record-{safe_id}-{}.{}\"", context.now.format("%Y-%m-%d"), rendering.extension());
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|_| PortalError::Internal("content disposition".into()))?);
    Ok(response)
}

/// One entry in the person's access log for a download: who, for whom, under which power, and
/// what the file held (the category is left empty: it is every category at once).
async fn audit_download(context: &RequestContext<'_>, power: &Power, rendering: Rendering, record: &RecordExport) -> Result<(), PortalError> {
    let sections = record.sections();
    let held = if sections.is_empty() { "nothing is recorded yet".to_owned() } else { sections.join(", ") };
    let detail = format!("downloaded a copy of the whole record as {}, with: {held}", rendering.words());
    let event = power.event(new_id(context.random), AuditAction::RecordDownloaded, None, detail);
    Ok(context.store.append_audit(&event).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_files_exist() {
        assert_eq!(Rendering::from_name("record.json"), Some(Rendering::Json));
        assert_eq!(Rendering::from_name("record.fhir.json"), Some(Rendering::Fhir));
        assert_eq!(Rendering::from_name("record.xml"), None);
        assert_eq!(Rendering::Fhir.content_type(), "application/fhir+json");
    }
}
