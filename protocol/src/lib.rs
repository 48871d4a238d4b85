//! The Glase wire format: typed SOAP requests and responses, a pure codec, and the WSDL
//! the mock serves. Used by `mock-glase`, `reference-reseller` and `glase-conformance`, so
//! every party speaks through the same tested code.
//!
//! # Layout
//! - [`model`]: the WSDL's complex types (`invoice`, `clientContext`, `amount`, …).
//! - [`request`], [`response`], [`operation`], [`result_code`]: the messages.
//! - [`soap`]: envelope encode/decode in all four directions, and SOAP 1.1 faults.
//! - [`charset`]: the encodings a request may arrive in; [`deviation`]: what a decoded
//!   request did that the schema does not allow but the decoder tolerated.
//! - [`driver`]: the machine driver's states, vend request and machine view (spec 8).
//! - [`purchase`]: the JSON body of createPurchase (the UPS's call to a reseller).
//! - [`wsdl`]: the served WSDL documents, generated from a schema table.
//! - `xml` (private): a bounded element tree and the field mapping.
//!
//! No IO happens here: everything works on byte slices and `Vec<u8>`.
//!
//! ```
//! use glase_protocol::{decode_request, Request};
//! let body = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
//!   <e:getPaymentStatus xmlns:e="http://external.interfaces.ers.seamless.com/">
//!     <invoiceReference>1397240460668</invoiceReference><invoiceVersion>0</invoiceVersion>
//!   </e:getPaymentStatus></s:Body></s:Envelope>"#;
//! let Request::GetPaymentStatus(status) = decode_request(body).unwrap() else { panic!() };
//! assert_eq!(status.invoice_reference.as_deref(), Some("1397240460668"));
//! ```

pub mod charset;
pub mod deviation;
pub mod driver;
pub mod error;
pub mod model;
pub mod operation;
pub mod purchase;
pub mod request;
pub mod response;
pub mod result_code;
pub mod soap;
pub mod wsdl;
mod xml;

pub use charset::{charset_of, decode_text};
pub use deviation::{Deviation, DeviationRule};
pub use error::CodecError;
pub use model::{
    AcknowledgmentMode, Amount, ClientContext, CustomerToken, Invoice, InvoiceRow, InvoiceStatus, Parameter,
    Parameters, PaymentMode, PrincipalId, PrincipalType, Receipt, ReceiptDocument, Report,
};
pub use operation::Operation;
pub use request::Request;
pub use response::{Response, ResponseDetail};
pub use result_code::ResultCode;
pub use rust_decimal::Decimal;
pub use soap::{
    DecodeOptions, Decoded, FaultCode, Reply, SoapFault, decode_reply, decode_request, decode_request_with,
    encode_fault, encode_request, encode_response,
};
pub use xml::writer::{escape_text, escaped};

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::xml::agrees_with_quick_xml;
}
