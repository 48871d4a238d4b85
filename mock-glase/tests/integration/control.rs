//! End-to-end tests of the control surface (spec sections 4 and 6) through real sockets:
//! the mock on 127.0.0.1:0, SOAP and the control API over reqwest, merchant endpoints as
//! small axum servers. Every test also checks what the journal says happened.
#![allow(clippy::unwrap_used)] // test code: a failed setup or assertion should panic loudly

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glase_protocol::request::{CancelInvoice, GetPaymentStatus, MarkTransactionPeriod, SendInvoice};
use glase_protocol::{
    Amount, ClientContext, Decimal, FaultCode, Invoice, InvoiceRow, PaymentMode, PrincipalId, Reply, Request,
    ResponseDetail, decode_reply, encode_request,
};
use mock_glase::server::{RunningServer, spawn};
use mock_glase::{Clock, Config, ManualClock, Mock, OffsetClock, SystemClock, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

// ---- principals ----

#[derive(Debug, Clone, Copy)]
struct Till {
    id: &'static str,
    password: &'static str,
}

const DEMO: Till = Till { id: "demo-terminal", password: "demo1234" };
/// A second terminal of the demo merchant, created through the control API.
const TILL_2: Till = Till { id: "till-2", password: "till2pass" };
/// A terminal of a second merchant (`merchant-b`), created through the control API.
const TILL_B: Till = Till { id: "till-b", password: "tillb-pass" };
const MERCHANT_B: &str = "merchant-b";

fn terminal_context(till: Till) -> Option<ClientContext> {
    Some(ClientContext {
        channel: Some("WS".into()),
        client_id: Some("control-tests".into()),
        client_reference: Some("control-1".into()),
        client_request_timeout: Some(0),
        initiator_principal_id: Some(PrincipalId {
            id: Some(till.id.into()),
            kind: Some("TERMINALID".into()),
            user_id: None,
        }),
        password: Some(till.password.into()),
        ..ClientContext::default()
    })
}

fn reseller_b_context() -> Option<ClientContext> {
    Some(ClientContext {
        channel: Some("WS".into()),
        client_id: Some("control-tests".into()),
        client_reference: Some("control-1".into()),
        client_request_timeout: Some(0),
        initiator_principal_id: Some(PrincipalId {
            id: Some("shop-b".into()),
            kind: Some("RESELLERUSER".into()),
            user_id: Some("7700".into()),
        }),
        password: Some("shopb-pass".into()),
        ..ClientContext::default()
    })
}

fn send_invoice(till: Till, total: &str, notification_url: Option<&str>) -> Request {
    let amount = Some(Amount::new(total.parse::<Decimal>().unwrap(), "EUR"));
    Request::SendInvoice(SendInvoice {
        context: terminal_context(till),
        invoice: Some(Invoice {
            payment_mode: Some(PaymentMode::ImmediateDebit),
            title: Some("Control test".into()),
            invoice_rows: Some(vec![InvoiceRow {
                item_description: Some("Coffee".into()),
                item_quantity: Some(Decimal::ONE),
                item_total_amount: amount.clone(),
                ..InvoiceRow::default()
            }]),
            total_amount: amount,
            notification_url: notification_url.map(str::to_owned),
            ..Invoice::default()
        }),
        tokens: Vec::new(),
    })
}

fn get_status(till: Till, reference: &str) -> Request {
    Request::GetPaymentStatus(GetPaymentStatus {
        context: terminal_context(till),
        invoice_reference: Some(reference.to_owned()),
        invoice_version: Some(0),
    })
}

fn cancel_invoice(till: Till, reference: &str) -> Request {
    Request::CancelInvoice(CancelInvoice {
        context: terminal_context(till),
        invoice_reference: Some(reference.to_owned()),
    })
}

fn result_code(reply: &Reply) -> i32 {
    match reply {
        Reply::Response(response) => response.result_code.0,
        Reply::Fault(fault) => panic!("expected a response, got the fault {fault:?}"),
    }
}

fn decode(text: &str) -> Reply {
    decode_reply(text.as_bytes()).unwrap_or_else(|e| panic!("not a SOAP answer ({e}): {text}"))
}

// ---- the harness ----

struct Harness {
    server: RunningServer,
    http: reqwest::Client,
}

/// The mock as it runs by default: wall-clock time that the control API can move ahead.
async fn start() -> Harness {
    start_with(Config::default(), Arc::new(OffsetClock::new())).await
}

async fn start_with(config: Config, clock: Arc<dyn Clock>) -> Harness {
    let mock = Mock::new(&config, clock).expect("valid config");
    let server = spawn("127.0.0.1:0".parse().unwrap(), mock).await.expect("bind loopback");
    // Also installs the rustls provider reqwest is built without.
    let http = mock_glase::outbound::http_client(Duration::from_secs(10)).unwrap();
    Harness { server, http }
}

/// A configuration with a fast notification retry policy.
fn fast_retries(attempts: u32) -> Config {
    let mut config = Config::default();
    config.notifications.attempts = attempts;
    config.notifications.retry_delay = Duration::from_millis(20);
    config.notifications.timeout = Duration::from_secs(2);
    config
}

impl Harness {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// One SOAP call; `Err` when the transport failed (no complete answer).
    async fn soap_raw(&self, request: &Request) -> Result<(u16, String), reqwest::Error> {
        let mut body = Vec::new();
        encode_request(request, &mut body);
        let response = self
            .http
            .post(self.server.soap_url())
            .header("content-type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    async fn soap(&self, request: &Request) -> (u16, Reply) {
        let (status, text) = self.soap_raw(request).await.expect("the mock answers");
        (status, decode(&text))
    }

    async fn code(&self, request: &Request) -> i32 {
        let (status, reply) = self.soap(request).await;
        assert_eq!(status, 200);
        result_code(&reply)
    }

    async fn issue(&self, till: Till, total: &str, notification_url: Option<&str>) -> String {
        match self.soap(&send_invoice(till, total, notification_url)).await {
            (200, Reply::Response(r)) => match r.detail {
                ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
                other => panic!("unexpected sendInvoice answer {other:?} ({})", r.result_code),
            },
            other => panic!("sendInvoice failed: {other:?}"),
        }
    }

    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(&format!("/control{path}")));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the control API answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn add_fault(&self, body: Value) -> u64 {
        let (status, answer) = self.control(Method::POST, "/faults", Some(body.clone())).await;
        assert_eq!(status, 201, "{body} → {answer}");
        answer["id"].as_u64().unwrap()
    }

    async fn confirm(&self, reference: &str) -> Value {
        let (status, body) =
            self.control(Method::POST, "/customer/confirm", Some(json!({"invoiceReference": reference}))).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn invoice(&self, reference: &str) -> Value {
        let (status, body) = self.control(Method::GET, &format!("/invoices/{reference}"), None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn invoice_count(&self) -> usize {
        let (status, body) = self.control(Method::GET, "/invoices", None).await;
        assert_eq!(status, 200);
        body.as_array().unwrap().len()
    }

    async fn balance(&self) -> Decimal {
        let (_, body) = self.control(Method::GET, "/customers/483344323423", None).await;
        body["balance"].as_str().unwrap().parse().unwrap()
    }

    /// `GET /control/journal?<query>`: the entries.
    async fn journal(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.control(Method::GET, &format!("/journal?{query}"), None).await;
        assert_eq!(status, 200, "{body}");
        body["entries"].as_array().unwrap().clone()
    }

    async fn last_seq(&self) -> u64 {
        let (_, body) = self.control(Method::GET, "/journal?limit=0", None).await;
        body["lastSeq"].as_u64().unwrap()
    }

    /// Polls the journal until `done` holds (things like notifications are journaled
    /// from background tasks); panics after `timeout`.
    /// The invoice's journal once its `confirmed` notification was tried (`last`: until
    /// its last attempt), waiting at most 3 s.
    async fn confirmed_notification(&self, reference: &str, last: bool) -> Vec<Value> {
        self.journal_until(&format!("invoice={reference}"), Duration::from_secs(3), |e| {
            let sent = notifications(e, "confirmed");
            if last { sent.iter().any(|n| n["lastAttempt"] == true) } else { !sent.is_empty() }
        })
        .await
    }

    async fn journal_until(&self, query: &str, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let entries = self.journal(query).await;
            if done(&entries) {
                return entries;
            }
            assert!(start.elapsed() < timeout, "journal ?{query} never got there: {entries:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A second terminal of the demo merchant.
    async fn add_till_2(&self) {
        let body = json!({"id": TILL_2.id, "password": TILL_2.password, "reseller": "glase-demo"});
        let (status, answer) = self.control(Method::POST, "/terminals", Some(body)).await;
        assert_eq!(status, 201, "{answer}");
    }

    /// A second merchant (`merchant-b`, reseller `shop-b`) with one terminal.
    async fn add_merchant_b(&self) {
        let reseller = json!({
            "id": "shop-b", "user_id": "7700", "password": "shopb-pass", "merchant_id": MERCHANT_B, "currency": "EUR",
        });
        let (status, answer) = self.control(Method::POST, "/resellers", Some(reseller)).await;
        assert_eq!(status, 201, "{answer}");
        let terminal = json!({"id": TILL_B.id, "password": TILL_B.password, "reseller": "shop-b"});
        let (status, answer) = self.control(Method::POST, "/terminals", Some(terminal)).await;
        assert_eq!(status, 201, "{answer}");
    }
}

// ---- journal predicates ----

fn is_machine_event(entry: &Value, event: &str) -> bool {
    entry["kind"] == "machine" && entry["event"]["type"] == event
}

/// The machine events of a type, each as its entry's tags (`seq`, `at`, `merchant`, …)
/// merged with the nested event's fields.
fn machine_events(entries: &[Value], event: &str) -> Vec<Value> {
    entries
        .iter()
        .filter(|e| is_machine_event(e, event))
        .map(|e| {
            let mut merged = e.as_object().unwrap().clone();
            for (key, value) in e["event"].as_object().unwrap() {
                merged.insert(key.clone(), value.clone());
            }
            Value::Object(merged)
        })
        .collect()
}

fn fault_events(entries: &[Value]) -> Vec<Value> {
    machine_events(entries, "faultInjected")
}

fn notifications<'a>(entries: &'a [Value], reason: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == "notificationSent" && e["reason"] == reason).collect()
}

fn transitions(entries: &[Value]) -> Vec<Value> {
    machine_events(entries, "transition")
}

fn soap_responses<'a>(entries: &'a [Value], operation: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == "soapResponse" && e["operation"] == operation).collect()
}

// ---- a merchant endpoint ----

/// A merchant's notification endpoint: answers the scripted statuses in turn, then
/// `then` for ever, and records when each POST came.
#[derive(Debug, Clone)]
struct Sink {
    url: String,
    hits: Arc<Mutex<Vec<Instant>>>,
}

impl Sink {
    async fn start(script: Vec<u16>, then: u16) -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let recorded = hits.clone();
        let app = axum::Router::new().route(
            "/notify",
            axum::routing::post(move || {
                let hits = recorded.clone();
                let script = script.clone();
                async move {
                    let mut hits = hits.lock().unwrap();
                    let status = script.get(hits.len()).copied().unwrap_or(then);
                    hits.push(Instant::now());
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, hits }
    }

    async fn ok() -> Self {
        Self::start(Vec::new(), 200).await
    }

    fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }

    fn hit(&self, index: usize) -> Instant {
        self.hits.lock().unwrap()[index]
    }

    /// Waits until at least `n` POSTs arrived.
    async fn wait_for(&self, n: usize, timeout: Duration) {
        let start = Instant::now();
        while self.count() < n {
            assert!(start.elapsed() < timeout, "expected {n} notifications, got {}", self.count());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

// =====================================================================================
// 1. Fault injection on SOAP
// =====================================================================================

#[tokio::test]
async fn a_result_code_fault_hits_exactly_the_next_n_calls_and_each_is_journaled() {
    let h = start().await;
    let id = h.add_fault(json!({"operation": "sendInvoice", "resultCode": 93, "times": 2})).await;
    let (_, listed) = h.control(Method::GET, "/faults", None).await;
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["remaining"], 2);

    let since = h.last_seq().await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(h.code(&send_invoice(DEMO, "5.00", None)).await);
    }
    assert_eq!(codes, vec![93, 93, 0, 0], "exactly the first two calls are faulted");
    assert_eq!(h.invoice_count().await, 2, "faulted calls created nothing");
    let (_, listed) = h.control(Method::GET, "/faults", None).await;
    assert_eq!(listed, json!([]), "a spent rule is removed");
    // Another operation was never affected.
    let reference = h.issue(DEMO, "1.00", None).await;
    assert_eq!(h.code(&get_status(DEMO, &reference)).await, 0);

    let entries = h.journal(&format!("after={since}")).await;
    let faults = fault_events(&entries);
    assert_eq!(faults.len(), 2, "{entries:#?}");
    for fault in &faults {
        assert_eq!(fault["target"], "sendInvoice");
        assert_eq!(fault["fault"], "resultCode 93 SYSTEM_BUSY");
        assert_eq!(fault["terminal"], DEMO.id);
        assert_eq!(fault["merchant"], "glase-demo");
    }
    let codes: Vec<&Value> = soap_responses(&entries, "sendInvoice").iter().map(|e| &e["resultCode"]).collect();
    assert_eq!(codes, vec![&json!(93), &json!(93), &json!(0), &json!(0), &json!(0)]);
    // Each fault is journaled between its request and its response.
    let first = entries.iter().position(|e| is_machine_event(e, "faultInjected")).unwrap();
    assert_eq!(entries[first - 1]["kind"], "soapRequest");
    assert_eq!(entries[first + 1]["kind"], "soapResponse");
    // The rule itself was journaled as a control action.
    let added = h.journal("").await;
    assert!(added.iter().any(|e| e["kind"] == "control" && e["action"] == "addFault"), "{added:#?}");
}

#[tokio::test]
async fn a_terminal_scoped_fault_leaves_the_other_terminal_alone() {
    let h = start().await;
    h.add_till_2().await;
    h.add_fault(json!({"operation": "*", "terminal": TILL_2.id, "resultCode": 94})).await;
    for _ in 0..3 {
        assert_eq!(h.code(&send_invoice(TILL_2, "2.00", None)).await, 94);
    }
    let reference = h.issue(DEMO, "2.00", None).await;
    assert_eq!(h.code(&get_status(DEMO, &reference)).await, 0);
    assert_eq!(h.code(&cancel_invoice(DEMO, &reference)).await, 0);

    let faults = h.journal("").await;
    let faults = fault_events(&faults);
    assert_eq!(faults.len(), 3);
    assert!(faults.iter().all(|f| f["terminal"] == TILL_2.id && f["fault"] == "resultCode 94 SERVICE_UNAVAILABLE"));
    assert!(h.journal(&format!("terminal={}", DEMO.id)).await.iter().all(|e| !is_machine_event(e, "faultInjected")));
}

#[tokio::test]
async fn a_merchant_scoped_fault_leaves_the_other_merchant_alone() {
    let h = start().await;
    h.add_merchant_b().await;
    h.add_fault(json!({"operation": "sendInvoice", "merchant": MERCHANT_B, "resultCode": 90})).await;
    for _ in 0..2 {
        assert_eq!(h.code(&send_invoice(TILL_B, "3.00", None)).await, 90);
        h.issue(DEMO, "3.00", None).await;
    }
    assert_eq!(h.invoice_count().await, 2);
    let b = h.journal(&format!("merchant={MERCHANT_B}")).await;
    let faults = fault_events(&b);
    assert_eq!(faults.len(), 2, "{b:#?}");
    assert!(faults.iter().all(|f| f["terminal"] == TILL_B.id && f["fault"] == "resultCode 90 SYSTEM_ERROR"));
    assert!(fault_events(&h.journal("merchant=glase-demo").await).is_empty());
}

#[tokio::test]
async fn a_soap_fault_rule_answers_http_500_with_a_server_fault() {
    let h = start().await;
    let reference = h.issue(DEMO, "4.00", None).await;
    h.add_fault(json!({"operation": "getPaymentStatus", "soapFault": "bank is on fire", "times": 1})).await;
    let (status, reply) = h.soap(&get_status(DEMO, &reference)).await;
    assert_eq!(status, 500);
    let Reply::Fault(fault) = reply else { panic!("expected a fault, got {reply:?}") };
    assert_eq!(fault.code, FaultCode::Server);
    assert_eq!(fault.string, "bank is on fire");
    assert_eq!(h.code(&get_status(DEMO, &reference)).await, 0, "one call only");

    let entries = h.journal(&format!("terminal={}", DEMO.id)).await;
    let faults = fault_events(&entries);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0]["target"], "getPaymentStatus");
    assert_eq!(faults[0]["fault"], "SOAP fault \"bank is on fire\"");
    let answers = soap_responses(&entries, "getPaymentStatus");
    assert_eq!(answers[0]["httpStatus"], 500);
    assert_eq!(answers[0]["fault"], "bank is on fire");
    assert_eq!(answers[1]["httpStatus"], 200);
}

#[tokio::test]
async fn an_http_status_rule_answers_503() {
    let h = start().await;
    h.add_fault(json!({"operation": "sendInvoice", "httpStatus": 503, "times": 1})).await;
    let (status, _) = h.soap_raw(&send_invoice(DEMO, "4.00", None)).await.unwrap();
    assert_eq!(status, 503);
    assert_eq!(h.invoice_count().await, 0, "Glase failed before it looked at the request");
    h.issue(DEMO, "4.00", None).await;
    let faults = h.journal("").await;
    let faults = fault_events(&faults);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0]["target"], "sendInvoice");
    assert_eq!(faults[0]["fault"], "HTTP 503");
}

