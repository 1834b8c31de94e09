//! The platform state machine: routing, concurrency accounting, scaling rate, provisioned concurrency, keep-alive
//! and maximum lifetime. Drivers feed it inputs with the current time and drain its [`Action`]s.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

mod autoscale;
mod control;
mod idle;

pub use control::{ConfigError, ProvisionedStatus};

use super::keepalive::KeepAlive;
use super::pool::{Env, EnvState, IdleDeque, Slab};
use super::scaling::{RequestRate, TokenBucket};
use super::{DestroyReason, FunctionId, InvokeMode, SandboxId, ThrottleCause, ThrottleReason};
use crate::{Account, KeepAlivePolicy, PoolState, ScalingModel};

/// A driver's handle on a request, passed back in the action that decides it.
pub type RequestToken = u64;

/// Something the model wants done or remembered.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Run the request on this idle, initialized environment.
    RunWarm {
        request: RequestToken,
        sandbox: SandboxId,
        provisioned: bool,
    },
    /// Create this environment, make it ready as `start` says, then run the request on it. `overhead_ns` is the
    /// modelled placement and code download time before its guest code starts. A failed on-demand init is retried
    /// inside the invocation, with the function's timeout, on a reset environment (a suppressed init).
    ColdStart {
        request: RequestToken,
        sandbox: SandboxId,
        function: FunctionId,
        overhead_ns: u64,
        start: EnvironmentStart,
    },
    /// Reject the request with a 429.
    Throttle {
        request: RequestToken,
        function: FunctionId,
        reason: ThrottleReason,
        cause: ThrottleCause,
    },
    /// Create and initialize a provisioned environment as `start` says, then report [`Platform::sandbox_ready`].
    /// Its init limit is not the on-demand 10 s but max(130 s, the function's timeout); a failed init is not
    /// retried.
    Provision {
        sandbox: SandboxId,
        function: FunctionId,
        overhead_ns: u64,
        start: EnvironmentStart,
    },
    /// Pre-warm (hybrid keep-alive): create an on-demand environment and make it ready as `start` says (a
    /// snapshot function's is restored) off any request's path, then report [`Platform::sandbox_ready`] (and
    /// [`Platform::init_observed`]).
    Prewarm {
        sandbox: SandboxId,
        function: FunctionId,
        overhead_ns: u64,
        start: EnvironmentStart,
    },
    /// The environment is gone: drop it (it is idle, or the driver already saw it reset).
    Destroy {
        sandbox: SandboxId,
        function: FunctionId,
        reason: DestroyReason,
        provisioned: bool,
        created_ns: u64,
        busy_ns: u64,
    },
    /// Call [`Platform::timer`] with `timer` at `at_ns`.
    SetTimer { at_ns: u64, timer: Timer },
    /// The function's configured provisioned concurrency is now `count` (billed from now on).
    ProvisionedConfigured { function: FunctionId, count: u32 },
}

/// How a new execution environment gets ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentStart {
    /// Start the runtime (`runtime_ns`, part of Init Duration), then instantiate the function's code and run its
    /// init; the whole Init phase within `limit_ns` (on demand: 10 s).
    Init { limit_ns: u64, runtime_ns: u64 },
    /// Restore the function's snapshot (SnapStart): no init runs, and the restore takes `restore_ns`.
    Restore { restore_ns: u64 },
}

/// A timer the model asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// An idle environment's keep-alive may have run out (it is checked, and re-armed if it was used since).
    KeepAlive { sandbox: SandboxId },
    /// An environment reached its maximum lifetime.
    MaxLifetime { sandbox: SandboxId },
    /// A function's provisioned concurrency starts allocating.
    AllocateProvisioned { function: FunctionId },
    /// Hybrid keep-alive: pre-warm an environment of `function`, kept alive `keep_alive_ns` from then, unless a
    /// request arrived since the decision (the function's request count is no longer `epoch`).
    Prewarm {
        function: FunctionId,
        epoch: u64,
        keep_alive_ns: u64,
    },
    /// The `index`-th scheduled action of `function`'s provisioned concurrency schedule.
    ScheduledProvisioned { function: FunctionId, index: usize },
    /// A minute of `function`'s provisioned concurrency utilization is over: target tracking evaluates it.
    EvaluateTargetTracking { function: FunctionId },
}

