//! Property tests of the codec: `decode(encode(x)) == x` for every request, response and
//! fault, and no input whatsoever makes the decoders panic.
//!
//! # What the generators leave out, and why
//! - **Characters XML 1.0 cannot carry.** Text is drawn from the XML 1.0 `Char` production
//!   (`\t`, `\n`, `\r`, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF). Other control
//!   characters cannot appear in an XML document at all, escaped or not; a client cannot
//!   send them and the mock never produces them. Everything else is fair game, with extra
//!   weight on markup (`<`, `>`, `&`, quotes, `]]>`), `\r` (written as `&#13;` so that
//!   end-of-line normalisation keeps it), other line breaks and non-ASCII text, and
//!   leading or trailing whitespace (`xs:string` preserves it).
//! - **Negative zero.** `Decimal` can hold `-0`, which prints as `0` and so comes back as
//!   `+0`; they are equal, and no amount is ever "minus nothing".
//! - **Mismatched response details.** `decode_reply` derives the detail kind from the
//!   operation (a `getPaymentStatus` reply always has a `PaymentStatus` detail), so
//!   responses are generated with the detail that belongs to their operation.
//! - **`Unsupported` of an implemented operation**: such a value decodes as that
//!   operation's own variant, so only unimplemented operations are generated.
//!
//! Not left out, because they round-trip: empty strings (`Some("")` is written `<x></x>`
//! and read back as `Some("")`), `Some(vec![])` of a wrapped list (an empty wrapper) next
//! to `None` (no wrapper), empty parameter maps and base64 payloads. The one lossy
//! direction is wire → value: an *empty* number or enumeration element reads as absent
//! (lax clients write `<value></value>` for "no value"), and the encoder never writes one.
//!
//! Decimals compare equal across scales, so values are also compared through their JSON
//! form, which spells every decimal with its scale.

// A failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use glase_protocol::request::{
    AssignSeqrId, CancelInvoice, CommitReservation, ExecuteReport, GetPaymentStatus, MarkTransactionPeriod,
    RefundPayment, RegisterTerminal, SendInvoice, SubmitPaymentReceipt, UnregisterTerminal, UpdateInvoice,
};
use glase_protocol::{
    AcknowledgmentMode, Amount, ClientContext, CustomerToken, Decimal, FaultCode, Invoice, InvoiceRow, InvoiceStatus,
    Operation, Parameter, Parameters, PaymentMode, PrincipalId, Receipt, ReceiptDocument, Reply, Report, Request,
    Response, ResponseDetail, ResultCode, SoapFault, decode_reply, decode_request, encode_fault, encode_request,
    encode_response,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------------------------------
// Strategies: scalars

/// Whether `c` is a `Char` of XML 1.0.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn xml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        3 => select(vec![
            '<', '>', '&', '"', '\'', ';', '#', ']', '[', '=', '/', '?', '!', '-', ' ', ' ', '\t', '\n', '\r',
            '\u{85}', '\u{2028}', '\u{A0}', '\u{FEFF}', '\u{FFFD}', 'é', 'ö', '€', 'ß', '😀', '中', '\u{10FFFF}',
        ]),
        2 => any::<char>().prop_map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' }),
    ]
}

/// Text fragments that look like markup, so that escaping is exercised as a whole.
fn markup_fragment() -> impl Strategy<Value = String> {
    select(vec![
        "]]>",
        "<![CDATA[",
        "&amp;",
        "&#13;",
        "&lt;",
        "<!--",
        "-->",
        "</return>",
        "<a b=\"c\">",
        "\r\n",
        "  ",
        "\n\n",
        "<?xml version=\"1.0\"?>",
        "&",
        "&#x1F600;",
    ])
    .prop_map(str::to_owned)
}

fn text() -> impl Strategy<Value = String> {
    vec(prop_oneof![4 => xml_char().prop_map(String::from), 1 => markup_fragment()], 0..10)
        .prop_map(|parts| parts.concat())
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    of(text())
}

