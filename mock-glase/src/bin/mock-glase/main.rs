//! `mock-glase`: glue between the command line and the library.

mod customer_cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand};
use glase_listen::{LogFormat, init_tracing};
use mock_glase::Mock;
use mock_glase::clock::OffsetClock;
use mock_glase::config::Config;
use tokio::net::TcpListener;

// No `#[global_allocator]`: glibc's malloc stays **[decision]**. Measured on the state
// machine (benches/examples/lifecycles.rs, `--bench machine`) once a reservation lifecycle
// was down to 23 allocations: mimalloc 0.1 (v2 C library) cut instructions by 12% under
// callgrind but was 5-10% *slower* in wall time, and its default v3 library 30% slower
// (the Rust wrapper always takes mimalloc's aligned-allocation path, whose slow path v3
// takes often). Revisit with the HTTP load test if allocator contention between the
// server's worker threads ever shows up.

const EXAMPLES: &str = "\
Examples:
  # Start on the default loopback port with the demo credentials
  mock-glase

  # A guided tour: start a mock, walk a webshop payment and a reservation through it
  mock-glase demo --out reports/mock-demo

  # Pick a port, use your own principals, and a short status deadline for fast tests
  mock-glase --listen 127.0.0.1:18080 --config glase.toml --status-deadline 2s

  # Then, from another shell: fetch the WSDL, play the customer
  curl 'http://127.0.0.1:7070/extclientproxy/service/v2?wsdl'
  curl -X POST http://127.0.0.1:7070/control/customer/confirm \\
       -H 'content-type: application/json' -d '{\"qr\": \"HTTP://SEQR.SE/R<invoiceReference>\"}'

Exit codes: 0 clean shutdown, 2 bad arguments or configuration, 1 runtime failure.";

/// `mock-glase --version`: the version and the git commit it was built from (build.rs), as
/// `glase-conformance --version` prints them.
const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("GLASE_KIT_COMMIT"), ")");

/// A faithful, stateful mock of the Glase SOAP Payment API, with a simulated customer
/// app and a JSON control API.
#[derive(Debug, Parser)]
#[command(version = VERSION_LINE, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Options of `serve`, which is what runs when no subcommand is given.
    #[command(flatten)]
    serve: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the mock (the default).
    Serve(Args),
    /// Start a mock on a free port and walk the main flows through it over HTTP,
    /// printing each step; writes the journal and a summary. Exit 1 if a step misbehaved.
    Demo(DemoArgs),
    /// Play the customer against a running mock: scan, confirm, cancel, walk away,
    /// pending invoices, wallets (through its control API).
    Customer(customer_cli::CustomerArgs),
    /// GET a URL and exit 0 if it answers 2xx, else 1: a container health check where
    /// there is no curl (the kit's image is FROM scratch).
    Health(HealthArgs),
}

#[derive(Debug, ClapArgs)]
struct HealthArgs {
    /// What to ask (any HTTP URL: the mock's or the reference reseller's /healthz).
    #[arg(default_value = "http://127.0.0.1:7070/healthz")]
    url: String,
    /// Give up after this long.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Debug, ClapArgs)]
struct DemoArgs {
    /// Directory for journal.jsonl and summary.md.
    #[arg(long, default_value = "reports/mock-demo")]
    out: PathBuf,
    /// Also print every SOAP request and response.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Debug, ClapArgs)]
struct Args {
    /// Address to listen on. Loopback by default; use 0.0.0.0 only on a trusted network.
    #[arg(long, default_value = "127.0.0.1:7070", env = "GLASE_MOCK_LISTEN")]
    listen: SocketAddr,

    /// TOML configuration: resellers, terminals, customers, deadlines (see docs/mock.md).
    #[arg(long, env = "GLASE_MOCK_CONFIG")]
    config: Option<PathBuf>,

    /// Time the merchant has to fetch a PAID/RESERVED status before the payment is
    /// reversed (e.g. 20s, 1500ms). Overrides the config file.
    #[arg(long, value_parser = humantime::parse_duration)]
    status_deadline: Option<Duration>,

    /// Time a reservation may stay uncommitted before it is cancelled (e.g. 10m).
    #[arg(long, value_parser = humantime::parse_duration)]
    reservation_timeout: Option<Duration>,

    /// Multiply every Glase-side deadline by this (0.01 runs the 20 s rule in 200 ms).
    #[arg(long)]
    deadline_scale: Option<f64>,

    /// Require `Authorization: Bearer TOKEN` on the control API (overrides the config's
    /// `control_token`). Without one, anyone who can reach the port can pay, inject faults
    /// and move the clock.
    #[arg(long, value_name = "TOKEN", env = "GLASE_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,

