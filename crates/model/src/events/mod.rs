//! Event sources in front of the platform model: Lambda's internal queue for asynchronous (`Event`) invocations
//! ([`AsyncQueues`]) and the SQS event source mapping with its simulated standard queues ([`Sqs`]).
//!
//! Both are pure state machines in the sans-IO style of [`crate::Platform`]: the driver calls their inputs with
//! the current time (`now_ns`, nanoseconds since scenario start), drains `poll_action()` and carries the actions out.
//! When a source wants an invocation it emits [`AsyncAction::Dispatch`] or [`SqsAction::InvokeBatch`]; the driver then
//! calls `Platform::invoke` like for any request and reports how it ended (or that it was throttled) with
//! [`AsyncQueues::attempt_finished`] or [`Sqs::batch_finished`]. The sources know nothing of the platform's state
//! (reserved concurrency, scaling): they learn about capacity only from the throttles the driver reports.
//!
//! Timers: a `SetTimer { at_ns, timer }` action asks the driver to call `timer(at_ns, timer)` at that time. Timers are
//! never cancelled; a timer that no longer applies is ignored when it fires, so the driver needs no bookkeeping.
//!
//! Ids (event, message and batch ids) are plain integers counted from 0 in the order of the inputs, so a run is
//! reproducible from the scenario and seed; no hash-map iteration, wall clock or randomness is involved.
//!
//! Conservation (the design's contract): every async event ends exactly once as `Delivered` or `Failed` (or is still
//! waiting / in flight at the end of the run, see [`AsyncCounters`]); every SQS message ends exactly once as
//! `Deleted`, `Redriven` (then it lives on in the dead-letter queue) or `Expired` (or is still in its queue, see
//! [`QueueCounters`]).
//!
//! Sources: the numbers come from `docs/lambda.md` §5 (async: [S26] [S27] [S28]) and §10 (SQS event
//! source mapping: [S38] [S3 with-sqs]); each module's doc says which rule uses which number and what is inferred.

pub mod async_queue;
pub mod sqs;
mod sqs_queue;
mod sqs_scaling;

#[cfg(test)]
mod tests_async;
#[cfg(test)]
mod tests_sqs;
#[cfg(test)]
mod tests_sqs_scaling;
#[cfg(test)]
mod tests_sqs_sim;

pub use async_queue::{
    AsyncAction, AsyncAdmission, AsyncConfig, AsyncCounters, AsyncQueues, AsyncTimer,
    AttemptResult, FailureCondition,
};
pub use sqs::{
    BatchResult, MappingConfig, MappingCounters, QueueConfig, QueueCounters, Sqs, SqsAction,
    SqsMessageRef, SqsTimer,
};

/// One second in the model's time unit (nanoseconds).
pub(crate) const SECOND_NS: u64 = 1_000_000_000;
