//! Reference generators. References look like the real ones (digits, 25-digit
//! ersReferences, 32-hex terminal ids), are unique within one mock instance, and differ
//! between instances: they start from a seed (by default the start-up time), so a
//! durable reseller that restarts against a fresh mock never sees an old reference again.

use smol_str::SmolStr;

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
    pub fn invoice_reference(&mut self) -> SmolStr {
        let n = self.next();
        self.digits(n, 4)
    }

    /// An `ersReference`: 25 digits.
    pub fn ers_reference(&mut self) -> SmolStr {
        let n = self.next();
        self.digits(n, 12)
    }

    /// A `transactionPeriodId`: 25 digits.
    pub fn period_id(&mut self) -> SmolStr {
        self.ers_reference()
    }

    /// `{seed:013}{n:0width$}` without `format!`: references are made on every
    /// sendInvoice and payment, and the formatting machinery cost more than the rest
    /// of building the reference. Written on the stack; an invoice reference (17
    /// digits) then fits a [`SmolStr`] inline, an ersReference (25) takes one allocation.
    fn digits(&self, n: u64, width: usize) -> SmolStr {
        // 13 seed digits and at most 20 for a u64, however wide the padding asks.
        let mut out = [0u8; 13 + 20];
        let mut len = push_padded(&mut out, 0, self.seed, 13);
        len = push_padded(&mut out, len, n, width);
        // Only ASCII digits were written.
        SmolStr::new(std::str::from_utf8(&out[..len]).unwrap_or_default())
    }

    /// A `terminalId`: 32 lowercase hex characters.
    pub fn terminal_id(&mut self) -> SmolStr {
        let n = self.next();
        SmolStr::from(format!("{:016x}{:016x}", splitmix(self.seed ^ 0x5eed), splitmix(n)))
    }
}

/// Writes `value` in decimal, zero-padded to at least `width` digits (at most 20), into
/// `out` at `at`; returns the end.
fn push_padded(out: &mut [u8; 33], at: usize, mut value: u64, width: usize) -> usize {
    let mut buf = [b'0'; 20];
    let mut start = buf.len();
    while value > 0 {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    let start = start.min(buf.len().saturating_sub(width));
    let digits = &buf[start..];
    let end = (at + digits.len()).min(out.len());
    out[at..end].copy_from_slice(&digits[..end - at]);
    end
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

    #[test]
    fn references_match_the_zero_padded_decimal_form() {
        for seed in [0, 7, 1_763_919_826_000, 9_999_999_999_999, u64::MAX] {
            let mut ids = IdGenerator::new(seed);
            let seed = seed % 10_000_000_000_000;
            for _ in 0..3 {
                let n = ids.counter + 1;
                assert_eq!(ids.invoice_reference(), format!("{seed:013}{n:04}"));
                assert_eq!(ids.ers_reference(), format!("{seed:013}{:012}", n + 1));
            }
            ids.counter = 123_456_789_012_345;
            assert_eq!(ids.invoice_reference(), format!("{seed:013}123456789012346"));
            ids.counter = u64::MAX - 1;
            assert_eq!(ids.ers_reference(), format!("{seed:013}{}", u64::MAX));
        }
    }
}
