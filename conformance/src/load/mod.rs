//! `glase-conformance load`: realistic load with invariant checks over the whole run.
//!
//! N simulated customers across M machines (and webshop checkouts) drive complete flows
//! against a reseller (by default the reference reseller, in-process) through the
//! embedded mock, or through a mock-glase elsewhere (`--glase-url`); afterwards, once
//! the system has settled, invariants are checked over the mock's whole journal and
//! state and the reseller's machines. `--shard I/N` makes this process one of N that
//! load one backend together; `load merge` makes their reports one.
//!
//! # Layout
//! - [`options`]: the flow mix, the pace, when to stop (pure); choices are drawn from
//!   `crate::rng`, seeded per flow; [`shard`]: a shard's share (pure).
//! - [`target`]: the mock (served by [`timing`], which times every SOAP operation) and
//!   the reseller; the customers and machines. [`glase`]: the mock as the flows use it,
//!   in-process or over its control API ([`remote`]).
//! - [`workload`]: one flow, step by step, through `crate::drivers` (the machine and
//!   shop drivers) and the mock.
//! - [`schedule`]: pools of customers and machines, closed or open loop.
//! - [`follow`] + [`facts`] + [`ledger`]: the journal read as it is written, reduced to
//!   facts and folded per invoice; [`evidence`]: what the checks look at, written by a
//!   shard and merged; [`invariants`]: the checks (pure).
//! - [`stats`]: histograms and counters; [`progress`]: the live line; [`report`]: the
//!   terminal summary and `load-report.json`; [`merge`]: `load merge`.

mod evidence;
mod facts;
mod follow;
mod glase;
mod invariants;
mod ledger;
mod merge;
mod options;
mod progress;
mod remote;
mod report;
mod schedule;
pub mod shard;
mod stats;
mod target;
mod timing;
mod workload;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::command::{Exit, fail_start, time_seed};
use crate::runner;
use crate::system::{System, SystemArgs};
use glase::Glase;
use options::{DEFAULT_MIX, FlowKind, Mix, Pace, Plan, Stop};
use report::Window;
use report::{Conditions, Flows, JournalView, LoadReport, PlanView};
use schedule::Run;
use shard::Shard;
use stats::Stats;
use target::TargetOptions;
use workload::World;

pub const EXAMPLES: &str = "\
Examples:
  # 15 s of load against the built-in reference reseller, with the default mix
  glase-conformance load

  # The target run: 60 s, 32 flows in flight, load-report.json into load-reports/
  glase-conformance load --duration 60s --concurrency 32 --out load-reports

  # Open loop: 500 flows per second whatever the latency; only purchases and cancels
  glase-conformance load --rate 500/s --mix success=95,cancel=5 --webshop 0

  # Prove the checks bite: a reference reseller that commits more than was reserved
  glase-conformance load --flows 200 --fault commit-more-than-reserved

  # Your reseller (its Glase URL set to http://127.0.0.1:7070/extclientproxy/service/v2)
  glase-conformance load --create-purchase-url http://127.0.0.1:8000/seqr/createPurchase \\
      --machine-driver http://127.0.0.1:8000 --shop-driver http://127.0.0.1:8000 --machines 20

  # Shard 0 of 4 processes loading your backend through one shared mock-glase; each
  # shard runs the same command with its own I, then one merge makes the whole report
  glase-conformance load --glase-url http://mock-glase:7070 --shard 0/4 --seed 42 --out shard-0 \\
      --create-purchase-url http://backend:8000/seqr/createPurchase --machine-driver http://backend:8000
  glase-conformance load merge shard-0 shard-1 shard-2 shard-3 --out merged

Exit codes: 0 every invariant held, 1 an invariant was violated (or no flow completed),
2 usage/configuration error, 3 the system under test is unreachable.";

/// The examples `load merge --help` prints.
pub const MERGE_EXAMPLES: &str = merge::EXAMPLES;

/// `glase-conformance load`, or `load merge`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LoadCommand {
    #[command(subcommand)]
    pub action: Option<LoadAction>,
    #[command(flatten)]
    pub args: LoadArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum LoadAction {
    /// Merge the reports of the shards of one load (`load --shard I/N --out DIR` each)
    /// into the report of the whole: histograms merged, invariants checked again over
    /// every shard's journal evidence together.
    #[command(after_help = merge::EXAMPLES)]
    Merge(merge::MergeArgs),
}

