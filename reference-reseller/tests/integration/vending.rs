//! The vending backend against the real mock: scans through the mock's Unattended
//! Payments Service, the customer through the mock's library API, the machine through
//! the reseller's driver API over HTTP. Every deliberate fault is shown to be visible
//! from outside (the mock's journal, the driver), as the conformance suite will see it.

use std::time::Duration;

use glase_protocol::{InvoiceStatus, Operation, Request, ResultCode, decode_request};
use mock_glase::config::Dialect;
use mock_glase::journal::{Entry, Filter, Record};
use mock_glase::machine::ups::{PurchaseOutcome, ScanOptions};
use mock_glase::machine::{Event, FaultAction, FaultRule, FaultTarget};
use mock_glase::mock::{ExtraNotification, ScanResult};
use reference_reseller::Fault;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use crate::support::World;

const CUSTOMER: &str = "483344323423";
/// The scaled 20 s status rule is 400 ms; waiting this long shows nothing was reversed.
const PAST_STATUS_DEADLINE: Duration = Duration::from_millis(700);

fn qr(token: &str) -> String {
    format!("HTTP://SEQR.SE/000/ups?w=glase-demo&t={token}")
}

fn eur(text: &str) -> Decimal {
    text.parse().unwrap()
}

async fn scan_with(world: &World, token: &str, amount: &str, options: ScanOptions) -> PurchaseOutcome {
    let options = ScanOptions { amount: Some(eur(amount)), ..options };
    match world.mock.scan_qr(&qr(token), None, &options).await.unwrap() {
        ScanResult::Unattended { purchase, .. } => purchase.outcome,
        other => panic!("not an unattended scan: {other:?}"),
    }
}

async fn scan(world: &World, token: &str, amount: &str) -> PurchaseOutcome {
    scan_with(world, token, amount, ScanOptions::default()).await
}

/// Scans and expects the reseller to accept; returns the invoice reference.
async fn start_purchase(world: &World, token: &str, amount: &str) -> String {
    match scan(world, token, amount).await {
        PurchaseOutcome::Accepted { invoice_reference } => invoice_reference,
        other => panic!("createPurchase not accepted: {other:?}"),
    }
}

fn declined(outcome: &PurchaseOutcome) -> &str {
    match outcome {
        PurchaseOutcome::Declined { error_code } => error_code,
        other => panic!("expected an error code, got {other:?}"),
    }
}

fn confirm(world: &World, reference: &str) {
    world.mock.confirm(reference, None, None).unwrap();
}

fn status(world: &World, reference: &str) -> InvoiceStatus {
    world.mock.invoice(reference).unwrap().record.status
}

fn balance(world: &World) -> Decimal {
    world.mock.customer(CUSTOMER).unwrap().balance
}

fn journal(world: &World, reference: &str) -> Vec<Entry> {
    world.mock.journal(&Filter { invoice: Some(reference.to_owned()), ..Filter::default() })
}

/// The SOAP operations the reseller called about an invoice, in order.
fn calls(world: &World, reference: &str) -> Vec<String> {
    journal(world, reference)
        .into_iter()
        .filter_map(|e| match e.record {
            Record::SoapRequest { operation, .. } => operation,
            _ => None,
        })
        .collect()
}

/// The result codes Glase answered an operation with, about an invoice.
fn results(world: &World, reference: &str, operation: Operation) -> Vec<i32> {
    journal(world, reference)
        .into_iter()
        .filter_map(|e| match e.record {
            Record::SoapResponse { operation: Some(op), result_code, .. } if op == operation.name() => result_code,
            _ => None,
        })
        .collect()
}

fn request_bodies(world: &World, reference: &str, operation: Operation) -> Vec<String> {
    journal(world, reference)
        .into_iter()
        .filter_map(|e| match e.record {
            Record::SoapRequest { operation: Some(op), body, .. } if op == operation.name() => Some(body),
            _ => None,
        })
        .collect()
}

fn count(world: &World, reference: &str, operation: Operation) -> usize {
    calls(world, reference).iter().filter(|op| *op == operation.name()).count()
}

async fn wait_until(world: &World, what: &str, mut check: impl FnMut() -> bool) {
    let done = world.eventually(Duration::from_secs(3), || check().then_some(())).await;
    assert!(done.is_some(), "timed out waiting for: {what}");
}

async fn machine(world: &World, token: &str) -> Value {
    get(world, &format!("/driver/machines/{token}")).await.1
}

async fn wait_for_state(world: &World, token: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let machine = machine(world, token).await;
        if machine["state"] == state {
            return machine;
        }
        assert!(Instant::now() < deadline, "machine {token} never became {state}: {machine}");
        sleep(Duration::from_millis(20)).await;
    }
}

async fn post(world: &World, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = world.http.post(format!("{}{path}", world.reseller_url));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    crate::contract::check("POST", path, status, &body);
    (status, body)
}

async fn get(world: &World, path: &str) -> (u16, Value) {
    let response = world.http.get(format!("{}{path}", world.reseller_url)).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    crate::contract::check("GET", path, status, &body);
    (status, body)
}

async fn vend(world: &World, token: &str, items: Value) -> (u16, Value) {
    post(world, &format!("/driver/machines/{token}/vend"), Some(json!({ "items": items }))).await
}

/// Scan, confirm and wait for the machine to unlock: the common start of a purchase.
async fn unlocked_purchase(world: &World, token: &str, amount: &str) -> String {
    let reference = start_purchase(world, token, amount).await;
    confirm(world, &reference);
    let machine = wait_for_state(world, token, "unlocked").await;
    assert_eq!(machine["invoiceReference"], reference.as_str());
    reference
}

fn fault(target: FaultTarget, action: FaultAction, times: Option<u32>) -> FaultRule {
    FaultRule {
        id: 0,
        target,
        terminal: None,
        merchant: None,
        action,
        remaining: times,
        probability: None,
        issued_from: None,
        invoice: None,
        customer: None,
    }
}

