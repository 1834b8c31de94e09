//! The wasmtime engine every sandbox of a run shares: configuration, the instance pool and the epoch ticker.
//!
//! One engine config for both drivers: fuel (deterministic CPU accounting and virtual-time deadlines) and epoch
//! interruption (real-time deadlines) are both compiled in, so a module precompiled once serves either mode.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig};

use super::abi::HostState;

use super::SandboxError;
use lambda_sim_model::limits::WASM32_MEMORY_MAX_BYTES;

/// How often the epoch ticker advances the engine's epoch in real-time mode.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Most core instances, memories and tables one component sandbox may have.
const COMPONENT_CORE_INSTANCES: u32 = 32;
const COMPONENT_MEMORIES: u32 = 2;
const COMPONENT_TABLES: u32 = 4;

/// Settings for a [`SandboxEngine`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How many sandboxes may be alive at once (slots in the pooling allocator). Each slot reserves (not commits)
    /// about 4 GiB of address space.
    pub max_sandboxes: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_sandboxes: 1000,
        }
    }
}

/// A configured wasmtime engine. Cheap to clone.
#[derive(Clone)]
pub struct SandboxEngine {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    /// The same imports for `call_async` (live mode): async WASI, and waits that sleep without blocking a thread.
    linker_async: Arc<Linker<HostState>>,
    /// The same for components (ABI v3): WASI 0.2 and the handler world's imports, sync and async.
    component_linker: Arc<component::Linker<HostState>>,
    component_linker_async: Arc<component::Linker<HostState>>,
    ticker: Arc<OnceLock<()>>,
    options: Arc<EngineOptions>,
}

impl SandboxEngine {
    pub fn new(options: EngineOptions) -> Result<Self, SandboxError> {
        let mut pool = PoolingAllocationConfig::default();
        let slots = options.max_sandboxes.max(1);
        // A core module is one core instance, memory and table; a component (ABI v3) is several core instances
        // sharing a memory and a few tables (a componentize-py component: CPython, libc, bindings and WASI
        // adapters). The pool has room for `slots` sandboxes of either kind.
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(COMPONENT_CORE_INSTANCES))
            .max_core_instances_per_component(COMPONENT_CORE_INSTANCES)
            // One memory each (a componentize-py or componentize-js component links its core modules against one
            // shared memory): memory slots reserve 4 GiB of address space apiece, so there is one per sandbox.
            .total_memories(slots)
            .max_memories_per_component(COMPONENT_MEMORIES)
            .total_tables(slots.saturating_mul(COMPONENT_TABLES))
            .max_tables_per_component(COMPONENT_TABLES)
            .max_memory_size(WASM32_MEMORY_MAX_BYTES as usize)
            // Keep a little of each recycled memory resident: cheaper re-instantiation of small handlers.
            .linear_memory_keep_resident(64 << 10)
            .table_keep_resident(16 << 10);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .memory_init_cow(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| SandboxError::Engine { source: e.into() })?;
        // WASI preview 1 and the `lambda` imports, linked once for every module.
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut HostState| &mut s.wasi)
            .and_then(|()| super::abi::add_to_linker(&mut linker, false))
            .and_then(|()| super::wasi::add_to_linker(&mut linker, false))
            .map_err(|e| SandboxError::Engine { source: e.into() })?;
        let mut linker_async = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker_async, |s: &mut HostState| &mut s.wasi)
            .and_then(|()| super::abi::add_to_linker(&mut linker_async, true))
            .and_then(|()| super::wasi::add_to_linker(&mut linker_async, true))
            .map_err(|e| SandboxError::Engine { source: e.into() })?;
        let mut component_linker = component::Linker::new(&engine);
        super::abi_v3::add_to_linker(&mut component_linker, false)
            .map_err(|e| SandboxError::Engine { source: e.into() })?;
        let mut component_linker_async = component::Linker::new(&engine);
        super::abi_v3::add_to_linker(&mut component_linker_async, true)
            .map_err(|e| SandboxError::Engine { source: e.into() })?;
        Ok(SandboxEngine {
            engine,
            linker: Arc::new(linker),
            linker_async: Arc::new(linker_async),
            component_linker: Arc::new(component_linker),
            component_linker_async: Arc::new(component_linker_async),
            ticker: Arc::new(OnceLock::new()),
            options: Arc::new(options),
        })
    }

    pub fn wasmtime(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    pub(crate) fn linker_async(&self) -> &Linker<HostState> {
        &self.linker_async
    }

    pub(crate) fn component_linker(&self) -> &component::Linker<HostState> {
        &self.component_linker
    }

    pub(crate) fn component_linker_async(&self) -> &component::Linker<HostState> {
        &self.component_linker_async
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Starts (once) the background thread that advances the epoch, so real-time deadlines fire.
    pub fn ensure_epoch_ticker(&self) {
        self.ticker.get_or_init(|| {
            let engine = self.engine.weak();
            std::thread::Builder::new()
                .name("lambda-sim-epoch".into())
                .spawn(move || {
                    while let Some(engine) = engine.upgrade() {
                        engine.increment_epoch();
                        drop(engine);
                        std::thread::sleep(EPOCH_TICK);
                    }
                })
                .map(|_| ())
                .unwrap_or(())
        });
    }

    /// Identifies the engine's code-generation settings: precompiled code is only valid for an equal value.
    pub fn compatibility_key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        h.finish()
    }
}
