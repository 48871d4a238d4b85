//! After a restart: finish what the previous run left open, without doing anything
//! twice. Recovery only reads and marks the database; the status loop's first tick
//! (at its start) makes the Glase calls, within the poll budget, pending orders first
//! since none was polled in this run (the sooner the better when the crash ate most of
//! Glase's 20 seconds; Glase's notifications, retried, trigger fetches too).
//!
//! - pending orders with an invoice: polled again; their unpaid timeout counts from the
//!   stored checkout time, so an order that expired while the reseller was down is
//!   cancelled on its first pass (or recorded PAID, if the customer paid meanwhile);
//! - paid orders whose receipt was not submitted: submitted (a payment is recorded
//!   once, in the same transaction that moves the order to `paid`);
//! - pending orders without an invoice (the reseller stopped during sendInvoice): failed;
//!   the customer never saw their QR code, so an invoice Glase may have created is never
//!   paid; its reference is unknown, so it stays ISSUED at Glase (see `checkout`);
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
    // The status loop's first tick (at its start) takes up the pending orders, never
    // polled in this run and so first in its rota, within the poll budget: a restart
    // with thousands of pending orders does not fire thousands of calls at once.
    match orders.active() {
        Ok(ids) if !ids.is_empty() => {
            let channel = shop.channel().as_str();
            tracing::info!(count = ids.len(), channel, "resuming pending orders and due receipts");
        }
        Ok(_) => {}
        Err(error) => tracing::error!(error = ?error, "webshop recovery: cannot list pending orders"),
    }
}
