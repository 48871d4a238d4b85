//! The JSON control API under `/control`: play the customer, inspect invoices and the
//! journal, inject faults. Documented in docs/mock.md ("Playing the customer: the control API").

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api_error::{ApiError, ApiJson};
use super::state::{AppState, SOAP_PATHS};
use crate::clock::ClockError;
use crate::config::{Dialect, ResellerConfig, TerminalConfig, check_balance};
use crate::machine::ups::ScanOptions;
use crate::machine::{FaultAction, FaultRule, FaultTarget};
use crate::mock::ExtraNotification;

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
        .route("/notifications", post(send_notification))
        .route("/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/clock", get(get_clock).put(put_clock))
        .route("/clock/advance", post(advance_clock))
        .route("/resellers", post(add_reseller))
        .route("/terminals", post(add_terminal))
        .route("/merchants/{merchant_id}", put(put_merchant))
        .merge(super::journal_api::routes())
}

fn bad(text: impl Into<String>) -> ApiError {
    ApiError::bad(text)
}

fn duration(text: &str, what: &str) -> Result<std::time::Duration, ApiError> {
    humantime::parse_duration(text)
        .map_err(|e| bad(format!("{what}: {text:?} is not a duration like \"20s\" or \"250ms\" ({e})")))
}

type ApiResult = Result<Response, ApiError>;

fn ok(value: impl Serialize) -> ApiResult {
    Ok(axum::Json(value).into_response())
}

