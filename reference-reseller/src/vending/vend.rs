//! Finishing a purchase at the machine: the customer's choice is priced, shown in the
//! app with updateInvoice and charged with commitReservation for exactly the vended
//! total; or the reservation is cancelled (nothing chosen, idle timeout).
//!
//! Two configuration options make a deliberately different but equally correct wire
//! exchange (`[vending]`, see [`super::VendingConfig`]): `update_per_line` sends one
//! updateInvoice per vended line with the running total, and `commit_amount = false`
//! commits without the `amount` element, so Glase commits the updated total.
//!
//! # Implementation rationale
//! The final amount and rows are stored (state `vending`) *before* Glase hears of them,
//! together with the vend under the machine's vend id. If the reseller dies between the
//! commit and recording its answer, recovery asks getPaymentStatus: PAID means the
//! commit happened (record it), RESERVED means it did not (commit again, the same
//! stored amount: only ever what the machine asked to dispense). A commit on an invoice
//! that is no longer RESERVED is refused by Glase (96), so repeating one can never
//! charge twice.
//!
//! **No charge without a dispense** **[decision]**: the machine dispenses only on a
//! `paid` answer, so the one way to charge a customer for nothing is an answer the
//! machine never gets (the reseller died, a connection dropped, a 502 "not known
//! yet"). Every vend is therefore recorded under the machine's vend id, its outcome
//! stays readable by that id, and a repeated request with the id answers that outcome
//! instead of starting another vend; the machine asks until the outcome is final. The
//! reseller finishes a recorded vend by itself (background, recovery), so the outcome
//! the machine eventually reads is final. Rejected alternatives: *dispense first, then
//! commit* makes a lost answer harmless but hands out goods against a reservation that
//! Glase may have reversed or expired meanwhile (and the kit requires the payment
//! before the dispense); *never commit outside a machine's request* (recovery cancels
//! a vend whose commit never reached Glase) only narrows the gap, since the answer to
//! the machine's next request can be lost as well, and still needs the outcome by id.

use std::collections::BTreeMap;

use glase_protocol::{AcknowledgmentMode, Amount, Invoice, InvoiceRow, PaymentMode, ResultCode};
use rust_decimal::Decimal;
use tracing::Instrument;

use super::Vending;
use super::model::{MachineState, Purchase, PurchaseState, VendId, VendRecord, VendState, VendedRow, money, now_ms};
use super::status::{Verdict, purchase_span};
use super::{notify, store};
use crate::faults::Fault;
use crate::glase::GlaseError;
use crate::store::StoreError;

/// One line of the driver's vend request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection {
    pub sku: String,
    pub quantity: u32,
}

/// The most of one product a single vend may take.
pub(crate) const MAX_QUANTITY: u32 = 100;

/// A finished vend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VendOutcome {
    /// Committed: the machine may dispense.
    Paid { vend: VendId, purchase: Purchase, ers_reference: Option<String>, rows: Vec<VendedRow>, total: Decimal },
    /// Nothing chosen: the reservation is cancelled.
    Canceled { vend: VendId, purchase: Purchase },
}

/// Why a vend did not go through.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VendError {
    #[error("unknown machine {0:?}")]
    UnknownMachine(String),
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    WrongState(String),
    #[error("the selection costs {total} {currency} but only {reserved} {currency} is reserved; choose less")]
    OverReserved { total: Decimal, reserved: Decimal, currency: String },
    /// The reservation ended at Glase meanwhile: do not dispense.
    #[error("the reservation was cancelled ({0}); do not dispense")]
    Canceled(String),
    /// Glase refused; the machine is unlocked again.
    #[error("Glase refused the purchase ({0}); the machine is unlocked again")]
    Rejected(String),
    /// The outcome is not known yet; the machine stays `vending` until it is resolved.
    #[error("the commit's outcome is unknown ({0}); it is resolved in the background, do not dispense yet")]
    Unknown(String),
    /// Nothing chosen, and the reservation could not be cancelled now (the idle timer
    /// retries); nothing was recorded under the vend id.
    #[error("cancelInvoice failed ({0}); the machine stays unlocked")]
    CancelFailed(String),
    /// The vend id names a vend of another machine or of another selection.
    #[error("{0}")]
    VendIdTaken(String),
    #[error("database error")]
    Store(#[from] StoreError),
}