/// Runs `glase-conformance load` or `load merge`.
pub async fn command(command: LoadCommand) -> Exit {
    match command.action {
        Some(LoadAction::Merge(args)) => merge::main(&args),
        None => main(command.args).await,
    }
}

/// Options of `glase-conformance load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Simulated customers (each in one flow at a time).
    #[arg(long, value_name = "N", default_value_t = 400)]
    pub customers: usize,
    /// Vending machines used (one customer at a time each; others queue). A walk-away
    /// holds its machine until the reseller's idle timeout releases it.
    #[arg(long, value_name = "M", default_value_t = 200)]
    pub machines: usize,
    /// Start flows for this long (default 15s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, conflicts_with = "flows")]
    pub duration: Option<Duration>,
    /// Start exactly this many flows instead of running for a duration.
    #[arg(long, value_name = "K")]
    pub flows: Option<u64>,
    /// Closed loop: keep this many flows in flight (default 32).
    #[arg(long, value_name = "C", conflicts_with = "rate")]
    pub concurrency: Option<usize>,
    /// Open loop: start this many flows per second, e.g. `500/s`.
    #[arg(long, value_name = "R/s", value_parser = options::parse_rate)]
    pub rate: Option<f64>,
    /// Weights of the unattended flows: success, cancel, walk-away, wrong-pin, error.
    #[arg(long, value_name = "MIX", default_value = DEFAULT_MIX)]
    pub mix: String,
    /// Percent of all flows that are webshop checkouts instead.
    #[arg(long, value_name = "PERCENT", default_value_t = 10)]
    pub webshop: u32,
    /// Seed of the flow choices and the mock's references (default: the time).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write load-report.json into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Multiply Glase-side deadlines (the 20 s status rule, the reservation timeout).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub deadline_scale: f64,
    /// After the last flow, at most how long the system may take to settle (idle timers,
    /// retries) before the invariants are checked [default: the idle timeout plus the
    /// status deadline and 5 s, at least 10 s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub drain: Option<Duration>,
    /// The reservation amount the app offers at each scan.
    #[arg(long, value_name = "AMOUNT", default_value = "20.00")]
    pub amount: Decimal,
    /// What each webshop checkout buys (a SKU of the shop's catalogue).
    #[arg(long, value_name = "SKU", default_value = "cable")]
    pub shop_item: String,
    /// Your system (its URLs: load it instead of the in-process reference reseller),
    /// its idle timeout, how to start it; as for `run`.
    #[command(flatten)]
    pub system: SystemArgs,
    /// Wait at most this long for the reseller to unlock or release a machine, for a
    /// free machine, or for an order to be paid [default: the status deadline plus two
    /// idle timeouts and 5 s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub patience: Option<Duration>,
    /// In-process reference reseller only: one of its deliberate faults (repeatable).
    #[arg(long, value_enum, value_name = "FAULT")]
    pub fault: Vec<crate::builtin::Fault>,
    /// Use a mock-glase already running (its base URL, e.g. http://mock-glase:7070)
    /// instead of the embedded one: customers act through its control API and the
    /// journal is read from it. Needed to split a load over processes (`--shard`).
    #[arg(long, value_name = "URL", env = "GLASE_CONFORMANCE_GLASE_URL")]
    pub glase_url: Option<String>,
    /// The control token of the mock at --glase-url, if it has one.
    #[arg(long, value_name = "TOKEN", env = "GLASE_CONFORMANCE_GLASE_TOKEN", hide_env_values = true)]
    pub glase_token: Option<String>,
    /// Be shard I of N load processes against one backend and one mock (--glase-url):
    /// a disjoint share of the machines, customers 4670… numbered apart, seeds of its
    /// own; writes the evidence `load merge` needs into --out. I counts from 0, as a
    /// Kubernetes Indexed Job numbers its pods.
    #[arg(long, value_name = "I/N", value_parser = shard::Shard::parse, env = "GLASE_CONFORMANCE_SHARD")]
    pub shard: Option<shard::Shard>,
}

