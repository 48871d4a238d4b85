//! Runs one sequence of actions against the system under test through the embedded
//! mock: each customer, machine and Glase action, judged by the model. Then the
//! sequence quiesces (`idle`), and the rules are checked over its journal (`journal`).
//!
//! Every step waits until the reseller has reacted (an unlock, a release) or the time
//! it is allowed for that has passed, so the next action meets a settled system and a
//! sequence means the same thing every time it is run. What could not be carried out
//! at all (a driver that does not answer, a customer action the mock rejects for a
//! reason of its own) is an [`ExecError`], not a failure of the system under test.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use glase_protocol::InvoiceStatus;
use mock_glase::Mock;
use mock_glase::journal::Entry;
use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::ups::{PurchaseOutcome, PurchaseReport, ScanOptions};
use mock_glase::machine::{FaultAction, FaultRule, FaultTarget};
use rust_decimal::Decimal;
use serde_json::json;

use super::action::{Action, Choice, GlaseFault, Offer};
use super::fleet::Machine;
use super::journal;
use super::model::{
    End, Failure, Hold, Model, Property, Purchase, ScanExpectation, Timing, VendExpectation, human, money,
};
use super::sut::{RunSystem, SutError, System};
use crate::runner::{Harness, MERCHANT};

/// How often a reaction is re-checked while waiting for it.
pub(super) const POLL: Duration = Duration::from_millis(25);
/// How long a state the reseller sets while answering may take to show (generous: a
/// correct reseller shows it at once, and a loaded test machine must not look like a bug).
const PROMPT: Duration = Duration::from_secs(2);
const PIN: &str = "1234";
const WRONG_PIN: &str = "0000";
/// Every explored customer's wallet: enough for any selection.
const WALLET: Decimal = Decimal::from_parts(100_000, 0, 0, false, 2);

/// Customers are new for every scan, across runs: a number for each.
static CUSTOMERS: AtomicU64 = AtomicU64::new(1);

/// How to judge a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub timing: Timing,
    /// SHOULD findings of the rules fail the run too.
    pub strict: bool,
}

/// What one run showed.
#[derive(Debug)]
pub(crate) struct RunResult {
    pub failure: Option<Failure>,
    pub fleet: Vec<Machine>,
    /// The run's journal (its merchant's entries, earlier runs' invoices left out).
    pub journal: Vec<Entry>,
    /// One line per action: what it led to.
    pub log: Vec<String>,
}

/// Why a run could not be carried out at all (not a finding about the system).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    #[error(transparent)]
    Sut(#[from] SutError),
    #[error("the machine driver did not answer: {0}")]
    Unreachable(String),
    #[error("the embedded Glase could not carry out a customer action: {0}")]
    Harness(String),
}

impl ExecError {
    /// Whether the system under test could not be reached (exit code 3).
    pub fn unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::Sut(SutError::Unreachable { .. }))
    }
}

/// Why a step stopped the run.
pub(super) enum Stop {
    Failed(Failure),
    Error(ExecError),
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Self::Failed(failure)
    }
}

pub(super) type Step<T = String> = Result<T, Stop>;

pub(super) fn fail(property: Property, expected: impl Into<String>, actual: impl Into<String>) -> Stop {
    Stop::Failed(Failure::property(property, expected, actual))
}

