//! Latency histograms: HdrHistograms with 3 significant digits plus exact count / min / max / sum.
//!
//! Latency and init durations are recorded in microseconds (nanoseconds rounded to the nearest µs), bounded
//! to 1 µs … 1 h; billed durations in milliseconds, bounded to 1 ms … 1 h. Larger values saturate at the bound
//! (the exact max still sees them). Histograms are allocated once, at construction: recording never allocates.
//!
//! Reported percentiles are HdrHistogram's (the highest value equivalent to the quantile's bucket), clamped
//! into the exact [min, max]: a run where every latency is exactly 100 ms reports p50 = p99 = max = 100.000,
//! not 100.031. `max` and `mean` are exact.

use hdrhistogram::Histogram;

use super::cold_start::ColdStartSeries;
use super::{InvocationSample, StartKind};
pub use crate::report::SIGFIG;
use crate::report::{HistogramSet, LatencySummary, Percentiles};
/// Highest latency / init value tracked, µs (1 h).
pub const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Highest billed duration tracked, ms (1 h).
pub const MAX_BILLED_MS: u64 = 3_600_000;

/// Nanoseconds to whole microseconds, rounded to nearest.
pub(crate) fn ns_to_us(ns: u64) -> u64 {
    ns / 1000 + u64::from(ns % 1000 >= 500)
}

/// Rounds to 3 decimals (for milliseconds: to the microsecond).
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A fixed-bounds histogram for `max` (in its unit).
pub(crate) fn new_histogram(max: u64) -> Histogram<u64> {
    new_histogram_with(max, SIGFIG)
}

/// Significant digits of each function's histograms in a run of many functions (a replayed trace): within 1 %,
/// about 7 times smaller than [`SIGFIG`]'s. The total keeps [`SIGFIG`].
pub(crate) const SIGFIG_MANY: u8 = 2;

pub(crate) fn new_histogram_with(max: u64, sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, max, sigfig).expect("valid histogram bounds")
}

/// How a [`Series`] maps recorded values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Values arrive in ns; the histogram holds µs.
    Nanos,
    /// Values arrive and are stored in ms.
    Millis,
}

/// One HdrHistogram and exact statistics of the same values (in the input unit).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    hist: Histogram<u64>,
    unit: Unit,
    count: u64,
    min: u64,
    max: u64,
    sum: u128,
}

impl Series {
    /// Values in ns, histogram in µs.
    pub(crate) fn nanos() -> Self {
        Self::with(new_histogram(MAX_LATENCY_US), Unit::Nanos)
    }

    /// Values in ns, histogram in µs, up to `max_us` (for waits longer than an invocation: queues, retries).
    pub(crate) fn nanos_upto(max_us: u64) -> Self {
        Self::with(new_histogram(max_us), Unit::Nanos)
    }

    /// Plain counts (batch sizes), reported as they are.
    pub(crate) fn counts(max: u64) -> Self {
        Self::with(new_histogram(max), Unit::Millis)
    }

    /// Values in ms.
    #[cfg(test)]
    pub(crate) fn millis() -> Self {
        Self::with(new_histogram(MAX_BILLED_MS), Unit::Millis)
    }

    fn with(hist: Histogram<u64>, unit: Unit) -> Self {
        Series {
            hist,
            unit,
            count: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }

    /// The value as the histogram stores it.
    fn hist_value(&self, v: u64) -> u64 {
        match self.unit {
            Unit::Nanos => ns_to_us(v),
            Unit::Millis => v,
        }
    }

    /// Milliseconds per input unit.
    fn ms_per_input(&self) -> f64 {
        match self.unit {
            Unit::Nanos => 1e-6,
            Unit::Millis => 1.0,
        }
    }

    /// Milliseconds per histogram unit.
    fn ms_per_hist(&self) -> f64 {
        match self.unit {
            Unit::Nanos => 1e-3,
            Unit::Millis => 1.0,
        }
    }

    #[inline]
    pub(crate) fn record(&mut self, v: u64) {
        let hv = self.hist_value(v);
        self.hist.saturating_record(hv);
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += u128::from(v);
    }

    /// The exact maximum, in histogram units (0 when empty).
    pub(crate) fn max_hist_value(&self) -> u64 {
        self.hist_value(self.max)
    }

    pub(crate) fn merge(&mut self, o: &Series) {
        debug_assert_eq!(self.unit, o.unit);
        // Same bounds on both sides: adding cannot fail.
        self.hist
            .add(&o.hist)
            .expect("histograms of one kind share bounds");
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
    }

    pub(crate) fn percentiles(&self) -> Percentiles {
        if self.count == 0 {
            return Percentiles::default();
        }
        let to_ms_input = self.ms_per_input();
        let (min_ms, max_ms) = (self.min as f64 * to_ms_input, self.max as f64 * to_ms_input);
        let q = |quantile: f64| {
            let v = self.hist.value_at_quantile(quantile) as f64 * self.ms_per_hist();
            round3(v.clamp(min_ms, max_ms))
        };
        Percentiles {
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: round3(max_ms),
            mean: round3(self.sum as f64 / self.count as f64 * to_ms_input),
            count: self.count,
        }
    }

    /// The HdrHistogram (µs for values in ns).
    pub(crate) fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }
}

