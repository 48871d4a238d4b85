//! `glase-conformance`: parse the arguments, start logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use glase_conformance::cli::{Cli, main as run};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's default), --help and --version 0.
    let cli = Cli::parse();
    // Quiet by default: the reporters own the terminal; RUST_LOG=info shows the mock's
    // and (in the demo) the reference reseller's logs on stderr.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli)).into()
}
