//! A small, bounded element tree parsed from a SOAP message.
//!
//! The codec first parses the whole message into a [`Document`] (local names, resolved
//! namespaces, unescaped text) and then maps its [`Node`]s to typed structs. Parsing into
//! a tree instead of streaming straight into structs keeps the mapping code
//! order-insensitive (real clients are lax) and lets the limits below be enforced in one
//! place.
//!
//! # Implementation rationale
//! Most messages take the fast path in [`fast`](super::fast); the rest, and every error,
//! go through quick-xml here. Both build the tree with one [`Builder`]. Elements borrow
//! from the input: names and text are slices of the message unless they had to be
//! rewritten (an entity reference, a CR/LF to normalise, text split by a comment), and
//! the namespaces the codec compares against are `'static`. All elements of a document
//! live in one `Vec` in document order, linked by first-child/next-sibling indices: a
//! `Vec` of children per element made allocating and freeing the child lists most of
//! what a decode cost (callgrind), and the arena is one allocation per message.

use std::borrow::Cow;
use std::ops::Deref;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::error::CodecError;

/// Deepest element nesting accepted. The deepest legal message is about 8 levels.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one message; bounds memory on hostile input.
pub const MAX_ELEMENTS: usize = 100_000;

/// Namespaces the codec looks for, kept without allocating when an element is bound to
/// one of them (any other namespace is copied).
const KNOWN_NAMESPACES: &[&str] = &[
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://external.interfaces.ers.seamless.com/",
    "http://www.w3.org/2003/05/soap-envelope",
    "http://schemas.xmlsoap.org/wsdl/",
];

/// Index meaning "no element" in the links. The root (index 0) is nobody's child or
/// sibling, so 0 is free for it.
const NONE: u32 = 0;

/// One element: its namespace, local name and text content, borrowed from the input
/// where possible. Its children are reached through a [`Node`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element<'i> {
    pub namespace: Option<Cow<'i, str>>,
    pub name: Cow<'i, str>,
    /// The element's own text (text and CDATA directly inside it, concatenated).
    pub text: Cow<'i, str>,
    /// `xsi:nil="true"`: the element stands for an absent value.
    pub nil: bool,
    /// SOAP 1.1 `mustUnderstand="1"` (or `"true"`) in the envelope namespace, with no
    /// `actor` or the actor `…/soap/actor/next`: a header this endpoint must process.
    pub must_understand: bool,
    first_child: u32,
    next_sibling: u32,
}

impl<'i> Element<'i> {
    pub fn new(namespace: Option<Cow<'i, str>>, name: Cow<'i, str>, nil: bool) -> Self {
        Self { namespace, name, nil, ..Self::default() }
    }

    /// A non-nil element with this local name. Field lookups compare every child's
    /// name with every field's, and many names are equally long: checking the last
    /// byte first (names of one type share prefixes) saves most calls to `memcmp`.
    fn is(&self, name: &str) -> bool {
        let own = self.name.as_bytes();
        !self.nil && own.len() == name.len() && own.last() == name.as_bytes().last() && own == name.as_bytes()
    }
}

/// A parsed document: every element, in document order (the root first).
///
/// Dereferences to its root element, so `doc.name` is the root's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<'i> {
    elements: Vec<Element<'i>>,
}

impl Drop for Document<'_> {
    fn drop(&mut self) {
        let mut elements = std::mem::take(&mut self.elements);
        elements.clear();
        if elements.capacity() <= POOLED_CAPACITY {
            // An empty Vec holds no `'i` data; re-typing it through an in-place collect
            // keeps the allocation (same layout) without `unsafe`.
            // (`filter` cannot change the item type, which is the point here.)
            #[allow(clippy::unnecessary_filter_map)]
            let elements: Vec<Element<'static>> = elements.into_iter().filter_map(|_| None).collect();
            // During thread teardown the pool is gone; the arena is just freed then.
            let _ = POOL.try_with(|pool| pool.set(elements));
        }
    }
}

/// Largest arena kept for reuse (in elements); a huge message's arena is freed instead.
const POOLED_CAPACITY: usize = 1024;

thread_local! {
    /// The arena of the last document dropped on this thread, for the next to reuse.
    /// Decoding is synchronous, so a server thread parses and drops a document in one
    /// go; reusing its arena saves a large allocation per message (callgrind: the
    /// allocation of several KB, not in malloc's per-thread cache, also made glibc
    /// consolidate its free lists each time).
    static POOL: std::cell::Cell<Vec<Element<'static>>> = const { std::cell::Cell::new(Vec::new()) };
}

