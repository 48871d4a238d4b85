//! What a panic leaves behind (issue 11, finding 2): injected at the points the machine
//! reaches after its checks and before its first write ([`TestHook`]), and in the
//! deadline timer's task. A panic must be journaled, must change nothing, and must not
//! stop the mock (or its timer) from doing what comes next.
#![allow(clippy::unwrap_used)] // test code: a failed setup or assertion should panic loudly

use std::sync::Arc;
use std::time::{Duration, Instant};

use glase_protocol::request::{GetPaymentStatus, RefundPayment, SendInvoice};
use glase_protocol::{
    Amount, ClientContext, Decimal, Invoice, InvoiceStatus, PaymentMode, Reply, Request, ResponseDetail, ResultCode,
    decode_reply, encode_request,
};

use crate::clock::{ManualClock, Timestamp};
use crate::config::{Config, demo};
use crate::journal::{Entry, Filter, Record};
use crate::machine::TestHook;
use crate::mock::Mock;

fn context() -> Option<ClientContext> {
    Some(ClientContext::for_terminal(demo::TERMINAL_ID, demo::PASSWORD, "panic-tests", "p-1"))
}

fn eur(value: &str) -> Option<Amount> {
    Some(Amount::new(value.parse::<Decimal>().unwrap(), "EUR"))
}

async fn call(mock: &Mock, request: &Request) -> glase_protocol::Response {
    let mut body = Vec::new();
    encode_request(request, &mut body);
    let answer = mock.handle_soap("/extclientproxy/service/v2", &body).await;
    match decode_reply(&answer.body).unwrap() {
        Reply::Response(response) => response,
        Reply::Fault(fault) => panic!("a fault: {fault:?}"),
    }
}

/// A confirmed IMMEDIATE_DEBIT invoice (its status not fetched yet).
async fn paid(mock: &Mock, total: &str) -> String {
    let request = Request::SendInvoice(SendInvoice {
        context: context(),
        invoice: Some(Invoice {
            payment_mode: Some(PaymentMode::ImmediateDebit),
            total_amount: eur(total),
            ..Invoice::default()
        }),
        tokens: Vec::new(),
    });
    let ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } = call(mock, &request).await.detail
    else {
        panic!("no invoice reference")
    };
    mock.confirm(&reference, None, None).unwrap();
    reference
}

async fn acknowledge(mock: &Mock, reference: &str) -> String {
    let request = Request::GetPaymentStatus(GetPaymentStatus {
        context: context(),
        invoice_reference: Some(reference.to_owned()),
        invoice_version: Some(0),
    });
    call(mock, &request).await.ers_reference.unwrap()
}

fn refund(ers: &str, amount: &str) -> Request {
    Request::RefundPayment(RefundPayment {
        context: context(),
        ers_reference: Some(ers.to_owned()),
        invoice: Some(Invoice { total_amount: eur(amount), ..Invoice::default() }),
    })
}

fn panics(mock: &Mock) -> Vec<Entry> {
    mock.journal(&Filter::default())
        .into_iter()
        .filter(|e| matches!(&e.record, Record::Control { action, .. } if action == "panic"))
        .collect()
}

fn balance(mock: &Mock) -> Decimal {
    mock.customer(demo::CUSTOMER_MSISDN).unwrap().balance
}

fn status(mock: &Mock, reference: &str) -> InvoiceStatus {
    mock.invoice(reference).unwrap().record.status
}

