//! What an integrator who does not compile Rust relies on, checked from outside the
//! binary and against the running mock:
//!
//! - `mock-glase --version` names the build's commit;
//! - `docs/openapi/control.yaml` lists exactly the routes the mock's router registers
//!   (read from the router's source, and confirmed by asking the running router which
//!   methods each documented path allows), is served at `GET /openapi.json`, its examples
//!   fit its schemas, and every example runs against a running mock with the documented
//!   status and an answer that fits the documented schema.
#![allow(clippy::unwrap_used)] // test code: a failed setup should panic loudly

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use glase_devkit::openapi::{Document, routes_in_source, shape};
use mock_glase::server::{RunningServer, spawn};
use mock_glase::{Config, Mock, OffsetClock};
use serde_json::{Value, json};

/// The invoice reference the document's examples use; each run replaces it with an
/// invoice it has just created.
const EXAMPLE_REFERENCE: &str = "17954576909300001";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn document() -> Document {
    Document::load(&crate_dir().join("../docs/openapi/control.yaml"))
}

/// `<name> <version> (commit <12 hex digits or "unknown">)`, as `glase-conformance`.
fn assert_version_line(name: &str, stdout: &str) {
    let line = stdout.trim_end();
    let rest = line.strip_prefix(&format!("{name} {} (commit ", env!("CARGO_PKG_VERSION"))).unwrap_or_else(|| {
        panic!("--version printed {line:?}, expected `{name} {} (commit …)`", env!("CARGO_PKG_VERSION"))
    });
    let commit = rest.strip_suffix(')').unwrap_or_else(|| panic!("no closing parenthesis in {line:?}"));
    assert!(
        commit == "unknown" || (!commit.is_empty() && commit.bytes().all(|b| b.is_ascii_alphanumeric())),
        "commit {commit:?} in {line:?}"
    );
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-glase")).arg("--version").output().expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    assert_version_line("mock-glase", &String::from_utf8_lossy(&output.stdout));
}

/// `(METHOD, /path/{})` the router's source registers.
fn source_routes() -> BTreeSet<(String, String)> {
    let read = |file: &str| std::fs::read_to_string(crate_dir().join("src/http").join(file)).unwrap();
    let mut routes = routes_in_source(&read("control.rs"), "/control");
    routes.extend(routes_in_source(&read("journal_api.rs"), "/control"));
    routes.extend(routes_in_source(&read("mod.rs"), ""));
    routes.extend(routes_in_source(&read("console.rs"), ""));
    // The SOAP routes are registered in a loop over SOAP_PATHS.
    let soap = read("soap.rs");
    assert!(
        soap.contains("for path in SOAP_PATHS") && soap.contains("get(wsdl_document).post(soap)"),
        "soap.rs changed"
    );
    assert_eq!(routes_in_source(&soap, ""), BTreeSet::new(), "soap.rs registers literal routes now: list them here");
    for path in mock_glase::http::SOAP_PATHS {
        routes.insert(("GET".to_owned(), (*path).to_owned()));
        routes.insert(("POST".to_owned(), (*path).to_owned()));
    }
    // Only /control is nested; a second nest would need its prefix here.
    assert_eq!(read("mod.rs").matches(".nest(").count(), 1, "mod.rs nests another router");
    routes.into_iter().map(|(method, path)| (method, shape(&path))).collect()
}

#[test]
fn the_document_lists_exactly_the_routes_the_router_registers() {
    if let Err(mismatch) = document().check_routes(&source_routes(), "docs/openapi/control.yaml") {
        panic!("{mismatch}");
    }
}

/// The mock's own client (rustls with ring, as the mock is built).
fn client() -> reqwest::Client {
    mock_glase::outbound::http_client_trusting(std::time::Duration::from_secs(30), None).unwrap()
}

async fn start() -> RunningServer {
    // The clock the binary uses: wall time that POST /control/clock/advance can move.
    let mock = Mock::new(&Config::default(), Arc::new(OffsetClock::new())).expect("the demo config is valid");
    spawn("127.0.0.1:0".parse().unwrap(), mock).await.unwrap()
}