impl<'i> Document<'i> {
    /// The root element.
    pub fn root(&self) -> Node<'_, 'i> {
        Node { elements: &self.elements, index: 0 }
    }
}

impl<'i> Deref for Document<'i> {
    type Target = Element<'i>;

    fn deref(&self) -> &Element<'i> {
        // A document is only built by `Builder::finish`, which requires a root.
        &self.elements[0]
    }
}

/// An element of a [`Document`] with access to its children; dereferences to the
/// [`Element`]. Copy: a slice and an index.
#[derive(Debug, Clone, Copy)]
pub struct Node<'d, 'i> {
    elements: &'d [Element<'i>],
    index: u32,
}

impl<'d, 'i> Deref for Node<'d, 'i> {
    type Target = Element<'i>;

    fn deref(&self) -> &Element<'i> {
        &self.elements[self.index as usize]
    }
}

impl<'d, 'i> Node<'d, 'i> {
    fn at(self, index: u32) -> Option<Self> {
        (index != NONE).then_some(Self { elements: self.elements, index })
    }

    /// The child elements, in document order.
    pub fn children(self) -> Children<'d, 'i> {
        Children { next: self.at(self.elements[self.index as usize].first_child) }
    }

    /// Whether the element has child elements.
    pub fn has_children(self) -> bool {
        self.elements[self.index as usize].first_child != NONE
    }

    /// Child elements with the given local name, in document order, skipping nil ones.
    pub fn children_named<'a>(self, name: &'a str) -> impl Iterator<Item = Node<'d, 'i>> + 'a
    where
        'd: 'a,
        'i: 'a,
    {
        self.children().filter(move |c| c.is(name))
    }

    /// The first non-nil child with the given local name.
    pub fn child(self, name: &str) -> Option<Node<'d, 'i>> {
        self.children().find(|c| c.is(name))
    }

    /// The first child element, whatever its name.
    pub fn first_child(self) -> Option<Node<'d, 'i>> {
        self.children().next()
    }
}

/// Iterator over an element's children.
#[derive(Debug, Clone)]
pub struct Children<'d, 'i> {
    next: Option<Node<'d, 'i>>,
}

impl<'d, 'i> Iterator for Children<'d, 'i> {
    type Item = Node<'d, 'i>;

    fn next(&mut self) -> Option<Node<'d, 'i>> {
        let node = self.next?;
        self.next = node.at(node.elements[node.index as usize].next_sibling);
        Some(node)
    }
}

/// Builds a [`Document`] from start tags, text and end tags, as both parsers see them.
#[derive(Debug)]
pub(super) struct Builder<'i> {
    elements: Vec<Element<'i>>,
    /// Open elements, outermost first: (index, index of its last child so far).
    open: Vec<(u32, u32)>,
}

impl<'i> Builder<'i> {
    /// A builder for a document of `len` bytes. A SOAP message has an element for about
    /// every 25 bytes; reserving that much makes growing the arena rare.
    pub(super) fn new(len: usize) -> Self {
        let mut elements: Vec<Element<'i>> = POOL.try_with(std::cell::Cell::take).unwrap_or_default();
        elements.reserve(len / 24 + 4);
        Self { elements, open: Vec::with_capacity(16) }
    }

    /// Elements open now.
    pub(super) fn depth(&self) -> usize {
        self.open.len()
    }

    /// Elements started so far.
    pub(super) fn len(&self) -> usize {
        self.elements.len()
    }

    /// Starts an element inside the current one (or as the root).
    pub(super) fn open(&mut self, element: Element<'i>) {
        // Fits: the parsers refuse more than MAX_ELEMENTS elements.
        let index = self.elements.len() as u32;
        self.elements.push(element);
        if let Some((parent, last)) = self.open.last_mut() {
            if *last == NONE {
                self.elements[*parent as usize].first_child = index;
            } else {
                self.elements[*last as usize].next_sibling = index;
            }
            *last = index;
        }
        self.open.push((index, NONE));
    }

    /// Ends the current element; returns whether it was the root (`false` when no
    /// element was open).
    pub(super) fn close(&mut self) -> bool {
        self.open.pop().is_some() && self.open.is_empty()
    }

