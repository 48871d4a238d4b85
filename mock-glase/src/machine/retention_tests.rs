//! The retention of finished invoices (see [`super::store`]), driven through the
//! machine's public API.

use glase_protocol::request::{ExecuteReport, GetPaymentStatus, MarkTransactionPeriod, RefundPayment, SendInvoice};
use glase_protocol::{
    Amount, ClientContext, Decimal, Invoice, InvoiceStatus, Parameters, PaymentMode, Reply, Request, Response,
    ResponseDetail, ResultCode,
};

use super::Machine;
use crate::clock::Timestamp;
use crate::config::Config;

const START: u64 = 1_700_000_000_000;
/// The demo config's status deadline.
const STATUS_DEADLINE_MS: u64 = 20_000;

fn machine(retention: usize) -> Machine {
    let mut config = Config::default();
    config.retention.finished_invoices = retention;
    let config = config.resolved().expect("the demo config is valid");
    let mut machine = Machine::new(&config, 7);
    machine.set_customer("483344323423", None, Some(Decimal::from(1_000_000u64)));
    machine
}

fn context() -> Option<ClientContext> {
    Some(ClientContext::for_terminal("demo-terminal", "demo1234", "test", "test-1"))
}

fn response(machine: &mut Machine, request: &Request, now: u64) -> Response {
    match machine.apply(request, Timestamp(now)).reply {
        Reply::Response(response) => response,
        Reply::Fault(fault) => panic!("fault {fault:?}"),
    }
}

fn send(machine: &mut Machine, now: u64) -> String {
    let total = Some(Amount::new(Decimal::TEN, "EUR"));
    let invoice =
        Invoice { payment_mode: Some(PaymentMode::ImmediateDebit), total_amount: total, ..Invoice::default() };
    let request = Request::SendInvoice(SendInvoice { context: context(), invoice: Some(invoice), tokens: vec![] });
    match response(machine, &request, now).detail {
        ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
        other => panic!("sendInvoice failed: {other:?}"),
    }
}

fn status(machine: &mut Machine, reference: &str, now: u64) -> ResultCode {
    let request = Request::GetPaymentStatus(GetPaymentStatus {
        context: context(),
        invoice_reference: Some(reference.to_owned()),
        invoice_version: None,
    });
    response(machine, &request, now).result_code
}

/// Issues and pays an invoice; `acknowledge` fetches the status right away.
fn pay(machine: &mut Machine, now: u64, acknowledge: bool) -> String {
    let reference = send(machine, now);
    machine.confirm(&reference, None, None, Timestamp(now)).expect("confirm");
    if acknowledge {
        assert_eq!(status(machine, &reference, now), ResultCode::SUCCESS);
    }
    reference
}

fn finished(machine: &Machine) -> usize {
    machine.invoices().filter(|r| r.is_final()).count()
}

#[test]
fn the_oldest_finished_invoices_go_first_and_then_answer_like_unknown_ones() {
    let mut m = machine(3);
    let paid: Vec<String> = (0..5).map(|i| pay(&mut m, START + i, true)).collect();
    assert_eq!(finished(&m), 3);
    for gone in &paid[..2] {
        assert!(m.invoice(gone).is_none(), "{gone} should be evicted");
    }
    for kept in &paid[2..] {
        assert_eq!(m.invoice(kept).map(|r| r.status), Some(InvoiceStatus::Paid));
    }
    // An evicted invoice answers exactly like one that never existed.
    let never = "99999999999999999";
    assert_eq!(status(&mut m, &paid[0], START + 10), ResultCode::INVALID_INVOICE_REFERENCE);
    assert_eq!(status(&mut m, never, START + 10), ResultCode::INVALID_INVOICE_REFERENCE);
    assert!(m.scan(&Machine::invoice_qr(&paid[0]), None, Timestamp(START + 10)).is_err());
}

#[test]
fn an_evicted_payment_and_its_refunds_are_forgotten() {
    let mut m = machine(1);
    let first = pay(&mut m, START, true);
    let ers = m.invoice(&first).and_then(|r| r.ers_reference.clone()).expect("paid");
    let refund = |m: &mut Machine, now| {
        let total = Some(Amount::new(Decimal::ONE, "EUR"));
        let request = Request::RefundPayment(RefundPayment {
            context: context(),
            ers_reference: Some(ers.to_string()),
            invoice: Some(Invoice { total_amount: total, ..Invoice::default() }),
        });
        response(m, &request, now)
    };
    let refunded = refund(&mut m, START + 1);
    assert_eq!(refunded.result_code, ResultCode::SUCCESS);
    let refund_ers = refunded.ers_reference.expect("a refund has an ersReference");
    assert_eq!(m.invoice_of_ers(&refund_ers), Some(first.as_str()));

    pay(&mut m, START + 2, true);
    assert!(m.invoice(&first).is_none() && m.payment(&ers).is_none());
    assert_eq!(m.invoice_of_ers(&refund_ers), None);
    assert_eq!(refund(&mut m, START + 3).result_code, ResultCode::INVALID_ERS_REFERENCE);
}

