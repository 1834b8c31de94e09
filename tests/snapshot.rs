//! Snapshot restore (the SnapStart analog): cold starts restore a pre-initialized module instead of running init,
//! REPORT shows Restore Duration, the uniqueness pitfall and its fix, pricing, and scenario validation. Virtual time
//! only.

mod common;

use std::path::Path;

use common::*;
use lambda_sim::metrics::{SNAPSHOT_CACHE_GB_S, SNAPSHOT_RESTORE_GB};
use lambda_sim::model::cold_start::{RESTORE_BASE_NS, RESTORE_NS_PER_MIB, restore_ns};
use lambda_sim::report::RunReport;
use lambda_sim::sandbox::{
    ClockMode, CodeCache, CodeSource, FunctionCode, InitializationType, Sandbox, SandboxConfig,
    Snapshot, SnapshotError, take_snapshot,
};
use lambda_sim::scenario::{Scenario, SingleFunction};
use lambda_sim::sim::{RunOptions, run_virtual};

const S: u64 = 1_000_000_000;
const INIT_LIMIT_NS: u64 = 130 * S;

fn seeded(seed: u64) -> SandboxConfig {
    let mut c = config(128, ClockMode::Virtual);
    c.seed = seed;
    c
}

fn snapshot_of(cache: &CodeCache, guest: &str, config: &SandboxConfig) -> Snapshot {
    let wasm = guest_wasm(guest);
    let bytes = std::fs::read(&wasm).expect("reads the module");
    take_snapshot(&engine(), cache, guest, &bytes, config, INIT_LIMIT_NS).expect("snapshot")
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}: {}", text(bytes)))
}

