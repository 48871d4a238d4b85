//! Checkout: price the basket from the catalogue, store the order, send the invoice.
//!
//! The order is stored *before* sendInvoice so that a crash during the call leaves a
//! trace (recovery fails it). Only the shop's own catalogue prices count; the basket
//! names SKUs and quantities, never amounts.
//!
//! # Every invoice ends, but one
//! Once the reference is recorded the order is polled and, unpaid, cancelled after
//! `unpaid_timeout`, across restarts. An invoice whose reference never reached the shop
//! (it died during sendInvoice, or the answer was lost) cannot be cancelled: Glase has
//! no lookup by clientInvoiceId. It is harmless: its QR code was never shown, so no
//! customer can open or pay it; it stays ISSUED at Glase, holding no money
//! **[decision]**; the order is `failed` with the reason. Sending it again to learn a
//! reference would only make a second such invoice. The call runs detached from the
//! caller's connection, so a caller that hangs up cannot add to these.

use glase_protocol::{AcknowledgmentMode, Amount, Invoice, InvoiceRow, PaymentMode};
use rust_decimal::Decimal;
use serde::Serialize;

use super::channel::Channel;
use super::config::{WebshopConfig, two_decimals};
use super::error::ShopError;
use super::orders::{Order, OrderId, OrderRow, OrderState};
use super::shop::{Webshop, now_ms, random_hex, rfc3339};
use crate::faults::Fault;
use crate::glase::GlaseError;

/// Most of one product in one order (a typo guard, not a stock level).
pub(crate) const MAX_QUANTITY: u32 = 99;

/// What a successful checkout created.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Created {
    pub(crate) order_id: OrderId,
    pub(crate) invoice_reference: String,
    pub(crate) qr_code: String,
    #[serde(with = "super::config::money")]
    pub(crate) total: Decimal,
    pub(crate) currency: String,
}

/// Turns `(sku, quantity)` pairs into priced rows and their total. Zero quantities are
/// skipped (an untouched form field); a SKU listed twice is one row.
pub(crate) fn price(config: &WebshopConfig, items: &[(String, u32)]) -> Result<(Vec<OrderRow>, Decimal), String> {
    let mut rows: Vec<OrderRow> = Vec::new();
    for (sku, quantity) in items {
        let product = config.product(sku).ok_or_else(|| format!("unknown product {sku:?}"))?;
        if *quantity == 0 {
            continue;
        }
        match rows.iter_mut().find(|row| &row.sku == sku) {
            Some(row) => row.quantity = row.quantity.saturating_add(*quantity),
            None => rows.push(OrderRow {
                sku: sku.clone(),
                name: product.name.clone(),
                quantity: *quantity,
                unit_price: two_decimals(product.price),
                total: Decimal::ZERO,
            }),
        }
    }
    if rows.is_empty() {
        return Err("choose at least one product".to_owned());
    }
    for row in &mut rows {
        if row.quantity > MAX_QUANTITY {
            return Err(format!("at most {MAX_QUANTITY} of {:?} per order", row.sku));
        }
        row.total = two_decimals(row.unit_price * Decimal::from(row.quantity));
    }
    let total = two_decimals(rows.iter().map(|row| row.total).sum());
    Ok((rows, total))
}

/// The invoice for an order: IMMEDIATE_DEBIT, NO_ACKNOWLEDGMENT, every field
/// certification asks for, rows that add up to the total, the session token in the
/// notificationUrl (unless `notification_url = false`) and the customer's order page as
/// backURL. A till's sale has neither: the till polls, and the customer has no page to
/// go back to (they stand at the counter).
pub(crate) fn invoice(shop: &Webshop, order: &Order, rows: &[OrderRow]) -> Invoice {
    let config = shop.config();
    let web = shop.channel() == Channel::Web;
    let amount = |value: Decimal| Some(Amount::new(value, order.currency.clone()));
    Invoice {
        payment_mode: Some(PaymentMode::ImmediateDebit),
        acknowledgment_mode: Some(AcknowledgmentMode::NoAcknowledgment),
        issue_date: Some(rfc3339(order.created_at_ms)),
        title: Some(format!("{} {} {}", config.name, shop.channel().noun(), order.id)),
        client_invoice_id: Some(order.id.0.clone()),
        invoice_rows: Some(
            rows.iter()
                .map(|row| InvoiceRow {
                    item_description: Some(row.name.clone()),
                    item_sku: Some(row.sku.clone()),
                    item_quantity: Some(Decimal::from(row.quantity)),
                    item_unit_price: amount(row.unit_price),
                    item_total_amount: amount(row.total),
                    ..InvoiceRow::default()
                })
                .collect(),
        ),
        total_amount: amount(order.total),
        cashier_id: Some(config.cashier_id.clone()),
        footer: None,
        back_url: web.then(|| format!("{}/shop/orders/{}", shop.public_url(), order.id)),
        notification_url: (web && config.notification_url)
            .then(|| format!("{}/seqr/shop/notify/{}", shop.public_url(), order.token)),
        commit_reservation_timeout: None,
    }
}

