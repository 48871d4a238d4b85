//! The Glase-side clocks of spec 2.2 step 5 and section 4: the status-acknowledgement
//! reversal and the reservation timeout. Time only moves when a test moves it.

use glase_protocol::{InvoiceStatus, PaymentMode, ResultCode};
use mock_glase::clock::Timestamp;
use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::{Notification, NotificationReason};

use crate::machine::support::*;

const REVERSED: &str = "reversed: status not fetched";
const EXPIRED: &str = "reservation expired: not committed in time";

/// An immediate payment confirmed at the current time, status not yet fetched.
fn unacknowledged_payment(w: &mut World) -> (String, String) {
    let reference = w.issue(with_url(invoice("10.00", PaymentMode::ImmediateDebit), NOTIFY_URL));
    assert_eq!(w.confirm(&reference).0, Confirmation::Paid);
    let ers = w.record(&reference).ers_reference.clone().expect("ers");
    (reference, ers.to_string())
}

#[test]
fn get_payment_status_at_19_999_seconds_saves_the_payment() {
    let mut w = World::new();
    let (reference, ers) = unacknowledged_payment(&mut w);
    w.advance(STATUS_DEADLINE_MS - 1);
    let outcome = w.apply(&get_payment_status(&reference));
    assert_eq!(status_of(response(&outcome.reply)), (InvoiceStatus::Paid, 1));
    assert!(outcome.effects.events.iter().any(|e| matches!(
        e,
        mock_glase::machine::Event::StatusAcknowledged { after_ms, .. } if *after_ms == STATUS_DEADLINE_MS - 1
    )));
    assert_eq!(w.record(&reference).status_deadline, None);
    w.advance(1);
    assert!(transitions(&w.expire()).is_empty());
    w.advance(3_600_000);
    assert!(transitions(&w.expire()).is_empty());
    assert_eq!(w.status(&reference).0, InvoiceStatus::Paid);
    assert!(!w.payment(&ers).reversed);
    assert_eq!(w.balance(), dec("990.00"));
}

#[test]
fn at_20_seconds_without_a_status_call_the_timer_reverses_the_payment_with_no_request() {
    let mut w = World::new();
    let paid_at = w.now;
    let (reference, ers) = unacknowledged_payment(&mut w);
    assert_eq!(w.machine.next_deadline(), Some(paid_at.plus(std::time::Duration::from_secs(20))));
    w.advance(STATUS_DEADLINE_MS - 1);
    assert!(transitions(&w.expire()).is_empty(), "not yet at 19.999 s");
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Paid);
    w.advance(1);
    let fx = w.expire();
    assert_eq!(
        transitions(&fx),
        vec![(reference.clone(), InvoiceStatus::Paid, InvoiceStatus::Canceled, REVERSED.to_owned())]
    );
    assert_eq!(
        fx.notifications,
        vec![Notification {
            invoice: reference.as_str().into(),
            url: NOTIFY_URL.to_owned(),
            reason: NotificationReason::Reversed
        }]
    );
    let record = w.record(&reference);
    assert_eq!((record.status, record.version), (InvoiceStatus::Canceled, 2));
    assert_eq!(record.history.last().map(|h| h.at), Some(Timestamp(paid_at.0 + STATUS_DEADLINE_MS)));
    assert!(w.payment(&ers).reversed);
    assert_eq!(w.balance(), dec("1000.00"), "the customer got the money back");
    // The reversed payment no longer exists for the merchant.
    assert_eq!(w.code(&refund(&ers, "1.00")), ResultCode::INVALID_ERS_REFERENCE);
    assert_eq!(w.code(&submit_receipt(&ers)), ResultCode::INVALID_ERS_REFERENCE);
    let (status, version, response) = w.status(&reference);
    assert_eq!((status, version, response.ers_reference), (InvoiceStatus::Canceled, 2, None));
    assert_eq!(w.code(&cancel_invoice(&reference)), ResultCode::INVOICE_ALREADY_CANCELED);
    assert!(transitions(&w.expire()).is_empty(), "a deadline fires once");
}

