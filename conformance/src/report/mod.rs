//! Reporters: what a run looks like to people and to CI.
//!
//! The runner knows nothing about output (STYLE section 4): it emits
//! [`RunEvent`]s and returns a [`RunReport`](crate::results::RunReport). This module turns them
//! into
//! - a live terminal view ([`TerminalReporter`], a [`Reporter`]) with a progress line while
//!   scenarios run ([`progress`]), and a closing [`print_summary`];
//! - JSON ([`write_json`]): the run report as it is, for scripts;
//! - JUnit XML ([`write_junit`]) for CI;
//! - a self-contained HTML pre-certification report ([`write_html`]) with the certification
//!   checklist of spec section 7 and, per failure, the rule, its spec text and a
//!   [`sequence_svg`] diagram of the messages actually exchanged.
//! - an evidence bundle ([`write_evidence`], in [`evidence`]): the manifest of what ran
//!   (seed, scenario file hashes, verdicts) and the mock's whole journal, to replay a run.

mod common;
pub mod evidence;
mod html;
mod json;
mod junit;
pub mod progress;
mod sequence;
mod terminal;

pub use common::Reporter;
pub use evidence::{Evidence, write_evidence};
pub use html::write_html;
pub use json::write_json;
pub use junit::write_junit;
pub use sequence::sequence_svg;
pub use terminal::{TerminalReporter, print_summary};

#[cfg(test)]
pub(crate) mod fixtures {
    //! A hand-built run for the writers' tests: a passing unattended purchase, a failing
    //! one (commit above the reservation, a SOAP body with markup), a skipped and an
    //! errored scenario.

    use std::time::Duration;

    use mock_glase::clock::Timestamp;
    use mock_glase::journal::{Entry, Filter, Journal, Record, Tags};
    use mock_glase::machine::Event;

    use crate::results::{Finding, Level, RuleInfo, RunReport, ScenarioResult, StepFailure, Verdict};

    pub const SCRIPT_BODY: &str =
        "<soap:Envelope><sendInvoice><title><script>alert(1)</script></title></sendInvoice></soap:Envelope>";

