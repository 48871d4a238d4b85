//! XML plumbing of the codec: [`tree`] parses a bounded element tree (`fast` does the
//! common case, quick-xml the rest), [`field`] maps
//! elements to typed values and back, [`writer`] appends escaped XML to a buffer.

pub(crate) mod fast;
pub(crate) mod field;
pub mod tree;
pub mod writer;
