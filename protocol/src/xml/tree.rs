//! A small, bounded element tree parsed from a SOAP message.
//!
//! The codec first parses the whole message into [`Node`]s (local names, resolved
//! namespaces, unescaped text) and then maps nodes to typed structs. Parsing into a tree
//! instead of streaming straight into structs keeps the mapping code order-insensitive
//! (real clients are lax) and lets the limits below be enforced in one place.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::error::CodecError;

/// Deepest element nesting accepted. The deepest legal message is about 8 levels.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one message; bounds memory on hostile input.
pub const MAX_ELEMENTS: usize = 100_000;

/// One element: its namespace, local name, child elements and text content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    pub namespace: Option<String>,
    pub name: String,
    pub children: Vec<Node>,
    /// The element's own text (text and CDATA directly inside it, concatenated).
    pub text: String,
    /// `xsi:nil="true"`: the element stands for an absent value.
    pub nil: bool,
}

impl Node {
    /// Child elements with the given local name, in document order, skipping nil ones.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name && !c.nil)
    }

    /// The first non-nil child with the given local name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name && !c.nil)
    }

    /// The first child element, whatever its name.
    pub fn first_child(&self) -> Option<&Node> {
        self.children.first()
    }
}

/// Parses a whole document into its root element.
pub fn parse(input: &[u8]) -> Result<Node, CodecError> {
    let text = std::str::from_utf8(input).map_err(CodecError::NotUtf8)?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = false;
    let mut stack: Vec<Node> = Vec::new();
    let mut elements = 0usize;
    let malformed =
        |reader: &NsReader<&[u8]>, source| CodecError::Malformed { position: reader.error_position(), source };
    loop {
        let (resolved, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (namespace_of(ns), event),
            Err(source) => return Err(malformed(&reader, source)),
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(CodecError::TooDeep { limit: MAX_DEPTH });
                }
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(CodecError::TooManyElements { limit: MAX_ELEMENTS });
                }
                // Attributes are parsed lazily by quick-xml; walk them all so that a
                // malformed one (unquoted, duplicated) is reported instead of skipped.
                let mut nil = false;
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| malformed(&reader, quick_xml::Error::InvalidAttr(e)))?;
                    nil |= attr.key.local_name().as_ref() == "nil" && matches!(attr.value.as_ref(), "true" | "1");
                }
                let node =
                    Node { namespace: resolved, name: start.local_name().as_ref().to_owned(), nil, ..Node::default() };
                if matches!(event, Event::Empty(_)) {
                    if let Some(root) = attach(&mut stack, node) {
                        return finish(&mut reader, root);
                    }
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match; an unmatched end is an error there.
                let Some(node) = stack.pop() else {
                    return Err(CodecError::NoRoot);
                };
                if let Some(root) = attach(&mut stack, node) {
                    return finish(&mut reader, root);
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch,
                    Ok(None) => predefined_entity(&r.xml10_content())
                        .ok_or_else(|| CodecError::UnknownEntity(r.xml10_content().into_owned()))?,
                    Err(source) => return Err(malformed(&reader, source)),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(ch);
                }
            }
            Event::DocType(_) => return Err(CodecError::DocType),
            // quick-xml reports end of input without complaint even inside open elements;
            // a truncated document is malformed, not empty.
            Event::Eof => {
                return Err(match stack.last() {
                    None => CodecError::NoRoot,
                    Some(open) => CodecError::Malformed {
                        position: reader.buffer_position(),
                        source: quick_xml::Error::IllFormed(quick_xml::errors::IllFormedError::MissingEndTag(
                            open.name.clone(),
                        )),
                    },
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
}

/// Adds a finished node to its parent; returns it if it was the root.
fn attach(stack: &mut [Node], node: Node) -> Option<Node> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(node);
            None
        }
        None => Some(node),
    }
}

/// After the root closes only whitespace, comments and PIs may follow.
fn finish(reader: &mut NsReader<&[u8]>, root: Node) -> Result<Node, CodecError> {
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return Ok(root),
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

fn namespace_of(resolved: ResolveResult<'_>) -> Option<String> {
    match resolved {
        ResolveResult::Bound(ns) => Some(ns.as_ref().to_owned()),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
    }
}

fn predefined_entity(name: &str) -> Option<char> {
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

    #[test]
    fn parses_prefixes_text_cdata_and_entities() {
        let root =
            parse(br#"<?xml version="1.0"?><a:x xmlns:a="urn:a"><b>1 &amp; 2&#33;</b><c><![CDATA[<raw>]]></c></a:x>"#)
                .unwrap();
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
    fn nil_elements_are_skipped_by_lookups() {
        let root =
            parse(br#"<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><b xsi:nil="true"/></a>"#).unwrap();
        assert!(root.child("b").is_none());
    }
}
