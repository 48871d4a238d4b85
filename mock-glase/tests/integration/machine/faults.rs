//! Injected faults (spec 6): result codes and SOAP faults, per operation, per terminal,
//! for N calls.

use glase_protocol::{FaultCode, InvoiceStatus, Operation, PaymentMode, Reply, ResultCode};
use mock_glase::config::demo;
use mock_glase::machine::{Event, FaultAction, FaultRule, FaultTarget};

use crate::machine::result_codes::two_terminals;
use crate::machine::support::*;

fn rule(
    operation: Option<Operation>,
    terminal: Option<&str>,
    action: FaultAction,
    remaining: Option<u32>,
) -> FaultRule {
    FaultRule {
        terminal: terminal.map(str::to_owned),
        remaining,
        ..FaultRule::new(FaultTarget::Soap(operation), action)
    }
}

#[test]
fn a_soap_fault_action_answers_a_server_fault_and_changes_nothing() {
    let mut w = World::new();
    w.machine
        .add_fault(rule(
            Some(Operation::SendInvoice),
            None,
            FaultAction::SoapFault("bank is on fire".to_owned()),
            Some(1),
        ))
        .expect("valid rule");
    let outcome = w.apply(&send_invoice(invoice("10.00", PaymentMode::ImmediateDebit)));
    let Reply::Fault(fault) = &outcome.reply else { panic!("expected a SOAP fault, got {:?}", outcome.reply) };
    assert_eq!(fault.code, FaultCode::Server);
    assert_eq!(fault.string, "bank is on fire");
    assert_eq!(outcome.terminal.as_deref(), Some(demo::TERMINAL_ID));
    assert!(
        outcome
            .effects
            .events
            .iter()
            .any(|e| matches!(e, Event::FaultInjected { operation: Some(Operation::SendInvoice), .. }))
    );
    assert_eq!(w.machine.invoices().count(), 0);
    // One call only: the next one goes through.
    w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    assert!(w.machine.faults().is_empty());
}

#[test]
fn a_terminal_scoped_rule_does_not_affect_another_terminal() {
    let mut w = two_terminals();
    w.machine
        .add_fault(rule(None, Some("till-2"), FaultAction::ResultCode(ResultCode::SYSTEM_BUSY.0), None))
        .expect("valid rule");
    let till2 = terminal_as("till-2", "till2pass");
    for _ in 0..3 {
        assert_eq!(
            w.code(&by(till2.clone(), send_invoice(invoice("1.00", PaymentMode::ImmediateDebit)))),
            ResultCode::SYSTEM_BUSY
        );
    }
    let reference = w.issue_eur("1.00", PaymentMode::ImmediateDebit);
    assert_eq!(w.status(&reference).0, InvoiceStatus::Issued);
    assert_eq!(w.machine.invoices().count(), 1, "only the demo terminal's invoice exists");
    // RESELLERUSER calls claim no terminal and are not matched either.
    assert_eq!(w.code(&by(reseller(), mark_period(&[]))), ResultCode::SUCCESS);
}

#[test]
fn a_rule_with_two_remaining_calls_faults_exactly_two_calls() {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    w.machine
        .add_fault(rule(
            Some(Operation::GetPaymentStatus),
            Some(demo::TERMINAL_ID),
            FaultAction::ResultCode(ResultCode::SERVICE_UNAVAILABLE.0),
            Some(2),
        ))
        .expect("valid rule");
    // Other operations are not counted.
    assert_eq!(w.code(&update_invoice(&reference, invoice("9.00", PaymentMode::ImmediateDebit))), ResultCode::SUCCESS);
    assert_eq!(w.code(&get_payment_status(&reference)), ResultCode::SERVICE_UNAVAILABLE);
    assert_eq!(w.machine.faults()[0].remaining, Some(1));
    assert_eq!(w.code(&get_payment_status(&reference)), ResultCode::SERVICE_UNAVAILABLE);
    assert!(w.machine.faults().is_empty(), "the rule is used up");
    for _ in 0..3 {
        assert_eq!(w.code(&get_payment_status(&reference)), ResultCode::SUCCESS);
    }
}

