//! `load --shard I/N --glase-url` and `load merge`, end to end through real sockets: one
//! mock-glase server and one reference reseller (its Glase that server), loaded by two
//! shards at once, as two pods of an Indexed Job would. The shards' reports merge into
//! one whose counts and histograms are the sums of theirs and whose invariants hold;
//! the same load against a reseller with a deliberate fault fails the merged check;
//! an incomplete set of shards is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use glase_conformance::builtin::{self, Fault};
use glase_conformance::cli::{Cli, Exit, main};
use mock_glase::{Mock, SystemClock};
use serde_json::Value;

use crate::load::failed_invariants;

fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("glase-shards-test-{}-{name}", std::process::id()))
}

async fn run(argv: Vec<String>) -> Exit {
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?} parses: {e}"));
    main(cli).await
}

fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("load-report.json")).expect("the report is written");
    serde_json::from_str(&text).expect("the report is JSON")
}

/// A mock-glase server and the reference reseller using it, as another process would run them.
struct Backend {
    mock: mock_glase::server::RunningServer,
    _reseller: builtin::Running,
    reseller_url: String,
}

async fn backend(faults: &[Fault]) -> Backend {
    let mut config = mock_glase::Config { journal_capacity: 200_000, ..mock_glase::Config::default() };
    config.notifications.retry_delay = Duration::from_millis(100);
    let core = Mock::new(&config, Arc::new(SystemClock)).expect("the mock starts");
    let deadline = core.deadlines().status_deadline;
    let mock =
        mock_glase::server::spawn("127.0.0.1:0".parse().expect("an address"), core).await.expect("the mock serves");
    let idle = Duration::from_millis(300);
    let (reseller, reseller_url) =
        builtin::start(&mock.soap_url(), deadline, "shards", faults, 24, idle).await.expect("the reseller starts");
    Backend { mock, _reseller: reseller, reseller_url }
}

/// Two shards of the same load, at once, against `backend`; their exits and out dirs.
async fn two_shards(backend: &Backend, name: &str, seed: &str) -> ([Exit; 2], Vec<PathBuf>) {
    let dirs: Vec<PathBuf> = (0..2).map(|i| out_dir(&format!("{name}-{i}"))).collect();
    let argv = |i: usize| -> Vec<String> {
        let _ = std::fs::remove_dir_all(&dirs[i]);
        let url = &backend.reseller_url;
        let mut argv: Vec<String> = ["glase-conformance", "load", "--glase-url", &backend.mock.base_url()]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        for (flag, value) in [
            ("--create-purchase-url", format!("{url}/seqr/createPurchase")),
            ("--machine-driver", url.clone()),
            ("--shop-driver", url.clone()),
            ("--idle-timeout", "300ms".to_owned()),
            ("--shard", format!("{i}/2")),
            ("--out", dirs[i].display().to_string()),
            ("--duration", "2s".to_owned()),
            ("--customers", "12".to_owned()),
            ("--machines", "12".to_owned()),
            ("--concurrency", "4".to_owned()),
            ("--mix", "success=60,cancel=10,walk-away=10,wrong-pin=10,error=10".to_owned()),
            ("--webshop", "15".to_owned()),
            ("--drain", "10s".to_owned()),
            ("--seed", seed.to_owned()),
        ] {
            argv.extend([flag.to_owned(), value]);
        }
        argv
    };
    let (first, second) = tokio::join!(run(argv(0)), run(argv(1)));
    ([first, second], dirs)
}

async fn merge(dirs: &[PathBuf], out: &Path) -> Exit {
    let mut argv: Vec<String> = ["glase-conformance", "load", "merge"].iter().map(|s| (*s).to_owned()).collect();
    argv.extend(dirs.iter().map(|d| d.display().to_string()));
    argv.extend(["--out".to_owned(), out.display().to_string()]);
    run(argv).await
}

fn count(report: &Value, pointer: &str) -> u64 {
    report.pointer(pointer).and_then(Value::as_u64).unwrap_or_else(|| panic!("{pointer} in {report:#}"))
}

