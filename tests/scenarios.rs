//! The example scenarios, each asserting the effect its opening comment claims; plus determinism and conservation.

mod common;

use std::path::Path;

use common::*;
use lambda_sim::model::{ThrottleCause, ThrottleReason};
use lambda_sim::report::RunReport;
use lambda_sim::sim::{RunOptions, run_virtual};

fn run(name: &str) -> RunReport {
    run_path(&root().join("scenarios").join(format!("{name}.toml")), None)
}

fn run_path(path: &Path, seed: Option<u64>) -> RunReport {
    let mut scenario = lambda_sim::scenario::load(path).expect("scenario loads");
    if let Some(seed) = seed {
        scenario.simulation.seed = seed;
    }
    let cache = test_cache();
    let deployment = lambda_sim::deploy::deploy(&scenario, &cache).expect("deploys");
    let report = run_virtual(&scenario, &deployment, &RunOptions::default()).expect("runs");
    assert!(
        report.conservation_ok(),
        "arrivals = Σ outcomes for every function"
    );
    for f in report.functions() {
        assert_eq!(f.arrivals, f.outcomes.total(), "{}", f.name);
        assert!(f.arrivals > 0, "{} got traffic", f.name);
    }
    report
}

#[test]
fn cold_start_basics_idle_gaps_cause_cold_starts() {
    let r = run("cold-start-basics");
    let f = r.function("hello").unwrap();
    let cold = f.cold_start_ratio();
    assert!((0.05..0.5).contains(&cold), "cold share {cold}");
    assert!(f.sandboxes.created > 1);
    assert!(
        f.latency.cold.p50 > 50.0,
        "placement + download + init: {}",
        f.latency.cold.p50
    );
    assert!(f.latency.cold.p50 > 100.0 * f.latency.warm.p50.max(0.001));
}

#[test]
fn steady_api_stays_warm() {
    let r = run("steady-api");
    let f = r.function("api").unwrap();
    assert!(f.arrivals > 25_000);
    assert!(f.cold_start_ratio() < 0.001, "{}", f.cold_start_ratio());
    assert_eq!(f.throttles.total(), 0);
    assert!(
        f.latency.all.p99 <= f.latency.warm.p99 * 1.1,
        "{} vs {}",
        f.latency.all.p99,
        f.latency.warm.p99
    );
    assert!(f.latency.warm.p50 >= 20.0, "one 20 ms downstream call");
}

#[test]
fn spike_beyond_reserved_concurrency_is_throttled_by_reason() {
    let r = run("spike-throttle");
    let orders = r.function("orders").unwrap();
    assert!(
        orders
            .throttles
            .reason(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
            > 100
    );
    assert_eq!(
        orders
            .throttles
            .reason(ThrottleReason::ConcurrentInvocationLimitExceeded),
        0
    );
    assert_eq!(
        orders.peak_concurrency, 10,
        "reserved concurrency is the cap"
    );
    let before_spike: u64 = orders.timeline[..60].iter().map(|b| b.throttles).sum();
    assert_eq!(before_spike, 0, "steady traffic fits in 10");
    let search = r.function("search").unwrap();
    assert!(
        search
            .throttles
            .reason(ThrottleReason::ConcurrentInvocationLimitExceeded)
            > 0
    );
    assert_eq!(
        search
            .throttles
            .reason(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded),
        0
    );
    assert_eq!(search.peak_concurrency, 100, "account 110 − reserved 10");
}

#[test]
fn burst_meets_the_scaling_rate() {
    let r = run("burst-scaling");
    let f = r.function("ingest").unwrap();
    assert!(f.throttles.cause(ThrottleCause::ScalingRate) > 10_000);
    assert_eq!(
        f.throttles.cause(ThrottleCause::Concurrency),
        0,
        "the account limit is not what binds"
    );
    let before: u64 = f.timeline[..10].iter().map(|b| b.throttles).sum();
    assert_eq!(before, 0);
    // ~100 environments busy before the step; 1,000 new ones at once (a full bucket), then 100 more per second.
    let at = |s: usize| i64::from(f.timeline[s].max_concurrency);
    assert!((1100..=1300).contains(&at(10)), "t=10 s: {}", at(10));
    for s in [15, 20, 30, 40] {
        assert_eq!(
            at(s) - at(s - 5),
            500,
            "+100 per second between t={} and t={s}",
            s - 5
        );
    }
    let late: u64 = f.timeline[60..].iter().map(|b| b.throttles).sum();
    assert_eq!(late, 0, "scaled out by then");
}

#[test]
fn provisioned_concurrency_removes_cold_starts() {
    let r = run("provisioned");
    let pc = r.function("provisioned").unwrap();
    assert_eq!(pc.cold_starts, 0);
    assert_eq!(pc.provisioned_starts, pc.arrivals);
    assert_eq!(
        pc.latency.init.count, 0,
        "no Init Duration on provisioned invocations"
    );
    let od = r.function("on-demand").unwrap();
    assert!(
        od.cold_starts >= 6,
        "each burst starts cold: {}",
        od.cold_starts
    );
    assert!(od.latency.all.p99 > 10.0 * pc.latency.all.p99.max(0.01));
    assert!(pc.cost.provisioned_capacity > 0.0 && pc.cost.total > od.cost.total);
}

#[test]
fn heavy_init_costs_more_at_small_memory() {
    let r = run("heavy-init");
    let small = r.function("catalog-128").unwrap();
    let big = r.function("catalog-1769").unwrap();
    // The function's own init code scales with the CPU share; the runtime's start-up before it does not.
    let code =
        |f: &lambda_sim::report::FunctionReport| f.latency.cold_start.unwrap().function_init.p50;
    let ratio = code(small) / code(big);
    assert!((12.0..16.0).contains(&ratio), "1769/128 ≈ 13.8: {ratio}");
    assert!(
        big.latency.init.p50 > 10.0,
        "init is substantial: {} ms",
        big.latency.init.p50
    );
    assert!(small.latency.cold.p50 > small.latency.init.p50);
}

#[test]
fn same_seed_same_json_byte_for_byte() {
    let path = root().join("scenarios/spike-throttle.toml");
    let a = run_path(&path, None).to_json();
    let b = run_path(&path, None).to_json();
    assert_eq!(a, b);
    let c = run_path(&path, Some(12345)).to_json();
    assert_ne!(a, c, "the seed matters");
}
