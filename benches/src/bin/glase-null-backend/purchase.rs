//! `POST /seqr/createPurchase` (the UPS: a customer scanned a machine) and
//! `POST /seqr/notify/{machine}/{purchase}/{tag}` (Glase: something happened to the
//! invoice).
//!
//! createPurchase always answers HTTP 200 `application/json;charset=UTF-8`, errors
//! included (`{"errorCode": "…"}`): the UPS judges any other answer a protocol
//! violation, so a body it cannot read is `SYSTEM_ERROR`, not a 400. The machine is
//! claimed (under its lock) before sendInvoice, so two scans at once get one invoice
//! and one `DEVICE_IN_USE`; sendInvoice is never repeated. The work runs in a task of
//! its own, so a UPS that hangs up cannot leave a claim half made.
//!
//! A notification carries nothing and is never trusted: it is answered 200 at once and
//! then causes one getPaymentStatus ([`App::refresh`]), whose answer alone moves the
//! machine.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::app::{App, warn};
use crate::catalogue::{CURRENCY, money};
use crate::fleet::{Hold, Phase};

/// A createPurchase body in either dialect: the seed's `token`/`amount` (a JSON
/// number) or the older `reservationToken`/`reservationAmount` (a string). Amounts are
/// read from their JSON text, never through `f64`.
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
}

/// What createPurchase asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PurchaseRequest {
    token: String,
    amount: Decimal,
    currency: String,
}

fn parse(body: &[u8]) -> Option<PurchaseRequest> {
    let wire: Wire<'_> = serde_json::from_slice(body).ok()?;
    let token = text(wire.token.or(wire.reservation_token)?).filter(|t| !t.is_empty())?;
    let amount = decimal(&text(wire.amount.or(wire.reservation_amount)?)?)?;
    let currency = wire.currency.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty())?;
    Some(PurchaseRequest { token, amount, currency })
}

/// A JSON string's content or a JSON number's text.
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

const SYSTEM_ERROR: &str = "SYSTEM_ERROR";
const DEVICE_UNAVAILABLE: &str = "DEVICE_UNAVAILABLE";

pub async fn create_purchase(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let answer = match parse(&body) {
        Some(request) => tokio::spawn(start(app, request)).await.unwrap_or(Err(SYSTEM_ERROR)),
        None => Err(SYSTEM_ERROR),
    };
    let body = match answer {
        Ok(reference) => serde_json::json!({ "invoiceReferenceId": reference }),
        Err(code) => serde_json::json!({ "errorCode": code }),
    };
    ([(header::CONTENT_TYPE, "application/json;charset=UTF-8")], body.to_string()).into_response()
}

/// Checks the request, claims the machine, sends the reservation invoice: the
/// reference, or the error code of the first check that refuses (in the documented
/// order).
async fn start(app: Arc<App>, request: PurchaseRequest) -> Result<String, &'static str> {
    let index = app.fleet.index(&request.token).ok_or(DEVICE_UNAVAILABLE)?;
    if app.fleet.lock(index).out_of_service {
        return Err(DEVICE_UNAVAILABLE);
    }
    if request.currency != CURRENCY || request.amount < Decimal::ZERO {
        return Err(SYSTEM_ERROR);
    }
    let amount = money(request.amount);
    if amount < app.fleet.catalogue(index).cheapest {
        return Err("INSUFFICIENT_FUNDS");
    }
    let purchase = app.fleet.next_purchase();
    {
        let mut slot = app.fleet.lock(index);
        if slot.out_of_service {
            return Err(DEVICE_UNAVAILABLE);
        }
        if slot.hold.is_some() {
            return Err("DEVICE_IN_USE");
        }
        slot.hold = Some(Hold {
            purchase,
            amount,
            reference: None,
            phase: Phase::Reserved,
            deadline: Instant::now() + app.idle_timeout,
            version: 0,
            closing: false,
            notified_early: false,
        });
    }
    let invoice = app.reservation_invoice(index, purchase, amount);
    let sent = app.glase.send_invoice(invoice).await;
    let mut slot = app.fleet.lock(index);
    let reference = match sent {
        Ok(reference) => reference,
        Err(error) => {
            // Never sent again: the customer scans again if they like.
            slot.release(purchase);
            drop(slot);
            warn(format_args!("sendInvoice for {} failed: {error}", app.fleet.machines[index].token));
            return Err("INVOICING_ERROR");
        }
    };
    // Only this task releases a claim without a reference, so the hold is still ours.
    let early = slot.held(purchase).is_some_and(|hold| {
        hold.reference = Some(reference.clone());
        hold.deadline = Instant::now() + app.idle_timeout;
        std::mem::take(&mut hold.notified_early)
    });
    drop(slot);
    if early {
        tokio::spawn(app.refresh(index, purchase));
    }
    Ok(reference)
}

/// Answers 200 at once for a notification of a purchase of ours and fetches the status
/// in the background; 404 for a path that is not ours (wrong tag).
pub async fn notify(
    State(app): State<Arc<App>>,
    Path((machine, purchase, tag)): Path<(String, String, String)>,
) -> StatusCode {
    let Some((index, purchase)) = app.fleet.check_notify(&machine, &purchase, &tag) else {
        return StatusCode::NOT_FOUND;
    };
    let fetch = {
        let mut slot = app.fleet.lock(index);
        match slot.held(purchase) {
            Some(hold) if hold.reference.is_none() => {
                hold.notified_early = true;
                false
            }
            // A vend settles with Glase itself; an ended purchase has nothing to learn.
            Some(hold) => hold.phase != Phase::Vending,
            None => false,
        }
    };
    if fetch {
        tokio::spawn(app.refresh(index, purchase));
    }
    StatusCode::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_are_read_with_exact_amounts() {
        let seed = parse(br#"{"token":"machine-1","amount":20.00,"currency":"EUR","msisdn":"46700000001"}"#).unwrap();
        assert_eq!((seed.token.as_str(), seed.amount.to_string()), ("machine-1", "20.00".to_owned()));
        let legacy =
            parse(br#"{"reservationToken":"machine-2","reservationAmount":"19.99","currency":"EUR"}"#).unwrap();
        assert_eq!(legacy.amount, Decimal::new(1999, 2));
        assert_eq!(parse(br#"{"token":7,"amount":2e1,"currency":"EUR"}"#).unwrap().amount, Decimal::new(20, 0));
    }

    #[test]
    fn bad_bodies_are_refused_without_panicking() {
        for body in [
            &b"not json"[..],
            br#"{"amount":20,"currency":"EUR"}"#,
            br#"{"token":"m","currency":"EUR"}"#,
            br#"{"token":"m","amount":"twenty","currency":"EUR"}"#,
            br#"{"token":"m","amount":true,"currency":"EUR"}"#,
            br#"{"token":"m","amount":20}"#,
            br#"{"token":"","amount":20,"currency":"EUR"}"#,
            br#"{"token":"m","amount":1e400,"currency":"EUR"}"#,
            br#"[1,2]"#,
        ] {
            assert!(parse(body).is_none(), "{}", String::from_utf8_lossy(body));
        }
    }
}
