//! `POST /seqr/createPurchase`: the Unattended Payments Service tells us a customer
//! scanned a machine's QR code. We claim the machine, send a reservation invoice and
//! answer with its reference, or with one of the five documented error codes. The
//! answer is always HTTP 200 `application/json;charset=UTF-8` (spec 2.1).
//!
//! # Implementation rationale
//! The machine is claimed in the database *before* sendInvoice (a conditional update in
//! a transaction, see [`store::claim`]): two customers scanning the same machine at the
//! same moment then get exactly one invoice and one `DEVICE_IN_USE`, and a notification
//! arriving before sendInvoice has even answered finds its purchase. The purchase's lock
//! is held until the invoice reference is recorded, so that notification waits for it.
//! The body is read by `glase_protocol::purchase`, which keeps the amount exact.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use glase_protocol::purchase::PurchaseRequest;
use glase_protocol::{AcknowledgmentMode, Amount, Invoice, InvoiceRow, PaymentMode};
use rust_decimal::Decimal;
use tracing::Instrument;

use super::Vending;
use super::config::MachineConfig;
use super::model::{Purchase, PurchaseId, PurchaseState, money, now_ms};
use super::notify;
use super::store::{self, Claim, Ending};
use crate::faults::Fault;

/// The documented error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    InsufficientFunds,
    DeviceInUse,
    DeviceUnavailable,
    InvoicingError,
    SystemError,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Self::DeviceInUse => "DEVICE_IN_USE",
            Self::DeviceUnavailable => "DEVICE_UNAVAILABLE",
            Self::InvoicingError => "INVOICING_ERROR",
            Self::SystemError => "SYSTEM_ERROR",
        }
    }
}

/// What createPurchase answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Invoice(String),
    Error(ErrorCode),
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let body = match self {
            Self::Invoice(reference) => serde_json::json!({ "invoiceReferenceId": reference }),
            Self::Error(code) => serde_json::json!({ "errorCode": code.as_str() }),
        };
        // Always 200 with exactly this content type: the UPS judges both.
        ([(CONTENT_TYPE, "application/json;charset=UTF-8")], body.to_string()).into_response()
    }
}

pub(crate) async fn handle(State(vending): State<Vending>, body: Bytes) -> Answer {
    let worker = vending.clone();
    vending.run_detached(async move { worker.create_purchase(&body).await }).await.unwrap_or_else(|| {
        tracing::error!("createPurchase interrupted: the reseller is stopping");
        Answer::Error(ErrorCode::SystemError)
    })
}

impl Vending {
    async fn create_purchase(&self, body: &[u8]) -> Answer {
        let request = match PurchaseRequest::read(body) {
            Ok(request) => request,
            Err(problem) => {
                tracing::warn!(%problem, body = %String::from_utf8_lossy(&body[..body.len().min(512)]), "createPurchase: SYSTEM_ERROR");
                return Answer::Error(ErrorCode::SystemError);
            }
        };
        let id = PurchaseId::generate(now_ms());
        let span =
            tracing::info_span!("purchase", purchase = %id, machine = %request.token, invoice = tracing::field::Empty);
        let answer = self.start(id, &request).instrument(span.clone()).await;
        span.in_scope(|| match &answer {
            Answer::Invoice(reference) => tracing::info!(reference, "createPurchase answered with the invoice"),
            Answer::Error(code) => tracing::info!(error_code = code.as_str(), "createPurchase answered with an error"),
        });
        answer
    }

