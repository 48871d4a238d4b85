//! The state machine, single thread, no runtime: each operation on prepared state, and
//! whole lifecycles — a reservation (send → scan → confirm → status → update → commit)
//! and a webshop payment (send → confirm → status).
//!
//! The constant parts of the requests are built once, outside the timed loop, so the
//! figures are the machine's; what a real caller cannot avoid stays in: the reference of
//! each new invoice is moved into the next request, and every answer is dropped.
//! Operations are timed on invoices prepared untimed, in chunks, each chunk on a fresh
//! machine, so the state never grows without bound (sendInvoice alone would otherwise
//! pile up open invoices, which no retention may drop).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glase_protocol::request::{CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice};
use glase_protocol::{Amount, ClientContext, Decimal, Invoice, PaymentMode, Request};
use mock_glase::config::Config;
use mock_glase::{Machine, Timestamp};

const CUSTOMER: &str = "483344323423";
/// Invoices prepared per fresh machine in the per-operation benches.
const CHUNK: u64 = 20_000;

fn context() -> Option<ClientContext> {
    glase_benches::demo_terminal_context()
}

fn invoice(mode: PaymentMode, total: Decimal) -> Invoice {
    glase_benches::one_row_invoice(mode, total)
}

/// A machine (default retention) whose demo customer can afford any number of payments.
fn machine() -> Machine {
    let config = Config::default().resolved().expect("demo config is valid");
    let mut machine = Machine::new(&config, 1);
    machine.set_customer(CUSTOMER, None, Some(Decimal::from(1_000_000_000_000u64)));
    machine
}

/// The requests of a lifecycle, built once; each lifecycle only sets the reference.
struct Requests {
    send: Request,
    status: Request,
    update: Request,
    commit: Request,
}

impl Requests {
    fn new(mode: PaymentMode) -> Self {
        let (total, final_total) = (Decimal::new(2000, 2), Decimal::new(1250, 2));
        Self {
            send: Request::SendInvoice(SendInvoice {
                context: context(),
                invoice: Some(invoice(mode, total)),
                tokens: vec![],
            }),
            status: Request::GetPaymentStatus(GetPaymentStatus {
                context: context(),
                invoice_reference: None,
                invoice_version: Some(0),
            }),
            update: Request::UpdateInvoice(UpdateInvoice {
                context: context(),
                invoice_reference: None,
                invoice: Some(invoice(mode, final_total)),
                tokens: vec![],
            }),
            commit: Request::CommitReservation(CommitReservation {
                context: context(),
                invoice_reference: None,
                amount: Some(Amount::new(final_total, "EUR")),
            }),
        }
    }
}

/// Points a request at an invoice, reusing the request's allocation where it can.
fn aim(request: &mut Request, reference: &str) {
    let slot = match request {
        Request::GetPaymentStatus(r) => &mut r.invoice_reference,
        Request::UpdateInvoice(r) => &mut r.invoice_reference,
        Request::CommitReservation(r) => &mut r.invoice_reference,
        _ => return,
    };
    match slot {
        Some(s) => {
            s.clear();
            s.push_str(reference);
        }
        None => *slot = Some(reference.to_owned()),
    }
}

fn send(machine: &mut Machine, request: &Request, now: Timestamp) -> String {
    glase_benches::sent_reference(machine.apply(request, now).reply)
}

/// How far an invoice is brought, untimed, before the timed operation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Nothing,
    Issued,
    Scanned,
    Reserved,
    Acknowledged,
}

