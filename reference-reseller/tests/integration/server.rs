//! The reseller's server against slow, half-open and idle clients (issue 11, as the
//! mock's `tests/hostile/server.rs`): before `[server]` limits, `axum::serve` held every
//! such connection, and its file descriptor, for as long as the client liked.

use std::time::{Duration, Instant};

use glase_listen::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::World;

/// Short limits, so each test takes about a second.
async fn start(name: &str, max_connections: usize) -> World {
    World::start(name, &[], |config| {
        config.server = Limits {
            header_read_timeout: Duration::from_millis(300),
            body_read_timeout: Duration::from_millis(500),
            write_timeout: Duration::from_millis(500),
            max_connections,
        };
    })
    .await
}

async fn connect(world: &World) -> TcpStream {
    TcpStream::connect(world.reseller_url.trim_start_matches("http://")).await.unwrap()
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

/// Sends the start of a request and then one more header line every 100 ms, forever.
fn slowloris(mut stream: TcpStream) -> tokio::task::JoinHandle<TcpStream> {
    tokio::spawn(async move {
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: reseller\r\n").await;
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
    let world = start("server-idle", 16).await;
    let mut silent = connect(&world).await;
    let mut idle = connect(&world).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: reseller\r\n\r\n").await.unwrap();
    let mut answer = [0u8; 256];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&answer[..n]));
    let loris = slowloris(connect(&world).await);
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
async fn a_trickling_create_purchase_body_is_cut_off_at_the_body_timeout() {
    let world = start("server-trickle", 16).await;
    let mut stream = connect(&world).await;
    let head = "POST /seqr/createPurchase HTTP/1.1\r\nhost: reseller\r\ncontent-type: application/json\r\n\
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
    assert!(took < Duration::from_secs(2), "the trickling body was read for {took:?}");
    // createPurchase answers HTTP 200 with an errorCode even for an unreadable body.
    let text = String::from_utf8_lossy(&answer);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 "), "{text}");
}

#[tokio::test]
async fn beyond_the_connection_limit_clients_wait_and_are_served_once_slow_ones_time_out() {
    let world = start("server-limit", 4).await;
    let mut hostile = Vec::new();
    for i in 0..12 {
        let stream = connect(&world).await;
        hostile.push(if i % 2 == 0 { tokio::spawn(async move { stream }) } else { slowloris(stream) });
    }
    // Three times the limit is held by clients that never finish a request; a
    // well-behaved one still gets its answers once their header timeouts run out.
    let started = Instant::now();
    for _ in 0..5 {
        let response = world.http.get(format!("{}/healthz", world.reseller_url)).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "served after {took:?}");
    // While the limit is taken, a new connection is accepted by the kernel but not
    // served: its request gets no answer until a slot frees.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&world).await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: reseller\r\n").await.unwrap();
        held.push(stream);
    }
    let mut waiting = connect(&world).await;
    waiting.write_all(b"GET /healthz HTTP/1.1\r\nhost: reseller\r\n\r\n").await.unwrap();
    let mut answer = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(100), waiting.read(&mut answer)).await;
    assert!(early.is_err(), "answered while every connection slot was taken");
    // The held ones time out (300 ms), and the waiting one is served.
    let n = tokio::time::timeout(Duration::from_secs(3), waiting.read(&mut answer)).await.unwrap().unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&answer[..n]));
    for task in hostile {
        task.abort();
    }
}
