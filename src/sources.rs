//! Event sources as both drivers run them: the async queues and SQS mappings of [`crate::model::events`], the
//! payloads and message bodies they refer to, the SQS events and destination records they produce, and their
//! metrics. Driver-independent: a driver feeds arrivals, results and timers in, and carries out the [`Work`] that
//! comes out — an invocation to submit to the platform, or a timer to set.
//!
//! An async attempt or an SQS batch is an ordinary request to the platform with an [`Origin`]; when it ends (or is
//! throttled) the driver reports it with [`Sources::result`], and the source decides retries, deletions and
//! dead-lettering. Payloads and bodies are kept by id until their event or message ends.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;

use crate::event_shapes::{self, BatchVerdict, LastResponse, RecordCondition, SqsRecord};
use crate::metrics::RunMetrics;
use crate::model::FunctionId;
use crate::model::events::{
    AsyncAction, AsyncAdmission, AsyncConfig, AsyncQueues, AsyncTimer, AttemptResult, BatchResult,
    MappingConfig, QueueConfig, Sqs, SqsAction, SqsTimer,
};
use crate::model::{Outcome, RequestId};
use crate::scenario::Scenario;

/// What a request to the platform is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A synchronous (`RequestResponse`) request.
    Sync,
    /// An attempt of an async event.
    Async { event: u64 },
    /// An SQS batch.
    Batch { batch: u64 },
}

/// How a source's request to the platform ended, as the driver saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEnd {
    /// The handler ran, with this outcome.
    Ran(Outcome),
    /// Rejected with a 429.
    Throttled,
    /// lambda-sim itself failed the request (a 5xx `ServiceException`).
    SystemError,
}

/// A timer of the event sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceTimer {
    Async(AsyncTimer),
    Sqs(SqsTimer),
}

/// What the driver must do for the sources.
#[derive(Debug, Clone)]
pub enum Work {
    /// Invoke `function` with `payload` (counted as an arrival) and report the result with [`Sources::result`].
    Invoke {
        function: FunctionId,
        payload: Bytes,
        origin: Origin,
    },
    /// Call [`Sources::timer`] with `timer` at `at_ns`.
    Timer { at_ns: u64, timer: SourceTimer },
}

/// A destination record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("destination \"{destination}\": {source}")]
pub struct OutputError {
    pub destination: String,
    pub source: std::io::Error,
}

/// A batch in flight.
struct BatchInfo {
    queue: usize,
    report_batch_item_failures: bool,
    /// The model's message ids and their `messageId` strings, in batch order.
    ids: Vec<u64>,
    id_strings: Vec<String>,
}

