//! Metrics of a run: latency histograms (HdrHistogram, 3 significant digits), outcome and throttle counters, a
//! per-second timeline, and cost. Drivers feed it events; `finish` turns it into a [`crate::report::RunReport`].
//!
//! Pure bookkeeping: no clock, no I/O, no HashMap iteration — the same events give the same report, byte for byte.
//!
//! Files, one concept each: `run` ([`RunMetrics`], the driver-facing API and `finish`), `function` (one
//! function's accumulators), `histograms` (HdrHistogram series), `timeline` (per-second buckets), `intervals`
//! (hlog interval histograms), `occupancy` (time-averaged environments), `cost` (prices and billing rules).

mod cold_start;
mod cost;
mod events;
mod function;
mod histograms;
mod intervals;
mod occupancy;
mod run;
#[cfg(test)]
mod run_tests;
mod services;
mod timeline;

pub use cold_start::ColdStartParts;
pub use cost::{
    ARM64_PRICES, PC_BILLING_INCREMENT_NS, Prices, SNAPSHOT_CACHE_GB_S, SNAPSHOT_CACHE_MIN_NS,
    SNAPSHOT_RESTORE_GB, X86_64_PRICES, provisioned_capacity_seconds, snapshot_cache_seconds,
};
pub use events::EventFailure;
pub use histograms::{MAX_BILLED_MS, MAX_LATENCY_US, SIGFIG};
pub use intervals::MAX_INTERVALS;
pub use run::RunMetrics;
pub use services::ServiceMetrics;
pub use timeline::MAX_BUCKETS;

use crate::model::Outcome;
pub use crate::model::PoolState;

/// How an invocation found its execution environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartKind {
    /// Reused an idle on-demand environment.
    Warm,
    /// Created a new on-demand environment (placement, code download, init).
    Cold,
    /// Ran on an initialized provisioned-concurrency environment (no init on the request path).
    Provisioned,
}

/// One finished invocation, as a driver saw it.
#[derive(Debug, Clone)]
pub struct InvocationSample {
    /// When the request arrived.
    pub arrival_ns: u64,
    /// When the response was ready: end-to-end latency = end − arrival.
    pub end_ns: u64,
    pub start: StartKind,
    /// A cold start's modelled pieces before the guest's code (placement, download, runtime start-up); `None` when
    /// warm. Boxed: a sample is moved several times on every invocation's path, and only cold ones carry this.
    pub parts: Option<Box<ColdStartParts>>,
    /// The Init Duration, for cold starts whose init ran before the invocation.
    pub init_ns: Option<u64>,
    /// The Restore Duration, for cold starts restored from a snapshot (no init on the request path).
    pub restore_ns: Option<u64>,
    /// The REPORT Duration.
    pub duration_ns: u64,
    /// The REPORT Billed Duration, ms (includes init).
    pub billed_ms: u64,
    pub outcome: Outcome,
    /// The `errorType` of a failed invocation (`None` on success).
    pub error_type: Option<Box<str>>,
    pub peak_memory_bytes: u64,
}

impl InvocationSample {
    /// A sample from a call report: the REPORT fields, and the end time the driver observed.
    pub fn from_report(
        arrival_ns: u64,
        end_ns: u64,
        start: StartKind,
        parts: Option<Box<ColdStartParts>>,
        init_ns: Option<u64>,
        report: &crate::sandbox::CallReport,
    ) -> Self {
        InvocationSample {
            arrival_ns,
            end_ns,
            start,
            parts,
            init_ns,
            restore_ns: None,
            duration_ns: report.duration_ns,
            billed_ms: crate::logfmt::billed_ms(report.duration_ns, init_ns),
            outcome: report.outcome,
            error_type: report.error.as_ref().map(|e| e.error_type.as_str().into()),
            peak_memory_bytes: report.peak_memory_bytes,
        }
    }
}
