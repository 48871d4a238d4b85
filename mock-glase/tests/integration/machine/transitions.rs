//! Spec 4: every transition of the invoice state machine, versions, the receipt, and
//! the notifications each customer action ends in.

use glase_protocol::{CustomerToken, InvoiceStatus, PaymentMode, ResponseDetail, ResultCode};
use mock_glase::config::demo;
use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::{CustomerError, Notification, NotificationReason};

use crate::machine::support::*;

const RESERVATION_MODES: [PaymentMode; 3] = [
    PaymentMode::ReservationDesired,
    PaymentMode::ReservationRequired,
    PaymentMode::ReservationRequiredPreliminaryAmount,
];

fn notification(reference: &str, reason: NotificationReason) -> Notification {
    Notification { invoice: reference.into(), url: NOTIFY_URL.to_owned(), reason }
}

#[test]
fn issued_to_paid_by_an_immediate_debit_confirmed_with_the_right_pin() {
    let mut w = World::new();
    let reference = w.issue(with_url(invoice("12.50", PaymentMode::ImmediateDebit), NOTIFY_URL));
    assert_eq!(w.status(&reference).0, InvoiceStatus::Issued);
    w.advance(3_000);
    let (confirmation, fx) = w.confirm(&reference);
    assert_eq!(confirmation, Confirmation::Paid);
    assert_eq!(
        transitions(&fx),
        vec![(reference.clone(), InvoiceStatus::Issued, InvoiceStatus::Paid, "customer confirmed payment".to_owned())]
    );
    assert_eq!(fx.notifications, vec![notification(&reference, NotificationReason::Confirmed)]);
    let record = w.record(&reference);
    assert_eq!((record.status, record.version), (InvoiceStatus::Paid, 1));
    let ers = record.ers_reference.clone().expect("a payment was made");
    assert!(ers.len() == 25 && ers.bytes().all(|b| b.is_ascii_digit()), "{ers}");
    let payment = w.payment(&ers);
    assert_eq!(
        (payment.amount, payment.invoice.as_str(), payment.payer.as_str()),
        (dec("12.50"), reference.as_str(), demo::CUSTOMER_MSISDN)
    );
    assert_eq!(w.balance(), dec("987.50"));
}

#[test]
fn issued_to_reserved_in_each_reservation_payment_mode() {
    for mode in RESERVATION_MODES {
        let mut w = World::new();
        let reference = w.issue(with_url(invoice("20.00", mode), NOTIFY_URL));
        let (confirmation, fx) = w.confirm(&reference);
        assert_eq!(confirmation, Confirmation::Reserved, "{mode}");
        assert_eq!(
            transitions(&fx),
            vec![(
                reference.clone(),
                InvoiceStatus::Issued,
                InvoiceStatus::Reserved,
                "customer confirmed reservation".to_owned()
            )]
        );
        assert_eq!(fx.notifications, vec![notification(&reference, NotificationReason::Confirmed)]);
        let record = w.record(&reference);
        assert_eq!((record.status, record.version), (InvoiceStatus::Reserved, 1), "{mode}");
        assert_eq!(record.reserved_amount, Some(dec("20.00")));
        assert_eq!(record.ers_reference, None, "a reservation is no payment yet");
        assert_eq!(w.balance(), dec("980.00"), "the wallet holds the reservation");
        assert_eq!(w.status(&reference).0, InvoiceStatus::Reserved);
    }
}

