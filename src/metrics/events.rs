//! Event-source metrics: asynchronous (`Event`) invocations per function and SQS queues.
//!
//! - Async, per function: events enqueued and how each ended — delivered on the first attempt, delivered after
//!   retries, failed with `RetriesExhausted` or `EventAgeExceeded` — or still queued when the run ended; attempts
//!   made; the queue delay (enqueue → first attempt) and the event latency (enqueue → final outcome).
//! - SQS, per queue: messages sent, received (in batches), deleted, redriven to the dead-letter queue, expired, or
//!   still in the queue at the end; batch sizes; end-to-end message latency (sent → deleted); and a timeline of the
//!   queue depth (visible + in flight) and the oldest message's age.
//!
//! Each attempt or batch is also an ordinary invocation of its function (arrival, outcome, latency, cost), counted
//! by [`super::RunMetrics`] like a synchronous request; these metrics add the event-level view. Conservation:
//! enqueued = delivered + failed + pending, sent = deleted + redriven + expired + remaining.

use super::histograms::{Series, round3};
use crate::report::{AsyncReport, QueueBucket, QueueReport};

/// Longest wait tracked by the event histograms, µs (14 days: SQS's longest retention).
const MAX_WAIT_US: u64 = 14 * 24 * 3600 * 1_000_000;
/// Largest batch tracked.
const MAX_BATCH: u64 = 10_000;
/// Most queue timeline buckets before the width doubles (as the function timelines).
const MAX_QUEUE_BUCKETS: usize = super::MAX_BUCKETS;

const NS_PER_S: u64 = 1_000_000_000;

pub use crate::model::events::FailureCondition as EventFailure;

/// One function's asynchronous events.
#[derive(Debug, Clone)]
pub(crate) struct AsyncMetrics {
    enqueued: u64,
    delivered_first_attempt: u64,
    delivered_after_retries: u64,
    retries_exhausted: u64,
    event_age_exceeded: u64,
    zero_reserved: u64,
    attempts: u64,
    queue_delay: Series,
    event_latency: Series,
}

impl AsyncMetrics {
    fn new() -> Self {
        AsyncMetrics {
            enqueued: 0,
            delivered_first_attempt: 0,
            delivered_after_retries: 0,
            retries_exhausted: 0,
            event_age_exceeded: 0,
            zero_reserved: 0,
            attempts: 0,
            queue_delay: Series::nanos_upto(MAX_WAIT_US),
            event_latency: Series::nanos_upto(MAX_WAIT_US),
        }
    }

    pub(crate) fn enqueued(&mut self) {
        self.enqueued += 1;
    }

    /// An attempt ran; `queue_delay_ns` (enqueue → its start) for the event's first attempt that ran.
    pub(crate) fn attempt(&mut self, queue_delay_ns: Option<u64>) {
        self.attempts += 1;
        if let Some(d) = queue_delay_ns {
            self.queue_delay.record(d);
        }
    }

    pub(crate) fn delivered(&mut self, attempts: u32, latency_ns: u64) {
        if attempts <= 1 {
            self.delivered_first_attempt += 1;
        } else {
            self.delivered_after_retries += 1;
        }
        self.event_latency.record(latency_ns);
    }

    pub(crate) fn failed(&mut self, how: EventFailure, latency_ns: u64) {
        match how {
            EventFailure::RetriesExhausted => self.retries_exhausted += 1,
            EventFailure::EventAgeExceeded => self.event_age_exceeded += 1,
            EventFailure::ZeroReservedConcurrency => self.zero_reserved += 1,
        }
        self.event_latency.record(latency_ns);
    }

    fn used(&self) -> bool {
        self.enqueued > 0
    }

    pub(crate) fn report(&self) -> AsyncReport {
        let ended = self.delivered_first_attempt
            + self.delivered_after_retries
            + self.retries_exhausted
            + self.event_age_exceeded
            + self.zero_reserved;
        AsyncReport {
            enqueued: self.enqueued,
            delivered_first_attempt: self.delivered_first_attempt,
            delivered_after_retries: self.delivered_after_retries,
            failed_retries_exhausted: self.retries_exhausted,
            failed_event_age_exceeded: self.event_age_exceeded,
            failed_zero_reserved_concurrency: self.zero_reserved,
            pending_at_end: self.enqueued.saturating_sub(ended),
            attempts: self.attempts,
            queue_delay_ms: self.queue_delay.percentiles(),
            event_latency_ms: self.event_latency.percentiles(),
        }
    }
}

/// One SQS queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueMetrics {
    name: String,
    sent: u64,
    batches: u64,
    received: u64,
    deleted: u64,
    redriven: u64,
    expired: u64,
    peak_depth: u64,
    batch_size: Series,
    latency: Series,
    timeline: QueueTimeline,
}

impl QueueMetrics {
    fn new(name: String) -> Self {
        QueueMetrics {
            name,
            sent: 0,
            batches: 0,
            received: 0,
            deleted: 0,
            redriven: 0,
            expired: 0,
            peak_depth: 0,
            batch_size: Series::counts(MAX_BATCH),
            latency: Series::nanos_upto(MAX_WAIT_US),
            timeline: QueueTimeline::default(),
        }
    }

