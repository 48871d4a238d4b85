//! registerTerminal, unregisterTerminal and assignSeqrId (the point-of-sale flow, spec 2.3).

use glase_protocol::{InvoiceStatus, PaymentMode, ResponseDetail, ResultCode};
use mock_glase::config::demo;
use mock_glase::machine::CustomerError;

use crate::machine::support::*;

fn registered_id(w: &mut World, external_id: &str, password: &str) -> String {
    let response = w.call(&register_terminal(external_id, password));
    assert_eq!(response.result_code, ResultCode::SUCCESS);
    match response.detail {
        ResponseDetail::RegisterTerminal { terminal_id: Some(id) } => id,
        other => panic!("no terminalId: {other:?}"),
    }
}

#[test]
fn register_terminal_returns_a_32_hex_id_usable_as_terminalid() {
    let mut w = World::new();
    let id = registered_id(&mut w, "till-1", "tillpass1");
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let terminal = w.machine.terminal(&id).expect("terminal exists");
    assert_eq!((terminal.reseller.as_str(), terminal.external_id.as_deref()), (demo::RESELLER_ID, Some("till-1")));
    let till = terminal_as(&id, "tillpass1");
    let response = w.call(&by(till.clone(), send_invoice(invoice("5.00", PaymentMode::ImmediateDebit))));
    assert_eq!(response.result_code, ResultCode::SUCCESS);
    let ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } = response.detail else {
        panic!("reference")
    };
    assert_eq!(w.record(&reference).terminal, id);
    assert_eq!(w.code(&by(till, get_payment_status(&reference))), ResultCode::SUCCESS);
    // The demo terminal cannot see the new terminal's invoice.
    assert_eq!(w.code(&get_payment_status(&reference)), ResultCode::INVALID_INVOICE_REFERENCE);
    let other = registered_id(&mut w, "till-2", "tillpass2");
    assert_ne!(other, id);
}

#[test]
fn an_unregistered_terminal_answers_33_and_re_registering_gives_the_same_id_back() {
    let mut w = World::new();
    let id = registered_id(&mut w, "till-1", "tillpass1");
    let till = terminal_as(&id, "tillpass1");
    assert_eq!(w.code(&by(till.clone(), assign_seqr_id("POS1"))), ResultCode::SUCCESS);
    let pending = w.call(&by(till.clone(), send_invoice(invoice("5.00", PaymentMode::ImmediateDebit))));
    let ResponseDetail::SendInvoice { invoice_reference: Some(pending), .. } = pending.detail else {
        panic!("reference")
    };

    assert_eq!(w.code(&by(till.clone(), unregister_terminal())), ResultCode::SUCCESS);
    assert!(!w.machine.terminal(&id).expect("kept").registered);
    for request in [
        send_invoice(invoice("5.00", PaymentMode::ImmediateDebit)),
        get_payment_status(&pending),
        cancel_invoice(&pending),
        unregister_terminal(),
    ] {
        assert_eq!(w.code(&by(till.clone(), request)), ResultCode::INVALID_INITIATOR_PRINCIPAL_STATE);
    }
    // Its sticker is free again.
    let now = w.now;
    assert!(matches!(w.machine.scan("HTTP://SEQR.SE/QPOS1", None, now), Err(CustomerError::UnknownSeqrId(_))));
    assert_eq!(w.code(&assign_seqr_id("POS1")), ResultCode::SUCCESS, "the demo terminal may take it");

    let again = registered_id(&mut w, "till-1", "newpass1");
    assert_eq!(again, id, "same externalTerminalId, same terminalId");
    assert!(w.machine.terminal(&id).expect("kept").registered);
    assert_eq!(
        w.code(&by(till, get_payment_status(&pending))),
        ResultCode::AUTHENTICATION_FAILED,
        "the old password is gone"
    );
    let till = terminal_as(&id, "newpass1");
    let response = w.call(&by(till, get_payment_status(&pending)));
    assert_eq!(status_of(&response).0, InvoiceStatus::Issued, "its invoices survived");
    assert_eq!(w.machine.terminals().count(), 2);
}

#[test]
fn the_demo_terminal_can_unregister_itself() {
    let mut w = World::new();
    assert_eq!(w.code(&unregister_terminal()), ResultCode::SUCCESS);
    assert_eq!(w.code(&mark_period(&[])), ResultCode::INVALID_INITIATOR_PRINCIPAL_STATE);
    // The reseller login still works.
    assert_eq!(w.code(&by(reseller(), mark_period(&[]))), ResultCode::SUCCESS);
}

/// A RESELLERUSER login as Glase's own Java till sample sends it: `id` = `<reseller>/<user>`
/// and no `userId` element (issue 11, finding 6).
fn composite(id: &str, password: &str) -> glase_protocol::ClientContext {
    let mut context = reseller_as(id, "", password);
    if let Some(principal) = context.initiator_principal_id.as_mut() {
        principal.user_id = None;
    }
    context
}

#[test]
fn a_reseller_user_named_reseller_slash_user_without_a_user_id_is_authenticated() {
    let mut w = World::new();
    let login = format!("{}/{}", demo::RESELLER_ID, demo::RESELLER_USER_ID);
    let outcome = w.apply(&by(composite(&login, demo::PASSWORD), register_terminal("till-c", "tillc-pass")));
    assert_eq!(response(&outcome.reply).result_code, ResultCode::SUCCESS);
    assert_eq!(outcome.merchant.as_deref(), Some(demo::MERCHANT_ID), "journaled under its merchant");
    assert_eq!(w.code(&by(composite(&login, demo::PASSWORD), mark_period(&[]))), ResultCode::SUCCESS);
    // The parts are checked like the two elements: the user, then the password.
    let wrong_user = format!("{}/1234", demo::RESELLER_ID);
    assert_eq!(
        w.code(&by(composite(&wrong_user, demo::PASSWORD), register_terminal("x", "xpass123"))),
        ResultCode::INITIATOR_PRINCIPAL_NOT_FOUND
    );
    assert_eq!(
        w.code(&by(composite(&login, "nope"), register_terminal("x", "xpass123"))),
        ResultCode::AUTHENTICATION_FAILED
    );
    // A bare reseller id still needs its userId.
    assert_eq!(
        w.code(&by(composite(demo::RESELLER_ID, demo::PASSWORD), register_terminal("x", "xpass123"))),
        ResultCode::INITIATOR_PRINCIPAL_NOT_FOUND
    );
    // With a userId element the id is taken as it is, as before.
    assert_eq!(
        w.code(&by(reseller_as(&login, demo::RESELLER_USER_ID, demo::PASSWORD), register_terminal("x", "xpass123"))),
        ResultCode::INITIATOR_PRINCIPAL_NOT_FOUND
    );
}
