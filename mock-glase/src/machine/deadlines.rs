//! The Glase-side clocks: the status-acknowledgement reversal (spec 2.2 step 5) and the
//! reservation timeout. Deadlines sit in an ordered queue so `expire` costs
//! O(expired · log n), not a scan of every invoice. Entries name the invoice's slot (see
//! [`super::store`]), not its reference, so arming a deadline allocates nothing; a
//! deadline that is disarmed (acknowledged, committed, cancelled) leaves the queue at
//! once, so the queue holds only live deadlines. An entry whose invoice has moved on
//! anyway is skipped when it comes due.

use std::collections::BTreeSet;

use glase_protocol::InvoiceStatus;

use super::NotificationReason;
use super::store::Slot;
use super::wallet::Overflow;
use super::{Effects, Machine};
use crate::clock::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeadlineKind {
    StatusAcknowledgement,
    ReservationTimeout,
}

/// Deadlines ordered by time.
#[derive(Debug, Clone, Default)]
pub struct DeadlineQueue {
    entries: BTreeSet<(Timestamp, Slot, DeadlineKind)>,
}

impl DeadlineQueue {
    pub(crate) fn push(&mut self, at: Timestamp, slot: Slot, kind: DeadlineKind) {
        self.entries.insert((at, slot, kind));
    }

    /// Disarms a deadline (a no-op when it is not queued).
    pub(crate) fn remove(&mut self, at: Timestamp, slot: Slot, kind: DeadlineKind) {
        self.entries.remove(&(at, slot, kind));
    }

    fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, Slot, DeadlineKind)> {
        if self.entries.first().is_some_and(|(at, _, _)| *at <= now) { self.entries.pop_first() } else { None }
    }

    /// The slot of the earliest entry due at `now`, left in the queue.
    pub(crate) fn peek_due(&self, now: Timestamp) -> Option<Slot> {
        self.entries.first().filter(|(at, _, _)| *at <= now).map(|(_, slot, _)| *slot)
    }

    pub fn next(&self) -> Option<Timestamp> {
        self.entries.first().map(|(at, _, _)| *at)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Machine {
    /// Fires every deadline due at `now`. Called before every command, and by the
    /// transport's timer so deadlines fire with no request arriving.
    pub fn expire(&mut self, now: Timestamp) -> Effects {
        let mut fx = Effects::default();
        while self.expire_one(now, &mut fx) {}
        self.enforce_retention();
        fx
    }

    /// Fires the earliest deadline due at `now`, if any; `false` when none is due. One at
    /// a time so the transport can guard each against a panic: the deadline is taken off
    /// the queue before it is handled, so one that fails is dropped, not retried forever,
    /// and the deadlines after it still fire.
    pub fn expire_one(&mut self, now: Timestamp, fx: &mut Effects) -> bool {
        let Some((at, slot, kind)) = self.queue.pop_due(now) else { return false };
        let Some(record) = self.invoices.at(slot) else { return true };
        let due = match kind {
            DeadlineKind::StatusAcknowledgement => record.status_deadline == Some(at),
            DeadlineKind::ReservationTimeout => {
                record.commit_deadline == Some(at) && record.status == InvoiceStatus::Reserved
            }
        };
        if !due {
            return true;
        }
        let reference = record.reference.clone();
        // Whether Glase notifies on its own reversals is configurable **[decision]**.
        let url = record.invoice.notification_url.clone().filter(|_| self.notify_on_reversal);
        // A refused credit (see `wallet`) leaves the invoice as it was: nothing to notify.
        match kind {
            DeadlineKind::StatusAcknowledgement => {
                if self.reverse(&reference, at, fx).is_ok() {
                    fx.notify(&reference, url.as_deref(), NotificationReason::Reversed);
                }
            }
            DeadlineKind::ReservationTimeout => {
                let reason = "reservation expired: not committed in time";
                if self.close_unpaid(&reference, reason, at, fx).is_ok() {
                    fx.notify(&reference, url.as_deref(), NotificationReason::Expired);
                }
            }
        }
        true
    }

    /// The time of the next deadline, for the transport's timer.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.queue.next()
    }

    /// The merchant never fetched the status: PAID or RESERVED goes back to CANCELED and
    /// the customer gets the money back. `Err` (nothing changed) when that credit would
    /// overflow the wallet.
    fn reverse(&mut self, reference: &str, at: Timestamp, fx: &mut Effects) -> Result<(), Overflow> {
        const REASON: &str = "reversed: status not fetched";
        let Some(record) = self.invoices.get(reference) else { return Ok(()) };
        match record.status {
            InvoiceStatus::Reserved => self.close_unpaid(reference, REASON, at, fx),
            InvoiceStatus::Paid => {
                let invoice = record.reference.clone();
                let ers = record.ers_reference.clone().unwrap_or_default();
                // Checked first: refunds made before the reversal already went back to the
                // customer, so the reversal returns the rest (refunds never exceed the
                // payment, so the difference cannot overflow).
                let credit = match self.payments.get(ers.as_str()) {
                    Some(payment) => {
                        self.credited(&payment.payer, payment.amount - payment.refunded(), &invoice, fx)?
                    }
                    None => None,
                };
                self.test_hook(super::TestHook::Reversal);
                if let Some(record) = self.invoices.get_mut(reference) {
                    record.status_deadline = None;
                }
                if let Some(payment) = self.payments.get_mut(ers.as_str()) {
                    payment.reversed = true;
                    // The refunds leave the reports together with the payment they undid.
                    let reseller = payment.reseller.clone();
                    let refunds: Vec<_> = payment.refunds.iter().map(|r| r.ers_reference.clone()).collect();
                    self.periods.forget_payment(&reseller, &ers);
                    for refund in &refunds {
                        self.periods.forget_payment(&reseller, refund);
                    }
                }
                self.set_balance(credit);
                self.transition(reference, InvoiceStatus::Canceled, REASON, at, fx);
                Ok(())
            }
            _ => {
                if let Some(record) = self.invoices.get_mut(reference) {
                    record.status_deadline = None;
                }
                Ok(())
            }
        }
    }
}