#[test]
fn reserved_to_paid_by_commit_without_an_amount_charges_the_current_total() {
    let mut w = World::new();
    let reference = w.reserved("20.00");
    // The unattended flow: the customer chose products for 12.50.
    assert_eq!(
        w.code(&update_invoice(&reference, invoice("12.50", PaymentMode::ReservationRequired))),
        ResultCode::SUCCESS
    );
    assert_eq!(w.record(&reference).version, 1, "an update is no status change");
    let response = w.call(&commit(&reference, None));
    assert_eq!(response.result_code, ResultCode::SUCCESS);
    let ers = response.ers_reference.expect("commit answers the ersReference");
    let record = w.record(&reference);
    assert_eq!((record.status, record.version), (InvoiceStatus::Paid, 2));
    assert_eq!(record.ers_reference.as_deref(), Some(ers.as_str()));
    assert_eq!(record.reserved_amount, None);
    assert_eq!(w.payment(&ers).amount, dec("12.50"));
    assert_eq!(w.balance(), dec("987.50"), "the unused 7.50 of the reservation went back to the wallet");
    let (status, version, paid) = w.status(&reference);
    assert_eq!((status, version), (InvoiceStatus::Paid, 2));
    assert_eq!(paid.ers_reference.as_deref(), Some(ers.as_str()));
}

#[test]
fn reserved_to_paid_by_commit_with_the_v26_amount_returns_the_unused_reservation() {
    let mut w = World::new();
    let reference = w.reserved("20.00");
    let response = w.call(&commit(&reference, Some("7.25")));
    assert_eq!(response.result_code, ResultCode::SUCCESS);
    let ers = response.ers_reference.expect("ersReference");
    assert_eq!(w.payment(&ers).amount, dec("7.25"));
    assert_eq!(w.balance(), dec("992.75"));
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Paid);
    // The whole reservation may be committed too.
    let full = w.reserved("20.00");
    assert_eq!(w.code(&commit(&full, Some("20.00"))), ResultCode::SUCCESS);
    assert_eq!(w.balance(), dec("972.75"));
}

#[test]
fn commit_in_another_currency_answers_49_and_keeps_the_reservation() {
    let mut w = World::new();
    let reference = w.reserved("20.00");
    let mut request = commit(&reference, Some("5.00"));
    if let glase_protocol::Request::CommitReservation(r) = &mut request {
        r.amount = Some(glase_protocol::Amount::new(dec("5.00"), "SEK"));
    }
    assert_eq!(w.code(&request), ResultCode::INVALID_INVOICE_DATA);
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Reserved);
}

#[test]
fn issued_to_canceled_by_the_merchant() {
    let mut w = World::new();
    let reference = w.issue(with_url(invoice("10.00", PaymentMode::ImmediateDebit), NOTIFY_URL));
    let outcome = w.apply(&cancel_invoice(&reference));
    assert_eq!(response(&outcome.reply).result_code, ResultCode::SUCCESS);
    assert_eq!(
        transitions(&outcome.effects),
        vec![(reference.clone(), InvoiceStatus::Issued, InvoiceStatus::Canceled, "canceled by merchant".to_owned())]
    );
    assert_eq!((w.invoice_status(&reference), w.record(&reference).version), (InvoiceStatus::Canceled, 1));
    assert_eq!(w.status(&reference).0, InvoiceStatus::Canceled);
    assert_eq!(w.balance(), dec("1000.00"));
}

#[test]
fn issued_to_canceled_by_the_customer_with_a_notification() {
    let mut w = World::new();
    let reference = w.issue(with_url(invoice("10.00", PaymentMode::ReservationRequired), NOTIFY_URL));
    let now = w.now;
    let fx = w.machine.customer_cancel(&reference, None, now).expect("customer can cancel");
    assert_eq!(
        transitions(&fx),
        vec![(reference.clone(), InvoiceStatus::Issued, InvoiceStatus::Canceled, "canceled by customer".to_owned())]
    );
    assert_eq!(fx.notifications, vec![notification(&reference, NotificationReason::Canceled)]);
    assert_eq!(w.status(&reference).0, InvoiceStatus::Canceled);
    assert_eq!(w.balance(), dec("1000.00"));
}

