//! Spec 9: markTransactionPeriod, then executeReport for the four reconciliation reports.

use glase_protocol::{PaymentMode, Report, Response, ResponseDetail, ResultCode};
use mock_glase::config::demo;

use crate::machine::result_codes::two_terminals;
use crate::machine::support::*;

const SHOP: &str = "Reconciliation/Shop.xml";
const SHOP_DETAILS: &str = "Reconciliation/STD_RECON_003.xml";
const TERMINAL_SUMMARY: &str = "Reconciliation/STD_RECON_006.xml";
const TERMINAL_DETAILS: &str = "Reconciliation/STD_RECON_007.xml";
const ALL_REPORTS: [&str; 4] = [SHOP, SHOP_DETAILS, TERMINAL_SUMMARY, TERMINAL_DETAILS];

fn period_id(response: &Response) -> String {
    assert_eq!(response.result_code, ResultCode::SUCCESS);
    match &response.detail {
        ResponseDetail::MarkTransactionPeriod { transaction_period_id: Some(id) } => id.clone(),
        other => panic!("no transactionPeriodId: {other:?}"),
    }
}

/// The report of a successful executeReport, checked for the documented shape.
fn report(response: Response) -> (Report, String) {
    assert_eq!(response.result_code, ResultCode::SUCCESS, "executeReport failed");
    let ResponseDetail::ExecuteReport { report: Some(report) } = response.detail else { panic!("no report") };
    let text = report.content_string.clone().expect("contentString");
    assert_eq!(report.content.as_deref(), Some(text.as_bytes()), "content and contentString carry the same XML");
    assert_eq!(report.mime_type.as_deref(), Some("text/xml"));
    assert!(report.title.as_deref().is_some_and(|t| !t.is_empty()));
    assert!(text.contains("<TransactionDetails><Meta>") && text.ends_with("</TransactionDetails>"), "{text}");
    (report, text)
}

fn element(name: &str, value: &str) -> String {
    format!("<{name}>{value}</{name}>")
}

#[test]
fn reports_of_a_period_list_its_payments_and_refunds_once_ready() {
    let mut w = World::new();
    let (_, before_period) = w.paid("3.00");
    w.advance(1_000);
    let first = period_id(&w.call(&mark_period(&[])));
    assert!(first.len() == 25 && first.bytes().all(|b| b.is_ascii_digit()), "{first}");

    w.advance(1_000);
    let (_, bought) = w.paid("12.50");
    let refunded = w.call(&refund(&bought, "2.25")).ers_reference.expect("refund ersReference");
    let reservation = w.reserved("20.00");
    let committed = w.call(&commit(&reservation, Some("7.00"))).ers_reference.expect("ersReference");
    w.advance(1_000);
    let period = period_id(&w.call(&mark_period(&[])));
    let marked_at = w.now;
    let (_, after_period) = w.paid("4.00");

    let parameters = [("transactionPeriodId", period.as_str())];
    w.advance(REPORT_DELAY_MS - 1);
    for id in ALL_REPORTS {
        assert_eq!(w.code(&execute_report(id, &parameters)), ResultCode::REPORT_NOT_READY, "{id}");
    }
    w.advance(1);
    assert_eq!(w.now.0 - marked_at.0, REPORT_DELAY_MS);

    for id in [SHOP_DETAILS, TERMINAL_DETAILS] {
        let (_, text) = report(w.call(&execute_report(id, &parameters)));
        assert!(text.contains(&element("TransactionPeriodId", &period)), "{text}");
        for (ers, amount, kind) in
            [(&bought, "12.50", "PURCHASE"), (&refunded, "2.25", "REFUND"), (&committed, "7.00", "PURCHASE")]
        {
            let row = format!("{}{}{}", element("Type", kind), element("Amount", amount), element("Currency", "EUR"));
            assert!(text.contains(&row), "{id}: no {kind} of {amount}: {text}");
            assert!(text.contains(&element("ErsReference", ers)), "{id}: {ers} missing: {text}");
        }
        assert!(!text.contains(&before_period), "{id}: the previous period's payment leaked in");
        assert!(!text.contains(&after_period), "{id}: a later payment leaked in");
        assert_eq!(text.matches("<Row>").count(), 3, "{id}");
        assert!(text.contains(&element("TerminalId", demo::TERMINAL_ID)));
        assert!(text.contains(&element("CashierId", "cashier-7")));
    }
    let totals = [
        element("PurchaseCount", "2"),
        element("PurchaseAmount", "19.50"),
        element("RefundCount", "1"),
        element("RefundAmount", "2.25"),
        element("NetAmount", "17.25"),
    ]
    .concat();
    for id in [SHOP, TERMINAL_SUMMARY] {
        let (_, text) = report(w.call(&execute_report(id, &parameters)));
        assert!(text.contains(&totals), "{id}: {text}");
        assert_eq!(text.matches("<Row>").count(), 1, "{id}");
    }
    let (_, terminal_summary) = report(w.call(&execute_report(TERMINAL_SUMMARY, &parameters)));
    assert!(terminal_summary.contains(&format!("<Row>{}", element("TerminalId", demo::TERMINAL_ID))));

    // The first period holds only the payment made before it.
    let (_, text) = report(w.call(&execute_report(SHOP_DETAILS, &[("transactionPeriodId", first.as_str())])));
    assert!(text.contains(&before_period) && !text.contains(&bought), "{text}");
}

