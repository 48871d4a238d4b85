//! # The machine driver (spec section 8)
//!
//! A small HTTP contract through which a test suite plays the vending machine: what
//! happens *at* the machine (products chosen, machine serviced) rather than in the
//! customer's app. The conformance suite uses it to drive any reseller as a black box;
//! integrators expose it in test builds. Scenarios that need it are skipped when it is
//! absent. All bodies are JSON (`Content-Type: application/json`); money is always a
//! decimal **string** with two decimals (`"2.50"`), never a JSON number. Errors are
//! `{"error": "<what went wrong, for people>"}` with one of these statuses:
//!
//! | status | meaning |
//! | --- | --- |
//! | 400 | bad input: malformed JSON, unknown field, unknown `sku`, quantity not in 1–100 |
//! | 404 | no machine with this token |
//! | 409 | the machine is in the wrong state for this (see each endpoint), or the selection costs more than the reservation, or the reservation was cancelled meanwhile |
//! | 500 | the reseller's own storage failed |
//! | 502 | Glase refused or did not answer; the machine's `state` says what happens next |
//!
//! ## Machine states
//!
//! | `state` | meaning |
//! | --- | --- |
//! | `idle` | free: a scan starts a purchase |
//! | `reserved` | a purchase is started: the reservation invoice waits for the customer's confirmation in the app |
//! | `unlocked` | the reservation is confirmed (getPaymentStatus said RESERVED): the customer chooses products |
//! | `vending` | the choice is being charged (updateInvoice, commitReservation) |
//! | `out-of-service` | idle and closed to new purchases (createPurchase answers `DEVICE_UNAVAILABLE`) |
//!
//! An `unlocked` or `reserved` machine with nothing vended for the idle timeout (60 s by
//! default) has its invoice cancelled and becomes `idle`.
//!
//! ## `GET /driver/machines`
//!
//! Every machine: `{"machines": [<machine>, …]}`.
//!
//! ## `GET /driver/machines/{token}`
//!
//! One machine (404 if unknown):
//!
//! ```json
//! {
//!   "token": "machine-1",
//!   "name": "Demo machine 1 (drinks and snacks)",
//!   "state": "unlocked",
//!   "inService": true,
//!   "purchaseId": "vp-18c1f2a3b4d-3fa2c1",
//!   "invoiceReference": "17954576909300001",
//!   "reservedAmount": "20.00",
//!   "currency": "EUR",
//!   "products": [
//!     {"sku": "cola", "name": "Cola 0.33 l", "price": "2.50"},
//!     {"sku": "water", "name": "Water 0.5 l", "price": "1.20"}
//!   ]
//! }
//! ```
//!
//! `purchaseId` and `invoiceReference` are present while a purchase holds the machine
//! (`invoiceReference` once sendInvoice answered); `reservedAmount` once it is `unlocked`
//! (and while `vending`).
//!
//! ## `POST /driver/machines/{token}/vend`
//!
//! The customer chose products. Only on an `unlocked` machine (else 409), or again
//! with the `vendId` of a vend already recorded (see below).
//!
//! ```json
//! {"vendId": "m1-000731", "items": [{"sku": "cola", "quantity": 2}, {"sku": "water", "quantity": 1}]}
//! ```
//!
//! `vendId` (optional, 1–64 letters, digits, `-`, `_`, `.`, `:`) is the machine's
//! idempotency key for this vend: a new one for every vend the machine starts, kept
//! by the machine until it knows the outcome. Without one the reseller makes one up
//! (and answers it), but then a machine that loses the answer cannot ask for it.
//!
//! The reseller prices the selection, records the vend under its id (state
//! `pending`), sends updateInvoice with one row per product and the total, then
//! commitReservation for exactly the total, and releases the machine. `200` when the
//! payment is committed — the machine may dispense now:
//!
//! ```json
//! {
//!   "outcome": "paid",
//!   "vendId": "m1-000731",
//!   "purchaseId": "vp-18c1f2a3b4d-3fa2c1",
//!   "invoiceReference": "17954576909300001",
//!   "ersReference": "2026112318150000000000042",
//!   "total": "6.20",
//!   "currency": "EUR",
//!   "rows": [
//!     {"sku": "cola", "description": "Cola 0.33 l", "quantity": 2, "unitPrice": "2.50", "total": "5.00"},
//!     {"sku": "water", "description": "Water 0.5 l", "quantity": 1, "unitPrice": "1.20", "total": "1.20"}
//!   ]
//! }
//! ```
//!
//! An empty `items` list means the customer took nothing: the invoice is cancelled
//! (cancelInvoice), the machine becomes `idle`, and the answer is `200`
//! `{"outcome": "canceled", "vendId", "purchaseId", "invoiceReference", "total": "0.00", "currency"}`.
//!
//! Errors: 400 bad selection or malformed `vendId`; 404 unknown machine; 409 not
//! `unlocked`, or the total is above the reserved amount (the machine stays
//! `unlocked`: the customer must choose less), or the reservation was cancelled
//! meanwhile (the machine is `idle`: do not dispense), or the `vendId` was recorded
//! for another machine or another selection; 502 Glase refused the commit (the machine
//! is `unlocked` again; nothing charged), or the commit's outcome is unknown (the
//! machine stays `vending` until the reseller has resolved it with getPaymentStatus in
//! the background, then becomes `idle`), or cancelInvoice failed for an empty
//! selection (the machine stays `unlocked`; the idle timer retries). Every error body
//! of a request that could be read carries its `vendId` (not a body that is not JSON of
//! this shape, nor a malformed `vendId`: nothing is recorded then), and, once the vend was
//! recorded, its `state`: `{"error", "vendId"?, "state"?}` with `state` `canceled` (409),
//! `rejected` or `pending` (502). `docs/openapi/drivers.yaml` is this contract as
//! OpenAPI 3.1; the integration tests check every driver answer against it.
//!
//! **Asking again.** A request with the `vendId` of a recorded vend (the same machine
//! and the same products and quantities; else 409) never starts a second vend: it
//! answers that vend's outcome as its first answer said it — `200` paid (dispense now,
//! if not done yet), `200` canceled for an empty selection, `409` canceled when the
//! reservation ended before the products were charged, `502` `rejected` — and a vend still `pending` is first resolved
//! (getPaymentStatus; if Glase never got the commit, the same update and commit
//! again), waiting for a request of it still running. So the machine's rule is: **on
//! no answer (or 5xx with `state` `pending`), send the same request again until the
//! answer is final; dispense exactly once, on `paid`.** Nothing is ever charged twice.
//!
//! ## `GET /driver/machines/{token}/vends/{vendId}`
//!
//! One vend's outcome, read only (404 for an id not recorded at this machine: nothing
//! was charged for it):
//!
//! ```json
//! {
//!   "vendId": "m1-000731", "machine": "machine-1", "purchaseId": "vp-18c1f2a3b4d-3fa2c1",
//!   "invoiceReference": "17954576909300001", "state": "paid", "total": "6.20", "currency": "EUR",
//!   "rows": [{"sku": "cola", "description": "Cola 0.33 l", "quantity": 2, "unitPrice": "2.50", "total": "5.00"}],
//!   "ersReference": "2026112318150000000000042"
//! }
//! ```
//!
//! `state`: `pending` (the charge is under way or in doubt: do not dispense yet, ask
//! again; the reseller resolves it by itself, at the latest after a restart), `paid`
//! (dispense; `ersReference` set), `canceled` (the reservation ended, or nothing was
//! chosen: nothing charged), `rejected` (Glase refused the commit: nothing charged; the
//! customer may choose again, as a new vend). `note` says why, when there is a reason.
//! Vends are kept with their purchases. A 404 right after a request whose answer was
//! lost can also mean the request has not been recorded *yet*: repeating the POST is
//! the reliable way to learn the outcome.
//!
//! ## `POST /driver/machines/{token}/out-of-service`, `POST /driver/machines/{token}/in-service`
//!
//! No body. Closes an `idle` machine to new purchases, or opens it again; answers `200`
//! with the machine as for `GET`. Idempotent. `409` while a purchase holds the machine
//! (`reserved`, `unlocked`, `vending`): finish or cancel it first. A machine configured
//! with `in_service = false` is out of service again after every restart.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use glase_protocol::driver::VendRequest;
use serde_json::json;

