//! The example scenarios of `scenarios/mitigations/`, each run the way `lambda-sim run` runs a file with variants
//! (every variant on the same traffic, in virtual time, in parallel) and checked against what its opening comment
//! claims: cold starts, latency percentiles and the bill.

mod common;

use std::path::PathBuf;

use common::*;
use lambda_sim::lab::compare::Figures;
use lambda_sim::lab::sweep::{SetSpec, Strategy, optimum, points};
use lambda_sim::lab::{LabInput, LabRun, run_all};
use lambda_sim::model::SandboxId;
use lambda_sim::report::{FunctionReport, RunReport};
use lambda_sim::sandbox::{ClockMode, InitializationType, Sandbox};
use lambda_sim::scenario::{PayloadSpec, Variant};

const S: u64 = 1_000_000_000;
/// Provisioned concurrency capacity, x86_64, us-east-1, USD per GB-s (docs/lambda.md §8).
const PC_CAPACITY_GB_S: f64 = 0.000_004_166_7;
/// SnapStart cache per GB-s and restore per GB (docs/lambda.md §8).
const SNAPSHOT_CACHE_GB_S: f64 = 0.000_001_504_6;
const SNAPSHOT_RESTORE_GB: f64 = 0.000_139_799_8;
/// USD per request.
const REQUEST: f64 = 0.20 / 1e6;

fn example(name: &str) -> PathBuf {
    root()
        .join("scenarios/mitigations")
        .join(format!("{name}.toml"))
}

fn run_variants(variants: &[Variant]) -> Vec<LabRun> {
    let inputs: Vec<LabInput> = variants
        .iter()
        .map(|v| LabInput {
            name: &v.name,
            overrides: &v.overrides,
            scenario: &v.scenario,
            out_dir: None,
            progress: None,
        })
        .collect();
    let runs = run_all(&inputs, &test_cache, 2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(runs.len(), variants.len());
    for r in &runs {
        assert!(r.report.conservation_ok(), "{}: conservation", r.name);
        // Identical traffic in every variant (warmer pings are counted apart).
        assert_eq!(
            r.report.total.arrivals, runs[0].report.total.arrivals,
            "{}",
            r.name
        );
    }
    runs
}

/// Every variant of an example file, in file order.
fn lab(name: &str) -> Vec<LabRun> {
    let file = lambda_sim::scenario::load_file(&example(name)).unwrap_or_else(|e| panic!("{e}"));
    assert!(file.variants.len() >= 2, "{name} declares variants");
    run_variants(&file.variants)
}

fn report<'a>(runs: &'a [LabRun], name: &str) -> &'a RunReport {
    &runs
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no variant {name}"))
        .report
}

/// The one function of a variant's report.
fn only<'a>(runs: &'a [LabRun], name: &str) -> &'a FunctionReport {
    let r = report(runs, name);
    assert_eq!(r.functions.len(), 1);
    &r.functions[0]
}

/// Sum of a timeline column over `[from_s, to_s)` of a 1-second-bucket report.
fn between(r: &RunReport, f: &FunctionReport, from_s: usize, to_s: usize) -> (u64, u64) {
    assert_eq!(r.timeline_bucket_ns, S, "1-second buckets");
    let b = &f.timeline[from_s..to_s];
    (
        b.iter().map(|b| b.arrivals).sum(),
        b.iter().map(|b| b.cold_starts).sum(),
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1e-12)
}

// ---- provisioned-window.toml -------------------------------------------------------------------------------------

/// Capacity billed for `count` environments of `gb` held from `from_ns` to `to_ns`, as AWS bills it: rounded up
/// to 5 minutes.
fn pc_capacity_usd(count: u64, gb: f64, from_ns: u64, to_ns: u64) -> f64 {
    let billed_s = (to_ns - from_ns).div_ceil(300 * S) * 300;
    count as f64 * gb * billed_s as f64 * PC_CAPACITY_GB_S
}

