//! Exploration (`glase-conformance explore`): model-based property testing of the system
//! under test.
//!
//! `action` generates random sequences of what happens at machines (customers scanning,
//! confirming, entering wrong PINs, cancelling, walking away; products vended; several
//! customers scanning at once; Glase misbehaving once) from a seed (`crate::rng`). `execute`
//! runs one sequence against a fresh run of the system under test (`sut`: the
//! in-process reference reseller, or yours) through the embedded mock, and judges every
//! step by `model`, what a correct reseller must do, watching the system through
//! `observe`; `idle` keeps the reseller's idle timer from racing the actions and, after
//! the sequence, lets everything quiesce and checks that nothing is left locked or
//! open; `journal` cuts the run's messages and checks the rules (`crate::rules`) over
//! them. The first failing run is shrunk by `shrink` (ddmin, rerunning candidates, then
//! simpler actions) to a minimal sequence, which `report` prints with what was broken
//! and the command that replays it; `session` ties this to the command line (`args`).

mod action;
mod args;
mod execute;
mod fleet;
mod idle;
mod journal;
mod model;
mod observe;
mod report;
mod session;
mod shrink;
mod sut;

pub use args::ExploreArgs;
pub use session::main;

/// `glase-conformance explore --help`: examples.
pub const EXAMPLES: &str = "\
Examples:
  # 50 random sequences against the built-in reference reseller (a fresh one for each)
  glase-conformance explore

  # See it find a bug: the reference reseller with a deliberate fault (list them: --list-faults)
  glase-conformance explore --fault no-release-on-cancel

  # More and longer sequences on three machines, from a fixed seed
  glase-conformance explore --seed 42 --runs 200 --length 20 --machines 3

  # Replay one run exactly, as printed under a failure
  glase-conformance explore --seed 42 --run 17 --length 20 --machines 3

  # Your vending backend (its Glase URL http://127.0.0.1:7070/extclientproxy/service/v2, a 5 s idle timeout)
  glase-conformance explore --create-purchase-url http://127.0.0.1:8000/seqr/createPurchase \\
      --machine-driver http://127.0.0.1:8000 --idle-timeout 5s --deadline-scale 0.25

Exit codes: 0 no failure, 1 a run broke a model property or a rule (shrunk and printed with
its replay command), 2 usage or configuration error, 3 the system under test is unreachable.";
