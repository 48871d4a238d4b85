//! The live terminal view and the closing summary.
//!
//! ```text
//! Running 4 scenarios
//!   ▲ ups-happy-path  Unattended purchase, happy path  (1.23 s)
//!       ▲ REQ-CLIENT-REFERENCE (SHOULD)
//!           expected: clientReference set
//!           actual:   absent
//!           evidence: #102 (invoice 1795)
//!   ✘ ups-commit-above-reservation  Commit more than reserved  (2.10 s)
//!       ✘ UPS-COMMIT-LE-RESERVED (MUST)
//!           …
//!   ⊘ ups-device-in-use  A second customer gets DEVICE_IN_USE  (skipped: needs the machine driver)
//!   ! ups-insufficient-funds  Amount below the cheapest product  (error: connection refused)
//! ```
//!
//! Colours only when stdout is a TTY and `NO_COLOR` is unset (or empty); the progress line
//! ([`super::progress`]) only on a TTY. `--verbose` adds the numbered list of messages
//! exchanged under every scenario that did not pass cleanly, evidence marked `▶`.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::common::{
    Reporter, format_duration, format_seqs, level_label, verdict_fails, verdict_label, verdict_symbol,
};
use super::progress::{CLEAR_LINE, ProgressLine, Ticker, terminal_width};
use super::sequence::journal_lines;
use crate::results::{Level, RunEvent, RunReport, ScenarioResult, Verdict};

/// Journal lines shown per scenario with `--verbose`.
const VERBOSE_LINES: usize = 60;

/// Prints each scenario as it finishes, with a progress line while they run.
#[derive(Debug)]
pub struct TerminalReporter {
    shared: Arc<Mutex<Shared>>,
    verbose: bool,
    colour: bool,
    /// Draw a progress line (a TTY).
    progress: bool,
    ticker: Option<Ticker>,
    /// `--profile`: scenarios of other profiles are skipped by choice, so they are
    /// counted in one line instead of listed (`--verbose` lists them).
    profile: Option<String>,
    /// How many were not listed for that reason.
    other_profiles: usize,
}

struct Shared {
    out: Box<dyn Write + Send>,
    progress: Option<ProgressLine>,
    /// The progress line is on screen (and must be cleared before printing).
    drawn: bool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("progress", &self.progress).field("drawn", &self.drawn).finish_non_exhaustive()
    }
}

impl Shared {
    fn clear(&mut self) {
        if self.drawn {
            let _ = self.out.write_all(CLEAR_LINE.as_bytes());
            self.drawn = false;
        }
    }

    fn redraw(&mut self) {
        if let Some(line) = &self.progress {
            let text = line.render(terminal_width());
            let _ = write!(self.out, "{CLEAR_LINE}{text}");
            self.drawn = true;
        }
        let _ = self.out.flush();
    }
}

impl TerminalReporter {
    /// Writes to stdout: colours when it is a TTY and `NO_COLOR` is unset, a progress line
    /// when it is a TTY.
    pub fn new(verbose: bool) -> Self {
        let tty = io::stdout().is_terminal();
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let mut reporter = Self::with_output(Box::new(io::stdout()), verbose, tty && !no_colour);
        reporter.progress = tty;
        reporter
    }

    /// Writes to `out` (a file, stderr, a buffer in tests), without a progress line.
    pub fn with_output(out: Box<dyn Write + Send>, verbose: bool, colour: bool) -> Self {
        let shared = Shared { out, progress: None, drawn: false };
        Self {
            shared: Arc::new(Mutex::new(shared)),
            verbose,
            colour,
            progress: false,
            ticker: None,
            profile: None,
            other_profiles: 0,
        }
    }

    /// The run selected `profile`: its other scenarios are counted, not listed.
    pub fn for_profile(mut self, profile: Option<&str>) -> Self {
        self.profile = profile.map(str::to_owned);
        self
    }

    /// Skipped only because it belongs to other profiles than the one selected.
    fn of_another_profile(&self, result: &ScenarioResult) -> bool {
        result.verdict == Verdict::Skipped
            && self.profile.as_ref().is_some_and(|profile| !result.profiles.contains(profile))
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        paint(self.colour, code, text)
    }

