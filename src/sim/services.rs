//! Simulated downstream services in the virtual-time driver.
//!
//! A handler that calls services runs as a task: its sandbox call (`invoke_async`, `init_async`) is a future that
//! this module polls. When the handler calls a service, the sandbox's [`VirtualHost`] records the call (its virtual
//! time comes from the handler's fuel and waits so far) and the future stays pending; the driver then schedules the
//! call as an event at that time, so every handler's calls reach [`Services`] in virtual-time order. The model
//! decides (answer at t, refuse, or wait for a proxy connection); at the answer time (or the invocation's deadline,
//! whichever is first) the driver hands the reply to the task and polls it again. Nothing here sleeps: a task is
//! pending exactly while one of its calls waits for the driver.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use super::{Event, Sim, SimError};
use crate::exec::ColdStart;
use crate::metrics::ServiceMetrics;
use crate::model::services::{CallDecision, CallId, ServiceAction, Services};
use crate::model::{FunctionId, SandboxId};
use crate::sandbox::{
    CallReport, InitializationType, ReplyFuture, Sandbox, SandboxError, ServiceHost, ServiceLink,
    ServiceReply, ServiceRequest,
};

/// What a task gives back when its handler is done: everything the matching `end_*` method of `execute.rs` needs.
// Moved once per task, never stored: boxing the sandbox would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(super) enum TaskOutput {
    Warm {
        start_ns: u64,
        request: u64,
        id: SandboxId,
        provisioned: bool,
        sandbox: Sandbox,
        report: Result<CallReport, SandboxError>,
    },
    Cold {
        start_ns: u64,
        request: u64,
        id: SandboxId,
        overhead_ns: u64,
        cold: Result<ColdStart, SandboxError>,
    },
    Provision {
        start_ns: u64,
        id: SandboxId,
        f: FunctionId,
        kind: InitializationType,
        result: Result<(Option<Sandbox>, u64), SandboxError>,
    },
}

pub(super) type Task = Pin<Box<dyn Future<Output = TaskOutput>>>;

/// The one call in flight between a polled task and the driver. Only one task is polled at a time, so one slot is
/// enough: a request found after a poll belongs to the task just polled, and a reply is put in just before its task
/// is polled again.
#[derive(Default)]
struct Slot {
    request: Option<ServiceRequest>,
    reply: Option<ServiceReply>,
}

/// The sandboxes' [`ServiceHost`] in virtual time.
#[derive(Default)]
struct VirtualHost(Arc<Mutex<Slot>>);

impl ServiceHost for VirtualHost {
    fn call(&self, request: ServiceRequest) -> ReplyFuture {
        lock(&self.0).request = Some(request);
        let slot = self.0.clone();
        Box::pin(std::future::poll_fn(move |_| {
            match lock(&slot).reply.take() {
                Some(reply) => Poll::Ready(reply),
                None => Poll::Pending,
            }
        }))
    }
}

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    // The slot holds plain data; a panic elsewhere cannot leave it inconsistent.
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

struct Suspended {
    task: Task,
    /// The call it is stopped at, until the driver takes it.
    call: Option<ServiceRequest>,
    /// The answer to hand it when it resumes.
    reply: Option<ServiceReply>,
}

/// A call waiting for a proxy connection.
struct Waiting {
    task: usize,
    made_ns: u64,
    deadline_ns: u64,
}

/// The services model, its metrics and the suspended tasks of a run.
pub(super) struct SimServices {
    pub(super) model: Services,
    pub(super) metrics: ServiceMetrics,
    /// Shared by every sandbox of the run (one call is in flight at a time).
    host: Arc<VirtualHost>,
    /// Polls tasks. Only WASI's own async functions could need it (e.g. a guest's sleep); service calls never do.
    runtime: tokio::runtime::Runtime,
    tasks: Vec<Option<Suspended>>,
    free: Vec<usize>,
    waiting: BTreeMap<CallId, Waiting>,
}

