//! Finding 4: the server timed out no connection. 1000 slowloris connections were held for
//! 90 s; 20 000 half-open ones used up the file descriptors and the mock stopped
//! answering. Now headers (and idle keep-alive), bodies and stalled writes have
//! timeouts, and connections beyond `server.max_connections` wait in the listen backlog.

use std::time::{Duration, Instant};

use glase_listen::{Limits, hostile};
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

async fn connect(h: &Harness) -> TcpStream {
    hostile::connect(&h.server.addr.to_string()).await
}

#[tokio::test]
async fn half_open_idle_and_slowloris_connections_are_closed_after_the_header_timeout() {
    let h = start(short).await;
    hostile::assert_slow_clients_are_closed(&h.server.addr.to_string(), "mock").await;
}

#[tokio::test]
async fn with_more_slow_and_half_open_clients_than_the_limit_others_are_still_served() {
    let h = start(short).await;
    let _hogs = hostile::hog(&h.server.addr.to_string(), 48, "mock").await;
    // Three times the limit is taken by clients that will never finish a request; a
    // well-behaved client still gets its answer once their header timeouts run out.
    let started = Instant::now();
    for _ in 0..5 {
        let (status, body) = h.control(Method::GET, "/clock", None).await;
        assert_eq!(status, 200, "{body}");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "served after {took:?}");
}

#[tokio::test]
async fn a_request_body_that_trickles_is_cut_off_at_the_body_timeout() {
    let h = start(short).await;
    let head = "POST /extclientproxy/service/v2 HTTP/1.1\r\nhost: mock\r\ncontent-type: text/xml\r\n\
                content-length: 1000\r\n\r\n";
    let (took, text) = hostile::trickle_body(&h.server.addr.to_string(), head).await;
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