/// The five series of a function (or of the total).
#[derive(Debug, Clone)]
pub(crate) struct LatencySeries {
    /// End-to-end latency (end − arrival) of every invocation that ran.
    pub(crate) all: Series,
    /// … of cold starts.
    pub(crate) cold: Series,
    /// … of warm and provisioned starts.
    pub(crate) warm: Series,
    /// Init Duration of cold starts whose init ran on the request path.
    pub(crate) init: Series,
    /// Billed Duration, ms.
    pub(crate) billed: Series,
    /// Restore Duration of cold starts restored from a snapshot.
    pub(crate) restore: Series,
    /// Cold starts taken apart; `None` for the functions of a run of many (the total keeps them).
    pub(crate) cold_parts: Option<Box<ColdStartSeries>>,
}

impl LatencySeries {
    /// Full precision, cold starts taken apart.
    pub(crate) fn new() -> Self {
        LatencySeries {
            cold_parts: Some(Box::new(ColdStartSeries::new())),
            ..Self::with_sigfig(SIGFIG)
        }
    }

    /// Series whose histograms keep `sigfig` significant digits, without cold-start pieces (a function of a run of
    /// many: five more histograms each would multiply its memory).
    pub(crate) fn with_sigfig(sigfig: u8) -> Self {
        let nanos = || Series::with(new_histogram_with(MAX_LATENCY_US, sigfig), Unit::Nanos);
        LatencySeries {
            all: nanos(),
            cold: nanos(),
            warm: nanos(),
            init: nanos(),
            billed: Series::with(new_histogram_with(MAX_BILLED_MS, sigfig), Unit::Millis),
            restore: nanos(),
            cold_parts: None,
        }
    }

    /// Records one invocation; returns its end-to-end latency in ns.
    #[inline]
    pub(crate) fn record(&mut self, s: &InvocationSample) -> u64 {
        let latency = s.end_ns.saturating_sub(s.arrival_ns);
        self.all.record(latency);
        match s.start {
            StartKind::Cold => self.cold.record(latency),
            StartKind::Warm | StartKind::Provisioned => self.warm.record(latency),
        }
        if let Some(init) = s.init_ns {
            self.init.record(init);
        }
        if let Some(restore) = s.restore_ns {
            self.restore.record(restore);
        }
        self.billed.record(s.billed_ms);
        if let Some(parts) = &mut self.cold_parts {
            parts.record(s);
        }
        latency
    }

    pub(crate) fn merge(&mut self, o: &LatencySeries) {
        self.all.merge(&o.all);
        self.cold.merge(&o.cold);
        self.warm.merge(&o.warm);
        self.init.merge(&o.init);
        self.billed.merge(&o.billed);
        self.restore.merge(&o.restore);
        if let (Some(mine), Some(theirs)) = (&mut self.cold_parts, &o.cold_parts) {
            mine.merge(theirs);
        }
    }

    pub(crate) fn summary(&self) -> LatencySummary {
        LatencySummary {
            all: self.all.percentiles(),
            cold: self.cold.percentiles(),
            warm: self.warm.percentiles(),
            init: self.init.percentiles(),
            billed: self.billed.percentiles(),
            restore: self.restore.percentiles(),
            cold_start: self.cold_parts.as_ref().map(|c| c.summary()),
        }
    }

