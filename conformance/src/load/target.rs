//! The system under load: the embedded mock (timed) or a mock-glase elsewhere
//! (`--glase-url`), and either the reference reseller in-process (the default) or an
//! external reseller named by its URLs. Also the run's customers (wallets in the mock)
//! and machines (from the machine driver), this shard's share of both.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::builtin::{self, Fault};
use mock_glase::{Mock, SystemClock};
use rust_decimal::Decimal;
use serde_json::Value;

use super::glase::Glase;
use super::remote::Remote;
use super::shard::Shard;
use super::stats::Stats;
use super::timing::TimedMock;
use crate::drivers::DriverClient as Driver;
use crate::runner::{RunError, Target};

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
    /// A mock-glase elsewhere (its base URL) and its control token, instead of the
    /// embedded mock.
    pub glase_url: Option<String>,
    pub glase_token: Option<String>,
    /// How long a mock at `glase_url` may take to answer at all (`--wait-for`).
    pub glase_wait: Duration,
    pub shard: Shard,
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
    pub glase: Glase,
    /// Where the system under test calls Glase.
    pub soap_url: String,
    /// The embedded mock's server (it times every SOAP operation); `None` for a remote mock.
    _served: Option<TimedMock>,
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

/// Starts (or connects to) the mock and, by default, the reference reseller, points
/// the UPS at the reseller, creates this shard's customers and finds its machines.
pub async fn start(options: &TargetOptions, stats: Arc<Stats>, http: &reqwest::Client) -> Result<System, RunError> {
    let (glase, served) = match &options.glase_url {
        Some(url) => {
            let remote = Remote::connect(url, options.glase_token.clone(), http.clone(), options.glase_wait).await?;
            (Glase::Remote(remote), None)
        }
        None => {
            let (mock, served) = serve_embedded(options, stats).await?;
            (Glase::Local(mock), Some(served))
        }
    };
    let soap_url = match (&glase, &served) {
        (Glase::Remote(remote), _) => remote.soap_url(),
        (_, Some(served)) => served.soap_url(),
        (Glase::Local(_), None) => unreachable!("the embedded mock is served"),
    };
    let (target, reseller, started, description) = match &options.external {
        Some(system) => {
            let started = crate::system::launch(system, &soap_url, &options.system_log, http).await?;
            let who = system.identity.describe().map(|who| format!("{who}: ")).unwrap_or_default();
            (system.target.clone(), None, started, format!("{who}{}", system.target.describe()))
        }
        None => {
            let (reseller, url) = start_reference(options, &glase, &soap_url)
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
        glase
            .set_create_purchase_url(url)
            .await
            .map_err(|e| RunError::Config(format!("--create-purchase-url {url}: {e}")))?;
    }
    let token = target.driver_token.as_deref();
    let machine_driver = target.machine_driver.as_deref().map(|base| Driver::new(base, http.clone(), token));
    let shop_driver = target.shop_driver.as_deref().map(|base| Driver::new(base, http.clone(), token));
    let machines = match &machine_driver {
        Some(driver) => find_machines(driver, options.machines, options.shard).await?,
        None => Vec::new(),
    };
    let customers = create_customers(&glase, options).await?;
    Ok(System {
        glase,
        soap_url,
        _served: served,
        machine_driver,
        shop_driver,
        machines,
        customers,
        description,
        _reseller: reseller,
        _started: started,
    })
}

/// The embedded mock, served on `--glase-listen` (or a free port) with every SOAP
/// operation timed.
async fn serve_embedded(options: &TargetOptions, stats: Arc<Stats>) -> Result<(Mock, TimedMock), RunError> {
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
    let served =
        TimedMock::serve(&mock, listen, stats).await.map_err(|source| RunError::Bind { addr: listen, source })?;
    Ok((mock, served))
}

/// This shard's customers, each a funded wallet and an empty twin, created in the mock.
async fn create_customers(glase: &Glase, options: &TargetOptions) -> Result<Vec<CustomerInfo>, RunError> {
    let mut customers = Vec::with_capacity(options.customers);
    for i in 0..options.customers {
        let number = options.shard.customer_number(i, options.customers);
        let customer = CustomerInfo { msisdn: format!("4670{number:07}"), broke_msisdn: format!("4679{number:07}") };
        for (msisdn, balance) in
            [(&customer.msisdn, Decimal::new(1_000_000_000, 0)), (&customer.broke_msisdn, Decimal::ZERO)]
        {
            glase
                .set_customer(msisdn, PIN, balance)
                .await
                .map_err(|e| RunError::Config(format!("cannot create the customer {msisdn} in the mock: {e}")))?;
        }
        customers.push(customer);
    }
    Ok(customers)
}

/// The reference reseller with `machines` machines and timers sized to the mock's
/// deadlines, as the demo runs it.
async fn start_reference(
    options: &TargetOptions,
    glase: &Glase,
    soap_url: &str,
) -> anyhow::Result<(builtin::Running, String)> {
    let deadline = glase.status_deadline();
    let (machines, idle) = (options.machines, options.idle_timeout);
    builtin::start(soap_url, deadline, "load", &options.faults, machines, idle).await
}

/// The first `count` of this shard's machines that are idle and in service. Shards
/// split the driver's whole list, ordered by token, before looking at states: a machine
/// another shard is using is still that shard's.
async fn find_machines(driver: &Driver, count: usize, shard: Shard) -> Result<Vec<MachineInfo>, RunError> {
    let unreachable = |reason: String| RunError::Unreachable {
        what: "the machine driver",
        url: driver.url(crate::drivers::MACHINES),
        reason,
    };
    let answer = driver.machines().await.map_err(|e| unreachable(e.detail))?;
    if answer.status != 200 {
        return Err(unreachable(format!("answered HTTP {}", answer.status)));
    }
    let mut listed = answer.body.get("machines").and_then(Value::as_array).cloned().unwrap_or_default();
    listed.sort_by(|a, b| a.get("token").and_then(Value::as_str).cmp(&b.get("token").and_then(Value::as_str)));
    let machines: Vec<MachineInfo> = listed
        .iter()
        .enumerate()
        .filter(|(position, _)| shard.owns_machine(*position))
        .map(|(_, machine)| machine)
        .filter(|m| m.get("state").and_then(Value::as_str) == Some("idle"))
        .filter_map(machine_info)
        .take(count)
        .collect();
    if machines.is_empty() && count > 0 {
        let whose = if shard.is_whole() { String::new() } else { format!(" for shard {shard}") };
        return Err(RunError::Config(format!(
            "the machine driver at {} lists no idle machine with products{whose}",
            driver.base()
        )));
    }
    if machines.len() < count {
        eprintln!(
            "note: --machines {count}, but the machine driver lists only {} idle machines{}: using those",
            machines.len(),
            if shard.is_whole() { String::new() } else { format!(" for shard {shard}") }
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
