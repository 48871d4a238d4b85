//! The runner: executes resolved scenarios against a system under test through the
//! embedded mock, and judges them.
//!
//! [`Harness`] is the embedded Glase (a `mock-glase` served where the system under test
//! calls it). [`preflight`] checks that the system under test answers before anything
//! runs. [`run`] executes scenarios one after another, [`run_with_jobs`] up to N at a
//! time: for each, `exec` performs the steps and polls the expectations, tidies up, cuts
//! the scenario's journal, and the journal rules (`rules::check_all`) are checked over it
//! in every scenario. Which scenarios may run at the same time is `claims` (what each
//! needs) and `schedule` (when each starts); whose journal entry is whose, `attribution`.
//! The runner knows nothing about output: it emits [`RunEvent`]s through a callback as
//! things happen and returns the [`RunReport`], results in file order (nextest's
//! `runner/imp.rs` `execute`).

mod attribution;
pub(crate) mod claims;
pub(crate) mod exec;
pub(crate) mod harness;
mod machines;
pub(crate) mod preflight;
mod schedule;
pub(crate) mod target;
pub(crate) mod waits;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::results::{Finding, Level, RunEvent, RunReport, ScenarioResult, StepFailure, Verdict};
use crate::rules::{self, CheckContext};
use crate::scenario::{Driver, Located, Profile, Scenario, Step};

pub use harness::{Harness, MERCHANT};
pub use preflight::{RunError, http_client, preflight};
pub use target::{RunOptions, Target};
pub use waits::{LIBRARY_IDLE_TIMEOUT, LIBRARY_UNPAID_TIMEOUT, Timers};

use crate::drivers::DriverClient;
use attribution::Invoicing;
use claims::Claim;
use exec::{ScenarioRun, Sharing, StepError};
use schedule::Schedule;

/// `--jobs` when not given: scenarios mostly wait (for the system under test, for
/// timers), so a few run well beside each other even on two cores.
pub const DEFAULT_JOBS: usize = 4;

/// Runs the scenarios one after another and judges them.
pub async fn run(
    harness: &Harness,
    scenarios: &[Scenario],
    options: &RunOptions,
    http: &reqwest::Client,
    on_event: &mut (dyn FnMut(&RunEvent) + Send),
) -> RunReport {
    run_with_jobs(harness, scenarios, options, 1, http, on_event).await
}

