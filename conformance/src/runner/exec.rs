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
use mock_glase::machine::ups::PurchaseReport;
use mock_glase::machine::{Event, FaultAction, FaultRule, FaultTarget};
use mock_glase::{Mock, Timestamp};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::attribution::{self, Attributor, Invoicing, Turn};
use super::harness::{Harness, MERCHANT};
use super::machines::Ledger;
use super::target::Target;
use super::waits::{Waits, Window};
use crate::drivers::{Answer, Counter, DriverClient as Driver, Unreachable};
use crate::rules::{self, CheckContext};
use crate::scenario::{Driver as Needs, Scenario};
use crate::step::values::{CallScope, DriverOutcome, FaultKind, FaultSpec, InvoiceRef, Item, Mark, Timing, Wait};

/// How often expectations are re-checked while they wait.
pub(crate) const POLL: Duration = Duration::from_millis(25);
/// The PIN every scenario customer gets.
pub(crate) const PIN: &str = "1234";
pub(crate) const WRONG_PIN: &str = "0000";
/// A scenario customer's wallet unless the scenario sets one.
pub(crate) const WALLET: Decimal = Decimal::from_parts(100_000, 0, 0, false, 2);
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

pub(crate) fn fail(expected: impl Into<String>, actual: impl Into<String>) -> StepError {
    StepError::Failed { expected: expected.into(), actual: actual.into() }
}

/// An expectation that did not hold within its window.
#[derive(Debug)]
pub(crate) struct Missed {
    /// What held instead, at the end.
    pub actual: String,
    /// Why the window was shorter than asked (`--patience`), if it was.
    pub cut: Option<String>,
}

impl Missed {
    pub fn into_error(self, expected: String) -> StepError {
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

pub(crate) type StepResult = Result<(), StepError>;

/// Where a step began: its turn at making invoices, if it took one, and the journal
/// position before it.
pub(crate) struct StepStart<'a> {
    turn: Option<Turn<'a>>,
    mark: u64,
}

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
    pub(crate) harness: &'a Harness,
    pub(crate) mock: &'a Mock,
    pub(crate) target: &'a Target,
    machine_driver: Option<Driver>,
    shop_driver: Option<Driver>,
    pos_driver: Option<Driver>,
    /// Where the shop steps (checkout, refund, …) sell: the till when the scenario
    /// needs the point-of-sale driver, else the webshop.
    counter: Counter,
    /// Journal position when the scenario began: its entries come after it.
    pub start_seq: u64,
    /// The mock's time when the scenario began: its faults leave earlier invoices alone.
    started_at: Timestamp,
    /// The scenario's own customer.
    pub(crate) msisdn: String,
    /// Extra customers for races, numbered per scenario.
    pub(crate) index: usize,
    /// Merchants whose journal entries belong to this scenario.
    pub merchants: Vec<String>,
    pub(crate) current: Option<String>,
    named: HashMap<String, String>,
    /// Who has (or had) each invoice in the app.
    owners: HashMap<String, String>,
    pub(crate) last_machine: Option<String>,
    pub(crate) last_purchase: Option<PurchaseReport>,
    pub(crate) race: Vec<PurchaseReport>,
    pub(crate) order: Option<String>,
    pub(crate) last_refund: Option<Answer>,
    /// Journal position just before the latest step of each kind.
    marks: HashMap<&'static str, u64>,
    /// Machines the scenario took out of service and has not put back yet.
    pub(crate) out_of_service: BTreeSet<String>,
    pub deadline_scale: f64,
    /// The fault rules it added: removed when it ends (by id, so a scenario beside it
    /// keeps its own).
    faults_added: Vec<u64>,
    /// The system's declared timers and `--patience`: how long each wait lasts.
    pub(crate) waits: Waits,
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
            pos_driver: target
                .pos_driver
                .as_deref()
                .map(|url| Driver::new(url, http.clone(), target.driver_token.as_deref())),
            counter: Counter::Shop,
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
            faults_added: Vec::new(),
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
        if scenario.requires.contains(&Needs::Pos) {
            self.counter = Counter::Till;
        }
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

