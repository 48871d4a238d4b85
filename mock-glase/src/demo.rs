//! `mock-glase demo`: starts a mock on a free loopback port and walks the two main
//! flows through it over real HTTP, the way an integrator's backend would — a webshop
//! payment with receipt and refunds, and an unattended-style reservation that is
//! updated and committed — plus the business errors each flow can meet. Every SOAP
//! exchange is printed; the journal and a Markdown summary are written to a directory.
//!
//! It is a guided tour and a smoke test of a build, not the conformance suite.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use glase_protocol::request::{
    CommitReservation, GetPaymentStatus, RefundPayment, SendInvoice, SubmitPaymentReceipt, UpdateInvoice,
};
use glase_protocol::{
    Amount, ClientContext, Decimal, Invoice, InvoiceRow, InvoiceStatus, PaymentMode, ReceiptDocument, Reply, Request,
    Response, ResponseDetail, ResultCode, decode_reply, encode_request,
};
use serde_json::{Value, json};

use crate::clock::SystemClock;
use crate::config::{Config, demo};
use crate::journal::Filter;
use crate::mock::Mock;
use crate::outbound::http_client;
use crate::server::{RunningServer, spawn};

/// One step of the walkthrough and whether it behaved as Glase should.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub expected: String,
    pub got: String,
    pub ok: bool,
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub endpoint: String,
    pub steps: Vec<Step>,
    pub journal_path: PathBuf,
    pub summary_path: PathBuf,
}

impl DemoReport {
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }
}

struct Tour {
    server: RunningServer,
    http: reqwest::Client,
    steps: Vec<Step>,
    counter: u32,
    verbose: bool,
}

/// Runs the walkthrough and writes `journal.jsonl` and `summary.md` into `out_dir`.
pub async fn run(out_dir: &Path, verbose: bool) -> anyhow::Result<DemoReport> {
    let mock = Mock::new(&Config::default(), Arc::new(SystemClock))?;
    let server = spawn("127.0.0.1:0".parse()?, mock.clone()).await.context("cannot bind a loopback port")?;
    let http = http_client(Duration::from_secs(10))?;
    let mut tour = Tour { server, http, steps: Vec::new(), counter: 0, verbose };
    println!("mock-glase demo: mock listening at {}", tour.server.soap_url());
    tour.webshop().await?;
    tour.reservation().await?;
    tour.errors().await?;
    let endpoint = tour.server.soap_url();
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let journal_path = out_dir.join("journal.jsonl");
    let mut lines = String::new();
    for entry in mock.journal(&Filter::default()) {
        lines.push_str(&serde_json::to_string(&entry)?);
        lines.push('\n');
    }
    std::fs::write(&journal_path, lines).with_context(|| format!("cannot write {}", journal_path.display()))?;
    let summary_path = out_dir.join("summary.md");
    std::fs::write(&summary_path, summary(&endpoint, &tour.steps))
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    tour.server.shutdown().await;
    Ok(DemoReport { endpoint, steps: tour.steps, journal_path, summary_path })
}

fn summary(endpoint: &str, steps: &[Step]) -> String {
    let passed = steps.iter().filter(|s| s.ok).count();
    let mut out = format!(
        "# mock-glase demo\n\nEndpoint: `{endpoint}`  \nResult: {passed}/{} steps as expected\n\n| # | step | expected | got | |\n|---|---|---|---|---|\n",
        steps.len()
    );
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            s.name,
            s.expected,
            s.got,
            if s.ok { "ok" } else { "**FAILED**" }
        );
    }
    out
}

fn eur(value: Decimal) -> Option<Amount> {
    Some(Amount::new(value, demo::CURRENCY))
}

fn dec(text: &str) -> Decimal {
    // Only called with literals below.
    text.parse().unwrap_or_default()
}

fn invoice(mode: PaymentMode, rows: &[(&str, &str)]) -> Invoice {
    let rows: Vec<InvoiceRow> = rows
        .iter()
        .map(|(name, amount)| InvoiceRow {
            item_description: Some((*name).to_owned()),
            item_quantity: Some(Decimal::ONE),
            item_unit_price: eur(dec(amount)),
            item_total_amount: eur(dec(amount)),
            ..InvoiceRow::default()
        })
        .collect();
    let total = rows.iter().filter_map(|r| r.item_total_amount.as_ref()?.value).sum();
    Invoice {
        payment_mode: Some(mode),
        acknowledgment_mode: Some(glase_protocol::AcknowledgmentMode::NoAcknowledgment),
        issue_date: Some("2026-11-23T12:00:00Z".to_owned()),
        title: Some("Glase demo".to_owned()),
        client_invoice_id: Some("demo-1".to_owned()),
        invoice_rows: Some(rows),
        total_amount: eur(total),
        cashier_id: Some("demo-cashier".to_owned()),
        ..Invoice::default()
    }
}

