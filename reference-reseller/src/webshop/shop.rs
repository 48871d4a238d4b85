//! [`Webshop`]: the handle every handler and task shares — the reseller's context, the
//! order store, and the queue of status refreshes the status loop works through.
//!
//! The same engine runs twice: as the webshop ([`Channel::Web`], `[webshop]`, the
//! reseller's terminal) and as the till of `crate::pos` ([`Channel::Till`], its own
//! configuration built from `[pos]`, its own Glase client calling as the registered
//! till terminal). Each instance sees only the orders of its channel.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng as _;
use tokio::sync::mpsc;

use super::channel::Channel;
use super::config::WebshopConfig;
use super::orders::{OrderId, Orders};
use crate::app::Context;
use crate::faults::{Fault, Faults};
use crate::glase::GlaseClient;

/// A request to look at one order again (fetch its status, cancel it when overdue,
/// submit its receipt).
#[derive(Debug, Clone)]
pub(crate) struct Refresh {
    pub(crate) order: OrderId,
    /// A notification arrived: fetch the status even if the order is no longer
    /// pending ("payment status must be called immediately when the notificationUrl
    /// is called").
    pub(crate) notified: bool,
}

/// The webshop: checkout pages, status handling, refunds, the shop driver.
#[derive(Debug, Clone)]
pub struct Webshop {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    context: Context,
    /// `[webshop]`, or the till's configuration in the engine's terms.
    config: WebshopConfig,
    /// The terminal this instance calls Glase as.
    glase: Arc<GlaseClient>,
    channel: Channel,
    /// The deliberate faults that reach this instance.
    faults: Faults,
    orders: Orders,
    refresh: mpsc::UnboundedSender<Refresh>,
    /// Taken by the status loop (`Webshop::spawn_background`); requests queue up until then (recovery
    /// runs first).
    refresh_queue: Mutex<Option<mpsc::UnboundedReceiver<Refresh>>>,
}

impl Webshop {
    /// Creates the webshop's tables.
    pub fn new(context: Context) -> anyhow::Result<Self> {
        let config = context.config.webshop.clone();
        let glase = context.glase.clone();
        // The till's own faults concern the till's instance of the engine only.
        let faults = context.faults.only(|fault| !fault.till_only());
        Self::engine(context, Channel::Web, config, glase, faults)
    }

    /// An instance of the engine for `channel`, with its own configuration, Glase client
    /// and faults (the till's: see `crate::pos`).
    pub(crate) fn engine(
        context: Context,
        channel: Channel,
        config: WebshopConfig,
        glase: Arc<GlaseClient>,
        faults: Faults,
    ) -> anyhow::Result<Self> {
        let orders = Orders::open(context.db.clone(), channel)?;
        let (refresh, queue) = mpsc::unbounded_channel();
        let refresh_queue = Mutex::new(Some(queue));
        Ok(Self { inner: Arc::new(Inner { context, config, glase, channel, faults, orders, refresh, refresh_queue }) })
    }

    /// The queue of status refreshes, for the status loop: `None` once taken (the loop
    /// runs once per instance).
    pub(crate) fn take_refresh_queue(&self) -> Option<mpsc::UnboundedReceiver<Refresh>> {
        self.inner.refresh_queue.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub(crate) fn config(&self) -> &WebshopConfig {
        &self.inner.config
    }

    pub(crate) fn channel(&self) -> Channel {
        self.inner.channel
    }

    pub(crate) fn orders(&self) -> &Orders {
        &self.inner.orders
    }

    pub(crate) fn glase(&self) -> &GlaseClient {
        &self.inner.glase
    }

    pub(crate) fn has_fault(&self, fault: Fault) -> bool {
        self.inner.faults.has(fault)
    }

    /// Base URL for notificationUrls and backURLs (no trailing slash).
    pub(crate) fn public_url(&self) -> &str {
        &self.inner.context.public_url
    }

    /// Asks the status loop to look at an order soon.
    pub(crate) fn refresh(&self, order: OrderId, notified: bool) {
        if self.inner.refresh.send(Refresh { order: order.clone(), notified }).is_err() {
            // Only after the loop is gone (shutdown); the next start's recovery resumes it.
            tracing::debug!(order_id = %order, "status loop stopped; refresh dropped");
        }
    }
}

/// Milliseconds since the epoch, the reseller's wall clock (stored times).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// RFC 3339 text of a stored time (UTC, seconds).
pub(crate) fn rfc3339(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}

/// `n` random bytes as lowercase hex, from the thread-local CSPRNG (seeded by the OS).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}