/// Asks the running router which methods each documented path allows (axum answers a
/// method it does not route with 405 and an `Allow` header): the source reading above
/// and the router agree.
#[tokio::test]
async fn the_running_router_allows_exactly_the_documented_methods_on_each_path() {
    let server = start().await;
    let http = client();
    let doc = document();
    let mut by_path: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for (method, path) in doc.routes() {
        by_path.entry(path).or_default().insert(method);
    }
    for (template, methods) in by_path {
        let path = template.replace("{msisdn}", "46700000001").replace("{reference}", "1").replace("{id}", "1");
        let path = path.replace("{merchantId}", "glase-demo").replace("{file}", "main.js");
        assert!(!path.contains('{'), "a parameter of {template} needs a sample value here");
        let response =
            http.request(reqwest::Method::PATCH, format!("{}{path}", server.base_url())).send().await.unwrap();
        assert_eq!(response.status(), 405, "PATCH {path}: expected 405 from a routed path");
        let allow = response.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let allowed: BTreeSet<String> =
            allow.split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty() && m != "HEAD").collect();
        assert_eq!(allowed, methods, "{template}: the router allows {allow:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_document_is_served_at_openapi_json() {
    let server = start().await;
    let served: Value =
        client().get(format!("{}/openapi.json", server.base_url())).send().await.unwrap().json().await.unwrap();
    let doc = document();
    assert_eq!(&served, doc.json(), "GET /openapi.json differs from docs/openapi/control.yaml");
    assert_eq!(served["info"]["version"], env!("CARGO_PKG_VERSION"), "info.version");
    server.shutdown().await;
}

#[test]
fn every_example_of_the_document_fits_its_schema() {
    let problems = document().check_examples();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The webshop fixture's sendInvoice, from the demo terminal: a fresh ISSUED invoice.
fn send_invoice_body() -> String {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/fixtures/sendInvoice.webshop.request.xml");
    let text = std::fs::read_to_string(fixture).unwrap();
    let (terminal, password) = ("<id>d4f0a3c3e6bc47b1a1d0bd2b7e6f9c25</id>", "<password>4711</password>");
    assert!(text.contains(terminal) && text.contains(password), "the fixture's principal changed");
    text.replace(terminal, "<id>demo-terminal</id>").replace(password, "<password>demo1234</password>")
}

/// What every example starts from: a fresh mock with one ISSUED invoice (its reference
/// replaces the examples' `17954576909300001`) and one injected fault (id 1) that touches
/// nothing the examples call.
async fn prepared(http: &reqwest::Client) -> (RunningServer, String) {
    let server = start().await;
    let answer = http
        .post(server.soap_url())
        .header("content-type", "text/xml; charset=utf-8")
        .body(send_invoice_body())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reference = answer
        .split("<invoiceReference>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("sendInvoice gave no reference: {answer}"))
        .to_owned();
    let fault = json!({"operation": "executeReport", "resultCode": 94});
    let added = http.post(format!("{}/control/faults", server.base_url())).json(&fault).send().await.unwrap();
    assert_eq!(added.status(), 201);
    (server, reference)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_runs_against_a_running_mock_as_documented() {
    let doc = document();
    let runs = doc.runs();
    assert!(runs.len() >= 30, "only {} examples run", runs.len());
    let http = client();
    let mut failures = Vec::new();
    for run in &runs {
        let (server, reference) = prepared(&http).await;
        let path = run.path_and_query.replace(EXAMPLE_REFERENCE, &reference);
        let method = reqwest::Method::from_bytes(run.method.as_bytes()).unwrap();
        let mut request = http.request(method, format!("{}{path}", server.base_url()));
        if let Some((kind, body)) = &run.body {
            let body = String::from_utf8(body.clone()).unwrap().replace(EXAMPLE_REFERENCE, &reference);
            request = request.header("content-type", kind.as_str()).body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let text = response.text().await.unwrap();
        let body = if is_json { serde_json::from_str(&text).unwrap() } else { Value::String(text.clone()) };
        if let Err(why) = doc.check_run(run, &path, status, &body, &text) {
            failures.push(why.to_string());
        }
        server.shutdown().await;
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples did not run as documented:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
}

/// `mock-glase health URL`: the container image's health check (it has no curl).
#[tokio::test]
async fn health_exits_0_for_a_mock_that_answers_and_1_otherwise() {
    let server = start().await;
    let health = |url: String| {
        Command::new(env!("CARGO_BIN_EXE_mock-glase")).args(["health", &url, "--timeout", "2s"]).output().unwrap()
    };
    let up = tokio::task::spawn_blocking({
        let url = format!("{}/healthz", server.base_url());
        move || health(url)
    })
    .await
    .unwrap();
    assert!(up.status.success(), "{up:?}");
    let missing = tokio::task::spawn_blocking({
        let url = format!("{}/no-such-page", server.base_url());
        move || health(url)
    })
    .await
    .unwrap();
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    server.shutdown().await;
    // Nothing listens there any more.
    let down = tokio::task::spawn_blocking(move || health("http://127.0.0.1:9/healthz".to_owned())).await.unwrap();
    assert_eq!(down.status.code(), Some(1), "{down:?}");
}
