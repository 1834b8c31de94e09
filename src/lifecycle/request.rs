//! A request from arrival to outcome: the model routes it (throttle, warm environment, or cold start), the handler
//! runs, the invocation ends at its start plus its duration, and then it is recorded (metrics, the model's view of
//! the environment) and its environment released.

use bytes::Bytes;

use super::core::{Route, Routing, apply_actions};
use super::environment::cold_start;
use super::{Driver, RunError};
use crate::logfmt;
use crate::metrics::{ColdStartParts, InvocationSample, StartKind};
use crate::model::{
    EnvironmentStart, FunctionId, InvokeMode, Outcome, RequestId, SandboxId, ThrottleCause,
    ThrottleReason,
};
use crate::sandbox::{CallLimits, CallReport, Invocation};

/// What happened to one invocation that ran: everything its log lines and records are made of.
#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub request_id: RequestId,
    pub start: StartKind,
    /// The successful on-demand init that made this a cold start.
    pub init: Option<Box<CallReport>>,
    /// A failed init just before this invocation (its INIT_REPORT), after which init ran again inside it.
    pub failed_init: Option<Box<CallReport>>,
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
            self.init.as_deref(),
            self.failed_init.as_deref(),
        )
    }
}

/// What a caller will read of a request that runs: the less is kept, the less memory a running request holds
/// and the less is touched when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Only how it ended (the simulator's own traffic).
    Outcome,
    /// How it ended and the response body (event sources read partial batch responses and write records).
    Response,
    /// Everything: the [`InvocationRecord`] (the Invoke API's logs, `lambda-sim invoke`).
    Record,
}

/// How a request ended.
#[derive(Debug)]
pub enum RequestOutcome {
    /// The handler ran (successfully or not): everything about it ([`Keep::Record`]).
    Ran(Box<InvocationRecord>),
    /// The handler ran: its outcome, and the response body if kept ([`Keep::Response`]).
    Ended { outcome: Outcome, response: Bytes },
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
            RequestOutcome::Ended { outcome, response } => {
                (RequestEnd::Ran(*outcome), response.clone())
            }
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
) -> Result<Box<InvocationRecord>, NotRun> {
    let routed = route(d, f, ping, InvokeMode::Synchronous);
    match run(d, routed, payload, Keep::Record).await {
        RequestOutcome::Ran(record) => Ok(record),
        RequestOutcome::Throttled { reason, cause } => Err(NotRun::Throttled { reason, cause }),
        RequestOutcome::SystemError(message) => Err(NotRun::SystemError(message)),
        // `Keep::Record` always keeps the record.
        RequestOutcome::Ended { .. } => Err(NotRun::SystemError(
            "the invocation's record was not kept".into(),
        )),
    }
}

/// Why a request did not run.
#[derive(Debug)]
pub enum NotRun {
    /// Rejected with a 429.
    Throttled {
        reason: ThrottleReason,
        cause: ThrottleCause,
    },
    /// lambda-sim itself failed (a 500 `ServiceException`).
    SystemError(String),
}

/// A request as the model routed it on arrival.
#[derive(Debug, Clone, Copy)]
pub struct Routed {
    pub function: FunctionId,
    pub arrival_ns: u64,
    pub ping: bool,
    /// `None` if the model routed nothing (a lambda-sim bug, answered as a system error).
    pub route: Option<Route>,
}

impl Routed {
    /// Throttled: a 429, and nothing to run.
    pub fn throttled(&self) -> Option<RequestOutcome> {
        match self.route {
            Some(Route::Throttle { reason, cause }) => {
                Some(RequestOutcome::Throttled { reason, cause })
            }
            _ => None,
        }
    }
}

