//! SOAP 1.1 envelopes: the codec's entry points.
//!
//! Requests are decoded by the mock and encoded by clients (the reference reseller, the
//! conformance suite); responses the other way round. All four directions live here so
//! that every party speaks through the same, tested code.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::charset::decode_text;
use crate::deviation::{Deviation, DeviationRule};
use crate::error::CodecError;
use crate::model::{InvoiceStatus, Receipt, Report};
use crate::operation::Operation;
use crate::request::*;
use crate::response::{Response, ResponseDetail};
use crate::result_code::ResultCode;
use crate::xml::field::{Field, Path, many, opt, req, write_opt, xml_struct};
use crate::xml::parse_str;
use crate::xml::tree::Node;
use crate::xml::writer::XmlWriter;

/// Namespace of the operation elements.
pub const SERVICE_NS: &str = "http://external.interfaces.ers.seamless.com/";
/// SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace (recognised only to refuse it clearly).
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

/// `faultcode` values of SOAP 1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultCode {
    /// The message was wrong: malformed, not SOAP, unknown operation, bad value.
    Client,
    /// The server failed (or a fault was injected).
    Server,
    /// The envelope namespace was not SOAP 1.1's.
    VersionMismatch,
    /// A header marked `mustUnderstand="1"` that the receiver does not process.
    MustUnderstand,
}

impl FaultCode {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Client => "soap:Client",
            Self::Server => "soap:Server",
            Self::VersionMismatch => "soap:VersionMismatch",
            Self::MustUnderstand => "soap:MustUnderstand",
        }
    }

    fn parse(text: &str) -> Self {
        // The prefix is whatever the sender bound to the envelope namespace; SOAP 1.1 lets
        // a code be refined with dots (`soap:Client.Authentication`).
        match text.rsplit(':').next().and_then(|code| code.split('.').next()) {
            Some("Client") | Some("Sender") => Self::Client,
            Some("VersionMismatch") => Self::VersionMismatch,
            Some("MustUnderstand") => Self::MustUnderstand,
            _ => Self::Server,
        }
    }
}

/// A SOAP 1.1 `Fault`: a value, encoded like any other response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoapFault {
    pub code: FaultCode,
    pub string: String,
    /// Plain-text `detail`, if any.
    pub detail: Option<String>,
}

impl SoapFault {
    pub fn client(string: impl Into<String>) -> Self {
        Self { code: FaultCode::Client, string: string.into(), detail: None }
    }

    pub fn server(string: impl Into<String>) -> Self {
        Self { code: FaultCode::Server, string: string.into(), detail: None }
    }

    /// The fault that answers a request the codec could not decode.
    pub fn from_decode_error(error: &CodecError) -> Self {
        let code = match error {
            CodecError::VersionMismatch => FaultCode::VersionMismatch,
            CodecError::MustUnderstand { .. } => FaultCode::MustUnderstand,
            _ => FaultCode::Client,
        };
        Self { code, string: error.chain(), detail: None }
    }
}

/// What a server answered: a response or a fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Response(Response),
    Fault(SoapFault),
}

xml_struct!(SendInvoice { opt context: "context", opt invoice: "invoice", many tokens: "tokens" });
xml_struct!(UpdateInvoice {
    opt context: "context",
    opt invoice_reference: "invoiceReference",
    opt invoice: "invoice",
    many tokens: "tokens",
});
xml_struct!(GetPaymentStatus {
    opt context: "context",
    opt invoice_reference: "invoiceReference",
    opt invoice_version: "invoiceVersion",
});
xml_struct!(CancelInvoice { opt context: "context", opt invoice_reference: "invoiceReference" });
xml_struct!(CommitReservation {
    opt context: "context",
    opt invoice_reference: "invoiceReference",
    opt amount: "amount",
});
xml_struct!(SubmitPaymentReceipt {
    opt context: "context",
    opt ers_reference: "ersReference",
    opt receipt_document: "receiptDocument",
});
xml_struct!(RefundPayment { opt context: "context", opt ers_reference: "ersReference", opt invoice: "invoice" });
xml_struct!(RegisterTerminal {
    opt context: "context",
    opt external_terminal_id: "externalTerminalId",
    opt password: "password",
    opt name: "name",
});
xml_struct!(UnregisterTerminal { opt context: "context" });
xml_struct!(AssignSeqrId { opt context: "context", opt seqr_id: "seqrId" });
xml_struct!(MarkTransactionPeriod { opt context: "context", opt parameters: "parameters" });
xml_struct!(ExecuteReport {
    opt context: "context",
    opt report_id: "reportId",
    opt language: "language",
    opt parameters: "parameters",
});

