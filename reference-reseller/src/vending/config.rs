//! The `[vending]` section: the fleet of machines with their products, and the timers.
//!
//! ```toml
//! [vending]
//! idle_timeout = "60s"          # unlocked or awaiting confirmation with nothing vended: cancel
//! status_poll_interval = "3s"   # fallback getPaymentStatus while a customer is confirming
//! create_purchase_path = "/seqr/createPurchase"
//! update_per_line = false       # true: one updateInvoice per vended line, with running totals
//! commit_amount = true          # false: commitReservation without `amount` (Glase commits the total)
//!
//! [[vending.machines]]
//! token = "machine-1"           # the `t` of the machine's QR code
//! name = "Lobby, ground floor"
//! currency = "EUR"
//! in_service = true
//! products = [
//!   { sku = "cola", name = "Cola 0.33 l", price = "2.50" },   # money is a string: never a float
//! ]
//! ```

use std::collections::HashSet;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::config::duration_serde;

/// The vending part's configuration. Without a `machines` list the two demo machines
/// `machine-1` and `machine-2` are used; `machines = []` means no machines at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VendingConfig {
    pub machines: Vec<MachineConfig>,
    /// A machine unlocked, or awaiting the customer's confirmation, with nothing vended
    /// for this long is released: the invoice is cancelled (cancelInvoice).
    #[serde(with = "duration_serde")]
    pub idle_timeout: Duration,
    /// While a purchase waits for the customer, getPaymentStatus is polled this often
    /// as a fallback for a lost notification (well within Glase's 20 s status rule).
    #[serde(with = "duration_serde")]
    pub status_poll_interval: Duration,
    /// Where the Unattended Payments Service POSTs createPurchase (must end with
    /// `createPurchase`).
    pub create_purchase_path: String,
    /// `true`: a vend sends one updateInvoice per vended product line, each with the
    /// rows so far and their running total (the last one carries every row and the
    /// final total), then commits. `false` (default): one updateInvoice with every row.
    /// Both are correct (spec 2.1 step 10 asks for the final rows before the commit);
    /// the option exists so the conformance suite can be run against a second,
    /// deliberately different correct reseller.
    pub update_per_line: bool,
    /// `false`: commitReservation without the optional `amount` element, so Glase
    /// commits the invoice's current total (spec 3.1, 4), which the updateInvoice just
    /// set to the vended total. If that updateInvoice did not succeed the amount is
    /// sent anyway: the invoice's total would still be the whole reservation. `true`
    /// (default): the vended total is always sent.
    pub commit_amount: bool,
}

impl Default for VendingConfig {
    fn default() -> Self {
        Self {
            machines: demo_fleet(),
            idle_timeout: Duration::from_secs(60),
            status_poll_interval: Duration::from_secs(3),
            create_purchase_path: "/seqr/createPurchase".to_owned(),
            update_per_line: false,
            commit_amount: true,
        }
    }
}

/// One self-service machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineConfig {
    /// The machine's id: the `t` parameter of its QR code, sent as `token` in createPurchase.
    pub token: String,
    #[serde(default)]
    pub name: String,
    /// ISO 4217 code of the machine's prices; createPurchase in another currency is refused.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// `false` keeps the machine out of service at every start (DEVICE_UNAVAILABLE).
    #[serde(default = "yes")]
    pub in_service: bool,
    pub products: Vec<ProductConfig>,
}

impl MachineConfig {
    /// The cheapest product's price: a reservation below it cannot buy anything.
    pub fn cheapest(&self) -> Option<Decimal> {
        self.products.iter().map(|p| p.price).min()
    }

    pub fn product(&self, sku: &str) -> Option<&ProductConfig> {
        self.products.iter().find(|p| p.sku == sku)
    }

    /// The name shown to the customer (the token when no name is configured).
    pub fn display_name(&self) -> &str {
        if self.name.trim().is_empty() { &self.token } else { &self.name }
    }
}

/// A product in a machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductConfig {
    pub sku: String,
    pub name: String,
    #[serde(with = "money_text")]
    pub price: Decimal,
}

fn default_currency() -> String {
    "EUR".to_owned()
}

fn yes() -> bool {
    true
}

fn product(sku: &str, name: &str, cents: i64) -> ProductConfig {
    ProductConfig { sku: sku.to_owned(), name: name.to_owned(), price: Decimal::new(cents, 2) }
}

/// Two demo machines in EUR, matching the mock's demo merchant (`glase-demo`, EUR).
pub fn demo_fleet() -> Vec<MachineConfig> {
    vec![
        MachineConfig {
            token: "machine-1".to_owned(),
            name: "Demo machine 1 (drinks and snacks)".to_owned(),
            currency: "EUR".to_owned(),
            in_service: true,
            products: vec![
                product("cola", "Cola 0.33 l", 250),
                product("crisps", "Crisps", 175),
                product("water", "Water 0.5 l", 120),
                product("chocolate", "Chocolate bar", 200),
            ],
        },
        MachineConfig {
            token: "machine-2".to_owned(),
            name: "Demo machine 2 (coffee)".to_owned(),
            currency: "EUR".to_owned(),
            in_service: true,
            products: vec![
                product("espresso", "Espresso", 180),
                product("cappuccino", "Cappuccino", 290),
                product("tea", "Tea", 150),
            ],
        },
    ]
}

