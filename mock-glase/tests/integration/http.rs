//! End-to-end tests of the HTTP surface through real sockets on 127.0.0.1:0.
#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use crate::support::control_call;
use std::sync::Arc;
use std::time::Duration;

use glase_protocol::request::{GetPaymentStatus, SendInvoice};
use glase_protocol::{
    Amount, ClientContext, Decimal, FaultCode, Invoice, InvoiceRow, InvoiceStatus, PaymentMode, Reply, Request,
    ResponseDetail, ResultCode, decode_reply, encode_request,
};
use mock_glase::server::{RunningServer, spawn};
use mock_glase::{Config, ManualClock, Mock, Timestamp};
use serde_json::{Value, json};

struct Harness {
    server: RunningServer,
    mock: Mock,
    clock: ManualClock,
    http: reqwest::Client,
}

async fn start() -> Harness {
    let clock = ManualClock::new(Timestamp(1_700_000_000_000));
    let mock = Mock::new(&Config::default(), Arc::new(clock.clone())).expect("demo config is valid");
    let server = spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.expect("bind loopback");
    Harness { server, mock, clock, http: reqwest::Client::new() }
}

fn context() -> Option<ClientContext> {
    Some(ClientContext::for_terminal("demo-terminal", "demo1234", "http-tests", "ref-1"))
}

fn eur(value: &str) -> Option<Amount> {
    Some(Amount::new(value.parse::<Decimal>().unwrap(), "EUR"))
}

fn send_invoice(mode: PaymentMode, total: &str, notification_url: Option<String>) -> Request {
    Request::SendInvoice(SendInvoice {
        context: context(),
        invoice: Some(Invoice {
            payment_mode: Some(mode),
            title: Some("Test purchase".into()),
            invoice_rows: Some(vec![InvoiceRow {
                item_description: Some("Coffee".into()),
                item_quantity: Some(Decimal::ONE),
                item_total_amount: eur(total),
                ..InvoiceRow::default()
            }]),
            total_amount: eur(total),
            notification_url,
            ..Invoice::default()
        }),
        tokens: Vec::new(),
    })
}

impl Harness {
    async fn post(&self, path: &str, body: Vec<u8>) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.server.base_url()))
            .header("content-type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .expect("mock answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    async fn call(&self, request: &Request) -> Reply {
        let mut body = Vec::new();
        encode_request(request, &mut body);
        let (_, text) = self.post("/extclientproxy/service/v2", body).await;
        decode_reply(text.as_bytes()).expect("mock answers valid SOAP")
    }

    async fn issue(&self, mode: PaymentMode, total: &str, url: Option<String>) -> String {
        match self.call(&send_invoice(mode, total, url)).await {
            Reply::Response(r) => match r.detail {
                ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
                other => panic!("unexpected sendInvoice answer {other:?} ({})", r.result_code),
            },
            Reply::Fault(f) => panic!("fault {f:?}"),
        }
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        control_call(&self.http, &self.server.base_url(), method, path, body).await
    }

    async fn assert_still_serving(&self) {
        let reference = self.issue(PaymentMode::ImmediateDebit, "1.00", None).await;
        assert!(!reference.is_empty());
    }
}

fn fault_of(text: &str) -> glase_protocol::SoapFault {
    match decode_reply(text.as_bytes()).expect("a SOAP envelope") {
        Reply::Fault(fault) => fault,
        Reply::Response(r) => panic!("expected a fault, got {r:?}"),
    }
}

