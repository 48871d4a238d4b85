//! Wire strictness the real server has (issue 11): encodings, qualified children,
//! `mustUnderstand` headers, sub-cent and 30-digit amounts, characters XML forbids. Each
//! test goes through HTTP, as a client's request does, and failed before its fix.

use glase_protocol::request::{CommitReservation, RefundPayment, SendInvoice};
use glase_protocol::{
    Amount, ClientContext, Decimal, FaultCode, Invoice, InvoiceRow, PaymentMode, Reply, Request, ResponseDetail,
    ResultCode, SoapFault, decode_reply, encode_request,
};
use mock_glase::journal::{Filter, Record};
use proptest::prelude::*;

use crate::support::{Harness, start};

const SOAP_PATH: &str = "/extclientproxy/service/v2";
const SERVICE: &str = "http://external.interfaces.ers.seamless.com/";

fn context() -> Option<ClientContext> {
    Some(ClientContext::for_terminal("demo-terminal", "demo1234", "wire-tests", "wire-1"))
}

fn eur(value: &str) -> Option<Amount> {
    Some(Amount::new(value.parse::<Decimal>().unwrap(), "EUR"))
}

fn send_invoice(mode: PaymentMode, total: &str, title: &str) -> Request {
    Request::SendInvoice(SendInvoice {
        context: context(),
        invoice: Some(Invoice {
            payment_mode: Some(mode),
            title: Some(title.into()),
            invoice_rows: Some(vec![InvoiceRow {
                item_quantity: Some(Decimal::ONE),
                item_total_amount: eur(total),
                ..InvoiceRow::default()
            }]),
            total_amount: eur(total),
            ..Invoice::default()
        }),
        tokens: Vec::new(),
    })
}

fn xml(request: &Request) -> String {
    let mut out = Vec::new();
    encode_request(request, &mut out);
    String::from_utf8(out).unwrap()
}

impl Harness {
    /// POSTs a SOAP body with a Content-Type; the status and the answer, which must be a
    /// well-formed SOAP message whatever the request was.
    async fn soap(&self, content_type: &str, body: Vec<u8>) -> (u16, Reply) {
        let response = self
            .http
            .post(format!("{}{SOAP_PATH}", self.server.base_url()))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("the mock answers");
        let status = response.status().as_u16();
        let text = response.bytes().await.unwrap();
        let reply = decode_reply(&text)
            .unwrap_or_else(|e| panic!("not well-formed SOAP ({}): {}", e.chain(), String::from_utf8_lossy(&text)));
        (status, reply)
    }

    async fn call(&self, request: &Request) -> (u16, Reply) {
        self.soap("text/xml; charset=utf-8", xml(request).into_bytes()).await
    }

    async fn code(&self, request: &Request) -> i32 {
        match self.call(request).await {
            (200, Reply::Response(response)) => response.result_code.0,
            other => panic!("expected HTTP 200 and a result code, got {other:?}"),
        }
    }

