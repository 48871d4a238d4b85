//! Checks the generated WSDL against the public v2 reference WSDL, which is read at test
//! time from `../shared/reference/seqr-v2-wsdl/` beside the checkout (never copied into the
//! project). Everything is compared with namespaces resolved, so prefixes may differ; the only
//! differences allowed are the documented v2.6 additions, asserted explicitly below.
//!
//! Without `../shared` beside the checkout each comparison skips with one line
//! (`glase_devkit::shared`); `GLASE_REQUIRE_SHARED=1` makes that a failure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use glase_protocol::Operation;
use glase_protocol::wsdl::{IMPORTED_DOCUMENT, interface_document, service_document};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

const XS: &str = "http://www.w3.org/2001/XMLSchema";
const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
const WSDL_SOAP: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
const EXT: &str = "http://external.interfaces.ers.seamless.com/";
const CASHREGISTER: &str = "http://externalclientservice.cashregister.seamless.com/";
const ENDPOINT: &str = "http://127.0.0.1:8080/extclientproxy/service/v2";

/// A file of the reference WSDL, or `None` (after the skip line) without `../shared`.
fn reference(name: &str, test: &str) -> Option<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = glase_devkit::shared::dir(&workspace, "reference/seqr-v2-wsdl", test)?.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!("cannot read the reference WSDL {} ({error})", path.display());
    });
    Some(text)
}

/// An element with its name resolved to `{namespace}local`, its attributes, and the
/// namespace bindings in scope (to resolve QName-valued attributes like `type`).
#[derive(Debug)]
struct Node {
    name: String,
    attrs: BTreeMap<String, String>,
    scope: HashMap<String, String>,
    children: Vec<Node>,
}

fn qualified(ns: &str, local: &str) -> String {
    format!("{{{ns}}}{local}")
}

fn resolve(scope: &HashMap<String, String>, qname: &str) -> String {
    let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
    let ns = scope.get(prefix).unwrap_or_else(|| panic!("unbound prefix in {qname:?}"));
    qualified(ns, local)
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> &str {
        self.attr(name).unwrap_or_else(|| panic!("{} has no {name}: {:?}", self.name, self.attrs))
    }

    /// A QName-valued attribute, resolved.
    fn qname(&self, name: &str) -> Option<String> {
        self.attr(name).map(|value| resolve(&self.scope, value))
    }

    fn is(&self, ns: &str, local: &str) -> bool {
        self.name == qualified(ns, local)
    }

    fn all<'a>(&'a self, ns: &str, local: &str) -> impl Iterator<Item = &'a Node> + use<'a> {
        let name = qualified(ns, local);
        self.children.iter().filter(move |c| c.name == name)
    }

    fn one(&self, ns: &str, local: &str) -> &Node {
        let mut found = self.all(ns, local);
        let node = found.next().unwrap_or_else(|| panic!("{} has no {local}", self.name));
        assert!(found.next().is_none(), "{} has several {local}", self.name);
        node
    }
}

fn parse(text: &str) -> Node {
    fn open(start: &BytesStart<'_>, parent: Option<&Node>) -> Node {
        let mut scope = parent.map(|p| p.scope.clone()).unwrap_or_default();
        let mut attrs = BTreeMap::new();
        for attr in start.attributes() {
            let attr = attr.expect("attribute");
            let key = attr.key.as_ref().to_owned();
            let value = attr.normalized_value(XmlVersion::Implicit1_0).expect("attribute value").into_owned();
            if key == "xmlns" {
                scope.insert(String::new(), value);
            } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                scope.insert(prefix.to_owned(), value);
            } else {
                attrs.insert(key, value);
            }
        }
        let raw = start.name().as_ref().to_owned();
        Node { name: resolve(&scope, &raw), attrs, scope, children: Vec::new() }
    }

    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(start) => {
                let node = open(&start, stack.last());
                stack.push(node);
            }
            Event::Empty(start) => {
                let node = open(&start, stack.last());
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return node,
                }
            }
            Event::End(_) => {
                let node = stack.pop().expect("balanced");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return node,
                }
            }
            Event::Eof => panic!("no root element"),
            _ => {}
        }
    }
}

