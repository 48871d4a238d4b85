//! The pure, synchronous state machine of the Glase side: resellers, terminals,
//! invoices, reservations, payments, refunds, transaction periods and the simulated
//! customers' wallets.
//!
//! `apply(request, now)` takes a decoded SOAP request and the current time and returns an
//! [`Outcome`]: the reply to send, the journal events, and the notifications to deliver.
//! Customer actions (`scan`, `confirm`, …) and [`Machine::expire`] work the same way.
//! Nothing here reads a clock or does IO, so criterion and proptest drive it directly.
//!
//! The parts: [`auth`] checks principals, [`invoices`] the invoice operations,
//! [`payments`] receipts and refunds, [`terminals`] terminal administration,
//! [`reports`] periods and reconciliation, [`customer`] the app, [`deadlines`] the
//! Glase-side clocks, [`faults`] injected results.

pub mod auth;
pub mod customer;
pub mod deadlines;
pub mod events;
pub mod faults;
pub mod ids;
pub mod invoices;
pub mod payments;
pub mod reports;
pub mod terminals;
pub mod ups;

use std::collections::HashMap;

use glase_protocol::{Invoice, InvoiceStatus, PaymentMode, Reply, Request, Response, ResultCode};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::clock::Timestamp;
use crate::config::{Config, Deadlines, Dialect, ResellerConfig, TerminalConfig};
pub use customer::CustomerError;
pub use deadlines::DeadlineQueue;
pub use events::{Effects, Event, Notification};
pub use faults::{CallScope, FaultAction, FaultRule, FaultTarget, TransportFault};
use ids::IdGenerator;

/// A reseller account.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reseller {
    pub id: String,
    pub user_id: String,
    #[serde(skip)]
    pub password: String,
    pub currency: String,
    pub merchant_id: String,
    pub name: String,
    pub refunds_allowed: bool,
    pub receiver_allows_refunds: bool,
    pub create_purchase_url: Option<String>,
    pub dialect: Dialect,
}

impl Reseller {
    fn from_config(r: &ResellerConfig) -> Self {
        Self {
            id: r.id.clone(),
            user_id: r.user_id.clone(),
            password: r.password.clone(),
            currency: r.currency.clone(),
            merchant_id: r.merchant_id.clone().unwrap_or_else(|| r.id.clone()),
            name: r.name.clone().unwrap_or_else(|| r.id.clone()),
            refunds_allowed: r.refunds_allowed,
            receiver_allows_refunds: r.receiver_allows_refunds,
            create_purchase_url: r.create_purchase_url.clone(),
            dialect: r.create_purchase_dialect,
        }
    }
}

/// A terminal: configured, or created by registerTerminal.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Terminal {
    pub id: String,
    pub reseller: String,
    pub external_id: Option<String>,
    pub name: Option<String>,
    #[serde(skip)]
    pub password: String,
    /// `false` after unregisterTerminal: calls answer 33.
    pub registered: bool,
    pub seqr_id: Option<String>,
}

impl Terminal {
    fn from_config(t: &TerminalConfig) -> Self {
        Self {
            id: t.id.clone(),
            reseller: t.reseller.clone(),
            external_id: None,
            name: t.name.clone(),
            password: t.password.clone(),
            registered: true,
            seqr_id: t.seqr_id.clone(),
        }
    }
}

/// A simulated app user.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub msisdn: String,
    #[serde(skip)]
    pub pin: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub balance: Decimal,
}

/// An invoice and everything the mock knows about it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRecord {
    pub reference: String,
    pub terminal: String,
    pub reseller: String,
    /// The invoice as last sent or updated.
    pub invoice: Invoice,
    pub payment_mode: PaymentMode,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    pub currency: String,
    pub status: InvoiceStatus,
    /// Increments on every status change and on new customer tokens.
    pub version: i32,
    pub issued_at: Timestamp,
    /// The customer who has the invoice open in the app (PIN dialog): drives 48 and 51.
    pub opened_by: Option<String>,
    /// The customer who confirmed it.
    pub payer: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reserved_amount: Option<Decimal>,
    /// When the reservation is cancelled if not committed.
    pub commit_deadline: Option<Timestamp>,
    /// While set, the merchant has not fetched the PAID/RESERVED status yet and the
    /// payment is reversed at this time.
    pub status_deadline: Option<Timestamp>,
    /// When the customer's confirmation made it PAID/RESERVED (the status clock's start).
    pub settled_at: Option<Timestamp>,
    /// When the merchant fetched that status.
    pub acknowledged_at: Option<Timestamp>,
    pub ers_reference: Option<String>,
    pub customer_tokens: Vec<glase_protocol::CustomerToken>,
    pub history: Vec<HistoryEntry>,
}

