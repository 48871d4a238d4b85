//! The WSDL documents the mock serves, generated from a schema table.
//!
//! Integrators generate their clients from the WSDL (PHP SoapClient, zeep, wsimport,
//! svcutil), so it has to describe exactly the wire format the codec speaks: the v2 SEQR
//! WSDL plus the v2.6 additions. The documents are built from a static schema table and from the
//! codec's own enums and [`Operation::ALL`] rather than kept as a static file, so a value
//! added to [`PaymentMode`] or an operation added to [`Operation`] shows up in the WSDL
//! without anyone remembering to edit XML; the two cannot drift. The public reference WSDL is
//! deliberately not copied into the project: `tests/wsdl.rs` reads it at test time and checks
//! that the generated documents agree with it element by element, except for the documented
//! v2.6 additions.
//!
//! Like the original, the WSDL is split in two: the service document (binding and service,
//! `GET <endpoint>?wsdl`) imports the interface document (schema, messages and port type,
//! `GET <endpoint>?wsdl=`[`IMPORTED_DOCUMENT`]). The split is kept rather than merged into one
//! file so that client generators see the same structure (and namespaces) as the original.

use quick_xml::escape::escape;

use crate::model::{AcknowledgmentMode, InvoiceStatus, PaymentMode};
use crate::operation::Operation;
use crate::soap::SERVICE_NS;

/// File name of the imported document, as used in `?wsdl=<name>`.
pub const IMPORTED_DOCUMENT: &str = "ERSWSExternalClientService.wsdl";

/// Target namespace of the service document; differs from the operations' namespace in
/// the original, and generated clients key their service classes on it.
const SERVICE_DOCUMENT_NS: &str = "http://externalclientservice.cashregister.seamless.com/";
const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
const WSDL_SOAP_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
const SOAP_HTTP_TRANSPORT: &str = "http://schemas.xmlsoap.org/soap/http";
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

const SERVICE_NAME: &str = "ERSWSExternalClientServiceImplService";
const PORT_NAME: &str = "ERSWSExternalClientServiceImplPort";
const BINDING_NAME: &str = "ERSWSExternalClientServiceImplServiceSoapBinding";
const PORT_TYPE_NAME: &str = "ERSWSExternalClientService";

const XML_DECLARATION: &str = "<?xml version='1.0' encoding='UTF-8'?>";

