//! Spec 3.5: every documented result code, reached by a documented input, and the state
//! that must not change when a call is refused.
//!
//! Each code has a scenario function (set-up plus the triggering call) that the named test
//! checks in detail, and [`SCENARIOS`] lists them all so that
//! `every_documented_result_code_has_a_triggering_scenario` fails when a code is added to
//! `ResultCode::DOCUMENTED` without a way to reach it.

use glase_protocol::{InvoiceStatus, Operation, PaymentMode, Reply, ResultCode};
use mock_glase::config::{Config, ResellerConfig, TerminalConfig, demo};
use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::{FaultAction, FaultRule, FaultTarget};

use crate::machine::support::*;

/// What a scenario left behind: the world after the call, the reply, and the invoice or
/// payment it was about.
#[derive(Debug)]
pub struct Scenario {
    pub world: World,
    pub reply: Reply,
    pub invoice: Option<String>,
    pub ers: Option<String>,
}

impl Scenario {
    fn new(world: World, reply: Reply) -> Self {
        Self { world, reply, invoice: None, ers: None }
    }

    fn about_invoice(mut self, reference: &str) -> Self {
        self.invoice = Some(reference.to_owned());
        self
    }

    fn about_payment(mut self, ers: &str) -> Self {
        self.ers = Some(ers.to_owned());
        self
    }

    pub fn code(&self) -> ResultCode {
        response(&self.reply).result_code
    }

    fn reference(&self) -> &str {
        self.invoice.as_deref().expect("scenario names an invoice")
    }
}

/// Sets up a world and makes the call that should answer the paired code.
type Trigger = fn() -> Scenario;

/// Every scenario, with the code it is documented to produce.
pub const SCENARIOS: &[(ResultCode, Trigger)] = &[
    (ResultCode::SUCCESS, send_a_valid_invoice),
    (ResultCode::REPORT_NOT_READY, execute_a_report_too_early),
    (ResultCode::REJECTED_AMOUNT, commit_above_the_reservation),
    (ResultCode::AUTHENTICATION_FAILED, call_with_a_wrong_password),
    (ResultCode::ACCESS_DENIED, register_a_terminal_with_a_short_password),
    (ResultCode::INVALID_ERS_REFERENCE, refund_an_unknown_ers_reference),
    (ResultCode::INVALID_INITIATOR_PRINCIPAL_ID, call_as_an_unknown_terminal),
    (ResultCode::INVALID_INITIATOR_PRINCIPAL_STATE, call_from_an_unregistered_terminal),
    (ResultCode::INITIATOR_PRINCIPAL_NOT_FOUND, call_as_an_unknown_reseller_user),
    (ResultCode::PAYMENT_IN_PROGRESS, update_while_the_pin_dialog_is_open),
    (ResultCode::INVALID_INVOICE_DATA, send_an_invoice_in_the_wrong_currency),
    (ResultCode::CANNOT_CANCEL_PAID_INVOICE, cancel_a_paid_invoice),
    (ResultCode::CANNOT_CANCEL_INVOICE_IN_PROGRESS, cancel_while_the_pin_dialog_is_open),
    (ResultCode::INVALID_SEQR_ID, assign_a_seqr_id_owned_by_another_terminal),
    (ResultCode::INVALID_INVOICE_REFERENCE, ask_for_another_terminals_invoice),
    (ResultCode::INVALID_NOTIFICATION_URL, send_an_invoice_with_an_ftp_notification_url),
    (ResultCode::SYSTEM_ERROR, send_an_invoice_while_a_system_error_is_injected),
    (ResultCode::UNSUPPORTED_OPERATION, call_an_unimplemented_operation),
    (ResultCode::SYSTEM_BUSY, cancel_while_system_busy_is_injected),
    (ResultCode::SERVICE_UNAVAILABLE, commit_while_the_bank_is_down),
    (ResultCode::INVOICE_ALREADY_CANCELED, cancel_a_canceled_invoice),
    (ResultCode::INVOICE_STATE_NOT_RESERVED, commit_an_issued_invoice),
    (ResultCode::RESELLER_NOT_ALLOWED_TO_DO_REFUND, refund_for_a_reseller_without_refunds),
    (ResultCode::SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION, refund_more_than_was_paid),
    (ResultCode::RECEIVER_ACCOUNT_DOES_NOT_ALLOW_REFUNDS, refund_to_a_receiver_that_refuses_refunds),
];

