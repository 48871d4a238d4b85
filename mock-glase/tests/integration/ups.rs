//! End-to-end tests of the Unattended Payments Service (seed 000) through real sockets.
//!
//! The mock runs in-process on 127.0.0.1:0; its demo merchant's `createPurchase` URL points
//! at a minimal test reseller (an axum server on 127.0.0.1:0, below) that plays just enough
//! of the seed flow: createPurchase → sendInvoice → answer; notification → 200 at once, then
//! getPaymentStatus → on RESERVED updateInvoice + commitReservation. How it misbehaves is
//! chosen per test ([`Behaviour`]) and everything it saw is logged ([`Seen`]) so the tests
//! can assert on both sides: the reseller's log and the mock's journal.
//!
//! Deadlines run on an [`OffsetClock`] with a small deadline scale (or a clock advance), so
//! nothing here sleeps for long; waits poll every few milliseconds with a bounded timeout.
#![allow(clippy::unwrap_used)] // test code: a failed setup or probe should panic loudly

use crate::support::control_call;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use glase_protocol::request::{CommitReservation, GetPaymentStatus, SendInvoice, UpdateInvoice};
use glase_protocol::{
    Amount, ClientContext, Decimal, Invoice, InvoiceRow, InvoiceStatus, PaymentMode, PrincipalId, Reply, Request,
    Response, ResponseDetail, decode_reply, encode_request,
};
use mock_glase::clock::Clock;
use mock_glase::config::{Config, Deadlines, Dialect, ResellerConfig, TerminalConfig, demo};
use mock_glase::journal::Filter;
use mock_glase::machine::ups::{PurchaseOutcome, PurchaseReport, ScanOptions};
use mock_glase::mock::ScanResult;
use mock_glase::server::{RunningServer, spawn};
use mock_glase::{ManualClock, Mock, OffsetClock, Timestamp};
use serde_json::{Value, json};

const MERCHANT: &str = demo::MERCHANT_ID;
const MACHINE_QR: &str = "HTTP://SEQR.SE/000/ups?w=glase-demo&t=machine-1";
const MSISDN: &str = demo::CUSTOMER_MSISDN;
const JSON_UTF8: &str = "application/json;charset=UTF-8";
/// A second merchant's till, for "another merchant's invoice".
const OTHER_TERMINAL: &str = "other-terminal";
const OTHER_PASSWORD: &str = "other1234";
/// The longest any test waits for something asynchronous to happen.
const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(5);

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

// ====================================================================== test reseller

/// How the test reseller behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Behaviour {
    /// The seed flow, done right.
    Normal,
    /// Answer createPurchase `{"errorCode": …}` without calling sendInvoice.
    ErrorCode(&'static str),
    /// Call sendInvoice, then sleep this long before answering createPurchase.
    Sleep(Duration),
    /// Answer createPurchase with HTTP 500.
    Http500,
    /// Answer createPurchase with a body that is not JSON.
    MalformedJson,
    /// Call sendInvoice and answer the right reference, but as `text/plain`.
    WrongContentType,
    /// Answer this invoiceReferenceId without calling sendInvoice.
    AnswerReference(String),
    /// Issue an IMMEDIATE_DEBIT invoice instead of a reservation.
    ImmediateDebit,
    /// Issue the reservation for more than the offered amount.
    Overcharge,
    /// Issue the invoice from another merchant's terminal.
    ForeignInvoice,
    /// Answer notifications but never call getPaymentStatus.
    NeverFetchStatus,
    /// Fetch the status but never update or commit the reservation.
    NeverCommit,
}

/// What the test reseller saw and did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    CreatePurchase { accept: Option<String>, content_type: Option<String>, body: String },
    InvoiceSent { session: String, reference: String },
    Answered { body: String },
    Notified { session: String, body_len: usize },
    Status { reference: String, status: Option<InvoiceStatus>, result_code: i32 },
    Updated { reference: String, result_code: i32 },
    Committed { reference: String, result_code: i32, ers_reference: Option<String> },
    Failed(String),
}

#[derive(Debug)]
struct TestReseller {
    base_url: String,
    soap_url: OnceLock<String>,
    http: reqwest::Client,
    behaviour: Mutex<Behaviour>,
    /// What the customer "takes from the machine": the final invoice and commit amount.
    final_amount: Decimal,
    log: Mutex<Vec<Seen>>,
    /// Notification session (the `token` of its notificationUrl) → invoice reference, once
    /// sendInvoice answered. Notifications carry no data: this is how they are resolved.
    sessions: Mutex<HashMap<String, Option<String>>>,
    next_session: AtomicU64,
    /// Moves this clock when the next createPurchase arrives (time passing mid-call).
    advance_on_create_purchase: Mutex<Option<(ManualClock, Duration)>>,
}

impl TestReseller {
    async fn start() -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let reseller = Arc::new(Self {
            base_url,
            soap_url: OnceLock::new(),
            http: mock_glase::outbound::http_client(WAIT).unwrap(),
            behaviour: Mutex::new(Behaviour::Normal),
            final_amount: dec("12.50"),
            log: Mutex::new(Vec::new()),
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(0),
            advance_on_create_purchase: Mutex::new(None),
        });
        let app = axum::Router::new()
            .route("/seqr/createPurchase", axum::routing::post(create_purchase))
            .route("/notify", axum::routing::post(notify))
            .with_state(reseller.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        reseller
    }

