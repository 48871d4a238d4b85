//! Wiring: the shared context, the HTTP router of the three parts (vending, webshop,
//! till), start-up recovery, the background tasks and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::faults::{Fault, Faults};
use crate::glase::{ClientQuirks, Credentials, GlaseClient};
use crate::pos::Till;
use crate::store::Db;
use crate::vending::Vending;
use crate::webshop::Webshop;

/// What every part of the reseller shares.
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub db: Db,
    pub glase: Arc<GlaseClient>,
    pub faults: Faults,
    /// Base URL Glase and browsers reach this reseller at (no trailing slash).
    pub public_url: String,
}

impl Context {
    /// Builds the context: opens the database and the Glase client.
    pub fn new(config: Config, db: Db) -> anyhow::Result<Self> {
        config.validate()?;
        let faults = Faults::new(config.faults.iter().copied());
        let credentials = Credentials {
            terminal_id: config.terminal_id.clone(),
            password: config.terminal_password.clone(),
            client_id: config.client_id.clone(),
            system: format!("refres{}", env!("CARGO_PKG_VERSION").replace('.', "")),
        };
        let quirks = ClientQuirks {
            client_request_timeout: if faults.has(Fault::NonZeroClientRequestTimeout) { 30 } else { 0 },
            omit_client_reference: faults.has(Fault::NoClientReference),
        };
        let glase = GlaseClient::new(config.glase_url.clone(), credentials, config.glase_timeout)?.with_quirks(quirks);
        let public_url = config.public_url();
        Ok(Self { config: Arc::new(config), db, glase: Arc::new(glase), faults, public_url })
    }
}

/// The running reseller's parts.
#[derive(Debug, Clone)]
pub struct Reseller {
    pub context: Context,
    pub vending: Vending,
    pub webshop: Webshop,
    /// The till; `None` with `[pos] enabled = false`.
    pub pos: Option<Till>,
}

impl Reseller {
    /// Creates the parts (and their tables).
    pub fn new(context: Context) -> anyhow::Result<Self> {
        let vending = Vending::new(context.clone())?;
        let webshop = Webshop::new(context.clone())?;
        let pos = if context.config.pos.enabled { Some(Till::new(context.clone())?) } else { None };
        Ok(Self { context, vending, webshop, pos })
    }

    pub fn router(&self) -> Router {
        let token: Option<Arc<str>> = self.context.config.driver_token.as_deref().map(Arc::from);
        Router::new()
            .merge(self.vending.routes())
            .merge(self.webshop.routes())
            .merge(self.pos.as_ref().map(Till::routes).unwrap_or_default())
            .route("/healthz", axum::routing::get(|| async { "ok\n" }))
            .layer(axum::middleware::from_fn_with_state(token, crate::staff::require_token))
    }

    /// Finishes what a previous run left open, then starts the background tasks.
    pub async fn start_background(&self) -> Vec<JoinHandle<()>> {
        self.vending.recover().await;
        self.webshop.recover().await;
        if let Some(till) = &self.pos {
            till.recover().await;
        }
        let mut tasks = self.vending.spawn_background();
        tasks.extend(self.webshop.spawn_background());
        tasks.extend(self.pos.iter().flat_map(Till::spawn_background));
        tasks
    }

    /// What a graceful shutdown does once the server has drained: the till unregisters
    /// its terminal unless sales or receipts are still open.
    pub async fn shutdown(&self) {
        if let Some(till) = &self.pos {
            till.shutdown().await;
        }
    }
}

/// Serves until `shutdown` completes, on connections limited by `[server]` (see
/// `listen`); in-flight requests get 5 s to finish; then [`Reseller::shutdown`] (the
/// background tasks still run meanwhile, so a till's last receipt is not cut off).
pub async fn run(
    listener: TcpListener,
    reseller: Reseller,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // The guard aborts the background tasks however `run` ends, even when the future
    // itself is dropped (a test's "crash").
    let _tasks = AbortOnDrop(reseller.start_background().await);
    let app = reseller.router();
    let limits = reseller.context.config.server;
    glase_listen::serve(listener, app, limits, Duration::from_secs(5), shutdown).await;
    reseller.shutdown().await;
    Ok(())
}

#[derive(Debug)]
struct AbortOnDrop(Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
