//! The virtual-time driver: a discrete-event loop that replays a scenario's traffic against the platform model,
//! running every invocation's real handler in its sandbox and advancing time by the durations the handlers'
//! fuel and simulated waits give. Single-threaded and deterministic: the same scenario and seed give the same
//! report, byte for byte.

mod events;
mod execute;
mod queue;
mod services;

use std::time::Instant;

use bytes::Bytes;

use crate::deploy::Deployment;
use crate::metrics::{InvocationSample, RunMetrics};
use crate::model::{Action, FunctionId, Platform, SandboxId, Timer};
use crate::report::RunReport;
use crate::sandbox::{
    ClockMode, InitializationType, Invocation, RequestId, Sandbox, SandboxConfig, SandboxError,
};
use crate::scenario::{InvocationType, Scenario, ScenarioError, Target};
use crate::traffic::{TrafficGenerator, UserId};
use queue::EventQueue;

/// Why a run could not complete.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("sandbox failure: {0}")]
    Sandbox(#[from] SandboxError),
    /// A run output (destination records) could not be written.
    #[error("cannot write run output: {0}")]
    Output(String),
    /// The simulated services could not be set up.
    #[error("cannot set up the simulated services: {0}")]
    Services(String),
}

/// Options that do not change results.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Show a progress bar on stderr (only when stderr is a terminal and the run lasts more than ~2 s).
    pub progress: bool,
    /// Where to write the run's outputs: async destinations' invocation records go to
    /// `<out_dir>/destinations/<name>.jsonl`. `None`: records are counted, not written.
    pub out_dir: Option<std::path::PathBuf>,
}

enum Event {
    /// An invocation's response is ready.
    Done {
        request: u64,
    },
    /// A provisioned or pre-warmed environment finished (or failed) its init.
    Ready {
        sandbox: SandboxId,
        ok: bool,
    },
    Timer(Timer),
    /// A timer of the event sources.
    Source(crate::sources::SourceTimer),
    /// A suspended handler's service call comes due (`services.rs`).
    ServiceCall {
        task: usize,
    },
    /// A suspended handler's service call has its answer: the handler runs on.
    ServiceResume {
        task: usize,
    },
    /// A timer of the services model.
    ServiceTimer,
}

/// A request between arrival and response.
struct Pending {
    function: FunctionId,
    /// A traffic request, an async event's attempt or an SQS batch.
    origin: events::Origin,
    /// The handler's response, once it has run (for event sources).
    response: Bytes,
    arrival_ns: u64,
    payload: Bytes,
    user: Option<UserId>,
    /// A warmer's ping (counted apart from real traffic).
    ping: bool,
    /// Filled once it has run.
    sample: Option<InvocationSample>,
    sandbox: SandboxId,
    reset: bool,
}

/// Runs `scenario` in virtual time.
pub fn run_virtual(
    scenario: &Scenario,
    deployment: &Deployment,
    options: &RunOptions,
) -> Result<RunReport, SimError> {
    let mut sim = Sim::new(scenario, deployment, options.out_dir.clone())?;
    sim.run(options)?;
    sim.sources
        .finish()
        .map_err(|e| SimError::Output(e.to_string()))?;
    let end_ns = sim.end_ns;
    let services = sim.services.take();
    let mut report = sim.metrics.finish(end_ns);
    if let Some(mut s) = services {
        report.services = s.reports(
            end_ns,
            report.timeline_bucket_ns,
            report.total.timeline.len(),
        );
    }
    Ok(report)
}

struct Sim<'a> {
    scenario: &'a Scenario,
    deployment: &'a Deployment,
    model: Platform,
    metrics: RunMetrics,
    traffic: TrafficGenerator,
    events: EventQueue<Event>,
    /// Sandboxes by slab slot of their id.
    sandboxes: crate::exec::SandboxSlots,
    pending: Vec<Option<Pending>>,
    free_pending: Vec<u64>,
    /// Invocations running and provisioned inits in progress.
    in_flight: u64,
    /// Numbers request ids.
    requests_started: u64,
    dirty: Vec<FunctionId>,
    end_ns: u64,
    /// Async queues and SQS mappings, and what they hold.
    sources: crate::sources::Sources,
    /// Results for event sources found while draining the model's actions, handled after the drain.
    deferred: Vec<(events::Origin, events::RequestEnd, Bytes)>,
    /// Simulated downstream services and the handlers suspended in their calls (`None` without `[[service]]`).
    services: Option<services::SimServices>,
}

