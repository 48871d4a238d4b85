//! Character encodings of incoming messages: a SOAP request is bytes, labelled by a byte
//! order mark, the HTTP `Content-Type` charset and the XML declaration's `encoding`, and
//! the parsers read UTF-8 text.
//!
//! A Java server (JAX-WS on a StAX parser) decodes whatever these labels say, so a client
//! that sends a correctly labelled ISO-8859-1 or UTF-16 message works against Glase; this
//! module does the same **[decision]**: UTF-8 (with or without a BOM), UTF-16 little and
//! big endian (with a BOM, or sniffed from `<?` as XML 1.0 appendix F describes),
//! ISO-8859-1, windows-1252 and US-ASCII. The labels that are present must agree with
//! each other and with the bytes; a disagreement, an encoding outside that list, or bytes
//! that are not valid in the encoding are refused with an error naming the problem (the
//! mock answers a `soap:Client` fault), never guessed at.
//!
//! # Implementation rationale
//! The usual message is UTF-8 with a UTF-8 (or no) label: it is checked in place and
//! borrowed, so only messages in other encodings pay for a copy. A hand-written decoder
//! for five encodings instead of `encoding_rs`: the protocol crate stays small, and these
//! are the ones Java clients are seen to send; a new one is a table or a loop here.

use std::borrow::Cow;

use crate::error::CodecError;

/// An encoding this module decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Latin1,
    Windows1252,
    Ascii,
}

impl Encoding {
    /// The canonical name, for error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
            Self::Latin1 => "ISO-8859-1",
            Self::Windows1252 => "windows-1252",
            Self::Ascii => "US-ASCII",
        }
    }

    const fn is_utf16(self) -> bool {
        matches!(self, Self::Utf16Le | Self::Utf16Be)
    }
}

/// What a label names: an encoding, or "UTF-16" of either byte order (the BOM says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Exactly(Encoding),
    Utf16,
}

impl Label {
    /// The IANA names and aliases Java accepts for the supported encodings,
    /// case-insensitively.
    fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "utf-8" | "utf8" => Self::Exactly(Encoding::Utf8),
            "utf-16" | "utf16" => Self::Utf16,
            "utf-16le" | "utf16le" | "x-utf-16le" => Self::Exactly(Encoding::Utf16Le),
            "utf-16be" | "utf16be" | "x-utf-16be" => Self::Exactly(Encoding::Utf16Be),
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "iso8859_1" | "latin1" | "latin-1" | "l1" | "cp819"
            | "ibm819" | "iso-ir-100" | "csisolatin1" => Self::Exactly(Encoding::Latin1),
            "windows-1252" | "cp1252" | "x-cp1252" => Self::Exactly(Encoding::Windows1252),
            "us-ascii" | "ascii" | "iso646-us" | "ansi_x3.4-1968" | "csascii" => Self::Exactly(Encoding::Ascii),
            _ => return None,
        })
    }

    /// Whether the label fits bytes that are in `encoding`.
    fn fits(self, encoding: Encoding) -> bool {
        match self {
            Self::Exactly(named) => named == encoding,
            Self::Utf16 => encoding.is_utf16(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Exactly(encoding) => encoding.name(),
            Self::Utf16 => "UTF-16",
        }
    }
}

/// The `charset` parameter of a `Content-Type` value (`text/xml; charset="ISO-8859-1"`),
/// without quotes; `None` when there is none.
pub fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').trim())
    })
}

/// How the bytes themselves say they are encoded: a BOM, or the first characters `<?`
/// in UTF-16 without one. `None`: an ASCII-compatible encoding, which only the labels
/// can name.
fn sniff(input: &[u8]) -> Option<(Encoding, usize)> {
    match input {
        [0xEF, 0xBB, 0xBF, ..] => Some((Encoding::Utf8, 3)),
        [0xFF, 0xFE, ..] => Some((Encoding::Utf16Le, 2)),
        [0xFE, 0xFF, ..] => Some((Encoding::Utf16Be, 2)),
        [b'<', 0, b'?', 0, ..] => Some((Encoding::Utf16Le, 0)),
        [0, b'<', 0, b'?', ..] => Some((Encoding::Utf16Be, 0)),
        _ => None,
    }
}

/// The `encoding` pseudo-attribute of an XML declaration at the start of `head`, which
/// holds the declaration's characters one byte each (ASCII). `Ok(None)`: no declaration,
/// or one without `encoding`.
fn declared_encoding(head: &[u8]) -> Result<Option<String>, CodecError> {
    let Some(rest) = head.strip_prefix(b"<?xml") else { return Ok(None) };
    if !rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    let end = rest.windows(2).position(|w| w == b"?>").unwrap_or(rest.len());
    let declaration = &rest[..end];
    let Some(at) = declaration.windows(8).position(|w| w == b"encoding") else { return Ok(None) };
    let after = declaration[at + 8..].trim_ascii_start();
    let malformed = || CodecError::BadDeclaration;
    let after = after.strip_prefix(b"=").ok_or_else(malformed)?.trim_ascii_start();
    let (&quote, value) = after.split_first().ok_or_else(malformed)?;
    if quote != b'"' && quote != b'\'' {
        return Err(malformed());
    }
    let close = value.iter().position(|&b| b == quote).ok_or_else(malformed)?;
    Ok(Some(String::from_utf8_lossy(&value[..close]).into_owned()))
}

