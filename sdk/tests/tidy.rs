//! Structural rules of the SDK's sources, checked here rather than left to review: every
//! hand-written module opens with a `//!` doc saying what it is for, and the JWKS verifier's
//! errors do not depend on the crate's `Error`, which wraps them (`error.rs` → `jwks/errors.rs`,
//! one way).

use std::{fs, path::Path};

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), fs::read_to_string(&path).expect("readable source")));
        }
    }
    out
}

/// The lines of `text` that are code, not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|line| !line.starts_with("//"))
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_opens_with_a_module_doc() {
    let mut missing = Vec::new();
    for (path, text) in sources(&src()) {
        // Generated files open with their banner; what follows is the generator's business.
        if !text.starts_with("// @generated") && !text.starts_with("//!") {
            missing.push(path);
        }
    }
    assert!(missing.is_empty(), "modules without a `//!` doc: {missing:?}");
}

#[test]
fn verify_errors_do_not_depend_on_the_crate_error() {
    let errors = fs::read_to_string(src().join("jwks/errors.rs")).expect("jwks/errors.rs");
    let inward: Vec<&str> = code_lines(&errors).filter(|line| line.contains("crate::")).collect();
    assert!(inward.is_empty(), "jwks/errors.rs must depend on nothing else in the crate: {inward:?}");
    for (path, text) in sources(&src().join("jwks")) {
        if path.ends_with("verifier.rs") {
            continue;
        }
        let uses: Vec<&str> = code_lines(&text).filter(|line| line.contains("crate::error")).collect();
        assert!(uses.is_empty(), "only jwks/verifier.rs raises `crate::Error`; {path} uses it: {uses:?}");
    }
}