impl VendError {
    /// The state of the vend recorded under the request's vend id, for the errors that
    /// come after it was recorded (the machine can ask for it again by its id).
    pub fn vend_state(&self) -> Option<VendState> {
        match self {
            Self::Canceled(_) => Some(VendState::Canceled),
            Self::Rejected(_) => Some(VendState::Rejected),
            Self::Unknown(_) => Some(VendState::Pending),
            _ => None,
        }
    }
}

/// How update + commit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settled {
    Paid(Option<String>),
    Canceled(String),
    Rejected(String),
    Unknown(String),
}

/// How a cancelInvoice attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CancelOutcome {
    Canceled,
    /// The invoice turned out to be paid: recorded as such.
    Paid,
    /// Not possible now (the customer is confirming, Glase unreachable): try again later.
    Retry(String),
}

/// Prices a selection with the machine's products; the same SKU twice is one row.
pub(crate) fn price(
    products: &[super::config::ProductConfig],
    selection: &[Selection],
) -> Result<Vec<VendedRow>, String> {
    let mut quantities: BTreeMap<usize, u32> = BTreeMap::new();
    for item in selection {
        let Some(index) = products.iter().position(|p| p.sku == item.sku) else {
            return Err(format!("unknown sku {:?}", item.sku));
        };
        if item.quantity == 0 {
            return Err(format!("quantity of {:?} must be at least 1", item.sku));
        }
        let quantity = quantities.entry(index).or_default();
        *quantity = quantity.saturating_add(item.quantity);
        if *quantity > MAX_QUANTITY {
            return Err(format!("quantity of {:?} must be at most {MAX_QUANTITY}", item.sku));
        }
    }
    // Rows in the order the products were first chosen.
    let mut order: Vec<usize> = Vec::new();
    for item in selection {
        if let Some(index) = products.iter().position(|p| p.sku == item.sku)
            && !order.contains(&index)
        {
            order.push(index);
        }
    }
    Ok(order
        .into_iter()
        .map(|index| {
            let product = &products[index];
            let quantity = quantities[&index];
            VendedRow {
                sku: product.sku.clone(),
                description: product.name.clone(),
                quantity,
                unit_price: money(product.price),
                total: money(product.price * Decimal::from(quantity)),
            }
        })
        .collect())
}

impl Vending {
    /// The driver's vend: only on an unlocked machine, or again with the id of a vend
    /// already recorded, which answers that vend's outcome (and never charges twice).
    pub(crate) async fn vend(
        &self,
        token: &str,
        vend: &VendId,
        selection: &[Selection],
    ) -> Result<VendOutcome, VendError> {
        let machine = self.config().machine(token).ok_or_else(|| VendError::UnknownMachine(token.to_owned()))?;
        let rows = price(&machine.products, selection).map_err(VendError::BadInput)?;
        let db = &self.context().db;
        if let Some(recorded) = store::vend(db, vend)? {
            return self.repeated_vend(token, recorded, &rows).await;
        }
        let record = store::machine(db, token)?.ok_or_else(|| VendError::UnknownMachine(token.to_owned()))?;
        let id = match (&record.purchase, record.state) {
            (Some(id), MachineState::Unlocked) => id.clone(),
            _ => return Err(VendError::WrongState(not_unlocked(token, record.state, record.out_of_service))),
        };
        let guard = self.lock_purchase(&id).await;
        // The same request may have come twice at once: the first recorded it while
        // this one waited for the lock.
        if let Some(recorded) = store::vend(db, vend)? {
            drop(guard);
            return self.repeated_vend(token, recorded, &rows).await;
        }
        // Re-read under the lock: a timer or a status may have moved it meanwhile.
        let purchase = store::purchase(db, &id)?;
        let record = store::machine(db, token)?.ok_or_else(|| VendError::UnknownMachine(token.to_owned()))?;
        let purchase = match purchase {
            Some(p) if p.state == PurchaseState::Unlocked && record.purchase.as_ref() == Some(&id) => p,
            _ => return Err(VendError::WrongState(not_unlocked(token, record.state, record.out_of_service))),
        };
        let span = purchase_span(&purchase);
        let result = self.vend_locked(purchase, vend, rows).instrument(span).await;
        drop(guard);
        result
    }

