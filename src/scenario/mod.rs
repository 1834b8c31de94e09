//! Scenario files (`scenarios/*.toml`): what to simulate — account settings, functions, event sources, traffic —
//! parsed and validated into plain values the model, the drivers and the traffic generator use.
//!
//! Times are nanoseconds (u64) everywhere after parsing. Every user error names the file, line and column, the
//! field, the value and the allowed range (see [`ScenarioError`]).
//!
//! Entry points: [`load`] / [`parse`] (the scenario as written), [`load_file`] / [`parse_file`] (with its
//! `[[variant]]`s), [`resolve_path`] (paths written in a scenario). Defaults are in [`defaults`]. The file has eight
//! kinds of table, all rejecting unknown keys:
//!
//! - `[simulation]`: `duration` (required), `name` (default: the file stem), `seed` (1), `mode` (`virtual` |
//!   `realtime`), `ns_per_fuel` (0, 1000], `memory_budget_mb` [64, 16777216] (default: half the machine's memory).
//! - `[account]`: `concurrency_limit` (1000), `unreserved_minimum` (only Lambda's min(100, limit)), `scaling`
//!   (`per-function` | `legacy`), `scaling_refill` (`continuous` | `stepwise`), `legacy_burst` (500 | 1000 |
//!   3000, legacy only), `keep_alive_memory_mb`
//!   (128–10,240,000,000 MB; required by and only used for `greedy-dual` keep-alive).
//! - `[not_lambda]` (experiments that leave Lambda's rules, named in every report): `unreserved_minimum`
//!   (0–limit), `request_rate_limit` (true; `false` lifts the 10 synchronous requests per second per environment).
//! - `[[function]]`: `name`, `code` (required), `memory_mb`, `timeout`, `reserved_concurrency`,
//!   `provisioned_concurrency`, `provisioned_allocation_delay`, `keep_alive` (`{ policy = "lambda" }` (default),
//!   `{ policy = "none" }`, `{ policy = "fixed", duration }`, `{ policy = "hybrid", fallback = "10m",
//!   min_samples = 10 }` or `{ policy = "greedy-dual" }`; see `docs/mitigations.md`), `max_lifetime` (a duration
//!   or `"none"`), `architecture`, `cold_start = { placement_ms, download_mbps }`, `snapshot` (false; not with
//!   provisioned concurrency), `warmer = { every, concurrency = 1, payload }`, at most one of
//!   `provisioned_schedule = [{ at, count }, …]` and `provisioned_autoscaling = { min, max, target = 0.7,
//!   scale_out_datapoints = 3, scale_in_datapoints = 15 }` (see `docs/mitigations.md`), and
//!   `event_invoke_config = { maximum_retry_attempts = 2 (0–2), maximum_event_age = "6h" (60 s–6 h), on_success,
//!   on_failure }` (destinations are labels, 1–64 of `A-Za-z0-9-_`) for `Event` invocations.
//! - `[[queue]]` (a simulated SQS standard queue): `name` (required, unique, 1–80 of `A-Za-z0-9-_`),
//!   `visibility_timeout` (30 s; 0 s–12 h), `message_retention` (4 days; 60 s–14 days), and together or not at all
//!   `dead_letter_queue` (another `[[queue]]`) and `max_receive_count` (1–1000).
//! - `[[event_source]]` (an SQS event source mapping): `queue`, `function` (required; one mapping per pair; the
//!   function's timeout must not exceed the queue's visibility timeout), `batch_size` (10; 1–10,000, above 10 only
//!   with a batching window ≥ 1 s), `batching_window` (0 s; 0–300 s), `maximum_concurrency` (none; 2–1000),
//!   `report_batch_item_failures` (false), `enabled` (true).
//! - `[[traffic]]`: exactly one of `function` and `queue` (a queue phase sends messages whose body is the payload),
//!   `pattern` (required), `start`, `duration`, the pattern's own fields (`rate`; `from_rate`, `to_rate`; `count`,
//!   `window`; `steps`; `mean_rate`, `amplitude`, `period`; `users`, `think_time_ms`; `file`), `invocation`
//!   (`request_response` (default) | `event`; function phases only; `closed_loop` needs `request_response`), and
//!   at most one of `payload`, `payload_file`, `payload_template`.
//! - `[[service]]` (a simulated downstream service, see `services.rs`): `name` (required, unique), `latency_ms` (a
//!   distribution, required), `error_rate` (0; 0–1), `connections = { model = "per_sandbox", limit }` or
//!   `{ model = "proxy", pool, max_client_connections, borrow_timeout = "120s" }`.
//! - `[trace]` (replay a public Azure Functions trace, see `trace.rs` and `docs/traces.md`): `format`
//!   (`azure-2019` | `azure-2021`), the files (`invocations`, `durations`, `memory` for 2019; `file` for 2021),
//!   `spread` (2019), `triggers`, `apps`, `owners`, `top`, `sample`, `start`, `end`, `speedup`,
//!   `default_duration`, and `[trace.function]`, a template of any `[[function]]` key but `name`.
//! - `[[variant]]`: `name`, `description`, and overrides `account.<key>`, `function.<name>.<key>`,
//!   `traffic.<index>.<key>`, `queue.<name>.<key>`, `event_source.<index>.<key>` (see `variants.rs`).
//!
//! A function's `warmer` becomes a traffic phase of pings (to the function, `RequestResponse`) after the file's own
//! phases.
//!
//! Durations are humantime strings (`"90s"`, `"1h 30m"`, `"250ms"`) or numbers of seconds. Distributions are tables
//! `{ distribution = "constant" | "uniform" | "exponential" | "normal" | "lognormal" | "empirical", … }`.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::model::spec::{
    Account, Distribution, KeepAlivePolicy, ScalingModel, ScalingRefill, TargetTracking,
};

