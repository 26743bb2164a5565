//! Plain words (issue 11): the categories called what people say, easy read with pictures drawn
//! for carefront instead of emoji, and times the GOV.UK way ("8am") wherever a person reads one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use carefront_shared::consent::{Action, Category};
use support::{Holding, Portal, margaret_with_full_record, text};

fn save_needs(portal: &Portal, fields: &[(&str, &str)]) {
    let csrf = portal.csrf_from("/people/person-1/needs");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    assert_eq!(portal.post_form("/people/person-1/needs", &all).status(), 303);
}

/// The text inside `<title>`.
fn title(html: &str) -> &str {
    let start = html.find("<title>").map_or(0, |at| at + "<title>".len());
    let end = html[start..].find("</title>").map_or(html.len(), |at| start + at);
    html[start..end].trim()
}

#[test]
fn the_guide_is_what_care_i_get_on_its_page_and_in_the_menu() {
    let portal = margaret_with_full_record();
    let home = text(&portal.get("/home"));
    assert!(home.contains("/people/person-1/guide\">What care I get</a>"), "{home}");
    let guide = text(&portal.get("/people/person-1/guide"));
    assert!(title(&guide).starts_with("What care I get"), "{}", title(&guide));
    assert!(guide.contains("<h1 class=\"govuk-heading-xl\">What care I get</h1>") && guide.contains("Brookside: your guide"), "{guide}");
    for page in [&home, &guide] {
        assert!(!page.to_lowercase().contains("service user guide"), "{page}");
    }

    // Her daughter reads it as what care Margaret gets, and her menu says so.
    let daughter = support::representative(
        &portal,
        "person-sam",
        "Sam Okafor",
        Holding { categories: &[Category::ServiceUserGuide, Category::VisitsAndNotes], actions: &[Action::View], act_for: false },
        7,
    );
    let person = text(&daughter.get("/people/person-1"));
    assert!(person.contains(">What care they get</a>") && person.contains(">Visits and carers&#x27; notes</a>"), "{person}");
    assert!(person.contains("has let you see what care they get and their visits and carers&#x27; notes"), "{person}");
    let guide = text(&daughter.get("/people/person-1/guide"));
    assert!(title(&guide).starts_with("What care Margaret Okafor gets"), "{}", title(&guide));
}

#[test]
fn an_access_line_is_a_short_line_and_a_list() {
    let portal = margaret_with_full_record();
    support::representative(
        &portal,
        "person-sam",
        "Sam Okafor",
        Holding { categories: &[Category::Medication, Category::ServiceUserGuide, Category::Documents], actions: &[Action::View], act_for: false },
        7,
    );
    let access = text(&portal.get("/access"));
    assert!(access.contains("Sam Okafor can see these parts of your record until"), "{access}");
    for item in ["<li>What care you get</li>", "<li>Your medicines</li>", "<li>Your letters and documents</li>"] {
        assert!(access.contains(item), "{item} in {access}");
    }
    assert!(!access.contains("govuk-!-font-weight-bold\">Sam Okafor can see"), "no long bold sentence: {access}");
}

/// The first emoji or pictograph in `text`, written as a character or as a numeric reference.
fn emoji_in(text: &str) -> Option<String> {
    let pictograph = |code: u32| matches!(code, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE0F);
    if let Some(c) = text.chars().find(|c| pictograph(*c as u32)) {
        return Some(format!("U+{:X}", c as u32));
    }
    text.split("&#").skip(1).find_map(|reference| {
        let number = &reference[..reference.find(';')?];
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        pictograph(code).then(|| format!("&#{number};"))
    })
}

#[test]
fn easy_read_has_pictures_beside_the_words_and_no_emoji_on_any_page() {
    let portal = margaret_with_full_record();
    save_needs(&portal, &[("large-print", "large_print_28"), ("needs", "easy_read")]);
    // The pages e2e/pages.mjs walks for Margaret.
    let id = "person-1";
    let mut paths: Vec<String> = vec!["/home".into(), format!("/people/{id}")];
    for name in [
        "care-plan",
        "guide",
        "medicines",
        "visits",
        "contacts",
        "documents",
        "comments",
        "comments/new?category=care_plan",
        "discussions",
        "needs",
        "print",
        "download",
        "emergency-code",
    ] {
        paths.push(format!("/people/{id}/{name}"));
    }
    paths.extend(["/access", "/access/add", "/access-log", "/passkeys", "/people/person-1/no-such-page"].map(String::from));
    let mut pictures = 0;
    for path in &paths {
        let response = portal.get(path);
        let html = text(&response);
        assert!(response.status().as_u16() < 500, "{path}: {}", response.status());
        assert_eq!(emoji_in(&html), None, "{path}");
        assert!(!html.contains("app-easy-read__symbol"), "{path}");
        for picture in html.split("<img class=\"app-easy-read__picture\"").skip(1) {
            let tag = &picture[..picture.find('>').unwrap()];
            assert!(tag.contains("alt=\"\"") && tag.contains("width=\"80\""), "{path}: {tag}");
            let src = tag.split("src=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
            assert!(src.starts_with("/assets/easy-read/") && src.ends_with(".svg"), "{path}: {src}");
            let svg = portal.get(src);
            assert_eq!(svg.status(), 200, "{src}");
            assert_eq!(svg.headers()["content-type"], "image/svg+xml", "{src}");
            assert!(text(&svg).starts_with("<svg "), "{src}");
            pictures += 1;
        }
    }
    assert!(pictures >= 15, "{pictures} pictures on the easy read pages");
    let medicines = text(&portal.get("/people/person-1/medicines"));
    assert!(medicines.contains("<strong>Paracetamol 500 mg tablets</strong>: at 8am and 8pm."), "{medicines}");
    assert!(medicines.contains("You must <strong>not</strong> have Penicillin."), "{medicines}");
}

#[test]
fn the_paper_copy_and_the_download_say_times_the_gov_uk_way() {
    let portal = margaret_with_full_record();
    let paper = text(&portal.get("/people/person-1/print"));
    assert!(paper.contains("8am") && paper.contains("8pm"), "{paper}");
    let clock = regex_free_clock(&paper);
    assert_eq!(clock, None, "a 24-hour time on the paper copy");
    let fhir: serde_json::Value = serde_json::from_str(&text(&portal.get("/people/person-1/download/record.fhir.json"))).unwrap();
    let texts: Vec<String> = fhir["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["resource"]["resourceType"] == "MedicationStatement")
        .filter_map(|entry| entry["resource"]["dosage"][0]["text"].as_str().map(str::to_owned))
        .collect();
    assert!(texts.iter().any(|text| text == "2 tablets, by mouth, at 8am and 8pm"), "{texts:?}");
    // FHIR's own time of day stays the machine form other systems read.
    let statement = fhir["entry"].as_array().unwrap().iter().find(|entry| entry["resource"]["resourceType"] == "MedicationStatement").unwrap();
    assert_eq!(statement["resource"]["dosage"][0]["timing"]["repeat"]["timeOfDay"][0], "08:00:00");
}

/// The first "hh:mm" in the text outside tags and attributes, if any.
fn regex_free_clock(html: &str) -> Option<String> {
    let mut visible = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => visible.push(c),
            _ => {}
        }
    }
    let bytes = visible.as_bytes();
    (0..bytes.len().saturating_sub(4)).find_map(|at| {
        let window = &bytes[at..at + 5];
        let digits = [0, 1, 3, 4].iter().all(|&i| window[i].is_ascii_digit());
        (digits && window[2] == b':').then(|| visible[at..at + 5].to_owned())
    })
}
