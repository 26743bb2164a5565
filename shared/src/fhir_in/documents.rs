//! Documents: `DocumentReference` with its contents inline (`attachment.data`), checked as the
//! JSON write checks a document: plain text or PDF, what the content type says, within the size.

use serde_json::Value;

use super::check::{at, base64, code, concept_words, date_time, instant, list, nth, object, string, unsigned_int};
use super::{ImportedDocument, Reader};
use crate::export::{attachment_hash, document_words};
use crate::record::{Document, DocumentKind, DocumentProblem};

/// The LOINC code of a discharge summary.
const LOINC_DISCHARGE_SUMMARY: &str = "18842-5";

/// The kind of document the words of its type say.
fn kind_of(words: &str, codes: &[&str]) -> DocumentKind {
    if codes.contains(&LOINC_DISCHARGE_SUMMARY) {
        return DocumentKind::DischargeSummary;
    }
    if let Some(kind) = DocumentKind::ALL.into_iter().find(|kind| document_words(*kind).eq_ignore_ascii_case(words.trim())) {
        return kind;
    }
    let words = words.to_ascii_lowercase();
    if words.contains("discharge") {
        DocumentKind::DischargeSummary
    } else if words.contains("letter") {
        DocumentKind::Letter
    } else if words.contains("report") || words.contains("assessment") || words.contains("review") {
        DocumentKind::Report
    } else {
        DocumentKind::Other
    }
}

/// `DocumentReference`: a letter, report or discharge summary, and the file itself.
pub(crate) fn document_reference(reader: &mut Reader<'_>, index: usize) {
    let resource: Value = reader.entries[index].resource.clone();
    let path = reader.entries[index].resource_path.clone();
    let problems = &mut reader.problems;
    let status = code(problems, &resource, &path, "status", &["current", "superseded", "entered-in-error"], true);
    code(problems, &resource, &path, "docStatus", &["preliminary", "final", "amended", "entered-in-error"], false);
    let type_words = concept_words(problems, &resource, &path, "type", false).unwrap_or_default();
    let type_codes: Vec<&str> = resource
        .pointer("/type/coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|coding| coding.get("code").and_then(Value::as_str))
        .collect();
    let added_at = instant(problems, &resource, &path, "date", false);
    let added_by = list(problems, &resource, &path, "author", 0).first().and_then(|author| author.get("display").and_then(Value::as_str)).map(str::to_owned);
    let description = string(problems, &resource, &path, "description", false).map(str::to_owned);
    let contents = list(problems, &resource, &path, "content", 1);
    let content_path = nth(&at(&path, "content"), 0);
    let attachment_path = at(&content_path, "attachment");
    let attachment = contents.first().and_then(|content| object(problems, content, &content_path, "attachment", true));
    let mut file = None;
    if let Some(attachment) = attachment {
        let content_type = string(problems, attachment, &attachment_path, "contentType", false).map(str::to_owned);
        let body = base64(problems, attachment, &attachment_path, "data");
        let size = unsigned_int(problems, attachment, &attachment_path, "size");
        let hash = string(problems, attachment, &attachment_path, "hash", false).map(str::to_owned);
        let title = string(problems, attachment, &attachment_path, "title", false).map(str::to_owned);
        // Checked as R4; the document's date is DocumentReference.date.
        date_time(problems, attachment, &attachment_path, "creation", false);
        if attachment.get("data").is_some() && content_type.is_none() {
            problems.invalid(&at(&attachment_path, "contentType"), "contentType is required when data is given (R4 att-1).");
        }
        if let Some(body) = &body {
            if size.is_some_and(|size| usize::try_from(size).ok() != Some(body.len())) {
                problems.invalid(&at(&attachment_path, "size"), format!("size does not match data, which holds {} bytes.", body.len()));
            }
            if hash.as_deref().is_some_and(|hash| hash != attachment_hash(body)) {
                problems.invalid(&at(&attachment_path, "hash"), "hash is not the base64 SHA-1 of data.");
            }
        } else if attachment.get("data").is_none() {
            problems
                .unrecordable(&at(&attachment_path, "data"), "carefront keeps the document itself: send it inline in attachment.data (base64), not by url.");
        }
        file = body.zip(content_type).map(|(body, content_type)| (body, content_type, title));
    }
    let about = reader.patient(&resource, &path, "subject", true);
    let Some(status) = status else { return };
    if status != "current" {
        return reader.left_out(index, "Superseded or entered in error: only current documents are kept.");
    }
    if ["Service user guide", "Emergency summary"].contains(&type_words.trim()) {
        return reader
            .left_out(index, "The service user guide and the emergency summary are kept from their own fields, not from the text the export renders.");
    }
    let Some((body, content_type, attachment_title)) = file else { return };
    let Some(title) = description.or(attachment_title) else {
        return reader.problems.unrecordable(&at(&path, "description"), "Give the document a title (description, or attachment.title).");
    };
    if !about {
        return;
    }
    let Some(id) = reader.derived_id(index, "document") else { return };
    let added_by = added_by.unwrap_or_else(|| reader.target.author.to_owned());
    let checked = Document::check(
        id.clone(),
        reader.target.person_id.to_owned(),
        &title,
        kind_of(&type_words, &type_codes),
        &content_type,
        &body,
        added_by.trim().to_owned(),
        added_at.unwrap_or(reader.target.now),
    );
    match checked {
        Ok(document) => {
            reader.took(index, &id);
            reader.import.documents.push(ImportedDocument { document, body });
        }
        Err(problem) => {
            let place = match problem {
                DocumentProblem::UnsupportedType => at(&attachment_path, "contentType"),
                DocumentProblem::BadTitle => at(&path, "description"),
                DocumentProblem::Empty | DocumentProblem::TooLarge | DocumentProblem::ContentMismatch(_) => at(&attachment_path, "data"),
            };
            let reason = problem.to_string();
            let mut sentence = reason[..1].to_uppercase();
            sentence.push_str(&reason[1..]);
            reader.problems.unrecordable(&place, format!("{sentence}."));
        }
    }
}
