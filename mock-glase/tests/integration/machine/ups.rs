//! The UPS's judgement of createPurchase answers, without sockets.

use glase_protocol::{PaymentMode, ResponseDetail};
use mock_glase::machine::ups::{PurchaseAnswer, PurchaseOutcome, ScanOptions};

use crate::machine::support::*;

const WITH_URL: &str = r#"
[[resellers]]
id = "vend"
user_id = "5"
password = "vendpass"
create_purchase_url = "https://vend.example/seqr/createPurchase"
[[terminals]]
id = "vend-till"
password = "tillpass"
reseller = "vend"
"#;

fn answer(reference: &str) -> PurchaseAnswer {
    PurchaseAnswer::Http {
        status: 200,
        content_type: Some("application/json;charset=UTF-8".to_owned()),
        body: format!(r#"{{"invoiceReferenceId":"{reference}"}}"#),
    }
}

#[test]
fn one_invoice_cannot_answer_two_concurrent_create_purchase_calls() {
    let mut w = World::with_toml(WITH_URL);
    let now = w.now;
    let options = ScanOptions::default();
    let (first, _) = w.machine.begin_purchase("vend", "machine-1", None, &options, now).unwrap();
    let (second, _) = w.machine.begin_purchase("vend", "machine-2", None, &options, now).unwrap();
    // The merchant sends one invoice while both calls are open: both calls see it.
    let request =
        by(terminal_as("vend-till", "tillpass"), send_invoice(invoice("20.00", PaymentMode::ReservationRequired)));
    let reference = match w.call(&request).detail {
        ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
        other => panic!("no invoiceReference: {other:?}"),
    };
    let (report, _) = w.machine.finish_purchase(first.id, &answer(&reference), now).unwrap();
    assert_eq!(report.outcome, PurchaseOutcome::Accepted { invoice_reference: reference.clone() });
    let (report, _) = w.machine.finish_purchase(second.id, &answer(&reference), now).unwrap();
    let PurchaseOutcome::Violation { violation } = report.outcome else { panic!("{:?}", report.outcome) };
    assert!(violation.contains("already accepted"), "{violation}");
}