/// A request for function `f` arrives now: the model routes it (throttle, warm or cold), and its decisions are
/// carried out. Nothing waits here, so a driver can route at once and run only what needs running. `mode` says
/// whether a client waits for it (synchronous requests count against the request-rate limit).
pub fn route<D: Driver>(d: &D, f: FunctionId, ping: bool, mode: InvokeMode) -> Routed {
    let arrival = d.now();
    let (token, actions) = {
        let mut core = d.core();
        if ping {
            core.metrics.ping_arrival(f, arrival);
        } else {
            core.metrics.arrival(f, arrival);
        }
        let token = core.next_token();
        core.model.invoke(arrival, f, token, mode);
        core.touched(f);
        (token, core.take_actions())
    };
    let route = apply_actions(d, arrival, actions, Some(Routing { token, ping }));
    Routed {
        function: f,
        arrival_ns: arrival,
        ping,
        route,
    }
}

/// Runs a routed request with `payload` to its outcome, keeping what the caller will read: [`start`], then a wait
/// until the invocation's end, then [`end`].
pub async fn run<D: Driver>(d: &D, routed: Routed, payload: Bytes, keep: Keep) -> RequestOutcome {
    match start(d, routed, payload, keep).await {
        Started::Done(outcome) => outcome,
        Started::Running(ending) => {
            d.sleep_until(ending.end_ns()).await;
            end(d, ending)
        }
    }
}

/// How far [`start`] got.
pub enum Started {
    /// Nothing runs (a throttle or lambda-sim's own failure): the outcome.
    Done(RequestOutcome),
    /// The handler has run: the invocation ends at [`Ending::end_ns`], when [`end`] records it.
    Running(Ending),
}

/// Runs a routed request's handler: on its warm environment, or after a cold start. The invocation's end is still
/// to come: wait until [`Ending::end_ns`], then call [`end`]. A driver that knows the handler cannot suspend (virtual
/// time, no services) may poll this once, on its own stack, and wait for the end its own way.
pub async fn start<D: Driver>(d: &D, routed: Routed, payload: Bytes, keep: Keep) -> Started {
    let Routed {
        function: f,
        arrival_ns: arrival,
        ping,
        route,
    } = routed;
    let Some(route) = route else {
        let error = "the platform model did not route a request".to_string();
        tracing::error!("{error}");
        return Started::Done(RequestOutcome::SystemError(error));
    };
    let start = Start {
        f,
        arrival,
        ping,
        keep,
    };
    match route {
        Route::Throttle { reason, cause } => {
            Started::Done(RequestOutcome::Throttled { reason, cause })
        }
        Route::Warm {
            sandbox,
            provisioned,
        } => warm(d, start, sandbox, provisioned, payload).await,
        // Boxed: a cold start's future is large, and the warm path, the common one, should not carry its room.
        Route::Cold {
            sandbox,
            overhead_ns,
            start: ready,
        } => Box::pin(cold(d, start, sandbox, overhead_ns, ready, payload)).await,
    }
}

/// What every start knows of its request.
#[derive(Debug, Clone, Copy)]
struct Start {
    f: FunctionId,
    arrival: u64,
    ping: bool,
    keep: Keep,
}

async fn warm<D: Driver>(
    d: &D,
    start_: Start,
    id: SandboxId,
    provisioned: bool,
    payload: Bytes,
) -> Started {
    let Start {
        f, arrival, ping, ..
    } = start_;
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
        return system_error(d, f, id, arrival, start, None, error, ping);
    };
    let invoke_start = d.now();
    let limits = CallLimits {
        timeout_ns: d.run().scenario.functions[f].timeout_ns,
        start_ns: invoke_start,
    };
    let report = match env.invoke(d, &invocation, limits).await {
        Ok(report) => report,
        Err(e) => {
            return system_error(d, f, id, arrival, start, None, e.into(), ping);
        }
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
    Started::Running(Ending::new(start_, id, reset, record, invoke_start, None))
}

