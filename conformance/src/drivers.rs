//! The one client of the test-build HTTP contracts (spec section 8): the machine driver
//! (`/driver/machines/…`), the shop driver (`/driver/shop/…`) and the point-of-sale
//! driver (`/driver/pos/…`), as `docs/reference-reseller.md` and
//! `docs/openapi/drivers.yaml` define them. A webshop order and a till sale are driven
//! alike (create, read, cancel, refund, close the period): [`Counter`] says which. `run`, `load` and `explore` all call them
//! through [`DriverClient`], so a path, a header or a limit is written once.
//!
//! JSON in and out; an answer is kept whole ([`Answer`]) for reports. The driver is the
//! system under test: its answers are bounded ([`MAX_ANSWER`]) and a call that cannot be
//! made at all is [`Unreachable`], with a short text to count failures by and the full
//! cause for people.

use std::time::Duration;

use serde_json::Value;

/// Longest one driver call may take (a vend includes two Glase calls).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Most bytes of a driver's answer that are read: a driver that streams forever costs
/// the suite nothing beyond this (its answer is then reported as cut).
pub(crate) const MAX_ANSWER: usize = 1024 * 1024;

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

    /// A string field of the body.
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
pub(crate) struct Unreachable {
    /// `timed out`, `connection failed`, or the cause: short enough to count by.
    pub short: String,
    /// The whole chain of causes.
    pub detail: String,
    /// The request could not be sent or its answer began to arrive (a connection closed
    /// under it), as opposed to a timeout or a refused connection.
    unsent: bool,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl Unreachable {
    pub(crate) fn from_reqwest(error: &reqwest::Error) -> Self {
        let detail = mock_glase::errors::error_chain(error);
        let short = if error.is_timeout() {
            "timed out".to_owned()
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else {
            detail.clone()
        };
        let unsent = error.is_request() && !error.is_timeout() && !error.is_connect();
        Self { short, detail, unsent }
    }
}

/// Where a sale is made: the shop and the till drivers have the same order operations
/// under their own paths, and name the order `orderId` and `saleId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// The webshop: `/driver/shop/checkout`, `/driver/shop/orders/{orderId}`, …
    Shop,
    /// The till: `/driver/pos/sales`, `/driver/pos/sales/{saleId}`, …
    Till,
}

impl Counter {
    /// The field of a created order that names it.
    pub fn id_field(self) -> &'static str {
        match self {
            Self::Shop => "orderId",
            Self::Till => "saleId",
        }
    }

    /// What people call one order here.
    pub fn order_noun(self) -> &'static str {
        match self {
            Self::Shop => "order",
            Self::Till => "sale",
        }
    }

    fn create_path(self) -> &'static str {
        match self {
            Self::Shop => "/driver/shop/checkout",
            Self::Till => "/driver/pos/sales",
        }
    }

    fn order_path(self, id: &str) -> String {
        match self {
            Self::Shop => format!("/driver/shop/orders/{}", segment(id)),
            Self::Till => format!("/driver/pos/sales/{}", segment(id)),
        }
    }

    fn close_path(self) -> &'static str {
        match self {
            Self::Shop => "/driver/shop/close",
            Self::Till => "/driver/pos/close",
        }
    }
}

/// `GET /driver/machines`: the machine driver's fleet (and its preflight).
pub const MACHINES: &str = "/driver/machines";
/// `GET /driver/pos/till`: the till document (and the till driver's preflight).
pub const TILL: &str = "/driver/pos/till";
/// The shop driver's preflight: any HTTP answer (404 is expected) proves it is there.
pub const SHOP_PREFLIGHT: &str = "/driver/shop/orders/conformance-preflight";

/// A driver's base URL, the client to call it with, and its token.
#[derive(Debug, Clone)]
pub(crate) struct DriverClient {
    base: String,
    http: reqwest::Client,
    /// Sent as `Authorization: Bearer …` when the test build's drivers want one.
    token: Option<String>,
}

