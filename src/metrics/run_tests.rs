//! Tests of [`RunMetrics`] as a driver uses it: counts, conservation, timelines, peaks, cost, totals.

use super::*;
use crate::model::{DestroyReason, ThrottleCause, ThrottleReason};
use crate::report::{FunctionConfig, RunInfo, RunReport};
use crate::scenario::{Architecture, Mode};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

fn config(
    name: &str,
    memory_mb: u64,
    architecture: Architecture,
    pc: u32,
    delay_ns: u64,
) -> FunctionConfig {
    FunctionConfig {
        name: name.into(),
        memory_mb,
        architecture,
        reserved_concurrency: None,
        provisioned_concurrency: pc,
        provisioned_allocation_delay_ns: delay_ns,
        code_bytes: 1000,
        snapshot: false,
    }
}

fn metrics(functions: Vec<FunctionConfig>, duration_ns: u64) -> RunMetrics {
    let run = RunInfo {
        name: "t".into(),
        seed: 7,
        mode: Mode::Virtual,
        duration_ns,
        not_lambda: Vec::new(),
    };
    RunMetrics::with_config(run, functions)
}

fn sample(
    arrival_ns: u64,
    latency_ns: u64,
    start: StartKind,
    billed_ms: u64,
    outcome: Outcome,
) -> InvocationSample {
    InvocationSample {
        arrival_ns,
        end_ns: arrival_ns + latency_ns,
        start,
        parts: Default::default(),
        init_ns: (start == StartKind::Cold).then_some(latency_ns / 2),
        restore_ns: None,
        duration_ns: latency_ns,
        billed_ms,
        outcome,
        error_type: None,
        peak_memory_bytes: 0,
    }
}

/// One request: arrival, then the invocation.
fn invoke(m: &mut RunMetrics, f: usize, s: &InvocationSample) {
    m.arrival(f, s.arrival_ns);
    m.invocation(f, s);
}

fn throttle(m: &mut RunMetrics, f: usize, t: u64, r: ThrottleReason, c: ThrottleCause) {
    m.arrival(f, t);
    m.throttled(f, t, r, c);
}

#[test]
fn counts_outcomes_starts_and_throttles() {
    let mut m = metrics(vec![config("api", 128, Architecture::X86_64, 0, 0)], 10 * S);
    invoke(
        &mut m,
        0,
        &sample(0, 300 * MS, StartKind::Cold, 300, Outcome::Success),
    );
    invoke(
        &mut m,
        0,
        &sample(S, 10 * MS, StartKind::Warm, 10, Outcome::FunctionError),
    );
    invoke(
        &mut m,
        0,
        &sample(2 * S, 3 * S, StartKind::Warm, 3000, Outcome::Timeout),
    );
    invoke(
        &mut m,
        0,
        &sample(3 * S, 5 * MS, StartKind::Warm, 5, Outcome::OutOfMemory),
    );
    invoke(
        &mut m,
        0,
        &sample(4 * S, 5 * MS, StartKind::Warm, 5, Outcome::Crash),
    );
    use ThrottleCause::*;
    use ThrottleReason::*;
    throttle(
        &mut m,
        0,
        5 * S,
        ConcurrentInvocationLimitExceeded,
        Concurrency,
    );
    throttle(
        &mut m,
        0,
        5 * S,
        ReservedFunctionConcurrentInvocationLimitExceeded,
        Concurrency,
    );
    throttle(
        &mut m,
        0,
        5 * S,
        ReservedFunctionConcurrentInvocationLimitExceeded,
        ScalingRate,
    );
    m.sandbox_created(0, 0, false);
    m.sandbox_destroyed(0, 10 * S, DestroyReason::EndOfRun, 10 * S, 4 * S, false);
    let r = m.finish(10 * S);
    let f = r.function("api").unwrap();
    assert_eq!(f.arrivals, 8);
    let o = f.outcomes;
    assert_eq!(
        (
            o.success,
            o.function_error,
            o.timeout,
            o.out_of_memory,
            o.crash,
            o.throttled
        ),
        (1, 1, 1, 1, 1, 3)
    );
    assert_eq!(f.outcomes.get(Outcome::Timeout), 1);
    assert_eq!(f.throttles.reason(ConcurrentInvocationLimitExceeded), 1);
    assert_eq!(
        f.throttles
            .reason(ReservedFunctionConcurrentInvocationLimitExceeded),
        2
    );
    assert_eq!(
        (
            f.throttles.cause(Concurrency),
            f.throttles.cause(ScalingRate)
        ),
        (2, 1)
    );
    assert_eq!(
        (f.cold_starts, f.warm_starts, f.provisioned_starts),
        (1, 4, 0)
    );
    assert!(f.conservation.ok && r.conservation_ok());
    assert_eq!(
        f.latency.all.count, 5,
        "throttles are not in latency histograms"
    );
    assert_eq!(f.latency.cold.max, 300.0);
    assert_eq!(f.latency.init.count, 1);
    assert_eq!(f.sandboxes.destroyed(DestroyReason::EndOfRun), 1);
    assert!((f.gb_s.idle_on_demand - 6.0 * 0.125).abs() < 1e-12);
    assert_eq!(f.timeline.iter().map(|b| b.throttles).sum::<u64>(), 3);
    assert_eq!(f.timeline.iter().map(|b| b.cold_starts).sum::<u64>(), 1);
    assert_eq!(f.timeline.iter().map(|b| b.arrivals).sum::<u64>(), 8);
}