/// Runs the scenarios, up to `jobs` at a time where they do not share a machine (those
/// that change the mock for everyone run alone), and judges them. Events come as things
/// happen; the report's results are in the scenarios' order. `jobs` 1 is [`run`].
pub async fn run_with_jobs(
    harness: &Harness,
    scenarios: &[Scenario],
    options: &RunOptions,
    jobs: usize,
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
    // A skipped scenario does nothing, so it claims nothing.
    let claims: Vec<Claim> = scenarios
        .iter()
        .map(|s| if skip_reason(s, options).is_some() { Claim::none() } else { claims::claim(s) })
        .collect();
    let mut schedule = Schedule::new(claims.clone(), jobs);
    let invoicing = Invoicing::default();
    let ledger = machines::Ledger::default();
    let mut results: Vec<Option<ScenarioResult>> = vec![None; scenarios.len()];
    let mut running: Vec<(usize, Running<'_, ScenarioResult>)> = Vec::new();
    while !schedule.done() {
        for index in schedule.start() {
            let scenario = &scenarios[index];
            if let Some(reason) = claims[index].alone.filter(|_| jobs > 1) {
                tracing::debug!(scenario = scenario.id, "runs alone: it {}", reason.as_str());
            }
            on_event(&RunEvent::ScenarioStarted { id: scenario.id.clone(), title: scenario.title.clone() });
            let machines = (!schedule.alone(index)).then_some(&claims[index].machines);
            let sharing = Sharing { invoicing: &invoicing, machines, ledger: &ledger };
            running.push((index, Box::pin(run_one(harness, scenario, index, options, http, sharing))));
        }
        let (slot, result) = next_finished(&mut running).await;
        let (index, _) = running.swap_remove(slot);
        schedule.finish(index);
        on_event(&RunEvent::ScenarioFinished(Box::new(result.clone())));
        results[index] = Some(result);
    }
    on_event(&RunEvent::Finished);
    let results = results.into_iter().flatten().collect();
    RunReport {
        suite_version: crate::SUITE_VERSION.to_owned(),
        suite_commit: crate::SUITE_COMMIT.to_owned(),
        system: crate::system::Identity::default(),
        started_at,
        duration: started.elapsed(),
        target: options.target.describe(),
        profile: options.profile.map_or("all", Profile::as_str).to_owned(),
        strict: options.strict,
        seed: options.seed,
        conditions: options.conditions(harness.deadline_scale),
        rules: rules::catalog(),
        results,
    }
}

/// A scenario in progress.
type Running<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Waits for the first of the running scenarios to finish: (its slot, its result).
/// Polled from this one task, so the scenarios may borrow the harness and each other's
/// shared state; the mock and the system under test do their work in their own tasks.
async fn next_finished<T>(running: &mut [(usize, Running<'_, T>)]) -> (usize, T) {
    std::future::poll_fn(|cx| {
        for (slot, (_, future)) in running.iter_mut().enumerate() {
            if let Poll::Ready(result) = future.as_mut().poll(cx) {
                return Poll::Ready((slot, result));
            }
        }
        Poll::Pending
    })
    .await
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
                Driver::Pos => "needs the point-of-sale driver: pass --pos-driver URL".to_owned(),
            });
        }
    }
    let scans = scenario.steps.iter().any(|s| s.value.scans_machine());
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
    sharing: Sharing<'_>,
) -> ScenarioResult {
    let started = Instant::now();
    let mut result = unstarted(scenario);
    if let Some(reason) = skip_reason(scenario, options) {
        result.reason = Some(reason);
        return result;
    }
    // A clean machine, or none: an earlier scenario's leftovers are not this one's fault.
    let token = options.target.driver_token.as_deref();
    let machine_driver =
        options.target.machine_driver.as_deref().map(|url| DriverClient::new(url, http.clone(), token));
    let used = claims::claim(scenario).machines;
    if let Some(driver) = &machine_driver
        && let Err(blocked) = sharing.ledger.clear(driver, &used).await
    {
        result.verdict = Verdict::Inconclusive;
        result.reason = Some(blocked);
        result.duration = started.elapsed();
        return result;
    }

    // Alone (and with `--jobs 1`), the whole run is the scenario's turn: every entry
    // that names no invoice, or an invoice issued meanwhile, is its own. Entries about
    // invoices issued before it started are not, even when they arrive now (a
    // notification retry, a reversal, a late getPaymentStatus): their scenario has
    // been judged already (alone scenarios start when every other has finished), and
    // its journal was cut once the system went quiet, so they are dropped rather than
    // charged to a scenario that did not cause them.
    let turn = match sharing.machines {
        None => Some(sharing.invoicing.open(index, || harness.mock().journal_stats().2).await),
        Some(_) => None,
    };
    let waits = waits::Waits { timers: options.timers, patience: options.patience };
    let mut run = ScenarioRun::new(harness, &options.target, http, index, waits, sharing);
    let (ending, broken) = run_steps(&mut run, scenario, &mut result).await;
    run.tidy_up().await;
    // The machines it used must be free again; one that is not is this scenario's
    // finding, and blocks (not fails) the scenarios after it.
    let left_held = match &machine_driver {
        Some(driver) => {
            let pending = ending.inconclusive.is_some().then(|| options.timers.idle_or_library());
            let window = run.status_deadline() + Duration::from_secs(2);
            sharing.ledger.check_released(driver, &scenario.id, &used, window, pending).await
        }
        None => Vec::new(),
    };
    let profile = scenario.primary_profile().as_str();
    let (journal, cut_at) = run.decided_journal(profile).await;
    if let Some(turn) = turn {
        sharing.invoicing.close(turn, harness.mock().journal_stats().2);
    }
    let ctx = CheckContext {
        journal: &journal,
        status_deadline: harness.status_deadline(run.deadline_scale),
        profile,
        cut_at_ms: Some(cut_at),
        company: options.target.company.as_deref(),
    };
    let findings = findings_of(&ctx, &result, broken, &left_held);
    result.journal = journal;
    result.duration = started.elapsed();
    judge(scenario, &mut result, findings, ending);
    result
}

/// A scenario's result before anything ran: skipped, with what identifies it.
fn unstarted(scenario: &Scenario) -> ScenarioResult {
    ScenarioResult {
        id: scenario.id.clone(),
        title: scenario.title.clone(),
        file: scenario.file.clone(),
        profiles: scenario.profiles.iter().map(|p| p.as_str().to_owned()).collect(),
        verdict: Verdict::Skipped,
        reason: None,
        duration: Duration::ZERO,
        failures: Vec::new(),
        findings: Vec::new(),
        covers: scenario.covers.clone(),
        journal: Vec::new(),
    }
}

