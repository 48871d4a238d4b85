//! [`Mock`]: the running mock as a library. It owns the state machine and the journal
//! behind one lock, asks the clock for the time, runs the SOAP pipeline (decode, apply,
//! journal, encode) and delivers notifications. The HTTP layer is a thin adapter over
//! it; tests and benches use it directly.
//!
//! # Implementation rationale
//! One `std::sync::Mutex` around machine *and* journal keeps the journal's order equal
//! to the order in which the machine saw things, which the conformance rules rely on.
//! The lock is never held across an `.await`; notifications are sent after it is
//! released. Sharding per merchant is possible later without changing this API.

use std::sync::{Arc, Mutex, MutexGuard};

use glase_protocol::{Reply, Request, SoapFault, decode_request, encode_fault, encode_response};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::clock::{Clock, Timestamp};
use crate::config::{Config, ConfigError};
use crate::journal::{Entry, Filter, Journal, Record};
use crate::machine::customer::Confirmation;
use crate::machine::{Customer, CustomerError, Effects, FaultRule, InvoiceRecord, Machine, Notification, Payment};
use crate::notify::Notifier;

/// Longest request body kept verbatim in the journal; longer ones are cut (a 10 MB body
/// is rejected before this point anyway).
const JOURNAL_BODY_LIMIT: usize = 64 * 1024;

/// A cheap-to-clone handle to one mock instance.
#[derive(Debug, Clone)]
pub struct Mock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    core: Mutex<Core>,
    clock: Arc<dyn Clock>,
    config: Config,
    notifier: Notifier,
}

#[derive(Debug)]
struct Core {
    machine: Machine,
    journal: Journal,
}

/// The HTTP answer to a SOAP request.
#[derive(Debug, Clone)]
pub struct SoapAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// An invoice with its payment, as the control API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceView {
    #[serde(flatten)]
    pub record: InvoiceRecord,
    pub qr_code: String,
    pub payment: Option<Payment>,
}

impl Mock {
    /// Starts a mock from a configuration (demo entries merged in unless disabled).
    pub fn new(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        let config = config.resolved()?;
        let seed = config.reference_seed.unwrap_or_else(|| clock.now().as_millis());
        let core = Core { machine: Machine::new(&config, seed), journal: Journal::new(config.journal_capacity) };
        Ok(Self { inner: Arc::new(Inner { core: Mutex::new(core), clock, notifier: Notifier::new(), config }) })
    }

    /// The resolved configuration (demo entries included).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic while holding the lock would leave a half-applied command; the state
        // machine does not panic on any input (proptest checks), so recovering the
        // guard is preferable to taking the whole mock down.
        self.inner.core.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs one SOAP request through the mock: decode, apply, journal, encode. Never
    /// fails: bad input becomes a SOAP fault.
    pub fn handle_soap(&self, path: &str, body: &[u8]) -> SoapAnswer {
        let decoded = decode_request(body);
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let (answer, notifications) = match decoded {
            Err(error) => {
                let fault = SoapFault::from_decode_error(&error);
                core.journal.push(
                    now,
                    None,
                    None,
                    Record::SoapRequest { path: path.to_owned(), operation: None, body: journal_text(body) },
                );
                let answer = fault_answer(&fault);
                core.journal.push(now, None, None, response_record(None, &answer, Some(&fault), None));
                (answer, Vec::new())
            }
            Ok(request) => self.apply_locked(&mut core, path, body, &request, now),
        };
        drop(core);
        self.deliver(notifications);
        answer
    }

