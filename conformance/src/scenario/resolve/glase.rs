//! Resolving the steps that act on Glase (the mock): faults, the clock, waits, notifications.

use super::*;

impl Resolver<'_> {
    pub(super) fn fault_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let a: raw::FaultArgs = self.args(cx, args)?;
        Some(Step::Fault(self.fault(cx, "", a)?))
    }

    pub(super) fn clear_faults_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let _: raw::ExpectOnlyArgs = self.args(cx, args)?;
        Some(Step::ClearFaults)
    }

    pub(super) fn advance_clock_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let a: raw::ByArgs = self.args(cx, args)?;
        Some(Step::AdvanceClock(self.duration(cx, "by", &a.by)?))
    }

    pub(super) fn wait_step(&mut self, cx: &StepCx, args: Value) -> Option<Step> {
        let scalar: Scalar = self.args(cx, args)?;
        Some(Step::Wait(self.wait(cx, "", &scalar)?))
    }

    pub(super) fn notify_step(&mut self, cx: &StepCx, args: Value, names: &HashSet<String>) -> Option<Step> {
        let a: raw::NotifyArgs = self.args(cx, args)?;
        let kind =
            self.choice(cx, "kind", &a.kind, &[("forged", NotifyKind::Forged), ("duplicate", NotifyKind::Duplicate)]);
        let delay = a.delay.as_ref().and_then(|d| self.duration(cx, "delay", d));
        Some(Step::Notify { kind: kind?, invoice: self.invoice(cx, a.invoice, names), delay })
    }
}
