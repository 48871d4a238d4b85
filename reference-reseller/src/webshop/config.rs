//! The `[webshop]` section of the configuration: the shop's name, currency, catalogue
//! and timing.
//!
//! ```toml
//! [webshop]
//! name = "Glase Demo Shop"
//! currency = "EUR"
//! unpaid_timeout = "2m"   # cancelInvoice an invoice nobody paid after this long
//! poll_interval = "1s"    # getPaymentStatus for each pending order this often (see below)
//! max_polls_per_second = 100  # …but never more polls than this per second, all orders together
//! notification_url = true # false: sendInvoice without a notificationUrl (polling only)
//! cashier_id = "webshop"
//! driver = true           # the /driver/shop JSON API for the conformance suite
//! products = [
//!   { sku = "headphones", name = "Headphones", price = "149.99" },
//!   { sku = "cable", name = "USB-C cable", price = 9.90 },
//! ]
//! ```
//!
//! Two correct ways to meet Glase's 20-second status rule (seed 002: "the web server
//! must check the status each second", "payment status must be called immediately
//! when the notificationUrl is called"):
//!
//! - notification-driven (`notification_url = true`, the default): every notification
//!   triggers getPaymentStatus at once, and the poll is only the fallback for a lost
//!   notification, so `poll_interval` may be up to 10 s (half the deadline; the default
//!   is 1 s, e.g. `"2.5s"` is a slower fallback);
//! - polling only (`notification_url = false`: the seed calls the notificationUrl
//!   optional): no notificationUrl is sent, and `poll_interval` must be at most 1 s.
//!
//! Either way the poll is rationed: at most `max_polls_per_second` getPaymentStatus
//! calls per second over all pending orders, least recently polled first. Checkouts
//! are public, and each unpaid one would otherwise cost a call every `poll_interval`
//! until its `unpaid_timeout` (120 calls at the defaults): 2 400 open checkouts made
//! 2 400 calls a second. With more pending orders than the budget covers, each is
//! polled every `pending / max_polls_per_second` seconds. A notified shop loses
//! nothing by that (the notification triggers the fetch at once, unrationed); a
//! polling-only shop must size the budget to its pending orders: beyond
//! `20 × max_polls_per_second` of them a payment can miss Glase's 20 s deadline and
//! be reversed.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::config::duration_serde;

/// The seed: "The web server must check the status each second". The poll interval
/// of a shop that sends no notificationUrl, and the default.
pub(crate) const MAX_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The longest fallback poll of a shop that is notified: half of Glase's 20-second
/// status deadline, so a payment whose notifications are all lost is still fetched in
/// time.
pub(crate) const MAX_FALLBACK_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// The webshop part's configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebshopConfig {
    /// Shown on the pages, in invoice titles and on receipts.
    pub name: String,
    /// ISO 4217 code of every price and invoice.
    pub currency: String,
    /// The catalogue.
    pub products: Vec<Product>,
    /// An invoice still unpaid this long after checkout is cancelled (cancelInvoice).
    #[serde(with = "duration_serde")]
    pub unpaid_timeout: Duration,
    /// How often the server asks getPaymentStatus for each pending order: at most 1 s
    /// without a notificationUrl, at most 10 s with one (then it is the fallback for a
    /// lost notification; each notification is followed by getPaymentStatus at once).
    #[serde(with = "duration_serde")]
    pub poll_interval: Duration,
    /// The most getPaymentStatus calls per second the poll makes, over all pending
    /// orders together (at least 1). Pending orders are polled least recently polled
    /// first, so with more than `max_polls_per_second × poll_interval` of them each is
    /// polled every `pending / max_polls_per_second` seconds instead of every
    /// `poll_interval`. Notifications are not rationed: each is followed by
    /// getPaymentStatus at once (coalesced per order). Unpaid checkouts, which anyone
    /// can start, therefore cannot make the shop call Glase more often than this.
    pub max_polls_per_second: u32,
    /// Send a notificationUrl (with the order's session token) in sendInvoice. `false`:
    /// none is sent (the seed: "The notificationUrl parameter is optional") and the
    /// shop relies on its poll alone, every `poll_interval` (≤ 1 s).
    pub notification_url: bool,
    /// `cashierId` on invoices and refunds.
    pub cashier_id: String,
    /// Serve the shop driver (`/driver/shop/…`, spec section 8). Switch it off in
    /// production: it creates orders and refunds with no authentication but the
    /// `driver_token`, when one is set.
    pub driver: bool,
}

