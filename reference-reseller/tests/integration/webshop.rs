//! The webshop against a real mock-glase: the shop is driven through its driver API
//! (and its HTML pages), the customer through the mock's library API, and every claim
//! about what reached Glase is checked in the mock's journal.
//!
//! Time: the mock's deadlines are scaled ×0.02 (the 20 s status rule is 400 ms), so the
//! shop polls every 50 ms here (1 s × 0.05 is the same margin as production's 1 s
//! against 20 s).

use std::time::Duration;

use glase_protocol::InvoiceStatus;
use mock_glase::journal::{Entry, Record};
use mock_glase::machine::{Event, FaultAction, FaultRule, FaultTarget};
use mock_glase::mock::ExtraNotification;
use reference_reseller::{Config, Fault};
use serde_json::{Value, json};

use crate::support::{DEADLINE_SCALE, World, element};

const POLL: Duration = Duration::from_millis(50);
/// Glase's status deadline as the scaled mock applies it.
const STATUS_DEADLINE: Duration = Duration::from_millis((20_000.0 * DEADLINE_SCALE) as u64);
/// Longest wait for something that should happen within a few polls.
const PATIENCE: Duration = Duration::from_secs(5);

async fn shop(name: &str, faults: &[Fault], tweak: impl FnOnce(&mut Config)) -> World {
    World::start(name, faults, |config| {
        config.webshop.poll_interval = POLL;
        tweak(config);
    })
    .await
}

async fn post(world: &World, path: &str, body: Value) -> (u16, Value) {
    world.call(reqwest::Method::POST, path, Some(body)).await
}

