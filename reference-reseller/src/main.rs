//! `reference-reseller`: glue between the command line and the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use glase_listen::{LogFormat, init_tracing};
use reference_reseller::{Config, Context, Fault, Reseller, store::Db};
use tokio::net::TcpListener;

const EXAMPLES: &str = "\
Examples:
  # Against a mock on its default port, with the demo machines and shop
  mock-glase &
  reference-reseller --glase-url http://127.0.0.1:7070/extclientproxy/service/v2

  # Your own fleet and products, another database file
  reference-reseller --config reseller.toml --database /var/lib/reseller.sqlite

  # A deliberately broken reseller, for the conformance suite's self-test
  reference-reseller --fault trust-notification --fault skip-status-fetch

  # Every deliberate fault with what it breaks
  reference-reseller --list-faults

Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad arguments or configuration.";

/// `reference-reseller --version`: the version and the git commit it was built from
/// (build.rs), as `glase-conformance --version` prints them.
const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("GLASE_KIT_COMMIT"), ")");

/// A correct, durable reseller backend for Glase: vending machines (createPurchase,
/// reservations, vending), a webshop (checkout, status, receipts, refunds) and a
/// point-of-sale till (registered terminal, static QR sticker).
#[derive(Debug, Parser)]
#[command(version = VERSION_LINE, after_help = EXAMPLES)]
struct Args {
    /// TOML configuration (machines, products, credentials; see docs/reference-reseller.md).
    #[arg(long, env = "RESELLER_CONFIG")]
    config: Option<PathBuf>,

    /// Glase SOAP endpoint (overrides the config).
    #[arg(long, env = "GLASE_URL")]
    glase_url: Option<String>,

    /// Address to listen on (overrides the config; default 127.0.0.1:7071).
    #[arg(long)]
    listen: Option<SocketAddr>,

    /// Base URL Glase reaches this reseller at, for notificationUrls (default http://<listen>).
    #[arg(long)]
    public_url: Option<String>,

    /// SQLite database file (overrides the config).
    #[arg(long)]
    database: Option<PathBuf>,

    /// Serve this many machines, `machine-1` … `machine-N` (the two demo machines first,
    /// then copies of them), instead of the configured fleet: for load tests.
    #[arg(long, value_name = "N")]
    machines: Option<usize>,

    /// Switch on a deliberate fault (repeatable; see --list-faults). Never use in production.
    #[arg(long = "fault", value_enum)]
    faults: Vec<Fault>,

    /// Require this token on the machine, shop and till drivers and the shop's staff actions
    /// (overrides the config's `driver_token`): `Authorization: Bearer TOKEN`.
    #[arg(long, value_name = "TOKEN", env = "RESELLER_DRIVER_TOKEN", hide_env_values = true)]
    driver_token: Option<String>,

    /// List the deliberate faults and exit.
    #[arg(long)]
    list_faults: bool,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_faults {
        for fault in Fault::ALL {
            println!("{:<32} {}", fault.name(), fault.description());
        }
        return ExitCode::SUCCESS;
    }
    init_tracing(args.log_format, "info");
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("reference-reseller: {error:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("reference-reseller: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("reference-reseller: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(url) = &args.glase_url {
        config.glase_url = url.clone();
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(url) = &args.public_url {
        config.public_url = Some(url.clone());
    }
    if let Some(database) = &args.database {
        config.database = database.clone();
    }
    if let Some(count) = args.machines {
        config.vending.machines = reference_reseller::vending::numbered_fleet(count);
    }
    config.faults.extend(args.faults.iter().copied());
    if let Some(token) = &args.driver_token {
        config.driver_token = Some(token.clone());
    }
    config.validate()?;
    Ok(config)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let local = listener.local_addr()?;
    let db =
        Db::open(&config.database).with_context(|| format!("cannot open database {}", config.database.display()))?;
    let database = config.database.display().to_string();
    let auth = if config.driver_token.is_some() { "token required" } else { "no authentication" };
    if config.driver_token.is_none() && !local.ip().is_loopback() {
        tracing::warn!(
            addr = %local,
            "listening beyond loopback with no driver token: anyone who can reach this port can vend, take machines \
             out of service, ring up till sales, refund and close periods; set --driver-token (RESELLER_DRIVER_TOKEN)"
        );
    }
    let context = Context::new(config, db)?;
    if !context.faults.is_empty() {
        let names: Vec<&str> = context.faults.iter().map(Fault::name).collect();
        tracing::warn!(faults = %names.join(", "), "DELIBERATE FAULTS ARE ON: this reseller is wrong on purpose");
    }
    let reseller = Reseller::new(context)?;
    println!("reference-reseller listening on http://{local}");
    println!("  Glase endpoint  {}", reseller.context.glase.endpoint());
    println!("  public URL      {}", reseller.context.public_url);
    println!("  database        {database}");
    println!("  drivers, staff  /driver/…, refund, close   ({auth})");
    reference_reseller::run(listener, reseller, glase_listen::shutdown_signal()).await
}
