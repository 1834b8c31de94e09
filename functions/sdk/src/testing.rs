//! Native unit testing of handlers without the lambda-sim host (only on non-`wasm32` targets).
//!
//! [`invoke`] runs one call against an in-process stand-in for the `lambda` imports: it supplies the event, a fixed
//! request id and 3 seconds of remaining time, and collects the response, the reported error and the simulated
//! waits.
//!
//! ```
//! use lambda_sim_sdk::{Context, Error, run, testing};
//!
//! fn echo(event: serde_json::Value, _ctx: &Context) -> Result<serde_json::Value, Error> {
//!     Ok(event)
//! }
//!
//! let inv = testing::invoke(br#"{"a":1}"#, || run(echo));
//! assert_eq!(inv.status, 0);
//! assert_eq!(inv.json().unwrap(), serde_json::json!({"a": 1}));
//! ```

use std::time::Duration;

use crate::Error;
use crate::ffi::{HOST, MockHost};

/// The request id [`invoke`] gives every call.
pub const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000001";

/// The remaining time every call starts with (Lambda's default timeout).
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// What one call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The status code the entry point returned (`0` is success).
    pub status: i32,
    /// The bytes written with `response_write`.
    pub response: Vec<u8>,
    /// The error reported with the `error` import, if any.
    pub error: Option<Error>,
    /// The total of the simulated downstream waits.
    pub waited: Duration,
    /// The services called with [`crate::service::call`], in order (every call succeeds unless
    /// [`invoke_with_service_replies`] says otherwise).
    pub service_calls: Vec<String>,
}

impl Invocation {
    /// The response parsed as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.response)
    }
}

/// Runs `entry` (typically `|| lambda_sim_sdk::run(my_handler)`) as one invocation with `event` as its payload.
pub fn invoke(event: &[u8], entry: impl FnOnce() -> i32) -> Invocation {
    call(event, REQUEST_ID, Vec::new(), entry)
}

/// [`invoke`], with the answers of the call's service calls in order: `(status, message)` with status 1 (the
/// service answered with an error), 2 (refused) or 3 (no such service); calls beyond the list succeed.
pub fn invoke_with_service_replies(
    event: &[u8],
    replies: Vec<(i32, String)>,
    entry: impl FnOnce() -> i32,
) -> Invocation {
    call(event, REQUEST_ID, replies, entry)
}

/// Runs `entry` (typically `|| lambda_sim_sdk::run_init(my_init)`) as an `init` call: no event, no request id.
pub fn init(entry: impl FnOnce() -> i32) -> Invocation {
    call(b"", "", Vec::new(), entry)
}

fn call(
    event: &[u8],
    request_id: &str,
    replies: Vec<(i32, String)>,
    entry: impl FnOnce() -> i32,
) -> Invocation {
    HOST.set(MockHost {
        event: event.to_vec(),
        service_replies: replies.into(),
        request_id: request_id.to_owned(),
        remaining_ms: i64::try_from(TIMEOUT.as_millis()).unwrap_or(i64::MAX),
        ..MockHost::default()
    });
    let status = entry();
    let host = HOST.take();
    Invocation {
        status,
        response: host.response,
        error: host
            .error
            .map(|(error_type, message)| Error::new(error_type, message)),
        waited: Duration::from_micros(u64::try_from(host.waited_us).unwrap_or(0)),
        service_calls: host.service_calls,
    }
}
