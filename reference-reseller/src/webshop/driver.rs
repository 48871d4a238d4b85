//! The shop driver: the HTTP contract of spec section 8 through which the conformance
//! suite (or any test) starts checkouts and acts as shop staff, so that a webshop can be
//! tested as a black box. Any webshop may implement it in its test builds; the suite
//! skips the scenarios that need it when it is absent. This reseller serves it unless
//! `[webshop] driver = false`. It needs the `driver_token` when one is configured (see
//! `staff`), and none otherwise: never expose it in production.
//!
//! # Contract
//!
//! `docs/openapi/drivers.yaml` is this contract as OpenAPI 3.1; the integration tests
//! check every driver answer against it.
//!
//! JSON in and out (`Content-Type: application/json`). Money is a decimal **string**
//! with two decimals (`"149.99"`); requests may also send a JSON number. Every error is
//! `{"error": "<human-readable reason>"}` with status 400 (malformed request, unknown
//! product, bad amount), 404 (unknown order), 409 (the order's state does not allow it,
//! or a refund beyond the payment) or 502 (Glase refused the call or did not answer).
//!
//! ## `POST /driver/shop/checkout`
//! Creates an order from catalogue SKUs and sends its invoice (sendInvoice,
//! IMMEDIATE_DEBIT). `quantity` is 1–99; the same SKU twice is added up.
//! ```text
//! → {"items": [{"sku": "headphones", "quantity": 1}, {"sku": "cable", "quantity": 2}]}
//! ← 201 {"orderId": "W3f9a1c0e7b2d4a68", "invoiceReference": "17954576909300001",
//!        "qrCode": "HTTP://SEQR.SE/R17954576909300001", "total": "169.79", "currency": "EUR"}
//! ```
//! The customer pays by scanning `qrCode` (with the mock: `confirm` on `invoiceReference`).
//!
//! 400 for a bad basket (empty, unknown SKU, quantity 0 or above 99): nothing is stored,
//! Glase is not called. 502 when sendInvoice is refused (resultCode, SOAP fault) or its
//! answer is lost (no connection, `glase_timeout`): `{"error": "sendInvoice failed: Glase
//! answered resultCode 94 SERVICE_UNAVAILABLE"}`, `{"error": "sendInvoice failed: cannot
//! reach Glase"}`. The order is kept as `failed`, `reason` the same text, `invoiceReference`
//! `null`; its id is not in the 502 body (it is the sendInvoice's `clientInvoiceId`).
//! sendInvoice is never repeated for an order.
//!
//! ## `GET /driver/shop/orders/{orderId}`
//! The order as the shop sees it:
//! ```text
//! ← 200 {"orderId": "W3f9a1c0e7b2d4a68", "state": "paid", "invoiceReference": "17954576909300001",
//!        "ersReference": "2015102910184861801032678", "total": "169.79", "currency": "EUR",
//!        "refunded": "50.00", "version": 1,
//!        "rows": [{"sku": "headphones", "name": "Wireless headphones", "quantity": 1,
//!                  "unitPrice": "149.99", "total": "149.99"}, …],
//!        "refunds": [{"amount": "50.00", "state": "done", "ersReference": "…", "requestedAt": "…"}]}
//! ```
//! - `state`: `pending` (waiting for the customer), `paid` (getPaymentStatus said PAID;
//!   `ersReference` is set), `canceled` (by the customer, by the shop, after the shop's
//!   unpaid timeout, or reversed by Glase) or `failed` (FAILED, or no invoice could be
//!   sent). `reason` (optional) says why an order is `canceled` or `failed`.
//! - `invoiceReference` is `null` only for an order whose sendInvoice failed.
//! - `ersReference` is present once paid. `refunded` sums the refunds Glase confirmed.
//! - `version` is the latest invoice `version` getPaymentStatus returned (0 before the
//!   first answer; it only grows); the next call echoes it as `invoiceVersion`.
//! - `refunds[].state`: `requested` (under way), `done`, `rejected` (Glase refused, no
//!   money moved, `error` says why) or `unknown` (no answer; held for reconciliation,
//!   never repeated). The shop's own page polls `GET /shop/orders/{orderId}/status`,
//!   which answers the same document.
//!
//! ## `POST /driver/shop/orders/{orderId}/refund`
//! Refunds part of a paid order, or (no `amount`, or an empty body) everything not yet
//! refunded. The shop checks the amount against the payment itself first: a refund
//! beyond it is 409 and never reaches Glase. Glase's own refusal 98 is also 409.
//! ```text
//! → {"amount": "50.00"}
//! ← 201 {"orderId": "W3f9a1c0e7b2d4a68",
//!        "refund": {"amount": "50.00", "state": "done", "ersReference": "…", "requestedAt": "…"},
//!        "refunded": "50.00", "remaining": "119.79", "refunds": [ … ]}
//! → {"amount": "500.00"}
//! ← 409 {"error": "refunds cannot exceed the payment: 119.79 EUR of order W3f9a1c0e7b2d4a68 is left to refund"}
//! ```
//! 409 also for an order that is not `paid`, or one refunded in full. 400 for an amount
//! ≤ 0 or with more than two decimals. 502 for any other refusal by Glase (the refund is
//! kept `rejected`) or a lost answer (kept `unknown`). `refund` is the refund just made;
//! `refunded` sums the `done` refunds; `remaining` is the payment minus every refund that
//! is not `rejected`.
//!
//! ## `POST /driver/shop/orders/{orderId}/cancel`
//! Cancels a `pending` order now (cancelInvoice) and answers the order document (200)
//! with `state` `canceled` and `reason` "canceled by the shop"; an order already
//! `canceled` or `failed` is answered as it is, without calling Glase (`reason` tells the
//! two apart); if Glase does not know the invoice (54) the order is `failed` (200). 409,
//! the order unchanged, if it is `paid` (Glase is not asked), if Glase says the customer
//! has just paid (50: the order turns `paid` shortly), if the customer is confirming at
//! this moment (51: try again), or if Glase had already closed the invoice (95: the
//! order's final state follows shortly). 502 for any other refusal or a lost answer; the
//! order stays `pending`.
//! ```text
//! ← 200 {"orderId": "W3f9a1c0e7b2d4a68", "state": "canceled", "reason": "canceled by the shop", …}
//! ```
//!
//! ## `POST /driver/shop/close`
//! Closes the transaction period (markTransactionPeriod for the shop's terminal).
//! ```text
//! ← 200 {"transactionPeriodId": "2026112318145100000000001", "closedAt": "2026-11-23T18:14:51Z"}
//! ```
//! `transactionPeriodId` is `null` if Glase's answer had none; 502
//! `{"error": "markTransactionPeriod failed: …"}` when it is refused or lost.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::cancel::{Cancelled, cancel_invoice};
use super::channel::Channel;
use super::checkout;
use super::config::money;
use super::error::{JsonBody, ShopError};
use super::orders::{OrderId, OrderState, Refund, RefundState};
use super::periods;
use super::refunds::{self, RefundRequest};
use super::shop::{Webshop, now_ms, rfc3339};
use crate::faults::Fault;

