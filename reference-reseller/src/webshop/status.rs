//! Payment status, server side (seed 002): the notification endpoint and the status
//! loop, which together make sure getPaymentStatus follows every payment within
//! Glase's 20-second deadline.
//!
//! - `POST /seqr/shop/notify/{token}` answers 200 at once and queues an immediate
//!   status fetch. The notification carries no data and is never trusted by itself; an
//!   unknown token is 404.
//! - The loop polls getPaymentStatus for each pending order every `poll_interval`
//!   (1 s by default; at most 1 s without a notificationUrl, at most 10 s as the
//!   fallback of a notified shop), so a payment is acknowledged in time even when every
//!   notification is lost; but never more than `max_polls_per_second` polls a second
//!   over all orders together, least recently polled first ([`Rota`]): checkouts are
//!   public, and unpaid ones must not multiply Glase calls without bound.
//!   Notifications are not rationed (they follow real customer actions and are
//!   coalesced per order).
//! - Each pass over an order also cancels its invoice once the unpaid timeout has passed
//!   (and on 50 "already paid" records the payment instead), and submits the receipt of
//!   a new payment.
//!
//! # Implementation rationale
//! One task owns all the scheduling, with no lock: per order at most one pass runs at a
//! time, and a request arriving meanwhile (a notification during a poll) is remembered
//! and run right after it. Serialising the calls per order is what lets each
//! getPaymentStatus echo the `version` the previous one returned; parallel calls could
//! each send a stale one. Passes run in a `JoinSet` owned by the loop, so aborting the
//! loop (shutdown, a test's crash) stops them too.
//!
//! The seed suggests a JavaScript timer in the customer's browser as the trigger for
//! polling. The browser here only polls the shop's own status endpoint, and the shop
//! polls Glase itself: a customer who pays and closes the tab must not have their
//! payment reversed, and a server loop keeps the 20-second rule under the shop's control.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use glase_protocol::{InvoiceStatus, ReceiptDocument};
use tokio::sync::mpsc;
use tokio::task::{Id, JoinSet};
use tokio::time::MissedTickBehavior;
use tracing::Instrument as _;

use super::cancel::{Cancelled, cancel_invoice};
use super::orders::{Order, OrderId, OrderState, RECEIPT_ATTEMPTS, Recorded};
use super::pages;
use super::shop::{Refresh, Webshop, now_ms};
use crate::faults::Fault;
use crate::store::StoreError;

pub(crate) fn routes() -> Router<Webshop> {
    Router::new().route("/seqr/shop/notify/{token}", post(notified))
}

