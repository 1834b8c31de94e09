//! Event sources end to end in virtual time: the examples of `scenarios/events/` checked against what their opening
//! comments promise; every async event and every SQS message ending exactly once in a scenario with errors,
//! timeouts, throttles, expiry and redrive; reserved concurrency 0; and reproducibility of reports and records.
//!
//! Runs go through the library as `lambda-sim run --out DIR` does (load, deploy, `run_virtual` with an output
//! directory), so the destination records can be read back. Conservation is checked against figures the report does
//! not derive from each other: destination records (one per event, by request id), the queue's depth timeline, the
//! function's own invocation counts.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use lambda_sim::report::{AsyncReport, FunctionReport, QueueReport, RunReport};
use lambda_sim::scenario::Scenario;
use lambda_sim::sim::{RunOptions, run_virtual};
use serde_json::Value;

const S: u64 = 1_000_000_000;

fn example(name: &str) -> PathBuf {
    root().join("scenarios/events").join(format!("{name}.toml"))
}

fn fixture_toml(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(format!("{name}.toml"))
}

fn load(path: &Path) -> Scenario {
    lambda_sim::scenario::load(path).unwrap_or_else(|e| panic!("{e}"))
}

/// A finished run: its report and the output directory holding the destination records.
struct Run {
    report: RunReport,
    out: tempfile::TempDir,
}

impl Run {
    fn function(&self, name: &str) -> &FunctionReport {
        self.report
            .function(name)
            .unwrap_or_else(|| panic!("no function {name}"))
    }

    fn queue(&self, name: &str) -> &QueueReport {
        self.report
            .queues
            .iter()
            .find(|q| q.name == name)
            .unwrap_or_else(|| panic!("no queue {name}"))
    }

