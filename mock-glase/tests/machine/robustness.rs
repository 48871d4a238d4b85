//! Hostile but well-formed input: whatever a client sends, the machine answers with a
//! result code and never panics (a panic would poison the lock the server holds).

use glase_protocol::{Decimal, InvoiceStatus, PaymentMode, ResultCode};

use crate::support::*;

#[test]
fn rows_whose_sum_overflows_answer_49_instead_of_panicking() {
    let mut w = World::new();
    let mut huge = invoice("1.00", PaymentMode::ImmediateDebit);
    huge.invoice_rows = Some(vec![row("A", Decimal::MAX), row("B", Decimal::MAX), row("C", Decimal::MIN)]);
    huge.total_amount = Some(glase_protocol::Amount::new(Decimal::MAX, "EUR"));
    assert_eq!(w.code(&send_invoice(huge.clone())), ResultCode::INVALID_INVOICE_DATA);
    assert_eq!(w.machine.invoices().count(), 0);
    let reference = w.issue_eur("5.00", PaymentMode::ReservationRequired);
    assert_eq!(w.code(&update_invoice(&reference, huge)), ResultCode::INVALID_INVOICE_DATA);
    assert_eq!(w.record(&reference).total, dec("5.00"));
}

#[test]
fn a_refund_near_the_largest_decimal_answers_98_instead_of_panicking() {
    let mut w = World::new();
    let (reference, ers) = w.paid("10.00");
    assert_eq!(w.code(&refund(&ers, "5.00")), ResultCode::SUCCESS);
    let largest = Decimal::MAX.to_string();
    assert_eq!(w.code(&refund(&ers, &largest)), ResultCode::SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION);
    assert_eq!(w.payment(&ers).refunded(), dec("5.00"));
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Paid);
}

#[test]
fn the_largest_amounts_are_refused_or_fail_cleanly() {
    let mut w = World::new();
    let largest = Decimal::MAX.to_string();
    let reference = w.issue_eur(&largest, PaymentMode::ReservationRequired);
    let now = w.now;
    let (confirmation, _) = w.machine.confirm(&reference, None, None, now).expect("confirm");
    assert_eq!(confirmation, mock_glase::machine::customer::Confirmation::InsufficientFunds);
    let reserved = w.reserved("10.00");
    assert_eq!(w.code(&commit(&reserved, Some(&largest))), ResultCode::REJECTED_AMOUNT);
    assert_eq!(w.invoice_status(&reserved), InvoiceStatus::Reserved);
    // A commitReservationTimeout far beyond any clock saturates instead of overflowing.
    let forever = w.issue(with_commit_timeout(invoice("1.00", PaymentMode::ReservationRequired), i64::MAX));
    w.confirm(&forever);
    assert_eq!(w.status(&forever).0, InvoiceStatus::Reserved);
    w.advance(10 * 365 * 24 * 3600 * 1000);
    w.expire();
    assert_eq!(w.invoice_status(&forever), InvoiceStatus::Reserved);
}
