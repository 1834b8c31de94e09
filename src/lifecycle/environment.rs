//! One execution environment: its sandbox, created from the function's code (then initialized) or restored from
//! its snapshot, and the channel its service calls go through. A cold start is placement and code download, then
//! init — and, when init fails, Lambda's retry of init inside the invocation on a reset environment (a suppressed
//! init) — or a restore from the snapshot with no init at all; then the invocation.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use super::memory::Reservation;
use super::{Driver, RunError};
use crate::model::{EnvironmentStart, FunctionId, SandboxId};
use crate::sandbox::{
    CallLimits, CallReport, InitializationType, Invocation, Sandbox, SandboxConfig, SandboxError,
    ServiceChannel, complete_now,
};

/// An execution environment. Kept boxed: it moves between the idle pool and the call running on it.
pub struct Environment {
    pub id: SandboxId,
    pub sandbox: Sandbox,
    /// Where its service calls go (handlers that call services only).
    channel: Option<ServiceChannel>,
    /// Its share of the run's memory budget.
    memory: Reservation,
}

impl Environment {
    /// A new environment of function `f`, not yet initialized.
    pub fn new<D: Driver>(
        d: &D,
        f: FunctionId,
        id: SandboxId,
        kind: InitializationType,
    ) -> Result<Box<Environment>, RunError> {
        let memory = d.run().memory.reserve(f)?;
        let (config, channel) = config(d, f, id, kind);
        let code = &d.run().deployment.codes[f];
        Ok(Box::new(Environment {
            id,
            sandbox: Sandbox::new(code, &config)?,
            channel,
            memory,
        }))
    }

    /// An environment of function `f` restored from its snapshot (`AWS_LAMBDA_INITIALIZATION_TYPE` is
    /// `snap-start`): ready, with no init.
    pub async fn restore<D: Driver>(
        d: &D,
        f: FunctionId,
        id: SandboxId,
        snapshot: &crate::sandbox::Snapshot,
    ) -> Result<Box<Environment>, RunError> {
        let memory = d.run().memory.reserve(f)?;
        let (config, channel) = config(d, f, id, InitializationType::SnapStart);
        let mut env = Box::new(Environment {
            id,
            sandbox: Sandbox::restore(snapshot.code(), &config).await?,
            channel,
            memory,
        });
        env.memory.grew_to(env.sandbox.peak_memory_bytes());
        Ok(env)
    }

    /// The Init phase within `limits`: the runtime's start-up (`runtime_ns`, modelled), then the function's init
    /// code. Both are Init Duration and both count against the Init limit, as on Lambda.
    pub async fn init<D: Driver>(
        &mut self,
        d: &D,
        limits: CallLimits,
        runtime_ns: u64,
    ) -> Result<CallReport, SandboxError> {
        let phase_start = limits.start_ns;
        let code_start = if runtime_ns == 0 {
            phase_start
        } else {
            d.guest_starts_at(phase_start.saturating_add(runtime_ns))
                .await
        };
        let runtime_ns = code_start - phase_start;
        let limits = CallLimits {
            timeout_ns: limits.timeout_ns.saturating_sub(runtime_ns),
            start_ns: code_start,
        };
        let report = if !self.sandbox.can_suspend() {
            complete_now(self.sandbox.init(limits)).unwrap_or(Err(SandboxError::Suspended))
        } else {
            let call = self.sandbox.init(limits);
            Box::pin(run_guest(d, self.id, self.channel.as_ref(), call)).await
        };
        self.memory.grew_to(self.sandbox.peak_memory_bytes());
        report.map(|mut r| {
            r.duration_ns += runtime_ns;
            r
        })
    }

    /// One invocation within `limits` (with a suppressed init first if init has not run).
    pub async fn invoke<D: Driver>(
        &mut self,
        d: &D,
        invocation: &Invocation,
        limits: CallLimits,
    ) -> Result<CallReport, SandboxError> {
        // A call that cannot suspend (virtual time, no services) runs to its end right here; only one that can is
        // awaited, boxed, so the caller's future (the simulator's hottest allocation) stays small.
        let report = if !self.sandbox.can_suspend() {
            let call = self.sandbox.invoke(invocation, limits);
            complete_now(call).unwrap_or(Err(SandboxError::Suspended))
        } else {
            let call = self.sandbox.invoke(invocation, limits);
            Box::pin(run_guest(d, self.id, self.channel.as_ref(), call)).await
        };
        self.memory.grew_to(self.sandbox.peak_memory_bytes());
        report
    }
}

/// How to set up the sandbox of environment `id` of function `f`, and its service channel if it calls services.
fn config<D: Driver>(
    d: &D,
    f: FunctionId,
    id: SandboxId,
    kind: InitializationType,
) -> (SandboxConfig, Option<ServiceChannel>) {
    let run = d.run();
    let channel = run.calls_services(f).then(ServiceChannel::default);
    let mut config = sandbox_config(&run.scenario, f, id, d.clock(), kind);
    config.services = channel.clone();
    (config, channel)
}

