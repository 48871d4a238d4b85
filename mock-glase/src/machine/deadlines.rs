//! The Glase-side clocks: the status-acknowledgement reversal (spec 2.2 step 5) and the
//! reservation timeout. Deadlines sit in an ordered queue so `expire` costs
//! O(expired · log n), not a scan of every invoice. Entries name the invoice's slot (see
//! [`super::store`]), not its reference, so arming a deadline allocates nothing; a
//! deadline that is disarmed (acknowledged, committed, cancelled) leaves the queue at
//! once, so the queue holds only live deadlines. An entry whose invoice has moved on
//! anyway is skipped when it comes due.

use std::collections::BTreeSet;

use glase_protocol::InvoiceStatus;

use super::store::Slot;
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
        while let Some((at, slot, kind)) = self.queue.pop_due(now) {
            let Some(record) = self.invoices.at(slot) else { continue };
            let due = match kind {
                DeadlineKind::StatusAcknowledgement => record.status_deadline == Some(at),
                DeadlineKind::ReservationTimeout => {
                    record.commit_deadline == Some(at) && record.status == InvoiceStatus::Reserved
                }
            };
            if !due {
                continue;
            }
            let reference = record.reference.clone();
            // Whether Glase notifies on its own reversals is configurable **[decision]**.
            let url = record.invoice.notification_url.clone().filter(|_| self.notify_on_reversal);
            match kind {
                DeadlineKind::StatusAcknowledgement => {
                    self.reverse(&reference, at, &mut fx);
                    fx.notify(&reference, url.as_deref(), "reversed");
                }
                DeadlineKind::ReservationTimeout => {
                    self.close_unpaid(&reference, "reservation expired: not committed in time", at, &mut fx);
                    fx.notify(&reference, url.as_deref(), "expired");
                }
            }
        }
        self.enforce_retention();
        fx
    }

    /// The time of the next deadline, for the transport's timer.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.queue.next()
    }

    /// The merchant never fetched the status: PAID or RESERVED goes back to CANCELED and
    /// the customer gets the money back.
    fn reverse(&mut self, reference: &str, at: Timestamp, fx: &mut Effects) {
        const REASON: &str = "reversed: status not fetched";
        let Some(record) = self.invoices.get_mut(reference) else { return };
        record.status_deadline = None;
        match record.status {
            InvoiceStatus::Reserved => self.close_unpaid(reference, REASON, at, fx),
            InvoiceStatus::Paid => {
                let ers = record.ers_reference.clone().unwrap_or_default();
                if let Some(payment) = self.payments.get_mut(ers.as_str()) {
                    payment.reversed = true;
                    // Refunds made before the reversal already went back to the customer:
                    // the reversal returns the rest, and the refunds leave the reports
                    // together with the payment they undid.
                    let rest = payment.amount - payment.refunded();
                    let (payer, reseller) = (payment.payer.clone(), payment.reseller.clone());
                    let refunds: Vec<_> = payment.refunds.iter().map(|r| r.ers_reference.clone()).collect();
                    if let Some(customer) = self.customers.get_mut(payer.as_str()) {
                        customer.balance += rest;
                    }
                    self.periods.forget_payment(&reseller, &ers);
                    for refund in &refunds {
                        self.periods.forget_payment(&reseller, refund);
                    }
                }
                self.transition(reference, InvoiceStatus::Canceled, REASON, at, fx);
            }
            _ => {}
        }
    }
}
