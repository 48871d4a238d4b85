//! The sandbox console with a full journal (issue 15): a mock holding 100 000 entries of
//! real SOAP traffic (sendInvoice, getPaymentStatus, a payment every tenth invoice, an
//! injected fault now and then), and the console open on it in headless Chromium. Prints
//! how long the page takes to open, filter, show problems only and page back, how far
//! behind it falls while 20 000 more entries stream in, its longest main-thread task
//! (Long Tasks API), its JavaScript heap and how many rows it keeps in the DOM.
//!
//! ```text
//! cargo build --profile bench -p glase-benches --example console
//! target/release/examples/console [ENTRIES=100000]
//! ```
//! Needs Chromium (the Debian package `chromium`, or GLASE_CHROMIUM).

use std::sync::Arc;
use std::time::{Duration, Instant};

use glase_devkit::browser::Browser;
use glase_protocol::request::{GetPaymentStatus, SendInvoice};
use glase_protocol::{Decimal, PaymentMode, Request, decode_reply};
use mock_glase::machine::{FaultAction, FaultRule, FaultTarget};
use mock_glase::{Config, Mock, OffsetClock};

const SOAP_PATH: &str = "/extclientproxy/service/v2";
const WAIT: Duration = Duration::from_secs(60);

/// One invoice's worth of traffic; returns its reference.
async fn invoice(mock: &Mock, n: u64) -> String {
    let context = glase_benches::demo_terminal_context;
    let send = glase_benches::encoded(&Request::SendInvoice(SendInvoice {
        context: context(),
        invoice: Some(glase_benches::one_row_invoice(PaymentMode::ImmediateDebit, Decimal::new(2000, 2))),
        tokens: vec![],
    }));
    let answer = mock.handle_soap(SOAP_PATH, &send).await;
    let reference = glase_benches::sent_reference(
        decode_reply(&answer.body).unwrap_or_else(|e| panic!("sendInvoice answered {e:?}")),
    );
    if n.is_multiple_of(10) {
        mock.confirm(&reference, None, None).expect("the demo customer pays");
    }
    let status = glase_benches::encoded(&Request::GetPaymentStatus(GetPaymentStatus {
        context: context(),
        invoice_reference: Some(reference.clone()),
        invoice_version: Some(0),
    }));
    mock.handle_soap(SOAP_PATH, &status).await;
    reference
}

/// Fills the journal up to `entries`; returns a reference from its middle.
async fn fill(mock: &Mock, entries: u64) -> String {
    let mut middle = None;
    let mut n = 0;
    while mock.journal_stats().2 < entries {
        let reference = invoice(mock, n).await;
        if middle.is_none() && mock.journal_stats().2 >= entries / 2 {
            middle = Some(reference);
        }
        if n.is_multiple_of(1000) {
            let target = FaultTarget::parse("getPaymentStatus").expect("an operation");
            let rule = FaultRule { remaining: Some(1), ..FaultRule::new(target, FaultAction::ResultCode(90)) };
            mock.add_fault(rule).expect("a valid rule");
        }
        n += 1;
    }
    middle.expect("the journal passed its middle")
}

async fn timed(browser: &Browser, what: &str, action: &str, done: &str) -> Duration {
    let started = Instant::now();
    browser.eval(action).await.unwrap_or_else(|e| panic!("{what}: {e}"));
    browser.wait_for(what, done, WAIT).await.unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    println!("{what:<52} {:>8.0} ms", took.as_secs_f64() * 1000.0);
    took
}