    /// The lines of `<out>/destinations/<name>.jsonl` (none if the file was never written).
    fn lines(&self, destination: &str) -> Vec<String> {
        let path = self
            .out
            .path()
            .join("destinations")
            .join(format!("{destination}.jsonl"));
        match std::fs::read_to_string(&path) {
            Ok(text) => text.lines().map(str::to_owned).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }

    /// The invocation records of a destination, each parsed.
    fn records(&self, destination: &str) -> Vec<Value> {
        self.lines(destination)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

fn run_scenario(scenario: &Scenario) -> Run {
    let cache = test_cache();
    let deployment = lambda_sim::deploy::deploy(scenario, &cache).unwrap_or_else(|e| panic!("{e}"));
    let out = tempfile::tempdir().expect("tempdir");
    let options = RunOptions {
        out_dir: Some(out.path().to_path_buf()),
        ..RunOptions::default()
    };
    let report = run_virtual(scenario, &deployment, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.conservation_ok(),
        "{}: conservation",
        report.scenario
    );
    Run { report, out }
}

fn async_of(f: &FunctionReport) -> &AsyncReport {
    f.async_events
        .as_ref()
        .unwrap_or_else(|| panic!("{} had Event invocations", f.name))
}

fn share(part: u64, whole: u64) -> f64 {
    part as f64 / whole as f64
}

/// Asserts `x` is within `tolerance` of `want`.
fn near(what: &str, x: f64, want: f64, tolerance: f64) {
    assert!(
        (x - want).abs() <= tolerance,
        "{what}: {x:.4}, expected {want} ± {tolerance}"
    );
}

fn condition(r: &Value) -> &str {
    r["requestContext"]["condition"]
        .as_str()
        .unwrap_or_default()
}

fn invoke_count(r: &Value) -> u64 {
    r["requestContext"]["approximateInvokeCount"]
        .as_u64()
        .unwrap_or_else(|| panic!("approximateInvokeCount in {r}"))
}

/// Checks the fields every invocation record has, in Lambda's shape.
fn check_record_shape(r: &Value, function: &str) {
    assert_eq!(r["version"], "1.0", "{r}");
    let ts = r["timestamp"].as_str().unwrap_or_default();
    assert!(
        ts.len() == 24 && ts.starts_with("2026-01-01T") && ts.ends_with('Z'),
        "timestamp {ts}"
    );
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST");
    assert_eq!(r["requestContext"]["functionArn"], arn.as_str(), "{r}");
    let id = r["requestContext"]["requestId"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(id.len(), 36, "request id {id}");
}

/// The request ids of `records`, asserting none repeats.
fn unique_ids(records: &[&Value]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for r in records {
        let id = r["requestContext"]["requestId"]
            .as_str()
            .unwrap_or_default();
        assert!(ids.insert(id.to_owned()), "request id {id} recorded twice");
    }
    ids
}

/// The depth (visible + in flight) at the end of the run, from the queue's timeline.
fn final_depth(q: &QueueReport) -> u64 {
    q.timeline.last().map_or(0, |b| b.depth)
}

// ---- async-retries.toml ------------------------------------------------------------------------------------------

/// The example with an on-success destination added: it only adds records (results are unchanged, see
/// `every_examples_report_and_records_are_reproducible`), so each event's attempt count can be read back.
fn async_retries() -> Run {
    let mut scenario = load(&example("async-retries"));
    scenario.functions[0].event_invoke_config.on_success = Some("ok-events".into());
    run_scenario(&scenario)
}

#[test]
fn async_retries_deliver_70_21_6_percent_and_dead_letter_2_7_percent() {
    let run = async_retries();
    let f = run.function("worker");
    let a = async_of(f);
    let n = a.enqueued;
    // Poisson, 20/s for 600 s: 12,000 ± 110 (1 σ); ±550 is 5 σ.
    assert!((11_450..=12_550).contains(&n), "{n} events");
    assert_eq!(a.pending_at_end, 0, "every event ended");
    assert_eq!(
        a.failed_event_age_exceeded, 0,
        "retries are well within 6 h"
    );
    assert_eq!(a.failed_zero_reserved_concurrency, 0);

    // Each attempt fails independently with p = 0.3, with 2 retries. Tolerances are about 5 σ of a binomial share
    // over ~12,000 events (σ = 0.42, 0.37, 0.22 and 0.15 points): a run passes unless the model is off — e.g.
    // one retry instead of two would fail 9 % of events, three retries 0.8 %.
    near(
        "first attempt",
        share(a.delivered_first_attempt, n),
        0.70,
        0.02,
    );
    near(
        "after retries",
        share(a.delivered_after_retries, n),
        0.21 + 0.063,
        0.018,
    );
    near(
        "retries exhausted",
        share(a.failed_retries_exhausted, n),
        0.027,
        0.0075,
    );

    // The callers never see an error and nothing is throttled: each event is dispatched at once.
    assert_eq!(f.throttles.total(), 0);
    assert_eq!(a.queue_delay_ms.max, 0.0, "dispatched on enqueue");
    // Attempts: one per event, plus one per function error that was retried (all but each event's third).
    let errors = f.outcomes.invoked() - f.outcomes.success;
    assert_eq!(a.attempts, n + errors - a.failed_retries_exhausted);
    assert_eq!(a.attempts, f.arrivals, "each attempt is an invocation");
    assert_eq!(
        f.outcomes.success,
        a.delivered_first_attempt + a.delivered_after_retries
    );
    // Retries come 60 s after the first attempt and 120 s after the second: an event that fails for good ends
    // 180 s + 3 × 50 ms after it was enqueued.
    let latest = a.event_latency_ms.max;
    assert!((180_150.0..180_500.0).contains(&latest), "{latest} ms");
    assert!(
        run.report.end_ns <= 600 * S + 181 * S,
        "{}",
        run.report.end_ns
    );

    // The on-success records split the delivered events by attempt: 70 %, 21 %, 6.3 %.
    let ok = run.records("ok-events");
    assert_eq!(
        ok.len() as u64,
        a.delivered_first_attempt + a.delivered_after_retries
    );
    let by_attempts = |k: u64| ok.iter().filter(|r| invoke_count(r) == k).count() as u64;
    assert_eq!(by_attempts(1), a.delivered_first_attempt);
    assert_eq!(by_attempts(2) + by_attempts(3), a.delivered_after_retries);
    near("second attempt", share(by_attempts(2), n), 0.21, 0.015);
    near("third attempt", share(by_attempts(3), n), 0.063, 0.01);
    for r in &ok {
        check_record_shape(r, "worker");
        assert_eq!(condition(r), "Success", "{r}");
        assert_eq!(r["responseContext"]["statusCode"], 200, "{r}");
        assert!(r["responseContext"].get("functionError").is_none(), "{r}");
        assert_eq!(
            r["responsePayload"]["ok"], true,
            "the handler's response: {r}"
        );
    }

    // The on-failure destination has exactly one record per exhausted event.
    let failed = run.records("failed-events");
    assert_eq!(failed.len() as u64, a.failed_retries_exhausted);
    for r in &failed {
        check_record_shape(r, "worker");
        assert_eq!(condition(r), "RetriesExhausted", "{r}");
        assert_eq!(invoke_count(r), 3, "{r}");
        assert_eq!(
            r["requestPayload"],
            serde_json::json!({"fail_rate": 0.3, "work_ms": 50}),
            "the request payload: {r}"
        );
        assert_eq!(r["responseContext"]["statusCode"], 200, "{r}");
        assert_eq!(r["responseContext"]["functionError"], "Unhandled", "{r}");
    }

    // Every event is in exactly one of the two files, and every attempt that ran is counted in one record.
    let all: Vec<&Value> = ok.iter().chain(&failed).collect();
    assert_eq!(unique_ids(&all).len() as u64, n);
    let counted: u64 = all.iter().map(|r| invoke_count(r)).sum();
    assert_eq!(counted, f.outcomes.invoked());
}

#[test]
fn failure_records_carry_the_functions_error_as_response_payload() {
    let run = run_scenario(&load(&example("async-retries")));
    let failed = run.records("failed-events");
    assert!(!failed.is_empty());
    for r in &failed {
        // [S28]: the record of a failed event carries the last attempt's error.
        assert_eq!(r["responsePayload"]["errorType"], "FlakyError", "{r}");
        let message = r["responsePayload"]["errorMessage"]
            .as_str()
            .unwrap_or_default();
        assert!(message.starts_with("simulated failure: draw 0."), "{r}");
    }
}

// ---- sqs-buffering.toml ------------------------------------------------------------------------------------------

#[test]
fn sqs_buffering_absorbs_the_spike_without_throttling_and_drains_to_zero() {
    let run = run_scenario(&load(&example("sqs-buffering")));
    let r = &run.report;
    assert_eq!(r.timeline_bucket_ns, S, "1-second buckets");
    let f = run.function("worker");
    let q = run.queue("orders");

    // Producers only talk to SQS: every message is accepted, and the function is never throttled.
    assert_eq!(q.sent, 5000);
    assert_eq!(f.throttles.total(), 0);
    assert_eq!(f.outcomes.throttled, 0);
    assert!(f.timeline.iter().all(|b| b.throttles == 0));
    assert!(f.async_events.is_none());
    // Reserved concurrency 10 (and maximum_concurrency 10) caps the batches in flight.
    assert_eq!(f.peak_concurrency, 10);

    // Every message is received once and deleted once: deleted = received = sent and the queue ends empty.
    assert_eq!(q.deleted, 5000);
    assert_eq!(q.received, 5000, "no message was delivered twice");
    assert_eq!((q.redriven, q.expired, q.remaining), (0, 0, 0));
    assert_eq!(final_depth(q), 0);
    assert_eq!(q.message_latency_ms.count, 5000);
    assert_eq!(q.batches, f.arrivals, "one invocation per batch");
    assert_eq!(q.batch_size.count, q.batches);
    assert_eq!(q.batch_size.p50, 10.0);
    assert_eq!(f.outcomes.success, f.arrivals, "every batch succeeds");

    // The depth: 0 before the spike at 60 s, rising to its peak at the end of the 10-s spike, then falling
    // without ever rising again, to 0, where it stays.
    let depth: Vec<u64> = q.timeline.iter().map(|b| b.depth).collect();
    assert!(depth[..60].iter().all(|&d| d == 0), "{:?}", &depth[..60]);
    let peak_at = (0..depth.len())
        .max_by_key(|&i| (depth[i], usize::MAX - i))
        .unwrap_or(0);
    assert!((60..=70).contains(&peak_at), "peak at {peak_at} s");
    assert_eq!(q.peak_depth, depth[peak_at]);
    assert!(
        (4000..=5000).contains(&q.peak_depth),
        "peak depth {}",
        q.peak_depth
    );
    assert!(
        depth[60..=peak_at].windows(2).all(|w| w[0] <= w[1]),
        "rises"
    );
    assert!(
        depth[peak_at..].windows(2).all(|w| w[0] >= w[1]),
        "then only falls"
    );
    let empty_at = depth
        .iter()
        .skip(peak_at)
        .position(|&d| d == 0)
        .map(|i| i + peak_at);
    let empty_at = empty_at.expect("the queue drains");
    assert!(depth[empty_at..].iter().all(|&d| d == 0), "and stays empty");
    assert!(empty_at <= 180, "drained by {empty_at} s");

    // Poller scaling: the mapping starts with 5 concurrent batches (10 × 100 ms = 1 s each: 50 messages/s) and,
    // after a minute of backlog, reaches its maximum concurrency of 10 (100 messages/s).
    let deleted =
        |from: usize, to: usize| q.timeline[from..to].iter().map(|b| b.deleted).sum::<u64>();
    let concurrency = |from: usize, to: usize| {
        f.timeline[from..to]
            .iter()
            .map(|b| b.max_concurrency)
            .max()
            .unwrap_or(0)
    };
    // (A batch takes slightly more than 1 s, so a bucket boundary may fall either side of a batch's end.)
    assert_eq!(concurrency(75, 115), 5);
    let slow = deleted(75, 115);
    assert!((1950..=2050).contains(&slow), "{slow} deleted in 40 s");
    assert_eq!(concurrency(125, 135), 10);
    let fast = deleted(125, 135);
    assert!((970..=1030).contains(&fast), "{fast} deleted in 10 s");

    // Latency is queueing: a message waits for the ones before it, up to about 70 s for the last ones, far more
    // than the 1 s a batch takes; the later half of the spike waits longer than the earlier half.
    let lat = &q.message_latency_ms;
    assert!(lat.p50 > 20_000.0, "p50 {} ms", lat.p50);
    assert!(
        lat.p99 > 1.3 * lat.p50,
        "p99 {} vs p50 {}",
        lat.p99,
        lat.p50
    );
    assert!(
        (60_000.0..90_000.0).contains(&lat.max),
        "max {} ms",
        lat.max
    );
}

// ---- poison-message.toml -----------------------------------------------------------------------------------------

#[test]
fn poison_message_is_redriven_after_three_receives_and_the_rest_flow() {
    let run = run_scenario(&load(&example("poison-message")));
    let f = run.function("worker");
    let orders = run.queue("orders");
    let dlq = run.queue("orders-dlq");

    assert_eq!(orders.redriven, 1);
    assert_eq!(
        orders.deleted,
        orders.sent - 1,
        "every other message is deleted"
    );
    assert_eq!((orders.expired, orders.remaining), (0, 0));
    assert_eq!(final_depth(orders), 0);
    // The poison message was received max_receive_count = 3 times; every other message once.
    assert_eq!(orders.received, orders.deleted + 3);
    assert!(orders.sent > 5000, "{} sent", orders.sent);

    // The dead-letter queue holds it at the end (nothing reads it).
    assert_eq!(dlq.sent, 1);
    assert_eq!((dlq.remaining, dlq.deleted, dlq.received), (1, 0, 0));
    assert_eq!(final_depth(dlq), 1);
    // Sent at 60 s, received at 60, 90 and 120 s (30 s visibility timeout), redriven at the next receive, 150 s.
    let moved_at = dlq.timeline.iter().position(|b| b.depth == 1);
    assert!(
        moved_at.is_some_and(|t| (150..=152).contains(&t)),
        "{moved_at:?}"
    );

    // A partial batch response is a successful invocation: no function errors, no throttles.
    assert_eq!(f.outcomes.success, f.arrivals);
    assert_eq!(f.outcomes.invoked() - f.outcomes.success, 0);
    assert_eq!(f.throttles.total(), 0);
    assert_eq!(orders.batches, f.arrivals);
}

// ---- conservation with errors, timeouts and throttles --------------------------------------------------------------

#[test]
fn every_event_and_message_ends_exactly_once_despite_errors_timeouts_and_throttles() {
    let run = run_scenario(&load(&fixture_toml("events-conservation")));

    // Async: errors, timeouts and throttles all happened, and events ended in every way.
    let f = run.function("async-worker");
    let a = async_of(f);
    assert!(
        f.outcomes.function_error > 0 && f.outcomes.timeout > 0,
        "{:?}",
        f.outcomes
    );
    assert!(f.throttles.total() > 0, "throttled attempts");
    assert!(
        a.delivered_first_attempt > 0 && a.delivered_after_retries > 0,
        "{a:?}"
    );
    assert!(
        a.failed_retries_exhausted > 0 && a.failed_event_age_exceeded > 0,
        "{a:?}"
    );
    assert_eq!(
        a.pending_at_end, 0,
        "the run goes on until every event ended"
    );
    assert_eq!(a.ended(), a.enqueued);
    assert_eq!(
        a.attempts + f.outcomes.throttled,
        f.arrivals,
        "every dispatch is an attempt that ran or a throttle"
    );

    // Each event has exactly one record: the delivered ones in `delivered`, the failed ones in `failed`.
    let delivered = run.records("delivered");
    let failed = run.records("failed");
    assert_eq!(
        delivered.len() as u64,
        a.delivered_first_attempt + a.delivered_after_retries
    );
    let failed_with = |c: &str| failed.iter().filter(|r| condition(r) == c).count() as u64;
    assert_eq!(failed_with("RetriesExhausted"), a.failed_retries_exhausted);
    assert_eq!(failed_with("EventAgeExceeded"), a.failed_event_age_exceeded);
    assert_eq!(
        failed.len() as u64,
        a.failed_retries_exhausted + a.failed_event_age_exceeded
    );
    let all: Vec<&Value> = delivered.iter().chain(&failed).collect();
    assert_eq!(
        unique_ids(&all).len() as u64,
        a.enqueued,
        "one record per event"
    );
    for r in &all {
        check_record_shape(r, "async-worker");
    }
    // maximum_retry_attempts = 1: at most two attempts ran for any event; exhausted ones ran exactly two.
    assert!(all.iter().all(|r| invoke_count(r) <= 2));
    assert!(
        failed
            .iter()
            .filter(|r| condition(r) == "RetriesExhausted")
            .all(|r| invoke_count(r) == 2)
    );
    // Every attempt that ran (success, error, timeout) is counted in exactly one event's record; throttled
    // dispatches are not invocations.
    let counted: u64 = all.iter().map(|r| invoke_count(r)).sum();
    assert_eq!(counted, f.outcomes.invoked());
    assert_eq!(a.attempts, counted, "attempts are the invocations that ran");

    // SQS: whole-batch failures, timeouts and throttles; messages deleted, redriven and expired.
    let w = run.function("batch-worker");
    let jobs = run.queue("jobs");
    let dlq = run.queue("jobs-dlq");
    assert!(
        w.outcomes.function_error > 0 && w.outcomes.timeout > 0,
        "{:?}",
        w.outcomes
    );
    assert!(
        w.throttles.total() > 0,
        "the mapping outran reserved concurrency 2"
    );
    assert_eq!(w.peak_concurrency, 2);
    assert!(
        jobs.deleted > 0 && jobs.redriven > 0 && jobs.expired > 0,
        "{jobs:?}"
    );
    // Remaining is read from the depth timeline, not derived from the other counters.
    assert_eq!(
        final_depth(jobs),
        0,
        "the run goes on until the polled queue is empty"
    );
    assert_eq!(
        jobs.deleted + jobs.redriven + jobs.expired + final_depth(jobs),
        jobs.sent
    );
    assert_eq!(jobs.remaining, final_depth(jobs));
    assert_eq!(jobs.message_latency_ms.count, jobs.deleted);
    assert!(
        jobs.received > jobs.deleted,
        "failed batches are received again"
    );
    assert_eq!(
        jobs.batches, w.arrivals,
        "every batch is an invocation or a throttle"
    );
    // Redriven messages live on in the dead-letter queue, which nothing reads.
    assert_eq!(dlq.sent, jobs.redriven);
    assert_eq!(final_depth(dlq), dlq.sent);
    assert_eq!((dlq.remaining, dlq.deleted, dlq.expired), (dlq.sent, 0, 0));
}

#[test]
fn queue_delay_has_one_sample_per_event_whose_first_attempt_ran() {
    let run = run_scenario(&load(&fixture_toml("events-conservation")));
    let a = async_of(run.function("async-worker"));
    let started = run
        .records("delivered")
        .iter()
        .chain(&run.records("failed"))
        .filter(|r| invoke_count(r) >= 1)
        .count() as u64;
    assert_eq!(a.queue_delay_ms.count, started);
}

// ---- reserved concurrency 0 ----------------------------------------------------------------------------------------

#[test]
fn reserved_concurrency_zero_fails_every_event_at_once_without_an_attempt() {
    let run = run_scenario(&load(&fixture_toml("events-reserved-zero")));
    let f = run.function("paused");
    let a = async_of(f);
    // Poisson, 5/s for 60 s: 300 ± 17.
    assert!((200..=400).contains(&a.enqueued), "{} events", a.enqueued);
    assert_eq!(a.failed_zero_reserved_concurrency, a.enqueued);
    assert_eq!(a.ended(), a.enqueued);
    assert_eq!(a.attempts, 0);
    assert_eq!(a.event_latency_ms.max, 0.0, "failed on arrival");
    assert_eq!(a.event_latency_ms.count, a.enqueued);
    // The function never ran and was never even asked: no invocation, no throttle, no environment.
    assert_eq!(f.arrivals, 0);
    assert_eq!(f.outcomes.total(), 0);
    assert_eq!(f.sandboxes.created, 0);

    assert!(run.lines("ok").is_empty(), "nothing delivered");
    let dropped = run.records("dropped");
    assert_eq!(dropped.len() as u64, a.enqueued);
    let refs: Vec<&Value> = dropped.iter().collect();
    assert_eq!(unique_ids(&refs).len() as u64, a.enqueued);
    for r in &dropped {
        check_record_shape(r, "paused");
        assert_eq!(condition(r), "ZeroReservedConcurrency", "{r}");
        assert_eq!(invoke_count(r), 0, "{r}");
        assert_eq!(
            r["requestPayload"],
            serde_json::json!({"fail_rate": 0, "order": 42})
        );
        assert!(r.get("responseContext").is_none(), "no response: {r}");
        assert!(r.get("responsePayload").is_none(), "no response: {r}");
    }
}

// ---- determinism ---------------------------------------------------------------------------------------------------

#[test]
fn every_examples_report_and_records_are_reproducible() {
    for name in ["async-retries", "sqs-buffering", "poison-message"] {
        let scenario = load(&example(name));
        let first = run_scenario(&scenario);
        let second = run_scenario(&scenario);
        assert_eq!(
            first.report.to_json(),
            second.report.to_json(),
            "{name}: the JSON report is byte-identical"
        );
        for destination in ["failed-events", "ok-events"] {
            assert_eq!(
                first.lines(destination),
                second.lines(destination),
                "{name}"
            );
        }
    }
    // Adding an on-success destination changes outputs only, not results.
    let plain = run_scenario(&load(&example("async-retries")));
    let with_success = async_retries();
    assert_eq!(plain.report.to_json(), with_success.report.to_json());
    assert_eq!(
        plain.lines("failed-events"),
        with_success.lines("failed-events")
    );
    assert!(!with_success.lines("ok-events").is_empty());
}