    /// Base URL clients reach the mock at, used in the WSDL's soap:address
    /// (default: from each request's Host header).
    #[arg(long)]
    public_url: Option<String>,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Print the resolved configuration (demo entries included) as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Demo(demo)) => run_demo(demo),
        Some(Command::Customer(customer)) => customer_cli::run(customer),
        Some(Command::Health(health)) => run_health(&health),
        Some(Command::Serve(args)) => serve_main(args),
        None => serve_main(cli.serve),
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().inspect_err(|e| eprintln!("mock-glase: cannot start the async runtime: {e}")).ok()
}

fn run_demo(args: DemoArgs) -> ExitCode {
    init_tracing(LogFormat::Text, "warn");
    let Some(runtime) = runtime() else { return ExitCode::FAILURE };
    match runtime.block_on(mock_glase::demo::run(&args.out, args.verbose)) {
        Ok(report) => {
            let passed = report.steps.iter().filter(|s| s.ok).count();
            println!("\n{passed}/{} steps behaved as Glase should.", report.steps.len());
            println!("journal: {}\nsummary: {}", report.journal_path.display(), report.summary_path.display());
            if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(error) => {
            eprintln!("mock-glase demo: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_health(args: &HealthArgs) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        eprintln!("mock-glase health: cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    let answer = runtime.block_on(async {
        let client = mock_glase::outbound::http_client_trusting(args.timeout, None).map_err(|e| format!("{e:#}"))?;
        let response = client.get(&args.url).send().await.map_err(|e| mock_glase::errors::error_chain(&e))?;
        Ok::<_, String>(response.status())
    });
    match answer {
        Ok(status) if status.is_success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("mock-glase health: {} answered HTTP {}", args.url, status.as_u16());
            ExitCode::FAILURE
        }
        Err(why) => {
            eprintln!("mock-glase health: {}: {why}", args.url);
            ExitCode::FAILURE
        }
    }
}

fn serve_main(args: Args) -> ExitCode {
    init_tracing(args.log_format, "info");
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("mock-glase: {error:#}");
            return ExitCode::from(2);
        }
    };
    if args.print_config {
        return match config.resolved().map_err(anyhow::Error::from).and_then(|c| Ok(toml::to_string_pretty(&c)?)) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("mock-glase: {error:#}");
                ExitCode::from(2)
            }
        };
    }
    let Some(runtime) = runtime() else { return ExitCode::FAILURE };
    match runtime.block_on(serve(args, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-glase: {error:#}");
            ExitCode::from(if error.is::<mock_glase::config::ConfigError>() { 2 } else { 1 })
        }
    }
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(deadline) = args.status_deadline {
        config.deadlines.status_deadline = deadline;
    }
    if let Some(timeout) = args.reservation_timeout {
        config.deadlines.reservation_timeout = timeout;
    }
    if let Some(scale) = args.deadline_scale {
        config.deadline_scale = scale;
    }
    if let Some(token) = &args.control_token {
        config.control_token = Some(token.clone());
    }
    Ok(config)
}

async fn serve(args: Args, config: Config) -> anyhow::Result<()> {
    // Wall-clock time that the control API can move forward.
    let mock = Mock::new(&config, Arc::new(OffsetClock::new()))?;
    let listener =
        TcpListener::bind(args.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr()?;
    print_banner(&mock, local, args.public_url.as_deref());
    warn_if_descriptors_short(config.server.max_connections);
    mock_glase::server::run(listener, mock, args.public_url, glase_listen::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

fn print_banner(mock: &Mock, addr: SocketAddr, public_url: Option<&str>) {
    let base = public_url.map_or_else(|| format!("http://{addr}"), |u| u.trim_end_matches('/').to_owned());
    let config = mock.config();
    println!("mock-glase listening on {base}");
    println!("  SOAP endpoint   {base}/extclientproxy/service/v2   (also {base}/soap/merchant/cashregister-2)");
    println!("  WSDL            {base}/extclientproxy/service/v2?wsdl");
    let auth = if config.control_token.is_some() { "bearer token required" } else { "no authentication" };
    println!("  control API     {base}/control/info   ({auth})");
    for r in &config.resellers {
        println!(
            "  reseller        id {} / userId {} / password {}  currency {}  merchantId {}",
            r.id,
            r.user_id,
            r.password,
            r.currency,
            r.merchant_id.as_deref().unwrap_or(&r.id)
        );
    }
    for t in &config.terminals {
        println!("  terminal        TERMINALID {} / password {}  (reseller {})", t.id, t.password, t.reseller);
    }
    for c in &config.customers {
        println!("  customer        msisdn {} / PIN {}  balance {}", c.msisdn, c.pin, c.balance);
    }
    let d = &config.deadlines;
    println!(
        "  deadlines       status {}  reservation {}  report {}  (scale {})",
        humantime::format_duration(d.status_deadline),
        humantime::format_duration(d.reservation_timeout),
        humantime::format_duration(d.report_ready_delay),
        config.deadline_scale
    );
}

/// Descriptors the mock needs besides its client connections (listener, outbound calls,
/// the runtime's own).
const SPARE_DESCRIPTORS: u64 = 100;

/// Warns when the process may open fewer files than `server.max_connections` needs: the
/// limit would then be the operating system's, reached with an error instead of a wait.
fn warn_if_descriptors_short(max_connections: usize) {
    let Some(soft) = open_files_limit() else { return };
    let needed = max_connections as u64 + SPARE_DESCRIPTORS;
    if soft < needed {
        tracing::warn!(
            soft_limit = soft,
            max_connections,
            "the open-files limit is below server.max_connections + {SPARE_DESCRIPTORS}; raise it (ulimit -n {needed}) \
             or lower server.max_connections"
        );
    }
}

/// The soft open-files limit, where the system tells it (`/proc/self/limits` on Linux).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}