#[tokio::test]
async fn an_http_status_fault_is_journaled_with_the_status_actually_sent() {
    let h = start().await;
    h.add_fault(json!({"operation": "sendInvoice", "httpStatus": 503, "times": 1})).await;
    let (status, _) = h.soap_raw(&send_invoice(DEMO, "4.00", None)).await.unwrap();
    assert_eq!(status, 503);
    let entries = h.journal("").await;
    let answers = soap_responses(&entries, "sendInvoice");
    assert_eq!(answers[0]["httpStatus"], 503, "the journal must show what the merchant got: {:#?}", answers[0]);
}

#[tokio::test]
async fn a_delay_rule_answers_late_but_the_request_is_processed_at_once() {
    let h = start().await;
    h.add_fault(json!({"operation": "sendInvoice", "delay": "400ms", "times": 1})).await;
    let started = Instant::now();
    let call = {
        let (http, url) = (h.http.clone(), h.server.soap_url());
        let mut body = Vec::new();
        encode_request(&send_invoice(DEMO, "6.00", None), &mut body);
        tokio::spawn(async move { http.post(url).body(body).send().await.unwrap().text().await.unwrap() })
    };
    // While the merchant still waits, Glase already holds the invoice.
    let start = Instant::now();
    while h.invoice_count().await == 0 {
        assert!(start.elapsed() < Duration::from_secs(2), "the delayed sendInvoice created no invoice");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!call.is_finished(), "the answer came before the delay was over");
    let text = call.await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(400), "answered after {elapsed:?}");
    assert_eq!(result_code(&decode(&text)), 0);
    let (_, invoices) = h.control(Method::GET, "/invoices", None).await;
    assert_eq!(invoices.as_array().unwrap().len(), 1);
    assert_eq!(invoices[0]["status"], "ISSUED");
    // The next call is not delayed.
    let started = Instant::now();
    h.issue(DEMO, "6.00", None).await;
    assert!(started.elapsed() < Duration::from_millis(400));

    let faults = h.journal("").await;
    let faults = fault_events(&faults);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0]["fault"], "delay 400ms");
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_but_the_request_was_processed() {
    let h = start().await;
    h.add_fault(json!({"operation": "sendInvoice", "dropConnection": true, "times": 1})).await;
    let result = h.soap_raw(&send_invoice(DEMO, "7.00", None)).await;
    let error = result.expect_err("expected a transport error, not an answer");
    assert!(error.is_request() && error.status().is_none(), "no status line may arrive: {error:?}");
    let (_, invoices) = h.control(Method::GET, "/invoices", None).await;
    assert_eq!(invoices.as_array().unwrap().len(), 1, "Glase acted on the request: {invoices}");
    assert_eq!(invoices[0]["status"], "ISSUED");
    // The mock keeps serving on new connections.
    h.issue(DEMO, "7.00", None).await;
    let entries = h.journal("").await;
    let faults = fault_events(&entries);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0]["target"], "sendInvoice");
    assert_eq!(faults[0]["fault"], "dropped connection");
    assert!(entries.iter().any(|e| is_machine_event(e, "invoiceIssued") && e["invoice"] == invoices[0]["reference"]));
}

