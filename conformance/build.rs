//! Embeds the repository's scenario library (`scenarios/**/*.yaml`, except `fixtures/`)
//! into the binary, so `glase-conformance` runs from any directory, and the git commit it
//! was built from (`GLASE_KIT_COMMIT`: every report names it, since a replay needs "the
//! same suite version").
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
    println!("cargo::rustc-env=GLASE_KIT_COMMIT={}", commit(&manifest));
}

/// The commit being built: `GLASE_KIT_COMMIT` if set (a build from a source tarball),
/// else `git rev-parse`, else `unknown`. Rebuilds when HEAD moves.
fn commit(manifest: &Path) -> String {
    println!("cargo::rerun-if-env-changed=GLASE_KIT_COMMIT");
    if let Some(commit) = std::env::var("GLASE_KIT_COMMIT").ok().filter(|c| !c.trim().is_empty()) {
        return commit.trim().to_owned();
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    for dir in
        [git(&["rev-parse", "--absolute-git-dir"]), git(&["rev-parse", "--git-common-dir"])].into_iter().flatten()
    {
        let dir = manifest.join(dir);
        for watched in ["HEAD", "refs/heads", "packed-refs"] {
            if dir.join(watched).exists() {
                println!("cargo::rerun-if-changed={}", dir.join(watched).display());
            }
        }
    }
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
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
