//! Request builders and a small harness around [`Machine`]: the demo principals, invoices
//! whose rows add up, and a hand-moved clock (time is always passed in, never slept).

#![allow(dead_code)]

use std::str::FromStr;

use glase_protocol::request::{
    AssignSeqrId, CancelInvoice, CommitReservation, ExecuteReport, GetPaymentStatus, MarkTransactionPeriod,
    RefundPayment, RegisterTerminal, SendInvoice, SubmitPaymentReceipt, UnregisterTerminal, UpdateInvoice,
};
use glase_protocol::{
    AcknowledgmentMode, Amount, ClientContext, Decimal, Invoice, InvoiceRow, InvoiceStatus, Operation, Parameters,
    PaymentMode, PrincipalId, ReceiptDocument, Reply, Request, Response, ResponseDetail, ResultCode,
};
use mock_glase::clock::Timestamp;
use mock_glase::config::{Config, demo};
use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::{Effects, Event, InvoiceRecord, Machine, Notification, Outcome, Payment};

/// The instant every test starts at: 2023-11-14T22:13:20Z.
pub const START: u64 = 1_700_000_000_000;
/// The default status deadline of spec 2.2 step 5, in milliseconds.
pub const STATUS_DEADLINE_MS: u64 = 20_000;
/// The default reservation timeout of the mock's configuration, in milliseconds.
pub const RESERVATION_TIMEOUT_MS: u64 = 600_000;
/// The default report delay, in milliseconds.
pub const REPORT_DELAY_MS: u64 = 2_000;
pub const NOTIFY_URL: &str = "https://shop.example/seqr/notify?session=abc";

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("test decimal literal")
}

pub fn eur(value: &str) -> Amount {
    Amount::new(dec(value), "EUR")
}

// ---------------------------------------------------------------- principals

pub fn context(kind: &str, id: &str, user_id: Option<&str>, password: &str) -> ClientContext {
    ClientContext {
        channel: Some("WS".to_owned()),
        client_comment: None,
        client_id: Some("machine-tests 1.0".to_owned()),
        client_reference: Some("machine-tests".to_owned()),
        client_request_timeout: Some(0),
        initiator_principal_id: Some(PrincipalId {
            id: Some(id.to_owned()),
            kind: Some(kind.to_owned()),
            user_id: user_id.map(str::to_owned),
        }),
        password: Some(password.to_owned()),
    }
}

/// TERMINALID `demo-terminal` / `demo1234`.
pub fn terminal() -> ClientContext {
    terminal_as(demo::TERMINAL_ID, demo::PASSWORD)
}

pub fn terminal_as(id: &str, password: &str) -> ClientContext {
    context("TERMINALID", id, None, password)
}

/// RESELLERUSER `glase-demo`, userId `9900`, `demo1234`.
pub fn reseller() -> ClientContext {
    reseller_as(demo::RESELLER_ID, demo::RESELLER_USER_ID, demo::PASSWORD)
}

pub fn reseller_as(id: &str, user_id: &str, password: &str) -> ClientContext {
    context("RESELLERUSER", id, Some(user_id), password)
}

// ---------------------------------------------------------------- invoices

/// An invoice in EUR whose rows add up to `total`: one row of `total - 1.00` and one of
/// `1.00` when the total allows, else a single row.
pub fn invoice(total: &str, mode: PaymentMode) -> Invoice {
    let total = dec(total);
    let rows = if total > Decimal::ONE {
        vec![row("Coffee", total - Decimal::ONE), row("Cookie", Decimal::ONE)]
    } else {
        vec![row("Coffee", total)]
    };
    Invoice {
        payment_mode: Some(mode),
        acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
        issue_date: Some("2023-11-14T22:13:20Z".to_owned()),
        title: Some("Order 1".to_owned()),
        client_invoice_id: Some("order-1".to_owned()),
        invoice_rows: Some(rows),
        total_amount: Some(Amount::new(total, "EUR")),
        cashier_id: Some("cashier-7".to_owned()),
        footer: None,
        back_url: None,
        notification_url: None,
        commit_reservation_timeout: None,
    }
}

pub fn row(description: &str, amount: Decimal) -> InvoiceRow {
    InvoiceRow {
        item_description: Some(description.to_owned()),
        item_quantity: Some(Decimal::ONE),
        item_total_amount: Some(Amount::new(amount, "EUR")),
        item_unit_price: Some(Amount::new(amount, "EUR")),
        ..InvoiceRow::default()
    }
}

pub fn with_url(mut invoice: Invoice, url: &str) -> Invoice {
    invoice.notification_url = Some(url.to_owned());
    invoice
}

pub fn with_commit_timeout(mut invoice: Invoice, seconds: i64) -> Invoice {
    invoice.commit_reservation_timeout = Some(seconds);
    invoice
}

