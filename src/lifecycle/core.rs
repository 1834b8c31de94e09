//! The state both drivers share, and the one interpreter of the platform model's actions.
//!
//! Every input to the model is followed, under the same access to the core, by taking the actions it produced
//! ([`Core::take_actions`]); they are carried out afterwards by [`apply_actions`], outside that access, so a task it
//! starts may itself use the core. In real time this keeps one request's decision from being taken by another
//! thread's drain.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Driver, RunTimer, Task};
use crate::metrics::RunMetrics;
use crate::model::runtime::Startup;
use crate::model::{
    Action, EnvironmentStart, FunctionId, Platform, RequestId, RequestToken, SandboxId,
    ThrottleCause, ThrottleReason,
};
use crate::sandbox::{InitializationType, SandboxError};
use crate::sources::{OutputError, Sources};

/// Why a run could not go on: lambda-sim's failure, never the guest's.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("sandbox failure")]
    Sandbox(#[from] SandboxError),
    /// A run output (destination records) could not be written.
    #[error("cannot write run output")]
    Output(#[from] OutputError),
    /// A new environment would take the run past its memory budget.
    #[error(transparent)]
    MemoryBudget(#[from] super::memory::MemoryBudgetExceeded),
    /// A guest call suspended on something that is not a service call, which virtual time cannot wait for.
    #[error("a handler of function {function:?} is suspended with nothing to resume it")]
    Stuck { function: String },
}

/// How request ids are made: in order from the seed (virtual time, reproducible), or drawn (real time).
pub enum RequestIds {
    Sequence { seed: u64, issued: u64 },
    Random(Box<StdRng>),
}

impl RequestIds {
    fn next(&mut self) -> RequestId {
        match self {
            RequestIds::Sequence { seed, issued } => {
                *issued += 1;
                RequestId::nth(*seed, *issued)
            }
            RequestIds::Random(rng) => RequestId::from_random(rng.random()),
        }
    }
}

/// The platform model, metrics, idle environments and event sources of a run.
pub struct Core {
    pub model: Platform,
    pub metrics: RunMetrics,
    pub sources: Sources,
    /// Environments that are not running a call, by the slab slot of their model id.
    environments: Vec<Option<(SandboxId, Box<super::Environment>)>>,
    /// Functions whose pool state changed since it was last recorded.
    dirty: Vec<FunctionId>,
    ids: RequestIds,
    tokens: u64,
    /// A spare buffer for [`Core::take_actions`].
    spare: Vec<Action>,
}

impl Core {
    pub fn new(model: Platform, metrics: RunMetrics, sources: Sources, ids: RequestIds) -> Self {
        Core {
            model,
            metrics,
            sources,
            environments: Vec::new(),
            dirty: Vec::new(),
            ids,
            tokens: 0,
            spare: Vec::new(),
        }
    }

    /// Request ids seeded per run: in order (virtual time) or drawn from a seeded generator (real time).
    pub fn sequential_ids(seed: u64) -> RequestIds {
        RequestIds::Sequence { seed, issued: 0 }
    }

    pub fn random_ids(seed: u64) -> RequestIds {
        RequestIds::Random(Box::new(StdRng::seed_from_u64(seed)))
    }

    pub(crate) fn next_request_id(&mut self) -> RequestId {
        self.ids.next()
    }

    pub(crate) fn next_token(&mut self) -> RequestToken {
        self.tokens += 1;
        self.tokens
    }

    /// Everything the model decided since the last call, to carry out with [`apply_actions`].
    pub fn take_actions(&mut self) -> Vec<Action> {
        let mut actions = std::mem::take(&mut self.spare);
        while let Some(a) = self.model.poll_action() {
            actions.push(a);
        }
        actions
    }

    pub(crate) fn touched(&mut self, f: FunctionId) {
        self.dirty.push(f);
    }

    fn slot(id: SandboxId) -> usize {
        (id.0 & 0xffff_ffff) as usize
    }

    /// Keeps an environment that is not running a call.
    pub(crate) fn put_environment(&mut self, id: SandboxId, env: Box<super::Environment>) {
        let slot = Self::slot(id);
        if self.environments.len() <= slot {
            self.environments.resize_with(slot + 1, || None);
        }
        self.environments[slot] = Some((id, env));
    }

    pub(crate) fn take_environment(&mut self, id: SandboxId) -> Option<Box<super::Environment>> {
        match self.environments.get_mut(Self::slot(id)) {
            Some(entry) if entry.as_ref().is_some_and(|(i, _)| *i == id) => {
                entry.take().map(|(_, env)| env)
            }
            _ => None,
        }
    }

    /// Records the pool state of every function touched since the last call.
    fn record_pool_states(&mut self, now: u64) {
        while let Some(f) = self.dirty.pop() {
            if !self.dirty.contains(&f) {
                let state = self.model.pool_state(f);
                self.metrics.pool_state(f, now, state);
            }
        }
    }
}

/// How the model routed a request.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    Throttle {
        reason: ThrottleReason,
        cause: ThrottleCause,
    },
    /// Run on this idle, initialized environment.
    Warm {
        sandbox: SandboxId,
        provisioned: bool,
    },
    /// Create this environment and make it ready as `start` says: its placement and code download take
    /// `overhead_ns`.
    Cold {
        sandbox: SandboxId,
        overhead_ns: u64,
        start: EnvironmentStart,
    },
}