/// The in-process reference reseller's idle timeout unless --idle-timeout says otherwise.
const BUILTIN_IDLE_TIMEOUT: Duration = Duration::from_secs(1);
/// An external system's idle timeout unless declared (the reference reseller's default).
const EXTERNAL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `glase-conformance load`.
pub async fn main(args: LoadArgs) -> Exit {
    let (mut plan, external) = match resolve(&args) {
        Ok(resolved) => resolved,
        Err(problems) => {
            for problem in problems {
                eprintln!("error: {problem}");
            }
            return Exit::Usage;
        }
    };
    if external.is_none() && !cfg!(feature = "reference-reseller") {
        eprintln!("error: load: {}", crate::builtin::ABSENT);
        return Exit::Usage;
    }
    // A config file shared with `run` may name a till; load has no till flows yet.
    if let Some(url) = external.as_ref().and_then(|s| s.target.pos_driver.as_deref()) {
        eprintln!("note: load drives machines and the webshop; the point-of-sale driver {url} is not used");
    }
    let http = match runner::http_client() {
        Ok(http) => http,
        Err(error) => return fail_start(&error),
    };
    let stats = Arc::new(Stats::default());
    let load_before = report::load_average();
    let idle_timeout = idle_timeout_of(&args, external.as_ref());
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let target_options = target_options(&args, &plan, external, idle_timeout);
    let system = match target::start(&target_options, stats.clone(), &http).await {
        Ok(system) => system,
        Err(error) => return fail_start(&error),
    };
    if let Some(missing) = missing_driver(&plan, &system) {
        eprintln!("error: {missing}");
        return Exit::Usage;
    }
    if target_options.external.is_some() || args.glase_url.is_some() {
        eprintln!("Glase (mock) for the system under test: {}", system.soap_url);
    }
    // The machines really found, not the ones asked for.
    if system.machine_driver.is_some() {
        plan.machines = system.machines.len();
    }
    // Waits sized to the system's own timers: a walk-away holds its machine for the idle
    // timeout, then the release needs the status fetch.
    let status_deadline = system.glase.status_deadline();
    let patience = args.patience.unwrap_or(status_deadline + idle_timeout * 2 + Duration::from_secs(5));
    plan.drain = args.drain.unwrap_or((idle_timeout + status_deadline + Duration::from_secs(5)).max(DRAIN_AT_LEAST));
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let of_shards = args.shard.map_or(String::new(), |shard| format!("shard {shard}: "));
    eprintln!(
        "Load: {of_shards}{} against {} (idle timeout {}, patience {})",
        describe_plan(&plan),
        system.description,
        humantime::format_duration(idle_timeout),
        humantime::format_duration(patience)
    );
    let world = world(&args, &system, &stats, patience);
    let follower = match follow::Follower::start(&system.glase, args.shard.is_some()).await {
        Ok(follower) => follower,
        Err(why) => return fail_start(&runner::RunError::Config(format!("cannot read the mock's journal: {why}"))),
    };
    let run = Arc::new(Run::new(world, plan.clone(), system.customers.clone(), system.machines.clone()));
    let (window, elapsed, cpu, machines) = drive_and_drain(&run, &plan, &stats, &system, &follower).await;
    let (ledger, journal, trouble) = follower.finish().await;
    if let Some(why) = trouble {
        stats.error(format!("journal: could not be read at times ({why})"));
    }
    let evidence = evidence::Evidence::of_run(&run, ledger, journal, machines, shard);
    let violations = check_run(&system, &evidence);
    let skipped: Vec<&'static str> = if system.machine_driver.is_none() { vec!["MACHINE-RELEASED"] } else { vec![] };
    let journal = JournalView { stats: evidence.journal, read: evidence.ledger.entries };
    let measured = Measured { started_at, window, elapsed, load_before, cpu };
    let report = build_report(&args, &plan, &stats, &system.description, measured, &violations, &skipped, journal);
    drop(system);
    let exit = report::deliver(&report, args.out.as_deref());
    match (args.shard, args.out.as_deref()) {
        (Some(_), Some(dir)) => write_evidence(&evidence, dir).unwrap_or(exit),
        _ => exit,
    }
}