/// The event sources of a run and what they hold.
pub struct Sources {
    async_q: AsyncQueues,
    sqs: Sqs,
    seed: u64,
    /// Wall-clock ms at time 0 (virtual epoch, or the real start).
    epoch_base_ms: u64,
    function_names: Vec<String>,
    queue_names: Vec<String>,
    on_success: Vec<Option<String>>,
    on_failure: Vec<Option<String>>,
    event_payloads: BTreeMap<u64, Bytes>,
    /// Async events in flight: when the current attempt was dispatched, the function, and whether an earlier
    /// attempt ran (the queue delay is one sample per event, up to its first attempt that ran).
    dispatched: BTreeMap<u64, (u64, FunctionId, bool)>,
    /// The last response of each async event (for its destination record): status, function error, payload.
    last_response: BTreeMap<u64, (u16, Option<&'static str>, Bytes)>,
    /// Bodies of messages not yet ended, by message id, and when each was first received (ms since the epoch).
    bodies: BTreeMap<u64, (Bytes, Option<u64>)>,
    batches: BTreeMap<u64, BatchInfo>,
    /// Queues with an enabled mapping: their messages keep a run going after the traffic ends.
    polled: Vec<bool>,
    mapping_queue: Vec<usize>,
    mapping_rbif: Vec<bool>,
    touched_queues: Vec<usize>,
    work: std::collections::VecDeque<Work>,
    destinations: Destinations,
    /// The run is shutting down: nothing new is invoked; what is waiting stays (see [`Sources::close`]).
    closed: bool,
}

impl Sources {
    /// The sources of `scenario`; records go under `out_dir`; `epoch_base_ms` is the wall clock at time 0.
    pub fn new(scenario: &Scenario, out_dir: Option<PathBuf>, epoch_base_ms: u64) -> Self {
        let f = &scenario.functions;
        let async_q = AsyncQueues::new(
            f.iter()
                .map(|f| AsyncConfig {
                    maximum_retry_attempts: f.event_invoke_config.maximum_retry_attempts,
                    maximum_event_age_ns: f.event_invoke_config.maximum_event_age_ns,
                })
                .collect(),
        );
        let queues = scenario
            .queues
            .iter()
            .map(|q| QueueConfig {
                visibility_timeout_ns: q.visibility_timeout_ns,
                retention_ns: q.retention_ns,
                max_receive_count: q.max_receive_count,
                dead_letter_queue: q.dead_letter_queue,
            })
            .collect();
        let enabled: Vec<_> = scenario
            .event_sources
            .iter()
            .filter(|e| e.enabled)
            .collect();
        let mappings = enabled
            .iter()
            .map(|e| MappingConfig {
                queue: e.queue,
                function: e.function,
                batch_size: e.batch_size,
                batching_window_ns: e.batching_window_ns,
                maximum_concurrency: e.maximum_concurrency,
                report_batch_item_failures: e.report_batch_item_failures,
            })
            .collect();
        let mut polled = vec![false; scenario.queues.len()];
        for e in &enabled {
            polled[e.queue] = true;
        }
        Sources {
            async_q,
            sqs: Sqs::new(queues, mappings),
            seed: scenario.simulation.seed,
            epoch_base_ms,
            function_names: f.iter().map(|f| f.name.clone()).collect(),
            queue_names: scenario.queues.iter().map(|q| q.name.clone()).collect(),
            on_success: f
                .iter()
                .map(|f| f.event_invoke_config.on_success.clone())
                .collect(),
            on_failure: f
                .iter()
                .map(|f| f.event_invoke_config.on_failure.clone())
                .collect(),
            event_payloads: BTreeMap::new(),
            dispatched: BTreeMap::new(),
            last_response: BTreeMap::new(),
            bodies: BTreeMap::new(),
            batches: BTreeMap::new(),
            polled,
            mapping_queue: enabled.iter().map(|e| e.queue).collect(),
            mapping_rbif: enabled
                .iter()
                .map(|e| e.report_batch_item_failures)
                .collect(),
            touched_queues: Vec::new(),
            work: std::collections::VecDeque::new(),
            destinations: Destinations::new(out_dir),
            closed: false,
        }
    }

    /// Starts the mappings' pollers.
    pub fn start(&mut self, now_ns: u64) {
        self.sqs.start(now_ns);
    }

    /// An `Event` invocation of `f` was accepted (the caller has its 202), admitted as the platform said.
    pub fn enqueue(
        &mut self,
        now_ns: u64,
        f: FunctionId,
        payload: Bytes,
        admission: AsyncAdmission,
        metrics: &mut RunMetrics,
    ) -> u64 {
        metrics.event_enqueued(f, now_ns);
        let event = self.async_q.enqueue(now_ns, f, admission);
        self.event_payloads.insert(event, payload);
        event
    }

    /// The request id of async event `event`: the `Event` caller's `x-amzn-RequestId` and its records'
    /// `requestContext.requestId`.
    pub fn event_request_id(&self, event: u64) -> RequestId {
        RequestId::nth(self.seed ^ 0x6173_796e_635f_6576, event)
    }

    /// A message was sent to queue `q`.
    pub fn send(&mut self, now_ns: u64, q: usize, body: Bytes, metrics: &mut RunMetrics) {
        // Bodies are stored under the message id the model gives back, so the model's body handle is unused.
        let id = self.sqs.send(now_ns, q, 0);
        self.bodies.insert(id, (body, None));
        metrics.message_sent(q, now_ns);
        self.touched_queues.push(q);
    }

    /// A timer the sources asked for has come.
    pub fn timer(&mut self, now_ns: u64, timer: SourceTimer) {
        match timer {
            SourceTimer::Async(t) => self.async_q.timer(now_ns, t),
            SourceTimer::Sqs(t) => self.sqs.timer(now_ns, t),
        }
    }