#[test]
fn conservation_fails_when_an_arrival_has_no_outcome() {
    let mut m = metrics(vec![config("api", 128, Architecture::X86_64, 0, 0)], S);
    invoke(
        &mut m,
        0,
        &sample(0, MS, StartKind::Cold, 1, Outcome::Success),
    );
    m.arrival(0, 2 * MS); // never finished
    let r = m.finish(S);
    let c = r.function("api").unwrap().conservation;
    assert_eq!((c.arrivals, c.outcomes_total, c.ok), (2, 1, false));
    assert!(!r.conservation_ok());
    assert!(!r.total.conservation.ok);
}

#[test]
fn conservation_fails_on_an_outcome_without_arrival() {
    let mut m = metrics(vec![config("a", 128, Architecture::X86_64, 0, 0)], S);
    m.invocation(0, &sample(0, MS, StartKind::Cold, 1, Outcome::Success));
    assert!(!m.finish(S).conservation_ok());
}

#[test]
fn total_concurrency_is_simultaneous_not_summed() {
    let mut m = metrics(
        vec![
            config("a", 128, Architecture::X86_64, 0, 0),
            config("b", 128, Architecture::X86_64, 0, 0),
        ],
        3 * S,
    );
    let st = |busy, idle| PoolState {
        busy,
        idle,
        initializing: 0,
        ..PoolState::default()
    };
    m.pool_state(0, 100, st(5, 0));
    m.pool_state(0, 200, st(0, 5));
    m.pool_state(1, 300, st(4, 0));
    m.pool_state(1, S + 1, st(1, 3));
    m.pool_state(
        0,
        2 * S,
        PoolState {
            busy: 2,
            idle: 3,
            initializing: 1,
            ..PoolState::default()
        },
    );
    let r = m.finish(3 * S);
    assert_eq!(r.function("a").unwrap().peak_concurrency, 5);
    assert_eq!(r.function("b").unwrap().peak_concurrency, 4);
    assert_eq!(
        r.total.peak_concurrency, 5,
        "a's 5 and b's 4 never overlapped"
    );
    let t = &r.total.timeline;
    assert_eq!(t.len(), 3);
    assert_eq!((t[0].max_concurrency, t[0].alive, t[0].idle), (5, 9, 5));
    assert_eq!((t[1].max_concurrency, t[1].alive, t[1].idle), (4, 9, 8));
    assert_eq!((t[2].max_concurrency, t[2].alive, t[2].idle), (3, 10, 6));
}