// ---- The schema as comparable values --------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    Named(String),
    Inline(Vec<Elem>),
}

/// An `xs:element` with the schema defaults filled in, so `minOccurs="1"` equals no minOccurs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Elem {
    name: String,
    ty: Ty,
    min_occurs: String,
    max_occurs: String,
    nillable: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Complex {
    base: Option<String>,
    elements: Vec<Elem>,
}

fn elements_of(sequence: &Node) -> Vec<Elem> {
    assert!(sequence.is(XS, "sequence"), "expected xs:sequence, found {}", sequence.name);
    sequence
        .children
        .iter()
        .map(|element| {
            assert!(element.is(XS, "element"), "unexpected {} in a sequence", element.name);
            let ty = match element.qname("type") {
                Some(ty) => {
                    assert!(element.children.is_empty(), "{} has a type and content", element.required("name"));
                    Ty::Named(ty)
                }
                None => Ty::Inline(elements_of(element.one(XS, "complexType").one(XS, "sequence"))),
            };
            let known = ["name", "type", "minOccurs", "maxOccurs", "nillable"];
            for key in element.attrs.keys() {
                assert!(known.contains(&key.as_str()), "unexpected attribute {key} on {}", element.required("name"));
            }
            Elem {
                name: element.required("name").to_owned(),
                ty,
                min_occurs: element.attr("minOccurs").unwrap_or("1").to_owned(),
                max_occurs: element.attr("maxOccurs").unwrap_or("1").to_owned(),
                nillable: element.attr("nillable").unwrap_or("false").to_owned(),
            }
        })
        .collect()
}

fn complex_of(ty: &Node) -> Complex {
    assert_eq!(ty.children.len(), 1, "complexType {} must have one child", ty.required("name"));
    let child = &ty.children[0];
    if child.is(XS, "complexContent") {
        let extension = child.one(XS, "extension");
        Complex {
            base: Some(extension.qname("base").expect("extension base")),
            elements: elements_of(extension.one(XS, "sequence")),
        }
    } else {
        Complex { base: None, elements: elements_of(child) }
    }
}

struct Interface {
    root: Node,
}

impl Interface {
    fn schema(&self) -> &Node {
        self.root.one(WSDL, "types").one(XS, "schema")
    }

    fn complex_types(&self) -> BTreeMap<String, Complex> {
        let mut types = BTreeMap::new();
        for ty in self.schema().all(XS, "complexType") {
            let name = ty.required("name").to_owned();
            assert!(types.insert(name.clone(), complex_of(ty)).is_none(), "complexType {name} twice");
        }
        types
    }

    fn global_elements(&self) -> BTreeMap<String, String> {
        let mut elements = BTreeMap::new();
        for element in self.schema().all(XS, "element") {
            let name = element.required("name").to_owned();
            let ty = element.qname("type").expect("global element type");
            assert!(elements.insert(name.clone(), ty).is_none(), "element {name} twice");
        }
        elements
    }

    fn simple_types(&self) -> BTreeMap<String, (String, Vec<String>)> {
        self.schema()
            .all(XS, "simpleType")
            .map(|ty| {
                let restriction = ty.one(XS, "restriction");
                let values =
                    restriction.all(XS, "enumeration").map(|e| e.required("value").to_owned()).collect::<Vec<_>>();
                assert_eq!(restriction.children.len(), values.len(), "only enumerations are expected");
                (ty.required("name").to_owned(), (restriction.qname("base").expect("base"), values))
            })
            .collect()
    }

    fn messages(&self) -> BTreeMap<String, Vec<(String, String)>> {
        self.root
            .all(WSDL, "message")
            .map(|message| {
                assert_eq!(message.children.len(), message.all(WSDL, "part").count());
                let parts = message
                    .all(WSDL, "part")
                    .map(|part| (part.required("name").to_owned(), part.qname("element").expect("part element")))
                    .collect();
                (message.required("name").to_owned(), parts)
            })
            .collect()
    }

