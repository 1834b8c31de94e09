//! Running a cold start on sandboxes: create, init, and — when init fails — Lambda's retry of init inside the
//! invocation on a reset environment (a suppressed init); or, for a snapshot function, a restore from its
//! snapshot with no init at all. Shared by every driver.

use crate::sandbox::{
    CallLimits, CallReport, FunctionCode, Invocation, Sandbox, SandboxConfig, SandboxError,
    Snapshot,
};

/// What a cold start produced.
pub struct ColdStart {
    /// The environment, unless the invocation destroyed it.
    pub sandbox: Option<Sandbox>,
    /// The successful Init phase (its duration is the REPORT's Init Duration).
    pub init: Option<CallReport>,
    /// A failed Init phase (INIT_REPORT), after which init ran again inside the invocation.
    pub failed_init: Option<CallReport>,
    /// A restore from the function's snapshot instead of init: the REPORT's Restore Duration.
    pub restore_ns: Option<u64>,
    pub report: CallReport,
}

impl ColdStart {
    /// Time from the start of init to the end of the invocation.
    pub fn elapsed_ns(&self) -> u64 {
        let init = self
            .init
            .as_ref()
            .or(self.failed_init.as_ref())
            .map_or(0, |r| r.duration_ns);
        init + self.restore_ns.unwrap_or(0) + self.report.duration_ns
    }

    /// How the REPORT line shows the cold part of this invocation.
    pub fn cold_part(&self) -> crate::logfmt::ColdPart {
        match (&self.init, self.restore_ns) {
            (Some(init), _) => crate::logfmt::ColdPart::Init(init.duration_ns),
            (None, Some(ns)) => crate::logfmt::ColdPart::Restore(ns),
            (None, None) => crate::logfmt::ColdPart::None,
        }
    }
}

/// A restored environment's `AWS_LAMBDA_INITIALIZATION_TYPE` is always `snap-start`.
pub fn snapshot_start(config: &SandboxConfig) -> SandboxConfig {
    SandboxConfig {
        initialization_type: crate::sandbox::InitializationType::SnapStart,
        ..config.clone()
    }
}

/// Restores a sandbox from `snapshot` at `start_ns` (virtual time) and runs `invocation` on it once the modelled
/// Restore Duration has passed. No init runs: it ran when the snapshot was taken.
pub fn restore_invoke(
    snapshot: &Snapshot,
    config: &SandboxConfig,
    invocation: &Invocation,
    timeout_ns: u64,
    start_ns: u64,
) -> Result<ColdStart, SandboxError> {
    let config = snapshot_start(config);
    let mut sandbox = Sandbox::restore(snapshot.code(), &config)?;
    let restore_ns = snapshot.restore_ns();
    let report = sandbox.invoke(
        invocation,
        CallLimits {
            timeout_ns,
            start_ns: start_ns + restore_ns,
        },
    )?;
    Ok(ColdStart {
        sandbox: (!sandbox.is_destroyed()).then_some(sandbox),
        init: None,
        failed_init: None,
        restore_ns: Some(restore_ns),
        report,
    })
}

/// [`restore_invoke`] on an async sandbox. In live mode (`config.clock` real) the restore really takes the modelled
/// Restore Duration (instantiation, then a sleep for the rest), like the other modelled cold-start overheads; in
/// virtual time (a handler that calls services) it starts at `start_ns` like [`restore_invoke`].
pub async fn restore_invoke_async(
    snapshot: &Snapshot,
    config: &SandboxConfig,
    invocation: &Invocation,
    timeout_ns: u64,
    start_ns: u64,
) -> Result<ColdStart, SandboxError> {
    let started = std::time::Instant::now();
    let config = snapshot_start(config);
    let mut sandbox = Sandbox::restore_async(snapshot.code(), &config).await?;
    let restore_ns = snapshot.restore_ns();
    let real_time = config.clock == crate::sandbox::ClockMode::Real;
    let spent = started.elapsed().as_nanos() as u64;
    if real_time && restore_ns > spent {
        tokio::time::sleep(std::time::Duration::from_nanos(restore_ns - spent)).await;
    }
    let report = sandbox
        .invoke_async(
            invocation,
            CallLimits {
                timeout_ns,
                start_ns: start_ns + restore_ns,
            },
        )
        .await?;
    Ok(ColdStart {
        sandbox: (!sandbox.is_destroyed()).then_some(sandbox),
        init: None,
        failed_init: None,
        restore_ns: Some(restore_ns),
        report,
    })
}

