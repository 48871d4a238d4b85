//! The built-in system under test — the reference reseller, run in-process — when this
//! build has it (the default feature `reference-reseller`). It is what `demo` tests,
//! what `load` and `explore` drive when no system is named, and whose deliberate
//! faults `--fault` switches on. A build without it (`--no-default-features`) compiles
//! no vending backend: it drives only systems named by URL, and each command that
//! would start the built-in one says so ([`ABSENT`]).

use std::time::Duration;

#[cfg(feature = "reference-reseller")]
pub use reference_reseller::Fault;

/// The built-in reseller while it runs; dropping it stops it.
#[cfg(feature = "reference-reseller")]
pub type Running = crate::demo::ReferenceReseller;

/// The built-in reseller while it runs: never, in this build.
#[cfg(not(feature = "reference-reseller"))]
#[derive(Debug)]
pub enum Running {}

/// Starts the built-in reseller (`machine-1` … `machine-N`, these faults, this idle
/// timeout) calling the Glase at `soap_url`, whose status deadline is
/// `status_deadline`; `purpose` names its database file. Returns it and its base URL.
#[cfg(feature = "reference-reseller")]
pub async fn start(
    soap_url: &str,
    status_deadline: Duration,
    purpose: &'static str,
    faults: &[Fault],
    machines: usize,
    idle_timeout: Duration,
) -> anyhow::Result<(Running, String)> {
    use crate::demo::{InProcessSettings, ReferenceReseller};
    let settings =
        InProcessSettings { purpose, faults: faults.to_vec(), machines, idle_timeout, tweak: InProcessSettings::as_is };
    let reseller = ReferenceReseller::start_with(soap_url, status_deadline, &settings).await?;
    let url = reseller.url.clone();
    Ok((reseller, url))
}

/// Starting the built-in reseller: [`ABSENT`], in this build.
#[cfg(not(feature = "reference-reseller"))]
pub async fn start(
    _soap_url: &str,
    _status_deadline: Duration,
    _purpose: &'static str,
    _faults: &[Fault],
    _machines: usize,
    _idle_timeout: Duration,
) -> anyhow::Result<(Running, String)> {
    anyhow::bail!(ABSENT)
}

/// The deadline scale the built-in reseller runs at: the 20 s status rule takes 1 s.
pub const DEMO_DEADLINE_SCALE: f64 = 0.05;

/// What a command says when it would start the built-in reseller in a build without it.
pub const ABSENT: &str = "this build of glase-conformance has no built-in reference reseller (it was built \
     without the `reference-reseller` feature): name your system with --create-purchase-url, --machine-driver, \
     --shop-driver, --pos-driver or --config";

/// A deliberate fault of the built-in reference reseller; this build has none, so
/// `--fault` accepts no value.
#[cfg(not(feature = "reference-reseller"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {}

#[cfg(not(feature = "reference-reseller"))]
impl Fault {
    pub const ALL: &'static [Self] = &[];

    pub const fn name(self) -> &'static str {
        match self {}
    }

    pub const fn description(self) -> &'static str {
        match self {}
    }
}

#[cfg(not(feature = "reference-reseller"))]
impl clap::ValueEnum for Fault {
    fn value_variants<'a>() -> &'a [Self] {
        &[]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        match *self {}
    }
}

#[cfg(all(test, not(feature = "reference-reseller")))]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, main};
    use crate::command::Exit;

    #[tokio::test]
    async fn without_the_built_in_reseller_demo_and_load_and_explore_of_no_system_are_usage_errors() {
        let commands =
            [&["glase-conformance", "demo"][..], &["glase-conformance", "explore"], &["glase-conformance", "load"]];
        for args in commands {
            let cli = Cli::try_parse_from(args).expect("the command line parses");
            assert_eq!(main(cli).await, Exit::Usage, "{args:?}");
        }
        let faults = Cli::try_parse_from(["glase-conformance", "demo", "--fault", "skip-status-fetch"]);
        assert!(faults.is_err(), "this build has no faults to switch on");
    }
}
