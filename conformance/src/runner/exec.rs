//! One scenario's execution: its state (the invoices it made, the last purchase, the
//! order), each step, each expectation with polling, and the tidy-up afterwards.
//!
//! Isolation: the system under test has one configured terminal, so scenarios share it.
//! Each has its own customer (msisdn), records the journal position it started at, and
//! leaves nothing open behind it (unconfirmed invoices are cancelled by their customer,
//! unlocked machines are given an empty choice). Its journal and its call counts are its
//! merchants' entries after that position that [`super::attribution`] says are its own,
//! however it runs ([`Sharing`]): beside others (`--jobs`) it takes turns with them to
//! make invoices and tidies up only its own invoices and machines; alone (and with
//! `--jobs 1`) its whole run is one turn.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use glase_protocol::InvoiceStatus;
use mock_glase::journal::{Entry, Filter, Record};
use mock_glase::machine::customer::{Confirmation, CustomerError};
use mock_glase::machine::ups::{PurchaseOutcome as MockOutcome, PurchaseReport, ScanOptions};
use mock_glase::machine::{Event, FaultAction, FaultRule, FaultTarget};
use mock_glase::mock::ExtraNotification;
use mock_glase::{Mock, Timestamp};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::Target;
use super::attribution::{self, Attributor, Invoicing};
use super::harness::{Harness, MERCHANT};
use super::machines::Ledger;
use super::waits::{Waits, Window};
use crate::drivers::{Answer, DriverClient as Driver, Unreachable};
use crate::rules::{self, CheckContext};
use crate::scenario::{
    CallScope, ConfirmOutcome, DriverOutcome, FaultKind, FaultSpec, InvoiceRef, Item, Mark, NotifyKind,
    PurchaseOutcome, Scenario, Step, Timing, Wait,
};

/// How often expectations are re-checked while they wait.
const POLL: Duration = Duration::from_millis(25);
/// The PIN every scenario customer gets.
const PIN: &str = "1234";
const WRONG_PIN: &str = "0000";
/// A scenario customer's wallet unless the scenario sets one.
const WALLET: Decimal = Decimal::from_parts(100_000, 0, 0, false, 2);
/// After the scenario, how long the journal must stay quiet before it is cut…
const QUIET: Duration = Duration::from_millis(150);
/// …but no longer than this.
const SETTLE_LIMIT: Duration = Duration::from_secs(3);

/// Why a step did not hold.
#[derive(Debug)]
pub(crate) enum StepError {
    Failed {
        expected: String,
        actual: String,
    },
    /// The expectation did not hold within a window `--patience` had cut: that proves
    /// nothing, so the scenario is inconclusive (see [`super::waits`]).
    Inconclusive {
        expected: String,
        actual: String,
        reason: String,
    },
    /// The step does not apply to this system (a notification to forge for a shop that
    /// gives no notificationUrl, which is optional): the scenario is skipped from here,
    /// with this reason.
    NotApplicable(String),
    /// A driver could not be reached: the scenario's verdict is `Error`.
    Unreachable(String),
}

fn fail(expected: impl Into<String>, actual: impl Into<String>) -> StepError {
    StepError::Failed { expected: expected.into(), actual: actual.into() }
}

/// An expectation that did not hold within its window.
#[derive(Debug)]
struct Missed {
    /// What held instead, at the end.
    actual: String,
    /// Why the window was shorter than asked (`--patience`), if it was.
    cut: Option<String>,
}

impl Missed {
    fn into_error(self, expected: String) -> StepError {
        match self.cut {
            Some(reason) => StepError::Inconclusive { expected, actual: self.actual, reason },
            None => StepError::Failed { expected, actual: self.actual },
        }
    }
}

impl From<Unreachable> for StepError {
    fn from(error: Unreachable) -> Self {
        Self::Unreachable(error.detail)
    }
}

type StepResult = Result<(), StepError>;

/// How a scenario shares the mock with the others running beside it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sharing<'a> {
    /// The run's turns at making invoices (and the windows that tell whose entry is whose).
    pub invoicing: &'a Invoicing,
    /// Beside others: the machines the scenario claimed (the only ones its tidy-up
    /// touches), and it takes a turn for each step that makes invoices. `None`: it runs
    /// alone, and the runner holds one turn for its whole run (see `run_one`).
    pub machines: Option<&'a BTreeSet<String>>,
    /// The machines earlier scenarios left held (see `machines`).
    pub ledger: &'a Ledger,
}

impl Sharing<'_> {
    fn alone(&self) -> bool {
        self.machines.is_none()
    }
}

/// One scenario being run.
pub(crate) struct ScenarioRun<'a> {
    harness: &'a Harness,
    mock: &'a Mock,
    target: &'a Target,
    machine_driver: Option<Driver>,
    shop_driver: Option<Driver>,
    /// Journal position when the scenario began: its entries come after it.
    pub start_seq: u64,
    /// The mock's time when the scenario began: its faults leave earlier invoices alone.
    started_at: Timestamp,
    /// The scenario's own customer.
    msisdn: String,
    /// Extra customers for races, numbered per scenario.
    index: usize,
    /// Merchants whose journal entries belong to this scenario.
    pub merchants: Vec<String>,
    current: Option<String>,
    named: HashMap<String, String>,
    /// Who has (or had) each invoice in the app.
    owners: HashMap<String, String>,
    last_machine: Option<String>,
    last_purchase: Option<PurchaseReport>,
    race: Vec<PurchaseReport>,
    order: Option<String>,
    last_refund: Option<Answer>,
    /// Journal position just before the latest step of each kind.
    marks: HashMap<&'static str, u64>,
    /// Machines the scenario took out of service and has not put back yet.
    out_of_service: BTreeSet<String>,
    pub deadline_scale: f64,
    faults_added: bool,
    /// The system's declared timers and `--patience`: how long each wait lasts.
    waits: Waits,
    sharing: Sharing<'a>,
}