    /// A source's request ended (with the handler's `response` when it ran).
    pub fn result(
        &mut self,
        now_ns: u64,
        origin: Origin,
        end: RequestEnd,
        response: Bytes,
        metrics: &mut RunMetrics,
    ) {
        match origin {
            Origin::Sync => {}
            Origin::Async { event } => {
                let ran = matches!(end, RequestEnd::Ran(_));
                if let (true, Some(d)) = (ran, self.dispatched.get_mut(&event)) {
                    let (dispatched_ns, function, ran_before) = *d;
                    d.2 = true;
                    let enqueued = self.async_q.enqueued_ns(event).unwrap_or(dispatched_ns);
                    let delay = (!ran_before).then(|| dispatched_ns.saturating_sub(enqueued));
                    metrics.event_attempt(function, delay);
                }
                let result = match end {
                    RequestEnd::Ran(Outcome::Success) => AttemptResult::Success,
                    RequestEnd::Ran(_) => AttemptResult::FunctionError,
                    RequestEnd::Throttled => AttemptResult::Throttled,
                    RequestEnd::SystemError => AttemptResult::SystemError,
                };
                if let RequestEnd::Ran(o) = end {
                    let error = (o != Outcome::Success).then_some("Unhandled");
                    self.last_response.insert(event, (200, error, response));
                }
                self.async_q.attempt_finished(now_ns, event, result);
            }
            Origin::Batch { batch } => {
                let Some(info) = self.batches.remove(&batch) else {
                    return;
                };
                let result = match end {
                    // A batch the platform did not run comes back at its visibility deadline either way.
                    RequestEnd::Throttled | RequestEnd::SystemError => BatchResult::Throttled,
                    RequestEnd::Ran(Outcome::Success) if info.report_batch_item_failures => {
                        match event_shapes::batch_response(&response, &info.id_strings) {
                            BatchVerdict::Success => BatchResult::Success,
                            BatchVerdict::Partial(failed) => BatchResult::PartialFailure(
                                failed.into_iter().map(|i| info.ids[i]).collect(),
                            ),
                            BatchVerdict::WholeBatch => BatchResult::Failed,
                        }
                    }
                    RequestEnd::Ran(Outcome::Success) => BatchResult::Success,
                    RequestEnd::Ran(_) => BatchResult::Failed,
                };
                self.touched_queues.push(info.queue);
                self.sqs.batch_finished(now_ns, batch, result);
            }
        }
    }

    /// Carries out the sources' own actions (metrics, records, deletions) and returns the next thing the driver
    /// must do, until there is none.
    pub fn next_work(
        &mut self,
        now_ns: u64,
        metrics: &mut RunMetrics,
    ) -> Result<Option<Work>, OutputError> {
        loop {
            if let Some(w) = self.work.pop_front() {
                return Ok(Some(w));
            }
            if let Some(action) = self.async_q.poll_action() {
                self.async_action(now_ns, action, metrics)?;
            } else if let Some(action) = self.sqs.poll_action() {
                self.sqs_action(now_ns, action, metrics);
            } else {
                break;
            }
        }
        let mut touched = std::mem::take(&mut self.touched_queues);
        touched.sort_unstable();
        touched.dedup();
        for q in touched {
            let (visible, in_flight) = self.sqs.depth(q);
            metrics.queue_state(q, now_ns, visible, in_flight, self.sqs.oldest_sent_ns(q));
        }
        Ok(None)
    }

    /// No async event is waiting or running and no polled queue holds a message.
    pub fn idle(&self) -> bool {
        (0..self.function_names.len())
            .all(|f| self.async_q.depth(f) == 0 && self.async_q.in_flight(f) == 0)
            && self
                .polled
                .iter()
                .enumerate()
                .all(|(q, &p)| !p || self.sqs.depth(q) == (0, 0))
    }

    /// Flushes destination files (at the end of a run).
    pub fn finish(&mut self) -> Result<(), OutputError> {
        self.destinations.flush()
    }

    /// The run is shutting down: from now on no event attempt or batch is invoked (an attempt already running
    /// still reports its end). Events that wait stay in the model, to be written out by
    /// [`Sources::write_unprocessed`]; SQS messages stay in their queues, as they would in SQS.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Writes every async event that has not ended — queued, waiting for a retry, or with an attempt still
    /// running — as an invocation record with condition `SimulatorShutdown` to
    /// `<out>/unprocessed-events/<function>.jsonl`. They stay pending in the metrics. Returns how many.
    pub fn write_unprocessed(&mut self, now_ns: u64) -> Result<u64, OutputError> {
        let unended: Vec<_> = self.async_q.unended().collect();
        for &(event, function, attempts) in &unended {
            let line =
                self.record_line(now_ns, event, function, RecordCondition::Shutdown, attempts);
            let name = self.function_names[function].clone();
            self.destinations
                .write(UNPROCESSED_DIR, &name, &line)
                .map_err(|source| OutputError {
                    destination: format!("{UNPROCESSED_DIR}/{name}"),
                    source,
                })?;
        }
        Ok(unended.len() as u64)
    }

