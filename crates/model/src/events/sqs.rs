//! Simulated SQS standard queues and the Lambda SQS event source mapping that drains them: messages, visibility
//! timeout, receive counts, redrive to a dead-letter queue, retention, batching and partial batch responses. The
//! queue-side internals live in `sqs_queue`, the mapping's poller scaling in `sqs_scaling`.
//!
//! Rules (reference §10; [S38] = AWS's SQS event source pages, [S3] = the 2022 developer guide `with-sqs`):
//!
//! - **Queue.** A standard queue; no ordering is promised, and this one hands out the messages with the oldest send
//!   time first (deterministic). Message ids are global integers counted from 0 in send order.
//! - **Receive.** Taking a message into a batch increments its receive count and hides it until `received +
//!   visibility_timeout` (default 30 s). All messages of a batch share that deadline, so there is one `Visibility`
//!   timer per batch, not per message.
//! - **Redrive** (a queue with both `max_receive_count` and `dead_letter_queue`): when the mapping would receive a
//!   message that has already been received `max_receive_count` times, SQS moves it to the dead-letter queue instead
//!   of delivering it (`Redriven` with that count). So with `max_receive_count = 5` a failing message is delivered
//!   exactly 5 times. In the DLQ it keeps its id, body and *send time* (AWS: for standard queues "the enqueue
//!   timestamp is unchanged" when moved, so retention keeps counting from the original send); its receive count
//!   starts again at 0 (assumption), and [`Sqs::oldest_sent_ns`] counts its age in the DLQ from the move, as
//!   `ApproximateAgeOfOldestMessage` does (SQS developer guide, "Setting-up dead-letter queue retention").
//! - **Retention** (default 4 days): a waiting (visible) message whose `sent + retention` has come is deleted by SQS
//!   (`Expired`) at that instant. A message in flight when its retention passes expires when it would become visible
//!   again; if its batch succeeds first it is deleted normally.
//! - **Batches.** A mapping sends up to `batch_size` visible messages per invocation (1–10,000, default 10 [S38]).
//!   With `batching_window_ns = 0` a batch leaves as soon as messages are visible and a slot is free. With a window,
//!   it waits until `batch_size` messages are visible or the window has passed since the first message that could not
//!   be sent yet (the window restarts after each batch). The 6 MB payload bound [S38] is the driver's to check.
//! - **Results** ([`BatchResult`]). Success: every message of the batch is deleted. Failed (function error, timeout,
//!   or an invalid partial response): nothing is deleted; the messages reappear at the batch's visibility deadline.
//!   Partial failure with `report_batch_item_failures`: all but the listed ids are deleted now, the listed ones
//!   reappear at the deadline; an empty list is a success, an id that is not in the batch fails the whole batch [S3];
//!   without `report_batch_item_failures` the response body is ignored, so it is a success. Throttled: the messages
//!   reappear at the deadline (Lambda retries a throttled batch until then [S38]; modelled as simply reappearing) and
//!   keep the receive count they got — so throttles can redrive messages to the DLQ, as on AWS.
//! - **Late results.** If the deadline passes while the batch still runs, its messages become visible again and may
//!   be received again (at-least-once delivery). When the late batch then succeeds, it deletes the messages no other
//!   batch received since (SQS deletes with the latest receipt handle only), visible or not.
//! - **Reserved concurrency** is respected only through the throttles the driver reports: the model does not know
//!   platform state (see `sqs_scaling` for how the mapping reacts).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::SECOND_NS;
use super::sqs_queue::{Message, QueueState};
use super::sqs_scaling::MappingState;

/// A simulated SQS standard queue's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// 0 s–12 h, default 30 s.
    pub visibility_timeout_ns: u64,
    /// 60 s–14 days, default 4 days.
    pub retention_ns: u64,
    /// Redrive policy: receives before a message moves to `dead_letter_queue` (1–1000).
    pub max_receive_count: Option<u32>,
    /// Redrive policy: the dead-letter queue (index into the queue list). Redrive needs both fields.
    pub dead_letter_queue: Option<usize>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            visibility_timeout_ns: 30 * SECOND_NS,
            retention_ns: 4 * 24 * 3600 * SECOND_NS,
            max_receive_count: None,
            dead_letter_queue: None,
        }
    }
}

