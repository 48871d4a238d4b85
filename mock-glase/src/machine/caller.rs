//! Who a request claims to come from, before it is authenticated (for faults scoped to
//! a terminal and for journal filtering), and the trimming every principal id gets.

use glase_protocol::ClientContext;

/// [`str::trim`], with a fast path for the usual case of nothing to trim: `str::trim`
/// decodes characters from both ends to test them for Unicode whitespace, and every call
/// trims several fields (principal, password type, references, currencies). An ASCII
/// byte at an end that is not whitespace means there is nothing to trim there; anything
/// else takes `str::trim`, so the result is always the same.
pub(crate) fn trim(text: &str) -> &str {
    let solid = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii() && !char::from(b).is_whitespace());
    let bytes = text.as_bytes();
    if solid(bytes.first()) && solid(bytes.last()) { text } else { text.trim() }
}

/// The terminal id a request claims to come from, before authentication (for faults
/// scoped to a terminal and for journal filtering).
pub fn claimed_terminal(context: Option<&ClientContext>) -> Option<String> {
    claimed_terminal_id(context).map(str::to_owned)
}

/// [`claimed_terminal`], borrowed.
pub(crate) fn claimed_terminal_id(context: Option<&ClientContext>) -> Option<&str> {
    let principal = context?.initiator_principal_id.as_ref()?;
    match principal.kind.as_deref().map(trim) {
        Some("TERMINALID") => principal.id.as_deref().map(trim),
        _ => None,
    }
}