/// Decimals of every scale the type holds (0–28), both signs, mantissas up to 96 bits.
fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        // Money-like: a few digits, scale 0–4.
        3 => (-10_000_000i64..10_000_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s)),
        2 => (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        2 => (any::<i128>(), 0u32..=28).prop_map(|(m, s)| {
            // Any mantissa below 2^96 in magnitude is representable.
            Decimal::try_from_i128_with_scale(m % (1i128 << 96), s).unwrap()
        }),
        1 => select(vec![Decimal::MAX, Decimal::MIN, Decimal::ZERO, Decimal::ONE, Decimal::new(1, 28)]),
    ]
}

fn opt_decimal() -> impl Strategy<Value = Option<Decimal>> {
    of(decimal())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..80)
}

// ---------------------------------------------------------------------------------------
// Strategies: the model

fn amount() -> BoxedStrategy<Amount> {
    (opt_text(), opt_decimal()).prop_map(|(currency, value)| Amount { currency, value }).boxed()
}

fn principal_id() -> BoxedStrategy<PrincipalId> {
    let kind = of(prop_oneof![select(vec!["TERMINALID", "RESELLERUSER"]).prop_map(str::to_owned), text()]);
    (opt_text(), kind, opt_text()).prop_map(|(id, kind, user_id)| PrincipalId { id, kind, user_id }).boxed()
}

fn client_context() -> BoxedStrategy<ClientContext> {
    (opt_text(), opt_text(), opt_text(), opt_text(), of(any::<i64>()), of(principal_id()), opt_text())
        .prop_map(
            |(
                channel,
                client_comment,
                client_id,
                client_reference,
                client_request_timeout,
                initiator_principal_id,
                password,
            )| {
                ClientContext {
                    channel,
                    client_comment,
                    client_id,
                    client_reference,
                    client_request_timeout,
                    initiator_principal_id,
                    password,
                }
            },
        )
        .boxed()
}

fn context() -> impl Strategy<Value = Option<ClientContext>> {
    of(client_context())
}

fn invoice_row() -> BoxedStrategy<InvoiceRow> {
    (
        opt_text(),
        of(amount()),
        opt_text(),
        opt_decimal(),
        opt_text(),
        opt_decimal(),
        of(amount()),
        opt_text(),
        of(amount()),
    )
        .prop_map(
            |(
                item_description,
                item_discount,
                item_ean,
                item_quantity,
                item_sku,
                item_tax_rate,
                item_total_amount,
                item_unit,
                item_unit_price,
            )| InvoiceRow {
                item_description,
                item_discount,
                item_ean,
                item_quantity,
                item_sku,
                item_tax_rate,
                item_total_amount,
                item_unit,
                item_unit_price,
            },
        )
        .boxed()
}

fn invoice() -> BoxedStrategy<Invoice> {
    (
        of(select(PaymentMode::ALL)),
        of(select(AcknowledgmentMode::ALL)),
        opt_text(),
        opt_text(),
        opt_text(),
        // `None` (no invoiceRows) and `Some(vec![])` (empty wrapper) are both generated.
        of(vec(invoice_row(), 0..3)),
        of(amount()),
        opt_text(),
        opt_text(),
        opt_text(),
        opt_text(),
        of(any::<i64>()),
    )
        .prop_map(
            |(
                payment_mode,
                acknowledgment_mode,
                issue_date,
                title,
                client_invoice_id,
                invoice_rows,
                total_amount,
                cashier_id,
                footer,
                back_url,
                notification_url,
                commit_reservation_timeout,
            )| Invoice {
                payment_mode,
                acknowledgment_mode,
                issue_date,
                title,
                client_invoice_id,
                invoice_rows,
                total_amount,
                cashier_id,
                footer,
                back_url,
                notification_url,
                commit_reservation_timeout,
            },
        )
        .boxed()
}