async fn order(world: &World, id: &str) -> Value {
    let (status, body) = world.call(reqwest::Method::GET, &format!("/driver/shop/orders/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Checks out through the driver; returns (orderId, invoiceReference, the answer).
async fn checkout(world: &World, items: Value) -> (String, String, Value) {
    let (status, body) = post(world, "/driver/shop/checkout", json!({ "items": items })).await;
    assert_eq!(status, 201, "{body}");
    let id = body["orderId"].as_str().unwrap().to_owned();
    let reference = body["invoiceReference"].as_str().unwrap().to_owned();
    (id, reference, body)
}

async fn headphones(world: &World) -> (String, String) {
    let (id, reference, _) = checkout(world, json!([{ "sku": "headphones", "quantity": 1 }])).await;
    (id, reference)
}

async fn wait_for_state(world: &World, id: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let current = order(world, id).await;
        if current["state"] == state {
            return current;
        }
        assert!(tokio::time::Instant::now() < deadline, "order never became {state}: {current}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks out headphones and has the customer pay; returns (orderId, invoiceReference).
async fn paid_order(world: &World) -> (String, String) {
    let (id, reference) = headphones(world).await;
    world.mock.confirm(&reference, None, None).unwrap();
    wait_for_state(world, &id, "paid").await;
    (id, reference)
}

fn is_request(entry: &Entry, op: &str) -> bool {
    matches!(&entry.record, Record::SoapRequest { operation: Some(o), .. } if o == op)
}

/// The SOAP requests of one operation (about one invoice, or all).
fn requests(world: &World, invoice: Option<&str>, op: &str) -> Vec<Entry> {
    world.journal(invoice).into_iter().filter(|e| is_request(e, op)).collect()
}

fn body(entry: &Entry) -> &str {
    match &entry.record {
        Record::SoapRequest { body, .. } | Record::SoapResponse { body, .. } => body,
        _ => "",
    }
}

/// (time, invoiceVersion sent, latest version Glase had returned before) of every
/// getPaymentStatus about the invoice, in journal order.
fn status_calls(world: &World, invoice: &str) -> Vec<(u64, i32, i32)> {
    let mut latest = 0;
    let mut calls = Vec::new();
    for entry in world.journal(Some(invoice)) {
        match &entry.record {
            Record::SoapRequest { operation: Some(o), body, .. } if o == "getPaymentStatus" => {
                let sent = element(body, "invoiceVersion").and_then(|v| v.parse().ok()).unwrap_or(-1);
                calls.push((entry.at.as_millis(), sent, latest));
            }
            Record::SoapResponse { operation: Some(o), body, .. } if o == "getPaymentStatus" => {
                if let Some(version) = element(body, "version").and_then(|v| v.parse().ok()) {
                    latest = version;
                }
            }
            _ => {}
        }
    }
    calls
}

fn status_of(world: &World, reference: &str) -> InvoiceStatus {
    world.mock.invoice(reference).unwrap().record.status
}

#[tokio::test]
async fn a_webshop_payment_is_fetched_stored_and_receipted() {
    let world = shop("webshop-pay", &[], |_| {}).await;
    let items = json!([{ "sku": "headphones", "quantity": 1 }, { "sku": "cable", "quantity": 2 }]);
    let (id, reference, created) = checkout(&world, items).await;
    assert_eq!(created["total"], "169.79");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["qrCode"], format!("HTTP://SEQR.SE/R{reference}"));

    // The invoice as Glase received it.
    let invoice = world.mock.invoice(&reference).unwrap().record.invoice;
    assert_eq!(invoice.payment_mode.map(|m| m.as_str()), Some("IMMEDIATE_DEBIT"));
    assert_eq!(invoice.acknowledgment_mode.map(|m| m.as_str()), Some("NO_ACKNOWLEDGMENT"));
    assert_eq!(invoice.client_invoice_id.as_deref(), Some(id.as_str()));
    assert_eq!(invoice.cashier_id.as_deref(), Some("webshop"));
    assert!(invoice.title.is_some() && invoice.issue_date.is_some());
    assert_eq!(invoice.back_url, Some(format!("{}/shop/orders/{id}", world.reseller_url)));
    let notify = invoice.notification_url.unwrap();
    let token = notify.strip_prefix(&format!("{}/seqr/shop/notify/", world.reseller_url)).unwrap();
    assert!(token.len() == 32 && !token.contains(&id), "an unguessable session token: {token}");
    let rows = invoice.invoice_rows.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].item_sku.as_deref(), Some("cable"));
    assert_eq!(rows[1].item_total_amount.as_ref().and_then(|a| a.value).unwrap().to_string(), "19.80");

    // The shop polls before the customer does anything (certification step 2).
    tokio::time::sleep(POLL * 4).await;
    world.mock.confirm(&reference, None, None).unwrap();
    let paid = wait_for_state(&world, &id, "paid").await;
    let payment = world.mock.invoice(&reference).unwrap().payment.unwrap();
    assert_eq!(paid["ersReference"], payment.ers_reference.as_str());
    assert_eq!(paid["refunded"], "0.00");

    // The receipt: submitted once, as HTML, naming the payment.
    let receipt = world
        .eventually(PATIENCE, || world.mock.invoice(&reference).and_then(|v| v.payment).and_then(|p| p.receipt))
        .await
        .expect("submitPaymentReceipt reached Glase");
    assert_eq!(receipt.mime_type.as_deref(), Some("text/html"));
    let html = String::from_utf8(receipt.receipt_data.unwrap()).unwrap();
    assert!(html.contains(payment.ers_reference.as_str()) && html.contains("169.79"), "{html}");
    assert_eq!(world.result_codes(None, "submitPaymentReceipt"), [Some(0)]);

    // A repeated notification is answered with another getPaymentStatus, which echoes
    // the version the last one returned.
    world.mock.send_extra_notification(&reference, ExtraNotification::Duplicate, None, None).unwrap();
    let calls = world
        .eventually(PATIENCE, || {
            let calls = status_calls(&world, &reference);
            calls.iter().any(|(_, sent, _)| *sent == 1).then_some(calls)
        })
        .await
        .expect("getPaymentStatus after the duplicate notification, with invoiceVersion 1");
    for (at, sent, latest) in &calls {
        assert_eq!(sent, latest, "getPaymentStatus at {at} sent invoiceVersion {sent}, latest was {latest}");
    }
    // Polled at most a second apart from sendInvoice to the payment.
    let sent_at = requests(&world, Some(&reference), "sendInvoice")[0].at.as_millis();
    let paid_at = world
        .journal(Some(&reference))
        .iter()
        .find(|e| matches!(&e.record, Record::Machine { event: Event::PaymentCreated { .. } }))
        .unwrap()
        .at
        .as_millis();
    let mut previous = sent_at;
    for (at, _, _) in calls.iter().filter(|(at, _, _)| *at <= paid_at + 1000) {
        assert!(at - previous <= 1000, "getPaymentStatus calls {}ms apart", at - previous);
        previous = *at;
    }
    assert!(calls.len() >= 3, "polled before the payment too: {calls:?}");

    // Acknowledged in time: the payment is not reversed after the deadline.
    tokio::time::sleep(STATUS_DEADLINE * 2).await;
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Paid);
    assert_eq!(order(&world, &id).await["state"], "paid");
}

#[tokio::test]
async fn a_partial_refund_then_the_rest() {
    let world = shop("webshop-refunds", &[], |_| {}).await;
    let (id, reference) = paid_order(&world).await;
    let path = format!("/driver/shop/orders/{id}/refund");

    let (status, first) = post(&world, &path, json!({ "amount": "50.00" })).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!((&first["refunded"], &first["remaining"]), (&json!("50.00"), &json!("99.99")));
    assert_eq!(first["refund"]["state"], "done");

    // No amount: everything that is left.
    let (status, rest) = post(&world, &path, json!({})).await;
    assert_eq!(status, 201, "{rest}");
    assert_eq!(
        (&rest["refund"]["amount"], &rest["refunded"], &rest["remaining"]),
        (&json!("99.99"), &json!("149.99"), &json!("0.00"))
    );

    let (status, none_left) = post(&world, &path, json!({})).await;
    assert_eq!(status, 409, "{none_left}");

    let payment = world.mock.invoice(&reference).unwrap().payment.unwrap();
    assert_eq!(payment.refunded().to_string(), "149.99");
    let stored = order(&world, &id).await;
    let ours: Vec<&str> =
        stored["refunds"].as_array().unwrap().iter().map(|r| r["ersReference"].as_str().unwrap()).collect();
    let glase: Vec<&str> = payment.refunds.iter().map(|r| r.ers_reference.as_str()).collect();
    assert_eq!(ours, glase, "each refund's ersReference is stored");
    assert_eq!(stored["refunded"], "149.99");
    assert_eq!(requests(&world, None, "refundPayment").len(), 2);
}

#[tokio::test]
async fn a_refund_beyond_the_payment_is_refused_before_it_reaches_glase() {
    let world = shop("webshop-refund-beyond", &[], |_| {}).await;
    let (id, _) = paid_order(&world).await;
    let path = format!("/driver/shop/orders/{id}/refund");
    let (status, refused) = post(&world, &path, json!({ "amount": "150.00" })).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("cannot exceed"), "{refused}");
    assert!(requests(&world, None, "refundPayment").is_empty(), "no refundPayment reached Glase");

    let (status, _) = post(&world, &path, json!({ "amount": "149.99" })).await;
    assert_eq!(status, 201);
    let (status, _) = post(&world, &path, json!({ "amount": "0.01" })).await;
    assert_eq!(status, 409);
    assert_eq!(requests(&world, None, "refundPayment").len(), 1);

    // Nor can an unpaid order be refunded, or a paid one cancelled.
    let (unpaid, _) = headphones(&world).await;
    assert_eq!(post(&world, &format!("/driver/shop/orders/{unpaid}/refund"), json!({})).await.0, 409);
    assert_eq!(post(&world, &format!("/driver/shop/orders/{id}/cancel"), json!({})).await.0, 409);
    assert_eq!(post(&world, "/driver/shop/orders/Wnope/refund", json!({})).await.0, 404);
    assert_eq!(post(&world, &path, json!({ "amount": "-1" })).await.0, 400);
}

