//! After a restart: finish what the previous run left open, before serving.
//!
//! | stored state | what happened | recovery |
//! | --- | --- | --- |
//! | `claimed` | died while sendInvoice was running: the UPS got no answer, so no customer sees an invoice | release the machine (purchase `failed`); an invoice Glase may have created stays ISSUED (see below) |
//! | `issued` | waiting for the customer | getPaymentStatus: RESERVED → unlock; CANCELED/FAILED → release; PAID → record, release; ISSUED → keep (the poll and the idle timer go on) |
//! | `unlocked` | the customer was choosing | getPaymentStatus: RESERVED → stay unlocked, the idle timer resumes from the stored time; CANCELED/FAILED → release; PAID → record, release |
//! | `vending` | update/commit sent, outcome not recorded | getPaymentStatus: PAID → record; RESERVED → update and commit again with the stored amount (never twice: Glase refuses a commit on a PAID invoice); CANCELED/FAILED → release. The vend's outcome is recorded under its vend id: the machine, which never got its answer, reads it there |
//!
//! A Glase call that fails here is retried by the background timer (status poll, idle
//! timeout, unresolved vends), so no machine stays locked.
//!
//! # Which invoices end
//! Every invoice whose reference was recorded ends PAID, CANCELED or FAILED: the status
//! decides, and the idle timer cancels what is left waiting (from the stored time, so
//! a restart does not reset it). An invoice whose sendInvoice answer never arrived (a
//! crash during the call, or a lost answer) cannot be: its reference was never
//! learned and Glase has no lookup by clientInvoiceId **[decision]**. Nobody can use
//! it either: the UPS got an error (or nothing) instead of its reference, so no customer
//! opens it and no reservation starts on it; it stays ISSUED at Glase, holding no
//! money.

use tokio::task::JoinSet;
use tracing::Instrument;

use super::Vending;
use super::model::{PurchaseState, now_ms};
use super::status::{Origin, purchase_span};
use super::store::{self, Ending};

pub(crate) async fn recover(vending: &Vending) {
    let purchases = match store::open_purchases(&vending.context().db) {
        Ok(purchases) => purchases,
        Err(error) => return tracing::error!(error = %error, "recovery: cannot read the open purchases"),
    };
    if purchases.is_empty() {
        return;
    }
    tracing::info!(open = purchases.len(), "recovering vending purchases left open by the previous run");
    // Concurrently: with Glase slow, recovery takes one call's timeout, not one per purchase.
    let mut work = JoinSet::new();
    for purchase in purchases {
        let vending = vending.clone();
        let span = purchase_span(&purchase);
        work.spawn(
            async move {
                let _guard = vending.lock_purchase(&purchase.id).await;
                tracing::info!(state = purchase.state.as_str(), "recovering");
                match purchase.state {
                    PurchaseState::Claimed => {
                        let note = "the reseller stopped before sendInvoice answered";
                        let ending = Ending { state: PurchaseState::Failed, ers_reference: None, note, release: true };
                        if let Err(error) = store::finish(&vending.context().db, &purchase.id, &ending, now_ms()) {
                            tracing::error!(error = %error, "cannot release the machine");
                        }
                    }
                    PurchaseState::Issued | PurchaseState::Unlocked => {
                        vending.refresh_locked(&purchase.id, Origin::Recovery).await;
                    }
                    PurchaseState::Vending => {
                        vending.resolve_vending(&purchase).await;
                    }
                    PurchaseState::Paid | PurchaseState::Canceled | PurchaseState::Failed => {}
                }
            }
            .instrument(span),
        );
    }
    while work.join_next().await.is_some() {}
}
