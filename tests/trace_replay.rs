//! Public-trace replay end to end (`[trace]`, docs/traces.md): the ATC'20 example `scenarios/azure-2019-sample.toml`
//! (fixed 10-minute keep-alive vs the hybrid histogram policy, on a window of its day) and a 2021 per-invocation
//! trace, both run through lambda-sim's lab runner in virtual time. Every trace invocation in the window is
//! invoked exactly once, on the function it belongs to, and runs to completion with the stand-in handler.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use lambda_sim::lab::{LabInput, LabRun, run_all};
use lambda_sim::scenario::{Scenario, Variant, parse_file};

fn run(variants: &[Variant]) -> Vec<LabRun> {
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
    run_all(&inputs, &test_cache, 2).unwrap_or_else(|e| panic!("{e}"))
}

/// Each trace function's arrivals are its invocations in the window, all of which succeed.
fn assert_replayed_exactly(run: &LabRun, scenario: &Scenario) {
    let trace = scenario.trace.as_ref().expect("a trace");
    let r = &run.report;
    assert!(r.conservation_ok(), "{}: conservation", run.name);
    assert_eq!(r.total.arrivals, trace.invocations, "{}", run.name);
    for f in &trace.functions {
        let name = &scenario.functions[f.function].name;
        let got = r
            .functions
            .iter()
            .find(|x| &x.name == name)
            .unwrap_or_else(|| panic!("no report for {name}"));
        assert_eq!(got.arrivals, f.invocations, "{}: {name}", run.name);
        assert_eq!(
            got.outcomes.success, f.invocations,
            "{}: {name} succeeded",
            run.name
        );
    }
}

#[test]
fn azure_2019_sample_fixed_vs_hybrid() {
    let path = root().join("scenarios/azure-2019-sample.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // Six hours of the day keep the debug-mode test short; the example itself replays all 24.
    let text = text.replace(
        "spread = \"poisson\"\n",
        "spread = \"poisson\"\nstart = \"6h\"\nend = \"12h\"\n",
    );
    let file = parse_file(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file.variants.len(), 2);
    assert_eq!(file.base.simulation.duration_ns, 6 * 3600 * 1_000_000_000);
    // The window's count, read straight from the trace file: minutes 360..720 of every row.
    let inv = root().join("tests/fixtures/azure/invocations_per_function_md.anon.d01.csv");
    let want: u64 = std::fs::read_to_string(inv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .skip(4 + 360)
                .take(360)
                .map(|c| c.parse::<u64>().unwrap())
                .sum::<u64>()
        })
        .sum();
    assert_eq!(file.base.trace.as_ref().unwrap().invocations, want);
    let runs = run(&file.variants);
    for (r, v) in runs.iter().zip(&file.variants) {
        assert_replayed_exactly(r, &v.scenario);
    }
    let (fixed, hybrid) = (&runs[0].report.total, &runs[1].report.total);
    // The hybrid policy unloads environments it predicts will idle long: less wasted memory time.
    assert!(
        hybrid.gb_s.idle_on_demand < 0.95 * fixed.gb_s.idle_on_demand,
        "idle GB-s: hybrid {} vs fixed {}",
        hybrid.gb_s.idle_on_demand,
        fixed.gb_s.idle_on_demand
    );
    // Same traffic, same durations: what is billed for invocations differs by cold starts only.
    assert!(fixed.cold_starts > 0 && hybrid.cold_starts > 0);
    // The paper's other axis, per app (here per function, each counting once): fewer cold starts with hybrid.
    let per_function = |r: &lambda_sim::report::RunReport| {
        let ran: Vec<f64> = r
            .functions
            .iter()
            .filter(|f| f.cold_starts + f.warm_starts > 0)
            .map(|f| f.cold_start_ratio())
            .collect();
        ran.iter().sum::<f64>() / ran.len() as f64
    };
    let (fixed_fn, hybrid_fn) = (per_function(&runs[0].report), per_function(&runs[1].report));
    assert!(
        hybrid_fn < fixed_fn - 0.02,
        "mean per-function cold-start ratio: hybrid {hybrid_fn:.4} vs fixed {fixed_fn:.4}"
    );
}