fn customer_token() -> BoxedStrategy<CustomerToken> {
    (opt_text(), opt_text(), any::<i32>(), opt_text())
        .prop_map(|(description, id, status, value)| CustomerToken { description, id, status, value })
        .boxed()
}

fn tokens() -> impl Strategy<Value = Vec<CustomerToken>> {
    vec(customer_token(), 0..3)
}

fn parameters() -> impl Strategy<Value = Option<Parameters>> {
    of(vec((opt_text(), opt_text()).prop_map(|(key, value)| Parameter { key, value }), 0..4).prop_map(Parameters))
}

fn receipt_document() -> BoxedStrategy<ReceiptDocument> {
    (opt_text(), of(bytes()), opt_text())
        .prop_map(|(mime_type, receipt_data, receipt_type)| ReceiptDocument { mime_type, receipt_data, receipt_type })
        .boxed()
}

fn receipt() -> BoxedStrategy<Receipt> {
    (opt_text(), opt_text(), opt_text(), opt_text(), opt_text(), opt_text(), opt_text(), of(invoice()))
        .prop_map(
            |(
                terminal_id,
                payment_date,
                client_invoice_id,
                invoice_reference,
                payment_reference,
                payer_terminal_id,
                receiver_name,
                invoice,
            )| Receipt {
                terminal_id,
                payment_date,
                client_invoice_id,
                invoice_reference,
                payment_reference,
                payer_terminal_id,
                receiver_name,
                invoice,
            },
        )
        .boxed()
}

fn report() -> BoxedStrategy<Report> {
    (opt_text(), opt_text(), of(bytes()), opt_text())
        .prop_map(|(title, mime_type, content, content_string)| Report { title, mime_type, content, content_string })
        .boxed()
}

// ---------------------------------------------------------------------------------------
// Strategies: messages

fn unimplemented_operation() -> impl Strategy<Value = Operation> {
    select(Operation::ALL.iter().copied().filter(|op| !op.is_implemented()).collect::<Vec<_>>())
}

fn request() -> BoxedStrategy<Request> {
    prop_oneof![
        (context(), of(invoice()), tokens()).prop_map(|(context, invoice, tokens)| Request::SendInvoice(SendInvoice {
            context,
            invoice,
            tokens
        })),
        (context(), opt_text(), of(invoice()), tokens()).prop_map(|(context, invoice_reference, invoice, tokens)| {
            Request::UpdateInvoice(UpdateInvoice { context, invoice_reference, invoice, tokens })
        }),
        (context(), opt_text(), of(any::<i32>())).prop_map(|(context, invoice_reference, invoice_version)| {
            Request::GetPaymentStatus(GetPaymentStatus { context, invoice_reference, invoice_version })
        }),
        (context(), opt_text()).prop_map(|(context, invoice_reference)| {
            Request::CancelInvoice(CancelInvoice { context, invoice_reference })
        }),
        (context(), opt_text(), of(amount())).prop_map(|(context, invoice_reference, amount)| {
            Request::CommitReservation(CommitReservation { context, invoice_reference, amount })
        }),
        (context(), opt_text(), of(receipt_document())).prop_map(|(context, ers_reference, receipt_document)| {
            Request::SubmitPaymentReceipt(SubmitPaymentReceipt { context, ers_reference, receipt_document })
        }),
        (context(), opt_text(), of(invoice())).prop_map(|(context, ers_reference, invoice)| {
            Request::RefundPayment(RefundPayment { context, ers_reference, invoice })
        }),
        (context(), opt_text(), opt_text(), opt_text()).prop_map(|(context, external_terminal_id, password, name)| {
            Request::RegisterTerminal(RegisterTerminal { context, external_terminal_id, password, name })
        }),
        context().prop_map(|context| Request::UnregisterTerminal(UnregisterTerminal { context })),
        (context(), opt_text()).prop_map(|(context, seqr_id)| Request::AssignSeqrId(AssignSeqrId { context, seqr_id })),
        (context(), parameters()).prop_map(|(context, parameters)| {
            Request::MarkTransactionPeriod(MarkTransactionPeriod { context, parameters })
        }),
        (context(), opt_text(), opt_text(), parameters()).prop_map(|(context, report_id, language, parameters)| {
            Request::ExecuteReport(ExecuteReport { context, report_id, language, parameters })
        }),
        (unimplemented_operation(), context()).prop_map(|(op, context)| Request::Unsupported { op, context }),
    ]
    .boxed()
}