/// One status change of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub from: InvoiceStatus,
    pub to: InvoiceStatus,
    pub reason: String,
}

impl InvoiceRecord {
    /// Whether the status is final (nothing leaves PAID but refunds).
    pub fn is_final(&self) -> bool {
        matches!(self.status, InvoiceStatus::Paid | InvoiceStatus::Canceled | InvoiceStatus::Failed)
    }
}

/// A payment (a paid invoice) and its refunds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub ers_reference: String,
    pub invoice: String,
    pub terminal: String,
    pub reseller: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    pub paid_at: Timestamp,
    pub payer: String,
    pub cashier_id: Option<String>,
    /// Reversed because the merchant never fetched the status.
    pub reversed: bool,
    pub refunds: Vec<Refund>,
    pub receipt: Option<glase_protocol::ReceiptDocument>,
}

impl Payment {
    pub fn refunded(&self) -> Decimal {
        self.refunds.iter().map(|r| r.amount).sum()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub ers_reference: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub at: Timestamp,
    pub cashier_id: Option<String>,
}

/// What one SOAP request did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub reply: Reply,
    /// The authenticated terminal, when there was one (for journal filtering).
    pub terminal: Option<String>,
    pub effects: Effects,
    /// An injected transport-level fault (delay, dropped connection, HTTP 5xx).
    pub transport_fault: Option<TransportFault>,
    /// The merchantId the call acted for (claimed, when authentication failed).
    pub merchant: Option<String>,
}

/// The whole Glase-side state.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Deadlines in force: the configured ones times `deadline_scale`.
    pub(crate) deadlines: Deadlines,
    pub(crate) base_deadlines: Deadlines,
    pub(crate) deadline_scale: f64,
    pub(crate) notify_on_reversal: bool,
    pub(crate) ups_default_amount: Decimal,
    pub(crate) ids: IdGenerator,
    pub(crate) resellers: HashMap<String, Reseller>,
    /// merchantId (the `w` of unattended QR codes) → reseller id.
    pub(crate) merchant_index: HashMap<String, String>,
    pub(crate) terminals: HashMap<String, Terminal>,
    pub(crate) seqr_ids: HashMap<String, String>,
    pub(crate) customers: HashMap<String, Customer>,
    pub(crate) default_customer: String,
    pub(crate) invoices: HashMap<String, InvoiceRecord>,
    pub(crate) payments: HashMap<String, Payment>,
    /// Refund ersReference → payment ersReference.
    pub(crate) refund_index: HashMap<String, String>,
    pub(crate) periods: reports::Periods,
    pub(crate) queue: DeadlineQueue,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) purchases: ups::Purchases,
    /// Seeded generator for probabilistic faults, so a run replays exactly.
    pub(crate) rng: u64,
}

impl Machine {
    /// A machine holding the configured principals. `config` should be
    /// [`Config::resolved`]; `seed` seeds the reference generators.
    pub fn new(config: &Config, seed: u64) -> Self {
        let resellers: HashMap<String, Reseller> =
            config.resellers.iter().map(|r| (r.id.clone(), Reseller::from_config(r))).collect();
        let merchant_index = resellers.values().map(|r| (r.merchant_id.clone(), r.id.clone())).collect();
        let terminals: HashMap<_, _> =
            config.terminals.iter().map(|t| (t.id.clone(), Terminal::from_config(t))).collect();
        let seqr_ids = terminals.values().filter_map(|t| t.seqr_id.clone().map(|s| (s, t.id.clone()))).collect();
        let customers = config
            .customers
            .iter()
            .map(|c| (c.msisdn.clone(), Customer { msisdn: c.msisdn.clone(), pin: c.pin.clone(), balance: c.balance }))
            .collect();
        let default_customer = config
            .default_customer
            .clone()
            .or_else(|| config.customers.first().map(|c| c.msisdn.clone()))
            .unwrap_or_default();
        let mut machine = Self {
            deadlines: config.deadlines,
            base_deadlines: config.deadlines,
            deadline_scale: 1.0,
            notify_on_reversal: config.notifications.on_reversal,
            ups_default_amount: config.ups.default_amount,
            ids: IdGenerator::new(seed),
            resellers,
            merchant_index,
            terminals,
            seqr_ids,
            customers,
            default_customer,
            invoices: HashMap::new(),
            payments: HashMap::new(),
            refund_index: HashMap::new(),
            periods: reports::Periods::default(),
            queue: DeadlineQueue::default(),
            faults: Vec::new(),
            purchases: ups::Purchases::default(),
            rng: seed | 1,
        };
        machine.set_deadline_scale(config.deadline_scale);
        machine
    }

