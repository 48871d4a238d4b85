//! The reference reseller run in-process as a system under test: what
//! `glase-conformance demo` tests, and what the suite's self-test tests (with and without
//! deliberate faults).
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

use crate::runner::{Harness, Target};

/// The deadline scale of the demo: the 20 s status rule takes 1 s.
pub const DEMO_DEADLINE_SCALE: f64 = 0.05;

/// A reference reseller serving on a loopback port. Dropping it stops it and removes
/// its database.
#[derive(Debug)]
pub struct ReferenceReseller {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    task: JoinHandle<anyhow::Result<()>>,
    database: PathBuf,
}

impl ReferenceReseller {
    /// Starts a reference reseller calling `harness`'s mock, with `faults` switched on.
    pub async fn start(harness: &Harness, faults: &[Fault]) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let database = std::env::temp_dir().join(format!(
            "glase-conformance-demo-{}-{}-{}.sqlite",
            std::process::id(),
            addr.port(),
            harness.mock().now().as_millis()
        ));
        let mut config = Config {
            listen: addr,
            public_url: Some(format!("http://{addr}")),
            glase_url: harness.soap_url(),
            database: database.clone(),
            faults: faults.to_vec(),
            ..Config::default()
        };
        config.glase_timeout = Duration::from_secs(5);
        config.vending.idle_timeout = Duration::from_secs(2);
        // Polls sized to the mock's (scaled) status deadline: 200 ms and 25 ms at the
        // demo's scale, well inside what STATUS-BEFORE-DEADLINE and SHOP-POLL-CADENCE allow.
        let deadline = harness.status_deadline(harness.deadline_scale);
        config.vending.status_poll_interval = (deadline / 5).clamp(Duration::from_millis(50), Duration::from_secs(3));
        config.webshop.poll_interval = (deadline / 40).clamp(Duration::from_millis(25), Duration::from_secs(1));
        config.webshop.unpaid_timeout = Duration::from_secs(5);
        config.webshop.driver = true;
        let db = Db::open(&database)?;
        let reseller = Reseller::new(Context::new(config, db)?)?;
        let task = tokio::spawn(reference_reseller::run(listener, reseller, std::future::pending()));
        Ok(Self { url: format!("http://{addr}"), task, database })
    }

    /// Everything the suite needs to drive it.
    pub fn target(&self) -> Target {
        Target {
            create_purchase_url: Some(format!("{}/seqr/createPurchase", self.url)),
            machine_driver: Some(self.url.clone()),
            shop_driver: Some(self.url.clone()),
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