/// The first characters of a UTF-16 message as one byte each (non-ASCII ones as `?`),
/// enough to read its declaration.
fn utf16_head(body: &[u8], encoding: Encoding) -> Vec<u8> {
    body.chunks_exact(2)
        .take(256)
        .map(|pair| {
            let unit = if encoding == Encoding::Utf16Le {
                u16::from_le_bytes([pair[0], pair[1]])
            } else {
                u16::from_be_bytes([pair[0], pair[1]])
            };
            u8::try_from(unit).ok().filter(u8::is_ascii).unwrap_or(b'?')
        })
        .collect()
}

/// The message as text, decoded as its BOM, `charset` (the HTTP `Content-Type`'s, if
/// any) and XML declaration say; borrowed when it is UTF-8 already. See the module docs
/// for what is accepted.
pub fn decode_text<'a>(input: &'a [u8], charset: Option<&str>) -> Result<Cow<'a, str>, CodecError> {
    let unsupported = |origin: &'static str, label: &str| CodecError::UnsupportedEncoding {
        origin,
        label: label.chars().take(40).collect(),
    };
    let content_type = match charset {
        Some(label) => Some(Label::parse(label).ok_or_else(|| unsupported("the Content-Type charset", label))?),
        None => None,
    };
    let sniffed = sniff(input);
    let (body, declared) = match sniffed {
        Some((encoding, bom)) if encoding.is_utf16() => {
            let body = &input[bom..];
            (body, declared_encoding(&utf16_head(body, encoding))?)
        }
        Some((_, bom)) => (&input[bom..], declared_encoding(&input[bom..])?),
        None => (input, declared_encoding(input)?),
    };
    let declared = match declared {
        Some(label) => Some(Label::parse(&label).ok_or_else(|| unsupported("the XML declaration", &label))?),
        None => None,
    };
    let mismatch = |first: String, second: String| CodecError::EncodingMismatch { first, second };
    let encoding = match sniffed {
        Some((encoding, bom)) => {
            let what =
                if bom > 0 { format!("a {} byte order mark", encoding.name()) } else { encoding.name().to_owned() };
            for (source, label) in [("Content-Type charset", content_type), ("XML declaration", declared)] {
                if let Some(label) = label.filter(|l| !l.fits(encoding)) {
                    return Err(mismatch(
                        format!("the message starts with {what}"),
                        format!("the {source} says {}", label.name()),
                    ));
                }
            }
            encoding
        }
        None => {
            for (source, label) in [("Content-Type charset", content_type), ("XML declaration", declared)] {
                if let Some(label @ (Label::Utf16 | Label::Exactly(Encoding::Utf16Le | Encoding::Utf16Be))) = label {
                    return Err(mismatch(
                        format!("the {source} says {}", label.name()),
                        "the message is not UTF-16 (no byte order mark, and `<?xml` in single bytes)".to_owned(),
                    ));
                }
            }
            match (content_type, declared) {
                (Some(Label::Exactly(a)), Some(Label::Exactly(b))) if a != b => {
                    return Err(mismatch(
                        format!("the Content-Type charset says {}", a.name()),
                        format!("the XML declaration says {}", b.name()),
                    ));
                }
                (Some(Label::Exactly(encoding)), _) | (None, Some(Label::Exactly(encoding))) => encoding,
                _ => Encoding::Utf8,
            }
        }
    };
    decode_as(body, encoding)
}

fn decode_as(body: &[u8], encoding: Encoding) -> Result<Cow<'_, str>, CodecError> {
    let undecodable = |position: usize| CodecError::Undecodable { encoding: encoding.name(), position };
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(body).map(Cow::Borrowed).map_err(CodecError::NotUtf8),
        Encoding::Ascii => match body.iter().position(|b| !b.is_ascii()) {
            Some(position) => Err(undecodable(position)),
            // ASCII is UTF-8.
            None => std::str::from_utf8(body).map(Cow::Borrowed).map_err(CodecError::NotUtf8),
        },
        Encoding::Latin1 => Ok(Cow::Owned(body.iter().map(|&b| char::from(b)).collect())),
        Encoding::Windows1252 => {
            let mut text = String::with_capacity(body.len());
            for (position, &b) in body.iter().enumerate() {
                text.push(match b {
                    0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)].ok_or_else(|| undecodable(position))?,
                    _ => char::from(b),
                });
            }
            Ok(Cow::Owned(text))
        }
        Encoding::Utf16Le | Encoding::Utf16Be => {
            if !body.len().is_multiple_of(2) {
                return Err(undecodable(body.len() - 1));
            }
            let units = body.chunks_exact(2).map(|pair| {
                if encoding == Encoding::Utf16Le {
                    u16::from_le_bytes([pair[0], pair[1]])
                } else {
                    u16::from_be_bytes([pair[0], pair[1]])
                }
            });
            let mut text = String::with_capacity(body.len() / 2);
            let mut position = 0;
            for decoded in char::decode_utf16(units) {
                let c = decoded.map_err(|_| undecodable(position))?;
                position += 2 * c.len_utf16();
                text.push(c);
            }
            Ok(Cow::Owned(text))
        }
    }
}

