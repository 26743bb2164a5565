//! Static assets embedded at build time under content-hashed paths (see `build.rs`).

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The source name, e.g. `app.css`.
    pub name: &'static str,
    /// The hashed URL path, e.g. `/assets/app.1a2b3c4d5e6f.css`.
    pub path: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The asset served at `path`.
pub fn by_path(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// The hashed URL of the asset named `name` (for templates).
pub fn url(name: &str) -> Option<&'static str> {
    ASSETS.iter().find(|asset| asset.name == name).map(|asset| asset.path)
}