impl<'a> Sim<'a> {
    fn new(
        scenario: &'a Scenario,
        deployment: &'a Deployment,
        out_dir: Option<std::path::PathBuf>,
    ) -> Result<Self, SimError> {
        let wasm_bytes = deployment.wasm_bytes();
        Ok(Sim {
            scenario,
            deployment,
            model: crate::exec::platform(scenario, &wasm_bytes),
            metrics: RunMetrics::new(scenario, &wasm_bytes),
            traffic: TrafficGenerator::new(scenario)?,
            events: EventQueue::default(),
            sandboxes: Default::default(),
            pending: Vec::new(),
            free_pending: Vec::new(),
            in_flight: 0,
            requests_started: 0,
            dirty: Vec::new(),
            end_ns: scenario.simulation.duration_ns,
            sources: crate::sources::Sources::new(
                scenario,
                out_dir,
                crate::sandbox::VIRTUAL_EPOCH_UNIX_S * 1000,
            ),
            deferred: Vec::new(),
            services: services::SimServices::new(scenario)?,
        })
    }

    fn run(&mut self, options: &RunOptions) -> Result<(), SimError> {
        let mut progress = options
            .progress
            .then(|| progress::Progress::new(self.scenario.simulation.duration_ns));
        let duration_ns = self.scenario.simulation.duration_ns;
        self.model.start(0);
        self.apply_actions(0)?;
        self.sources.start(0);
        self.apply_source_work(0)?;
        let mut steps: u64 = 0;
        loop {
            let next_arrival = self.traffic.peek_time();
            let next_event = self.events.peek_time();
            // Completions and timers before arrivals at the same instant: a finishing invocation frees its
            // environment for the request arriving then.
            let take_event = match (next_event, next_arrival) {
                (Some(e), Some(a)) => e <= a,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_event {
                let time = next_event.unwrap_or(0);
                if next_arrival.is_none()
                    && self.in_flight == 0
                    && time > duration_ns
                    && self.sources.idle()
                {
                    break; // only timers past the end remain, and no event source has work left
                }
                let Some((now, event)) = self.events.pop() else {
                    break;
                };
                self.handle_event(now, event)?;
                self.end_ns = self.end_ns.max(now);
            } else if let Some(arrival) = self.traffic.pop() {
                let now = arrival.time_ns;
                match (arrival.target, arrival.invocation) {
                    (Target::Queue(q), _) => self.send_message(now, q, arrival.payload)?,
                    (Target::Function(f), InvocationType::Event) => {
                        self.enqueue_event(now, f, arrival.payload)?;
                        // The caller has its 202: a closed-loop user goes on at once.
                        if let Some(user) = arrival.user {
                            self.traffic.on_response(user, now);
                        }
                    }
                    (Target::Function(f), InvocationType::RequestResponse) => {
                        self.handle_arrival(now, f, arrival.payload, arrival.user, arrival.ping)?
                    }
                }
            }
            steps += 1;
            if let Some(p) = &mut progress
                && steps.is_multiple_of(1 << 14)
            {
                p.update(self.end_ns.max(next_arrival.unwrap_or(0)), steps);
            }
        }
        self.model.end();
        self.apply_actions(self.end_ns)?;
        if let Some(p) = progress {
            p.finish(steps);
        }
        // A replayed file that changed or broke after it was checked at load: the run is short of arrivals.
        if let Some(e) = self.traffic.replay_error() {
            return Err(SimError::Scenario(e.clone()));
        }
        Ok(())
    }

    fn handle_arrival(
        &mut self,
        now: u64,
        f: FunctionId,
        payload: Bytes,
        user: Option<UserId>,
        ping: bool,
    ) -> Result<(), SimError> {
        if ping {
            self.metrics.ping_arrival(f, now);
        } else {
            self.metrics.arrival(f, now);
        }
        self.invoke(now, f, payload, user, ping, events::Origin::Sync)
    }

    /// An event source's request (async attempt or SQS batch) to the platform: an invocation like any other.
    fn submit(
        &mut self,
        now: u64,
        f: FunctionId,
        payload: Bytes,
        origin: events::Origin,
    ) -> Result<(), SimError> {
        self.metrics.arrival(f, now);
        self.invoke(now, f, payload, None, false, origin)
    }

    fn invoke(
        &mut self,
        now: u64,
        f: FunctionId,
        payload: Bytes,
        user: Option<UserId>,
        ping: bool,
        origin: events::Origin,
    ) -> Result<(), SimError> {
        let slot = self.free_pending.pop().unwrap_or_else(|| {
            self.pending.push(None);
            (self.pending.len() - 1) as u64
        });
        self.pending[slot as usize] = Some(Pending {
            function: f,
            origin,
            response: Bytes::new(),
            arrival_ns: now,
            payload,
            user,
            ping,
            sample: None,
            sandbox: SandboxId(u64::MAX),
            reset: false,
        });
        self.model.invoke(now, f, slot);
        self.dirty.push(f);
        self.apply_actions(now)
    }

    fn handle_event(&mut self, now: u64, event: Event) -> Result<(), SimError> {
        match event {
            Event::Done { request } => {
                self.in_flight -= 1;
                let Some(p) = self.pending[request as usize].take() else {
                    return Ok(());
                };
                self.free_pending.push(request);
                if let Some(sample) = &p.sample {
                    if p.ping {
                        self.metrics.ping(p.function, sample);
                    } else {
                        self.metrics.invocation(p.function, sample);
                    }
                    if let Some(init_ns) = sample.init_ns {
                        self.model.init_observed(p.function, init_ns);
                    }
                }
                self.model.invocation_finished(now, p.sandbox, p.reset);
                self.dirty.push(p.function);
                if let Some(user) = p.user {
                    self.traffic.on_response(user, now);
                }
                if p.origin != events::Origin::Sync {
                    let end = p
                        .sample
                        .as_ref()
                        .map_or(events::RequestEnd::SystemError, |s| {
                            events::RequestEnd::Ran(s.outcome)
                        });
                    self.deferred.push((p.origin, end, p.response));
                }
            }
            Event::Ready { sandbox, ok } => {
                self.in_flight -= 1;
                if let Some(f) = self.model.function_of(sandbox) {
                    self.dirty.push(f);
                }
                if !ok {
                    self.take_sandbox(sandbox);
                }
                self.model.sandbox_ready(now, sandbox, ok);
            }
            Event::Timer(timer) => self.model.timer(now, timer),
            Event::Source(timer) => self.source_timer(now, timer)?,
            Event::ServiceCall { task } => self.service_call(now, task)?,
            Event::ServiceResume { task } => self.service_resume(now, task)?,
            Event::ServiceTimer => self.service_timer(now),
        }
        self.apply_actions(now)
    }

    fn put_sandbox(&mut self, id: SandboxId, sandbox: Sandbox) {
        self.sandboxes.put(id, sandbox);
    }

    fn take_sandbox(&mut self, id: SandboxId) -> Option<Sandbox> {
        self.sandboxes.take(id)
    }

    fn sandbox_config(
        &self,
        f: FunctionId,
        id: SandboxId,
        kind: InitializationType,
    ) -> SandboxConfig {
        let mut config =
            crate::exec::sandbox_config(self.scenario, f, id, ClockMode::Virtual, kind);
        config.services = self.service_link(f, id);
        config
    }

    fn apply_actions(&mut self, now: u64) -> Result<(), SimError> {
        while let Some(action) = self.model.poll_action() {
            match action {
                Action::RunWarm {
                    request,
                    sandbox,
                    provisioned,
                } => self.run_warm(now, request, sandbox, provisioned)?,
                Action::ColdStart {
                    request,
                    sandbox,
                    function,
                    overhead_ns,
                } => {
                    self.metrics.sandbox_created(function, now, false);
                    self.run_cold(now, request, sandbox, function, overhead_ns)?;
                }
                Action::Throttle {
                    request,
                    function,
                    reason,
                    cause,
                } => {
                    let (ping, origin) = self.pending[request as usize]
                        .as_ref()
                        .map_or((false, events::Origin::Sync), |p| (p.ping, p.origin));
                    if origin != events::Origin::Sync {
                        self.deferred
                            .push((origin, events::RequestEnd::Throttled, Bytes::new()));
                    }
                    if ping {
                        self.metrics.ping_throttled(function, now);
                    } else {
                        self.metrics.throttled(function, now, reason, cause);
                    }
                    if let Some(p) = self.pending[request as usize].take() {
                        self.free_pending.push(request);
                        if let Some(user) = p.user {
                            self.traffic.on_response(user, now);
                        }
                    }
                }
                Action::Provision {
                    sandbox,
                    function,
                    overhead_ns,
                } => {
                    self.metrics.sandbox_created(function, now, true);
                    let kind = InitializationType::ProvisionedConcurrency;
                    self.provision(now, sandbox, function, overhead_ns, kind)?;
                }
                Action::Prewarm {
                    sandbox,
                    function,
                    overhead_ns,
                } => {
                    self.metrics.sandbox_created(function, now, false);
                    self.metrics.prewarm(function, now);
                    self.dirty.push(function);
                    let kind = InitializationType::OnDemand;
                    self.provision(now, sandbox, function, overhead_ns, kind)?;
                }
                Action::Destroy {
                    sandbox,
                    function,
                    reason,
                    provisioned,
                    created_ns,
                    busy_ns,
                } => {
                    self.take_sandbox(sandbox);
                    self.service_sandbox_destroyed(now, sandbox);
                    self.metrics.sandbox_destroyed(
                        function,
                        now,
                        reason,
                        now.saturating_sub(created_ns),
                        busy_ns,
                        provisioned,
                    );
                    self.dirty.push(function);
                }
                Action::SetTimer { at_ns, timer } => self.events.push(at_ns, Event::Timer(timer)),
                Action::ProvisionedConfigured { function, count } => {
                    self.metrics.provisioned_configured(function, now, count);
                }
            }
        }
        while let Some(f) = self.dirty.pop() {
            if !self.dirty.contains(&f) {
                self.metrics.pool_state(f, now, self.model.pool_state(f));
            }
        }
        // Event sources hear about throttles and finished requests after the model's actions are drained.
        for (origin, end, response) in std::mem::take(&mut self.deferred) {
            self.source_result(now, origin, end, response)?;
        }
        Ok(())
    }

    fn invocation(&mut self, request: u64) -> Invocation {
        self.requests_started += 1;
        let payload = self.pending[request as usize]
            .as_ref()
            .map(|p| p.payload.clone())
            .unwrap_or_default();
        Invocation {
            request_id: RequestId::nth(self.scenario.simulation.seed, self.requests_started),
            event: payload,
        }
    }

    fn finish_request(
        &mut self,
        request: u64,
        sandbox: SandboxId,
        sample: InvocationSample,
        reset: bool,
        response: Bytes,
    ) {
        let end = sample.end_ns;
        if let Some(p) = self.pending[request as usize].as_mut() {
            // Only event sources read the response (partial batch responses, destination records): the
            // handler's response, or Lambda's error body when it failed.
            if p.origin != events::Origin::Sync {
                p.response = response;
            }
            p.sample = Some(sample);
            p.sandbox = sandbox;
            p.reset = reset;
        }
        self.in_flight += 1;
        self.events.push(end, Event::Done { request });
    }
}

mod progress {
    //! The progress bar: simulated time done and events per second, on stderr when it is a terminal.
    //! Wall-clock reads here only decide when to draw; they never touch results.

