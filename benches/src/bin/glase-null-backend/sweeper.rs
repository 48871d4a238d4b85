//! The idle timer: one task that looks at every machine a few times per idle timeout.
//! A purchase still `reserved` or `unlocked` at its deadline (the customer walked
//! away, or never chose) has its invoice cancelled and the machine released; a failed
//! cancel is tried again after [`crate::app::RETRY`]; a vend left `pending` is resolved.
//!
//! # Implementation rationale
//! One sweep over all machines instead of a timer per purchase: nothing to arm or
//! disarm on the hot path, and retries need no bookkeeping of their own. A sweep is a
//! lock and a comparison per machine (200 machines, ten times a second: microseconds);
//! the cost is that an idle timeout fires up to one tick late.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::fleet::{Phase, VendRecord, VendState};
use crate::settle;

/// What a sweep found due on a machine.
enum Due {
    Cancel { purchase: u64, reference: String },
    Resolve(VendRecord),
}

/// Runs until the process ends.
pub async fn run(app: Arc<App>) {
    let tick = (app.idle_timeout / 10).clamp(Duration::from_millis(10), Duration::from_millis(100));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        let now = Instant::now();
        for index in 0..app.fleet.machines.len() {
            match due(&app, index, now) {
                Some(Due::Cancel { purchase, reference }) => {
                    let app = app.clone();
                    tokio::spawn(async move {
                        app.cancel(index, purchase, &reference).await;
                    });
                }
                Some(Due::Resolve(record)) => {
                    tokio::spawn(settle::resolve(app.clone(), index, record));
                }
                None => {}
            }
        }
    }
}

/// What is due on machine `index` at `now`, marked as under way under its lock.
fn due(app: &App, index: usize, now: Instant) -> Option<Due> {
    let mut slot = app.fleet.lock(index);
    let slot = &mut *slot;
    let hold = slot.hold.as_mut().filter(|h| h.deadline <= now && !h.closing)?;
    // sendInvoice still in flight: createPurchase finishes (or releases) it.
    let reference = hold.reference.clone()?;
    match hold.phase {
        Phase::Reserved | Phase::Unlocked => {
            hold.closing = true;
            Some(Due::Cancel { purchase: hold.purchase, reference })
        }
        Phase::Vending => {
            let purchase = hold.purchase;
            let record = slot
                .last_vend
                .as_mut()
                .filter(|v| v.purchase == purchase && v.state == VendState::Pending && !v.settling)?;
            record.settling = true;
            // Until this resolution ends; finish() sets the next deadline.
            hold.deadline = now + app.idle_timeout;
            Some(Due::Resolve(record.clone()))
        }
    }
}
