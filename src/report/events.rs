//! Report types of event sources: asynchronous invocations per function and SQS queues (see
//! `crate::metrics` for how they are measured).

use super::Percentiles;

/// A function's asynchronous (`Event`) invocations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AsyncReport {
    /// Events accepted (202) into the function's internal queue.
    pub enqueued: u64,
    pub delivered_first_attempt: u64,
    pub delivered_after_retries: u64,
    /// Failed after the last retry of a function error or timeout (`RetriesExhausted`).
    pub failed_retries_exhausted: u64,
    /// Expired while waiting to be retried, throttled (`EventAgeExceeded`).
    pub failed_event_age_exceeded: u64,
    /// Never attempted: the function's reserved concurrency is 0.
    pub failed_zero_reserved_concurrency: u64,
    /// Still queued or running when the run ended.
    pub pending_at_end: u64,
    /// Attempts that ran (each is also an invocation in the function's figures; throttled dispatches are not
    /// attempts, as in `approximateInvokeCount`).
    pub attempts: u64,
    /// Enqueue → start of the first attempt.
    pub queue_delay_ms: Percentiles,
    /// Enqueue → final outcome (delivered or failed).
    pub event_latency_ms: Percentiles,
}

impl AsyncReport {
    /// Events that ended, one way or another.
    pub fn ended(&self) -> u64 {
        self.delivered_first_attempt
            + self.delivered_after_retries
            + self.failed_retries_exhausted
            + self.failed_event_age_exceeded
            + self.failed_zero_reserved_concurrency
    }

    /// Every event ended exactly once or is pending.
    pub fn conservation_ok(&self) -> bool {
        self.ended() + self.pending_at_end == self.enqueued
    }
}

/// One timeline bucket of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueBucket {
    /// Messages sent in the bucket.
    pub sent: u64,
    /// Messages deleted (processed) in the bucket.
    pub deleted: u64,
    /// Messages in the queue (visible + in flight) at the end of the bucket.
    pub depth: u64,
    /// Of which in flight (received, not yet deleted or visible again).
    pub in_flight: u64,
    /// Highest depth in the bucket.
    pub max_depth: u64,
    /// Age of the oldest message at the end of the bucket, s.
    pub oldest_age_s: f64,
}

/// A simulated SQS standard queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueReport {
    pub name: String,
    pub sent: u64,
    /// Batches delivered to functions, and the messages in them (a message received twice counts twice).
    pub batches: u64,
    pub received: u64,
    pub deleted: u64,
    /// Moved to the dead-letter queue after `max_receive_count` receives.
    pub redriven: u64,
    /// Dropped at the end of the retention period.
    pub expired: u64,
    /// Still in the queue when the run ended.
    pub remaining: u64,
    pub peak_depth: u64,
    /// Messages per batch.
    pub batch_size: Percentiles,
    /// Sent → deleted.
    pub message_latency_ms: Percentiles,
    /// Same bucket width and length as the run's function timelines.
    pub timeline: Vec<QueueBucket>,
}

impl QueueReport {
    /// Every message ended exactly once or remains.
    pub fn conservation_ok(&self) -> bool {
        self.deleted + self.redriven + self.expired + self.remaining == self.sent
    }
}