#[tokio::test]
async fn wsdl_is_served_at_both_paths_with_the_callers_address() {
    let h = start().await;
    for path in ["/extclientproxy/service/v2", "/soap/merchant/cashregister-2"] {
        let url = format!("{}{path}?wsdl", h.server.base_url());
        let text = h.http.get(&url).send().await.unwrap().text().await.unwrap();
        let address = format!("location=\"{}{path}\"", h.server.base_url());
        assert!(text.contains(&address), "{path}: soap:address should be {address}");
        assert!(text.contains(&format!("{}{path}?wsdl=ERSWSExternalClientService.wsdl", h.server.base_url())));
    }
    let imported = h
        .http
        .get(format!("{}/extclientproxy/service/v2?wsdl=ERSWSExternalClientService.wsdl", h.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 200);
    assert!(imported.text().await.unwrap().contains("name=\"sendInvoice\""));
    let missing = h.http.get(format!("{}/extclientproxy/service/v2?wsdl=nope.wsdl", h.server.base_url())).send().await;
    assert_eq!(missing.unwrap().status(), 404);
    h.server.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_clear_faults_and_the_mock_keeps_serving() {
    let h = start().await;
    let envelope = |inner: &str| {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{inner}</s:Body></s:Envelope>"#
        )
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed XML", b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>".to_vec(), "malformed"),
        ("non-SOAP JSON", br#"{"sendInvoice": {}}"#.to_vec(), "not an XML document"),
        ("non-SOAP XML", b"<html><body>hi</body></html>".to_vec(), "not a SOAP 1.1 envelope"),
        (
            "unknown operation",
            envelope(r#"<e:stealMoney xmlns:e="http://external.interfaces.ers.seamless.com/"/>"#).into_bytes(),
            "unknown operation <stealMoney>",
        ),
        (
            "wrong type",
            envelope(
                r#"<e:getPaymentStatus xmlns:e="http://external.interfaces.ers.seamless.com/"><invoiceVersion>abc</invoiceVersion></e:getPaymentStatus>"#,
            )
            .into_bytes(),
            "getPaymentStatus/invoiceVersion",
        ),
    ];
    for (name, body, expected) in cases {
        let (status, text) = h.post("/extclientproxy/service/v2", body).await;
        assert_eq!(status, 500, "{name}");
        let fault = fault_of(&text);
        assert_eq!(fault.code, FaultCode::Client, "{name}");
        assert!(fault.string.contains(expected), "{name}: {:?} should mention {expected:?}", fault.string);
        h.assert_still_serving().await;
    }
    let (status, text) = h.post("/extclientproxy/service/v2", vec![b' '; 10 * 1024 * 1024]).await;
    assert_eq!(status, 413);
    assert!(fault_of(&text).string.contains("larger than"));
    h.assert_still_serving().await;
    // Nothing bad created an invoice: only the probes' invoices exist.
    assert_eq!(h.mock.invoices(None).len(), 6);
    h.server.shutdown().await;
}

#[tokio::test]
async fn soap12_envelopes_get_a_version_mismatch_fault() {
    let h = start().await;
    let body = br#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>"#.to_vec();
    let (status, text) = h.post("/extclientproxy/service/v2", body).await;
    assert_eq!(status, 500);
    assert_eq!(fault_of(&text).code, FaultCode::VersionMismatch);
}

/// A tiny merchant endpoint that counts notification POSTs and their body sizes.
async fn notification_sink() -> (String, tokio::sync::mpsc::UnboundedReceiver<usize>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body.len());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

#[tokio::test]
async fn webshop_payment_notifies_and_is_journaled() {
    let h = start().await;
    let (url, mut notifications) = notification_sink().await;
    let reference = h.issue(PaymentMode::ImmediateDebit, "149.99", Some(url)).await;
    let (status, body) = h
        .control(
            reqwest::Method::POST,
            "/customer/confirm",
            Some(json!({"qr": format!("HTTP://SEQR.SE/R{reference}")})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "paid");
    let size = tokio::time::timeout(Duration::from_secs(5), notifications.recv()).await.expect("notified");
    assert_eq!(size, Some(0), "notifications are empty POSTs");
    let status = h
        .call(&Request::GetPaymentStatus(GetPaymentStatus {
            context: context(),
            invoice_reference: Some(reference.clone()),
            invoice_version: Some(0),
        }))
        .await;
    let Reply::Response(response) = status else { panic!("fault") };
    assert_eq!(response.result_code, ResultCode::SUCCESS);
    assert!(matches!(response.detail, ResponseDetail::PaymentStatus { status: Some(InvoiceStatus::Paid), .. }));
    assert_eq!(response.ers_reference.as_ref().map(String::len), Some(25));
    // The notifier journals its outcome asynchronously.
    let mut kinds = Vec::new();
    for _ in 0..50 {
        let (_, journal) = h.control(reqwest::Method::GET, &format!("/journal?invoice={reference}"), None).await;
        kinds = journal["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect();
        if kinds.iter().any(|k| k == "notificationSent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(kinds.first().map(String::as_str), Some("soapRequest"));
    assert!(kinds.iter().any(|k| k == "notificationSent"), "{kinds:?}");
}

#[tokio::test]
async fn the_timer_reverses_an_unfetched_payment_with_no_request_arriving() {
    let h = start().await;
    let reference = h.issue(PaymentMode::ImmediateDebit, "10.00", None).await;
    h.mock.confirm(&reference, None, None).expect("customer pays");
    h.clock.advance(Duration::from_secs(20));
    let mut status = InvoiceStatus::Paid;
    for _ in 0..100 {
        status = h.mock.invoice(&reference).unwrap().record.status;
        if status == InvoiceStatus::Canceled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, InvoiceStatus::Canceled);
    let history = h.mock.invoice(&reference).unwrap().record.history;
    assert_eq!(history.last().unwrap().reason, "reversed: status not fetched");
}

#[tokio::test]
async fn control_api_injects_faults_and_reports_errors_as_json() {
    let h = start().await;
    let (status, body) = h
        .control(
            reqwest::Method::POST,
            "/faults",
            Some(json!({"operation": "sendInvoice", "resultCode": 94, "times": 1})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let Reply::Response(r) = h.call(&send_invoice(PaymentMode::ImmediateDebit, "5.00", None)).await else { panic!() };
    assert_eq!(r.result_code, ResultCode::SERVICE_UNAVAILABLE);
    h.assert_still_serving().await;

    let (status, body) =
        h.control(reqwest::Method::POST, "/faults", Some(json!({"operation": "nope", "resultCode": 1}))).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("unknown operation"));
    let (status, _) = h.control(reqwest::Method::GET, "/invoices/123", None).await;
    assert_eq!(status, 404);
    let (status, body) =
        h.control(reqwest::Method::POST, "/customer/scan", Some(json!({"qr": "https://example.com"}))).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("not a Glase QR code"));
    let (status, body) = h.control(reqwest::Method::POST, "/customer/scan", Some(json!({"qrr": 1}))).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = h.control(reqwest::Method::GET, "/info", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["resellers"][0]["userId"], "9900");
}

#[tokio::test]
async fn receipts_and_refunds_are_journaled_under_their_invoice() {
    let h = start().await;
    let reference = h.issue(PaymentMode::ImmediateDebit, "30.00", None).await;
    h.mock.confirm(&reference, None, None).expect("customer pays");
    let ers = h.mock.invoice(&reference).unwrap().record.ers_reference.unwrap();
    let refund = Request::RefundPayment(glase_protocol::request::RefundPayment {
        context: context(),
        ers_reference: Some(ers.to_string()),
        invoice: Some(Invoice { total_amount: eur("5.00"), ..Invoice::default() }),
    });
    let Reply::Response(r) = h.call(&refund).await else { panic!("fault") };
    assert_eq!(r.result_code, ResultCode::SUCCESS);
    let (_, journal) = h.control(reqwest::Method::GET, &format!("/journal?invoice={reference}"), None).await;
    let operations: Vec<&str> =
        journal["entries"].as_array().unwrap().iter().filter_map(|e| e["operation"].as_str()).collect();
    assert!(operations.contains(&"refundPayment"), "{operations:?}");
}
