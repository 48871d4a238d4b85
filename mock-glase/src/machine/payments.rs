//! submitPaymentReceipt and refundPayment.

use glase_protocol::request::{RefundPayment, SubmitPaymentReceipt};
use glase_protocol::{Operation, Response, ResultCode};
use rust_decimal::Decimal;

use super::auth::Principal;
use super::{Effects, Event, Machine, Payment, Refund};
use crate::clock::Timestamp;

impl Machine {
    /// The payment named by an ersReference, if it is this reseller's and not reversed
    /// (else 23). A reversed payment no longer exists for the merchant **[decision]**.
    fn own_payment(&self, principal: &Principal, ers: Option<&str>) -> Result<&Payment, ResultCode> {
        let ers = ers.map(str::trim).ok_or(ResultCode::INVALID_ERS_REFERENCE)?;
        self.payments
            .get(ers)
            .map(|p| &**p)
            .filter(|p| p.reseller == self.reseller_of(principal) && !p.reversed)
            .ok_or(ResultCode::INVALID_ERS_REFERENCE)
    }

    pub(crate) fn submit_payment_receipt(
        &mut self,
        principal: &Principal,
        request: &SubmitPaymentReceipt,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::SubmitPaymentReceipt;
        let ers = match self.own_payment(principal, request.ers_reference.as_deref()) {
            Ok(payment) => payment.ers_reference.clone(),
            Err(code) => return Response::result(op, code),
        };
        // An empty receipt is allowed by the certification procedure.
        let document = request.receipt_document.clone().unwrap_or_default();
        fx.event(Event::ReceiptSubmitted {
            ers_reference: ers.clone(),
            mime_type: document.mime_type.clone(),
            bytes: document.receipt_data.as_ref().map_or(0, Vec::len),
        });
        if let Some(payment) = self.payments.get_mut(ers.as_str()) {
            payment.receipt = Some(document);
        }
        Response::result(op, ResultCode::SUCCESS)
    }

    /// Refunds part or all of a payment. Checks, in order: the payment exists (23), the
    /// reseller may refund (97), the receiving account allows it (99), the amount is
    /// positive, in the payment's currency and in whole cents (11/49/11), the sum of refunds stays within
    /// the payment (98), and the payer's wallet can take the money back (else 90, see
    /// `wallet`).
    pub(crate) fn refund_payment(
        &mut self,
        principal: &Principal,
        request: &RefundPayment,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Response {
        let op = Operation::RefundPayment;
        let payment = match self.own_payment(principal, request.ers_reference.as_deref()) {
            Ok(payment) => payment,
            Err(code) => return Response::result(op, code),
        };
        let reseller = self.resellers.get(payment.reseller.as_str());
        if !reseller.is_some_and(|r| r.refunds_allowed) {
            return Response::result(op, ResultCode::RESELLER_NOT_ALLOWED_TO_DO_REFUND);
        }
        if !reseller.is_some_and(|r| r.receiver_allows_refunds) {
            return Response::result(op, ResultCode::RECEIVER_ACCOUNT_DOES_NOT_ALLOW_REFUNDS);
        }
        let total = request.invoice.as_ref().and_then(|i| i.total_amount.as_ref());
        let Some(amount) = total.and_then(|t| t.value).filter(|v| *v > Decimal::ZERO) else {
            return Response::result(op, ResultCode::REJECTED_AMOUNT);
        };
        if total.and_then(|t| t.currency.as_deref()).is_some_and(|c| c.trim() != payment.currency) {
            return Response::result(op, ResultCode::INVALID_INVOICE_DATA);
        }
        // A sub-cent refund cannot be paid back: 11, as for any refund amount Glase
        // refuses (lax mode: accepted, with a deviation) **[decision]**.
        let amounts = super::invoices::Amounts { path: "refundPayment/invoice", lax: self.lax_wire };
        let mut deviations = Vec::new();
        if let Err(code) = amounts.check(amount, "totalAmount/value", ResultCode::REJECTED_AMOUNT, &mut deviations) {
            return Response::result(op, code);
        }
        // Checked: a 28-digit refund amount must answer 98, not overflow.
        if payment.refunded().checked_add(amount).is_none_or(|sum| sum > payment.amount) {
            return Response::result(op, ResultCode::SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION);
        }
        let payment_ers = payment.ers_reference.clone();
        let invoice = payment.invoice.clone();
        // Everything that can fail is checked before the first write.
        let Ok(credit) = self.credited(&payment.payer, amount, &invoice, fx) else {
            return Response::result(op, ResultCode::SYSTEM_ERROR);
        };
        self.test_hook(super::TestHook::RefundPayment);
        let refund_ers = self.ids.ers_reference();
        let refund = Refund {
            ers_reference: refund_ers.clone(),
            amount,
            at: now,
            cashier_id: request.invoice.as_ref().and_then(|i| i.cashier_id.clone()),
        };
        if let Some(payment) = self.payments.get_mut(payment_ers.as_str()) {
            self.periods.record_refund(payment, &refund);
            payment.refunds.push(refund);
        }
        self.set_balance(credit);
        self.refund_index.insert(refund_ers.clone(), payment_ers.clone());
        fx.event(Event::RefundCreated { payment: payment_ers, refund: refund_ers.clone(), amount });
        fx.deviations.extend(deviations);
        Response::result(op, ResultCode::SUCCESS).with_ers_reference(refund_ers.as_str())
    }
}
