//! The load report: a terminal summary and `load-report.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::invariants::{INVARIANTS, JournalStats, Violation};
use super::shard::Shard;
use super::stats::Stats;
use super::stats::{HistogramView, KindCount, LatencyRow, Side};
use crate::command::Exit;

/// Everything a run measured and checked.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub target: String,
    pub started_at: String,
    /// When the first flow started and the last one ended, for merging shards' reports.
    pub window: Window,
    /// Which share of a sharded load this is (`None`: the whole load, or a merge of all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// For a merge: the reports it merged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// What a reader of the figures should know (e.g. shards that did not start together).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Where and under what load it ran (a 2-core laptop compiling meanwhile measures
    /// differently from an idle server).
    pub conditions: Conditions,
    pub plan: PlanView,
    /// Seconds from the first flow to the last one's end.
    pub elapsed_s: f64,
    pub flows: Flows,
    pub latencies: Vec<LatencyRow>,
    /// Every latency histogram whole (recorded values and counts, in µs), so that
    /// shards' reports merge exactly: in a shard's report and a merged one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub histograms: Vec<HistogramView>,
    /// Failed flows and other trouble, by what failed.
    pub errors: BTreeMap<String, u64>,
    pub invariants: Vec<InvariantResult>,
    pub journal: JournalView,
    pub passed: bool,
}

/// Wall-clock milliseconds since the Unix epoch: from the first flow to the last one's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub started_ms: u64,
    pub ended_ms: u64,
}

impl Window {
    /// Starts now (the end is set by [`Window::close`]).
    pub fn open() -> Self {
        let now = now_ms();
        Self { started_ms: now, ended_ms: now }
    }

    pub fn close(self) -> Self {
        Self { ended_ms: now_ms().max(self.started_ms), ..self }
    }
}

fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    pub cores: usize,
    /// `/proc/loadavg` before and after the run (1, 5, 15 min).
    pub load_before: Option<String>,
    pub load_after: Option<String>,
    /// Peak resident memory of this process (mock, reseller and generator), MB.
    pub peak_rss_mb: Option<f64>,
    /// CPU time this process (mock, reseller and generator together) used while flows
    /// ran, user + system, and per completed flow: a measure of cost that other work on
    /// the machine does not change, unlike flows/s.
    pub cpu_seconds: Option<f64>,
    pub cpu_ms_per_flow: Option<f64>,
    pub build: &'static str,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub customers: usize,
    pub machines: usize,
    pub stop: String,
    pub pace: String,
    pub mix: String,
    pub seed: u64,
    pub deadline_scale: f64,
    pub drain_s: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flows {
    pub completed: u64,
    pub failed: u64,
    pub per_second: f64,
    /// Complete unattended purchases (success and wrong-pin flows): dispensed and committed.
    pub purchases: u64,
    pub purchases_per_second: f64,
    pub by_kind: BTreeMap<String, KindCount>,
}