    /// The innermost open element.
    pub(super) fn current(&mut self) -> Option<&mut Element<'i>> {
        let (index, _) = *self.open.last()?;
        Some(&mut self.elements[index as usize])
    }

    /// The finished document; `None` if no root element was closed.
    pub(super) fn finish(self) -> Option<Document<'i>> {
        (!self.elements.is_empty() && self.open.is_empty()).then_some(Document { elements: self.elements })
    }
}

/// The SOAP 1.1 envelope namespace, whose `mustUnderstand` and `actor` attributes matter.
const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The actor that means "the next SOAP node", i.e. this endpoint.
pub(super) const ACTOR_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";

/// Whether `c` is a `Char` of XML 1.0. The others (NUL and most C0 controls, U+FFFE,
/// U+FFFF) cannot appear in a document, raw or as a reference.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// The first character of `text` XML 1.0 does not allow, as the error that names it.
fn illegal_character(text: &str) -> Option<CodecError> {
    // Bytes first: a control byte, or the lead byte of U+F000–U+FFFF, is rare enough
    // that only those positions are decoded.
    text.bytes().enumerate().find_map(|(position, b)| {
        if b >= 0x20 && b != 0xEF {
            return None;
        }
        let c = text.get(position..)?.chars().next()?;
        (!is_xml_char(c)).then_some(CodecError::IllegalCharacter { code: u32::from(c), position })
    })
}

