//! [`Till`]: the handle the till's driver and tasks share — its configuration, its
//! instance of the order engine (`crate::webshop`, channel `till`), the Glase client
//! that calls as the till's registered terminal, and the stored registration.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::config::PosConfig;
use super::terminal::{TerminalRecord, Terminals};
use crate::app::Context;
use crate::faults::{Fault, Faults};
use crate::glase::GlaseClient;
use crate::store::StoreError;
use crate::webshop::Webshop;
use crate::webshop::channel::Channel;
use crate::webshop::orders::{Order, OrderState};

/// The point-of-sale till.
#[derive(Debug, Clone)]
pub struct Till {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: PosConfig,
    engine: Webshop,
    /// The same client the engine calls with: registration replaces its credentials.
    glase: Arc<GlaseClient>,
    terminals: Terminals,
    faults: Faults,
    /// Held by registration, unregistration and while a sale is started, so that the
    /// till never unregisters between checking that no sale is pending and a new
    /// sale's invoice (a tokio mutex: held across the Glase calls).
    registration: tokio::sync::Mutex<()>,
}

impl Till {
    /// Creates the till's tables and, when a registration is stored, calls Glase as
    /// that terminal from the start (no new registerTerminal: a restart resumes the
    /// sales the stored terminal owns).
    pub fn new(context: Context) -> anyhow::Result<Self> {
        let config = context.config.pos.clone();
        let faults = context.faults.only(Fault::reaches_till);
        let terminals = Terminals::open(context.db.clone(), &config.external_terminal_id, &config.seqr_id)?;
        let record = terminals.load()?;
        let (terminal_id, password) = record.credentials().unwrap_or(("", ""));
        let glase = Arc::new(context.glase.for_terminal(terminal_id, password, context.glase.quirks()));
        if record.registered {
            tracing::info!(terminal_id, external_terminal_id = %record.external_id, "till: reusing the stored terminal");
        }
        let engine = Webshop::engine(context, Channel::Till, config.engine(), glase.clone(), faults.clone())?;
        let registration = tokio::sync::Mutex::new(());
        Ok(Self { inner: Arc::new(Inner { config, engine, glase, terminals, faults, registration }) })
    }

    /// Resumes what a previous run left open: pending sales (polled, cancelled when
    /// their window has passed), due receipts, interrupted refunds.
    pub async fn recover(&self) {
        self.inner.engine.recover().await;
    }

    /// Starts the till's status loop.
    pub fn spawn_background(&self) -> Vec<JoinHandle<()>> {
        self.inner.engine.spawn_background()
    }

    pub(crate) fn config(&self) -> &PosConfig {
        &self.inner.config
    }

    pub(crate) fn engine(&self) -> &Webshop {
        &self.inner.engine
    }

    pub(crate) fn glase(&self) -> &GlaseClient {
        &self.inner.glase
    }

    pub(crate) fn terminals(&self) -> &Terminals {
        &self.inner.terminals
    }

    pub(crate) fn has_fault(&self, fault: Fault) -> bool {
        self.inner.faults.has(fault)
    }

    pub(crate) async fn lock_registration(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.registration.lock().await
    }

    /// Why the till may not change its registration now, if it may not: a sale waits
    /// for its customer, or a paid sale's receipt is still being submitted.
    pub(crate) fn busy(&self) -> Result<Option<String>, StoreError> {
        let (pending, receipts) = self.engine().orders().open_counts()?;
        Ok(if pending > 0 {
            Some(format!("{pending} sale(s) still pending"))
        } else if receipts > 0 {
            Some(format!("{receipts} receipt(s) still to be submitted"))
        } else {
            None
        })
    }

    /// The registration and the latest sale since the till was last registered.
    pub(crate) fn status(&self) -> Result<(TerminalRecord, Option<Order>), StoreError> {
        let record = self.terminals().load()?;
        let latest = match record.registered_at_ms {
            Some(since) => self.engine().orders().latest_since(since)?,
            None => None,
        };
        Ok((record, latest))
    }
}

/// The till's state as the driver shows it: `idle` before any sale since the last
/// registration, else the latest sale's (`pending` is `waiting`).
pub(crate) fn till_state(latest: Option<&Order>) -> &'static str {
    match latest.map(|order| order.state) {
        None => "idle",
        Some(OrderState::Pending) => "waiting",
        Some(state) => state.as_str(),
    }
}
