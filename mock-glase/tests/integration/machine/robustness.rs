//! Hostile but well-formed input: whatever a client sends, the machine answers with a
//! result code and never panics (a panic would poison the lock the server holds).

use glase_protocol::{Decimal, InvoiceStatus, PaymentMode, ResultCode};

use crate::machine::support::*;

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

// ---- wallet credits that would overflow (issue 11, finding 2) ----
//
// The control API caps balances at 10^15; the library does not, so these drive a wallet to
// `Decimal::MAX` and check that every path that gives money back refuses cleanly instead of
// panicking half-way (a refund recorded but not credited, a timer task dead for good).

fn fill_wallet(w: &mut World) {
    w.machine.set_customer(mock_glase::config::demo::CUSTOMER_MSISDN, None, Some(Decimal::MAX));
}

fn overflow_events(effects: &mock_glase::machine::Effects) -> usize {
    effects.events.iter().filter(|e| matches!(e, mock_glase::machine::Event::WalletOverflow { .. })).count()
}

#[test]
fn a_refund_that_would_overflow_the_wallet_answers_90_and_changes_nothing() {
    let mut w = World::new();
    let (reference, ers) = w.paid("10.00");
    fill_wallet(&mut w);
    let outcome = w.apply(&refund(&ers, "4.00"));
    assert_eq!(response(&outcome.reply).result_code, ResultCode::SYSTEM_ERROR);
    assert_eq!(overflow_events(&outcome.effects), 1);
    assert!(w.payment(&ers).refunds.is_empty(), "no refund may be recorded without its credit");
    assert_eq!(w.balance(), Decimal::MAX);
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Paid);
    // With room in the wallet the same refund goes through.
    w.machine.set_customer(mock_glase::config::demo::CUSTOMER_MSISDN, None, Some(dec("0")));
    assert_eq!(w.code(&refund(&ers, "4.00")), ResultCode::SUCCESS);
    assert_eq!(w.balance(), dec("4.00"));
}

#[test]
fn a_commit_whose_unused_rest_would_overflow_the_wallet_answers_90_and_changes_nothing() {
    let mut w = World::new();
    let reference = w.reserved("10.00");
    fill_wallet(&mut w);
    let outcome = w.apply(&commit(&reference, Some("6.00")));
    assert_eq!(response(&outcome.reply).result_code, ResultCode::SYSTEM_ERROR);
    assert_eq!(overflow_events(&outcome.effects), 1);
    let record = w.record(&reference);
    assert_eq!(
        (record.status, record.reserved_amount, record.ers_reference.clone()),
        (InvoiceStatus::Reserved, Some(dec("10.00")), None)
    );
    assert_eq!(w.balance(), Decimal::MAX);
    // Committing all of it returns nothing, so it fits.
    assert_eq!(w.code(&commit(&reference, Some("10.00"))), ResultCode::SUCCESS);
}

#[test]
fn cancelling_a_reservation_that_would_overflow_the_wallet_answers_90_and_changes_nothing() {
    let mut w = World::new();
    let reference = w.reserved("10.00");
    fill_wallet(&mut w);
    assert_eq!(w.code(&cancel_invoice(&reference)), ResultCode::SYSTEM_ERROR);
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Reserved);
    assert_eq!(w.record(&reference).reserved_amount, Some(dec("10.00")));
}

#[test]
fn a_reversal_or_expiry_that_would_overflow_the_wallet_is_dropped_and_later_deadlines_still_fire() {
    let mut w = World::new();
    let paid = w.issue(with_url(invoice("10.00", PaymentMode::ImmediateDebit), NOTIFY_URL));
    w.confirm(&paid);
    let reserved = w.issue(with_url(invoice("7.00", PaymentMode::ReservationRequired), NOTIFY_URL));
    w.confirm(&reserved);
    assert_eq!(w.status(&reserved).0, InvoiceStatus::Reserved);
    fill_wallet(&mut w);
    w.advance(STATUS_DEADLINE_MS);
    let effects = w.expire();
    assert_eq!(overflow_events(&effects), 1, "the reversal of {paid}");
    assert_eq!(w.invoice_status(&paid), InvoiceStatus::Paid, "left as it was");
    assert!(effects.notifications.is_empty(), "nothing happened, so nothing is notified");
    w.advance(RESERVATION_TIMEOUT_MS);
    let effects = w.expire();
    assert_eq!(overflow_events(&effects), 1, "the expiry of {reserved}");
    assert_eq!(w.invoice_status(&reserved), InvoiceStatus::Reserved);
    // A later invoice of a customer with room is still reversed on time.
    w.machine.set_customer(mock_glase::config::demo::CUSTOMER_MSISDN, None, Some(dec("100.00")));
    let later = w.issue_eur("5.00", PaymentMode::ImmediateDebit);
    w.confirm(&later);
    w.advance(STATUS_DEADLINE_MS);
    w.expire();
    assert_eq!(w.invoice_status(&later), InvoiceStatus::Canceled);
    assert_eq!(w.balance(), dec("100.00"));
}