/// Checks the envelope; returns its `Header` (if any) and the element inside `Body`.
fn envelope<'d, 'i>(root: Node<'d, 'i>) -> Result<(Option<Node<'d, 'i>>, Node<'d, 'i>), CodecError> {
    if root.name != "Envelope" || root.namespace.as_deref() != Some(SOAP11_NS) {
        if root.name == "Envelope" && root.namespace.as_deref() == Some(SOAP12_NS) {
            return Err(CodecError::VersionMismatch);
        }
        return Err(CodecError::NotSoap {
            found: root.name.to_string(),
            namespace: root.namespace.as_deref().map(str::to_owned),
        });
    }
    let in_envelope =
        |name: &str| root.children().find(|c| c.name == name && c.namespace.as_deref() == Some(SOAP11_NS));
    let body = in_envelope("Body").ok_or(CodecError::MissingBody)?;
    Ok((in_envelope("Header"), body.first_child().ok_or(CodecError::EmptyBody)?))
}

/// How [`decode_request_with`] reads a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions<'a> {
    /// The `charset` of the HTTP `Content-Type`, if it had one (see
    /// [`charset_of`](crate::charset::charset_of)).
    pub charset: Option<&'a str>,
    /// Accept namespace-qualified children of the operation element and headers marked
    /// `mustUnderstand`, reporting each as a deviation
    /// ([`DeviationRule::QualifiedElement`], [`DeviationRule::MustUnderstandHeader`]),
    /// instead of refusing the request.
    pub lax: bool,
}

/// A decoded request and what it did that the schema does not allow but the decoder
/// tolerated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub request: Request,
    /// Qualified children and mustUnderstand headers (lax mode only) and decimals
    /// beyond 28 significant digits. An
    /// out-of-range decimal reads as absent in `request`: a receiver must refuse the
    /// request (the mock answers the amount's result code) rather than act on it.
    pub deviations: Vec<Deviation>,
}

impl Decoded {
    /// Whether a decimal of the request did not fit (and reads as absent).
    pub fn has_out_of_range_decimal(&self) -> bool {
        self.deviations.iter().any(|d| d.rule == DeviationRule::DecimalOutOfRange)
    }
}

/// Qualified elements reported per request, at most: a lax client qualifies every child,
/// and one deviation per element would journal the request again.
const MAX_QUALIFIED_REPORTED: usize = 8;

/// Decodes a SOAP request as the mock receives it: in the encoding its labels say (see
/// [`crate::charset`]), refusing (unless `lax`) headers it must understand and
/// namespace-qualified children, and reporting decimals it cannot hold as deviations
/// instead of failing.
///
/// ```
/// use glase_protocol::soap::{DecodeOptions, decode_request_with};
/// use glase_protocol::{CodecError, Request};
/// let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?>\
///   <s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>\
///   <e:cancelInvoice xmlns:e='http://external.interfaces.ers.seamless.com/'>\
///   <invoiceReference>Caf\xe9</invoiceReference></e:cancelInvoice></s:Body></s:Envelope>";
/// let decoded = decode_request_with(latin1, &DecodeOptions::default()).unwrap();
/// let Request::CancelInvoice(cancel) = decoded.request else { panic!() };
/// assert_eq!(cancel.invoice_reference.as_deref(), Some("Café"));
/// // The same bytes labelled UTF-8 by the HTTP header contradict the declaration.
/// let options = DecodeOptions { charset: Some("utf-8"), ..DecodeOptions::default() };
/// assert!(matches!(decode_request_with(latin1, &options), Err(CodecError::EncodingMismatch { .. })));
/// ```
pub fn decode_request_with(input: &[u8], options: &DecodeOptions<'_>) -> Result<Decoded, CodecError> {
    decode(input, options, true)
}

