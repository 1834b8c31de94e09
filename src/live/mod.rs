//! The real-time driver: the invocation lifecycle (`crate::lifecycle`) on tokio and the wall clock. Handlers run on
//! a fiber of their task (`call_async`; CPU-bound guests yield every ~100k instructions and epochs enforce
//! deadlines), modelled platform overheads are real sleeps, and timers are tokio tasks. The HTTP API
//! (`crate::api`) and `run --mode realtime` both use it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::deploy::Deployment;
use crate::lifecycle::{
    Core, Driver, InvocationRecord, NotRun, Run, RunError, RunTimer, ServicesCore, Task, events,
    request,
};
use crate::metrics::RunMetrics;
use crate::model::{FunctionId, Platform, RequestId};
use crate::report::RunReport;
use crate::sandbox::ClockMode;
use crate::scenario::Scenario;

struct Shared {
    run: Arc<Run>,
    /// Time 0 of the run.
    started: Instant,
    core: Mutex<Core>,
    services: Option<Mutex<ServicesCore>>,
    names: BTreeMap<String, FunctionId>,
    /// The first error that stops a run (the memory budget); `serve` goes on, answering 500s.
    failure: Mutex<Option<RunError>>,
}

/// The real-time [`Driver`]. Cheap to clone.
#[derive(Clone)]
struct LiveDriver(Arc<Shared>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock would be a lambda-sim bug; the state is still the best we have.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A tokio sleep, or none when its time has come: tokio's timers fire on a 1 ms tick, so a sleep until a time already
/// past would still wait for the next tick (a millisecond added to every request that ends as its handler returns).
struct LiveSleep(Option<Pin<Box<tokio::time::Sleep>>>);

impl Future for LiveSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        match &mut self.0 {
            None => std::task::Poll::Ready(()),
            Some(sleep) => sleep.as_mut().poll(cx),
        }
    }
}

impl Driver for LiveDriver {
    type Sleep = LiveSleep;
    type CoreGuard<'a> = MutexGuard<'a, Core>;
    type ServicesGuard<'a> = MutexGuard<'a, ServicesCore>;

    fn now(&self) -> u64 {
        self.0.started.elapsed().as_nanos() as u64
    }

    fn sleep_until(&self, at_ns: u64) -> LiveSleep {
        let at = self.0.started + Duration::from_nanos(at_ns);
        if at <= Instant::now() {
            LiveSleep(None)
        } else {
            LiveSleep(Some(Box::pin(tokio::time::sleep_until(at.into()))))
        }
    }

    fn guest_starts_at(&self, at_ns: u64) -> impl Future<Output = u64> {
        let d = self.clone();
        async move {
            d.sleep_until(at_ns).await;
            d.now()
        }
    }

    fn clock(&self) -> ClockMode {
        ClockMode::Real
    }

    fn run(&self) -> &Arc<Run> {
        &self.0.run
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        lock(&self.0.core)
    }

    fn services(&self) -> Option<MutexGuard<'_, ServicesCore>> {
        self.0.services.as_ref().map(lock)
    }

    fn spawn(&self, task: Task) {
        tokio::spawn(crate::lifecycle::run_task(self.clone(), task));
    }

    fn set_timer(&self, at_ns: u64, timer: RunTimer) {
        let d = self.clone();
        tokio::spawn(async move {
            d.sleep_until(at_ns).await;
            crate::lifecycle::core::timer_fired(&d, timer);
        });
    }

    fn wake_at(&self, at_ns: u64, waker: Waker) {
        if at_ns <= self.now() {
            waker.wake();
            return;
        }
        let sleep = self.sleep_until(at_ns);
        tokio::spawn(async move {
            sleep.await;
            waker.wake();
        });
    }

    fn waker(&self, cx: &Context<'_>) -> Waker {
        cx.waker().clone()
    }

    fn system_error(&self, error: RunError) {
        tracing::error!(error = %crate::sandbox::error_chain(&error), "lambda-sim failed");
        if matches!(error, RunError::MemoryBudget(_)) {
            lock(&self.0.failure).get_or_insert(error);
        }
    }
}

/// A running simulated platform. Cheap to clone.
#[derive(Clone)]
pub struct LiveService {
    d: LiveDriver,
}

impl LiveService {
    /// Starts the platform clock and schedules provisioned concurrency. Must be called inside a tokio runtime.
    pub fn start(scenario: Scenario, deployment: Deployment) -> Self {
        Self::start_with_output(scenario, deployment, None)
    }

