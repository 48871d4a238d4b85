//! XML plumbing of the codec: [`tree`] parses a bounded element tree, [`field`] maps
//! elements to typed values and back, [`writer`] appends escaped XML to a buffer.

pub(crate) mod field;
pub mod tree;
pub(crate) mod writer;
