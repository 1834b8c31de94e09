//! One sandbox (execution environment): create → init → invoke* → drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::SeedableRng;
use wasmtime::{Store, Trap, TypedFunc};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use super::abi::{CallClock, CallState, HostState, MemoryLimiter, cpu_ns_so_far};
use super::code::GuestCode;
use super::log::LogPipe;
use super::wasi::GuestClock;
use super::{CallReport, ErrorBody, FunctionCode, Outcome, RequestId, SandboxError};
use engine_epoch::deadline_ticks;
use lambda_sim_model::cpu::CpuModel;
use lambda_sim_model::limits::{
    INIT_LIMIT_NS, NS_PER_S, RESPONSE_MAX_BYTES, WASM32_MEMORY_MAX_BYTES,
};

/// In live (async) mode a CPU-bound guest yields to other tasks this often, in fuel (~10–100 µs of guest code).
const ASYNC_YIELD_FUEL: u64 = 200_000;

/// Fuel handed to a call in real-time mode, where epochs (not fuel) enforce the deadline.
const REAL_MODE_FUEL: u64 = u64::MAX / 4;

/// Whether a sandbox lives in virtual or real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Durations come from fuel; waits and clocks are virtual; the deadline is a fuel budget.
    Virtual,
    /// Durations are measured; waits sleep; the deadline is enforced with epoch interruption.
    Real,
}

/// `AWS_LAMBDA_INITIALIZATION_TYPE`: how the execution environment came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitializationType {
    OnDemand,
    ProvisionedConcurrency,
    SnapStart,
}

impl InitializationType {
    pub fn as_str(self) -> &'static str {
        match self {
            InitializationType::OnDemand => "on-demand",
            InitializationType::ProvisionedConcurrency => "provisioned-concurrency",
            InitializationType::SnapStart => "snap-start",
        }
    }
}

/// How to set up one sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub function_name: String,
    /// Lambda's Handler setting, the environment's `_HANDLER` (read by the Python runtime); `None`: not set.
    pub handler: Option<String>,
    pub memory_mb: u64,
    /// Picoseconds per unit of fuel at one full vCPU (see [`crate::cpu`]).
    pub ps_per_fuel: u64,
    /// Seeds the sandbox's WASI randomness.
    pub seed: u64,
    pub clock: ClockMode,
    pub initialization_type: InitializationType,
    /// Where the environment's service calls (ABI v2 `service_call`) go; `None`: every call answers "no such
    /// service". A sandbox with a channel runs its guest as a suspendable (async) call, like one in real time.
    pub services: Option<super::ServiceChannel>,
    /// The function's own environment variables (Lambda's reserved keys are refused before a config is made).
    pub environment: Vec<(String, String)>,
}

/// The limits of one call.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    /// The time the call may take (the function timeout, or the init limit).
    pub timeout_ns: u64,
    /// Virtual time at which the call starts (ns since scenario start); ignored in real-time mode.
    pub start_ns: u64,
}

impl CallLimits {
    /// The on-demand Init phase limit (10 s).
    pub fn init(start_ns: u64) -> Self {
        CallLimits {
            timeout_ns: INIT_LIMIT_NS,
            start_ns,
        }
    }
}

/// One invocation's input.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: RequestId,
    pub event: Bytes,
}

/// Which guest code a call runs, for its error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Init,
    Handler,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Init => "init",
            Phase::Handler => "handler",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    /// Instantiated; init has not run (or must run inside the first invocation).
    Created,
    Ready,
    Destroyed,
}

/// One execution environment.
pub struct Sandbox {
    store: Store<HostState>,
    /// The code it instantiates (in its Init phase) and the exports resolved then.
    code: FunctionCode,
    exports: Option<Exports>,
    log: LogPipe,
    lifecycle: Lifecycle,
    clock: ClockMode,
    /// Guest calls run on a fiber and may suspend (real time, or a handler that calls services); otherwise they
    /// run to completion on the caller's stack.
    async_calls: bool,
    cpu: CpuModel,
    virtual_now: Arc<AtomicU64>,
    /// The last (timeout, fuel budget) pair: the conversion costs a 128-bit division, and the timeout rarely changes.
    fuel_budget: (u64, u64),
}

