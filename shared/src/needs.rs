//! Format and communication needs, as the NHS Accessible Information Standard asks: identify,
//! record (with SNOMED CT codes where one exists), flag, share and act. Also the person's
//! choice about a paper copy of their care plan in the home.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The SNOMED CT code system URI.
pub const SNOMED_CT: &str = "http://snomed.info/sct";

/// One format or communication need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// Large print, at least 20 point.
    LargePrint20,
    /// Large print, at least 24 point.
    LargePrint24,
    /// Large print, at least 28 point.
    LargePrint28,
    /// Easy read.
    EasyRead,
    /// Braille (contracted, grade 2).
    Braille,
    /// Electronic audio.
    ElectronicAudio,
    /// A British Sign Language interpreter.
    BslInterpreter,
    /// Information by email.
    InformationByEmail,
    /// Contact by letter.
    ContactByLetter,
    /// Contact through a carer.
    ContactViaCarer,
    /// A paper copy of the care plan and guide kept in the home (the default).
    PaperCopyAtHome,
    /// Expressly no paper copies in the home.
    NoPaperCopies,
    /// Something else, in the person's words.
    Other,
}

impl Need {
    /// Every need, in the order the form lists them.
    pub const ALL: [Need; 13] = [
        Need::LargePrint20,
        Need::LargePrint24,
        Need::LargePrint28,
        Need::EasyRead,
        Need::Braille,
        Need::ElectronicAudio,
        Need::BslInterpreter,
        Need::InformationByEmail,
        Need::ContactByLetter,
        Need::ContactViaCarer,
        Need::PaperCopyAtHome,
        Need::NoPaperCopies,
        Need::Other,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Need::LargePrint20 => "large_print_20",
            Need::LargePrint24 => "large_print_24",
            Need::LargePrint28 => "large_print_28",
            Need::EasyRead => "easy_read",
            Need::Braille => "braille",
            Need::ElectronicAudio => "electronic_audio",
            Need::BslInterpreter => "bsl_interpreter",
            Need::InformationByEmail => "information_by_email",
            Need::ContactByLetter => "contact_by_letter",
            Need::ContactViaCarer => "contact_via_carer",
            Need::PaperCopyAtHome => "paper_copy_at_home",
            Need::NoPaperCopies => "no_paper_copies",
            Need::Other => "other",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Need> {
        Need::ALL.into_iter().find(|need| need.as_str() == text)
    }

    /// The SNOMED CT concept (code, preferred term) from the Accessible Information Standard's
    /// reference sets; `None` for the paper-copy choices and free text, which have none.
    pub fn snomed(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Need::LargePrint20 => ("957331000000109", "Requires written information in at least 20 point sans serif font"),
            Need::LargePrint24 => ("957351000000102", "Requires written information in at least 24 point sans serif font"),
            Need::LargePrint28 => ("957371000000106", "Requires written information in at least 28 point sans serif font"),
            Need::EasyRead => ("796161000000101", "Requires information in Easyread"),
            Need::Braille => ("936661000000109", "Requires information in contracted (Grade 2) Braille"),
            Need::ElectronicAudio => ("936601000000105", "Requires information in electronic audio format"),
            Need::BslInterpreter => ("204331000000107", "British Sign Language interpreter needed"),
            Need::InformationByEmail => ("936581000000101", "Requires information by email"),
            Need::ContactByLetter => ("936721000000107", "Requires contact by letter"),
            Need::ContactViaCarer => ("719561001", "Requires contact via carer"),
            Need::PaperCopyAtHome | Need::NoPaperCopies | Need::Other => return None,
        })
    }

    /// In plain words, about the person ("Large print (at least 24 point)").
    pub fn label(self) -> &'static str {
        match self {
            Need::LargePrint20 => "Large print (at least 20 point)",
            Need::LargePrint24 => "Large print (at least 24 point)",
            Need::LargePrint28 => "Large print (at least 28 point)",
            Need::EasyRead => "Easy read",
            Need::Braille => "Braille",
            Need::ElectronicAudio => "Audio recordings",
            Need::BslInterpreter => "A British Sign Language (BSL) interpreter",
            Need::InformationByEmail => "Information by email",
            Need::ContactByLetter => "Contact by letter",
            Need::ContactViaCarer => "Contact through their carer",
            Need::PaperCopyAtHome => "A paper copy of the care plan in the home",
            Need::NoPaperCopies => "No paper copies in the home",
            Need::Other => "Other needs",
        }
    }

    /// The point size, for large print.
    pub fn large_print_points(self) -> Option<u8> {
        match self {
            Need::LargePrint20 => Some(20),
            Need::LargePrint24 => Some(24),
            Need::LargePrint28 => Some(28),
            _ => None,
        }
    }
}