    /// A vend request with the id of a recorded vend: the machine lost the answer, or
    /// sent the request twice. Answers the recorded outcome; a vend still in doubt is
    /// resolved first (getPaymentStatus; the same update and commit again if Glase
    /// never got it), waiting for the purchase's lock, so that the answer is as final
    /// as it can be.
    async fn repeated_vend(
        &self,
        token: &str,
        recorded: VendRecord,
        rows: &[VendedRow],
    ) -> Result<VendOutcome, VendError> {
        if recorded.machine != token {
            return Err(VendError::VendIdTaken(format!(
                "vendId {} is a vend of machine {}; a vend id names one vend",
                recorded.id, recorded.machine
            )));
        }
        if !recorded.same_selection(rows) {
            return Err(VendError::VendIdTaken(format!(
                "vendId {} was recorded with another selection; a new selection needs a new vend id",
                recorded.id
            )));
        }
        let _guard = self.lock_purchase(&recorded.purchase).await;
        let db = &self.context().db;
        let mut recorded = store::vend(db, &recorded.id)?.unwrap_or(recorded);
        if recorded.state == VendState::Pending
            && let Some(purchase) = store::purchase(db, &recorded.purchase)?
            && purchase.state == PurchaseState::Vending
        {
            let span = purchase_span(&purchase);
            span.in_scope(|| tracing::info!(vend = %recorded.id, "the machine asks again about a vend in doubt"));
            self.resolve_vending(&purchase).instrument(span).await;
            recorded = store::vend(db, &recorded.id)?.unwrap_or(recorded);
        }
        self.outcome_of(recorded)
    }

    /// A recorded vend as the driver answers it.
    fn outcome_of(&self, vend: VendRecord) -> Result<VendOutcome, VendError> {
        let purchase = store::purchase(&self.context().db, &vend.purchase)?
            .ok_or_else(|| VendError::WrongState(format!("the purchase of vend {} is gone", vend.id)))?;
        let note = vend.note.clone().unwrap_or_else(|| "not known yet".to_owned());
        match vend.state {
            VendState::Paid => Ok(VendOutcome::Paid {
                vend: vend.id,
                ers_reference: purchase.ers_reference.clone(),
                purchase,
                rows: vend.rows,
                total: vend.total,
            }),
            VendState::Canceled if vend.rows.is_empty() => Ok(VendOutcome::Canceled { vend: vend.id, purchase }),
            VendState::Canceled => Err(VendError::Canceled(note)),
            VendState::Rejected => Err(VendError::Rejected(note)),
            VendState::Pending => Err(VendError::Unknown(note)),
        }
    }

    /// Records an empty selection's vend as cancelled, so its id answers the same later.
    fn nothing_chosen(&self, purchase: &Purchase, vend: &VendId) -> Result<VendOutcome, VendError> {
        let db = &self.context().db;
        let now = now_ms();
        let record = VendRecord {
            id: vend.clone(),
            machine: purchase.machine.clone(),
            purchase: purchase.id.clone(),
            state: VendState::Canceled,
            rows: Vec::new(),
            total: money(Decimal::ZERO),
            note: Some("the customer chose nothing".to_owned()),
            created_at: now,
            updated_at: now,
        };
        store::record_ended_vend(db, &record)?;
        let purchase = store::purchase(db, &purchase.id)?.unwrap_or_else(|| purchase.clone());
        Ok(VendOutcome::Canceled { vend: vend.clone(), purchase })
    }

