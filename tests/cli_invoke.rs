//! `lambda-sim invoke` end to end: the real binary, a real guest crate built from functions/, Lambda's log lines.

mod common;

use std::process::Output;

use common::*;

fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

/// Checks a REPORT line's shape and returns its fields.
fn report_fields(line: &str) -> Vec<(String, String)> {
    assert!(line.starts_with("REPORT RequestId: "), "{line}");
    assert!(line.ends_with('\t'), "REPORT ends with a tab: {line:?}");
    line.trim_end_matches('\t')
        .split('\t')
        .map(|f| {
            let (k, v) = f.split_once(": ").unwrap_or_else(|| panic!("field {f:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn hello_repeat_3_shows_one_cold_and_two_warm_reports() {
    let out = lambda_sim(&[
        "invoke",
        "functions/hello",
        "--payload",
        r#"{"name":"x"}"#,
        "--repeat",
        "3",
    ]);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Vec<_> = text.lines().filter(|l| l.starts_with("REPORT")).collect();
    assert_eq!(reports.len(), 3, "{text}");
    let keys = |l: &str| {
        report_fields(l)
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(reports[0]),
        [
            "REPORT RequestId",
            "Duration",
            "Billed Duration",
            "Memory Size",
            "Max Memory Used",
            "Init Duration"
        ]
    );
    for warm in &reports[1..] {
        assert_eq!(
            keys(warm),
            [
                "REPORT RequestId",
                "Duration",
                "Billed Duration",
                "Memory Size",
                "Max Memory Used"
            ]
        );
    }
    for r in &reports {
        let f = report_fields(r);
        assert!(f[1].1.ends_with(" ms") && f[2].1.ends_with(" ms"), "{r}");
        assert_eq!(f[3].1, "128 MB");
    }
    // Each invocation: START, the guest's log line, END, REPORT, then the response.
    let starts = text
        .lines()
        .filter(|l| l.starts_with("START RequestId: ") && l.ends_with(" Version: $LATEST"));
    assert_eq!(starts.count(), 3);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("END RequestId: "))
            .count(),
        3
    );
    assert_eq!(
        text.lines()
            .filter(|l| *l == r#"{"message":"Hello, x!"}"#)
            .count(),
        3,
        "{text}"
    );
    // Request ids differ, and each START/END/REPORT triple shares one.
    let ids: Vec<_> = reports
        .iter()
        .map(|r| report_fields(r)[0].1.clone())
        .collect();
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    assert!(text.contains(&format!("END RequestId: {}", ids[2])));
}

#[test]
fn stateful_counts_only_within_one_sandbox() {
    let out = lambda_sim(&["invoke", "functions/stateful", "--repeat", "3"]);
    assert!(out.status.success());
    let responses: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let counts: Vec<_> = responses
        .iter()
        .map(|r| r["invocation"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 2, 3]);
    let ids: Vec<_> = responses.iter().map(|r| r["sandbox_id"].clone()).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one sandbox serves all warm invocations"
    );
}

#[test]
fn virtual_runs_are_identical() {
    let a = lambda_sim(&["invoke", "functions/io", "--repeat", "2", "--seed", "9"]);
    let b = lambda_sim(&["invoke", "functions/io", "--repeat", "2", "--seed", "9"]);
    assert!(a.status.success());
    assert_eq!(stdout(&a), stdout(&b));
    // io waits 3 × 50 ms in virtual time: the duration shows it without the test sleeping.
    assert!(stdout(&a).contains("Duration: 150."), "{}", stdout(&a));
}

#[test]
fn a_timeout_reports_status_and_exits_1_then_the_next_invocation_is_cold() {
    let out = lambda_sim(&[
        "invoke",
        "tests/fixtures/toolkit.wat",
        "--payload",
        r#""loop""#,
        "--timeout",
        "1",
        "--repeat",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let reports: Vec<_> = text.lines().filter(|l| l.starts_with("REPORT")).collect();
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert!(
            r.contains("\tDuration: 1000.00 ms\t") && r.ends_with("\tStatus: timeout\t"),
            "{r}"
        );
        assert!(
            r.contains("Init Duration"),
            "the sandbox was reset, so every invocation is cold: {r}"
        );
    }
    assert!(
        text.contains(r#""errorType":"Sandbox.Timedout","errorMessage":"RequestId: "#),
        "{text}"
    );
    assert!(
        text.contains(" Error: Task timed out after 1.00 seconds\"}"),
        "{text}"
    );
}

#[test]
fn a_crash_reports_error_type() {
    let out = lambda_sim(&["invoke", "tests/fixtures/trap.wat"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("\tStatus: error\tError Type: Runtime.ExitError\t"),
        "{text}"
    );
    assert!(
        text.contains("Runtime exited with error: wasm trap: integer divide by zero"),
        "{text}"
    );
}

#[test]
fn a_failed_init_logs_init_report_and_retries_init_inside_the_invocation() {
    let out = lambda_sim(&["invoke", "tests/fixtures/init-fails.wat"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<_> = text.lines().collect();
    assert!(
        lines[0].starts_with("INIT_REPORT Init Duration: "),
        "{text}"
    );
    assert!(
        lines[0].contains("\tPhase: init\tStatus: error\tError Type: ConfigError\t"),
        "{text}"
    );
    let report = lines.iter().find(|l| l.starts_with("REPORT")).unwrap();
    assert!(
        !report.contains("Init Duration"),
        "a suppressed init is part of Duration: {report}"
    );
    assert!(
        text.contains(r#"{"errorType":"ConfigError","errorMessage":"DATABASE_URL is not set"}"#)
    );
}

#[test]
fn usage_and_load_errors_exit_2_with_a_clear_message() {
    for (args, expected) in [
        (
            vec!["invoke", "functions/nope"],
            "functions/nope: no such file or directory",
        ),
        (
            vec!["invoke", "tests/fixtures/noop.wat", "--memory", "64"],
            "--memory: memory size 64 MB is outside Lambda's range 128–10240 MB",
        ),
        (
            vec!["invoke", "tests/fixtures/noop.wat", "--timeout", "901"],
            "--timeout: timeout 901 s is outside Lambda's range 1–900 s",
        ),
        (
            vec!["invoke", "tests/fixtures/noop.wat", "--payload", "{oops"],
            "--payload: not valid JSON (line 1, column 2)",
        ),
        (
            vec!["invoke", "tests/fixtures/missing-handle.wat"],
            "missing-handle.wat does not export `handle`",
        ),
        (
            vec![
                "invoke",
                "tests/fixtures/noop.wat",
                "--payload",
                "@/nonexistent.json",
            ],
            "--payload @/nonexistent.json: No such file",
        ),
        (vec!["invoke"], "required arguments were not provided"),
    ] {
        let out = lambda_sim(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
}

/// Builds `functions/c-hello/hello.c` with clang as its comment and docs/abi.md say (CI installs clang and lld).
fn build_c_hello() -> std::path::PathBuf {
    let out = root().join("target/c-hello");
    std::fs::create_dir_all(&out).expect("target/c-hello");
    let wasm = out.join("hello.wasm");
    let cc = std::env::var("CC_WASM").unwrap_or_else(|_| "clang".into());
    let built = std::process::Command::new(&cc)
        .args([
            "--target=wasm32",
            "-O2",
            "-nostdlib",
            "-Wl,--no-entry",
            "-o",
        ])
        .arg(&wasm)
        .arg(root().join("functions/c-hello/hello.c"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {cc} (install clang and lld; CC_WASM names another clang): {e}")
        });
    assert!(
        built.status.success(),
        "{cc} failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    wasm
}

#[test]
fn a_c_handler_built_with_clang_runs_and_keeps_its_state_warm() {
    let wasm = build_c_hello();
    let wasm = wasm.to_str().expect("utf-8 path");
    let out = lambda_sim(&[
        "invoke",
        wasm,
        "--payload",
        r#"{"name":"C"}"#,
        "--repeat",
        "2",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    // Init output comes before the first START; memory and globals persist across warm invocations.
    assert_eq!(lines[0], "init: C handler ready", "{text}");
    assert!(lines[1].starts_with("START RequestId: "), "{text}");
    assert!(
        text.contains("{\"message\":\"Hello, C!\",\"invocation\":1}\n"),
        "{text}"
    );
    assert!(
        text.contains("{\"message\":\"Hello, C!\",\"invocation\":2}\n"),
        "{text}"
    );
    // No payload: the handler reads `{}`.
    let out = lambda_sim(&["invoke", wasm]);
    assert!(
        stdout(&out).ends_with("{\"message\":\"Hello, world!\",\"invocation\":1}\n"),
        "{}",
        stdout(&out)
    );
    // The recipe docs/abi.md gives is the one the example uses.
    let abi = std::fs::read_to_string(root().join("docs/abi.md")).expect("docs/abi.md");
    let c = std::fs::read_to_string(root().join("functions/c-hello/hello.c")).expect("hello.c");
    let directive = c
        .lines()
        .find(|l| l.starts_with("__asm__(\".section"))
        .expect("hello.c declares its ABI with a top-level asm directive");
    assert!(abi.contains(directive), "docs/abi.md lacks {directive}");
}
