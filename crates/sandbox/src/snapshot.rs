//! Snapshot restore, lambda-sim's analog of Lambda SnapStart.
//!
//! At deploy time a function's module is instantiated once, its Init phase (`_initialize`, then `init`) runs, and
//! wasmtime-wizer writes the initialized state — linear memory and mutable globals — into a new module without
//! the `init` and `_initialize` exports. A cold start of a snapshot function instantiates that module (a
//! "restore") and runs no init. WASI calls during init are allowed: lambda-sim instantiates the module with its
//! own WASI context (seeded randomness, virtual clocks, the usual environment with
//! `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`), so whatever init drew from them is frozen into the snapshot and
//! shared by every restored sandbox — the uniqueness pitfall SnapStart has too.
//!
//! The init runs in virtual time whatever the driver, so a snapshot (and its Init Duration) is deterministic, and
//! it is cached by everything init depends on. The Restore Duration is modelled, not measured: see
//! [`restore_ns`]. docs/mitigations.md, "Snapshot restore", explains the model and its sources.

use std::future::Future;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::{Instance, Store, Val};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use super::abi::HostState;
use super::code::{CodeKind, to_binary};
use super::instance::InstanceRef;
use super::{
    CallLimits, CallReport, ClockMode, CodeCache, CodeSource, FunctionCode, InitializationType,
    Outcome, Sandbox, SandboxConfig, SandboxEngine, SandboxError, complete_now,
};

/// Mixed into the seed of the sandbox a snapshot is taken in.
const SNAPSHOT_SEED_SALT: u64 = 0x5AA9_5407_0000_0001;

/// Bumped when the cached metadata's meaning changes.
const META_VERSION: u32 = 2;

/// The Init phase that ran when the snapshot was taken (what Lambda reports in a SnapStart INIT_REPORT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInit {
    /// Init Duration, virtual (from fuel and simulated waits).
    pub duration_ns: u64,
    pub fuel: u64,
    pub peak_memory_bytes: u64,
    /// What init wrote to stdout/stderr.
    pub log: String,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    version: u32,
    init: SnapshotInit,
    memory_bytes: u64,
}

/// A function's snapshot: the pre-initialized module and what it took to make.
#[derive(Clone)]
pub struct Snapshot {
    code: FunctionCode,
    init: SnapshotInit,
    memory_bytes: u64,
    source: CodeSource,
}

impl Snapshot {
    /// The pre-initialized module: restore sandboxes from it with [`Sandbox::restore`].
    pub fn code(&self) -> &FunctionCode {
        &self.code
    }

    /// The init that ran at snapshot time.
    pub fn init(&self) -> &SnapshotInit {
        &self.init
    }

    /// Linear memory captured in the snapshot (the memory size after init).
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    /// The modelled Restore Duration of a cold start from this snapshot.
    pub fn restore_ns(&self) -> u64 {
        lambda_sim_model::cold_start::restore_ns(self.memory_bytes)
    }

    /// `Compiled` when init ran now; `MemoryCache` / `DiskCache` when the snapshot came from the cache.
    pub fn source(&self) -> CodeSource {
        self.source
    }

    /// The snapshot-time init as a call report (for an INIT_REPORT line).
    pub fn init_report(&self) -> CallReport {
        CallReport {
            outcome: Outcome::Success,
            error: None,
            response: bytes::Bytes::new(),
            fuel: self.init.fuel,
            cpu_ns: self.init.duration_ns,
            wait_ns: 0,
            duration_ns: self.init.duration_ns,
            suppressed_init_ns: None,
            peak_memory_bytes: self.init.peak_memory_bytes,
            log: self.init.log.clone().into_bytes(),
        }
    }
}

/// Why a snapshot could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// Init failed (error, crash, timeout, out of memory): Lambda fails the version publish the same way.
    #[error(
        "init failed while taking the snapshot: {error_type}: {message}{}",
        init_output(log)
    )]
    InitFailed {
        error_type: String,
        message: String,
        /// What init wrote before it failed.
        log: String,
    },
    #[error("{module}: cannot snapshot the module: {reason}")]
    Wizer { module: String, reason: String },
}

/// What a failed init wrote, for its error message.
fn init_output(log: &str) -> String {
    match log.trim_end() {
        "" => String::new(),
        log => format!("; init wrote:\n{log}"),
    }
}

