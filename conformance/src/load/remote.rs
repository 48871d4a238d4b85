//! A mock-glase in another process, through its control API (`docs/openapi/control.yaml`):
//! what `load --glase-url` drives, so that several load processes (shards) can share
//! one mock, and with it one backend.

use std::time::Duration;

use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::ups::PurchaseOutcome;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::facts::Fact;
use super::invariants::JournalStats;
use crate::runner::{MERCHANT, RunError};

/// The control API of one mock-glase.
#[derive(Debug, Clone)]
pub struct Remote {
    /// `http://host:port`, without a trailing slash.
    base: String,
    http: reqwest::Client,
    /// Its control token (`Authorization: Bearer`), when it has one.
    token: Option<String>,
    status_deadline: Duration,
}

/// A page of the journal: (seq, the fact it records) per entry, and the counters.
#[derive(Debug, Default)]
pub struct JournalPage {
    pub entries: Vec<(u64, Option<Fact>)>,
    pub stats: JournalStats,
}

/// The path the mock serves SOAP on (its first; see `/control/info`).
const SOAP_PATH: &str = "/extclientproxy/service/v2";

/// Why a control call has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No HTTP answer at all (refused, timed out, cut): short, to count failures by.
    #[error("{0}")]
    Unreachable(String),
    /// An HTTP answer that is not a success, with the mock's own error text.
    #[error("HTTP {status}: {why}")]
    Status { status: u16, why: String },
}

/// How often a mock that does not answer yet is asked again, within `--wait-for`.
const RETRY_EVERY: Duration = Duration::from_millis(250);

