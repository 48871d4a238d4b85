//! After a restart: finish what the previous run left open, without doing anything
//! twice. Recovery only reads and marks the database and queues work for the status
//! loop; the loop's first passes make the Glase calls (a pending order's status is
//! fetched at once, which matters when the crash ate most of Glase's 20 seconds).
//!
//! - pending orders with an invoice: polled again; their unpaid timeout counts from the
//!   stored checkout time, so an order that expired while the reseller was down is
//!   cancelled on its first pass (or recorded PAID, if the customer paid meanwhile);
//! - paid orders whose receipt was not submitted: submitted (a payment is recorded
//!   once, in the same transaction that moves the order to `paid`);
//! - pending orders without an invoice (the reseller stopped during sendInvoice): failed;
//!   the customer never saw their QR code;
//! - refunds under way (stopped during refundPayment): marked `unknown`, never repeated.

use super::shop::{Webshop, now_ms};

pub(crate) async fn recover(shop: &Webshop) {
    let now = now_ms();
    let orders = shop.orders();
    match orders.fail_orders_without_invoice(now) {
        Ok(ids) => {
            for id in ids {
                tracing::warn!(order_id = %id, "the previous run stopped during sendInvoice; order failed");
            }
        }
        Err(error) => tracing::error!(error = ?error, "webshop recovery: cannot fail interrupted checkouts"),
    }
    match orders.orphan_refunds(now) {
        Ok(0) => {}
        Ok(count) => tracing::error!(
            count,
            "the previous run stopped during refundPayment; those refunds are held as unknown for reconciliation"
        ),
        Err(error) => tracing::error!(error = ?error, "webshop recovery: cannot mark interrupted refunds"),
    }
    match orders.active() {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::info!(count = ids.len(), "webshop: resuming pending orders and due receipts");
            }
            for id in ids {
                shop.refresh(id, false);
            }
        }
        Err(error) => tracing::error!(error = ?error, "webshop recovery: cannot list pending orders"),
    }
}