/// A fleet of `count` machines `machine-1` … `machine-{count}`, for load tests: the two
/// demo machines first, then copies of them in turn (same products and prices), so a
/// client that knows the demo fleet can use any of them.
pub fn numbered_fleet(count: usize) -> Vec<MachineConfig> {
    let demo = demo_fleet();
    (0..count)
        .map(|i| {
            let mut machine = demo[i % demo.len()].clone();
            if i >= demo.len() {
                machine.token = format!("machine-{}", i + 1);
                machine.name = format!("Load machine {} ({})", i + 1, if i % 2 == 0 { "snacks" } else { "coffee" });
            }
            machine
        })
        .collect()
}

impl VendingConfig {
    pub fn machine(&self, token: &str) -> Option<&MachineConfig> {
        self.machines.iter().find(|m| m.token == token)
    }

    /// Every problem at once, for the start-up error message.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.idle_timeout.is_zero() {
            problems.push("vending.idle_timeout must be longer than 0".to_owned());
        }
        if self.status_poll_interval.is_zero() {
            problems.push("vending.status_poll_interval must be longer than 0".to_owned());
        }
        if !self.create_purchase_path.starts_with('/') || !self.create_purchase_path.ends_with("createPurchase") {
            problems.push(format!(
                "vending.create_purchase_path {:?} must start with '/' and end with \"createPurchase\"",
                self.create_purchase_path
            ));
        }
        let mut tokens = HashSet::new();
        for machine in &self.machines {
            let at = format!("vending machine {:?}", machine.token);
            if machine.token.trim().is_empty() || machine.token.contains(['/', '?', '#', '&']) {
                problems.push(format!("{at}: token must be non-empty and URL-safe (no '/', '?', '#', '&')"));
            }
            if !tokens.insert(machine.token.as_str()) {
                problems.push(format!("{at}: token used twice"));
            }
            if machine.currency.len() != 3 || !machine.currency.bytes().all(|b| b.is_ascii_uppercase()) {
                problems.push(format!("{at}: currency {:?} must be an ISO 4217 code like \"EUR\"", machine.currency));
            }
            if machine.products.is_empty() {
                problems.push(format!("{at}: needs at least one product"));
            }
            let mut skus = HashSet::new();
            for product in &machine.products {
                if product.sku.trim().is_empty() {
                    problems.push(format!("{at}: a product has an empty sku"));
                }
                if !skus.insert(product.sku.as_str()) {
                    problems.push(format!("{at}: sku {:?} used twice", product.sku));
                }
                if product.price <= Decimal::ZERO || product.price.normalize().scale() > 2 {
                    problems.push(format!(
                        "{at}: product {:?} price {} must be positive with at most 2 decimals",
                        product.sku, product.price
                    ));
                }
            }
        }
        problems
    }
}

/// A money amount as TOML/JSON text (`"2.50"`): a float would go through `f64`.
pub(crate) mod money_text {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom("a price must be a string like \"2.50\" (never a float)"))?;
        text.trim().parse::<Decimal>().map_err(|e| serde::de::Error::custom(format!("invalid price {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_fleet_is_valid_and_has_two_demo_machines() {
        let config = VendingConfig::default();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let tokens: Vec<&str> = config.machines.iter().map(|m| m.token.as_str()).collect();
        assert_eq!(tokens, ["machine-1", "machine-2"]);
        assert_eq!(config.machine("machine-1").and_then(MachineConfig::cheapest), Some(Decimal::new(120, 2)));
    }

    #[test]
    fn a_numbered_fleet_starts_with_the_demo_machines_and_is_valid() {
        let config = VendingConfig { machines: numbered_fleet(5), ..VendingConfig::default() };
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let tokens: Vec<&str> = config.machines.iter().map(|m| m.token.as_str()).collect();
        assert_eq!(tokens, ["machine-1", "machine-2", "machine-3", "machine-4", "machine-5"]);
        assert_eq!(config.machines[..2], demo_fleet()[..]);
        assert_eq!(config.machines[3].products, demo_fleet()[1].products);
    }

    #[test]
    fn a_fleet_parses_from_toml_with_prices_as_strings() {
        let config: VendingConfig = toml::from_str(
            r#"
            idle_timeout = "90s"
            [[machines]]
            token = "lobby"
            products = [{ sku = "tea", name = "Tea", price = "1.10" }]
            "#,
        )
        .unwrap();
        assert_eq!(config.idle_timeout, Duration::from_secs(90));
        assert_eq!(config.status_poll_interval, Duration::from_secs(3));
        assert!(!config.update_per_line && config.commit_amount, "one update with the amount by default");
        let machine = &config.machines[0];
        assert_eq!((machine.currency.as_str(), machine.in_service), ("EUR", true));
        assert_eq!(machine.products[0].price.to_string(), "1.10");
        assert!(config.problems().is_empty());
    }

    #[test]
    fn a_float_price_or_an_unknown_field_is_refused() {
        let float = toml::from_str::<VendingConfig>(
            r#"[[machines]]
            token = "m"
            products = [{ sku = "tea", name = "Tea", price = 1.1 }]"#,
        );
        assert!(float.is_err());
        assert!(toml::from_str::<VendingConfig>("idle_timeot = \"1s\"").is_err());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut config = VendingConfig { create_purchase_path: "/buy".to_owned(), ..VendingConfig::default() };
        config.machines[1].token = "machine-1".to_owned();
        config.machines[0].currency = "euro".to_owned();
        config.machines[0].products[1].sku = "cola".to_owned();
        config.machines[0].products[2].price = Decimal::new(-1, 0);
        config.machines[0].products[3].price = Decimal::new(1001, 3);
        let problems = config.problems();
        assert_eq!(problems.len(), 6, "{problems:#?}");
    }
}
