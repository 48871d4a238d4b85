//! JUnit XML for CI, via `quick-junit` (as nextest does).
//!
//! - One `<testsuite>` per profile (`glase-conformance.unattended`, …): a scenario goes to
//!   its first profile, or to the run's profile when it names none, so none is counted twice.
//!   Each suite carries the run's target, profile, seed, strictness and suite version as
//!   properties.
//! - One `<testcase>` per scenario, named by its id; `title` and `file` are properties.
//! - `Failed` → `<failure>`: message = the first finding that fails it (else the first
//!   finding or step failure), text = every finding (rule, level, summary, expected, actual,
//!   evidence, spec text) and step failure. `PassedWithWarnings` is a `<failure>` only when
//!   the run is strict; otherwise it passes and its warnings go to `<system-out>`.
//!   `Error` → `<error>` with the reason; `Skipped` → `<skipped>` with the reason.
//! - `<system-out>` of every non-passing test case lists the messages exchanged, numbered,
//!   with the evidence marked `▶` (capped at [`MAX_LISTED`] lines around the evidence).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::common::{finding_fails, format_seqs, headline, level_label};
use super::sequence::journal_lines;
use crate::results::{RunReport, ScenarioResult, Verdict};

/// At most this many journal lines in a test case's `<system-out>`.
pub const MAX_LISTED: usize = 80;

/// Writes the JUnit XML report to `path` (creating missing parent directories).
pub fn write_junit(report: &RunReport, path: &Path) -> io::Result<()> {
    let xml = to_junit(report).to_string().map_err(io::Error::other)?;
    let mut out = super::common::create(path)?;
    out.write_all(xml.as_bytes())?;
    out.flush()
}

fn to_junit(report: &RunReport) -> Report {
    let mut by_profile: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
    for result in &report.results {
        let profile = result.profiles.first().map_or(report.profile.as_str(), String::as_str);
        by_profile.entry(profile).or_default().push(result);
    }
    let mut junit = Report::new("glase-conformance");
    junit.set_time(report.duration);
    for (profile, results) in by_profile {
        let name = format!("glase-conformance.{profile}");
        let mut suite = TestSuite::new(name.as_str());
        suite.set_time(results.iter().map(|r| r.duration).sum());
        suite.add_properties([
            Property::new("target", report.target.as_str()),
            Property::new("profile", report.profile.as_str()),
            Property::new("seed", report.seed.to_string()),
            Property::new("strict", report.strict.to_string()),
            Property::new("suiteVersion", report.suite_version.as_str()),
            Property::new("suiteCommit", report.suite_commit.as_str()),
            Property::new("conditions", report.conditions.describe()),
            Property::new("startedAt", report.started_at.as_str()),
        ]);
        let identity = [
            ("systemName", &report.system.name),
            ("systemVersion", &report.system.version),
            ("company", &report.system.company),
        ];
        suite.add_properties(
            identity.iter().filter_map(|(key, value)| value.as_deref().map(|v| Property::new(*key, v))),
        );
        for result in results {
            suite.add_test_case(test_case(report, result, &name));
        }
        junit.add_test_suite(suite);
    }
    junit
}

fn test_case(report: &RunReport, result: &ScenarioResult, classname: &str) -> TestCase {
    let strict = report.strict;
    let status = match result.verdict {
        Verdict::Passed => TestCaseStatus::success(),
        Verdict::PassedWithWarnings if !strict => TestCaseStatus::success(),
        Verdict::PassedWithWarnings | Verdict::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("conformance");
            status.set_message(headline(result, strict).unwrap_or_else(|| "failed".to_owned()));
            status.set_description(details(report, result));
            status
        }
        Verdict::Error => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_type("error");
            status.set_message(
                result.reason.clone().unwrap_or_else(|| "the system under test could not be reached".to_owned()),
            );
            let text = details(report, result);
            if !text.is_empty() {
                status.set_description(text);
            }
            status
        }
        Verdict::Inconclusive if strict => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("inconclusive");
            status.set_message(result.reason.clone().unwrap_or_else(|| "inconclusive".to_owned()));
            status
        }
        // JUnit has no "inconclusive": a skip with the reason is what CI views show
        // without counting it as a failure.
        Verdict::Skipped | Verdict::Inconclusive => {
            let mut status = TestCaseStatus::skipped();
            let reason = result.reason.clone().unwrap_or_else(|| "skipped".to_owned());
            let reason =
                if result.verdict == Verdict::Inconclusive { format!("inconclusive: {reason}") } else { reason };
            status.set_message(reason);
            status
        }
    };
    let mut case = TestCase::new(result.id.as_str(), status);
    case.set_classname(classname);
    case.set_time(result.duration);
    case.add_properties([Property::new("title", result.title.as_str()), Property::new("file", result.file.as_str())]);
    if result.verdict == Verdict::PassedWithWarnings && !strict {
        case.set_system_out(format!("warnings (SHOULD; failures under --strict):\n{}", details(report, result)));
    } else if result.verdict != Verdict::Passed && result.verdict != Verdict::Skipped && !result.journal.is_empty() {
        case.set_system_out(listing(result));
    }
    case
}

