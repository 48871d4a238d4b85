//! A Glase SOAP client: one method per operation the reseller uses, built on
//! `glase-protocol`. Every call carries a complete `clientContext` (clientId, a unique
//! clientReference, clientRequestTimeout 0, the terminal's credentials), as
//! certification requires.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use glase_protocol::request::{
    CancelInvoice, CommitReservation, GetPaymentStatus, MarkTransactionPeriod, RefundPayment, SendInvoice,
    SubmitPaymentReceipt, UpdateInvoice,
};
use glase_protocol::{
    Amount, ClientContext, Invoice, InvoiceStatus, Parameters, ReceiptDocument, Reply, Request, Response,
    ResponseDetail, ResultCode, decode_reply, encode_request,
};
use rust_decimal::Decimal;

/// Why a call did not produce a Glase answer, or produced a non-zero result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GlaseError {
    /// Connection failure or timeout: Glase may or may not have acted.
    #[error("cannot reach Glase")]
    Transport(#[source] reqwest::Error),
    #[error("Glase answered HTTP {status} without a SOAP envelope")]
    Http { status: u16 },
    #[error("Glase's answer could not be decoded")]
    Codec(#[source] glase_protocol::CodecError),
    #[error("Glase answered with a SOAP fault: {0}")]
    Fault(String),
    /// A well-formed answer with a non-zero resultCode.
    #[error("Glase answered resultCode {0}")]
    Result(ResultCode),
}

impl GlaseError {
    /// The resultCode, for a business error.
    pub fn code(&self) -> Option<ResultCode> {
        match self {
            Self::Result(code) => Some(*code),
            _ => None,
        }
    }

    /// Whether Glase's answer was lost (no connection, a timeout, a dropped connection,
    /// something that is not a SOAP answer): the call may or may not have taken effect.
    pub fn answer_lost(&self) -> bool {
        matches!(self, Self::Transport(_) | Self::Http { .. } | Self::Codec(_))
    }
}

/// Credentials and identity of the calling terminal.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub terminal_id: String,
    pub password: String,
    /// `clientId`: the company name, per the certification prerequisites.
    pub client_id: String,
    /// Prefix of `clientReference` (system name and version).
    pub system: String,
}

/// The status of an invoice, as getPaymentStatus reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentStatus {
    pub status: InvoiceStatus,
    pub version: i32,
    pub ers_reference: Option<String>,
}

/// Deviations from the documented client context, used only by the deliberate faults.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientQuirks {
    /// The documented value is 0.
    pub client_request_timeout: i64,
    pub omit_client_reference: bool,
}

/// A SOAP client for one terminal.
#[derive(Debug)]
pub struct GlaseClient {
    http: reqwest::Client,
    endpoint: String,
    credentials: Credentials,
    counter: AtomicU64,
    /// Seconds since the epoch at start-up, in clientReference.
    started: u64,
    quirks: ClientQuirks,
}

impl GlaseClient {
    /// `endpoint` is the SOAP URL (e.g. `http://127.0.0.1:7070/extclientproxy/service/v2`).
    pub fn new(
        endpoint: impl Into<String>,
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        // reqwest is built without a default crypto provider; ring is ours.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build()?;
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        Ok(Self {
            http,
            endpoint: endpoint.into(),
            credentials,
            counter: AtomicU64::new(0),
            started,
            quirks: ClientQuirks::default(),
        })
    }

    /// The same client with deliberate deviations (fault self-tests only).
    pub fn with_quirks(mut self, quirks: ClientQuirks) -> Self {
        self.quirks = quirks;
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn context(&self) -> Option<ClientContext> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        // Unique per clientId: the system name, this run's start and a counter, kept to
        // the documented 32 characters (the tail is the part that varies).
        let mut reference = format!("{}-{:x}-{n}", self.credentials.system, self.started);
        if reference.len() > 32 {
            reference = reference.split_off(reference.len() - 32);
        }
        let mut context = ClientContext::for_terminal(
            self.credentials.terminal_id.clone(),
            self.credentials.password.clone(),
            self.credentials.client_id.clone(),
            reference,
        );
        // Only the deliberate faults change these.
        context.client_request_timeout = Some(self.quirks.client_request_timeout);
        if self.quirks.omit_client_reference {
            context.client_reference = None;
        }
        Some(context)
    }

