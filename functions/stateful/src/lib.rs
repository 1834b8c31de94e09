//! `stateful`: module state that survives between invocations of one sandbox — shows warm reuse versus cold starts.
//!
//! `init` draws a random sandbox id (WASI `random_get`, which lambda-sim seeds per scenario and sandbox) and notes
//! the time; every invocation increments a counter kept in a `static`. Within one sandbox `invocation` counts 1, 2,
//! 3, … under the same `sandbox_id`; a fresh sandbox (cold start) starts again at 1 with a new id.
//!
//! Event: anything (ignored). Response:
//! `{"invocation": 2, "sandbox_id": "<32 hex digits>", "initialized_at_invocation": 0,
//!   "initialized_at_unix_ms": 1767225600000, "initialization_type": "on-demand", "request_id": "…"}`.
//! `initialized_at_invocation` is 0 when the state was set up by `init`, or the invocation number at which the
//! handler had to set it up itself (if `init` was not run).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_sim_sdk::{Context, Error};
use serde::Serialize;

/// Invocations handled by this sandbox so far.
static INVOCATIONS: AtomicU64 = AtomicU64::new(0);

/// Per-sandbox state set up once.
static SANDBOX: OnceLock<Sandbox> = OnceLock::new();

#[derive(Debug)]
struct Sandbox {
    id: String,
    initialized_at_invocation: u64,
    initialized_at_unix_ms: u64,
    initialization_type: String,
}

impl Sandbox {
    fn new(at_invocation: u64) -> Result<Self, Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| Error::new("RandomError", e.to_string()))?;
        let id = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Ok(Sandbox {
            id,
            initialized_at_invocation: at_invocation,
            initialized_at_unix_ms: now,
            initialization_type: std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE")
                .unwrap_or_default(),
        })
    }
}

/// The response.
#[derive(Debug, Serialize)]
struct Response {
    invocation: u64,
    sandbox_id: String,
    initialized_at_invocation: u64,
    initialized_at_unix_ms: u64,
    initialization_type: String,
    request_id: String,
}

fn init() -> Result<(), Error> {
    let sandbox = Sandbox::new(0)?;
    println!("sandbox {} initialised", sandbox.id);
    // `init` runs once per sandbox, so the cell is empty; if it were not, keeping the first value is right anyway.
    let _ = SANDBOX.set(sandbox);
    Ok(())
}

fn stateful(_event: serde_json::Value, ctx: &Context) -> Result<Response, Error> {
    let invocation = INVOCATIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let sandbox = match SANDBOX.get() {
        Some(sandbox) => sandbox,
        None => {
            let sandbox = Sandbox::new(invocation)?;
            SANDBOX.get_or_init(|| sandbox)
        }
    };
    println!("sandbox {} invocation {invocation}", sandbox.id);
    Ok(Response {
        invocation,
        sandbox_id: sandbox.id.clone(),
        initialized_at_invocation: sandbox.initialized_at_invocation,
        initialized_at_unix_ms: sandbox.initialized_at_unix_ms,
        initialization_type: sandbox.initialization_type.clone(),
        request_id: ctx.request_id(),
    })
}

lambda_sim_sdk::handler!(stateful, init = init);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, run_init, testing};

    // One test only: the statics are per process, like the state of one sandbox.
    #[test]
    fn counts_within_one_sandbox() {
        assert_eq!(testing::init(|| run_init(init)).status, 0);
        let first = testing::invoke(b"{}", || run(stateful)).json().unwrap();
        let second = testing::invoke(b"null", || run(stateful)).json().unwrap();
        assert_eq!(first["invocation"], 1);
        assert_eq!(second["invocation"], 2);
        assert_eq!(first["sandbox_id"], second["sandbox_id"]);
        assert_eq!(first["sandbox_id"].as_str().unwrap().len(), 32);
        assert_eq!(second["initialized_at_invocation"], 0);
        assert_eq!(second["request_id"], testing::REQUEST_ID);
    }
}