/// The id a cold start returns for `mode`, restored from `snapshot` on a sandbox seeded with `seed`.
fn restored_id(snapshot: &Snapshot, seed: u64, mode: &str) -> String {
    let mut config = seeded(seed);
    config.initialization_type = InitializationType::SnapStart;
    let mut sandbox = now(Sandbox::restore(snapshot.code(), &config)).expect("restores");
    let report =
        now(sandbox.invoke(&event(&format!(r#"{{"mode":"{mode}"}}"#)), limits(3))).unwrap();
    let body = json(&report.response);
    assert_eq!(body["mode"], mode);
    assert_eq!(body["initialization_type"], "snap-start");
    body["id"].as_str().expect("an id").to_string()
}

#[test]
fn snapshot_cold_starts_run_no_init_and_report_restore_duration() {
    let cache = CodeCache::in_memory();
    let snapshot = snapshot_of(&cache, "unique-id", &seeded(7));
    // Init ran once, when the snapshot was taken: its output is the snapshot's, with a virtual Init Duration.
    assert!(
        snapshot.init().log.contains("init drew id"),
        "{:?}",
        snapshot.init()
    );
    assert!(snapshot.init().duration_ns > 0);
    assert!(snapshot.memory_bytes() >= 64 << 10);
    assert_eq!(snapshot.restore_ns(), restore_ns(snapshot.memory_bytes()));
    assert_eq!(
        snapshot.restore_ns(),
        RESTORE_BASE_NS + snapshot.memory_bytes().div_ceil(1 << 20) * RESTORE_NS_PER_MIB
    );

    // A function with `snapshot = true`, invoked twice: a restore, then a warm invocation.
    let scenario = Scenario::single_function(SingleFunction {
        name: "unique-id".into(),
        code: guest_wasm("unique-id"),
        handler: None,
        memory_mb: 128,
        timeout_ns: 3 * S,
        snapshot: true,
        seed: 7,
        ps_per_fuel: lambda_sim::cpu::DEFAULT_PS_PER_FUEL,
        mode: lambda_sim::scenario::Mode::Virtual,
    });
    let deployment = lambda_sim::deploy::deploy(&scenario, &cache).expect("deploys");
    let deployed = deployment.snapshots[0].clone().expect("snapshot = true");
    let sim = lambda_sim::sim::Sim::new(&scenario, &deployment, None).expect("a run");
    let first = sim.invoke(0, event(r#"{"mode":"fixed"}"#).event).unwrap();
    assert!(first.is_cold());
    assert!(first.init.is_none(), "a restore runs no init");
    assert!(first.failed_init.is_none());
    assert_eq!(first.restore_ns, Some(deployed.restore_ns()));
    assert!(
        !text(&first.report.log).contains("init drew id"),
        "init's output is not in a restored invocation's log"
    );
    assert_eq!(json(&first.report.response)["invocation"], 1);
    let second = sim.invoke(0, event(r#"{"mode":"fixed"}"#).event).unwrap();
    assert!(!second.is_cold());
    assert_eq!(second.restore_ns, None);
    assert_eq!(json(&second.report.response)["invocation"], 2);
    assert_eq!(
        json(&first.report.response)["id"],
        json(&second.report.response)["id"]
    );
}

#[test]
fn restored_sandboxes_share_the_id_drawn_in_init_and_the_fix_makes_them_unique() {
    let cache = CodeCache::in_memory();
    let snapshot = snapshot_of(&cache, "unique-id", &seeded(7));
    let init_id = snapshot
        .init()
        .log
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();

    // The pitfall: two sandboxes with different randomness, restored from one snapshot, return the same id —
    // the one init drew when the snapshot was taken.
    let a = restored_id(&snapshot, 1, "pitfall");
    let b = restored_id(&snapshot, 2, "pitfall");
    assert_eq!(a, b);
    assert_eq!(a, init_id);

    // The fix: the id drawn on first use, after restore, differs per sandbox (and from the snapshot's).
    let a = restored_id(&snapshot, 1, "fixed");
    let b = restored_id(&snapshot, 2, "fixed");
    assert_ne!(a, b);
    assert_ne!(a, init_id);
    assert_ne!(b, init_id);

    // Without a snapshot each sandbox runs init itself, so even the init-drawn id differs.
    let engine = engine();
    let plain = FunctionCode::load_file(&engine, &cache, &guest_wasm("unique-id")).unwrap();
    let ids: Vec<_> = [1, 2]
        .map(|seed| {
            let mut sandbox = Sandbox::new(&plain, &seeded(seed)).unwrap();
            assert_eq!(
                now(sandbox.init(limits(10))).unwrap().outcome,
                lambda_sim::sandbox::Outcome::Success
            );
            let report = now(sandbox.invoke(&event(r#"{"mode":"pitfall"}"#), limits(3))).unwrap();
            json(&report.response)["id"].clone()
        })
        .to_vec();
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn snapshots_are_cached_by_everything_init_depends_on() {
    let cache = CodeCache::in_memory();
    let first = snapshot_of(&cache, "unique-id", &seeded(7));
    assert_eq!(first.source(), CodeSource::Compiled);
    let again = snapshot_of(&cache, "unique-id", &seeded(7));
    assert_eq!(again.source(), CodeSource::MemoryCache);
    assert_eq!(again.init(), first.init());
    // Another seed is another snapshot: init drew another id.
    let other = snapshot_of(&cache, "unique-id", &seeded(8));
    assert_eq!(other.source(), CodeSource::Compiled);
    assert_ne!(other.init().log, first.init().log);
    assert_ne!(
        restored_id(&other, 1, "pitfall"),
        restored_id(&first, 1, "pitfall")
    );
}

#[test]
fn snapshot_fails_with_the_init_error_when_init_fails() {
    let bytes = std::fs::read(fixture("init-fails")).unwrap();
    let err = take_snapshot(
        &engine(),
        &CodeCache::in_memory(),
        "init-fails.wat",
        &bytes,
        &seeded(1),
        INIT_LIMIT_NS,
    )
    .err()
    .expect("init fails");
    assert!(matches!(err, SnapshotError::InitFailed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("init failed while taking the snapshot: "),
        "{err}"
    );
}

/// A heavy-init scenario where every request is a cold start (keep-alive none, a request every 10 minutes), with a
/// constant placement overhead, so cold latency = overhead + init (or restore) + duration exactly.
fn heavy_init_scenario(snapshot: bool) -> String {
    let code = root().join("functions/heavy-init");
    format!(
        r#"
[simulation]
duration = "1h"
seed = 11

[[function]]
name = "catalog"
code = "{}"
memory_mb = 512
timeout = 30
keep_alive = {{ policy = "none" }}
cold_start = {{ placement_ms = {{ distribution = "constant", value = 50 }} }}
snapshot = {snapshot}

[[traffic]]
function = "catalog"
pattern = "constant"
rate = 0.0016667
payload = '{{"id":123}}'
"#,
        code.display()
    )
}

fn run_text(text: &str) -> (RunReport, lambda_sim::deploy::Deployment) {
    let path = root().join("tests/snapshot-scenario.toml");
    let scenario = lambda_sim::scenario::parse(text, &path).expect("scenario parses");
    let cache = test_cache();
    let deployment = lambda_sim::deploy::deploy(&scenario, &cache).expect("deploys");
    let report = run_virtual(&scenario, &deployment, &RunOptions::default()).expect("runs");
    assert!(report.conservation_ok());
    (report, deployment)
}

#[test]
fn heavy_init_cold_starts_are_shorter_by_the_measured_init_minus_the_restore() {
    let (plain, _) = run_text(&heavy_init_scenario(false));
    let (snap, deployment) = run_text(&heavy_init_scenario(true));
    let (p, s) = (
        plain.function("catalog").unwrap(),
        snap.function("catalog").unwrap(),
    );
    let n = p.arrivals;
    assert!(n >= 6, "{n} arrivals");
    assert_eq!(s.arrivals, n, "the same traffic");
    assert_eq!(
        (p.cold_starts, s.cold_starts),
        (n, n),
        "every request is cold"
    );

    // Plain cold starts run init on the request path; snapshot ones restore instead.
    assert_eq!(p.latency.init.count, n);
    assert_eq!(p.latency.restore.count, 0);
    assert_eq!(s.latency.init.count, 0);
    assert_eq!(s.latency.restore.count, n);

    let snapshot = deployment.snapshots[0].as_ref().expect("a snapshot");
    // The function's own init code (Init Duration less the runtime's start-up, which a snapshot does not run).
    let init_ms = p.latency.cold_start.unwrap().function_init.mean;
    let restore_ms = snapshot.restore_ns() as f64 / 1e6;
    assert_eq!(s.latency.restore.mean, restore_ms);
    // The snapshot's init did the same work as an on-demand init.
    let snapshot_init_ms = snapshot.init().duration_ns as f64 / 1e6;
    assert!(
        (snapshot_init_ms - init_ms).abs() <= init_ms * 0.001,
        "snapshot init {snapshot_init_ms} ms vs on-demand init {init_ms} ms"
    );
    eprintln!(
        "heavy-init at 512 MB: init {init_ms:.3} ms, restore {restore_ms:.3} ms, cold mean {:.3} → {:.3} ms",
        p.latency.cold.mean, s.latency.cold.mean
    );

    // Cold latency falls by exactly the Init Duration (the runtime's start-up and the init code: a restore skips
    // both), less the restore time.
    let init_duration_ms = p.latency.init.mean;
    let saved = p.latency.cold.mean - s.latency.cold.mean;
    assert!(
        (saved - (init_duration_ms - restore_ms)).abs() < 0.01,
        "saved {saved} ms, Init Duration {init_duration_ms} ms, restore {restore_ms} ms"
    );
    assert!(
        restore_ms < init_ms / 4.0,
        "restore {restore_ms} vs init {init_ms}"
    );
    // Warm-equivalent parts are untouched: the invocations themselves cost the same.
    assert_eq!(p.outcomes.success, s.outcomes.success);

    // Restore time is not billed as duration: billed duration drops by the init.
    assert!(s.latency.billed.mean < p.latency.billed.mean - init_ms * 0.9);
}

#[test]
fn snapshot_cache_and_restores_are_priced_as_snapstart() {
    let (r, _) = run_text(&heavy_init_scenario(true));
    let f = r.function("catalog").unwrap();
    let gb = 0.5;
    assert!(f.config.as_ref().unwrap().snapshot);
    // A 1-hour run is billed the 3-hour minimum of cache.
    let want_cache = gb * 3.0 * 3600.0 * SNAPSHOT_CACHE_GB_S;
    let restores = f.cold_starts as f64;
    assert!(restores >= 6.0);
    let want_restore = restores * gb * SNAPSHOT_RESTORE_GB;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12_f64.max(b * 1e-9);
    assert!(
        close(f.gb_s.snapshot_cache, gb * 10_800.0),
        "{}",
        f.gb_s.snapshot_cache
    );
    assert!(close(f.gb_s.snapshot_restored_gb, restores * gb));
    assert!(
        close(f.cost.snapshot_cache, want_cache),
        "{}",
        f.cost.snapshot_cache
    );
    assert!(close(f.cost.snapshot_restore, want_restore));
    let c = &f.cost;
    assert!(close(
        c.total,
        c.requests
            + c.duration
            + c.provisioned_capacity
            + c.provisioned_duration
            + c.snapshot_cache
            + c.snapshot_restore
    ));
    assert!(close(r.total().cost.snapshot_cache, want_cache));

    // The JSON report carries them, and the same scenario gives the same bytes.
    let json1 = r.to_json();
    let v: serde_json::Value = serde_json::from_str(&json1).unwrap();
    let fv = &v["functions"]["catalog"];
    assert_eq!(fv["config"]["snapshot"], true);
    assert!(fv["cost_usd"]["snapshot_cache"].as_f64().unwrap() > 0.0);
    assert!(fv["cost_usd"]["snapshot_restore"].as_f64().unwrap() > 0.0);
    assert_eq!(fv["latency_ms"]["restore"]["count"], f.cold_starts);
    assert!(fv["histograms"]["restore"].is_string());
    let (again, _) = run_text(&heavy_init_scenario(true));
    assert_eq!(again.to_json(), json1, "byte-for-byte reproducible");

    // The summary shows the snapshot lines.
    let summary = r.summary();
    assert!(summary.contains("restore "), "{summary}");
    assert!(summary.contains("snapshot cache $"), "{summary}");
}

#[test]
fn snapshot_with_provisioned_concurrency_is_rejected_with_its_position() {
    let toml = format!(
        "[simulation]\nduration = \"1m\"\n\n[[function]]\nname = \"api\"\ncode = \"{}\"\nprovisioned_concurrency = 2\nsnapshot = true\n",
        root().join("functions/hello").display()
    );
    let path = Path::new("snap-pc.toml");
    let err = lambda_sim::scenario::parse(&toml, path).expect_err("rejected");
    assert_eq!((err.line, err.column), (8, 12), "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("snap-pc.toml:8:12: "), "{msg}");
    assert!(
        msg.contains("snapshot = true cannot be combined with provisioned_concurrency = 2"),
        "{msg}"
    );
    // Either alone is fine, and snapshot defaults to false.
    let ok = toml.replace("provisioned_concurrency = 2\n", "");
    assert!(lambda_sim::scenario::parse(&ok, path).unwrap().functions[0].snapshot);
    let ok = toml.replace("snapshot = true\n", "");
    assert!(!lambda_sim::scenario::parse(&ok, path).unwrap().functions[0].snapshot);
    let err =
        lambda_sim::scenario::parse(&toml.replace("true", "\"yes\""), path).expect_err("a bool");
    assert_eq!(err.line, 8, "{err}");

    // The CLI refuses it with exit code 2.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap-pc.toml");
    std::fs::write(&file, &toml).unwrap();
    let out = lambda_sim(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(
        text(&out.stderr).contains(":8:12: function \"api\": snapshot = true cannot be combined"),
        "{}",
        text_of(&out)
    );
}

fn text_of(out: &std::process::Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[test]
fn invoke_snapshot_report_line_has_restore_duration_instead_of_init_duration() {
    let out = lambda_sim(&[
        "invoke",
        "functions/unique-id",
        "--snapshot",
        "--payload",
        r#"{"mode":"fixed"}"#,
        "--repeat",
        "2",
    ]);
    assert!(out.status.success(), "{}", text_of(&out));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // The snapshot's init logs first, with its INIT_REPORT (SnapStart always emits one).
    assert!(lines[0].starts_with("init drew id "), "{stdout}");
    assert!(
        lines[1].starts_with("INIT_REPORT Init Duration: "),
        "{stdout}"
    );
    assert!(lines[1].ends_with(" ms\tPhase: init\t"), "{stdout}");
    let reports: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("REPORT "))
        .collect();
    assert_eq!(reports.len(), 2, "{stdout}");
    let cold: Vec<&str> = reports[0].split('\t').collect();
    // REPORT RequestId, Duration, Billed Duration, Memory Size, Max Memory Used, Restore Duration, Billed Restore
    // Duration, then the trailing tab's empty field.
    assert_eq!(cold.len(), 8, "{:?}", reports[0]);
    assert!(cold[1].starts_with("Duration: ") && cold[1].ends_with(" ms"));
    let duration_ms: f64 = cold[1]["Duration: ".len()..cold[1].len() - 3]
        .parse()
        .unwrap();
    assert_eq!(
        cold[2],
        format!("Billed Duration: {} ms", duration_ms.ceil().max(1.0) as u64),
        "restore is not billed as duration"
    );
    assert_eq!(cold[3], "Memory Size: 128 MB");
    let restore = restore_ns_of_unique_id();
    assert_eq!(
        cold[5],
        format!("Restore Duration: {:.2} ms", restore as f64 / 1e6)
    );
    assert_eq!(cold[6], "Billed Restore Duration: 0 ms");
    assert_eq!(cold[7], "");
    assert!(!reports[0].contains("Init Duration"));
    assert!(!reports[1].contains("Restore Duration"));
    assert!(!reports[1].contains("Init Duration"));
    // Warm reuse of the restored sandbox: the same lazily drawn id twice.
    let bodies: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["id"], bodies[1]["id"]);
    assert!(text(&out.stderr).contains("restore "), "{}", text_of(&out));
}

/// The modelled restore of unique-id's snapshot at 128 MB (its linear memory does not depend on the seed).
fn restore_ns_of_unique_id() -> u64 {
    snapshot_of(&CodeCache::in_memory(), "unique-id", &seeded(1)).restore_ns()
}
