//! `glase-null-backend`: a minimal, correct, storage-free vending backend, written as
//! the benchmark partner of `glase-conformance load` (issue 16). Against it the load
//! tool's own CPU per flow is "the kit alone" (load generator + Glase mock + its UPS),
//! so a user can tell the kit is not their bottleneck.
//!
//! It serves createPurchase, the notification callback and the machine driver
//! (`docs/openapi/drivers.yaml`) for `machine-1` … `machine-N` with the reference
//! reseller's demo products, keeps everything in memory, and does as little as it can
//! per request while keeping every load invariant true: the machine is claimed before
//! sendInvoice (RESERVATION_REQUIRED, notificationUrl, cashierId, one row), a
//! notification is answered 200 and followed by one getPaymentStatus (RESERVED unlocks,
//! CANCELED/FAILED release), a vend sends updateInvoice then commitReservation for
//! exactly the vended total (never above the reservation), and the idle timer cancels
//! and releases a purchase nobody finished. getPaymentStatus and updateInvoice are
//! tried again after a transient failure; sendInvoice never is, and commitReservation
//! only once getPaymentStatus said the reservation is still RESERVED.
//!
//! Left out on purpose: the webshop and the till, the driver token, a fallback status
//! poll (the load tool's mock always notifies; `glase-conformance run --profile
//! unattended` therefore fails exactly its two lost-notification scenarios), and every
//! vend record but each machine's last one (the only one a machine asks about again).
//!
//! ```text
//! cargo build --release -p glase-benches --bin glase-null-backend -p glase-conformance
//! target/release/glase-null-backend --listen 127.0.0.1:0 --glase-url http://127.0.0.1:7070/extclientproxy/service/v2
//! #   prints: listening on http://127.0.0.1:PORT
//! target/release/glase-conformance load --webshop 0 --machines 200 --idle-timeout 1s \
//!     --create-purchase-url http://127.0.0.1:PORT/seqr/createPurchase \
//!     --machine-driver http://127.0.0.1:PORT --glase-listen 127.0.0.1:7070
//! ```
//!
//! `--idle-timeout` must be the same on both sides: the load tool waits that long for a
//! walk-away's machine. One tokio runtime; `--threads 1` (the default) runs it on the
//! main thread alone, so on two cores the kit gets the other one.

mod app;
mod catalogue;
mod driver;
mod fleet;
mod glase;
mod purchase;
mod settle;
mod sweeper;
mod vend;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use clap::Parser;

use crate::app::App;
use crate::fleet::Fleet;
use crate::glase::{Credentials, Glase};

const EXAMPLES: &str = "\
Example (two terminals):
  glase-null-backend --listen 127.0.0.1:8000 --machines 200 --idle-timeout 1s
  glase-conformance load --duration 20s --concurrency 32 --webshop 0 --machines 200 \\
      --create-purchase-url http://127.0.0.1:8000/seqr/createPurchase \\
      --machine-driver http://127.0.0.1:8000 --idle-timeout 1s --glase-listen 127.0.0.1:7070

Endpoints: POST /seqr/createPurchase; POST /seqr/notify/{machine}/{purchase}/{tag} (the
notificationUrl); GET /driver/machines, GET /driver/machines/{token},
POST /driver/machines/{token}/vend, GET /driver/machines/{token}/vends/{vendId},
POST /driver/machines/{token}/out-of-service and /in-service.";

/// A minimal in-memory vending backend for benchmarking `glase-conformance load`.
#[derive(Debug, Parser)]
#[command(name = "glase-null-backend", version, after_help = EXAMPLES)]
struct Args {
    /// Where to listen (port 0: any free port); the URL is printed once bound.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// Glase's SOAP endpoint (plain http): the load tool's embedded Glase, at its
    /// --glase-listen address.
    #[arg(
        long,
        value_name = "URL",
        env = "GLASE_URL",
        default_value = "http://127.0.0.1:7070/extclientproxy/service/v2"
    )]
    glase_url: String,
    /// Base of the notification URLs Glase calls [default: the bound address].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Machines machine-1 … machine-N.
    #[arg(long, value_name = "N", default_value_t = 200)]
    machines: usize,
    /// A purchase not reserved (or nothing vended) this long after the scan (or the
    /// unlock) is cancelled and its machine released; tell the load tool the same.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,
    /// Worker threads of the one tokio runtime (1: the main thread only).
    #[arg(long, value_name = "N", default_value_t = 1)]
    threads: usize,
    /// How long to wait for Glase's answer to one call.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    glase_timeout: Duration,
    /// The terminal the calls are made as (the mock's demo terminal).
    #[arg(long, value_name = "ID", default_value = "demo-terminal")]
    terminal: String,
    /// The terminal's password.
    #[arg(long, value_name = "PASSWORD", default_value = "demo1234")]
    password: String,
    /// clientId of every call (the company).
    #[arg(long, value_name = "NAME", default_value = "glase-null-backend")]
    client_id: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(problem) = problem(&args) {
        app::warn(format_args!("glase-null-backend: {problem}"));
        return ExitCode::from(2);
    }
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()
    };
    let result = match runtime {
        Ok(runtime) => runtime.block_on(serve(args)),
        Err(error) => Err(format!("cannot start the async runtime: {error}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            app::warn(format_args!("glase-null-backend: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// What is wrong with the numbers, if anything.
fn problem(args: &Args) -> Option<String> {
    if !(1..=100_000).contains(&args.machines) {
        return Some("--machines must be from 1 to 100000".to_owned());
    }
    if !(1..=256).contains(&args.threads) {
        return Some("--threads must be from 1 to 256".to_owned());
    }
    if args.idle_timeout.is_zero() || args.glase_timeout.is_zero() {
        return Some("--idle-timeout and --glase-timeout must be longer than 0".to_owned());
    }
    None
}

async fn serve(args: Args) -> Result<(), String> {
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.map_err(|e| format!("--listen {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let credentials = Credentials { terminal: args.terminal, password: args.password, client_id: args.client_id };
    let glase = Glase::new(&args.glase_url, credentials, args.glase_timeout)?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{addr}")).trim_end_matches('/').to_owned();
    let app = Arc::new(App { fleet: Fleet::new(args.machines), glase, public_url, idle_timeout: args.idle_timeout });
    let routes = Router::new()
        .route("/seqr/createPurchase", post(purchase::create_purchase))
        .route("/seqr/notify/{machine}/{purchase}/{tag}", post(purchase::notify))
        .route("/driver/machines", get(driver::list))
        .route("/driver/machines/{token}", get(driver::show))
        .route("/driver/machines/{token}/vend", post(vend::vend))
        .route("/driver/machines/{token}/vends/{vend_id}", get(driver::show_vend))
        .route("/driver/machines/{token}/out-of-service", post(driver::out_of_service))
        .route("/driver/machines/{token}/in-service", post(driver::in_service))
        .with_state(app.clone());
    tokio::spawn(sweeper::run(app));
    // Not println!: a reader that went away must not stop the backend.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = writeln!(
        stdout,
        "  createPurchase http://{addr}/seqr/createPurchase, machine driver http://{addr}, {} machines, \
         idle timeout {}, Glase {}",
        args.machines,
        humantime::format_duration(args.idle_timeout),
        args.glase_url
    );
    drop(stdout);
    // Small requests and answers on kept-alive connections: no Nagle delay.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, routes).with_graceful_shutdown(stopped()).await.map_err(|e| e.to_string())
}

/// Ctrl-C or SIGTERM.
async fn stopped() {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