/// The instance and its handler exports, once instantiated.
enum Exports {
    /// A core module (ABI v1/v2).
    Module {
        /// Kept for taking a snapshot of the initialized instance (`super::snapshot`).
        instance: wasmtime::Instance,
        handle: TypedFunc<(), i32>,
        init: Option<TypedFunc<(), i32>>,
        initialize: Option<TypedFunc<(), ()>>,
    },
    /// A component (ABI v3).
    Component(super::component::Functions),
}

/// Wall-clock origin of virtual time: 2026-01-01T00:00:00Z, in seconds since the Unix epoch.
pub const VIRTUAL_EPOCH_UNIX_S: u64 = 1_767_225_600;

struct VirtualClock(Arc<AtomicU64>);

impl HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(VIRTUAL_EPOCH_UNIX_S)
            + Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// The host's monotonic clock, counting from the sandbox's creation.
struct RealMonotonicClock(Instant);

impl HostMonotonicClock for RealMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

mod engine_epoch {
    use crate::engine::EPOCH_TICK;

    /// Epoch ticks until a deadline `ns` away: rounded up, plus one so it never fires early.
    pub fn deadline_ticks(ns: u64) -> u64 {
        ns.div_ceil(EPOCH_TICK.as_nanos() as u64) + 1
    }
}

impl Sandbox {
    /// A new execution environment for `code`: its store, memory limit, clocks and WASI context. No guest code runs
    /// yet: instantiation (with the module's start function), `_initialize` and `init` are its Init phase
    /// ([`Sandbox::init`], or a suppressed init inside the first [`Sandbox::invoke`]).
    pub fn new(code: &FunctionCode, config: &SandboxConfig) -> Result<Sandbox, SandboxError> {
        let Parts {
            store,
            log,
            virtual_now,
            cpu,
        } = Parts::new(code, config)?;
        Ok(Sandbox {
            store,
            code: code.clone(),
            exports: None,
            log,
            lifecycle: Lifecycle::Created,
            clock: config.clock,
            async_calls: config.clock == ClockMode::Real || config.services.is_some(),
            cpu,
            virtual_now,
            fuel_budget: (u64::MAX, 0),
        })
    }

    /// Restores an environment from a pre-initialized (snapshot) module: instantiation only, and it is ready — its
    /// init ran when the snapshot was taken, so it never runs here.
    pub async fn restore(
        code: &FunctionCode,
        config: &SandboxConfig,
    ) -> Result<Sandbox, SandboxError> {
        let mut sandbox = Self::new(code, config)?;
        sandbox.begin(CallLimits::init(0), None, Bytes::new());
        match sandbox.instantiate().await? {
            Ok(()) => {
                sandbox.lifecycle = Lifecycle::Ready;
                Ok(sandbox)
            }
            Err(e) => Err(SandboxError::Restore { source: e.into() }),
        }
    }

    /// The store and instance, for reading the initialized state into a snapshot.
    pub(crate) fn parts_mut(&mut self) -> Option<(&mut Store<HostState>, InstanceRef)> {
        let instance = match self.exports.as_ref()? {
            Exports::Module { instance, .. } => InstanceRef::Module(*instance),
            Exports::Component(functions) => InstanceRef::Component(functions.instance),
        };
        Some((&mut self.store, instance))
    }

    /// Instantiates the code (running a module's start function, if any, within the current call's budget) and
    /// resolves its exports. The outer error is lambda-sim's (no sandbox slot left); the inner one is the guest's.
    async fn instantiate(&mut self) -> Result<wasmtime::Result<()>, SandboxError> {
        if self.exports.is_some() {
            return Ok(Ok(()));
        }
        let instance = match &self.code.guest {
            GuestCode::Module { pre, pre_async, .. } => if self.async_calls {
                pre_async.instantiate_async(&mut self.store).await
            } else {
                pre.instantiate(&mut self.store)
            }
            .map(Instantiated::Module),
            GuestCode::Component { pre, pre_async, .. } => if self.async_calls {
                pre_async.instantiate_async(&mut self.store).await
            } else {
                pre.instantiate(&mut self.store)
            }
            .map(Instantiated::Component),
        };
        let instance = match instance {
            Ok(instance) => instance,
            Err(e)
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some() =>
            {
                return Err(SandboxError::Capacity { source: e.into() });
            }
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.resolve_exports(instance))
    }

