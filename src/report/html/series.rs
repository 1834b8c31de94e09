//! Chart data taken from a report: percentile curves from the HdrHistograms and timelines coarsened to a
//! bounded number of steps, so a long run still gives a light page.

use hdrhistogram::Histogram;

use crate::report::{FunctionReport, QueueBucket, QueueReport, RunReport, TimelineBucket};

/// Most steps a timeline series is drawn with; each step is two points, so ≤ 2,000 points a series.
pub const MAX_STEPS: usize = 1000;

/// Ticks per half distance of the quantile iteration (as HdrHistogram's own percentile output uses).
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Points of an HdrHistogram-style percentile curve: x = 1/(1 − p) (1 at p = 0, 10 at 90 %, 100 at 99 %…),
/// capped at `x_max`; y = latency in milliseconds. The histogram holds microseconds; `max_ms` is the exact
/// maximum (the histogram only knows its bucket), and values are clamped to it as the report's percentiles
/// are. Empty for an empty histogram.
pub fn percentile_curve(h: &Histogram<u64>, max_ms: f64, x_max: f64) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let ms = |us: u64| (us as f64 / 1000.0).min(max_ms);
    let mut points = vec![(1.0, ms(h.min()))];
    for v in h.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
        let q = v.quantile_iterated_to();
        let x = if q >= 1.0 {
            x_max
        } else {
            (1.0 / (1.0 - q)).min(x_max)
        };
        points.push((x.max(1.0), ms(v.value_iterated_to())));
    }
    // The last iteration reaches p = 1: the maximum is drawn at the right edge.
    points.push((x_max, max_ms));
    points
}

/// The right end of the percentile axis: the smallest power of ten ≥ `count`, at least 100 (99 %). Beyond
/// 1/(1 − p) = count a percentile is the maximum, so a larger axis would only draw a flat line.
pub fn percentile_axis_max(count: u64) -> f64 {
    let mut x = 100.0;
    while x < count as f64 && x < 1e12 {
        x *= 10.0;
    }
    x
}

/// The tick positions of the percentile axis: 1, 10, 100, … up to `x_max`.
pub fn percentile_ticks(x_max: f64) -> Vec<f64> {
    let mut ticks = vec![1.0];
    let mut x = 10.0;
    while x <= x_max * 1.000_001 {
        ticks.push(x);
        x *= 10.0;
    }
    ticks
}

/// The label of a percentile axis position: 1 → "0%", 10 → "90%", 100 → "99%", 1000 → "99.9%"…
pub fn percentile_label(x: f64) -> String {
    let nines = x.max(1.0).log10().round() as usize;
    match nines {
        0 => "0%".to_string(),
        1 => "90%".to_string(),
        2 => "99%".to_string(),
        n => format!("99.{}%", "9".repeat(n - 2)),
    }
}

/// The unit a time axis is labelled in, chosen from the span it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
}

impl TimeUnit {
    pub fn for_span_ns(span_ns: u64) -> Self {
        let s = span_ns as f64 / 1e9;
        if s <= 300.0 {
            TimeUnit::Seconds
        } else if s <= 300.0 * 60.0 {
            TimeUnit::Minutes
        } else {
            TimeUnit::Hours
        }
    }

    pub fn ns(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1e9,
            TimeUnit::Minutes => 60e9,
            TimeUnit::Hours => 3600e9,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "s",
            TimeUnit::Minutes => "min",
            TimeUnit::Hours => "h",
        }
    }
}

/// A bucket of a report's timeline that can absorb the bucket after it, so long timelines fold into fewer
/// steps.
pub trait Fold: Copy {
    fn absorb_later(&mut self, later: &Self);
}

/// The report's own coarsening: counts add, the busy maximum is the maximum, alive and idle are the values at
/// the end.
impl Fold for TimelineBucket {
    fn absorb_later(&mut self, later: &Self) {
        TimelineBucket::absorb_later(self, later);
    }
}

/// Counts add, the highest depth is the maximum, depth, in flight and the oldest age are the values at the
/// end (as for a single bucket).
impl Fold for QueueBucket {
    fn absorb_later(&mut self, later: &Self) {
        self.sent += later.sent;
        self.deleted += later.deleted;
        self.max_depth = self.max_depth.max(later.max_depth);
        self.depth = later.depth;
        self.in_flight = later.in_flight;
        self.oldest_age_s = later.oldest_age_s;
    }
}

/// Service timelines: calls and failures add, peaks are the maximum.
impl Fold for crate::report::ServiceBucket {
    fn absorb_later(&mut self, later: &Self) {
        self.calls += later.calls;
        self.failed += later.failed;
        self.connections = self.connections.max(later.connections);
        self.waiting = self.waiting.max(later.waiting);
    }
}

