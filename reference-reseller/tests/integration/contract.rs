//! What an integrator who does not compile Rust relies on, checked from outside:
//!
//! - `reference-reseller --version` names the build's commit;
//! - `docs/openapi/drivers.yaml` (the machine, shop and till drivers an integrator implements)
//!   lists exactly the driver routes this reseller registers, its examples fit its
//!   schemas, and every example runs against a running reseller with the documented status
//!   and an answer that fits the documented schema;
//! - every driver answer the other integration tests receive (`vending`, `webshop`, `pos`: every
//!   state, error and deliberate fault they reach) fits the document too: their HTTP
//!   helpers call [`check`].

use std::path::PathBuf;
use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use glase_devkit::openapi::{Document, routes_in_source};
use serde_json::{Value, json};

use crate::support::World;

static DOCUMENT: LazyLock<Document> =
    LazyLock::new(|| Document::load(&crate_dir().join("../docs/openapi/drivers.yaml")));

/// The order id the document's examples use; each run replaces it with an order it made.
const EXAMPLE_ORDER: &str = "W3f9a1c0e7b2d4a68";
/// The same for the till's sale ids and transaction periods.
const EXAMPLE_SALE: &str = "P3f9a1c0e7b2d4a68";
const EXAMPLE_PERIOD: &str = "2026112318145100000000001";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Panics unless a driver answer (`/driver/…`) fits `docs/openapi/drivers.yaml`: its
/// status is documented for the operation and a JSON body fits that response's schema.
/// Other paths (createPurchase, the shop's pages) are not the drivers' and pass.
pub fn check(method: &str, path: &str, status: u16, body: &Value) {
    if !path.starts_with("/driver/") && path != "/driver" {
        return;
    }
    if let Err(why) = DOCUMENT.check_answer(method, path, status, body) {
        panic!("a driver answer breaks docs/openapi/drivers.yaml: {why}");
    }
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_reference-reseller")).arg("--version").output().expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.trim_end();
    let prefix = format!("reference-reseller {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(')'));
    assert!(
        commit.is_some_and(|c| c == "unknown" || (!c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric()))),
        "--version printed {line:?}, expected `{prefix}<commit>)`"
    );
}

#[test]
fn the_document_lists_exactly_the_driver_routes_the_reseller_registers() {
    let read = |file: &str| std::fs::read_to_string(crate_dir().join("src").join(file)).unwrap();
    let mut registered = routes_in_source(&read("vending/driver.rs"), "");
    registered.extend(routes_in_source(&read("webshop/driver.rs"), ""));
    registered.extend(routes_in_source(&read("pos/driver.rs"), ""));
    // No other file registers a driver route.
    for file in [
        "app.rs",
        "vending/mod.rs",
        "webshop/mod.rs",
        "webshop/web.rs",
        "webshop/pages.rs",
        "staff.rs",
        "pos/mod.rs",
        "pos/till.rs",
    ] {
        let path = crate_dir().join("src").join(file);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let stray: Vec<_> =
                routes_in_source(&text, "").into_iter().filter(|(_, p)| p.starts_with("/driver")).collect();
            assert!(stray.is_empty(), "{file} registers driver routes {stray:?}: document them");
        }
    }
    assert!(registered.iter().all(|(_, p)| p.starts_with("/driver/")), "{registered:?}");
    if let Err(mismatch) = DOCUMENT.check_routes(&registered, "docs/openapi/drivers.yaml") {
        panic!("{mismatch}");
    }
    assert_eq!(DOCUMENT.json()["info"]["version"], env!("CARGO_PKG_VERSION"), "info.version");
}

