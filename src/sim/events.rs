//! Event sources in the virtual-time driver: `Event` invocations through the async queues and SQS messages through
//! the event source mappings ([`crate::model::events`]), glued to the platform model and the metrics.
//!
//! An async attempt or an SQS batch is an ordinary request to the platform (a pending request with an [`Origin`]);
//! when it ends or is throttled, its result goes back to the source, which decides retries, deletions and
//! dead-lettering. Payloads and message bodies are kept here, by id, until their event or message ends.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;

use super::{Event, Sim, SimError};
use crate::event_shapes::{self, BatchVerdict, LastResponse, RecordCondition, SqsRecord};
use crate::model::FunctionId;
use crate::model::events::{
    AsyncAction, AsyncConfig, AsyncQueues, AttemptResult, BatchResult, MappingConfig, QueueConfig,
    Sqs, SqsAction,
};
use crate::sandbox::{Outcome, VIRTUAL_EPOCH_UNIX_S};
use crate::scenario::Scenario;

/// What a pending request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// A synchronous (`RequestResponse`) request from the traffic.
    Sync,
    /// An attempt of an async event.
    Async { event: u64 },
    /// An SQS batch.
    Batch { batch: u64 },
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
pub(super) struct Sources {
    pub(super) async_q: AsyncQueues,
    pub(super) sqs: Sqs,
    /// Payloads of async events not yet ended, by event id.
    event_payloads: BTreeMap<u64, Bytes>,
    /// The last response of each async event (for its destination record): status, function error, payload.
    last_response: BTreeMap<u64, (u16, Option<&'static str>, Bytes)>,
    /// Bodies of messages not yet ended, by message id, and when each was first received (ms since the epoch).
    bodies: BTreeMap<u64, (Bytes, Option<u64>)>,
    batches: BTreeMap<u64, BatchInfo>,
    /// Queues with an enabled mapping: their messages keep the run going after the traffic ends.
    polled: Vec<bool>,
    mapping_queue: Vec<usize>,
    mapping_rbif: Vec<bool>,
    touched_queues: Vec<usize>,
    destinations: Destinations,
}

impl Sources {
    pub(super) fn new(scenario: &Scenario, out_dir: Option<PathBuf>) -> Self {
        let async_q = AsyncQueues::new(
            scenario
                .functions
                .iter()
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
            event_payloads: BTreeMap::new(),
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
            destinations: Destinations::new(out_dir),
        }
    }

    /// No async event is waiting or running and no polled queue holds a message: nothing left to drive.
    pub(super) fn idle(&self, functions: usize) -> bool {
        (0..functions).all(|f| self.async_q.depth(f) == 0 && self.async_q.in_flight(f) == 0)
            && self
                .polled
                .iter()
                .enumerate()
                .all(|(q, &p)| !p || self.sqs.depth(q) == (0, 0))
    }
}

/// Wall-clock milliseconds of virtual time `t_ns` (for timestamps in events and records).
fn epoch_ms(t_ns: u64) -> u64 {
    VIRTUAL_EPOCH_UNIX_S * 1000 + t_ns / 1_000_000
}

impl Sim<'_> {
    /// An `Event` invocation of `f` arrived: queue it (202 to the caller).
    pub(super) fn enqueue_event(
        &mut self,
        now: u64,
        f: FunctionId,
        payload: Bytes,
    ) -> Result<(), SimError> {
        self.metrics.event_enqueued(f, now);
        let reserved_zero = self.model.reserved(f) == Some(0);
        let event = self.sources.async_q.enqueue(now, f, reserved_zero);
        self.sources.event_payloads.insert(event, payload);
        self.apply_source_actions(now)
    }

    /// A message arrived for queue `q`.
    pub(super) fn send_message(&mut self, now: u64, q: usize, body: Bytes) -> Result<(), SimError> {
        // The body is stored under the message id the model gives back; the handle only has to be unique.
        let handle = self.sources.bodies.len() as u64;
        let id = self.sources.sqs.send(now, q, handle);
        self.sources.bodies.insert(id, (body, None));
        self.metrics.message_sent(q, now);
        self.sources.touched_queues.push(q);
        self.apply_source_actions(now)
    }

