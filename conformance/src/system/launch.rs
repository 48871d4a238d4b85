//! Bringing the system under test up for a command: started (`--start`) once the
//! embedded Glase listens, then waited for until its endpoints answer (`--wait-for`).
//! `run`, `load` and `explore` all do it this way.

use std::path::Path;
use std::time::{Duration, Instant};

use super::declared::System;
use super::process::Started;
use crate::runner::preflight::{self, RunError};

/// Starts the system if `--start` says so (its output into `log`), and waits for its
/// endpoints. A system that cannot be started is a configuration error; one that never
/// answers is unreachable (and is stopped again).
pub async fn launch(
    system: &System,
    glase_url: &str,
    log: &Path,
    http: &reqwest::Client,
) -> Result<Option<Started>, RunError> {
    let mut started = match &system.start {
        Some(command) => {
            let started = Started::spawn(command, glase_url, log)
                .map_err(|e| RunError::Config(mock_glase::errors::error_chain(&e)))?;
            eprintln!("Started the system under test: {} (output: {})", command.command, log.display());
            Some(started)
        }
        None => None,
    };
    if let Err(error) = wait_until_ready(system, http, started.as_mut()).await {
        if let Some(started) = started {
            started.stop().await;
        }
        return Err(error);
    }
    Ok(started)
}

/// Adds what to try next to an unreachable system's message: start it (or let the suite
/// start it), or — when the suite started it and it is still running — check where it
/// listens.
fn with_hint(error: RunError, system: &System, started: Option<&Started>) -> RunError {
    let RunError::Unreachable { what, url, reason } = error else { return error };
    let waited = humantime::format_duration(system.wait_for);
    let hint = match started {
        Some(process) => format!(
            "the started system is still running but nothing answered here within --wait-for {waited}: \
             does it listen on this address, or does it need longer? Its output: {}",
            process.log().display()
        ),
        None if system.wait_for.is_zero() => "is it running? Start it first, or let the suite start it with \
             --start COMMAND (--wait-for 60s waits for a slow start)"
            .to_owned(),
        None => format!("nothing answered within --wait-for {waited}: is it running and listening on this address?"),
    };
    RunError::Unreachable { what, url, reason: format!("{reason}\n  hint: {hint}") }
}

/// Waits until every endpoint answers: one try, or up to `--wait-for` (the started
/// system must not exit meanwhile).
pub async fn wait_until_ready(
    system: &System,
    http: &reqwest::Client,
    mut started: Option<&mut Started>,
) -> Result<(), RunError> {
    let deadline = Instant::now() + system.wait_for;
    let mut announced = false;
    loop {
        let error = match preflight::preflight(&system.target, http).await {
            Ok(()) => return Ok(()),
            Err(error @ RunError::Unreachable { .. }) => error,
            Err(other) => return Err(other),
        };
        if let Some(process) = started.as_deref_mut()
            && let Some(status) = process.exited()
        {
            let tail = process.log_tail(20);
            return Err(RunError::Unreachable {
                what: "the started system",
                url: process.command().to_owned(),
                reason: format!(
                    "it exited ({status}) before its endpoints answered; the end of its output ({}):\n{tail}",
                    process.log().display()
                ),
            });
        }
        if Instant::now() >= deadline {
            return Err(with_hint(error, system, started.as_deref()));
        }
        if !announced {
            eprintln!(
                "Waiting up to {} for the system under test to answer…",
                humantime::format_duration(system.wait_for)
            );
            announced = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
