//! The runner: executes resolved scenarios against a system under test through the
//! embedded mock, and judges them.
//!
//! [`Harness`] is the embedded Glase (a `mock-glase` served where the system under test
//! calls it). [`preflight`] checks that the system under test answers before anything
//! runs. [`run`] executes scenarios one after another: for each, `exec` performs the
//! steps and polls the expectations, tidies up, cuts the scenario's journal, and the
//! journal rules (`rules::check_all`) are checked over it in every scenario. The
//! runner knows nothing about output: it emits [`RunEvent`]s through a callback and
//! returns the [`RunReport`] (nextest's `runner/imp.rs` `execute`).

mod drivers;
mod exec;
mod harness;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::model::{Finding, Level, RunEvent, RunReport, ScenarioResult, StepFailure, Verdict};
use crate::rules::{self, CheckContext};
use crate::scenario::{Driver, Profile, Scenario, Step};

pub use harness::{Harness, MERCHANT};

use drivers::error_chain;
use exec::{ScenarioRun, StepError};

/// What the suite tests: the system under test's endpoints.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Where the mock's UPS sends createPurchase (`…/createPurchase`).
    pub create_purchase_url: Option<String>,
    /// Base URL of the machine driver (`{base}/driver/machines/…`).
    pub machine_driver: Option<String>,
    /// Base URL of the shop driver (`{base}/driver/shop/…`).
    pub shop_driver: Option<String>,
}

impl Target {
    /// One line for people: what was tested.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(url) = &self.create_purchase_url {
            parts.push(format!("createPurchase {url}"));
        }
        if let Some(url) = &self.machine_driver {
            parts.push(format!("machine driver {url}"));
        }
        if let Some(url) = &self.shop_driver {
            parts.push(format!("shop driver {url}"));
        }
        if parts.is_empty() { "nothing (no URL given)".to_owned() } else { parts.join(", ") }
    }

    fn has(&self, driver: Driver) -> bool {
        match driver {
            Driver::Machine => self.machine_driver.is_some(),
            Driver::Shop => self.shop_driver.is_some(),
            Driver::Pos => false,
        }
    }
}

/// How to run (the resolved command line).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: Target,
    /// `None`: every profile.
    pub profile: Option<Profile>,
    pub strict: bool,
    pub seed: u64,
    /// Caps every `within` of the scenarios (a CI that would rather fail fast than wait
    /// for a system's own long timers); `None` keeps the scenarios' values.
    pub patience: Option<Duration>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("cannot listen on {addr} for the system under test's Glase calls")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    /// The system under test does not answer (exit code 3).
    #[error("the system under test is unreachable: {what} at {url}: {reason}")]
    Unreachable { what: &'static str, url: String, reason: String },
}

/// A client for the system under test (rustls with ring, like the mock's).
pub fn http_client() -> Result<reqwest::Client, RunError> {
    mock_glase::notify::http_client_trusting(Duration::from_secs(30), None)
        .map_err(|e| RunError::Config(format!("{e:#}")))
}

/// Checks that every configured endpoint of the system under test answers HTTP at all
/// (any status will do for createPurchase; the machine driver must list its machines).
pub async fn preflight(target: &Target, http: &reqwest::Client) -> Result<(), RunError> {
    let timeout = Duration::from_secs(5);
    if let Some(url) = &target.create_purchase_url {
        if !url.trim_end_matches('/').ends_with("createPurchase") {
            return Err(RunError::Config(format!(
                "--create-purchase-url {url} must end with createPurchase (spec 2.1)"
            )));
        }
        http.get(url).timeout(timeout).send().await.map_err(|e| RunError::Unreachable {
            what: "createPurchase",
            url: url.clone(),
            reason: error_chain(&e),
        })?;
    }
    if let Some(base) = &target.machine_driver {
        let url = format!("{}/driver/machines", base.trim_end_matches('/'));
        let response = http.get(&url).timeout(timeout).send().await.map_err(|e| RunError::Unreachable {
            what: "the machine driver",
            url: url.clone(),
            reason: error_chain(&e),
        })?;
        if !response.status().is_success() {
            return Err(RunError::Unreachable {
                what: "the machine driver",
                url,
                reason: format!("answered HTTP {} (is the driver enabled in this build?)", response.status().as_u16()),
            });
        }
    }
    if let Some(base) = &target.shop_driver {
        let url = format!("{}/driver/shop/orders/conformance-preflight", base.trim_end_matches('/'));
        http.get(&url).timeout(timeout).send().await.map_err(|e| RunError::Unreachable {
            what: "the shop driver",
            url,
            reason: error_chain(&e),
        })?;
    }
    Ok(())
}

