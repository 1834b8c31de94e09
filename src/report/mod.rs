//! Reports of a run: the terminal summary, the JSON report and the HdrHistogram interval log.
//!
//! A [`RunReport`] is built by [`crate::metrics::RunMetrics::finish`]. It holds one [`FunctionReport`] per
//! function (scenario order) and one aggregated over all functions ([`RunReport::total`]), the per-second
//! timelines and the interval histograms for the hlog.
//!
//! - [`RunReport::to_json`]: deterministic JSON (fixed field order, no hash maps, stable float formatting):
//!   the same events always give the same bytes. Shape documented in `json.rs`.
//! - [`RunReport::summary`]: plain-text tables for a terminal, at most 100 columns.
//! - [`RunReport::write_hlog`]: a standard HdrHistogram interval log (`.hlog`) of end-to-end latency.

mod events;
mod events_json;
mod hlog;
pub mod html;
mod json;
mod services;
mod summary;
#[cfg(test)]
mod tests;
mod types;

use hdrhistogram::Histogram;

use crate::scenario::Mode;

pub use events::{AsyncReport, QueueBucket, QueueReport};
pub use services::{ServiceBucket, ServiceReport};
pub use types::*;

/// Significant decimal digits of every histogram a report carries (a run of many functions keeps fewer per
/// function, see `crate::metrics`).
pub const SIGFIG: u8 = 3;

/// Everything measured about one function, or about all functions together (the total).
#[derive(Debug, Clone)]
pub struct FunctionReport {
    /// The function's name; `"total"` for the aggregate.
    pub name: String,
    /// The function's configuration; `None` for the total.
    pub config: Option<FunctionConfig>,
    pub arrivals: u64,
    pub outcomes: OutcomeCounts,
    /// Failed invocations by `errorType` (`Runtime.OutOfMemory`, `Sandbox.Timedout`, the handler's own …), in
    /// name order.
    pub errors: std::collections::BTreeMap<String, u64>,
    pub throttles: ThrottleCounts,
    /// Invocations that created a new on-demand environment.
    pub cold_starts: u64,
    /// Invocations that reused an idle on-demand environment.
    pub warm_starts: u64,
    /// Invocations that ran on a provisioned environment.
    pub provisioned_starts: u64,
    /// Warmer pings, apart from the real traffic every other figure describes (except cost, which includes them).
    pub pings: PingCounts,
    /// Asynchronous (`Event`) invocations, when the function had any (each attempt is also counted above).
    pub async_events: Option<AsyncReport>,
    /// Highest number of busy environments at any moment (for the total: of all functions at once).
    pub peak_concurrency: u32,
    /// Mean busy, idle and alive environments over the run (exact time integrals), utilisation, and the
    /// time-weighted distribution of the number busy.
    pub occupancy: Occupancy,
    pub sandboxes: SandboxCounts,
    pub latency: LatencySummary,
    pub histograms: HistogramSet,
    pub gb_s: GbSeconds,
    pub cost: Cost,
    pub conservation: Conservation,
    /// Per-bucket timeline; every function and the total have the same length and bucket width
    /// ([`RunReport::timeline_bucket_ns`]).
    pub timeline: Vec<TimelineBucket>,
    /// Changes of the configured provisioned concurrency during the run — scheduled actions, target tracking,
    /// the control plane — as (time, new count); empty for the total.
    pub provisioned_changes: Vec<(u64, u32)>,
    /// End-to-end latency (µs) per hlog interval of [`RunReport::hlog_interval_ns`], by invocation end time;
    /// `None` where no invocation ended.
    pub intervals: Vec<Option<Histogram<u64>>>,
}

impl FunctionReport {
    /// Cold starts as a fraction of invocations that ran (0 when none ran).
    pub fn cold_start_ratio(&self) -> f64 {
        let started = self.cold_starts + self.warm_starts + self.provisioned_starts;
        if started == 0 {
            0.0
        } else {
            self.cold_starts as f64 / started as f64
        }
    }
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The scenario's name.
    pub scenario: String,
    pub seed: u64,
    pub mode: Mode,
    /// The scenario's duration (arrivals stop).
    pub duration_ns: u64,
    /// When the run ended (the last invocation finished): cost and timelines run to here.
    pub end_ns: u64,
    /// Rules of Lambda the scenario leaves on purpose (`[not_lambda]`), one line each; empty on Lambda's rules.
    pub not_lambda: Vec<String>,
    /// Width of a timeline bucket: 1 s, doubled as often as needed to keep ≤ 100,000 buckets.
    pub timeline_bucket_ns: u64,
    /// Width of an hlog interval: 1 s, doubled as often as needed to keep ≤ 128 intervals.
    pub hlog_interval_ns: u64,
    /// One per function, in scenario order.
    pub functions: Vec<FunctionReport>,
    /// All functions together.
    pub total: FunctionReport,
    /// Simulated SQS queues, in scenario order.
    pub queues: Vec<QueueReport>,
    /// Simulated downstream services, in scenario order (filled in by the driver).
    pub services: Vec<ServiceReport>,
}

impl RunReport {
    /// Per-function reports, in scenario order.
    pub fn functions(&self) -> &[FunctionReport] {
        &self.functions
    }

    /// The report of the function called `name`.
    pub fn function(&self, name: &str) -> Option<&FunctionReport> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// All functions together.
    pub fn total(&self) -> &FunctionReport {
        &self.total
    }

    /// `"virtual"` or `"realtime"`.
    pub fn mode_str(&self) -> &'static str {
        mode_str(self.mode)
    }

    /// Whether every arrival — per function and in total — ended in exactly one outcome.
    pub fn conservation_ok(&self) -> bool {
        self.total.conservation.ok
            && self.functions.iter().all(|f| {
                f.conservation.ok && f.async_events.as_ref().is_none_or(|a| a.conservation_ok())
            })
            && self.queues.iter().all(QueueReport::conservation_ok)
    }

    /// The JSON report (see `json.rs` for the shape). Deterministic byte for byte.
    pub fn to_json(&self) -> String {
        json::to_json(self)
    }

    /// The terminal summary: per function and in total, latency percentiles, counts, conservation, cost.
    pub fn summary(&self) -> String {
        summary::summary(self)
    }

    /// Writes the HdrHistogram interval log of end-to-end latency (see `hlog.rs`).
    pub fn write_hlog<W: std::io::Write>(&self, w: W) -> std::io::Result<()> {
        hlog::write_hlog(self, w)
    }
}
