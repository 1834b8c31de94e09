//! Calls to the scenario's simulated downstream services (`[[service]]` tables): a database, an HTTP API.
//!
//! [`call`] blocks the invocation for the service's latency, in virtual or real time, like a real client call. The
//! service's connection model decides whether the call gets a connection: with per-sandbox connections the
//! execution environment opens one on its first call and keeps it while it lives; behind a proxy every call borrows
//! one of a shared pool. See `docs/services.md`.
//!
//! ```no_run
//! use lambda_sim_sdk::{Context, Error, service};
//!
//! fn handler(_event: serde_json::Value, _ctx: &Context) -> Result<&'static str, Error> {
//!     service::call("db")?; // `?` turns a refusal into the function's error
//!     Ok("done")
//! }
//! ```

use std::fmt;

use crate::Error;

/// How a service call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// The service answered with an error (its `error_rate`).
    Failed(String),
    /// No connection: the database refused it (too many connections), or no proxy connection came free in time.
    Refused(String),
    /// The scenario declares no service of that name.
    Unknown(String),
}

impl ServiceError {
    /// The host's message, e.g. "service `db` refused the connection: too many connections (limit 100)".
    pub fn message(&self) -> &str {
        match self {
            ServiceError::Failed(m) | ServiceError::Refused(m) | ServiceError::Unknown(m) => m,
        }
    }

    /// The `errorType` this failure gets when a handler returns it with `?`.
    pub fn error_type(&self) -> &'static str {
        match self {
            ServiceError::Failed(_) => "ServiceError",
            ServiceError::Refused(_) => "ServiceConnectionError",
            ServiceError::Unknown(_) => "UnknownServiceError",
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        Error::new(e.error_type(), e.message())
    }
}

/// Calls the service `name` and waits for its answer.
pub fn call(name: &str) -> Result<(), ServiceError> {
    match crate::ffi::service_call(name) {
        (0, _) => Ok(()),
        (1, message) => Err(ServiceError::Failed(message)),
        (2, message) => Err(ServiceError::Refused(message)),
        (_, message) => Err(ServiceError::Unknown(message)),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::{Context, run, testing};

    fn query(_event: serde_json::Value, _ctx: &Context) -> Result<&'static str, Error> {
        call("db")?;
        call("cache")?;
        Ok("ok")
    }

    #[test]
    fn calls_are_recorded_and_succeed() {
        let inv = testing::invoke(b"{}", || run(query));
        assert_eq!(inv.status, 0);
        assert_eq!(inv.service_calls, ["db", "cache"]);
    }

    #[test]
    fn a_refusal_becomes_the_function_error() {
        let refused = "service `db` refused the connection: too many connections (limit 100)";
        let inv =
            testing::invoke_with_service_replies(b"{}", vec![(2, refused.into())], || run(query));
        let error = inv.error.expect("a function error");
        assert_eq!(error.error_type, "ServiceConnectionError");
        assert_eq!(error.message, refused);
        // The handler stopped at the refused call.
        assert_eq!(inv.service_calls, ["db"]);
    }
}
