//! `run` and `demo`: bind the embedded Glase, start the system under test (or the
//! reference reseller) and wait for it, run the scenarios, write every report.
//!
//! The order is the one real backends need: Glase first (a backend that fetches the WSDL
//! at start-up finds it), then the system, then the wait for its endpoints. Whatever
//! happens after Glase binds — the system never answers, it fails, it passes — the
//! reports are written: an unreachable system is one failing test case in `junit.xml`
//! and `report.json` (exit 3), so a CI view never says "no test results".

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::select::{Selection, load};
use crate::command::{Exit, command_line, fail_start, time_seed};
use crate::report::{self, Evidence, Reporter, TerminalReporter};
use crate::results::{RunEvent, RunReport, ScenarioResult, Verdict};
use crate::rules;
use crate::runner::{self, Harness, RunError, RunOptions};
use crate::scenario::Scenario;
use crate::system::{self, Identity, Started, System, SystemArgs};

pub(super) const RUN_EXAMPLES: &str = "\
Examples:
  # Your backend is running; its Glase URL is http://127.0.0.1:7070/extclientproxy/service/v2
  glase-conformance run --create-purchase-url http://127.0.0.1:8000/seqr/createPurchase \\
      --machine-driver http://127.0.0.1:8000 --shop-driver http://127.0.0.1:8000 \\
      --idle-timeout 60s --unpaid-timeout 2m

  # The suite starts it once Glase listens (GLASE_URL is set), waits up to 90 s, stops it after
  glase-conformance run --start 'java -jar build/backend.jar --test-drivers' --wait-for 90s \\
      --create-purchase-url http://127.0.0.1:8000/seqr/createPurchase --machine-driver http://127.0.0.1:8000

  # A till (point of sale): its driver, and its payment window as the unpaid timeout
  glase-conformance run --pos-driver http://127.0.0.1:8000 --unpaid-timeout 30s --profile pos

  # Everything about your system in one file (keys as the options, plus [fixtures])
  glase-conformance run --config glase-conformance.toml --profile unattended

  # CI: fail fast on waits your declared timers do not bound; name the system in the reports
  glase-conformance run --config glase-conformance.toml --patience 10s \\
      --system-name 'Acme vending' --system-version \"$CI_COMMIT_SHA\" --out conformance-report

  # Your own scenario files beside the library, one scenario only
  glase-conformance run --config glase-conformance.toml --scenarios builtin --scenarios ./mine/vend.yaml
  glase-conformance run --config glase-conformance.toml --only unattended/happy-path

Every option also reads GLASE_CONFORMANCE_<OPTION> (e.g. GLASE_CONFORMANCE_IDLE_TIMEOUT=60s).";

/// How to report.
#[derive(Debug, Args)]
pub struct Output {
    /// Where report.json, junit.xml, report.html and the evidence/ bundle go.
    #[arg(long, value_name = "DIR", default_value = "reports", env = "GLASE_CONFORMANCE_OUT")]
    pub out: PathBuf,
    /// SHOULD findings and inconclusive scenarios fail the run too.
    #[arg(long, env = "GLASE_CONFORMANCE_STRICT")]
    pub strict: bool,
    /// More detail as scenarios finish: the messages exchanged, with the evidence marked.
    #[arg(long, short, env = "GLASE_CONFORMANCE_VERBOSE")]
    pub verbose: bool,
    /// Seed for the mock's references (default: the time), to replay a run.
    #[arg(long, env = "GLASE_CONFORMANCE_SEED")]
    pub seed: Option<u64>,
    /// Wait at most this long for what a scenario expects, where no spec deadline and
    /// no declared timer (--idle-timeout, --unpaid-timeout) bounds the wait. A wait it
    /// cuts that runs out is reported inconclusive, never as a violation.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, env = "GLASE_CONFORMANCE_PATIENCE")]
    pub patience: Option<Duration>,
    /// Run up to N scenarios at once. Only scenarios on different machines run side by
    /// side; those that change Glase for everyone (faults, the clock, the deadline
    /// scale, closing the period) run alone. 1: one after another.
    #[arg(long, short, value_name = "N", default_value_t = runner::DEFAULT_JOBS, value_parser = parse_jobs, env = "GLASE_CONFORMANCE_JOBS")]
    pub jobs: usize,
    /// Serve the sandbox console for the suite's Glase: a web page with the journal live
    /// as a sequence diagram, the invoices and the faults. Its URL is printed at the
    /// start; it stays up after the run until Ctrl-C, to look back at what happened.
    #[arg(long)]
    pub console: bool,
}

