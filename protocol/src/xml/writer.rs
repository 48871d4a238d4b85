//! Appends XML to a byte buffer. Only what the codec needs: elements and escaped text.

/// A thin XML writer over a `Vec<u8>`; callers guarantee balanced open/close calls.
#[derive(Debug)]
pub struct XmlWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> XmlWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out }
    }

    pub fn raw(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    pub fn open(&mut self, name: &str) {
        self.out.push(b'<');
        self.raw(name);
        self.out.push(b'>');
    }

    pub fn close(&mut self, name: &str) {
        self.raw("</");
        self.raw(name);
        self.out.push(b'>');
    }

    /// `<name>text</name>`, with the text escaped.
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.text(text);
        self.close(name);
    }

    /// Escaped character data (see [`escape_text`]).
    pub fn text(&mut self, text: &str) {
        escape_with(text, |piece| self.out.extend_from_slice(piece.as_bytes()));
    }
}

/// What stands in for a character XML 1.0 cannot carry at all.
const REPLACEMENT: &str = "\u{FFFD}";

/// Appends `text` as XML character data: markup characters escaped, `\r` written as a
/// reference so it survives end-of-line normalisation, and the characters XML 1.0 does
/// not allow even as references (NUL and the other C0 controls but tab, newline and
/// carriage return; U+FFFE; U+FFFF) replaced by U+FFFD **[decision]**, so that whatever
/// a string holds, the document is well-formed. Requests carrying such characters are
/// refused by the decoder; only text from elsewhere (the control API, configuration)
/// can still hold them.
pub fn escape_text(text: &str, out: &mut String) {
    escape_with(text, |piece| out.push_str(piece));
}

/// [`escape_text`] into a new string (for HTML as well: it reads the escapes the same).
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_text(text, &mut out);
    out
}

/// [`escape_text`], handing out the pieces of the escaped text in order.
fn escape_with<'t>(text: &'t str, mut push: impl FnMut(&'t str)) {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (escape, len) = match bytes[i] {
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'&' => ("&amp;", 1),
            b'"' => ("&quot;", 1),
            b'\'' => ("&apos;", 1),
            b'\r' => ("&#13;", 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            0..0x20 => (REPLACEMENT, 1),
            0xEF if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => (REPLACEMENT, 3),
            _ => {
                i += 1;
                continue;
            }
        };
        // `start` and `i` sit on character boundaries: after an ASCII byte or a whole
        // three-byte character, and before an ASCII byte or a lead byte.
        push(&text[start..i]);
        push(escape);
        i += len;
        start = i;
    }
    push(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_characters() {
        let mut out = Vec::new();
        XmlWriter::new(&mut out).leaf("t", "a<b>&\"'\r\n");
        assert_eq!(String::from_utf8(out).unwrap(), "<t>a&lt;b&gt;&amp;&quot;&apos;&#13;\n</t>");
    }

    #[test]
    fn characters_xml_cannot_carry_are_replaced() {
        let mut out = String::new();
        escape_text("a\0b\u{1}\t\u{b}\u{FFFE}\u{FFFF}\u{FFFD}\u{F000}é", &mut out);
        assert_eq!(out, "a\u{FFFD}b\u{FFFD}\t\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{F000}é");
    }
}