#[test]
fn a_late_request_first_sees_the_reversal_it_missed() {
    let mut w = World::new();
    let paid_at = w.now;
    let (reference, _) = unacknowledged_payment(&mut w);
    w.advance(25_000);
    let outcome = w.apply(&get_payment_status(&reference));
    assert_eq!(status_of(response(&outcome.reply)), (InvoiceStatus::Canceled, 2));
    assert_eq!(
        transitions(&outcome.effects),
        vec![(reference.clone(), InvoiceStatus::Paid, InvoiceStatus::Canceled, REVERSED.to_owned())]
    );
    assert_eq!(outcome.effects.notifications.len(), 1);
    assert_eq!(
        w.record(&reference).history.last().map(|h| h.at),
        Some(Timestamp(paid_at.0 + STATUS_DEADLINE_MS)),
        "reversed at the deadline, not at the request"
    );
}

#[test]
fn a_late_customer_action_also_fires_the_reversal_first() {
    let mut w = World::new();
    let (reference, _) = unacknowledged_payment(&mut w);
    let other = w.issue_eur("1.00", PaymentMode::ImmediateDebit);
    w.advance(STATUS_DEADLINE_MS);
    let now = w.now;
    let (_, fx) = w.machine.confirm(&other, None, None, now).expect("confirm");
    assert!(transitions(&fx).iter().any(|(r, _, to, _)| r == &reference && *to == InvoiceStatus::Canceled));
}

#[test]
fn an_unacknowledged_reservation_is_reversed_at_20_seconds_and_released() {
    let mut w = World::new();
    let reference = w.issue(with_url(invoice("20.00", PaymentMode::ReservationRequired), NOTIFY_URL));
    w.confirm(&reference);
    assert_eq!(w.balance(), dec("980.00"));
    w.advance(STATUS_DEADLINE_MS);
    let fx = w.expire();
    assert_eq!(
        transitions(&fx),
        vec![(reference.clone(), InvoiceStatus::Reserved, InvoiceStatus::Canceled, REVERSED.to_owned())]
    );
    assert_eq!(fx.notifications.iter().map(|n| n.reason.as_str()).collect::<Vec<_>>(), vec!["reversed"]);
    assert_eq!(w.balance(), dec("1000.00"));
    assert_eq!(w.record(&reference).reserved_amount, None);
    assert_eq!(w.code(&commit(&reference, None)), ResultCode::INVOICE_STATE_NOT_RESERVED);
}

#[test]
fn fetching_a_reservation_in_time_stops_the_reversal() {
    let mut w = World::new();
    let reference = w.issue_eur("20.00", PaymentMode::ReservationDesired);
    w.confirm(&reference);
    w.advance(STATUS_DEADLINE_MS - 1);
    assert_eq!(w.status(&reference).0, InvoiceStatus::Reserved);
    w.advance(60_000);
    assert!(transitions(&w.expire()).is_empty());
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Reserved);
}

#[test]
fn committing_before_the_status_deadline_also_stops_the_reversal() {
    let mut w = World::new();
    let reference = w.issue_eur("20.00", PaymentMode::ReservationRequired);
    w.confirm(&reference);
    w.advance(5_000);
    let ers = w.call(&commit(&reference, Some("15.00"))).ers_reference.expect("ers");
    w.advance(60_000);
    assert!(transitions(&w.expire()).is_empty());
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Paid);
    assert!(!w.payment(&ers).reversed);
    assert_eq!(w.balance(), dec("985.00"));
}

#[test]
fn an_uncommitted_reservation_is_canceled_at_the_default_reservation_timeout() {
    let mut w = World::new();
    let reserved_at = w.now;
    let reference = w.issue(with_url(invoice("20.00", PaymentMode::ReservationRequired), NOTIFY_URL));
    w.confirm(&reference);
    assert_eq!(w.status(&reference).0, InvoiceStatus::Reserved);
    assert_eq!(w.record(&reference).commit_deadline, Some(Timestamp(reserved_at.0 + RESERVATION_TIMEOUT_MS)));
    w.advance(RESERVATION_TIMEOUT_MS - 1);
    assert!(transitions(&w.expire()).is_empty());
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Reserved);
    w.advance(1);
    let fx = w.expire();
    assert_eq!(
        transitions(&fx),
        vec![(reference.clone(), InvoiceStatus::Reserved, InvoiceStatus::Canceled, EXPIRED.to_owned())]
    );
    assert_eq!(fx.notifications.iter().map(|n| n.reason.as_str()).collect::<Vec<_>>(), vec!["expired"]);
    assert_eq!(w.balance(), dec("1000.00"));
    assert_eq!(w.status(&reference).1, 2);
    assert_eq!(w.code(&commit(&reference, None)), ResultCode::INVOICE_STATE_NOT_RESERVED);
}

