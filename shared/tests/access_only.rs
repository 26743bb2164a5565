//! Access as a type, checked over the source: outside `shared/src/access.rs` no code calls the
//! consent decision or builds an audit event field by field, so every read of care information
//! goes through a permit and every audit event is built from one (or from a named account,
//! administration or statutory act). Tests are exempt: they build fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

use std::path::{Path, PathBuf};

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The code outside `#[cfg(test)]` modules (they come last in our files).
fn production_code(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

#[test]
fn no_decide_call_and_no_audit_event_literal_outside_the_access_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for crate_dir in ["shared/src", "portal/src", "api/src", "admin/src", "workers/src", "spin/src"] {
        sources(&root.join(crate_dir), &mut files);
    }
    assert!(files.len() > 40, "found the sources");
    let mut offences = Vec::new();
    for file in files {
        if file.ends_with("shared/src/access.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = production_code(&text);
        for (number, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            let literal = line.replace("-> AuditEvent {", "").contains("AuditEvent {") && !trimmed.starts_with("pub struct AuditEvent");
            if literal || line.contains("decide(") {
                offences.push(format!("{}:{}: {}", file.strip_prefix(root).unwrap().display(), number + 1, trimmed));
            }
        }
    }
    assert!(offences.is_empty(), "decide and audit events belong to shared::access:\n{}", offences.join("\n"));
}