#[tokio::test]
async fn an_unpaid_order_is_cancelled_on_request() {
    let world = shop("webshop-cancel", &[], |_| {}).await;
    let (id, reference) = headphones(&world).await;
    let (status, canceled) = post(&world, &format!("/driver/shop/orders/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["state"], "canceled");
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Canceled);
    assert_eq!(world.result_codes(Some(&reference), "cancelInvoice"), [Some(0)]);
    // Cancelling again is answered as it stands, without another call.
    let (status, again) = post(&world, &format!("/driver/shop/orders/{id}/cancel"), json!({})).await;
    assert_eq!((status, &again["state"]), (200, &json!("canceled")));
    assert_eq!(requests(&world, Some(&reference), "cancelInvoice").len(), 1);
}

/// A one-shot injected answer to one SOAP operation.
fn refuse_once(world: &World, operation: glase_protocol::Operation, code: i32) {
    let rule = FaultRule {
        id: 0,
        target: FaultTarget::Soap(Some(operation)),
        terminal: None,
        merchant: None,
        action: FaultAction::ResultCode(code),
        remaining: Some(1),
        probability: None,
        issued_from: None,
        invoice: None,
        customer: None,
    };
    world.mock.add_fault(rule).unwrap();
}

#[tokio::test]
async fn the_driver_answers_glase_refusals_as_documented() {
    use glase_protocol::Operation;
    let world = shop("webshop-driver-refusals", &[], |_| {}).await;

    // A refused sendInvoice: 502 naming the call and Glase's answer; the order is kept,
    // failed, without an invoice (its id is the request's clientInvoiceId).
    refuse_once(&world, Operation::SendInvoice, 94);
    let (status, answer) =
        post(&world, "/driver/shop/checkout", json!({ "items": [{ "sku": "cable", "quantity": 1 }] })).await;
    assert_eq!(status, 502);
    assert_eq!(answer, json!({ "error": "sendInvoice failed: Glase answered resultCode 94 SERVICE_UNAVAILABLE" }));
    let id = element(body(&requests(&world, None, "sendInvoice")[0]), "clientInvoiceId").unwrap();
    let failed = order(&world, &id).await;
    assert_eq!((&failed["state"], &failed["invoiceReference"]), (&json!("failed"), &Value::Null));
    assert_eq!(failed["reason"], "sendInvoice failed: Glase answered resultCode 94 SERVICE_UNAVAILABLE");

    // cancelInvoice answered 54 (Glase does not know the invoice): 200, the order failed.
    let (id, _) = headphones(&world).await;
    refuse_once(&world, Operation::CancelInvoice, 54);
    let (status, answer) = post(&world, &format!("/driver/shop/orders/{id}/cancel"), json!({})).await;
    assert_eq!((status, &answer["state"]), (200, &json!("failed")), "{answer}");
    // cancelInvoice refused otherwise: 502, the order stays pending.
    let (id, _) = headphones(&world).await;
    refuse_once(&world, Operation::CancelInvoice, 90);
    let (status, answer) = post(&world, &format!("/driver/shop/orders/{id}/cancel"), json!({})).await;
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["error"], "cancelInvoice failed: Glase answered resultCode 90 SYSTEM_ERROR");
    assert_eq!(order(&world, &id).await["state"], "pending");

    // A refused markTransactionPeriod: 502.
    refuse_once(&world, Operation::MarkTransactionPeriod, 90);
    let (status, answer) = post(&world, "/driver/shop/close", json!({})).await;
    assert_eq!(
        (status, answer),
        (502, json!({ "error": "markTransactionPeriod failed: Glase answered resultCode 90 SYSTEM_ERROR" }))
    );

    // Bad baskets never reach Glase.
    let sent = requests(&world, None, "sendInvoice").len();
    for (items, error) in [
        (json!([]), "choose at least one product"),
        (json!([{ "sku": "piano", "quantity": 1 }]), "unknown product \"piano\""),
        (json!([{ "sku": "cable", "quantity": 0 }]), "quantity must be at least 1"),
        (json!([{ "sku": "cable", "quantity": 100 }]), "at most 99 of \"cable\" per order"),
    ] {
        let (status, answer) = post(&world, "/driver/shop/checkout", json!({ "items": items })).await;
        assert_eq!((status, answer), (400, json!({ "error": error })));
    }
    assert_eq!(requests(&world, None, "sendInvoice").len(), sent);
}

#[tokio::test]
async fn an_unpaid_order_is_cancelled_after_the_unpaid_timeout() {
    let world = shop("webshop-unpaid-timeout", &[], |c| c.webshop.unpaid_timeout = Duration::from_millis(300)).await;
    let before_checkout = world.mock.now().as_millis();
    let (id, reference) = headphones(&world).await;
    let canceled = wait_for_state(&world, &id, "canceled").await;
    assert!(canceled["reason"].as_str().unwrap().contains("time limit"), "{canceled}");
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Canceled);
    let cancel = requests(&world, Some(&reference), "cancelInvoice");
    assert_eq!(cancel.len(), 1);
    assert!(cancel[0].at.as_millis() - before_checkout >= 300, "cancelled only after the timeout");
}