/// An operation with the detail kind `decode_reply` gives it.
fn operation_and_detail() -> BoxedStrategy<(Operation, ResponseDetail)> {
    let with_detail = [
        Operation::SendInvoice,
        Operation::GetPaymentStatus,
        Operation::RegisterTerminal,
        Operation::MarkTransactionPeriod,
        Operation::ExecuteReport,
    ];
    let plain: Vec<Operation> = Operation::ALL.iter().copied().filter(|op| !with_detail.contains(op)).collect();
    prop_oneof![
        select(plain).prop_map(|op| (op, ResponseDetail::None)),
        (opt_text(), opt_text()).prop_map(|(invoice_qr_code, invoice_reference)| {
            (Operation::SendInvoice, ResponseDetail::SendInvoice { invoice_qr_code, invoice_reference })
        }),
        (of(select(InvoiceStatus::ALL)), of(receipt()), of(tokens()), any::<i32>()).prop_map(
            |(status, receipt, customer_tokens, version)| {
                let receipt = receipt.map(Box::new);
                (
                    Operation::GetPaymentStatus,
                    ResponseDetail::PaymentStatus { status, receipt, customer_tokens, version },
                )
            }
        ),
        opt_text()
            .prop_map(|terminal_id| (Operation::RegisterTerminal, ResponseDetail::RegisterTerminal { terminal_id })),
        opt_text().prop_map(|transaction_period_id| {
            (Operation::MarkTransactionPeriod, ResponseDetail::MarkTransactionPeriod { transaction_period_id })
        }),
        of(report()).prop_map(|report| (Operation::ExecuteReport, ResponseDetail::ExecuteReport { report })),
    ]
    .boxed()
}

fn result_code() -> impl Strategy<Value = ResultCode> {
    prop_oneof![select(ResultCode::DOCUMENTED), any::<i32>().prop_map(ResultCode)]
}

fn response() -> BoxedStrategy<Response> {
    (operation_and_detail(), opt_text(), result_code(), opt_text())
        .prop_map(|((operation, detail), ers_reference, result_code, result_description)| Response {
            operation,
            ers_reference,
            result_code,
            result_description: result_description.map(Into::into),
            detail,
        })
        .boxed()
}

fn fault() -> BoxedStrategy<SoapFault> {
    (select(vec![FaultCode::Client, FaultCode::Server, FaultCode::VersionMismatch]), text(), opt_text())
        .prop_map(|(code, string, detail)| SoapFault { code, string, detail })
        .boxed()
}

// ---------------------------------------------------------------------------------------
// Helpers

/// Equal as values *and* with every decimal at the same scale.
fn assert_exact<T: PartialEq + std::fmt::Debug + serde::Serialize>(
    actual: &T,
    expected: &T,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(actual, expected);
    prop_assert_eq!(serde_json::to_value(actual).unwrap(), serde_json::to_value(expected).unwrap());
    Ok(())
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "xml"))
        .collect();
    paths.sort();
    assert!(paths.len() > 30, "fixtures missing from {dir}");
    paths.iter().map(|path| std::fs::read(path).unwrap()).collect()
}