    /// Begins a step: beside others, a step that makes invoices waits for its turn
    /// (see `attribution`; alone, the whole run is one turn already).
    pub(crate) async fn begin_step(&self, makes_invoices: bool) -> StepStart<'a> {
        let invoicing = self.sharing.invoicing;
        let turn = if !self.sharing.alone() && makes_invoices {
            Some(invoicing.open(self.index, || self.last_seq()).await)
        } else {
            None
        };
        StepStart { turn, mark: self.last_seq() }
    }

    /// Ends a step of kind `key`: its turn closes, and the journal position before it is
    /// kept as the mark `after: <key>` counts from.
    pub(crate) fn end_step(&mut self, start: StepStart<'a>, key: &'static str) {
        if let Some(turn) = start.turn {
            self.sharing.invoicing.close(turn, self.last_seq());
        }
        self.marks.insert(key, start.mark);
    }

    /// Makes `reference` the current invoice, owned by `msisdn`'s customer, and names it
    /// `alias` if given.
    pub(crate) fn adopt(&mut self, reference: &str, alias: Option<&str>, msisdn: &str) {
        self.current = Some(reference.to_owned());
        self.owners.insert(reference.to_owned(), msisdn.to_owned());
        if let Some(alias) = alias {
            self.named.insert(alias.to_owned(), reference.to_owned());
        }
    }

    /// Injects a fault for the demo merchant's calls (a `fault` step, or `setup.faults`).
    pub(crate) fn add_fault(&mut self, spec: &FaultSpec) -> StepResult {
        let target =
            FaultTarget::parse(&spec.operation).ok_or_else(|| fail("a known fault target", spec.operation.clone()))?;
        let action = match &spec.action {
            FaultKind::ResultCode(code) => FaultAction::ResultCode(*code),
            FaultKind::SoapFault(text) => FaultAction::SoapFault(text.clone()),
            FaultKind::HttpStatus(status) => FaultAction::HttpStatus(*status),
            FaultKind::Delay(delay) => FaultAction::Delay(*delay),
            FaultKind::DropConnection => FaultAction::DropConnection,
        };
        // Narrowed to the scenario's own calls where Glase can tell them: about its
        // invoice once it has one, else about invoices its customer opens or pays. Such
        // a scenario shares the mock (see `step::glase::Fault::claim`).
        let (invoice, customer) = match (fault_narrows(target), &self.current) {
            (false, _) => (None, None),
            (true, Some(current)) => (Some(current.clone()), None),
            (true, None) => (None, Some(self.msisdn.clone())),
        };
        let rule = FaultRule {
            merchant: Some(MERCHANT.to_owned()),
            remaining: spec.times,
            // A late call about an earlier scenario's invoice (a retry, a background poll)
            // must not take this one's fault. Unnarrowed faults run alone, so every
            // invoice issued since the scenario began is its own.
            issued_from: Some(self.started_at),
            invoice,
            customer,
            ..FaultRule::new(target, action)
        };
        let id = self.mock.add_fault(rule).map_err(|e| fail("the fault to be accepted", e.to_string()))?;
        self.faults_added.push(id);
        Ok(())
    }

    pub(crate) fn invoice(&self, reference: &InvoiceRef) -> Result<String, StepError> {
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

    /// The machine a step names, or the one the latest scan was at.
    pub(crate) fn machine_or_last(&self, machine: Option<&str>) -> Result<String, StepError> {
        machine
            .or(self.last_machine.as_deref())
            .map(str::to_owned)
            .ok_or_else(|| fail("a machine (name one, or scan first)", "none"))
    }

    pub(crate) fn owner(&self, reference: &str) -> String {
        self.owners.get(reference).cloned().unwrap_or_else(|| self.msisdn.clone())
    }

    pub(crate) fn order(&self) -> Result<String, StepError> {
        self.order.clone().ok_or_else(|| fail("an order (checkout first)", "none yet"))
    }

    /// Calls a driver (POST), noting the call and its answer in the journal, where the
    /// reports' sequence diagrams draw them in the machine/shop lane. `what` is how the
    /// call reads for people.
    pub(crate) async fn drive(
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
    pub(crate) fn note_driver(&self, action: &str, detail: String) {
        self.mock.note_for(MERCHANT, action, detail, self.current.as_deref());
    }

    pub(crate) fn machine_driver(&self) -> Result<&Driver, StepError> {
        self.machine_driver.as_ref().ok_or_else(|| fail("a machine driver (--machine-driver)", "none configured"))
    }

    /// The driver the shop steps use, and where it sells.
    pub(crate) fn counter(&self) -> Result<(&Driver, Counter), StepError> {
        match self.counter {
            Counter::Shop => {
                self.shop_driver.as_ref().ok_or_else(|| fail("a shop driver (--shop-driver)", "none configured"))
            }
            Counter::Till => self.till_driver(),
        }
        .map(|driver| (driver, self.counter))
    }

    pub(crate) fn till_driver(&self) -> Result<&Driver, StepError> {
        self.pos_driver.as_ref().ok_or_else(|| fail("a point-of-sale driver (--pos-driver)", "none configured"))
    }

    /// The invoice a call count is about: `None` counts every call.
    pub(crate) fn scope_invoice(&self, scope: &CallScope, operation: &str) -> Result<Option<String>, StepError> {
        match scope {
            CallScope::Any => Ok(None),
            CallScope::Invoice(reference) => self.invoice(reference).map(Some),
            CallScope::Default if INVOICE_OPERATIONS.contains(&operation) => Ok(self.current.clone()),
            CallScope::Default => Ok(None),
        }
    }

    /// The journal position a count starts after.
    pub(crate) async fn mark_seq(&self, mark: &Mark, scope: &CallScope, within: Duration) -> Result<u64, StepError> {
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
    pub(crate) fn calls(&self, operation: &str, since: u64, invoice: Option<&str>) -> Vec<Entry> {
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
    pub(crate) fn exchanged(&self, invoice: Option<&str>) -> String {
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
    pub(crate) fn window(&self, wait: Wait) -> Window {
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
    pub(crate) fn timing_words(&self, timing: Timing) -> String {
        match timing {
            Timing::Within(wait) => format!("within {} to be", self.window(wait).described),
            Timing::During(d) => format!("for {} to stay", humantime::format_duration(d)),
        }
    }

    /// Polls a synchronous condition: `(holds, what it is now)`.
    pub(crate) async fn wait_for(
        &self,
        timing: Timing,
        mut check: impl FnMut() -> (bool, String),
    ) -> Result<(), Missed> {
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
    pub(crate) async fn wait_for_async<F, Fut>(
        &self,
        timing: Timing,
        mut check: F,
    ) -> Result<Result<(), Missed>, StepError>
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
        for id in std::mem::take(&mut self.faults_added) {
            self.mock.clear_faults(Some(id));
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
            let company = self.target.company.as_deref();
            let ctx = CheckContext { journal: &journal, status_deadline, profile, cut_at_ms: Some(now), company };
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
            *cache.borrow_mut().entry(invoice.to_owned()).or_insert_with(|| self.mock.has_invoice(invoice))
        }
    }
}

/// Whether a scenario's fault on `target` is narrowed to its own calls: calls about an
/// existing invoice of one operation (or notifications). `*` stays as wide as written
/// (it includes sendInvoice), and createPurchase, sendInvoice and the terminal's own
/// operations are never about an invoice that exists: those scenarios run alone.
pub(crate) fn fault_narrows(target: FaultTarget) -> bool {
    target.about_an_existing_invoice() && target != FaultTarget::Soap(None)
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
pub(crate) fn describe_items(items: &[Item]) -> String {
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

/// The items as a driver's JSON body lists them.
pub(crate) fn items_json(items: &[Item]) -> Value {
    Value::Array(items.iter().map(|i| json!({ "sku": i.sku, "quantity": i.quantity })).collect())
}

/// Whether a driver's answer is the outcome the step expects.
pub(crate) fn check_driver(answer: &Answer, expect: DriverOutcome, action: &str) -> StepResult {
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
