//! One exploration from the command line: start the embedded Glase, run the seeded
//! sequences one after another, shrink the first failure and print it with the command
//! that replays it.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mock_glase::errors::error_chain;

use super::action::{self, Action};
use super::args::ExploreArgs;
use super::execute::{self, ExecError, RunResult, Settings};
use super::model::Timing;
use super::model::human;
use super::report;
use super::shrink::{self, Oracle, Shrunk};
use super::sut::{BUILTIN_IDLE_TIMEOUT, System};
use crate::builtin::DEMO_DEADLINE_SCALE;
use crate::command::{Exit, fail_start, time_seed};
use crate::rng::run_seed;
use crate::runner::{self, Harness, Target};

/// An external system's idle timeout unless `--idle-timeout` says otherwise (the
/// reference reseller's default).
const EXTERNAL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `glase-conformance explore`.
pub async fn main(args: ExploreArgs) -> Exit {
    if args.list_faults {
        for fault in crate::builtin::Fault::ALL {
            println!("{:32} {}", fault.name(), fault.description());
        }
        return Exit::Passed;
    }
    let seed = args.seed.unwrap_or_else(time_seed);
    let declared = match args.system.resolve() {
        Ok(declared) => declared,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Usage;
        }
    };
    let target = &declared.target;
    if target.create_purchase_url.is_some() != target.machine_driver.is_some() {
        eprintln!("error: explore drives your machines: give both --create-purchase-url and --machine-driver");
        return Exit::Usage;
    }
    let builtin = !declared.has_target();
    if builtin && !cfg!(feature = "reference-reseller") {
        eprintln!("error: explore: {}", crate::builtin::ABSENT);
        return Exit::Usage;
    }
    // A config file shared with `run` may name a shop or a till; explore drives machines.
    if let Some(url) = &target.pos_driver {
        eprintln!("note: explore drives your machines; the point-of-sale driver {url} is not used");
    }
    if !builtin && !args.fault.is_empty() {
        eprintln!("error: --fault switches on the built-in reference reseller's faults; not with your system");
        return Exit::Usage;
    }
    let scale = args.deadline_scale.unwrap_or(if builtin { DEMO_DEADLINE_SCALE } else { 1.0 });
    let system = if builtin {
        System::Builtin { faults: args.fault.clone() }
    } else {
        System::External { target: Target { shop_driver: None, ..target.clone() } }
    };
    let http = match runner::http_client() {
        Ok(http) => http,
        Err(error) => return fail_start(&error),
    };
    let listen = if builtin { SocketAddr::from(([127, 0, 0, 1], 0)) } else { declared.glase_listen };
    let harness = match Harness::start(listen, scale, seed).await {
        Ok(harness) => harness,
        Err(error) => return fail_start(&error),
    };
    // Yours: started once Glase listens (--start), waited for (--wait-for).
    let _started = if builtin {
        None
    } else {
        let log = std::env::temp_dir().join(format!("glase-explore-{}-system.log", std::process::id()));
        match crate::system::launch(&declared, &harness.soap_url(), &log, &http).await {
            Ok(started) => started,
            Err(error) => {
                harness.shutdown().await;
                return fail_start(&error);
            }
        }
    };
    let declared_idle = declared.timers.idle_timeout;
    let idle_timeout = declared_idle.unwrap_or(if builtin { BUILTIN_IDLE_TIMEOUT } else { EXTERNAL_IDLE_TIMEOUT });
    let settings = Settings {
        timing: Timing { status_deadline: harness.status_deadline(scale), idle_timeout },
        strict: args.strict,
    };
    let explorer = Explorer {
        harness: &harness,
        system,
        declared,
        http,
        machines: args.machines as usize,
        length: args.length as usize,
        settings,
    };
    let exit = explorer.explore(&args, seed).await;
    harness.shutdown().await;
    exit
}