#[test]
fn timelines_fill_gaps_and_end_with_the_run() {
    let mut m = metrics(
        vec![
            config("a", 128, Architecture::X86_64, 0, 0),
            config("b", 128, Architecture::X86_64, 0, 0),
        ],
        10 * S,
    );
    m.arrival(0, 0);
    m.pool_state(
        0,
        0,
        PoolState {
            busy: 0,
            idle: 0,
            initializing: 1,
            ..PoolState::default()
        },
    );
    m.pool_state(
        0,
        500 * MS,
        PoolState {
            busy: 1,
            idle: 0,
            initializing: 0,
            ..PoolState::default()
        },
    );
    m.pool_state(
        0,
        600 * MS,
        PoolState {
            busy: 0,
            idle: 1,
            initializing: 0,
            ..PoolState::default()
        },
    );
    // Long gap, then the environment is reclaimed in second 6.
    m.pool_state(0, 6 * S + 1, PoolState::default());
    // End-of-run teardown exactly at the end (10 s): must not add an 11th bucket.
    m.pool_state(
        1,
        3 * S,
        PoolState {
            busy: 0,
            idle: 2,
            initializing: 0,
            ..PoolState::default()
        },
    );
    m.pool_state(1, 10 * S, PoolState::default());
    let r = m.finish(10 * S);
    assert_eq!(r.timeline_bucket_ns, S);
    let a = &r.function("a").unwrap().timeline;
    let b = &r.function("b").unwrap().timeline;
    assert_eq!((a.len(), b.len(), r.total.timeline.len()), (10, 10, 10));
    assert_eq!(
        (a[0].arrivals, a[0].max_concurrency, a[0].alive, a[0].idle),
        (1, 1, 1, 1)
    );
    for (s, bucket) in a.iter().enumerate().take(6).skip(1) {
        assert_eq!(
            (bucket.max_concurrency, bucket.alive, bucket.idle),
            (0, 1, 1),
            "second {s} carries forward"
        );
    }
    assert!(a[6..].iter().all(|x| x.alive == 0));
    assert_eq!(
        b[9].idle, 2,
        "the last second shows the pool before teardown"
    );
    assert_eq!(r.total.timeline[9].alive, 2);
}

#[test]
fn on_demand_cost_end_to_end() {
    let mut m = metrics(
        vec![config("api", 128, Architecture::X86_64, 0, 0)],
        100 * S,
    );
    for i in 0..10_000u64 {
        invoke(
            &mut m,
            0,
            &sample(
                i * 10 * MS,
                100 * MS,
                StartKind::Warm,
                100,
                Outcome::Success,
            ),
        );
    }
    throttle(
        &mut m,
        0,
        5 * S,
        ThrottleReason::ConcurrentInvocationLimitExceeded,
        ThrottleCause::Concurrency,
    );
    let r = m.finish(101 * S);
    let f = r.function("api").unwrap();
    let want = 10_000.0 * 0.2 / 1e6 + 10_000.0 * 0.1 * 0.125 * 0.0000166667;
    assert!(
        (f.cost.total - want).abs() < 1e-12,
        "{} vs {want}",
        f.cost.total
    );
    assert!(
        (f.cost.requests - 0.002).abs() < 1e-15,
        "throttles are not billed"
    );
    assert_eq!(r.total.cost, f.cost);
}

#[test]
fn provisioned_invocations_inits_and_capacity() {
    // 2 × 1 GB arm64 provisioned from 60 s; run ends at 400 s → 340 s held → billed 600 s.
    let mut m = metrics(
        vec![config("pc", 1024, Architecture::Arm64, 2, 60 * S)],
        400 * S,
    );
    m.sandbox_created(0, 60 * S, true);
    m.sandbox_created(0, 60 * S, true);
    m.provisioned_init(0, 60 * S, 250 * MS + 1); // billed 251 ms
    m.provisioned_init(0, 60 * S, 249 * MS); // billed 249 ms
    invoke(
        &mut m,
        0,
        &sample(
            100 * S,
            20 * MS,
            StartKind::Provisioned,
            20,
            Outcome::Success,
        ),
    );
    invoke(
        &mut m,
        0,
        &sample(101 * S, 30 * MS, StartKind::Cold, 30, Outcome::Success),
    );
    m.sandbox_destroyed(0, 400 * S, DestroyReason::EndOfRun, 340 * S, 20 * MS, true);
    m.sandbox_destroyed(0, 400 * S, DestroyReason::EndOfRun, 340 * S, 0, true);
    let r = m.finish(400 * S);
    let f = r.function("pc").unwrap();
    assert_eq!(
        (f.provisioned_starts, f.cold_starts, f.warm_starts),
        (1, 1, 0)
    );
    assert_eq!(
        (
            f.sandboxes.created_provisioned,
            f.sandboxes.destroyed_provisioned
        ),
        (2, 2)
    );
    assert_eq!(f.sandboxes.provisioned_inits, 2);
    let g = f.gb_s;
    assert!((g.provisioned_capacity - 1200.0).abs() < 1e-9);
    assert!((g.provisioned_init - 0.5).abs() < 1e-12);
    assert!((g.provisioned_invocations - 0.02).abs() < 1e-12);
    assert!((g.on_demand - 0.03).abs() < 1e-12);
    assert!((g.idle_provisioned - (680.0 - 0.02)).abs() < 1e-9);
    let c = f.cost;
    assert!((c.provisioned_capacity - 1200.0 * 0.0000033334).abs() < 1e-15);
    assert!((c.provisioned_duration - 0.52 * 0.0000077778).abs() < 1e-15);
    assert!((c.duration - 0.03 * 0.0000133334).abs() < 1e-15);
    assert!((c.requests - 0.0000004).abs() < 1e-18);
    let sum = c.requests + c.duration + c.provisioned_capacity + c.provisioned_duration;
    assert!((c.total - sum).abs() < 1e-15);
    // Warm latency includes provisioned starts.
    assert_eq!((f.latency.warm.count, f.latency.cold.count), (1, 1));
}