    /// The lines printed for a finished scenario.
    fn scenario_lines(&self, result: &ScenarioResult) -> Vec<String> {
        let (code, symbol) = match result.verdict {
            Verdict::Passed => ("32", verdict_symbol(result.verdict)),
            Verdict::PassedWithWarnings => ("33", verdict_symbol(result.verdict)),
            Verdict::Failed => ("31", verdict_symbol(result.verdict)),
            Verdict::Skipped => ("2", verdict_symbol(result.verdict)),
            Verdict::Inconclusive => ("36", verdict_symbol(result.verdict)),
            Verdict::Error => ("35", verdict_symbol(result.verdict)),
        };
        let tail = match (result.verdict, &result.reason) {
            (Verdict::Skipped, reason) => format!("(skipped: {})", reason.as_deref().unwrap_or("not in this profile")),
            (Verdict::Inconclusive, reason) => {
                format!("(inconclusive: {})", reason.as_deref().unwrap_or("not decided"))
            }
            (Verdict::Error, reason) => format!("(error: {})", reason.as_deref().unwrap_or("unreachable")),
            _ => format!("({})", format_duration(result.duration)),
        };
        let mut lines = vec![format!(
            "  {} {}  {}  {}",
            self.paint(code, symbol),
            self.paint("1", &result.id),
            result.title,
            self.paint("2", &tail)
        )];
        // MUST findings first, in the order found.
        let mut findings: Vec<_> = result.findings.iter().collect();
        findings.sort_by_key(|f| f.level != Level::Must);
        for f in findings {
            let (code, symbol) = if f.level == Level::Must { ("31", "✘") } else { ("33", "▲") };
            lines.push(format!(
                "      {} {}",
                self.paint(code, symbol),
                self.paint(code, &format!("{} ({})", f.rule, level_label(f.level)))
            ));
            lines.push(format!("          expected: {}", f.expected));
            lines.push(format!("          actual:   {}", f.actual));
            if !f.evidence.is_empty() || f.invoice.is_some() {
                let mut evidence = format!("          evidence: {}", format_seqs(&f.evidence));
                if let Some(invoice) = &f.invoice {
                    evidence.push_str(&format!(" (invoice {invoice})"));
                }
                lines.push(self.paint("2", &evidence));
            }
        }
        for s in &result.failures {
            let at = s.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
            lines.push(format!(
                "      {} step {} `{}` — {}{}",
                self.paint("31", "✘"),
                s.step,
                s.description,
                super::common::step_kind(s),
                self.paint("2", &at)
            ));
            lines.push(format!("          expected: {}", s.expected));
            lines.push(format!("          actual:   {}", s.actual));
        }
        let troubled = !result.findings.is_empty() || !result.failures.is_empty() || result.verdict == Verdict::Error;
        if self.verbose && troubled && !result.journal.is_empty() {
            lines.push(self.paint("2", "      messages exchanged:"));
            for (hot, line) in journal_lines(result, VERBOSE_LINES) {
                let line = format!("      {line}");
                lines.push(if hot { self.paint("31", &line) } else { self.paint("2", &line) });
            }
        }
        lines
    }

    fn print(&mut self, lines: &[String]) {
        let mut shared = self.lock();
        shared.clear();
        for line in lines {
            let _ = writeln!(shared.out, "{line}");
        }
        shared.redraw();
    }
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
}