use super::Vending;
use super::config::{MachineConfig, ProductConfig};
use super::model::{MachineRecord, MachineState, VendId, VendState, now_ms};
use super::store::{self, ServiceChange};
use super::vend::{Selection, VendError, VendOutcome};
use crate::store::StoreError;

pub(crate) fn routes() -> Router<Vending> {
    Router::new()
        .route("/driver/machines", get(list))
        .route("/driver/machines/{token}", get(show))
        .route("/driver/machines/{token}/vend", post(vend))
        .route("/driver/machines/{token}/vends/{vend_id}", get(show_vend))
        .route("/driver/machines/{token}/out-of-service", post(out_of_service))
        .route("/driver/machines/{token}/in-service", post(in_service))
}

/// A driver error: `{"error": "..."}` with a status, and for a vend request the vend
/// id and (once the vend was recorded) its state.
#[derive(Debug)]
pub(crate) struct DriverError(StatusCode, String, Option<(VendId, Option<VendState>)>);

impl DriverError {
    fn new(status: StatusCode, message: String) -> Self {
        Self(status, message, None)
    }

    fn of_vend(mut self, vend: &VendId, state: Option<VendState>) -> Self {
        self.2 = Some((vend.clone(), state));
        self
    }
}

impl IntoResponse for DriverError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.1 });
        if let Some((vend, state)) = self.2 {
            body["vendId"] = json!(vend.0);
            if let Some(state) = state {
                body["state"] = json!(state.as_str());
            }
        }
        (self.0, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for DriverError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error, "driver: database error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "database error".to_owned())
    }
}

