//! The fast path of [`parse_str`](super::parse_str): a small scanner for the XML
//! that SOAP clients actually send (a declaration, elements, `xmlns` and other simple
//! attributes, text with the predefined entities), building the same [`Document`].
//!
//! # Implementation rationale
//! Profiling the mock under load put decoding at a quarter of its CPU time, most of it
//! in quick-xml's general-purpose event machinery (per-event UTF-8 checks, namespace
//! resolution of every name, attribute iterators). This scanner does the common case in
//! one pass over bytes already known to be UTF-8. It never reports an error: anything
//! outside its subset (comments, CDATA, DOCTYPE, character references, CR, unusual
//! names or bindings, characters XML 1.0 does not allow, malformed or truncated markup,
//! the size limits) makes it return
//! `None`, and the quick-xml path parses the document from the start. So every accepted
//! document gives exactly the tree the quick-xml path gives (a property test checks),
//! and every error is still quick-xml's.

use std::borrow::Cow;

use super::tree::{ACTOR_NEXT, Builder, Document, Element, MAX_DEPTH, MAX_ELEMENTS, append, predefined_entity};

/// Most attributes on one start tag the fast path takes (SOAP messages have a few
/// namespace declarations at most).
const MAX_ATTRIBUTES: usize = 8;

/// Namespaces quick-xml refuses to see bound the ordinary way.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
/// The SOAP 1.1 envelope namespace, whose `mustUnderstand` and `actor` attributes matter.
const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// What the attributes of a start tag say.
struct Attributes {
    nil: bool,
    must_understand: bool,
    /// Ended with `/>`.
    empty: bool,
}

/// Parses `text` if it is in the simple subset; `None` means "use the full parser".
pub fn parse(text: &str) -> Option<Document<'_>> {
    Scanner { text, bytes: text.as_bytes(), at: 0 }.document()
}

struct Scanner<'i> {
    text: &'i str,
    bytes: &'i [u8],
    at: usize,
}

/// A name as written (`prefix:local`) and its parts; no prefix is the prefix "".
struct Name<'i> {
    qname: &'i str,
    prefix: &'i str,
    local: &'i str,
}

/// An open element: its qualified name (for the end tag) and how many namespace
/// bindings were in scope before it.
struct Open<'i> {
    qname: &'i str,
    bindings: usize,
}

