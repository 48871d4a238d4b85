//! Outbound HTTPS with a configurable extra CA (`tls.extra_ca_file`): the UPS's
//! createPurchase and notification callbacks reach a merchant whose certificate is signed
//! by a private CA when that CA is configured, fail clearly when it is not, and a bad CA
//! file stops the mock from starting with an error naming the file.
//!
//! Everything runs in-process: the CA and the server certificate (for `127.0.0.1` and
//! `localhost`) are generated with rcgen, and a tiny HTTPS merchant (tokio-rustls +
//! hyper + an axum `Router`) listens on 127.0.0.1:0 and records what it receives.
#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use glase_protocol::request::SendInvoice;
use glase_protocol::{
    Amount, ClientContext, Decimal, Invoice, InvoiceRow, PaymentMode, Reply, Request, ResponseDetail, decode_reply,
    encode_request,
};
use mock_glase::config::{ConfigError, NotificationConfig, TlsConfig};
use mock_glase::journal::{Entry, Filter, Record};
use mock_glase::machine::ups::{PurchaseOutcome, PurchaseReport, ScanOptions};
use mock_glase::mock::ScanResult;
use mock_glase::{Config, ManualClock, Mock, Timestamp};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::sync::mpsc;

/// How long a test waits for something that happens in the background.
const WAIT: Duration = Duration::from_secs(5);
const SOAP_PATH: &str = "/extclientproxy/service/v2";
const UNATTENDED_QR: &str = "HTTP://SEQR.SE/000/ups?w=glase-demo&t=m1";

// ---- certificates ----

/// A private CA and a server certificate it signed for `127.0.0.1` and `localhost`.
struct Pki {
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key_pkcs8: Vec<u8>,
}

/// A self-signed CA certificate and its issuer handle.
fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn new_pki() -> Pki {
    let ca = new_ca("mock-glase test CA");
    let server_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let server_cert = params.signed_by(&server_key, &*ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_chain: vec![server_cert.der().clone()],
        server_key_pkcs8: server_key.serialize_der(),
    }
}

/// A file under the temp dir, removed when dropped (also when the test panics).
struct TempFile(PathBuf);

impl TempFile {
    fn new(label: &str, contents: &[u8]) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let path =
            std::env::temp_dir().join(format!("mock-glase-tls-{}-{unique}-{nanos}-{label}.pem", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---- the HTTPS merchant ----

/// What the merchant's side of the connection saw.
#[derive(Debug)]
enum Seen {
    Request {
        path: String,
        content_type: Option<String>,
        body: Bytes,
    },
    /// The TLS handshake did not complete (e.g. the client rejected the certificate).
    HandshakeFailed(String),
}

struct Merchant {
    base_url: String,
    seen: mpsc::UnboundedReceiver<Seen>,
}

impl Merchant {
    fn create_purchase_url(&self) -> String {
        format!("{}/seqr/createPurchase", self.base_url)
    }

    fn notify_url(&self) -> String {
        format!("{}/notify", self.base_url)
    }

    /// The next thing the merchant saw, waiting at most [`WAIT`].
    async fn next(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.seen.recv())
            .await
            .expect("the HTTPS merchant saw something in time")
            .expect("the merchant is running")
    }

    /// The next thing seen must be a handshake the client aborted because it does not
    /// trust the certificate's CA.
    async fn expect_refused_handshake(&mut self) {
        match self.next().await {
            Seen::HandshakeFailed(reason) => assert!(reason.contains("UnknownCA"), "{reason}"),
            other => panic!("expected a refused handshake, got {other:?}"),
        }
    }

    /// Everything seen so far, without waiting.
    fn drain(&mut self) -> Vec<Seen> {
        std::iter::from_fn(|| self.seen.try_recv().ok()).collect()
    }
}

/// Serves HTTPS on 127.0.0.1:0 with the PKI's server certificate: POST /notify → 200,
/// POST /seqr/createPurchase → 200 `{"errorCode":"DEVICE_UNAVAILABLE"}`.
async fn https_merchant(pki: &Pki) -> Merchant {
    // Err only means a provider is already installed (the mock installs ring too).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server_config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            pki.server_chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key_pkcs8.clone())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));

    let (tx, seen) = mpsc::unbounded_channel();
    let record = tx.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let record = record.clone();
        async move {
            let path = request.uri().path().to_owned();
            let content_type =
                request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let is_post = request.method() == axum::http::Method::POST;
            let body = axum::body::to_bytes(request.into_body(), 1024 * 1024).await.unwrap_or_default();
            let _ = record.send(Seen::Request { path: path.clone(), content_type, body });
            match (is_post, path.as_str()) {
                (true, "/notify") => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "ok"),
                (true, "/seqr/createPurchase") => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
                    r#"{"errorCode":"DEVICE_UNAVAILABLE"}"#,
                ),
                _ => (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain")], "not found"),
            }
        }
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let (acceptor, app, tx) = (acceptor.clone(), app.clone(), tx.clone());
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(tls) => {
                        let service = hyper_util::service::TowerToHyperService::new(app);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                            .await;
                    }
                    Err(error) => {
                        let _ = tx.send(Seen::HandshakeFailed(error.to_string()));
                    }
                }
            });
        }
    });
    Merchant { base_url: format!("https://127.0.0.1:{port}"), seen }
}

