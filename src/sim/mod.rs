//! The virtual-time driver: a discrete-event loop that replays a scenario's traffic against the platform model,
//! running every invocation's real handler in its sandbox and advancing time by the durations the handlers' fuel
//! and simulated waits give. The invocation lifecycle is `crate::lifecycle`'s, polled on this driver's
//! deterministic executor (`driver.rs`). Single-threaded and deterministic: the same scenario and seed give the
//! same report, byte for byte.

mod driver;
pub mod progress;
mod queue;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;

use crate::deploy::Deployment;
use crate::lifecycle::{
    Core, Driver, InvocationRecord, NotRun, Run, RunError, ServicesCore, events, request,
};
use crate::metrics::RunMetrics;
use crate::model::{FunctionId, InvokeMode};
use crate::report::RunReport;
use crate::scenario::{InvocationType, Scenario, Target};
use crate::traffic::{TrafficGenerator, UserId};
use driver::SimDriver;

/// Why a run could not complete (shared with the real-time driver).
pub use crate::lifecycle::SimError;

/// Options that do not change results.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Where the run publishes how far it has got (for a [`progress::Display`]).
    pub progress: Option<Arc<progress::RunProgress>>,
    /// Where to write the run's outputs: async destinations' invocation records go to
    /// `<out_dir>/destinations/<name>.jsonl`. `None`: records are counted, not written.
    pub out_dir: Option<std::path::PathBuf>,
}

/// Runs `scenario` in virtual time.
pub fn run_virtual(
    scenario: &Scenario,
    deployment: &Deployment,
    options: &RunOptions,
) -> Result<RunReport, SimError> {
    let sim = Sim::new(scenario, deployment, options.out_dir.clone())?;
    sim.run(options)?;
    sim.finish()
}

/// A run in virtual time.
pub struct Sim {
    d: SimDriver,
    /// The simulated end: the scenario's duration, or the last event after it.
    end_ns: u64,
}

impl Sim {
    /// A run of `scenario` with its deployed code; async destinations' records go under `out_dir`.
    pub fn new(
        scenario: &Scenario,
        deployment: &Deployment,
        out_dir: Option<std::path::PathBuf>,
    ) -> Result<Self, SimError> {
        let wasm_bytes = deployment.package_bytes();
        let core = Core::new(
            crate::lifecycle::core::platform(scenario, deployment),
            RunMetrics::new(scenario, &wasm_bytes),
            crate::sources::Sources::new(
                scenario,
                out_dir,
                crate::sandbox::VIRTUAL_EPOCH_UNIX_S * 1000,
            ),
            Core::sequential_ids(scenario.simulation.seed),
        );
        let services = ServicesCore::new(scenario)?;
        let traffic = TrafficGenerator::new(scenario)?;
        let run = Arc::new(Run::new(scenario.clone(), deployment.clone()));
        Ok(Sim {
            d: SimDriver::new(run, core, services, traffic),
            end_ns: scenario.simulation.duration_ns,
        })
    }

    fn failed(&self) -> Result<(), SimError> {
        match self.d.0.failure.borrow_mut().take() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn run(&self, options: &RunOptions) -> Result<(), SimError> {
        let shared = &self.d.0;
        let duration_ns = shared.run.scenario.simulation.duration_ns;
        let progress = options.progress.as_deref();
        crate::lifecycle::core::start(&self.d);
        let mut end_ns = self.end_ns;
        // How far the run has got, for progress (`end_ns` starts at the scenario's end).
        let mut simulated_ns = 0;
        let mut steps: u64 = 0;
        loop {
            self.failed()?;
            let next_arrival = shared.traffic.borrow().peek_time();
            let next_event = shared.events.borrow().peek_time();
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
                    && self.d.live_tasks() == 0
                    && self.d.pending_endings() == 0
                    && time > duration_ns
                    && shared.core.borrow().sources.idle()
                {
                    break; // only timers past the end remain, and no event source has work left
                }
                let Some((now, seq, event)) = shared.events.borrow_mut().pop() else {
                    break;
                };
                self.d.handle(now, seq, event);
                end_ns = end_ns.max(now);
                simulated_ns = now;
            } else if let Some(arrival) = shared.traffic.borrow_mut().pop() {
                simulated_ns = arrival.time_ns;
                self.arrive(arrival);
            }
            steps += 1;
            if let Some(p) = progress
                && steps.is_multiple_of(1 << 10)
            {
                p.update(simulated_ns, steps);
            }
        }
        self.failed()?;
        if self.d.live_tasks() > 0 {
            return Err(SimError::Run(RunError::Stuck {
                function: "(a run's handler)".into(),
            }));
        }
        shared.now.set(end_ns);
        crate::lifecycle::core::end(&self.d);
        if let Some(p) = progress {
            p.finish(steps);
        }
        self.failed()?;
        // A replayed file that changed or broke after it was checked at load: the run is short of arrivals.
        if let Some(e) = shared.traffic.borrow().replay_error() {
            return Err(SimError::Scenario(e.clone()));
        }
        Ok(())
    }

