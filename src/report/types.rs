//! The plain values a [`super::RunReport`] is made of: counts, percentiles, GB-seconds, cost, conservation,
//! configuration echo and timeline buckets. All fields are public; the JSON shape is fixed in `json.rs`.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::model::Outcome;
use crate::model::{DestroyReason, ThrottleCause, ThrottleReason};
use crate::scenario::{Architecture, Mode};

/// The snake_case name of an architecture, as reports print it.
pub fn architecture_str(a: Architecture) -> &'static str {
    match a {
        Architecture::X86_64 => "x86_64",
        Architecture::Arm64 => "arm64",
    }
}

/// The name of a run mode, as reports print it.
pub fn mode_str(m: Mode) -> &'static str {
    match m {
        Mode::Virtual => "virtual",
        Mode::Realtime => "realtime",
    }
}

/// What a report echoes about the run itself.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The scenario's name (`[simulation] name`).
    pub name: String,
    pub seed: u64,
    pub mode: Mode,
    /// The scenario's duration: arrivals stop here (in-flight invocations finish after it).
    pub duration_ns: u64,
    /// Rules of Lambda the scenario leaves on purpose (`[not_lambda]`), one line each; empty on Lambda's rules.
    pub not_lambda: Vec<String>,
}

/// A function's configuration, echoed in the report (and used for cost).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    pub name: String,
    pub memory_mb: u64,
    pub architecture: Architecture,
    pub reserved_concurrency: Option<u32>,
    pub provisioned_concurrency: u32,
    /// When provisioned environments start initializing (and PC capacity billing starts).
    pub provisioned_allocation_delay_ns: u64,
    /// Size of the function's deployment package: its WebAssembly module, or a Python or JavaScript function's own code.
    pub code_bytes: u64,
    /// Snapshot restore (SnapStart analog) is on: cold starts restore, and the snapshot cache is billed.
    pub snapshot: bool,
}

/// Environments averaged over time: exact integrals over the run divided by its length (SimFaaS's "average
/// server count" figures). `alive` = busy + idle + initializing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Occupancy {
    pub mean_busy: f64,
    pub mean_idle: f64,
    pub mean_initializing: f64,
    pub mean_alive: f64,
    /// Of the above, provisioned-concurrency environments (on-demand = all − provisioned).
    pub mean_busy_provisioned: f64,
    pub mean_idle_provisioned: f64,
    pub mean_alive_provisioned: f64,
    /// mean busy ÷ mean alive (0 when nothing was alive).
    pub utilisation: f64,
    /// P(n busy): the share of the run's time with `from..=to` busy environments (single counts up to 255; wider
    /// bins above, so that there are at most 256), in order; bins never visited are left out.
    pub busy_distribution: Vec<BusyShare>,
}

/// One bin of [`Occupancy::busy_distribution`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BusyShare {
    pub from: u32,
    pub to: u32,
    pub share: f64,
}

/// How arrivals ended. Every arrival ends in exactly one of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub success: u64,
    pub function_error: u64,
    pub timeout: u64,
    pub out_of_memory: u64,
    pub crash: u64,
    /// Rejected with a 429 (never ran, never billed).
    pub throttled: u64,
    /// Still running when a real-time run or `serve` shut down, past its bound: cut off with no result (a
    /// simulator's outcome, not Lambda's; absent from the JSON when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub cut_at_shutdown: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl OutcomeCounts {
    /// The count of one invocation outcome.
    pub fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Success => self.success,
            Outcome::FunctionError => self.function_error,
            Outcome::Timeout => self.timeout,
            Outcome::OutOfMemory => self.out_of_memory,
            Outcome::Crash => self.crash,
        }
    }

    pub(crate) fn record(&mut self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Success => &mut self.success,
            Outcome::FunctionError => &mut self.function_error,
            Outcome::Timeout => &mut self.timeout,
            Outcome::OutOfMemory => &mut self.out_of_memory,
            Outcome::Crash => &mut self.crash,
        };
        *slot += 1;
    }

    /// Invocations that ran (everything but throttles): the billed requests.
    pub fn invoked(&self) -> u64 {
        self.success + self.function_error + self.timeout + self.out_of_memory + self.crash
    }

    /// All outcomes, throttles included: equals arrivals when conservation holds.
    pub fn total(&self) -> u64 {
        self.invoked() + self.throttled + self.cut_at_shutdown
    }

    /// `(name, count)` in report order: success, function_error, timeout, out_of_memory, crash, throttled,
    /// cut_at_shutdown.
    pub fn entries(&self) -> [(&'static str, u64); 7] {
        [
            ("success", self.success),
            ("function_error", self.function_error),
            ("timeout", self.timeout),
            ("out_of_memory", self.out_of_memory),
            ("crash", self.crash),
            ("throttled", self.throttled),
            ("cut_at_shutdown", self.cut_at_shutdown),
        ]
    }

    pub(crate) fn add(&mut self, o: &Self) {
        self.success += o.success;
        self.function_error += o.function_error;
        self.timeout += o.timeout;
        self.out_of_memory += o.out_of_memory;
        self.crash += o.crash;
        self.throttled += o.throttled;
        self.cut_at_shutdown += o.cut_at_shutdown;
    }
}

