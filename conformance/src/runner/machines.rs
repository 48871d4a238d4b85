//! Machines between scenarios: no cascades.
//!
//! A scenario that leaves a machine held (reserved, unlocked, vending) would make every
//! later scenario on it fail with findings that have nothing to do with them (a scan
//! declined DEVICE_IN_USE where a purchase was expected). So after its tidy-up each
//! scenario looks at the machines it used: one still held after the time the system
//! may take to let it go (the status deadline and a moment) is a finding of *that*
//! scenario (UPS-RELEASE-AFTER-PURCHASE), reported once, and the machine is marked
//! ([`Ledger`]). A later scenario on a marked machine looks again before it starts: free
//! by now, it runs; still held, it is inconclusive — blocked, naming the scenario that
//! left it — rather than failed.
//!
//! A scenario whose wait `--patience` cut (its verdict is inconclusive) is not blamed:
//! the system may hold the machine until its own idle timer fires. Later scenarios on it
//! then wait for that timer (as declared, or the library's bound) before giving up.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::drivers::DriverClient as Driver;

/// How often a held machine is looked at.
const POLL: Duration = Duration::from_millis(50);

/// The machines scenarios left held, and by whom.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    held: Mutex<HashMap<String, Held>>,
}

#[derive(Debug, Clone)]
struct Held {
    /// The scenario that left it.
    by: String,
    /// Wait until then for it to come free (the system's own timer is still running);
    /// `None`: look once.
    until: Option<Instant>,
}

/// A machine still held when the scenario that used it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeftHeld {
    pub machine: String,
    pub state: String,
}

impl Ledger {
    /// Before a scenario runs: `Err(why)` when one of its machines is still held by an
    /// earlier scenario (after waiting as long as that one's timer allows).
    pub async fn clear(&self, driver: &Driver, machines: &BTreeSet<String>) -> Result<(), String> {
        for machine in machines {
            let Some(held) = self.lock().get(machine).cloned() else { continue };
            let until = held.until.unwrap_or_else(Instant::now);
            match wait_until_free(driver, machine, until).await {
                None => {
                    self.lock().remove(machine);
                }
                Some(state) => {
                    return Err(format!(
                        "blocked: machine {machine} is still {state}, as scenario {} left it{} (a clean machine is \
                         needed; this scenario did not run)",
                        held.by,
                        if held.until.is_some() {
                            " while its system's idle timer ran"
                        } else {
                            " (see its finding UPS-RELEASE-AFTER-PURCHASE)"
                        }
                    ));
                }
            }
        }
        Ok(())
    }

    /// After a scenario's tidy-up: the machines it used that are not free within
    /// `window`, marked as left by `scenario`. With `pending_timer` (its wait was cut),
    /// nothing is waited for or blamed here: the machines are marked for later
    /// scenarios to wait up to then.
    pub async fn check_released(
        &self,
        driver: &Driver,
        scenario: &str,
        machines: &BTreeSet<String>,
        window: Duration,
        pending_timer: Option<Duration>,
    ) -> Vec<LeftHeld> {
        let mut left = Vec::new();
        for machine in machines {
            if let Some(timer) = pending_timer {
                if let Some(state) = state_of(driver, machine).await.filter(|s| s != "idle") {
                    let until = Some(Instant::now() + timer);
                    let _ = state;
                    self.lock().insert(machine.clone(), Held { by: scenario.to_owned(), until });
                }
                continue;
            }
            if let Some(state) = wait_until_free(driver, machine, Instant::now() + window).await {
                self.lock().insert(machine.clone(), Held { by: scenario.to_owned(), until: None });
                left.push(LeftHeld { machine: machine.clone(), state });
            }
        }
        left
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `None` once the machine is idle (or not a machine the driver knows, or the driver
/// does not answer: nothing to hold against anyone); its state if it is still held
/// at `until`.
async fn wait_until_free(driver: &Driver, machine: &str, until: Instant) -> Option<String> {
    loop {
        let state = state_of(driver, machine).await?;
        if state == "idle" {
            return None;
        }
        if Instant::now() >= until {
            return Some(state);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The machine's state as the driver reports it; `None` for an unknown machine or no
/// answer.
async fn state_of(driver: &Driver, machine: &str) -> Option<String> {
    let answer = driver.machine(machine).await.ok()?;
    if !answer.ok() {
        return None;
    }
    answer.field("state").map(str::to_owned)
}