impl Output {
    /// Says where the console is, when it was asked for.
    pub(super) fn announce_console(&self, harness: &Harness) {
        if self.console {
            eprintln!("Console: {}/console/ (open it in a browser to watch the run)", harness.base_url());
        }
    }

    /// With `--console`, keeps the suite's Glase serving the console until Ctrl-C.
    pub(super) async fn hold_console(&self, harness: &Harness) {
        if !self.console {
            return;
        }
        eprintln!("The run is over; the console stays up at {}/console/ until you press Ctrl-C.", harness.base_url());
        if let Err(error) = tokio::signal::ctrl_c().await {
            eprintln!("warning: cannot wait for Ctrl-C ({error}); stopping the console now");
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub system: SystemArgs,
    /// Multiply Glase-side deadlines (0.05: the 20 s status rule in 1 s). Your system's
    /// own timers must fit inside the scaled deadlines.
    #[arg(long, value_name = "F", default_value_t = 1.0, env = "GLASE_CONFORMANCE_DEADLINE_SCALE")]
    pub deadline_scale: f64,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub output: Output,
}

pub(super) async fn run(args: RunArgs) -> Exit {
    let system = match args.system.resolve() {
        Ok(system) => system,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Usage;
        }
    };
    if !system.has_target() {
        eprintln!(
            "error: name the system under test: --create-purchase-url, --machine-driver, --shop-driver \
             and/or --pos-driver (or the same keys in --config FILE)"
        );
        return Exit::Usage;
    }
    let (scenarios, http, seed) = match prepare(&args.selection, &system.fixtures, &args.output) {
        Ok(prepared) => prepared,
        Err(exit) => return exit,
    };
    // Glase first: a system that fetches the WSDL at start-up finds it.
    let harness = match Harness::start(system.glase_listen, args.deadline_scale, seed).await {
        Ok(harness) => harness,
        Err(error) => return fail_start(&error),
    };
    eprintln!("Glase (mock) for the system under test: {}", harness.soap_url());
    args.output.announce_console(&harness);
    let log = args.output.out.join("evidence").join(SYSTEM_LOG);
    let options = RunOptions {
        target: system.target.clone(),
        profile: args.selection.profile.profile(),
        strict: args.output.strict,
        seed,
        patience: args.output.patience,
        timers: system.timers,
    };
    let sut = Sut { identity: &system.identity, describe: describe_target(&system) };
    let started = match system::launch(&system, &harness.soap_url(), &log, &http).await {
        Ok(started) => started,
        Err(error) => {
            let exit = fail_start(&error);
            if matches!(error, RunError::Unreachable { .. }) {
                // The reports say what was unreachable, so CI shows a failure.
                let report = unreachable_report(&options, args.deadline_scale, &sut, &error);
                let stopped = system.start.as_ref().map(|_| ("stopped: it never answered".to_owned(), log.clone()));
                let evidence = Evidence::collect(&harness, &scenarios, command_line())
                    .with_system(stopped)
                    .with_config(args.system.config.as_deref());
                finish(&report, &evidence, &args.output);
            }
            harness.shutdown().await;
            return exit;
        }
    };
    let mut report = execute(&harness, &scenarios, &options, &http, &args.output).await;
    sut.stamp(&mut report);
    let stopped = stop(started).await;
    let evidence = Evidence::collect(&harness, &scenarios, command_line())
        .with_system(stopped)
        .with_config(args.system.config.as_deref());
    args.output.hold_console(&harness).await;
    harness.shutdown().await;
    if report.results.iter().all(|r| r.journal.iter().all(|e| !is_sut_soap(e))) {
        eprintln!("note: the system under test never called Glase. Is its Glase URL set to {}?", system.glase_url());
    }
    finish(&report, &evidence, &args.output)
}

/// What `run` and `demo` need first: the scenarios (with the fixture names), a client
/// for the system under test, and the run's seed.
pub(super) fn prepare(
    selection: &Selection,
    fixtures: &[(String, String)],
    output: &Output,
) -> Result<(Vec<Scenario>, reqwest::Client, u64), Exit> {
    let scenarios = load(selection, fixtures)?;
    let http = runner::http_client().map_err(|error| fail_start(&error))?;
    Ok((scenarios, http, output.seed.unwrap_or_else(time_seed)))
}

/// The system's output file in the evidence bundle.
const SYSTEM_LOG: &str = "system-under-test.log";

/// What the reports say about the system under test.
pub(super) struct Sut<'a> {
    pub identity: &'a Identity,
    /// Its name (when declared) and its endpoints.
    pub describe: String,
}