impl From<VendError> for DriverError {
    fn from(error: VendError) -> Self {
        let status = match &error {
            VendError::UnknownMachine(_) => StatusCode::NOT_FOUND,
            VendError::BadInput(_) => StatusCode::BAD_REQUEST,
            VendError::WrongState(_)
            | VendError::OverReserved { .. }
            | VendError::Canceled(_)
            | VendError::VendIdTaken(_) => StatusCode::CONFLICT,
            VendError::Rejected(_) | VendError::Unknown(_) | VendError::CancelFailed(_) => StatusCode::BAD_GATEWAY,
            VendError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, error.to_string())
    }
}

fn unknown(token: &str) -> DriverError {
    DriverError::new(StatusCode::NOT_FOUND, format!("unknown machine {token:?}"))
}

/// A machine as the driver shows it.
type MachineView = glase_protocol::driver::MachineView<Vec<ProductConfig>>;

impl Vending {
    fn machine_view(&self, config: &MachineConfig, record: &MachineRecord) -> Result<MachineView, StoreError> {
        let purchase = match &record.purchase {
            Some(id) => store::purchase(&self.context().db, id)?,
            None => None,
        };
        let state = record.state.shown(record.out_of_service);
        let reserved_amount = purchase
            .as_ref()
            .filter(|_| matches!(record.state, MachineState::Unlocked | MachineState::Vending))
            .and_then(|p| p.reserved_amount)
            .map(|amount| amount.to_string());
        Ok(MachineView {
            token: config.token.clone(),
            name: config.display_name().to_owned(),
            state,
            in_service: !record.out_of_service,
            purchase_id: record.purchase.as_ref().map(|id| id.0.clone()),
            invoice_reference: purchase.and_then(|p| p.invoice_reference),
            reserved_amount,
            currency: config.currency.clone(),
            products: config.products.clone(),
        })
    }

    fn view_of(&self, token: &str) -> Result<MachineView, DriverError> {
        let config = self.config().machine(token).ok_or_else(|| unknown(token))?;
        let record = store::machine(&self.context().db, token)?.ok_or_else(|| unknown(token))?;
        Ok(self.machine_view(config, &record)?)
    }
}

async fn list(State(vending): State<Vending>) -> Result<axum::Json<serde_json::Value>, DriverError> {
    let records = store::machines(&vending.context().db)?;
    let mut machines = Vec::new();
    for config in &vending.config().machines {
        if let Some(record) = records.iter().find(|r| r.token == config.token) {
            machines.push(vending.machine_view(config, record)?);
        }
    }
    Ok(axum::Json(json!({ "machines": machines })))
}

async fn show(
    State(vending): State<Vending>,
    Path(token): Path<String>,
) -> Result<axum::Json<MachineView>, DriverError> {
    vending.view_of(&token).map(axum::Json)
}

