//! `--fixture`: a system whose machines have other names passes the built-in library
//! once the names are mapped, and the scan really reaches the renamed machine.

use std::net::SocketAddr;
use std::time::Duration;

use glase_conformance::builtin::DEMO_DEADLINE_SCALE;
use glase_conformance::demo::{InProcessSettings, ReferenceReseller};
use glase_conformance::results::Verdict;
use glase_conformance::rules;
use glase_conformance::runner::{self, Harness, RunOptions};
use glase_conformance::scenario::{self, Fixtures, fixtures};
use mock_glase::journal::Record;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_happy_path_passes_on_a_renamed_machine() {
    let library = scenario::load(&scenario::embedded(), &|id| rules::rule(id).is_some()).expect("the library loads");
    let mut scenarios: Vec<_> = library.into_iter().filter(|s| s.id == "unattended/happy-path").collect();
    // machine-3 of the numbered fleet is a copy of machine-1 (the snack machine).
    let map = Fixtures::from_pairs([("machine-1".to_owned(), "machine-3".to_owned())]).expect("one mapping");
    fixtures::apply(&mut scenarios, &map, &Default::default()).expect("machine-1 is a fixture of the happy path");

    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let harness = Harness::start(listen, DEMO_DEADLINE_SCALE, 7).await.expect("the mock starts");
    let settings = InProcessSettings {
        purpose: "fixtures-test",
        faults: Vec::new(),
        machines: 3,
        idle_timeout: Duration::from_secs(2),
        tweak: InProcessSettings::as_is,
    };
    // The 20 s status deadline at the demo's scale.
    let status_deadline = Duration::from_secs(20).mul_f64(DEMO_DEADLINE_SCALE);
    let reseller =
        ReferenceReseller::start_with(&harness.soap_url(), status_deadline, &settings).await.expect("it starts");
    let http = runner::http_client().expect("an HTTP client");
    let options = RunOptions {
        target: reseller.target(),
        profile: None,
        strict: false,
        seed: 7,
        patience: None,
        timers: reseller.timers(),
    };
    runner::preflight(&options.target, &http).await.expect("the reference reseller answers");
    let report = runner::run_with_jobs(&harness, &scenarios, &options, 1, &http, &mut |_| {}).await;
    drop(reseller);
    harness.shutdown().await;

    let result = &report.results[0];
    assert_eq!(result.verdict, Verdict::Passed, "{result:#?}");
    let tokens: Vec<&str> = result
        .journal
        .iter()
        .filter_map(|entry| match &entry.record {
            Record::CreatePurchaseRequest { body, .. } => Some(body.as_str()),
            _ => None,
        })
        .collect();
    assert!(!tokens.is_empty(), "the scenario scanned");
    assert!(tokens.iter().all(|body| body.contains("\"machine-3\"")), "{tokens:?}");
}