/// Throttles (429s), split by the `Reason` the client sees and by the limit that caused them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleCounts {
    /// `Reason: ConcurrentInvocationLimitExceeded`
    pub concurrent_invocation_limit: u64,
    /// `Reason: ReservedFunctionConcurrentInvocationLimitExceeded`
    pub reserved_function_concurrent_invocation_limit: u64,
    /// `Reason: FunctionInvocationRateLimitExceeded`
    pub function_invocation_rate_limit: u64,
    /// `Reason: ReservedFunctionInvocationRateLimitExceeded`
    pub reserved_function_invocation_rate_limit: u64,
    /// Caused by a concurrency cap (account, unreserved pool, reserved concurrency).
    pub cause_concurrency: u64,
    /// Caused by the scaling rate (no new environment could be created yet).
    pub cause_scaling_rate: u64,
    /// Caused by the request-rate limit of synchronous requests.
    pub cause_request_rate: u64,
}

impl ThrottleCounts {
    pub fn reason(&self, r: ThrottleReason) -> u64 {
        match r {
            ThrottleReason::ConcurrentInvocationLimitExceeded => self.concurrent_invocation_limit,
            ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded => {
                self.reserved_function_concurrent_invocation_limit
            }
            ThrottleReason::FunctionInvocationRateLimitExceeded => {
                self.function_invocation_rate_limit
            }
            ThrottleReason::ReservedFunctionInvocationRateLimitExceeded => {
                self.reserved_function_invocation_rate_limit
            }
        }
    }

    pub fn cause(&self, c: ThrottleCause) -> u64 {
        match c {
            ThrottleCause::Concurrency => self.cause_concurrency,
            ThrottleCause::ScalingRate => self.cause_scaling_rate,
            ThrottleCause::RequestRate => self.cause_request_rate,
        }
    }

    pub fn total(&self) -> u64 {
        self.concurrent_invocation_limit
            + self.reserved_function_concurrent_invocation_limit
            + self.function_invocation_rate_limit
            + self.reserved_function_invocation_rate_limit
    }

    pub(crate) fn record(&mut self, r: ThrottleReason, c: ThrottleCause) {
        match r {
            ThrottleReason::ConcurrentInvocationLimitExceeded => {
                self.concurrent_invocation_limit += 1
            }
            ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded => {
                self.reserved_function_concurrent_invocation_limit += 1
            }
            ThrottleReason::FunctionInvocationRateLimitExceeded => {
                self.function_invocation_rate_limit += 1
            }
            ThrottleReason::ReservedFunctionInvocationRateLimitExceeded => {
                self.reserved_function_invocation_rate_limit += 1
            }
        }
        match c {
            ThrottleCause::Concurrency => self.cause_concurrency += 1,
            ThrottleCause::ScalingRate => self.cause_scaling_rate += 1,
            ThrottleCause::RequestRate => self.cause_request_rate += 1,
        }
    }

    pub(crate) fn add(&mut self, o: &Self) {
        self.concurrent_invocation_limit += o.concurrent_invocation_limit;
        self.reserved_function_concurrent_invocation_limit +=
            o.reserved_function_concurrent_invocation_limit;
        self.function_invocation_rate_limit += o.function_invocation_rate_limit;
        self.reserved_function_invocation_rate_limit += o.reserved_function_invocation_rate_limit;
        self.cause_concurrency += o.cause_concurrency;
        self.cause_scaling_rate += o.cause_scaling_rate;
        self.cause_request_rate += o.cause_request_rate;
    }
}

/// Warmer pings (see `docs/mitigations.md`): counted apart from real traffic — they are in no latency histogram,
/// outcome or start count — but billed like any invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PingCounts {
    /// Pings sent.
    pub sent: u64,
    /// Pings that created a new environment (a cold start the warmer paid for).
    pub cold_starts: u64,
    /// Pings that found an idle environment (on-demand or provisioned).
    pub warm_starts: u64,
    pub throttled: u64,
    /// Pings whose invocation failed (function error, timeout, out of memory, crash).
    pub failed: u64,
}

