//! lambda-sim's sandboxes: one wasmtime instance per Lambda execution environment.
//!
//! This layer knows wasmtime and nothing of scheduling. A driver asks it to create a sandbox from a function's
//! code, to run its init, to run invocations on it, and to drop it; the sandbox reports what each call did
//! (outcome, fuel, waits, memory, log). Which sandbox runs what, and when, is the platform model's business.
//! `snapshot` pre-initializes a module at deploy time so sandboxes can be restored from it without init.

mod abi;
mod code;
mod engine;
mod instance;
mod log;
mod outcome;
mod services;
mod snapshot;

pub use code::{
    ABI_SECTION, CodeCache, CodeInfo, CodeSource, FunctionCode, SUPPORTED_ABI_VERSIONS,
};
pub use engine::{EngineOptions, SandboxEngine};
pub use instance::{
    CallLimits, ClockMode, InitializationType, Invocation, Sandbox, SandboxConfig,
    VIRTUAL_EPOCH_UNIX_S,
};
pub use lambda_sim_model::{ErrorBody, Outcome, RequestId};
pub use log::LOG_CAPACITY_PER_CALL;
pub use outcome::CallReport;
pub use services::{
    ReplyFuture, ServiceHost, ServiceLink, ServiceReply, ServiceRequest, no_services,
};
pub use snapshot::{Snapshot, SnapshotError, SnapshotInit, take_snapshot};

/// Why a module could not be loaded or a sandbox not created.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{module} {reason}")]
    Load { module: String, reason: String },
    #[error("cannot create a sandbox: {0}")]
    Instantiate(String),
    #[error(
        "the sandbox was destroyed after a crash, timeout or out-of-memory error and cannot be reused"
    )]
    Destroyed,
    #[error("cannot configure the WebAssembly engine: {0}")]
    Engine(String),
}
