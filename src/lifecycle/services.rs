//! Simulated downstream services, for both drivers: a handler's call (taken from its environment's channel by
//! `environment::run_guest`) reaches the services model at the call's time, the model decides it (answer at t,
//! refuse, or wait for a proxy connection), and the caller waits until the answer — or until the invocation's
//! deadline, whichever is first — before its guest resumes with the reply.
//!
//! In virtual time the call's time is where the guest's fuel and waits put it; the caller waits for the event
//! queue to reach it, so every handler's calls reach the model in virtual-time order. In real time it is now.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::Driver;
use crate::metrics::ServiceMetrics;
use crate::model::SandboxId;
use crate::model::services::{CallDecision, CallId, ServiceAction, ServiceConfigError, Services};
use crate::report::ServiceReport;
use crate::sandbox::{ServiceReply, ServiceRequest};

/// A call waiting for a proxy connection, and how its caller hears the end of the wait.
struct Waiter {
    made_ns: u64,
    deadline_ns: u64,
    reply: Arc<Mutex<ReplyCell>>,
}

#[derive(Default)]
struct ReplyCell {
    reply: Option<ServiceReply>,
    /// The caller's waker, once it waits.
    waker: Option<Waker>,
    /// When the reply came before the caller waited: its answer time, which the caller then waits for itself.
    early_at_ns: Option<u64>,
}

/// The services model of a run, its metrics, and the calls waiting for a connection.
pub struct ServicesCore {
    pub model: Services,
    pub metrics: ServiceMetrics,
    waiting: BTreeMap<CallId, Waiter>,
}

impl ServicesCore {
    /// The services of `scenario` (`None` when it declares none).
    pub fn new(scenario: &crate::scenario::Scenario) -> Result<Option<Self>, ServiceConfigError> {
        if scenario.services.is_empty() {
            return Ok(None);
        }
        let model = Services::new(scenario.services.clone(), scenario.simulation.seed)?;
        Ok(Some(ServicesCore {
            metrics: ServiceMetrics::new(model.len()),
            model,
            waiting: BTreeMap::new(),
        }))
    }

    /// The services' part of a report, with the model's counts as of `end_ns` and timelines in the run's
    /// `bucket_ns` buckets (`len` of them).
    pub fn reports(&mut self, end_ns: u64, bucket_ns: u64, len: usize) -> Vec<ServiceReport> {
        self.metrics.report(&mut self.model, end_ns, bucket_ns, len)
    }
}

/// What the model decided for a call.
enum Next {
    /// The reply, handed over when the caller's wait ends at this time.
    At(ServiceReply, u64),
    /// The call waits for a connection; the cell gets the reply.
    Wait(Arc<Mutex<ReplyCell>>),
}

/// Environment `sandbox`'s guest calls a service: the reply, once the caller has waited for it.
pub async fn call<D: Driver>(d: &D, sandbox: SandboxId, request: ServiceRequest) -> ServiceReply {
    // Virtual time: the call happens where the guest's time put it (real time: now).
    d.sleep_until(request.at_ns).await;
    let now = d.now();
    let next = {
        let Some(mut guard) = d.services() else {
            return crate::sandbox::no_services(&request.service);
        };
        let s = &mut *guard;
        let deadline_ns = now.saturating_add(request.remaining_ns);
        match s.model.find(&request.service) {
            None => {
                let message = s.model.unknown_service_message(&request.service);
                Next::At(ServiceReply::Unknown { message }, now)
            }
            Some(service) => match s
                .metrics
                .call(&mut s.model, now, service, sandbox, deadline_ns)
            {
                CallDecision::Completes { at_ns, error, .. } => {
                    let reply = ServiceReply::Answered {
                        elapsed_ns: at_ns - now,
                        error: error.then(|| s.model.error_message(service)),
                    };
                    // An answer after the deadline ends the invocation at the deadline (a timeout).
                    Next::At(reply, at_ns.min(deadline_ns))
                }
                CallDecision::Refused { refusal, .. } => {
                    let message = refusal.message(&s.model.spec(service).name);
                    let reply = ServiceReply::Refused {
                        elapsed_ns: 0,
                        message,
                    };
                    Next::At(reply, now)
                }
                CallDecision::Queued { call } => {
                    let cell = Arc::new(Mutex::new(ReplyCell::default()));
                    let waiter = Waiter {
                        made_ns: now,
                        deadline_ns,
                        reply: cell.clone(),
                    };
                    s.waiting.insert(call, waiter);
                    Next::Wait(cell)
                }
            },
        }
    };
    match next {
        Next::At(reply, at_ns) => {
            // The wait is set before the model's other decisions are carried out, so that at equal times the
            // caller resumes first, in the order of the calls.
            let wait = d.sleep_until(at_ns);
            pump(d);
            wait.await;
            reply
        }
        Next::Wait(cell) => {
            pump(d);
            let (reply, early_at_ns) = ReplyReady { d, cell }.await;
            if let Some(at_ns) = early_at_ns {
                d.sleep_until(at_ns).await;
            }
            reply
        }
    }
}