    fn resolve_exports(&mut self, instance: Instantiated) -> wasmtime::Result<()> {
        let store = &mut self.store;
        let exports = match (instance, &self.code.guest) {
            (Instantiated::Component(instance), GuestCode::Component { exports, .. }) => {
                Exports::Component(exports.resolve(store, &instance)?)
            }
            (Instantiated::Module(instance), GuestCode::Module { exports, .. }) => {
                let memory = instance
                    .get_module_export(&mut *store, &exports.memory)
                    .and_then(|e| e.into_memory())
                    .ok_or_else(|| {
                        wasmtime::Error::msg("the module's `memory` export is missing")
                    })?;
                store.data_mut().memory = Some(memory);
                let func = |store: &mut Store<HostState>, export: &wasmtime::ModuleExport| {
                    instance
                        .get_module_export(&mut *store, export)
                        .and_then(|e| e.into_func())
                        .ok_or_else(|| {
                            wasmtime::Error::msg("an export resolved at load time is missing")
                        })
                };
                let handle = func(store, &exports.handle)?.typed::<(), i32>(&*store)?;
                let init = match &exports.init {
                    Some(e) => Some(func(store, e)?.typed::<(), i32>(&*store)?),
                    None => None,
                };
                let initialize = match &exports.initialize {
                    Some(e) => Some(func(store, e)?.typed::<(), ()>(&*store)?),
                    None => None,
                };
                Exports::Module {
                    instance,
                    handle,
                    init,
                    initialize,
                }
            }
            _ => return Err(wasmtime::Error::msg("instantiated the wrong kind of code")),
        };
        self.exports = Some(exports);
        Ok(())
    }
}

/// An instance of either kind (for a snapshot).
pub(crate) enum InstanceRef {
    Module(wasmtime::Instance),
    Component(wasmtime::component::Instance),
}

/// A new instance of either kind, before its exports are resolved.
enum Instantiated {
    Module(wasmtime::Instance),
    Component(wasmtime::component::Instance),
}

/// A store being set up, before and after instantiation.
struct Parts {
    store: Store<HostState>,
    log: LogPipe,
    virtual_now: Arc<AtomicU64>,
    cpu: CpuModel,
}