async fn vend(
    State(vending): State<Vending>,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, DriverError> {
    if vending.config().machine(&token).is_none() {
        return Err(unknown(&token));
    }
    let request: VendRequest = serde_json::from_slice(&body).map_err(|e| {
        DriverError::new(
            StatusCode::BAD_REQUEST,
            format!("expected {{\"vendId\"?, \"items\": [{{\"sku\", \"quantity\"}}]}}: {e}"),
        )
    })?;
    let vend_id = match &request.vend_id {
        Some(text) => VendId::parse(text).map_err(|e| DriverError::new(StatusCode::BAD_REQUEST, e))?,
        None => VendId::generate(now_ms()),
    };
    let selection: Vec<Selection> =
        request.items.into_iter().map(|item| Selection { sku: item.sku, quantity: item.quantity }).collect();
    let worker = vending.clone();
    let id = vend_id.clone();
    // Detached: a driver that hangs up must not cut a commit in half.
    let outcome = vending
        .run_detached(async move { worker.vend(&token, &id, &selection).await })
        .await
        .ok_or_else(|| DriverError::new(StatusCode::SERVICE_UNAVAILABLE, "the reseller is stopping".to_owned()))?
        .map_err(|error| {
            let state = error.vend_state();
            DriverError::from(error).of_vend(&vend_id, state)
        })?;
    Ok(axum::Json(match outcome {
        VendOutcome::Paid { vend, purchase, ers_reference, rows, total } => json!({
            "outcome": "paid",
            "vendId": vend.0,
            "purchaseId": purchase.id.0,
            "invoiceReference": purchase.invoice_reference,
            "ersReference": ers_reference,
            "total": total.to_string(),
            "currency": purchase.currency,
            "rows": rows,
        }),
        VendOutcome::Canceled { vend, purchase } => json!({
            "outcome": "canceled",
            "vendId": vend.0,
            "purchaseId": purchase.id.0,
            "invoiceReference": purchase.invoice_reference,
            "total": "0.00",
            "currency": purchase.currency,
        }),
    }))
}

/// One vend by its id: what the machine must do about it.
async fn show_vend(
    State(vending): State<Vending>,
    Path((token, vend_id)): Path<(String, String)>,
) -> Result<axum::Json<serde_json::Value>, DriverError> {
    let config = vending.config().machine(&token).ok_or_else(|| unknown(&token))?;
    let not_found = || DriverError::new(StatusCode::NOT_FOUND, format!("no vend {vend_id:?} at machine {token}"));
    let id = VendId::parse(&vend_id).map_err(|_| not_found())?;
    let db = &vending.context().db;
    let vend = store::vend(db, &id)?.filter(|v| v.machine == token).ok_or_else(not_found)?;
    let purchase = store::purchase(db, &vend.purchase)?;
    let mut body = json!({
        "vendId": vend.id.0,
        "machine": vend.machine,
        "purchaseId": vend.purchase.0,
        "invoiceReference": purchase.as_ref().and_then(|p| p.invoice_reference.clone()),
        "state": vend.state.as_str(),
        "total": vend.total.to_string(),
        "currency": config.currency,
        "rows": vend.rows,
    });
    if vend.state == VendState::Paid
        && let Some(ers) = purchase.and_then(|p| p.ers_reference)
    {
        body["ersReference"] = json!(ers);
    }
    if let Some(note) = vend.note {
        body["note"] = json!(note);
    }
    Ok(axum::Json(body))
}

async fn out_of_service(
    State(vending): State<Vending>,
    Path(token): Path<String>,
) -> Result<axum::Json<MachineView>, DriverError> {
    set_service(&vending, &token, true)
}

async fn in_service(
    State(vending): State<Vending>,
    Path(token): Path<String>,
) -> Result<axum::Json<MachineView>, DriverError> {
    set_service(&vending, &token, false)
}

fn set_service(vending: &Vending, token: &str, out: bool) -> Result<axum::Json<MachineView>, DriverError> {
    if vending.config().machine(token).is_none() {
        return Err(unknown(token));
    }
    match store::set_out_of_service(&vending.context().db, token, out, now_ms())? {
        ServiceChange::Done => {
            tracing::info!(machine = token, out_of_service = out, "machine service changed by the driver");
            vending.view_of(token).map(axum::Json)
        }
        ServiceChange::UnknownMachine => Err(unknown(token)),
        ServiceChange::InUse(state) => Err(DriverError::new(
            StatusCode::CONFLICT,
            format!("machine {token} is {} by a purchase; finish or cancel it first", state.as_str()),
        )),
    }
}
