//! The invocation lifecycle, written once for both drivers: a request arrives → the platform model routes it
//! (throttle, warm, or cold) → a cold start places the environment, downloads the code and runs init or restores a
//! snapshot → the handler runs → the outcome is classified, logged and recorded → the environment is released.
//! Provisioned and pre-warmed environments, event sources and simulated service calls go through the same code.
//!
//! The code is `async` and generic over a [`Driver`], which supplies only time (`now`, `sleep_until`), the shared
//! state, and a way to run tasks and timers. The virtual-time driver (`crate::sim`) polls these futures on a
//! deterministic single-threaded executor whose clock is its event queue; the real-time driver (`crate::live`) runs
//! them on tokio. The Lambda rules themselves stay in the model (`crate::model`): this layer carries out its
//! decisions and reports back, nothing more.
//!
//! - [`core`]: the state both drivers share (model, metrics, environments, event sources) and the interpreter of
//!   the model's actions.
//! - [`environment`]: one execution environment — create, init or restore, invoke — and its service calls.
//! - [`request`]: a request from arrival to outcome.
//! - [`provision`]: environments made off any request's path (provisioned concurrency, pre-warms).
//! - [`services`]: simulated downstream services: the model decides a call, the lifecycle waits for its answer.
//! - [`events`]: async queues and SQS mappings feeding requests in and hearing how they ended.
//! - [`memory`]: the run's memory budget, which every live environment holds a share of.

pub mod core;
pub mod environment;
pub mod events;
pub mod memory;
pub mod provision;
pub mod request;
pub mod services;

use std::future::Future;
use std::ops::DerefMut;
use std::sync::Arc;
use std::task::Waker;

use bytes::Bytes;

pub use self::core::{Core, RunError};
pub use environment::{ColdStart, Environment};
pub use request::{InvocationRecord, Keep, NotRun, RequestOutcome};
pub use services::ServicesCore;

use crate::deploy::Deployment;
use crate::model::{FunctionId, SandboxId};
use crate::sandbox::{ClockMode, InitializationType};
use crate::scenario::Scenario;
use crate::sources::{Origin, SourceTimer};

/// What a run executes: the scenario and its deployed code, and the memory budget its environments share.
pub struct Run {
    pub scenario: Scenario,
    pub deployment: Deployment,
    pub memory: Arc<memory::MemoryBudget>,
}

impl Run {
    /// A run of `scenario` with its deployed code; its memory budget is the scenario's, or the default share of the
    /// machine's memory.
    pub fn new(scenario: Scenario, deployment: Deployment) -> Self {
        let limit = scenario
            .simulation
            .memory_budget_mb
            .map_or_else(memory::default_budget_bytes, |mb| mb << 20);
        let names = scenario.functions.iter().map(|f| f.name.clone()).collect();
        Run {
            memory: Arc::new(memory::MemoryBudget::new(limit, names)),
            scenario,
            deployment,
        }
    }

    /// Whether `f`'s handlers call services in this run: the run has services and `f`'s module imports
    /// `lambda.service_call`. Their guest calls can suspend.
    pub fn calls_services(&self, f: FunctionId) -> bool {
        !self.scenario.services.is_empty() && self.deployment.codes[f].info().calls_services
    }

    /// How long a cold start of `f` spends downloading its deployment package.
    pub fn download_ns(&self, f: FunctionId) -> u64 {
        self.scenario.functions[f]
            .cold_start
            .download_ns(self.deployment.codes[f].info().download_bytes())
    }
}

/// Why a run — in virtual or real time — could not complete.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// lambda-sim itself failed during the run.
    #[error("the run stopped")]
    Run(#[from] RunError),
    /// The simulated services could not be set up.
    #[error("cannot set up the simulated services")]
    Services(#[from] crate::model::services::ServiceConfigError),
    /// A request run on its own (`Sim::invoke`) was throttled.
    #[error("the invocation was throttled: {}", .0.as_str())]
    Throttled(crate::model::ThrottleReason),
}

/// A timer of the run: the platform model's, the event sources', or the services model's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTimer {
    Platform(crate::model::Timer),
    Source(SourceTimer),
    Services,
}

