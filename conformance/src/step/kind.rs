//! What every step kind provides. A kind is a struct in the module of who acts
//! (`customer`, `machine`, `shop`, `till`, `glase`) or of what it expects (`expect`,
//! `calls`), with everything about it in one place: its arguments as written, their
//! checks, how it runs, and what it needs of the shared world. [`super::Step`]
//! dispatches to it, as mini-redis's `Command` does to its commands.

use serde::de::DeserializeOwned;

use super::values::Driver;
use crate::runner::claims::Claim;
use crate::runner::exec::{ScenarioRun, StepResult};
use crate::scenario::arguments::StepCx;
use crate::scenario::fixtures::FixtureKind;

pub(crate) trait Kind: Sized {
    /// The step's key in scenario files (`scan`).
    const KEY: &'static str;

    /// Its arguments as written (a `#[serde(deny_unknown_fields)]` struct).
    type Args: DeserializeOwned;

    /// Checks the arguments and types them; every problem is recorded in `cx`, and
    /// `None` means the step cannot be built at all.
    fn resolve(cx: &mut StepCx<'_>, args: Self::Args) -> Option<Self>;

    /// Carries the step out in one scenario's run.
    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult;

    /// Whether the step judges what the system under test did: an expectation, or a
    /// driver call whose answer it checks. Such steps in the built-in library name the
    /// rule they check (`rule:`), so every failure can be looked up.
    const JUDGES: bool = false;

    /// The driver the step needs, if any.
    const DRIVER: Option<Driver> = None;

    /// Whether it makes the system under test issue invoices, or call Glase in ways that
    /// may name no invoice: beside other scenarios such a step takes a turn, so the
    /// calls it causes are its own (see `runner::attribution`).
    const MAKES_INVOICES: bool = false;

    /// Whether this step judges ([`Kind::JUDGES`]); a step whose arguments decide it
    /// says so here.
    fn is_expectation(&self) -> bool {
        Self::JUDGES
    }

    /// What it needs of the shared world while its scenario runs: the machines it names,
    /// or the embedded Glase to itself.
    fn claim(&self, _claim: &mut Claim) {}

    /// Its fields that name a fixture (a machine, a product), to read or to rewrite.
    fn fixtures(&mut self) -> Vec<(FixtureKind, &mut String)> {
        Vec::new()
    }
}