    /// Scales every Glase-side deadline armed from now on (status acknowledgement,
    /// reservation timeout, report readiness) by `factor`; deadlines already running
    /// keep their time. Non-positive or non-finite factors are ignored.
    pub fn set_deadline_scale(&mut self, factor: f64) {
        if !(factor.is_finite() && factor > 0.0) {
            return;
        }
        let scale = |d: std::time::Duration| d.mul_f64(factor);
        self.deadline_scale = factor;
        self.deadlines = Deadlines {
            status_deadline: scale(self.base_deadlines.status_deadline),
            reservation_timeout: scale(self.base_deadlines.reservation_timeout),
            report_ready_delay: scale(self.base_deadlines.report_ready_delay),
        };
    }

    pub fn deadline_scale(&self) -> f64 {
        self.deadline_scale
    }

    /// Adds a reseller at run time (isolated merchants for parallel scenarios).
    pub fn add_reseller(&mut self, config: &ResellerConfig) -> Result<(), String> {
        let merchant_id = config.merchant_id.clone().unwrap_or_else(|| config.id.clone());
        if self.resellers.contains_key(&config.id) {
            return Err(format!("reseller {:?} exists already", config.id));
        }
        if self.merchant_index.contains_key(&merchant_id) {
            return Err(format!("merchantId {merchant_id:?} is taken"));
        }
        if let Some(url) = &config.create_purchase_url {
            crate::config::check_create_purchase_url(url)?;
        }
        self.merchant_index.insert(merchant_id, config.id.clone());
        self.resellers.insert(config.id.clone(), Reseller::from_config(config));
        Ok(())
    }

    /// Adds a terminal at run time.
    pub fn add_terminal(&mut self, config: &TerminalConfig) -> Result<(), String> {
        if self.terminals.contains_key(&config.id) {
            return Err(format!("terminal {:?} exists already", config.id));
        }
        if !self.resellers.contains_key(&config.reseller) {
            return Err(format!("unknown reseller {:?}", config.reseller));
        }
        if config.password.chars().count() < terminals::MIN_TERMINAL_PASSWORD {
            return Err("terminal passwords have at least 4 characters".to_owned());
        }
        if let Some(seqr_id) = &config.seqr_id {
            if self.seqr_ids.contains_key(seqr_id) {
                return Err(format!("seqrId {seqr_id:?} is taken"));
            }
            self.seqr_ids.insert(seqr_id.clone(), config.id.clone());
        }
        self.terminals.insert(config.id.clone(), Terminal::from_config(config));
        Ok(())
    }

    /// Sets or clears a merchant's createPurchase URL (and dialect).
    pub fn set_create_purchase_url(
        &mut self,
        merchant_id: &str,
        url: Option<&str>,
        dialect: Option<Dialect>,
    ) -> Result<&Reseller, String> {
        if let Some(url) = url {
            crate::config::check_create_purchase_url(url)?;
        }
        let reseller = self
            .merchant_index
            .get(merchant_id)
            .and_then(|id| self.resellers.get_mut(id))
            .ok_or_else(|| format!("no merchant has merchantId {merchant_id:?}"))?;
        reseller.create_purchase_url = url.map(|u| u.trim().to_owned());
        if let Some(dialect) = dialect {
            reseller.dialect = dialect;
        }
        Ok(reseller)
    }

    /// The reseller a merchantId names.
    pub fn merchant(&self, merchant_id: &str) -> Option<&Reseller> {
        self.merchant_index.get(merchant_id).and_then(|id| self.resellers.get(id))
    }

    /// The merchantId of the reseller that owns a terminal (for journal tags).
    pub fn merchant_of_terminal(&self, terminal: &str) -> Option<&str> {
        let reseller = self.terminals.get(terminal)?.reseller.as_str();
        self.resellers.get(reseller).map(|r| r.merchant_id.as_str())
    }

