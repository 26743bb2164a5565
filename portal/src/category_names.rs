//! What each category of care information is called on a page, in every form a page needs: a
//! heading, "your …", "their …", "Margaret's …", "the …". One place, so a menu, a page title, a
//! sentence about access and a receipt call a thing by the same name — the name an older person
//! or their daughter would say ("What care I get", not "Service user guide").
//!
//! Only the words people read live here. The machine names (`Category::as_str`, the API, FHIR,
//! exports and receipts' codes) are contracts other systems read, and stay as they are.

use carefront_shared::consent::Category;

/// Whose information a phrase is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose<'a> {
    /// The reader's own: "your medicines".
    You,
    /// Someone already named in the sentence: "their medicines".
    They,
    /// Someone else, by name: "Margaret Okafor's medicines".
    Named(&'a str),
}

impl Whose<'_> {
    /// "your", "their", "Margaret's".
    fn possessive(self) -> String {
        match self {
            Self::You => "your".to_owned(),
            Self::They => "their".to_owned(),
            Self::Named(name) => format!("{name}'s"),
        }
    }

    /// The phrase's subject and its verb agreed: ("you", "get"), ("Margaret", "gets").
    fn does(self, verb: &str) -> String {
        match self {
            Self::You => format!("you {verb}"),
            Self::They => format!("they {verb}"),
            Self::Named(name) => format!("{name} {verb}s"),
        }
    }
}

/// The heading of a category's page and its line in the menu. The person's own page speaks as
/// them where that is what they would say ("What care I get"); anyone else's page is about them.
pub fn heading(category: Category, own: bool) -> &'static str {
    match (category, own) {
        (Category::CarePlan, true) => "Your care plan",
        (Category::CarePlan, false) => "Care plan",
        (Category::ServiceUserGuide, true) => "What care I get",
        (Category::ServiceUserGuide, false) => "What care they get",
        (Category::Medication, true) => "Your medicines",
        (Category::Medication, false) => "Medicines",
        (Category::VisitsAndNotes, _) => "Visits and carers' notes",
        (Category::Contacts, true) => "Your contacts",
        (Category::Contacts, false) => "Contacts",
        (Category::Documents, true) => "Your letters and documents",
        (Category::Documents, false) => "Letters and documents",
        (Category::Preferences, true) => "How you like to get information",
        (Category::Preferences, false) => "How they like to get information",
        (Category::AccessLog, true) => "Who has looked at your record",
        (Category::AccessLog, false) => "Who has looked at the record",
    }
}

/// The category inside a sentence: "your medicines", "what care Margaret gets", "how they like
/// to get information".
pub fn phrase(category: Category, whose: Whose<'_>) -> String {
    let your = whose.possessive();
    match category {
        Category::CarePlan => format!("{your} care plan"),
        Category::ServiceUserGuide => format!("what care {}", whose.does("get")),
        Category::Medication => format!("{your} medicines"),
        Category::VisitsAndNotes => format!("{your} visits and carers' notes"),
        Category::Contacts => format!("{your} contacts"),
        Category::Documents => format!("{your} letters and documents"),
        Category::Preferences => format!("how {} to get information", whose.does("like")),
        Category::AccessLog => format!("who has looked at {your} record"),
    }
}

/// A page's title: the heading on the person's own page, "Margaret Okafor's medicines" on
/// anyone else's (the title names whose it is, since the tab shows nothing else).
pub fn title(category: Category, subject: Whose<'_>) -> String {
    match subject {
        Whose::You => heading(category, true).to_owned(),
        other => capitalised(&phrase(category, other)),
    }
}

/// The category as a thing, with no owner: "the care plan", "the care guide" (comments to a
/// provider about an entry, and the access log's lines).
pub fn the(category: Category) -> &'static str {
    match category {
        Category::CarePlan => "the care plan",
        Category::ServiceUserGuide => "the care guide",
        Category::Medication => "the medicines",
        Category::VisitsAndNotes => "the visits and carers' notes",
        Category::Contacts => "the contacts",
        Category::Documents => "the letters and documents",
        Category::Preferences => "the information needs",
        Category::AccessLog => "the list of who has looked at the record",
    }
}

/// The phrases earlier versions of carefront wrote into stored sentences (audit details) for a
/// person's own categories. Stored text is never rewritten, so it is still retold in these.
pub const EARLIER_PHRASES: [(Category, &str); 4] = [
    (Category::ServiceUserGuide, "your service user guide"),
    (Category::VisitsAndNotes, "your visits and notes"),
    (Category::Documents, "your documents"),
    (Category::Preferences, "your format and communication needs"),
];

/// The first letter in capitals, for a phrase that starts a line.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "a, b and c".
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => {
            format!("{} and {}", rest.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", "), last.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_is_called_what_people_say() {
        assert_eq!(heading(Category::ServiceUserGuide, true), "What care I get");
        assert_eq!(phrase(Category::ServiceUserGuide, Whose::You), "what care you get");
        assert_eq!(phrase(Category::ServiceUserGuide, Whose::They), "what care they get");
        assert_eq!(title(Category::ServiceUserGuide, Whose::Named("Margaret")), "What care Margaret gets");
        assert_eq!(title(Category::Preferences, Whose::Named("Margaret")), "How Margaret likes to get information");
        assert_eq!(title(Category::Medication, Whose::You), "Your medicines");
    }

    #[test]
    fn every_category_has_every_form_and_no_machine_name() {
        for category in Category::ALL {
            for words in [heading(category, true), heading(category, false), the(category)] {
                assert!(!words.is_empty() && !words.contains('_'), "{category:?}: {words}");
                assert!(!words.to_lowercase().contains("service user"), "{category:?}: {words}");
            }
            assert!(phrase(category, Whose::Named("Sam")).contains("Sam"));
        }
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(and_list::<&str>(&[]), "");
    }
}