/// Where and how the system under load runs, from the arguments.
fn target_options(args: &LoadArgs, plan: &Plan, external: Option<System>, idle_timeout: Duration) -> TargetOptions {
    TargetOptions {
        external,
        deadline_scale: args.deadline_scale,
        seed: plan.seed,
        faults: args.fault.clone(),
        machines: plan.machines,
        customers: plan.customers,
        idle_timeout,
        system_log: args.out.clone().unwrap_or_else(std::env::temp_dir).join("system-under-test.log"),
        glase_url: args.glase_url.clone(),
        glase_token: args.glase_token.clone(),
        glase_wait: args.system.wait_for.unwrap_or(Duration::ZERO),
        shard: args.shard.unwrap_or(Shard::WHOLE),
    }
}

/// A shard's evidence for `load merge`, beside its report; the exit when it cannot be
/// written (the shard is then useless to the merge).
fn write_evidence(evidence: &evidence::Evidence, dir: &std::path::Path) -> Option<Exit> {
    match evidence.write(dir) {
        Ok(path) => {
            println!("Evidence for `load merge`: {}", path.display());
            None
        }
        Err(error) => {
            eprintln!("error: cannot write the evidence into {}: {error}", dir.display());
            Some(Exit::Usage)
        }
    }
}

/// What the flows share: the system, the counters, and what they buy.
fn world(args: &LoadArgs, system: &target::System, stats: &Arc<Stats>, patience: Duration) -> World {
    World {
        glase: system.glase.clone(),
        machine_driver: system.machine_driver.clone(),
        shop_driver: system.shop_driver.clone(),
        stats: stats.clone(),
        vends: Mutex::new(Vec::new()),
        handed: workload::Handed::default(),
        amount: args.amount,
        shop_items: vec![(args.shop_item.clone(), 1)],
        patience,
    }
}

/// Drives the flows with a live progress line, then lets the system settle for at most
/// the drain: when the flows ran and how long they took, the CPU seconds they cost, and
/// the final state of every machine used.
async fn drive_and_drain(
    run: &Arc<Run>,
    plan: &Plan,
    stats: &Arc<Stats>,
    system: &target::System,
    follower: &follow::Follower,
) -> (Window, Duration, Option<f64>, Vec<(String, String)>) {
    let used: Vec<String> = system.machines.iter().map(|m| m.token.clone()).collect();
    let live = progress::Live::start(plan.stop, stats.clone());
    let cpu_before = report::cpu_seconds();
    let window = Window::open();
    let elapsed = schedule::drive(run.clone()).await;
    let window = window.close();
    let cpu = report::cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    live.finish();
    eprintln!(
        "Flows done in {:.1} s; letting the system settle (at most {})…",
        elapsed.as_secs_f64(),
        humantime::format_duration(plan.drain)
    );
    let drain_started = Instant::now();
    schedule::drain_releases(run, plan.drain).await;
    let left = plan.drain.saturating_sub(drain_started.elapsed());
    let machines = settle(system, run, follower, &used, left).await;
    (window, elapsed, cpu, machines)
}

/// The system's idle timeout: declared, or the built-in reseller's, or (said once) the
/// reference reseller's default for an external system that did not declare one.
fn idle_timeout_of(args: &LoadArgs, external: Option<&System>) -> Duration {
    match external.map(|s| s.timers.idle_timeout) {
        None => args.system.idle_timeout.unwrap_or(BUILTIN_IDLE_TIMEOUT),
        Some(Some(declared)) => declared,
        Some(None) => {
            eprintln!(
                "note: assuming your idle timeout is {} (declare it with --idle-timeout): walk-aways hold a \
                 machine that long",
                humantime::format_duration(EXTERNAL_IDLE_TIMEOUT)
            );
            EXTERNAL_IDLE_TIMEOUT
        }
    }
}

/// What the mix needs that the system does not offer, as the usage error to print.
fn missing_driver(plan: &Plan, system: &target::System) -> Option<&'static str> {
    if plan.mix.includes(FlowKind::Webshop) && system.shop_driver.is_none() {
        return Some("webshop flows need --shop-driver (or --webshop 0)");
    }
    if FlowKind::UNATTENDED.iter().any(|k| plan.mix.includes(*k)) && system.machine_driver.is_none() {
        return Some("unattended flows need --machine-driver (or --webshop 100)");
    }
    None
}

