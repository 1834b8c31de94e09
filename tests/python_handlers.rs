//! Python handlers end to end: Lambda's `lambda_handler(event, context)` built with componentize-py into a handler
//! component (ABI v3) and run by the real binary and the library, with Lambda's context, errors, logs, Init phase,
//! snapshot restore and simulated sleeps.

mod common;

use common::*;
use lambda_sim::sim::{RunOptions, run_virtual};

const ERRORS: &str = "tests/fixtures/python/errors";

#[test]
fn python_hello_gets_lambdas_event_and_context_and_logs_to_the_function_log() {
    let (out, stdout, body) = invoke_json(
        "functions/python-hello",
        &["--payload", r#"{"name": "sim"}"#, "--memory", "256"],
    );
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(body["statusCode"], 200, "{stdout}");
    let inner: serde_json::Value =
        serde_json::from_str(body["body"].as_str().expect("body is a string")).expect("JSON body");
    assert_eq!(inner["message"], "hello, sim");
    // 3 s timeout, a handler that has used well under a millisecond.
    assert_eq!(inner["remaining_ms"], 2999, "{stdout}");
    let start = stdout
        .lines()
        .find(|l| l.starts_with("START RequestId: "))
        .expect("START line");
    let request_id = start
        .trim_start_matches("START RequestId: ")
        .split(' ')
        .next()
        .unwrap_or_default();
    assert!(
        stdout.contains(&format!("hello, sim (request {request_id}, 256 MB)")),
        "print() goes to the function's log with aws_request_id and memory_limit_in_mb: {stdout}"
    );
    assert!(report_line(&stdout).contains("Init Duration: "), "{stdout}");
}

#[test]
fn python_errors_are_the_ones_lambda_reports() {
    // (handler, errorType, a piece of errorMessage, a piece of the stack trace or "" for none)
    let cases: [ErrorCase<'_>; 6] = [
        (
            "lambda_function.raises",
            "PaymentDeclined",
            "card declined for 12",
            r#"File "/var/task/lambda_function.py", line 17, in charge"#,
        ),
        (
            "syntax_error.lambda_handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'syntax_error': expected ':' (syntax_error.py, line 1)",
            r#"File "/var/task/syntax_error.py" Line 1"#,
        ),
        (
            "import_error.lambda_handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'import_error': No module named 'requests_that_are_not_installed'",
            "",
        ),
        (
            "raises_at_import.lambda_handler",
            "KeyError",
            "TABLE_NAME_THAT_IS_NOT_SET",
            r#"File "/var/task/raises_at_import.py", line 3, in <module>"#,
        ),
        (
            "lambda_function.missing",
            "Runtime.HandlerNotFound",
            "Handler 'missing' missing on module 'lambda_function'",
            "",
        ),
        (
            "nodots",
            "Runtime.MalformedHandlerName",
            "Bad handler 'nodots'",
            "",
        ),
    ];
    check_function_errors(ERRORS, &cases, None);
    let (_, stdout, body) = invoke_json(ERRORS, &[]);
    assert_eq!(body["ok"], true, "{stdout}");
    assert_eq!(
        body["memory"], "128",
        "memory_limit_in_mb is a string, as on Lambda"
    );
}

#[test]
fn python_sleeps_are_simulated_waits_in_both_clocks() {
    for body in check_sleeps_are_simulated_waits(ERRORS, "sleeper.lambda_handler") {
        // time.monotonic() reads the same clock the sleep waited on.
        let slept = body["slept"].as_f64().unwrap_or_default();
        assert!((1.0..1.05).contains(&slept), "{body}");
    }
}

#[test]
fn module_scope_code_is_the_init_phase_and_a_snapshot_restores_it() {
    let (_, hello, _) = invoke_json("functions/python-hello", &["--memory", "1024"]);
    let (_, heavy, body) = invoke_json("functions/python-heavy-init", &["--memory", "1024"]);
    let inner: serde_json::Value =
        serde_json::from_str(body["body"].as_str().unwrap_or("{}")).expect("JSON body");
    assert_eq!(inner["primes_below_200k"], 17984, "{heavy}");
    let (hello_init, heavy_init) = (
        init_ms(&hello).expect("init"),
        init_ms(&heavy).expect("init"),
    );
    // Building 100,000 entries and a sieve at import: the init of every cold start, many times hello's.
    assert!(
        heavy_init > 10.0 * hello_init,
        "heavy init {heavy_init} ms vs hello {hello_init} ms"
    );
    // A snapshot runs that init once, at deployment; the cold start restores it.
    let (_, snap, body) = invoke_json(
        "functions/python-heavy-init",
        &["--memory", "1024", "--snapshot"],
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body["body"].as_str().unwrap_or("{}"))
            .expect("JSON body")["score"],
        inner["score"],
        "{snap}"
    );
    let report = report_line(&snap);
    assert!(report.contains("Restore Duration: "), "{snap}");
    assert!(!report.contains("Init Duration: "), "{snap}");
    let snap_init: f64 = snap
        .lines()
        .find_map(|l| l.strip_prefix("INIT_REPORT Init Duration: "))
        .and_then(|v| v.split(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the snapshot's INIT_REPORT");
    assert!(
        (snap_init - heavy_init).abs() < 0.5,
        "the snapshot's init is the same work: {snap_init} vs {heavy_init} ms"
    );
}

#[test]
fn the_python_mitigations_scenario_runs_in_virtual_time_and_matches_real_time_outcomes() {
    let path = root().join("scenarios/mitigations/python-heavy-init.toml");
    let mut scenario = lambda_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let deployment =
        lambda_sim::deploy::deploy(&scenario, &test_cache()).unwrap_or_else(|e| panic!("{e}"));
    let report = run_virtual(&scenario, &deployment, &RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let f = &report.functions[0];
    assert_eq!(f.outcomes.success, 18, "{:?}", f.outcomes);
    assert_eq!(f.cold_starts, 18, "every request 10 minutes apart is cold");
    // A cold start downloads the deployment package — the function's code — not the interpreter the component
    // carries (a Lambda environment has its runtime).
    let code_bytes = f.config.as_ref().map_or(0, |c| c.code_bytes);
    assert!(
        (1..16 * 1024).contains(&code_bytes),
        "package of {code_bytes} bytes"
    );
    // The same function in real time, three quick requests: the same outcomes.
    scenario.simulation.duration_ns = 3_000_000_000;
    scenario.traffic[0].end_ns = 3_000_000_000;
    scenario.traffic[0].pattern = lambda_sim::scenario::Pattern::Constant { rate: 1.0 };
    let real = run_realtime(scenario, None);
    assert_eq!(real.functions[0].outcomes.success, 3);
    assert_eq!(real.functions[0].outcomes.total(), 3);
}

#[test]
fn pure_python_requirements_are_bundled_and_native_extensions_are_refused_at_build_time() {
    let (out, stdout, body) = invoke_json("tests/fixtures/python/deps", &[]);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(body["six"], "1.16.0", "{stdout}");
    assert_eq!(body["text_type"], "str", "{stdout}");

    let out = lambda_sim(&["invoke", "tests/fixtures/python/native-deps"]);
    assert_eq!(out.status.code(), Some(2), "a build error is a usage error");
    let err = text(&out.stderr);
    assert!(
        err.contains("native extension modules, which cannot run in WebAssembly")
            && err.contains("markupsafe/_speedups"),
        "{err}"
    );
}

#[test]
fn a_syntax_error_is_reported_when_the_component_is_built_and_when_it_is_invoked() {
    // A fresh folder (a unique comment in it), so the component is built by this test.
    let dir = tempfile::tempdir().expect("temp dir");
    let source =
        std::fs::read_to_string(root().join(ERRORS).join("syntax_error.py")).expect("fixture");
    let unique = format!("# {:?}\n", std::time::SystemTime::now());
    std::fs::write(dir.path().join("lambda_function.py"), unique + &source).expect("write");
    let code = dir.path().display().to_string();
    let (out, stdout, body) = invoke_json(&code, &[]);
    assert!(
        text(&out.stderr).contains(
            "lambda-sim: warning: lambda_function.py:2:35: expected ':' (the invocation will report Runtime.UserCodeSyntaxError)"
        ),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(body["errorType"], "Runtime.UserCodeSyntaxError", "{stdout}");
}

#[test]
fn a_python_handler_pays_its_interpreters_measured_start_up_not_a_runtime_preset() {
    let dir = tempfile::tempdir().unwrap();
    let code = root().join("functions/python-hello");
    let scenario = |extra: &str| {
        let path = dir.path().join("py.toml");
        std::fs::write(
            &path,
            format!(
                "[simulation]\nduration = \"1h\"\n\n[[function]]\nname = \"py\"\ncode = {code:?}\n\
                 keep_alive = {{ policy = \"none\" }}\n{extra}\n\n\
                 [[traffic]]\nfunction = \"py\"\npattern = \"constant\"\nrate = 0.002\n"
            ),
        )
        .unwrap();
        lambda_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
    };
    // The interpreter runs inside the sandbox: its start-up is the measured init, and no preset is added.
    let s = scenario("");
    let deployment = lambda_sim::deploy::deploy(&s, &test_cache()).unwrap();
    let report = run_virtual(&s, &deployment, &RunOptions::default()).unwrap();
    let l = &report.function("py").unwrap().latency;
    let parts = l.cold_start.unwrap();
    assert!(l.init.count > 0);
    assert_eq!(parts.runtime.max, 0.0, "{parts:?}");
    // Asking for a preset on top would count the start-up twice: refused, naming the function.
    let e = lambda_sim::deploy::deploy(&scenario("runtime = \"python3.12\""), &test_cache())
        .err()
        .expect("refused");
    assert!(
        matches!(
            &e,
            lambda_sim::deploy::DeployError::RuntimeInSandbox { function, setting }
                if function == "py" && setting == "runtime = \"python3.12\""
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("interpreter runs inside the sandbox"),
        "{e}"
    );
    // So would a start-up distribution of one's own.
    let custom =
        "cold_start = { runtime_startup_ms = { distribution = \"constant\", value = 80 } }";
    let e = lambda_sim::deploy::deploy(&scenario(custom), &test_cache())
        .err()
        .expect("refused");
    assert!(
        e.to_string()
            .contains("cold_start.runtime_startup_ms models a runtime's start-up"),
        "{e}"
    );
}

#[test]
fn a_functions_environment_variables_reach_its_handler_beside_lambdas_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("env.toml");
    std::fs::write(
        &file,
        format!(
            "[simulation]\nduration = \"1s\"\n\n[[function]]\nname = \"env\"\ncode = {:?}\nhandler = \"environ.lambda_handler\"\n\
             environment = {{ GREETING = \"hi\", DB_HOST = \"db.internal:5432\" }}\n",
            root().join(ERRORS).display().to_string()
        ),
    )
    .expect("scenario");
    let scenario = lambda_sim::scenario::load(&file).expect("loads");
    let deployment = lambda_sim::deploy::deploy(&scenario, &test_cache()).expect("deploys");
    let sim = lambda_sim::sim::Sim::new(&scenario, &deployment, None).expect("a run");
    let record = sim
        .invoke(
            0,
            bytes::Bytes::from_static(
                br#"{"keys": ["GREETING", "DB_HOST", "AWS_LAMBDA_FUNCTION_NAME", "UNSET"]}"#,
            ),
        )
        .expect("invokes");
    let body: serde_json::Value =
        serde_json::from_slice(&record.report.response).expect("a JSON response");
    assert_eq!(
        body,
        serde_json::json!({
            "GREETING": "hi",
            "DB_HOST": "db.internal:5432",
            "AWS_LAMBDA_FUNCTION_NAME": "env",
            "UNSET": null
        })
    );
}
