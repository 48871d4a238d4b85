//! The rules over real journals: the real mock-glase and the reference reseller, in
//! process, on loopback sockets. The reference reseller is correct, so a full vend and a
//! full webshop payment break no rule; each deliberate fault breaks the rule it is
//! named for.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed setup should panic loudly

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use glase_conformance::results::Finding;
use glase_conformance::rules::{CheckContext, check_all, undecided_until};
use glase_protocol::InvoiceStatus;
use mock_glase::journal::{Entry, Filter, Record};
use mock_glase::machine::ups::{PurchaseOutcome, ScanOptions};
use mock_glase::mock::{ExtraNotification, ScanResult};
use mock_glase::server::RunningServer;
use mock_glase::{Mock, OffsetClock};
use reference_reseller::store::Db;
use reference_reseller::{Config, Context, Fault, Reseller};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The mock's deadlines are scaled by this: the 20 s status rule takes 2 s, and the
/// webshop's 1 s polling 100 ms.
const DEADLINE_SCALE: f64 = 0.1;
const STATUS_DEADLINE: Duration = Duration::from_millis((20_000.0 * DEADLINE_SCALE) as u64);
const PATIENCE: Duration = Duration::from_secs(8);

/// A running mock and reseller (copied from the reference reseller's own harness).
struct World {
    mock: Mock,
    _mock_server: RunningServer,
    url: String,
    http: reqwest::Client,
    task: JoinHandle<anyhow::Result<()>>,
    database: PathBuf,
}

impl World {
    async fn start(name: &str, faults: &[Fault]) -> Self {
        Self::start_with(name, faults, |_| {}).await
    }

