//! `glase-conformance`: the command line. Glue only (STYLE section 1): parse the
//! arguments, resolve them into the runner's options, load scenarios, run, report.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::demo::{DEMO_DEADLINE_SCALE, ReferenceReseller};
use crate::model::{RunEvent, RunReport};
use crate::report::{self, Evidence, Reporter, TerminalReporter};
use crate::rules;
use crate::runner::{self, Harness, RunError, RunOptions, Target};
use crate::scenario::fixtures::{self, FixtureKind};
use crate::scenario::{self, FixtureError, Fixtures, LoadError, Problem, Profile, Scenario, Source};

/// Named exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every scenario passed (or was skipped).
    Passed = 0,
    /// A scenario failed: a step did not hold or a rule was broken.
    Failed = 1,
    /// Bad arguments, configuration or scenario files.
    Usage = 2,
    /// The system under test could not be reached.
    Unreachable = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

const EXAMPLES: &str = "\
Examples:
  # Try it: the whole suite against the built-in reference reseller
  glase-conformance demo

  # ... and what a failure looks like: the reference reseller with a deliberate fault
  glase-conformance demo --fault skip-status-fetch --only unattended/happy-path

  # Your vending backend: configure its Glase URL as http://127.0.0.1:7070/extclientproxy/service/v2
  glase-conformance run --create-purchase-url http://127.0.0.1:8000/seqr/createPurchase \\
      --machine-driver http://127.0.0.1:8000 --profile unattended

  # Your webshop, strict (SHOULD findings fail too), reports into ci-reports/
  glase-conformance run --shop-driver http://127.0.0.1:8000 --profile webshop --strict --out ci-reports

  # Your own scenarios next to the built-in ones
  glase-conformance run --create-purchase-url URL --scenarios builtin --scenarios ./my-scenarios

  # What would run, and every rule; then what one rule means
  glase-conformance list
  glase-conformance explain UPS-STATUS-BEFORE-UNLOCK

  # Random sequences against the reference reseller; with a fault, a shrunk failure and its replay
  glase-conformance explore
  glase-conformance explore --fault no-release-on-cancel

Exit codes: 0 passed, 1 a scenario failed, 2 usage/configuration/scenario file error,
3 the system under test is unreachable.";

/// Scenario-driven black-box conformance suite for Glase resellers and webshops.
///
/// Embeds a mock of Glase (the SOAP Payment API, the Unattended Payments Service and the
/// customer app), drives your system through it and its test drivers, checks every rule
/// of the protocol over the messages exchanged, and writes terminal, JSON, JUnit and HTML
/// reports.
#[derive(Debug, Parser)]
#[command(name = "glase-conformance", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the suite against your system (it must call the embedded mock as its Glase).
    Run(RunArgs),
    /// Run the whole suite against the built-in reference reseller and write all reports.
    Demo(DemoArgs),
    /// List the scenarios (validating every scenario file) and the rules; runs nothing.
    List(ListArgs),
    /// Explain one rule: what it demands, where it comes from, how it is checked.
    Explain {
        /// A rule id, e.g. UPS-STATUS-BEFORE-UNLOCK (see `list`).
        rule: String,
    },
    /// Realistic load: many customers across many machines (and webshop checkouts),
    /// latency percentiles for both sides, and invariants checked over the whole run.
    #[command(after_help = crate::load::EXAMPLES)]
    Load(crate::load::LoadArgs),
    /// Model-based exploration: random action sequences, checked, shrunk and replayable.
    ///
    /// Random sequences of customer actions (scan, confirm, wrong PIN, cancel, walk
    /// away), machine vends, concurrent scans and Glase faults, checked against a model
    /// of what the reseller must do and against the rules; a failing run is shrunk to a
    /// minimal sequence and printed with the command that replays it.
    #[command(after_help = crate::explore::EXAMPLES)]
    Explore(crate::explore::ExploreArgs),
}

/// Which scenarios.
#[derive(Debug, Args)]
pub struct Selection {
    /// A directory of scenario files (repeatable). `builtin` is the library compiled
    /// into this binary, which is also the default.
    #[arg(long = "scenarios", value_name = "DIR")]
    pub scenarios: Vec<PathBuf>,
    /// Run only scenarios whose id starts with this (repeatable), e.g. `unattended/`.
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
    /// Which integration to test; scenarios of other profiles are skipped.
    #[arg(long, value_enum, default_value_t = ProfileArg::All)]
    pub profile: ProfileArg,
    /// Your test build's name for a machine, SKU or shop item the scenarios use
    /// (repeatable), e.g. `--fixture machine-1=vm-17 --fixture cola=sku-123`.
    #[arg(long = "fixture", value_name = "NAME=VALUE", value_parser = fixtures::parse_fixture)]
    pub fixture: Vec<(String, String)>,
    /// A YAML map of such names (`machine-1: vm-17`, one a line); `--fixture` wins.
    #[arg(long = "fixtures", value_name = "FILE")]
    pub fixtures_file: Option<PathBuf>,
}

