//! The lab from the command line: `lambda-sim run` on a file with `[[variant]]`s (the comparison table, `--json`,
//! the same bytes whatever `--jobs`) and `lambda-sim sweep` (its optimum, and `--set` mistakes refused with exit
//! code 2 and a message naming the argument).

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

const WARMERS: &str = "scenarios/mitigations/warmers.toml";
const LAB_CPU: &str = "tests/fixtures/lab-cpu.toml";

fn both(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn ok(args: &[&str]) -> Output {
    let out = lambda_sim(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", both(&out));
    out
}

fn json_file(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).expect("the --json file is written");
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {}", text(&bytes)))
}

/// The line of `section` (text after a line starting with `heading`) whose first word is `name`.
fn row<'a>(stdout: &'a str, heading: &str, name: &str) -> &'a str {
    let start = stdout
        .find(heading)
        .unwrap_or_else(|| panic!("no `{heading}`:\n{stdout}"));
    stdout[start..]
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} under `{heading}`:\n{stdout}"))
}

#[test]
fn run_with_variants_prints_one_comparison_table_with_every_variant() {
    let out = ok(&["run", WARMERS]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("lambda-sim · scenario \"warmers\" · seed 5 · virtual · 10800 s simulated · 2 variants\n"),
        "{stdout}"
    );
    // What each variant changed.
    assert!(
        stdout.contains("  no-warmer: the file as written\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  warmer: function.api.warmer.concurrency = 2, function.api.warmer.every = \"5m\"\n"
        ),
        "{stdout}"
    );
    // Latency table: the warmer variant's 18 cold starts of 34 requests, with a Δ row against the first.
    let header = row(&stdout, "latency, ms", "cold");
    for col in [
        "cold %",
        "p50",
        "p99",
        "p99.9",
        "cold p50",
        "cold p99",
        "cold p99.9",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        row(&stdout, "latency, ms", "no-warmer").len() > 20,
        "{stdout}"
    );
    let warmer = row(&stdout, "latency, ms", "warmer");
    assert_eq!(
        warmer.split_whitespace().nth(1),
        Some("52.94"),
        "18/34 cold: {warmer}"
    );
    assert!(row(&stdout, "latency, ms", "Δ").contains(" pt"), "{stdout}");
    // Counts and cost: same invocations, 72 pings for the warmer.
    let counts = row(&stdout, "counts and cost", "warmer");
    let cells: Vec<&str> = counts.split_whitespace().collect();
    assert_eq!(&cells[1..5], ["34", "72", "0", "0"], "{counts}");
    let none = row(&stdout, "counts and cost", "no-warmer");
    assert_eq!(none.split_whitespace().nth(2), Some("0"), "{none}");
    assert!(
        stdout.contains("Δ: change against \"no-warmer\""),
        "{stdout}"
    );
}

#[test]
fn run_with_variants_json_holds_every_variants_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("warmers.json");
    let out = ok(&["run", WARMERS, "-q", "--json", file.to_str().unwrap()]);
    assert!(out.stdout.is_empty(), "quiet: {}", both(&out));
    let v = json_file(&file);
    assert_eq!(v["scenario"], "warmers");
    assert_eq!(v["seed"], 5);
    let runs = v["runs"].as_array().expect("runs");
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["no-warmer", "warmer"]);
    assert_eq!(runs[0]["overrides"], serde_json::json!([]));
    assert_eq!(
        runs[1]["overrides"],
        serde_json::json!([
            "function.api.warmer.concurrency = 2",
            "function.api.warmer.every = \"5m\""
        ])
    );
    for r in runs {
        let api = &r["report"]["functions"]["api"];
        assert_eq!(api["arrivals"], 34, "{}", r["name"]);
        assert_eq!(r["report"]["scenario"], "warmers");
        assert!(r["report"]["total"]["cost_usd"]["total"].as_f64().unwrap() > 0.0);
    }
    let warmer = &runs[1]["report"]["functions"]["api"];
    assert_eq!(warmer["cold_starts"], 18);
    assert_eq!(warmer["pings"]["sent"], 72);
    assert_eq!(runs[0]["report"]["functions"]["api"]["pings"]["sent"], 0);
}