#[tokio::main]
async fn main() {
    let entries: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mock = Mock::new(&Config::default(), Arc::new(OffsetClock::new())).expect("the demo config is valid");
    mock.set_customer("483344323423", None, Some(Decimal::from(1_000_000_000u64)));
    let started = Instant::now();
    let middle = fill(&mock, entries).await;
    let (kept, dropped, last) = mock.journal_stats();
    println!(
        "journal: {kept} entries kept ({dropped} dropped, last #{last}), {} MiB, filled in {:.1} s",
        mock.journal_bytes() / (1024 * 1024),
        started.elapsed().as_secs_f64()
    );
    let server =
        mock_glase::server::spawn("127.0.0.1:0".parse().expect("an address"), mock.clone()).await.expect("bind");
    let browser = Browser::launch().await.unwrap_or_else(|e| panic!("{e}"));
    browser.set_viewport(1600, 1000, false).await.expect("viewport");
    let url = format!("{}/console/", server.base_url());
    let opened = Instant::now();
    browser.goto(&url).await.expect("the console loads");
    let ready = "document.getElementById('connection').dataset.state === 'live' && \
                 document.getElementById('timeline-status').textContent.startsWith('1000 entries')";
    browser.wait_for("the console's first screen", ready, WAIT).await.unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{:<52} {:>8.0} ms",
        "open: page, info, last 1000 entries rendered",
        opened.elapsed().as_secs_f64() * 1000.0
    );
    browser
        .eval("window.longest = 0; new PerformanceObserver(l => { for (const e of l.getEntries()) window.longest = Math.max(window.longest, e.duration); }).observe({type: 'longtask', buffered: false}); true")
        .await
        .expect("a long-task observer");

    let filter = format!(
        "document.getElementById('filter-invoice').value = {middle:?}; document.getElementById('filter-form').requestSubmit()"
    );
    let found = format!(
        "[...document.querySelectorAll('#rows .row')].some(r => r.textContent.includes('sendInvoice → 0')) && document.getElementById('filter-invoice').value === {middle:?}"
    );
    timed(&browser, "filter by one invoice among them (server-side)", &filter, &found).await;
    timed(
        &browser,
        "clear the filter (back to the last 1000)",
        "document.getElementById('filter-reset').click()",
        ready,
    )
    .await;
    let problems = "document.getElementById('problems-only').click()";
    let only = "document.getElementById('timeline-status').textContent.includes('problems')";
    timed(&browser, "problems only, over 1000 entries", problems, only).await;
    timed(
        &browser,
        "all entries again",
        problems,
        "!document.getElementById('timeline-status').textContent.includes('problems')",
    )
    .await;
    for round in 1..=5 {
        let held = format!(
            "document.getElementById('timeline-status').textContent.startsWith('{} entries')",
            1000 * (round + 1)
        );
        timed(
            &browser,
            &format!("load 1000 older entries (round {round})"),
            "document.getElementById('load-older').click()",
            &held,
        )
        .await;
    }
    let scroll = "document.getElementById('rows').scrollTop = 0";
    timed(&browser, "scroll to the oldest of 6000", scroll, "!!document.querySelector('#rows .row')").await;

    // Live: 20 000 more entries streamed while the page follows.
    timed(&browser, "back to following the tail", "document.getElementById('filter-reset').click()", ready).await;
    let streamed = Instant::now();
    let mut n = 1;
    while mock.journal_stats().2 < last + 20_000 {
        invoice(&mock, n).await;
        n += 1;
    }
    let produced = streamed.elapsed();
    let final_seq = mock.journal_stats().2;
    browser
        .wait_for(
            "the last streamed entry",
            &format!("document.getElementById('timeline-status').textContent.endsWith('#{final_seq}')"),
            WAIT,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{:<52} {:>8.0} ms (produced in {:.0} ms)",
        "20 000 entries streamed: last one shown after",
        streamed.elapsed().as_secs_f64() * 1000.0,
        produced.as_secs_f64() * 1000.0
    );
    let longest = browser.eval("window.longest").await.expect("the observer's figure");
    let rows = browser.eval("document.querySelectorAll('#rows .row').length").await.expect("rows");
    let heap = browser
        .call("Performance.enable", serde_json::json!({}))
        .await
        .and(browser.call("Performance.getMetrics", serde_json::json!({})).await)
        .expect("metrics");
    let heap_mib = heap["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "JSHeapUsedSize"))
        .and_then(|m| m["value"].as_f64())
        .unwrap_or(0.0)
        / (1024.0 * 1024.0);
    println!(
        "longest main-thread task after opening: {longest} ms; rows in the DOM: {rows}; JS heap used: {heap_mib:.1} MiB"
    );
    let errors = browser.errors();
    assert!(errors.is_empty(), "page errors: {errors:?}");
    server.shutdown().await;
}