#[tokio::test]
async fn a_customer_cancel_cancels_the_order() {
    let world = shop("webshop-customer-cancel", &[], |_| {}).await;
    let (id, reference) = headphones(&world).await;
    world.mock.cancel(&reference, None).unwrap();
    let canceled = wait_for_state(&world, &id, "canceled").await;
    assert!(canceled.get("ersReference").is_none());
    assert!(requests(&world, Some(&reference), "cancelInvoice").is_empty());
}

#[tokio::test]
async fn the_poller_saves_the_payment_when_every_notification_is_lost() {
    let world = shop("webshop-no-notifications", &[], |_| {}).await;
    let rule = world
        .http
        .post(format!("{}/control/faults", world.mock_server.base_url()))
        .json(&json!({ "operation": "notification", "dropConnection": true }))
        .send()
        .await
        .unwrap();
    assert!(rule.status().is_success());
    let (id, reference) = headphones(&world).await;
    world.mock.confirm(&reference, None, None).unwrap();
    wait_for_state(&world, &id, "paid").await;
    tokio::time::sleep(STATUS_DEADLINE * 2).await;
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Paid, "not reversed");
    let entries = world.journal(Some(&reference));
    assert!(entries.iter().any(|e| matches!(&e.record,
        Record::NotificationSent { outcome, .. } if outcome.contains("dropped"))));
    assert!(entries.iter().any(|e| matches!(&e.record, Record::Machine { event: Event::StatusAcknowledged { .. } })));
}

#[tokio::test]
async fn a_pending_order_survives_a_crash_and_is_paid_once() {
    let mut world = shop("webshop-crash", &[], |_| {}).await;
    let (id, reference) = headphones(&world).await;
    tokio::time::sleep(POLL * 3).await;
    world.crash_and_restart().await;
    // The notificationUrl names the old address: only polling can save this payment.
    world.mock.confirm(&reference, None, None).unwrap();
    let paid = wait_for_state(&world, &id, "paid").await;
    let ers = paid["ersReference"].as_str().unwrap().to_owned();
    // submitPaymentReceipt names the payment, not the invoice.
    let receipts = |world: &World| -> usize {
        requests(world, None, "submitPaymentReceipt")
            .iter()
            .filter(|e| element(body(e), "ersReference").as_deref() == Some(ers.as_str()))
            .count()
    };
    world.eventually(PATIENCE, || (receipts(&world) > 0).then_some(())).await.expect("the receipt is submitted");

    world.crash_and_restart().await;
    tokio::time::sleep(POLL * 6).await;
    let after = order(&world, &id).await;
    assert_eq!((&after["state"], &after["ersReference"]), (&json!("paid"), &json!(ers)));
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Paid);
    assert_eq!(world.mock.invoice(&reference).unwrap().payment.unwrap().ers_reference, ers, "one payment");
    assert_eq!(receipts(&world), 1, "the receipt is submitted once across restarts");
}

