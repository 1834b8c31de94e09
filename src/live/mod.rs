//! The real-time driver: the same platform model as the virtual-time runner, driven by the wall clock. Handlers
//! run on tokio's blocking pool (wasmtime's sync API; epochs enforce timeouts), modelled platform overheads are
//! real sleeps, and timers are tokio tasks. The HTTP API (`crate::api`) and `run --mode realtime` both use it.

mod events;
mod services;
mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::deploy::Deployment;
use crate::logfmt;
use crate::metrics::{InvocationSample, RunMetrics, StartKind};
use crate::model::{FunctionId, Platform, SandboxId, ThrottleCause, ThrottleReason};
use crate::report::RunReport;
use crate::sandbox::{
    CallLimits, CallReport, ClockMode, InitializationType, Invocation, RequestId, SandboxConfig,
};
use crate::scenario::Scenario;
use state::{Decision, LiveState};

/// What an invocation came to.
#[derive(Debug)]
pub enum LiveOutcome {
    /// It ran (successfully or not): the report, and Lambda's log lines for it (START … REPORT).
    Ran {
        request_id: RequestId,
        report: CallReport,
        log: String,
    },
    /// lambda-sim itself failed (a 500 `ServiceException`), e.g. the sandbox pool is exhausted.
    ServiceError(String),
    /// Rejected with a 429.
    Throttled {
        reason: ThrottleReason,
        cause: ThrottleCause,
    },
}

/// A running simulated platform. Cheap to clone.
#[derive(Clone)]
pub struct LiveService {
    inner: Arc<Inner>,
}

struct Inner {
    scenario: Scenario,
    deployment: Deployment,
    names: BTreeMap<String, FunctionId>,
    started: Instant,
    state: Mutex<LiveState>,
    /// Simulated downstream services (`None` without `[[service]]`).
    services: Option<Arc<services::LiveServices>>,
}

impl LiveService {
    /// Starts the platform clock and schedules provisioned concurrency. Must be called inside a tokio runtime.
    pub fn start(scenario: Scenario, deployment: Deployment) -> Self {
        Self::start_with_output(scenario, deployment, None)
    }

    /// [`LiveService::start`], writing async destinations' records under `out_dir`.
    pub fn start_with_output(
        scenario: Scenario,
        deployment: Deployment,
        out_dir: Option<std::path::PathBuf>,
    ) -> Self {
        deployment.engine.ensure_epoch_ticker();
        let wasm_bytes = deployment.wasm_bytes();
        let model = crate::exec::platform(&scenario, &wasm_bytes);
        let metrics = RunMetrics::new(&scenario, &wasm_bytes);
        let names = scenario
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        // Records carry wall-clock timestamps: the real time at the start of the run.
        let epoch_base_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let sources = crate::sources::Sources::new(&scenario, out_dir, epoch_base_ms);
        let started = Instant::now();
        let services = services::LiveServices::new(&scenario, started);
        let service = LiveService {
            inner: Arc::new(Inner {
                state: Mutex::new(LiveState::new(
                    model,
                    metrics,
                    scenario.simulation.seed,
                    sources,
                )),
                scenario,
                deployment,
                names,
                started,
                services,
            }),
        };
        let mut st = service.lock();
        st.model.start(0);
        service.drain(&mut st, 0, None);
        st.sources.start(0);
        service.drain_sources(&mut st, 0);
        drop(st);
        service
    }

    pub fn scenario(&self) -> &Scenario {
        &self.inner.scenario
    }

    pub fn deployment(&self) -> &Deployment {
        &self.inner.deployment
    }

    /// The function called `name`.
    pub fn function(&self, name: &str) -> Option<FunctionId> {
        self.inner.names.get(name).copied()
    }

