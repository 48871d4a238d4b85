//! The Glase conformance suite (`glase-conformance`): scenario files from `scenarios/`,
//! rules with stable IDs checked over the mock's journal, a runner that drives any
//! reseller or webshop as a black box through an embedded `mock-glase`, and reports for
//! people (terminal, HTML) and for CI (JUnit, JSON).
//!
//! # Layout
//! - [`results`]: rules, findings, scenario results, the run report and run events.
//! - [`scenario`]: the scenario file format and its loader (raw YAML → validated
//!   [`Scenario`], every problem with file, line and key); the built-in library is
//!   compiled in by `build.rs`.
//! - [`rules`]: the obligations of spec section 5 as rules with stable ids, checked over
//!   each scenario's journal.
//! - `rng`: the seeded generator explore's actions and load's flow mix are drawn from.
//! - `drivers`: the one client of the machine and shop drivers (spec 8), for run, load
//!   and explore.
//! - [`step`]: each scenario step kind in one module: its arguments, their checks, how it
//!   runs and what it claims.
//! - [`runner`]: the embedded mock ([`Harness`]), the preflight check and [`run`]: a
//!   scenario's steps, tidy-up, rules, verdicts, as [`RunEvent`]s and a [`RunReport`].
//! - [`report`]: terminal, JSON, JUnit and HTML reporters; [`checklist`]: the
//!   certification checklists the HTML report maps scenarios to (`covers:`).
//! - [`builtin`] and (with the default feature `reference-reseller`) `demo`: the
//!   reference reseller in-process, the system under test of `glase-conformance demo`,
//!   of `load`/`explore` without a system named, and of the self-test.
//! - [`load`]: `glase-conformance load`, realistic load with invariant checks.
//! - [`explore`]: `glase-conformance explore`, model-based property testing: random
//!   action sequences checked against a model and the rules, shrunk to a minimal replay.
//! - [`system`]: the system under test as its integrator declares it (endpoints, timers,
//!   identity, `--start`), once for run, load and explore; flags, environment, config file.
//! - [`cli`]: the `glase-conformance` command line (glue).

/// The suite's version and the commit it was built from, as every report names them.
pub const SUITE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from (`unknown` outside a checkout).
pub const SUITE_COMMIT: &str = env!("GLASE_KIT_COMMIT");
/// `--version`: `0.1.0 (commit 0123456789ab)`.
pub const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("GLASE_KIT_COMMIT"), ")");

pub mod builtin;
pub mod checklist;
pub mod cli;
mod command;
#[cfg(feature = "reference-reseller")]
pub mod demo;
mod drivers;
pub mod explore;
pub mod load;
pub mod report;
pub mod results;
mod rng;
pub mod rules;
pub mod runner;
pub mod scenario;
mod spelling;
pub mod step;
pub mod system;

pub use results::{Finding, Level, RuleInfo, RunEvent, RunReport, ScenarioResult, StepFailure, Verdict};
pub use runner::{Harness, RunError, RunOptions, Target, run};
pub use scenario::{LoadError, Scenario};
