//! Lambda's rules that bound a function besides concurrency, in both drivers and `serve`: the request-rate limit
//! (10 synchronous requests per second per execution environment) and the fixed unreserved minimum; and the
//! `[not_lambda]` switches that lift them, which every report names.

mod common;

use std::path::Path;

use common::serve::{request, serve};
use common::*;
use lambda_sim::model::{ThrottleCause, ThrottleReason};
use lambda_sim::report::RunReport;
use lambda_sim::sim::{RunOptions, run_virtual};

fn virtual_run(path: &Path) -> RunReport {
    let scenario = lambda_sim::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
    let deployment =
        lambda_sim::deploy::deploy(&scenario, &test_cache()).unwrap_or_else(|e| panic!("{e}"));
    let report = run_virtual(&scenario, &deployment, &RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.conservation_ok());
    report
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// 30,000 requests per second of 1 ms handlers, for 3 s: the account's 1,000 environments allow 10,000 a second.
fn jump(not_lambda: &str) -> String {
    let io = root().join("functions/io");
    format!(
        "[simulation]\nduration = \"3s\"\nseed = 3\n{not_lambda}\n\
         [[function]]\nname = \"api\"\ncode = {io:?}\nmemory_mb = 1769\n\n\
         [[traffic]]\nfunction = \"api\"\npattern = \"constant\"\nrate = 30000\n\
         payload = '{{\"calls\":1,\"latency_ms\":1}}'\n"
    )
}

#[test]
fn a_jump_to_30000_requests_per_second_is_held_to_10_per_environment() {
    let dir = tempfile::tempdir().unwrap();
    let r = virtual_run(&write(dir.path(), "jump.toml", &jump("")));
    let f = r.function("api").unwrap();
    let rate = f
        .throttles
        .reason(ThrottleReason::FunctionInvocationRateLimitExceeded);
    assert_eq!(rate, f.throttles.cause(ThrottleCause::RequestRate));
    // A second's worth (10,000) at once, then 10,000 a second: 20,000 in the first second, 10,000 in each after.
    let admitted: Vec<u64> = f.timeline[..3]
        .iter()
        .map(|b| b.arrivals - b.throttles)
        .collect();
    assert!(admitted[0] <= 20_001, "{admitted:?}");
    assert!(
        admitted[1] <= 10_001 && admitted[2] <= 10_001,
        "{admitted:?}"
    );
    assert!(
        (49_000..=51_000).contains(&rate),
        "90,000 arrivals, ~40,000 admitted: {rate} rate throttles"
    );
    assert_eq!(r.not_lambda, Vec::<String>::new());

    // Lifted for an experiment: no request-rate throttle, and the report says it left Lambda's rules.
    let r = virtual_run(&write(
        dir.path(),
        "lifted.toml",
        &jump("[not_lambda]\nrequest_rate_limit = false\n"),
    ));
    let f = r.function("api").unwrap();
    assert_eq!(f.throttles.cause(ThrottleCause::RequestRate), 0);
    assert_eq!(
        r.not_lambda,
        [
            "request_rate_limit = false (Lambda limits synchronous requests to 10 per second per execution \
          environment)"
        ]
    );
    let json = r.to_json();
    assert!(
        json.contains("\"not_lambda\": [\"request_rate_limit = false"),
        "{json}"
    );
    assert!(
        r.summary()
            .contains("\nnot Lambda: request_rate_limit = false")
    );
}

/// The fixture's `orders` (sync) and `events` (async), one run's report.
fn check_request_rate(r: &RunReport, driver: &str) {
    let orders = r.function("orders").unwrap();
    let by_rate = orders.throttles.cause(ThrottleCause::RequestRate);
    assert_eq!(
        by_rate,
        orders
            .throttles
            .reason(ThrottleReason::ReservedFunctionInvocationRateLimitExceeded),
        "{driver}"
    );
    // 100 arrivals in 1 s against 20 at once plus 20/s: at most ~40 pass the rate limit.
    assert!((55..=82).contains(&by_rate), "{driver}: {by_rate}");
    let events = r.function("events").unwrap();
    assert_eq!(
        events.throttles.cause(ThrottleCause::RequestRate),
        0,
        "{driver}: Event invocations have no request-rate limit"
    );
}

#[test]
fn both_drivers_limit_synchronous_requests_per_reserved_environment() {
    let path = root().join("tests/fixtures/lambda-rules/request-rate.toml");
    check_request_rate(&virtual_run(&path), "virtual time");
    let scenario = lambda_sim::scenario::load(&path).unwrap();
    let real = run_realtime(scenario, None);
    assert!(real.conservation_ok());
    check_request_rate(&real, "real time");
}

#[test]
fn serve_answers_429_with_the_rate_limit_reason() {
    let dir = tempfile::tempdir().unwrap();
    let hello = root().join("functions/hello");
    let path = write(
        dir.path(),
        "serve.toml",
        &format!(
            "[simulation]\nduration = \"1h\"\n\n[[function]]\nname = \"hello\"\ncode = {hello:?}\n\
             reserved_concurrency = 1\n"
        ),
    );
    let server = serve(&[path.to_str().unwrap()]);
    let mut ok = 0;
    let mut throttled = Vec::new();
    // One environment: 10 requests at once, then 10 a second. 100 back-to-back requests take well under 9 s, even
    // on a loaded machine, so some are refused.
    for _ in 0..100 {
        let (status, _, body) = request(
            &server.addr,
            "POST",
            "/2015-03-31/functions/hello/invocations",
            &[],
            b"{}",
        );
        match status {
            200 => ok += 1,
            429 => throttled.push(body),
            other => panic!("{other}: {body}"),
        }
    }
    assert!(ok >= 10, "{ok} succeeded");
    assert!(!throttled.is_empty(), "{ok} succeeded, none throttled");
    for body in &throttled {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            v["Reason"], "ReservedFunctionInvocationRateLimitExceeded",
            "{body}"
        );
    }
}

