//! The Glase SOAP client: the five calls a vending backend makes, encoded and decoded
//! with `glase-protocol`, over one keep-alive HTTP/1.1 connection pool.
//!
//! # Implementation rationale
//! hyper-util's pooled client rather than reqwest: the calls go to one plain-http
//! address, so reqwest's extra layers (redirects, proxies, its own timeout machinery)
//! would only add work per request, and this backend exists to add as little as
//! possible. The whole exchange runs under one `tokio::time::timeout` instead.
//! Every call carries a complete client context (clientId, a unique clientReference of
//! at most 32 characters, clientRequestTimeout 0, the terminal's credentials).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request as HttpRequest, Uri, header};
use glase_protocol::request::{CancelInvoice, CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice};
use glase_protocol::{
    Amount, ClientContext, Invoice, InvoiceStatus, Reply, Request, Response, ResponseDetail, ResultCode, decode_reply,
    encode_request,
};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlaseError {
    /// No usable answer (connection failure, timeout, not a SOAP envelope): Glase may
    /// or may not have acted.
    Lost(String),
    /// A SOAP fault: the request was refused as a message.
    Fault(String),
    /// A well-formed answer with a non-zero resultCode.
    Result(ResultCode),
}

impl GlaseError {
    /// Worth trying again (docs/integrate.md): no answer, a SOAP fault, 90, 93, 94.
    pub fn transient(&self) -> bool {
        match self {
            Self::Lost(_) | Self::Fault(_) => true,
            Self::Result(code) => code.is_transient(),
        }
    }
}

/// Makes a call that is safe to repeat (getPaymentStatus, updateInvoice), again after
/// a transient failure: three tries at most, 100 ms and 200 ms apart. Each try is a new
/// request (a new clientReference). Costs nothing when the first try succeeds.
pub async fn retried<T, F, Fut>(mut call: F) -> Result<T, GlaseError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, GlaseError>>,
{
    let mut pause = Duration::from_millis(100);
    for _ in 0..2 {
        match call().await {
            Err(error) if error.transient() => tokio::time::sleep(pause).await,
            result => return result,
        }
        pause *= 2;
    }
    call().await
}

impl fmt::Display for GlaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lost(why) => write!(f, "no answer from Glase ({why})"),
            Self::Fault(text) => write!(f, "SOAP fault: {text}"),
            Self::Result(code) => write!(f, "resultCode {code}"),
        }
    }
}

/// An invoice's status as getPaymentStatus reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub status: InvoiceStatus,
    pub version: i32,
    pub ers_reference: Option<String>,
}

/// Who calls: the terminal's credentials and the company (clientId).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub terminal: String,
    pub password: String,
    pub client_id: String,
}

/// A SOAP client for one terminal.
#[derive(Debug)]
pub struct Glase {
    http: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    credentials: Credentials,
    /// Seconds since the epoch at start-up (hex in clientReference: unique across runs).
    started: u64,
    counter: AtomicU64,
    timeout: Duration,
}

impl Glase {
    /// A client of the SOAP endpoint `url` (plain `http://`: a benchmark on loopback).
    pub fn new(url: &str, credentials: Credentials, timeout: Duration) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("--glase-url {url:?}: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!("--glase-url {url:?}: expected http://HOST:PORT/PATH"));
        }
        let mut connector = HttpConnector::new();
        // Small requests and answers: do not let Nagle hold them back.
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let http = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        Ok(Self { http, uri, credentials, started, counter: AtomicU64::new(0), timeout })
    }

    fn context(&self) -> Option<ClientContext> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        // "nb-" + 8 hex digits + "-" + at most 20 digits: never above the 32 allowed.
        let mut reference = format!("nb-{:x}-{n}", self.started);
        if reference.len() > 32 {
            reference = reference.split_off(reference.len() - 32);
        }
        let c = &self.credentials;
        Some(ClientContext::for_terminal(&c.terminal, &c.password, &c.client_id, reference))
    }

    async fn call(&self, request: Request) -> Result<Response, GlaseError> {
        let mut body = Vec::with_capacity(1536);
        encode_request(&request, &mut body);
        let http = HttpRequest::post(self.uri.clone())
            .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| GlaseError::Lost(e.to_string()))?;
        let exchange = async {
            let answer = self.http.request(http).await.map_err(|e| GlaseError::Lost(e.to_string()))?;
            let status = answer.status().as_u16();
            let bytes = answer.into_body().collect().await.map_err(|e| GlaseError::Lost(e.to_string()))?.to_bytes();
            Ok::<_, GlaseError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange).await.map_err(|_| {
            GlaseError::Lost(format!("no answer within {}", humantime::format_duration(self.timeout)))
        })??;
        match decode_reply(&bytes) {
            Ok(Reply::Response(response)) if response.result_code.is_success() => Ok(response),
            Ok(Reply::Response(response)) => Err(GlaseError::Result(response.result_code)),
            Ok(Reply::Fault(fault)) => Err(GlaseError::Fault(fault.string)),
            Err(error) => Err(GlaseError::Lost(format!("HTTP {status}, not a SOAP answer: {error}"))),
        }
    }

    /// sendInvoice; the invoiceReference.
    pub async fn send_invoice(&self, invoice: Invoice) -> Result<String, GlaseError> {
        let request = SendInvoice { context: self.context(), invoice: Some(invoice), tokens: vec![] };
        match self.call(Request::SendInvoice(request)).await?.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } if !reference.is_empty() => {
                Ok(reference)
            }
            _ => Err(GlaseError::Fault("sendInvoice answer has no invoiceReference".to_owned())),
        }
    }

    pub async fn payment_status(&self, reference: &str, version: i32) -> Result<Status, GlaseError> {
        let request = GetPaymentStatus {
            context: self.context(),
            invoice_reference: Some(reference.to_owned()),
            invoice_version: Some(version),
        };
        let response = self.call(Request::GetPaymentStatus(request)).await?;
        match response.detail {
            ResponseDetail::PaymentStatus { status: Some(status), version, .. } => {
                Ok(Status { status, version, ers_reference: response.ers_reference })
            }
            _ => Err(GlaseError::Fault("getPaymentStatus answer has no status".to_owned())),
        }
    }

    pub async fn update_invoice(&self, reference: &str, invoice: Invoice) -> Result<(), GlaseError> {
        let request = UpdateInvoice {
            context: self.context(),
            invoice_reference: Some(reference.to_owned()),
            invoice: Some(invoice),
            tokens: vec![],
        };
        self.call(Request::UpdateInvoice(request)).await.map(drop)
    }

    /// commitReservation for exactly `amount`; the payment's ersReference.
    pub async fn commit(&self, reference: &str, amount: Amount) -> Result<Option<String>, GlaseError> {
        let request = CommitReservation {
            context: self.context(),
            invoice_reference: Some(reference.to_owned()),
            amount: Some(amount),
        };
        self.call(Request::CommitReservation(request)).await.map(|r| r.ers_reference)
    }

    pub async fn cancel(&self, reference: &str) -> Result<(), GlaseError> {
        let request = CancelInvoice { context: self.context(), invoice_reference: Some(reference.to_owned()) };
        self.call(Request::CancelInvoice(request)).await.map(drop)
    }
}