    fn create_purchase_url(&self) -> String {
        format!("{}/seqr/createPurchase", self.base_url)
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    fn behaviour(&self) -> Behaviour {
        self.behaviour.lock().unwrap().clone()
    }

    fn record(&self, seen: Seen) {
        self.log.lock().unwrap().push(seen);
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Position of the first log entry matching `pred`.
    fn position(&self, pred: impl Fn(&Seen) -> bool) -> Option<usize> {
        self.seen().iter().position(pred)
    }

    /// Answers createPurchase with JSON, as the seed documents.
    fn answer(&self, value: &Value) -> HttpResponse {
        let body = value.to_string();
        self.record(Seen::Answered { body: body.clone() });
        ([(header::CONTENT_TYPE, JSON_UTF8)], body).into_response()
    }

    async fn soap(&self, request: &Request) -> Result<Response, String> {
        let mut body = Vec::new();
        encode_request(request, &mut body);
        let url = self.soap_url.get().ok_or("the mock's SOAP URL is not known yet")?;
        let text = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        match decode_reply(text.as_bytes()).map_err(|e| e.to_string())? {
            Reply::Response(response) => Ok(response),
            Reply::Fault(fault) => Err(format!("SOAP fault: {}", fault.string)),
        }
    }

    /// After a notification: fetch the status; on RESERVED vend, update and commit.
    async fn after_notification(self: Arc<Self>, session: String) {
        let behaviour = self.behaviour();
        if behaviour == Behaviour::NeverFetchStatus {
            return;
        }
        // An early notification can arrive before sendInvoice has answered.
        let deadline = Instant::now() + WAIT;
        let reference = loop {
            let known = self.sessions.lock().unwrap().get(&session).cloned().flatten();
            if let Some(reference) = known {
                break reference;
            }
            if Instant::now() > deadline {
                self.record(Seen::Failed(format!("no invoice for notification session {session:?}")));
                return;
            }
            tokio::time::sleep(POLL).await;
        };
        let request = Request::GetPaymentStatus(GetPaymentStatus {
            context: terminal_context(demo::TERMINAL_ID, demo::PASSWORD),
            invoice_reference: Some(reference.clone()),
            invoice_version: Some(0),
        });
        let response = match self.soap(&request).await {
            Ok(response) => response,
            Err(error) => return self.record(Seen::Failed(format!("getPaymentStatus: {error}"))),
        };
        let status = match response.detail {
            ResponseDetail::PaymentStatus { status, .. } => status,
            _ => None,
        };
        self.record(Seen::Status { reference: reference.clone(), status, result_code: response.result_code.0 });
        if status != Some(InvoiceStatus::Reserved) || behaviour == Behaviour::NeverCommit {
            return;
        }
        // The customer chose their products: the final invoice, then the commit.
        let amount = self.final_amount;
        let request = Request::UpdateInvoice(UpdateInvoice {
            context: terminal_context(demo::TERMINAL_ID, demo::PASSWORD),
            invoice_reference: Some(reference.clone()),
            invoice: Some(invoice(PaymentMode::ReservationRequired, amount, "EUR", None)),
            tokens: Vec::new(),
        });
        let code = match self.soap(&request).await {
            Ok(response) => response.result_code.0,
            Err(error) => return self.record(Seen::Failed(format!("updateInvoice: {error}"))),
        };
        self.record(Seen::Updated { reference: reference.clone(), result_code: code });
        if code != 0 {
            return;
        }
        let request = Request::CommitReservation(CommitReservation {
            context: terminal_context(demo::TERMINAL_ID, demo::PASSWORD),
            invoice_reference: Some(reference.clone()),
            amount: Some(Amount::new(amount, "EUR")),
        });
        match self.soap(&request).await {
            Ok(response) => self.record(Seen::Committed {
                reference,
                result_code: response.result_code.0,
                ers_reference: response.ers_reference,
            }),
            Err(error) => self.record(Seen::Failed(format!("commitReservation: {error}"))),
        }
    }
}

fn terminal_context(terminal: &str, password: &str) -> Option<ClientContext> {
    Some(ClientContext {
        channel: Some("WS".into()),
        client_id: Some("ups-tests 1.0".into()),
        client_reference: Some("ups-tests".into()),
        client_request_timeout: Some(0),
        initiator_principal_id: Some(PrincipalId {
            id: Some(terminal.into()),
            kind: Some("TERMINALID".into()),
            user_id: None,
        }),
        password: Some(password.into()),
        ..ClientContext::default()
    })
}

/// An invoice of one row worth `total`.
fn invoice(mode: PaymentMode, total: Decimal, currency: &str, notification_url: Option<String>) -> Invoice {
    Invoice {
        payment_mode: Some(mode),
        title: Some("Vending machine machine-1".into()),
        client_invoice_id: Some("vend-1".into()),
        cashier_id: Some("machine-1".into()),
        invoice_rows: Some(vec![InvoiceRow {
            item_description: Some("Snacks".into()),
            item_quantity: Some(Decimal::ONE),
            item_total_amount: Some(Amount::new(total, currency)),
            ..InvoiceRow::default()
        }]),
        total_amount: Some(Amount::new(total, currency)),
        notification_url,
        ..Invoice::default()
    }
}

/// `(amount, currency)` from either createPurchase dialect, the amount with two decimal
/// places (serde_json reads a JSON number as `f64`, whose shortest text round-trips a
/// two-place amount exactly; `rescale` restores the places `20.00` → `20.0` lost).
fn purchase_terms(body: &str) -> Option<(Decimal, String)> {
    let value: Value = serde_json::from_str(body).ok()?;
    value.get("token").or_else(|| value.get("reservationToken"))?.as_str()?;
    let mut amount: Decimal = match value.get("amount").or_else(|| value.get("reservationAmount"))? {
        Value::Number(number) => number.to_string().parse().ok()?,
        Value::String(text) => text.parse().ok()?,
        _ => return None,
    };
    amount.rescale(2);
    Some((amount, value.get("currency")?.as_str()?.to_owned()))
}

async fn create_purchase(State(reseller): State<Arc<TestReseller>>, headers: HeaderMap, body: String) -> HttpResponse {
    if let Some((clock, by)) = reseller.advance_on_create_purchase.lock().unwrap().take() {
        clock.advance(by);
    }
    let header_text = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    reseller.record(Seen::CreatePurchase {
        accept: header_text(header::ACCEPT),
        content_type: header_text(header::CONTENT_TYPE),
        body: body.clone(),
    });
    let behaviour = reseller.behaviour();
    match &behaviour {
        Behaviour::ErrorCode(code) => return reseller.answer(&json!({ "errorCode": code })),
        Behaviour::Http500 => return (StatusCode::INTERNAL_SERVER_ERROR, "reseller backend crashed").into_response(),
        Behaviour::MalformedJson => {
            return ([(header::CONTENT_TYPE, JSON_UTF8)], r#"{"invoiceReferenceId": "#).into_response();
        }
        Behaviour::AnswerReference(reference) => return reseller.answer(&json!({ "invoiceReferenceId": reference })),
        _ => {}
    }
    let Some((amount, currency)) = purchase_terms(&body) else {
        return reseller.answer(&json!({ "errorCode": "SYSTEM_ERROR" }));
    };
    let (terminal, password) = match behaviour {
        Behaviour::ForeignInvoice => (OTHER_TERMINAL, OTHER_PASSWORD),
        _ => (demo::TERMINAL_ID, demo::PASSWORD),
    };
    let mode = match behaviour {
        Behaviour::ImmediateDebit => PaymentMode::ImmediateDebit,
        _ => PaymentMode::ReservationRequired,
    };
    let total = match behaviour {
        Behaviour::Overcharge => amount + Decimal::ONE,
        _ => amount,
    };
    let session = format!("s{}", reseller.next_session.fetch_add(1, Ordering::SeqCst) + 1);
    reseller.sessions.lock().unwrap().insert(session.clone(), None);
    let url = format!("{}/notify?token={session}", reseller.base_url);
    let request = Request::SendInvoice(SendInvoice {
        context: terminal_context(terminal, password),
        invoice: Some(invoice(mode, total, &currency, Some(url))),
        tokens: Vec::new(),
    });
    let reference = match reseller.soap(&request).await {
        Ok(Response { detail: ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. }, .. }) => {
            reference
        }
        other => {
            reseller.record(Seen::Failed(format!("sendInvoice: {other:?}")));
            return reseller.answer(&json!({ "errorCode": "INVOICING_ERROR" }));
        }
    };
    reseller.sessions.lock().unwrap().insert(session.clone(), Some(reference.clone()));
    reseller.record(Seen::InvoiceSent { session, reference: reference.clone() });
    if let Behaviour::Sleep(pause) = behaviour {
        tokio::time::sleep(pause).await;
    }
    let answer = json!({ "invoiceReferenceId": reference });
    if behaviour == Behaviour::WrongContentType {
        reseller.record(Seen::Answered { body: answer.to_string() });
        return ([(header::CONTENT_TYPE, "text/plain;charset=UTF-8")], answer.to_string()).into_response();
    }
    reseller.answer(&answer)
}

async fn notify(
    State(reseller): State<Arc<TestReseller>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> StatusCode {
    let session = query.get("token").cloned().unwrap_or_default();
    reseller.record(Seen::Notified { session: session.clone(), body_len: body.len() });
    // Answer at once; the work happens after.
    tokio::spawn(reseller.clone().after_notification(session));
    StatusCode::OK
}

// ====================================================================== harness

/// Adds merchant `other-shop` with its till [`OTHER_TERMINAL`].
fn add_other_merchant(mock: &Mock) {
    mock.add_reseller(&ResellerConfig {
        id: "other-shop".into(),
        user_id: "7700".into(),
        password: OTHER_PASSWORD.into(),
        currency: "EUR".into(),
        merchant_id: None,
        name: None,
        refunds_allowed: true,
        receiver_allows_refunds: true,
        create_purchase_url: None,
        create_purchase_dialect: Dialect::Seed,
    })
    .unwrap();
    mock.add_terminal(&TerminalConfig {
        id: OTHER_TERMINAL.into(),
        password: OTHER_PASSWORD.into(),
        reseller: "other-shop".into(),
        name: None,
        seqr_id: None,
    })
    .unwrap();
}

struct Harness {
    server: RunningServer,
    mock: Mock,
    reseller: Arc<TestReseller>,
    http: reqwest::Client,
}

/// A mock on an [`OffsetClock`] whose demo merchant calls the test reseller.
async fn start(configure: impl FnOnce(&mut Config)) -> Harness {
    start_with(Arc::new(OffsetClock::new()), configure).await
}

async fn start_with(clock: Arc<dyn Clock>, configure: impl FnOnce(&mut Config)) -> Harness {
    let reseller = TestReseller::start().await;
    let (mut merchant, _, _) = Config::demo_entries();
    merchant.create_purchase_url = Some(reseller.create_purchase_url());
    let mut config = Config { resellers: vec![merchant], ..Config::default() };
    configure(&mut config);
    let mock = Mock::new(&config, clock).expect("valid test configuration");
    let server = spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await.expect("bind loopback");
    reseller.soap_url.set(server.soap_url()).unwrap();
    Harness { server, mock, reseller, http: mock_glase::outbound::http_client(WAIT).unwrap() }
}

impl Harness {
    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        control_call(&self.http, &self.server.base_url(), method, path, body).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.control(reqwest::Method::POST, path, Some(body)).await
    }

    /// Scans through the library API.
    async fn scan(&self, options: ScanOptions) -> PurchaseReport {
        match self.mock.scan_qr(MACHINE_QR, None, &options).await.expect("scan starts a purchase") {
            ScanResult::Unattended { purchase, .. } => purchase,
            other => panic!("expected an unattended purchase, got {other:?}"),
        }
    }

    async fn scan_accepted(&self) -> String {
        match self.scan(ScanOptions::default()).await.outcome {
            PurchaseOutcome::Accepted { invoice_reference } => invoice_reference,
            other => {
                panic!("expected the purchase to be accepted, got {other:?} (reseller saw {:?})", self.reseller.seen())
            }
        }
    }

    fn status(&self, reference: &str) -> InvoiceStatus {
        self.mock.invoice(reference).unwrap().record.status
    }

    fn balance(&self) -> Decimal {
        self.mock.customer(MSISDN).unwrap().balance
    }

    fn last_seq(&self) -> u64 {
        self.mock.journal_stats().2
    }

    /// The merchant's journal (library API) as JSON, after `after`.
    fn journal_after(&self, after: u64) -> Vec<Value> {
        let filter = Filter { after: Some(after), merchant: Some(MERCHANT.to_owned()), ..Filter::default() };
        self.mock.journal(&filter).iter().map(|e| serde_json::to_value(e).unwrap()).collect()
    }

    /// The whole journal, every merchant, as JSON.
    fn journal_all(&self) -> Vec<Value> {
        self.mock.journal(&Filter::default()).iter().map(|e| serde_json::to_value(e).unwrap()).collect()
    }

    /// `GET /control/journal?…`
    async fn journal_http(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.control(reqwest::Method::GET, &format!("/journal?{query}"), None).await;
        assert_eq!(status, 200, "{body}");
        body["entries"].as_array().unwrap().clone()
    }

    /// Waits until the reseller's log has an entry matching `pred` and returns it.
    async fn reseller_saw(&self, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
        wait_for(what, || self.reseller.seen().into_iter().find(&pred)).await
    }

    /// Waits for a notificationSent entry with this reason to appear in the journal.
    async fn notification_sent(&self, reason: &str) -> Value {
        wait_for(&format!("notificationSent {reason:?}"), || {
            self.journal_after(0).into_iter().find(|e| e["kind"] == "notificationSent" && e["reason"] == reason)
        })
        .await
    }

    async fn wait_status(&self, reference: &str, status: InvoiceStatus) {
        wait_for(&format!("invoice {reference} to become {status}"), || {
            (self.status(reference) == status).then_some(())
        })
        .await;
    }
}

/// Polls `probe` every few milliseconds until it answers, for at most [`WAIT`].
async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// The journal entries recording the machine event `name` (`{"kind": "machine", "event":
/// {"type": name, …}}`).
fn machine_entries<'a>(entries: &'a [Value], name: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == "machine" && e["event"]["type"] == name).collect()
}

