//! Reporters: what a run looks like to people and to CI.
//!
//! The runner knows nothing about output (STYLE section 4): it emits
//! [`RunEvent`]s and returns a [`RunReport`](crate::model::RunReport). This module turns them
//! into
//! - a live terminal view ([`TerminalReporter`], a [`Reporter`]) with a progress line while
//!   scenarios run ([`progress`]), and a closing [`print_summary`];
//! - JSON ([`write_json`]): the run report as it is, for scripts;
//! - JUnit XML ([`write_junit`]) for CI;
//! - a self-contained HTML pre-certification report ([`write_html`]) with the certification
//!   checklist of spec section 7 and, per failure, the rule, its spec text and a
//!   [`sequence_svg`] diagram of the messages actually exchanged.
//! - an evidence bundle ([`write_evidence`], in [`evidence`]): the manifest of what ran
//!   (seed, scenario file hashes, verdicts) and the mock's whole journal, to replay a run.

pub mod evidence;
mod html;
mod json;
mod junit;
pub mod progress;
mod sequence;
mod terminal;

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::time::Duration;

use crate::model::{Finding, Level, RunEvent, ScenarioResult, StepFailure, Verdict};

pub use evidence::{Evidence, write_evidence};
pub use html::write_html;
pub use json::write_json;
pub use junit::write_junit;
pub use sequence::sequence_svg;
pub use terminal::{TerminalReporter, print_summary};

/// Receives the run's events as they happen.
pub trait Reporter {
    fn on_event(&mut self, event: &RunEvent);
}

/// Whether a finding fails its scenario: MUST findings always, SHOULD findings under
/// `--strict`.
pub(crate) fn finding_fails(finding: &Finding, strict: bool) -> bool {
    finding.level == Level::Must || strict
}

/// Whether a verdict counts against the run (as [`RunReport::passed`](crate::model::RunReport::passed) judges it).
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

/// The scenario's journal as numbered lines (`▶ #12    2026-…  Reseller → Glase  sendInvoice`),
/// each with whether it is evidence of a finding; at most `max` entries, starting a little
/// before the first evidence when the journal is longer.
pub(crate) fn journal_lines(result: &ScenarioResult, max: usize) -> Vec<(bool, String)> {
    let evidence: Vec<u64> = result.findings.iter().flat_map(|f| f.evidence.iter().copied()).collect();
    let journal = &result.journal;
    let first_hot = journal.iter().position(|e| evidence.contains(&e.seq)).unwrap_or(0);
    let start = if journal.len() <= max { 0 } else { first_hot.saturating_sub(max / 4).min(journal.len() - max) };
    let end = (start + max).min(journal.len());
    let mut lines = Vec::with_capacity(end - start + 2);
    if start > 0 {
        lines.push((false, format!("  … {start} earlier")));
    }
    for entry in &journal[start..end] {
        let step = sequence::describe(entry);
        let hot = evidence.contains(&entry.seq);
        let mark = if hot { "▶" } else { " " };
        let time = entry.time.split_once('T').map_or(entry.time.as_str(), |(_, t)| t);
        lines.push((hot, format!("{mark} #{:<5} {time}  {:<28} {}", entry.seq, step.direction(), step.label)));
    }
    if end < journal.len() {
        lines.push((false, format!("  … {} more", journal.len() - end)));
    }
    lines
}