/// An SQS event source mapping's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingConfig {
    pub queue: usize,
    pub function: usize,
    /// 1–10,000, default 10.
    pub batch_size: u32,
    /// 0–300 s.
    pub batching_window_ns: u64,
    /// 2–1,000; `None`: the mapping may scale to 1,250.
    pub maximum_concurrency: Option<u32>,
    /// `FunctionResponseTypes: ["ReportBatchItemFailures"]`.
    pub report_batch_item_failures: bool,
}

/// How a batch invocation ended, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchResult {
    Success,
    /// The whole batch failed (error, timeout, crash, invalid partial response).
    Failed,
    /// `batchItemFailures`: the ids of the messages that failed.
    PartialFailure(Vec<u64>),
    /// The platform refused the invocation with a 429.
    Throttled,
}

/// A timer the SQS model asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SqsTimer {
    /// `batch`'s visibility timeout ends: messages it still holds become visible.
    Visibility { batch: u64 },
    /// The oldest waiting message of `queue` may have reached its retention.
    Retention { queue: usize },
    /// `mapping`'s batching window may have passed.
    BatchingWindow { mapping: usize },
    /// A minute of `mapping`'s poller scaling is over.
    Scale { mapping: usize },
    /// `mapping`'s backoff after a throttle is over.
    ThrottleBackoff { mapping: usize },
}

/// One message of a batch, for the driver to build the SQS event (`messageId`, `receiptHandle`, `body`,
/// `attributes.ApproximateReceiveCount`, `SentTimestamp`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqsMessageRef {
    pub id: u64,
    /// Including this receive (1 on the first delivery).
    pub receive_count: u32,
    pub sent_ns: u64,
    /// The driver's payload handle, as given to [`Sqs::send`].
    pub body_index: u64,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqsAction {
    /// Invoke `function` with these messages (the driver builds the event).
    InvokeBatch {
        mapping: usize,
        batch: u64,
        function: usize,
        messages: Vec<SqsMessageRef>,
    },
    /// The message was processed and deleted (end-to-end latency = now − `sent_ns`).
    Deleted {
        queue: usize,
        message: u64,
        sent_ns: u64,
        receive_count: u32,
    },
    /// Moved to `dead_letter_queue` after `receive_count` (= `max_receive_count`) receives.
    Redriven {
        queue: usize,
        message: u64,
        receive_count: u32,
        dead_letter_queue: usize,
    },
    /// Deleted by SQS: its retention passed.
    Expired { queue: usize, message: u64 },
    /// Call [`Sqs::timer`] with `timer` at `at_ns`.
    SetTimer { at_ns: u64, timer: SqsTimer },
}

/// Per-queue counts. At any time `sent + redriven_in = deleted + redriven + expired + visible + in_flight`
/// (checked by [`QueueCounters::balanced`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounters {
    pub sent: u64,
    /// Messages moved here from queues whose dead-letter queue this is.
    pub redriven_in: u64,
    /// Receives (a message received three times counts three).
    pub received: u64,
    pub deleted: u64,
    /// Messages moved out to the dead-letter queue.
    pub redriven: u64,
    pub expired: u64,
    pub visible: u64,
    /// Received and not yet deleted or visible again.
    pub in_flight: u64,
}

impl QueueCounters {
    /// Whether every message that entered the queue is accounted for exactly once.
    pub fn balanced(&self) -> bool {
        self.sent + self.redriven_in
            == self.deleted + self.redriven + self.expired + self.visible + self.in_flight
    }
}

/// Per-mapping counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MappingCounters {
    /// `InvokeBatch` actions.
    pub batches: u64,
    /// Messages sent in those batches.
    pub messages: u64,
    pub succeeded: u64,
    pub partially_failed: u64,
    pub failed: u64,
    pub throttled: u64,
    /// Highest number of batches in flight at once.
    pub peak_concurrency: u32,
}

/// How a finished batch counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    PartiallyFailed,
    Failed,
    Throttled,
}

