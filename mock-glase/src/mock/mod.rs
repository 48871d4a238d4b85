//! [`Mock`]: the running mock as a library. It owns the state machine and the journal
//! behind one lock, asks the clock for the time, runs the SOAP pipeline (decode, apply,
//! journal, encode), calls merchants (createPurchase, notifications) and carries out
//! injected faults. The HTTP layer is a thin adapter over it; tests and benches use it
//! directly.
//!
//! # Implementation rationale
//! One `std::sync::Mutex` around machine *and* journal makes every request on an invoice
//! linearizable and keeps the journal's order equal to the order in which the machine
//! saw things, which the conformance rules rely on. The lock is never held across an
//! `.await`: outbound calls happen between two short critical sections. Merchants are
//! isolated by data (each sees only its terminals' invoices; the journal filters by
//! merchant), not by separate locks; sharding can come later without changing this API.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::borrow::Cow;

use glase_protocol::{
    CodecError, DecodeOptions, Decoded, Deviation, Reply, Response, ResultCode, SoapFault, charset_of,
    decode_request_with, decode_text, encode_fault, encode_response,
};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::clock::{Clock, ClockError, Timestamp};
use crate::config::{Config, ConfigError, Deadlines, Dialect, LimitError, ResellerConfig, TerminalConfig};
use crate::errors::error_chain;
use crate::journal::{Entry, Filter, Journal, Page, Record, Tags};
use crate::machine::customer::{Confirmation, QrTarget, parse_qr};
use crate::machine::events::NotificationReason;
use crate::machine::ups::{PurchaseAnswer, PurchaseCall, PurchaseReport, ScanOptions};
use crate::machine::{
    CallScope, Customer, CustomerError, Effects, FaultAction, FaultRule, FaultRuleError, FaultTarget, InvoiceRecord,
    Machine, Notification, Outcome, Payment, RegistryError, Reseller, SmolStr, Terminal, TransportFault,
};
use crate::notify::{NotificationLog, Notifier};
use crate::outbound::{ReadError, outbound_client, read_capped};
use crate::supervise::{PanicLog, guarded, spawn_reported};

mod bodies;
mod control;
mod customer;
mod inspect;
mod notifications;
mod panics;
mod registry;
mod soap;

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
    http: reqwest::Client,
    notifier: Notifier,
}

#[derive(Debug)]
struct Core {
    machine: Machine,
    journal: Journal,
}

impl Core {
    /// Journals an entry; the merchant is worked out from the terminal or the invoice.
    fn push(&mut self, now: Timestamp, terminal: Option<&str>, invoice: Option<&str>, record: Record) -> u64 {
        self.push_for(now, None, terminal, invoice, record)
    }

    /// Journals an entry for a known merchant (or works it out when `None`).
    fn push_for(
        &mut self,
        now: Timestamp,
        merchant: Option<&str>,
        terminal: Option<&str>,
        invoice: Option<&str>,
        record: Record,
    ) -> u64 {
        let derived = match merchant {
            Some(_) => None,
            None => terminal
                .and_then(|t| self.machine.merchant_of_terminal(t))
                .or_else(|| {
                    let record = invoice.and_then(|i| self.machine.invoice(i))?;
                    self.machine.merchant_of_terminal(&record.terminal)
                })
                .map(str::to_owned),
        };
        let merchant = merchant.or(derived.as_deref());
        self.journal.push(now, Tags { terminal, invoice, merchant }, record)
    }

    /// Journals what a request did that the spec does not allow but was tolerated.
    fn push_deviations(
        &mut self,
        now: Timestamp,
        merchant: Option<&str>,
        terminal: Option<&str>,
        invoice: Option<&str>,
        operation: &str,
        deviations: impl IntoIterator<Item = Deviation>,
    ) {
        for Deviation { rule, path, detail } in deviations {
            let record = Record::WireDeviation { operation: operation.to_owned(), rule, path, detail };
            self.push_for(now, merchant, terminal, invoice, record);
        }
    }

    fn push_merchant(&mut self, now: Timestamp, merchant: &str, record: Record) -> u64 {
        self.push_for(now, Some(merchant), None, None, record)
    }

    fn push_effects(&mut self, now: Timestamp, merchant: Option<&str>, terminal: Option<&str>, fx: &Effects) {
        self.push_events(now, merchant, terminal, fx.events.iter().cloned());
    }

    /// Journals machine events, taking them (no copy).
    fn push_events(
        &mut self,
        now: Timestamp,
        merchant: Option<&str>,
        terminal: Option<&str>,
        events: impl IntoIterator<Item = crate::machine::Event>,
    ) {
        for event in events {
            let merchant = merchant.or(event.merchant_id()).map(str::to_owned);
            let invoice = event.invoice().map(str::to_owned);
            self.push_for(now, merchant.as_deref(), terminal, invoice.as_deref(), Record::Machine { event });
        }
    }
}

/// The HTTP answer to a SOAP request.
#[derive(Debug, Clone)]
pub struct SoapAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    /// Close the connection instead of answering (an injected fault).
    pub drop_connection: bool,
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

