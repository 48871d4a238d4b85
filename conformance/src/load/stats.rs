//! Latency histograms and outcome counters, shared by every flow and by the mock's
//! timing layer.
//!
//! # Implementation rationale
//! `hdrhistogram`: recording is O(1) into a fixed array (3 significant digits, 1 µs to
//! 10 min), so a 60 s run of millions of samples costs the same memory as a short one
//! and p99/max are exact to the precision, not estimated from a sample. One mutex over
//! all histograms is enough: a record is a few nanoseconds under the lock, against
//! milliseconds of HTTP per flow. Progress counters are atomics so the progress bar
//! never takes the lock.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::options::FlowKind;

/// Whose view a latency is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The load generator: the customer's and the machine's view, across the reseller.
    Generator,
    /// The mock: how long Glase took to serve the reseller's SOAP calls, per operation.
    Mock,
}

/// Counters the progress bar reads without locking.
#[derive(Debug, Default)]
pub struct Progress {
    pub started: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub purchases: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    /// By side, then operation: found by `&str`, so recording allocates nothing.
    latencies: BTreeMap<Side, BTreeMap<String, Histogram<u64>>>,
    kinds: BTreeMap<FlowKind, KindCount>,
    errors: BTreeMap<String, u64>,
}

impl Inner {
    /// The histogram of `operation` seen from `side`, made on first use.
    fn histogram(&mut self, side: Side, operation: &str) -> &mut Histogram<u64> {
        let by_operation = self.latencies.entry(side).or_default();
        if !by_operation.contains_key(operation) {
            by_operation.insert(operation.to_owned(), new_histogram());
        }
        by_operation.get_mut(operation).unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// Every histogram, generator side first, operations in name order.
    fn all(&self) -> impl Iterator<Item = (Side, &str, &Histogram<u64>)> {
        self.latencies
            .iter()
            .flat_map(|(side, by_operation)| by_operation.iter().map(|(op, h)| (*side, op.as_str(), h)))
    }
}

/// How flows of one kind ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCount {
    pub completed: u64,
    pub failed: u64,
}

/// Everything recorded during a run.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
    pub progress: Progress,
}

/// One row of the latency table, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyRow {
    pub side: Side,
    pub operation: String,
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// A histogram whole, as the JSON report keeps it: every recorded value (µs, the
/// highest value equivalent to its bucket) with its count. Recording these again gives
/// the same histogram, so shards' histograms merge exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistogramView {
    pub side: Side,
    pub operation: String,
    pub values_us: Vec<(u64, u64)>,
}

/// Longest latency kept exactly; longer ones are clamped to it (and still counted).
const HIGHEST_US: u64 = 600_000_000;