    async fn vend_locked(
        &self,
        purchase: Purchase,
        vend: &VendId,
        rows: Vec<VendedRow>,
    ) -> Result<VendOutcome, VendError> {
        let db = &self.context().db;
        if rows.is_empty() && self.fault(Fault::EmptyVendStaysReserved) {
            tracing::warn!(
                "FAULT empty-vend-stays-reserved: nothing chosen; freeing the machine without cancelInvoice"
            );
            self.end_canceled(&purchase, "the customer chose nothing (the invoice was left reserved)")?;
            return self.nothing_chosen(&purchase, vend);
        }
        if rows.is_empty() {
            tracing::info!("nothing chosen: cancelling the reservation");
            return match self.cancel_purchase(&purchase, "the customer chose nothing").await {
                CancelOutcome::Canceled => self.nothing_chosen(&purchase, vend),
                CancelOutcome::Paid => Err(VendError::WrongState("the invoice was paid already".to_owned())),
                CancelOutcome::Retry(why) => Err(VendError::CancelFailed(why)),
            };
        }
        let total: Decimal = rows.iter().map(|r| r.total).sum();
        let reserved = purchase.reserved_amount.unwrap_or(purchase.amount);
        if total > reserved {
            tracing::info!(%total, %reserved, "selection costs more than the reservation");
            return Err(VendError::OverReserved { total, reserved, currency: purchase.currency.clone() });
        }
        if !store::start_vend(db, &purchase.id, vend, total, &rows, now_ms())? {
            return Err(VendError::WrongState("the machine is no longer unlocked".to_owned()));
        }
        let purchase = store::purchase(db, &purchase.id)?.unwrap_or(purchase);
        tracing::info!(%vend, %total, rows = rows.len(), "vending: updateInvoice, then commitReservation");
        match self.settle(&purchase).await {
            Settled::Paid(ers_reference) => {
                let purchase = store::purchase(db, &purchase.id)?.unwrap_or(purchase);
                Ok(VendOutcome::Paid { vend: vend.clone(), purchase, ers_reference, rows, total })
            }
            Settled::Canceled(note) => Err(VendError::Canceled(note)),
            Settled::Rejected(note) => Err(VendError::Rejected(note)),
            Settled::Unknown(note) => Err(VendError::Unknown(note)),
        }
    }