impl<'a> ScenarioRun<'a> {
    pub fn new(
        harness: &'a Harness,
        target: &'a Target,
        http: &reqwest::Client,
        index: usize,
        waits: Waits,
        sharing: Sharing<'a>,
    ) -> Self {
        let mock = &harness.mock;
        Self {
            harness,
            mock,
            target,
            machine_driver: target
                .machine_driver
                .as_deref()
                .map(|url| Driver::new(url, http.clone(), target.driver_token.as_deref())),
            shop_driver: target
                .shop_driver
                .as_deref()
                .map(|url| Driver::new(url, http.clone(), target.driver_token.as_deref())),
            start_seq: mock.journal_stats().2,
            started_at: mock.now(),
            msisdn: format!("4670{:07}", index + 1),
            index,
            merchants: vec![MERCHANT.to_owned()],
            current: None,
            named: HashMap::new(),
            owners: HashMap::new(),
            last_machine: None,
            last_purchase: None,
            race: Vec::new(),
            order: None,
            last_refund: None,
            marks: HashMap::new(),
            out_of_service: BTreeSet::new(),
            deadline_scale: harness.deadline_scale,
            faults_added: false,
            waits,
            sharing,
        }
    }

    /// The invoice the latest scan, race or checkout produced.
    pub fn current_invoice(&self) -> Option<String> {
        self.current.clone()
    }

    /// The journal's latest position (steps are judged between two of them).
    pub fn journal_position(&self) -> u64 {
        self.last_seq()
    }

    fn last_seq(&self) -> u64 {
        self.mock.journal_stats().2
    }

    /// Creates the scenario's customer and applies `setup`.
    pub fn setup(&mut self, scenario: &Scenario) -> StepResult {
        let wallet = scenario.setup.wallet.unwrap_or(WALLET);
        self.mock.set_customer(&self.msisdn, Some(PIN), Some(wallet));
        if let Some(scale) = scenario.setup.deadline_scale {
            self.mock.set_deadline_scale(scale).map_err(|e| fail("a valid deadline scale", e.to_string()))?;
            self.deadline_scale = scale;
        }
        for fault in &scenario.setup.faults {
            self.add_fault(fault)?;
        }
        self.start_seq = self.last_seq();
        Ok(())
    }

    pub async fn step(&mut self, step: &Step) -> StepResult {
        // Beside others, invoices are made in turns: see `attribution`. (Alone, the whole
        // run is one turn already.)
        let invoicing = self.sharing.invoicing;
        let turn = if !self.sharing.alone() && makes_invoices(step) {
            Some(invoicing.open(self.index, || self.last_seq()).await)
        } else {
            None
        };
        let mark = self.last_seq();
        let result = self.execute(step).await;
        if let Some(turn) = turn {
            invoicing.close(turn, self.last_seq());
        }
        self.marks.insert(step.kind(), mark);
        result
    }

