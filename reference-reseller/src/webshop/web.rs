//! The shop's own HTTP surface: the customer's pages and the status endpoint their
//! script polls, and the staff actions (refund, cancel, close) as form posts or JSON.
//!
//! Refund and close are staff actions: with a `driver_token` configured they need it (a
//! browser gets a login prompt; see `staff`), a real shop puts them behind its admin
//! login. Cancel is the customer's own, on the order page, guarded by the unguessable
//! order id. Browsers (an `Accept` with `text/html`) are redirected back to the order
//! page; other callers get JSON as from the driver.

use axum::Form;
use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::checkout;
use super::driver::{OrderView, RefundAnswer, cancel_order};
use super::error::{HtmlError, JsonBody, ShopError};
use super::orders::OrderId;
use super::pages;
use super::periods;
use super::refunds::{self, RefundRequest};
use super::shop::Webshop;

pub(crate) fn routes() -> Router<Webshop> {
    Router::new()
        .route("/shop", get(catalogue))
        .route("/shop/checkout", post(checkout_form))
        .route("/shop/orders/{id}", get(order_page))
        .route("/shop/orders/{id}/status", get(order_status))
        .route("/shop/orders/{id}/refund", post(refund))
        .route("/shop/orders/{id}/cancel", post(cancel))
        .route("/shop/close", post(close))
}

async fn catalogue(State(shop): State<Webshop>) -> Html<String> {
    Html(pages::catalogue_page(shop.config()))
}

/// The catalogue form: fields `qty-<sku>` with a quantity each (empty is 0).
async fn checkout_form(
    State(shop): State<Webshop>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Redirect, HtmlError> {
    let mut items = Vec::new();
    for (name, value) in fields {
        let Some(sku) = name.strip_prefix("qty-") else { continue };
        let value = value.trim();
        let quantity = if value.is_empty() { 0 } else { value.parse::<u32>().map_err(|_| bad_quantity(sku, value))? };
        items.push((sku.to_owned(), quantity));
    }
    let created = checkout::checkout(&shop, &items).await?;
    Ok(Redirect::to(&format!("/shop/orders/{}", created.order_id)))
}

fn bad_quantity(sku: &str, value: &str) -> ShopError {
    ShopError::BadRequest(format!("{value:?} is not a quantity for {sku:?}"))
}

async fn order_page(State(shop): State<Webshop>, Path(id): Path<String>) -> Result<Response, HtmlError> {
    let id = OrderId(id);
    let orders = shop.orders();
    let order = orders.get(&id)?.ok_or_else(|| ShopError::UnknownOrder(id.0.clone()))?;
    let page = pages::order_page(shop.config(), &order, &orders.rows(&id)?, &orders.refunds(&id)?);
    Ok(no_store(Html(page)))
}

async fn order_status(State(shop): State<Webshop>, Path(id): Path<String>) -> Result<Response, ShopError> {
    Ok(no_store(Json(OrderView::load(&shop, &OrderId(id))?)))
}

/// A refund: form field or JSON `amount`, absent or empty for the whole remainder.
async fn refund(
    State(shop): State<Webshop>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ShopError> {
    let id = OrderId(id);
    let body = if is_form(&headers) {
        Form::<RefundRequest>::from_request(request, &()).await.map_err(|e| ShopError::BadRequest(e.body_text()))?.0
    } else {
        JsonBody::<RefundRequest>::from_request(request, &()).await?.0
    };
    let refund = refunds::refund(&shop, &id, body.amount).await?;
    if wants_html(&headers) {
        return Ok(Redirect::to(&format!("/shop/orders/{id}")).into_response());
    }
    Ok((axum::http::StatusCode::CREATED, Json(RefundAnswer::load(&shop, &id, refund)?)).into_response())
}

async fn cancel(State(shop): State<Webshop>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let id = OrderId(id);
    let result = cancel_order(&shop, &id).await;
    match (wants_html(&headers), result) {
        (true, Ok(())) => Redirect::to(&format!("/shop/orders/{id}")).into_response(),
        (true, Err(error)) => HtmlError(error).into_response(),
        (false, Ok(())) => OrderView::load(&shop, &id).map(Json).into_response(),
        (false, Err(error)) => error.into_response(),
    }
}

async fn close(State(shop): State<Webshop>) -> Result<Json<periods::Closed>, ShopError> {
    periods::close(&shop).await.map(Json)
}

fn is_form(headers: &HeaderMap) -> bool {
    header_contains(headers, header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

fn wants_html(headers: &HeaderMap) -> bool {
    header_contains(headers, header::ACCEPT, "text/html")
}

fn header_contains(headers: &HeaderMap, name: header::HeaderName, needle: &str) -> bool {
    headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.to_ascii_lowercase().contains(needle))
}

/// Order pages change as the payment goes on: never cache them.
fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