/// How to set up the sandbox of environment `id` of function `f` of `scenario` (without services).
pub fn sandbox_config(
    scenario: &crate::scenario::Scenario,
    f: FunctionId,
    id: SandboxId,
    clock: crate::sandbox::ClockMode,
    kind: InitializationType,
) -> SandboxConfig {
    let spec = &scenario.functions[f];
    SandboxConfig {
        function_name: spec.name.clone(),
        handler: spec.handler.clone(),
        memory_mb: spec.memory_mb,
        ps_per_fuel: scenario.simulation.ps_per_fuel,
        // Each environment's randomness derives from the run's seed and its id.
        seed: scenario.simulation.seed ^ id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        clock,
        initialization_type: kind,
        services: None,
        environment: spec.environment.clone().into_iter().collect(),
    }
}

/// Runs a guest call that can suspend, answering each service call it makes: the guest suspends at the call (its channel holds
/// the request), the services are asked ([`super::services::call`]) — waiting in virtual or real time for the
/// answer — and the guest resumes with the reply. A guest without a channel never suspends on a call.
async fn run_guest<D: Driver, T>(
    d: &D,
    id: SandboxId,
    channel: Option<&ServiceChannel>,
    call: impl Future<Output = T>,
) -> T {
    let Some(channel) = channel else {
        return call.await;
    };
    let mut call = pin!(call);
    loop {
        let step = std::future::poll_fn(|cx| match call.as_mut().poll(cx) {
            Poll::Ready(out) => Poll::Ready(Ok(out)),
            Poll::Pending => match channel.take_request() {
                Some(request) => Poll::Ready(Err(request)),
                // Waiting on something else (a real-time sleep, or yielding CPU): it wakes the task.
                None => Poll::Pending,
            },
        })
        .await;
        match step {
            Ok(out) => return out,
            Err(request) => {
                let reply = Box::pin(super::services::call(d, id, request)).await;
                channel.reply(reply);
            }
        }
    }
}

/// What a cold start produced.
pub struct ColdStart {
    /// The environment, unless the invocation destroyed it.
    pub environment: Option<Box<Environment>>,
    /// The successful Init phase (its duration is the REPORT's Init Duration).
    pub init: Option<Box<CallReport>>,
    /// A failed Init phase (INIT_REPORT), after which init ran again inside the invocation.
    pub failed_init: Option<Box<CallReport>>,
    /// A restore from the function's snapshot instead of init: the REPORT's Restore Duration.
    pub restore_ns: Option<u64>,
    /// When the invocation started.
    pub invoke_start_ns: u64,
    pub report: CallReport,
}

/// A cold start of environment `id` of function `f` for `invocation`, made ready as the model decided (`ready`):
/// its guest code may start at `init_start_ns` (after placement and code download).
pub async fn cold_start<D: Driver>(
    d: &D,
    f: FunctionId,
    id: SandboxId,
    ready: EnvironmentStart,
    invocation: &Invocation,
    init_start_ns: u64,
) -> Result<ColdStart, RunError> {
    let run = d.run().clone();
    let timeout_ns = run.scenario.functions[f].timeout_ns;
    let start = d.guest_starts_at(init_start_ns).await;
    let (mut env, init, failed_init, restore_ns, invoke_at) = match ready {
        // A snapshot function restores its snapshot instead of running init.
        EnvironmentStart::Restore { restore_ns } => {
            let env = Environment::restore(d, f, id, snapshot(&run, f)?).await?;
            (env, None, None, Some(restore_ns), start + restore_ns)
        }
        EnvironmentStart::Init {
            limit_ns,
            runtime_ns,
        } => {
            let mut env = Environment::new(d, f, id, InitializationType::OnDemand)?;
            let limits = CallLimits {
                timeout_ns: limit_ns,
                start_ns: start,
            };
            let init = env.init(d, limits, runtime_ns).await?;
            let at = start + init.duration_ns;
            if env.sandbox.is_initialized() {
                (env, Some(Box::new(init)), None, None, at)
            } else {
                // Lambda retries init inside the invocation, with the function's timeout, on a reset environment.
                let env = Environment::new(d, f, id, InitializationType::OnDemand)?;
                (env, None, Some(Box::new(init)), None, at)
            }
        }
    };
    let invoke_start_ns = d.guest_starts_at(invoke_at).await;
    let limits = CallLimits {
        timeout_ns,
        start_ns: invoke_start_ns,
    };
    let report = env.invoke(d, invocation, limits).await?;
    Ok(ColdStart {
        environment: (!env.sandbox.is_destroyed()).then_some(env),
        init,
        failed_init,
        restore_ns,
        invoke_start_ns,
        report,
    })
}

/// The snapshot the model said to restore `f` from.
pub(crate) fn snapshot(
    run: &super::Run,
    f: FunctionId,
) -> Result<&crate::sandbox::Snapshot, SandboxError> {
    run.deployment.snapshots[f]
        .as_ref()
        .ok_or(SandboxError::NoSnapshot)
}
