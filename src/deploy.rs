//! Deploying a scenario's functions: build guest crates, compile (or load cached) modules, size the sandbox pool.

use crate::sandbox::{CodeCache, EngineOptions, FunctionCode, SandboxEngine};
use crate::scenario::Scenario;

/// Most sandboxes one run may keep alive at once (each reserves ~4 GiB of address space, not memory).
pub const MAX_POOL_SLOTS: u32 = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("function \"{function}\": {message}")]
    Function { function: String, message: String },
    #[error("{0}")]
    Engine(String),
}

/// The engine and compiled code of a scenario's functions, in scenario order.
pub struct Deployment {
    pub engine: SandboxEngine,
    pub codes: Vec<FunctionCode>,
}

impl Deployment {
    /// Module sizes in bytes, in scenario order.
    pub fn wasm_bytes(&self) -> Vec<u64> {
        self.codes.iter().map(|c| c.info().wasm_bytes).collect()
    }
}

/// How many sandboxes a scenario can have alive at once: idle environments only exist because they were once
/// needed concurrently, so the account limit plus provisioned concurrency (and slack for recycling) bounds them.
pub fn pool_slots(scenario: &Scenario) -> u32 {
    let provisioned: u32 = scenario
        .functions
        .iter()
        .map(|f| f.provisioned_concurrency)
        .sum();
    scenario
        .account
        .concurrency_limit
        .saturating_add(provisioned)
        .saturating_add(64)
        .min(MAX_POOL_SLOTS)
}

/// Builds and loads every function of `scenario`.
pub fn deploy(scenario: &Scenario, cache: &CodeCache) -> Result<Deployment, DeployError> {
    let engine = SandboxEngine::new(EngineOptions {
        max_sandboxes: pool_slots(scenario),
    })
    .map_err(|e| DeployError::Engine(e.to_string()))?;
    let mut codes = Vec::with_capacity(scenario.functions.len());
    // Functions that share code share one build.
    let mut built: std::collections::BTreeMap<&std::path::Path, std::path::PathBuf> =
        Default::default();
    for f in &scenario.functions {
        let err = |message: String| DeployError::Function {
            function: f.name.clone(),
            message,
        };
        let wasm = match built.get(f.code.as_path()) {
            Some(wasm) => wasm.clone(),
            None => {
                let wasm = crate::guest::resolve(&f.code).map_err(|e| err(e.to_string()))?;
                built.insert(&f.code, wasm.clone());
                wasm
            }
        };
        let code =
            FunctionCode::load_file(&engine, cache, &wasm).map_err(|e| err(e.to_string()))?;
        codes.push(code);
    }
    Ok(Deployment { engine, codes })
}
