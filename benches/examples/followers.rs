//! Journal readers (issue 11, finding 3), two measurements:
//!
//! 1. SOAP throughput with followers: the mock served over loopback, N clients following
//!    the journal by Server-Sent Events with a filter that matches nothing
//!    (`merchant=nobody`), and sendInvoice + getPaymentStatus driven through
//!    `Mock::handle_soap` (the whole SOAP pipeline and lock, without the load generator's
//!    HTTP cost) from 16 tasks for a few seconds. Alternates runs with 0 and with N
//!    followers (ROUNDS of each, so another load on the machine hits both alike) and
//!    prints the median rates and their ratio (target: ≥ 0.90).
//! 2. Memory of idle readers: a journal filled with ~200 MB, then 12 Server-Sent Events
//!    clients from `after=0` and 4 JSON Lines exports that read nothing; the process's
//!    resident memory before and after.
//!
//! ```text
//! cargo build --profile bench -p glase-benches --example followers
//! target/release/examples/followers [SECONDS=10] [FOLLOWERS=20] [ROUNDS=3]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use glase_protocol::request::{GetPaymentStatus, SendInvoice};
use glase_protocol::{Decimal, PaymentMode, Request, decode_reply};
use mock_glase::{Config, Mock, OffsetClock};

const SOAP_PATH: &str = "/extclientproxy/service/v2";
const CLIENTS: usize = 16;

/// One client: sendInvoice, then getPaymentStatus of that invoice, until `stop`.
async fn client(mock: Mock, stop: Arc<AtomicBool>, done: Arc<AtomicU64>) {
    let context = glase_benches::demo_terminal_context;
    let send = glase_benches::encoded(&Request::SendInvoice(SendInvoice {
        context: context(),
        invoice: Some(glase_benches::one_row_invoice(PaymentMode::ImmediateDebit, Decimal::new(2000, 2))),
        tokens: vec![],
    }));
    while !stop.load(Ordering::Relaxed) {
        let answer = mock.handle_soap(SOAP_PATH, &send).await;
        let reference = glase_benches::sent_reference(
            decode_reply(&answer.body).unwrap_or_else(|e| panic!("sendInvoice answered {e:?}")),
        );
        let status = glase_benches::encoded(&Request::GetPaymentStatus(GetPaymentStatus {
            context: context(),
            invoice_reference: Some(reference),
            invoice_version: Some(0),
        }));
        let answer = mock.handle_soap(SOAP_PATH, &status).await;
        assert_eq!(answer.status, 200);
        done.fetch_add(2, Ordering::Relaxed);
        // handle_soap completes without awaiting anything here: let the followers and
        // the timer run, as a network round trip would.
        tokio::task::yield_now().await;
    }
}

/// A follower: reads the event stream until the task is aborted.
async fn follower(url: String) {
    let http = reqwest::Client::new();
    let Ok(mut stream) = http.get(url).send().await else { return };
    while let Ok(Some(_)) = stream.chunk().await {}
}

/// SOAP requests per second over `seconds` with `followers` following the journal.
async fn measure(seconds: u64, followers: usize) -> f64 {
    let mock = Mock::new(&Config::default(), Arc::new(OffsetClock::new())).expect("the demo config is valid");
    mock.set_customer("483344323423", None, Some(Decimal::from(1_000_000_000u64)));
    let server =
        mock_glase::server::spawn("127.0.0.1:0".parse().expect("an address"), mock.clone()).await.expect("bind");
    let url = format!("{}/control/journal/stream?merchant=nobody", server.base_url());
    let following: Vec<_> = (0..followers).map(|_| tokio::spawn(follower(url.clone()))).collect();
    // Let the followers connect before the clock starts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (stop, done) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let clients: Vec<_> =
        (0..CLIENTS).map(|_| tokio::spawn(client(mock.clone(), stop.clone(), done.clone()))).collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for client in clients {
        let _ = client.await;
    }
    for task in following {
        task.abort();
    }
    let (kept, dropped, _) = mock.journal_stats();
    let rate = done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64();
    let (peak, _) = glase_benches::peak_and_current_rss_mib();
    println!(
        "{followers:>3} followers: {rate:>9.0} SOAP requests/s  (journal: {kept} kept, {dropped} dropped; peak RSS {peak:.0} MiB)"
    );
    server.shutdown().await;
    rate
}

/// Resident memory with a full journal, then with idle readers on it.
async fn idle_readers() {
    use tokio::io::AsyncWriteExt as _;
    let mock = Mock::new(&Config::default(), Arc::new(OffsetClock::new())).expect("the demo config is valid");
    let server =
        mock_glase::server::spawn("127.0.0.1:0".parse().expect("an address"), mock.clone()).await.expect("bind");
    let detail = "x".repeat(60_000);
    for _ in 0..3_400 {
        mock.note("fill", detail.clone(), None);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, full) = glase_benches::peak_and_current_rss_mib();
    let mut readers = Vec::new();
    for path in std::iter::repeat_n("/control/journal/stream?after=0", 12)
        .chain(std::iter::repeat_n("/control/journal.jsonl", 4))
    {
        let mut socket = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nhost: mock\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("send");
        readers.push(socket);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, with_readers) = glase_benches::peak_and_current_rss_mib();
    println!(
        "idle readers: journal {} MiB; RSS {full:.0} MiB full, {with_readers:.0} MiB with 12 SSE clients and 4 exports reading nothing",
        mock.journal_bytes() / (1024 * 1024)
    );
    drop(readers);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let followers = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let rounds = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async {
        let (mut none, mut some) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            none.push(measure(seconds, 0).await);
            some.push(measure(seconds, followers).await);
        }
        let median = |rates: &mut Vec<f64>| {
            rates.sort_by(f64::total_cmp);
            rates[rates.len() / 2]
        };
        let (none, some) = (median(&mut none), median(&mut some));
        println!("median: {none:.0} vs {some:.0} requests/s; ratio {:.2} (target ≥ 0.90)", some / none);
        idle_readers().await;
    });
}