#[test]
fn provisioned_concurrency_sized_to_the_peak_removes_the_windows_cold_starts_at_the_aws_price() {
    let runs = lab("provisioned-window");
    let (window_from, window_to) = (30 * 60, 60 * 60);
    let on_demand = only(&runs, "on-demand");
    let static_pc = only(&runs, "static-pc");
    let scheduled = only(&runs, "scheduled-pc");
    let tracking = only(&runs, "target-tracking");
    let window = |v: &str, f: &FunctionReport| between(report(&runs, v), f, window_from, window_to);

    // The window: 30 min at 5 requests/s, each 1.9 s long, so 10 in flight.
    assert_eq!(window("on-demand", on_demand).0, 9000);
    assert_eq!(
        static_pc.peak_concurrency, 10,
        "the computed peak, ⌈5 × 1.9⌉"
    );

    // On-demand: the window opens with a cold start for each environment it needs.
    let (_, od_window_cold) = window("on-demand", on_demand);
    assert!(od_window_cold >= 10, "{od_window_cold} cold in the window");
    assert!(on_demand.cold_starts > od_window_cold, "background too");
    assert_eq!(on_demand.cost.provisioned_capacity, 0.0);

    // Static PC at the peak: no cold start at all, every request on a provisioned environment.
    assert_eq!(static_pc.cold_starts, 0);
    assert_eq!(static_pc.provisioned_starts, static_pc.arrivals);
    assert_eq!(static_pc.latency.cold.count, 0);
    assert_eq!(static_pc.sandboxes.created_provisioned, 10);
    // Billed 10 × 0.5 GB from allocation start (1 min) to the end, rounded up to 5 minutes.
    let end = report(&runs, "static-pc").end_ns;
    let want = pc_capacity_usd(10, 0.5, 60 * S, end);
    assert!(
        close(static_pc.cost.provisioned_capacity, want),
        "static capacity ${} ≠ ${want}",
        static_pc.cost.provisioned_capacity
    );
    assert!(
        close(want, 10.0 * 0.5 * 5400.0 * PC_CAPACITY_GB_S),
        "89 min → 90"
    );

    // Scheduled PC: no cold start inside the window; capacity billed 28 → 60 min (32 min, rounded up to 35).
    let (sched_window_arrivals, sched_window_cold) = window("scheduled-pc", scheduled);
    assert_eq!(sched_window_cold, 0);
    assert_eq!(
        scheduled.provisioned_starts, sched_window_arrivals,
        "the window's requests, and only those, ran on provisioned environments"
    );
    assert!(
        scheduled.cold_starts > 0,
        "background outside the window is on-demand"
    );
    let want = pc_capacity_usd(10, 0.5, 28 * 60 * S, 60 * 60 * S);
    assert!(
        close(scheduled.cost.provisioned_capacity, want),
        "scheduled capacity ${} ≠ ${want}",
        scheduled.cost.provisioned_capacity
    );
    assert!(close(want, 10.0 * 0.5 * 2100.0 * PC_CAPACITY_GB_S));
    assert!(scheduled.cost.provisioned_capacity < 0.5 * static_pc.cost.provisioned_capacity);
    assert!(scheduled.cost.total < static_pc.cost.total);

    // Target tracking: scales out after sustained utilization, but too late for the window's first seconds.
    assert!(tracking.provisioned_starts > window("target-tracking", tracking).0 / 2);
    assert!(
        tracking.sandboxes.created_provisioned > 10,
        "scaled out from 1 past the peak: {}",
        tracking.sandboxes.created_provisioned
    );
    let (_, tt_window_cold) = window("target-tracking", tracking);
    assert!(tt_window_cold > 0, "alarms need 3 breaching minutes");
    assert!(
        tracking.cold_starts < on_demand.cold_starts,
        "{} vs {}",
        tracking.cold_starts,
        on_demand.cold_starts
    );
    // Its minimum of 1 keeps the background warm: every cold start is in the window.
    assert_eq!(tracking.cold_starts, tt_window_cold);
    // It never scales in (too few minutes with a datapoint after the window): more capacity than the schedule.
    assert!(tracking.cost.provisioned_capacity > scheduled.cost.provisioned_capacity);

    // Cold starts cost latency: the on-demand cold p50 is the warm one plus the cold-start overheads.
    assert!(on_demand.latency.cold.p50 > on_demand.latency.warm.p50 + 50.0);
}

// ---- cron-keep-alive.toml ----------------------------------------------------------------------------------------

