//! The sandbox's side of named-service calls (ABI v2 `lambda.service_call`): what a handler asks and what it is
//! told. The sandbox knows nothing of latencies, connections or scheduling: a call is put on the environment's
//! [`ServiceChannel`] and the guest stays suspended until whoever runs the sandbox takes the request and puts the
//! reply (the invocation lifecycle, which asks the services model and waits in virtual or real time).

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

/// One call a handler makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    /// The service's name as the handler wrote it.
    pub service: String,
    /// Virtual time of the call, ns since scenario start (0 in real time).
    pub at_ns: u64,
    /// Time left before the invocation's deadline.
    pub remaining_ns: u64,
}

/// How a call ended, as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceReply {
    /// The service answered after `elapsed_ns` — with an error if `error` is set (its message).
    Answered {
        elapsed_ns: u64,
        error: Option<String>,
    },
    /// The call failed without an answer after `elapsed_ns` (connection refused, no pool connection in time).
    Refused { elapsed_ns: u64, message: String },
    /// No service of that name exists in this run.
    Unknown { message: String },
}

impl ServiceReply {
    /// Time the call took (counted as a simulated wait of the invocation).
    pub fn elapsed_ns(&self) -> u64 {
        match self {
            ServiceReply::Answered { elapsed_ns, .. }
            | ServiceReply::Refused { elapsed_ns, .. } => *elapsed_ns,
            ServiceReply::Unknown { .. } => 0,
        }
    }

    /// The ABI's status code: 0 answered, 1 answered with an error, 2 refused, 3 no such service.
    pub fn status(&self) -> i32 {
        match self {
            ServiceReply::Answered { error: None, .. } => 0,
            ServiceReply::Answered { error: Some(_), .. } => 1,
            ServiceReply::Refused { .. } => 2,
            ServiceReply::Unknown { .. } => 3,
        }
    }

    /// The message a failed call leaves for `lambda.service_message`.
    pub fn message(&self) -> Option<&str> {
        match self {
            ServiceReply::Answered { error, .. } => error.as_deref(),
            ServiceReply::Refused { message, .. } | ServiceReply::Unknown { message } => {
                Some(message)
            }
        }
    }
}

/// The call in flight between an environment's guest and whoever answers it. A guest makes one call at a time, and
/// the sandbox that holds the channel runs one guest call at a time, so one slot suffices: the request is put when
/// the guest calls and taken by the runner, which then puts the reply and polls the guest again.
#[derive(Clone, Default)]
pub struct ServiceChannel(Arc<Mutex<Slot>>);

#[derive(Default)]
struct Slot {
    request: Option<ServiceRequest>,
    reply: Option<ServiceReply>,
}

impl ServiceChannel {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The call the guest is suspended at, if it is suspended at one (taken: it is answered once).
    pub fn take_request(&self) -> Option<ServiceRequest> {
        self.lock().request.take()
    }

    /// Answers the call taken by [`ServiceChannel::take_request`]; the guest resumes when polled again.
    pub fn reply(&self, reply: ServiceReply) {
        self.lock().reply = Some(reply);
    }

    /// The guest's side: puts the call and waits for its reply.
    pub(crate) fn call(
        &self,
        request: ServiceRequest,
    ) -> impl Future<Output = ServiceReply> + Send + 'static {
        {
            let mut slot = self.lock();
            slot.reply = None;
            slot.request = Some(request);
        }
        let channel = self.clone();
        std::future::poll_fn(move |_| match channel.lock().reply.take() {
            Some(reply) => Poll::Ready(reply),
            // Woken by nobody: the runner polls the guest again once it has put the reply.
            None => Poll::Pending,
        })
    }
}

impl std::fmt::Debug for ServiceChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceChannel").finish_non_exhaustive()
    }
}

/// The reply when a run has no services at all (`lambda-sim invoke`, or a scenario without `[[service]]`).
pub fn no_services(name: &str) -> ServiceReply {
    ServiceReply::Unknown {
        message: format!(
            "no service named `{name}`: this run declares no services (add a [[service]] table to the scenario)"
        ),
    }
}
