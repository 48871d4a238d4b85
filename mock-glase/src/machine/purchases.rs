//! The createPurchase calls in progress, and which invoice each accepted one made.

use foldhash::HashMap;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::clock::Timestamp;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingPurchase {
    pub id: u64,
    pub reseller: String,
    pub merchant_id: String,
    pub token: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    pub msisdn: String,
    pub started_at: Timestamp,
    /// Invoices the merchant's terminals issued while the call was open.
    pub invoices: Vec<String>,
    pub notify_early: bool,
}

/// Open calls, by id.
#[derive(Debug, Clone, Default)]
pub struct Purchases {
    pub(super) next_id: u64,
    pub(super) pending: HashMap<u64, PendingPurchase>,
    /// Invoice → the purchase that was accepted with it: one invoice, one purchase.
    pub(super) accepted: HashMap<String, u64>,
}

impl Purchases {
    pub fn pending(&self) -> impl Iterator<Item = &PendingPurchase> {
        self.pending.values()
    }

    /// Drops the note of an evicted invoice's purchase (see `retention`).
    pub(crate) fn forget_accepted(&mut self, invoice: &str) {
        if !self.accepted.is_empty() {
            self.accepted.remove(invoice);
        }
    }
}