/// How an invoice ended (or stands): for the load tool's invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceOutcome {
    pub reference: String,
    pub status: glase_protocol::InvoiceStatus,
    /// What its payment was, if it was paid.
    pub paid: Option<Decimal>,
}

/// What scanning a QR code led to.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ScanResult {
    /// An invoice QR (or a till's sticker): the invoice is now open in the app.
    Invoice(InvoiceView),
    /// An unattended machine: the UPS called the merchant's createPurchase.
    Unattended { purchase: PurchaseReport, invoice: Option<InvoiceView> },
}

/// The kinds of extra notification a test can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExtraNotification {
    /// Nothing happened to the invoice: the merchant must not act on it.
    Forged,
    /// A repeat of a notification already sent.
    Duplicate,
}

impl Mock {
    /// Starts a mock from a configuration (demo entries merged in unless disabled).
    pub fn new(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        let config = config.resolved()?;
        let http = outbound_client(
            config.ups.timeout.max(config.notifications.timeout),
            config.tls.extra_ca_file.as_deref(),
            &config.outbound,
        )?;
        let seed = config.reference_seed.unwrap_or_else(|| clock.now().as_millis());
        let journal = Journal::with_limits(config.journal_capacity, config.journal_max_bytes);
        let core = Core { machine: Machine::new(&config, seed), journal };
        let notifier = Notifier::new(http.clone(), config.notifications);
        Ok(Self { inner: Arc::new(Inner { core: Mutex::new(core), clock, http, notifier, config }) })
    }

    /// The resolved configuration (demo entries included).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // The machine does not panic on any input (proptest checks), so a poisoned lock
        // can only come from a bug elsewhere; serving on beats taking the mock down.
        self.inner.core.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn view(machine: &Machine, reference: &str) -> Option<InvoiceView> {
    let record = machine.invoice(reference)?.clone();
    let payment = record.ers_reference.as_deref().and_then(|ers| machine.payment(ers)).cloned();
    Some(InvoiceView { qr_code: Machine::invoice_qr(reference), record, payment })
}

#[cfg(test)]
mod tests {
    use glase_protocol::request::SendInvoice;
    use glase_protocol::{ClientContext, Request, encode_request};

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn deadlines_that_fire_before_a_refused_customer_action_are_still_journaled() {
        let clock = ManualClock::new(Timestamp(1_700_000_000_000));
        let mock = Mock::new(&Config::default(), Arc::new(clock.clone())).expect("valid config");
        let request = Request::SendInvoice(SendInvoice {
            context: Some(ClientContext::for_terminal("demo-terminal", "demo1234", "test", "t-1")),
            invoice: Some(glase_protocol::Invoice {
                total_amount: Some(glase_protocol::Amount::new(Decimal::ONE, "EUR")),
                ..glase_protocol::Invoice::default()
            }),
            ..SendInvoice::default()
        });
        let mut body = Vec::new();
        encode_request(&request, &mut body);
        mock.apply_soap("/extclientproxy/service/v2", None, &body);
        let reference = mock.invoices(None)[0].reference.to_string();
        mock.confirm(&reference, None, None).expect("confirm");
        clock.advance(Duration::from_secs(20));
        // The customer scans an invoice that does not exist: refused, but the payment's
        // status deadline fell due first, and its reversal is on record.
        assert!(mock.scan("HTTP://SEQR.SE/R999", None).is_err());
        assert_eq!(mock.invoice(&reference).expect("kept").record.status, glase_protocol::InvoiceStatus::Canceled);
        let reversed = mock.journal(&Filter { invoice: Some(reference), ..Filter::default() }).into_iter().any(|e| {
            matches!(
                e.record,
                Record::Machine {
                    event: crate::machine::Event::Transition { to: glase_protocol::InvoiceStatus::Canceled, .. }
                }
            )
        });
        assert!(reversed, "the reversal was not journaled");
    }

    #[test]
    fn the_journal_stays_within_its_byte_limit_under_load() {
        let config = Config { journal_max_bytes: 16 * 1024, ..Config::default() };
        let mock = Mock::new(&config, Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)))).expect("valid config");
        let request = Request::SendInvoice(SendInvoice {
            context: Some(ClientContext::for_terminal("demo-terminal", "demo1234", "test", "t-1")),
            ..SendInvoice::default()
        });
        let mut body = Vec::new();
        encode_request(&request, &mut body);
        for _ in 0..200 {
            let (answer, _, _) = mock.apply_soap("/extclientproxy/service/v2", None, &body);
            assert_eq!(answer.status, 200);
        }
        let (kept, dropped, last) = mock.journal_stats();
        assert!(mock.journal_bytes() <= 16 * 1024, "{} bytes", mock.journal_bytes());
        assert!(dropped > 0 && kept > 0 && last == dropped + kept as u64);
        // The newest entry, the last answer, is kept.
        let newest = mock.journal(&Filter { after: Some(last - 1), ..Filter::default() });
        assert!(matches!(newest.as_slice(), [Entry { record: Record::SoapResponse { http_status: 200, .. }, .. }]));
    }
}