    /// [`LiveService::start`], writing async destinations' records under `out_dir`.
    pub fn start_with_output(
        mut scenario: Scenario,
        deployment: Deployment,
        out_dir: Option<std::path::PathBuf>,
    ) -> Self {
        // The live driver runs on the wall clock whatever the file's `mode` says (`serve` loads scenarios written
        // for either): its report says so.
        scenario.simulation.mode = crate::scenario::Mode::Realtime;
        deployment.engine.ensure_epoch_ticker();
        let wasm_bytes = deployment.package_bytes();
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
        let core = Core::new(
            crate::lifecycle::core::platform(&scenario, &deployment),
            RunMetrics::new(&scenario, &wasm_bytes),
            crate::sources::Sources::new(&scenario, out_dir, epoch_base_ms),
            Core::random_ids(scenario.simulation.seed),
        );
        // The scenario parser has checked every service spec the model would refuse.
        let services = ServicesCore::new(&scenario).ok().flatten().map(Mutex::new);
        let d = LiveDriver(Arc::new(Shared {
            run: Arc::new(Run::new(scenario, deployment)),
            started: Instant::now(),
            core: Mutex::new(core),
            services,
            names,
            failure: Mutex::new(None),
        }));
        crate::lifecycle::core::start(&d);
        LiveService { d }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.d.0.run.scenario
    }

    pub fn deployment(&self) -> &Deployment {
        &self.d.0.run.deployment
    }

    /// The function called `name`.
    pub fn function(&self, name: &str) -> Option<FunctionId> {
        self.d.0.names.get(name).copied()
    }

    fn now_ns(&self) -> u64 {
        self.d.now()
    }

    /// Runs a closure on the model at the current time, then carries out what it decided.
    pub fn with_model<R>(&self, f: impl FnOnce(&mut Platform, u64) -> R) -> R {
        crate::lifecycle::core::with_model(&self.d, f)
    }

    /// Invokes function `f` with `event` and waits for the outcome.
    pub async fn invoke(
        &self,
        f: FunctionId,
        event: Bytes,
    ) -> Result<Box<InvocationRecord>, NotRun> {
        self.invoke_as(f, event, false).await
    }

    /// Invokes function `f`; `ping` marks a warmer's ping, counted apart from real traffic.
    pub async fn invoke_as(
        &self,
        f: FunctionId,
        event: Bytes,
        ping: bool,
    ) -> Result<Box<InvocationRecord>, NotRun> {
        request::request(&self.d, f, event, ping).await
    }

    /// An `Event` invocation of `f`: queued at once (the caller's 202, with the event's request id); attempts and
    /// retries follow.
    pub fn enqueue_event(&self, f: FunctionId, payload: Bytes) -> RequestId {
        let event = events::enqueue_event(&self.d, f, payload);
        self.d.core().sources.event_request_id(event)
    }

    /// A request id for an API response that ran no invocation (a throttle, an error, the control plane).
    pub fn new_request_id(&self) -> RequestId {
        self.d.core().next_request_id()
    }

    /// Sends a message (the body) to queue `q`.
    pub fn send_message(&self, q: usize, body: Bytes) {
        events::send_message(&self.d, q, body);
    }

    /// Whether the event sources have nothing waiting or running.
    pub fn sources_idle(&self) -> bool {
        self.d.core().sources.idle()
    }

    /// A snapshot report of everything so far (for `/metrics` and progress), without stopping.
    pub fn snapshot(&self) -> RunReport {
        let now = self.now_ns();
        let metrics = self.d.core().metrics.clone();
        let mut report = metrics.finish(now);
        report.services = crate::lifecycle::services::snapshot_reports(
            &self.d,
            now,
            report.timeline_bucket_ns,
            report.total.timeline.len(),
        );
        report
    }

    /// Starts shutting down: event sources invoke nothing more (queued events wait to be written out by
    /// [`LiveService::finish_run`]); requests already running go on.
    pub fn close_sources(&self) {
        self.d.core().sources.close();
    }

    /// Ends the run and returns the final report. Every request still running is cut off and counted as
    /// `cut_at_shutdown`, every async event not ended is written out as unprocessed (see [`Shutdown`]), and every
    /// live environment is reported.
    pub fn finish_run(&self) -> RunReport {
        self.finish_run_with(&mut Shutdown::default())
    }