/// Glase's notification: an empty POST to the notificationUrl given at sendInvoice.
async fn notified(State(shop): State<Webshop>, Path(token): Path<String>) -> StatusCode {
    let order = match shop.orders().by_token(&token) {
        Ok(Some(order)) => order,
        Ok(None) => {
            tracing::warn!("notification with an unknown session token");
            return StatusCode::NOT_FOUND;
        }
        Err(error) => {
            // Not 200: Glase retries, and the poller covers the order meanwhile.
            tracing::error!(error = ?error, "cannot look up a notification's order");
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    };
    let reference = order.invoice_reference.as_deref().unwrap_or("");
    tracing::info!(order_id = %order.id, invoice_reference = reference, state = order.state.as_str(), "notification");
    if shop.has_fault(Fault::TrustNotification) {
        tracing::warn!(order_id = %order.id, "DELIBERATE FAULT trust-notification: marking the order paid without getPaymentStatus");
        if let Err(error) = shop.orders().mark_paid_untrusted(&order.id, now_ms()) {
            tracing::error!(error = ?error, "cannot record the order");
        }
    } else if shop.has_fault(Fault::SkipStatusFetch) {
        tracing::warn!(order_id = %order.id, "DELIBERATE FAULT skip-status-fetch: not fetching the status");
    } else {
        if shop.has_fault(Fault::PaidOnNotification) {
            tracing::warn!(order_id = %order.id, "DELIBERATE FAULT paid-on-notification: marking the order paid before getPaymentStatus");
            if let Err(error) = shop.orders().mark_paid_untrusted(&order.id, now_ms()) {
                tracing::error!(error = ?error, "cannot record the order");
            }
        }
        shop.refresh(order.id, true);
    }
    StatusCode::OK
}

/// The status loop: ticks, refresh requests, finished passes.
pub(crate) async fn run(shop: Webshop, mut requests: mpsc::UnboundedReceiver<Refresh>) {
    // The fault polls twenty times as often as configured (every 50 ms at the default
    // 1 s), so it stays far too often whatever the interval is scaled to.
    let period = if shop.has_fault(Fault::PollTooOften) {
        let period = (shop.config().poll_interval / 20).max(Duration::from_millis(1));
        tracing::warn!("FAULT poll-too-often: polling every {period:?}");
        period
    } else if shop.has_fault(Fault::TillPollSlowly) {
        tracing::warn!("FAULT till-poll-slowly: polling every {TILL_SLOW_POLL:?}");
        TILL_SLOW_POLL
    } else {
        shop.config().poll_interval
    };
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut passes =
        Passes { shop: shop.clone(), running: JoinSet::new(), orders: HashMap::new(), again: HashMap::new() };
    // The fault is a shop that polls far too often: it keeps no budget either.
    let budget = if shop.has_fault(Fault::PollTooOften) { u32::MAX } else { shop.config().max_polls_per_second };
    let mut rota = Rota::new(budget, period);
    loop {
        tokio::select! {
            _ = ticker.tick() => match shop.orders().active() {
                Ok(ids) => rota.due(ids).into_iter().for_each(|id| passes.schedule(id, false)),
                Err(error) => tracing::error!(error = ?error, "cannot list the webshop's pending orders"),
            },
            Some(request) = requests.recv() => passes.schedule(request.order, request.notified),
            Some(finished) = passes.running.join_next_with_id(), if !passes.running.is_empty() => {
                let task = match finished {
                    Ok((task, ())) => task,
                    Err(error) => {
                        tracing::error!(error = %error, "a webshop status pass panicked");
                        error.id()
                    }
                };
                passes.finished(task);
            }
        }
    }
}

/// The poll's ration: which of the active orders a tick may look at, at most
/// `max_polls_per_second` a second over all of them, least recently polled first.
struct Rota {
    /// Passes allowed per tick (may be fractional: a slow budget and a fast tick).
    per_tick: f64,
    /// Allowance carried to the next tick: the fraction of a pass, never more than
    /// one whole pass, so an idle shop does not save up a burst.
    allowance: f64,
    tick: u64,
    /// The tick each active order was last polled at (absent: never).
    polled: HashMap<OrderId, u64>,
}

impl Rota {
    fn new(max_per_second: u32, period: Duration) -> Self {
        let per_tick = f64::from(max_per_second.max(1)) * period.as_secs_f64();
        Self { per_tick, allowance: 0.0, tick: 0, polled: HashMap::new() }
    }

    /// The orders to look at this tick, out of `active` (oldest first).
    fn due(&mut self, active: Vec<OrderId>) -> Vec<OrderId> {
        self.tick += 1;
        self.allowance += self.per_tick;
        // Forget orders that are no longer active, so the map stays as small as the set.
        let mut last: HashMap<OrderId, u64> = HashMap::with_capacity(active.len());
        for id in &active {
            last.insert(id.clone(), self.polled.get(id).copied().unwrap_or(0));
        }
        self.polled = last;
        let mut ranked = active;
        // Stable: among orders polled at the same tick (or never), the oldest first.
        ranked.sort_by_key(|id| self.polled.get(id).copied().unwrap_or(0));
        // Truncation is the point: whole passes only, the fraction carries over.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let take = (self.allowance.floor() as usize).min(ranked.len());
        // What is left carries over, but never more than one pass.
        self.allowance = (self.allowance - take as f64).min(1.0);
        ranked.truncate(take);
        for id in &ranked {
            self.polled.insert(id.clone(), self.tick);
        }
        ranked
    }
}

/// The passes in flight, at most one per order.
struct Passes {
    shop: Webshop,
    running: JoinSet<()>,
    /// Which order each running task works on.
    orders: HashMap<Id, OrderId>,
    /// Orders with a pass running, and whether another must follow it (`Some`) and
    /// whether that one was asked for by a notification.
    again: HashMap<OrderId, Option<bool>>,
}

impl Passes {
    fn schedule(&mut self, order: OrderId, notified: bool) {
        match self.again.get_mut(&order) {
            Some(next) => *next = Some(next.unwrap_or(false) || notified),
            None => self.start(order, notified),
        }
    }

    fn start(&mut self, order: OrderId, notified: bool) {
        let shop = self.shop.clone();
        let id = order.clone();
        let handle = self.running.spawn(async move { pass(&shop, &id, notified).await });
        self.orders.insert(handle.id(), order.clone());
        self.again.insert(order, None);
    }

    fn finished(&mut self, task: Id) {
        let Some(order) = self.orders.remove(&task) else { return };
        if let Some(Some(notified)) = self.again.remove(&order) {
            self.start(order, notified);
        }
    }
}

/// One look at an order.
async fn pass(shop: &Webshop, id: &OrderId, notified: bool) {
    let order = match shop.orders().get(id) {
        Ok(Some(order)) => order,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(order_id = %id, error = ?error, "cannot read the order");
            return;
        }
    };
    let Some(reference) = order.invoice_reference.clone() else { return };
    let span = tracing::info_span!("order", order_id = %id, invoice_reference = %reference);
    if let Err(error) = step(shop, order, notified).instrument(span.clone()).await {
        span.in_scope(|| tracing::error!(error = ?error, "webshop database error; the next pass retries"));
    }
}