#[test]
fn the_terminalid_parameter_narrows_a_resellers_report_to_one_terminal() {
    let mut w = two_terminals();
    let till2 = terminal_as("till-2", "till2pass");
    let (_, demo_payment) = w.paid("10.00");
    let other = w.call(&by(till2.clone(), send_invoice(invoice("6.00", PaymentMode::ImmediateDebit))));
    let ResponseDetail::SendInvoice { invoice_reference: Some(other), .. } = other.detail else { panic!("reference") };
    w.confirm(&other);
    let other_payment = w.call(&by(till2.clone(), get_payment_status(&other))).ers_reference.expect("ers");
    w.advance(1_000);
    let period = period_id(&w.call(&by(reseller(), mark_period(&[]))));
    w.advance(REPORT_DELAY_MS);

    let everything = [("transactionPeriodId", period.as_str())];
    let (_, text) = report(w.call(&by(reseller(), execute_report(SHOP_DETAILS, &everything))));
    assert!(text.contains(&demo_payment) && text.contains(&other_payment), "{text}");
    let (_, text) = report(w.call(&by(reseller(), execute_report(TERMINAL_SUMMARY, &everything))));
    assert_eq!(text.matches("<Row>").count(), 2, "one summary row per terminal: {text}");

    let narrowed = [("transactionPeriodId", period.as_str()), ("TERMINALID", "till-2")];
    for id in ALL_REPORTS {
        let (_, text) = report(w.call(&by(reseller(), execute_report(id, &narrowed))));
        assert!(text.contains(&element("TerminalId", "till-2")), "{id}: {text}");
        assert!(!text.contains(demo::TERMINAL_ID), "{id}: the other terminal leaked in: {text}");
        assert!(!text.contains(&demo_payment), "{id}");
        if id == SHOP_DETAILS || id == TERMINAL_DETAILS {
            assert!(text.contains(&other_payment) && text.contains(&element("Amount", "6.00")), "{id}: {text}");
        } else {
            assert!(text.contains(&element("PurchaseAmount", "6.00")), "{id}: {text}");
        }
    }

    // A terminal running the reseller's period sees only its own transactions.
    let (_, text) = report(w.call(&by(till2.clone(), execute_report(SHOP_DETAILS, &everything))));
    assert!(text.contains(&other_payment) && !text.contains(&demo_payment), "{text}");
    // Another terminal's id, or one that does not exist, is refused.
    let foreign = [("transactionPeriodId", period.as_str()), ("TERMINALID", demo::TERMINAL_ID)];
    assert_eq!(w.code(&by(till2, execute_report(SHOP_DETAILS, &foreign))), ResultCode::ACCESS_DENIED);
    let unknown = [("transactionPeriodId", period.as_str()), ("TERMINALID", "no-such-till")];
    assert_eq!(
        w.code(&by(reseller(), execute_report(SHOP_DETAILS, &unknown))),
        ResultCode::INVALID_INITIATOR_PRINCIPAL_ID
    );
}