impl Parts {
    fn new(code: &FunctionCode, config: &SandboxConfig) -> Result<Parts, SandboxError> {
        let log = LogPipe::default();
        let virtual_now = Arc::new(AtomicU64::new(0));
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(log.clone())
            .stderr(log.clone())
            .secure_random(rand::rngs::StdRng::seed_from_u64(config.seed))
            .insecure_random(rand::rngs::StdRng::seed_from_u64(
                config.seed ^ 0x9E37_79B9_7F4A_7C15,
            ))
            .insecure_random_seed(u128::from(config.seed))
            .env("AWS_LAMBDA_FUNCTION_NAME", &config.function_name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                config.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_INITIALIZATION_TYPE",
                config.initialization_type.as_str(),
            );
        if let Some(handler) = &config.handler {
            wasi.env("_HANDLER", handler);
        }
        for (key, value) in &config.environment {
            wasi.env(key, value);
        }
        let clock = match config.clock {
            ClockMode::Virtual => {
                wasi.wall_clock(VirtualClock(virtual_now.clone()))
                    .monotonic_clock(VirtualClock(virtual_now.clone()));
                GuestClock::Virtual(virtual_now.clone())
            }
            ClockMode::Real => {
                // A monotonic clock whose origin lambda-sim knows, to read `poll_oneoff`'s absolute timeouts.
                let origin = Instant::now();
                wasi.monotonic_clock(RealMonotonicClock(origin));
                GuestClock::Real { origin }
            }
        };
        let cap_bytes = (config.memory_mb << 20).min(WASM32_MEMORY_MAX_BYTES) as usize;
        let state = HostState {
            wasi: wasi.build_p1(),
            memory: None,
            limiter: MemoryLimiter {
                cap_bytes,
                peak_bytes: 0,
                refused: false,
            },
            call: CallState::new(virtual_now.clone()),
            services: config.services.clone(),
            log: log.clone(),
            clock,
            function: super::abi::FunctionFacts {
                name: config.function_name.clone(),
                handler: config.handler.clone(),
                memory_mb: config.memory_mb,
            },
            pending_wait: Default::default(),
        };
        let engine = code.engine();
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limiter);
        let cpu = CpuModel::new(config.ps_per_fuel, config.memory_mb);
        let component = matches!(code.guest, GuestCode::Component { .. });
        if component {
            // As for a module, plus the component's WASI sleeps, accounted as the call that waited returns (both
            // clocks: in real time the guest slept, but the sleep is a wait, not CPU time).
            let virtual_time = config.clock == ClockMode::Virtual;
            store.call_hook(move |mut ctx, hook| {
                if let wasmtime::CallHook::ReturningFromHost = hook {
                    if virtual_time {
                        let bytes = std::mem::take(&mut ctx.data_mut().call.host_bytes);
                        let fuel = ctx.get_fuel()?;
                        ctx.set_fuel(fuel.saturating_sub(cpu.host_call_fuel(bytes)))?;
                    }
                    let pending = ctx.data().pending_wait.clone();
                    pending.apply(&mut ctx)?;
                }
                Ok(())
            });
        } else if config.clock == ClockMode::Virtual {
            // Every host call costs virtual CPU time (`lambda_sim_model::cpu::HOST_CALL_NS`), charged as fuel
            // when it returns: a guest looping on host calls reaches its timeout like one looping on instructions.
            // Real time measures host calls like the rest of the guest's time.
            store.call_hook(move |mut ctx, hook| {
                if let wasmtime::CallHook::ReturningFromHost = hook {
                    let bytes = std::mem::take(&mut ctx.data_mut().call.host_bytes);
                    let fuel = ctx.get_fuel()?;
                    ctx.set_fuel(fuel.saturating_sub(cpu.host_call_fuel(bytes)))?;
                }
                Ok(())
            });
        }
        // Each call sets its own fuel (and, in real time, epoch deadline) before any guest code runs.
        store.set_epoch_deadline(1 << 62);
        if config.clock == ClockMode::Real {
            // Let other tasks run while a CPU-bound guest computes (every ~100k instructions), from its start
            // function on: a slow cold start must not hold a thread others need.
            store
                .fuel_async_yield_interval(Some(ASYNC_YIELD_FUEL))
                .map_err(|e| SandboxError::Engine { source: e.into() })?;
        }
        Ok(Parts {
            store,
            log,
            virtual_now,
            cpu,
        })
    }
}

impl Sandbox {
    /// True once a crash, timeout or out-of-memory error has destroyed this sandbox.
    pub fn is_destroyed(&self) -> bool {
        self.lifecycle == Lifecycle::Destroyed
    }

    /// Whether its guest calls can suspend: in real time, or with a service channel. A call that cannot suspend
    /// completes when first polled.
    pub fn can_suspend(&self) -> bool {
        self.async_calls
    }

    /// True when init has run successfully.
    pub fn is_initialized(&self) -> bool {
        self.lifecycle == Lifecycle::Ready
    }

    /// Peak linear memory so far.
    pub fn peak_memory_bytes(&self) -> u64 {
        self.store.data().limiter.peak_bytes as u64
    }