/// Everything a run needs.
struct Explorer<'a> {
    harness: &'a Harness,
    system: System,
    /// The system as declared (for the replay command).
    declared: crate::system::System,
    http: reqwest::Client,
    machines: usize,
    length: usize,
    settings: Settings,
}

impl Explorer<'_> {
    async fn explore(&self, args: &ExploreArgs, seed: u64) -> Exit {
        let what = match &self.system {
            System::Builtin { faults } if faults.is_empty() => "the reference reseller (in-process)".to_owned(),
            System::Builtin { faults } => {
                let names: Vec<&str> = faults.iter().map(|f| f.name()).collect();
                format!("the reference reseller (in-process) with fault {}", names.join(", "))
            }
            System::External { target } => target.describe(),
        };
        let runs: Vec<u32> = match args.run {
            Some(run) => vec![run],
            None => (1..=args.runs).collect(),
        };
        let timing = self.settings.timing;
        println!("Exploring {what}");
        println!(
            "  seed {seed}: {} of up to {} actions on {} machine(s); Glase deadlines × {} (status {}), idle timeout {}",
            match args.run {
                Some(run) => format!("run {run}"),
                None => format!("{} runs", args.runs),
            },
            self.length,
            self.machines,
            self.harness.deadline_scale,
            human(timing.status_deadline),
            human(timing.idle_timeout),
        );
        let started = Instant::now();
        let mut actions_run = 0;
        for (done, run) in runs.iter().enumerate() {
            let actions = action::generate(run_seed(seed, *run), self.length, self.machines);
            actions_run += actions.len();
            let result = match self.run(&actions).await {
                Ok(result) => result,
                Err(error) => return self.stopped(&error),
            };
            progress(args.verbose, *run, done, &actions, &result);
            if let Some(failure) = &result.failure {
                println!();
                println!("Run {run} failed after {} ({} broken). Shrinking…", count(actions.len()), failure.key());
                return self.shrink_and_report(args, seed, *run, actions, result).await;
            }
        }
        println!();
        println!(
            "No failure: {} run(s), {actions_run} actions, in {} (seed {seed}).",
            runs.len(),
            human(started.elapsed())
        );
        Exit::Passed
    }

    async fn run(&self, actions: &[Action]) -> Result<RunResult, ExecError> {
        execute::run_sequence(self.harness, &self.system, &self.http, self.machines, actions, self.settings).await
    }

    async fn shrink_and_report(
        &self,
        args: &ExploreArgs,
        seed: u64,
        run: u32,
        actions: Vec<Action>,
        result: RunResult,
    ) -> Exit {
        let original = actions.len();
        let (shrunk, minimal) = match self.shrink(args, actions, result).await {
            Ok(shrunk) => shrunk,
            Err(error) => return self.stopped(&error),
        };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let replay = args.replay_command(&self.declared, seed, run);
        let _ = print_failure(&mut out, original, &shrunk, &minimal, &replay, (seed, run));
        let _ = out.flush();
        Exit::Failed
    }

    /// Shrinks a failing sequence (ddmin, then simpler actions); returns it with the
    /// run that showed its failure.
    async fn shrink(
        &self,
        args: &ExploreArgs,
        actions: Vec<Action>,
        result: RunResult,
    ) -> Result<(Shrunk<Action>, RunResult), ExecError> {
        let key = result.failure.as_ref().map(|f| f.key().to_owned()).unwrap_or_default();
        let mut oracle = SameFailure { explorer: self, key, minimal: None, error: None };
        let budget = args.shrink_budget as usize;
        let mut shrunk = shrink::ddmin(actions.clone(), &mut oracle, budget).await;
        let left = budget.saturating_sub(shrunk.reruns);
        let (simpler, reruns) = shrink::simplify(shrunk.items.clone(), &mut oracle, Action::simpler, left).await;
        shrunk.items = simpler;
        shrunk.reruns += reruns;
        if let Some(error) = oracle.error.take() {
            // A rerun could not be carried out: show the shortest failure found so far.
            eprintln!("warning: shrinking stopped early: {}", error_chain(&error));
            shrunk.items = oracle.minimal.as_ref().map_or_else(|| actions.clone(), |(items, _)| items.clone());
        }
        let minimal = match oracle.minimal.take() {
            Some((items, minimal)) if items == shrunk.items => minimal,
            _ if shrunk.items == actions => result,
            // The last failing run was of another candidate: run the result once more.
            _ => match self.run(&shrunk.items).await? {
                minimal if minimal.failure.is_some() => minimal,
                _ => {
                    println!("(the shrunk sequence did not fail again: showing the original run)");
                    shrunk.items = actions;
                    result
                }
            },
        };
        Ok((shrunk, minimal))
    }

    fn stopped(&self, error: &ExecError) -> Exit {
        println!();
        eprintln!("error: {}", error_chain(error));
        if error.unreachable() { Exit::Unreachable } else { Exit::Usage }
    }
}

