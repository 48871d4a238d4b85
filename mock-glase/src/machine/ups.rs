//! The Unattended Payments Service (seed 000): a customer scans a machine's QR, the UPS
//! calls the merchant's `createPurchase`, and validates the answer.
//!
//! The machine holds no sockets: [`Machine::begin_purchase`] says what to send and
//! remembers the call; [`Machine::finish_purchase`] takes what came back (or that
//! nothing did) and decides. While a call is open, every sendInvoice from the merchant's
//! terminals is noted on it, because the answer may only name an invoice created during
//! the call.

use glase_protocol::InvoiceStatus;
use glase_protocol::purchase::PurchaseRequest;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::NotificationReason;
pub use super::purchases::{PendingPurchase, Purchases};
use super::{CustomerError, Effects, Event, Machine, SmolStr};
use crate::clock::Timestamp;

/// The five documented createPurchase error codes.
pub const ERROR_CODES: &[&str] =
    &["INSUFFICIENT_FUNDS", "DEVICE_IN_USE", "DEVICE_UNAVAILABLE", "INVOICING_ERROR", "SYSTEM_ERROR"];

/// Options of one unattended scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScanOptions {
    /// The reservation amount the app offers (default: `ups.default_amount`).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount: Option<Decimal>,
    /// Send a notification for the invoice as soon as the merchant's sendInvoice
    /// arrives, before the createPurchase answer: a correct merchant must not act on it.
    pub notify_early: bool,
}

/// A createPurchase call in flight.
/// What the transport must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseCall {
    pub id: u64,
    pub url: String,
    pub body: String,
    pub merchant_id: String,
    pub reseller: String,
}

/// What came back from createPurchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurchaseAnswer {
    Http {
        status: u16,
        content_type: Option<String>,
        body: String,
    },
    /// An answer body larger than `outbound.max_answer_bytes`: the UPS stopped reading it.
    TooLarge {
        status: u16,
        content_type: Option<String>,
        limit: usize,
    },
    /// No answer within the UPS timeout.
    Timeout,
    /// Connection refused, reset, TLS failure, …
    Failed(String),
}

/// How a createPurchase call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum PurchaseOutcome {
    /// A valid reservation invoice: the app now shows it to the customer.
    Accepted { invoice_reference: String },
    /// One of the five documented error codes.
    Declined { error_code: String },
    /// Anything else: the answer broke the protocol; the app shows an error.
    Violation { violation: String },
}

/// The result of an unattended scan, as the control API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseReport {
    pub id: u64,
    pub merchant_id: String,
    pub token: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    pub msisdn: String,
    pub invoices_issued_during_call: Vec<String>,
    #[serde(flatten)]
    pub outcome: PurchaseOutcome,
}

impl Machine {
    /// Starts an unattended purchase for a scanned `HTTP://SEQR.SE/000/ups?w=…&t=…`.
    pub fn begin_purchase(
        &mut self,
        merchant_id: &str,
        token: &str,
        msisdn: Option<&str>,
        options: &ScanOptions,
        now: Timestamp,
    ) -> Result<(PurchaseCall, Effects), CustomerError> {
        let mut fx = self.expire(now);
        let msisdn = self.customer_or_default(msisdn)?;
        let reseller = self
            .merchant_index
            .get(merchant_id)
            .and_then(|id| self.resellers.get(id))
            .ok_or_else(|| CustomerError::UnknownMerchant(merchant_id.to_owned()))?;
        let url = reseller
            .create_purchase_url
            .clone()
            .ok_or_else(|| CustomerError::NoCreatePurchaseUrl(merchant_id.to_owned()))?;
        let amount = options.amount.unwrap_or(self.ups_default_amount);
        if amount <= Decimal::ZERO {
            return Err(CustomerError::InvalidAmount(amount.to_string()));
        }
        let request = PurchaseRequest {
            token: token.to_owned(),
            amount,
            currency: reseller.currency.to_string(),
            msisdn: Some(msisdn.to_string()),
        };
        let body = request.write(reseller.dialect);
        self.purchases.next_id += 1;
        let id = self.purchases.next_id;
        let pending = PendingPurchase {
            id,
            reseller: reseller.id.to_string(),
            merchant_id: merchant_id.to_owned(),
            token: token.to_owned(),
            amount,
            currency: reseller.currency.to_string(),
            msisdn: msisdn.to_string(),
            started_at: now,
            invoices: Vec::new(),
            notify_early: options.notify_early,
        };
        let call =
            PurchaseCall { id, url, body, merchant_id: merchant_id.to_owned(), reseller: reseller.id.to_string() };
        fx.event(Event::PurchaseStarted {
            purchase: id,
            merchant_id: merchant_id.to_owned(),
            token: token.to_owned(),
            amount,
            msisdn: msisdn.to_string(),
        });
        self.purchases.pending.insert(id, pending);
        Ok((call, fx))
    }

