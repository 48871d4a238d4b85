//! Which scenarios may start now (`--jobs N`): a pure state machine over the scenarios'
//! [`Claim`]s, driven by the runner as scenarios finish.
//!
//! Scenarios that can share the mock start in file order as soon as a slot is free and
//! none of their machines (nor the till, for point-of-sale ones) is in use (a later one
//! may overtake one that waits for its machine). Scenarios that must run alone wait until every shareable one has finished,
//! then run one at a time in file order: a barrier in each direction, and no slot is
//! left idle waiting for a barrier in the middle of the run. With one job every scenario
//! runs alone, in file order: exactly the sequential run.

use super::claims::Claim;

/// The schedule of one run.
#[derive(Debug)]
pub(crate) struct Schedule {
    claims: Vec<Claim>,
    jobs: usize,
    /// Not started yet, in file order.
    pending: Vec<usize>,
    running: Vec<usize>,
}

impl Schedule {
    /// `claims[i]` is scenario `i`'s; `jobs` is at least 1.
    pub fn new(claims: Vec<Claim>, jobs: usize) -> Self {
        let jobs = jobs.max(1);
        let claims = if jobs == 1 { claims.iter().map(|_| Claim::everything()).collect() } else { claims };
        let pending = (0..claims.len()).collect();
        Self { claims, jobs, pending, running: Vec::new() }
    }

    /// Whether scenario `index` runs with nothing beside it.
    pub fn alone(&self, index: usize) -> bool {
        self.claims[index].alone.is_some()
    }

    /// The scenarios to start now, in file order; marks them running.
    pub fn start(&mut self) -> Vec<usize> {
        let mut started = Vec::new();
        for &index in &self.pending {
            if self.running.len() + started.len() >= self.jobs {
                break;
            }
            let claim = &self.claims[index];
            let fits = claim.alone.is_none()
                && self.running.iter().chain(&started).all(|&other| claim.compatible(&self.claims[other]));
            if fits {
                started.push(index);
            }
        }
        // With nothing running a shareable scenario always fits: only lone ones are left.
        if started.is_empty()
            && self.running.is_empty()
            && let Some(&first) = self.pending.first()
        {
            started.push(first);
        }
        self.pending.retain(|index| !started.contains(index));
        self.running.extend(&started);
        started
    }

    /// Scenario `index` has finished.
    pub fn finish(&mut self, index: usize) {
        self.running.retain(|&running| running != index);
    }