/// Decodes a SOAP request strictly: [`decode_request_with`] with the default options,
/// where a decimal beyond 28 significant digits is an error
/// ([`CodecError::DecimalOutOfRange`]) as well.
pub fn decode_request(input: &[u8]) -> Result<Request, CodecError> {
    decode(input, &DecodeOptions::default(), false).map(|decoded| decoded.request)
}

fn decode(input: &[u8], options: &DecodeOptions<'_>, collect: bool) -> Result<Decoded, CodecError> {
    let text = decode_text(input, options.charset)?;
    let document = parse_str(&text)?;
    let (header, element) = envelope(document.root())?;
    // SOAP 1.1 section 4.2.3: a header addressed to this node with mustUnderstand="1"
    // that it does not process fails the whole message, before the body is looked at.
    // This endpoint processes no header. (WCF's `<Action s:mustUnderstand="1"
    // xmlns="…/addressing/none">` is the usual one: Metro refuses it the same way.)
    let mut deviations = Vec::new();
    for header in header.iter().flat_map(|h| h.children()).filter(|c| c.must_understand) {
        let namespace = header.namespace.as_deref().unwrap_or_default();
        if !options.lax {
            return Err(CodecError::MustUnderstand { namespace: namespace.to_owned(), name: header.name.to_string() });
        }
        deviations.push(Deviation {
            rule: DeviationRule::MustUnderstandHeader,
            path: format!("Header/{}", header.name),
            detail: format!("header {{{namespace}}}{} has mustUnderstand=\"1\"; it was ignored", header.name),
        });
    }
    let unknown = || CodecError::UnknownOperation {
        name: element.name.to_string(),
        namespace: element.namespace.as_deref().map(str::to_owned),
    };
    if element.namespace.as_deref() != Some(SERVICE_NS) {
        return Err(unknown());
    }
    let op = Operation::from_name(&element.name).ok_or_else(unknown)?;
    qualified_children(element, &Path::root(op.name()), options.lax, &mut deviations)?;
    let deviations = RefCell::new(deviations);
    let path = &if collect { Path::collecting(op.name(), &deviations) } else { Path::root(op.name()) };
    let request = match op {
        Operation::SendInvoice => Request::SendInvoice(Field::read(element, path)?),
        Operation::UpdateInvoice => Request::UpdateInvoice(Field::read(element, path)?),
        Operation::GetPaymentStatus => Request::GetPaymentStatus(Field::read(element, path)?),
        Operation::CancelInvoice => Request::CancelInvoice(Field::read(element, path)?),
        Operation::CommitReservation => Request::CommitReservation(Field::read(element, path)?),
        Operation::SubmitPaymentReceipt => Request::SubmitPaymentReceipt(Field::read(element, path)?),
        Operation::RefundPayment => Request::RefundPayment(Field::read(element, path)?),
        Operation::RegisterTerminal => Request::RegisterTerminal(Field::read(element, path)?),
        Operation::UnregisterTerminal => Request::UnregisterTerminal(Field::read(element, path)?),
        Operation::AssignSeqrId => Request::AssignSeqrId(Field::read(element, path)?),
        Operation::MarkTransactionPeriod => Request::MarkTransactionPeriod(Field::read(element, path)?),
        Operation::ExecuteReport => Request::ExecuteReport(Field::read(element, path)?),
        op => Request::Unsupported { op, context: opt(element, "context", path)? },
    };
    Ok(Decoded { request, deviations: deviations.into_inner() })
}

/// Every element below the operation element must be unqualified (the schema's
/// `elementFormDefault="unqualified"`): the first qualified one is an error, or in lax
/// mode each (up to [`MAX_QUALIFIED_REPORTED`]) is a deviation.
fn qualified_children(
    node: Node<'_, '_>,
    path: &Path<'_>,
    lax: bool,
    deviations: &mut Vec<Deviation>,
) -> Result<(), CodecError> {
    for child in node.children() {
        let path = path.join(&child.name);
        if let Some(namespace) = child.namespace.as_deref() {
            if !lax {
                return Err(CodecError::QualifiedElement { path: path.to_string(), namespace: namespace.to_owned() });
            }
            if deviations.len() < MAX_QUALIFIED_REPORTED {
                deviations.push(Deviation {
                    rule: DeviationRule::QualifiedElement,
                    path: path.to_string(),
                    detail: format!(
                        "element in namespace {namespace:?}; the schema is elementFormDefault=\"unqualified\""
                    ),
                });
            }
        }
        // Nesting is bounded by the parser's MAX_DEPTH (64), so recursion is too.
        qualified_children(child, &path, lax, deviations)?;
    }
    Ok(())
}

