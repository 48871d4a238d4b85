//! The evidence bundle: what it takes to replay a run and show it to Glase, written next
//! to the reports as `evidence/`:
//! - `manifest.json`: suite version, start, target, profile, strictness, seed, deadline
//!   scale, the command line, and per scenario its id, file, the SHA-256 of the exact text
//!   that was loaded and its verdict;
//! - `journal.jsonl`: the embedded mock's whole journal (every scenario, every merchant),
//!   one entry per line in `seq` order, each as in `report.json`;
//! - `system-under-test.log`: with `--start`, the system's own output (written there
//!   while it ran; the manifest says how it ended).
//!
//! The same scenario files (same hashes) with `--seed N` make the mock hand out the same
//! references, so a failure seen in CI can be run again.

use std::io::{self, Write as _};
use std::path::Path;

use mock_glase::journal::{Entry, Filter};
use serde::Serialize;

use crate::results::{RunReport, Verdict};
use crate::runner::Harness;
use crate::scenario::Scenario;

/// What the bundle holds beyond the [`RunReport`]: taken from the run's harness before it
/// shuts down.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The command line, program name first.
    pub command_line: Vec<String>,
    /// The run's Glase-side deadline scale.
    pub deadline_scale: f64,
    /// `(id, sha256)` of every scenario given to the runner.
    pub hashes: Vec<(String, String)>,
    /// The mock's journal, in `seq` order.
    pub journal: Vec<Entry>,
    /// Entries the bounded journal had already let go (the bundle lacks them).
    pub journal_dropped: u64,
    /// A system the suite started (`--start`): how it ended, and its output file.
    pub started_system: Option<(String, std::path::PathBuf)>,
    /// The `--config` file: its path and text (with any `driver_token` value hidden).
    pub config: Option<(std::path::PathBuf, String)>,
}

impl Evidence {
    /// Collects the evidence of a run of `scenarios` on `harness`, once it has finished.
    pub fn collect(harness: &Harness, scenarios: &[Scenario], command_line: Vec<String>) -> Self {
        let mock = harness.mock();
        Self {
            command_line,
            deadline_scale: harness.deadline_scale,
            hashes: scenarios.iter().map(|s| (s.id.clone(), s.sha256.clone())).collect(),
            journal: mock.journal(&Filter::default()),
            journal_dropped: mock.journal_stats().1,
            started_system: None,
            config: None,
        }
    }

    /// With the config file the run read (copied into the bundle as `config.toml`; a
    /// `driver_token` line's value is replaced by `"(hidden)"`).
    #[must_use]
    pub fn with_config(mut self, path: Option<&std::path::Path>) -> Self {
        self.config = path.and_then(|path| {
            let text = std::fs::read_to_string(path).ok()?;
            let hidden: Vec<String> = text
                .lines()
                .map(|line| {
                    if line.trim_start().starts_with("driver_token") {
                        "driver_token = \"(hidden)\"".to_owned()
                    } else {
                        line.to_owned()
                    }
                })
                .collect();
            Some((path.to_owned(), hidden.join("\n") + "\n"))
        });
        self
    }