    /// Checks the request, claims the machine and sends the reservation invoice; each
    /// step that refuses answers with its error code.
    async fn start(&self, id: PurchaseId, request: &PurchaseRequest) -> Answer {
        tracing::info!(
            amount = %request.amount,
            currency = request.currency,
            msisdn = mask(request.msisdn.as_deref()),
            "createPurchase received"
        );
        let (machine, amount) = match self.accept_request(request) {
            Ok(accepted) => accepted,
            Err(answer) => return answer,
        };
        let purchase = new_purchase(id.clone(), machine, request, amount);
        // Nobody else knows this id yet, so the lock is free; holding it makes an early
        // notification wait until the invoice reference is recorded.
        let _guard = self.lock_purchase(&id).await;
        if let Err(answer) = self.claim_machine(&purchase) {
            return answer;
        }
        let reference = match self.send_reservation(machine, &purchase).await {
            Ok(reference) => reference,
            Err(answer) => return answer,
        };
        tracing::info!(amount = %amount, "reservation invoice sent; waiting for the customer");
        if self.fault(Fault::WrongInvoiceReference) {
            let wrong = wrong_reference(&reference);
            tracing::warn!(wrong, "FAULT wrong-invoice-reference: answering another reference");
            return Answer::Invoice(wrong);
        }
        Answer::Invoice(reference)
    }

    /// The machine the request names and the amount offered, rounded to cents; or the
    /// answer when the machine is unknown or out of service, the currency is not the
    /// machine's or the amount buys nothing.
    fn accept_request(&self, request: &PurchaseRequest) -> Result<(&MachineConfig, Decimal), Answer> {
        let Some(machine) = self.config().machine(&request.token) else {
            tracing::warn!("unknown machine token");
            return Err(Answer::Error(ErrorCode::DeviceUnavailable));
        };
        match store::machine(&self.context().db, &machine.token) {
            Ok(Some(record)) if record.out_of_service => return Err(Answer::Error(ErrorCode::DeviceUnavailable)),
            Ok(Some(_)) => {}
            Ok(None) => return Err(Answer::Error(ErrorCode::DeviceUnavailable)),
            Err(error) => {
                tracing::error!(error = %error, "cannot read the machine");
                return Err(Answer::Error(ErrorCode::SystemError));
            }
        }
        if request.currency != machine.currency {
            tracing::warn!(machine_currency = machine.currency, "currency mismatch");
            return Err(Answer::Error(ErrorCode::SystemError));
        }
        if request.amount < Decimal::ZERO {
            return Err(Answer::Error(ErrorCode::SystemError));
        }
        // Glase amounts have two decimals; rounding down keeps the total ≤ the amount.
        let amount = money(request.amount);
        if machine.cheapest().is_none_or(|cheapest| amount < cheapest) {
            tracing::info!(cheapest = ?machine.cheapest(), "amount below the cheapest product");
            return Err(Answer::Error(ErrorCode::InsufficientFunds));
        }
        Ok((machine, amount))
    }

    /// Records the purchase and claims its machine, unless another customer has it (see
    /// the module's rationale); the answer when that fails.
    fn claim_machine(&self, purchase: &Purchase) -> Result<(), Answer> {
        let ignore_in_use = self.fault(Fault::IgnoreDeviceInUse);
        match store::claim(&self.context().db, purchase, ignore_in_use) {
            Ok(Claim::Claimed) => {
                if ignore_in_use {
                    tracing::warn!("FAULT ignore-device-in-use: claimed the machine without checking it is idle");
                }
                Ok(())
            }
            Ok(Claim::InUse) => Err(Answer::Error(ErrorCode::DeviceInUse)),
            Ok(Claim::OutOfService | Claim::UnknownMachine) => Err(Answer::Error(ErrorCode::DeviceUnavailable)),
            Err(error) => {
                tracing::error!(error = %error, "cannot claim the machine");
                Err(Answer::Error(ErrorCode::SystemError))
            }
        }
    }

