//! The harness: a mock on 127.0.0.1:0, its control API over reqwest, and raw TCP
//! endpoints that misbehave in ways an axum handler cannot (answers that never end).

#![allow(dead_code)] // shared by every module; not each uses all of it

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mock_glase::config::{Config, demo};
use mock_glase::journal::Filter;
use mock_glase::server::{RunningServer, spawn};
use mock_glase::{Mock, OffsetClock};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const MERCHANT: &str = demo::MERCHANT_ID;
pub const MACHINE_QR: &str = "HTTP://SEQR.SE/000/ups?w=glase-demo&t=machine-1";
/// The longest any test waits for something asynchronous to happen.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Harness {
    pub server: RunningServer,
    pub mock: Mock,
    pub http: reqwest::Client,
}

/// A mock with the demo setup, changed by `configure`.
pub async fn start(configure: impl FnOnce(&mut Config)) -> Harness {
    let mut config = Config::default();
    configure(&mut config);
    let mock = Mock::new(&config, Arc::new(OffsetClock::new())).expect("valid test configuration");
    let server = spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.expect("bind loopback");
    // Also installs the rustls provider reqwest is built without.
    let http = mock_glase::outbound::http_client(WAIT).unwrap();
    Harness { server, mock, http }
}

impl Harness {
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        control_call(&self.http, &self.server.base_url(), method, path, body).await
    }

    /// The whole journal as JSON.
    pub fn journal(&self) -> Vec<Value> {
        self.mock.journal(&Filter::default()).iter().map(|e| serde_json::to_value(e).unwrap()).collect()
    }
}

/// Polls `probe` every few milliseconds until it answers, for at most [`WAIT`].
pub async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads one HTTP/1.1 request (head and a `Content-Length` body); `None` if the peer
/// closed first.
pub async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = socket.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// How an endless answer ended, from the server's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client closed the connection after this many body bytes had been written.
    ClosedAfter(u64),
    /// The server wrote [`ENDLESS_LIMIT`] bytes and the client was still reading.
    NeverClosed,
}

/// Where an endless answer gives up (the mock holding this much is the bug).
pub const ENDLESS_LIMIT: u64 = 64 * 1024 * 1024;

/// An endpoint that answers every request `200 application/json` with a chunked body of
/// spaces (valid JSON whitespace) that never ends, written as fast as the client takes it.
pub struct EndlessAnswer {
    pub base_url: String,
    ended: Arc<Mutex<Vec<Ended>>>,
}

impl EndlessAnswer {
    /// As fast as the client reads.
    pub async fn start() -> Self {
        Self::start_paced(None).await
    }

    /// With `pace`: one small chunk, then a pause, forever (an answer that trickles).
    pub async fn start_paced(pace: Option<Duration>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let ended = Arc::new(Mutex::new(Vec::new()));
        let log = ended.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    if read_request(&mut socket).await.is_none() {
                        return;
                    }
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json;charset=UTF-8\r\n\
                                transfer-encoding: chunked\r\n\r\n";
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let size = if pace.is_some() { 16 } else { 16 * 1024 };
                    let chunk = format!("{size:x}\r\n{}\r\n", " ".repeat(size));
                    let mut written = 0u64;
                    let ending = loop {
                        if written >= ENDLESS_LIMIT {
                            break Ended::NeverClosed;
                        }
                        if let Some(pace) = pace {
                            tokio::time::sleep(pace).await;
                        }
                        match socket.write_all(chunk.as_bytes()).await {
                            Ok(()) => written += size as u64,
                            Err(_) => break Ended::ClosedAfter(written),
                        }
                    };
                    log.lock().unwrap().push(ending);
                    // Keep a connection the client still reads open, as an endless answer would.
                    if ending == Ended::NeverClosed {
                        tokio::time::sleep(WAIT).await;
                    }
                });
            }
        });
        Self { base_url, ended }
    }

    /// Waits for the first answer to end.
    pub async fn ended(&self) -> Ended {
        wait_for("the endless answer to end", || self.ended.lock().unwrap().first().copied()).await
    }
}

/// A request as received: head and body.
pub type Received = (String, Vec<u8>);

/// An endpoint that answers every request with a fixed raw HTTP response and counts the
/// requests it got.
pub struct Fixed {
    pub base_url: String,
    hits: Arc<Mutex<Vec<Received>>>,
}

impl Fixed {
    pub async fn start(response: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, move |_| response.clone())
    }

    /// Answers each request with `respond(request head)`.
    pub fn serve(listener: TcpListener, respond: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let log = hits.clone();
        let respond = Arc::new(respond);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (log, respond) = (log.clone(), respond.clone());
                tokio::spawn(async move {
                    while let Some((head, body)) = read_request(&mut socket).await {
                        let answer = respond(&head);
                        log.lock().unwrap().push((head, body));
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { base_url, hits }
    }

    /// The requests received so far: head and body.
    pub fn hits(&self) -> Vec<Received> {
        self.hits.lock().unwrap().clone()
    }
}

/// A raw HTTP/1.1 response with a JSON body.
pub fn json_response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json;charset=UTF-8\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A raw redirect to `location`.
pub fn redirect(status: &str, location: &str) -> String {
    format!("HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n")
}

/// Calls the control API of the mock at `base_url`: its status and its JSON answer
/// (`null` when the answer is not JSON).
pub async fn control_call(
    http: &reqwest::Client,
    base_url: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, format!("{base_url}/control{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("control API answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