impl Tour {
    fn context(&mut self) -> Option<ClientContext> {
        self.counter += 1;
        let reference = format!("demo-{}", self.counter);
        Some(ClientContext::for_terminal(demo::TERMINAL_ID, demo::PASSWORD, "mock-glase-demo", reference))
    }

    async fn call(&mut self, request: &Request) -> anyhow::Result<Response> {
        let mut body = Vec::new();
        encode_request(request, &mut body);
        if self.verbose {
            println!("  → {}", String::from_utf8_lossy(&body));
        }
        let text = self.http.post(self.server.soap_url()).body(body).send().await?.text().await?;
        if self.verbose {
            println!("  ← {text}");
        }
        match decode_reply(text.as_bytes())? {
            Reply::Response(response) => Ok(response),
            Reply::Fault(fault) => bail!("{} answered with a SOAP fault: {}", request.operation(), fault.string),
        }
    }

    async fn customer(&self, action: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}/control/customer/{action}", self.server.base_url());
        let response = self.http.post(url).json(&body).send().await?;
        let status = response.status();
        let value: Value = response.json().await?;
        if !status.is_success() {
            bail!("customer {action} failed: {value}");
        }
        Ok(value)
    }

    fn check(&mut self, name: &str, expected: impl Into<String>, got: impl Into<String>, ok: bool) {
        let step = Step { name: name.to_owned(), expected: expected.into(), got: got.into(), ok };
        println!("{} {:<44} expected {:<28} got {}", if ok { "✔" } else { "✘" }, step.name, step.expected, step.got);
        self.steps.push(step);
    }

    fn check_code(&mut self, name: &str, expected: ResultCode, response: &Response) {
        self.check(name, expected.to_string(), response.result_code.to_string(), response.result_code == expected);
    }

    async fn send(&mut self, name: &str, invoice: Invoice) -> anyhow::Result<String> {
        let request =
            Request::SendInvoice(SendInvoice { context: self.context(), invoice: Some(invoice), tokens: vec![] });
        let response = self.call(&request).await?;
        self.check_code(name, ResultCode::SUCCESS, &response);
        match response.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => Ok(reference),
            _ => bail!("sendInvoice returned no invoiceReference"),
        }
    }

    async fn status(&mut self, name: &str, reference: &str, expected: InvoiceStatus) -> anyhow::Result<Response> {
        let request = Request::GetPaymentStatus(GetPaymentStatus {
            context: self.context(),
            invoice_reference: Some(reference.to_owned()),
            invoice_version: Some(0),
        });
        let response = self.call(&request).await?;
        let got = match &response.detail {
            ResponseDetail::PaymentStatus { status: Some(status), .. } => *status,
            _ => bail!("getPaymentStatus returned no status"),
        };
        self.check(name, expected.as_str(), got.as_str(), got == expected);
        Ok(response)
    }

    async fn webshop(&mut self) -> anyhow::Result<()> {
        println!("\nWebshop payment (sendInvoice IMMEDIATE_DEBIT → customer pays → status → receipt → refunds)");
        let reference = self
            .send("sendInvoice 149.99 EUR", invoice(PaymentMode::ImmediateDebit, &[("Headphones", "149.99")]))
            .await?;
        self.status("getPaymentStatus before scanning", &reference, InvoiceStatus::Issued).await?;
        let paid = self.customer("confirm", json!({ "qr": format!("HTTP://SEQR.SE/R{reference}") })).await?;
        self.check(
            "customer scans and confirms with PIN",
            "paid",
            paid["result"].as_str().unwrap_or("?"),
            paid["result"] == "paid",
        );
        let status = self.status("getPaymentStatus after paying", &reference, InvoiceStatus::Paid).await?;
        let ers = status.ers_reference.clone().unwrap_or_default();
        self.check("ersReference in the status", "25 digits", ers.clone(), ers.len() == 25);
        let receipt = Request::SubmitPaymentReceipt(SubmitPaymentReceipt {
            context: self.context(),
            ers_reference: Some(ers.clone()),
            receipt_document: Some(ReceiptDocument {
                mime_type: Some("text/html".to_owned()),
                receipt_data: Some(b"<html><body>Thank you</body></html>".to_vec()),
                receipt_type: Some("SALES_RECEIPT".to_owned()),
            }),
        });
        let response = self.call(&receipt).await?;
        self.check_code("submitPaymentReceipt", ResultCode::SUCCESS, &response);
        for (name, amount, expected) in [
            ("refundPayment 50.00 (partial)", "50.00", ResultCode::SUCCESS),
            (
                "refundPayment 100.00 (beyond the payment)",
                "100.00",
                ResultCode::SUM_OF_REFUNDS_CAN_NOT_BE_MORE_THAN_ORIGINAL_TRANSACTION,
            ),
        ] {
            let refund = Request::RefundPayment(RefundPayment {
                context: self.context(),
                ers_reference: Some(ers.clone()),
                invoice: Some(Invoice {
                    title: Some("Refund".to_owned()),
                    total_amount: eur(dec(amount)),
                    ..Invoice::default()
                }),
            });
            let response = self.call(&refund).await?;
            self.check_code(name, expected, &response);
        }
        Ok(())
    }

    async fn reservation(&mut self) -> anyhow::Result<()> {
        println!(
            "\nReservation (sendInvoice RESERVATION_REQUIRED → confirm → RESERVED → updateInvoice → commitReservation)"
        );
        let reference = self
            .send(
                "sendInvoice reservation 20.00 EUR",
                invoice(PaymentMode::ReservationRequired, &[("Vending credit", "20.00")]),
            )
            .await?;
        let reserved = self.customer("confirm", json!({ "invoiceReference": reference })).await?;
        self.check(
            "customer confirms the reservation",
            "reserved",
            reserved["result"].as_str().unwrap_or("?"),
            reserved["result"] == "reserved",
        );
        self.status("getPaymentStatus after confirming", &reference, InvoiceStatus::Reserved).await?;
        let update = Request::UpdateInvoice(UpdateInvoice {
            context: self.context(),
            invoice_reference: Some(reference.clone()),
            invoice: Some(invoice(PaymentMode::ReservationRequired, &[("Cola", "2.50"), ("Crisps", "1.75")])),
            tokens: vec![],
        });
        let response = self.call(&update).await?;
        self.check_code("updateInvoice to the vended 4.25", ResultCode::SUCCESS, &response);
        let commit = Request::CommitReservation(CommitReservation {
            context: self.context(),
            invoice_reference: Some(reference.clone()),
            amount: eur(dec("4.25")),
        });
        let response = self.call(&commit).await?;
        self.check_code("commitReservation 4.25", ResultCode::SUCCESS, &response);
        self.status("getPaymentStatus after committing", &reference, InvoiceStatus::Paid).await?;
        Ok(())
    }

    async fn errors(&mut self) -> anyhow::Result<()> {
        println!("\nBusiness errors");
        let reference = self
            .send("sendInvoice reservation 5.00 EUR", invoice(PaymentMode::ReservationRequired, &[("Snack", "5.00")]))
            .await?;
        let commit = Request::CommitReservation(CommitReservation {
            context: self.context(),
            invoice_reference: Some(reference.clone()),
            amount: None,
        });
        let response = self.call(&commit).await?;
        self.check_code(
            "commitReservation before the customer agreed",
            ResultCode::INVOICE_STATE_NOT_RESERVED,
            &response,
        );
        self.customer("confirm", json!({ "invoiceReference": reference })).await?;
        let over = Request::CommitReservation(CommitReservation {
            context: self.context(),
            invoice_reference: Some(reference.clone()),
            amount: eur(dec("5.01")),
        });
        let response = self.call(&over).await?;
        self.check_code("commitReservation above the reservation", ResultCode::REJECTED_AMOUNT, &response);
        let mut wrong = invoice(PaymentMode::ImmediateDebit, &[("Book", "12.00")]);
        wrong.total_amount = eur(dec("13.00"));
        let request =
            Request::SendInvoice(SendInvoice { context: self.context(), invoice: Some(wrong), tokens: vec![] });
        let response = self.call(&request).await?;
        self.check_code("sendInvoice whose rows do not add up", ResultCode::INVALID_INVOICE_DATA, &response);
        let mut context = self.context();
        if let Some(c) = context.as_mut() {
            c.password = Some("wrong".to_owned());
        }
        let request = Request::SendInvoice(SendInvoice {
            context,
            invoice: Some(invoice(PaymentMode::ImmediateDebit, &[("Pen", "1.00")])),
            tokens: vec![],
        });
        let response = self.call(&request).await?;
        self.check_code("sendInvoice with a wrong password", ResultCode::AUTHENTICATION_FAILED, &response);
        Ok(())
    }
}
