//! Errors of the codec layer.

/// Why a byte string is not a message this codec understands.
///
/// "Malformed" (the bytes are not the XML/SOAP they claim to be) and "unknown operation"
/// (well-formed SOAP naming an element the API does not have) are distinct, so the
/// transport can say precisely what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    #[error("message is not valid UTF-8")]
    NotUtf8(#[source] std::str::Utf8Error),
    #[error("message is not valid {encoding} at byte {position}")]
    Undecodable { encoding: &'static str, position: usize },
    #[error("unsupported encoding {label:?} in {origin}")]
    UnsupportedEncoding { origin: &'static str, label: String },
    #[error("the message's encoding is contradictory: {first}, but {second}")]
    EncodingMismatch { first: String, second: String },
    #[error("malformed XML declaration: its encoding is not a quoted name")]
    BadDeclaration,
    #[error("character U+{code:04X} is not allowed in XML 1.0 (near byte {position})")]
    IllegalCharacter { code: u32, position: usize },
    #[error("malformed XML near byte {position}")]
    Malformed {
        position: u64,
        #[source]
        source: quick_xml::Error,
    },
    #[error("document type declarations are not allowed")]
    DocType,
    #[error("unknown entity reference &{0};")]
    UnknownEntity(String),
    #[error("not an XML document: no root element found")]
    NoRoot,
    #[error("document nests elements deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("document has more than {limit} elements")]
    TooManyElements { limit: usize },
    #[error("not a SOAP 1.1 envelope: the root element is <{found}> in namespace {namespace:?}")]
    NotSoap { found: String, namespace: Option<String> },
    #[error("SOAP 1.2 envelope received; this endpoint speaks SOAP 1.1")]
    VersionMismatch,
    #[error("SOAP envelope has no Body")]
    MissingBody,
    #[error("SOAP Body has no operation element")]
    EmptyBody,
    #[error("unknown operation <{name}> (namespace {namespace:?})")]
    UnknownOperation { name: String, namespace: Option<String> },
    #[error("invalid value {value:?} at {path}: expected {expected}")]
    InvalidValue { path: String, value: String, expected: &'static str },
    #[error("value {value:?} at {path} is an xs:decimal with more than 28 significant digits")]
    DecimalOutOfRange { path: String, value: String },
    #[error("missing required element {path}")]
    MissingElement { path: String },
    #[error(
        "namespace-qualified element {path} (namespace {namespace:?}): the schema is \
         elementFormDefault=\"unqualified\", so child elements of an operation are in no namespace"
    )]
    QualifiedElement { path: String, namespace: String },
    #[error("SOAP header {{{namespace}}}{name} has mustUnderstand=\"1\" but is not understood by this endpoint")]
    MustUnderstand { namespace: String, name: String },
}

impl CodecError {
    /// The message with its causes, for a SOAP `faultstring` or a log line.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