    /// Called by sendInvoice: notes the invoice on the reseller's open calls.
    pub(crate) fn note_invoice_for_purchases(&mut self, reference: &SmolStr, fx: &mut Effects) {
        if self.purchases.pending.is_empty() {
            return;
        }
        let Some(reseller) = self.invoices.get(reference).map(|r| r.reseller.as_str()) else { return };
        let mut early = false;
        for pending in self.purchases.pending.values_mut().filter(|p| p.reseller == reseller) {
            pending.invoices.push(reference.to_string());
            early |= pending.notify_early;
        }
        if early {
            let url = self.invoices.get(reference).and_then(|r| r.invoice.notification_url.clone());
            fx.notify(reference, url.as_deref(), NotificationReason::Early);
        }
    }

    /// Ends an unattended purchase with what createPurchase answered.
    pub fn finish_purchase(
        &mut self,
        id: u64,
        answer: &PurchaseAnswer,
        now: Timestamp,
    ) -> Result<(PurchaseReport, Effects), CustomerError> {
        let mut fx = self.expire(now);
        let pending = self.purchases.pending.remove(&id).ok_or(CustomerError::UnknownPurchase(id))?;
        let outcome = match self.judge(&pending, answer) {
            Ok(PurchaseOutcome::Accepted { invoice_reference }) => {
                // The app shows the reservation: the invoice is now in the customer's hands.
                match self.open_for(&invoice_reference, &SmolStr::new(&pending.msisdn), &mut fx) {
                    Ok(()) => {
                        self.purchases.accepted.insert(invoice_reference.clone(), id);
                        PurchaseOutcome::Accepted { invoice_reference }
                    }
                    Err(error) => PurchaseOutcome::Violation {
                        violation: format!("invoice {invoice_reference} cannot be shown to the customer: {error}"),
                    },
                }
            }
            Ok(outcome) => outcome,
            Err(violation) => PurchaseOutcome::Violation { violation },
        };
        fx.event(Event::PurchaseEnded {
            purchase: id,
            merchant_id: pending.merchant_id.clone(),
            outcome: outcome.clone(),
        });
        let report = PurchaseReport {
            id,
            merchant_id: pending.merchant_id,
            token: pending.token,
            amount: pending.amount,
            currency: pending.currency,
            msisdn: pending.msisdn,
            invoices_issued_during_call: pending.invoices,
            outcome,
        };
        Ok((report, fx))
    }

    /// Checks an answer against seed 000; `Err` is the violation.
    fn judge(&self, pending: &PendingPurchase, answer: &PurchaseAnswer) -> Result<PurchaseOutcome, String> {
        match read_answer(answer).map_err(|violation| violation.to_string())? {
            AnswerSays::ErrorCode(error_code) => Ok(PurchaseOutcome::Declined { error_code }),
            AnswerSays::Invoice(reference) => {
                self.check_purchase_invoice(pending, &reference)?;
                Ok(PurchaseOutcome::Accepted { invoice_reference: reference })
            }
        }
    }

    fn check_purchase_invoice(&self, pending: &PendingPurchase, reference: &str) -> Result<(), String> {
        let record = self.invoices.get(reference).filter(|r| r.reseller == pending.reseller).ok_or_else(|| {
            format!("invoiceReferenceId {reference} is not an invoice of merchant {}", pending.merchant_id)
        })?;
        if !pending.invoices.iter().any(|i| i == reference) {
            return Err(format!("invoice {reference} was not created by sendInvoice during this createPurchase call"));
        }
        // Two calls of one merchant open at once both see each other's invoices.
        if let Some(other) = self.purchases.accepted.get(reference) {
            return Err(format!("invoice {reference} was already accepted for createPurchase call #{other}"));
        }
        if !record.payment_mode.reserves() {
            return Err(format!(
                "invoice {reference} has paymentMode {}; the unattended flow reserves",
                record.payment_mode
            ));
        }
        if record.currency != pending.currency {
            return Err(format!("invoice {reference} is in {}, the purchase in {}", record.currency, pending.currency));
        }
        if record.total > pending.amount {
            return Err(format!(
                "invoice {reference} totals {}, more than the offered {}",
                record.total, pending.amount
            ));
        }
        if record.status != InvoiceStatus::Issued {
            return Err(format!("invoice {reference} is {}, not ISSUED", record.status));
        }
        Ok(())
    }