    async fn call(&self, request: Request) -> Result<Response, GlaseError> {
        let mut body = Vec::with_capacity(1024);
        encode_request(&request, &mut body);
        let response = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(body)
            .send()
            .await
            .map_err(GlaseError::Transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(GlaseError::Transport)?;
        match decode_reply(&bytes) {
            Ok(Reply::Response(response)) if response.result_code.is_success() => Ok(response),
            Ok(Reply::Response(response)) => Err(GlaseError::Result(response.result_code)),
            Ok(Reply::Fault(fault)) => Err(GlaseError::Fault(fault.string)),
            Err(_) if status != 200 => Err(GlaseError::Http { status }),
            Err(error) => Err(GlaseError::Codec(error)),
        }
    }

    /// sendInvoice; returns the invoiceReference and the QR code.
    pub async fn send_invoice(&self, invoice: Invoice) -> Result<(String, String), GlaseError> {
        let response = self
            .call(Request::SendInvoice(SendInvoice { context: self.context(), invoice: Some(invoice), tokens: vec![] }))
            .await?;
        match response.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), invoice_qr_code } => {
                let qr = invoice_qr_code.unwrap_or_else(|| format!("HTTP://SEQR.SE/R{reference}"));
                Ok((reference, qr))
            }
            _ => Err(GlaseError::Fault("sendInvoice answer has no invoiceReference".to_owned())),
        }
    }

    pub async fn get_payment_status(&self, reference: &str, version: i32) -> Result<PaymentStatus, GlaseError> {
        let request = Request::GetPaymentStatus(GetPaymentStatus {
            context: self.context(),
            invoice_reference: Some(reference.to_owned()),
            invoice_version: Some(version),
        });
        let response = self.call(request).await?;
        match response.detail {
            ResponseDetail::PaymentStatus { status: Some(status), version, .. } => {
                Ok(PaymentStatus { status, version, ers_reference: response.ers_reference })
            }
            _ => Err(GlaseError::Fault("getPaymentStatus answer has no status".to_owned())),
        }
    }

    pub async fn update_invoice(&self, reference: &str, invoice: Invoice) -> Result<(), GlaseError> {
        let request = Request::UpdateInvoice(UpdateInvoice {
            context: self.context(),
            invoice_reference: Some(reference.to_owned()),
            invoice: Some(invoice),
            tokens: vec![],
        });
        self.call(request).await.map(drop)
    }

    /// commitReservation with the final amount; returns the payment's ersReference.
    pub async fn commit_reservation(
        &self,
        reference: &str,
        amount: Option<Amount>,
    ) -> Result<Option<String>, GlaseError> {
        let request = Request::CommitReservation(CommitReservation {
            context: self.context(),
            invoice_reference: Some(reference.to_owned()),
            amount,
        });
        self.call(request).await.map(|r| r.ers_reference)
    }

    pub async fn cancel_invoice(&self, reference: &str) -> Result<(), GlaseError> {
        let request = Request::CancelInvoice(CancelInvoice {
            context: self.context(),
            invoice_reference: Some(reference.to_owned()),
        });
        self.call(request).await.map(drop)
    }

    /// refundPayment; returns the refund's ersReference.
    pub async fn refund_payment(
        &self,
        ers_reference: &str,
        amount: Decimal,
        currency: &str,
        title: &str,
        cashier_id: &str,
    ) -> Result<Option<String>, GlaseError> {
        let request = Request::RefundPayment(RefundPayment {
            context: self.context(),
            ers_reference: Some(ers_reference.to_owned()),
            invoice: Some(Invoice {
                title: Some(title.to_owned()),
                cashier_id: Some(cashier_id.to_owned()),
                total_amount: Some(Amount::new(amount, currency)),
                ..Invoice::default()
            }),
        });
        self.call(request).await.map(|r| r.ers_reference)
    }

    pub async fn submit_payment_receipt(
        &self,
        ers_reference: &str,
        document: ReceiptDocument,
    ) -> Result<(), GlaseError> {
        let request = Request::SubmitPaymentReceipt(SubmitPaymentReceipt {
            context: self.context(),
            ers_reference: Some(ers_reference.to_owned()),
            receipt_document: Some(document),
        });
        self.call(request).await.map(drop)
    }

    /// markTransactionPeriod for this terminal; returns the transactionPeriodId.
    pub async fn mark_transaction_period(&self) -> Result<Option<String>, GlaseError> {
        let request = Request::MarkTransactionPeriod(MarkTransactionPeriod {
            context: self.context(),
            parameters: Some(Parameters::from_pairs([("TERMINALID", self.credentials.terminal_id.as_str())])),
        });
        let response = self.call(request).await?;
        Ok(match response.detail {
            ResponseDetail::MarkTransactionPeriod { transaction_period_id } => transaction_period_id,
            _ => None,
        })
    }
}
