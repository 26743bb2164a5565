//! The person's own voice in their record: comments on any entry, and requests to correct it,
//! each with a status the person can follow and an answer from the provider or the council.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Permit, Refused};
use crate::consent::{Action, Actor, Category, Grant};

/// A comment, or a request to correct something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentKind {
    /// Something to add.
    Comment,
    /// Something that is wrong and should be put right.
    Correction,
}

impl CommentKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommentKind::Comment => "comment",
            CommentKind::Correction => "correction",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<CommentKind> {
        [CommentKind::Comment, CommentKind::Correction].into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Where a comment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentStatus {
    /// Waiting for an answer.
    Open,
    /// Answered.
    Answered,
    /// The record was corrected.
    Corrected,
    /// Not corrected, with the reason given.
    Declined,
}

impl CommentStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Open => "open",
            CommentStatus::Answered => "answered",
            CommentStatus::Corrected => "corrected",
            CommentStatus::Declined => "declined",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<CommentStatus> {
        [CommentStatus::Open, CommentStatus::Answered, CommentStatus::Corrected, CommentStatus::Declined].into_iter().find(|status| status.as_str() == text)
    }
}

/// The most a comment or an answer may say.
pub const MAX_TEXT_CHARS: usize = 2000;

/// A comment or correction request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Stable identifier.
    pub id: String,
    /// Whose record.
    pub person_id: String,
    /// Which part of it.
    pub category: Category,
    /// The entry (a medicine, a visit, a document…), if about one.
    pub entry_id: Option<String>,
    /// The entry as the author saw it ("Visit on 3 November at 08:00").
    pub entry_label: String,
    /// Comment or correction.
    pub kind: CommentKind,
    /// What they said.
    pub body: String,
    /// Who said it.
    pub author_id: String,
    /// Their name.
    pub author_name: String,
    /// For whom they acted, if not themselves.
    pub acting_for: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub status: CommentStatus,
    /// The answer, once there is one.
    pub response: Option<String>,
    /// Who answered (an organisation's name).
    pub responded_by: Option<String>,
    /// When.
    pub responded_at: Option<DateTime<Utc>>,
    /// Increases with every answer; answers name the version they were based on.
    pub version: i64,
}

/// One answer to a comment, as kept in its history (every answer is kept, oldest first; the
/// comment itself holds only the latest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRecord {
    /// The comment answered.
    pub comment_id: String,
    /// Whose record.
    pub person_id: String,
    /// The comment's version this answer made.
    pub version: i64,
    /// Answered, corrected or declined.
    pub status: CommentStatus,
    /// What they said.
    pub response: String,
    /// Who answered (an organisation's name).
    pub responded_by: String,
    /// When.
    pub responded_at: DateTime<Utc>,
}

/// Why a comment or answer cannot be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommentProblem {
    /// Nothing said, or too much.
    #[error("write up to 2,000 characters")]
    BadText,
    /// An answer must leave the comment answered, corrected or declined.
    #[error("an answer must mark the comment answered, corrected or declined")]
    StillOpen,
}

/// Checks the text of a comment or an answer.
pub fn check_text(text: &str) -> Result<&str, CommentProblem> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS || text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(CommentProblem::BadText);
    }
    Ok(text)
}

/// Checks an answer: it must leave the comment answered, corrected or declined, and say
/// something (trimmed, up to [`MAX_TEXT_CHARS`]). Both problems are reported, so a form or a
/// problem document can name every field at once.
pub fn check_answer(status: CommentStatus, response: &str) -> Result<&str, Vec<CommentProblem>> {
    let mut problems = Vec::new();
    if status == CommentStatus::Open {
        problems.push(CommentProblem::StillOpen);
    }
    match check_text(response) {
        Ok(text) if problems.is_empty() => Ok(text),
        Ok(_) => Err(problems),
        Err(problem) => {
            problems.push(problem);
            Err(problems)
        }
    }
}

/// The leave to answer `comment`. Answering adds to that part of the person's record, so it
/// takes a permit to contribute to the comment's category: an organisation that may only view
/// it (even one that can list it) cannot close another's correction request (finding 7). The
/// API's systems and provider staff in the portal both ask here.
pub fn leave_to_answer(actor: &Actor, comment: &Comment, grants: &[Grant], now: DateTime<Utc>) -> Result<Permit, Refused> {
    Permit::ask(actor, &comment.person_id, Action::Contribute, comment.category, grants, now)
}

/// Whether an organisation's reader, holding `permit` to view parts of the person's record,
/// sees `comment`: only comments on the parts it may see.
pub fn visible_under(permit: &Permit, comment: &Comment) -> bool {
    permit.covers(comment.category) && permit.subject_id() == comment.person_id
}

/// The line in the person's access log for an answer `by` gave to their comment.
pub fn answered_detail(by: &str, kind: CommentKind, status: CommentStatus) -> String {
    let kind = match kind {
        CommentKind::Comment => "comment",
        CommentKind::Correction => "request for a correction",
    };
    let status = match status {
        CommentStatus::Open => "still open",
        CommentStatus::Answered => "answered",
        CommentStatus::Corrected => "the record was corrected",
        CommentStatus::Declined => "not corrected, with the reason given",
    };
    format!("{by} answered your {kind}: {status}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_limited() {
        assert_eq!(check_text("  The 8pm dose was given at 9pm.\n"), Ok("The 8pm dose was given at 9pm."));
        assert_eq!(check_text("   "), Err(CommentProblem::BadText));
        assert_eq!(check_text(&"a".repeat(MAX_TEXT_CHARS + 1)), Err(CommentProblem::BadText));
        assert_eq!(check_text("bell\u{7}"), Err(CommentProblem::BadText));
        assert_eq!(check_answer(CommentStatus::Corrected, " Done. "), Ok("Done."));
        assert_eq!(check_answer(CommentStatus::Open, ""), Err(vec![CommentProblem::StillOpen, CommentProblem::BadText]));
        assert_eq!(check_answer(CommentStatus::Open, "Done."), Err(vec![CommentProblem::StillOpen]));
        for status in ["open", "answered", "corrected", "declined"] {
            assert_eq!(CommentStatus::parse(status).map(CommentStatus::as_str), Some(status));
        }
    }
}
