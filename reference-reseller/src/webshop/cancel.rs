//! cancelInvoice of an unpaid order: on request, or by the status loop once the shop's
//! unpaid timeout has passed. Glase may know better than the shop: the customer may
//! just have paid (50) or be entering the PIN right now (51); neither is a failure, and
//! the status loop's next getPaymentStatus settles the order either way.

use glase_protocol::ResultCode;

use super::orders::{Order, OrderState};
use super::shop::{Webshop, now_ms};
use crate::glase::GlaseError;
use crate::store::StoreError;

/// How a cancellation attempt ended.
#[derive(Debug)]
pub(crate) enum Cancelled {
    /// Canceled at Glase (or there was no invoice yet); the order is canceled.
    Done,
    /// 50: the customer has paid. The status must be fetched (and recorded as PAID).
    AlreadyPaid,
    /// 51: the customer is confirming right now; try again later.
    InProgress,
    /// 95: Glase had already closed the invoice (customer cancel, failure, reversal).
    AlreadyEnded,
    /// 54: Glase does not know the invoice (another Glase, another terminal): nobody
    /// can pay it, so the order fails instead of being polled forever.
    UnknownInvoice,
    /// Any other answer, or none.
    Failed(GlaseError),
}

/// Calls cancelInvoice for a pending order and records a success.
pub(crate) async fn cancel_invoice(shop: &Webshop, order: &Order, reason: &str) -> Result<Cancelled, StoreError> {
    let Some(reference) = &order.invoice_reference else {
        shop.orders().end(&order.id, OrderState::Canceled, reason, now_ms())?;
        return Ok(Cancelled::Done);
    };
    let outcome = match shop.glase().cancel_invoice(reference).await {
        Ok(()) => {
            shop.orders().end(&order.id, OrderState::Canceled, reason, now_ms())?;
            tracing::info!(order_id = %order.id, invoice_reference = %reference, reason, "invoice canceled");
            Cancelled::Done
        }
        Err(error) => match error.code() {
            Some(ResultCode::CANNOT_CANCEL_PAID_INVOICE) => Cancelled::AlreadyPaid,
            Some(ResultCode::CANNOT_CANCEL_INVOICE_IN_PROGRESS) => Cancelled::InProgress,
            Some(ResultCode::INVOICE_ALREADY_CANCELED) => Cancelled::AlreadyEnded,
            Some(ResultCode::INVALID_INVOICE_REFERENCE) => {
                let reason = "Glase does not know the invoice (54 INVALID_INVOICE_REFERENCE)";
                shop.orders().end(&order.id, OrderState::Failed, reason, now_ms())?;
                tracing::warn!(order_id = %order.id, invoice_reference = %reference, "{reason}; order failed");
                Cancelled::UnknownInvoice
            }
            _ => Cancelled::Failed(error),
        },
    };
    if !matches!(outcome, Cancelled::Done) {
        tracing::info!(order_id = %order.id, invoice_reference = %reference, outcome = ?outcome, "cancelInvoice did not cancel");
    }
    Ok(outcome)
}
