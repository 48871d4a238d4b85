//! The point-of-sale till (spec sections 2.3 and 7): a cashier rings up a sale, the
//! customer scans the till's static QR sticker (`HTTP://SEQR.SE/Q<seqrId>`) and pays in
//! the Glase app, the till learns the outcome by polling getPaymentStatus each second
//! for up to its payment window (30 s) and cancels the invoice if nobody paid, submits a
//! receipt, refunds, and closes its transaction period.
//!
//! How the parts fit: a sale is a webshop order of another channel, so the till runs
//! its own instance of the order engine (`crate::webshop`: checkout, the status loop,
//! receipts, refunds, cancel, recovery) with the till's catalogue and timing (`config`)
//! and a Glase client that calls as the till's own terminal. That terminal is
//! registered at Glase by the till itself (`registration`: registerTerminal as the
//! reseller user, assignSeqrId of the sticker, unregisterTerminal), and the
//! registration is kept in the database (`terminal`) so a restart reuses it. `sales`
//! starts a sale (registering first when needed), `reports` closes the period and runs
//! its report, `driver` serves all of it as JSON, and [`Till`] is the shared handle.

mod config;
mod driver;
mod registration;
mod reports;
mod sales;
mod service;
mod terminal;
mod till;

pub use config::PosConfig;
pub use till::Till;
