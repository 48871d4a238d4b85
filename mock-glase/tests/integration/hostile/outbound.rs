//! Finding 1 and 7: outbound calls had no size cap and followed redirects anywhere. One
//! scan against a createPurchase that streamed its answer took the mock from 558 MB to
//! 8.2 GB in 10 s; a 307 made it re-POST the purchase to any URL.

use std::time::{Duration, Instant};

use glase_protocol::request::SendInvoice;
use glase_protocol::{Amount, ClientContext, Decimal, Invoice, PaymentMode, Reply, Request, ResponseDetail};
use mock_glase::config::Redirects;
use mock_glase::machine::ups::{PurchaseOutcome, PurchaseReport, ScanOptions};
use mock_glase::mock::ScanResult;
use serde_json::Value;

use crate::support::*;

/// What the server may have written before the mock hung up: the cap, plus what the two
/// sockets' kernel buffers hold (a few MB on loopback).
const BOUNDED: u64 = 16 * 1024 * 1024;

async fn scan(h: &Harness) -> PurchaseReport {
    match h.mock.scan_qr(MACHINE_QR, None, &ScanOptions::default()).await.expect("scan starts a purchase") {
        ScanResult::Unattended { purchase, .. } => purchase,
        other => panic!("expected an unattended purchase, got {other:?}"),
    }
}

fn violation(report: &PurchaseReport) -> &str {
    match &report.outcome {
        PurchaseOutcome::Violation { violation } => violation,
        other => panic!("expected a violation, got {other:?}"),
    }
}

fn create_purchase_response(h: &Harness) -> Value {
    let journal = h.journal();
    let responses: Vec<&Value> = journal.iter().filter(|e| e["kind"] == "createPurchaseResponse").collect();
    assert_eq!(responses.len(), 1, "{responses:#?}");
    responses[0].clone()
}

/// A mock whose demo merchant's createPurchase is at `base` + `/seqr/createPurchase`.
async fn mock_calling(base: &str, configure: impl FnOnce(&mut mock_glase::Config)) -> Harness {
    let h = start(|config| {
        config.ups.timeout = Duration::from_secs(3);
        configure(config);
    })
    .await;
    let url = format!("{base}/seqr/createPurchase");
    h.mock.set_create_purchase_url(MERCHANT, Some(&url), None).unwrap();
    h
}

#[tokio::test]
async fn an_endless_create_purchase_answer_is_cut_at_the_cap_and_journaled_as_a_violation() {
    let endless = EndlessAnswer::start().await;
    let h = mock_calling(&endless.base_url, |_| {}).await;
    let started = Instant::now();
    let report = scan(&h).await;
    let took = started.elapsed();
    assert!(violation(&report).contains("larger than 65536 bytes"), "{report:?}");
    // Cut at the cap, not at the UPS timeout (3 s) ...
    assert!(took < Duration::from_secs(2), "the scan took {took:?}");
    // ... and the mock hung up: it did not keep reading what it will not use.
    match endless.ended().await {
        Ended::ClosedAfter(written) => assert!(written < BOUNDED, "the server wrote {written} bytes"),
        Ended::NeverClosed => panic!("the mock read {ENDLESS_LIMIT} bytes and kept reading"),
    }
    let response = create_purchase_response(&h);
    assert_eq!(response["httpStatus"], 200);
    assert!(response["error"].as_str().unwrap().contains("larger than 65536 bytes"), "{response}");
    // The conformance suite sees it as the merchant's violation.
    let ended = h.journal().into_iter().find(|e| e["event"]["type"] == "purchaseEnded").unwrap();
    assert_eq!(ended["event"]["outcome"]["outcome"], "violation");
    assert_eq!(ended["merchant"], MERCHANT);
    let health = h.http.get(format!("{}/healthz", h.server.base_url())).send().await.unwrap();
    assert_eq!(health.status(), 200, "the mock still serves");
}

#[tokio::test]
async fn the_answer_cap_is_configurable() {
    let endless = EndlessAnswer::start().await;
    let h = mock_calling(&endless.base_url, |config| config.outbound.max_answer_bytes = 1000).await;
    assert!(violation(&scan(&h).await).contains("larger than 1000 bytes"));
}