#[test]
fn hybrid_keep_alive_beats_fixed_ten_minutes_on_a_cron_function_with_less_idle_memory() {
    let runs = lab("cron-keep-alive");
    let fixed = only(&runs, "fixed-10m");
    let hybrid = only(&runs, "hybrid");
    let greedy = only(&runs, "greedy-dual");
    assert_eq!(fixed.arrivals, 32, "every 15 min for 8 h");

    // Fixed 10 min: every run is cold, each leaves 10 idle minutes of 0.125 GB.
    assert_eq!((fixed.cold_starts, fixed.warm_starts), (32, 0));
    assert!(close(fixed.gb_s.idle_on_demand, 32.0 * 600.0 * 0.125));

    // Hybrid: the first run and the 10 that fill the histogram are cold, the rest find a pre-warmed environment.
    assert_eq!((hybrid.cold_starts, hybrid.warm_starts), (11, 21));
    assert!(hybrid.cold_starts * 2 < fixed.cold_starts);
    assert_eq!(
        hybrid.sandboxes.prewarms, 22,
        "21 served a run; the last expired"
    );
    assert!(
        hybrid.gb_s.idle_on_demand <= fixed.gb_s.idle_on_demand * 0.6,
        "hybrid idle {} GB-s vs fixed {}",
        hybrid.gb_s.idle_on_demand,
        fixed.gb_s.idle_on_demand
    );
    assert!(hybrid.latency.all.p50 < fixed.latency.all.p50 / 100.0);

    // Greedy-dual with room for the environment: never evicted, only recycled at the 4-hour maximum lifetime.
    assert_eq!(greedy.cold_starts, 2);
    assert_eq!(greedy.sandboxes.destroyed_max_lifetime, 2);
    assert_eq!(greedy.sandboxes.destroyed_keep_alive, 0);
    assert!(
        (greedy.gb_s.idle_on_demand - 8.0 * 3600.0 * 0.125).abs() < 1.0,
        "idle the whole 8 h: {}",
        greedy.gb_s.idle_on_demand
    );

    // Idle memory is free on-demand: the three pay the same requests and differ only by the Init Duration (the
    // runtime's start-up) each cold start bills, so fewer cold starts cost less.
    assert_eq!(fixed.cost.requests, hybrid.cost.requests);
    assert_eq!(fixed.cost.requests, greedy.cost.requests);
    assert!(greedy.cost.total < hybrid.cost.total && hybrid.cost.total < fixed.cost.total);
}

// ---- snapshot.toml, snapshot-unique-id.toml ----------------------------------------------------------------------

#[test]
fn snapshot_restore_cuts_heavy_init_cold_latency_by_the_measured_init() {
    let runs = lab("snapshot");
    let init = only(&runs, "init");
    let snap = only(&runs, "snapshot");
    let n = init.arrivals;
    assert_eq!(n, 18, "every 10 minutes for 3 hours");
    assert_eq!((init.cold_starts, snap.cold_starts), (n, n), "all cold");
    assert_eq!(
        (init.latency.init.count, init.latency.restore.count),
        (n, 0)
    );
    assert_eq!(
        (snap.latency.init.count, snap.latency.restore.count),
        (0, n)
    );

    // Means, not medians: init now varies (the runtime's start-up), and the median of a sum is not the sum of
    // medians. Placement draws are the same in both variants.
    let init_ms = init.latency.init.mean;
    let restore_ms = snap.latency.restore.mean;
    let saved = init.latency.cold.mean - snap.latency.cold.mean;
    eprintln!(
        "snapshot.toml: init p50 {init_ms} ms, restore p50 {restore_ms} ms, cold p50 {} → {} ms",
        init.latency.cold.p50, snap.latency.cold.p50
    );
    assert!(
        init_ms > 100.0,
        "heavy-init's init is substantial: {init_ms}"
    );
    assert!(restore_ms < init_ms / 4.0, "{restore_ms} vs {init_ms}");
    assert!(
        (saved - (init_ms - restore_ms)).abs() <= 0.005 * (init_ms - restore_ms),
        "cold p50 fell by {saved} ms; init − restore = {} ms",
        init_ms - restore_ms
    );

    // The bill: no init billed as duration, but the snapshot cache (3 h minimum = this run) and every restore.
    assert!(snap.cost.duration < init.cost.duration / 10.0);
    assert!(close(
        snap.cost.snapshot_cache,
        0.5 * 3.0 * 3600.0 * SNAPSHOT_CACHE_GB_S
    ));
    assert!(close(
        snap.cost.snapshot_restore,
        n as f64 * 0.5 * SNAPSHOT_RESTORE_GB
    ));
    assert_eq!(init.cost.snapshot_cache + init.cost.snapshot_restore, 0.0);
    assert!(
        snap.cost.total > 100.0 * init.cost.total,
        "at 18 requests the cache dominates"
    );
}