    /// A PAID invoice of `total`; its ersReference.
    async fn paid(&self, total: &str) -> String {
        let reference = match self.call(&send_invoice(PaymentMode::ImmediateDebit, total, "paid")).await {
            (200, Reply::Response(r)) => match r.detail {
                ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        self.mock.scan(&format!("HTTP://SEQR.SE/R{reference}"), None).unwrap();
        self.mock.confirm(&reference, None, None).unwrap();
        self.mock.invoice(&reference).unwrap().payment.unwrap().ers_reference.to_string()
    }

    fn deviations(&self) -> Vec<(String, String)> {
        self.mock
            .journal(&Filter::default())
            .iter()
            .filter_map(|e| match &e.record {
                Record::WireDeviation { rule, path, .. } => Some((rule.to_string(), path.clone())),
                _ => None,
            })
            .collect()
    }
}

#[track_caller]
fn client_fault(answer: (u16, Reply), code: FaultCode, mentions: &[&str]) -> SoapFault {
    match answer {
        (500, Reply::Fault(fault)) => {
            assert_eq!(fault.code, code, "{fault:?}");
            for text in mentions {
                assert!(fault.string.contains(text), "{:?} does not mention {text:?}", fault.string);
            }
            fault
        }
        other => panic!("expected HTTP 500 and a fault, got {other:?}"),
    }
}

fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character")).collect()
}

fn utf16le(text: &str) -> Vec<u8> {
    std::iter::once(0xFEFF).chain(text.encode_utf16()).flat_map(u16::to_le_bytes).collect()
}

#[tokio::test]
async fn latin1_and_utf16_requests_labelled_correctly_are_decoded_as_a_java_server_does() {
    let h = start(|_| {}).await;
    let request = xml(&send_invoice(PaymentMode::ImmediateDebit, "2.50", "Café crème"));
    let body = request.replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1);
    for (content_type, bytes) in [
        ("text/xml; charset=ISO-8859-1", latin1(&body)),
        ("text/xml", latin1(&body)),
        ("text/xml; charset=\"utf-16\"", utf16le(&request.replacen("UTF-8", "UTF-16", 1))),
    ] {
        let (status, reply) = h.soap(content_type, bytes).await;
        let Reply::Response(response) = reply else { panic!("{content_type}: {reply:?}") };
        assert_eq!((status, response.result_code), (200, ResultCode::SUCCESS), "{content_type}");
        let ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } = response.detail else {
            panic!("{content_type}")
        };
        let title = h.mock.invoice(&reference).unwrap().record.invoice.title;
        assert_eq!(title.as_deref(), Some("Café crème"), "{content_type}");
        // Journaled as UTF-8 text whose declaration says so, so it decodes again.
        let entries = h.mock.journal(&Filter { invoice: Some(reference), ..Filter::default() });
        let Some(Record::SoapRequest { body, .. }) = entries.first().map(|e| &e.record) else { panic!() };
        assert!(body.contains("Café crème") && body.contains("encoding=\"UTF-8\""), "{body}");
        glase_protocol::decode_request(body.as_bytes()).unwrap();
    }
}

#[tokio::test]
async fn contradictory_or_unsupported_encodings_get_a_client_fault_naming_the_problem() {
    let h = start(|_| {}).await;
    let request = xml(&send_invoice(PaymentMode::ImmediateDebit, "2.50", "Café"));
    let declared = request.replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1);
    let answer = h.soap("text/xml; charset=utf-8", latin1(&declared)).await;
    client_fault(answer, FaultCode::Client, &["Content-Type charset says UTF-8", "XML declaration says ISO-8859-1"]);
    let answer = h.soap("text/xml; charset=Shift_JIS", request.clone().into_bytes()).await;
    client_fault(answer, FaultCode::Client, &["unsupported encoding \"Shift_JIS\""]);
    let answer = h.soap("text/xml; charset=iso-8859-1", utf16le(&request)).await;
    client_fault(answer, FaultCode::Client, &["byte order mark", "ISO-8859-1"]);
}

/// `<ext:cancelInvoice xmlns:ext=…><ext:invoiceReference>`: children in the service's
/// namespace, as a client generated with elementFormDefault="qualified" sends them.
fn qualified_cancel() -> Vec<u8> {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ext:cancelInvoice xmlns:ext="{SERVICE}"><ext:context><ext:initiatorPrincipalId><ext:id>demo-terminal</ext:id><ext:type>TERMINALID</ext:type></ext:initiatorPrincipalId><ext:password>demo1234</ext:password></ext:context><ext:invoiceReference>1</ext:invoiceReference></ext:cancelInvoice></s:Body></s:Envelope>"#
    )
    .into_bytes()
}

#[tokio::test]
async fn namespace_qualified_children_get_a_client_fault_naming_the_element_and_the_rule() {
    let h = start(|_| {}).await;
    let answer = h.soap("text/xml; charset=utf-8", qualified_cancel()).await;
    client_fault(answer, FaultCode::Client, &["cancelInvoice/context", SERVICE, "elementFormDefault=\"unqualified\""]);
}

#[tokio::test]
async fn lax_mode_accepts_qualified_children_and_journals_a_deviation() {
    let h = start(|config| config.wire.lax = true).await;
    match h.soap("text/xml; charset=utf-8", qualified_cancel()).await {
        // Invoice "1" does not exist: the request was read, context and all.
        (200, Reply::Response(r)) => assert_eq!(r.result_code, ResultCode::INVALID_INVOICE_REFERENCE),
        other => panic!("{other:?}"),
    }
    let deviations = h.deviations();
    assert!(deviations.contains(&("qualified-element".into(), "cancelInvoice/context".into())), "{deviations:?}");
    assert!(deviations.contains(&("qualified-element".into(), "cancelInvoice/invoiceReference".into())));
    // Filed under the caller, so a merchant's journal shows its own deviations.
    let own = h.mock.journal(&Filter { terminal: Some("demo-terminal".into()), ..Filter::default() });
    assert!(own.iter().any(|e| matches!(e.record, Record::WireDeviation { .. })));
}