/// Creates a sandbox at `start_ns` (virtual time), runs init and then `invocation` on it.
pub fn cold_invoke(
    code: &FunctionCode,
    config: &SandboxConfig,
    invocation: &Invocation,
    timeout_ns: u64,
    start_ns: u64,
) -> Result<ColdStart, SandboxError> {
    let mut sandbox = Sandbox::create(code, config)?;
    let init = sandbox.init(CallLimits::init(start_ns))?;
    let (mut sandbox, init, failed_init) = if sandbox.is_initialized() {
        (sandbox, Some(init), None)
    } else {
        // Lambda retries init inside the invocation, with the function's timeout, on a reset environment.
        (Sandbox::create(code, config)?, None, Some(init))
    };
    let invoke_start = start_ns
        + init
            .as_ref()
            .or(failed_init.as_ref())
            .map_or(0, |r| r.duration_ns);
    let report = sandbox.invoke(
        invocation,
        CallLimits {
            timeout_ns,
            start_ns: invoke_start,
        },
    )?;
    let sandbox = (!sandbox.is_destroyed()).then_some(sandbox);
    Ok(ColdStart {
        sandbox,
        init,
        failed_init,
        restore_ns: None,
        report,
    })
}

/// [`cold_invoke`] on sandboxes made by [`Sandbox::create_async`]: live mode (real time; `start_ns` is ignored), or
/// virtual time for a handler that calls services (suspended while its calls wait).
pub async fn cold_invoke_async(
    code: &FunctionCode,
    config: &SandboxConfig,
    invocation: &Invocation,
    timeout_ns: u64,
    start_ns: u64,
) -> Result<ColdStart, SandboxError> {
    let mut sandbox = Sandbox::create_async(code, config).await?;
    let init = sandbox.init_async(CallLimits::init(start_ns)).await?;
    let (mut sandbox, init, failed_init) = if sandbox.is_initialized() {
        (sandbox, Some(init), None)
    } else {
        (Sandbox::create_async(code, config).await?, None, Some(init))
    };
    let invoke_start = start_ns
        + init
            .as_ref()
            .or(failed_init.as_ref())
            .map_or(0, |r| r.duration_ns);
    let report = sandbox
        .invoke_async(
            invocation,
            CallLimits {
                timeout_ns,
                start_ns: invoke_start,
            },
        )
        .await?;
    let sandbox = (!sandbox.is_destroyed()).then_some(sandbox);
    Ok(ColdStart {
        sandbox,
        init,
        failed_init,
        restore_ns: None,
        report,
    })
}

/// The platform model for a deployed scenario (rules from each function's settings and module size).
pub fn platform(
    scenario: &crate::scenario::Scenario,
    wasm_bytes: &[u64],
) -> crate::model::Platform {
    let rules = scenario
        .functions
        .iter()
        .zip(wasm_bytes)
        .map(|(f, bytes)| function_rules(f, *bytes))
        .collect();
    crate::model::Platform::new(scenario.account.clone(), rules, scenario.simulation.seed)
}

/// The settings of `spec` the model's rules read; `wasm_bytes` is the module's size (its code download time).
pub fn function_rules(
    spec: &crate::scenario::FunctionSpec,
    wasm_bytes: u64,
) -> crate::model::FunctionRules {
    let bw = spec.cold_start.download_bytes_per_s.max(1);
    crate::model::FunctionRules {
        reserved: spec.reserved_concurrency,
        provisioned: spec.provisioned_concurrency,
        allocation_delay_ns: spec.provisioned_allocation_delay_ns,
        keep_alive: spec.keep_alive.clone(),
        max_lifetime_ns: spec.max_lifetime_ns,
        memory_mb: spec.memory_mb,
        placement_ms: spec.cold_start.placement_ms.clone(),
        download_ns: u64::try_from(u128::from(wasm_bytes) * 1_000_000_000 / u128::from(bw))
            .unwrap_or(u64::MAX),
        schedule: spec.provisioned_schedule.clone(),
        autoscaling: spec.provisioned_autoscaling,
    }
}

/// How to set up the sandbox of environment `id` of function `f`.
pub fn sandbox_config(
    scenario: &crate::scenario::Scenario,
    f: crate::model::FunctionId,
    id: crate::model::SandboxId,
    clock: crate::sandbox::ClockMode,
    kind: crate::sandbox::InitializationType,
) -> SandboxConfig {
    let spec = &scenario.functions[f];
    SandboxConfig {
        function_name: spec.name.clone(),
        memory_mb: spec.memory_mb,
        ps_per_fuel: scenario.simulation.ps_per_fuel,
        // Each environment's randomness derives from the run's seed and its id.
        seed: scenario.simulation.seed ^ id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        clock,
        initialization_type: kind,
        services: None,
    }
}

/// Sandboxes of idle (and warm-reusable) environments, indexed by the slab slot of their model id.
#[derive(Default)]
pub struct SandboxSlots {
    slots: Vec<Option<(crate::model::SandboxId, Sandbox)>>,
}

impl SandboxSlots {
    fn slot(id: crate::model::SandboxId) -> usize {
        (id.0 & 0xffff_ffff) as usize
    }

    pub fn put(&mut self, id: crate::model::SandboxId, sandbox: Sandbox) {
        let slot = Self::slot(id);
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        self.slots[slot] = Some((id, sandbox));
    }

    pub fn take(&mut self, id: crate::model::SandboxId) -> Option<Sandbox> {
        match self.slots.get_mut(Self::slot(id)) {
            Some(entry) if entry.as_ref().is_some_and(|(i, _)| *i == id) => {
                entry.take().map(|(_, s)| s)
            }
            _ => None,
        }
    }
}
