//! Deploying a scenario's functions: build guest crates, compile (or load cached) modules, size the sandbox pool,
//! and take the snapshot of every function with `snapshot = true` (its init runs here, once, as SnapStart runs it
//! when a version is published).

use crate::sandbox::{
    ClockMode, CodeCache, EngineOptions, FunctionCode, InitializationType, SandboxConfig,
    SandboxEngine, SandboxError, Snapshot, SnapshotError,
};
use crate::scenario::{FunctionSpec, Scenario};

/// Most sandboxes one run may keep alive at once (each reserves ~4 GiB of address space, not memory).
pub const MAX_POOL_SLOTS: u32 = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The function's code could not be found or built.
    #[error("function \"{function}\"")]
    Guest {
        function: String,
        #[source]
        source: crate::guest::GuestError,
    },
    /// The function's module is not a handler lambda-sim can run, or cannot be compiled.
    #[error("function \"{function}\"")]
    Load {
        function: String,
        #[source]
        source: SandboxError,
    },
    /// `snapshot = true`, and the snapshot could not be taken.
    #[error("function \"{function}\": snapshot = true")]
    Snapshot {
        function: String,
        #[source]
        source: SnapshotError,
    },
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up the sandboxes")]
    Engine(#[source] SandboxError),
    /// A runtime preset on a handler whose interpreter runs inside the sandbox: its start-up would count twice.
    #[error(
        "function \"{function}\": {setting} models a runtime's start-up, but this handler's interpreter runs \
         inside the sandbox, where its start-up is measured; remove it (or set runtime = \"none\")"
    )]
    RuntimeInSandbox {
        function: String,
        /// The setting, as written: `runtime = "python3.12"` or `cold_start.runtime_startup_ms`.
        setting: String,
    },
}

/// The engine and compiled code of a scenario's functions, in scenario order.
#[derive(Clone)]
pub struct Deployment {
    pub engine: SandboxEngine,
    pub codes: Vec<FunctionCode>,
    /// Each function's snapshot, if it has `snapshot = true` (scenario order).
    pub snapshots: Vec<Option<Snapshot>>,
}

impl Deployment {
    /// Deployment package sizes in bytes (what a cold start downloads), in scenario order.
    pub fn package_bytes(&self) -> Vec<u64> {
        self.codes
            .iter()
            .map(|c| c.info().download_bytes())
            .collect()
    }
}

/// How many sandboxes a scenario can have alive at once: the account limit bounds the busy ones, provisioned
/// concurrency adds its own, and idle environments kept alive add more: one function's idle environments were
/// once needed concurrently, but many functions' idle environments add up (a replayed trace of thousands of
/// functions keeps several per function warm), so eight slots per function are added, with slack for recycling.
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
        .saturating_add(
            u32::try_from(scenario.functions.len().saturating_mul(8)).unwrap_or(u32::MAX),
        )
        .min(MAX_POOL_SLOTS)
}

/// Builds and loads every function of `scenario`.
pub fn deploy(scenario: &Scenario, cache: &CodeCache) -> Result<Deployment, DeployError> {
    let engine = SandboxEngine::new(EngineOptions {
        max_sandboxes: pool_slots(scenario),
    })
    .map_err(DeployError::Engine)?;
    let mut codes = Vec::with_capacity(scenario.functions.len());
    let mut snapshots = Vec::with_capacity(scenario.functions.len());
    // Functions that share code share one build and one loaded module (thousands of trace functions run the
    // same stand-in handler: one compiled copy, not thousands).
    let mut built: std::collections::BTreeMap<
        &std::path::Path,
        (std::path::PathBuf, FunctionCode),
    > = Default::default();
    for f in &scenario.functions {
        let function = || f.name.clone();
        let (wasm, code) = match built.get(f.code.as_path()) {
            Some(loaded) => loaded.clone(),
            None => {
                let wasm = crate::guest::resolve(&f.code).map_err(|source| DeployError::Guest {
                    function: function(),
                    source,
                })?;
                let code = FunctionCode::load_file(&engine, cache, &wasm).map_err(|source| {
                    DeployError::Load {
                        function: function(),
                        source,
                    }
                })?;
                built.insert(&f.code, (wasm.clone(), code.clone()));
                (wasm, code)
            }
        };
        if code.info().interpreter_in_sandbox() {
            let preset = match f.runtime {
                crate::scenario::RuntimeChoice::Preset(runtime) => {
                    Some(format!("runtime = \"{}\"", runtime.name()))
                }
                _ => None,
            };
            let custom = f
                .cold_start
                .runtime_startup_ms
                .as_ref()
                .map(|_| "cold_start.runtime_startup_ms".to_string());
            if let Some(setting) = preset.or(custom) {
                return Err(DeployError::RuntimeInSandbox {
                    function: function(),
                    setting,
                });
            }
        }
        codes.push(code);
        snapshots.push(if f.snapshot {
            Some(snapshot(&engine, cache, scenario, f, &wasm)?)
        } else {
            None
        });
    }
    Ok(Deployment {
        engine,
        codes,
        snapshots,
    })
}

/// How the snapshot of `f` is taken: its name and memory, the run's CPU speed, and a seed derived from the run's
/// seed and the function's name (one snapshot per function, as one per published version on Lambda).
pub fn snapshot_config(scenario: &Scenario, f: &FunctionSpec) -> SandboxConfig {
    // FNV-1a of the name: stable across runs and independent of the function's position in the file.
    let name_hash = f.name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    SandboxConfig {
        function_name: f.name.clone(),
        handler: f.handler.clone(),
        memory_mb: f.memory_mb,
        ps_per_fuel: scenario.simulation.ps_per_fuel,
        seed: scenario.simulation.seed ^ name_hash,
        clock: ClockMode::Virtual,
        initialization_type: InitializationType::SnapStart,
        services: None,
        environment: f.environment.clone().into_iter().collect(),
    }
}

fn snapshot(
    engine: &SandboxEngine,
    cache: &CodeCache,
    scenario: &Scenario,
    f: &FunctionSpec,
    wasm: &std::path::Path,
) -> Result<Snapshot, DeployError> {
    let bytes = std::fs::read(wasm).map_err(|source| DeployError::Read {
        path: wasm.display().to_string(),
        source,
    })?;
    // SnapStart's init limit: 130 s or the function timeout, whichever is higher (docs/lambda.md §3).
    let limit = crate::limits::provisioned_init_limit_ns(f.timeout_ns);
    let config = snapshot_config(scenario, f);
    crate::sandbox::take_snapshot(
        engine,
        cache,
        &wasm.display().to_string(),
        &bytes,
        &config,
        limit,
    )
    .map_err(|source| DeployError::Snapshot {
        function: f.name.clone(),
        source,
    })
}
