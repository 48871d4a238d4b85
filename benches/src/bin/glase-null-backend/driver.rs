//! The machine driver's read side and service switches (`docs/openapi/drivers.yaml`):
//! `GET /driver/machines`, `GET /driver/machines/{token}`,
//! `GET /driver/machines/{token}/vends/{vendId}` (the machine's last vend only), and
//! `POST /driver/machines/{token}/out-of-service` / `in-service`. The vend itself is
//! in `vend`. A view is copied out under the machine's lock and serialized after it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use glase_protocol::driver::MachineView;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::app::{App, DriverError, json};
use crate::catalogue::{CURRENCY, money};
use crate::fleet::{Phase, VendState};
use crate::vend::rows_json;

/// A machine as the driver shows it, its products the catalogue's JSON as written once.
type View<'a> = MachineView<&'a RawValue>;

fn view(app: &App, index: usize) -> View<'_> {
    let machine = &app.fleet.machines[index];
    let slot = app.fleet.lock(index);
    let hold = slot.hold.as_ref();
    View {
        token: machine.token.clone(),
        name: machine.name.clone(),
        state: slot.state(),
        in_service: !slot.out_of_service,
        purchase_id: hold.map(|h| format!("vp-{}", h.purchase)),
        invoice_reference: hold.and_then(|h| h.reference.clone()),
        reserved_amount: hold.filter(|h| h.phase != Phase::Reserved).map(|h| money(h.amount).to_string()),
        currency: CURRENCY.to_owned(),
        products: &app.fleet.catalogue(index).json,
    }
}

fn to_json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json(StatusCode::OK, body),
        Err(error) => DriverError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

pub async fn list(State(app): State<Arc<App>>) -> Response {
    #[derive(Serialize)]
    struct List<'a> {
        machines: Vec<View<'a>>,
    }
    let machines = (0..app.fleet.machines.len()).map(|index| view(&app, index)).collect();
    to_json(&List { machines })
}

pub async fn show(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    match app.fleet.index(&token) {
        Some(index) => to_json(&view(&app, index)),
        None => DriverError::unknown_machine(&token).into_response(),
    }
}

/// The machine's last vend by its id; 404 for any other id.
pub async fn show_vend(State(app): State<Arc<App>>, Path((token, vend_id)): Path<(String, String)>) -> Response {
    let Some(index) = app.fleet.index(&token) else { return DriverError::unknown_machine(&token).into_response() };
    let Some(record) = app.fleet.lock(index).last_vend.clone().filter(|v| v.id == vend_id) else {
        let message = format!("no vend {vend_id:?} at machine {token}");
        return DriverError::new(StatusCode::NOT_FOUND, message).into_response();
    };
    let mut body = serde_json::json!({
        "vendId": record.id,
        "machine": token,
        "purchaseId": format!("vp-{}", record.purchase),
        "invoiceReference": record.reference,
        "state": record.state.as_str(),
        "total": record.total.to_string(),
        "currency": CURRENCY,
        "rows": rows_json(app.fleet.catalogue(index), &record.rows),
    });
    if let (VendState::Paid, Some(ers)) = (record.state, &record.ers_reference) {
        body["ersReference"] = ers.clone().into();
    }
    if let Some(note) = &record.note {
        body["note"] = note.clone().into();
    }
    json(StatusCode::OK, body.to_string().into_bytes())
}

pub async fn out_of_service(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    set_service(&app, &token, true)
}

pub async fn in_service(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    set_service(&app, &token, false)
}

/// Closes or opens an idle machine (idempotent); 409 while a purchase holds it.
fn set_service(app: &App, token: &str, out: bool) -> Response {
    let Some(index) = app.fleet.index(token) else { return DriverError::unknown_machine(token).into_response() };
    {
        let mut slot = app.fleet.lock(index);
        if slot.hold.is_some() {
            let message = format!("machine {token} is {} by a purchase; finish or cancel it first", slot.state());
            return DriverError::new(StatusCode::CONFLICT, message).into_response();
        }
        slot.out_of_service = out;
    }
    to_json(&view(app, index))
}