impl Selection {
    /// The fixture map: the file's, then the command line's.
    fn fixtures(&self) -> Result<Fixtures, FixtureError> {
        let mut fixtures = match &self.fixtures_file {
            Some(path) => Fixtures::from_yaml_file(path)?,
            None => Fixtures::default(),
        };
        fixtures.override_with(Fixtures::from_pairs(self.fixture.iter().cloned())?);
        Ok(fixtures)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    Unattended,
    Webshop,
    Pos,
    All,
}

impl ProfileArg {
    fn profile(self) -> Option<Profile> {
        match self {
            Self::Unattended => Some(Profile::Unattended),
            Self::Webshop => Some(Profile::Webshop),
            Self::Pos => Some(Profile::Pos),
            Self::All => None,
        }
    }
}

/// How to report.
#[derive(Debug, Args)]
pub struct Output {
    /// Where report.json, junit.xml, report.html and the evidence/ bundle go.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// SHOULD findings fail the run too.
    #[arg(long)]
    pub strict: bool,
    /// More detail as scenarios finish: the messages exchanged, with the evidence marked.
    #[arg(long, short)]
    pub verbose: bool,
    /// Seed for the mock's references (default: the time), to replay a run.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Wait at most this long for anything a scenario expects (caps every `within`,
    /// e.g. 10s to fail fast instead of waiting for a long idle timeout).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub patience: Option<std::time::Duration>,
    /// Run up to N scenarios at once. Only scenarios on different machines run side by
    /// side; those that change Glase for everyone (faults, the clock, the deadline
    /// scale, closing the period) run alone. 1: one after another.
    #[arg(long, short, value_name = "N", default_value_t = runner::DEFAULT_JOBS, value_parser = parse_jobs)]
    pub jobs: usize,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Your createPurchase endpoint (ends with createPurchase); needed by scenarios
    /// that scan a machine.
    #[arg(long, value_name = "URL")]
    pub create_purchase_url: Option<String>,
    /// Base URL of your machine driver (serves /driver/machines/…).
    #[arg(long, value_name = "URL")]
    pub machine_driver: Option<String>,
    /// Base URL of your shop driver (serves /driver/shop/…).
    #[arg(long, value_name = "URL")]
    pub shop_driver: Option<String>,
    /// Where the embedded Glase listens: your system's configured Glase address.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7070")]
    pub glase_listen: SocketAddr,
    /// Multiply Glase-side deadlines (0.05: the 20 s status rule in 1 s). Your system's
    /// own timers must fit inside the scaled deadlines.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub deadline_scale: f64,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Switch on one of the reference reseller's deliberate faults (repeatable), to see
    /// what a failing run looks like, e.g. `--fault skip-status-fetch`.
    #[arg(long, value_enum, value_name = "FAULT")]
    pub fault: Vec<reference_reseller::Fault>,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub selection: Selection,
}

/// Runs the parsed command line.
pub async fn main(cli: Cli) -> Exit {
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Demo(args) => demo(args).await,
        Command::List(args) => list(&args.selection),
        Command::Explain { rule } => explain(&rule),
        Command::Load(args) => crate::load::main(args).await,
        Command::Explore(args) => crate::explore::main(args).await,
    }
}

/// Loads the selected scenarios with the fixture map applied, or prints every problem.
pub fn load(selection: &Selection) -> Result<Vec<Scenario>, Exit> {
    load_mapped(selection).map(|(scenarios, _)| scenarios)
}

/// The fixture names the selected scenarios use: what each names, its effective value.
type FixtureTable = Vec<(String, BTreeSet<FixtureKind>, String)>;