    pub(crate) fn report(&self, width_ns: u64, len: usize) -> QueueReport {
        let mut timeline = self.timeline.clone();
        timeline.coarsen_to(width_ns);
        let mut buckets = timeline.buckets;
        let last = buckets.last().copied().unwrap_or_default();
        while buckets.len() < len {
            buckets.push(QueueBucket {
                sent: 0,
                deleted: 0,
                ..last
            });
        }
        buckets.truncate(len.max(1));
        QueueReport {
            name: self.name.clone(),
            sent: self.sent,
            batches: self.batches,
            received: self.received,
            deleted: self.deleted,
            redriven: self.redriven,
            expired: self.expired,
            remaining: self
                .sent
                .saturating_sub(self.deleted + self.redriven + self.expired),
            peak_depth: self.peak_depth,
            batch_size: self.batch_size.percentiles(),
            message_latency_ms: self.latency.percentiles(),
            timeline: buckets,
        }
    }
}

/// Queue depth per bucket: like the function timelines, 1 s buckets doubling in width past the bound.
#[derive(Debug, Clone, Default)]
struct QueueTimeline {
    /// Width in seconds (0 until the first event: then 1).
    width_s: u64,
    buckets: Vec<QueueBucket>,
}

impl QueueTimeline {
    fn bucket(&mut self, t_ns: u64) -> &mut QueueBucket {
        if self.width_s == 0 {
            self.width_s = 1;
        }
        let mut i = (t_ns / (self.width_s * NS_PER_S)) as usize;
        while i >= MAX_QUEUE_BUCKETS {
            self.coarsen();
            i = (t_ns / (self.width_s * NS_PER_S)) as usize;
        }
        while self.buckets.len() <= i {
            // Carry the depth forward through quiet buckets.
            let last = self.buckets.last().copied().unwrap_or_default();
            self.buckets.push(QueueBucket {
                sent: 0,
                deleted: 0,
                max_depth: last.depth,
                ..last
            });
        }
        &mut self.buckets[i]
    }

    fn coarsen(&mut self) {
        let merged: Vec<QueueBucket> = self
            .buckets
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => QueueBucket {
                    sent: a.sent + b.sent,
                    deleted: a.deleted + b.deleted,
                    max_depth: a.max_depth.max(b.max_depth),
                    ..*b
                },
                [a] => *a,
                _ => QueueBucket::default(),
            })
            .collect();
        self.buckets = merged;
        self.width_s = self.width_s.max(1) * 2;
    }

    fn coarsen_to(&mut self, width_ns: u64) {
        if self.width_s == 0 {
            self.width_s = 1;
        }
        while self.width_s * NS_PER_S < width_ns {
            self.coarsen();
        }
    }
}

/// Everything event sources add to a run's metrics.
#[derive(Debug, Clone)]
pub(crate) struct EventMetrics {
    /// Per function, made at its first event: its histograms are large, and most functions of most runs (a
    /// replayed trace of thousands) have none.
    functions: Vec<Option<Box<AsyncMetrics>>>,
    pub(crate) queues: Vec<QueueMetrics>,
}

impl EventMetrics {
    pub(crate) fn new(functions: usize, queues: Vec<String>) -> Self {
        EventMetrics {
            functions: (0..functions).map(|_| None).collect(),
            queues: queues.into_iter().map(QueueMetrics::new).collect(),
        }
    }

    pub(crate) fn async_report(&self, f: usize) -> Option<AsyncReport> {
        self.functions
            .get(f)
            .and_then(|m| m.as_deref())
            .filter(|m| m.used())
            .map(AsyncMetrics::report)
    }

    /// Function `f`'s async metrics, made on first use.
    pub(crate) fn function(&mut self, f: usize) -> &mut AsyncMetrics {
        self.functions[f].get_or_insert_with(|| Box::new(AsyncMetrics::new()))
    }

    pub(crate) fn message_sent(&mut self, q: usize, t_ns: u64) {
        let m = &mut self.queues[q];
        m.sent += 1;
        m.timeline.bucket(t_ns).sent += 1;
    }

    pub(crate) fn batch_received(&mut self, q: usize, size: u64) {
        let m = &mut self.queues[q];
        m.batches += 1;
        m.received += size;
        m.batch_size.record(size);
    }

    pub(crate) fn message_deleted(&mut self, q: usize, t_ns: u64, sent_ns: u64) {
        let m = &mut self.queues[q];
        m.deleted += 1;
        m.latency.record(t_ns.saturating_sub(sent_ns));
        m.timeline.bucket(t_ns).deleted += 1;
    }

    pub(crate) fn message_redriven(&mut self, q: usize) {
        self.queues[q].redriven += 1;
    }

    pub(crate) fn message_expired(&mut self, q: usize) {
        self.queues[q].expired += 1;
    }

    /// The queue's depth (visible + in flight) and oldest message at `t_ns`.
    pub(crate) fn queue_state(
        &mut self,
        q: usize,
        t_ns: u64,
        visible: u64,
        in_flight: u64,
        oldest_sent_ns: Option<u64>,
    ) {
        let m = &mut self.queues[q];
        let depth = visible + in_flight;
        m.peak_depth = m.peak_depth.max(depth);
        let b = m.timeline.bucket(t_ns);
        b.depth = depth;
        b.in_flight = in_flight;
        b.max_depth = b.max_depth.max(depth);
        b.oldest_age_s =
            oldest_sent_ns.map_or(0.0, |s| round3(t_ns.saturating_sub(s) as f64 / 1e9));
    }
}
