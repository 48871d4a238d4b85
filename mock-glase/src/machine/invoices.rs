//! sendInvoice, updateInvoice, getPaymentStatus, cancelInvoice, commitReservation.

use glase_protocol::request::{
    CancelInvoice, CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice, rows_total,
};
use glase_protocol::{
    Deviation, DeviationRule, Invoice, InvoiceStatus, Operation, PaymentMode, Receipt, Response, ResponseDetail,
    ResultCode,
};
use rust_decimal::Decimal;

use super::auth::Principal;
use super::deadlines::DeadlineKind;
use super::store::Slot;
use super::wallet::Overflow;
use super::{Effects, Event, InvoiceRecord, Machine, Payment, SmolStr, trim};
use crate::clock::Timestamp;

/// An invoice's amount, once validated (its currency is the one it was checked against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckedInvoice {
    pub total: Decimal,
    /// Amounts with more than two decimals that lax mode accepted.
    pub deviations: Vec<Deviation>,
}

/// How the amounts of a request are checked: where they are (`sendInvoice/invoice`, for
/// deviations) and whether lax mode accepts sub-cent amounts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Amounts<'a> {
    pub path: &'a str,
    pub lax: bool,
}

impl Amounts<'_> {
    /// Spec section 3.3 writes amounts `#.##` **[decision]**: a value with more than two
    /// decimals (`10.225`; `10.220` is 10.22 and fine) is refused with `code`, as Glase
    /// cannot charge a fraction of a cent; lax mode accepts it and records a deviation.
    pub(crate) fn check(
        self,
        value: Decimal,
        at: &str,
        code: ResultCode,
        deviations: &mut Vec<Deviation>,
    ) -> Result<(), ResultCode> {
        if value.normalize().scale() <= 2 {
            return Ok(());
        }
        if !self.lax {
            return Err(code);
        }
        deviations.push(Deviation {
            rule: DeviationRule::AmountPrecision,
            path: format!("{}/{at}", self.path),
            detail: format!("amount {value} has more than two decimals (#.##); accepted in lax mode"),
        });
        Ok(())
    }
}

/// Checks an invoice against spec section 3.3. Returns 49 for data that cannot be a valid
/// invoice (no total, wrong currency, rows that do not add up, a charged amount — total,
/// row total, discount — with more than two decimals), 11 for a non-positive total and 64 for a notificationUrl that is not
/// http(s).
///
/// Missing *documented* fields that a payment can do without (title, cashierId, rows,
/// issueDate, clientInvoiceId) are accepted: real clients omit them, and the
/// conformance rules report that instead **[decision]**.
pub(crate) fn check_invoice(
    invoice: Option<&Invoice>,
    currency: &str,
    amounts: Amounts<'_>,
) -> Result<CheckedInvoice, ResultCode> {
    let invoice = invoice.ok_or(ResultCode::INVALID_INVOICE_DATA)?;
    let total = invoice.total_amount.as_ref().ok_or(ResultCode::INVALID_INVOICE_DATA)?;
    let value = total.value.ok_or(ResultCode::INVALID_INVOICE_DATA)?;
    let total_currency = total.currency.as_deref().map(trim).ok_or(ResultCode::INVALID_INVOICE_DATA)?;
    if total_currency != currency {
        return Err(ResultCode::INVALID_INVOICE_DATA);
    }
    if value <= Decimal::ZERO {
        return Err(ResultCode::REJECTED_AMOUNT);
    }
    let mut deviations = Vec::new();
    let data = ResultCode::INVALID_INVOICE_DATA;
    amounts.check(value, "totalAmount/value", data, &mut deviations)?;
    if let Some(rows) = invoice.invoice_rows.as_deref().filter(|rows| !rows.is_empty()) {
        for row in rows {
            let amount = row.item_total_amount.as_ref().ok_or(ResultCode::INVALID_INVOICE_DATA)?;
            // What is charged must be whole cents; a unit price is not charged, and real
            // ones have three decimals (fuel per litre, 49.99 for two), so it is not checked.
            for (price, at) in [
                (Some(amount), "invoiceRows/invoiceRow/itemTotalAmount/value"),
                (row.item_discount.as_ref(), "invoiceRows/invoiceRow/itemDiscount/value"),
            ] {
                if let Some(value) = price.and_then(|p| p.value) {
                    amounts.check(value, at, data, &mut deviations)?;
                }
            }
            if amount.currency.as_deref().is_some_and(|c| trim(c) != currency) {
                return Err(ResultCode::INVALID_INVOICE_DATA);
            }
            if row.item_quantity.is_some_and(|q| q <= Decimal::ZERO) {
                return Err(ResultCode::INVALID_INVOICE_DATA);
            }
        }
        // `rows_total` is overflow-checked: an impossible sum is bad data, not a panic.
        if rows_total(rows) != Some(value) {
            return Err(ResultCode::INVALID_INVOICE_DATA);
        }
    }
    if let Some(url) = invoice.notification_url.as_deref()
        && !is_http_url(url)
    {
        return Err(ResultCode::INVALID_NOTIFICATION_URL);
    }
    Ok(CheckedInvoice { total: value, deviations })
}