    /// Every scenario has started and finished.
    pub fn done(&self) -> bool {
        self.pending.is_empty() && self.running.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::claims::Alone;

    fn on(machines: &[&str]) -> Claim {
        Claim { machines: machines.iter().map(|m| (*m).to_owned()).collect(), till: false, alone: None }
    }

    fn at_the_till() -> Claim {
        Claim { till: true, ..Claim::none() }
    }

    #[test]
    fn till_scenarios_take_turns_beside_the_others() {
        let claims = [at_the_till(), at_the_till(), on(&["m1"])];
        let spans = simulate(&claims, &[3, 3, 2], 4);
        check_invariants(&claims, &spans, 4);
        assert_eq!((spans[0], spans[1], spans[2]), ((0, 3), (3, 6), (0, 2)), "one till, the machine beside it");
    }

    fn lone() -> Claim {
        Claim { machines: ["machine-1".to_owned()].into(), till: false, alone: Some(Alone::Clock) }
    }

    /// Runs the schedule against simulated durations (time units); returns each
    /// scenario's (start, end).
    fn simulate(claims: &[Claim], durations: &[u32], jobs: usize) -> Vec<(u32, u32)> {
        let mut schedule = Schedule::new(claims.to_vec(), jobs);
        let mut spans = vec![None; claims.len()];
        let mut running: Vec<(u32, usize)> = Vec::new();
        let mut now = 0;
        loop {
            for index in schedule.start() {
                assert!(spans[index].is_none(), "{index} started twice");
                spans[index] = Some((now, now + durations[index]));
                running.push((now + durations[index], index));
            }
            if schedule.done() {
                break;
            }
            running.sort_unstable();
            assert!(!running.is_empty(), "stalled with scenarios pending");
            let (end, index) = running.remove(0);
            now = end;
            schedule.finish(index);
        }
        spans.into_iter().map(|s| s.expect("every scenario ran")).collect()
    }

    fn overlap(a: (u32, u32), b: (u32, u32)) -> bool {
        a.0 < b.1 && b.0 < a.1
    }

    fn check_invariants(claims: &[Claim], spans: &[(u32, u32)], jobs: usize) {
        for (i, a) in spans.iter().enumerate() {
            for (j, b) in spans.iter().enumerate().skip(i + 1) {
                if overlap(*a, *b) {
                    assert!(claims[i].alone.is_none() && claims[j].alone.is_none(), "{i} and {j} overlap");
                    assert!(claims[i].machines.is_disjoint(&claims[j].machines), "{i} and {j} share a machine");
                    assert!(!(claims[i].till && claims[j].till), "{i} and {j} share the till");
                }
            }
            let concurrent = spans.iter().filter(|b| b.0 <= a.0 && a.0 < b.1).count();
            assert!(concurrent <= jobs, "{concurrent} scenarios at once with {jobs} jobs");
        }
    }

    #[test]
    fn one_job_runs_everything_in_file_order_one_after_another() {
        let claims = [on(&["m1"]), on(&["m2"]), lone(), on(&[])];
        let spans = simulate(&claims, &[3, 1, 2, 5], 1);
        assert_eq!(spans, [(0, 3), (3, 4), (4, 6), (6, 11)]);
    }

    #[test]
    fn scenarios_on_one_machine_never_overlap_and_others_fill_the_slots() {
        let claims = [on(&["m1"]), on(&["m1"]), on(&["m2"]), on(&[]), on(&["m1", "m2"]), on(&[])];
        let durations = [4, 4, 1, 2, 1, 1];
        let spans = simulate(&claims, &durations, 3);
        check_invariants(&claims, &spans, 3);
        assert_eq!(spans[0], (0, 4));
        assert_eq!(spans[2], (0, 1), "a scenario on another machine starts beside the first");
        assert_eq!(spans[1].0, 4, "the second machine-1 scenario waits for the first");
        assert!(spans[5].0 < 4, "a later scenario overtakes one waiting for its machine");
    }

    #[test]
    fn lone_scenarios_run_with_nothing_beside_them_after_the_shared_ones() {
        let claims = [on(&["m1"]), lone(), on(&["m2"]), lone(), on(&[])];
        let spans = simulate(&claims, &[2, 3, 5, 1, 1], 4);
        check_invariants(&claims, &spans, 4);
        let shared_end = [0, 2, 4].iter().map(|&i| spans[i].1).max().unwrap_or(0);
        assert_eq!(spans[1].0, shared_end, "the first lone scenario waits for every shared one");
        assert_eq!(spans[3].0, spans[1].1, "lone scenarios run one after another, in file order");
    }

    #[test]
    fn many_random_runs_keep_every_invariant() {
        // A small deterministic generator: no dependency, the same cases every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..200 {
            let count = 1 + next(12) as usize;
            let claims: Vec<Claim> = (0..count)
                .map(|_| match next(7) {
                    0 => lone(),
                    1 => on(&[]),
                    2 => on(&["m1", "m2"]),
                    3 => at_the_till(),
                    k => on(&[["m1", "m2", "m3"][k as usize - 4]]),
                })
                .collect();
            let durations: Vec<u32> = (0..count).map(|_| 1 + next(5) as u32).collect();
            let jobs = 1 + next(4) as usize;
            let spans = simulate(&claims, &durations, jobs);
            check_invariants(&claims, &spans, jobs);
        }
    }
}