pub(crate) fn routes() -> Router<Webshop> {
    Router::new()
        .route("/driver/shop/checkout", post(checkout))
        .route("/driver/shop/orders/{id}", get(order))
        .route("/driver/shop/orders/{id}/refund", post(refund))
        .route("/driver/shop/orders/{id}/cancel", post(cancel))
        .route("/driver/shop/close", post(close))
}

#[derive(Debug, Deserialize)]
struct CheckoutRequest {
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
}

async fn checkout(State(shop): State<Webshop>, JsonBody(request): JsonBody<CheckoutRequest>) -> Response {
    let items: Vec<(String, u32)> = request.items.into_iter().map(|item| (item.sku, item.quantity)).collect();
    if items.iter().any(|(_, quantity)| *quantity == 0) {
        return ShopError::BadRequest("quantity must be at least 1".to_owned()).into_response();
    }
    match checkout::checkout(&shop, &items).await {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn order(State(shop): State<Webshop>, Path(id): Path<String>) -> Result<Json<OrderView>, ShopError> {
    OrderView::load(&shop, &OrderId(id)).map(Json)
}

async fn refund(
    State(shop): State<Webshop>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<RefundRequest>,
) -> Result<(StatusCode, Json<RefundAnswer>), ShopError> {
    let id = OrderId(id);
    let refund = refunds::refund(&shop, &id, request.amount).await?;
    Ok((StatusCode::CREATED, Json(RefundAnswer::load(&shop, &id, refund)?)))
}

async fn cancel(State(shop): State<Webshop>, Path(id): Path<String>) -> Result<Json<OrderView>, ShopError> {
    let id = OrderId(id);
    cancel_order(&shop, &id).await?;
    OrderView::load(&shop, &id).map(Json)
}

async fn close(State(shop): State<Webshop>) -> Result<Json<periods::Closed>, ShopError> {
    periods::close(&shop).await.map(Json)
}

/// Cancels a pending order at once (shared with the shop's own endpoint).
pub(crate) async fn cancel_order(shop: &Webshop, id: &OrderId) -> Result<(), ShopError> {
    let order = shop.orders().get(id)?.ok_or_else(|| ShopError::UnknownOrder(id.0.clone()))?;
    match order.state {
        OrderState::Pending => {}
        OrderState::Paid if shop.has_fault(Fault::CancelPaidOrder) => {
            tracing::warn!(order_id = %id, "DELIBERATE FAULT cancel-paid-order: asking Glase to cancel a paid order");
        }
        OrderState::Paid => return Err(ShopError::Conflict(format!("order {id} is paid; refund it instead"))),
        OrderState::Canceled | OrderState::Failed => return Ok(()),
    }
    let cancelled = cancel_invoice(shop, &order, "canceled by the shop").await?;
    if shop.has_fault(Fault::IgnoreCancelResult) && !matches!(cancelled, Cancelled::Done) {
        tracing::warn!(order_id = %id, outcome = ?cancelled, "DELIBERATE FAULT ignore-cancel-result: marking the order canceled anyway");
        shop.orders().end(id, OrderState::Canceled, "canceled by the shop", now_ms())?;
        return Ok(());
    }
    match cancelled {
        Cancelled::Done | Cancelled::UnknownInvoice => Ok(()),
        Cancelled::AlreadyPaid => {
            shop.refresh(order.id, false);
            Err(ShopError::Conflict(format!("the customer has already paid order {id}")))
        }
        Cancelled::InProgress => Err(ShopError::Conflict(format!(
            "the customer is confirming the payment of order {id} right now; try again shortly"
        ))),
        Cancelled::AlreadyEnded => {
            shop.refresh(order.id, false);
            Err(ShopError::Conflict(format!("Glase has already closed the invoice of order {id}")))
        }
        Cancelled::Failed(error) => Err(ShopError::glase("cancelInvoice")(error)),
    }
}

/// An order's id under the name its channel's driver gives it: `orderId` (the shop
/// driver) or `saleId` (the till's, `crate::pos::driver`).
#[derive(Debug, Clone, Serialize)]
enum SubjectId {
    #[serde(rename = "orderId")]
    Order(OrderId),
    #[serde(rename = "saleId")]
    Sale(OrderId),
}

impl SubjectId {
    fn of(shop: &Webshop, id: OrderId) -> Self {
        match shop.channel() {
            Channel::Web => Self::Order(id),
            Channel::Till => Self::Sale(id),
        }
    }
}

/// The order document of the driver and the shop's status endpoint (and, with
/// `saleId`, the till's sale document).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderView {
    #[serde(flatten)]
    id: SubjectId,
    state: OrderState,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    invoice_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ers_reference: Option<String>,
    #[serde(with = "money")]
    total: Decimal,
    currency: String,
    #[serde(with = "money")]
    refunded: Decimal,
    version: i32,
    rows: Vec<RowView>,
    refunds: Vec<RefundView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RowView {
    sku: String,
    name: String,
    quantity: u32,
    #[serde(with = "money")]
    unit_price: Decimal,
    #[serde(with = "money")]
    total: Decimal,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundView {
    #[serde(with = "money")]
    amount: Decimal,
    state: RefundState,
    #[serde(skip_serializing_if = "Option::is_none")]
    ers_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    requested_at: String,
}

impl From<&Refund> for RefundView {
    fn from(refund: &Refund) -> Self {
        Self {
            amount: refund.amount,
            state: refund.state,
            ers_reference: refund.ers_reference.clone(),
            error: refund.error.clone(),
            requested_at: rfc3339(refund.requested_at_ms),
        }
    }
}

fn refunded(refunds: &[Refund]) -> Decimal {
    refunds.iter().filter(|r| r.state == RefundState::Done).map(|r| r.amount).sum()
}

impl OrderView {
    pub(crate) fn load(shop: &Webshop, id: &OrderId) -> Result<Self, ShopError> {
        let orders = shop.orders();
        let order = orders.get(id)?.ok_or_else(|| ShopError::UnknownOrder(id.0.clone()))?;
        let rows = orders.rows(id)?;
        let refunds = orders.refunds(id)?;
        Ok(Self {
            id: SubjectId::of(shop, order.id),
            state: order.state,
            reason: order.reason,
            invoice_reference: order.invoice_reference,
            ers_reference: order.ers_reference,
            total: order.total,
            currency: order.currency,
            refunded: refunded(&refunds),
            version: order.version,
            rows: rows
                .into_iter()
                .map(|r| RowView {
                    sku: r.sku,
                    name: r.name,
                    quantity: r.quantity,
                    unit_price: r.unit_price,
                    total: r.total,
                })
                .collect(),
            refunds: refunds.iter().map(RefundView::from).collect(),
        })
    }
}

/// The answer to a refund.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundAnswer {
    #[serde(flatten)]
    id: SubjectId,
    refund: Option<RefundView>,
    #[serde(with = "money")]
    refunded: Decimal,
    #[serde(with = "money")]
    remaining: Decimal,
    refunds: Vec<RefundView>,
}

impl RefundAnswer {
    pub(crate) fn load(shop: &Webshop, id: &OrderId, refund: i64) -> Result<Self, ShopError> {
        let refunds = shop.orders().refunds(id)?;
        let paid = shop.orders().payment(id)?.map_or(Decimal::ZERO, |p| p.amount);
        let held: Decimal = refunds.iter().filter(|r| r.state != RefundState::Rejected).map(|r| r.amount).sum();
        Ok(Self {
            id: SubjectId::of(shop, id.clone()),
            refund: refunds.iter().find(|r| r.id == refund).map(RefundView::from),
            refunded: refunded(&refunds),
            remaining: (paid - held).max(Decimal::ZERO),
            refunds: refunds.iter().map(RefundView::from).collect(),
        })
    }
}
