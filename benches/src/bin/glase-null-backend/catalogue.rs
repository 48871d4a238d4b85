//! What the machines sell: the reference reseller's two demo catalogues (drinks and
//! snacks on odd machines, coffee on even ones), so `machine-1` and `machine-2` match
//! the fixtures the conformance library assumes, and money as the driver shows it.
//!
//! Each catalogue's `products` JSON is rendered once at start-up: every machine view
//! (the load tool polls them) embeds it as is.

use rust_decimal::Decimal;
use serde_json::value::RawValue;

/// The machines' currency (the mock's demo merchant `glase-demo` is in EUR).
pub const CURRENCY: &str = "EUR";

/// One product of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    pub price: Decimal,
}

/// The products of one kind of machine.
#[derive(Debug)]
pub struct Catalogue {
    /// `snacks` or `coffee`, for the names of the load machines.
    pub kind: &'static str,
    pub products: Vec<Product>,
    /// The cheapest price: a reservation below it cannot buy anything.
    pub cheapest: Decimal,
    /// `[{"sku","name","price"}, …]`, as every machine view embeds it.
    pub json: Box<RawValue>,
}

impl Catalogue {
    fn new(kind: &'static str, products: Vec<Product>) -> Self {
        let cheapest = products.iter().map(|p| p.price).min().unwrap_or(Decimal::ZERO);
        let items: Vec<serde_json::Value> = products
            .iter()
            .map(|p| serde_json::json!({"sku": p.sku, "name": p.name, "price": money(p.price).to_string()}))
            .collect();
        // Plain JSON values always serialize; the fallback (`null`) is never used.
        let json = serde_json::value::to_raw_value(&items).unwrap_or_default();
        Self { kind, products, cheapest, json }
    }

    /// The index of the product with this SKU.
    pub fn position(&self, sku: &str) -> Option<usize> {
        self.products.iter().position(|p| p.sku == sku)
    }
}

fn product(sku: &'static str, name: &'static str, cents: i64) -> Product {
    Product { sku, name, price: Decimal::new(cents, 2) }
}

/// The two demo catalogues: index 0 for odd machines, 1 for even ones.
pub fn catalogues() -> Vec<Catalogue> {
    vec![
        Catalogue::new(
            "snacks",
            vec![
                product("cola", "Cola 0.33 l", 250),
                product("crisps", "Crisps", 175),
                product("water", "Water 0.5 l", 120),
                product("chocolate", "Chocolate bar", 200),
            ],
        ),
        Catalogue::new(
            "coffee",
            vec![
                product("espresso", "Espresso", 180),
                product("cappuccino", "Cappuccino", 290),
                product("tea", "Tea", 150),
            ],
        ),
    ]
}

/// The catalogue of machine `number` (1-based) and its name, as the reference
/// reseller's numbered fleet names them.
pub fn machine(number: usize, catalogues: &[Catalogue]) -> (usize, String) {
    let index = (number + 1) % 2;
    let name = match number {
        1 => "Demo machine 1 (drinks and snacks)".to_owned(),
        2 => "Demo machine 2 (coffee)".to_owned(),
        n => format!("Load machine {n} ({})", catalogues.get(index).map_or("snacks", |c| c.kind)),
    };
    (index, name)
}

/// An amount as Glase and the driver carry it: whole cents (rounded towards zero, so
/// a total never grows past what was offered) and always two decimals (`"20.00"`).
pub fn money(amount: Decimal) -> Decimal {
    glase_protocol::Amount::cents(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_machines_sell_snacks_and_even_ones_coffee() {
        let catalogues = catalogues();
        assert_eq!(machine(1, &catalogues).0, 0);
        assert_eq!(machine(2, &catalogues).0, 1);
        assert_eq!(machine(7, &catalogues), (0, "Load machine 7 (snacks)".to_owned()));
        assert_eq!(catalogues[0].cheapest.to_string(), "1.20");
        assert!(catalogues[1].json.get().contains(r#""price":"2.90""#));
    }
}