async fn step(shop: &Webshop, order: Order, notified: bool) -> Result<(), StoreError> {
    let skip_fetch = shop.has_fault(Fault::SkipStatusFetch);
    let unpaid_timeout = i64::try_from(shop.config().unpaid_timeout.as_millis()).unwrap_or(i64::MAX);
    if shop.has_fault(Fault::TillGiveUpPolling)
        && order.state == OrderState::Pending
        && now_ms() - order.created_at_ms >= unpaid_timeout / 3
    {
        tracing::debug!("FAULT till-give-up-polling: neither polling nor cancelling this sale any more");
        return Ok(());
    }
    if order.state == OrderState::Pending {
        // Whether cancelInvoice's answer leaves the outcome to getPaymentStatus.
        let mut status_decides = false;
        if order.is_overdue(now_ms(), unpaid_timeout) {
            match cancel_invoice(shop, &order, "not paid within the shop's time limit").await? {
                Cancelled::Done | Cancelled::UnknownInvoice => return Ok(()),
                // Paid, being paid, already closed: the status decides.
                Cancelled::AlreadyPaid | Cancelled::InProgress | Cancelled::AlreadyEnded => status_decides = true,
                Cancelled::Failed(error) => tracing::warn!(error = %error, "cancelInvoice failed; retrying next pass"),
            }
        }
        if !skip_fetch && (notified || status_decides || polls(shop, &order)) {
            fetch(shop, &order, notified).await?;
        }
    } else if notified && !skip_fetch {
        // A notification about a settled order (a duplicate, a late one): the seed asks
        // for getPaymentStatus on every notification; it changes nothing here.
        fetch(shop, &order, notified).await?;
    }
    if let Some(order) = shop.orders().get(&order.id)?
        && order.state == OrderState::Paid
    {
        submit_receipt(shop, &order).await?;
    }
    Ok(())
}

/// How often the `till-poll-slowly` fault polls (instead of every `poll_interval`, at
/// most 1 s).
const TILL_SLOW_POLL: Duration = Duration::from_secs(3);

/// How long after checkout the `give-up-polling` fault stops polling an order.
const GIVE_UP_POLLING_AFTER_MS: i64 = 1000;

/// Whether a pass that no notification asked for polls getPaymentStatus: always,
/// except under the deliberate faults that stop the shop's own polling.
fn polls(shop: &Webshop, order: &Order) -> bool {
    if shop.has_fault(Fault::NotificationOnly) {
        tracing::debug!("FAULT notification-only: not polling");
        return false;
    }
    if shop.has_fault(Fault::GiveUpPolling) && now_ms() - order.created_at_ms >= GIVE_UP_POLLING_AFTER_MS {
        tracing::debug!("FAULT give-up-polling: stopped polling 1 s after checkout");
        return false;
    }
    true
}

