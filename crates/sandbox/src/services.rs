//! The sandbox's side of named-service calls (ABI v2 `lambda.service_call`): what a handler asks and what it is
//! told. The sandbox knows nothing of latencies, connections or scheduling: a driver hands each sandbox a
//! [`ServiceLink`] to a [`ServiceHost`], which decides every call (the virtual-time driver by suspending the handler
//! until the call's virtual answer time, the real-time driver by really waiting).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One call a handler makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    /// The service's name as the handler wrote it.
    pub service: String,
    /// The calling environment (the model's sandbox id).
    pub sandbox: u64,
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

/// The answer to a call, once the driver has it.
pub type ReplyFuture = Pin<Box<dyn Future<Output = ServiceReply> + Send>>;

/// Decides handlers' service calls. Implemented by each driver.
pub trait ServiceHost: Send + Sync {
    /// A handler calls a service; the future resolves when the call ends. In real time the future itself takes
    /// the call's time (it may be dropped at the invocation's deadline); in virtual time it stays pending until the
    /// driver has advanced virtual time to the answer.
    fn call(&self, request: ServiceRequest) -> ReplyFuture;
}

/// A sandbox's connection to its run's services.
#[derive(Clone)]
pub struct ServiceLink {
    pub host: Arc<dyn ServiceHost>,
    /// The environment's model id, passed along with every call.
    pub sandbox: u64,
}

impl std::fmt::Debug for ServiceLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceLink")
            .field("sandbox", &self.sandbox)
            .finish_non_exhaustive()
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