/// The payload the file's only traffic phase sends.
fn payload(v: &Variant) -> String {
    match &v.scenario.traffic[0].payload {
        PayloadSpec::Fixed(json) => json.clone(),
        other => panic!("a fixed payload, not {other:?}"),
    }
}

#[test]
fn snapshot_unique_id_example_restores_every_cold_start_and_shows_the_pitfall_and_the_fix() {
    let file = lambda_sim::scenario::load_file(&example("snapshot-unique-id"))
        .unwrap_or_else(|e| panic!("{e}"));
    let runs = run_variants(&file.variants);
    for name in ["pitfall", "fixed"] {
        let f = only(&runs, name);
        assert_eq!(f.arrivals, 30);
        assert_eq!(
            f.cold_starts, f.arrivals,
            "keep-alive none: every request cold"
        );
        assert_eq!(f.latency.restore.count, f.arrivals);
        assert_eq!(f.latency.init.count, 0);
        assert_eq!(f.outcomes.success, f.arrivals);
    }
    // Nothing in latency or cost tells the two apart.
    assert_eq!(
        only(&runs, "pitfall").cost.total,
        only(&runs, "fixed").cost.total
    );

    // The responses do: restore three environments from the file's snapshot, as the run does for its first three.
    let mut ids_by_mode = Vec::new();
    for v in &file.variants {
        let deployment = lambda_sim::deploy::deploy(&v.scenario, &test_cache()).expect("deploys");
        let snapshot = deployment.snapshots[0].as_ref().expect("snapshot = true");
        let init_id = snapshot
            .init()
            .log
            .trim()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string();
        let body = payload(v);
        let ids: Vec<String> = (0..3)
            .map(|k| {
                let config = lambda_sim::lifecycle::environment::sandbox_config(
                    &v.scenario,
                    0,
                    SandboxId(k),
                    ClockMode::Virtual,
                    InitializationType::SnapStart,
                );
                let mut env = now(Sandbox::restore(snapshot.code(), &config)).expect("restores");
                let report = now(env.invoke(&event(&body), limits(3))).expect("runs");
                let out: serde_json::Value =
                    serde_json::from_slice(&report.response).expect("JSON response");
                assert_eq!(out["initialization_type"], "snap-start");
                out["id"].as_str().expect("an id").to_string()
            })
            .collect();
        ids_by_mode.push((v.name.clone(), init_id, ids));
    }
    let (name, init_id, ids) = &ids_by_mode[0];
    assert_eq!(name, "pitfall");
    assert!(
        ids.iter().all(|id| id == init_id),
        "every restored environment returns init's id {init_id}: {ids:?}"
    );
    let (name, init_id, ids) = &ids_by_mode[1];
    assert_eq!(name, "fixed");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "one id per environment: {ids:?}");
    assert!(!ids.contains(init_id));
}

// ---- warmers.toml ------------------------------------------------------------------------------------------------