// ---- the mock ----

/// A mock on the demo setup whose outbound calls trust `extra_ca` (if any), with short
/// timeouts and a single notification attempt. The demo reseller's createPurchase URL is
/// set in the configuration when given.
fn mock_with(extra_ca: Option<&Path>, create_purchase_url: Option<String>) -> Mock {
    let mut config = Config {
        tls: TlsConfig { extra_ca_file: extra_ca.map(Path::to_path_buf) },
        notifications: NotificationConfig {
            attempts: 1,
            timeout: Duration::from_secs(3),
            ..NotificationConfig::default()
        },
        ..Config::default()
    };
    config.ups.timeout = Duration::from_secs(3);
    if let Some(url) = create_purchase_url {
        let (mut demo_reseller, _, _) = Config::demo_entries();
        demo_reseller.create_purchase_url = Some(url);
        config.resellers.push(demo_reseller);
    }
    let clock = ManualClock::new(Timestamp(1_700_000_000_000));
    Mock::new(&config, Arc::new(clock)).expect("the configuration is valid")
}

fn context() -> Option<ClientContext> {
    Some(ClientContext::for_terminal("demo-terminal", "demo1234", "tls-tests", "ref-1"))
}

/// Issues an IMMEDIATE_DEBIT invoice over SOAP and returns its reference.
async fn issue_invoice(mock: &Mock, notification_url: String) -> String {
    let total = || Some(Amount::new("12.50".parse::<Decimal>().unwrap(), "EUR"));
    let request = Request::SendInvoice(SendInvoice {
        context: context(),
        invoice: Some(Invoice {
            payment_mode: Some(PaymentMode::ImmediateDebit),
            title: Some("TLS test".into()),
            invoice_rows: Some(vec![InvoiceRow {
                item_description: Some("Coffee".into()),
                item_quantity: Some(Decimal::ONE),
                item_total_amount: total(),
                ..InvoiceRow::default()
            }]),
            total_amount: total(),
            notification_url: Some(notification_url),
            ..Invoice::default()
        }),
        tokens: Vec::new(),
    });
    let mut body = Vec::new();
    encode_request(&request, &mut body);
    let answer = mock.handle_soap(SOAP_PATH, &body).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    match decode_reply(&answer.body).expect("valid SOAP") {
        Reply::Response(r) => match r.detail {
            ResponseDetail::SendInvoice { invoice_reference: Some(reference), .. } => reference,
            other => panic!("unexpected sendInvoice answer {other:?} ({})", r.result_code),
        },
        Reply::Fault(f) => panic!("fault {f:?}"),
    }
}

async fn unattended_scan(mock: &Mock) -> PurchaseReport {
    match mock.scan_qr(UNATTENDED_QR, None, &ScanOptions::default()).await.expect("the scan is accepted") {
        ScanResult::Unattended { purchase, .. } => purchase,
        other => panic!("expected an unattended purchase, got {other:?}"),
    }
}

