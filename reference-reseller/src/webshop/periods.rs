//! Closing: markTransactionPeriod ends the current reconciliation period (at the end of
//! the day, say); its transactionPeriodId names the period in executeReport.

use serde::Serialize;

use super::error::ShopError;
use super::shop::{Webshop, now_ms, rfc3339};

/// A closed period.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Closed {
    pub(crate) transaction_period_id: Option<String>,
    pub(crate) closed_at: String,
}

pub(crate) async fn close(shop: &Webshop) -> Result<Closed, ShopError> {
    let id = shop.glase().mark_transaction_period().await.map_err(ShopError::glase("markTransactionPeriod"))?;
    let now = now_ms();
    shop.orders().insert_period(id.as_deref(), now)?;
    tracing::info!(transaction_period_id = id.as_deref().unwrap_or("(none)"), "transaction period closed");
    Ok(Closed { transaction_period_id: id, closed_at: rfc3339(now) })
}