impl SimServices {
    pub(super) fn new(scenario: &crate::scenario::Scenario) -> Result<Option<Self>, SimError> {
        if scenario.services.is_empty() {
            return Ok(None);
        }
        let model = Services::new(scenario.services.clone(), scenario.simulation.seed)
            .map_err(|e| SimError::Services(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| SimError::Services(format!("cannot start the task runtime: {e}")))?;
        Ok(Some(SimServices {
            metrics: ServiceMetrics::new(model.len()),
            model,
            host: Arc::new(VirtualHost::default()),
            runtime,
            tasks: Vec::new(),
            free: Vec::new(),
            waiting: BTreeMap::new(),
        }))
    }

    fn link(&self, sandbox: SandboxId) -> ServiceLink {
        ServiceLink {
            host: self.host.clone(),
            sandbox: sandbox.0,
        }
    }

    fn insert(&mut self, task: Task) -> usize {
        let s = Suspended {
            task,
            call: None,
            reply: None,
        };
        match self.free.pop() {
            Some(t) => {
                self.tasks[t] = Some(s);
                t
            }
            None => {
                self.tasks.push(Some(s));
                self.tasks.len() - 1
            }
        }
    }

    /// Runs task `t` until it finishes (its output) or stops at a service call (`None`; the call is kept).
    fn poll(&mut self, t: usize) -> Option<TaskOutput> {
        let s = self.tasks.get_mut(t)?.as_mut()?;
        let slot = self.host.0.clone();
        lock(&slot).reply = s.reply.take();
        let task = &mut s.task;
        let done = self.runtime.block_on(std::future::poll_fn(|cx| {
            match task.as_mut().poll(cx) {
                Poll::Ready(output) => Poll::Ready(Some(output)),
                Poll::Pending if lock(&slot).request.is_some() => Poll::Ready(None),
                // Pending on something of WASI's own (a real sleep): wait for it.
                Poll::Pending => Poll::Pending,
            }
        }));
        match done {
            Some(output) => {
                self.tasks[t] = None;
                self.free.push(t);
                Some(output)
            }
            None => {
                s.call = lock(&slot).request.take();
                None
            }
        }
    }

    fn answer(&mut self, t: usize, reply: ServiceReply) {
        if let Some(Some(s)) = self.tasks.get_mut(t) {
            s.reply = Some(reply);
        }
    }
}

impl Sim<'_> {
    /// Whether `f`'s handlers run as suspendable tasks: the run has services and its module calls them.
    pub(super) fn calls_services(&self, f: FunctionId) -> bool {
        self.services.is_some() && self.deployment.codes[f].info().calls_services
    }

    /// The services link for a sandbox of `f` (none when `f` does not call services).
    pub(super) fn service_link(&self, f: FunctionId, id: SandboxId) -> Option<ServiceLink> {
        match &self.services {
            Some(s) if self.calls_services(f) => Some(s.link(id)),
            _ => None,
        }
    }

    /// Starts a task and runs it to its first service call (or its end).
    pub(super) fn start_task(&mut self, now: u64, task: Task) -> Result<(), SimError> {
        let Some(s) = self.services.as_mut() else {
            // `calls_services` is false without services, so no task is ever made then.
            return Err(SimError::Services(
                "a handler task was started in a run without services".into(),
            ));
        };
        let t = s.insert(task);
        // A suspended handler is in flight: the run does not end under it.
        self.in_flight += 1;
        self.poll_task(now, t)
    }

    fn poll_task(&mut self, now: u64, t: usize) -> Result<(), SimError> {
        let Some(s) = self.services.as_mut() else {
            return Ok(());
        };
        let Some(output) = s.poll(t) else {
            let at_ns = s.tasks[t]
                .as_ref()
                .and_then(|s| s.call.as_ref())
                .map_or(now, |c| c.at_ns);
            self.events
                .push(at_ns.max(now), Event::ServiceCall { task: t });
            return Ok(());
        };
        self.in_flight -= 1;
        match output {
            TaskOutput::Warm {
                start_ns,
                request,
                id,
                provisioned,
                sandbox,
                report,
            } => self.end_warm(start_ns, request, id, provisioned, sandbox, report),
            TaskOutput::Cold {
                start_ns,
                request,
                id,
                overhead_ns,
                cold,
            } => self.end_cold(start_ns, request, id, overhead_ns, cold),
            TaskOutput::Provision {
                start_ns,
                id,
                f,
                kind,
                result,
            } => self.end_provision(start_ns, id, f, kind, result),
        }
    }

