//! The simulated Glase app: scanning QR codes, confirming with a PIN, cancelling,
//! walking away, and the wallet that decides whether a payment can go through.

use glase_protocol::InvoiceStatus;
use rust_decimal::Decimal;
use serde::Serialize;

use super::NotificationReason;
use super::deadlines::DeadlineKind;
use super::{Customer, Effects, Event, Machine, SmolStr};
use crate::clock::Timestamp;

pub use super::customer_error::CustomerError;
pub use super::qr::{QrTarget, parse_qr};

/// The result of entering a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Confirmation {
    Paid,
    Reserved,
    /// Wrong PIN: the invoice stays ISSUED and open, the customer may retry **[decision]**.
    WrongPin,
    /// The wallet cannot cover the invoice: it is now FAILED.
    InsufficientFunds,
}

impl Machine {
    pub(crate) fn customer_or_default(&self, msisdn: Option<&str>) -> Result<SmolStr, CustomerError> {
        let msisdn = msisdn.unwrap_or(&self.default_customer);
        if self.customers.contains_key(msisdn) {
            Ok(SmolStr::new(msisdn))
        } else {
            Err(CustomerError::UnknownCustomer(msisdn.to_owned()))
        }
    }

    /// Finds the invoice a non-unattended QR code points at.
    pub fn resolve_qr(&self, qr: &str) -> Result<String, CustomerError> {
        match parse_qr(qr)? {
            QrTarget::Invoice { reference } => {
                if self.invoices.contains_key(&reference) {
                    Ok(reference)
                } else {
                    Err(CustomerError::UnknownInvoice(reference))
                }
            }
            QrTarget::Terminal { seqr_id } => {
                let terminal =
                    self.seqr_ids.get(&seqr_id).ok_or_else(|| CustomerError::UnknownSeqrId(seqr_id.clone()))?;
                // The till's most recent invoice that is still waiting for a customer.
                self.invoices
                    .values()
                    .filter(|r| r.terminal == *terminal && r.status == InvoiceStatus::Issued && r.opened_by.is_none())
                    .max_by_key(|r| (r.issued_at, r.reference.len(), r.reference.clone()))
                    .map(|r| r.reference.to_string())
                    .ok_or(CustomerError::NothingToPay(seqr_id))
            }
            QrTarget::Unattended { .. } => Err(CustomerError::UnattendedQr(qr.trim().to_owned())),
        }
    }

    /// The customer opens an invoice in the app (the PIN dialog shows).
    pub fn scan(&mut self, qr: &str, msisdn: Option<&str>, now: Timestamp) -> Result<(String, Effects), CustomerError> {
        let mut fx = self.expire(now);
        let reference = self.resolve_qr(qr)?;
        let msisdn = self.customer_or_default(msisdn)?;
        self.open_for(&reference, &msisdn, &mut fx)?;
        Ok((reference, fx))
    }

    /// Opens an ISSUED invoice for a customer (idempotent for the same customer).
    pub fn open_invoice(
        &mut self,
        reference: &str,
        msisdn: Option<&str>,
        now: Timestamp,
    ) -> Result<Effects, CustomerError> {
        let mut fx = self.expire(now);
        let msisdn = self.customer_or_default(msisdn)?;
        self.open_for(reference, &msisdn, &mut fx)?;
        Ok(fx)
    }

