//! The till driver: the HTTP contract through which the conformance suite (or any test)
//! works a point-of-sale till as its cashier, so that a till can be tested as a black
//! box. This reseller serves it unless `[pos] driver = false` (or `enabled = false`).
//! It needs the `driver_token` when one is configured (the `staff` middleware covers
//! every `/driver/…` path), and none otherwise: never expose it in production.
//!
//! # Contract
//!
//! `docs/openapi/drivers.yaml` is this contract as OpenAPI 3.1; the integration tests
//! check every driver answer against it.
//!
//! JSON in and out (`Content-Type: application/json`). Money is a decimal **string**
//! with two decimals (`"7.00"`); requests may also send a JSON number. Every error is
//! `{"error": "<human-readable reason>"}` with status 400 (malformed request, unknown
//! product, bad amount), 404 (unknown sale), 409 (the till's or the sale's state does
//! not allow it) or 502 (Glase refused the call or did not answer).
//!
//! ## `GET /driver/pos/till`
//! The till and its latest sale:
//! ```text
//! ← 200 {"registered": true, "terminalId": "5f0c2a9e41d84b7c9a3e6f1d2b8c0a47",
//!        "externalTerminalId": "till-1", "seqrId": "GLASEDEMOTILL1",
//!        "qrCode": "HTTP://SEQR.SE/QGLASEDEMOTILL1", "state": "waiting", "saleId": "P3f9a1c0e7b2d4a68"}
//! ```
//! - `registered`: whether the till's terminal is registered at Glase now.
//! - `terminalId`: Glase's id of the till's terminal (32 hex), once a registration has
//!   succeeded; `null` before. It stays after unregistering (registering the same
//!   `externalTerminalId` again gives it back).
//! - `qrCode`: the till's static sticker `HTTP://SEQR.SE/Q<seqrId>`, what the customer
//!   scans for every sale (present before registration too).
//! - `state`: `idle` when no sale was started since the till was last registered, else
//!   the latest such sale's state: `waiting` (pending), `paid`, `canceled` or `failed`.
//!   `saleId` is that sale (`null` when `idle`).
//!
//! ## `POST /driver/pos/register`
//! (Re-)registers the till: registerTerminal as the configured reseller user, with the
//! configured `externalTerminalId` and a new random password the till stores before
//! sending it, then assignSeqrId of the sticker. Answers 200 with the till document.
//! 409 while a sale is pending or a paid sale's receipt is still being submitted. 502
//! `{"error": "registerTerminal failed: …"}` when Glase refuses or does not answer (the
//! stored registration is unchanged after a refusal; after a lost answer the till counts
//! as not registered and registers again at the next sale); 502 `{"error":
//! "assignSeqrId failed: …"}` when the terminal was registered but the sticker could not
//! be assigned (the terminal is kept; the next sale or register assigns it).
//!
//! ## `POST /driver/pos/unregister`
//! unregisterTerminal of the till's terminal; 200 with the till document
//! (`registered: false`). An unregistered till answers 200 without calling Glase. 409 as
//! for register; 502 `{"error": "unregisterTerminal failed: …"}` when Glase refuses or
//! does not answer (the till stays registered).
//!
//! ## `POST /driver/pos/sales`
//! Starts a sale from catalogue SKUs (`quantity` 1–99; the same SKU twice is added up):
//! registers the till first when it is not registered (or assigns its sticker when that
//! failed before), then sendInvoice (IMMEDIATE_DEBIT, rows with itemQuantity and
//! itemTotalAmount, no notificationUrl, no backURL).
//! ```text
//! → {"items": [{"sku": "coffee", "quantity": 2}]}
//! ← 201 {"saleId": "P3f9a1c0e7b2d4a68", "invoiceReference": "17954576909300001",
//!        "qrCode": "HTTP://SEQR.SE/QGLASEDEMOTILL1", "total": "7.00", "currency": "EUR"}
//! ```
//! The customer scans `qrCode`, the till's sticker: Glase opens the till's newest unpaid
//! invoice. The till polls getPaymentStatus every `poll_interval` (1 s) until the sale
//! ends or its payment window (30 s) passes, then cancels it (cancelInvoice). Another
//! sale may be started while one is pending: each is polled until it ends or its window
//! passes. 400 for a bad basket (nothing is stored, Glase is not called, the till is not
//! registered). 502 when registration or sendInvoice fails, as in the shop's checkout
//! (`{"error": "sendInvoice failed: …"}`; the sale is kept `failed`).
//!
//! ## `GET /driver/pos/sales/{saleId}`
//! The sale: the shop driver's order document with `saleId` instead of `orderId`
//! (`state` pending|paid|canceled|failed, `reason`, `invoiceReference`, `ersReference`,
//! `total`, `currency`, `refunded`, `version`, `rows`, `refunds`). 404 for an unknown
//! sale (a webshop order id is unknown here).
//!
//! ## `POST /driver/pos/sales/{saleId}/cancel`, `POST /driver/pos/sales/{saleId}/refund`
//! As the shop driver's cancel and refund (same statuses, bodies and checks), with
//! `saleId` instead of `orderId`. A refund of an unregistered till registers it first.
//!
//! ## `POST /driver/pos/close`
//! markTransactionPeriod for the till's terminal (parameters `TERMINALID`):
//! ```text
//! ← 200 {"transactionPeriodId": "2026112318145100000000001", "closedAt": "2026-11-23T18:14:51Z"}
//! ```
//! 409 when the till is not registered; 502 when Glase refuses or does not answer.
//!
//! ## `GET /driver/pos/periods/{transactionPeriodId}/report`
//! executeReport (`reportId` `Reconciliation/STD_RECON_007.xml`, the terminal details;
//! `language` `en`; parameters `transactionPeriodId` and `TERMINALID`):
//! ```text
//! ← 200 {"title": "Terminal details", "mimeType": "text/xml", "content": "<?xml …"}
//! ```
//! `content` is text when the report is textual (XML, text, JSON), else base64. 409
//! `{"error": "the report is not ready yet (resultCode 2); try again"}` while Glase is
//! preparing it; 502 for any other refusal (an unknown period, 49) or a lost answer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::registration;
use super::reports::{self, ReportView};
use super::sales;
use super::till::{Till, till_state};
use crate::webshop::driver::{OrderView, RefundAnswer, cancel_order};
use crate::webshop::error::{JsonBody, ShopError};
use crate::webshop::orders::{OrderId, OrderState};
use crate::webshop::periods::Closed;
use crate::webshop::refunds::{self, RefundRequest};

