//! The `[pos]` section of the configuration: the till's name, catalogue, terminal,
//! QR sticker, the reseller user that registers it, and its timing. The defaults match
//! the mock's demo data (reseller `glase-demo`, user `9900`, password `demo1234`).
//!
//! ```toml
//! [pos]
//! enabled = true                  # false: no till routes, never registerTerminal
//! name = "Glase Demo Till"        # in invoice titles and on receipts
//! currency = "EUR"
//! external_terminal_id = "till-1" # registerTerminal's externalTerminalId (the till's own id)
//! terminal_name = "Till 1"        # registerTerminal's name
//! seqr_id = "GLASEDEMOTILL1"      # assignSeqrId: the sticker is HTTP://SEQR.SE/Q<seqr_id>
//! reseller_id = "glase-demo"      # the RESELLERUSER that registers the terminal…
//! reseller_user = "9900"
//! reseller_password = "demo1234"
//! payment_window = "30s"          # a sale nobody paid by then is cancelled (cancelInvoice)
//! poll_interval = "1s"            # getPaymentStatus for each waiting sale this often (≤ 1 s)
//! cashier_id = "till-1"
//! driver = true                   # the /driver/pos JSON API for the conformance suite
//! products = [
//!   { sku = "coffee", name = "Coffee", price = "3.50" },
//! ]
//! ```
//!
//! The terminal's own password is not configured: the till chooses a random one at each
//! registration and keeps it in the database (`pos_terminal`), as a real till keeps it in
//! its own storage.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::duration_serde;
use crate::glase::ResellerLogin;
use crate::webshop::config::catalogue_problems;
use crate::webshop::{Product, WebshopConfig};

/// The point of sale polls each second (spec 2.3): the most `poll_interval` may be.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The longest payment window accepted: a customer at the counter pays within seconds;
/// an invoice left open longer only blocks the sticker for the next customer.
const MAX_PAYMENT_WINDOW: Duration = Duration::from_secs(600);

/// The till's configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PosConfig {
    /// Serve the till (its driver) and register its terminal when a sale needs it.
    pub enabled: bool,
    /// Shown in invoice titles ("<name> sale <id>") and on receipts.
    pub name: String,
    /// ISO 4217 code of every price and invoice.
    pub currency: String,
    /// The till's own id, sent as registerTerminal's `externalTerminalId`; registering
    /// it again gives the same terminalId.
    pub external_terminal_id: String,
    /// registerTerminal's `name`.
    pub terminal_name: String,
    /// The static QR sticker's id (alphanumeric), bound with assignSeqrId.
    pub seqr_id: String,
    /// The reseller user (RESELLERUSER principal) that registers the terminal.
    pub reseller_id: String,
    pub reseller_user: String,
    pub reseller_password: String,
    /// How long a sale waits for the customer; then its invoice is cancelled.
    #[serde(with = "duration_serde")]
    pub payment_window: Duration,
    /// How often each waiting sale's status is fetched (at most 1 s: the till has no
    /// notificationUrl).
    #[serde(with = "duration_serde")]
    pub poll_interval: Duration,
    /// `cashierId` on invoices and refunds.
    pub cashier_id: String,
    /// The till's catalogue.
    pub products: Vec<Product>,
    /// Serve the till driver (`/driver/pos/…`). Switch it off in production.
    pub driver: bool,
}

impl Default for PosConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            name: "Glase Demo Till".to_owned(),
            currency: "EUR".to_owned(),
            external_terminal_id: "till-1".to_owned(),
            terminal_name: "Till 1".to_owned(),
            seqr_id: "GLASEDEMOTILL1".to_owned(),
            reseller_id: "glase-demo".to_owned(),
            reseller_user: "9900".to_owned(),
            reseller_password: "demo1234".to_owned(),
            payment_window: Duration::from_secs(30),
            poll_interval: MAX_POLL_INTERVAL,
            cashier_id: "till-1".to_owned(),
            products: vec![
                Product::cents("coffee", "Coffee", 350),
                Product::cents("bun", "Cinnamon bun", 290),
                Product::cents("juice", "Orange juice", 420),
            ],
            driver: true,
        }
    }
}