#[tokio::test]
async fn a_must_understand_header_gets_a_must_understand_fault() {
    let h = start(|_| {}).await;
    let request = xml(&send_invoice(PaymentMode::ImmediateDebit, "2.50", "t")).replacen(
        "<soapenv:Header/>",
        r#"<soapenv:Header><Action soapenv:mustUnderstand="1" xmlns="http://schemas.microsoft.com/ws/2005/05/addressing/none">x</Action></soapenv:Header>"#,
        1,
    );
    let answer = h.soap("text/xml; charset=utf-8", request.clone().into_bytes()).await;
    client_fault(
        answer,
        FaultCode::MustUnderstand,
        &["{http://schemas.microsoft.com/ws/2005/05/addressing/none}Action"],
    );
    assert!(h.mock.invoices(None).is_empty(), "the body must not have been processed");
    let lax = start(|config| config.wire.lax = true).await;
    assert!(matches!(lax.soap("text/xml", request.into_bytes()).await, (200, Reply::Response(_))));
    assert_eq!(lax.deviations(), [("must-understand-header".to_owned(), "Header/Action".to_owned())]);
}

/// Regression (the zeep compatibility test after strict amounts landed): a unit price is
/// not charged, and real ones have three decimals (fuel per litre 1.789; 49.99 for two
/// is 24.995 each). Only what is charged must be whole cents.
#[tokio::test]
async fn a_unit_price_with_three_decimals_is_accepted() {
    let h = start(|_| {}).await;
    let mut request = send_invoice(PaymentMode::ImmediateDebit, "49.99", "t");
    let Request::SendInvoice(SendInvoice { invoice: Some(invoice), .. }) = &mut request else { unreachable!() };
    let row = &mut invoice.invoice_rows.as_mut().unwrap()[0];
    row.item_quantity = Some(Decimal::TWO);
    row.item_unit_price = eur("24.995");
    assert_eq!(h.code(&request).await, 0);
    assert!(h.deviations().is_empty(), "nothing to report: {:?}", h.deviations());
}

