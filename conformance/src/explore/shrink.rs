//! Shrinking a failing sequence: delta debugging (Zeller and Hildebrandt's `ddmin`)
//! over the list of actions, rerunning candidates.
//!
//! A candidate "still fails" when the oracle says so; the explorer's oracle reruns the
//! subsequence against a fresh system and compares what was broken (the same property
//! or rule). The result is 1-minimal: removing any single action makes the failure go
//! away (within the rerun budget). Results are cached, so a candidate is never run
//! twice.
//!
//! # Implementation rationale
//! ddmin rather than removing one action at a time: failing sequences are mostly
//! irrelevant actions around a short core, which ddmin cuts away in halves, quarters, …
//! with few reruns, each of which costs real time against a real system.

use std::collections::HashMap;
use std::hash::Hash;

/// Decides whether a candidate still fails.
pub(crate) trait Oracle<T> {
    async fn fails(&mut self, candidate: &[T]) -> bool;
}

/// The shrunk sequence and how many candidates were run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shrunk<T> {
    pub items: Vec<T>,
    pub reruns: usize,
    /// The budget ran out before the result was 1-minimal.
    pub exhausted: bool,
}

/// Shrinks `failing` (which fails) to a 1-minimal failing subsequence, running at most
/// `budget` candidates.
pub(crate) async fn ddmin<T, O>(failing: Vec<T>, oracle: &mut O, budget: usize) -> Shrunk<T>
where
    T: Clone + Eq + Hash,
    O: Oracle<T>,
{
    let mut cache: HashMap<Vec<T>, bool> = HashMap::new();
    let mut reruns = 0;
    let mut current = failing;
    let mut granularity = 2;
    let mut exhausted = false;
    'outer: while current.len() >= 2 {
        let chunks = split(&current, granularity);
        // Each chunk on its own, then each complement (all but one chunk).
        let mut candidates: Vec<(Vec<T>, bool)> = chunks.iter().map(|c| (c.clone(), true)).collect();
        if chunks.len() > 2 {
            for skip in 0..chunks.len() {
                let complement: Vec<T> = chunks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect();
                candidates.push((complement, false));
            }
        }
        for (candidate, is_chunk) in candidates {
            let fails = match cache.get(&candidate) {
                Some(known) => *known,
                None => {
                    if reruns >= budget {
                        exhausted = true;
                        break 'outer;
                    }
                    reruns += 1;
                    let fails = oracle.fails(&candidate).await;
                    cache.insert(candidate.clone(), fails);
                    fails
                }
            };
            if fails {
                current = candidate;
                granularity = if is_chunk { 2 } else { (granularity - 1).max(2) };
                continue 'outer;
            }
        }
        if granularity >= current.len() {
            break;
        }
        granularity = (granularity * 2).min(current.len());
    }
    Shrunk { items: current, reruns, exhausted }
}

/// Makes the items of a failing sequence simpler where it still fails: each item is
/// replaced by the first of its `simpler` variants (simplest first) with which the
/// sequence still fails. Runs at most `budget` candidates; returns the sequence and the
/// number run.
pub(crate) async fn simplify<T, O>(
    failing: Vec<T>,
    oracle: &mut O,
    simpler: impl Fn(&T) -> Vec<T>,
    budget: usize,
) -> (Vec<T>, usize)
where
    T: Clone,
    O: Oracle<T>,
{
    let mut current = failing;
    let mut reruns = 0;
    for index in 0..current.len() {
        for variant in simpler(&current[index]) {
            if reruns >= budget {
                return (current, reruns);
            }
            let mut candidate = current.clone();
            candidate[index] = variant;
            reruns += 1;
            if oracle.fails(&candidate).await {
                current = candidate;
                break;
            }
        }
    }
    (current, reruns)
}