#[tokio::test]
async fn the_html_pages_render_and_the_status_endpoint_follows_the_payment() {
    let world = shop("webshop-pages", &[], |c| {
        c.webshop.products.push(reference_reseller::webshop::Product {
            sku: "tea".to_owned(),
            name: "Tea & <b>biscuits</b>".to_owned(),
            price: "3.50".parse().unwrap(),
        });
    })
    .await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = |path: &str| format!("{}{path}", world.reseller_url);

    let catalogue = browser.get(url("/shop")).send().await.unwrap();
    assert_eq!(catalogue.status(), 200);
    assert!(catalogue.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let catalogue = catalogue.text().await.unwrap();
    assert!(catalogue.contains("action=\"/shop/checkout\"") && catalogue.contains("name=\"qty-headphones\""));
    assert!(catalogue.contains("Tea &amp; &lt;b&gt;biscuits&lt;/b&gt;"), "escaped");

    let form = |body: &'static str| {
        browser.post(url("/shop/checkout")).header("content-type", "application/x-www-form-urlencoded").body(body)
    };
    let checkout = form("qty-headphones=1&qty-cable=&qty-case=0&qty-tea=2").send().await.unwrap();
    assert_eq!(checkout.status(), 303);
    let location = checkout.headers()["location"].to_str().unwrap().to_owned();
    let id = location.strip_prefix("/shop/orders/").unwrap().to_owned();

    let page = browser.get(url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<svg"), "inline QR code");
    assert!(page.contains("href=\"seqr://SEQR.SE/R"), "the app link");
    assert!(page.contains(&format!("/shop/orders/{id}/status")) && page.contains("setTimeout(poll,1000)"));
    assert!(!page.contains("notify"), "the session token stays between the shop and Glase");

    let status: Value = browser.get(url(&format!("{location}/status"))).send().await.unwrap().json().await.unwrap();
    assert_eq!((&status["state"], &status["total"]), (&json!("pending"), &json!("156.99")));
    let reference = status["invoiceReference"].as_str().unwrap().to_owned();

    world.mock.confirm(&reference, None, None).unwrap();
    let paid = wait_for_state(&world, &id, "paid").await;
    let receipt = browser.get(url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(receipt.contains(paid["ersReference"].as_str().unwrap()) && receipt.contains("156.99 EUR"), "{receipt}");
    assert!(!receipt.contains("<script"), "nothing left to poll");

    let refused = form("qty-piano=1").send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("unknown product"));
    assert_eq!(browser.get(url("/shop/orders/Wnope")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn closing_marks_a_transaction_period() {
    let world = shop("webshop-close", &[], |_| {}).await;
    let (status, closed) = post(&world, "/driver/shop/close", json!({})).await;
    assert_eq!(status, 200, "{closed}");
    let period = closed["transactionPeriodId"].as_str().unwrap();
    assert!(period.len() == 25 && period.bytes().all(|b| b.is_ascii_digit()), "{period}");
    assert_eq!(world.result_codes(None, "markTransactionPeriod"), [Some(0)]);
}

#[tokio::test]
async fn notifications_are_never_trusted() {
    let world = shop("webshop-forged", &[], |_| {}).await;
    let (id, reference) = headphones(&world).await;
    let before = status_calls(&world, &reference).len();
    world.mock.send_extra_notification(&reference, ExtraNotification::Forged, None, None).unwrap();
    world.eventually(PATIENCE, || (status_calls(&world, &reference).len() > before).then_some(())).await.unwrap();
    tokio::time::sleep(POLL * 2).await;
    assert_eq!(order(&world, &id).await["state"], "pending", "a forged notification changes nothing");
    let unknown = world.http.post(format!("{}/seqr/shop/notify/not-a-token", world.reseller_url)).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

/// From now on, every notification is lost (the mock never sends it).
fn lose_notifications(world: &World) {
    let rule = FaultRule {
        id: 0,
        target: FaultTarget::Notification,
        terminal: None,
        merchant: None,
        action: FaultAction::DropConnection,
        remaining: None,
        probability: None,
        issued_from: None,
        invoice: None,
        customer: None,
    };
    world.mock.add_fault(rule).unwrap();
}

// ---- deliberately different correct behaviours (configuration) ----

/// When the mock created the invoice's payment (journal time, ms).
fn paid_at(world: &World, reference: &str) -> Option<u64> {
    world
        .journal(Some(reference))
        .iter()
        .find(|e| matches!(&e.record, Record::Machine { event: Event::PaymentCreated { .. } }))
        .map(|e| e.at.as_millis())
}

fn acknowledged(world: &World, reference: &str) -> bool {
    world
        .journal(Some(reference))
        .iter()
        .any(|e| matches!(&e.record, Record::Machine { event: Event::StatusAcknowledged { .. } }))
}

#[tokio::test]
async fn without_a_notification_url_the_order_is_paid_by_polling_alone() {
    let world = shop("webshop-no-notification-url", &[], |c| c.webshop.notification_url = false).await;
    let (id, reference) = headphones(&world).await;
    let send = body(&requests(&world, Some(&reference), "sendInvoice")[0]).to_owned();
    assert!(!send.contains("notificationUrl"), "no notificationUrl element: {send}");
    assert_eq!(world.mock.invoice(&reference).unwrap().record.invoice.notification_url, None);
    assert!(send.contains("<backURL>"), "the backURL is still sent");

    world.mock.confirm(&reference, None, None).unwrap();
    let paid = wait_for_state(&world, &id, "paid").await;
    assert_eq!(paid["ersReference"], world.mock.invoice(&reference).unwrap().payment.unwrap().ers_reference.as_str());
    tokio::time::sleep(STATUS_DEADLINE * 2).await;
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Paid, "acknowledged in time: not reversed");
    assert!(acknowledged(&world, &reference));
    assert!(
        !world.journal(Some(&reference)).iter().any(|e| matches!(&e.record, Record::NotificationSent { .. })),
        "Glase had nowhere to notify"
    );
    // Polled at most poll_interval (50 ms here) apart, with some slack for a busy machine.
    let calls = status_calls(&world, &reference);
    assert!(calls.windows(2).all(|pair| pair[1].0 - pair[0].0 <= 500), "{calls:?}");
}

#[tokio::test]
async fn a_notified_shop_fetches_at_once_and_its_slow_fallback_poll_saves_lost_notifications() {
    let world = shop("webshop-slow-fallback", &[], |c| c.webshop.poll_interval = Duration::from_millis(2500)).await;
    // Glase's 20 s rule at 4 s here: longer than the 2.5 s fallback poll, as 20 s is in
    // production.
    world.mock.set_deadline_scale(0.2).unwrap();

    // Notified: getPaymentStatus follows the payment at once, not at the next poll.
    let (id, reference) = headphones(&world).await;
    world.mock.confirm(&reference, None, None).unwrap();
    wait_for_state(&world, &id, "paid").await;
    let paid = paid_at(&world, &reference).unwrap();
    let fetch = status_calls(&world, &reference).into_iter().map(|(at, _, _)| at).find(|at| *at >= paid).unwrap();
    assert!(fetch - paid < 1000, "getPaymentStatus {} ms after the payment", fetch - paid);
    assert!(acknowledged(&world, &reference));

    // Every notification lost: the fallback poll (every 2.5 s) fetches the payment within
    // Glase's deadline.
    lose_notifications(&world);
    let (id, reference) = headphones(&world).await;
    world.mock.confirm(&reference, None, None).unwrap();
    wait_for_state(&world, &id, "paid").await;
    assert!(acknowledged(&world, &reference), "fetched before Glase's deadline");
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Paid);
    let calls = status_calls(&world, &reference);
    assert!(calls.len() <= 3, "a slow poll, not one every 50 ms: {calls:?}");
}

#[tokio::test]
async fn unpaid_checkouts_do_not_multiply_status_polls_beyond_the_budget() {
    // 20 polls per second at most; 60 unpaid orders polled every 50 ms would be 1 200/s.
    let world = shop("webshop-poll-budget", &[], |c| c.webshop.max_polls_per_second = 20).await;
    let mut orders = Vec::new();
    for _ in 0..60 {
        orders.push(headphones(&world).await.1);
    }
    let window = Duration::from_secs(2);
    let start = world.journal(None).last().unwrap().at.as_millis();
    tokio::time::sleep(window).await;
    let polls: Vec<Entry> = requests(&world, None, "getPaymentStatus")
        .into_iter()
        .filter(|e| (start..start + 2000).contains(&e.at.as_millis()))
        .collect();
    assert!(polls.len() <= 2 * 20 + 5, "{} getPaymentStatus calls in 2 s", polls.len());
    // Fair: every pending order is still polled, round robin (60 orders, 20 a second).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let unpolled: Vec<&String> =
        orders.iter().filter(|r| requests(&world, Some(r.as_str()), "getPaymentStatus").is_empty()).collect();
    assert!(unpolled.is_empty(), "never polled: {unpolled:?}");
    // A payment is still fetched at once: the notification is not rationed.
    let (id, reference) = headphones(&world).await;
    world.mock.confirm(&reference, None, None).unwrap();
    wait_for_state(&world, &id, "paid").await;
    assert!(acknowledged(&world, &reference));
}

#[tokio::test]
async fn a_checkout_whose_caller_hangs_up_still_ends_its_invoice() {
    let world = shop("webshop-hang-up", &[], |c| c.webshop.unpaid_timeout = Duration::from_millis(600)).await;
    // Glase is slow to answer; the browser gives up first and closes the connection.
    let slow = FaultAction::Delay(Duration::from_millis(400));
    let rule = FaultRule {
        id: 0,
        target: FaultTarget::Soap(Some(glase_protocol::Operation::SendInvoice)),
        terminal: None,
        merchant: None,
        action: slow,
        remaining: Some(1),
        probability: None,
        issued_from: None,
        invoice: None,
        customer: None,
    };
    world.mock.add_fault(rule).unwrap();
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let body = json!({ "items": [{ "sku": "cable", "quantity": 1 }] });
    let url = format!("{}/driver/shop/checkout", world.reseller_url);
    assert!(impatient.post(url).json(&body).send().await.is_err(), "the caller hung up");
    // The order is the invoice's clientInvoiceId.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let invoices = world.mock.invoices(None);
    assert_eq!(invoices.len(), 1);
    let (reference, order_id) =
        (invoices[0].reference.to_string(), invoices[0].invoice.client_invoice_id.clone().unwrap());
    // The shop kept the invoice it had asked for, and ends it like any other.
    let canceled = wait_for_state(&world, &order_id, "canceled").await;
    assert_eq!(canceled["invoiceReference"], reference.as_str());
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Canceled);
}

// ---- the deliberate faults, each visible in the mock's journal ----

#[tokio::test]
async fn fault_stale_invoice_version_polls_with_version_zero() {
    let world = shop("webshop-fault-stale-version", &[Fault::StaleInvoiceVersion], |_| {}).await;
    let (_, reference) = paid_order(&world).await;
    world.mock.send_extra_notification(&reference, ExtraNotification::Duplicate, None, None).unwrap();
    let stale = world
        .eventually(PATIENCE, || status_calls(&world, &reference).into_iter().find(|(_, _, latest)| *latest == 1))
        .await
        .expect("a getPaymentStatus after version 1 was returned");
    assert_eq!((stale.1, stale.2), (0, 1), "invoiceVersion 0 although Glase had returned version 1");
}

#[tokio::test]
async fn fault_refund_beyond_payment_asks_glase_for_too_much() {
    let world = shop("webshop-fault-refund-beyond", &[Fault::RefundBeyondPayment], |_| {}).await;
    let (id, _) = paid_order(&world).await;
    let (status, refused) =
        post(&world, &format!("/driver/shop/orders/{id}/refund"), json!({ "amount": "200.00" })).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("98"), "{refused}");
    assert_eq!(world.result_codes(None, "refundPayment"), [Some(98)]);
    assert_eq!(order(&world, &id).await["refunded"], "0.00");
}

#[tokio::test]
async fn fault_skip_status_fetch_lets_glase_reverse_the_payment() {
    let world = shop("webshop-fault-skip-fetch", &[Fault::SkipStatusFetch], |_| {}).await;
    let (id, reference) = headphones(&world).await;
    world.mock.confirm(&reference, None, None).unwrap();
    world
        .eventually(PATIENCE, || (status_of(&world, &reference) == InvoiceStatus::Canceled).then_some(()))
        .await
        .expect("Glase reverses the unacknowledged payment");
    assert!(requests(&world, Some(&reference), "getPaymentStatus").is_empty());
    assert!(
        world
            .journal(Some(&reference))
            .iter()
            .any(|e| matches!(&e.record, Record::NotificationSent { http_status: Some(200), .. })),
        "the notification was answered"
    );
    assert_eq!(order(&world, &id).await["state"], "pending");
}

#[tokio::test]
async fn fault_trust_notification_marks_an_unpaid_order_paid() {
    let world = shop("webshop-fault-trust", &[Fault::TrustNotification], |_| {}).await;
    let (id, reference) = headphones(&world).await;
    world.mock.send_extra_notification(&reference, ExtraNotification::Forged, None, None).unwrap();
    let paid = wait_for_state(&world, &id, "paid").await;
    assert!(paid.get("ersReference").is_none());
    assert_eq!(status_of(&world, &reference), InvoiceStatus::Issued, "Glase has no payment");
}

/// Whether the order's payment was fetched by getPaymentStatus before Glase's deadline
/// (`Some(true)`), reversed because it was not (`Some(false)`), or neither yet.
fn acknowledged_or_reversed(world: &World, reference: &str) -> Option<bool> {
    if acknowledged(world, reference) {
        Some(true)
    } else {
        (status_of(world, reference) == InvoiceStatus::Canceled).then_some(false)
    }
}

#[tokio::test]
async fn fault_notification_only_never_polls_so_a_lost_notification_gets_the_payment_reversed() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::NotificationOnly] } else { &[] };
        let world = shop("webshop-fault-notification-only", faults, |_| {}).await;
        // A notification still triggers the status fetch…
        paid_order(&world).await;
        // …but this order's notifications are lost.
        lose_notifications(&world);
        let (id, reference) = headphones(&world).await;
        world.mock.confirm(&reference, None, None).unwrap();
        let fetched = world.eventually(PATIENCE, || acknowledged_or_reversed(&world, &reference)).await;
        if faulty {
            assert_eq!(fetched, Some(false), "Glase reversed the payment");
            assert!(requests(&world, Some(&reference), "getPaymentStatus").is_empty(), "never polled");
            assert_eq!(order(&world, &id).await["state"], "pending");
        } else {
            assert_eq!(fetched, Some(true));
            wait_for_state(&world, &id, "paid").await;
        }
    }
}