/// A recorded need (one row; ended rows are history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedNeed {
    /// Stable identifier.
    pub id: String,
    /// Whose need.
    pub person_id: String,
    /// Which.
    pub need: Need,
    /// Free text (required for [`Need::Other`]).
    pub detail: String,
    /// Who recorded it (a person id, or an organisation's system credential).
    pub recorded_by: String,
    /// Their name as shown.
    pub recorded_by_name: String,
    /// For whom they acted, if not themselves.
    pub acting_for: Option<String>,
    /// The consent discussion it came from, if any.
    pub consent_discussion_id: Option<String>,
    /// When.
    pub recorded_at: DateTime<Utc>,
    /// When it stopped applying.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Why a set of needs cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NeedsProblem {
    /// Two large-print sizes.
    #[error("choose one large print size")]
    TwoSizes,
    /// Both a paper copy and no paper copies.
    #[error("choose either a paper copy in the home or no paper copies, not both")]
    PaperBothWays,
    /// "Other" ticked with nothing said, or text too long.
    #[error("describe the other need in up to 500 characters")]
    OtherUndescribed,
}

/// The needs as a set: checks that they make sense together. `other` is the free text, which
/// must be given exactly when [`Need::Other`] is chosen.
pub fn check(needs: &BTreeSet<Need>, other: &str) -> Result<(), NeedsProblem> {
    if needs.iter().filter(|need| need.large_print_points().is_some()).count() > 1 {
        return Err(NeedsProblem::TwoSizes);
    }
    if needs.contains(&Need::PaperCopyAtHome) && needs.contains(&Need::NoPaperCopies) {
        return Err(NeedsProblem::PaperBothWays);
    }
    let other = other.trim();
    if needs.contains(&Need::Other) && (other.is_empty() || other.chars().count() > 500 || other.chars().any(|c| c.is_control() && c != '\n' && c != '\r')) {
        return Err(NeedsProblem::OtherUndescribed);
    }
    Ok(())
}

/// What the portal does for someone with these needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Presentation {
    /// Large print at this size (every page's type scale).
    pub large_print: Option<u8>,
    /// Easy-read summaries on the key pages.
    pub easy_read: bool,
}

impl Presentation {
    /// From the live needs.
    pub fn of<'a>(needs: impl IntoIterator<Item = &'a RecordedNeed>) -> Presentation {
        let mut presentation = Presentation::default();
        for recorded in needs.into_iter().filter(|recorded| recorded.ended_at.is_none()) {
            if let Some(points) = recorded.need.large_print_points() {
                presentation.large_print = Some(presentation.large_print.map_or(points, |current| current.max(points)));
            }
            presentation.easy_read |= recorded.need == Need::EasyRead;
        }
        presentation
    }
}

/// Whether a paper copy belongs in the home: yes unless the person expressly chose none.
pub fn wants_paper_copy<'a>(needs: impl IntoIterator<Item = &'a RecordedNeed>) -> bool {
    !needs.into_iter().any(|recorded| recorded.ended_at.is_none() && recorded.need == Need::NoPaperCopies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip_and_codes_are_sctids() {
        for need in Need::ALL {
            assert_eq!(Need::parse(need.as_str()), Some(need));
            if let Some((code, _)) = need.snomed() {
                assert!(code.len() >= 6 && code.len() <= 18 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
            }
        }
        assert_eq!(Need::parse("large-print"), None);
    }

    #[test]
    fn needs_must_make_sense_together() {
        let set = |needs: &[Need]| needs.iter().copied().collect::<BTreeSet<_>>();
        assert_eq!(check(&set(&[Need::LargePrint20, Need::LargePrint28]), ""), Err(NeedsProblem::TwoSizes));
        assert_eq!(check(&set(&[Need::PaperCopyAtHome, Need::NoPaperCopies]), ""), Err(NeedsProblem::PaperBothWays));
        assert_eq!(check(&set(&[Need::Other]), "  "), Err(NeedsProblem::OtherUndescribed));
        assert_eq!(check(&set(&[Need::Other, Need::EasyRead, Need::LargePrint24]), "Speak slowly"), Ok(()));
        assert_eq!(check(&set(&[]), ""), Ok(()));
    }

    #[test]
    fn presentation_follows_live_needs_only() {
        let need = |need: Need, ended: bool| RecordedNeed {
            id: need.as_str().into(),
            person_id: "p".into(),
            need,
            detail: String::new(),
            recorded_by: "p".into(),
            recorded_by_name: "P".into(),
            acting_for: None,
            consent_discussion_id: None,
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
            ended_at: ended.then_some(DateTime::<Utc>::UNIX_EPOCH),
        };
        let needs = [need(Need::LargePrint24, false), need(Need::EasyRead, true), need(Need::NoPaperCopies, true)];
        assert_eq!(Presentation::of(&needs), Presentation { large_print: Some(24), easy_read: false });
        assert!(wants_paper_copy(&needs), "an ended 'no paper copies' means a paper copy again");
        assert!(!wants_paper_copy(&[need(Need::NoPaperCopies, false)]));
    }
}