/// Runs the scenarios one after another and judges them.
pub async fn run(
    harness: &Harness,
    scenarios: &[Scenario],
    options: &RunOptions,
    http: &reqwest::Client,
    on_event: &mut (dyn FnMut(&RunEvent) + Send),
) -> RunReport {
    let started = Instant::now();
    let started_at = harness.mock().now().to_rfc3339();
    if let Some(url) = &options.target.create_purchase_url
        && let Err(error) = harness.point_at(url)
    {
        tracing::warn!(%error, "cannot point the demo merchant at the system under test");
    }
    on_event(&RunEvent::Started { scenarios: scenarios.len() });
    let mut results = Vec::with_capacity(scenarios.len());
    for (index, scenario) in scenarios.iter().enumerate() {
        on_event(&RunEvent::ScenarioStarted { id: scenario.id.clone(), title: scenario.title.clone() });
        let result = run_one(harness, scenario, index, options, http).await;
        on_event(&RunEvent::ScenarioFinished(Box::new(result.clone())));
        results.push(result);
    }
    on_event(&RunEvent::Finished);
    RunReport {
        suite_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at,
        duration: started.elapsed(),
        target: options.target.describe(),
        profile: options.profile.map_or("all", Profile::as_str).to_owned(),
        strict: options.strict,
        seed: options.seed,
        rules: rules::catalog(),
        results,
    }
}

/// Why a scenario cannot run here, if it cannot.
fn skip_reason(scenario: &Scenario, options: &RunOptions) -> Option<String> {
    if !scenario.in_profile(options.profile) {
        let profiles: Vec<&str> = scenario.profiles.iter().map(|p| p.as_str()).collect();
        return Some(format!(
            "not in profile {} (it belongs to {})",
            options.profile.map_or("all", Profile::as_str),
            profiles.join(", ")
        ));
    }
    for driver in &scenario.requires {
        if !options.target.has(*driver) {
            return Some(match driver {
                Driver::Machine => "needs the machine driver: pass --machine-driver URL".to_owned(),
                Driver::Shop => "needs the shop driver: pass --shop-driver URL".to_owned(),
                Driver::Pos => "needs a point-of-sale driver, which this kit does not define yet".to_owned(),
            });
        }
    }
    let scans = scenario.steps.iter().any(|s| matches!(s.value, Step::Scan { .. } | Step::Race { .. }));
    if scans && options.target.create_purchase_url.is_none() {
        return Some("scans a machine: pass --create-purchase-url".to_owned());
    }
    None
}