#[test]
fn a_per_terminal_period_is_marked_with_the_terminalid_parameter() {
    let mut w = two_terminals();
    let (_, demo_payment) = w.paid("10.00");
    w.advance(1_000);
    let period = period_id(&w.call(&by(reseller(), mark_period(&[("TERMINALID", demo::TERMINAL_ID)]))));
    w.advance(REPORT_DELAY_MS);
    let (_, text) =
        report(w.call(&by(reseller(), execute_report(TERMINAL_DETAILS, &[("transactionPeriodId", period.as_str())]))));
    assert!(text.contains(&demo_payment), "{text}");
    assert!(text.contains(&element("TerminalId", demo::TERMINAL_ID)));
}

#[test]
fn a_reversed_payment_is_not_reported() {
    let mut w = World::new();
    let reference = w.issue_eur("10.00", PaymentMode::ImmediateDebit);
    w.confirm(&reference);
    let reversed = w.record(&reference).ers_reference.clone().expect("ers");
    let (_, kept) = w.paid("4.00");
    w.advance(STATUS_DEADLINE_MS);
    let period = period_id(&w.call(&mark_period(&[])));
    w.advance(REPORT_DELAY_MS);
    let (_, text) = report(w.call(&execute_report(SHOP_DETAILS, &[("transactionPeriodId", period.as_str())])));
    assert!(text.contains(kept.as_str()) && !text.contains(reversed.as_str()), "{text}");
    let (_, text) = report(w.call(&execute_report(SHOP, &[("transactionPeriodId", period.as_str())])));
    assert!(text.contains(&element("PurchaseAmount", "4.00")), "{text}");
}

#[test]
fn an_unknown_report_or_period_is_refused() {
    let mut w = two_terminals();
    let period = period_id(&w.call(&mark_period(&[])));
    w.advance(REPORT_DELAY_MS);
    assert_eq!(
        w.code(&execute_report("Reconciliation/Nope.xml", &[("transactionPeriodId", period.as_str())])),
        ResultCode::UNSUPPORTED_OPERATION
    );
    assert_eq!(w.code(&execute_report(SHOP, &[])), ResultCode::INVALID_INVOICE_DATA);
    assert_eq!(w.code(&execute_report(SHOP, &[("transactionPeriodId", "1234")])), ResultCode::INVALID_INVOICE_DATA);
    // The period of another reseller is not found either.
    let mut other = crate::machine::result_codes::reseller_without_refunds();
    other.advance(REPORT_DELAY_MS);
    let foreign = period_id(&other.call(&by(terminal_as("nr-till", "nrpass01"), mark_period(&[]))));
    other.advance(REPORT_DELAY_MS);
    assert_eq!(
        other.code(&execute_report(SHOP, &[("transactionPeriodId", foreign.as_str())])),
        ResultCode::INVALID_INVOICE_DATA
    );
}

#[test]
fn a_summary_whose_sum_would_overflow_answers_90_instead_of_panicking() {
    let mut w = World::new();
    // Two payments that together exceed `Decimal::MAX` (the library takes any balance).
    for _ in 0..2 {
        w.machine.set_customer(demo::CUSTOMER_MSISDN, None, Some(glase_protocol::Decimal::MAX));
        w.paid("50000000000000000000000000000");
    }
    w.advance(1_000);
    let period = period_id(&w.call(&mark_period(&[])));
    w.advance(REPORT_DELAY_MS);
    let parameters = [("transactionPeriodId", period.as_str())];
    for id in [SHOP, TERMINAL_SUMMARY] {
        assert_eq!(w.code(&execute_report(id, &parameters)), ResultCode::SYSTEM_ERROR, "{id}");
    }
    // The detail reports add nothing up.
    for id in [SHOP_DETAILS, TERMINAL_DETAILS] {
        assert_eq!(w.code(&execute_report(id, &parameters)), ResultCode::SUCCESS, "{id}");
    }
}
