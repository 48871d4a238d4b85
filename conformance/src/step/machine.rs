//! The machine driver's steps: the customer's choice (vend), out of service and back.

use serde::Deserialize;
use serde_json::json;

use super::kind::Kind;
use super::values::{Driver, DriverOutcome, Item};
use crate::runner::claims::Claim;
use crate::runner::exec::{ScenarioRun, StepResult, check_driver, describe_items, items_json};
use crate::scenario::arguments::StepCx;
use crate::scenario::fixtures::FixtureKind;
use crate::scenario::raw::{ItemArgs, items};

/// `vend`: the customer takes these products (none: an empty choice) from the machine.
#[derive(Debug, Clone)]
pub struct Vend {
    /// The machine (default: the one the latest scan was at).
    pub machine: Option<String>,
    pub items: Vec<Item>,
    pub expect: Option<DriverOutcome>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendArgs {
    machine: Option<String>,
    #[serde(default)]
    items: Vec<ItemArgs>,
    expect: Option<String>,
}

impl Kind for Vend {
    const KEY: &'static str = "vend";
    type Args = VendArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Machine);
    const MAKES_INVOICES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: VendArgs) -> Option<Self> {
        let expect = cx.driver_outcome(a.expect.as_deref(), &["ok", "paid", "canceled", "refused"]);
        Some(Self { machine: a.machine, items: items(a.items), expect })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let machine = run.machine_or_last(self.machine.as_deref())?;
        let what = format!("{machine}: the customer takes {}", describe_items(&self.items));
        let body = json!({ "items": items_json(&self.items) });
        let answer = run.drive(what, run.machine_driver()?.vend(&machine, &body)).await?;
        check_driver(&answer, self.expect.unwrap_or(DriverOutcome::Ok), "vend")
    }

    fn claim(&self, claim: &mut Claim) {
        claim.machines.extend(self.machine.clone());
    }

    fn fixtures(&mut self) -> Vec<(FixtureKind, &mut String)> {
        let machine = self.machine.iter_mut().map(|m| (FixtureKind::Machine, m));
        machine.chain(self.items.iter_mut().map(|i| (FixtureKind::Sku, &mut i.sku))).collect()
    }
}

/// `out_of_service`: the machine is taken out of service (its reservations released).
pub type OutOfService = SetService<false>;
/// `in_service`: the machine is put back in service.
pub type InService = SetService<true>;

/// Takes a machine out of service (`IN_SERVICE` false) or puts it back (true).
#[derive(Debug, Clone)]
pub struct SetService<const IN_SERVICE: bool> {
    pub machine: String,
    pub expect: Option<DriverOutcome>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceArgs {
    machine: String,
    expect: Option<String>,
}

impl<const IN_SERVICE: bool> Kind for SetService<IN_SERVICE> {
    const KEY: &'static str = if IN_SERVICE { "in_service" } else { "out_of_service" };
    type Args = ServiceArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Machine);
    const MAKES_INVOICES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ServiceArgs) -> Option<Self> {
        Some(Self { expect: cx.driver_outcome(a.expect.as_deref(), &["ok", "refused"]), machine: a.machine })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        set_in_service(run, &self.machine, IN_SERVICE, self.expect).await
    }

    fn claim(&self, claim: &mut Claim) {
        claim.machines.insert(self.machine.clone());
    }

    fn fixtures(&mut self) -> Vec<(FixtureKind, &mut String)> {
        vec![(FixtureKind::Machine, &mut self.machine)]
    }
}

/// Takes the machine out of service or puts it back, remembering which it took out so
/// the tidy-up puts them back.
async fn set_in_service(
    run: &mut ScenarioRun<'_>,
    machine: &str,
    in_service: bool,
    expect: Option<DriverOutcome>,
) -> StepResult {
    let action = if in_service { "in-service" } else { "out-of-service" };
    let call = run.machine_driver()?.set_in_service(machine, in_service);
    let answer = run.drive(format!("{machine}: {action}"), call).await?;
    if answer.ok() {
        if in_service {
            run.out_of_service.remove(machine);
        } else {
            run.out_of_service.insert(machine.to_owned());
        }
    }
    check_driver(&answer, expect.unwrap_or(DriverOutcome::Ok), action)
}