#[tokio::test]
async fn fault_give_up_polling_stops_polling_an_order_a_second_after_checkout() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::GiveUpPolling] } else { &[] };
        let world = shop("webshop-fault-give-up-polling", faults, |_| {}).await;
        // A notification still triggers the status fetch, even after the first second.
        let (notified, reference) = headphones(&world).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        world.mock.confirm(&reference, None, None).unwrap();
        wait_for_state(&world, &notified, "paid").await;

        lose_notifications(&world);
        let (id, reference) = headphones(&world).await;
        let checkout = requests(&world, Some(&reference), "sendInvoice")[0].at.as_millis();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        world.mock.confirm(&reference, None, None).unwrap();
        let fetched = world.eventually(PATIENCE, || acknowledged_or_reversed(&world, &reference)).await;
        let last_poll = status_calls(&world, &reference).last().map(|(at, _, _)| at - checkout);
        if faulty {
            assert_eq!(fetched, Some(false), "Glase reversed the payment");
            assert!(last_poll.is_some_and(|after| after < 1100), "polled only in the first second: {last_poll:?}");
            assert_eq!(order(&world, &id).await["state"], "pending");
        } else {
            assert_eq!(fetched, Some(true));
            assert!(last_poll.is_some_and(|after| after > 1200), "still polled after a second: {last_poll:?}");
            wait_for_state(&world, &id, "paid").await;
        }
    }
}