pub(crate) fn routes() -> Router<Till> {
    Router::new()
        .route("/driver/pos/till", get(till))
        .route("/driver/pos/register", post(register))
        .route("/driver/pos/unregister", post(unregister))
        .route("/driver/pos/sales", post(start_sale))
        .route("/driver/pos/sales/{id}", get(sale))
        .route("/driver/pos/sales/{id}/cancel", post(cancel))
        .route("/driver/pos/sales/{id}/refund", post(refund))
        .route("/driver/pos/close", post(close))
        .route("/driver/pos/periods/{id}/report", get(report))
}

/// The till document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct TillView {
    registered: bool,
    terminal_id: Option<String>,
    external_terminal_id: String,
    seqr_id: String,
    qr_code: String,
    state: &'static str,
    sale_id: Option<OrderId>,
}

impl TillView {
    fn load(till: &Till) -> Result<Self, ShopError> {
        let (record, latest) = till.status()?;
        Ok(Self {
            registered: record.registered,
            terminal_id: record.terminal_id,
            external_terminal_id: record.external_id,
            seqr_id: till.config().seqr_id.clone(),
            qr_code: till.config().qr_code(),
            state: till_state(latest.as_ref()),
            sale_id: latest.map(|order| order.id),
        })
    }
}

async fn till(State(till): State<Till>) -> Result<Json<TillView>, ShopError> {
    TillView::load(&till).map(Json)
}

async fn register(State(till): State<Till>) -> Result<Json<TillView>, ShopError> {
    registration::register(&till).await?;
    TillView::load(&till).map(Json)
}

async fn unregister(State(till): State<Till>) -> Result<Json<TillView>, ShopError> {
    registration::unregister(&till).await?;
    TillView::load(&till).map(Json)
}

#[derive(Debug, Deserialize)]
struct SaleRequest {
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
}

async fn start_sale(State(till): State<Till>, JsonBody(request): JsonBody<SaleRequest>) -> Response {
    let items: Vec<(String, u32)> = request.items.into_iter().map(|item| (item.sku, item.quantity)).collect();
    if items.iter().any(|(_, quantity)| *quantity == 0) {
        return ShopError::BadRequest("quantity must be at least 1".to_owned()).into_response();
    }
    match sales::start(&till, items).await {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn sale(State(till): State<Till>, Path(id): Path<String>) -> Result<Json<OrderView>, ShopError> {
    OrderView::load(till.engine(), &OrderId(id)).map(Json)
}

async fn cancel(State(till): State<Till>, Path(id): Path<String>) -> Result<Json<OrderView>, ShopError> {
    let id = OrderId(id);
    cancel_order(till.engine(), &id).await?;
    OrderView::load(till.engine(), &id).map(Json)
}

async fn refund(
    State(till): State<Till>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<RefundRequest>,
) -> Result<(StatusCode, Json<RefundAnswer>), ShopError> {
    let id = OrderId(id);
    let sale = till.engine().orders().get(&id)?.ok_or_else(|| ShopError::UnknownOrder(id.0.clone()))?;
    // Only a paid sale's refund reaches Glase: the till registers for it if it must.
    if sale.state == OrderState::Paid {
        let _guard = till.lock_registration().await;
        registration::ensure_registered(&till).await?;
    }
    let refund = refunds::refund(till.engine(), &id, request.amount).await?;
    Ok((StatusCode::CREATED, Json(RefundAnswer::load(till.engine(), &id, refund)?)))
}

async fn close(State(till): State<Till>) -> Result<Json<Closed>, ShopError> {
    reports::close(&till).await.map(Json)
}

async fn report(State(till): State<Till>, Path(id): Path<String>) -> Result<Json<ReportView>, ShopError> {
    reports::report(&till, &id).await.map(Json)
}
