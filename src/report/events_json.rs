//! JSON of event sources (part of the report's JSON, see `json.rs`):
//!
//! ```text
//! per function, when it had Event invocations:
//!   "async_events": { "enqueued", "delivered_first_attempt", "delivered_after_retries",
//!                     "failed_retries_exhausted", "failed_event_age_exceeded",
//!                     "failed_zero_reserved_concurrency", "pending_at_end", "attempts",
//!                     "queue_delay_ms": { "p50", …, "count" }, "event_latency_ms": { … }, "conservation_ok" }
//! at the top level, when the scenario has queues:
//!   "queues": { "<queue>": { "sent", "batches", "received", "deleted", "redriven", "expired", "remaining",
//!                            "peak_depth", "batch_size": { "p50", …, "count" }, "message_latency_ms": { … },
//!                            "conservation_ok",
//!                            "timeline": { "depth": [..], "in_flight": [..], "max_depth": [..],
//!                                          "oldest_age_s": [..], "sent": [..], "deleted": [..] } } }
//! ```

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::{AsyncReport, Percentiles, QueueBucket, QueueReport};

#[derive(Serialize)]
pub(super) struct AsyncJson<'a> {
    enqueued: u64,
    delivered_first_attempt: u64,
    delivered_after_retries: u64,
    failed_retries_exhausted: u64,
    failed_event_age_exceeded: u64,
    failed_zero_reserved_concurrency: u64,
    pending_at_end: u64,
    attempts: u64,
    queue_delay_ms: &'a Percentiles,
    event_latency_ms: &'a Percentiles,
    conservation_ok: bool,
}

impl<'a> AsyncJson<'a> {
    pub(super) fn new(a: &'a AsyncReport) -> Self {
        AsyncJson {
            enqueued: a.enqueued,
            delivered_first_attempt: a.delivered_first_attempt,
            delivered_after_retries: a.delivered_after_retries,
            failed_retries_exhausted: a.failed_retries_exhausted,
            failed_event_age_exceeded: a.failed_event_age_exceeded,
            failed_zero_reserved_concurrency: a.failed_zero_reserved_concurrency,
            pending_at_end: a.pending_at_end,
            attempts: a.attempts,
            queue_delay_ms: &a.queue_delay_ms,
            event_latency_ms: &a.event_latency_ms,
            conservation_ok: a.conservation_ok(),
        }
    }
}

#[derive(Serialize)]
pub(super) struct QueueJson<'a> {
    sent: u64,
    batches: u64,
    received: u64,
    deleted: u64,
    redriven: u64,
    expired: u64,
    remaining: u64,
    peak_depth: u64,
    batch_size: &'a Percentiles,
    message_latency_ms: &'a Percentiles,
    conservation_ok: bool,
    timeline: QueueColumns<'a>,
}

impl<'a> QueueJson<'a> {
    pub(super) fn new(q: &'a QueueReport) -> Self {
        QueueJson {
            sent: q.sent,
            batches: q.batches,
            received: q.received,
            deleted: q.deleted,
            redriven: q.redriven,
            expired: q.expired,
            remaining: q.remaining,
            peak_depth: q.peak_depth,
            batch_size: &q.batch_size,
            message_latency_ms: &q.message_latency_ms,
            conservation_ok: q.conservation_ok(),
            timeline: QueueColumns(&q.timeline),
        }
    }
}

pub(super) struct QueueColumns<'a>(&'a [QueueBucket]);

struct Column<'a, T>(&'a [QueueBucket], fn(&QueueBucket) -> T);

impl<T: Serialize> Serialize for Column<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(self.1))
    }
}

impl Serialize for QueueColumns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.0;
        let mut st = s.serialize_struct("QueueTimeline", 6)?;
        st.serialize_field("depth", &Column(b, |x| x.depth))?;
        st.serialize_field("in_flight", &Column(b, |x| x.in_flight))?;
        st.serialize_field("max_depth", &Column(b, |x| x.max_depth))?;
        st.serialize_field("oldest_age_s", &Column(b, |x| x.oldest_age_s))?;
        st.serialize_field("sent", &Column(b, |x| x.sent))?;
        st.serialize_field("deleted", &Column(b, |x| x.deleted))?;
        st.end()
    }
}