impl Sut<'_> {
    pub(super) fn stamp(&self, report: &mut RunReport) {
        report.system = self.identity.clone();
        report.target = self.describe.clone();
    }
}

/// `Acme vending 4.2 (Acme AB): createPurchase http://…, machine driver http://…`.
fn describe_target(system: &System) -> String {
    match system.identity.describe() {
        Some(who) => format!("{who}: {}", system.target.describe()),
        None => system.target.describe(),
    }
}

/// Stops a started system: how it ended, and its log, for the evidence bundle.
async fn stop(started: Option<Started>) -> Option<(String, PathBuf)> {
    let started = started?;
    let log = started.log().to_owned();
    let ended = started.stop().await;
    Some((ended, log))
}

/// The report of a run that could not start because the system did not answer: one
/// test case that says what was unreachable, so CI shows a failure, not "no results".
fn unreachable_report(options: &RunOptions, deadline_scale: f64, sut: &Sut<'_>, error: &RunError) -> RunReport {
    let result = ScenarioResult {
        id: "preflight/system-under-test-answers".to_owned(),
        title: "The system under test answers on every endpoint it was given".to_owned(),
        file: "(the suite's preflight check)".to_owned(),
        profiles: Vec::new(),
        verdict: Verdict::Error,
        reason: Some(format!("No scenario ran: {}", mock_glase::errors::error_chain(error))),
        duration: Duration::ZERO,
        failures: Vec::new(),
        findings: Vec::new(),
        covers: Vec::new(),
        journal: Vec::new(),
    };
    let mut report = RunReport {
        suite_version: crate::SUITE_VERSION.to_owned(),
        suite_commit: crate::SUITE_COMMIT.to_owned(),
        system: Identity::default(),
        started_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        duration: Duration::ZERO,
        target: String::new(),
        profile: options.profile.map_or("all", |p| p.as_str()).to_owned(),
        strict: options.strict,
        seed: options.seed,
        conditions: options.conditions(deadline_scale),
        rules: rules::catalog(),
        results: vec![result],
    };
    sut.stamp(&mut report);
    report
}

/// Runs with the live terminal reporter.
pub(super) async fn execute(
    harness: &Harness,
    scenarios: &[Scenario],
    options: &RunOptions,
    http: &reqwest::Client,
    output: &Output,
) -> RunReport {
    let profile = options.profile.map(|p| p.as_str());
    let mut terminal = TerminalReporter::new(output.verbose).for_profile(profile);
    let mut on_event = |event: &RunEvent| terminal.on_event(event);
    runner::run_with_jobs(harness, scenarios, options, output.jobs, http, &mut on_event).await
}

/// Prints the summary, writes the reports and the evidence bundle, picks the exit code.
pub(super) fn finish(report: &RunReport, evidence: &Evidence, output: &Output) -> Exit {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = report::print_summary(report, &mut out);
    if let Err(error) = std::fs::create_dir_all(&output.out) {
        eprintln!("error: cannot create {}: {error}", output.out.display());
        return Exit::Usage;
    }
    type Writer = fn(&RunReport, &Path) -> std::io::Result<()>;
    let writers: [(&str, Writer); 3] =
        [("report.json", report::write_json), ("junit.xml", report::write_junit), ("report.html", report::write_html)];
    let mut written = Vec::new();
    for (name, write) in writers {
        let path = output.out.join(name);
        match write(report, &path) {
            Ok(()) => written.push(path),
            Err(error) => eprintln!("error: cannot write {}: {error}", path.display()),
        }
    }
    let bundle = output.out.join("evidence");
    match report::write_evidence(report, evidence, &bundle) {
        Ok(()) => written.push(bundle),
        Err(error) => eprintln!("error: cannot write the evidence bundle {}: {error}", bundle.display()),
    }
    let _ = writeln!(out, "Reports:");
    for path in &written {
        let _ = writeln!(out, "  {}", path.display());
    }
    let _ = out.flush();
    if written.len() < writers.len() + 1 {
        Exit::Usage
    } else if report.passed() {
        Exit::Passed
    } else {
        Exit::Failed
    }
}

fn is_sut_soap(entry: &mock_glase::journal::Entry) -> bool {
    matches!(entry.record, mock_glase::journal::Record::SoapRequest { .. })
}

/// `--jobs N`: at least 1.
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(jobs) if jobs >= 1 => Ok(jobs),
        _ => Err(format!("{text:?} is not a number of scenarios to run at once (1 or more)")),
    }
}
