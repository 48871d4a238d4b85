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

    // ---- SOAP ----

    /// Runs one SOAP request through the mock: decode, apply, journal, encode, and any
    /// injected delay. Never fails: bad input becomes a SOAP fault.
    pub async fn handle_soap(&self, path: &str, body: &[u8]) -> SoapAnswer {
        self.handle_soap_with(path, None, body).await
    }

    /// [`Self::handle_soap`] for a request with an HTTP `Content-Type`: its charset, if
    /// any, must agree with the message's own encoding labels (see
    /// [`glase_protocol::charset`]).
    pub async fn handle_soap_with(&self, path: &str, content_type: Option<&str>, body: &[u8]) -> SoapAnswer {
        let (answer, delay, notifications) = self.apply_soap(path, content_type.and_then(charset_of), body);
        if notifications.is_empty() && delay.is_none() {
            return answer;
        }
        // Early notifications go out before the merchant gets its answer: one
        // attempt, bounded by the notification timeout, so a slow endpoint cannot hold
        // the sendInvoice answer past the UPS timeout.
        let (early, later): (Vec<_>, Vec<_>) =
            notifications.into_iter().partition(|n| n.reason == NotificationReason::Early);
        for notification in &early {
            self.inner.notifier.deliver_once(self, notification).await;
        }
        self.deliver(later);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        answer
    }

    /// Decodes, applies and journals; returns the answer as it will go on the wire (an
    /// injected transport fault already applied) and any delay to wait before sending.
    ///
    /// Only what must be atomic happens under the lock: applying the request and
    /// journaling it with its events and answer (so the journal's order is the machine's).
    /// Decoding and copying the request body for the journal happen before it.
    fn apply_soap(
        &self,
        path: &str,
        charset: Option<&str>,
        body: &[u8],
    ) -> (SoapAnswer, Option<Duration>, Vec<Notification>) {
        let options = DecodeOptions { charset, lax: self.inner.config.wire.lax };
        let decoded = decode_request_with(body, &options);
        let request_text = journal_request_text(body, charset);
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let decoded = match decoded {
            Ok(decoded) => decoded,
            Err(error) => return (answer_undecodable(&mut core, now, path, request_text, &error), None, Vec::new()),
        };
        let request = &decoded.request;
        let op = request.operation().name();
        // Receipts and refunds name a payment; file them under its invoice too.
        let invoice = request
            .invoice_reference()
            .or_else(|| request.ers_reference().and_then(|ers| core.machine.invoice_of_ers(ers)))
            .map(str::to_owned);
        let claimed = crate::machine::auth::claimed_terminal(request.context());
        let outcome = self.apply_guarded(&mut core, now, &decoded, invoice.as_deref());
        let terminal = outcome.terminal.map(String::from).or(claimed);
        let merchant = outcome.merchant.as_deref();
        // A sendInvoice names its invoice only in the answer; file the request under it too.
        let invoice = invoice.or_else(|| issued_invoice(&outcome.effects));
        let record = Record::SoapRequest { path: path.to_owned(), operation: Some(op.to_owned()), body: request_text };
        core.push_for(now, merchant, terminal.as_deref(), invoice.as_deref(), record);
        let Effects { events, notifications, deviations } = outcome.effects;
        // What the codec tolerated, then what the machine did (and tolerated).
        let deviations = decoded.deviations.iter().cloned().chain(deviations);
        core.push_deviations(now, merchant, terminal.as_deref(), invoice.as_deref(), op, deviations);
        core.push_events(now, merchant, terminal.as_deref(), events);
        let (mut answer, fault, code) = encode_reply(&outcome.reply);
        let delay = apply_transport_fault(&mut answer, outcome.transport_fault);
        let record = response_record(Some(op.to_owned()), &answer, fault, code, delay);
        core.push_for(now, merchant, terminal.as_deref(), invoice.as_deref(), record);
        (answer, delay, notifications)
    }

    /// Applies a decoded request to the machine. Deadlines that fell due are fired first
    /// and their effects come first, as when `apply` fires them itself.
    fn apply_guarded(&self, core: &mut Core, now: Timestamp, decoded: &Decoded, invoice: Option<&str>) -> Outcome {
        let request = &decoded.request;
        let op = request.operation().name();
        let (expired, applied) =
            self.guarded_action(core, now, op, invoice, |machine| machine.apply_decoded(decoded, now));
        let mut outcome = match applied {
            Ok(outcome) => outcome,
            // A bug (journaled by `guarded_action`): the request is refused as Glase
            // refuses what it cannot do **[decision]**.
            Err(_) => Outcome {
                reply: Reply::Response(Response::result(request.operation(), ResultCode::SYSTEM_ERROR)),
                terminal: None,
                effects: Effects::default(),
                transport_fault: None,
                merchant: core.machine.claimed_merchant(request.context()).map(SmolStr::from),
            },
        };
        outcome.effects = {
            let mut effects = expired;
            effects.append(outcome.effects);
            effects
        };
        outcome
    }

    // ---- notifications ----

    /// Journals what a customer/timer action produced and sends its notifications.
    /// `now` is the time the machine acted at, so journal times equal machine times.
    fn finish(&self, mut core: MutexGuard<'_, Core>, fx: Effects, now: Timestamp) {
        core.push_effects(now, None, None, &fx);
        drop(core);
        self.deliver(fx.notifications);
    }

    /// Sends notifications in the background (after any injected fault).
    fn deliver(&self, notifications: Vec<Notification>) {
        if notifications.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            for n in &notifications {
                self.record_notification(n, 0, "not sent: no async runtime".to_owned(), None, true, None);
            }
            return;
        };
        let _enter = runtime.enter();
        for notification in notifications {
            let mock = self.clone();
            spawn_reported(
                self.clone(),
                "a notification delivery",
                async move { mock.deliver_now(&notification).await },
            );
        }
    }

    /// Delivers one notification now (honouring injected faults) and waits for it.
    async fn deliver_now(&self, notification: &Notification) {
        let delay = match self.outbound_fault(FaultTarget::Notification, &notification.invoice) {
            Some(FaultAction::DropConnection) => {
                self.record_notification(
                    notification,
                    0,
                    "not sent: dropped by an injected fault".to_owned(),
                    None,
                    true,
                    None,
                );
                return;
            }
            Some(FaultAction::Delay(delay)) => Some(delay),
            _ => None,
        };
        self.inner.notifier.deliver(self, notification, delay).await;
    }

    /// Fires a fault rule for an outbound call about an invoice.
    fn outbound_fault(&self, target: FaultTarget, invoice: &str) -> Option<FaultAction> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let terminal = core.machine.invoice(invoice).map(|r| r.terminal.clone());
        let merchant = terminal.as_deref().and_then(|t| core.machine.merchant_of_terminal(t)).map(str::to_owned);
        let mut fx = Effects::default();
        let scope = CallScope { terminal: terminal.as_deref(), merchant: merchant.as_deref(), invoice: Some(invoice) };
        let action = core.machine.fire_fault(target, scope, &mut fx);
        core.push_effects(now, merchant.as_deref(), terminal.as_deref(), &fx);
        action
    }

    /// Sends a notification that the state machine did not ask for: a forged one (the
    /// invoice did not change) or a duplicate, optionally after a delay. Returns at once.
    pub fn send_extra_notification(
        &self,
        reference: &str,
        kind: ExtraNotification,
        url: Option<&str>,
        delay: Option<Duration>,
    ) -> Result<Notification, CustomerError> {
        let mut core = self.lock();
        let record =
            core.machine.invoice(reference).ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))?;
        let url = url
            .map(str::to_owned)
            .or_else(|| record.invoice.notification_url.clone())
            .ok_or_else(|| CustomerError::NoNotificationUrl(reference.to_owned()))?;
        let reason = match kind {
            ExtraNotification::Forged => NotificationReason::Forged,
            ExtraNotification::Duplicate => NotificationReason::Duplicate,
        };
        let notification = Notification { invoice: reference.into(), url, reason };
        let now = self.inner.clock.now();
        let detail = format!(
            "{reason} notification to {}{}",
            notification.url,
            delay.map(|d| format!(" after {}", humantime::format_duration(d))).unwrap_or_default()
        );
        core.push(now, None, Some(reference), Record::Control { action: "sendNotification".to_owned(), detail });
        drop(core);
        let mock = self.clone();
        let sent = notification.clone();
        if tokio::runtime::Handle::try_current().is_ok() {
            spawn_reported(self.clone(), "a notification delivery", async move {
                mock.inner.notifier.deliver(&mock, &sent, delay).await;
            });
        }
        Ok(notification)
    }

    /// Records a control action in the journal.
    pub fn note(&self, action: &str, detail: String, invoice: Option<&str>) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        core.push(now, None, invoice, Record::Control { action: action.to_owned(), detail });
    }

    /// [`Mock::note`] filed under `merchant` (a test's notes about what it did at the
    /// merchant's machines or shop belong to that merchant's journal).
    pub fn note_for(&self, merchant: &str, action: &str, detail: String, invoice: Option<&str>) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        core.push_for(now, Some(merchant), None, invoice, Record::Control { action: action.to_owned(), detail });
    }

    // ---- the simulated customer ----

    /// Scans any QR code: an invoice's or a till's opens the invoice; an unattended
    /// machine's makes the UPS call the merchant's createPurchase and waits for it.
    pub async fn scan_qr(
        &self,
        qr: &str,
        msisdn: Option<&str>,
        options: &ScanOptions,
    ) -> Result<ScanResult, CustomerError> {
        match parse_qr(qr)? {
            QrTarget::Unattended { merchant_id, token } => {
                let (purchase, invoice) = self.unattended_purchase(&merchant_id, &token, msisdn, options).await?;
                Ok(ScanResult::Unattended { purchase, invoice })
            }
            _ => self.scan(qr, msisdn).map(ScanResult::Invoice),
        }
    }

    /// Scans an invoice QR code (or a till's sticker) and opens the invoice.
    pub fn scan(&self, qr: &str, msisdn: Option<&str>) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let (reference, fx) = self.customer_action(&mut core, now, "scan", |m| m.scan(qr, msisdn, now))?;
        let view = view(&core.machine, &reference);
        self.finish(core, fx, now);
        view.ok_or(CustomerError::UnknownInvoice(reference))
    }

    /// The Unattended Payments Service at work: createPurchase, then judge the answer.
    pub async fn unattended_purchase(
        &self,
        merchant_id: &str,
        token: &str,
        msisdn: Option<&str>,
        options: &ScanOptions,
    ) -> Result<(PurchaseReport, Option<InvoiceView>), CustomerError> {
        let call = {
            let mut core = self.lock();
            let now = self.inner.clock.now();
            let (call, fx) = self.customer_action(&mut core, now, "createPurchase", |m| {
                m.begin_purchase(merchant_id, token, msisdn, options, now)
            })?;
            core.push_effects(now, None, None, &fx);
            if call.url.to_ascii_lowercase().starts_with("http://") {
                let detail = format!("createPurchase URL {} is plain http; production requires https", call.url);
                core.push_merchant(now, merchant_id, Record::Control { action: "warning".to_owned(), detail });
            }
            let record =
                Record::CreatePurchaseRequest { purchase: call.id, url: call.url.clone(), body: call.body.clone() };
            core.push_merchant(now, merchant_id, record);
            drop(core);
            self.deliver(fx.notifications);
            call
        };
        let answer = self.call_create_purchase(&call).await;
        let mut core = self.lock();
        let now = self.inner.clock.now();
        core.push_merchant(now, merchant_id, response_of(&call, &answer));
        let (report, fx) =
            self.customer_action(&mut core, now, "createPurchase", |m| m.finish_purchase(call.id, &answer, now))?;
        let invoice = match &report.outcome {
            crate::machine::ups::PurchaseOutcome::Accepted { invoice_reference } => {
                view(&core.machine, invoice_reference)
            }
            _ => None,
        };
        // Events of other merchants may come along (deadlines that fell due meanwhile):
        // each is filed under its own invoice's or purchase's merchant.
        core.push_effects(now, None, None, &fx);
        drop(core);
        self.deliver(fx.notifications);
        Ok((report, invoice))
    }

    /// POSTs createPurchase with the documented headers, honouring injected faults.
    async fn call_create_purchase(&self, call: &PurchaseCall) -> PurchaseAnswer {
        let fault = {
            let mut core = self.lock();
            let now = self.inner.clock.now();
            let mut fx = Effects::default();
            let scope = CallScope { merchant: Some(&call.merchant_id), ..CallScope::default() };
            let fault = core.machine.fire_fault(FaultTarget::CreatePurchase, scope, &mut fx);
            core.push_effects(now, Some(&call.merchant_id), None, &fx);
            fault
        };
        match fault {
            Some(FaultAction::DropConnection) => {
                return PurchaseAnswer::Failed("not called: dropped by an injected fault".to_owned());
            }
            Some(FaultAction::Delay(delay)) => tokio::time::sleep(delay).await,
            _ => {}
        }
        let request = self
            .inner
            .http
            .post(&call.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json;charset=UTF-8")
            .timeout(self.inner.config.ups.timeout)
            .body(call.body.clone());
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // The UPS timeout set above bounds the whole read, the cap its size.
                match read_capped(&mut response, self.inner.config.outbound.max_answer_bytes).await {
                    Ok(body) => PurchaseAnswer::Http { status, content_type, body: text_of(&body) },
                    Err(ReadError::TooLarge(limit)) => PurchaseAnswer::TooLarge { status, content_type, limit },
                    Err(ReadError::Read(error)) if error.is_timeout() => PurchaseAnswer::Timeout,
                    Err(error) => PurchaseAnswer::Failed(error_chain(&error)),
                }
            }
            Err(error) if error.is_timeout() => PurchaseAnswer::Timeout,
            Err(error) => PurchaseAnswer::Failed(error_chain(&error)),
        }
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
        let (confirmation, fx) =
            self.customer_action(&mut core, now, "confirm", |m| m.confirm(reference, msisdn, pin, now))?;
        let view = view(&core.machine, reference);
        self.finish(core, fx, now);
        Ok((confirmation, view.ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))?))
    }

    /// Cancels in the app.
    pub fn cancel(&self, reference: &str, msisdn: Option<&str>) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let ((), fx) =
            self.customer_action(&mut core, now, "cancel", |m| Ok(((), m.customer_cancel(reference, msisdn, now)?)))?;
        let view = view(&core.machine, reference);
        self.finish(core, fx, now);
        view.ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))
    }

    /// Closes the app without answering.
    pub fn walk_away(&self, reference: &str) -> Result<InvoiceView, CustomerError> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let ((), fx) = self.customer_action(&mut core, now, "walkAway", |m| Ok(((), m.walk_away(reference, now)?)))?;
        let view = view(&core.machine, reference);
        self.finish(core, fx, now);
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

    /// Resolves an invoice reference from a QR code.
    pub fn resolve_qr(&self, qr: &str) -> Result<String, CustomerError> {
        self.lock().machine.resolve_qr(qr)
    }

    // ---- merchants and terminals at run time ----

    pub fn add_reseller(&self, config: &ResellerConfig) -> Result<(), RegistryError> {
        self.lock().machine.add_reseller(config)?;
        self.note(
            "addReseller",
            format!("{} (merchantId {})", config.id, config.merchant_id.as_deref().unwrap_or(&config.id)),
            None,
        );
        Ok(())
    }

    pub fn add_terminal(&self, config: &TerminalConfig) -> Result<(), RegistryError> {
        self.lock().machine.add_terminal(config)?;
        self.note("addTerminal", format!("{} (reseller {})", config.id, config.reseller), None);
        Ok(())
    }

    /// Sets a merchant's createPurchase URL; a plain-http URL is accepted with a warning
    /// in the journal and the log.
    pub fn set_create_purchase_url(
        &self,
        merchant_id: &str,
        url: Option<&str>,
        dialect: Option<Dialect>,
    ) -> Result<(), RegistryError> {
        let mut core = self.lock();
        core.machine.set_create_purchase_url(merchant_id, url, dialect)?;
        let now = self.inner.clock.now();
        let detail = format!("createPurchase URL {}", url.unwrap_or("(none)"));
        core.push_merchant(now, merchant_id, Record::Control { action: "setCreatePurchaseUrl".to_owned(), detail });
        if url.is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("http://")) {
            tracing::warn!(merchant_id, url, "createPurchase URL is plain http; production requires https");
        }
        Ok(())
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

    /// Journal entries matching `filter`, as owned copies (for tests and library users;
    /// they copy every entry they return, under the lock).
    pub fn journal(&self, filter: &Filter) -> Vec<Entry> {
        self.lock().journal.query(filter)
    }

    /// A page of shared journal entries (see [`Journal::page`]): cheap under the lock,
    /// serialized by the caller after it.
    pub fn journal_page(&self, filter: &Filter, until: Option<u64>, budget: usize) -> Page {
        self.lock().journal.page(filter, until, budget)
    }

    /// (entries kept, entries dropped, last sequence number).
    pub fn journal_stats(&self) -> (usize, u64, u64) {
        let core = self.lock();
        (core.journal.len(), core.journal.dropped(), core.journal.last_seq())
    }

    /// Estimated bytes the journal holds (bounded by `journal_max_bytes`).
    pub fn journal_bytes(&self) -> usize {
        self.lock().journal.bytes()
    }

    /// Follows the journal: the receiver sees each new last sequence number.
    pub fn journal_updates(&self) -> tokio::sync::watch::Receiver<u64> {
        self.lock().journal.subscribe()
    }

    /// Whether Glase knows (still keeps) the invoice: cheaper than [`Self::invoice`],
    /// which copies it.
    pub fn has_invoice(&self, reference: &str) -> bool {
        self.lock().machine.invoice(reference).is_some()
    }

    /// How many invoices are not final yet (ISSUED or RESERVED).
    pub fn open_invoices(&self) -> usize {
        self.lock().machine.invoices().filter(|r| !r.is_final()).count()
    }

    /// Each invoice of `reseller` Glase keeps: its status, and what was paid for it.
    pub fn invoice_outcomes(&self, reseller: &str) -> Vec<InvoiceOutcome> {
        let core = self.lock();
        let machine = &core.machine;
        machine
            .invoices()
            .filter(|r| r.reseller == reseller)
            .map(|r| InvoiceOutcome {
                reference: r.reference.to_string(),
                status: r.status,
                paid: r.ers_reference.as_deref().and_then(|ers| machine.payment(ers)).map(|p| p.amount),
            })
            .collect()
    }

    /// The reseller whose merchantId this is.
    pub fn merchant(&self, merchant_id: &str) -> Option<Reseller> {
        self.lock().machine.merchant(merchant_id).cloned()
    }

    /// Every terminal, configured or registered.
    pub fn terminals(&self) -> Vec<Terminal> {
        self.lock().machine.terminals().cloned().collect()
    }

    /// The msisdn of the customer who scans when a scan names none.
    pub fn default_customer(&self) -> String {
        self.lock().machine.default_customer().to_owned()
    }

    /// The deadlines in force (the configured ones times the deadline scale).
    pub fn deadlines(&self) -> Deadlines {
        self.lock().machine.deadlines()
    }

    pub fn deadline_scale(&self) -> f64 {
        self.lock().machine.deadline_scale()
    }

    // ---- faults, clock and deadlines ----

    pub fn add_fault(&self, rule: FaultRule) -> Result<u64, FaultRuleError> {
        let mut core = self.lock();
        let id = core.machine.add_fault(rule)?;
        let added = core.machine.faults().iter().find(|r| r.id == id).cloned();
        let detail = serde_json::to_string(&added).unwrap_or_default();
        let now = self.inner.clock.now();
        let merchant = added.as_ref().and_then(|r| r.merchant.clone());
        let record = Record::Control { action: "addFault".to_owned(), detail };
        core.push_for(now, merchant.as_deref(), None, None, record);
        Ok(id)
    }

    pub fn faults(&self) -> Vec<FaultRule> {
        self.lock().machine.faults().to_vec()
    }

    pub fn clear_faults(&self, id: Option<u64>) -> usize {
        let removed = self.lock().machine.clear_faults(id);
        self.note("clearFaults", format!("{removed} removed"), None);
        removed
    }

    /// Moves virtual time forward and fires whatever fell due. `Err` if this mock's
    /// clock cannot be moved, or not that far (see [`crate::clock::CLOCK_LIMIT`]).
    pub fn advance_clock(&self, by: Duration) -> Result<Timestamp, ClockError> {
        self.inner.clock.advance(by)?;
        self.note("advanceClock", format!("by {}", humantime::format_duration(by)), None);
        self.expire_due();
        Ok(self.now())
    }

    /// Scales every Glase-side deadline armed from now on; `Err` (and nothing changes)
    /// for a factor out of bounds.
    pub fn set_deadline_scale(&self, factor: f64) -> Result<(), LimitError> {
        self.lock().machine.set_deadline_scale(factor)?;
        self.note("setDeadlineScale", format!("{factor}"), None);
        Ok(())
    }

    /// Fires due deadlines; returns the time of the next one. Called by the timer.
    pub fn expire_due(&self) -> Option<Timestamp> {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let fx = self.expire_guarded(&mut core, now);
        let next = core.machine.next_deadline();
        if !fx.events.is_empty() {
            self.finish(core, fx, now);
        }
        next
    }
}