#[test]
fn warmers_keep_steady_light_traffic_warm_but_not_a_spike_above_the_warmed_count() {
    let runs = lab("warmers");
    let spike_s = 2 * 3600;
    let split = |v: &str| {
        let r = report(&runs, v);
        let f = &r.functions[0];
        let (arrivals, cold) = between(r, f, spike_s, spike_s + 1);
        assert_eq!(arrivals, 20, "the spike: 20 requests at 2 h");
        (cold, f.cold_starts - cold, f.arrivals - arrivals)
    };
    let (spike_cold, steady_cold, steady) = split("warmer");
    let (spike_cold_none, steady_cold_none, _) = split("no-warmer");
    assert!(steady >= 10, "{steady} steady requests");

    // Warm steady traffic with the warmer; without it most steady requests start cold.
    assert_eq!(steady_cold, 0, "the warmer keeps the light traffic warm");
    assert!(
        steady_cold_none * 2 > steady,
        "{steady_cold_none} of {steady} cold without a warmer"
    );

    // The spike: only the 2 warmed environments help.
    assert_eq!(spike_cold, 18, "20 requests, 2 warm environments");
    assert!(spike_cold_none >= 18, "{spike_cold_none}");
    assert_eq!(only(&runs, "warmer").cold_starts, 18);

    // Pings: 2 every 5 minutes for 3 hours, apart from the real traffic, but billed.
    let w = only(&runs, "warmer");
    let none = only(&runs, "no-warmer");
    assert_eq!(w.pings.sent, 72);
    assert_eq!(none.pings.sent, 0);
    assert_eq!(w.pings.throttled + w.pings.failed, 0);
    assert_eq!(w.arrivals, none.arrivals, "pings are not arrivals");
    assert!(close(w.cost.requests - none.cost.requests, 72.0 * REQUEST));
    assert!(w.cost.total > none.cost.total);
    assert!(w.gb_s.idle_on_demand > none.gb_s.idle_on_demand);
}

// ---- memory-sweep.toml -------------------------------------------------------------------------------------------

#[test]
fn memory_sweep_duration_falls_to_one_vcpu_and_cost_stays_flat_until_it_rises() {
    let path = example("memory-sweep");
    let text = std::fs::read_to_string(&path).expect("reads");
    let spec = SetSpec::parse("function.cpu.memory_mb=128,512,1769,3008").expect("a --set");
    let variants = points(&text, &path, &[spec]).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "memory_mb=128",
            "memory_mb=512",
            "memory_mb=1769",
            "memory_mb=3008"
        ]
    );
    let runs = run_variants(&variants);
    let f: Vec<&FunctionReport> = runs.iter().map(|r| &r.report.functions[0]).collect();
    let warm_p50: Vec<f64> = f.iter().map(|f| f.latency.warm.p50).collect();
    let cost: Vec<f64> = f.iter().map(|f| f.cost.total).collect();
    eprintln!("memory-sweep: warm p50 {warm_p50:?} ms, cost {cost:?} USD");

    // Duration falls with the CPU share (memory / 1769 MB) and is flat past one vCPU.
    assert!(warm_p50[0] > warm_p50[1] && warm_p50[1] > warm_p50[2]);
    let speedup = warm_p50[0] / warm_p50[2];
    assert!(
        (12.5..=15.0).contains(&speedup),
        "1769/128 = 13.8: {speedup}"
    );
    assert!((warm_p50[1] / warm_p50[2] - 1769.0 / 512.0).abs() < 0.2);
    assert!(
        (warm_p50[3] - warm_p50[2]).abs() <= 0.01 * warm_p50[2],
        "{warm_p50:?}"
    );

    // Cost is flat up to 1769 MB and rises with the GB-s price after.
    for i in 1..3 {
        assert!(
            (cost[i] / cost[0] - 1.0).abs() < 0.05,
            "{} vs {}: {cost:?}",
            names[i],
            names[0]
        );
    }
    assert!(cost[3] > 1.3 * cost[2], "{cost:?}");

    // The balanced optimum is one vCPU; speed picks the cheaper of the two fastest; cost finds 128 MB cheapest by
    // a hair: the handler's duration is exactly inversely proportional to memory, but the runtime's start-up in
    // each cold start's Init Duration bills the same milliseconds at every size.
    let figures: Vec<Figures> = runs.iter().map(|r| Figures::of(&r.report.total)).collect();
    assert_eq!(
        optimum(&figures, Strategy::Balanced { weight: 0.5 }),
        Some(2)
    );
    assert_eq!(optimum(&figures, Strategy::Speed), Some(2));
    assert!(cost[0] < cost[1] && cost[1] < cost[0] * 1.01, "{cost:?}");
    assert_eq!(optimum(&figures, Strategy::Cost), Some(0));
}