#[test]
fn faults_come_before_authentication_and_can_be_cleared() {
    let mut w = World::new();
    let id = w
        .machine
        .add_fault(rule(None, None, FaultAction::ResultCode(ResultCode::SYSTEM_ERROR.0), None))
        .expect("valid rule");
    let second = w
        .machine
        .add_fault(rule(None, None, FaultAction::ResultCode(ResultCode::SYSTEM_BUSY.0), None))
        .expect("valid rule");
    assert_ne!(id, second);
    let wrong_password = by(terminal_as(demo::TERMINAL_ID, "nope"), get_payment_status("1"));
    assert_eq!(w.code(&wrong_password), ResultCode::SYSTEM_ERROR, "the first matching rule wins");
    assert_eq!(w.machine.clear_faults(Some(id)), 1);
    assert_eq!(w.code(&wrong_password), ResultCode::SYSTEM_BUSY);
    assert_eq!(w.machine.clear_faults(None), 1);
    assert_eq!(w.code(&wrong_password), ResultCode::AUTHENTICATION_FAILED);
}

#[test]
fn a_faulted_status_call_does_not_acknowledge_the_payment() {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    w.confirm(&reference);
    w.machine
        .add_fault(rule(
            Some(Operation::GetPaymentStatus),
            None,
            FaultAction::ResultCode(ResultCode::SYSTEM_BUSY.0),
            Some(1),
        ))
        .expect("valid rule");
    w.advance(1_000);
    assert_eq!(w.code(&get_payment_status(&reference)), ResultCode::SYSTEM_BUSY);
    w.advance(STATUS_DEADLINE_MS);
    assert_eq!(w.status(&reference).0, InvoiceStatus::Canceled);
    assert_eq!(w.balance(), dec("1000.00"));
}

/// Regression (an independent PHP backend through the suite): the fault a scenario armed
/// for its own purchase was taken by a late getPaymentStatus about the previous
/// scenario's invoice, and the scenario then failed the backend for its own invoice.
/// `issued_from` leaves calls about invoices issued before it alone.
#[test]
fn a_rule_for_new_invoices_leaves_calls_about_older_ones_alone() {
    let mut w = World::new();
    let earlier = w.issue_eur("1.00", PaymentMode::ImmediateDebit);
    w.advance(1_000);
    let mut for_new =
        rule(Some(Operation::GetPaymentStatus), None, FaultAction::ResultCode(ResultCode::SYSTEM_BUSY.0), Some(1));
    for_new.issued_from = Some(w.now);
    w.machine.add_fault(for_new).expect("valid rule");
    // The late call about the earlier invoice is answered, and the rule stays armed.
    assert_eq!(w.status(&earlier).0, InvoiceStatus::Issued);
    assert_eq!(w.machine.faults().len(), 1);
    // The new invoice's call takes it.
    let new = w.issue_eur("2.00", PaymentMode::ImmediateDebit);
    assert_eq!(w.code(&get_payment_status(&new)), ResultCode::SYSTEM_BUSY);
    assert!(w.machine.faults().is_empty());
}

#[test]
fn an_invoice_scoped_rule_faults_only_calls_about_that_invoice() {
    let mut w = World::new();
    let own = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let other = w.issue_eur("11.00", PaymentMode::ImmediateDebit);
    let busy = FaultAction::ResultCode(ResultCode::SYSTEM_BUSY.0);
    let scoped = FaultRule {
        invoice: Some(own.clone()),
        ..FaultRule::new(FaultTarget::Soap(Some(Operation::GetPaymentStatus)), busy)
    };
    w.machine.add_fault(scoped).expect("valid rule");
    for _ in 0..2 {
        assert_eq!(w.code(&get_payment_status(&other)), ResultCode::SUCCESS, "another test's invoice");
        assert_eq!(w.code(&get_payment_status(&own)), ResultCode::SYSTEM_BUSY);
    }
    assert_eq!(w.code(&cancel_invoice(&own)), ResultCode::SUCCESS, "another operation");
}