#[test]
fn one_function_may_reserve_all_but_lambdas_minimum_unless_the_scenario_leaves_lambda() {
    let dir = tempfile::tempdir().unwrap();
    let hello = root().join("functions/hello");
    let scenario = |account: &str| {
        format!(
            "[simulation]\nduration = \"10s\"\n{account}\n[[function]]\nname = \"all\"\ncode = {hello:?}\n\
             reserved_concurrency = 10\n\n[[traffic]]\nfunction = \"all\"\npattern = \"constant\"\nrate = 1\n"
        )
    };
    // An account of 10: Lambda keeps all 10 unreserved, so reserving any is refused, and the file cannot say
    // otherwise in [account].
    let text = scenario("[account]\nconcurrency_limit = 10\n");
    let e = lambda_sim::scenario::load(&write(dir.path(), "a.toml", &text)).unwrap_err();
    assert!(
        e.message.contains("reserved_concurrency = 10"),
        "{}",
        e.message
    );
    let text = scenario("[account]\nconcurrency_limit = 10\nunreserved_minimum = 0\n");
    let e = lambda_sim::scenario::load(&write(dir.path(), "b.toml", &text)).unwrap_err();
    assert!(
        e.message
            .contains("Lambda fixes it at min(100, concurrency_limit) = 10"),
        "{}",
        e.message
    );
    // An explicit experiment: allowed, and named in the summary and the JSON.
    let text =
        scenario("[account]\nconcurrency_limit = 10\n[not_lambda]\nunreserved_minimum = 0\n");
    let r = virtual_run(&write(dir.path(), "c.toml", &text));
    assert_eq!(r.function("all").unwrap().outcomes.success, 10);
    assert!(
        r.summary()
            .contains("\nnot Lambda: unreserved_minimum = 0 (Lambda keeps 10)\n"),
        "{}",
        r.summary()
    );
    assert!(
        r.to_json()
            .contains("\"unreserved_minimum = 0 (Lambda keeps 10)\"")
    );
}

/// A spike far beyond the scaling rate from zero (1 s requests, 30,000 a second for 12 s, account 100,000):
/// environments created by the end of each second.
fn environments_by_second(refill: &str) -> Vec<u64> {
    let dir = tempfile::tempdir().unwrap();
    let io = root().join("functions/io");
    let text = format!(
        "[simulation]\nduration = \"12s\"\n\n[account]\nconcurrency_limit = 100000\n{refill}\n\
         [[function]]\nname = \"burst\"\ncode = {io:?}\n\n\
         [[traffic]]\nfunction = \"burst\"\npattern = \"constant\"\nrate = 30000\n\
         payload = '{{\"calls\":1,\"latency_ms\":1000}}'\n\n\
         [not_lambda]\nrequest_rate_limit = false\n"
    );
    let r = virtual_run(&write(dir.path(), "burst.toml", &text));
    let f = r.function("burst").unwrap();
    f.timeline[..12]
        .iter()
        .scan(0, |created, b| {
            *created += b.cold_starts;
            Some(*created)
        })
        .collect()
}

#[test]
fn the_scaling_rate_refills_continuously_by_default_and_stepwise_on_request() {
    // AWS: "refill … continuously over time, rather than in one single refill of 1,000 units every 10 seconds":
    // 1,000 at once, then 100 a second (the last arrival of a second comes 33 µs before its end: one short).
    let continuous = environments_by_second("");
    assert_eq!(continuous[0], 1099, "{continuous:?}");
    assert_eq!(continuous[4], 1499, "{continuous:?}");
    assert_eq!(continuous[9], 1999, "{continuous:?}");
    assert_eq!(continuous[10], 2099, "{continuous:?}");
    // The literal reading: 1,000 more at each 10 s mark.
    let stepwise = environments_by_second("scaling_refill = \"stepwise\"\n");
    assert_eq!(stepwise[0], 1000, "{stepwise:?}");
    assert_eq!(stepwise[9], 1000, "{stepwise:?}");
    assert_eq!(stepwise[10], 2000, "{stepwise:?}");
}