    /// Operation name → (input name, input message, output name, output message).
    fn port_type(&self) -> (String, BTreeMap<String, [String; 4]>) {
        let port_type = self.root.one(WSDL, "portType");
        let operations = port_type
            .all(WSDL, "operation")
            .map(|op| {
                assert_eq!(op.children.len(), 2, "{}: only input and output", op.required("name"));
                let input = op.one(WSDL, "input");
                let output = op.one(WSDL, "output");
                let fields = [
                    input.required("name").to_owned(),
                    input.qname("message").expect("input message"),
                    output.required("name").to_owned(),
                    output.qname("message").expect("output message"),
                ];
                (op.required("name").to_owned(), fields)
            })
            .collect();
        (port_type.required("name").to_owned(), operations)
    }
}

// ---- Fixtures ---------------------------------------------------------------------------

fn reference_interface(test: &str) -> Option<Interface> {
    Some(Interface { root: parse(&reference("ERSWSExternalClientService.wsdl", test)?) })
}

fn generated_interface() -> Interface {
    Interface { root: parse(&interface_document()) }
}

fn reference_service(test: &str) -> Option<Node> {
    Some(parse(&reference("service.wsdl", test)?))
}

fn generated_service() -> Node {
    parse(&service_document(ENDPOINT))
}

fn elem(name: &str, ty: String, min_occurs: &str) -> Elem {
    Elem {
        name: name.to_owned(),
        ty: Ty::Named(ty),
        min_occurs: min_occurs.into(),
        max_occurs: "1".into(),
        nillable: "false".into(),
    }
}

// ---- Tests ------------------------------------------------------------------------------

#[test]
fn documents_start_with_the_xml_declaration() {
    assert!(interface_document().starts_with("<?xml version='1.0' encoding='UTF-8'?>"));
    assert!(service_document(ENDPOINT).starts_with("<?xml version='1.0' encoding='UTF-8'?>"));
}

#[test]
fn interface_document_header_matches_reference() {
    let Some(reference) = reference_interface("interface_document_header_matches_reference") else { return };
    let generated = generated_interface();
    for doc in [&reference, &generated] {
        assert!(doc.root.is(WSDL, "definitions"));
        assert_eq!(doc.root.attr("name"), Some("ERSWSExternalClientService"));
        assert_eq!(doc.root.attr("targetNamespace"), Some(EXT));
        let schema = doc.schema();
        assert_eq!(schema.attr("targetNamespace"), Some(EXT));
        assert_eq!(schema.attr("elementFormDefault"), Some("unqualified"));
        assert_eq!(schema.attr("attributeFormDefault"), None);
    }
    assert_eq!(reference.root.attrs, generated.root.attrs);
    assert_eq!(reference.schema().attrs, generated.schema().attrs);
}

#[test]
fn complex_types_match_reference_except_v26_additions() {
    let Some(reference) = reference_interface("complex_types_match_reference_except_v26_additions") else { return };
    let reference = reference.complex_types();
    let generated = generated_interface().complex_types();
    assert_eq!(
        reference.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "the same complex types must be defined"
    );

    let mut expected = reference.clone();
    // v2.6: commitReservation takes an optional amount after invoiceReference.
    let commit = &mut expected.get_mut("commitReservation").expect("commitReservation").elements;
    let names: Vec<&str> = commit.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["context", "invoiceReference"], "reference commitReservation changed");
    commit.push(elem("amount", qualified(EXT, "amount"), "0"));
    // v2.6: invoice takes an optional commitReservationTimeout as its last element.
    let invoice = &mut expected.get_mut("invoice").expect("invoice").elements;
    assert_eq!(invoice.last().map(|e| e.name.as_str()), Some("notificationUrl"));
    assert!(invoice.iter().all(|e| e.name != "commitReservationTimeout"));
    invoice.push(elem("commitReservationTimeout", qualified(XS, "long"), "0"));

    for (name, expected) in &expected {
        assert_eq!(&generated[name], expected, "complexType {name}");
    }
    let changed: Vec<&String> = reference.keys().filter(|name| reference[*name] != generated[*name]).collect();
    assert_eq!(changed, ["commitReservation", "invoice"]);
}