impl<'i> Scanner<'i> {
    fn document(mut self) -> Option<Document<'i>> {
        if self.bytes.starts_with(b"<?xml") && matches!(self.bytes.get(5), Some(b' ' | b'\t' | b'\n')) {
            let end = declaration_end(self.bytes)?;
            // A declaration is printable ASCII; anything else is left to the full parser.
            if !self.bytes[..end].iter().all(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0x21..=0x7E)) {
                return None;
            }
            self.at = end + 2;
        }
        self.skip_space();
        let mut tree = Builder::new(self.bytes.len());
        let mut stack: Vec<Open<'i>> = Vec::with_capacity(16);
        // (prefix, namespace); the default namespace has the prefix "".
        let mut bindings: Vec<(&'i str, &'i str)> = Vec::with_capacity(4);
        loop {
            // Here: at a '<' (or text inside an element).
            if self.peek()? != b'<' {
                let top = tree.current()?;
                let piece = self.text_piece()?;
                append(&mut top.text, piece);
                continue;
            }
            match *self.bytes.get(self.at + 1)? {
                b'/' => {
                    self.at += 2;
                    let open = stack.pop()?;
                    self.end_name(open.qname)?;
                    self.skip_space();
                    self.expect(b'>')?;
                    bindings.truncate(open.bindings);
                    if tree.close() {
                        return self.end(tree);
                    }
                }
                b'!' | b'?' => return None,
                _ => {
                    self.at += 1;
                    if stack.len() >= MAX_DEPTH || tree.len() >= MAX_ELEMENTS {
                        return None;
                    }
                    let before = bindings.len();
                    let Name { qname, prefix, local } = self.name()?;
                    let Attributes { nil, must_understand, empty } = self.attributes(&mut bindings, before)?;
                    if prefix == "xml" || prefix == "xmlns" {
                        return None;
                    }
                    let namespace = match bindings.iter().rev().find(|(p, _)| *p == prefix) {
                        Some((_, namespace)) => Some(Cow::Borrowed(*namespace)),
                        None if prefix.is_empty() => None,
                        // An unbound prefix: left to the full parser.
                        None => return None,
                    };
                    let mut element = Element::new(namespace, Cow::Borrowed(local), nil);
                    element.must_understand = must_understand;
                    tree.open(element);
                    if empty {
                        bindings.truncate(before);
                        if tree.close() {
                            return self.end(tree);
                        }
                    } else {
                        stack.push(Open { qname, bindings: before });
                    }
                }
            }
        }
    }

    /// The name of an end tag, which must be `qname`. Compared in place instead of
    /// scanned with [`name`](Self::name): a name that starts with `qname` and goes on is
    /// another name, and any other name (valid or not) is declined either way.
    fn end_name(&mut self, qname: &str) -> Option<()> {
        let rest = &self.bytes[self.at..];
        let next = rest.strip_prefix(qname.as_bytes())?.first().copied();
        if next.is_some_and(|b| b == b':' || NAME_BYTES[usize::from(b)]) {
            return None;
        }
        self.at += qname.len();
        Some(())
    }

    /// After the root element: only whitespace may follow.
    fn end(mut self, tree: Builder<'i>) -> Option<Document<'i>> {
        self.skip_space();
        if self.at == self.bytes.len() { tree.finish() } else { None }
    }

    /// The attributes of a start tag up to and including `>` or `/>`. Namespace
    /// declarations are pushed onto `bindings` (those from index `own` on belong to this
    /// element).
    fn attributes(&mut self, bindings: &mut Vec<(&'i str, &'i str)>, own: usize) -> Option<Attributes> {
        let mut nil = false;
        // `mustUnderstand` and `actor` with their prefixes and values, resolved once all
        // of the tag's own declarations are known.
        let mut must_understand: Option<(&'i str, &'i str)> = None;
        let mut actor: Option<(&'i str, &'i str)> = None;
        // The local names seen so far, to leave repeats to quick-xml. Inline, not a Vec:
        // most start tags have no attributes and allocating for the few that do was a
        // malloc per message; a tag with more than `MAX_ATTRIBUTES` is declined.
        let mut locals: [&'i str; MAX_ATTRIBUTES] = [""; MAX_ATTRIBUTES];
        let mut count = 0;
        loop {
            let spaced = self.skip_space();
            match self.peek()? {
                b'>' | b'/' => {
                    let empty = self.peek()? == b'/';
                    self.at += 1;
                    if empty {
                        self.expect(b'>')?;
                    }
                    let soap = |attribute: Option<(&'i str, &'i str)>| -> Option<&'i str> {
                        let (prefix, value) = attribute?;
                        let bound = bindings.iter().rev().find(|(p, _)| *p == prefix)?;
                        (!prefix.is_empty() && bound.1 == SOAP11_NS).then_some(value)
                    };
                    let addressed = soap(actor).is_none_or(|actor| actor == ACTOR_NEXT);
                    let must_understand = soap(must_understand).is_some_and(|v| matches!(v, "1" | "true")) && addressed;
                    return Some(Attributes { nil, must_understand, empty });
                }
                _ if !spaced => return None,
                _ => {}
            }
            let Name { prefix, local, .. } = self.name()?;
            self.expect(b'=')?;
            let quote = self.peek()?;
            if quote != b'"' && quote != b'\'' {
                return None;
            }
            let start = self.at + 1;
            let end = start + self.bytes[start..].iter().position(|&b| b == quote)?;
            let value = &self.text[start..end];
            // Control characters (tab and newline included: attribute values normalise
            // them) and U+F000–U+FFFF (among them U+FFFE and U+FFFF, which XML forbids) are
            // left to the full parser.
            if value.bytes().any(|b| matches!(b, b'<' | b'>' | b'&' | 0..0x20 | 0xEF)) {
                return None;
            }
            self.at = end + 1;
            // quick-xml rejects repeated attributes; be stricter and leave any repeated
            // local name to it.
            if count == MAX_ATTRIBUTES || locals[..count].contains(&local) {
                return None;
            }
            locals[count] = local;
            count += 1;
            nil |= local == "nil" && matches!(value, "true" | "1");
            match local {
                "mustUnderstand" => must_understand = Some((prefix, value)),
                "actor" => actor = Some((prefix, value)),
                _ => {}
            }
            let declared = match (prefix, local) {
                ("", "xmlns") => Some(""),
                ("xmlns", prefix) => Some(prefix),
                _ => None,
            };
            if let Some(prefix) = declared {
                if value.is_empty() || value == XML_NS || value == XMLNS_NS || prefix == "xml" || prefix == "xmlns" {
                    return None;
                }
                if bindings[own..].iter().any(|(p, _)| *p == prefix) {
                    return None;
                }
                bindings.push((prefix, value));
            }
        }
    }

    /// Text up to the next '<', with the predefined entities replaced.
    fn text_piece(&mut self) -> Option<Cow<'i, str>> {
        let bytes = self.bytes;
        let start = self.at;
        let mut end = start;
        let mut plain = true;
        // Ordinary bytes are skipped with one table lookup each (this loop is most of
        // parsing an indented message); the few others are looked at one by one.
        loop {
            while end < bytes.len() && !TEXT_STOPS[usize::from(bytes[end])] {
                end += 1;
            }
            match *bytes.get(end)? {
                b'<' => break,
                b'&' => plain = false,
                b'>' if end >= start + 2 && &bytes[end - 2..end] == b"]]" => return None,
                b'>' => {}
                // U+F000–U+FFFF: fine unless it is U+FFFE or U+FFFF.
                0xEF if !matches!(bytes.get(end + 1..end + 3), Some([0xBF, 0xBE | 0xBF])) => {}
                // The other stops: control characters besides tab and newline, U+FFFE/F.
                _ => return None,
            }
            end += 1;
        }
        self.at = end;
        let raw = &self.text[start..end];
        if plain {
            return Some(Cow::Borrowed(raw));
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let semi = rest[amp..].find(';')? + amp;
            out.push(predefined_entity(&rest[amp + 1..semi])?);
            rest = &rest[semi + 1..];
        }
        out.push_str(rest);
        Some(Cow::Owned(out))
    }

    /// A name: ASCII letters, digits, '_', '-', '.', and at most one ':' with a name
    /// start character on each side. One table lookup per byte in a plain loop: names
    /// are most of the markup, and iterator adaptors or `str` searches per name cost
    /// more than the scan (callgrind).
    fn name(&mut self) -> Option<Name<'i>> {
        let bytes = self.bytes;
        let start = self.at;
        let mut end = start;
        let mut colon = usize::MAX;
        while end < bytes.len() {
            match NAME_CLASS[usize::from(bytes[end])] {
                NAME => {}
                COLON if colon == usize::MAX => colon = end,
                COLON => return None,
                _ => break,
            }
            end += 1;
        }
        let starts_name = |at: usize| at < end && (bytes[at].is_ascii_alphabetic() || bytes[at] == b'_');
        if !starts_name(start) || (colon != usize::MAX && !starts_name(colon + 1)) {
            return None;
        }
        self.at = end;
        let qname = &self.text[start..end];
        Some(match colon {
            usize::MAX => Name { qname, prefix: "", local: qname },
            _ => Name { qname, prefix: &self.text[start..colon], local: &self.text[colon + 1..end] },
        })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Skips spaces, tabs and newlines; returns whether there were any.
    fn skip_space(&mut self) -> bool {
        let start = self.at;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n')) {
            self.at += 1;
        }
        self.at > start
    }
}