#[test]
fn every_documented_result_code_has_a_triggering_scenario() {
    let produced: Vec<(ResultCode, ResultCode)> =
        SCENARIOS.iter().map(|(claimed, run)| (*claimed, run().code())).collect();
    for (claimed, actual) in &produced {
        assert_eq!(claimed, actual, "a scenario claims {claimed} but produced {actual}");
    }
    for code in ResultCode::DOCUMENTED {
        assert!(produced.iter().any(|(_, actual)| actual == code), "no scenario reaches documented result code {code}");
    }
    for (_, actual) in &produced {
        assert!(ResultCode::DOCUMENTED.contains(actual), "{actual} is not documented");
    }
}

// ---------------------------------------------------------------- worlds

/// The demo world plus a second terminal `till-2` of the demo reseller.
pub fn two_terminals() -> World {
    World::with_toml(
        r#"
        [[terminals]]
        id = "till-2"
        password = "till2pass"
        reseller = "glase-demo"
        "#,
    )
}

/// A paid, acknowledged invoice of a terminal given by its context; returns (reference, ers).
fn paid_via(world: &mut World, context: glase_protocol::ClientContext, total: &str) -> (String, String) {
    let response = world.call(&by(context.clone(), send_invoice(invoice(total, PaymentMode::ImmediateDebit))));
    assert_eq!(response.result_code, ResultCode::SUCCESS);
    let glase_protocol::ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } = response.detail else {
        panic!("no reference")
    };
    assert_eq!(world.confirm(&reference).0, Confirmation::Paid);
    let status = world.call(&by(context, get_payment_status(&reference)));
    assert_eq!(status_of(&status).0, InvoiceStatus::Paid);
    (reference, status.ers_reference.expect("ersReference"))
}

// ---------------------------------------------------------------- scenarios

fn send_a_valid_invoice() -> Scenario {
    let mut w = World::new();
    let reply = w.apply(&send_invoice(invoice("12.50", PaymentMode::ImmediateDebit))).reply;
    Scenario::new(w, reply)
}

fn execute_a_report_too_early() -> Scenario {
    let mut w = World::new();
    w.paid("5.00");
    w.advance(1_000);
    let marked = w.call(&mark_period(&[]));
    let glase_protocol::ResponseDetail::MarkTransactionPeriod { transaction_period_id: Some(period) } = marked.detail
    else {
        panic!("no period id")
    };
    w.advance(REPORT_DELAY_MS - 1);
    let reply = w.apply(&execute_report("Reconciliation/Shop.xml", &[("transactionPeriodId", &period)])).reply;
    Scenario::new(w, reply)
}

fn commit_above_the_reservation() -> Scenario {
    let mut w = World::new();
    let reference = w.reserved("20.00");
    let reply = w.apply(&commit(&reference, Some("20.01"))).reply;
    Scenario::new(w, reply).about_invoice(&reference)
}

fn call_with_a_wrong_password() -> Scenario {
    let mut w = World::new();
    let request = by(
        terminal_as(demo::TERMINAL_ID, "wrong-password"),
        send_invoice(invoice("5.00", PaymentMode::ImmediateDebit)),
    );
    let reply = w.apply(&request).reply;
    Scenario::new(w, reply)
}

fn register_a_terminal_with_a_short_password() -> Scenario {
    let mut w = World::new();
    let reply = w.apply(&register_terminal("till-9", "abc")).reply;
    Scenario::new(w, reply)
}

fn refund_an_unknown_ers_reference() -> Scenario {
    let mut w = World::new();
    let (_, ers) = w.paid("10.00");
    let reply = w.apply(&refund("9999999999999999999999999", "1.00")).reply;
    Scenario::new(w, reply).about_payment(&ers)
}

fn call_as_an_unknown_terminal() -> Scenario {
    let mut w = World::new();
    let request =
        by(terminal_as("no-such-terminal", demo::PASSWORD), send_invoice(invoice("5.00", PaymentMode::ImmediateDebit)));
    let reply = w.apply(&request).reply;
    Scenario::new(w, reply)
}

fn call_from_an_unregistered_terminal() -> Scenario {
    let mut w = World::new();
    assert_eq!(w.code(&unregister_terminal()), ResultCode::SUCCESS);
    let reply = w.apply(&send_invoice(invoice("5.00", PaymentMode::ImmediateDebit))).reply;
    Scenario::new(w, reply)
}

fn call_as_an_unknown_reseller_user() -> Scenario {
    let mut w = World::new();
    // The reseller exists, but not with this userId.
    let request = by(reseller_as(demo::RESELLER_ID, "1234", demo::PASSWORD), register_terminal("till-9", "till9pass"));
    let reply = w.apply(&request).reply;
    Scenario::new(w, reply)
}

