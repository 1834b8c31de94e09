//! Simulated downstream services in real time: the same services model as the virtual-time driver, driven by the
//! wall clock. A handler's call really waits: until the answer time the model gives, or, behind a full proxy pool,
//! until the model hands the call a connection (a tokio timer drives the model's `SetTimer`s). The sandbox bounds
//! every call by the invocation's deadline, dropping the wait when it passes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::metrics::ServiceMetrics;
use crate::model::SandboxId;
use crate::model::services::{CallDecision, CallId, ServiceAction, Services};
use crate::report::ServiceReport;
use crate::sandbox::{ReplyFuture, ServiceHost, ServiceLink, ServiceReply, ServiceRequest};

/// How a call that waited for a proxy connection ended.
enum Waited {
    /// It got a connection; the answer comes at `completes_at_ns`.
    Started {
        completes_at_ns: u64,
        error: Option<String>,
    },
    /// It gave up.
    GaveUp { message: String },
}

struct State {
    model: Services,
    metrics: ServiceMetrics,
    waiting: BTreeMap<CallId, (oneshot::Sender<Waited>, u64)>,
}

/// The run's services, shared by every sandbox of the real-time driver.
pub(super) struct LiveServices {
    started: Instant,
    state: Mutex<State>,
}

/// A cheap handle sandboxes hold.
#[derive(Clone)]
struct Host(Arc<LiveServices>);

impl LiveServices {
    /// `started` is the run's clock origin.
    pub(super) fn new(
        scenario: &crate::scenario::Scenario,
        started: Instant,
    ) -> Option<Arc<LiveServices>> {
        if scenario.services.is_empty() {
            return None;
        }
        // The scenario parser has checked every spec the model would refuse.
        let model = Services::new(scenario.services.clone(), scenario.simulation.seed).ok()?;
        Some(Arc::new(LiveServices {
            started,
            state: Mutex::new(State {
                metrics: ServiceMetrics::new(model.len()),
                model,
                waiting: BTreeMap::new(),
            }),
        }))
    }

    pub(super) fn link(self: &Arc<Self>, sandbox: SandboxId) -> ServiceLink {
        ServiceLink {
            host: Arc::new(Host(self.clone())),
            sandbox: sandbox.0,
        }
    }

    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data: a panic elsewhere cannot leave it half-updated in a way worse than losing the run.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An environment went away: its connections close.
    pub(super) fn sandbox_destroyed(self: &Arc<Self>, id: SandboxId) {
        let mut st = self.lock();
        let now = self.now_ns();
        let State { model, metrics, .. } = &mut *st;
        metrics.sandbox_destroyed(model, now, id);
        self.pump(&mut st);
    }

    /// The services' part of a report, as of now, with timelines in `bucket_ns` buckets (`len` of them). A snapshot
    /// (`/metrics`) reports from a copy of the timelines, so the run's own keep their resolution.
    pub(super) fn report(self: &Arc<Self>, bucket_ns: u64, len: usize) -> Vec<ServiceReport> {
        let mut st = self.lock();
        let now = self.now_ns();
        let State { model, metrics, .. } = &mut *st;
        let reports = metrics.clone().report(model, now, bucket_ns, len);
        // Reporting advanced the model to now: hand out what that decided (and re-arm its timer).
        self.pump(&mut st);
        reports
    }

