//! `lambda-sim import logs` through the real binary, on logs made by `scripts/make-lambda-logs.py` (Lambda's line
//! formats, one log stream per execution environment, bursts meeting cold starts, some damage): what the import
//! counts, what it writes, and that replaying the imported scenario gives back the logs' own figures.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Imports `files` into a fresh directory; returns it (kept alive), the summary printed, and profile.json.
fn import(files: &[&str], extra: &[&str]) -> (tempfile::TempDir, PathBuf, String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imported");
    let out_s = out.display().to_string();
    let mut args = vec!["import", "logs"];
    args.extend_from_slice(files);
    args.extend_from_slice(&["-o", &out_s]);
    args.extend_from_slice(extra);
    let o = lambda_sim(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let profile: Value =
        serde_json::from_slice(&std::fs::read(out.join("profile.json")).unwrap()).unwrap();
    (dir, out, text(&o.stdout), profile)
}

fn rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn a_damaged_log_is_counted_not_fatal() {
    let (_d, out, summary, p) = import(&["tests/fixtures/logs/orders.log"], &[]);
    // 1,000 invocations; the generator dropped one REPORT and cut one START line short (its REPORT stands alone),
    // three garbage lines, and a few other lines cut short.
    assert_eq!(p["counts"]["starts"], 999, "{summary}");
    assert_eq!(p["counts"]["reports"], 999);
    assert_eq!(p["counts"]["missing_reports"], 1);
    assert_eq!(p["counts"]["reports_without_start"], 1);
    let file = &p["files"][0]["counts"];
    assert_eq!(file["malformed"], 1, "{file}");
    assert!(
        summary.contains("1 START lines whose REPORT never came"),
        "{summary}"
    );
    let f = &p["functions"]["orders"];
    assert_eq!(
        (f["invocations"].as_u64(), f["cold_starts"].as_u64()),
        (Some(999), Some(171))
    );
    assert_eq!(
        (f["timeouts"].as_u64(), f["memory_size_mb"].as_u64()),
        (Some(2), Some(256))
    );
    assert_eq!(f["peak_concurrency"], 18);
    assert_eq!(f["duration_ms"]["p50"], 418.815);
    // The arrivals: one row per START, in time order, from 0; the timeline adds up to them.
    let arrivals: Vec<f64> = rows(&out.join("arrivals/orders.csv"))
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    assert_eq!(arrivals.len(), 999);
    assert_eq!(arrivals[0], 0.0);
    assert!(arrivals.windows(2).all(|w| w[0] <= w[1]));
    let timeline = rows(&out.join("timeline/orders.csv"));
    let sum = |col: usize| -> u64 {
        timeline
            .iter()
            .map(|r| r.split(',').nth(col).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!((sum(2), sum(3)), (999, 171));
}

#[test]
fn replaying_the_imported_scenario_reproduces_the_logs_figures() {
    let (_d, out, _, p) = import(&["tests/fixtures/logs/orders.log"], &[]);
    let json = out.join("run.json");
    let o = lambda_sim(&[
        "run",
        &out.join("scenario.toml").display().to_string(),
        "--json",
        &json.display().to_string(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let run: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let names: Vec<&str> = run["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "as-logged",
            "provisioned-peak",
            "snapshot",
            "memory-half",
            "memory-double"
        ]
    );
    let sim = &run["runs"][0]["report"]["functions"]["orders"];
    let logged = &p["functions"]["orders"];
    assert_eq!(sim["arrivals"], 999);
    let within = |what: &str, sim: f64, logged: f64, tolerance: f64| {
        assert!(
            (sim - logged).abs() <= tolerance * logged,
            "{what}: replay {sim} vs logs {logged} (tolerance {:.0} %)",
            tolerance * 100.0
        );
    };
    // Stated tolerances: cold starts ±15 % (keep-alive is drawn, not the logged environments' own), Duration p50
    // ±5 % and p90 ±10 % (each request's duration is drawn from the logs' distribution), Init Duration p50 ±10 %.
    within(
        "cold starts",
        sim["cold_starts"].as_f64().unwrap(),
        logged["cold_starts"].as_f64().unwrap(),
        0.15,
    );
    let warm = &sim["latency_ms"]["warm"];
    within(
        "duration p50",
        warm["p50"].as_f64().unwrap(),
        logged["duration_ms"]["p50"].as_f64().unwrap(),
        0.05,
    );
    within(
        "duration p90",
        warm["p90"].as_f64().unwrap(),
        logged["duration_ms"]["p90"].as_f64().unwrap(),
        0.10,
    );
    let init = &sim["latency_ms"]["init"];
    within(
        "init p50",
        init["p50"].as_f64().unwrap(),
        logged["init_duration_ms"]["p50"].as_f64().unwrap(),
        0.10,
    );
    // Provisioned concurrency at the observed peak removes nearly every cold start.
    let pc = &run["runs"][1]["report"]["functions"]["orders"];
    assert!(
        pc["cold_starts"].as_u64().unwrap() * 10 < sim["cold_starts"].as_u64().unwrap(),
        "{}",
        pc["cold_starts"]
    );
}

#[test]
fn every_export_format_reads_the_same_invocations() {
    let profile = |file: &str| import(&[file], &["--function", "api"]);
    let (_a, json_dir, _, json) = profile("tests/fixtures/logs/formats-json.json");
    let (_b, tail_dir, _, tail) = profile("tests/fixtures/logs/formats-tail.log");
    let (_c, _, _, text) = profile("tests/fixtures/logs/formats-text.log");
    let (_d, _, _, platform) = profile("tests/fixtures/logs/formats-platform.log");
    let (_e, insights_dir, _, insights) = profile("tests/fixtures/logs/formats-insights.csv");
    // With log stream names (filter-log-events JSON, `aws logs tail`, a Logs Insights CSV), the very same arrivals
    // and figures.
    for (dir, p) in [(&tail_dir, &tail), (&insights_dir, &insights)] {
        assert_eq!(json["functions"], p["functions"]);
        assert_eq!(
            std::fs::read(json_dir.join("arrivals/api.csv")).unwrap(),
            std::fs::read(dir.join("arrivals/api.csv")).unwrap()
        );
    }
    // Without them, a cold start's arrival is the INIT_START before it in the file; the counts and distributions
    // are the same.
    for p in [&text, &platform] {
        for key in [
            "invocations",
            "cold_starts",
            "duration_ms",
            "init_duration_ms",
            "max_memory_used_mb",
            "memory_size_mb",
        ] {
            assert_eq!(
                p["functions"]["api"][key], json["functions"]["api"][key],
                "{key}"
            );
        }
    }
    assert_eq!(json["functions"]["api"]["invocations"], 60);
}

#[test]
fn several_functions_in_one_export_are_told_apart() {
    // A log group shared by two functions: their log streams carry their names.
    let (_d, out, summary, p) = import(&["tests/fixtures/logs/shared.json"], &[]);
    let functions = p["functions"].as_object().unwrap();
    assert_eq!(
        functions.keys().collect::<Vec<_>>(),
        ["checkout", "search"],
        "{summary}"
    );
    for f in functions.values() {
        assert_eq!(f["invocations"], 250);
        assert!(f["cold_starts"].as_u64().unwrap() > 0);
    }
    let scenario = std::fs::read_to_string(out.join("scenario.toml")).unwrap();
    assert!(scenario.contains("file = \"arrivals/checkout.csv\""));
    assert!(scenario.contains("function.search.provisioned_concurrency"));
    let o = lambda_sim(&["validate", &out.join("scenario.toml").display().to_string()]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // Two files at once merge by time; a JSON document cut short keeps what came before, with a warning.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.json");
    let whole = std::fs::read("tests/fixtures/logs/shared.json").unwrap();
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let o = lambda_sim(&[
        "import",
        "logs",
        &cut.display().to_string(),
        "-o",
        &dir.path().join("o").display().to_string(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("warning: stopped reading"),
        "{}",
        text(&o.stderr)
    );
    let p: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("o/profile.json")).unwrap()).unwrap();
    let starts = p["counts"]["starts"].as_u64().unwrap();
    assert!((100..500).contains(&starts), "{starts}");
}

#[test]
fn messages_without_times_are_profiled_but_not_replayed() {
    // The messages alone, as copied from the console: no time in front of any line.
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("api.log");
    let logged =
        std::fs::read_to_string(root().join("tests/fixtures/logs/formats-text.log")).unwrap();
    let messages: String = logged
        .lines()
        .map(|l| format!("{}\n", l.split_once(' ').unwrap().1))
        .collect();
    std::fs::write(&bare, messages).unwrap();
    let out = dir.path().join("o");
    let o = lambda_sim(&[
        "import",
        "logs",
        &bare.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("60 START lines without a time"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stdout).contains("nothing to replay"),
        "{}",
        text(&o.stdout)
    );
    let p: Value =
        serde_json::from_slice(&std::fs::read(out.join("profile.json")).unwrap()).unwrap();
    assert_eq!(
        (
            p["counts"]["reports"].as_u64(),
            p["counts"]["reports_without_start"].as_u64()
        ),
        (Some(60), Some(0))
    );
    assert_eq!(p["functions"]["api"]["cold_starts"], 12);
    assert!(!out.join("scenario.toml").exists());
}

#[test]
fn bad_arguments_exit_2_naming_the_problem() {
    let o = lambda_sim(&["import", "logs", "no/such.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no/such.log: No such file"),
        "{}",
        text(&o.stderr)
    );
    let o = lambda_sim(&[
        "import",
        "logs",
        "tests/fixtures/logs/orders.log",
        "--reorder-window",
        "2h",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("outside the allowed range 0–1h"),
        "{}",
        text(&o.stderr)
    );
}
