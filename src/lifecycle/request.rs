//! A request from arrival to outcome: the model routes it (throttle, warm environment, or cold start), the handler
//! runs, the invocation ends at its start plus its duration, and then it is recorded (metrics, the model's view of
//! the environment) and its environment released.

use bytes::Bytes;

use super::core::{Route, Routing, apply_actions};
use super::environment::cold_start;
use super::{Driver, RunError};
use crate::logfmt;
use crate::metrics::{InvocationSample, StartKind};
use crate::model::{FunctionId, RequestId, SandboxId, ThrottleCause, ThrottleReason};
use crate::sandbox::{CallLimits, CallReport, Invocation};

/// What happened to one invocation that ran: everything its log lines and records are made of.
#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub request_id: RequestId,
    pub start: StartKind,
    /// The successful on-demand init that made this a cold start.
    pub init: Option<CallReport>,
    /// A failed init just before this invocation (its INIT_REPORT), after which init ran again inside it.
    pub failed_init: Option<CallReport>,
    /// The Restore Duration, when this invocation's environment was restored from a snapshot.
    pub restore_ns: Option<u64>,
    pub report: CallReport,
}

impl InvocationRecord {
    /// Cold when an environment was created for it.
    pub fn is_cold(&self) -> bool {
        self.start == StartKind::Cold
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

/// How a request ended.
#[derive(Debug)]
pub enum RequestOutcome {
    /// The handler ran (successfully or not).
    Ran(Box<InvocationRecord>),
    /// Rejected with a 429.
    Throttled {
        reason: ThrottleReason,
        cause: ThrottleCause,
    },
    /// lambda-sim itself failed (a 500 `ServiceException`), e.g. every sandbox slot is in use.
    SystemError(String),
}

impl RequestOutcome {
    /// How an event source sees the end: the handler's outcome and response, a throttle, or a system error.
    pub fn source_end(&self) -> (crate::sources::RequestEnd, Bytes) {
        use crate::sources::RequestEnd;
        match self {
            RequestOutcome::Ran(r) => (RequestEnd::Ran(r.report.outcome), r.report.body()),
            RequestOutcome::Throttled { .. } => (RequestEnd::Throttled, Bytes::new()),
            RequestOutcome::SystemError(_) => (RequestEnd::SystemError, Bytes::new()),
        }
    }
}

/// A request for function `f` with `payload`: routes it, runs it and records it. `ping` marks a warmer's ping
/// (counted apart from real traffic).
pub async fn request<D: Driver>(
    d: &D,
    f: FunctionId,
    payload: Bytes,
    ping: bool,
) -> RequestOutcome {
    let arrival = d.now();
    let (token, actions) = {
        let mut core = d.core();
        if ping {
            core.metrics.ping_arrival(f, arrival);
        } else {
            core.metrics.arrival(f, arrival);
        }
        let token = core.next_token();
        core.model.invoke(arrival, f, token);
        core.touched(f);
        (token, core.take_actions())
    };
    let routing = Routing { token, ping };
    let Some(route) = apply_actions(d, arrival, actions, Some(routing)) else {
        let error = "the platform model did not route a request".to_string();
        tracing::error!("{error}");
        return RequestOutcome::SystemError(error);
    };
    match route {
        Route::Throttle { reason, cause } => RequestOutcome::Throttled { reason, cause },
        Route::Warm {
            sandbox,
            provisioned,
        } => warm(d, f, sandbox, provisioned, arrival, payload, ping).await,
        Route::Cold {
            sandbox,
            overhead_ns,
        } => cold(d, f, sandbox, overhead_ns, arrival, payload, ping).await,
    }
}

async fn warm<D: Driver>(
    d: &D,
    f: FunctionId,
    id: SandboxId,
    provisioned: bool,
    arrival: u64,
    payload: Bytes,
    ping: bool,
) -> RequestOutcome {
    let start = if provisioned {
        StartKind::Provisioned
    } else {
        StartKind::Warm
    };
    let (env, request_id) = {
        let mut core = d.core();
        (core.take_environment(id), core.next_request_id())
    };
    let invocation = Invocation {
        request_id,
        event: payload,
    };
    let Some(mut env) = env else {
        let error = RunError::Sandbox(crate::sandbox::SandboxError::Destroyed);
        return system_error(d, f, id, arrival, start, 0, error, ping).await;
    };
    let invoke_start = d.now();
    let limits = CallLimits {
        timeout_ns: d.run().scenario.functions[f].timeout_ns,
        start_ns: invoke_start,
    };
    let report = match env.invoke(d, &invocation, limits).await {
        Ok(report) => report,
        Err(e) => return system_error(d, f, id, arrival, start, 0, e.into(), ping).await,
    };
    let reset = env.sandbox.is_destroyed();
    if !reset {
        d.core().put_environment(id, env);
    }
    let record = InvocationRecord {
        request_id,
        start,
        init: None,
        failed_init: None,
        restore_ns: None,
        report,
    };
    finish(d, f, id, arrival, invoke_start, 0, reset, record, ping).await
}

async fn cold<D: Driver>(
    d: &D,
    f: FunctionId,
    id: SandboxId,
    overhead_ns: u64,
    arrival: u64,
    payload: Bytes,
    ping: bool,
) -> RequestOutcome {
    let invocation = Invocation {
        request_id: d.core().next_request_id(),
        event: payload,
    };
    let cold = match cold_start(d, f, id, &invocation, arrival + overhead_ns).await {
        Ok(cold) => cold,
        Err(e) => {
            let error = e.into();
            return system_error(d, f, id, arrival, StartKind::Cold, overhead_ns, error, ping)
                .await;
        }
    };
    let reset = cold.environment.is_none();
    if let Some(env) = cold.environment {
        d.core().put_environment(id, env);
    }
    let record = InvocationRecord {
        request_id: invocation.request_id,
        start: StartKind::Cold,
        init: cold.init,
        failed_init: cold.failed_init,
        restore_ns: cold.restore_ns,
        report: cold.report,
    };
    finish(
        d,
        f,
        id,
        arrival,
        cold.invoke_start_ns,
        overhead_ns,
        reset,
        record,
        ping,
    )
    .await
}

/// The invocation ends at its start plus its duration: wait for then, record it and release its environment.
#[allow(clippy::too_many_arguments)]
async fn finish<D: Driver>(
    d: &D,
    f: FunctionId,
    id: SandboxId,
    arrival: u64,
    invoke_start: u64,
    overhead_ns: u64,
    reset: bool,
    record: InvocationRecord,
    ping: bool,
) -> RequestOutcome {
    d.sleep_until(invoke_start + record.report.duration_ns)
        .await;
    let now = d.now();
    let init_ns = record.init.as_ref().map(|r| r.duration_ns);
    let mut sample = InvocationSample::from_report(
        arrival,
        now.max(invoke_start),
        record.start,
        overhead_ns,
        init_ns,
        &record.report,
    );
    sample.restore_ns = record.restore_ns;
    release(d, f, id, now, &sample, reset, ping);
    RequestOutcome::Ran(Box::new(record))
}

/// Records a finished invocation and tells the model its environment is free (or gone: `reset`).
fn release<D: Driver>(
    d: &D,
    f: FunctionId,
    id: SandboxId,
    now: u64,
    sample: &InvocationSample,
    reset: bool,
    ping: bool,
) {
    tracing::trace!(
        function = f,
        outcome = sample.outcome.as_str(),
        start = ?sample.start,
        duration_ms = sample.duration_ns as f64 / 1e6,
        latency_ms = sample.end_ns.saturating_sub(sample.arrival_ns) as f64 / 1e6,
        "invocation"
    );
    let actions = {
        let mut core = d.core();
        if ping {
            core.metrics.ping(f, sample);
        } else {
            core.metrics.invocation(f, sample);
        }
        if let Some(init_ns) = sample.init_ns {
            core.model.init_observed(f, init_ns);
        }
        core.model.invocation_finished(now, id, reset);
        core.touched(f);
        core.take_actions()
    };
    apply_actions(d, now, actions, None);
}

/// lambda-sim could not run the request (e.g. no sandbox slot): the environment is gone, the invocation is
/// recorded as a crash, and the driver hears of the error.
#[allow(clippy::too_many_arguments)]
async fn system_error<D: Driver>(
    d: &D,
    f: FunctionId,
    id: SandboxId,
    arrival: u64,
    start: StartKind,
    overhead_ns: u64,
    error: RunError,
    ping: bool,
) -> RequestOutcome {
    let message = crate::sandbox::error_chain(&error);
    tracing::error!(error = %message, "lambda-sim could not run an invocation");
    let now = d.now();
    let report = CallReport::system_error(&message);
    let sample = InvocationSample::from_report(arrival, now, start, overhead_ns, None, &report);
    release(d, f, id, now, &sample, true, ping);
    d.system_error(error);
    RequestOutcome::SystemError(message)
}
