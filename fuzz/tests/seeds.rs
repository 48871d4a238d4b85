//! The fuzz targets' bodies over their seed corpora (and over `corpus/TARGET`, what
//! libFuzzer found, when a local run left one), plus 64 truncations of each input: the
//! regression test CI runs on stable, where libFuzzer itself is not available (docs/contributing.md,
//! "Fuzzing").

use std::path::{Path, PathBuf};

/// The seed directories of each target, relative to this crate.
const SEEDS: &[(&str, fn(&[u8]), &[&str])] = &[
    ("soap_request", glase_fuzz::soap_request, &["../scenarios/fixtures"]),
    ("fast_path", glase_fuzz::fast_path, &["../scenarios/fixtures"]),
    ("create_purchase_answer", glase_fuzz::create_purchase_answer, &["seeds/create_purchase_answer"]),
    ("control_body", glase_fuzz::control_body, &["seeds/control_body"]),
    ("scenario", glase_fuzz::scenario, &["../scenarios/pos", "../scenarios/unattended", "../scenarios/webshop"]),
];

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn run(target: &str) {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (_, body, dirs) = SEEDS.iter().find(|(name, ..)| *name == target).expect("a known target");
    let mut inputs = Vec::new();
    for dir in dirs.iter().map(|d| here.join(d)).chain([here.join("corpus").join(target)]) {
        inputs.extend(files(&dir));
    }
    assert!(inputs.len() >= 5, "{target}: only {} seed files", inputs.len());
    for path in &inputs {
        let data = std::fs::read(path).expect("readable seed");
        body(&data);
        for cut in (0..64).map(|i| data.len() * i / 64) {
            body(&data[..cut]);
        }
    }
}

#[test]
fn soap_request_survives_its_seeds() {
    run("soap_request");
}

#[test]
fn fast_path_agrees_on_its_seeds() {
    run("fast_path");
}

#[test]
fn create_purchase_answer_survives_its_seeds() {
    run("create_purchase_answer");
}

#[test]
fn control_body_survives_its_seeds() {
    run("control_body");
}

#[test]
fn scenario_survives_its_seeds() {
    run("scenario");
}
