//! Scenario steps. Each kind is defined and handled in one module — its arguments as
//! written, their checks, its execution, what it claims and which fixtures it names —
//! grouped by who acts: the customer ([`customer`]), the machine driver ([`machine`]),
//! the shop driver ([`shop`]), the point-of-sale driver ([`till`]), Glase itself
//! ([`glase`]), and the expectations ([`expect`], [`calls`]). [`Step`] only dispatches,
//! as mini-redis's `Command` does (`src/cmd/mod.rs`); `kind::Kind` says what a kind
//! provides, and [`values`] holds what step arguments are made of.

pub mod calls;
pub mod customer;
pub mod expect;
pub mod glase;
pub(crate) mod kind;
pub mod machine;
pub mod shop;
pub mod till;
pub mod values;

use serde_json::Value;

use kind::Kind;
use values::Driver;

use crate::runner::claims::Claim;
use crate::runner::exec::{ScenarioRun, StepResult};
use crate::scenario::arguments::StepCx;
use crate::scenario::fixtures::FixtureKind;

/// Declares [`Step`] over the kinds and writes its dispatch, one arm a kind.
macro_rules! steps {
    ($($variant:ident($($kind:ident)::+),)*) => {
        /// One step of a scenario, resolved.
        #[derive(Debug, Clone)]
        pub enum Step {
            $($variant($($kind)::+),)*
        }

        /// Every step key, for "unknown step" messages and the README.
        pub const STEP_KINDS: &[&str] = &[$(<$($kind)::+ as Kind>::KEY,)*];

        impl Step {
            /// The YAML key of the step.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => <$($kind)::+ as Kind>::KEY,)*
                }
            }

            /// Resolves the arguments of a step of kind `key`; `None` for an unknown
            /// key, or when the arguments have problems (all recorded in `cx`).
            pub(crate) fn resolve(key: &str, cx: &mut StepCx<'_>, args: Value) -> Option<Self> {
                $(if key == <$($kind)::+ as Kind>::KEY {
                    return resolve::<$($kind)::+>(cx, args).map(Self::$variant);
                })*
                None
            }

            async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
                match self {
                    $(Self::$variant(step) => step.execute(run).await,)*
                }
            }

            /// Whether the step judges what the system under test did (see
            /// `Kind::JUDGES`).
            pub fn is_expectation(&self) -> bool {
                match self {
                    $(Self::$variant(step) => step.is_expectation(),)*
                }
            }

            /// The driver the step needs, if any. The shop steps say `Shop`; a
            /// point-of-sale scenario's point-of-sale driver serves them too (they sell
            /// at its till).
            pub fn driver(&self) -> Option<Driver> {
                match self {
                    $(Self::$variant(_) => <$($kind)::+ as Kind>::DRIVER,)*
                }
            }

            fn makes_invoices(&self) -> bool {
                match self {
                    $(Self::$variant(_) => <$($kind)::+ as Kind>::MAKES_INVOICES,)*
                }
            }

            /// Adds what the step needs of the shared world to its scenario's claim.
            pub(crate) fn claim(&self, claim: &mut Claim) {
                match self {
                    $(Self::$variant(step) => step.claim(claim),)*
                }
            }

            /// The step's fields that name a fixture, to read or to rewrite.
            pub(crate) fn fixtures(&mut self) -> Vec<(FixtureKind, &mut String)> {
                match self {
                    $(Self::$variant(step) => step.fixtures(),)*
                }
            }
        }
    };
}

steps! {
    Scan(customer::Scan),
    ScanInvoice(customer::ScanInvoice),
    Confirm(customer::Confirm),
    WrongPin(customer::WrongPin),
    Cancel(customer::Cancel),
    WalkAway(customer::WalkAway),
    SetWallet(customer::SetWallet),
    Race(customer::Race),
    Vend(machine::Vend),
    OutOfService(machine::OutOfService),
    InService(machine::InService),
    Checkout(shop::Checkout),
    Refund(shop::Refund),
    ShopCancel(shop::ShopCancel),
    ShopClose(shop::ShopClose),
    TillRegister(till::TillRegister),
    TillUnregister(till::TillUnregister),
    ScanTill(till::ScanTill),
    Fault(glase::Fault),
    ClearFaults(glase::ClearFaults),
    AdvanceClock(glase::AdvanceClock),
    Wait(glase::Pause),
    Notify(glase::Notify),
    ExpectPurchase(expect::ExpectPurchase),
    ExpectRace(expect::ExpectRace),
    ExpectStatus(expect::ExpectStatus),
    ExpectCall(calls::ExpectCall),
    ExpectNoCall(calls::ExpectNoCall),
    ExpectMachine(expect::ExpectMachine),
    ExpectOrder(expect::ExpectOrder),
    ExpectRefund(expect::ExpectRefund),
    ExpectPayment(expect::ExpectPayment),
    ExpectFindings(expect::ExpectFindings),
}

impl Step {
    /// Runs the step as part of `run`'s scenario. Beside other scenarios, a step that
    /// makes invoices does so in a turn of its own; the journal position before it is
    /// kept for `after: <kind>`.
    pub(crate) async fn perform(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let start = run.begin_step(self.makes_invoices()).await;
        let result = self.execute(run).await;
        run.end_step(start, self.kind());
        result
    }

    /// Whether the customer scans a machine's code in this step (a scan or a race): the
    /// scenario then needs a createPurchase URL.
    pub fn scans_machine(&self) -> bool {
        matches!(self, Self::Scan(_) | Self::Race(_))
    }
}

/// Checks a kind's arguments: its shape, then its values. `None` if anything in them
/// has a problem.
fn resolve<K: Kind>(cx: &mut StepCx<'_>, args: Value) -> Option<K> {
    let before = cx.problem_count();
    let args = cx.args::<K::Args>(args)?;
    let step = K::resolve(cx, args)?;
    (cx.problem_count() == before).then_some(step)
}
