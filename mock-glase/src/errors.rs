//! How an error is shown to a person: the one chain printer of the workspace's mock and
//! suite (the suite imports it). `{e}` on an error that keeps its cause as a `source`
//! prints only its own message; this prints every cause.

/// An error with its causes, `a: b: c` (what `{:#}` prints for anyhow errors).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