#[test]
fn total_aggregates_functions() {
    let mut m = metrics(
        vec![
            config("a", 128, Architecture::X86_64, 0, 0),
            config("b", 512, Architecture::Arm64, 0, 0),
        ],
        10 * S,
    );
    for i in 0..100u64 {
        invoke(
            &mut m,
            (i % 2) as usize,
            &sample(
                i * 50 * MS,
                (i + 1) * MS,
                StartKind::Warm,
                i + 1,
                Outcome::Success,
            ),
        );
    }
    throttle(
        &mut m,
        1,
        S,
        ThrottleReason::ConcurrentInvocationLimitExceeded,
        ThrottleCause::ScalingRate,
    );
    let r = m.finish(10 * S);
    let (a, b, t) = (r.function("a").unwrap(), r.function("b").unwrap(), &r.total);
    assert_eq!(t.name, "total");
    assert!(t.config.is_none());
    assert_eq!(t.arrivals, a.arrivals + b.arrivals);
    assert_eq!(t.arrivals, 101);
    assert_eq!(t.outcomes.success, 100);
    assert_eq!(t.outcomes.throttled, 1);
    assert_eq!(t.latency.all.count, 100);
    assert_eq!(t.latency.all.max, 100.0);
    assert_eq!(t.latency.all.mean, 50.5);
    assert_eq!(t.histograms.all.len(), 100);
    assert!((t.cost.total - (a.cost.total + b.cost.total)).abs() < 1e-15);
    assert_eq!(t.timeline.iter().map(|x| x.arrivals).sum::<u64>(), 101);
    assert_eq!(r.total.intervals.len(), r.functions[0].intervals.len());
    let n: u64 = r.total.intervals.iter().flatten().map(|h| h.len()).sum();
    assert_eq!(n, 100);
    assert!(r.conservation_ok());
}

#[test]
fn long_runs_keep_hlog_intervals_bounded() {
    let mut m = metrics(vec![config("a", 128, Architecture::X86_64, 0, 0)], 3600 * S);
    invoke(
        &mut m,
        0,
        &sample(0, MS, StartKind::Cold, 1, Outcome::Success),
    );
    let r = m.finish(3600 * S);
    // One early invocation, but the intervals must still span the hour within the cap.
    assert!(r.total.intervals.len() <= MAX_INTERVALS);
    assert!(r.hlog_interval_ns * r.total.intervals.len() as u64 >= 3600 * S);
    assert_eq!(r.hlog_interval_ns, 32 * S);
}

#[test]
fn new_reads_the_scenario() {
    let toml = r#"
[simulation]
name = "from-file"
duration = "1m"
seed = 99

[[function]]
name = "api"
code = "functions/hello"
memory_mb = 256
architecture = "arm64"
provisioned_concurrency = 3

[[traffic]]
function = "api"
pattern = "constant"
rate = 1
payload = '{}'
"#;
    let scenario =
        crate::scenario::parse(toml, std::path::Path::new("t.toml")).expect("valid scenario");
    let r: RunReport = RunMetrics::new(&scenario, &[12_345]).finish(60 * S);
    assert_eq!(
        (r.scenario.as_str(), r.seed, r.mode_str()),
        ("from-file", 99, "virtual")
    );
    assert_eq!(r.duration_ns, 60 * S);
    let c = r.function("api").unwrap().config.clone().unwrap();
    assert_eq!(
        (
            c.memory_mb,
            c.architecture,
            c.provisioned_concurrency,
            c.code_bytes
        ),
        (256, Architecture::Arm64, 3, 12_345)
    );
}