impl Reporter for TerminalReporter {
    fn on_event(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Started { scenarios } => {
                let noun = if *scenarios == 1 { "scenario" } else { "scenarios" };
                let header = self.paint("1", &format!("Running {scenarios} {noun}"));
                if self.progress {
                    self.lock().progress = Some(ProgressLine::new(*scenarios, self.colour));
                    let shared = Arc::clone(&self.shared);
                    self.ticker = Some(Ticker::start(Duration::from_millis(120), move || {
                        let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
                        if let Some(line) = shared.progress.as_mut() {
                            line.tick();
                            shared.redraw();
                        }
                    }));
                }
                self.print(&[header]);
            }
            RunEvent::ScenarioStarted { id, .. } => {
                let mut shared = self.lock();
                if let Some(line) = shared.progress.as_mut() {
                    line.start(id);
                    shared.redraw();
                }
            }
            RunEvent::ScenarioFinished(result) => {
                let hidden = !self.verbose && self.of_another_profile(result);
                let lines = if hidden { Vec::new() } else { self.scenario_lines(result) };
                self.other_profiles += usize::from(hidden);
                if let Some(line) = self.lock().progress.as_mut() {
                    line.finish(&result.id, matches!(result.verdict, Verdict::Failed | Verdict::Error));
                }
                self.print(&lines);
            }
            RunEvent::Finished => {
                self.ticker = None;
                if self.other_profiles > 0 {
                    let (count, profile) = (self.other_profiles, self.profile.as_deref().unwrap_or_default());
                    let what = if count == 1 {
                        format!("1 scenario of another profile than {profile} was")
                    } else {
                        format!("{count} scenarios of other profiles than {profile} were")
                    };
                    let line = format!("  {} {what} not run (--verbose lists them)", verdict_symbol(Verdict::Skipped));
                    let line = self.paint("2", &line);
                    self.print(&[line]);
                }
                let mut shared = self.lock();
                shared.clear();
                shared.progress = None;
                let _ = shared.out.flush();
            }
        }
    }
}

impl Drop for TerminalReporter {
    fn drop(&mut self) {
        self.ticker = None;
        let mut shared = self.lock();
        shared.clear();
        let _ = shared.out.flush();
    }
}

/// Prints the closing summary: counts by verdict, findings grouped by rule (MUST first,
/// then the most frequent) with the scenarios they occurred in, and PASS or FAIL. The
/// report files' paths are the caller's to print.
pub fn print_summary(report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
    print_counts(report, out)?;
    print_findings_by_rule(report, out)?;
    print_other_problems(report, out)?;
    writeln!(out)?;
    print_result(report, out)
}

/// `12 scenarios in 3.40 s: 10 passed, 2 failed`.
fn print_counts(report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
    let total = report.results.len();
    let mut counts = Vec::new();
    for verdict in Verdict::ALL {
        let n = report.count(verdict);
        if n > 0 {
            let label = match verdict {
                Verdict::Error if n > 1 => "errors".to_owned(),
                _ => verdict_label(verdict).to_owned(),
            };
            counts.push(format!("{n} {label}"));
        }
    }
    let noun = if total == 1 { "scenario" } else { "scenarios" };
    writeln!(out)?;
    writeln!(out, "{total} {noun} in {}: {}", format_duration(report.duration), counts.join(", "))
}

/// Each rule that found something, once: its strongest level, how often, and where.
fn print_findings_by_rule(report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
    // rule → (level, scenarios, occurrences)
    let mut by_rule: BTreeMap<&str, (Level, Vec<&str>, usize)> = BTreeMap::new();
    for result in &report.results {
        for f in &result.findings {
            let entry = by_rule.entry(f.rule.as_str()).or_insert((f.level, Vec::new(), 0));
            entry.0 = entry.0.max(f.level);
            entry.2 += 1;
            if !entry.1.contains(&result.id.as_str()) {
                entry.1.push(result.id.as_str());
            }
        }
    }
    if by_rule.is_empty() {
        return Ok(());
    }
    let mut rules: Vec<_> = by_rule.into_iter().collect();
    rules.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(b.1.2.cmp(&a.1.2)).then(a.0.cmp(b.0)));
    writeln!(out)?;
    writeln!(out, "Findings by rule:")?;
    for (rule, (level, scenarios, n)) in rules {
        let info = report.rules.iter().find(|r| r.id == rule);
        let fails = level == Level::Must || report.strict;
        let mark = if fails { "✘" } else { "▲" };
        write!(out, "  {mark} {rule} ({}) ×{n}", level_label(level))?;
        if let Some(info) = info {
            write!(out, "  {} [spec {}]", info.summary, info.spec_section)?;
        }
        writeln!(out)?;
        writeln!(out, "      in {}", scenarios.join(", "))?;
    }
    Ok(())
}

