//! A mock-glase and a reference reseller wired together on loopback ports.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mock_glase::journal::{Entry, Filter, Record};
use mock_glase::server::RunningServer;
use mock_glase::{Mock, OffsetClock};
use reference_reseller::store::Db;
use reference_reseller::{Config, Context, Fault, Reseller};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The mock's deadlines are scaled by this in tests: the 20 s status rule takes 400 ms.
pub const DEADLINE_SCALE: f64 = 0.02;

/// A running mock and reseller.
pub struct World {
    pub mock: Mock,
    pub mock_server: RunningServer,
    pub reseller: Reseller,
    pub reseller_url: String,
    pub http: reqwest::Client,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Sending (or dropping) it starts the running reseller's graceful shutdown.
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The database file, kept across restarts.
    pub database: PathBuf,
    config: Config,
}

/// A fresh SQLite file under the system temp dir.
pub fn temp_database(name: &str) -> PathBuf {
    let unique = format!(
        "reference-reseller-{name}-{}-{}.sqlite",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    std::env::temp_dir().join(unique)
}

impl World {
    /// A mock (deadlines scaled by [`DEADLINE_SCALE`]) and a reseller with the given
    /// faults and config tweaks, the mock's demo merchant pointed at the reseller.
    pub async fn start(name: &str, faults: &[Fault], tweak: impl FnOnce(&mut Config)) -> Self {
        let mut mock_config = mock_glase::Config { deadline_scale: DEADLINE_SCALE, ..mock_glase::Config::default() };
        mock_config.notifications.retry_delay = Duration::from_millis(50);
        mock_config.ups.timeout = Duration::from_secs(5);
        let mock = Mock::new(&mock_config, Arc::new(OffsetClock::new())).unwrap();
        let mock_server = mock_glase::server::spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.unwrap();
        let mut config =
            Config { glase_url: mock_server.soap_url(), database: temp_database(name), ..Config::default() };
        config.faults = faults.to_vec();
        tweak(&mut config);
        let database = config.database.clone();
        let booted = boot(&mock, &config).await;
        Self {
            mock,
            mock_server,
            reseller: booted.reseller,
            reseller_url: booted.url,
            http: reqwest::Client::new(),
            task: Some(booted.task),
            shutdown: Some(booted.shutdown),
            database,
            config,
        }
    }

    /// Shuts the reseller down gracefully (what Ctrl-C does to the binary) and waits
    /// until `run` has returned.
    pub async fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Kills the reseller abruptly (no graceful shutdown) and starts it again on the
    /// same database: what a crash and a restart look like from outside.
    pub async fn crash_and_restart(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        let booted = boot(&self.mock, &self.config).await;
        self.reseller = booted.reseller;
        self.reseller_url = booted.url;
        self.task = Some(booted.task);
        self.shutdown = Some(booted.shutdown);
    }

    /// Polls `check` every 20 ms until it returns `Some`, for at most `limit`.
    pub async fn eventually<T>(&self, limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(value) = check() {
                return Some(value);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A JSON call to the reseller (a driver, the shop's status page): the status and
    /// the body (its text when it is not JSON), checked against `drivers.yaml`.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let name = method.as_str().to_owned();
        let mut request = self.http.request(method, format!("{}{path}", self.reseller_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        crate::contract::check(&name, path, status, &body);
        (status, body)
    }
}

struct Booted {
    reseller: Reseller,
    url: String,
    task: JoinHandle<anyhow::Result<()>>,
    shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Starts a reseller on a new loopback port over the config's database file and points
/// the mock's demo merchant at it.
async fn boot(mock: &Mock, config: &Config) -> Booted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = config.clone();
    config.listen = addr;
    config.public_url = Some(format!("http://{addr}"));
    let db = Db::open(&config.database).unwrap();
    let reseller = Reseller::new(Context::new(config, db).unwrap()).unwrap();
    let url = format!("http://{addr}");
    mock.set_create_purchase_url("glase-demo", Some(&format!("{url}/seqr/createPurchase")), None).unwrap();
    let running = reseller.clone();
    // Runs until the task is aborted (a crash, as far as the database can tell) or the
    // shutdown is sent (a graceful shutdown, [`World::shut_down`]).
    let (shutdown, requested) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let requested = async move {
            let _ = requested.await;
        };
        reference_reseller::run(listener, running, requested).await
    });
    Booted { reseller, url, task, shutdown }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.database);
        let _ = std::fs::remove_file(self.database.with_extension("sqlite-wal"));
        let _ = std::fs::remove_file(self.database.with_extension("sqlite-shm"));
    }
}

impl World {
    /// The mock's journal: about one invoice, or all of it.
    pub fn journal(&self, invoice: Option<&str>) -> Vec<Entry> {
        self.mock.journal(&Filter { invoice: invoice.map(str::to_owned), ..Filter::default() })
    }

    /// The resultCodes Glase answered to one operation (about one invoice, or all).
    pub fn result_codes(&self, invoice: Option<&str>, op: &str) -> Vec<Option<i32>> {
        self.journal(invoice)
            .into_iter()
            .filter_map(|e| match e.record {
                Record::SoapResponse { operation: Some(o), result_code, .. } if o == op => Some(result_code),
                _ => None,
            })
            .collect()
    }
}

/// The text of the first `<name>` element of a SOAP body.
pub fn element(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].to_owned())
}