#[test]
fn reserved_to_canceled_by_the_merchant_releases_the_reservation() {
    let mut w = World::new();
    let reference = w.reserved("20.00");
    assert_eq!(w.balance(), dec("980.00"));
    assert_eq!(w.code(&cancel_invoice(&reference)), ResultCode::SUCCESS);
    let record = w.record(&reference);
    assert_eq!((record.status, record.version, record.reserved_amount), (InvoiceStatus::Canceled, 2, None));
    assert_eq!(w.balance(), dec("1000.00"));
    assert_eq!(w.code(&commit(&reference, None)), ResultCode::INVOICE_STATE_NOT_RESERVED);
}

#[test]
fn issued_to_failed_when_the_wallet_cannot_cover_the_invoice() {
    let mut w = World::new();
    w.machine.set_customer("46700000001", Some("4321"), Some(dec("9.99")));
    let reference = w.issue(with_url(invoice("10.00", PaymentMode::ImmediateDebit), NOTIFY_URL));
    let now = w.now;
    let (confirmation, fx) = w.machine.confirm(&reference, Some("46700000001"), Some("4321"), now).expect("confirm");
    assert_eq!(confirmation, Confirmation::InsufficientFunds);
    assert_eq!(
        transitions(&fx),
        vec![(
            reference.clone(),
            InvoiceStatus::Issued,
            InvoiceStatus::Failed,
            "insufficient funds in wallet".to_owned()
        )]
    );
    assert_eq!(fx.notifications, vec![notification(&reference, NotificationReason::Failed)]);
    assert_eq!(w.machine.customer("46700000001").map(|c| c.balance), Some(dec("9.99")), "nothing was taken");
    let (status, version, response) = w.status(&reference);
    assert_eq!((status, version), (InvoiceStatus::Failed, 1));
    assert_eq!(response.ers_reference, None);
    // A reservation the wallet cannot cover fails the same way.
    let reservation = w.issue_eur("10.00", PaymentMode::ReservationRequired);
    let now = w.now;
    let (confirmation, _) = w.machine.confirm(&reservation, Some("46700000001"), None, now).expect("confirm");
    assert_eq!(confirmation, Confirmation::InsufficientFunds);
    assert_eq!(w.invoice_status(&reservation), InvoiceStatus::Failed);
}

#[test]
fn a_wrong_pin_keeps_the_invoice_issued_and_a_retry_with_the_right_pin_pays() {
    let mut w = World::new();
    let reference = w.issue(with_url(invoice("10.00", PaymentMode::ImmediateDebit), NOTIFY_URL));
    let now = w.now;
    let (confirmation, fx) = w.machine.confirm(&reference, None, Some("0000"), now).expect("confirm");
    assert_eq!(confirmation, Confirmation::WrongPin);
    assert!(transitions(&fx).is_empty() && fx.notifications.is_empty());
    let record = w.record(&reference);
    assert_eq!((record.status, record.version), (InvoiceStatus::Issued, 0));
    assert_eq!(record.opened_by.as_deref(), Some(demo::CUSTOMER_MSISDN), "the PIN dialog stays open");
    assert_eq!(w.balance(), dec("1000.00"));
    assert_eq!(w.code(&cancel_invoice(&reference)), ResultCode::CANNOT_CANCEL_INVOICE_IN_PROGRESS);
    w.advance(2_000);
    let (confirmation, fx) = w.confirm(&reference);
    assert_eq!(confirmation, Confirmation::Paid);
    assert_eq!(fx.notifications, vec![notification(&reference, NotificationReason::Confirmed)]);
    assert_eq!(w.status(&reference).0, InvoiceStatus::Paid);
    assert_eq!(w.balance(), dec("990.00"));
}

