//! Mapping between [`Node`]s and typed values, one `impl` per wire type.
//!
//! [`Field`] reads a value from the element that carries it and writes it back as an
//! element of a given name. Structs are mapped with [`xml_struct!`], which lists each
//! field's wire name and occurrence (`opt` 0..1, `many` 0..n, `req` exactly one) in
//! WSDL order, so the same list drives decoding and encoding.

use std::cell::RefCell;
use std::fmt;

use base64::Engine as _;
use rust_decimal::Decimal;

use super::tree::Node;
use super::writer::XmlWriter;
use crate::deviation::{Deviation, DeviationRule};
use crate::error::CodecError;
use crate::model::*;

/// A value that is carried by one XML element.
pub trait Field: Sized {
    /// Reads the value from `node`; `path` names the node in error messages.
    fn read(node: Node<'_, '_>, path: &Path<'_>) -> Result<Self, CodecError>;
    /// Writes the value as `<name>…</name>`.
    fn write(&self, w: &mut XmlWriter<'_>, name: &str);
    /// Whether an empty element (`<x></x>`) reads as "absent": true for numbers and
    /// enumerations, which lax clients write empty for "no value".
    const EMPTY_IS_ABSENT: bool = false;
}

/// Where a node is (`sendInvoice/invoice/totalAmount`), for error messages: a chain of
/// names on the stack, formatted only when an error names it (formatting every path
/// eagerly was a sixth of a decode).
///
/// A path may carry a list to collect [`DeviationRule::DecimalOutOfRange`] deviations in:
/// then such a value reads as absent and is reported there instead of failing the decode.
#[derive(Debug, Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
    deviations: Option<&'a RefCell<Vec<Deviation>>>,
}

impl<'a> Path<'a> {
    pub const fn root(name: &'a str) -> Self {
        Self { parent: None, name, deviations: None }
    }

    /// A root whose out-of-range decimals are collected in `deviations`.
    pub const fn collecting(name: &'a str, deviations: &'a RefCell<Vec<Deviation>>) -> Self {
        Self { parent: None, name, deviations: Some(deviations) }
    }

    /// The path of the child `name`.
    pub const fn join(&'a self, name: &'a str) -> Path<'a> {
        Path { parent: Some(self), name, deviations: self.deviations }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            write!(f, "{parent}/")?;
        }
        f.write_str(self.name)
    }
}

/// Reads an optional child. Empty text in a non-string simple type counts as absent,
/// as lax clients write `<value></value>` for "no value".
pub fn opt<T: Field>(node: Node<'_, '_>, name: &str, path: &Path<'_>) -> Result<Option<T>, CodecError> {
    match node.child(name) {
        Some(child) if !child.has_children() && child.text.trim().is_empty() && T::EMPTY_IS_ABSENT => Ok(None),
        Some(child) => match (T::read(child, &path.join(name)), path.deviations) {
            (Err(CodecError::DecimalOutOfRange { path, value }), Some(deviations)) => {
                let detail = format!("{value:?} has more significant digits than the 28 an amount can have");
                deviations.borrow_mut().push(Deviation { rule: DeviationRule::DecimalOutOfRange, path, detail });
                Ok(None)
            }
            (read, _) => read.map(Some),
        },
        None => Ok(None),
    }
}

/// Reads every child of the name.
pub fn many<T: Field>(node: Node<'_, '_>, name: &str, path: &Path<'_>) -> Result<Vec<T>, CodecError> {
    let path = path.join(name);
    node.children_named(name).map(|child| T::read(child, &path)).collect()
}

/// Reads a child the WSDL requires.
pub fn req<T: Field>(node: Node<'_, '_>, name: &str, path: &Path<'_>) -> Result<T, CodecError> {
    opt(node, name, path)?.ok_or_else(|| CodecError::MissingElement { path: path.join(name).to_string() })
}

pub fn write_opt<T: Field>(w: &mut XmlWriter<'_>, name: &str, value: &Option<T>) {
    if let Some(value) = value {
        value.write(w, name);
    }
}

pub fn write_many<T: Field>(w: &mut XmlWriter<'_>, name: &str, values: &[T]) {
    for value in values {
        value.write(w, name);
    }
}

fn invalid(path: &Path<'_>, value: &str, expected: &'static str) -> CodecError {
    CodecError::InvalidValue { path: path.to_string(), value: value.to_owned(), expected }
}

impl Field for String {
    fn read(node: Node<'_, '_>, _path: &Path<'_>) -> Result<Self, CodecError> {
        Ok(node.text.clone().into_owned())
    }
    fn write(&self, w: &mut XmlWriter<'_>, name: &str) {
        w.leaf(name, self);
    }
}