/// The shrinking oracle: a candidate fails when a fresh run of it breaks the same
/// property or rule.
struct SameFailure<'a, 'b> {
    explorer: &'a Explorer<'b>,
    key: String,
    /// The shortest failing candidate seen, with its run.
    minimal: Option<(Vec<Action>, RunResult)>,
    /// A run that could not be carried out stops the shrinking.
    error: Option<ExecError>,
}

impl Oracle<Action> for SameFailure<'_, '_> {
    async fn fails(&mut self, candidate: &[Action]) -> bool {
        if self.error.is_some() {
            return false;
        }
        match self.explorer.run(candidate).await {
            Ok(result) => {
                let same = result.failure.as_ref().is_some_and(|f| f.key() == self.key);
                let shorter = self.minimal.as_ref().is_none_or(|(items, _)| candidate.len() <= items.len());
                if same && shorter {
                    self.minimal = Some((candidate.to_vec(), result));
                }
                same
            }
            Err(error) => {
                self.error = Some(error);
                false
            }
        }
    }
}

/// The shrunk failure: the minimal sequence, what was broken, what each action led to,
/// the messages exchanged and the replay command.
fn print_failure(
    out: &mut impl std::io::Write,
    original: usize,
    shrunk: &Shrunk<Action>,
    minimal: &RunResult,
    replay: &str,
    (seed, run): (u64, u32),
) -> std::io::Result<()> {
    let budget = if shrunk.exhausted { " (the shrink budget ran out: it may shrink further)" } else { "" };
    writeln!(
        out,
        "Shrunk {} to {} in {} rerun(s){budget}.",
        count(original),
        count(shrunk.items.len()),
        shrunk.reruns
    )?;
    writeln!(out)?;
    writeln!(out, "Minimal failing sequence ({}):", count(shrunk.items.len()))?;
    report::sequence(out, &shrunk.items, &minimal.fleet)?;
    writeln!(out)?;
    if let Some(failure) = &minimal.failure {
        report::failure(out, failure)?;
    }
    writeln!(out)?;
    writeln!(out, "What each action led to:")?;
    report::log(out, minimal)?;
    writeln!(out)?;
    writeln!(out, "Messages exchanged (journal):")?;
    report::exchanged(out, &minimal.journal)?;
    writeln!(out)?;
    writeln!(out, "Replay (runs sequence {run} of seed {seed} again, and shrinks it the same way):")?;
    writeln!(out, "  {replay}")
}

/// `1 action`, `3 actions`.
fn count(count: usize) -> String {
    if count == 1 { "1 action".to_owned() } else { format!("{count} actions") }
}

fn progress(verbose: bool, run: u32, done: usize, actions: &[Action], result: &RunResult) {
    let failed = result.failure.is_some();
    if verbose {
        println!("Run {run} ({} actions){}", actions.len(), if failed { ": FAILED" } else { "" });
        let _ = report::log(&mut std::io::stdout(), result);
        return;
    }
    print!("{}", if failed { "F" } else { "." });
    if (done + 1).is_multiple_of(50) {
        println!();
    }
    let _ = std::io::stdout().flush();
}
