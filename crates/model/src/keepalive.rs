//! Keep-alive policies that learn from traffic: the hybrid histogram policy (Shahrad et al., "Serverless in the
//! Wild", USENIX ATC '20, §4.2) and greedy-dual keep-alive caching (Fuerst & Sharma, "FaasCache", ASPLOS '21).
//!
//! Pure bookkeeping for [`super::Platform`]: idle-time histograms, pre-warm and keep-alive windows, greedy-dual
//! priorities and the eviction order. Integers only (no floats, no hash maps), so the same inputs always give the
//! same decisions.
//!
//! # Hybrid histogram
//!
//! An idle time (IT) of a function is the time from the moment none of its invocations is running (the end of the
//! last one) to its next arrival. Arrivals while an invocation is running give no IT. Each function keeps a
//! histogram of its ITs: [`BINS`] bins of one minute (four hours) and a count of ITs beyond that range
//! (out of bounds). When an on-demand environment becomes idle the policy reads the histogram:
//!
//! - pre-warm window = lower edge of the bin holding the 5th percentile × 0.9, rounded down to whole minutes;
//! - keep-alive window = upper edge of the bin holding the 99th percentile × 1.1, rounded up to whole minutes,
//!   minus the pre-warm window.
//!
//! The histogram is used only when it is representative; otherwise the policy falls back to a fixed keep-alive
//! ([`Fallback`]): fewer in-bounds ITs than `min_samples`, at least [`OOB_PERCENT`] % of ITs out of bounds (the
//! paper forecasts those with ARIMA; lambda-sim does not), or a coefficient of variation (population standard
//! deviation ÷ mean) of the 240 bin counts below [`CV_THRESHOLD`] (ITs spread so evenly that no window fits).
//!
//! # Greedy-dual
//!
//! Idle environments of greedy-dual functions stay warm without a time limit, as objects in a cache whose capacity
//! is the account's keep-alive memory budget. When a new environment would push the memory of alive environments
//! of greedy-dual functions over the budget, idle ones are evicted lowest priority first, where
//! priority = Clock + Frequency × Cost ÷ Size: Clock is the cache's clock when the environment last became idle,
//! Frequency the function's requests so far, Cost its mean observed init duration (ns) and Size its memory (MB).
//! Each eviction sets the clock to the evicted priority, so environments that sat idle across evictions age.

use super::pool::{EnvState, Slab};
use super::{FunctionId, SandboxId};
use crate::KeepAlivePolicy;
use crate::limits::NS_PER_S;

/// Width of one histogram bin: one minute.
pub const BIN_NS: u64 = 60 * NS_PER_S;
/// Bins of the idle-time histogram: 240 one-minute bins cover four hours.
pub const BINS: usize = 240;
/// Percentile of ITs at which an environment is pre-warmed (the histogram's head).
pub const HEAD_PERCENT: u64 = 5;
/// Percentile of ITs an environment is kept alive to (the histogram's tail).
pub const TAIL_PERCENT: u64 = 99;
/// Margins on the windows, tenths: the pre-warm comes at 0.9 × head, the keep-alive lasts to 1.1 × tail.
const HEAD_MARGIN_TENTHS: u64 = 9;
const TAIL_MARGIN_TENTHS: u64 = 11;
/// Below this coefficient of variation of the bin counts the histogram shows no pattern.
pub const CV_THRESHOLD: u64 = 2;
/// At or above this share of out-of-bounds ITs (percent) the histogram says too little.
pub const OOB_PERCENT: u64 = 50;
/// Cost of a function whose init nobody has observed yet, ns (lambda-sim's choice: a typical small init).
pub const DEFAULT_INIT_COST_NS: u64 = 100_000_000;

/// Why the hybrid policy used its fixed fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Fewer in-bounds idle times than `min_samples`.
    TooFewSamples,
    /// Too many idle times beyond the histogram's four hours.
    OutOfBounds,
    /// The bin counts vary too little (coefficient of variation below [`CV_THRESHOLD`]).
    NotRepresentative,
}

/// The hybrid policy's decision for an environment that just became idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Unload now and pre-warm a new environment this long after the function became idle (0: keep this one).
    pub prewarm_ns: u64,
    /// Then keep it alive this long.
    pub keep_alive_ns: u64,
}

/// A function's idle-time histogram: bounded (240 counters and one out-of-bounds count).
#[derive(Debug, Clone)]
pub struct IdleTimes {
    bins: Vec<u32>,
    in_bounds: u64,
    out_of_bounds: u64,
}