/// The settings of one function the model needs.
#[derive(Debug, Clone)]
pub struct FunctionRules {
    pub reserved: Option<u32>,
    pub provisioned: u32,
    pub allocation_delay_ns: u64,
    pub keep_alive: KeepAlivePolicy,
    pub max_lifetime_ns: Option<u64>,
    /// Memory size: greedy-dual keep-alive's size of an environment.
    pub memory_mb: u64,
    pub placement_ms: crate::Distribution,
    /// Code download time of a cold start (module size ÷ bandwidth).
    pub download_ns: u64,
    /// Scheduled provisioned concurrency changes: (time from start, count).
    pub schedule: Vec<(u64, u32)>,
    /// Target tracking of provisioned concurrency utilization.
    pub autoscaling: Option<crate::TargetTracking>,
    /// The function timeout (it bounds provisioned init: max(130 s, timeout)).
    pub timeout_ns: u64,
    /// With a snapshot (SnapStart), how long restoring it takes: on-demand environments are restored, not
    /// initialized.
    pub snapshot_restore_ns: Option<u64>,
    /// The runtime's own start-up within Init Duration (`runtime` presets); `None`: nothing beyond the sandbox's
    /// init (an interpreter compiled to wasm starts inside the sandbox, and is measured there).
    pub runtime_startup: Option<crate::runtime::Startup>,
    /// A measured SnapStart Restore Duration in place of `snapshot_restore_ns`, where the runtime has one.
    pub snapstart_restore: Option<crate::runtime::StartupTime>,
}

impl FunctionRules {
    /// How a new environment of this function gets ready: restored from its snapshot (on demand, when it has
    /// one), or initialized within `init_limit_ns` after its runtime starts. Draws from `rng` only what the
    /// function's settings make random.
    fn environment_start<R: rand::Rng>(
        &self,
        on_demand: bool,
        init_limit_ns: u64,
        rng: &mut R,
    ) -> EnvironmentStart {
        match self.snapshot_restore_ns {
            Some(restore_ns) if on_demand => EnvironmentStart::Restore {
                restore_ns: self
                    .snapstart_restore
                    .map_or(restore_ns, |t| t.sample_ns(rng)),
            },
            _ => EnvironmentStart::Init {
                limit_ns: init_limit_ns,
                runtime_ns: self
                    .runtime_startup
                    .as_ref()
                    .map_or(0, |t| t.sample_ns(rng)),
            },
        }
    }
}

#[derive(Debug, Default)]
struct FunctionState {
    /// Environments running an invocation (on-demand and provisioned) or starting cold for one.
    busy_on_demand: u32,
    busy_provisioned: u32,
    /// Provisioned environments in existence (initializing, idle or busy).
    provisioned_alive: u32,
    initializing_provisioned: u32,
    /// On-demand environments being pre-warmed (created and initializing off any request's path).
    prewarming: u32,
    idle_on_demand: IdleDeque,
    idle_provisioned: IdleDeque,
    /// Synchronous requests admitted under the request-rate limit.
    request_rate: RequestRate,
}

/// The platform.
pub struct Platform {
    account: Account,
    rules: Vec<FunctionRules>,
    state: Vec<FunctionState>,
    envs: Slab,
    /// Σ reserved concurrency.
    reserved_total: u32,
    /// Concurrency used by functions without reserved concurrency.
    unreserved_used: u32,
    scaling: Vec<TokenBucket>,
    legacy: Option<TokenBucket>,
    rng: StdRng,
    /// Runtime start-up and SnapStart restore draws: a stream of their own, so that choosing a runtime leaves
    /// every other draw (placement, keep-alive) as it was — variants that differ only in runtime compare
    /// like for like.
    startup_rng: StdRng,
    /// What the learning keep-alive policies know (hybrid histograms, greedy-dual cache).
    keep: KeepAlive,
    /// Target tracking's measurements, per function.
    utilization: Vec<autoscale::Utilization>,
    out: VecDeque<Action>,
}