#[test]
fn global_elements_match_reference() {
    let Some(reference) = reference_interface("global_elements_match_reference") else { return };
    let reference = reference.global_elements();
    assert_eq!(reference, generated_interface().global_elements());
    assert_eq!(reference.len(), 2 * Operation::ALL.len());
}

#[test]
fn enumerations_extend_reference_by_exactly_the_v26_values() {
    let Some(reference) = reference_interface("enumerations_extend_reference_by_exactly_the_v26_values") else {
        return;
    };
    let reference = reference.simple_types();
    let generated = generated_interface().simple_types();
    assert_eq!(reference.keys().collect::<Vec<_>>(), generated.keys().collect::<Vec<_>>());
    let v26: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("acknowledgmentMode", &[][..]),
        ("invoiceStatus", &["PARTIALLY_PAID"][..]),
        ("paymentMode", &["RESERVATION_REQUIRED_PRELIMINARY_AMOUNT"][..]),
    ]);
    assert_eq!(reference.keys().map(String::as_str).collect::<Vec<_>>(), v26.keys().copied().collect::<Vec<_>>());
    for (name, (base, values)) in &reference {
        let (generated_base, generated_values) = &generated[name];
        assert_eq!(base, generated_base, "{name} base");
        assert_eq!(base, &qualified(XS, "string"));
        for value in values {
            assert!(generated_values.contains(value), "{name} lost {value}");
        }
        let extras: Vec<&str> = generated_values.iter().filter(|v| !values.contains(v)).map(String::as_str).collect();
        assert_eq!(extras, v26[name.as_str()], "{name}: values beyond v2");
        let unique: BTreeSet<&String> = generated_values.iter().collect();
        assert_eq!(unique.len(), generated_values.len(), "{name} repeats a value");
    }
}

#[test]
fn messages_match_reference() {
    let Some(reference) = reference_interface("messages_match_reference") else { return };
    let reference = reference.messages();
    assert_eq!(reference, generated_interface().messages());
    assert_eq!(reference.len(), 2 * Operation::ALL.len());
    for (name, parts) in &reference {
        assert_eq!(parts, &[("parameters".to_owned(), qualified(EXT, name))]);
    }
}

#[test]
fn port_type_matches_reference_and_codec_operations() {
    let Some(reference) = reference_interface("port_type_matches_reference_and_codec_operations") else { return };
    let (reference_name, reference) = reference.port_type();
    let (generated_name, generated) = generated_interface().port_type();
    assert_eq!(reference_name, "ERSWSExternalClientService");
    assert_eq!(generated_name, reference_name);
    assert_eq!(reference, generated);
    let codec: BTreeSet<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
    assert_eq!(reference.keys().map(String::as_str).collect::<BTreeSet<_>>(), codec, "Operation::ALL vs reference");
    assert_eq!(codec.len(), 19);
}

type Attrs = BTreeMap<String, String>;
/// Per binding operation: each child (`soap:operation`, `input`, `output`) with its attributes,
/// and the attributes of its `soap:body` prefixed with `body.`.
type BindingOperations = BTreeMap<String, Vec<(String, Attrs)>>;

/// Binding name, type and soap:binding attributes, and the binding's operations.
fn binding(service: &Node) -> (Attrs, BindingOperations) {
    let binding = service.one(WSDL, "binding");
    let soap_binding = binding.one(WSDL_SOAP, "binding");
    let mut header = BTreeMap::from([
        ("name".to_owned(), binding.required("name").to_owned()),
        ("type".to_owned(), binding.qname("type").expect("binding type")),
    ]);
    for (key, value) in &soap_binding.attrs {
        header.insert(format!("soap:{key}"), value.clone());
    }
    let operations = binding
        .all(WSDL, "operation")
        .map(|op| {
            let mut parts = Vec::new();
            for child in &op.children {
                let mut attrs = child.attrs.clone();
                for grandchild in &child.children {
                    assert!(grandchild.is(WSDL_SOAP, "body"), "unexpected {}", grandchild.name);
                    for (key, value) in &grandchild.attrs {
                        attrs.insert(format!("body.{key}"), value.clone());
                    }
                }
                parts.push((child.name.clone(), attrs));
            }
            (op.required("name").to_owned(), parts)
        })
        .collect();
    (header, operations)
}