/// Times `op` on `iters` invoices, each prepared (untimed) up to `stage`.
fn time_operation(
    iters: u64,
    stage: Stage,
    mut op: impl FnMut(&mut Machine, &mut Requests, Option<&str>, Timestamp),
) -> Duration {
    let mut requests = Requests::new(PaymentMode::ReservationRequired);
    let mut total = Duration::ZERO;
    let mut done = 0;
    let now = Timestamp(1_700_000_000_000);
    while done < iters {
        let chunk = CHUNK.min(iters - done);
        let mut m = machine();
        let mut references = Vec::with_capacity(chunk as usize);
        if stage >= Stage::Issued {
            for _ in 0..chunk {
                let reference = send(&mut m, &requests.send, now);
                if stage >= Stage::Scanned {
                    m.open_invoice(&reference, None, now).expect("open");
                }
                if stage >= Stage::Reserved {
                    m.confirm(&reference, None, None, now).expect("confirm");
                }
                if stage >= Stage::Acknowledged {
                    aim(&mut requests.status, &reference);
                    m.apply(&requests.status, now);
                }
                references.push(reference);
            }
        }
        let started = Instant::now();
        if references.is_empty() {
            for _ in 0..chunk {
                op(&mut m, &mut requests, None, now);
            }
        } else {
            for reference in &references {
                op(&mut m, &mut requests, Some(reference), now);
            }
        }
        total += started.elapsed();
        done += chunk;
        drop(m);
    }
    total
}

fn operations(c: &mut Criterion) {
    let mut group = c.benchmark_group("machine/op");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sendInvoice", |b| {
        b.iter_custom(|iters| {
            time_operation(iters, Stage::Nothing, |m, r, _, now| {
                black_box(m.apply(&r.send, now));
            })
        });
    });
    group.bench_function("scan", |b| {
        b.iter_custom(|iters| {
            // The QR text is what the app reads; building it is the app's cost, not the
            // machine's, but it is one small string and stays in.
            time_operation(iters, Stage::Issued, |m, _, reference, now| {
                let qr = Machine::invoice_qr(reference.unwrap_or_default());
                black_box(m.scan(&qr, None, now).expect("scan"));
            })
        });
    });
    group.bench_function("confirm", |b| {
        b.iter_custom(|iters| {
            time_operation(iters, Stage::Scanned, |m, _, reference, now| {
                black_box(m.confirm(reference.unwrap_or_default(), None, Some("1234"), now).expect("confirm"));
            })
        });
    });
    group.bench_function("getPaymentStatus", |b| {
        b.iter_custom(|iters| {
            time_operation(iters, Stage::Reserved, |m, r, reference, now| {
                aim(&mut r.status, reference.unwrap_or_default());
                black_box(m.apply(&r.status, now));
            })
        });
    });
    group.bench_function("updateInvoice", |b| {
        b.iter_custom(|iters| {
            time_operation(iters, Stage::Acknowledged, |m, r, reference, now| {
                aim(&mut r.update, reference.unwrap_or_default());
                black_box(m.apply(&r.update, now));
            })
        });
    });
    group.bench_function("commitReservation", |b| {
        b.iter_custom(|iters| {
            time_operation(iters, Stage::Acknowledged, |m, r, reference, now| {
                aim(&mut r.commit, reference.unwrap_or_default());
                black_box(m.apply(&r.commit, now));
            })
        });
    });
    group.finish();
}

fn lifecycles(c: &mut Criterion) {
    let mut group = c.benchmark_group("machine/lifecycle");
    group.throughput(Throughput::Elements(1));

    let mut m = machine();
    let mut r = Requests::new(PaymentMode::ReservationRequired);
    let mut now = Timestamp(1_700_000_000_000);
    group.bench_function("reservation", |b| {
        b.iter(|| {
            now = Timestamp(now.as_millis() + 1);
            let reference = send(&mut m, &r.send, now);
            m.scan(&Machine::invoice_qr(&reference), None, now).expect("scan");
            m.confirm(&reference, None, Some("1234"), now).expect("confirm");
            aim(&mut r.status, &reference);
            m.apply(&r.status, now);
            aim(&mut r.update, &reference);
            m.apply(&r.update, now);
            aim(&mut r.commit, &reference);
            m.apply(&r.commit, now)
        });
    });

    let mut m = machine();
    let mut r = Requests::new(PaymentMode::ImmediateDebit);
    let mut now = Timestamp(1_700_000_000_000);
    group.bench_function("webshop", |b| {
        b.iter(|| {
            now = Timestamp(now.as_millis() + 1);
            let reference = send(&mut m, &r.send, now);
            m.confirm(&reference, None, None, now).expect("confirm");
            aim(&mut r.status, &reference);
            m.apply(&r.status, now)
        });
    });
    group.finish();
}

criterion_group!(benches, operations, lifecycles);
criterion_main!(benches);
