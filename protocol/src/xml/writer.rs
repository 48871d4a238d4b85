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

    /// Escaped character data. `\r` is written as a reference so it survives
    /// XML end-of-line normalisation.
    pub fn text(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'<' => b"&lt;",
                b'>' => b"&gt;",
                b'&' => b"&amp;",
                b'"' => b"&quot;",
                b'\'' => b"&apos;",
                b'\r' => b"&#13;",
                _ => continue,
            };
            self.out.extend_from_slice(&bytes[start..i]);
            self.out.extend_from_slice(escape);
            start = i + 1;
        }
        self.out.extend_from_slice(&bytes[start..]);
    }
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
}