fn update_while_the_pin_dialog_is_open() -> Scenario {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let now = w.now;
    w.machine.scan(&format!("HTTP://SEQR.SE/R{reference}"), None, now).expect("scan");
    let reply = w.apply(&update_invoice(&reference, invoice("8.00", PaymentMode::ImmediateDebit))).reply;
    Scenario::new(w, reply).about_invoice(&reference)
}

fn send_an_invoice_in_the_wrong_currency() -> Scenario {
    let mut w = World::new();
    let mut sek = invoice("10.00", PaymentMode::ImmediateDebit);
    for amount in sek.invoice_rows.iter_mut().flatten().filter_map(|r| r.item_total_amount.as_mut()) {
        amount.currency = Some("SEK".to_owned());
    }
    sek.total_amount = Some(glase_protocol::Amount::new(dec("10.00"), "SEK"));
    let reply = w.apply(&send_invoice(sek)).reply;
    Scenario::new(w, reply)
}

fn cancel_a_paid_invoice() -> Scenario {
    let mut w = World::new();
    let (reference, ers) = w.paid("10.00");
    let reply = w.apply(&cancel_invoice(&reference)).reply;
    Scenario::new(w, reply).about_invoice(&reference).about_payment(&ers)
}

fn cancel_while_the_pin_dialog_is_open() -> Scenario {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let now = w.now;
    w.machine.open_invoice(&reference, None, now).expect("open");
    let reply = w.apply(&cancel_invoice(&reference)).reply;
    Scenario::new(w, reply).about_invoice(&reference)
}

fn assign_a_seqr_id_owned_by_another_terminal() -> Scenario {
    let mut w = two_terminals();
    assert_eq!(w.code(&assign_seqr_id("TILL0001")), ResultCode::SUCCESS);
    let reply = w.apply(&by(terminal_as("till-2", "till2pass"), assign_seqr_id("TILL0001"))).reply;
    Scenario::new(w, reply)
}

fn ask_for_another_terminals_invoice() -> Scenario {
    let mut w = two_terminals();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let reply = w.apply(&by(terminal_as("till-2", "till2pass"), get_payment_status(&reference))).reply;
    Scenario::new(w, reply).about_invoice(&reference)
}

fn send_an_invoice_with_an_ftp_notification_url() -> Scenario {
    let mut w = World::new();
    let reply = w
        .apply(&send_invoice(with_url(invoice("10.00", PaymentMode::ImmediateDebit), "ftp://shop.example/notify")))
        .reply;
    Scenario::new(w, reply)
}

fn fault(operation: Option<Operation>, code: ResultCode) -> FaultRule {
    FaultRule::new(FaultTarget::Soap(operation), FaultAction::ResultCode(code.0))
}

fn send_an_invoice_while_a_system_error_is_injected() -> Scenario {
    let mut w = World::new();
    w.machine.add_fault(fault(Some(Operation::SendInvoice), ResultCode::SYSTEM_ERROR)).expect("valid rule");
    let reply = w.apply(&send_invoice(invoice("10.00", PaymentMode::ImmediateDebit))).reply;
    Scenario::new(w, reply)
}

fn call_an_unimplemented_operation() -> Scenario {
    let mut w = World::new();
    let reply = w.apply(&unsupported(Operation::RequestTopup)).reply;
    Scenario::new(w, reply)
}

fn cancel_while_system_busy_is_injected() -> Scenario {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    w.machine.add_fault(fault(None, ResultCode::SYSTEM_BUSY)).expect("valid rule");
    let reply = w.apply(&cancel_invoice(&reference)).reply;
    Scenario::new(w, reply).about_invoice(&reference)
}

fn commit_while_the_bank_is_down() -> Scenario {
    let mut w = World::new();
    let reference = w.reserved("20.00");
    w.machine
        .add_fault(fault(Some(Operation::CommitReservation), ResultCode::SERVICE_UNAVAILABLE))
        .expect("valid rule");
    let reply = w.apply(&commit(&reference, None)).reply;
    Scenario::new(w, reply).about_invoice(&reference)
}

fn cancel_a_canceled_invoice() -> Scenario {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    assert_eq!(w.code(&cancel_invoice(&reference)), ResultCode::SUCCESS);
    let reply = w.apply(&cancel_invoice(&reference)).reply;
    Scenario::new(w, reply).about_invoice(&reference)
}

