//! The webshop (seed 002, spec section 2.2): a customer checks out, the shop sends an
//! IMMEDIATE_DEBIT invoice and shows its QR code, the customer pays in the Glase app,
//! and the shop learns the outcome from getPaymentStatus — never from the notification
//! itself — stores the ersReference, submits a receipt, and can later refund, cancel and
//! close the transaction period.
//!
//! How the parts fit: `web` serves the customer's pages (rendered by `pages`) and
//! `driver` the same operations as JSON for the conformance suite; both call
//! `checkout`, `refunds`, `cancel` and `periods`, which talk to Glase and record
//! the outcome in `orders` (SQLite). `status` owns every getPaymentStatus: one
//! background loop polls each pending order every `poll_interval` and also acts on
//! notifications, serialising the calls per order so each one echoes the latest
//! `version`; it cancels overdue invoices and submits receipts. `recovery` resumes all
//! of that after a restart. [`Webshop`] is the shared handle.
//!
//! The same engine also runs the till of [`crate::pos`] (a sale is an order of another
//! channel): that module reuses checkout, the status loop, refunds, cancel and the order
//! documents, hence the `pub(crate)` modules.

mod cancel;
pub(crate) mod channel;
pub(crate) mod checkout;
pub(crate) mod config;
pub(crate) mod driver;
pub(crate) mod error;
pub(crate) mod orders;
mod pages;
pub(crate) mod periods;
mod recovery;
pub(crate) mod refunds;
mod service;
pub(crate) mod shop;
mod status;
mod web;

pub use config::{Product, WebshopConfig};
pub use shop::Webshop;