impl Field for Decimal {
    const EMPTY_IS_ABSENT: bool = true;
    fn read(node: Node<'_, '_>, path: &Path<'_>) -> Result<Self, CodecError> {
        let text = node.text.trim();
        // xs:decimal: one optional sign, digits with at most one '.', at least one digit.
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let valid = unsigned.chars().all(|c| c.is_ascii_digit() || c == '.')
            && unsigned.chars().any(|c| c.is_ascii_digit())
            && unsigned.matches('.').count() <= 1;
        if !valid {
            return Err(invalid(path, text, "xs:decimal"));
        }
        // xs:decimal allows a leading '+'; rust_decimal does not.
        let digits = text.strip_prefix('+').unwrap_or(text);
        Decimal::from_str_exact(digits).or_else(|_| {
            // Leading zeros and trailing fraction zeros do not change the value; without
            // them it may fit after all (`1.000…0` with 30 zeros is 1, scale 28 at most).
            let (sign, unsigned) = digits.strip_prefix('-').map_or(("", digits), |u| ("-", u));
            let unsigned = unsigned.trim_start_matches('0');
            let unsigned = if unsigned.contains('.') { unsigned.trim_end_matches('0') } else { unsigned };
            let unsigned = unsigned.strip_suffix('.').unwrap_or(unsigned);
            let shortened = match unsigned {
                "" => "0".to_owned(),
                u if u.starts_with('.') => format!("{sign}0{u}"),
                u => format!("{sign}{u}"),
            };
            Decimal::from_str_exact(&shortened)
                .map_err(|_| CodecError::DecimalOutOfRange { path: path.to_string(), value: text.to_owned() })
        })
    }
    fn write(&self, w: &mut XmlWriter<'_>, name: &str) {
        w.leaf(name, &self.to_string());
    }
}

macro_rules! integer_field {
    ($ty:ty, $xsd:literal) => {
        impl Field for $ty {
            const EMPTY_IS_ABSENT: bool = true;
            fn read(node: Node<'_, '_>, path: &Path<'_>) -> Result<Self, CodecError> {
                let text = node.text.trim();
                // One optional sign: Rust's parser takes a '+' itself, so stripping one
                // before it would let "++5" and "+-5" through.
                let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(path, text, $xsd));
                }
                text.parse().map_err(|_| invalid(path, text, $xsd))
            }
            fn write(&self, w: &mut XmlWriter<'_>, name: &str) {
                w.leaf(name, &self.to_string());
            }
        }
    };
}
integer_field!(i32, "xs:int");
integer_field!(i64, "xs:long");