#[test]
fn invoices_that_are_not_final_are_never_evicted() {
    let mut m = machine(1);
    let open: Vec<String> = (0..3).map(|i| send(&mut m, START + i)).collect();
    for i in 0..4 {
        pay(&mut m, START + 10 + i, true);
    }
    assert_eq!(finished(&m), 1);
    for reference in &open {
        assert_eq!(m.invoice(reference).map(|r| r.status), Some(InvoiceStatus::Issued));
    }
    assert_eq!(m.invoice_count(), 4);
}

#[test]
fn an_invoice_waiting_for_its_status_acknowledgement_is_kept_until_it_is_settled() {
    let mut m = machine(1);
    let waiting = pay(&mut m, START, false);
    let acknowledged = pay(&mut m, START + 1, true);
    // Two finished invoices, limit 1: the older one still has its deadline armed, so
    // the newer one goes.
    assert!(m.invoice(&waiting).is_some());
    assert!(m.invoice(&acknowledged).is_none());
    assert_eq!(status(&mut m, &waiting, START + 2), ResultCode::SUCCESS);
    let newest = pay(&mut m, START + 3, true);
    assert!(m.invoice(&waiting).is_none(), "acknowledged now, and the oldest");
    assert!(m.invoice(&newest).is_some());

    // One that is never acknowledged is reversed at its deadline, and then it may go.
    let reversed = pay(&mut m, START + 4, false);
    let later = START + 4 + STATUS_DEADLINE_MS;
    m.expire(Timestamp(later));
    assert!(m.invoice(&newest).is_none());
    assert_eq!(m.invoice(&reversed).map(|r| r.status), Some(InvoiceStatus::Canceled));
    pay(&mut m, later + 1, true);
    assert!(m.invoice(&reversed).is_none());
    assert_eq!(finished(&m), 1);
}

#[test]
fn a_limit_of_zero_keeps_everything() {
    let mut m = machine(0);
    let paid: Vec<String> = (0..50).map(|i| pay(&mut m, START + i, true)).collect();
    assert_eq!(finished(&m), 50);
    assert!(paid.iter().all(|reference| m.invoice(reference).is_some()));
    assert_eq!(m.retention(), 0);
}

#[test]
fn the_default_keeps_fifty_thousand_finished_invoices() {
    assert_eq!(Config::default().retention.finished_invoices, 50_000);
    let m = machine(Config::default().retention.finished_invoices);
    assert_eq!(m.retention(), 50_000);
}

#[test]
fn reports_keep_the_newest_transactions_up_to_the_same_limit() {
    let mut m = machine(2);
    let paid: Vec<String> = (0..3).map(|i| pay(&mut m, START + i, true)).collect();
    let mark = Request::MarkTransactionPeriod(MarkTransactionPeriod { context: context(), parameters: None });
    let period = match response(&mut m, &mark, START + 10).detail {
        ResponseDetail::MarkTransactionPeriod { transaction_period_id: Some(id) } => id,
        other => panic!("markTransactionPeriod failed: {other:?}"),
    };
    let report = Request::ExecuteReport(ExecuteReport {
        context: context(),
        report_id: Some("Reconciliation/STD_RECON_003.xml".to_owned()),
        language: None,
        parameters: Some(Parameters::from_pairs([("transactionPeriodId", period.as_str())])),
    });
    // Well after the report-ready delay.
    let content = match response(&mut m, &report, START + 60_000).detail {
        ResponseDetail::ExecuteReport { report: Some(report) } => report.content_string.unwrap_or_default(),
        other => panic!("executeReport failed: {other:?}"),
    };
    assert_eq!(content.matches("<Row>").count(), 2, "{content}");
    assert!(!content.contains(&format!("<InvoiceReference>{}<", paid[0])), "{content}");
    for kept in &paid[1..] {
        assert!(content.contains(&format!("<InvoiceReference>{kept}<")), "{content}");
    }
}

#[test]
fn reused_slots_never_fire_somebody_elses_deadline() {
    use super::Event;
    // Retention 1 reuses slots all the time; every other payment is left unacknowledged
    // and must be reversed exactly at its own deadline, and no other.
    let mut m = machine(1);
    let mut due = std::collections::BTreeMap::new();
    let mut reversed = Vec::new();
    let mut collect = |events: &[Event]| {
        for event in events {
            if let Event::Transition { invoice, to: InvoiceStatus::Canceled, reason, .. } = event {
                assert_eq!(reason, "reversed: status not fetched");
                reversed.push(invoice.clone());
            }
        }
    };
    let mut now = START;
    for i in 0..60u64 {
        now += 7_000;
        collect(&m.expire(Timestamp(now)).events);
        let reference = send(&mut m, now);
        let (_, fx) = m.confirm(&reference, None, None, Timestamp(now)).expect("confirm");
        collect(&fx.events);
        if i % 2 == 0 {
            assert_eq!(status(&mut m, &reference, now), ResultCode::SUCCESS);
        } else {
            due.insert(reference, now + STATUS_DEADLINE_MS);
        }
    }
    collect(&m.expire(Timestamp(now + STATUS_DEADLINE_MS)).events);
    let expected: Vec<String> = {
        let mut by_deadline: Vec<(u64, String)> = due.into_iter().map(|(r, at)| (at, r)).collect();
        by_deadline.sort();
        by_deadline.into_iter().map(|(_, r)| r).collect()
    };
    assert_eq!(reversed, expected);
}
