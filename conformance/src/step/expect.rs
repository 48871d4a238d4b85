//! The expectation steps about outcomes: what the purchase, the race, an invoice, the
//! machine, the order, a refund and a payment must be (polled until they hold or their
//! window ends), and which findings a negative scenario must produce. What Glase must
//! have been called with is in [`super::calls`].

use glase_protocol::InvoiceStatus;
use glase_protocol::driver::MachineShows;
use mock_glase::Mock;
use mock_glase::machine::ups::{PurchaseOutcome as MockOutcome, PurchaseReport};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::kind::Kind;
use super::values::{Driver, DriverOutcome, InvoiceRef, PurchaseOutcome, Timing};
use crate::runner::claims::Claim;
use crate::runner::exec::{ScenarioRun, StepResult, check_driver, fail};
use crate::scenario::arguments::{StepCx, unknown_rule};
use crate::scenario::fixtures::FixtureKind;
use crate::scenario::raw::Scalar;

/// Order states of the shop driver contract.
const ORDER_STATES: &[&str] = &["pending", "paid", "canceled", "failed"];

/// `expect_purchase`: how the system answered the latest scan's createPurchase.
#[derive(Debug, Clone)]
pub struct ExpectPurchase {
    pub outcome: PurchaseOutcome,
    pub error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectPurchaseArgs {
    outcome: String,
    error_code: Option<String>,
}

impl Kind for ExpectPurchase {
    const KEY: &'static str = "expect_purchase";
    type Args = ExpectPurchaseArgs;
    const JUDGES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ExpectPurchaseArgs) -> Option<Self> {
        let outcome = cx.choice(
            "outcome",
            &a.outcome,
            &[
                ("accepted", PurchaseOutcome::Accepted),
                ("declined", PurchaseOutcome::Declined),
                ("violation", PurchaseOutcome::Violation),
            ],
        )?;
        if let Some(code) = &a.error_code {
            cx.error_code(code);
            if outcome != PurchaseOutcome::Declined {
                cx.problem("error_code", "an error_code goes with outcome: declined");
            }
        }
        Some(Self { outcome, error_code: a.error_code })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let Some(report) = &run.last_purchase else {
            return Err(fail("a scan before expect_purchase", "no purchase yet"));
        };
        let expected = match &self.error_code {
            Some(code) => format!("{} with errorCode {code}", self.outcome.as_str()),
            None => self.outcome.as_str().to_owned(),
        };
        if purchase_matches(report, self.outcome, self.error_code.as_deref()) {
            Ok(())
        } else {
            Err(fail(format!("createPurchase {expected}"), describe_purchase(report)))
        }
    }
}

/// `expect_race`: how many of the race's customers were accepted (the others declined).
#[derive(Debug, Clone)]
pub struct ExpectRace {
    pub accepted: u32,
    pub error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectRaceArgs {
    #[serde(default = "one")]
    accepted: u32,
    error_code: Option<String>,
}

fn one() -> u32 {
    1
}

impl Kind for ExpectRace {
    const KEY: &'static str = "expect_race";
    type Args = ExpectRaceArgs;
    const JUDGES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ExpectRaceArgs) -> Option<Self> {
        if let Some(code) = &a.error_code {
            cx.error_code(code);
        }
        cx.after_step("race");
        Some(Self { accepted: a.accepted, error_code: a.error_code })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let error_code = self.error_code.as_deref();
        let got = run.race.iter().filter(|r| matches!(r.outcome, MockOutcome::Accepted { .. })).count();
        let others_ok = run
            .race
            .iter()
            .filter(|r| !matches!(r.outcome, MockOutcome::Accepted { .. }))
            .all(|r| purchase_matches(r, PurchaseOutcome::Declined, error_code));
        let accepted = self.accepted;
        let expected = match error_code {
            Some(code) => format!("{accepted} accepted, the others declined with {code}"),
            None => format!("{accepted} accepted, the others declined"),
        };
        if got == accepted as usize && others_ok {
            Ok(())
        } else {
            let actual: Vec<String> = run.race.iter().map(describe_purchase).collect();
            Err(fail(expected, actual.join("; ")))
        }
    }
}