    /// With the system the suite started: how it ended and where its output is.
    #[must_use]
    pub fn with_system(mut self, started: Option<(String, std::path::PathBuf)>) -> Self {
        self.started_system = started;
        self
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    suite_version: &'a str,
    suite_commit: &'a str,
    started_at: &'a str,
    /// Who the system under test is, as declared.
    system: &'a crate::system::Identity,
    /// What the waits were judged against.
    conditions: &'a crate::results::Conditions,
    /// The `--config` file, copied as `config.toml`.
    #[serde(skip_serializing_if = "Option::is_none")]
    config_file: Option<String>,
    target: &'a str,
    profile: &'a str,
    strict: bool,
    seed: u64,
    deadline_scale: f64,
    command_line: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    started_system: Option<StartedSystem>,
    scenarios: Vec<ScenarioEvidence<'a>>,
    journal: JournalSummary,
}

/// A system the suite started: where its output is, how it ended.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartedSystem {
    log: String,
    ended: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScenarioEvidence<'a> {
    id: &'a str,
    file: &'a str,
    sha256: Option<&'a str>,
    verdict: Verdict,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JournalSummary {
    file: &'static str,
    entries: usize,
    dropped: u64,
}

/// Writes `dir/manifest.json` and `dir/journal.jsonl` (creating `dir`).
pub fn write_evidence(report: &RunReport, evidence: &Evidence, dir: &Path) -> io::Result<()> {
    let hash = |id: &str| evidence.hashes.iter().find(|(i, _)| i == id).map(|(_, h)| h.as_str());
    let manifest = Manifest {
        suite_version: &report.suite_version,
        suite_commit: &report.suite_commit,
        started_at: &report.started_at,
        system: &report.system,
        conditions: &report.conditions,
        config_file: evidence.config.as_ref().map(|(path, _)| path.display().to_string()),
        target: &report.target,
        profile: &report.profile,
        strict: report.strict,
        seed: report.seed,
        deadline_scale: evidence.deadline_scale,
        command_line: &evidence.command_line,
        started_system: evidence.started_system.as_ref().map(|(ended, log)| StartedSystem {
            log: log.file_name().map_or_else(|| log.display().to_string(), |n| n.to_string_lossy().into_owned()),
            ended: ended.clone(),
        }),
        scenarios: report
            .results
            .iter()
            .map(|r| ScenarioEvidence { id: &r.id, file: &r.file, sha256: hash(&r.id), verdict: r.verdict })
            .collect(),
        journal: JournalSummary {
            file: "journal.jsonl",
            entries: evidence.journal.len(),
            dropped: evidence.journal_dropped,
        },
    };
    let mut out = super::common::create(&dir.join("manifest.json"))?;
    serde_json::to_writer_pretty(&mut out, &manifest)?;
    out.write_all(b"\n")?;
    out.flush()?;

    if let Some((_, text)) = &evidence.config {
        let mut out = super::common::create(&dir.join("config.toml"))?;
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    let mut out = super::common::create(&dir.join("journal.jsonl"))?;
    for entry in &evidence.journal {
        serde_json::to_writer(&mut out, entry)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};

    use super::*;
    use crate::report::fixtures;
    use crate::rules;
    use crate::scenario::{Source, load};

    #[test]
    fn the_manifest_holds_the_files_hashes_and_the_journal_every_entry_in_order() {
        let sources = [
            Source {
                name: "mine/a.yaml".into(),
                text: "id: mine/a\ntitle: A\nprofiles: [webshop]\nsteps: [wait: 1ms]\n".into(),
            },
            Source {
                name: "mine/b.yaml".into(),
                text: "# café\nid: mine/b\ntitle: B\r\nprofiles: [unattended]\nsteps: [wait: 2ms]\n".into(),
            },
        ];
        let scenarios = load(&sources, &|id| rules::rule(id).is_some()).expect("valid scenarios");
        let mut report = fixtures::report(false);
        report.results.truncate(2);
        for (result, scenario) in report.results.iter_mut().zip(&scenarios) {
            result.id.clone_from(&scenario.id);
            result.file.clone_from(&scenario.file);
        }
        let journal = fixtures::journal(3);
        let evidence = Evidence {
            command_line: vec!["glase-conformance".into(), "demo".into(), "--seed".into(), "42".into()],
            deadline_scale: 0.05,
            hashes: scenarios.iter().map(|s| (s.id.clone(), s.sha256.clone())).collect(),
            journal: journal.clone(),
            journal_dropped: 0,
            started_system: None,
            config: None,
        };
        let dir = std::env::temp_dir().join(format!("glase-evidence-{}", std::process::id()));
        write_evidence(&report, &evidence, &dir).expect("written");

        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("a manifest"))
                .expect("JSON");
        assert_eq!(manifest["seed"], 42);
        assert_eq!(manifest["deadlineScale"], 0.05);
        assert_eq!(manifest["commandLine"][2], "--seed");
        for (i, source) in sources.iter().enumerate() {
            let entry = &manifest["scenarios"][i];
            assert_eq!(entry["file"], source.name.as_str());
            let expected: String = Sha256::digest(source.text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(entry["sha256"], expected.as_str(), "{}", source.name);
        }
        assert_eq!(manifest["scenarios"][1]["verdict"], "failed");

        let lines = std::fs::read_to_string(dir.join("journal.jsonl")).expect("a journal");
        let seqs: Vec<u64> = lines
            .lines()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line).expect("one JSON object a line")["seq"].as_u64()
            })
            .map(|seq| seq.expect("a seq"))
            .collect();
        assert_eq!(seqs.len(), journal.len());
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "increasing: {seqs:?}");
        assert_eq!(manifest["journal"]["entries"], journal.len());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            crate::scenario::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