/// `http://host…` or `https://host…`, case-insensitive scheme, non-empty host, no spaces.
pub(crate) fn is_http_url(url: &str) -> bool {
    let url = url.trim();
    let scheme = |prefix: &str| {
        url.as_bytes().get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    let rest = if scheme("https://") {
        Some(&url[8..])
    } else if scheme("http://") {
        Some(&url[7..])
    } else {
        None
    };
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !rest.contains(char::is_whitespace)
    })
}

impl Machine {
    fn currency_of(&self, principal: &Principal) -> Option<&SmolStr> {
        self.resellers.get(self.reseller_of(principal)).map(|r| &r.currency)
    }

    /// The slot of the invoice named by a request, if it belongs to the calling terminal
    /// (else 54).
    fn own_invoice(&self, principal: &Principal, reference: Option<&str>) -> Result<Slot, ResultCode> {
        let reference = reference.map(trim).ok_or(ResultCode::INVALID_INVOICE_REFERENCE)?;
        self.invoices
            .slot_of(reference)
            .filter(|slot| {
                self.invoices.at(*slot).is_some_and(|record| Some(record.terminal.as_str()) == principal.terminal())
            })
            .ok_or(ResultCode::INVALID_INVOICE_REFERENCE)
    }

    /// [`Self::own_invoice`], the record itself.
    fn own_record(&self, principal: &Principal, reference: Option<&str>) -> Result<&InvoiceRecord, ResultCode> {
        let slot = self.own_invoice(principal, reference)?;
        self.invoices.at(slot).ok_or(ResultCode::INVALID_INVOICE_REFERENCE)
    }

    pub(crate) fn send_invoice(
        &mut self,
        principal: &Principal,
        request: &SendInvoice,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::SendInvoice;
        let currency = self.currency_of(principal);
        let amounts = Amounts { path: "sendInvoice/invoice", lax: self.lax_wire };
        let checked = match check_invoice(request.invoice.as_ref(), currency.map_or("", SmolStr::as_str), amounts) {
            Ok(checked) => checked,
            Err(code) => return Response::result(op, code),
        };
        fx.deviations.extend(checked.deviations);
        let currency = currency.cloned().unwrap_or_default();
        // The names are the machine's own (the terminal's, its reseller's), so the copies
        // below are free.
        let Some(terminal) = principal.terminal().and_then(|id| self.terminals.get(id)) else {
            return Response::result(op, ResultCode::ACCESS_DENIED);
        };
        let (reseller, terminal) = (terminal.reseller.clone(), terminal.id.clone());
        let invoice = request.invoice.clone().unwrap_or_default();
        let payment_mode = invoice.payment_mode.unwrap_or(PaymentMode::ImmediateDebit);
        let reference = self.ids.invoice_reference();
        fx.event(Event::InvoiceIssued {
            invoice: reference.clone(),
            terminal: terminal.clone(),
            amount: checked.total,
            currency: currency.clone(),
            payment_mode,
        });
        self.invoices.insert(InvoiceRecord {
            reference: reference.clone(),
            terminal,
            reseller,
            invoice,
            payment_mode,
            total: checked.total,
            currency,
            status: InvoiceStatus::Issued,
            version: 0,
            issued_at: now,
            opened_by: None,
            payer: None,
            reserved_amount: None,
            commit_deadline: None,
            status_deadline: None,
            settled_at: None,
            acknowledged_at: None,
            ers_reference: None,
            customer_tokens: Vec::new(),
            // Most invoices change status once or twice; the default first growth
            // (four entries) would leave half of it unused for as long as it is kept.
            history: Vec::with_capacity(2),
        });
        self.note_invoice_for_purchases(&reference, fx);
        Response::success(
            op,
            ResponseDetail::SendInvoice {
                invoice_qr_code: Some(Machine::invoice_qr(&reference)),
                invoice_reference: Some(reference.into()),
            },
        )
    }

