//! The reference reseller run in-process as a system under test: what
//! `glase-conformance demo` tests, what the suite's self-test tests (with and without
//! deliberate faults), and the default system `explore` and `load` drive.
//!
//! Its timers are shortened to fit the demo's deadline scale: the status poll well
//! inside the scaled status deadline, a short idle timeout so walk-away scenarios end
//! quickly, and a short unpaid timeout for the webshop.

use std::path::PathBuf;
use std::time::Duration;

use reference_reseller::store::Db;
use reference_reseller::{Config, Context, Fault, Reseller};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::runner::{Harness, Target, Timers};

/// A reference reseller serving on a loopback port. Dropping it stops it and removes
/// its database.
#[derive(Debug)]
pub struct ReferenceReseller {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    task: JoinHandle<anyhow::Result<()>>,
    database: PathBuf,
    /// Its own timers, declared to the suite as an integrator would.
    timers: Timers,
}

/// The in-process webshop's unpaid-order timeout and the till's payment window. Three
/// scenarios wait it out on the one till, one after another, so it sets much of the
/// demo's length; the scenarios that pay late keep a fixed margin before it (`wait:
/// unpaid-timeout - 2s`), and a prompt payment takes well under a second even on a
/// loaded two-core machine, so 3 s leaves room for both.
const UNPAID_TIMEOUT: Duration = Duration::from_secs(3);

/// How to run an in-process reference reseller: what `demo`, `explore` and `load` vary.
#[derive(Debug, Clone)]
pub struct InProcessSettings {
    /// Names its database file (`glase-conformance-{purpose}-…`), so leftovers tell
    /// which command made them.
    pub purpose: &'static str,
    /// Deliberate faults switched on.
    pub faults: Vec<Fault>,
    /// `machine-1` … `machine-N` (the first two are the demo machines).
    pub machines: usize,
    /// How long an unlocked machine waits for a vend before releasing the reservation.
    pub idle_timeout: Duration,
    /// Last changes to its configuration, after the demo's (a deliberately different
    /// correct variant for the self-test: updates per line, a slow fallback poll, …).
    pub tweak: fn(&mut Config),
}

impl InProcessSettings {
    /// No change to the demo configuration.
    pub fn as_is(_: &mut Config) {}
}

impl ReferenceReseller {
    /// Starts a reference reseller calling `harness`'s mock, with `faults` switched on:
    /// the demo machines, an idle timeout of 2 s.
    pub async fn start(harness: &Harness, faults: &[Fault]) -> anyhow::Result<Self> {
        let settings = InProcessSettings {
            purpose: "demo",
            faults: faults.to_vec(),
            machines: 2,
            idle_timeout: Duration::from_secs(2),
            tweak: InProcessSettings::as_is,
        };
        Self::start_on(harness, &settings).await
    }

    /// Starts a reference reseller calling `harness`'s mock, as `settings` say.
    pub async fn start_on(harness: &Harness, settings: &InProcessSettings) -> anyhow::Result<Self> {
        Self::start_with(&harness.soap_url(), harness.status_deadline(harness.deadline_scale), settings).await
    }

    /// Starts a reference reseller calling Glase at `glase_url`, whose status deadline
    /// (scaled) is `status_deadline`: its polls are sized to fit inside it.
    pub async fn start_with(
        glase_url: &str,
        status_deadline: Duration,
        settings: &InProcessSettings,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let database = std::env::temp_dir().join(format!(
            "glase-conformance-{}-{}-{}-{}.sqlite",
            settings.purpose,
            std::process::id(),
            addr.port(),
            started.as_millis()
        ));
        let mut config = Config {
            listen: addr,
            public_url: Some(format!("http://{addr}")),
            glase_url: glase_url.to_owned(),
            database: database.clone(),
            faults: settings.faults.clone(),
            ..Config::default()
        };
        config.glase_timeout = Duration::from_secs(5);
        config.vending.machines = reference_reseller::vending::numbered_fleet(settings.machines);
        config.vending.idle_timeout = settings.idle_timeout;
        // Polls sized to the mock's (scaled) status deadline: 200 ms and 25 ms at the
        // demo's scale, well inside what STATUS-BEFORE-DEADLINE and SHOP-POLL-CADENCE
        // allow; under load, a fifth of the deadline keeps the fallback poll from asking
        // about every waiting purchase many times a second.
        config.vending.status_poll_interval =
            (status_deadline / 5).clamp(Duration::from_millis(50), Duration::from_secs(3));
        config.webshop.poll_interval = (status_deadline / 40).clamp(Duration::from_millis(25), Duration::from_secs(1));
        config.webshop.unpaid_timeout = UNPAID_TIMEOUT;
        config.webshop.driver = true;
        // The till polls as the shop does, and its payment window is the shop's unpaid
        // timeout: the one `--unpaid-timeout` declares for both.
        config.pos.poll_interval = config.webshop.poll_interval;
        config.pos.payment_window = UNPAID_TIMEOUT;
        config.pos.driver = true;
        (settings.tweak)(&mut config);
        let timers = Timers {
            idle_timeout: Some(config.vending.idle_timeout),
            unpaid_timeout: Some(config.webshop.unpaid_timeout),
        };
        let db = Db::open(&database)?;
        let reseller = Reseller::new(Context::new(config, db)?)?;
        let task = tokio::spawn(reference_reseller::run(listener, reseller, std::future::pending()));
        Ok(Self { url: format!("http://{addr}"), task, database, timers })
    }

    /// Its idle and unpaid-order timeouts, as an integrator declares them.
    pub fn timers(&self) -> Timers {
        self.timers
    }

    /// Everything the suite needs to drive it.
    pub fn target(&self) -> Target {
        Target {
            create_purchase_url: Some(format!("{}/seqr/createPurchase", self.url)),
            machine_driver: Some(self.url.clone()),
            shop_driver: Some(self.url.clone()),
            pos_driver: Some(self.url.clone()),
            driver_token: None,
            company: None,
        }
    }
}

impl Drop for ReferenceReseller {
    fn drop(&mut self) {
        self.task.abort();
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.database.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(path));
        }
    }
}
