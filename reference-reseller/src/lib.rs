//! The reference reseller: a correct, durable reseller/merchant backend for Glase —
//! unattended vending machines (`createPurchase`, reservation, unlock, `updateInvoice`,
//! `commitReservation`), webshops (`sendInvoice`, status polling, receipts, refunds) and
//! a point-of-sale till (a registered terminal with a static QR sticker).
//! It is the code integrators copy and the known-good system the conformance suite tests
//! itself against.
//!
//! # Layout
//! - [`glase`]: the SOAP client (every call with a complete client context).
//! - [`store`]: the embedded database; [`config`]: configuration; [`faults`]: the
//!   deliberate mistakes for the suite's self-test.
//! - [`vending`]: machines, createPurchase, notifications, vending, the machine driver.
//! - [`webshop`]: checkout, status polling, receipts, refunds, the shop driver.
//! - [`pos`]: the point-of-sale till (registerTerminal, assignSeqrId, sales on the
//!   webshop's order engine, closing and reports, unregisterTerminal), the till driver.
//! - [`app`]: wiring, recovery after a restart, background tasks, serving (on connections
//!   limited as `listen` describes, the same file as the mock's); `staff`: the token the
//!   drivers and the shop's staff actions need, when one is configured.

pub mod app;
pub mod config;
pub mod faults;
pub mod glase;
pub mod pos;
mod staff;
pub mod store;
pub mod vending;
pub mod webshop;

pub use app::{Context, Reseller, run};
pub use config::Config;
pub use faults::{Fault, Faults};
