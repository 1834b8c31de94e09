//! The invocation context handed to every handler: request id, remaining time, simulated downstream waits and the
//! function's Lambda-style environment.

use std::time::Duration;

use crate::ffi;

/// Information about the invocation in progress, passed to the handler by [`crate::run`] / [`crate::run_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    request_id: String,
}

impl Context {
    /// Reads the current call's context from the host. The SDK's run functions do this for you; it is public for
    /// hand-written exports. During `init` the request id is empty.
    pub fn current() -> Self {
        Context {
            request_id: ffi::request_id(),
        }
    }

    /// The request id of this invocation: a lower-case UUID (36 characters).
    pub fn request_id(&self) -> String {
        self.request_id.clone()
    }

    /// Time left before this invocation times out, as the host counts it (virtual or real time).
    pub fn remaining_time(&self) -> Duration {
        remaining_time()
    }

    /// A simulated downstream call (database, HTTP API, …) that takes `duration` without using CPU. If it would run
    /// past the deadline the invocation times out and this call does not return.
    pub fn wait(&self, duration: Duration) {
        wait(duration);
    }

    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`), or an empty string when the host did not set it.
    pub fn function_name(&self) -> String {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default()
    }

    /// The function's configured memory in MB (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), if the host set it.
    pub fn memory_limit_mb(&self) -> Option<u32> {
        std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .ok()
            .and_then(|v| v.trim().parse().ok())
    }
}

/// Time left before the current call (invocation or `init`) times out. Never negative.
pub fn remaining_time() -> Duration {
    Duration::from_millis(u64::try_from(ffi::remaining_time_ms()).unwrap_or(0))
}

/// A simulated downstream wait of `duration` (rounded down to whole microseconds), usable from `init` as well as
/// from a handler. See [`Context::wait`].
pub fn wait(duration: Duration) {
    let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
    ffi::wait_us(micros);
}
