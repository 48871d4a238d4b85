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

impl Remote {
    /// Connects: the mock must answer `/control/info` and know the load's merchant.
    pub async fn connect(url: &str, token: Option<String>, http: reqwest::Client) -> Result<Self, RunError> {
        let base = url.trim_end_matches('/').trim_end_matches(SOAP_PATH).trim_end_matches('/').to_owned();
        let mut remote = Self { base, http, token, status_deadline: Duration::ZERO };
        let unreachable = |reason: String| RunError::Unreachable {
            what: "the mock (--glase-url)",
            url: format!("{}/control/info", remote_base(url)),
            reason,
        };
        let info = remote.call(Method::GET, "/control/info", None).await.map_err(unreachable)?;
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

    /// One control call: its JSON answer, or why there is none (`HTTP 409: …` with the
    /// mock's own error text).
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| crate::drivers::Unreachable::from_reqwest(&e).short)?;
        let status = response.status();
        let text = response.text().await.map_err(|e| crate::drivers::Unreachable::from_reqwest(&e).short)?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let why = value.get("error").and_then(Value::as_str).map_or(text.trim(), |e| e);
            return Err(format!("HTTP {}: {why}", status.as_u16()));
        }
        Ok(value)
    }

    pub async fn set_customer(&self, msisdn: &str, pin: &str, balance: Decimal) -> Result<(), String> {
        let body = json!({ "pin": pin, "balance": balance.to_string() });
        self.call(Method::PUT, &format!("/control/customers/{msisdn}"), Some(body)).await.map(drop)
    }

    pub async fn set_create_purchase_url(&self, url: &str) -> Result<(), String> {
        let body = json!({ "createPurchaseUrl": url });
        self.call(Method::PUT, &format!("/control/merchants/{MERCHANT}"), Some(body)).await.map(drop)
    }

    /// The customer scans the machine `token`'s QR code: the mock's UPS calls createPurchase.
    pub async fn scan(&self, token: &str, msisdn: &str, amount: Decimal) -> Result<PurchaseOutcome, String> {
        let token: String = percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC).collect();
        let qr = format!("HTTP://SEQR.SE/000/ups?w={MERCHANT}&t={token}");
        let body = json!({ "qr": qr, "msisdn": msisdn, "amount": amount.to_string() });
        let answer = self.call(Method::POST, "/control/customer/scan", Some(body)).await?;
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
        let answer = self.call(Method::POST, "/control/customer/confirm", Some(body)).await?;
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
        self.call(Method::POST, "/control/customer/cancel", Some(body)).await.map(drop)
    }

    pub async fn walk_away(&self, reference: &str) -> Result<(), String> {
        let body = json!({ "invoiceReference": reference });
        self.call(Method::POST, "/control/customer/walk-away", Some(body)).await.map(drop)
    }

    /// Whether the reseller fetched the invoice's status (or no fetch is due); an invoice
    /// the mock no longer keeps counts as fetched, as in-process.
    pub async fn acknowledged(&self, reference: &str) -> Result<bool, String> {
        match self.call(Method::GET, &format!("/control/invoices/{reference}"), None).await {
            Ok(view) => Ok(!view["acknowledgedAt"].is_null() || view["statusDeadline"].is_null()),
            Err(error) if error.starts_with("HTTP 404") => Ok(true),
            Err(error) => Err(error),
        }
    }

    /// Up to `limit` entries after `after`, reduced to facts, with the journal's counters.
    /// `wait` long-polls: when nothing is there yet, the mock answers once something is,
    /// or after that long.
    pub async fn journal(&self, after: u64, limit: usize, wait: Option<&str>) -> Result<JournalPage, String> {
        let wait = wait.map_or(String::new(), |wait| format!("&wait={wait}"));
        let path = format!("/control/journal?after={after}&limit={limit}{wait}");
        let answer = self.call(Method::GET, &path, None).await?;
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

/// The base of a `--glase-url` for messages, before it is known to answer.
fn remote_base(url: &str) -> &str {
    url.trim_end_matches('/')
}