/// The invariants over everything the run saw: the followed journal, the invoices as
/// they ended, the vends, the machines' final states and the invoices handed out. A
/// mock shared with others (`--glase-url`) is judged on this run's invoices only: those
/// it handed to its customers or dispensed for; `load merge` judges the shards' whole.
fn check_run(system: &target::System, evidence: &evidence::Evidence) -> Vec<invariants::Violation> {
    match &system.glase {
        Glase::Local(mock) => evidence.check(&mock.invoice_outcomes(runner::MERCHANT), None),
        Glase::Remote(_) => evidence.check(&[], Some(&evidence.own_invoices())),
    }
}

/// The shortest drain: enough for notification retries and in-flight calls.
const DRAIN_AT_LEAST: Duration = Duration::from_secs(10);

/// The plan and the external system from the arguments, or every problem.
fn resolve(args: &LoadArgs) -> Result<(Plan, Option<System>), Vec<String>> {
    let mut problems = Vec::new();
    let system = args.system.resolve().map_err(|e| problems.push(e.0)).ok();
    let mix = Mix::parse(&args.mix, args.webshop).map_err(|p| problems.push(p)).ok();
    let stop = match (args.duration, args.flows) {
        (_, Some(flows)) => Stop::Flows(flows),
        (Some(duration), None) => Stop::After(duration),
        (None, None) => Stop::After(Duration::from_secs(15)),
    };
    let pace = match (args.rate, args.concurrency) {
        (Some(rate), _) => Pace::Rate(rate),
        (None, concurrency) => Pace::Concurrency(concurrency.unwrap_or(32)),
    };
    let is_external = system.as_ref().is_some_and(System::has_target);
    if is_external && !args.fault.is_empty() {
        problems.push(
            "--fault switches on faults of the in-process reference reseller; not with an external one".to_owned(),
        );
    }
    if args.amount <= Decimal::ZERO {
        problems.push("--amount must be positive".to_owned());
    }
    problems.extend(remote_problems(args, is_external));
    let Some(mix) = mix else { return Err(problems) };
    let plan = Plan {
        customers: args.customers,
        machines: args.machines,
        stop,
        pace,
        mix,
        seed: args.seed.unwrap_or_else(time_seed),
        shard: args.shard.unwrap_or(Shard::WHOLE),
        drain: args.drain.unwrap_or(DRAIN_AT_LEAST),
    };
    problems.extend(plan.problems());
    if problems.is_empty() { Ok((plan, system.filter(|_| is_external))) } else { Err(problems) }
}

/// What `--glase-url` and `--shard` need, and what they rule out.
fn remote_problems(args: &LoadArgs, is_external: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if args.glase_url.is_some() {
        if args.system.glase_listen.is_some() {
            problems.push("--glase-listen serves the embedded mock; with --glase-url there is none".to_owned());
        }
        if args.deadline_scale != 1.0 {
            problems.push(
                "--deadline-scale scales the embedded mock; set it on the mock at --glase-url (its config)".to_owned(),
            );
        }
    }
    let Some(shard) = args.shard else { return problems };
    if args.glase_url.is_none() {
        problems.push(format!(
            "--shard {shard}: shards share one mock, so give its URL with --glase-url (start one with `mock-glase serve`)"
        ));
    }
    if !shard.is_whole() && !is_external {
        problems.push(format!(
            "--shard {shard}: shards load one backend together; name it (--create-purchase-url, --machine-driver, \
             …), an in-process reference reseller per shard would not be one"
        ));
    }
    if args.out.is_none() {
        problems.push(format!("--shard {shard}: give --out DIR, where `load merge` finds this shard's report"));
    }
    if !shard.is_whole() && args.seed.is_none() {
        problems.push(format!(
            "--shard {shard}: give every shard the same --seed (each derives its own from it, and `load merge` \
             takes a shared seed for one load)"
        ));
    }
    if !shard.customers_fit(args.customers) {
        problems.push(format!(
            "--customers {} times {} shards is more than the {} msisdns customers are numbered in",
            args.customers,
            shard.count,
            shard::CUSTOMER_NUMBERS
        ));
    }
    problems
}

