//! The fleet under test: the machines the machine driver lists, and their products.

use rust_decimal::Decimal;

/// A product of a machine, as the machine driver lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Product {
    pub sku: String,
    pub price: Decimal,
}

/// A machine of the fleet under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Machine {
    pub token: String,
    pub products: Vec<Product>,
}

impl Machine {
    /// A machine from `(sku, price)` pairs; prices that do not parse are left out.
    #[cfg(test)]
    pub fn new(token: &str, products: &[(&str, &str)]) -> Self {
        let products = products
            .iter()
            .filter_map(|(sku, price)| Some(Product { sku: (*sku).to_owned(), price: price.parse().ok()? }))
            .collect();
        Self { token: token.to_owned(), products }
    }

    /// The product at `index`, wrapping around the list.
    pub fn product(&self, index: u8) -> Option<&Product> {
        if self.products.is_empty() {
            return None;
        }
        self.products.get(usize::from(index) % self.products.len())
    }

    pub fn cheapest(&self) -> Option<Decimal> {
        self.products.iter().map(|p| p.price).min()
    }

    pub fn dearest(&self) -> Option<&Product> {
        self.products.iter().max_by_key(|p| p.price)
    }
}
