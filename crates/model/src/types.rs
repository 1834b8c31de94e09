//! Identifiers and verdicts the platform model shares with drivers and metrics.

/// A function: its index in the scenario's function list.
pub type FunctionId = usize;

/// An execution environment (sandbox), unique within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SandboxId(pub u64);

/// The `Reason` of a `TooManyRequestsException` (429).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThrottleReason {
    /// The account limit, or the unreserved pool for functions without reserved concurrency.
    ConcurrentInvocationLimitExceeded,
    /// The function's reserved concurrency is its cap.
    ReservedFunctionConcurrentInvocationLimitExceeded,
    /// Synchronous requests per second of a function without reserved concurrency: at most 10 per execution
    /// environment it may have (the unreserved pool).
    FunctionInvocationRateLimitExceeded,
    /// Synchronous requests per second of a function with reserved concurrency: at most 10 × its reservation.
    ReservedFunctionInvocationRateLimitExceeded,
}

impl ThrottleReason {
    /// Every Reason lambda-sim gives, in the order reports list them.
    pub const ALL: [ThrottleReason; 4] = [
        ThrottleReason::ConcurrentInvocationLimitExceeded,
        ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded,
        ThrottleReason::FunctionInvocationRateLimitExceeded,
        ThrottleReason::ReservedFunctionInvocationRateLimitExceeded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleReason::ConcurrentInvocationLimitExceeded => {
                "ConcurrentInvocationLimitExceeded"
            }
            ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded => {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            }
            ThrottleReason::FunctionInvocationRateLimitExceeded => {
                "FunctionInvocationRateLimitExceeded"
            }
            ThrottleReason::ReservedFunctionInvocationRateLimitExceeded => {
                "ReservedFunctionInvocationRateLimitExceeded"
            }
        }
    }
}

/// How a request reaches the platform: only synchronous requests count against the request-rate limit ("Async:
/// unlimited RPS"); Lambda's own async queue and event-source pollers invoke within concurrency alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeMode {
    /// A client's `RequestResponse` invocation (or a warmer's ping).
    Synchronous,
    /// Lambda invoking for an `Event` it queued or a message an event source mapping polled.
    Asynchronous,
}

/// Which limit produced a throttle (reports split them; the `Reason` alone cannot tell a scaling-rate throttle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThrottleCause {
    /// A concurrency cap (account, unreserved pool or reserved concurrency).
    Concurrency,
    /// The scaling rate: no new execution environment could be created yet.
    ScalingRate,
    /// The request-rate limit of synchronous invocations (10 per second per execution environment).
    RequestRate,
}

impl ThrottleCause {
    /// Every cause, in the order reports list them.
    pub const ALL: [ThrottleCause; 3] = [
        ThrottleCause::Concurrency,
        ThrottleCause::ScalingRate,
        ThrottleCause::RequestRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleCause::Concurrency => "concurrency",
            ThrottleCause::ScalingRate => "scaling_rate",
            ThrottleCause::RequestRate => "request_rate",
        }
    }
}

/// Why an execution environment went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DestroyReason {
    /// Idle past its keep-alive.
    KeepAlive,
    /// Evicted while idle to make room under the greedy-dual keep-alive memory budget.
    Evicted,
    /// Recycled at its maximum lifetime.
    MaxLifetime,
    /// Reset after a timeout, crash or out-of-memory error (or a failed init).
    Reset,
    /// Removed because provisioned concurrency was lowered or deleted.
    Deprovisioned,
    /// Still alive when the run ended.
    EndOfRun,
}

impl DestroyReason {
    /// Every reason, in report order.
    pub const ALL: [DestroyReason; 6] = [
        DestroyReason::KeepAlive,
        DestroyReason::Evicted,
        DestroyReason::MaxLifetime,
        DestroyReason::Reset,
        DestroyReason::Deprovisioned,
        DestroyReason::EndOfRun,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DestroyReason::KeepAlive => "keep_alive",
            DestroyReason::Evicted => "evicted",
            DestroyReason::MaxLifetime => "max_lifetime",
            DestroyReason::Reset => "reset",
            DestroyReason::Deprovisioned => "deprovisioned",
            DestroyReason::EndOfRun => "end_of_run",
        }
    }
}

/// A function's execution environments at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolState {
    /// Environments running an invocation: the function's concurrency.
    pub busy: u32,
    /// Initialized environments waiting for work (provisioned included).
    pub idle: u32,
    /// Environments being created or initialized.
    pub initializing: u32,
    /// Of `busy`, `idle` and `initializing`: the provisioned-concurrency environments.
    pub busy_provisioned: u32,
    pub idle_provisioned: u32,
    pub initializing_provisioned: u32,
}

impl PoolState {
    /// `self` with `old`'s counts replaced by `new`'s (a sum of pools, one of which changed).
    pub fn replace(&mut self, old: &PoolState, new: &PoolState) {
        let swap = |sum: u32, o: u32, n: u32| sum.saturating_sub(o).saturating_add(n);
        self.busy = swap(self.busy, old.busy, new.busy);
        self.idle = swap(self.idle, old.idle, new.idle);
        self.initializing = swap(self.initializing, old.initializing, new.initializing);
        self.busy_provisioned = swap(
            self.busy_provisioned,
            old.busy_provisioned,
            new.busy_provisioned,
        );
        self.idle_provisioned = swap(
            self.idle_provisioned,
            old.idle_provisioned,
            new.idle_provisioned,
        );
        self.initializing_provisioned = swap(
            self.initializing_provisioned,
            old.initializing_provisioned,
            new.initializing_provisioned,
        );
    }
}