/// The request being routed by a drain, if any: its token and whether it is a warmer's ping.
#[derive(Debug, Clone, Copy)]
pub struct Routing {
    pub token: RequestToken,
    pub ping: bool,
}

/// The platform model for a deployed scenario: each function's rules from its settings and its code.
pub fn platform(
    scenario: &crate::scenario::Scenario,
    deployment: &crate::deploy::Deployment,
) -> Platform {
    let rules = scenario
        .functions
        .iter()
        .zip(deployment.codes.iter().zip(&deployment.snapshots))
        .map(|(f, (code, snapshot))| {
            let info = code.info();
            let mut rules = function_rules(f, info.download_bytes());
            rules.snapshot_restore_ns = snapshot.as_ref().map(|s| s.restore_ns());
            if let Some(custom) = &f.cold_start.runtime_startup_ms {
                rules.runtime_startup = Some(Startup::Custom(custom.clone()));
            } else if let Some(runtime) = f.runtime.resolve(info.interpreter_in_sandbox()) {
                let arch = f.architecture.into();
                rules.runtime_startup = Some(Startup::Measured(runtime.startup(arch)));
                rules.snapstart_restore = runtime.snapstart_restore(arch, f.memory_mb);
            }
            rules
        })
        .collect();
    Platform::new(scenario.account.clone(), rules, scenario.simulation.seed)
}

/// The settings of `spec` the model's rules read; `wasm_bytes` is the deployment package's size (its code download time).
fn function_rules(
    spec: &crate::scenario::FunctionSpec,
    wasm_bytes: u64,
) -> crate::model::FunctionRules {
    crate::model::FunctionRules {
        reserved: spec.reserved_concurrency,
        provisioned: spec.provisioned_concurrency,
        allocation_delay_ns: spec.provisioned_allocation_delay_ns,
        keep_alive: spec.keep_alive.clone(),
        max_lifetime_ns: spec.max_lifetime_ns,
        memory_mb: spec.memory_mb,
        placement_ms: spec.cold_start.placement_ms.clone(),
        download_ns: spec.cold_start.download_ns(wasm_bytes),
        schedule: spec.provisioned_schedule.clone(),
        autoscaling: spec.provisioned_autoscaling,
        timeout_ns: spec.timeout_ns,
        snapshot_restore_ns: None,
        runtime_startup: None,
        snapstart_restore: None,
    }
}

