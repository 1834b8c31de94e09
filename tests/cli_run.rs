//! `lambda-sim run` and `validate` through the real binary: summary, JSON and hlog files, determinism, exit codes.

mod common;

use common::*;

#[test]
fn run_writes_identical_json_and_a_readable_hlog() {
    let dir = tempfile::tempdir().unwrap();
    let json = |n: &str| dir.path().join(format!("{n}.json")).display().to_string();
    let hlog = dir.path().join("a.hlog").display().to_string();
    let a = lambda_sim(&[
        "run",
        "scenarios/spike-throttle.toml",
        "--json",
        &json("a"),
        "--hlog",
        &hlog,
    ]);
    assert!(a.status.success(), "{}", text(&a.stderr));
    let summary = text(&a.stdout);
    assert!(
        summary.contains("ReservedFunctionConcurrentInvocationLimitExceeded"),
        "{summary}"
    );
    assert!(summary.contains("conservation"), "{summary}");
    let b = lambda_sim(&[
        "run",
        "scenarios/spike-throttle.toml",
        "--json",
        &json("b"),
        "--quiet",
    ]);
    assert!(b.status.success());
    assert!(b.stdout.is_empty(), "--quiet prints nothing");
    let (ja, jb) = (
        std::fs::read(json("a")).unwrap(),
        std::fs::read(json("b")).unwrap(),
    );
    assert_eq!(ja, jb, "same scenario and seed: byte-identical JSON");
    let v: serde_json::Value = serde_json::from_slice(&ja).unwrap();
    assert_eq!(v["seed"], 3);
    assert_eq!(v["mode"], "virtual");
    let orders = &v["functions"]["orders"];
    for key in ["arrivals", "cold_starts", "warm_starts", "peak_concurrency"] {
        assert!(orders[key].is_u64(), "{key}");
    }
    assert!(orders["outcomes"]["throttled"].as_u64().unwrap() > 0);
    assert!(orders["latency_ms"]["cold"]["p99"].is_number());
    assert!(orders["cost_usd"]["total"].as_f64().unwrap() > 0.0);
    assert!(
        orders["histograms"]["all"]
            .as_str()
            .unwrap()
            .starts_with("HIST")
    );
    // The interval log: header lines, then "start,length,max,histogram" rows.
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(log.lines().any(|l| l.starts_with("#[StartTime: ")), "{log}");
    assert!(log.lines().filter(|l| l.starts_with("Tag=orders,")).count() > 10);
    let c = lambda_sim(&[
        "run",
        "scenarios/spike-throttle.toml",
        "--json",
        &json("c"),
        "--seed",
        "99",
        "-q",
    ]);
    assert!(c.status.success());
    assert_ne!(
        std::fs::read(json("c")).unwrap(),
        ja,
        "--seed changes the run"
    );
}

#[test]
fn validate_accepts_every_example_scenario() {
    let mut args = vec!["validate".to_string()];
    for entry in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            args.push(path.display().to_string());
        }
    }
    assert!(args.len() >= 7);
    let out = lambda_sim(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| l.contains(": ok"))
            .count(),
        args.len() - 1
    );
}

#[test]
fn config_errors_exit_2_naming_file_line_field_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[simulation]\nduration = \"1m\"\n\n[[function]]\nname = \"api\"\ncode = \"functions/hello\"\nmemory_mb = 64\n",
    )
    .unwrap();
    for cmd in ["validate", "run"] {
        let out = lambda_sim(&[cmd, path.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains(&format!("{}:7:", path.display())), "{err}");
        assert!(
            err.contains("memory_mb = 64") && err.contains("128–10240"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    std::fs::write(&path, "[simulation]\nduration = \"1m\"\nspeed = 3\n").unwrap();
    let err = text(&lambda_sim(&["validate", path.to_str().unwrap()]).stderr);
    assert!(
        err.contains(":3:") && err.contains("speed"),
        "unknown fields are rejected: {err}"
    );
}

/// `run -q` on a scenario with a guest crate whose module is up to date: no cargo, nothing on stderr, nothing
/// written into the guest's workspace.
#[test]
fn an_up_to_date_guest_crate_is_not_rebuilt_and_quiet_runs_print_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("hello.toml");
    std::fs::write(
        &scenario,
        format!(
            "[simulation]\nduration = \"2s\"\n\n[[function]]\nname = \"hello\"\ncode = {:?}\n\n[[traffic]]\nfunction = \"hello\"\npattern = \"constant\"\nrate = 5\n",
            root().join("functions/hello").display().to_string()
        ),
    )
    .expect("scenario");
    let scenario = scenario.to_str().expect("utf-8 path");
    let workspace_module = root().join("functions/target/wasm32-wasip1/release/hello.wasm");
    let modified = || {
        std::fs::metadata(&workspace_module)
            .and_then(|m| m.modified())
            .ok()
    };
    let before = modified();
    // Whatever state the module is in, this run makes an up-to-date one (building it into the cache if needed).
    let first = lambda_sim(&["run", "-q", scenario]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    // A `cargo` that fails: the second run must not call it.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let fake = bin.join("cargo");
    std::fs::write(&fake, "#!/bin/sh\necho cargo was called >&2\nexit 1\n").expect("fake cargo");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-sim"))
        .current_dir(root())
        .env(
            "LAMBDA_SIM_CACHE_DIR",
            root().join("target/lambda-sim-test-cache"),
        )
        .env("PATH", path)
        .args(["run", "-q", scenario])
        .output()
        .expect("runs");
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(text(&second.stderr), "", "-q prints nothing");
    assert_eq!(text(&second.stdout), "", "-q prints nothing");
    assert_eq!(
        modified(),
        before,
        "the guest's own target/ was not written"
    );
}
