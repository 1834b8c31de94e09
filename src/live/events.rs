//! Event sources in the real-time driver: `Event` invocations (the API's and the traffic's) and SQS messages go to
//! [`crate::sources::Sources`] under the state lock; each invocation it wants runs as a tokio task through the
//! same path as a synchronous request, and reports back when it ends; its timers are tokio sleeps.

use std::time::Duration;

use bytes::Bytes;

use super::state::LiveState;
use super::{LiveOutcome, LiveService};
use crate::model::FunctionId;
use crate::sources::{Origin, RequestEnd, SourceTimer, Work};

impl LiveService {
    /// An `Event` invocation of `f`: queued at once (the caller's 202); attempts and retries follow.
    pub fn enqueue_event(&self, f: FunctionId, payload: Bytes) {
        let now = self.now_ns();
        let mut guard = self.lock();
        let st = &mut *guard;
        let reserved_zero = st.model.reserved(f) == Some(0);
        st.sources
            .enqueue(now, f, payload, reserved_zero, &mut st.metrics);
        self.drain_sources(st, now);
    }

    /// Sends a message (the body) to queue `q`.
    pub fn send_message(&self, q: usize, body: Bytes) {
        let now = self.now_ns();
        let mut guard = self.lock();
        let st = &mut *guard;
        st.sources.send(now, q, body, &mut st.metrics);
        self.drain_sources(st, now);
    }

    /// Whether the event sources have nothing waiting or running.
    pub fn sources_idle(&self) -> bool {
        self.lock().sources.idle()
    }

    /// Carries out what the sources want (under the lock): invocations and timers become tasks.
    pub(super) fn drain_sources(&self, st: &mut LiveState, now: u64) {
        loop {
            match st.sources.next_work(now, &mut st.metrics) {
                Ok(Some(Work::Invoke {
                    function,
                    payload,
                    origin,
                })) => {
                    let service = self.clone();
                    tokio::spawn(
                        async move { service.source_request(function, payload, origin).await },
                    );
                }
                Ok(Some(Work::Timer { at_ns, timer })) => {
                    let service = self.clone();
                    tokio::spawn(async move { service.source_timer(at_ns, timer).await });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot write a destination record");
                    break;
                }
            }
        }
    }

    async fn source_timer(&self, at_ns: u64, timer: SourceTimer) {
        let wait = at_ns.saturating_sub(self.now_ns());
        tokio::time::sleep(Duration::from_nanos(wait)).await;
        let now = self.now_ns();
        let mut guard = self.lock();
        let st = &mut *guard;
        st.sources.timer(now, timer);
        self.drain_sources(st, now);
    }

    /// Runs one request of a source like a synchronous one, then tells the source how it went.
    async fn source_request(&self, f: FunctionId, payload: Bytes, origin: Origin) {
        let (end, response) = match self.invoke_as(f, payload, false).await {
            LiveOutcome::Ran { report, .. } => (RequestEnd::Ran(report.outcome), report.body()),
            LiveOutcome::Throttled { .. } => (RequestEnd::Throttled, Bytes::new()),
            LiveOutcome::ServiceError(_) => (RequestEnd::SystemError, Bytes::new()),
        };
        let now = self.now_ns();
        let mut guard = self.lock();
        let st = &mut *guard;
        st.sources
            .result(now, origin, end, response, &mut st.metrics);
        self.drain_sources(st, now);
    }
}
