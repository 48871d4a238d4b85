//! The steps that act on Glase itself (the mock): injected faults, the clock, waiting,
//! notifications nothing caused.

use std::time::Duration;

use mock_glase::machine::FaultTarget;
use mock_glase::machine::customer::CustomerError;
use mock_glase::mock::ExtraNotification;
use serde::Deserialize;

use super::kind::Kind;
use super::values::{FaultSpec, InvoiceRef, NotifyKind, Wait};
use crate::runner::claims::{Alone, Claim};
use crate::runner::exec::{ScenarioRun, StepError, StepResult, fail, fault_narrows};
use crate::scenario::arguments::StepCx;
use crate::scenario::raw::{ExpectOnlyArgs, FaultArgs, Scalar};

/// `fault`: Glase answers the demo merchant's calls of an operation wrongly (until
/// `clear_faults`, or `times` times). Where Glase can tell the scenario's own calls
/// apart (an operation about an existing invoice, or a notification), only those: about
/// its invoice once it has one, before that about invoices its customer opens or pays.
#[derive(Debug, Clone)]
pub struct Fault {
    pub spec: FaultSpec,
}

impl Kind for Fault {
    const KEY: &'static str = "fault";
    type Args = FaultArgs;

    fn resolve(cx: &mut StepCx<'_>, a: FaultArgs) -> Option<Self> {
        Some(Self { spec: cx.fault("", a)? })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        run.add_fault(&self.spec)
    }

    /// A narrowed fault touches only the scenario's own calls; any other applies to
    /// every call of the demo merchant, whoever made it.
    fn claim(&self, claim: &mut Claim) {
        if !FaultTarget::parse(&self.spec.operation).is_some_and(fault_narrows) {
            claim.must_run_alone(Alone::Faults);
        }
    }
}

/// `clear_faults`: Glase answers normally again.
#[derive(Debug, Clone)]
pub struct ClearFaults;

impl Kind for ClearFaults {
    const KEY: &'static str = "clear_faults";
    type Args = ExpectOnlyArgs;

    fn resolve(_cx: &mut StepCx<'_>, _args: ExpectOnlyArgs) -> Option<Self> {
        Some(Self)
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        run.mock.clear_faults(None);
        Ok(())
    }

    fn claim(&self, claim: &mut Claim) {
        claim.must_run_alone(Alone::Faults);
    }
}

/// `advance_clock`: Glase's clock jumps ahead (every open invoice's deadlines move).
#[derive(Debug, Clone)]
pub struct AdvanceClock {
    pub by: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByArgs {
    by: Scalar,
}

impl Kind for AdvanceClock {
    const KEY: &'static str = "advance_clock";
    type Args = ByArgs;

    fn resolve(cx: &mut StepCx<'_>, a: ByArgs) -> Option<Self> {
        Some(Self { by: cx.duration("by", &a.by)? })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        run.mock.advance_clock(self.by).map_err(|e| fail("the clock to move", e.to_string()))?;
        Ok(())
    }

    fn claim(&self, claim: &mut Claim) {
        claim.must_run_alone(Alone::Clock);
    }
}

/// `wait`: waits this long (a timer-measured wait lasts as the timer does).
#[derive(Debug, Clone)]
pub struct Pause {
    pub wait: Wait,
}

impl Kind for Pause {
    const KEY: &'static str = "wait";
    type Args = Scalar;

    fn resolve(cx: &mut StepCx<'_>, scalar: Scalar) -> Option<Self> {
        Some(Self { wait: cx.wait("", &scalar)? })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        tokio::time::sleep(run.waits.length(self.wait, run.status_deadline())).await;
        Ok(())
    }
}

/// `notify`: Glase sends a notification nothing caused (forged, or a duplicate).
#[derive(Debug, Clone)]
pub struct Notify {
    pub kind: NotifyKind,
    pub invoice: InvoiceRef,
    pub delay: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyArgs {
    kind: String,
    invoice: Option<String>,
    delay: Option<Scalar>,
}

impl Kind for Notify {
    const KEY: &'static str = "notify";
    type Args = NotifyArgs;

    fn resolve(cx: &mut StepCx<'_>, a: NotifyArgs) -> Option<Self> {
        let kind = cx.choice("kind", &a.kind, &[("forged", NotifyKind::Forged), ("duplicate", NotifyKind::Duplicate)]);
        let delay = a.delay.as_ref().and_then(|d| cx.duration("delay", d));
        Some(Self { kind: kind?, invoice: cx.invoice(a.invoice), delay })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let reference = run.invoice(&self.invoice)?;
        let kind = match self.kind {
            NotifyKind::Forged => ExtraNotification::Forged,
            NotifyKind::Duplicate => ExtraNotification::Duplicate,
        };
        match run.mock.send_extra_notification(&reference, kind, None, self.delay) {
            Ok(_) => Ok(()),
            Err(CustomerError::NoNotificationUrl(_)) => Err(StepError::NotApplicable(format!(
                "invoice {reference} has no notificationUrl (the parameter is optional, seed 002): \
                 there is no notification to send, so the rest of this scenario does not apply"
            ))),
            Err(error) => Err(fail("a notification to send", error.to_string())),
        }
    }
}