impl Mock {
    // ---- panics (see `supervise`) ----

    /// Fires the deadlines due at `now` one at a time, each guarded: one whose handling
    /// panics is dropped (it was taken off the queue) with the invoice left as it was,
    /// and journaled; the others still fire.
    fn expire_guarded(&self, core: &mut Core, now: Timestamp) -> Effects {
        let mut fx = Effects::default();
        loop {
            let invoice = core.machine.due_invoice(now).cloned();
            let mut one = Effects::default();
            match guarded(|| core.machine.expire_one(now, &mut one)) {
                Ok(true) => fx.append(one),
                Ok(false) => break,
                // What the failed deadline had noted so far belongs to a step not taken.
                Err(message) => self.journal_panic(
                    core,
                    now,
                    "a deadline",
                    &message,
                    invoice.as_deref(),
                    "the deadline was dropped and the invoice left as it was",
                ),
            }
        }
        if let Err(message) = guarded(|| core.machine.enforce_retention()) {
            self.journal_panic(
                core,
                now,
                "retention",
                &message,
                None,
                "finished invoices were not forgotten this time",
            );
        }
        fx
    }

    /// Fires due deadlines ([`Self::expire_guarded`]), then runs `action` on the machine,
    /// guarded: a panic is journaled and logged, and comes back as `Err`.
    /// `invoice` is what the action is about, to file a panic under.
    fn guarded_action<R>(
        &self,
        core: &mut Core,
        now: Timestamp,
        what: &str,
        invoice: Option<&str>,
        action: impl FnOnce(&mut Machine) -> R,
    ) -> (Effects, Result<R, String>) {
        let expired = self.expire_guarded(core, now);
        let result = guarded(|| action(&mut core.machine));
        if let Err(message) = &result {
            self.journal_panic(core, now, what, message, invoice, "it was refused");
        }
        (expired, result)
    }

