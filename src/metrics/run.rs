//! [`RunMetrics`]: what drivers call as a run unfolds, and `finish`, which turns it into a [`RunReport`].
//!
//! # Driver contract
//!
//! - Every request: `arrival`, then exactly one of `throttled` (at once) or `invocation` (when it finished).
//!   Conservation (arrivals = Σ outcomes, throttled included) is checked in the report, per function and total.
//! - `pool_state` after every event that changed a function's pool (times nondecreasing).
//! - `sandbox_created` / `sandbox_destroyed` for every environment; environments still alive when the run ends
//!   must be reported with [`DestroyReason::EndOfRun`] **before** `finish` (their idle time counts then).
//! - `provisioned_init` for each init a provisioned environment ran off the request path (billed).
//! - `prewarm` for each environment the hybrid keep-alive policy pre-warmed (counted; its init is not billed).
//! - A `FunctionId` out of range is a driver bug and panics.
//!
//! # Cost on the hot path
//!
//! `arrival`, `throttled`, `invocation` and `pool_state` are O(1) and do not allocate in steady state:
//! histograms are allocated up front, timelines reserve room for the scenario's duration and append a bucket
//! only when time crosses a second, and an hlog interval histogram is allocated when the first invocation ends
//! in it. The total's latency histograms and interval histograms are summed at `finish`; the total's timeline is
//! kept live (its concurrency is of all functions at the same moment, not a sum of per-function maxima).

use super::PoolState;
use super::events::{EventFailure, EventMetrics};
use super::function::{Counts, FunctionMetrics, ReportParts};
use super::histograms::LatencySeries;
use super::intervals::{Intervals, MAX_INTERVALS, sum_slots};
use super::occupancy::OccupancyMeter;
use super::timeline::Timeline;
use super::{InvocationSample, StartKind};
use crate::model::{DestroyReason, FunctionId, ThrottleCause, ThrottleReason};
use crate::report::{Cost, FunctionConfig, GbSeconds, RunInfo, RunReport};
use crate::scenario::Scenario;

const NS_PER_S: u64 = 1_000_000_000;

/// Accumulates a run's metrics. See the module docs for the driver contract.
#[derive(Debug, Clone)]
pub struct RunMetrics {
    run: RunInfo,
    functions: Vec<FunctionMetrics>,
    total_timeline: Timeline,
    /// The total's hlog intervals, kept apart when functions keep none (more than
    /// [`super::intervals::PER_FUNCTION_LIMIT`]); otherwise the total sums the functions'.
    total_intervals: Option<(Intervals, u64)>,
    /// The total's latency series, kept apart (at full precision) under the same condition.
    total_latency: Option<LatencySeries>,
    /// Σ of every function's latest pool state.
    total_state: PoolState,
    total_peak: u32,
    /// The total's time-averaged environments.
    total_occupancy: OccupancyMeter,
    events: EventMetrics,
}