fn new_histogram() -> Histogram<u64> {
    // 1 µs … 10 min at 3 significant digits: bounds are constants, so this cannot fail.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant bounds are valid")
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one latency of `operation` seen from `side`.
    pub fn record(&self, side: Side, operation: &str, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).clamp(1, HIGHEST_US);
        let mut inner = self.lock();
        inner.histogram(side, operation).saturating_record(micros);
    }

    /// A flow ended: `Err(reason)` counts it failed under `reason`.
    pub fn flow_done(&self, kind: FlowKind, result: &Result<(), String>) {
        let mut inner = self.lock();
        let count = inner.kinds.entry(kind).or_default();
        match result {
            Ok(()) => {
                count.completed += 1;
                drop(inner);
                self.progress.completed.fetch_add(1, Ordering::Relaxed);
                if kind.is_purchase() {
                    self.progress.purchases.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(reason) => {
                count.failed += 1;
                *inner.errors.entry(format!("{kind}: {reason}")).or_default() += 1;
                drop(inner);
                self.progress.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts an error that is not a flow's end (e.g. the load tool's own trouble).
    pub fn error(&self, what: String) {
        *self.lock().errors.entry(what).or_default() += 1;
    }

    /// Every latency, generator side first, operations in name order.
    pub fn latency_rows(&self) -> Vec<LatencyRow> {
        let inner = self.lock();
        inner.all().map(|(side, op, h)| row(side, op, h)).collect()
    }

    /// Every histogram whole (see [`HistogramView`]).
    pub fn histograms(&self) -> Vec<HistogramView> {
        let inner = self.lock();
        inner
            .all()
            .map(|(side, operation, histogram)| HistogramView {
                side,
                operation: operation.to_owned(),
                values_us: histogram
                    .iter_recorded()
                    .map(|v| (histogram.highest_equivalent(v.value_iterated_to()), v.count_at_value()))
                    .collect(),
            })
            .collect()
    }

    /// Adds a histogram of another run (a shard's) to this one's.
    pub fn add_histogram(&self, view: &HistogramView) {
        let mut inner = self.lock();
        let histogram = inner.histogram(view.side, &view.operation);
        for (value, count) in &view.values_us {
            histogram.saturating_record_n((*value).clamp(1, HIGHEST_US), *count);
        }
    }

    /// Adds flows of another run (a shard's).
    pub fn add_kind(&self, kind: FlowKind, count: KindCount) {
        let mut inner = self.lock();
        let total = inner.kinds.entry(kind).or_default();
        total.completed += count.completed;
        total.failed += count.failed;
    }

    /// Adds another run's errors.
    pub fn add_error(&self, what: String, count: u64) {
        *self.lock().errors.entry(what).or_default() += count;
    }

    pub fn kinds(&self) -> BTreeMap<FlowKind, KindCount> {
        self.lock().kinds.clone()
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.lock().errors.clone()
    }
}

/// Summarizes a histogram of microseconds in milliseconds.
pub fn row(side: Side, operation: &str, histogram: &Histogram<u64>) -> LatencyRow {
    let ms = |us: u64| us as f64 / 1000.0;
    LatencyRow {
        side,
        operation: operation.to_owned(),
        count: histogram.len(),
        mean_ms: histogram.mean() / 1000.0,
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p90_ms: ms(histogram.value_at_quantile(0.90)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let stats = Stats::default();
        // 1..=1000 ms: p50 = 500, p90 = 900, p99 = 990, max = 1000 (to 3 digits).
        for ms in 1..=1000u64 {
            stats.record(Side::Generator, "vend", Duration::from_millis(ms));
        }
        let rows = stats.latency_rows();
        let vend = &rows[0];
        assert_eq!((vend.operation.as_str(), vend.count), ("vend", 1000));
        let close = |a: f64, b: f64| (a - b).abs() <= b * 0.002;
        assert!(close(vend.p50_ms, 500.0), "{vend:?}");
        assert!(close(vend.p90_ms, 900.0), "{vend:?}");
        assert!(close(vend.p99_ms, 990.0), "{vend:?}");
        assert!(close(vend.max_ms, 1000.0), "{vend:?}");
        assert!(close(vend.mean_ms, 500.5), "{vend:?}");
    }

    #[test]
    fn sides_are_kept_apart_and_extremes_are_clamped_not_lost() {
        let stats = Stats::default();
        stats.record(Side::Mock, "sendInvoice", Duration::from_nanos(10));
        stats.record(Side::Generator, "sendInvoice", Duration::from_secs(100_000));
        let rows = stats.latency_rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].side, Side::Generator);
        assert!(rows[0].max_ms >= 599_000.0);
        assert_eq!(rows[1].count, 1);
    }

    proptest::proptest! {
        /// Latencies recorded by two shards and merged through their reports' views give
        /// the percentiles of one run that recorded them all: merged, not averaged.
        #[test]
        fn shards_histograms_merge_exactly(
            first in proptest::collection::vec(1u64..5_000_000, 1..300),
            second in proptest::collection::vec(1u64..700_000_000, 0..300),
        ) {
            let (one, a, b) = (Stats::default(), Stats::default(), Stats::default());
            for (micros, shard) in first.iter().map(|m| (m, &a)).chain(second.iter().map(|m| (m, &b))) {
                one.record(Side::Generator, "vend", Duration::from_micros(*micros));
                shard.record(Side::Generator, "vend", Duration::from_micros(*micros));
            }
            let merged = Stats::default();
            for view in a.histograms().iter().chain(&b.histograms()) {
                let line = serde_json::to_string(view).unwrap();
                merged.add_histogram(&serde_json::from_str(&line).unwrap());
            }
            proptest::prop_assert_eq!(merged.latency_rows(), one.latency_rows());
            proptest::prop_assert_eq!(merged.histograms(), one.histograms());
        }
    }

    #[test]
    fn outcomes_and_errors_are_counted_per_kind() {
        let stats = Stats::default();
        stats.flow_done(FlowKind::Success, &Ok(()));
        stats.flow_done(FlowKind::WrongPin, &Ok(()));
        stats.flow_done(FlowKind::Cancel, &Err("scan: DEVICE_IN_USE".to_owned()));
        assert_eq!(stats.kinds()[&FlowKind::Success], KindCount { completed: 1, failed: 0 });
        assert_eq!(stats.errors()["cancel: scan: DEVICE_IN_USE"], 1);
        assert_eq!(stats.progress.purchases.load(Ordering::Relaxed), 2);
        assert_eq!(stats.progress.failed.load(Ordering::Relaxed), 1);
    }
}
