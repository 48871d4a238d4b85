//! Typed requests: one struct per implemented operation, and [`Request`] over all of them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{Amount, ClientContext, CustomerToken, Invoice, Parameters, ReceiptDocument};
use crate::operation::Operation;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SendInvoice {
    pub context: Option<ClientContext>,
    pub invoice: Option<Invoice>,
    pub tokens: Vec<CustomerToken>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInvoice {
    pub context: Option<ClientContext>,
    pub invoice_reference: Option<String>,
    pub invoice: Option<Invoice>,
    pub tokens: Vec<CustomerToken>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetPaymentStatus {
    pub context: Option<ClientContext>,
    pub invoice_reference: Option<String>,
    /// Required `xs:int` in the WSDL; lax clients omit it (read as "unknown").
    pub invoice_version: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CancelInvoice {
    pub context: Option<ClientContext>,
    pub invoice_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CommitReservation {
    pub context: Option<ClientContext>,
    pub invoice_reference: Option<String>,
    /// v2.6: the final amount; absent means "the invoice's current total".
    pub amount: Option<Amount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SubmitPaymentReceipt {
    pub context: Option<ClientContext>,
    pub ers_reference: Option<String>,
    pub receipt_document: Option<ReceiptDocument>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RefundPayment {
    pub context: Option<ClientContext>,
    pub ers_reference: Option<String>,
    pub invoice: Option<Invoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RegisterTerminal {
    pub context: Option<ClientContext>,
    pub external_terminal_id: Option<String>,
    pub password: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UnregisterTerminal {
    pub context: Option<ClientContext>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AssignSeqrId {
    pub context: Option<ClientContext>,
    pub seqr_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MarkTransactionPeriod {
    pub context: Option<ClientContext>,
    pub parameters: Option<Parameters>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteReport {
    pub context: Option<ClientContext>,
    pub report_id: Option<String>,
    pub language: Option<String>,
    pub parameters: Option<Parameters>,
}

/// A decoded SOAP request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "camelCase")]
pub enum Request {
    SendInvoice(SendInvoice),
    UpdateInvoice(UpdateInvoice),
    GetPaymentStatus(GetPaymentStatus),
    CancelInvoice(CancelInvoice),
    CommitReservation(CommitReservation),
    SubmitPaymentReceipt(SubmitPaymentReceipt),
    RefundPayment(RefundPayment),
    RegisterTerminal(RegisterTerminal),
    UnregisterTerminal(UnregisterTerminal),
    AssignSeqrId(AssignSeqrId),
    MarkTransactionPeriod(MarkTransactionPeriod),
    ExecuteReport(ExecuteReport),
    /// An operation of the WSDL the mock does not implement; only its context is read.
    Unsupported {
        op: Operation,
        context: Option<ClientContext>,
    },
}

impl Request {
    pub fn operation(&self) -> Operation {
        match self {
            Self::SendInvoice(_) => Operation::SendInvoice,
            Self::UpdateInvoice(_) => Operation::UpdateInvoice,
            Self::GetPaymentStatus(_) => Operation::GetPaymentStatus,
            Self::CancelInvoice(_) => Operation::CancelInvoice,
            Self::CommitReservation(_) => Operation::CommitReservation,
            Self::SubmitPaymentReceipt(_) => Operation::SubmitPaymentReceipt,
            Self::RefundPayment(_) => Operation::RefundPayment,
            Self::RegisterTerminal(_) => Operation::RegisterTerminal,
            Self::UnregisterTerminal(_) => Operation::UnregisterTerminal,
            Self::AssignSeqrId(_) => Operation::AssignSeqrId,
            Self::MarkTransactionPeriod(_) => Operation::MarkTransactionPeriod,
            Self::ExecuteReport(_) => Operation::ExecuteReport,
            Self::Unsupported { op, .. } => *op,
        }
    }

    pub fn context(&self) -> Option<&ClientContext> {
        match self {
            Self::SendInvoice(r) => r.context.as_ref(),
            Self::UpdateInvoice(r) => r.context.as_ref(),
            Self::GetPaymentStatus(r) => r.context.as_ref(),
            Self::CancelInvoice(r) => r.context.as_ref(),
            Self::CommitReservation(r) => r.context.as_ref(),
            Self::SubmitPaymentReceipt(r) => r.context.as_ref(),
            Self::RefundPayment(r) => r.context.as_ref(),
            Self::RegisterTerminal(r) => r.context.as_ref(),
            Self::UnregisterTerminal(r) => r.context.as_ref(),
            Self::AssignSeqrId(r) => r.context.as_ref(),
            Self::MarkTransactionPeriod(r) => r.context.as_ref(),
            Self::ExecuteReport(r) => r.context.as_ref(),
            Self::Unsupported { context, .. } => context.as_ref(),
        }
    }

    /// The ersReference the request is about, if any (for journal filtering).
    pub fn ers_reference(&self) -> Option<&str> {
        match self {
            Self::SubmitPaymentReceipt(r) => r.ers_reference.as_deref(),
            Self::RefundPayment(r) => r.ers_reference.as_deref(),
            _ => None,
        }
    }

    /// The invoice reference the request is about, if any (for journal filtering).
    pub fn invoice_reference(&self) -> Option<&str> {
        match self {
            Self::UpdateInvoice(r) => r.invoice_reference.as_deref(),
            Self::GetPaymentStatus(r) => r.invoice_reference.as_deref(),
            Self::CancelInvoice(r) => r.invoice_reference.as_deref(),
            Self::CommitReservation(r) => r.invoice_reference.as_deref(),
            _ => None,
        }
    }
}

/// The sum of the rows' `itemTotalAmount` values, or `None` if a row has no amount or
/// the sum overflows (28-digit amounts are valid on the wire, so a sum can exceed
/// `Decimal::MAX`; that is bad data, not a panic).
pub fn rows_total(rows: &[crate::model::InvoiceRow]) -> Option<Decimal> {
    rows.iter().try_fold(Decimal::ZERO, |sum, row| {
        row.item_total_amount.as_ref().and_then(|a| a.value).and_then(|v| sum.checked_add(v))
    })
}
