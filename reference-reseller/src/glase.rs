//! A Glase SOAP client: one method per operation the reseller uses, built on
//! `glase-protocol`. Every call carries a complete `clientContext` (clientId, a unique
//! clientReference, clientRequestTimeout 0, the terminal's credentials), as
//! certification requires.
//!
//! The terminal's credentials can be replaced while the client is in use: a till
//! registers its terminal at run time (registerTerminal, as a RESELLERUSER) and then
//! calls as that terminal. Two clients (the reseller's terminal and the till's) share
//! one clientReference counter, so references stay unique per clientId across both.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use glase_protocol::request::{
    AssignSeqrId, CancelInvoice, CommitReservation, ExecuteReport, GetPaymentStatus, MarkTransactionPeriod,
    RefundPayment, RegisterTerminal, SendInvoice, SubmitPaymentReceipt, UnregisterTerminal, UpdateInvoice,
};
use glase_protocol::{
    Amount, ClientContext, Invoice, InvoiceStatus, Parameters, PrincipalId, PrincipalType, ReceiptDocument, Reply,
    Report, Request, Response, ResponseDetail, ResultCode, decode_reply, encode_request,
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

    /// Whether the same call may succeed later: no answer, a SOAP fault, or a
    /// transient resultCode ([`ResultCode::is_transient`]).
    pub fn transient(&self) -> bool {
        self.code().is_none_or(ResultCode::is_transient)
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

/// A reseller user's login (RESELLERUSER principal): who may register terminals.
#[derive(Debug, Clone)]
pub struct ResellerLogin {
    /// The reseller's id (`initiatorPrincipalId.id`).
    pub reseller_id: String,
    /// The user within the reseller (`initiatorPrincipalId.userId`).
    pub user_id: String,
    pub password: String,
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
    /// Replaced when a till (re-)registers its terminal; a std lock, never held across
    /// an `.await` (each call copies what it needs).
    credentials: RwLock<Credentials>,
    /// Shared with the other clients of this reseller ([`GlaseClient::for_terminal`]).
    counter: Arc<AtomicU64>,
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
            credentials: RwLock::new(credentials),
            counter: Arc::new(AtomicU64::new(0)),
            started,
            quirks: ClientQuirks::default(),
        })
    }

    /// A client for another terminal of the same reseller (a till): the same endpoint,
    /// HTTP client, clientId and system name, drawing its clientReferences from this
    /// client's counter so that no two calls of the two carry the same reference.
    pub fn for_terminal(&self, terminal_id: &str, password: &str, quirks: ClientQuirks) -> Self {
        let mut credentials = self.credentials();
        credentials.terminal_id = terminal_id.to_owned();
        credentials.password = password.to_owned();
        Self {
            http: self.http.clone(),
            endpoint: self.endpoint.clone(),
            credentials: RwLock::new(credentials),
            counter: self.counter.clone(),
            started: self.started,
            quirks,
        }
    }

    /// The deviations this client makes (none unless a deliberate fault is on).
    pub fn quirks(&self) -> ClientQuirks {
        self.quirks
    }

    /// Calls from now on are made as this terminal.
    pub fn set_terminal(&self, terminal_id: &str, password: &str) {
        let mut credentials = self.credentials.write().unwrap_or_else(|p| p.into_inner());
        credentials.terminal_id = terminal_id.to_owned();
        credentials.password = password.to_owned();
    }

    /// The terminal calls are made as.
    pub fn terminal_id(&self) -> String {
        self.credentials().terminal_id
    }

    fn credentials(&self) -> Credentials {
        // Nothing panics while holding the lock; a poisoned one still holds whole values.
        self.credentials.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The same client with deliberate deviations (fault self-tests only).
    pub fn with_quirks(mut self, quirks: ClientQuirks) -> Self {
        self.quirks = quirks;
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A clientReference: unique per clientId, from the system name, this run's start
    /// and the shared counter, kept to the documented 32 characters (the tail is the
    /// part that varies).
    fn reference(&self, system: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut reference = format!("{system}-{:x}-{n}", self.started);
        if reference.len() > 32 {
            reference = reference.split_off(reference.len() - 32);
        }
        reference
    }

    fn context(&self) -> Option<ClientContext> {
        let credentials = self.credentials();
        let reference = self.reference(&credentials.system);
        let mut context = ClientContext::for_terminal(
            credentials.terminal_id,
            credentials.password,
            credentials.client_id,
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
        let terminal = self.terminal_id();
        let request = Request::MarkTransactionPeriod(MarkTransactionPeriod {
            context: self.context(),
            parameters: Some(Parameters::from_pairs([("TERMINALID", terminal.as_str())])),
        });
        let response = self.call(request).await?;
        Ok(match response.detail {
            ResponseDetail::MarkTransactionPeriod { transaction_period_id } => transaction_period_id,
            _ => None,
        })
    }

    /// registerTerminal as the reseller user `login` (RESELLERUSER principal; the
    /// client's own terminal credentials are not used); returns the terminalId.
    pub async fn register_terminal(
        &self,
        login: &ResellerLogin,
        external_terminal_id: &str,
        password: &str,
        name: &str,
    ) -> Result<String, GlaseError> {
        let mut context = self.context().unwrap_or_default();
        context.initiator_principal_id = Some(PrincipalId {
            id: Some(login.reseller_id.clone()),
            kind: Some(PrincipalType::ResellerUser.as_str().to_owned()),
            user_id: Some(login.user_id.clone()),
        });
        context.password = Some(login.password.clone());
        let request = Request::RegisterTerminal(RegisterTerminal {
            context: Some(context),
            external_terminal_id: Some(external_terminal_id.to_owned()),
            password: Some(password.to_owned()),
            name: Some(name.to_owned()),
        });
        match self.call(request).await?.detail {
            ResponseDetail::RegisterTerminal { terminal_id: Some(id) } if !id.trim().is_empty() => Ok(id),
            _ => Err(GlaseError::Fault("registerTerminal answer has no terminalId".to_owned())),
        }
    }

    /// assignSeqrId: binds the static QR sticker `seqr_id` to this terminal.
    pub async fn assign_seqr_id(&self, seqr_id: &str) -> Result<(), GlaseError> {
        let request =
            Request::AssignSeqrId(AssignSeqrId { context: self.context(), seqr_id: Some(seqr_id.to_owned()) });
        self.call(request).await.map(drop)
    }

    /// unregisterTerminal of this terminal.
    pub async fn unregister_terminal(&self) -> Result<(), GlaseError> {
        self.call(Request::UnregisterTerminal(UnregisterTerminal { context: self.context() })).await.map(drop)
    }

    /// executeReport for a transaction period of this terminal.
    pub async fn execute_report(
        &self,
        report_id: &str,
        language: &str,
        transaction_period_id: &str,
    ) -> Result<Report, GlaseError> {
        let terminal = self.terminal_id();
        let request = Request::ExecuteReport(ExecuteReport {
            context: self.context(),
            report_id: Some(report_id.to_owned()),
            language: Some(language.to_owned()),
            parameters: Some(Parameters::from_pairs([
                ("transactionPeriodId", transaction_period_id),
                ("TERMINALID", terminal.as_str()),
            ])),
        });
        match self.call(request).await?.detail {
            ResponseDetail::ExecuteReport { report: Some(report) } => Ok(report),
            _ => Err(GlaseError::Fault("executeReport answer has no report".to_owned())),
        }
    }
}
