//! A till sale: price the basket, register the till if it is not (registerTerminal +
//! assignSeqrId), then the order engine's checkout (sendInvoice without notificationUrl
//! or backURL). The customer pays by scanning the till's sticker, which Glase maps to
//! the till's newest unpaid invoice; the engine's status loop polls the sale every
//! `poll_interval` and cancels it when the payment window has passed.

use rust_decimal::Decimal;
use serde::Serialize;

use glase_protocol::ResultCode;

use super::registration;
use super::till::Till;
use crate::glase::GlaseError;
use crate::webshop::checkout;
use crate::webshop::error::ShopError;
use crate::webshop::orders::OrderId;

/// What starting a sale created.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SaleCreated {
    pub(crate) sale_id: OrderId,
    pub(crate) invoice_reference: String,
    /// The till's sticker, which the customer scans (not the invoice's own QR code).
    pub(crate) qr_code: String,
    #[serde(with = "crate::webshop::config::money")]
    pub(crate) total: Decimal,
    pub(crate) currency: String,
}

/// Starts a sale. Runs to the end even if the caller hangs up meanwhile (as the
/// webshop's checkout does): a registration or an invoice must never be half done.
pub(crate) async fn start(till: &Till, items: Vec<(String, u32)>) -> Result<SaleCreated, ShopError> {
    let till = till.clone();
    match tokio::spawn(async move { start_now(&till, &items).await }).await {
        Ok(result) => result,
        // Not cancelled (nobody holds the handle): only a panic ends it early.
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

async fn start_now(till: &Till, items: &[(String, u32)]) -> Result<SaleCreated, ShopError> {
    // A bad basket is refused before anything reaches Glase, registration included.
    checkout::price(till.engine().config(), items).map_err(ShopError::BadRequest)?;
    // Held until the invoice is recorded, so that no unregistration slips in between
    // (sales start one at a time; each is one sendInvoice).
    let _guard = till.lock_registration().await;
    registration::ensure_registered(till).await?;
    let created = match checkout::checkout(till.engine(), items).await {
        // Glase no longer knows the stored terminal (a new Glase, a test run's fresh
        // mock, or an administrator's change): the refused sendInvoice made nothing, so
        // the till registers again and starts the sale once more. The refused attempt
        // stays in the history as a failed sale.
        Err(ShopError::Glase { source, .. }) if terminal_unknown(&source) => {
            tracing::warn!(error = %source, "till: Glase no longer knows its terminal; registering again");
            registration::forget(till)?;
            registration::ensure_registered(till).await?;
            checkout::checkout(till.engine(), items).await?
        }
        other => other?,
    };
    Ok(SaleCreated {
        sale_id: created.order_id,
        invoice_reference: created.invoice_reference,
        qr_code: till.config().qr_code(),
        total: created.total,
        currency: created.currency,
    })
}

/// Whether Glase refused a call because of who the till is: the terminal is unknown (29),
/// unregistered or disabled (33), or its password no longer matches (20).
fn terminal_unknown(error: &GlaseError) -> bool {
    matches!(
        error.code(),
        Some(
            ResultCode::INVALID_INITIATOR_PRINCIPAL_ID
                | ResultCode::INVALID_INITIATOR_PRINCIPAL_STATE
                | ResultCode::AUTHENTICATION_FAILED
        )
    )
}