#[tokio::test]
async fn a_dropped_answer_is_not_journaled_as_delivered() {
    let h = start().await;
    h.add_fault(json!({"operation": "sendInvoice", "dropConnection": true, "times": 1})).await;
    assert!(h.soap_raw(&send_invoice(DEMO, "7.00", None)).await.is_err());
    let entries = h.journal("").await;
    for answer in soap_responses(&entries, "sendInvoice") {
        let mut shown = answer.clone();
        shown.as_object_mut().unwrap().remove("body");
        assert!(
            answer["httpStatus"] != 200 || shown.to_string().contains("drop"),
            "the merchant never got this answer, yet the journal says it did: {shown}"
        );
    }
}

#[tokio::test]
async fn probability_zero_never_fires_and_probability_one_always_fires() {
    let h = start().await;
    let never = h.add_fault(json!({"operation": "sendInvoice", "resultCode": 93, "probability": 0.0})).await;
    for _ in 0..10 {
        assert_eq!(h.code(&send_invoice(DEMO, "1.00", None)).await, 0);
    }
    assert!(fault_events(&h.journal("").await).is_empty());
    let (status, _) = h.control(Method::DELETE, &format!("/faults/{never}"), None).await;
    assert_eq!(status, 200);

    h.add_fault(json!({"operation": "sendInvoice", "resultCode": 93, "probability": 1.0})).await;
    for _ in 0..10 {
        assert_eq!(h.code(&send_invoice(DEMO, "1.00", None)).await, 93);
    }
    assert_eq!(fault_events(&h.journal("").await).len(), 10);
    assert_eq!(h.invoice_count().await, 10);
}

