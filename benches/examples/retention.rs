//! Completes many reservation lifecycles (send → scan → confirm → status → update →
//! commit) through the state machine and prints the peak resident memory, to check the
//! memory bound of `retention.finished_invoices`. Peak RSS is per process, so run once
//! per setting:
//!
//! ```text
//! cargo build --profile bench -p glase-benches --example retention
//! target/release/examples/retention 1000000 50000    # the default retention
//! target/release/examples/retention 1000000 0        # keep everything
//! ```

use std::time::Instant;

use glase_benches::peak_and_current_rss_mib as memory;
use glase_protocol::request::{CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice};
use glase_protocol::{Amount, ClientContext, Decimal, Invoice, PaymentMode, Request};
use mock_glase::config::Config;
use mock_glase::{Machine, Timestamp};

fn context() -> Option<ClientContext> {
    glase_benches::demo_terminal_context()
}

fn invoice(total: Decimal) -> Invoice {
    glase_benches::one_row_invoice(PaymentMode::ReservationRequired, total)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let retention: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(50_000);

    let mut config = Config::default();
    config.retention.finished_invoices = retention;
    let config = config.resolved().expect("the demo config is valid");
    let mut machine = Machine::new(&config, 1);
    machine.set_customer("483344323423", None, Some(Decimal::from(1_000_000_000_000u64)));
    let (before, _) = memory();
    println!(
        "sizes: InvoiceRecord {} B (Invoice {} B), Payment {} B",
        size_of::<mock_glase::machine::InvoiceRecord>(),
        size_of::<Invoice>(),
        size_of::<mock_glase::machine::Payment>(),
    );

    let (total, final_total) = (Decimal::new(2000, 2), Decimal::new(1250, 2));
    let send = Request::SendInvoice(SendInvoice { context: context(), invoice: Some(invoice(total)), tokens: vec![] });
    let started = Instant::now();
    // One lifecycle per simulated millisecond: well inside every deadline.
    let mut now = 1_700_000_000_000u64;
    for i in 0..count {
        now += 1;
        let at = Timestamp(now);
        let reference = glase_benches::sent_reference(machine.apply(&send, at).reply);
        machine.scan(&Machine::invoice_qr(&reference), None, at).expect("scan");
        machine.confirm(&reference, None, Some("1234"), at).expect("confirm");
        let status = GetPaymentStatus {
            context: context(),
            invoice_reference: Some(reference.clone()),
            invoice_version: Some(0),
        };
        machine.apply(&Request::GetPaymentStatus(status), at);
        let update = UpdateInvoice {
            context: context(),
            invoice_reference: Some(reference.clone()),
            invoice: Some(invoice(final_total)),
            tokens: vec![],
        };
        machine.apply(&Request::UpdateInvoice(update), at);
        let commit = CommitReservation {
            context: context(),
            invoice_reference: Some(reference),
            amount: Some(Amount::new(final_total, "EUR")),
        };
        machine.apply(&Request::CommitReservation(commit), at);
        if (i + 1) % (count / 4).max(1) == 0 {
            let (peak, rss) = memory();
            println!("{:>9} lifecycles: RSS {rss:.0} MiB, peak {peak:.0} MiB", i + 1);
        }
    }
    let elapsed = started.elapsed();
    let (peak, rss) = memory();
    println!(
        "retention {retention} ({}): {count} invoices completed in {elapsed:.2?}; {} invoices held; \
         RSS {rss:.0} MiB, peak (VmHWM) {peak:.0} MiB, {before:.0} MiB before the first invoice",
        if retention == 0 { "keep everything" } else { "finished invoices kept" },
        machine.invoice_count(),
    );
}
