//! Embeds the repository's scenario library (`scenarios/**/*.yaml`, except `fixtures/`)
//! into the binary, so `glase-conformance` runs from any directory, and the git commit it
//! was built from (`GLASE_KIT_COMMIT`: every report names it, since a replay needs "the
//! same suite version"; `glase_devkit::commit`, shared with the mock and the reference
//! reseller).
//!
//! Generates `$OUT_DIR/embedded_scenarios.rs`: a `&[(&str, &str)]` of (path relative to
//! `scenarios/`, file text) built from `include_str!`, so cargo rebuilds when a file changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("..").join("scenarios");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from("&[\n");
    for (relative, absolute) in &files {
        // Debug formatting quotes and escapes both paths as Rust string literals.
        let _ = writeln!(out, "    ({relative:?}, include_str!({:?})),", absolute.display().to_string());
    }
    out.push(']');
    let target = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_scenarios.rs");
    std::fs::write(&target, out).expect("OUT_DIR is writable");
    glase_devkit::commit::emit(&manifest);
}

/// Every `*.yaml`/`*.yml` under `dir`, skipping `fixtures/` (wire fixtures, not scenarios).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "fixtures") && dir == root {
                continue;
            }
            println!("cargo::rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            files.push((relative, path));
        }
    }
}