#[test]
fn walking_away_clears_in_progress_so_cancel_and_update_work_again() {
    let mut w = World::new();
    let reference = w.issue(with_url(invoice("10.00", PaymentMode::ImmediateDebit), NOTIFY_URL));
    let now = w.now;
    w.machine.scan(&format!("HTTP://SEQR.SE/R{reference}"), None, now).expect("scan");
    assert_eq!(w.code(&cancel_invoice(&reference)), ResultCode::CANNOT_CANCEL_INVOICE_IN_PROGRESS);
    assert_eq!(
        w.code(&update_invoice(&reference, invoice("9.00", PaymentMode::ImmediateDebit))),
        ResultCode::PAYMENT_IN_PROGRESS
    );
    let fx = w.machine.walk_away(&reference, now).expect("walk away");
    assert!(fx.notifications.is_empty(), "walking away notifies nobody");
    assert_eq!(w.record(&reference).opened_by, None);
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Issued);
    assert_eq!(w.code(&update_invoice(&reference, invoice("9.00", PaymentMode::ImmediateDebit))), ResultCode::SUCCESS);
    assert_eq!(w.code(&cancel_invoice(&reference)), ResultCode::SUCCESS);
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Canceled);
}

#[test]
fn an_update_of_an_issued_invoice_changes_what_the_customer_pays() {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    assert_eq!(
        w.code(&update_invoice(&reference, invoice("15.00", PaymentMode::ReservationRequired))),
        ResultCode::SUCCESS
    );
    let record = w.record(&reference);
    assert_eq!(
        (record.total, record.payment_mode),
        (dec("15.00"), PaymentMode::ImmediateDebit),
        "the mode is fixed at sendInvoice"
    );
    assert_eq!(w.confirm(&reference).0, Confirmation::Paid);
    assert_eq!(w.balance(), dec("985.00"));
}

/// Every way of poking a closed invoice, with the code each must answer.
fn poke_closed(w: &mut World, reference: &str, cancel: ResultCode, update: ResultCode) {
    let before = (w.invoice_status(reference), w.record(reference).version, w.record(reference).history.clone());
    assert_eq!(w.code(&cancel_invoice(reference)), cancel);
    assert_eq!(w.code(&commit(reference, None)), ResultCode::INVOICE_STATE_NOT_RESERVED);
    assert_eq!(w.code(&update_invoice(reference, invoice("1.00", PaymentMode::ImmediateDebit))), update);
    let now = w.now;
    assert!(matches!(w.machine.confirm(reference, None, None, now), Err(CustomerError::WrongState { .. })));
    assert!(matches!(w.machine.customer_cancel(reference, None, now), Err(CustomerError::WrongState { .. })));
    assert!(matches!(
        w.machine.scan(&format!("HTTP://SEQR.SE/R{reference}"), None, now),
        Err(CustomerError::WrongState { .. })
    ));
    w.machine.walk_away(reference, now).expect("walking away is always possible");
    // Long after every deadline.
    w.advance(24 * 3600 * 1000);
    w.expire();
    assert_eq!(w.status(reference).0, before.0);
    let after = (w.invoice_status(reference), w.record(reference).version, w.record(reference).history.clone());
    assert_eq!(after, before, "a terminal state stays terminal");
}

#[test]
fn terminal_states_stay_terminal() {
    let mut w = World::new();
    let (paid, _) = w.paid("10.00");
    poke_closed(&mut w, &paid, ResultCode::CANNOT_CANCEL_PAID_INVOICE, ResultCode::INVALID_INVOICE_DATA);

    let committed = w.reserved("10.00");
    assert_eq!(w.code(&commit(&committed, None)), ResultCode::SUCCESS);
    poke_closed(&mut w, &committed, ResultCode::CANNOT_CANCEL_PAID_INVOICE, ResultCode::INVALID_INVOICE_DATA);

    let canceled = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    assert_eq!(w.code(&cancel_invoice(&canceled)), ResultCode::SUCCESS);
    poke_closed(&mut w, &canceled, ResultCode::INVOICE_ALREADY_CANCELED, ResultCode::INVOICE_ALREADY_CANCELED);

    w.machine.set_customer("46700000002", None, Some(dec("1.00")));
    let failed = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let now = w.now;
    w.machine.confirm(&failed, Some("46700000002"), None, now).expect("confirm");
    assert_eq!(w.invoice_status(&failed), InvoiceStatus::Failed);
    poke_closed(&mut w, &failed, ResultCode::INVOICE_ALREADY_CANCELED, ResultCode::INVALID_INVOICE_DATA);
}

