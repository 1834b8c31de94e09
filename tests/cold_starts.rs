//! Cold starts taken apart (placement, download, init = runtime start-up + the function's init code, or a
//! restore, and the invocation), and the runtime start-up that Lambda's Init Duration always includes.

mod common;

use std::path::Path;

use common::*;
use lambda_sim::report::{FunctionReport, RunReport};
use lambda_sim::sim::{RunOptions, run_virtual};

fn run(dir: &Path, name: &str, text: &str) -> RunReport {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let scenario = lambda_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let deployment =
        lambda_sim::deploy::deploy(&scenario, &test_cache()).unwrap_or_else(|e| panic!("{e}"));
    run_virtual(&scenario, &deployment, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Cold starts only: one request every 20 minutes to a function kept alive 1 minute.
fn cold_only(code: &str, extra: &str) -> String {
    let code = root().join(code);
    format!(
        "[simulation]\nduration = \"10h\"\nseed = 11\n\n\
         [[function]]\nname = \"f\"\ncode = {code:?}\nkeep_alive = {{ policy = \"fixed\", duration = \"1m\" }}\n\
         {extra}\n\n\
         [[traffic]]\nfunction = \"f\"\npattern = \"constant\"\nrate = 0.000833333\n"
    )
}

fn f(r: &RunReport) -> &FunctionReport {
    r.function("f").unwrap()
}

#[test]
fn init_duration_includes_the_runtime_start_up_even_with_no_init_work() {
    let dir = tempfile::tempdir().unwrap();
    // `hello` has no init work: before runtimes were modelled its Init Duration was 0.00 ms.
    let r = run(
        dir.path(),
        "default.toml",
        &cold_only("functions/hello", ""),
    );
    let l = &f(&r).latency;
    assert!(l.cold.count >= 29, "{}", l.cold.count);
    // provided.al2023 (a compiled bootstrap): measured median 15.7 ms on x86_64.
    assert!((14.0..18.0).contains(&l.init.p50), "{:?}", l.init);
    let parts = l.cold_start.unwrap();
    assert_eq!(parts.runtime.count, l.init.count);
    assert!(parts.function_init.max < 1.0, "{:?}", parts.function_init);

    for (runtime, arch, median) in [
        ("python3.12", "x86_64", 84.0),
        ("nodejs22.x", "arm64", 130.0),
        ("java21", "x86_64", 238.0),
    ] {
        let extra = format!("runtime = {runtime:?}\narchitecture = {arch:?}");
        let r = run(dir.path(), "r.toml", &cold_only("functions/hello", &extra));
        let p50 = f(&r).latency.init.p50;
        assert!(
            (median * 0.85..median * 1.2).contains(&p50),
            "{runtime} {arch}: init p50 {p50} vs measured {median}"
        );
    }
    let r = run(
        dir.path(),
        "none.toml",
        &cold_only("functions/hello", "runtime = \"none\""),
    );
    assert!(f(&r).latency.init.max < 1.0);
}

#[test]
fn the_pieces_of_a_cold_start_add_up_to_its_latency() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        dir.path(),
        "heavy.toml",
        &cold_only("functions/heavy-init", "memory_mb = 1769"),
    );
    let fr = f(&r);
    let l = &fr.latency;
    let c = l.cold_start.unwrap();
    let n = l.cold.count;
    assert!(n >= 29);
    for p in [
        &c.placement,
        &c.download,
        &c.runtime,
        &c.function_init,
        &c.invocation,
    ] {
        assert_eq!(p.count, n);
    }
    // Means are exact: placement + download + init + invocation = cold latency (to rounding of each mean).
    let sum = c.placement.mean + c.download.mean + l.init.mean + c.invocation.mean;
    assert!(
        (sum - l.cold.mean).abs() < 0.005,
        "{sum} vs cold mean {}",
        l.cold.mean
    );
    assert!(
        (c.runtime.mean + c.function_init.mean - l.init.mean).abs() < 0.005,
        "init = runtime + code"
    );
    // heavy-init's own init is tens of ms of real work; the download is its package at 50 MB/s, every time.
    assert!(c.function_init.p50 > 5.0, "{:?}", c.function_init);
    let package = fr.config.as_ref().unwrap().code_bytes as f64;
    assert!(
        (c.download.p50 - package / 50e6 * 1e3).abs() < 0.01,
        "{:?}",
        c.download
    );
    assert_eq!(c.download.p50, c.download.max);
    // Placement: the default lognormal with median 90 ms.
    assert!(
        (60.0..130.0).contains(&c.placement.p50),
        "{:?}",
        c.placement
    );
    // The total carries the same pieces; the JSON and the summary show them.
    assert_eq!(r.total.latency.cold_start.unwrap().placement.count, n);
    let json = r.to_json();
    assert!(json.contains("\"cold_start\": {\n"), "{json}");
    let summary = r.summary();
    for row in [
        "    placement ",
        "    download ",
        "    · runtime ",
        "    · code ",
        "    invocation ",
    ] {
        assert!(summary.contains(row), "{row:?} in\n{summary}");
    }
    // A legend says what the rows are; one function gets no `total` block repeating it.
    assert!(
        summary
            .contains("cold start = placement + download + init (· runtime start-up, · init code)"),
        "{summary}"
    );
    assert_eq!(r.functions.len(), 1);
    assert!(!summary.contains("total · "), "{summary}");
}

