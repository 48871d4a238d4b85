//! Hostile clients, for the tests of every server built on this accept loop (the
//! mock's, the reference reseller's): connections that send nothing, go idle after an
//! answer, send headers a line at a time (slowloris), or trickle a body. Each server's
//! tests start it with short [`crate::Limits`] (a 300 ms header timeout) and check
//! with these that its limits are in force. Behind the `hostile-clients` feature: test
//! code, never in a server.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Connects to `addr` (`127.0.0.1:port`, or a URL's `http://` form).
pub async fn connect(addr: &str) -> TcpStream {
    let addr = addr.trim_start_matches("http://").trim_end_matches('/');
    TcpStream::connect(addr).await.expect("the server accepts connections")
}

/// Waits until the server closes `stream` (EOF or reset); how long that took, or `None`
/// if it was still open after `within`.
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
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

/// Sends the start of a `GET /healthz` and then one more header line every 100 ms, for
/// ten seconds.
pub fn slowloris(mut stream: TcpStream, host: &str) -> JoinHandle<TcpStream> {
    let start = format!("GET /healthz HTTP/1.1\r\nhost: {host}\r\n");
    tokio::spawn(async move {
        let _ = stream.write_all(start.as_bytes()).await;
        for i in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(format!("x-slow-{i}: 1\r\n").as_bytes()).await.is_err() {
                break;
            }
        }
        stream
    })
}

/// Asserts that a half-open connection (nothing sent), an idle one (one `GET /healthz`
/// answered, then nothing) and a slowloris one are all closed by a server whose header
/// timeout is 300 ms.
pub async fn assert_slow_clients_are_closed(addr: &str, host: &str) {
    let mut silent = connect(addr).await;
    let mut idle = connect(addr).await;
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {host}\r\n\r\n");
    idle.write_all(request.as_bytes()).await.expect("the request is sent");
    let mut answer = [0u8; 256];
    let n = idle.read(&mut answer).await.expect("an answer");
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&answer[..n]));
    let loris = slowloris(connect(addr).await, host);
    for (what, stream) in [("half-open", &mut silent), ("idle", &mut idle)] {
        let took = closed_within(stream, Duration::from_secs(3)).await;
        let took = took.unwrap_or_else(|| panic!("the {what} connection was still open after 3 s"));
        assert!(took < Duration::from_millis(1500), "the {what} connection was closed after {took:?}");
    }
    let mut loris = loris.await.expect("the slowloris task ends");
    assert!(
        closed_within(&mut loris, Duration::from_millis(100)).await.is_some(),
        "the slowloris connection was still open after 10 s of headers"
    );
}

/// Sends `head` (a request head announcing a 1000-byte body), then the body a byte every
/// 50 ms: how long the server kept reading, and what it answered (if anything).
pub async fn trickle_body(addr: &str, head: &str) -> (Duration, String) {
    let mut stream = connect(addr).await;
    stream.write_all(head.as_bytes()).await.expect("the request head is sent");
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
    (took, String::from_utf8_lossy(&answer).into_owned())
}

/// `count` connections that will never finish a request: half-open and slowloris ones,
/// alternately. They end when dropped.
pub async fn hog(addr: &str, count: usize, host: &str) -> Hogs {
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let stream = connect(addr).await;
        tasks.push(if i % 2 == 0 { tokio::spawn(async move { stream }) } else { slowloris(stream, host) });
    }
    Hogs(tasks)
}

/// The connections of [`hog`]; dropping this closes them.
#[derive(Debug)]
pub struct Hogs(Vec<JoinHandle<TcpStream>>);

impl Drop for Hogs {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