/// Runs `actions` against a fresh run of `system` on `machines` machines.
pub(crate) async fn run_sequence(
    harness: &Harness,
    system: &System,
    http: &reqwest::Client,
    machines: usize,
    actions: &[Action],
    settings: Settings,
) -> Result<RunResult, ExecError> {
    let mock = harness.mock();
    let earlier: HashSet<String> = mock.invoices(None).into_iter().map(|r| r.reference.to_string()).collect();
    let start_seq = mock.journal_stats().2;
    // An external system's machines may still be finishing the previous run.
    let patience = settings.timing.idle_timeout + settings.timing.reaction();
    let sut = system.begin(harness, http, machines, patience).await?;
    let model = Model::new(sut.fleet.clone(), settings.timing);
    let mut run = Execution { mock, sut, model, faults_added: false, log: Vec::new() };
    let mut failure = None;
    for (index, action) in actions.iter().enumerate() {
        match run.step(action).await {
            Ok(note) => run.log.push(format!("{}. {} → {note}", index + 1, action.describe(&run.model.fleet))),
            Err(Stop::Failed(mut found)) => {
                run.log.push(format!("{}. {} → FAILED", index + 1, action.describe(&run.model.fleet)));
                found.step = Some(index + 1);
                failure = Some(found);
                break;
            }
            Err(Stop::Error(error)) => {
                run.tidy_up().await;
                return Err(error);
            }
        }
    }
    if failure.is_none() {
        match run.quiesce().await {
            Ok(()) => {}
            Err(Stop::Failed(found)) => {
                run.note_last("FAILED");
                failure = Some(found);
            }
            Err(Stop::Error(error)) => {
                run.tidy_up().await;
                return Err(error);
            }
        }
    }
    run.tidy_up().await;
    let mut journal = journal::cut(mock, start_seq, &earlier);
    if failure.is_none()
        && let Some(due) = journal::unanswered_until(&journal, settings.timing.status_deadline)
    {
        // The status rules conclude only once a deadline has passed in the journal:
        // wait for it, so they conclude the same way every time the sequence runs.
        let wait = Duration::from_millis(due.0.saturating_sub(mock.now().0));
        tokio::time::sleep(wait + POLL).await;
        journal = journal::cut(mock, start_seq, &earlier);
    }
    journal.push(journal::end_marker(mock, &journal));
    if failure.is_none() {
        failure = journal::rule_failure(harness, &journal, settings.strict);
    }
    Ok(RunResult { failure, fleet: run.model.fleet.clone(), journal, log: run.log })
}

/// One run in progress.
pub(super) struct Execution<'a> {
    pub mock: &'a Mock,
    pub sut: RunSystem,
    pub model: Model,
    pub faults_added: bool,
    /// One line per action (and per thing the executor did between actions).
    pub log: Vec<String>,
}

