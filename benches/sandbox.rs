//! Sandbox benchmarks (issue "Sandbox runtime"), each beside the bare-wasmtime baseline it is judged against:
//!
//! - warm invoke of a no-op handler vs a bare `TypedFunc::call` of the same export (goal ≤ 3×);
//! - sandbox create + init of `hello` from the code cache vs a bare `InstancePre::instantiate` (goal ≤ 2×);
//! - code-cache hit vs Cranelift compile for `heavy-init`.
//!
//! Run: `cargo bench --bench sandbox`. Guests are built on first use.

use std::path::PathBuf;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_sim::sandbox::{
    CallLimits, ClockMode, CodeCache, EngineOptions, FunctionCode, InitializationType, Invocation,
    RequestId, Sandbox, SandboxConfig, SandboxEngine, complete_now,
};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn guest(name: &str) -> PathBuf {
    lambda_sim::guest::resolve(&root().join("functions").join(name)).expect("guest builds")
}

fn config() -> SandboxConfig {
    SandboxConfig {
        function_name: "bench".into(),
        handler: None,
        memory_mb: 1769,
        ps_per_fuel: lambda_sim::cpu::DEFAULT_PS_PER_FUEL,
        seed: 1,
        clock: ClockMode::Virtual,
        initialization_type: InitializationType::OnDemand,
        services: None,
        environment: Vec::new(),
    }
}

/// A bare engine with the same code-generation settings as lambda-sim's (fuel, epochs, pooling + CoW).
fn bare_engine() -> Engine {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(16)
        .total_memories(16)
        .total_tables(16);
    let mut c = Config::new();
    c.consume_fuel(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&c).unwrap()
}

fn warm_invoke(c: &mut Criterion) {
    let mut group = c.benchmark_group("warm_invoke_noop");
    let engine = SandboxEngine::new(EngineOptions { max_sandboxes: 16 }).unwrap();
    let code = FunctionCode::load_file(
        &engine,
        &CodeCache::in_memory(),
        &root().join("tests/fixtures/noop.wat"),
    )
    .unwrap();
    let mut sandbox = Sandbox::new(&code, &config()).unwrap();
    let limits = CallLimits {
        timeout_ns: 3_000_000_000,
        start_ns: 0,
    };
    complete_now(sandbox.init(limits)).unwrap().unwrap();
    let invocation = Invocation {
        request_id: RequestId(1),
        event: Bytes::from_static(b"{}"),
    };
    group.bench_function("lambda_sim_sandbox_invoke", |b| {
        // A virtual-time sandbox call completes on its first poll: this is the whole call, as the simulator makes it.
        b.iter(|| {
            complete_now(sandbox.invoke(&invocation, limits))
                .unwrap()
                .unwrap()
        })
    });

    let bare = bare_engine();
    let module = Module::from_file(&bare, root().join("tests/fixtures/noop.wat")).unwrap();
    let mut store = Store::new(&bare, ());
    store.set_fuel(u64::MAX / 2).unwrap();
    store.set_epoch_deadline(1 << 40);
    let instance = Linker::new(&bare).instantiate(&mut store, &module).unwrap();
    let handle = instance
        .get_typed_func::<(), i32>(&mut store, "handle")
        .unwrap();
    group.bench_function("bare_typed_func_call", |b| {
        b.iter(|| handle.call(&mut store, ()).unwrap())
    });
    group.finish();
}

fn create_and_init(c: &mut Criterion) {
    let mut group = c.benchmark_group("cold_create_init_hello");
    let hello = guest("hello");
    let engine = SandboxEngine::new(EngineOptions { max_sandboxes: 16 }).unwrap();
    let code = FunctionCode::load_file(&engine, &CodeCache::in_memory(), &hello).unwrap();
    let limits = CallLimits {
        timeout_ns: 10_000_000_000,
        start_ns: 0,
    };
    group.bench_function("lambda_sim_create_plus_init", |b| {
        b.iter(|| {
            // Instantiation is part of init: create (the store) + init (instantiate, `_initialize`, `init`).
            let mut s = Sandbox::new(&code, &config()).unwrap();
            complete_now(s.init(limits)).unwrap().unwrap()
        })
    });

    // The bare baseline links the same imports (WASI p1 plus stubs for `lambda`) and instantiates with a default
    // WASI context: what any WASI embedding pays per instance.
    let bare = bare_engine();
    let module = Module::from_file(&bare, &hello).unwrap();
    let mut linker: Linker<wasmtime_wasi::p1::WasiP1Ctx> = Linker::new(&bare);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    linker.define_unknown_imports_as_traps(&module).unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    group.bench_function("bare_instance_pre_instantiate", |b| {
        b.iter(|| {
            let mut store = Store::new(&bare, wasmtime_wasi::WasiCtxBuilder::new().build_p1());
            store.set_fuel(u64::MAX / 2).unwrap();
            pre.instantiate(&mut store).unwrap();
            store
        })
    });
    group.finish();
}

fn code_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("code_cache_heavy_init");
    group.sample_size(10);
    let wasm = guest("heavy-init");
    let bytes = std::fs::read(&wasm).unwrap();
    let engine = SandboxEngine::new(EngineOptions { max_sandboxes: 16 }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Populate the disk cache once.
    FunctionCode::load_file(&engine, &CodeCache::on_disk(dir.path()), &wasm).unwrap();
    group.bench_function("disk_cache_hit", |b| {
        b.iter(|| {
            FunctionCode::from_bytes(
                &engine,
                &CodeCache::on_disk(dir.path()),
                "heavy-init",
                &bytes,
            )
            .unwrap()
        })
    });
    group.bench_function("compile", |b| {
        b.iter(|| {
            FunctionCode::from_bytes(&engine, &CodeCache::in_memory(), "heavy-init", &bytes)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, warm_invoke, create_and_init, code_cache);
criterion_main!(benches);