/// [`load`], and the fixture table of the selected scenarios (for `list`).
fn load_mapped(selection: &Selection) -> Result<(Vec<Scenario>, FixtureTable), Exit> {
    let mut sources: Vec<Source> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    if selection.scenarios.is_empty() {
        sources.extend(scenario::embedded());
    }
    for dir in &selection.scenarios {
        if dir == Path::new("builtin") {
            sources.extend(scenario::embedded());
            continue;
        }
        match scenario::from_dir(dir) {
            Ok(found) => sources.extend(found),
            Err(problem) => problems.push(problem),
        }
    }
    let loaded = scenario::load(&sources, &|id| rules::rule(id).is_some());
    let mut scenarios = match loaded {
        Ok(scenarios) if problems.is_empty() => scenarios,
        Ok(_) => return Err(load_failed(&LoadError { problems })),
        Err(mut error) => {
            problems.append(&mut error.problems);
            return Err(load_failed(&LoadError { problems }));
        }
    };
    let chosen = |s: &Scenario| {
        selection.only.is_empty() || selection.only.iter().any(|prefix| s.id.starts_with(prefix.as_str()))
    };
    // Checked against every loaded scenario, so `--only` does not make a fixture unknown.
    let mapped = selection.fixtures().and_then(|map| {
        let used = fixtures::used(scenarios.iter().filter(|s| chosen(s)));
        fixtures::apply(&mut scenarios, &map)?;
        let table: FixtureTable = used
            .into_iter()
            .map(|(name, kinds)| {
                let value = map.get(&name).to_owned();
                (name, kinds, value)
            })
            .collect();
        Ok(table)
    });
    let table = match mapped {
        Ok(table) => table,
        Err(error) => {
            eprintln!("error: {error}");
            return Err(Exit::Usage);
        }
    };
    let selected: Vec<Scenario> = scenarios.into_iter().filter(|s| chosen(s)).collect();
    if selected.is_empty() {
        eprintln!("error: no scenario matches --only {}", selection.only.join(", "));
        return Err(Exit::Usage);
    }
    Ok((selected, table))
}

fn load_failed(error: &LoadError) -> Exit {
    eprintln!("error: {error}");
    Exit::Usage
}

async fn run(args: RunArgs) -> Exit {
    let scenarios = match load(&args.selection) {
        Ok(scenarios) => scenarios,
        Err(exit) => return exit,
    };
    let target = Target {
        create_purchase_url: args.create_purchase_url,
        machine_driver: args.machine_driver,
        shop_driver: args.shop_driver,
    };
    if target.create_purchase_url.is_none() && target.machine_driver.is_none() && target.shop_driver.is_none() {
        eprintln!("error: name the system under test: --create-purchase-url, --machine-driver and/or --shop-driver");
        return Exit::Usage;
    }
    let http = match runner::http_client() {
        Ok(http) => http,
        Err(error) => return fail_start(&error),
    };
    if let Err(error) = runner::preflight(&target, &http).await {
        return fail_start(&error);
    }
    let seed = args.output.seed.unwrap_or_else(time_seed);
    let harness = match Harness::start(args.glase_listen, args.deadline_scale, seed).await {
        Ok(harness) => harness,
        Err(error) => return fail_start(&error),
    };
    eprintln!("Glase (mock) for the system under test: {}", harness.soap_url());
    let options = RunOptions {
        target,
        profile: args.selection.profile.profile(),
        strict: args.output.strict,
        seed,
        patience: args.output.patience,
    };
    let report = execute(&harness, &scenarios, &options, &http, &args.output).await;
    let evidence = Evidence::collect(&harness, &scenarios, command_line());
    harness.shutdown().await;
    if report.results.iter().all(|r| r.journal.iter().all(|e| !is_sut_soap(e))) {
        eprintln!(
            "note: the system under test never called Glase. Is its Glase URL set to {}?",
            format_args!("http://{}/extclientproxy/service/v2", args.glase_listen)
        );
    }
    finish(&report, &evidence, &args.output)
}

async fn demo(args: DemoArgs) -> Exit {
    let scenarios = match load(&args.selection) {
        Ok(scenarios) => scenarios,
        Err(exit) => return exit,
    };
    let http = match runner::http_client() {
        Ok(http) => http,
        Err(error) => return fail_start(&error),
    };
    let seed = args.output.seed.unwrap_or_else(time_seed);
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let harness = match Harness::start(listen, DEMO_DEADLINE_SCALE, seed).await {
        Ok(harness) => harness,
        Err(error) => return fail_start(&error),
    };
    let reseller = match ReferenceReseller::start(&harness, &args.fault).await {
        Ok(reseller) => reseller,
        Err(error) => {
            eprintln!("error: cannot start the reference reseller: {error:#}");
            return Exit::Usage;
        }
    };
    eprintln!("Demo: the reference reseller at {} against the embedded Glase at {}", reseller.url, harness.soap_url());
    eprintln!("      (Glase-side deadlines scaled by {DEMO_DEADLINE_SCALE}: the 20 s status rule takes 1 s)");
    let target = reseller.target();
    if let Err(error) = runner::preflight(&target, &http).await {
        return fail_start(&error);
    }
    let options = RunOptions {
        target,
        profile: args.selection.profile.profile(),
        strict: args.output.strict,
        seed,
        patience: args.output.patience,
    };
    let report = execute(&harness, &scenarios, &options, &http, &args.output).await;
    let evidence = Evidence::collect(&harness, &scenarios, command_line());
    drop(reseller);
    harness.shutdown().await;
    finish(&report, &evidence, &args.output)
}

