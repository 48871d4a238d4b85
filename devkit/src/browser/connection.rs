//! The DevTools WebSocket of one page: commands sent with ids, answers routed back to
//! their callers by id, and the events the driver keeps (the page's errors, its load
//! events), all read by one background task. Also the page's WebSocket address, from the
//! browser's `/json/list`.
//!
//! # Implementation rationale
//! A caller waits on a oneshot channel registered under its command's id; when the
//! connection ends (Chromium exited or crashed) the reader answers every waiting caller
//! with the reason, and later calls fail at once, so nothing waits for an answer that can
//! no longer come. Load events are a counter in a watch channel: `goto` notes the count
//! before navigating and waits for it to move.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::error::BrowserError;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A command's answer: its `result`, or the error's text.
type Reply = Result<Value, String>;

/// What the reader task and the callers share.
#[derive(Debug, Default)]
struct State {
    /// Callers waiting for an answer, by command id.
    pending: HashMap<u64, oneshot::Sender<Reply>>,
    /// The page's JavaScript exceptions and console/log errors, in order.
    errors: Vec<String>,
    /// Why the connection ended, once it has.
    closed: Option<String>,
}

/// The WebSocket of one page target.
#[derive(Debug)]
pub(super) struct Connection {
    sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    state: Arc<Mutex<State>>,
    loads: watch::Receiver<u64>,
    next_id: AtomicU64,
    reader: JoinHandle<()>,
}

impl Connection {
    /// Connects to a page's `webSocketDebuggerUrl` and starts the reader task.
    pub(super) async fn open(url: &str, timeout: Duration) -> Result<Self, BrowserError> {
        let connecting = tokio_tungstenite::connect_async(url);
        let (socket, _) = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| BrowserError::Timeout { what: format!("the DevTools WebSocket {url}"), waited: timeout })?
            .map_err(|e| BrowserError::Protocol(format!("could not connect to {url}: {e}")))?;
        let (sink, stream) = socket.split();
        let state = Arc::default();
        let (loads_sender, loads) = watch::channel(0);
        let reader = tokio::spawn(read(stream, Arc::clone(&state), loads_sender));
        Ok(Self { sink: tokio::sync::Mutex::new(sink), state, loads, next_id: AtomicU64::new(1), reader })
    }

    /// Sends one command and waits for its answer, all within `timeout`.
    pub(super) async fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value, BrowserError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        {
            let mut state = lock(&self.state);
            if let Some(reason) = &state.closed {
                return Err(BrowserError::Protocol(format!("{method}: {reason}")));
            }
            state.pending.insert(id, answer);
        }
        let exchange = async {
            let command = json!({ "id": id, "method": method, "params": params }).to_string();
            let sent = self.sink.lock().await.send(Message::text(command)).await;
            sent.map_err(|e| BrowserError::Protocol(format!("{method}: could not send the command: {e}")))?;
            match answered.await {
                Ok(Ok(result)) => Ok(result),
                Ok(Err(message)) => Err(BrowserError::Protocol(format!("{method}: {message}"))),
                Err(_) => Err(BrowserError::Protocol(format!("{method}: the DevTools connection was dropped"))),
            }
        };
        let outcome = tokio::time::timeout(timeout, exchange).await.unwrap_or_else(|_| {
            Err(BrowserError::Timeout { what: format!("Chromium's answer to {method}"), waited: timeout })
        });
        lock(&self.state).pending.remove(&id);
        outcome
    }

    /// The page's errors seen so far.
    pub(super) fn errors(&self) -> Vec<String> {
        lock(&self.state).errors.clone()
    }

    /// The count of load events, to wait for the next one; an error from `changed()`
    /// means the connection ended.
    pub(super) fn loads(&self) -> watch::Receiver<u64> {
        self.loads.clone()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The reader task: dispatches every message until the connection ends, then fails the
/// waiting callers with the reason (dropping `loads` ends the waits for a load event).
async fn read(mut stream: SplitStream<Socket>, state: Arc<Mutex<State>>, loads: watch::Sender<u64>) {
    let reason = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => dispatch(text.as_str(), &state, &loads),
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map(|f| format!(" ({})", f.reason)).unwrap_or_default();
                break format!("Chromium closed the DevTools connection{why}");
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => break format!("the DevTools connection failed: {e}"),
            None => break "the DevTools connection ended".to_owned(),
        }
    };
    let reason = format!("{reason}; did Chromium exit or crash?");
    let mut state = lock(&state);
    for (_, caller) in state.pending.drain() {
        let _ = caller.send(Err(reason.clone()));
    }
    state.closed = Some(reason);
}

/// One message from Chromium: an answer (it has an `id`) or an event.
fn dispatch(text: &str, state: &Mutex<State>, loads: &watch::Sender<u64>) {
    let Ok(mut message) = serde_json::from_str::<Value>(text) else { return };
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let reply = match message.get("error") {
            Some(error) => Err(describe_error(error)),
            None => Ok(message.get_mut("result").map(Value::take).unwrap_or_default()),
        };
        if let Some(caller) = lock(state).pending.remove(&id) {
            let _ = caller.send(reply);
        }
        return;
    }
    let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
    if method == "Page.loadEventFired" {
        loads.send_modify(|n| *n += 1);
    } else if let Some(error) = page_error(method, &message["params"]) {
        lock(state).errors.push(error);
    }
}

