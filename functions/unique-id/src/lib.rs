//! `unique-id`: the uniqueness pitfall of snapshot restore (Lambda SnapStart) and its fix.
//!
//! `init` draws a random id (WASI `random_get`). With snapshot restore, init runs once, when the snapshot is taken,
//! and every sandbox restored from it starts with that same id in memory: ids that should be unique per sandbox
//! are not. The fix: draw unique values after restore — here, lazily, on the first invocation that needs one
//! (AWS's advice: generate them "in the handler" or in an after-restore hook). Without snapshot restore both modes
//! give a different id per sandbox.
//!
//! Event: `{"mode": "pitfall"}` (default) — the id drawn in `init`; `{"mode": "fixed"}` — an id drawn on first use
//! in this sandbox. Response:
//! `{"mode": "fixed", "id": "<32 hex digits>", "initialization_type": "snap-start", "invocation": 1}` where
//! `invocation` counts this sandbox's invocations.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use lambda_sim_sdk::{Context, Error};
use serde::{Deserialize, Serialize};

/// Drawn by `init`: frozen into a snapshot, so shared by every restored sandbox.
static INIT_ID: OnceLock<String> = OnceLock::new();
/// Drawn on first use by the handler, i.e. after restore: one per sandbox.
static LAZY_ID: OnceLock<String> = OnceLock::new();
static INVOCATIONS: AtomicU64 = AtomicU64::new(0);

/// 128 random bits as 32 hex digits.
fn random_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::new("RandomError", e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The id held in `cell`, drawn now if it has none yet.
fn id_in(cell: &'static OnceLock<String>) -> Result<&'static str, Error> {
    if let Some(id) = cell.get() {
        return Ok(id);
    }
    let id = random_id()?;
    Ok(cell.get_or_init(|| id))
}

fn init() -> Result<(), Error> {
    let id = id_in(&INIT_ID)?;
    println!("init drew id {id}");
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// The id drawn in init (not unique across restored sandboxes).
    #[default]
    Pitfall,
    /// An id drawn after restore, on first use.
    Fixed,
}

#[derive(Debug, Default, Deserialize)]
struct Request {
    #[serde(default)]
    mode: Mode,
}

#[derive(Debug, Serialize)]
struct Response {
    mode: &'static str,
    id: &'static str,
    initialization_type: String,
    invocation: u64,
}

fn unique_id(event: Option<Request>, _ctx: &Context) -> Result<Response, Error> {
    let invocation = INVOCATIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let (mode, id) = match event.unwrap_or_default().mode {
        // If init was not run (no `init` call on this host), the handler draws it: still one per sandbox.
        Mode::Pitfall => ("pitfall", id_in(&INIT_ID)?),
        Mode::Fixed => ("fixed", id_in(&LAZY_ID)?),
    };
    Ok(Response {
        mode,
        id,
        initialization_type: std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").unwrap_or_default(),
        invocation,
    })
}

lambda_sim_sdk::handler!(unique_id, init = init);

// Native only: the tests run against the SDK's stand-in host (`lambda_sim_sdk::testing`).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use lambda_sim_sdk::{run, run_init, testing};

    // One test only: the statics are per process, like the state of one sandbox.
    #[test]
    fn init_id_and_lazy_id_are_stable_within_a_sandbox() {
        assert_eq!(testing::init(|| run_init(init)).status, 0);
        let pitfall = testing::invoke(br#"{"mode":"pitfall"}"#, || run(unique_id))
            .json()
            .unwrap();
        let fixed = testing::invoke(br#"{"mode":"fixed"}"#, || run(unique_id))
            .json()
            .unwrap();
        let again = testing::invoke(br#"{"mode":"fixed"}"#, || run(unique_id))
            .json()
            .unwrap();
        let default = testing::invoke(b"null", || run(unique_id)).json().unwrap();
        assert_eq!(pitfall["id"].as_str().unwrap().len(), 32);
        assert_ne!(pitfall["id"], fixed["id"]);
        assert_eq!(fixed["id"], again["id"]);
        assert_eq!(default["id"], pitfall["id"]);
        assert_eq!(again["invocation"], 3);
        let bad = testing::invoke(br#"{"mode":"other"}"#, || run(unique_id));
        assert!(bad.error.is_some());
    }
}