/// Rewrites an encoded message the way other SOAP stacks write it: other prefixes for the
/// envelope and the operation (PHP's `SOAP-ENV`/`ns1`) and, with `indent`, a line break and
/// indentation between tags wherever that is not an element's own text. Relies on the
/// encoder escaping `<` and `>` in text, so that every `<…>` is a tag.
fn relax(xml: &str, indent: bool) -> String {
    let mut out = String::with_capacity(xml.len() * 2);
    let mut rest = xml;
    let mut previous_was_open = false;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('>').unwrap() + 1;
        let tag = &rest[start..end];
        let closing = tag.starts_with("</");
        let opening = !closing && !tag.starts_with("<?") && !tag.ends_with("/>");
        // Whitespace between two tags is the parent's text unless it is `<a>` then `</a>`.
        if indent && start == 0 && !out.is_empty() && !(previous_was_open && closing) {
            out.push_str("\n   ");
        }
        let tag = tag
            .replacen("<soapenv:", "<SOAP-ENV:", 1)
            .replacen("</soapenv:", "</SOAP-ENV:", 1)
            .replacen("xmlns:soapenv=", "xmlns:SOAP-ENV=", 1)
            .replacen("<ext:", "<ns1:", 1)
            .replacen("</ext:", "</ns1:", 1)
            .replacen("xmlns:ext=", "xmlns:ns1=", 1);
        out.push_str(&tag);
        previous_was_open = opening;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// One edit of a byte string: the fuzzing vocabulary of the mutation test.
#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite the byte at (index mod len).
    Set(usize, u8),
    /// Delete up to n bytes at index.
    Delete(usize, usize),
    /// Insert a fragment (often markup) at index.
    Insert(usize, Vec<u8>),
    /// Copy a range to another place (duplicated or misplaced elements).
    Duplicate(usize, usize, usize),
    /// Cut the document short.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fragment = prop_oneof![
        select(vec![
            "<",
            ">",
            "/>",
            "</",
            "&",
            "&amp;",
            "&#0;",
            "&#xD800;",
            "&#1114112;",
            "&unknown;",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "<?xml version=\"1.0\"?>",
            "<!DOCTYPE x>",
            "xmlns=\"\"",
            " xsi:nil=\"true\"",
            "xmlns:a=\"urn:x\"",
            "a:",
            "=\"",
            "'",
            "\u{FEFF}",
            "<value>",
            "</value>",
            "1e999",
            "-",
            "+",
            ".",
            "99999999999999999999999999999999",
            "<invoiceRows>",
            "<parameter><entry>",
            "<return>",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        3 => (any::<usize>(), fragment).prop_map(|(i, f)| Mutation::Insert(i, f)),
        1 => (any::<usize>(), 1usize..200, any::<usize>()).prop_map(|(i, n, j)| Mutation::Duplicate(i, n, j)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(doc: &mut Vec<u8>, mutation: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match mutation {
        Mutation::Set(i, b) => {
            if !doc.is_empty() {
                let i = i % doc.len();
                doc[i] = *b;
            }
        }
        Mutation::Delete(i, n) => {
            let i = at(*i, doc.len());
            let end = (i + n).min(doc.len());
            doc.drain(i..end);
        }
        Mutation::Insert(i, fragment) => {
            let i = at(*i, doc.len());
            doc.splice(i..i, fragment.iter().copied());
        }
        Mutation::Duplicate(i, n, j) => {
            let i = at(*i, doc.len());
            let end = (i + n).min(doc.len());
            let copy = doc[i..end].to_vec();
            let j = at(*j, doc.len());
            doc.splice(j..j, copy);
        }
        Mutation::Truncate(i) => {
            let len = at(*i, doc.len());
            doc.truncate(len);
        }
    }
}

/// Both decoders, for inputs that only have to be survived.
fn decode_both(input: &[u8]) {
    let _ = decode_request(input);
    let _ = decode_reply(input);
}

// ---------------------------------------------------------------------------------------
// Round trips

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn requests_round_trip(original in request()) {
        let mut xml = Vec::new();
        encode_request(&original, &mut xml);
        let decoded = decode_request(&xml)
            .map_err(|e| TestCaseError::fail(format!("{}\n{}", e.chain(), String::from_utf8_lossy(&xml))))?;
        assert_exact(&decoded, &original)?;
    }

    #[test]
    fn responses_round_trip(original in response()) {
        let mut xml = Vec::new();
        encode_response(&original, &mut xml);
        let decoded = decode_reply(&xml)
            .map_err(|e| TestCaseError::fail(format!("{}\n{}", e.chain(), String::from_utf8_lossy(&xml))))?;
        assert_exact(&decoded, &Reply::Response(original))?;
    }

    #[test]
    fn faults_round_trip(original in fault()) {
        let mut xml = Vec::new();
        encode_fault(&original, &mut xml);
        let decoded = decode_reply(&xml)
            .map_err(|e| TestCaseError::fail(format!("{}\n{}", e.chain(), String::from_utf8_lossy(&xml))))?;
        prop_assert_eq!(decoded, Reply::Fault(original));
    }

    /// Other prefixes and indentation between tags do not change what a request means.
    #[test]
    fn relaxed_spellings_decode_the_same(original in request(), indent in any::<bool>()) {
        let mut xml = Vec::new();
        encode_request(&original, &mut xml);
        let relaxed = relax(std::str::from_utf8(&xml).unwrap(), indent);
        let decoded = decode_request(relaxed.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{}\n{relaxed}", e.chain())))?;
        assert_exact(&decoded, &original)?;
    }

    /// Whatever decode_request accepts, encode writes again in a form that decodes to the
    /// same value (the encoder's output is a fixed point).
    #[test]
    fn encoding_is_stable(original in request()) {
        let mut first = Vec::new();
        encode_request(&original, &mut first);
        let mut second = Vec::new();
        encode_request(&decode_request(&first).unwrap(), &mut second);
        prop_assert_eq!(first, second);
    }

    /// Any decimal, in any of the spellings xs:decimal allows, decodes exactly.
    #[test]
    fn lax_decimal_spellings_decode_exactly(
        value in decimal(),
        plus in any::<bool>(),
        leading in select(vec!["", " ", "\n  ", "\t"]),
        trailing in select(vec!["", " ", "\n", "\r\n  "]),
    ) {
        let mut text = value.to_string();
        if plus && !value.is_sign_negative() {
            text.insert(0, '+');
        }
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><e:commitReservation xmlns:e="http://external.interfaces.ers.seamless.com/"><amount><value>{leading}{text}{trailing}</value></amount></e:commitReservation></s:Body></s:Envelope>"#
        );
        let expected = Request::CommitReservation(CommitReservation {
            amount: Some(Amount { currency: None, value: Some(value) }),
            ..CommitReservation::default()
        });
        assert_exact(&decode_request(xml.as_bytes()).unwrap(), &expected)?;
    }
}

// ---------------------------------------------------------------------------------------
// Hostile input never panics

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..512)) {
        decode_both(&input);
    }

    /// Strings assembled from XML and SOAP tokens reach much deeper than random bytes.
    #[test]
    fn token_soup_never_panics(tokens in vec(select(vec![
        "<", ">", "/>", "</", "?>", "<?xml version=\"1.0\"?>", "<!--", "-->", "<![CDATA[", "]]>", "<!DOCTYPE",
        "&amp;", "&#13;", "&#x", ";", "=", "\"", "'", " ", "\n",
        "s:Envelope", "s:Body", "s:Header", "s:Fault", "Envelope", "Body",
        " xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"", " xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"",
        " xmlns:e=\"http://external.interfaces.ers.seamless.com/\"", " xmlns=\"\"", " xsi:nil=\"true\"",
        "e:sendInvoice", "e:getPaymentStatusResponse", "e:executeReportResponse", "e:requestTopup",
        "return", "resultCode", "context", "invoice", "invoiceRows", "invoiceRow", "totalAmount", "value",
        "receipt", "customerTokens", "token", "status", "report", "content", "parameters", "parameter", "entry",
        "faultcode", "faultstring", "detail", "0", "-1", "+2.50", "PAID", "QUJD", "===",
    ]), 0..120)) {
        decode_both(tokens.concat().as_bytes());
    }

    #[test]
    fn mutated_fixtures_never_panic(
        index in any::<prop::sample::Index>(),
        mutations in vec(mutation(), 1..6),
    ) {
        thread_local! {
            static FIXTURES: Vec<Vec<u8>> = fixtures();
        }
        let mut doc = FIXTURES.with(|fixtures| index.get(fixtures).clone());
        for mutation in &mutations {
            apply(&mut doc, mutation);
        }
        decode_both(&doc);
    }
}

