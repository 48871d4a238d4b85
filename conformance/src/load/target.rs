//! The system under load: the embedded mock (timed), and either the reference reseller
//! in-process (the default) or an external reseller named by its URLs. Also the run's
//! customers (wallets in the mock) and machines (from the machine driver).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::builtin::{self, Fault};
use mock_glase::{Mock, SystemClock};
use rust_decimal::Decimal;
use serde_json::Value;

use super::stats::Stats;
use super::timing::TimedMock;
use crate::drivers::DriverClient as Driver;
use crate::runner::{MERCHANT, RunError, Target};

/// Where the system under test is, and how to set up the mock for it.
#[derive(Debug, Clone)]
pub struct TargetOptions {
    /// `None`: start the reference reseller in-process.
    pub external: Option<crate::system::System>,
    pub deadline_scale: f64,
    pub seed: u64,
    /// Faults of the in-process reference reseller.
    pub faults: Vec<Fault>,
    pub machines: usize,
    pub customers: usize,
    /// The system's idle timeout (walk-away flows wait for it); the in-process
    /// reseller is configured with it.
    pub idle_timeout: Duration,
    /// Where a system started with `--start` writes its output.
    pub system_log: std::path::PathBuf,
}

/// One machine the load uses, with what it sells.
#[derive(Debug, Clone)]
pub struct MachineInfo {
    pub token: String,
    pub products: Vec<(String, Decimal)>,
}

/// A simulated customer: a funded wallet, and a twin whose wallet is empty (the
/// `error` flow scans with it).
#[derive(Debug, Clone)]
pub struct CustomerInfo {
    pub msisdn: String,
    pub broke_msisdn: String,
}

/// The PIN of every load customer.
pub const PIN: &str = "1234";
/// A PIN that is wrong for every load customer.
pub const WRONG_PIN: &str = "0000";

/// The running system under test. Dropping it stops everything started here.
#[derive(Debug)]
pub struct System {
    pub mock: Mock,
    pub glase: TimedMock,
    pub machine_driver: Option<Driver>,
    pub shop_driver: Option<Driver>,
    pub machines: Vec<MachineInfo>,
    pub customers: Vec<CustomerInfo>,
    /// What was tested, for the report.
    pub description: String,
    _reseller: Option<builtin::Running>,
    /// A system the suite started (`--start`): stopped with its process group on drop.
    _started: Option<crate::system::Started>,
}

/// The mock's journal holds this many entries; the follower reads them as they come,
/// so this is only a buffer against the follower falling behind.
const JOURNAL_CAPACITY: usize = 200_000;