fn commit_an_issued_invoice() -> Scenario {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ReservationRequired);
    let reply = w.apply(&commit(&reference, None)).reply;
    Scenario::new(w, reply).about_invoice(&reference)
}

/// A reseller `no-refunds` with `refunds_allowed = false`, from TOML.
pub fn reseller_without_refunds() -> World {
    World::with_toml(
        r#"
        [[resellers]]
        id = "no-refunds"
        user_id = "1"
        password = "secret99"
        refunds_allowed = false
        [[terminals]]
        id = "nr-till"
        password = "nrpass01"
        reseller = "no-refunds"
        "#,
    )
}

fn refund_for_a_reseller_without_refunds() -> Scenario {
    let mut w = reseller_without_refunds();
    let till = terminal_as("nr-till", "nrpass01");
    let (reference, ers) = paid_via(&mut w, till.clone(), "10.00");
    let reply = w.apply(&by(till, refund(&ers, "1.00"))).reply;
    Scenario::new(w, reply).about_invoice(&reference).about_payment(&ers)
}

fn refund_more_than_was_paid() -> Scenario {
    let mut w = World::new();
    let (reference, ers) = w.paid("10.00");
    assert_eq!(w.code(&refund(&ers, "6.00")), ResultCode::SUCCESS);
    let reply = w.apply(&refund(&ers, "4.01")).reply;
    Scenario::new(w, reply).about_invoice(&reference).about_payment(&ers)
}

/// A reseller `bank-says-no` with `receiver_allows_refunds = false`, from struct literals.
pub fn receiver_refusing_refunds() -> World {
    let config = Config {
        resellers: vec![ResellerConfig {
            id: "bank-says-no".to_owned(),
            user_id: "2".to_owned(),
            password: "secret99".to_owned(),
            currency: "EUR".to_owned(),
            merchant_id: None,
            name: Some("Strict bank shop".to_owned()),
            refunds_allowed: true,
            receiver_allows_refunds: false,
            create_purchase_url: None,
            create_purchase_dialect: Default::default(),
        }],
        terminals: vec![TerminalConfig {
            id: "strict-till".to_owned(),
            password: "strict01".to_owned(),
            reseller: "bank-says-no".to_owned(),
            name: None,
            seqr_id: None,
        }],
        ..Config::default()
    };
    World::with_config(&config)
}

fn refund_to_a_receiver_that_refuses_refunds() -> Scenario {
    let mut w = receiver_refusing_refunds();
    let till = terminal_as("strict-till", "strict01");
    let (reference, ers) = paid_via(&mut w, till.clone(), "10.00");
    let reply = w.apply(&by(till, refund(&ers, "1.00"))).reply;
    Scenario::new(w, reply).about_invoice(&reference).about_payment(&ers)
}

// ---------------------------------------------------------------- one test per code

#[test]
fn a_valid_send_invoice_answers_0_success_and_issues_the_invoice() {
    let s = send_a_valid_invoice();
    assert_eq!(s.code(), ResultCode::SUCCESS);
    let glase_protocol::ResponseDetail::SendInvoice { invoice_reference: Some(reference), invoice_qr_code: Some(qr) } =
        &response(&s.reply).detail
    else {
        panic!("sendInvoice answers a reference and a QR code")
    };
    assert!(!reference.is_empty() && reference.bytes().all(|b| b.is_ascii_digit()), "{reference}");
    assert_eq!(qr, &format!("HTTP://SEQR.SE/R{reference}"));
    let record = s.world.record(reference);
    assert_eq!(record.status, InvoiceStatus::Issued);
    assert_eq!(record.version, 0);
    assert_eq!(record.total, dec("12.50"));
    assert_eq!(record.terminal, demo::TERMINAL_ID);
}

#[test]
fn execute_report_before_the_ready_delay_answers_2_report_not_ready() {
    let s = execute_a_report_too_early();
    assert_eq!(s.code(), ResultCode::REPORT_NOT_READY);
    assert_eq!(response(&s.reply).detail, glase_protocol::ResponseDetail::None, "no report yet");
}

#[test]
fn commit_above_the_reserved_amount_answers_11_rejected_amount() {
    let s = commit_above_the_reservation();
    assert_eq!(s.code(), ResultCode::REJECTED_AMOUNT);
    let record = s.world.record(s.reference());
    assert_eq!(record.status, InvoiceStatus::Reserved, "a rejected commit leaves the invoice RESERVED");
    assert_eq!(record.version, 1);
    assert_eq!(record.reserved_amount, Some(dec("20.00")));
    assert_eq!(record.ers_reference, None, "no payment");
    assert_eq!(s.world.balance(), dec("980.00"), "the reservation is still held");
}