/// Runs with the live terminal reporter.
async fn execute(
    harness: &Harness,
    scenarios: &[Scenario],
    options: &RunOptions,
    http: &reqwest::Client,
    output: &Output,
) -> RunReport {
    let mut terminal = TerminalReporter::new(output.verbose);
    let mut on_event = |event: &RunEvent| terminal.on_event(event);
    runner::run_with_jobs(harness, scenarios, options, output.jobs, http, &mut on_event).await
}

/// Prints the summary, writes the reports and the evidence bundle, picks the exit code.
fn finish(report: &RunReport, evidence: &Evidence, output: &Output) -> Exit {
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

fn fail_start(error: &RunError) -> Exit {
    eprintln!("error: {:#}", anyhow::Error::from(clone_error(error)));
    match error {
        RunError::Unreachable { .. } => Exit::Unreachable,
        _ => Exit::Usage,
    }
}

/// `RunError` holds an `io::Error`; rebuild it for anyhow's chain printing.
fn clone_error(error: &RunError) -> RunError {
    match error {
        RunError::Bind { addr, source } => {
            RunError::Bind { addr: *addr, source: std::io::Error::new(source.kind(), source.to_string()) }
        }
        RunError::Config(text) => RunError::Config(text.clone()),
        RunError::Unreachable { what, url, reason } => {
            RunError::Unreachable { what, url: url.clone(), reason: reason.clone() }
        }
    }
}

fn is_sut_soap(entry: &mock_glase::journal::Entry) -> bool {
    matches!(entry.record, mock_glase::journal::Record::SoapRequest { .. })
}

/// The command line as given (for the evidence bundle).
fn command_line() -> Vec<String> {
    std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()).collect()
}

/// `--jobs N`: at least 1.
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(jobs) if jobs >= 1 => Ok(jobs),
        _ => Err(format!("{text:?} is not a number of scenarios to run at once (1 or more)")),
    }
}

/// A seed from the clock, for runs given none (always printed, so a run can be replayed).
pub(crate) fn time_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn list(selection: &Selection) -> Exit {
    let (scenarios, fixture_table) = match load_mapped(selection) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let profile = selection.profile.profile();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let shown: Vec<&Scenario> = scenarios.iter().filter(|s| s.in_profile(profile)).collect();
    let _ = writeln!(out, "Scenarios ({}):", shown.len());
    let width = shown.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for s in &shown {
        let profiles: Vec<&str> = s.profiles.iter().map(|p| p.as_str()).collect();
        let mut needs: Vec<&str> = s.requires.iter().map(|d| d.as_str()).collect();
        if s.steps.iter().any(|st| matches!(st.value, scenario::Step::Scan { .. } | scenario::Step::Race { .. })) {
            needs.insert(0, "createPurchase");
        }
        let _ = writeln!(
            out,
            "  {:width$}  {}  [{}{}{}]",
            s.id,
            s.title,
            profiles.join(","),
            if needs.is_empty() { "" } else { "; needs " },
            needs.join(", ")
        );
    }
    let _ = writeln!(out, "\nFixtures (as the scenarios name them, and in your test build; --fixture NAME=VALUE):");
    let width = fixture_table.iter().map(|(name, ..)| name.len()).max().unwrap_or(0);
    for (name, kinds, value) in &fixture_table {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let kinds = kinds.join(", ");
        let mark = if value == name { "  " } else { "->" };
        let _ = writeln!(out, "  {name:width$}  {kinds:17} {mark} {value}");
    }
    let catalog = rules::catalog();
    let _ = writeln!(out, "\nRules ({}):", catalog.len());
    let width = catalog.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for rule in &catalog {
        let level = match rule.level {
            crate::model::Level::Must => "MUST  ",
            crate::model::Level::Should => "SHOULD",
        };
        let _ = writeln!(out, "  {:width$}  {level}  §{:8} {}", rule.id, rule.spec_section, rule.summary);
    }
    let _ = writeln!(
        out,
        "\nAll {} scenario files are valid. `glase-conformance explain RULE` says more about a rule.",
        scenarios.len()
    );
    Exit::Passed
}

fn explain(id: &str) -> Exit {
    match rules::explain(id) {
        Some(text) => {
            println!("{text}");
            Exit::Passed
        }
        None => {
            let known: Vec<String> = rules::catalog().into_iter().map(|r| r.id).collect();
            let upper = id.to_ascii_uppercase();
            let near: Vec<&String> =
                known.iter().filter(|k| k.contains(&upper) || upper.contains(k.as_str())).collect();
            eprintln!("error: no rule {id:?}.");
            if !near.is_empty() {
                let near: Vec<&str> = near.iter().map(|s| s.as_str()).collect();
                eprintln!("did you mean: {}", near.join(", "));
            }
            eprintln!("`glase-conformance list` shows every rule.");
            Exit::Usage
        }
    }
}