    /// Where [`Sources::write_unprocessed`] writes, if anywhere: the directory under the run's output.
    pub fn unprocessed_dir(&self) -> Option<PathBuf> {
        self.destinations
            .dir
            .as_ref()
            .map(|d| d.join(UNPROCESSED_DIR))
    }

    fn epoch_ms(&self, now_ns: u64) -> u64 {
        self.epoch_base_ms + now_ns / 1_000_000
    }

    fn async_action(
        &mut self,
        now_ns: u64,
        action: AsyncAction,
        metrics: &mut RunMetrics,
    ) -> Result<(), OutputError> {
        match action {
            AsyncAction::Dispatch {
                event,
                function,
                attempt,
            } => {
                let payload = self.event_payloads.get(&event).cloned().unwrap_or_default();
                // Counted when the attempt has run (a throttled dispatch comes back with the same number).
                let ran_before = attempt > 1;
                let e = self
                    .dispatched
                    .entry(event)
                    .or_insert((now_ns, function, ran_before));
                e.0 = now_ns;
                if self.closed {
                    // Shutting down: the event stays unended and is written out as unprocessed.
                    return Ok(());
                }
                self.work.push_back(Work::Invoke {
                    function,
                    payload,
                    origin: Origin::Async { event },
                });
            }
            AsyncAction::Delivered {
                event,
                function,
                attempts,
                enqueued_ns,
            } => {
                metrics.event_delivered(function, attempts, now_ns.saturating_sub(enqueued_ns));
                let destination = self.on_success[function].clone();
                self.record(
                    now_ns,
                    event,
                    function,
                    RecordCondition::Success,
                    attempts,
                    destination,
                )?;
            }
            AsyncAction::Failed {
                event,
                function,
                condition,
                attempts,
                enqueued_ns,
            } => {
                metrics.event_failed(function, condition, now_ns.saturating_sub(enqueued_ns));
                let destination = self.on_failure[function].clone();
                let condition = RecordCondition::Failed(condition);
                self.record(now_ns, event, function, condition, attempts, destination)?;
            }
            AsyncAction::SetTimer { at_ns, timer } => self.work.push_back(Work::Timer {
                at_ns,
                timer: SourceTimer::Async(timer),
            }),
        }
        Ok(())
    }

    /// Writes an ended event's invocation record to `destination` (if any) and forgets the event.
    fn record(
        &mut self,
        now_ns: u64,
        event: u64,
        function: FunctionId,
        condition: RecordCondition,
        attempts: u32,
        destination: Option<String>,
    ) -> Result<(), OutputError> {
        let line = destination
            .is_some()
            .then(|| self.record_line(now_ns, event, function, condition, attempts));
        self.event_payloads.remove(&event);
        self.last_response.remove(&event);
        self.dispatched.remove(&event);
        let (Some(destination), Some(line)) = (destination, line) else {
            return Ok(());
        };
        self.destinations
            .write(DESTINATIONS_DIR, &destination, &line)
            .map_err(|source| OutputError {
                destination,
                source,
            })
    }

    /// The invocation record of `event` (one JSON line) with its payload and last response.
    fn record_line(
        &self,
        now_ns: u64,
        event: u64,
        function: FunctionId,
        condition: RecordCondition,
        attempts: u32,
    ) -> String {
        let payload = self.event_payloads.get(&event).cloned().unwrap_or_default();
        let request_id = self.event_request_id(event);
        let last = self
            .last_response
            .get(&event)
            .map(|(status, error, body)| LastResponse {
                status_code: *status,
                function_error: *error,
                payload: body,
            });
        event_shapes::invocation_record(
            self.epoch_ms(now_ns),
            &request_id.to_string(),
            &self.function_names[function],
            condition,
            attempts,
            &payload,
            last.as_ref(),
        )
    }