#[tokio::test]
async fn invalid_fault_rules_are_rejected_with_a_clear_message() {
    let h = start().await;
    let cases = [
        (json!({"operation": "stealMoney", "resultCode": 90}), "unknown operation \"stealMoney\""),
        (json!({"operation": "sendInvoice", "resultCode": 90, "delay": "1s"}), "exactly one of"),
        (json!({"operation": "sendInvoice"}), "exactly one of"),
        (json!({"operation": "notification", "resultCode": 90}), "SOAP operations only"),
        (json!({"operation": "notification", "soapFault": "x"}), "SOAP operations only"),
        (json!({"operation": "createPurchase", "httpStatus": 503}), "SOAP operations only"),
        (json!({"operation": "sendInvoice", "httpStatus": 404}), "500–599"),
        (json!({"operation": "sendInvoice", "resultCode": 90, "probability": 1.5}), "between 0 and 1"),
        (json!({"operation": "sendInvoice", "resultCode": 90, "probability": -0.1}), "between 0 and 1"),
        (json!({"operation": "sendInvoice", "resultCode": 90, "times": 0}), "at least 1"),
        (json!({"operation": "sendInvoice", "delay": "soon"}), "not a duration"),
        (json!({"operation": "sendInvoice", "resultCode": 90, "color": "red"}), "unknown field"),
    ];
    for (body, expected) in cases {
        let (status, answer) = h.control(Method::POST, "/faults", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} → {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message:?} should say {expected:?}");
    }
    let (_, listed) = h.control(Method::GET, "/faults", None).await;
    assert_eq!(listed, json!([]));
    assert!(h.journal("").await.iter().all(|e| e["action"] != "addFault"));
}

// =====================================================================================
// 2. Faults on notifications
// =====================================================================================

#[tokio::test]
async fn a_dropped_notification_is_journaled_and_never_reaches_the_merchant() {
    let h = start().await;
    let sink = Sink::ok().await;
    let reference = h.issue(DEMO, "8.00", Some(&sink.url)).await;
    h.add_fault(json!({"operation": "notification", "dropConnection": true, "times": 1})).await;
    h.confirm(&reference).await;
    let entries = h.confirmed_notification(&reference, false).await;
    let sent = notifications(&entries, "confirmed");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["outcome"], "not sent: dropped by an injected fault");
    assert_eq!(sent[0]["attempt"], 0);
    assert_eq!(sent[0]["lastAttempt"], true);
    assert_eq!(sent[0]["url"], sink.url);
    let faults = fault_events(&h.journal("").await);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0]["target"], "notification");
    assert_eq!(faults[0]["fault"], "dropped connection");
    assert_eq!(faults[0]["terminal"], DEMO.id);
    // Give a (wrongly) sent notification time to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 0, "the merchant got nothing");
    // The invoice itself is paid all the same.
    assert_eq!(h.invoice(&reference).await["status"], "PAID");
}

#[tokio::test]
async fn a_fault_about_an_invoice_is_journaled_under_that_invoice() {
    let h = start().await;
    let sink = Sink::ok().await;
    let reference = h.issue(DEMO, "8.00", Some(&sink.url)).await;
    h.add_fault(json!({"operation": "notification", "dropConnection": true, "times": 1})).await;
    h.add_fault(json!({"operation": "getPaymentStatus", "resultCode": 93, "times": 1})).await;
    h.confirm(&reference).await;
    assert_eq!(h.code(&get_status(DEMO, &reference)).await, 93);
    let entries = h.confirmed_notification(&reference, false).await;
    let faults: Vec<String> = fault_events(&entries).iter().map(|f| f["target"].as_str().unwrap().to_owned()).collect();
    assert_eq!(faults, vec!["notification", "getPaymentStatus"], "{entries:#?}");
}

