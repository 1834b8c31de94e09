//! One function, one sandbox at a time: what `lambda-sim invoke` runs.
//!
//! The first invocation is a cold start (create + init), later ones are warm until a crash, timeout or
//! out-of-memory error destroys the sandbox. A failed init is reported with an INIT_REPORT line and retried inside
//! the invocation on a fresh sandbox (a suppressed init), as Lambda does. With a snapshot
//! ([`LocalFunction::with_snapshot`]) a cold start restores the snapshot instead and runs no init.

use bytes::Bytes;
use rand::{RngExt, SeedableRng};

use crate::logfmt;
use crate::sandbox::{
    CallLimits, CallReport, FunctionCode, InitializationType, Invocation, Sandbox, SandboxConfig,
    SandboxError, Snapshot,
};

/// What happened to one invocation.
#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub request_id: crate::sandbox::RequestId,
    /// The successful on-demand init that made this a cold start.
    pub init: Option<CallReport>,
    /// A failed init just before this invocation (its INIT_REPORT), after which init ran again inside it.
    pub failed_init: Option<CallReport>,
    /// The Restore Duration, when this invocation's sandbox was restored from a snapshot.
    pub restore_ns: Option<u64>,
    pub report: CallReport,
}

impl InvocationRecord {
    /// Cold when a sandbox was created for it.
    pub fn is_cold(&self) -> bool {
        self.init.is_some()
            || self.restore_ns.is_some()
            || self.failed_init.is_some()
            || self.report.suppressed_init_ns.is_some()
    }

    /// The lines Lambda would log: init output, INIT_REPORT, START, the invocation's output, END, REPORT.
    pub fn log_lines(&self, memory_mb: u64) -> String {
        let cold = match (&self.init, self.restore_ns) {
            (Some(init), _) => logfmt::ColdPart::Init(init.duration_ns),
            (None, Some(ns)) => logfmt::ColdPart::Restore(ns),
            (None, None) => logfmt::ColdPart::None,
        };
        logfmt::cold_invocation_lines(
            self.request_id,
            &self.report,
            memory_mb,
            cold,
            self.init.as_ref(),
            self.failed_init.as_ref(),
        )
    }
}

/// A function with at most one sandbox, invoked one request at a time.
pub struct LocalFunction {
    code: FunctionCode,
    /// Cold starts restore this snapshot instead of running init.
    snapshot: Option<Snapshot>,
    config: SandboxConfig,
    timeout_ns: u64,
    sandbox: Option<Sandbox>,
    rng: rand::rngs::StdRng,
    /// Virtual time: the sum of all calls so far.
    now_ns: u64,
    sandboxes_created: u64,
}

impl LocalFunction {
    pub fn new(code: FunctionCode, config: SandboxConfig, timeout_ns: u64) -> Self {
        let rng = rand::rngs::StdRng::seed_from_u64(config.seed);
        LocalFunction {
            code,
            snapshot: None,
            config,
            timeout_ns,
            sandbox: None,
            rng,
            now_ns: 0,
            sandboxes_created: 0,
        }
    }

    /// Cold starts restore `snapshot` (taken from `code`) instead of running init.
    pub fn with_snapshot(mut self, snapshot: Snapshot) -> Self {
        self.config.initialization_type = InitializationType::SnapStart;
        self.snapshot = Some(snapshot);
        self
    }

    pub fn sandboxes_created(&self) -> u64 {
        self.sandboxes_created
    }

    fn next_config(&mut self) -> SandboxConfig {
        let mut config = self.config.clone();
        // Each sandbox gets its own random stream, derived from the run's seed.
        config.seed = self
            .config
            .seed
            .wrapping_add(self.sandboxes_created.wrapping_mul(0x9E37_79B9));
        self.sandboxes_created += 1;
        config
    }

    /// Invokes the function once.
    pub fn invoke(&mut self, event: Bytes) -> Result<InvocationRecord, SandboxError> {
        let request_id = crate::sandbox::RequestId::from_random(self.rng.random());
        let invocation = Invocation { request_id, event };
        if let Some(mut sandbox) = self.sandbox.take() {
            let limits = CallLimits {
                timeout_ns: self.timeout_ns,
                start_ns: self.now_ns,
            };
            let report = sandbox.invoke(&invocation, limits)?;
            self.now_ns += report.duration_ns;
            if !sandbox.is_destroyed() {
                self.sandbox = Some(sandbox);
            }
            return Ok(InvocationRecord {
                request_id,
                init: None,
                failed_init: None,
                restore_ns: None,
                report,
            });
        }
        let config = self.next_config();
        let cold = match &self.snapshot {
            Some(snapshot) => crate::exec::restore_invoke(
                snapshot,
                &config,
                &invocation,
                self.timeout_ns,
                self.now_ns,
            )?,
            None => crate::exec::cold_invoke(
                &self.code,
                &config,
                &invocation,
                self.timeout_ns,
                self.now_ns,
            )?,
        };
        self.now_ns += cold.elapsed_ns();
        self.sandbox = cold.sandbox;
        Ok(InvocationRecord {
            request_id,
            init: cold.init,
            failed_init: cold.failed_init,
            restore_ns: cold.restore_ns,
            report: cold.report,
        })
    }
}
