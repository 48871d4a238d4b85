//! Runs a fixed number of state-machine lifecycles and prints the time per lifecycle.
//!
//! Criterion measures for a fixed *time*, so its instruction counts vary from run to run;
//! this runs a fixed *count*, which makes `valgrind --tool=callgrind` figures comparable
//! between builds. Run it with two counts and divide the difference by the difference of
//! the counts to get instructions per lifecycle without the start-up:
//!
//! ```text
//! cargo build --profile bench -p glase-benches --example lifecycles
//! valgrind --tool=callgrind target/release/examples/lifecycles reservation 20000
//! valgrind --tool=callgrind target/release/examples/lifecycles reservation 40000
//! ```
//!
//! To count allocations, run it under `valgrind --tool=dhat` the same way: the difference
//! of the "Total: … blocks" of the two counts, divided by the difference of the counts, is
//! the allocations per lifecycle.

use std::time::Instant;

use glase_protocol::request::{CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice};
use glase_protocol::{Amount, ClientContext, Decimal, Invoice, PaymentMode, Reply, Request};
use mock_glase::config::Config;
use mock_glase::{Machine, Timestamp};

fn context() -> Option<ClientContext> {
    glase_benches::demo_terminal_context()
}

fn invoice(mode: PaymentMode, total: Decimal) -> Invoice {
    glase_benches::one_row_invoice(mode, total)
}

fn reference_of(reply: Reply) -> String {
    glase_benches::sent_reference(reply)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "reservation".to_owned());
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);

    let config = Config::default().resolved().expect("the demo config is valid");
    let mut machine = Machine::new(&config, 1);
    machine.set_customer("483344323423", None, Some(Decimal::from(1_000_000_000_000u64)));

    let (total, final_total) = (Decimal::new(2000, 2), Decimal::new(1250, 2));
    let mode = if kind == "webshop" { PaymentMode::ImmediateDebit } else { PaymentMode::ReservationRequired };
    // The constant parts of the requests are built once; each lifecycle only sets the
    // new invoice's reference.
    let send =
        Request::SendInvoice(SendInvoice { context: context(), invoice: Some(invoice(mode, total)), tokens: vec![] });
    let mut status = GetPaymentStatus { context: context(), invoice_reference: None, invoice_version: Some(0) };
    let mut update = UpdateInvoice {
        context: context(),
        invoice_reference: None,
        invoice: Some(invoice(mode, final_total)),
        tokens: vec![],
    };
    let mut commit = CommitReservation {
        context: context(),
        invoice_reference: None,
        amount: Some(Amount::new(final_total, "EUR")),
    };

    let started = Instant::now();
    let mut now = 1_700_000_000_000u64;
    for _ in 0..count {
        now += 1;
        let at = Timestamp(now);
        let reference = reference_of(machine.apply(&send, at).reply);
        if kind == "webshop" {
            machine.confirm(&reference, None, None, at).expect("confirm");
            status.invoice_reference = Some(reference);
            let request = Request::GetPaymentStatus(status);
            machine.apply(&request, at);
            let Request::GetPaymentStatus(back) = request else { unreachable!() };
            status = back;
        } else {
            let qr = Machine::invoice_qr(&reference);
            machine.scan(&qr, None, at).expect("scan");
            machine.confirm(&reference, None, Some("1234"), at).expect("confirm");
            status.invoice_reference = Some(reference.clone());
            let request = Request::GetPaymentStatus(status);
            machine.apply(&request, at);
            let Request::GetPaymentStatus(back) = request else { unreachable!() };
            status = back;
            update.invoice_reference = Some(reference.clone());
            let request = Request::UpdateInvoice(update);
            machine.apply(&request, at);
            let Request::UpdateInvoice(back) = request else { unreachable!() };
            update = back;
            commit.invoice_reference = Some(reference);
            let request = Request::CommitReservation(commit);
            machine.apply(&request, at);
            let Request::CommitReservation(back) = request else { unreachable!() };
            commit = back;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{kind}: {count} lifecycles in {elapsed:.2?}, {:.0} ns per lifecycle",
        elapsed.as_nanos() as f64 / count as f64
    );
}