/// Escapes text for XML and HTML (text and attribute values).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Creates `path` (and its missing parent directories) for writing.
pub(crate) fn create(path: &Path) -> io::Result<BufWriter<File>> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    Ok(BufWriter::new(File::create(path)?))
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A hand-built run for the writers' tests: a passing unattended purchase, a failing
    //! one (commit above the reservation, a SOAP body with markup), a skipped and an
    //! errored scenario.

    use std::time::Duration;

    use mock_glase::clock::Timestamp;
    use mock_glase::journal::{Entry, Filter, Journal, Record, Tags};
    use mock_glase::machine::Event;

    use crate::model::{Finding, Level, RuleInfo, RunReport, ScenarioResult, StepFailure, Verdict};

    pub const SCRIPT_BODY: &str =
        "<soap:Envelope><sendInvoice><title><script>alert(1)</script></title></sendInvoice></soap:Envelope>";

    /// A journal of one unattended purchase: 8 arrows (messages) and 3 notes.
    pub fn journal(first_seq_offset: u64) -> Vec<Entry> {
        let mut journal = Journal::new(1000);
        for i in 0..first_seq_offset {
            journal.push(
                Timestamp(i),
                Tags::default(),
                Record::Control { action: "padding".into(), detail: String::new() },
            );
        }
        let t0 = 1_795_000_000_000;
        let tags = Tags { terminal: Some("demo-terminal"), invoice: Some("1795"), merchant: Some("glase-demo") };
        let record = |r: Record| r;
        journal.push(
            Timestamp(t0),
            tags,
            record(Record::CreatePurchaseRequest {
                purchase: 1,
                url: "http://127.0.0.1:8000/seqr/createPurchase".into(),
                body: r#"{"token":"machine-1","amount":20.00,"currency":"EUR","msisdn":"483344323423"}"#.into(),
            }),
        );
        journal.push(
            Timestamp(t0 + 5),
            tags,
            Record::SoapRequest {
                path: "/extclientproxy/service/v2".into(),
                operation: Some("sendInvoice".into()),
                body: SCRIPT_BODY.into(),
            },
        );
        journal.push(
            Timestamp(t0 + 7),
            tags,
            Record::Machine {
                event: Event::InvoiceIssued {
                    invoice: "1795".into(),
                    terminal: "demo-terminal".into(),
                    amount: "20.00".parse().expect("decimal"),
                    currency: "EUR".into(),
                    payment_mode: glase_protocol::PaymentMode::ReservationRequired,
                },
            },
        );
        journal.push(
            Timestamp(t0 + 8),
            tags,
            Record::SoapResponse {
                operation: Some("sendInvoice".into()),
                http_status: 200,
                result_code: Some(0),
                fault: None,
                body: "<resultCode>0</resultCode><invoiceReference>1795</invoiceReference>".into(),
                dropped: false,
                delayed_ms: None,
            },
        );
        journal.push(
            Timestamp(t0 + 12),
            tags,
            Record::CreatePurchaseResponse {
                purchase: 1,
                http_status: Some(200),
                content_type: Some("application/json;charset=UTF-8".into()),
                body: Some(r#"{"invoiceReferenceId":"1795"}"#.into()),
                error: None,
            },
        );
        journal.push(
            Timestamp(t0 + 900),
            tags,
            Record::Machine {
                event: Event::Transition {
                    invoice: "1795".into(),
                    from: glase_protocol::InvoiceStatus::Issued,
                    to: glase_protocol::InvoiceStatus::Reserved,
                    reason: "customer confirmed reservation".into(),
                },
            },
        );
        journal.push(
            Timestamp(t0 + 905),
            tags,
            Record::NotificationSent {
                url: "http://127.0.0.1:8000/seqr/notify?t=abc".into(),
                reason: "confirmed".into(),
                attempt: 1,
                outcome: "delivered".into(),
                http_status: Some(200),
                last_attempt: true,
                sent_at_ms: None,
            },
        );
        journal.push(
            Timestamp(t0 + 950),
            tags,
            Record::SoapRequest {
                path: "/extclientproxy/service/v2".into(),
                operation: Some("commitReservation".into()),
                body: "<commitReservation><amount>25.00</amount></commitReservation>".into(),
            },
        );
        journal.push(
            Timestamp(t0 + 952),
            tags,
            Record::SoapResponse {
                operation: Some("commitReservation".into()),
                http_status: 200,
                result_code: Some(11),
                fault: None,
                body: "<resultCode>11</resultCode>".into(),
                dropped: false,
                delayed_ms: None,
            },
        );
        journal.push(
            Timestamp(t0 + 960),
            tags,
            Record::Control { action: "warning".into(), detail: "createPurchase URL is plain http".into() },
        );
        journal.query(&Filter { after: Some(first_seq_offset), ..Filter::default() })
    }

    /// Journal entries that become arrows in [`journal`].
    pub const ARROWS: usize = 8;

    pub fn report(strict: bool) -> RunReport {
        let failing = journal(0);
        let commit_request = failing[7].seq;
        let commit_response = failing[8].seq;
        RunReport {
            suite_version: "0.1.0".into(),
            suite_commit: "0123456789ab".into(),
            system: crate::system::Identity::default(),
            started_at: "2026-11-23T18:14:51Z".into(),
            duration: Duration::from_millis(4321),
            target: "http://127.0.0.1:8000/seqr/createPurchase".into(),
            profile: "unattended".into(),
            strict,
            seed: 42,
            conditions: crate::model::Conditions::default(),
            rules: vec![
                RuleInfo {
                    id: "UPS-COMMIT-LE-RESERVED".into(),
                    level: Level::Must,
                    summary: "commitReservation amount ≤ the reserved amount".into(),
                    spec_section: "5, 2.1 step 11".into(),
                    source_text: "Reseller calls commitReservation to commit transaction with final amount.".into(),
                    applies_to: vec!["unattended".into()],
                },
                RuleInfo {
                    id: "REQ-CLIENT-REFERENCE".into(),
                    level: Level::Should,
                    summary: "clientReference present & ≤ 32 characters".into(),
                    spec_section: "5".into(),
                    source_text: "clientReference present and ≤ 32".into(),
                    applies_to: vec!["all".into()],
                },
            ],
            results: vec![
                ScenarioResult {
                    id: "ups-happy-path".into(),
                    title: "Unattended purchase, happy path".into(),
                    file: "scenarios/unattended/happy.toml".into(),
                    profiles: vec!["unattended".into()],
                    verdict: Verdict::PassedWithWarnings,
                    reason: None,
                    duration: Duration::from_millis(1234),
                    failures: vec![],
                    findings: vec![Finding {
                        rule: "REQ-CLIENT-REFERENCE".into(),
                        level: Level::Should,
                        expected: "clientReference set".into(),
                        actual: "absent".into(),
                        evidence: vec![journal(100)[1].seq],
                        invoice: Some("1795".into()),
                    }],
                    covers: vec!["unattended/1".into(), "unattended/11".into()],
                    journal: journal(100),
                },
                ScenarioResult {
                    id: "ups-commit-above-reservation".into(),
                    title: "Commit <more> than reserved & vended".into(),
                    file: "scenarios/unattended/commit.toml".into(),
                    profiles: vec!["unattended".into()],
                    verdict: Verdict::Failed,
                    reason: None,
                    duration: Duration::from_millis(2100),
                    failures: vec![StepFailure {
                        step: 4,
                        description: "expect_status: PAID".into(),
                        expected: "PAID".into(),
                        actual: "RESERVED".into(),
                        location: Some("scenarios/unattended/commit.toml:12".into()),
                        rule: None,
                    }],
                    findings: vec![Finding {
                        rule: "UPS-COMMIT-LE-RESERVED".into(),
                        level: Level::Must,
                        expected: "amount ≤ 20.00".into(),
                        actual: "amount 25.00 <script>".into(),
                        evidence: vec![commit_request, commit_response],
                        invoice: Some("1795".into()),
                    }],
                    covers: vec!["unattended/11".into()],
                    journal: failing,
                },
                ScenarioResult {
                    id: "ups-device-in-use".into(),
                    title: "A second customer gets DEVICE_IN_USE".into(),
                    file: "scenarios/unattended/in-use.toml".into(),
                    profiles: vec!["unattended".into()],
                    verdict: Verdict::Skipped,
                    reason: Some("needs the machine driver".into()),
                    duration: Duration::ZERO,
                    failures: vec![],
                    findings: vec![],
                    covers: vec![],
                    journal: vec![],
                },
                ScenarioResult {
                    id: "ups-insufficient-funds".into(),
                    title: "Amount below the cheapest product".into(),
                    file: "scenarios/unattended/funds.toml".into(),
                    profiles: vec!["unattended".into()],
                    verdict: Verdict::Error,
                    reason: Some("connection refused".into()),
                    duration: Duration::from_millis(15),
                    failures: vec![],
                    findings: vec![],
                    covers: vec![],
                    journal: vec![],
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
