//! `io`: an I/O-bound handler that spends nearly all its time in simulated downstream calls (`Context::wait`), using
//! almost no CPU — for comparing wall-clock duration with billed CPU, and for provoking timeouts.
//!
//! Event: `{"calls": 3, "latency_ms": 50}` — both optional (defaults 3 calls of 50 ms).
//! Response: `{"calls": 3, "latency_ms": 50, "waited_ms": 150, "remaining_ms_before": 2999, "remaining_ms_after":
//! 2849}`. Logs one line per call to stdout. If the waits run past the function's timeout, the invocation times out.

use std::time::Duration;

use lambda_sim_sdk::{Context, Error};
use serde::{Deserialize, Serialize};

/// The event.
#[derive(Debug, Deserialize)]
struct Request {
    #[serde(default = "default_calls")]
    calls: u32,
    #[serde(default = "default_latency_ms")]
    latency_ms: u64,
}

fn default_calls() -> u32 {
    3
}

fn default_latency_ms() -> u64 {
    50
}

/// The response: what was waited, and the remaining time around the waits.
#[derive(Debug, Serialize)]
struct Response {
    calls: u32,
    latency_ms: u64,
    waited_ms: u64,
    remaining_ms_before: u64,
    remaining_ms_after: u64,
}

fn io(event: Request, ctx: &Context) -> Result<Response, Error> {
    let before = ctx.remaining_time();
    let latency = Duration::from_millis(event.latency_ms);
    for call in 1..=event.calls {
        ctx.wait(latency);
        println!(
            "downstream call {call}/{} done after {} ms",
            event.calls, event.latency_ms
        );
    }
    let after = ctx.remaining_time();
    Ok(Response {
        calls: event.calls,
        latency_ms: event.latency_ms,
        waited_ms: u64::from(event.calls).saturating_mul(event.latency_ms),
        remaining_ms_before: millis(before),
        remaining_ms_after: millis(after),
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

lambda_sim_sdk::handler!(io);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, testing};

    #[test]
    fn waits_calls_times_latency() {
        let inv = testing::invoke(br#"{"calls": 4, "latency_ms": 25}"#, || run(io));
        assert_eq!(inv.waited, Duration::from_millis(100));
        let body = inv.json().unwrap();
        assert_eq!(body["waited_ms"], 100);
        assert_eq!(body["remaining_ms_before"], 3000);
        assert_eq!(body["remaining_ms_after"], 2900);
    }

    #[test]
    fn defaults() {
        let inv = testing::invoke(b"{}", || run(io));
        assert_eq!(inv.waited, Duration::from_millis(150));
        assert_eq!(inv.json().unwrap()["calls"], 3);
    }
}
