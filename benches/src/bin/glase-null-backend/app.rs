//! What every handler shares: the fleet, the Glase client and the settings; the two
//! Glase exchanges more than one path needs (fetch a status and act on it, cancel and
//! release); the invoices; and the driver's JSON answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use glase_protocol::{AcknowledgmentMode, Amount, Invoice, InvoiceRow, InvoiceStatus, PaymentMode, ResultCode};
use rust_decimal::Decimal;

use crate::catalogue::CURRENCY;
use crate::fleet::{Fleet, Phase, Row};
use crate::glase::{Glase, GlaseError, retried};

/// A line on stderr about something that went wrong (rare: a benchmark run prints
/// none). Written without `eprintln!`, which panics when stderr is gone.
pub fn warn(message: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// How long a failed cancelInvoice (or a vend in doubt) waits before the idle timer
/// tries again.
pub const RETRY: Duration = Duration::from_millis(500);

/// The backend.
#[derive(Debug)]
pub struct App {
    pub fleet: Fleet,
    pub glase: Glase,
    /// Base of the notification URLs (`http://HOST:PORT`, no trailing slash).
    pub public_url: String,
    pub idle_timeout: Duration,
}

/// How a cancelInvoice attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancel {
    /// The invoice is final at Glase and the machine released.
    Done,
    /// The invoice turned out PAID (only a commit of ours does that): released, and
    /// nothing was cancelled.
    Paid,
    /// Not now (the customer is confirming, Glase did not answer): the reason.
    Retry(String),
}

impl App {
    pub fn notification_url(&self, index: usize, purchase: u64) -> String {
        format!("{}{}", self.public_url, self.fleet.notify_path(index, purchase))
    }