    fn apply_locked(
        &self,
        core: &mut Core,
        path: &str,
        body: &[u8],
        request: &Request,
        now: Timestamp,
    ) -> (SoapAnswer, Vec<Notification>) {
        let op = request.operation().name().to_owned();
        let invoice = request.invoice_reference().map(str::to_owned);
        let claimed = crate::machine::auth::claimed_terminal(request.context());
        let outcome = core.machine.apply(request, now);
        let terminal = outcome.terminal.clone().or(claimed);
        // A sendInvoice names its invoice only in the answer; file the request under it too.
        let invoice = invoice.or_else(|| issued_invoice(&outcome.effects));
        core.journal.push(
            now,
            terminal.as_deref(),
            invoice.as_deref(),
            Record::SoapRequest { path: path.to_owned(), operation: Some(op.clone()), body: journal_text(body) },
        );
        journal_effects(&mut core.journal, now, terminal.as_deref(), &outcome.effects);
        let (answer, fault, code) = match &outcome.reply {
            Reply::Response(response) => {
                let mut out = Vec::with_capacity(512);
                encode_response(response, &mut out);
                (SoapAnswer { status: 200, body: out }, None, Some(response.result_code.0))
            }
            Reply::Fault(fault) => (fault_answer(fault), Some(fault), None),
        };
        core.journal.push(
            now,
            terminal.as_deref(),
            invoice.as_deref(),
            response_record(Some(op), &answer, fault, code),
        );
        (answer, outcome.effects.notifications)
    }

    /// Journals and delivers what a customer/timer action produced.
    fn finish(&self, core: MutexGuard<'_, Core>, fx: Effects) {
        let mut core = core;
        let now = self.inner.clock.now();
        journal_effects(&mut core.journal, now, None, &fx);
        drop(core);
        self.deliver(fx.notifications);
    }

    fn deliver(&self, notifications: Vec<Notification>) {
        for notification in notifications {
            self.inner.notifier.send(self.clone(), notification);
        }
    }

    /// Journals a notification's outcome (called by the notifier).
    pub(crate) fn record_notification(&self, n: &Notification, outcome: String, http_status: Option<u16>) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let terminal = core.machine.invoice(&n.invoice).map(|r| r.terminal.clone());
        core.journal.push(
            now,
            terminal.as_deref(),
            Some(&n.invoice),
            Record::NotificationSent { url: n.url.clone(), reason: n.reason.clone(), outcome, http_status },
        );
    }

    /// Records a control action in the journal.
    pub fn note(&self, action: &str, detail: String, invoice: Option<&str>) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        core.journal.push(now, None, invoice, Record::Control { action: action.to_owned(), detail });
    }

    // ---- the simulated customer ----

    /// Scans a QR code and opens the invoice it points at.
    pub fn scan(&self, qr: &str, msisdn: Option<&str>) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let (reference, fx) = core.machine.scan(qr, msisdn, now)?;
        let view = view(&core.machine, &reference);
        self.finish(core, fx);
        view.ok_or(CustomerError::UnknownInvoice(reference))
    }

    /// Enters a PIN (`None`: the customer's right PIN).
    pub fn confirm(
        &self,
        reference: &str,
        msisdn: Option<&str>,
        pin: Option<&str>,
    ) -> Result<(Confirmation, InvoiceView), CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let (confirmation, fx) = core.machine.confirm(reference, msisdn, pin, now)?;
        let view = view(&core.machine, reference);
        self.finish(core, fx);
        Ok((confirmation, view.ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))?))
    }

    /// Cancels in the app.
    pub fn cancel(&self, reference: &str, msisdn: Option<&str>) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let fx = core.machine.customer_cancel(reference, msisdn, now)?;
        let view = view(&core.machine, reference);
        self.finish(core, fx);
        view.ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))
    }

    /// Closes the app without answering.
    pub fn walk_away(&self, reference: &str) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let fx = core.machine.walk_away(reference, now)?;
        let view = view(&core.machine, reference);
        self.finish(core, fx);
        view.ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))
    }

    /// Creates or changes a simulated customer.
    pub fn set_customer(&self, msisdn: &str, pin: Option<&str>, balance: Option<Decimal>) -> Customer {
        let customer = self.lock().machine.set_customer(msisdn, pin, balance).clone();
        self.note("setCustomer", format!("{msisdn}: balance {}", customer.balance), None);
        customer
    }

    pub fn customer(&self, msisdn: &str) -> Option<Customer> {
        self.lock().machine.customer(msisdn).cloned()
    }

    // ---- inspection ----

    pub fn invoice(&self, reference: &str) -> Option<InvoiceView> {
        view(&self.lock().machine, reference)
    }

    /// Every invoice, newest first, optionally of one terminal.
    pub fn invoices(&self, terminal: Option<&str>) -> Vec<InvoiceRecord> {
        let core = self.lock();
        let mut list: Vec<InvoiceRecord> =
            core.machine.invoices().filter(|r| terminal.is_none_or(|t| r.terminal == t)).cloned().collect();
        list.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(b.reference.cmp(&a.reference)));
        list
    }

    pub fn journal(&self, filter: &Filter) -> Vec<Entry> {
        self.lock().journal.query(filter)
    }

    /// (entries kept, entries dropped, last sequence number).
    pub fn journal_stats(&self) -> (usize, u64, u64) {
        let core = self.lock();
        (core.journal.len(), core.journal.dropped(), core.journal.last_seq())
    }

    /// Read-only access to the state machine.
    pub fn with_machine<R>(&self, f: impl FnOnce(&Machine) -> R) -> R {
        f(&self.lock().machine)
    }

    // ---- faults and deadlines ----

    pub fn add_fault(&self, rule: FaultRule) -> u64 {
        let detail = serde_json::to_string(&rule).unwrap_or_default();
        let id = self.lock().machine.add_fault(rule);
        self.note("addFault", format!("#{id} {detail}"), None);
        id
    }

    pub fn faults(&self) -> Vec<FaultRule> {
        self.lock().machine.faults().to_vec()
    }

    pub fn clear_faults(&self, id: Option<u64>) -> usize {
        let removed = self.lock().machine.clear_faults(id);
        self.note("clearFaults", format!("{removed} removed"), None);
        removed
    }

    /// Fires due deadlines; returns the time of the next one. Called by the timer.
    pub fn expire_due(&self) -> Option<Timestamp> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let fx = core.machine.expire(now);
        let next = core.machine.next_deadline();
        if fx.events.is_empty() {
            return next;
        }
        self.finish(core, fx);
        next
    }
}