#[test]
fn a_customer_scoped_rule_faults_only_calls_about_invoices_that_customer_opened_or_paid() {
    let mut w = World::new();
    let other_customer = "46700000999";
    w.machine.set_customer(other_customer, Some("4321"), Some(dec("100.00")));
    let paid_by_own = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let opened_by_own = w.issue_eur("11.00", PaymentMode::ImmediateDebit);
    let paid_by_other = w.issue_eur("12.00", PaymentMode::ImmediateDebit);
    let untouched = w.issue_eur("13.00", PaymentMode::ImmediateDebit);
    let no_answer = FaultAction::ResultCode(ResultCode::SERVICE_UNAVAILABLE.0);
    let scoped = FaultRule {
        customer: Some(demo::CUSTOMER_MSISDN.to_owned()),
        ..FaultRule::new(FaultTarget::Soap(Some(Operation::GetPaymentStatus)), no_answer)
    };
    w.machine.add_fault(scoped).expect("valid rule");
    assert_eq!(w.code(&get_payment_status(&paid_by_own)), ResultCode::SUCCESS, "nobody has touched it yet");
    w.confirm(&paid_by_own);
    let now = w.now;
    w.machine.scan(&format!("HTTP://SEQR.SE/R{opened_by_own}"), None, now).expect("the own customer opens it");
    w.machine.confirm(&paid_by_other, Some(other_customer), Some("4321"), now).expect("the other customer pays");
    assert_eq!(w.code(&get_payment_status(&paid_by_own)), ResultCode::SERVICE_UNAVAILABLE);
    assert_eq!(w.code(&get_payment_status(&opened_by_own)), ResultCode::SERVICE_UNAVAILABLE);
    assert_eq!(w.code(&get_payment_status(&paid_by_other)), ResultCode::SUCCESS);
    assert_eq!(w.code(&get_payment_status(&untouched)), ResultCode::SUCCESS);
}

#[test]
fn operations_never_about_an_existing_invoice_cannot_be_narrowed_to_one() {
    let mut w = World::new();
    let busy = || FaultAction::ResultCode(ResultCode::SYSTEM_BUSY.0);
    for target in
        [FaultTarget::Soap(Some(Operation::SendInvoice)), FaultTarget::Soap(Some(Operation::RegisterTerminal))]
    {
        let by_invoice = FaultRule { invoice: Some("1".to_owned()), ..FaultRule::new(target, busy()) };
        let by_customer = FaultRule { customer: Some("4670".to_owned()), ..FaultRule::new(target, busy()) };
        for rule in [by_invoice, by_customer] {
            let error = w.machine.add_fault(rule).expect_err("refused");
            assert!(error.to_string().contains("never about an existing invoice"), "{error}");
        }
    }
    let purchase = FaultRule {
        customer: Some("4670".to_owned()),
        ..FaultRule::new(FaultTarget::CreatePurchase, FaultAction::DropConnection)
    };
    assert!(w.machine.add_fault(purchase).is_err());
    assert!(w.machine.faults().is_empty(), "nothing was added");
    let notification = FaultRule {
        customer: Some("4670".to_owned()),
        ..FaultRule::new(FaultTarget::Notification, FaultAction::DropConnection)
    };
    w.machine.add_fault(notification).expect("a notification is about an invoice");
}

#[test]
fn rule_ids_are_never_reused_after_a_rule_is_used_up() {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    let once = |code: ResultCode| FaultRule {
        remaining: Some(1),
        ..FaultRule::new(FaultTarget::Soap(Some(Operation::GetPaymentStatus)), FaultAction::ResultCode(code.0))
    };
    let first = w.machine.add_fault(once(ResultCode::SYSTEM_BUSY)).expect("valid rule");
    assert_eq!(w.code(&get_payment_status(&reference)), ResultCode::SYSTEM_BUSY);
    assert!(w.machine.faults().is_empty(), "used up");
    let second = w.machine.add_fault(once(ResultCode::SERVICE_UNAVAILABLE)).expect("valid rule");
    assert_ne!(first, second);
    assert_eq!(w.machine.clear_faults(Some(first)), 0, "the first test's id no longer names anything");
    assert_eq!(w.code(&get_payment_status(&reference)), ResultCode::SERVICE_UNAVAILABLE);
}