impl Platform {
    /// A platform for these functions; `seed` drives the keep-alive and cold-start overhead draws.
    pub fn new(account: Account, rules: Vec<FunctionRules>, seed: u64) -> Self {
        let (scaling, legacy) = match account.scaling {
            ScalingModel::PerFunction {
                environments,
                window_ns,
            } => (
                rules
                    .iter()
                    .map(|_| {
                        TokenBucket::new(
                            environments,
                            environments,
                            window_ns,
                            account.scaling_refill,
                        )
                    })
                    .collect(),
                None,
            ),
            ScalingModel::Legacy { burst, per_minute } => (
                Vec::new(),
                Some(TokenBucket::new(
                    burst,
                    per_minute,
                    60_000_000_000,
                    account.scaling_refill,
                )),
            ),
        };
        let reserved_total = rules.iter().filter_map(|r| r.reserved).sum();
        let state = rules.iter().map(|_| FunctionState::default()).collect();
        let n = rules.len();
        let keep = KeepAlive::new(
            rules.iter().map(|r| &r.keep_alive),
            account.keep_alive_memory_mb,
        );
        Platform {
            account,
            rules,
            state,
            envs: Slab::default(),
            reserved_total,
            unreserved_used: 0,
            scaling,
            legacy,
            rng: StdRng::seed_from_u64(seed ^ 0x6c61_6d62_6461),
            startup_rng: StdRng::seed_from_u64(seed ^ 0x0072_756e_7469_6d65),
            keep,
            utilization: vec![Default::default(); n],
            out: VecDeque::new(),
        }
    }