fn describe_plan(plan: &Plan) -> String {
    format!(
        "{} customers, {} machines, {}, {}",
        plan.customers,
        plan.machines,
        describe_stop(plan.stop),
        describe_pace(plan.pace)
    )
}

fn describe_stop(stop: Stop) -> String {
    match stop {
        Stop::After(duration) => format!("for {}", humantime::format_duration(duration)),
        Stop::Flows(count) => format!("{count} flows"),
    }
}

fn describe_pace(pace: Pace) -> String {
    match pace {
        Pace::Concurrency(c) => format!("{c} in flight"),
        Pace::Rate(r) => format!("{r}/s started"),
    }
}

/// Waits (at most `limit`) until every used machine is idle and every invoice is
/// final (of a shared mock: every invoice this run handed out); returns the machines'
/// last states.
async fn settle(
    system: &target::System,
    run: &Run,
    follower: &follow::Follower,
    used: &[String],
    limit: Duration,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let machines = machine_states(system, used).await;
        let open = match &system.glase {
            Glase::Local(mock) => mock.open_invoices(),
            Glase::Remote(_) => {
                let handed = run.world.handed.all();
                follower.peek(|ledger| handed.iter().filter(|r| !ledger.is_final(r)).count())
            }
        };
        let busy = machines.iter().filter(|(_, s)| !matches!(s.as_str(), "idle" | "out-of-service")).count();
        if (open == 0 && busy == 0) || Instant::now() >= deadline {
            return machines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (token, state) of the used machines, from the machine driver.
async fn machine_states(system: &target::System, used: &[String]) -> Vec<(String, String)> {
    let Some(driver) = &system.machine_driver else { return Vec::new() };
    let listed = match driver.machines().await {
        Ok(answer) if answer.status == 200 => {
            answer.body.get("machines").and_then(Value::as_array).cloned().unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let states: HashMap<&str, &str> =
        listed.iter().filter_map(|m| Some((m.get("token")?.as_str()?, m.get("state")?.as_str()?))).collect();
    used.iter()
        .map(|token| {
            (token.clone(), states.get(token.as_str()).map_or("unknown (the driver did not list it)", |s| s).to_owned())
        })
        .collect()
}

/// What was measured around the flows.
#[derive(Debug)]
struct Measured {
    started_at: String,
    window: Window,
    elapsed: Duration,
    load_before: Option<String>,
    cpu: Option<f64>,
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    args: &LoadArgs,
    plan: &Plan,
    stats: &Stats,
    target: &str,
    measured: Measured,
    violations: &[invariants::Violation],
    skipped: &[&'static str],
    journal: JournalView,
) -> LoadReport {
    let seconds = measured.elapsed.as_secs_f64().max(0.001);
    let flows = Flows::of(stats, seconds);
    let completed = flows.completed;
    let invariants = report::invariant_results(violations, skipped);
    let passed = violations.is_empty() && completed > 0;
    LoadReport {
        target: target.to_owned(),
        started_at: measured.started_at,
        window: measured.window,
        shard: args.shard,
        merged_from: Vec::new(),
        notes: Vec::new(),
        conditions: Conditions {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_before: measured.load_before,
            load_after: report::load_average(),
            peak_rss_mb: report::peak_rss_mb(),
            cpu_seconds: measured.cpu,
            cpu_ms_per_flow: measured.cpu.filter(|_| completed > 0).map(|cpu| cpu * 1000.0 / completed as f64),
            build: if cfg!(debug_assertions) { "debug" } else { "release" },
        },
        plan: PlanView {
            customers: plan.customers,
            machines: plan.machines,
            stop: describe_stop(plan.stop),
            pace: describe_pace(plan.pace),
            mix: plan.mix.to_string(),
            seed: plan.seed,
            deadline_scale: args.deadline_scale,
            drain_s: plan.drain.as_secs_f64(),
        },
        elapsed_s: seconds,
        flows,
        latencies: stats.latency_rows(),
        // Only a shard's report is merged: the common report stays small.
        histograms: if args.shard.is_some() { stats.histograms() } else { Vec::new() },
        errors: stats.errors(),
        invariants,
        journal,
        passed,
    }
}