#[derive(Debug)]
pub(super) struct Batch {
    pub(super) mapping: usize,
    /// Messages this batch may still hold (a message's own `batch` field says whether it does).
    pub(super) messages: Vec<u64>,
    pub(super) deadline_ns: u64,
    pub(super) running: bool,
}

/// All simulated queues and event source mappings of a run.
#[derive(Debug)]
pub struct Sqs {
    pub(super) queues: Vec<QueueState>,
    pub(super) mappings: Vec<MappingState>,
    pub(super) messages: BTreeMap<u64, Message>,
    pub(super) batches: BTreeMap<u64, Batch>,
    next_message: u64,
    next_batch: u64,
    started: bool,
    /// Queues that received redriven messages and need their mappings pumped.
    pub(super) dirty: Vec<usize>,
    pub(super) out: VecDeque<SqsAction>,
}

impl Sqs {
    /// Queues and mappings (indices as in the scenario). A mapping whose queue index is out of range never polls; a
    /// redrive policy naming the queue itself or a missing queue is ignored (the scenario checks both).
    pub fn new(queues: Vec<QueueConfig>, mappings: Vec<MappingConfig>) -> Self {
        let mut queues: Vec<QueueState> = queues
            .into_iter()
            .map(|config| QueueState {
                config,
                visible: BTreeSet::new(),
                resident: BTreeSet::new(),
                retention_at: None,
                mappings: Vec::new(),
                counters: QueueCounters::default(),
            })
            .collect();
        for (m, config) in mappings.iter().enumerate() {
            if let Some(q) = queues.get_mut(config.queue) {
                q.mappings.push(m);
            }
        }
        Sqs {
            queues,
            mappings: mappings.into_iter().map(MappingState::new).collect(),
            messages: BTreeMap::new(),
            batches: BTreeMap::new(),
            next_message: 0,
            next_batch: 0,
            started: false,
            dirty: Vec::new(),
            out: VecDeque::new(),
        }
    }

    /// Starts the mappings polling (messages sent before wait until now).
    pub fn start(&mut self, now_ns: u64) {
        self.started = true;
        for m in &mut self.mappings {
            m.last_eval_ns = now_ns;
        }
        for q in 0..self.queues.len() {
            self.pump_queue(now_ns, q);
        }
        self.flush(now_ns);
    }

    /// A producer sends a message to `queue`; returns the message id.
    pub fn send(&mut self, now_ns: u64, queue: usize, body_index: u64) -> u64 {
        let id = self.next_message;
        self.next_message += 1;
        self.messages.insert(
            id,
            Message {
                queue,
                body_index,
                sent_ns: now_ns,
                arrived_ns: now_ns,
                receive_count: 0,
                batch: None,
                in_flight: false,
            },
        );
        let q = &mut self.queues[queue];
        q.counters.sent += 1;
        q.counters.visible += 1;
        q.visible.insert((now_ns, id));
        q.resident.insert((now_ns, id));
        self.arm_retention(now_ns, queue);
        self.pump_queue(now_ns, queue);
        self.flush(now_ns);
        id
    }

