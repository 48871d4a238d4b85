//! Starting flows: closed loop (`--concurrency C`: C flows in flight) or open loop
//! (`--rate R`: R flows started per second whatever the latency), until the duration or
//! the flow count is reached. Customers and machines are pools: a flow takes a free
//! customer and, if unattended, a free machine, and waits for one otherwise.
//!
//! # Implementation rationale
//! One machine serves one customer at a time (a second scan is answered
//! `DEVICE_IN_USE`), so flows queue per machine here instead of counting busy answers as
//! outcomes: every `DEVICE_IN_USE` in the report is then a real error. The wait for a
//! machine is timed (`machine wait`) and, in open loop, part of the flow's latency,
//! which counts from when the flow was due (no coordinated omission). A machine is
//! handed back only once the driver shows it idle: after a walk-away that is the
//! reseller's idle timer, watched by a background task so no customer waits for it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::options::{FlowKind, Pace, Plan, Stop};
use super::stats::Side;
use super::target::{CustomerInfo, MachineInfo};
use super::workload::{MachineAfter, World};
use crate::rng;

/// A pool of interchangeable things (customers, machines), handed out one at a time.
#[derive(Debug)]
pub struct Pool<T> {
    free: Mutex<VecDeque<T>>,
    available: Semaphore,
}

impl<T> Pool<T> {
    pub fn new(items: Vec<T>) -> Self {
        let count = items.len();
        Self { free: Mutex::new(items.into()), available: Semaphore::new(count) }
    }

    /// Waits for a free item.
    pub async fn take(&self) -> Option<T> {
        self.available.acquire().await.ok()?.forget();
        self.free.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }

    pub fn give_back(&self, item: T) {
        self.free.lock().unwrap_or_else(|p| p.into_inner()).push_back(item);
        self.available.add_permits(1);
    }
}

/// Everything the scheduler hands to each flow.
#[derive(Debug)]
pub struct Run {
    pub world: World,
    pub plan: Plan,
    pub customers: Pool<CustomerInfo>,
    pub machines: Pool<MachineInfo>,
    /// Background waits for machines to be released (drained before the checks).
    pub releases: Mutex<JoinSet<()>>,
    next: AtomicU64,
}

impl Run {
    pub fn new(world: World, plan: Plan, customers: Vec<CustomerInfo>, machines: Vec<MachineInfo>) -> Self {
        Self {
            world,
            plan,
            customers: Pool::new(customers),
            machines: Pool::new(machines),
            releases: Mutex::new(JoinSet::new()),
            next: AtomicU64::new(0),
        }
    }
}

/// Starts flows until the plan says stop, and waits for those in flight. Returns how
/// long starting took (the denominator of flows/s).
pub async fn drive(run: Arc<Run>) -> Duration {
    let started = Instant::now();
    let mut flows = JoinSet::new();
    match run.plan.pace {
        Pace::Concurrency(workers) => {
            for _ in 0..workers {
                let run = run.clone();
                flows.spawn(async move {
                    while let Some(n) = claim(&run, started) {
                        one(&run, n, Instant::now()).await;
                    }
                });
            }
        }
        Pace::Rate(rate) => {
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                let due = ticker.tick().await.into_std();
                let Some(n) = claim(&run, started) else { break };
                let run = run.clone();
                flows.spawn(async move { one(&run, n, due).await });
                while flows.try_join_next().is_some() {}
            }
        }
    }
    let elapsed_at_stop = started.elapsed();
    while flows.join_next().await.is_some() {}
    // Flows still finishing after the stop count in the rate only as far as they ran.
    started.elapsed().max(elapsed_at_stop)
}

/// The next flow's number, or `None` once the plan says stop.
fn claim(run: &Run, started: Instant) -> Option<u64> {
    if let Stop::After(duration) = run.plan.stop
        && started.elapsed() >= duration
    {
        return None;
    }
    let n = run.next.fetch_add(1, Ordering::Relaxed);
    match run.plan.stop {
        Stop::Flows(limit) if n >= limit => None,
        _ => Some(n),
    }
}

/// Runs flow number `n`, due at `due`.
async fn one(run: &Arc<Run>, n: u64, due: Instant) {
    let world = &run.world;
    let mut rng = rng::for_flow(run.plan.shard.seed(run.plan.seed), n);
    let kind = run.plan.mix.pick(rng.next_u64());
    let Some(customer) = run.customers.take().await else { return };
    world.stats.progress.started.fetch_add(1, Ordering::Relaxed);
    let result = if kind.is_unattended() {
        // Bounded: machines the reseller never releases must not stall the run.
        match tokio::time::timeout(world.patience, run.machines.take()).await.ok().flatten() {
            Some(machine) => {
                world.stats.record(Side::Generator, "machine wait (queue)", due.elapsed());
                let (result, after) = world.unattended(kind, &customer, &machine, &mut rng).await;
                hand_back(run, kind, machine, after);
                result
            }
            None => Err(format!(
                "no machine was free for {} (are they left locked?)",
                humantime::format_duration(world.patience)
            )),
        }
    } else {
        world.webshop(&customer).await
    };
    if result.is_ok() {
        world.stats.record(Side::Generator, &format!("flow: {kind}"), due.elapsed());
    }
    world.stats.flow_done(kind, &result);
    run.customers.give_back(customer);
}

/// Gives the machine back now if it is idle, or once the reseller has released it.
fn hand_back(run: &Arc<Run>, kind: FlowKind, machine: MachineInfo, after: MachineAfter) {
    if after == MachineAfter::Idle {
        run.machines.give_back(machine);
        return;
    }
    let waiter = run.clone();
    let mut releases = run.releases.lock().unwrap_or_else(|p| p.into_inner());
    while releases.try_join_next().is_some() {}
    releases.spawn(async move {
        let at = Instant::now();
        let world = &waiter.world;
        match world.wait_machine(&machine.token, "idle", &[], Duration::from_millis(100)).await {
            Ok(()) => {
                let what = if kind == FlowKind::WalkAway { "walk-away" } else { "failed flow" };
                world.stats.record(Side::Generator, &format!("reseller: release after {what}"), at.elapsed());
                waiter.machines.give_back(machine);
            }
            // Back into the pool all the same: the next scan there is then answered
            // DEVICE_IN_USE (a counted error) instead of the run stalling, and
            // MACHINE-RELEASED reports the machine at the end.
            Err(error) => {
                world.stats.error(format!("machine not released: {error}"));
                waiter.machines.give_back(machine);
            }
        }
    });
}

/// Waits up to `limit` for the background release waits.
pub async fn drain_releases(run: &Run, limit: Duration) {
    let mut releases = std::mem::take(&mut *run.releases.lock().unwrap_or_else(|p| p.into_inner()));
    let _ = tokio::time::timeout(limit, async { while releases.join_next().await.is_some() {} }).await;
    releases.abort_all();
}