/// `items` in `parts` nearly equal consecutive chunks (none empty).
fn split<T: Clone>(items: &[T], parts: usize) -> Vec<Vec<T>> {
    let parts = parts.clamp(1, items.len().max(1));
    let mut chunks = Vec::with_capacity(parts);
    let mut start = 0;
    for index in 0..parts {
        let end = start + (items.len() - start) / (parts - index);
        chunks.push(items[start..end].to_vec());
        start = end;
    }
    chunks.retain(|c| !c.is_empty());
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An oracle from a predicate over the candidate, counting its calls.
    struct Predicate<F> {
        check: F,
        calls: usize,
    }

    impl<T, F: FnMut(&[T]) -> bool> Oracle<T> for Predicate<F> {
        async fn fails(&mut self, candidate: &[T]) -> bool {
            self.calls += 1;
            (self.check)(candidate)
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("a runtime for the test").block_on(future)
    }

    fn shrink(items: Vec<u32>, budget: usize, check: impl FnMut(&[u32]) -> bool) -> (Shrunk<u32>, usize) {
        let mut oracle = Predicate { check, calls: 0 };
        let shrunk = block_on(ddmin(items, &mut oracle, budget));
        (shrunk, oracle.calls)
    }

    #[test]
    fn finds_the_two_actions_that_fail_together() {
        // Fails when 3 comes before 7 anywhere in the sequence.
        let fails = |c: &[u32]| {
            let three = c.iter().position(|x| *x == 3);
            let seven = c.iter().rposition(|x| *x == 7);
            matches!((three, seven), (Some(a), Some(b)) if a < b)
        };
        let (shrunk, calls) = shrink((0..20).collect(), 1000, fails);
        assert_eq!(shrunk.items, vec![3, 7]);
        assert!(!shrunk.exhausted);
        assert_eq!(shrunk.reruns, calls, "every rerun is counted once");
        assert!(calls < 60, "ddmin needs few reruns here, not {calls}");
    }

    #[test]
    fn keeps_order_and_a_single_culprit() {
        let (shrunk, _) = shrink(vec![5, 1, 9, 4, 4, 2], 1000, |c| c.contains(&9));
        assert_eq!(shrunk.items, vec![9]);
        let (shrunk, _) =
            shrink(vec![1, 2, 3, 4, 5, 6, 7], 1000, |c| c.contains(&2) && c.contains(&5) && c.contains(&6));
        assert_eq!(shrunk.items, vec![2, 5, 6]);
    }

    #[test]
    fn the_result_is_one_minimal_for_random_predicates() {
        // For "contains all of a random set" the unique 1-minimal answer is that set.
        let mut rng = crate::rng::Rng::new(11);
        for _ in 0..100 {
            let len = rng.between(1, 24);
            let items: Vec<u32> = (0..u32::try_from(len).unwrap_or(1)).collect();
            let wanted: Vec<u32> = items.iter().copied().filter(|_| rng.below(4) == 0).collect();
            let wanted = if wanted.is_empty() { vec![items[rng.below(items.len())]] } else { wanted };
            let needed = wanted.clone();
            let (shrunk, _) = shrink(items, 10_000, move |c| needed.iter().all(|w| c.contains(w)));
            assert_eq!(shrunk.items, wanted);
        }
    }

    #[test]
    fn stops_at_the_budget_with_a_failing_sequence() {
        let (shrunk, calls) = shrink((0..64).collect(), 3, |c| c.contains(&40));
        assert!(shrunk.exhausted);
        assert_eq!(calls, 3);
        assert!(shrunk.items.contains(&40), "whatever it returns still fails");
    }

    #[test]
    fn simplifies_items_only_where_the_failure_stays() {
        // Fails while the sequence holds a number ≥ 10; simpler variants are smaller numbers.
        let mut oracle = Predicate { check: |c: &[u32]| c.iter().any(|x| *x >= 10), calls: 0 };
        let smaller = |x: &u32| if *x > 1 { vec![1, *x / 2] } else { Vec::new() };
        let (items, reruns) = block_on(simplify(vec![40, 3, 12], &mut oracle, smaller, 100));
        assert_eq!(items, vec![1, 1, 12], "40 could go once 12 keeps it failing; 12 could not");
        assert_eq!(reruns, oracle.calls);
    }

    #[test]
    fn splits_into_nearly_equal_chunks() {
        assert_eq!(split(&[1, 2, 3, 4, 5], 2), vec![vec![1, 2], vec![3, 4, 5]]);
        assert_eq!(split(&[1, 2, 3], 5), vec![vec![1], vec![2], vec![3]]);
        assert_eq!(split::<u8>(&[], 2), Vec::<Vec<u8>>::new());
    }
}
