//! The system under test of one run: a fresh in-process reference reseller (the
//! default), or the integrator's system named by URLs. Either way the run gets the
//! machine driver's base URL and the fleet (tokens and priced products) it explores.
//!
//! # Implementation rationale
//! The built-in reseller is started anew for every run (and every rerun while
//! shrinking): a new database, new machines, nothing left over from an earlier run to
//! change what a sequence does, which is what makes a printed seed replay exactly.
//! It is the demo's reference reseller with a fleet of `--machines` machines and a
//! shorter idle timeout (a customer walking away costs one idle timeout of waiting);
//! the timers are otherwise the demo's. An external system
//! cannot be restarted, so its runs share its machines: a run starts only when every
//! machine is idle, and ends only when the sequence has quiesced.

use std::time::Duration;

use crate::builtin::{self, Fault};
use rust_decimal::Decimal;
use serde_json::Value;

use super::fleet::{Machine, Product};
use crate::drivers::{DriverClient as Driver, segment};
use crate::runner::{Harness, Target};

/// The built-in reseller's idle timeout.
pub(crate) const BUILTIN_IDLE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SutError {
    #[error("cannot start the reference reseller")]
    Start(#[source] anyhow::Error),
    #[error("the machine driver at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{0}")]
    Fleet(String),
    /// A machine is not idle (still finishing an earlier run).
    #[error("{0}")]
    Busy(String),
}

/// What is explored.
#[derive(Debug, Clone)]
pub(crate) enum System {
    /// The reference reseller in-process, with these deliberate faults.
    Builtin { faults: Vec<Fault> },
    /// The integrator's system.
    External { target: Target },
}

/// One run's system: its driver and fleet; dropping it stops a built-in reseller.
#[derive(Debug)]
pub(crate) struct RunSystem {
    pub driver: Driver,
    pub fleet: Vec<Machine>,
    _reseller: Option<builtin::Running>,
}

impl System {
    /// Readies the system for one run of `machines` machines and points the mock's
    /// createPurchase at it; waits up to `patience` for busy machines to become idle.
    pub async fn begin(
        &self,
        harness: &Harness,
        http: &reqwest::Client,
        machines: usize,
        patience: Duration,
    ) -> Result<RunSystem, SutError> {
        let (create_purchase_url, driver_url, reseller) = match self {
            Self::Builtin { faults } => {
                let deadline = harness.status_deadline(harness.deadline_scale);
                let (reseller, url) =
                    builtin::start(&harness.soap_url(), deadline, "explore", faults, machines, BUILTIN_IDLE_TIMEOUT)
                        .await
                        .map_err(SutError::Start)?;
                (format!("{url}/seqr/createPurchase"), url, Some(reseller))
            }
            Self::External { target } => {
                let (Some(create), Some(driver)) = (&target.create_purchase_url, &target.machine_driver) else {
                    return Err(SutError::Fleet("explore needs --create-purchase-url and --machine-driver".to_owned()));
                };
                (create.clone(), driver.clone(), None)
            }
        };
        harness.point_at(&create_purchase_url).map_err(|e| SutError::Fleet(e.to_string()))?;
        let token = match self {
            Self::External { target } => target.driver_token.as_deref(),
            Self::Builtin { .. } => None,
        };
        let driver = Driver::new(&driver_url, http.clone(), token);
        let deadline = tokio::time::Instant::now() + patience;
        let fleet = loop {
            match fleet(&driver, machines).await {
                Err(SutError::Busy(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => break other?,
            }
        };
        Ok(RunSystem { driver, fleet, _reseller: reseller })
    }
}

/// The first `machines` machines the driver lists, each idle, with their products.
async fn fleet(driver: &Driver, machines: usize) -> Result<Vec<Machine>, SutError> {
    let list = driver.url(crate::drivers::MACHINES);
    let answer = driver.machines().await.map_err(|e| SutError::Unreachable { url: list.clone(), reason: e.detail })?;
    let listed = answer.body.get("machines").and_then(Value::as_array).cloned().unwrap_or_default();
    if !answer.ok() || listed.is_empty() {
        return Err(SutError::Fleet(format!("GET {list} listed no machines: {answer}")));
    }
    if listed.len() < machines {
        return Err(SutError::Fleet(format!(
            "--machines {machines}, but the machine driver lists only {}: use --machines {}",
            listed.len(),
            listed.len()
        )));
    }
    let mut fleet = Vec::with_capacity(machines);
    for entry in listed.iter().take(machines) {
        let token = entry.get("token").and_then(Value::as_str).unwrap_or_default().to_owned();
        let state = entry.get("state").and_then(Value::as_str).unwrap_or("?");
        if state != "idle" {
            return Err(SutError::Busy(format!(
                "machine {token} is {state}, not idle: finish its purchase (or wait for the idle timeout) and start again; \
                 GET {list}/{} shows it",
                segment(&token)
            )));
        }
        let products = entry
            .get("products")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|p| {
                        let sku = p.get("sku")?.as_str()?.to_owned();
                        let price: Decimal = p.get("price")?.as_str()?.parse().ok()?;
                        Some(Product { sku, price })
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if token.is_empty() || products.is_empty() {
            return Err(SutError::Fleet(format!(
                "the machine driver lists a machine without token or products: {entry}"
            )));
        }
        fleet.push(Machine { token, products });
    }
    Ok(fleet)
}