    fn now_ns(&self) -> u64 {
        self.inner.started.elapsed().as_nanos() as u64
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LiveState> {
        // A panic while holding the lock would be a lambda-sim bug; the state is still the best we have.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a closure on the model under the lock, then carries out what it decided.
    pub fn with_model<R>(&self, f: impl FnOnce(&mut Platform, u64) -> R) -> R {
        let now = self.now_ns();
        let mut st = self.lock();
        let r = f(&mut st.model, now);
        self.drain(&mut st, now, None);
        r
    }

    /// Invokes function `f` with `event` and waits for the outcome.
    pub async fn invoke(&self, f: FunctionId, event: Bytes) -> LiveOutcome {
        self.invoke_as(f, event, false).await
    }

    /// Invokes function `f`; `ping` marks a warmer's ping, counted apart from real traffic.
    pub async fn invoke_as(&self, f: FunctionId, event: Bytes, ping: bool) -> LiveOutcome {
        let arrival = self.now_ns();
        let (decision, request_id) = {
            let mut st = self.lock();
            if ping {
                st.metrics.ping_arrival(f, arrival);
            } else {
                st.metrics.arrival(f, arrival);
            }
            let token = st.next_token();
            let request_id = st.next_request_id();
            st.deciding_ping = ping;
            st.model.invoke(arrival, f, token);
            let decision = self.drain(&mut st, arrival, Some(token));
            st.deciding_ping = false;
            (decision, request_id)
        };
        let invocation = Invocation { request_id, event };
        let spec = &self.inner.scenario.functions[f];
        let timeout_ns = spec.timeout_ns;
        let memory_mb = spec.memory_mb;
        match decision {
            Decision::Throttle { reason, cause } => LiveOutcome::Throttled { reason, cause },
            Decision::Warm {
                id,
                provisioned,
                sandbox,
            } => {
                let started = self.now_ns();
                // The guest runs on a fiber of this task: no thread hand-off, waits are tokio sleeps, and
                // CPU-bound guests yield periodically (see `Sandbox::create_async`).
                let (sandbox, report, internal) = match sandbox {
                    Some(mut sandbox) => match sandbox
                        .invoke_async(
                            &invocation,
                            CallLimits {
                                timeout_ns,
                                start_ns: 0,
                            },
                        )
                        .await
                    {
                        Ok(report) => {
                            ((!sandbox.is_destroyed()).then_some(*sandbox), report, false)
                        }
                        Err(_) => (None, internal_error_report(), true),
                    },
                    None => (None, internal_error_report(), true),
                };
                self.stretch(started, report.duration_ns).await;
                let kind = if provisioned {
                    StartKind::Provisioned
                } else {
                    StartKind::Warm
                };
                let log = logfmt::invocation_lines(request_id, &report, memory_mb, None, None);
                self.finish(
                    f, id, sandbox, arrival, started, kind, 0, None, None, &report, ping,
                );
                if internal {
                    return LiveOutcome::ServiceError(
                        "lambda-sim could not run the sandbox".into(),
                    );
                }
                LiveOutcome::Ran {
                    request_id,
                    report,
                    log,
                }
            }
            Decision::Cold {
                sandbox: id,
                overhead_ns,
            } => {
                // Placement and code download: modelled, spent as a real sleep.
                tokio::time::sleep(Duration::from_nanos(overhead_ns)).await;
                let started = self.now_ns();
                let code = &self.inner.deployment.codes[f];
                // A snapshot function restores its snapshot instead of running init.
                let result = match self
                    .inner
                    .deployment
                    .snapshots
                    .get(f)
                    .and_then(Option::as_ref)
                {
                    Some(snapshot) => {
                        let config = self.sandbox_config(f, id, InitializationType::SnapStart);
                        crate::exec::restore_invoke_async(
                            snapshot,
                            &config,
                            &invocation,
                            timeout_ns,
                            0,
                        )
                        .await
                    }
                    None => {
                        let config = self.sandbox_config(f, id, InitializationType::OnDemand);
                        crate::exec::cold_invoke_async(code, &config, &invocation, timeout_ns, 0)
                            .await
                    }
                };
                match result {
                    Ok(cold) => {
                        self.stretch(started, cold.elapsed_ns()).await;
                        let init_ns = cold.init.as_ref().map(|r| r.duration_ns);
                        let log = logfmt::cold_invocation_lines(
                            request_id,
                            &cold.report,
                            memory_mb,
                            cold.cold_part(),
                            cold.init.as_ref(),
                            cold.failed_init.as_ref(),
                        );
                        let invoke_start = started + cold.elapsed_ns() - cold.report.duration_ns;
                        self.finish(
                            f,
                            id,
                            cold.sandbox,
                            arrival,
                            invoke_start,
                            StartKind::Cold,
                            overhead_ns,
                            init_ns,
                            cold.restore_ns,
                            &cold.report,
                            ping,
                        );
                        LiveOutcome::Ran {
                            request_id,
                            report: cold.report,
                            log,
                        }
                    }
                    _ => {
                        let report = internal_error_report();
                        self.finish(
                            f,
                            id,
                            None,
                            arrival,
                            started,
                            StartKind::Cold,
                            overhead_ns,
                            None,
                            None,
                            &report,
                            ping,
                        );
                        LiveOutcome::ServiceError("lambda-sim could not create the sandbox".into())
                    }
                }
            }
        }
    }

    /// Emulates a small function's CPU share: the guest ran at full speed, so wait out the rest of its duration.
    async fn stretch(&self, started_ns: u64, duration_ns: u64) {
        let elapsed = self.now_ns().saturating_sub(started_ns);
        if duration_ns > elapsed {
            tokio::time::sleep(Duration::from_nanos(duration_ns - elapsed)).await;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        f: FunctionId,
        id: SandboxId,
        sandbox: Option<crate::sandbox::Sandbox>,
        arrival_ns: u64,
        invoke_start_ns: u64,
        start: StartKind,
        overhead_ns: u64,
        init_ns: Option<u64>,
        restore_ns: Option<u64>,
        report: &CallReport,
        ping: bool,
    ) {
        let now = self.now_ns();
        tracing::debug!(
            function = %self.inner.scenario.functions[f].name,
            outcome = report.outcome.as_str(),
            start = ?start,
            duration_ms = report.duration_ns as f64 / 1e6,
            latency_ms = now.saturating_sub(arrival_ns) as f64 / 1e6,
            "invocation"
        );
        let mut st = self.lock();
        let reset = sandbox.is_none();
        if let Some(sandbox) = sandbox {
            st.put_sandbox(id, sandbox);
        }
        let end_ns = now.max(invoke_start_ns);
        let mut sample =
            InvocationSample::from_report(arrival_ns, end_ns, start, overhead_ns, init_ns, report);
        sample.restore_ns = restore_ns;
        if ping {
            st.metrics.ping(f, &sample);
        } else {
            st.metrics.invocation(f, &sample);
        }
        if let Some(init_ns) = init_ns {
            st.model.init_observed(f, init_ns);
        }
        st.model.invocation_finished(now, id, reset);
        self.drain(&mut st, now, None);
    }

    fn sandbox_config(
        &self,
        f: FunctionId,
        id: SandboxId,
        kind: InitializationType,
    ) -> SandboxConfig {
        let mut config =
            crate::exec::sandbox_config(&self.inner.scenario, f, id, ClockMode::Real, kind);
        config.services = self.inner.services.as_ref().map(|s| s.link(id));
        config
    }

    /// An environment went away: its connections to services close.
    pub(crate) fn services_sandbox_destroyed(&self, id: SandboxId) {
        if let Some(s) = &self.inner.services {
            s.sandbox_destroyed(id);
        }
    }

    fn with_services(&self, mut report: RunReport) -> RunReport {
        if let Some(s) = &self.inner.services {
            report.services = s.report(report.timeline_bucket_ns, report.total.timeline.len());
        }
        report
    }

    /// A snapshot report of everything so far (for `/metrics` and progress), without stopping.
    pub fn snapshot(&self) -> RunReport {
        let now = self.now_ns();
        let st = self.lock();
        let report = st.metrics.clone().finish(now);
        drop(st);
        self.with_services(report)
    }

    /// Ends the run: reports every live environment and returns the final report.
    pub fn finish_run(&self) -> RunReport {
        let now = self.now_ns();
        let mut st = self.lock();
        st.model.end();
        self.drain(&mut st, now, None);
        if let Err(e) = st.sources.finish() {
            tracing::error!(error = %e, "cannot write a destination record");
        }
        let metrics = st.metrics.clone();
        drop(st);
        self.with_services(metrics.finish(now))
    }

    /// Invocations running right now.
    pub fn in_flight(&self) -> u32 {
        let st = self.lock();
        (0..self.inner.scenario.functions.len())
            .map(|f| st.model.pool_state(f).busy)
            .sum()
    }
}

fn internal_error_report() -> CallReport {
    CallReport {
        outcome: crate::sandbox::Outcome::Crash,
        error: Some(Box::new(crate::sandbox::ErrorBody::new(
            "ServiceException",
            "lambda-sim could not run the sandbox",
        ))),
        response: Bytes::new(),
        fuel: 0,
        cpu_ns: 0,
        wait_ns: 0,
        duration_ns: 0,
        suppressed_init_ns: None,
        peak_memory_bytes: 0,
        log: Vec::new(),
    }
}

/// How long a real-time run waits, after its traffic, for event sources to finish (retries, queue backlogs);
/// what is still queued then is reported as pending.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Replays a scenario's traffic in real time against the live driver (no HTTP) and returns the report. Async
/// destinations' records go under `out_dir`.
pub async fn run_realtime(
    scenario: Scenario,
    deployment: Deployment,
    out_dir: Option<std::path::PathBuf>,
) -> Result<RunReport, crate::scenario::ScenarioError> {
    use crate::scenario::{InvocationType, Target};
    use crate::traffic::TrafficGenerator;
    let traffic = Arc::new(Mutex::new(TrafficGenerator::new(&scenario)?));
    let service = LiveService::start_with_output(scenario, deployment, out_dir);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        // Closed-loop users add arrivals as responses come back: wait for either the next arrival or a response.
        let next = traffic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .peek_time();
        let Some(at) = next else {
            if tasks.join_next().await.is_none() {
                break; // no arrivals left and nothing in flight
            }
            continue;
        };
        let wait = at.saturating_sub(service.now_ns());
        if wait > 0 {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_nanos(wait)) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            }
        }
        let Some(arrival) = traffic.lock().unwrap_or_else(|e| e.into_inner()).pop() else {
            continue;
        };
        let function = match (arrival.target, arrival.invocation) {
            (Target::Queue(q), _) => {
                service.send_message(q, arrival.payload);
                continue;
            }
            (Target::Function(f), InvocationType::Event) => {
                service.enqueue_event(f, arrival.payload);
                if let Some(user) = arrival.user {
                    let now = service.now_ns();
                    traffic
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .on_response(user, now);
                }
                continue;
            }
            (Target::Function(f), InvocationType::RequestResponse) => f,
        };
        let (service, traffic) = (service.clone(), traffic.clone());
        tasks.spawn(async move {
            service
                .invoke_as(function, arrival.payload, arrival.ping)
                .await;
            if let Some(user) = arrival.user {
                let now = service.now_ns();
                traffic
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .on_response(user, now);
            }
        });
    }
    // Event sources keep going after the traffic: retries, queue backlogs.
    let deadline = Instant::now() + DRAIN_LIMIT;
    while !service.sources_idle() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while service.in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = service.finish_run();
    // A replayed file that changed or broke after it was checked at load: the run is short of arrivals.
    if let Some(e) = traffic
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .replay_error()
    {
        return Err(e.clone());
    }
    Ok(report)
}