    /// A task's service call comes due: the services model decides it.
    pub(super) fn service_call(&mut self, now: u64, t: usize) -> Result<(), SimError> {
        let Some(s) = self.services.as_mut() else {
            return Ok(());
        };
        let Some(request) = s.tasks[t].as_mut().and_then(|s| s.call.take()) else {
            return Ok(());
        };
        let deadline_ns = now.saturating_add(request.remaining_ns);
        let Some(service) = s.model.find(&request.service) else {
            let message = s.model.unknown_service_message(&request.service);
            s.answer(t, ServiceReply::Unknown { message });
            self.events.push(now, Event::ServiceResume { task: t });
            return Ok(());
        };
        let name = s.model.spec(service).name.clone();
        let sandbox = SandboxId(request.sandbox);
        match s
            .metrics
            .call(&mut s.model, now, service, sandbox, deadline_ns)
        {
            CallDecision::Completes { at_ns, error, .. } => {
                let reply = ServiceReply::Answered {
                    elapsed_ns: at_ns - now,
                    error: error.then(|| s.model.error_message(service)),
                };
                s.answer(t, reply);
                // A call answered after the deadline ends the invocation at the deadline (a timeout).
                self.events
                    .push(at_ns.min(deadline_ns), Event::ServiceResume { task: t });
            }
            CallDecision::Refused { refusal, .. } => {
                let message = refusal.message(&name);
                s.answer(
                    t,
                    ServiceReply::Refused {
                        elapsed_ns: 0,
                        message,
                    },
                );
                self.events.push(now, Event::ServiceResume { task: t });
            }
            CallDecision::Queued { call } => {
                s.waiting.insert(
                    call,
                    Waiting {
                        task: t,
                        made_ns: now,
                        deadline_ns,
                    },
                );
            }
        }
        self.service_actions();
        Ok(())
    }

    /// Hands the services model's decisions on waiting calls to their tasks, and schedules its timers.
    pub(super) fn service_actions(&mut self) {
        let Some(s) = self.services.as_mut() else {
            return;
        };
        while let Some(action) = s.model.poll_action() {
            let made_ns = match action {
                ServiceAction::Started { call, .. } | ServiceAction::TimedOut { call, .. } => {
                    s.waiting.get(&call).map(|w| w.made_ns)
                }
                ServiceAction::SetTimer { .. } => None,
            };
            if let Some(made_ns) = made_ns {
                s.metrics.waited_call_ended(&s.model, &action, made_ns);
            }
            match action {
                ServiceAction::Started {
                    call,
                    service,
                    completes_at_ns,
                    error,
                    ..
                } => {
                    let Some(w) = s.waiting.remove(&call) else {
                        continue;
                    };
                    let reply = ServiceReply::Answered {
                        elapsed_ns: completes_at_ns - w.made_ns,
                        error: error.then(|| s.model.error_message(service)),
                    };
                    s.answer(w.task, reply);
                    self.events.push(
                        completes_at_ns.min(w.deadline_ns),
                        Event::ServiceResume { task: w.task },
                    );
                }
                ServiceAction::TimedOut {
                    call,
                    service,
                    at_ns,
                    waited_ns,
                    refusal,
                    ..
                } => {
                    let Some(w) = s.waiting.remove(&call) else {
                        continue;
                    };
                    let message = refusal.message(&s.model.spec(service).name);
                    s.answer(
                        w.task,
                        ServiceReply::Refused {
                            elapsed_ns: waited_ns,
                            message,
                        },
                    );
                    self.events
                        .push(at_ns, Event::ServiceResume { task: w.task });
                }
                ServiceAction::SetTimer { at_ns } => self.events.push(at_ns, Event::ServiceTimer),
            }
        }
    }

    /// A task's answer time came: it runs on to its next call or its end.
    pub(super) fn service_resume(&mut self, now: u64, t: usize) -> Result<(), SimError> {
        self.poll_task(now, t)
    }

    /// A timer of the services model (a proxy connection may come free, or a waiting call give up).
    pub(super) fn service_timer(&mut self, now: u64) {
        if let Some(s) = self.services.as_mut() {
            s.metrics.timer(&mut s.model, now);
        }
        self.service_actions();
    }

    /// An environment went away: its connections close.
    pub(super) fn service_sandbox_destroyed(&mut self, now: u64, id: SandboxId) {
        if let Some(s) = self.services.as_mut() {
            s.metrics.sandbox_destroyed(&mut s.model, now, id);
        }
        self.service_actions();
    }
}

impl SimServices {
    /// The services' part of the report, with timelines in the run's `bucket_ns` buckets (`len` of them).
    pub(super) fn reports(
        &mut self,
        end_ns: u64,
        bucket_ns: u64,
        len: usize,
    ) -> Vec<crate::report::ServiceReport> {
        self.metrics.report(&mut self.model, end_ns, bucket_ns, len)
    }
}