/// The journal's last-attempt NotificationSent entry for the invoice, polled for up to
/// [`WAIT`] (the notifier journals asynchronously).
async fn final_notification(mock: &Mock, reference: &str) -> Entry {
    let filter = Filter { invoice: Some(reference.to_owned()), ..Filter::default() };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = mock
            .journal(&filter)
            .into_iter()
            .find(|e| matches!(e.record, Record::NotificationSent { last_attempt: true, .. }));
        if let Some(entry) = found {
            return entry;
        }
        assert!(tokio::time::Instant::now() < deadline, "no final NotificationSent for {reference}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The createPurchase request and answer as the journal recorded them.
fn journaled_create_purchase(mock: &Mock) -> (String, String, Option<u16>, Option<String>) {
    let journal = mock.journal(&Filter::default());
    let (url, body) = journal
        .iter()
        .find_map(|e| match &e.record {
            Record::CreatePurchaseRequest { url, body, .. } => Some((url.clone(), body.clone())),
            _ => None,
        })
        .expect("a CreatePurchaseRequest entry");
    let (status, error) = journal
        .iter()
        .find_map(|e| match &e.record {
            Record::CreatePurchaseResponse { http_status, error, .. } => Some((*http_status, error.clone())),
            _ => None,
        })
        .expect("a CreatePurchaseResponse entry");
    (url, body, status, error)
}

// ---- tests ----

/// Test 1: with the merchant's CA configured, the UPS calls createPurchase over HTTPS
/// and judges the answer.
#[tokio::test]
async fn https_create_purchase_works_with_the_extra_ca() {
    let pki = new_pki();
    let ca_file = TempFile::new("ca", pki.ca_pem.as_bytes());
    let mut merchant = https_merchant(&pki).await;
    let mock = mock_with(Some(ca_file.path()), Some(merchant.create_purchase_url()));

    let report = unattended_scan(&mock).await;
    assert!(
        matches!(&report.outcome, PurchaseOutcome::Declined { error_code } if error_code == "DEVICE_UNAVAILABLE"),
        "{:?}",
        report.outcome
    );

    let (url, journaled_body, status, error) = journaled_create_purchase(&mock);
    assert_eq!(url, merchant.create_purchase_url());
    assert_eq!((status, error), (Some(200), None));
    match merchant.next().await {
        Seen::Request { path, content_type, body } => {
            assert_eq!(path, "/seqr/createPurchase");
            assert_eq!(content_type.as_deref(), Some("application/json;charset=UTF-8"));
            assert_eq!(body, journaled_body.as_bytes(), "the merchant got the body the journal shows");
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["token"], "m1");
            assert_eq!(json["currency"], "EUR");
            assert_eq!(json["msisdn"], "483344323423");
        }
        other => panic!("expected the createPurchase request, got {other:?}"),
    }
    assert!(merchant.drain().is_empty(), "exactly one connection and request");
}

/// Test 2: with the merchant's CA configured, a payment's notification reaches an
/// https notificationUrl and is journaled as delivered.
#[tokio::test]
async fn https_notification_works_with_the_extra_ca() {
    let pki = new_pki();
    let ca_file = TempFile::new("ca", pki.ca_pem.as_bytes());
    let mut merchant = https_merchant(&pki).await;
    let mock = mock_with(Some(ca_file.path()), Some(merchant.create_purchase_url()));

    let reference = issue_invoice(&mock, merchant.notify_url()).await;
    mock.confirm(&reference, None, None).expect("the customer pays");

    match merchant.next().await {
        Seen::Request { path, body, .. } => {
            assert_eq!(path, "/notify");
            assert!(body.is_empty(), "notifications are empty POSTs");
        }
        other => panic!("expected the notification, got {other:?}"),
    }
    let entry = final_notification(&mock, &reference).await;
    let Record::NotificationSent { url, attempt, outcome, http_status, .. } = entry.record else { unreachable!() };
    assert_eq!(url, merchant.notify_url());
    assert_eq!(attempt, 1);
    assert_eq!(http_status, Some(200), "{outcome}");
}

/// Test 3: without the CA the certificate is not trusted: createPurchase is a violation
/// naming the certificate problem, the notification is journaled as failed, and the
/// merchant never sees a request.
#[tokio::test]
async fn without_the_extra_ca_https_calls_fail_clearly() {
    let pki = new_pki();
    let mut merchant = https_merchant(&pki).await;
    let mock = mock_with(None, None);
    // The run-time route, rather than the configuration file's.
    mock.set_create_purchase_url("glase-demo", Some(&merchant.create_purchase_url()), None).unwrap();

    let report = unattended_scan(&mock).await;
    let PurchaseOutcome::Violation { violation } = &report.outcome else {
        panic!("expected a violation, got {:?}", report.outcome)
    };
    assert!(violation.contains("createPurchase could not be called"), "{violation}");
    assert!(violation.to_lowercase().contains("certificate"), "the violation should name the TLS problem: {violation}");
    let (_, _, status, error) = journaled_create_purchase(&mock);
    assert_eq!(status, None);
    assert!(error.as_deref().is_some_and(|e| e.to_lowercase().contains("certificate")), "{error:?}");
    merchant.expect_refused_handshake().await;

    let reference = issue_invoice(&mock, merchant.notify_url()).await;
    mock.confirm(&reference, None, None).expect("the customer pays");
    let entry = final_notification(&mock, &reference).await;
    let Record::NotificationSent { url, attempt, outcome, http_status, .. } = entry.record else { unreachable!() };
    assert_eq!(url, merchant.notify_url());
    assert_eq!(attempt, 1, "notifications.attempts = 1");
    assert_eq!(http_status, None);
    assert!(outcome.starts_with("failed"), "{outcome}");
    assert!(outcome.to_lowercase().contains("certificate"), "the outcome should name the TLS problem: {outcome}");

    // The server saw the second refused handshake, and no request ever got through.
    merchant.expect_refused_handshake().await;
    let leftovers = merchant.drain();
    assert!(leftovers.iter().all(|s| matches!(s, Seen::HandshakeFailed(_))), "{leftovers:?}");
}

/// A bundle file trusts every CA in it, not only the first.
#[tokio::test]
async fn every_ca_in_a_bundle_file_is_trusted() {
    let pki = new_pki();
    let unrelated = new_ca("unrelated CA");
    let bundle = format!("{}{}", unrelated.pem(), pki.ca_pem);
    let ca_file = TempFile::new("bundle", bundle.as_bytes());
    let merchant = https_merchant(&pki).await;
    let mock = mock_with(Some(ca_file.path()), Some(merchant.create_purchase_url()));
    let report = unattended_scan(&mock).await;
    assert!(matches!(&report.outcome, PurchaseOutcome::Declined { .. }), "{:?}", report.outcome);
}

fn assert_tls_error_names(path: &Path, expected_cause: &str) {
    let config = Config { tls: TlsConfig { extra_ca_file: Some(path.to_path_buf()) }, ..Config::default() };
    let clock = ManualClock::new(Timestamp(1_700_000_000_000));
    let error = Mock::new(&config, Arc::new(clock)).expect_err("a bad CA file stops the mock");
    let shown = path.display().to_string();
    match &error {
        ConfigError::Tls { path, .. } => assert_eq!(path, &shown),
        other => panic!("expected ConfigError::Tls for {shown}, got {other:?}"),
    }
    assert!(error.to_string().contains(&shown), "the message names the file: {error}");
    // The causes, as `anyhow` prints them when `mock-glase` exits with this error.
    let causes: Vec<String> =
        std::iter::successors(std::error::Error::source(&error), |e| e.source()).map(ToString::to_string).collect();
    let causes = causes.join(": ");
    assert!(
        causes.to_lowercase().contains(expected_cause),
        "causes for {shown}: {causes:?} should mention {expected_cause:?}"
    );
}

/// Test 4: a missing CA file, or one without a PEM certificate, is a start-up error
/// naming the file.
#[test]
fn a_missing_or_certificate_less_ca_file_is_a_tls_config_error() {
    let missing = std::env::temp_dir().join(format!("mock-glase-tls-{}-does-not-exist.pem", std::process::id()));
    assert!(!missing.exists());
    assert_tls_error_names(&missing, "no such file");

    let text = TempFile::new("text", b"this is not a certificate\n");
    assert_tls_error_names(text.path(), "no pem certificate");

    let empty = TempFile::new("empty", b"");
    assert_tls_error_names(empty.path(), "no pem certificate");

    // A PEM file holding only a private key has no certificate either.
    let key_only = TempFile::new("key", KeyPair::generate().unwrap().serialize_pem().as_bytes());
    assert_tls_error_names(key_only.path(), "no pem certificate");

    // A CERTIFICATE block that is not even base64.
    let garbled =
        TempFile::new("garbled", b"-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n");
    assert_tls_error_names(garbled.path(), "certificate");
}

/// A CERTIFICATE block with valid PEM framing and base64 whose contents are not a DER
/// certificate must also be a TLS error naming the file, with the cause.
#[test]
fn a_certificate_block_that_is_not_der_is_a_tls_config_error() {
    // Valid PEM framing and base64 ("hello world"), but not DER.
    let bogus = TempFile::new("bogus", b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n");
    assert_tls_error_names(bogus.path(), "certificate");
}