    /// [`LiveService::finish_run`], telling `shutdown` what was cut and written.
    pub fn finish_run_with(&self, shutdown: &mut Shutdown) -> RunReport {
        let now = self.now_ns();
        {
            let mut core = self.d.core();
            core.sources.close();
            shutdown.cut_in_flight = core.metrics.cut_in_flight();
            shutdown.unprocessed_dir = core.sources.unprocessed_dir();
            match core.sources.write_unprocessed(now) {
                Ok(n) => shutdown.unprocessed_events = n,
                Err(e) => {
                    tracing::error!(error = %crate::sandbox::error_chain(&e), "cannot write an unprocessed event's record");
                }
            }
        }
        crate::lifecycle::core::end(&self.d);
        let metrics = {
            let mut core = self.d.core();
            if let Err(e) = core.sources.finish() {
                tracing::error!(error = %crate::sandbox::error_chain(&e), "cannot write a destination record");
            }
            core.metrics.clone()
        };
        let mut report = metrics.finish(now);
        report.services = crate::lifecycle::services::snapshot_reports(
            &self.d,
            now,
            report.timeline_bucket_ns,
            report.total.timeline.len(),
        );
        report
    }

    /// The error that stops this run, if one happened (the memory budget), taken once.
    pub fn take_failure(&self) -> Option<RunError> {
        lock(&self.d.0.failure).take()
    }

    /// Invocations running right now.
    pub fn in_flight(&self) -> u32 {
        let core = self.d.core();
        (0..self.scenario().functions.len())
            .map(|f| core.model.pool_state(f).busy)
            .sum()
    }
}

/// What [`LiveService::finish_run_with`] did to the work still outstanding.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Requests still running, counted as `cut_at_shutdown`.
    pub cut_in_flight: u64,
    /// Async events not ended, written as invocation records with condition `SimulatorShutdown`.
    pub unprocessed_events: u64,
    /// Where those records are (`None`: the run has no output directory, so they are only counted).
    pub unprocessed_dir: Option<std::path::PathBuf>,
}

/// How long a real-time run waits, after its traffic, for event sources to finish (retries, queue backlogs);
/// what is still queued then is reported as pending.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Most synchronous requests a real-time replay keeps running at once (each is a task; more would only queue in
/// memory: no Lambda account runs this many at once).
const MAX_IN_FLIGHT: usize = 100_000;

/// Replays a scenario's traffic in real time against the live driver (no HTTP) and returns the report. Async
/// destinations' records go under `out_dir`.
pub async fn run_realtime(
    scenario: Scenario,
    deployment: Deployment,
    out_dir: Option<std::path::PathBuf>,
) -> Result<RunReport, crate::lifecycle::SimError> {
    use crate::scenario::{InvocationType, Target};
    use crate::traffic::TrafficGenerator;
    let traffic = Arc::new(Mutex::new(TrafficGenerator::new(&scenario)?));
    let service = LiveService::start_with_output(scenario, deployment, out_dir);
    let mut tasks = tokio::task::JoinSet::new();
    let mut failure = None;
    loop {
        if let Some(e) = service.take_failure() {
            failure = Some(e); // no more arrivals: what runs finishes, then the run reports the error
            break;
        }
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
        // Ended requests are joined as they go (a JoinSet keeps each result until then), and at most
        // `MAX_IN_FLIGHT` run at once: arrivals faster than the host can start them wait, rather than pile up.
        while tasks.try_join_next().is_some() {}
        if tasks.len() >= MAX_IN_FLIGHT {
            tasks.join_next().await;
        }
        let (service, traffic) = (service.clone(), traffic.clone());
        tasks.spawn(async move {
            // The outcome is in the run's metrics; nobody reads the response.
            let _ = service
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
    // Event sources keep going after the traffic: retries, queue backlogs (not after a failure: then what runs
    // ends and the rest is written out as unprocessed).
    let deadline = Instant::now() + DRAIN_LIMIT;
    if failure.is_some() {
        service.close_sources();
    } else {
        while !service.sources_idle() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    while service.in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Past the drain limit, what still runs is cut off (`finish_run` counts it).
    tasks.abort_all();
    let report = service.finish_run();
    if let Some(e) = failure.or_else(|| service.take_failure()) {
        return Err(e.into());
    }
    // A replayed file that changed or broke after it was checked at load: the run is short of arrivals.
    if let Some(e) = traffic
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .replay_error()
    {
        return Err(e.clone().into());
    }
    Ok(report)
}
