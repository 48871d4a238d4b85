//! Smoke test of `glase-null-backend` (src/bin/glase-null-backend/): the binary as
//! built for this test, driven by `glase-conformance load` (the library, in-process,
//! with its embedded Glase) for 200 flows of every unattended kind. Every invariant
//! must hold (exit 0) and every kind must complete. Short timers keep it to a few
//! seconds: walk-aways hold their machine for the 300 ms idle timeout.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use clap::Parser;
use glase_conformance::cli::{Cli, main as conformance};

/// The backend process: killed when the test ends, however it ends.
struct Backend {
    child: Child,
    /// Kept open: the backend's later output must not hit a closed pipe.
    _stdout: BufReader<ChildStdout>,
    url: String,
}

impl Backend {
    fn start(glase_port: u16) -> Self {
        let glase_url = format!("http://127.0.0.1:{glase_port}/extclientproxy/service/v2");
        let mut child = Command::new(env!("CARGO_BIN_EXE_glase-null-backend"))
            .args(["--listen", "127.0.0.1:0", "--machines", "20", "--idle-timeout", "300ms"])
            .args(["--glase-url", &glase_url])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the null backend starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("its stdout is piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("it prints where it listens");
        let url =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_owned();
        Self { child, _stdout: stdout, url }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now, for the load tool's embedded Glase (which the
/// backend must be told before the load tool starts).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_flows_of_every_kind_keep_every_invariant() {
    let glase_port = free_port();
    let backend = Backend::start(glase_port);
    let out = std::env::temp_dir().join(format!("glase-null-backend-test-{}", std::process::id()));
    let create_purchase = format!("{}/seqr/createPurchase", backend.url);
    let glase_listen = format!("127.0.0.1:{glase_port}");
    let out_dir = out.display().to_string();
    #[rustfmt::skip]
    let args = [
        "glase-conformance", "load", "--flows", "200", "--concurrency", "16", "--customers", "40",
        "--machines", "20", "--webshop", "0", "--seed", "16",
        "--mix", "success=50,cancel=15,walk-away=10,wrong-pin=15,error=10",
        "--create-purchase-url", &create_purchase, "--machine-driver", &backend.url,
        "--idle-timeout", "300ms", "--glase-listen", &glase_listen, "--patience", "10s", "--out", &out_dir,
    ];
    let cli = Cli::try_parse_from(args).expect("the load arguments parse");
    let exit = conformance(cli).await as u8;
    let report = std::fs::read_to_string(out.join("load-report.json")).expect("the load report is written");
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(exit, 0, "every invariant must hold:\n{report}");
    let report: serde_json::Value = serde_json::from_str(&report).expect("the report is JSON");
    assert_eq!(report["flows"]["completed"], 200, "{report:#}");
    for kind in ["success", "cancel", "walk-away", "wrong-pin", "error"] {
        let completed = report["flows"]["byKind"][kind]["completed"].as_u64().unwrap_or(0);
        assert!(completed > 0, "no {kind} flow completed: {report:#}");
    }
    drop(backend);
}