impl Default for WebshopConfig {
    fn default() -> Self {
        Self {
            name: "Glase Demo Shop".to_owned(),
            currency: "EUR".to_owned(),
            products: vec![
                Product::cents("headphones", "Wireless headphones", 14999),
                Product::cents("cable", "USB-C cable", 990),
                Product::cents("case", "Headphone case", 2450),
            ],
            unpaid_timeout: Duration::from_secs(120),
            poll_interval: MAX_POLL_INTERVAL,
            max_polls_per_second: 100,
            notification_url: true,
            cashier_id: "webshop".to_owned(),
            driver: true,
        }
    }
}

/// One product of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Stable identifier: letters, digits, `-` and `_` (it names form fields).
    pub sku: String,
    pub name: String,
    /// Unit price with at most two decimals; a string (`"149.99"`) or a number.
    #[serde(with = "money")]
    pub price: Decimal,
}

impl Product {
    /// A product priced in cents (`Product::cents("cable", "USB-C cable", 990)`): the
    /// built-in catalogues.
    pub fn cents(sku: &str, name: &str, cents: i64) -> Self {
        Self { sku: sku.to_owned(), name: name.to_owned(), price: Decimal::new(cents, 2) }
    }
}

impl WebshopConfig {
    /// Every problem at once, for [`crate::config::Config::validate`].
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        problems.extend(catalogue_problems("webshop", &self.name, &self.currency, &self.products));
        if self.unpaid_timeout.is_zero() {
            problems.push("webshop.unpaid_timeout must be positive".to_owned());
        }
        let (limit, why) = if self.notification_url {
            (MAX_FALLBACK_POLL_INTERVAL, "the fallback for a lost notification must come well within Glase's 20 s")
        } else {
            (MAX_POLL_INTERVAL, "without a notificationUrl the shop must poll each second")
        };
        if self.poll_interval.is_zero() || self.poll_interval > limit {
            problems.push(format!(
                "webshop.poll_interval {} must be positive and at most {} ({why}; Glase reverses payments whose status is not fetched)",
                humantime::format_duration(self.poll_interval),
                humantime::format_duration(limit),
            ));
        }
        if self.max_polls_per_second == 0 {
            problems.push("webshop.max_polls_per_second must be at least 1".to_owned());
        }
        if self.cashier_id.trim().is_empty() {
            problems.push("webshop.cashier_id must not be empty".to_owned());
        }
        problems
    }

    pub(crate) fn product(&self, sku: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.sku == sku)
    }
}

/// The problems of a name, currency and catalogue (the webshop's or the till's), named
/// under `section`.
pub(crate) fn catalogue_problems(section: &str, name: &str, currency: &str, products: &[Product]) -> Vec<String> {
    let mut problems = Vec::new();
    if name.trim().is_empty() {
        problems.push(format!("{section}.name must not be empty"));
    }
    if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
        problems.push(format!("{section}.currency {currency:?} must be an ISO 4217 code such as EUR"));
    }
    if products.is_empty() {
        problems.push(format!("{section}.products must list at least one product"));
    }
    for (i, product) in products.iter().enumerate() {
        if !is_valid_sku(&product.sku) {
            problems.push(format!(
                "{section}.products[{i}].sku {:?} must be 1–64 letters, digits, '-' or '_'",
                product.sku
            ));
        }
        if products[..i].iter().any(|p| p.sku == product.sku) {
            problems.push(format!("{section}.products[{i}].sku {:?} is listed twice", product.sku));
        }
        if product.name.trim().is_empty() {
            problems.push(format!("{section}.products[{i}].name must not be empty"));
        }
        if product.price <= Decimal::ZERO || product.price.normalize().scale() > 2 {
            problems.push(format!(
                "{section}.products[{i}].price {} must be positive with at most two decimals",
                product.price
            ));
        }
    }
    problems
}

