//! What every report format shares: how verdicts, levels, durations and journal
//! positions read, the headline of a scenario, its journal lines, HTML escaping, and
//! creating the file a report goes to.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::time::Duration;

use crate::results::{Finding, Level, RunEvent, ScenarioResult, StepFailure, Verdict};

/// Receives the run's events as they happen.
pub trait Reporter {
    fn on_event(&mut self, event: &RunEvent);
}

/// Whether a finding fails its scenario: MUST findings always, SHOULD findings under
/// `--strict`.
pub(crate) fn finding_fails(finding: &Finding, strict: bool) -> bool {
    finding.level == Level::Must || strict
}

/// Whether a verdict counts against the run (as [`RunReport::passed`](crate::results::RunReport::passed) judges it).
pub(crate) fn verdict_fails(verdict: Verdict, strict: bool) -> bool {
    match verdict {
        Verdict::Passed | Verdict::Skipped => false,
        Verdict::PassedWithWarnings | Verdict::Inconclusive => strict,
        Verdict::Failed | Verdict::Error => true,
    }
}

/// The verdict in words.
pub(crate) fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::PassedWithWarnings => "passed with warnings",
        Verdict::Failed => "failed",
        Verdict::Skipped => "skipped",
        Verdict::Inconclusive => "inconclusive",
        Verdict::Error => "error",
    }
}

/// The verdict as one symbol: ✔ passed, ✘ failed, ⊘ skipped, ? inconclusive, ! error
/// (▲ warnings).
pub(crate) fn verdict_symbol(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "✔",
        Verdict::PassedWithWarnings => "▲",
        Verdict::Failed => "✘",
        Verdict::Skipped => "⊘",
        Verdict::Inconclusive => "?",
        Verdict::Error => "!",
    }
}

pub(crate) fn level_label(level: Level) -> &'static str {
    match level {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
    }
}

/// A duration for people: `850 ms`, `1.24 s`, `2 m 03 s`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.2} s", duration.as_secs_f64())
    } else {
        let secs = duration.as_secs();
        format!("{} m {:02} s", secs / 60, secs % 60)
    }
}

/// Journal sequence numbers as `#3, #7`.
pub(crate) fn format_seqs(seqs: &[u64]) -> String {
    seqs.iter().map(|s| format!("#{s}")).collect::<Vec<_>>().join(", ")
}

/// What kind of check a failed step was: the rule it checks (its finding says more),
/// or a scenario expectation that is not a protocol rule. Every report says which.
pub(crate) fn step_kind(failure: &StepFailure) -> String {
    match &failure.rule {
        Some(rule) => format!("checks {rule}"),
        None => "a scenario expectation, not a protocol rule".to_owned(),
    }
}

/// The one-line headline of a scenario's problem: the first finding that fails it (else the
/// first finding), else the first step failure, else the reason.
pub(crate) fn headline(result: &ScenarioResult, strict: bool) -> Option<String> {
    let finding = result.findings.iter().find(|f| finding_fails(f, strict)).or_else(|| result.findings.first());
    if let Some(f) = finding {
        return Some(format!("{} ({}): expected {}; actual {}", f.rule, level_label(f.level), f.expected, f.actual));
    }
    if let Some(s) = result.failures.first() {
        return Some(format!(
            "step {} `{}` ({}): expected {}; actual {}",
            s.step,
            s.description,
            step_kind(s),
            s.expected,
            s.actual
        ));
    }
    result.reason.clone()
}

/// Escapes text for XML and HTML (text and quoted attribute values), as the codec
/// escapes SOAP text: one escaping rule for everything the kit writes.
pub(crate) use glase_protocol::escaped as escape;

/// Creates `path` (and its missing parent directories) for writing.
pub(crate) fn create(path: &Path) -> io::Result<BufWriter<File>> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    Ok(BufWriter::new(File::create(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(format_duration(Duration::from_millis(1240)), "1.24 s");
        assert_eq!(format_duration(Duration::from_secs(123)), "2 m 03 s");
    }

    #[test]
    fn headline_prefers_the_finding_that_fails() {
        let report = fixtures::report(false);
        let failed = &report.results[1];
        let line = headline(failed, false).expect("a headline");
        assert!(line.starts_with("UPS-COMMIT-LE-RESERVED (MUST)"), "{line}");
        assert_eq!(headline(&report.results[2], false).as_deref(), Some("needs the machine driver"));
    }
}