/// `xs:base64Binary`. Whitespace inside the text is allowed (line-wrapped base64).
impl Field for Vec<u8> {
    fn read(node: Node<'_, '_>, path: &Path<'_>) -> Result<Self, CodecError> {
        let compact: String = node.text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| invalid(path, &truncate(&node.text), "xs:base64Binary"))
    }
    fn write(&self, w: &mut XmlWriter<'_>, name: &str) {
        w.leaf(name, &base64::engine::general_purpose::STANDARD.encode(self));
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

macro_rules! enum_field {
    ($ty:ty, $xsd:literal) => {
        impl Field for $ty {
            const EMPTY_IS_ABSENT: bool = true;
            fn read(node: Node<'_, '_>, path: &Path<'_>) -> Result<Self, CodecError> {
                let text = node.text.trim();
                <$ty>::parse(text).ok_or_else(|| invalid(path, text, $xsd))
            }
            fn write(&self, w: &mut XmlWriter<'_>, name: &str) {
                w.leaf(name, self.as_str());
            }
        }
    };
}
enum_field!(
    PaymentMode,
    "tns:paymentMode (IMMEDIATE_DEBIT, RESERVATION_DESIRED, RESERVATION_REQUIRED, RESERVATION_REQUIRED_PRELIMINARY_AMOUNT)"
);
enum_field!(
    AcknowledgmentMode,
    "tns:acknowledgmentMode (NO_ACKNOWLEDGMENT, OPTIONAL_ACKNOWLEDGMENT, REQUIRE_ACKNOWLEDGMENT)"
);
/// `tns:invoiceStatus`, read tolerantly: the seed writes "CANCELLED" where the WSDL
/// enumeration says "CANCELED", so a client accepts both (and always writes the WSDL's).
impl Field for InvoiceStatus {
    const EMPTY_IS_ABSENT: bool = true;
    fn read(node: Node<'_, '_>, path: &Path<'_>) -> Result<Self, CodecError> {
        let text = node.text.trim();
        match text {
            "CANCELLED" => Ok(Self::Canceled),
            _ => Self::parse(text).ok_or_else(|| invalid(path, text, "tns:invoiceStatus")),
        }
    }
    fn write(&self, w: &mut XmlWriter<'_>, name: &str) {
        w.leaf(name, self.as_str());
    }
}

/// Declares a struct's wire mapping: each line is `occurrence field: "wireName"`.
macro_rules! xml_struct {
    (@write opt $w:ident $wire:literal $value:expr) => { $crate::xml::field::write_opt($w, $wire, $value) };
    (@write many $w:ident $wire:literal $value:expr) => { $crate::xml::field::write_many($w, $wire, $value) };
    (@write req $w:ident $wire:literal $value:expr) => { $crate::xml::field::Field::write($value, $w, $wire) };
    ($ty:ty { $($occ:ident $field:ident : $wire:literal),* $(,)? }) => {
        impl $crate::xml::field::Field for $ty {
            #[allow(unused_variables)]
            fn read(
                node: $crate::xml::tree::Node<'_, '_>,
                path: &$crate::xml::field::Path<'_>,
            ) -> Result<Self, $crate::error::CodecError> {
                Ok(Self { $($field: $crate::xml::field::$occ(node, $wire, path)?),* })
            }
            #[allow(unused_variables)]
            fn write(&self, w: &mut $crate::xml::writer::XmlWriter<'_>, name: &str) {
                w.open(name);
                $(xml_struct!(@write $occ w $wire &self.$field);)*
                w.close(name);
            }
        }
    };
}
pub(crate) use xml_struct;

/// A list wrapped in an element of its own: `<invoiceRows><invoiceRow/>…</invoiceRows>`.
macro_rules! wrapped_list {
    ($item:ty, $inner:literal) => {
        impl Field for Vec<$item> {
            fn read(node: Node<'_, '_>, path: &Path<'_>) -> Result<Self, CodecError> {
                many(node, $inner, path)
            }
            fn write(&self, w: &mut XmlWriter<'_>, name: &str) {
                w.open(name);
                write_many(w, $inner, self);
                w.close(name);
            }
        }
    };
}
wrapped_list!(InvoiceRow, "invoiceRow");
wrapped_list!(CustomerToken, "token");

xml_struct!(Amount { opt currency: "currency", opt value: "value" });
xml_struct!(PrincipalId { opt id: "id", opt kind: "type", opt user_id: "userId" });
xml_struct!(ClientContext {
    opt channel: "channel",
    opt client_comment: "clientComment",
    opt client_id: "clientId",
    opt client_reference: "clientReference",
    opt client_request_timeout: "clientRequestTimeout",
    opt initiator_principal_id: "initiatorPrincipalId",
    opt password: "password",
});
xml_struct!(InvoiceRow {
    opt item_description: "itemDescription",
    opt item_discount: "itemDiscount",
    opt item_ean: "itemEAN",
    opt item_quantity: "itemQuantity",
    opt item_sku: "itemSKU",
    opt item_tax_rate: "itemTaxRate",
    opt item_total_amount: "itemTotalAmount",
    opt item_unit: "itemUnit",
    opt item_unit_price: "itemUnitPrice",
});
xml_struct!(Invoice {
    opt payment_mode: "paymentMode",
    opt acknowledgment_mode: "acknowledgmentMode",
    opt issue_date: "issueDate",
    opt title: "title",
    opt client_invoice_id: "clientInvoiceId",
    opt invoice_rows: "invoiceRows",
    opt total_amount: "totalAmount",
    opt cashier_id: "cashierId",
    opt footer: "footer",
    opt back_url: "backURL",
    opt notification_url: "notificationUrl",
    opt commit_reservation_timeout: "commitReservationTimeout",
});
xml_struct!(CustomerToken { opt description: "description", opt id: "id", req status: "status", opt value: "value" });
xml_struct!(ReceiptDocument { opt mime_type: "mimeType", opt receipt_data: "receiptData", opt receipt_type: "receiptType" });
xml_struct!(Receipt {
    opt terminal_id: "terminalId",
    opt payment_date: "paymentDate",
    opt client_invoice_id: "clientInvoiceId",
    opt invoice_reference: "invoiceReference",
    opt payment_reference: "paymentReference",
    opt payer_terminal_id: "payerTerminalId",
    opt receiver_name: "receiverName",
    opt invoice: "invoice",
});
xml_struct!(Report { opt title: "title", opt mime_type: "mimeType", opt content: "content", opt content_string: "contentString" });
xml_struct!(Parameter { opt key: "key", opt value: "value" });

/// `<parameters><parameter><entry>…</entry></parameter></parameters>`.
impl Field for Parameters {
    fn read(node: Node<'_, '_>, path: &Path<'_>) -> Result<Self, CodecError> {
        match node.child("parameter") {
            Some(map) => many(map, "entry", &path.join("parameter")).map(Parameters),
            None => Ok(Parameters::default()),
        }
    }
    fn write(&self, w: &mut XmlWriter<'_>, name: &str) {
        w.open(name);
        w.open("parameter");
        write_many(w, "entry", &self.0);
        w.close("parameter");
        w.close(name);
    }
}
