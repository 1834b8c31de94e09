//! Component (ABI v3) benchmarks for Python handlers, each beside the bare-wasmtime baseline it is judged against:
//!
//! - cold start of `python-hello` from the code cache — sandbox create + init (instantiate, then the `init` export,
//!   which imports the handler's module) — vs a bare `component::InstancePre::instantiate` of the same component
//!   (goal ≤ 2×);
//! - warm invoke vs a bare call of its `handle` export (goal ≤ 1.5×);
//! - idle warm Python sandboxes per 4 GiB of resident memory (goal ≥ 500): printed before the criterion groups.
//!
//! Run: `cargo bench --bench components` (builds python-hello with componentize-py on first use). First build vs
//! cache hit is timed by `scripts/bench-components`.

use std::path::PathBuf;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_sim::sandbox::{
    CallLimits, ClockMode, CodeCache, EngineOptions, FunctionCode, InitializationType, Invocation,
    RequestId, Sandbox, SandboxConfig, SandboxEngine, complete_now,
};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

fn python_hello() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    lambda_sim::guest::resolve(&root.join("functions/python-hello")).expect("python-hello builds")
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

const LIMITS: CallLimits = CallLimits {
    timeout_ns: 10_000_000_000,
    start_ns: 0,
};

fn invocation() -> Invocation {
    Invocation {
        request_id: RequestId(1),
        event: Bytes::from_static(br#"{"name": "bench"}"#),
    }
}

/// What a bare embedding keeps per instance: WASI 0.2 and nothing else.
struct Bare {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

fn bare_store(engine: &Engine) -> Store<Bare> {
    let mut store = Store::new(
        engine,
        Bare {
            ctx: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    store.set_fuel(u64::MAX / 2).unwrap();
    store.set_epoch_deadline(1 << 40);
    store
}

/// A bare engine with lambda-sim's code-generation settings (fuel, epochs, pooling + CoW), a linker with WASI 0.2
/// and the handler world's context imports answering constants, and the component's `InstancePre`.
fn bare(path: &std::path::Path) -> (Engine, wasmtime::component::InstancePre<Bare>) {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(16)
        .total_core_instances(16 * 32)
        .max_core_instances_per_component(32)
        .total_memories(16)
        .max_memories_per_component(2)
        .total_tables(64)
        .max_tables_per_component(4);
    let mut c = Config::new();
    c.consume_fuel(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&c).unwrap();
    let component = Component::from_file(&engine, path).unwrap();
    let mut linker: Linker<Bare> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    linker.instance("lambda-sim:handler/types@3.0.0").unwrap();
    let mut ctx = linker.instance("lambda-sim:handler/context@3.0.0").unwrap();
    for name in ["request-id", "function-name", "function-version", "handler"] {
        ctx.func_wrap(name, |_, (): ()| Ok((String::new(),)))
            .unwrap();
    }
    ctx.func_wrap("memory-limit-mb", |_, (): ()| Ok((1769u32,)))
        .unwrap();
    ctx.func_wrap("remaining-time-ms", |_, (): ()| Ok((3000u64,)))
        .unwrap();
    ctx.func_wrap("wait-us", |_, (_,): (u64,)| Ok(())).unwrap();
    linker
        .instance("lambda-sim:handler/services@3.0.0")
        .unwrap()
        .func_wrap("call", |_, (_,): (String,)| {
            Ok((Result::<(), ServiceError>::Ok(()),))
        })
        .unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    (engine, pre)
}

/// The handler world's service error, for the bare baseline's stub.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lower, Debug)]
#[component(variant)]
enum ServiceError {
    #[component(name = "failed")]
    _Failed(String),
    #[component(name = "refused")]
    _Refused(String),
    #[component(name = "unknown-service")]
    _UnknownService(String),
}

/// Error record of the handler world, as the bare baseline lifts it.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift, Debug)]
#[component(record)]
struct FunctionError {
    #[component(name = "error-type")]
    _error_type: String,
    #[component(name = "error-message")]
    _error_message: String,
    #[component(name = "stack-trace")]
    _stack_trace: Vec<String>,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Creates `N` Python sandboxes, each initialized and invoked once, keeps them idle, and prints the resident memory
/// they added: how many idle warm environments fit in 4 GiB.
fn idle_sandboxes(path: &std::path::Path) {
    const N: usize = 500;
    let engine = SandboxEngine::new(EngineOptions {
        max_sandboxes: N as u32 + 8,
    })
    .unwrap();
    let code = FunctionCode::load_file(&engine, &CodeCache::default_location(), path).unwrap();
    let before = rss_kib();
    let mut idle = Vec::with_capacity(N);
    for _ in 0..N {
        let mut s = Sandbox::new(&code, &config()).unwrap();
        complete_now(s.init(LIMITS)).unwrap().unwrap();
        complete_now(s.invoke(&invocation(), LIMITS))
            .unwrap()
            .unwrap();
        idle.push(s);
    }
    let per_kib = (rss_kib().saturating_sub(before)) as f64 / N as f64;
    println!(
        "idle_python_sandboxes: {N} idle warm python-hello sandboxes added {:.1} MiB RSS, {:.0} KiB each: {:.0} per 4 GiB",
        per_kib * N as f64 / 1024.0,
        per_kib,
        (4u64 << 20) as f64 / per_kib.max(1.0)
    );
}

fn python(c: &mut Criterion) {
    let path = python_hello();
    idle_sandboxes(&path);

    let engine = SandboxEngine::new(EngineOptions { max_sandboxes: 16 }).unwrap();
    let code = FunctionCode::load_file(&engine, &CodeCache::default_location(), &path).unwrap();
    let (bare_engine, pre) = bare(&path);

    let mut group = c.benchmark_group("python_hello_cold");
    group.bench_function("lambda_sim_create_plus_init", |b| {
        b.iter(|| {
            let mut s = Sandbox::new(&code, &config()).unwrap();
            complete_now(s.init(LIMITS)).unwrap().unwrap()
        })
    });
    group.bench_function("bare_component_instantiate", |b| {
        b.iter(|| {
            let mut store = bare_store(&bare_engine);
            pre.instantiate(&mut store).unwrap();
            store
        })
    });
    // The same instantiation followed by a bare call of the `init` export: the guest's own init work.
    group.bench_function("bare_component_instantiate_plus_init_call", |b| {
        b.iter(|| {
            let mut store = bare_store(&bare_engine);
            let instance = pre.instantiate(&mut store).unwrap();
            let init = instance
                .get_typed_func::<(), (Result<(), FunctionError>,)>(&mut store, "init")
                .unwrap();
            init.call(&mut store, ()).unwrap().0.unwrap();
            store
        })
    });
    group.finish();

    let mut group = c.benchmark_group("python_hello_warm");
    let mut sandbox = Sandbox::new(&code, &config()).unwrap();
    complete_now(sandbox.init(LIMITS)).unwrap().unwrap();
    let event = invocation();
    group.bench_function("lambda_sim_sandbox_invoke", |b| {
        b.iter(|| {
            complete_now(sandbox.invoke(&event, LIMITS))
                .unwrap()
                .unwrap()
        })
    });
    let mut store = bare_store(&bare_engine);
    let instance = pre.instantiate(&mut store).unwrap();
    let init = instance
        .get_typed_func::<(), (Result<(), FunctionError>,)>(&mut store, "init")
        .unwrap();
    init.call(&mut store, ()).unwrap().0.unwrap();
    let handle = instance
        .get_typed_func::<(Vec<u8>,), (Result<Vec<u8>, FunctionError>,)>(&mut store, "handle")
        .unwrap();
    group.bench_function("bare_handle_call", |b| {
        b.iter(|| {
            handle
                .call(&mut store, (event.event.to_vec(),))
                .unwrap()
                .0
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, python);
criterion_main!(benches);