    /// Hands the model's decisions on waiting calls to their callers; arms its timers. The clock is read under the
    /// lock, so the model's inputs come in nondecreasing time.
    fn pump(self: &Arc<Self>, st: &mut State) {
        while let Some(action) = st.model.poll_action() {
            let made_ns = match action {
                ServiceAction::Started { call, .. } | ServiceAction::TimedOut { call, .. } => {
                    st.waiting.get(&call).map(|(_, made_ns)| *made_ns)
                }
                ServiceAction::SetTimer { .. } => None,
            };
            if let Some(made_ns) = made_ns {
                st.metrics.waited_call_ended(&st.model, &action, made_ns);
            }
            match action {
                ServiceAction::Started {
                    call,
                    service,
                    completes_at_ns,
                    error,
                    ..
                } => {
                    let Some((tx, _)) = st.waiting.remove(&call) else {
                        continue;
                    };
                    let error = error.then(|| st.model.error_message(service));
                    // The caller may be gone (its invocation's deadline passed): nothing to tell.
                    let _ = tx.send(Waited::Started {
                        completes_at_ns,
                        error,
                    });
                }
                ServiceAction::TimedOut {
                    call,
                    service,
                    refusal,
                    ..
                } => {
                    let Some((tx, _)) = st.waiting.remove(&call) else {
                        continue;
                    };
                    let message = refusal.message(&st.model.spec(service).name);
                    let _ = tx.send(Waited::GaveUp { message });
                }
                ServiceAction::SetTimer { at_ns } => {
                    let this = self.clone();
                    tokio::spawn(async move {
                        sleep_until(&this, at_ns).await;
                        let mut st = this.lock();
                        let now = this.now_ns();
                        let State { model, metrics, .. } = &mut *st;
                        metrics.timer(model, now);
                        this.pump(&mut st);
                    });
                }
            }
        }
    }

    async fn call(self: Arc<Self>, request: ServiceRequest) -> ServiceReply {
        enum Next {
            Reply(ServiceReply),
            AnswerAt(u64, ServiceReply),
            Wait(oneshot::Receiver<Waited>, u64),
        }
        let next = {
            let mut st = self.lock();
            let now = self.now_ns();
            match st.model.find(&request.service) {
                None => Next::Reply(ServiceReply::Unknown {
                    message: st.model.unknown_service_message(&request.service),
                }),
                Some(service) => {
                    let name = st.model.spec(service).name.clone();
                    let deadline_ns = now.saturating_add(request.remaining_ns);
                    let sandbox = SandboxId(request.sandbox);
                    let State { model, metrics, .. } = &mut *st;
                    let decision = metrics.call(model, now, service, sandbox, deadline_ns);
                    let next = match decision {
                        CallDecision::Completes { at_ns, error, .. } => {
                            let reply = ServiceReply::Answered {
                                elapsed_ns: at_ns - now,
                                error: error.then(|| model.error_message(service)),
                            };
                            Next::AnswerAt(at_ns, reply)
                        }
                        CallDecision::Refused { refusal, .. } => {
                            Next::Reply(ServiceReply::Refused {
                                elapsed_ns: 0,
                                message: refusal.message(&name),
                            })
                        }
                        CallDecision::Queued { call } => {
                            let (tx, rx) = oneshot::channel();
                            st.waiting.insert(call, (tx, now));
                            Next::Wait(rx, now)
                        }
                    };
                    self.pump(&mut st);
                    next
                }
            }
        };
        match next {
            Next::Reply(reply) => reply,
            Next::AnswerAt(at_ns, reply) => {
                sleep_until(&self, at_ns).await;
                reply
            }
            Next::Wait(rx, made_ns) => match rx.await {
                Ok(Waited::Started {
                    completes_at_ns,
                    error,
                }) => {
                    sleep_until(&self, completes_at_ns).await;
                    ServiceReply::Answered {
                        elapsed_ns: completes_at_ns.saturating_sub(made_ns),
                        error,
                    }
                }
                Ok(Waited::GaveUp { message }) => ServiceReply::Refused {
                    elapsed_ns: self.now_ns().saturating_sub(made_ns),
                    message,
                },
                // The services were dropped with the run.
                Err(_) => ServiceReply::Refused {
                    elapsed_ns: 0,
                    message: "the run ended during the call".into(),
                },
            },
        }
    }
}

async fn sleep_until(services: &LiveServices, at_ns: u64) {
    let wait = at_ns.saturating_sub(services.now_ns());
    if wait > 0 {
        tokio::time::sleep(Duration::from_nanos(wait)).await;
    }
}

impl ServiceHost for Host {
    fn call(&self, request: ServiceRequest) -> ReplyFuture {
        Box::pin(self.0.clone().call(request))
    }
}
