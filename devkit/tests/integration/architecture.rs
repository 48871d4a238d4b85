//! The workspace's architecture rules (issue 14), kept on every change: no two source
//! files of a crate use each other (a concept is defined in one file and used from
//! others), and no function outside tests is longer than 80 lines.

use std::path::{Path, PathBuf};

use glase_devkit::imports::{Graph, long_functions};

/// Every crate of the workspace with sources of its own.
const CRATES: &[&str] = &["protocol", "listen", "mock-glase", "reference-reseller", "conformance", "benches", "devkit"];

/// The longest a function outside tests may be.
const MAX_LINES: usize = 80;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_two_source_files_of_a_crate_use_each_other() {
    let mut cycles = Vec::new();
    for krate in CRATES {
        let src = workspace().join(krate).join("src");
        assert!(src.is_dir(), "{} is not a directory", src.display());
        for (a, b) in Graph::read(&src).cycles() {
            cycles.push(format!("{} <-> {}", a.display(), b.display()));
        }
    }
    assert!(
        cycles.is_empty(),
        "files that use each other (move what both need into a file of its own):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn no_function_outside_tests_is_longer_than_80_lines() {
    let mut long = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&workspace().join(krate).join("src"), &mut files);
        for file in files {
            for (file, name, lines) in long_functions(&file, MAX_LINES) {
                long.push(format!("{}: fn {name} has {lines} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these (at most {MAX_LINES} lines):\n{}", long.join("\n"));
}
