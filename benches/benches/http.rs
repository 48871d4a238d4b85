//! The mock's whole HTTP path, without sockets: a SOAP request through the axum router
//! (`tower::ServiceExt::oneshot`), the body extractor, `Mock::handle_soap` (decode, lock,
//! apply, journal, encode) and the response body. sendInvoice issues a new invoice each
//! time; getPaymentStatus asks for an invoice that exists (the stateful pair the load
//! test in `scripts/bench-http` drives over TCP).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request as HttpRequest, StatusCode, header};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glase_protocol::request::{GetPaymentStatus, SendInvoice};
use glase_protocol::{
    Amount, ClientContext, Decimal, Invoice, InvoiceRow, PaymentMode, Request, decode_reply, encode_request,
};
use http_body_util::BodyExt as _;
use mock_glase::http::{AppState, SOAP_PATHS, router};
use mock_glase::{Config, Mock, SystemClock};
use tower::ServiceExt as _;

fn context() -> Option<ClientContext> {
    Some(ClientContext::for_terminal("demo-terminal", "demo1234", "bench", "bench-1"))
}

fn send_invoice() -> Vec<u8> {
    let total = Amount::new(Decimal::new(2000, 2), "EUR");
    let invoice = Invoice {
        payment_mode: Some(PaymentMode::ImmediateDebit),
        title: Some("Bench".to_owned()),
        invoice_rows: Some(vec![InvoiceRow {
            item_description: Some("Coffee".to_owned()),
            item_quantity: Some(Decimal::ONE),
            item_total_amount: Some(total.clone()),
            ..InvoiceRow::default()
        }]),
        total_amount: Some(total),
        ..Invoice::default()
    };
    let request = Request::SendInvoice(SendInvoice { context: context(), invoice: Some(invoice), tokens: vec![] });
    let mut body = Vec::new();
    encode_request(&request, &mut body);
    body
}

fn get_payment_status(reference: &str) -> Vec<u8> {
    let request = Request::GetPaymentStatus(GetPaymentStatus {
        context: context(),
        invoice_reference: Some(reference.to_owned()),
        invoice_version: Some(0),
    });
    let mut body = Vec::new();
    encode_request(&request, &mut body);
    body
}

/// One request through the router; returns the response body.
async fn call(app: &Router, body: &Bytes) -> Bytes {
    let request = HttpRequest::post(SOAP_PATHS[0])
        .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
        .body(Body::from(body.clone()))
        .expect("a valid request");
    let response = app.clone().oneshot(request).await.expect("the router is infallible");
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.expect("an in-memory body").to_bytes()
}

fn http(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let mock = Mock::new(&Config::default(), Arc::new(SystemClock)).expect("demo config is valid");
    let app = router(AppState { mock, public_url: None });

    let send = Bytes::from(send_invoice());
    let answer = runtime.block_on(call(&app, &send));
    let reference =
        glase_benches::sent_reference(decode_reply(&answer).unwrap_or_else(|e| panic!("sendInvoice answered {e:?}")));
    let status = Bytes::from(get_payment_status(&reference));

    let mut group = c.benchmark_group("http/oneshot");
    group.throughput(Throughput::Bytes(send.len() as u64));
    group.bench_function("sendInvoice", |b| b.iter(|| runtime.block_on(call(&app, &send))));
    group.throughput(Throughput::Bytes(status.len() as u64));
    group.bench_function("getPaymentStatus", |b| b.iter(|| runtime.block_on(call(&app, &status))));
    group.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