impl Default for IdleTimes {
    fn default() -> Self {
        IdleTimes {
            bins: vec![0; BINS],
            in_bounds: 0,
            out_of_bounds: 0,
        }
    }
}

impl IdleTimes {
    /// Counts one idle time.
    pub fn record(&mut self, it_ns: u64) {
        let bin = it_ns / BIN_NS;
        match self.bins.get_mut(bin as usize) {
            Some(count) if *count < u32::MAX => {
                *count += 1;
                self.in_bounds += 1;
            }
            Some(_) => {} // saturated: a u32 of one-minute ITs is ~8,000 years of traffic
            None => self.out_of_bounds += 1,
        }
    }

    pub fn in_bounds(&self) -> u64 {
        self.in_bounds
    }

    pub fn out_of_bounds(&self) -> u64 {
        self.out_of_bounds
    }

    /// The bin holding the `percent`th percentile of in-bounds idle times (the first bin where the cumulative
    /// count reaches `percent` % of them).
    pub fn percentile_bin(&self, percent: u64) -> Option<u64> {
        if self.in_bounds == 0 {
            return None;
        }
        let mut cumulative: u64 = 0;
        for (i, &count) in self.bins.iter().enumerate() {
            cumulative += u64::from(count);
            if cumulative * 100 >= percent * self.in_bounds {
                return Some(i as u64);
            }
        }
        Some(BINS as u64 - 1)
    }

    /// Whether the coefficient of variation of the bin counts is at least `threshold`. With n bins, sum S and
    /// sum of squares Q: CV² = nQ / S² − 1, so CV ≥ t exactly when nQ ≥ (1 + t²) S² (integers, no rounding).
    pub fn cv_at_least(&self, threshold: u64) -> bool {
        let n = BINS as u128;
        let s = u128::from(self.in_bounds);
        let q: u128 = self
            .bins
            .iter()
            .map(|&c| u128::from(c) * u128::from(c))
            .sum();
        let t = u128::from(threshold);
        n * q >= (1 + t * t) * s * s
    }

    /// The pre-warm and keep-alive windows, or why the histogram cannot be used.
    pub fn windows(&self, min_samples: u32) -> Result<Windows, Fallback> {
        let total = self.in_bounds + self.out_of_bounds;
        if total < u64::from(min_samples) || total == 0 {
            return Err(Fallback::TooFewSamples);
        }
        if self.out_of_bounds * 100 >= OOB_PERCENT * total {
            return Err(Fallback::OutOfBounds);
        }
        if self.in_bounds < u64::from(min_samples) {
            return Err(Fallback::TooFewSamples);
        }
        if !self.cv_at_least(CV_THRESHOLD) {
            return Err(Fallback::NotRepresentative);
        }
        let (Some(head), Some(tail)) = (
            self.percentile_bin(HEAD_PERCENT),
            self.percentile_bin(TAIL_PERCENT),
        ) else {
            return Err(Fallback::TooFewSamples);
        };
        // Minutes: the head bin's lower edge, less 10 % (floor); the tail bin's upper edge, plus 10 % (ceiling).
        let prewarm_min = head * HEAD_MARGIN_TENTHS / 10;
        let end_min = ((tail + 1) * TAIL_MARGIN_TENTHS).div_ceil(10);
        Ok(Windows {
            prewarm_ns: prewarm_min * BIN_NS,
            keep_alive_ns: (end_min - prewarm_min) * BIN_NS,
        })
    }
}

/// Counters of the learning keep-alive policies over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepAliveStats {
    /// Environments pre-warmed by the hybrid policy.
    pub prewarms: u64,
    /// Idle periods for which the hybrid policy used its fixed fallback.
    pub fallbacks: u64,
    /// Idle environments greedy-dual evicted to make room.
    pub evictions: u64,
    /// Environments created although they pushed greedy-dual memory over the budget (nothing idle to evict).
    pub overflows: u64,
}

/// What one function's traffic taught the policies.
#[derive(Debug, Clone, Default)]
struct FunctionHistory {
    /// Only for functions with the hybrid policy.
    idle_times: Option<IdleTimes>,
    /// Since when none of its invocations has been running.
    idle_since_ns: Option<u64>,
    /// Requests so far: greedy-dual's frequency, and the epoch that tells a pre-warm whether a request came first.
    arrivals: u64,
    init_total_ns: u128,
    inits: u64,
}