    /// [`Self::guarded_action`] for the customer's actions, whose effects start with the
    /// deadlines that fell due (as when the machine fires them itself).
    fn customer_action<R>(
        &self,
        core: &mut Core,
        now: Timestamp,
        what: &str,
        action: impl FnOnce(&mut Machine) -> Result<(R, Effects), CustomerError>,
    ) -> Result<(R, Effects), CustomerError> {
        let (expired, result) = self.guarded_action(core, now, what, None, action);
        let error = match result {
            Ok(Ok((value, fx))) => {
                let mut effects = expired;
                effects.append(fx);
                return Ok((value, effects));
            }
            Ok(Err(error)) => error,
            Err(message) => CustomerError::SystemError(message),
        };
        // The deadlines that fired are journaled and notified even though the action
        // was refused.
        core.push_effects(now, None, None, &expired);
        self.deliver(expired.notifications);
        Err(error)
    }

    /// Journals and logs a panic (the lock is held).
    fn journal_panic(
        &self,
        core: &mut Core,
        now: Timestamp,
        what: &str,
        message: &str,
        invoice: Option<&str>,
        consequence: &str,
    ) {
        tracing::error!(what, invoice, message, consequence, "the mock panicked (a bug); it keeps serving");
        let detail = format!("{what} panicked: {message}; {consequence}");
        core.push(now, None, invoice, Record::Control { action: "panic".to_owned(), detail });
    }

