//! The reseller's test drivers (spec section 8), as the load generator calls them: the
//! machine driver (`/driver/machines/…`) and the shop driver (`/driver/shop/…`). JSON in
//! and out; an answer is its status and body, and only a failure to talk at all is an
//! error.

use std::time::Duration;

use serde_json::Value;

/// Longest one driver call may take (a vend includes two Glase calls).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A driver's base URL and the pooled client to call it with.
#[derive(Debug, Clone)]
pub struct Driver {
    base: String,
    http: reqwest::Client,
    /// Sent as `Authorization: Bearer …` when the test build's drivers want one.
    token: Option<String>,
}

impl Driver {
    pub fn new(base: &str, http: reqwest::Client, token: Option<&str>) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), http, token: token.map(str::to_owned) }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get(&self, path: &str) -> Result<(u16, Value), String> {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body)).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), String> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.timeout(CALL_TIMEOUT).send().await.map_err(|e| short_error(&e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| short_error(&e))?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((status, body))
    }
}

/// The kind of transport failure, short enough to count failures by.
fn short_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        mock_glase::notify::error_chain(error)
    }
}