/// Starts the mock and (by default) the reference reseller, points the UPS at the
/// reseller, creates the customers and finds the machines.
pub async fn start(options: &TargetOptions, stats: Arc<Stats>, http: &reqwest::Client) -> Result<System, RunError> {
    if !(options.deadline_scale.is_finite() && options.deadline_scale > 0.0) {
        return Err(RunError::Config(format!(
            "--deadline-scale must be a positive number, not {}",
            options.deadline_scale
        )));
    }
    let mut config = mock_glase::Config {
        deadline_scale: options.deadline_scale,
        reference_seed: Some(options.seed),
        journal_capacity: JOURNAL_CAPACITY,
        ..mock_glase::Config::default()
    };
    config.notifications.retry_delay = Duration::from_millis(100);
    let mock = Mock::new(&config, Arc::new(SystemClock)).map_err(|e| RunError::Config(format!("{e:#}")))?;
    let listen = match &options.external {
        Some(system) => system.glase_listen,
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let glase =
        TimedMock::serve(&mock, listen, stats).await.map_err(|source| RunError::Bind { addr: listen, source })?;
    let (target, reseller, started, description) = match &options.external {
        Some(system) => {
            let started = crate::system::launch(system, &glase.soap_url(), &options.system_log, http).await?;
            let who = system.identity.describe().map(|who| format!("{who}: ")).unwrap_or_default();
            (system.target.clone(), None, started, format!("{who}{}", system.target.describe()))
        }
        None => {
            let (reseller, url) = start_reference(options, &mock, &glase)
                .await
                .map_err(|e| RunError::Config(format!("cannot start the reference reseller: {e:#}")))?;
            let target = Target {
                create_purchase_url: Some(format!("{url}/seqr/createPurchase")),
                machine_driver: Some(url.clone()),
                shop_driver: Some(url.clone()),
                pos_driver: None,
                driver_token: None,
                company: None,
            };
            let faults: Vec<&str> = options.faults.iter().map(|f| f.name()).collect();
            let description = if faults.is_empty() {
                format!("the reference reseller in-process at {url}")
            } else {
                format!("the reference reseller in-process at {url} with faults {}", faults.join(", "))
            };
            (target, Some(reseller), None, description)
        }
    };
    if let Some(url) = &target.create_purchase_url {
        mock.set_create_purchase_url(MERCHANT, Some(url), None)
            .map_err(|e| RunError::Config(format!("--create-purchase-url {url}: {e}")))?;
    }
    let token = target.driver_token.as_deref();
    let machine_driver = target.machine_driver.as_deref().map(|base| Driver::new(base, http.clone(), token));
    let shop_driver = target.shop_driver.as_deref().map(|base| Driver::new(base, http.clone(), token));
    let machines = match &machine_driver {
        Some(driver) => find_machines(driver, options.machines).await?,
        None => Vec::new(),
    };
    let customers = (0..options.customers)
        .map(|i| {
            let customer = CustomerInfo { msisdn: format!("4670{i:07}"), broke_msisdn: format!("4679{i:07}") };
            mock.set_customer(&customer.msisdn, Some(PIN), Some(Decimal::new(1_000_000_000, 0)));
            mock.set_customer(&customer.broke_msisdn, Some(PIN), Some(Decimal::ZERO));
            customer
        })
        .collect();
    Ok(System {
        mock,
        glase,
        machine_driver,
        shop_driver,
        machines,
        customers,
        description,
        _reseller: reseller,
        _started: started,
    })
}

/// The reference reseller with `machines` machines and timers sized to the mock's
/// deadlines, as the demo runs it.
async fn start_reference(
    options: &TargetOptions,
    mock: &Mock,
    glase: &TimedMock,
) -> anyhow::Result<(builtin::Running, String)> {
    let deadline = mock.config().deadlines.status_deadline.mul_f64(options.deadline_scale);
    let (machines, idle) = (options.machines, options.idle_timeout);
    builtin::start(&glase.soap_url(), deadline, "load", &options.faults, machines, idle).await
}

/// The first `count` machines the driver lists that are idle and in service.
async fn find_machines(driver: &Driver, count: usize) -> Result<Vec<MachineInfo>, RunError> {
    let unreachable = |reason: String| RunError::Unreachable {
        what: "the machine driver",
        url: driver.url(crate::drivers::MACHINES),
        reason,
    };
    let answer = driver.machines().await.map_err(|e| unreachable(e.detail))?;
    if answer.status != 200 {
        return Err(unreachable(format!("answered HTTP {}", answer.status)));
    }
    let listed = answer.body.get("machines").and_then(Value::as_array).cloned().unwrap_or_default();
    let machines: Vec<MachineInfo> = listed
        .iter()
        .filter(|m| m.get("state").and_then(Value::as_str) == Some("idle"))
        .filter_map(machine_info)
        .take(count)
        .collect();
    if machines.is_empty() && count > 0 {
        return Err(RunError::Config(format!(
            "the machine driver at {} lists no idle machine with products",
            driver.base()
        )));
    }
    if machines.len() < count {
        eprintln!(
            "note: --machines {count}, but the machine driver lists only {} idle machines: using those",
            machines.len()
        );
    }
    Ok(machines)
}

fn machine_info(machine: &Value) -> Option<MachineInfo> {
    let token = machine.get("token")?.as_str()?.to_owned();
    let products: Vec<(String, Decimal)> = machine
        .get("products")?
        .as_array()?
        .iter()
        .filter_map(|p| {
            let sku = p.get("sku")?.as_str()?.to_owned();
            let price: Decimal = p.get("price")?.as_str()?.parse().ok()?;
            Some((sku, price))
        })
        .collect();
    (!products.is_empty()).then_some(MachineInfo { token, products })
}
