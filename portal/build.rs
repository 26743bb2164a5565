//! Embeds the compiled static assets (`assets/dist/`, made by `scripts/build-assets`) with
//! content-hashed names, so they can be cached for a year and still change on every release.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

const ASSETS: &[(&str, &str)] = &[
    ("app.css", "text/css; charset=utf-8"),
    ("webauthn.js", "text/javascript; charset=utf-8"),
    ("print.js", "text/javascript; charset=utf-8"),
    ("icon.svg", "image/svg+xml"),
];

fn main() {
    // The directory of the checkout being built, read when the script runs: a build script
    // compiled for one checkout is reused for another that shares the target directory, so the
    // compile-time `env!` would point at the wrong tree.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let dist = Path::new(&manifest_dir).join("assets/dist");
    println!("cargo::rerun-if-changed={}", dist.display());
    println!("cargo::rerun-if-changed={}", dist.join("easy-read").display());
    // Modification times alone have missed a rebuilt stylesheet (written in the same second as a
    // build); the scripts also pass a digest of the assets' contents.
    println!("cargo::rerun-if-env-changed=CAREFRONT_ASSETS_DIGEST");
    let mut table = String::from("/// The embedded static assets.\npub static ASSETS: &[Asset] = &[\n");
    // Easy read's pictures: every SVG in `easy-read/`, so a new picture needs no line here.
    let mut pictures: Vec<String> = std::fs::read_dir(dist.join("easy-read"))
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| name.ends_with(".svg"))
                .map(|name| format!("easy-read/{name}"))
                .collect()
        })
        .unwrap_or_default();
    pictures.sort();
    let listed = ASSETS.iter().map(|(name, content_type)| ((*name).to_owned(), *content_type));
    for (name, content_type) in listed.chain(pictures.into_iter().map(|name| (name, "image/svg+xml"))) {
        let name = name.as_str();
        let path = dist.join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        let Ok(bytes) = std::fs::read(&path) else {
            println!("cargo::error={} is missing: run scripts/build-assets first", path.display());
            return;
        };
        let digest = Sha256::digest(&bytes);
        let hash: String = digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect();
        let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
        let _ = writeln!(
            table,
            "    Asset {{ name: {name:?}, path: \"/assets/{stem}.{hash}.{extension}\", content_type: {content_type:?}, body: include_bytes!({path:?}) }},",
            path = path.display().to_string()
        );
    }
    table.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("assets.rs");
    if let Err(error) = std::fs::write(&out, table) {
        println!("cargo::error=cannot write {}: {error}", out.display());
    }
}
