//! `--shard I/N`: this process is one of N that load one backend together, through one
//! mock-glase (`--glase-url`). Each takes a disjoint share of the machines, its own
//! customers and its own flow seeds, so the loads add up, no two shards ever meet at a
//! machine or a wallet, and their reports merge exactly (`load merge`). Pure.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Shard `index` of `count` (from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Customer numbers are the last seven digits of an msisdn (`4670NNNNNNN`).
pub const CUSTOMER_NUMBERS: usize = 10_000_000;

impl Shard {
    /// The whole load in one process.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// `I/N` with 0 ≤ I < N, as Kubernetes numbers an Indexed Job's pods.
    pub fn parse(text: &str) -> Result<Self, String> {
        let wrong = || format!("--shard {text:?}: expected I/N with 0 <= I < N, e.g. 0/4 (shards count from 0)");
        let (index, count) = text.trim().split_once('/').ok_or_else(wrong)?;
        let index: u32 = index.trim().parse().map_err(|_| wrong())?;
        let count: u32 = count.trim().parse().map_err(|_| wrong())?;
        if count == 0 || index >= count {
            return Err(wrong());
        }
        Ok(Self { index, count })
    }

    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// Whether the machine at `position` in the driver's list, ordered by token, is this
    /// shard's: every shard orders the same list the same way, whatever each finds busy.
    pub fn owns_machine(self, position: usize) -> bool {
        position % self.count as usize == self.index as usize
    }

    /// The number (across all shards) of this shard's `i`-th of `per_shard` customers.
    pub fn customer_number(self, i: usize, per_shard: usize) -> usize {
        self.index as usize * per_shard + i
    }

    /// Whether N shards of `per_shard` customers each have enough numbers.
    pub fn customers_fit(self, per_shard: usize) -> bool {
        per_shard.checked_mul(self.count as usize).is_some_and(|all| all <= CUSTOMER_NUMBERS)
    }

    /// The seed of this shard's flow choices: the run's own seed for a whole run, so a
    /// seed replays the same load with or without `--shard 0/1`.
    pub fn seed(self, seed: u64) -> u64 {
        if self.is_whole() { seed } else { crate::rng::run_seed(seed, self.index + 1) }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_like_an_indexed_job_and_bad_ones_say_why() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        assert_eq!(Shard::parse(" 0/1 ").unwrap(), Shard::WHOLE);
        for bad in ["4/4", "1/0", "1", "-1/2", "a/b", "1/2/3"] {
            assert!(Shard::parse(bad).unwrap_err().contains("0 <= I < N"), "{bad}");
        }
    }

    #[test]
    fn shards_split_machines_customers_and_seeds_without_overlap() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for position in 0..30 {
            assert_eq!(shards.iter().filter(|s| s.owns_machine(position)).count(), 1, "machine {position}");
        }
        let numbers: std::collections::HashSet<usize> =
            shards.iter().flat_map(|s| (0..400).map(move |i| s.customer_number(i, 400))).collect();
        assert_eq!(numbers.len(), 1200);
        let seeds: std::collections::HashSet<u64> = shards.iter().map(|s| s.seed(42)).collect();
        assert_eq!(seeds.len(), 3);
        assert_eq!(Shard::WHOLE.seed(42), 42);
        assert!(Shard { index: 0, count: 10 }.customers_fit(1_000_000));
        assert!(!Shard { index: 0, count: 11 }.customers_fit(1_000_000));
    }
}