    /// The Init phase — instantiation (the module's start function), `_initialize`, then `init` — within `limits`
    /// (the limit the platform gave: 10 s on demand). A failed init destroys the sandbox: the next invocation belongs
    /// on a fresh one, which runs init inside it (a suppressed init).
    pub async fn init(&mut self, limits: CallLimits) -> Result<CallReport, SandboxError> {
        match self.lifecycle {
            Lifecycle::Destroyed => return Err(SandboxError::Destroyed),
            Lifecycle::Ready => return Ok(self.empty_report()),
            Lifecycle::Created => {}
        }
        self.begin(limits, None, Bytes::new());
        let result = self.run_init().await?;
        let report = self.finish(result, limits, Phase::Init);
        self.lifecycle = if report.outcome == Outcome::Success {
            Lifecycle::Ready
        } else {
            Lifecycle::Destroyed
        };
        Ok(report)
    }

    /// Runs one invocation. On a sandbox whose init has not run, init runs first inside the invocation's own
    /// budget (a suppressed init) and its time is part of the invocation's duration.
    pub async fn invoke(
        &mut self,
        invocation: &Invocation,
        limits: CallLimits,
    ) -> Result<CallReport, SandboxError> {
        if self.lifecycle == Lifecycle::Destroyed {
            return Err(SandboxError::Destroyed);
        }
        self.begin(
            limits,
            Some(invocation.request_id),
            invocation.event.clone(),
        );
        let mut suppressed_init_ns = None;
        if self.lifecycle == Lifecycle::Created {
            // Boxed, as is the async call below: the warm, synchronous path (the simulator's hottest) keeps a small
            // future instead of reserving room for these.
            let init = Box::pin(self.run_init()).await?;
            match self.after_suppressed_init(init, limits) {
                Ok(ns) => suppressed_init_ns = Some(ns),
                Err(report) => return Ok(*report),
            }
        }
        let result = match &self.exports {
            Some(Exports::Module { handle, .. }) if self.async_calls => {
                Box::pin(handle.call_async(&mut self.store, ())).await
            }
            Some(Exports::Module { handle, .. }) => handle.call(&mut self.store, ()),
            Some(Exports::Component(functions)) => {
                Box::pin(functions.handle(&mut self.store, self.async_calls)).await
            }
            // Initialized means instantiated: unreachable, but a wrong state is the sandbox's error, not a panic.
            None => return Err(SandboxError::Destroyed),
        };
        let mut report = self.finish(result, limits, Phase::Handler);
        report.suppressed_init_ns = suppressed_init_ns;
        Ok(report)
    }

    /// After a suppressed init: its duration so far, or the failed invocation's report.
    fn after_suppressed_init(
        &mut self,
        init: wasmtime::Result<i32>,
        limits: CallLimits,
    ) -> Result<u64, Box<CallReport>> {
        let failed = !matches!(init, Ok(0)) || self.store.data().call.error.is_some();
        if failed {
            let mut report = self.finish(init, limits, Phase::Init);
            report.suppressed_init_ns = Some(report.duration_ns);
            self.lifecycle = Lifecycle::Destroyed;
            return Err(Box::new(report));
        }
        self.lifecycle = Lifecycle::Ready;
        let fuel_left = self.store.get_fuel().unwrap_or(0);
        let call = &self.store.data().call;
        Ok(cpu_ns_so_far(call, fuel_left) + call.wait_ns)
    }

    /// Instantiation, `_initialize` and `init`: the guest's part of the Init phase. The outer error is lambda-sim's.
    async fn run_init(&mut self) -> Result<wasmtime::Result<i32>, SandboxError> {
        if let Err(e) = self.instantiate().await? {
            return Ok(Err(e));
        }
        let (initialize, init) = match &self.exports {
            Some(Exports::Module {
                initialize, init, ..
            }) => (initialize, init),
            Some(Exports::Component(functions)) => {
                return Ok(functions.init(&mut self.store, self.async_calls).await);
            }
            None => return Err(SandboxError::Destroyed),
        };
        if let Some(f) = initialize {
            let done = if self.async_calls {
                f.call_async(&mut self.store, ()).await
            } else {
                f.call(&mut self.store, ())
            };
            if let Err(e) = done {
                return Ok(Err(e));
            }
        }
        Ok(match init {
            Some(f) if self.async_calls => f.call_async(&mut self.store, ()).await,
            Some(f) => f.call(&mut self.store, ()),
            None => Ok(0),
        })
    }

