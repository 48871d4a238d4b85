//! What the suite tests (the system under test's endpoints) and how (the resolved
//! command line).

use std::time::Duration;

use super::waits::Timers;
use crate::scenario::{Driver, Profile};

/// What the suite tests: the system under test's endpoints.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Where the mock's UPS sends createPurchase (`…/createPurchase`).
    pub create_purchase_url: Option<String>,
    /// Base URL of the machine driver (`{base}/driver/machines/…`).
    pub machine_driver: Option<String>,
    /// Base URL of the shop driver (`{base}/driver/shop/…`).
    pub shop_driver: Option<String>,
    /// Base URL of the point-of-sale driver (`{base}/driver/pos/…`).
    pub pos_driver: Option<String>,
    /// The drivers' bearer token, when the test build protects them (`--driver-token`).
    pub driver_token: Option<String>,
    /// The company it is built for (`--company`): the clientId certification expects in
    /// every call (`CTX-CLIENT-ID`). `None`: any clientId will do.
    pub company: Option<String>,
}

impl Target {
    /// One line for people: what was tested.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(url) = &self.create_purchase_url {
            parts.push(format!("createPurchase {url}"));
        }
        if let Some(url) = &self.machine_driver {
            parts.push(format!("machine driver {url}"));
        }
        if let Some(url) = &self.shop_driver {
            parts.push(format!("shop driver {url}"));
        }
        if let Some(url) = &self.pos_driver {
            parts.push(format!("point-of-sale driver {url}"));
        }
        if parts.is_empty() { "nothing (no URL given)".to_owned() } else { parts.join(", ") }
    }

    pub(crate) fn has(&self, driver: Driver) -> bool {
        match driver {
            Driver::Machine => self.machine_driver.is_some(),
            Driver::Shop => self.shop_driver.is_some(),
            Driver::Pos => self.pos_driver.is_some(),
        }
    }
}

/// How to run (the resolved command line).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: Target,
    /// `None`: every profile.
    pub profile: Option<Profile>,
    pub strict: bool,
    pub seed: u64,
    /// Caps the waits that no spec deadline or declared timer bounds (a CI that would
    /// rather fail fast); a wait it cut that runs out is inconclusive, not a failure.
    /// `None` keeps the scenarios' values.
    pub patience: Option<Duration>,
    /// The system under test's own timers, as declared: waits measured in them last
    /// exactly as long (see `waits`).
    pub timers: Timers,
}

impl RunOptions {
    /// What the run's waits are judged against, for the reports.
    pub fn conditions(&self, deadline_scale: f64) -> crate::results::Conditions {
        let human = |d: Duration| humantime::format_duration(d).to_string();
        crate::results::Conditions {
            idle_timeout: self.timers.idle_timeout.map(human),
            unpaid_timeout: self.timers.unpaid_timeout.map(human),
            patience: self.patience.map(human),
            deadline_scale,
        }
    }
}