#[tokio::test]
async fn fault_poll_too_often_polls_twenty_times_per_interval() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::PollTooOften] } else { &[] };
        // The default poll interval, 1 s.
        let world = World::start("webshop-fault-poll-too-often", faults, |_| {}).await;
        let (_, reference) = headphones(&world).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        let calls = status_calls(&world, &reference);
        let closest = calls.windows(2).map(|pair| pair[1].0 - pair[0].0).min();
        if faulty {
            assert!(calls.len() >= 10, "{} getPaymentStatus in 600 ms", calls.len());
            assert!(closest.is_some_and(|gap| gap < 100), "{calls:?}");
        } else {
            assert!(calls.len() <= 2, "{calls:?}");
            assert!(closest.is_none_or(|gap| gap >= 900), "{calls:?}");
        }
    }
}

#[tokio::test]
async fn fault_paid_on_notification_shows_a_forged_notification_as_paid_until_the_status_answers() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::PaidOnNotification] } else { &[] };
        let world = World::start("webshop-fault-paid-on-notification", faults, |_| {}).await;
        let (id, reference) = headphones(&world).await;
        // Every getPaymentStatus answer takes 400 ms: the window in which the shop has
        // only the notification to go on.
        let slow = FaultRule {
            id: 0,
            target: FaultTarget::Soap(Some(glase_protocol::Operation::GetPaymentStatus)),
            terminal: None,
            merchant: None,
            action: FaultAction::Delay(Duration::from_millis(400)),
            remaining: None,
            probability: None,
            issued_from: None,
            invoice: None,
            customer: None,
        };
        world.mock.add_fault(slow).unwrap();
        world.mock.send_extra_notification(&reference, ExtraNotification::Forged, None, None).unwrap();
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
        while tokio::time::Instant::now() < deadline {
            let state = order(&world, &id).await["state"].as_str().unwrap().to_owned();
            if seen.last() != Some(&state) {
                seen.push(state);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if faulty {
            assert_eq!(seen, ["pending", "paid", "pending"], "paid on the notification, corrected by the status");
        } else {
            assert_eq!(seen, ["pending"], "a notification alone changes nothing");
        }
        assert_eq!(status_of(&world, &reference), InvoiceStatus::Issued, "Glase has no payment");
        assert!(!requests(&world, Some(&reference), "getPaymentStatus").is_empty());
    }
}