#[tokio::test]
async fn a_delayed_notification_arrives_late() {
    let h = start().await;
    let sink = Sink::ok().await;
    let reference = h.issue(DEMO, "8.00", Some(&sink.url)).await;
    h.add_fault(json!({"operation": "notification", "delay": "400ms", "times": 1})).await;
    let confirmed = Instant::now();
    h.confirm(&reference).await;
    sink.wait_for(1, Duration::from_secs(3)).await;
    let late = sink.hit(0).duration_since(confirmed);
    assert!(late >= Duration::from_millis(400), "arrived after {late:?}");
    let entries = h.confirmed_notification(&reference, false).await;
    let sent = notifications(&entries, "confirmed");
    assert_eq!(sent[0]["attempt"], 1);
    assert_eq!(sent[0]["httpStatus"], 200);
    let paid = transitions(&entries)[0]["at"].as_u64().unwrap();
    assert!(sent[0]["at"].as_u64().unwrap() >= paid + 400, "journal times: {entries:#?}");
    let faults = h.journal("").await;
    assert_eq!(fault_events(&faults)[0]["fault"], "delay 400ms");
}

// =====================================================================================
// 3. Notification retries
// =====================================================================================

#[tokio::test]
async fn notifications_are_retried_until_the_merchant_answers_200() {
    let h = start_with(fast_retries(3), Arc::new(OffsetClock::new())).await;
    let sink = Sink::start(vec![500, 500], 200).await;
    let reference = h.issue(DEMO, "9.00", Some(&sink.url)).await;
    h.confirm(&reference).await;
    let entries = h.confirmed_notification(&reference, true).await;
    let sent = notifications(&entries, "confirmed");
    let attempts: Vec<_> = sent.iter().map(|n| (&n["attempt"], &n["httpStatus"], &n["lastAttempt"])).collect();
    assert_eq!(
        attempts,
        vec![
            (&json!(1), &json!(500), &json!(false)),
            (&json!(2), &json!(500), &json!(false)),
            (&json!(3), &json!(200), &json!(true)),
        ]
    );
    assert_eq!(sent[2]["outcome"], "HTTP 200 OK");
    assert_eq!(sink.count(), 3);
    // Backoff: 20 ms, then 40 ms.
    assert!(sink.hit(1).duration_since(sink.hit(0)) >= Duration::from_millis(20));
    assert!(sink.hit(2).duration_since(sink.hit(1)) >= Duration::from_millis(40));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.count(), 3, "no attempt after the one that succeeded");
}

#[tokio::test]
async fn a_failing_endpoint_is_tried_exactly_attempts_times() {
    let h = start_with(fast_retries(4), Arc::new(OffsetClock::new())).await;
    let sink = Sink::start(Vec::new(), 500).await;
    let reference = h.issue(DEMO, "9.00", Some(&sink.url)).await;
    h.confirm(&reference).await;
    let entries = h.confirmed_notification(&reference, true).await;
    let sent = notifications(&entries, "confirmed");
    let attempts: Vec<_> = sent.iter().map(|n| n["attempt"].as_u64().unwrap()).collect();
    assert_eq!(attempts, vec![1, 2, 3, 4]);
    assert!(sent.iter().all(|n| n["httpStatus"] == 500));
    let last: Vec<_> = sent.iter().map(|n| n["lastAttempt"] == true).collect();
    assert_eq!(last, vec![false, false, false, true]);
    // Waiting longer than the next backoff (160 ms) brings no fifth try.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sink.count(), 4);
    assert_eq!(notifications(&h.journal(&format!("invoice={reference}")).await, "confirmed").len(), 4);
}

// =====================================================================================
// 4. Extra notifications
// =====================================================================================

#[tokio::test]
async fn forged_duplicate_and_delayed_notifications_reach_the_merchant_and_change_nothing() {
    let h = start().await;
    let sink = Sink::ok().await;
    let other = Sink::ok().await;
    // A forged notification about an invoice nobody paid.
    let issued = h.issue(DEMO, "11.00", Some(&sink.url)).await;
    let since = h.last_seq().await;
    let (status, body) =
        h.control(Method::POST, "/notifications", Some(json!({"invoiceReference": issued, "kind": "forged"}))).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["reason"], "forged (nothing happened to the invoice)");
    sink.wait_for(1, Duration::from_secs(3)).await;
    let view = h.invoice(&issued).await;
    assert_eq!((view["status"].as_str(), view["version"].as_i64()), (Some("ISSUED"), Some(0)));
    assert!(view["history"].as_array().unwrap().is_empty());
    let entries = h
        .journal_until(&format!("after={since}&invoice={issued}"), Duration::from_secs(3), |e| {
            !notifications(e, "forged (nothing happened to the invoice)").is_empty()
        })
        .await;
    assert_eq!(entries[0]["kind"], "control");
    assert_eq!(entries[0]["action"], "sendNotification");
    assert!(entries[0]["detail"].as_str().unwrap().starts_with("forged"), "{:#?}", entries[0]);
    assert!(transitions(&entries).is_empty());
    assert_eq!(notifications(&entries, "forged (nothing happened to the invoice)")[0]["httpStatus"], 200);

    // A paid invoice: the real notification, then a duplicate and a delayed forged one
    // sent elsewhere.
    let paid = h.issue(DEMO, "12.00", Some(&sink.url)).await;
    h.confirm(&paid).await;
    sink.wait_for(2, Duration::from_secs(3)).await;
    assert_eq!(h.code(&get_status(DEMO, &paid)).await, 0);
    let before = h.invoice(&paid).await;
    let (status, _) =
        h.control(Method::POST, "/notifications", Some(json!({"invoiceReference": paid, "kind": "duplicate"}))).await;
    assert_eq!(status, 202);
    sink.wait_for(3, Duration::from_secs(3)).await;
    let asked = Instant::now();
    let body = json!({"invoiceReference": paid, "kind": "forged", "url": other.url, "delay": "300ms"});
    let (status, answer) = h.control(Method::POST, "/notifications", Some(body)).await;
    assert_eq!(status, 202, "{answer}");
    assert!(asked.elapsed() < Duration::from_millis(300), "the control call returns at once");
    other.wait_for(1, Duration::from_secs(3)).await;
    assert!(other.hit(0).duration_since(asked) >= Duration::from_millis(300));
    assert_eq!(sink.count(), 3, "the redirected notification went to the other URL only");

    let after = h.invoice(&paid).await;
    assert_eq!(after["status"], "PAID");
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["history"], before["history"]);
    let entries = h
        .journal_until(&format!("invoice={paid}"), Duration::from_secs(3), |e| {
            !notifications(e, "forged (nothing happened to the invoice)").is_empty()
        })
        .await;
    assert_eq!(transitions(&entries).len(), 1, "only the payment itself");
    let controls: Vec<&str> = entries
        .iter()
        .filter(|e| e["kind"] == "control" && e["action"] == "sendNotification")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(controls.len(), 2, "{controls:?}");
    assert!(controls[0].starts_with("duplicate notification to"));
    assert!(controls[1].contains(&other.url) && controls[1].ends_with("after 300ms"), "{controls:?}");
    assert_eq!(notifications(&entries, "confirmed").len(), 1);
    assert_eq!(notifications(&entries, "duplicate").len(), 1);
    assert_eq!(notifications(&entries, "forged (nothing happened to the invoice)")[0]["url"], other.url);

    // Errors: unknown invoice, no URL to send to.
    let (status, _) =
        h.control(Method::POST, "/notifications", Some(json!({"invoiceReference": "999", "kind": "forged"}))).await;
    assert_eq!(status, 404);
    let silent = h.issue(DEMO, "1.00", None).await;
    let (status, body) = h.control(Method::POST, "/notifications", Some(json!({"invoiceReference": silent}))).await;
    assert_eq!(status, 409);
    assert!(body["error"].as_str().unwrap().contains("no notificationUrl"));
}

