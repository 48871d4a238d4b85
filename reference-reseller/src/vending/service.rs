//! [`Vending`]: the cheap-to-clone handle every vending handler and task works through.
//! It owns the per-purchase locks and the set of tasks the vending part spawned, so that
//! stopping the background (a shutdown, or a test's crash) stops all of its work.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::post;
use tokio::sync::OwnedMutexGuard;
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use super::config::VendingConfig;
use super::model::{PurchaseId, now_ms};
use super::status::Origin;
use super::{background, create_purchase, driver, notify, recovery, store};
use crate::app::Context;
use crate::faults::Fault;

/// The vending machines' backend: createPurchase, notifications, the machine driver,
/// recovery and the timers.
#[derive(Debug, Clone)]
pub struct Vending {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    context: Context,
    locks: PurchaseLocks,
    refreshes: Refreshes,
    /// Work spawned on behalf of requests (status fetches after notifications, the
    /// createPurchase and vend flows), aborted with the background.
    tasks: Mutex<JoinSet<()>>,
    /// Set once the background is stopped: no new work starts afterwards.
    stopped: AtomicBool,
}

impl Vending {
    /// Creates the vending tables and the machine rows of the configured fleet.
    pub fn new(context: Context) -> anyhow::Result<Self> {
        store::migrate(&context.db, &context.config.vending.machines, now_ms())
            .context("cannot prepare the vending tables")?;
        let inner = Inner {
            context,
            locks: PurchaseLocks::default(),
            refreshes: Refreshes::default(),
            tasks: Mutex::new(JoinSet::new()),
            stopped: AtomicBool::new(false),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// createPurchase, the notification callback and the machine driver, state applied.
    pub fn routes(&self) -> Router {
        Router::new()
            .route(&self.config().create_purchase_path, post(create_purchase::handle))
            .route(notify::ROUTE, post(notify::handle))
            .merge(driver::routes())
            .with_state(self.clone())
    }

    /// Finishes what a previous run left open (see the `recovery` module).
    pub async fn recover(&self) {
        recovery::recover(self).await;
    }

    /// Starts the timer task (idle timeout, fallback status poll, unresolved commits).
    /// Aborting it also aborts every task the vending part spawned.
    pub fn spawn_background(&self) -> Vec<JoinHandle<()>> {
        let guard = StopGuard(self.clone());
        let vending = self.clone();
        vec![tokio::spawn(async move {
            let _guard = guard;
            background::run(vending).await;
        })]
    }

    pub(crate) fn context(&self) -> &Context {
        &self.inner.context
    }

    pub(crate) fn config(&self) -> &VendingConfig {
        &self.inner.context.config.vending
    }

    pub(crate) fn fault(&self, fault: Fault) -> bool {
        self.inner.context.faults.has(fault)
    }

    /// How long to wait before retrying a failed Glase call in the background.
    pub(crate) fn retry_delay(&self) -> Duration {
        self.config().status_poll_interval.clamp(Duration::from_millis(100), Duration::from_secs(5))
    }

    /// Waits for exclusive use of a purchase. Every Glase-facing step of a purchase
    /// (status handling, vending, cancelling) runs under it and re-reads the purchase
    /// first, so concurrent notifications, polls, timers and vends act one at a time.
    pub(crate) async fn lock_purchase(&self, id: &PurchaseId) -> OwnedMutexGuard<()> {
        self.inner.locks.get(id).lock_owned().await
    }

    /// The lock if nobody holds it: background work skips a purchase that is busy.
    pub(crate) fn try_lock_purchase(&self, id: &PurchaseId) -> Option<OwnedMutexGuard<()>> {
        self.inner.locks.get(id).try_lock_owned().ok()
    }

    /// Asks for a status fetch of a purchase, coalesced: while one runs for the
    /// purchase, further requests only mark that one more must follow it. A burst of
    /// notifications for one purchase therefore costs at most one getPaymentStatus in
    /// flight plus one after it, however long the burst (each notification is still
    /// answered 200 at once).
    pub(crate) fn request_refresh(&self, id: PurchaseId, origin: Origin, span: tracing::Span) {
        if !self.inner.refreshes.claim(&id) {
            return;
        }
        // Owned by the task: released however it ends (aborted, or never started).
        let claim = RefreshClaim { vending: self.clone(), id };
        let work = async move {
            let RefreshClaim { vending, id } = &claim;
            loop {
                vending.refresh(id, origin).await;
                if !vending.inner.refreshes.again(id) {
                    break;
                }
                tracing::debug!("more notifications arrived during the fetch: one more");
            }
        };
        self.spawn_work(work.instrument(span));
    }

    /// Runs `work` as a task of the vending part (stopped with the background).
    pub(crate) fn spawn_work(&self, work: impl Future<Output = ()> + Send + 'static) {
        if self.inner.stopped.load(Ordering::SeqCst) {
            return;
        }
        let mut tasks = self.tasks();
        while tasks.try_join_next().is_some() {}
        tasks.spawn(work);
    }

    /// Runs `work` to completion even if the HTTP client that asked for it hangs up
    /// (a dropped handler future must not leave a machine half-claimed or a commit
    /// half-recorded). `None` if the vending part is stopped.
    pub(crate) async fn run_detached<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.spawn_work(async move {
            let _ = tx.send(work.await);
        });
        rx.await.ok()
    }

    fn tasks(&self) -> MutexGuard<'_, JoinSet<()>> {
        // The set stays consistent even if a holder panicked: spawning and reaping are
        // single calls.
        self.inner.tasks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Stops the vending part's work when the background task ends or is aborted.
#[derive(Debug)]
struct StopGuard(Vending);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.inner.stopped.store(true, Ordering::SeqCst);
        self.0.tasks().abort_all();
    }
}