/// A parsed, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from (for messages and for resolving relative paths).
    pub path: PathBuf,
    pub simulation: Simulation,
    pub account: Account,
    /// Rules of Lambda the scenario leaves on purpose (`[not_lambda]`); default: none.
    pub not_lambda: NotLambda,
    /// Functions in file order; a function's index here is its `FunctionId` everywhere else.
    pub functions: Vec<FunctionSpec>,
    /// Traffic phases in file order, then one per warmer.
    pub traffic: Vec<TrafficPhase>,
    /// Simulated SQS standard queues in file order; a queue's index here is its id everywhere else.
    pub queues: Vec<QueueSpec>,
    /// SQS event source mappings in file order.
    pub event_sources: Vec<EventSourceSpec>,
    /// Simulated downstream services in file order (`[[service]]`); handlers call them by name.
    pub services: Vec<crate::model::services::ServiceSpec>,
    /// A replayed public trace (`[trace]`); its functions are at the end of `functions`.
    pub trace: Option<TraceSpec>,
}

impl Scenario {
    /// Whether anything in the scenario goes through an event source: a queue (queue phases need one), a mapping
    /// or an `Event` phase.
    pub fn uses_events(&self) -> bool {
        !self.queues.is_empty()
            || !self.event_sources.is_empty()
            || self
                .traffic
                .iter()
                .any(|t| t.invocation == InvocationType::Event)
    }
}

#[derive(Debug, Clone)]
pub struct Simulation {
    pub name: String,
    /// Arrivals stop at this time; invocations in flight still finish.
    pub duration_ns: u64,
    pub seed: u64,
    /// Whether the seed was given (`[simulation] seed`, or `--seed`) rather than the default: `serve` draws a
    /// fresh one per start when it was not, so request ids never repeat across restarts.
    pub seed_given: bool,
    pub mode: Mode,
    /// Virtual CPU cost of one unit of fuel at one vCPU, picoseconds (`ns_per_fuel` in the file).
    pub ps_per_fuel: u64,
    /// Host memory the run's live environments may hold, MB (`None`: half the machine's; see
    /// `crate::lifecycle::memory`).
    pub memory_budget_mb: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Virtual,
    Realtime,
}

/// `runtime`: which Lambda runtime's start-up an Init pays before the function's own init code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeChoice {
    /// Not set: `provided.al2023` for a compiled handler (a core module or a component of compiled code); none
    /// for a Python or JavaScript handler, whose interpreter starts inside the sandbox and is measured there.
    #[default]
    Auto,
    /// `runtime = "none"`: no start-up beyond the sandbox's own init.
    Off,
    Preset(crate::model::runtime::Runtime),
}