pub(crate) fn is_valid_sku(sku: &str) -> bool {
    (1..=64).contains(&sku.len()) && sku.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) mod money {
    //! Money in configuration and JSON bodies: a decimal string (`"149.99"`, the exact
    //! form) or a number, which is read through its shortest decimal text so that
    //! `9.90` is 9.90 and not 9.9000000000000003552713678800500929355621337890625.
    //! Written as a string, always with two decimals.

    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Integer(i64),
        Float(f64),
    }

    pub(crate) fn parse(raw: &str) -> Result<Decimal, String> {
        let text = raw.trim();
        let value = Decimal::from_str(text).map_err(|_| format!("{raw:?} is not a decimal amount"))?;
        if value.normalize().scale() > 2 {
            return Err(format!("{raw:?} has more than two decimals"));
        }
        Ok(value)
    }

    fn from_raw(raw: Raw) -> Result<Decimal, String> {
        match raw {
            Raw::Text(text) => parse(&text),
            Raw::Integer(n) => Ok(Decimal::from(n)),
            Raw::Float(f) if f.is_finite() => parse(&f.to_string()),
            Raw::Float(f) => Err(format!("{f} is not an amount")),
        }
    }

    pub(crate) fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::two_decimals(*value).to_string())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        from_raw(Raw::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }

    pub(crate) mod option {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer};

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
            match Option::<super::Raw>::deserialize(deserializer)? {
                None => Ok(None),
                // An empty form field means "not given".
                Some(super::Raw::Text(text)) if text.trim().is_empty() => Ok(None),
                Some(raw) => super::from_raw(raw).map(Some).map_err(serde::de::Error::custom),
            }
        }
    }
}

/// The amount with exactly two decimals (`10` → `10.00`), as invoices and pages show it.
pub(crate) fn two_decimals(value: Decimal) -> Decimal {
    let mut value = value.round_dp(2);
    value.rescale(2);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_has_no_problems() {
        assert_eq!(WebshopConfig::default().problems(), Vec::<String>::new());
    }

    #[test]
    fn prices_read_from_strings_and_numbers_exactly() {
        let config: WebshopConfig = toml::from_str(
            r#"products = [{ sku = "a", name = "A", price = "149.99" }, { sku = "b", name = "B", price = 9.90 },
                          { sku = "c", name = "C", price = 10 }]"#,
        )
        .expect("valid TOML");
        let prices: Vec<String> = config.products.iter().map(|p| two_decimals(p.price).to_string()).collect();
        assert_eq!(prices, ["149.99", "9.90", "10.00"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let config = WebshopConfig {
            currency: "euro".to_owned(),
            products: vec![
                Product { sku: "a b".to_owned(), name: "A".to_owned(), price: Decimal::new(1, 3) },
                Product { sku: "c".to_owned(), name: String::new(), price: Decimal::ONE },
                Product { sku: "c".to_owned(), name: "C".to_owned(), price: Decimal::ONE },
            ],
            poll_interval: Duration::from_secs(11),
            ..WebshopConfig::default()
        };
        let problems = config.problems();
        assert_eq!(problems.len(), 6, "{problems:#?}");
        assert!(problems.iter().any(|p| p.contains("poll_interval")));
    }

    #[test]
    fn a_notified_shop_may_poll_slower_than_a_polling_only_one() {
        let slow = |notification_url| WebshopConfig {
            poll_interval: Duration::from_millis(2500),
            notification_url,
            ..WebshopConfig::default()
        };
        assert!(slow(true).problems().is_empty(), "{:?}", slow(true).problems());
        let problems = slow(false).problems();
        assert!(problems.len() == 1 && problems[0].contains("at most 1s"), "{problems:?}");
        let parsed: WebshopConfig = toml::from_str("notification_url = false\npoll_interval = \"500ms\"").unwrap();
        assert!(!parsed.notification_url && parsed.problems().is_empty());
        assert!(WebshopConfig::default().notification_url);
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(toml::from_str::<WebshopConfig>("colour = \"red\"").is_err());
    }

    #[test]
    fn amounts_with_more_than_two_decimals_are_refused() {
        assert!(money::parse("1.005").is_err());
        assert!(money::parse("abc").is_err());
        assert_eq!(money::parse(" 50.00 ").map(|d| d.to_string()).as_deref(), Ok("50.00"));
    }
}