    /// The reservation invoice: one row for the whole amount offered, replaced by the
    /// vended rows with updateInvoice before the commit.
    pub fn reservation_invoice(&self, index: usize, purchase: u64, amount: Decimal) -> Invoice {
        let machine = &self.fleet.machines[index];
        let row = InvoiceRow {
            item_description: Some(format!("Reservation at {}", machine.name)),
            item_quantity: Some(Decimal::ONE),
            item_unit_price: Some(Amount::new(amount, CURRENCY)),
            item_total_amount: Some(Amount::new(amount, CURRENCY)),
            ..InvoiceRow::default()
        };
        Invoice {
            issue_date: Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()),
            invoice_rows: Some(vec![row]),
            total_amount: Some(Amount::new(amount, CURRENCY)),
            ..self.invoice_frame(index, purchase)
        }
    }

    /// The invoice after vending: the vended rows and their total.
    pub fn rows_invoice(&self, index: usize, purchase: u64, rows: &[Row], total: Decimal) -> Invoice {
        let catalogue = self.fleet.catalogue(index);
        let rows = rows
            .iter()
            .map(|row| {
                let product = &catalogue.products[row.product];
                InvoiceRow {
                    item_description: Some(product.name.to_owned()),
                    item_sku: Some(product.sku.to_owned()),
                    item_quantity: Some(Decimal::from(row.quantity)),
                    item_unit_price: Some(Amount::new(row.unit_price, CURRENCY)),
                    item_total_amount: Some(Amount::new(row.total, CURRENCY)),
                    ..InvoiceRow::default()
                }
            })
            .collect();
        Invoice {
            invoice_rows: Some(rows),
            total_amount: Some(Amount::new(total, CURRENCY)),
            ..self.invoice_frame(index, purchase)
        }
    }

    /// What both invoices of a purchase carry.
    fn invoice_frame(&self, index: usize, purchase: u64) -> Invoice {
        let machine = &self.fleet.machines[index];
        Invoice {
            payment_mode: Some(PaymentMode::ReservationRequired),
            acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
            title: Some(machine.name.clone()),
            client_invoice_id: Some(format!("vp-{purchase}")),
            cashier_id: Some(machine.token.clone()),
            notification_url: Some(self.notification_url(index, purchase)),
            ..Invoice::default()
        }
    }

    /// After a notification: getPaymentStatus once (tried again only when it failed
    /// transiently), and only its answer moves the machine (RESERVED unlocks,
    /// CANCELED/FAILED release). A fetch that keeps failing changes nothing: the idle
    /// timer cancels the purchase in the end.
    pub async fn refresh(self: Arc<Self>, index: usize, purchase: u64) {
        let (reference, version) = {
            let mut slot = self.fleet.lock(index);
            match slot.held(purchase) {
                Some(hold) if hold.phase != Phase::Vending => match &hold.reference {
                    Some(reference) => (reference.clone(), hold.version),
                    None => return,
                },
                _ => return,
            }
        };
        let status = match retried(|| self.glase.payment_status(&reference, version)).await {
            Ok(status) => status,
            Err(error) => return warn(format_args!("getPaymentStatus of {reference} failed: {error}")),
        };
        let mut slot = self.fleet.lock(index);
        let Some(hold) = slot.held(purchase) else { return };
        hold.version = hold.version.max(status.version);
        match status.status {
            InvoiceStatus::Reserved if hold.phase == Phase::Reserved && !hold.closing => {
                hold.phase = Phase::Unlocked;
                // The idle timer starts again when the customer can choose.
                hold.deadline = Instant::now() + self.idle_timeout;
            }
            // Closed at Glase; PAID without our commit cannot happen to a reservation,
            // but would leave nothing to vend either.
            InvoiceStatus::Canceled | InvoiceStatus::Failed | InvoiceStatus::Paid if hold.phase != Phase::Vending => {
                slot.release(purchase);
            }
            _ => {}
        }
    }

    /// The latest invoice version getPaymentStatus returned for the purchase (sent as
    /// invoiceVersion), 0 once it has ended.
    pub fn version(&self, index: usize, purchase: u64) -> i32 {
        self.fleet.lock(index).held(purchase).map_or(0, |hold| hold.version)
    }

    pub fn note_version(&self, index: usize, purchase: u64, version: i32) {
        if let Some(hold) = self.fleet.lock(index).held(purchase) {
            hold.version = hold.version.max(version);
        }
    }

    /// cancelInvoice, then release the machine. 95 (already cancelled) counts as done;
    /// any other refusal asks the status: a final invoice releases, anything else is
    /// tried again later (the caller set `closing`; this clears it for the retry).
    pub async fn cancel(&self, index: usize, purchase: u64, reference: &str) -> Cancel {
        let outcome = match self.glase.cancel(reference).await {
            Ok(()) => Cancel::Done,
            Err(GlaseError::Result(ResultCode::INVOICE_ALREADY_CANCELED)) => Cancel::Done,
            Err(error) => match self.glase.payment_status(reference, self.version(index, purchase)).await {
                Ok(status) if matches!(status.status, InvoiceStatus::Canceled | InvoiceStatus::Failed) => Cancel::Done,
                Ok(status) if status.status == InvoiceStatus::Paid => Cancel::Paid,
                Ok(status) => Cancel::Retry(format!("cancelInvoice: {error}; the invoice is {}", status.status)),
                Err(status_error) => Cancel::Retry(format!("cancelInvoice: {error}; getPaymentStatus: {status_error}")),
            },
        };
        let mut slot = self.fleet.lock(index);
        match &outcome {
            Cancel::Done | Cancel::Paid => {
                slot.release(purchase);
            }
            Cancel::Retry(_) => {
                if let Some(hold) = slot.held(purchase) {
                    hold.closing = false;
                    hold.deadline = Instant::now() + RETRY;
                }
            }
        }
        outcome
    }
}

/// A JSON answer of the driver.
pub fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A driver error: `{"error"}`, plus the vend id and (once recorded) the vend's state.
#[derive(Debug, Clone)]
pub struct DriverError {
    pub status: StatusCode,
    pub error: String,
    pub vend_id: Option<String>,
    pub state: Option<&'static str>,
}

impl DriverError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self { status, error: error.into(), vend_id: None, state: None }
    }

    pub fn unknown_machine(token: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("unknown machine {token:?}"))
    }

    pub fn of_vend(mut self, vend_id: &str, state: Option<&'static str>) -> Self {
        self.vend_id = Some(vend_id.to_owned());
        self.state = state;
        self
    }
}

impl IntoResponse for DriverError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.error });
        if let Some(vend_id) = self.vend_id {
            body["vendId"] = vend_id.into();
        }
        if let Some(state) = self.state {
            body["state"] = state.into();
        }
        json(self.status, body.to_string().into_bytes())
    }
}
