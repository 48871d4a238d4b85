//! A tiny seeded generator (SplitMix64) for the flow mix and the choices inside a flow:
//! the same `--seed` picks the same flows in the same order. Not for secrets.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    #[cfg(test)]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }

    /// The generator for flow number `n` of a run seeded with `seed`: independent of
    /// the order in which flows are started.
    pub fn for_flow(seed: u64, n: u64) -> Self {
        let mut mixer = Self(seed ^ n.wrapping_mul(0xd605_bbb5_8c8a_bbd3));
        Self(mixer.next_u64())
    }
}
