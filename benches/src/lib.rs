//! Benchmarks live in `benches/` (criterion: the state machine, the codec, the HTTP path
//! through the router); `src/bin/glase-baseline.rs` is the trivial axum server that
//! `scripts/bench-http` load-tests mock-glase against.

use glase_protocol::{
    Amount, ClientContext, Decimal, Invoice, InvoiceRow, PaymentMode, Reply, Request, ResponseDetail,
};

/// The demo terminal's credentials, as every bench and example calls with them.
pub fn demo_terminal_context() -> Option<ClientContext> {
    Some(ClientContext::for_terminal("demo-terminal", "demo1234", "bench", "bench-1"))
}

/// An invoice of one row of `total` EUR, in `mode`: the smallest valid sendInvoice.
pub fn one_row_invoice(mode: PaymentMode, total: Decimal) -> Invoice {
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

/// `request` as the SOAP bytes a client sends.
pub fn encoded(request: &Request) -> Vec<u8> {
    let mut body = Vec::new();
    glase_protocol::encode_request(request, &mut body);
    body
}

/// The invoiceReference of a successful sendInvoice answer. Benches drive the demo
/// terminal with valid invoices, so anything else is a broken bench: it panics, saying
/// what came back.
pub fn sent_reference(reply: Reply) -> String {
    match reply {
        Reply::Response(r) => match r.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
            _ => panic!("sendInvoice failed: {}", r.result_code),
        },
        Reply::Fault(f) => panic!("sendInvoice answered a fault: {f:?}"),
    }
}

/// This process's peak (`VmHWM`) and current (`VmRSS`) resident memory in MiB, from
/// /proc/self/status (NaN where it cannot be read).
pub fn peak_and_current_rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
