//! The real-time driver's shared state (behind one mutex) and how it carries out the model's actions.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::LiveService;
use crate::metrics::RunMetrics;
use crate::model::{Action, Platform, RequestToken, SandboxId, ThrottleCause, ThrottleReason};
use crate::sandbox::{CallLimits, InitializationType, RequestId, Sandbox};

/// What the model decided for one request.
pub(crate) enum Decision {
    Throttle {
        reason: ThrottleReason,
        cause: ThrottleCause,
    },
    /// Run on this idle environment (taken out of the pool while it runs).
    Warm {
        id: SandboxId,
        provisioned: bool,
        sandbox: Option<Box<Sandbox>>,
    },
    Cold {
        sandbox: SandboxId,
        overhead_ns: u64,
    },
}

pub(crate) struct LiveState {
    pub model: Platform,
    pub metrics: RunMetrics,
    sandboxes: crate::exec::SandboxSlots,
    next_token: u64,
    rng: StdRng,
    /// The request being decided (under this lock) is a warmer's ping.
    pub deciding_ping: bool,
    /// Async queues and SQS mappings.
    pub sources: crate::sources::Sources,
}

impl LiveState {
    pub fn new(
        model: Platform,
        metrics: RunMetrics,
        seed: u64,
        sources: crate::sources::Sources,
    ) -> Self {
        LiveState {
            model,
            metrics,
            sandboxes: Default::default(),
            next_token: 0,
            rng: StdRng::seed_from_u64(seed),
            deciding_ping: false,
            sources,
        }
    }

    pub fn next_token(&mut self) -> RequestToken {
        self.next_token += 1;
        self.next_token
    }

    pub fn next_request_id(&mut self) -> RequestId {
        RequestId::from_random(self.rng.random())
    }

    pub fn put_sandbox(&mut self, id: SandboxId, sandbox: Sandbox) {
        self.sandboxes.put(id, sandbox);
    }

    pub fn take_sandbox(&mut self, id: SandboxId) -> Option<Sandbox> {
        self.sandboxes.take(id)
    }
}

impl LiveService {
    /// Carries out every pending action of the model; returns the decision for `token`, if one was made.
    pub(crate) fn drain(
        &self,
        st: &mut LiveState,
        now: u64,
        token: Option<RequestToken>,
    ) -> Decision {
        let mut decision = Decision::Throttle {
            reason: ThrottleReason::ConcurrentInvocationLimitExceeded,
            cause: ThrottleCause::Concurrency,
        };
        let mut touched = Vec::new();
        while let Some(action) = st.model.poll_action() {
            match action {
                Action::RunWarm {
                    request,
                    sandbox,
                    provisioned,
                } if Some(request) == token => {
                    decision = Decision::Warm {
                        id: sandbox,
                        provisioned,
                        sandbox: st.take_sandbox(sandbox).map(Box::new),
                    };
                }
                Action::ColdStart {
                    request,
                    sandbox,
                    function,
                    overhead_ns,
                } if Some(request) == token => {
                    st.metrics.sandbox_created(function, now, false);
                    touched.push(function);
                    decision = Decision::Cold {
                        sandbox,
                        overhead_ns,
                    };
                }
                Action::Throttle {
                    request,
                    function,
                    reason,
                    cause,
                } if Some(request) == token => {
                    if st.deciding_ping {
                        st.metrics.ping_throttled(function, now);
                    } else {
                        st.metrics.throttled(function, now, reason, cause);
                    }
                    decision = Decision::Throttle { reason, cause };
                }
                Action::RunWarm { .. } | Action::ColdStart { .. } | Action::Throttle { .. } => {
                    // Decisions are only made for the request being invoked, under this same lock.
                    tracing::error!("model decided for an unknown request");
                }
                Action::Provision {
                    sandbox,
                    function,
                    overhead_ns,
                } => {
                    st.metrics.sandbox_created(function, now, true);
                    touched.push(function);
                    let kind = InitializationType::ProvisionedConcurrency;
                    self.spawn_provision(sandbox, function, overhead_ns, kind);
                }
                Action::Prewarm {
                    sandbox,
                    function,
                    overhead_ns,
                } => {
                    st.metrics.sandbox_created(function, now, false);
                    st.metrics.prewarm(function, now);
                    touched.push(function);
                    self.spawn_provision(
                        sandbox,
                        function,
                        overhead_ns,
                        InitializationType::OnDemand,
                    );
                }
                Action::Destroy {
                    sandbox,
                    function,
                    reason,
                    provisioned,
                    created_ns,
                    busy_ns,
                } => {
                    st.take_sandbox(sandbox);
                    self.services_sandbox_destroyed(sandbox);
                    st.metrics.sandbox_destroyed(
                        function,
                        now,
                        reason,
                        now.saturating_sub(created_ns),
                        busy_ns,
                        provisioned,
                    );
                    touched.push(function);
                }
                Action::ProvisionedConfigured { function, count } => {
                    st.metrics.provisioned_configured(function, now, count);
                }
                Action::SetTimer { at_ns, timer } => {
                    let service = self.clone();
                    tokio::spawn(async move {
                        let wait = at_ns.saturating_sub(service.now_ns());
                        tokio::time::sleep(Duration::from_nanos(wait)).await;
                        let now = service.now_ns();
                        let mut st = service.lock();
                        st.model.timer(now, timer);
                        service.drain(&mut st, now, None);
                    });
                }
            }
        }
        for f in (0..self.inner.scenario.functions.len())
            .filter(|f| touched.contains(f) || token.is_some())
        {
            let state = st.model.pool_state(f);
            st.metrics.pool_state(f, now, state);
        }
        decision
    }

