//! The state machine's lifecycles per second, single thread, no runtime: a complete
//! reservation (send → scan → confirm → status → update → commit) and a webshop
//! payment (send → confirm → status).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glase_protocol::request::{CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice};
use glase_protocol::{Amount, ClientContext, Decimal, Invoice, InvoiceRow, PaymentMode, Request, ResponseDetail};
use mock_glase::config::Config;
use mock_glase::{Machine, Timestamp};

fn context() -> Option<ClientContext> {
    Some(ClientContext::for_terminal("demo-terminal", "demo1234", "bench", "bench-1"))
}

fn invoice(mode: PaymentMode, total: Decimal) -> Invoice {
    Invoice {
        payment_mode: Some(mode),
        invoice_rows: Some(vec![InvoiceRow {
            item_quantity: Some(Decimal::ONE),
            item_total_amount: Some(Amount::new(total, "EUR")),
            ..InvoiceRow::default()
        }]),
        total_amount: Some(Amount::new(total, "EUR")),
        ..Invoice::default()
    }
}

fn send(machine: &mut Machine, mode: PaymentMode, total: Decimal, now: Timestamp) -> String {
    let request =
        Request::SendInvoice(SendInvoice { context: context(), invoice: Some(invoice(mode, total)), tokens: vec![] });
    match machine.apply(&request, now).reply {
        glase_protocol::Reply::Response(r) => match r.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
            _ => panic!("sendInvoice failed: {}", r.result_code),
        },
        glase_protocol::Reply::Fault(f) => panic!("fault {f:?}"),
    }
}

fn status(reference: &str) -> Request {
    Request::GetPaymentStatus(GetPaymentStatus {
        context: context(),
        invoice_reference: Some(reference.to_owned()),
        invoice_version: Some(0),
    })
}

/// A machine whose demo customer can afford any number of lifecycles.
fn machine() -> Machine {
    let config = Config::default().resolved().expect("demo config is valid");
    let mut machine = Machine::new(&config, 1);
    machine.set_customer("483344323423", None, Some(Decimal::from(1_000_000_000_000u64)));
    machine
}

fn lifecycles(c: &mut Criterion) {
    let mut group = c.benchmark_group("machine/lifecycle");
    group.throughput(Throughput::Elements(1));
    let (total, final_total) = (Decimal::new(2000, 2), Decimal::new(1250, 2));

    let mut m = machine();
    let mut now = Timestamp(1_700_000_000_000);
    group.bench_function("reservation", |b| {
        b.iter(|| {
            now = Timestamp(now.as_millis() + 1);
            let reference = send(&mut m, PaymentMode::ReservationRequired, total, now);
            m.scan(&format!("HTTP://SEQR.SE/R{reference}"), None, now).expect("scan");
            m.confirm(&reference, None, Some("1234"), now).expect("confirm");
            m.apply(&status(&reference), now);
            let update = Request::UpdateInvoice(UpdateInvoice {
                context: context(),
                invoice_reference: Some(reference.clone()),
                invoice: Some(invoice(PaymentMode::ReservationRequired, final_total)),
                tokens: vec![],
            });
            m.apply(&update, now);
            let commit = Request::CommitReservation(CommitReservation {
                context: context(),
                invoice_reference: Some(reference),
                amount: Some(Amount::new(final_total, "EUR")),
            });
            m.apply(&commit, now)
        });
    });

    let mut m = machine();
    let mut now = Timestamp(1_700_000_000_000);
    group.bench_function("webshop", |b| {
        b.iter(|| {
            now = Timestamp(now.as_millis() + 1);
            let reference = send(&mut m, PaymentMode::ImmediateDebit, total, now);
            m.confirm(&reference, None, None, now).expect("confirm");
            m.apply(&status(&reference), now)
        });
    });
    group.finish();
}

criterion_group!(benches, lifecycles);
criterion_main!(benches);
