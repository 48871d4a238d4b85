//! The load report: a terminal summary and `load-report.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::invariants::{INVARIANTS, JournalStats, Violation};
use super::stats::{KindCount, LatencyRow, Side};

/// Everything a run measured and checked.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub target: String,
    pub started_at: String,
    /// Where and under what load it ran (a 2-core laptop compiling meanwhile measures
    /// differently from an idle server).
    pub conditions: Conditions,
    pub plan: PlanView,
    /// Seconds from the first flow to the last one's end.
    pub elapsed_s: f64,
    pub flows: Flows,
    pub latencies: Vec<LatencyRow>,
    /// Failed flows and other trouble, by what failed.
    pub errors: BTreeMap<String, u64>,
    pub invariants: Vec<InvariantResult>,
    pub journal: JournalView,
    pub passed: bool,
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

#[derive(Debug, Clone, Serialize)]
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
    writeln!(out, "\nLoad against {}", report.target)?;
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
    let c = &report.conditions;
    writeln!(
        out,
        "  conditions: {} cores, load {} → {}, peak RSS {}, CPU {} ({} per flow), {} build",
        c.cores,
        c.load_before.as_deref().unwrap_or("?"),
        c.load_after.as_deref().unwrap_or("?"),
        c.peak_rss_mb.map_or("?".to_owned(), |mb| format!("{mb:.0} MB")),
        c.cpu_seconds.map_or("?".to_owned(), |s| format!("{s:.1} s")),
        c.cpu_ms_per_flow.map_or("?".to_owned(), |ms| format!("{ms:.2} ms")),
        c.build
    )?;
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
        writeln!(out, "{title}")?;
        for row in report.latencies.iter().filter(|r| r.side == side) {
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
