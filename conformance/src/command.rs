//! What every command (`run`, `demo`, `list`, `load`, `explore`) shares and the command
//! line only dispatches: the exit codes, the message of a run that could not start, the
//! seed of a run given none, and the command line as given. A module of its
//! own, so `load` and `explore` need not import them back from `cli`.

use std::process::ExitCode;

use crate::runner::RunError;

/// Named exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every scenario passed (or was skipped).
    Passed = 0,
    /// A scenario failed: a step did not hold or a rule was broken.
    Failed = 1,
    /// Bad arguments, configuration or scenario files.
    Usage = 2,
    /// The system under test could not be reached.
    Unreachable = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// The command line as given (for the evidence bundle).
pub(crate) fn command_line() -> Vec<String> {
    std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()).collect()
}

/// A seed from the clock, for runs given none (always printed, so a run can be replayed).
pub(crate) fn time_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Prints why a run could not start; exit 3 when the system is unreachable, else 2.
pub(crate) fn fail_start(error: &RunError) -> Exit {
    eprintln!("error: {}", mock_glase::errors::error_chain(error));
    match error {
        RunError::Unreachable { .. } => Exit::Unreachable,
        _ => Exit::Usage,
    }
}