    /// Sends the reservation invoice and records its reference. When sendInvoice fails
    /// the machine is released; when the reference cannot be recorded the invoice is
    /// cancelled. Either way the answer says so.
    async fn send_reservation(&self, machine: &MachineConfig, purchase: &Purchase) -> Result<String, Answer> {
        let db = &self.context().db;
        let invoice = self.reservation_invoice(machine, purchase);
        let reference = match self.context().glase.send_invoice(invoice).await {
            Ok((reference, _qr)) => reference,
            Err(error) => {
                tracing::warn!(error = %error, "sendInvoice failed: INVOICING_ERROR, machine released");
                let note = format!("sendInvoice failed: {error}");
                let ending = Ending { state: PurchaseState::Failed, ers_reference: None, note: &note, release: true };
                if let Err(error) = store::finish(db, &purchase.id, &ending, now_ms()) {
                    tracing::error!(error = %error, "cannot release the machine");
                }
                return Err(Answer::Error(ErrorCode::InvoicingError));
            }
        };
        tracing::Span::current().record("invoice", reference.as_str());
        if let Err(error) = store::set_invoice(db, &purchase.id, &reference, now_ms()) {
            // We cannot remember the invoice, so nobody may use it.
            tracing::error!(error = %error, "cannot record the invoice; cancelling it");
            if let Err(error) = self.context().glase.cancel_invoice(&reference).await {
                tracing::error!(error = %error, "cancelInvoice failed too");
            }
            return Err(Answer::Error(ErrorCode::SystemError));
        }
        Ok(reference)
    }

    /// The reservation invoice: one row for the whole amount offered, to be replaced by
    /// the vended rows with updateInvoice.
    fn reservation_invoice(&self, machine: &MachineConfig, purchase: &Purchase) -> Invoice {
        let mode = if self.fault(Fault::ImmediateDebitForUnattended) {
            tracing::warn!("FAULT immediate-debit-for-unattended: paymentMode IMMEDIATE_DEBIT");
            PaymentMode::ImmediateDebit
        } else {
            PaymentMode::ReservationRequired
        };
        let amount = Amount::new(purchase.amount, purchase.currency.clone());
        let row = InvoiceRow {
            item_description: Some(format!("Reservation at {}", machine.display_name())),
            item_quantity: Some(Decimal::ONE),
            item_unit_price: Some(amount.clone()),
            item_total_amount: Some(amount.clone()),
            ..InvoiceRow::default()
        };
        Invoice {
            payment_mode: Some(mode),
            acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
            issue_date: Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()),
            title: Some(machine.display_name().to_owned()),
            client_invoice_id: Some(purchase.id.0.clone()),
            invoice_rows: Some(vec![row]),
            total_amount: Some(amount),
            cashier_id: Some(machine.token.clone()),
            notification_url: Some(notify::url(&self.context().public_url, &purchase.notify_token)),
            ..Invoice::default()
        }
    }
}

/// A purchase just accepted: the machine's, for `amount`, not yet claimed.
fn new_purchase(id: PurchaseId, machine: &MachineConfig, request: &PurchaseRequest, amount: Decimal) -> Purchase {
    Purchase::claimed(id, &machine.token, amount, &machine.currency, request.msisdn.clone(), now_ms())
}

/// The reference with its last digit changed (the `wrong-invoice-reference` fault).
fn wrong_reference(reference: &str) -> String {
    let mut wrong: Vec<char> = reference.chars().collect();
    if let Some(last) = wrong.last_mut() {
        *last = match last.to_digit(10) {
            Some(digit) => char::from_digit((digit + 1) % 10, 10).unwrap_or('0'),
            None => '0',
        };
    }
    wrong.into_iter().collect()
}

/// A phone number for the log: the last four digits only.
fn mask(msisdn: Option<&str>) -> String {
    let Some(msisdn) = msisdn else { return "-".to_owned() };
    let chars: Vec<char> = msisdn.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    if chars.len() > 4 { format!("…{tail}") } else { tail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrong_reference_differs_in_the_last_digit() {
        assert_eq!(wrong_reference("17954576909300001"), "17954576909300002");
        assert_eq!(wrong_reference("129"), "120");
    }

    #[test]
    fn answers_are_json_with_the_documented_content_type() {
        let response = Answer::Error(ErrorCode::DeviceInUse).into_response();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json;charset=UTF-8");
    }
}