    pub(crate) fn update_invoice(
        &mut self,
        principal: &Principal,
        request: &UpdateInvoice,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::UpdateInvoice;
        let slot = match self.own_invoice(principal, request.invoice_reference.as_deref()) {
            Ok(slot) => slot,
            Err(code) => return Response::result(op, code),
        };
        let Some(record) = self.invoices.at_mut(slot) else {
            return Response::result(op, ResultCode::INVALID_INVOICE_REFERENCE);
        };
        if record.opened_by.is_some() {
            return Response::result(op, ResultCode::PAYMENT_IN_PROGRESS);
        }
        match record.status {
            InvoiceStatus::Issued | InvoiceStatus::Reserved => {}
            // Updating a closed invoice: 95 when it was cancelled, 49 otherwise **[decision]**.
            InvoiceStatus::Canceled => return Response::result(op, ResultCode::INVOICE_ALREADY_CANCELED),
            _ => return Response::result(op, ResultCode::INVALID_INVOICE_DATA),
        }
        let amounts = Amounts { path: "updateInvoice/invoice", lax: self.lax_wire };
        let checked = match check_invoice(request.invoice.as_ref(), &record.currency, amounts) {
            Ok(checked) => checked,
            Err(code) => return Response::result(op, code),
        };
        if record.reserved_amount.is_some_and(|reserved| checked.total > reserved) {
            return Response::result(op, ResultCode::REJECTED_AMOUNT);
        }
        fx.deviations.extend(checked.deviations);
        let mut invoice = request.invoice.clone().unwrap_or_default();
        // The payment mode is fixed at sendInvoice; an update cannot turn a payment
        // into a reservation.
        invoice.payment_mode = Some(record.payment_mode);
        // Callback and timeout settings survive an update that leaves them out: an
        // update is about rows and amounts, and losing the notificationUrl would
        // silently stop later notifications **[decision]**.
        invoice.notification_url = invoice.notification_url.or(record.invoice.notification_url.take());
        invoice.back_url = invoice.back_url.or(record.invoice.back_url.take());
        invoice.commit_reservation_timeout =
            invoice.commit_reservation_timeout.or(record.invoice.commit_reservation_timeout);
        record.invoice = invoice;
        record.total = checked.total;
        if !request.tokens.is_empty() {
            record.customer_tokens.extend(request.tokens.iter().cloned());
            record.version += 1;
        }
        fx.event(Event::InvoiceUpdated { invoice: record.reference.clone(), amount: checked.total });
        Response::result(op, ResultCode::SUCCESS)
    }

    pub(crate) fn get_payment_status(
        &mut self,
        principal: &Principal,
        request: &GetPaymentStatus,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::GetPaymentStatus;
        let slot = match self.own_invoice(principal, request.invoice_reference.as_deref()) {
            Ok(slot) => slot,
            Err(code) => return Response::result(op, code),
        };
        let Some(record) = self.invoices.at_mut(slot) else {
            return Response::result(op, ResultCode::INVALID_INVOICE_REFERENCE);
        };
        if let Some(deadline) = record.status_deadline.take() {
            // Fetching PAID/RESERVED in time acknowledges it; the reversal is off.
            self.queue.remove(deadline, slot, DeadlineKind::StatusAcknowledgement);
            record.acknowledged_at = Some(now);
            let settled = record.settled_at.unwrap_or(now);
            fx.event(Event::StatusAcknowledged {
                invoice: record.reference.clone(),
                after_ms: now.as_millis().saturating_sub(settled.as_millis()),
            });
        }
        let Some(record) = self.invoices.at(slot) else {
            return Response::result(op, ResultCode::INVALID_INVOICE_REFERENCE);
        };
        let paid = record.status == InvoiceStatus::Paid;
        let receipt = paid.then(|| Box::new(self.receipt_of(record)));
        let mut response = Response::success(
            op,
            ResponseDetail::PaymentStatus {
                status: Some(record.status),
                receipt,
                customer_tokens: (!record.customer_tokens.is_empty()).then(|| record.customer_tokens.clone()),
                version: record.version,
            },
        );
        if paid {
            response.ers_reference = record.ers_reference.as_ref().map(SmolStr::to_string);
        }
        response
    }