    /// The next action to carry out, if any.
    #[inline]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.pop_front()
    }

    /// Starts the run: schedules provisioned concurrency allocation.
    pub fn start(&mut self, now_ns: u64) {
        for (function, rules) in self.rules.iter().enumerate() {
            if rules.provisioned > 0 {
                self.out.push_back(Action::SetTimer {
                    at_ns: now_ns + rules.allocation_delay_ns,
                    timer: Timer::AllocateProvisioned { function },
                });
            }
        }
        self.start_autoscaling(now_ns);
    }

    /// Concurrency a function uses: provisioned environments (busy or not) plus on-demand ones running or starting.
    fn used(&self, f: FunctionId) -> u32 {
        let s = &self.state[f];
        s.provisioned_alive.max(self.rules[f].provisioned) + s.busy_on_demand
    }

    /// Whether one more on-demand invocation fits; the throttle reason if not.
    fn capacity_check(&self, f: FunctionId) -> Result<(), ThrottleReason> {
        match self.rules[f].reserved {
            Some(cap) if self.used(f) >= cap => {
                Err(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
            }
            Some(_) => Ok(()),
            None => {
                let pool = self
                    .account
                    .concurrency_limit
                    .saturating_sub(self.reserved_total);
                if self.unreserved_used >= pool {
                    Err(ThrottleReason::ConcurrentInvocationLimitExceeded)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Whether a synchronous request is within the function's request-rate limit: each execution environment it
    /// may have serves 10 requests per second, so the limit is 10 × its reserved concurrency, or 10 × the
    /// unreserved pool for a function without one; a function with provisioned concurrency (an alias, on Lambda)
    /// is held to 10 × its allocated provisioned concurrency once some is allocated (docs/lambda.md §1 says why
    /// these readings). A function that may have no environment at all is left to the concurrency check, which
    /// names that limit.
    fn request_rate_check(&mut self, f: FunctionId, now_ns: u64) -> Result<(), ThrottleReason> {
        let Some(per_environment) = self.account.requests_per_environment else {
            return Ok(());
        };
        let (mut environments, reason) = match self.rules[f].reserved {
            Some(cap) => (
                cap,
                ThrottleReason::ReservedFunctionInvocationRateLimitExceeded,
            ),
            None => (
                self.account
                    .concurrency_limit
                    .saturating_sub(self.reserved_total),
                ThrottleReason::FunctionInvocationRateLimitExceeded,
            ),
        };
        if environments == 0 {
            return Ok(());
        }
        if self.rules[f].provisioned > 0 {
            let (_, allocated, _) = self.provisioned_status(f);
            if allocated > 0 {
                environments = environments.min(allocated);
            }
        }
        let per_second = u64::from(per_environment) * u64::from(environments);
        if self.state[f].request_rate.try_take(now_ns, per_second) {
            Ok(())
        } else {
            Err(reason)
        }
    }

    fn add_used(&mut self, f: FunctionId, delta: i64) {
        if self.rules[f].reserved.is_none() {
            self.unreserved_used = (i64::from(self.unreserved_used) + delta).max(0) as u32;
        }
    }

    fn take_scaling_token(&mut self, f: FunctionId, now_ns: u64) -> bool {
        match &mut self.legacy {
            Some(bucket) => bucket.try_take(now_ns),
            None => self.scaling[f].try_take(now_ns),
        }
    }

    /// How a new on-demand environment of `f` gets ready (its runtime start-up or restore drawn now).
    fn on_demand_start(&mut self, f: FunctionId) -> EnvironmentStart {
        self.rules[f].environment_start(true, crate::limits::INIT_LIMIT_NS, &mut self.startup_rng)
    }

    fn sample_overhead(&mut self, f: FunctionId) -> u64 {
        let ms = self.rules[f].placement_ms.sample(&mut self.rng).max(0.0);
        (ms * 1_000_000.0) as u64 + self.rules[f].download_ns
    }

    /// A request for function `f` arrived; `mode` says whether it counts against the request-rate limit.
    pub fn invoke(&mut self, now_ns: u64, f: FunctionId, request: RequestToken, mode: InvokeMode) {
        self.observe_utilization(f, now_ns);
        self.count_invocation(f);
        let running = self.state[f].busy_on_demand + self.state[f].busy_provisioned > 0;
        self.keep.arrival(f, now_ns, running);
        // The request rate first: it bounds every synchronous request, provisioned or not.
        if mode == InvokeMode::Synchronous
            && let Err(reason) = self.request_rate_check(f, now_ns)
        {
            self.out.push_back(Action::Throttle {
                request,
                function: f,
                reason,
                cause: ThrottleCause::RequestRate,
            });
            return;
        }
        // Provisioned environments first: they are already paid for and counted.
        if let Some(sandbox) = self.state[f].idle_provisioned.pop_mru(&self.envs) {
            self.mark_busy(sandbox, now_ns);
            self.state[f].busy_provisioned += 1;
            self.out.push_back(Action::RunWarm {
                request,
                sandbox,
                provisioned: true,
            });
            return;
        }
        if let Err(reason) = self.capacity_check(f) {
            self.out.push_back(Action::Throttle {
                request,
                function: f,
                reason,
                cause: ThrottleCause::Concurrency,
            });
            return;
        }
        if let Some(sandbox) = self.state[f].idle_on_demand.pop_mru(&self.envs) {
            self.mark_busy(sandbox, now_ns);
            self.state[f].busy_on_demand += 1;
            self.add_used(f, 1);
            self.out.push_back(Action::RunWarm {
                request,
                sandbox,
                provisioned: false,
            });
            return;
        }
        if !self.take_scaling_token(f, now_ns) {
            // Which Reason a scaling-rate throttle carries is undocumented; lambda-sim uses the account one.
            self.out.push_back(Action::Throttle {
                request,
                function: f,
                reason: ThrottleReason::ConcurrentInvocationLimitExceeded,
                cause: ThrottleCause::ScalingRate,
            });
            return;
        }
        let sandbox = self.new_env(f, false, now_ns, EnvState::Busy);
        self.state[f].busy_on_demand += 1;
        self.add_used(f, 1);
        let overhead_ns = self.sample_overhead(f);
        let start = self.on_demand_start(f);
        self.out.push_back(Action::ColdStart {
            request,
            sandbox,
            function: f,
            overhead_ns,
            start,
        });
    }

    fn new_env(
        &mut self,
        f: FunctionId,
        provisioned: bool,
        now_ns: u64,
        state: EnvState,
    ) -> SandboxId {
        if !provisioned && self.rules[f].keep_alive == KeepAlivePolicy::GreedyDual {
            self.admit_cached(f);
        }
        let sandbox = self.envs.insert(Env {
            function: f,
            provisioned,
            state,
            created_ns: now_ns,
            busy_since_ns: now_ns,
            busy_ns: 0,
            idle_epoch: 0,
            retire: false,
            keep_alive_until_ns: 0,
            keep_alive_armed: false,
            clock: 0,
        });
        if let Some(lifetime) = self.rules[f].max_lifetime_ns {
            self.out.push_back(Action::SetTimer {
                at_ns: now_ns.saturating_add(lifetime),
                timer: Timer::MaxLifetime { sandbox },
            });
        }
        sandbox
    }

    fn mark_busy(&mut self, sandbox: SandboxId, now_ns: u64) {
        if let Some(env) = self.envs.get_mut(sandbox) {
            env.state = EnvState::Busy;
            env.busy_since_ns = now_ns;
        }
    }

    /// An invocation on `sandbox` ended; `reset` when it timed out, crashed or ran out of memory (the driver has
    /// dropped the environment).
    pub fn invocation_finished(&mut self, now_ns: u64, sandbox: SandboxId, reset: bool) {
        let Some(f) = self.function_of(sandbox) else {
            return;
        };
        self.observe_utilization(f, now_ns);
        let Some(env) = self.envs.get_mut(sandbox) else {
            return;
        };
        let provisioned = env.provisioned;
        env.busy_ns += now_ns.saturating_sub(env.busy_since_ns);
        let retire = env.retire;
        if provisioned {
            self.state[f].busy_provisioned -= 1;
        } else {
            self.state[f].busy_on_demand -= 1;
            self.add_used(f, -1);
        }
        if self.state[f].busy_on_demand + self.state[f].busy_provisioned == 0 {
            self.keep.function_idle(f, now_ns);
        }
        if reset || retire {
            let reason = if reset {
                DestroyReason::Reset
            } else if provisioned && self.state[f].provisioned_alive > self.rules[f].provisioned {
                DestroyReason::Deprovisioned
            } else {
                DestroyReason::MaxLifetime
            };
            self.destroy(sandbox, reason);
            if provisioned {
                self.replace_provisioned(now_ns, f);
            }
            return;
        }
        self.make_idle(now_ns, sandbox);
    }

    /// An environment finished its invocation (or init): keep it for the next request, or let it go, as its
    /// function's keep-alive policy says.
    fn make_idle(&mut self, now_ns: u64, sandbox: SandboxId) {
        let Some(env) = self.envs.get(sandbox) else {
            return;
        };
        let f = env.function;
        if env.provisioned {
            // Provisioned environments are never reclaimed for idleness.
            self.park(sandbox, None);
            return;
        }
        let keep_ns = match self.rules[f].keep_alive {
            KeepAlivePolicy::None => {
                self.destroy(sandbox, DestroyReason::KeepAlive);
                return;
            }
            KeepAlivePolicy::Fixed { idle_ns } => idle_ns,
            KeepAlivePolicy::Lambda { min_ns, max_ns } => {
                self.rng.random_range(min_ns..=max_ns.max(min_ns))
            }
            KeepAlivePolicy::Hybrid {
                fallback_ns,
                min_samples,
            } => match self.hybrid_idle(now_ns, sandbox, f, fallback_ns, min_samples) {
                Some(keep_ns) => keep_ns,
                None => return, // unloaded until its pre-warm
            },
            KeepAlivePolicy::GreedyDual => {
                // Cached without a time limit; its priority starts from the clock now.
                let clock = self.keep.clock;
                if let Some(env) = self.envs.get_mut(sandbox) {
                    env.clock = clock;
                }
                self.park(sandbox, None);
                return;
            }
        };
        self.park(sandbox, Some(now_ns.saturating_add(keep_ns)));
    }

    /// Removes an environment (idle, or just finished) and reports it.
    fn destroy(&mut self, sandbox: SandboxId, reason: DestroyReason) {
        let Some(env) = self.envs.remove(sandbox) else {
            return;
        };
        let s = &mut self.state[env.function];
        if env.state == EnvState::Idle {
            let deque = if env.provisioned {
                &mut s.idle_provisioned
            } else {
                &mut s.idle_on_demand
            };
            deque.forget_one(&self.envs);
        }
        if env.provisioned {
            s.provisioned_alive -= 1;
        } else {
            if env.state == EnvState::Initializing {
                s.prewarming -= 1;
            }
            if self.rules[env.function].keep_alive == KeepAlivePolicy::GreedyDual {
                self.keep.cached_mb = self
                    .keep
                    .cached_mb
                    .saturating_sub(self.rules[env.function].memory_mb);
            }
        }
        self.out.push_back(Action::Destroy {
            sandbox,
            function: env.function,
            reason,
            provisioned: env.provisioned,
            created_ns: env.created_ns,
            busy_ns: env.busy_ns,
        });
    }

    /// A provisioned or pre-warmed environment finished its init (`ok`), or failed it.
    pub fn sandbox_ready(&mut self, now_ns: u64, sandbox: SandboxId, ok: bool) {
        if let Some(f) = self.function_of(sandbox) {
            self.observe_utilization(f, now_ns);
        }
        let Some(env) = self.envs.get_mut(sandbox) else {
            return;
        };
        if !env.provisioned {
            self.prewarmed(sandbox, ok);
            return;
        }
        let f = env.function;
        self.state[f].initializing_provisioned -= 1;
        let retire = env.retire;
        if ok && retire {
            self.destroy(sandbox, DestroyReason::MaxLifetime);
            self.replace_provisioned(now_ns, f);
        } else if ok {
            self.make_idle(now_ns, sandbox);
        } else {
            // Lambda reports the allocation FAILED; lambda-sim does not retry, so a broken init stays visible.
            self.destroy(sandbox, DestroyReason::Reset);
        }
    }

    fn replace_provisioned(&mut self, now_ns: u64, f: FunctionId) {
        if self.state[f].provisioned_alive < self.rules[f].provisioned {
            self.provision_one(now_ns, f);
        }
    }

    fn provision_one(&mut self, now_ns: u64, f: FunctionId) {
        let sandbox = self.new_env(f, true, now_ns, EnvState::Initializing);
        let s = &mut self.state[f];
        s.provisioned_alive += 1;
        s.initializing_provisioned += 1;
        let overhead_ns = self.sample_overhead(f);
        let limit_ns = crate::limits::provisioned_init_limit_ns(self.rules[f].timeout_ns);
        let start = self.rules[f].environment_start(false, limit_ns, &mut self.startup_rng);
        self.out.push_back(Action::Provision {
            sandbox,
            function: f,
            overhead_ns,
            start,
        });
    }

    /// A timer the model set has fired.
    pub fn timer(&mut self, now_ns: u64, timer: Timer) {
        match timer {
            Timer::KeepAlive { sandbox } => {
                let Some(env) = self.envs.get_mut(sandbox) else {
                    return;
                };
                env.keep_alive_armed = false;
                if env.state != EnvState::Idle {
                    return; // busy again: re-armed when it next becomes idle
                }
                if now_ns >= env.keep_alive_until_ns {
                    self.destroy(sandbox, DestroyReason::KeepAlive);
                } else {
                    // Used and idle again since this timer was set: wait for the current idle period's end.
                    env.keep_alive_armed = true;
                    let at_ns = env.keep_alive_until_ns;
                    self.out.push_back(Action::SetTimer {
                        at_ns,
                        timer: Timer::KeepAlive { sandbox },
                    });
                }
            }
            Timer::MaxLifetime { sandbox } => {
                let Some(env) = self.envs.get_mut(sandbox) else {
                    return;
                };
                match env.state {
                    EnvState::Idle => {
                        let (f, provisioned) = (env.function, env.provisioned);
                        self.observe_utilization(f, now_ns);
                        self.destroy(sandbox, DestroyReason::MaxLifetime);
                        if provisioned {
                            self.replace_provisioned(now_ns, f);
                        }
                    }
                    // Recycled when the current invocation (or init) ends.
                    EnvState::Busy | EnvState::Initializing => env.retire = true,
                }
            }
            Timer::AllocateProvisioned { function } => {
                while self.state[function].provisioned_alive < self.rules[function].provisioned {
                    self.provision_one(now_ns, function);
                }
            }
            Timer::Prewarm {
                function,
                epoch,
                keep_alive_ns,
            } => self.prewarm(now_ns, function, epoch, keep_alive_ns),
            Timer::ScheduledProvisioned { function, index } => {
                self.scheduled_action(now_ns, function, index)
            }
            Timer::EvaluateTargetTracking { function } => {
                self.evaluate_target_tracking(now_ns, function)
            }
        }
    }

    /// Ends the run: every environment still alive is reported as destroyed at the end.
    pub fn end(&mut self) {
        let ids: Vec<SandboxId> = self.envs.iter().map(|(id, _)| id).collect();
        for id in ids {
            self.destroy(id, DestroyReason::EndOfRun);
        }
    }

    /// A function's environments now.
    #[inline]
    pub fn pool_state(&self, f: FunctionId) -> PoolState {
        let s = &self.state[f];
        PoolState {
            busy: s.busy_on_demand + s.busy_provisioned,
            idle: s.idle_on_demand.live + s.idle_provisioned.live,
            initializing: s.initializing_provisioned + s.prewarming,
            busy_provisioned: s.busy_provisioned,
            idle_provisioned: s.idle_provisioned.live,
            initializing_provisioned: s.initializing_provisioned,
        }
    }

    /// The function an environment belongs to, if it is alive.
    #[inline]
    pub fn function_of(&self, sandbox: SandboxId) -> Option<FunctionId> {
        self.envs.get(sandbox).map(|e| e.function)
    }
}