/// getPaymentStatus, echoing the latest version, and records what it says.
/// `notified`: a notification asked for it.
async fn fetch(shop: &Webshop, order: &Order, notified: bool) -> Result<(), StoreError> {
    let Some(reference) = order.invoice_reference.as_deref() else { return Ok(()) };
    // The deliberate fault always sends 0 instead of the latest version.
    let version = if shop.has_fault(Fault::StaleInvoiceVersion) { 0 } else { order.version };
    let status = match shop.glase().get_payment_status(reference, version).await {
        Ok(status) => status,
        Err(error) => {
            tracing::warn!(error = %error, "getPaymentStatus failed; retrying next pass");
            return Ok(());
        }
    };
    tracing::debug!(status = %status.status, version = status.version, "getPaymentStatus");
    // The paid-on-notification fault marked the order paid on the notification alone
    // (paid without an ersReference): the answer to the status fetch that notification
    // asked for corrects it.
    if notified && shop.has_fault(Fault::PaidOnNotification) && shop.orders().reopen_untrusted(&order.id)? {
        tracing::warn!(status = %status.status, "DELIBERATE FAULT paid-on-notification: correcting the order from the status");
    }
    match shop.orders().record_status(&order.id, &status, now_ms())? {
        Recorded::NewlyPaid => tracing::info!(
            ers_reference = status.ers_reference.as_deref().unwrap_or(""),
            total = %order.total,
            "order paid"
        ),
        Recorded::Ended(state) => tracing::info!(status = %status.status, state = state.as_str(), "order ended"),
        Recorded::Unchanged => {
            if status.status == InvoiceStatus::Paid && status.ers_reference.is_none() {
                tracing::warn!("PAID without an ersReference; asking again next pass");
            } else if order.state == OrderState::Paid && status.status != InvoiceStatus::Paid {
                tracing::error!(status = %status.status, "Glase no longer reports this paid order as PAID");
            }
        }
    }
    Ok(())
}

/// submitPaymentReceipt for a payment whose receipt is still due (a few attempts).
async fn submit_receipt(shop: &Webshop, order: &Order) -> Result<(), StoreError> {
    let Some(payment) = shop.orders().payment(&order.id)? else { return Ok(()) };
    if payment.receipt_submitted || payment.receipt_attempts >= RECEIPT_ATTEMPTS {
        return Ok(());
    }
    if shop.has_fault(Fault::TillNoReceipt) {
        // Given up at once, so that the sale does not count as owing a receipt forever.
        tracing::warn!(ers_reference = %payment.ers_reference, "DELIBERATE FAULT till-no-receipt: no submitPaymentReceipt");
        return shop.orders().receipt_abandoned(&payment.ers_reference);
    }
    shop.orders().receipt_attempt(&payment.ers_reference)?;
    let rows = shop.orders().rows(&order.id)?;
    let html = pages::receipt_document(shop.config(), order, &rows, &payment.ers_reference);
    let document = ReceiptDocument {
        mime_type: Some("text/html".to_owned()),
        // Raw bytes: the codec base64-encodes receiptData.
        receipt_data: Some(html.into_bytes()),
        receipt_type: Some("SALES_RECEIPT".to_owned()),
    };
    match shop.glase().submit_payment_receipt(&payment.ers_reference, document).await {
        Ok(()) => {
            shop.orders().receipt_submitted(&payment.ers_reference, now_ms())?;
            tracing::info!(ers_reference = %payment.ers_reference, "receipt submitted");
        }
        Err(error) if error.transient() => {
            tracing::warn!(error = %error, attempt = payment.receipt_attempts + 1, "submitPaymentReceipt failed; retrying");
        }
        Err(error) => {
            shop.orders().receipt_abandoned(&payment.ers_reference)?;
            tracing::warn!(error = %error, "submitPaymentReceipt refused; giving up on this receipt");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<OrderId> {
        names.iter().map(|n| OrderId((*n).to_owned())).collect()
    }

    #[test]
    fn the_rota_polls_within_the_budget_least_recently_polled_first() {
        // 2 a second at a 1 s tick: 2 orders per tick, round robin over 5.
        let mut rota = Rota::new(2, Duration::from_secs(1));
        let active = ids(&["a", "b", "c", "d", "e"]);
        let rounds: Vec<Vec<OrderId>> = (0..3).map(|_| rota.due(active.clone())).collect();
        assert_eq!(rounds, [ids(&["a", "b"]), ids(&["c", "d"]), ids(&["e", "a"])]);
        // An order that is no longer active is forgotten; a new one comes first.
        assert_eq!(rota.due(ids(&["b", "c", "f"])), ids(&["f", "b"]));
        assert_eq!(rota.polled.len(), 3);
    }

    #[test]
    fn a_budget_below_one_per_tick_carries_the_fraction_over() {
        // 4 a second at a 100 ms tick: 0.4 per tick, so 2 passes in 5 ticks.
        let mut rota = Rota::new(4, Duration::from_millis(100));
        let taken: usize = (0..5).map(|_| rota.due(ids(&["a", "b", "c"])).len()).sum();
        assert_eq!(taken, 2);
        // A fast budget takes every order at once, but saves nothing up.
        let mut fast = Rota::new(1000, Duration::from_secs(1));
        assert_eq!(fast.due(ids(&["a"])).len(), 1);
        assert!(fast.allowance <= 1.0);
    }
}