    fn receipt_of(&self, record: &InvoiceRecord) -> Receipt {
        let payment = record.ers_reference.as_ref().and_then(|ers| self.payments.get(ers)).map(|p| &**p);
        Receipt {
            terminal_id: Some(record.terminal.to_string()),
            payment_date: payment.map(|p| p.paid_at.to_rfc3339()),
            client_invoice_id: record.invoice.client_invoice_id.clone(),
            invoice_reference: Some(record.reference.to_string()),
            payment_reference: record.ers_reference.as_ref().map(SmolStr::to_string),
            payer_terminal_id: record.payer.as_ref().map(SmolStr::to_string),
            receiver_name: self.resellers.get(record.reseller.as_str()).map(|r| r.name.clone()),
            invoice: Some(record.invoice.clone()),
        }
    }

    pub(crate) fn cancel_invoice(
        &mut self,
        principal: &Principal,
        request: &CancelInvoice,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::CancelInvoice;
        let record = match self.own_record(principal, request.invoice_reference.as_deref()) {
            Ok(record) => record,
            Err(code) => return Response::result(op, code),
        };
        let code = match (record.status, record.opened_by.is_some()) {
            (InvoiceStatus::Paid, _) => ResultCode::CANNOT_CANCEL_PAID_INVOICE,
            // A FAILED invoice is closed without payment, like a cancelled one **[decision]**.
            (InvoiceStatus::Canceled | InvoiceStatus::Failed, _) => ResultCode::INVOICE_ALREADY_CANCELED,
            (_, true) => ResultCode::CANNOT_CANCEL_INVOICE_IN_PROGRESS,
            _ => ResultCode::SUCCESS,
        };
        if code.is_success() {
            let reference = record.reference.clone();
            if self.close_unpaid(&reference, "canceled by merchant", now, fx).is_err() {
                return Response::result(op, ResultCode::SYSTEM_ERROR);
            }
        }
        Response::result(op, code)
    }

    /// ISSUED/RESERVED → CANCELED, giving reserved money back to the wallet. `Err` (and
    /// nothing changed) when that credit would overflow the wallet (see `wallet`).
    pub(crate) fn close_unpaid(
        &mut self,
        reference: &str,
        reason: &'static str,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Result<(), Overflow> {
        let Some(slot) = self.invoices.slot_of(reference) else { return Ok(()) };
        let Some(record) = self.invoices.at(slot) else { return Ok(()) };
        let credit = match (record.reserved_amount, record.payer.as_deref()) {
            (Some(amount), Some(payer)) => self.credited(payer, amount, &record.reference, fx)?,
            _ => None,
        };
        self.test_hook(super::TestHook::CloseUnpaid);
        let Some(record) = self.invoices.at_mut(slot) else { return Ok(()) };
        if let Some(at) = record.status_deadline.take() {
            self.queue.remove(at, slot, DeadlineKind::StatusAcknowledgement);
        }
        if let Some(at) = record.commit_deadline.take() {
            self.queue.remove(at, slot, DeadlineKind::ReservationTimeout);
        }
        record.opened_by = None;
        record.reserved_amount = None;
        self.set_balance(credit);
        self.transition(reference, InvoiceStatus::Canceled, reason, now, fx);
        Ok(())
    }