#[test]
fn a_snapshot_replaces_init_with_a_restore_and_java_snapstart_restores_as_measured() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        dir.path(),
        "snap.toml",
        &cold_only("functions/heavy-init", "snapshot = true"),
    );
    let l = &f(&r).latency;
    let c = l.cold_start.unwrap();
    assert_eq!(l.init.count, 0);
    assert_eq!(c.runtime.count, 0);
    assert_eq!(l.restore.count, l.cold.count);
    let sum = c.placement.mean + c.download.mean + l.restore.mean + c.invocation.mean;
    assert!(
        (sum - l.cold.mean).abs() < 0.005,
        "{sum} vs {}",
        l.cold.mean
    );
    let modelled = l.restore.p50;

    // Java 21 with SnapStart at 128 MB: lambda-perf's median first restore was 1,086 ms.
    let r = run(
        dir.path(),
        "java.toml",
        &cold_only(
            "functions/heavy-init",
            "snapshot = true\nruntime = \"java21\"",
        ),
    );
    let restore = f(&r).latency.restore;
    assert!(
        (900.0..1300.0).contains(&restore.p50),
        "{restore:?} (the sandbox's own model gave {modelled})"
    );
}

#[test]
fn an_unknown_runtime_names_the_presets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        cold_only("functions/hello", "runtime = \"python2.7\""),
    )
    .unwrap();
    let out = lambda_sim(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "function \"f\": runtime = \"python2.7\" is not one of provided.al2023, python3.12, nodejs22.x, \
             java21, dotnet8, ruby3.3, \"none\""
        ),
        "{err}"
    );
}

#[test]
fn real_time_waits_for_the_runtime_start_up_too() {
    let code = root().join("functions/hello");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rt.toml");
    std::fs::write(
        &path,
        format!(
            "[simulation]\nduration = \"1s\"\nmode = \"realtime\"\n\n\
             [[function]]\nname = \"f\"\ncode = {code:?}\nruntime = \"nodejs22.x\"\n\n\
             [[traffic]]\nfunction = \"f\"\npattern = \"constant\"\nrate = 2\n"
        ),
    )
    .unwrap();
    let report = run_realtime(lambda_sim::scenario::load(&path).unwrap(), None);
    let l = &f(&report).latency;
    assert!(l.init.count >= 1);
    // Node.js 22's measured start-up, ~141 ms, waited for in real time (and reported as Init Duration).
    assert!(l.init.p50 > 90.0, "{:?}", l.init);
    assert!(l.cold.p50 > l.init.p50, "{:?} {:?}", l.cold, l.init);
}