#[test]
fn the_version_increments_exactly_on_each_status_change() {
    let mut w = World::new();
    let reference = w.issue_eur("20.00", PaymentMode::ReservationRequired);
    let version = |w: &mut World, reference: &str| w.status(reference).1;
    assert_eq!(version(&mut w, &reference), 0);
    let now = w.now;
    w.machine.scan(&format!("HTTP://SEQR.SE/R{reference}"), None, now).expect("scan");
    w.machine.confirm(&reference, None, Some("9999"), now).expect("wrong pin");
    w.machine.walk_away(&reference, now).expect("walk away");
    assert_eq!(
        w.code(&update_invoice(&reference, invoice("19.00", PaymentMode::ReservationRequired))),
        ResultCode::SUCCESS
    );
    assert_eq!(version(&mut w, &reference), 0, "scan, wrong PIN, walk-away and update change no status");
    w.confirm(&reference);
    assert_eq!(version(&mut w, &reference), 1);
    assert_eq!(
        w.code(&update_invoice(&reference, invoice("15.00", PaymentMode::ReservationRequired))),
        ResultCode::SUCCESS
    );
    assert_eq!(w.code(&commit(&reference, Some("30.00"))), ResultCode::REJECTED_AMOUNT);
    assert_eq!(version(&mut w, &reference), 1);
    assert_eq!(w.code(&commit(&reference, None)), ResultCode::SUCCESS);
    assert_eq!(version(&mut w, &reference), 2);
    let ers = w.record(&reference).ers_reference.clone().expect("ers");
    assert_eq!(w.code(&refund(&ers, "5.00")), ResultCode::SUCCESS);
    assert_eq!(version(&mut w, &reference), 2, "a refund is no status change");
    let record = w.record(&reference);
    assert_eq!(record.history.len(), 2);
    assert_eq!(
        record.history.iter().map(|h| (h.from, h.to)).collect::<Vec<_>>(),
        vec![(InvoiceStatus::Issued, InvoiceStatus::Reserved), (InvoiceStatus::Reserved, InvoiceStatus::Paid)]
    );
    // An old invoiceVersion still gets the current state.
    let mut old = get_payment_status(&reference);
    if let glase_protocol::Request::GetPaymentStatus(r) = &mut old {
        r.invoice_version = Some(0);
    }
    assert_eq!(status_of(&w.call(&old)), (InvoiceStatus::Paid, 2));
}

#[test]
fn new_customer_tokens_increment_the_version() {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let mut request = update_invoice(&reference, invoice("10.00", PaymentMode::ImmediateDebit));
    if let glase_protocol::Request::UpdateInvoice(r) = &mut request {
        r.tokens = vec![CustomerToken { id: Some("loyalty-1".to_owned()), status: 0, ..CustomerToken::default() }];
    }
    assert_eq!(w.code(&request), ResultCode::SUCCESS);
    let (status, version, response) = w.status(&reference);
    assert_eq!((status, version), (InvoiceStatus::Issued, 1));
    let ResponseDetail::PaymentStatus { customer_tokens: Some(tokens), .. } = response.detail else { panic!("tokens") };
    assert_eq!(tokens.len(), 1);
}

