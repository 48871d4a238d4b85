//! `POST /driver/machines/{token}/vend`: the customer chose. The selection is priced
//! from the catalogue (checked arithmetic), refused with 409 if it costs more than the
//! reservation, recorded under its vend id (`pending`), shown with updateInvoice and
//! charged with commitReservation for exactly its total; an empty selection cancels
//! the invoice. The machine is released on `paid`.
//!
//! The same request again (same vend id and selection) answers the recorded outcome
//! and never starts a second vend; one still `pending` is resolved first (`settle`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use glase_protocol::driver::{VendItem, VendRequest};
use rust_decimal::Decimal;

use crate::app::{App, Cancel, DriverError, json};
use crate::catalogue::{CURRENCY, Catalogue};
use crate::fleet::{Phase, Row, VendRecord, VendState};
use crate::settle::{self, Charge};

/// The most of one product one vend may take.
const MAX_QUANTITY: u32 = 100;

pub async fn vend(State(app): State<Arc<App>>, Path(token): Path<String>, body: Bytes) -> Response {
    let Some(index) = app.fleet.index(&token) else { return DriverError::unknown_machine(&token).into_response() };
    let request: VendRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            let message = format!("expected {{\"vendId\"?, \"items\": [{{\"sku\", \"quantity\"}}]}}: {error}");
            return DriverError::new(StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let vend_id = match request.vend_id {
        Some(id) if valid_vend_id(&id) => id,
        Some(_) => {
            let message = "vendId must be 1 to 64 letters, digits, '-', '_', '.' or ':'";
            return DriverError::new(StatusCode::BAD_REQUEST, message).into_response();
        }
        None => format!("v{}", app.fleet.next_purchase()),
    };
    let rows = match price(app.fleet.catalogue(index), &request.items) {
        Ok(rows) => rows,
        Err(error) => return DriverError::new(StatusCode::BAD_REQUEST, error).of_vend(&vend_id, None).into_response(),
    };
    // Detached: a machine that hangs up must not cut a commit in half.
    tokio::spawn(run(app, index, vend_id, rows))
        .await
        .unwrap_or_else(|_| DriverError::new(StatusCode::SERVICE_UNAVAILABLE, "stopping").into_response())
}

fn valid_vend_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Prices a selection; the same SKU twice is one row, rows in the order first chosen.
fn price(catalogue: &Catalogue, items: &[VendItem]) -> Result<Vec<Row>, String> {
    let mut rows: Vec<Row> = Vec::new();
    for item in items {
        let product = catalogue.position(&item.sku).ok_or_else(|| format!("unknown sku {:?}", item.sku))?;
        if item.quantity == 0 {
            return Err(format!("quantity of {:?} must be at least 1", item.sku));
        }
        let unit_price = catalogue.products[product].price;
        let at = match rows.iter().position(|r| r.product == product) {
            Some(at) => at,
            None => {
                rows.push(Row { product, quantity: 0, unit_price, total: Decimal::ZERO });
                rows.len() - 1
            }
        };
        let row = &mut rows[at];
        row.quantity = row.quantity.saturating_add(item.quantity);
        if row.quantity > MAX_QUANTITY {
            return Err(format!("quantity of {:?} must be at most {MAX_QUANTITY}", item.sku));
        }
        row.total = unit_price.checked_mul(Decimal::from(row.quantity)).ok_or("the selection costs too much")?;
    }
    Ok(rows)
}

/// What a vend request starts.
enum Start {
    /// Answer this recorded vend as it is.
    Recorded(VendRecord),
    /// Update and commit (or, `resolve`, ask first how an earlier attempt ended).
    Charge { purchase: u64, reference: String, total: Decimal, resolve: bool },
    /// Nothing chosen: cancel the reservation.
    Nothing { purchase: u64, reference: String },
}

async fn run(app: Arc<App>, index: usize, vend_id: String, rows: Vec<Row>) -> Response {
    let start = match begin(&app, index, &vend_id, &rows) {
        Ok(start) => start,
        Err(error) => return error.of_vend(&vend_id, None).into_response(),
    };
    let (purchase, outcome) = match start {
        Start::Recorded(record) => return answer(&app, index, &record),
        Start::Nothing { purchase, reference } => return nothing(&app, index, purchase, &reference, &vend_id).await,
        Start::Charge { purchase, reference, total, resolve } => {
            let charge = Charge { app: &app, index, purchase, reference: &reference, rows: &rows, total };
            (purchase, if resolve { charge.again().await } else { charge.first().await })
        }
    };
    match settle::finish(&app, index, purchase, &vend_id, outcome) {
        Some(record) => answer(&app, index, &record),
        None => DriverError::new(StatusCode::CONFLICT, "the vend is no longer the machine's current one")
            .of_vend(&vend_id, None)
            .into_response(),
    }
}

/// Decides under the machine's lock what this request does, and records a new vend.
fn begin(app: &App, index: usize, vend_id: &str, rows: &[Row]) -> Result<Start, DriverError> {
    let mut slot = app.fleet.lock(index);
    if let Some(last) = slot.last_vend.as_mut().filter(|v| v.id == vend_id) {
        if last.rows != rows {
            let message = format!("vendId {vend_id} was recorded with another selection; use a new vend id");
            return Err(DriverError::new(StatusCode::CONFLICT, message));
        }
        if last.state != VendState::Pending || last.settling {
            return Ok(Start::Recorded(last.clone()));
        }
        last.settling = true;
        let (purchase, reference, total) = (last.purchase, last.reference.clone(), last.total);
        return Ok(Start::Charge { purchase, reference, total, resolve: true });
    }
    let state = slot.state();
    let token = &app.fleet.machines[index].token;
    let not_unlocked = || DriverError::new(StatusCode::CONFLICT, format!("machine {token} is {state}, not unlocked"));
    let hold = slot.hold.as_mut().filter(|h| h.phase == Phase::Unlocked && !h.closing).ok_or_else(not_unlocked)?;
    let reference = hold.reference.clone().ok_or_else(not_unlocked)?;
    let purchase = hold.purchase;
    if rows.is_empty() {
        hold.closing = true;
        return Ok(Start::Nothing { purchase, reference });
    }
    let total = rows
        .iter()
        .try_fold(Decimal::ZERO, |sum, row| sum.checked_add(row.total))
        .ok_or_else(|| DriverError::new(StatusCode::BAD_REQUEST, "the selection costs too much"))?;
    if total > hold.amount {
        let message =
            format!("the selection costs {total} {CURRENCY} but only {} is reserved; choose less", hold.amount);
        return Err(DriverError::new(StatusCode::CONFLICT, message));
    }
    hold.phase = Phase::Vending;
    slot.last_vend = Some(VendRecord {
        id: vend_id.to_owned(),
        purchase,
        reference: reference.clone(),
        rows: rows.to_vec(),
        total,
        state: VendState::Pending,
        ers_reference: None,
        note: None,
        settling: true,
    });
    Ok(Start::Charge { purchase, reference, total, resolve: false })
}

/// An empty selection: cancel the reservation and release the machine.
async fn nothing(app: &App, index: usize, purchase: u64, reference: &str, vend_id: &str) -> Response {
    match app.cancel(index, purchase, reference).await {
        Cancel::Done => {
            let record = VendRecord {
                id: vend_id.to_owned(),
                purchase,
                reference: reference.to_owned(),
                rows: Vec::new(),
                total: Decimal::ZERO,
                state: VendState::Canceled,
                ers_reference: None,
                note: Some("the customer chose nothing".to_owned()),
                settling: false,
            };
            app.fleet.lock(index).last_vend = Some(record.clone());
            answer(app, index, &record)
        }
        Cancel::Paid => DriverError::new(StatusCode::CONFLICT, "the invoice was paid already").into_response(),
        Cancel::Retry(why) => {
            let message = format!("cancelInvoice failed ({why}); the machine stays unlocked");
            DriverError::new(StatusCode::BAD_GATEWAY, message).of_vend(vend_id, None).into_response()
        }
    }
}

/// A recorded vend as the contract answers it.
fn answer(app: &App, index: usize, record: &VendRecord) -> Response {
    let note = record.note.clone().unwrap_or_else(|| "not known yet".to_owned());
    let error = |status, message: String| {
        DriverError::new(status, message).of_vend(&record.id, Some(record.state.as_str())).into_response()
    };
    let mut body = serde_json::json!({
        "vendId": record.id,
        "purchaseId": format!("vp-{}", record.purchase),
        "invoiceReference": record.reference,
        "total": record.total.to_string(),
        "currency": CURRENCY,
    });
    match record.state {
        VendState::Paid => {
            body["outcome"] = "paid".into();
            body["ersReference"] = record.ers_reference.clone().unwrap_or_default().into();
            body["rows"] = rows_json(app.fleet.catalogue(index), &record.rows);
        }
        VendState::Canceled if record.rows.is_empty() => body["outcome"] = "canceled".into(),
        VendState::Canceled => {
            return error(StatusCode::CONFLICT, format!("the reservation ended ({note}); do not dispense"));
        }
        VendState::Rejected => {
            return error(StatusCode::BAD_GATEWAY, format!("nothing charged ({note}); choose again"));
        }
        VendState::Pending => return error(StatusCode::BAD_GATEWAY, format!("not known yet ({note}); ask again")),
    }
    json(StatusCode::OK, body.to_string().into_bytes())
}

/// The vend's rows as the driver shows them.
pub fn rows_json(catalogue: &Catalogue, rows: &[Row]) -> serde_json::Value {
    rows.iter()
        .map(|row| {
            let product = &catalogue.products[row.product];
            serde_json::json!({
                "sku": product.sku,
                "description": product.name,
                "quantity": row.quantity,
                "unitPrice": row.unit_price.to_string(),
                "total": row.total.to_string(),
            })
        })
        .collect()
}