    use std::io::IsTerminal;

    use super::Instant;
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

    pub struct Progress {
        started: Instant,
        bar: Option<ProgressBar>,
        total_s: u64,
        enabled: bool,
    }

    impl Progress {
        pub fn new(duration_ns: u64) -> Self {
            Progress {
                started: Instant::now(),
                bar: None,
                total_s: duration_ns / 1_000_000_000,
                enabled: std::io::stderr().is_terminal(),
            }
        }

        pub fn update(&mut self, sim_ns: u64, steps: u64) {
            if !self.enabled || self.started.elapsed().as_secs_f64() < 2.0 {
                return;
            }
            let total_s = self.total_s;
            // Created lazily: short runs never show a bar.
            let bar = self.bar.get_or_insert_with(|| {
                let bar = ProgressBar::with_draw_target(
                    Some(total_s.max(1)),
                    ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    ProgressStyle::with_template("{bar:40} {pos}/{len} simulated s  {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar
            });
            let rate = steps as f64 / self.started.elapsed().as_secs_f64();
            bar.set_position((sim_ns / 1_000_000_000).min(total_s));
            bar.set_message(format!("{rate:.0} events/s"));
        }

        pub fn finish(self, _steps: u64) {
            if let Some(bar) = self.bar {
                bar.finish_and_clear();
            }
        }
    }
}