    fn sqs_action(&mut self, now_ns: u64, action: SqsAction, metrics: &mut RunMetrics) {
        match action {
            SqsAction::InvokeBatch { .. } if self.closed => {
                // Shutting down: the batch's messages stay in flight and come back at their visibility deadline,
                // as in SQS when a consumer stops.
            }
            SqsAction::InvokeBatch {
                mapping,
                batch,
                function,
                messages,
            } => {
                let queue = self.mapping_queue[mapping];
                let first_ms = self.epoch_ms(now_ns);
                let (base, seed) = (self.epoch_base_ms, self.seed);
                let mut ids = Vec::with_capacity(messages.len());
                let mut id_strings = Vec::with_capacity(messages.len());
                let mut records = Vec::with_capacity(messages.len());
                for m in &messages {
                    let entry = self.bodies.entry(m.id).or_default();
                    let first = *entry.1.get_or_insert(first_ms);
                    records.push((m.id, m.receive_count, m.sent_ns, first, entry.0.clone()));
                    ids.push(m.id);
                    id_strings.push(event_shapes::message_id(seed, m.id));
                }
                let shaped: Vec<SqsRecord> = records
                    .iter()
                    .map(|(id, receive_count, sent_ns, first, body)| SqsRecord {
                        id: *id,
                        receive_count: *receive_count,
                        sent_ms: base + sent_ns / 1_000_000,
                        first_receive_ms: *first,
                        body,
                    })
                    .collect();
                let payload = event_shapes::sqs_event(seed, &self.queue_names[queue], &shaped);
                metrics.batch_received(queue, messages.len() as u64);
                self.batches.insert(
                    batch,
                    BatchInfo {
                        queue,
                        report_batch_item_failures: self.mapping_rbif[mapping],
                        ids,
                        id_strings,
                    },
                );
                self.touched_queues.push(queue);
                self.work.push_back(Work::Invoke {
                    function,
                    payload,
                    origin: Origin::Batch { batch },
                });
            }
            SqsAction::Deleted {
                queue,
                message,
                sent_ns,
                ..
            } => {
                self.bodies.remove(&message);
                metrics.message_deleted(queue, now_ns, sent_ns);
                self.touched_queues.push(queue);
            }
            SqsAction::Redriven {
                queue,
                dead_letter_queue,
                ..
            } => {
                // The message lives on in the dead-letter queue (same id and body).
                metrics.message_redriven(queue);
                metrics.message_sent(dead_letter_queue, now_ns);
                self.touched_queues.push(queue);
                self.touched_queues.push(dead_letter_queue);
            }
            SqsAction::Expired { queue, message } => {
                self.bodies.remove(&message);
                metrics.message_expired(queue);
                self.touched_queues.push(queue);
            }
            SqsAction::SetTimer { at_ns, timer } => self.work.push_back(Work::Timer {
                at_ns,
                timer: SourceTimer::Sqs(timer),
            }),
        }
    }
}

/// Subdirectory of the run's output for destination records.
const DESTINATIONS_DIR: &str = "destinations";
/// Subdirectory of the run's output for events a shutdown left unprocessed.
pub const UNPROCESSED_DIR: &str = "unprocessed-events";

/// Record files: one JSON Lines file per name under `<out>/<kind>/` (`destinations/`, `unprocessed-events/`).
struct Destinations {
    dir: Option<PathBuf>,
    files: BTreeMap<(&'static str, String), std::io::BufWriter<std::fs::File>>,
}

impl Destinations {
    fn new(out_dir: Option<PathBuf>) -> Self {
        Destinations {
            dir: out_dir,
            files: BTreeMap::new(),
        }
    }

    fn write(&mut self, kind: &'static str, name: &str, line: &str) -> std::io::Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let key = (kind, name.to_string());
        if !self.files.contains_key(&key) {
            let dir = dir.join(kind);
            std::fs::create_dir_all(&dir)?;
            let file = std::fs::File::create(dir.join(format!("{name}.jsonl")))?;
            self.files
                .insert(key.clone(), std::io::BufWriter::new(file));
        }
        if let Some(w) = self.files.get_mut(&key) {
            // Whole lines, flushed at once: a reader (or `serve`'s user) never sees half a record.
            writeln!(w, "{line}")?;
            w.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        for ((kind, name), w) in &mut self.files {
            w.flush().map_err(|source| OutputError {
                destination: format!("{kind}/{name}"),
                source,
            })?;
        }
        Ok(())
    }
}
