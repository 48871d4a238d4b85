//! The JSON control API under `/control`: play the customer, inspect invoices and the
//! journal, inject faults. Documented in the README ("Control API").

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use glase_protocol::Operation;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppState;
use crate::journal::Filter;
use crate::machine::{CustomerError, FaultAction, FaultRule};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/info", get(info))
        .route("/customer/scan", post(scan))
        .route("/customer/confirm", post(confirm))
        .route("/customer/cancel", post(cancel))
        .route("/customer/walk-away", post(walk_away))
        .route("/customers/{msisdn}", get(get_customer).put(put_customer))
        .route("/invoices", get(list_invoices))
        .route("/invoices/{reference}", get(get_invoice))
        .route("/journal", get(journal))
        .route("/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
}

/// An error answer: `{"error": "..."}` with a fitting status.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<CustomerError> for ApiError {
    fn from(error: CustomerError) -> Self {
        let status = match error {
            CustomerError::UnknownInvoice(_) | CustomerError::UnknownCustomer(_) | CustomerError::UnknownSeqrId(_) => {
                StatusCode::NOT_FOUND
            }
            CustomerError::NotAGlaseQr(_) | CustomerError::MalformedUnattendedQr { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::CONFLICT,
        };
        Self(status, error.to_string())
    }
}

/// A JSON body whose rejections use our error format.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, rejection.body_text())
}

type ApiResult = Result<Response, ApiError>;

fn ok(value: impl Serialize) -> ApiResult {
    Ok(axum::Json(value).into_response())
}