/// Every finding and step failure of a scenario, as text.
fn details(report: &RunReport, result: &ScenarioResult) -> String {
    let mut text = String::new();
    let mut findings: Vec<_> = result.findings.iter().collect();
    // The ones that fail the scenario first.
    findings.sort_by_key(|f| !finding_fails(f, report.strict));
    for f in findings {
        let rule = report.rules.iter().find(|r| r.id == f.rule);
        let _ = write!(text, "{} ({})", f.rule, level_label(f.level));
        if let Some(rule) = rule {
            let _ = write!(text, " {}", rule.summary);
        }
        let _ = writeln!(text);
        let _ = writeln!(text, "  expected: {}", f.expected);
        let _ = writeln!(text, "  actual:   {}", f.actual);
        if !f.evidence.is_empty() {
            let _ = write!(text, "  evidence: {}", format_seqs(&f.evidence));
            if let Some(invoice) = &f.invoice {
                let _ = write!(text, " (invoice {invoice})");
            }
            let _ = writeln!(text);
        }
        if let Some(rule) = rule {
            let _ = writeln!(text, "  spec {}: {}", rule.spec_section, rule.source_text);
        }
    }
    for s in &result.failures {
        let _ = write!(text, "step {} `{}` ({})", s.step, s.description, super::common::step_kind(s));
        if let Some(location) = &s.location {
            let _ = write!(text, " ({location})");
        }
        let _ = writeln!(text);
        let _ = writeln!(text, "  expected: {}", s.expected);
        let _ = writeln!(text, "  actual:   {}", s.actual);
    }
    if let Some(reason) = result.reason.as_deref().filter(|_| result.verdict != Verdict::Error) {
        let _ = writeln!(text, "{reason}");
    }
    text
}

/// The messages exchanged, numbered, evidence marked with `▶`.
fn listing(result: &ScenarioResult) -> String {
    let mut text = String::from("messages exchanged:\n");
    for (_, line) in journal_lines(result, MAX_LISTED) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn junit(strict: bool) -> Report {
        let dir = std::env::temp_dir().join(format!("glase-report-junit-{}-{strict}", std::process::id()));
        let path = dir.join("junit.xml");
        write_junit(&fixtures::report(strict), &path).expect("written");
        let xml = std::fs::read_to_string(&path).expect("read back");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(xml.starts_with("<?xml"), "{xml}");
        assert!(!xml.contains("<script>"), "markup in messages is escaped");
        Report::deserialize_from_str(&xml).expect("well-formed JUnit XML")
    }

    fn statuses(report: &Report) -> (usize, usize, usize, usize) {
        let cases: Vec<&TestCase> = report.test_suites.iter().flat_map(|s| s.test_cases.iter()).collect();
        let failures = cases
            .iter()
            .filter(|c| matches!(c.status, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, .. }))
            .count();
        let errors = cases
            .iter()
            .filter(|c| matches!(c.status, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, .. }))
            .count();
        let skipped = cases.iter().filter(|c| matches!(c.status, TestCaseStatus::Skipped { .. })).count();
        (cases.len(), failures, errors, skipped)
    }

    #[test]
    fn one_testcase_per_scenario_with_failures_errors_and_skips() {
        let report = junit(false);
        assert_eq!(report.test_suites.len(), 1);
        assert_eq!(report.test_suites[0].name.as_str(), "glase-conformance.unattended");
        assert_eq!(statuses(&report), (4, 1, 1, 1), "the SHOULD-only scenario passes");
        let failed = &report.test_suites[0].test_cases[1];
        assert_eq!(failed.name.as_str(), "ups-commit-above-reservation");
        let TestCaseStatus::NonSuccess { message, description, .. } = &failed.status else {
            panic!("a failure");
        };
        let message = message.as_ref().map(|m| m.as_str()).unwrap_or_default();
        assert!(message.starts_with("UPS-COMMIT-LE-RESERVED (MUST): expected amount ≤ 20.00"), "{message}");
        let body = description.as_ref().map(|d| d.as_str()).unwrap_or_default();
        for part in [
            "expected: amount ≤ 20.00",
            "actual:   amount 25.00 <script>",
            "evidence: #8, #9",
            "spec 5, 2.1 step 11",
            "step 4 `expect_status: PAID`",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
        let out = failed.system_out.as_ref().map(|o| o.as_str()).unwrap_or_default();
        assert!(out.contains("▶ #8"), "{out}");
        let skipped = &report.test_suites[0].test_cases[2];
        let TestCaseStatus::Skipped { message, .. } = &skipped.status else { panic!("skipped") };
        assert_eq!(message.as_ref().map(|m| m.as_str()), Some("needs the machine driver"));
        let warned = &report.test_suites[0].test_cases[0];
        assert!(warned.system_out.as_ref().is_some_and(|o| o.as_str().contains("REQ-CLIENT-REFERENCE (SHOULD)")));
    }

    #[test]
    fn should_findings_fail_under_strict() {
        assert_eq!(statuses(&junit(true)), (4, 2, 1, 1));
    }

    #[test]
    fn one_suite_per_profile() {
        let mut report = fixtures::report(false);
        report.profile = "all".into();
        report.results[0].profiles = vec!["webshop".into()];
        report.results[3].profiles = vec![];
        let junit = to_junit(&report);
        let names: Vec<&str> = junit.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["glase-conformance.all", "glase-conformance.unattended", "glase-conformance.webshop"]);
        assert_eq!(junit.test_suites.iter().map(|s| s.test_cases.len()).sum::<usize>(), 4);
    }
}