/// The purchases with a status fetch running (from [`Vending::request_refresh`]), and
/// whether another was asked for meanwhile.
#[derive(Debug, Default)]
struct Refreshes(Mutex<HashMap<PurchaseId, bool>>);

impl Refreshes {
    fn map(&self) -> MutexGuard<'_, HashMap<PurchaseId, bool>> {
        // Each use is one insert, lookup or remove: consistent even after a panic.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// True if the caller is to run the fetch; false if one runs already (it is then
    /// marked to run once more).
    fn claim(&self, id: &PurchaseId) -> bool {
        let mut map = self.map();
        match map.get_mut(id) {
            Some(again) => {
                *again = true;
                false
            }
            None => {
                map.insert(id.clone(), false);
                true
            }
        }
    }

    /// After a fetch: whether to run another (and clears the mark).
    fn again(&self, id: &PurchaseId) -> bool {
        self.map().get_mut(id).is_some_and(|again| std::mem::replace(again, false))
    }

    fn release(&self, id: &PurchaseId) {
        self.map().remove(id);
    }
}

/// Held by the task running a purchase's coalesced fetches.
struct RefreshClaim {
    vending: Vending,
    id: PurchaseId,
}

impl Drop for RefreshClaim {
    fn drop(&mut self) {
        self.vending.inner.refreshes.release(&self.id);
    }
}

/// One async mutex per purchase, created on demand and forgotten when unused.
#[derive(Debug, Default)]
struct PurchaseLocks(Mutex<HashMap<PurchaseId, Weak<tokio::sync::Mutex<()>>>>);

impl PurchaseLocks {
    fn get(&self, id: &PurchaseId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Holders and waiters keep the Arc alive; an entry nobody uses can go.
        map.retain(|_, lock| lock.strong_count() > 0);
        if let Some(lock) = map.get(id).and_then(Weak::upgrade) {
            return lock;
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(id.clone(), Arc::downgrade(&lock));
        lock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_purchase_lock_is_exclusive_and_forgotten_when_free() {
        let locks = PurchaseLocks::default();
        let id = PurchaseId("p".to_owned());
        let held = locks.get(&id).try_lock_owned().unwrap();
        assert!(locks.get(&id).try_lock_owned().is_err());
        assert!(locks.get(&PurchaseId("q".to_owned())).try_lock_owned().is_ok());
        drop(held);
        assert!(locks.get(&id).try_lock_owned().is_ok());
        drop(locks.get(&PurchaseId("r".to_owned())));
        assert_eq!(locks.0.lock().unwrap().len(), 1, "only the entry just made is left");
    }
}
