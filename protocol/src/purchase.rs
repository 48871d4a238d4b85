//! The body of createPurchase (spec 2.1): the JSON that Glase's Unattended Payments
//! Service POSTs to a reseller when a customer scans a machine. The mock writes it; a
//! vending backend (the reference reseller, the benchmark's null backend) and the
//! suite's rules read it. It comes in two dialects, the seed's and the older document's.
//!
//! # Implementation rationale
//! Amounts are written from and read as decimal text, never through `f64`: the
//! workspace's `serde_json` has no `arbitrary_precision`, so a body is read with
//! `RawValue` and the number's own text is parsed into a `Decimal` (`20.00` stays
//! `20.00`, `2e1` is 20, `1e400` is refused instead of becoming infinity).

use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The two createPurchase body dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// `{"token", "amount": 20.00, "currency", "msisdn"}`: the seed's form, the amount
    /// a JSON number.
    #[default]
    Seed,
    /// `{"reservationToken", "reservationAmount": "20.00", "currency", "msisdn"}`: the
    /// older document's, the amount a string.
    Legacy,
}

/// What a createPurchase asks for, in either dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRequest {
    /// The machine's token from the scanned QR code.
    pub token: String,
    /// How much to reserve.
    pub amount: Decimal,
    pub currency: String,
    /// The customer's number, when the UPS sends it (it always does; the reader does
    /// not insist).
    pub msisdn: Option<String>,
}

/// Why a createPurchase body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurchaseRequestError {
    #[error("not a createPurchase JSON object: {0}")]
    NotJson(String),
    #[error("no token (or reservationToken)")]
    NoToken,
    #[error("no amount (or reservationAmount)")]
    NoAmount,
    #[error("amount {0} is not a decimal number")]
    AmountNotDecimal(String),
    #[error("no currency")]
    NoCurrency,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    #[serde(borrow)]
    token: Option<&'a RawValue>,
    #[serde(borrow)]
    reservation_token: Option<&'a RawValue>,
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
    #[serde(borrow)]
    reservation_amount: Option<&'a RawValue>,
    currency: Option<String>,
    #[serde(borrow)]
    msisdn: Option<&'a RawValue>,
}

impl PurchaseRequest {
    /// Reads a body in either dialect. Unknown fields are ignored; the token and msisdn
    /// may be strings or numbers; the amount a number or a string of decimal text.
    pub fn read(body: &[u8]) -> Result<Self, PurchaseRequestError> {
        let wire: Wire<'_> = serde_json::from_slice(body).map_err(|e| PurchaseRequestError::NotJson(e.to_string()))?;
        let token = wire.token.or(wire.reservation_token).and_then(text).filter(|t| !t.is_empty());
        let token = token.ok_or(PurchaseRequestError::NoToken)?;
        let raw_amount = wire.amount.or(wire.reservation_amount).ok_or(PurchaseRequestError::NoAmount)?;
        let amount = text(raw_amount)
            .and_then(|t| decimal(&t))
            .ok_or_else(|| PurchaseRequestError::AmountNotDecimal(raw_amount.get().to_owned()))?;
        let currency = wire.currency.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let currency = currency.ok_or(PurchaseRequestError::NoCurrency)?;
        let msisdn = wire.msisdn.and_then(text).filter(|m| !m.is_empty());
        Ok(Self { token, amount, currency, msisdn })
    }

    /// Writes the body in `dialect`, the amount with two decimals (a JSON number in the
    /// seed's dialect, a string in the older one); no msisdn writes an empty one.
    pub fn write(&self, dialect: Dialect) -> String {
        let quote = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
        let amount = format!("{:.2}", self.amount);
        let (token, currency) = (quote(&self.token), quote(&self.currency));
        let msisdn = quote(self.msisdn.as_deref().unwrap_or_default());
        let mut body = String::with_capacity(128);
        // Writing to a String cannot fail.
        let _ = match dialect {
            Dialect::Seed => {
                write!(body, r#"{{"token":{token},"amount":{amount},"currency":{currency},"msisdn":{msisdn}}}"#)
            }
            Dialect::Legacy => write!(
                body,
                r#"{{"reservationToken":{token},"reservationAmount":{},"currency":{currency},"msisdn":{msisdn}}}"#,
                quote(&amount)
            ),
        };
        body
    }
}

/// A JSON string's content or a JSON number's text; `None` for anything else.
fn text(raw: &RawValue) -> Option<String> {
    let json = raw.get().trim();
    if json.starts_with('"') {
        serde_json::from_str::<String>(json).ok().map(|s| s.trim().to_owned())
    } else if json.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Some(json.to_owned())
    } else {
        None
    }
}

