//! lambda-sim's sandboxes: one wasmtime instance per Lambda execution environment.
//!
//! This layer knows wasmtime and nothing of scheduling. A driver asks it to create a sandbox from a function's
//! code, to run its init, to run invocations on it, and to drop it; the sandbox reports what each call did
//! (outcome, fuel, waits, memory, log). Which sandbox runs what, and when, is the platform model's business.
//! `snapshot` pre-initializes a module at deploy time so sandboxes can be restored from it without init.
//! Two kinds of code run behind the same `Sandbox`: core modules (ABI v1/v2, `abi`, `wasi`) and components of the
//! handler world (ABI v3, `abi_v3`, `component`, `wasi_p2`), which Python and JavaScript handlers are built into.

mod abi;
mod abi_v3;
mod code;
mod component;
mod engine;
mod instance;
mod log;
mod outcome;
mod services;
mod snapshot;
mod wasi;
mod wasi_p2;

pub use code::{
    ABI_SECTION, CodeCache, CodeInfo, CodeSource, FunctionCode, PACKAGE_SECTION,
    SUPPORTED_ABI_VERSIONS,
};
pub use engine::{EngineOptions, SandboxEngine};
pub use instance::{
    CallLimits, ClockMode, InitializationType, Invocation, Sandbox, SandboxConfig,
    VIRTUAL_EPOCH_UNIX_S,
};
pub use lambda_sim_model::{ErrorBody, Outcome, RequestId};
pub use log::LOG_CAPACITY_PER_CALL;
pub use outcome::CallReport;
pub use services::{ServiceChannel, ServiceReply, ServiceRequest, no_services};
pub use snapshot::{Snapshot, SnapshotError, SnapshotInit, take_snapshot};

/// Polls `future` once and returns its output if it completed. A call on a sandbox that cannot suspend — virtual
/// time and no service channel — always completes on its first poll, so this runs it synchronously (tests, tools,
/// taking a snapshot). `None` if the future is pending.
pub fn complete_now<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

/// A source error kept whole (wasmtime's errors convert into this).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a module could not be loaded or a sandbox could not run. What a guest does wrong is never one of these: it
/// is the call's [`Outcome`] and error body.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot read {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The module is not a handler lambda-sim can run; `reason` says why, naming the import, export or section.
    #[error("{module} {reason}")]
    Load { module: String, reason: String },
    /// wasmtime could not compile or link the module.
    #[error("{module}: {what}")]
    Compile {
        module: String,
        what: &'static str,
        #[source]
        source: BoxError,
    },
    /// Every sandbox slot of the engine is in use: lambda-sim's capacity, not the function's fault.
    #[error("cannot create an execution environment: every sandbox slot is in use")]
    Capacity {
        #[source]
        source: BoxError,
    },
    /// A restore was asked of a function that has no snapshot.
    #[error("the function has no snapshot to restore")]
    NoSnapshot,
    /// A snapshot's module could not be instantiated.
    #[error("cannot restore the environment from its snapshot")]
    Restore {
        #[source]
        source: BoxError,
    },
    #[error(
        "the sandbox was destroyed after a crash, timeout or out-of-memory error and cannot be reused"
    )]
    Destroyed,
    /// A call that cannot suspend did (a lambda-sim bug, reported rather than waited on forever).
    #[error("a sandbox call that cannot suspend did not complete")]
    Suspended,
    #[error("cannot configure the WebAssembly engine")]
    Engine {
        #[source]
        source: BoxError,
    },
}

/// An error and its sources, as one line: `error: source: source …` (for messages to people).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        // Some errors repeat their source in their own message.
        if !text.ends_with(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
