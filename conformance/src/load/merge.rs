//! `glase-conformance load merge`: the reports of N shards (`load --shard I/N`) as the
//! report of one load. Counts add up; latency histograms merge bucket by bucket (the
//! percentiles are the whole load's, not averages of the shards'); the invariants are
//! checked again over every shard's evidence together, so an invoice one shard issued
//! and another saw end is judged as one; flows per second are over the wall-clock
//! window from the first shard's first flow to the last shard's last.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use super::evidence::{self, Evidence};
use super::invariants::Violation;
use super::options::FlowKind;
use super::report::{self, Conditions, Flows, JournalView, LoadReport, PlanView, Window};
use super::shard::Shard;
use super::stats::{HistogramView, KindCount, Stats};
use crate::command::Exit;

pub const EXAMPLES: &str = "\
Examples:
  # Four shards wrote their reports into shard-0 … shard-3; one report of the whole load:
  glase-conformance load merge shard-0 shard-1 shard-2 shard-3 --out merged

  # The same, with a shell glob
  glase-conformance load merge reports/shard-* --out reports/merged

Exit codes: 0 every invariant held over all shards together, 1 one was violated (or no
flow completed), 2 the directories are not the complete set of one sharded load.";

/// Options of `glase-conformance load merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' --out directories, each with load-report.json and load-evidence.jsonl.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Write the merged load-report.json into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The fields of a shard's `load-report.json` the merge needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShardReport {
    target: String,
    started_at: String,
    window: Window,
    shard: Option<Shard>,
    conditions: ShardConditions,
    plan: PlanView,
    flows: ShardFlows,
    histograms: Vec<HistogramView>,
    errors: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShardConditions {
    cores: usize,
    peak_rss_mb: Option<f64>,
    cpu_seconds: Option<f64>,
    build: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShardFlows {
    by_kind: BTreeMap<String, KindCount>,
}

/// One shard's report and evidence, read.
#[derive(Debug)]
struct Part {
    dir: PathBuf,
    report: ShardReport,
    shard: Shard,
    evidence: Evidence,
}

/// Runs `glase-conformance load merge`.
pub fn main(args: &MergeArgs) -> Exit {
    let parts = match read_all(&args.dirs) {
        Ok(parts) => parts,
        Err(problems) => {
            for problem in problems {
                eprintln!("error: {problem}");
            }
            return Exit::Usage;
        }
    };
    eprintln!("Merging {} shards: {}", parts.len(), describe(&parts));
    let report = merge(parts);
    report::deliver(&report, args.out.as_deref())
}

/// Every directory read, and checked to be the complete set of shards of one load.
fn read_all(dirs: &[PathBuf]) -> Result<Vec<Part>, Vec<String>> {
    let mut problems = Vec::new();
    let mut parts = Vec::new();
    for dir in dirs {
        match read(dir) {
            Ok(part) => parts.push(part),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let count = parts[0].shard.count;
    let mut seen = HashSet::new();
    for part in &parts {
        if part.shard.count != count {
            problems.push(format!(
                "{} is shard {} but {} is shard {}: not the same load",
                part.dir.display(),
                part.shard,
                parts[0].dir.display(),
                parts[0].shard
            ));
        } else if !seen.insert(part.shard.index) {
            problems.push(format!("shard {} is given twice (again in {})", part.shard, part.dir.display()));
        }
    }
    let missing: Vec<String> = (0..count).filter(|i| !seen.contains(i)).map(|i| format!("{i}/{count}")).collect();
    if problems.is_empty() && !missing.is_empty() {
        problems.push(format!("shards {} are missing: merge the complete set", missing.join(", ")));
    }
    parts.sort_by_key(|p| p.shard.index);
    if problems.is_empty() { Ok(parts) } else { Err(problems) }
}

fn read(dir: &Path) -> Result<Part, String> {
    let path = dir.join("load-report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let report: ShardReport = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a load report of this version ({e})", path.display()))?;
    let shard = report.shard.ok_or_else(|| {
        format!("{}: not a shard's report (it was run without --shard, so it has no evidence)", path.display())
    })?;
    let evidence = Evidence::read(&dir.join(evidence::FILE)).map_err(|e| e.to_string())?;
    if evidence.shard != shard {
        return Err(format!("{}: the evidence is shard {}, the report shard {shard}", dir.display(), evidence.shard));
    }
    Ok(Part { dir: dir.to_owned(), report, shard, evidence })
}

fn describe(parts: &[Part]) -> String {
    parts.iter().map(|p| format!("{} ({})", p.shard, p.dir.display())).collect::<Vec<_>>().join(", ")
}

/// The shards as one report.
fn merge(parts: Vec<Part>) -> LoadReport {
    let stats = Stats::default();
    for part in &parts {
        for view in &part.report.histograms {
            stats.add_histogram(view);
        }
        for (name, count) in &part.report.flows.by_kind {
            match FlowKind::parse(name) {
                Some(kind) => stats.add_kind(kind, *count),
                None => stats.add_error(format!("{}: unknown flow kind {name:?}", part.dir.display()), 1),
            }
        }
        for (what, count) in &part.report.errors {
            stats.add_error(what.clone(), *count);
        }
    }
    let window = Window {
        started_ms: parts.iter().map(|p| p.report.window.started_ms).min().unwrap_or(0),
        ended_ms: parts.iter().map(|p| p.report.window.ended_ms).max().unwrap_or(0),
    };
    let seconds = (window.ended_ms.saturating_sub(window.started_ms) as f64 / 1000.0).max(0.001);
    let flows = Flows::of(&stats, seconds);
    let conditions = conditions(&parts, flows.completed);
    let plan = plan(&parts);
    let first = &parts[0].report;
    let (target, started_at) = (first.target.clone(), first.started_at.clone());
    let merged_from = parts.iter().map(|p| p.dir.display().to_string()).collect();
    let evidence = Evidence::merge(parts.into_iter().map(|p| p.evidence).collect());
    let violations: Vec<Violation> = evidence.check(&[], None);
    let skipped: Vec<&'static str> = if evidence.machines.is_empty() { vec!["MACHINE-RELEASED"] } else { vec![] };
    let passed = violations.is_empty() && flows.completed > 0;
    LoadReport {
        target,
        started_at,
        window,
        shard: None,
        merged_from,
        conditions,
        plan,
        elapsed_s: seconds,
        flows,
        latencies: stats.latency_rows(),
        histograms: stats.histograms(),
        errors: stats.errors(),
        invariants: report::invariant_results(&violations, &skipped),
        journal: JournalView { stats: evidence.journal, read: evidence.ledger.entries },
        passed,
    }
}

/// The shards' conditions together: cores and CPU add up (each shard is its own
/// process, maybe on its own machine); memory is the largest shard's.
fn conditions(parts: &[Part], completed: u64) -> Conditions {
    let cpu: Option<f64> = parts.iter().map(|p| p.report.conditions.cpu_seconds).sum();
    let builds: HashSet<&str> = parts.iter().map(|p| p.report.conditions.build.as_str()).collect();
    Conditions {
        cores: parts.iter().map(|p| p.report.conditions.cores).sum(),
        load_before: None,
        load_after: None,
        peak_rss_mb: parts.iter().filter_map(|p| p.report.conditions.peak_rss_mb).reduce(f64::max),
        cpu_seconds: cpu,
        cpu_ms_per_flow: cpu.filter(|_| completed > 0).map(|cpu| cpu * 1000.0 / completed as f64),
        build: match (builds.contains("release"), builds.contains("debug")) {
            (true, false) => "release",
            (false, true) => "debug",
            _ => "mixed",
        },
    }
}

/// The shards' plans as one: customers and machines add up, the rest is the first
/// shard's (they ran the same command but for `--shard`).
fn plan(parts: &[Part]) -> PlanView {
    let first = &parts[0].report.plan;
    PlanView {
        customers: parts.iter().map(|p| p.report.plan.customers).sum(),
        machines: parts.iter().map(|p| p.report.plan.machines).sum(),
        stop: format!("{} per shard", first.stop),
        pace: format!("{} per shard, {} shards", first.pace, parts.len()),
        ..first.clone()
    }
}