    /// A batch invocation ended (or was throttled). Unknown or already finished batches are ignored.
    pub fn batch_finished(&mut self, now_ns: u64, batch: u64, result: BatchResult) {
        let Some(b) = self.batches.get_mut(&batch) else {
            return;
        };
        if !b.running {
            return;
        }
        b.running = false;
        let mapping = b.mapping;
        let listed = std::mem::take(&mut b.messages);
        let report = self.mappings[mapping].config.report_batch_item_failures;
        // The messages to keep (they reappear at the deadline; `None`: delete all), and how the batch counts.
        let all = || listed.iter().copied().collect::<BTreeSet<u64>>();
        let (keep, kind) = match result {
            BatchResult::Success => (None, Outcome::Succeeded),
            BatchResult::PartialFailure(ids) if !report || ids.is_empty() => {
                (None, Outcome::Succeeded)
            }
            BatchResult::PartialFailure(ids) => {
                let failed: BTreeSet<u64> = ids.into_iter().collect();
                if failed.is_subset(&all()) {
                    (Some(failed), Outcome::PartiallyFailed)
                } else {
                    // An unknown itemIdentifier fails the whole batch [S3].
                    (Some(all()), Outcome::Failed)
                }
            }
            BatchResult::Failed => (Some(all()), Outcome::Failed),
            BatchResult::Throttled => (Some(all()), Outcome::Throttled),
        };
        let m = &mut self.mappings[mapping];
        m.in_flight -= 1;
        match kind {
            Outcome::Succeeded => m.counters.succeeded += 1,
            Outcome::PartiallyFailed => m.counters.partially_failed += 1,
            Outcome::Failed => m.counters.failed += 1,
            Outcome::Throttled => m.counters.throttled += 1,
        }
        if kind == Outcome::Throttled {
            self.batch_throttled(now_ns, mapping);
        } else {
            self.batch_ran(mapping, kind == Outcome::Failed);
        }
        let mut still = Vec::new();
        for id in listed {
            // A message another batch received since is not this batch's to delete (SQS deletes with the latest
            // receipt handle only); one that became visible again and was not received since is.
            let Some(msg) = self.messages.get(&id) else {
                continue;
            };
            if msg.batch != Some(batch) {
                continue;
            }
            if keep.as_ref().is_some_and(|k| k.contains(&id)) {
                if msg.in_flight {
                    still.push(id);
                }
            } else {
                self.delete(id);
            }
        }
        if still.is_empty() {
            self.batches.remove(&batch);
        } else if let Some(b) = self.batches.get_mut(&batch) {
            b.messages = still;
        }
        self.pump_mapping(now_ns, mapping);
        self.flush(now_ns);
    }

    /// A timer set by a `SetTimer` action fired.
    pub fn timer(&mut self, now_ns: u64, timer: SqsTimer) {
        match timer {
            SqsTimer::Visibility { batch } => self.visibility_ends(now_ns, batch),
            SqsTimer::Retention { queue } => {
                let q = &mut self.queues[queue];
                if q.retention_at.is_some_and(|t| t <= now_ns) {
                    q.retention_at = None;
                }
                self.arm_retention(now_ns, queue);
            }
            SqsTimer::BatchingWindow { mapping } => {
                let m = &mut self.mappings[mapping];
                if m.window_at.is_some_and(|t| t <= now_ns) {
                    m.window_at = None;
                }
                self.pump_mapping(now_ns, mapping);
            }
            SqsTimer::Scale { mapping } => self.scale_tick(now_ns, mapping),
            SqsTimer::ThrottleBackoff { mapping } => self.throttle_backoff_ends(now_ns, mapping),
        }
        self.flush(now_ns);
    }

    /// The next action to carry out, if any.
    pub fn poll_action(&mut self) -> Option<SqsAction> {
        self.out.pop_front()
    }

    /// Messages in `queue`: `(visible, in flight)`.
    pub fn depth(&self, queue: usize) -> (u64, u64) {
        let c = &self.queues[queue].counters;
        (c.visible, c.in_flight)
    }

    /// When the oldest message now in `queue` arrived there (its send time; for a dead-letter queue, the move):
    /// `ApproximateAgeOfOldestMessage` = now − this. In-flight messages count.
    pub fn oldest_sent_ns(&self, queue: usize) -> Option<u64> {
        self.queues[queue].resident.first().map(|&(t, _)| t)
    }

    /// `mapping`'s current concurrency target: how many batches it may have in flight.
    pub fn concurrency(&self, mapping: usize) -> u32 {
        self.mappings[mapping].target
    }

    /// `mapping`'s batches in flight now.
    pub fn in_flight_batches(&self, mapping: usize) -> u32 {
        self.mappings[mapping].in_flight
    }

    /// `queue`'s counts (conservation: [`QueueCounters::balanced`]).
    pub fn counters(&self, queue: usize) -> &QueueCounters {
        &self.queues[queue].counters
    }

    /// `mapping`'s counts.
    pub fn mapping_counters(&self, mapping: usize) -> &MappingCounters {
        &self.mappings[mapping].counters
    }

    /// Pumps every mapping of `queue`, in index order.
    pub(super) fn pump_queue(&mut self, now_ns: u64, queue: usize) {
        for i in 0..self.queues[queue].mappings.len() {
            let m = self.queues[queue].mappings[i];
            self.pump_mapping(now_ns, m);
        }
    }