    /// A journal of one unattended purchase: 8 arrows (messages) and 3 notes.
    pub fn journal(first_seq_offset: u64) -> Vec<Entry> {
        let mut journal = Journal::new(1000);
        for i in 0..first_seq_offset {
            journal.push(
                Timestamp(i),
                Tags::default(),
                Record::Control { action: "padding".into(), detail: String::new() },
            );
        }
        let t0 = 1_795_000_000_000;
        let tags = Tags { terminal: Some("demo-terminal"), invoice: Some("1795"), merchant: Some("glase-demo") };
        let record = |r: Record| r;
        journal.push(
            Timestamp(t0),
            tags,
            record(Record::CreatePurchaseRequest {
                purchase: 1,
                url: "http://127.0.0.1:8000/seqr/createPurchase".into(),
                body: r#"{"token":"machine-1","amount":20.00,"currency":"EUR","msisdn":"483344323423"}"#.into(),
            }),
        );
        journal.push(
            Timestamp(t0 + 5),
            tags,
            Record::SoapRequest {
                path: "/extclientproxy/service/v2".into(),
                operation: Some("sendInvoice".into()),
                body: SCRIPT_BODY.into(),
            },
        );
        journal.push(
            Timestamp(t0 + 7),
            tags,
            Record::Machine {
                event: Event::InvoiceIssued {
                    invoice: "1795".into(),
                    terminal: "demo-terminal".into(),
                    amount: "20.00".parse().expect("decimal"),
                    currency: "EUR".into(),
                    payment_mode: glase_protocol::PaymentMode::ReservationRequired,
                },
            },
        );
        journal.push(
            Timestamp(t0 + 8),
            tags,
            Record::SoapResponse {
                operation: Some("sendInvoice".into()),
                http_status: 200,
                result_code: Some(0),
                fault: None,
                body: "<resultCode>0</resultCode><invoiceReference>1795</invoiceReference>".into(),
                dropped: false,
                delayed_ms: None,
            },
        );
        journal.push(
            Timestamp(t0 + 12),
            tags,
            Record::CreatePurchaseResponse {
                purchase: 1,
                http_status: Some(200),
                content_type: Some("application/json;charset=UTF-8".into()),
                body: Some(r#"{"invoiceReferenceId":"1795"}"#.into()),
                error: None,
            },
        );
        journal.push(
            Timestamp(t0 + 900),
            tags,
            Record::Machine {
                event: Event::Transition {
                    invoice: "1795".into(),
                    from: glase_protocol::InvoiceStatus::Issued,
                    to: glase_protocol::InvoiceStatus::Reserved,
                    reason: "customer confirmed reservation".into(),
                },
            },
        );
        journal.push(
            Timestamp(t0 + 905),
            tags,
            Record::NotificationSent {
                url: "http://127.0.0.1:8000/seqr/notify?t=abc".into(),
                reason: "confirmed".into(),
                attempt: 1,
                outcome: "delivered".into(),
                http_status: Some(200),
                last_attempt: true,
                sent_at_ms: None,
            },
        );
        journal.push(
            Timestamp(t0 + 950),
            tags,
            Record::SoapRequest {
                path: "/extclientproxy/service/v2".into(),
                operation: Some("commitReservation".into()),
                body: "<commitReservation><amount>25.00</amount></commitReservation>".into(),
            },
        );
        journal.push(
            Timestamp(t0 + 952),
            tags,
            Record::SoapResponse {
                operation: Some("commitReservation".into()),
                http_status: 200,
                result_code: Some(11),
                fault: None,
                body: "<resultCode>11</resultCode>".into(),
                dropped: false,
                delayed_ms: None,
            },
        );
        journal.push(
            Timestamp(t0 + 960),
            tags,
            Record::Control { action: "warning".into(), detail: "createPurchase URL is plain http".into() },
        );
        journal.query(&Filter { after: Some(first_seq_offset), ..Filter::default() })
    }

    /// Journal entries that become arrows in [`journal`].
    pub const ARROWS: usize = 8;

    pub fn report(strict: bool) -> RunReport {
        let failing = journal(0);
        let commit_request = failing[7].seq;
        let commit_response = failing[8].seq;
        RunReport {
            suite_version: "0.1.0".into(),
            suite_commit: "0123456789ab".into(),
            system: crate::system::Identity::default(),
            started_at: "2026-11-23T18:14:51Z".into(),
            duration: Duration::from_millis(4321),
            target: "http://127.0.0.1:8000/seqr/createPurchase".into(),
            profile: "unattended".into(),
            strict,
            seed: 42,
            conditions: crate::results::Conditions::default(),
            rules: vec![
                RuleInfo {
                    id: "UPS-COMMIT-LE-RESERVED".into(),
                    level: Level::Must,
                    summary: "commitReservation amount ≤ the reserved amount".into(),
                    spec_section: "5, 2.1 step 11".into(),
                    source_text: "Reseller calls commitReservation to commit transaction with final amount.".into(),
                    applies_to: vec!["unattended".into()],
                },
                RuleInfo {
                    id: "REQ-CLIENT-REFERENCE".into(),
                    level: Level::Should,
                    summary: "clientReference present & ≤ 32 characters".into(),
                    spec_section: "5".into(),
                    source_text: "clientReference present and ≤ 32".into(),
                    applies_to: vec!["all".into()],
                },
            ],
            results: vec![
                ScenarioResult {
                    id: "ups-happy-path".into(),
                    title: "Unattended purchase, happy path".into(),
                    file: "scenarios/unattended/happy.toml".into(),
                    profiles: vec!["unattended".into()],
                    verdict: Verdict::PassedWithWarnings,
                    reason: None,
                    duration: Duration::from_millis(1234),
                    failures: vec![],
                    findings: vec![Finding {
                        rule: "REQ-CLIENT-REFERENCE".into(),
                        level: Level::Should,
                        expected: "clientReference set".into(),
                        actual: "absent".into(),
                        evidence: vec![journal(100)[1].seq],
                        invoice: Some("1795".into()),
                    }],
                    covers: vec!["unattended/1".into(), "unattended/11".into()],
                    journal: journal(100),
                },
                ScenarioResult {
                    id: "ups-commit-above-reservation".into(),
                    title: "Commit <more> than reserved & vended".into(),
                    file: "scenarios/unattended/commit.toml".into(),
                    profiles: vec!["unattended".into()],
                    verdict: Verdict::Failed,
                    reason: None,
                    duration: Duration::from_millis(2100),
                    failures: vec![StepFailure {
                        step: 4,
                        description: "expect_status: PAID".into(),
                        expected: "PAID".into(),
                        actual: "RESERVED".into(),
                        location: Some("scenarios/unattended/commit.toml:12".into()),
                        rule: None,
                    }],
                    findings: vec![Finding {
                        rule: "UPS-COMMIT-LE-RESERVED".into(),
                        level: Level::Must,
                        expected: "amount ≤ 20.00".into(),
                        actual: "amount 25.00 <script>".into(),
                        evidence: vec![commit_request, commit_response],
                        invoice: Some("1795".into()),
                    }],
                    covers: vec!["unattended/11".into()],
                    journal: failing,
                },
                ScenarioResult {
                    id: "ups-device-in-use".into(),
                    title: "A second customer gets DEVICE_IN_USE".into(),
                    file: "scenarios/unattended/in-use.toml".into(),
                    profiles: vec!["unattended".into()],
                    verdict: Verdict::Skipped,
                    reason: Some("needs the machine driver".into()),
                    duration: Duration::ZERO,
                    failures: vec![],
                    findings: vec![],
                    covers: vec![],
                    journal: vec![],
                },
                ScenarioResult {
                    id: "ups-insufficient-funds".into(),
                    title: "Amount below the cheapest product".into(),
                    file: "scenarios/unattended/funds.toml".into(),
                    profiles: vec!["unattended".into()],
                    verdict: Verdict::Error,
                    reason: Some("connection refused".into()),
                    duration: Duration::from_millis(15),
                    failures: vec![],
                    findings: vec![],
                    covers: vec![],
                    journal: vec![],
                },
            ],
        }
    }
}