    fn begin(&mut self, limits: CallLimits, request_id: Option<RequestId>, event: Bytes) {
        let state = self.store.data_mut();
        state.limiter.refused = false;
        let call = &mut state.call;
        call.event = event;
        call.response.clear();
        call.response_too_large = None;
        call.error = None;
        call.request_id = request_id;
        call.budget_ns = limits.timeout_ns;
        call.start_ns = limits.start_ns;
        call.wait_ns = 0;
        call.service_message = None;
        call.timed_out = false;
        call.misuse = None;
        let fuel = match self.clock {
            ClockMode::Virtual => {
                self.virtual_now.store(limits.start_ns, Ordering::Relaxed);
                if self.fuel_budget.0 != limits.timeout_ns {
                    self.fuel_budget = (limits.timeout_ns, self.cpu.ns_to_fuel(limits.timeout_ns));
                }
                let fuel = self.fuel_budget.1;
                call.clock = CallClock::Virtual {
                    cpu: self.cpu,
                    fuel_granted: fuel,
                };
                fuel
            }
            ClockMode::Real => {
                let now = Instant::now();
                call.clock = CallClock::Real {
                    started: now,
                    deadline: now + Duration::from_nanos(limits.timeout_ns),
                };
                self.store
                    .set_epoch_deadline(deadline_ticks(limits.timeout_ns));
                REAL_MODE_FUEL
            }
        };
        // Fuel is enabled on every engine, so setting it cannot fail.
        let _ = self.store.set_fuel(fuel);
    }

    fn finish(
        &mut self,
        result: wasmtime::Result<i32>,
        limits: CallLimits,
        phase: Phase,
    ) -> CallReport {
        let fuel_left = self.store.get_fuel().unwrap_or(0);
        let state = self.store.data_mut();
        let peak_memory_bytes = state.limiter.peak_bytes as u64;
        let call = &mut state.call;
        let (fuel_granted, cpu_ns) = match call.clock {
            CallClock::Virtual { fuel_granted, .. } => {
                (fuel_granted, cpu_ns_so_far(call, fuel_left))
            }
            // Emulate a small function's CPU share by stretching the measured guest time.
            CallClock::Real { .. } => (
                REAL_MODE_FUEL,
                (cpu_ns_so_far(call, fuel_left) as f64 / self.cpu.cpu_share()) as u64,
            ),
        };
        let wait_ns = call.wait_ns;
        let duration_ns = cpu_ns + wait_ns;
        call.event = Bytes::new();
        let clean_success = matches!(result, Ok(0))
            && !state.limiter.refused
            && call.error.is_none()
            && call.response_too_large.is_none()
            && duration_ns <= limits.timeout_ns;
        let fuel = fuel_granted.saturating_sub(fuel_left);
        // Every field is computed first and the report built once at the end: writing fields into a finished
        // struct and then moving it out stalls store forwarding on the hot path.
        let (outcome, error, response, duration_ns) = if clean_success {
            let response = if call.response.is_empty() {
                Bytes::from_static(b"null")
            } else {
                // Copy out, keeping the buffer's capacity for the next call.
                Bytes::copy_from_slice(&call.response)
            };
            (Outcome::Success, None, response, duration_ns)
        } else {
            let (outcome, error) = self.classify_failure(result, limits, phase, duration_ns);
            if outcome.destroys_sandbox() {
                self.lifecycle = Lifecycle::Destroyed;
            }
            let duration_ns = if outcome == Outcome::Timeout {
                limits.timeout_ns
            } else {
                duration_ns
            };
            (outcome, Some(Box::new(error)), Bytes::new(), duration_ns)
        };
        let log = if self.log.is_empty() {
            Vec::new()
        } else {
            self.log.drain()
        };
        CallReport {
            outcome,
            error,
            response,
            fuel,
            cpu_ns,
            wait_ns,
            duration_ns,
            suppressed_init_ns: None,
            peak_memory_bytes,
            log,
        }
    }