    pub(crate) fn commit_reservation(
        &mut self,
        principal: &Principal,
        request: &CommitReservation,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::CommitReservation;
        let record = match self.own_record(principal, request.invoice_reference.as_deref()) {
            Ok(record) => record,
            Err(code) => return Response::result(op, code),
        };
        if record.status != InvoiceStatus::Reserved {
            return Response::result(op, ResultCode::INVOICE_STATE_NOT_RESERVED);
        }
        let reserved = record.reserved_amount.unwrap_or(Decimal::ZERO);
        let amount = match &request.amount {
            None => record.total,
            Some(amount) => {
                if amount.currency.as_deref().is_some_and(|c| trim(c) != record.currency) {
                    return Response::result(op, ResultCode::INVALID_INVOICE_DATA);
                }
                match amount.value {
                    Some(value) => value,
                    None => return Response::result(op, ResultCode::REJECTED_AMOUNT),
                }
            }
        };
        if amount <= Decimal::ZERO || amount > reserved {
            return Response::result(op, ResultCode::REJECTED_AMOUNT);
        }
        // The invoice's own total was checked when it was sent or updated.
        let amounts = Amounts { path: "commitReservation", lax: self.lax_wire };
        if request.amount.is_some()
            && let Err(code) = amounts.check(amount, "amount/value", ResultCode::REJECTED_AMOUNT, &mut fx.deviations)
        {
            return Response::result(op, code);
        }
        // The unused part of the reservation goes back to the customer: checked before
        // anything changes. (0 < amount <= reserved, so the difference cannot overflow.)
        let credit = match (record.payer.as_deref(), record.reserved_amount) {
            (Some(payer), Some(reserved)) => match self.credited(payer, reserved - amount, &record.reference, fx) {
                Ok(credit) => credit,
                Err(_) => return Response::result(op, ResultCode::SYSTEM_ERROR),
            },
            _ => None,
        };
        self.test_hook(super::TestHook::CommitReservation);
        // The request names the invoice by exactly the (trimmed) reference it was found
        // under, so that name serves without a copy of the record's.
        let reference = request.invoice_reference.as_deref().map(trim).unwrap_or_default();
        let ers = self.create_payment(reference, amount, now, fx);
        self.set_balance(credit);
        if let Some(slot) = self.invoices.slot_of(reference)
            && let Some(record) = self.invoices.at_mut(slot)
        {
            record.reserved_amount = None;
            if let Some(at) = record.commit_deadline.take() {
                self.queue.remove(at, slot, DeadlineKind::ReservationTimeout);
            }
            // The merchant learns the outcome from this very call, so no status
            // acknowledgement is owed **[decision]**.
            if let Some(at) = record.status_deadline.take() {
                self.queue.remove(at, slot, DeadlineKind::StatusAcknowledgement);
            }
        }
        self.transition(reference, InvoiceStatus::Paid, "reservation committed", now, fx);
        Response::result(op, ResultCode::SUCCESS).with_ers_reference(ers.as_str())
    }

    /// Records a payment for an invoice and returns its ersReference.
    pub(crate) fn create_payment(
        &mut self,
        reference: &str,
        amount: Decimal,
        now: Timestamp,
        fx: &mut Effects,
    ) -> SmolStr {
        let ers = self.ids.ers_reference();
        let Some(record) = self.invoices.get_mut(reference) else { return ers };
        record.ers_reference = Some(ers.clone());
        let invoice = record.reference.clone();
        let payment = Payment {
            ers_reference: ers.clone(),
            invoice: invoice.clone(),
            terminal: record.terminal.clone(),
            reseller: record.reseller.clone(),
            amount,
            currency: record.currency.clone(),
            paid_at: now,
            payer: record.payer.clone().unwrap_or_default(),
            cashier_id: record.invoice.cashier_id.clone(),
            reversed: false,
            refunds: Vec::new(),
            receipt: None,
        };
        self.periods.record_payment(&payment);
        self.payments.insert(ers.clone(), Box::new(payment));
        fx.event(Event::PaymentCreated { invoice, ers_reference: ers.clone(), amount });
        ers
    }

    /// Arms the status-acknowledgement deadline of an invoice that just became
    /// PAID/RESERVED.
    pub(crate) fn arm_status_deadline(&mut self, reference: &str, now: Timestamp) {
        let at = now.plus(self.deadlines.status_deadline);
        if let Some(slot) = self.invoices.slot_of(reference)
            && let Some(record) = self.invoices.at_mut(slot)
        {
            if let Some(earlier) = record.status_deadline.replace(at) {
                self.queue.remove(earlier, slot, DeadlineKind::StatusAcknowledgement);
            }
            record.settled_at = Some(now);
            self.queue.push(at, slot, DeadlineKind::StatusAcknowledgement);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_are_recognised() {
        assert!(is_http_url("https://shop.example/seqr/notify?session=abc"));
        assert!(is_http_url("HTTP://127.0.0.1:8080/n"));
        assert!(!is_http_url("ftp://host/x"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https://host/with space"));
        assert!(!is_http_url("notification"));
    }
}