async fn run_one(
    harness: &Harness,
    scenario: &Scenario,
    index: usize,
    options: &RunOptions,
    http: &reqwest::Client,
) -> ScenarioResult {
    let started = Instant::now();
    let mut result = ScenarioResult {
        id: scenario.id.clone(),
        title: scenario.title.clone(),
        file: scenario.file.clone(),
        profiles: scenario.profiles.iter().map(|p| p.as_str().to_owned()).collect(),
        verdict: Verdict::Skipped,
        reason: None,
        duration: Duration::ZERO,
        failures: Vec::new(),
        findings: Vec::new(),
        journal: Vec::new(),
    };
    if let Some(reason) = skip_reason(scenario, options) {
        result.reason = Some(reason);
        return result;
    }

    let mut run = ScenarioRun::new(harness, &options.target, http, index, options.patience);
    let mut unreachable = None;
    let mut record = |step: usize,
                      text: &str,
                      location: Option<String>,
                      error: StepError,
                      unreachable: &mut Option<String>| {
        match error {
            StepError::Failed { expected, actual } => {
                result.failures.push(StepFailure { step, description: text.to_owned(), expected, actual, location });
            }
            StepError::Unreachable(reason) => {
                result.failures.push(StepFailure {
                    step,
                    description: text.to_owned(),
                    expected: "the driver to answer".to_owned(),
                    actual: reason.clone(),
                    location,
                });
                *unreachable = Some(reason);
            }
        }
    };
    // A failed step that names the rule it checks becomes a finding of that rule.
    let mut broken: Option<(String, Option<String>)> = None;
    match run.setup(scenario) {
        Ok(()) => {
            for (i, step) in scenario.steps.iter().enumerate() {
                tracing::debug!(scenario = scenario.id, step = i + 1, "{}", step.text);
                if let Err(error) = run.step(&step.value).await {
                    if let (Some(rule), StepError::Failed { .. }) = (&step.rule, &error) {
                        broken = Some((rule.clone(), run.current_invoice()));
                    }
                    record(i + 1, &step.text, Some(step.location.clone()), error, &mut unreachable);
                    break;
                }
            }
        }
        Err(error) => record(0, "setup", Some(scenario.file.clone()), error, &mut unreachable),
    }
    run.tidy_up().await;
    let journal = run.journal();
    let ctx = CheckContext {
        journal: &journal,
        status_deadline: harness.status_deadline(run.deadline_scale),
        profile: scenario.primary_profile().as_str(),
    };
    let mut findings = rules::check_all(&ctx);
    if let (Some((rule, invoice)), Some(failure)) = (broken, result.failures.last())
        && let Some(info) = rules::rule(&rule)
        && !findings.iter().any(|f| f.rule == rule)
    {
        let evidence = journal
            .iter()
            .filter(|e| invoice.is_none() || e.invoice == invoice)
            .filter(|e| !matches!(e.record, mock_glase::journal::Record::Control { .. }))
            .map(|e| e.seq)
            .collect();
        findings.push(Finding {
            rule,
            level: info.level,
            expected: failure.expected.clone(),
            actual: failure.actual.clone(),
            evidence,
            invoice,
        });
    }
    result.journal = journal;
    result.duration = started.elapsed();
    judge(scenario, &mut result, findings, unreachable);
    result
}

/// Sets the verdict from the step failures and the findings. With `expect_findings`,
/// the scenario passes iff exactly the listed rules fire; they are then expected and not
/// reported as findings.
fn judge(scenario: &Scenario, result: &mut ScenarioResult, findings: Vec<Finding>, unreachable: Option<String>) {
    let mut findings = findings;
    if let Some(expected) = &scenario.expected_findings {
        let mut fired: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
        fired.sort_unstable();
        fired.dedup();
        let mut wanted: Vec<&str> = expected.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        wanted.dedup();
        if fired == wanted {
            findings.clear();
        } else {
            let (step, location) = scenario
                .steps
                .iter()
                .enumerate()
                .find(|(_, s)| matches!(s.value, Step::ExpectFindings(_)))
                .map_or((0, None), |(i, s)| (i + 1, Some(s.location.clone())));
            result.failures.push(StepFailure {
                step,
                description: format!("expect_findings: [{}]", wanted.join(", ")),
                expected: format!("exactly these rules fire: {}", list(&wanted)),
                actual: format!("fired: {}", list(&fired)),
                location,
            });
        }
    }
    result.findings = findings;
    result.verdict = if let Some(reason) = unreachable {
        result.reason = Some(format!("the system under test could not be reached: {reason}"));
        Verdict::Error
    } else if !result.failures.is_empty() || result.findings.iter().any(|f| f.level == Level::Must) {
        Verdict::Failed
    } else if result.findings.is_empty() {
        Verdict::Passed
    } else {
        Verdict::PassedWithWarnings
    };
}

