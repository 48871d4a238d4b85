//! `mock-glase customer …` against a mock served in-process on 127.0.0.1:0: the real
//! binary, its exit codes and what it prints.
#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use std::process::{Command, Output};
use std::sync::Arc;

use glase_protocol::request::SendInvoice;
use glase_protocol::{
    Amount, ClientContext, Decimal, Invoice, InvoiceRow, PaymentMode, Reply, Request, ResponseDetail, decode_reply,
    encode_request,
};
use mock_glase::server::{RunningServer, spawn};
use mock_glase::{Config, ManualClock, Mock, Timestamp};
use serde_json::Value;

/// 2023-11-14T22:13:20Z. A clock that stands still: no deadline fires while the binary
/// runs, however slow the machine, and printed times are known.
const START: Timestamp = Timestamp(1_700_000_000_000);

struct Harness {
    mock: Mock,
    server: RunningServer,
    /// Serves the mock while the test runs the binary synchronously.
    runtime: tokio::runtime::Runtime,
}

fn start() -> Harness {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = Mock::new(&Config::default(), Arc::new(ManualClock::new(START))).expect("demo config is valid");
    let server = runtime.block_on(spawn("127.0.0.1:0".parse().unwrap(), mock.clone())).expect("bind loopback");
    Harness { mock, server, runtime }
}

fn send_invoice(mode: PaymentMode, total: &str) -> Request {
    let eur = || Some(Amount::new(total.parse::<Decimal>().unwrap(), "EUR"));
    Request::SendInvoice(SendInvoice {
        context: Some(ClientContext::for_terminal("demo-terminal", "demo1234", "customer-cli-tests", "ref-1")),
        invoice: Some(Invoice {
            payment_mode: Some(mode),
            title: Some("Corner cafe".into()),
            invoice_rows: Some(vec![InvoiceRow {
                item_description: Some("Coffee".into()),
                item_quantity: Some(Decimal::ONE),
                item_total_amount: eur(),
                ..InvoiceRow::default()
            }]),
            total_amount: eur(),
            ..Invoice::default()
        }),
        tokens: Vec::new(),
    })
}

impl Harness {
    fn url(&self) -> String {
        self.server.base_url()
    }

    /// Issues an invoice through the library's SOAP entry point; returns its reference.
    fn issue(&self, mode: PaymentMode, total: &str) -> String {
        let mut body = Vec::new();
        encode_request(&send_invoice(mode, total), &mut body);
        let answer = self.runtime.block_on(self.mock.handle_soap("/extclientproxy/service/v2", &body));
        match decode_reply(&answer.body).expect("mock answers valid SOAP") {
            Reply::Response(r) => match r.detail {
                ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
                other => panic!("unexpected sendInvoice answer {other:?} ({})", r.result_code),
            },
            Reply::Fault(f) => panic!("fault {f:?}"),
        }
    }

    fn customer(&self, args: &[&str]) -> Run {
        let mut full = vec!["customer", "--mock"];
        let url = self.url();
        full.push(&url);
        full.extend_from_slice(args);
        run(&full, &[])
    }
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        self.stdout
    }

    #[track_caller]
    fn fails(self, code: i32) -> String {
        assert_eq!(self.code, Some(code), "expected exit {code}: {self:#?}");
        assert!(self.stdout.is_empty(), "nothing on stdout when failing: {self:#?}");
        self.stderr
    }
}

/// Runs the real binary; the environment the CLI reads is cleared first so that a
/// developer's own settings cannot change the outcome.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mock-glase"));
    command
        .args(args)
        .env_remove("GLASE_MOCK_URL")
        .env_remove("GLASE_CUSTOMER_MSISDN")
        .env_remove("GLASE_CONTROL_TOKEN");
    command.envs(env.iter().copied());
    let Output { status, stdout, stderr } = command.output().expect("the binary runs");
    Run { code: status.code(), stdout: String::from_utf8(stdout).unwrap(), stderr: String::from_utf8(stderr).unwrap() }
}

#[test]
fn a_person_pays_an_invoice_from_the_command_line() {
    let h = start();
    let reference = h.issue(PaymentMode::ImmediateDebit, "12.50");

    let pending = h.customer(&["pending"]).ok();
    assert!(pending.starts_with("REFERENCE"), "{pending}");
    let line = pending.lines().find(|l| l.starts_with(&reference)).expect("the invoice is listed");
    for part in ["demo-terminal", "12.50 EUR", "IMMEDIATE_DEBIT", "2023-11-14T22:13:20Z"] {
        assert!(line.contains(part), "{part} in {line:?}");
    }
    assert!(!line.contains("open by"), "{line}");
    assert!(pending.contains("1 invoice waiting for a customer"), "{pending}");

    let qr = format!("HTTP://SEQR.SE/R{reference}");
    let scanned = h.customer(&["scan", &qr]).ok();
    for part in [
        format!("invoice {reference}\n"),
        "ISSUED (version 0)".to_owned(),
        "12.50 EUR  IMMEDIATE_DEBIT".to_owned(),
        "Corner cafe".to_owned(),
        "1 x Coffee  = 12.50 EUR".to_owned(),
        "483344323423 (PIN dialog showing)".to_owned(),
        format!("next: mock-glase customer confirm {reference}"),
    ] {
        assert!(scanned.contains(&part), "{part:?} in\n{scanned}");
    }
    let pending = h.customer(&["pending", "--terminal", "demo-terminal"]).ok();
    assert!(pending.contains("open by 483344323423"), "{pending}");

    let wrong = h.customer(&["confirm", &reference, "--pin", "0000"]).ok();
    assert!(wrong.starts_with(&format!("wrongPin: invoice {reference} stays ISSUED")), "{wrong}");

    let paid = h.customer(&["confirm", &qr]).ok();
    let ers = h.mock.invoice(&reference).unwrap().record.ers_reference.expect("paid invoices have one");
    assert!(paid.starts_with(&format!("paid: invoice {reference} is now PAID (version 1)")), "{paid}");
    assert!(paid.contains(ers.as_str()), "{paid}");
    assert!(paid.contains("getPaymentStatus by 2023-11-14T22:13:40Z"), "the 20 s status deadline: {paid}");

    let shown = h.customer(&["show", &reference]).ok();
    for part in [
        "PAID (version 1)",
        "2023-11-14T22:13:20Z  ISSUED -> PAID  customer confirmed payment",
        &format!("ersReference  {ers}"),
        "12.50 EUR at 2023-11-14T22:13:20Z by 483344323423",
        "refunds\n  (none)",
    ] {
        assert!(shown.contains(part), "{part:?} in\n{shown}");
    }

    let json: Value = serde_json::from_str(&h.customer(&["--json", "show", &reference]).ok()).unwrap();
    assert_eq!(json["status"], "PAID");
    assert_eq!(json["payment"]["amount"], "12.50");

    assert_eq!(h.customer(&["wallet"]).ok(), "customer 483344323423  balance 987.50\n");
    let none = h.customer(&["pending"]).ok();
    assert_eq!(none, "no invoices waiting for a customer\n");
}

