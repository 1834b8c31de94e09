//! Event sources in the lifecycle: `Event` invocations and SQS messages go to [`crate::sources::Sources`]; each
//! invocation it wants is a request like any other (a task of its own), whose end goes back to it; its timers are
//! the driver's.

use bytes::Bytes;

use super::request::{Keep, RequestOutcome, Routed, route, run};
use super::{Driver, RunTimer, Task};
use crate::model::{FunctionId, InvokeMode};
use crate::sources::{Origin, Work};

/// An `Event` invocation of `f` arrived: it is queued at once (the caller's 202); attempts and retries follow.
/// Returns the event's number (its request id is [`crate::sources::Sources::event_request_id`]).
pub fn enqueue_event<D: Driver>(d: &D, f: FunctionId, payload: Bytes) -> u64 {
    let now = d.now();
    let event = {
        let mut guard = d.core();
        let core = &mut *guard;
        let rule = core.model.async_admission(f);
        core.sources
            .enqueue(now, f, payload, rule, &mut core.metrics)
    };
    apply_source_work(d, now);
    event
}

/// A message (`body`) was sent to queue `q`.
pub fn send_message<D: Driver>(d: &D, q: usize, body: Bytes) {
    let now = d.now();
    {
        let mut guard = d.core();
        let core = &mut *guard;
        core.sources.send(now, q, body, &mut core.metrics);
    }
    apply_source_work(d, now);
}

/// Carries out what the sources want until they want nothing more: requests become tasks, timers the driver's.
pub fn apply_source_work<D: Driver>(d: &D, now: u64) {
    loop {
        let work = {
            let mut guard = d.core();
            let core = &mut *guard;
            core.sources.next_work(now, &mut core.metrics)
        };
        match work {
            Ok(Some(Work::Invoke {
                function,
                payload,
                origin,
            })) => {
                // Routed now; only a request that runs becomes a task.
                let routed = route(d, function, false, InvokeMode::Asynchronous);
                match routed.throttled() {
                    Some(outcome) => source_result(d, origin, &outcome),
                    None => d.spawn(Task::SourceRequest {
                        routed,
                        payload,
                        origin,
                    }),
                }
            }
            Ok(Some(Work::Timer { at_ns, timer })) => d.set_timer(at_ns, RunTimer::Source(timer)),
            Ok(None) => return,
            Err(e) => {
                d.system_error(e.into());
                return;
            }
        }
    }
}

/// A source's routed request: it runs like any other, then the source hears how it ended.
pub async fn source_request<D: Driver>(d: &D, routed: Routed, payload: Bytes, origin: Origin) {
    let outcome = run(d, routed, payload, Keep::Response).await;
    source_result(d, origin, &outcome);
}

/// The source hears how its request ended.
fn source_result<D: Driver>(d: &D, origin: Origin, outcome: &RequestOutcome) {
    let (end, response) = outcome.source_end();
    let now = d.now();
    {
        let mut guard = d.core();
        let core = &mut *guard;
        core.sources
            .result(now, origin, end, response, &mut core.metrics);
    }
    apply_source_work(d, now);
}