/// The machine events `name` themselves.
fn machine_events<'a>(entries: &'a [Value], name: &str) -> Vec<&'a Value> {
    machine_entries(entries, name).into_iter().map(|e| &e["event"]).collect()
}

fn of_kind<'a>(entries: &'a [Value], kind: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == kind).collect()
}

/// The one entry matching `pred`.
fn only<'a>(entries: Vec<&'a Value>, what: &str) -> &'a Value {
    assert_eq!(entries.len(), 1, "expected exactly one {what}, got {entries:#?}");
    entries[0]
}

/// `(from, to, reason)` of every transition of an invoice.
fn transitions(entries: &[Value], reference: &str) -> Vec<(String, String, String)> {
    machine_events(entries, "transition")
        .into_iter()
        .filter(|e| e["invoice"] == reference)
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap().to_owned();
            (text("from"), text("to"), text("reason"))
        })
        .collect()
}

fn transition(from: &str, to: &str, reason: &str) -> (String, String, String) {
    (from.to_owned(), to.to_owned(), reason.to_owned())
}

fn seq(entry: &Value) -> u64 {
    entry["seq"].as_u64().unwrap()
}

/// How long an invoice stayed RESERVED, by its own history (the machine's times: the
/// deadline's instant, not when the timer got round to it), checked against the journal:
/// the CANCELED entry is never journaled before the deadline it records.
fn held_for(h: &Harness, reference: &str, entries: &[Value]) -> Duration {
    let history = h.mock.invoice(reference).unwrap().record.history;
    let at = |to: InvoiceStatus| history.iter().find(|e| e.to == to).unwrap().at;
    let (reserved, canceled) = (at(InvoiceStatus::Reserved), at(InvoiceStatus::Canceled));
    let journaled = machine_entries(entries, "transition")
        .into_iter()
        .find(|e| e["event"]["invoice"] == reference && e["event"]["to"] == "CANCELED")
        .unwrap()["at"]
        .as_u64()
        .unwrap();
    assert!(journaled >= canceled.as_millis(), "journaled at {journaled}, before the deadline {canceled}");
    canceled.since(reserved)
}

/// The purchase's journal trail: request, response and the machine's start and end.
struct PurchaseTrail {
    request: Value,
    response: Value,
    /// The purchaseEnded event, and its entry's sequence number.
    ended: Value,
    ended_seq: u64,
}

fn purchase_trail(entries: &[Value]) -> PurchaseTrail {
    let request = only(of_kind(entries, "createPurchaseRequest"), "createPurchaseRequest").clone();
    let response = only(of_kind(entries, "createPurchaseResponse"), "createPurchaseResponse").clone();
    let ended_entry = only(machine_entries(entries, "purchaseEnded"), "purchaseEnded");
    let (ended, ended_seq) = (ended_entry["event"].clone(), seq(ended_entry));
    assert_eq!(request["purchase"], response["purchase"]);
    assert_eq!(request["purchase"], ended["purchase"]);
    assert_eq!(ended["merchantId"], MERCHANT);
    assert!(seq(&request) < seq(&response) && seq(&response) < ended_seq, "request, answer, then the verdict");
    PurchaseTrail { request, response, ended, ended_seq }
}

/// The purchaseStarted event of a purchase (from the unfiltered journal), with its entry's
/// sequence number.
fn purchase_started(h: &Harness, purchase: &Value) -> (u64, Value) {
    let all = h.journal_all();
    let started =
        machine_entries(&all, "purchaseStarted").into_iter().filter(|e| &e["event"]["purchase"] == purchase).collect();
    let entry = only(started, "purchaseStarted");
    (seq(entry), entry["event"].clone())
}