/// Takes (or finds in `cache`) the snapshot of module `bytes` (binary or WAT) for a sandbox set up as `config`
/// (function name, memory size, CPU speed and seed; the clock is always virtual). Init gets `init_limit_ns`.
pub fn take_snapshot(
    engine: &SandboxEngine,
    cache: &CodeCache,
    name: &str,
    bytes: &[u8],
    config: &SandboxConfig,
    init_limit_ns: u64,
) -> Result<Snapshot, SnapshotError> {
    let wizer_err = |reason: String| SnapshotError::Wizer {
        module: name.to_string(),
        reason,
    };
    // Validates the module as a handler first, so ABI errors read as they do without snapshots.
    FunctionCode::from_bytes(engine, cache, name, bytes)?;
    let binary = to_binary(bytes).map_err(|reason| SandboxError::Load {
        module: name.to_string(),
        reason,
    })?;
    let mut config = config.clone();
    config.clock = ClockMode::Virtual;
    config.initialization_type = InitializationType::SnapStart;
    // The snapshot's randomness is its own stream, not the one a sandbox given the same seed would draw.
    config.seed ^= SNAPSHOT_SEED_SALT;
    let key = snapshot_key(engine, &binary, &config, init_limit_ns);

    if let Some((wasm, meta)) = cache.snapshot_artifact(&key)
        && let Ok(meta) = serde_json::from_slice::<Meta>(&meta)
        && meta.version == META_VERSION
    {
        let code = FunctionCode::load(engine, cache, name, &wasm, CodeKind::Snapshot)?;
        let source = match code.info().source {
            CodeSource::Compiled => CodeSource::DiskCache,
            other => other,
        };
        return Ok(Snapshot {
            code,
            init: meta.init,
            memory_bytes: meta.memory_bytes,
            source,
        });
    }

    let mut wizer = Wizer::new();
    let (cx, instrumented) = if wasmparser::Parser::is_component(&binary) {
        // A component's rewrite keeps every export (the init export stays: it is lambda-sim's to call, or not).
        wizer
            .instrument_component(&binary)
            .map(|(cx, wasm)| (Instrumented::Component(cx), wasm))
    } else {
        // A module's rewrite drops the `init` export: a restored module has no init to run.
        wizer.init_func("init");
        wizer
            .instrument(&binary)
            .map(|(cx, wasm)| (Instrumented::Module(cx), wasm))
    }
    .map_err(|e| wizer_err(format!("{e:#}")))?;
    // The instrumented module (the original plus exports of its state) runs once: it stays out of the cache.
    let scratch = CodeCache::in_memory();
    let instrumented = FunctionCode::from_bytes(engine, &scratch, name, &instrumented)?;
    let mut sandbox = Sandbox::new(&instrumented, &config)?;
    let limits = CallLimits {
        timeout_ns: init_limit_ns,
        start_ns: 0,
    };
    // A virtual-time sandbox without services cannot suspend: its init completes when first polled.
    let report = complete_now(sandbox.init(limits))
        .ok_or_else(|| wizer_err("init did not complete synchronously".into()))??;
    let log = String::from_utf8_lossy(&report.log).into_owned();
    if !sandbox.is_initialized() {
        let (error_type, message) = match &report.error {
            Some(e) => (e.error_type.clone(), e.error_message.clone()),
            None => ("Runtime.InitError".into(), "init failed".into()),
        };
        return Err(SnapshotError::InitFailed {
            error_type,
            message,
            log,
        });
    }
    let peak_memory_bytes = sandbox.peak_memory_bytes();
    let (store, instance) = sandbox
        .parts_mut()
        .ok_or_else(|| wizer_err("the initialized instance is missing".into()))?;
    let (snapshot, memory_bytes, missing) = match (cx, instance) {
        (Instrumented::Module(cx), InstanceRef::Module(instance)) => {
            let memory_bytes = store
                .data()
                .memory
                .map_or(0, |m| m.data_size(&*store) as u64);
            let mut state = Capture {
                store,
                instance,
                missing: None,
            };
            let snapshot = complete_now(wizer.snapshot(&cx, &mut state));
            (snapshot, memory_bytes, state.missing)
        }
        (Instrumented::Component(cx), InstanceRef::Component(instance)) => {
            let mut state = super::component::Capture {
                store,
                instance,
                failed: None,
            };
            let snapshot = complete_now(wizer.snapshot_component(&cx, &mut state));
            // A component's memory is its linear memory at its peak (it has one, shared by its core modules).
            (snapshot, peak_memory_bytes, state.failed)
        }
        _ => return Err(wizer_err("the instance is not of the code's kind".into())),
    };
    let snapshot = snapshot
        .ok_or_else(|| wizer_err("the snapshot did not complete synchronously".into()))?
        .map_err(|e| wizer_err(format!("{e:#}")))?;
    if let Some(missing) = missing {
        return Err(wizer_err(missing));
    }
    let meta = Meta {
        version: META_VERSION,
        init: SnapshotInit {
            duration_ns: report.duration_ns,
            fuel: report.fuel,
            peak_memory_bytes: report.peak_memory_bytes,
            log,
        },
        memory_bytes,
    };
    let meta_json = serde_json::to_vec(&meta).map_err(|e| wizer_err(e.to_string()))?;
    cache.store_snapshot_artifact(&key, &snapshot, &meta_json);
    let code = FunctionCode::load(engine, cache, name, &snapshot, CodeKind::Snapshot)?;
    Ok(Snapshot {
        code,
        init: meta.init,
        memory_bytes,
        source: CodeSource::Compiled,
    })
}