/// A refund request body: `refundPayment` takes an invoice with title, cashier and total.
pub fn refund_invoice(amount: &str) -> Invoice {
    Invoice {
        title: Some("Refund".to_owned()),
        cashier_id: Some("cashier-7".to_owned()),
        total_amount: Some(eur(amount)),
        ..Invoice::default()
    }
}

// ---------------------------------------------------------------- requests (as the demo terminal)

pub fn send_invoice(invoice: Invoice) -> Request {
    Request::SendInvoice(SendInvoice { context: Some(terminal()), invoice: Some(invoice), tokens: vec![] })
}

pub fn update_invoice(reference: &str, invoice: Invoice) -> Request {
    Request::UpdateInvoice(UpdateInvoice {
        context: Some(terminal()),
        invoice_reference: Some(reference.to_owned()),
        invoice: Some(invoice),
        tokens: vec![],
    })
}

pub fn get_payment_status(reference: &str) -> Request {
    Request::GetPaymentStatus(GetPaymentStatus {
        context: Some(terminal()),
        invoice_reference: Some(reference.to_owned()),
        invoice_version: Some(0),
    })
}

pub fn cancel_invoice(reference: &str) -> Request {
    Request::CancelInvoice(CancelInvoice { context: Some(terminal()), invoice_reference: Some(reference.to_owned()) })
}

/// `commitReservation`, with the v2.6 amount when given.
pub fn commit(reference: &str, amount: Option<&str>) -> Request {
    Request::CommitReservation(CommitReservation {
        context: Some(terminal()),
        invoice_reference: Some(reference.to_owned()),
        amount: amount.map(eur),
    })
}

pub fn refund(ers_reference: &str, amount: &str) -> Request {
    Request::RefundPayment(RefundPayment {
        context: Some(terminal()),
        ers_reference: Some(ers_reference.to_owned()),
        invoice: Some(refund_invoice(amount)),
    })
}

pub fn submit_receipt(ers_reference: &str) -> Request {
    Request::SubmitPaymentReceipt(SubmitPaymentReceipt {
        context: Some(terminal()),
        ers_reference: Some(ers_reference.to_owned()),
        receipt_document: Some(ReceiptDocument {
            mime_type: Some("text/html".to_owned()),
            receipt_data: Some(b"<html><body>Thanks</body></html>".to_vec()),
            receipt_type: Some("RECEIPT".to_owned()),
        }),
    })
}

/// `registerTerminal` as the demo RESELLERUSER.
pub fn register_terminal(external_id: &str, password: &str) -> Request {
    Request::RegisterTerminal(RegisterTerminal {
        context: Some(reseller()),
        external_terminal_id: Some(external_id.to_owned()),
        password: Some(password.to_owned()),
        name: Some(format!("Till {external_id}")),
    })
}

pub fn unregister_terminal() -> Request {
    Request::UnregisterTerminal(UnregisterTerminal { context: Some(terminal()) })
}

pub fn assign_seqr_id(seqr_id: &str) -> Request {
    Request::AssignSeqrId(AssignSeqrId { context: Some(terminal()), seqr_id: Some(seqr_id.to_owned()) })
}

pub fn mark_period(parameters: &[(&str, &str)]) -> Request {
    Request::MarkTransactionPeriod(MarkTransactionPeriod {
        context: Some(terminal()),
        parameters: Some(Parameters::from_pairs(parameters.iter().copied())),
    })
}

pub fn execute_report(report_id: &str, parameters: &[(&str, &str)]) -> Request {
    Request::ExecuteReport(ExecuteReport {
        context: Some(terminal()),
        report_id: Some(report_id.to_owned()),
        language: Some("en".to_owned()),
        parameters: Some(Parameters::from_pairs(parameters.iter().copied())),
    })
}

pub fn unsupported(op: Operation) -> Request {
    Request::Unsupported { op, context: Some(terminal()) }
}

/// The same request sent with another context.
pub fn by(context: ClientContext, mut request: Request) -> Request {
    let slot = match &mut request {
        Request::SendInvoice(r) => &mut r.context,
        Request::UpdateInvoice(r) => &mut r.context,
        Request::GetPaymentStatus(r) => &mut r.context,
        Request::CancelInvoice(r) => &mut r.context,
        Request::CommitReservation(r) => &mut r.context,
        Request::SubmitPaymentReceipt(r) => &mut r.context,
        Request::RefundPayment(r) => &mut r.context,
        Request::RegisterTerminal(r) => &mut r.context,
        Request::UnregisterTerminal(r) => &mut r.context,
        Request::AssignSeqrId(r) => &mut r.context,
        Request::MarkTransactionPeriod(r) => &mut r.context,
        Request::ExecuteReport(r) => &mut r.context,
        Request::Unsupported { context, .. } => context,
    };
    *slot = Some(context);
    request
}

// ---------------------------------------------------------------- replies

pub fn response(reply: &Reply) -> &Response {
    match reply {
        Reply::Response(response) => response,
        Reply::Fault(fault) => panic!("expected a response, got a SOAP fault: {fault:?}"),
    }
}

