//! Unattended vending machines (spec 2.1, seed 000): the reseller side of the Glase
//! Unattended Payments Service.
//!
//! A scan makes the UPS call `create_purchase`, which claims the machine and sends a
//! reservation invoice whose notificationUrl carries a secret per-purchase token. The
//! customer confirms in the app; Glase POSTs to `notify`, and `status` asks
//! getPaymentStatus and unlocks the machine only on RESERVED (the `background` poll
//! does the same if the notification is lost). The machine — played by a test suite
//! through the `driver` — reports what the customer chose; `vend` sends
//! updateInvoice and commitReservation for exactly that and releases the machine.
//! Everything durable lives in `store` (SQLite, via the shared `Db`), so `recovery`
//! can finish any purchase after a crash, and the idle timer in `background` releases
//! machines nobody uses. `model` holds the states; `config` the fleet; `service`
//! the handle ([`Vending`]) with the per-purchase locks and the task set.

mod background;
mod config;
mod create_purchase;
mod driver;
mod model;
mod notify;
mod recovery;
mod service;
mod status;
mod store;
mod vend;

pub use config::{MachineConfig, ProductConfig, VendingConfig, demo_fleet, numbered_fleet};
pub use service::Vending;
