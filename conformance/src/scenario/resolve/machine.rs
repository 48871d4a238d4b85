//! Resolving the machine driver's steps: the customer's choice, out of service and back.

use super::*;

impl Resolver<'_> {
    pub(super) fn vend_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let a: raw::VendArgs = self.args(cx, args)?;
        let expect = self.driver_outcome(cx, a.expect.as_deref(), &["ok", "paid", "canceled", "refused"]);
        Some(Step::Vend { machine: a.machine, items: items(a.items), expect })
    }

    pub(super) fn machine_service_step(&mut self, cx: &StepCx, args: Value, kind: &str) -> Option<Step> {
        let a: raw::MachineArgs = self.args(cx, args)?;
        let expect = self.driver_outcome(cx, a.expect.as_deref(), &["ok", "refused"]);
        Some(if kind == "out_of_service" {
            Step::OutOfService { machine: a.machine, expect }
        } else {
            Step::InService { machine: a.machine, expect }
        })
    }
}