/// The samples of one histogram of a report.
fn samples(report: &Value, operation: &str) -> u64 {
    let views = report["histograms"].as_array().expect("histograms");
    let view = views.iter().find(|h| h["operation"] == operation);
    let counts = |h: &Value| -> u64 {
        h["valuesUs"].as_array().expect("values").iter().map(|pair| pair[1].as_u64().expect("a count")).sum()
    };
    view.map_or(0, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_share_one_backend_and_merge_into_one_clean_report() {
    let backend = backend(&[]).await;
    let (exits, dirs) = two_shards(&backend, "clean", "11").await;
    let shards: Vec<Value> = dirs.iter().map(|d| report(d)).collect();
    for (exit, shard) in exits.iter().zip(&shards) {
        assert_eq!(failed_invariants(shard), Vec::<String>::new(), "{shard:#}");
        assert_eq!(*exit, Exit::Passed, "{:#}", shard["errors"]);
        assert_eq!(shard["flows"]["failed"], 0, "{:#}", shard["errors"]);
    }
    // Disjoint machines: together they used each of the reseller's machines once.
    assert_eq!(count(&shards[0], "/plan/machines") + count(&shards[1], "/plan/machines"), 24);

    let merged_dir = out_dir("clean-merged");
    let exit = merge(&dirs, &merged_dir).await;
    let merged = report(&merged_dir);
    assert_eq!(failed_invariants(&merged), Vec::<String>::new(), "{merged:#}");
    assert_eq!(exit, Exit::Passed);
    let sum = |pointer: &str| shards.iter().map(|s| count(s, pointer)).sum::<u64>();
    assert_eq!(count(&merged, "/flows/completed"), sum("/flows/completed"));
    assert_eq!(count(&merged, "/flows/purchases"), sum("/flows/purchases"));
    for kind in ["success", "cancel", "walk-away", "wrong-pin", "error", "webshop"] {
        let pointer = format!("/flows/byKind/{kind}/completed");
        assert_eq!(count(&merged, &pointer), sum(&pointer), "{kind}");
    }
    let purchase = "purchase (scan → dispensed)";
    assert!(samples(&merged, purchase) > 0);
    assert_eq!(samples(&merged, purchase), samples(&shards[0], purchase) + samples(&shards[1], purchase));
    // The merged journal is read across both shards' ranges, and covers every invoice.
    assert!(count(&merged, "/journal/read") >= shards.iter().map(|s| count(s, "/journal/read")).max().unwrap());
    assert_eq!(merged["mergedFrom"].as_array().unwrap().len(), 2);

    // One shard alone is not the load.
    assert_eq!(merge(&dirs[..1], &out_dir("clean-partial")).await, Exit::Usage);
    // Nor is a shard left from an earlier run with one of this run: judged together,
    // the earlier run's payments would look charged for nothing.
    let (_, later) = two_shards(&backend, "clean-later", "11").await;
    let stale = [dirs[0].clone(), later[1].clone()];
    assert_eq!(merge(&stale, &out_dir("clean-stale")).await, Exit::Usage);
    for dir in dirs.iter().chain(&later).chain([&merged_dir]) {
        let _ = std::fs::remove_dir_all(dir);
    }
    backend.mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_of_the_shared_backend_fails_the_merged_check() {
    let backend = backend(&[Fault::CommitMoreThanReserved]).await;
    let (_, dirs) = two_shards(&backend, "fault", "12").await;
    let merged_dir = out_dir("fault-merged");
    let exit = merge(&dirs, &merged_dir).await;
    let merged = report(&merged_dir);
    assert_eq!(exit, Exit::Failed);
    assert!(failed_invariants(&merged).contains(&"COMMIT-WITHIN-RESERVATION".to_owned()), "{merged:#}");
    for dir in dirs.iter().chain([&merged_dir]) {
        let _ = std::fs::remove_dir_all(dir);
    }
    backend.mock.shutdown().await;
}