    async fn execute(&mut self, step: &Step) -> StepResult {
        match step {
            Step::Scan { machine, amount, notify_early, currency, alias } => {
                let merchant = match currency {
                    Some(currency) => {
                        let url = self.target.create_purchase_url.as_deref().unwrap_or_default();
                        let id = self
                            .harness
                            .merchant_in(currency, url)
                            .map_err(|e| fail("a merchant in that currency", e.to_string()))?;
                        if !self.merchants.contains(&id) {
                            self.merchants.push(id.clone());
                        }
                        id
                    }
                    None => MERCHANT.to_owned(),
                };
                let options = ScanOptions { amount: *amount, notify_early: *notify_early };
                let (report, _) = self
                    .mock
                    .unattended_purchase(&merchant, machine, Some(&self.msisdn), &options)
                    .await
                    .map_err(|e| fail("the UPS to call createPurchase", e.to_string()))?;
                if let MockOutcome::Accepted { invoice_reference } = &report.outcome {
                    self.adopt(invoice_reference, alias.as_deref(), &self.msisdn.clone());
                }
                self.last_machine = Some(machine.clone());
                self.last_purchase = Some(report);
                Ok(())
            }
            Step::ScanInvoice { invoice } => {
                let reference = self.invoice(invoice)?;
                let qr = mock_glase::Machine::invoice_qr(&reference);
                let msisdn = self.owner(&reference);
                self.mock
                    .scan(&qr, Some(&msisdn))
                    .map_err(|e| fail("the customer to open the invoice", e.to_string()))?;
                Ok(())
            }
            Step::Confirm { invoice, pin, outcome } => {
                let reference = self.invoice(invoice)?;
                let msisdn = self.owner(&reference);
                let (confirmation, view) = self
                    .mock
                    .confirm(&reference, Some(&msisdn), pin.as_deref())
                    .map_err(|e| fail("the customer to confirm", e.to_string()))?;
                let got = confirmation_name(confirmation);
                match outcome {
                    Some(expected) if expected.as_str() != got => Err(fail(
                        format!("confirmation: {}", expected.as_str()),
                        format!("{got} (invoice {})", view.record.status),
                    )),
                    None if matches!(confirmation, Confirmation::WrongPin | Confirmation::InsufficientFunds) => {
                        Err(fail("confirmation: paid or reserved", format!("{got} (invoice {})", view.record.status)))
                    }
                    _ => Ok(()),
                }
            }
            Step::WrongPin { invoice } => {
                let reference = self.invoice(invoice)?;
                let msisdn = self.owner(&reference);
                let (confirmation, _) = self
                    .mock
                    .confirm(&reference, Some(&msisdn), Some(WRONG_PIN))
                    .map_err(|e| fail("the customer to enter a PIN", e.to_string()))?;
                if confirmation == Confirmation::WrongPin {
                    Ok(())
                } else {
                    Err(fail("wrong PIN", confirmation_name(confirmation)))
                }
            }
            Step::Cancel { invoice } => {
                let reference = self.invoice(invoice)?;
                let msisdn = self.owner(&reference);
                self.mock
                    .cancel(&reference, Some(&msisdn))
                    .map_err(|e| fail("the customer to cancel", e.to_string()))?;
                Ok(())
            }
            Step::WalkAway { invoice } => {
                let reference = self.invoice(invoice)?;
                self.mock.walk_away(&reference).map_err(|e| fail("the customer to walk away", e.to_string()))?;
                Ok(())
            }
            Step::SetWallet { balance } => {
                self.mock.set_customer(&self.msisdn, None, Some(*balance));
                Ok(())
            }
            Step::Race { machine, amount, customers, alias } => {
                self.race(machine, *amount, *customers, alias.as_deref()).await
            }

            Step::Vend { machine, items: chosen, expect } => {
                let machine = match machine.as_deref().or(self.last_machine.as_deref()) {
                    Some(machine) => machine.to_owned(),
                    None => return Err(fail("a machine (name one, or scan first)", "none")),
                };
                let what = format!("{machine}: the customer takes {}", describe_items(chosen));
                let body = json!({ "items": items(chosen) });
                let answer = self.drive(what, self.machine_driver()?.vend(&machine, &body)).await?;
                check_driver(&answer, expect.unwrap_or(DriverOutcome::Ok), "vend")
            }
            Step::OutOfService { machine, expect } | Step::InService { machine, expect } => {
                let in_service = matches!(step, Step::InService { .. });
                let action = if in_service { "in-service" } else { "out-of-service" };
                let call = self.machine_driver()?.set_in_service(machine, in_service);
                let answer = self.drive(format!("{machine}: {action}"), call).await?;
                if answer.ok() {
                    if !in_service {
                        self.out_of_service.insert(machine.clone());
                    } else {
                        self.out_of_service.remove(machine);
                    }
                }
                check_driver(&answer, expect.unwrap_or(DriverOutcome::Ok), action)
            }
            Step::Checkout { items: chosen, alias, expect } => {
                let body = json!({ "items": items(chosen) });
                let what = format!("checkout: {}", describe_items(chosen));
                let answer = self.drive(what, self.shop_driver()?.checkout(&body)).await?;
                if *expect == DriverOutcome::Failed {
                    return if answer.ok() {
                        Err(fail(
                            "checkout: failed (not 2xx: the shop could not create the invoice)",
                            answer.to_string(),
                        ))
                    } else {
                        Ok(())
                    };
                }
                let (order, reference) = created_order(&answer).map_err(|problem| {
                    fail(
                        "checkout: 201 with orderId (a string) and invoiceReference (a string)",
                        format!("{problem}: {answer}"),
                    )
                })?;
                self.order = Some(order);
                self.adopt(&reference, alias.as_deref(), &self.msisdn.clone());
                Ok(())
            }
            Step::Refund { amount, expect } => {
                let order = self.order()?;
                let body = match amount {
                    Some(amount) => json!({ "amount": format!("{amount:.2}") }),
                    None => json!({}),
                };
                let what = match amount {
                    Some(amount) => format!("refund {amount:.2} of order {order}"),
                    None => format!("refund what is left of order {order}"),
                };
                let answer = self.drive(what, self.shop_driver()?.refund(&order, &body)).await?;
                self.last_refund = Some(answer.clone());
                match expect {
                    Some(expect) => check_driver(&answer, *expect, "refund"),
                    None => Ok(()),
                }
            }
            Step::ShopCancel { expect } => {
                let order = self.order()?;
                let answer =
                    self.drive(format!("staff cancel order {order}"), self.shop_driver()?.cancel(&order)).await?;
                check_driver(&answer, expect.unwrap_or(DriverOutcome::Ok), "cancel")
            }
            Step::ShopClose => {
                let answer = self.drive("close the period".to_owned(), self.shop_driver()?.close()).await?;
                check_driver(&answer, DriverOutcome::Ok, "close")
            }

            Step::Fault(spec) => self.add_fault(spec),
            Step::ClearFaults => {
                self.mock.clear_faults(None);
                Ok(())
            }
            Step::AdvanceClock(by) => {
                self.mock.advance_clock(*by).map_err(|e| fail("the clock to move", e.to_string()))?;
                Ok(())
            }
            Step::Wait(wait) => {
                tokio::time::sleep(self.waits.length(*wait, self.status_deadline())).await;
                Ok(())
            }
            Step::Notify { kind, invoice, delay } => {
                let reference = self.invoice(invoice)?;
                let kind = match kind {
                    NotifyKind::Forged => ExtraNotification::Forged,
                    NotifyKind::Duplicate => ExtraNotification::Duplicate,
                };
                match self.mock.send_extra_notification(&reference, kind, None, *delay) {
                    Ok(_) => Ok(()),
                    Err(CustomerError::NoNotificationUrl(_)) => Err(StepError::NotApplicable(format!(
                        "invoice {reference} has no notificationUrl (the parameter is optional, seed 002): \
                         there is no notification to send, so the rest of this scenario does not apply"
                    ))),
                    Err(error) => Err(fail("a notification to send", error.to_string())),
                }
            }

            Step::ExpectPurchase { outcome, error_code } => {
                let Some(report) = &self.last_purchase else {
                    return Err(fail("a scan before expect_purchase", "no purchase yet"));
                };
                let expected = match error_code {
                    Some(code) => format!("{} with errorCode {code}", outcome.as_str()),
                    None => outcome.as_str().to_owned(),
                };
                if purchase_matches(report, *outcome, error_code.as_deref()) {
                    Ok(())
                } else {
                    Err(fail(format!("createPurchase {expected}"), describe_purchase(report)))
                }
            }
            Step::ExpectRace { accepted, error_code } => {
                let got = self.race.iter().filter(|r| matches!(r.outcome, MockOutcome::Accepted { .. })).count();
                let others_ok = self
                    .race
                    .iter()
                    .filter(|r| !matches!(r.outcome, MockOutcome::Accepted { .. }))
                    .all(|r| purchase_matches(r, PurchaseOutcome::Declined, error_code.as_deref()));
                let expected = match error_code {
                    Some(code) => format!("{accepted} accepted, the others declined with {code}"),
                    None => format!("{accepted} accepted, the others declined"),
                };
                if got == *accepted as usize && others_ok {
                    Ok(())
                } else {
                    let actual: Vec<String> = self.race.iter().map(describe_purchase).collect();
                    Err(fail(expected, actual.join("; ")))
                }
            }
            Step::ExpectStatus { invoice, status, timing } => {
                let reference = self.invoice(invoice)?;
                let mock = self.mock;
                let current = || mock.invoice(&reference).map(|v| v.record.status);
                let wanted = *status;
                self.wait_for(*timing, || {
                    let now = current();
                    (now == Some(wanted), now.map_or("no such invoice".to_owned(), |s| s.to_string()))
                })
                .await
                .map_err(|mut missed| {
                    missed.actual = format!("{}{}", missed.actual, history(mock, &reference));
                    missed.into_error(format!("invoice {reference} {} {wanted}", self.timing_words(*timing)))
                })
            }
            Step::ExpectCall { operation, within, min, max, after, scope } => {
                let window = self.window(*within);
                let since = self.mark_seq(after, scope, window.length).await?;
                let invoice = self.scope_invoice(scope, operation.name())?;
                let count = |run: &Self| run.calls(operation.name(), since, invoice.as_deref()).len();
                let deadline = tokio::time::Instant::now() + window.length;
                let mut seen = count(self);
                while seen < *min as usize && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(POLL).await;
                    seen = count(self);
                }
                let range = match max {
                    Some(max) if max == min => format!("exactly {min}"),
                    Some(max) => format!("{min} to {max}"),
                    None => format!("at least {min}"),
                };
                let whose = invoice.as_deref().map(|i| format!(" for invoice {i}")).unwrap_or_default();
                let expected =
                    format!("{range} {}{whose} {} within {}", operation.name(), mark_words(after), window.described);
                let actual = format!("{seen} call(s){}", self.exchanged(invoice.as_deref()));
                if max.is_some_and(|max| seen > max as usize) {
                    Err(fail(expected, actual))
                } else if seen < *min as usize {
                    Err(Missed { actual, cut: window.cut }.into_error(expected))
                } else {
                    Ok(())
                }
            }
            Step::ExpectNoCall { operation, during, after, scope } => {
                let invoice = self.scope_invoice(scope, operation.name())?;
                let since = match after {
                    Mark::Start => self.start_seq,
                    other => self.mark_seq(other, scope, Duration::ZERO).await?,
                };
                let deadline = tokio::time::Instant::now() + *during;
                loop {
                    let calls = self.calls(operation.name(), since, invoice.as_deref());
                    if let Some(first) = calls.first() {
                        let whose = invoice.as_deref().map(|i| format!(" for invoice {i}")).unwrap_or_default();
                        return Err(fail(
                            format!("no {}{whose} {}", operation.name(), mark_words(after)),
                            format!(
                                "{} call(s), the first at journal #{}{}",
                                calls.len(),
                                first.seq,
                                self.exchanged(invoice.as_deref())
                            ),
                        ));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Ok(());
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
            Step::ExpectMachine { machine, state, timing } => {
                let machine = match machine.as_deref().or(self.last_machine.as_deref()) {
                    Some(machine) => machine.to_owned(),
                    None => return Err(fail("a machine (name one, or scan first)", "none")),
                };
                let driver = self.machine_driver()?.clone();
                self.wait_for_async(*timing, || async {
                    let answer = driver.machine(&machine).await?;
                    let now = answer.field("state").unwrap_or("?").to_owned();
                    Ok((now == *state, if answer.ok() { now } else { answer.to_string() }))
                })
                .await?
                .map_err(|missed| {
                    missed.into_error(format!("machine {machine} {} {state}", self.timing_words(*timing)))
                })?;
                if matches!(timing, Timing::Within(_)) {
                    self.note_driver("driver-answer", format!("{machine} is {state}"));
                }
                Ok(())
            }
            Step::ExpectOrder { state, timing } => {
                let order = self.order()?;
                let driver = self.shop_driver()?.clone();
                self.wait_for_async(*timing, || async {
                    let answer = driver.order(&order).await?;
                    let now = answer.field("state").unwrap_or("?").to_owned();
                    Ok((now == *state, if answer.ok() { now } else { answer.to_string() }))
                })
                .await?
                .map_err(|missed| missed.into_error(format!("order {order} {} {state}", self.timing_words(*timing))))?;
                if matches!(timing, Timing::Within(_)) {
                    self.note_driver("driver-answer", format!("order {order} is {state}"));
                }
                Ok(())
            }
            Step::ExpectRefund { outcome } => {
                let Some(answer) = &self.last_refund else {
                    return Err(fail("a refund before expect_refund", "no refund yet"));
                };
                check_driver(answer, *outcome, "refund")
            }
            Step::ExpectPayment { invoice, amount, refunded } => {
                let reference = self.invoice(invoice)?;
                let payment = self.mock.invoice(&reference).and_then(|v| v.payment);
                let Some(payment) = payment else {
                    return Err(fail(
                        format!("a payment for invoice {reference}"),
                        format!("none{}", history(self.mock, &reference)),
                    ));
                };
                if let Some(amount) = amount
                    && payment.amount != *amount
                {
                    return Err(fail(
                        format!("payment of {amount:.2}"),
                        format!("{:.2} {}", payment.amount, payment.currency),
                    ));
                }
                if let Some(refunded) = refunded
                    && payment.refunded() != *refunded
                {
                    return Err(fail(format!("{refunded:.2} refunded"), format!("{:.2} refunded", payment.refunded())));
                }
                Ok(())
            }
            // Judged after the scenario, over its findings.
            Step::ExpectFindings(_) => Ok(()),
        }
    }

    async fn race(
        &mut self,
        machine: &str,
        amount: Option<Decimal>,
        customers: u32,
        alias: Option<&str>,
    ) -> StepResult {
        let mut tasks = Vec::new();
        for n in 0..customers {
            let msisdn = format!("4680{:05}{n:02}", self.index + 1);
            self.mock.set_customer(&msisdn, Some(PIN), Some(WALLET));
            let mock = self.mock.clone();
            let machine = machine.to_owned();
            let options = ScanOptions { amount, notify_early: false };
            tasks.push(tokio::spawn(async move {
                let result = mock.unattended_purchase(MERCHANT, &machine, Some(&msisdn), &options).await;
                (msisdn, result)
            }));
        }
        self.race.clear();
        for task in tasks {
            let (msisdn, result) = task.await.map_err(|e| fail("the race's scans to finish", e.to_string()))?;
            let (report, _) = result.map_err(|e| fail("the UPS to call createPurchase", e.to_string()))?;
            if let MockOutcome::Accepted { invoice_reference } = &report.outcome {
                self.adopt(invoice_reference, alias, &msisdn);
            }
            self.race.push(report);
        }
        self.last_machine = Some(machine.to_owned());
        self.last_purchase = self.race.first().cloned();
        Ok(())
    }

    fn adopt(&mut self, reference: &str, alias: Option<&str>, msisdn: &str) {
        self.current = Some(reference.to_owned());
        self.owners.insert(reference.to_owned(), msisdn.to_owned());
        if let Some(alias) = alias {
            self.named.insert(alias.to_owned(), reference.to_owned());
        }
    }

    fn add_fault(&mut self, spec: &FaultSpec) -> StepResult {
        let target =
            FaultTarget::parse(&spec.operation).ok_or_else(|| fail("a known fault target", spec.operation.clone()))?;
        let action = match &spec.action {
            FaultKind::ResultCode(code) => FaultAction::ResultCode(*code),
            FaultKind::SoapFault(text) => FaultAction::SoapFault(text.clone()),
            FaultKind::HttpStatus(status) => FaultAction::HttpStatus(*status),
            FaultKind::Delay(delay) => FaultAction::Delay(*delay),
            FaultKind::DropConnection => FaultAction::DropConnection,
        };
        let rule = FaultRule {
            id: 0,
            target,
            terminal: None,
            merchant: Some(MERCHANT.to_owned()),
            action,
            remaining: spec.times,
            probability: None,
            // A late call about an earlier scenario's invoice (a retry, a background poll)
            // must not take this one's fault. Faults run alone, so every invoice issued
            // since the scenario began is its own.
            issued_from: Some(self.started_at),
        };
        self.mock.add_fault(rule).map_err(|e| fail("the fault to be accepted", e.to_string()))?;
        self.faults_added = true;
        Ok(())
    }

    fn invoice(&self, reference: &InvoiceRef) -> Result<String, StepError> {
        match reference {
            InvoiceRef::Current => {
                self.current.clone().ok_or_else(|| fail("an invoice (from an accepted scan or a checkout)", "none yet"))
            }
            InvoiceRef::Named(name) => self
                .named
                .get(name)
                .cloned()
                .ok_or_else(|| fail(format!("invoice `{name}`"), "its step made no invoice")),
        }
    }

    fn owner(&self, reference: &str) -> String {
        self.owners.get(reference).cloned().unwrap_or_else(|| self.msisdn.clone())
    }

    fn order(&self) -> Result<String, StepError> {
        self.order.clone().ok_or_else(|| fail("an order (checkout first)", "none yet"))
    }

    /// Calls a driver (POST), noting the call and its answer in the journal, where the
    /// reports' sequence diagrams draw them in the machine/shop lane. `what` is how the
    /// call reads for people.
    async fn drive(
        &self,
        what: String,
        call: impl std::future::Future<Output = Result<Answer, Unreachable>>,
    ) -> Result<Answer, StepError> {
        // The call starts when awaited: the note comes first in the journal.
        self.note_driver("driver", what);
        let answer = call.await?;
        self.note_driver("driver-answer", summary(&answer));
        Ok(answer)
    }

    /// A note about the machine or shop, filed under the scenario's merchant and its
    /// current invoice (so it is this scenario's, however many run beside it).
    fn note_driver(&self, action: &str, detail: String) {
        self.mock.note_for(MERCHANT, action, detail, self.current.as_deref());
    }

    fn machine_driver(&self) -> Result<&Driver, StepError> {
        self.machine_driver.as_ref().ok_or_else(|| fail("a machine driver (--machine-driver)", "none configured"))
    }

    fn shop_driver(&self) -> Result<&Driver, StepError> {
        self.shop_driver.as_ref().ok_or_else(|| fail("a shop driver (--shop-driver)", "none configured"))
    }

    /// The invoice a call count is about: `None` counts every call.
    fn scope_invoice(&self, scope: &CallScope, operation: &str) -> Result<Option<String>, StepError> {
        match scope {
            CallScope::Any => Ok(None),
            CallScope::Invoice(reference) => self.invoice(reference).map(Some),
            CallScope::Default if INVOICE_OPERATIONS.contains(&operation) => Ok(self.current.clone()),
            CallScope::Default => Ok(None),
        }
    }

    /// The journal position a count starts after.
    async fn mark_seq(&self, mark: &Mark, scope: &CallScope, within: Duration) -> Result<u64, StepError> {
        match mark {
            Mark::Start => Ok(self.start_seq),
            Mark::Step(kind) => Ok(self.marks.get(kind.as_str()).copied().unwrap_or(self.start_seq)),
            Mark::Notification => {
                let invoice = match scope {
                    CallScope::Invoice(reference) => self.invoice(reference)?,
                    _ => self.invoice(&InvoiceRef::Current)?,
                };
                // What sends a notification: a status change, or the kit sending one.
                // (A notificationSent entry is written when the answer is in, which can
                // be after the getPaymentStatus it triggered: not a usable mark.)
                let deadline = tokio::time::Instant::now() + within;
                loop {
                    let filter =
                        Filter { after: Some(self.start_seq), invoice: Some(invoice.clone()), ..Filter::default() };
                    let cause = self.mock.journal(&filter).into_iter().rev().find(|e| match &e.record {
                        Record::Machine { event: Event::Transition { .. } } => true,
                        Record::Control { action, .. } => action == "sendNotification",
                        _ => false,
                    });
                    if let Some(entry) = cause {
                        return Ok(entry.seq);
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(fail(format!("a notification for invoice {invoice}"), "none was sent"));
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// SOAP requests of `operation` from this scenario's merchants after `since`.
    fn calls(&self, operation: &str, since: u64, invoice: Option<&str>) -> Vec<Entry> {
        self.entries_since(since, invoice)
            .into_iter()
            .filter(|e| e.merchant.as_deref().is_some_and(|m| self.merchants.iter().any(|ours| ours == m)))
            .filter(|e| matches!(&e.record, Record::SoapRequest { operation: Some(op), .. } if op == operation))
            .collect()
    }

    /// Its own entries after `since` (about `invoice` if given).
    fn entries_since(&self, since: u64, invoice: Option<&str>) -> Vec<Entry> {
        // An invoice a step names is the scenario's own, and so is every entry about it.
        if invoice.is_some() {
            let filter = Filter { after: Some(since), invoice: invoice.map(str::to_owned), ..Filter::default() };
            return self.mock.journal(&filter);
        }
        self.own_entries().into_iter().filter(|e| e.seq > since).collect()
    }

    /// The numbered list of SOAP calls exchanged for the invoice (or the scenario), for
    /// a failure message.
    fn exchanged(&self, invoice: Option<&str>) -> String {
        let lines: Vec<String> = self
            .entries_since(self.start_seq, invoice)
            .iter()
            .filter_map(|e| match &e.record {
                Record::SoapRequest { operation: Some(op), .. } => Some(format!("#{} {op}", e.seq)),
                Record::SoapResponse { operation: Some(op), result_code, http_status, .. } => Some(match result_code {
                    Some(code) => format!("#{} {op} → {code}", e.seq),
                    None => format!("#{} {op} → HTTP {http_status}", e.seq),
                }),
                Record::NotificationSent { http_status, attempt, .. } => Some(format!(
                    "#{} notification attempt {attempt} → {}",
                    e.seq,
                    http_status.map_or("no answer".to_owned(), |s| s.to_string())
                )),
                Record::Machine { event: Event::Transition { from, to, .. } } => {
                    Some(format!("#{} {from} → {to}", e.seq))
                }
                _ => None,
            })
            .collect();
        if lines.is_empty() { String::new() } else { format!("; exchanged: {}", lines.join(", ")) }
    }

    /// The scenario's status deadline (Glase's, at the scenario's deadline scale).
    pub fn status_deadline(&self) -> Duration {
        self.harness.status_deadline(self.deadline_scale)
    }

    /// How long `wait` lasts here, and whether `--patience` cut it.
    fn window(&self, wait: Wait) -> Window {
        self.waits.window(wait, self.status_deadline())
    }

    /// `(window, throughout)` of a timing.
    fn timing_window(&self, timing: Timing) -> (Window, bool) {
        match timing {
            Timing::Within(wait) => (self.window(wait), false),
            Timing::During(d) => {
                (Window { length: d, cut: None, described: humantime::format_duration(d).to_string() }, true)
            }
        }
    }

    /// `within 5s to be`, `within --idle-timeout 1m + 5s = 1m 5s to be`, `for 1s to stay`.
    fn timing_words(&self, timing: Timing) -> String {
        match timing {
            Timing::Within(wait) => format!("within {} to be", self.window(wait).described),
            Timing::During(d) => format!("for {} to stay", humantime::format_duration(d)),
        }
    }

    /// Polls a synchronous condition: `(holds, what it is now)`.
    async fn wait_for(&self, timing: Timing, mut check: impl FnMut() -> (bool, String)) -> Result<(), Missed> {
        let (window, throughout) = self.timing_window(timing);
        let deadline = tokio::time::Instant::now() + window.length;
        loop {
            let (holds, now) = check();
            match (holds, throughout) {
                (true, false) => return Ok(()),
                (false, true) => return Err(Missed { actual: now, cut: None }),
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return if throughout { Ok(()) } else { Err(Missed { actual: now, cut: window.cut }) };
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls an asynchronous condition (a driver call).
    async fn wait_for_async<F, Fut>(&self, timing: Timing, mut check: F) -> Result<Result<(), Missed>, StepError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(bool, String), Unreachable>>,
    {
        let (window, throughout) = self.timing_window(timing);
        let deadline = tokio::time::Instant::now() + window.length;
        loop {
            let (holds, now) = check().await?;
            match (holds, throughout) {
                (true, false) => return Ok(Ok(())),
                (false, true) => return Ok(Err(Missed { actual: now, cut: None })),
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(if throughout { Ok(()) } else { Err(Missed { actual: now, cut: window.cut }) });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Leaves nothing open: faults cleared, the deadline scale restored, unconfirmed
    /// invoices cancelled by their customer, unlocked machines given an empty choice,
    /// machines it took out of service put back. Then waits for the system under test
    /// to go quiet.
    pub async fn tidy_up(&mut self) {
        if let Some(driver) = &self.machine_driver {
            for machine in std::mem::take(&mut self.out_of_service) {
                let _ = driver.set_in_service(&machine, true).await;
            }
        }
        if self.faults_added {
            self.mock.clear_faults(None);
        }
        if (self.deadline_scale - self.harness.deadline_scale).abs() > f64::EPSILON {
            let _ = self.mock.set_deadline_scale(self.harness.deadline_scale);
        }
        // Beside others, only its own invoices and machines: theirs are still in use.
        // Alone, whatever is open (nothing is in use by anyone else).
        let own = (!self.sharing.alone()).then(|| self.own_invoices());
        let open: Vec<_> = self
            .mock
            .invoices(None)
            .into_iter()
            .filter(|r| r.reseller == MERCHANT || self.merchants.iter().any(|m| r.reseller == *m))
            .filter(|r| own.as_ref().is_none_or(|own| own.iter().any(|o| r.reference == *o)))
            .filter(|r| matches!(r.status, InvoiceStatus::Issued | InvoiceStatus::Reserved))
            .collect();
        for record in &open {
            if record.status == InvoiceStatus::Issued {
                let msisdn =
                    record.opened_by.as_ref().map_or_else(|| self.owner(&record.reference), ToString::to_string);
                let _ = self.mock.cancel(&record.reference, Some(&msisdn));
            }
        }
        if open.iter().any(|r| r.status == InvoiceStatus::Reserved)
            && let Some(driver) = &self.machine_driver
            && let Ok(list) = driver.machines().await
        {
            let machines = list.body.get("machines").and_then(Value::as_array).cloned().unwrap_or_default();
            for machine in machines {
                if machine.get("state").and_then(Value::as_str) == Some("unlocked")
                    && let Some(token) = machine.get("token").and_then(Value::as_str)
                    && self.sharing.machines.is_none_or(|machines| machines.contains(token))
                {
                    let _ = driver.vend(token, &json!({ "items": [] })).await;
                }
            }
        }
        self.settle().await;
    }

    /// Waits until the journal has had no entry of ours for [`QUIET`] (at most
    /// [`SETTLE_LIMIT`]): late answers to the tidy-up belong to this scenario.
    async fn settle(&self) {
        let limit = tokio::time::Instant::now() + SETTLE_LIMIT;
        let mut seen = self.last_seq();
        let mut last = self.last_own_seq();
        let mut quiet_since = tokio::time::Instant::now();
        while tokio::time::Instant::now() < limit {
            tokio::time::sleep(POLL).await;
            // Nothing new at all is quiet; something new may be another scenario's.
            let now = self.last_seq();
            let own = if now == seen { last } else { self.last_own_seq() };
            seen = now;
            if own != last {
                last = own;
                quiet_since = tokio::time::Instant::now();
            } else if quiet_since.elapsed() >= QUIET {
                return;
            }
        }
    }

    /// The position of the scenario's latest entry (of any entry when it runs alone:
    /// then it also waits out the stragglers of earlier scenarios, which are not its own
    /// but would otherwise arrive during the next one).
    fn last_own_seq(&self) -> u64 {
        if self.sharing.alone() { self.last_seq() } else { self.own_entries().last().map_or(self.start_seq, |e| e.seq) }
    }

    /// The scenario's journal: its merchants' entries since it started that are its own.
    pub fn journal(&self) -> Vec<Entry> {
        self.own_entries()
    }

    /// The scenario's journal once every deadline rule of `profile` can judge it, and
    /// when it was cut (the mock's clock, ms). A scenario may end before a deadline it
    /// started (a payment nobody fetched, a notification nobody answered): the rule
    /// would have nothing to decide on, so this waits until the deadline has passed or
    /// its outcome is in the journal — at most twice the status deadline.
    pub async fn decided_journal(&self, profile: &str) -> (Vec<Entry>, u64) {
        let status_deadline = self.status_deadline();
        let limit = tokio::time::Instant::now() + status_deadline * 2 + Duration::from_secs(1);
        loop {
            let journal = self.journal();
            let now = self.mock.now().0;
            let ctx = CheckContext { journal: &journal, status_deadline, profile, cut_at_ms: Some(now) };
            match rules::undecided_until(&ctx) {
                Some(due) if due > now && tokio::time::Instant::now() < limit => {
                    tokio::time::sleep(Duration::from_millis(due - now).clamp(POLL, POLL * 8)).await;
                }
                _ => return (journal, now),
            }
        }
    }

    /// Its merchants' entries since it started.
    fn merchant_entries(&self) -> Vec<Entry> {
        self.mock
            .journal(&Filter { after: Some(self.start_seq), ..Filter::default() })
            .into_iter()
            .filter(|e| e.merchant.as_deref().is_some_and(|m| self.merchants.iter().any(|ours| ours == m)))
            .collect()
    }

    /// Its merchants' entries since it started that are its own ([`attribution`]).
    fn own_entries(&self) -> Vec<Entry> {
        let known = self.known_invoices();
        attribution::select(self.index, self.sharing.invoicing.windows(), self.merchant_entries(), &known)
    }

    /// The invoices it issued (in its turns), and those its steps adopted.
    fn own_invoices(&self) -> Vec<String> {
        let mut attributor = Attributor::new(self.sharing.invoicing.windows());
        attributor.learn(&self.merchant_entries());
        let mut invoices = attributor.invoices_of(self.index);
        for adopted in self.owners.keys() {
            if !invoices.contains(adopted) {
                invoices.push(adopted.clone());
            }
        }
        invoices
    }

    /// Whether Glase knows an invoice reference, remembered per call.
    fn known_invoices(&self) -> impl Fn(&str) -> bool + '_ {
        let cache: RefCell<HashMap<String, bool>> = RefCell::new(HashMap::new());
        move |invoice: &str| {
            *cache
                .borrow_mut()
                .entry(invoice.to_owned())
                .or_insert_with(|| self.mock.with_machine(|m| m.invoice(invoice).is_some()))
        }
    }
}

/// Steps that make the system under test issue invoices, or call Glase in ways that may
/// name no invoice (a refund of an order without an ersReference, cancels, the closing):
/// beside others, they take turns, so the calls they cause are theirs.
fn makes_invoices(step: &Step) -> bool {
    matches!(
        step,
        Step::Scan { .. }
            | Step::Race { .. }
            | Step::Vend { .. }
            | Step::OutOfService { .. }
            | Step::InService { .. }
            | Step::Checkout { .. }
            | Step::Refund { .. }
            | Step::ShopCancel { .. }
            | Step::ShopClose
    )
}

/// Operations that name an invoice (counted per invoice by default).
pub(crate) const INVOICE_OPERATIONS: &[&str] = &[
    "sendInvoice",
    "updateInvoice",
    "getPaymentStatus",
    "cancelInvoice",
    "commitReservation",
    "submitPaymentReceipt",
    "refundPayment",
];

/// `2 × cola, water` (nothing: `nothing`).
fn describe_items(items: &[Item]) -> String {
    if items.is_empty() {
        return "nothing".to_owned();
    }
    let each: Vec<String> = items
        .iter()
        .map(|i| if i.quantity == 1 { i.sku.clone() } else { format!("{} × {}", i.quantity, i.sku) })
        .collect();
    each.join(", ")
}

/// A driver's answer in a few words: `200 paid 6.20 EUR`, `409 the machine is not unlocked`.
fn summary(answer: &Answer) -> String {
    let mut words = vec![answer.status.to_string()];
    for field in ["outcome", "state", "error"] {
        if let Some(value) = answer.field(field) {
            words.push(value.to_owned());
            break;
        }
    }
    if let (Some(total), Some(currency)) = (answer.field("total"), answer.field("currency")) {
        words.push(format!("{total} {currency}"));
    }
    words.join(" ")
}

fn items(items: &[Item]) -> Value {
    Value::Array(items.iter().map(|i| json!({ "sku": i.sku, "quantity": i.quantity })).collect())
}

fn check_driver(answer: &Answer, expect: DriverOutcome, action: &str) -> StepResult {
    // `vend` says how it ended in `outcome`; a shop's cancel answers the order, whose
    // `state` says it.
    let ended = |word: &str| answer.field("outcome") == Some(word) || answer.field("state") == Some(word);
    let holds = match expect {
        DriverOutcome::Ok => answer.ok(),
        DriverOutcome::Paid => answer.ok() && ended("paid"),
        DriverOutcome::Canceled => answer.ok() && ended("canceled"),
        DriverOutcome::Refused => answer.status == 409,
        DriverOutcome::Failed => !answer.ok(),
    };
    if holds {
        return Ok(());
    }
    let expected = match expect {
        DriverOutcome::Ok => format!("{action}: 2xx"),
        DriverOutcome::Refused => format!("{action}: refused (409)"),
        DriverOutcome::Failed => format!("{action}: failed (4xx or 5xx)"),
        other => format!("{action}: 2xx with \"outcome\" (or \"state\") \"{}\"", other.as_str()),
    };
    let why = match expect {
        DriverOutcome::Paid | DriverOutcome::Canceled if answer.ok() => {
            match (answer.body.get("outcome"), answer.body.get("state")) {
                (None, None) => "neither `outcome` nor `state` in the answer: ".to_owned(),
                (Some(value), _) | (None, Some(value)) if !value.is_string() => {
                    format!("`outcome`/`state` is {value}, not a string: ")
                }
                _ => String::new(),
            }
        }
        _ => String::new(),
    };
    Err(fail(expected, format!("{why}{answer}")))
}

/// The order a checkout created: `orderId` (a string; a number is taken as its
/// digits) and `invoiceReference` (a string), or which field is wrong.
fn created_order(answer: &Answer) -> Result<(String, String), String> {
    if !answer.ok() {
        return Err(format!("the checkout was refused with HTTP {}", answer.status));
    }
    let field = |name: &str| match answer.body.get(name) {
        None => Err(format!("`{name}` is missing")),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
        Some(Value::String(_)) => Err(format!("`{name}` is empty")),
        Some(Value::Number(number)) if name == "orderId" => Ok(number.to_string()),
        Some(other) => Err(format!("`{name}` is {other}, not a string")),
    };
    Ok((field("orderId")?, field("invoiceReference")?))
}

fn confirmation_name(confirmation: Confirmation) -> &'static str {
    match confirmation {
        Confirmation::Paid => ConfirmOutcome::Paid.as_str(),
        Confirmation::Reserved => ConfirmOutcome::Reserved.as_str(),
        Confirmation::WrongPin => ConfirmOutcome::WrongPin.as_str(),
        Confirmation::InsufficientFunds => ConfirmOutcome::InsufficientFunds.as_str(),
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

fn mark_words(mark: &Mark) -> String {
    match mark {
        Mark::Start => "in this scenario".to_owned(),
        Mark::Notification => "after the notification".to_owned(),
        Mark::Step(kind) => format!("after `{kind}`"),
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