/// A raw createPurchase POST: (HTTP status, content type, body).
async fn raw_create_purchase(world: &World, body: &str) -> (u16, String, Value) {
    let response = world
        .http
        .post(format!("{}/seqr/createPurchase", world.reseller_url))
        .header("content-type", "application/json;charset=UTF-8")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, response.json().await.unwrap())
}

// ---- the flow ----

#[tokio::test]
async fn a_full_vend_charges_exactly_the_vended_total_and_frees_the_machine() {
    let world = World::start("vend-full", &[], |_| {}).await;
    let before = balance(&world);
    let reference = start_purchase(&world, "machine-1", "20.00").await;
    let reserved = machine(&world, "machine-1").await;
    assert_eq!(reserved["state"], "reserved");
    assert!(reserved.get("reservedAmount").is_none(), "{reserved}");

    confirm(&world, &reference);
    let unlocked = wait_for_state(&world, "machine-1", "unlocked").await;
    assert_eq!(unlocked["reservedAmount"], "20.00");

    let (code, receipt) =
        vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 2}, {"sku": "water", "quantity": 1}])).await;
    assert_eq!(code, 200, "{receipt}");
    assert_eq!(receipt["outcome"], "paid");
    assert_eq!(receipt["total"], "6.20");
    assert_eq!(receipt["currency"], "EUR");
    assert_eq!(receipt["invoiceReference"], reference.as_str());
    assert_eq!(receipt["rows"][0]["total"], "5.00");

    let invoice = world.mock.invoice(&reference).unwrap();
    assert_eq!(invoice.record.status, InvoiceStatus::Paid);
    let payment = invoice.payment.unwrap();
    assert_eq!(payment.amount, eur("6.20"));
    assert_eq!(receipt["ersReference"], payment.ers_reference.as_str());
    assert_eq!(balance(&world), before - eur("6.20"), "only the vended total is charged");
    assert_eq!(machine(&world, "machine-1").await["state"], "idle");

    // sendInvoice, then (after the notification) getPaymentStatus, then update, commit.
    assert_eq!(calls(&world, &reference), ["sendInvoice", "getPaymentStatus", "updateInvoice", "commitReservation"]);
    let entries = journal(&world, &reference);
    let position = |check: &dyn Fn(&Record) -> bool| entries.iter().position(|e| check(&e.record)).unwrap();
    // (The notification's journal entry is written when its answer is in, which may be
    // after the status fetch it triggered: the confirmation is the ordering point.)
    let confirmed =
        position(&|r| matches!(r, Record::Machine { event: Event::Transition { to: InvoiceStatus::Reserved, .. } }));
    let fetched =
        position(&|r| matches!(r, Record::SoapRequest { operation: Some(op), .. } if op == "getPaymentStatus"));
    assert!(confirmed < fetched, "getPaymentStatus follows the confirmation");
    assert!(entries.iter().any(|e| matches!(e.record, Record::NotificationSent { http_status: Some(200), .. })));
    let send = &request_bodies(&world, &reference, Operation::SendInvoice)[0];
    for expected in ["RESERVATION_REQUIRED", "NO_ACKNOWLEDGMENT", "/seqr/vending/notify/", "<cashierId>machine-1<"] {
        assert!(send.contains(expected), "sendInvoice lacks {expected}: {send}");
    }
    let update = &request_bodies(&world, &reference, Operation::UpdateInvoice)[0];
    assert!(update.contains("<itemSKU>cola</itemSKU>") && update.contains("6.20"), "{update}");
    assert!(request_bodies(&world, &reference, Operation::CommitReservation)[0].contains("6.20"));
}

#[tokio::test]
async fn the_legacy_dialect_and_a_second_purchase_after_the_first_work() {
    let world = World::start("vend-legacy", &[], |_| {}).await;
    let url = format!("{}/seqr/createPurchase", world.reseller_url);
    world.mock.set_create_purchase_url("glase-demo", Some(&url), Some(Dialect::Legacy)).unwrap();
    let first = unlocked_purchase(&world, "machine-2", "10.00").await;
    let (code, receipt) = vend(&world, "machine-2", json!([{"sku": "tea", "quantity": 1}])).await;
    assert_eq!((code, receipt["total"].as_str()), (200, Some("1.50")), "{receipt}");
    let second = unlocked_purchase(&world, "machine-2", "3.00").await;
    assert_ne!(first, second);
    assert_eq!(vend(&world, "machine-2", json!([{"sku": "espresso", "quantity": 1}])).await.0, 200);
    assert_eq!(status(&world, &second), InvoiceStatus::Paid);
}

#[tokio::test]
async fn every_create_purchase_error_code_is_answered_in_its_situation() {
    let world = World::start("vend-errors", &[], |_| {}).await;
    assert_eq!(declined(&scan(&world, "machine-1", "1.00").await), "INSUFFICIENT_FUNDS");
    assert_eq!(declined(&scan(&world, "no-such-machine", "20.00").await), "DEVICE_UNAVAILABLE");

    // Out of service, then back in service.
    let (code, out) = post(&world, "/driver/machines/machine-2/out-of-service", None).await;
    assert_eq!((code, out["state"].as_str()), (200, Some("out-of-service")));
    assert_eq!(declined(&scan(&world, "machine-2", "20.00").await), "DEVICE_UNAVAILABLE");
    assert_eq!(post(&world, "/driver/machines/machine-2/in-service", None).await.0, 200);
    start_purchase(&world, "machine-2", "20.00").await;

    // sendInvoice fails: INVOICING_ERROR, and the machine is free again.
    let rule = fault(FaultTarget::Soap(Some(Operation::SendInvoice)), FaultAction::ResultCode(94), Some(1));
    world.mock.add_fault(rule).unwrap();
    assert_eq!(declined(&scan(&world, "machine-1", "20.00").await), "INVOICING_ERROR");
    assert_eq!(machine(&world, "machine-1").await["state"], "idle");

    // Another customer's purchase is active.
    start_purchase(&world, "machine-1", "20.00").await;
    assert_eq!(declined(&scan(&world, "machine-1", "20.00").await), "DEVICE_IN_USE");

    // Anything else: SYSTEM_ERROR, still HTTP 200 JSON with the documented content type.
    for body in ["{not json", r#"{"token":"machine-2","amount":20.00,"currency":"SEK","msisdn":"1"}"#] {
        let (code, content_type, answer) = raw_create_purchase(&world, body).await;
        assert_eq!((code, content_type.as_str()), (200, "application/json;charset=UTF-8"));
        assert_eq!(answer, json!({"errorCode": "SYSTEM_ERROR"}));
    }
}