    /// Journals and logs a panic of a background task (see `supervise`).
    pub(crate) fn note_panic(&self, task: &str, message: &str, invoice: Option<&str>, consequence: &str) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        self.journal_panic(&mut core, now, task, message, invoice, consequence);
    }

    /// Panics if a test armed `at` (outside the lock, as a bug in the transport would).
    pub(crate) fn test_hook(&self, at: crate::machine::TestHook) {
        if self.lock().machine.take_test_hook(at) {
            panic!("injected panic at {at:?} (test hook)");
        }
    }

    /// Arms a [`crate::machine::TestHook`]: the next pass through it panics.
    #[cfg(test)]
    pub(crate) fn inject_panic(&self, at: crate::machine::TestHook) {
        self.lock().machine.panic_at = Some(at);
    }
}

fn view(machine: &Machine, reference: &str) -> Option<InvoiceView> {
    let record = machine.invoice(reference)?.clone();
    let payment = record.ers_reference.as_deref().and_then(|ers| machine.payment(ers)).cloned();
    Some(InvoiceView { qr_code: Machine::invoice_qr(reference), record, payment })
}

/// The invoice a sendInvoice issued, if any.
fn issued_invoice(fx: &Effects) -> Option<String> {
    fx.events.iter().find_map(|event| match event {
        crate::machine::Event::InvoiceIssued { invoice, .. } => Some(invoice.to_string()),
        _ => None,
    })
}