/// A protocol error `{code, message, data?}` as text.
fn describe_error(error: &Value) -> String {
    let message = error.get("message").and_then(Value::as_str).unwrap_or("an error without a message");
    let code = error.get("code").map(Value::to_string).unwrap_or_default();
    match error.get("data").and_then(Value::as_str) {
        Some(data) => format!("{message} ({data}; code {code})"),
        None => format!("{message} (code {code})"),
    }
}

/// The page error an event reports, if it reports one: an uncaught exception, a
/// `console.error`, or a browser log entry of level error (a failed resource load).
fn page_error(method: &str, params: &Value) -> Option<String> {
    match method {
        "Runtime.exceptionThrown" => {
            let details = &params["exceptionDetails"];
            let exception = details["exception"]["description"].as_str();
            let text = exception.or(details["text"].as_str()).unwrap_or("an exception");
            let place = match (details["url"].as_str(), details["lineNumber"].as_u64()) {
                (Some(url), Some(line)) if !url.is_empty() => format!(" (at {url}:{})", line + 1),
                _ => String::new(),
            };
            Some(format!("uncaught exception: {text}{place}"))
        }
        "Runtime.consoleAPICalled" if params["type"] == "error" => {
            let args = params["args"].as_array().map(Vec::as_slice).unwrap_or_default();
            let shown: Vec<String> = args.iter().map(remote_object_text).collect();
            Some(format!("console.error: {}", shown.join(" ")))
        }
        "Log.entryAdded" if params["entry"]["level"] == "error" => {
            let entry = &params["entry"];
            let text = entry["text"].as_str().unwrap_or_default();
            match entry["url"].as_str() {
                Some(url) if !url.is_empty() => Some(format!("log error: {text} ({url})")),
                _ => Some(format!("log error: {text}")),
            }
        }
        _ => None,
    }
}

/// A `Runtime.RemoteObject` as text: a string as is, another value as JSON, an object
/// by its description.
fn remote_object_text(object: &Value) -> String {
    match (object.get("value"), object["description"].as_str()) {
        (Some(Value::String(s)), _) => s.clone(),
        (Some(value), _) => value.to_string(),
        (None, Some(description)) => description.to_owned(),
        (None, None) => object["type"].as_str().unwrap_or("undefined").to_owned(),
    }
}

/// The `webSocketDebuggerUrl` of the first page target of the browser whose own address
/// is `browser_url` (`ws://127.0.0.1:PORT/devtools/browser/…`), from its `/json/list`;
/// asked again until `timeout`, since the page may not be listed the moment the browser is.
pub(super) async fn page_target(browser_url: &str, timeout: Duration) -> Result<String, BrowserError> {
    let port = port_of(browser_url)
        .ok_or_else(|| BrowserError::Protocol(format!("no port in Chromium's DevTools address {browser_url:?}")))?;
    let deadline = Instant::now() + timeout;
    loop {
        let listing = tokio::task::spawn_blocking(move || http_get(port, "/json/list")).await;
        let last = match listing {
            Ok(Ok(body)) => match first_page(&body) {
                Some(url) => return Ok(url),
                None => format!("no page target in {body}"),
            },
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            let what = format!("a page in http://127.0.0.1:{port}/json/list (last: {last})");
            return Err(BrowserError::Timeout { what, waited: timeout });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn port_of(url: &str) -> Option<u16> {
    let authority = url.strip_prefix("ws://")?.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

fn first_page(body: &str) -> Option<String> {
    let targets: Vec<Value> = serde_json::from_str(body).ok()?;
    let page = targets.iter().find(|t| t["type"] == "page" && t["webSocketDebuggerUrl"].is_string())?;
    page["webSocketDebuggerUrl"].as_str().map(str::to_owned)
}

/// A plain HTTP/1.1 GET to 127.0.0.1, every step with a timeout; the body of a 200
/// answer. (Chromium's DevTools server closes an HTTP/1.0 request without an answer.)
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let step = Some(Duration::from_secs(2));
    let mut stream = StdTcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(2))?;
    stream.set_read_timeout(step)?;
    stream.set_write_timeout(step)?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    let mut buffer = [0u8; 8192];
    // Until the body's Content-Length is in, or the server closes (or 16 MiB, a bound).
    while !complete(&response) && response.len() < 16 << 20 {
        match stream.read(&mut buffer)? {
            0 => break,
            n => response.extend_from_slice(&buffer[..n]),
        }
    }
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        let message = format!("GET http://127.0.0.1:{port}{path} answered {status:?}");
        return Err(std::io::Error::other(message));
    }
    Ok(body.to_owned())
}

/// Whether `response` holds its whole head and as much body as its Content-Length says.
fn complete(response: &[u8]) -> bool {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&response[..end]);
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    length.is_some_and(|length| response.len() >= end + 4 + length)
}
