//! A faithful, stateful mock of Glase: the SOAP Payment API, the simulated customer app,
//! notifications and a control API.
//!
//! # Layout
//! - [`machine`]: the pure state machine (`apply(request, now) -> Outcome`).
//! - [`clock`]: the one clock abstraction; [`config`]: start-up configuration.
//! - [`journal`]: the bounded record of every message and transition.
//! - [`mock`]: [`Mock`], the running mock as a library (lock, apply, journal, notify).
//! - [`notify`]: notification delivery; [`http`]: the thin axum transport;
//!   [`server`]: binding, the deadline timer and graceful shutdown; `supervise`: what a
//!   panic (a bug) leads to.
//! - [`demo`]: the guided walkthrough behind `mock-glase demo`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use mock_glase::{Config, Mock, SystemClock};
//! let mock = Mock::new(&Config::default(), Arc::new(SystemClock)).expect("demo config is valid");
//! let server = mock_glase::server::spawn("127.0.0.1:0".parse().unwrap(), mock.clone()).await?;
//! println!("SOAP endpoint: {}", server.soap_url());
//! # Ok(()) }
//! ```

pub mod clock;
pub mod config;
pub mod demo;
pub mod errors;
pub mod http;
pub mod journal;
pub mod machine;
pub mod mock;
pub mod notify;
pub mod outbound;
#[cfg(test)]
mod panic_tests;
pub mod server;
mod supervise;

pub use clock::{Clock, ManualClock, OffsetClock, SystemClock, Timestamp};
pub use config::Config;
pub use machine::Machine;
pub use mock::Mock;
