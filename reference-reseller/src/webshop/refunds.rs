//! Refunds of a paid order, partial or whole.
//!
//! The shop checks every refund against the payment itself before asking Glase (spec
//! section 5: "refunds never exceed the payment"), and reserves the amount in the same
//! database transaction, so concurrent refunds cannot overrun it either. refundPayment
//! carries no idempotency key, so a call whose outcome is unknown (timeout, dropped
//! connection, a crash mid-call) is never repeated: it stays `unknown`, keeps its amount
//! reserved, and is left to a person with the transaction report.

use glase_protocol::ResultCode;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::error::ShopError;
use super::orders::{OrderId, RefundChecks, RefundRefusal, RefundState};
use super::shop::{Webshop, now_ms};
use crate::faults::Fault;
use crate::glase::GlaseError;

/// A refund request body (JSON or form): `amount` left out or empty is everything that
/// has not been refunded yet.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RefundRequest {
    #[serde(default, deserialize_with = "super::config::money::option::deserialize")]
    pub(crate) amount: Option<Decimal>,
}

/// Refunds `amount` (or the rest) of a paid order; returns the new refund's id.
pub(crate) async fn refund(shop: &Webshop, id: &OrderId, amount: Option<Decimal>) -> Result<i64, ShopError> {
    // The deliberate faults skip a local check and let Glase refuse (98, or 23 for a
    // payment that does not exist).
    let checks = RefundChecks {
        paid: !shop.has_fault(Fault::RefundUnpaidOrder),
        amount: !shop.has_fault(Fault::RefundBeyondPayment),
    };
    let reserved = match shop.orders().reserve_refund(id, amount, checks, now_ms())? {
        Ok(reserved) => reserved,
        Err(refusal) => return Err(refused(id, &shop.config().currency, refusal)),
    };
    let payment = &reserved.payment;
    let title = format!("Refund of {} {} {id}", shop.config().name, shop.channel().noun());
    let answer = shop
        .glase()
        .refund_payment(&payment.ers_reference, reserved.amount, &payment.currency, &title, &shop.config().cashier_id)
        .await;
    let orders = shop.orders();
    match answer {
        Ok(ers) => {
            orders.finish_refund(reserved.id, RefundState::Done, ers.as_deref(), None, now_ms())?;
            tracing::info!(order_id = %id, payment = %payment.ers_reference, refund_ers_reference = ers.as_deref().unwrap_or("(none)"),
                amount = %reserved.amount, "refunded");
            Ok(reserved.id)
        }
        Err(GlaseError::Result(code)) => {
            let text = format!("Glase answered resultCode {code}");
            orders.finish_refund(reserved.id, RefundState::Rejected, None, Some(&text), now_ms())?;
            tracing::warn!(order_id = %id, payment = %payment.ers_reference, code = %code, "refundPayment refused");
            if code == ResultCode::SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION {
                Err(ShopError::Conflict(format!("Glase refused the refund: {text}")))
            } else {
                Err(ShopError::glase("refundPayment")(GlaseError::Result(code)))
            }
        }
        Err(error) => {
            let text = format!("{error}; the outcome is unknown: reconcile with the transaction report");
            orders.finish_refund(reserved.id, RefundState::Unknown, None, Some(&text), now_ms())?;
            tracing::error!(order_id = %id, payment = %payment.ers_reference, error = %error,
                "refundPayment outcome unknown; the refund is held for reconciliation, never repeated");
            Err(ShopError::glase("refundPayment (outcome unknown, held for reconciliation)")(error))
        }
    }
}

fn refused(id: &OrderId, currency: &str, refusal: RefundRefusal) -> ShopError {
    match refusal {
        RefundRefusal::UnknownOrder => ShopError::UnknownOrder(id.0.clone()),
        RefundRefusal::NotPaid(state) => {
            ShopError::Conflict(format!("order {id} is {}; only a paid order can be refunded", state.as_str()))
        }
        RefundRefusal::NothingLeft => ShopError::Conflict(format!("order {id} has been refunded in full")),
        RefundRefusal::Exceeds { remaining } => ShopError::Conflict(format!(
            "refunds cannot exceed the payment: {remaining} {currency} of order {id} is left to refund"
        )),
        RefundRefusal::NotPositive => ShopError::BadRequest("the refund amount must be positive".to_owned()),
    }
}