/// The learning keep-alive state of a platform.
#[derive(Debug, Clone)]
pub(super) struct KeepAlive {
    functions: Vec<FunctionHistory>,
    /// Greedy-dual's clock.
    pub(super) clock: u128,
    /// Memory of alive on-demand environments of greedy-dual functions, MB.
    pub(super) cached_mb: u64,
    pub(super) budget_mb: u64,
    pub(super) stats: KeepAliveStats,
}

impl KeepAlive {
    pub(super) fn new<'a>(
        policies: impl Iterator<Item = &'a KeepAlivePolicy>,
        budget_mb: Option<u64>,
    ) -> Self {
        let functions = policies
            .map(|p| FunctionHistory {
                idle_times: matches!(p, KeepAlivePolicy::Hybrid { .. }).then(IdleTimes::default),
                ..FunctionHistory::default()
            })
            .collect();
        KeepAlive {
            functions,
            clock: 0,
            cached_mb: 0,
            budget_mb: budget_mb.unwrap_or(u64::MAX),
            stats: KeepAliveStats::default(),
        }
    }

    /// A request for `f` arrived; `running`: some invocation of `f` is running. Ends an idle period.
    pub(super) fn arrival(&mut self, f: FunctionId, now_ns: u64, running: bool) {
        let h = &mut self.functions[f];
        h.arrivals += 1;
        if running {
            return;
        }
        if let (Some(since), Some(hist)) = (h.idle_since_ns.take(), h.idle_times.as_mut()) {
            hist.record(now_ns.saturating_sub(since));
        }
    }

    /// The last running invocation of `f` ended: an idle period starts.
    pub(super) fn function_idle(&mut self, f: FunctionId, now_ns: u64) {
        self.functions[f].idle_since_ns = Some(now_ns);
    }

    /// Requests for `f` so far.
    pub(super) fn arrivals(&self, f: FunctionId) -> u64 {
        self.functions[f].arrivals
    }

    pub(super) fn init_observed(&mut self, f: FunctionId, init_ns: u64) {
        let h = &mut self.functions[f];
        h.init_total_ns += u128::from(init_ns);
        h.inits += 1;
    }

    /// Greedy-dual's cost of `f`: its mean observed init duration.
    pub(super) fn cost_ns(&self, f: FunctionId) -> u128 {
        let h = &self.functions[f];
        match h.inits {
            0 => u128::from(DEFAULT_INIT_COST_NS),
            n => h.init_total_ns / u128::from(n),
        }
    }

    /// The hybrid policy's windows for `f` (a function with that policy).
    pub(super) fn windows(&self, f: FunctionId, min_samples: u32) -> Result<Windows, Fallback> {
        match &self.functions[f].idle_times {
            Some(hist) => hist.windows(min_samples),
            None => Err(Fallback::TooFewSamples),
        }
    }

    /// A function's idle-time histogram (hybrid functions only).
    pub(super) fn idle_times(&self, f: FunctionId) -> Option<&IdleTimes> {
        self.functions[f].idle_times.as_ref()
    }

    /// Greedy-dual priority of an idle environment of `f` that became idle at clock `clock`.
    pub(super) fn priority(&self, f: FunctionId, clock: u128, size_mb: u64) -> u128 {
        priority(clock, self.arrivals(f), self.cost_ns(f), size_mb)
    }

    /// Idle on-demand environments of greedy-dual functions, lowest priority first (ties: lower id first).
    /// `cached(f)` tells greedy-dual functions; `size_mb(f)` their memory.
    pub(super) fn eviction_order(
        &self,
        envs: &Slab,
        cached: impl Fn(FunctionId) -> bool,
        size_mb: impl Fn(FunctionId) -> u64,
    ) -> Vec<(u128, SandboxId)> {
        let mut order: Vec<(u128, SandboxId)> = envs
            .iter()
            .filter(|(_, e)| e.state == EnvState::Idle && !e.provisioned && cached(e.function))
            .map(|(id, e)| (self.priority(e.function, e.clock, size_mb(e.function)), id))
            .collect();
        order.sort_unstable();
        order
    }
}

/// Clock + Frequency × Cost ÷ Size (integer division of ns·requests by MB).
pub fn priority(clock: u128, frequency: u64, cost_ns: u128, size_mb: u64) -> u128 {
    clock + u128::from(frequency) * cost_ns / u128::from(size_mb.max(1))
}

#[cfg(test)]
#[path = "keepalive_tests.rs"]
mod tests;