impl Flows {
    /// The flows `stats` counted, over `seconds`.
    pub fn of(stats: &Stats, seconds: f64) -> Self {
        let kinds = stats.kinds();
        let completed: u64 = kinds.values().map(|k| k.completed).sum();
        let failed: u64 = kinds.values().map(|k| k.failed).sum();
        let purchases: u64 = kinds.iter().filter(|(k, _)| k.is_purchase()).map(|(_, c)| c.completed).sum();
        let by_kind = kinds.iter().map(|(k, c)| (k.as_str().to_owned(), *c)).collect();
        Self {
            completed,
            failed,
            per_second: completed as f64 / seconds,
            purchases,
            purchases_per_second: purchases as f64 / seconds,
            by_kind,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvariantResult {
    pub id: &'static str,
    pub held: bool,
    pub count: u64,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalView {
    #[serde(flatten)]
    pub stats: JournalStats,
    /// Entries the follower read during the run.
    pub read: u64,
}

/// One result per invariant, in order, from the violations found.
pub fn invariant_results(violations: &[Violation], skipped: &[&'static str]) -> Vec<InvariantResult> {
    INVARIANTS
        .iter()
        .filter(|id| !skipped.contains(id))
        .map(|id| match violations.iter().find(|v| v.invariant == *id) {
            Some(v) => InvariantResult { id, held: false, count: v.count, examples: v.examples.clone() },
            None => InvariantResult { id, held: true, count: 0, examples: Vec::new() },
        })
        .collect()
}

/// The terminal summary.
pub fn print(report: &LoadReport, out: &mut impl Write) -> std::io::Result<()> {
    let f = &report.flows;
    let shard = report.shard.map_or(String::new(), |shard| format!(" (shard {shard})"));
    writeln!(out, "\nLoad against {}{shard}", report.target)?;
    writeln!(
        out,
        "  plan: {} customers, {} machines, {}, {}, mix {}, seed {}",
        report.plan.customers,
        report.plan.machines,
        report.plan.stop,
        report.plan.pace,
        report.plan.mix,
        report.plan.seed
    )?;
    print_conditions(report, out)?;
    for note in &report.notes {
        writeln!(out, "  note: {note}")?;
    }
    writeln!(
        out,
        "\n  {} flows in {:.1} s: {:.0} flows/s; {} complete purchases: {:.0}/s; {} failed",
        f.completed, report.elapsed_s, f.per_second, f.purchases, f.purchases_per_second, f.failed
    )?;
    for (kind, count) in &f.by_kind {
        writeln!(out, "    {kind:<10} {:>9} completed {:>7} failed", count.completed, count.failed)?;
    }
    writeln!(out, "\n  Latency (ms)                                 count      p50      p90      p99      max")?;
    for side in [Side::Generator, Side::Mock] {
        let title = match side {
            Side::Generator => "  customer, machine and shop (load generator):",
            Side::Mock => "  Glase (mock) serving the reseller's SOAP calls:",
        };
        let rows: Vec<&LatencyRow> = report.latencies.iter().filter(|r| r.side == side).collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(out, "{title}")?;
        for row in rows {
            writeln!(
                out,
                "    {:<40} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                row.operation, row.count, row.p50_ms, row.p90_ms, row.p99_ms, row.max_ms
            )?;
        }
    }
    if !report.errors.is_empty() {
        writeln!(out, "\n  Errors:")?;
        for (what, count) in report.errors.iter().take(20) {
            writeln!(out, "    {count:>7}  {what}")?;
        }
        if report.errors.len() > 20 {
            writeln!(out, "    … {} more kinds in the JSON report", report.errors.len() - 20)?;
        }
    }
    let j = &report.journal;
    writeln!(
        out,
        "\n  Journal: {} entries read, last seq {}, {} kept, {} dropped from the mock's buffer after reading",
        j.read, j.stats.last_seq, j.stats.kept, j.stats.dropped
    )?;
    writeln!(out, "\n  Invariants:")?;
    for result in &report.invariants {
        if result.held {
            writeln!(out, "    ok    {}", result.id)?;
        } else {
            writeln!(out, "    FAIL  {} ({} times)", result.id, result.count)?;
            for example in &result.examples {
                writeln!(out, "            {example}")?;
            }
        }
    }
    let verdict = if report.passed { "PASSED: every invariant held" } else { "FAILED" };
    writeln!(out, "\n{verdict}")
}

/// Prints the report, writes it into `out` if given, and says how the run ended.
pub fn deliver(report: &LoadReport, out: Option<&Path>) -> Exit {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let _ = print(report, &mut lock);
    if let Some(dir) = out {
        match write_json(report, dir) {
            Ok(path) => {
                let _ = std::io::Write::write_fmt(&mut lock, format_args!("Report: {}\n", path.display()));
            }
            Err(error) => {
                eprintln!("error: cannot write the report into {}: {error}", dir.display());
                return Exit::Usage;
            }
        }
    }
    if report.flows.completed == 0 {
        eprintln!("error: no flow completed");
    }
    if report.passed { Exit::Passed } else { Exit::Failed }
}

/// The `conditions:` line: this process's, or the shards' together for a merge.
fn print_conditions(report: &LoadReport, out: &mut impl Write) -> std::io::Result<()> {
    let c = &report.conditions;
    let rss = c.peak_rss_mb.map_or("?".to_owned(), |mb| format!("{mb:.0} MB"));
    let cpu = c.cpu_seconds.map_or("?".to_owned(), |s| format!("{s:.1} s"));
    let per_flow = c.cpu_ms_per_flow.map_or("?".to_owned(), |ms| format!("{ms:.2} ms"));
    if report.merged_from.is_empty() {
        let (before, after) = (c.load_before.as_deref().unwrap_or("?"), c.load_after.as_deref().unwrap_or("?"));
        writeln!(
            out,
            "  conditions: {} cores, load {before} → {after}, peak RSS {rss}, CPU {cpu} ({per_flow} per flow), {} build",
            c.cores, c.build
        )?;
    } else {
        writeln!(
            out,
            "  conditions: {} shards, {} cores counted over them (shards sharing a machine count its cores \
             each; load averages are in the shards' reports), largest peak RSS {rss}, CPU {cpu} in all \
             ({per_flow} per flow), {} build",
            report.merged_from.len(),
            c.cores,
            c.build
        )?;
    }
    Ok(())
}

/// Writes `load-report.json` into `dir`; returns its path.
pub fn write_json(report: &LoadReport, dir: &Path) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("load-report.json");
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(&path, text + "\n")?;
    Ok(path)
}

/// Peak resident memory (VmHWM) of this process in MB, on Linux.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The 1, 5 and 15 minute load averages, on Linux.
pub fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// CPU seconds (user + system) this process has used, on Linux.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start with the state;
    // utime and stime are the 12th and 13th of those, in clock ticks (100 per second on
    // every Linux this runs on).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
