//! The bodies of the fuzz targets: one function over bytes per target, each panicking only
//! when it finds a bug (a panic in the code under test, or a broken property).
//!
//! `fuzz_targets/*.rs` hand them to libFuzzer (`cargo +nightly fuzz run TARGET`);
//! `tests/seeds.rs` runs them over the seed corpora as ordinary tests on stable, which is
//! what CI does (see docs/contributing.md, "Fuzzing", for why).
//!
//! | target | input | property |
//! | --- | --- | --- |
//! | [`soap_request`] | a SOAP message, any encoding | decoding never panics; what decodes, encodes and decodes to the same value (requests, responses, faults) |
//! | [`fast_path`] | UTF-8 text | the fast XML scanner accepts only what quick-xml accepts, and reads it the same |
//! | [`create_purchase_answer`] | status, Content-Type and body of a createPurchase answer | the mock's judge never panics, and accepts only a JSON object naming one string reference or one known error code |
//! | [`control_body`] | a control API call's JSON body | deserialization and the handler's checks never panic |
//! | [`scenario`] | a scenario file | the conformance suite's loader never panics |

use glase_protocol::soap::{DecodeOptions, decode_request_with};
use glase_protocol::{Reply, decode_reply, encode_fault, encode_request, encode_response};
use mock_glase::machine::ups::{AnswerSays, ERROR_CODES, PurchaseAnswer, read_answer};

/// `charset` values tried besides none, one per input (chosen by its length).
const CHARSETS: &[&str] = &["utf-8", "ISO-8859-1", "UTF-16", "utf-16le", "windows-1252", "us-ascii", "Shift_JIS"];

/// SOAP decoding: requests strictly, laxly and with a Content-Type charset; replies. A
/// request that decodes is encoded again, and that must decode (strictly, without a
/// charset) to the same request, without deviations, and encode to the same bytes; a
/// reply likewise.
pub fn soap_request(data: &[u8]) {
    let charset = CHARSETS[data.len() % CHARSETS.len()];
    for options in [
        DecodeOptions::default(),
        DecodeOptions { lax: true, ..DecodeOptions::default() },
        DecodeOptions { charset: Some(charset), lax: false },
    ] {
        let Ok(decoded) = decode_request_with(data, &options) else { continue };
        let mut xml = Vec::new();
        encode_request(&decoded.request, &mut xml);
        let again = decode_request_with(&xml, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("the encoder's output does not decode: {}\n{}", e.chain(), lossy(&xml)));
        assert_eq!(again.request, decoded.request, "decode(encode(x)) != x\n{}", lossy(&xml));
        assert!(again.deviations.is_empty(), "the encoder wrote a deviation: {:?}", again.deviations);
        let mut twice = Vec::new();
        encode_request(&again.request, &mut twice);
        assert_eq!(twice, xml, "encoding is not a fixed point");
    }
    match decode_reply(data) {
        Ok(Reply::Response(response)) => {
            let mut xml = Vec::new();
            encode_response(&response, &mut xml);
            let again = decode_reply(&xml)
                .unwrap_or_else(|e| panic!("the encoder's output does not decode: {}\n{}", e.chain(), lossy(&xml)));
            assert_eq!(again, Reply::Response(response), "decode(encode(x)) != x\n{}", lossy(&xml));
        }
        Ok(Reply::Fault(fault)) => {
            let mut xml = Vec::new();
            encode_fault(&fault, &mut xml);
            let again = decode_reply(&xml)
                .unwrap_or_else(|e| panic!("the encoder's output does not decode: {}\n{}", e.chain(), lossy(&xml)));
            assert_eq!(again, Reply::Fault(fault), "decode(encode(x)) != x\n{}", lossy(&xml));
        }
        Err(_) => {}
    }
}

/// The fast XML path against quick-xml (`protocol/src/xml/fast.rs`): wherever the fast
/// path takes a document, quick-xml must take it too and build the same tree.
pub fn fast_path(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        glase_protocol::fuzzing::agrees_with_quick_xml(text);
    }
}

/// Statuses and Content-Types a createPurchase answer is tried with (first two bytes).
const STATUSES: &[u16] = &[200, 200, 200, 201, 204, 301, 307, 400, 500, 503];
const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json;charset=UTF-8"),
    Some("application/json"),
    Some(" Application/JSON ; charset=utf-8"),
    Some("application/json-seq"),
    Some("text/plain"),
    Some(""),
    None,
];

/// The mock's reading of a merchant's createPurchase answer
/// (`mock_glase::machine::ups::read_answer`): never a panic, and what it accepts is a
/// JSON object with exactly the one key it reports.
pub fn create_purchase_answer(data: &[u8]) {
    let (status, content_type, body) = match data {
        [s, c, body @ ..] => (
            STATUSES[usize::from(*s) % STATUSES.len()],
            CONTENT_TYPES[usize::from(*c) % CONTENT_TYPES.len()],
            String::from_utf8_lossy(body).into_owned(),
        ),
        _ => return,
    };
    let answer = PurchaseAnswer::Http { status, content_type: content_type.map(str::to_owned), body: body.clone() };
    let Ok(says) = read_answer(&answer) else { return };
    assert_eq!(status, 200);
    let value: serde_json::Value = serde_json::from_str(&body).expect("an accepted answer is JSON");
    let object = value.as_object().expect("an accepted answer is an object");
    match says {
        AnswerSays::Invoice(reference) => {
            assert_eq!(object.get("invoiceReferenceId").and_then(|v| v.as_str()), Some(reference.as_str()));
            assert!(!object.contains_key("errorCode"));
        }
        AnswerSays::ErrorCode(code) => {
            assert!(ERROR_CODES.contains(&code.as_str()), "{code}");
            assert_eq!(object.get("errorCode").and_then(|v| v.as_str()), Some(code.as_str()));
            assert!(!object.contains_key("invoiceReferenceId"));
        }
    }
}

/// A control API body: the first byte picks the call (`mock_glase::http::control::BODY_KINDS`),
/// the rest is its JSON body.
pub fn control_body(data: &[u8]) {
    if let [kind, body @ ..] = data {
        let _ = mock_glase::http::control::check_body(*kind, body);
    }
}

/// A scenario file through the conformance suite's loader.
pub fn scenario(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = glase_conformance::scenario::load_str("fuzz.yaml", text, &|_| true);
    }
}

fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}