impl RuntimeChoice {
    /// The preset in force for a handler that does (`interpreter_in_sandbox`) or does not run its own
    /// interpreter inside the sandbox.
    pub fn resolve(self, interpreter_in_sandbox: bool) -> Option<crate::model::runtime::Runtime> {
        match self {
            RuntimeChoice::Auto if !interpreter_in_sandbox => {
                Some(crate::model::runtime::Runtime::ProvidedAl2023)
            }
            RuntimeChoice::Auto | RuntimeChoice::Off => None,
            RuntimeChoice::Preset(r) => Some(r),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl From<Architecture> for crate::model::runtime::Arch {
    fn from(a: Architecture) -> Self {
        match a {
            Architecture::X86_64 => crate::model::runtime::Arch::X86_64,
            Architecture::Arm64 => crate::model::runtime::Arch::Arm64,
        }
    }
}

/// The platform overheads of a cold start that Lambda reports nowhere but clients see.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStartOverhead {
    /// Placement and microVM boot, milliseconds.
    pub placement_ms: Distribution,
    /// Code download bandwidth: a module of N bytes adds N / bandwidth.
    pub download_bytes_per_s: u64,
    /// `runtime_startup_ms`: the runtime's start-up within Init Duration drawn from this distribution (ms) in
    /// place of the `runtime` preset's.
    pub runtime_startup_ms: Option<Distribution>,
}

impl ColdStartOverhead {
    /// How long a cold start spends downloading a deployment package of `package_bytes`.
    pub fn download_ns(&self, package_bytes: u64) -> u64 {
        let bw = self.download_bytes_per_s.max(1);
        u64::try_from(u128::from(package_bytes) * 1_000_000_000 / u128::from(bw))
            .unwrap_or(u64::MAX)
    }
}

#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    /// A guest crate directory or a .wasm/.wat file, resolved against the scenario file's directory if relative and
    /// not found from the current directory.
    pub code: PathBuf,
    /// Lambda's Handler setting (`module.function`) for Python code; `None`: Lambda's console default
    /// (`lambda_function.lambda_handler`, or `<file>.lambda_handler` for a single `.py` file).
    pub handler: Option<String>,
    pub memory_mb: u64,
    pub timeout_ns: u64,
    pub reserved_concurrency: Option<u32>,
    pub provisioned_concurrency: u32,
    /// Time from scenario start until provisioned environments begin their init (Lambda: "a minute or two").
    pub provisioned_allocation_delay_ns: u64,
    pub keep_alive: KeepAlivePolicy,
    /// Environments are recycled this long after creation, even when busy (after the current invocation).
    pub max_lifetime_ns: Option<u64>,
    pub architecture: Architecture,
    /// The Lambda runtime whose start-up each Init pays (`runtime`).
    pub runtime: RuntimeChoice,
    pub cold_start: ColdStartOverhead,
    /// Snapshot restore (SnapStart analog): init runs once at deploy time and cold starts restore the snapshot.
    pub snapshot: bool,
    /// Periodic ping invocations that keep environments warm.
    pub warmer: Option<Warmer>,
    /// Scheduled actions setting provisioned concurrency (time from the start, count), in time order.
    pub provisioned_schedule: Vec<(u64, u32)>,
    /// Target tracking of provisioned concurrency utilization (Application Auto Scaling).
    pub provisioned_autoscaling: Option<TargetTracking>,
    /// How `Event` (asynchronous) invocations are retried and where their records go.
    pub event_invoke_config: EventInvokeConfig,
    /// The function's environment variables (`environment`), besides those Lambda sets.
    pub environment: BTreeMap<String, String>,
}

/// A function's asynchronous invocation configuration (`PutFunctionEventInvokeConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInvokeConfig {
    /// Retries after a function error or timeout, 0–2 (default 2).
    pub maximum_retry_attempts: u32,
    /// An event older than this is discarded (to the on-failure destination), 60 s–6 h (default 6 h).
    pub maximum_event_age_ns: u64,
    /// Destination of records of events that succeeded: a label naming the output (1–64 of `A-Za-z0-9-_`).
    pub on_success: Option<String>,
    /// Destination of records of events that failed for good.
    pub on_failure: Option<String>,
}

/// A simulated SQS standard queue (`[[queue]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    /// A received message stays invisible this long unless deleted (0 s–12 h, default 30 s).
    pub visibility_timeout_ns: u64,
    /// Messages older than this are deleted unread (60 s–14 days, default 4 days).
    pub retention_ns: u64,
    /// Redrive policy: the queue (index into `Scenario::queues`) that receives messages received more than
    /// `max_receive_count` times. Both or neither are set.
    pub dead_letter_queue: Option<usize>,
    /// 1–1000.
    pub max_receive_count: Option<u32>,
}

