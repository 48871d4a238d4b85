//! Before a run: a client for the system under test, and a check that every endpoint
//! it declared answers at all — or why the run cannot start.

use std::net::SocketAddr;
use std::time::Duration;

use mock_glase::errors::error_chain;

use super::target::Target;
use crate::drivers::{self, Answer, DriverClient, Unreachable};

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("cannot listen on {addr} for the system under test's Glase calls")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    /// The system under test does not answer (exit code 3).
    #[error("the system under test is unreachable: {what} at {url}: {reason}")]
    Unreachable { what: &'static str, url: String, reason: String },
}

/// A client for the system under test (rustls with ring, like the mock's).
pub fn http_client() -> Result<reqwest::Client, RunError> {
    mock_glase::outbound::http_client_trusting(Duration::from_secs(30), None)
        .map_err(|e| RunError::Config(format!("{e:#}")))
}

/// Checks that every configured endpoint of the system under test answers HTTP at all
/// (any status will do for createPurchase; the machine driver must list its machines).
pub async fn preflight(target: &Target, http: &reqwest::Client) -> Result<(), RunError> {
    let timeout = Duration::from_secs(5);
    if let Some(url) = &target.create_purchase_url {
        if !url.trim_end_matches('/').ends_with("createPurchase") {
            return Err(RunError::Config(format!(
                "--create-purchase-url {url} must end with createPurchase (spec 2.1)"
            )));
        }
        http.get(url).timeout(timeout).send().await.map_err(|e| RunError::Unreachable {
            what: "createPurchase",
            url: url.clone(),
            reason: error_chain(&e),
        })?;
    }
    let token = target.driver_token.as_deref();
    if let Some(base) = &target.machine_driver {
        let driver = DriverClient::new(base, http.clone(), token);
        let url = driver.url(drivers::MACHINES);
        let answer = driver.machines_within(timeout).await;
        answered_ok("the machine driver", url, answer)?;
    }
    if let Some(base) = &target.pos_driver {
        let driver = DriverClient::new(base, http.clone(), token);
        let url = driver.url(drivers::TILL);
        answered_ok("the point-of-sale driver", url, driver.till_within(timeout).await)?;
    }
    if let Some(base) = &target.shop_driver {
        let driver = DriverClient::new(base, http.clone(), token);
        driver.shop_preflight(timeout).await.map_err(|e| RunError::Unreachable {
            what: "the shop driver",
            url: driver.url(drivers::SHOP_PREFLIGHT),
            reason: e.detail,
        })?;
    }
    Ok(())
}

/// A driver's preflight: it must answer, and with 2xx.
fn answered_ok(what: &'static str, url: String, answer: Result<Answer, Unreachable>) -> Result<(), RunError> {
    let answer = answer.map_err(|e| RunError::Unreachable { what, url: url.clone(), reason: e.detail })?;
    if answer.ok() {
        return Ok(());
    }
    let hint = if matches!(answer.status, 401 | 403) {
        "does it want a token? pass --driver-token"
    } else {
        "is the driver enabled in this build?"
    };
    Err(RunError::Unreachable { what, url, reason: format!("answered HTTP {} ({hint})", answer.status) })
}