fn view(machine: &Machine, reference: &str) -> Option<InvoiceView> {
    let record = machine.invoice(reference)?.clone();
    let payment = record.ers_reference.as_deref().and_then(|ers| machine.payment(ers)).cloned();
    Some(InvoiceView { qr_code: Machine::invoice_qr(reference), record, payment })
}

/// Journals machine events.
fn journal_effects(journal: &mut Journal, now: Timestamp, terminal: Option<&str>, fx: &Effects) {
    for event in &fx.events {
        journal.push(now, terminal, event.invoice(), Record::Machine(event.clone()));
    }
}

/// The invoice a sendInvoice issued, if any.
fn issued_invoice(fx: &Effects) -> Option<String> {
    fx.events.iter().find_map(|event| match event {
        crate::machine::Event::InvoiceIssued { invoice, .. } => Some(invoice.clone()),
        _ => None,
    })
}

fn fault_answer(fault: &SoapFault) -> SoapAnswer {
    let mut out = Vec::with_capacity(256);
    encode_fault(fault, &mut out);
    SoapAnswer { status: 500, body: out }
}

fn response_record(
    operation: Option<String>,
    answer: &SoapAnswer,
    fault: Option<&SoapFault>,
    code: Option<i32>,
) -> Record {
    Record::SoapResponse {
        operation,
        http_status: answer.status,
        result_code: code,
        fault: fault.map(|f| f.string.clone()),
        body: String::from_utf8_lossy(&answer.body).into_owned(),
    }
}

fn journal_text(body: &[u8]) -> String {
    let cut = &body[..body.len().min(JOURNAL_BODY_LIMIT)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if body.len() > JOURNAL_BODY_LIMIT {
        text.push_str(&format!("… [{} more bytes not journaled]", body.len() - JOURNAL_BODY_LIMIT));
    }
    text
}
