//! The embedded Glase: a `mock-glase` instance served on the address the system under
//! test is configured to call, on an [`OffsetClock`] so scenarios can move time.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mock_glase::config::{Dialect, ResellerConfig};
use mock_glase::machine::RegistryError;
use mock_glase::server::RunningServer;
use mock_glase::{Mock, OffsetClock};

use super::preflight::RunError;

/// The demo merchant of the mock: the one reseller account the system under test is
/// configured with (terminal `demo-terminal`, password `demo1234`, EUR).
pub const MERCHANT: &str = "glase-demo";

/// A running mock and its server. Dropping it stops the server.
#[derive(Debug)]
pub struct Harness {
    pub(crate) mock: Mock,
    server: RunningServer,
    /// The deadline scale of the run (scenarios may change it for themselves).
    pub(crate) deadline_scale: f64,
    /// Extra merchants made for scans in another currency, by currency.
    extra_merchants: Mutex<HashSet<String>>,
}

impl Harness {
    /// Starts the mock on `listen` with Glase-side deadlines scaled by `deadline_scale`
    /// and references seeded by `seed` (reproducible runs).
    pub async fn start(listen: SocketAddr, deadline_scale: f64, seed: u64) -> Result<Self, RunError> {
        if !(deadline_scale.is_finite() && deadline_scale > 0.0) {
            return Err(RunError::Config(format!("--deadline-scale must be a positive number, not {deadline_scale}")));
        }
        let mut config =
            mock_glase::Config { deadline_scale, reference_seed: Some(seed), ..mock_glase::Config::default() };
        // Retries a suite can wait for: 3 attempts, 100 ms then 200 ms apart.
        config.notifications.retry_delay = Duration::from_millis(100);
        let mock = Mock::new(&config, Arc::new(OffsetClock::new())).map_err(|e| RunError::Config(format!("{e:#}")))?;
        let server = mock_glase::server::spawn(listen, mock.clone())
            .await
            .map_err(|source| RunError::Bind { addr: listen, source })?;
        Ok(Self { mock, server, deadline_scale, extra_merchants: Mutex::new(HashSet::new()) })
    }

    /// The mock as a library (customer actions, faults, journal).
    pub fn mock(&self) -> &Mock {
        &self.mock
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The SOAP endpoint the system under test must be configured with.
    pub fn soap_url(&self) -> String {
        self.server.soap_url()
    }

    /// The status deadline in force at `scale`.
    pub(crate) fn status_deadline(&self, scale: f64) -> Duration {
        self.mock.config().deadlines.status_deadline.mul_f64(scale)
    }

    /// Points the demo merchant's createPurchase at the system under test.
    pub(crate) fn point_at(&self, create_purchase_url: &str) -> Result<(), RunError> {
        self.mock
            .set_create_purchase_url(MERCHANT, Some(create_purchase_url), None)
            .map_err(|e| RunError::Config(format!("--create-purchase-url {create_purchase_url}: {e}")))
    }

    /// A merchant whose scans carry `currency`, calling the same createPurchase URL:
    /// `conformance-sek` for SEK. Made on first use.
    pub(crate) fn merchant_in(&self, currency: &str, create_purchase_url: &str) -> Result<String, RegistryError> {
        let id = format!("conformance-{}", currency.to_ascii_lowercase());
        let mut made = self.extra_merchants.lock().unwrap_or_else(|p| p.into_inner());
        if made.insert(currency.to_owned()) {
            let config = ResellerConfig {
                id: id.clone(),
                user_id: "1".to_owned(),
                password: "conformance".to_owned(),
                currency: currency.to_owned(),
                merchant_id: Some(id.clone()),
                name: Some(format!("Conformance kit ({currency})")),
                refunds_allowed: true,
                receiver_allows_refunds: true,
                create_purchase_url: Some(create_purchase_url.to_owned()),
                create_purchase_dialect: Dialect::Seed,
            };
            if let Err(error) = self.mock.add_reseller(&config) {
                made.remove(currency);
                return Err(error);
            }
        }
        Ok(id)
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
