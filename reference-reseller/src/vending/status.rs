//! Reading an invoice's status with getPaymentStatus and acting on it: the one place
//! that turns Glase's word into machine state. It runs after a notification, from the
//! fallback poll and from recovery, always under the purchase's lock and on a freshly
//! read purchase, so a duplicate or forged notification changes nothing: the state only
//! moves when Glase's answer says so, and each move is a conditional update.

use glase_protocol::InvoiceStatus;
use tracing::Span;

use super::Vending;
use super::model::{Purchase, PurchaseId, PurchaseState, now_ms};
use super::store::{self, Ending};
use crate::faults::Fault;
use crate::glase::{GlaseError, PaymentStatus};
use crate::store::StoreError;

/// What a status means for a vending purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// ISSUED (or PENDING_ISSUER_ACKNOWLEDGE): the customer has not decided yet.
    Waiting,
    /// The money is reserved: unlock the machine.
    Reserved,
    /// Paid: committed (or, wrongly, an immediate payment).
    Paid,
    /// CANCELED or FAILED: release the machine.
    Closed,
    /// PARTIALLY_PAID: not part of this flow; logged and left alone.
    Unexpected,
}

impl Verdict {
    pub fn of(status: InvoiceStatus) -> Self {
        match status {
            InvoiceStatus::Issued | InvoiceStatus::PendingIssuerAcknowledge => Self::Waiting,
            InvoiceStatus::Reserved => Self::Reserved,
            InvoiceStatus::Paid => Self::Paid,
            InvoiceStatus::Canceled | InvoiceStatus::Failed => Self::Closed,
            InvoiceStatus::PartiallyPaid => Self::Unexpected,
        }
    }
}

/// Who asked for the status: the deliberate faults only affect some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Notification,
    Poll,
    Recovery,
}

impl Vending {
    /// Fetches the status of a purchase's invoice and acts on it.
    pub(crate) async fn refresh(&self, id: &PurchaseId, origin: Origin) {
        let _guard = self.lock_purchase(id).await;
        self.refresh_locked(id, origin).await;
    }

    /// [`Self::refresh`] for a caller that holds the purchase's lock.
    pub(crate) async fn refresh_locked(&self, id: &PurchaseId, origin: Origin) {
        let purchase = match store::purchase(&self.context().db, id) {
            Ok(Some(purchase)) => purchase,
            Ok(None) => return,
            Err(error) => return tracing::error!(error = %error, "cannot read the purchase"),
        };
        let Some(reference) = purchase.invoice_reference.clone() else { return };
        if purchase.state.is_final() {
            return tracing::debug!(state = purchase.state.as_str(), ?origin, "purchase already ended; nothing to do");
        }
        if origin == Origin::Notification
            && self.fault(Fault::TrustNotification)
            && purchase.state == PurchaseState::Issued
        {
            tracing::warn!("FAULT trust-notification: unlocking on a notification without asking getPaymentStatus");
            if let Err(error) = store::unlock(&self.context().db, id, purchase.amount, now_ms()) {
                tracing::error!(error = %error, "cannot record the unlock");
            }
        }
        if origin != Origin::Recovery && self.fault(Fault::SkipStatusFetch) {
            return tracing::warn!(?origin, "FAULT skip-status-fetch: not calling getPaymentStatus");
        }
        match self.fetch_status(&purchase, &reference).await {
            Ok(status) => {
                if let Err(error) = self.apply_status(&purchase, &status) {
                    tracing::error!(error = %error, "cannot record the status");
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, ?origin, "getPaymentStatus failed; the poll or the idle timer retries")
            }
        }
    }

    /// getPaymentStatus with the latest version seen; remembers the new version.
    pub(crate) async fn fetch_status(&self, purchase: &Purchase, reference: &str) -> Result<PaymentStatus, GlaseError> {
        let status = self.context().glase.get_payment_status(reference, purchase.status_version).await?;
        tracing::info!(status = status.status.as_str(), version = status.version, "getPaymentStatus");
        if status.version != purchase.status_version
            && let Err(error) = store::set_version(&self.context().db, &purchase.id, status.version)
        {
            tracing::warn!(error = %error, "cannot record the invoice version");
        }
        Ok(status)
    }