/// Step widths a reader can take in at a glance ("per 10 s", "per 5 min", "per 1 h"), in seconds.
const NICE_STEPS_S: [u64; 22] = [
    1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10_800, 21_600,
    43_200, 86_400, 172_800, 604_800,
];

/// How many buckets of `bucket_ns` one step folds: at least `min`, and a nice width when buckets are whole
/// seconds (never "per 11 s").
fn nice_per_step(min: usize, bucket_ns: u64) -> usize {
    if min <= 1 || !bucket_ns.is_multiple_of(1_000_000_000) {
        return min;
    }
    let bucket_s = (bucket_ns / 1_000_000_000).max(1);
    NICE_STEPS_S
        .iter()
        .filter(|&&s| s.is_multiple_of(bucket_s))
        .map(|&s| (s / bucket_s) as usize)
        .find(|&n| n >= min)
        .unwrap_or(min)
}

/// A report's timeline as step series (each step drawn flat from its start to its end).
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline<B = TimelineBucket> {
    /// Width of one step: the report's bucket, times how many buckets were folded into one step.
    pub step_ns: u64,
    /// End of the last step.
    pub end_ns: u64,
    /// `(start_ns, end_ns, bucket)` per step, buckets folded by [`Fold`].
    pub steps: Vec<(u64, u64, B)>,
}

impl Timeline {
    /// The timeline of all functions together, in at most [`MAX_STEPS`] steps.
    pub fn of(r: &RunReport) -> Self {
        Self::from_buckets(&r.total.timeline, r.timeline_bucket_ns.max(1))
    }
}

impl Timeline<QueueBucket> {
    /// The timeline of one of the run's queues, in at most [`MAX_STEPS`] steps.
    pub fn of_queue(r: &RunReport, q: &QueueReport) -> Self {
        Self::from_buckets(&q.timeline, r.timeline_bucket_ns.max(1))
    }
}

impl<B: Fold> Timeline<B> {
    pub fn from_buckets(buckets: &[B], bucket_ns: u64) -> Self {
        let per_step = nice_per_step(buckets.len().div_ceil(MAX_STEPS).max(1), bucket_ns);
        let mut steps = Vec::with_capacity(buckets.len().div_ceil(per_step));
        for (i, chunk) in buckets.chunks(per_step).enumerate() {
            let mut folded = chunk[0];
            for later in &chunk[1..] {
                folded.absorb_later(later);
            }
            let start = (i * per_step) as u64 * bucket_ns;
            steps.push((start, start + chunk.len() as u64 * bucket_ns, folded));
        }
        Timeline {
            step_ns: per_step as u64 * bucket_ns,
            end_ns: buckets.len() as u64 * bucket_ns,
            steps,
        }
    }

    /// One series as step points `(time in `unit`, value)`: two points per step.
    pub fn series(&self, unit: TimeUnit, value: impl Fn(&B) -> f64) -> Vec<(f64, f64)> {
        let mut points = Vec::with_capacity(self.steps.len() * 2);
        for (start, end, b) in &self.steps {
            let v = value(b);
            points.push((*start as f64 / unit.ns(), v));
            points.push((*end as f64 / unit.ns(), v));
        }
        points
    }

    /// The largest value of a series (0 when empty).
    pub fn max(&self, value: impl Fn(&B) -> f64) -> f64 {
        self.steps
            .iter()
            .map(|(_, _, b)| value(b))
            .fold(0.0, f64::max)
    }
}

/// The number of invocations with a latency (those that ran).
pub fn latency_count(f: &FunctionReport) -> u64 {
    f.histograms.all.len()
}

/// The largest end-to-end latency (ms) of a function report (0 when none ran).
pub fn latency_max_ms(f: &FunctionReport) -> f64 {
    f.latency.all.max
}

/// A duration as a short label: "1 s", "2 min", "250 ms".
pub fn duration_label(ns: u64) -> String {
    if ns >= 3_600_000_000_000 && ns.is_multiple_of(3_600_000_000_000) {
        format!("{} h", ns / 3_600_000_000_000)
    } else if ns >= 60_000_000_000 && ns.is_multiple_of(60_000_000_000) {
        format!("{} min", ns / 60_000_000_000)
    } else if ns >= 1_000_000_000 && ns.is_multiple_of(1_000_000_000) {
        format!("{} s", ns / 1_000_000_000)
    } else {
        format!("{} ms", ns as f64 / 1e6)
    }
}
