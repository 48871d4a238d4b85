//! `glase-conformance load` end to end against the in-process reference reseller: a
//! short clean run holds every invariant and completes flows of every kind; a reseller
//! with a deliberate fault is caught.

use std::path::PathBuf;

use clap::Parser;
use glase_conformance::cli::{Cli, Exit, main};
use serde_json::Value;

fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("glase-load-test-{}-{name}", std::process::id()))
}

/// Runs `glase-conformance load ARGS --out DIR` and returns the exit and the JSON report.
async fn load(name: &str, args: &[&str]) -> (Exit, Value) {
    let out = out_dir(name);
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.display().to_string();
    let mut argv = vec!["glase-conformance", "load", "--out", out_text.as_str()];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(&argv).expect("the arguments parse");
    let exit = main(cli).await;
    let text = std::fs::read_to_string(out.join("load-report.json")).expect("the report is written");
    let _ = std::fs::remove_dir_all(&out);
    (exit, serde_json::from_str(&text).expect("the report is JSON"))
}

/// The ids of the invariants a load report says were violated.
pub(crate) fn failed_invariants(report: &Value) -> Vec<String> {
    report["invariants"]
        .as_array()
        .expect("invariants")
        .iter()
        .filter(|i| i["held"] == Value::Bool(false))
        .map(|i| i["id"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_clean_run_holds_every_invariant_and_completes_every_kind() {
    let (exit, report) = load(
        "clean",
        &[
            "--duration",
            "2s",
            "--customers",
            "24",
            "--machines",
            "12",
            "--concurrency",
            "8",
            "--mix",
            "success=60,cancel=10,walk-away=10,wrong-pin=10,error=10",
            "--webshop",
            "15",
            "--idle-timeout",
            "300ms",
            "--drain",
            "10s",
            "--seed",
            "7",
        ],
    )
    .await;
    assert_eq!(failed_invariants(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(exit, Exit::Passed, "{report:#}");
    for kind in ["success", "cancel", "walk-away", "wrong-pin", "error", "webshop"] {
        let completed = report["flows"]["byKind"][kind]["completed"].as_u64().unwrap_or(0);
        assert!(completed > 0, "no {kind} flow completed: {:#}", report["flows"]);
    }
    assert_eq!(report["flows"]["failed"], 0, "{:#}", report["errors"]);
    let operations: Vec<&str> =
        report["latencies"].as_array().unwrap().iter().filter_map(|r| r["operation"].as_str()).collect();
    for operation in ["purchase (scan → dispensed)", "sendInvoice", "commitReservation", "getPaymentStatus"] {
        assert!(operations.contains(&operation), "{operation} not timed: {operations:?}");
    }
    assert!(report["journal"]["read"].as_u64().unwrap() > 100);
    assert!(report["histograms"].is_null(), "only a shard's report keeps its histograms whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_committing_more_than_reserved_is_caught() {
    let (exit, report) = load(
        "fault",
        &[
            "--flows",
            "12",
            "--customers",
            "4",
            "--machines",
            "4",
            "--concurrency",
            "4",
            "--mix",
            "success=1",
            "--webshop",
            "0",
            "--idle-timeout",
            "300ms",
            "--drain",
            "10s",
            "--fault",
            "commit-more-than-reserved",
        ],
    )
    .await;
    assert_eq!(exit, Exit::Failed, "{report:#}");
    assert!(failed_invariants(&report).contains(&"COMMIT-WITHIN-RESERVATION".to_owned()), "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_left_locked_is_caught() {
    let (exit, report) = load(
        "locked",
        &[
            "--flows",
            "8",
            "--customers",
            "4",
            "--machines",
            "4",
            "--concurrency",
            "4",
            "--mix",
            "cancel=1",
            "--webshop",
            "0",
            "--drain",
            "1s",
            "--patience",
            "500ms",
            "--fault",
            "no-release-on-cancel",
        ],
    )
    .await;
    assert_eq!(exit, Exit::Failed, "{report:#}");
    assert!(failed_invariants(&report).contains(&"MACHINE-RELEASED".to_owned()), "{report:#}");
}