/// The full parser: any XML quick-xml reads, and the errors it reports.
pub(crate) fn parse_with_quick_xml(text: &str) -> Result<Document<'_>, CodecError> {
    // quick-xml does not check characters; a Java parser refuses a document with a NUL
    // anywhere, and so does this one (the fast path declines such documents).
    if let Some(error) = illegal_character(text) {
        return Err(error);
    }
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = false;
    let mut tree = Builder::new(text.len());
    loop {
        let (resolved, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (namespace_of(ns), event),
            Err(source) => return Err(malformed(&reader, source)),
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if tree.depth() >= MAX_DEPTH {
                    return Err(CodecError::TooDeep { limit: MAX_DEPTH });
                }
                if tree.len() >= MAX_ELEMENTS {
                    return Err(CodecError::TooManyElements { limit: MAX_ELEMENTS });
                }
                let element = element_of(&reader, text, start, resolved)?;
                tree.open(element);
                if matches!(event, Event::Empty(_)) && tree.close() {
                    return finish(&mut reader, tree);
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match; an unmatched end is an error there.
                if tree.depth() == 0 {
                    return Err(CodecError::NoRoot);
                }
                if tree.close() {
                    return finish(&mut reader, tree);
                }
            }
            Event::Text(t) => {
                if let Some(top) = tree.current() {
                    append(&mut top.text, t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = tree.current() {
                    append(&mut top.text, c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let ch = referenced_char(&reader, &r)?;
                if let Some(top) = tree.current() {
                    top.text.to_mut().push(ch);
                }
            }
            Event::DocType(_) => return Err(CodecError::DocType),
            // quick-xml reports end of input without complaint even inside open elements;
            // a truncated document is malformed, not empty.
            Event::Eof => {
                return Err(match tree.current() {
                    None => CodecError::NoRoot,
                    Some(open) => CodecError::Malformed {
                        position: reader.buffer_position(),
                        source: quick_xml::Error::IllFormed(quick_xml::errors::IllFormedError::MissingEndTag(
                            open.name.clone().into_owned(),
                        )),
                    },
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
}

/// The element a start tag opens. Attributes are parsed lazily by quick-xml; all are
/// walked so that a malformed one (unquoted, duplicated) is reported instead of skipped.
fn element_of<'i>(
    reader: &NsReader<&[u8]>,
    text: &'i str,
    start: &quick_xml::events::BytesStart<'_>,
    resolved: Option<Cow<'static, str>>,
) -> Result<Element<'i>, CodecError> {
    let mut nil = false;
    let (mut must_understand, mut elsewhere) = (false, false);
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(reader, quick_xml::Error::InvalidAttr(e)))?;
        let local = attr.key.local_name();
        nil |= local.as_ref() == "nil" && matches!(attr.value.as_ref(), "true" | "1");
        if matches!(local.as_ref(), "mustUnderstand" | "actor")
            && matches!(reader.resolver().resolve_attribute(attr.key).0, ResolveResult::Bound(ns) if ns.into_inner() == SOAP11_NS)
        {
            if local.as_ref() == "mustUnderstand" {
                must_understand = matches!(attr.value.as_ref(), "1" | "true");
            } else {
                elsewhere = attr.value.as_ref() != ACTOR_NEXT;
            }
        }
    }
    let name = lend(text, start.local_name().into_inner());
    let mut element = Element::new(resolved, name, nil);
    element.must_understand = must_understand && !elsewhere;
    Ok(element)
}

/// The character a reference (`&#65;`, `&amp;`) stands for.
fn referenced_char(reader: &NsReader<&[u8]>, r: &quick_xml::events::BytesRef<'_>) -> Result<char, CodecError> {
    match r.resolve_char_ref() {
        // `&#0;` names a character XML cannot hold, like a raw NUL.
        Ok(Some(ch)) if !is_xml_char(ch) => {
            let position = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
            Err(CodecError::IllegalCharacter { code: u32::from(ch), position })
        }
        Ok(Some(ch)) => Ok(ch),
        Ok(None) => predefined_entity(&r.xml10_content())
            .ok_or_else(|| CodecError::UnknownEntity(r.xml10_content().into_owned())),
        Err(source) => Err(malformed(reader, source)),
    }
}

/// quick-xml's error, where it stopped.
fn malformed(reader: &NsReader<&[u8]>, source: quick_xml::Error) -> CodecError {
    CodecError::Malformed { position: reader.error_position(), source }
}

/// After the root closes only whitespace, comments and PIs may follow.
fn finish<'i>(reader: &mut NsReader<&[u8]>, tree: Builder<'i>) -> Result<Document<'i>, CodecError> {
    loop {
        match reader.read_event() {
            // The root was closed, so there is a document.
            Ok(Event::Eof) => return tree.finish().ok_or(CodecError::NoRoot),
            Ok(Event::Text(t)) if t.xml10_content().trim().is_empty() => {}
            Ok(Event::Comment(_) | Event::PI(_)) => {}
            Ok(_) => {
                return Err(CodecError::Malformed {
                    position: reader.buffer_position(),
                    source: quick_xml::Error::IllFormed(quick_xml::errors::IllFormedError::UnmatchedEndTag(
                        "content after the root element".to_owned(),
                    )),
                });
            }
            Err(source) => {
                return Err(CodecError::Malformed { position: reader.error_position(), source });
            }
        }
    }
}

fn namespace_of(resolved: ResolveResult<'_>) -> Option<Cow<'static, str>> {
    match resolved {
        ResolveResult::Bound(ns) => {
            let ns = ns.into_inner();
            Some(match KNOWN_NAMESPACES.iter().find(|known| **known == ns) {
                Some(known) => Cow::Borrowed(*known),
                None => Cow::Owned(ns.to_owned()),
            })
        }
        ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
    }
}

/// Appends a piece of text: the first piece is kept as it is (usually borrowed), later
/// ones are concatenated into an owned string. A parent element gets a piece of
/// indentation between each two children, so room for several is reserved at once.
pub(super) fn append<'i>(text: &mut Cow<'i, str>, piece: Cow<'i, str>) {
    match text {
        _ if text.is_empty() => *text = piece,
        Cow::Borrowed(first) => {
            let mut joined = String::with_capacity((4 * (first.len() + piece.len())).max(64));
            joined.push_str(first);
            joined.push_str(&piece);
            *text = Cow::Owned(joined);
        }
        Cow::Owned(joined) => joined.push_str(&piece),
    }
}

/// `part` with the input's lifetime. quick-xml's slice reader hands out names that point
/// into the input but only with the event's lifetime; when `part` lies inside `input`
/// the same bytes are re-borrowed from `input`, otherwise they are copied.
fn lend<'i>(input: &'i str, part: &str) -> Cow<'i, str> {
    let offset = (part.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
    match input.get(offset..offset.wrapping_add(part.len())) {
        Some(lent) if std::ptr::eq(lent.as_ptr(), part.as_ptr()) => Cow::Borrowed(lent),
        _ => Cow::Owned(part.to_owned()),
    }
}

/// The character of one of XML's five predefined entities (`lt`, `gt`, …).
pub(super) fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse;

    #[test]
    fn parses_prefixes_text_cdata_and_entities() {
        let doc =
            parse(br#"<?xml version="1.0"?><a:x xmlns:a="urn:a"><b>1 &amp; 2&#33;</b><c><![CDATA[<raw>]]></c></a:x>"#)
                .unwrap();
        let root = doc.root();
        assert_eq!(root.namespace.as_deref(), Some("urn:a"));
        assert_eq!(root.name, "x");
        assert_eq!(root.child("b").unwrap().text, "1 & 2!");
        assert_eq!(root.child("b").unwrap().namespace, None);
        assert_eq!(root.child("c").unwrap().text, "<raw>");
    }

    #[test]
    fn rejects_doctype_and_unknown_entities() {
        assert!(matches!(
            parse(b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"),
            Err(CodecError::DocType)
        ));
        assert!(matches!(parse(b"<x>&e;</x>"), Err(CodecError::UnknownEntity(e)) if e == "e"));
    }

    #[test]
    fn rejects_deep_nesting_without_recursing() {
        let doc = "<a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(parse(doc.as_bytes()), Err(CodecError::TooDeep { .. })));
    }

    #[test]
    fn rejects_mismatched_tags_and_trailing_content() {
        assert!(matches!(parse(b"<a><b></a>"), Err(CodecError::Malformed { .. })));
        assert!(matches!(parse(b"<a/><b/>"), Err(CodecError::Malformed { .. })));
        assert!(matches!(parse(b""), Err(CodecError::NoRoot)));
        assert!(matches!(parse(b"just text"), Err(CodecError::NoRoot)));
    }

    #[test]
    fn truncated_documents_are_malformed_not_empty() {
        assert!(matches!(parse(b"<a><b>1</b>"), Err(CodecError::Malformed { .. })));
        assert!(matches!(parse(b"<a><b>"), Err(CodecError::Malformed { .. })));
    }

    #[test]
    fn malformed_attributes_are_rejected() {
        assert!(matches!(parse(b"<a x=1/>"), Err(CodecError::Malformed { .. })));
        assert!(matches!(parse(br#"<a x="1" x="2"/>"#), Err(CodecError::Malformed { .. })));
        assert!(matches!(parse(br#"<a><b y="1" z/></a>"#), Err(CodecError::Malformed { .. })));
    }

    #[test]
    fn text_is_borrowed_unless_it_had_to_be_rewritten() {
        let input = "<a xmlns=\"urn:x\"><b>plain</b><c>x<!-- c -->y</c><d>1\r\n2</d><e>&lt;</e>\n <f/>\n</a>";
        let doc = parse(input.as_bytes()).unwrap();
        let root = doc.root();
        let text = |name: &str| root.child(name).unwrap().text.clone();
        assert!(matches!(text("b"), Cow::Borrowed("plain")));
        assert_eq!(text("c"), "xy");
        assert_eq!(text("d"), "1\n2");
        assert_eq!(text("e"), "<");
        assert!(matches!(root.name, Cow::Borrowed("a")));
        assert_eq!(root.namespace.as_deref(), Some("urn:x"));
        // Text around children is kept, concatenated, as before.
        assert_eq!(root.text, "\n \n");
    }

    #[test]
    fn lend_copies_what_is_not_part_of_the_input() {
        let input = "abc";
        assert!(matches!(lend(input, &input[1..]), Cow::Borrowed("bc")));
        let elsewhere = String::from("bc");
        assert!(matches!(lend(input, &elsewhere), Cow::Owned(s) if s == "bc"));
    }

    #[test]
    fn children_keep_document_order_at_every_level() {
        let doc = parse(b"<r><a><x/><y>1</y></a><b/><a><z/></a></r>").unwrap();
        let names = |node: Node<'_, '_>| node.children().map(|c| c.name.to_string()).collect::<Vec<_>>();
        let root = doc.root();
        assert_eq!(names(root), ["a", "b", "a"]);
        let lists: Vec<_> = root.children_named("a").map(names).collect();
        assert_eq!(lists, [vec!["x", "y"], vec!["z"]]);
        assert!(!root.child("b").unwrap().has_children());
        assert_eq!(root.first_child().unwrap().child("y").unwrap().text, "1");
    }

    #[test]
    fn a_dropped_documents_arena_is_kept_for_the_next() {
        drop(parse(b"<a><b/><c/></a>").unwrap());
        let pooled = POOL.with(|pool| {
            let arena = pool.take();
            let capacity = arena.capacity();
            pool.set(arena);
            capacity
        });
        assert!(pooled >= 3, "the arena was freed instead of pooled");
        let doc = parse(b"<x/>").unwrap();
        assert_eq!(doc.name, "x");
    }

    #[test]
    fn nil_elements_are_skipped_by_lookups() {
        let doc =
            parse(br#"<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><b xsi:nil="true"/></a>"#).unwrap();
        assert!(doc.root().child("b").is_none());
    }
}