#[tokio::test]
async fn sub_cent_amounts_are_refused_with_the_amounts_result_code() {
    let h = start(|_| {}).await;
    // An invoice total or row: 49.
    assert_eq!(h.code(&send_invoice(PaymentMode::ImmediateDebit, "10.225", "t")).await, 49);
    // The same value written with a trailing zero is whole cents.
    assert_eq!(h.code(&send_invoice(PaymentMode::ImmediateDebit, "10.220", "t")).await, 0);
    // A refund of a tenth of a cent: 11, and nothing was refunded.
    let ers = h.paid("5.00").await;
    let refund = |amount: &str| {
        Request::RefundPayment(RefundPayment {
            context: context(),
            ers_reference: Some(ers.clone()),
            invoice: Some(Invoice { total_amount: eur(amount), ..Invoice::default() }),
        })
    };
    assert_eq!(h.code(&refund("0.001")).await, 11);
    assert_eq!(h.code(&refund("1.005")).await, 11);
    let payment = h.mock.invoices(None).into_iter().find_map(|i| h.mock.invoice(&i.reference)?.payment);
    assert!(payment.unwrap().refunds.is_empty());
    assert_eq!(h.code(&refund("1.00")).await, 0);
    // A commit: 11, the reservation stays.
    let reference = match h.call(&send_invoice(PaymentMode::ReservationRequired, "20.00", "r")).await {
        (200, Reply::Response(r)) => match r.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    h.mock.scan(&format!("HTTP://SEQR.SE/R{reference}"), None).unwrap();
    h.mock.confirm(&reference, None, None).unwrap();
    let commit = |amount: &str| {
        Request::CommitReservation(CommitReservation {
            context: context(),
            invoice_reference: Some(reference.clone()),
            amount: eur(amount),
        })
    };
    assert_eq!(h.code(&commit("14.505")).await, 11);
    assert_eq!(h.code(&commit("14.50")).await, 0);
    assert!(h.deviations().is_empty());
}

#[tokio::test]
async fn lax_mode_charges_sub_cent_amounts_and_journals_each() {
    let h = start(|config| config.wire.lax = true).await;
    assert_eq!(h.code(&send_invoice(PaymentMode::ImmediateDebit, "10.225", "t")).await, 0);
    assert_eq!(
        h.deviations(),
        [
            ("amount-precision".to_owned(), "sendInvoice/invoice/totalAmount/value".to_owned()),
            (
                "amount-precision".to_owned(),
                "sendInvoice/invoice/invoiceRows/invoiceRow/itemTotalAmount/value".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn a_thirty_digit_decimal_gets_a_result_code_never_a_500() {
    let h = start(|_| {}).await;
    let thirty = "123456789012345678901234567890";
    let tiny = "0.123456789012345678901234567891";
    for value in [thirty, tiny] {
        let request = xml(&send_invoice(PaymentMode::ImmediateDebit, "1.00", "t"))
            .replace("<value>1.00</value>", &format!("<value>{value}</value>"));
        assert!(
            matches!(h.soap("text/xml", request.into_bytes()).await, (200, Reply::Response(r)) if r.result_code.0 == 49)
        );
        // In a row's quantity too (not money, but not a number the mock holds).
        let request = xml(&send_invoice(PaymentMode::ImmediateDebit, "1.00", "t"))
            .replace("<itemQuantity>1</itemQuantity>", &format!("<itemQuantity>{value}</itemQuantity>"));
        assert!(
            matches!(h.soap("text/xml", request.into_bytes()).await, (200, Reply::Response(r)) if r.result_code.0 == 49)
        );
    }
    let ers = h.paid("5.00").await;
    let refund = xml(&Request::RefundPayment(RefundPayment {
        context: context(),
        ers_reference: Some(ers),
        invoice: Some(Invoice { total_amount: eur("1.00"), ..Invoice::default() }),
    }))
    .replace("<value>1.00</value>", &format!("<value>{thirty}</value>"));
    assert!(
        matches!(h.soap("text/xml", refund.clone().into_bytes()).await, (200, Reply::Response(r)) if r.result_code.0 == 11)
    );
    // Authentication still comes first.
    let wrong = refund.replace("demo1234", "wrong");
    assert!(matches!(h.soap("text/xml", wrong.into_bytes()).await, (200, Reply::Response(r)) if r.result_code.0 == 20));
    assert!(h.mock.invoices(None).iter().all(|i| i.total == Decimal::new(500, 2)));
    let journaled = h.deviations();
    // Both the row and the total, twice; and the refund twice.
    assert!(journaled.iter().all(|(rule, _)| rule == "decimal-out-of-range") && journaled.len() == 8, "{journaled:?}");
}

#[tokio::test]
async fn control_characters_get_a_client_fault_and_every_answer_is_well_formed() {
    let h = start(|_| {}).await;
    for raw in ["\u{0}", "\u{1b}[31m", "\u{fffe}"] {
        // Written raw: the codec's own encoder would have replaced them.
        let request = xml(&send_invoice(PaymentMode::ImmediateDebit, "1.00", "PLACE")).replace("PLACE", raw);
        let answer = h.soap("text/xml", request.into_bytes()).await;
        client_fault(answer, FaultCode::Client, &["is not allowed in XML 1.0"]);
    }
    let referenced = xml(&send_invoice(PaymentMode::ImmediateDebit, "1.00", "t")).replace("<title>t", "<title>&#0;");
    assert!(matches!(h.soap("text/xml", referenced.into_bytes()).await, (500, Reply::Fault(_))));
    assert!(h.mock.invoices(None).is_empty());
}

#[tokio::test]
async fn control_characters_from_other_doors_are_replaced_in_receipts_and_reports() {
    use glase_protocol::request::{ExecuteReport, MarkTransactionPeriod};
    use glase_protocol::{CodecError, Parameters};
    use mock_glase::config::{Dialect, ResellerConfig, TerminalConfig};
    let h = start(|config| config.deadlines.report_ready_delay = std::time::Duration::ZERO).await;
    // A reseller and a customer added through the library or the control API (JSON
    // strings) may hold any character; SOAP requests cannot.
    let reseller = "shop\u{0}\u{1b}";
    h.mock
        .add_reseller(&ResellerConfig {
            id: reseller.into(),
            user_id: "1".into(),
            password: "secret".into(),
            currency: "EUR".into(),
            merchant_id: Some("shop".into()),
            name: Some("Shop \u{7}".into()),
            refunds_allowed: true,
            receiver_allows_refunds: true,
            create_purchase_url: None,
            create_purchase_dialect: Dialect::Seed,
        })
        .unwrap();
    h.mock
        .add_terminal(&TerminalConfig {
            id: "till-9".into(),
            password: "pass1".into(),
            reseller: reseller.into(),
            name: None,
            seqr_id: None,
        })
        .unwrap();
    let customer = "4670\u{7}";
    h.mock.set_customer(customer, Some("0000"), Some(Decimal::ONE_HUNDRED));
    let till = || Some(ClientContext::for_terminal("till-9", "pass1", "t", "r"));
    let Request::SendInvoice(mut send) = send_invoice(PaymentMode::ImmediateDebit, "1.00", "t") else { panic!() };
    send.context = till();
    let (_, reply) = h.call(&Request::SendInvoice(send)).await;
    let Reply::Response(response) = reply else { panic!("{reply:?}") };
    let ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } = response.detail else { panic!() };
    h.mock.scan(&format!("HTTP://SEQR.SE/R{reference}"), Some(customer)).unwrap();
    h.mock.confirm(&reference, Some(customer), Some("0000")).unwrap();
    // The receipt names the payer (the msisdn with a BEL) and the receiver: well-formed.
    let status = Request::GetPaymentStatus(glase_protocol::request::GetPaymentStatus {
        context: till(),
        invoice_reference: Some(reference.clone()),
        invoice_version: Some(0),
    });
    let (_, reply) = h.call(&status).await;
    let Reply::Response(response) = reply else { panic!("{reply:?}") };
    let ResponseDetail::PaymentStatus { receipt: Some(receipt), .. } = response.detail else { panic!() };
    assert_eq!(receipt.payer_terminal_id.as_deref(), Some("4670\u{FFFD}"));
    assert_eq!(receipt.receiver_name.as_deref(), Some("Shop \u{FFFD}"));
    // The reports name the reseller.
    let mark = Request::MarkTransactionPeriod(MarkTransactionPeriod { context: till(), parameters: None });
    let (_, reply) = h.call(&mark).await;
    let Reply::Response(response) = reply else { panic!("{reply:?}") };
    let ResponseDetail::MarkTransactionPeriod { transaction_period_id: Some(period) } = response.detail else {
        panic!()
    };
    for report_id in ["Reconciliation/Shop.xml", "Reconciliation/STD_RECON_003.xml"] {
        let report = Request::ExecuteReport(ExecuteReport {
            context: till(),
            report_id: Some(report_id.into()),
            language: None,
            parameters: Some(Parameters::from_pairs([("transactionPeriodId", period.as_str())])),
        });
        let (_, reply) = h.call(&report).await;
        let Reply::Response(response) = reply else { panic!("{reply:?}") };
        let ResponseDetail::ExecuteReport { report: Some(report) } = response.detail else { panic!("{response:?}") };
        let content = report.content_string.unwrap();
        assert!(content.contains("<Reseller>shop\u{FFFD}\u{FFFD}</Reseller>"), "{content}");
        // `NotSoap` is what the codec says of a well-formed document that is no envelope:
        // the report parsed, characters checked.
        assert!(matches!(decode_reply(content.as_bytes()), Err(CodecError::NotSoap { .. })), "{content}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever a client puts in a request's strings, the mock's answer is well-formed
    /// SOAP (`Harness::soap` decodes it, refusing characters XML forbids).
    #[test]
    fn every_answer_is_well_formed_whatever_the_request_holds(
        title in ".{0,12}",
        reference in ".{0,12}",
        control in prop::sample::select(vec!["", "\u{0}", "\u{8}", "\u{b}", "\u{1f}", "\u{fffe}", "\u{ffff}"]),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let h = start(|_| {}).await;
            let send = xml(&send_invoice(PaymentMode::ImmediateDebit, "1.00", &title)).replace("</title>", &format!("{control}</title>"));
            let _ = h.soap("text/xml", send.into_bytes()).await;
            let cancel = format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><e:cancelInvoice xmlns:e="{SERVICE}"><invoiceReference>{reference}{control}</invoiceReference></e:cancelInvoice></s:Body></s:Envelope>"#
            );
            let _ = h.soap("text/xml", cancel.into_bytes()).await;
        });
    }
}