#[tokio::test]
async fn a_trickling_create_purchase_answer_ends_at_the_ups_timeout() {
    // 16 bytes every 50 ms: under the cap for minutes, so the timeout must bound the read.
    let trickle = EndlessAnswer::start_paced(Some(Duration::from_millis(50))).await;
    let h = mock_calling(&trickle.base_url, |config| config.ups.timeout = Duration::from_millis(500)).await;
    let started = Instant::now();
    let report = scan(&h).await;
    assert!(violation(&report).contains("within the UPS timeout"), "{report:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert!(matches!(trickle.ended().await, Ended::ClosedAfter(_)));
}

#[tokio::test]
async fn a_create_purchase_redirect_is_not_followed_and_is_a_violation() {
    let elsewhere = Fixed::start(json_response("200 OK", r#"{"errorCode": "SYSTEM_ERROR"}"#)).await;
    let redirector =
        Fixed::start(redirect("307 Temporary Redirect", &format!("{}/seqr/createPurchase", elsewhere.base_url))).await;
    let h = mock_calling(&redirector.base_url, |_| {}).await;
    let report = scan(&h).await;
    assert!(violation(&report).contains("HTTP 307, a redirect"), "{report:?}");
    assert_eq!(redirector.hits().len(), 1);
    assert!(elsewhere.hits().is_empty(), "the purchase was re-POSTed elsewhere: {:?}", elsewhere.hits());
    assert_eq!(create_purchase_response(&h)["httpStatus"], 307);
}

#[tokio::test]
async fn same_origin_redirects_are_followed_only_when_configured_and_only_there() {
    let elsewhere = Fixed::start(json_response("200 OK", r#"{"errorCode": "SYSTEM_ERROR"}"#)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let foreign = format!("{}/seqr/createPurchase", elsewhere.base_url);
    let merchant = Fixed::serve(listener, move |head| {
        if head.starts_with("POST /old/seqr/createPurchase") {
            redirect("307 Temporary Redirect", "/seqr/createPurchase")
        } else if head.starts_with("POST /away/seqr/createPurchase") {
            redirect("307 Temporary Redirect", &foreign)
        } else {
            json_response("200 OK", r#"{"errorCode": "DEVICE_IN_USE"}"#)
        }
    });
    let h = start(|config| config.outbound.redirects = Redirects::SameOrigin).await;
    let old = format!("{}/old/seqr/createPurchase", merchant.base_url);
    h.mock.set_create_purchase_url(MERCHANT, Some(&old), None).unwrap();
    let report = scan(&h).await;
    assert_eq!(report.outcome, PurchaseOutcome::Declined { error_code: "DEVICE_IN_USE".into() });
    let hits = merchant.hits();
    assert_eq!(hits.len(), 2, "the redirect was followed on the same server");
    assert_eq!(hits[0].1, hits[1].1, "a 307 re-POSTs the same body");
    // Another origin is still not followed.
    let away = format!("{}/away/seqr/createPurchase", merchant.base_url);
    h.mock.set_create_purchase_url(MERCHANT, Some(&away), None).unwrap();
    assert!(violation(&scan(&h).await).contains("HTTP 307"));
    assert!(elsewhere.hits().is_empty());
}

// ---- notifications ----

/// Issues an IMMEDIATE_DEBIT invoice over SOAP (through the library) with a notificationUrl.
pub async fn issue(h: &Harness, notification_url: &str) -> String {
    let amount = Some(Amount::new(Decimal::new(500, 2), "EUR"));
    let request = Request::SendInvoice(SendInvoice {
        context: Some(ClientContext::for_terminal("demo-terminal", "demo1234", "hostile-tests", "h-1")),
        invoice: Some(Invoice {
            payment_mode: Some(PaymentMode::ImmediateDebit),
            total_amount: amount,
            notification_url: Some(notification_url.to_owned()),
            ..Invoice::default()
        }),
        tokens: Vec::new(),
    });
    let mut body = Vec::new();
    glase_protocol::encode_request(&request, &mut body);
    let answer = h.mock.handle_soap("/extclientproxy/service/v2", &body).await;
    match glase_protocol::decode_reply(&answer.body).unwrap() {
        Reply::Response(response) => match response.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
            other => panic!("sendInvoice answered {:?}: {other:?}", response.result_code),
        },
        Reply::Fault(fault) => panic!("sendInvoice faulted: {fault:?}"),
    }
}

async fn notification_outcome(h: &Harness) -> Value {
    wait_for("a notification to be journaled", || {
        h.journal().into_iter().find(|e| e["kind"] == "notificationSent" && e["reason"] == "confirmed")
    })
    .await
}

#[tokio::test]
async fn an_endless_notification_answer_is_not_read() {
    let endless = EndlessAnswer::start().await;
    let h = start(|config| config.notifications.attempts = 1).await;
    let reference = issue(&h, &format!("{}/notify", endless.base_url)).await;
    h.mock.confirm(&reference, None, None).unwrap();
    let sent = notification_outcome(&h).await;
    assert_eq!(sent["httpStatus"], 200, "{sent}");
    match endless.ended().await {
        Ended::ClosedAfter(written) => assert!(written < BOUNDED, "the server wrote {written} bytes"),
        Ended::NeverClosed => panic!("the mock read {ENDLESS_LIMIT} bytes of a notification answer"),
    }
}

#[tokio::test]
async fn a_notification_redirect_is_not_followed() {
    let elsewhere = Fixed::start(json_response("200 OK", "{}")).await;
    let redirector = Fixed::start(redirect("307 Temporary Redirect", &format!("{}/notify", elsewhere.base_url))).await;
    let h = start(|config| config.notifications.attempts = 1).await;
    let reference = issue(&h, &format!("{}/notify", redirector.base_url)).await;
    h.mock.confirm(&reference, None, None).unwrap();
    let sent = notification_outcome(&h).await;
    assert_eq!(sent["httpStatus"], 307, "{sent}");
    assert!(elsewhere.hits().is_empty(), "the notification was POSTed elsewhere");
}