/// `expect_status`: the invoice's status at Glase, within a window or throughout one.
#[derive(Debug, Clone)]
pub struct ExpectStatus {
    pub invoice: InvoiceRef,
    pub status: InvoiceStatus,
    pub timing: Timing,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectStatusArgs {
    status: String,
    invoice: Option<String>,
    within: Option<Scalar>,
    during: Option<Scalar>,
}

impl Kind for ExpectStatus {
    const KEY: &'static str = "expect_status";
    type Args = ExpectStatusArgs;
    const JUDGES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ExpectStatusArgs) -> Option<Self> {
        let status = InvoiceStatus::parse(a.status.trim());
        if status.is_none() {
            let all: Vec<&str> = InvoiceStatus::ALL.iter().map(|s| s.as_str()).collect();
            cx.problem("status", format!("unknown status {:?}; expected one of {}", a.status, all.join(", ")));
        }
        let timing = cx.timing(a.within.as_ref(), a.during.as_ref());
        Some(Self { invoice: cx.invoice(a.invoice), status: status?, timing: timing? })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let reference = run.invoice(&self.invoice)?;
        let mock = run.mock;
        let current = || mock.invoice(&reference).map(|v| v.record.status);
        let wanted = self.status;
        run.wait_for(self.timing, || {
            let now = current();
            (now == Some(wanted), now.map_or("no such invoice".to_owned(), |s| s.to_string()))
        })
        .await
        .map_err(|mut missed| {
            missed.actual = format!("{}{}", missed.actual, history(mock, &reference));
            missed.into_error(format!("invoice {reference} {} {wanted}", run.timing_words(self.timing)))
        })
    }
}

/// `expect_machine`: the machine driver's state of a machine (default: the one the
/// latest scan was at).
#[derive(Debug, Clone)]
pub struct ExpectMachine {
    pub machine: Option<String>,
    pub state: String,
    pub timing: Timing,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectMachineArgs {
    machine: Option<String>,
    state: String,
    within: Option<Scalar>,
    during: Option<Scalar>,
}

impl Kind for ExpectMachine {
    const KEY: &'static str = "expect_machine";
    type Args = ExpectMachineArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Machine);

    fn resolve(cx: &mut StepCx<'_>, a: ExpectMachineArgs) -> Option<Self> {
        if !MachineShows::ALL.iter().any(|s| s.as_str() == a.state) {
            let names: Vec<&str> = MachineShows::ALL.iter().map(|s| s.as_str()).collect();
            let message = format!("unknown machine state {:?}; expected one of {}", a.state, names.join(", "));
            cx.problem("state", message);
        }
        let timing = cx.timing(a.within.as_ref(), a.during.as_ref())?;
        Some(Self { machine: a.machine, state: a.state, timing })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let machine = run.machine_or_last(self.machine.as_deref())?;
        let driver = run.machine_driver()?.clone();
        let state = &self.state;
        run.wait_for_async(self.timing, || async {
            let answer = driver.machine(&machine).await?;
            let now = answer.field("state").unwrap_or("?").to_owned();
            Ok((now == *state, if answer.ok() { now } else { answer.to_string() }))
        })
        .await?
        .map_err(|missed| missed.into_error(format!("machine {machine} {} {state}", run.timing_words(self.timing))))?;
        if matches!(self.timing, Timing::Within(_)) {
            run.note_driver("driver-answer", format!("{machine} is {state}"));
        }
        Ok(())
    }

    fn claim(&self, claim: &mut Claim) {
        claim.machines.extend(self.machine.clone());
    }

    fn fixtures(&mut self) -> Vec<(FixtureKind, &mut String)> {
        self.machine.iter_mut().map(|m| (FixtureKind::Machine, m)).collect()
    }
}

/// `expect_order`: the shop driver's state of the scenario's order.
#[derive(Debug, Clone)]
pub struct ExpectOrder {
    pub state: String,
    pub timing: Timing,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectOrderArgs {
    state: String,
    within: Option<Scalar>,
    during: Option<Scalar>,
}

impl Kind for ExpectOrder {
    const KEY: &'static str = "expect_order";
    type Args = ExpectOrderArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Shop);

    fn resolve(cx: &mut StepCx<'_>, a: ExpectOrderArgs) -> Option<Self> {
        if !ORDER_STATES.contains(&a.state.as_str()) {
            let message = format!("unknown order state {:?}; expected one of {}", a.state, ORDER_STATES.join(", "));
            cx.problem("state", message);
        }
        let timing = cx.timing(a.within.as_ref(), a.during.as_ref())?;
        cx.after_step("checkout");
        Some(Self { state: a.state, timing })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let order = run.order()?;
        let (driver, counter) = run.counter()?;
        let driver = driver.clone();
        let state = &self.state;
        run.wait_for_async(self.timing, || async {
            let answer = driver.order(counter, &order).await?;
            let now = answer.field("state").unwrap_or("?").to_owned();
            Ok((now == *state, if answer.ok() { now } else { answer.to_string() }))
        })
        .await?
        .map_err(|missed| {
            missed.into_error(format!("{} {order} {} {state}", counter.order_noun(), run.timing_words(self.timing)))
        })?;
        if matches!(self.timing, Timing::Within(_)) {
            run.note_driver("driver-answer", format!("{} {order} is {state}", counter.order_noun()));
        }
        Ok(())
    }
}