    /// Pumps the queues that received redriven messages, until none is left.
    fn flush(&mut self, now_ns: u64) {
        while let Some(q) = self.dirty.pop() {
            self.pump_queue(now_ns, q);
        }
    }

    /// Sends batches of `mapping` while it has free slots and its queue has messages (and the window allows).
    pub(super) fn pump_mapping(&mut self, now_ns: u64, mapping: usize) {
        let queue = self.mappings[mapping].config.queue;
        if !self.started || queue >= self.queues.len() {
            return;
        }
        loop {
            self.expire_due(now_ns, queue);
            let visible = self.queues[queue].counters.visible;
            if visible == 0 {
                self.mappings[mapping].window_start = None;
                break;
            }
            self.ensure_scale_timer(now_ns, mapping);
            let m = &mut self.mappings[mapping];
            if m.in_flight >= m.target {
                m.minute.saturated = true;
                break;
            }
            let window = m.config.batching_window_ns;
            if window > 0 && visible < u64::from(m.config.batch_size.max(1)) {
                let due = m.window_start.get_or_insert(now_ns).saturating_add(window);
                if now_ns < due {
                    if m.window_at.is_none_or(|t| due < t) {
                        m.window_at = Some(due);
                        self.out.push_back(SqsAction::SetTimer {
                            at_ns: due,
                            timer: SqsTimer::BatchingWindow { mapping },
                        });
                    }
                    break;
                }
            }
            self.form_batch(now_ns, mapping);
        }
    }

    /// Receives up to `batch_size` visible messages into a new batch of `mapping` and emits `InvokeBatch` (if any
    /// message was left after redrive and expiry).
    fn form_batch(&mut self, now_ns: u64, mapping: usize) {
        let queue = self.mappings[mapping].config.queue;
        let size = self.mappings[mapping].config.batch_size.max(1) as usize;
        let batch = self.next_batch;
        let config = self.queues[queue].config;
        let redrive = match (config.max_receive_count, config.dead_letter_queue) {
            (Some(max), Some(dlq)) if dlq != queue && dlq < self.queues.len() => Some((max, dlq)),
            _ => None,
        };
        let mut refs = Vec::new();
        let mut ids = Vec::new();
        while refs.len() < size {
            let q = &mut self.queues[queue];
            let Some((sent_ns, id)) = q.visible.pop_first() else {
                break;
            };
            q.counters.visible -= 1;
            if now_ns >= sent_ns.saturating_add(config.retention_ns) {
                self.expire(id);
                continue;
            }
            let Some(msg) = self.messages.get_mut(&id) else {
                continue;
            };
            if let Some((max, dlq)) = redrive
                && msg.receive_count >= max
            {
                self.redrive(now_ns, id, dlq);
                continue;
            }
            msg.receive_count += 1;
            msg.batch = Some(batch);
            msg.in_flight = true;
            q.counters.in_flight += 1;
            q.counters.received += 1;
            refs.push(SqsMessageRef {
                id,
                receive_count: msg.receive_count,
                sent_ns,
                body_index: msg.body_index,
            });
            ids.push(id);
        }
        if refs.is_empty() {
            return;
        }
        self.next_batch += 1;
        let deadline_ns = now_ns.saturating_add(config.visibility_timeout_ns);
        self.batches.insert(
            batch,
            Batch {
                mapping,
                messages: ids,
                deadline_ns,
                running: true,
            },
        );
        let m = &mut self.mappings[mapping];
        m.in_flight += 1;
        m.window_start = None;
        m.minute.peak_in_flight = m.minute.peak_in_flight.max(m.in_flight);
        m.counters.batches += 1;
        m.counters.messages += refs.len() as u64;
        m.counters.peak_concurrency = m.counters.peak_concurrency.max(m.in_flight);
        let function = m.config.function;
        self.out.push_back(SqsAction::InvokeBatch {
            mapping,
            batch,
            function,
            messages: refs,
        });
        self.out.push_back(SqsAction::SetTimer {
            at_ns: deadline_ns,
            timer: SqsTimer::Visibility { batch },
        });
    }
}