impl PingCounts {
    pub(crate) fn add(&mut self, o: &Self) {
        self.sent += o.sent;
        self.cold_starts += o.cold_starts;
        self.warm_starts += o.warm_starts;
        self.throttled += o.throttled;
        self.failed += o.failed;
    }
}

/// Execution environments created and destroyed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SandboxCounts {
    /// All environments created (provisioned included).
    pub created: u64,
    pub created_provisioned: u64,
    pub destroyed_keep_alive: u64,
    /// Evicted under the greedy-dual keep-alive memory budget.
    pub destroyed_evicted: u64,
    pub destroyed_max_lifetime: u64,
    pub destroyed_reset: u64,
    pub destroyed_end_of_run: u64,
    pub destroyed_deprovisioned: u64,
    /// Provisioned environments among the destroyed.
    pub destroyed_provisioned: u64,
    /// Inits run by provisioned environments (off the request path, billed).
    pub provisioned_inits: u64,
    /// On-demand environments pre-warmed by the hybrid keep-alive policy (included in `created`).
    pub prewarms: u64,
}

impl SandboxCounts {
    pub fn destroyed(&self, r: DestroyReason) -> u64 {
        match r {
            DestroyReason::KeepAlive => self.destroyed_keep_alive,
            DestroyReason::Evicted => self.destroyed_evicted,
            DestroyReason::MaxLifetime => self.destroyed_max_lifetime,
            DestroyReason::Reset => self.destroyed_reset,
            DestroyReason::EndOfRun => self.destroyed_end_of_run,
            DestroyReason::Deprovisioned => self.destroyed_deprovisioned,
        }
    }

    pub fn destroyed_total(&self) -> u64 {
        self.destroyed_keep_alive
            + self.destroyed_evicted
            + self.destroyed_max_lifetime
            + self.destroyed_reset
            + self.destroyed_end_of_run
            + self.destroyed_deprovisioned
    }

    pub(crate) fn record_destroyed(&mut self, r: DestroyReason, provisioned: bool) {
        match r {
            DestroyReason::KeepAlive => self.destroyed_keep_alive += 1,
            DestroyReason::Evicted => self.destroyed_evicted += 1,
            DestroyReason::MaxLifetime => self.destroyed_max_lifetime += 1,
            DestroyReason::Reset => self.destroyed_reset += 1,
            DestroyReason::EndOfRun => self.destroyed_end_of_run += 1,
            DestroyReason::Deprovisioned => self.destroyed_deprovisioned += 1,
        }
        if provisioned {
            self.destroyed_provisioned += 1;
        }
    }

    pub(crate) fn add(&mut self, o: &Self) {
        self.created += o.created;
        self.created_provisioned += o.created_provisioned;
        self.destroyed_keep_alive += o.destroyed_keep_alive;
        self.destroyed_evicted += o.destroyed_evicted;
        self.destroyed_max_lifetime += o.destroyed_max_lifetime;
        self.destroyed_reset += o.destroyed_reset;
        self.destroyed_end_of_run += o.destroyed_end_of_run;
        self.destroyed_deprovisioned += o.destroyed_deprovisioned;
        self.destroyed_provisioned += o.destroyed_provisioned;
        self.provisioned_inits += o.provisioned_inits;
        self.prewarms += o.prewarms;
    }
}

/// Summary statistics of one histogram, in milliseconds rounded to 3 decimals (all 0 when `count` is 0).
///
/// Percentiles are HdrHistogram's (3 significant digits: within 0.1 %), clamped to the exact observed
/// minimum and maximum; `max` and `mean` are exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
}

/// Percentiles of end-to-end latency (all, cold, warm = warm + provisioned), init duration and billed duration.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    pub all: Percentiles,
    pub cold: Percentiles,
    pub warm: Percentiles,
    pub init: Percentiles,
    pub billed: Percentiles,
    /// Restore Duration of cold starts restored from a snapshot.
    pub restore: Percentiles,
    /// Cold starts taken apart (not kept per function in a run of many functions; the total has them).
    pub cold_start: Option<ColdStartSummary>,
}

/// The pieces of cold-start latency, each over the cold starts: placement + download + Init Duration (runtime
/// start-up + the function's init code) or Restore Duration + the invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ColdStartSummary {
    pub placement: Percentiles,
    pub download: Percentiles,
    /// The runtime's start-up within Init Duration.
    pub runtime: Percentiles,
    /// The function's own init code: Init Duration minus the runtime's start-up.
    pub function_init: Percentiles,
    /// The REPORT Duration of the cold invocation itself.
    pub invocation: Percentiles,
}