#[test]
fn a_non_positive_total_answers_11_rejected_amount_and_issues_nothing() {
    for total in ["0.00", "-5.00"] {
        let mut w = World::new();
        let mut zero = invoice("1.00", PaymentMode::ImmediateDebit);
        zero.invoice_rows = None;
        zero.total_amount = Some(eur(total));
        assert_eq!(w.code(&send_invoice(zero)), ResultCode::REJECTED_AMOUNT, "{total}");
        assert_eq!(w.machine.invoices().count(), 0);
    }
}

#[test]
fn update_above_the_reserved_amount_answers_11_rejected_amount_and_keeps_the_total() {
    let mut w = World::new();
    let reference = w.reserved("20.00");
    assert_eq!(
        w.code(&update_invoice(&reference, invoice("25.00", PaymentMode::ReservationRequired))),
        ResultCode::REJECTED_AMOUNT
    );
    assert_eq!(w.record(&reference).total, dec("20.00"));
    assert_eq!(w.invoice_status(&reference), InvoiceStatus::Reserved);
}

#[test]
fn a_non_positive_refund_answers_11_rejected_amount_and_adds_no_refund() {
    let mut w = World::new();
    let (_, ers) = w.paid("10.00");
    for amount in ["0.00", "-1.00"] {
        assert_eq!(w.code(&refund(&ers, amount)), ResultCode::REJECTED_AMOUNT, "{amount}");
    }
    assert!(w.payment(&ers).refunds.is_empty());
    assert_eq!(w.balance(), dec("990.00"));
}

#[test]
fn a_wrong_terminal_password_answers_20_authentication_failed() {
    let s = call_with_a_wrong_password();
    assert_eq!(s.code(), ResultCode::AUTHENTICATION_FAILED);
    assert_eq!(s.world.machine.invoices().count(), 0, "nothing was issued");
}

#[test]
fn a_wrong_reseller_user_password_answers_20_authentication_failed() {
    let mut w = World::new();
    let request =
        by(reseller_as(demo::RESELLER_ID, demo::RESELLER_USER_ID, "nope"), register_terminal("x", "xpass123"));
    assert_eq!(w.code(&request), ResultCode::AUTHENTICATION_FAILED);
    assert_eq!(w.machine.terminals().count(), 1);
}

#[test]
fn register_terminal_with_a_password_shorter_than_four_characters_answers_21_access_denied() {
    let s = register_a_terminal_with_a_short_password();
    assert_eq!(s.code(), ResultCode::ACCESS_DENIED);
    assert_eq!(s.world.machine.terminals().count(), 1, "no terminal was created");
}

#[test]
fn the_wrong_principal_type_for_an_operation_answers_21_access_denied() {
    let mut w = World::new();
    // sendInvoice is a terminal's; registerTerminal is the reseller's.
    let request = by(reseller(), send_invoice(invoice("5.00", PaymentMode::ImmediateDebit)));
    assert_eq!(w.code(&request), ResultCode::ACCESS_DENIED);
    assert_eq!(w.code(&by(terminal(), register_terminal("x", "xpass123"))), ResultCode::ACCESS_DENIED);
    assert_eq!(w.machine.invoices().count(), 0);
    assert_eq!(w.machine.terminals().count(), 1);
}

#[test]
fn refund_of_an_unknown_ers_reference_answers_23_invalid_ers_reference() {
    let mut s = refund_an_unknown_ers_reference();
    assert_eq!(s.code(), ResultCode::INVALID_ERS_REFERENCE);
    let ers = s.ers.clone().expect("ers");
    assert!(s.world.payment(&ers).refunds.is_empty());
    assert_eq!(s.world.balance(), dec("990.00"));
    // submitPaymentReceipt says the same.
    assert_eq!(s.world.code(&submit_receipt("9999999999999999999999999")), ResultCode::INVALID_ERS_REFERENCE);
    assert_eq!(s.world.code(&submit_receipt(&ers)), ResultCode::SUCCESS);
    assert!(s.world.payment(&ers).receipt.is_some());
}

#[test]
fn an_unknown_terminal_id_answers_29_invalid_initiator_principal_id() {
    let s = call_as_an_unknown_terminal();
    assert_eq!(s.code(), ResultCode::INVALID_INITIATOR_PRINCIPAL_ID);
    assert_eq!(s.world.machine.invoices().count(), 0);
}