fn response_of(call: &PurchaseCall, answer: &PurchaseAnswer) -> Record {
    let (http_status, content_type, body, error) = match answer {
        PurchaseAnswer::Http { status, content_type, body } => {
            (Some(*status), content_type.clone(), Some(journal_text(body.as_bytes())), None)
        }
        PurchaseAnswer::TooLarge { status, content_type, limit } => (
            Some(*status),
            content_type.clone(),
            None,
            Some(format!("answer larger than {limit} bytes: stopped reading and closed the connection")),
        ),
        PurchaseAnswer::Timeout => (None, None, None, Some("timed out".to_owned())),
        PurchaseAnswer::Failed(error) => (None, None, None, Some(error.clone())),
    };
    Record::CreatePurchaseResponse { purchase: call.id, http_status, content_type, body, error }
}

/// Journals a request that could not be decoded, and the SOAP fault that answers it.
fn answer_undecodable(
    core: &mut Core,
    now: Timestamp,
    path: &str,
    request_text: String,
    error: &CodecError,
) -> SoapAnswer {
    let fault = SoapFault::from_decode_error(error);
    let record = Record::SoapRequest { path: path.to_owned(), operation: None, body: request_text };
    core.push(now, None, None, record);
    let answer = fault_answer(&fault);
    core.push(now, None, None, response_record(None, &answer, Some(&fault), None, None));
    answer
}