#[test]
fn azure_2021_trace_replays_every_invocation() {
    let file = fixture_2021();
    let text = format!(
        "[simulation]\nseed = 3\n\n[trace]\nformat = \"azure-2021\"\nfile = {file:?}\nspeedup = 4\n\n\
         [trace.function]\nkeep_alive = {{ policy = \"fixed\", duration = \"5m\" }}\n"
    );
    let f = parse_file(&text, Path::new("/nonexistent/t.toml")).unwrap_or_else(|e| panic!("{e}"));
    let s = &f.base;
    // Count rows per (app, func) straight from the file.
    let mut rows: BTreeMap<(String, String), u64> = BTreeMap::new();
    for l in std::fs::read_to_string(&file).unwrap().lines().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        *rows
            .entry((c[0].to_string(), c[1].to_string()))
            .or_insert(0) += 1;
    }
    let trace = s.trace.as_ref().unwrap();
    assert_eq!(trace.functions.len(), rows.len());
    for t in &trace.functions {
        assert_eq!(t.invocations, rows[&(t.app.clone(), t.hash.clone())]);
    }
    let variant = Variant {
        name: "2021".into(),
        description: None,
        overrides: Vec::new(),
        scenario: s.clone(),
    };
    let runs = run(std::slice::from_ref(&variant));
    assert_replayed_exactly(&runs[0], s);
}

fn fixture_2021() -> std::path::PathBuf {
    root().join("tests/fixtures/azure/AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt")
}

/// The same replay on the wall clock (`run_realtime`): every invocation of the window arrives once and succeeds.
/// Counts only, never timings.
#[test]
fn a_trace_replays_in_real_time() {
    let path = root().join("tests/fixtures/rt-trace.toml");
    let scenario = lambda_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let want = scenario.trace.as_ref().expect("a trace").invocations;
    assert!(want > 10, "the window holds invocations: {want}");
    let r = run_realtime(scenario, None);
    assert!(r.conservation_ok());
    assert_eq!(r.total.arrivals, want);
    assert_eq!(r.total.outcomes.success, want);
}

/// A trace file that breaks between load (first pass) and replay (second pass) fails the run with the file's line,
/// instead of a silently short replay.
#[test]
fn a_trace_broken_after_load_fails_the_run_at_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("trace.txt");
    let good = std::fs::read_to_string(fixture_2021()).expect("fixture");
    std::fs::write(&file, &good).expect("copy");
    let text = format!(
        "[simulation]\nseed = 3\n\n[trace]\nformat = \"azure-2021\"\nfile = {file:?}\n\n\
         [trace.function]\nkeep_alive = {{ policy = \"fixed\", duration = \"5m\" }}\n"
    );
    let scenario = parse_file(&text, Path::new("/nonexistent/t.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .base;
    let broken: Vec<&str> = good.lines().take(101).collect();
    std::fs::write(&file, format!("{}\nnot,a,valid,row\n", broken.join("\n"))).expect("break");
    let deployment =
        lambda_sim::deploy::deploy(&scenario, &test_cache()).unwrap_or_else(|e| panic!("{e}"));
    let e = lambda_sim::sim::run_virtual(&scenario, &deployment, &Default::default())
        .expect_err("the run fails");
    let message = e.to_string();
    assert!(message.contains("trace.txt:102:"), "{message}");
}

/// `lambda-sim validate` says what a trace selected (the example's whole day) and which services a scenario has.
#[test]
fn validate_describes_the_trace_and_the_services() {
    let out = lambda_sim(&[
        "validate",
        "scenarios/azure-2019-sample.toml",
        "scenarios/db-connections.toml",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("60 function(s), 455334 invocation(s) in the window"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"db-connections\", 1 function(s)") && stdout.contains("; services: db"),
        "{stdout}"
    );
}