/// Runs the setup and then the steps, up to the first that fails — except a SHOULD
/// expectation, which is a warning: the MUST obligations after it are judged too. The
/// failed steps that name the rule they check come back, to become findings of it.
async fn run_steps(
    run: &mut ScenarioRun<'_>,
    scenario: &Scenario,
    result: &mut ScenarioResult,
) -> (Ending, Vec<BrokenStep>) {
    let mut ending = Ending::default();
    let mut broken: Vec<BrokenStep> = Vec::new();
    if let Err(error) = run.setup(scenario) {
        ending.record_setup(result, &scenario.file, error);
        return (ending, broken);
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        tracing::debug!(scenario = scenario.id, step = i + 1, "{}", step.text);
        let from = run.journal_position();
        let Err(error) = step.value.perform(run).await else {
            if step.value.is_expectation() && step.rule.as_deref().is_some_and(|r| r != "DRIVER-CONTRACT") {
                ending.judged += 1;
            }
            continue;
        };
        let rule = step.rule.as_deref().and_then(rules::rule);
        if let (Some(rule), StepError::Failed { expected, actual }) = (&rule, &error) {
            broken.push(BrokenStep {
                rule: rule.id.clone(),
                level: rule.level,
                expected: expected.clone(),
                actual: actual.clone(),
                invoice: run.current_invoice(),
                window: (from, run.journal_position()),
            });
        }
        let soft = rule.as_ref().is_some_and(|r| r.level == Level::Should);
        ending.record(result, i + 1, step, error);
        if !(soft && ending.is_clean()) {
            break;
        }
    }
    (ending, broken)
}

/// Every finding of a scenario: the rules over its journal, the failed steps that name a
/// rule no finding already names, and the machines it left held — reported once, by the
/// scenario that left them, unless it failed already (then its finding explains the
/// machine, which still blocks the scenarios after it).
fn findings_of(
    ctx: &CheckContext<'_>,
    result: &ScenarioResult,
    broken: Vec<BrokenStep>,
    left_held: &[machines::LeftHeld],
) -> Vec<Finding> {
    let mut findings = rules::check_all(ctx);
    let explained =
        !result.failures.is_empty() || !broken.is_empty() || findings.iter().any(|f| f.level == Level::Must);
    if !left_held.is_empty() && !explained {
        findings.push(left_held_finding(left_held, ctx.journal));
    }
    for step in broken {
        if !findings.iter().any(|f| f.rule == step.rule) {
            findings.push(step.finding(ctx.journal));
        }
    }
    findings
}

/// The finding of a scenario that left machines held.
fn left_held_finding(left: &[machines::LeftHeld], journal: &[mock_glase::journal::Entry]) -> Finding {
    let held: Vec<String> = left.iter().map(|l| format!("{} is still {}", l.machine, l.state)).collect();
    let last: Vec<u64> = journal
        .iter()
        .filter(|e| !matches!(e.record, mock_glase::journal::Record::Control { .. }))
        .map(|e| e.seq)
        .collect();
    let info = rules::rule("UPS-RELEASE-AFTER-PURCHASE");
    Finding {
        rule: "UPS-RELEASE-AFTER-PURCHASE".to_owned(),
        level: info.map_or(Level::Must, |r| r.level),
        expected: "every machine the scenario used free again once its purchases ended".to_owned(),
        actual: format!(
            "after the scenario (its open invoices cancelled, unlocked machines given an empty choice): {}; \
             later scenarios on it are blocked, not failed",
            held.join(", ")
        ),
        evidence: last[last.len().saturating_sub(3)..].to_vec(),
        invoice: None,
    }
}

/// A failed step that names the rule it checks.
#[derive(Debug)]
struct BrokenStep {
    rule: String,
    level: Level,
    expected: String,
    actual: String,
    invoice: Option<String>,
    /// The journal positions the step ran between.
    window: (u64, u64),
}