    /// Moves the purchase and its machine as the status says. Idempotent: a status that
    /// was acted on already, or that says nothing new, changes nothing.
    pub(crate) fn apply_status(&self, purchase: &Purchase, status: &PaymentStatus) -> Result<(), StoreError> {
        let db = &self.context().db;
        let now = now_ms();
        match (purchase.state, Verdict::of(status.status)) {
            (state, _) if state.is_final() => {}
            (_, Verdict::Waiting) => {}
            (PurchaseState::Issued, Verdict::Reserved) => {
                // What Glase reserved is the invoice total we sent: the amount offered.
                if store::unlock(db, &purchase.id, purchase.amount, now)? {
                    tracing::info!(reserved = %purchase.amount, "RESERVED: machine unlocked");
                }
            }
            (_, Verdict::Reserved) => {}
            (PurchaseState::Issued | PurchaseState::Unlocked, Verdict::Closed) if self.fault(Fault::CommitCanceled) => {
                tracing::warn!(
                    status = status.status.as_str(),
                    "FAULT commit-canceled: treating a closed invoice as reserved"
                );
                store::unlock(db, &purchase.id, purchase.amount, now)?;
            }
            (_, Verdict::Closed) => {
                let note = format!("invoice {} at Glase", status.status);
                self.end_canceled(purchase, &note)?;
            }
            (_, Verdict::Paid) => {
                // Normally only after our commit (recovery). Before it, the invoice was
                // paid at once (an IMMEDIATE_DEBIT invoice): record it, nothing to commit.
                let note = if purchase.state == PurchaseState::Vending {
                    "commit confirmed by getPaymentStatus"
                } else {
                    "paid without a reservation"
                };
                self.end_paid(purchase, status.ers_reference.as_deref(), note)?;
            }
            (_, Verdict::Unexpected) => {
                tracing::warn!(status = status.status.as_str(), "unexpected invoice status; left alone");
            }
        }
        Ok(())
    }

    /// Ends a purchase as cancelled and releases its machine (unless the
    /// `no-release-on-cancel` fault is on).
    pub(crate) fn end_canceled(&self, purchase: &Purchase, note: &str) -> Result<bool, StoreError> {
        let release = !self.fault(Fault::NoReleaseOnCancel);
        if !release {
            tracing::warn!("FAULT no-release-on-cancel: the machine stays locked");
        }
        let ending = Ending { state: PurchaseState::Canceled, ers_reference: None, note, release };
        let ended = store::finish(&self.context().db, &purchase.id, &ending, now_ms())?;
        if ended {
            tracing::info!(note, released = release, "purchase canceled");
        }
        Ok(ended)
    }

    /// Ends a purchase as paid and releases its machine.
    pub(crate) fn end_paid(&self, purchase: &Purchase, ers: Option<&str>, note: &str) -> Result<bool, StoreError> {
        let ending = Ending { state: PurchaseState::Paid, ers_reference: ers, note, release: true };
        let ended = store::finish(&self.context().db, &purchase.id, &ending, now_ms())?;
        if ended {
            let amount = purchase.final_amount.map_or_else(|| "-".to_owned(), |a| a.to_string());
            tracing::info!(ers_reference = ers.unwrap_or("-"), amount, note, "purchase paid");
        }
        Ok(ended)
    }
}

/// The span every log line about a purchase is written in.
pub(crate) fn purchase_span(purchase: &Purchase) -> Span {
    tracing::info_span!(
        "purchase",
        purchase = %purchase.id,
        machine = %purchase.machine,
        invoice = purchase.invoice_reference.as_deref().unwrap_or("-"),
    )
}