/// Everything init's result depends on: the module, the engine, the sandbox's name, memory, CPU speed and seed,
/// and the init limit.
fn snapshot_key(
    engine: &SandboxEngine,
    binary: &[u8],
    config: &SandboxConfig,
    init_limit_ns: u64,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"lambda-sim snapshot\0");
    h.update(META_VERSION.to_le_bytes());
    h.update(Sha256::digest(binary));
    h.update(engine.compatibility_key().to_le_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update((config.function_name.len() as u64).to_le_bytes());
    h.update(config.function_name.as_bytes());
    // Init imports the module `_HANDLER` names (Python).
    let handler = config.handler.as_deref().unwrap_or("");
    h.update((handler.len() as u64).to_le_bytes());
    h.update(handler.as_bytes());
    for x in [
        config.memory_mb,
        config.ps_per_fuel,
        config.seed,
        init_limit_ns,
    ] {
        h.update(x.to_le_bytes());
    }
    h.finalize().into()
}

/// What wizer's instrumentation knows of the code, for either kind.
enum Instrumented<'a> {
    Module(wasmtime_wizer::ModuleContext<'a>),
    Component(wasmtime_wizer::ComponentContext<'a>),
}

/// The initialized instance, as wizer reads it. wizer only asks for the exports its instrumentation added, so a
/// missing one is recorded (and the snapshot refused) rather than trusted.
struct Capture<'a> {
    store: &'a mut Store<HostState>,
    instance: Instance,
    missing: Option<String>,
}

impl InstanceState for Capture<'_> {
    fn global_get(
        &mut self,
        name: &str,
        _type_hint: ValType,
    ) -> impl Future<Output = SnapshotVal> + Send {
        let value = match self
            .instance
            .get_global(&mut *self.store, name)
            .map(|g| g.get(&mut *self.store))
        {
            Some(Val::I32(x)) => SnapshotVal::I32(x),
            Some(Val::I64(x)) => SnapshotVal::I64(x),
            Some(Val::F32(x)) => SnapshotVal::F32(x),
            Some(Val::F64(x)) => SnapshotVal::F64(x),
            Some(Val::V128(x)) => SnapshotVal::V128(x.as_u128()),
            other => {
                self.missing = Some(format!(
                    "global `{name}` cannot be snapshotted ({})",
                    if other.is_some() {
                        "a reference-typed global"
                    } else {
                        "not exported"
                    }
                ));
                SnapshotVal::I32(0)
            }
        };
        std::future::ready(value)
    }

    fn memory_contents(
        &mut self,
        name: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) -> impl Future<Output = ()> + Send {
        match self.instance.get_memory(&mut *self.store, name) {
            Some(memory) => contents(memory.data(&*self.store)),
            None => {
                self.missing = Some(format!("memory `{name}` is not exported"));
                contents(&[]);
            }
        }
        std::future::ready(())
    }
}