#[test]
fn every_truncation_and_byte_deletion_of_a_fixture_is_survived() {
    // Exhaustive rather than random for one small fixture: each truncation point and each
    // one-byte deletion of getPaymentStatus.request.xml.
    let doc =
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fixtures/getPaymentStatus.request.xml"));
    for i in 0..doc.len() {
        decode_both(&doc[..i]);
        let mut deleted = doc.to_vec();
        deleted.remove(i);
        decode_both(&deleted);
    }
}

#[test]
fn deep_and_wide_documents_are_refused_not_overflowed() {
    let deep = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{}"#,
        "<e:sendInvoice>".repeat(100_000)
    );
    assert!(decode_request(deep.as_bytes()).is_err());
    let wide = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><e:sendInvoice xmlns:e="http://external.interfaces.ers.seamless.com/">{}</e:sendInvoice></s:Body></s:Envelope>"#,
        "<tokens><status>1</status></tokens>".repeat(60_000)
    );
    assert!(decode_request(wide.as_bytes()).is_err());
}

#[test]
fn the_relaxing_helper_renames_prefixes_and_indents_only_between_tags() {
    let original = Request::GetPaymentStatus(GetPaymentStatus {
        context: Some(ClientContext { channel: Some(String::new()), ..ClientContext::default() }),
        invoice_reference: Some("ext:1 <2>".to_owned()),
        invoice_version: Some(0),
    });
    let mut xml = Vec::new();
    encode_request(&original, &mut xml);
    let relaxed = relax(std::str::from_utf8(&xml).unwrap(), true);
    assert!(
        relaxed.contains("\n   <SOAP-ENV:Body>\n   <ns1:getPaymentStatus>\n   <context>\n   <channel></channel>"),
        "{relaxed}"
    );
    assert!(relaxed.contains("<invoiceReference>ext:1 &lt;2&gt;</invoiceReference>"), "{relaxed}");
    assert!(relaxed.contains(r#"xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="#), "{relaxed}");
    assert_eq!(decode_request(relaxed.as_bytes()).unwrap(), original);
}

// ---------------------------------------------------------------------------------------
// Every answer is well-formed XML, whatever its strings hold

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Strings from doors other than a decoded request (the control API, configuration)
    /// may hold characters XML cannot carry: the encoder replaces them by U+FFFD, so the
    /// answer still parses (and decodes to the string with them replaced).
    #[test]
    fn any_string_is_written_as_well_formed_xml(text in ".*", raw in vec(any::<char>(), 0..16)) {
        let text: String = text.chars().chain(raw).collect();
        let expected: String = text
            .chars()
            .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
            .collect();
        let fault = SoapFault::server(text.clone());
        let mut xml = Vec::new();
        encode_fault(&fault, &mut xml);
        match decode_reply(&xml) {
            Ok(Reply::Fault(decoded)) => prop_assert_eq!(decoded.string, expected.clone()),
            other => prop_assert!(false, "{other:?}\n{}", String::from_utf8_lossy(&xml)),
        }
        let mut response = Response::result(Operation::CancelInvoice, ResultCode::SUCCESS);
        response.result_description = Some(text.clone().into());
        let mut xml = Vec::new();
        encode_response(&response, &mut xml);
        match decode_reply(&xml) {
            Ok(Reply::Response(decoded)) => prop_assert_eq!(decoded.result_description.as_deref(), Some(expected.as_str())),
            other => prop_assert!(false, "{other:?}\n{}", String::from_utf8_lossy(&xml)),
        }
    }
}
