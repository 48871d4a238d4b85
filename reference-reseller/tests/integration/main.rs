//! Integration tests of the reference reseller against the real mock-glase, through real
//! sockets on 127.0.0.1. One binary; a module per part.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed setup should panic loudly

mod contract;
mod crash;
mod pos;
mod server;
mod staff;
mod startup;
mod support;
mod vending;
mod webshop;
