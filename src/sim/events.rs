//! Event sources in the virtual-time driver: arrivals for queues and `Event` invocations go to
//! [`crate::sources::Sources`]; the invocations it wants become pending requests with an [`Origin`], its timers
//! become events of the queue, and results go back to it once the model's actions are drained.

use bytes::Bytes;

use super::{Event, Sim, SimError};
use crate::model::FunctionId;
pub(super) use crate::sources::Origin;
pub(super) use crate::sources::RequestEnd;
use crate::sources::{SourceTimer, Work};

impl Sim<'_> {
    /// An `Event` invocation of `f` arrived: queue it (202 to the caller).
    pub(super) fn enqueue_event(
        &mut self,
        now: u64,
        f: FunctionId,
        payload: Bytes,
    ) -> Result<(), SimError> {
        let reserved_zero = self.model.reserved(f) == Some(0);
        self.sources
            .enqueue(now, f, payload, reserved_zero, &mut self.metrics);
        self.apply_source_work(now)
    }

    /// A message arrived for queue `q`.
    pub(super) fn send_message(&mut self, now: u64, q: usize, body: Bytes) -> Result<(), SimError> {
        self.sources.send(now, q, body, &mut self.metrics);
        self.apply_source_work(now)
    }

    /// A timer of the sources fired.
    pub(super) fn source_timer(&mut self, now: u64, timer: SourceTimer) -> Result<(), SimError> {
        self.sources.timer(now, timer);
        self.apply_source_work(now)
    }

    /// A source's request ended (with the handler's `response` when it ran).
    pub(super) fn source_result(
        &mut self,
        now: u64,
        origin: Origin,
        end: RequestEnd,
        response: Bytes,
    ) -> Result<(), SimError> {
        self.sources
            .result(now, origin, end, response, &mut self.metrics);
        self.apply_source_work(now)
    }

    /// Carries out what the sources want, until they want nothing more.
    pub(super) fn apply_source_work(&mut self, now: u64) -> Result<(), SimError> {
        while let Some(work) = self
            .sources
            .next_work(now, &mut self.metrics)
            .map_err(|e| SimError::Output(e.to_string()))?
        {
            match work {
                Work::Invoke {
                    function,
                    payload,
                    origin,
                } => self.submit(now, function, payload, origin)?,
                Work::Timer { at_ns, timer } => self.events.push(at_ns, Event::Source(timer)),
            }
        }
        Ok(())
    }
}