impl Remote {
    /// Connects: the mock must answer `/control/info` and know the load's merchant. A
    /// mock that does not answer yet (a pod still starting) is asked again for up to
    /// `wait`.
    pub async fn connect(
        url: &str,
        token: Option<String>,
        http: reqwest::Client,
        wait: Duration,
    ) -> Result<Self, RunError> {
        let base = url.trim_end_matches('/').trim_end_matches(SOAP_PATH).trim_end_matches('/').to_owned();
        let mut remote = Self { base, http, token, status_deadline: Duration::ZERO };
        let info_url = format!("{}/control/info", remote.base);
        let deadline = tokio::time::Instant::now() + wait;
        let info = loop {
            match remote.call(Method::GET, "/control/info", None).await {
                Ok(info) => break info,
                Err(CallError::Unreachable(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(RETRY_EVERY).await;
                }
                Err(CallError::Unreachable(reason)) => {
                    let reason = if wait.is_zero() { reason } else { format!("{reason} (for {})", fmt(wait)) };
                    return Err(RunError::Unreachable { what: "the mock (--glase-url)", url: info_url, reason });
                }
                Err(CallError::Status { status: 401 | 403, why }) => {
                    return Err(RunError::Config(format!(
                        "the mock at {} refused the control token ({why}): give its token with --glase-token or \
                         GLASE_CONFORMANCE_GLASE_TOKEN",
                        remote.base
                    )));
                }
                Err(error) => {
                    return Err(RunError::Config(format!(
                        "{info_url} answered {error}: is --glase-url a mock-glase's base URL (http://HOST:7070)?"
                    )));
                }
            }
        };
        let merchants = info.get("merchants").map(Value::to_string).unwrap_or_default();
        let resellers = info.get("resellers").map(Value::to_string).unwrap_or_default();
        if !merchants.contains(&format!("\"{MERCHANT}\"")) && !resellers.contains(&format!("\"{MERCHANT}\"")) {
            return Err(RunError::Config(format!(
                "the mock at {} has no merchant {MERCHANT:?}: start it with its demo configuration \
                 (`mock-glase serve`)",
                remote.base
            )));
        }
        let deadline = info.pointer("/deadlines/statusDeadline").and_then(Value::as_str).unwrap_or("20s");
        remote.status_deadline = humantime::parse_duration(deadline)
            .map_err(|e| RunError::Config(format!("the mock's statusDeadline {deadline:?}: {e}")))?;
        Ok(remote)
    }

    pub fn soap_url(&self) -> String {
        format!("{}{SOAP_PATH}", self.base)
    }

    /// The status deadline in force there (already scaled by its deadline scale).
    pub fn status_deadline(&self) -> Duration {
        self.status_deadline
    }

    /// One control call: its JSON answer, or why there is none.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, CallError> {
        let unreachable =
            |e: reqwest::Error| CallError::Unreachable(crate::drivers::Unreachable::from_reqwest(&e).short);
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let why = value.get("error").and_then(Value::as_str).map_or(text.trim(), |e| e);
            let why = if why.is_empty() { "no error text" } else { why };
            return Err(CallError::Status { status: status.as_u16(), why: why.to_owned() });
        }
        Ok(value)
    }

    /// [`Remote::call`] for the flows, whose failures are counted by their text.
    async fn act(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.call(method, path, body).await.map_err(|e| e.to_string())
    }

    pub async fn set_customer(&self, msisdn: &str, pin: &str, balance: Decimal) -> Result<(), String> {
        let body = json!({ "pin": pin, "balance": balance.to_string() });
        self.act(Method::PUT, &format!("/control/customers/{msisdn}"), Some(body)).await.map(drop)
    }

    pub async fn set_create_purchase_url(&self, url: &str) -> Result<(), String> {
        let body = json!({ "createPurchaseUrl": url });
        self.act(Method::PUT, &format!("/control/merchants/{MERCHANT}"), Some(body)).await.map(drop)
    }

    /// The customer scans the machine `token`'s QR code: the mock's UPS calls createPurchase.
    pub async fn scan(&self, token: &str, msisdn: &str, amount: Decimal) -> Result<PurchaseOutcome, String> {
        let token: String = percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC).collect();
        let qr = format!("HTTP://SEQR.SE/000/ups?w={MERCHANT}&t={token}");
        let body = json!({ "qr": qr, "msisdn": msisdn, "amount": amount.to_string() });
        let answer = self.act(Method::POST, "/control/customer/scan", Some(body)).await?;
        let purchase = answer.get("purchase").ok_or("the mock's answer has no purchase")?;
        let text = |name: &str| purchase.get(name).and_then(Value::as_str).map(str::to_owned);
        match text("outcome").as_deref() {
            Some("accepted") => Ok(PurchaseOutcome::Accepted {
                invoice_reference: text("invoiceReference").ok_or("an accepted purchase without a reference")?,
            }),
            Some("declined") => Ok(PurchaseOutcome::Declined { error_code: text("errorCode").unwrap_or_default() }),
            Some("violation") => Ok(PurchaseOutcome::Violation { violation: text("violation").unwrap_or_default() }),
            other => Err(format!("the mock answered an unknown outcome {other:?}")),
        }
    }

    pub async fn confirm(&self, reference: &str, msisdn: &str, pin: Option<&str>) -> Result<Confirmation, String> {
        let body = json!({ "invoiceReference": reference, "msisdn": msisdn, "pin": pin });
        let answer = self.act(Method::POST, "/control/customer/confirm", Some(body)).await?;
        match answer.get("result").and_then(Value::as_str) {
            Some("paid") => Ok(Confirmation::Paid),
            Some("reserved") => Ok(Confirmation::Reserved),
            Some("wrongPin") => Ok(Confirmation::WrongPin),
            Some("insufficientFunds") => Ok(Confirmation::InsufficientFunds),
            other => Err(format!("the mock answered an unknown confirmation {other:?}")),
        }
    }

    pub async fn cancel(&self, reference: &str, msisdn: &str) -> Result<(), String> {
        let body = json!({ "invoiceReference": reference, "msisdn": msisdn });
        self.act(Method::POST, "/control/customer/cancel", Some(body)).await.map(drop)
    }

    pub async fn walk_away(&self, reference: &str) -> Result<(), String> {
        let body = json!({ "invoiceReference": reference });
        self.act(Method::POST, "/control/customer/walk-away", Some(body)).await.map(drop)
    }

    /// Whether the reseller fetched the invoice's status (or no fetch is due); an invoice
    /// the mock no longer keeps counts as fetched, as in-process.
    pub async fn acknowledged(&self, reference: &str) -> Result<bool, String> {
        match self.call(Method::GET, &format!("/control/invoices/{reference}"), None).await {
            Ok(view) => Ok(!view["acknowledgedAt"].is_null() || view["statusDeadline"].is_null()),
            Err(CallError::Status { status: 404, .. }) => Ok(true),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Up to `limit` entries after `after`, reduced to facts, with the journal's counters.
    /// `wait` long-polls: when nothing is there yet, the mock answers once something is,
    /// or after that long.
    pub async fn journal(&self, after: u64, limit: usize, wait: Option<&str>) -> Result<JournalPage, String> {
        let wait = wait.map_or(String::new(), |wait| format!("&wait={wait}"));
        let path = format!("/control/journal?after={after}&limit={limit}{wait}");
        let answer = self.act(Method::GET, &path, None).await?;
        let number = |name: &str| answer.get(name).and_then(Value::as_u64).unwrap_or(0);
        let stats = JournalStats {
            kept: usize::try_from(number("kept")).unwrap_or(usize::MAX),
            dropped: number("dropped"),
            last_seq: number("lastSeq"),
        };
        let listed = answer.get("entries").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let entries = listed.iter().filter_map(Fact::of_json).collect();
        Ok(JournalPage { entries, stats })
    }
}

fn fmt(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn http() -> reqwest::Client {
        crate::runner::http_client().expect("an HTTP client")
    }

    async fn serve(config: mock_glase::Config, addr: &str) -> mock_glase::server::RunningServer {
        let mock = mock_glase::Mock::new(&config, Arc::new(mock_glase::SystemClock)).expect("the mock starts");
        mock_glase::server::spawn(addr.parse().expect("an address"), mock).await.expect("the mock serves")
    }

    /// A shard started with its mock (two pods of one `kubectl apply`) waits for it
    /// within --wait-for instead of failing at once; without a wait it fails at once.
    #[tokio::test]
    async fn connect_waits_for_a_mock_that_is_still_starting() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let error = Remote::connect(&url, None, http(), Duration::ZERO).await.unwrap_err();
        assert!(matches!(error, RunError::Unreachable { .. }), "{error}");
        let later = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            serve(mock_glase::Config::default(), &format!("127.0.0.1:{port}")).await
        });
        let remote = Remote::connect(&format!("{url}{SOAP_PATH}"), None, http(), Duration::from_secs(10)).await;
        let server = later.await.unwrap();
        let remote = remote.expect("connected once the mock answered");
        assert_eq!(remote.soap_url(), format!("{url}{SOAP_PATH}"), "the SOAP URL given is taken as its base");
        assert_eq!(remote.status_deadline(), Duration::from_secs(20));
        server.shutdown().await;
    }

    /// A refused token and a server that is not a mock are configuration errors that
    /// say what to fix, not "unreachable".
    #[tokio::test]
    async fn a_wrong_token_or_a_server_that_is_no_mock_says_what_to_fix() {
        let config = mock_glase::Config { control_token: Some("secret".to_owned()), ..mock_glase::Config::default() };
        let server = serve(config, "127.0.0.1:0").await;
        let url = server.base_url();
        let error = Remote::connect(&url, None, http(), Duration::ZERO).await.unwrap_err().to_string();
        assert!(error.contains("--glase-token"), "{error}");
        let remote = Remote::connect(&url, Some("secret".to_owned()), http(), Duration::ZERO).await;
        assert!(remote.is_ok(), "the right token is taken");
        let error = Remote::connect(&format!("{url}/elsewhere"), Some("secret".to_owned()), http(), Duration::ZERO)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("HTTP 404") && error.contains("base URL"), "{error}");
        server.shutdown().await;
    }
}
