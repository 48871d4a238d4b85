//! The suite's side of `docs/openapi/drivers.yaml`: every request the suite sends to a
//! machine, shop or point-of-sale driver, over the whole library, fits the document an integrator
//! implements from (and every answer the reference reseller gives it does too).
//!
//! A recording proxy sits between the suite and the in-process reference reseller's
//! drivers; after the run, each recorded exchange is checked against the document. A
//! field the suite starts sending, or a route it starts calling, without the document
//! saying so fails here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use glase_conformance::builtin::DEMO_DEADLINE_SCALE;
use glase_conformance::demo::{InProcessSettings, ReferenceReseller};
use glase_conformance::runner::{self, Harness, RunOptions};
use glase_conformance::{rules, scenario};
use glase_devkit::openapi::Document;
use serde_json::Value;

/// One request through the proxy and its answer.
#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    path: String,
    request: Option<Value>,
    status: u16,
    answer: Value,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<Exchange>>>,
}

/// Forwards a request to the upstream driver and records it with its answer.
async fn forward(State(proxy): State<Proxy>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str()).to_owned();
    let mut upstream = proxy.http.request(method.clone(), format!("{}{path}", proxy.upstream));
    if !body.is_empty() {
        upstream = upstream.header("content-type", "application/json").body(body.clone());
    }
    let Ok(answer) = upstream.send().await else {
        return Response::builder().status(StatusCode::BAD_GATEWAY).body(Body::empty()).expect("a response");
    };
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.unwrap_or_default();
    proxy.seen.lock().expect("not poisoned").push(Exchange {
        method: method.to_string(),
        path: path.clone(),
        request: (!body.is_empty()).then(|| serde_json::from_slice(&body).unwrap_or(Value::Null)),
        status,
        answer: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(bytes))
        .expect("a response")
}

/// A recording proxy in front of `upstream` on an ephemeral loopback port.
async fn proxy_to(upstream: &str, seen: Arc<Mutex<Vec<Exchange>>>) -> String {
    let proxy = Proxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("a client"),
        seen,
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_driver_request_the_suite_sends_fits_the_document() {
    let document = Document::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi/drivers.yaml"));
    let library =
        scenario::load(&scenario::embedded(), &|id| rules::rule(id).is_some()).expect("the built-in library loads");
    let harness = Harness::start(SocketAddr::from(([127, 0, 0, 1], 0)), DEMO_DEADLINE_SCALE, 7).await.expect("mock");
    let settings = InProcessSettings {
        purpose: "driver-contract",
        faults: Vec::new(),
        machines: 2,
        idle_timeout: Duration::from_secs(2),
        tweak: InProcessSettings::as_is,
    };
    let reseller = ReferenceReseller::start_on(&harness, &settings).await.expect("the reference reseller starts");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut target = reseller.target();
    for driver in [&mut target.machine_driver, &mut target.shop_driver, &mut target.pos_driver] {
        if let Some(url) = driver.as_mut() {
            *url = proxy_to(url, seen.clone()).await;
        }
    }
    let http = runner::http_client().expect("an HTTP client");
    let options = RunOptions {
        target,
        profile: None,
        strict: false,
        seed: 7,
        patience: Some(Duration::from_secs(6)),
        timers: reseller.timers(),
    };
    runner::preflight(&options.target, &http).await.expect("the proxied reseller answers");
    let report = runner::run_with_jobs(&harness, &library, &options, 4, &http, &mut |_| {}).await;
    drop(reseller);
    harness.shutdown().await;

    let exchanges = seen.lock().expect("not poisoned").clone();
    let routes: std::collections::BTreeSet<String> = exchanges
        .iter()
        .map(|e| format!("{} {}", e.method, e.path.split('/').take(4).collect::<Vec<_>>().join("/")))
        .collect();
    assert!(
        exchanges.iter().any(|e| e.path.ends_with("/vend"))
            && exchanges.iter().any(|e| e.path.contains("/driver/shop/"))
            && exchanges.iter().any(|e| e.path.contains("/driver/pos/")),
        "the library drove all three drivers ({} scenarios ran): {routes:?}",
        report.results.len()
    );
    let problems: Vec<String> = exchanges
        .iter()
        .flat_map(|e| {
            let request = document.check_request(&e.method, &e.path, e.request.as_ref()).err();
            let answer = document.check_answer(&e.method, &e.path, e.status, &e.answer).err();
            request.into_iter().chain(answer).map(|mismatch| mismatch.to_string())
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{} of {} exchanges break drivers.yaml:\n{}",
        problems.len(),
        exchanges.len(),
        problems.join("\n")
    );
}