const REQUEST_HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" "#,
    r#"xmlns:ext="http://external.interfaces.ers.seamless.com/"><soapenv:Header/><soapenv:Body>"#
);
const REQUEST_TAIL: &str = "</soapenv:Body></soapenv:Envelope>";

/// Encodes a request as a client sends it.
pub fn encode_request(request: &Request, out: &mut Vec<u8>) {
    let mut w = XmlWriter::new(out);
    w.raw(REQUEST_HEAD);
    let name = format!("ext:{}", request.operation().name());
    match request {
        Request::SendInvoice(r) => r.write(&mut w, &name),
        Request::UpdateInvoice(r) => r.write(&mut w, &name),
        Request::GetPaymentStatus(r) => r.write(&mut w, &name),
        Request::CancelInvoice(r) => r.write(&mut w, &name),
        Request::CommitReservation(r) => r.write(&mut w, &name),
        Request::SubmitPaymentReceipt(r) => r.write(&mut w, &name),
        Request::RefundPayment(r) => r.write(&mut w, &name),
        Request::RegisterTerminal(r) => r.write(&mut w, &name),
        Request::UnregisterTerminal(r) => r.write(&mut w, &name),
        Request::AssignSeqrId(r) => r.write(&mut w, &name),
        Request::MarkTransactionPeriod(r) => r.write(&mut w, &name),
        Request::ExecuteReport(r) => r.write(&mut w, &name),
        Request::Unsupported { context, .. } => {
            w.open(&name);
            write_opt(&mut w, "context", context);
            w.close(&name);
        }
    }
    w.raw(REQUEST_TAIL);
}

const RESPONSE_HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>"#
);
const RESPONSE_TAIL: &str = "</soap:Body></soap:Envelope>";

