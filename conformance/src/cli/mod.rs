//! `glase-conformance`: the command line. Glue only (STYLE section 1): parse the
//! arguments, resolve them into the runner's options, load scenarios, run, report.
//!
//! # Layout
//! - `select`: which scenarios (`--scenarios`, `--only`, `--profile`, fixtures).
//! - `run`: `run` and `demo`: start Glase, start and wait for the system, run, report.
//! - `list`: `list` and `explain`.
//!
//! Every option reads an environment variable too (`GLASE_CONFORMANCE_<OPTION>`); the
//! system under test's options also come from `--config FILE` ([`crate::system`]).

mod demo;
mod list;
mod run;
mod select;

use clap::{Parser, Subcommand};

pub use demo::DemoArgs;
pub use run::{Output, RunArgs};
pub use select::{ProfileArg, Selection, load};

pub use crate::command::Exit;

/// The exit codes, as every command's help ends.
pub(crate) const EXIT_CODES: &str = "\
Exit codes: 0 passed (skipped and inconclusive scenarios do not fail a run unless --strict),
1 a scenario failed (a MUST rule was broken; a SHOULD rule too under --strict),
2 usage, configuration or scenario file error, 3 the system under test is unreachable
(junit.xml and report.json are written for 1 and 3 alike).";

const EXAMPLES: &str = "\
Examples:
  # Try it: the whole suite against the built-in reference reseller
  glase-conformance demo

  # ... and what a failure looks like: the reference reseller with a deliberate fault
  glase-conformance demo --fault skip-status-fetch --only unattended/happy-path

  # Your vending backend: configure its Glase URL as http://127.0.0.1:7070/extclientproxy/service/v2
  glase-conformance run --create-purchase-url http://127.0.0.1:8000/seqr/createPurchase \\
      --machine-driver http://127.0.0.1:8000 --idle-timeout 60s --profile unattended

  # Let the suite start your backend once its Glase listens (GLASE_URL is set for it)
  glase-conformance run --start './my-backend --test-drivers' --wait-for 90s \\
      --create-purchase-url http://127.0.0.1:8000/seqr/createPurchase --machine-driver http://127.0.0.1:8000

  # Your webshop, strict (SHOULD findings fail too), reports into ci-reports/
  glase-conformance run --shop-driver http://127.0.0.1:8000 --profile webshop --strict --out ci-reports

  # What would run, and every rule; then what one rule means
  glase-conformance list
  glase-conformance explain UPS-IDLE-RELEASE

  # Random sequences against the reference reseller; load against it
  glase-conformance explore
  glase-conformance load";

/// Scenario-driven black-box conformance suite for Glase resellers and webshops.
///
/// Embeds a mock of Glase (the SOAP Payment API, the Unattended Payments Service and the
/// customer app), drives your system through it and its test drivers, checks every rule
/// of the protocol over the messages exchanged, and writes terminal, JSON, JUnit and HTML
/// reports.
#[derive(Debug, Parser)]
#[command(name = "glase-conformance", version = crate::VERSION_LINE, after_help = help_tail(EXAMPLES))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// A command's help tail: its examples, then the exit codes.
pub(crate) fn help_tail(examples: &str) -> String {
    format!("{examples}\n\n{EXIT_CODES}")
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the suite against your system (it must call the embedded mock as its Glase).
    #[command(after_help = help_tail(run::RUN_EXAMPLES))]
    Run(RunArgs),
    /// Run the whole suite against the built-in reference reseller and write all reports.
    #[command(after_help = help_tail(demo::DEMO_EXAMPLES))]
    Demo(DemoArgs),
    /// List the scenarios (validating every scenario file) and the rules; runs nothing.
    #[command(after_help = help_tail(list::LIST_EXAMPLES))]
    List(list::ListArgs),
    /// Explain one rule: what it demands, where it comes from, how it is checked.
    #[command(after_help = help_tail(list::EXPLAIN_EXAMPLES))]
    Explain {
        /// A rule id, e.g. UPS-IDLE-RELEASE (any case; see `list`).
        rule: String,
    },
    /// Realistic load: many customers across many machines (and webshop checkouts),
    /// latency percentiles for both sides, and invariants checked over the whole run.
    #[command(after_help = crate::load::EXAMPLES)]
    Load(crate::load::LoadCommand),
    /// Model-based exploration: random action sequences, checked, shrunk and replayable.
    ///
    /// Random sequences of customer actions (scan, confirm, wrong PIN, cancel, walk
    /// away), machine vends, concurrent scans and Glase faults, checked against a model
    /// of what the reseller must do and against the rules; a failing run is shrunk to a
    /// minimal sequence and printed with the command that replays it.
    #[command(after_help = crate::explore::EXAMPLES)]
    Explore(crate::explore::ExploreArgs),
}

/// Runs the parsed command line.
pub async fn main(cli: Cli) -> Exit {
    match cli.command {
        Command::Run(args) => run::run(args).await,
        Command::Demo(args) => demo::demo(args).await,
        Command::List(args) => list::list(&args),
        Command::Explain { rule } => list::explain(&rule),
        Command::Load(command) => crate::load::command(command).await,
        Command::Explore(args) => crate::explore::main(args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commands of an examples text: `glase-conformance …` lines, with their `\`
    /// continuations joined, split into words (the examples quote nothing).
    fn commands(examples: &str) -> Vec<Vec<String>> {
        let joined = examples.replace("\\\n", " ");
        joined
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("glase-conformance "))
            .map(|line| line.split_whitespace().map(str::to_owned).collect())
            .collect()
    }

    /// Every example `load --help` and `load merge --help` print parses as shown: a
    /// user copying one gets the run it describes, not a usage error.
    #[test]
    fn the_load_examples_parse() {
        let examples = [crate::load::EXAMPLES, crate::load::MERGE_EXAMPLES];
        let all: Vec<Vec<String>> = examples.iter().flat_map(|text| commands(text)).collect();
        assert!(all.len() >= 8, "{all:?}");
        for words in all {
            if words.iter().any(|w| w == "--fault") && !cfg!(feature = "reference-reseller") {
                continue;
            }
            if let Err(error) = Cli::try_parse_from(&words) {
                panic!("{}: {error}", words.join(" "));
            }
        }
    }
}
