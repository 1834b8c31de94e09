//! Running handlers on sandboxes for the virtual-time driver: warm invocations, cold starts (init or snapshot
//! restore, then the invocation) and inits off the request path (provisioned concurrency, pre-warms).
//!
//! Each has a start and an end. Most functions run start to end at once: the handler runs to completion and its
//! fuel and simulated waits give the time it ends. A function whose module calls simulated services runs as a
//! suspendable task instead (`services.rs`): its service calls must reach the services model in virtual-time order
//! with every other handler's, so the handler stops at each call until the driver reaches the call's answer time.
//! Both ways end in the same `end_*` method, so results do not depend on the path.

use bytes::Bytes;

use super::services::TaskOutput;
use super::{Event, Sim, SimError};
use crate::exec::ColdStart;
use crate::metrics::{InvocationSample, StartKind};
use crate::model::{FunctionId, SandboxId};
use crate::sandbox::{CallLimits, CallReport, InitializationType, Outcome, Sandbox, SandboxError};

impl Sim<'_> {
    pub(super) fn run_warm(
        &mut self,
        now: u64,
        request: u64,
        id: SandboxId,
        provisioned: bool,
    ) -> Result<(), SimError> {
        let invocation = self.invocation(request);
        let Some(mut sandbox) = self.take_sandbox(id) else {
            return Err(SimError::Sandbox(SandboxError::Destroyed));
        };
        let f = self.pending[request as usize]
            .as_ref()
            .map_or(0, |p| p.function);
        let limits = CallLimits {
            timeout_ns: self.scenario.functions[f].timeout_ns,
            start_ns: now,
        };
        if self.calls_services(f) {
            let task = Box::pin(async move {
                let report = sandbox.invoke_async(&invocation, limits).await;
                TaskOutput::Warm {
                    start_ns: now,
                    request,
                    id,
                    provisioned,
                    sandbox,
                    report,
                }
            });
            return self.start_task(now, task);
        }
        let report = sandbox.invoke(&invocation, limits);
        self.end_warm(now, request, id, provisioned, sandbox, report)
    }

    pub(super) fn end_warm(
        &mut self,
        start_ns: u64,
        request: u64,
        id: SandboxId,
        provisioned: bool,
        sandbox: Sandbox,
        report: Result<CallReport, SandboxError>,
    ) -> Result<(), SimError> {
        let report = report?;
        let arrival = self.pending[request as usize]
            .as_ref()
            .map_or(start_ns, |p| p.arrival_ns);
        let reset = sandbox.is_destroyed();
        if !reset {
            self.put_sandbox(id, sandbox);
        }
        let start = if provisioned {
            StartKind::Provisioned
        } else {
            StartKind::Warm
        };
        let sample = sample(arrival, start_ns, start, 0, None, &report);
        self.finish_request(request, id, sample, reset, report.body());
        Ok(())
    }

    pub(super) fn run_cold(
        &mut self,
        now: u64,
        request: u64,
        id: SandboxId,
        f: FunctionId,
        overhead_ns: u64,
    ) -> Result<(), SimError> {
        let invocation = self.invocation(request);
        let timeout_ns = self.scenario.functions[f].timeout_ns;
        let code = &self.deployment.codes[f];
        let init_start = now + overhead_ns;
        let snapshot = self.deployment.snapshots.get(f).and_then(Option::as_ref);
        if self.calls_services(f) {
            let (code, snapshot) = (code.clone(), snapshot.cloned());
            let kind = if snapshot.is_some() {
                InitializationType::SnapStart
            } else {
                InitializationType::OnDemand
            };
            let config = self.sandbox_config(f, id, kind);
            let task = Box::pin(async move {
                let cold = match &snapshot {
                    Some(snapshot) => {
                        crate::exec::restore_invoke_async(
                            snapshot,
                            &config,
                            &invocation,
                            timeout_ns,
                            init_start,
                        )
                        .await
                    }
                    None => {
                        crate::exec::cold_invoke_async(
                            &code,
                            &config,
                            &invocation,
                            timeout_ns,
                            init_start,
                        )
                        .await
                    }
                };
                TaskOutput::Cold {
                    start_ns: now,
                    request,
                    id,
                    overhead_ns,
                    cold,
                }
            });
            return self.start_task(now, task);
        }
        // A snapshot function restores its snapshot instead of running init.
        let cold = match snapshot {
            Some(snapshot) => {
                let config = self.sandbox_config(f, id, InitializationType::SnapStart);
                crate::exec::restore_invoke(snapshot, &config, &invocation, timeout_ns, init_start)
            }
            None => {
                let config = self.sandbox_config(f, id, InitializationType::OnDemand);
                crate::exec::cold_invoke(code, &config, &invocation, timeout_ns, init_start)
            }
        };
        self.end_cold(now, request, id, overhead_ns, cold)
    }

    pub(super) fn end_cold(
        &mut self,
        start_ns: u64,
        request: u64,
        id: SandboxId,
        overhead_ns: u64,
        cold: Result<ColdStart, SandboxError>,
    ) -> Result<(), SimError> {
        let arrival = self.pending[request as usize]
            .as_ref()
            .map_or(start_ns, |p| p.arrival_ns);
        let init_start = start_ns + overhead_ns;
        let (sample, reset, response) = match cold {
            Ok(cold) => {
                let init_ns = cold.init.as_ref().map(|r| r.duration_ns);
                let invoke_start = init_start + cold.elapsed_ns() - cold.report.duration_ns;
                let mut sample = sample(
                    arrival,
                    invoke_start,
                    StartKind::Cold,
                    overhead_ns,
                    init_ns,
                    &cold.report,
                );
                sample.restore_ns = cold.restore_ns;
                let reset = cold.sandbox.is_none();
                if let Some(sandbox) = cold.sandbox {
                    self.put_sandbox(id, sandbox);
                }
                (sample, reset, cold.report.body())
            }
            // The environment could not even be created (e.g. its initial memory exceeds the memory size).
            Err(SandboxError::Instantiate(message)) => {
                let outcome = if message.contains("OutOfMemory") {
                    Outcome::OutOfMemory
                } else {
                    Outcome::Crash
                };
                let s = InvocationSample {
                    arrival_ns: arrival,
                    end_ns: init_start,
                    start: StartKind::Cold,
                    overhead_ns,
                    init_ns: None,
                    restore_ns: None,
                    duration_ns: 0,
                    billed_ms: 0,
                    outcome,
                    peak_memory_bytes: 0,
                };
                (s, true, Bytes::new())
            }
            Err(e) => return Err(e.into()),
        };
        self.finish_request(request, id, sample, reset, response);
        Ok(())
    }

    /// Creates and initializes an environment off any request's path: a provisioned one, or (`OnDemand`) one the
    /// hybrid keep-alive policy pre-warms.
    pub(super) fn provision(
        &mut self,
        now: u64,
        id: SandboxId,
        f: FunctionId,
        overhead_ns: u64,
        kind: InitializationType,
    ) -> Result<(), SimError> {
        let provisioned = matches!(kind, InitializationType::ProvisionedConcurrency);
        let config = self.sandbox_config(f, id, kind);
        let start = now + overhead_ns;
        // Provisioned init is not bound by the 10 s on-demand limit: max(130 s, timeout).
        let limit = if provisioned {
            crate::limits::provisioned_init_limit_ns(self.scenario.functions[f].timeout_ns)
        } else {
            crate::limits::INIT_LIMIT_NS
        };
        let limits = CallLimits {
            timeout_ns: limit,
            start_ns: start,
        };
        // A pre-warmed environment of a snapshot function is restored, like its cold starts.
        let snapshot = match (provisioned, &self.deployment.snapshots[f]) {
            (false, Some(snapshot)) => Some(snapshot),
            _ => None,
        };
        if self.calls_services(f) {
            let code = match snapshot {
                Some(snapshot) => snapshot.code().clone(),
                None => self.deployment.codes[f].clone(),
            };
            let restore = snapshot.is_some();
            let config = if restore {
                crate::exec::snapshot_start(&config)
            } else {
                config
            };
            let task = Box::pin(async move {
                let created = if restore {
                    Sandbox::restore_async(&code, &config).await
                } else {
                    Sandbox::create_async(&code, &config).await
                };
                let result = match created {
                    Ok(mut sandbox) if !restore => {
                        let init = sandbox.init_async(limits).await;
                        init.map(|report| (Some(sandbox), report.duration_ns))
                    }
                    Ok(sandbox) => Ok((Some(sandbox), 0)),
                    Err(SandboxError::Instantiate(_)) => Ok((None, 0)),
                    Err(e) => Err(e),
                };
                TaskOutput::Provision {
                    start_ns: start,
                    id,
                    f,
                    kind,
                    result,
                }
            });
            return self.start_task(now, task);
        }
        if let Some(snapshot) = snapshot {
            let config = crate::exec::snapshot_start(&config);
            let sandbox = match Sandbox::restore(snapshot.code(), &config) {
                Ok(sandbox) => Some(sandbox),
                Err(SandboxError::Instantiate(_)) => None,
                Err(e) => return Err(e.into()),
            };
            return self.end_provision(start, id, f, kind, Ok((sandbox, 0)));
        }
        let result = match Sandbox::create(&self.deployment.codes[f], &config) {
            Ok(mut sandbox) => sandbox
                .init(limits)
                .map(|report| (Some(sandbox), report.duration_ns)),
            Err(SandboxError::Instantiate(_)) => Ok((None, 0)),
            Err(e) => Err(e),
        };
        self.end_provision(start, id, f, kind, result)
    }

    /// An environment made off the request path is ready at `start_ns` + its init (or restore) time; `result` holds
    /// the environment (none if it could not be created or its init failed) and its init duration.
    pub(super) fn end_provision(
        &mut self,
        start_ns: u64,
        id: SandboxId,
        f: FunctionId,
        kind: InitializationType,
        result: Result<(Option<Sandbox>, u64), SandboxError>,
    ) -> Result<(), SimError> {
        let (sandbox, init_ns) = result?;
        let provisioned = matches!(kind, InitializationType::ProvisionedConcurrency);
        let restored = !provisioned && self.deployment.snapshots[f].is_some();
        let sandbox = sandbox.filter(|s| restored || s.is_initialized());
        let ok = sandbox.is_some();
        if let Some(sandbox) = sandbox {
            self.put_sandbox(id, sandbox);
        }
        let ready_ns = if restored {
            let restore_ns = self.deployment.snapshots[f]
                .as_ref()
                .map_or(0, |s| s.restore_ns());
            if ok {
                // For greedy-dual, a cold start of this function costs a restore.
                self.model.init_observed(f, restore_ns);
            }
            start_ns + restore_ns
        } else {
            if provisioned {
                self.metrics.provisioned_init(f, start_ns, init_ns);
            } else if ok {
                self.model.init_observed(f, init_ns);
            }
            start_ns + init_ns
        };
        self.in_flight += 1;
        self.events.push(ready_ns, Event::Ready { sandbox: id, ok });
        Ok(())
    }
}

/// A virtual-time sample: the invocation ends when its duration has elapsed.
fn sample(
    arrival_ns: u64,
    invoke_start_ns: u64,
    start: StartKind,
    overhead_ns: u64,
    init_ns: Option<u64>,
    report: &CallReport,
) -> InvocationSample {
    let end_ns = invoke_start_ns + report.duration_ns;
    InvocationSample::from_report(arrival_ns, end_ns, start, overhead_ns, init_ns, report)
}