#[test]
fn cancel_and_walk_away_take_references_or_qr_codes() {
    let h = start();
    let first = h.issue(PaymentMode::ImmediateDebit, "3.00");
    h.customer(&["scan", &format!("seqr://SEQR.SE/R{first}")]).ok();
    let away = h.customer(&["walk-away", &first]).ok();
    assert_eq!(away, format!("walked away: invoice {first} is ISSUED and open in no app\n"));
    assert_eq!(h.mock.invoice(&first).unwrap().record.opened_by, None);

    let canceled = h.customer(&["cancel", &format!("http://seqr.se/R{first}")]).ok();
    assert_eq!(canceled, format!("canceled: invoice {first} is now CANCELED (version 1)\n"));

    // The mock refuses a second cancel (409): its message, exit 1.
    let refused = h.customer(&["cancel", &first]).fails(1);
    assert!(refused.starts_with("mock-glase customer: invoice"), "{refused}");
    assert!(refused.contains("CANCELED"), "{refused}");
}

#[test]
fn wallets_are_set_per_msisdn_and_an_empty_one_fails_the_payment() {
    let h = start();
    let set = h.customer(&["--msisdn", "46700000001", "wallet", "--set-balance", "5.00", "--set-pin", "0000"]).ok();
    assert_eq!(set, "customer 46700000001  balance 5.00  PIN 0000\n");

    let reference = h.issue(PaymentMode::ImmediateDebit, "12.50");
    // The msisdn from the environment, global options after the subcommand.
    let url = h.url();
    let failed = run(
        &["customer", "confirm", &reference, "--pin", "0000", "--mock", &url],
        &[("GLASE_CUSTOMER_MSISDN", "46700000001")],
    )
    .ok();
    assert!(
        failed.starts_with(&format!(
            "insufficientFunds: the wallet cannot cover 12.50 EUR; invoice {reference} is now FAILED"
        )),
        "{failed}"
    );

    let json: Value = serde_json::from_str(&h.customer(&["--json", "--msisdn", "46700000001", "wallet"]).ok()).unwrap();
    assert_eq!(json, serde_json::json!({"msisdn": "46700000001", "balance": "5.00"}));

    let usage = h.customer(&["wallet", "--set-balance", "1.00"]).fails(2);
    assert!(usage.contains("need --msisdn"), "{usage}");
    assert_eq!(h.customer(&["--msisdn", "1", "wallet", "--set-balance", "-1"]).code, Some(2));
    let unknown = h.customer(&["--msisdn", "999", "wallet"]).fails(1);
    assert_eq!(unknown, "mock-glase customer: unknown customer \"999\"\n");
}

#[test]
fn errors_name_the_problem_and_pick_the_exit_code() {
    let h = start();
    assert_eq!(h.customer(&["show", "999"]).fails(1), "mock-glase customer: no invoice \"999\"\n");
    let not_qr = h.customer(&["scan", "https://example.com/R1"]).fails(1);
    assert!(not_qr.contains("is not a Glase QR code"), "{not_qr}");

    let refused = run(&["customer", "--mock", "http://127.0.0.1:1", "pending"], &[]).fails(3);
    assert_eq!(refused, "mock-glase customer: no mock at http://127.0.0.1:1 (start one with `mock-glase`)\n");
    let from_env = run(&["customer", "pending"], &[("GLASE_MOCK_URL", "http://127.0.0.1:1/")]).fails(3);
    assert_eq!(from_env, refused);

    assert_eq!(run(&["customer", "scan"], &[]).code, Some(2), "missing QR");
    assert_eq!(run(&["customer", "--mock", "ftp://x", "pending"], &[]).code, Some(2));
    assert_eq!(run(&["customer", "scan", "HTTP://SEQR.SE/000/ups?w=m&t=1", "--amount", "abc"], &[]).code, Some(2));
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in ["scan", "confirm", "cancel", "walk-away", "pending", "show", "wallet"] {
        let help = run(&["customer", sub, "--help"], &[]).ok();
        assert!(help.contains("mock-glase customer "), "{sub}: {help}");
        assert!(help.contains("--mock <URL>") && help.contains("--json"), "global options listed: {help}");
    }
    let help = run(&["customer", "--help"], &[]).ok();
    assert!(help.contains("Exit codes"), "{help}");
}