/// The machine's reply as it goes on the wire, with the fault or the result code the
/// journal records of it.
fn encode_reply(reply: &Reply) -> (SoapAnswer, Option<&SoapFault>, Option<i32>) {
    match reply {
        Reply::Response(response) => {
            let mut out = Vec::with_capacity(512);
            encode_response(response, &mut out);
            (SoapAnswer { status: 200, body: out, drop_connection: false }, None, Some(response.result_code.0))
        }
        Reply::Fault(fault) => (fault_answer(fault), Some(fault), None),
    }
}

/// Carries out an injected transport fault on the answer; returns the delay to wait
/// before sending it, if that is the fault.
fn apply_transport_fault(answer: &mut SoapAnswer, fault: Option<TransportFault>) -> Option<Duration> {
    match fault {
        Some(TransportFault::Delay(delay)) => return Some(delay),
        Some(TransportFault::Drop) => answer.drop_connection = true,
        // A bare status without a body, like a failing proxy in front of Glase.
        Some(TransportFault::HttpStatus(status)) => {
            *answer = SoapAnswer { status, body: Vec::new(), drop_connection: false };
        }
        None => {}
    }
    None
}

fn fault_answer(fault: &SoapFault) -> SoapAnswer {
    let mut out = Vec::with_capacity(256);
    encode_fault(fault, &mut out);
    SoapAnswer { status: 500, body: out, drop_connection: false }
}

