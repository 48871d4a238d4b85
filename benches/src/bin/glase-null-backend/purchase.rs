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
use glase_protocol::purchase::PurchaseRequest;
use rust_decimal::Decimal;

use crate::app::{App, warn};
use crate::catalogue::{CURRENCY, money};
use crate::fleet::{Hold, Phase};

const SYSTEM_ERROR: &str = "SYSTEM_ERROR";
const DEVICE_UNAVAILABLE: &str = "DEVICE_UNAVAILABLE";

pub async fn create_purchase(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let answer = match PurchaseRequest::read(&body) {
        Ok(request) => tokio::spawn(start(app, request)).await.unwrap_or(Err(SYSTEM_ERROR)),
        Err(_) => Err(SYSTEM_ERROR),
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
