//! The whole mock's memory after many completed reservations: state machine *and*
//! journal, through `Mock::handle_soap` (the same decode → apply → journal → encode path
//! HTTP requests take, without the sockets), with the default configuration's retention
//! (`[retention] finished_invoices`, `journal_capacity`, `journal_max_bytes`).
//!
//! ```text
//! cargo build --profile bench -p glase-benches --example mock_memory
//! target/release/examples/mock_memory 1000000
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use glase_benches::peak_and_current_rss_mib as memory;
use glase_protocol::request::{CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice};
use glase_protocol::{Amount, Decimal, PaymentMode, Reply, Request, decode_reply, encode_request};
use mock_glase::{Config, ManualClock, Mock, Timestamp};

const SOAP_PATH: &str = "/extclientproxy/service/v2";

/// Sends one request and returns the decoded answer.
async fn call(mock: &Mock, request: &Request, body: &mut Vec<u8>) -> Reply {
    body.clear();
    encode_request(request, body);
    let answer = mock.handle_soap(SOAP_PATH, body).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    decode_reply(&answer.body).expect("the mock answers valid SOAP")
}

async fn run(count: u64) {
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
    let mock = Mock::new(&Config::default(), clock.clone()).expect("the demo config is valid");
    mock.set_customer("483344323423", None, Some(Decimal::from(1_000_000_000_000u64)));
    let (before, _) = memory();
    let context = glase_benches::demo_terminal_context;
    let (total, final_total) = (Decimal::new(2000, 2), Decimal::new(1250, 2));
    let send = Request::SendInvoice(SendInvoice {
        context: context(),
        invoice: Some(glase_benches::one_row_invoice(PaymentMode::ReservationRequired, total)),
        tokens: vec![],
    });
    let mut body = Vec::with_capacity(4096);
    let started = Instant::now();
    for i in 0..count {
        // One lifecycle per simulated millisecond: well inside every deadline.
        clock.advance(Duration::from_millis(1));
        let reference = glase_benches::sent_reference(call(&mock, &send, &mut body).await);
        mock.scan(&mock_glase::Machine::invoice_qr(&reference), None).expect("scan");
        mock.confirm(&reference, None, Some("1234")).expect("confirm");
        let status = GetPaymentStatus {
            context: context(),
            invoice_reference: Some(reference.clone()),
            invoice_version: Some(0),
        };
        call(&mock, &Request::GetPaymentStatus(status), &mut body).await;
        let update = UpdateInvoice {
            context: context(),
            invoice_reference: Some(reference.clone()),
            invoice: Some(glase_benches::one_row_invoice(PaymentMode::ReservationRequired, final_total)),
            tokens: vec![],
        };
        call(&mock, &Request::UpdateInvoice(update), &mut body).await;
        let commit = CommitReservation {
            context: context(),
            invoice_reference: Some(reference),
            amount: Some(Amount::new(final_total, "EUR")),
        };
        match call(&mock, &Request::CommitReservation(commit), &mut body).await {
            Reply::Response(r) if r.result_code == glase_protocol::ResultCode::SUCCESS => {}
            other => panic!("commitReservation failed: {other:?}"),
        }
        if (i + 1) % (count / 4).max(1) == 0 {
            let (peak, rss) = memory();
            println!("{:>9} lifecycles: RSS {rss:.0} MiB, peak {peak:.0} MiB", i + 1);
        }
    }
    let elapsed = started.elapsed();
    let (peak, rss) = memory();
    let (kept, dropped, _) = mock.journal_stats();
    println!(
        "{count} reservations completed through Mock::handle_soap in {:.1}s ({:.1} µs each); \
         journal: {kept} entries kept ({} MiB), {dropped} dropped; RSS {rss:.0} MiB, \
         peak (VmHWM) {peak:.0} MiB, {before:.0} MiB before the first invoice",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / count as f64,
        mock.journal_bytes() / (1024 * 1024),
    );
}

fn main() {
    let count: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(run(count));
}