#[test]
fn parallel_runs_give_the_same_bytes_as_sequential_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = |name: &str, extra: &[&str], sweep: bool| {
        let file = dir.path().join(name);
        let mut args: Vec<&str> = if sweep {
            vec![
                "sweep",
                LAB_CPU,
                "--set",
                "function.cpu.memory_mb=128,1769",
                "--set",
                "traffic.0.rate=1,2",
            ]
        } else {
            vec!["run", "scenarios/mitigations/provisioned-window.toml"]
        };
        args.extend(["-q", "--json", file.to_str().unwrap()]);
        args.extend(extra);
        ok(&args);
        std::fs::read(&file).expect("written")
    };
    // Four variants, one at a time and two at a time.
    let one = json("pw-1.json", &["--jobs", "1"], false);
    let two = json("pw-2.json", &["--jobs", "2"], false);
    assert!(one == two, "run: --jobs 1 and --jobs 2 differ");
    let v: serde_json::Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 4);
    // The seed does change it, so equality above is not vacuous.
    let other = json("pw-seed.json", &["--jobs", "2", "--seed", "99"], false);
    assert!(other != one, "--seed 99 gives other arrivals");

    // A 2 × 2 sweep grid, likewise.
    let one = json("sw-1.json", &["--jobs", "1"], true);
    let two = json("sw-2.json", &["--jobs", "2"], true);
    assert!(one == two, "sweep: --jobs 1 and --jobs 2 differ");
    let v: serde_json::Value = serde_json::from_slice(&one).unwrap();
    let names: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "memory_mb=128 rate=1",
            "memory_mb=128 rate=2",
            "memory_mb=1769 rate=1",
            "memory_mb=1769 rate=2"
        ]
    );
}

#[test]
fn sweep_json_names_the_optimum_of_each_strategy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sweep = |strategy: &str| {
        let file = dir.path().join(format!("{strategy}.json"));
        let out = ok(&[
            "sweep",
            LAB_CPU,
            "--set",
            "function.cpu.memory_mb=128,1769,3008",
            "--strategy",
            strategy,
            "--json",
            file.to_str().unwrap(),
        ]);
        (text(&out.stdout), json_file(&file))
    };
    let (stdout, v) = sweep("balanced");
    assert_eq!(v["sweep"]["optimum"], "memory_mb=1769");
    assert_eq!(v["sweep"]["strategy"], "balanced, weight 0.5 on cost");
    assert_eq!(
        v["sweep"]["sets"],
        serde_json::json!(["function.cpu.memory_mb=128,1769,3008"])
    );
    // The points only: the file's own variants are not part of a sweep.
    let names: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["memory_mb=128", "memory_mb=1769", "memory_mb=3008"]);
    assert_eq!(
        v["runs"][2]["overrides"],
        serde_json::json!(["function.cpu.memory_mb = 3008"])
    );
    assert!(
        stdout.contains("optimum (balanced, weight 0.5 on cost): memory_mb=1769 — p99 "),
        "{stdout}"
    );
    // The cheapest is the smallest; the fastest two tie on p99 and the cheaper wins.
    assert_eq!(sweep("cost").1["sweep"]["optimum"], "memory_mb=128");
    assert_eq!(sweep("speed").1["sweep"]["optimum"], "memory_mb=1769");
}

#[test]
fn sweep_refuses_bad_set_arguments_with_exit_code_2_naming_the_argument() {
    let cases: [(&str, &str); 5] = [
        (
            "function.nope.memory_mb=128",
            "error: --set function.nope.memory_mb=128: function \"nope\" is not declared (declared: cpu)",
        ),
        (
            "function.cpu.memory_mb=128,20000",
            "error: --set function.cpu.memory_mb=20000: function \"cpu\": memory_mb = 20000 is outside Lambda's range 128–10240 MB",
        ),
        (
            "memory_mb=128",
            "error: --set memory_mb=128: key `memory_mb` must be function.<name>.<setting>, account.<setting>, traffic.<index>.<setting>, queue.<name>.<setting>, event_source.<index>.<setting>, service.<name>.<setting> or trace.<setting>",
        ),
        (
            "function.cpu.memory_mb",
            "error: --set function.cpu.memory_mb: expected KEY=V1,V2,…",
        ),
        (
            "traffic.3.rate=1",
            "error: --set traffic.3.rate=1: traffic.3 must name a [[traffic]] block by its 0-based index, 0–0",
        ),
    ];
    for (set, message) in cases {
        let out = lambda_sim(&["sweep", LAB_CPU, "--set", set]);
        assert_eq!(out.status.code(), Some(2), "--set {set}: {}", both(&out));
        let stderr = text(&out.stderr);
        assert!(
            stderr.lines().any(|l| l.starts_with(message)),
            "--set {set}: expected `{message}`:\n{}",
            both(&out)
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty(), "no table: {}", both(&out));
    }
    // A weight outside [0, 1].
    let out = lambda_sim(&[
        "sweep",
        LAB_CPU,
        "--set",
        "function.cpu.memory_mb=128,256",
        "--weight",
        "1.5",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("--weight 1.5 is outside the allowed range [0, 1]"),
        "{}",
        both(&out)
    );
}
