//! Typed responses. Every response of the API extends `erswsResponse`
//! (`ersReference`, `resultCode`, `resultDescription`); [`Response`] holds those fields and
//! a [`ResponseDetail`] for the operation-specific extension elements.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::model::{CustomerToken, InvoiceStatus, Receipt, Report};
use crate::operation::Operation;
use crate::result_code::ResultCode;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub operation: Operation,
    pub ers_reference: Option<String>,
    pub result_code: ResultCode,
    /// Borrowed for the standard descriptions ([`ResultCode::description`]), so answering
    /// allocates nothing for them; owned when decoded from the wire or set by hand.
    pub result_description: Option<Cow<'static, str>>,
    pub detail: ResponseDetail,
}

/// The extension elements of an operation's `return`, in WSDL order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ResponseDetail {
    /// Plain `erswsResponse`.
    #[default]
    None,
    /// `erswsSendInvoiceResponse`.
    #[serde(rename_all = "camelCase")]
    SendInvoice { invoice_qr_code: Option<String>, invoice_reference: Option<String> },
    /// `erswsPaymentStatusResponse`.
    #[serde(rename_all = "camelCase")]
    PaymentStatus {
        status: Option<InvoiceStatus>,
        receipt: Option<Box<Receipt>>,
        /// `None` when the `customerTokens` wrapper is absent.
        customer_tokens: Option<Vec<CustomerToken>>,
        version: i32,
    },
    /// `erswsRegisterTerminalResponse`.
    #[serde(rename_all = "camelCase")]
    RegisterTerminal { terminal_id: Option<String> },
    /// `erswsMarkTransactionPeriodResponse`.
    #[serde(rename_all = "camelCase")]
    MarkTransactionPeriod { transaction_period_id: Option<String> },
    /// `erswsExecuteReportResponse`.
    ExecuteReport { report: Option<Report> },
}

impl Response {
    /// A response carrying only a result code, with the code's standard description.
    pub fn result(operation: Operation, code: ResultCode) -> Self {
        Self {
            operation,
            ers_reference: None,
            result_code: code,
            result_description: Some(Cow::Borrowed(code.description())),
            detail: ResponseDetail::None,
        }
    }

    /// A successful response with the given detail.
    pub fn success(operation: Operation, detail: ResponseDetail) -> Self {
        Self { detail, ..Self::result(operation, ResultCode::SUCCESS) }
    }

    pub fn with_ers_reference(mut self, ers_reference: impl Into<String>) -> Self {
        self.ers_reference = Some(ers_reference.into());
        self
    }
}