    /// A uniform number in [0, 1) from the seeded generator (xorshift64*).
    pub(crate) fn next_random(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let value = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (value >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Applies one SOAP request at time `now`. Deadlines that passed before `now` fire
    /// first, so a late request always sees the reversal it caused.
    pub fn apply(&mut self, request: &Request, now: Timestamp) -> Outcome {
        let mut effects = self.expire(now);
        let op = request.operation();
        let caller = auth::claimed_terminal(request.context());
        let merchant = self.claimed_merchant(request.context());
        // Injected faults come first: a replaced answer means Glase failed before it
        // looked at the request at all.
        let scope = CallScope {
            terminal: caller.as_deref(),
            merchant: merchant.as_deref(),
            invoice: request.invoice_reference(),
        };
        let (replaced, transport_fault) = self.soap_fault(op, scope, &mut effects);
        let (reply, terminal) = match replaced {
            Some(reply) => (reply, caller),
            None => self.handle(request, now, &mut effects),
        };
        Outcome { reply, terminal, effects, transport_fault, merchant }
    }

    fn handle(&mut self, request: &Request, now: Timestamp, fx: &mut Effects) -> (Reply, Option<String>) {
        let op = request.operation();
        let context = request.context();
        let caller_terminal = auth::claimed_terminal(context);
        if !op.is_implemented() {
            return (Reply::Response(Response::result(op, ResultCode::UNSUPPORTED_OPERATION)), caller_terminal);
        }
        let principal = match self.authenticate(op, context) {
            Ok(principal) => principal,
            Err(code) => return (Reply::Response(Response::result(op, code)), caller_terminal),
        };
        let terminal = principal.terminal().map(str::to_owned);
        let response = match request {
            Request::SendInvoice(r) => self.send_invoice(&principal, r, now, fx),
            Request::UpdateInvoice(r) => self.update_invoice(&principal, r, fx),
            Request::GetPaymentStatus(r) => self.get_payment_status(&principal, r, now, fx),
            Request::CancelInvoice(r) => self.cancel_invoice(&principal, r, now, fx),
            Request::CommitReservation(r) => self.commit_reservation(&principal, r, now, fx),
            Request::SubmitPaymentReceipt(r) => self.submit_payment_receipt(&principal, r, fx),
            Request::RefundPayment(r) => self.refund_payment(&principal, r, now, fx),
            Request::RegisterTerminal(r) => self.register_terminal(&principal, r, fx),
            Request::UnregisterTerminal(_) => self.unregister_terminal(&principal, fx),
            Request::AssignSeqrId(r) => self.assign_seqr_id(&principal, r, fx),
            Request::MarkTransactionPeriod(r) => self.mark_transaction_period(&principal, r, now, fx),
            Request::ExecuteReport(r) => self.execute_report(&principal, r, now),
            Request::Unsupported { op, .. } => Response::result(*op, ResultCode::UNSUPPORTED_OPERATION),
        };
        (Reply::Response(response), terminal)
    }

    /// Changes an invoice's status, bumping its version and recording the transition.
    pub(crate) fn transition(
        &mut self,
        reference: &str,
        to: InvoiceStatus,
        reason: &str,
        now: Timestamp,
        fx: &mut Effects,
    ) {
        let Some(record) = self.invoices.get_mut(reference) else { return };
        let from = record.status;
        record.status = to;
        record.version += 1;
        record.history.push(HistoryEntry { at: now, from, to, reason: reason.to_owned() });
        fx.event(Event::Transition { invoice: reference.to_owned(), from, to, reason: reason.to_owned() });
    }

    // ---- read access for the control API, tests and benches ----

    pub fn invoice(&self, reference: &str) -> Option<&InvoiceRecord> {
        self.invoices.get(reference)
    }

    pub fn invoices(&self) -> impl Iterator<Item = &InvoiceRecord> {
        self.invoices.values()
    }

    pub fn payment(&self, ers_reference: &str) -> Option<&Payment> {
        self.payments.get(ers_reference)
    }

    /// The invoice an ersReference (a payment's or a refund's) belongs to.
    pub fn invoice_of_ers(&self, ers_reference: &str) -> Option<&str> {
        let ers = ers_reference.trim();
        let payment = self.refund_index.get(ers).map_or(ers, String::as_str);
        self.payments.get(payment).map(|p| p.invoice.as_str())
    }

    pub fn terminal(&self, id: &str) -> Option<&Terminal> {
        self.terminals.get(id)
    }

    pub fn terminals(&self) -> impl Iterator<Item = &Terminal> {
        self.terminals.values()
    }

    pub fn resellers(&self) -> impl Iterator<Item = &Reseller> {
        self.resellers.values()
    }

    pub fn customer(&self, msisdn: &str) -> Option<&Customer> {
        self.customers.get(msisdn)
    }

    pub fn default_customer(&self) -> &str {
        &self.default_customer
    }

    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }

    /// The invoice QR code the API hands out for a reference.
    pub fn invoice_qr(reference: &str) -> String {
        format!("HTTP://SEQR.SE/R{reference}")
    }
}
