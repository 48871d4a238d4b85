//! Charging a vend at Glase, and what becomes of the vend and its machine afterwards.
//!
//! updateInvoice with the vended rows, then commitReservation for exactly their total.
//! A commit whose outcome is unknown (no answer, 96) is resolved with getPaymentStatus:
//! PAID paid, CANCELED/FAILED canceled, RESERVED still `pending` (502, the machine
//! stays `vending`) until a repeated request or the idle timer asks again and, if it
//! is still RESERVED, updates and commits again. Glase refuses a commit (96) once one
//! went through, so nothing is ever charged twice.

use std::sync::Arc;
use std::time::Instant;

use glase_protocol::{Amount, InvoiceStatus, ResultCode};
use rust_decimal::Decimal;

use crate::app::{App, RETRY};
use crate::catalogue::CURRENCY;
use crate::fleet::{Phase, Row, VendRecord, VendState};
use crate::glase::{GlaseError, retried};

/// How a vend's exchange with Glase ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Paid(Option<String>),
    /// Nothing charged; the customer may choose again.
    Rejected(String),
    /// The reservation ended before the charge: do not dispense.
    Canceled(String),
    /// Not known yet.
    Pending(String),
    /// The commit's answer was lost: to be resolved.
    Doubt(String),
}

/// One vend to charge: its purchase, invoice, rows and total.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    pub app: &'a App,
    pub index: usize,
    pub purchase: u64,
    pub reference: &'a str,
    pub rows: &'a [Row],
    pub total: Decimal,
}

impl Charge<'_> {
    /// A new vend: update and commit; a lost commit answer is looked up at once.
    pub async fn first(self) -> Outcome {
        match self.update_and_commit().await {
            Outcome::Doubt(why) => match ask(self.app, self.index, self.purchase, self.reference).await {
                Asked::Ended(outcome) => outcome,
                Asked::Reserved => Outcome::Pending(format!("{why}; the invoice is still RESERVED")),
                Asked::Unknown(error) => Outcome::Pending(format!("{why}; getPaymentStatus: {error}")),
            },
            outcome => outcome,
        }
    }

    /// A vend left `pending`: PAID → paid; RESERVED → the commit never happened, so
    /// update and commit again; CANCELED/FAILED → canceled.
    pub async fn again(self) -> Outcome {
        match ask(self.app, self.index, self.purchase, self.reference).await {
            Asked::Ended(outcome) => outcome,
            Asked::Reserved => match self.update_and_commit().await {
                Outcome::Doubt(why) => Outcome::Pending(why),
                outcome => outcome,
            },
            Asked::Unknown(error) => Outcome::Pending(format!("getPaymentStatus: {error}")),
        }
    }

    async fn update_and_commit(self) -> Outcome {
        let Self { app, index, purchase, reference, rows, total } = self;
        let update = || app.glase.update_invoice(reference, app.rows_invoice(index, purchase, rows, total));
        if let Err(error) = retried(update).await {
            // Nothing is charged yet; the customer may choose again (or the idle timer cancels).
            return Outcome::Rejected(format!("updateInvoice failed: {error}"));
        }
        match app.glase.commit(reference, Amount::new(total, CURRENCY)).await {
            Ok(ers) => Outcome::Paid(ers),
            Err(error @ GlaseError::Result(code)) if code != ResultCode::INVOICE_STATE_NOT_RESERVED => {
                Outcome::Rejected(format!("commitReservation refused: {error}"))
            }
            Err(error) => Outcome::Doubt(format!("commitReservation: {error}")),
        }
    }
}

/// What getPaymentStatus says about a commit whose answer was lost.
enum Asked {
    Ended(Outcome),
    /// Still RESERVED: the commit did not happen (or has not yet).
    Reserved,
    Unknown(String),
}

async fn ask(app: &App, index: usize, purchase: u64, reference: &str) -> Asked {
    let version = app.version(index, purchase);
    let status = match retried(|| app.glase.payment_status(reference, version)).await {
        Ok(status) => status,
        Err(error) => return Asked::Unknown(error.to_string()),
    };
    app.note_version(index, purchase, status.version);
    match status.status {
        InvoiceStatus::Paid => Asked::Ended(Outcome::Paid(status.ers_reference)),
        InvoiceStatus::Canceled | InvoiceStatus::Failed => {
            Asked::Ended(Outcome::Canceled(format!("invoice {}", status.status)))
        }
        InvoiceStatus::Reserved => Asked::Reserved,
        other => Asked::Ended(Outcome::Rejected(format!("the invoice is {other}, not RESERVED"))),
    }
}

/// Records the outcome on the vend and moves the machine: paid or canceled release
/// it, rejected unlocks it again, pending leaves it vending (the idle timer resolves).
pub fn finish(app: &App, index: usize, purchase: u64, vend_id: &str, outcome: Outcome) -> Option<VendRecord> {
    let mut slot = app.fleet.lock(index);
    let (state, ers, note) = match outcome {
        Outcome::Paid(ers) => (VendState::Paid, ers, None),
        Outcome::Rejected(why) => (VendState::Rejected, None, Some(why)),
        Outcome::Canceled(why) => (VendState::Canceled, None, Some(why)),
        Outcome::Pending(why) | Outcome::Doubt(why) => (VendState::Pending, None, Some(why)),
    };
    let now = Instant::now();
    match state {
        VendState::Paid | VendState::Canceled => {
            slot.release(purchase);
        }
        VendState::Rejected | VendState::Pending => {
            if let Some(hold) = slot.held(purchase) {
                let rejected = state == VendState::Rejected;
                hold.phase = if rejected { Phase::Unlocked } else { Phase::Vending };
                hold.deadline = now + if rejected { app.idle_timeout } else { RETRY };
            }
        }
    }
    // Only this function ends a record marked as settling, and a new vend replaces
    // the record only on an unlocked machine, so it is still there.
    let record = slot.last_vend.as_mut().filter(|v| v.id == vend_id && v.purchase == purchase)?;
    (record.state, record.ers_reference, record.note, record.settling) = (state, ers, note, false);
    Some(record.clone())
}

/// The idle timer's resolution of a vend left `pending` (its machine did not ask again).
pub async fn resolve(app: Arc<App>, index: usize, record: VendRecord) {
    let (purchase, reference) = (record.purchase, record.reference.as_str());
    let charge = Charge { app: &app, index, purchase, reference, rows: &record.rows, total: record.total };
    let outcome = charge.again().await;
    finish(&app, index, purchase, &record.id, outcome);
}