/// windows-1252's characters for the bytes 0x80–0x9F (five are undefined).
const WINDOWS_1252_HIGH: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
        for unit in units {
            out.extend_from_slice(&if little { unit.to_le_bytes() } else { unit.to_be_bytes() });
        }
        out
    }

    #[test]
    fn utf8_is_borrowed_with_or_without_a_label() {
        let text = "<?xml version='1.0' encoding='utf-8'?><a>Café</a>";
        assert!(matches!(decode_text(text.as_bytes(), None), Ok(Cow::Borrowed(t)) if t == text));
        assert!(matches!(decode_text(text.as_bytes(), Some("UTF-8")), Ok(Cow::Borrowed(_))));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode_text(&bom, None).unwrap(), text);
    }

    #[test]
    fn latin1_is_decoded_by_declaration_or_charset() {
        let declared = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Caf\xE9</a>";
        assert_eq!(decode_text(declared, None).unwrap(), "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Café</a>");
        assert_eq!(decode_text(declared, Some("latin1")).unwrap().len(), declared.len() + 1);
        assert_eq!(decode_text(b"<a>Caf\xE9</a>", Some("iso-8859-1")).unwrap(), "<a>Café</a>");
        assert_eq!(decode_text(b"<a>\x80</a>", Some("windows-1252")).unwrap(), "<a>€</a>");
    }

    #[test]
    fn utf16_is_decoded_with_a_bom_or_sniffed() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>Café 😀</a>";
        for little in [true, false] {
            assert_eq!(decode_text(&utf16(text, little, true), None).unwrap(), text);
            assert_eq!(decode_text(&utf16(text, little, true), Some("utf-16")).unwrap(), text);
            assert_eq!(decode_text(&utf16(text, little, false), None).unwrap(), text);
        }
    }

    #[test]
    fn disagreeing_labels_are_refused_naming_both() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>";
        let error = decode_text(latin, Some("utf-8")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the message's encoding is contradictory: the Content-Type charset says UTF-8, but the XML declaration says ISO-8859-1"
        );
        let error = decode_text(b"<a/>", Some("UTF-16")).unwrap_err();
        assert!(matches!(error, CodecError::EncodingMismatch { .. }), "{error}");
        let le = utf16("<?xml version=\"1.0\" encoding=\"UTF-16BE\"?><a/>", true, true);
        assert!(matches!(decode_text(&le, None), Err(CodecError::EncodingMismatch { .. })));
        let bom_utf8 = b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"latin1\"?><a/>";
        assert!(matches!(decode_text(bom_utf8, None), Err(CodecError::EncodingMismatch { .. })));
    }

    #[test]
    fn unknown_encodings_and_bad_bytes_are_named() {
        let error = decode_text(b"<?xml version='1.0' encoding='Shift_JIS'?><a/>", None).unwrap_err();
        assert_eq!(error.to_string(), "unsupported encoding \"Shift_JIS\" in the XML declaration");
        assert!(matches!(decode_text(b"<a/>", Some("ebcdic")), Err(CodecError::UnsupportedEncoding { .. })));
        assert!(matches!(decode_text(b"<a>\xff</a>", None), Err(CodecError::NotUtf8(_))));
        assert!(matches!(
            decode_text(b"<a>\xC3\xA9</a>", Some("us-ascii")),
            Err(CodecError::Undecodable { encoding: "US-ASCII", position: 3 })
        ));
        assert!(matches!(decode_text(b"<a>\x81</a>", Some("cp1252")), Err(CodecError::Undecodable { .. })));
        // A lone surrogate, and an odd number of bytes.
        assert!(matches!(
            decode_text(b"\xFF\xFE<\x00\x00\xD8", None),
            Err(CodecError::Undecodable { position: 2, .. })
        ));
        assert!(matches!(decode_text(b"\xFF\xFE<\x00a", None), Err(CodecError::Undecodable { .. })));
        assert!(matches!(
            decode_text(b"<?xml version='1.0' encoding=latin1?><a/>", None),
            Err(CodecError::BadDeclaration)
        ));
    }

    #[test]
    fn charset_parameters_are_found_quoted_or_not() {
        assert_eq!(charset_of("text/xml; charset=ISO-8859-1"), Some("ISO-8859-1"));
        assert_eq!(charset_of("text/xml;Charset=\"utf-16\""), Some("utf-16"));
        assert_eq!(charset_of("application/soap+xml; action=x; charset=utf-8"), Some("utf-8"));
        assert_eq!(charset_of("text/xml"), None);
    }
}