async fn info(State(state): State<AppState>) -> ApiResult {
    let config = state.mock.config();
    ok(json!({
        "soapPaths": super::SOAP_PATHS,
        "resellers": config.resellers.iter().map(|r| json!({
            "id": r.id, "userId": r.user_id, "password": r.password, "currency": r.currency,
            "merchantId": r.merchant_id.as_deref().unwrap_or(&r.id),
        })).collect::<Vec<_>>(),
        "terminals": state.mock.with_machine(|m| m.terminals().map(|t| json!({
            "id": t.id, "reseller": t.reseller, "registered": t.registered, "seqrId": t.seqr_id,
        })).collect::<Vec<_>>()),
        "customers": config.customers.iter().map(|c| json!({"msisdn": c.msisdn, "pin": c.pin})).collect::<Vec<_>>(),
        "defaultCustomer": state.mock.with_machine(|m| m.default_customer().to_owned()),
        "deadlines": config.deadlines,
        "now": state.mock.now(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScanBody {
    qr: String,
    msisdn: Option<String>,
}

async fn scan(State(state): State<AppState>, ApiJson(body): ApiJson<ScanBody>) -> ApiResult {
    let view = state.mock.scan(&body.qr, body.msisdn.as_deref())?;
    ok(view)
}

/// Names the invoice directly or by QR code.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InvoiceAction {
    invoice_reference: Option<String>,
    qr: Option<String>,
    msisdn: Option<String>,
    /// Confirm only; absent means the customer's right PIN.
    pin: Option<String>,
}

impl InvoiceAction {
    fn reference(&self, state: &AppState) -> Result<String, ApiError> {
        match (&self.invoice_reference, &self.qr) {
            (Some(reference), None) => Ok(reference.trim().to_owned()),
            (None, Some(qr)) => Ok(state.mock.with_machine(|m| m.resolve_qr(qr))?),
            _ => Err(ApiError(StatusCode::BAD_REQUEST, "give exactly one of invoiceReference or qr".to_owned())),
        }
    }
}

async fn confirm(State(state): State<AppState>, ApiJson(body): ApiJson<InvoiceAction>) -> ApiResult {
    let reference = body.reference(&state)?;
    let (result, invoice) = state.mock.confirm(&reference, body.msisdn.as_deref(), body.pin.as_deref())?;
    ok(json!({ "result": result, "invoice": invoice }))
}

async fn cancel(State(state): State<AppState>, ApiJson(body): ApiJson<InvoiceAction>) -> ApiResult {
    let reference = body.reference(&state)?;
    ok(state.mock.cancel(&reference, body.msisdn.as_deref())?)
}

async fn walk_away(State(state): State<AppState>, ApiJson(body): ApiJson<InvoiceAction>) -> ApiResult {
    let reference = body.reference(&state)?;
    ok(state.mock.walk_away(&reference)?)
}

async fn get_customer(State(state): State<AppState>, Path(msisdn): Path<String>) -> ApiResult {
    match state.mock.customer(&msisdn) {
        Some(customer) => ok(customer),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("unknown customer {msisdn:?}"))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CustomerBody {
    pin: Option<String>,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    balance: Option<Decimal>,
}

async fn put_customer(
    State(state): State<AppState>,
    Path(msisdn): Path<String>,
    ApiJson(body): ApiJson<CustomerBody>,
) -> ApiResult {
    if body.balance.is_some_and(|b| b.is_sign_negative()) {
        return Err(ApiError(StatusCode::BAD_REQUEST, "balance must not be negative".to_owned()));
    }
    ok(state.mock.set_customer(&msisdn, body.pin.as_deref(), body.balance))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvoiceQuery {
    terminal: Option<String>,
    status: Option<String>,
}

async fn list_invoices(State(state): State<AppState>, Query(query): Query<InvoiceQuery>) -> ApiResult {
    let list: Vec<_> = state
        .mock
        .invoices(query.terminal.as_deref())
        .into_iter()
        .filter(|r| query.status.as_deref().is_none_or(|s| r.status.as_str().eq_ignore_ascii_case(s)))
        .map(|r| {
            json!({
                "reference": r.reference, "terminal": r.terminal, "status": r.status,
                "total": r.total.to_string(), "currency": r.currency, "paymentMode": r.payment_mode,
                "openedBy": r.opened_by, "version": r.version, "issuedAt": r.issued_at,
            })
        })
        .collect();
    ok(list)
}

async fn get_invoice(State(state): State<AppState>, Path(reference): Path<String>) -> ApiResult {
    match state.mock.invoice(&reference) {
        Some(view) => ok(view),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no invoice {reference:?}"))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalQuery {
    after: Option<u64>,
    invoice: Option<String>,
    terminal: Option<String>,
    limit: Option<usize>,
}

async fn journal(State(state): State<AppState>, Query(query): Query<JournalQuery>) -> ApiResult {
    let filter = Filter { after: query.after, invoice: query.invoice, terminal: query.terminal, limit: query.limit };
    let entries = state.mock.journal(&filter);
    let (kept, dropped, last) = state.mock.journal_stats();
    ok(json!({ "lastSeq": last, "kept": kept, "dropped": dropped, "entries": entries }))
}

/// `{"operation": "sendInvoice", "terminal": "demo-terminal", "resultCode": 94, "times": 1}`
/// or `{"soapFault": "bank down"}` instead of `resultCode`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultBody {
    operation: Option<String>,
    terminal: Option<String>,
    result_code: Option<i32>,
    soap_fault: Option<String>,
    times: Option<u32>,
}

async fn add_fault(State(state): State<AppState>, ApiJson(body): ApiJson<FaultBody>) -> ApiResult {
    let bad = |text: String| ApiError(StatusCode::BAD_REQUEST, text);
    let operation = match body.operation.as_deref() {
        None | Some("*") => None,
        Some(name) => Some(Operation::from_name(name).ok_or_else(|| bad(format!("unknown operation {name:?}")))?),
    };
    let action = match (body.result_code, body.soap_fault) {
        (Some(code), None) => FaultAction::ResultCode(code),
        (None, Some(text)) => FaultAction::SoapFault(text),
        _ => return Err(bad("give exactly one of resultCode or soapFault".to_owned())),
    };
    if body.times == Some(0) {
        return Err(bad("times must be at least 1 (omit it to fault until removed)".to_owned()));
    }
    let rule = FaultRule { id: 0, operation, terminal: body.terminal, action, remaining: body.times };
    let id = state.mock.add_fault(rule);
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response())
}

async fn list_faults(State(state): State<AppState>) -> ApiResult {
    ok(state.mock.faults())
}

async fn clear_faults(State(state): State<AppState>) -> ApiResult {
    ok(json!({ "removed": state.mock.clear_faults(None) }))
}

async fn remove_fault(State(state): State<AppState>, Path(id): Path<u64>) -> ApiResult {
    match state.mock.clear_faults(Some(id)) {
        0 => Err(ApiError(StatusCode::NOT_FOUND, format!("no fault #{id}"))),
        removed => ok(json!({ "removed": removed })),
    }
}