/// An SQS event source mapping (`[[event_source]]`): Lambda polls `queue` and invokes `function` with batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSourceSpec {
    /// Index into `Scenario::queues`.
    pub queue: usize,
    /// Index into `Scenario::functions`.
    pub function: usize,
    /// Most messages per batch, 1–10,000 (default 10).
    pub batch_size: u32,
    /// How long to gather a batch (`MaximumBatchingWindowInSeconds`), 0–300 s (default 0).
    pub batching_window_ns: u64,
    /// Most concurrent invocations of this mapping, 2–1,000 (default: none beyond the pollers' own 1,250).
    pub maximum_concurrency: Option<u32>,
    /// `FunctionResponseTypes: ["ReportBatchItemFailures"]`: a response may name the failed messages.
    pub report_batch_item_failures: bool,
    /// A disabled mapping does not poll.
    pub enabled: bool,
}

/// A warmer (like serverless-plugin-warmup): every `every_ns`, `concurrency` simultaneous pings with `payload`.
#[derive(Debug, Clone, PartialEq)]
pub struct Warmer {
    pub every_ns: u64,
    pub concurrency: u32,
    pub payload: String,
}

/// How a traffic phase's requests are invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Synchronous: the caller waits for the response (Lambda's default).
    RequestResponse,
    /// Asynchronous: the event is queued, the caller gets 202 at once and Lambda retries on failure.
    Event,
}

/// Where a traffic phase's requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Invoke the function (index into `Scenario::functions`).
    Function(usize),
    /// Send a message (the payload is its body) to the queue (index into `Scenario::queues`).
    Queue(usize),
}

impl Target {
    /// The function invoked directly, if this is a function target.
    pub fn function(self) -> Option<usize> {
        match self {
            Target::Function(f) => Some(f),
            Target::Queue(_) => None,
        }
    }
}

/// One `[[traffic]]` block.
#[derive(Debug, Clone)]
pub struct TrafficPhase {
    pub target: Target,
    pub start_ns: u64,
    /// End of the phase (exclusive), at most the simulation's duration.
    pub end_ns: u64,
    pub pattern: Pattern,
    pub payload: PayloadSpec,
    pub invocation: InvocationType,
    /// Warmer pings (generated from a function's `warmer`), reported apart from real traffic.
    pub ping: bool,
}

impl TrafficPhase {
    /// The function this phase invokes directly (`None` for a queue phase).
    pub fn function(&self) -> Option<usize> {
        self.target.function()
    }
}

/// Arrival processes. Rates are requests per second.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// Evenly spaced arrivals.
    Constant { rate: f64 },
    /// Exponential inter-arrival times.
    Poisson { rate: f64 },
    /// Poisson with the rate changing linearly from `from_rate` to `to_rate` over the phase.
    Ramp { from_rate: f64, to_rate: f64 },
    /// `count` requests at the phase start (window 0) or spread uniformly within `window_ns`.
    Spike { count: u64, window_ns: u64 },
    /// Poisson with a piecewise-constant rate: each (offset from phase start, rate) holds until the next.
    Step { steps: Vec<(u64, f64)> },
    /// Poisson with rate mean + amplitude × sin(2π t / period) (clamped at 0): diurnal load.
    Sine {
        mean_rate: f64,
        amplitude: f64,
        period_ns: u64,
    },
    /// `users` virtual users, each sending a request, waiting for its response, then thinking (ms distribution).
    ClosedLoop {
        users: u32,
        think_time_ms: Distribution,
    },
    /// `count` requests at the same instant every `every_ns`, from the phase start (a warmer's pings).
    Periodic { every_ns: u64, count: u32 },
    /// Timestamps (seconds from phase start) read from a CSV file; an optional column names a payload file.
    Replay { file: PathBuf },
}

/// The event each request carries.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadSpec {
    /// Fixed JSON text (inline or read from a file at load time).
    Fixed(String),
    /// A JSON template whose fields may be drawn from seeded distributions per request.
    Template(PayloadTemplate),
}

/// A JSON value in which some leaves are distributions.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadTemplate {
    Literal(serde_json::Value),
    Object(Vec<(String, PayloadTemplate)>),
    /// A sampled number; rounded to an integer when `integer` is set.
    Sample {
        distribution: Distribution,
        integer: bool,
    },
}

