//! The reseller's server against slow, half-open and idle clients (issue 11, as the
//! mock's `tests/integration/hostile/server.rs`): before `[server]` limits, `axum::serve` held every
//! such connection, and its file descriptor, for as long as the client liked.

use std::time::{Duration, Instant};

use glase_listen::{Limits, hostile};
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
    hostile::connect(&world.reseller_url).await
}

#[tokio::test]
async fn half_open_idle_and_slowloris_connections_are_closed_after_the_header_timeout() {
    let world = start("server-idle", 16).await;
    hostile::assert_slow_clients_are_closed(&world.reseller_url, "reseller").await;
}

#[tokio::test]
async fn a_trickling_create_purchase_body_is_cut_off_at_the_body_timeout() {
    let world = start("server-trickle", 16).await;
    let head = "POST /seqr/createPurchase HTTP/1.1\r\nhost: reseller\r\ncontent-type: application/json\r\n\
                content-length: 1000\r\n\r\n";
    let (took, text) = hostile::trickle_body(&world.reseller_url, head).await;
    assert!(took < Duration::from_secs(2), "the trickling body was read for {took:?}");
    // createPurchase answers HTTP 200 with an errorCode even for an unreadable body.
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 "), "{text}");
}

#[tokio::test]
async fn beyond_the_connection_limit_clients_wait_and_are_served_once_slow_ones_time_out() {
    let world = start("server-limit", 4).await;
    let hogs = hostile::hog(&world.reseller_url, 12, "reseller").await;
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
    drop(hogs);
}