/// The raw HdrHistograms (3 significant digits). Latency and init in microseconds, billed duration in
/// milliseconds.
#[derive(Debug, Clone)]
pub struct HistogramSet {
    pub all: Histogram<u64>,
    pub cold: Histogram<u64>,
    pub warm: Histogram<u64>,
    pub init: Histogram<u64>,
    pub billed: Histogram<u64>,
    /// Restore Duration, microseconds.
    pub restore: Histogram<u64>,
}

/// Compute usage in GB-seconds (memory GB × seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GbSeconds {
    /// Billed duration of on-demand invocations (cold-start init included).
    pub on_demand: f64,
    /// Billed duration of invocations on provisioned environments.
    pub provisioned_invocations: f64,
    /// Init of provisioned environments.
    pub provisioned_init: f64,
    /// Provisioned capacity held (rounded up to 5-minute increments).
    pub provisioned_capacity: f64,
    /// Time on-demand environments were alive but not running an invocation (not billed).
    pub idle_on_demand: f64,
    /// Time provisioned environments were alive but not running an invocation (covered by capacity).
    pub idle_provisioned: f64,
    /// Snapshot cache billed: memory GB × the run's duration, at least 3 hours (SnapStart's minimum).
    pub snapshot_cache: f64,
    /// Snapshot restores, in GB: memory GB per restore (a quantity in GB, not GB-s).
    pub snapshot_restored_gb: f64,
}

impl GbSeconds {
    pub(crate) fn add(&mut self, o: &Self) {
        self.on_demand += o.on_demand;
        self.provisioned_invocations += o.provisioned_invocations;
        self.provisioned_init += o.provisioned_init;
        self.provisioned_capacity += o.provisioned_capacity;
        self.idle_on_demand += o.idle_on_demand;
        self.idle_provisioned += o.idle_provisioned;
        self.snapshot_cache += o.snapshot_cache;
        self.snapshot_restored_gb += o.snapshot_restored_gb;
    }
}

/// Cost in USD at us-east-1 tier-1 prices, without the free tier.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    /// $0.20 per 1M invocations (throttles are not billed).
    pub requests: f64,
    /// On-demand duration.
    pub duration: f64,
    /// Provisioned concurrency capacity.
    pub provisioned_capacity: f64,
    /// Duration of invocations on provisioned environments plus their init, at the PC duration price.
    pub provisioned_duration: f64,
    /// Snapshot cache (SnapStart): per GB-s of memory for the run, minimum 3 hours.
    pub snapshot_cache: f64,
    /// Snapshot restores (SnapStart): per GB of memory restored.
    pub snapshot_restore: f64,
    pub total: f64,
}

impl Cost {
    pub(crate) fn add(&mut self, o: &Self) {
        self.requests += o.requests;
        self.duration += o.duration;
        self.provisioned_capacity += o.provisioned_capacity;
        self.provisioned_duration += o.provisioned_duration;
        self.snapshot_cache += o.snapshot_cache;
        self.snapshot_restore += o.snapshot_restore;
        self.total += o.total;
    }
}

/// Arrivals against outcomes: every arrival must end in exactly one outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Conservation {
    pub arrivals: u64,
    pub outcomes_total: u64,
    pub ok: bool,
}

impl Conservation {
    pub fn new(arrivals: u64, outcomes_total: u64) -> Self {
        Conservation {
            arrivals,
            outcomes_total,
            ok: arrivals == outcomes_total,
        }
    }
}

/// One timeline bucket (one second unless the run was long enough to coarsen it; see the metrics docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimelineBucket {
    /// Arrivals in the bucket.
    pub arrivals: u64,
    /// Cold starts whose request arrived in the bucket.
    pub cold_starts: u64,
    /// Throttles in the bucket.
    pub throttles: u64,
    /// Warmer pings sent in the bucket (not counted in `arrivals`).
    pub pings: u64,
    /// Highest concurrency (busy environments) at any moment of the bucket.
    pub max_concurrency: u32,
    /// Environments alive (busy + idle + initializing) at the end of the bucket.
    pub alive: u32,
    /// Idle environments at the end of the bucket.
    pub idle: u32,
}

impl TimelineBucket {
    /// Folds the bucket right after this one into it (coarsening): counts add, maxima max, end-of-bucket
    /// values come from the later one.
    pub(crate) fn absorb_later(&mut self, later: &Self) {
        self.arrivals += later.arrivals;
        self.cold_starts += later.cold_starts;
        self.throttles += later.throttles;
        self.pings += later.pings;
        self.max_concurrency = self.max_concurrency.max(later.max_concurrency);
        self.alive = later.alive;
        self.idle = later.idle;
    }
}