/// Bytes of a name besides ':' (a table: the per-byte test is most of scanning a name).
const NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.';
        b += 1;
    }
    table
};

/// Bytes that end a run of plain text in [`Scanner::text_piece`]: markup, references,
/// control characters other than tab and newline, and the lead byte of U+F000–U+FFFF
/// (U+FFFE and U+FFFF are not XML characters).
const TEXT_STOPS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    table[b'<' as usize] = true;
    table[b'&' as usize] = true;
    table[b'>' as usize] = true;
    table[0xEF] = true;
    table
};

/// [`NAME_BYTES`] with ':' as a class of its own, for [`Scanner::name`].
const NAME_CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        if NAME_BYTES[b] {
            table[b] = NAME;
        }
        b += 1;
    }
    table[b':' as usize] = COLON;
    table
};
const OTHER: u8 = 0;
const NAME: u8 = 1;
const COLON: u8 = 2;

/// Where the XML declaration's `?>` is. A search for '?' and a look at the next byte:
/// comparing `windows(2)` at every position cost more than scanning a whole element.
fn declaration_end(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let mark = from + bytes.get(from..)?.iter().position(|&b| b == b'?')?;
        if bytes.get(mark + 1) == Some(&b'>') {
            return Some(mark);
        }
        from = mark + 1;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::xml::tree;

    /// The fast path either declines or agrees with the full parser.
    fn agrees(doc: &str) -> bool {
        match parse(doc) {
            None => false,
            Some(fast) => {
                let full =
                    tree::parse_with_quick_xml(doc).expect("the fast path accepted a document quick-xml rejects");
                assert_eq!(fast, full, "{doc}");
                true
            }
        }
    }

    #[test]
    fn every_fixture_request_takes_the_fast_path_or_agrees() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fixtures");
        let mut fast = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("a fixture").path();
            if path.extension().is_some_and(|e| e == "xml") {
                let doc = std::fs::read_to_string(&path).expect("UTF-8 fixture");
                fast += usize::from(agrees(&doc));
            }
        }
        assert!(fast >= 20, "only {fast} fixtures took the fast path");
    }

    #[test]
    fn handles_the_common_shapes() {
        for doc in [
            r#"<?xml version="1.0" encoding="UTF-8"?><s:E xmlns:s="urn:s"><s:B><x>1 &amp; 2</x><y/></s:B></s:E>"#,
            "<a xmlns=\"urn:d\">\n  <b xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" i:nil=\"true\"/>\n</a>\n",
            "<a><b>x</b>tail<c k='v' nil='1'>&lt;&gt;&apos;&quot;</c></a>",
            "<p:a xmlns:p=\"urn:1\"><p:b xmlns:p=\"urn:2\"><p:c/></p:b><p:d/></p:a>",
            "<a><b></b ></a>",
        ] {
            assert!(agrees(doc), "declined {doc}");
        }
    }

    #[test]
    fn reads_must_understand_as_the_full_parser_does() {
        let header = |attrs: &str| {
            let doc = format!("<s:E xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><h{attrs}/></s:E>");
            assert!(agrees(&doc), "declined {doc}");
            parse(&doc).and_then(|d| d.root().first_child().map(|h| h.must_understand))
        };
        assert_eq!(header(" s:mustUnderstand=\"1\""), Some(true));
        assert_eq!(header(" s:mustUnderstand='true' s:actor='http://schemas.xmlsoap.org/soap/actor/next'"), Some(true));
        assert_eq!(header(" s:mustUnderstand=\"0\""), Some(false));
        assert_eq!(header(" mustUnderstand=\"1\""), Some(false));
        assert_eq!(header(" s:mustUnderstand=\"1\" s:actor=\"urn:other\""), Some(false));
        // Declared on the header itself, after the attribute.
        let doc = "<E><h p:mustUnderstand=\"1\" xmlns:p=\"http://schemas.xmlsoap.org/soap/envelope/\"/></E>";
        assert!(agrees(doc));
        assert_eq!(parse(doc).and_then(|d| d.root().first_child().map(|h| h.must_understand)), Some(true));
    }

    #[test]
    fn declines_what_it_does_not_handle() {
        for doc in [
            "<a><!-- c --></a>",
            "<a><![CDATA[x]]></a>",
            "<a>&#33;</a>",
            "<a>&e;</a>",
            "<a>x\r\ny</a>",
            "<a><b></a>",
            "<a>",
            "<a/><b/>",
            "<a/>x",
            "<p:a/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a x=1/>",
            "<a xmlns:p=\"\"/>",
            "<!DOCTYPE a><a/>",
            "\u{feff}<a/>",
            " <?xml version=\"1.0\"?><a/>",
            "<a>]]></a>",
            "<a>\u{0}</a>",
            "<a>\u{ffff}</a>",
            "<a x=\"\u{1}\"/>",
            "<a x=\"\u{fffe}\"/>",
            "<?xml version=\"1.0\"\u{0}?><a/>",
        ] {
            assert!(parse(doc).is_none(), "accepted {doc}");
        }
    }

    fn soup() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("<a>"),
            Just("</a>"),
            Just("<b/>"),
            Just("<p:c xmlns:p=\"urn:p\">"),
            Just("</p:c>"),
            Just("<d xmlns=\"urn:d\" i:nil=\"true\">"),
            Just("</d>"),
            Just("<e x='1' y=\"2\">"),
            Just("</e >"),
            Just("text"),
            Just(" "),
            Just("\n"),
            Just("&amp;"),
            Just("&lt;"),
            Just("&bogus;"),
            Just("<"),
            Just(">"),
            Just("/>"),
            Just("<?xml version=\"1.0\"?>"),
            Just("<!-- c -->"),
            Just("é"),
            Just("<h xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:mustUnderstand=\"1\">"),
            Just("</h>"),
            Just("<h s:actor='urn:x' s:mustUnderstand='true' xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'/>"),
            Just("<h mustUnderstand='1' v='\u{0}'/>"),
            Just("\u{0}"),
            Just("\u{1f}"),
            Just("\u{fffe}"),
            Just("\u{ffff}"),
            Just("\u{f000}"),
        ];
        prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
    }

    /// Well-formed documents in (and just outside) the fast path's subset.
    fn documents() -> impl Strategy<Value = String> {
        let name = prop_oneof![Just("a"), Just("p:b"), Just("q:c"), Just("nil"), Just("s:Envelope")];
        let attrs = prop::collection::vec(
            prop_oneof![
                Just(" xmlns:p=\"urn:p\""),
                Just(" xmlns=\"urn:d\""),
                Just(" xmlns:q='urn:q'"),
                Just(" xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""),
                Just(" i:nil=\"true\""),
                Just(" nil='1'"),
                Just(" x=\"v\""),
                Just(" s:mustUnderstand=\"1\""),
                Just(" s:mustUnderstand='true'"),
                Just(" s:actor=\"urn:a\""),
                Just(" s:actor=\"http://schemas.xmlsoap.org/soap/actor/next\""),
                Just(" mustUnderstand=\"1\""),
                Just(" p:mustUnderstand=\"1\""),
                Just(" x=\"\u{1}\""),
            ],
            0..4,
        )
        .prop_map(|a| a.concat());
        let text = prop_oneof![
            Just(""),
            Just("t"),
            Just(" "),
            Just("\n  "),
            Just("a&amp;b"),
            Just("&lt;&gt;"),
            Just("é"),
            Just("\u{f000}\u{fffd}"),
            Just("\u{0}"),
            Just("\u{ffff}"),
        ];
        let leaf = (name.clone(), attrs.clone(), text.clone())
            .prop_map(|(n, a, t)| if t.is_empty() { format!("<{n}{a}/>") } else { format!("<{n}{a}>{t}</{n}>") });
        let tree = leaf.prop_recursive(4, 32, 4, move |inner| {
            (name.clone(), attrs.clone(), text.clone(), prop::collection::vec((inner, text.clone()), 0..4)).prop_map(
                |(n, a, t, children)| {
                    let children: String = children.into_iter().map(|(c, t)| c + t).collect();
                    format!("<{n}{a}>{t}{children}</{n}>")
                },
            )
        });
        (
            prop_oneof![Just(""), Just("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")],
            tree,
            prop_oneof![Just(""), Just("\n")],
        )
            .prop_map(|(decl, tree, tail)| format!("{decl}{tree}{tail}"))
    }

    proptest! {
        #[test]
        fn well_formed_documents_parse_alike(doc in documents()) {
            let full = tree::parse_with_quick_xml(&doc);
            if let Some(fast) = parse(&doc) {
                prop_assert_eq!(Some(fast), full.ok());
            }
        }

        #[test]
        fn the_fast_path_agrees_with_quick_xml(doc in soup()) {
            let full = tree::parse_with_quick_xml(&doc);
            if let Some(fast) = parse(&doc) {
                prop_assert_eq!(Some(fast), full.ok());
            }
        }
    }
}
