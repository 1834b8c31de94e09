//! JavaScript handlers end to end: Lambda's `export const handler = async (event, context) => …` built with
//! componentize-js into a handler component (ABI v3) and run by the real binary, with Lambda's context, errors, logs,
//! Init phase, snapshot restore and simulated timers.

mod common;

use common::*;

const ERRORS: &str = "tests/fixtures/js/errors";

#[test]
fn js_hello_gets_lambdas_event_and_context_and_logs_to_the_function_log() {
    let (out, stdout, body) = invoke_json(
        "functions/js-hello",
        &["--payload", r#"{"name": "sim"}"#, "--memory", "256"],
    );
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(body["statusCode"], 200, "{stdout}");
    let inner: serde_json::Value =
        serde_json::from_str(body["body"].as_str().expect("body is a string")).expect("JSON body");
    assert_eq!(inner["message"], "hello, sim");
    assert_eq!(inner["remaining_ms"], 2999, "{stdout}");
    assert!(
        stdout.contains(", 256 MB)") && stdout.contains("hello, sim (request "),
        "console.log goes to the function's log with awsRequestId and memoryLimitInMB: {stdout}"
    );
    assert!(init_ms(&stdout).is_some(), "{stdout}");
}

#[test]
fn js_errors_are_the_ones_lambda_reports() {
    // (handler, errorType, a piece of errorMessage, a piece of the stack trace or "" for none)
    let cases: [ErrorCase<'_>; 6] = [
        (
            "index.raises",
            "PaymentDeclined",
            "card declined for 12",
            "charge@/var/task/index.mjs",
        ),
        (
            "syntax_error.handler",
            "Runtime.UserCodeSyntaxError",
            "SyntaxError: Unexpected end of file",
            "/var/task/syntax_error.mjs:4",
        ),
        (
            "import_error.handler",
            "Runtime.ImportModuleError",
            "Error: Cannot find package '@aws-sdk/client-s3-that-is-not-installed' imported from /var/task/import_error.mjs",
            "",
        ),
        (
            "throws_at_import.handler",
            "TypeError",
            "TABLE_NAME_THAT_IS_NOT_SET is undefined",
            "/var/task/throws_at_import.mjs",
        ),
        (
            "index.missing",
            "Runtime.HandlerNotFound",
            "index.missing is undefined or not exported",
            "",
        ),
        (
            "nodots",
            "Runtime.MalformedHandlerName",
            "Bad handler nodots",
            "",
        ),
    ];
    check_function_errors(ERRORS, &cases, Some("lambda_sim_runtime.js"));
    let (_, stdout, body) = invoke_json(ERRORS, &[]);
    assert_eq!(body["ok"], true, "{stdout}");
    assert_eq!(
        body["memory"], "128",
        "memoryLimitInMB is a string, as on Lambda"
    );
    let (_, stdout, body) = invoke_json(ERRORS, &["--handler", "index.callback"]);
    assert_eq!(body["waited"], true, "a callback-style handler: {stdout}");
}

#[test]
fn js_timers_are_simulated_waits_in_both_clocks() {
    check_sleeps_are_simulated_waits(ERRORS, "index.sleeper");
}

#[test]
fn js_module_scope_code_is_the_init_phase_and_a_snapshot_restores_it() {
    let (_, hello, _) = invoke_json("functions/js-hello", &["--memory", "1024"]);
    let (_, heavy, body) = invoke_json("functions/js-heavy-init", &["--memory", "1024"]);
    let inner: serde_json::Value =
        serde_json::from_str(body["body"].as_str().unwrap_or("{}")).expect("JSON body");
    assert_eq!(inner["primes_below_200k"], 17984, "{heavy}");
    let (hello_init, heavy_init) = (
        init_ms(&hello).expect("init"),
        init_ms(&heavy).expect("init"),
    );
    assert!(
        heavy_init > 10.0 * hello_init,
        "heavy init {heavy_init} ms vs hello {hello_init} ms"
    );
    let (_, snap, body) = invoke_json(
        "functions/js-heavy-init",
        &["--memory", "1024", "--snapshot"],
    );
    let restored: serde_json::Value =
        serde_json::from_str(body["body"].as_str().unwrap_or("{}")).expect("JSON body");
    assert_eq!(restored["score"], inner["score"], "{snap}");
    let report = report_line(&snap);
    assert!(report.contains("Restore Duration: "), "{snap}");
    assert!(!report.contains("Init Duration: "), "{snap}");
}
