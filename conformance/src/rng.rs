//! A small seeded random number generator (SplitMix64), for `explore`'s actions and
//! `load`'s flow mix: the same seed picks the same things in the same order.
//!
//! # Implementation rationale
//! A replay command printed today must replay the same sequence with any later build of
//! the kit, so the generator is written out here instead of taken from `rand`, whose
//! streams may change between versions. SplitMix64 is tiny, fast, and good enough to
//! pick test actions (it is not for secrets).

/// A deterministic stream of numbers from a seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// A number in `0..bound` (`bound` > 0; 0 gives 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        // The modulo bias is at most bound / 2^64: irrelevant for picking actions.
        (self.next_u64() % bound as u64) as usize
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high.saturating_sub(low) + 1)
    }

    /// Picks an index by weight; `None` if every weight is 0.
    pub fn weighted(&mut self, weights: &[u32]) -> Option<usize> {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        let mut pick = self.next_u64() % total;
        for (index, weight) in weights.iter().enumerate() {
            let weight = u64::from(*weight);
            if pick < weight {
                return Some(index);
            }
            pick -= weight;
        }
        None
    }
}

/// The SplitMix64 finaliser: spreads one number's bits over all 64.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator for flow number `n` of a load run seeded with `seed`: independent of
/// the order in which flows are started.
pub(crate) fn for_flow(seed: u64, n: u64) -> Rng {
    let mut mixer = Rng::new(seed ^ n.wrapping_mul(0xD605_BBB5_8C8A_BBD3));
    Rng::new(mixer.next_u64())
}

/// The seed of run `run` (1-based) of an exploration seeded with `seed`: every run can be
/// replayed on its own (`--seed S --run K`).
pub(crate) fn run_seed(seed: u64, run: u32) -> u64 {
    mix(seed ^ mix(u64::from(run)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let a: Vec<u64> = std::iter::repeat_with({
            let mut rng = Rng::new(42);
            move || rng.next_u64()
        })
        .take(8)
        .collect();
        let mut rng = Rng::new(42);
        let b: Vec<u64> = (0..8).map(|_| rng.next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(Rng::new(43).next_u64(), a[0]);
    }

    #[test]
    fn numbers_stay_in_their_bounds_and_zero_weights_are_never_picked() {
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            assert!(rng.below(5) < 5);
            let n = rng.between(3, 6);
            assert!((3..=6).contains(&n));
            assert_eq!(rng.weighted(&[0, 3, 0, 1]).map(|i| i == 1 || i == 3), Some(true));
        }
        assert_eq!(rng.weighted(&[0, 0]), None);
    }

    #[test]
    fn flows_of_one_seed_get_different_streams() {
        let firsts: std::collections::HashSet<u64> = (0..100).map(|n| for_flow(5, n).next_u64()).collect();
        assert_eq!(firsts.len(), 100);
        assert_eq!(for_flow(5, 3).next_u64(), for_flow(5, 3).next_u64());
    }

    #[test]
    fn runs_of_one_seed_get_different_seeds() {
        let seeds: std::collections::HashSet<u64> = (1..=100).map(|run| run_seed(5, run)).collect();
        assert_eq!(seeds.len(), 100);
        assert_eq!(run_seed(5, 3), run_seed(5, 3));
    }
}