#[test]
fn commit_reservation_timeout_of_the_invoice_overrides_the_default() {
    let mut w = World::new();
    let reference =
        w.issue(with_commit_timeout(invoice("20.00", PaymentMode::ReservationRequiredPreliminaryAmount), 30));
    w.confirm(&reference);
    assert_eq!(w.status(&reference).0, InvoiceStatus::Reserved);
    w.advance(29_999);
    assert_eq!(w.status(&reference).0, InvoiceStatus::Reserved);
    w.advance(1);
    // The late commit sees the expiry first.
    assert_eq!(w.code(&commit(&reference, None)), ResultCode::INVOICE_STATE_NOT_RESERVED);
    assert_eq!(w.record(&reference).history.last().map(|h| h.reason.as_str()), Some(EXPIRED));
    assert_eq!(w.balance(), dec("1000.00"));
}

#[test]
fn a_commit_timeout_shorter_than_the_status_deadline_expires_first() {
    let mut w = World::new();
    let reference = w.issue(with_commit_timeout(invoice("20.00", PaymentMode::ReservationRequired), 5));
    w.confirm(&reference);
    w.advance(STATUS_DEADLINE_MS);
    let fx = w.expire();
    assert_eq!(transitions(&fx).iter().map(|t| t.3.as_str()).collect::<Vec<_>>(), vec![EXPIRED]);
    assert_eq!(w.record(&reference).history.last().map(|h| h.at), Some(Timestamp(START + 5_000)));
    assert_eq!(w.balance(), dec("1000.00"), "released exactly once");
}

#[test]
fn the_status_deadline_is_configurable() {
    let mut w = World::with_toml(
        r#"
        [deadlines]
        status_deadline = "5s"
        reservation_timeout = "1m"
        "#,
    );
    let (reference, _) = unacknowledged_payment(&mut w);
    w.advance(4_999);
    assert!(transitions(&w.expire()).is_empty());
    w.advance(1);
    assert_eq!(transitions(&w.expire()).len(), 1);
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Canceled);
    let reservation = w.reserved("10.00");
    w.advance(60_000);
    w.expire();
    assert_eq!(w.invoice_status(&reservation), InvoiceStatus::Canceled);
}

#[test]
fn merchant_cancel_of_an_unacknowledged_reservation_disarms_both_deadlines() {
    let mut w = World::new();
    let reference = w.issue_eur("20.00", PaymentMode::ReservationRequired);
    w.confirm(&reference);
    assert_eq!(w.code(&cancel_invoice(&reference)), ResultCode::SUCCESS);
    w.advance(RESERVATION_TIMEOUT_MS);
    assert!(transitions(&w.expire()).is_empty());
    let record = w.record(&reference);
    assert_eq!((record.status, record.version), (InvoiceStatus::Canceled, 2));
    assert_eq!(w.balance(), dec("1000.00"));
    assert_eq!(w.machine.next_deadline(), None, "every due entry was drained");
}

#[test]
fn a_reversal_after_a_partial_refund_returns_only_what_was_not_refunded() {
    // The merchant refunds before it ever fetched the status (it read the ersReference
    // elsewhere), then misses the deadline. The customer must get 10.00 back in all,
    // not 10.00 plus the 4.00 already refunded.
    let mut w = World::new();
    let (reference, ers) = unacknowledged_payment(&mut w);
    assert_eq!(w.code(&refund(&ers, "4.00")), ResultCode::SUCCESS);
    assert_eq!(w.balance(), dec("994.00"));
    w.advance(STATUS_DEADLINE_MS);
    let period = match w.call(&mark_period(&[])).detail {
        glase_protocol::ResponseDetail::MarkTransactionPeriod { transaction_period_id: Some(id) } => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Canceled);
    assert_eq!(w.balance(), dec("1000.00"), "money is neither created nor destroyed");
    // Neither the payment nor its refund is reported any more.
    w.advance(REPORT_DELAY_MS);
    let response = w.call(&execute_report("Reconciliation/Shop.xml", &[("transactionPeriodId", period.as_str())]));
    let glase_protocol::ResponseDetail::ExecuteReport { report: Some(report) } = response.detail else {
        panic!("report")
    };
    let text = report.content_string.unwrap_or_default();
    assert!(
        text.contains("<PurchaseCount>0</PurchaseCount>") && text.contains("<RefundCount>0</RefundCount>"),
        "{text}"
    );
}
