//! Simulated downstream services end to end in virtual time: `scenarios/db-connections.toml` measured against its
//! opening comment (per-sandbox connections exhausted at 100, a proxy pool of 20 with no errors); calls of
//! simultaneous handlers reaching the services model in virtual-time order (a pool of one serializes them); the
//! errors a handler sees (refused connection, unknown service, a call past the deadline) with their types and
//! messages; reproducibility; and ABI v2's import rules.
//!
//! Runs go through the library as `lambda-sim run` does (load, deploy, `run_virtual`). Error messages are read from
//! async destination records, which carry the function's error body.

mod common;

use std::path::Path;

use common::*;
use lambda_sim::report::{RunReport, ServiceReport};
use lambda_sim::sandbox::CodeCache;
use lambda_sim::scenario::Scenario;
use lambda_sim::sim::{RunOptions, run_virtual};
use serde_json::Value;

fn run(scenario: &Scenario) -> (RunReport, tempfile::TempDir) {
    let cache = test_cache();
    let deployment = lambda_sim::deploy::deploy(scenario, &cache).unwrap_or_else(|e| panic!("{e}"));
    let out = tempfile::tempdir().expect("tempdir");
    let options = RunOptions {
        out_dir: Some(out.path().to_path_buf()),
        ..RunOptions::default()
    };
    let report = run_virtual(scenario, &deployment, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.conservation_ok(), "conservation");
    (report, out)
}

/// A scenario written next to the fixtures (so `../../functions/…` finds the handlers).
fn scenario(text: &str) -> Scenario {
    let path = root().join("tests/fixtures/services-test.toml");
    lambda_sim::scenario::parse(text, &path).unwrap_or_else(|e| panic!("{e}"))
}

fn service<'a>(r: &'a RunReport, name: &str) -> &'a ServiceReport {
    r.services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

