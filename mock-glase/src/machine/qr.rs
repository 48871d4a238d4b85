//! The QR codes the simulated app understands, read the way a phone app reads a URL
//! (issue 10). The grammar, documented in docs/mock.md ("Playing the customer"):
//!
//! ```text
//! qr        = scheme "://" "seqr.se" "/" path [ "?" query ] [ "#" fragment ]
//! scheme    = "http" | "https" | "seqr"                 ; any case
//! path      = ( "R" | "r" ) digits                      ; an invoice
//!           | ( "Q" | "q" ) alphanumerics               ; a till's sticker [decision]
//!           | "000/ups"                                 ; an unattended machine; any case
//! query     = param *( "&" param )                      ; only after 000/ups
//! param     = ( "w" | "t" ) "=" value                   ; names in any case
//! ```
//!
//! **[decision]** Scheme, host and path compare case-insensitively: QR codes are usually
//! printed in alphanumeric mode, which has only upper-case letters (the seed writes
//! `HTTP://SEQR.SE/000/ups`; a code written all upper case is the same code), and a real
//! app matches them as URLs do. For the same reason parameter *names* compare
//! case-insensitively; their *values* (merchant ids, tokens) are kept exactly.
//! Percent-encoding (`%31`, `%2F`, UTF-8 sequences) is decoded in the path and in each
//! parameter name and value, after splitting on `&` and `=`, so an encoded `&` or `=` is
//! part of a value. `+` is a literal plus: RFC 3986 gives it no meaning in a query (only
//! HTML forms write a space as `+`), so a token with a space is written `%20`. The
//! fragment is dropped, as a browser drops it. Refused, with the reason: a parameter that
//! is empty, repeated (`w` twice) or unknown, a missing `w` or `t`, a query on an invoice
//! or till code, malformed percent-encoding, a value that is not UTF-8 or holds a control
//! character.

use serde::Serialize;

use super::customer_error::CustomerError;

/// What a scanned QR code points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum QrTarget {
    /// `HTTP://SEQR.SE/R<invoiceReference>` (or `seqr://SEQR.SE/R…` from a mobile browser).
    Invoice { reference: String },
    /// `HTTP://SEQR.SE/Q<seqrId>`: a till's static sticker **[decision]**.
    Terminal { seqr_id: String },
    /// `HTTP://SEQR.SE/000/ups?w=<merchantId>&t=<token>`: an unattended machine.
    Unattended { merchant_id: String, token: String },
}

/// Parses the text of a QR code (see the module docs for the grammar).
pub fn parse_qr(qr: &str) -> Result<QrTarget, CustomerError> {
    let text = qr.trim();
    let not_glase = || CustomerError::NotAGlaseQr(text.to_owned());
    let malformed = |reason: String| CustomerError::MalformedQr { qr: text.to_owned(), reason };
    // A fragment is the reader's business, never the server's.
    let url = text.split_once('#').map_or(text, |(url, _)| url);
    let (scheme, rest) = url.split_once("://").ok_or_else(not_glase)?;
    if !["http", "https", "seqr"].iter().any(|s| scheme.eq_ignore_ascii_case(s)) {
        return Err(not_glase());
    }
    let (location, query) = match rest.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (rest, None),
    };
    let (host, path) = location.split_once('/').ok_or_else(not_glase)?;
    if !host.eq_ignore_ascii_case("seqr.se") {
        return Err(not_glase());
    }
    let path = percent_decode(path).map_err(|reason| malformed(format!("path: {reason}")))?;
    if path.eq_ignore_ascii_case("000/ups") {
        return parse_unattended(text, query.unwrap_or_default());
    }
    let (kind, id) = path.split_at(path.chars().next().map_or(0, char::len_utf8));
    let target = match kind {
        "R" | "r" if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            QrTarget::Invoice { reference: id.to_owned() }
        }
        "Q" | "q" if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            QrTarget::Terminal { seqr_id: id.to_owned() }
        }
        _ => return Err(not_glase()),
    };
    match query {
        Some(query) => Err(malformed(format!("an invoice or till code takes no parameters, found {query:?}"))),
        None => Ok(target),
    }
}