// ====================================================================== 1. success

#[tokio::test]
async fn a_scanned_machine_is_paid_the_final_amount_after_reservation_update_and_commit() {
    let h = start(|_| {}).await;
    let (status, body) = h.post("/customer/scan", json!({"qr": MACHINE_QR, "amount": "20.00"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "unattended");
    assert_eq!(body["purchase"]["outcome"], "accepted", "{body}");
    assert_eq!(body["purchase"]["token"], "machine-1");
    assert_eq!(body["purchase"]["amount"], "20.00");
    let reference = body["purchase"]["invoiceReference"].as_str().unwrap().to_owned();
    assert_eq!(body["purchase"]["invoicesIssuedDuringCall"], json!([reference]));
    assert_eq!(body["invoice"]["status"], "ISSUED");
    assert_eq!(body["invoice"]["openedBy"], MSISDN, "the app shows the reservation to the customer");

    // The createPurchase call, exactly as seed 000 documents it.
    let Seen::CreatePurchase { accept, content_type, body: sent } = &h.reseller.seen()[0] else {
        panic!("the reseller's first sight should be createPurchase: {:?}", h.reseller.seen());
    };
    assert_eq!(accept.as_deref(), Some("application/json"));
    assert_eq!(content_type.as_deref(), Some(JSON_UTF8));
    assert_eq!(sent, r#"{"token":"machine-1","amount":20.00,"currency":"EUR","msisdn":"483344323423"}"#);
    let parsed: Value = serde_json::from_str(sent).unwrap();
    let mut keys: Vec<&str> = parsed.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["amount", "currency", "msisdn", "token"]);
    assert!(parsed["amount"].is_number(), "the seed's amount is a JSON number");

    // The customer confirms; the reseller is notified, fetches RESERVED, updates and commits.
    let (status, body) = h.post("/customer/confirm", json!({"invoiceReference": reference})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "reserved");
    let committed = h.reseller_saw("commitReservation", |s| matches!(s, Seen::Committed { .. })).await;
    let Seen::Committed { reference: committed_ref, result_code: 0, ers_reference: Some(ers) } = committed else {
        panic!("commit failed: {committed:?}");
    };
    assert_eq!(committed_ref, reference);
    assert_eq!(ers.len(), 25);
    let session = match &h.reseller.seen()[1] {
        Seen::InvoiceSent { session, .. } => session.clone(),
        other => panic!("sendInvoice should follow createPurchase, got {other:?}"),
    };
    assert_eq!(
        h.reseller.seen(),
        vec![
            Seen::CreatePurchase {
                accept: Some("application/json".into()),
                content_type: Some(JSON_UTF8.into()),
                body: sent.clone()
            },
            Seen::InvoiceSent { session: session.clone(), reference: reference.clone() },
            Seen::Answered { body: json!({ "invoiceReferenceId": reference }).to_string() },
            Seen::Notified { session, body_len: 0 },
            Seen::Status { reference: reference.clone(), status: Some(InvoiceStatus::Reserved), result_code: 0 },
            Seen::Updated { reference: reference.clone(), result_code: 0 },
            Seen::Committed { reference: reference.clone(), result_code: 0, ers_reference: Some(ers.clone()) },
        ]
    );

    // Glase's side: PAID with the final amount; the wallet paid only that.
    let (status, view) = h.control(reqwest::Method::GET, &format!("/invoices/{reference}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "PAID");
    assert_eq!(view["total"], "12.50");
    assert_eq!(view["ersReference"], ers.as_str());
    assert_eq!(view["payment"]["amount"], "12.50");
    let (status, customer) = h.control(reqwest::Method::GET, &format!("/customers/{MSISDN}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(customer["balance"], "987.50", "1000.00 less the final 12.50, not the reserved 20.00");

    // The journal, over HTTP.
    h.notification_sent("confirmed").await;
    let entries = h.journal_http(&format!("merchant={MERCHANT}")).await;
    let trail = purchase_trail(&entries);
    assert_eq!(trail.request["url"], h.reseller.create_purchase_url());
    assert_eq!(trail.request["body"], sent.as_str());
    assert_eq!(trail.response["httpStatus"], 200);
    assert_eq!(trail.response["contentType"], JSON_UTF8);
    assert_eq!(trail.response["body"], json!({ "invoiceReferenceId": reference }).to_string());
    assert_eq!(trail.ended["outcome"], json!({"outcome": "accepted", "invoiceReference": reference}));
    let (started_seq, started) = purchase_started(&h, &trail.request["purchase"]);
    assert_eq!(started["merchantId"], MERCHANT);
    assert_eq!(started["token"], "machine-1");
    assert_eq!(started["amount"], "20.00");
    assert_eq!(started["msisdn"], MSISDN);
    assert!(started_seq < seq(&trail.request));
    assert_eq!(
        transitions(&entries, &reference),
        vec![
            transition("ISSUED", "RESERVED", "customer confirmed reservation"),
            transition("RESERVED", "PAID", "reservation committed"),
        ]
    );
    let due_entry = only(machine_entries(&entries, "notificationDue"), "notificationDue");
    let due = &due_entry["event"];
    assert_eq!(due["reason"], "confirmed");
    assert_eq!(due["url"], format!("{}/notify?token=s1", h.reseller.base_url));
    let sent = only(of_kind(&entries, "notificationSent"), "notificationSent");
    assert_eq!(
        (sent["reason"].as_str(), sent["httpStatus"].as_u64(), sent["attempt"].as_u64()),
        (Some("confirmed"), Some(200), Some(1))
    );
    let operations: Vec<&str> =
        of_kind(&entries, "soapRequest").iter().map(|e| e["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["sendInvoice", "getPaymentStatus", "updateInvoice", "commitReservation"]);
    // The order of the whole story.
    let first = |pred: &dyn Fn(&Value) -> bool| seq(entries.iter().find(|e| pred(e)).unwrap());
    assert!(first(&|e| e["kind"] == "createPurchaseRequest") < first(&|e| e["operation"] == "sendInvoice"));
    assert!(first(&|e| e["operation"] == "sendInvoice") < first(&|e| e["kind"] == "createPurchaseResponse"));
    assert!(trail.ended_seq < seq(due_entry));
    assert!(seq(due_entry) < first(&|e| e["operation"] == "getPaymentStatus"));
    assert!(first(&|e| e["operation"] == "updateInvoice") < first(&|e| e["operation"] == "commitReservation"));
    assert!(machine_events(&entries, "statusAcknowledged").iter().any(|e| e["invoice"] == reference));
    h.server.shutdown().await;
}

// ====================================================================== 2. dialects

const LEGACY_BODY: &str =
    r#"{"reservationToken":"machine-1","reservationAmount":"20.00","currency":"EUR","msisdn":"483344323423"}"#;

#[tokio::test]
async fn a_merchant_configured_for_the_legacy_dialect_gets_reservation_token_and_a_string_amount() {
    let h = start(|config| config.resellers[0].create_purchase_dialect = Dialect::Legacy).await;
    let reference = h.scan_accepted().await;
    let Seen::CreatePurchase { body, accept, content_type } = &h.reseller.seen()[0] else { panic!() };
    assert_eq!(body, LEGACY_BODY);
    let parsed: Value = serde_json::from_str(body).unwrap();
    assert!(parsed["reservationAmount"].is_string(), "the legacy amount is a string");
    assert!(parsed.get("token").is_none() && parsed.get("amount").is_none());
    assert_eq!((accept.as_deref(), content_type.as_deref()), (Some("application/json"), Some(JSON_UTF8)));
    let trail = purchase_trail(&h.journal_after(0));
    assert_eq!(trail.request["body"], LEGACY_BODY);
    assert_eq!(trail.ended["outcome"]["invoiceReference"], reference.as_str());
}

#[tokio::test]
async fn put_merchant_switches_the_create_purchase_dialect_at_run_time() {
    let h = start(|_| {}).await;
    let url = h.reseller.create_purchase_url();
    let (status, body) = h
        .control(
            reqwest::Method::PUT,
            "/merchants/glase-demo",
            Some(json!({"createPurchaseUrl": url, "dialect": "legacy"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dialect"], "legacy");
    assert_eq!(body["createPurchaseUrl"], url.as_str());
    h.scan_accepted().await;
    let (status, _) = h
        .control(
            reqwest::Method::PUT,
            "/merchants/glase-demo",
            Some(json!({"createPurchaseUrl": url, "dialect": "seed"})),
        )
        .await;
    assert_eq!(status, 200);
    h.scan_accepted().await;
    let bodies: Vec<String> = h
        .reseller
        .seen()
        .into_iter()
        .filter_map(|s| match s {
            Seen::CreatePurchase { body, .. } => Some(body),
            _ => None,
        })
        .collect();
    assert_eq!(
        bodies,
        [LEGACY_BODY, r#"{"token":"machine-1","amount":20.00,"currency":"EUR","msisdn":"483344323423"}"#]
    );
    let entries = h.journal_after(0);
    let journaled: Vec<&str> =
        of_kind(&entries, "createPurchaseRequest").iter().map(|e| e["body"].as_str().unwrap()).collect();
    assert_eq!(journaled, bodies);
    assert_eq!(
        of_kind(&entries, "control").iter().filter(|e| e["action"] == "setCreatePurchaseUrl").count(),
        2,
        "each PUT is journaled"
    );
}

// ====================================================================== 3. error codes

#[tokio::test]
async fn each_documented_error_code_is_recorded_as_declined_with_that_code() {
    let h = start(|_| {}).await;
    for code in ["INSUFFICIENT_FUNDS", "DEVICE_IN_USE", "DEVICE_UNAVAILABLE", "INVOICING_ERROR", "SYSTEM_ERROR"] {
        h.reseller.set(Behaviour::ErrorCode(code));
        let before = h.last_seq();
        let report = h.scan(ScanOptions::default()).await;
        assert_eq!(report.outcome, PurchaseOutcome::Declined { error_code: code.to_owned() });
        assert!(report.invoices_issued_during_call.is_empty());
        let entries = h.journal_after(before);
        let trail = purchase_trail(&entries);
        assert_eq!(trail.response["httpStatus"], 200, "{code}");
        assert_eq!(trail.response["body"], json!({ "errorCode": code }).to_string());
        assert_eq!(trail.ended["outcome"], json!({"outcome": "declined", "errorCode": code}));
        assert!(of_kind(&entries, "soapRequest").is_empty(), "{code}: no invoice was involved");
    }
    assert!(h.mock.invoices(None).is_empty());
    // The control API reports the same.
    h.reseller.set(Behaviour::ErrorCode("DEVICE_IN_USE"));
    let (status, body) = h.post("/customer/scan", json!({"qr": MACHINE_QR})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["purchase"]["outcome"], "declined");
    assert_eq!(body["purchase"]["errorCode"], "DEVICE_IN_USE");
    assert!(body["invoice"].is_null());
}

// ====================================================================== 4. violations

/// Scans with the reseller misbehaving; asserts a violation mentioning `expected`, journaled,
/// and that no invoice reached the customer. Returns the journal of the purchase.
async fn assert_violation(h: &Harness, behaviour: Behaviour, expected: &str) -> Vec<Value> {
    h.reseller.set(behaviour.clone());
    let before = h.last_seq();
    let report = h.scan(ScanOptions::default()).await;
    let PurchaseOutcome::Violation { violation } = &report.outcome else {
        panic!("{behaviour:?}: expected a violation, got {:?}", report.outcome);
    };
    assert!(violation.contains(expected), "{behaviour:?}: {violation:?} should mention {expected:?}");
    let entries = h.journal_after(before);
    let trail = purchase_trail(&entries);
    assert_eq!(trail.ended["outcome"], json!({"outcome": "violation", "violation": violation}));
    assert!(
        machine_events(&entries, "customerScanned").is_empty(),
        "{behaviour:?}: nothing may be shown to the customer after a violation"
    );
    for record in h.mock.invoices(None) {
        assert_eq!(record.opened_by, None, "{behaviour:?}: invoice {} must not be open in the app", record.reference);
    }
    entries
}

#[tokio::test]
async fn a_create_purchase_answer_after_the_ups_timeout_is_a_violation() {
    let h = start(|config| config.ups.timeout = Duration::from_millis(300)).await;
    let started = Instant::now();
    let entries = assert_violation(
        &h,
        Behaviour::Sleep(Duration::from_millis(1500)),
        "no createPurchase answer within the UPS timeout",
    )
    .await;
    let waited = started.elapsed();
    // The violation text says the UPS timed out; here only that it did not give up early.
    assert!(waited >= Duration::from_millis(300), "gave up after {waited:?}");
    let response = only(of_kind(&entries, "createPurchaseResponse"), "createPurchaseResponse");
    assert_eq!(response["error"], "timed out");
    assert!(response["httpStatus"].is_null());
}

#[tokio::test]
async fn an_http_500_answer_is_a_violation() {
    let h = start(|_| {}).await;
    let entries = assert_violation(&h, Behaviour::Http500, "answered HTTP 500").await;
    let response = only(of_kind(&entries, "createPurchaseResponse"), "createPurchaseResponse");
    assert_eq!(response["httpStatus"], 500);
    assert_eq!(response["body"], "reseller backend crashed");
}

#[tokio::test]
async fn a_malformed_json_answer_is_a_violation() {
    let h = start(|_| {}).await;
    let entries = assert_violation(&h, Behaviour::MalformedJson, "not valid JSON").await;
    let response = only(of_kind(&entries, "createPurchaseResponse"), "createPurchaseResponse");
    assert_eq!(response["body"], r#"{"invoiceReferenceId": "#);
}

#[tokio::test]
async fn an_answer_that_is_not_application_json_is_a_violation() {
    let h = start(|_| {}).await;
    let entries = assert_violation(&h, Behaviour::WrongContentType, "Content-Type").await;
    let response = only(of_kind(&entries, "createPurchaseResponse"), "createPurchaseResponse");
    assert_eq!(response["contentType"], "text/plain;charset=UTF-8");
    // The invoice itself was fine: it stays ISSUED and unseen.
    let issued = only(machine_events(&entries, "invoiceIssued"), "invoiceIssued");
    assert_eq!(h.status(issued["invoice"].as_str().unwrap()), InvoiceStatus::Issued);
}

#[tokio::test]
async fn an_unknown_error_code_is_a_violation() {
    let h = start(|_| {}).await;
    let entries =
        assert_violation(&h, Behaviour::ErrorCode("OUT_OF_COFFEE"), "errorCode \"OUT_OF_COFFEE\" is not one of").await;
    assert!(!of_kind(&entries, "createPurchaseResponse")[0]["body"].as_str().unwrap().is_empty());
    // Seed spelling of a wire value is not a loophole either.
    assert_violation(&h, Behaviour::ErrorCode("system_error"), "is not one of").await;
}

#[tokio::test]
async fn an_invoice_created_before_the_call_is_a_violation() {
    let h = start(|_| {}).await;
    // A perfectly good reservation of the same merchant, issued before the scan.
    h.reseller.set(Behaviour::Normal);
    let earlier = h.scan_accepted().await;
    h.mock.walk_away(&earlier).unwrap();
    assert_violation(
        &h,
        Behaviour::AnswerReference(earlier.clone()),
        "was not created by sendInvoice during this createPurchase call",
    )
    .await;
    assert_eq!(h.status(&earlier), InvoiceStatus::Issued);
    // A reference that names nothing at all.
    assert_violation(
        &h,
        Behaviour::AnswerReference("20170315072260070".into()),
        "is not an invoice of merchant glase-demo",
    )
    .await;
}

#[tokio::test]
async fn another_merchants_invoice_is_a_violation() {
    let h = start(|_| {}).await;
    add_other_merchant(&h.mock);
    assert_violation(&h, Behaviour::ForeignInvoice, "is not an invoice of merchant glase-demo").await;
    let foreign = h.mock.invoices(Some(OTHER_TERMINAL));
    assert_eq!(foreign.len(), 1, "the other merchant's terminal issued it during the call");
    assert_eq!(foreign[0].status, InvoiceStatus::Issued);
}

#[tokio::test]
async fn an_immediate_debit_invoice_is_a_violation() {
    let h = start(|_| {}).await;
    assert_violation(&h, Behaviour::ImmediateDebit, "has paymentMode IMMEDIATE_DEBIT; the unattended flow reserves")
        .await;
}

#[tokio::test]
async fn an_invoice_above_the_offered_amount_is_a_violation() {
    let h = start(|_| {}).await;
    let entries = assert_violation(&h, Behaviour::Overcharge, "totals 21.00, more than the offered 20.00").await;
    assert_eq!(only(machine_events(&entries, "invoiceIssued"), "invoiceIssued")["amount"], "21.00");
}

#[tokio::test]
async fn an_unreachable_create_purchase_url_is_a_violation() {
    let h = start(|_| {}).await;
    // A port nothing listens on any more.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/seqr/createPurchase", closed.local_addr().unwrap());
    drop(closed);
    h.mock.set_create_purchase_url(MERCHANT, Some(&url), None).unwrap();
    let entries = assert_violation(&h, Behaviour::Normal, "createPurchase could not be called").await;
    let response = only(of_kind(&entries, "createPurchaseResponse"), "createPurchaseResponse");
    assert!(response["error"].is_string() && response["httpStatus"].is_null(), "{response}");
    assert!(h.reseller.seen().is_empty());
}

// ====================================================================== 5. customer cancels

#[tokio::test]
async fn a_customer_cancel_is_notified_and_the_reseller_sees_canceled() {
    let h = start(|_| {}).await;
    let reference = h.scan_accepted().await;
    let (status, body) = h.post("/customer/cancel", json!({"invoiceReference": reference})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "CANCELED");
    let seen = h.reseller_saw("the CANCELED status", |s| matches!(s, Seen::Status { .. })).await;
    assert_eq!(
        seen,
        Seen::Status { reference: reference.clone(), status: Some(InvoiceStatus::Canceled), result_code: 0 }
    );
    h.notification_sent("canceled").await;
    // The reseller released the machine: nothing vended, nothing charged.
    assert!(!h.reseller.seen().iter().any(|s| matches!(s, Seen::Updated { .. } | Seen::Committed { .. })));
    assert_eq!(h.status(&reference), InvoiceStatus::Canceled);
    assert_eq!(h.balance(), dec("1000.00"));
    let entries = h.journal_http(&format!("merchant={MERCHANT}&invoice={reference}")).await;
    assert_eq!(transitions(&entries, &reference), vec![transition("ISSUED", "CANCELED", "canceled by customer")]);
    assert_eq!(only(machine_events(&entries, "notificationDue"), "notificationDue")["reason"], "canceled");
    assert_eq!(only(of_kind(&entries, "notificationSent"), "notificationSent")["httpStatus"], 200);
}

// ====================================================================== 6. status never fetched

#[tokio::test]
async fn a_reservation_whose_status_is_never_fetched_is_reversed_by_the_timer() {
    let h = start(|_| {}).await;
    h.reseller.set(Behaviour::NeverFetchStatus);
    let (status, clock) = h.control(reqwest::Method::PUT, "/clock", Some(json!({"deadlineScale": 0.01}))).await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["deadlineScale"], 0.01);
    assert_eq!(clock["deadlines"]["statusDeadline"], "200ms", "{clock}");
    let (status, body) = h.post("/customer/scan", json!({"qr": MACHINE_QR, "amount": "20.00"})).await;
    assert_eq!(status, 200, "{body}");
    let reference = body["purchase"]["invoiceReference"].as_str().unwrap().to_owned();
    let (status, body) = h.post("/customer/confirm", json!({"invoiceReference": reference})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.balance(), dec("980.00"), "the reservation holds the money");
    let confirmed = h.last_seq();

    // No request arrives: the timer alone reverses it.
    h.wait_status(&reference, InvoiceStatus::Canceled).await;
    h.notification_sent("reversed").await;
    let entries = h.journal_http(&format!("merchant={MERCHANT}&invoice={reference}")).await;
    assert_eq!(
        transitions(&entries, &reference),
        vec![
            transition("ISSUED", "RESERVED", "customer confirmed reservation"),
            transition("RESERVED", "CANCELED", "reversed: status not fetched"),
        ]
    );
    assert_eq!(held_for(&h, &reference, &entries), Duration::from_millis(200), "the scaled 20 s status deadline");
    let reasons: Vec<&str> =
        machine_events(&entries, "notificationDue").iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["confirmed", "reversed"]);
    assert!(of_kind(&entries, "soapRequest").iter().all(|e| seq(e) < confirmed), "no SOAP request after the confirm");
    assert_eq!(h.reseller.seen().iter().filter(|s| matches!(s, Seen::Notified { .. })).count(), 2);
    assert!(!h.reseller.seen().iter().any(|s| matches!(s, Seen::Status { .. })));
    assert_eq!(h.balance(), dec("1000.00"), "the reversal released the reservation");
}

// ====================================================================== 7. never committed

#[tokio::test]
async fn a_reservation_never_committed_is_canceled_after_the_scaled_reservation_timeout() {
    let h = start(|config| {
        config.deadlines = Deadlines {
            status_deadline: Duration::from_secs(60),
            reservation_timeout: Duration::from_secs(10),
            ..Deadlines::default()
        };
        // 60 s → 3 s (plenty for the reseller's status fetch), 10 s → 500 ms.
        config.deadline_scale = 0.05;
    })
    .await;
    h.reseller.set(Behaviour::NeverCommit);
    let reference = h.scan_accepted().await;
    h.mock.confirm(&reference, None, None).unwrap();
    let seen = h.reseller_saw("the RESERVED status", |s| matches!(s, Seen::Status { .. })).await;
    assert_eq!(
        seen,
        Seen::Status { reference: reference.clone(), status: Some(InvoiceStatus::Reserved), result_code: 0 }
    );
    h.wait_status(&reference, InvoiceStatus::Canceled).await;
    h.notification_sent("expired").await;
    let entries = h.journal_after(0);
    assert_eq!(
        transitions(&entries, &reference),
        vec![
            transition("ISSUED", "RESERVED", "customer confirmed reservation"),
            transition("RESERVED", "CANCELED", "reservation expired: not committed in time"),
        ]
    );
    assert_eq!(held_for(&h, &reference, &entries), Duration::from_millis(500), "the scaled 10 s reservation timeout");
    assert!(machine_events(&entries, "notificationDue").iter().any(|e| e["reason"] == "expired"));
    // The reseller learns it from the expiry notification.
    h.reseller_saw("the CANCELED status", |s| matches!(s, Seen::Status { status: Some(InvoiceStatus::Canceled), .. }))
        .await;
    assert_eq!(h.balance(), dec("1000.00"));
}

#[tokio::test]
async fn advancing_the_clock_past_the_reservation_timeout_cancels_an_uncommitted_reservation() {
    let h = start(|_| {}).await;
    h.reseller.set(Behaviour::NeverCommit);
    let reference = h.scan_accepted().await;
    let (status, body) = h.post("/customer/confirm", json!({"invoiceReference": reference})).await;
    assert_eq!(status, 200, "{body}");
    h.reseller_saw("the RESERVED status", |s| matches!(s, Seen::Status { status: Some(InvoiceStatus::Reserved), .. }))
        .await;
    let (status, body) = h.post("/clock/advance", json!({"by": "599s"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.status(&reference), InvoiceStatus::Reserved, "not yet: the timeout is 600 s");
    let (status, _) = h.post("/clock/advance", json!({"by": "1s"})).await;
    assert_eq!(status, 200);
    assert_eq!(h.status(&reference), InvoiceStatus::Canceled, "the advance fires what fell due at once");
    let entries = h.journal_after(0);
    assert_eq!(
        transitions(&entries, &reference).last().unwrap(),
        &transition("RESERVED", "CANCELED", "reservation expired: not committed in time")
    );
    h.notification_sent("expired").await;
}

// ====================================================================== 8. early notification

#[tokio::test]
async fn an_early_notification_reaches_the_reseller_before_its_answer_and_shows_issued() {
    let h = start(|_| {}).await;
    let (status, body) =
        h.post("/customer/scan", json!({"qr": MACHINE_QR, "amount": "20.00", "notifyEarly": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["purchase"]["outcome"], "accepted", "{body}");
    let reference = body["purchase"]["invoiceReference"].as_str().unwrap().to_owned();

    // The reseller's own log: notified before it even had the sendInvoice answer.
    let notified = h.reseller.position(|s| matches!(s, Seen::Notified { .. })).unwrap();
    let invoice_sent = h.reseller.position(|s| matches!(s, Seen::InvoiceSent { .. })).unwrap();
    let answered = h.reseller.position(|s| matches!(s, Seen::Answered { .. })).unwrap();
    assert!(notified < invoice_sent && invoice_sent < answered, "{:#?}", h.reseller.seen());
    let status = h.reseller_saw("the early status", |s| matches!(s, Seen::Status { .. })).await;
    assert_eq!(
        status,
        Seen::Status { reference: reference.clone(), status: Some(InvoiceStatus::Issued), result_code: 0 }
    );
    assert!(!h.reseller.seen().iter().any(|s| matches!(s, Seen::Updated { .. } | Seen::Committed { .. })));

    let entries = h.journal_after(0);
    let due = only(machine_entries(&entries, "notificationDue"), "notificationDue");
    assert_eq!(due["event"]["reason"], "early (before the createPurchase answer)");
    let sent = only(of_kind(&entries, "notificationSent"), "notificationSent");
    assert_eq!(sent["httpStatus"], 200);
    let trail = purchase_trail(&entries);
    assert!(seq(due) < seq(&trail.response) && seq(sent) < seq(&trail.response), "sent before the answer came back");

    // The flow then goes on as usual.
    h.mock.confirm(&reference, None, None).unwrap();
    h.reseller_saw("commitReservation", |s| matches!(s, Seen::Committed { result_code: 0, .. })).await;
    assert_eq!(h.status(&reference), InvoiceStatus::Paid);
}

// ====================================================================== 9. control API errors

/// A mock whose demo merchant has no createPurchase URL.
async fn start_without_url() -> Harness {
    start(|config| config.resellers.clear()).await
}

/// Issue 10: the app reads a machine's QR code as a URL. `t=M%31` reaches the merchant
/// as the token `M1`, a fragment is dropped, and an all upper-case code (QR alphanumeric
/// mode) is the same code.
#[tokio::test]
async fn a_percent_encoded_upper_case_qr_with_a_fragment_reaches_the_merchant_decoded() {
    let h = start(|_| {}).await;
    let qr = "HTTP://SEQR.SE/000/UPS?W=glase-demo&T=M%31%2Fa%20b#printed-label";
    let (status, body) = h.post("/customer/scan", json!({"qr": qr, "amount": "20.00"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["purchase"]["token"], "M1/a b", "{body}");
    let Seen::CreatePurchase { body: sent, .. } = &h.reseller.seen()[0] else { panic!("{:?}", h.reseller.seen()) };
    let sent: Value = serde_json::from_str(sent).unwrap();
    assert_eq!(sent["token"], "M1/a b");
}

#[tokio::test]
async fn malformed_unattended_qr_codes_get_400_with_the_reason() {
    let h = start(|_| {}).await;
    for (qr, reason) in [
        ("HTTP://SEQR.SE/000/ups?w=glase-demo", "missing token t"),
        ("HTTP://SEQR.SE/000/ups?t=machine-1", "missing merchant id w"),
        ("HTTP://SEQR.SE/000/ups?w=&t=machine-1", "parameter w is empty"),
        ("HTTP://SEQR.SE/000/ups?w=glase-demo&t=", "parameter t is empty"),
        ("HTTP://SEQR.SE/000/ups?w=glase-demo&t=1&x=2", "unknown parameter \"x\""),
        ("HTTP://SEQR.SE/000/ups?w=glase-demo&t=1&t=2", "parameter t appears twice"),
        ("HTTP://SEQR.SE/000/ups?w=glase-demo&machine-1", "\"machine-1\" is not key=value"),
        ("HTTP://SEQR.SE/000/ups?w=glase-demo&t=%4", "malformed percent-encoding"),
    ] {
        let (status, body) = h.post("/customer/scan", json!({"qr": qr})).await;
        assert_eq!(status, 400, "{qr}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("malformed unattended QR code") && error.contains(reason), "{qr}: {error:?}");
    }
    let (status, body) = h.post("/customer/scan", json!({"qr": MACHINE_QR, "amount": "0"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("must be positive"), "{body}");
    assert!(h.reseller.seen().is_empty(), "no createPurchase for a bad scan");
    assert!(of_kind(&h.journal_all(), "createPurchaseRequest").is_empty());
}

#[tokio::test]
async fn an_unknown_merchant_gets_404() {
    let h = start(|_| {}).await;
    let (status, body) = h.post("/customer/scan", json!({"qr": "HTTP://SEQR.SE/000/ups?w=nobody&t=machine-1"})).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "no merchant has merchantId \"nobody\"");
    assert!(h.reseller.seen().is_empty());
}

#[tokio::test]
async fn a_merchant_without_create_purchase_url_gets_409_telling_how_to_configure_it() {
    let h = start_without_url().await;
    let (status, body) = h.post("/customer/scan", json!({"qr": MACHINE_QR})).await;
    assert_eq!(status, 409, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("has no createPurchase URL configured"), "{error}");
    assert!(error.contains("create_purchase_url") && error.contains("PUT /control/merchants/glase-demo"), "{error}");
    // Once configured, the same scan works.
    let url = h.reseller.create_purchase_url();
    let (status, _) =
        h.control(reqwest::Method::PUT, "/merchants/glase-demo", Some(json!({"createPurchaseUrl": url}))).await;
    assert_eq!(status, 200);
    let (status, body) = h.post("/customer/scan", json!({"qr": MACHINE_QR})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["purchase"]["outcome"], "accepted");
}

#[tokio::test]
async fn put_merchant_rejects_a_url_not_ending_in_create_purchase() {
    let h = start_without_url().await;
    for url in [
        "http://127.0.0.1:9/seqr/purchase",
        "http://127.0.0.1:9/createPurchase/x",
        "ftp://host/createPurchase",
        "createPurchase",
    ] {
        let (status, body) =
            h.control(reqwest::Method::PUT, "/merchants/glase-demo", Some(json!({"createPurchaseUrl": url}))).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert!(body["error"].as_str().unwrap().contains("createPurchase URL"), "{url}: {body}");
    }
    let (_, body) = h
        .control(
            reqwest::Method::PUT,
            "/merchants/glase-demo",
            Some(json!({"createPurchaseUrl": "https://shop.example/seqr/purchase"})),
        )
        .await;
    assert!(body["error"].as_str().unwrap().contains("must end with \"createPurchase\""), "{body}");
    assert!(h.mock.merchant(MERCHANT).unwrap().create_purchase_url.is_none(), "nothing changed");
    let (status, body) = h
        .control(
            reqwest::Method::PUT,
            "/merchants/nobody",
            Some(json!({"createPurchaseUrl": "https://shop.example/createPurchase"})),
        )
        .await;
    assert_eq!(status, 404, "{body}");
}

/// docs/mock.md (the control API): `POST /control/resellers` takes "the config file's
/// `[[resellers]]` fields as JSON (camelCase: `userId`, `createPurchaseUrl`, …)".
#[tokio::test]
async fn resellers_added_over_the_control_api_take_the_documented_camel_case_fields() {
    let h = start(|_| {}).await;
    let url = h.reseller.create_purchase_url();
    let body = json!({"id": "vending-co", "userId": "8800", "password": "secret1", "createPurchaseUrl": url});
    let (status, body) = h.post("/resellers", body).await;
    assert_eq!(status, 201, "{body}");
    let merchant = h.mock.merchant("vending-co").unwrap();
    assert_eq!(merchant.create_purchase_url.as_deref(), Some(url.as_str()));
    // Its machines' QR codes now reach the reseller's createPurchase.
    h.reseller.set(Behaviour::ErrorCode("DEVICE_UNAVAILABLE"));
    let (status, body) = h.post("/customer/scan", json!({"qr": "HTTP://SEQR.SE/000/ups?w=vending-co&t=m2"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["purchase"]["merchantId"], &body["purchase"]["outcome"]),
        (&json!("vending-co"), &json!("declined"))
    );
    let Seen::CreatePurchase { body, .. } = &h.reseller.seen()[0] else { panic!("{:?}", h.reseller.seen()) };
    assert!(body.starts_with(r#"{"token":"m2","#), "{body}");
}

/// Regression (issue 14): every refusal of `POST /control/resellers` and
/// `/control/terminals` answered 409, bad input included. Bad input is 400, a name that
/// is taken 409, an unknown reseller 404; each changes nothing.
#[tokio::test]
async fn refused_merchants_and_terminals_get_the_status_of_their_reason() {
    let h = start(|_| {}).await;
    let url = h.reseller.create_purchase_url();
    let shop =
        |id: &str, url: &str| json!({"id": id, "userId": "8801", "password": "secret1", "createPurchaseUrl": url});
    let (status, body) = h.post("/resellers", shop("bad-url", "ftp://shop.example/createPurchase")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("must be https://"), "{body}");
    assert_eq!(h.post("/resellers", shop("vending-co", &url)).await.0, 201);
    let (status, body) = h.post("/resellers", shop("vending-co", &url)).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("exists already"), "{body}");
    let till = |id: &str, reseller: &str, password: &str| json!({"id": id, "reseller": reseller, "password": password});
    let (status, body) = h.post("/terminals", till("till-9", "vending-co", "abc")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("at least 4 characters"), "{body}");
    let (status, body) = h.post("/terminals", till("till-9", "nobody", "secret1")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(h.post("/terminals", till("till-9", "vending-co", "secret1")).await.0, 201);
    assert_eq!(h.post("/terminals", till("till-9", "vending-co", "secret1")).await.0, 409);
    assert!(h.mock.merchant("bad-url").is_none(), "a refused reseller was added");
}

// ====================================================================== bugs found

/// Every entry about a purchase should be found by the merchant filter, like purchaseEnded.
#[tokio::test]
async fn purchase_started_is_in_the_merchants_journal() {
    let h = start(|_| {}).await;
    h.scan_accepted().await;
    let entries = h.journal_http(&format!("merchant={MERCHANT}")).await;
    let started = machine_events(&entries, "purchaseStarted");
    assert_eq!(
        started.len(),
        1,
        "purchaseStarted missing from ?merchant={MERCHANT}: {:#?}",
        machine_events(&h.journal_all(), "purchaseStarted")
    );
}

/// Deadlines that fall due while a createPurchase call is open are journaled under the
/// merchant that was scanned, not under the invoice's own merchant.
#[tokio::test]
async fn expiries_during_a_create_purchase_call_are_journaled_under_their_own_merchant() {
    // No server, so no deadline timer: the deadline can only fire inside the purchase.
    let clock = ManualClock::new(Timestamp(1_700_000_000_000));
    let reseller = TestReseller::start().await;
    let (mut merchant, _, _) = Config::demo_entries();
    merchant.create_purchase_url = Some(reseller.create_purchase_url());
    let config = Config { resellers: vec![merchant], ..Config::default() };
    let mock = Mock::new(&config, Arc::new(clock.clone())).unwrap();
    add_other_merchant(&mock);
    // other-shop's reservation, whose 20 s status deadline is running.
    let request = Request::SendInvoice(SendInvoice {
        context: terminal_context(OTHER_TERMINAL, OTHER_PASSWORD),
        invoice: Some(invoice(PaymentMode::ReservationRequired, dec("5.00"), "EUR", None)),
        tokens: Vec::new(),
    });
    let mut body = Vec::new();
    encode_request(&request, &mut body);
    let answer = mock.handle_soap("/extclientproxy/service/v2", &body).await;
    let Ok(Reply::Response(Response {
        detail: ResponseDetail::SendInvoice { invoice_reference: Some(other), .. },
        ..
    })) = decode_reply(&answer.body)
    else {
        panic!("sendInvoice failed");
    };
    mock.confirm(&other, None, None).unwrap();
    // While glase-demo's createPurchase is open, the deadline passes.
    *reseller.advance_on_create_purchase.lock().unwrap() = Some((clock.clone(), Duration::from_secs(21)));
    reseller.set(Behaviour::ErrorCode("DEVICE_UNAVAILABLE"));
    mock.scan_qr(MACHINE_QR, None, &ScanOptions::default()).await.unwrap();
    assert_eq!(mock.invoice(&other).unwrap().record.status, InvoiceStatus::Canceled, "the deadline fired");
    let journal = |merchant: &str| -> Vec<Value> {
        mock.journal(&Filter { merchant: Some(merchant.to_owned()), ..Filter::default() })
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect()
    };
    let reversal = transition("RESERVED", "CANCELED", "reversed: status not fetched");
    let (theirs, ours) = (transitions(&journal("other-shop"), &other), transitions(&journal(MERCHANT), &other));
    assert!(
        theirs.contains(&reversal) && ours.is_empty(),
        "other-shop's reversal should be under other-shop, not glase-demo: other-shop has {theirs:?}, glase-demo has {ours:?}"
    );
}

/// docs/mock.md: `PUT /control/merchants/{merchantId}` takes `{"createPurchaseUrl", "dialect"?}`
/// and the field's doc says "`null` removes it"; leaving it out must not remove it too.
#[tokio::test]
async fn put_merchant_with_only_a_dialect_keeps_the_create_purchase_url() {
    let h = start(|_| {}).await;
    let (status, body) =
        h.control(reqwest::Method::PUT, "/merchants/glase-demo", Some(json!({"dialect": "legacy"}))).await;
    // Either keep the URL (and switch the dialect) or reject the body; never drop the URL silently.
    if status == 200 {
        assert_eq!(body["createPurchaseUrl"], h.reseller.create_purchase_url().as_str(), "{body}");
        h.scan_accepted().await;
    } else {
        assert_eq!(status, 400, "{body}");
    }
}