/// Work the lifecycle hands to the driver to run as a task of its own.
#[derive(Debug, Clone)]
pub enum Task {
    /// Create and initialize an environment off any request's path (provisioned concurrency or a pre-warm).
    Provision {
        sandbox: SandboxId,
        function: FunctionId,
        overhead_ns: u64,
        kind: InitializationType,
        /// As the model decided: init (with its limit), or a restore.
        start: crate::model::EnvironmentStart,
    },
    /// An event source's request (an async event's attempt or an SQS batch), routed and not throttled.
    SourceRequest {
        routed: request::Routed,
        payload: Bytes,
        origin: Origin,
    },
}

/// What the lifecycle needs from a driver: a clock, the shared state, and a way to run tasks and timers.
///
/// Guards returned by [`Driver::core`] and [`Driver::services`] must never be held across an `.await`.
pub trait Driver: Clone + 'static {
    /// A wait until a time (see [`Driver::sleep_until`]).
    type Sleep: Future<Output = ()>;
    /// Exclusive access to the shared state.
    type CoreGuard<'a>: DerefMut<Target = Core>
    where
        Self: 'a;
    type ServicesGuard<'a>: DerefMut<Target = ServicesCore>
    where
        Self: 'a;

    /// Now, in nanoseconds since the run started.
    fn now(&self) -> u64;

    /// Resumes at `at_ns` or, if that has passed, as soon as possible. The virtual-time driver resumes the task when
    /// its event queue reaches the time (after everything already queued for it, even for a time that has passed);
    /// the real-time driver sleeps.
    fn sleep_until(&self, at_ns: u64) -> Self::Sleep;

    /// Guest code may start at `at_ns`; returns the time it starts. Real time waits until then. Virtual time does
    /// not wait: a guest's code touches nothing shared, so it runs ahead of the event queue, told its start time,
    /// and only its interactions (service calls, the end of its call) wait for the queue.
    fn guest_starts_at(&self, at_ns: u64) -> impl Future<Output = u64>;

    /// Whether sandboxes run in virtual or real time.
    fn clock(&self) -> ClockMode;

    /// The run: scenario and deployment.
    fn run(&self) -> &Arc<Run>;

    fn core(&self) -> Self::CoreGuard<'_>;

    /// The simulated services, if the run has any.
    fn services(&self) -> Option<Self::ServicesGuard<'_>>;

    /// Runs `task` (the virtual-time driver starts it at once, in order).
    fn spawn(&self, task: Task);

    /// Calls [`core::timer_fired`] with `timer` at `at_ns`.
    fn set_timer(&self, at_ns: u64, timer: RunTimer);

    /// Wakes `waker` at `at_ns` (the answer time of a service call that waited for a connection).
    fn wake_at(&self, at_ns: u64, waker: Waker);

    /// A waker for the task being polled, for a future that waits on something the lifecycle itself will signal.
    fn waker(&self, cx: &std::task::Context<'_>) -> Waker;

    /// lambda-sim itself failed (not the guest): the virtual-time driver stops the run with this error; the
    /// real-time driver logs it and answers the request with a 500.
    fn system_error(&self, error: RunError);
}

/// Runs a task the lifecycle handed to [`Driver::spawn`].
pub async fn run_task<D: Driver>(d: D, task: Task) {
    match task {
        Task::Provision {
            sandbox,
            function,
            overhead_ns,
            kind,
            start,
        } => provision::provision(&d, sandbox, function, overhead_ns, kind, start).await,
        Task::SourceRequest {
            routed,
            payload,
            origin,
        } => events::source_request(&d, routed, payload, origin).await,
    }
}