/// The type of an element: a named type (`xs:string`, `tns:invoice`), or an anonymous
/// complex type with a sequence, as the original uses for list wrappers like `invoiceRows`.
#[derive(Debug, Clone, Copy)]
enum Type {
    Named(&'static str),
    Inline(&'static [Element]),
}

/// One `xs:element` of a sequence.
#[derive(Debug, Clone, Copy)]
struct Element {
    name: &'static str,
    ty: Type,
    /// `minOccurs="0"`; otherwise the schema default of 1.
    optional: bool,
    /// `maxOccurs="unbounded"`; otherwise the schema default of 1.
    unbounded: bool,
    nillable: bool,
}

/// One `xs:complexType`: a sequence, optionally extending a base type.
#[derive(Debug, Clone, Copy)]
struct ComplexType {
    name: &'static str,
    base: Option<&'static str>,
    sequence: &'static [Element],
}

const STRING: &str = "xs:string";
const INT: &str = "xs:int";
const LONG: &str = "xs:long";
const DECIMAL: &str = "xs:decimal";
const DATE_TIME: &str = "xs:dateTime";
const BASE64: &str = "xs:base64Binary";

const fn element(name: &'static str, ty: Type, optional: bool, unbounded: bool) -> Element {
    Element { name, ty, optional, unbounded, nillable: false }
}

/// `minOccurs="0"`: almost everything, since the original is generated from Java beans.
const fn opt(name: &'static str, ty: &'static str) -> Element {
    element(name, Type::Named(ty), true, false)
}

/// Required: the original's Java primitives (`long`, `int`).
const fn req(name: &'static str, ty: &'static str) -> Element {
    element(name, Type::Named(ty), false, false)
}

/// A repeated element without a wrapper.
const fn list(name: &'static str, ty: &'static str) -> Element {
    element(name, Type::Named(ty), true, true)
}

/// An optional wrapper element around a repeated item, e.g. `invoiceRows/invoiceRow*`.
const fn wrapper(name: &'static str, items: &'static [Element]) -> Element {
    element(name, Type::Inline(items), true, false)
}

const fn sequence(name: &'static str, sequence: &'static [Element]) -> ComplexType {
    ComplexType { name, base: None, sequence }
}

/// A response type that adds fields to `tns:erswsResponse`.
const fn extends_response(name: &'static str, sequence: &'static [Element]) -> ComplexType {
    ComplexType { name, base: Some("tns:erswsResponse"), sequence }
}

const CONTEXT: Element = opt("context", "tns:clientContext");

/// Every complex type of the schema. Request and response wrappers are named after
/// [`Operation::name`]; a unit test checks that every operation has both.
static COMPLEX_TYPES: &[ComplexType] = &[
    // Operation wrappers, in `Operation::ALL` order.
    sequence("assignSeqrId", &[CONTEXT, opt("seqrId", STRING)]),
    sequence("assignSeqrIdResponse", &[opt("return", "tns:erswsResponse")]),
    sequence("benchmarkingNop", &[]),
    sequence("benchmarkingNopResponse", &[opt("return", "tns:erswsResponse")]),
    sequence("cancelInvoice", &[CONTEXT, opt("invoiceReference", STRING)]),
    sequence("cancelInvoiceResponse", &[opt("return", "tns:erswsResponse")]),
    sequence("changePrincipalPassword", &[CONTEXT, opt("principalId", "tns:principalId"), opt("newPassword", STRING)]),
    sequence("changePrincipalPasswordResponse", &[opt("return", "tns:erswsResponse")]),
    sequence(
        "commitReservation",
        &[
            CONTEXT,
            opt("invoiceReference", STRING),
            // v2.6: commit less than was reserved.
            opt("amount", "tns:amount"),
        ],
    ),
    sequence("commitReservationResponse", &[opt("return", "tns:erswsResponse")]),
    sequence(
        "confirmCustomerRegistration",
        &[
            CONTEXT,
            opt("principalId", "tns:principalId"),
            opt("secondaryPrincipalId", "tns:principalId"),
            opt("registrationReference", STRING),
        ],
    ),
    sequence("confirmCustomerRegistrationResponse", &[opt("return", "tns:erswsResponse")]),
    sequence(
        "executeReport",
        &[CONTEXT, opt("reportId", STRING), opt("language", STRING), opt("parameters", "tns:parameterMap")],
    ),
    sequence("executeReportResponse", &[opt("return", "tns:erswsExecuteReportResponse")]),
    extends_response("erswsExecuteReportResponse", &[opt("report", "tns:report")]),
    sequence("getPaymentStatus", &[CONTEXT, opt("invoiceReference", STRING), req("invoiceVersion", INT)]),
    sequence("getPaymentStatusResponse", &[opt("return", "tns:erswsPaymentStatusResponse")]),
    extends_response(
        "erswsPaymentStatusResponse",
        &[
            opt("status", "tns:invoiceStatus"),
            opt("receipt", "tns:receipt"),
            wrapper("customerTokens", &[list("token", "tns:customerToken")]),
            req("version", INT),
        ],
    ),
    sequence("markTransactionPeriod", &[CONTEXT, opt("parameters", "tns:parameterMap")]),
    sequence("markTransactionPeriodResponse", &[opt("return", "tns:erswsMarkTransactionPeriodResponse")]),
    extends_response("erswsMarkTransactionPeriodResponse", &[opt("transactionPeriodId", STRING)]),
    sequence("refundPayment", &[CONTEXT, opt("ersReference", STRING), opt("invoice", "tns:invoice")]),
    sequence("refundPaymentResponse", &[opt("return", "tns:erswsResponse")]),
    sequence(
        "registerTerminal",
        &[CONTEXT, opt("externalTerminalId", STRING), opt("password", STRING), opt("name", STRING)],
    ),
    sequence("registerTerminalResponse", &[opt("return", "tns:erswsRegisterTerminalResponse")]),
    extends_response("erswsRegisterTerminalResponse", &[opt("terminalId", STRING)]),
    sequence("requestPrincipalInformation", &[CONTEXT, opt("principalId", "tns:principalId")]),
    sequence("requestPrincipalInformationResponse", &[opt("return", "tns:erswsPrincipalInformationResponse")]),
    extends_response("erswsPrincipalInformationResponse", &[opt("requestedPrincipal", "tns:principal")]),
    sequence(
        "requestPurchase",
        &[
            CONTEXT,
            opt("senderPrincipalId", "tns:principalId"),
            opt("receiverPrincipalId", "tns:principalId"),
            opt("senderAccountSpecifier", "tns:principalAccountSpecifier"),
            opt("receiverAccountSpecifier", "tns:principalAccountSpecifier"),
            list("purchaseOrder", "tns:purchaseOrderRow"),
        ],
    ),
    sequence("requestPurchaseResponse", &[opt("return", "tns:erswsPurchaseResponse")]),
    extends_response(
        "erswsPurchaseResponse",
        &[
            opt("paymentPrincipal", "tns:principal"),
            opt("purchaseReference", STRING),
            // The only nillable element of the original; clients generated from it expect it.
            Element { nillable: true, ..list("purchasedProducts", "tns:principalPurchaseProductSpecifier") },
            opt("receiverPrincipal", "tns:principal"),
        ],
    ),
    sequence(
        "requestTopup",
        &[
            CONTEXT,
            opt("senderPrincipalId", "tns:principalId"),
            opt("topupPrincipalId", "tns:principalId"),
            opt("senderAccountSpecifier", "tns:principalAccountSpecifier"),
            opt("topupAccountSpecifier", "tns:principalAccountSpecifier"),
            opt("productId", STRING),
            opt("amount", "tns:amount"),
        ],
    ),
    sequence("requestTopupResponse", &[opt("return", "tns:erswsTopupResponse")]),
    extends_response(
        "erswsTopupResponse",
        &[
            opt("requestedTopupAmount", "tns:amount"),
            opt("senderPrincipal", "tns:principal"),
            opt("topupAccountSpecifier", "tns:principalAccountSpecifier"),
            opt("topupAmount", "tns:amount"),
            opt("topupPrincipal", "tns:principal"),
        ],
    ),
    sequence(
        "requestTransfer",
        &[
            CONTEXT,
            opt("senderPrincipalId", "tns:principalId"),
            opt("receiverPrincipalId", "tns:principalId"),
            opt("senderAccountSpecifier", "tns:principalAccountSpecifier"),
            opt("receiverAccountSpecifier", "tns:principalAccountSpecifier"),
            opt("productId", STRING),
            opt("amount", "tns:amount"),
        ],
    ),
    sequence("requestTransferResponse", &[opt("return", "tns:erswsTransferResponse")]),
    extends_response(
        "erswsTransferResponse",
        &[
            opt("receivedAmount", "tns:amount"),
            opt("receiverPrincipal", "tns:principal"),
            opt("requestedTransferAmount", "tns:amount"),
            opt("senderPrincipal", "tns:principal"),
        ],
    ),
    sequence("sendInvoice", &[CONTEXT, opt("invoice", "tns:invoice"), list("tokens", "tns:customerToken")]),
    sequence("sendInvoiceResponse", &[opt("return", "tns:erswsSendInvoiceResponse")]),
    extends_response("erswsSendInvoiceResponse", &[opt("invoiceQRCode", STRING), opt("invoiceReference", STRING)]),
    sequence(
        "submitPaymentReceipt",
        &[CONTEXT, opt("ersReference", STRING), opt("receiptDocument", "tns:receiptDocument")],
    ),
    sequence("submitPaymentReceiptResponse", &[opt("return", "tns:erswsResponse")]),
    sequence("unregisterTerminal", &[CONTEXT]),
    sequence("unregisterTerminalResponse", &[opt("return", "tns:erswsResponse")]),
    sequence(
        "updateInvoice",
        &[CONTEXT, opt("invoiceReference", STRING), opt("invoice", "tns:invoice"), list("tokens", "tns:customerToken")],
    ),
    sequence("updateInvoiceResponse", &[opt("return", "tns:erswsResponse")]),
    // Data types shared by several operations.
    sequence("erswsResponse", &[opt("ersReference", STRING), req("resultCode", INT), opt("resultDescription", STRING)]),
    sequence(
        "clientContext",
        &[
            opt("channel", STRING),
            opt("clientComment", STRING),
            opt("clientId", STRING),
            opt("clientReference", STRING),
            req("clientRequestTimeout", LONG),
            opt("initiatorPrincipalId", "tns:principalId"),
            opt("password", STRING),
        ],
    ),
    sequence("principalId", &[opt("id", STRING), opt("type", STRING), opt("userId", STRING)]),
    sequence(
        "invoice",
        &[
            opt("paymentMode", "tns:paymentMode"),
            opt("acknowledgmentMode", "tns:acknowledgmentMode"),
            opt("issueDate", DATE_TIME),
            opt("title", STRING),
            opt("clientInvoiceId", STRING),
            wrapper("invoiceRows", &[list("invoiceRow", "tns:paymentInvoiceRow")]),
            opt("totalAmount", "tns:amount"),
            opt("cashierId", STRING),
            opt("footer", STRING),
            opt("backURL", STRING),
            opt("notificationUrl", STRING),
            // v2.6, appended last so that v2 documents stay valid in the same order.
            opt("commitReservationTimeout", LONG),
        ],
    ),
    sequence(
        "paymentInvoiceRow",
        &[
            opt("itemDescription", STRING),
            opt("itemDiscount", "tns:amount"),
            opt("itemEAN", STRING),
            opt("itemQuantity", DECIMAL),
            opt("itemSKU", STRING),
            opt("itemTaxRate", DECIMAL),
            opt("itemTotalAmount", "tns:amount"),
            opt("itemUnit", STRING),
            opt("itemUnitPrice", "tns:amount"),
        ],
    ),
    sequence("amount", &[opt("currency", STRING), opt("value", DECIMAL)]),
    sequence(
        "customerToken",
        &[opt("description", STRING), opt("id", STRING), req("status", INT), opt("value", STRING)],
    ),
    sequence(
        "receipt",
        &[
            opt("terminalId", STRING),
            opt("paymentDate", DATE_TIME),
            opt("clientInvoiceId", STRING),
            opt("invoiceReference", STRING),
            opt("paymentReference", STRING),
            opt("payerTerminalId", STRING),
            opt("receiverName", STRING),
            opt("invoice", "tns:invoice"),
        ],
    ),
    sequence("receiptDocument", &[opt("mimeType", STRING), opt("receiptData", BASE64), opt("receiptType", STRING)]),
    sequence("parameterMap", &[opt("parameter", "tns:mapArray")]),
    sequence("mapArray", &[list("entry", "tns:parameter")]),
    sequence("parameter", &[opt("key", STRING), opt("value", STRING)]),
    sequence(
        "report",
        &[opt("title", STRING), opt("mimeType", STRING), opt("content", BASE64), opt("contentString", STRING)],
    ),
    sequence(
        "principal",
        &[
            opt("principalId", "tns:principalId"),
            opt("principalName", STRING),
            wrapper("accounts", &[list("account", "tns:principalAccount")]),
            opt("status", STRING),
            opt("msisdn", STRING),
        ],
    ),
    sequence(
        "principalAccount",
        &[
            opt("accountDescription", STRING),
            opt("accountSpecifier", "tns:principalAccountSpecifier"),
            opt("balance", "tns:amount"),
            opt("creditLimit", "tns:amount"),
        ],
    ),
    sequence("principalAccountSpecifier", &[opt("accountId", STRING), opt("accountTypeId", STRING)]),
    sequence(
        "purchaseOrderRow",
        &[opt("productSpecifier", "tns:principalPurchaseProductSpecifier"), req("purchaseCount", INT)],
    ),
    sequence("principalPurchaseProductSpecifier", &[opt("productId", STRING), opt("productIdType", STRING)]),
];

/// The string enumerations, straight from the codec's enums.
fn simple_types() -> [(&'static str, Vec<&'static str>); 3] {
    [
        ("paymentMode", PaymentMode::ALL.iter().map(|v| v.as_str()).collect()),
        ("acknowledgmentMode", AcknowledgmentMode::ALL.iter().map(|v| v.as_str()).collect()),
        ("invoiceStatus", InvoiceStatus::ALL.iter().map(|v| v.as_str()).collect()),
    ]
}

/// An indented document under construction.
struct Doc(String);

impl Doc {
    fn new() -> Self {
        let mut doc = Self(String::with_capacity(48 * 1024));
        doc.0.push_str(XML_DECLARATION);
        doc.0.push('\n');
        doc
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.0.push_str("  ");
        }
        self.0.push_str(text);
        self.0.push('\n');
    }
}

/// The service document (`GET <endpoint>?wsdl`): binding and service, with
/// `soap:address location="{endpoint}"` and the wsdl:import location "{endpoint}?wsdl=ERSWSExternalClientService.wsdl".
pub fn service_document(endpoint: &str) -> String {
    let mut doc = Doc::new();
    doc.line(
        0,
        &format!(
            r#"<wsdl:definitions name="{SERVICE_NAME}" targetNamespace="{SERVICE_DOCUMENT_NS}" xmlns:ns1="{SERVICE_NS}" xmlns:ns2="{SOAP_HTTP_TRANSPORT}" xmlns:soap="{WSDL_SOAP_NS}" xmlns:tns="{SERVICE_DOCUMENT_NS}" xmlns:wsdl="{WSDL_NS}" xmlns:xsd="{XSD_NS}">"#
        ),
    );
    doc.line(
        1,
        &format!(
            r#"<wsdl:import location="{}" namespace="{SERVICE_NS}"/>"#,
            escape(format!("{endpoint}?wsdl={IMPORTED_DOCUMENT}"))
        ),
    );
    doc.line(1, &format!(r#"<wsdl:binding name="{BINDING_NAME}" type="ns1:{PORT_TYPE_NAME}">"#));
    doc.line(2, &format!(r#"<soap:binding style="document" transport="{SOAP_HTTP_TRANSPORT}"/>"#));
    for op in Operation::ALL {
        let name = op.name();
        doc.line(2, &format!(r#"<wsdl:operation name="{name}">"#));
        // An empty soapAction: the original dispatches on the body element, and clients
        // generated from it send `SOAPAction: ""`.
        doc.line(3, r#"<soap:operation soapAction="" style="document"/>"#);
        doc.line(3, &format!(r#"<wsdl:input name="{name}">"#));
        doc.line(4, r#"<soap:body use="literal"/>"#);
        doc.line(3, "</wsdl:input>");
        doc.line(3, &format!(r#"<wsdl:output name="{name}Response">"#));
        doc.line(4, r#"<soap:body use="literal"/>"#);
        doc.line(3, "</wsdl:output>");
        doc.line(2, "</wsdl:operation>");
    }
    doc.line(1, "</wsdl:binding>");
    doc.line(1, &format!(r#"<wsdl:service name="{SERVICE_NAME}">"#));
    doc.line(2, &format!(r#"<wsdl:port binding="tns:{BINDING_NAME}" name="{PORT_NAME}">"#));
    doc.line(3, &format!(r#"<soap:address location="{}"/>"#, escape(endpoint)));
    doc.line(2, "</wsdl:port>");
    doc.line(1, "</wsdl:service>");
    doc.line(0, "</wsdl:definitions>");
    doc.0
}

/// The imported document (`GET <endpoint>?wsdl=ERSWSExternalClientService.wsdl`): types, messages, port type.
pub fn interface_document() -> String {
    let mut doc = Doc::new();
    doc.line(
        0,
        &format!(
            r#"<wsdl:definitions name="{PORT_TYPE_NAME}" targetNamespace="{SERVICE_NS}" xmlns:ns1="{SERVICE_NS}" xmlns:wsdl="{WSDL_NS}" xmlns:xsd="{XSD_NS}">"#
        ),
    );
    doc.line(1, "<wsdl:types>");
    // Unqualified: the children of an operation element are sent without a namespace,
    // which is what every real client and the codec do.
    doc.line(
        2,
        &format!(
            r#"<xs:schema elementFormDefault="unqualified" targetNamespace="{SERVICE_NS}" version="1.0" xmlns:tns="{SERVICE_NS}" xmlns:xs="{XSD_NS}">"#
        ),
    );
    for op in Operation::ALL {
        let name = op.name();
        doc.line(3, &format!(r#"<xs:element name="{name}" type="tns:{name}"/>"#));
        doc.line(3, &format!(r#"<xs:element name="{name}Response" type="tns:{name}Response"/>"#));
    }
    for ty in COMPLEX_TYPES {
        write_complex_type(&mut doc, 3, ty);
    }
    for (name, values) in simple_types() {
        doc.line(3, &format!(r#"<xs:simpleType name="{name}">"#));
        doc.line(4, r#"<xs:restriction base="xs:string">"#);
        for value in values {
            doc.line(5, &format!(r#"<xs:enumeration value="{value}"/>"#));
        }
        doc.line(4, "</xs:restriction>");
        doc.line(3, "</xs:simpleType>");
    }
    doc.line(2, "</xs:schema>");
    doc.line(1, "</wsdl:types>");
    for op in Operation::ALL {
        for message in [op.name().to_owned(), format!("{}Response", op.name())] {
            doc.line(1, &format!(r#"<wsdl:message name="{message}">"#));
            doc.line(2, &format!(r#"<wsdl:part element="ns1:{message}" name="parameters"/>"#));
            doc.line(1, "</wsdl:message>");
        }
    }
    doc.line(1, &format!(r#"<wsdl:portType name="{PORT_TYPE_NAME}">"#));
    for op in Operation::ALL {
        let name = op.name();
        doc.line(2, &format!(r#"<wsdl:operation name="{name}">"#));
        doc.line(3, &format!(r#"<wsdl:input message="ns1:{name}" name="{name}"/>"#));
        doc.line(3, &format!(r#"<wsdl:output message="ns1:{name}Response" name="{name}Response"/>"#));
        doc.line(2, "</wsdl:operation>");
    }
    doc.line(1, "</wsdl:portType>");
    doc.line(0, "</wsdl:definitions>");
    doc.0
}

fn write_complex_type(doc: &mut Doc, depth: usize, ty: &ComplexType) {
    doc.line(depth, &format!(r#"<xs:complexType name="{}">"#, ty.name));
    match ty.base {
        Some(base) => {
            doc.line(depth + 1, "<xs:complexContent>");
            doc.line(depth + 2, &format!(r#"<xs:extension base="{base}">"#));
            write_sequence(doc, depth + 3, ty.sequence);
            doc.line(depth + 2, "</xs:extension>");
            doc.line(depth + 1, "</xs:complexContent>");
        }
        None => write_sequence(doc, depth + 1, ty.sequence),
    }
    doc.line(depth, "</xs:complexType>");
}

fn write_sequence(doc: &mut Doc, depth: usize, elements: &[Element]) {
    if elements.is_empty() {
        doc.line(depth, "<xs:sequence/>");
        return;
    }
    doc.line(depth, "<xs:sequence>");
    for element in elements {
        write_element(doc, depth + 1, element);
    }
    doc.line(depth, "</xs:sequence>");
}

fn write_element(doc: &mut Doc, depth: usize, element: &Element) {
    let mut tag = String::from("<xs:element");
    if element.unbounded {
        tag.push_str(r#" maxOccurs="unbounded""#);
    }
    if element.optional {
        tag.push_str(r#" minOccurs="0""#);
    }
    tag.push_str(&format!(r#" name="{}""#, element.name));
    if element.nillable {
        tag.push_str(r#" nillable="true""#);
    }
    match element.ty {
        Type::Named(ty) => {
            tag.push_str(&format!(r#" type="{ty}"/>"#));
            doc.line(depth, &tag);
        }
        Type::Inline(items) => {
            tag.push('>');
            doc.line(depth, &tag);
            doc.line(depth + 1, "<xs:complexType>");
            write_sequence(doc, depth + 2, items);
            doc.line(depth + 1, "</xs:complexType>");
            doc.line(depth, "</xs:element>");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn complex_type(name: &str) -> Option<&'static ComplexType> {
        COMPLEX_TYPES.iter().find(|t| t.name == name)
    }

    #[test]
    fn both_documents_are_well_formed_xml() {
        for document in [service_document("http://127.0.0.1:8080/extclientproxy/service/v2"), interface_document()] {
            assert!(document.starts_with(XML_DECLARATION), "{document}");
            let root = crate::xml::parse(document.as_bytes()).expect("well-formed");
            assert_eq!(root.name, "definitions");
            assert_eq!(root.namespace.as_deref(), Some(WSDL_NS));
        }
    }

    #[test]
    fn endpoint_is_escaped_in_attributes() {
        let document = service_document(r#"http://h/x?a=1&b="<2>""#);
        crate::xml::parse(document.as_bytes()).expect("well-formed");
        assert!(document.contains(r#"location="http://h/x?a=1&amp;b=&quot;&lt;2&gt;&quot;""#), "{document}");
    }

    #[test]
    fn every_operation_has_request_and_response_types() {
        for op in Operation::ALL {
            assert!(complex_type(op.name()).is_some(), "no complex type for {op}");
            assert!(complex_type(&format!("{op}Response")).is_some(), "no response type for {op}");
        }
    }

    #[test]
    fn table_is_closed_and_unambiguous() {
        let mut names = HashSet::new();
        for ty in COMPLEX_TYPES {
            assert!(names.insert(ty.name), "{} defined twice", ty.name);
        }
        let simple: Vec<&str> = simple_types().iter().map(|(name, _)| *name).collect();
        let resolves = |reference: &str| match reference.strip_prefix("tns:") {
            Some(name) => complex_type(name).is_some() || simple.contains(&name),
            None => reference.starts_with("xs:"),
        };
        fn check(elements: &[Element], owner: &str, resolves: &dyn Fn(&str) -> bool) {
            let mut seen = HashSet::new();
            for element in elements {
                assert!(seen.insert(element.name), "{owner}: {} twice", element.name);
                match element.ty {
                    Type::Named(ty) => assert!(resolves(ty), "{owner}/{}: unknown type {ty}", element.name),
                    Type::Inline(items) => check(items, element.name, resolves),
                }
            }
        }
        for ty in COMPLEX_TYPES {
            if let Some(base) = ty.base {
                assert!(resolves(base), "{}: unknown base {base}", ty.name);
            }
            check(ty.sequence, ty.name, &resolves);
        }
    }

    #[test]
    fn enumerations_come_from_the_codec() {
        let document = interface_document();
        for value in PaymentMode::ALL.iter().map(|v| v.as_str()).chain(InvoiceStatus::ALL.iter().map(|v| v.as_str())) {
            assert!(document.contains(&format!(r#"<xs:enumeration value="{value}"/>"#)), "{value}");
        }
    }
}