#[tokio::test]
async fn the_customer_cancelling_releases_the_machine() {
    let world = World::start("vend-cancel", &[], |_| {}).await;
    let reference = start_purchase(&world, "machine-1", "20.00").await;
    world.mock.cancel(&reference, None).unwrap();
    wait_for_state(&world, "machine-1", "idle").await;
    assert_eq!(status(&world, &reference), InvoiceStatus::Canceled);
    assert_eq!(calls(&world, &reference), ["sendInvoice", "getPaymentStatus"], "no commit, no cancel needed");
    start_purchase(&world, "machine-1", "20.00").await;
}

#[tokio::test]
async fn fetching_the_status_in_time_keeps_the_reservation_past_the_20_second_rule() {
    let world = World::start("vend-in-time", &[], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    sleep(PAST_STATUS_DEADLINE).await;
    let invoice = world.mock.invoice(&reference).unwrap();
    assert_eq!(invoice.record.status, InvoiceStatus::Reserved, "{:?}", invoice.record.history);
    assert_eq!(vend(&world, "machine-1", json!([{"sku": "crisps", "quantity": 1}])).await.0, 200);
}

#[tokio::test]
async fn a_lost_notification_is_covered_by_the_status_poll() {
    let world = World::start("vend-poll", &[], |c| c.vending.status_poll_interval = Duration::from_millis(100)).await;
    world.mock.add_fault(fault(FaultTarget::Notification, FaultAction::DropConnection, None)).unwrap();
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    sleep(PAST_STATUS_DEADLINE).await;
    assert_eq!(status(&world, &reference), InvoiceStatus::Reserved);
}

#[tokio::test]
async fn an_idle_reservation_is_cancelled_and_the_machine_released() {
    let world = World::start("vend-idle", &[], |c| c.vending.idle_timeout = Duration::from_millis(300)).await;
    let before = balance(&world);
    // Confirmed, then nothing chosen.
    let unlocked = unlocked_purchase(&world, "machine-1", "20.00").await;
    // Never confirmed: the customer closed the app.
    let walked = start_purchase(&world, "machine-2", "20.00").await;
    world.mock.walk_away(&walked).unwrap();
    wait_for_state(&world, "machine-1", "idle").await;
    wait_for_state(&world, "machine-2", "idle").await;
    for reference in [&unlocked, &walked] {
        assert_eq!(status(&world, reference), InvoiceStatus::Canceled);
        assert_eq!(count(&world, reference, Operation::CancelInvoice), 1);
    }
    assert_eq!(balance(&world), before, "the reservation went back to the customer");
}

#[tokio::test]
async fn two_customers_racing_for_one_machine_get_one_invoice_and_one_device_in_use() {
    let world = World::start("vend-race", &[], |_| {}).await;
    let (a, b) = tokio::join!(scan(&world, "machine-1", "20.00"), scan(&world, "machine-1", "20.00"));
    let mut codes: Vec<&str> = [&a, &b]
        .into_iter()
        .map(|outcome| match outcome {
            PurchaseOutcome::Accepted { .. } => "accepted",
            other => declined(other),
        })
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, ["DEVICE_IN_USE", "accepted"]);
    assert_eq!(world.mock.invoices(None).len(), 1, "exactly one sendInvoice");
}

#[tokio::test]
async fn the_driver_refuses_what_the_machine_cannot_do() {
    let world = World::start("vend-driver", &[], |_| {}).await;
    let (code, error) = vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await;
    assert_eq!(code, 409, "idle machine: {error}");
    assert!(error["error"].as_str().unwrap().contains("idle"));
    assert_eq!(vend(&world, "nope", json!([])).await.0, 404);
    assert_eq!(
        world.http.get(format!("{}/driver/machines/nope", world.reseller_url)).send().await.unwrap().status(),
        404
    );

    let reference = start_purchase(&world, "machine-1", "5.00").await;
    assert_eq!(vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await.0, 409, "not confirmed yet");
    assert_eq!(post(&world, "/driver/machines/machine-1/out-of-service", None).await.0, 409);
    assert_eq!(post(&world, "/driver/machines/machine-1/in-service", None).await.0, 409);
    confirm(&world, &reference);
    wait_for_state(&world, "machine-1", "unlocked").await;

    assert_eq!(vend(&world, "machine-1", json!([{"sku": "beer", "quantity": 1}])).await.0, 400);
    assert_eq!(vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 0}])).await.0, 400);
    let (code, _) = post(&world, "/driver/machines/machine-1/vend", Some(json!({"item": []}))).await;
    assert_eq!(code, 400);
    let (code, error) = vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 3}])).await;
    assert_eq!(code, 409, "7.50 > 5.00 reserved: {error}");
    assert!(error["error"].as_str().unwrap().contains("choose less"));
    assert_eq!(machine(&world, "machine-1").await["state"], "unlocked");
    let (code, receipt) = vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 2}])).await;
    assert_eq!((code, receipt["total"].as_str()), (200, Some("5.00")));

    let all: Value =
        world.http.get(format!("{}/driver/machines", world.reseller_url)).send().await.unwrap().json().await.unwrap();
    let tokens: Vec<&str> = all["machines"].as_array().unwrap().iter().map(|m| m["token"].as_str().unwrap()).collect();
    assert_eq!(tokens, ["machine-1", "machine-2"]);
    assert_eq!(all["machines"][0]["products"][0], json!({"sku": "cola", "name": "Cola 0.33 l", "price": "2.50"}));
}