fn response_record(
    operation: Option<String>,
    answer: &SoapAnswer,
    fault: Option<&SoapFault>,
    code: Option<i32>,
    delay: Option<Duration>,
) -> Record {
    Record::SoapResponse {
        operation,
        http_status: answer.status,
        result_code: code,
        fault: fault.map(|f| f.string.clone()),
        body: text_of(&answer.body),
        dropped: answer.drop_connection,
        delayed_ms: delay.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// Bytes as text: a copy when they are UTF-8 (what the codec reads and writes), else
/// with replacement characters. `from_utf8` first: the lossy path walks the bytes in
/// chunks and costs several times as much.
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A request body for the journal. A message in another encoding than UTF-8 is journaled
/// decoded, with its XML declaration's encoding relabelled UTF-8 **[decision]**: the
/// journal is text, and its entry then decodes to the same request (the journal is for
/// reading what was sent, not for replaying bytes).
fn journal_request_text(body: &[u8], charset: Option<&str>) -> String {
    match decode_text(body, charset) {
        Ok(Cow::Owned(text)) => journal_text(relabel_utf8(&text).as_bytes()),
        _ => journal_text(body),
    }
}

/// `text` with the `encoding` of its XML declaration (if any) replaced by `UTF-8`.
fn relabel_utf8(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let Some(end) = text.starts_with("<?xml").then(|| text.find("?>")).flatten() else { return Cow::Borrowed(text) };
    let declaration = &text[..end];
    let Some(at) = declaration.find("encoding") else { return Cow::Borrowed(text) };
    let value = declaration[at..].find(['"', '\'']).map(|q| at + q);
    let Some(open) = value else { return Cow::Borrowed(text) };
    let quote = &declaration[open..=open];
    let Some(close) = declaration[open + 1..].find(quote).map(|c| open + 1 + c) else { return Cow::Borrowed(text) };
    Cow::Owned(format!("{}UTF-8{}", &text[..open + 1], &text[close..]))
}

fn journal_text(body: &[u8]) -> String {
    let cut = &body[..body.len().min(JOURNAL_BODY_LIMIT)];
    let mut text = text_of(cut);
    if body.len() > JOURNAL_BODY_LIMIT {
        text.push_str(&format!("… [{} more bytes not journaled]", body.len() - JOURNAL_BODY_LIMIT));
    }
    text
}

impl NotificationLog for Mock {
    fn now(&self) -> Timestamp {
        Mock::now(self)
    }

    /// Journals one notification attempt.
    fn record_notification(
        &self,
        n: &Notification,
        attempt: u32,
        outcome: String,
        http_status: Option<u16>,
        last_attempt: bool,
        sent_at: Option<Timestamp>,
    ) {
        let mut core = self.lock();
        let now = self.inner.clock.now();
        let terminal = core.machine.invoice(&n.invoice).map(|r| r.terminal.clone());
        let record = Record::NotificationSent {
            url: n.url.clone(),
            reason: n.reason.to_string(),
            attempt,
            outcome,
            http_status,
            last_attempt,
            sent_at_ms: sent_at.map(|t| t.0),
        };
        core.push(now, terminal.as_deref(), Some(&n.invoice), record);
    }
}

impl PanicLog for Mock {
    fn note_panic(&self, task: &str, message: &str, consequence: &str) {
        Mock::note_panic(self, task, message, None, consequence);
    }
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