    /// The calls in flight.
    pub fn pending_purchases(&self) -> impl Iterator<Item = &PendingPurchase> {
        self.purchases.pending()
    }
}

/// What a createPurchase answer says, once it is a well-formed answer of seed 000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerSays {
    /// `{"invoiceReferenceId": "…"}` (the invoice is still to be checked).
    Invoice(String),
    /// `{"errorCode": "…"}`, one of [`ERROR_CODES`].
    ErrorCode(String),
}

/// How a createPurchase answer breaks seed 000 (or never came): the violation the UPS
/// reports, worded for the integrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerViolation {
    #[error(
        "createPurchase answer is larger than {limit} bytes (outbound.max_answer_bytes); the UPS stopped reading it"
    )]
    TooLarge { limit: usize },
    #[error("no createPurchase answer within the UPS timeout")]
    Timeout,
    #[error("createPurchase could not be called: {0}")]
    CallFailed(String),
    #[error(
        "createPurchase answered HTTP {0}, a redirect, which the UPS does not follow (outbound.redirects); it must always answer 200"
    )]
    Redirect(u16),
    #[error("createPurchase answered HTTP {0}; it must always answer 200 (errors go in errorCode)")]
    NotOk(u16),
    #[error("createPurchase answered Content-Type {0:?}; it must be application/json;charset=UTF-8")]
    NotJsonContentType(String),
    #[error("createPurchase answer is not valid JSON: {0}")]
    NotJson(String),
    #[error("createPurchase answer is not a JSON object")]
    NotAnObject,
    #[error("createPurchase answer has both invoiceReferenceId and errorCode")]
    Both,
    #[error("createPurchase answer has neither invoiceReferenceId nor errorCode")]
    Neither,
    #[error("errorCode {0} is not one of {codes}", codes = ERROR_CODES.join(", "))]
    UnknownErrorCode(String),
    #[error("invoiceReferenceId {0} must be a string")]
    ReferenceNotAString(String),
}

/// Reads a createPurchase answer: HTTP 200, `application/json`, a JSON object with
/// exactly one of a string `invoiceReferenceId` or a known `errorCode`; `Err` is the
/// violation. Pure: the fuzz target `create_purchase_answer` drives it.
pub fn read_answer(answer: &PurchaseAnswer) -> Result<AnswerSays, AnswerViolation> {
    let (status, content_type, body) = match answer {
        PurchaseAnswer::Http { status, content_type, body } => (*status, content_type.as_deref(), body),
        PurchaseAnswer::TooLarge { limit, .. } => return Err(AnswerViolation::TooLarge { limit: *limit }),
        PurchaseAnswer::Timeout => return Err(AnswerViolation::Timeout),
        PurchaseAnswer::Failed(error) => return Err(AnswerViolation::CallFailed(error.clone())),
    };
    if (300..400).contains(&status) {
        return Err(AnswerViolation::Redirect(status));
    }
    if status != 200 {
        return Err(AnswerViolation::NotOk(status));
    }
    let media = content_type.and_then(|c| c.split(';').next()).map(|c| c.trim().to_ascii_lowercase());
    if media.as_deref() != Some("application/json") {
        return Err(AnswerViolation::NotJsonContentType(content_type.unwrap_or("(none)").to_owned()));
    }
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| AnswerViolation::NotJson(e.to_string()))?;
    let object = value.as_object().ok_or(AnswerViolation::NotAnObject)?;
    match (object.get("invoiceReferenceId"), object.get("errorCode")) {
        (Some(_), Some(_)) => Err(AnswerViolation::Both),
        (None, None) => Err(AnswerViolation::Neither),
        (None, Some(code)) => match code.as_str() {
            Some(code) if ERROR_CODES.contains(&code) => Ok(AnswerSays::ErrorCode(code.to_owned())),
            _ => Err(AnswerViolation::UnknownErrorCode(code.to_string())),
        },
        (Some(reference), None) => {
            let reference =
                reference.as_str().ok_or_else(|| AnswerViolation::ReferenceNotAString(reference.to_string()))?;
            Ok(AnswerSays::Invoice(reference.to_owned()))
        }
    }
}
