//! How message bodies are journaled: as text, relabelled as UTF-8, capped.

use super::*;

/// Bytes as text: a copy when they are UTF-8 (what the codec reads and writes), else
/// with replacement characters. `from_utf8` first: the lossy path walks the bytes in
/// chunks and costs several times as much.
pub(super) fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A request body for the journal. A message in another encoding than UTF-8 is journaled
/// decoded, with its XML declaration's encoding relabelled UTF-8 **[decision]**: the
/// journal is text, and its entry then decodes to the same request (the journal is for
/// reading what was sent, not for replaying bytes).
pub(super) fn journal_request_text(body: &[u8], charset: Option<&str>) -> String {
    match decode_text(body, charset) {
        Ok(Cow::Owned(text)) => journal_text(relabel_utf8(&text).as_bytes()),
        _ => journal_text(body),
    }
}

/// `text` with the `encoding` of its XML declaration (if any) replaced by `UTF-8`.
pub(super) fn relabel_utf8(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let Some(end) = text.starts_with("<?xml").then(|| text.find("?>")).flatten() else { return Cow::Borrowed(text) };
    let declaration = &text[..end];
    let Some(at) = declaration.find("encoding") else { return Cow::Borrowed(text) };
    let value = declaration[at..].find(['"', '\'']).map(|q| at + q);
    let Some(open) = value else { return Cow::Borrowed(text) };
    let quote = &declaration[open..=open];
    let Some(close) = declaration[open + 1..].find(quote).map(|c| open + 1 + c) else { return Cow::Borrowed(text) };
    Cow::Owned(format!("{}UTF-8{}", &text[..open + 1], &text[close..]))
}

pub(super) fn journal_text(body: &[u8]) -> String {
    let cut = &body[..body.len().min(JOURNAL_BODY_LIMIT)];
    let mut text = text_of(cut);
    if body.len() > JOURNAL_BODY_LIMIT {
        text.push_str(&format!("… [{} more bytes not journaled]", body.len() - JOURNAL_BODY_LIMIT));
    }
    text
}
