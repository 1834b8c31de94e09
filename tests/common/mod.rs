//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod serve;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use lambda_sim::sandbox::{
    CallLimits, ClockMode, CodeCache, EngineOptions, FunctionCode, InitializationType, Invocation,
    RequestId, SandboxConfig, SandboxEngine, SandboxError,
};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(format!("{name}.wat"))
}

pub fn engine() -> SandboxEngine {
    SandboxEngine::new(EngineOptions { max_sandboxes: 16 }).expect("engine")
}

pub fn load(engine: &SandboxEngine, name: &str) -> Result<FunctionCode, SandboxError> {
    FunctionCode::load_file(engine, &CodeCache::in_memory(), &fixture(name))
}

/// Builds (if needed) and loads a guest crate under functions/.
pub fn load_guest(engine: &SandboxEngine, name: &str) -> FunctionCode {
    let wasm =
        lambda_sim::guest::resolve(&root().join("functions").join(name)).expect("guest builds");
    FunctionCode::load_file(engine, &CodeCache::in_memory(), &wasm).expect("guest loads")
}

pub fn config(memory_mb: u64, clock: ClockMode) -> SandboxConfig {
    SandboxConfig {
        function_name: "test".into(),
        handler: None,
        memory_mb,
        ps_per_fuel: lambda_sim::cpu::DEFAULT_PS_PER_FUEL,
        seed: 7,
        clock,
        initialization_type: InitializationType::OnDemand,
        services: None,
        environment: Vec::new(),
    }
}

pub fn event(json: &str) -> Invocation {
    Invocation {
        request_id: RequestId::from_random(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        event: Bytes::from(json.to_string()),
    }
}

/// A call on a virtual-time sandbox without services: it never suspends, so it completes when first polled.
pub fn now<F: std::future::Future>(call: F) -> F::Output {
    lambda_sim::sandbox::complete_now(call).expect("a virtual-time sandbox call completes at once")
}

/// A call on a real-time sandbox, on a tokio runtime (its waits sleep and its guest yields).
pub fn in_tokio<F: std::future::Future>(call: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(call)
}

pub fn limits(timeout_s: u64) -> CallLimits {
    CallLimits {
        timeout_ns: timeout_s * 1_000_000_000,
        start_ns: 0,
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// Runs the `lambda-sim` binary from the repository root, with the tests' code cache.
pub fn lambda_sim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lambda-sim"))
        .current_dir(root())
        .env(
            "LAMBDA_SIM_CACHE_DIR",
            root().join("target/lambda-sim-test-cache"),
        )
        .args(args)
        .output()
        .expect("runs")
}

/// Builds (if needed) a guest crate under functions/ and returns its .wasm path.
pub fn guest_wasm(name: &str) -> PathBuf {
    lambda_sim::guest::resolve(&root().join("functions").join(name)).expect("guest builds")
}

/// The code cache every test shares: modules compiled by one test binary are loaded by the others.
pub fn test_cache() -> CodeCache {
    CodeCache::on_disk(root().join("target/lambda-sim-test-cache"))
}

/// Deploys `scenario` and replays it in real time (`run_realtime`), async destinations' records under `out`.
pub fn run_realtime(
    scenario: lambda_sim::scenario::Scenario,
    out: Option<PathBuf>,
) -> lambda_sim::report::RunReport {
    let deployment =
        lambda_sim::deploy::deploy(&scenario, &test_cache()).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime
        .block_on(lambda_sim::live::run_realtime(scenario, deployment, out))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `lambda-sim invoke CODE ARGS…`: the output, its stdout, and the last line as JSON (the response or error body).
pub fn invoke_json(code: &str, args: &[&str]) -> (std::process::Output, String, serde_json::Value) {
    let mut all = vec!["invoke", code];
    all.extend_from_slice(args);
    let out = lambda_sim(&all);
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().to_string();
    let body = serde_json::from_str(&last).unwrap_or_else(|e| {
        panic!(
            "last line is not JSON ({e}): {stdout}\n{}",
            text(&out.stderr)
        )
    });
    (out, stdout, body)
}

/// The (first) REPORT line of an invoke's output.
pub fn report_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.starts_with("REPORT"))
        .unwrap_or_else(|| panic!("no REPORT line: {stdout}"))
}

/// The Init Duration of the first REPORT line, ms.
pub fn init_ms(stdout: &str) -> Option<f64> {
    report_line(stdout)
        .split('\t')
        .find_map(|f| f.strip_prefix("Init Duration: "))
        .and_then(|v| v.trim_end_matches(" ms").parse().ok())
}

/// Invokes `handler` of `code` — one that sleeps `event.seconds` (Python's `time.sleep`, a JS timer) and returns
/// `{"before", "after"}`, the remaining time around the sleep — in both clocks: a 1 s sleep is a wait of 1 s, a
/// 15 s sleep a timeout at the 3 s timeout. Returns the 1 s invocations' bodies, virtual time first.
pub fn check_sleeps_are_simulated_waits(code: &str, handler: &str) -> Vec<serde_json::Value> {
    let mut bodies = Vec::new();
    for mode in ["virtual", "realtime"] {
        let sleep = |seconds: u32| {
            let payload = format!(r#"{{"seconds": {seconds}}}"#);
            invoke_json(
                code,
                &["--handler", handler, "--payload", &payload, "--mode", mode],
            )
        };
        let (_, stdout, body) = sleep(1);
        let before = body["before"].as_i64().unwrap_or_default();
        let after = body["after"].as_i64().unwrap_or_default();
        assert!(before >= 2990, "{mode}: {stdout}");
        assert!((990..=1010).contains(&(before - after)), "{mode}: {stdout}");
        bodies.push(body);
        // Past the timeout: a timeout at 3 s, in virtual time without sleeping.
        let (_, stdout, body) = sleep(15);
        assert_eq!(body["errorType"], "Sandbox.Timedout", "{mode}: {stdout}");
        assert!(
            report_line(&stdout).contains("Duration: 3000.00 ms"),
            "{mode}: {stdout}"
        );
    }
    bodies
}

/// One error case of a handler fixture: (handler setting, errorType, a piece of errorMessage, a piece of one
/// stack-trace frame or "" for an error without a stack trace).
pub type ErrorCase<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Invokes each case's handler of `code` and checks the error body Lambda would return, and the REPORT's Error Type;
/// with `runtime_file`, that no frame of the trace is the runtime's own.
pub fn check_function_errors(code: &str, cases: &[ErrorCase<'_>], runtime_file: Option<&str>) {
    for &(handler, error_type, message, frame) in cases {
        let (out, stdout, body) = invoke_json(
            code,
            &["--handler", handler, "--payload", r#"{"amount": 12}"#],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "a function error: {handler}: {stdout}"
        );
        assert_eq!(body["errorType"], error_type, "{handler}: {stdout}");
        let got = body["errorMessage"].as_str().unwrap_or_default();
        assert!(got.contains(message), "{handler}: {got:?}");
        let trace: Vec<&str> = body["stackTrace"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|frame| frame.as_str())
            .collect();
        if frame.is_empty() {
            assert!(body.get("stackTrace").is_none(), "{handler}: {stdout}");
        } else {
            assert!(
                trace.iter().any(|f| f.contains(frame)),
                "{handler}: {trace:?}"
            );
            if let Some(runtime) = runtime_file {
                assert!(
                    !trace.iter().any(|f| f.contains(runtime)),
                    "the runtime's own frames are not the user's: {trace:?}"
                );
            }
        }
        assert!(
            report_line(&stdout).contains(&format!("Error Type: {error_type}")),
            "{handler}: {stdout}"
        );
    }
}
