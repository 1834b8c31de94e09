//! Virtual-time runner throughput (issue "platform model + runner"): simulated invocations per real second, every
//! invocation running the real handler (`scenarios/handlers/wait.wat`).
//!
//! - `poisson_keepalive`: 0.9 req/s Poisson, exponential ~2 s waits, fixed 600 s keep-alive (10^5 simulated
//!   seconds here; `lambda-sim run scenarios/bench/poisson-keepalive.toml` runs the full 10^6).
//! - `saturation`: account limit 1000, 1000 req/s, ~2 s service (60 simulated seconds): ~1000 live sandboxes.
//! - `services_call` / `services_baseline`: 200 req/s for 600 s whose handlers call a simulated service (suspended
//!   wasmtime async calls, a proxy pool of 50), against the same traffic with a plain simulated wait.
//!
//! Run: `cargo bench --bench sim`. Criterion reports elements (arrivals) per second.

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lambda_sim::sandbox::CodeCache;
use lambda_sim::sim::{RunOptions, run_virtual};

fn scenario(name: &str, duration_s: u64) -> lambda_sim::scenario::Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/bench")
        .join(name);
    let mut s = lambda_sim::scenario::load(&path).expect("scenario");
    s.simulation.duration_ns = duration_s * 1_000_000_000;
    for t in &mut s.traffic {
        t.end_ns = t.end_ns.min(s.simulation.duration_ns);
    }
    s
}

fn bench(c: &mut Criterion, name: &str, file: &str, duration_s: u64) {
    let s = scenario(file, duration_s);
    let deployment = lambda_sim::deploy::deploy(&s, &CodeCache::in_memory()).expect("deploy");
    let arrivals = run_virtual(&s, &deployment, &RunOptions::default())
        .unwrap()
        .total()
        .arrivals;
    let mut group = c.benchmark_group("virtual_time");
    group.sample_size(10);
    group.throughput(Throughput::Elements(arrivals));
    group.bench_function(name, |b| {
        b.iter(|| run_virtual(&s, &deployment, &RunOptions::default()).unwrap())
    });
    group.finish();
}

fn poisson_keepalive(c: &mut Criterion) {
    bench(
        c,
        "poisson_keepalive_1e5s",
        "poisson-keepalive.toml",
        100_000,
    );
}

fn saturation(c: &mut Criterion) {
    bench(c, "saturation_60s", "saturation.toml", 60);
}

fn services(c: &mut Criterion) {
    bench(c, "services_call_600s", "services.toml", 600);
    bench(c, "services_baseline_600s", "services-baseline.toml", 600);
}

criterion_group!(benches, poisson_keepalive, saturation, services);
criterion_main!(benches);