#[test]
fn binding_matches_reference() {
    let Some(reference) = reference_service("binding_matches_reference") else { return };
    let (reference_header, reference) = binding(&reference);
    let (generated_header, generated) = binding(&generated_service());
    assert_eq!(reference_header, generated_header);
    assert_eq!(generated_header["name"], "ERSWSExternalClientServiceImplServiceSoapBinding");
    assert_eq!(generated_header["type"], qualified(EXT, "ERSWSExternalClientService"));
    assert_eq!(generated_header["soap:style"], "document");
    assert_eq!(reference, generated);
    assert_eq!(generated.len(), Operation::ALL.len());
    for (name, parts) in &generated {
        let find = |local: &str| {
            parts.iter().find(|(n, _)| *n == qualified(if local == "operation" { WSDL_SOAP } else { WSDL }, local))
        };
        let (_, operation) = find("operation").unwrap_or_else(|| panic!("{name}: no soap:operation"));
        assert_eq!(operation.get("soapAction").map(String::as_str), Some(""), "{name}");
        assert_eq!(operation.get("style").map(String::as_str), Some("document"), "{name}");
        for (direction, expected_name) in [("input", name.clone()), ("output", format!("{name}Response"))] {
            let (_, attrs) = find(direction).unwrap_or_else(|| panic!("{name}: no {direction}"));
            assert_eq!(attrs.get("name"), Some(&expected_name), "{name} {direction}");
            assert_eq!(attrs.get("body.use").map(String::as_str), Some("literal"), "{name} {direction}");
        }
    }
}

#[test]
fn service_document_matches_reference_apart_from_the_endpoint() {
    let Some(reference) = reference_service("service_document_matches_reference_apart_from_the_endpoint") else {
        return;
    };
    let generated = generated_service();
    assert_eq!(reference.attrs, generated.attrs);
    assert_eq!(generated.attr("name"), Some("ERSWSExternalClientServiceImplService"));
    assert_eq!(generated.attr("targetNamespace"), Some(CASHREGISTER));

    let imports = |doc: &Node| {
        let import = doc.one(WSDL, "import");
        (import.required("namespace").to_owned(), import.required("location").to_owned())
    };
    let (reference_ns, reference_location) = imports(&reference);
    let (generated_ns, generated_location) = imports(&generated);
    assert_eq!(reference_ns, EXT);
    assert_eq!(generated_ns, reference_ns);
    assert!(reference_location.ends_with(&format!("?wsdl={IMPORTED_DOCUMENT}")));
    assert_eq!(generated_location, format!("{ENDPOINT}?wsdl={IMPORTED_DOCUMENT}"));

    let service = |doc: &Node| {
        let service = doc.one(WSDL, "service");
        let port = service.one(WSDL, "port");
        let address = port.one(WSDL_SOAP, "address").required("location").to_owned();
        (service.required("name").to_owned(), port.required("name").to_owned(), port.qname("binding"), address)
    };
    let (name, port, binding, _) = service(&reference);
    let (generated_name, generated_port, generated_binding, address) = service(&generated);
    assert_eq!((&generated_name, &generated_port, &generated_binding), (&name, &port, &binding));
    assert_eq!(generated_port, "ERSWSExternalClientServiceImplPort");
    assert_eq!(generated_binding, Some(qualified(CASHREGISTER, "ERSWSExternalClientServiceImplServiceSoapBinding")));
    assert_eq!(address, ENDPOINT);
}

#[test]
fn service_document_uses_the_given_endpoint_verbatim() {
    for endpoint in ["https://mock.example:9443/other/path", r#"http://h/x?a=1&b="<2>'"#] {
        let service = parse(&service_document(endpoint));
        let address = service.one(WSDL, "service").one(WSDL, "port").one(WSDL_SOAP, "address");
        assert_eq!(address.attr("location"), Some(endpoint));
        let import = service.one(WSDL, "import");
        assert_eq!(import.attr("location"), Some(format!("{endpoint}?wsdl={IMPORTED_DOCUMENT}").as_str()));
    }
}