impl BrokenStep {
    /// The finding, its evidence the messages about the invoice while the step ran (or
    /// the last few before, when it waited for something that never came).
    fn finding(self, journal: &[mock_glase::journal::Entry]) -> Finding {
        let relevant = |e: &&mock_glase::journal::Entry| {
            (self.invoice.is_none() || e.invoice == self.invoice)
                && !matches!(e.record, mock_glase::journal::Record::Control { .. })
        };
        let (from, to) = self.window;
        let mut evidence: Vec<u64> =
            journal.iter().filter(relevant).filter(|e| e.seq > from && e.seq <= to).map(|e| e.seq).collect();
        if evidence.is_empty() {
            let before: Vec<u64> = journal.iter().filter(relevant).filter(|e| e.seq <= to).map(|e| e.seq).collect();
            evidence = before[before.len().saturating_sub(3)..].to_vec();
        }
        Finding {
            rule: self.rule,
            level: self.level,
            expected: self.expected,
            actual: self.actual,
            evidence,
            invoice: self.invoice,
        }
    }
}

/// How the steps ended besides holding or failing.
#[derive(Debug, Default)]
struct Ending {
    /// A driver stopped answering: why.
    unreachable: Option<String>,
    /// A wait `--patience` cut ran out: which step, and why that proves nothing.
    inconclusive: Option<String>,
    /// A step did not apply to this system: why the rest was skipped.
    not_applicable: Option<String>,
    /// Protocol expectations that held before (a scenario that stops at a step that
    /// does not apply is judged on them, or skipped when there are none).
    judged: usize,
}

impl Ending {
    /// Nothing but failures so far (no error, no cut wait, no skip).
    fn is_clean(&self) -> bool {
        self.unreachable.is_none() && self.inconclusive.is_none() && self.not_applicable.is_none()
    }

    fn record(&mut self, result: &mut ScenarioResult, step: usize, located: &Located<Step>, error: StepError) {
        self.note(result, step, &located.text, Some(located.location.clone()), located.rule.clone(), error);
    }

    fn record_setup(&mut self, result: &mut ScenarioResult, file: &str, error: StepError) {
        self.note(result, 0, "setup", Some(file.to_owned()), None, error);
    }

    fn note(
        &mut self,
        result: &mut ScenarioResult,
        step: usize,
        text: &str,
        location: Option<String>,
        rule: Option<String>,
        error: StepError,
    ) {
        let description = text.to_owned();
        match error {
            StepError::Failed { expected, actual } => {
                result.failures.push(StepFailure { step, description, expected, actual, location, rule });
            }
            StepError::Inconclusive { expected, actual, reason } => {
                self.inconclusive = Some(format!(
                    "step {step} `{text}` was not decided: {reason} (expected {expected}; after the wait: {actual})"
                ));
            }
            StepError::NotApplicable(reason) => {
                self.not_applicable = Some(format!("from step {step} `{text}` on: {reason}"));
            }
            StepError::Unreachable(reason) => {
                let expected = "the driver to answer".to_owned();
                result.failures.push(StepFailure {
                    step,
                    description,
                    expected,
                    actual: reason.clone(),
                    location,
                    rule,
                });
                self.unreachable = Some(reason);
            }
        }
    }
}

/// Sets the verdict from the step failures and the findings. With `expect_findings`,
/// the scenario passes iff exactly the listed rules fire; they are then expected and not
/// reported as findings.
fn judge(scenario: &Scenario, result: &mut ScenarioResult, findings: Vec<Finding>, ending: Ending) {
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
                rule: None,
            });
        }
    }
    result.findings = findings;
    result.verdict = if let Some(reason) = ending.unreachable {
        result.reason = Some(format!("the system under test could not be reached: {reason}"));
        Verdict::Error
    } else if result.failures.iter().any(|f| f.rule.is_none()) || result.findings.iter().any(|f| f.level == Level::Must)
    {
        // A failed step that names a rule is judged by that rule's finding (a SHOULD
        // one warns); one that names none is a scenario expectation that did not hold.
        Verdict::Failed
    } else if let Some(reason) = ending.inconclusive {
        result.reason = Some(reason);
        Verdict::Inconclusive
    } else if let Some(reason) = ending.not_applicable.as_ref().filter(|_| ending.judged == 0) {
        result.reason = Some(reason.clone());
        Verdict::Skipped
    } else {
        // Judged on what applied; the reason says what did not.
        result.reason = ending.not_applicable;
        if result.findings.is_empty() { Verdict::Passed } else { Verdict::PassedWithWarnings }
    };
}