#[test]
fn every_example_of_the_document_fits_its_schema() {
    let problems = DOCUMENT.check_examples();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn send(world: &World, method: &str, path: &str, body: Option<(String, String)>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = world.http.request(method, format!("{}{path}", world.reseller_url));
    if let Some((kind, body)) = body {
        request = request.header("content-type", kind).body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn eventually(world: &World, what: &str, path: &str, field: &str, want: &str) {
    for _ in 0..250 {
        let (_, body) = send(world, "GET", path, None).await;
        if body[field] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} never became {want}");
}

/// machine-1 with a confirmed reservation of 20.00.
async fn unlocked(world: &World) {
    let qr = "HTTP://SEQR.SE/000/ups?w=glase-demo&t=machine-1";
    let options = mock_glase::machine::ups::ScanOptions { amount: Some("20.00".parse().unwrap()), notify_early: false };
    let scanned = world.mock.scan_qr(qr, None, &options).await.unwrap();
    let mock_glase::mock::ScanResult::Unattended { purchase, .. } = scanned else { panic!("not an unattended scan") };
    let mock_glase::machine::ups::PurchaseOutcome::Accepted { invoice_reference } = purchase.outcome else {
        panic!("createPurchase was not accepted: {purchase:?}")
    };
    world.mock.confirm(&invoice_reference, None, None).unwrap();
    eventually(world, "machine-1", "/driver/machines/machine-1", "state", "unlocked").await;
}

/// A pending order of headphones and two cables (paid when `pay`): its id.
async fn order(world: &World, pay: bool) -> String {
    let items = json!({"items": [{"sku": "headphones", "quantity": 1}, {"sku": "cable", "quantity": 2}]});
    let (status, created) =
        send(world, "POST", "/driver/shop/checkout", Some(("application/json".into(), items.to_string()))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["orderId"].as_str().unwrap().to_owned();
    if pay {
        world.mock.confirm(created["invoiceReference"].as_str().unwrap(), None, None).unwrap();
        eventually(world, "the order", &format!("/driver/shop/orders/{id}"), "state", "paid").await;
    }
    id
}

/// A pending sale of two coffees at the till (paid through the till's sticker when
/// `pay`): its id.
async fn sale(world: &World, pay: bool) -> String {
    let items = json!({"items": [{"sku": "coffee", "quantity": 2}]});
    let (status, created) =
        send(world, "POST", "/driver/pos/sales", Some(("application/json".into(), items.to_string()))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["saleId"].as_str().unwrap().to_owned();
    if pay {
        let opened = world.mock.scan(created["qrCode"].as_str().unwrap(), None).unwrap();
        world.mock.confirm(&opened.record.reference, None, None).unwrap();
        eventually(world, "the sale", &format!("/driver/pos/sales/{id}"), "state", "paid").await;
    }
    id
}

/// A registered till with a closed period whose report is ready: the period's id.
async fn closed_period(world: &World) -> String {
    let (status, body) = send(world, "POST", "/driver/pos/register", None).await;
    assert_eq!(status, 200, "{body}");
    let (status, closed) = send(world, "POST", "/driver/pos/close", None).await;
    assert_eq!(status, 200, "{closed}");
    let period = closed["transactionPeriodId"].as_str().unwrap().to_owned();
    for _ in 0..250 {
        let (status, _) = send(world, "GET", &format!("/driver/pos/periods/{period}/report"), None).await;
        if status != 409 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    period
}

/// What each example starts from; returns the (example id, real id) to replace.
async fn prepare(world: &World, operation_id: &str) -> Option<(&'static str, String)> {
    match operation_id {
        "vend" => unlocked(world).await,
        "getVend" => {
            unlocked(world).await;
            let vend = json!({"vendId": "m1-000731", "items": [{"sku": "cola", "quantity": 2}, {"sku": "water", "quantity": 1}]});
            let (status, body) = send(
                world,
                "POST",
                "/driver/machines/machine-1/vend",
                Some(("application/json".into(), vend.to_string())),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
        "getOrder" | "cancelOrder" => return Some((EXAMPLE_ORDER, order(world, false).await)),
        "refund" => return Some((EXAMPLE_ORDER, order(world, true).await)),
        "getSale" | "cancelSale" => return Some((EXAMPLE_SALE, sale(world, false).await)),
        "refundSale" => return Some((EXAMPLE_SALE, sale(world, true).await)),
        "closeTill" => {
            let (status, body) = send(world, "POST", "/driver/pos/register", None).await;
            assert_eq!(status, 200, "{body}");
        }
        "tillReport" => return Some((EXAMPLE_PERIOD, closed_period(world).await)),
        _ => {}
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_runs_against_the_reference_reseller_as_documented() {
    let runs = DOCUMENT.runs();
    assert!(runs.len() >= 14, "only {} examples run", runs.len());
    let mut failures = Vec::new();
    for run in &runs {
        // What each example starts from, in a fresh mock and reseller.
        let world = World::start("contract", &[], |c| {
            c.webshop.poll_interval = Duration::from_millis(50);
            c.pos.poll_interval = Duration::from_millis(50);
        })
        .await;
        let replacement = prepare(&world, &run.operation_id).await;
        let replace = |text: &str| match &replacement {
            Some((example, id)) => text.replace(example, id),
            None => text.to_owned(),
        };
        let path = replace(&run.path_and_query);
        let body = run.body.as_ref().map(|(kind, bytes)| (kind.clone(), replace(&String::from_utf8_lossy(bytes))));
        let (status, answer) = send(&world, &run.method, &path, body).await;
        if let Err(why) = DOCUMENT.check_run(run, &path, status, &answer, &answer.to_string()) {
            failures.push(why.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples did not run as documented:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
}
