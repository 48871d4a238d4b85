//! `demo`: the whole suite against the built-in reference reseller, run in-process
//! (`crate::builtin`), with all reports. In a build without it, `demo` says so.

use clap::Args;

use super::run::Output;
use super::select::Selection;
use crate::command::Exit;

pub(super) const DEMO_EXAMPLES: &str = "\
Examples:
  glase-conformance demo                                     # everything, reports into reports/
  glase-conformance demo --fault trust-notification          # what a failure looks like
  glase-conformance demo --only webshop/ --out demo-reports  # one profile's scenarios
  glase-conformance demo --console                           # watch it in a browser (URL printed)";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Switch on one of the reference reseller's deliberate faults (repeatable), to see
    /// what a failing run looks like, e.g. `--fault skip-status-fetch`.
    #[arg(long, value_enum, value_name = "FAULT")]
    pub fault: Vec<crate::builtin::Fault>,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub output: Output,
}

#[cfg(feature = "reference-reseller")]
pub(super) async fn demo(args: DemoArgs) -> Exit {
    use std::net::SocketAddr;

    use super::run::{Sut, execute, finish, prepare};
    use crate::builtin::DEMO_DEADLINE_SCALE;
    use crate::command::{command_line, fail_start};
    use crate::demo::ReferenceReseller;
    use crate::report::Evidence;
    use crate::runner::{self, Harness, RunOptions};
    use crate::system::Identity;

    let (scenarios, http, seed) = match prepare(&args.selection, &[], &args.output) {
        Ok(prepared) => prepared,
        Err(exit) => return exit,
    };
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
    args.output.announce_console(&harness);
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
        timers: reseller.timers(),
    };
    let mut report = execute(&harness, &scenarios, &options, &http, &args.output).await;
    let identity = Identity {
        name: Some("reference-reseller (in-process demo)".to_owned()),
        version: Some(crate::SUITE_VERSION.to_owned()),
        company: None,
    };
    Sut { identity: &identity, describe: options.target.describe() }.stamp(&mut report);
    let evidence = Evidence::collect(&harness, &scenarios, command_line());
    args.output.hold_console(&harness).await;
    drop(reseller);
    harness.shutdown().await;
    finish(&report, &evidence, &args.output)
}

/// `demo` in a build without the built-in reseller: nothing to run.
#[cfg(not(feature = "reference-reseller"))]
pub(super) async fn demo(_args: DemoArgs) -> Exit {
    eprintln!("error: demo: {}", crate::builtin::ABSENT);
    Exit::Usage
}
