//! Running a cold start on sandboxes: create, init, and — when init fails — Lambda's retry of init inside the
//! invocation on a reset environment (a suppressed init). Shared by every driver.

use crate::sandbox::{
    CallLimits, CallReport, FunctionCode, Invocation, Sandbox, SandboxConfig, SandboxError,
};

/// What a cold start produced.
pub struct ColdStart {
    /// The environment, unless the invocation destroyed it.
    pub sandbox: Option<Sandbox>,
    /// The successful Init phase (its duration is the REPORT's Init Duration).
    pub init: Option<CallReport>,
    /// A failed Init phase (INIT_REPORT), after which init ran again inside the invocation.
    pub failed_init: Option<CallReport>,
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
        init + self.report.duration_ns
    }
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
        report,
    })
}

/// [`cold_invoke`] for live mode, on sandboxes made by [`Sandbox::create_async`] (real time).
pub async fn cold_invoke_async(
    code: &FunctionCode,
    config: &SandboxConfig,
    invocation: &Invocation,
    timeout_ns: u64,
) -> Result<ColdStart, SandboxError> {
    let mut sandbox = Sandbox::create_async(code, config).await?;
    let init = sandbox.init_async(CallLimits::init(0)).await?;
    let (mut sandbox, init, failed_init) = if sandbox.is_initialized() {
        (sandbox, Some(init), None)
    } else {
        (Sandbox::create_async(code, config).await?, None, Some(init))
    };
    let report = sandbox
        .invoke_async(
            invocation,
            CallLimits {
                timeout_ns,
                start_ns: 0,
            },
        )
        .await?;
    let sandbox = (!sandbox.is_destroyed()).then_some(sandbox);
    Ok(ColdStart {
        sandbox,
        init,
        failed_init,
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
        .map(|(f, bytes)| crate::model::FunctionRules::from_spec(f, *bytes))
        .collect();
    crate::model::Platform::new(scenario.account.clone(), rules, scenario.simulation.seed)
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
