//! The expectation steps about the calls Glase got from the system under test: how many
//! of an operation within a window (`expect_call`), or none during one
//! (`expect_no_call`), counted from a mark (the scenario's start, a step, the latest
//! notification) and for an invoice or all of them.

use std::time::Duration;

use glase_protocol::Operation;
use serde::Deserialize;

use super::kind::Kind;
use super::values::{CallScope, Mark, Wait};
use crate::runner::claims::{Alone, Claim};
use crate::runner::exec::{INVOICE_OPERATIONS, Missed, POLL, ScenarioRun, StepResult, fail};
use crate::scenario::arguments::{DEFAULT_WITHIN, StepCx};
use crate::scenario::raw::Scalar;

/// Default observation window of `expect_no_call` without `during`.
const DEFAULT_DURING: Duration = Duration::from_secs(1);

/// `expect_call`: Glase gets `min` (to `max`) calls of an operation within a window.
#[derive(Debug, Clone)]
pub struct ExpectCall {
    pub operation: Operation,
    pub within: Wait,
    pub min: u32,
    pub max: Option<u32>,
    pub after: Mark,
    pub scope: CallScope,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectCallArgs {
    operation: String,
    within: Option<Scalar>,
    count: Option<CountArgs>,
    after: Option<String>,
    invoice: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountArgs {
    min: Option<u32>,
    max: Option<u32>,
}

impl Kind for ExpectCall {
    const KEY: &'static str = "expect_call";
    type Args = ExpectCallArgs;
    const JUDGES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ExpectCallArgs) -> Option<Self> {
        let operation = cx.operation(&a.operation);
        let within = match &a.within {
            Some(w) => cx.wait("within", w),
            None => Some(Wait::fixed(DEFAULT_WITHIN)),
        };
        let (min, max) = match &a.count {
            Some(count) => (count.min.unwrap_or(1), count.max),
            None => (1, None),
        };
        if max.is_some_and(|max| max < min) {
            cx.problem("count", "max is below min");
        }
        let after = cx.mark(a.after.as_deref());
        let scope = cx.scope(a.invoice);
        Some(Self { operation: operation?, within: within?, min, max, after: after?, scope })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let (operation, min) = (self.operation.name(), self.min);
        let window = run.window(self.within);
        let since = run.mark_seq(&self.after, &self.scope, window.length).await?;
        let invoice = run.scope_invoice(&self.scope, operation)?;
        let count = |run: &ScenarioRun<'_>| run.calls(operation, since, invoice.as_deref()).len();
        let deadline = tokio::time::Instant::now() + window.length;
        let mut seen = count(run);
        while seen < min as usize && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
            seen = count(run);
        }
        let range = match self.max {
            Some(max) if max == min => format!("exactly {min}"),
            Some(max) => format!("{min} to {max}"),
            None => format!("at least {min}"),
        };
        let whose = invoice.as_deref().map(|i| format!(" for invoice {i}")).unwrap_or_default();
        let expected = format!("{range} {operation}{whose} {} within {}", mark_words(&self.after), window.described);
        let actual = format!("{seen} call(s){}", run.exchanged(invoice.as_deref()));
        if self.max.is_some_and(|max| seen > max as usize) {
            Err(fail(expected, actual))
        } else if seen < min as usize {
            Err(Missed { actual, cut: window.cut }.into_error(expected))
        } else {
            Ok(())
        }
    }

    fn claim(&self, claim: &mut Claim) {
        claim_count(self.operation, claim);
    }
}

/// `expect_no_call`: Glase gets no call of an operation during a window.
#[derive(Debug, Clone)]
pub struct ExpectNoCall {
    pub operation: Operation,
    pub during: Duration,
    pub after: Mark,
    pub scope: CallScope,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectNoCallArgs {
    operation: String,
    during: Option<Scalar>,
    after: Option<String>,
    invoice: Option<String>,
}

impl Kind for ExpectNoCall {
    const KEY: &'static str = "expect_no_call";
    type Args = ExpectNoCallArgs;
    const JUDGES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ExpectNoCallArgs) -> Option<Self> {
        let operation = cx.operation(&a.operation);
        let during = match &a.during {
            Some(d) => cx.duration("during", d),
            None => Some(DEFAULT_DURING),
        };
        let after = cx.mark(a.after.as_deref());
        let scope = cx.scope(a.invoice);
        Some(Self { operation: operation?, during: during?, after: after?, scope })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let operation = self.operation.name();
        let invoice = run.scope_invoice(&self.scope, operation)?;
        let since = match &self.after {
            Mark::Start => run.start_seq,
            other => run.mark_seq(other, &self.scope, Duration::ZERO).await?,
        };
        let deadline = tokio::time::Instant::now() + self.during;
        loop {
            let calls = run.calls(operation, since, invoice.as_deref());
            if let Some(first) = calls.first() {
                let whose = invoice.as_deref().map(|i| format!(" for invoice {i}")).unwrap_or_default();
                return Err(fail(
                    format!("no {operation}{whose} {}", mark_words(&self.after)),
                    format!(
                        "{} call(s), the first at journal #{}{}",
                        calls.len(),
                        first.seq,
                        run.exchanged(invoice.as_deref())
                    ),
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn claim(&self, claim: &mut Claim) {
        claim_count(self.operation, claim);
    }
}

/// A count of an operation that names no invoice cannot tell whose calls it counts: its
/// scenario runs alone.
fn claim_count(operation: Operation, claim: &mut Claim) {
    if !INVOICE_OPERATIONS.contains(&operation.name()) {
        claim.must_run_alone(Alone::Unattributable);
    }
}

fn mark_words(mark: &Mark) -> String {
    match mark {
        Mark::Start => "in this scenario".to_owned(),
        Mark::Notification => "after the notification".to_owned(),
        Mark::Step(kind) => format!("after `{kind}`"),
    }
}