impl Execution<'_> {
    async fn step(&mut self, action: &Action) -> Step {
        self.let_stale_holds_run_out().await?;
        if let Some(machine) = action.machine() {
            if machine >= self.model.fleet.len() {
                return Ok(format!("skipped: the fleet has no machine #{}", machine + 1));
            }
            if matches!(self.model.hold(machine), Hold::Abandoned(_)) {
                self.log.push(format!("   (first the idle timer of {} runs out)", self.token(machine)));
            }
            self.await_release(machine).await?;
            self.check_still_held(machine).await?;
        }
        match action {
            Action::Scan { machine, offer } => self.scan(*machine, *offer).await,
            Action::ScanTogether { machine, customers } => self.scan_together(*machine, usize::from(*customers)).await,
            Action::Confirm { machine } => self.confirm(*machine).await,
            Action::WrongPin { machine } => self.wrong_pin(*machine).await,
            Action::Cancel { machine } => self.cancel(*machine).await,
            Action::WalkAway { machine } => Ok(self.walk_away(*machine)),
            Action::Vend { machine, choice } => self.vend(*machine, choice).await,
            Action::Fault(fault) => self.fault(*fault),
        }
    }

    pub(super) fn token(&self, machine: usize) -> String {
        self.model.machine(machine).map(|m| m.token.clone()).unwrap_or_default()
    }

    pub(super) fn last_seq(&self) -> u64 {
        self.mock.journal_stats().2
    }

    // ---- customers at the machine ----

    async fn scan(&mut self, machine: usize, offer: Offer) -> Step {
        let token = self.token(machine);
        let amount = match offer {
            Offer::Default => None,
            Offer::BelowCheapest => self
                .model
                .machine(machine)
                .and_then(Machine::cheapest)
                .map(|c| (c - Decimal::new(1, 2)).max(Decimal::ZERO)),
        };
        let before = self.model.hold(machine).driver_state();
        let expectation = self.model.expect_scan(machine, offer);
        let started = Instant::now();
        let msisdn = new_customer(self.mock);
        let report = purchase(self.mock, &token, &msisdn, amount).await.map_err(Stop::Error)?;
        match (expectation, &report.outcome) {
            (ScanExpectation::Accepted, PurchaseOutcome::Accepted { invoice_reference }) => {
                let invoice = invoice_reference.clone();
                let purchase =
                    Purchase { invoice: invoice.clone(), msisdn, reserved: None, started, active_since: started };
                self.model.start(machine, purchase);
                self.expect_state(machine, "reserved", PROMPT, Property::ScanStartsPurchase).await?;
                Ok(format!("accepted, invoice {invoice}"))
            }
            (ScanExpectation::Accepted, _) => Err(fail(
                Property::ScanStartsPurchase,
                format!("createPurchase for {token} accepted with a reservation invoice"),
                outcome_text(&report),
            )),
            (ScanExpectation::Declined(codes, property), PurchaseOutcome::Declined { error_code })
                if codes.contains(&error_code.as_str()) =>
            {
                self.expect_state(machine, before, PROMPT, property).await?;
                Ok(format!("declined with {error_code}"))
            }
            (ScanExpectation::Declined(codes, property), _) => Err(fail(
                property,
                format!("createPurchase for {token} declined with {}", codes.join(" or ")),
                outcome_text(&report),
            )),
        }
    }

    async fn scan_together(&mut self, machine: usize, customers: usize) -> Step {
        let token = self.token(machine);
        let before = self.model.hold(machine).driver_state();
        let expectation = self.model.expect_race(machine, customers);
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(customers);
        for _ in 0..customers {
            let msisdn = new_customer(self.mock);
            let (mock, token) = (self.mock.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let report = purchase(&mock, &token, &msisdn, None).await;
                (msisdn, report)
            }));
        }
        let mut reports = Vec::with_capacity(customers);
        for task in tasks {
            let (msisdn, report) = task.await.map_err(|e| Stop::Error(ExecError::Harness(e.to_string())))?;
            reports.push((msisdn, report.map_err(Stop::Error)?));
        }
        let accepted: Vec<(&String, &String)> = reports
            .iter()
            .filter_map(|(msisdn, r)| match &r.outcome {
                PurchaseOutcome::Accepted { invoice_reference } => Some((msisdn, invoice_reference)),
                _ => None,
            })
            .collect();
        let others_fine = reports.iter().all(|(_, r)| match &r.outcome {
            PurchaseOutcome::Accepted { .. } => true,
            PurchaseOutcome::Declined { error_code } => expectation.codes.contains(&error_code.as_str()),
            PurchaseOutcome::Violation { .. } => false,
        });
        let refused = reports
            .iter()
            .filter(|(_, r)| matches!(&r.outcome, PurchaseOutcome::Declined { error_code } if error_code == "INVOICING_ERROR"))
            .count();
        self.model.refusals_used(refused);
        let (low, high) = expectation.accepted;
        let answers: Vec<String> = reports.iter().map(|(_, r)| outcome_text(r)).collect();
        if !(low..=high).contains(&accepted.len()) || !others_fine {
            let broke_protocol = reports.iter().any(|(_, r)| matches!(r.outcome, PurchaseOutcome::Violation { .. }));
            let property = match (before, broke_protocol) {
                // The same property as for one scan, so shrinking can get down to one.
                ("idle", true) => Property::ScanStartsPurchase,
                ("idle", false) => Property::OneOfConcurrentScans,
                _ => Property::DeviceInUse,
            };
            let wanted = if high == 0 {
                format!("all {customers} declined with {}", expectation.codes.join(" or "))
            } else if low == high {
                format!(
                    "exactly one of {customers} accepted, the others declined with {}",
                    expectation.codes.join(" or ")
                )
            } else {
                format!(
                    "at most one of {customers} accepted, the others declined with {}",
                    expectation.codes.join(" or ")
                )
            };
            return Err(fail(property, format!("createPurchase for {token}: {wanted}"), answers.join("; ")));
        }
        if let Some((msisdn, invoice)) = accepted.first() {
            let purchase = Purchase {
                invoice: (*invoice).clone(),
                msisdn: (*msisdn).clone(),
                reserved: None,
                started,
                active_since: started,
            };
            self.model.start(machine, purchase);
            self.expect_state(machine, "reserved", PROMPT, Property::OneOfConcurrentScans).await?;
        } else {
            self.expect_state(machine, before, PROMPT, Property::OneOfConcurrentScans).await?;
        }
        Ok(answers.join("; "))
    }

    async fn confirm(&mut self, machine: usize) -> Step {
        let Hold::Confirming(purchase) = self.model.hold(machine).clone() else {
            return Ok("skipped: nobody is confirming there".to_owned());
        };
        let token = self.token(machine);
        let mark = self.last_seq();
        let confirmation = self
            .mock
            .confirm(&purchase.invoice, Some(&purchase.msisdn), None)
            .map(|(c, _)| c)
            .map_err(|e| self.refused(Property::UnlockAfterConfirm, &purchase, &e.to_string()))?;
        if matches!(confirmation, Confirmation::WrongPin | Confirmation::InsufficientFunds) {
            return Err(Stop::Error(ExecError::Harness(format!("the right PIN was refused: {confirmation:?}"))));
        }
        let window = self.model.timing.reaction();
        let waited = self.wait_state(machine, "unlocked", window).await?;
        // The reseller's idle clock starts when it unlocks the machine (UPS-IDLE-RELEASE:
        // "arm an idle timer when the machine unlocks"), which can be a poll interval after
        // the confirmation when the notification was lost: measured from when the unlock
        // was seen, never earlier.
        let unlocked_at = Instant::now();
        if let Err(seen) = waited {
            return Err(fail(
                Property::UnlockAfterConfirm,
                format!("{token} unlocked within {} of the confirmation", human(window)),
                format!("{token} is {seen}; invoice {}", self.invoice_text(&purchase.invoice)),
            ));
        }
        let fetched = self.calls("getPaymentStatus", mark, Some(&purchase.invoice));
        if fetched == 0 {
            return Err(fail(
                Property::StatusBeforeUnlock,
                format!("getPaymentStatus for invoice {} (RESERVED) before {token} unlocks", purchase.invoice),
                format!("{token} unlocked without a getPaymentStatus since the confirmation"),
            ));
        }
        let reserved = self.mock.invoice(&purchase.invoice).and_then(|v| v.record.reserved_amount);
        self.model.unlock(machine, reserved, unlocked_at);
        Ok(format!("unlocked, {} reserved", reserved.map_or("?".to_owned(), money)))
    }

    async fn wrong_pin(&mut self, machine: usize) -> Step {
        let Hold::Confirming(purchase) = self.model.hold(machine).clone() else {
            return Ok("skipped: nobody is confirming there".to_owned());
        };
        let confirmation = self
            .mock
            .confirm(&purchase.invoice, Some(&purchase.msisdn), Some(WRONG_PIN))
            .map(|(c, _)| c)
            .map_err(|e| self.refused(Property::NoUnlockWithoutConfirm, &purchase, &e.to_string()))?;
        if confirmation != Confirmation::WrongPin {
            return Err(Stop::Error(ExecError::Harness(format!("a wrong PIN was taken: {confirmation:?}"))));
        }
        // Nothing tells the reseller about a wrong PIN: a short look is enough.
        tokio::time::sleep(POLL * 2).await;
        self.expect_state(machine, "reserved", Duration::ZERO, Property::NoUnlockWithoutConfirm).await?;
        Ok("wrong PIN; still reserved".to_owned())
    }

    pub(super) async fn cancel(&mut self, machine: usize) -> Step {
        let Hold::Confirming(purchase) = self.model.hold(machine).clone() else {
            return Ok("skipped: nobody is confirming there".to_owned());
        };
        let token = self.token(machine);
        self.mock
            .cancel(&purchase.invoice, Some(&purchase.msisdn))
            .map_err(|e| self.refused(Property::ReleaseOnCancel, &purchase, &e.to_string()))?;
        let window = self.model.timing.reaction();
        let released = self.wait_released(machine, &purchase.invoice, window, true).await?;
        if let Err(seen) = released {
            return Err(fail(
                Property::ReleaseOnCancel,
                format!("{token} idle (never unlocked) within {} of the cancellation", human(window)),
                seen,
            ));
        }
        self.model.release(machine, End::Canceled);
        Ok("cancelled; machine released".to_owned())
    }

    pub(super) fn walk_away(&mut self, machine: usize) -> String {
        match self.model.hold(machine).clone() {
            Hold::Confirming(purchase) => {
                // Closing the app frees the invoice for the reseller's cancelInvoice.
                let _ = self.mock.walk_away(&purchase.invoice);
                self.model.abandon(machine);
                "left the app; the reseller must release the machine after its idle timeout".to_owned()
            }
            Hold::Unlocked(_) => {
                self.model.abandon(machine);
                "left the unlocked machine; the reseller must release it after its idle timeout".to_owned()
            }
            _ => "skipped: nobody is at the machine".to_owned(),
        }
    }

    pub(super) async fn vend(&mut self, machine: usize, choice: &Choice) -> Step {
        let token = self.token(machine);
        let hold = self.model.hold(machine).clone();
        let reserved = match &hold {
            Hold::Unlocked(p) => p.reserved,
            _ => None,
        };
        let (items, total) = self.model.selection(machine, choice, reserved);
        let expectation = self.model.expect_vend(machine, total);
        let mark = self.last_seq();
        let body =
            json!({ "items": items.iter().map(|(sku, q)| json!({ "sku": sku, "quantity": q })).collect::<Vec<_>>() });
        let answer =
            self.sut.driver.vend(&token, &body).await.map_err(|e| Stop::Error(ExecError::Unreachable(e.detail)))?;
        let invoice = hold.purchase().map(|p| p.invoice.clone());
        match expectation {
            VendExpectation::Paid(total) => {
                self.vend_paid(machine, &token, &answer, &invoice.unwrap_or_default(), total).await
            }
            VendExpectation::Canceled => {
                let invoice = invoice.unwrap_or_default();
                let canceled = self.mock.invoice(&invoice).map(|v| v.record.status) == Some(InvoiceStatus::Canceled);
                if !(answer.ok() && answer.field("outcome") == Some("canceled") && canceled) {
                    return Err(fail(
                        Property::EmptyVendCancels,
                        format!("vend of nothing at {token}: 200, outcome canceled, invoice {invoice} CANCELED"),
                        format!("{answer}; invoice {}", self.invoice_text(&invoice)),
                    ));
                }
                self.expect_state(machine, "idle", PROMPT, Property::EmptyVendCancels).await?;
                self.model.release(machine, End::Canceled);
                Ok("took nothing; reservation cancelled".to_owned())
            }
            VendExpectation::Refused => {
                let why = match &hold {
                    Hold::Unlocked(_) => format!("{} is more than reserved", money(total)),
                    other => format!("{token} is {}, not unlocked", other.driver_state()),
                };
                if answer.status != 409 {
                    return Err(fail(
                        Property::VendRefused,
                        format!("vend at {token} refused with 409 ({why})"),
                        answer.to_string(),
                    ));
                }
                let commits = self.calls("commitReservation", mark, None);
                if commits > 0 {
                    return Err(fail(
                        Property::VendRefused,
                        format!("no commitReservation for a refused vend ({why})"),
                        format!("{commits} commitReservation call(s)"),
                    ));
                }
                self.expect_state(machine, hold.driver_state(), Duration::ZERO, Property::VendRefused).await?;
                Ok(format!("refused (409): {why}"))
            }
        }
    }

    /// A vend the model expects paid: the driver says so, Glase has the vended total as
    /// the payment, and the machine is idle again.
    async fn vend_paid(
        &mut self,
        machine: usize,
        token: &str,
        answer: &crate::drivers::Answer,
        invoice: &str,
        total: Decimal,
    ) -> Step {
        let total_text = money(total);
        if !(answer.ok() && answer.field("outcome") == Some("paid")) {
            return Err(fail(
                Property::VendCommitsTotal,
                format!("vend at {token}: 200, outcome paid, total {total_text}"),
                format!("{answer}; invoice {}", self.invoice_text(invoice)),
            ));
        }
        let payment = self.mock.invoice(invoice).and_then(|v| v.payment).map(|p| p.amount);
        if payment != Some(total) {
            return Err(fail(
                Property::VendCommitsTotal,
                format!("invoice {invoice} PAID with {total_text} (the vended total)"),
                format!("paid {}; invoice {}", payment.map_or("nothing".to_owned(), money), self.invoice_text(invoice)),
            ));
        }
        self.expect_state(machine, "idle", PROMPT, Property::VendCommitsTotal).await?;
        self.model.release(machine, End::Paid(total));
        Ok(format!("paid {total_text}"))
    }

    fn fault(&mut self, fault: GlaseFault) -> Step {
        let (target, action) = match fault {
            GlaseFault::SendInvoiceRefused => ("sendInvoice", FaultAction::ResultCode(90)),
            GlaseFault::NotificationLost => ("notification", FaultAction::DropConnection),
            GlaseFault::StatusUnavailable => ("getPaymentStatus", FaultAction::HttpStatus(503)),
            GlaseFault::SlowCommit => ("commitReservation", FaultAction::Delay(Duration::from_millis(200))),
        };
        let target = FaultTarget::parse(target)
            .ok_or_else(|| Stop::Error(ExecError::Harness(format!("the mock knows no fault target {target}"))))?;
        // Armed mid-run, for the next matching call whatever its invoice (no
        // `issued_from`): the model expects exactly that (each run has a mock of its own).
        let rule =
            FaultRule { merchant: Some(MERCHANT.to_owned()), remaining: Some(1), ..FaultRule::new(target, action) };
        self.mock.add_fault(rule).map_err(|e| Stop::Error(ExecError::Harness(e.to_string())))?;
        self.faults_added = true;
        if fault == GlaseFault::SendInvoiceRefused {
            self.model.arm_refusal();
        }
        Ok("armed for the next call".to_owned())
    }
}

/// A new customer with the standard PIN and a full wallet.
fn new_customer(mock: &Mock) -> String {
    let n = CUSTOMERS.fetch_add(1, Ordering::Relaxed);
    let msisdn = format!("4678{:08}", n % 100_000_000);
    mock.set_customer(&msisdn, Some(PIN), Some(WALLET));
    msisdn
}

/// One customer scanning the machine: the UPS calls createPurchase.
async fn purchase(
    mock: &Mock,
    token: &str,
    msisdn: &str,
    amount: Option<Decimal>,
) -> Result<PurchaseReport, ExecError> {
    let options = ScanOptions { amount, notify_early: false };
    mock.unattended_purchase(MERCHANT, token, Some(msisdn), &options)
        .await
        .map(|(report, _)| report)
        .map_err(|e| ExecError::Harness(format!("scan of {token}: {e}")))
}

fn outcome_text(report: &PurchaseReport) -> String {
    match &report.outcome {
        PurchaseOutcome::Accepted { invoice_reference } => format!("accepted with invoice {invoice_reference}"),
        PurchaseOutcome::Declined { error_code } => format!("declined with {error_code}"),
        PurchaseOutcome::Violation { violation } => format!("an answer that breaks the protocol: {violation}"),
    }
}