    /// As [`World::start`], with the reseller's configuration changed by `tweak`.
    async fn start_with(name: &str, faults: &[Fault], tweak: fn(&mut Config)) -> Self {
        let mut mock_config = mock_glase::Config { deadline_scale: DEADLINE_SCALE, ..mock_glase::Config::default() };
        mock_config.notifications.retry_delay = Duration::from_millis(50);
        mock_config.ups.timeout = Duration::from_secs(5);
        let mock = Mock::new(&mock_config, Arc::new(OffsetClock::new())).unwrap();
        let mock_server = mock_glase::server::spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.unwrap();
        let database = std::env::temp_dir().join(format!(
            "glase-conformance-rules-{name}-{}-{}.sqlite",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config { glase_url: mock_server.soap_url(), database: database.clone(), ..Config::default() };
        config.faults = faults.to_vec();
        config.listen = addr;
        config.public_url = Some(format!("http://{addr}"));
        config.webshop.poll_interval = Duration::from_millis(50);
        tweak(&mut config);
        let db = Db::open(&config.database).unwrap();
        let reseller = Reseller::new(Context::new(config, db).unwrap()).unwrap();
        let url = format!("http://{addr}");
        mock.set_create_purchase_url("glase-demo", Some(&format!("{url}/seqr/createPurchase")), None).unwrap();
        let task =
            tokio::spawn(async move { reference_reseller::run(listener, reseller, std::future::pending()).await });
        Self { mock, _mock_server: mock_server, url, http: reqwest::Client::new(), task, database }
    }

    fn journal(&self) -> Vec<Entry> {
        self.mock.journal(&Filter::default())
    }

    /// Whether the merchant has asked getPaymentStatus about the invoice.
    fn polled(&self, reference: &str) -> bool {
        self.journal().iter().any(|entry| {
            entry.invoice.as_deref() == Some(reference)
                && matches!(&entry.record, Record::SoapRequest { operation: Some(op), .. } if op == "getPaymentStatus")
        })
    }

    /// Every finding over the whole journal (one merchant), once every deadline rule can
    /// decide (as the runner waits: a deadline not passed yet decides nothing).
    async fn findings(&self, profile: &str) -> Vec<Finding> {
        self.mock.note("test", "end of scenario".to_owned(), None);
        loop {
            let journal = self.journal();
            let now = self.mock.now().0;
            let ctx = CheckContext {
                journal: &journal,
                status_deadline: STATUS_DEADLINE,
                profile,
                cut_at_ms: Some(now),
                company: None,
            };
            match undecided_until(&ctx) {
                Some(due) if due > now => tokio::time::sleep(Duration::from_millis(due - now)).await,
                _ => return check_all(&ctx),
            }
        }
    }

    async fn eventually<T>(&self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(value) = check() {
                return value;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn get(&self, path: &str) -> Value {
        self.http.get(format!("{}{path}", self.url)).send().await.unwrap().json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(format!("{}{path}", self.url)).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn wait_for(&self, path: &str, state: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let current = self.get(path).await;
            if current["state"] == state {
                return current;
            }
            assert!(tokio::time::Instant::now() < deadline, "{path} never became {state}: {current}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn status(&self, reference: &str) -> InvoiceStatus {
        self.mock.invoice(reference).unwrap().record.status
    }

    // ---- the machine ----

    async fn scan(&self, token: &str) -> PurchaseOutcome {
        let options = ScanOptions { amount: Some("20.00".parse().unwrap()), ..ScanOptions::default() };
        let qr = format!("HTTP://SEQR.SE/000/ups?w=glase-demo&t={token}");
        match self.mock.scan_qr(&qr, None, &options).await.unwrap() {
            ScanResult::Unattended { purchase, .. } => purchase.outcome,
            other => panic!("not an unattended scan: {other:?}"),
        }
    }

    async fn start_purchase(&self, token: &str) -> String {
        match self.scan(token).await {
            PurchaseOutcome::Accepted { invoice_reference } => invoice_reference,
            other => panic!("createPurchase not accepted: {other:?}"),
        }
    }

    async fn unlocked_purchase(&self, token: &str) -> String {
        let reference = self.start_purchase(token).await;
        self.mock.confirm(&reference, None, None).unwrap();
        self.wait_for(&format!("/driver/machines/{token}"), "unlocked").await;
        reference
    }

    async fn vend(&self, token: &str, sku: &str) -> (u16, Value) {
        self.post(&format!("/driver/machines/{token}/vend"), json!({"items": [{"sku": sku, "quantity": 1}]})).await
    }

    // ---- the shop ----

    async fn checkout(&self) -> (String, String) {
        let (status, body) =
            self.post("/driver/shop/checkout", json!({"items": [{"sku": "headphones", "quantity": 1}]})).await;
        assert_eq!(status, 201, "{body}");
        (body["orderId"].as_str().unwrap().to_owned(), body["invoiceReference"].as_str().unwrap().to_owned())
    }

    async fn paid_order(&self) -> (String, String) {
        let (id, reference) = self.checkout().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.mock.confirm(&reference, None, None).unwrap();
        self.wait_for(&format!("/driver/shop/orders/{id}"), "paid").await;
        (id, reference)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.task.abort();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.database.display()));
        }
    }
}

fn ids(findings: &[Finding]) -> Vec<&str> {
    let mut ids: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The fault's rule fired, with journal evidence.
fn assert_fired(findings: &[Finding], rule: &str) -> Finding {
    let finding =
        findings.iter().find(|f| f.rule == rule).unwrap_or_else(|| panic!("{rule} did not fire: {findings:#?}"));
    assert!(!finding.evidence.is_empty(), "{finding:?}");
    finding.clone()
}

// ---- the reference reseller is correct ----

#[tokio::test]
async fn a_full_vend_breaks_no_rule() {
    let world = World::start("vend", &[]).await;
    let reference = world.unlocked_purchase("machine-1").await;
    let (code, receipt) = world.vend("machine-1", "cola").await;
    assert_eq!((code, receipt["outcome"].as_str()), (200, Some("paid")), "{receipt}");
    // A cancelled second purchase, and a wait past the status deadline.
    let second = world.start_purchase("machine-1").await;
    world.mock.cancel(&second, None).unwrap();
    world.wait_for("/driver/machines/machine-1", "idle").await;
    tokio::time::sleep(STATUS_DEADLINE + Duration::from_millis(300)).await;
    assert_eq!(world.status(&reference), InvoiceStatus::Paid);
    for profile in ["unattended", "all"] {
        assert_eq!(world.findings(profile).await, vec![], "{profile}");
    }
}

#[tokio::test]
async fn a_full_webshop_payment_breaks_no_rule() {
    let world = World::start("shop", &[]).await;
    let (id, reference) = world.paid_order().await;
    world.eventually("the receipt", || world.mock.invoice(&reference)?.payment?.receipt).await;
    let (status, refund) = world.post(&format!("/driver/shop/orders/{id}/refund"), json!({"amount": "50.00"})).await;
    assert_eq!(status, 201, "{refund}");
    world.mock.send_extra_notification(&reference, ExtraNotification::Duplicate, None, None).unwrap();
    // An unpaid order cancelled on request, and a wait past the status deadline.
    let (unpaid, _) = world.checkout().await;
    assert_eq!(world.post(&format!("/driver/shop/orders/{unpaid}/cancel"), json!({})).await.0, 200);
    tokio::time::sleep(STATUS_DEADLINE + Duration::from_millis(300)).await;
    assert_eq!(world.status(&reference), InvoiceStatus::Paid);
    for profile in ["webshop", "all"] {
        assert_eq!(world.findings(profile).await, vec![], "{profile}");
    }
}

// ---- each deliberate fault breaks its rule ----

#[tokio::test]
async fn skip_status_fetch_misses_the_deadline() {
    let world = World::start("skip-status", &[Fault::SkipStatusFetch]).await;
    let reference = world.start_purchase("machine-1").await;
    world.mock.confirm(&reference, None, None).unwrap();
    world.eventually("the reversal", || (world.status(&reference) == InvoiceStatus::Canceled).then_some(())).await;
    let findings = world.findings("unattended").await;
    let finding = assert_fired(&findings, "STATUS-BEFORE-DEADLINE");
    assert_eq!(finding.invoice.as_deref(), Some(reference.as_str()));
    assert_fired(&findings, "STATUS-AFTER-NOTIFICATION");
}

#[tokio::test]
async fn trust_notification_at_a_machine_uses_an_unreserved_invoice() {
    let world = World::start("trust-vend", &[Fault::TrustNotification]).await;
    let reference = world.start_purchase("machine-1").await;
    world.mock.send_extra_notification(&reference, ExtraNotification::Forged, None, None).unwrap();
    world.wait_for("/driver/machines/machine-1", "unlocked").await;
    world.vend("machine-1", "cola").await;
    let findings = world.findings("unattended").await;
    assert_fired(&findings, "UNLOCK-ONLY-AFTER-RESERVED");
    assert_fired(&findings, "NOTIFICATION-NOT-TRUSTED");
}

#[tokio::test]
async fn trust_notification_in_a_shop_stops_asking() {
    // The journal cannot tell a poll that was already due from an answer to the
    // notification, so the shop polls slowly here and the forged notification goes out
    // right after a poll: the next one is a whole interval away, long after the shop has
    // marked the order paid and stopped asking. (With a 50 ms poll and a fixed sleep, a
    // loaded machine let a due poll land after the POST: neither rule could fire.)
    let world = World::start_with("trust-shop", &[Fault::TrustNotification], |config| {
        config.webshop.poll_interval = Duration::from_secs(1);
    })
    .await;
    let (id, reference) = world.checkout().await;
    world.eventually("the shop's first getPaymentStatus", || world.polled(&reference).then_some(())).await;
    world.mock.send_extra_notification(&reference, ExtraNotification::Forged, None, None).unwrap();
    world.wait_for(&format!("/driver/shop/orders/{id}"), "paid").await;
    tokio::time::sleep(STATUS_DEADLINE + Duration::from_millis(300)).await;
    assert_eq!(world.status(&reference), InvoiceStatus::Issued);
    let findings = world.findings("webshop").await;
    assert_fired(&findings, "NOTIFICATION-NOT-TRUSTED");
    assert_fired(&findings, "STATUS-AFTER-NOTIFICATION");
}

#[tokio::test]
async fn nonzero_client_request_timeout_and_no_client_reference() {
    let world = World::start("context", &[Fault::NonZeroClientRequestTimeout, Fault::NoClientReference]).await;
    world.checkout().await;
    let findings = world.findings("webshop").await;
    assert!(assert_fired(&findings, "CTX-REQUEST-TIMEOUT-ZERO").actual.contains("clientRequestTimeout 30"));
    assert!(assert_fired(&findings, "CTX-CLIENT-REFERENCE").actual.contains("absent"));
}

#[tokio::test]
async fn rows_not_summing_to_total() {
    let world = World::start("rows", &[Fault::RowsNotSummingToTotal]).await;
    world.unlocked_purchase("machine-1").await;
    world.vend("machine-1", "cola").await;
    let findings = world.findings("unattended").await;
    assert!(assert_fired(&findings, "INV-ROWS-SUM").actual.contains("result 49"));
    assert_fired(&findings, "UPS-UPDATE-BEFORE-COMMIT");
}

#[tokio::test]
async fn commit_more_than_reserved() {
    let world = World::start("commit-more", &[Fault::CommitMoreThanReserved]).await;
    world.unlocked_purchase("machine-1").await;
    world.vend("machine-1", "cola").await;
    let findings = world.findings("unattended").await;
    assert!(assert_fired(&findings, "UPS-COMMIT-WITHIN-RESERVED").actual.contains("21.00"));
}

#[tokio::test]
async fn skip_update_before_commit() {
    let world = World::start("skip-update", &[Fault::SkipUpdateBeforeCommit]).await;
    world.unlocked_purchase("machine-1").await;
    world.vend("machine-1", "cola").await;
    let findings = world.findings("unattended").await;
    assert_eq!(ids(&findings), ["UPS-UPDATE-BEFORE-COMMIT"], "{findings:#?}");
}

#[tokio::test]
async fn wrong_invoice_reference() {
    let world = World::start("wrong-ref", &[Fault::WrongInvoiceReference]).await;
    assert!(matches!(world.scan("machine-1").await, PurchaseOutcome::Violation { .. }));
    let findings = world.findings("unattended").await;
    assert_eq!(ids(&findings), ["UPS-REFERENCE-MATCHES"], "{findings:#?}");
}

#[tokio::test]
async fn immediate_debit_for_unattended() {
    let world = World::start("immediate", &[Fault::ImmediateDebitForUnattended]).await;
    assert!(matches!(world.scan("machine-1").await, PurchaseOutcome::Violation { .. }));
    let findings = world.findings("unattended").await;
    assert_eq!(ids(&findings), ["UPS-RESERVATION-MODE"], "{findings:#?}");
}

#[tokio::test]
async fn ignore_device_in_use() {
    let world = World::start("in-use", &[Fault::IgnoreDeviceInUse]).await;
    world.unlocked_purchase("machine-1").await;
    world.start_purchase("machine-1").await;
    let findings = world.findings("unattended").await;
    assert_fired(&findings, "UPS-DEVICE-IN-USE");
}

#[tokio::test]
async fn commit_canceled() {
    let world = World::start("commit-canceled", &[Fault::CommitCanceled]).await;
    let reference = world.start_purchase("machine-1").await;
    world.mock.cancel(&reference, None).unwrap();
    world.wait_for("/driver/machines/machine-1", "unlocked").await;
    world.vend("machine-1", "cola").await;
    let findings = world.findings("unattended").await;
    assert_fired(&findings, "UPS-NO-COMMIT-AFTER-CANCEL");
}

#[tokio::test]
async fn stale_invoice_version() {
    let world = World::start("stale-version", &[Fault::StaleInvoiceVersion]).await;
    let (_, reference) = world.paid_order().await;
    world.mock.send_extra_notification(&reference, ExtraNotification::Duplicate, None, None).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let findings = world.findings("webshop").await;
    assert!(assert_fired(&findings, "SHOP-INVOICE-VERSION-ECHO").actual.contains("sent 0, latest was 1"));
}

#[tokio::test]
async fn refund_beyond_payment() {
    let world = World::start("refund-beyond", &[Fault::RefundBeyondPayment]).await;
    let (id, _) = world.paid_order().await;
    let (status, _) = world.post(&format!("/driver/shop/orders/{id}/refund"), json!({"amount": "200.00"})).await;
    assert_eq!(status, 409);
    let findings = world.findings("webshop").await;
    assert_eq!(ids(&findings), ["SHOP-REFUND-WITHIN-PAYMENT"], "{findings:#?}");
}
