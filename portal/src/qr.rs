//! QR codes for printed letters, drawn as inline SVG: no script, no image to fetch, so the
//! strict content security policy holds and the code prints sharply at any size.

use std::fmt::Write as _;

use qrcodegen::{QrCode, QrCodeEcc};
use serde::Serialize;

/// The quiet zone the QR specification asks for round the code, in modules.
const QUIET_ZONE: i32 = 4;

/// Why a QR code could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text does not fit in the largest QR code.
    #[error("the text is too long for a QR code")]
    TooLong,
}

/// A QR code ready for a template: the SVG's width and height in modules (quiet zone included)
/// and one path of its dark modules. Both are only digits and path letters, so the template
/// writes them with escaping on and nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QrSvg {
    /// Width and height of the `viewBox`.
    pub size: i32,
    /// The `d` of a path that fills every dark module.
    pub path: String,
}

/// Encodes `text` (medium error correction: a letter may be creased or smudged) as an SVG path.
pub fn svg(text: &str) -> Result<QrSvg, QrError> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|_| QrError::TooLong)?;
    let modules = code.size();
    let mut path = String::new();
    for y in 0..modules {
        let mut x = 0;
        while x < modules {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            // One rectangle per run of dark modules keeps the path short.
            let start = x;
            while x < modules && code.get_module(x, y) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(path, "M{},{}h{run}v1h-{run}z", start + QUIET_ZONE, y + QUIET_ZONE);
        }
    }
    Ok(QrSvg { size: modules + 2 * QUIET_ZONE, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_a_path_of_dark_modules_inside_a_quiet_zone() {
        let link = "http://localhost:8787/invitation?code=7K2M-QX4D-9RTB-H3VW-ZP6N-5GJA-CE8F-1MKS-TV3Q";
        let drawn = svg(link).unwrap();
        let code = QrCode::encode_text(link, QrCodeEcc::Medium).unwrap();
        assert_eq!(drawn.size, code.size() + 8);
        assert!(drawn.path.starts_with("M4,4h7v1h-7z"), "the top-left finder pattern: {}", &drawn.path[..20]);
        assert!(drawn.path.chars().all(|c| c.is_ascii_digit() || "Mhvz,-".contains(c)));
        let dark: i32 = (0..code.size()).flat_map(|y| (0..code.size()).map(move |x| (x, y))).filter(|(x, y)| code.get_module(*x, *y)).count() as i32;
        let drawn_dark: i32 = drawn.path.split('z').filter_map(|part| part.split('h').nth(1)?.split('v').next()?.parse::<i32>().ok()).sum();
        assert_eq!(dark, drawn_dark, "every dark module drawn once");
        assert_eq!(svg(&"x".repeat(8000)), Err(QrError::TooLong));
    }
}