/// What went wrong besides findings: scenarios whose steps did not hold, and errored or
/// inconclusive scenarios with their reasons.
fn print_other_problems(report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
    let failing_steps: Vec<&str> =
        report.results.iter().filter(|r| !r.failures.is_empty()).map(|r| r.id.as_str()).collect();
    if !failing_steps.is_empty() {
        writeln!(out)?;
        writeln!(out, "Scenario steps that did not hold: {}", failing_steps.join(", "))?;
    }
    let errors: Vec<&ScenarioResult> = report.results.iter().filter(|r| r.verdict == Verdict::Error).collect();
    if !errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "Errors (the system under test could not be reached):")?;
        for r in errors {
            writeln!(out, "  ! {}: {}", r.id, r.reason.as_deref().unwrap_or("no reason given"))?;
        }
    }
    let undecided: Vec<&ScenarioResult> =
        report.results.iter().filter(|r| r.verdict == Verdict::Inconclusive).collect();
    if !undecided.is_empty() {
        writeln!(out)?;
        let effect = if report.strict { "failures under --strict" } else { "not failures; --strict fails them" };
        writeln!(out, "Inconclusive (not decided, {effect}):")?;
        for r in undecided {
            writeln!(out, "  ? {}: {}", r.id, r.reason.as_deref().unwrap_or("no reason given"))?;
        }
    }
    Ok(())
}

