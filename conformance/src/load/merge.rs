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
    #[serde(default)]
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
        let (noun, verb) = if missing.len() == 1 { ("shard", "is") } else { ("shards", "are") };
        problems.push(format!("{noun} {} {verb} missing: merge the complete set", missing.join(", ")));
    }
    parts.sort_by_key(|p| p.shard.index);
    problems.extend(not_one_load(&parts));
    if problems.is_empty() { Ok(parts) } else { Err(problems) }
}

/// Why `parts` are not the shards of one load: run with other seeds or against another
/// system, or not at the same time (a directory left from an earlier run would otherwise
/// be judged with this one's journal, and look like a backend that charged for nothing).
fn not_one_load(parts: &[Part]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(first) = parts.first() else { return problems };
    let name = |part: &Part| format!("shard {} ({})", part.shard, part.dir.display());
    for part in &parts[1..] {
        if part.report.plan.seed != first.report.plan.seed {
            problems.push(format!(
                "{} ran with --seed {} but {} with --seed {}: the shards of one load share their --seed",
                name(part),
                part.report.plan.seed,
                name(first),
                first.report.plan.seed
            ));
        }
        if part.report.target != first.report.target {
            problems.push(format!(
                "{} loaded {} but {} loaded {}: the shards of one load share one backend",
                name(part),
                part.report.target,
                name(first),
                first.report.target
            ));
        }
    }
    let latest_start = parts.iter().max_by_key(|p| p.report.window.started_ms);
    let earliest_end = parts.iter().min_by_key(|p| p.report.window.ended_ms);
    if let (Some(late), Some(early)) = (latest_start, earliest_end)
        && late.report.window.started_ms >= early.report.window.ended_ms
    {
        problems.push(format!(
            "{} started its flows at {} and {} had ended its flows at {}: the shards of one load run at the same \
             time (is one of the directories left from an earlier run?)",
            name(late),
            utc(late.report.window.started_ms),
            name(early),
            utc(early.report.window.ended_ms)
        ));
    }
    problems
}

/// Shards that started well apart: the merged rate is over the whole window, so it
/// understates what they drove together, and the reader should know.
fn started_apart(parts: &[Part]) -> Option<String> {
    let starts = parts.iter().map(|p| p.report.window.started_ms);
    let ends = parts.iter().map(|p| p.report.window.ended_ms);
    let (first_start, last_start) = (starts.clone().min()?, starts.max()?);
    let (first_end, last_end) = (ends.clone().min()?, ends.max()?);
    let apart = last_start.saturating_sub(first_start);
    let shortest = parts.iter().map(|p| p.report.window.ended_ms.saturating_sub(p.report.window.started_ms)).min()?;
    if apart <= (shortest / 10).max(1_000) {
        return None;
    }
    let seconds = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
    Some(format!(
        "the shards started up to {} apart and ran together for {} of the {} window, so the merged flows/s \
         understate what they drive at once; start them together (every shard's pod Running before the first \
         starts its flows)",
        seconds(apart),
        seconds(first_end.saturating_sub(last_start)),
        seconds(last_end.saturating_sub(first_start))
    ))
}

fn utc(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(at).to_string()
}

fn read(dir: &Path) -> Result<Part, String> {
    let path = dir.join("load-report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("{}: cannot read it ({e}): give the directories shards wrote with --out", path.display())
    })?;
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
    let notes = started_apart(&parts).into_iter().collect();
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
        notes,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Shard `index` of 2, as its report and an empty evidence say.
    fn part(index: u32, seed: u64, target: &str, window: (u64, u64)) -> Part {
        let shard = Shard { index, count: 2 };
        let report: ShardReport = serde_json::from_value(json!({
            "target": target,
            "startedAt": "2026-12-05T12:00:00Z",
            "window": { "startedMs": window.0, "endedMs": window.1 },
            "shard": shard,
            "conditions": { "cores": 2, "peakRssMb": 40.0, "cpuSeconds": 1.5, "build": "release" },
            "plan": { "customers": 10, "machines": 5, "stop": "for 5s", "pace": "4 in flight",
                      "mix": "success=1", "seed": seed, "deadlineScale": 1.0, "drainS": 10.0 },
            "flows": { "byKind": { "success": { "completed": 3, "failed": 0 } } },
            "histograms": [],
            "errors": {},
        }))
        .expect("a report");
        let evidence = Evidence::merge(Vec::new());
        Part { dir: PathBuf::from(format!("shard-{index}")), report, shard, evidence }
    }

    #[test]
    fn shards_of_one_load_share_seed_and_backend_and_run_at_the_same_time() {
        let together = [part(0, 42, "B", (1_000, 6_000)), part(1, 42, "B", (1_500, 6_500))];
        assert_eq!(not_one_load(&together), Vec::<String>::new());

        let other_seed = [part(0, 42, "B", (1_000, 6_000)), part(1, 7, "B", (1_500, 6_500))];
        let problems = not_one_load(&other_seed);
        assert!(problems.len() == 1 && problems[0].contains("--seed 7"), "{problems:?}");

        let other_backend = [part(0, 42, "B", (1_000, 6_000)), part(1, 42, "C", (1_500, 6_500))];
        let problems = not_one_load(&other_backend);
        assert!(problems.len() == 1 && problems[0].contains("one backend"), "{problems:?}");

        // A directory left from a run 40 s earlier.
        let stale = [part(0, 42, "B", (50_000, 55_000)), part(1, 42, "B", (1_000, 6_000))];
        let problems = not_one_load(&stale);
        assert!(problems.len() == 1 && problems[0].contains("earlier run"), "{problems:?}");
    }

    #[test]
    fn merged_counts_add_up_and_the_window_spans_all_shards() {
        let report = merge(vec![part(0, 42, "B", (1_000, 6_000)), part(1, 42, "B", (2_000, 7_000))]);
        assert_eq!(report.flows.completed, 6);
        assert_eq!(report.plan.customers, 20);
        assert_eq!(report.conditions.cores, 4);
        assert_eq!(report.conditions.cpu_seconds, Some(3.0));
        assert_eq!((report.window.started_ms, report.window.ended_ms), (1_000, 7_000));
        assert!((report.elapsed_s - 6.0).abs() < 1e-9);
        assert_eq!(report.merged_from, vec!["shard-0", "shard-1"]);
        assert!(report.notes.is_empty(), "1 s apart in 5 s windows is together: {:?}", report.notes);
    }

    #[test]
    fn shards_started_well_apart_get_a_note_with_their_overlap() {
        let report = merge(vec![part(0, 42, "B", (1_000, 11_000)), part(1, 42, "B", (4_000, 14_000))]);
        assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
        let note = &report.notes[0];
        assert!(note.contains("3.0 s apart") && note.contains("7.0 s of the 13.0 s"), "{note}");
    }
}