    /// Creates and initializes an environment in the background — a provisioned one, or (`OnDemand`) one the
    /// hybrid keep-alive policy pre-warms — then tells the model it is ready.
    fn spawn_provision(&self, id: SandboxId, f: usize, overhead_ns: u64, kind: InitializationType) {
        let service = self.clone();
        let provisioned = matches!(kind, InitializationType::ProvisionedConcurrency);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_nanos(overhead_ns)).await;
            let config = service.sandbox_config(f, id, kind);
            let timeout = if provisioned {
                crate::limits::provisioned_init_limit_ns(
                    service.inner.scenario.functions[f].timeout_ns,
                )
            } else {
                crate::limits::INIT_LIMIT_NS
            };
            let started = service.now_ns();
            let code = &service.inner.deployment.codes[f];
            let snapshot = service.inner.deployment.snapshots[f].as_ref();
            let result = async {
                // A pre-warmed environment of a snapshot function is restored, like its cold starts.
                if let (false, Some(snapshot)) = (provisioned, snapshot) {
                    let config = crate::exec::snapshot_start(&config);
                    let sandbox = Sandbox::restore_async(snapshot.code(), &config)
                        .await
                        .ok()?;
                    tokio::time::sleep(Duration::from_nanos(snapshot.restore_ns())).await;
                    return Some((sandbox, snapshot.restore_ns()));
                }
                let mut sandbox = Sandbox::create_async(code, &config).await.ok()?;
                let report = sandbox
                    .init_async(CallLimits {
                        timeout_ns: timeout,
                        start_ns: 0,
                    })
                    .await
                    .ok()?;
                sandbox
                    .is_initialized()
                    .then_some((sandbox, report.duration_ns))
            }
            .await;
            let now = service.now_ns();
            let mut st = service.lock();
            let ok = result.is_some();
            let init_ns = result
                .as_ref()
                .map_or(now.saturating_sub(started), |(_, ns)| *ns);
            if provisioned {
                st.metrics.provisioned_init(f, started, init_ns);
            } else if ok {
                st.model.init_observed(f, init_ns);
            }
            if let Some((sandbox, _)) = result {
                st.put_sandbox(id, sandbox);
            }
            st.model.sandbox_ready(now, id, ok);
            service.drain(&mut st, now, None);
        });
    }
}
