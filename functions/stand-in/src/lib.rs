//! `stand-in`: the default handler of replayed trace functions (`[trace]`, see `docs/traces.md`). It runs as long
//! as the trace says the real function ran, via a simulated wait (`Context::wait`: virtual time in a virtual-time
//! run, a sleep in real time), and burns almost no CPU, so the billed duration follows the trace.
//!
//! Event: `{"wait_ms": 123.456}` (optional, default 0; negative or non-finite values count as 0).
//! Response: `{"waited_ms": 123.456}`.

use std::time::Duration;

use lambda_sim_sdk::{Context, Error};
use serde::{Deserialize, Serialize};

/// The event: how long the invocation lasts, ms.
#[derive(Debug, Deserialize)]
struct Request {
    #[serde(default)]
    wait_ms: f64,
}

/// The response: what was waited.
#[derive(Debug, Serialize)]
struct Response {
    waited_ms: f64,
}

fn stand_in(event: Request, ctx: &Context) -> Result<Response, Error> {
    let ms = if event.wait_ms.is_finite() {
        event.wait_ms.max(0.0)
    } else {
        0.0
    };
    // Whole nanoseconds; 900 s (Lambda's longest invocation) bounds what a trace asks for.
    let wait = Duration::from_nanos((ms.min(900_000.0) * 1e6).round() as u64);
    if !wait.is_zero() {
        ctx.wait(wait);
    }
    Ok(Response { waited_ms: ms })
}

lambda_sim_sdk::handler!(stand_in);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, testing};
    use serde_json::json;

    #[test]
    fn echoes_the_wait() {
        let inv = testing::invoke(br#"{"wait_ms":12.5}"#, || run(stand_in));
        assert_eq!(inv.json().unwrap(), json!({"waited_ms": 12.5}));
    }

    #[test]
    fn negative_wait_is_zero() {
        let inv = testing::invoke(br#"{"wait_ms":-3}"#, || run(stand_in));
        assert_eq!(inv.json().unwrap(), json!({"waited_ms": 0.0}));
    }
}