/// `expect_refund`: how the shop answered the latest `refund`.
#[derive(Debug, Clone)]
pub struct ExpectRefund {
    pub outcome: DriverOutcome,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectRefundArgs {
    outcome: String,
}

impl Kind for ExpectRefund {
    const KEY: &'static str = "expect_refund";
    type Args = ExpectRefundArgs;
    const JUDGES: bool = true;
    const DRIVER: Option<Driver> = Some(Driver::Shop);

    fn resolve(cx: &mut StepCx<'_>, a: ExpectRefundArgs) -> Option<Self> {
        let outcome = cx.driver_outcome(Some(&a.outcome), &["ok", "refused"])?;
        cx.after_step("refund");
        Some(Self { outcome })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let Some(answer) = &run.last_refund else {
            return Err(fail("a refund before expect_refund", "no refund yet"));
        };
        check_driver(answer, self.outcome, "refund")
    }
}

/// `expect_payment`: the invoice's payment at Glase, its amount and what was refunded.
#[derive(Debug, Clone)]
pub struct ExpectPayment {
    pub invoice: InvoiceRef,
    pub amount: Option<Decimal>,
    pub refunded: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectPaymentArgs {
    invoice: Option<String>,
    amount: Option<Scalar>,
    refunded: Option<Scalar>,
}

impl Kind for ExpectPayment {
    const KEY: &'static str = "expect_payment";
    type Args = ExpectPaymentArgs;
    const JUDGES: bool = true;

    fn resolve(cx: &mut StepCx<'_>, a: ExpectPaymentArgs) -> Option<Self> {
        let amount = a.amount.as_ref().and_then(|m| cx.money("amount", m));
        let refunded = a.refunded.as_ref().and_then(|m| cx.money("refunded", m));
        Some(Self { invoice: cx.invoice(a.invoice), amount, refunded })
    }

    async fn execute(&self, run: &mut ScenarioRun<'_>) -> StepResult {
        let reference = run.invoice(&self.invoice)?;
        let payment = run.mock.invoice(&reference).and_then(|v| v.payment);
        let Some(payment) = payment else {
            return Err(fail(
                format!("a payment for invoice {reference}"),
                format!("none{}", history(run.mock, &reference)),
            ));
        };
        if let Some(amount) = self.amount
            && payment.amount != amount
        {
            return Err(fail(format!("payment of {amount:.2}"), format!("{:.2} {}", payment.amount, payment.currency)));
        }
        if let Some(refunded) = self.refunded
            && payment.refunded() != refunded
        {
            return Err(fail(format!("{refunded:.2} refunded"), format!("{:.2} refunded", payment.refunded())));
        }
        Ok(())
    }
}

/// `expect_findings`: exactly these rules must fire (a negative scenario). Judged
/// after the scenario, over its findings.
#[derive(Debug, Clone)]
pub struct ExpectFindings {
    pub rules: Vec<String>,
}

impl Kind for ExpectFindings {
    const KEY: &'static str = "expect_findings";
    type Args = Vec<String>;

    fn resolve(cx: &mut StepCx<'_>, ids: Vec<String>) -> Option<Self> {
        for id in &ids {
            if !(cx.known_rule)(id) {
                cx.problem("", unknown_rule(id));
            }
        }
        Some(Self { rules: ids.iter().map(|id| id.trim().to_ascii_uppercase()).collect() })
    }

    async fn execute(&self, _run: &mut ScenarioRun<'_>) -> StepResult {
        Ok(())
    }
}

fn purchase_matches(report: &PurchaseReport, outcome: PurchaseOutcome, error_code: Option<&str>) -> bool {
    match (&report.outcome, outcome) {
        (MockOutcome::Accepted { .. }, PurchaseOutcome::Accepted) => true,
        (MockOutcome::Declined { error_code: got }, PurchaseOutcome::Declined) => error_code.is_none_or(|c| c == got),
        (MockOutcome::Violation { .. }, PurchaseOutcome::Violation) => true,
        _ => false,
    }
}

fn describe_purchase(report: &PurchaseReport) -> String {
    match &report.outcome {
        MockOutcome::Accepted { invoice_reference } => format!("accepted with invoice {invoice_reference}"),
        MockOutcome::Declined { error_code } => format!("declined with errorCode {error_code}"),
        MockOutcome::Violation { violation } => format!("protocol violation: {violation}"),
    }
}

/// `; history: ISSUED → RESERVED (customer confirmed reservation), …`
fn history(mock: &Mock, reference: &str) -> String {
    let Some(view) = mock.invoice(reference) else { return String::new() };
    if view.record.history.is_empty() {
        return String::new();
    }
    let steps: Vec<String> =
        view.record.history.iter().map(|h| format!("{} → {} ({})", h.from, h.to, h.reason)).collect();
    format!("; history: {}", steps.join(", "))
}
