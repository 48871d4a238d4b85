//! The system under test as its integrator declares it, once, for every command that
//! drives it (`run`, `load`, `explore`): where its endpoints are, its own timers, who it
//! is, and optionally how to start it.
//!
//! Each setting comes from the command line, else from its environment variable
//! (`GLASE_CONFORMANCE_…`), else from the config file (`--config FILE`), else from its
//! default. [`SystemArgs`] is the clap group every command flattens (ripgrep defines each
//! flag once); [`SystemArgs::resolve`] merges it with the file into a [`System`].
//!
//! # Layout
//! - `declared`: the system as resolved, and who it is.
//! - `args`: the flags, the config file, and their merge.
//! - `urls`: what makes an endpoint URL usable (checked before anything starts).
//! - `process`: `--start`: the system as a child process, its output captured, stopped
//!   with its whole process group.
//! - `launch`: started once Glase listens, then waited for (`--wait-for`).

mod args;
mod declared;
mod launch;
mod process;
mod urls;

pub use args::{ConfigFile, SystemArgs, UsageError};
pub use declared::{DEFAULT_GLASE_LISTEN, DEFAULT_START_WAIT, Identity, StartCommand, System};
pub use launch::{launch, wait_until_ready};
pub use process::{StartError, Started};