/// A scenario that cannot be used, with where and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}{}: {message}", position(*.line, *.column))]
pub struct ScenarioError {
    pub file: String,
    /// 1-based; 0 when the error has no position (e.g. a missing file).
    pub line: usize,
    pub column: usize,
    /// Names the field, the value and the allowed range.
    pub message: String,
}

/// `:line:column`, or nothing for an error without a position (a file that cannot be read).
fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

pub mod defaults;
mod distribution;
mod environment;
mod error;
mod events;
mod functions;
mod load;
mod mitigations;
mod node;
mod not_lambda;
mod phases;
mod raw;
mod services;
mod settings;
mod template;
mod trace;
mod values;
mod variants;

#[cfg(test)]
mod tests;

pub use load::{load, load_file, parse, parse_file, resolve_path};
pub use not_lambda::NotLambda;
pub use phases::MAX_USERS;
pub use settings::MEMORY_BUDGET_MB;
pub(crate) use trace::trace_error;
pub use trace::{TraceFormat, TraceFunction, TraceSpec};
pub use values::MAX_RATE;
pub use variants::{ScenarioFile, Variant};

impl Scenario {
    /// A scenario of one function and no traffic, for invoking a handler by hand (`lambda-sim invoke`): Lambda's
    /// default account, the environment kept warm between invocations (no idle reclamation, no maximum lifetime),
    /// and no modelled placement, download or runtime start-up time, so a cold start shows just the handler's own
    /// init (or a restore).
    pub fn single_function(function: SingleFunction) -> Scenario {
        let SingleFunction {
            name,
            code,
            handler,
            memory_mb,
            timeout_ns,
            snapshot,
            seed,
            ps_per_fuel,
            mode,
        } = function;
        Scenario {
            path: code.clone(),
            simulation: Simulation {
                name: name.clone(),
                duration_ns: u64::MAX / 4,
                seed,
                seed_given: true,
                mode,
                ps_per_fuel,
                memory_budget_mb: None,
            },
            account: Account {
                concurrency_limit: defaults::CONCURRENCY_LIMIT,
                unreserved_minimum: defaults::UNRESERVED_MINIMUM,
                requests_per_environment: Some(defaults::REQUESTS_PER_ENVIRONMENT),
                scaling_refill: ScalingRefill::Continuous,
                scaling: ScalingModel::PerFunction {
                    environments: defaults::PER_FUNCTION_ENVIRONMENTS,
                    window_ns: defaults::PER_FUNCTION_WINDOW_NS,
                },
                keep_alive_memory_mb: None,
            },
            not_lambda: NotLambda::default(),
            functions: vec![FunctionSpec {
                name,
                code,
                handler,
                memory_mb,
                timeout_ns,
                reserved_concurrency: None,
                provisioned_concurrency: 0,
                provisioned_allocation_delay_ns: defaults::PROVISIONED_ALLOCATION_DELAY_NS,
                keep_alive: KeepAlivePolicy::Fixed {
                    idle_ns: u64::MAX / 4,
                },
                max_lifetime_ns: None,
                architecture: Architecture::X86_64,
                runtime: RuntimeChoice::Off,
                cold_start: ColdStartOverhead {
                    placement_ms: Distribution::Constant { value: 0.0 },
                    download_bytes_per_s: u64::MAX,
                    runtime_startup_ms: None,
                },
                snapshot,
                warmer: None,
                provisioned_schedule: Vec::new(),
                provisioned_autoscaling: None,
                event_invoke_config: EventInvokeConfig::default(),
                environment: BTreeMap::new(),
            }],
            traffic: Vec::new(),
            queues: Vec::new(),
            event_sources: Vec::new(),
            services: Vec::new(),
            trace: None,
        }
    }
}

/// The settings of [`Scenario::single_function`].
#[derive(Debug, Clone)]
pub struct SingleFunction {
    pub name: String,
    /// A `.wasm`/`.wat` file or a guest crate.
    pub code: PathBuf,
    /// Lambda's Handler setting (Python code).
    pub handler: Option<String>,
    pub memory_mb: u64,
    pub timeout_ns: u64,
    pub snapshot: bool,
    pub seed: u64,
    pub ps_per_fuel: u64,
    pub mode: Mode,
}