    fn arrive(&self, arrival: crate::traffic::Arrival) {
        let now = arrival.time_ns;
        self.d.0.now.set(now);
        match (arrival.target, arrival.invocation) {
            (Target::Queue(q), _) => events::send_message(&self.d, q, arrival.payload),
            (Target::Function(f), InvocationType::Event) => {
                events::enqueue_event(&self.d, f, arrival.payload);
                // The caller has its 202: a closed-loop user goes on at once.
                if let Some(user) = arrival.user {
                    self.d.0.traffic.borrow_mut().on_response(user, now);
                }
            }
            (Target::Function(f), InvocationType::RequestResponse) => {
                // Routed now: a throttled request needs no task (its 429 is immediate).
                let routed = request::route(&self.d, f, arrival.ping, InvokeMode::Synchronous);
                if routed.throttled().is_some() {
                    if let Some(user) = arrival.user {
                        self.d.0.traffic.borrow_mut().on_response(user, now);
                    }
                    return;
                }
                // A handler that cannot suspend runs now, on this stack; its end is an event of its own.
                if !self.d.0.run.calls_services(f) {
                    let start =
                        request::start(&self.d, routed, arrival.payload, request::Keep::Outcome);
                    match crate::sandbox::complete_now(start) {
                        Some(request::Started::Running(ending)) => {
                            self.d.end_at(ending, arrival.user)
                        }
                        Some(request::Started::Done(_)) => {
                            if let Some(user) = arrival.user {
                                self.d.0.traffic.borrow_mut().on_response(user, now);
                            }
                        }
                        None => self.d.system_error(RunError::Stuck {
                            function: self.d.0.run.scenario.functions[f].name.clone(),
                        }),
                    }
                    return;
                }
                let task = traffic_request(self.d.clone(), routed, arrival.payload, arrival.user);
                self.d.start(Box::pin(task));
            }
        }
    }

    /// The run's report, once it has run.
    fn finish(self) -> Result<RunReport, SimError> {
        let end_ns = self.end_ns.max(self.d.now());
        // Every task has ended, and with them every other handle on the shared state.
        let Ok(shared) = Rc::try_unwrap(self.d.0) else {
            return Err(SimError::Run(RunError::Stuck {
                function: "(a run's handler)".into(),
            }));
        };
        let mut core = shared.core.into_inner();
        core.sources.finish().map_err(RunError::from)?;
        let mut report = core.metrics.finish(end_ns);
        if let Some(services) = shared.services {
            report.services = services.into_inner().reports(
                end_ns,
                report.timeline_bucket_ns,
                report.total.timeline.len(),
            );
        }
        Ok(report)
    }

    /// Invokes function `f` with `payload` now and runs the simulation until the invocation has ended (not to the
    /// end of the scenario): `lambda-sim invoke` runs requests one after another this way.
    pub fn invoke(&self, f: FunctionId, payload: Bytes) -> Result<InvocationRecord, SimError> {
        type Invoked = Result<Box<InvocationRecord>, NotRun>;
        let slot: Rc<RefCell<Option<Invoked>>> = Rc::default();
        let out = slot.clone();
        let d = self.d.clone();
        self.d.start(Box::pin(async move {
            let outcome = request::request(&d, f, payload, false).await;
            *out.borrow_mut() = Some(outcome);
        }));
        let stuck = || {
            SimError::Run(RunError::Stuck {
                function: self.d.0.run.scenario.functions[f].name.clone(),
            })
        };
        loop {
            self.failed()?;
            if let Some(outcome) = slot.borrow_mut().take() {
                return match outcome {
                    Ok(record) => Ok(*record),
                    Err(NotRun::Throttled { reason, .. }) => Err(SimError::Throttled(reason)),
                    Err(NotRun::SystemError(_)) => Err(stuck()),
                };
            }
            let Some((now, seq, event)) = self.d.0.events.borrow_mut().pop() else {
                return Err(stuck());
            };
            self.d.handle(now, seq, event);
        }
    }
}

/// A routed request of the scenario's traffic; a closed-loop user goes on when it ends.
async fn traffic_request(
    d: SimDriver,
    routed: request::Routed,
    payload: Bytes,
    user: Option<UserId>,
) {
    request::run(&d, routed, payload, request::Keep::Outcome).await;
    if let Some(user) = user {
        let now = d.now();
        d.0.traffic.borrow_mut().on_response(user, now);
    }
}
