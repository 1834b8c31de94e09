//! Event sources in real time: the same async queue and SQS mapping rules on the wall clock (`run_realtime`).
//! Assertions are about counts and conservation, never about how long anything took.

mod common;

use common::{root, run_realtime};

#[test]
fn async_events_and_sqs_messages_end_exactly_once_in_real_time() {
    let path = root().join("tests/fixtures/rt-events.toml");
    let scenario = lambda_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let report = run_realtime(scenario, Some(out.path().to_path_buf()));
    assert!(report.conservation_ok());

    // Event traffic: 20/s for 3 s, no retries: every event delivered or failed once, a record each.
    let worker = report
        .function("worker")
        .unwrap_or_else(|| panic!("no worker"));
    let a = worker
        .async_events
        .unwrap_or_else(|| panic!("no async events"));
    assert_eq!(a.enqueued, 60);
    assert_eq!(a.pending_at_end, 0);
    assert_eq!(a.delivered_after_retries, 0);
    assert_eq!(a.delivered_first_attempt + a.failed_retries_exhausted, 60);
    assert!(
        a.delivered_first_attempt > 0 && a.failed_retries_exhausted > 0,
        "{a:?}"
    );
    assert_eq!(
        a.attempts, 60,
        "one attempt each: maximum_retry_attempts = 0"
    );
    let lines = |name: &str| {
        std::fs::read_to_string(
            out.path()
                .join("destinations")
                .join(format!("{name}.jsonl")),
        )
        .unwrap_or_default()
        .lines()
        .count() as u64
    };
    assert_eq!(lines("ok"), a.delivered_first_attempt);
    assert_eq!(lines("failed"), a.failed_retries_exhausted);

    // SQS: 150 orders and one poison message; the poison one is redriven after 2 receives.
    let orders = &report.queues[0];
    let dlq = &report.queues[1];
    assert_eq!(orders.sent, 151);
    assert_eq!(orders.deleted, 150);
    assert_eq!(orders.redriven, 1);
    assert_eq!(orders.remaining, 0);
    assert_eq!(orders.received, orders.deleted + 2);
    assert_eq!((dlq.sent, dlq.remaining), (1, 1));
    let consumer = report
        .function("consumer")
        .unwrap_or_else(|| panic!("no consumer"));
    assert_eq!(
        consumer.outcomes.function_error, 0,
        "partial batch responses are successes"
    );
}
