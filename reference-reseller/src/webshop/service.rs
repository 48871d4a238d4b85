//! The webshop as the application runs it: its routes, the recovery after a restart, and
//! its background status loop.

use axum::Router;
use tokio::task::JoinHandle;

use super::shop::Webshop;
use super::{driver, recovery, status, web};

impl Webshop {
    /// The shop pages, the notification endpoint and (unless switched off) the driver.
    pub fn routes(&self) -> Router {
        let mut router = Router::new().merge(web::routes()).merge(status::routes());
        if self.config().driver {
            router = router.merge(driver::routes());
        }
        router.with_state(self.clone())
    }

    /// Finishes what a previous run left open: resumes polling of pending orders (their
    /// unpaid timeout counts from the stored checkout time), retries unsent receipts,
    /// fails orders whose sendInvoice never returned, and holds interrupted refunds for
    /// reconciliation instead of repeating them.
    pub async fn recover(&self) {
        recovery::recover(self).await;
    }

    /// Starts the status loop (polling, notifications, unpaid timeouts, receipts).
    pub fn spawn_background(&self) -> Vec<JoinHandle<()>> {
        let queue = self.take_refresh_queue();
        match queue {
            Some(queue) => vec![tokio::spawn(status::run(self.clone(), queue))],
            None => {
                tracing::warn!(channel = self.channel().as_str(), "webshop background tasks were already started");
                Vec::new()
            }
        }
    }
}
