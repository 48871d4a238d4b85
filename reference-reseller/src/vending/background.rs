//! The vending timer: one task that wakes a few times per idle timeout and
//!
//! - cancels reservations idle for longer than `idle_timeout` (nothing vended), so a
//!   machine is never left locked by a customer who walked away;
//! - every `status_poll_interval`, fetches the status of invoices that wait for the
//!   customer, in case a notification was lost (the 20 s status rule still holds);
//! - retries commits whose outcome is unknown.
//!
//! All times come from the database, so after a restart the timers resume where they
//! were. Each piece of work takes the purchase's lock with `try_lock` and skips a
//! purchase that is busy (a vend or a status fetch in progress): the next tick gets it.

use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tracing::Instrument;

use super::Vending;
use super::model::{MachineState, Purchase, PurchaseState, now_ms};
use super::status::{Origin, purchase_span};
use super::store;
use super::vend::CancelOutcome;
use crate::faults::Fault;

pub(crate) async fn run(vending: Vending) {
    let config = vending.config();
    let period = (config.idle_timeout.min(config.status_poll_interval) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_poll = Instant::now();
    loop {
        ticker.tick().await;
        vending.cancel_idle();
        vending.retry_unresolved_vends();
        if last_poll.elapsed() >= vending.config().status_poll_interval {
            last_poll = Instant::now();
            vending.poll_waiting();
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Vending {
    fn cancel_idle(&self) {
        if self.fault(Fault::NoIdleCancel) {
            return;
        }
        let now = now_ms();
        let cutoff = now - millis(self.config().idle_timeout);
        let purchases = match store::idle_purchases(&self.context().db, cutoff, now) {
            Ok(purchases) => purchases,
            Err(error) => return tracing::error!(error = %error, "idle timer: cannot read the purchases"),
        };
        for purchase in purchases {
            let worker = self.clone();
            let span = purchase_span(&purchase);
            self.spawn_work(async move { worker.cancel_if_idle(&purchase).await }.instrument(span));
        }
    }

    async fn cancel_if_idle(&self, purchase: &Purchase) {
        let Some(_guard) = self.try_lock_purchase(&purchase.id) else { return };
        let db = &self.context().db;
        let now = now_ms();
        let cutoff = now - millis(self.config().idle_timeout);
        // Re-read under the lock: it may have been unlocked (timer restarted) or vended.
        let (Ok(Some(purchase)), Ok(Some(machine))) =
            (store::purchase(db, &purchase.id), store::machine(db, &purchase.machine))
        else {
            return;
        };
        let holds_machine = machine.purchase.as_ref() == Some(&purchase.id)
            && matches!(machine.state, MachineState::Reserved | MachineState::Unlocked);
        let idle = matches!(purchase.state, PurchaseState::Issued | PurchaseState::Unlocked);
        if !holds_machine || !idle || machine.state_since > cutoff {
            return;
        }
        tracing::info!(state = purchase.state.as_str(), "idle timeout: nothing vended; cancelling the reservation");
        if let CancelOutcome::Retry(why) = self.cancel_purchase(&purchase, "idle timeout: nothing vended").await {
            let at = now + millis(self.retry_delay());
            tracing::warn!(why, "idle cancel not possible now; retrying later");
            if let Err(error) = store::set_retry(db, &purchase.id, Some(at)) {
                tracing::error!(error = %error, "cannot schedule the retry");
            }
        }
    }

    fn poll_waiting(&self) {
        if self.fault(Fault::SkipStatusFetch) {
            return;
        }
        if self.fault(Fault::NotificationOnly) {
            return tracing::debug!("FAULT notification-only: no fallback status poll");
        }
        let purchases = match store::waiting_purchases(&self.context().db) {
            Ok(purchases) => purchases,
            Err(error) => return tracing::error!(error = %error, "status poll: cannot read the purchases"),
        };
        self.spawn_locked(purchases, |worker, purchase| async move {
            worker.refresh_locked(&purchase.id, Origin::Poll).await;
        });
    }

    fn retry_unresolved_vends(&self) {
        let purchases = match store::unresolved_vends(&self.context().db, now_ms()) {
            Ok(purchases) => purchases,
            Err(error) => return tracing::error!(error = %error, "cannot read unfinished vends"),
        };
        self.spawn_locked(purchases, |worker, purchase| async move {
            match store::purchase(&worker.context().db, &purchase.id) {
                Ok(Some(purchase)) if purchase.state == PurchaseState::Vending => {
                    worker.resolve_vending(&purchase).await;
                }
                _ => {}
            }
        });
    }

    /// Works on each purchase in a task of its own that holds the purchase's lock; a
    /// purchase another task holds is left for the next round.
    fn spawn_locked<W, F>(&self, purchases: Vec<Purchase>, work: W)
    where
        W: Fn(Self, Purchase) -> F + Clone + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        for purchase in purchases {
            let worker = self.clone();
            let work = work.clone();
            let span = purchase_span(&purchase);
            self.spawn_work(
                async move {
                    let Some(_guard) = worker.try_lock_purchase(&purchase.id) else { return };
                    work(worker.clone(), purchase).await;
                }
                .instrument(span),
            );
        }
    }
}