/// `Result: PASS` (with what `--strict` would change) or `Result: FAIL, N scenarios did
/// not pass`.
fn print_result(report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
    let warned = report.count(Verdict::PassedWithWarnings);
    if report.passed() {
        let undecided = report.count(Verdict::Inconclusive);
        let note = match (warned > 0, undecided > 0) {
            (false, false) => "",
            (true, false) => " (SHOULD findings are warnings; --strict makes them failures)",
            (false, true) => " (with inconclusive scenarios; --strict makes them failures)",
            (true, true) => " (SHOULD findings and inconclusive scenarios; --strict makes them failures)",
        };
        writeln!(out, "Result: PASS{note}")
    } else {
        let failing = report.results.iter().filter(|r| verdict_fails(r.verdict, report.strict)).count();
        let noun = if failing == 1 { "scenario" } else { "scenarios" };
        let strict = if report.strict { " (strict: SHOULD findings and inconclusive scenarios fail)" } else { "" };
        writeln!(out, "Result: FAIL, {failing} {noun} did not pass{strict}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("buffer").clone()).expect("UTF-8")
        }
    }

    fn run(verbose: bool, colour: bool) -> String {
        let buffer = Buffer::default();
        let mut reporter = TerminalReporter::with_output(Box::new(buffer.clone()), verbose, colour);
        let report = fixtures::report(false);
        reporter.on_event(&RunEvent::Started { scenarios: report.results.len() });
        for result in &report.results {
            reporter.on_event(&RunEvent::ScenarioStarted { id: result.id.clone(), title: result.title.clone() });
            reporter.on_event(&RunEvent::ScenarioFinished(Box::new(result.clone())));
        }
        let before_finish = buffer.text();
        reporter.on_event(&RunEvent::Finished);
        assert_eq!(buffer.text(), before_finish, "nothing after Finished");
        buffer.text()
    }

    #[test]
    fn a_line_per_scenario_with_failures_indented() {
        let text = run(false, false);
        assert!(text.starts_with("Running 4 scenarios\n"), "{text}");
        assert!(text.contains("  ▲ ups-happy-path  Unattended purchase, happy path  (1.23 s)\n"), "{text}");
        assert!(text.contains("  ✘ ups-commit-above-reservation  Commit <more> than reserved & vended  (2.10 s)\n"));
        assert!(text.contains("      ✘ UPS-COMMIT-LE-RESERVED (MUST)\n          expected: amount ≤ 20.00\n          actual:   amount 25.00 <script>\n          evidence: #8, #9 (invoice 1795)\n"), "{text}");
        assert!(text.contains(
            "      ✘ step 4 `expect_status: PAID` — a scenario expectation, not a protocol rule \
             (scenarios/unattended/commit.toml:12)\n"
        ));
        assert!(text.contains(
            "  ⊘ ups-device-in-use  A second customer gets DEVICE_IN_USE  (skipped: needs the machine driver)\n"
        ));
        assert!(
            text.contains(
                "  ! ups-insufficient-funds  Amount below the cheapest product  (error: connection refused)\n"
            )
        );
        assert!(!text.contains('\x1b'), "no colours, no progress line off a TTY");
        assert!(!text.contains("messages exchanged"));
    }

    #[test]
    fn verbose_lists_the_messages_with_the_evidence_marked() {
        let text = run(true, false);
        assert!(text.contains("      messages exchanged:\n"), "{text}");
        assert!(text.contains("      ▶ #8 "), "{text}");
        assert!(text.contains("Reseller → Glase"));
    }

    #[test]
    fn scenarios_of_other_profiles_are_counted_not_listed_unless_verbose() {
        let report = fixtures::report(false);
        let skipped = report.results.iter().find(|r| r.verdict == Verdict::Skipped).expect("a skipped scenario");
        let mut other = skipped.clone();
        other.id = "webshop/elsewhere".to_owned();
        other.profiles = vec!["webshop".to_owned()];
        let shown = |verbose: bool| {
            let buffer = Buffer::default();
            let mut reporter =
                TerminalReporter::with_output(Box::new(buffer.clone()), verbose, false).for_profile(Some("unattended"));
            for result in [skipped, &other] {
                reporter.on_event(&RunEvent::ScenarioFinished(Box::new(result.clone())));
            }
            reporter.on_event(&RunEvent::Finished);
            buffer.text()
        };
        let quiet = shown(false);
        assert!(quiet.contains(&skipped.id), "skipped in its profile (a driver missing): listed\n{quiet}");
        assert!(!quiet.contains("webshop/elsewhere"), "{quiet}");
        assert!(quiet.contains("⊘ 1 scenario of another profile than unattended was not run (--verbose lists them)"));
        let verbose = shown(true);
        assert!(verbose.contains("webshop/elsewhere") && !verbose.contains("other profiles"), "{verbose}");
    }

    #[test]
    fn the_reporter_can_move_to_another_thread() {
        fn send<T: Send>(_: &T) {}
        send(&TerminalReporter::new(false));
    }

    #[test]
    fn colours_when_asked() {
        let text = run(false, true);
        assert!(text.contains("\x1b[31m✘\x1b[0m"), "{text}");
    }

    #[test]
    fn summary_counts_and_groups_findings_by_rule() {
        let mut out = Vec::new();
        print_summary(&fixtures::report(false), &mut out).expect("written");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(
            text.contains("4 scenarios in 4.32 s: 1 passed with warnings, 1 failed, 1 skipped, 1 error\n"),
            "{text}"
        );
        let must = text.find(
            "✘ UPS-COMMIT-LE-RESERVED (MUST) ×1  commitReservation amount ≤ the reserved amount [spec 5, 2.1 step 11]",
        );
        let should = text.find("▲ REQ-CLIENT-REFERENCE (SHOULD) ×1");
        assert!(must.is_some() && should.is_some() && must < should, "{text}");
        assert!(text.contains("      in ups-commit-above-reservation\n"));
        assert!(text.contains("  ! ups-insufficient-funds: connection refused\n"));
        assert!(text.ends_with("Result: FAIL, 2 scenarios did not pass\n"), "{text}");
    }

    #[test]
    fn summary_of_a_clean_run_passes() {
        let mut report = fixtures::report(false);
        report.results.retain(|r| r.verdict == Verdict::PassedWithWarnings);
        let mut out = Vec::new();
        print_summary(&report, &mut out).expect("written");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.contains("Result: PASS (SHOULD findings are warnings"), "{text}");
    }
}