#[tokio::test]
async fn choosing_nothing_cancels_the_reservation() {
    let world = World::start("vend-nothing", &[], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let (code, answer) = vend(&world, "machine-1", json!([])).await;
    assert_eq!((code, answer["outcome"].as_str()), (200, Some("canceled")), "{answer}");
    assert_eq!(status(&world, &reference), InvoiceStatus::Canceled);
    assert_eq!(machine(&world, "machine-1").await["state"], "idle");
}

#[tokio::test]
async fn forged_and_early_notifications_unlock_nothing() {
    let world = World::start("vend-forged", &[], |_| {}).await;
    let early = ScanOptions { notify_early: true, ..ScanOptions::default() };
    let reference = match scan_with(&world, "machine-1", "20.00", early).await {
        PurchaseOutcome::Accepted { invoice_reference } => invoice_reference,
        other => panic!("{other:?}"),
    };
    world.mock.send_extra_notification(&reference, ExtraNotification::Forged, None, None).unwrap();
    // Both notifications were answered and checked with getPaymentStatus (ISSUED)…
    wait_until(&world, "two status fetches", || count(&world, &reference, Operation::GetPaymentStatus) >= 2).await;
    // …and the machine waits for the customer's real confirmation.
    assert_eq!(machine(&world, "machine-1").await["state"], "reserved");
    confirm(&world, &reference);
    wait_for_state(&world, "machine-1", "unlocked").await;
}

#[tokio::test]
async fn a_burst_of_notifications_costs_at_most_two_status_fetches() {
    // The poll is slow here: only the notifications ask for the status.
    let world =
        World::start("vend-notify-burst", &[], |c| c.vending.status_poll_interval = Duration::from_secs(60)).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let url = world.mock.invoice(&reference).unwrap().record.invoice.notification_url.unwrap();
    let before = count(&world, &reference, Operation::GetPaymentStatus);
    // Glase answers slowly, so the burst arrives while the first fetch is in flight.
    let slow = FaultAction::Delay(Duration::from_millis(300));
    world.mock.add_fault(fault(FaultTarget::Soap(Some(Operation::GetPaymentStatus)), slow, None)).unwrap();
    let burst = (0..500).map(|_| {
        let (http, url) = (world.http.clone(), url.clone());
        async move { http.post(url).send().await.unwrap().status().as_u16() }
    });
    let answers = concurrently(burst).await;
    assert!(answers.iter().all(|status| *status == 200), "every notification is answered 200");
    // One fetch in flight when the burst came, and one follow-up for all that arrived meanwhile.
    sleep(Duration::from_millis(1500)).await;
    let fetched = count(&world, &reference, Operation::GetPaymentStatus) - before;
    assert!((1..=2).contains(&fetched), "500 notifications led to {fetched} getPaymentStatus calls");
}

/// Runs the futures concurrently (on this task) and collects their outputs in order.
async fn concurrently<T: Send + 'static>(
    futures: impl IntoIterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

#[tokio::test]
async fn a_notification_for_an_unknown_purchase_is_404() {
    let world = World::start("vend-unknown-notify", &[], |_| {}).await;
    for token in ["0123456789abcdef0123456789abcdef", "short"] {
        let url = format!("{}/seqr/vending/notify/{token}", world.reseller_url);
        assert_eq!(world.http.post(url).send().await.unwrap().status(), 404);
    }
}

// ---- deliberately different correct behaviours (configuration) ----

/// The requests of one operation about an invoice, decoded.
fn decoded(world: &World, reference: &str, operation: Operation) -> Vec<Request> {
    request_bodies(world, reference, operation).iter().map(|body| decode_request(body.as_bytes()).unwrap()).collect()
}

/// (SKUs, total) of each updateInvoice about an invoice.
fn updates(world: &World, reference: &str) -> Vec<(Vec<String>, String)> {
    decoded(world, reference, Operation::UpdateInvoice)
        .into_iter()
        .map(|request| {
            let Request::UpdateInvoice(update) = request else { panic!("not an updateInvoice: {request:?}") };
            let invoice = update.invoice.unwrap();
            let skus = invoice.invoice_rows.unwrap_or_default().into_iter().map(|row| row.item_sku.unwrap()).collect();
            (skus, invoice.total_amount.and_then(|total| total.value).unwrap().to_string())
        })
        .collect()
}

/// The `amount` of each commitReservation about an invoice (`None`: no element).
fn commit_amounts(world: &World, reference: &str) -> Vec<Option<String>> {
    decoded(world, reference, Operation::CommitReservation)
        .into_iter()
        .map(|request| {
            let Request::CommitReservation(commit) = request else { panic!("not a commit: {request:?}") };
            commit.amount.and_then(|amount| amount.value).map(|value| value.to_string())
        })
        .collect()
}

const THREE_LINES: &str =
    r#"[{"sku": "cola", "quantity": 2}, {"sku": "water", "quantity": 1}, {"sku": "crisps", "quantity": 1}]"#;

#[tokio::test]
async fn by_default_one_update_carries_every_row_and_the_commit_names_the_amount() {
    let world = World::start("vend-default-wire", &[], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let (code, receipt) = vend(&world, "machine-1", serde_json::from_str(THREE_LINES).unwrap()).await;
    assert_eq!((code, receipt["total"].as_str()), (200, Some("7.95")), "{receipt}");
    let skus = ["cola", "water", "crisps"].map(str::to_owned).to_vec();
    assert_eq!(updates(&world, &reference), [(skus, "7.95".to_owned())]);
    assert_eq!(commit_amounts(&world, &reference), [Some("7.95".to_owned())]);
}

#[tokio::test]
async fn update_per_line_sends_running_totals_then_commits_the_final_one() {
    let world = World::start("vend-update-per-line", &[], |c| c.vending.update_per_line = true).await;
    let before = balance(&world);
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let (code, receipt) = vend(&world, "machine-1", serde_json::from_str(THREE_LINES).unwrap()).await;
    assert_eq!((code, receipt["outcome"].as_str(), receipt["total"].as_str()), (200, Some("paid"), Some("7.95")));
    let skus = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        updates(&world, &reference),
        [
            (skus(&["cola"]), "5.00".to_owned()),
            (skus(&["cola", "water"]), "6.20".to_owned()),
            (skus(&["cola", "water", "crisps"]), "7.95".to_owned()),
        ]
    );
    assert_eq!(results(&world, &reference, Operation::UpdateInvoice), [0, 0, 0]);
    assert_eq!(
        calls(&world, &reference),
        ["sendInvoice", "getPaymentStatus", "updateInvoice", "updateInvoice", "updateInvoice", "commitReservation"]
    );
    assert_eq!(commit_amounts(&world, &reference), [Some("7.95".to_owned())]);
    assert_eq!(balance(&world), before - eur("7.95"));
}

#[tokio::test]
async fn without_commit_amount_glase_commits_the_updated_total() {
    let world = World::start("vend-commit-no-amount", &[], |c| c.vending.commit_amount = false).await;
    let before = balance(&world);
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let (code, receipt) = vend(&world, "machine-1", json!([{"sku": "chocolate", "quantity": 2}])).await;
    assert_eq!((code, receipt["outcome"].as_str(), receipt["total"].as_str()), (200, Some("paid"), Some("4.00")));
    assert_eq!(commit_amounts(&world, &reference), [None], "no amount element");
    assert!(!request_bodies(&world, &reference, Operation::CommitReservation)[0].contains("<amount>"));
    let payment = world.mock.invoice(&reference).unwrap().payment.unwrap();
    assert_eq!((payment.amount, receipt["ersReference"].as_str()), (eur("4.00"), Some(payment.ers_reference.as_str())));
    assert_eq!(balance(&world), before - eur("4.00"));
}

#[tokio::test]
async fn without_commit_amount_a_failed_update_still_commits_only_the_vended_total() {
    let world = World::start("vend-commit-no-amount-update-failed", &[], |c| c.vending.commit_amount = false).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    // Refused for good: the invoice at Glase still totals the whole 20.00 reservation.
    let refused = fault(
        FaultTarget::Soap(Some(Operation::UpdateInvoice)),
        FaultAction::ResultCode(ResultCode::INVALID_INVOICE_DATA.0),
        Some(1),
    );
    world.mock.add_fault(refused).unwrap();
    let (code, receipt) = vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await;
    assert_eq!((code, receipt["outcome"].as_str()), (200, Some("paid")), "{receipt}");
    assert_eq!(results(&world, &reference, Operation::UpdateInvoice), [49]);
    assert_eq!(commit_amounts(&world, &reference), [Some("2.50".to_owned())], "the amount, since the update failed");
    assert_eq!(world.mock.invoice(&reference).unwrap().payment.unwrap().amount, eur("2.50"));
}

// ---- crashes ----

#[tokio::test]
async fn a_reservation_survives_a_crash_and_is_committed_once() {
    let mut world = World::start("vend-crash", &[], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    world.crash_and_restart().await;
    let machine = machine(&world, "machine-1").await;
    assert_eq!(
        (machine["state"].as_str(), machine["invoiceReference"].as_str()),
        (Some("unlocked"), Some(reference.as_str()))
    );
    let (code, receipt) = vend(&world, "machine-1", json!([{"sku": "chocolate", "quantity": 1}])).await;
    assert_eq!(code, 200, "{receipt}");
    assert_eq!(world.mock.invoice(&reference).unwrap().payment.unwrap().amount, eur("2.00"));
    assert_eq!(count(&world, &reference, Operation::CommitReservation), 1);
}

#[tokio::test]
async fn after_a_crash_the_idle_timeout_still_releases_the_machine() {
    let mut world = World::start("vend-crash-idle", &[], |c| c.vending.idle_timeout = Duration::from_millis(400)).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    world.crash_and_restart().await;
    wait_for_state(&world, "machine-1", "idle").await;
    assert_eq!(status(&world, &reference), InvoiceStatus::Canceled);
}

#[tokio::test]
async fn a_crash_during_the_commit_is_finished_without_charging_twice() {
    let mut world = World::start("vend-crash-commit", &[], |_| {}).await;
    let before = balance(&world);
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    // Glase commits, but its answer is late: the reseller dies waiting for it.
    let slow = fault(
        FaultTarget::Soap(Some(Operation::CommitReservation)),
        FaultAction::Delay(Duration::from_secs(5)),
        Some(1),
    );
    world.mock.add_fault(slow).unwrap();
    let (http, url) = (world.http.clone(), format!("{}/driver/machines/machine-1/vend", world.reseller_url));
    let request = json!({"vendId": "m1-0001", "items": [{"sku": "cola", "quantity": 1}]});
    let body = request.clone();
    let pending = tokio::spawn(async move { http.post(url).json(&body).send().await });
    wait_until(&world, "the commit", || count(&world, &reference, Operation::CommitReservation) == 1).await;
    world.crash_and_restart().await;
    // The machine never got its answer: it did not dispense.
    pending.abort();
    // Recovery reads PAID and records it; nothing is committed again.
    wait_for_state(&world, "machine-1", "idle").await;
    assert_eq!(status(&world, &reference), InvoiceStatus::Paid);
    assert_eq!(count(&world, &reference, Operation::CommitReservation), 1);
    assert_eq!(balance(&world), before - eur("2.50"));
    // The machine learns the outcome by the vend id, and dispenses.
    let (code, outcome) = get(&world, "/driver/machines/machine-1/vends/m1-0001").await;
    assert_eq!((code, outcome["state"].as_str(), outcome["total"].as_str()), (200, Some("paid"), Some("2.50")));
    assert_eq!(outcome["invoiceReference"], reference.as_str());
    // Asking again with the same request answers the same, and charges nothing more.
    let (code, again) = post(&world, "/driver/machines/machine-1/vend", Some(request)).await;
    assert_eq!((code, again["outcome"].as_str(), again["vendId"].as_str()), (200, Some("paid"), Some("m1-0001")));
    assert_eq!(count(&world, &reference, Operation::CommitReservation), 1);
}

#[tokio::test]
async fn a_vend_in_doubt_is_resolved_and_its_outcome_read_by_its_vend_id() {
    let world =
        World::start("vend-in-doubt", &[], |c| c.vending.status_poll_interval = Duration::from_millis(200)).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    // Glase commits but the answer is lost, and so is the status asked right after.
    for operation in [Operation::CommitReservation, Operation::GetPaymentStatus] {
        world.mock.add_fault(fault(FaultTarget::Soap(Some(operation)), FaultAction::DropConnection, Some(1))).unwrap();
    }
    let request = json!({"vendId": "m1-0002", "items": [{"sku": "water", "quantity": 1}]});
    let (code, answer) = post(&world, "/driver/machines/machine-1/vend", Some(request.clone())).await;
    assert_eq!((code, answer["state"].as_str(), answer["vendId"].as_str()), (502, Some("pending"), Some("m1-0002")));
    // The background resolves it with getPaymentStatus; the machine reads the outcome.
    let deadline = Instant::now() + Duration::from_secs(3);
    let outcome = loop {
        let (code, outcome) = get(&world, "/driver/machines/machine-1/vends/m1-0002").await;
        assert_eq!(code, 200, "{outcome}");
        if outcome["state"] != "pending" || Instant::now() > deadline {
            break outcome;
        }
        sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((outcome["state"].as_str(), outcome["total"].as_str()), (Some("paid"), Some("1.20")), "{outcome}");
    assert_eq!(
        outcome["ersReference"],
        world.mock.invoice(&reference).unwrap().payment.unwrap().ers_reference.as_str()
    );
    assert_eq!(count(&world, &reference, Operation::CommitReservation), 1);
    let (code, again) = post(&world, "/driver/machines/machine-1/vend", Some(request)).await;
    assert_eq!((code, again["outcome"].as_str()), (200, Some("paid")));
    assert_eq!(count(&world, &reference, Operation::CommitReservation), 1, "never charged twice");
}

#[tokio::test]
async fn a_vend_id_names_one_vend() {
    let world = World::start("vend-ids", &[], |_| {}).await;
    // Without a vend id, the reseller makes one up and answers it.
    unlocked_purchase(&world, "machine-1", "20.00").await;
    let (code, paid) = vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await;
    let made_up = paid["vendId"].as_str().unwrap().to_owned();
    assert_eq!(code, 200);
    let (code, outcome) = get(&world, &format!("/driver/machines/machine-1/vends/{made_up}")).await;
    assert_eq!((code, outcome["state"].as_str()), (200, Some("paid")));
    // Another machine, an unknown id, a malformed id.
    assert_eq!(get(&world, &format!("/driver/machines/machine-2/vends/{made_up}")).await.0, 404);
    assert_eq!(get(&world, "/driver/machines/machine-1/vends/never-seen").await.0, 404);
    let bad = json!({"vendId": "a b", "items": []});
    assert_eq!(post(&world, "/driver/machines/machine-1/vend", Some(bad)).await.0, 400);

    // The same id with another selection is refused, and charges nothing.
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let other = json!({"vendId": made_up, "items": [{"sku": "water", "quantity": 1}]});
    let (code, error) = post(&world, "/driver/machines/machine-1/vend", Some(other)).await;
    assert_eq!(code, 409, "{error}");
    assert!(error["error"].as_str().unwrap().contains("another selection"), "{error}");
    assert_eq!(machine(&world, "machine-1").await["state"], "unlocked");

    // A refused commit is final for its vend id: asking again replays the refusal;
    // choosing again takes a new id.
    let refuse = FaultAction::ResultCode(ResultCode::SYSTEM_ERROR.0);
    world.mock.add_fault(fault(FaultTarget::Soap(Some(Operation::CommitReservation)), refuse, Some(1))).unwrap();
    let first = json!({"vendId": "m1-r1", "items": [{"sku": "water", "quantity": 1}]});
    let (code, refused) = post(&world, "/driver/machines/machine-1/vend", Some(first.clone())).await;
    assert_eq!((code, refused["state"].as_str()), (502, Some("rejected")), "{refused}");
    let (code, replayed) = post(&world, "/driver/machines/machine-1/vend", Some(first)).await;
    assert_eq!((code, replayed["state"].as_str()), (502, Some("rejected")), "{replayed}");
    let second = json!({"vendId": "m1-r2", "items": [{"sku": "water", "quantity": 1}]});
    let (code, paid) = post(&world, "/driver/machines/machine-1/vend", Some(second)).await;
    assert_eq!((code, paid["outcome"].as_str()), (200, Some("paid")), "{paid}");
    assert_eq!(count(&world, &reference, Operation::CommitReservation), 2);
    assert_eq!(world.mock.invoice(&reference).unwrap().payment.unwrap().amount, eur("1.20"));

    // Nothing chosen: cancelled, and the id says so.
    unlocked_purchase(&world, "machine-2", "20.00").await;
    let nothing = json!({"vendId": "m2-0", "items": []});
    let (code, canceled) = post(&world, "/driver/machines/machine-2/vend", Some(nothing.clone())).await;
    assert_eq!((code, canceled["outcome"].as_str()), (200, Some("canceled")));
    assert_eq!(post(&world, "/driver/machines/machine-2/vend", Some(nothing)).await.1["outcome"], "canceled");
    let (_, outcome) = get(&world, "/driver/machines/machine-2/vends/m2-0").await;
    assert_eq!((outcome["state"].as_str(), outcome["total"].as_str()), (Some("canceled"), Some("0.00")));
}

#[tokio::test]
async fn an_unanswered_commit_is_checked_with_the_status_not_repeated() {
    let world = World::start("vend-dropped-commit", &[], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let drop = fault(FaultTarget::Soap(Some(Operation::CommitReservation)), FaultAction::DropConnection, Some(1));
    world.mock.add_fault(drop).unwrap();
    let (code, receipt) = vend(&world, "machine-1", json!([{"sku": "water", "quantity": 2}])).await;
    assert_eq!((code, receipt["outcome"].as_str()), (200, Some("paid")), "{receipt}");
    assert_eq!(count(&world, &reference, Operation::CommitReservation), 1);
    assert_eq!(world.mock.invoice(&reference).unwrap().payment.unwrap().amount, eur("2.40"));
}

#[tokio::test]
async fn a_busy_glase_on_update_is_retried_before_the_commit() {
    let world = World::start("vend-busy-update", &[], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let busy = fault(
        FaultTarget::Soap(Some(Operation::UpdateInvoice)),
        FaultAction::ResultCode(ResultCode::SYSTEM_BUSY.0),
        Some(1),
    );
    world.mock.add_fault(busy).unwrap();
    let (code, receipt) = vend(&world, "machine-1", json!([{"sku": "water", "quantity": 1}])).await;
    assert_eq!((code, receipt["outcome"].as_str()), (200, Some("paid")), "{receipt}");
    assert_eq!(results(&world, &reference, Operation::UpdateInvoice), vec![93, 0]);
    let calls = calls(&world, &reference);
    let last_update = calls.iter().rposition(|c| c == "updateInvoice").unwrap();
    let commit = calls.iter().position(|c| c == "commitReservation").unwrap();
    assert!(last_update < commit, "{calls:?}");
}

// ---- the deliberate faults, each visible from outside ----

#[tokio::test]
async fn fault_skip_status_fetch_gets_the_reservation_reversed() {
    let world = World::start("fault-skip-status", &[Fault::SkipStatusFetch], |_| {}).await;
    let reference = start_purchase(&world, "machine-1", "20.00").await;
    confirm(&world, &reference);
    wait_until(&world, "the reversal", || status(&world, &reference) == InvoiceStatus::Canceled).await;
    let history = world.mock.invoice(&reference).unwrap().record.history;
    assert!(history.iter().any(|h| h.reason.contains("status not fetched")), "{history:?}");
    assert_eq!(count(&world, &reference, Operation::GetPaymentStatus), 0);
    assert_eq!(machine(&world, "machine-1").await["state"], "reserved", "never unlocked");
}

#[tokio::test]
async fn fault_trust_notification_unlocks_on_a_forged_notification() {
    let world = World::start("fault-trust", &[Fault::TrustNotification], |_| {}).await;
    let reference = start_purchase(&world, "machine-1", "20.00").await;
    world.mock.send_extra_notification(&reference, ExtraNotification::Forged, None, None).unwrap();
    wait_for_state(&world, "machine-1", "unlocked").await;
    assert_eq!(status(&world, &reference), InvoiceStatus::Issued, "unlocked while nothing is reserved");
}

#[tokio::test]
async fn fault_commit_more_than_reserved_is_refused_by_glase() {
    let world = World::start("fault-commit-more", &[Fault::CommitMoreThanReserved], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    let (code, _) = vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await;
    assert_eq!(code, 502);
    assert!(request_bodies(&world, &reference, Operation::CommitReservation)[0].contains("21.00"));
    assert_eq!(results(&world, &reference, Operation::CommitReservation), [11], "REJECTED_AMOUNT");
    assert_eq!(status(&world, &reference), InvoiceStatus::Reserved);
}

#[tokio::test]
async fn fault_ignore_device_in_use_starts_a_second_purchase() {
    let world = World::start("fault-in-use", &[Fault::IgnoreDeviceInUse], |_| {}).await;
    let first = start_purchase(&world, "machine-1", "20.00").await;
    let second = start_purchase(&world, "machine-1", "20.00").await;
    assert_ne!(first, second, "two invoices for one machine");
}

#[tokio::test]
async fn fault_no_release_on_cancel_leaves_the_machine_locked() {
    let world = World::start("fault-no-release", &[Fault::NoReleaseOnCancel], |_| {}).await;
    let reference = start_purchase(&world, "machine-1", "20.00").await;
    world.mock.cancel(&reference, None).unwrap();
    wait_until(&world, "the status fetch", || count(&world, &reference, Operation::GetPaymentStatus) == 1).await;
    sleep(Duration::from_millis(100)).await;
    assert_eq!(machine(&world, "machine-1").await["state"], "reserved");
    assert_eq!(declined(&scan(&world, "machine-1", "20.00").await), "DEVICE_IN_USE");
}

#[tokio::test]
async fn fault_wrong_invoice_reference_is_a_protocol_violation() {
    let world = World::start("fault-wrong-ref", &[Fault::WrongInvoiceReference], |_| {}).await;
    match scan(&world, "machine-1", "20.00").await {
        PurchaseOutcome::Violation { violation } => assert!(violation.contains("invoice"), "{violation}"),
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[tokio::test]
async fn fault_skip_update_before_commit_commits_without_an_update() {
    let world = World::start("fault-skip-update", &[Fault::SkipUpdateBeforeCommit], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    assert_eq!(vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await.0, 200);
    assert_eq!(calls(&world, &reference), ["sendInvoice", "getPaymentStatus", "commitReservation"]);
}

#[tokio::test]
async fn fault_rows_not_summing_to_total_is_refused_by_glase() {
    let world = World::start("fault-rows", &[Fault::RowsNotSummingToTotal], |_| {}).await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    assert_eq!(vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await.0, 200);
    assert_eq!(results(&world, &reference, Operation::UpdateInvoice), [49], "INVALID_INVOICE_DATA");
    assert_eq!(status(&world, &reference), InvoiceStatus::Paid);
}

#[tokio::test]
async fn fault_no_idle_cancel_keeps_an_idle_machine_locked() {
    let world =
        World::start("fault-no-idle", &[Fault::NoIdleCancel], |c| c.vending.idle_timeout = Duration::from_millis(200))
            .await;
    let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
    sleep(Duration::from_millis(800)).await;
    assert_eq!(machine(&world, "machine-1").await["state"], "unlocked");
    assert_eq!(count(&world, &reference, Operation::CancelInvoice), 0);
}

#[tokio::test]
async fn fault_immediate_debit_for_unattended_is_a_protocol_violation() {
    let world = World::start("fault-immediate", &[Fault::ImmediateDebitForUnattended], |_| {}).await;
    let outcome = scan(&world, "machine-1", "20.00").await;
    assert!(matches!(outcome, PurchaseOutcome::Violation { .. }), "{outcome:?}");
    let reference = world.mock.invoices(None)[0].reference.clone();
    assert!(request_bodies(&world, &reference, Operation::SendInvoice)[0].contains("IMMEDIATE_DEBIT"));
}

#[tokio::test]
async fn fault_commit_canceled_vends_on_a_cancelled_invoice() {
    let world = World::start("fault-commit-canceled", &[Fault::CommitCanceled], |_| {}).await;
    let reference = start_purchase(&world, "machine-1", "20.00").await;
    world.mock.cancel(&reference, None).unwrap();
    wait_for_state(&world, "machine-1", "unlocked").await;
    let (code, _) = vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await;
    assert_eq!(code, 409);
    assert_eq!(results(&world, &reference, Operation::UpdateInvoice), [95], "INVOICE_ALREADY_CANCELED");
    assert_eq!(results(&world, &reference, Operation::CommitReservation), [96], "INVOICE_STATE_NOT_RESERVED");
}

#[tokio::test]
async fn fault_client_context_quirks_send_a_nonzero_timeout_and_no_client_reference() {
    for faulty in [false, true] {
        let faults: &[Fault] =
            if faulty { &[Fault::NonZeroClientRequestTimeout, Fault::NoClientReference] } else { &[] };
        let world = World::start("fault-client-context", faults, |_| {}).await;
        let reference = start_purchase(&world, "machine-1", "20.00").await;
        let Request::SendInvoice(send) = &decoded(&world, &reference, Operation::SendInvoice)[0] else {
            panic!("not a sendInvoice")
        };
        let context = send.context.clone().unwrap();
        if faulty {
            assert_eq!((context.client_request_timeout, context.client_reference), (Some(30), None));
        } else {
            assert_eq!(context.client_request_timeout, Some(0));
            assert!(context.client_reference.is_some_and(|r| !r.is_empty() && r.len() <= 32));
        }
    }
}

#[tokio::test]
async fn fault_recommit_after_lost_answer_commits_twice_instead_of_asking_the_status() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::RecommitAfterLostAnswer] } else { &[] };
        let world = World::start("fault-recommit", faults, |_| {}).await;
        let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
        // Glase commits, but the answer never arrives.
        let drop = fault(FaultTarget::Soap(Some(Operation::CommitReservation)), FaultAction::DropConnection, Some(1));
        world.mock.add_fault(drop).unwrap();
        let (code, receipt) = vend(&world, "machine-1", json!([{"sku": "cola", "quantity": 1}])).await;
        assert_eq!((code, receipt["outcome"].as_str()), (200, Some("paid")), "{receipt}");
        let after_commit: Vec<String> =
            calls(&world, &reference).into_iter().skip_while(|op| op != "commitReservation").collect();
        if faulty {
            assert_eq!(after_commit[..2], ["commitReservation", "commitReservation"], "{after_commit:?}");
            assert_eq!(results(&world, &reference, Operation::CommitReservation), [0, 96], "the second one refused");
        } else {
            assert_eq!(after_commit, ["commitReservation", "getPaymentStatus"]);
        }
        assert_eq!(world.mock.invoice(&reference).unwrap().payment.unwrap().amount, eur("2.50"), "charged once");
    }
}

#[tokio::test]
async fn fault_empty_vend_stays_reserved_frees_the_machine_without_cancelling_the_invoice() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::EmptyVendStaysReserved] } else { &[] };
        let world = World::start("fault-empty-vend", faults, |_| {}).await;
        let before = balance(&world);
        let reference = unlocked_purchase(&world, "machine-1", "20.00").await;
        let (code, answer) = vend(&world, "machine-1", json!([])).await;
        assert_eq!((code, answer["outcome"].as_str()), (200, Some("canceled")), "{answer}");
        assert_eq!(machine(&world, "machine-1").await["state"], "idle");
        if faulty {
            assert_eq!(count(&world, &reference, Operation::CancelInvoice), 0);
            assert_eq!(status(&world, &reference), InvoiceStatus::Reserved, "the reservation stays at Glase");
            assert_eq!(balance(&world), before - eur("20.00"), "the customer's money stays reserved");
        } else {
            assert_eq!(results(&world, &reference, Operation::CancelInvoice), [0]);
            assert_eq!(status(&world, &reference), InvoiceStatus::Canceled);
            assert_eq!(balance(&world), before);
        }
    }
}

#[tokio::test]
async fn fault_notification_only_never_polls_so_a_lost_notification_gets_the_reservation_reversed() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::NotificationOnly] } else { &[] };
        let world = World::start("fault-notification-only", faults, |c| {
            c.vending.status_poll_interval = Duration::from_millis(100);
        })
        .await;
        // A notification still triggers the status fetch…
        unlocked_purchase(&world, "machine-2", "10.00").await;
        // …but this purchase's notifications are lost.
        world.mock.add_fault(fault(FaultTarget::Notification, FaultAction::DropConnection, None)).unwrap();
        let reference = start_purchase(&world, "machine-1", "20.00").await;
        confirm(&world, &reference);
        if faulty {
            wait_until(&world, "the reversal", || status(&world, &reference) == InvoiceStatus::Canceled).await;
            assert_eq!(count(&world, &reference, Operation::GetPaymentStatus), 0, "never polled");
            assert_eq!(machine(&world, "machine-1").await["state"], "reserved", "never unlocked");
        } else {
            wait_for_state(&world, "machine-1", "unlocked").await;
            sleep(PAST_STATUS_DEADLINE).await;
            assert_eq!(status(&world, &reference), InvoiceStatus::Reserved, "the poll fetched it in time");
        }
    }
}