    pub(crate) fn open_for(
        &mut self,
        reference: &str,
        msisdn: &SmolStr,
        fx: &mut Effects,
    ) -> Result<(), CustomerError> {
        let record =
            self.invoices.get_mut(reference).ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))?;
        if record.status != InvoiceStatus::Issued {
            return Err(CustomerError::WrongState {
                invoice: reference.to_owned(),
                action: "opened",
                status: record.status,
            });
        }
        match &record.opened_by {
            Some(other) if other != msisdn => {
                return Err(CustomerError::OpenedByAnother {
                    invoice: reference.to_owned(),
                    msisdn: other.to_string(),
                });
            }
            Some(_) => {}
            None => {
                record.opened_by = Some(msisdn.clone());
                fx.event(Event::CustomerScanned { invoice: record.reference.clone(), msisdn: msisdn.clone() });
            }
        }
        Ok(())
    }

    /// The customer enters a PIN for an invoice (opening it first if needed).
    pub fn confirm(
        &mut self,
        reference: &str,
        msisdn: Option<&str>,
        pin: Option<&str>,
        now: Timestamp,
    ) -> Result<(Confirmation, Effects), CustomerError> {
        let mut fx = self.expire(now);
        let msisdn = self.customer_or_default(msisdn)?;
        self.open_for(reference, &msisdn, &mut fx)?;
        // Both exist: customer_or_default and open_for just found them.
        let (Some(customer), Some(slot)) = (self.customers.get_mut(msisdn.as_str()), self.invoices.slot_of(reference))
        else {
            return Err(CustomerError::UnknownInvoice(reference.to_owned()));
        };
        let Some(record) = self.invoices.at_mut(slot) else {
            return Err(CustomerError::UnknownInvoice(reference.to_owned()));
        };
        // No PIN given means "the right one": a test that wants a wrong PIN says so.
        if pin.is_some_and(|pin| pin != customer.pin) {
            fx.event(Event::CustomerWrongPin { invoice: record.reference.clone(), msisdn });
            return Ok((Confirmation::WrongPin, fx));
        }
        // The record's own reference, for the notification: a free copy.
        let reference = &record.reference.clone();
        let (total, mode, url) = (record.total, record.payment_mode, record.invoice.notification_url.clone());
        let timeout = record.invoice.commit_reservation_timeout;
        record.opened_by = None;
        let affordable = customer.balance >= total;
        record.payer = Some(msisdn);
        if !affordable {
            self.transition(reference, InvoiceStatus::Failed, "insufficient funds in wallet", now, &mut fx);
            self.enforce_retention();
            fx.notify(reference, url.as_deref(), NotificationReason::Failed);
            return Ok((Confirmation::InsufficientFunds, fx));
        }
        customer.balance -= total;
        let confirmation = if mode.reserves() {
            let timeout = timeout
                .filter(|s| *s > 0)
                .map(|s| std::time::Duration::from_secs(s.unsigned_abs()))
                .unwrap_or(self.deadlines.reservation_timeout);
            let deadline = now.plus(timeout);
            record.reserved_amount = Some(total);
            record.commit_deadline = Some(deadline);
            self.queue.push(deadline, slot, DeadlineKind::ReservationTimeout);
            self.transition(reference, InvoiceStatus::Reserved, "customer confirmed reservation", now, &mut fx);
            Confirmation::Reserved
        } else {
            self.create_payment(reference, total, now, &mut fx);
            self.transition(reference, InvoiceStatus::Paid, "customer confirmed payment", now, &mut fx);
            Confirmation::Paid
        };
        self.arm_status_deadline(reference, now);
        self.enforce_retention();
        fx.notify(reference, url.as_deref(), NotificationReason::Confirmed);
        Ok((confirmation, fx))
    }

    /// The customer cancels in the app: ISSUED → CANCELED, with a notification.
    pub fn customer_cancel(
        &mut self,
        reference: &str,
        msisdn: Option<&str>,
        now: Timestamp,
    ) -> Result<Effects, CustomerError> {
        // The customer cancels from the open invoice, so open it first.
        let mut fx = self.open_invoice(reference, msisdn, now)?;
        let (reference, url) = match self.invoices.get(reference) {
            Some(r) => (r.reference.clone(), r.invoice.notification_url.clone()),
            None => (SmolStr::new(reference), None),
        };
        self.close_unpaid(&reference, "canceled by customer", now, &mut fx)
            .map_err(|_| CustomerError::WalletOverflow(reference.to_string()))?;
        self.enforce_retention();
        fx.notify(&reference, url.as_deref(), NotificationReason::Canceled);
        Ok(fx)
    }

    /// The customer closes the app without answering: the invoice stays ISSUED and is
    /// no longer "in progress".
    pub fn walk_away(&mut self, reference: &str, now: Timestamp) -> Result<Effects, CustomerError> {
        let mut fx = self.expire(now);
        let record =
            self.invoices.get_mut(reference).ok_or_else(|| CustomerError::UnknownInvoice(reference.to_owned()))?;
        if let Some(msisdn) = record.opened_by.take() {
            fx.event(Event::CustomerWalkedAway { invoice: record.reference.clone(), msisdn });
        }
        Ok(fx)
    }

    /// Creates or changes a simulated customer.
    pub fn set_customer(&mut self, msisdn: &str, pin: Option<&str>, balance: Option<Decimal>) -> &Customer {
        let customer = self.customers.entry(msisdn.to_owned()).or_insert_with(|| Customer {
            msisdn: msisdn.to_owned(),
            pin: "1234".to_owned(),
            balance: Decimal::ZERO,
        });
        if let Some(pin) = pin {
            customer.pin = pin.to_owned();
        }
        if let Some(balance) = balance {
            customer.balance = balance;
        }
        customer
    }
}