    /// updateInvoice, retried twice on errors that may pass (system busy or unavailable,
    /// no answer): the app should show what the customer bought before the commit.
    async fn update_with_retries(&self, reference: &str, invoice: Invoice) -> Result<(), GlaseError> {
        let glase = &self.context().glase;
        let mut attempt = 1;
        loop {
            match glase.update_invoice(reference, invoice.clone()).await {
                Err(error) if attempt < 3 && error.transient() => {
                    tracing::info!(attempt, error = %error, "updateInvoice failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Shows the vended rows in the app: one updateInvoice with every row, or with
    /// `update_per_line` one per row, each with the rows so far and their running total
    /// (the last one carries every row and the final total).
    async fn show_vended_rows(&self, purchase: &Purchase, reference: &str) -> Result<(), GlaseError> {
        let count = purchase.rows.len();
        let first = if self.config().update_per_line { 1.min(count) } else { count };
        for shown in first..=count {
            let rows = &purchase.rows[..shown];
            let running: Decimal = rows.iter().map(|row| row.total).sum();
            if shown < count {
                tracing::info!(rows = shown, total = %running, "updateInvoice with the rows so far");
            }
            self.update_with_retries(reference, self.rows_invoice(purchase, rows, running)).await?;
        }
        Ok(())
    }

    /// updateInvoice with the vended rows, then commitReservation for their total, and
    /// records the outcome. The caller holds the purchase's lock; the purchase is
    /// `vending` with its final amount and rows stored.
    pub(crate) async fn settle(&self, purchase: &Purchase) -> Settled {
        let Some(reference) = purchase.invoice_reference.clone() else {
            return Settled::Unknown("no invoice reference".to_owned());
        };
        let glase = &self.context().glase;
        let total = purchase.final_amount.unwrap_or(Decimal::ZERO);
        // Whether Glase's invoice now carries the vended total (a commit without an
        // amount commits exactly that).
        let mut updated = false;
        if self.fault(Fault::SkipUpdateBeforeCommit) {
            tracing::warn!("FAULT skip-update-before-commit: committing without updateInvoice");
        } else if let Err(error) = self.show_vended_rows(purchase, &reference).await {
            tracing::warn!(error = %error, "updateInvoice failed; checking the status");
            match self.fetch_status(purchase, &reference).await {
                Ok(status) => match Verdict::of(status.status) {
                    Verdict::Paid => return self.settled_paid(purchase, status.ers_reference, "already committed"),
                    Verdict::Closed if !self.fault(Fault::CommitCanceled) => {
                        return self
                            .settled_canceled(purchase, &format!("invoice {} before the commit", status.status));
                    }
                    // RESERVED: the update is only what the app shows; charging the
                    // vended total is what matters, so go on.
                    _ => {}
                },
                Err(error) => {
                    return self.settle_later(purchase, format!("updateInvoice and getPaymentStatus failed: {error}"));
                }
            }
        } else {
            updated = true;
        }
        let reserved = purchase.reserved_amount.unwrap_or(purchase.amount);
        let amount = if self.fault(Fault::CommitMoreThanReserved) {
            tracing::warn!(%reserved, "FAULT commit-more-than-reserved: committing the reservation plus 1.00");
            Some(money(reserved + Decimal::ONE))
        } else if self.config().commit_amount || !updated {
            // Without a successful update the invoice's total is still the whole
            // reservation: only an explicit amount charges what was vended.
            Some(total)
        } else {
            tracing::info!(%total, "commitReservation without an amount: Glase commits the updated total");
            None
        };
        let amount = amount.map(|value| Amount::new(value, purchase.currency.clone()));
        let mut committed = glase.commit_reservation(&reference, amount.clone()).await;
        if self.fault(Fault::RecommitAfterLostAnswer) && committed.as_ref().is_err_and(GlaseError::answer_lost) {
            tracing::warn!("FAULT recommit-after-lost-answer: committing again instead of asking getPaymentStatus");
            committed = glase.commit_reservation(&reference, amount).await;
        }
        match committed {
            Ok(ers) => self.settled_paid(purchase, ers, "committed"),
            Err(GlaseError::Result(code)) if code != ResultCode::INVOICE_STATE_NOT_RESERVED => {
                let note = format!("commitReservation refused: {code}");
                tracing::warn!(note, "the customer may choose again; the idle timer cancels otherwise");
                if let Err(error) = store::back_to_unlocked(&self.context().db, &purchase.id, &note, now_ms()) {
                    tracing::error!(error = %error, "cannot record the refusal");
                }
                Settled::Rejected(note)
            }
            // 96 (not RESERVED), or no answer: did an earlier commit go through?
            Err(error) => {
                tracing::warn!(error = %error, "commitReservation failed; checking the status");
                self.after_commit_doubt(purchase, &reference, &error).await
            }
        }
    }

    async fn after_commit_doubt(&self, purchase: &Purchase, reference: &str, error: &GlaseError) -> Settled {
        match self.fetch_status(purchase, reference).await {
            Ok(status) => match Verdict::of(status.status) {
                Verdict::Paid => {
                    self.settled_paid(purchase, status.ers_reference, "commit confirmed by getPaymentStatus")
                }
                Verdict::Closed => self.settled_canceled(purchase, &format!("invoice {} at commit", status.status)),
                Verdict::Reserved => self.settle_later(purchase, format!("commitReservation failed: {error}")),
                Verdict::Waiting | Verdict::Unexpected => {
                    let note = format!("the invoice is {}, not RESERVED", status.status);
                    if let Err(error) = store::back_to_unlocked(&self.context().db, &purchase.id, &note, now_ms()) {
                        tracing::error!(error = %error, "cannot record the refusal");
                    }
                    Settled::Rejected(note)
                }
            },
            Err(status_error) => self
                .settle_later(purchase, format!("commitReservation failed ({error}); status unknown ({status_error})")),
        }
    }

    /// A purchase left `vending` after a crash or an unanswered commit: PAID → record
    /// it; RESERVED → update and commit again with the stored amount; CANCELED/FAILED
    /// → release. The caller holds the purchase's lock.
    pub(crate) async fn resolve_vending(&self, purchase: &Purchase) -> Settled {
        let Some(reference) = purchase.invoice_reference.clone() else {
            return Settled::Unknown("no invoice reference".to_owned());
        };
        let settled = match self.fetch_status(purchase, &reference).await {
            Ok(status) => match Verdict::of(status.status) {
                Verdict::Paid => {
                    self.settled_paid(purchase, status.ers_reference, "commit confirmed by getPaymentStatus")
                }
                Verdict::Reserved => self.settle(purchase).await,
                Verdict::Closed => {
                    self.settled_canceled(purchase, &format!("invoice {} before the commit", status.status))
                }
                Verdict::Waiting | Verdict::Unexpected => {
                    let note = format!("the invoice is {}, not RESERVED", status.status);
                    if let Err(error) = store::back_to_unlocked(&self.context().db, &purchase.id, &note, now_ms()) {
                        tracing::error!(error = %error, "cannot record the refusal");
                    }
                    Settled::Rejected(note)
                }
            },
            Err(error) => self.settle_later(purchase, format!("getPaymentStatus failed: {error}")),
        };
        tracing::info!(outcome = ?settled, "unfinished vend resolved");
        settled
    }

    /// cancelInvoice and release the machine. The caller holds the purchase's lock.
    pub(crate) async fn cancel_purchase(&self, purchase: &Purchase, why: &str) -> CancelOutcome {
        let Some(reference) = purchase.invoice_reference.as_deref() else {
            return match self.end_canceled(purchase, why) {
                Ok(_) => CancelOutcome::Canceled,
                Err(error) => CancelOutcome::Retry(error.to_string()),
            };
        };
        let result = self.context().glase.cancel_invoice(reference).await;
        let note = match &result {
            Ok(()) => why.to_owned(),
            Err(GlaseError::Result(code)) if *code == ResultCode::INVOICE_ALREADY_CANCELED => {
                format!("{why} (already canceled at Glase)")
            }
            Err(GlaseError::Result(code)) if *code == ResultCode::CANNOT_CANCEL_PAID_INVOICE => {
                return match self.fetch_status(purchase, reference).await {
                    Ok(status) if status.status == glase_protocol::InvoiceStatus::Paid => {
                        match self.end_paid(
                            purchase,
                            status.ers_reference.as_deref(),
                            "paid before it could be cancelled",
                        ) {
                            Ok(_) => CancelOutcome::Paid,
                            Err(error) => CancelOutcome::Retry(error.to_string()),
                        }
                    }
                    Ok(status) => CancelOutcome::Retry(format!("cancelInvoice: {code}, status {}", status.status)),
                    Err(error) => CancelOutcome::Retry(format!("cancelInvoice: {code}; status: {error}")),
                };
            }
            Err(error) => {
                tracing::warn!(error = %error, "cancelInvoice failed; will retry");
                return CancelOutcome::Retry(error.to_string());
            }
        };
        tracing::info!(why, "cancelInvoice done");
        match self.end_canceled(purchase, &note) {
            Ok(_) => CancelOutcome::Canceled,
            Err(error) => CancelOutcome::Retry(error.to_string()),
        }
    }

    fn settled_paid(&self, purchase: &Purchase, ers: Option<String>, note: &str) -> Settled {
        if let Err(error) = self.end_paid(purchase, ers.as_deref(), note) {
            // Glase has the payment; the resolver reads PAID again and records it.
            tracing::error!(error = %error, "cannot record the payment");
        }
        Settled::Paid(ers)
    }

    fn settled_canceled(&self, purchase: &Purchase, note: &str) -> Settled {
        if let Err(error) = self.end_canceled(purchase, note) {
            tracing::error!(error = %error, "cannot record the cancellation");
        }
        Settled::Canceled(note.to_owned())
    }

    fn settle_later(&self, purchase: &Purchase, note: String) -> Settled {
        let at = now_ms() + i64::try_from(self.retry_delay().as_millis()).unwrap_or(i64::MAX / 2);
        if let Err(error) = store::set_retry(&self.context().db, &purchase.id, Some(at)) {
            tracing::error!(error = %error, "cannot schedule the retry");
        }
        tracing::warn!(note, "vend outcome unknown; retrying in the background");
        Settled::Unknown(note)
    }

    /// The invoice as updated after vending: vended rows and their total.
    fn rows_invoice(&self, purchase: &Purchase, rows: &[VendedRow], total: Decimal) -> Invoice {
        let currency = purchase.currency.clone();
        let mut rows: Vec<InvoiceRow> = rows
            .iter()
            .map(|row| InvoiceRow {
                item_description: Some(row.description.clone()),
                item_sku: Some(row.sku.clone()),
                item_quantity: Some(Decimal::from(row.quantity)),
                item_unit_price: Some(Amount::new(row.unit_price, currency.clone())),
                item_total_amount: Some(Amount::new(row.total, currency.clone())),
                ..InvoiceRow::default()
            })
            .collect();
        if self.fault(Fault::RowsNotSummingToTotal) {
            tracing::warn!("FAULT rows-not-summing-to-total: the last row is 0.10 off");
            if let Some(Some(amount)) = rows.last_mut().map(|row| row.item_total_amount.as_mut()) {
                amount.value = amount.value.map(|v| v + Decimal::new(10, 2));
            }
        }
        let name = self.config().machine(&purchase.machine).map_or(purchase.machine.as_str(), |m| m.display_name());
        Invoice {
            payment_mode: Some(PaymentMode::ReservationRequired),
            acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
            title: Some(name.to_owned()),
            client_invoice_id: Some(purchase.id.0.clone()),
            invoice_rows: Some(rows),
            total_amount: Some(Amount::new(total, currency)),
            cashier_id: Some(purchase.machine.clone()),
            notification_url: Some(notify::url(&self.context().public_url, &purchase.notify_token)),
            ..Invoice::default()
        }
    }
}

fn not_unlocked(token: &str, state: MachineState, out_of_service: bool) -> String {
    let what = match state {
        MachineState::Idle if out_of_service => "out of service",
        MachineState::Idle => "idle (no customer has a reservation on it)",
        MachineState::Reserved => "reserved (the customer has not confirmed the reservation yet)",
        MachineState::Unlocked => "unlocked but busy",
        MachineState::Vending => "vending (a purchase is being committed)",
    };
    format!("machine {token} is {what}, not unlocked")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vending::config::demo_fleet;

    fn pick(sku: &str, quantity: u32) -> Selection {
        Selection { sku: sku.to_owned(), quantity }
    }

    #[test]
    fn a_selection_is_priced_per_row_with_repeats_merged() {
        let products = &demo_fleet()[0].products;
        let rows = price(products, &[pick("cola", 2), pick("water", 1), pick("cola", 1)]).unwrap();
        let summary: Vec<(&str, u32, String)> =
            rows.iter().map(|r| (r.sku.as_str(), r.quantity, r.total.to_string())).collect();
        assert_eq!(summary, [("cola", 3, "7.50".to_owned()), ("water", 1, "1.20".to_owned())]);
        assert_eq!(rows[0].unit_price.to_string(), "2.50");
    }

    #[test]
    fn unknown_products_and_silly_quantities_are_refused() {
        let products = &demo_fleet()[0].products;
        assert!(price(products, &[pick("beer", 1)]).unwrap_err().contains("unknown sku"));
        assert!(price(products, &[pick("cola", 0)]).is_err());
        assert!(price(products, &[pick("cola", 60), pick("cola", 60)]).is_err());
        assert!(price(products, &[]).unwrap().is_empty());
    }
}