/// Carries out `actions` (taken with [`Core::take_actions`]) at `now`, then records the pool state of the functions
/// they touched. Returns the route of the request being routed, if one was among them.
pub fn apply_actions<D: Driver>(
    d: &D,
    now: u64,
    mut actions: Vec<Action>,
    routing: Option<Routing>,
) -> Option<Route> {
    let mut route = None;
    let mine = |request: RequestToken| routing.is_some_and(|r| r.token == request);
    for action in actions.drain(..) {
        match action {
            Action::RunWarm {
                request,
                sandbox,
                provisioned,
            } if mine(request) => {
                route = Some(Route::Warm {
                    sandbox,
                    provisioned,
                })
            }
            Action::ColdStart {
                request,
                sandbox,
                function,
                overhead_ns,
                start,
            } if mine(request) => {
                let mut core = d.core();
                core.metrics.sandbox_created(function, now, false);
                core.touched(function);
                route = Some(Route::Cold {
                    sandbox,
                    overhead_ns,
                    start,
                });
            }
            Action::Throttle {
                request,
                function,
                reason,
                cause,
            } if mine(request) => {
                let mut core = d.core();
                if routing.is_some_and(|r| r.ping) {
                    core.metrics.ping_throttled(function, now);
                } else {
                    core.metrics.throttled(function, now, reason, cause);
                }
                route = Some(Route::Throttle { reason, cause });
            }
            Action::RunWarm { .. } | Action::ColdStart { .. } | Action::Throttle { .. } => {
                // The model routes a request only in answer to its arrival, which drains its own actions.
                tracing::error!("the platform model routed a request that is not being routed");
            }
            Action::Provision {
                sandbox,
                function,
                overhead_ns,
                start,
            } => {
                {
                    let mut core = d.core();
                    core.metrics.sandbox_created(function, now, true);
                    core.touched(function);
                }
                d.spawn(Task::Provision {
                    sandbox,
                    function,
                    overhead_ns,
                    kind: InitializationType::ProvisionedConcurrency,
                    start,
                });
            }
            Action::Prewarm {
                sandbox,
                function,
                overhead_ns,
                start,
            } => {
                {
                    let mut core = d.core();
                    core.metrics.sandbox_created(function, now, false);
                    core.metrics.prewarm(function, now);
                    core.touched(function);
                }
                d.spawn(Task::Provision {
                    sandbox,
                    function,
                    overhead_ns,
                    kind: InitializationType::OnDemand,
                    start,
                });
            }
            Action::Destroy {
                sandbox,
                function,
                reason,
                provisioned,
                created_ns,
                busy_ns,
            } => {
                let env = d.core().take_environment(sandbox);
                drop(env);
                super::services::sandbox_destroyed(d, now, sandbox);
                let mut core = d.core();
                core.metrics.sandbox_destroyed(
                    function,
                    now,
                    reason,
                    now.saturating_sub(created_ns),
                    busy_ns,
                    provisioned,
                );
                core.touched(function);
            }
            Action::SetTimer { at_ns, timer } => d.set_timer(at_ns, RunTimer::Platform(timer)),
            Action::ProvisionedConfigured { function, count } => {
                d.core()
                    .metrics
                    .provisioned_configured(function, now, count);
            }
        }
    }
    let mut core = d.core();
    core.spare = actions;
    core.record_pool_states(now);
    route
}

/// Runs `input` on the model at the driver's time and carries out what it decided (the control-plane API changes
/// reserved and provisioned concurrency this way).
pub fn with_model<D: Driver, R>(d: &D, input: impl FnOnce(&mut Platform, u64) -> R) -> R {
    let now = d.now();
    let (r, actions) = {
        let mut core = d.core();
        let r = input(&mut core.model, now);
        (r, core.take_actions())
    };
    apply_actions(d, now, actions, None);
    r
}

/// A timer set by [`Driver::set_timer`] fired.
pub fn timer_fired<D: Driver>(d: &D, timer: RunTimer) {
    let now = d.now();
    match timer {
        RunTimer::Platform(timer) => {
            let actions = {
                let mut core = d.core();
                core.model.timer(now, timer);
                core.take_actions()
            };
            apply_actions(d, now, actions, None);
        }
        RunTimer::Source(timer) => {
            d.core().sources.timer(now, timer);
            super::events::apply_source_work(d, now);
        }
        RunTimer::Services => super::services::timer(d, now),
    }
}

/// Starts a run: provisioned concurrency is scheduled and the event sources' pollers start.
pub fn start<D: Driver>(d: &D) {
    let now = d.now();
    let actions = {
        let mut core = d.core();
        core.model.start(now);
        core.take_actions()
    };
    apply_actions(d, now, actions, None);
    d.core().sources.start(now);
    super::events::apply_source_work(d, now);
}

/// Ends a run: every environment still alive is reported as destroyed now.
pub fn end<D: Driver>(d: &D) {
    let now = d.now();
    let actions = {
        let mut core = d.core();
        core.model.end();
        core.take_actions()
    };
    apply_actions(d, now, actions, None);
}
