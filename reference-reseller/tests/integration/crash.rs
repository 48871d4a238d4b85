//! Crash safety, the hard way: the reseller binary as a child process, killed with
//! SIGKILL at random moments while customers buy at machines and check out in the shop,
//! Glase (the mock, in this process) answering late or not at all now and then, and
//! restarted each time on the same database and port. Afterwards, once everything has
//! settled:
//!
//! - every invoice is final (PAID, CANCELED, FAILED), except the documented exception:
//!   one still ISSUED that no customer ever opened and whose reference the reseller
//!   never recorded (it died during sendInvoice, or the answer was lost): Glase cannot
//!   look an invoice up by clientInvoiceId, so nobody can cancel it, and nobody can pay
//!   it either;
//! - no charge without a dispense: every payment of a reservation is exactly what the
//!   machine dispensed for it, the machine learning the outcome of a vend whose answer
//!   was lost by asking for it with its vend id; and no dispense without that payment;
//! - every machine is idle.
//!
//! The kills, the customers' choices and Glase's faults come from fixed seeds; the
//! interleavings differ from run to run, the checks are invariants that must hold in
//! every one. About 30 s.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use glase_protocol::{InvoiceStatus, Operation, PaymentMode};
use mock_glase::journal::{Filter, Record};
use mock_glase::machine::customer::Confirmation;
use mock_glase::machine::ups::{PurchaseOutcome, ScanOptions};
use mock_glase::machine::{Event, FaultAction, FaultRule, FaultTarget};
use mock_glase::{Mock, SystemClock};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use crate::support::temp_database;

const MERCHANT: &str = "glase-demo";
const MACHINES: usize = 12;
const BUYERS: usize = 6;
const SHOPPERS: usize = 2;
/// How long customers keep starting flows; the reseller is killed throughout.
const LOAD: Duration = Duration::from_secs(12);
const KILLS: u32 = 10;
/// The longest a customer or the machine waits for the reseller (it may be down).
const PATIENCE: Duration = Duration::from_secs(15);
/// After the load: how long everything may take to settle (idle timeouts, retries,
/// unpaid timeouts, Glase's reservation timeout).
const SETTLE: Duration = Duration::from_secs(20);

/// The reseller as a child process, restartable on the same port and database.
struct Reseller {
    child: Option<Child>,
    config: PathBuf,
    database: PathBuf,
    log: PathBuf,
    url: String,
    http: reqwest::Client,
}