/// Encodes a response in the documented shape:
/// `<ns2:{op}Response xmlns:ns2="…"><return>…</return></ns2:{op}Response>`.
pub fn encode_response(response: &Response, out: &mut Vec<u8>) {
    let mut w = XmlWriter::new(out);
    w.raw(RESPONSE_HEAD);
    let op = response.operation.name();
    w.raw("<ns2:");
    w.raw(op);
    w.raw(r#"Response xmlns:ns2="http://external.interfaces.ers.seamless.com/">"#);
    w.open("return");
    write_opt(&mut w, "ersReference", &response.ers_reference);
    response.result_code.0.write(&mut w, "resultCode");
    if let Some(description) = &response.result_description {
        w.leaf("resultDescription", description);
    }
    match &response.detail {
        ResponseDetail::None => {}
        ResponseDetail::SendInvoice { invoice_qr_code, invoice_reference } => {
            write_opt(&mut w, "invoiceQRCode", invoice_qr_code);
            write_opt(&mut w, "invoiceReference", invoice_reference);
        }
        ResponseDetail::PaymentStatus { status, receipt, customer_tokens, version } => {
            write_opt(&mut w, "status", status);
            if let Some(receipt) = receipt {
                receipt.write(&mut w, "receipt");
            }
            write_opt(&mut w, "customerTokens", customer_tokens);
            version.write(&mut w, "version");
        }
        ResponseDetail::RegisterTerminal { terminal_id } => write_opt(&mut w, "terminalId", terminal_id),
        ResponseDetail::MarkTransactionPeriod { transaction_period_id } => {
            write_opt(&mut w, "transactionPeriodId", transaction_period_id);
        }
        ResponseDetail::ExecuteReport { report } => write_opt(&mut w, "report", report),
    }
    w.close("return");
    w.raw("</ns2:");
    w.raw(op);
    w.raw("Response>");
    w.raw(RESPONSE_TAIL);
}

/// Encodes a SOAP 1.1 fault.
pub fn encode_fault(fault: &SoapFault, out: &mut Vec<u8>) {
    let mut w = XmlWriter::new(out);
    w.raw(RESPONSE_HEAD);
    w.open("soap:Fault");
    w.leaf("faultcode", fault.code.as_str());
    w.leaf("faultstring", &fault.string);
    if let Some(detail) = &fault.detail {
        w.leaf("detail", detail);
    }
    w.close("soap:Fault");
    w.raw(RESPONSE_TAIL);
}

/// Decodes what a server answered: a response or a fault.
pub fn decode_reply(input: &[u8]) -> Result<Reply, CodecError> {
    let text = decode_text(input, None)?;
    let document = parse_str(&text)?;
    let (_, element) = envelope(document.root())?;
    if element.name == "Fault" && element.namespace.as_deref() == Some(SOAP11_NS) {
        let path = &Path::root("Fault");
        let code: Option<String> = opt(element, "faultcode", path)?;
        return Ok(Reply::Fault(SoapFault {
            code: FaultCode::parse(code.as_deref().unwrap_or("Server").trim()),
            string: opt(element, "faultstring", path)?.unwrap_or_default(),
            detail: element.child("detail").map(detail_text),
        }));
    }
    let unknown = || CodecError::UnknownOperation {
        name: element.name.to_string(),
        namespace: element.namespace.as_deref().map(str::to_owned),
    };
    let op = element
        .name
        .strip_suffix("Response")
        .and_then(Operation::from_name)
        .filter(|_| element.namespace.as_deref() == Some(SERVICE_NS))
        .ok_or_else(unknown)?;
    let parent = Path::root(&element.name);
    let path = parent.join("return");
    let ret = element.child("return").ok_or_else(|| CodecError::MissingElement { path: path.to_string() })?;
    let detail = match op {
        Operation::SendInvoice => ResponseDetail::SendInvoice {
            invoice_qr_code: opt(ret, "invoiceQRCode", &path)?,
            invoice_reference: opt(ret, "invoiceReference", &path)?,
        },
        Operation::GetPaymentStatus => ResponseDetail::PaymentStatus {
            status: opt::<InvoiceStatus>(ret, "status", &path)?,
            receipt: opt::<Receipt>(ret, "receipt", &path)?.map(Box::new),
            customer_tokens: match ret.child("customerTokens") {
                Some(tokens) => Some(many(tokens, "token", &path.join("customerTokens"))?),
                None => None,
            },
            version: opt(ret, "version", &path)?.unwrap_or(0),
        },
        Operation::RegisterTerminal => ResponseDetail::RegisterTerminal { terminal_id: opt(ret, "terminalId", &path)? },
        Operation::MarkTransactionPeriod => {
            ResponseDetail::MarkTransactionPeriod { transaction_period_id: opt(ret, "transactionPeriodId", &path)? }
        }
        Operation::ExecuteReport => ResponseDetail::ExecuteReport { report: opt::<Report>(ret, "report", &path)? },
        _ => ResponseDetail::None,
    };
    Ok(Reply::Response(Response {
        operation: op,
        ers_reference: opt(ret, "ersReference", &path)?,
        result_code: ResultCode(req(ret, "resultCode", &path)?),
        result_description: opt::<String>(ret, "resultDescription", &path)?.map(Into::into),
        detail,
    }))
}

/// A fault's `detail` as text. Plain-text detail (what [`encode_fault`] writes) is kept
/// exactly, like `faultstring`, so that a fault decodes to the value that was encoded;
/// structured detail (a server's exception element) becomes its texts, space-separated.
fn detail_text(node: Node<'_, '_>) -> String {
    if !node.has_children() {
        return node.text.to_string();
    }
    structured_text(node)
}

/// An element's own text if it has any, else its children's, trimmed and space-separated.
fn structured_text(node: Node<'_, '_>) -> String {
    if !node.text.trim().is_empty() || !node.has_children() {
        return node.text.trim().to_owned();
    }
    node.children().map(structured_text).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ")
}