    /// Decides how a call that did not simply succeed ended, and builds Lambda's error object for it.
    #[cold]
    #[inline(never)]
    fn classify_failure(
        &mut self,
        result: wasmtime::Result<i32>,
        limits: CallLimits,
        phase: Phase,
        duration_ns: u64,
    ) -> (Outcome, ErrorBody) {
        let state = self.store.data_mut();
        let call = &mut state.call;
        let prefix = match call.request_id {
            Some(id) => format!("RequestId: {id} "),
            None => String::new(),
        };
        let timeout = || {
            (
                Outcome::Timeout,
                ErrorBody::new(
                    "Sandbox.Timedout",
                    format!(
                        "{prefix}Error: Task timed out after {:.2} seconds",
                        limits.timeout_ns as f64 / NS_PER_S as f64
                    ),
                ),
            )
        };
        let trap = result
            .as_ref()
            .err()
            .and_then(|e| e.downcast_ref::<Trap>().copied());
        // Stretched real-time CPU that ran past the deadline counts too: Lambda would have stopped the function.
        if call.timed_out
            || matches!(trap, Some(Trap::OutOfFuel | Trap::Interrupt))
            || (result.is_ok() && duration_ns > limits.timeout_ns)
        {
            return timeout();
        }
        // A refused `memory.grow` is the function hitting its memory size, even if the guest survived the refusal
        // and returned: Lambda stops the runtime and resets the environment.
        if state.limiter.refused {
            return (
                Outcome::OutOfMemory,
                ErrorBody::new(
                    "Runtime.OutOfMemory",
                    format!("{prefix}Error: Runtime exited with error: out of memory"),
                ),
            );
        }
        match result {
            Err(e) => {
                let exit = e.downcast_ref::<wasmtime_wasi::I32Exit>().map(|x| x.0);
                let reason = match (&call.misuse, trap, exit) {
                    (Some(m), _, _) => m.clone(),
                    (None, Some(t), _) => t.to_string(),
                    // `proc_exit(n)`: what Lambda says when a runtime process exits.
                    (None, None, Some(0)) => {
                        return (
                            Outcome::Crash,
                            ErrorBody::new(
                                "Runtime.ExitError",
                                format!("{prefix}Error: Runtime exited without providing a reason"),
                            ),
                        );
                    }
                    (None, None, Some(n)) => format!("exit status {n}"),
                    (None, None, None) => format!("{e}"),
                };
                // The full error, with the wasm backtrace, goes to the log as a runtime would print it.
                self.log.write_marker(
                    format!("[lambda-sim] {} crashed: {e:?}\n", phase.as_str()).as_bytes(),
                );
                (
                    Outcome::Crash,
                    ErrorBody::new(
                        "Runtime.ExitError",
                        format!("{prefix}Error: Runtime exited with error: {reason}"),
                    ),
                )
            }
            Ok(code) => {
                if let Some(error) = call.error.take() {
                    (Outcome::FunctionError, error)
                } else if code != 0 {
                    let error_type = match phase {
                        Phase::Init => "Runtime.InitError",
                        Phase::Handler => "Runtime.HandlerError",
                    };
                    (
                        Outcome::FunctionError,
                        ErrorBody::new(
                            error_type,
                            format!("{} returned status {code}", phase.as_str()),
                        ),
                    )
                } else {
                    let size = call.response_too_large.unwrap_or(0);
                    (
                        Outcome::FunctionError,
                        ErrorBody::new(
                            "Function.ResponseSizeTooLarge",
                            format!(
                                "Response payload size ({size} bytes) exceeded maximum allowed payload size ({RESPONSE_MAX_BYTES} bytes)."
                            ),
                        ),
                    )
                }
            }
        }
    }

    fn empty_report(&self) -> CallReport {
        CallReport {
            outcome: Outcome::Success,
            error: None,
            response: Bytes::new(),
            fuel: 0,
            cpu_ns: 0,
            wait_ns: 0,
            duration_ns: 0,
            suppressed_init_ns: None,
            peak_memory_bytes: self.peak_memory_bytes(),
            log: Vec::new(),
        }
    }
}