#[test]
fn a_missing_or_unknown_principal_type_answers_29_invalid_initiator_principal_id() {
    let mut w = World::new();
    let mut nobody = terminal();
    nobody.initiator_principal_id = None;
    assert_eq!(
        w.code(&by(nobody, send_invoice(invoice("5.00", PaymentMode::ImmediateDebit)))),
        ResultCode::INVALID_INITIATOR_PRINCIPAL_ID
    );
    let martian = context("MARTIAN", demo::TERMINAL_ID, None, demo::PASSWORD);
    assert_eq!(
        w.code(&by(martian, send_invoice(invoice("5.00", PaymentMode::ImmediateDebit)))),
        ResultCode::INVALID_INITIATOR_PRINCIPAL_ID
    );
    assert_eq!(w.machine.invoices().count(), 0);
}

#[test]
fn a_call_from_an_unregistered_terminal_answers_33_invalid_initiator_principal_state() {
    let s = call_from_an_unregistered_terminal();
    assert_eq!(s.code(), ResultCode::INVALID_INITIATOR_PRINCIPAL_STATE);
    assert_eq!(s.world.machine.invoices().count(), 0);
    assert!(!s.world.machine.terminal(demo::TERMINAL_ID).expect("terminal").registered);
}

#[test]
fn an_unregistered_terminal_with_a_wrong_password_answers_20_not_33() {
    let mut w = World::new();
    assert_eq!(w.code(&unregister_terminal()), ResultCode::SUCCESS);
    let request = by(terminal_as(demo::TERMINAL_ID, "guess"), get_payment_status("1"));
    assert_eq!(w.code(&request), ResultCode::AUTHENTICATION_FAILED, "state is revealed only after authentication");
}

#[test]
fn an_unknown_reseller_user_answers_37_initiator_principal_not_found() {
    let s = call_as_an_unknown_reseller_user();
    assert_eq!(s.code(), ResultCode::INITIATOR_PRINCIPAL_NOT_FOUND);
    assert_eq!(s.world.machine.terminals().count(), 1, "no terminal was registered");
    let mut w = World::new();
    let request = by(reseller_as("no-such-reseller", "9900", demo::PASSWORD), register_terminal("x", "xpass123"));
    assert_eq!(w.code(&request), ResultCode::INITIATOR_PRINCIPAL_NOT_FOUND);
}

#[test]
fn update_while_the_customer_has_the_pin_dialog_open_answers_48_payment_in_progress() {
    let s = update_while_the_pin_dialog_is_open();
    assert_eq!(s.code(), ResultCode::PAYMENT_IN_PROGRESS);
    let record = s.world.record(s.reference());
    assert_eq!(record.total, dec("10.00"), "the update was not applied");
    assert_eq!(record.status, InvoiceStatus::Issued);
    assert_eq!(record.opened_by.as_deref(), Some(demo::CUSTOMER_MSISDN));
    assert_eq!(record.version, 0);
}

#[test]
fn an_invoice_in_the_wrong_currency_answers_49_invalid_invoice_data() {
    let s = send_an_invoice_in_the_wrong_currency();
    assert_eq!(s.code(), ResultCode::INVALID_INVOICE_DATA);
    assert_eq!(s.world.machine.invoices().count(), 0);
}

#[test]
fn rows_that_do_not_add_up_to_the_total_answer_49_invalid_invoice_data() {
    let mut w = World::new();
    let mut wrong = invoice("10.00", PaymentMode::ImmediateDebit);
    wrong.total_amount = Some(eur("10.01"));
    assert_eq!(w.code(&send_invoice(wrong)), ResultCode::INVALID_INVOICE_DATA);
    let mut no_total = invoice("10.00", PaymentMode::ImmediateDebit);
    no_total.total_amount = None;
    assert_eq!(w.code(&send_invoice(no_total)), ResultCode::INVALID_INVOICE_DATA);
    assert_eq!(w.machine.invoices().count(), 0);
    // Negative rows may balance the total.
    let mut discounted = invoice("10.00", PaymentMode::ImmediateDebit);
    discounted.invoice_rows = Some(vec![row("Menu", dec("12.00")), row("Discount", dec("-2.00"))]);
    assert_eq!(w.code(&send_invoice(discounted)), ResultCode::SUCCESS);
}

