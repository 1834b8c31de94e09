//! What a call into a sandbox reports.

use lambda_sim_model::{ErrorBody, Outcome};

/// Everything a call into a sandbox reports.
#[derive(Debug, Clone)]
pub struct CallReport {
    pub outcome: Outcome,
    /// Set for every outcome except `Success`.
    pub error: Option<Box<ErrorBody>>,
    /// The response bytes on success (`null` when the handler wrote none).
    pub response: bytes::Bytes,
    /// Fuel consumed (deterministic for the same input).
    pub fuel: u64,
    /// CPU time: virtual (from fuel) or measured (stretched by the CPU share) in real-time mode.
    pub cpu_ns: u64,
    /// Time spent in simulated waits.
    pub wait_ns: u64,
    /// The call's duration as REPORT shows it: CPU time plus waits, capped at the timeout.
    pub duration_ns: u64,
    /// For an invocation that ran a suppressed init: the part of `duration_ns` init took.
    pub suppressed_init_ns: Option<u64>,
    /// Peak linear memory of the sandbox so far.
    pub peak_memory_bytes: u64,
    /// What the guest wrote to stdout/stderr during the call (bounded).
    pub log: Vec<u8>,
}

impl CallReport {
    /// The report of a call lambda-sim itself could not make (a 500 `ServiceException` on Lambda's API): a crash
    /// of the environment, which is discarded.
    pub fn system_error(message: &str) -> CallReport {
        CallReport {
            outcome: Outcome::Crash,
            error: Some(Box::new(ErrorBody::new("ServiceException", message))),
            response: bytes::Bytes::new(),
            fuel: 0,
            cpu_ns: 0,
            wait_ns: 0,
            duration_ns: 0,
            suppressed_init_ns: None,
            peak_memory_bytes: 0,
            log: Vec::new(),
        }
    }

    /// The response body as the Invoke API returns it: the response, or the error object.
    pub fn body(&self) -> bytes::Bytes {
        match &self.error {
            None => self.response.clone(),
            Some(e) => bytes::Bytes::from(e.to_json()),
        }
    }
}
