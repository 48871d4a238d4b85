//! XML plumbing of the codec: [`parse_str`] parses a bounded element tree ([`tree`]):
//! `fast` does the common case, quick-xml the rest. [`field`] maps elements to typed
//! values and back, [`writer`] appends escaped XML to a buffer.

pub(crate) mod fast;
pub(crate) mod field;
pub mod tree;
pub mod writer;

use crate::error::CodecError;
use tree::Document;

/// Parses a whole document of UTF-8 bytes (tests; the codec decodes the message's
/// encoding first, see [`crate::charset`]).
#[cfg(test)]
pub fn parse(input: &[u8]) -> Result<Document<'_>, CodecError> {
    parse_str(std::str::from_utf8(input).map_err(CodecError::NotUtf8)?)
}

/// Parses a whole document.
pub fn parse_str(text: &str) -> Result<Document<'_>, CodecError> {
    match fast::parse(text) {
        Some(document) => Ok(document),
        None => tree::parse_with_quick_xml(text),
    }
}

/// For fuzzing: whether the fast path took `text` (`false`: it declined). Panics if it
/// took a document the full parser refuses or reads differently: the property the
/// proptests below check, for the fuzz target `fast_path`.
pub fn agrees_with_quick_xml(text: &str) -> bool {
    let Some(fast) = fast::parse(text) else { return false };
    match tree::parse_with_quick_xml(text) {
        Ok(full) => assert_eq!(fast, full, "the fast path and quick-xml read {text:?} differently"),
        Err(error) => panic!("the fast path accepted {text:?}, which quick-xml refuses: {}", error.chain()),
    }
    true
}