/// Creates an order and its invoice. Runs to the end even if the caller hangs up
/// meanwhile: a browser closed during sendInvoice must not leave an invoice whose
/// reference the shop never recorded (nobody could cancel it) and an order that no
/// poll ever looks at.
pub(crate) async fn checkout(shop: &Webshop, items: &[(String, u32)]) -> Result<Created, ShopError> {
    let (shop, items) = (shop.clone(), items.to_vec());
    match tokio::spawn(async move { create(&shop, &items).await }).await {
        Ok(result) => result,
        // Not cancelled (nobody holds the handle): only a panic ends it early.
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

async fn create(shop: &Webshop, items: &[(String, u32)]) -> Result<Created, ShopError> {
    let (rows, total) = price(shop.config(), items).map_err(ShopError::BadRequest)?;
    let order = Order {
        id: OrderId(format!("{}{}", shop.channel().id_prefix(), random_hex(8))),
        token: random_hex(16),
        state: OrderState::Pending,
        reason: None,
        currency: shop.config().currency.clone(),
        total,
        created_at_ms: now_ms(),
        invoice_reference: None,
        qr_code: None,
        version: 0,
        ers_reference: None,
    };
    shop.orders().insert(&order, &rows)?;
    let mut sent = shop.glase().send_invoice(invoice(shop, &order, &rows)).await;
    if shop.has_fault(Fault::ResendInvoiceOnLostAnswer) && sent.as_ref().is_err_and(GlaseError::answer_lost) {
        tracing::warn!(order_id = %order.id, "DELIBERATE FAULT resend-invoice-on-lost-answer: sending a second invoice");
        sent = shop.glase().send_invoice(invoice(shop, &order, &rows)).await;
    }
    match sent {
        Ok((reference, qr_code)) => {
            if let Err(error) = shop.orders().set_invoice(&order.id, &reference, &qr_code) {
                // We cannot remember the invoice, so nobody may use it.
                tracing::error!(order_id = %order.id, error = ?error, "cannot record the invoice; cancelling it");
                if let Err(error) = shop.glase().cancel_invoice(&reference).await {
                    tracing::error!(invoice_reference = %reference, error = %error, "cancelInvoice failed too");
                }
                return Err(error.into());
            }
            tracing::info!(order_id = %order.id, invoice_reference = %reference, total = %total, "invoice sent");
            Ok(Created { order_id: order.id, invoice_reference: reference, qr_code, total, currency: order.currency })
        }
        Err(error) => {
            tracing::warn!(order_id = %order.id, error = %error, "sendInvoice failed; the order fails");
            shop.orders().end(&order.id, OrderState::Failed, &format!("sendInvoice failed: {error}"), now_ms())?;
            Err(ShopError::glase("sendInvoice")(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(list: &[(&str, u32)]) -> Vec<(String, u32)> {
        list.iter().map(|(sku, q)| ((*sku).to_owned(), *q)).collect()
    }

    #[test]
    fn rows_are_priced_from_the_catalogue_and_add_up_to_the_total() {
        let config = WebshopConfig::default();
        let (rows, total) =
            price(&config, &items(&[("headphones", 1), ("cable", 2), ("case", 0), ("cable", 1)])).expect("valid");
        let lines: Vec<(String, u32, String)> =
            rows.iter().map(|r| (r.sku.clone(), r.quantity, r.total.to_string())).collect();
        assert_eq!(
            lines,
            [("headphones".to_owned(), 1, "149.99".to_owned()), ("cable".to_owned(), 3, "29.70".to_owned())]
        );
        assert_eq!(total.to_string(), "179.69");
        assert_eq!(rows.iter().map(|r| r.total).sum::<Decimal>(), total);
    }

    #[test]
    fn an_empty_basket_an_unknown_product_or_a_huge_quantity_is_refused() {
        let config = WebshopConfig::default();
        assert!(price(&config, &items(&[])).is_err());
        assert!(price(&config, &items(&[("case", 0)])).is_err());
        assert!(price(&config, &items(&[("piano", 1)])).unwrap_err().contains("piano"));
        assert!(price(&config, &items(&[("cable", 60), ("cable", 40)])).is_err());
    }
}