#[test]
fn cancel_of_a_paid_invoice_answers_50_cannot_cancel_paid_invoice() {
    let s = cancel_a_paid_invoice();
    assert_eq!(s.code(), ResultCode::CANNOT_CANCEL_PAID_INVOICE);
    let record = s.world.record(s.reference());
    assert_eq!(record.status, InvoiceStatus::Paid);
    assert_eq!(record.version, 1);
    assert!(!s.world.payment(s.ers.as_deref().expect("ers")).reversed);
    assert_eq!(s.world.balance(), dec("990.00"));
}

#[test]
fn cancel_while_the_customer_is_confirming_answers_51_cannot_cancel_invoice_in_progress() {
    let s = cancel_while_the_pin_dialog_is_open();
    assert_eq!(s.code(), ResultCode::CANNOT_CANCEL_INVOICE_IN_PROGRESS);
    let record = s.world.record(s.reference());
    assert_eq!(record.status, InvoiceStatus::Issued);
    assert_eq!(record.version, 0);
    assert!(record.opened_by.is_some(), "the customer still has it open");
}

#[test]
fn assigning_a_seqr_id_owned_by_another_terminal_answers_53_invalid_seqr_id() {
    let s = assign_a_seqr_id_owned_by_another_terminal();
    assert_eq!(s.code(), ResultCode::INVALID_SEQR_ID);
    assert_eq!(s.world.machine.terminal(demo::TERMINAL_ID).and_then(|t| t.seqr_id.as_deref()), Some("TILL0001"));
    assert_eq!(s.world.machine.terminal("till-2").and_then(|t| t.seqr_id.as_deref()), None);
}

#[test]
fn a_non_alphanumeric_seqr_id_answers_53_invalid_seqr_id() {
    let mut w = World::new();
    for bad in ["till-1", "", "till 1", "kassa/2"] {
        assert_eq!(w.code(&assign_seqr_id(bad)), ResultCode::INVALID_SEQR_ID, "{bad:?}");
    }
    assert_eq!(w.machine.terminal(demo::TERMINAL_ID).and_then(|t| t.seqr_id.clone()), None);
    // Re-assigning one's own id is fine.
    assert_eq!(w.code(&assign_seqr_id("Till1")), ResultCode::SUCCESS);
    assert_eq!(w.code(&assign_seqr_id("Till1")), ResultCode::SUCCESS);
}

#[test]
fn status_of_another_terminals_invoice_answers_54_invalid_invoice_reference() {
    let mut s = ask_for_another_terminals_invoice();
    assert_eq!(s.code(), ResultCode::INVALID_INVOICE_REFERENCE);
    let reference = s.reference().to_owned();
    let till2 = terminal_as("till-2", "till2pass");
    // Nor may the other terminal cancel, update or commit it.
    assert_eq!(s.world.code(&by(till2.clone(), cancel_invoice(&reference))), ResultCode::INVALID_INVOICE_REFERENCE);
    assert_eq!(
        s.world.code(&by(till2, update_invoice(&reference, invoice("1.00", PaymentMode::ImmediateDebit)))),
        ResultCode::INVALID_INVOICE_REFERENCE
    );
    assert_eq!(s.world.code(&get_payment_status("12345")), ResultCode::INVALID_INVOICE_REFERENCE);
    let record = s.world.record(&reference);
    assert_eq!((record.status, record.version, record.total), (InvoiceStatus::Issued, 0, dec("10.00")));
}

#[test]
fn a_notification_url_that_is_not_http_answers_64_invalid_notification_url() {
    let s = send_an_invoice_with_an_ftp_notification_url();
    assert_eq!(s.code(), ResultCode::INVALID_NOTIFICATION_URL);
    assert_eq!(s.world.machine.invoices().count(), 0);
    let mut w = World::new();
    for bad in ["notify", "https://", "mailto:shop@example.com"] {
        let request = send_invoice(with_url(invoice("1.00", PaymentMode::ImmediateDebit), bad));
        assert_eq!(w.code(&request), ResultCode::INVALID_NOTIFICATION_URL, "{bad}");
    }
}

#[test]
fn an_injected_system_error_answers_90_system_error_and_issues_nothing() {
    let s = send_an_invoice_while_a_system_error_is_injected();
    assert_eq!(s.code(), ResultCode::SYSTEM_ERROR);
    assert_eq!(s.world.machine.invoices().count(), 0);
}