// =====================================================================================
// 5. Clock control
// =====================================================================================

#[tokio::test]
async fn advancing_the_clock_reverses_an_unfetched_payment_at_once() {
    let h = start().await;
    let reference = h.issue(DEMO, "15.00", None).await;
    let balance = h.balance().await;
    h.confirm(&reference).await;
    assert_eq!(h.balance().await, balance - Decimal::new(1500, 2));
    let (_, clock) = h.control(Method::GET, "/clock", None).await;
    let since = h.last_seq().await;
    let (status, after) = h.control(Method::POST, "/clock/advance", Some(json!({"by": "20s"}))).await;
    assert_eq!(status, 200, "{after}");
    assert!(after["now"].as_u64().unwrap() >= clock["now"].as_u64().unwrap() + 20_000);
    // No waiting: the reversal was part of the advance.
    let view = h.invoice(&reference).await;
    assert_eq!(view["status"], "CANCELED");
    assert_eq!(view["payment"]["reversed"], true);
    assert_eq!(h.balance().await, balance, "the customer got the money back");

    let entries = h.journal(&format!("after={since}")).await;
    assert!(entries.iter().any(|e| e["kind"] == "control" && e["action"] == "advanceClock" && e["detail"] == "by 20s"));
    let reversal = transitions(&entries);
    assert_eq!(reversal.len(), 1, "{entries:#?}");
    assert_eq!((&reversal[0]["from"], &reversal[0]["to"]), (&json!("PAID"), &json!("CANCELED")));
    assert_eq!(reversal[0]["reason"], "reversed: status not fetched");
    assert_eq!(reversal[0]["invoice"], reference);
    assert!(entries.iter().all(|e| e["kind"] != "soapRequest"));
}

#[tokio::test]
async fn a_scaled_deadline_is_enforced_by_the_timer_alone() {
    let h = start().await;
    let (status, body) = h.control(Method::PUT, "/clock", Some(json!({"deadlineScale": 0.01}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deadlineScale"], 0.01);
    let (_, clock) = h.control(Method::GET, "/clock", None).await;
    assert_eq!(clock["deadlineScale"], 0.01);
    assert_eq!(clock["deadlines"]["statusDeadline"], "200ms");
    assert_eq!(clock["deadlines"]["reservationTimeout"], "6s");
    assert_eq!(clock["deadlines"]["reportReadyDelay"], "20ms");

    let reference = h.issue(DEMO, "16.00", None).await;
    let since = h.last_seq().await;
    h.confirm(&reference).await;
    let confirmed = Instant::now();
    // Only the control API is asked; nothing reaches the SOAP endpoint.
    loop {
        if h.invoice(&reference).await["status"] == "CANCELED" {
            break;
        }
        assert!(confirmed.elapsed() < Duration::from_secs(3), "never reversed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(confirmed.elapsed() < Duration::from_millis(1500), "reversed after {:?}", confirmed.elapsed());
    let entries = h.journal(&format!("after={since}")).await;
    assert!(entries.iter().all(|e| e["kind"] != "soapRequest"), "{entries:#?}");
    let moves = transitions(&entries);
    assert_eq!(moves.len(), 2, "{entries:#?}");
    assert_eq!(moves[0]["to"], "PAID");
    assert_eq!(moves[1]["to"], "CANCELED");
    assert_eq!(moves[1]["reason"], "reversed: status not fetched");
    let waited = moves[1]["at"].as_u64().unwrap() - moves[0]["at"].as_u64().unwrap();
    assert!((200..1500).contains(&waited), "reversed {waited} ms after the payment");
}

#[tokio::test]
async fn invalid_deadline_scales_are_rejected() {
    let h = start().await;
    for scale in [json!(0), json!(-1), json!(0.0), json!("fast")] {
        let (status, body) = h.control(Method::PUT, "/clock", Some(json!({"deadlineScale": scale}))).await;
        assert_eq!(status, 400, "{scale} → {body}");
        assert!(!body["error"].as_str().unwrap().is_empty());
        if scale.is_number() {
            assert!(body["error"].as_str().unwrap().contains("positive"), "{body}");
        }
    }
    let (_, clock) = h.control(Method::GET, "/clock", None).await;
    assert_eq!(clock["deadlineScale"], 1.0);
    assert_eq!(clock["deadlines"]["statusDeadline"], "20s");
    let (status, body) = h.control(Method::POST, "/clock/advance", Some(json!({"by": "a while"}))).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("not a duration"));
}

#[tokio::test]
async fn a_manual_clock_mock_is_advanced_through_the_control_api() {
    let start_at = Timestamp(1_700_000_000_000);
    let h = start_with(Config::default(), Arc::new(ManualClock::new(start_at))).await;
    let reference = h.issue(DEMO, "17.00", None).await;
    h.confirm(&reference).await;
    let (status, clock) = h.control(Method::POST, "/clock/advance", Some(json!({"by": "19s"}))).await;
    assert_eq!(status, 200);
    assert_eq!(clock["now"], start_at.as_millis() + 19_000);
    // Real time passing changes nothing on a manual clock.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(h.invoice(&reference).await["status"], "PAID");
    let (_, clock) = h.control(Method::POST, "/clock/advance", Some(json!({"by": "1s"}))).await;
    assert_eq!(clock["now"], start_at.as_millis() + 20_000);
    assert_eq!(h.invoice(&reference).await["status"], "CANCELED");
    let entries = h.journal(&format!("invoice={reference}")).await;
    let moves = transitions(&entries);
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[1]["reason"], "reversed: status not fetched");
    assert_eq!(moves[1]["at"], start_at.as_millis() + 20_000, "reversed at the deadline, on virtual time");
}

#[tokio::test]
async fn a_system_clock_cannot_be_advanced() {
    let h = start_with(Config::default(), Arc::new(SystemClock)).await;
    let (status, body) = h.control(Method::POST, "/clock/advance", Some(json!({"by": "20s"}))).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("cannot be moved"));
}

#[tokio::test]
async fn status_acknowledged_after_ms_survives_a_scale_change() {
    let start_at = Timestamp(1_700_000_000_000);
    let h = start_with(Config::default(), Arc::new(ManualClock::new(start_at))).await;
    let reference = h.issue(DEMO, "18.00", None).await;
    h.confirm(&reference).await; // paid at start_at, must be fetched by +20 s
    h.control(Method::POST, "/clock/advance", Some(json!({"by": "5s"}))).await;
    let (status, _) = h.control(Method::PUT, "/clock", Some(json!({"deadlineScale": 0.5}))).await;
    assert_eq!(status, 200);
    assert_eq!(h.code(&get_status(DEMO, &reference)).await, 0);
    let entries = h.journal(&format!("invoice={reference}")).await;
    let ack = entries.iter().find(|e| is_machine_event(e, "statusAcknowledged")).unwrap();
    assert_eq!(ack["event"]["afterMs"], 5_000, "fetched 5 s after the payment: {ack:#?}");
}

// =====================================================================================
// 6. The journal
// =====================================================================================

#[tokio::test]
async fn the_merchant_filter_isolates_two_merchants() {
    let h = start().await;
    h.add_merchant_b().await;
    let demo_invoice = h.issue(DEMO, "20.00", None).await;
    let b_invoice = h.issue(TILL_B, "21.00", None).await;
    h.confirm(&b_invoice).await;
    assert_eq!(h.code(&get_status(TILL_B, &b_invoice)).await, 0);
    assert_eq!(h.code(&cancel_invoice(DEMO, &demo_invoice)).await, 0);

    for (merchant, own, theirs, till) in
        [("glase-demo", &demo_invoice, &b_invoice, DEMO), (MERCHANT_B, &b_invoice, &demo_invoice, TILL_B)]
    {
        let entries = h.journal(&format!("merchant={merchant}")).await;
        assert!(entries.iter().all(|e| e["merchant"] == merchant), "{merchant}: {entries:#?}");
        assert!(entries.iter().all(|e| e["invoice"] != **theirs), "{merchant}: {entries:#?}");
        assert!(entries.iter().all(|e| e["invoice"].is_null() || e["invoice"] == **own), "{merchant}: {entries:#?}");
        assert!(entries.iter().any(|e| e["kind"] == "soapRequest" && e["terminal"] == till.id));
        assert!(entries.iter().all(|e| e["terminal"].is_null() || e["terminal"] == till.id));
        assert_eq!(transitions(&entries).len(), 1, "{merchant}");
    }
    let b = h.journal(&format!("merchant={MERCHANT_B}")).await;
    let kinds: Vec<&str> = b.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "soapRequest").count(), 2, "{kinds:?}");
}

