//! Finding 4: the server timed out no connection. 1000 slowloris connections were held for
//! 90 s; 20 000 half-open ones used up the file descriptors and the mock stopped
//! answering. Now headers (and idle keep-alive), bodies and stalled writes have
//! timeouts, and connections beyond `server.max_connections` wait in the listen backlog.

use std::time::{Duration, Instant};

use glase_listen::Limits;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Short limits, so the tests take well under a second each.
fn short(config: &mut mock_glase::Config) {
    config.server = Limits {
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_millis(500),
        max_connections: 16,
    };
}

/// Waits until the server closes `stream` (EOF or reset); how long that took, or `None`
/// if it was still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    read.ok().map(|()| started.elapsed())
}

async fn connect(h: &Harness) -> TcpStream {
    TcpStream::connect(h.server.addr).await.unwrap()
}

/// Sends the start of a request and then one more header line every 100 ms, forever.
fn slowloris(mut stream: TcpStream) -> tokio::task::JoinHandle<TcpStream> {
    tokio::spawn(async move {
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: mock\r\n").await;
        for i in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(format!("x-slow-{i}: 1\r\n").as_bytes()).await.is_err() {
                break;
            }
        }
        stream
    })
}

#[tokio::test]
async fn half_open_idle_and_slowloris_connections_are_closed_after_the_header_timeout() {
    let h = start(short).await;
    // Half-open: connected, nothing sent.
    let mut silent = connect(&h).await;
    // Idle: one request answered, then nothing.
    let mut idle = connect(&h).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: mock\r\n\r\n").await.unwrap();
    let mut answer = [0u8; 256];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&answer[..n]));
    // Slowloris: a header line every 100 ms, never the end of the headers.
    let loris = slowloris(connect(&h).await);
    for (what, stream) in [("half-open", &mut silent), ("idle", &mut idle)] {
        let took = closed_within(stream, Duration::from_secs(3)).await;
        let took = took.unwrap_or_else(|| panic!("the {what} connection was still open after 3 s"));
        assert!(took < Duration::from_millis(1500), "the {what} connection was closed after {took:?}");
    }
    let mut loris = loris.await.unwrap();
    assert!(
        closed_within(&mut loris, Duration::from_millis(100)).await.is_some(),
        "the slowloris connection was still open after 10 s of headers"
    );
}

#[tokio::test]
async fn with_more_slow_and_half_open_clients_than_the_limit_others_are_still_served() {
    let h = start(short).await;
    let mut hostile = Vec::new();
    for i in 0..48 {
        let stream = connect(&h).await;
        hostile.push(if i % 2 == 0 { tokio::spawn(async move { stream }) } else { slowloris(stream) });
    }
    // Three times the limit is taken by clients that will never finish a request; a
    // well-behaved client still gets its answer once their header timeouts run out.
    let started = Instant::now();
    for _ in 0..5 {
        let (status, body) = h.control(Method::GET, "/clock", None).await;
        assert_eq!(status, 200, "{body}");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "served after {took:?}");
    for task in hostile {
        task.abort();
    }
}

#[tokio::test]
async fn a_request_body_that_trickles_is_cut_off_at_the_body_timeout() {
    let h = start(short).await;
    let mut stream = connect(&h).await;
    let head = "POST /extclientproxy/service/v2 HTTP/1.1\r\nhost: mock\r\ncontent-type: text/xml\r\n\
                content-length: 1000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if writer.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut answer)).await;
    let took = started.elapsed();
    trickle.abort();
    let text = String::from_utf8_lossy(&answer);
    assert!(took < Duration::from_secs(2), "the trickling body was read for {took:?}");
    assert!(text.starts_with("HTTP/1.1 4") || text.starts_with("HTTP/1.1 5"), "{text}");
    assert!(text.contains("did not arrive within"), "the SOAP fault says why: {text}");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_after_the_write_timeout() {
    let h = start(short).await;
    // A journal export far larger than what the sockets' buffers hold.
    let detail = "x".repeat(60_000);
    for _ in 0..300 {
        h.mock.note("fill", detail.clone(), None);
    }
    let mut stream = connect(&h).await;
    stream.write_all(b"GET /control/journal.jsonl HTTP/1.1\r\nhost: mock\r\n\r\n").await.unwrap();
    // Read nothing for a while: the mock's write stalls, and it gives up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("an answer head") + 4;
    let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
    let body = answer.len() - head_end;
    assert!(body > 1_000_000, "only {body} bytes arrived");
    match head.lines().find_map(|line| line.strip_prefix("content-length:")) {
        Some(length) => {
            let length: usize = length.trim().parse().unwrap();
            assert!(body < length, "all {length} bytes arrived: the mock waited for the reader");
        }
        // Streamed: the last chunk never came.
        None => {
            assert!(!answer.ends_with(b"\r\n0\r\n\r\n"), "the whole answer arrived: the mock waited for the reader")
        }
    }
}

#[tokio::test]
async fn an_event_stream_and_a_long_poll_outlive_the_idle_timeout() {
    let h = start(short).await;
    let url = |path: &str| format!("{}/control{path}", h.server.base_url());
    let mut stream = h.http.get(url("/journal/stream")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let last = h.mock.journal_stats().2;
    // Longer than the header timeout, with nothing sent either way but keep-alives.
    let poll = h.http.get(url(&format!("/journal?after={last}&wait=1s"))).send();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    h.mock.note("later", "an entry after a quiet second".to_owned(), None);
    let mut text = String::new();
    let read = tokio::time::timeout(Duration::from_secs(3), async {
        while !text.contains("an entry after a quiet second") {
            let chunk = stream.chunk().await.unwrap().expect("the stream stays open");
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await;
    assert!(read.is_ok(), "the event stream was cut: {text:?}");
    let answer = poll.await.unwrap();
    assert_eq!(answer.status(), 200, "the long-poll was answered");
}