fn list(ids: &[&str]) -> String {
    if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;
    use std::net::SocketAddr;

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
            covers: Vec::new(),
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
        judge(&s, &mut result, vec![finding("SHOP-INVOICE-VERSION-ECHO", Level::Should)], Ending::default());
        assert_eq!(result.verdict, Verdict::PassedWithWarnings);
        judge(&s, &mut result, vec![finding("CTX-CLIENT-REFERENCE", Level::Must)], Ending::default());
        assert_eq!(result.verdict, Verdict::Failed);
        let mut clean = blank(&s);
        judge(&s, &mut clean, Vec::new(), Ending::default());
        assert_eq!(clean.verdict, Verdict::Passed);
    }

    #[test]
    fn expected_findings_pass_only_when_exactly_those_rules_fire() {
        let s = scenario(NEGATIVE);
        let mut result = blank(&s);
        judge(&s, &mut result, vec![finding("CTX-CLIENT-REFERENCE", Level::Must)], Ending::default());
        assert_eq!(result.verdict, Verdict::Passed);
        assert!(result.findings.is_empty());

        let mut extra = blank(&s);
        let both = vec![finding("CTX-CLIENT-REFERENCE", Level::Must), finding("CTX-CLIENT-ID", Level::Must)];
        judge(&s, &mut extra, both, Ending::default());
        assert_eq!(extra.verdict, Verdict::Failed);
        assert_eq!(extra.failures[0].step, 2);
        assert!(extra.failures[0].actual.contains("CTX-CLIENT-ID"), "{:?}", extra.failures[0]);

        let mut none = blank(&s);
        judge(&s, &mut none, Vec::new(), Ending::default());
        assert_eq!(none.verdict, Verdict::Failed);
        assert_eq!(none.failures[0].actual, "fired: none");
    }

    #[test]
    fn an_unreachable_driver_is_an_error_not_a_failure() {
        let s = scenario(PLAIN);
        let mut result = blank(&s);
        judge(
            &s,
            &mut result,
            Vec::new(),
            Ending { unreachable: Some("connection refused".to_owned()), ..Ending::default() },
        );
        assert_eq!(result.verdict, Verdict::Error);
        assert!(result.reason.as_deref().is_some_and(|r| r.contains("connection refused")));
    }

    #[test]
    fn scenarios_without_their_driver_or_profile_are_skipped_with_the_reason() {
        let shop = scenario("id: a/b\ntitle: t\nprofiles: [webshop]\nrequires: [shop-driver]\nsteps: [shop_close]\n");
        let options = |target: Target, profile| RunOptions {
            target,
            profile,
            strict: false,
            seed: 1,
            patience: None,
            timers: Timers::default(),
        };
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

    /// What the run reported, in the order it reported it.
    #[derive(Debug, PartialEq, Eq)]
    enum Seen {
        Started(String),
        Finished(String),
    }

    /// Options for a run against no system (scenarios that only wait or read the journal).
    fn options_for_nothing() -> RunOptions {
        RunOptions {
            target: Target::default(),
            profile: None,
            strict: false,
            seed: 7,
            patience: None,
            timers: Timers::default(),
        }
    }

    async fn run_waits(scenarios: &[Scenario], jobs: usize) -> (RunReport, Vec<Seen>) {
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let harness = Harness::start(listen, 1.0, 7).await.expect("the mock starts");
        let http = http_client().expect("a client");
        let options = options_for_nothing();
        let mut seen = Vec::new();
        let mut on_event = |event: &RunEvent| match event {
            RunEvent::ScenarioStarted { id, .. } => seen.push(Seen::Started(id.clone())),
            RunEvent::ScenarioFinished(result) => seen.push(Seen::Finished(result.id.clone())),
            _ => {}
        };
        let report = run_with_jobs(&harness, scenarios, &options, jobs, &http, &mut on_event).await;
        harness.shutdown().await;
        (report, seen)
    }

    fn waiting(id: &str, wait: &str) -> Scenario {
        scenario(&format!("id: {id}\ntitle: t\nprofiles: [webshop]\nsteps: [wait: {wait}]\n"))
    }

    #[tokio::test]
    async fn results_come_in_file_order_while_events_come_as_things_happen() {
        let scenarios = [waiting("a/slow", "600ms"), waiting("a/quick", "1ms"), waiting("a/middle", "250ms")];
        let (report, seen) = run_waits(&scenarios, 3).await;
        let ids: Vec<&str> = report.results.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a/slow", "a/quick", "a/middle"]);
        assert!(report.results.iter().all(|r| r.verdict == Verdict::Passed), "{:?}", report.results);
        let finished: Vec<&Seen> = seen.iter().filter(|s| matches!(s, Seen::Finished(_))).collect();
        let order =
            [Seen::Finished("a/quick".into()), Seen::Finished("a/middle".into()), Seen::Finished("a/slow".into())];
        assert_eq!(finished, order.iter().collect::<Vec<_>>(), "all three ran at once: {seen:?}");
    }

    /// A fixture's SOAP request as the demo terminal sends it (notifications go nowhere).
    fn request(name: &str, invoice: Option<&str>) -> String {
        let path = format!("{}/../scenarios/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let xml = std::fs::read_to_string(&path)
            .expect("fixture")
            .replace("d4f0a3c3e6bc47b1a1d0bd2b7e6f9c25", "demo-terminal")
            .replace("<password>4711</password>", "<password>demo1234</password>")
            .replace(
                "https://reseller.example.com/seqr/notify?machine=VM-0042&amp;token=29834231890234",
                "http://127.0.0.1:1/",
            );
        match invoice {
            Some(invoice) => xml.replace("1397240460668", invoice),
            None => xml,
        }
    }

    async fn soap(mock: &mock_glase::Mock, xml: &str) -> String {
        let answer = mock.handle_soap("/extclientproxy/service/v2", xml.as_bytes()).await;
        String::from_utf8_lossy(&answer.body).into_owned()
    }

    #[tokio::test]
    async fn a_lone_scenario_sees_calls_that_name_no_invoice_but_not_late_ones_about_earlier_invoices() {
        let lone = scenario(
            "id: a/lone\ntitle: t\nprofiles: [webshop]\nsteps:\n  \
             - expect_call: {operation: markTransactionPeriod, within: 3s}\n  \
             - expect_no_call: {operation: getPaymentStatus, invoice: any, during: 200ms}\n",
        );
        for jobs in [1, 4] {
            let listen = SocketAddr::from(([127, 0, 0, 1], 0));
            let harness = Harness::start(listen, 1.0, 7).await.expect("the mock starts");
            let http = http_client().expect("a client");
            let options = options_for_nothing();
            // An invoice of an earlier scenario, and the system under test's late calls
            // while this one runs: a poll for that invoice, then the day's closing.
            let mock = harness.mock().clone();
            let sent = soap(&mock, &request("sendInvoice.request.xml", None)).await;
            let earlier = sent
                .split_once("<invoiceReference>")
                .and_then(|(_, rest)| rest.split_once('<'))
                .map(|(reference, _)| reference.to_owned())
                .expect("issued");
            let late = {
                let earlier = earlier.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    soap(&mock, &request("getPaymentStatus.request.xml", Some(&earlier))).await;
                    soap(&mock, &request("markTransactionPeriod.request.xml", None)).await;
                })
            };
            let report = run_with_jobs(&harness, std::slice::from_ref(&lone), &options, jobs, &http, &mut |_| {}).await;
            late.await.expect("the late calls");
            harness.shutdown().await;
            let result = &report.results[0];
            assert_eq!(result.verdict, Verdict::Passed, "jobs {jobs}: {result:?}");
            assert!(result.journal.iter().all(|e| e.invoice.as_deref() != Some(earlier.as_str())), "jobs {jobs}");
            let closing = result.journal.iter().any(|e| {
                matches!(&e.record, mock_glase::journal::Record::SoapRequest { operation: Some(op), .. }
                    if op == "markTransactionPeriod")
            });
            assert!(closing, "jobs {jobs}: {:?}", result.journal);
        }
    }

    #[tokio::test]
    async fn a_scenario_that_moves_the_clock_runs_alone_and_one_job_runs_in_file_order() {
        let clock = scenario("id: a/clock\ntitle: t\nprofiles: [webshop]\nsteps:\n  - advance_clock: {by: 1s}\n");
        let scenarios = [waiting("a/one", "200ms"), clock, waiting("a/two", "1ms")];
        let (report, seen) = run_waits(&scenarios, 4).await;
        assert!(report.passed(), "{:?}", report.results);
        let at = |wanted: Seen| seen.iter().position(|s| *s == wanted).expect("reported");
        let clock_started = at(Seen::Started("a/clock".into()));
        assert!(
            at(Seen::Finished("a/one".into())) < clock_started && at(Seen::Finished("a/two".into())) < clock_started
        );
        assert_eq!(seen.last(), Some(&Seen::Finished("a/clock".into())), "nothing beside it: {seen:?}");

        let (_, seen) = run_waits(&scenarios, 1).await;
        let expected: Vec<Seen> = ["a/one", "a/clock", "a/two"]
            .iter()
            .flat_map(|id| [Seen::Started((*id).into()), Seen::Finished((*id).into())])
            .collect();
        assert_eq!(seen, expected);
    }
}
