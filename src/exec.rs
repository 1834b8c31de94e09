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