fn start() -> (Mock, ManualClock) {
    let clock = ManualClock::new(Timestamp(1_700_000_000_000));
    (Mock::new(&Config::default(), Arc::new(clock.clone())).unwrap(), clock)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_panic_in_refund_payment_answers_90_is_journaled_and_changes_nothing() {
    let (mock, _) = start();
    let reference = paid(&mock, "10.00").await;
    let ers = acknowledge(&mock, &reference).await;
    let before = balance(&mock);
    mock.inject_panic(TestHook::RefundPayment);
    assert_eq!(call(&mock, &refund(&ers, "4.00")).await.result_code, ResultCode::SYSTEM_ERROR);
    // Not recorded without its credit, and not credited: nothing happened.
    let payment = mock.invoice(&reference).unwrap().payment.unwrap();
    assert!(payment.refunds.is_empty());
    assert_eq!(balance(&mock), before);
    let journaled = panics(&mock);
    assert_eq!(journaled.len(), 1, "{journaled:?}");
    let Record::Control { detail, .. } = &journaled[0].record else { unreachable!("filtered") };
    assert!(detail.contains("refundPayment panicked: injected panic at RefundPayment"), "{detail}");
    assert_eq!(journaled[0].invoice.as_deref(), Some(reference.as_str()), "filed under the payment's invoice");
    assert_eq!(journaled[0].merchant.as_deref(), Some(demo::MERCHANT_ID));
    // The SOAP exchange itself is on record too, with the answer sent.
    let codes: Vec<Option<i32>> = mock
        .journal(&Filter { invoice: Some(reference.clone()), ..Filter::default() })
        .iter()
        .filter_map(|e| match &e.record {
            Record::SoapResponse { operation: Some(op), result_code, .. } if op == "refundPayment" => {
                Some(*result_code)
            }
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![Some(90)]);
    // The mock carries on: the same refund now goes through, once.
    assert_eq!(call(&mock, &refund(&ers, "4.00")).await.result_code, ResultCode::SUCCESS);
    assert_eq!(balance(&mock), before + Decimal::new(400, 2));
}

#[tokio::test]
async fn a_panic_while_cancelling_a_reservation_answers_90_and_changes_nothing() {
    let (mock, _) = start();
    let reference = paid(&mock, "10.00").await;
    let issued = {
        let request = Request::SendInvoice(SendInvoice {
            context: context(),
            invoice: Some(Invoice {
                payment_mode: Some(PaymentMode::ReservationRequired),
                total_amount: eur("3.00"),
                ..Invoice::default()
            }),
            tokens: Vec::new(),
        });
        match call(&mock, &request).await.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(r), .. } => r,
            other => panic!("{other:?}"),
        }
    };
    mock.confirm(&issued, None, None).unwrap();
    mock.inject_panic(TestHook::CloseUnpaid);
    // The merchant cancels the reservation: the panic comes before any change.
    let cancel = Request::CancelInvoice(glase_protocol::request::CancelInvoice {
        context: context(),
        invoice_reference: Some(issued.clone()),
    });
    let before = balance(&mock);
    assert_eq!(call(&mock, &cancel).await.result_code, ResultCode::SYSTEM_ERROR);
    assert_eq!(status(&mock, &issued), InvoiceStatus::Reserved);
    assert_eq!(mock.invoice(&issued).unwrap().record.reserved_amount, Some(Decimal::new(300, 2)));
    assert_eq!(balance(&mock), before);
    assert_eq!(status(&mock, &reference), InvoiceStatus::Paid);
    assert_eq!(call(&mock, &cancel).await.result_code, ResultCode::SUCCESS);
    assert_eq!(balance(&mock), before + Decimal::new(300, 2));
}

#[tokio::test]
async fn a_panic_while_reversing_drops_that_deadline_and_the_timer_still_reverses_the_others() {
    let (mock, clock) = start();
    let server = crate::server::spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.unwrap();
    let first = paid(&mock, "10.00").await;
    let second = paid(&mock, "5.00").await;
    let before = balance(&mock);
    mock.inject_panic(TestHook::Reversal);
    clock.advance(Duration::from_secs(20));
    wait_for("the timer to reverse the second payment", || status(&mock, &second) == InvoiceStatus::Canceled).await;
    // The first reversal panicked before changing anything: the invoice is as it was.
    assert_eq!(status(&mock, &first), InvoiceStatus::Paid);
    assert!(!mock.invoice(&first).unwrap().payment.unwrap().reversed);
    assert_eq!(balance(&mock), before + Decimal::new(500, 2), "only the second payment went back");
    let journaled = panics(&mock);
    assert_eq!(journaled.len(), 1, "{journaled:?}");
    assert_eq!(journaled[0].invoice.as_deref(), Some(first.as_str()), "filed under the invoice it was about");
    // The timer lives on: a later payment is reversed with no request arriving.
    let third = paid(&mock, "2.00").await;
    clock.advance(Duration::from_secs(20));
    wait_for("the timer to reverse the third payment", || status(&mock, &third) == InvoiceStatus::Canceled).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_panic_in_the_timer_task_is_journaled_and_the_task_restarts() {
    let (mock, clock) = start();
    mock.inject_panic(TestHook::TimerTick);
    let server = crate::server::spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.unwrap();
    wait_for("the timer's panic to be journaled", || !panics(&mock).is_empty()).await;
    let Record::Control { detail, .. } = &panics(&mock)[0].record else { unreachable!("filtered") };
    assert!(detail.contains("the deadline timer panicked") && detail.contains("restarting it"), "{detail}");
    let reference = paid(&mock, "10.00").await;
    clock.advance(Duration::from_secs(20));
    wait_for("the restarted timer to reverse the payment", || status(&mock, &reference) == InvoiceStatus::Canceled)
        .await;
    server.shutdown().await;
}