#[tokio::test]
async fn fault_ignore_cancel_result_cancels_an_order_glase_would_not_cancel() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::IgnoreCancelResult] } else { &[] };
        let world = shop("webshop-fault-ignore-cancel-result", faults, |_| {}).await;
        let (id, reference) = headphones(&world).await;
        // The customer has the invoice open in the app, about to enter the PIN.
        world.mock.scan(&format!("HTTP://SEQR.SE/R{reference}"), None).unwrap();
        let (status, answer) = post(&world, &format!("/driver/shop/orders/{id}/cancel"), json!({})).await;
        assert_eq!(world.result_codes(Some(&reference), "cancelInvoice"), [Some(51)]);
        assert_eq!(status_of(&world, &reference), InvoiceStatus::Issued, "Glase did not cancel");
        if faulty {
            assert_eq!((status, &answer["state"]), (200, &json!("canceled")), "{answer}");
            // The customer pays: Glase has the money, the shop a canceled order.
            world.mock.confirm(&reference, None, None).unwrap();
            world.eventually(PATIENCE, || acknowledged(&world, &reference).then_some(())).await.unwrap();
            assert_eq!(status_of(&world, &reference), InvoiceStatus::Paid);
            assert_eq!(order(&world, &id).await["state"], "canceled");
        } else {
            assert_eq!(status, 409, "{answer}");
            assert!(answer["error"].as_str().unwrap().contains("confirming"), "{answer}");
            assert_eq!(order(&world, &id).await["state"], "pending");
        }
    }
}

#[tokio::test]
async fn fault_cancel_paid_order_asks_glase_to_cancel_a_paid_order() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::CancelPaidOrder] } else { &[] };
        let world = shop("webshop-fault-cancel-paid", faults, |_| {}).await;
        let (id, reference) = paid_order(&world).await;
        let (status, answer) = post(&world, &format!("/driver/shop/orders/{id}/cancel"), json!({})).await;
        assert_eq!(status, 409, "refused either way: {answer}");
        if faulty {
            assert_eq!(world.result_codes(Some(&reference), "cancelInvoice"), [Some(50)], "CANNOT_CANCEL_PAID_INVOICE");
        } else {
            assert!(answer["error"].as_str().unwrap().contains("refund it instead"), "{answer}");
            assert!(requests(&world, Some(&reference), "cancelInvoice").is_empty(), "Glase is not asked");
        }
        assert_eq!(order(&world, &id).await["state"], "paid");
        assert_eq!(status_of(&world, &reference), InvoiceStatus::Paid);
    }
}

#[tokio::test]
async fn fault_resend_invoice_on_lost_answer_sends_a_second_invoice_for_the_order() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::ResendInvoiceOnLostAnswer] } else { &[] };
        let world = shop("webshop-fault-resend-invoice", faults, |_| {}).await;
        // Glase creates the invoice, but its answer is lost.
        let lost = FaultRule {
            id: 0,
            target: FaultTarget::Soap(Some(glase_protocol::Operation::SendInvoice)),
            terminal: None,
            merchant: None,
            action: FaultAction::DropConnection,
            remaining: Some(1),
            probability: None,
            issued_from: None,
            invoice: None,
            customer: None,
        };
        world.mock.add_fault(lost).unwrap();
        let (status, answer) =
            post(&world, "/driver/shop/checkout", json!({ "items": [{ "sku": "cable", "quantity": 1 }] })).await;
        let mut invoices = world.mock.invoices(None);
        invoices.sort_by_key(|invoice| (invoice.reference.len(), invoice.reference.clone()));
        // The order's id is the invoices' clientInvoiceId.
        let id = invoices[0].invoice.client_invoice_id.clone().unwrap();
        if faulty {
            assert_eq!(status, 201, "{answer}");
            assert_eq!(requests(&world, None, "sendInvoice").len(), 2);
            assert_eq!(invoices.len(), 2, "two invoices for one order");
            assert_eq!(invoices[1].invoice.client_invoice_id.as_deref(), Some(id.as_str()));
            assert_eq!(answer["invoiceReference"], invoices[1].reference.as_str(), "the second one is used");
            assert_eq!(order(&world, &id).await["state"], "pending");
        } else {
            assert_eq!(status, 502, "{answer}");
            assert!(answer["error"].as_str().unwrap().starts_with("sendInvoice failed: "), "{answer}");
            assert_eq!((requests(&world, None, "sendInvoice").len(), invoices.len()), (1, 1));
            let failed = order(&world, &id).await;
            assert_eq!((&failed["state"], &failed["invoiceReference"]), (&json!("failed"), &Value::Null), "{failed}");
            assert!(failed["reason"].as_str().unwrap().starts_with("sendInvoice failed: "), "{failed}");
        }
    }
}

#[tokio::test]
async fn fault_refund_unpaid_order_calls_refund_payment_for_a_canceled_order() {
    for faulty in [false, true] {
        let faults: &[Fault] = if faulty { &[Fault::RefundUnpaidOrder] } else { &[] };
        let world = shop("webshop-fault-refund-unpaid", faults, |_| {}).await;
        let (id, _) = headphones(&world).await;
        assert_eq!(post(&world, &format!("/driver/shop/orders/{id}/cancel"), json!({})).await.0, 200);
        let (status, answer) = post(&world, &format!("/driver/shop/orders/{id}/refund"), json!({})).await;
        if faulty {
            // Glase's refusal is reported as usual: a Glase error, the refund rejected.
            assert_eq!(status, 502, "{answer}");
            assert!(answer["error"].as_str().unwrap().contains("23 INVALID_ERS_REFERENCE"), "{answer}");
            let refund = &requests(&world, None, "refundPayment")[0];
            assert!(matches!(element(body(refund), "ersReference").as_deref(), None | Some("")), "{}", body(refund));
            assert_eq!(world.result_codes(None, "refundPayment"), [Some(23)]);
            let refunds = order(&world, &id).await["refunds"].clone();
            assert_eq!((&refunds[0]["amount"], &refunds[0]["state"]), (&json!("149.99"), &json!("rejected")));
        } else {
            assert_eq!(status, 409, "{answer}");
            assert!(answer["error"].as_str().unwrap().contains("only a paid order can be refunded"), "{answer}");
            assert!(requests(&world, None, "refundPayment").is_empty(), "Glase is not asked");
        }
    }
}