impl DriverClient {
    pub fn new(base: &str, http: reqwest::Client, token: Option<&str>) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), http, token: token.map(str::to_owned) }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    // ---- the machine driver ----

    /// `GET /driver/machines`: every machine.
    pub async fn machines(&self) -> Result<Answer, Unreachable> {
        self.get(MACHINES).await
    }

    /// `GET /driver/machines/{token}`: one machine, its `state`.
    pub async fn machine(&self, token: &str) -> Result<Answer, Unreachable> {
        self.get(&format!("{MACHINES}/{}", segment(token))).await
    }

    /// `POST /driver/machines/{token}/vend` with `body` (`{"items": […], "vendId"?}`).
    pub async fn vend(&self, token: &str, body: &Value) -> Result<Answer, Unreachable> {
        self.post(&format!("{MACHINES}/{}/vend", segment(token)), Some(body)).await
    }

    /// `POST /driver/machines/{token}/in-service` or `/out-of-service`.
    pub async fn set_in_service(&self, token: &str, in_service: bool) -> Result<Answer, Unreachable> {
        let action = if in_service { "in-service" } else { "out-of-service" };
        self.post(&format!("{MACHINES}/{}/{action}", segment(token)), None).await
    }

    // ---- the shop and till drivers: orders and sales ----

    /// `POST /driver/shop/checkout` or `POST /driver/pos/sales` with `body`
    /// (`{"items": […]}`).
    pub async fn checkout(&self, counter: Counter, body: &Value) -> Result<Answer, Unreachable> {
        self.post(counter.create_path(), Some(body)).await
    }

    /// `GET /driver/shop/orders/{id}` or `/driver/pos/sales/{id}`: the order, its `state`.
    pub async fn order(&self, counter: Counter, id: &str) -> Result<Answer, Unreachable> {
        self.get(&counter.order_path(id)).await
    }

    /// `POST …/{id}/refund` with `body` (`{"amount"?}`).
    pub async fn refund(&self, counter: Counter, id: &str, body: &Value) -> Result<Answer, Unreachable> {
        self.post(&format!("{}/refund", counter.order_path(id)), Some(body)).await
    }

    /// `POST …/{id}/cancel`: the staff's (or cashier's) cancel.
    pub async fn cancel(&self, counter: Counter, id: &str) -> Result<Answer, Unreachable> {
        self.post(&format!("{}/cancel", counter.order_path(id)), None).await
    }

    /// `POST /driver/shop/close` or `/driver/pos/close`: the end of the transaction period.
    pub async fn close(&self, counter: Counter) -> Result<Answer, Unreachable> {
        self.post(counter.close_path(), None).await
    }

    // ---- the till alone ----

    /// `GET /driver/pos/till`: its registration, sticker (`qrCode`) and `state`.
    pub async fn till(&self) -> Result<Answer, Unreachable> {
        self.get(TILL).await
    }

    /// `POST /driver/pos/register` or `/driver/pos/unregister`.
    pub async fn set_registered(&self, registered: bool) -> Result<Answer, Unreachable> {
        self.post(if registered { "/driver/pos/register" } else { "/driver/pos/unregister" }, None).await
    }

    /// `GET /driver/pos/till` within `timeout` (the till driver's preflight).
    pub async fn till_within(&self, timeout: Duration) -> Result<Answer, Unreachable> {
        self.send(self.http.get(self.url(TILL)).timeout(timeout)).await
    }

    /// The shop driver's preflight: `GET /driver/shop/orders/conformance-preflight`, where
    /// any HTTP answer (404 is expected) proves the driver is there.
    pub async fn shop_preflight(&self, timeout: Duration) -> Result<Answer, Unreachable> {
        self.send(self.http.get(self.url(SHOP_PREFLIGHT)).timeout(timeout)).await
    }

    /// `GET /driver/machines` within `timeout` (the machine driver's preflight).
    pub async fn machines_within(&self, timeout: Duration) -> Result<Answer, Unreachable> {
        self.send(self.http.get(self.url(MACHINES)).timeout(timeout)).await
    }

    // ---- the transport ----

    /// The driver's URL of `path` (one of this module's path constants, for messages).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A GET, asked once more when it could not be sent: a kept-alive connection the
    /// driver closed just as it was reused fails that way, and a GET changes nothing, so
    /// asking again is safe (a POST is never repeated).
    async fn get(&self, path: &str) -> Result<Answer, Unreachable> {
        let request = || self.http.get(self.url(path)).timeout(CALL_TIMEOUT);
        match self.send(request()).await {
            Err(unreachable) if unreachable.unsent => self.send(request()).await,
            answered => answered,
        }
    }

    async fn post(&self, path: &str, body: Option<&Value>) -> Result<Answer, Unreachable> {
        let mut request = self.http.post(self.url(path)).timeout(CALL_TIMEOUT);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, Unreachable> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let mut response = request.send().await.map_err(|e| Unreachable::from_reqwest(&e))?;
        let status = response.status().as_u16();
        let mut bytes: Vec<u8> = Vec::new();
        let mut cut = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| Unreachable::from_reqwest(&e))? {
            let room = MAX_ANSWER - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = match serde_json::from_slice(&bytes) {
            Ok(body) if !cut => body,
            _ => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let text = if cut { format!("{text}… (cut at {MAX_ANSWER} bytes)") } else { text };
                Value::String(text)
            }
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("machine-1"), "machine-1");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    /// Reads one request's head from `socket` (the drivers' GETs have no body).
    async fn read_head(socket: &mut tokio::net::TcpStream) -> bool {
        use tokio::io::AsyncReadExt;
        let mut head = Vec::new();
        let mut byte = [0_u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match socket.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return false,
            }
        }
        true
    }

    #[tokio::test]
    async fn a_get_on_a_kept_alive_connection_the_driver_closes_is_asked_again() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]";
            // The first connection answers once, keeps alive, then closes under the next
            // request without answering it: the race with a server's idle timeout.
            let (mut first, _) = listener.accept().await.expect("a connection");
            assert!(read_head(&mut first).await);
            first.write_all(answer).await.expect("written");
            let _ = read_head(&mut first).await;
            drop(first);
            // A new connection answers.
            let (mut second, _) = listener.accept().await.expect("a second connection");
            assert!(read_head(&mut second).await);
            second.write_all(answer).await.expect("written");
        });
        let http = crate::runner::http_client().expect("a client");
        let client = DriverClient::new(&format!("http://{addr}"), http, None);
        assert_eq!(client.machines().await.expect("the first answer").status, 200);
        let again = client.machines().await;
        assert!(again.as_ref().is_ok_and(|a| a.status == 200), "asked again on a new connection: {again:?}");
    }

    #[tokio::test]
    async fn an_endless_answer_is_read_only_up_to_the_limit() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut request = [0_u8; 1024];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n[").await;
            let chunk = vec![b'1'; 64 * 1024];
            // Far more than the limit: the client must stop reading on its own.
            for _ in 0..1024 {
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        });
        let http = crate::runner::http_client().expect("a client");
        let client = DriverClient::new(&format!("http://{addr}"), http, None);
        let answer = client.machines().await.expect("an answer");
        assert_eq!(answer.status, 200);
        let text = answer.body.as_str().expect("kept as text");
        assert!(text.len() <= MAX_ANSWER + 64 && text.ends_with("(cut at 1048576 bytes)"), "{}", text.len());
    }
}