/// The invocation records of an async destination.
fn records(out: &Path, destination: &str) -> Vec<Value> {
    let path = out
        .join("destinations")
        .join(format!("{destination}.jsonl"));
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn db_connections_example_exhausts_100_connections_per_sandbox_and_none_behind_a_proxy_of_20() {
    let file = lambda_sim::scenario::load_file(&root().join("scenarios/db-connections.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let by_name = |name: &str| {
        let v = file
            .variants
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no variant {name}"));
        run(&v.scenario).0
    };
    let per_sandbox = by_name("per-sandbox");
    let proxy = by_name("proxy");
    let invocations = per_sandbox.total.outcomes.invoked();
    assert_eq!(invocations, proxy.total.outcomes.invoked(), "same traffic");

    // Per-sandbox: one connection per environment, at most 100; every refused query fails its invocation.
    let db = service(&per_sandbox, "db");
    assert_eq!(db.connections, "per_sandbox");
    assert_eq!(db.calls, invocations, "one query per request");
    assert_eq!(db.peak_connections, 100);
    assert!(db.refused > 100, "the spike is refused: {db:?}");
    assert_eq!(db.answered + db.refused, db.calls);
    assert_eq!(per_sandbox.total.outcomes.function_error, db.refused);
    assert_eq!(db.waited_calls, 0, "per-sandbox connections never queue");

    // Proxy: the database sees at most the pool; queries wait instead of failing.
    let db = service(&proxy, "db");
    assert_eq!(db.connections, "proxy");
    assert_eq!((db.refused, db.timed_out, db.errors), (0, 0, 0), "{db:?}");
    assert_eq!(db.answered, invocations);
    assert_eq!(db.peak_connections, 20);
    assert!(db.peak_client_connections > 100, "{db:?}");
    assert!(db.waited_calls > 0 && db.max_wait_ms > 100.0, "{db:?}");
    assert_eq!(proxy.total.outcomes.function_error, 0);
    assert!(
        proxy.total.latency.all.p99 > per_sandbox.total.latency.all.p99,
        "waiting for a pool connection shows in p99"
    );
}

/// Ten requests arrive together; every handler calls a service with a constant 100 ms latency behind a pool of one
/// connection. Calls must reach the model in virtual-time order, so they run one after another: the n-th waits
/// (n − 1) × 100 ms, and the last invocation takes about a second.
#[test]
fn a_pool_of_one_serializes_simultaneous_calls_in_virtual_time() {
    let s = scenario(
        r#"
[simulation]
duration = "10s"

[[function]]
name = "api"
code = "../../functions/db-query"
timeout = "5s"
cold_start = { placement_ms = { distribution = "constant", value = 50 } }
# Every cold start the same length: no runtime start-up drawn.
runtime = "none"

[[service]]
name = "db"
latency_ms = { distribution = "constant", value = 100 }
connections = { model = "proxy", pool = 1 }

[[traffic]]
function = "api"
pattern = "spike"
count = 10
window = "1ms"
"#,
    );
    let (r, _out) = run(&s);
    let db = service(&r, "db");
    assert_eq!((db.calls, db.answered, db.peak_connections), (10, 10, 1));
    assert_eq!(db.waited_calls, 9, "all but the first wait");
    // Arrivals are spread over 1 ms and cold starts take the same time: the last call waits 900 ms (± 1 ms).
    assert!(
        (898.5..=901.0).contains(&db.max_wait_ms),
        "max wait {}",
        db.max_wait_ms
    );
    assert!(
        (998.5..=1001.0).contains(&db.latency_ms.max),
        "slowest call {:?}",
        db.latency_ms
    );
    let f = r.function("api").expect("api");
    assert_eq!(f.outcomes.success, 10);
    assert!(
        f.latency.all.max >= 1000.0 && f.latency.all.max < 1400.0,
        "slowest invocation {:?}",
        f.latency.all
    );
}

/// The errors a handler sees, as the function's error body (read back from failure records): a refused connection,
/// a service not declared, and a call whose answer comes after the deadline (a timeout at the deadline).
#[test]
fn refused_unknown_and_late_calls_fail_the_invocation_with_clear_errors() {
    let s = scenario(
        r#"
[simulation]
duration = "2s"

[[function]]
name = "api"
code = "../../functions/db-query"
timeout = "1s"
event_invoke_config = { maximum_retry_attempts = 0, on_failure = "failed" }

[[service]]
name = "db"
latency_ms = { distribution = "constant", value = 50 }
connections = { model = "per_sandbox", limit = 3 }

[[service]]
name = "slow"
latency_ms = { distribution = "constant", value = 3000 }

[[traffic]]
function = "api"
pattern = "spike"
count = 5
window = "1ms"
invocation = "event"
payload = '{"queries":1}'

[[traffic]]
function = "api"
pattern = "spike"
start = "1500ms"
count = 1
window = "1ms"
invocation = "event"
payload = '{"service":"cache"}'

[[traffic]]
function = "api"
pattern = "spike"
start = "1500ms"
count = 1
window = "1ms"
invocation = "event"
payload = '{"service":"slow"}'
"#,
    );
    let (r, out) = run(&s);
    let db = service(&r, "db");
    assert_eq!((db.calls, db.answered, db.refused), (5, 3, 2));
    assert_eq!(db.peak_connections, 3);
    let failures = records(out.path(), "failed");
    let errors: Vec<(String, String)> = failures
        .iter()
        .map(|r| {
            let p = &r["responsePayload"];
            (
                p["errorType"].as_str().unwrap_or_default().to_owned(),
                p["errorMessage"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let count = |t: &str, m: &str| {
        errors
            .iter()
            .filter(|(et, em)| et == t && em.contains(m))
            .count()
    };
    assert_eq!(
        count(
            "ServiceConnectionError",
            "service `db` refused the connection: too many connections (limit 3)"
        ),
        2,
        "{errors:?}"
    );
    assert_eq!(
        count(
            "UnknownServiceError",
            "no service named `cache` (declared: db, slow)"
        ),
        1,
        "{errors:?}"
    );
    assert_eq!(
        count("Sandbox.Timedout", "Task timed out after 1.00 seconds"),
        1,
        "{errors:?}"
    );
    assert_eq!(failures.len(), 4);
    let f = r.function("api").expect("api");
    assert_eq!(
        (
            f.outcomes.success,
            f.outcomes.function_error,
            f.outcomes.timeout
        ),
        (3, 3, 1)
    );
}

#[test]
fn runs_with_services_are_reproducible() {
    let file = lambda_sim::scenario::load_file(&root().join("scenarios/db-connections.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let proxy = &file
        .variants
        .iter()
        .find(|v| v.name == "proxy")
        .expect("proxy variant")
        .scenario;
    let a = run(proxy).0.to_json();
    let b = run(proxy).0.to_json();
    assert!(a == b, "two runs of one scenario and seed differ");
    assert!(a.contains("\"services\": {"), "services in the JSON report");
}

#[test]
fn abi_v1_modules_may_not_import_service_call() {
    let engine = engine();
    let wat = r#"(module
  (import "lambda" "service_call" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "handle") (result i32) i32.const 0)
  (@custom "lambda-sim-abi" "1"))"#;
    let err = lambda_sim::sandbox::FunctionCode::from_bytes(
        &engine,
        &CodeCache::in_memory(),
        "v1.wat",
        wat.as_bytes(),
    )
    .err()
    .expect("refused");
    assert_eq!(
        err.to_string(),
        "v1.wat imports `lambda.service_call`, which needs handler ABI version 2, but declares version 1 (see docs/abi.md)"
    );
    let v2 = wat.replace("\"1\"))", "\"2\"))");
    assert!(
        lambda_sim::sandbox::FunctionCode::from_bytes(
            &engine,
            &CodeCache::in_memory(),
            "v2.wat",
            v2.as_bytes()
        )
        .is_ok(),
        "ABI v2 provides service_call"
    );
}

/// The same rules on the wall clock (`run_realtime`): a pool of 2 serves 6 simultaneous 1-second queries in three
/// waves (4 of them wait), and a database allowing 1 connection refuses the other 2 of 3 simultaneous sandboxes.
/// Assertions are about counts, never about how long anything took.
#[test]
fn services_work_in_real_time() {
    let path = root().join("tests/fixtures/rt-services.toml");
    let scenario = lambda_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let r = run_realtime(scenario, None);
    assert!(r.conservation_ok());
    let db = service(&r, "db");
    assert_eq!(
        (db.calls, db.answered, db.refused, db.timed_out),
        (6, 6, 0, 0)
    );
    assert_eq!(db.peak_connections, 2);
    assert_eq!(db.waited_calls, 4, "{db:?}");
    let api = r.function("api").expect("api");
    assert_eq!(api.outcomes.success, 6);
    let small = service(&r, "small");
    assert_eq!(
        (small.calls, small.answered, small.refused),
        (3, 1, 2),
        "{small:?}"
    );
    assert_eq!(small.peak_connections, 1);
    let reports = r.function("reports").expect("reports");
    assert_eq!(
        (reports.outcomes.success, reports.outcomes.function_error),
        (1, 2)
    );
}

/// The example from the command line: the comparison's services table, `--json` with each variant's services
/// (counts, percentiles and the latency histogram), `--html` with a services section.
#[test]
fn the_cli_reports_services_in_the_table_json_and_html() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (json, html) = (dir.path().join("out.json"), dir.path().join("out.html"));
    let out = lambda_sim(&[
        "run",
        "scenarios/db-connections.toml",
        "--json",
        json.to_str().expect("utf-8 path"),
        "--html",
        html.to_str().expect("utf-8 path"),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("services (refused: no connection"),
        "{stdout}"
    );
    let row = |variant: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(variant) && l.contains(" db "))
            .unwrap_or_else(|| panic!("no services row for {variant}: {stdout}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // variant, service, calls, refused, gave up, errors, peak db, waited, p50, p99
    assert_eq!(row("per-sandbox")[3..5], ["646", "0"]);
    assert_eq!(row("per-sandbox")[6], "100");
    assert_eq!(row("proxy")[3..7], ["0", "0", "0", "20"]);

    let v: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("json");
    let runs = v["runs"].as_array().expect("runs");
    let db = |i: usize| &runs[i]["report"]["services"]["db"];
    assert_eq!(db(0)["connections"], "per_sandbox");
    assert_eq!(db(0)["limit"], 100);
    assert_eq!(db(0)["refused"], 646);
    assert_eq!(db(1)["connections"], "proxy");
    assert_eq!(db(1)["peak_connections"], 20);
    assert_eq!(db(1)["latency_ms"]["count"], db(1)["calls"]);
    let hist = db(1)["latency_histogram"].as_str().expect("histogram");
    assert!(hist.len() > 20 && hist.starts_with("HISTFAA"), "{hist}");
    // The timeline: aligned with the run's, every call in it, connections peaking where the totals say.
    for (i, run) in runs.iter().enumerate() {
        let t = &db(i)["timeline"];
        let column = |k: &str| -> Vec<u64> {
            t[k].as_array()
                .expect("column")
                .iter()
                .map(|x| x.as_u64().expect("count"))
                .collect()
        };
        let buckets = run["report"]["timeline"]["buckets"].as_u64();
        assert_eq!(Some(column("calls").len() as u64), buckets);
        assert_eq!(column("calls").iter().sum::<u64>(), 2818);
        assert_eq!(
            column("failed").iter().sum::<u64>(),
            db(i)["refused"].as_u64().unwrap_or(0) + db(i)["timed_out"].as_u64().unwrap_or(0)
        );
        assert_eq!(
            column("connections").iter().max().copied(),
            db(i)["peak_connections"].as_u64()
        );
        // Nothing before the spike at 60 s needs many connections.
        assert!(column("connections")[..59].iter().all(|c| *c < 20), "{t}");
    }
    // Per-sandbox: the 100 connections stay open after the spike, held by idle environments.
    let per_sandbox = db(0)["timeline"]["connections"]
        .as_array()
        .expect("column")
        .clone();
    assert!(
        per_sandbox[90..150].iter().all(|c| c == 100),
        "{per_sandbox:?}"
    );

    let page = std::fs::read_to_string(&html).expect("html written");
    let section = &page[page
        .find("<section id=\"services\">")
        .expect("services section")..];
    assert!(section.contains("<td>proxy (20)</td>"), "{section}");
    assert!(section.contains("<td>per_sandbox (100)</td>"), "{section}");
    assert!(
        section.contains("data-chart=\"service-connections\""),
        "{section}"
    );
    assert!(
        section.contains("data-chart=\"service-waiting\""),
        "{section}"
    );
    // Drawn data: a step line per variant in the connections chart (axes and ticks have 2 points).
    let chart = &section[section.find("service-connections").expect("chart")..];
    let chart = &chart[..chart.find("</figure>").expect("figure closes")];
    let data_lines = chart
        .split("<polyline")
        .skip(1)
        .filter(|p| {
            p.split("points=\"")
                .nth(1)
                .is_some_and(|pts| pts.split(' ').count() > 4)
        })
        .count();
    assert!(data_lines >= 2, "{data_lines} data lines");
}