/// `w=<merchantId>&t=<token>`, both present once, non-empty, nothing else.
fn parse_unattended(qr: &str, query: &str) -> Result<QrTarget, CustomerError> {
    let malformed = |reason: String| CustomerError::MalformedUnattendedQr { qr: qr.to_owned(), reason };
    let (mut merchant, mut token) = (None, None);
    if !query.is_empty() {
        for pair in query.split('&') {
            if pair.is_empty() {
                return Err(malformed("empty parameter (\"&&\" or a trailing \"&\")".to_owned()));
            }
            let (key, value) =
                pair.split_once('=').ok_or_else(|| malformed(format!("parameter {pair:?} is not key=value")))?;
            let key = percent_decode(key).map_err(|reason| malformed(format!("parameter name {key:?}: {reason}")))?;
            let (slot, name) = match key.to_ascii_lowercase().as_str() {
                "w" => (&mut merchant, "w"),
                "t" => (&mut token, "t"),
                _ => return Err(malformed(format!("unknown parameter {key:?} (only w and t are known)"))),
            };
            let value = percent_decode(value).map_err(|reason| malformed(format!("parameter {name}: {reason}")))?;
            if value.is_empty() {
                return Err(malformed(format!("parameter {name} is empty")));
            }
            if slot.replace(value).is_some() {
                return Err(malformed(format!("parameter {name} appears twice")));
            }
        }
    }
    let merchant_id = merchant.ok_or_else(|| malformed("missing merchant id w".to_owned()))?;
    let token = token.ok_or_else(|| malformed("missing token t".to_owned()))?;
    Ok(QrTarget::Unattended { merchant_id, token })
}