/// `status` and `version` of a getPaymentStatus response.
pub fn status_of(response: &Response) -> (InvoiceStatus, i32) {
    match &response.detail {
        ResponseDetail::PaymentStatus { status: Some(status), version, .. } => (*status, *version),
        other => panic!("not a payment status: {other:?} ({})", response.result_code),
    }
}

pub fn transitions(effects: &Effects) -> Vec<(String, InvoiceStatus, InvoiceStatus, String)> {
    effects
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Transition { invoice, from, to, reason } => {
                Some((invoice.to_string(), *from, *to, reason.to_string()))
            }
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- the harness

/// A machine and the time it is at. Every call passes `now` explicitly.
#[derive(Debug)]
pub struct World {
    pub machine: Machine,
    pub now: Timestamp,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// The demo configuration, seed 42.
    pub fn new() -> Self {
        Self::with_config(&Config::default())
    }

    pub fn with_config(config: &Config) -> Self {
        let resolved = config.resolved().expect("test configuration is valid");
        Self { machine: Machine::new(&resolved, 42), now: Timestamp(START) }
    }

    /// A configuration given as TOML.
    pub fn with_toml(text: &str) -> Self {
        let config: Config = toml::from_str(text).expect("test configuration parses");
        Self::with_config(&config)
    }

    /// Milliseconds since [`START`].
    pub fn elapsed(&self) -> u64 {
        self.now.0 - START
    }

    pub fn advance(&mut self, ms: u64) {
        self.now = Timestamp(self.now.0 + ms);
    }

    /// Fires the deadlines due now, with no request (the transport's timer).
    pub fn expire(&mut self) -> Effects {
        self.machine.expire(self.now)
    }

    pub fn apply(&mut self, request: &Request) -> Outcome {
        self.machine.apply(request, self.now)
    }

    /// Applies a request that must be answered with a response (not a fault).
    pub fn call(&mut self, request: &Request) -> Response {
        response(&self.apply(request).reply).clone()
    }

    pub fn code(&mut self, request: &Request) -> ResultCode {
        self.call(request).result_code
    }

    /// sendInvoice that must succeed; returns the invoiceReference.
    pub fn issue(&mut self, invoice: Invoice) -> String {
        let response = self.call(&send_invoice(invoice));
        assert_eq!(response.result_code, ResultCode::SUCCESS, "sendInvoice failed");
        match response.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
            other => panic!("no invoiceReference: {other:?}"),
        }
    }

    pub fn issue_eur(&mut self, total: &str, mode: PaymentMode) -> String {
        self.issue(invoice(total, mode))
    }

    /// The default customer confirms with the right PIN.
    pub fn confirm(&mut self, reference: &str) -> (Confirmation, Effects) {
        self.machine.confirm(reference, None, Some(demo::CUSTOMER_PIN), self.now).expect("customer can confirm")
    }

    pub fn status(&mut self, reference: &str) -> (InvoiceStatus, i32, Response) {
        let response = self.call(&get_payment_status(reference));
        assert_eq!(response.result_code, ResultCode::SUCCESS, "getPaymentStatus failed");
        let (status, version) = status_of(&response);
        (status, version, response)
    }

    /// An immediate payment, confirmed and acknowledged; returns (reference, ersReference).
    pub fn paid(&mut self, total: &str) -> (String, String) {
        let reference = self.issue_eur(total, PaymentMode::ImmediateDebit);
        assert_eq!(self.confirm(&reference).0, Confirmation::Paid);
        let (status, _, response) = self.status(&reference);
        assert_eq!(status, InvoiceStatus::Paid);
        let ers = response.ers_reference.expect("PAID carries an ersReference");
        (reference, ers)
    }

    /// A reservation, confirmed and acknowledged; returns the reference.
    pub fn reserved(&mut self, total: &str) -> String {
        let reference = self.issue_eur(total, PaymentMode::ReservationRequired);
        assert_eq!(self.confirm(&reference).0, Confirmation::Reserved);
        assert_eq!(self.status(&reference).0, InvoiceStatus::Reserved);
        reference
    }

    pub fn record(&self, reference: &str) -> &InvoiceRecord {
        self.machine.invoice(reference).expect("invoice exists")
    }

    pub fn invoice_status(&self, reference: &str) -> InvoiceStatus {
        self.record(reference).status
    }

    pub fn payment(&self, ers: &str) -> &Payment {
        self.machine.payment(ers).expect("payment exists")
    }

    /// The default customer's wallet.
    pub fn balance(&self) -> Decimal {
        self.machine.customer(demo::CUSTOMER_MSISDN).expect("demo customer").balance
    }
}

/// The notifications of some effects, as (invoice, url, reason).
pub fn notifications(effects: &Effects) -> Vec<Notification> {
    effects.notifications.clone()
}