#[test]
fn get_payment_status_returns_the_ers_reference_and_a_receipt_only_for_paid() {
    let mut w = World::new();
    let no_receipt = |response: &glase_protocol::Response| {
        let ResponseDetail::PaymentStatus { receipt, .. } = &response.detail else { panic!("status") };
        receipt.is_none() && response.ers_reference.is_none()
    };
    let issued = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    assert!(no_receipt(&w.status(&issued).2), "ISSUED");
    let reserved = w.reserved("10.00");
    assert!(no_receipt(&w.status(&reserved).2), "RESERVED");
    assert_eq!(w.code(&cancel_invoice(&issued)), ResultCode::SUCCESS);
    assert!(no_receipt(&w.status(&issued).2), "CANCELED");
    w.machine.set_customer("46700000003", None, Some(dec("0.50")));
    let failed = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let now = w.now;
    w.machine.confirm(&failed, Some("46700000003"), None, now).expect("confirm");
    assert!(no_receipt(&w.status(&failed).2), "FAILED");

    let mut paid_invoice = invoice("12.50", PaymentMode::ImmediateDebit);
    paid_invoice.client_invoice_id = Some("order-77".to_owned());
    let paid = w.issue(paid_invoice);
    w.confirm(&paid);
    let (status, _, response) = w.status(&paid);
    assert_eq!(status, InvoiceStatus::Paid);
    let ers = response.ers_reference.clone().expect("PAID carries the ersReference");
    assert_eq!(w.record(&paid).ers_reference.as_deref(), Some(ers.as_str()));
    let ResponseDetail::PaymentStatus { receipt: Some(receipt), .. } = response.detail else {
        panic!("PAID carries a receipt")
    };
    assert_eq!(receipt.payment_reference.as_deref(), Some(ers.as_str()));
    assert_eq!(receipt.invoice_reference.as_deref(), Some(paid.as_str()));
    assert_eq!(receipt.terminal_id.as_deref(), Some(demo::TERMINAL_ID));
    assert_eq!(receipt.client_invoice_id.as_deref(), Some("order-77"));
    assert_eq!(receipt.payer_terminal_id.as_deref(), Some(demo::CUSTOMER_MSISDN));
    assert!(receipt.payment_date.is_some());
    assert_eq!(receipt.invoice.and_then(|i| i.total_amount), Some(eur("12.50")));
}

#[test]
fn no_notification_is_due_for_an_invoice_without_a_notification_url() {
    let mut w = World::new();
    let paid = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let (_, fx) = w.confirm(&paid);
    assert!(fx.notifications.is_empty());
    let canceled = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let now = w.now;
    assert!(w.machine.customer_cancel(&canceled, None, now).expect("cancel").notifications.is_empty());
    let reserved = w.issue_eur("10.00", PaymentMode::ReservationRequired);
    let (_, fx) = w.confirm(&reserved);
    assert!(fx.notifications.is_empty());
    // Neither the reversal of both nor anything else notifies.
    w.advance(STATUS_DEADLINE_MS);
    let fx = w.expire();
    assert_eq!(transitions(&fx).len(), 2, "both were reversed");
    assert!(fx.notifications.is_empty());
    assert!(!fx.events.iter().any(|e| matches!(e, mock_glase::machine::Event::NotificationDue { .. })));
}

#[test]
fn a_merchant_cancel_notifies_nobody() {
    let mut w = World::new();
    let reference = w.issue(with_url(invoice("10.00", PaymentMode::ImmediateDebit), NOTIFY_URL));
    assert!(w.apply(&cancel_invoice(&reference)).effects.notifications.is_empty());
}

#[test]
fn an_update_that_omits_the_notification_url_and_timeout_keeps_them() {
    let mut w = World::new();
    let mut original = with_url(invoice("20.00", PaymentMode::ReservationRequired), "https://merchant.example/n");
    original.commit_reservation_timeout = Some(30);
    let reference = w.issue(original);
    assert_eq!(
        w.code(&update_invoice(&reference, invoice("15.00", PaymentMode::ReservationRequired))),
        ResultCode::SUCCESS
    );
    let record = w.machine.invoice(&reference).unwrap();
    assert_eq!(record.invoice.notification_url.as_deref(), Some("https://merchant.example/n"));
    assert_eq!(record.invoice.commit_reservation_timeout, Some(30));
}