/// Resolves when [`pump`] has handed a waiting call its reply (woken at the answer time), or found it already
/// there (with its answer time, still to wait for).
struct ReplyReady<'a, D> {
    d: &'a D,
    cell: Arc<Mutex<ReplyCell>>,
}

impl<D: Driver> Future for ReplyReady<'_, D> {
    type Output = (ServiceReply, Option<u64>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut cell = lock(&self.cell);
        match cell.reply.take() {
            Some(reply) => Poll::Ready((reply, cell.early_at_ns.take())),
            None => {
                cell.waker = Some(self.d.waker(cx));
                Poll::Pending
            }
        }
    }
}

fn lock(cell: &Mutex<ReplyCell>) -> std::sync::MutexGuard<'_, ReplyCell> {
    // Plain data: a panic elsewhere cannot leave it inconsistent.
    cell.lock().unwrap_or_else(|e| e.into_inner())
}

/// Carries out the services model's decisions on waiting calls (a connection came free, or a wait gave up) and
/// sets its timers.
fn pump<D: Driver>(d: &D) {
    loop {
        let woken = {
            let Some(mut guard) = d.services() else {
                return;
            };
            let s = &mut *guard;
            let Some(action) = s.model.poll_action() else {
                return;
            };
            if let ServiceAction::Started { call, .. } | ServiceAction::TimedOut { call, .. } =
                action
                && let Some(w) = s.waiting.get(&call)
            {
                s.metrics.waited_call_ended(&s.model, &action, w.made_ns);
            }
            match action {
                ServiceAction::Started {
                    call,
                    service,
                    completes_at_ns,
                    error,
                    ..
                } => s.waiting.remove(&call).map(|w| {
                    let reply = ServiceReply::Answered {
                        elapsed_ns: completes_at_ns - w.made_ns,
                        error: error.then(|| s.model.error_message(service)),
                    };
                    (w.reply, reply, completes_at_ns.min(w.deadline_ns))
                }),
                ServiceAction::TimedOut {
                    call,
                    service,
                    at_ns,
                    waited_ns,
                    refusal,
                    ..
                } => s.waiting.remove(&call).map(|w| {
                    let message = refusal.message(&s.model.spec(service).name);
                    let reply = ServiceReply::Refused {
                        elapsed_ns: waited_ns,
                        message,
                    };
                    (w.reply, reply, at_ns)
                }),
                ServiceAction::SetTimer { at_ns } => {
                    drop(guard);
                    d.set_timer(at_ns, super::RunTimer::Services);
                    None
                }
            }
        };
        if let Some((cell, reply, at_ns)) = woken {
            let waker = {
                let mut cell = lock(&cell);
                cell.reply = Some(reply);
                let waker = cell.waker.take();
                if waker.is_none() {
                    cell.early_at_ns = Some(at_ns);
                }
                waker
            };
            if let Some(waker) = waker {
                d.wake_at(at_ns, waker);
            }
        }
    }
}

/// A timer of the services model fired (a proxy connection may come free, or a waiting call give up).
pub fn timer<D: Driver>(d: &D, now: u64) {
    if let Some(mut guard) = d.services() {
        let s = &mut *guard;
        s.metrics.timer(&mut s.model, now);
    }
    pump(d);
}

/// An environment went away: its connections close.
pub fn sandbox_destroyed<D: Driver>(d: &D, now: u64, id: SandboxId) {
    if let Some(mut guard) = d.services() {
        let s = &mut *guard;
        s.metrics.sandbox_destroyed(&mut s.model, now, id);
    }
    pump(d);
}

/// The services' part of a report as of `now`, without ending them (a copy of the metrics is reported, so the
/// run's own timelines keep their resolution); empty without services.
pub fn snapshot_reports<D: Driver>(
    d: &D,
    now: u64,
    bucket_ns: u64,
    len: usize,
) -> Vec<ServiceReport> {
    let reports = match d.services() {
        Some(mut guard) => {
            let s = &mut *guard;
            s.metrics.clone().report(&mut s.model, now, bucket_ns, len)
        }
        None => return Vec::new(),
    };
    // Reporting advanced the model to now: hand out what that decided (and re-arm its timer).
    pump(d);
    reports
}