impl Reseller {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_reference-reseller"))
            .arg("--config")
            .arg(&self.config)
            .arg("--machines")
            .arg(MACHINES.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL: no destructor, no graceful shutdown, no flush but the kernel's.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(response) = self.http.get(format!("{}/healthz", self.url)).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "the reseller did not come up; see {}", self.log.display());
            sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Reseller {
    fn drop(&mut self) {
        self.kill();
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.database.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(path));
        }
        let _ = std::fs::remove_file(&self.config);
        // A failed run keeps the reseller's log (its path is in the failure message).
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// A free loopback port for the reseller (it keeps it across restarts: the
/// notificationUrls Glase holds name it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn write_config(path: &Path, glase_url: &str, port: u16, database: &Path) {
    let text = format!(
        r#"glase_url = "{glase_url}"
listen = "127.0.0.1:{port}"
database = "{}"
glase_timeout = "1s"

[vending]
idle_timeout = "1s"
status_poll_interval = "300ms"

[webshop]
unpaid_timeout = "3s"
poll_interval = "300ms"
"#,
        database.display()
    );
    std::fs::write(path, text).unwrap();
}

/// Glase misbehaving now and then, the same way in every run (the mock's fault
/// probabilities are seeded by its reference seed). A 1.5 s delay is longer than the
/// reseller's 1 s glase_timeout: Glase acts, the answer is lost.
fn add_faults(mock: &Mock) {
    let rule = |operation, action, probability| FaultRule {
        id: 0,
        target: FaultTarget::Soap(Some(operation)),
        terminal: None,
        merchant: None,
        action,
        remaining: None,
        probability: Some(probability),
        issued_from: None,
        invoice: None,
        customer: None,
    };
    let late = || FaultAction::Delay(Duration::from_millis(1500));
    let slow = || FaultAction::Delay(Duration::from_millis(300));
    for (operation, action, probability) in [
        (Operation::SendInvoice, late(), 0.08),
        (Operation::SendInvoice, FaultAction::DropConnection, 0.05),
        (Operation::SendInvoice, slow(), 0.2),
        (Operation::CommitReservation, late(), 0.1),
        (Operation::CommitReservation, FaultAction::DropConnection, 0.05),
        (Operation::CommitReservation, slow(), 0.2),
        (Operation::UpdateInvoice, FaultAction::DropConnection, 0.03),
        (Operation::GetPaymentStatus, slow(), 0.1),
        (Operation::CancelInvoice, FaultAction::DropConnection, 0.05),
    ] {
        mock.add_fault(rule(operation, action, probability)).unwrap();
    }
}

/// What the customers and the machines saw.
#[derive(Debug, Default)]
struct Tally {
    /// invoice → total the machine dispensed for it.
    dispensed: Mutex<Vec<(String, Decimal)>>,
    flows: AtomicU32,
    /// Vends whose first answer was not final, and how many of those the machine then
    /// learned the outcome of.
    vends_in_doubt: AtomicU32,
    vends_learned: AtomicU32,
    kills: AtomicU32,
}

struct Shared {
    mock: Mock,
    http: reqwest::Client,
    url: String,
    tally: Tally,
    stop: AtomicBool,
}

impl Shared {
    async fn get(&self, path: &str) -> Option<(u16, Value)> {
        let response = self.http.get(format!("{}{path}", self.url)).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn post(&self, path: &str, body: &Value) -> Option<(u16, Value)> {
        let response = self.http.post(format!("{}{path}", self.url)).json(body).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Waits until the machine's driver shows one of `states` (the reseller may be
    /// down meanwhile); the state seen, or `None` after [`PATIENCE`].
    async fn wait_machine(&self, token: &str, states: &[&str]) -> Option<String> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some((200, machine)) = self.get(&format!("/driver/machines/{token}")).await
                && let Some(state) = machine["state"].as_str()
                && states.contains(&state)
            {
                return Some(state.to_owned());
            }
            sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

/// One customer at a time at each of its machines: scan, then buy, cancel or walk away.
async fn buyer(shared: Arc<Shared>, index: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let msisdn = format!("4670000{index:04}");
    let machines: Vec<String> = (0..MACHINES / BUYERS).map(|k| format!("machine-{}", index + 1 + k * BUYERS)).collect();
    let mut turn = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        let token = &machines[turn % machines.len()];
        turn += 1;
        if shared.wait_machine(token, &["idle"]).await.is_none() {
            continue;
        }
        let options = ScanOptions { amount: Some(Decimal::new(2000, 2)), notify_early: false };
        let Ok((report, _)) = shared.mock.unattended_purchase(MERCHANT, token, Some(&msisdn), &options).await else {
            continue;
        };
        let PurchaseOutcome::Accepted { invoice_reference: reference } = report.outcome else {
            // Refused, or the reseller died during createPurchase: nobody holds the
            // machine once recovery ran.
            continue;
        };
        shared.tally.flows.fetch_add(1, Ordering::Relaxed);
        match rng.random_range(0..10) {
            0 => {
                let _ = shared.mock.cancel(&reference, Some(&msisdn));
            }
            1 => {
                let _ = shared.mock.walk_away(&reference);
            }
            _ => buy(&shared, &mut rng, &msisdn, token, &reference).await,
        }
    }
}

async fn buy(shared: &Shared, rng: &mut StdRng, msisdn: &str, token: &str, reference: &str) {
    match shared.mock.confirm(reference, Some(msisdn), None) {
        Ok((Confirmation::Reserved, _)) => {}
        _ => return,
    }
    // Reversed (the reseller was down for Glase's whole status deadline) or cancelled
    // meanwhile: nothing to vend.
    if shared.wait_machine(token, &["unlocked", "idle"]).await.as_deref() != Some("unlocked") {
        return;
    }
    let Some((200, machine)) = shared.get(&format!("/driver/machines/{token}")).await else { return };
    let products = machine["products"].as_array().cloned().unwrap_or_default();
    let product = &products[rng.random_range(0..products.len())];
    let sku = product["sku"].as_str().unwrap().to_owned();
    let price: Decimal = product["price"].as_str().unwrap().parse().unwrap();
    let quantity: u32 = rng.random_range(1..=3);
    let vend_id = format!("{token}-{reference}");
    let body = json!({ "vendId": vend_id, "items": [{ "sku": sku, "quantity": quantity }] });
    let path = format!("/driver/machines/{token}/vend");
    let first = shared.post(&path, &body).await;
    let outcome = match vend_outcome(first.as_ref()) {
        Some(outcome) => outcome,
        None => {
            // The answer was lost (the reseller died, or answered "not known yet"):
            // ask again with the same vend id until the outcome is final.
            shared.tally.vends_in_doubt.fetch_add(1, Ordering::Relaxed);
            let deadline = Instant::now() + PATIENCE;
            let mut learned = None;
            while learned.is_none() && Instant::now() < deadline {
                sleep(Duration::from_millis(100)).await;
                learned = vend_outcome(shared.post(&path, &body).await.as_ref());
            }
            if learned.is_some() {
                shared.tally.vends_learned.fetch_add(1, Ordering::Relaxed);
            }
            learned.unwrap_or(VendOutcome::Unknown)
        }
    };
    if let VendOutcome::Paid(total) = outcome {
        assert_eq!(total, price * Decimal::from(quantity), "charged what was chosen");
        shared.tally.dispensed.lock().unwrap().push((reference.to_owned(), total));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VendOutcome {
    /// Dispense.
    Paid(Decimal),
    /// Final, nothing charged: do not dispense.
    NotPaid,
    /// The machine never learned it (a failure of the reseller, counted by the checks).
    Unknown,
}

/// The outcome a vend answer tells the machine, or `None` when it is not final yet
/// (no answer, 502 "not known yet", 503 stopping).
fn vend_outcome(answer: Option<&(u16, Value)>) -> Option<VendOutcome> {
    let (status, body) = answer?;
    match (*status, body["outcome"].as_str()) {
        (200, Some("paid")) => body["total"].as_str().and_then(|t| t.parse().ok()).map(VendOutcome::Paid),
        (200, _) => Some(VendOutcome::NotPaid),
        (409 | 400 | 404, _) => Some(VendOutcome::NotPaid),
        // Glase refused the commit: final for this vend id.
        (502, _) if body["state"] == "rejected" => Some(VendOutcome::NotPaid),
        _ => None,
    }
}

/// Webshop checkouts, paid in the app.
async fn shopper(shared: Arc<Shared>, index: usize) {
    let msisdn = format!("4671000{index:04}");
    while !shared.stop.load(Ordering::SeqCst) {
        let body = json!({ "items": [{ "sku": "cable", "quantity": 1 }] });
        let Some((201, order)) = shared.post("/driver/shop/checkout", &body).await else {
            sleep(Duration::from_millis(100)).await;
            continue;
        };
        shared.tally.flows.fetch_add(1, Ordering::Relaxed);
        let reference = order["invoiceReference"].as_str().unwrap().to_owned();
        let _ = shared.mock.confirm(&reference, Some(&msisdn), None);
        let deadline = Instant::now() + PATIENCE;
        let path = format!("/driver/shop/orders/{}", order["orderId"].as_str().unwrap());
        while Instant::now() < deadline {
            if let Some((200, order)) = shared.get(&path).await
                && order["state"] != "pending"
            {
                break;
            }
            sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every invoice reference the reseller recorded, read from its database.
fn recorded_references(database: &Path) -> HashSet<String> {
    let connection = rusqlite::Connection::open(database).unwrap();
    let mut statement = connection
        .prepare(
            "SELECT invoice_reference FROM vending_purchases WHERE invoice_reference IS NOT NULL
             UNION SELECT invoice_reference FROM webshop_orders WHERE invoice_reference IS NOT NULL",
        )
        .unwrap();
    statement.query_map([], |row| row.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_under_load_no_invoice_is_left_open_and_nothing_is_charged_without_a_dispense() {
    let mut mock_config = mock_glase::Config { deadline_scale: 0.5, reference_seed: Some(11), ..Default::default() };
    mock_config.notifications.retry_delay = Duration::from_millis(100);
    mock_config.ups.timeout = Duration::from_secs(5);
    let mock = Mock::new(&mock_config, Arc::new(SystemClock)).unwrap();
    let server = mock_glase::server::spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.unwrap();
    add_faults(&mock);
    for index in 0..BUYERS {
        mock.set_customer(&format!("4670000{index:04}"), Some("1234"), Some(Decimal::new(1_000_000, 0)));
    }
    for index in 0..SHOPPERS {
        mock.set_customer(&format!("4671000{index:04}"), Some("1234"), Some(Decimal::new(1_000_000, 0)));
    }
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    mock.set_create_purchase_url(MERCHANT, Some(&format!("{url}/seqr/createPurchase")), None).unwrap();
    let database = temp_database("crash");
    let config = database.with_extension("toml");
    write_config(&config, &server.soap_url(), port, &database);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut reseller = Reseller {
        child: None,
        config,
        database: database.clone(),
        log: database.with_extension("log"),
        url: url.clone(),
        http: http.clone(),
    };
    reseller.start();
    reseller.wait_ready().await;

    let shared =
        Arc::new(Shared { mock: mock.clone(), http, url, tally: Tally::default(), stop: AtomicBool::new(false) });
    let mut customers = Vec::new();
    for index in 0..BUYERS {
        customers.push(tokio::spawn(buyer(shared.clone(), index, 1000 + index as u64)));
    }
    for index in 0..SHOPPERS {
        customers.push(tokio::spawn(shopper(shared.clone(), index)));
    }
    // The killer: KILLS kills at random moments spread over the load.
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    let gap = LOAD / (KILLS + 1);
    for _ in 0..KILLS {
        sleep(gap.mul_f64(rng.random_range(0.5..1.5))).await;
        reseller.kill();
        shared.tally.kills.fetch_add(1, Ordering::Relaxed);
        // Down for a moment, as a supervisor would restart it.
        sleep(Duration::from_millis(rng.random_range(0..300))).await;
        reseller.start();
        reseller.wait_ready().await;
    }
    sleep(LOAD.saturating_sub(started.elapsed())).await;
    shared.stop.store(true, Ordering::SeqCst);
    for customer in customers {
        customer.await.unwrap();
    }

    // Settle: until nothing is open but the documented exception, and every machine idle.
    let deadline = Instant::now() + SETTLE;
    loop {
        let busy = machines_not_idle(&shared).await;
        let open = mock
            .invoices(None)
            .iter()
            .filter(|i| !is_final(i.status) && i.status != InvoiceStatus::Issued)
            .count()
            + mock.invoices(None).iter().filter(|i| i.status == InvoiceStatus::Issued && i.opened_by.is_some()).count();
        if (busy.is_empty() && open == 0) || Instant::now() >= deadline {
            break;
        }
        sleep(Duration::from_millis(200)).await;
    }
    // Give the idle and unpaid timers one more round, then stop the reseller for good.
    sleep(Duration::from_secs(4)).await;
    let busy = machines_not_idle(&shared).await;
    reseller.kill();

    let recorded = recorded_references(&database);
    let scanned: HashSet<String> = mock
        .journal(&Filter::default())
        .into_iter()
        .filter_map(|e| match e.record {
            Record::Machine { event: Event::CustomerScanned { invoice, .. } } => Some(invoice.to_string()),
            _ => None,
        })
        .collect();
    let invoices = mock.invoices(None);
    let mut problems = Vec::new();
    let mut exceptions = 0;
    for invoice in &invoices {
        let reference = invoice.reference.as_str();
        if is_final(invoice.status) {
            continue;
        }
        if invoice.status == InvoiceStatus::Issued && !scanned.contains(reference) && !recorded.contains(reference) {
            exceptions += 1;
            continue;
        }
        problems.push(format!(
            "invoice {reference} is left {} (scanned: {}, recorded by the reseller: {})",
            invoice.status,
            scanned.contains(reference),
            recorded.contains(reference)
        ));
    }
    let dispensed: Vec<(String, Decimal)> = shared.tally.dispensed.lock().unwrap().clone();
    let mut by_invoice: HashMap<&str, Vec<Decimal>> = HashMap::new();
    for (reference, total) in &dispensed {
        by_invoice.entry(reference.as_str()).or_default().push(*total);
    }
    for invoice in invoices.iter().filter(|i| i.payment_mode != PaymentMode::ImmediateDebit) {
        let reference = invoice.reference.as_str();
        let paid = mock.invoice(reference).and_then(|view| view.payment).map(|p| p.amount);
        let given: Vec<Decimal> = by_invoice.get(reference).cloned().unwrap_or_default();
        match (paid, given.as_slice()) {
            (None, []) => {}
            (Some(paid), [one]) if paid == *one => {}
            (Some(paid), []) => problems.push(format!("invoice {reference}: {paid} charged, nothing dispensed")),
            (paid, given) => problems.push(format!("invoice {reference}: charged {paid:?}, dispensed {given:?}")),
        }
    }
    for token in &busy {
        problems.push(format!("machine {token} is left busy"));
    }
    let tally = &shared.tally;
    eprintln!(
        "{} kills, {} flows, {} invoices, {} vends dispensed, {} vend answers in doubt ({} learned later), \
         {} invoices left ISSUED whose reference the reseller never learned",
        tally.kills.load(Ordering::Relaxed),
        tally.flows.load(Ordering::Relaxed),
        invoices.len(),
        dispensed.len(),
        tally.vends_in_doubt.load(Ordering::Relaxed),
        tally.vends_learned.load(Ordering::Relaxed),
        exceptions
    );
    // Enough happened to prove something: purchases went through, and some vend
    // answers were lost (the faults and kills hit commits).
    assert!(dispensed.len() >= 20, "only {} vends dispensed", dispensed.len());
    assert!(tally.vends_in_doubt.load(Ordering::Relaxed) >= 3, "too few vends in doubt to prove anything");
    assert!(
        problems.is_empty(),
        "{} problems (the reseller's log: {}):\n{}",
        problems.len(),
        reseller.log.display(),
        problems.join("\n")
    );
}

fn is_final(status: InvoiceStatus) -> bool {
    matches!(status, InvoiceStatus::Paid | InvoiceStatus::Canceled | InvoiceStatus::Failed)
}

async fn machines_not_idle(shared: &Shared) -> Vec<String> {
    let Some((200, all)) = shared.get("/driver/machines").await else { return vec!["(driver unreachable)".into()] };
    all["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] != "idle")
        .map(|m| m["token"].as_str().unwrap().to_owned())
        .collect()
}