async fn info(State(state): State<AppState>) -> ApiResult {
    let config = state.mock.config();
    ok(json!({
        "soapPaths": SOAP_PATHS,
        "resellers": config.resellers.iter().map(|r| json!({
            "id": r.id, "userId": r.user_id, "password": r.password, "currency": r.currency,
            "merchantId": r.merchant_id.as_deref().unwrap_or(&r.id),
        })).collect::<Vec<_>>(),
        "terminals": state.mock.terminals().iter().map(|t| json!({
            "id": t.id, "reseller": t.reseller, "registered": t.registered, "seqrId": t.seqr_id,
        })).collect::<Vec<_>>(),
        "merchants": state.mock.merchants(),
        "customers": config.customers.iter().map(|c| json!({"msisdn": c.msisdn, "pin": c.pin})).collect::<Vec<_>>(),
        "defaultCustomer": state.mock.default_customer(),
        "deadlines": deadlines_json(state.mock.deadlines()),
        "deadlineScale": state.mock.deadline_scale(),
        "now": state.mock.now(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScanBody {
    qr: String,
    msisdn: Option<String>,
    /// Unattended QR codes only: the reservation amount offered (default configured).
    #[serde(default, with = "rust_decimal::serde::str_option")]
    amount: Option<Decimal>,
    /// Unattended QR codes only: notify before the createPurchase answer.
    #[serde(default)]
    notify_early: bool,
}

async fn scan(State(state): State<AppState>, ApiJson(body): ApiJson<ScanBody>) -> ApiResult {
    let options = ScanOptions { amount: body.amount, notify_early: body.notify_early };
    ok(state.mock.scan_qr(&body.qr, body.msisdn.as_deref(), &options).await?)
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
            (None, Some(qr)) => Ok(state.mock.resolve_qr(qr)?),
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
    if let Some(balance) = body.balance {
        check_balance(balance).map_err(|e| bad(e.to_string()))?;
    }
    ok(state.mock.set_customer(&msisdn, body.pin.as_deref(), body.balance))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvoiceQuery {
    terminal: Option<String>,
    status: Option<String>,
    /// At most this many (the newest).
    limit: Option<usize>,
}

async fn list_invoices(State(state): State<AppState>, Query(query): Query<InvoiceQuery>) -> ApiResult {
    let list: Vec<_> = state
        .mock
        .newest_invoices(query.terminal.as_deref(), query.status.as_deref(), query.limit.unwrap_or(usize::MAX))
        .into_iter()
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

/// `{"operation": "sendInvoice", "terminal": "demo-terminal", "resultCode": 94, "times": 1}`;
/// see docs/mock.md for every field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultBody {
    /// A SOAP operation, `*` (all SOAP operations), `createPurchase` or `notification`.
    operation: Option<String>,
    terminal: Option<String>,
    merchant: Option<String>,
    result_code: Option<i32>,
    soap_fault: Option<String>,
    http_status: Option<u16>,
    /// e.g. "3s"
    delay: Option<String>,
    #[serde(default)]
    drop_connection: bool,
    times: Option<u32>,
    probability: Option<f64>,
    /// Leave calls about invoices issued before this rule alone.
    #[serde(default)]
    new_invoices_only: bool,
    /// Only calls about this invoice reference.
    invoice: Option<String>,
    /// Only calls about invoices this customer (msisdn) has open or has paid.
    customer: Option<String>,
}

async fn add_fault(State(state): State<AppState>, ApiJson(body): ApiJson<FaultBody>) -> ApiResult {
    let name = body.operation.as_deref().unwrap_or("*");
    let target = FaultTarget::parse(name).ok_or_else(|| {
        bad(format!(
            "unknown operation {name:?}: use a SOAP operation name, \"*\", \"createPurchase\" or \"notification\""
        ))
    })?;
    let mut actions = Vec::new();
    if let Some(code) = body.result_code {
        actions.push(FaultAction::ResultCode(code));
    }
    if let Some(text) = body.soap_fault {
        actions.push(FaultAction::SoapFault(text));
    }
    if let Some(status) = body.http_status {
        actions.push(FaultAction::HttpStatus(status));
    }
    if let Some(delay) = body.delay.as_deref() {
        actions.push(FaultAction::Delay(duration(delay, "delay")?));
    }
    if body.drop_connection {
        actions.push(FaultAction::DropConnection);
    }
    let [action] = <[FaultAction; 1]>::try_from(actions)
        .map_err(|_| bad("give exactly one of resultCode, soapFault, httpStatus, delay or dropConnection"))?;
    let rule = FaultRule {
        id: 0,
        target,
        terminal: body.terminal,
        merchant: body.merchant,
        action,
        remaining: body.times,
        probability: body.probability,
        issued_from: body.new_invoices_only.then(|| state.mock.now()),
        invoice: body.invoice,
        customer: body.customer,
    };
    let id = state.mock.add_fault(rule).map_err(|e| bad(e.to_string()))?;
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NotificationBody {
    invoice_reference: String,
    /// `forged` (default) or `duplicate`.
    kind: Option<ExtraNotification>,
    /// Send it elsewhere than the invoice's notificationUrl.
    url: Option<String>,
    /// e.g. "2s": send it later.
    delay: Option<String>,
}

async fn send_notification(State(state): State<AppState>, ApiJson(body): ApiJson<NotificationBody>) -> ApiResult {
    let delay = body.delay.as_deref().map(|d| duration(d, "delay")).transpose()?;
    let kind = body.kind.unwrap_or(ExtraNotification::Forged);
    let sent = state.mock.send_extra_notification(body.invoice_reference.trim(), kind, body.url.as_deref(), delay)?;
    Ok((StatusCode::ACCEPTED, axum::Json(sent)).into_response())
}

/// The deadlines in force, as humantime text.
fn deadlines_json(d: crate::config::Deadlines) -> Value {
    json!({
        "statusDeadline": humantime::format_duration(d.status_deadline).to_string(),
        "reservationTimeout": humantime::format_duration(d.reservation_timeout).to_string(),
        "reportReadyDelay": humantime::format_duration(d.report_ready_delay).to_string(),
    })
}

fn clock_state(state: &AppState) -> Value {
    let now = state.mock.now();
    json!({
        "now": now,
        "time": now.to_rfc3339(),
        "deadlineScale": state.mock.deadline_scale(),
        "deadlines": deadlines_json(state.mock.deadlines()),
    })
}

async fn get_clock(State(state): State<AppState>) -> ApiResult {
    ok(clock_state(&state))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockBody {
    /// Multiplies every Glase-side deadline armed from now on (0.01: the 20 s rule in 200 ms).
    deadline_scale: f64,
}

async fn put_clock(State(state): State<AppState>, ApiJson(body): ApiJson<ClockBody>) -> ApiResult {
    state.mock.set_deadline_scale(body.deadline_scale).map_err(|e| bad(e.to_string()))?;
    ok(clock_state(&state))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    /// e.g. "20s"
    by: String,
}

async fn advance_clock(State(state): State<AppState>, ApiJson(body): ApiJson<AdvanceBody>) -> ApiResult {
    let by = duration(&body.by, "by")?;
    state.mock.advance_clock(by).map_err(|e| match e {
        // Too far is bad input; a clock that cannot move at all is this mock's state.
        ClockError::PastLimit { .. } => bad(e.to_string()),
        _ => ApiError(StatusCode::CONFLICT, e.to_string()),
    })?;
    ok(clock_state(&state))
}

async fn add_reseller(State(state): State<AppState>, ApiJson(body): ApiJson<ResellerConfig>) -> ApiResult {
    state.mock.add_reseller(&body)?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": body.id }))).into_response())
}

async fn add_terminal(State(state): State<AppState>, ApiJson(body): ApiJson<TerminalConfig>) -> ApiResult {
    state.mock.add_terminal(&body)?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": body.id }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MerchantBody {
    /// Absent keeps the URL; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    create_purchase_url: Option<Option<String>>,
    dialect: Option<Dialect>,
}

/// Tells a present `null` (`Some(None)`) from an absent key (`None`, via `default`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

async fn put_merchant(
    State(state): State<AppState>,
    Path(merchant_id): Path<String>,
    ApiJson(body): ApiJson<MerchantBody>,
) -> ApiResult {
    let url = match body.create_purchase_url {
        Some(url) => url,
        None => state.mock.merchant(&merchant_id).and_then(|r| r.create_purchase_url),
    };
    state.mock.set_create_purchase_url(&merchant_id, url.as_deref(), body.dialect)?;
    let merchant = state.mock.merchant(&merchant_id);
    ok(merchant)
}

/// The control calls whose JSON bodies [`check_body`] reads, in the order of its `kind`.
#[doc(hidden)]
pub const BODY_KINDS: &[&str] = &[
    "customer/scan",
    "customer/confirm|cancel|walk-away",
    "customers/{msisdn}",
    "faults",
    "notifications",
    "clock",
    "clock/advance",
    "resellers",
    "terminals",
    "merchants/{merchantId}",
];

/// Why a control call's body is refused: the message of the 400 its handler answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyRefused(pub String);

/// For fuzzing and tests: reads `body` as the JSON body of the control call
/// `BODY_KINDS[kind % len]`, as its handler's extractor does (serde_json), then runs the
/// checks its handler makes before it touches the mock (QR codes, durations, bounds,
/// URLs). `Err` is the 400 the handler would answer; no input panics.
#[doc(hidden)]
pub fn check_body(kind: u8, body: &[u8]) -> Result<(), BodyRefused> {
    refusal(kind, body).map_err(BodyRefused)
}

fn refusal(kind: u8, body: &[u8]) -> Result<(), String> {
    fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    }
    let text = |e: ApiError| e.1;
    match usize::from(kind) % BODY_KINDS.len() {
        0 => {
            let body: ScanBody = json(body)?;
            crate::machine::customer::parse_qr(&body.qr).map_err(|e| e.to_string())?;
            if body.amount.is_some_and(|a| a <= Decimal::ZERO) {
                return Err("amount must be positive".to_owned());
            }
        }
        1 => {
            let body: InvoiceAction = json(body)?;
            if let Some(qr) = &body.qr {
                crate::machine::customer::parse_qr(qr).map_err(|e| e.to_string())?;
            }
        }
        2 => {
            let body: CustomerBody = json(body)?;
            if let Some(balance) = body.balance {
                check_balance(balance).map_err(|e| e.to_string())?;
            }
        }
        3 => {
            let body: FaultBody = json(body)?;
            FaultTarget::parse(body.operation.as_deref().unwrap_or("*")).ok_or("unknown operation")?;
            if let Some(delay) = body.delay.as_deref() {
                duration(delay, "delay").map_err(text)?;
            }
        }
        4 => {
            let body: NotificationBody = json(body)?;
            if let Some(delay) = body.delay.as_deref() {
                duration(delay, "delay").map_err(text)?;
            }
        }
        5 => {
            let body: ClockBody = json(body)?;
            crate::config::check_deadline_scale(body.deadline_scale).map_err(|e| e.to_string())?;
        }
        6 => {
            let body: AdvanceBody = json(body)?;
            duration(&body.by, "by").map_err(text)?;
        }
        7 => {
            let body: ResellerConfig = json(body)?;
            if let Some(url) = &body.create_purchase_url {
                crate::config::check_create_purchase_url(url)?;
            }
        }
        8 => {
            let _: TerminalConfig = json(body)?;
        }
        _ => {
            let body: MerchantBody = json(body)?;
            if let Some(Some(url)) = &body.create_purchase_url {
                crate::config::check_create_purchase_url(url)?;
            }
        }
    }
    Ok(())
}