impl RunMetrics {
    /// Metrics for `scenario`; `wasm_bytes[i]` is the module size of function `i` (echoed in the report).
    pub fn new(scenario: &Scenario, wasm_bytes: &[u64]) -> Self {
        debug_assert_eq!(wasm_bytes.len(), scenario.functions.len());
        let sim = &scenario.simulation;
        let run = RunInfo {
            name: sim.name.clone(),
            seed: sim.seed,
            mode: sim.mode,
            duration_ns: sim.duration_ns,
            not_lambda: scenario
                .not_lambda
                .describe(scenario.account.concurrency_limit),
        };
        let functions = scenario
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| FunctionConfig {
                name: f.name.clone(),
                memory_mb: f.memory_mb,
                architecture: f.architecture,
                reserved_concurrency: f.reserved_concurrency,
                provisioned_concurrency: f.provisioned_concurrency,
                provisioned_allocation_delay_ns: f.provisioned_allocation_delay_ns,
                code_bytes: wasm_bytes.get(i).copied().unwrap_or(0),
                snapshot: f.snapshot,
            })
            .collect();
        let mut m = Self::with_config(run, functions);
        m.set_queues(scenario.queues.iter().map(|q| q.name.clone()).collect());
        m
    }

    /// Metrics from plain values (no scenario file needed); `functions[i]` is `FunctionId` i.
    pub fn with_config(run: RunInfo, functions: Vec<FunctionConfig>) -> Self {
        let expected_s = run.duration_ns / NS_PER_S + 1;
        let events = EventMetrics::new(functions.len(), Vec::new());
        // Memory for many functions (a replayed trace): timelines share a budget, and hlog intervals are kept for
        // the total only.
        let max_buckets = super::timeline::max_buckets(functions.len() + 1);
        let detail = functions.len() <= super::intervals::PER_FUNCTION_LIMIT;
        RunMetrics {
            events,
            functions: functions
                .into_iter()
                .map(|c| FunctionMetrics::new(c, expected_s, max_buckets, detail))
                .collect(),
            total_timeline: Timeline::with_max(expected_s, max_buckets),
            total_intervals: (!detail).then(|| (Intervals::new(), 0)),
            total_latency: (!detail).then(LatencySeries::new),
            total_state: PoolState::default(),
            total_peak: 0,
            total_occupancy: OccupancyMeter::new(),
            run,
        }
    }

    /// A request for `f` arrived.
    #[inline]
    pub fn arrival(&mut self, f: FunctionId, t_ns: u64) {
        let fm = &mut self.functions[f];
        fm.counts.arrivals += 1;
        fm.timeline.bucket_mut(t_ns).arrivals += 1;
        self.total_timeline.bucket_mut(t_ns).arrivals += 1;
    }

    /// A request was rejected with a 429 (its outcome; not billed, not in latency histograms).
    #[inline]
    pub fn throttled(
        &mut self,
        f: FunctionId,
        t_ns: u64,
        reason: ThrottleReason,
        cause: ThrottleCause,
    ) {
        self.functions[f].throttled(t_ns, reason, cause);
        self.total_timeline.bucket_mut(t_ns).throttles += 1;
    }

    /// A request that was not throttled finished (once per such arrival).
    #[inline]
    pub fn invocation(&mut self, f: FunctionId, s: &InvocationSample) {
        self.functions[f].invocation(s);
        if let Some(total) = &mut self.total_latency {
            total.record(s);
        }
        if let Some((intervals, max_us)) = &mut self.total_intervals {
            let latency_us = super::histograms::ns_to_us(s.end_ns.saturating_sub(s.arrival_ns));
            *max_us = (*max_us).max(latency_us);
            intervals.record(s.end_ns, latency_us, *max_us);
        }
        if s.start == StartKind::Cold {
            self.total_timeline.bucket_mut(s.arrival_ns).cold_starts += 1;
        }
    }

    /// Ends every request that arrived and has no outcome yet as `cut_at_shutdown`: a real-time run or `serve`
    /// shut down past its bound while they ran. Returns how many.
    pub fn cut_in_flight(&mut self) -> u64 {
        let mut cut = 0;
        for fm in &mut self.functions {
            let c = &mut fm.counts;
            let n = c.arrivals.saturating_sub(c.outcomes.total());
            c.outcomes.cut_at_shutdown += n;
            cut += n;
        }
        cut
    }

    /// The function's configured provisioned concurrency changed to `count` (scheduled action, target tracking
    /// or the control plane); capacity is billed by these changes.
    pub fn provisioned_configured(&mut self, f: FunctionId, t_ns: u64, count: u32) {
        self.functions[f].provisioned_changes.push((t_ns, count));
    }

    /// Declares the run's SQS queues (in scenario order) before any of their events.
    pub fn set_queues(&mut self, names: Vec<String>) {
        self.events = EventMetrics::new(self.functions.len(), names);
    }

    /// An `Event` invocation of `f` was accepted into its internal queue.
    pub fn event_enqueued(&mut self, f: FunctionId, _t_ns: u64) {
        self.events.function(f).enqueued();
    }

    /// An attempt of an async event of `f` ran (throttled dispatches do not count); `queue_delay_ns` (enqueue →
    /// start) for the event's first attempt that ran.
    pub fn event_attempt(&mut self, f: FunctionId, queue_delay_ns: Option<u64>) {
        self.events.function(f).attempt(queue_delay_ns);
    }

    /// An async event of `f` succeeded after `attempts` attempts, `latency_ns` after it was enqueued.
    pub fn event_delivered(&mut self, f: FunctionId, attempts: u32, latency_ns: u64) {
        self.events.function(f).delivered(attempts, latency_ns);
    }

    /// An async event of `f` failed for good.
    pub fn event_failed(&mut self, f: FunctionId, how: EventFailure, latency_ns: u64) {
        self.events.function(f).failed(how, latency_ns);
    }

    /// A message was sent to queue `q`.
    pub fn message_sent(&mut self, q: usize, t_ns: u64) {
        self.events.message_sent(q, t_ns);
    }

    /// A batch of `size` messages from queue `q` was handed to a function.
    pub fn batch_received(&mut self, q: usize, size: u64) {
        self.events.batch_received(q, size);
    }

    /// A message of queue `q`, sent at `sent_ns`, was processed and deleted.
    pub fn message_deleted(&mut self, q: usize, t_ns: u64, sent_ns: u64) {
        self.events.message_deleted(q, t_ns, sent_ns);
    }

    /// A message of queue `q` was moved to its dead-letter queue.
    pub fn message_redriven(&mut self, q: usize) {
        self.events.message_redriven(q);
    }

    /// A message of queue `q` passed its retention period.
    pub fn message_expired(&mut self, q: usize) {
        self.events.message_expired(q);
    }

    /// Queue `q` now holds `visible` + `in_flight` messages, the oldest sent at `oldest_sent_ns`.
    pub fn queue_state(
        &mut self,
        q: usize,
        t_ns: u64,
        visible: u64,
        in_flight: u64,
        oldest_sent_ns: Option<u64>,
    ) {
        self.events
            .queue_state(q, t_ns, visible, in_flight, oldest_sent_ns);
    }

    /// A warmer ping arrived (counted apart from real traffic).
    pub fn ping_arrival(&mut self, f: FunctionId, t_ns: u64) {
        let fm = &mut self.functions[f];
        fm.counts.pings.sent += 1;
        fm.timeline.bucket_mut(t_ns).pings += 1;
        self.total_timeline.bucket_mut(t_ns).pings += 1;
    }

    /// A warmer ping was throttled.
    pub fn ping_throttled(&mut self, f: FunctionId, _t_ns: u64) {
        self.functions[f].counts.pings.throttled += 1;
    }

    /// A warmer ping finished: billed, but in no latency histogram or start count.
    pub fn ping(&mut self, f: FunctionId, s: &InvocationSample) {
        self.functions[f].ping(s);
    }

    /// An execution environment was created (`provisioned`: for provisioned concurrency).
    pub fn sandbox_created(&mut self, f: FunctionId, _t_ns: u64, provisioned: bool) {
        self.functions[f].sandbox_created(provisioned);
    }

    /// An execution environment went away. `alive_ns`: creation → now; `busy_ns`: total time it ran
    /// invocations (idle GB-s = (alive − busy) × GB). Report environments alive at the end with
    /// [`DestroyReason::EndOfRun`] before [`RunMetrics::finish`].
    pub fn sandbox_destroyed(
        &mut self,
        f: FunctionId,
        _t_ns: u64,
        reason: DestroyReason,
        alive_ns: u64,
        busy_ns: u64,
        provisioned: bool,
    ) {
        self.functions[f].sandbox_destroyed(reason, alive_ns, busy_ns, provisioned);
    }

    /// The hybrid keep-alive policy pre-warmed an environment (its creation is reported by `sandbox_created`).
    pub fn prewarm(&mut self, f: FunctionId, _t_ns: u64) {
        self.functions[f].counts.sandboxes.prewarms += 1;
    }

    /// A provisioned environment's init ran (billed; not on any request path).
    pub fn provisioned_init(&mut self, f: FunctionId, _t_ns: u64, init_ns: u64) {
        self.functions[f].provisioned_init(init_ns);
    }

    /// Called by the driver whenever a function's pool changes (after each event that changes it).
    #[inline]
    pub fn pool_state(&mut self, f: FunctionId, t_ns: u64, state: PoolState) {
        let fm = &mut self.functions[f];
        let prev = fm.timeline.state();
        fm.timeline.set_state(t_ns, state);
        fm.occupancy.set(t_ns, state);
        fm.peak_concurrency = fm.peak_concurrency.max(state.busy);
        self.total_state.replace(&prev, &state);
        self.total_peak = self.total_peak.max(self.total_state.busy);
        self.total_timeline.set_state(t_ns, self.total_state);
        self.total_occupancy.set(t_ns, self.total_state);
    }

    /// The report of a run that ended at `end_ns` (the last invocation finished). Timelines run to the bucket
    /// containing `end_ns − 1`; provisioned capacity is billed to `end_ns`.
    pub fn finish(mut self, end_ns: u64) -> RunReport {
        let last_ns = end_ns.saturating_sub(1);

        // Timelines: every one extended to the end, with one bucket width and one length.
        let mut timelines: Vec<&mut Timeline> =
            self.functions.iter_mut().map(|f| &mut f.timeline).collect();
        timelines.push(&mut self.total_timeline);
        for t in timelines.iter_mut() {
            t.extend_to(last_ns);
        }
        let width = timelines
            .iter()
            .map(|t| t.width_ns())
            .max()
            .unwrap_or(NS_PER_S);
        for t in timelines.iter_mut() {
            t.coarsen_to(width);
            // Drop trailing buckets past the end that only hold end-of-run teardown.
            t.trim_after(last_ns);
        }
        let len = timelines.iter().map(|t| t.len()).max().unwrap_or(0);
        for t in timelines.iter_mut() {
            t.pad_to(len);
        }
        let timeline_bucket_ns = width;

        // hlog intervals: one width for all, at most MAX_INTERVALS spanning the run.
        let mut iwidth = self
            .functions
            .iter()
            .map(|f| f.intervals.width_ns())
            .chain(self.total_intervals.iter().map(|(t, _)| t.width_ns()))
            .max()
            .unwrap_or(NS_PER_S);
        while end_ns.div_ceil(iwidth) > MAX_INTERVALS as u64 {
            iwidth *= 2;
        }
        for f in &mut self.functions {
            f.intervals.coarsen_to(iwidth);
        }
        if let Some((t, _)) = &mut self.total_intervals {
            t.coarsen_to(iwidth);
        }
        let ilen = self
            .functions
            .iter()
            .map(|f| f.intervals.len())
            .chain(self.total_intervals.iter().map(|(t, _)| t.len()))
            .chain([end_ns.div_ceil(iwidth) as usize])
            .max()
            .unwrap_or(0);

        let parts: Vec<ReportParts> = self
            .functions
            .into_iter()
            .map(|f| f.into_parts(end_ns, ilen))
            .collect();
        let mut counts = Counts::default();
        let total_latency = self.total_latency.take();
        let mut latency = LatencySeries::new();
        let mut gb_s = GbSeconds::default();
        let mut cost = Cost::default();
        let mut errors = std::collections::BTreeMap::<Box<str>, u64>::new();
        for p in &parts {
            counts.add(&p.counts);
            for (t, n) in &p.errors {
                *errors.entry(t.clone()).or_default() += n;
            }
            if total_latency.is_none() {
                latency.merge(&p.latency);
            }
            gb_s.add(&p.gb_s);
            cost.add(&p.cost);
        }
        let intervals = match self.total_intervals {
            Some((t, _)) => t.into_slots(ilen),
            None => {
                let slots: Vec<_> = parts.iter().map(|p| p.intervals.as_slice()).collect();
                sum_slots(&slots, ilen)
            }
        };
        let total = ReportParts {
            name: "total".to_string(),
            config: None,
            counts,
            peak_concurrency: self.total_peak,
            occupancy: self.total_occupancy.report(end_ns),
            latency: total_latency.unwrap_or(latency),
            gb_s,
            cost,
            timeline: self.total_timeline.into_buckets(),
            intervals,
            provisioned_changes: Vec::new(),
            errors,
        }
        .into_report();

        RunReport {
            scenario: self.run.name,
            seed: self.run.seed,
            mode: self.run.mode,
            duration_ns: self.run.duration_ns,
            end_ns,
            not_lambda: self.run.not_lambda,
            timeline_bucket_ns,
            hlog_interval_ns: iwidth,
            functions: parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut r = p.into_report();
                    r.async_events = self.events.async_report(i);
                    r
                })
                .collect(),
            queues: self
                .events
                .queues
                .iter()
                .map(|q| q.report(timeline_bucket_ns, total.timeline.len()))
                .collect(),
            services: Vec::new(),
            total,
        }
    }
}