    pub(crate) fn into_histograms(self) -> HistogramSet {
        HistogramSet {
            all: self.all.hist,
            cold: self.cold.hist,
            warm: self.warm.hist,
            init: self.init.hist,
            billed: self.billed.hist,
            restore: self.restore.hist,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;

    const MS: u64 = 1_000_000;

    fn sample(
        latency_ns: u64,
        start: StartKind,
        init_ns: Option<u64>,
        billed_ms: u64,
    ) -> InvocationSample {
        InvocationSample {
            arrival_ns: 5 * MS,
            end_ns: 5 * MS + latency_ns,
            start,
            parts: Default::default(),
            init_ns,
            restore_ns: None,
            duration_ns: latency_ns,
            billed_ms,
            outcome: Outcome::Success,
            error_type: None,
            peak_memory_bytes: 0,
        }
    }

    #[test]
    fn percentiles_of_1_to_1000_ms() {
        let mut s = Series::nanos();
        for i in 1..=1000 {
            s.record(i * MS);
        }
        let p = s.percentiles();
        assert_eq!(p.count, 1000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 1e-9;
        assert!(close(p.p50, 500.0), "p50 {}", p.p50);
        assert!(close(p.p90, 900.0), "p90 {}", p.p90);
        assert!(close(p.p99, 990.0), "p99 {}", p.p99);
        assert!(close(p.p999, 999.0), "p999 {}", p.p999);
        assert_eq!(p.max, 1000.0);
        assert_eq!(p.mean, 500.5);
    }

    #[test]
    fn constant_samples_report_exact_values() {
        let mut s = Series::nanos();
        for _ in 0..10 {
            s.record(100 * MS);
        }
        let p = s.percentiles();
        assert_eq!(
            (p.p50, p.p90, p.p99, p.p999, p.max, p.mean),
            (100.0, 100.0, 100.0, 100.0, 100.0, 100.0)
        );
    }

    #[test]
    fn ninety_fast_ten_slow() {
        let mut s = Series::nanos();
        for _ in 0..90 {
            s.record(10 * MS);
        }
        for _ in 0..10 {
            s.record(1000 * MS);
        }
        let p = s.percentiles();
        assert!((p.p50 - 10.0).abs() < 0.01, "{}", p.p50);
        assert!((p.p90 - 10.0).abs() < 0.01, "{}", p.p90);
        assert_eq!(p.p99, 1000.0);
        assert_eq!(p.mean, 109.0);
    }

    #[test]
    fn empty_series_is_all_zero() {
        assert_eq!(Series::nanos().percentiles(), Percentiles::default());
        assert_eq!(Series::millis().percentiles().count, 0);
    }

    #[test]
    fn sub_millisecond_values_round_to_the_microsecond() {
        let mut s = Series::nanos();
        s.record(1_234_567); // 1.234567 ms
        let p = s.percentiles();
        assert_eq!(p.max, 1.235);
        assert_eq!(p.p50, 1.235);
        assert_eq!(ns_to_us(1499), 1);
        assert_eq!(ns_to_us(1500), 2);
    }

    #[test]
    fn huge_values_saturate_in_the_histogram_only() {
        let mut s = Series::nanos();
        s.record(2 * 3_600_000 * MS); // 2 h
        assert_eq!(s.histogram().len(), 1);
        assert_eq!(s.percentiles().max, 7_200_000.0);
    }

    #[test]
    fn series_split_by_start_kind() {
        let mut l = LatencySeries::new();
        l.record(&sample(300 * MS, StartKind::Cold, Some(200 * MS), 250));
        l.record(&sample(20 * MS, StartKind::Warm, None, 20));
        l.record(&sample(10 * MS, StartKind::Provisioned, None, 10));
        let s = l.summary();
        assert_eq!(
            (
                s.all.count,
                s.cold.count,
                s.warm.count,
                s.init.count,
                s.billed.count
            ),
            (3, 1, 2, 1, 3)
        );
        assert_eq!(s.cold.max, 300.0);
        assert_eq!(s.warm.max, 20.0);
        assert_eq!(s.init.p50, 200.0);
        assert_eq!(s.billed.max, 250.0);
        assert_eq!(s.billed.mean, 93.333);

        let mut total = LatencySeries::new();
        total.merge(&l);
        total.merge(&l);
        assert_eq!(total.summary().all.count, 6);
        assert_eq!(total.summary().all.max, 300.0);
        let h = total.into_histograms();
        assert_eq!((h.all.len(), h.cold.len(), h.billed.len()), (6, 2, 6));
    }
}
