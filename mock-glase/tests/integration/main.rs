//! The mock's tests through its public API and real sockets, in one test binary (one
//! link instead of nine, as nextest-runner's `tests/integration/main.rs`).
//!
//! - [`machine`]: the state machine driven directly (spec 3.5, 4 and 9).
//! - [`http`]: real sockets: the WSDL at both paths, faults for bad input, the journal.
//! - [`ups`], [`control`], [`tls`], [`customer_cli`]: the Unattended Payments Service,
//!   the control API, TLS towards merchants, the `mock-glase customer` command.
//! - [`hostile`]: hostile systems and clients (issue 11).
//! - [`contract`]: the control API against `docs/openapi/control.yaml`.
//! - [`compat`]: a strict zeep client generated from the WSDL.
//!
//! [`support`] is the harness the socket tests share: a mock on 127.0.0.1:0 and its
//! control API.
#![allow(clippy::unwrap_used)] // test code: a failed setup or assertion should panic loudly

mod compat;
mod contract;
mod control;
mod customer_cli;
mod hostile;
mod http;
mod machine;
mod support;
mod tls;
mod ups;
