//! One function's accumulators (counts, histograms, usage, timeline, hlog intervals) and how they become a
//! [`FunctionReport`]. [`Counts`] is also what the total sums.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::cost::{Usage, function_cost_with};
use super::histograms::{LatencySeries, ns_to_us};
use super::intervals::Intervals;
use super::occupancy::OccupancyMeter;
use super::timeline::Timeline;
use super::{InvocationSample, StartKind};
use crate::model::{DestroyReason, ThrottleCause, ThrottleReason};
use crate::report::{
    Conservation, Cost, FunctionConfig, FunctionReport, GbSeconds, Occupancy, OutcomeCounts,
    PingCounts, SandboxCounts, ThrottleCounts, TimelineBucket,
};

/// Plain counters, summable across functions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) arrivals: u64,
    pub(crate) outcomes: OutcomeCounts,
    pub(crate) throttles: ThrottleCounts,
    pub(crate) cold_starts: u64,
    pub(crate) warm_starts: u64,
    pub(crate) provisioned_starts: u64,
    pub(crate) sandboxes: SandboxCounts,
    pub(crate) pings: PingCounts,
}

impl Counts {
    pub(crate) fn add(&mut self, o: &Counts) {
        self.arrivals += o.arrivals;
        self.outcomes.add(&o.outcomes);
        self.throttles.add(&o.throttles);
        self.cold_starts += o.cold_starts;
        self.warm_starts += o.warm_starts;
        self.provisioned_starts += o.provisioned_starts;
        self.sandboxes.add(&o.sandboxes);
        self.pings.add(&o.pings);
    }
}

/// Everything recorded about one function.
#[derive(Debug, Clone)]
pub(crate) struct FunctionMetrics {
    pub(crate) config: FunctionConfig,
    pub(crate) counts: Counts,
    pub(crate) peak_concurrency: u32,
    /// Time-averaged busy, idle and initializing environments.
    pub(crate) occupancy: OccupancyMeter,
    pub(crate) usage: Usage,
    pub(crate) latency: LatencySeries,
    pub(crate) timeline: Timeline,
    pub(crate) intervals: Intervals,
    /// Changes of the configured provisioned concurrency during the run: (time, count).
    pub(crate) provisioned_changes: Vec<(u64, u32)>,
    /// Failed invocations by `errorType`.
    pub(crate) errors: BTreeMap<Box<str>, u64>,
}

impl FunctionMetrics {
    /// `max_buckets` bounds its timeline; `intervals` says whether it keeps hlog interval histograms and full
    /// precision (false in a run of many functions: no intervals, histograms of [`super::histograms::SIGFIG_MANY`]
    /// digits).
    pub(crate) fn new(
        config: FunctionConfig,
        expected_s: u64,
        max_buckets: usize,
        intervals: bool,
    ) -> Self {
        FunctionMetrics {
            config,
            counts: Counts::default(),
            peak_concurrency: 0,
            occupancy: OccupancyMeter::new(),
            usage: Usage::default(),
            latency: if intervals {
                LatencySeries::new()
            } else {
                LatencySeries::with_sigfig(super::histograms::SIGFIG_MANY)
            },
            timeline: Timeline::with_max(expected_s, max_buckets),
            intervals: if intervals {
                Intervals::new()
            } else {
                Intervals::off()
            },
            provisioned_changes: Vec::new(),
            errors: BTreeMap::new(),
        }
    }

    #[inline]
    pub(crate) fn throttled(&mut self, t_ns: u64, reason: ThrottleReason, cause: ThrottleCause) {
        self.counts.outcomes.throttled += 1;
        self.counts.throttles.record(reason, cause);
        self.timeline.bucket_mut(t_ns).throttles += 1;
    }

    /// Records a finished invocation.
    #[inline]
    pub(crate) fn invocation(&mut self, s: &InvocationSample) {
        let c = &mut self.counts;
        c.outcomes.record(s.outcome);
        if let Some(t) = &s.error_type {
            *self.errors.entry(t.clone()).or_default() += 1;
        }
        self.usage.requests += 1;
        if s.restore_ns.is_some() {
            self.usage.restores += 1;
        }
        match s.start {
            StartKind::Cold => {
                c.cold_starts += 1;
                self.usage.on_demand_billed_ms += s.billed_ms;
                self.timeline.bucket_mut(s.arrival_ns).cold_starts += 1;
            }
            StartKind::Warm => {
                c.warm_starts += 1;
                self.usage.on_demand_billed_ms += s.billed_ms;
            }
            StartKind::Provisioned => {
                c.provisioned_starts += 1;
                self.usage.provisioned_billed_ms += s.billed_ms;
            }
        }
        let latency = self.latency.record(s);
        let hint = self.latency.all.max_hist_value();
        self.intervals.record(s.end_ns, ns_to_us(latency), hint);
    }