/// Decodes `%XX` escapes (RFC 3986); every `%` must start one, and the result must be
/// UTF-8 without control characters.
fn percent_decode(text: &str) -> Result<String, String> {
    let escape_at = |i: usize| text.as_bytes().get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
    if let Some((i, _)) = text.match_indices('%').find(|(i, _)| !escape_at(*i)) {
        // `i` is at a '%', a character boundary; the snippet is whole characters.
        let snippet: String = text[i..].chars().take(3).collect();
        return Err(format!("malformed percent-encoding at {snippet:?}"));
    }
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| "percent-encoding that is not UTF-8".to_owned())?;
    if let Some(c) = decoded.chars().find(|c| c.is_control()) {
        return Err(format!("control character U+{:04X}", u32::from(c)));
    }
    Ok(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn unattended(merchant_id: &str, token: &str) -> QrTarget {
        QrTarget::Unattended { merchant_id: merchant_id.into(), token: token.into() }
    }

    #[test]
    fn parses_every_documented_qr_form() {
        assert_eq!(
            parse_qr("HTTP://SEQR.SE/R1397240460668").unwrap(),
            QrTarget::Invoice { reference: "1397240460668".into() }
        );
        assert_eq!(parse_qr("seqr://SEQR.SE/R12345").unwrap(), QrTarget::Invoice { reference: "12345".into() });
        assert_eq!(parse_qr("HTTP://SEQR.SE/Qtill42").unwrap(), QrTarget::Terminal { seqr_id: "till42".into() });
        assert_eq!(
            parse_qr("HTTP://SEQR.SE/000/ups?w=glase-demo&t=123456").unwrap(),
            unattended("glase-demo", "123456")
        );
    }

    #[test]
    fn query_values_are_percent_decoded_before_they_reach_the_backend() {
        assert_eq!(parse_qr("HTTP://SEQR.SE/000/ups?w=m&t=M%31").unwrap(), unattended("m", "M1"));
        assert_eq!(parse_qr("HTTP://SEQR.SE/000/ups?w=caf%C3%A9&t=a%26b%3Dc").unwrap(), unattended("café", "a&b=c"));
        assert_eq!(parse_qr("HTTP://SEQR.SE/000/ups?w=m&t=a%20b").unwrap(), unattended("m", "a b"));
        // `+` is a plus, as RFC 3986 and iOS read it.
        assert_eq!(parse_qr("HTTP://SEQR.SE/000/ups?w=m&t=a+b").unwrap(), unattended("m", "a+b"));
        assert_eq!(parse_qr("HTTP://SEQR.SE/R%31%32").unwrap(), QrTarget::Invoice { reference: "12".into() });
    }

    #[test]
    fn a_fragment_is_dropped() {
        assert_eq!(parse_qr("HTTP://SEQR.SE/000/ups?w=m&t=tok#section").unwrap(), unattended("m", "tok"));
        assert_eq!(parse_qr("HTTP://SEQR.SE/R42#x").unwrap(), QrTarget::Invoice { reference: "42".into() });
        // An encoded '#' is part of the token.
        assert_eq!(parse_qr("HTTP://SEQR.SE/000/ups?w=m&t=a%23b").unwrap(), unattended("m", "a#b"));
    }

    #[test]
    fn scheme_host_path_and_parameter_names_compare_case_insensitively_values_do_not() {
        for qr in [
            "http://seqr.se/000/ups?w=Merchant&t=ToKeN",
            "HTTPS://Seqr.Se/000/UPS?W=Merchant&T=ToKeN",
            "SEQR://SEQR.SE/000/Ups?w=Merchant&T=ToKeN",
        ] {
            assert_eq!(parse_qr(qr).unwrap(), unattended("Merchant", "ToKeN"), "{qr}");
        }
        assert_eq!(parse_qr("https://seqr.se/r7").unwrap(), QrTarget::Invoice { reference: "7".into() });
    }

    #[test]
    fn refuses_malformed_codes_with_the_reason() {
        for bad in
            ["https://example.com/R1", "HTTP://SEQR.SE/Rabc", "HTTP://SEQR.SE/R", "HTTP://SEQR.SE", "ftp://seqr.se/R1"]
        {
            assert!(matches!(parse_qr(bad), Err(CustomerError::NotAGlaseQr(_))), "{bad}");
        }
        for (bad, reason) in [
            ("HTTP://SEQR.SE/000/ups?w=m", "missing token t"),
            ("HTTP://SEQR.SE/000/ups", "missing merchant id w"),
            ("HTTP://SEQR.SE/000/ups?t=1", "missing merchant id w"),
            ("HTTP://SEQR.SE/000/ups?w=m&t=1&x=2", "unknown parameter \"x\""),
            ("HTTP://SEQR.SE/000/ups?w=m&t=1&t=2", "parameter t appears twice"),
            ("HTTP://SEQR.SE/000/ups?w=m&t=1&T=2", "parameter t appears twice"),
            ("HTTP://SEQR.SE/000/ups?w=&t=1", "parameter w is empty"),
            ("HTTP://SEQR.SE/000/ups?w=m&t=%41%4", "malformed percent-encoding"),
            ("HTTP://SEQR.SE/000/ups?w=m&t=%zz", "malformed percent-encoding"),
            ("HTTP://SEQR.SE/000/ups?w=m&t=%FF", "not UTF-8"),
            ("HTTP://SEQR.SE/000/ups?w=m&t=a%00", "control character U+0000"),
            ("HTTP://SEQR.SE/000/ups?w=m&&t=1", "empty parameter"),
            ("HTTP://SEQR.SE/000/ups?w=m&t=1&", "empty parameter"),
            ("HTTP://SEQR.SE/000/ups?w=m&t", "is not key=value"),
        ] {
            match parse_qr(bad) {
                Err(CustomerError::MalformedUnattendedQr { reason: got, .. }) => {
                    assert!(got.contains(reason), "{bad}: {got:?} lacks {reason:?}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(parse_qr("HTTP://SEQR.SE/R1?x=1"), Err(CustomerError::MalformedQr { .. })));
        assert!(matches!(parse_qr("HTTP://SEQR.SE/R%3"), Err(CustomerError::MalformedQr { .. })));
    }

    /// Every byte but the unreserved ones, percent-encoded: what a careful QR printer does.
    fn encode(value: &str) -> String {
        value
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    proptest! {
        /// Any token and merchant id without control characters survives percent-encoding
        /// into a QR code and back, in any parameter order.
        #[test]
        fn any_token_round_trips_through_percent_encoding(
            merchant in "[^\\p{Cc}]{1,24}",
            token in "[^\\p{Cc}]{1,40}",
            token_first in any::<bool>(),
            upper in any::<bool>(),
        ) {
            let (w, t) = (format!("w={}", encode(&merchant)), format!("t={}", encode(&token)));
            let query = if token_first { format!("{t}&{w}") } else { format!("{w}&{t}") };
            let base = if upper { "HTTP://SEQR.SE/000/UPS" } else { "http://seqr.se/000/ups" };
            let qr = format!("{base}?{query}");
            prop_assert_eq!(parse_qr(&qr).unwrap(), unattended(&merchant, &token));
        }

        /// Text that is not a QR code is refused, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,64}") {
            let _ = parse_qr(&text);
            let _ = parse_qr(&format!("HTTP://SEQR.SE/000/ups?{text}"));
        }
    }
}