    /// Carries out what the sources want, until neither wants anything more.
    pub(super) fn apply_source_actions(&mut self, now: u64) -> Result<(), SimError> {
        loop {
            if let Some(action) = self.sources.async_q.poll_action() {
                self.async_action(now, action)?;
            } else if let Some(action) = self.sources.sqs.poll_action() {
                self.sqs_action(now, action)?;
            } else {
                break;
            }
        }
        let mut touched = std::mem::take(&mut self.sources.touched_queues);
        touched.sort_unstable();
        touched.dedup();
        for q in touched {
            let (visible, in_flight) = self.sources.sqs.depth(q);
            let oldest = self.sources.sqs.oldest_sent_ns(q);
            self.metrics.queue_state(q, now, visible, in_flight, oldest);
        }
        Ok(())
    }

    fn async_action(&mut self, now: u64, action: AsyncAction) -> Result<(), SimError> {
        match action {
            AsyncAction::Dispatch {
                event,
                function,
                attempt,
            } => {
                let payload = self
                    .sources
                    .event_payloads
                    .get(&event)
                    .cloned()
                    .unwrap_or_default();
                let enqueued = self.sources.async_q.enqueued_ns(event).unwrap_or(now);
                self.metrics
                    .event_attempt(function, attempt, now.saturating_sub(enqueued));
                self.submit(now, function, payload, Origin::Async { event })?;
            }
            AsyncAction::Delivered {
                event,
                function,
                attempts,
                enqueued_ns,
            } => {
                self.metrics
                    .event_delivered(function, attempts, now.saturating_sub(enqueued_ns));
                let destination = self.scenario.functions[function]
                    .event_invoke_config
                    .on_success
                    .clone();
                self.write_record(
                    now,
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
                self.metrics
                    .event_failed(function, condition, now.saturating_sub(enqueued_ns));
                let destination = self.scenario.functions[function]
                    .event_invoke_config
                    .on_failure
                    .clone();
                self.write_record(
                    now,
                    event,
                    function,
                    RecordCondition::Failed(condition),
                    attempts,
                    destination,
                )?;
            }
            AsyncAction::SetTimer { at_ns, timer } => self.events.push(at_ns, Event::Async(timer)),
        }
        Ok(())
    }

    /// Writes an ended event's invocation record to `destination` (if configured) and forgets the event.
    fn write_record(
        &mut self,
        now: u64,
        event: u64,
        function: FunctionId,
        condition: RecordCondition,
        attempts: u32,
        destination: Option<String>,
    ) -> Result<(), SimError> {
        let payload = self
            .sources
            .event_payloads
            .remove(&event)
            .unwrap_or_default();
        let last = self.sources.last_response.remove(&event);
        let Some(destination) = destination else {
            return Ok(());
        };
        let request_id =
            crate::sandbox::RequestId::nth(self.scenario.simulation.seed ^ 0xa5, event);
        let last = last.as_ref().map(|(status, error, body)| LastResponse {
            status_code: *status,
            function_error: *error,
            payload: body,
        });
        let line = event_shapes::invocation_record(
            epoch_ms(now),
            &request_id.to_string(),
            &self.scenario.functions[function].name,
            condition,
            attempts,
            &payload,
            last.as_ref(),
        );
        self.sources
            .destinations
            .write(&destination, &line)
            .map_err(|e| SimError::Output(format!("destination \"{destination}\": {e}")))
    }

    fn sqs_action(&mut self, now: u64, action: SqsAction) -> Result<(), SimError> {
        match action {
            SqsAction::InvokeBatch {
                mapping,
                batch,
                function,
                messages,
            } => {
                let queue = self.sources.mapping_queue[mapping];
                let seed = self.scenario.simulation.seed;
                let mut records = Vec::with_capacity(messages.len());
                let mut ids = Vec::with_capacity(messages.len());
                let mut id_strings = Vec::with_capacity(messages.len());
                for m in &messages {
                    let entry = self.sources.bodies.entry(m.id).or_default();
                    let first = *entry.1.get_or_insert(epoch_ms(now));
                    records.push((m.id, m.receive_count, m.sent_ns, first, entry.0.clone()));
                    ids.push(m.id);
                    id_strings.push(event_shapes::message_id(seed, m.id));
                }
                let shaped: Vec<SqsRecord> = records
                    .iter()
                    .map(|(id, receive_count, sent_ns, first, body)| SqsRecord {
                        id: *id,
                        receive_count: *receive_count,
                        sent_ms: epoch_ms(*sent_ns),
                        first_receive_ms: *first,
                        body,
                    })
                    .collect();
                let event =
                    event_shapes::sqs_event(seed, &self.scenario.queues[queue].name, &shaped);
                self.metrics.batch_received(queue, messages.len() as u64);
                self.sources.batches.insert(
                    batch,
                    BatchInfo {
                        queue,
                        report_batch_item_failures: self.sources.mapping_rbif[mapping],
                        ids,
                        id_strings,
                    },
                );
                self.sources.touched_queues.push(queue);
                self.submit(now, function, event, Origin::Batch { batch })?;
            }
            SqsAction::Deleted {
                queue,
                message,
                sent_ns,
                ..
            } => {
                self.sources.bodies.remove(&message);
                self.metrics.message_deleted(queue, now, sent_ns);
                self.sources.touched_queues.push(queue);
            }
            SqsAction::Redriven {
                queue,
                dead_letter_queue,
                ..
            } => {
                // The message lives on in the dead-letter queue (same id and body).
                self.metrics.message_redriven(queue);
                self.metrics.message_sent(dead_letter_queue, now);
                self.sources.touched_queues.push(queue);
                self.sources.touched_queues.push(dead_letter_queue);
            }
            SqsAction::Expired { queue, message } => {
                self.sources.bodies.remove(&message);
                self.metrics.message_expired(queue);
                self.sources.touched_queues.push(queue);
            }
            SqsAction::SetTimer { at_ns, timer } => self.events.push(at_ns, Event::Sqs(timer)),
        }
        Ok(())
    }

    /// A source's request ended (`outcome`, with the handler's `response`) or was throttled (`None`).
    pub(super) fn source_result(
        &mut self,
        now: u64,
        origin: Origin,
        outcome: Option<Outcome>,
        response: Bytes,
    ) -> Result<(), SimError> {
        match origin {
            Origin::Sync => return Ok(()),
            Origin::Async { event } => {
                let result = match outcome {
                    None => AttemptResult::Throttled,
                    Some(Outcome::Success) => AttemptResult::Success,
                    Some(_) => AttemptResult::FunctionError,
                };
                let (status, error) = match outcome {
                    None => (429, None),
                    Some(Outcome::Success) => (200, None),
                    Some(_) => (200, Some("Unhandled")),
                };
                if outcome.is_some() {
                    self.sources
                        .last_response
                        .insert(event, (status, error, response));
                }
                self.sources.async_q.attempt_finished(now, event, result);
            }
            Origin::Batch { batch } => {
                let Some(info) = self.sources.batches.remove(&batch) else {
                    return Ok(());
                };
                let result = match outcome {
                    None => BatchResult::Throttled,
                    Some(Outcome::Success) if info.report_batch_item_failures => {
                        match event_shapes::batch_response(&response, &info.id_strings) {
                            BatchVerdict::Success => BatchResult::Success,
                            BatchVerdict::Partial(failed) => BatchResult::PartialFailure(
                                failed.into_iter().map(|i| info.ids[i]).collect(),
                            ),
                            BatchVerdict::WholeBatch => BatchResult::Failed,
                        }
                    }
                    Some(Outcome::Success) => BatchResult::Success,
                    Some(_) => BatchResult::Failed,
                };
                self.sources.touched_queues.push(info.queue);
                self.sources.sqs.batch_finished(now, batch, result);
            }
        }
        self.apply_source_actions(now)
    }
}

/// Destination files: one JSON Lines file per destination name under `<out>/destinations/`.
struct Destinations {
    dir: Option<PathBuf>,
    files: BTreeMap<String, std::io::BufWriter<std::fs::File>>,
    counts: BTreeMap<String, u64>,
}

impl Destinations {
    fn new(out_dir: Option<PathBuf>) -> Self {
        Destinations {
            dir: out_dir.map(|d| d.join("destinations")),
            files: BTreeMap::new(),
            counts: BTreeMap::new(),
        }
    }

    fn write(&mut self, name: &str, line: &str) -> std::io::Result<()> {
        *self.counts.entry(name.to_string()).or_default() += 1;
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        if !self.files.contains_key(name) {
            std::fs::create_dir_all(dir)?;
            let file = std::fs::File::create(dir.join(format!("{name}.jsonl")))?;
            self.files
                .insert(name.to_string(), std::io::BufWriter::new(file));
        }
        if let Some(w) = self.files.get_mut(name) {
            writeln!(w, "{line}")?;
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        for w in self.files.values_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

impl Sources {
    /// Flushes destination files at the end of the run.
    pub(super) fn finish(&mut self) -> std::io::Result<()> {
        self.destinations.flush()
    }
}