    /// Records a finished warmer ping: billed, counted apart, in no latency figure.
    pub(crate) fn ping(&mut self, s: &InvocationSample) {
        let p = &mut self.counts.pings;
        self.usage.requests += 1;
        if s.outcome != crate::model::Outcome::Success {
            p.failed += 1;
        }
        match s.start {
            StartKind::Cold => {
                p.cold_starts += 1;
                self.usage.on_demand_billed_ms += s.billed_ms;
            }
            StartKind::Warm => {
                p.warm_starts += 1;
                self.usage.on_demand_billed_ms += s.billed_ms;
            }
            StartKind::Provisioned => {
                p.warm_starts += 1;
                self.usage.provisioned_billed_ms += s.billed_ms;
            }
        }
    }

    pub(crate) fn sandbox_created(&mut self, provisioned: bool) {
        self.counts.sandboxes.created += 1;
        if provisioned {
            self.counts.sandboxes.created_provisioned += 1;
        }
    }

    pub(crate) fn sandbox_destroyed(
        &mut self,
        reason: DestroyReason,
        alive_ns: u64,
        busy_ns: u64,
        provisioned: bool,
    ) {
        self.counts.sandboxes.record_destroyed(reason, provisioned);
        let idle = u128::from(alive_ns.saturating_sub(busy_ns));
        if provisioned {
            self.usage.idle_provisioned_ns += idle;
        } else {
            self.usage.idle_on_demand_ns += idle;
        }
    }

    pub(crate) fn provisioned_init(&mut self, init_ns: u64) {
        self.counts.sandboxes.provisioned_inits += 1;
        self.usage.provisioned_init_ms += init_ns.div_ceil(1_000_000);
    }
}

/// The pieces a report is assembled from (timeline and intervals already aligned by the caller).
pub(crate) struct ReportParts {
    pub(crate) name: String,
    pub(crate) config: Option<FunctionConfig>,
    pub(crate) counts: Counts,
    pub(crate) peak_concurrency: u32,
    pub(crate) occupancy: Occupancy,
    pub(crate) latency: LatencySeries,
    pub(crate) gb_s: GbSeconds,
    pub(crate) cost: Cost,
    pub(crate) timeline: Vec<TimelineBucket>,
    pub(crate) intervals: Vec<Option<Histogram<u64>>>,
    pub(crate) provisioned_changes: Vec<(u64, u32)>,
    pub(crate) errors: BTreeMap<Box<str>, u64>,
}

impl FunctionMetrics {
    /// Splits into report parts; `timeline` and `intervals` must already be aligned.
    pub(crate) fn into_parts(self, end_ns: u64, intervals_len: usize) -> ReportParts {
        let (gb_s, cost) =
            function_cost_with(&self.config, &self.usage, &self.provisioned_changes, end_ns);
        ReportParts {
            name: self.config.name.clone(),
            config: Some(self.config),
            counts: self.counts,
            peak_concurrency: self.peak_concurrency,
            occupancy: self.occupancy.report(end_ns),
            latency: self.latency,
            gb_s,
            cost,
            timeline: self.timeline.into_buckets(),
            intervals: self.intervals.into_slots(intervals_len),
            provisioned_changes: self.provisioned_changes,
            errors: self.errors,
        }
    }
}

impl ReportParts {
    pub(crate) fn into_report(self) -> FunctionReport {
        let c = self.counts;
        FunctionReport {
            name: self.name,
            config: self.config,
            arrivals: c.arrivals,
            outcomes: c.outcomes,
            throttles: c.throttles,
            cold_starts: c.cold_starts,
            warm_starts: c.warm_starts,
            provisioned_starts: c.provisioned_starts,
            pings: c.pings,
            async_events: None,
            peak_concurrency: self.peak_concurrency,
            occupancy: self.occupancy,
            sandboxes: c.sandboxes,
            latency: self.latency.summary(),
            histograms: self.latency.into_histograms(),
            gb_s: self.gb_s,
            cost: self.cost,
            conservation: Conservation::new(c.arrivals, c.outcomes.total()),
            timeline: self.timeline,
            intervals: self.intervals,
            provisioned_changes: self.provisioned_changes,
            errors: self
                .errors
                .into_iter()
                .map(|(t, n)| (t.into_string(), n))
                .collect(),
        }
    }
}