async fn cold<D: Driver>(
    d: &D,
    start_: Start,
    id: SandboxId,
    overhead_ns: u64,
    ready: EnvironmentStart,
    payload: Bytes,
) -> Started {
    let Start {
        f, arrival, ping, ..
    } = start_;
    let invocation = Invocation {
        request_id: d.core().next_request_id(),
        event: payload,
    };
    // The model drew placement and download as one overhead; the download is the package at the function's
    // bandwidth, so placement is the rest.
    let download_ns = d.run().download_ns(f).min(overhead_ns);
    let parts = Some(Box::new(ColdStartParts {
        placement_ns: overhead_ns - download_ns,
        download_ns,
        runtime_ns: match ready {
            EnvironmentStart::Init { runtime_ns, .. } => runtime_ns,
            EnvironmentStart::Restore { .. } => 0,
        },
    }));
    let cold = match cold_start(d, f, id, ready, &invocation, arrival + overhead_ns).await {
        Ok(cold) => cold,
        Err(error) => {
            return system_error(d, f, id, arrival, StartKind::Cold, parts, error, ping);
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
    Started::Running(Ending::new(
        start_,
        id,
        reset,
        record,
        cold.invoke_start_ns,
        parts,
    ))
}

/// What an invocation that ran leaves until it ends: its sample for the metrics and what the caller keeps. Made as
/// soon as the handler has run, while its report is fresh; the rest of the report is dropped then.
pub struct Ending {
    f: FunctionId,
    id: SandboxId,
    /// The environment is gone (a timeout, crash or out-of-memory error reset it).
    reset: bool,
    ping: bool,
    sample: InvocationSample,
    invoke_start: u64,
    kept: RequestOutcome,
}

impl Ending {
    fn new(
        start: Start,
        id: SandboxId,
        reset: bool,
        record: InvocationRecord,
        invoke_start: u64,
        parts: Option<Box<ColdStartParts>>,
    ) -> Self {
        let init_ns = record.init.as_ref().map(|r| r.duration_ns);
        let end_ns = invoke_start + record.report.duration_ns;
        let mut sample = InvocationSample::from_report(
            start.arrival,
            end_ns,
            record.start,
            parts,
            init_ns,
            &record.report,
        );
        sample.restore_ns = record.restore_ns;
        let outcome = record.report.outcome;
        let kept = match start.keep {
            Keep::Record => RequestOutcome::Ran(Box::new(record)),
            Keep::Response => RequestOutcome::Ended {
                outcome,
                response: record.report.body(),
            },
            Keep::Outcome => RequestOutcome::Ended {
                outcome,
                response: Bytes::new(),
            },
        };
        Ending {
            f: start.f,
            id,
            reset,
            ping: start.ping,
            sample,
            invoke_start,
            kept,
        }
    }

    /// When the invocation ends: its start plus its duration.
    pub fn end_ns(&self) -> u64 {
        self.sample.end_ns
    }
}

/// The invocation has ended (at [`Ending::end_ns`], or later in real time): it is recorded and its environment
/// released.
pub fn end<D: Driver>(d: &D, ending: Ending) -> RequestOutcome {
    let Ending {
        f,
        id,
        reset,
        ping,
        mut sample,
        invoke_start,
        kept,
    } = ending;
    let now = d.now();
    // Real time: the response was ready when the wall clock got here.
    sample.end_ns = now.max(invoke_start);
    release(d, f, id, now, &sample, reset, ping);
    kept
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
fn system_error<D: Driver>(
    d: &D,
    f: FunctionId,
    id: SandboxId,
    arrival: u64,
    start: StartKind,
    parts: Option<Box<ColdStartParts>>,
    error: RunError,
    ping: bool,
) -> Started {
    let message = crate::sandbox::error_chain(&error);
    tracing::error!(error = %message, "lambda-sim could not run an invocation");
    let now = d.now();
    let report = CallReport::system_error(&message);
    let sample = InvocationSample::from_report(arrival, now, start, parts, None, &report);
    release(d, f, id, now, &sample, true, ping);
    d.system_error(error);
    Started::Done(RequestOutcome::SystemError(message))
}