impl PosConfig {
    /// Every problem at once, for [`crate::config::Config::validate`] (which asks only
    /// when the till is enabled).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = catalogue_problems("pos", &self.name, &self.currency, &self.products);
        for (key, value) in [
            ("external_terminal_id", &self.external_terminal_id),
            ("terminal_name", &self.terminal_name),
            ("reseller_id", &self.reseller_id),
            ("reseller_user", &self.reseller_user),
            ("reseller_password", &self.reseller_password),
            ("cashier_id", &self.cashier_id),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("pos.{key} must not be empty"));
            }
        }
        if self.seqr_id.is_empty() || !self.seqr_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            problems.push(format!(
                "pos.seqr_id {:?} must be letters and digits only (Glase answers 53 INVALID_SEQR_ID otherwise)",
                self.seqr_id
            ));
        }
        if self.payment_window.is_zero() || self.payment_window > MAX_PAYMENT_WINDOW {
            problems.push(format!(
                "pos.payment_window {} must be positive and at most {}",
                humantime::format_duration(self.payment_window),
                humantime::format_duration(MAX_PAYMENT_WINDOW),
            ));
        }
        if self.poll_interval.is_zero() || self.poll_interval > MAX_POLL_INTERVAL {
            problems.push(format!(
                "pos.poll_interval {} must be positive and at most 1s (a till has no notificationUrl and polls each \
                 second; Glase reverses payments whose status is not fetched)",
                humantime::format_duration(self.poll_interval),
            ));
        }
        problems
    }

    /// The QR code the customer scans: the till's sticker.
    pub(crate) fn qr_code(&self) -> String {
        format!("HTTP://SEQR.SE/Q{}", self.seqr_id)
    }

    pub(crate) fn login(&self) -> ResellerLogin {
        ResellerLogin {
            reseller_id: self.reseller_id.clone(),
            user_id: self.reseller_user.clone(),
            password: self.reseller_password.clone(),
        }
    }

    /// The order engine's configuration for the till: the payment window is its unpaid
    /// timeout, no notificationUrl (so the poll is the only trigger).
    pub(crate) fn engine(&self) -> WebshopConfig {
        WebshopConfig {
            name: self.name.clone(),
            currency: self.currency.clone(),
            products: self.products.clone(),
            unpaid_timeout: self.payment_window,
            poll_interval: self.poll_interval,
            notification_url: false,
            cashier_id: self.cashier_id.clone(),
            driver: self.driver,
            ..WebshopConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_have_no_problems_and_match_the_mocks_demo_reseller() {
        let config = PosConfig::default();
        assert_eq!(config.problems(), Vec::<String>::new());
        assert_eq!(config.engine().problems(), Vec::<String>::new());
        assert_eq!((config.reseller_id.as_str(), config.reseller_user.as_str()), ("glase-demo", "9900"));
        assert_eq!(config.qr_code(), "HTTP://SEQR.SE/QGLASEDEMOTILL1");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let config = PosConfig {
            seqr_id: "till-1".to_owned(),
            poll_interval: Duration::from_secs(2),
            payment_window: Duration::ZERO,
            reseller_user: " ".to_owned(),
            currency: "eur".to_owned(),
            products: Vec::new(),
            ..PosConfig::default()
        };
        let problems = config.problems();
        assert_eq!(problems.len(), 6, "{problems:#?}");
        for key in ["seqr_id", "poll_interval", "payment_window", "reseller_user", "currency", "products"] {
            assert!(problems.iter().any(|p| p.starts_with(&format!("pos.{key}"))), "{key}: {problems:#?}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_and_durations_read_as_text() {
        assert!(toml::from_str::<PosConfig>("colour = \"red\"").is_err());
        let parsed: PosConfig = toml::from_str("payment_window = \"2s\"\npoll_interval = \"50ms\"").unwrap();
        assert_eq!((parsed.payment_window, parsed.poll_interval), (Duration::from_secs(2), Duration::from_millis(50)));
        assert!(parsed.problems().is_empty());
    }
}