/// Decimal text (`20`, `20.00`, `2e1`) into a `Decimal`, exactly or not at all.
fn decimal(text: &str) -> Option<Decimal> {
    let plain = |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+');
    if text.is_empty() || !text.bytes().all(|b| plain(b) || matches!(b, b'e' | b'E')) {
        return None;
    }
    if text.bytes().all(plain) { Decimal::from_str_exact(text).ok() } else { Decimal::from_scientific(text).ok() }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn read(body: &str) -> Result<PurchaseRequest, PurchaseRequestError> {
        PurchaseRequest::read(body.as_bytes())
    }

    #[test]
    fn the_seed_dialect_keeps_the_amount_exact() {
        let request = read(r#"{"token":"29834231890234","amount":20.00,"currency":"EUR","msisdn":"483344323423"}"#);
        let request = request.unwrap();
        assert_eq!(request.token, "29834231890234");
        assert_eq!(request.amount.to_string(), "20.00");
        assert_eq!(request.msisdn.as_deref(), Some("483344323423"));
    }

    #[test]
    fn the_legacy_dialect_with_a_string_amount_and_unknown_fields_is_read() {
        let request =
            read(r#"{"reservationToken":"machine-1","reservationAmount":"19.99","currency":"EUR","x":[1]}"#).unwrap();
        assert_eq!((request.token.as_str(), request.amount.to_string()), ("machine-1", "19.99".to_owned()));
        assert_eq!(request.msisdn, None);
    }

    #[test]
    fn amounts_never_pass_through_floating_point() {
        let request = read(r#"{"token":123,"amount":1234567890123.17,"currency":"EUR"}"#).unwrap();
        assert_eq!(request.amount.to_string(), "1234567890123.17");
        assert_eq!(request.token, "123");
        assert_eq!(read(r#"{"token":"m","amount":2e1,"currency":"EUR"}"#).unwrap().amount, Decimal::new(20, 0));
    }

    #[test]
    fn malformed_bodies_are_refused_with_the_reason() {
        use PurchaseRequestError as E;
        for (body, want) in [
            (r#"{"amount":20,"currency":"EUR"}"#, E::NoToken),
            (r#"{"token":"","amount":20,"currency":"EUR"}"#, E::NoToken),
            (r#"{"token":"m","currency":"EUR"}"#, E::NoAmount),
            (r#"{"token":"m","amount":"twenty","currency":"EUR"}"#, E::AmountNotDecimal(r#""twenty""#.to_owned())),
            (r#"{"token":"m","amount":true,"currency":"EUR"}"#, E::AmountNotDecimal("true".to_owned())),
            (r#"{"token":"m","amount":1e400,"currency":"EUR"}"#, E::AmountNotDecimal("1e400".to_owned())),
            (r#"{"token":"m","amount":20}"#, E::NoCurrency),
            (r#"{"token":"m","amount":20,"currency":" "}"#, E::NoCurrency),
        ] {
            assert_eq!(read(body), Err(want), "{body}");
        }
        for body in ["not json", "[1,2]", ""] {
            assert!(matches!(read(body), Err(E::NotJson(_))), "{body}");
        }
    }

    #[test]
    fn both_dialects_are_written_as_documented() {
        let request = PurchaseRequest {
            token: "t\"1".to_owned(),
            amount: Decimal::new(20, 0),
            currency: "EUR".to_owned(),
            msisdn: Some("1".to_owned()),
        };
        assert_eq!(request.write(Dialect::Seed), r#"{"token":"t\"1","amount":20.00,"currency":"EUR","msisdn":"1"}"#);
        assert_eq!(
            request.write(Dialect::Legacy),
            r#"{"reservationToken":"t\"1","reservationAmount":"20.00","currency":"EUR","msisdn":"1"}"#
        );
    }

    proptest! {
        /// What the UPS writes, a backend reads back unchanged, in either dialect.
        #[test]
        fn what_is_written_reads_back(
            token in "[ -~\u{e9}\u{20ac}]{0,20}",
            cents in 0i64..10_000_000_000,
            currency in "[A-Z]{3}",
            msisdn in proptest::option::of("[0-9]{1,15}"),
            legacy in any::<bool>(),
        ) {
            let amount = Decimal::new(cents, 2);
            let written = PurchaseRequest { token: token.clone(), amount, currency: currency.clone(), msisdn: msisdn.clone() };
            let dialect = if legacy { Dialect::Legacy } else { Dialect::Seed };
            let read = PurchaseRequest::read(written.write(dialect).as_bytes());
            if token.trim().is_empty() {
                prop_assert_eq!(read, Err(PurchaseRequestError::NoToken));
            } else {
                let read = read.unwrap();
                prop_assert_eq!(read.token, token.trim());
                prop_assert_eq!(read.amount, amount);
                prop_assert_eq!(read.currency, currency);
                prop_assert_eq!(read.msisdn, msisdn);
            }
        }
    }
}
