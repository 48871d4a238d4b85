//! The system under test's test-build HTTP contracts (spec section 8): the machine
//! driver (`/driver/machines/…`) and the shop driver (`/driver/shop/…`), as documented
//! in the README. JSON in and out; every answer is kept whole for the step's report.

use std::time::Duration;

use serde_json::Value;

/// An HTTP answer from a driver.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.body)
    }
}

/// A driver could not be talked to at all (connection refused, timeout).
#[derive(Debug, Clone)]
pub(crate) struct Unreachable(pub String);

/// A driver's base URL and the client to call it with.
#[derive(Debug, Clone)]
pub(crate) struct Driver {
    base: String,
    http: reqwest::Client,
    /// Sent as `Authorization: Bearer …` when the test build's drivers want one.
    token: Option<String>,
}

/// Longest a single driver call may take (a vend includes two Glase calls).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl Driver {
    pub fn new(base: &str, http: reqwest::Client, token: Option<&str>) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), http, token: token.map(str::to_owned) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Result<Answer, Unreachable> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Result<Answer, Unreachable> {
        let mut request = self.http.post(self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, Unreachable> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.timeout(CALL_TIMEOUT).send().await.map_err(|e| Unreachable(error_chain(&e)))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| Unreachable(error_chain(&e)))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer { status, body })
    }
}

/// Encodes a path segment (machine tokens and order ids are URL-safe by contract, but a
/// scenario may name anything).
pub(crate) fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// An error with its causes, `a: b: c`.
pub(crate) use mock_glase::notify::error_chain;