#[test]
fn an_unimplemented_operation_answers_91_unsupported_operation() {
    let s = call_an_unimplemented_operation();
    assert_eq!(s.code(), ResultCode::UNSUPPORTED_OPERATION);
    assert_eq!(response(&s.reply).operation, Operation::RequestTopup);
    let mut w = World::new();
    for op in Operation::ALL.iter().filter(|op| !op.is_implemented()) {
        assert_eq!(w.code(&unsupported(*op)), ResultCode::UNSUPPORTED_OPERATION, "{op}");
    }
}

#[test]
fn an_injected_busy_answers_93_system_busy_and_leaves_the_invoice_issued() {
    let s = cancel_while_system_busy_is_injected();
    assert_eq!(s.code(), ResultCode::SYSTEM_BUSY);
    let record = s.world.record(s.reference());
    assert_eq!((record.status, record.version), (InvoiceStatus::Issued, 0));
}

#[test]
fn an_injected_bank_outage_answers_94_service_unavailable_and_leaves_the_invoice_reserved() {
    let s = commit_while_the_bank_is_down();
    assert_eq!(s.code(), ResultCode::SERVICE_UNAVAILABLE);
    let record = s.world.record(s.reference());
    assert_eq!((record.status, record.version), (InvoiceStatus::Reserved, 1));
    assert_eq!(record.ers_reference, None);
    assert_eq!(s.world.balance(), dec("980.00"));
}

#[test]
fn cancel_of_a_canceled_invoice_answers_95_invoice_already_canceled() {
    let s = cancel_a_canceled_invoice();
    assert_eq!(s.code(), ResultCode::INVOICE_ALREADY_CANCELED);
    let record = s.world.record(s.reference());
    assert_eq!((record.status, record.version), (InvoiceStatus::Canceled, 1));
    assert_eq!(record.history.len(), 1);
}

#[test]
fn commit_of_an_invoice_that_is_not_reserved_answers_96_invoice_state_not_reserved() {
    let mut s = commit_an_issued_invoice();
    assert_eq!(s.code(), ResultCode::INVOICE_STATE_NOT_RESERVED);
    let reference = s.reference().to_owned();
    let record = s.world.record(&reference);
    assert_eq!((record.status, record.version, record.ers_reference.clone()), (InvoiceStatus::Issued, 0, None));
    // Nor a PAID, CANCELED or FAILED one.
    let (paid, _) = s.world.paid("3.00");
    assert_eq!(s.world.code(&commit(&paid, None)), ResultCode::INVOICE_STATE_NOT_RESERVED);
    assert_eq!(s.world.code(&cancel_invoice(&reference)), ResultCode::SUCCESS);
    assert_eq!(s.world.code(&commit(&reference, None)), ResultCode::INVOICE_STATE_NOT_RESERVED);
    assert_eq!(s.world.invoice_status(&reference), InvoiceStatus::Canceled);
}

#[test]
fn refund_for_a_reseller_without_refunds_answers_97_reseller_not_allowed_to_do_refund() {
    let s = refund_for_a_reseller_without_refunds();
    assert_eq!(s.code(), ResultCode::RESELLER_NOT_ALLOWED_TO_DO_REFUND);
    assert!(s.world.payment(s.ers.as_deref().expect("ers")).refunds.is_empty());
    assert_eq!(s.world.balance(), dec("990.00"));
}

#[test]
fn refunds_above_the_payment_answer_98_and_add_no_refund() {
    let s = refund_more_than_was_paid();
    assert_eq!(s.code(), ResultCode::SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION);
    let payment = s.world.payment(s.ers.as_deref().expect("ers"));
    assert_eq!(payment.refunds.len(), 1, "a 98 refund adds no refund");
    assert_eq!(payment.refunded(), dec("6.00"));
    assert_eq!(s.world.balance(), dec("996.00"));
    assert_eq!(s.world.invoice_status(s.reference()), InvoiceStatus::Paid, "refunds leave the invoice PAID");
}

#[test]
fn refund_to_a_receiver_that_refuses_answers_99_receiver_account_does_not_allow_refunds() {
    let s = refund_to_a_receiver_that_refuses_refunds();
    assert_eq!(s.code(), ResultCode::RECEIVER_ACCOUNT_DOES_NOT_ALLOW_REFUNDS);
    assert!(s.world.payment(s.ers.as_deref().expect("ers")).refunds.is_empty());
    assert_eq!(s.world.balance(), dec("990.00"));
}

#[test]
fn every_result_code_carries_its_documented_description() {
    for (_, run) in SCENARIOS {
        let s = run();
        let r = response(&s.reply);
        assert_eq!(r.result_description.as_deref(), Some(r.result_code.description()));
    }
}
