//! Reference generators. References look like the real ones (digits, 25-digit
//! ersReferences, 32-hex terminal ids), are unique within one mock instance, and differ
//! between instances: they start from a seed (by default the start-up time), so a
//! durable reseller that restarts against a fresh mock never sees an old reference again.

#[derive(Debug, Clone)]
pub struct IdGenerator {
    seed: u64,
    counter: u64,
}

impl IdGenerator {
    pub fn new(seed: u64) -> Self {
        Self { seed: seed % 10_000_000_000_000, counter: 0 }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// An `invoiceReference`: 17 digits, like `20170315072260070`.
    pub fn invoice_reference(&mut self) -> String {
        let n = self.next();
        format!("{:013}{:04}", self.seed, n)
    }

    /// An `ersReference`: 25 digits.
    pub fn ers_reference(&mut self) -> String {
        let n = self.next();
        format!("{:013}{:012}", self.seed, n)
    }

    /// A `transactionPeriodId`: 25 digits.
    pub fn period_id(&mut self) -> String {
        self.ers_reference()
    }

    /// A `terminalId`: 32 lowercase hex characters.
    pub fn terminal_id(&mut self) -> String {
        let n = self.next();
        format!("{:016x}{:016x}", splitmix(self.seed ^ 0x5eed), splitmix(n))
    }
}

/// A bijective 64-bit mixer: distinct inputs give distinct outputs.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_have_the_documented_shapes_and_never_repeat() {
        let mut ids = IdGenerator::new(1_763_919_826_000);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let inv = ids.invoice_reference();
            assert!(inv.len() >= 17 && inv.bytes().all(|b| b.is_ascii_digit()), "{inv}");
            let ers = ids.ers_reference();
            assert!(ers.len() == 25 && ers.bytes().all(|b| b.is_ascii_digit()), "{ers}");
            let term = ids.terminal_id();
            assert!(term.len() == 32 && term.bytes().all(|b| b.is_ascii_hexdigit()), "{term}");
            assert!(seen.insert(inv) && seen.insert(ers) && seen.insert(term));
        }
    }
}