fn mark_period_as_reseller_b() -> Request {
    Request::MarkTransactionPeriod(MarkTransactionPeriod { context: reseller_b_context(), parameters: None })
}

#[tokio::test]
async fn reseller_user_calls_are_journaled_under_their_merchant() {
    let h = start().await;
    h.add_merchant_b().await;
    assert_eq!(h.code(&mark_period_as_reseller_b()).await, 0);
    let entries = h.journal(&format!("merchant={MERCHANT_B}")).await;
    assert!(
        entries.iter().any(|e| e["kind"] == "soapRequest" && e["operation"] == "markTransactionPeriod"),
        "merchant-b's own markTransactionPeriod is missing from ?merchant={MERCHANT_B}: {entries:#?}"
    );
}

#[tokio::test]
async fn merchant_scoped_faults_hit_reseller_user_calls() {
    let h = start().await;
    h.add_merchant_b().await;
    h.add_fault(json!({"operation": "markTransactionPeriod", "merchant": MERCHANT_B, "resultCode": 93})).await;
    assert_eq!(
        h.code(&mark_period_as_reseller_b()).await,
        93,
        "a rule for merchant-b's calls must hit merchant-b's reseller user"
    );
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_matching_entry_appears() {
    let h = start().await;
    h.add_till_2().await;
    let after = h.last_seq().await;
    let started = Instant::now();
    let poll = {
        let (http, url) = (h.http.clone(), h.url(&format!("/control/journal?after={after}&wait=5s")));
        tokio::spawn(async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reference = h.issue(DEMO, "22.00", None).await;
    let body = tokio::time::timeout(Duration::from_secs(2), poll).await.expect("returned in time").unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries[0]["seq"], after + 1);
    assert_eq!(entries[0]["kind"], "soapRequest");
    assert_eq!(entries[0]["invoice"], reference);

    // With a filter, entries that do not match do not end the wait.
    let after = h.last_seq().await;
    let started = Instant::now();
    let poll = {
        let url = h.url(&format!("/control/journal?after={after}&terminal={}&wait=5s", TILL_2.id));
        let http = h.http.clone();
        tokio::spawn(async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    h.issue(DEMO, "22.00", None).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!poll.is_finished(), "another terminal's entries ended the wait");
    let till_2_invoice = h.issue(TILL_2, "23.00", None).await;
    let body = tokio::time::timeout(Duration::from_secs(2), poll).await.expect("returned in time").unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let entries = body["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["terminal"] == TILL_2.id && e["invoice"] == till_2_invoice), "{entries:#?}");
}

#[tokio::test]
async fn a_long_poll_with_nothing_happening_returns_empty_after_the_wait() {
    let h = start().await;
    let after = h.last_seq().await;
    let started = Instant::now();
    let (status, body) = h.control(Method::GET, &format!("/journal?after={after}&wait=300ms"), None).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(body["entries"], json!([]));
    assert_eq!(body["lastSeq"], after);
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    let (status, body) = h.control(Method::GET, "/journal?wait=later", None).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_jsonl_export_is_one_parseable_object_per_line_in_seq_order() {
    let h = start().await;
    let sink = Sink::ok().await;
    let reference = h.issue(DEMO, "24.00", Some(&sink.url)).await;
    h.confirm(&reference).await;
    sink.wait_for(1, Duration::from_secs(3)).await;
    h.confirmed_notification(&reference, false).await;
    h.add_fault(json!({"operation": "getPaymentStatus", "resultCode": 93, "times": 1})).await;
    assert_eq!(h.code(&get_status(DEMO, &reference)).await, 93);

    let response = h.http.get(h.url("/control/journal.jsonl")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<Value> =
        text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect();
    let seqs: Vec<u64> = lines.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(lines.iter().all(Value::is_object));
    let all = h.journal("").await;
    assert_eq!(lines, all, "the export holds exactly the journal");
    for kind in ["soapRequest", "soapResponse", "machine", "notificationSent", "control"] {
        assert!(lines.iter().any(|e| e["kind"] == kind), "no {kind} line");
    }
    // The same filters apply.
    let filtered = h.http.get(h.url(&format!("/control/journal.jsonl?invoice={reference}"))).send().await.unwrap();
    let filtered = filtered.text().await.unwrap();
    assert!(filtered.lines().all(|l| serde_json::from_str::<Value>(l).unwrap()["invoice"] == reference));
}

/// The tags every journal line carries; serde's derive rejects a duplicated key, as any
/// typed reader of the journal would.
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // only deserialized, to detect duplicate keys
struct LineTags {
    seq: u64,
    terminal: Option<String>,
    invoice: Option<String>,
    merchant: Option<String>,
}

#[tokio::test]
async fn journal_lines_have_no_duplicate_keys() {
    let h = start().await;
    h.add_fault(json!({"operation": "sendInvoice", "delay": "1ms", "times": 1})).await;
    h.issue(DEMO, "26.00", None).await;
    let text = h.http.get(h.url("/control/journal.jsonl")).send().await.unwrap().text().await.unwrap();
    for line in text.lines() {
        if let Err(error) = serde_json::from_str::<LineTags>(line) {
            panic!("{error}: {line}");
        }
    }
}

#[tokio::test]
async fn the_sse_stream_delivers_an_entry_event_for_a_new_soap_request() {
    let h = start().await;
    let mut stream = h.http.get(h.url("/control/journal/stream")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    // The handler ran (it answered), so it follows from the current end of the journal.
    let reference = h.issue(DEMO, "25.00", None).await;
    let mut text = String::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        while !text.contains("event: entry") || !text.contains("\n\n") {
            let chunk = stream.chunk().await.unwrap().expect("the stream stays open");
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await;
    assert!(read.is_ok(), "no entry event within 5 s; got {text:?}");
    let event = text.split("\n\n").find(|block| block.contains("event: entry")).unwrap();
    let data = event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let entry: Value = serde_json::from_str(data).unwrap();
    assert_eq!(entry["kind"], "soapRequest");
    assert_eq!(entry["operation"], "sendInvoice");
    assert_eq!(entry["invoice"], reference);
    let id = event.lines().find_map(|l| l.strip_prefix("id: ")).unwrap();
    assert_eq!(id, entry["seq"].to_string());
}

// =====================================================================================
// 7. Concurrency
// =====================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_confirms_and_cancels_have_exactly_one_winner() {
    let h = Arc::new(start().await);
    for round in 0..4 {
        let reference = h.issue(DEMO, "10.00", None).await;
        let balance = h.balance().await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let h = h.clone();
            let reference = reference.clone();
            tasks.push(tokio::spawn(async move {
                if (i + round) % 2 == 0 {
                    let body = json!({"invoiceReference": reference});
                    let (status, answer) = h.control(Method::POST, "/customer/confirm", Some(body)).await;
                    match status {
                        200 => {
                            assert_eq!(answer["result"], "paid");
                            ("confirm", true, 0)
                        }
                        409 => ("confirm", false, 0),
                        other => panic!("confirm answered {other}: {answer}"),
                    }
                } else {
                    let code = h.code(&cancel_invoice(DEMO, &reference)).await;
                    ("cancel", code == 0, code)
                }
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let winners: Vec<_> = outcomes.iter().filter(|(_, won, _)| *won).collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let view = h.invoice(&reference).await;
        let history = view["history"].as_array().unwrap();
        assert_eq!(history.len(), 1, "exactly one terminal transition: {history:#?}");
        let entries = h.journal(&format!("invoice={reference}")).await;
        assert_eq!(transitions(&entries).len(), 1);
        let charged = balance - h.balance().await;
        let losing_cancels: Vec<i32> =
            outcomes.iter().filter(|(kind, won, _)| *kind == "cancel" && !won).map(|(_, _, code)| *code).collect();
        match winners[0].0 {
            "confirm" => {
                assert_eq!(view["status"], "PAID");
                assert_eq!(history[0]["to"], "PAID");
                assert_eq!(charged, Decimal::new(1000, 2), "charged once");
                assert!(losing_cancels.iter().all(|c| *c == 50), "{losing_cancels:?}");
                assert_eq!(entries.iter().filter(|e| is_machine_event(e, "paymentCreated")).count(), 1);
            }
            _ => {
                assert_eq!(view["status"], "CANCELED");
                assert_eq!(history[0]["to"], "CANCELED");
                assert_eq!(charged, Decimal::ZERO, "never charged");
                assert!(losing_cancels.iter().all(|c| *c == 95), "{losing_cancels:?}");
                assert!(entries.iter().all(|e| !is_machine_event(e, "paymentCreated")));
            }
        }
    }
}

/// `Mock::status_acknowledged` (what the load generator polls instead of copying the
/// invoice) agrees with the control API's view at every step: nothing due while the
/// invoice is open, due once it is paid, fetched after getPaymentStatus; and it says
/// nothing of an invoice the mock does not have.
#[tokio::test]
async fn status_acknowledged_follows_the_status_fetch_a_payment_asks_for() {
    let mock = Mock::new(&Config::default(), Arc::new(OffsetClock::new())).expect("valid config");
    let server = spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.expect("bind loopback");
    let http = mock_glase::outbound::http_client(Duration::from_secs(10)).unwrap();
    let h = Harness { server, http };
    let reference = h.issue(DEMO, "4.00", None).await;
    // The control API's view: fetched, or no fetch due.
    let view_says = |view: Value| !view["acknowledgedAt"].is_null() || view["statusDeadline"].is_null();
    assert_eq!(mock.status_acknowledged(&reference), Some(true), "no fetch is due while it is open");
    assert!(view_says(h.invoice(&reference).await));
    h.confirm(&reference).await;
    assert_eq!(mock.status_acknowledged(&reference), Some(false), "paid: the merchant must fetch the status");
    assert!(!view_says(h.invoice(&reference).await));
    let (status, _) = h.soap(&get_status(DEMO, &reference)).await;
    assert_eq!(status, 200);
    assert_eq!(mock.status_acknowledged(&reference), Some(true), "fetched");
    assert!(view_says(h.invoice(&reference).await));
    assert_eq!(mock.status_acknowledged("no-such-invoice"), None);
}