fn list(ids: &[&str]) -> String {
    if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;

    fn scenario(text: &str) -> Scenario {
        load_str("t.yaml", text, &|id| rules::rule(id).is_some()).expect("valid scenario")
    }

    fn finding(rule: &str, level: Level) -> Finding {
        Finding {
            rule: rule.to_owned(),
            level,
            expected: "e".to_owned(),
            actual: "a".to_owned(),
            evidence: vec![1],
            invoice: None,
        }
    }

    fn blank(scenario: &Scenario) -> ScenarioResult {
        ScenarioResult {
            id: scenario.id.clone(),
            title: scenario.title.clone(),
            file: scenario.file.clone(),
            profiles: Vec::new(),
            verdict: Verdict::Skipped,
            reason: None,
            duration: Duration::ZERO,
            failures: Vec::new(),
            findings: Vec::new(),
            journal: Vec::new(),
        }
    }

    const PLAIN: &str = "id: a/b\ntitle: t\nprofiles: [webshop]\nsteps: [wait: 1ms]\n";
    const NEGATIVE: &str =
        "id: a/b\ntitle: t\nprofiles: [webshop]\nsteps:\n  - wait: 1ms\n  - expect_findings: [CTX-CLIENT-REFERENCE]\n";

    #[test]
    fn must_findings_fail_and_should_findings_warn() {
        let s = scenario(PLAIN);
        let mut result = blank(&s);
        judge(&s, &mut result, vec![finding("SHOP-INVOICE-VERSION-ECHO", Level::Should)], None);
        assert_eq!(result.verdict, Verdict::PassedWithWarnings);
        judge(&s, &mut result, vec![finding("CTX-CLIENT-REFERENCE", Level::Must)], None);
        assert_eq!(result.verdict, Verdict::Failed);
        let mut clean = blank(&s);
        judge(&s, &mut clean, Vec::new(), None);
        assert_eq!(clean.verdict, Verdict::Passed);
    }

    #[test]
    fn expected_findings_pass_only_when_exactly_those_rules_fire() {
        let s = scenario(NEGATIVE);
        let mut result = blank(&s);
        judge(&s, &mut result, vec![finding("CTX-CLIENT-REFERENCE", Level::Must)], None);
        assert_eq!(result.verdict, Verdict::Passed);
        assert!(result.findings.is_empty());

        let mut extra = blank(&s);
        let both = vec![finding("CTX-CLIENT-REFERENCE", Level::Must), finding("CTX-CLIENT-ID", Level::Must)];
        judge(&s, &mut extra, both, None);
        assert_eq!(extra.verdict, Verdict::Failed);
        assert_eq!(extra.failures[0].step, 2);
        assert!(extra.failures[0].actual.contains("CTX-CLIENT-ID"), "{:?}", extra.failures[0]);

        let mut none = blank(&s);
        judge(&s, &mut none, Vec::new(), None);
        assert_eq!(none.verdict, Verdict::Failed);
        assert_eq!(none.failures[0].actual, "fired: none");
    }

    #[test]
    fn an_unreachable_driver_is_an_error_not_a_failure() {
        let s = scenario(PLAIN);
        let mut result = blank(&s);
        judge(&s, &mut result, Vec::new(), Some("connection refused".to_owned()));
        assert_eq!(result.verdict, Verdict::Error);
        assert!(result.reason.as_deref().is_some_and(|r| r.contains("connection refused")));
    }

    #[test]
    fn scenarios_without_their_driver_or_profile_are_skipped_with_the_reason() {
        let shop = scenario("id: a/b\ntitle: t\nprofiles: [webshop]\nrequires: [shop-driver]\nsteps: [shop_close]\n");
        let options = |target: Target, profile| RunOptions { target, profile, strict: false, seed: 1, patience: None };
        let none = options(Target::default(), None);
        assert!(skip_reason(&shop, &none).is_some_and(|r| r.contains("--shop-driver")));
        let with_shop = Target { shop_driver: Some("http://x".to_owned()), ..Target::default() };
        assert_eq!(skip_reason(&shop, &options(with_shop.clone(), None)), None);
        let unattended = options(with_shop, Some(Profile::Unattended));
        assert!(skip_reason(&shop, &unattended).is_some_and(|r| r.contains("not in profile unattended")));
        let scan = scenario("id: a/c\ntitle: t\nprofiles: [unattended]\nsteps: [scan: {machine: m}]\n");
        assert!(skip_reason(&scan, &none).is_some_and(|r| r.contains("--create-purchase-url")));
        let pos = scenario("id: a/d\ntitle: t\nprofiles: [pos]\nrequires: [pos-driver]\nsteps: [wait: 1ms]\n");
        assert!(skip_reason(&pos, &none).is_some_and(|r| r.contains("point-of-sale driver")));
    }
}
