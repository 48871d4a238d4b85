//! The simulated app: QR codes (invoice and static terminal stickers), several customers,
//! and what each action may and may not do.

use glase_protocol::{InvoiceStatus, PaymentMode, ResultCode};
use mock_glase::config::demo;
use mock_glase::machine::CustomerError;
use mock_glase::machine::customer::Confirmation;

use crate::machine::result_codes::two_terminals;
use crate::machine::support::*;

#[test]
fn scanning_a_static_qr_opens_the_pending_invoice_of_that_terminal() {
    let mut w = two_terminals();
    assert_eq!(w.code(&assign_seqr_id("TILL42")), ResultCode::SUCCESS);
    let till2 = terminal_as("till-2", "till2pass");
    assert_eq!(w.code(&by(till2.clone(), assign_seqr_id("TILL43"))), ResultCode::SUCCESS);
    let now = w.now;
    assert!(matches!(w.machine.scan("HTTP://SEQR.SE/QTILL42", None, now), Err(CustomerError::NothingToPay(_))));

    let older = w.issue_eur("3.00", PaymentMode::ImmediateDebit);
    w.advance(1_000);
    let pending = w.issue_eur("4.00", PaymentMode::ImmediateDebit);
    // The other till has an invoice too; it must not be picked.
    let other = w.call(&by(till2, send_invoice(invoice("99.00", PaymentMode::ImmediateDebit))));
    assert_eq!(other.result_code, ResultCode::SUCCESS);

    let now = w.now;
    let (opened, _) = w.machine.scan("HTTP://SEQR.SE/QTILL42", None, now).expect("scan the sticker");
    assert_eq!(opened, pending, "the till's most recent waiting invoice");
    assert_eq!(w.record(&pending).opened_by.as_deref(), Some(demo::CUSTOMER_MSISDN));
    assert_eq!(w.confirm(&opened).0, Confirmation::Paid);
    assert_eq!(w.status(&pending).0, InvoiceStatus::Paid);
    assert_eq!(w.balance(), dec("996.00"));
    // The next scan of the same sticker finds the older invoice still waiting.
    let (next, _) = w.machine.scan("HTTP://SEQR.SE/QTILL42", None, now).expect("scan again");
    assert_eq!(next, older);
}

#[test]
fn invoice_qr_codes_work_in_every_documented_spelling() {
    let mut w = World::new();
    for qr in ["HTTP://SEQR.SE/R{}", "seqr://SEQR.SE/R{}", "https://seqr.se/R{}"] {
        let reference = w.issue_eur("1.00", PaymentMode::ImmediateDebit);
        let now = w.now;
        let (opened, _) = w.machine.scan(&qr.replace("{}", &reference), None, now).expect(qr);
        assert_eq!(opened, reference);
    }
}

#[test]
fn bad_scans_are_refused_without_touching_any_invoice() {
    let mut w = World::new();
    let reference = w.issue_eur("1.00", PaymentMode::ImmediateDebit);
    let now = w.now;
    assert!(matches!(w.machine.scan("https://example.com/R1", None, now), Err(CustomerError::NotAGlaseQr(_))));
    assert!(matches!(w.machine.scan("HTTP://SEQR.SE/R42", None, now), Err(CustomerError::UnknownInvoice(_))));
    assert!(matches!(w.machine.scan("HTTP://SEQR.SE/QNOBODY", None, now), Err(CustomerError::UnknownSeqrId(_))));
    assert!(matches!(
        w.machine.scan("HTTP://SEQR.SE/000/ups?w=glase-demo&t=123", None, now),
        Err(CustomerError::UnattendedQr(_))
    ));
    assert!(matches!(
        w.machine.scan(&format!("HTTP://SEQR.SE/R{reference}"), Some("000"), now),
        Err(CustomerError::UnknownCustomer(_))
    ));
    let record = w.record(&reference);
    assert_eq!((record.status, record.version, record.opened_by.clone()), (InvoiceStatus::Issued, 0, None));
}

#[test]
fn an_invoice_open_in_one_app_cannot_be_taken_by_another_customer() {
    let mut w = World::new();
    w.machine.set_customer("46700000009", Some("9999"), Some(dec("50.00")));
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let now = w.now;
    w.machine.open_invoice(&reference, None, now).expect("open");
    w.machine.open_invoice(&reference, None, now).expect("opening twice is idempotent");
    assert!(matches!(
        w.machine.confirm(&reference, Some("46700000009"), Some("9999"), now),
        Err(CustomerError::OpenedByAnother { .. })
    ));
    assert!(matches!(
        w.machine.customer_cancel(&reference, Some("46700000009"), now),
        Err(CustomerError::OpenedByAnother { .. })
    ));
    w.machine.walk_away(&reference, now).expect("walk away");
    let (confirmation, _) = w.machine.confirm(&reference, Some("46700000009"), Some("9999"), now).expect("now free");
    assert_eq!(confirmation, Confirmation::Paid);
    assert_eq!(w.machine.customer("46700000009").map(|c| c.balance), Some(dec("40.00")));
    assert_eq!(w.balance(), dec("1000.00"));
    assert_eq!(w.record(&reference).payer.as_deref(), Some("46700000009"));
}

#[test]
fn a_customer_cannot_cancel_a_reservation_already_confirmed() {
    let mut w = World::new();
    let reference = w.reserved("10.00");
    let now = w.now;
    assert!(matches!(w.machine.customer_cancel(&reference, None, now), Err(CustomerError::WrongState { .. })));
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Reserved);
}

#[test]
fn set_customer_creates_and_changes_wallets() {
    let mut w = World::new();
    assert_eq!(w.machine.set_customer("46700000010", None, None).balance, dec("0"));
    assert_eq!(w.machine.set_customer("46700000010", Some("1111"), Some(dec("12.34"))).balance, dec("12.34"));
    let reference = w.issue_eur("12.34", PaymentMode::ImmediateDebit);
    let now = w.now;
    let (confirmation, _) = w.machine.confirm(&reference, Some("46700000010"), Some("1234"), now).expect("confirm");
    assert_eq!(confirmation, Confirmation::WrongPin, "the PIN was changed");
    let (confirmation, _) = w.machine.confirm(&reference, Some("46700000010"), Some("1111"), now).expect("confirm");
    assert_eq!(confirmation, Confirmation::Paid, "an exact balance is enough");
    assert_eq!(w.machine.customer("46700000010").map(|c| c.balance), Some(dec("0.00")));
}
